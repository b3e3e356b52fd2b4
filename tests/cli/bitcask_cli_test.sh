#!/usr/bin/env bash
# bitcask_cli_test.sh — the strata tool on a Bitcask directory: creating one
# with --engine bitcask, put/get/del/load/scan/stats/compact, the engine
# detection (a new directory defaults to lsm), and the issue's acceptance
# story: load, flip one byte mid-file, scan keeps every other record, verify
# names the damage and the keys whose newest record was lost.
#
# Environment (set by ctest): STRATA_BIN, STRATA_TMP, STRATA_SOURCE. Prints
# "N passed, N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/bitcask_cli.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}
run() {
  "$BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
expect() { # expect WANT_RC NAME ARGS...
  local want=$1 name=$2
  shift 2
  run "$@"
  if [ "$RC" -eq "$want" ]; then pass; else
    fail "$name: exit $RC, want $want (stderr: $ERR)"
  fi
}
same() { # same NAME GOT WANT
  if [ "$2" == "$3" ]; then pass; else fail "$1: got '$2', want '$3'"; fi
}

DB=$WORK/db
# a new directory defaults to lsm
expect 0 "default engine is lsm" put "$WORK/lsm" a 1
[ -f "$WORK/lsm/CURRENT" ] && pass || fail "no CURRENT in a default database"
expect 2 "an lsm database is not bitcask" --engine bitcask get "$WORK/lsm" a
expect 4 "del creates nothing" --engine bitcask del "$WORK/none" a
[ ! -e "$WORK/none" ] && pass || fail "del created a directory"
expect 4 "get on a missing database" --engine bitcask get "$WORK/none" a
expect 0 "create bitcask" --engine bitcask put "$DB" a 1
expect 0 "put after detection" put "$DB" 'b\tb' 'x\ny'
expect 0 "get" get "$DB" a
same "get value" "$OUT" "1"
expect 0 "get escaped" get "$DB" 'b\tb'
same "escaped value" "$OUT" 'x\ny'
expect 1 "hex absent" get --hex "$DB" 6109 # "a\t" is absent
expect 0 "hex put" put --hex "$DB" 00ff 0a00
expect 0 "hex get" get --hex "$DB" 00ff
same "hex value" "$OUT" "0a00"
expect 0 "hex del" del --hex "$DB" 00ff
expect 1 "absent" get "$DB" nope
expect 0 "del" del "$DB" a
expect 1 "deleted" get "$DB" a
expect 0 "empty value" put "$DB" empty ''
expect 0 "get empty" get "$DB" empty
same "empty value out" "$OUT" ""
expect 2 "engine mismatch" --engine wal get "$DB" a
expect 2 "missing args" put "$DB" a

for i in $(seq 1 3000); do printf 'k%05d\tvalue-%d-abcdefghijabcdefghij\n' "$i" "$i"; done >"$WORK/in.txt"
expect 0 "load" load "$DB" "$WORK/in.txt"
expect 0 "load stdin" load "$DB" - <"$WORK/in.txt"
expect 0 "scan" scan "$DB"
same "scan count" "$(echo "$OUT" | wc -l)" "3002"
same "scan first" "$(echo "$OUT" | head -1)" 'b\tb	x\ny'
expect 0 "scan range" scan "$DB" --from k00010 --to k00013
same "range" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k00010 k00011 k00012 "
expect 0 "scan reverse limit" scan "$DB" --reverse --limit 2
same "reverse" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k03000 k02999 "
expect 0 "stats" stats "$DB"
echo "$OUT" | grep -q "^keys	3002$" && pass || fail "stats keys: $OUT"
expect 0 "compact" compact "$DB"
expect 0 "stats json" --json stats "$DB"
echo "$OUT" | grep -q '"hint_files":[1-9]' && pass || fail "hints after compact: $OUT"
expect 0 "scan after compact" scan "$DB"
same "count after compact" "$(echo "$OUT" | wc -l)" "3002"
expect 0 "verify clean" verify "$DB"

# the acceptance story: single puts (one record each), one flipped byte
D2=$WORK/db2
for i in $(seq 1 200); do printf 'p%05d\tvalue-%d-abcdefghijabcdefghijabcdefghijabcdefghij\n' "$i" "$i"; done >"$WORK/p.txt"
expect 0 "create 2" --engine bitcask put "$D2" p00000 first
while IFS=$'\t' read -r k v; do "$BIN" put "$D2" "$k" "$v" || fail "put $k"; done <"$WORK/p.txt"
F=$D2/000001.data
SIZE=$(stat -c %s "$F")
printf '\x55' | dd of="$F" bs=1 seek=$((SIZE / 2)) conv=notrunc 2>/dev/null
expect 0 "scan damaged" scan "$D2"
same "all but one record" "$(echo "$OUT" | wc -l)" "200"
echo "$ERR" | grep -q "warning: .*dropped" && pass || fail "drop warning: $ERR"
echo "$ERR" | grep -q "newest record was lost" && pass || fail "lost key warning: $ERR"
expect 1 "verify damaged" verify "$D2"
echo "$OUT" | grep -q "000001.data: damage at offset" && pass || fail "verify region: $OUT"
echo "$OUT" | grep -q "lost the newest record of key p" && pass || fail "verify key: $OUT"
expect 1 "verify damaged json" --json verify "$D2"
echo "$OUT" | grep -q '"lost_keys":\[{"key":"p' && pass || fail "verify json lost keys: $OUT"
expect 3 "absolute refuses" --recovery absolute scan "$D2"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
