/*
 * cli.h — what the files of the strata tool share: exit codes, the parsed
 * options, diagnostics, the text/hex form of bytes, a tiny JSON writer, and
 * the commands. The tool uses only the public API (strata.h) and libc.
 *
 * Output conventions (SPEC §3): reports go to stdout, line-oriented and
 * tab-separated (or one JSON object with --json); every failure prints
 * exactly one line "strata: ..." on stderr and exits with a cli_exit code.
 */
#ifndef STRATA_TOOL_CLI_H
#define STRATA_TOOL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strata.h"

/* ---- exit status (SPEC §3) ---------------------------------------------- */

enum cli_exit {
  CLI_OK = 0,      /* success */
  CLI_ABSENT = 1,  /* get: key absent; verify: damage found */
  CLI_USAGE = 2,   /* bad usage: unknown option, missing argument, bad value */
  CLI_REFUSED = 3, /* the recovery policy refused to go on because of damage */
  CLI_FAILED = 4   /* anything else: I/O, permissions, locked, unsupported */
};

/* ---- options (options.c) ------------------------------------------------ */

/* Every option the tool knows, global or command-specific. */
typedef enum cli_opt {
  CLI_OPT_ENGINE,   /* --engine lsm|bitcask|wal */
  CLI_OPT_RECOVERY, /* --recovery POLICY */
  CLI_OPT_HEX,      /* --hex */
  CLI_OPT_JSON,     /* --json */
  CLI_OPT_SYNC,     /* --sync */
  CLI_OPT_HELP,     /* --help, -h */
  CLI_OPT_VERSION,  /* --version */
  CLI_OPT_FROM,     /* --from KEY (scan) */
  CLI_OPT_TO,       /* --to KEY (scan) */
  CLI_OPT_LIMIT,    /* --limit N (scan) */
  CLI_OPT_REVERSE,  /* --reverse (scan) */
  CLI_OPT_AFTER,    /* --after SEQ (wal replay) */
  CLI_OPT_DELETE,   /* --delete KEY (wal append) */
  CLI_OPT_FRONT,    /* --front SEQ (wal truncate) */
  CLI_OPT_BACK,     /* --back SEQ (wal truncate) */
  CLI_OPT_INTO,     /* --into DIR (repair) */
  CLI_OPT_IN_PLACE, /* --in-place (repair) */
  CLI_OPT_BATCH,    /* --batch (log append) */
  CLI_OPT_SEQUENCE, /* --sequence N (log append --batch) */
  CLI_OPT_NUM,      /* --num N (bench) */
  CLI_OPT_DB,       /* --db DIR (bench) */
  CLI_OPT_ACKNOWLEDGE, /* --acknowledge (verify of an LSM database) */
  CLI_OPT_COUNT
} cli_opt;

/* Bit of an option in a set of options. */
#define CLI_BIT(opt) (1u << (opt))

/* The parsed command line. Text values point into argv and are raw: keys
 * are decoded by the command (cli_decode) once --hex is known. */
typedef struct cli_options {
  unsigned given;           /* CLI_BIT of every option present */
  const char *engine;       /* "lsm", "bitcask" or "wal"; NULL if not given */
  strata_recovery recovery; /* valid when CLI_OPT_RECOVERY was given */
  int hex;                  /* 1: keys and values are lowercase hex */
  int json;                 /* 1: reports as one JSON object */
  int sync;                 /* 1: sync writes */
  const char *from, *to;    /* scan bounds, raw text; NULL if not given */
  uint64_t limit;           /* scan: at most this many entries */
  uint64_t after;           /* wal replay: sequence numbers above this */
  const char *delete_key;   /* wal append --delete, raw text */
  uint64_t front, back;     /* wal truncate bounds (sequence numbers) */
  const char *into;         /* repair --into DIR */
  uint64_t sequence;        /* log append --batch: first sequence (def. 1) */
  uint64_t num;             /* bench: entries (valid if CLI_OPT_NUM given) */
  const char *db;           /* bench: database directory, or NULL */
  int argc;                 /* positional arguments (command word first) */
  char **argv;              /* them, in order; owned by the caller of parse */
} cli_options;

/* 1 if the option was given. */
static inline int cli_given(const cli_options *o, cli_opt opt) {
  return (o->given & CLI_BIT(opt)) != 0;
}

/* Parses argv[1..argc-1]: options anywhere (before or after the command
 * word; "--" ends them), as "--opt value" or "--opt=value". Positional
 * arguments are collected into o->argv (pointers into argv; the array is
 * malloc'd, free with cli_options_free). On a usage error prints one line
 * and returns CLI_USAGE; otherwise CLI_OK. */
int cli_parse(int argc, char **argv, cli_options *o);
void cli_options_free(cli_options *o);

/* Name of an option as typed, e.g. "--limit". */
const char *cli_opt_name(cli_opt opt);
/* Bits of the options valid on every command. */
unsigned cli_global_options(void);
/* Prints the option list of the help text. */
void cli_print_options_help(FILE *out);
/* Prints the help lines of the options in `bits` (CLI_BIT set), or, if
 * `bits` is 0, nothing. */
void cli_print_some_options(FILE *out, unsigned bits);
/* help.c: the long help of a command (lines ending in "\n"), or NULL. */
const char *cli_command_detail(const char *command);

/* ---- diagnostics (report.c) --------------------------------------------- */

/* Prints "strata: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the library's last error for a failed call on `path` (naming the
 * path if the message does not) and returns the exit code for `status`:
 * corruption → CLI_REFUSED, invalid argument → CLI_USAGE, else CLI_FAILED. */
int cli_fail(int status, const char *path);

/* A lowercase description of an errno value ("no such file or directory");
 * valid until the next call. */
const char *cli_errno_text(int err);

/* Checks that `path` exists; if not, prints "strata: PATH: ..." and returns
 * CLI_FAILED. *is_dir is set to 1 for a directory. */
int cli_check_path(const char *path, int *is_dir);

/* Exits with CLI_FAILED after "strata: out of memory". */
_Noreturn void cli_out_of_memory(void);

/* ---- bytes as text (escape.c) ------------------------------------------- */

/* A growable byte buffer; free with cli_buf_free. */
typedef struct cli_buf {
  char *data; /* the bytes; NUL-terminated for convenience (not counted) */
  size_t len; /* bytes in use */
  size_t cap; /* bytes allocated */
} cli_buf;

void cli_buf_add(cli_buf *b, const void *p, size_t n);
void cli_buf_free(cli_buf *b);
/* Reads all of `f` into `out` (NUL-terminated); on a read error prints
 * "strata: WHAT: reading stdin: ..." and returns CLI_FAILED (out freed). */
int cli_read_all(FILE *f, cli_buf *out, const char *what);

/* Writes n bytes in the tool's text form: lowercase hex if `hex`, otherwise
 * escaped (\\ \t \n and \xNN for other bytes outside 0x20..0x7e). If `json`,
 * the text is further escaped for a JSON string (quotes not included). */
void cli_write_bytes(FILE *out, int hex, int json, const void *p, size_t n);

/* Decodes the text form `s` (n bytes; hex if `hex`) and appends the bytes to
 * `out`. Returns 0, or -1 with a description of the problem in err. */
int cli_decode(const char *s, size_t n, int hex, cli_buf *out, char *err,
               size_t errlen);

/* ---- JSON output (json.c) ----------------------------------------------- */

enum { JSON_MAX_DEPTH = 16 };

/* Writes one compact JSON value; commas are placed automatically. */
typedef struct json_writer {
  FILE *out;                           /* destination */
  int depth;                           /* containers open */
  unsigned char first[JSON_MAX_DEPTH]; /* 1 until a container has an item */
  int after_key;                       /* a key was written, value pending */
} json_writer;

void json_init(json_writer *w, FILE *out);
void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);
void json_key(json_writer *w, const char *key);
/* A C string (file names, messages): bytes outside printable ASCII in the
 * escaped text form, then JSON-escaped. */
void json_str(json_writer *w, const char *s);
/* Key or value bytes in the tool's text form (hex or escaped). */
void json_bytes(json_writer *w, int hex, const void *p, size_t n);
void json_uint(json_writer *w, uint64_t v);
void json_bool(json_writer *w, int v);
/* Ends the top-level value with a newline. */
void json_finish(json_writer *w);

/* ---- record-log files (files.c, damage.c) ------------------------------ */

/* The last path component of `path` (a pointer into it). */
const char *cli_basename(const char *path);
/* 1 for LevelDB table files (*.ldb, *.sst), read by cmd_table.c. */
int cli_is_table(const char *path);
/* 1 for the record-log files a directory verify reads: *.log, MANIFEST-*,
 * *.data, *.hint. */
int cli_is_record_log(const char *path);
/* point-in-time for *.log and MANIFEST-*, skip for everything else. */
strata_recovery cli_default_policy(const char *path);
/* The engine of an existing database directory (CURRENT, MANIFEST-* or a
 * table → lsm, *.data → bitcask, *.log → wal), or NULL if it is not one or
 * does not exist. */
const char *cli_detect_engine(const char *dir);

/* One dropped region, copied out of a strata_damage report. */
typedef struct cli_drop {
  char *file;              /* the damaged file; malloc'd */
  uint64_t offset;         /* first dropped byte */
  uint64_t bytes;          /* dropped bytes */
  strata_damage_kind kind; /* first damage in the region */
  char *reason;            /* detail sentence; malloc'd */
  uint64_t records;        /* records known lost (lower bound) */
  int tail;                /* 1 if nothing intact follows */
} cli_drop;

/* The drops of one or more reads, in report order. */
typedef struct cli_drops {
  cli_drop *v;    /* the drops */
  size_t n, cap;  /* drops held, slots allocated */
  uint64_t bytes; /* sum of v[i].bytes */
} cli_drops;

/* A strata_damage_fn that appends to the cli_drops at `arg`. */
void cli_drops_collect(void *arg, const strata_damage *d);
void cli_drops_free(cli_drops *d);

/* MANIFEST files (manifest.c). 1 for MANIFEST-* names. dump_record:
 * the fields of one record as text lines, or (with --json) as members
 * "fields" (and "error", "data" if it does not decode) of the record object
 * `w` is writing. check_record: 1 if the record decodes; otherwise appends a
 * "bad-record" region covering it to `drops` and returns 0. */
int cli_is_manifest(const char *path);
void cli_manifest_dump_record(const cli_options *o, json_writer *w,
                              const void *data, size_t size);
int cli_manifest_check_record(const char *path, const void *data, size_t size,
                              const strata_log_record_info *info,
                              cli_drops *drops);

/* ---- commands ----------------------------------------------------------- */

/* A command: `o->argv[0]` is the command word. Returns a cli_exit code. */
typedef int (*cli_command_fn)(const cli_options *o);

int cli_cmd_dump(const cli_options *o);    /* cmd_dump.c */
int cli_cmd_verify(const cli_options *o);  /* cmd_verify.c */
int cli_cmd_log(const cli_options *o);     /* cmd_log.c: log append */
int cli_cmd_pending(const cli_options *o); /* cmd_pending.c */
int cli_cmd_kv(const cli_options *o);      /* cmd_kv.c: by engine */
int cli_cmd_bench(const cli_options *o);   /* cmd_bench.c */
/* cmd_kv.c: lists (stdout) the keys of a Bitcask directory whose newest
 * record was lost; returns how many. */
uint64_t cli_kv_lost_keys(const char *dir, const cli_options *o);
/* The same as a "lost_keys" member of the object `w` is writing: an array of
 * {"key", "file", "offset", "timestamp"} (written only for Bitcask). */
void cli_kv_lost_keys_json(json_writer *w, const char *dir,
                           const cli_options *o);

/* Table files (cmd_table.c). dump: prints FILE's blocks and entries;
 * returns a cli_exit code. check: verifies every block, appends each damaged
 * region to `drops` and counts intact entries; returns a STRATA_* status
 * (not OK only if the file could not be read). */
int cli_table_dump(const cli_options *o, const char *path);
int cli_table_check(const char *path, cli_drops *drops, uint64_t *entries);
int cli_cmd_wal(const cli_options *o); /* cmd_wal.c: wal ... */
/* cmd_wal.c: appends the WAL-level damage of a WAL directory (sequence holes,
 * records that are not batches) to `drops`; a STRATA_* status. */
int cli_wal_verify_sequences(const char *dir, cli_drops *drops);
int cli_cmd_repair(const cli_options *o); /* cmd_repair.c: repair */

#endif
