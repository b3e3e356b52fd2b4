/*
 * db_read.c — the read path: get (memtable, immutable memtable, then the
 * tables of the current version: level 0 newest first, one file per deeper
 * level) and iterators (a merging iterator over the memtables, each level-0
 * table and one concatenating iterator per deeper level, seen through
 * db_iter at a sequence number).
 *
 * Reads take references (memtables, the version, each open table) and then
 * run without the database lock. Damage: a damaged block fails the get or
 * stops the iterator with STRATA_CORRUPTION naming the file and offset; an
 * older version of the key is never returned in its place. Under the skip
 * policy a table iterator reports a damaged block and passes over it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/db_internal.h"
#include "lsm/db_iter.h"
#include "sstable/ikey.h"
#include "sstable/merge.h"
#include "util/status.h"

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

/* The read view: sequence number and references on the sources. */
typedef struct view {
  uint64_t seq;   /* sequence number read at */
  mem_table *mem; /* referenced */
  mem_table *imm; /* referenced, or NULL */
  lsm_version *v; /* referenced */
} view;

static void view_get(strata_db *db, const strata_read_options *ro, view *w) {
  pthread_mutex_lock(&db->mu);
  w->seq = ro && ro->snapshot ? ro->snapshot->seq : atomic_load(&db->last_seq);
  w->mem = db->mem;
  mem_ref(w->mem);
  w->imm = db->imm;
  if (w->imm) mem_ref(w->imm);
  pthread_mutex_unlock(&db->mu);
  w->v = lsm_vset_current(&db->vs);
}

static void view_put(view *w) {
  mem_unref(w->mem);
  mem_unref(w->imm);
  lsm_version_unref(w->v);
}

int strata_db_get(strata_db *db, const strata_read_options *ro, const void *key,
                  size_t klen, void **value, size_t *vlen) {
  *value = NULL;
  *vlen = 0;
  view w;
  view_get(db, ro, &w);
  uint8_t *val = NULL;
  size_t vn = 0;
  int rc = STRATA_OK;
  int r = mem_get(w.mem, key, klen, w.seq, &val, &vn);
  if (r == MEM_ABSENT && w.imm) r = mem_get(w.imm, key, klen, w.seq, &val, &vn);
  int from_mem = r != MEM_ABSENT; /* newer than any loss in the ledger */
  uint64_t fseq = 0;              /* sequence of the table version found */
  if (r < 0)
    rc = oom();
  else if (r == MEM_ABSENT) {
    lsm_file *due = NULL;
    rc = lsm_version_get(w.v, db->tc, key, klen, w.seq, &r, &val, &vn, &fseq,
                         &due);
    if (due) { /* LevelDB's seek compaction */
      pthread_mutex_lock(&db->mu);
      if (!db->seek_file &&
          db->o.compaction_style == STRATA_COMPACTION_LEVELED) {
        db->seek_file = due;
        due = NULL;
        db->compact_kick = 1;
        pthread_cond_broadcast(&db->work_cv);
      }
      pthread_mutex_unlock(&db->mu);
      lsm_file_unref(due);
    }
  }
  view_put(&w);
  char why[512];
  if (!rc && !from_mem &&
      lsm_ledger_covers(&db->ledger, key, klen, r == MEM_ABSENT ? 0 : fseq, why,
                        sizeof why)) {
    free(val);
    return ST_CORRUPT("%s: %s", db->dir, why);
  }
  if (rc) return rc;
  if (r != MEM_FOUND) {
    free(val);
    return STRATA_NOT_FOUND;
  }
  if (!val && !(val = malloc(1))) return oom();
  *value = val;
  *vlen = vn;
  return STRATA_OK;
}

/* ---- a table iterator that holds its table-cache reference --------------- */

typedef struct table_it {
  sst_iter base;       /* the interface */
  sst_iter *in;        /* the table's own iterator */
  sst_table_cache *tc; /* where the reference came from */
  sst_table_ref *ref;  /* keeps the table open */
} table_it;

static int t_valid(sst_iter *i) { return sst_iter_valid(((table_it *)i)->in); }
static void t_first(sst_iter *i) { sst_iter_seek_first(((table_it *)i)->in); }
static void t_last(sst_iter *i) { sst_iter_seek_last(((table_it *)i)->in); }
static void t_seek(sst_iter *i, const uint8_t *k, size_t n) {
  sst_iter_seek(((table_it *)i)->in, k, n);
}
static void t_next(sst_iter *i) { sst_iter_next(((table_it *)i)->in); }
static void t_prev(sst_iter *i) { sst_iter_prev(((table_it *)i)->in); }
static const uint8_t *t_key(sst_iter *i, size_t *n) {
  return sst_iter_key(((table_it *)i)->in, n);
}
static const uint8_t *t_value(sst_iter *i, size_t *n) {
  return sst_iter_value(((table_it *)i)->in, n);
}
static int t_status(sst_iter *i) {
  return sst_iter_status(((table_it *)i)->in);
}
static void t_destroy(sst_iter *i) {
  table_it *t = (table_it *)i;
  sst_iter_destroy(t->in);
  sst_table_cache_release(t->tc, t->ref);
  free(t);
}
static const sst_iter_ops table_it_ops = {t_valid,  t_first,  t_last, t_seek,
                                          t_next,   t_prev,   t_key,  t_value,
                                          t_status, t_destroy};

/* An iterator over table `number`; STRATA_OK or why it cannot be opened. */
static int open_table_iter(sst_table_cache *tc, uint64_t number,
                           sst_iter **out) {
  *out = NULL;
  sst_table *t;
  sst_table_ref *ref;
  int rc = sst_table_cache_get(tc, number, &t, &ref);
  if (rc) return rc;
  table_it *ti = calloc(1, sizeof *ti);
  if (ti) ti->in = sst_table_iter(t);
  if (!ti || !ti->in) {
    free(ti);
    sst_table_cache_release(tc, ref);
    return oom();
  }
  ti->base.ops = &table_it_ops;
  ti->tc = tc;
  ti->ref = ref;
  *out = &ti->base;
  return STRATA_OK;
}

/* ---- the concatenation of one level's sorted, disjoint files ------------- */

typedef struct level_it {
  sst_iter base;       /* the interface */
  lsm_version *v;      /* referenced */
  int level;           /* which level */
  size_t idx;          /* file of `cur` */
  sst_iter *cur;       /* iterator over file idx, or NULL */
  sst_table_cache *tc; /* open tables */
  int status;          /* an open failure, or STRATA_OK */
} level_it;

static int set_file(level_it *l, size_t idx) {
  sst_iter_destroy(l->cur);
  l->cur = NULL;
  l->idx = idx;
  if (idx >= l->v->n[l->level]) return 0;
  int rc =
      open_table_iter(l->tc, l->v->files[l->level][idx]->f.number, &l->cur);
  if (rc) {
    l->status = rc;
    return 0;
  }
  return 1;
}

static void skip_forward(level_it *l) {
  while (l->cur && !sst_iter_valid(l->cur)) {
    if (sst_iter_status(l->cur)) return;
    if (!set_file(l, l->idx + 1)) return;
    sst_iter_seek_first(l->cur);
  }
}

static void skip_backward(level_it *l) {
  while (l->cur && !sst_iter_valid(l->cur)) {
    if (sst_iter_status(l->cur)) return;
    if (l->idx == 0) {
      sst_iter_destroy(l->cur);
      l->cur = NULL;
      return;
    }
    if (!set_file(l, l->idx - 1)) return;
    sst_iter_seek_last(l->cur);
  }
}

static int l_valid(sst_iter *i) {
  level_it *l = (level_it *)i;
  return !l->status && l->cur && sst_iter_valid(l->cur);
}
static void l_first(sst_iter *i) {
  level_it *l = (level_it *)i;
  l->status = STRATA_OK;
  if (set_file(l, 0)) sst_iter_seek_first(l->cur);
  skip_forward(l);
}
static void l_last(sst_iter *i) {
  level_it *l = (level_it *)i;
  l->status = STRATA_OK;
  size_t n = l->v->n[l->level];
  if (n && set_file(l, n - 1)) sst_iter_seek_last(l->cur);
  skip_backward(l);
}
static void l_seek(sst_iter *i, const uint8_t *k, size_t kn) {
  level_it *l = (level_it *)i;
  l->status = STRATA_OK;
  size_t lo = 0, hi = l->v->n[l->level];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const sst_file *f = &l->v->files[l->level][mid]->f;
    if (ikey_compare(SST_CMP_INTERNAL, f->largest, f->largest_len, k, kn) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (set_file(l, lo)) sst_iter_seek(l->cur, k, kn);
  skip_forward(l);
}
static void l_next(sst_iter *i) {
  level_it *l = (level_it *)i;
  sst_iter_next(l->cur);
  skip_forward(l);
}
static void l_prev(sst_iter *i) {
  level_it *l = (level_it *)i;
  sst_iter_prev(l->cur);
  skip_backward(l);
}
static const uint8_t *l_key(sst_iter *i, size_t *n) {
  return sst_iter_key(((level_it *)i)->cur, n);
}
static const uint8_t *l_value(sst_iter *i, size_t *n) {
  return sst_iter_value(((level_it *)i)->cur, n);
}
static int l_status(sst_iter *i) {
  level_it *l = (level_it *)i;
  if (l->status) return l->status;
  return l->cur ? sst_iter_status(l->cur) : STRATA_OK;
}
static void l_destroy(sst_iter *i) {
  level_it *l = (level_it *)i;
  sst_iter_destroy(l->cur);
  lsm_version_unref(l->v);
  free(l);
}
static const sst_iter_ops level_it_ops = {l_valid,  l_first,  l_last, l_seek,
                                          l_next,   l_prev,   l_key,  l_value,
                                          l_status, l_destroy};

static sst_iter *level_iter(lsm_version *v, int level, sst_table_cache *tc) {
  level_it *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->base.ops = &level_it_ops;
  lsm_version_ref(v);
  l->v = v;
  l->level = level;
  l->tc = tc;
  return &l->base;
}

/* ---- the public iterator ------------------------------------------------- */

struct strata_iterator {
  sst_iter *it;  /* db_iter over the merge of every source */
  strata_db *db; /* for the ledger */
  sst_buf prev;  /* the key before the last move (ledger checks) */
  int have_prev; /* prev holds a key */
  int failed;    /* the move crossed a lost range: not valid */
  char why[512]; /* which one */
};

static const uint8_t *cur_key(strata_iterator *it, size_t *n) {
  *n = 0;
  return sst_iter_valid(it->it) ? sst_iter_key(it->it, n) : NULL;
}

/* After a move (forward if `fwd`) from `from` (NULL: from the start or the
 * end; excluded if `from_open`), checks the keys passed over against the
 * ledger: a listed range in the gap may have held lost keys, and a key shown
 * from data not newer than a listed loss may be stale. Under skip the stale
 * key is hidden and the gap passed (the damage was reported when met);
 * otherwise the iterator stops with STRATA_CORRUPTION. */
static void settle(strata_iterator *it, int fwd, const uint8_t *from, size_t fn,
                   int from_open) {
  lsm_ledger *l = &it->db->ledger;
  if (atomic_load(&l->count) == 0) {
    it->have_prev = 0;
    return;
  }
  int skip = it->db->topts.policy == STRATA_RECOVERY_SKIP;
  sst_buf hidden = {0}; /* the last key hidden, the gap's new start */
  for (;;) {
    size_t kn;
    const uint8_t *k = cur_key(it, &kn);
    if (!skip && (fwd ? lsm_ledger_crosses(l, from, fn, from_open, k, kn, 1,
                                           it->why, sizeof it->why)
                      : lsm_ledger_crosses(l, k, kn, 1, from, fn, from_open,
                                           it->why, sizeof it->why))) {
      it->failed = 1;
      break;
    }
    if (!k || !lsm_ledger_covers(l, k, kn, db_iter_sequence(it->it), it->why,
                                 sizeof it->why))
      break;
    if (!skip) {
      it->failed = 1;
      break;
    }
    if (sst_buf_set(&hidden, k, kn)) {
      it->failed = 1;
      snprintf(it->why, sizeof it->why, "out of memory");
      break;
    }
    from = hidden.data;
    fn = hidden.len;
    from_open = 1;
    if (fwd)
      sst_iter_next(it->it);
    else
      sst_iter_prev(it->it);
  }
  sst_buf_free(&hidden);
  size_t kn;
  const uint8_t *k = it->failed ? NULL : cur_key(it, &kn);
  it->have_prev = k && sst_buf_set(&it->prev, k, kn) == 0;
}

/* The merge of every source of `w` (internal keys), or NULL with rc set. */
static sst_iter *internal_iter(strata_db *db, view *w, int *rc) {
  size_t cap = 2 + w->v->n[0] + LSM_LEVELS, n = 0;
  sst_iter **kids = calloc(cap, sizeof *kids);
  *rc = STRATA_OK;
  if (!kids) {
    *rc = oom();
    return NULL;
  }
  if (!(kids[n++] = mem_iter(w->mem))) *rc = oom();
  if (!*rc && w->imm && !(kids[n++] = mem_iter(w->imm))) *rc = oom();
  for (size_t i = w->v->n[0]; !*rc && i-- > 0;)
    if (!(*rc = open_table_iter(db->tc, w->v->files[0][i]->f.number, &kids[n])))
      n++;
  for (int l = 1; !*rc && l < LSM_LEVELS; l++)
    if (w->v->n[l] && !(kids[n++] = level_iter(w->v, l, db->tc))) *rc = oom();
  if (*rc) {
    for (size_t i = 0; i < n; i++)
      sst_iter_destroy(kids[i]);
    free(kids);
    return NULL;
  }
  sst_iter *m = sst_merge_iter(kids, n, SST_CMP_INTERNAL);
  free(kids);
  if (!m) *rc = oom();
  return m;
}

int strata_db_iter_create(strata_db *db, const strata_read_options *ro,
                          strata_iterator **out) {
  *out = NULL;
  view w;
  view_get(db, ro, &w);
  int rc;
  sst_iter *m = internal_iter(db, &w, &rc);
  uint64_t seq = w.seq;
  view_put(&w); /* the sources hold their own references */
  if (!m) return rc;
  strata_iterator *it = calloc(1, sizeof *it);
  if (!it) {
    sst_iter_destroy(m);
    return oom();
  }
  it->db = db;
  it->it = db_iter_create(m, seq);
  if (!it->it) {
    free(it);
    return oom();
  }
  *out = it;
  return STRATA_OK;
}

void strata_iter_destroy(strata_iterator *it) {
  if (!it) return;
  sst_iter_destroy(it->it);
  sst_buf_free(&it->prev);
  free(it);
}

void strata_iter_seek_first(strata_iterator *it) {
  it->failed = 0;
  sst_iter_seek_first(it->it);
  settle(it, 1, NULL, 0, 0);
}

void strata_iter_seek_last(strata_iterator *it) {
  it->failed = 0;
  sst_iter_seek_last(it->it);
  settle(it, 0, NULL, 0, 0);
}

void strata_iter_seek(strata_iterator *it, const void *key, size_t klen) {
  it->failed = 0;
  sst_iter_seek(it->it, key, klen);
  settle(it, 1, key, klen, 0);
}

/* The gap of a step starts at the key before it (when the ledger was
 * non-empty then; else conservatively at the start or end). */
static void step(strata_iterator *it, int fwd) {
  if (!strata_iter_valid(it)) return;
  sst_buf from = {0};
  int have =
      it->have_prev && sst_buf_set(&from, it->prev.data, it->prev.len) == 0;
  if (fwd)
    sst_iter_next(it->it);
  else
    sst_iter_prev(it->it);
  settle(it, fwd, have ? from.data : NULL, from.len, 1);
  sst_buf_free(&from);
}

void strata_iter_next(strata_iterator *it) { step(it, 1); }
void strata_iter_prev(strata_iterator *it) { step(it, 0); }

int strata_iter_valid(const strata_iterator *it) {
  return !it->failed && sst_iter_valid(it->it);
}
const void *strata_iter_key(const strata_iterator *it, size_t *klen) {
  return sst_iter_key(it->it, klen);
}
const void *strata_iter_value(const strata_iterator *it, size_t *vlen) {
  return sst_iter_value(it->it, vlen);
}
int strata_iter_status(const strata_iterator *it) {
  if (it->failed)
    return ST_CORRUPT("%s: iterator stopped: %s", it->db->dir, it->why);
  return sst_iter_status(it->it);
}
