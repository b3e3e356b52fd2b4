#!/usr/bin/env bash
# ledger_cli_test.sh — the damage ledger through the tool: a WAL damaged in
# its middle is replayed under --recovery skip; the lost region is listed in
# DIR/LEDGER, so reads of older data fail (exit 3) instead of serving what
# may be stale; verify lists the loss (exit 1); verify --acknowledge lists
# and clears it; reads answer again; a write after the loss is served.
#
# Environment (set by ctest): STRATA_BIN, STRATA_TMP. Prints "N passed,
# N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/ledger_cli.XXXXXX") || exit 1
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
has() { # has NAME TEXT PATTERN (grep -E)
  if echo "$2" | grep -Eq -- "$3"; then pass; else
    fail "$1: no match for '$3' in: $(echo "$2" | head -c 600)"
  fi
}

DB=$WORK/db
# 5 batches of 1000 puts in one WAL (the memtable is not flushed)
for i in $(seq 1 5000); do printf 'k%05d\tv%05d\n' "$i" "$i"; done >"$WORK/in"
expect 0 "load" load "$DB" "$WORK/in"
LOG=$(ls "$DB"/*.log | tail -1)
SIZE=$(stat -c %s "$LOG")
[ "$SIZE" -gt 40000 ] && pass || fail "WAL of $SIZE bytes"
# flip one byte in the middle of the WAL
python3 - "$LOG" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x40
open(p, 'wb').write(b)
PY
expect 3 "get of older data after the loss" --recovery skip get "$DB" k00001
has "get names the ledger" "$ERR" "lost to damage"
[ -f "$DB/LEDGER" ] && pass || fail "no LEDGER: $(ls "$DB")"
expect 0 "a new write" put "$DB" k00001 fresh
expect 0 "a write after the loss is served" get "$DB" k00001
has "its value" "$OUT" "^fresh$"
expect 1 "verify lists the loss" verify "$DB"
has "verify names LEDGER" "$OUT" "LEDGER"
expect 0 "verify --acknowledge" verify --acknowledge "$DB"
has "acknowledged" "$ERR" "1 lost range acknowledged"
[ ! -f "$DB/LEDGER" ] && pass || fail "LEDGER still there"
expect 0 "get after acknowledging" get "$DB" k00002
has "surviving value" "$OUT" "^v00002$"
expect 2 "--acknowledge on a file" verify --acknowledge "$DB/CURRENT"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
