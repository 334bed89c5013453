#!/usr/bin/env bash
# gpg with the Custos signing key from the environment (CUSTOS_GPG_KEY, GNUPGHOME,
# CUSTOS_GPG_PASSPHRASE_FILE), so that no script ever puts a secret in argv.
#
#   gpg-sign.sh detach FILE OUT.asc        armoured detached signature
#   gpg-sign.sh release RELEASE INRELEASE RELEASE.GPG
#                                          reprepro's "SignWith: ! hook": either of the
#                                          last two may be empty (then it is not made)
set -eu
key=${CUSTOS_GPG_KEY:?CUSTOS_GPG_KEY (signing key fingerprint) is not set}
args=(--batch --yes --no-tty --local-user "$key" --digest-algo SHA512)
if [ -n "${CUSTOS_GPG_PASSPHRASE_FILE:-}" ]; then
  args+=(--pinentry-mode loopback --passphrase-file "$CUSTOS_GPG_PASSPHRASE_FILE")
fi
case "${1:-}" in
  detach)
    [ $# -eq 3 ] || { echo "usage: gpg-sign.sh detach FILE OUT.asc" >&2; exit 2; }
    gpg "${args[@]}" --armor --detach-sign --output "$3" "$2" ;;
  release)
    [ $# -eq 4 ] || { echo "usage: gpg-sign.sh release RELEASE INRELEASE RELEASE.GPG" >&2; exit 2; }
    [ -z "$3" ] || gpg "${args[@]}" --clearsign --output "$3" "$2"
    [ -z "$4" ] || gpg "${args[@]}" --armor --detach-sign --output "$4" "$2" ;;
  *) echo "usage: gpg-sign.sh detach|release ..." >&2; exit 2 ;;
esac
