#!/bin/sh
# A short scripted demo of fieldkit-cli on a fresh data folder (demo-data/).
# Usage: tools/demo.sh BUILD_DIR
set -eu
build="${1:-build}"
cli="$build/cli/fieldkit-cli"
dir="$(pwd)/demo-data"

rm -rf "$dir"
export FIELDKIT_PASSPHRASE="demo passphrase for ann"
export FIELDKIT_NEW_PASSPHRASE="demo passphrase for bob"

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
printf '\nDemo data is in %s (delete it when done).\n' "$dir"
