#!/usr/bin/env bash
# Install what fjvoucher needs on a fresh Debian/Ubuntu machine, then the package itself.
# The system packages (LibreOffice Writer, the Chinese fonts, poppler-utils for the tests) are
# listed once, in src/fjvoucher/pdf/debian-packages.txt, which `fjvoucher doctor` reads too.
set -euo pipefail
cd "$(dirname "$0")/.."

# The font list is read once: "fc-list | grep -q" can fail under pipefail when grep stops early.
fonts=$(fc-list : family 2>/dev/null || true)
missing=()
while IFS=$'\t' read -r package check _; do
  case "$check" in
    command:*) command -v "${check#command:}" >/dev/null 2>&1 || missing+=("$package") ;;
    font:*) grep -qF "${check#font:}" <<<"$fonts" || missing+=("$package") ;;
  esac
done < <(awk -F '  +' '!/^#/ && NF >= 2 {print $1 "\t" $2 "\t" $3}' src/fjvoucher/pdf/debian-packages.txt)
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
