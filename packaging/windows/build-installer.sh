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
# The uninstaller is signed too: makensis calls this script back with
# --sign-in-place FILE (same environment) before embedding it.
# Exit status: 0 built, signed and verified; 2 bad arguments; other: a tool failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { echo "usage: $0 --payload DIR --config FILE [--tuf-root FILE] [--version V] [--out FILE] [--unsigned]" >&2; exit 2; }

# The signing arguments from the environment (sets: signer).
signer_from_env() {
  signer=(osslsigncode sign -h sha256 -n "Custos Agent")
  if [ -n "${CUSTOS_SIGN_PFX:-}" ]; then
    signer+=(-pkcs12 "$CUSTOS_SIGN_PFX")
  elif [ -n "${CUSTOS_SIGN_CERT:-}" ] && [ -n "${CUSTOS_SIGN_KEY:-}" ]; then
    signer+=(-certs "$CUSTOS_SIGN_CERT" -key "$CUSTOS_SIGN_KEY")
  else
    echo "error: no signing key: set CUSTOS_SIGN_PFX, CUSTOS_SIGN_PFX_B64 or CUSTOS_SIGN_CERT and CUSTOS_SIGN_KEY (or pass --unsigned)" >&2
    exit 2
  fi
  [ -z "${CUSTOS_SIGN_PASS_FILE:-}" ] || signer+=(-readpass "$CUSTOS_SIGN_PASS_FILE")
  [ -z "${CUSTOS_SIGN_TIMESTAMP_URL:-}" ] || signer+=(-ts "$CUSTOS_SIGN_TIMESTAMP_URL")
}

# sign_verified IN OUT: sign IN into OUT and verify OUT; OUT is removed when it does not verify.
sign_verified() {
  "${signer[@]}" -in "$1" -out "$2" >/dev/null
  local verify=(osslsigncode verify -in "$2" -CAfile "${CUSTOS_SIGN_CAFILE:-/etc/ssl/certs/ca-certificates.crt}")
  [ -z "${CUSTOS_SIGN_TSA_CAFILE:-}" ] || verify+=(-TSA-CAfile "$CUSTOS_SIGN_TSA_CAFILE")
  local log
  if ! log=$("${verify[@]}" 2>&1) || ! printf '%s\n' "$log" | grep -q '^Signature verification: ok'; then
    printf '%s\n' "$log" >&2
    rm -f "$2"
    echo "error: the signed $(basename "$1") does not verify" >&2
    exit 1
  fi
}

if [ "${1:-}" = "--sign-in-place" ]; then  # makensis calling back for the uninstaller
  [ $# -eq 2 ] && [ -f "$2" ] || usage
  signer_from_env
  sign_verified "$2" "$2.signed"
  mv -f "$2.signed" "$2"
  echo "signed and verified the uninstaller"
  exit 0
fi

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

if [ "$unsigned" -eq 1 ]; then
  makensis -V2 -WX -NOCD "${defines[@]}" "$here/custos-agent.nsi"
  install -m 0644 "$work/unsigned.exe" "$out"
  echo "built (unsigned): $out"
  exit 0
fi

if [ -n "${CUSTOS_SIGN_PFX_B64:-}" ]; then
  printf '%s' "$CUSTOS_SIGN_PFX_B64" | base64 -d > "$work/sign.pfx"
  export CUSTOS_SIGN_PFX="$work/sign.pfx"  # for the uninstaller call-back too
  unset CUSTOS_SIGN_PFX_B64
fi
signer_from_env
defines+=(-DUNINST_SIGN="bash \"$here/build-installer.sh\" --sign-in-place")
makensis -V2 -WX -NOCD "${defines[@]}" "$here/custos-agent.nsi"
sign_verified "$work/unsigned.exe" "$work/signed.exe"
install -m 0644 "$work/signed.exe" "$out"
echo "built, signed and verified: $out"
