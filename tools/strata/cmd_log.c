/*
 * cmd_log.c — `strata log append FILE [RECORD...|-]`: appends records to a raw
 * record-log file (creating it if needed).
 *
 * Each RECORD argument (escaped text form, or hex with --hex) becomes one
 * record; with "-" each line of stdin does. With --batch each record is a
 * write batch holding one put instead: arguments come in KEY VALUE pairs, and
 * stdin lines are KEY<TAB>VALUE; the batches get sequence numbers --sequence
 * N (default 1), N+1, ... Every input is decoded before the file is opened,
 * so a usage error (exit 2) writes nothing. --sync syncs once at the end.
 * Prints the number of records appended (with --json: {"file", "records",
 * "first_sequence", "bytes"}).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The records to append: concatenated bytes plus where each one ends. */
typedef struct records {
  cli_buf bytes;   /* every record, back to back */
  size_t *end;     /* end[i]: offset in `bytes` just past record i */
  size_t n, cap;   /* records held, slots allocated */
  strata_batch *b; /* scratch batch for --batch */
} records;

static void finish_record(records *r) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    size_t *end = realloc(r->end, cap * sizeof *end);
    if (!end) cli_out_of_memory();
    r->end = end;
    r->cap = cap;
  }
  r->end[r->n++] = r->bytes.len;
}

/* Decodes text `s` (n bytes) onto `out`; prints the problem and returns
 * CLI_USAGE if it is malformed. `where` names the input ("argument 2"). */
static int decode(const cli_options *o, const char *s, size_t n, cli_buf *out,
                  const char *where) {
  char err[160];
  if (cli_decode(s, n, o->hex, out, err, sizeof err) == 0) return CLI_OK;
  cli_error("log append: %s: %s", where, err);
  return CLI_USAGE;
}

static int add_raw(const cli_options *o, records *r, const char *s, size_t n,
                   const char *where) {
  int rc = decode(o, s, n, &r->bytes, where);
  if (rc == CLI_OK) finish_record(r);
  return rc;
}

static int add_put(const cli_options *o, records *r, const char *k, size_t klen,
                   const char *v, size_t vlen, const char *where) {
  cli_buf key = {0}, value = {0};
  int rc = decode(o, k, klen, &key, where);
  if (rc == CLI_OK) rc = decode(o, v, vlen, &value, where);
  if (rc == CLI_OK) {
    strata_batch_clear(r->b);
    strata_batch_set_sequence(r->b, o->sequence + r->n);
    int st = strata_batch_put(r->b, key.data, key.len, value.data, value.len);
    if (st != STRATA_OK) rc = cli_fail(st, NULL);
  }
  if (rc == CLI_OK) {
    size_t size;
    const void *data = strata_batch_data(r->b, &size);
    cli_buf_add(&r->bytes, data, size);
    finish_record(r);
  }
  cli_buf_free(&key);
  cli_buf_free(&value);
  return rc;
}

static int from_args(const cli_options *o, records *r, char **args, int n) {
  int batch = cli_given(o, CLI_OPT_BATCH);
  if (batch && n % 2) {
    cli_error("log append --batch: expected KEY VALUE pairs, got %d "
              "argument%s",
              n, n == 1 ? "" : "s");
    return CLI_USAGE;
  }
  for (int i = 0; i < n; i += batch ? 2 : 1) {
    char where[32];
    snprintf(where, sizeof where, "argument %d", i + 1);
    int rc = batch ? add_put(o, r, args[i], strlen(args[i]), args[i + 1],
                             strlen(args[i + 1]), where)
                   : add_raw(o, r, args[i], strlen(args[i]), where);
    if (rc != CLI_OK) return rc;
  }
  return CLI_OK;
}

static int from_stdin(const cli_options *o, records *r) {
  cli_buf in = {0};
  if (cli_read_all(stdin, &in, "log append") != CLI_OK) return CLI_FAILED;
  int rc = CLI_OK;
  size_t line = 0;
  for (const char *p = in.data, *end = in.data + in.len;
       p < end && rc == CLI_OK;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    char where[32];
    snprintf(where, sizeof where, "line %zu", ++line);
    if (!cli_given(o, CLI_OPT_BATCH)) {
      rc = add_raw(o, r, p, len, where);
    } else {
      const char *tab = memchr(p, '\t', len);
      if (!tab) {
        cli_error("log append --batch: %s: expected KEY<TAB>VALUE", where);
        rc = CLI_USAGE;
      } else {
        rc = add_put(o, r, p, (size_t)(tab - p), tab + 1,
                     len - (size_t)(tab - p) - 1, where);
      }
    }
    p += len + 1;
  }
  cli_buf_free(&in);
  return rc;
}

static int append(const cli_options *o, const char *path, const records *r) {
  strata_log_writer *w = NULL;
  int st = strata_log_writer_open(path, &w);
  for (size_t i = 0; st == STRATA_OK && i < r->n; i++) {
    size_t start = i ? r->end[i - 1] : 0;
    st = strata_log_writer_add(w, r->bytes.data + start, r->end[i] - start);
  }
  if (st == STRATA_OK && o->sync) st = strata_log_writer_sync(w);
  uint64_t size = w ? strata_log_writer_size(w) : 0;
  if (w) {
    int cst = strata_log_writer_close(w);
    if (st == STRATA_OK) st = cst;
  }
  if (st != STRATA_OK) return cli_fail(st, path);
  if (o->json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_key(&j, "file");
    json_str(&j, path);
    json_key(&j, "records");
    json_uint(&j, r->n);
    if (cli_given(o, CLI_OPT_BATCH)) {
      json_key(&j, "first_sequence");
      json_uint(&j, o->sequence);
    }
    json_key(&j, "bytes");
    json_uint(&j, size);
    json_object_end(&j);
    json_finish(&j);
  } else {
    printf("%zu\n", r->n);
  }
  return CLI_OK;
}

int cli_cmd_log(const cli_options *o) {
  if (o->argc < 2 || strcmp(o->argv[1], "append") != 0) {
    if (o->argc < 2)
      cli_error("log: expected a subcommand (strata log append FILE "
                "[RECORD...|-])");
    else
      cli_error("log: unknown subcommand '%s' (expected append)", o->argv[1]);
    return CLI_USAGE;
  }
  if (o->argc < 3) {
    cli_error("log append: expected FILE (strata log append FILE "
              "[RECORD...|-])");
    return CLI_USAGE;
  }
  if (cli_given(o, CLI_OPT_SEQUENCE) && !cli_given(o, CLI_OPT_BATCH)) {
    cli_error("log append: --sequence needs --batch");
    return CLI_USAGE;
  }
  const char *path = o->argv[2];
  char **args = o->argv + 3;
  int nargs = o->argc - 3;
  if (nargs == 0) {
    cli_error("log append: no records given (RECORD... or - for stdin)");
    return CLI_USAGE;
  }
  int use_stdin = nargs == 1 && strcmp(args[0], "-") == 0;
  for (int i = 0; i < nargs && !use_stdin; i++)
    if (strcmp(args[i], "-") == 0) {
      cli_error("log append: '-' (stdin) must be the only record argument");
      return CLI_USAGE;
    }

  records r = {0};
  r.b = strata_batch_create();
  if (!r.b) cli_out_of_memory();
  cli_buf_add(&r.bytes, "", 0);
  int rc = use_stdin ? from_stdin(o, &r) : from_args(o, &r, args, nargs);
  if (rc == CLI_OK && cli_given(o, CLI_OPT_BATCH) && r.n &&
      o->sequence > UINT64_MAX - (r.n - 1)) {
    cli_error("log append: --sequence %" PRIu64 " overflows with %zu batches",
              o->sequence, r.n);
    rc = CLI_USAGE;
  }
  if (rc == CLI_OK) rc = append(o, path, &r);
  strata_batch_destroy(r.b);
  cli_buf_free(&r.bytes);
  free(r.end);
  return rc;
}
