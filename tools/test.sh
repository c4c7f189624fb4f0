#!/bin/sh
# The whole test suite from a clean checkout: installs what is needed,
# builds with warnings as errors, runs every test, then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs every test there.
# Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

sh tools/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

count() {
  # meson's summary lines: "Ok: N", "Fail: N", "Unexpected Pass", "Timeout: N", "Skipped: N"
  log="$1/meson-logs/testlog.txt"
  ok=$(sed -n 's/^Ok:[[:space:]]*\([0-9]*\).*/\1/p' "$1/summary.txt" 2>/dev/null | tail -n1)
  bad=$(sed -n 's/^\(Fail\|Timeout\|Unexpected Pass\):[[:space:]]*\([0-9]*\).*/\2/p' "$1/summary.txt" 2>/dev/null | awk '{s+=$1} END {print s+0}')
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${bad:-0}))
}

run_suite() {
  dir="$1"; shift
  if ! meson setup "$dir" --werror "$@" >/dev/null 2>&1 && ! meson setup --reconfigure "$dir" --werror "$@"; then
    echo "meson setup $dir failed"; failed=$((failed + 1)); return
  fi
  if ! ninja -C "$dir"; then
    echo "build in $dir failed"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 --no-suite display 2>&1 | tee "$dir/test-output.txt"
  grep -E '^(Ok|Fail|Timeout|Unexpected Pass|Skipped|Expected Fail):' "$dir/test-output.txt" > "$dir/summary.txt" || true
  count "$dir"
}

# The window's display suite (widget tests and the dogtail end-to-end
# test) under a virtual X server and its own D-Bus session, so nothing in it
# is skipped.  Screenshots land in build/tests/screenshots/.
run_display() {
  dir="$1"
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
    meson test -C "$dir" --print-errorlogs --num-processes 1 --suite display 2>&1 | tee "$dir/test-display-output.txt"
  grep -E '^(Ok|Fail|Timeout|Unexpected Pass|Skipped|Expected Fail):' "$dir/test-display-output.txt" > "$dir/summary.txt" || true
  count "$dir"
}

run_suite build
run_display build
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# The roster reader under libFuzzer for a bounded time (FUZZ_SECONDS, default
# 60): one test in the totals, passed when the fuzzer builds and finds nothing.
mkdir -p build-fuzz
if FUZZ_BUILD_DIR=build-fuzz sh tools/fuzz.sh "${FUZZ_SECONDS:-60}" > build-fuzz/fuzz.log 2>&1; then
  echo "fuzz-roster: ok ($(grep -m1 -o 'Done [0-9]* runs in [0-9]* second' build-fuzz/fuzz.log || echo 'done'))"
  passed=$((passed + 1))
else
  tail -n 40 build-fuzz/fuzz.log
  echo "fuzz-roster: FAILED (build-fuzz/fuzz.log, findings in build-fuzz/)"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
