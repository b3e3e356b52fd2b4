/*
 * cmd_wal.c — `strata wal append|replay|checkpoint|truncate DIR ...` (SPEC §3)
 * over the public strata_wal_* API, and the WAL part of `verify` on a WAL
 * directory (sequence holes, which no single file shows).
 *
 *   wal append DIR KEY VALUE | --delete KEY   prints the batch's sequence
 * number wal append DIR -     stdin: put<TAB>KEY<TAB>VALUE or del<TAB>KEY
 * lines; an empty line ends a batch; prints each batch's sequence wal replay
 * DIR [--after SEQ]   SEQ<TAB>put<TAB>KEY<TAB>VALUE / SEQ<TAB>del<TAB>KEY wal
 * checkpoint DIR SEQ wal truncate DIR --front SEQ | --back SEQ
 *
 * The WAL is opened under --recovery (default point-in-time); when opening
 * drops data, one warning line on stderr says how many bytes in how many
 * places. Sequence numbers are printed only after the WAL was closed (and so
 * synced).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct wal_drops {
  uint64_t n;     /* regions dropped at open */
  uint64_t bytes; /* their bytes */
} wal_drops;

static void count_drop(void *arg, const strata_wal_damage *d) {
  wal_drops *w = arg;
  w->n++;
  w->bytes += d->damage.bytes;
}

static int open_wal(const cli_options *o, const char *dir, int create,
                    wal_drops *drops, strata_wal **out) {
  if (!create) {
    int is_dir = 0, rc = cli_check_path(dir, &is_dir);
    if (rc != CLI_OK) return rc;
    if (!is_dir) {
      cli_error("%s: not a directory", dir);
      return CLI_FAILED;
    }
  }
  strata_wal_options opt;
  strata_wal_options_init(&opt);
  opt.sync = STRATA_WAL_SYNC_NONE; /* close syncs, before anything is printed */
  if (cli_given(o, CLI_OPT_RECOVERY)) opt.recovery = o->recovery;
  opt.on_damage = count_drop;
  opt.damage_arg = drops;
  int st = strata_wal_open(dir, &opt, out);
  if (st != STRATA_OK) return cli_fail(st, dir);
  if (drops->n)
    cli_error("warning: %s: dropped %" PRIu64 " bytes in %" PRIu64
              " place%s (strata verify %s gives the details)",
              dir, drops->bytes, drops->n, drops->n == 1 ? "" : "s", dir);
  return CLI_OK;
}

static int close_wal(strata_wal *w, const char *dir) {
  int st = strata_wal_close(w);
  return st == STRATA_OK ? CLI_OK : cli_fail(st, dir);
}

static int parse_seq(const char *s, uint64_t *out) {
  if (!*s) return -1;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Decodes text into `out` (reset first); CLI_USAGE with a message if bad. */
static int decode(const cli_options *o, const char *s, size_t n, cli_buf *out,
                  const char *where) {
  char err[160];
  cli_buf_free(out);
  if (cli_decode(s, n, o->hex, out, err, sizeof err) == 0) return CLI_OK;
  cli_error("wal append: %s: %s", where, err);
  return CLI_USAGE;
}

/* Parses one stdin line into `b`. */
static int add_line(const cli_options *o, strata_batch *b, const char *p,
                    size_t len, size_t line) {
  char where[32];
  snprintf(where, sizeof where, "line %zu", line);
  const char *t1 = memchr(p, '\t', len);
  if (!t1) {
    cli_error("wal append: %s: expected put<TAB>KEY<TAB>VALUE or del<TAB>KEY",
              where);
    return CLI_USAGE;
  }
  size_t wl = (size_t)(t1 - p);
  const char *rest = t1 + 1;
  size_t rl = len - wl - 1;
  cli_buf key = {0}, val = {0};
  int rc = CLI_OK;
  if (wl == 3 && memcmp(p, "put", 3) == 0) {
    const char *t2 = memchr(rest, '\t', rl);
    if (!t2) {
      cli_error("wal append: %s: put needs KEY<TAB>VALUE", where);
      return CLI_USAGE;
    }
    rc = decode(o, rest, (size_t)(t2 - rest), &key, where);
    if (rc == CLI_OK)
      rc = decode(o, t2 + 1, rl - (size_t)(t2 - rest) - 1, &val, where);
    if (rc == CLI_OK &&
        strata_batch_put(b, key.data, key.len, val.data, val.len) != STRATA_OK)
      rc = cli_fail(STRATA_INVALID_ARGUMENT, NULL);
  } else if (wl == 3 && memcmp(p, "del", 3) == 0) {
    rc = decode(o, rest, rl, &key, where);
    if (rc == CLI_OK && strata_batch_delete(b, key.data, key.len) != STRATA_OK)
      rc = cli_fail(STRATA_INVALID_ARGUMENT, NULL);
  } else {
    cli_error("wal append: %s: unknown operation '%.*s' (put or del)", where,
              (int)wl, p);
    rc = CLI_USAGE;
  }
  cli_buf_free(&key);
  cli_buf_free(&val);
  return rc;
}

/* Reads stdin into batches; each finished batch is appended to `batches`. */
static int read_batches(const cli_options *o, strata_batch ***batches,
                        size_t *n) {
  cli_buf in = {0};
  if (cli_read_all(stdin, &in, "wal append") != CLI_OK) return CLI_FAILED;
  size_t cap = 0, line = 0;
  strata_batch *cur = NULL;
  int rc = CLI_OK;
  const char *p = in.data, *end = in.data + in.len;
  while (rc == CLI_OK && (p < end || cur)) {
    const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
    size_t len = p < end ? (nl ? (size_t)(nl - p) : (size_t)(end - p)) : 0;
    line++;
    if (len == 0) { /* an empty line (or the end) ends the batch */
      if (cur) {
        if (*n == cap) {
          cap = cap ? cap * 2 : 16;
          strata_batch **v = realloc(*batches, cap * sizeof *v);
          if (!v) cli_out_of_memory();
          *batches = v;
        }
        (*batches)[(*n)++] = cur;
        cur = NULL;
      }
    } else {
      if (!cur && !(cur = strata_batch_create())) cli_out_of_memory();
      rc = add_line(o, cur, p, len, line);
    }
    p = p < end ? p + len + 1 : end;
  }
  strata_batch_destroy(cur);
  cli_buf_free(&in);
  return rc;
}

static int cmd_append(const cli_options *o, const char *dir, char **args,
                      int nargs) {
  strata_batch **batches = NULL;
  size_t n = 0;
  int rc = CLI_OK;
  int del = cli_given(o, CLI_OPT_DELETE);
  if (nargs == 1 && strcmp(args[0], "-") == 0 && !del) {
    rc = read_batches(o, &batches, &n);
    if (rc == CLI_OK && n == 0) {
      cli_error("wal append: no operations on stdin");
      rc = CLI_USAGE;
    }
  } else if ((del && nargs == 0) || (!del && nargs == 2)) {
    strata_batch *b = strata_batch_create();
    batches = malloc(sizeof *batches);
    if (!b || !batches) cli_out_of_memory();
    batches[n++] = b;
    cli_buf key = {0}, val = {0};
    rc = decode(o, del ? o->delete_key : args[0],
                strlen(del ? o->delete_key : args[0]), &key, "KEY");
    if (rc == CLI_OK && !del)
      rc = decode(o, args[1], strlen(args[1]), &val, "VALUE");
    if (rc == CLI_OK) {
      int st = del ? strata_batch_delete(b, key.data, key.len)
                   : strata_batch_put(b, key.data, key.len, val.data, val.len);
      if (st != STRATA_OK) rc = cli_fail(st, NULL);
    }
    cli_buf_free(&key);
    cli_buf_free(&val);
  } else {
    cli_error("wal append: expected DIR KEY VALUE, DIR --delete KEY or DIR -");
    rc = CLI_USAGE;
  }
  uint64_t *seqs = n ? calloc(n, sizeof *seqs) : NULL;
  if (n && !seqs) cli_out_of_memory();
  if (rc == CLI_OK) {
    wal_drops drops = {0, 0};
    strata_wal *w = NULL;
    rc = open_wal(o, dir, 1, &drops, &w);
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
      int st = strata_wal_append(w, batches[i], &seqs[i]);
      if (st != STRATA_OK) rc = cli_fail(st, dir);
    }
    if (w) {
      int crc = close_wal(w, dir);
      if (rc == CLI_OK) rc = crc;
    }
  }
  if (rc == CLI_OK) {
    if (o->json) {
      json_writer j;
      json_init(&j, stdout);
      json_object_begin(&j);
      json_key(&j, "dir");
      json_str(&j, dir);
      json_key(&j, "sequences");
      json_array_begin(&j);
      for (size_t i = 0; i < n; i++)
        json_uint(&j, seqs[i]);
      json_array_end(&j);
      json_object_end(&j);
      json_finish(&j);
    } else {
      for (size_t i = 0; i < n; i++)
        printf("%" PRIu64 "\n", seqs[i]);
    }
  }
  for (size_t i = 0; i < n; i++)
    strata_batch_destroy(batches[i]);
  free(batches);
  free(seqs);
  return rc;
}

typedef struct replay_out {
  const cli_options *o; /* hex, json */
  json_writer j;        /* with --json */
} replay_out;

static int print_op(void *arg, uint64_t seq, int op, const void *key,
                    size_t klen, const void *value, size_t vlen) {
  replay_out *r = arg;
  int hex = r->o->hex;
  if (r->o->json) {
    json_object_begin(&r->j);
    json_key(&r->j, "seq");
    json_uint(&r->j, seq);
    json_key(&r->j, "op");
    json_str(&r->j, op == STRATA_OP_PUT ? "put" : "del");
    json_key(&r->j, "key");
    json_bytes(&r->j, hex, key, klen);
    if (op == STRATA_OP_PUT) {
      json_key(&r->j, "value");
      json_bytes(&r->j, hex, value, vlen);
    }
    json_object_end(&r->j);
    return 0;
  }
  printf("%" PRIu64 "\t%s\t", seq, op == STRATA_OP_PUT ? "put" : "del");
  cli_write_bytes(stdout, hex, 0, key, klen);
  if (op == STRATA_OP_PUT) {
    putchar('\t');
    cli_write_bytes(stdout, hex, 0, value, vlen);
  }
  putchar('\n');
  return 0;
}

static int cmd_replay(const cli_options *o, const char *dir) {
  wal_drops drops = {0, 0};
  strata_wal *w = NULL;
  int rc = open_wal(o, dir, 0, &drops, &w);
  if (rc != CLI_OK) return rc;
  replay_out r = {.o = o};
  json_init(&r.j, stdout);
  if (o->json) {
    json_object_begin(&r.j);
    json_key(&r.j, "dir");
    json_str(&r.j, dir);
    json_key(&r.j, "operations");
    json_array_begin(&r.j);
  }
  int st = strata_wal_replay(w, o->after, print_op, &r);
  if (o->json) {
    json_array_end(&r.j);
    json_key(&r.j, "last_sequence");
    json_uint(&r.j, strata_wal_last_sequence(w));
    json_object_end(&r.j);
    json_finish(&r.j);
  }
  if (st != STRATA_OK) rc = cli_fail(st, dir);
  int crc = close_wal(w, dir);
  return rc != CLI_OK ? rc : crc;
}

static int cmd_checkpoint(const cli_options *o, const char *dir, char **args,
                          int nargs) {
  uint64_t seq;
  if (nargs != 1 || parse_seq(args[0], &seq) != 0) {
    cli_error("wal checkpoint: expected DIR SEQ (a decimal sequence number)");
    return CLI_USAGE;
  }
  wal_drops drops = {0, 0};
  strata_wal *w = NULL;
  int rc = open_wal(o, dir, 0, &drops, &w);
  if (rc != CLI_OK) return rc;
  int st = strata_wal_checkpoint(w, seq);
  if (st != STRATA_OK) rc = cli_fail(st, dir);
  int crc = close_wal(w, dir);
  return rc != CLI_OK ? rc : crc;
}

static int cmd_truncate(const cli_options *o, const char *dir, int nargs) {
  int front = cli_given(o, CLI_OPT_FRONT), back = cli_given(o, CLI_OPT_BACK);
  if (nargs != 0 || front == back) {
    cli_error("wal truncate: expected DIR and one of --front SEQ, --back SEQ");
    return CLI_USAGE;
  }
  wal_drops drops = {0, 0};
  strata_wal *w = NULL;
  int rc = open_wal(o, dir, 0, &drops, &w);
  if (rc != CLI_OK) return rc;
  int st = front ? strata_wal_truncate_front(w, o->front)
                 : strata_wal_truncate_back(w, o->back);
  if (st != STRATA_OK) rc = cli_fail(st, dir);
  int crc = close_wal(w, dir);
  return rc != CLI_OK ? rc : crc;
}

int cli_cmd_wal(const cli_options *o) {
  static const char usage[] =
      "wal: expected append|replay|checkpoint|truncate DIR ... (strata help)";
  if (o->argc < 3) {
    cli_error("%s", usage);
    return CLI_USAGE;
  }
  const char *sub = o->argv[1], *dir = o->argv[2];
  char **args = o->argv + 3;
  int nargs = o->argc - 3;
  int is_append = strcmp(sub, "append") == 0;
  if (cli_given(o, CLI_OPT_DELETE) && !is_append) {
    cli_error("wal %s: --delete applies to wal append only", sub);
    return CLI_USAGE;
  }
  if ((cli_given(o, CLI_OPT_FRONT) || cli_given(o, CLI_OPT_BACK)) &&
      strcmp(sub, "truncate") != 0) {
    cli_error("wal %s: --front/--back apply to wal truncate only", sub);
    return CLI_USAGE;
  }
  if (cli_given(o, CLI_OPT_AFTER) && strcmp(sub, "replay") != 0) {
    cli_error("wal %s: --after applies to wal replay only", sub);
    return CLI_USAGE;
  }
  if (is_append) return cmd_append(o, dir, args, nargs);
  if (strcmp(sub, "replay") == 0) {
    if (nargs) {
      cli_error("wal replay: expected DIR [--after SEQ]");
      return CLI_USAGE;
    }
    return cmd_replay(o, dir);
  }
  if (strcmp(sub, "checkpoint") == 0)
    return cmd_checkpoint(o, dir, args, nargs);
  if (strcmp(sub, "truncate") == 0) return cmd_truncate(o, dir, nargs);
  cli_error("wal: unknown subcommand '%s' (append, replay, checkpoint or "
            "truncate)",
            sub);
  return CLI_USAGE;
}

/* WAL-level damage is added; the per-file reads already found the rest, and
 * their reports get the range of sequence numbers lost appended. */
static void collect_wal_level(void *arg, const strata_wal_damage *d) {
  cli_drops *drops = arg;
  if (d->damage.kind == STRATA_DAMAGE_SEQUENCE_GAP ||
      d->damage.kind == STRATA_DAMAGE_BAD_RECORD) {
    cli_drops_collect(arg, &d->damage);
    return;
  }
  if (!d->lost_known) return;
  char extra[96];
  if (d->lost_first <= d->lost_last)
    snprintf(extra, sizeof extra,
             " (sequence numbers %" PRIu64 "..%" PRIu64 " lost)", d->lost_first,
             d->lost_last);
  else
    snprintf(extra, sizeof extra, " (no sequence number lost)");
  for (size_t i = 0; i < drops->n; i++) {
    cli_drop *x = &drops->v[i];
    if (x->offset != d->damage.offset || strcmp(x->file, d->damage.file) != 0)
      continue;
    size_t len = strlen(x->reason);
    char *r = realloc(x->reason, len + strlen(extra) + 1);
    if (!r) cli_out_of_memory();
    strcpy(r + len, extra);
    x->reason = r;
    break;
  }
}

int cli_wal_verify_sequences(const char *dir, cli_drops *drops) {
  return strata_wal_verify(dir, collect_wal_level, drops, NULL);
}
