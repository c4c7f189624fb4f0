#!/bin/sh
# Installs what is needed, builds, prepares a demo data folder (demo-data/)
# with sample outings of each kind and a few cases, and opens the FieldKit
# window on it.  The CLI demo is still there: sh tools/demo.sh build.
set -eu
cd "$(dirname "$0")/.."

sh tools/install-deps.sh
meson setup build >/dev/null 2>&1 || meson setup --reconfigure build >/dev/null
ninja -C build

cli=build/cli/fieldkit-cli
dir="$(pwd)/demo-data"
pass="demo passphrase for ann"

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
  if [ -f tests/fixtures/class-801.csv ] || [ -f ../shared/fixtures/rosters/class-801-utf8.csv ]; then
    "$cli" --data-dir "$dir" --operator ann roster import O2 ../shared/fixtures/rosters/class-801-utf8.csv >/dev/null 2>&1 || true
  fi
fi

# Hook for the lead: start the local office server here (fieldkit-office
# serve on 127.0.0.1) and enrol demo-data/ with its invite, before the window
# opens.
if [ -n "${FIELDKIT_RUN_OFFICE_HOOK:-}" ]; then
  sh "$FIELDKIT_RUN_OFFICE_HOOK" "$dir"
fi

printf '\nFieldKit demo data: %s\n' "$dir"
printf 'Sign in as "ann" with the passphrase:  %s\n' "$pass"
printf 'Second checker "bob" uses:             %s\n\n' "demo passphrase for bob"
exec build/ui/fieldkit --data-dir "$dir"
