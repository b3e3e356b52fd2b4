/*
 * repair_out.c — strata_db_repair, writing side (docs/repair.md).
 *
 * Every surviving source (one memtable per WAL, every table read) is merged
 * in internal-key order, so the first entry of each user key is its newest
 * surviving version. That version is kept unless it is a deletion (the new
 * database holds nothing older for it to hide) or a damaged region could
 * have held a newer version of the key (rep_doubtful: it is left out and
 * reported DOUBTFUL). Kept entries keep their sequence numbers and are
 * written as sorted tables of about 2 MiB with disjoint key ranges, all at
 * one level (the shallowest level >= 1 whose LevelDB size budget holds them),
 * which is a valid LevelDB tree. The MANIFEST is written by the version set
 * (a snapshot record: comparator, counters, every file; last sequence the
 * largest seen), then CURRENT; every file and the directory are synced
 * before the repair reports success.
 *
 * In place, the new database is built in DIR.repairing and swapped in only
 * once complete and synced: DIR → DIR.damaged, DIR.repairing → DIR, with the
 * parent directory synced after each rename. A crash between the two
 * renames leaves both directories intact under their new names.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/filename.h"
#include "lsm/repair.h"
#include "lsm/version.h"
#include "sstable/ikey.h"
#include "sstable/merge.h"
#include "sstable/table_builder.h"
#include "util/status.h"

enum { REP_TABLE_BYTES = 2 << 20 };

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

typedef struct out_table {
  uint64_t number; /* file number */
  uint64_t size;   /* bytes */
  sst_buf lo, hi;  /* smallest and largest internal keys */
} out_table;

typedef struct writer {
  rep_ctx *c;              /* the repair */
  lsm_vset *vs;            /* the new database's version set */
  const char *dir;         /* the new database */
  strata_table_options wo; /* table options for writing */
  sst_builder *b;          /* the table being written, or NULL */
  out_table *t;            /* tables finished or being written */
  size_t n, cap;           /* held (the last may be open), allocated */
  uint64_t bytes;          /* bytes of the finished tables */
} writer;

static int finish_table(writer *w) {
  if (!w->b) return STRATA_OK;
  out_table *t = &w->t[w->n - 1];
  int rc = sst_builder_finish(w->b, &t->size);
  w->b = NULL;
  w->bytes += t->size;
  return rc;
}

static int add_entry(writer *w, const uint8_t *k, size_t kn, const uint8_t *v,
                     size_t vn) {
  int rc;
  if (!w->b) {
    if (w->n == w->cap) {
      size_t cap = w->cap ? w->cap * 2 : 8;
      out_table *t = realloc(w->t, cap * sizeof *t);
      if (!t) return oom();
      w->t = t;
      w->cap = cap;
    }
    out_table *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->number = lsm_vset_new_number(w->vs);
    char *path = lsm_file_path(w->dir, t->number, "ldb");
    if (!path) return oom();
    rc = sst_builder_open(w->vs->e, path, &w->wo, &w->b);
    free(path);
    if (rc) return rc;
    w->n++;
    if (sst_buf_set(&t->lo, k, kn)) return oom();
  }
  out_table *t = &w->t[w->n - 1];
  rc = sst_builder_add(w->b, k, kn, v, vn);
  if (!rc && sst_buf_set(&t->hi, k, kn)) rc = oom();
  if (!rc && sst_builder_file_size(w->b) >= REP_TABLE_BYTES)
    rc = finish_table(w);
  return rc;
}

/* The file holding version (user, seq): a WAL whose batches cover seq and
 * hold the key, or a table holding exactly that internal key; NULL if none
 * is found (or past REP_NAMED doubtful keys, to bound the lookups). */
enum { REP_NAMED = 10000 };
static const char *source_of(rep_ctx *c, const uint8_t *user, size_t ul,
                             uint64_t seq) {
  if (c->rep->doubtful_keys >= REP_NAMED) return NULL;
  for (size_t i = 0; i < c->nwals; i++) {
    rep_wal *w = &c->wals[i];
    if (seq < w->lo || seq > w->hi) continue;
    uint8_t *v = NULL;
    size_t vn;
    int r = mem_get(w->mem, user, ul, seq, &v, &vn);
    free(v);
    if (r == MEM_FOUND) return w->path;
  }
  sst_buf ik = {0};
  if (ikey_append(&ik, user, ul, seq, IKEY_VALUE)) return NULL;
  const char *found = NULL;
  for (size_t i = 0; i < c->ntables && !found; i++) {
    uint8_t *k = NULL, *v = NULL;
    size_t kn, vn, kul;
    uint64_t ks;
    int kt;
    if (sst_table_get_internal(c->tables[i], ik.data, ik.len, &k, &kn, &v,
                               &vn) == STRATA_OK &&
        ikey_parse(k, kn, &kul, &ks, &kt) == 0 && ks == seq)
      found = sst_table_name(c->tables[i]);
    free(k);
    free(v);
  }
  sst_buf_free(&ik);
  return found;
}

static void doubtful(rep_ctx *c, const uint8_t *k, size_t ul, uint64_t seq) {
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DOUBTFUL;
  ev.key = k;
  ev.key_len = ul;
  ev.sequence = seq;
  ev.file = source_of(c, k, ul, seq);
  ev.reason = "a damaged region could have held a newer version or a "
              "deletion of this key; its older value was left out";
  rep_event(c, &ev);
}

/* Merges every source and writes the kept entries through w. */
static int merge_sources(writer *w) {
  rep_ctx *c = w->c;
  size_t n = c->nwals + c->ntables;
  sst_iter **kids = calloc(n ? n : 1, sizeof *kids);
  if (!kids) return oom();
  int rc = STRATA_OK;
  for (size_t i = 0; i < c->nwals && !rc; i++)
    if (!(kids[i] = mem_iter(c->wals[i].mem))) rc = oom();
  for (size_t i = 0; i < c->ntables && !rc; i++)
    if (!(kids[c->nwals + i] = sst_table_iter(c->tables[i]))) rc = oom();
  if (rc) {
    for (size_t i = 0; i < n; i++)
      sst_iter_destroy(kids[i]);
    free(kids);
    return rc;
  }
  c->quiet = 1; /* table damage was reported by the first pass */
  sst_iter *it = sst_merge_iter(kids, n, SST_CMP_INTERNAL);
  free(kids);
  if (!it) return oom();
  sst_buf cur = {0};
  int have = 0;
  for (sst_iter_seek_first(it); !rc && sst_iter_valid(it); sst_iter_next(it)) {
    size_t kn, vn, ul;
    const uint8_t *k = sst_iter_key(it, &kn);
    uint64_t seq;
    int type;
    if (ikey_parse(k, kn, &ul, &seq, &type) != 0) continue;
    if (have && ul == cur.len && memcmp(k, cur.data, ul) == 0) continue;
    if (sst_buf_set(&cur, k, ul)) {
      rc = oom();
      break;
    }
    have = 1;
    if (type == IKEY_DELETION) continue;
    if (rep_doubtful(c, k, ul, seq)) {
      doubtful(c, k, ul, seq);
      continue;
    }
    const uint8_t *v = sst_iter_value(it, &vn);
    rc = add_entry(w, k, kn, v, vn);
    if (!rc) c->rep->keys_written++;
  }
  if (!rc) rc = sst_iter_status(it);
  sst_iter_destroy(it);
  sst_buf_free(&cur);
  if (!rc) rc = finish_table(w);
  return rc;
}

/* The shallowest level >= 1 whose LevelDB budget (10 MiB * 10^(L-1)) holds
 * `bytes`; the last level if none does. */
static int pick_level(uint64_t bytes) {
  double budget = 10.0 * 1048576.0;
  for (int l = 1; l < LSM_LEVELS - 1; l++, budget *= 10)
    if ((double)bytes <= budget) return l;
  return LSM_LEVELS - 1;
}

int rep_write(rep_ctx *c, const char *into) {
  env *e = c->e;
  int rc = lsm_vset_create(e, into);
  if (rc) return rc;
  lsm_vset vs;
  rc = lsm_vset_init(&vs, e, into);
  if (rc) return rc;
  rc = lsm_vset_recover(&vs, NULL, NULL);
  writer w;
  memset(&w, 0, sizeof w);
  w.c = c;
  w.vs = &vs;
  w.dir = into;
  strata_table_options_init(&w.wo);
  w.wo.internal_keys = 1; /* Snappy and a 10-bit bloom, as LevelDB's */
  if (!rc) rc = merge_sources(&w);
  if (w.b) sst_builder_abandon(w.b);
  int level = pick_level(w.bytes);
  version_edit ve;
  ve_init(&ve);
  for (size_t i = 0; !rc && i < w.n; i++)
    rc = ve_add_file(&ve, level, w.t[i].number, w.t[i].size, w.t[i].lo.data,
                     w.t[i].lo.len, w.t[i].hi.data, w.t[i].hi.len);
  if (!rc) {
    ve_set_log_number(&ve, 0);
    ve_set_prev_log(&ve, 0);
    ve_set_last_sequence(&ve, c->max_seq);
    rc = env_sync_dir(e, into); /* the tables' names, before the MANIFEST */
  }
  if (!rc) rc = lsm_vset_apply(&vs, &ve);
  uint64_t manifest = vs.current_manifest;
  ve_clear(&ve);
  for (size_t i = 0; i < w.n; i++) {
    sst_buf_free(&w.t[i].lo);
    sst_buf_free(&w.t[i].hi);
  }
  free(w.t);
  lsm_vset_free(&vs);
  if (!rc && manifest != 1) { /* the empty first MANIFEST is obsolete */
    char *old = lsm_manifest_path(into, 1);
    if (old) env_remove(e, old);
    free(old);
  }
  if (!rc) rc = env_sync_dir(e, into);
  if (!rc) {
    char *parent = env_dirname(into);
    rc = parent ? env_sync_dir(e, parent) : oom();
    free(parent);
  }
  if (!rc) {
    c->rep->tables_written = w.n;
    c->rep->level = level;
    c->rep->last_sequence = c->max_seq;
  }
  return rc;
}

int rep_swap(env *e, const char *dir, const char *tmp, const char *backup) {
  char *parent = env_dirname(dir);
  if (!parent) return oom();
  int rc = env_rename(e, dir, backup);
  if (!rc) rc = env_sync_dir(e, parent);
  if (!rc) rc = env_rename(e, tmp, dir);
  if (!rc) rc = env_sync_dir(e, parent);
  free(parent);
  return rc;
}
