#!/usr/bin/env bash
# Install everything the tests need (scripts/setup.sh), then run the whole test suite in the project's venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
