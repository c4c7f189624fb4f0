#!/bin/sh
# The window's benchmarks under a virtual display and a session bus
# (docs/PERFORMANCE.md, "Window start-up" and "Search as you type"):
#
#   sh bench/bench-ui.sh startup [--runs N] [--warmup N]
#   sh bench/bench-ui.sh search  [--cases N] [--rounds N] [--dir DIR --keep]
#
# BUILD (default: build) is the meson build folder; build it first with
# `ninja -C build`.  Needs xvfb (xvfb-run) and dbus (dbus-run-session).
set -eu
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
what="${1:-}"
[ $# -gt 0 ] && shift
case "$what" in
  startup) prog="$build/bench/bench-ui-startup" ;;
  search)  prog="$build/bench/bench-ui-search" ;;
  *) echo "usage: $0 startup|search [options]" >&2; exit 2 ;;
esac
[ -x "$prog" ] || { echo "$prog is not built: ninja -C $build" >&2; exit 1; }
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$prog" "$@"
