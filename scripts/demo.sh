#!/usr/bin/env bash
# The demo: set up, then run an owner server on SQLite with 1,000 generated
# contacts and an agent client already enrolled against it.
# Without a display (no $DISPLAY), the client runs on a virtual screen (Xvfb),
# started in its own session so that Ctrl+C reaches only the demo, which stops
# the client first (its last events still reach the server), then the server.
set -eu
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/venv.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v Xvfb >/dev/null 2>&1; then
  echo "No display found: running the agent client on a virtual screen (Xvfb)."
  n=99
  while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  setsid Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb_pid=$!
  trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  export DISPLAY=":$n"
fi
# A TERM or INT to the whole group must not end this shell before the demo has stopped its client
# and server (the EXIT trap would pull the virtual screen from under the client): wait for it.
trap : TERM INT
.venv/bin/custos-server demo "$@"
