#!/usr/bin/env bash
# Installs code-server (the browser build of VS Code) into .cache/code-server/, outside the
# project's node_modules so the project's lockfile stays small. Idempotent: skips when the
# pinned version is already installed and its native modules load.
# 4.100.3 is the newest code-server release that runs on Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
PREFIX="$PWD/.cache/code-server"
ENTRY="$PREFIX/node_modules/code-server/out/node/entry.js"

installed_version() {
  node -e 'try{console.log(require(process.argv[1]).version)}catch{}' "$PREFIX/node_modules/code-server/package.json" 2>/dev/null || true
}

if [ -f "$ENTRY" ] && [ "$(installed_version)" = "$VERSION" ] && [ -f "$PREFIX/.install-complete" ]; then
  echo "code-server $VERSION already installed in $PREFIX"
  exit 0
fi

# Headers that code-server's native modules (kerberos, native-keymap, keytar) compile against,
# and ripgrep, which stands in for the binary @vscode/ripgrep would download from GitHub.
need=()
for pkg in libkrb5-dev libxkbfile-dev libsecret-1-dev ripgrep; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need[@]}"
fi

# @vscode/ripgrep's postinstall downloads a prebuilt rg from GitHub unless the archive is
# already in its cache ($TMPDIR/vscode-ripgrep-cache-<pkgversion>/). GitHub is unreachable
# here, so seed the cache with Debian's rg in the same layout (rg at the archive root).
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_TAR="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$RG_TAR" ]; then
  mkdir -p "$RG_CACHE"
  stage="$(mktemp -d)"
  cp "$(command -v rg)" "$stage/rg"
  chmod 755 "$stage/rg"
  tar -czf "$RG_TAR" -C "$stage" rg
  rm -rf "$stage"
fi

mkdir -p "$PREFIX"
if [ ! -f "$PREFIX/package.json" ]; then
  echo '{ "name": "code-server-install", "private": true }' > "$PREFIX/package.json"
fi
rm -f "$PREFIX/.install-complete"

# code-server needs its install scripts: its postinstall installs VS Code's own dependencies
# and compiles native modules with node-gyp. npm 11 blocks dependency scripts by default;
# the env form of the flag also reaches the nested npm installs that postinstall runs.
export npm_config_yes=true
export npm_config_dangerously_allow_all_scripts=true
# code-server's postinstall refuses to run as root unless this is set (CI runs as root).
export npm_config_unsafe_perm=true
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
echo "installing code-server $VERSION into $PREFIX (takes several minutes)..."
npm install --prefix "$PREFIX" --no-save --no-package-lock "code-server@$VERSION"

# Fail here rather than in the e2e suite if a native module did not build.
node "$ENTRY" --version
touch "$PREFIX/.install-complete"
echo "code-server $VERSION installed in $PREFIX"
