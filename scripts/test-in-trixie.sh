#!/usr/bin/env bash
# The repository's test command (npm test) on the runtime the Docker image ships: Node 24 and
# uWebSockets.js 20.57 in a Debian 13 root (scripts/trixie-root.sh, cached). The work tree is copied
# into a scratch directory inside the root and `npm ci` runs there, so node_modules is built for that
# Node and glibc and the host's node_modules is never touched. PostgreSQL and Redis are the host's:
# DATABASE_URL and REDIS_URL pass through, as do CI and proxy settings.
#
#   scripts/test-in-trixie.sh [VITEST ARGS...]   e.g. scripts/test-in-trixie.sh test/uws-loader.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
ROOT=$(bash scripts/trixie-root.sh)
t_root=$((SECONDS - t0))

# One scratch copy per run (runs may overlap), removed when the run ends.
WORK=/scratch/callrelay-$$
rm -rf --one-file-system "$ROOT$WORK"
mkdir -p "$ROOT$WORK"
trap 'rm -rf --one-file-system "$ROOT$WORK"' EXIT
# Everything but what is built or written locally. The lint step lists files with git: the copy gets
# a repository of its own holding every file (works from a clone or a `git worktree` alike).
tar -c --exclude=./node_modules --exclude=./dist --exclude=./data --exclude=./coverage --exclude=./scratch \
  --exclude=./bench/results --exclude=./.git -f - . | tar -x -C "$ROOT$WORK"

in_root() { bash scripts/trixie-root.sh run /bin/bash -c "cd $WORK && $1" in-root "${@:2}"; }

in_root 'git init -q && git add -A'
in_root 'echo "test-in-trixie: Node $(node -v), npm $(npm -v), $(ldd --version | head -n1)"'
t1=$SECONDS
in_root 'npm ci --no-audit --no-fund --loglevel=error'
t_ci=$((SECONDS - t1))

t2=$SECONDS
status=0
in_root 'npm test -- "$@"' "$@" || status=$?
t_test=$((SECONDS - t2))
echo "test-in-trixie: root ready ${t_root} s, npm ci ${t_ci} s, npm test ${t_test} s (exit ${status})"
exit "$status"
