#!/usr/bin/env bash
# Install what fjvoucher needs on a fresh Debian/Ubuntu machine, then fjvoucher itself into the
# project's own virtual environment (.venv): Debian 12 and Ubuntu 24.04 refuse `pip install` into
# the system Python (PEP 668), and a venv keeps the clerk's Python untouched everywhere.
# The system packages are listed once, in src/fjvoucher/pdf/debian-packages.txt (doctor reads it too).
# PYTHON picks the interpreter (default python3), VENV the environment's folder (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=${VENV:-.venv}

# The font list is read once: "fc-list | grep -q" can fail under pipefail when grep stops early.
fonts=$(fc-list : family 2>/dev/null || true)
missing=()
while IFS=$'\t' read -r package check _; do
  case "$check" in
    command:*) command -v "${check#command:}" >/dev/null 2>&1 || missing+=("$package") ;;
    font:*) grep -qF "${check#font:}" <<<"$fonts" || missing+=("$package") ;;
    module:*) "$python" -c "import ${check#module:}" >/dev/null 2>&1 || missing+=("$package") ;;
    file:*) [ -e "${check#file:}" ] || missing+=("$package") ;;
    glob:*) compgen -G "${check#glob:}" >/dev/null || missing+=("$package") ;;
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
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
