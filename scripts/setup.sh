#!/usr/bin/env bash
# Install what fjvoucher needs on a fresh Debian/Ubuntu machine, then the package itself:
# LibreOffice Writer (PDF engine), AR PL UMing and Noto CJK fonts (Song-style and wide-coverage
# Simplified-Chinese faces), HanaMin (rare characters of CJK Extension A/B), and poppler-utils
# (pdftotext/pdffonts/pdftoppm for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

# The font list is read once: "fc-list | grep -q" can fail under pipefail when grep stops early.
fonts=$(fc-list : family 2>/dev/null || true)
missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v fc-list >/dev/null 2>&1 || missing+=(fontconfig)
grep -q "AR PL UMing CN" <<<"$fonts" || missing+=(fonts-arphic-uming)
grep -q "Noto Serif CJK SC" <<<"$fonts" || missing+=(fonts-noto-cjk)
grep -qi "HanaMinB" <<<"$fonts" || missing+=(fonts-hanazono)
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: please install ${missing[*]} (see README); PDF output needs LibreOffice" >&2
  fi
fi
python3 -m pip install -q --disable-pip-version-check -e ".[test]"
