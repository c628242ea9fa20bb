#!/usr/bin/env bash
# Regenerates assets/apology.ulaw (checked in, so installs need neither tool).
set -euo pipefail
cd "$(dirname "$0")/../assets"
espeak-ng -s 210 -g 1 -v en-us -w /tmp/apology.wav "Sorry, we're having technical trouble. Please call back."
sox /tmp/apology.wav -r 8000 -c 1 -e mu-law -t raw apology.ulaw silence 1 0.05 1% reverse silence 1 0.05 1% reverse
echo "apology.ulaw: $(( $(stat -c %s apology.ulaw) / 8 )) ms"
