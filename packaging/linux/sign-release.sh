#!/usr/bin/env bash
# reprepro's "SignWith: ! hook": sign-release.sh RELEASE INRELEASE RELEASE.GPG (see gpg-sign.sh).
set -eu
exec "$(dirname "$0")/gpg-sign.sh" release "$@"
