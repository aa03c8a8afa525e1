#!/usr/bin/env bash
# Regenerates ../wwwroot/vendor/openseadragon from the npm package pinned in package.json / package-lock.json.
# The copied files are committed, so a build needs neither node nor the network; run this after changing the
# version, and commit package-lock.json and the vendor folder together (a test checks that their versions agree).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
src=node_modules/openseadragon/build/openseadragon
dst=../wwwroot/vendor/openseadragon
rm -rf "$dst"
mkdir -p "$dst/images"
cp "$src/openseadragon.min.js" "$dst/"
cp "$src"/images/*.png "$dst/images/"
cp node_modules/openseadragon/LICENSE.txt "$dst/LICENSE.txt"
echo "vendored openseadragon $(node -p "require('./node_modules/openseadragon/package.json').version") into $dst"
