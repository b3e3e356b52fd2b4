/*
 * main.c — the strata command-line tool: parses the options, dispatches the
 * command word, and turns the outcome into the exit status of SPEC §3
 * (0 ok, 1 absent/damage found, 2 bad usage, 3 refused by the recovery
 * policy, 4 any other error).
 */
#include <errno.h>
#include <string.h>

#include "cli.h"

#define OPT(x) CLI_BIT(CLI_OPT_##x)

typedef struct command {
  const char *name;  /* the command word */
  cli_command_fn fn; /* its implementation */
  unsigned options;  /* command-specific options it accepts */
  const char *usage; /* arguments, for help */
  const char *help;  /* one line of help */
} command;

static const command commands[] = {
    {"put", cli_cmd_kv, 0, "put DB KEY VALUE", "store VALUE under KEY"},
    {"get", cli_cmd_kv, 0, "get DB KEY", "print KEY's value; exit 1 if absent"},
    {"del", cli_cmd_kv, 0, "del DB KEY", "delete KEY"},
    {"load", cli_cmd_kv, 0, "load DB [FILE|-]",
     "lines KEY<TAB>VALUE; one atomic batch per 1000 lines"},
    {"scan", cli_cmd_kv, OPT(FROM) | OPT(TO) | OPT(LIMIT) | OPT(REVERSE),
     "scan DB [--from K] [--to K] [--limit N] [--reverse]",
     "KEY<TAB>VALUE lines in key order"},
    {"verify", cli_cmd_verify, OPT(ACKNOWLEDGE), "verify PATH [--acknowledge]",
     "check every checksum of a file or directory; exit 1 on damage"},
    {"dump", cli_cmd_dump, 0, "dump FILE|DIR",
     "print a record-log file record by record (a table *.ldb/*.sst: block "
     "by block, entry by entry), then what was dropped; a WAL or LSM "
     "directory: each of its files"},
    {"repair", cli_cmd_repair, OPT(INTO) | OPT(IN_PLACE),
     "repair DB [--into DIR | --in-place]",
     "rebuild a database from whatever is intact"},
    {"compact", cli_cmd_kv, 0, "compact DB", "compact a database"},
    {"stats", cli_cmd_kv, 0, "stats DB", "print a database's statistics"},
    {"wal", cli_cmd_wal, OPT(AFTER) | OPT(DELETE) | OPT(FRONT) | OPT(BACK),
     "wal append|replay|checkpoint|truncate DIR ...",
     "work with a write-ahead log directly"},
    {"bench", cli_cmd_bench, OPT(NUM) | OPT(DB),
     "bench [--engine lsm|bitcask] [WORKLOAD...] [--num N] [--db DIR]",
     "LevelDB's db_bench workloads (default fillseq fillsync fillrandom "
     "overwrite readrandom readseq readreverse deleterandom); fill* "
     "workloads replace the database at DIR"},
    {"log", cli_cmd_log, OPT(BATCH) | OPT(SEQUENCE),
     "log append FILE [RECORD...|-] [--batch [--sequence N]]",
     "append records (or one-put write batches) to a record-log file"},
    {"help", NULL, 0, "help [COMMAND]", "show this help, or one command's"},
};

enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out) {
  fprintf(out, "usage: strata COMMAND [ARGS...] [OPTIONS]\n"
               "       (options may stand before or after the command)\n\n"
               "Commands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) {
    fprintf(out, "  strata %s\n", commands[i].usage);
    fprintf(out, "  %-8s%s\n", "", commands[i].help);
  }
  cli_print_options_help(out);
  fprintf(out,
          "\nKeys and values: backslash is \\\\, tab \\t, newline \\n, any "
          "other byte\noutside printable ASCII \\xNN (or all hex with "
          "--hex).\n"
          "dump's default policy: point-in-time for *.log and MANIFEST-*, "
          "skip otherwise;\nverify always reads under skip, so that it "
          "finds every damaged region.\n"
          "\nExit status: 0 ok; 1 key absent (get) or damage found (verify); "
          "2 bad usage;\n3 the recovery policy refused to go on; 4 any other "
          "error.\n");
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

/* `strata help COMMAND`, `strata COMMAND --help`: the usage line, the
 * summary, the long help (help.c) and the options the command takes. */
static void print_command_help(FILE *out, const command *c) {
  fprintf(out, "usage: strata %s\n%s\n", c->usage, c->help);
  const char *detail = cli_command_detail(c->name);
  if (detail) fprintf(out, "\n%s", detail);
  if (c->options) {
    fprintf(out, "\nOptions of this command:\n");
    cli_print_some_options(out, c->options);
  }
  fprintf(out, "\nOptions of every command: --engine, --recovery, --hex, "
               "--json, --sync\n(strata --help describes them).\n");
}

/* A command-specific option given to a command it does not apply to. */
static int check_scope(const cli_options *o, const command *c) {
  unsigned stray = o->given & ~(cli_global_options() | c->options);
  for (int opt = 0; opt < CLI_OPT_COUNT; opt++)
    if (stray & CLI_BIT(opt)) {
      cli_error("%s: option %s does not apply to this command", c->name,
                cli_opt_name((cli_opt)opt));
      return CLI_USAGE;
    }
  return CLI_OK;
}

static int run(const cli_options *o) {
  int help_word = o->argc > 0 && strcmp(o->argv[0], "help") == 0;
  if (cli_given(o, CLI_OPT_HELP) || help_word) {
    /* strata help COMMAND, strata COMMAND --help */
    const char *topic = o->argc > 1 && help_word                  ? o->argv[1]
                        : o->argc > 0 && !help_word               ? o->argv[0]
                        : help_word && cli_given(o, CLI_OPT_HELP) ? "help"
                                                                  : NULL;
    if (!topic) {
      print_help(stdout);
      return CLI_OK;
    }
    const command *c = find_command(topic);
    if (!c) {
      cli_error("help: unknown command '%s' (see strata --help)", topic);
      return CLI_USAGE;
    }
    print_command_help(stdout, c);
    return CLI_OK;
  }
  if (cli_given(o, CLI_OPT_VERSION)) {
    printf("strata %s\n", strata_version());
    return CLI_OK;
  }
  if (o->argc == 0) {
    cli_error("missing command");
    fprintf(stderr, "usage: strata COMMAND [ARGS...] [OPTIONS]; "
                    "strata --help lists the commands\n");
    return CLI_USAGE;
  }
  const command *c = find_command(o->argv[0]);
  if (!c) {
    cli_error("unknown command '%s' (see strata --help)", o->argv[0]);
    return CLI_USAGE;
  }
  int rc = check_scope(o, c);
  return rc != CLI_OK ? rc : c->fn(o);
}

int main(int argc, char **argv) {
  cli_options o;
  int rc = cli_parse(argc, argv, &o);
  if (rc == CLI_OK) rc = run(&o);
  cli_options_free(&o);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("writing standard output: %s", cli_errno_text(errno));
    if (rc == CLI_OK) rc = CLI_FAILED;
  }
  return rc;
}
