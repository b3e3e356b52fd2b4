#!/usr/bin/env bash
# api_doc_test.sh — docs/API.md documents every function of include/strata.h
# and is what scripts/gen_api_doc.py writes from the current header (so a
# changed comment or declaration must be regenerated). Also checks that the
# check itself fails for a header with an undocumented function.
#
# Environment (set by ctest): STRATA_SOURCE, STRATA_TMP. Prints
# "N passed, N failed"; exits non-zero if any check failed.
set -u

SRC=${STRATA_SOURCE:?STRATA_SOURCE must name the source tree}
TMP=${STRATA_TMP:-/tmp}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/api_doc.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
GEN=$SRC/scripts/gen_api_doc.py

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}

if python3 "$GEN" --check >"$WORK/out" 2>&1; then pass; else
  fail "docs/API.md: $(cat "$WORK/out")"
fi
cat "$WORK/out"

# every function name the header declares, found with grep alone
n=0
for f in $(sed 's|/\*.*\*/||' "$SRC/include/strata.h" |
  grep -v '^typedef' | grep -o '\bstrata_[a-z0-9_]*(' | tr -d '(' | sort -u); do
  n=$((n + 1))
  if grep -q "^### .*\`$f\`" "$SRC/docs/API.md"; then pass; else
    fail "docs/API.md has no entry for $f"
  fi
done
if [ "$n" -ge 50 ]; then pass; else fail "only $n functions found in strata.h"; fi

# the check fails for an undocumented function...
sed 's|^int strata_db_verify(|int strata_undocumented(void);\nint strata_db_verify(|' \
  "$SRC/include/strata.h" >"$WORK/strata.h"
if python3 "$GEN" --check "$WORK/strata.h" "$SRC/docs/API.md" \
  >"$WORK/out" 2>&1; then
  fail "--check passed a header with an undocumented function"
elif grep -q "no entry for strata_undocumented" "$WORK/out"; then pass; else
  fail "--check did not name the undocumented function: $(cat "$WORK/out")"
fi
# ...and for a changed comment
sed 's|Fills in the defaults above.|Fills in defaults.|' \
  "$SRC/include/strata.h" >"$WORK/strata.h"
if python3 "$GEN" --check "$WORK/strata.h" "$SRC/docs/API.md" \
  >/dev/null 2>&1; then
  fail "--check passed a header whose comments changed"
else pass; fi

echo "$passed passed, $failed failed ($n functions)"
[ "$failed" -eq 0 ]
