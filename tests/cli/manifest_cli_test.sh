#!/usr/bin/env bash
# manifest_cli_test.sh — `strata dump` and `strata verify` on MANIFEST files:
# the fields of every record (text, --json, --hex, escaping) of a MANIFEST
# made of records real LevelDB 1.23 wrote (hex below, taken from a LevelDB
# database built as tests/compat/leveldb_manifest_test.c builds one; `strata
# log append --hex` writes them into a record log), and a record that passes its checksum but is not an
# edit: verify reports it as bad-record, dump shows the fields before the
# damage and the error.
#
# Environment (set by ctest): STRATA_BIN (the tool), STRATA_TMP (scratch
# directory), STRATA_SOURCE (repository root). Prints "N passed, N failed";
# exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/manifest_cli.XXXXXX") || exit 1
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
out_is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$WORK/out"; }
json_get() {
  python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" <"$WORK/out"
}
flip_byte() {
  local old new
  old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  new=$(printf '%02x' $((old ^ 0xff)))
  printf "\\x$new" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# Records of a real LevelDB 1.23 MANIFEST: the snapshot that opens it, an
# edit of log numbers, a flush, and a compaction (pointers, deletions).
SNAPSHOT=011a6c6576656c64622e4279746577697365436f6d70617261746f720500116b657930303539393901c02b00000000000501116b657930303539393901c02b000000000007023da3b606116b65793030303030320103000000000000116b657930303539393901c02b0000000000
LOGEDIT=023f09000340048859
FLUSH=02400900034204e15e070141fe3e116b657930303230303001892c0000000000116b6579303032343335013c2e0000000000
COMPACTION=02520900035504f0790500116b657930303539393901283c000000000006005306014106014306014506014706014906014b06014d06014f06015107015492c204116b657930303030303200293c0000000000116b657930303539393901283c0000000000
# tag 8 after a log number: checksummed, but not an edit
BAD=024008014100
# a new file whose user keys need escaping: "a\tb\xff" and "z\n"
ESCAPED=070001020c610962ff01010000000000000a7a0a0002000000000000

M=$WORK/MANIFEST-000005
expect_exit 0 "write the MANIFEST" log append --hex "$M" "$SNAPSHOT" "$LOGEDIT" "$FLUSH" "$COMPACTION"

# ---- dump, text ----------------------------------------------------------
expect_exit 0 "dump" dump "$M"
has() { printf '%s\n' "$OUT" | grep -qxF -- "$1"; }
T=$(printf '\t')
check "record line" has "record${T}offset=133${T}length=50${T}fragments=1"
check "comparator" has "${T}comparator${T}leveldb.BytewiseComparator"
check "compact pointer" has "${T}compact-pointer${T}level 0 'key005999'@11200 put"
check "log number" has "${T}log-number${T}64"
check "prev log number" has "${T}prev-log-number${T}0"
check "next file" has "${T}next-file${T}66"
check "last sequence" has "${T}last-sequence${T}12129"
check "new file" has "${T}new-file${T}level 1 #65 8062 bytes ['key002000'@11401 put .. 'key002435'@11836 put]"
check "deleted file" has "${T}deleted-file${T}level 1 #65"
check "no bad record" test "$(printf '%s\n' "$OUT" | grep -c bad-record)" -eq 0
check "fields in record order" test "$(printf '%s\n' "$OUT" | sed -n '/offset=133/,/new-file/p' | cut -f2 | tr '\n' ,)" = "offset=133,log-number,prev-log-number,next-file,last-sequence,new-file,"
check "four records" test "$(printf '%s\n' "$OUT" | grep -c '^record')" -eq 4
# the compaction record's ten deletions
check "deletions" test "$(printf '%s\n' "$OUT" | grep -c "${T}deleted-file${T}")" -eq 10

# ---- dump --json -----------------------------------------------------------
expect_exit 0 "dump --json" dump --json "$M"
check "json valid" out_is_json
check "json records" test "$(json_get 'len(j["records"])')" = 4
check "json offset" test "$(json_get 'j["records"][2]["offset"]')" = 133
check "json new file" test "$(json_get 'j["records"][2]["fields"][4]')" = "{'tag': 7, 'name': 'new-file', 'level': 1, 'number': 65, 'size': 8062, 'smallest': {'key': 'key002000', 'sequence': 11401, 'type': 'put'}, 'largest': {'key': 'key002435', 'sequence': 11836, 'type': 'put'}}"
check "json comparator" test "$(json_get 'j["records"][0]["fields"][0]["comparator"]')" = leveldb.BytewiseComparator
check "json last sequence" test "$(json_get 'j["records"][1]["fields"][3]')" = "{'tag': 4, 'name': 'last-sequence', 'sequence': 11400}"
check "json no drops" test "$(json_get 'j["drops"]')" = "[]"

# ---- verify: clean ---------------------------------------------------------
expect_exit 0 "verify clean" verify "$M"
check "verify counts records" grep -q '4 records intact, 0 damaged regions' "$WORK/out"

# ---- escaping and --hex ---------------------------------------------------
E=$WORK/MANIFEST-000009
expect_exit 0 "write escaped" log append --hex "$E" "$ESCAPED"
expect_exit 0 "dump escaped" dump "$E"
check "escaped keys" has "${T}new-file${T}level 0 #1 2 bytes ['a\\tb\\xff'@1 put .. 'z\\n'@2 del]"
expect_exit 0 "dump --hex" dump --hex "$E"
check "hex keys" has "${T}new-file${T}level 0 #1 2 bytes ['610962ff'@1 put .. '7a0a'@2 del]"
expect_exit 0 "dump --json escaped" dump --json "$E"
check "json escaped key" test "$(json_get 'j["records"][0]["fields"][0]["smallest"]["key"]')" = 'a\tb\xff'

# ---- a record that is not an edit -------------------------------------------
B=$WORK/MANIFEST-000011
expect_exit 0 "write bad" log append --hex "$B" "$LOGEDIT" "$BAD" "$FLUSH"
expect_exit 1 "verify bad record" verify "$B"
check "bad-record named" grep -q 'damage at offset 16, 13 bytes: bad-record, 1 record known lost: .*obsolete tag 8 (large value refs) at offset 2' "$WORK/out"
check "others intact" grep -q '2 records intact, 1 damaged region' "$WORK/out"
expect_exit 1 "verify --json bad record" verify --json "$B"
check "json bad-record" test "$(json_get '[(d["kind"], d["offset"], d["bytes"], d["tail"]) for d in j["damage"]]')" = "[('bad-record', 16, 13, False)]"
# a bad record at the very end is a tail region
BT=$WORK/MANIFEST-000012
expect_exit 0 "write bad tail" log append --hex "$BT" "$LOGEDIT" "$BAD"
expect_exit 1 "verify --json bad tail" verify --json "$BT"
check "json bad-record tail" test "$(json_get '[(d["kind"], d["offset"], d["tail"]) for d in j["damage"]]')" = "[('bad-record', 16, True)]"
expect_exit 0 "dump bad record" dump "$B"
check "dump: fields before the damage" test "$(printf '%s\n' "$OUT" | sed -n '/offset=16/,/^record/p' | cut -f2 | tr '\n' ,)" = "offset=16,log-number,bad-record,data,offset=29,"
# (debug builds append " [file:line]" to the message)
check "dump: the error" grep -qF "${T}bad-record${T}MANIFEST record: obsolete tag 8 (large value refs) at offset 2" "$WORK/out"
expect_exit 0 "dump --json bad record" dump --json "$B"
check "json error" test "$(json_get '("error" in j["records"][1], j["records"][1]["fields"][0]["number"], len(j["records"][2]["fields"]))')" = "(True, 64, 5)"

# ---- a checksum failure is still the log's damage ---------------------------
C=$WORK/MANIFEST-000013
cp "$M" "$C"
flip_byte "$C" 150
expect_exit 1 "verify flipped" verify "$C"
check "checksum damage" grep -q 'checksum' "$WORK/out"

# ---- a directory: its MANIFEST is checked too --------------------------------
D=$WORK/db
mkdir -p "$D"
cp "$B" "$D/MANIFEST-000011"
printf 'MANIFEST-000011\n' >"$D/CURRENT"
expect_exit 1 "verify dir with bad manifest" verify "$D"
check "dir names bad-record" grep -q 'MANIFEST-000011: damage at offset 16, 13 bytes: bad-record' "$WORK/out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
