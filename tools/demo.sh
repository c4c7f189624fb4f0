#!/bin/sh
# A short scripted demo of fieldkit-cli on a fresh data folder (demo-data/),
# with a local office (fieldkit-office) on 127.0.0.1 that stops when the
# demo ends.  Usage: tools/demo.sh BUILD_DIR
set -eu
build="${1:-build}"
cli="$build/cli/fieldkit-cli"
office="$build/sync/fieldkit-office"
dir="$(pwd)/demo-data"
odir="$(pwd)/demo-office"

rm -rf "$dir" "$odir"
export FIELDKIT_PASSPHRASE="demo passphrase for ann"
export FIELDKIT_NEW_PASSPHRASE="demo passphrase for bob"
export FIELDKIT_ADMIN_PASSPHRASE="demo office admin passphrase"
office_pid=""
cleanup() { [ -n "$office_pid" ] && kill "$office_pid" 2>/dev/null && wait "$office_pid" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m$ fieldkit-cli %s\033[0m\n' "$*"; }
run() { step "$*"; "$cli" --data-dir "$dir" "$@"; }

run init --operator ann --name "Chen Mei-ling" --office-code TCN --device-number 3
run operator add --id bob --name "Lin Chih-hao" --role staff
run --operator ann outing new --kind home_visit --title "Home visits, Beitun" --date 2026-11-26 --place "Beitun district"
run --operator ann case new --outing O1 --service id_card_replace --person-id A123456789 --name "王大明" --birth 1950-03-04 --field reason=damaged
run --operator ann case new --outing O1 --service certificate_apply --person-id B220000019 --name "李小華" --birth 民國60年7月1日
run --operator ann case tick 1 --all
run --operator ann case check 1
step "--operator ann case approve 1   (refused: the same person cannot do the second check)"
"$cli" --data-dir "$dir" --operator ann case approve 1 || true
FIELDKIT_PASSPHRASE="demo passphrase for bob" run --operator bob case approve 1
run --operator ann case finalize 1
run --operator ann case show 1
run --operator ann case show 2
run --operator ann case list
run --operator ann audit verify

ostep() { printf '\n\033[1m$ fieldkit-office %s\033[0m\n' "$*"; }
orun() { ostep "$*"; "$office" --data-dir "$odir" "$@"; }
orun init --admin "Director Wu" --office-code TCN
"$office" --data-dir "$odir" serve --listen 127.0.0.1:0 --port-file "$odir/port" --quiet > "$odir/serve.log" 2>&1 &
office_pid=$!
for _ in $(seq 1 100); do [ -s "$odir/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$odir/port")"
printf '\n(the office listens on %s)\n' "$url"
ostep "device invite --name \"demo tablet\""
invite=$("$office" --data-dir "$odir" --json device invite --name "demo tablet")
code=$(printf '%s' "$invite" | sed -n 's/.*"code" : "\([^"]*\)".*/\1/p')
fp=$(printf '%s' "$invite" | sed -n 's/.*"fingerprint" : "\([^"]*\)".*/\1/p')
printf 'invite code %s, office fingerprint %s\n' "$code" "$fp"
run --operator ann enroll "$url" --code "$code" --fingerprint "$fp"
run --operator ann sync
orun inbox
run --operator ann case show 1
printf '\nDemo data is in %s and %s (delete them when done). The office stops now.\n' "$dir" "$odir"
