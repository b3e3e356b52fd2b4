/*
 * cmd_dump.c — `strata dump FILE`: a record-log file, record by record.
 *
 * Text output, one item per line, tab-separated fields (greps well):
 *   record<TAB>offset=N<TAB>length=N<TAB>fragments=N[<TAB>seq=N<TAB>count=N]
 *   <TAB>put<TAB>KEY<TAB>VALUE      one line per operation, when the record
 *   <TAB>del<TAB>KEY                decodes as a write batch
 *   <TAB>data<TAB>BYTES             the record itself, when it does not
 *   <TAB>FIELD<TAB>...              MANIFEST-* files: one line per field of
 *                                   the edit (manifest.c)
 *   drop<TAB>offset=N<TAB>bytes=N<TAB>kind=K<TAB>reason=R<TAB>records=N<TAB>tail=yes|no
 *   summary<TAB>file=F<TAB>policy=P<TAB>records=N<TAB>bytes=N<TAB>drops=N<TAB>dropped_bytes=N
 * `length` and summary `bytes` count record payload; drop `bytes` count file
 * bytes. Keys, values and data are in the escaped text form (or hex). With
 * --json: one object {"file", "policy", "records": [...], "drops": [...],
 * "summary": {...}, "complete": bool}.
 *
 * A directory: a WAL directory's segments, or an LSM directory's CURRENT
 * (a line current<TAB>file=F<TAB>manifest=NAME), MANIFEST-*, *.log (WAL
 * batches) and tables (cmd_table.c), each reported as above, in that order.
 *
 * Policy: --recovery, else point-in-time for *.log and MANIFEST-*, skip for
 * the rest. If the policy refuses (exit 3) or a read fails (exit 4), what was
 * read so far is still printed; the error is the one line on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct dump {
  const cli_options *o; /* the options (hex, json) */
  int manifest;         /* 1: a MANIFEST-* file, records are edits */
  json_writer json;     /* the JSON writer, with --json */
  uint64_t records;     /* records printed */
  uint64_t bytes;       /* their payload bytes */
} dump;

static int print_op(void *arg, int op, const void *key, size_t key_len,
                    const void *value, size_t value_len) {
  dump *d = arg;
  int hex = d->o->hex;
  if (d->o->json) {
    json_writer *w = &d->json;
    json_object_begin(w);
    json_key(w, "op");
    json_str(w, op == STRATA_OP_PUT ? "put" : "del");
    json_key(w, "key");
    json_bytes(w, hex, key, key_len);
    if (op == STRATA_OP_PUT) {
      json_key(w, "value");
      json_bytes(w, hex, value, value_len);
    }
    json_object_end(w);
    return 0;
  }
  fputs(op == STRATA_OP_PUT ? "\tput\t" : "\tdel\t", stdout);
  cli_write_bytes(stdout, hex, 0, key, key_len);
  if (op == STRATA_OP_PUT) {
    putchar('\t');
    cli_write_bytes(stdout, hex, 0, value, value_len);
  }
  putchar('\n');
  return 0;
}

static void print_record(dump *d, const void *data, size_t size,
                         const strata_log_record_info *info) {
  uint64_t seq = 0;
  uint32_t count = 0;
  int batch = !d->manifest && strata_batch_decode(data, size, &seq, &count,
                                                  NULL, NULL) == STRATA_OK;
  d->records++;
  d->bytes += size;
  if (d->o->json) {
    json_writer *w = &d->json;
    json_object_begin(w);
    json_key(w, "offset");
    json_uint(w, info->offset);
    json_key(w, "length");
    json_uint(w, size);
    json_key(w, "fragments");
    json_uint(w, info->fragments);
    if (d->manifest) {
      cli_manifest_dump_record(d->o, w, data, size);
    } else if (batch) {
      json_key(w, "batch");
      json_object_begin(w);
      json_key(w, "sequence");
      json_uint(w, seq);
      json_key(w, "count");
      json_uint(w, count);
      json_key(w, "ops");
      json_array_begin(w);
      strata_batch_decode(data, size, NULL, NULL, print_op, d);
      json_array_end(w);
      json_object_end(w);
    } else {
      json_key(w, "data");
      json_bytes(w, d->o->hex, data, size);
    }
    json_object_end(w);
    return;
  }
  printf("record\toffset=%" PRIu64 "\tlength=%zu\tfragments=%" PRIu32,
         info->offset, size, info->fragments);
  if (d->manifest) {
    putchar('\n');
    cli_manifest_dump_record(d->o, NULL, data, size);
  } else if (batch) {
    printf("\tseq=%" PRIu64 "\tcount=%" PRIu32 "\n", seq, count);
    strata_batch_decode(data, size, NULL, NULL, print_op, d);
  } else {
    fputs("\n\tdata\t", stdout);
    cli_write_bytes(stdout, d->o->hex, 0, data, size);
    putchar('\n');
  }
}

static void print_drops(dump *d, const cli_drops *drops) {
  for (size_t i = 0; i < drops->n; i++) {
    const cli_drop *x = &drops->v[i];
    const char *kind = strata_damage_kind_name(x->kind);
    if (d->o->json) {
      json_writer *w = &d->json;
      json_object_begin(w);
      json_key(w, "offset");
      json_uint(w, x->offset);
      json_key(w, "bytes");
      json_uint(w, x->bytes);
      json_key(w, "kind");
      json_str(w, kind);
      json_key(w, "reason");
      json_str(w, x->reason);
      json_key(w, "records");
      json_uint(w, x->records);
      json_key(w, "tail");
      json_bool(w, x->tail);
      json_object_end(w);
      continue;
    }
    printf("drop\toffset=%" PRIu64 "\tbytes=%" PRIu64 "\tkind=%s\treason=",
           x->offset, x->bytes, kind);
    cli_write_bytes(stdout, 0, 0, x->reason, strlen(x->reason));
    printf("\trecords=%" PRIu64 "\ttail=%s\n", x->records,
           x->tail ? "yes" : "no");
  }
}

static void print_summary(dump *d, const char *path, strata_recovery policy,
                          const cli_drops *drops, int complete) {
  if (d->o->json) {
    json_writer *w = &d->json;
    json_key(w, "summary");
    json_object_begin(w);
    json_key(w, "records");
    json_uint(w, d->records);
    json_key(w, "bytes");
    json_uint(w, d->bytes);
    json_key(w, "drops");
    json_uint(w, drops->n);
    json_key(w, "dropped_bytes");
    json_uint(w, drops->bytes);
    json_object_end(w);
    json_key(w, "complete");
    json_bool(w, complete);
    return;
  }
  fputs("summary\tfile=", stdout);
  cli_write_bytes(stdout, 0, 0, path, strlen(path));
  printf("\tpolicy=%s\trecords=%" PRIu64 "\tbytes=%" PRIu64
         "\tdrops=%zu\tdropped_bytes=%" PRIu64 "\n",
         strata_recovery_name(policy), d->records, d->bytes, drops->n,
         drops->bytes);
}

static int dump_file(const cli_options *o, const char *path);

/* CURRENT of an LSM directory: the MANIFEST it names. Text:
 *   current<TAB>file=F<TAB>manifest=NAME   (escaped; no newline = damaged)
 * JSON: {"file", "current", "newline": bool}. */
static int dump_current(const cli_options *o, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_error("%s: %s", path, cli_errno_text(errno));
    return CLI_FAILED;
  }
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  int err = ferror(f);
  fclose(f);
  if (err) {
    cli_error("%s: read error", path);
    return CLI_FAILED;
  }
  int newline = n > 0 && buf[n - 1] == '\n';
  size_t len = newline ? n - 1 : n;
  if (o->json) {
    json_writer w;
    json_init(&w, stdout);
    json_object_begin(&w);
    json_key(&w, "file");
    json_str(&w, path);
    json_key(&w, "current");
    json_bytes(&w, 0, buf, len);
    json_key(&w, "newline");
    json_bool(&w, newline);
    json_object_end(&w);
    json_finish(&w);
  } else {
    fputs("current\tfile=", stdout);
    cli_write_bytes(stdout, 0, 0, path, strlen(path));
    fputs("\tmanifest=", stdout);
    cli_write_bytes(stdout, 0, 0, buf, len);
    putchar('\n');
  }
  if (!newline) {
    cli_error("%s: does not end with a newline (damaged)", path);
    return CLI_REFUSED;
  }
  return CLI_OK;
}

/* Files of an LSM directory in dump order: CURRENT, MANIFEST-*, then by
 * name. */
static int dump_rank(const char *path) {
  const char *b = cli_basename(path);
  return strcmp(b, "CURRENT") == 0         ? 0
         : strncmp(b, "MANIFEST-", 9) == 0 ? 1
                                           : 2;
}

static int by_rank(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  int rx = dump_rank(x), ry = dump_rank(y);
  return rx != ry ? rx - ry : strcmp(x, y);
}

/* 1 if the directory dump shows this file: a WAL directory's segments
 * (*.log); an LSM directory's CURRENT, MANIFEST-*, *.log and tables (LOCK
 * and the text LOG are not strata formats). */
static int dumps_name(const char *name, int lsm) {
  size_t len = strlen(name);
  int log = len > 4 && strcmp(name + len - 4, ".log") == 0;
  if (!lsm) return log;
  return log || strcmp(name, "CURRENT") == 0 ||
         strncmp(name, "MANIFEST-", 9) == 0 || cli_is_table(name);
}

/* A WAL or LSM directory: each file in order, one report each (one JSON
 * object per line with --json): *.log as WAL batches, MANIFEST-* as
 * records, tables block by block. */
static int dump_dir(const cli_options *o, const char *dir, int lsm) {
  DIR *d = opendir(dir);
  if (!d) {
    cli_error("%s: cannot list directory", dir);
    return CLI_FAILED;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (!dumps_name(e->d_name, lsm)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **v = realloc(names, cap * sizeof *v);
      if (!v) cli_out_of_memory();
      names = v;
    }
    size_t plen = strlen(dir) + len + 2;
    if (!(names[n] = malloc(plen))) cli_out_of_memory();
    snprintf(names[n++], plen, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, by_rank);
  int rc = CLI_OK;
  for (size_t i = 0; i < n; i++) {
    int frc = strcmp(cli_basename(names[i]), "CURRENT") == 0
                  ? dump_current(o, names[i])
                  : dump_file(o, names[i]);
    if (rc == CLI_OK) rc = frc;
    free(names[i]);
  }
  free(names);
  return rc;
}

int cli_cmd_dump(const cli_options *o) {
  if (o->argc != 2) {
    cli_error("dump: expected exactly one FILE (strata dump FILE)");
    return CLI_USAGE;
  }
  const char *path = o->argv[1];
  int is_dir = 0, rc = cli_check_path(path, &is_dir);
  if (rc != CLI_OK) return rc;
  if (is_dir) {
    const char *engine = cli_detect_engine(path);
    if (engine && strcmp(engine, "wal") == 0) return dump_dir(o, path, 0);
    if (engine && strcmp(engine, "lsm") == 0) return dump_dir(o, path, 1);
    cli_error("%s: is a directory (dump reads one file, or the files of a "
              "WAL or LSM directory)",
              path);
    return CLI_FAILED;
  }
  if (strcmp(cli_basename(path), "CURRENT") == 0) return dump_current(o, path);
  return dump_file(o, path);
}

static int dump_file(const cli_options *o, const char *path) {
  int rc;
  if (cli_is_table(path)) return cli_table_dump(o, path);
  strata_recovery policy =
      cli_given(o, CLI_OPT_RECOVERY) ? o->recovery : cli_default_policy(path);
  cli_drops drops = {0};
  strata_log_reader *r = NULL;
  int st = strata_log_reader_open(path, policy, cli_drops_collect, &drops, &r);
  if (st != STRATA_OK) {
    cli_drops_free(&drops);
    return cli_fail(st, path);
  }

  dump d = {.o = o, .manifest = cli_is_manifest(path)};
  json_init(&d.json, stdout);
  if (o->json) {
    json_object_begin(&d.json);
    json_key(&d.json, "file");
    json_str(&d.json, path);
    json_key(&d.json, "policy");
    json_str(&d.json, strata_recovery_name(policy));
    json_key(&d.json, "records");
    json_array_begin(&d.json);
  }
  const void *data;
  size_t size;
  strata_log_record_info info;
  while ((st = strata_log_reader_next(r, &data, &size, &info)) == STRATA_OK)
    print_record(&d, data, size, &info);
  if (o->json) {
    json_array_end(&d.json);
    json_key(&d.json, "drops");
    json_array_begin(&d.json);
  }
  print_drops(&d, &drops);
  if (o->json) json_array_end(&d.json);
  print_summary(&d, path, policy, &drops, st == STRATA_END);
  if (o->json) {
    json_object_end(&d.json);
    json_finish(&d.json);
  }

  if (st != STRATA_END) {
    rc = cli_fail(st, path);
  } else {
    rc = CLI_OK;
    if (drops.n)
      cli_error("warning: %s: dropped %" PRIu64 " bytes in %zu place%s", path,
                drops.bytes, drops.n, drops.n == 1 ? "" : "s");
  }
  strata_log_reader_close(r);
  cli_drops_free(&drops);
  return rc;
}
