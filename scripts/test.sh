#!/usr/bin/env bash
# Run the test suite (installs everything it needs into .venv first).
set -euo pipefail
source "$(dirname "$0")/_venv.sh" dev
python -m pytest "$@"
