#!/usr/bin/env bash
# log_cli_test.sh — the strata tool on raw record logs: usage errors, option
# placement, escaping and hex round trips through `log append` and `dump`,
# and damage: a flipped byte (verify, dump under skip / absolute /
# point-in-time) and a torn tail.
#
# Environment (set by ctest): STRATA_BIN (the tool), STRATA_TMP (scratch
# directory), STRATA_SOURCE (repository root). Prints "N passed, N failed";
# exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/log_cli.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}
# check NAME COMMAND...: passes when COMMAND succeeds
check() {
  local name=$1
  shift
  if "$@"; then pass; else fail "$name"; fi
}

# run ARGS...: runs the tool; sets RC, OUT (stdout) and ERR (stderr)
run() {
  "$BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
# run_in FILE ARGS...: as run, with stdin from FILE
run_in() {
  local in=$1
  shift
  "$BIN" "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
# expect_exit WANT NAME ARGS...
expect_exit() {
  local want=$1 name=$2
  shift 2
  run "$@"
  if [ "$RC" -eq "$want" ]; then pass; else
    fail "$name: exit $RC, want $want (stderr: $ERR)"
  fi
}
# the last run printed exactly one stderr line, starting "strata: "
one_error_line() {
  [ "$(wc -l <"$WORK/err")" -eq 1 ] && [ "${ERR#strata: }" != "$ERR" ]
}
# the last run's stdout is valid JSON
out_is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$WORK/out"; }
# json_get EXPR: evaluates a python expression over the JSON object `j` read
# from the last run's stdout
json_get() {
  python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" <"$WORK/out"
}
# field NAME LINE: the value of NAME=VALUE in a tab-separated line
field() { printf '%s\n' "$2" | tr '\t' '\n' | sed -n "s/^$1=//p"; }
# flip_byte FILE OFFSET: inverts every bit of one byte in place
flip_byte() {
  local old new
  old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  new=$(printf '%02x' $((old ^ 0xff)))
  printf "\\x$new" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
file_size() { wc -c <"$1" | tr -d ' '; }

# ---- usage errors: exit 2, one line on stderr ----------------------------
L=$WORK/u.log
expect_exit 2 "unknown option" dump --bogus "$L"
check "unknown option: one line" one_error_line
expect_exit 2 "unknown option after the command" dump "$L" --frobnicate=1
expect_exit 2 "missing FILE" dump
check "missing FILE: one line" one_error_line
expect_exit 2 "bad --recovery value" dump --recovery sometimes "$L"
check "bad --recovery: one line" one_error_line
expect_exit 2 "bad --recovery= value" --recovery=never dump "$L"
expect_exit 2 "option without its value" dump "$L" --recovery
expect_exit 2 "bad hex digit" log append --hex "$L" 0g
check "bad hex: one line" one_error_line
expect_exit 2 "odd hex length" log append "$L" --hex abc
expect_exit 2 "malformed escape" log append "$L" 'a\qb'
expect_exit 2 "truncated \\x escape" log append "$L" 'a\x4'
expect_exit 2 "unknown command" frobnicate
expect_exit 2 "no command" --json
expect_exit 2 "option of another command" dump --limit 3 "$L"
expect_exit 2 "log append without records" log append "$L"
check "usage errors wrote nothing" test ! -e "$L"
expect_exit 0 "--help" --help
check "--help lists dump" grep -q 'strata dump FILE' "$WORK/out"
check "--help lists --recovery" grep -q -- '--recovery' "$WORK/out"
expect_exit 0 "help command" help
expect_exit 4 "repair of a missing database" repair "$WORK/db"
check "repair of a missing database: message" grep -q 'no such file' "$WORK/err"

# ---- options before and after the command word -------------------------------
L=$WORK/opts.log
expect_exit 0 "append" log append "$L" one two three
check "append prints the count" test "$OUT" = 3
run --json dump "$L"
BEFORE=$OUT
check "--json before: valid JSON" out_is_json
run dump "$L" --json
check "--json after: same output" test "$OUT" = "$BEFORE"
run dump --recovery=skip "$L"
A=$OUT
run --recovery skip dump "$L"
check "--recovery=skip and --recovery skip agree" test "$OUT" = "$A"
check "policy shown" test "$(field policy "$(grep '^summary' <<<"$OUT")")" = skip
run dump "$L"
check "default policy for *.log" test "$(field policy "$(grep '^summary' <<<"$OUT")")" = point-in-time
run dump -- "$L"
check "-- ends options" test "$RC" -eq 0

# ---- escaping round trip ----------------------------------------------------
L=$WORK/esc.log
# tab, newline, backslash, 0x00, 0xff, and a quote for the JSON layer
ESC='tab\there\nnl\\bs\x00nul\xffff"q'
expect_exit 0 "append escaped" log append "$L" "$ESC"
run dump "$L"
check "escaped form comes back" test "$(sed -n 2p "$WORK/out")" = "	data	$ESC"
check "record length is the decoded length" \
  test "$(field length "$(sed -n 1p "$WORK/out")")" = 23
run dump --hex "$L"
check "raw bytes are right" test "$(sed -n 2p "$WORK/out")" = \
  "	data	$(printf 'tab\there\nnl\\bs\0nul\377ff"q' | od -An -tx1 | tr -d ' \n')"
run dump --json "$L"
check "escaped JSON is valid" out_is_json
check "JSON holds the escaped form" test "$(json_get "j['records'][0]['data']")" = "$ESC"
# stdin, one record per line, is in the same text form: raw bytes stand for
# themselves (a raw tab included), a backslash starts an escape
printf 'a\tb\x01\x7f\\\\\n\n' >"$WORK/stdin"
L2=$WORK/esc2.log
run_in "$WORK/stdin" log append "$L2" -
check "stdin: two records" test "$OUT" = 2
run dump "$L2"
check "stdin: raw bytes escaped" test "$(sed -n 2p "$WORK/out")" = '	data	a\tb\x01\x7f\\'
check "stdin: empty line is an empty record" \
  test "$(field length "$(sed -n 3p "$WORK/out")")" = 0
# what dump prints can be appended again and comes back identical
run dump "$L"
AGAIN=$(sed -n 2p "$WORK/out" | cut -f3)
run log append "$WORK/esc3.log" "$AGAIN"
run dump "$WORK/esc3.log"
check "dump output re-appends to the same record" test "$(sed -n 2p "$WORK/out")" = "	data	$ESC"
# write batches
L=$WORK/batch.log
expect_exit 0 "append batches" log append --batch --sequence 7 "$L" 'k\t1' 'v\n1' k2 ''
run dump "$L"
check "batch record line" grep -q $'^record\toffset=0\t.*\tseq=7\tcount=1$' "$WORK/out"
check "batch op line" grep -qx $'\tput\tk\\\\t1\tv\\\\n1' "$WORK/out"
check "second batch has the next sequence" grep -q $'seq=8\tcount=1$' "$WORK/out"
printf 'user:1\tAlice\nuser:2\tBob\ttab\n' >"$WORK/stdin"
run_in "$WORK/stdin" log append --batch "$WORK/b2.log" -
check "batch stdin" test "$OUT" = 2
run dump "$WORK/b2.log"
check "batch stdin: value keeps a raw tab" grep -qx $'\tput\tuser:2\tBob\\\\ttab' "$WORK/out"
printf 'no tab here\n' >"$WORK/stdin"
run_in "$WORK/stdin" log append --batch "$WORK/b3.log" -
check "batch stdin without a tab: exit 2" test "$RC" -eq 2

# ---- hex round trip --------------------------------------------------------
L=$WORK/hex.log
expect_exit 0 "append hex" log append --hex "$L" 00ff0a5c09 ""
run --hex dump "$L"
check "hex comes back" test "$(sed -n 2p "$WORK/out")" = $'\tdata\t00ff0a5c09'
run dump "$L"
check "hex record escaped" test "$(sed -n 2p "$WORK/out")" = $'\tdata\t\\x00\\xff\\n\\\\\\t'
run dump --hex --json "$L"
check "hex JSON" test "$(json_get "j['records'][0]['data']")" = 00ff0a5c09
run log append --hex --batch "$WORK/hb.log" 6b 7676
run dump --hex "$WORK/hb.log"
check "hex batch" grep -qx $'\tput\t6b\t7676' "$WORK/out"

# ---- damage in the middle -------------------------------------------------
L=$WORK/big.log
VAL=$(head -c 1000 /dev/zero | tr '\0' v)
for i in $(seq 1 100); do printf 'record-%03d-%s\n' "$i" "$VAL"; done >"$WORK/stdin"
run_in "$WORK/stdin" log append "$L" -
check "append 100 records" test "$OUT" = 100
expect_exit 0 "verify clean" verify "$L"
check "verify clean: counts" grep -q '100 records intact, 0 damaged regions' "$WORK/out"
run dump "$L"
REC49=$(grep '^record' "$WORK/out" | sed -n 49p)
REC50=$(grep '^record' "$WORK/out" | sed -n 50p)
REC51=$(grep '^record' "$WORK/out" | sed -n 51p)
OFF50=$(field offset "$REC50")
LEN50=$(field length "$REC50")
OFF51=$(field offset "$REC51")
check "record 50 is one fragment" test "$(field fragments "$REC50")" = 1
SIZE=$(file_size "$L")
cp "$L" "$WORK/clean.log"
flip_byte "$L" $((OFF50 + 7 + LEN50 / 2))

expect_exit 1 "verify finds the damage" verify "$L"
check "verify: exactly one region" test "$(grep -c 'damage at offset' "$WORK/out")" -eq 1
check "verify: the region starts at record 50" grep -q "damage at offset $OFF50," "$WORK/out"
check "verify: summary" grep -q '99 records intact, 1 damaged region' "$WORK/out"
run verify --json "$L"
check "verify --json: valid" out_is_json
check "verify --json: not ok" test "$(json_get "j['ok']")" = False
check "verify --json: one region" test "$(json_get "len(j['damage'])")" = 1
check "verify --json: kind checksum" test "$(json_get "j['damage'][0]['kind']")" = checksum
check "verify --json: one record lost" test "$(json_get "j['damage'][0]['lost']['records']")" = 1

expect_exit 0 "dump --recovery skip" dump --recovery skip "$L"
check "skip: 99 records" test "$(grep -c '^record' "$WORK/out")" -eq 99
check "skip: one drop" test "$(grep -c '^drop' "$WORK/out")" -eq 1
DROP=$(grep '^drop' "$WORK/out")
DOFF=$(field offset "$DROP")
DBYTES=$(field bytes "$DROP")
check "skip: drop starts at the damaged record" test "$DOFF" -eq "$OFF50"
check "skip: drop covers the damaged record" test $((DOFF + DBYTES)) -ge $((OFF50 + 7 + LEN50))
check "skip: drop spares record 51" test $((DOFF + DBYTES)) -le "$OFF51"
check "skip: drop spares record 49" test "$DOFF" -gt "$(field offset "$REC49")"
check "skip: record 50 is gone" test "$(grep -c "^record	offset=$OFF50	" "$WORK/out")" -eq 0
check "skip: record 51 is kept" grep -q "^record	offset=$OFF51	" "$WORK/out"
check "skip: one warning line" one_error_line
check "skip: warning names the damage" grep -q "warning: .*big.log: dropped $DBYTES bytes in 1 place" "$WORK/err"
run dump --json --recovery skip "$L"
check "skip --json: valid" out_is_json
check "skip --json: 99 records" test "$(json_get "len(j['records'])")" = 99
check "skip --json: drop offset" test "$(json_get "j['drops'][0]['offset']")" = "$DOFF"

expect_exit 3 "absolute refuses" dump --recovery absolute "$L"
check "absolute: one stderr line" one_error_line
check "absolute: names the file" grep -q 'big.log' "$WORK/err"
check "absolute: names the offset" grep -q "offset $OFF50" "$WORK/err"
check "absolute: prints what was read" test "$(grep -c '^record' "$WORK/out")" -eq 49
run dump --recovery tolerate-tail "$L"
check "tolerate-tail refuses mid-file damage" test "$RC" -eq 3

expect_exit 0 "point-in-time" dump --recovery point-in-time "$L"
check "point-in-time: the prefix only" test "$(grep -c '^record' "$WORK/out")" -eq 49
check "point-in-time: one drop" test "$(grep -c '^drop' "$WORK/out")" -eq 1
DROP=$(grep '^drop' "$WORK/out")
check "point-in-time: drop from the damage" test "$(field offset "$DROP")" -eq "$OFF50"
check "point-in-time: drop to the end of the file" \
  test $(($(field offset "$DROP") + $(field bytes "$DROP"))) -eq "$SIZE"

# ---- a torn tail ---------------------------------------------------------------
L=$WORK/torn.log
cp "$WORK/clean.log" "$L"
run dump "$L"
LAST=$(grep '^record' "$WORK/out" | tail -n 1)
truncate -s $(($(field offset "$LAST") + 7 + $(field length "$LAST") / 2)) "$L"
expect_exit 1 "verify: a torn tail is damage" verify --json "$L"
check "torn tail: valid JSON" out_is_json
check "torn tail: one region" test "$(json_get "len(j['damage'])")" = 1
check "torn tail: kind torn-tail" test "$(json_get "j['damage'][0]['kind']")" = torn-tail
check "torn tail: at the last record" test "$(json_get "j['damage'][0]['offset']")" = "$(field offset "$LAST")"
expect_exit 0 "tolerate-tail drops a torn tail" dump --recovery tolerate-tail "$L"
check "tolerate-tail: 99 records" test "$(grep -c '^record' "$WORK/out")" -eq 99
expect_exit 3 "absolute refuses a torn tail" dump --recovery absolute "$L"

# ---- a directory ---------------------------------------------------------------
D=$WORK/dir
mkdir -p "$D"
cp "$WORK/clean.log" "$D/000001.log"
cp "$WORK/big.log" "$D/000002.log"
printf 'not a log' >"$D/notes.txt"
expect_exit 1 "verify a directory" verify "$D"
check "directory: both logs, one region" test "$(grep -c 'damage at offset' "$WORK/out")" -eq 1
check "directory: skips other files" test "$(grep -c 'notes.txt' "$WORK/out")" -eq 0
run verify --json "$D"
check "directory --json: two files" test "$(json_get "len(j['files'])")" = 2

# ---- missing files -------------------------------------------------------------
expect_exit 4 "dump a missing file" dump "$WORK/nope.log"
check "missing: one line" one_error_line
check "missing: says so" grep -q 'nope.log: no such file or directory' "$WORK/err"
expect_exit 4 "verify a missing path" verify "$WORK/nope"
check "verify missing: says so" grep -q 'nope: no such file or directory' "$WORK/err"
: >"$WORK/t.ldb"
expect_exit 1 "an empty table is damage" verify "$WORK/t.ldb"
check "empty table: names the footer" grep -q 'footer block' "$WORK/out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
