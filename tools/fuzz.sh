#!/bin/sh
# Fuzzes the roster reader (app/fk-roster.c) with libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer for a bounded time.
#
#   tools/fuzz.sh [SECONDS]     default 60 (or $FUZZ_SECONDS)
#
# The target is compiled straight from the sources it needs with clang
# (libFuzzer needs clang and libclang-rt-14-dev, see tools/install-deps.sh),
# not through meson, so the regular build stays with gcc.  The seed corpus
# tests/fuzz/corpus-roster is only read; what the fuzzer learns goes to
# $FUZZ_BUILD_DIR (default build-fuzz/), and so does any crashing input
# (crash-*, leak-*, timeout-*), to be added to the seed corpus once fixed.
# Exits non-zero when the build fails or the fuzzer finds anything.
set -eu
cd "$(dirname "$0")/.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
out="${FUZZ_BUILD_DIR:-build-fuzz}"
mkdir -p "$out/corpus-roster"

CC="${FUZZ_CC:-clang}"
# shellcheck disable=SC2046
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -D_GNU_SOURCE -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
  -I. $(pkg-config --cflags glib-2.0 libsodium) \
  tests/fuzz/fuzz-roster.c app/fk-roster.c app/fk-validate.c app/fk-date.c crypto/fk-i18n.c crypto/fk-crypto.c \
  $(pkg-config --libs glib-2.0 libsodium) \
  -o "$out/fuzz-roster"

echo "fuzz-roster: ${seconds}s, seeds tests/fuzz/corpus-roster, findings in $out/"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
G_SLICE=always-malloc \
  "$out/fuzz-roster" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/corpus-roster" tests/fuzz/corpus-roster
