#!/usr/bin/env bash
# lsm_cli_test.sh — the strata tool on an LSM database (the default engine):
# put/get/del/load (enough data for memtable flushes), scan with --from,
# --to, --limit, --reverse and --hex, compact, stats, dump of the whole
# directory, verify clean (exit 0) and after one flipped byte in a table
# (exit 1, the file named; reads of that block refused with exit 3), a
# locked database (exit 4), and the other exit codes of SPEC §3.
#
# Environment (set by ctest): STRATA_BIN, STRATA_TMP, STRATA_SOURCE. Prints
# "N passed, N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/lsm_cli.XXXXXX") || exit 1
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
has() { # has NAME TEXT PATTERN (grep -E)
  if echo "$2" | grep -Eq -- "$3"; then pass; else
    fail "$1: no match for '$3' in: $(echo "$2" | head -c 600)"
  fi
}

DB=$WORK/db
# ---- single operations; a new directory is an LSM database --------------
expect 4 "get on a missing database" get "$WORK/none" a
[ ! -e "$WORK/none" ] && pass || fail "get created a directory"
expect 4 "del creates nothing" del "$WORK/none" a
[ ! -e "$WORK/none" ] && pass || fail "del created a directory"
expect 0 "put creates" put "$DB" a 1
[ -f "$DB/CURRENT" ] && pass || fail "no CURRENT: $(ls "$DB")"
ls "$DB" | grep -q '^MANIFEST-' && pass || fail "no MANIFEST: $(ls "$DB")"
expect 0 "put escaped" put "$DB" 'b\tb' 'x\ny'
expect 0 "get" get "$DB" a
same "get value" "$OUT" "1"
expect 0 "get escaped" get "$DB" 'b\tb'
same "escaped value" "$OUT" 'x\ny'
expect 0 "overwrite" put "$DB" a 2
expect 0 "get overwritten" get "$DB" a
same "overwritten value" "$OUT" "2"
expect 1 "absent" get "$DB" nope
same "absent prints nothing" "$OUT" ""
expect 0 "hex put" put --hex "$DB" 00ff 0a00
expect 0 "hex get" get --hex "$DB" 00ff
same "hex value" "$OUT" "0a00"
expect 0 "get binary key escaped" get "$DB" '\x00\xff'
same "escaped binary value" "$OUT" '\n\x00'
expect 0 "hex del" del --hex "$DB" 00ff
expect 1 "hex deleted" get --hex "$DB" 00ff
expect 0 "del" del "$DB" a
expect 1 "deleted" get "$DB" a
expect 0 "del absent key" del "$DB" never-there
expect 0 "empty value" put "$DB" empty ''
expect 0 "get empty" get "$DB" empty
same "empty value out" "$OUT" ""
expect 0 "sync put" --sync put "$DB" synced yes
expect 0 "get synced" get "$DB" synced
same "synced value" "$OUT" "yes"

# ---- exit codes ------------------------------------------------------------
expect 2 "engine mismatch" --engine bitcask get "$DB" a
expect 2 "missing args" put "$DB" a
expect 2 "bad hex" get --hex "$DB" zz
expect 2 "bad limit" scan "$DB" --limit x
expect 2 "option of another command" get "$DB" a --reverse
expect 2 "unknown command" frobnicate "$DB"

# ---- load: enough data for several memtable flushes (4 MiB buffer) ----------
awk 'BEGIN { for (i = 1; i <= 30000; i++)
  printf "k%05d\tvalue-%d-%s\n", i, i, substr("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz", 1, 100 + i % 97) }' >"$WORK/in.txt"
expect 0 "load" load "$DB" "$WORK/in.txt"
same "no progress when stderr is not a terminal" "$ERR" ""
awk -F'\t' '{ printf "%s\tnew-%s\n", $1, $2 }' "$WORK/in.txt" | head -5000 >"$WORK/over.txt"
expect 0 "load stdin (overwrites)" load "$DB" - <"$WORK/over.txt"
expect 0 "get loaded" get "$DB" k12345
same "loaded value" "$OUT" "$(grep -P '^k12345\t' "$WORK/in.txt" | cut -f2)"
expect 0 "get overwritten by load" get "$DB" k00100
same "overwritten by load" "$OUT" "new-$(grep -P '^k00100\t' "$WORK/in.txt" | cut -f2)"
printf 'k1\tv1\nno-tab-here\n' >"$WORK/bad.txt"
expect 2 "load bad line" load "$DB" "$WORK/bad.txt"
has "load bad line names it" "$ERR" "line 2"
expect 4 "load missing file" load "$DB" "$WORK/no-such-file"
for i in $(seq 1 30000 | awk '$1 % 7 == 0'); do printf 'k%05d\n' "$i"; done >"$WORK/del.txt"
while read -r k; do
  [ $((10#${k#k} % 700)) -eq 0 ] || continue
  "$BIN" del "$DB" "$k" || fail "del $k"
done <"$WORK/del.txt"
expect 1 "deleted after load" get "$DB" k00700
expect 0 "stats" stats "$DB"
has "stats engine" "$OUT" "^engine	lsm$"
has "stats sequence" "$OUT" "^sequence	[0-9]+$"
tables=$(ls "$DB" | grep -cE '\.(ldb|sst)$')
[ "$tables" -ge 1 ] && pass || fail "no table after loading ~4 MB: $(ls "$DB")"

# ---- scan ------------------------------------------------------------------
# 30000 loaded, 42 of them (k00700, k01400, ...) deleted; b\tb, empty, synced
expect 0 "scan" scan "$DB"
count=$(echo "$OUT" | wc -l)
same "scan count" "$count" "$((30000 - 42 + 3))"
same "scan first" "$(echo "$OUT" | head -1)" 'b\tb	x\ny'
same "scan last" "$(echo "$OUT" | tail -1 | cut -f1)" "synced"
same "scan sorted" "$(echo "$OUT" | cut -f1 | LC_ALL=C sort -c 2>&1)" ""
expect 0 "scan range" scan "$DB" --from k00010 --to k00013
same "range" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k00010 k00011 k00012 "
expect 0 "scan range reverse" scan "$DB" --from k00010 --to k00013 --reverse
same "range reverse" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k00012 k00011 k00010 "
expect 0 "scan reverse limit" scan "$DB" --reverse --limit 2
same "reverse limit" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "synced k30000 "
expect 0 "scan from limit" scan "$DB" --from k29999 --limit 5
same "from limit" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k29999 k30000 synced "
expect 0 "scan to" scan "$DB" --to k00003
same "to" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" 'b\tb empty k00001 k00002 '
expect 0 "scan reverse to" scan "$DB" --reverse --to k00002 --limit 2
same "reverse to" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k00001 empty "
expect 0 "scan skips deleted" scan "$DB" --from k00699 --to k00702
same "deleted skipped" "$(echo "$OUT" | cut -f1 | tr '\n' ' ')" "k00699 k00701 "
expect 0 "scan empty range" scan "$DB" --from k5 --to k6
same "empty range" "$OUT" ""
expect 0 "scan hex" scan --hex "$DB" --from 6b3030303130 --limit 1
same "hex scan" "$OUT" "$(printf 'k00010' | od -An -tx1 | tr -d ' \n')	$(grep -P '^k00010\t' "$WORK/over.txt" | cut -f2 | tr -d '\n' | od -An -tx1 | tr -d ' \n')"

# ---- compact, stats --------------------------------------------------------
expect 0 "compact" compact "$DB"
expect 0 "stats after compact" stats "$DB"
has "level 0 empty after compact" "$OUT" "^level0	files=0	"
has "tables in a deeper level" "$OUT" "^level[1-6]	files=[1-9]"
has "stats counters" "$OUT" "^compactions	[0-9]+$" # this process's only
has "strata.stats text" "$OUT" "Level +Files"
expect 0 "stats json" --json stats "$DB"
has "stats json engine" "$OUT" '"engine":"lsm"'
has "stats json levels" "$OUT" '"levels":\[\{"level":0'
expect 0 "scan after compact" scan "$DB"
same "count after compact" "$(echo "$OUT" | wc -l)" "$count"

# ---- dump of the whole directory -------------------------------------------
expect 0 "dump dir" dump "$DB"
has "dump CURRENT" "$OUT" "^current	file=.*CURRENT	manifest=MANIFEST-[0-9]+$"
has "dump MANIFEST" "$OUT" "^summary	file=.*MANIFEST-[0-9]+	"
has "dump WAL" "$OUT" "^summary	file=.*[0-9]+\.log	"
has "dump table" "$OUT" "^footer	ok=yes"
has "dump table summary" "$OUT" "^summary	file=.*[0-9]+\.(ldb|sst)	blocks="
expect 0 "dump dir json" --json dump "$DB"
has "dump json current" "$OUT" '"current":"MANIFEST-'
expect 0 "dump CURRENT alone" dump "$DB/CURRENT"

# ---- verify ------------------------------------------------------------------
expect 0 "verify clean" verify "$DB"
has "verify summary" "$OUT" "^$DB: [0-9]+ files, [0-9]+ records intact, 0 damaged regions, 0 bytes lost$"
has "verify checks the tables" "$OUT" "\.(ldb|sst): [1-9][0-9]* records intact, 0 damaged regions"
expect 0 "verify clean json" --json verify "$DB"
has "verify json ok" "$OUT" '^\{"ok":true'

# ---- a locked database ---------------------------------------------------------
mkfifo "$WORK/fifo"
"$BIN" load "$DB" "$WORK/fifo" >"$WORK/lock.out" 2>&1 &
LOADER=$!
sleep 0.5 # the loader opens the database, then blocks on the fifo
expect 4 "locked database" get "$DB" k00001
has "locked message" "$ERR" "lock"
printf 'locked-key\tlv\n' >"$WORK/fifo"
wait "$LOADER"
same "loader finished" "$?" "0"
expect 0 "after the lock" get "$DB" locked-key
same "loaded through the fifo" "$OUT" "lv"

# ---- one flipped byte in a table ---------------------------------------------------
T=$(ls -S "$DB"/*.ldb "$DB"/*.sst 2>/dev/null | head -1)
SIZE=$(stat -c %s "$T")
OFF=$((SIZE / 3))
B=$(od -An -tu1 -j "$OFF" -N1 "$T" | tr -d ' ')
printf "\\x$(printf %02x $((B ^ 0x5a)))" | dd of="$T" bs=1 seek="$OFF" conv=notrunc 2>/dev/null
NAME=$(basename "$T")
expect 1 "verify damaged" verify "$DB"
has "verify names the table" "$OUT" "$NAME: damage at offset [0-9]+"
has "verify summary damaged" "$OUT" "^$DB: [0-9]+ files, [0-9]+ records intact, 1 damaged region, [1-9][0-9]* bytes lost$"
expect 1 "verify damaged json" --json verify "$DB"
has "verify json not ok" "$OUT" '^\{"ok":false'
has "verify json file" "$OUT" "\"file\":\"[^\"]*$NAME\""
expect 3 "scan meets the damaged block" scan "$DB"
has "scan error names the table" "$ERR" "$NAME"
expect 0 "scan under skip goes past the damaged block" --recovery skip scan "$DB"
skipped=$(echo "$OUT" | wc -l)
[ "$skipped" -lt "$((count + 1))" ] && [ "$skipped" -gt "$((count / 2))" ] && pass ||
  fail "skip scan kept $skipped of $((count + 1)) keys"
has "skip scan warns" "$ERR" "warning: .*skipped [0-9]+ damaged bytes in 1 place .*$NAME"
expect 1 "verify one table file" verify "$T"

# ---- a live table missing: only the database-level check can tell ----------
D3=$WORK/db3
cp -r "$DB" "$D3"
T3=$(ls "$D3"/*.ldb "$D3"/*.sst 2>/dev/null | grep -v "$NAME" | head -1)
rm "$T3"
N3=$(basename "$T3" | sed 's/\..*//')
expect 1 "verify missing table" verify "$D3"
has "missing table named" "$OUT" "$N3\.(ldb|sst): damage at offset 0, [0-9]+ bytes: missing"
expect 1 "verify missing table json" --json verify "$D3"
has "json missing" "$OUT" '"kind":"missing"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
