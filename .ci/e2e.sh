#!/usr/bin/env bash
# End-to-end suite in a real VS Code: installs Chromium (Debian's) and code-server (cached in
# .cache/code-server), builds and packs the extension, then drives the demo workspace through
# Chromium. The last line printed is `N passed, N failed`; exits non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

fail_setup() {
  echo "e2e setup failed: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q chromium; } || fail_setup "apt-get install chromium"
fi
bash scripts/install-code-server.sh || fail_setup "scripts/install-code-server.sh"
node scripts/package-vsix.mjs || fail_setup "building and packing the extension"

node test/e2e/run.mjs --no-package
