#!/usr/bin/env bash
# The demo: set up, then run an owner server on SQLite with 1,000 generated
# contacts and an agent client already enrolled against it.
# Without a display (no $DISPLAY), the client runs on a virtual screen (Xvfb).
set -eu
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/venv.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  echo "No display found: running the agent client on a virtual screen (Xvfb)."
  exec xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/custos-server demo "$@"
fi
exec .venv/bin/custos-server demo "$@"
