#!/usr/bin/env bash
# wal_cli_test.sh — `strata wal append|replay|checkpoint|truncate`, and dump
# and verify on a WAL directory: sequence numbers printed, batches from stdin,
# escapes and hex, usage errors, a torn tail cut at open (then appends
# survive), a missing middle segment reported as a sequence gap.
#
# Environment (set by ctest): STRATA_BIN, STRATA_TMP, STRATA_SOURCE. Prints
# "N passed, N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/wal_cli.XXXXXX") || exit 1
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
  [ "$(wc -l <"$WORK/err")" -eq 1 ] && [ "${ERR#strata: }" != "$ERR" ]
}
out_is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$WORK/out"; }

D=$WORK/w
# ---- append, replay --------------------------------------------------------
expect_exit 0 "append KEY VALUE" wal append "$D" cat meow
check "first sequence is 1" test "$OUT" = 1
expect_exit 0 "append --delete" wal append "$D" --delete dog
check "second sequence is 2" test "$OUT" = 2
printf 'put\ta\t1\nput\tb\\tx\t2\n\ndel\ta\n' >"$WORK/in"
"$BIN" wal append "$D" - <"$WORK/in" >"$WORK/out" 2>"$WORK/err"
check "stdin: two batches" test "$(cat "$WORK/out")" = "$(printf '3\n5')"
expect_exit 0 "append --hex" --hex wal append "$D" 00ff 0a
expect_exit 0 "replay" wal replay "$D"
check "replay: 6 operations" test "$(wc -l <"$WORK/out")" -eq 6
check "replay: put line" grep -qx "$(printf '1\tput\tcat\tmeow')" "$WORK/out"
check "replay: del line" grep -qx "$(printf '2\tdel\tdog')" "$WORK/out"
check "replay: escaped tab" grep -qx "$(printf '4\tput\tb\\\\tx\t2')" "$WORK/out"
check "replay: binary escaped" grep -qx "$(printf '6\tput\t\\\\x00\\\\xff\t\\\\n')" "$WORK/out"
expect_exit 0 "replay --after" wal replay "$D" --after 4
check "replay --after 4: two" test "$(wc -l <"$WORK/out")" -eq 2
expect_exit 0 "replay --json" --json wal replay "$D"
check "replay --json: valid" out_is_json

# ---- checkpoint, truncate ----------------------------------------------------
expect_exit 0 "checkpoint" wal checkpoint "$D" 3
expect_exit 2 "checkpoint past the end" wal checkpoint "$D" 99
expect_exit 2 "truncate back below the checkpoint" wal truncate "$D" --back 2
expect_exit 0 "truncate --back" wal truncate "$D" --back 5
run wal replay "$D"
check "after truncate --back 5: five" test "$(wc -l <"$WORK/out")" -eq 5
expect_exit 0 "append after rollback" wal append "$D" x y
check "numbering continues at 6" test "$OUT" = 6
expect_exit 0 "truncate --front" wal truncate "$D" --front 6
run wal replay "$D"
check "after a full truncation: empty" test -z "$OUT"
expect_exit 0 "append after full truncation" wal append "$D" z 1
check "numbering continues at 7" test "$OUT" = 7

# ---- usage errors ---------------------------------------------------------------
expect_exit 2 "no subcommand" wal
check "no subcommand: one line" one_error_line
expect_exit 2 "unknown subcommand" wal frob "$D"
expect_exit 2 "append: missing value" wal append "$D" k
expect_exit 2 "truncate: no bound" wal truncate "$D"
expect_exit 2 "truncate: both bounds" wal truncate "$D" --front 1 --back 2
expect_exit 2 "checkpoint: not a number" wal checkpoint "$D" x
expect_exit 2 "--after on append" wal append "$D" k v --after 3
expect_exit 2 "bad stdin op" wal append "$D" - <<<"$(printf 'zap\tk')"
expect_exit 4 "replay a missing dir" wal replay "$WORK/nope"
check "missing dir: one line" one_error_line

# ---- damage: torn tail, then appends survive ------------------------------------
T=$WORK/t
for i in 1 2 3 4 5; do "$BIN" wal append "$T" "key$i" "value-$i" >/dev/null; done
SEG=$T/000001.log
SIZE=$(wc -c <"$SEG")
truncate -s $((SIZE - 3)) "$SEG"
expect_exit 1 "verify: torn tail is damage" verify "$T"
check "verify names torn-tail" grep -q 'torn-tail' "$WORK/out"
expect_exit 0 "append after a torn tail" wal append "$T" new 1
check "warning on stderr" grep -q 'warning: .*dropped' "$WORK/err"
check "torn batch's number given again (it was never kept)" test "$OUT" = 5
expect_exit 0 "verify after recovery: clean" verify "$T"
run wal replay "$T"
check "replay: 4 old + new" test "$(wc -l <"$WORK/out")" -eq 5
check "replay: new one last" test "$(tail -1 "$WORK/out")" = "$(printf '5\tput\tnew\t1')"

# ---- damage: a missing middle segment ------------------------------------------------
# segments 1 and 3 continue each other; segment 2 (sequence 4..9) is gone
H=$WORK/h
for i in 1 2 3; do "$BIN" wal append "$H" "k$i" v >/dev/null; done
"$BIN" log append "$H/000003.log" --batch --sequence 10 k10 v k11 v >/dev/null
expect_exit 1 "verify: a hole" verify "$H"
check "verify: sequence-gap" grep -q 'sequence-gap' "$WORK/out"
run --json verify "$H"
check "verify --json: valid" out_is_json
expect_exit 3 "absolute refuses the hole" wal replay "$H" --recovery absolute
check "refused: one line" one_error_line
expect_exit 0 "skip replays around the hole" wal replay "$H" --recovery skip
check "skip: warning" grep -q 'warning' "$WORK/err"
expect_exit 0 "dump a WAL directory" dump "$H"
check "dump: one summary per segment" test "$(grep -c '^summary' "$WORK/out")" -ge 2

# ---- damage: a flipped byte mid-file, the lost sequence range reported -----------
F=$WORK/f
for i in 1 2 3 4 5 6; do "$BIN" wal append "$F" "k$i" "value$i" >/dev/null; done
printf '\xff' | dd of="$F/000001.log" bs=1 seek=60 conv=notrunc 2>/dev/null
expect_exit 1 "verify: flipped byte" verify "$F"
check "verify: lost range named" grep -q 'sequence numbers 3\.\.3 lost' "$WORK/out"
expect_exit 3 "tolerate-tail refuses mid-file damage" wal replay "$F" --recovery tolerate-tail
expect_exit 0 "skip: replays the rest" wal replay "$F" --recovery skip
check "skip: five operations" test "$(wc -l <"$WORK/out")" -eq 5
check "skip: 3 is gone" test "$(grep -c "^3	" "$WORK/out")" -eq 0
expect_exit 0 "point-in-time: keeps the prefix" wal replay "$F"
check "point-in-time: two operations" test "$(wc -l <"$WORK/out")" -eq 2
check "point-in-time: kept the rest aside" test -s "$F/000001-60.lost"
expect_exit 0 "append after point-in-time" wal append "$F" after 1
check "numbering above every number seen" test "$OUT" = 7
expect_exit 0 "verify after recovery: clean" verify "$F"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
