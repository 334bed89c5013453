#!/usr/bin/env bash
# Install the Debian packages Custos' tests and demo need (Qt runtime libraries,
# Xvfb, PostgreSQL server binaries, Debian's Chromium and certutil for the
# console's browser tests: Playwright drives /usr/bin/chromium, never a
# downloaded browser; makensis, osslsigncode and 7-Zip for the Windows
# installer; binutils, gpg, reprepro and gnome-keyring for the .deb; strace,
# dbus and at-spi2-core for the client's anti-scraping tests). Does nothing when
# they are already present; needs root (or sudo) only when something is missing.
set -eu

need=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib libEGL.so.1 || need+=(libegl1)
have_lib libxkbcommon.so.0 || need+=(libxkbcommon0)
have_lib libxkbcommon-x11.so.0 || need+=(libxkbcommon-x11-0)
have_lib libfontconfig.so.1 || need+=(libfontconfig1)
have_lib libdbus-1.so.3 || need+=(libdbus-1-3)
have_lib libxcb-cursor.so.0 || need+=(libxcb-cursor0)
have_lib libxcb-icccm.so.4 || need+=(libxcb-icccm4)
have_lib libxcb-keysyms.so.1 || need+=(libxcb-keysyms1)
have_lib libxcb-shape.so.0 || need+=(libxcb-shape0)
have_lib libxcb-randr.so.0 || need+=(libxcb-randr0)
have_lib libxcb-render-util.so.0 || need+=(libxcb-render-util0)
have_lib libxcb-image.so.0 || need+=(libxcb-image0)
have_lib libxcb-xinerama.so.0 || need+=(libxcb-xinerama0)
have_lib libGL.so.1 || need+=(libgl1)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb xauth)
command -v strace >/dev/null 2>&1 || need+=(strace)  # a real ptrace tracer: the client refuses to start under it
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)  # a private session bus for the AT-SPI test
[ -x /usr/libexec/at-spi-bus-launcher ] || need+=(at-spi2-core)  # the accessibility bus the AT-SPI test reads
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)  # trusts the test CA in a throwaway NSS db
command -v makensis >/dev/null 2>&1 || need+=(nsis)                # compiles the Windows installer
command -v osslsigncode >/dev/null 2>&1 || need+=(osslsigncode)    # Authenticode sign and verify
command -v 7zz >/dev/null 2>&1 || need+=(7zip)                     # reads the compiled installer back in tests
# The Linux packaging step (packaging/linux/build-deb.sh and tests/packaging): PyInstaller reads
# ELF headers with objdump; the .deb is signed with gpg and published with reprepro; the frozen
# client's self-test talks to a real Secret Service (gnome-keyring on a private D-Bus session).
command -v objdump >/dev/null 2>&1 || need+=(binutils)
command -v gpg >/dev/null 2>&1 || need+=(gpg gpg-agent)
command -v gpgv >/dev/null 2>&1 || need+=(gpgv)
command -v reprepro >/dev/null 2>&1 || need+=(reprepro)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v dbus-run-session >/dev/null 2>&1 || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to install: ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
