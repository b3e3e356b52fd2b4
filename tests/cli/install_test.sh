#!/usr/bin/env bash
# install_test.sh — the installed library as a new user meets it: installs the
# build into a temporary prefix (cmake --install, what `make install` runs),
# checks the files and the shared library's soname, then compiles every
# examples/*.c against the installed copy with
# `pkg-config --cflags --libs strata` (shared: run with LD_LIBRARY_PATH) and
# `pkg-config --static --libs strata` (the archive), and runs each one;
# then uninstalls (scripts/uninstall.sh, as `make uninstall`).
#
# Environment (set by ctest): STRATA_BUILD (the build directory),
# STRATA_SOURCE, STRATA_TMP, STRATA_TEST_CFLAGS (sanitizer flags the library
# was built with). Prints "N passed, N failed"; exits non-zero on a failure.
set -u

BUILD=${STRATA_BUILD:?STRATA_BUILD must name the build directory}
SRC=${STRATA_SOURCE:?STRATA_SOURCE must name the source tree}
TMP=${STRATA_TMP:-/tmp}
CFLAGS_EXTRA=${STRATA_TEST_CFLAGS:-}
CC=${CC:-cc}
mkdir -p "$TMP"
WORK=$(mktemp -d "$TMP/install.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
P=$WORK/prefix

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failed=$((failed + 1))
}
check() { # check NAME COMMAND...
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then pass; else
    fail "$name: $(head -c 2000 "$WORK/out")"
  fi
}

# The install writes build/install_manifest_Unspecified.txt, leaving the
# manifest of a real `make install` alone.
check "cmake --install" cmake --install "$BUILD" --prefix "$P" \
  --component Unspecified

for f in lib/libstrata.a lib/libstrata.so include/strata.h bin/strata \
  lib/pkgconfig/strata.pc share/man/man1/strata.1; do
  if [ -e "$P/$f" ]; then pass; else fail "not installed: $f"; fi
done
soname=$(readelf -d "$P/lib/libstrata.so" 2>/dev/null |
  sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
ver=$(sed -n 's/^project(strata VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
if [ "$soname" == "libstrata.so.${ver%%.*}" ] && [ -f "$P/lib/$soname" ] &&
  [ -f "$P/lib/libstrata.so.$ver" ]; then pass; else
  fail "soname '$soname' (version $ver) or its links missing"
fi
out=$("$P/bin/strata" --version 2>&1)
if [ "$out" == "strata $ver" ]; then pass; else fail "strata --version: $out"; fi

export PKG_CONFIG_PATH=$P/lib/pkgconfig
if [ "$(pkg-config --modversion strata 2>&1)" == "$ver" ]; then pass; else
  fail "pkg-config --modversion: $(pkg-config --modversion strata 2>&1)"
fi
shared_flags=$(pkg-config --cflags --libs strata) || fail "pkg-config --libs"
static_flags=$(pkg-config --cflags --static --libs strata) ||
  fail "pkg-config --static"
case "$static_flags" in
*-lsnappy*-lzstd*-pthread*) pass ;;
*) fail "pkg-config --static lacks the private libraries: $static_flags" ;;
esac
# Both libraries sit in one directory, where the linker prefers the shared
# one: name the archive explicitly for the static link.
static_flags=${static_flags/-lstrata/-l:libstrata.a}

n=0
for src in "$SRC"/examples/*.c; do
  name=$(basename "$src" .c)
  # the LSM examples need the LSM engine in the library
  if grep -q 'strata_db_open' "$src" && ! nm -D "$P/lib/libstrata.so" |
    grep -q ' T strata_db_open$'; then
    continue
  fi
  n=$((n + 1))
  # shellcheck disable=SC2086
  check "$name: shared build" $CC $CFLAGS_EXTRA -Wall -Werror -o \
    "$WORK/$name.shared" "$src" $shared_flags
  # shellcheck disable=SC2086
  check "$name: static build" $CC $CFLAGS_EXTRA -Wall -Werror -o \
    "$WORK/$name.static" "$src" $static_flags
  if ldd "$WORK/$name.shared" | grep -q "libstrata.so.${ver%%.*} => $P/lib/" ||
    LD_LIBRARY_PATH=$P/lib ldd "$WORK/$name.shared" |
    grep -q "libstrata.so.${ver%%.*} => $P/lib/"; then pass; else
    fail "$name: shared build does not load $P/lib/libstrata.so"
  fi
  if ldd "$WORK/$name.static" | grep -q libstrata; then
    fail "$name: static build still needs libstrata.so"
  else pass; fi
  for kind in shared static; do
    mkdir -p "$WORK/run-$name-$kind"
    check "$name: $kind run" env LD_LIBRARY_PATH="$P/lib" \
      ASAN_OPTIONS=detect_leaks=1 "$WORK/$name.$kind" \
      "$WORK/run-$name-$kind/db"
  done
done
if [ "$n" -ge 3 ]; then pass; else fail "only $n examples found"; fi

# uninstall (what `make uninstall` runs) removes exactly what was installed
cp "$BUILD/install_manifest_Unspecified.txt" "$WORK/installed_files.txt"
echo "$P/unrelated" >"$P/unrelated"
check "uninstall" bash "$SRC/scripts/uninstall.sh" "$WORK/installed_files.txt"
left=$(cd "$P" && find . -type f -o -type l | sort | tr '\n' ' ')
if [ "$left" == "./unrelated " ]; then pass; else
  fail "after uninstall the prefix holds: $left"
fi

echo "$passed passed, $failed failed ($n examples built and run both ways)"
[ "$failed" -eq 0 ]
