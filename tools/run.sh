#!/bin/sh
# Installs what is needed, builds, prepares a demo data folder (demo-data/)
# with sample outings of each kind and a few cases, and opens the FieldKit
# window on it.  The CLI demo is still there: sh tools/demo.sh build.
set -eu
cd "$(dirname "$0")/.."

sh tools/install-deps.sh
meson setup build >/dev/null 2>&1 || meson setup --reconfigure build >/dev/null
ninja -C build

# Without a display there is no window to open: run the command-line demo
# (which starts and stops its own local office) instead.
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: running the command-line demo instead (tools/demo.sh)."
  exec sh tools/demo.sh build
fi

cli=build/cli/fieldkit-cli
office=build/sync/fieldkit-office
dir="$(pwd)/demo-data"
odir="$(pwd)/demo-office"
port="${FIELDKIT_DEMO_PORT:-7390}"
pass="demo passphrase for ann"
export FIELDKIT_ADMIN_PASSPHRASE="demo office admin passphrase"

# The demo device is enrolled with the demo office; one without the other
# starts both afresh.
if [ ! -f "$odir/office.db" ] || [ ! -f "$dir/fieldkit.db" ]; then
  rm -rf "$dir" "$odir"
  "$office" --data-dir "$odir" init --admin "Director Wu" --office-code TCN >/dev/null
fi

if [ ! -f "$dir/fieldkit.db" ]; then
  export FIELDKIT_PASSPHRASE="$pass"
  export FIELDKIT_NEW_PASSPHRASE="demo passphrase for bob"
  today=$(date +%Y-%m-%d)
  soon=$(date -d '+3 days' +%Y-%m-%d)
  "$cli" --data-dir "$dir" init --operator ann --name "Chen Mei-ling" --office-code TCN --device-number 3 >/dev/null
  "$cli" --data-dir "$dir" operator add --id bob --name "Lin Chih-hao" --role staff >/dev/null
  "$cli" --data-dir "$dir" --operator ann outing new --kind home_visit --title "Home visits, Beitun" --date "$today" --place "Beitun district" >/dev/null
  "$cli" --data-dir "$dir" --operator ann outing new --kind school_drive --title "Class 801, Chongde Junior High" --date "$soon" --place "Chongde Junior High" >/dev/null
  "$cli" --data-dir "$dir" --operator ann outing new --kind certificate_booth --title "Tax office booth" --date "$soon" --place "Beitun tax office" >/dev/null
  "$cli" --data-dir "$dir" --operator ann outing new --kind bulk_enrolment --title "Certificates for the district office" --date "$soon" >/dev/null
  "$cli" --data-dir "$dir" --operator ann case new --outing O1 --service id_card_replace --person-id A123456789 --name "王大明" --birth 1950-03-04 --field reason=damaged >/dev/null
  "$cli" --data-dir "$dir" --operator ann case new --outing O1 --service certificate_apply --person-id B220000019 --name "李小華" --birth 民國60年7月1日 >/dev/null
  "$cli" --data-dir "$dir" --operator ann case tick 1 --all >/dev/null
  "$cli" --data-dir "$dir" --operator ann case check 1 >/dev/null
  FIELDKIT_PASSPHRASE="demo passphrase for bob" "$cli" --data-dir "$dir" --operator bob case approve 1 >/dev/null
  "$cli" --data-dir "$dir" --operator ann case finalize 1 >/dev/null
  "$cli" --data-dir "$dir" --operator ann roster import O2 tests/fixtures/rosters/class-801-utf8.csv >/dev/null
fi

# The local office on 127.0.0.1, for as long as the window is open.
"$office" --data-dir "$odir" serve --listen "127.0.0.1:$port" --quiet > "$odir/serve.log" 2>&1 &
office_pid=$!
trap 'kill "$office_pid" 2>/dev/null; wait "$office_pid" 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 50); do
  grep -q listening "$odir/serve.log" 2>/dev/null && break
  if ! kill -0 "$office_pid" 2>/dev/null; then
    cat "$odir/serve.log"
    echo "The demo office could not start on 127.0.0.1:$port (set FIELDKIT_DEMO_PORT to use another port)."
    exit 1
  fi
  sleep 0.1
done

if ! sqlite3 "$dir/fieldkit.db" "SELECT 1 FROM meta WHERE key = 'office_sign_pk'" | grep -q 1; then
  invite=$("$office" --data-dir "$odir" --json device invite --name "demo tablet")
  code=$(printf '%s' "$invite" | sed -n 's/.*"code" : "\([^"]*\)".*/\1/p')
  fp=$(printf '%s' "$invite" | sed -n 's/.*"fingerprint" : "\([^"]*\)".*/\1/p')
  FIELDKIT_PASSPHRASE="$pass" "$cli" --data-dir "$dir" --operator ann enroll "http://127.0.0.1:$port" --code "$code" --fingerprint "$fp"
fi

printf '\nFieldKit demo data: %s (office on http://127.0.0.1:%s, data in %s)\n' "$dir" "$port" "$odir"
printf 'Sign in as "ann" with the passphrase:  %s\n' "$pass"
printf 'Second checker "bob" uses:             %s\n\n' "demo passphrase for bob"
build/ui/fieldkit --data-dir "$dir"
