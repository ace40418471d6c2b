#!/usr/bin/env bash
# Installs the Debian packages the test suite drives: three independent SAML verifiers, the SAML
# XSDs, xmllint, Chromium for the browser test, and boto3 for the Python credentials helper's test.
set -euo pipefail
packages=(xmlsec1 python3-onelogin-saml2 opensaml-tools opensaml-schemas libxml2-utils chromium python3-boto3)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "test tools present: ${packages[*]}"
