/*
 * db_verify.c — strata_db_verify: checks an LSM database directory without
 * changing it and without its lock: CURRENT and every MANIFEST record
 * (checksums and decoding), that every table the MANIFEST lists exists and
 * every block of it passes its checksum and parses, that levels >= 1 are
 * sorted and disjoint, and every live WAL record (checksums, and that each
 * record is a well-formed write batch). When the MANIFEST cannot be read,
 * every table and WAL in the directory is checked instead.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "lsm/filename.h"
#include "lsm/ledger.h"
#include "lsm/version.h"
#include "sstable/ikey.h"
#include "util/status.h"
#include "wal/write_batch.h"

typedef struct checker {
  strata_damage_fn fn; /* the caller's callback, or NULL */
  void *arg;           /* its argument */
  uint64_t found;      /* damaged regions reported */
} checker;

static void report(void *arg, const strata_damage *d) {
  checker *c = arg;
  c->found++;
  if (c->fn) c->fn(c->arg, d);
}

static void report_table(void *arg, const strata_table_damage *d) {
  report(arg, &d->damage);
}

static void report_plain(checker *c, const char *file, uint64_t off,
                         uint64_t bytes, strata_damage_kind kind,
                         const char *reason) {
  strata_damage d = {file, off, bytes, kind, reason, 0, 0};
  report(c, &d);
}

static int check_table(checker *c, const char *path) {
  strata_table_visitor v;
  memset(&v, 0, sizeof v);
  v.damage = report_table;
  v.arg = c;
  uint64_t damaged = 0;
  return strata_table_inspect(path, &v, &damaged);
}

static int check_wal(checker *c, env *e, const char *path) {
  log_reader *r = NULL;
  int rc = log_reader_open(e, path, STRATA_RECOVERY_SKIP, report, c, &r);
  if (rc) return rc;
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while ((rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK)
    if (n < WRITE_BATCH_HEADER ||
        strata_batch_decode(rec, n, NULL, NULL, NULL, NULL) != STRATA_OK)
      report_plain(c, path, info.offset, n, STRATA_DAMAGE_BAD_RECORD,
                   "a checksummed record that is not a write batch");
  log_reader_close(r);
  return rc == STRATA_END ? STRATA_OK : rc;
}

static int check_levels(checker *c, const lsm_version *v, const char *dir) {
  for (int l = 1; l < LSM_LEVELS; l++)
    for (size_t i = 1; i < v->n[l]; i++) {
      const sst_file *a = &v->files[l][i - 1]->f, *b = &v->files[l][i]->f;
      if (ikey_compare(SST_CMP_INTERNAL, a->largest, a->largest_len,
                       b->smallest, b->smallest_len) >= 0) {
        char why[160];
        snprintf(why, sizeof why,
                 "MANIFEST: level %d files %06" PRIu64 " and %06" PRIu64
                 " overlap",
                 l, a->number, b->number);
        report_plain(c, dir, 0, 0, STRATA_DAMAGE_BAD_RECORD, why);
      }
    }
  return STRATA_OK;
}

static void report_lost(void *arg, const lsm_lost *x) {
  char why[600];
  snprintf(why, sizeof why, "listed in LEDGER (not yet acknowledged): %s",
           x->reason);
  report_plain(arg, x->file, x->offset, x->bytes, (strata_damage_kind)x->kind,
               why);
}

/* Ranges the ledger still lists are losses the user has not acknowledged. */
static int check_ledger(checker *c, env *e, const char *dir) {
  lsm_ledger l;
  int rc = lsm_ledger_open(&l, e, dir, report, c);
  if (!rc) lsm_ledger_list(&l, report_lost, c);
  lsm_ledger_close(&l);
  return rc;
}

int strata_db_verify(const char *dir, strata_damage_fn fn, void *arg) {
  env *e = env_posix();
  checker c = {fn, arg, 0};
  lsm_vset vs;
  int rc = lsm_vset_init(&vs, e, dir);
  if (rc) return rc;
  int have_manifest = lsm_vset_recover(&vs, report, &c) == STRATA_OK;
  if (!have_manifest) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", strata_last_error());
    char *cur = lsm_dir_path(dir, "CURRENT");
    if (!env_exists(e, cur ? cur : dir) && c.found == 0)
      rc = st_error(STRATA_NOT_FOUND, "%s: no LSM database (no CURRENT)", dir);
    else if (c.found == 0) /* not a log-level damage: say what it was */
      report_plain(&c, cur ? cur : dir, 0, 0, STRATA_DAMAGE_BAD_RECORD, msg);
    free(cur);
  }
  char **names = NULL;
  size_t count = 0;
  if (!rc) rc = env_list_dir(e, dir, &names, &count);
  lsm_version *v = have_manifest ? lsm_vset_current(&vs) : NULL;
  if (!rc && v) {
    check_levels(&c, v, dir);
    for (int l = 0; l < LSM_LEVELS && !rc; l++)
      for (size_t i = 0; i < v->n[l] && !rc; i++) {
        const sst_file *f = &v->files[l][i]->f;
        char *p = lsm_file_path(dir, f->number, "ldb");
        if (p && !env_exists(e, p)) {
          free(p);
          p = lsm_file_path(dir, f->number, "sst");
        }
        if (!p)
          rc = st_error(STRATA_NO_MEMORY, "out of memory");
        else if (!env_exists(e, p))
          report_plain(&c, p, 0, f->size, STRATA_DAMAGE_MISSING,
                       "a table the MANIFEST lists is missing");
        else
          rc = check_table(&c, p);
        free(p);
      }
  }
  for (size_t i = 0; !rc && i < count; i++) {
    lsm_file_type t;
    uint64_t num;
    if (!lsm_parse_file_name(names[i], &t, &num)) continue;
    char *p = lsm_dir_path(dir, names[i]);
    if (!p) {
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
      break;
    }
    if (t == LSM_FILE_LOG && (!v || num >= vs.log_number || num == vs.prev_log))
      rc = check_wal(&c, e, p);
    else if (t == LSM_FILE_TABLE && !v)
      rc = check_table(&c, p);
    free(p);
  }
  env_free_list(names, count);
  if (!rc) rc = check_ledger(&c, e, dir);
  lsm_version_unref(v);
  lsm_vset_free(&vs);
  if (rc) return rc;
  if (c.found)
    return st_error(STRATA_CORRUPTION, "%s: %" PRIu64 " damaged region%s", dir,
                    c.found, c.found == 1 ? "" : "s");
  return STRATA_OK;
}

/* ---- would LevelDB 1.23 open it? ----------------------------------------- */

typedef struct reasons {
  char *text; /* "; "-separated (malloc'd), or NULL */
  size_t len; /* its length */
  int failed; /* an allocation failed */
} reasons;

static void add_reason(reasons *r, const char *fmt, ...) ST_PRINTF(2, 3);
static void add_reason(reasons *r, const char *fmt, ...) {
  char line[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (r->text && strstr(r->text, line)) return; /* once each */
  size_t n = strlen(line);
  char *t = realloc(r->text, r->len + n + 3);
  if (!t) {
    r->failed = 1;
    return;
  }
  if (r->len) {
    memcpy(t + r->len, "; ", 2);
    r->len += 2;
  }
  memcpy(t + r->len, line, n + 1);
  r->len += n;
  r->text = t;
}

typedef struct block_check {
  reasons *r;       /* where reasons go */
  const char *path; /* the table */
} block_check;

static void check_block(void *arg, const strata_table_block_info *b) {
  block_check *c = arg;
  if (b->checksum_ok && b->compression != 0 && b->compression != 1)
    add_reason(c->r,
               "%s: blocks compressed with type %d (LevelDB 1.23 reads only "
               "none and Snappy)",
               c->path, b->compression);
}

int strata_db_leveldb_compatible(const char *dir, char **why) {
  *why = NULL;
  env *e = env_posix();
  reasons r = {NULL, 0, 0};
  uint64_t mnum;
  int rc = lsm_read_current(e, dir, &mnum);
  if (rc == STRATA_NOT_FOUND) {
    *why = strdup("no CURRENT: not an LSM database");
    return -1;
  }
  if (rc) {
    add_reason(&r, "%s", strata_last_error()); /* names CURRENT's fault */
  } else {
    lsm_vset vs;
    if ((rc = lsm_vset_init(&vs, e, dir))) {
      *why = strdup("out of memory");
      return -1;
    }
    /* The MANIFEST as LevelDB reads it: every record intact and decodable
     * (strata's decoder accepts exactly LevelDB's tags), one comparator. */
    if (lsm_vset_recover(&vs, NULL, NULL) != STRATA_OK) {
      add_reason(&r, "the MANIFEST cannot be replayed: %s",
                 strata_last_error());
    } else {
      lsm_version *v = lsm_vset_current(&vs);
      for (int l = 1; l < LSM_LEVELS; l++)
        for (size_t i = 1; i < v->n[l]; i++) {
          const sst_file *a = &v->files[l][i - 1]->f, *b = &v->files[l][i]->f;
          if (ikey_compare(SST_CMP_INTERNAL, a->largest, a->largest_len,
                           b->smallest, b->smallest_len) >= 0)
            add_reason(
                &r, "level %d: files %06" PRIu64 " and %06" PRIu64 " overlap",
                l, a->number, b->number);
        }
      for (int l = 0; l < LSM_LEVELS; l++)
        for (size_t i = 0; i < v->n[l]; i++) {
          const sst_file *f = &v->files[l][i]->f;
          char *p = lsm_file_path(dir, f->number, "ldb");
          if (p && !env_exists(e, p)) {
            free(p);
            p = lsm_file_path(dir, f->number, "sst");
          }
          if (!p) {
            r.failed = 1;
            continue;
          }
          if (!env_exists(e, p)) {
            add_reason(&r, "table %06" PRIu64 ".ldb is missing", f->number);
          } else {
            block_check c = {&r, p};
            strata_table_visitor tv;
            memset(&tv, 0, sizeof tv);
            tv.block = check_block;
            tv.arg = &c;
            strata_table_inspect(p, &tv, NULL);
          }
          free(p);
        }
      lsm_version_unref(v);
    }
    lsm_vset_free(&vs);
  }
  if (r.failed) {
    free(r.text);
    *why = strdup("out of memory");
    return -1;
  }
  *why = r.text;
  return r.text == NULL;
}
