#!/bin/sh
# Installs everything FieldKit needs to build, run and test on Debian 12.
# Used by tools/run.sh and tools/test.sh; safe to run again.
set -eu

PACKAGES="
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libglib2.0-dev libglib2.0-bin libsodium-dev libsqlite3-dev sqlite3
  libjson-glib-dev libcurl4-openssl-dev libmicrohttpd-dev libgnutls28-dev
  libgtk-4-dev libadwaita-1-dev libqrencode-dev libcairo2-dev libpango1.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  fonts-noto-cjk poppler-utils zbar-tools
  xvfb xauth dbus dbus-x11 at-spi2-core python3 python3-dogtail python3-nacl imagemagick xdotool strace
  desktop-file-utils appstream gettext faketime util-linux openssl curl tzdata
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "Installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
