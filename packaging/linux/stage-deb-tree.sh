#!/usr/bin/env bash
# Lay out the file tree of the custos-agent .deb (called by build-deb.sh).
#
#   stage-deb-tree.sh BUNDLE CONFIG ROOT VERSION
#
# BUNDLE is PyInstaller's dist/custos-agent, CONFIG the site's deployment
# config, ROOT an empty directory to fill (DEBIAN/ included). Every file gets
# mode 0644 (0755 for programs and directories) and the time SOURCE_DATE_EPOCH;
# dpkg-deb --root-owner-group makes them root:root.
set -eu
[ $# -eq 4 ] || { echo "usage: stage-deb-tree.sh BUNDLE CONFIG ROOT VERSION" >&2; exit 2; }
bundle=$1 config=$2 root=$3 version=$4
here=$(cd "$(dirname "$0")" && pwd)
icons="$here/../icons"

install -d -m 0755 "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
  "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/icons/hicolor/256x256/apps" \
  "$root/usr/share/doc/custos-agent" "$root/etc/custos-agent" "$root/DEBIAN"
cp -a "$bundle" "$root/opt/custos-agent"
chmod -R u=rwX,go=rX "$root/opt/custos-agent"
chmod 0755 "$root/opt/custos-agent/custos-agent"
ln -s /opt/custos-agent/custos-agent "$root/usr/bin/custos-agent"
install -m 0644 "$here/custos-agent.desktop" "$root/usr/share/applications/custos-agent.desktop"
install -m 0644 "$icons/custos-agent.svg" "$root/usr/share/icons/hicolor/scalable/apps/custos-agent.svg"
install -m 0644 "$icons/custos-agent.png" "$root/usr/share/icons/hicolor/256x256/apps/custos-agent.png"
install -m 0644 "$here/copyright" "$root/usr/share/doc/custos-agent/copyright"
# The provisioned config: root-owned, read-only for everyone else, a conffile so
# that an upgrade never silently replaces a site's edited copy.
install -m 0644 "$config" "$root/etc/custos-agent/custos-agent.toml"
echo /etc/custos-agent/custos-agent.toml > "$root/DEBIAN/conffiles"

# Depends: the system libraries the bundle links against but does not carry
# (PyInstaller leaves libc, GL/EGL, libxcb and Wayland's client libraries to
# the system), and glibc at least as new as the newest symbol version used.
glibc=$(find "$root/opt/custos-agent" -type f \( -name '*.so*' -o -name custos-agent \) -print0 |
  xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@GLIBC@/$glibc/" -e "s/@SIZE@/$size/" "$here/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
