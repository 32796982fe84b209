# Sourced by the other scripts: create .venv with Python 3.11+ and install modelpack into it.
# usage: source scripts/_venv.sh EXTRAS     (e.g. "all" or "dev")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$1"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing modelpack[$1] into .venv (first run takes a few minutes)..." >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".[$1]" >&2
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
