#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install Custos with its dev extras.
# Re-running is cheap: pip only installs what changed.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed" >&2; exit 1; }
  "$PY" -m venv .venv
fi
stamp=.venv/.custos-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing Custos and its Python packages into .venv (the first run downloads them: a few minutes)..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
