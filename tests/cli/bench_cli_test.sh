#!/usr/bin/env bash
# bench_cli_test.sh — `strata bench`: every default workload prints its
# db_bench line (name : ops/s; MB/s; micros/op), the database left behind
# holds the keys the workloads wrote, both engines find the same keys for the
# same workloads, bitcask skips the ordered workloads and says so, --json,
# and the usage errors (unknown workload, --engine wal, a directory that is
# not a database).
#
# Environment (set by ctest): STRATA_BIN, STRATA_TMP. Prints "N passed,
# N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/bench_cli.XXXXXX") || exit 1
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
line_ok() { # line_ok NAME: OUT has NAME's db_bench line with a positive rate
  if grep -Eq "^$1 +: +[0-9]+ ops/s; +[0-9]+\.[0-9] MB/s; +[0-9]+\.[0-9]{3} micros/op" <<<"$OUT" &&
    ! grep -Eq "^$1 +: +0 ops/s" <<<"$OUT"; then pass; else
    fail "no db_bench line for $1 in: $OUT"
  fi
}
found_of() { # the N of "(N of M found)" on workload $1's line
  grep -E "^$1 " <<<"$OUT" | sed -nE 's/.*\(([0-9]+) of [0-9]+ found\).*/\1/p'
}

# ---- lsm, the default workloads ----------------------------------------
expect 0 "bench lsm" bench --num 2000 --db "$WORK/lsm"
for w in fillseq fillsync fillrandom overwrite readrandom readseq readreverse deleterandom; do
  line_ok "$w"
done
same "lines" "$(grep -c ' : ' <<<"$OUT")" 8
n=$(found_of readrandom)
if [ -n "$n" ] && [ "$n" -gt 1000 ] && [ "$n" -lt 2000 ]; then pass; else
  fail "readrandom after fillrandom+overwrite found '$n' of 2000 (want ~86%)"
fi

# ---- the database afterwards holds the keys ----------------------------
expect 0 "bench fillseq" bench fillseq --num 1000 --db "$WORK/lsm"
# read back through the engine: every key of fillseq is found
expect 0 "bench readrandom" bench readrandom --num 1000 --db "$WORK/lsm"
same "found after fillseq" "$(found_of readrandom)" 1000
expect 0 "bench readrandom 2000" bench readrandom --num 2000 --db "$WORK/lsm"
n=$(found_of readrandom)
if [ -n "$n" ] && [ "$n" -gt 700 ] && [ "$n" -lt 1300 ]; then pass; else
  fail "keys 0..999 of 0..1999 found '$n' times of 2000 (want ~1000)"
fi
# and through the tool's own commands, once they handle lsm databases
run get "$WORK/lsm" 0000000000000000
if [ "$RC" -eq 4 ] && grep -q "not available yet" <<<"$ERR"; then
  echo "note: strata get/scan on lsm not available yet; checked by readrandom"
else
  expect 0 "get first" get "$WORK/lsm" 0000000000000000
  same "value length" "${#OUT}" 100
  expect 0 "get last" get "$WORK/lsm" 0000000000000999
  expect 1 "get beyond" get "$WORK/lsm" 0000000000001000
  expect 0 "scan" scan "$WORK/lsm"
  same "scan count" "$(wc -l <"$WORK/out")" 1000
  same "scan first" "$(head -1 "$WORK/out" | cut -f1)" 0000000000000000
fi

# ---- bitcask: same keys found, ordered workloads skipped ---------------
expect 0 "lsm fillrandom" bench fillrandom,readrandom --num 3000 --db "$WORK/lsm2"
lsm_found=$(found_of readrandom)
expect 0 "bitcask" bench --engine bitcask fillrandom readrandom readseq --num 3000 --db "$WORK/bc"
line_ok fillrandom
line_ok readrandom
same "bitcask found = lsm found" "$(found_of readrandom)" "$lsm_found"
if grep -q "^readseq .*skipped.*no key order" <<<"$OUT"; then pass; else
  fail "bitcask readseq not reported skipped: $OUT"
fi
expect 0 "bitcask fillseq" bench --engine bitcask fillseq --num 500 --db "$WORK/bc"
expect 0 "bitcask get" get "$WORK/bc" 0000000000000499
same "bitcask value length" "${#OUT}" 100
expect 1 "bitcask get beyond" get "$WORK/bc" 0000000000000500

# ---- --json -------------------------------------------------------------
expect 0 "json" bench --json fillseq --num 100 --db "$WORK/lsm"
if grep -q '^{"engine":"strata-lsm","num":100,.*"workloads":\[{"name":"fillseq","skipped":false,"ops":100,' <<<"$OUT"; then pass; else
  fail "json: $OUT"
fi

# ---- usage errors --------------------------------------------------------
expect 2 "unknown workload" bench nosuch --num 10 --db "$WORK/lsm"
expect 2 "engine wal" bench --engine wal --num 10 --db "$WORK/w"
mkdir -p "$WORK/precious" && echo keep >"$WORK/precious/file"
expect 2 "not a database" bench fillseq --num 10 --db "$WORK/precious"
same "left alone" "$(cat "$WORK/precious/file")" keep
expect 2 "num 0" bench --num 0 --db "$WORK/lsm"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
