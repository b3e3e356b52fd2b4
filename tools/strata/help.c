/*
 * help.c — the long help of each command (`strata help COMMAND`,
 * `strata COMMAND --help`). The usage line and the one-line summary of a
 * command live in main.c's command table and its options' help lines in
 * options.c; this file holds only what those do not say. man/strata.1 says
 * the same at more length; tests/cli/help_test.sh checks that every command
 * has an entry here and a section there with the same usage line.
 */
#include <string.h>

#include "cli.h"

typedef struct detail {
  const char *command; /* the command word */
  const char *text;    /* lines of help, each ending in "\n" */
} detail;

static const detail details[] = {
    {"put",
     "Creates the database directory if it does not exist (with the engine\n"
     "of --engine, default lsm); otherwise the engine is detected from its\n"
     "files: CURRENT -> lsm, *.data -> bitcask, only *.log -> wal.\n"
     "With --sync the write is on disk before strata exits.\n"},
    {"get",
     "Prints the value and a newline. Exit 1 (and nothing on stdout) if the\n"
     "key is absent. A damaged value is never printed: either opening the\n"
     "database dropped its record (a warning names the key, which then\n"
     "reads as absent or older), or get fails with exit 3 naming the file\n"
     "and offset.\n"},
    {"del", "Deleting an absent key succeeds.\n"},
    {"load",
     "Reads lines KEY<TAB>VALUE from FILE, or from stdin when FILE is - or\n"
     "absent, and writes them in atomic batches of 1000 lines. Creates the\n"
     "database like put. A malformed line stops the load (exit 2), naming\n"
     "the line; the batches before it are kept.\n"},
    {"scan",
     "Prints KEY<TAB>VALUE lines in bytewise key order for every engine\n"
     "(a Bitcask directory is sorted in memory first). --from is inclusive,\n"
     "--to exclusive; with --reverse the order is descending.\n"},
    {"verify",
     "PATH is one file (record log *.log, MANIFEST-*, Bitcask *.data and\n"
     "*.hint, table *.ldb/*.sst) or a database or WAL directory (every such\n"
     "file in it). Every file is read to its end under the skip policy,\n"
     "whatever --recovery says, so every damaged region is listed: file,\n"
     "offset, bytes, kind, records lost. A torn tail counts as damage.\n"
     "A damaged Bitcask directory also names the keys whose newest record\n"
     "was lost. Exit 0 when clean, 1 when damage was found.\n"
     "For an LSM database it also says whether LevelDB 1.23 can open the\n"
     "directory and, if not, why (JSON: leveldb_compatible).\n"
     "An LSM database's damage ledger (DIR/LEDGER) lists key ranges whose\n"
     "newest versions were lost; until acknowledged, reads inside them fail\n"
     "instead of serving an older version. --acknowledge lists them, clears\n"
     "the ledger, then verifies.\n"},
    {"dump",
     "Prints one line per record: offset, length, fragments, and, for a\n"
     "write batch, its sequence number and one line per operation; for a\n"
     "MANIFEST record, one line per field (log-number, new-file, ...);\n"
     "otherwise the record's bytes. Each dropped region is printed where it\n"
     "lies, then a summary line. For a table every block and entry is\n"
     "printed. A WAL directory dumps its segments in order.\n"
     "Default policy: point-in-time for *.log and MANIFEST-*, skip for the\n"
     "rest. If the policy refuses (exit 3), what was read is still printed.\n"},
    {"repair",
     "Rebuilds an LSM or Bitcask database from whatever is intact into a NEW\n"
     "directory (DB.repaired, or --into DIR; DB itself is never changed), or\n"
     "--in-place (built beside, synced, swapped in; the original is kept in\n"
     "DB.damaged). Prints each damaged region and what it cost, and each\n"
     "doubtful key left out because a damaged region could have held a newer\n"
     "version or its deletion (--json: one object). Exit 0 when repaired.\n"
     "See docs/repair.md.\n"},
    {"compact",
     "lsm: compacts every level. bitcask: merges the data files (the live\n"
     "entries are rewritten with hint files, dead ones dropped).\n"},
    {"stats",
     "Prints NAME<TAB>VALUE lines (or one JSON object with --json): keys,\n"
     "files, bytes, dead bytes, what was dropped at open.\n"},
    {"wal",
     "  strata wal append DIR KEY VALUE | DIR --delete KEY\n"
     "      appends one batch; prints its sequence number\n"
     "  strata wal append DIR -\n"
     "      stdin: lines put<TAB>KEY<TAB>VALUE or del<TAB>KEY; an empty line\n"
     "      ends a batch; prints each batch's sequence number\n"
     "  strata wal replay DIR [--after SEQ]\n"
     "      lines SEQ<TAB>put<TAB>KEY<TAB>VALUE or SEQ<TAB>del<TAB>KEY\n"
     "  strata wal checkpoint DIR SEQ\n"
     "      records that everything up to SEQ was applied elsewhere\n"
     "  strata wal truncate DIR --front SEQ | --back SEQ\n"
     "      --front deletes whole segments at or below SEQ; --back discards\n"
     "      every batch holding a sequence number above SEQ\n"
     "Opening recovers the log under --recovery (default point-in-time).\n"},
    {"bench",
     "Runs the named workloads (all when none is named) on a temporary\n"
     "database of the chosen engine and prints their throughput.\n"},
    {"log",
     "Each RECORD (or each line of stdin with -) becomes one record of FILE,\n"
     "which is created if needed and otherwise continued. With --batch each\n"
     "record is a write batch of one put: arguments come in KEY VALUE pairs\n"
     "and stdin lines are KEY<TAB>VALUE; batches get sequence numbers from\n"
     "--sequence N (default 1). Prints the number of records appended.\n"},
    {"help",
     "strata help COMMAND (or strata COMMAND --help) shows one command.\n"},
};

enum { NDETAILS = sizeof details / sizeof details[0] };

const char *cli_command_detail(const char *command) {
  for (size_t i = 0; i < NDETAILS; i++)
    if (strcmp(details[i].command, command) == 0) return details[i].text;
  return NULL;
}
