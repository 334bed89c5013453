#!/usr/bin/env bash
# Build the Custos agent client for Linux: the frozen one-folder build
# (PyInstaller, packaging/custos-agent.spec), the .deb with the site's
# deployment config, its detached GPG signature and a signed apt repository.
#
#   CUSTOS_GPG_KEY=<fingerprint> packaging/linux/build-deb.sh [options] CONFIG
#
#   CONFIG            the deployment config for this site, e.g. the one
#                     `custos-server init` wrote to <data dir>/deployment/custos-agent.toml
#   --out DIR         where the .deb, .deb.asc and apt/ go (default: dist/linux)
#   --dist DIR        PyInstaller's dist folder (default: dist; the build is DIR/custos-agent)
#   --work DIR        PyInstaller's work folder (default: build/pyinstaller)
#   --reuse-build     package DIR/custos-agent as it is, without running PyInstaller again
#   --unsigned        make only the .deb (no signature, no repository); for local trials
#   --compression C   xz (default, smallest), zstd or gzip (fastest to build; the tests use it)
#
# Environment (never arguments, so that nothing secret is in argv):
#   CUSTOS_GPG_KEY               fingerprint of the signing key (required unless --unsigned)
#   GNUPGHOME                    gpg's home holding that key (gpg's own default if unset)
#   CUSTOS_GPG_PASSPHRASE_FILE   a file holding the key's passphrase, if it has one
#   SOURCE_DATE_EPOCH            timestamp of every file (default: the last commit's time)
#   PYTHON                       the Python with custos[agent,build] (default: .venv/bin/python)
set -eu

usage() { echo "usage: build-deb.sh [--out DIR] [--dist DIR] [--work DIR] [--reuse-build] [--unsigned] [--compression C] CONFIG" >&2; exit 2; }
die() { echo "build-deb.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/dist/linux" dist="$repo/dist" work="$repo/build/pyinstaller" reuse=0 unsigned=0 compression=xz config=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --dist) [ $# -ge 2 ] || usage; dist=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || usage; work=$2; shift 2 ;;
    --reuse-build) reuse=1; shift ;;
    --unsigned) unsigned=1; shift ;;
    --compression) [ $# -ge 2 ] || usage; compression=$2; shift 2
      case "$compression" in xz|zstd|gzip) ;; *) die "--compression must be xz, zstd or gzip" ;; esac ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$config" ] || usage; config=$1; shift ;;
  esac
done
[ -n "$config" ] || usage
[ -f "$config" ] || die "deployment config $config is not a file"
key=${CUSTOS_GPG_KEY:-}
[ "$unsigned" = 1 ] || [ -n "$key" ] || die "CUSTOS_GPG_KEY (signing key fingerprint) is not set; --unsigned for a trial build"
py=${PYTHON:-$repo/.venv/bin/python}
for tool in dpkg-deb objdump; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/system-deps.sh installs it)"; done
if [ "$unsigned" = 0 ]; then
  for tool in gpg gpgv reprepro; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/system-deps.sh installs it)"; done
fi
"$py" - "$config" <<'PY' || exit 2
import sys
from pathlib import Path

from agent_client.config import load_deployment_config
from agent_client.errors import ClientError

try:
    load_deployment_config(Path(sys.argv[1]))
except ClientError as exc:
    sys.exit(f"build-deb.sh: {exc.message}")
PY

version=$("$py" -c 'import importlib.metadata as m; print(m.version("custos"))')
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
export PYTHONHASHSEED=0
bundle="$dist/custos-agent"
start=$(date +%s)
if [ "$reuse" = 0 ]; then
  "$py" -c 'import PyInstaller' 2>/dev/null || die "PyInstaller is missing for $py (pip install -e '.[build]')"
  "$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath "$work" \
    "$repo/packaging/custos-agent.spec"
fi
[ -x "$bundle/custos-agent" ] || die "no frozen build at $bundle"
frozen=$(date +%s)

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
root="$staging/root"
deb_name="custos-agent_${version}_amd64.deb"
"$here/stage-deb-tree.sh" "$bundle" "$config" "$root" "$version"
mkdir -p "$out"
dpkg-deb --root-owner-group "-Z$compression" --build "$root" "$out/$deb_name" >/dev/null
packaged=$(date +%s)
# Start the packaged program once (no network): Qt platform, keyring, pinned CA, config.
if command -v xvfb-run >/dev/null 2>&1; then
  QT_QPA_PLATFORM=xcb xvfb-run -a "$root/opt/custos-agent/custos-agent" --self-test --ephemeral-keyring --config "$config" \
    || die "the frozen client failed its self-test"
else
  echo "build-deb.sh: xvfb-run is missing, the frozen client was not started" >&2
fi
echo "built $out/$deb_name ($(du -k "$out/$deb_name" | cut -f1) KiB; bundle $(du -sk "$bundle" | cut -f1) KiB;" \
  "PyInstaller $((frozen - start)) s, packaging $((packaged - frozen)) s)"

if [ "$unsigned" = 1 ]; then
  echo "unsigned build: no .deb.asc, no apt repository"
  exit 0
fi
"$here/sign-and-publish.sh" "$out/$deb_name" "$out/apt"
