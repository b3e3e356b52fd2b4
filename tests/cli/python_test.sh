#!/usr/bin/env bash
# python_test.sh — the Python binding's tests (python/tests/test_*.py) with
# Debian's python3 -m unittest, against this build's libstrata.so and tool.
# In a sanitizer build the ASan runtime must be loaded first: it is
# preloaded (leak detection off: the interpreter itself keeps memory).
#
# Environment (set by ctest): STRATA_BIN, STRATA_LIB (build/libstrata.so),
# STRATA_SOURCE, STRATA_TMP, STRATA_TEST_CFLAGS.
set -u
SRC=${STRATA_SOURCE:?STRATA_SOURCE must name the source tree}
export STRATA_LIB=${STRATA_LIB:?STRATA_LIB must name libstrata.so}
export STRATA_BIN=${STRATA_BIN:?STRATA_BIN must name the strata binary}
export STRATA_TMP=${STRATA_TMP:-/tmp}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
case "${STRATA_TEST_CFLAGS:-}" in
*address*)
  export LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
  export ASAN_OPTIONS=detect_leaks=0
  ;;
esac
cd "$SRC/python" && exec "$PY" -m unittest discover -s tests -v
