#!/usr/bin/env bash
# The main job end to end on the embedded default store: train a small model, save it, log and
# register it, load it by URI, serve it and query it over HTTP.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" all
python examples/quickstart.py "$@"
