#!/usr/bin/env bash
# Installs cdk-nag 3 and the aws-cdk-lib it needs (>= 2.262.1 for every acknowledgement) into
# .tools/cdk-nag-v3, apart from the repository's own tree, whose aws-cdk-lib stays one whose cloud
# assembly integ-runner can read. Prints the tree's node_modules directory.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tools/cdk-nag-v3
if [ ! -f "$dir/node_modules/cdk-nag/package.json" ]; then
  mkdir -p "$dir"
  echo '{ "name": "cdk-nag-v3-tree", "private": true }' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error aws-cdk-lib@2.276.0 constructs@10.5.1 cdk-nag@3.0.2 >&2
fi
echo "$PWD/$dir/node_modules"
