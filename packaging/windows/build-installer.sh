#!/usr/bin/env bash
# Build the Windows installer on Linux (Debian's makensis), Authenticode-sign it
# with osslsigncode and verify the signature. The payload is the PyInstaller
# one-folder build made on Windows (build.ps1 or the windows-client workflow);
# this machine cannot make that binary, so here it is whatever --payload holds.
#
#   packaging/windows/build-installer.sh --payload dist/custos-agent \
#       --config bundle/custos-agent.toml [--tuf-root bundle/tuf-root.json] \
#       [--version 0.1.0] [--out dist/custos-agent-setup-0.1.0.exe] [--unsigned]
#
# Signing material comes only from the environment (never argv):
#   CUSTOS_SIGN_PFX=path            PKCS#12 with key and certificate chain, or
#   CUSTOS_SIGN_PFX_B64=base64      the same, as text (CI secrets); decoded to a
#                                   0600 temp file removed on exit, or
#   CUSTOS_SIGN_CERT=path + CUSTOS_SIGN_KEY=path   PEM chain and PEM key
#   CUSTOS_SIGN_PASS_FILE=path      optional: file holding the key's password
#   CUSTOS_SIGN_TIMESTAMP_URL=url   optional: RFC 3161 time-stamping server
#   CUSTOS_SIGN_CAFILE=path         CA bundle to verify against (default: the
#                                   system's, /etc/ssl/certs/ca-certificates.crt)
#   CUSTOS_SIGN_TSA_CAFILE=path     optional: CA bundle for the timestamp
# Exit status: 0 built, signed and verified; 2 bad arguments; other: a tool failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { echo "usage: $0 --payload DIR --config FILE [--tuf-root FILE] [--version V] [--out FILE] [--unsigned]" >&2; exit 2; }

payload="" config="" tuf_root="" version="" out="" unsigned=0
while [ $# -gt 0 ]; do
  case "$1" in
    --payload) [ $# -ge 2 ] || usage; payload=$2; shift 2 ;;
    --config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
    --tuf-root) [ $# -ge 2 ] || usage; tuf_root=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --unsigned) unsigned=1; shift ;;
    *) usage ;;
  esac
done
[ -n "$payload" ] && [ -n "$config" ] || usage
[ -f "$payload/custos-agent.exe" ] && [ -d "$payload/_internal" ] || {
  echo "error: $payload is not a PyInstaller one-folder build (custos-agent.exe and _internal/)" >&2; exit 2; }
[ -f "$config" ] || { echo "error: no deployment config at $config" >&2; exit 2; }
[ -z "$tuf_root" ] || [ -f "$tuf_root" ] || { echo "error: no TUF root at $tuf_root" >&2; exit 2; }
if [ -z "$version" ]; then
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)
fi
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "error: version must look like X.Y.Z, got '$version'" >&2; exit 2 ;;
esac
quad=$(printf '%s' "$version" | sed 's/[^0-9.].*//' | awk -F. '{ printf "%d.%d.%d.0", $1, $2, $3 }')
out=${out:-"$root/dist/custos-agent-setup-$version.exe"}
abs() { (cd "$(dirname "$1")" && printf '%s/%s' "$(pwd)" "$(basename "$1")"); }
mkdir -p "$(dirname "$out")"
out=$(abs "$out")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT  # the decoded PFX, if any, lives here
umask 077

defines=(-DVERSION="$version" -DVERSION_QUAD="$quad" -DPAYLOAD_DIR="$(abs "$payload")"
         -DCONFIG_FILE="$(abs "$config")" -DOUTFILE="$work/unsigned.exe")
[ -z "$tuf_root" ] || defines+=(-DTUF_ROOT="$(abs "$tuf_root")")
makensis -V2 -WX -NOCD "${defines[@]}" "$here/custos-agent.nsi"

if [ "$unsigned" -eq 1 ]; then
  install -m 0644 "$work/unsigned.exe" "$out"
  echo "built (unsigned): $out"
  exit 0
fi

sign=(osslsigncode sign -h sha256 -n "Custos Agent" -in "$work/unsigned.exe" -out "$work/signed.exe")
if [ -n "${CUSTOS_SIGN_PFX_B64:-}" ]; then
  printf '%s' "$CUSTOS_SIGN_PFX_B64" | base64 -d > "$work/sign.pfx"
  sign+=(-pkcs12 "$work/sign.pfx")
elif [ -n "${CUSTOS_SIGN_PFX:-}" ]; then
  sign+=(-pkcs12 "$CUSTOS_SIGN_PFX")
elif [ -n "${CUSTOS_SIGN_CERT:-}" ] && [ -n "${CUSTOS_SIGN_KEY:-}" ]; then
  sign+=(-certs "$CUSTOS_SIGN_CERT" -key "$CUSTOS_SIGN_KEY")
else
  echo "error: no signing key: set CUSTOS_SIGN_PFX, CUSTOS_SIGN_PFX_B64 or CUSTOS_SIGN_CERT and CUSTOS_SIGN_KEY (or pass --unsigned)" >&2
  exit 2
fi
[ -z "${CUSTOS_SIGN_PASS_FILE:-}" ] || sign+=(-readpass "$CUSTOS_SIGN_PASS_FILE")
[ -z "${CUSTOS_SIGN_TIMESTAMP_URL:-}" ] || sign+=(-ts "$CUSTOS_SIGN_TIMESTAMP_URL")
"${sign[@]}" >/dev/null

verify=(osslsigncode verify -in "$work/signed.exe" -CAfile "${CUSTOS_SIGN_CAFILE:-/etc/ssl/certs/ca-certificates.crt}")
[ -z "${CUSTOS_SIGN_TSA_CAFILE:-}" ] || verify+=(-TSA-CAfile "$CUSTOS_SIGN_TSA_CAFILE")
if ! "${verify[@]}" > "$work/verify.log" 2>&1 || ! grep -q '^Signature verification: ok' "$work/verify.log"; then
  cat "$work/verify.log" >&2
  echo "error: the signed installer does not verify" >&2
  exit 1
fi
install -m 0644 "$work/signed.exe" "$out"
echo "built, signed and verified: $out"
