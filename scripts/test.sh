#!/usr/bin/env bash
# The test command: set up everything, then lint, type-check and run the suite.
set -eu
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/venv.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff"
.venv/bin/ruff check shared owner_server agent_client tests
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
