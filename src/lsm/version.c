/*
 * version.c — versions and the version set (interface in version.h; the
 * MANIFEST format in docs/formats/manifest.md).
 *
 * The MANIFEST is a record log (log_writer), one VersionEdit per record. A
 * new MANIFEST starts with a snapshot record (comparator, log number, next
 * file, last sequence, compact pointers, every file) and is made current by
 * replacing CURRENT only after that record is synced. Every later edit is
 * appended and synced before the version it describes is installed, so what
 * readers see is always on disk first.
 *
 * Damage: CURRENT that does not name a MANIFEST, a MANIFEST record that fails
 * its checksum or does not decode, a comparator other than LevelDB's
 * bytewise one, or missing counters refuse to open (the message points to
 * `strata repair`). Only a torn last record, which is what a crash during an
 * append leaves, is dropped (and reported): the edit it held was never
 * acknowledged, so the files it named are unreferenced garbage.
 */
#include "lsm/version.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "lsm/filename.h"
#include "lsm/memtable.h"
#include "sstable/ikey.h"
#include "util/coding.h"
#include "util/status.h"

#define COMPARATOR "leveldb.BytewiseComparator"

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

/* ---- files and versions -------------------------------------------------- */

static lsm_file *file_new(uint64_t number, uint64_t size, const uint8_t *s,
                          size_t sn, const uint8_t *l, size_t ln) {
  lsm_file *f = malloc(sizeof *f + sn + ln + 1);
  if (!f) return NULL;
  memcpy(f->keys, s, sn);
  memcpy(f->keys + sn, l, ln);
  f->f.number = number;
  f->f.size = size;
  f->f.smallest = f->keys;
  f->f.smallest_len = sn;
  f->f.largest = f->keys + sn;
  f->f.largest_len = ln;
  atomic_init(&f->refs, 1);
  uint64_t seeks = size / 16384;
  atomic_init(&f->allowed_seeks, seeks < 100       ? 100
                                 : seeks > 1 << 30 ? 1 << 30
                                                   : (int)seeks);
  f->level = 0;
  return f;
}

static void file_unref(lsm_file *f) {
  if (f && atomic_fetch_sub(&f->refs, 1) == 1) free(f);
}

void lsm_file_unref(lsm_file *f) { file_unref(f); }

static lsm_version *version_new(lsm_vset *vs) {
  lsm_version *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  atomic_init(&v->refs, 1);
  v->vs = vs;
  v->prev = v->next = v;
  return v;
}

static void version_free(lsm_version *v) {
  for (int l = 0; l < LSM_LEVELS; l++) {
    for (size_t i = 0; i < v->n[l]; i++)
      file_unref(v->files[l][i]);
    free(v->files[l]);
  }
  free(v);
}

void lsm_version_ref(lsm_version *v) { atomic_fetch_add(&v->refs, 1); }

void lsm_version_unref(lsm_version *v) {
  if (!v || atomic_fetch_sub(&v->refs, 1) != 1) return;
  lsm_vset *vs = v->vs;
  if (vs) pthread_mutex_lock(&vs->mu);
  v->prev->next = v->next;
  v->next->prev = v->prev;
  if (vs) pthread_mutex_unlock(&vs->mu);
  version_free(v);
}

/* Makes v current (the set's reference moves to it). Caller holds vs->mu. */
static lsm_version *install(lsm_vset *vs, lsm_version *v) {
  v->next = &vs->live;
  v->prev = vs->live.prev;
  v->prev->next = v;
  vs->live.prev = v;
  lsm_version *old = vs->current;
  vs->current = v;
  return old; /* the caller unrefs it without vs->mu */
}

lsm_version *lsm_vset_current(lsm_vset *vs) {
  pthread_mutex_lock(&vs->mu);
  lsm_version *v = vs->current;
  lsm_version_ref(v);
  pthread_mutex_unlock(&vs->mu);
  return v;
}

static int user_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return ikey_bytewise(a, an, b, bn);
}

static size_t ulen(size_t n) {
  return n >= IKEY_TRAILER ? n - IKEY_TRAILER : n;
}

static int by_smallest(const void *pa, const void *pb) {
  const lsm_file *a = *(lsm_file *const *)pa, *b = *(lsm_file *const *)pb;
  int c = ikey_compare(SST_CMP_INTERNAL, a->f.smallest, a->f.smallest_len,
                       b->f.smallest, b->f.smallest_len);
  if (c) return c;
  return a->f.number < b->f.number ? -1 : a->f.number > b->f.number;
}

static int by_number(const void *pa, const void *pb) {
  const lsm_file *a = *(lsm_file *const *)pa, *b = *(lsm_file *const *)pb;
  return a->f.number < b->f.number ? -1 : a->f.number > b->f.number;
}

static int deleted_in(const version_edit *e, int level, uint64_t number) {
  for (size_t i = 0; i < e->ndeleted; i++)
    if (e->deleted[i].level == level && e->deleted[i].number == number)
      return 1;
  return 0;
}

/* base + edit → a new version (not yet listed). Files deleted by the edit
 * are left out; added ones are created; levels are sorted. */
static int build(lsm_vset *vs, const lsm_version *base, const version_edit *e,
                 lsm_version **out) {
  lsm_version *v = version_new(vs);
  if (!v) return oom();
  for (int l = 0; l < LSM_LEVELS; l++) {
    size_t cap = base->n[l];
    for (size_t i = 0; i < e->nfiles; i++)
      cap += e->files[i].level == l;
    if (!cap) continue;
    v->files[l] = malloc(cap * sizeof *v->files[l]);
    if (!v->files[l]) {
      version_free(v);
      return oom();
    }
    for (size_t i = 0; i < base->n[l]; i++) {
      lsm_file *f = base->files[l][i];
      if (deleted_in(e, l, f->f.number)) continue;
      atomic_fetch_add(&f->refs, 1);
      v->files[l][v->n[l]++] = f;
    }
    for (size_t i = 0; i < e->nfiles; i++) {
      const ve_file *nf = &e->files[i];
      if (nf->level != l) continue;
      if (deleted_in(e, l, nf->number)) continue;
      lsm_file *f =
          file_new(nf->number, nf->size, nf->smallest.data, nf->smallest.len,
                   nf->largest.data, nf->largest.len);
      if (!f) {
        version_free(v);
        return oom();
      }
      f->level = l;
      v->files[l][v->n[l]++] = f;
    }
    qsort(v->files[l], v->n[l], sizeof *v->files[l],
          l == 0 ? by_number : by_smallest);
  }
  *out = v;
  return STRATA_OK;
}

/* ---- the set ------------------------------------------------------------- */

int lsm_vset_init(lsm_vset *vs, env *e, const char *dir) {
  memset(vs, 0, sizeof *vs);
  vs->e = e;
  vs->dir = strdup(dir);
  vs->live.prev = vs->live.next = &vs->live;
  vs->current = version_new(vs);
  if (!vs->dir || !vs->current) {
    free(vs->dir);
    free(vs->current);
    return oom();
  }
  pthread_mutex_init(&vs->mu, NULL);
  pthread_mutex_init(&vs->apply_mu, NULL);
  install(vs, vs->current);
  vs->current = vs->live.next;
  vs->next_file = 2;
  return STRATA_OK;
}

void lsm_vset_free(lsm_vset *vs) {
  if (!vs->dir) return;
  if (vs->manifest) log_writer_close(vs->manifest);
  lsm_version_unref(vs->current);
  /* versions still referenced by readers would be a caller bug */
  for (int l = 0; l < LSM_LEVELS; l++)
    sst_buf_free(&vs->cursor[l]);
  free(vs->pending);
  pthread_mutex_destroy(&vs->mu);
  pthread_mutex_destroy(&vs->apply_mu);
  free(vs->dir);
  vs->dir = NULL;
}

uint64_t lsm_vset_new_number(lsm_vset *vs) {
  pthread_mutex_lock(&vs->mu);
  uint64_t n = vs->next_file++;
  pthread_mutex_unlock(&vs->mu);
  return n;
}

void lsm_vset_mark_used(lsm_vset *vs, uint64_t number) {
  pthread_mutex_lock(&vs->mu);
  if (vs->next_file <= number) vs->next_file = number + 1;
  pthread_mutex_unlock(&vs->mu);
}

int lsm_vset_add_pending(lsm_vset *vs, uint64_t number) {
  pthread_mutex_lock(&vs->mu);
  if (vs->npending == vs->cappending) {
    size_t cap = vs->cappending ? vs->cappending * 2 : 16;
    uint64_t *p = realloc(vs->pending, cap * sizeof *p);
    if (!p) {
      pthread_mutex_unlock(&vs->mu);
      return oom();
    }
    vs->pending = p;
    vs->cappending = cap;
  }
  vs->pending[vs->npending++] = number;
  pthread_mutex_unlock(&vs->mu);
  return STRATA_OK;
}

void lsm_vset_remove_pending(lsm_vset *vs, uint64_t number) {
  pthread_mutex_lock(&vs->mu);
  for (size_t i = 0; i < vs->npending; i++)
    if (vs->pending[i] == number) {
      vs->pending[i] = vs->pending[--vs->npending];
      break;
    }
  pthread_mutex_unlock(&vs->mu);
}

void lsm_vset_live_files(lsm_vset *vs, void (*fn)(void *, uint64_t),
                         void *arg) {
  pthread_mutex_lock(&vs->mu);
  for (lsm_version *v = vs->live.next; v != &vs->live; v = v->next)
    for (int l = 0; l < LSM_LEVELS; l++)
      for (size_t i = 0; i < v->n[l]; i++)
        fn(arg, v->files[l][i]->f.number);
  for (size_t i = 0; i < vs->npending; i++)
    fn(arg, vs->pending[i]);
  pthread_mutex_unlock(&vs->mu);
}

/* ---- creating and recovering --------------------------------------------- */

static int write_record(log_writer *w, const version_edit *e) {
  sst_buf b = {0};
  int rc = ve_encode(e, &b);
  if (!rc) rc = log_writer_add(w, b.data, b.len);
  sst_buf_free(&b);
  return rc;
}

/* Creates MANIFEST-<number> holding `first`, synced. */
static int new_manifest(env *e, const char *dir, uint64_t number,
                        const version_edit *first, log_writer **out,
                        uint64_t *size) {
  char *path = lsm_manifest_path(dir, number);
  if (!path) return oom();
  env_file *f = NULL;
  log_writer *w = NULL;
  int rc = env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &f);
  if (!rc) {
    rc = log_writer_create(f, 0, 1, &w);
    if (rc) env_close(f);
  }
  if (!rc) rc = write_record(w, first);
  if (!rc) rc = log_writer_sync(w);
  if (rc) {
    if (w) log_writer_close(w);
    env_remove(e, path);
  } else if (out) {
    *out = w;
    *size = log_writer_size(w);
  } else {
    rc = log_writer_close(w);
  }
  free(path);
  return rc;
}

int lsm_vset_create(env *e, const char *dir) {
  version_edit ve;
  ve_init(&ve);
  int rc = ve_set_comparator(&ve, COMPARATOR);
  ve_set_log_number(&ve, 0);
  ve_set_next_file(&ve, 2);
  ve_set_last_sequence(&ve, 0);
  if (!rc) rc = new_manifest(e, dir, 1, &ve, NULL, NULL);
  if (!rc) rc = lsm_set_current(e, dir, 1);
  ve_clear(&ve);
  return rc;
}

typedef struct recover_damage {
  strata_damage_fn fn; /* the caller's callback */
  void *arg;           /* its argument */
  int fatal;           /* damage other than a torn tail was met */
  char what[512];      /* the first damage, for the message */
} recover_damage;

static void on_manifest_damage(void *arg, const strata_damage *d) {
  recover_damage *rd = arg;
  if (!(d->kind == STRATA_DAMAGE_TORN_TAIL && d->tail) && !rd->fatal) {
    rd->fatal = 1;
    snprintf(rd->what, sizeof rd->what, "%s at offset %" PRIu64 ": %s", d->file,
             d->offset, d->reason ? d->reason : "damaged");
  }
  if (rd->fn) rd->fn(rd->arg, d);
}

int lsm_vset_recover(lsm_vset *vs, strata_damage_fn on_damage, void *arg) {
  uint64_t mnum;
  int rc = lsm_read_current(vs->e, vs->dir, &mnum);
  if (rc == STRATA_CORRUPTION) {
    char msg[768];
    snprintf(msg, sizeof msg, "%s", strata_last_error());
    return ST_CORRUPT("%s; run `strata repair %s` to rebuild it", msg, vs->dir);
  }
  if (rc) return rc;
  char *path = lsm_manifest_path(vs->dir, mnum);
  if (!path) return oom();
  recover_damage rd = {on_damage, arg, 0, ""};
  log_reader *r = NULL;
  rc = log_reader_open(vs->e, path, STRATA_RECOVERY_TOLERATE_TAIL,
                       on_manifest_damage, &rd, &r);
  if (rc == STRATA_NOT_FOUND)
    rc = ST_CORRUPT("%s: CURRENT names it but it does not exist; run "
                    "`strata repair %s`",
                    path, vs->dir);
  version_edit all; /* the counters and pointers gathered */
  ve_init(&all);
  lsm_version *v = vs->current;
  lsm_version_ref(v);
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while (!rc && (rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    version_edit e;
    ve_init(&e);
    rc = ve_decode(&e, rec, n, path);
    if (!rc && e.has_comparator &&
        (e.comparator.len != strlen(COMPARATOR) ||
         memcmp(e.comparator.data, COMPARATOR, e.comparator.len) != 0))
      rc = st_error(STRATA_NOT_SUPPORTED,
                    "%s: comparator '%.*s' is not %s, the only one strata "
                    "knows",
                    path, (int)e.comparator.len,
                    (const char *)e.comparator.data, COMPARATOR);
    lsm_version *nv = NULL;
    if (!rc) rc = build(vs, v, &e, &nv);
    if (!rc) {
      lsm_version_unref(v); /* not listed: freed here */
      v = nv;
      if (e.has_log_number) ve_set_log_number(&all, e.log_number);
      if (e.has_prev_log) ve_set_prev_log(&all, e.prev_log);
      if (e.has_next_file) ve_set_next_file(&all, e.next_file);
      if (e.has_last_sequence) ve_set_last_sequence(&all, e.last_sequence);
      for (size_t i = 0; !rc && i < e.npointers; i++) {
        const ve_pointer *p = &e.pointers[i];
        if (sst_buf_set(&vs->cursor[p->level], p->key.data, p->key.len))
          rc = oom();
      }
    }
    ve_clear(&e);
  }
  if (rc == STRATA_END) rc = STRATA_OK;
  if (!rc && rd.fatal)
    rc = ST_CORRUPT("MANIFEST damaged: %s; run `strata repair %s` to rebuild "
                    "it",
                    rd.what, vs->dir);
  else if (rc == STRATA_CORRUPTION) {
    char msg[768];
    snprintf(msg, sizeof msg, "%s", strata_last_error());
    if (!strstr(msg, "strata repair"))
      rc = ST_CORRUPT("%s; run `strata repair %s` to rebuild it", msg, vs->dir);
  }
  if (!rc && !all.has_next_file)
    rc = ST_CORRUPT("%s: no next-file-number entry; run `strata repair %s`",
                    path, vs->dir);
  else if (!rc && !all.has_log_number)
    rc = ST_CORRUPT("%s: no log-number entry; run `strata repair %s`", path,
                    vs->dir);
  else if (!rc && !all.has_last_sequence)
    rc = ST_CORRUPT("%s: no last-sequence entry; run `strata repair %s`", path,
                    vs->dir);
  log_reader_close(r);
  free(path);
  if (rc) {
    lsm_version_unref(v);
    ve_clear(&all);
    return rc;
  }
  /* v was built outside the list (prev/next point to itself): list it */
  pthread_mutex_lock(&vs->mu);
  v->prev = v->next = v;
  lsm_version *old = install(vs, v);
  vs->log_number = all.log_number;
  vs->prev_log = all.has_prev_log ? all.prev_log : 0;
  vs->next_file = all.next_file;
  vs->last_sequence = all.last_sequence;
  uint64_t floor = mnum;
  if (vs->log_number > floor) floor = vs->log_number;
  if (vs->prev_log > floor) floor = vs->prev_log;
  if (vs->next_file <= floor) vs->next_file = floor + 1;
  vs->manifest_number = vs->next_file++;
  vs->current_manifest = mnum;
  pthread_mutex_unlock(&vs->mu);
  lsm_version_unref(old);
  ve_clear(&all);
  return STRATA_OK;
}

/* ---- applying edits ------------------------------------------------------ */

/* The snapshot record of a new MANIFEST: everything in `v`. */
static int snapshot_edit(lsm_vset *vs, const lsm_version *v, version_edit *s) {
  int rc = ve_set_comparator(s, COMPARATOR);
  for (int l = 0; !rc && l < LSM_LEVELS; l++) {
    if (vs->cursor[l].len)
      rc = ve_add_pointer(s, l, vs->cursor[l].data, vs->cursor[l].len);
    for (size_t i = 0; !rc && i < v->n[l]; i++) {
      const sst_file *f = &v->files[l][i]->f;
      rc = ve_add_file(s, l, f->number, f->size, f->smallest, f->smallest_len,
                       f->largest, f->largest_len);
    }
  }
  return rc;
}

int lsm_vset_apply(lsm_vset *vs, version_edit *e) {
  pthread_mutex_lock(&vs->apply_mu);
  pthread_mutex_lock(&vs->mu);
  lsm_version *base = vs->current;
  lsm_version_ref(base);
  if (!e->has_log_number) ve_set_log_number(e, vs->log_number);
  if (!e->has_prev_log) ve_set_prev_log(e, 0);
  ve_set_next_file(e, vs->next_file);
  if (!e->has_last_sequence) ve_set_last_sequence(e, vs->last_sequence);
  uint64_t mnum = vs->manifest_number;
  pthread_mutex_unlock(&vs->mu);
  lsm_version *v = NULL;
  int rc = build(vs, base, e, &v);
  for (size_t i = 0; !rc && i < e->npointers; i++)
    if (sst_buf_set(&vs->cursor[e->pointers[i].level], e->pointers[i].key.data,
                    e->pointers[i].key.len))
      rc = oom();
  int started = 0;
  if (!rc && !vs->manifest) {
    version_edit s;
    ve_init(&s);
    rc = snapshot_edit(vs, base, &s);
    if (!rc)
      rc = new_manifest(vs->e, vs->dir, mnum, &s, &vs->manifest,
                        &vs->manifest_bytes);
    ve_clear(&s);
    started = !rc;
  }
  if (!rc) rc = write_record(vs->manifest, e);
  if (!rc) rc = log_writer_sync(vs->manifest);
  if (!rc && started) rc = lsm_set_current(vs->e, vs->dir, mnum);
  if (rc) {
    /* The MANIFEST may hold a torn record now: start a new one next time. */
    if (vs->manifest) log_writer_close(vs->manifest);
    vs->manifest = NULL;
    if (started) {
      char *p = lsm_manifest_path(vs->dir, mnum);
      if (p) env_remove(vs->e, p);
      free(p);
    }
    pthread_mutex_lock(&vs->mu);
    vs->manifest_number = vs->next_file++;
    pthread_mutex_unlock(&vs->mu);
    lsm_version_unref(v);
    lsm_version_unref(base);
    pthread_mutex_unlock(&vs->apply_mu);
    return rc;
  }
  vs->manifest_bytes = log_writer_size(vs->manifest);
  pthread_mutex_lock(&vs->mu);
  v->prev = v->next = v;
  lsm_version *old = install(vs, v);
  vs->log_number = e->log_number;
  vs->prev_log = e->prev_log;
  if (e->last_sequence > vs->last_sequence)
    vs->last_sequence = e->last_sequence;
  if (started) vs->current_manifest = mnum;
  pthread_mutex_unlock(&vs->mu);
  lsm_version_unref(old);
  lsm_version_unref(base);
  pthread_mutex_unlock(&vs->apply_mu);
  return STRATA_OK;
}

/* ---- reading versions ---------------------------------------------------- */

int lsm_sst_version(const lsm_version *v, sst_version *out) {
  memset(out, 0, sizeof *out);
  for (int l = 0; l < LSM_LEVELS; l++) {
    if (!v->n[l]) continue;
    sst_file *a = malloc(v->n[l] * sizeof *a);
    if (!a) {
      lsm_sst_version_free(out);
      return oom();
    }
    for (size_t i = 0; i < v->n[l]; i++)
      a[i] = v->files[l][i]->f;
    out->files[l] = a;
    out->n[l] = v->n[l];
  }
  return STRATA_OK;
}

void lsm_sst_version_free(sst_version *sv) {
  for (int l = 0; l < LSM_LEVELS; l++) {
    free((void *)sv->files[l]);
    sv->files[l] = NULL;
    sv->n[l] = 0;
  }
}

static int file_overlaps(const lsm_file *f, const uint8_t *lo, size_t lon,
                         const uint8_t *hi, size_t hin) {
  if (lo && user_cmp(f->f.largest, ulen(f->f.largest_len), lo, lon) < 0)
    return 0;
  if (hi && user_cmp(f->f.smallest, ulen(f->f.smallest_len), hi, hin) > 0)
    return 0;
  return 1;
}

int lsm_version_overlaps(const lsm_version *v, int level, const uint8_t *lo,
                         size_t lon, const uint8_t *hi, size_t hin) {
  for (size_t i = 0; i < v->n[level]; i++)
    if (file_overlaps(v->files[level][i], lo, lon, hi, hin)) return 1;
  return 0;
}

uint64_t lsm_version_overlap_bytes(const lsm_version *v, int level,
                                   const uint8_t *lo, size_t lon,
                                   const uint8_t *hi, size_t hin) {
  uint64_t sum = 0;
  for (size_t i = 0; i < v->n[level]; i++)
    if (file_overlaps(v->files[level][i], lo, lon, hi, hin))
      sum += v->files[level][i]->f.size;
  return sum;
}

/* Looks key up in one table. */
static int table_lookup(sst_table_cache *tc, const lsm_file *f,
                        const uint8_t *ik, size_t ikn, size_t kn, int *result,
                        uint8_t **value, size_t *vn, uint64_t *found_seq) {
  sst_table *t;
  sst_table_ref *ref;
  int rc = sst_table_cache_get(tc, f->f.number, &t, &ref);
  if (rc) return rc;
  uint8_t *fk = NULL;
  size_t fkn = 0;
  rc = sst_table_get_internal(t, ik, ikn, &fk, &fkn, value, vn);
  sst_table_cache_release(tc, ref);
  if (rc == STRATA_NOT_FOUND) {
    *result = MEM_ABSENT;
    return STRATA_OK;
  }
  if (rc) return rc;
  size_t un;
  uint64_t seq;
  int type;
  if (ikey_parse(fk, fkn, &un, &seq, &type) != 0 || un != kn) {
    free(fk);
    free(*value);
    *value = NULL;
    *result = MEM_ABSENT;
    return STRATA_OK; /* table_get_internal matched the user key */
  }
  free(fk);
  *found_seq = seq;
  if (type == IKEY_DELETION) {
    free(*value);
    *value = NULL;
    *result = MEM_DELETED;
  } else {
    *result = MEM_FOUND;
  }
  return STRATA_OK;
}

/* Charges a lookup that read `f` in vain; returns f (referenced) when its
 * allowed seeks ran out just now. */
static lsm_file *charge(lsm_file *f) {
  if (!f || atomic_fetch_sub(&f->allowed_seeks, 1) != 1) return NULL;
  atomic_fetch_add(&f->refs, 1);
  return f;
}

int lsm_version_get(lsm_version *v, sst_table_cache *tc, const uint8_t *key,
                    size_t kn, uint64_t seq, int *result, uint8_t **value,
                    size_t *vn, uint64_t *found_seq, lsm_file **seek_due) {
  *result = MEM_ABSENT;
  *found_seq = 0;
  *value = NULL;
  *vn = 0;
  if (seek_due) *seek_due = NULL;
  /* The lookup key: on the stack for the usual key sizes (a get is the hot
   * path; no allocation for it). */
  uint8_t small[256];
  sst_buf ik = {0};
  if (kn + IKEY_TRAILER <= sizeof small) {
    if (kn) memcpy(small, key, kn);
    encode_fixed64(small + kn, seq << 8 | IKEY_SEEK_TYPE);
    ik.data = small;
    ik.len = kn + IKEY_TRAILER;
  } else if (ikey_append(&ik, key, kn, seq, IKEY_SEEK_TYPE)) {
    return oom();
  }
  int rc = STRATA_OK, reads = 0;
  lsm_file *first = NULL; /* the first file read, if the key was not there */
  for (size_t i = v->n[0]; i-- > 0 && *result == MEM_ABSENT && !rc;) {
    lsm_file *f = v->files[0][i];
    if (!file_overlaps(f, key, kn, key, kn)) continue;
    if (reads++ == 0) first = f;
    rc = table_lookup(tc, f, ik.data, ik.len, kn, result, value, vn, found_seq);
  }
  for (int l = 1; l < LSM_LEVELS && *result == MEM_ABSENT && !rc; l++) {
    size_t lo = 0, hi = v->n[l];
    while (lo < hi) { /* first file whose largest >= ik */
      size_t mid = lo + (hi - lo) / 2;
      const sst_file *f = &v->files[l][mid]->f;
      if (ikey_compare(SST_CMP_INTERNAL, f->largest, f->largest_len, ik.data,
                       ik.len) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == v->n[l]) continue;
    lsm_file *f = v->files[l][lo];
    if (user_cmp(f->f.smallest, ulen(f->f.smallest_len), key, kn) > 0) continue;
    if (reads++ == 0) first = f;
    rc = table_lookup(tc, f, ik.data, ik.len, kn, result, value, vn, found_seq);
  }
  /* More than one file read: the first one was read in vain. */
  if (!rc && reads > 1 && seek_due) *seek_due = charge(first);
  if (ik.data != small) sst_buf_free(&ik);
  return rc;
}
