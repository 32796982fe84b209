#!/usr/bin/env bash
# Run the test suite (installs everything it needs into .venv first, and PostgreSQL's server
# binaries with apt-get when missing; the tests start their own throwaway services).
set -euo pipefail
source "$(dirname "$0")/_system.sh"
source "$(dirname "$0")/_venv.sh" dev
python -m pytest "$@"
