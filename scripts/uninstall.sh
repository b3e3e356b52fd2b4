#!/usr/bin/env bash
# scripts/uninstall.sh LIST — removes every file named in LIST (one path a
# line, as `make install` records them in build/installed_files.txt), and
# nothing else: no directory, no file not listed. Used by `make uninstall`
# and tests/cli/install_test.sh.
set -eu
list=${1:?usage: uninstall.sh LIST}
[ -f "$list" ] || {
  echo "uninstall: nothing to remove ($list does not exist)" >&2
  exit 1
}
while IFS= read -r f || [ -n "$f" ]; do  # the last line may lack its \n
  if [ -n "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then
    echo "-- Removing: $f"
    rm -f "$f"
  fi
done <"$list"
