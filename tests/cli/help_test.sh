#!/usr/bin/env bash
# help_test.sh — every command of SPEC §3 (and every command `strata --help`
# lists) has a help text: `strata help COMMAND` and `strata COMMAND --help`
# print the same usage line, summary and long help; man/strata.1 has a
# section titled with that same usage line, and no section for a command the
# tool does not have; the man page renders without warnings.
#
# Environment (set by ctest): STRATA_BIN, STRATA_SOURCE, STRATA_TMP. Prints
# "N passed, N failed"; exits non-zero if any check failed.
set -u

BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
SRC=${STRATA_SOURCE:?STRATA_SOURCE must name the source tree}
TMP=${STRATA_TMP:-/tmp}
MAN=$SRC/man/strata.1
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/help.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}

# SPEC §3's commands, plus whatever else the tool lists.
spec="put get del load scan verify dump repair compact stats wal bench"
listed=$("$BIN" --help | sed -n 's/^  strata \([a-z]*\).*/\1/p')
commands=$(printf '%s\n' $spec $listed | awk '!seen[$0]++')
for c in $spec; do
  if printf '%s\n' $listed | grep -qx "$c"; then pass; else
    fail "strata --help does not list SPEC command '$c'"
  fi
done

for c in $commands; do
  "$BIN" help "$c" >"$WORK/help" 2>"$WORK/err"
  rc=$?
  if [ $rc -ne 0 ]; then
    fail "strata help $c: exit $rc ($(cat "$WORK/err"))"
    continue
  fi
  usage=$(head -n 1 "$WORK/help")
  case "$usage" in
  "usage: strata $c"*) pass ;;
  *) fail "strata help $c: first line '$usage'" ;;
  esac
  # a usage line, a summary, a blank line and at least one line of detail
  if [ "$(wc -l <"$WORK/help")" -ge 4 ] && [ -n "$(sed -n 4p "$WORK/help")" ]
  then pass; else fail "strata help $c: no long help"; fi
  if "$BIN" "$c" --help >"$WORK/help2" 2>&1 && cmp -s "$WORK/help" "$WORK/help2"
  then pass; else fail "strata $c --help differs from strata help $c"; fi
  # the man page's section title is the usage line, '-' written '\-'
  title=".SS \"strata ${usage#usage: strata }\""
  title=${title//-/\\-}
  if grep -qxF -- "$title" "$MAN"; then pass; else
    fail "man/strata.1 has no section $title"
  fi
done

# no man section for a command the tool does not know
while IFS= read -r word; do
  if printf '%s\n' $commands | grep -qx "$word"; then pass; else
    fail "man/strata.1 documents unknown command '$word'"
  fi
done < <(sed -n 's/^\.SS "strata \([a-z]*\).*/\1/p' "$MAN")

# every option the tool knows appears in the man page
for opt in $("$BIN" --help | grep -o -- '--[a-z-]*' | sort -u); do
  if grep -qF -- "${opt//-/\\-}" "$MAN"; then pass; else
    fail "man/strata.1 does not mention $opt"
  fi
done

# exit statuses 0..4 each have an entry in EXIT STATUS
for s in 0 1 2 3 4; do
  if sed -n '/^\.SH "EXIT STATUS"/,/^\.SH /p' "$MAN" | grep -qx "\.B $s"; then
    pass
  else fail "man/strata.1: no exit status $s"; fi
done

"$BIN" help no-such-command >/dev/null 2>"$WORK/err"
if [ $? -eq 2 ] && grep -q "unknown command" "$WORK/err"; then pass; else
  fail "strata help no-such-command: want exit 2 and a message"
fi

if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$MAN" >/dev/null 2>"$WORK/warn"
  if [ $? -eq 0 ] && [ ! -s "$WORK/warn" ]; then pass; else
    fail "man --warnings: $(head -c 1000 "$WORK/warn")"
  fi
else
  echo "note: man not installed; rendering not checked"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
