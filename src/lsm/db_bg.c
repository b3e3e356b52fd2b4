/*
 * db_bg.c — background work: the flush thread writes the immutable memtable
 * to a table (level 0, or deeper when it overlaps nothing, as LevelDB's
 * PickLevelForMemTableOutput), the compaction thread runs the planner's
 * compactions (leveled or size-tiered, src/sstable/compaction.c), and both
 * delete obsolete files afterwards.
 *
 * Crash safety: a table is synced and the directory synced before the edit
 * naming it is appended to the MANIFEST and synced; only then is the version
 * installed, and only files that no live version, pending output or live
 * WAL needs are deleted — so a crash at any step leaves a MANIFEST whose
 * every file exists (unreferenced new files are garbage collected at the
 * next open).
 *
 * A failure in the background (I/O, a damaged input block under a policy
 * that refuses it) is sticky: writes then fail with its message, as
 * LevelDB's bg_error; the database stays readable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "sstable/ikey.h"
#include "sstable/table_builder.h"
#include "util/status.h"

static size_t ulen(size_t n) {
  return n >= IKEY_TRAILER ? n - IKEY_TRAILER : n;
}

static int is_closing(strata_db *db) {
  pthread_mutex_lock(&db->mu);
  int c = db->closing;
  pthread_mutex_unlock(&db->mu);
  return c;
}

/* ---- file-number sets ---- */

typedef struct numset {
  uint64_t *v;   /* numbers */
  size_t n, cap; /* held, allocated */
  int failed;    /* out of memory: delete nothing */
} numset;

/* ---- flush --------------------------------------------------------------- */

int db_write_table(strata_db *db, mem_table *mem, uint64_t *number,
                   uint64_t *size, sst_buf *smallest, sst_buf *largest) {
  uint64_t n = lsm_vset_new_number(&db->vs);
  int rc = lsm_vset_add_pending(&db->vs, n);
  if (rc) return rc;
  char *path = lsm_file_path(db->dir, n, "ldb");
  sst_iter *it = mem_iter(mem);
  sst_builder *b = NULL;
  if (!path || !it) rc = st_error(STRATA_NO_MEMORY, "out of memory");
  if (!rc) rc = sst_builder_open(db->e, path, &db->topts, &b);
  smallest->len = largest->len = 0;
  for (sst_iter_seek_first(it); !rc && sst_iter_valid(it); sst_iter_next(it)) {
    size_t kn, vn;
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    if (!smallest->len && sst_buf_set(smallest, k, kn))
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
    if (!rc) rc = sst_builder_add(b, k, kn, v, vn);
    if (!rc && sst_buf_set(largest, k, kn))
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
  }
  if (!rc) rc = sst_iter_status(it);
  sst_iter_destroy(it);
  if (!rc && smallest->len == 0) { /* empty memtable: no file */
    sst_builder_abandon(b);
    b = NULL;
    env_remove(db->e, path);
    n = 0;
    *size = 0;
  } else if (!rc) {
    rc = sst_builder_finish(b, size);
    b = NULL;
    if (!rc) rc = env_sync_dir(db->e, db->dir);
  }
  if (b) sst_builder_abandon(b);
  if (rc && path) env_remove(db->e, path);
  free(path);
  if (rc || !n) lsm_vset_remove_pending(&db->vs, n ? n : 0);
  *number = rc ? 0 : n;
  return rc;
}

/* Where a flushed table goes: level 0, or as deep as MAX_MEM_COMPACT_LEVEL
 * while it overlaps nothing there and little below (LevelDB's rule). */
static int pick_level(strata_db *db, const sst_buf *lo, const sst_buf *hi) {
  if (db->o.compaction_style != STRATA_COMPACTION_LEVELED) return 0;
  lsm_version *v = lsm_vset_current(&db->vs);
  const uint8_t *a = lo->data, *b = hi->data;
  size_t an = ulen(lo->len), bn = ulen(hi->len);
  int level = 0;
  if (!lsm_version_overlaps(v, 0, a, an, b, bn)) {
    while (level < MAX_MEM_COMPACT_LEVEL) {
      if (lsm_version_overlaps(v, level + 1, a, an, b, bn)) break;
      if (level + 2 < LSM_LEVELS &&
          lsm_version_overlap_bytes(v, level + 2, a, an, b, bn) >
              10 * (uint64_t)db->o.max_file_size)
        break;
      level++;
    }
  }
  lsm_version_unref(v);
  return level;
}

static int flush_imm(strata_db *db, mem_table *imm, uint64_t next_log) {
  sst_buf lo = {0}, hi = {0};
  uint64_t number = 0, size = 0;
  int rc = db_write_table(db, imm, &number, &size, &lo, &hi);
  int level = 0;
  version_edit e;
  ve_init(&e);
  if (!rc && number) {
    level = pick_level(db, &lo, &hi);
    rc = ve_add_file(&e, level, number, size, lo.data, lo.len, hi.data, hi.len);
  }
  ve_set_log_number(&e, next_log);
  ve_set_prev_log(&e, 0);
  ve_set_last_sequence(&e, atomic_load(&db->last_seq));
  if (!rc) rc = lsm_vset_apply(&db->vs, &e);
  if (number) lsm_vset_remove_pending(&db->vs, number);
  ve_clear(&e);
  sst_buf_free(&lo);
  sst_buf_free(&hi);
  if (!rc) {
    pthread_mutex_lock(&db->mu);
    db->st.flushes++;
    db->st.bytes_flushed += size;
    pthread_mutex_unlock(&db->mu);
    lsm_info(&db->log,
             "flush: memtable of %" PRIu64 " entries to %06" PRIu64
             ".ldb (%" PRIu64 " bytes) at level %d",
             mem_entries(imm), number, size, level);
  }
  return rc;
}

static void *flush_main(void *arg) {
  strata_db *db = arg;
  pthread_mutex_lock(&db->mu);
  while (!db->closing) {
    if (!db->imm || db->bg_error) {
      pthread_cond_wait(&db->work_cv, &db->mu);
      continue;
    }
    mem_table *imm = db->imm;
    uint64_t next_log = db->imm_next_log;
    db->flush_running = 1;
    pthread_mutex_unlock(&db->mu);
    int rc = flush_imm(db, imm, next_log);
    pthread_mutex_lock(&db->mu);
    db->flush_running = 0;
    if (rc) {
      db_set_bg_error(db, rc);
    } else {
      db->imm = NULL;
      db->compact_kick = 1;
      pthread_mutex_unlock(&db->mu);
      mem_unref(imm);
      db_delete_obsolete(db);
      pthread_mutex_lock(&db->mu);
    }
    pthread_cond_broadcast(&db->work_cv);
    pthread_cond_broadcast(&db->bg_cv);
  }
  pthread_mutex_unlock(&db->mu);
  return NULL;
}

/* ---- compaction ---------------------------------------------------------- */

typedef struct outputs {
  strata_db *db; /* the database */
  numset nums;   /* numbers handed out (pending until installed) */
} outputs;

static void numset_add(void *arg, uint64_t x);

static uint64_t next_output(void *arg) {
  outputs *o = arg;
  uint64_t n = lsm_vset_new_number(&o->db->vs);
  /* If either bookkeeping step fails the file is merely not protected from
   * deletion by number until installed; the compaction then fails when the
   * MANIFEST names a file that is gone, never silently. */
  lsm_vset_add_pending(&o->db->vs, n);
  numset_add(&o->nums, n);
  return n;
}

/* Runs `p` over `sv` (a view of `v`) and installs the result. */
static int run_plan(strata_db *db, const sst_version *sv, const sst_plan *p,
                    const char *why) {
  version_edit e;
  ve_init(&e);
  int rc = STRATA_OK;
  uint64_t in_bytes = 0, out_bytes = 0;
  size_t nin = 0;
  for (int l = 0; l < LSM_LEVELS && !rc; l++)
    for (size_t i = 0; i < p->ninputs[l] && !rc; i++) {
      const sst_file *f = &sv->files[l][p->inputs[l][i]];
      rc = ve_delete_file(&e, l, f->number);
      in_bytes += f->size;
      nin++;
    }
  sst_compaction_result res;
  memset(&res, 0, sizeof res);
  outputs outs = {db, {0}};
  pthread_mutex_lock(&db->mu);
  db->compacting = 1;
  uint64_t smallest = db_smallest_snapshot(db);
  pthread_mutex_unlock(&db->mu);
  if (!rc && p->trivial_move) {
    const sst_file *f = &sv->files[p->level][p->inputs[p->level][0]];
    rc = ve_add_file(&e, p->output_level, f->number, f->size, f->smallest,
                     f->smallest_len, f->largest, f->largest_len);
  } else if (!rc) {
    sst_compaction_env ce;
    memset(&ce, 0, sizeof ce);
    ce.e = db->e;
    ce.dir = db->dir;
    ce.table = db->topts;
    ce.table.cache = NULL; /* compaction reads must not flush the cache */
    ce.smallest_snapshot = smallest;
    ce.new_number = next_output;
    ce.arg = &outs;
    ce.on_damage = db_on_table_damage;
    ce.damage_arg = db;
    rc = sst_compaction_run(&ce, sv, p, &res);
    for (size_t i = 0; !rc && i < res.noutputs; i++) {
      const sst_file *f = &res.outputs[i];
      rc = ve_add_file(&e, p->output_level, f->number, f->size, f->smallest,
                       f->smallest_len, f->largest, f->largest_len);
      out_bytes += f->size;
    }
  }
  if (!rc && db->o.compaction_style == STRATA_COMPACTION_LEVELED &&
      p->ninputs[p->level]) {
    /* the level's compact pointer: the largest key compacted */
    const sst_file *big = NULL;
    for (size_t i = 0; i < p->ninputs[p->level]; i++) {
      const sst_file *f = &sv->files[p->level][p->inputs[p->level][i]];
      if (!big || ikey_compare(SST_CMP_INTERNAL, f->largest, f->largest_len,
                               big->largest, big->largest_len) > 0)
        big = f;
    }
    rc = ve_add_pointer(&e, p->level, big->largest, big->largest_len);
  }
  ve_set_last_sequence(&e, atomic_load(&db->last_seq));
  if (!rc) rc = lsm_vset_apply(&db->vs, &e);
  for (size_t i = 0; i < outs.nums.n; i++)
    lsm_vset_remove_pending(&db->vs, outs.nums.v[i]);
  free(outs.nums.v);
  pthread_mutex_lock(&db->mu);
  db->compacting = 0;
  pthread_cond_broadcast(&db->bg_cv); /* stalled writers re-check level 0 */
  if (!rc) {
    db->st.compactions++;
    db->st.bytes_read_compaction += p->trivial_move ? 0 : in_bytes;
    db->st.bytes_compacted += out_bytes;
  }
  pthread_mutex_unlock(&db->mu);
  if (!rc)
    lsm_info(&db->log,
             "compaction (%s): %zu files (%" PRIu64 " bytes) at level %d%s "
             "-> %zu files (%" PRIu64 " bytes) at level %d, %" PRIu64
             " entries dropped",
             why, nin, in_bytes, p->level, p->trivial_move ? " moved" : "",
             p->trivial_move ? 1 : res.noutputs,
             p->trivial_move ? in_bytes : out_bytes, p->output_level,
             res.dropped);
  sst_compaction_result_free(&res);
  ve_clear(&e);
  return rc;
}

static int gather(const sst_version *sv, int level, sst_plan *p, sst_buf *lo,
                  sst_buf *hi, int *have_lo, int *have_hi);

/* LevelDB's seek compaction: a file that lookups read in vain too often is
 * merged into the next level (with what it overlaps), once nothing by size
 * is due. */
static int seek_compaction(strata_db *db, lsm_version *v, const sst_version *sv,
                           int *did) {
  pthread_mutex_lock(&db->mu);
  lsm_file *f = db->seek_file;
  db->seek_file = NULL;
  pthread_mutex_unlock(&db->mu);
  if (!f) return STRATA_OK;
  int level = f->level, present = 0;
  for (size_t i = 0; level < LSM_LEVELS - 1 && i < v->n[level]; i++)
    present |= v->files[level][i] == f;
  int rc = STRATA_OK;
  if (present) {
    sst_plan p;
    memset(&p, 0, sizeof p);
    sst_buf lo = {0}, hi = {0};
    int have_lo = 1, have_hi = 1;
    if (sst_buf_set(&lo, f->f.smallest, ulen(f->f.smallest_len)) ||
        sst_buf_set(&hi, f->f.largest, ulen(f->f.largest_len)))
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
    if (!rc) rc = gather(sv, level, &p, &lo, &hi, &have_lo, &have_hi);
    if (!rc) rc = gather(sv, level + 1, &p, &lo, &hi, &have_lo, &have_hi);
    if (!rc && p.ninputs[level]) {
      p.level = level;
      p.output_level = level + 1;
      p.max_output_size = db->o.max_file_size;
      p.max_grandparent = 10 * (uint64_t)db->o.max_file_size;
      p.reason = "seek";
      *did = 1;
      rc = run_plan(db, sv, &p, "seek");
    }
    sst_plan_free(&p);
    sst_buf_free(&lo);
    sst_buf_free(&hi);
  }
  lsm_file_unref(f);
  return rc;
}

/* Plans and runs one automatic compaction; *did = 0 when none is due. */
static int compact_once(strata_db *db, int *did) {
  *did = 0;
  lsm_version *v = lsm_vset_current(&db->vs);
  sst_version sv;
  int rc = lsm_sst_version(v, &sv);
  sst_plan p;
  memset(&p, 0, sizeof p);
  p.level = -1;
  if (!rc && db->o.compaction_style == STRATA_COMPACTION_SIZE_TIERED) {
    sst_tiered_opts to;
    sst_tiered_defaults(&to);
    to.target_file_size = db->o.max_file_size;
    rc = sst_plan_tiered(&sv, &to, &p);
  } else if (!rc) {
    sst_leveled_opts lo;
    sst_leveled_defaults(&lo);
    lo.l0_trigger = L0_COMPACTION_TRIGGER;
    lo.target_file_size = db->o.max_file_size;
    lo.max_grandparent = 10 * (uint64_t)db->o.max_file_size;
    sst_file cur[LSM_LEVELS];
    const sst_file *curp[LSM_LEVELS];
    sst_buf keys[LSM_LEVELS];
    memset(cur, 0, sizeof cur);
    memset(keys, 0, sizeof keys);
    pthread_mutex_lock(&db->vs.apply_mu);
    for (int l = 0; l < LSM_LEVELS; l++) {
      curp[l] = NULL;
      if (db->vs.cursor[l].len &&
          !sst_buf_set(&keys[l], db->vs.cursor[l].data, db->vs.cursor[l].len)) {
        cur[l].largest = keys[l].data;
        cur[l].largest_len = keys[l].len;
        curp[l] = &cur[l];
      }
    }
    pthread_mutex_unlock(&db->vs.apply_mu);
    rc = sst_plan_leveled(&sv, &lo, curp, &p);
    for (int l = 0; l < LSM_LEVELS; l++)
      sst_buf_free(&keys[l]);
  }
  if (!rc && p.level >= 0) {
    *did = 1;
    rc = run_plan(db, &sv, &p, p.reason ? p.reason : "due");
  } else if (!rc) {
    rc = seek_compaction(db, v, &sv, did);
  }
  sst_plan_free(&p);
  lsm_sst_version_free(&sv);
  lsm_version_unref(v);
  if (*did) db_delete_obsolete(db);
  return rc;
}

static void *compact_main(void *arg) {
  strata_db *db = arg;
  pthread_mutex_lock(&db->mu);
  while (!db->closing) {
    if (!db->compact_kick || db->bg_error) {
      pthread_cond_wait(&db->work_cv, &db->mu);
      continue;
    }
    db->compact_kick = 0;
    pthread_mutex_unlock(&db->mu);
    pthread_mutex_lock(&db->compact_mu);
    int rc = STRATA_OK, did = 1;
    while (!rc && did && !is_closing(db))
      rc = compact_once(db, &did);
    pthread_mutex_unlock(&db->compact_mu);
    pthread_mutex_lock(&db->mu);
    if (rc) db_set_bg_error(db, rc);
    pthread_cond_broadcast(&db->bg_cv);
  }
  pthread_mutex_unlock(&db->mu);
  return NULL;
}

int db_start_threads(strata_db *db) {
  if (pthread_create(&db->flush_thr, NULL, flush_main, db))
    return st_error(STRATA_IO_ERROR, "cannot start the flush thread");
  if (pthread_create(&db->compact_thr, NULL, compact_main, db)) {
    pthread_mutex_lock(&db->mu);
    db->closing = 1;
    pthread_cond_broadcast(&db->work_cv);
    pthread_mutex_unlock(&db->mu);
    pthread_join(db->flush_thr, NULL);
    return st_error(STRATA_IO_ERROR, "cannot start the compaction thread");
  }
  db->threads = 1;
  pthread_mutex_lock(&db->mu);
  db->compact_kick = 1;
  pthread_cond_broadcast(&db->work_cv);
  pthread_mutex_unlock(&db->mu);
  return STRATA_OK;
}

void db_stop_threads(strata_db *db) {
  if (!db->threads) return;
  pthread_mutex_lock(&db->mu);
  db->closing = 1;
  pthread_cond_broadcast(&db->work_cv);
  pthread_cond_broadcast(&db->bg_cv);
  pthread_mutex_unlock(&db->mu);
  pthread_join(db->flush_thr, NULL);
  pthread_join(db->compact_thr, NULL);
  db->threads = 0;
}

/* ---- obsolete files ------------------------------------------------------ */

static void numset_add(void *arg, uint64_t x) {
  numset *s = arg;
  if (s->failed) return;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    uint64_t *p = realloc(s->v, cap * sizeof *p);
    if (!p) {
      s->failed = 1;
      return;
    }
    s->v = p;
    s->cap = cap;
  }
  s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void db_delete_obsolete(strata_db *db) {
  lsm_vset *vs = &db->vs;
  pthread_mutex_lock(&vs->apply_mu);
  /* the directory is listed before the live set is taken: a table being
   * written is registered as pending before its file is created, so every
   * file the listing shows is live or pending in the set taken after it
   * (listed after, a flush's new file could be seen and not be in the set) */
  char **names = NULL;
  size_t count = 0;
  if (env_list_dir(db->e, db->dir, &names, &count)) {
    pthread_mutex_unlock(&vs->apply_mu);
    return;
  }
  numset live = {0};
  lsm_vset_live_files(vs, numset_add, &live);
  pthread_mutex_lock(&vs->mu);
  uint64_t log_number = vs->log_number, prev_log = vs->prev_log;
  uint64_t manifest = vs->current_manifest;
  pthread_mutex_unlock(&vs->mu);
  if (live.failed) {
    free(live.v);
    env_free_list(names, count);
    pthread_mutex_unlock(&vs->apply_mu);
    return;
  }
  if (live.n)
    qsort(live.v, live.n, sizeof *live.v, cmp_u64); /* v may be NULL */
  for (size_t i = 0; i < count; i++) {
    lsm_file_type t;
    uint64_t num;
    if (!lsm_parse_file_name(names[i], &t, &num)) continue;
    int keep = 1;
    switch (t) {
    case LSM_FILE_LOG: keep = num >= log_number || num == prev_log; break;
    case LSM_FILE_MANIFEST: keep = num >= manifest; break;
    case LSM_FILE_TABLE:
    case LSM_FILE_TEMP:
      keep = live.n &&
             bsearch(&num, live.v, live.n, sizeof *live.v, cmp_u64) != NULL;
      break;
    default: break;
    }
    if (keep) continue;
    char *p = lsm_dir_path(db->dir, names[i]);
    if (!p) break;
    if (t == LSM_FILE_TABLE) sst_table_cache_evict(db->tc, num);
    if (env_remove(db->e, p) == STRATA_OK)
      lsm_info(&db->log, "deleted obsolete %s", names[i]);
    free(p);
  }
  env_free_list(names, count);
  free(live.v);
  pthread_mutex_unlock(&vs->apply_mu);
}

/* ---- flush and compact_range on demand ----------------------------------- */

int db_flush(strata_db *db) {
  int rc = db_write(db, NULL, NULL); /* switches the memtable */
  if (rc) return rc;
  pthread_mutex_lock(&db->mu);
  while (db->imm && !db->bg_error)
    pthread_cond_wait(&db->bg_cv, &db->mu);
  rc = db->bg_error;
  if (rc) st_error(rc, "%s", db->bg_msg);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

static int user_in(const uint8_t *k, size_t kn, const uint8_t *lo, size_t lon,
                   const uint8_t *hi, size_t hin) {
  if (lo && ikey_bytewise(k, kn, lo, lon) < 0) return 0;
  if (hi && ikey_bytewise(k, kn, hi, hin) > 0) return 0;
  return 1;
}

static int file_in_range(const sst_file *f, const uint8_t *lo, size_t lon,
                         const uint8_t *hi, size_t hin) {
  if (lo && ikey_bytewise(f->largest, ulen(f->largest_len), lo, lon) < 0)
    return 0;
  if (hi && ikey_bytewise(f->smallest, ulen(f->smallest_len), hi, hin) > 0)
    return 0;
  return 1;
}

/* Adds every file of `level` overlapping [lo, hi] to the plan, growing the
 * range (lo/hi are replaced by the inputs' bounds) until it is stable. */
static int gather(const sst_version *sv, int level, sst_plan *p, sst_buf *lo,
                  sst_buf *hi, int *have_lo, int *have_hi) {
  size_t n = sv->n[level];
  if (!n) return STRATA_OK;
  char *in = calloc(n, 1);
  if (!in) return st_error(STRATA_NO_MEMORY, "out of memory");
  int grown = 1, rc = STRATA_OK;
  while (grown && !rc) {
    grown = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      const sst_file *f = &sv->files[level][i];
      if (in[i] || !file_in_range(f, *have_lo ? lo->data : NULL, lo->len,
                                  *have_hi ? hi->data : NULL, hi->len))
        continue;
      in[i] = 1;
      grown = 1;
      const uint8_t *s = f->smallest, *l = f->largest;
      size_t sn = ulen(f->smallest_len), ln = ulen(f->largest_len);
      if (*have_lo && !user_in(s, sn, lo->data, lo->len, NULL, 0) &&
          sst_buf_set(lo, s, sn))
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
      if (*have_hi && !user_in(l, ln, NULL, 0, hi->data, hi->len) &&
          sst_buf_set(hi, l, ln))
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += in[i];
  if (!rc && k) {
    p->inputs[level] = malloc(k * sizeof(size_t));
    if (!p->inputs[level]) rc = st_error(STRATA_NO_MEMORY, "out of memory");
    for (size_t i = 0; !rc && i < n; i++)
      if (in[i]) p->inputs[level][p->ninputs[level]++] = i;
  }
  free(in);
  return rc;
}

/* Compacts the files of `level` in [b, e] with those they overlap in the
 * next level. */
static int compact_level(strata_db *db, int level, const uint8_t *b, size_t bn,
                         const uint8_t *e, size_t en) {
  lsm_version *v = lsm_vset_current(&db->vs);
  sst_version sv;
  int rc = lsm_sst_version(v, &sv);
  sst_plan p;
  memset(&p, 0, sizeof p);
  sst_buf lo = {0}, hi = {0};
  int have_lo = b != NULL, have_hi = e != NULL;
  if (!rc && ((b && sst_buf_set(&lo, b, bn)) || (e && sst_buf_set(&hi, e, en))))
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
  if (!rc) rc = gather(&sv, level, &p, &lo, &hi, &have_lo, &have_hi);
  if (!rc && p.ninputs[level]) {
    rc = gather(&sv, level + 1, &p, &lo, &hi, &have_lo, &have_hi);
    p.level = level;
    p.output_level = level + 1;
    p.max_output_size = db->o.max_file_size;
    p.max_grandparent = 10 * (uint64_t)db->o.max_file_size;
    p.reason = "manual";
    if (!rc) rc = run_plan(db, &sv, &p, "manual");
  }
  sst_plan_free(&p);
  sst_buf_free(&lo);
  sst_buf_free(&hi);
  lsm_sst_version_free(&sv);
  lsm_version_unref(v);
  if (!rc) db_delete_obsolete(db);
  return rc;
}

int db_compact_range(strata_db *db, const uint8_t *b, size_t bn,
                     const uint8_t *e, size_t en) {
  int rc = db_flush(db);
  if (rc) return rc;
  pthread_mutex_lock(&db->compact_mu);
  lsm_version *v = lsm_vset_current(&db->vs);
  int deepest = 1; /* level 0 alone still compacts into level 1 */
  for (int l = 1; l < LSM_LEVELS; l++)
    for (size_t i = 0; i < v->n[l]; i++)
      if (file_in_range(&v->files[l][i]->f, b, bn, e, en)) deepest = l;
  lsm_version_unref(v);
  for (int l = 0; l < deepest && !rc; l++)
    rc = compact_level(db, l, b, bn, e, en);
  pthread_mutex_unlock(&db->compact_mu);
  if (rc) {
    pthread_mutex_lock(&db->mu);
    if (rc != STRATA_NO_MEMORY) db_set_bg_error(db, rc);
    pthread_mutex_unlock(&db->mu);
  }
  return rc;
}
