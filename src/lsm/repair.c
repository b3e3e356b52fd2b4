/*
 * repair.c — strata_db_repair, reading side: what survives of a damaged LSM
 * database (docs/repair.md); the WALs are read by repair_wal.c.
 *
 * Sources: CURRENT and the MANIFEST it names are read under skip; only when
 * they are entirely clean (no damaged region, every record an edit, the
 * version set recovers) is the MANIFEST used, to know which tables and WALs
 * are live (others are reported IGNORED). Otherwise every NNNNNN.ldb/.sst and
 * NNNNNN.log of the directory is read. Tables are opened under skip, so a
 * table whose footer, index or metaindex is lost is salvaged from its intact
 * data blocks; WALs are read under skip, every intact batch with its
 * sequence numbers, into one memtable per WAL.
 *
 * Damage that may have cost entries becomes a region (repair.h):
 *  - a lost table data block or salvage gap: the internal keys between its
 *    neighbouring intact blocks (the table reader's after/upto, clipped to
 *    the table's MANIFEST range), any sequence number; a table that cannot
 *    be opened at all, or is listed by the MANIFEST but missing: its
 *    MANIFEST key range, or every key; a table whose walk stops early: from
 *    its last entry read on (the entries read go to a memtable source);
 *  - a lost WAL region: every key, the sequence numbers between the last
 *    intact batch before it and the first one after it (none when they are
 *    contiguous: then nothing was lost). A region with no intact batch after
 *    it anywhere is a lost tail: the newest writes are gone and the database
 *    is repaired as of the last intact batch (as a crash would leave it); it
 *    is reported but makes no key doubtful.
 * Damage that costs no entries (a lost index, footer, metaindex or filter
 * rebuilt from the data blocks, a damaged MANIFEST or CURRENT) is reported
 * with costs_keys 0.
 *
 * Bytes on disk are hostile: everything read goes through the checked
 * readers (log_reader, table reader, ve_decode); nothing here asserts on
 * them. The damaged directory is never written: no file is created or
 * changed in it (its LOCK is taken only when the file already exists).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "lsm/repair.h"
#include "lsm/version.h"
#include "sstable/ikey.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/write_batch.h"

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

void strata_repair_options_init(strata_repair_options *o) {
  memset(o, 0, sizeof *o);
}

void strata_repair_report_free(strata_repair_report *r) {
  if (!r) return;
  free(r->path);
  free(r->backup);
  r->path = r->backup = NULL;
}

void rep_event(rep_ctx *c, const strata_repair_event *ev) {
  if (ev->kind == STRATA_REPAIR_DAMAGE && ev->damage) {
    c->rep->damaged_regions++;
    c->rep->damaged_bytes += ev->damage->bytes;
    c->rep->records_lost += ev->damage->records;
  } else if (ev->kind == STRATA_REPAIR_DOUBTFUL) {
    c->rep->doubtful_keys++;
  } else if (ev->kind == STRATA_REPAIR_IGNORED) {
    c->rep->files_ignored++;
  }
  if (c->o->on_event) c->o->on_event(c->o->arg, ev);
}

int rep_add_region(rep_ctx *c, const uint8_t *lo, size_t lon, int lo_incl,
                   const uint8_t *hi, size_t hin, uint64_t seq_first,
                   uint64_t seq_last) {
  if (c->nregions == c->capregions) {
    size_t cap = c->capregions ? c->capregions * 2 : 8;
    rep_region *r = realloc(c->regions, cap * sizeof *r);
    if (!r) return oom();
    c->regions = r;
    c->capregions = cap;
  }
  rep_region *r = &c->regions[c->nregions];
  memset(r, 0, sizeof *r);
  if ((lo && sst_buf_set(&r->lo, lo, lon)) ||
      (hi && sst_buf_set(&r->hi, hi, hin))) {
    sst_buf_free(&r->lo);
    sst_buf_free(&r->hi);
    return oom();
  }
  r->lo_incl = lo_incl;
  r->seq_first = seq_first;
  r->seq_last = seq_last;
  c->nregions++;
  return STRATA_OK;
}

int rep_doubtful(const rep_ctx *c, const uint8_t *user, size_t un,
                 uint64_t seq) {
  if (seq >= IKEY_MAX_SEQUENCE) return 0;
  sst_buf lo = {0}, hi = {0};
  int doubt = 0;
  for (size_t i = 0; i < c->nregions && !doubt; i++) {
    const rep_region *r = &c->regions[i];
    uint64_t last =
        r->seq_last > IKEY_MAX_SEQUENCE ? IKEY_MAX_SEQUENCE : r->seq_last;
    uint64_t first = r->seq_first > seq + 1 ? r->seq_first : seq + 1;
    if (first > last) continue; /* it held nothing newer than seq */
    /* The versions it could have held: (user, last) .. (user, first) in
     * internal order, from (user, last, value) to (user, first, deletion). */
    lo.len = hi.len = 0;
    if (ikey_append(&lo, user, un, last, IKEY_VALUE) ||
        ikey_append(&hi, user, un, first, IKEY_DELETION)) {
      doubt = 1; /* out of memory: leave the key out rather than guess */
      break;
    }
    if (r->lo.len) {
      int k = ikey_compare(SST_CMP_INTERNAL, hi.data, hi.len, r->lo.data,
                           r->lo.len);
      if (k < 0 || (k == 0 && !r->lo_incl)) continue;
    }
    if (r->hi.len && ikey_compare(SST_CMP_INTERNAL, lo.data, lo.len, r->hi.data,
                                  r->hi.len) > 0)
      continue;
    doubt = 1;
  }
  sst_buf_free(&lo);
  sst_buf_free(&hi);
  return doubt;
}

/* ---- tables -------------------------------------------------------------- */

static size_t user_len(size_t n) { return n >= IKEY_TRAILER ? n - 8 : n; }

static void on_table_damage(void *arg, const strata_table_damage *d) {
  rep_ctx *c = arg;
  if (c->quiet) return;
  int data = d->block && strcmp(d->block, "data") == 0;
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DAMAGE;
  ev.damage = &d->damage;
  ev.block = d->block;
  ev.costs_keys = data;
  /* Index keys are separators, the last one a short successor that may
   * reach far past the table's keys: the MANIFEST's range clips them. */
  const uint8_t *lo = d->after, *hi = d->upto;
  size_t lon = d->after_len, hin = d->upto_len;
  int lo_incl = 0;
  if (c->tlo &&
      (!lo || ikey_compare(SST_CMP_INTERNAL, lo, lon, c->tlo, c->tlon) < 0)) {
    lo = c->tlo;
    lon = c->tlon;
    lo_incl = 1;
  }
  if (c->thi &&
      (!hi || ikey_compare(SST_CMP_INTERNAL, hi, hin, c->thi, c->thin) > 0)) {
    hi = c->thi;
    hin = c->thin;
  }
  ev.lo = lo;
  ev.lo_len = lo ? user_len(lon) : 0;
  ev.hi = hi;
  ev.hi_len = hi ? user_len(hin) : 0;
  if (data && rep_add_region(c, lo, lon, lo_incl, hi, hin, 0, UINT64_MAX))
    ev.costs_keys = 1; /* out of memory: the region is lost, say so */
  rep_event(c, &ev);
}

/* A table that cannot be read at all (or is missing): every key of
 * [lo, hi] (internal keys; NULL: unbounded) may be lost. */
static int table_lost(rep_ctx *c, const char *path, uint64_t bytes,
                      strata_damage_kind kind, const char *why,
                      const uint8_t *lo, size_t lon, const uint8_t *hi,
                      size_t hin) {
  strata_damage d = {path, 0, bytes, kind, why, 0, 1};
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DAMAGE;
  ev.damage = &d;
  ev.block = "table";
  ev.costs_keys = 1;
  ev.lo = lo;
  ev.lo_len = lo ? user_len(lon) : 0;
  ev.hi = hi;
  ev.hi_len = hi ? user_len(hin) : 0;
  rep_event(c, &ev);
  return rep_add_region(c, lo, lon, 1, hi, hin, 0, UINT64_MAX);
}

/* Copies the entries of a table whose walk stops early into a memtable
 * source (c->wals, named by the table's path). */
static int table_to_mem(rep_ctx *c, sst_table *t, const char *path) {
  int rc = STRATA_OK;
  if (c->nwals == c->capwals) {
    size_t cap = c->capwals ? c->capwals * 2 : 4;
    rep_wal *v = realloc(c->wals, cap * sizeof *v);
    if (!v) return oom();
    c->wals = v;
    c->capwals = cap;
  }
  mem_table *mem = mem_create();
  char *copy = strdup(path);
  sst_iter *it = sst_table_iter(t);
  if (!mem || !copy || !it) rc = oom();
  uint64_t lo = UINT64_MAX, hi = 0;
  c->quiet = 1; /* its damage was reported */
  if (!rc) sst_iter_seek_first(it);
  for (; !rc && sst_iter_valid(it); sst_iter_next(it)) {
    size_t kn, vn, ul;
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    uint64_t seq;
    int type;
    if (ikey_parse(k, kn, &ul, &seq, &type) != 0) continue;
    rc = mem_add(mem, seq, type, k, ul, v, vn);
    if (seq < lo) lo = seq;
    if (seq > hi) hi = seq;
  }
  c->quiet = 0;
  sst_iter_destroy(it);
  if (rc) {
    mem_unref(mem);
    free(copy);
    return rc;
  }
  rep_wal *x = &c->wals[c->nwals++];
  x->mem = mem;
  x->path = copy;
  x->lo = lo;
  x->hi = hi;
  return STRATA_OK;
}

/* Opens one table under skip, reads it through (reporting its damage) and
 * keeps it open for the merge. */
static int read_table(rep_ctx *c, const char *path, const uint8_t *lo,
                      size_t lon, const uint8_t *hi, size_t hin) {
  sst_table *t = NULL;
  uint64_t size = 0;
  env_size(c->e, path, &size);
  c->tlo = lo;
  c->tlon = lon;
  c->thi = hi;
  c->thin = hin;
  int rc = sst_table_open(c->e, path, &c->topts, on_table_damage, c, &t);
  if (rc) c->tlo = c->thi = NULL;
  if (rc == STRATA_CORRUPTION) {
    char why[600];
    snprintf(why, sizeof why, "no intact block could be used: %s",
             strata_last_error());
    return table_lost(c, path, size, STRATA_DAMAGE_CHECKSUM, why, lo, lon, hi,
                      hin);
  }
  if (rc) return rc;
  if (c->ntables == c->captables) {
    size_t cap = c->captables ? c->captables * 2 : 16;
    sst_table **v = realloc(c->tables, cap * sizeof *v);
    if (!v) {
      sst_table_close(t);
      return oom();
    }
    c->tables = v;
    c->captables = cap;
  }
  c->tables[c->ntables++] = t;
  c->rep->files_read++;
  sst_iter *it = sst_table_iter(t);
  if (!it) return oom();
  sst_buf last = {0};
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
    size_t kn, ul;
    const uint8_t *k = sst_iter_key(it, &kn);
    uint64_t seq;
    int type;
    c->rep->entries_read++;
    if (ikey_parse(k, kn, &ul, &seq, &type) == 0 && seq > c->max_seq &&
        seq <= IKEY_MAX_SEQUENCE)
      c->max_seq = seq;
    if (sst_buf_set(&last, k, kn)) rc = oom();
  }
  int st = sst_iter_status(it);
  sst_iter_destroy(it);
  c->tlo = c->thi = NULL; /* they point into the MANIFEST's version */
  if (!rc && st == STRATA_CORRUPTION) {
    /* The walk could not go on (e.g. a bad handle in an index that passed
     * its checksum): everything after the last entry read may be lost. */
    char why[600];
    snprintf(why, sizeof why, "the table could not be read past here: %s",
             strata_last_error());
    rc = table_lost(c, path, 0, STRATA_DAMAGE_BAD_LENGTH, why,
                    last.len ? last.data : lo, last.len ? last.len : lon, hi,
                    hin);
    if (!rc && last.len) c->regions[c->nregions - 1].lo_incl = 0;
    /* The merge would stop at the same place: what was read goes to a
     * memtable instead, and the table is closed. */
    if (!rc) rc = table_to_mem(c, t, path);
    c->ntables--;
    sst_table_close(t);
  } else if (!rc) {
    rc = st;
  }
  sst_buf_free(&last);
  return rc;
}

/* ---- CURRENT and the MANIFEST ------------------------------------------- */

static void plain_damage(rep_ctx *c, const char *file, uint64_t off,
                         uint64_t bytes, strata_damage_kind kind,
                         const char *why) {
  strata_damage d = {file, off, bytes, kind, why, 0, 0};
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DAMAGE;
  ev.damage = &d;
  rep_event(c, &ev);
}

typedef struct man_pass {
  rep_ctx *c;  /* the repair */
  int damaged; /* regions found */
} man_pass;

static void on_manifest_damage(void *arg, const strata_damage *d) {
  man_pass *m = arg;
  m->damaged++;
  strata_damage x = *d;
  x.records = 0; /* MANIFEST records cost no entries */
  plain_damage(m->c, x.file, x.offset, x.bytes, x.kind, x.reason);
}

/* 1 if CURRENT and its MANIFEST are clean and `vs` recovered from them. */
static int read_manifest(rep_ctx *c, lsm_vset *vs) {
  char *cur = lsm_dir_path(c->dir, "CURRENT");
  uint64_t mnum = 0, size = 0;
  int rc = lsm_read_current(c->e, c->dir, &mnum);
  if (rc) {
    char why[600];
    snprintf(why, sizeof why, "%s", strata_last_error());
    if (cur) env_size(c->e, cur, &size);
    plain_damage(c, cur ? cur : c->dir, 0, size,
                 rc == STRATA_NOT_FOUND ? STRATA_DAMAGE_MISSING
                                        : STRATA_DAMAGE_BAD_RECORD,
                 why);
    free(cur);
    return 0;
  }
  free(cur);
  char *path = lsm_manifest_path(c->dir, mnum);
  if (!path) return 0;
  if (!env_exists(c->e, path)) {
    plain_damage(c, path, 0, 0, STRATA_DAMAGE_MISSING,
                 "the MANIFEST that CURRENT names is missing");
    free(path);
    return 0;
  }
  man_pass m = {c, 0};
  log_reader *r = NULL;
  rc = log_reader_open(c->e, path, STRATA_RECOVERY_SKIP, on_manifest_damage, &m,
                       &r);
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while (!rc && (rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    version_edit ve;
    ve_init(&ve);
    if (ve_decode(&ve, rec, n, path) != STRATA_OK) {
      m.damaged++;
      plain_damage(c, path, info.offset, info.end - info.offset,
                   STRATA_DAMAGE_BAD_RECORD, strata_last_error());
    }
    ve_clear(&ve);
  }
  log_reader_close(r);
  int usable = (rc == STRATA_END || rc == STRATA_OK) && m.damaged == 0;
  if (usable && lsm_vset_recover(vs, NULL, NULL) != STRATA_OK) {
    char why[600];
    snprintf(why, sizeof why, "%s", strata_last_error());
    plain_damage(c, path, 0, 0, STRATA_DAMAGE_BAD_RECORD, why);
    usable = 0;
  }
  free(path);
  return usable;
}

/* ---- sources --------------------------------------------------------------
 */

static void ignored(rep_ctx *c, const char *path, const char *why) {
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_IGNORED;
  ev.file = path;
  ev.reason = why;
  rep_event(c, &ev);
}

static int cmp_name_num(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Reads every table and WAL to use. */
static int read_sources(rep_ctx *c) {
  lsm_vset vs;
  int rc = lsm_vset_init(&vs, c->e, c->dir);
  if (rc) return rc;
  int usable = read_manifest(c, &vs);
  c->rep->manifest_used = usable;
  lsm_version *v = usable ? lsm_vset_current(&vs) : NULL;
  if (v && vs.last_sequence > c->max_seq) c->max_seq = vs.last_sequence;
  char **names = NULL;
  size_t count = 0;
  rc = env_list_dir(c->e, c->dir, &names, &count);
  uint64_t *logs = rc ? NULL : malloc((count ? count : 1) * sizeof *logs);
  size_t nlogs = 0;
  if (!rc && !logs) rc = oom();
  /* Tables: the MANIFEST's live ones, or every one in the directory. */
  for (int l = 0; v && !rc && l < LSM_LEVELS; l++)
    for (size_t i = 0; !rc && i < v->n[l]; i++) {
      const sst_file *f = &v->files[l][i]->f;
      char *p = lsm_file_path(c->dir, f->number, "ldb");
      if (p && !env_exists(c->e, p)) {
        free(p);
        p = lsm_file_path(c->dir, f->number, "sst");
      }
      if (!p)
        rc = oom();
      else if (!env_exists(c->e, p))
        rc = table_lost(c, p, f->size, STRATA_DAMAGE_MISSING,
                        "a table the MANIFEST lists is missing", f->smallest,
                        f->smallest_len, f->largest, f->largest_len);
      else
        rc = read_table(c, p, f->smallest, f->smallest_len, f->largest,
                        f->largest_len);
      free(p);
    }
  for (size_t i = 0; !rc && i < count; i++) {
    lsm_file_type t;
    uint64_t num;
    if (!lsm_parse_file_name(names[i], &t, &num)) continue;
    if (t != LSM_FILE_TABLE && t != LSM_FILE_LOG) continue;
    char *p = lsm_dir_path(c->dir, names[i]);
    if (!p) {
      rc = oom();
      break;
    }
    if (t == LSM_FILE_TABLE && !v) {
      rc = read_table(c, p, NULL, 0, NULL, 0);
    } else if (t == LSM_FILE_TABLE) {
      int live = 0;
      for (int l = 0; l < LSM_LEVELS && !live; l++)
        for (size_t j = 0; j < v->n[l] && !live; j++)
          live = v->files[l][j]->f.number == num;
      if (!live) ignored(c, p, "a table the MANIFEST does not list (obsolete)");
    } else if (!v || num >= vs.log_number || (num && num == vs.prev_log)) {
      logs[nlogs++] = num;
    } else {
      ignored(c, p, "a WAL older than the MANIFEST's log number (obsolete)");
    }
    free(p);
  }
  env_free_list(names, count);
  lsm_version_unref(v);
  lsm_vset_free(&vs);
  /* WALs in number order (their sequence numbers grow with them). */
  if (nlogs) qsort(logs, nlogs, sizeof *logs, cmp_name_num);
  int rc2 = rep_read_wals(c, rc ? 0 : nlogs, logs);
  free(logs);
  return rc ? rc : rc2;
}

/* ---- the whole repair ------------------------------------------------------
 */

/* 1 if `path` exists and holds entries. */
static int dir_nonempty(env *e, const char *path) {
  if (!env_exists(e, path)) return 0;
  char **names = NULL;
  size_t count = 0;
  if (env_list_dir(e, path, &names, &count)) return 1;
  env_free_list(names, count);
  return count > 0;
}

/* a + b, with a's trailing slashes dropped ("db/" + ".repaired" names a
 * sibling of db, never a file inside it). */
static char *concat(const char *a, const char *b) {
  size_t an = strlen(a), bn = strlen(b);
  while (an > 1 && a[an - 1] == '/')
    an--;
  char *s = malloc(an + bn + 1);
  if (!s) return NULL;
  memcpy(s, a, an);
  memcpy(s + an, b, bn + 1);
  return s;
}

/* An LSM database: CURRENT, a MANIFEST, a table or a WAL. */
static int looks_like_db(env *e, const char *dir) {
  char **names = NULL;
  size_t count = 0;
  if (env_list_dir(e, dir, &names, &count)) return 0;
  int found = 0;
  for (size_t i = 0; i < count && !found; i++) {
    lsm_file_type t;
    uint64_t num;
    found = lsm_parse_file_name(names[i], &t, &num) &&
            (t == LSM_FILE_CURRENT || t == LSM_FILE_MANIFEST ||
             t == LSM_FILE_TABLE || t == LSM_FILE_LOG);
  }
  env_free_list(names, count);
  return found;
}

int strata_db_repair(const char *dir, const char *into,
                     const strata_repair_options *o,
                     strata_repair_report *out) {
  strata_repair_options defaults;
  strata_repair_options_init(&defaults);
  if (!o) o = &defaults;
  strata_repair_report rep;
  memset(&rep, 0, sizeof rep);
  if (out) memset(out, 0, sizeof *out);
  env *e = env_posix();
  if (!dir || !*dir || (o->in_place && into))
    return st_error(STRATA_INVALID_ARGUMENT,
                    "repair: a database directory is needed, and --into "
                    "cannot go with --in-place");
  if (!looks_like_db(e, dir))
    return st_error(STRATA_NOT_FOUND, "%s: no LSM database here", dir);
  char *target = o->in_place ? concat(dir, ".repairing")
                 : into      ? strdup(into)
                             : concat(dir, ".repaired");
  char *backup = o->in_place ? concat(dir, ".damaged") : NULL;
  char *lockp = lsm_dir_path(dir, "LOCK");
  if (!target || !lockp || (o->in_place && !backup)) {
    free(target);
    free(backup);
    free(lockp);
    return oom();
  }
  int rc = STRATA_OK;
  env_lock *lock = NULL;
  if (dir_nonempty(e, target))
    rc = st_error(STRATA_INVALID_ARGUMENT,
                  "%s: exists and is not empty; repair writes a new database",
                  target);
  else if (backup && env_exists(e, backup))
    rc = st_error(STRATA_INVALID_ARGUMENT,
                  "%s: exists; move it away before repairing in place", backup);
  /* Only an existing LOCK is taken: the damaged directory gets no file. */
  if (!rc && env_exists(e, lockp)) rc = env_lock_file(e, lockp, &lock);
  rep_ctx c;
  memset(&c, 0, sizeof c);
  c.e = e;
  c.dir = dir;
  c.o = o;
  c.rep = &rep;
  strata_table_options_init(&c.topts);
  c.topts.internal_keys = 1;
  c.topts.policy = STRATA_RECOVERY_SKIP;
  c.topts.verify_checksums = 1;
  int made = 0;
  if (!rc) rc = read_sources(&c);
  if (!rc) {
    rc = env_mkdir(e, target);
    made = rc == STRATA_OK;
  }
  if (!rc) rc = rep_write(&c, target);
  if (!rc && o->in_place) {
    /* still holding the original's LOCK: nobody opens it mid-swap */
    rc = rep_swap(e, dir, target, backup);
    if (!rc) {
      free(target);
      target = strdup(dir);
      if (!target) rc = oom();
    }
  } else if (rc && made) {
    strata_db_destroy(target); /* a partial result is never left behind */
  }
  env_unlock_file(lock);
  for (size_t i = 0; i < c.ntables; i++)
    sst_table_close(c.tables[i]);
  free(c.tables);
  for (size_t i = 0; i < c.nwals; i++) {
    mem_unref(c.wals[i].mem);
    free(c.wals[i].path);
  }
  free(c.wals);
  for (size_t i = 0; i < c.nregions; i++) {
    sst_buf_free(&c.regions[i].lo);
    sst_buf_free(&c.regions[i].hi);
  }
  free(c.regions);
  free(lockp);
  rep.path = target;
  rep.backup = backup;
  if (rc || !out) {
    strata_repair_report_free(&rep);
    return rc;
  }
  *out = rep;
  return STRATA_OK;
}
