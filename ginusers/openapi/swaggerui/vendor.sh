#!/usr/bin/env bash
# Re-vendors Swagger UI into dist/ from the npm registry:
#
#   ginusers/openapi/swaggerui/vendor.sh 5.35.0
#
# It fetches the package with `npm pack` (the tarball only: no `npm install`,
# which would run the install-time dependency @scarf/scarf), checks the
# registry's integrity hash, copies the files the package serves and their
# licence files into dist/, and writes dist/VERSION (the version and the
# tarball's hashes) and dist/SHA256SUMS (checked by the package's tests; check
# by hand with `cd dist && sha256sum -c SHA256SUMS`). Then run
# `go test ./ginusers/openapi/swaggerui/` and the browser test in the example
# module (`cd example && go test -run Browser .`) before committing.
set -euo pipefail

version=${1:?usage: vendor.sh VERSION (for example 5.35.0)}
here=$(cd "$(dirname "$0")" && pwd)
dist="$here/dist"

# What the page loads (never swagger-ui-standalone-preset.js: it injects an
# inline <style>, which the Content-Security-Policy forbids), and the licences.
files=(
  swagger-ui-bundle.js
  swagger-ui.css
  index.css
  favicon-16x16.png
  favicon-32x32.png
  LICENSE
  NOTICE
  swagger-ui-bundle.js.LICENSE.txt
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent --json "swagger-ui-dist@$version" >pack.json)
tarball="$tmp/swagger-ui-dist-$version.tgz"
[ -f "$tarball" ] || { echo "npm pack did not write $tarball" >&2; exit 1; }

# npm pack already verified the tarball against the registry's integrity;
# compare once more, from the packument, so that a tampered cache cannot pass.
want=$(npm view "swagger-ui-dist@$version" dist.integrity)
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$want" != "$got" ]; then
  echo "integrity mismatch: registry says $want, tarball is $got" >&2
  exit 1
fi

tar -xzf "$tarball" -C "$tmp"
rm -rf "$dist"
mkdir -p "$dist"
for f in "${files[@]}"; do
  cp "$tmp/package/$f" "$dist/$f"
done
chmod 0644 "$dist"/*

{
  echo "swagger-ui-dist $version"
  echo "tarball https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-$version.tgz"
  echo "integrity $got"
  echo "sha256 $(sha256sum "$tarball" | cut -d' ' -f1)"
} >"$dist/VERSION"
(cd "$dist" && sha256sum "${files[@]}" >SHA256SUMS)

echo "vendored swagger-ui-dist $version into $dist"
cat "$dist/VERSION"
echo "files (sha256, name):"
cat "$dist/SHA256SUMS"
