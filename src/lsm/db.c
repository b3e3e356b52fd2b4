/*
 * db.c — the LSM engine's handle: open (lock, MANIFEST, WAL replay, a new
 * WAL and MANIFEST), close, destroy, options, snapshots, properties and
 * stats. The directory is LevelDB 1.23's (docs/formats/manifest.md for
 * CURRENT and the MANIFEST, docs/formats/wal.md for the .log files,
 * docs/formats/table.md for the .ldb tables).
 *
 * Open refuses a database whose MANIFEST is damaged (the message points to
 * `strata repair`) or whose live tables are missing; WAL damage follows the
 * recovery policy (db_recover.c) and every drop is reported and logged.
 */
#include "lsm/db.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "sstable/block.h"
#include "sstable/ikey.h"
#include "util/status.h"

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

void strata_options_init(strata_options *o) {
  memset(o, 0, sizeof *o);
  o->write_buffer_size = 4 << 20;
  o->max_open_files = 1000;
  o->block_size = 4096;
  o->block_restart_interval = 16;
  o->max_file_size = 2 << 20;
  o->block_cache_size = 8 << 20;
  o->bloom_bits_per_key = 10;
  o->compression = STRATA_COMPRESSION_SNAPPY;
  o->compaction_style = STRATA_COMPACTION_LEVELED;
  o->recovery = STRATA_RECOVERY_POINT_IN_TIME;
  o->write_info_log = 1;
}

void strata_read_options_init(strata_read_options *o) {
  o->verify_checksums = 1;
  o->fill_cache = 1;
  o->snapshot = NULL;
}

void strata_write_options_init(strata_write_options *o) { o->sync = 0; }

/* ---- damage and errors --------------------------------------------------- */

void db_on_damage(void *arg, const strata_damage *d) {
  strata_db *db = arg;
  atomic_fetch_add(&db->damage_regions, 1);
  lsm_info(&db->log,
           "damage: %s offset %" PRIu64 ", %" PRIu64 " bytes, %s: %s%s",
           d->file, d->offset, d->bytes, strata_damage_kind_name(d->kind),
           d->reason ? d->reason : "", d->tail ? " (tail)" : "");
  if (db->o.on_damage) db->o.on_damage(db->o.damage_arg, d);
}

void db_on_table_damage(void *arg, const strata_table_damage *d) {
  strata_db *db = arg;
  db_on_damage(arg, &d->damage);
  /* Under skip, readers and compactions pass over a damaged block: what it
   * held is lost, and older versions of its keys must not show through. */
  if (db->topts.policy != STRATA_RECOVERY_SKIP || !db->ledger.dir) return;
  size_t lon = 0, hin = 0;
  const uint8_t *lo = d->after, *hi = d->upto;
  if (lo) lon = d->after_len >= 8 ? d->after_len - 8 : d->after_len;
  if (hi) hin = d->upto_len >= 8 ? d->upto_len - 8 : d->upto_len;
  if (lsm_ledger_add(&db->ledger, lo, lon, hi, hin, atomic_load(&db->last_seq),
                     &d->damage))
    lsm_info(&db->log, "could not record a lost range in LEDGER: %s",
             strata_last_error());
}

void db_set_bg_error(strata_db *db, int rc) {
  if (db->bg_error) return;
  db->bg_error = rc;
  snprintf(db->bg_msg, sizeof db->bg_msg, "%s", strata_last_error());
  lsm_info(&db->log, "background error: %s", db->bg_msg);
  pthread_cond_broadcast(&db->bg_cv);
}

uint64_t db_smallest_snapshot(strata_db *db) {
  if (db->snaps.next != &db->snaps) return db->snaps.next->seq;
  return atomic_load(&db->last_seq);
}

/* ---- open and close ------------------------------------------------------ */

static void sanitize(strata_options *o) {
  if (o->write_buffer_size < 64 << 10) o->write_buffer_size = 64 << 10;
  if (o->write_buffer_size > (size_t)1 << 30) o->write_buffer_size = 1u << 30;
  if (o->max_open_files < 64) o->max_open_files = 64;
  if (o->block_size < 1024) o->block_size = 1024;
  if (o->block_size > 4 << 20) o->block_size = 4 << 20;
  if (o->block_restart_interval < 1) o->block_restart_interval = 1;
  if (o->max_file_size < 1 << 20) o->max_file_size = 1 << 20;
  if (o->max_file_size > (size_t)1 << 30) o->max_file_size = 1u << 30;
  if (o->bloom_bits_per_key < 0) o->bloom_bits_per_key = 0;
  if ((unsigned)o->recovery > STRATA_RECOVERY_SKIP)
    o->recovery = STRATA_RECOVERY_POINT_IN_TIME;
  /* paranoid checks: damage fails the open, but a crash's torn tail is no
   * damage to refuse for */
  if (o->paranoid_checks && o->recovery != STRATA_RECOVERY_ABSOLUTE)
    o->recovery = STRATA_RECOVERY_TOLERATE_TAIL;
}

typedef struct dir_scan {
  uint64_t *tables; /* table numbers present */
  size_t n, cap;    /* held, allocated */
} dir_scan;

static int has_number(const dir_scan *s, uint64_t n) {
  for (size_t i = 0; i < s->n; i++)
    if (s->tables[i] == n) return 1;
  return 0;
}

/* Every live table must exist; every number in the directory is marked
 * used so new files never reuse one. */
static int check_files(strata_db *db) {
  char **names;
  size_t count;
  int rc = env_list_dir(db->e, db->dir, &names, &count);
  if (rc) return rc;
  dir_scan s = {0};
  for (size_t i = 0; i < count && !rc; i++) {
    lsm_file_type t;
    uint64_t num;
    if (!lsm_parse_file_name(names[i], &t, &num)) continue;
    lsm_vset_mark_used(&db->vs, num);
    if (t != LSM_FILE_TABLE) continue;
    if (s.n == s.cap) {
      size_t cap = s.cap ? s.cap * 2 : 64;
      uint64_t *p = realloc(s.tables, cap * sizeof *p);
      if (!p) {
        rc = oom();
        break;
      }
      s.tables = p;
      s.cap = cap;
    }
    s.tables[s.n++] = num;
  }
  env_free_list(names, count);
  lsm_version *v = lsm_vset_current(&db->vs);
  size_t missing = 0;
  uint64_t first = 0;
  for (int l = 0; l < LSM_LEVELS && !rc; l++)
    for (size_t i = 0; i < v->n[l]; i++) {
      const sst_file *f = &v->files[l][i]->f;
      if (has_number(&s, f->number)) continue;
      if (!missing++) first = f->number;
      char *p = lsm_file_path(db->dir, f->number, "ldb");
      strata_damage d = {p ? p : db->dir,
                         0,
                         f->size,
                         STRATA_DAMAGE_MISSING,
                         "a table the MANIFEST lists is missing",
                         0,
                         1};
      db_on_damage(db, &d);
      free(p);
    }
  lsm_version_unref(v);
  free(s.tables);
  if (!rc && missing)
    rc = ST_CORRUPT("%s: %zu table file%s missing, e.g. %06" PRIu64
                    ".ldb; run `strata repair %s`",
                    db->dir, missing, missing == 1 ? "" : "s", first, db->dir);
  return rc;
}

static int open_existing_or_create(strata_db *db) {
  char *cur = lsm_dir_path(db->dir, "CURRENT");
  if (!cur) return oom();
  int exists = env_exists(db->e, cur);
  free(cur);
  if (exists && db->o.error_if_exists)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "%s: exists (error_if_exists is set)", db->dir);
  if (exists) return STRATA_OK;
  if (!db->o.create_if_missing)
    return st_error(STRATA_NOT_FOUND,
                    "%s: no database here (create_if_missing is not set)",
                    db->dir);
  lsm_info(&db->log, "creating database %s", db->dir);
  return lsm_vset_create(db->e, db->dir);
}

static int db_open(strata_db *db) {
  if (db->o.create_if_missing) {
    int rc = env_mkdir(db->e, db->dir);
    if (rc) return rc;
  }
  char *lock = lsm_dir_path(db->dir, "LOCK");
  if (!lock) return oom();
  int rc = env_lock_file(db->e, lock, &db->lock);
  if (rc == STRATA_BUSY)
    rc = st_error(STRATA_BUSY,
                  "%s: locked: the database is open in another handle or "
                  "process",
                  lock);
  else if (rc == STRATA_NOT_FOUND ||
           (rc == STRATA_IO_ERROR && !env_exists(db->e, db->dir)))
    rc = st_error(STRATA_NOT_FOUND,
                  "%s: no database here (create_if_missing is not set)",
                  db->dir);
  free(lock);
  if (rc) return rc;
  lsm_info_log_open(&db->log, db->e, db->dir, db->o.write_info_log);
  lsm_info(&db->log, "opening %s (strata %s)", db->dir, strata_version());
  if ((rc = open_existing_or_create(db))) return rc;
  if ((rc = lsm_ledger_open(&db->ledger, db->e, db->dir, db_on_damage, db)))
    return rc;
  if (db->ledger.n)
    lsm_info(&db->log, "LEDGER lists %zu range%s lost to damage", db->ledger.n,
             db->ledger.n == 1 ? "" : "s");
  if ((rc = lsm_vset_init(&db->vs, db->e, db->dir))) return rc;
  if ((rc = lsm_vset_recover(&db->vs, db_on_damage, db))) return rc;
  if ((rc = check_files(db))) return rc;
  atomic_store(&db->last_seq, db->vs.last_sequence);
  version_edit edit;
  ve_init(&edit);
  rc = db_recover_wals(db, &edit);
  if (!rc) {
    uint64_t n = lsm_vset_new_number(&db->vs);
    rc = db_new_wal(db, n);
    ve_set_log_number(&edit, n);
    ve_set_prev_log(&edit, 0);
    ve_set_last_sequence(&edit, atomic_load(&db->last_seq));
  }
  if (!rc) rc = lsm_vset_apply(&db->vs, &edit);
  for (size_t i = 0; i < edit.nfiles; i++) /* written by the replay */
    lsm_vset_remove_pending(&db->vs, edit.files[i].number);
  ve_clear(&edit);
  if (rc) return rc;
  db_delete_obsolete(db);
  lsm_info(&db->log, "opened: last sequence %" PRIu64 ", WAL %06" PRIu64,
           atomic_load(&db->last_seq), db->wal_number);
  return db_start_threads(db);
}

static void db_free(strata_db *db) {
  if (!db) return;
  db_stop_threads(db);
  if (db->wal) log_writer_close(db->wal);
  mem_unref(db->mem);
  mem_unref(db->imm);
  lsm_file_unref(db->seek_file);
  lsm_vset_free(&db->vs);
  lsm_ledger_close(&db->ledger);
  sst_table_cache_destroy(db->tc);
  strata_block_cache_destroy(db->cache);
  strata_batch_destroy(db->group);
  if (db->log.f) lsm_info(&db->log, "closed");
  lsm_info_log_close(&db->log);
  env_unlock_file(db->lock);
  pthread_mutex_destroy(&db->mu);
  pthread_mutex_destroy(&db->compact_mu);
  pthread_cond_destroy(&db->bg_cv);
  pthread_cond_destroy(&db->work_cv);
  free(db->dir);
  free(db);
}

int lsm_db_open_env(env *e, const char *dir, const strata_options *o,
                    strata_db **out) {
  *out = NULL;
  if (!dir || !*dir) return st_error(STRATA_INVALID_ARGUMENT, "no directory");
  strata_db *db = calloc(1, sizeof *db);
  if (!db) return oom();
  db->e = e;
  if (o)
    db->o = *o;
  else
    strata_options_init(&db->o);
  sanitize(&db->o);
  db->dir = strdup(dir);
  pthread_mutex_init(&db->mu, NULL);
  pthread_mutex_init(&db->compact_mu, NULL);
  pthread_cond_init(&db->bg_cv, NULL);
  pthread_cond_init(&db->work_cv, NULL);
  db->snaps.prev = db->snaps.next = &db->snaps;
  db->mem = mem_create();
  db->group = strata_batch_create();
  if (db->o.block_cache_size)
    db->cache = strata_block_cache_create(db->o.block_cache_size);
  strata_table_options_init(&db->topts);
  db->topts.block_size = db->o.block_size;
  db->topts.restart_interval = db->o.block_restart_interval;
  db->topts.bloom_bits_per_key = db->o.bloom_bits_per_key;
  db->topts.compression = db->o.compression;
  db->topts.allow_zstd = db->o.compression == STRATA_COMPRESSION_ZSTD;
  db->topts.internal_keys = 1;
  db->topts.policy = db->o.recovery == STRATA_RECOVERY_SKIP
                         ? STRATA_RECOVERY_SKIP
                         : STRATA_RECOVERY_ABSOLUTE;
  db->topts.verify_checksums = 1;
  db->topts.cache = db->cache;
  if (db->dir && db->mem && db->group && (!db->o.block_cache_size || db->cache))
    db->tc = sst_table_cache_create(e, dir, (size_t)db->o.max_open_files - 10,
                                    &db->topts);
  if (!db->tc) {
    db_free(db);
    return oom();
  }
  sst_table_cache_set_damage(db->tc, db_on_table_damage, db);
  int rc = db_open(db);
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", strata_last_error());
    if (db->log.f) lsm_info(&db->log, "open failed: %s", msg);
    db_free(db);
    st_error(rc, "%s", msg);
    return rc;
  }
  *out = db;
  return STRATA_OK;
}

int strata_db_open(const char *dir, const strata_options *o, strata_db **out) {
  return lsm_db_open_env(env_posix(), dir, o, out);
}

int strata_db_close(strata_db *db) {
  db_free(db);
  return STRATA_OK;
}

int strata_db_destroy(const char *dir) {
  env *e = env_posix();
  char *lock = lsm_dir_path(dir, "LOCK");
  if (!lock) return oom();
  env_lock *l = NULL;
  int rc = env_lock_file(e, lock, &l);
  if (rc == STRATA_BUSY)
    rc = st_error(STRATA_BUSY, "%s: locked: the database is open", lock);
  if (rc) {
    free(lock);
    return env_exists(e, dir) ? rc : STRATA_OK;
  }
  char **names;
  size_t count;
  rc = env_list_dir(e, dir, &names, &count);
  for (size_t i = 0; !rc && i < count; i++) {
    lsm_file_type t;
    uint64_t num;
    if (!lsm_parse_file_name(names[i], &t, &num) || t == LSM_FILE_LOCK)
      continue;
    char *p = lsm_dir_path(dir, names[i]);
    if (!p)
      rc = oom();
    else
      rc = env_remove(e, p);
    free(p);
  }
  if (!rc) env_free_list(names, count);
  env_unlock_file(l);
  env_remove(e, lock);
  free(lock);
  if (!rc) rmdir(dir); /* only when nothing else is left in it */
  return rc;
}

/* ---- snapshots ----------------------------------------------------------- */

const strata_snapshot *strata_db_get_snapshot(strata_db *db) {
  strata_snapshot *s = malloc(sizeof *s);
  if (!s) return NULL;
  pthread_mutex_lock(&db->mu);
  s->seq = atomic_load(&db->last_seq);
  s->next = &db->snaps;
  s->prev = db->snaps.prev;
  s->prev->next = s;
  db->snaps.prev = s;
  pthread_mutex_unlock(&db->mu);
  return s;
}

void strata_db_release_snapshot(strata_db *db, const strata_snapshot *cs) {
  if (!cs) return;
  strata_snapshot *s = (strata_snapshot *)cs;
  pthread_mutex_lock(&db->mu);
  s->prev->next = s->next;
  s->next->prev = s->prev;
  pthread_mutex_unlock(&db->mu);
  free(s);
}

uint64_t strata_snapshot_sequence(const strata_snapshot *s) { return s->seq; }

/* ---- stats and properties ------------------------------------------------ */

int strata_db_get_stats(strata_db *db, strata_db_stats *out) {
  pthread_mutex_lock(&db->mu);
  *out = db->st;
  out->memtable_bytes = mem_usage(db->mem) + (db->imm ? mem_usage(db->imm) : 0);
  pthread_mutex_unlock(&db->mu);
  out->sequence = atomic_load(&db->last_seq);
  out->damage_regions = atomic_load(&db->damage_regions);
  lsm_version *v = lsm_vset_current(&db->vs);
  for (int l = 0; l < LSM_LEVELS; l++) {
    out->files[l] = v->n[l];
    out->level_bytes[l] = 0;
    for (size_t i = 0; i < v->n[l]; i++)
      out->level_bytes[l] += v->files[l][i]->f.size;
  }
  lsm_version_unref(v);
  return STRATA_OK;
}

typedef struct text {
  char *p;         /* the text (malloc'd) */
  size_t len, cap; /* used, allocated */
  int failed;      /* an allocation failed */
} text;

static void tprintf(text *t, const char *fmt, ...) ST_PRINTF(2, 3);
static void tprintf(text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->p && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap * 2 : 1024;
    while (cap <= t->len + (size_t)n)
      cap *= 2;
    char *q = realloc(t->p, cap);
    if (!q) {
      t->failed = 1;
      return;
    }
    t->p = q;
    t->cap = cap;
  }
}

static void tkey(text *t, const uint8_t *k, size_t n) {
  size_t un = n >= IKEY_TRAILER ? n - IKEY_TRAILER : n;
  tprintf(t, "'");
  for (size_t i = 0; i < un; i++) {
    if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\'' && k[i] != '\\')
      tprintf(t, "%c", k[i]);
    else
      tprintf(t, "\\x%02x", k[i]);
  }
  uint64_t seq = 0;
  size_t ul;
  int type = 0;
  if (ikey_parse(k, n, &ul, &seq, &type) == 0)
    tprintf(t, "' @ %" PRIu64 " : %d", seq, type);
  else
    tprintf(t, "'");
}

char *strata_db_get_property(strata_db *db, const char *name) {
  if (strncmp(name, "leveldb.", 8) == 0)
    name += 8;
  else if (strncmp(name, "strata.", 7) == 0)
    name += 7;
  else
    return NULL;
  text t = {0};
  strata_db_stats st;
  strata_db_get_stats(db, &st);
  if (strncmp(name, "num-files-at-level", 18) == 0) {
    const char *d = name + 18;
    if (d[0] < '0' || d[0] > '6' || d[1]) return NULL;
    tprintf(&t, "%" PRIu64, st.files[d[0] - '0']);
  } else if (strcmp(name, "approximate-memory-usage") == 0) {
    tprintf(&t, "%" PRIu64,
            st.memtable_bytes +
                (db->cache ? (uint64_t)db->o.block_cache_size : 0));
  } else if (strcmp(name, "stats") == 0) {
    tprintf(&t, "                               Compactions\n"
                "Level  Files Size(MB)\n"
                "--------------------\n");
    for (int l = 0; l < LSM_LEVELS; l++)
      if (st.files[l])
        tprintf(&t, "%3d %8" PRIu64 " %8.1f\n", l, st.files[l],
                (double)st.level_bytes[l] / 1048576.0);
    tprintf(&t,
            "sequence %" PRIu64 "\nmemtable bytes %" PRIu64 "\nflushes %" PRIu64
            " (%" PRIu64 " bytes)\ncompactions %" PRIu64 " (read %" PRIu64
            " bytes, wrote %" PRIu64 " bytes)\nWAL bytes %" PRIu64
            ", syncs %" PRIu64 ", group commits %" PRIu64
            "\nuser bytes %" PRIu64 "\nstalls: %" PRIu64 " slowdowns, %" PRIu64
            " stops, %" PRIu64 " us\ndamage regions %" PRIu64
            ", WAL bytes dropped at open %" PRIu64 "\n",
            st.sequence, st.memtable_bytes, st.flushes, st.bytes_flushed,
            st.compactions, st.bytes_read_compaction, st.bytes_compacted,
            st.wal_bytes, st.wal_syncs, st.group_commits, st.user_bytes,
            st.slowdowns, st.stops, st.stall_micros, st.damage_regions,
            st.dropped_bytes);
  } else if (strcmp(name, "sstables") == 0) {
    lsm_version *v = lsm_vset_current(&db->vs);
    for (int l = 0; l < LSM_LEVELS; l++) {
      tprintf(&t, "--- level %d ---\n", l);
      for (size_t i = 0; i < v->n[l]; i++) {
        const sst_file *f = &v->files[l][i]->f;
        tprintf(&t, " %" PRIu64 ":%" PRIu64 "[", f->number, f->size);
        tkey(&t, f->smallest, f->smallest_len);
        tprintf(&t, " .. ");
        tkey(&t, f->largest, f->largest_len);
        tprintf(&t, "]\n");
      }
    }
    lsm_version_unref(v);
  } else {
    return NULL;
  }
  if (t.failed) {
    free(t.p);
    return NULL;
  }
  if (!t.p) return strdup("");
  return t.p;
}

/* Offset in table `f` where keys >= ik start (approximately). */
static uint64_t offset_in(strata_db *db, const sst_file *f, const uint8_t *ik,
                          size_t ikn) {
  sst_table *t;
  sst_table_ref *ref;
  if (sst_table_cache_get(db->tc, f->number, &t, &ref)) return 0;
  const uint8_t *idx;
  size_t idxn;
  sst_table_index_block(t, &idx, &idxn);
  sst_buf scratch = {0};
  const uint8_t *k, *val;
  size_t kn, vn;
  uint64_t off = sst_table_file_size(t);
  int r = sst_block_find(idx, idxn, SST_CMP_INTERNAL, ik, ikn, &scratch, &k,
                         &kn, &val, &vn, sst_table_name(t), 0);
  sst_handle h;
  if (r == 1 && sst_handle_decode(val, val + vn, &h)) off = h.offset;
  sst_buf_free(&scratch);
  sst_table_cache_release(db->tc, ref);
  return off;
}

static uint64_t approx_offset(strata_db *db, lsm_version *v, const uint8_t *ik,
                              size_t ikn) {
  uint64_t sum = 0;
  for (int l = 0; l < LSM_LEVELS; l++)
    for (size_t i = 0; i < v->n[l]; i++) {
      const sst_file *f = &v->files[l][i]->f;
      if (ikey_compare(SST_CMP_INTERNAL, f->largest, f->largest_len, ik, ikn) <=
          0)
        sum += f->size; /* wholly before the key */
      else if (ikey_compare(SST_CMP_INTERNAL, f->smallest, f->smallest_len, ik,
                            ikn) > 0)
        continue; /* wholly after it */
      else
        sum += offset_in(db, f, ik, ikn);
    }
  return sum;
}

int strata_db_approximate_size(strata_db *db, const void *start, size_t slen,
                               const void *limit, size_t llen, uint64_t *size) {
  sst_buf a = {0}, b = {0};
  *size = 0;
  if (ikey_append(&a, start, slen, IKEY_MAX_SEQUENCE, IKEY_SEEK_TYPE) ||
      ikey_append(&b, limit, llen, IKEY_MAX_SEQUENCE, IKEY_SEEK_TYPE)) {
    sst_buf_free(&a);
    sst_buf_free(&b);
    return oom();
  }
  lsm_version *v = lsm_vset_current(&db->vs);
  uint64_t x = approx_offset(db, v, a.data, a.len);
  uint64_t y = approx_offset(db, v, b.data, b.len);
  lsm_version_unref(v);
  *size = y > x ? y - x : 0;
  sst_buf_free(&a);
  sst_buf_free(&b);
  return STRATA_OK;
}

int strata_db_flush(strata_db *db) { return db_flush(db); }

int strata_db_compact_range(strata_db *db, const void *begin, size_t blen,
                            const void *end, size_t elen) {
  return db_compact_range(db, begin, blen, end, elen);
}

/* ---- the damage ledger --------------------------------------------------- */

typedef struct lost_call {
  strata_lost_fn fn; /* the caller's callback */
  void *arg;         /* its argument */
  size_t n;          /* ranges listed */
} lost_call;

static void call_lost(void *arg, const lsm_lost *e) {
  lost_call *c = arg;
  c->n++;
  if (!c->fn) return;
  strata_lost_range r;
  memset(&r, 0, sizeof r);
  if (e->has_lo) {
    r.lo = e->lo.data ? (const void *)e->lo.data : (const void *)"";
    r.lo_len = e->lo.len;
  }
  if (e->has_hi) {
    r.hi = e->hi.data ? (const void *)e->hi.data : (const void *)"";
    r.hi_len = e->hi.len;
  }
  r.sequence = e->seq_hi;
  r.damage.file = e->file;
  r.damage.offset = e->offset;
  r.damage.bytes = e->bytes;
  r.damage.kind = (strata_damage_kind)e->kind;
  r.damage.reason = e->reason;
  r.when = e->when;
  c->fn(c->arg, &r);
}

size_t strata_db_lost_ranges(strata_db *db, strata_lost_fn fn, void *arg) {
  lost_call c = {fn, arg, 0};
  lsm_ledger_list(&db->ledger, call_lost, &c);
  return c.n;
}

int strata_db_acknowledge(strata_db *db) {
  size_t n = atomic_load(&db->ledger.count);
  int rc = lsm_ledger_clear(&db->ledger);
  if (!rc && n)
    lsm_info(&db->log, "acknowledged %zu lost range%s; LEDGER cleared", n,
             n == 1 ? "" : "s");
  return rc;
}
