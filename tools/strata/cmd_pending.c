/*
 * cmd_pending.c — the SPEC §3 commands not written yet (repair, bench), and
 * the key-value commands on an engine without a row in cmd_kv.c (wal).
 * Each is recognised (its options are parsed and checked) and fails with exit
 * 4 and "strata: COMMAND: not available yet (needs the ENGINE engine)".
 */
#include <string.h>

#include "cli.h"

int cli_cmd_pending(const cli_options *o) {
  const char *cmd = o->argv[0];
  const char *engine = o->engine;
  if (!engine && strcmp(cmd, "wal") == 0) engine = "wal";
  /* an existing database keeps its engine; the DB argument follows the
   * command word */
  if (!engine && o->argc > 1)
    engine = cli_detect_engine(o->argv[1]);
  if (!engine) engine = "lsm";
  cli_error("%s: not available yet (needs the %s engine)", cmd, engine);
  return CLI_FAILED;
}
