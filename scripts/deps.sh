#!/usr/bin/env bash
# scripts/deps.sh GROUP... — make sure the Debian packages a make target needs
# are installed. As root it installs what is missing with apt-get; otherwise it
# names the missing packages and exits 1. Called by the Makefile; safe to rerun.
#   build  compilers and cmake (make, make demo), libsnappy-dev and
#          libzstd-dev (table compression; libstrata links them)
#   test   + libleveldb-dev (compatibility tests), rocksdb-tools (sst_dump)
#   fuzz   + clang and its libFuzzer runtime
#   torture  gnuplot (the chart of docs/RELIABILITY.md, make torture)
#   bench  + the engines the benchmarks compare against (LevelDB, RocksDB,
#          LMDB, SQLite) and gnuplot for bench/results.png
set -euo pipefail

declare -A GROUP=(
  [build]="gcc make cmake pkg-config libsnappy-dev libzstd-dev"
  [test]="gcc make cmake pkg-config libleveldb-dev libsnappy-dev libzstd-dev rocksdb-tools"
  [fuzz]="clang libclang-rt-14-dev"
  [torture]="gnuplot-nox"
  [bench]="libleveldb-dev libsnappy-dev librocksdb-dev liblmdb-dev libsqlite3-dev gnuplot-nox"
)

want=()
for g in "${@:-build}"; do
  [[ -n "${GROUP[$g]+x}" ]] || { echo "deps.sh: unknown group '$g'" >&2; exit 2; }
  for p in ${GROUP[$g]}; do want+=("$p"); done
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  exit 0
fi
echo "strata needs these Debian packages: ${missing[*]}" >&2
echo "install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
