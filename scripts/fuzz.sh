#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR SECONDS — runs every libFuzzer binary
# BUILD_DIR/*_fuzz for SECONDS each (called by `make fuzz`).
#
# Each target <name>_fuzz starts from fuzz/corpus/<name>/, copied to a temp
# directory that serves as the working corpus, so new inputs stay out of the
# repository. Set FUZZ_SAVE_CORPUS=1 to merge the new inputs that add coverage
# back into fuzz/corpus/<name>/ (libFuzzer -merge=1). Crash inputs are kept in
# BUILD_DIR/fuzz-artifacts/<name>/. Extra libFuzzer flags: FUZZ_FLAGS.
# Prints one line per target; exits 1 if any target failed.
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
targets=("$build"/*_fuzz)
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no *_fuzz binaries in $build (configure with -DSTRATA_FUZZ=ON, CC=clang)" >&2
  exit 2
fi

failed=0
for bin in "${targets[@]}"; do
  [[ -x $bin && -f $bin ]] || continue
  target=$(basename "$bin")
  name=${target%_fuzz}
  seeds=$root/fuzz/corpus/$name
  corpus=$work/$name
  artifacts=$build/fuzz-artifacts/$name
  mkdir -p "$corpus" "$artifacts"
  [[ -d $seeds ]] && cp -- "$seeds"/* "$corpus"/ 2>/dev/null
  before=$(find "$corpus" -type f | wc -l)
  log=$work/$name.log
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
  rc=$?
  after=$(find "$corpus" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
  if [[ $rc -eq 0 ]]; then
    printf '%-20s ok      %ss, %s runs, coverage %s, corpus %d -> %d files\n' \
      "$name" "$seconds" "${execs:-?}" "${cov:-?}" "$before" "$after"
  else
    failed=1
    crash=$(grep -o 'Test unit written to .*' "$log" | tail -1 | sed 's/Test unit written to //')
    printf '%-20s FAILED  exit %d after %s runs; input: %s; log: %s\n' \
      "$name" "$rc" "${execs:-?}" "${crash:-none}" "$artifacts/fuzz.log"
    cp -- "$log" "$artifacts/fuzz.log"
  fi
  if [[ ${FUZZ_SAVE_CORPUS:-0} == 1 && -d $seeds ]]; then
    "$bin" -merge=1 "$seeds" "$corpus" >/dev/null 2>&1 &&
      echo "$name: merged new inputs into fuzz/corpus/$name/"
  fi
done
exit $failed
