#!/bin/sh
# Installs what is needed, builds, and starts FieldKit on a fresh local demo
# data folder.  Until the window exists this runs a short scripted demo of
# the command-line front.
set -eu
cd "$(dirname "$0")/.."

sh tools/install-deps.sh
meson setup build >/dev/null 2>&1 || meson setup --reconfigure build >/dev/null
ninja -C build

exec sh tools/demo.sh build
