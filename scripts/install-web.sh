#!/usr/bin/env bash
# Installs the npm packages of the web services (Converse.js, served at /chat) and of the
# browser tests (playwright-core), exactly as the committed lockfile says. Quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-web: installing nodejs and npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ -d node_modules/converse.js/dist ]; then
  exit 0
fi
echo "install-web: npm ci"
# No package needs its install scripts: they are not run.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
