#!/usr/bin/env bash
# scripts/demo.sh BIN — strata's damage story on an embedded sample log
# (`make demo` runs it with build/strata).
#
# In a fresh demo/ directory under the repository root it writes a record log
# of 200 write batches (keys user:0001..user:0200, ~1 KiB of generated text
# each: the embedded default), flips one byte in the middle of it, and shows
# what `strata verify` reports, what `strata dump --recovery skip` recovers,
# and what `--recovery point-in-time` would have kept instead. Every number
# printed is computed from the tool's output. Exits 0 when the story went as
# it should (verify found the damage; skip kept every record but the damaged
# one(s)), non-zero otherwise.
set -u -o pipefail

if [ $# -ne 1 ]; then
  echo "usage: scripts/demo.sh path/to/strata" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
if [ ! -x "$BIN" ]; then
  echo "demo: $1 is not an executable (run make first)" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

RECORDS=200
LOG=demo/sample.log
rm -rf demo
mkdir demo

die() {
  echo "demo: FAILED: $*" >&2
  exit 1
}
say() { printf '%s\n' "$*"; }
# shows a command line as the user would type it
show() { printf '\n$ strata %s\n' "$*"; }
field() { printf '%s\n' "$2" | tr '\t' '\n' | sed -n "s/^$1=//p"; }
# dump output with each value cut to 48 characters
shorten() { awk -F'\t' -v OFS='\t' '$2 == "put" && length($4) > 48 { $4 = substr($4, 1, 48) "..." } { print }'; }

# ---- 1. the embedded default: 200 users with ~1 KiB of readable text ----------
awk -v n="$RECORDS" 'BEGIN {
  srand(20240601)
  split("amber basalt cedar delta ember fjord granite harbor island juniper " \
        "kestrel lantern meadow nectar orchard pebble quarry river saffron " \
        "timber umber valley willow yarrow zephyr", w, " ")
  for (i = 1; i <= n; i++) {
    v = sprintf("Profile of user %04d:", i)
    while (length(v) < 1000) v = v " " w[int(rand() * 26) + 1]
    printf "user:%04d\t%s.\n", i, v
  }
}' >demo/sample.tsv

say "strata demo: one flipped byte in a ${RECORDS}-record log"
say "================================================"
say "Writing $RECORDS write batches (user:0001..user:$(printf %04d $RECORDS), ~1 KiB of text each) to $LOG:"
show "log append --batch $LOG - < demo/sample.tsv"
written=$("$BIN" log append --batch "$LOG" - <demo/sample.tsv) || die "log append failed"
say "$written"
[ "$written" = "$RECORDS" ] || die "wrote $written records, expected $RECORDS"
size=$(wc -c <"$LOG" | tr -d ' ')
say "The log holds $written records in $size bytes (32 KiB blocks of checksummed fragments)."

"$BIN" verify "$LOG" >/dev/null || die "the fresh log does not verify clean"

# ---- 2. damage: flip one byte in the middle of the middle record ----------------
"$BIN" dump "$LOG" >demo/clean.dump || die "dump of the clean log failed"
mid=$((RECORDS / 2 + 1))
# the middle record, or the next one if the middle one spans two blocks
target=$(awk -F'\t' -v m="$mid" '$1 == "record" { n++; if (n >= m && $4 == "fragments=1") { print; exit } }' demo/clean.dump)
[ -n "$target" ] || die "no single-fragment record found after record $mid"
t_off=$(field offset "$target")
t_len=$(field length "$target")
t_key=$(grep -A1 -F "$target" demo/clean.dump | sed -n '2p' | cut -f3)
flip=$((t_off + 7 + t_len / 2))
old=$(od -An -tu1 -j "$flip" -N1 "$LOG" | tr -d ' ')
new=$((old ^ 0x20))
printf "\\x$(printf %02x $new)" | dd of="$LOG" bs=1 seek="$flip" conv=notrunc 2>/dev/null
say ""
say "Damage: byte $flip changed from 0x$(printf %02x "$old") to 0x$(printf %02x $new), inside the record of $t_key"
say "(its fragment occupies bytes $t_off..$((t_off + 7 + t_len - 1)))."

# ---- 3. verify finds it ----------------------------------------------------------
show "verify $LOG"
"$BIN" verify "$LOG" >demo/verify.out 2>demo/verify.err
vrc=$?
cat demo/verify.out demo/verify.err
say "(exit status $vrc: 1 means damage was found)"
[ "$vrc" -eq 1 ] || die "verify exited $vrc, expected 1"
regions=$(grep -c ': damage at offset ' demo/verify.out)
[ "$regions" -ge 1 ] || die "verify reported no damaged region"
lost=$(sed -n 's/.* \([0-9][0-9]*\) records\{0,1\} known lost: .*/\1/p' demo/verify.out |
  awk '{ s += $1 } END { print s + 0 }')
r_off=$(sed -n 's/.*: damage at offset \([0-9]*\),.*/\1/p' demo/verify.out | head -n 1)
[ "$r_off" -le "$flip" ] || die "the reported region starts after the flipped byte"

# ---- 4. skip recovers everything else --------------------------------------------
show "dump --recovery skip $LOG     (the records around the damage, the drop, the summary)"
"$BIN" dump --recovery skip "$LOG" >demo/skip.dump 2>demo/skip.err
src=$?
[ "$src" -eq 0 ] || die "dump --recovery skip exited $src"
# the last record before the dropped region and the first after it, each
# with its operation line
around() {
  awk -F'\t' -v d="$r_off" -v want="$1" '
    $1 == "record" { split($2, a, "="); cur = a[2] + 0; rec = $0; op = 1; next }
    op && /^\t/ {
      op = 0
      if (cur < d) before = rec "\n" $0
      else if (after == "") after = rec "\n" $0
    }
    END { print (want == "before" ? before : after) }
  ' demo/skip.dump | shorten
}
around before
grep '^drop' demo/skip.dump
around after
grep '^summary' demo/skip.dump
cat demo/skip.err
kept=$(grep -c '^record' demo/skip.dump)
cut -f1 demo/sample.tsv | sort >demo/keys.written
awk -F'\t' '$2 == "put" { print $3 }' demo/skip.dump | sort >demo/keys.kept
missing=$(comm -23 demo/keys.written demo/keys.kept | tr '\n' ' ')
say ""
say "Written: $written records. Kept under skip: $kept. Lost: $((written - kept)) (${missing% })."

# ---- 5. for contrast: point-in-time ------------------------------------------------
show "dump --recovery point-in-time $LOG     (the default for *.log)"
"$BIN" dump --recovery point-in-time "$LOG" >demo/pit.dump 2>demo/pit.err
prc=$?
grep '^drop' demo/pit.dump
grep '^summary' demo/pit.dump
cat demo/pit.err
pit=$(grep -c '^record' demo/pit.dump)
say ""
say "point-in-time keeps only the consistent prefix: $pit of $written records;"
say "skip keeps $kept of $written, losing only what the flipped byte touched."

# ---- the story must have gone as told ---------------------------------------------
[ "$prc" -eq 0 ] || die "dump --recovery point-in-time exited $prc"
case " $missing " in *" $t_key "*) ;; *) die "the damaged record $t_key was not dropped" ;; esac
[ "$((written - kept))" -eq "$lost" ] ||
  die "skip lost $((written - kept)) records but verify reported $lost"
[ "$((written - kept))" -le 2 ] || die "skip lost $((written - kept)) records for one flipped byte"
[ "$pit" -lt "$kept" ] || die "point-in-time kept $pit, not fewer than skip's $kept"
say ""
say "demo: OK (files in demo/)"
