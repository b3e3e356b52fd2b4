/*
 * options.c — the tool's option table and command-line parser.
 *
 * One table describes every option: its name, the kind of value it takes,
 * where the value goes in cli_options, and its help line. Options may stand
 * anywhere on the line (SPEC §3: before or after the command word), in the
 * forms "--opt value" and "--opt=value"; "--" makes every later argument
 * positional, and a lone "-" is positional (stdin). Whether a command-specific
 * option applies to the command is checked by main.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum opt_kind {
  KIND_FLAG,     /* no value; sets an int field to 1 */
  KIND_TEXT,     /* any string; stored as a pointer into argv */
  KIND_NUMBER,   /* decimal uint64 */
  KIND_ENGINE,   /* lsm|bitcask|wal */
  KIND_RECOVERY, /* a recovery policy name */
  KIND_MARK      /* no value, no field: only recorded in `given` */
} opt_kind;

typedef struct opt_spec {
  cli_opt id;       /* which option */
  const char *name; /* without the leading "--" */
  opt_kind kind;    /* what value it takes */
  size_t field;     /* offset of its field in cli_options */
  int global;       /* 1 if valid on every command */
  const char *arg;  /* name of its value in help, NULL for flags */
  const char *help; /* one line of help */
} opt_spec;

#define FIELD(f) offsetof(cli_options, f)

static const opt_spec table[] = {
    {CLI_OPT_ENGINE, "engine", KIND_ENGINE, FIELD(engine), 1, "lsm|bitcask|wal",
     "engine of a new database (default lsm)"},
    {CLI_OPT_RECOVERY, "recovery", KIND_RECOVERY, FIELD(recovery), 1,
     "absolute|tolerate-tail|point-in-time|skip",
     "what to do on damage (SPEC section 2)"},
    {CLI_OPT_HEX, "hex", KIND_FLAG, FIELD(hex), 1, NULL,
     "keys and values are lowercase hex on input and output"},
    {CLI_OPT_JSON, "json", KIND_FLAG, FIELD(json), 1, NULL,
     "print the report as one JSON object"},
    {CLI_OPT_SYNC, "sync", KIND_FLAG, FIELD(sync), 1, NULL,
     "sync written data to disk before exiting"},
    {CLI_OPT_HELP, "help", KIND_MARK, 0, 1, NULL, "show this help"},
    {CLI_OPT_VERSION, "version", KIND_MARK, 0, 1, NULL, "print the version"},
    {CLI_OPT_FROM, "from", KIND_TEXT, FIELD(from), 0, "KEY",
     "scan: start at KEY (inclusive)"},
    {CLI_OPT_TO, "to", KIND_TEXT, FIELD(to), 0, "KEY", "scan: stop before KEY"},
    {CLI_OPT_LIMIT, "limit", KIND_NUMBER, FIELD(limit), 0, "N",
     "scan: print at most N entries"},
    {CLI_OPT_REVERSE, "reverse", KIND_MARK, 0, 0, NULL,
     "scan: in descending key order"},
    {CLI_OPT_AFTER, "after", KIND_NUMBER, FIELD(after), 0, "SEQ",
     "wal replay: only batches after SEQ"},
    {CLI_OPT_DELETE, "delete", KIND_TEXT, FIELD(delete_key), 0, "KEY",
     "wal append: delete KEY"},
    {CLI_OPT_FRONT, "front", KIND_NUMBER, FIELD(front), 0, "SEQ",
     "wal truncate: drop batches up to SEQ"},
    {CLI_OPT_BACK, "back", KIND_NUMBER, FIELD(back), 0, "SEQ",
     "wal truncate: drop batches after SEQ"},
    {CLI_OPT_INTO, "into", KIND_TEXT, FIELD(into), 0, "DIR",
     "repair: write the rebuilt database to DIR"},
    {CLI_OPT_IN_PLACE, "in-place", KIND_MARK, 0, 0, NULL,
     "repair: rebuild the database where it is"},
    {CLI_OPT_BATCH, "batch", KIND_MARK, 0, 0, NULL,
     "log append: each record is a write batch of one put"},
    {CLI_OPT_SEQUENCE, "sequence", KIND_NUMBER, FIELD(sequence), 0, "N",
     "log append --batch: first sequence number (default 1)"},
    {CLI_OPT_NUM, "num", KIND_NUMBER, FIELD(num), 0, "N",
     "bench: entries per workload (default 1000000)"},
    {CLI_OPT_DB, "db", KIND_TEXT, FIELD(db), 0, "DIR",
     "bench: database directory (default $TMPDIR/strata-bench-UID)"},
    {CLI_OPT_ACKNOWLEDGE, "acknowledge", KIND_MARK, 0, 0, NULL,
     "verify: clear an LSM database's damage ledger after listing it"},
};

enum { NOPTS = sizeof table / sizeof table[0] };

static const opt_spec *find(const char *name, size_t len) {
  for (size_t i = 0; i < NOPTS; i++)
    if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
      return &table[i];
  return NULL;
}

const char *cli_opt_name(cli_opt opt) {
  static char buf[CLI_OPT_COUNT][32];
  for (size_t i = 0; i < NOPTS; i++)
    if (table[i].id == opt) {
      snprintf(buf[opt], sizeof buf[opt], "--%s", table[i].name);
      return buf[opt];
    }
  return "--?";
}

unsigned cli_global_options(void) {
  unsigned bits = 0;
  for (size_t i = 0; i < NOPTS; i++)
    if (table[i].global) bits |= CLI_BIT(table[i].id);
  return bits;
}

static void print_option(FILE *out, const opt_spec *spec) {
  char left[80];
  snprintf(left, sizeof left, "--%s%s%s", spec->name, spec->arg ? " " : "",
           spec->arg ? spec->arg : "");
  if (strlen(left) > 24)
    fprintf(out, "  %s\n  %-24s  %s\n", left, "", spec->help);
  else
    fprintf(out, "  %-24s  %s\n", left, spec->help);
}

void cli_print_options_help(FILE *out) {
  for (int global = 1; global >= 0; global--) {
    fprintf(out, "\n%s\n",
            global ? "Options (any command):" : "Options of some commands:");
    for (size_t i = 0; i < NOPTS; i++)
      if (table[i].global == global) print_option(out, &table[i]);
  }
}

void cli_print_some_options(FILE *out, unsigned bits) {
  for (size_t i = 0; i < NOPTS; i++)
    if (bits & CLI_BIT(table[i].id)) print_option(out, &table[i]);
}

static int parse_number(const char *s, uint64_t *out) {
  if (!*s) return -1;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Stores `value` for `spec`; prints the problem and returns CLI_USAGE if it
 * is not acceptable. */
static int store(cli_options *o, const opt_spec *spec, const char *value) {
  char *field = (char *)o + spec->field;
  switch (spec->kind) {
  case KIND_FLAG: *(int *)field = 1; break;
  case KIND_MARK: break;
  case KIND_TEXT: *(const char **)field = value; break;
  case KIND_NUMBER:
    if (parse_number(value, (uint64_t *)field) != 0) {
      cli_error("--%s: '%s' is not a non-negative decimal integer", spec->name,
                value);
      return CLI_USAGE;
    }
    break;
  case KIND_ENGINE:
    if (strcmp(value, "lsm") && strcmp(value, "bitcask") &&
        strcmp(value, "wal")) {
      cli_error("--engine: unknown engine '%s' (expected lsm, bitcask or "
                "wal)",
                value);
      return CLI_USAGE;
    }
    *(const char **)field = value;
    break;
  case KIND_RECOVERY:
    if (strata_recovery_parse(value, (strata_recovery *)field) != STRATA_OK) {
      cli_error("--recovery: unknown policy '%s' (expected absolute, "
                "tolerate-tail, point-in-time or skip)",
                value);
      return CLI_USAGE;
    }
    break;
  }
  o->given |= CLI_BIT(spec->id);
  return CLI_OK;
}

int cli_parse(int argc, char **argv, cli_options *o) {
  memset(o, 0, sizeof *o);
  o->sequence = 1;
  o->argv = calloc((size_t)argc + 1, sizeof *o->argv);
  if (!o->argv) cli_out_of_memory();
  int only_positional = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
      o->argv[o->argc++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positional = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0) {
      o->given |= CLI_BIT(CLI_OPT_HELP);
      continue;
    }
    if (a[1] != '-') {
      cli_error("unknown option '%s' (put '--' before arguments that start "
                "with '-')",
                a);
      return CLI_USAGE;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt_spec *spec = find(name, len);
    if (!spec) {
      cli_error("unknown option '--%.*s' (see strata --help)", (int)len, name);
      return CLI_USAGE;
    }
    int takes_value = spec->kind != KIND_FLAG && spec->kind != KIND_MARK;
    const char *value = NULL;
    if (takes_value) {
      if (eq) {
        value = eq + 1;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        cli_error("option --%s needs a value (%s)", spec->name, spec->arg);
        return CLI_USAGE;
      }
    } else if (eq) {
      cli_error("option --%s takes no value", spec->name);
      return CLI_USAGE;
    }
    int rc = store(o, spec, value);
    if (rc != CLI_OK) return rc;
  }
  return CLI_OK;
}

void cli_options_free(cli_options *o) {
  free(o->argv);
  o->argv = NULL;
  o->argc = 0;
}
