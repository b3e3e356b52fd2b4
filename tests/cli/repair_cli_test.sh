#!/usr/bin/env bash
# repair_cli_test.sh — `strata repair DB [--into NEWDB | --in-place]`.
#
# LSM: a database whose only data is a WAL (written with `strata log append
# --batch`) and whose CURRENT names a MANIFEST that is missing is repaired
# into DB.repaired (tables + a fresh MANIFEST; verify clean; the original
# unchanged, byte for byte); that result, with a byte of its table's index
# flipped, is repaired again (the index is rebuilt from the intact data
# blocks: no key lost), then in place (the original kept in DB.damaged).
# A second repair into a non-empty target fails with exit 4 and one stderr
# line; --into with --in-place is a usage error (2). A database the tool
# wrote (`load`, `del`, `put`, `compact`, one write left in the WAL) with a
# flipped MANIFEST byte is repaired with every live key, the newest values,
# the deleted key still deleted (`get`, `scan` on the result).
# Bitcask: a flipped byte in the data file: the repaired directory holds
# every intact key, the deleted key stays deleted, and the damage is in the
# report (text and --json).
#
# Environment (set by ctest): STRATA_BIN (the tool), STRATA_TMP (scratch
# directory), STRATA_SOURCE (repository root). Prints "N passed, N failed";
# exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/repair_cli.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}
check() {
  local name=$1
  shift
  if "$@"; then pass; else fail "$name"; fi
}
run() {
  "$BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
expect_exit() {
  local want=$1 name=$2
  shift 2
  run "$@"
  if [ "$RC" -eq "$want" ]; then pass; else
    fail "$name: exit $RC, want $want (stderr: $ERR)"
  fi
}
one_error_line() {
  [ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q '^strata: ' "$WORK/err"
}
flip_byte() {
  local old new
  old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  new=$(printf '%02x' $((old ^ 0xff)))
  printf "\\x$new" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# a digest of every file of a directory (names and bytes)
dir_sum() { (cd "$1" && find . -type f | sort | xargs md5sum) | md5sum; }

cd "$WORK" || exit 1

# ---- LSM: a missing MANIFEST -------------------------------------------------
mkdir db
for i in $(seq 1 300); do printf 'k%04d\tv%d-%0100d\n' "$i" "$i" "$i"; done >in.tsv
"$BIN" log append db/000003.log --batch - <in.tsv >/dev/null
printf 'k0005\tnewer\n' | "$BIN" log append db/000003.log --batch --sequence 301 - >/dev/null
printf 'MANIFEST-000002\n' >db/CURRENT
before=$(dir_sum db)
expect_exit 0 "repair lsm" repair db
check "original unchanged" [ "$(dir_sum db)" = "$before" ]
check "reports the missing MANIFEST" grep -q 'db/MANIFEST-000002: damage at offset 0, 0 bytes: missing: .*no key lost' "$WORK/out"
check "summary" grep -q '^repaired db into db.repaired: 300 keys in 1 tables at level 1; 1 damaged regions (0 bytes); 0 doubtful keys left out$' "$WORK/out"
expect_exit 0 "repaired verifies clean" verify db.repaired
run get db.repaired k0005
check "get: the newest value" [ "$RC" -eq 0 ] && [ "$OUT" = "newer" ]
run scan db.repaired
check "scan: every key" [ "$(printf '%s\n' "$OUT" | grep -c .)" -eq 300 ]
T=$(ls db.repaired/*.ldb)
run dump "$T"
check "newest value kept" grep -q 'newer' "$WORK/out"
check "older value of k0005 gone" bash -c "! grep -q 'v5-' '$WORK/out'"

cp -r db dbs
before=$(dir_sum dbs)
expect_exit 0 "repair with a trailing slash" repair dbs/
check "trailing slash: a sibling, not a file inside" [ -d dbs.repaired ] && [ ! -e dbs/.repaired ]
check "trailing slash: original unchanged" [ "$(dir_sum dbs)" = "$before" ]

expect_exit 4 "target not empty" repair db
check "one error line" one_error_line
check "names the target" grep -q 'db.repaired: exists and is not empty' "$WORK/err"
expect_exit 2 "into with in-place" repair db --into x --in-place
expect_exit 4 "no such db" repair nothing-here
check "one error line (missing)" one_error_line

# only a WAL, no CURRENT: which engine is it? --engine lsm says
mkdir walonly
cp db/000003.log walonly/
expect_exit 4 "only a WAL: engine unknown" repair walonly
check "one error line (engine)" one_error_line
expect_exit 0 "only a WAL, --engine lsm" repair walonly --engine lsm
check "only a WAL: every key" grep -q '^repaired walonly into walonly.repaired: 300 keys in 1 tables at level 1; 1 damaged regions' "$WORK/out"

# ---- LSM: a damaged table index, --json ---------------------------------------
size=$(stat -c %s "$T")
flip_byte "$T" $((size - 48 - 20)) # inside the index block, before the footer
expect_exit 1 "damaged index verifies as damage" verify db.repaired
expect_exit 0 "repair damaged index" repair db.repaired --into db3 --json
check "json ok" grep -q '"ok":true' "$WORK/out"
check "json names the index block" grep -q '"block":"index"' "$WORK/out"
check "json: the index costs no key" grep -q '"costs_keys":false' "$WORK/out"
check "json keys" grep -q '"keys_written":300' "$WORK/out"
check "json manifest used" grep -q '"manifest_used":1' "$WORK/out"
check "json doubtful none" grep -q '"doubtful":\[\]' "$WORK/out"
expect_exit 0 "db3 verifies clean" verify db3

# ---- in place -------------------------------------------------------------------
before=$(dir_sum db.repaired)
expect_exit 0 "repair in place" repair db.repaired --in-place
check "in place: summary" grep -q 'original kept in db.repaired.damaged' "$WORK/out"
check "in place: original kept" [ "$(dir_sum db.repaired.damaged)" = "$before" ]
expect_exit 0 "in place: result verifies clean" verify db.repaired
check "in place: no leftover" [ ! -e db.repaired.repairing ]

# ---- LSM written by the tool: a flipped MANIFEST byte -----------------------
for i in $(seq 1 2000); do printf 'k%05d\tv%d-%0100d\n' "$i" "$i" "$i"; done >in2.tsv
"$BIN" --engine lsm load L in2.tsv >/dev/null
"$BIN" del L k00010 >/dev/null
"$BIN" put L k00020 newer >/dev/null
"$BIN" compact L >/dev/null
"$BIN" put L k00030 inwal >/dev/null
M=$(ls L/MANIFEST-*)
flip_byte "$M" $(($(stat -c %s "$M") / 2))
before=$(dir_sum L)
expect_exit 0 "repair tool-written lsm" repair L --json
check "lsm json: manifest not used" grep -q '"manifest_used":0' "$WORK/out"
check "lsm json: every live key" grep -q '"keys_written":1999' "$WORK/out"
check "lsm json: no doubt" grep -q '"doubtful_keys":0' "$WORK/out"
check "lsm: original unchanged" [ "$(dir_sum L)" = "$before" ]
run get L.repaired k00020
check "lsm: overwritten value" [ "$OUT" = "newer" ]
run get L.repaired k00030
check "lsm: value from the WAL" [ "$OUT" = "inwal" ]
expect_exit 1 "lsm: deleted key stays deleted" get L.repaired k00010
run scan L.repaired
check "lsm: scan count" [ "$(printf '%s\n' "$OUT" | grep -c .)" -eq 1999 ]

# ---- Bitcask --------------------------------------------------------------------
# one record per key (a `load` batch is one atomic record)
for i in $(seq 1 60); do
  "$BIN" --engine bitcask put bc "$(printf 'k%04d' "$i")" "v$i-$(printf '%0100d' "$i")" >/dev/null
done
"$BIN" put bc k0007 newer >/dev/null
"$BIN" del bc k0009 >/dev/null
DATA=$(ls bc/*.data | head -1)
dsize=$(stat -c %s "$DATA")
flip_byte "$DATA" $((dsize / 2))
before=$(dir_sum bc)
expect_exit 0 "repair bitcask" repair bc
check "bitcask: original unchanged" [ "$(dir_sum bc)" = "$before" ]
check "bitcask: damage reported" grep -q "$DATA: damage at offset" "$WORK/out"
kept=$(sed -n 's/^repaired bc into bc.repaired: \([0-9]*\) keys; .*/\1/p' "$WORK/out")
check "bitcask: summary" [ -n "$kept" ]
check "bitcask: most keys kept" [ "${kept:-0}" -ge 55 ] && [ "${kept:-0}" -lt 59 ]
check "bitcask: a lost key is named" grep -q "^doubtful: k00[0-9][0-9] (in $DATA) left out: its newest record was damaged" "$WORK/out"
run scan bc.repaired
check "bitcask: scan matches" [ "$(printf '%s\n' "$OUT" | grep -c .)" -eq "${kept:-0}" ]
expect_exit 1 "bitcask: deleted key stays deleted" get bc.repaired k0009
expect_exit 0 "bitcask: intact key" get bc.repaired k0001
expect_exit 0 "bitcask: newest value" get bc.repaired k0007
check "bitcask: newest value is the newer one" [ "$OUT" = "newer" ]
expect_exit 0 "bitcask: repaired verifies clean" verify bc.repaired
cp -r bc bcnl && rm -f bcnl/LOCK
before=$(dir_sum bcnl)
expect_exit 0 "bitcask without LOCK" repair bcnl
check "bitcask: no LOCK left in the original" [ "$(dir_sum bcnl)" = "$before" ] && [ ! -e bcnl/LOCK ]
expect_exit 0 "bitcask json" repair bc --into bc2 --json
check "bitcask json engine" grep -q '"engine":"bitcask"' "$WORK/out"
check "bitcask json damage" grep -q '"costs_keys":true' "$WORK/out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
