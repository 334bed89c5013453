#!/usr/bin/env bash
# Sign a custos-agent .deb (detached, DEB.asc) and add it to a signed apt
# repository made with reprepro (called by build-deb.sh; can be run alone).
#
#   CUSTOS_GPG_KEY=<fingerprint> sign-and-publish.sh DEB REPO
#
# REPO holds reprepro's conf/ and db/ (kept, so later versions join the same
# repository) and public/, the tree to serve: dists/custos/{Release,InRelease,
# Release.gpg}, pool/, and the public key custos-archive-keyring.gpg (.asc).
# Both signatures are verified with gpgv against the exported public key
# before the script ends. Key and passphrase come from the environment
# (see gpg-sign.sh).
set -eu
[ $# -eq 2 ] || { echo "usage: sign-and-publish.sh DEB REPO" >&2; exit 2; }
deb=$1 repo=$2
here=$(cd "$(dirname "$0")" && pwd)
key=${CUSTOS_GPG_KEY:?CUSTOS_GPG_KEY (signing key fingerprint) is not set}
[ -f "$deb" ] || { echo "sign-and-publish.sh: $deb is not a file" >&2; exit 2; }

"$here/gpg-sign.sh" detach "$deb" "$deb.asc"

mkdir -p "$repo/conf" "$repo/public"
repo=$(cd "$repo" && pwd)
cat > "$repo/conf/distributions" <<CONF
Origin: Custos
Label: Custos agent
Codename: custos
Suite: stable
Architectures: amd64
Components: main
Description: Custos agent desktop client
SignWith: ! $here/sign-release.sh
CONF
# reprepro calls the hook with: RELEASE INRELEASE RELEASE.GPG
reprepro --silent --basedir "$repo" --outdir "$repo/public" --dbdir "$repo/db" includedeb custos "$deb"
gpg --batch --export "$key" > "$repo/public/custos-archive-keyring.gpg"
gpg --batch --armor --export "$key" > "$repo/public/custos-archive-keyring.asc"

keyring="$repo/public/custos-archive-keyring.gpg"
dists="$repo/public/dists/custos"
gpgv --quiet --keyring "$keyring" "$deb.asc" "$deb" 2>/dev/null || { echo "sign-and-publish.sh: the .deb signature does not verify" >&2; exit 1; }
gpgv --quiet --keyring "$keyring" "$dists/InRelease" 2>/dev/null || { echo "sign-and-publish.sh: InRelease does not verify" >&2; exit 1; }
gpgv --quiet --keyring "$keyring" "$dists/Release.gpg" "$dists/Release" 2>/dev/null || { echo "sign-and-publish.sh: Release.gpg does not verify" >&2; exit 1; }
echo "signed $deb.asc; apt repository $repo/public (suite custos, component main), key $key"
