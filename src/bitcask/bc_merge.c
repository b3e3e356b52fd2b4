/*
 * bc_merge.c — Bitcask merge: rewrites the live entries of every immutable
 * data file into new data files, each with a hint file, then removes the
 * inputs. Readers and writers go on meanwhile: the key directory is read in
 * chunks under the shared lock, records are copied without any lock but the
 * shared one around each pread, and each chunk's keys are repointed under the
 * exclusive lock only if they still point where they did (compare and set).
 *
 * Files written: outputs NNNNNN.data (single-entry records, the inputs'
 * timestamps kept) and NNNNNN.hint (docs/formats/bitcask.md), and DIR/MERGE,
 * a record log of one record: 1 | count (varint32) | input ids (varint32).
 *
 * Crash safety, step by step: (1) outputs and hints are written and synced,
 * the directory synced; (2) MERGE is written, synced, directory synced —
 * the commit point; (3) inputs are removed (hint, then data), directory
 * synced; (4) MERGE removed, directory synced. A crash before (2) leaves the
 * inputs and some outputs: the outputs' entries duplicate the inputs' with
 * the same timestamps, so contents are unchanged. A crash after (2) is
 * finished by bc_merge_recover at the next open, which removes every input
 * MERGE lists — all together, so a tombstone-holding input is never gone
 * while an older input with the put it deleted is still read. A damaged
 * MERGE was never committed (it is synced before any removal): it is removed.
 *
 * Tombstones and expired entries of the inputs are dropped: every file older
 * than the active file is an input, and the active file holds only entries
 * newer than all of them, so nothing older survives for them to shadow.
 * A record that fails its checksum aborts the merge (the inputs stay; the
 * damage is for verify to report), so merge never turns damage into loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitcask/bc_entry.h"
#include "bitcask/bc_format.h"
#include "bitcask/bitcask.h"
#include "log/log_format.h"
#include "log/log_reader.h"
#include "log/log_record_at.h"
#include "util/coding.h"
#include "util/status.h"

enum { CHUNK = 1024, MERGE_INPUTS = 1, PEND_MAX = 64 };

/* An output data file being written. */
typedef struct output {
  uint32_t id;        /* its file id */
  log_writer *w;      /* appends to it */
  uint8_t *hint;      /* hint record being filled */
  size_t hlen, hcap;  /* bytes used, allocated */
  log_writer *hw;     /* appends to its hint file */
  uint64_t entries;   /* hint entries written */
  uint64_t size;      /* file size once the pending records are written */
  struct iovec pend[PEND_MAX]; /* encoded records not yet appended */
  int npend;          /* how many */
} output;

/* One key copied from the keydir. */
typedef struct item {
  uint8_t *key; /* malloc'd */
  size_t klen;  /* length */
  bc_loc old;   /* where it was */
  bc_loc now;   /* where the output has it (valid if copied) */
  int copied;   /* 1: written to an output; 0: to be dropped */
} item;

typedef struct merge {
  strata_bitcask *db; /* the database */
  uint32_t *in;       /* input ids, sorted */
  size_t nin;         /* how many */
  output out;         /* the current output (w NULL if none) */
  uint32_t *outs;     /* ids of finished and current outputs */
  size_t nouts;       /* how many */
} merge;

static int is_input(const merge *m, uint32_t id) {
  size_t lo = 0, hi = m->nin;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->in[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < m->nin && m->in[lo] == id;
}

static int flush_hint(output *o) {
  if (o->hlen <= 1 + VARINT32_MAX) return STRATA_OK;
  int rc = log_writer_add(o->hw, o->hint, o->hlen);
  o->hlen = 0;
  return rc;
}

static int open_output(merge *m) {
  strata_bitcask *db = m->db;
  output *o = &m->out;
  memset(o, 0, sizeof *o);
  pthread_mutex_lock(&db->wmu);
  o->id = db->next_id <= BC_MAX_FILE_ID ? bc_new_file_id(db) : 0;
  pthread_mutex_unlock(&db->wmu);
  if (o->id == 0)
    return st_error(STRATA_NOT_SUPPORTED, "%s: out of data file ids", db->dir);
  uint32_t *v = realloc(m->outs, (m->nouts + 1) * sizeof *v);
  if (!v) return st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
  m->outs = v;
  m->outs[m->nouts++] = o->id;
  char path[4096];
  env_file *wf = NULL, *hf = NULL;
  bc_file f = {o->id, NULL, 0, 0, 1, 0, 0};
  bc_file_path(path, sizeof path, db->dir, o->id, "data");
  int rc = env_open_append(db->e, path, ENV_CREATE | ENV_TRUNC, &wf);
  if (rc == STRATA_OK) rc = env_open_read(db->e, path, &f.rf);
  if (rc == STRATA_OK) rc = log_writer_create(wf, 0, 1, &o->w);
  if (rc != STRATA_OK) {
    env_close(wf);
    env_close(f.rf);
    return rc;
  }
  bc_file_path(path, sizeof path, db->dir, o->id, "hint");
  rc = env_open_append(db->e, path, ENV_CREATE | ENV_TRUNC, &hf);
  if (rc == STRATA_OK) rc = log_writer_create(hf, 0, 1, &o->hw);
  else env_close(hf);
  if (rc == STRATA_OK) {
    pthread_rwlock_wrlock(&db->mu);
    rc = bc_add_file(db, &f);
    pthread_rwlock_unlock(&db->mu);
  }
  if (rc != STRATA_OK) env_close(f.rf);
  return rc;
}

/* Appends the pending records with as few writes as possible. */
static int flush_pending(output *o) {
  int rc = STRATA_OK;
  if (o->npend && o->w) rc = log_writer_add_many(o->w, o->pend, o->npend);
  for (int i = 0; i < o->npend; i++)
    free(o->pend[i].iov_base);
  o->npend = 0;
  return rc;
}

/* Syncs the output and writes its hint file with the footer. */
static int close_output(merge *m) {
  output *o = &m->out;
  if (!o->w) return STRATA_OK;
  int rc = flush_pending(o);
  if (rc == STRATA_OK) rc = log_writer_sync(o->w);
  uint64_t size = log_writer_size(o->w);
  if (rc == STRATA_OK) rc = flush_hint(o);
  if (rc == STRATA_OK) {
    uint8_t foot[1 + VARINT32_MAX + 2 * VARINT64_MAX], *p = foot;
    *p++ = BC_HINT_FOOTER;
    p = encode_varint32(p, o->id);
    p = encode_varint64(p, size);
    p = encode_varint64(p, o->entries);
    rc = log_writer_add(o->hw, foot, (size_t)(p - foot));
  }
  if (rc == STRATA_OK) rc = log_writer_sync(o->hw);
  log_writer_close(o->w);
  log_writer_close(o->hw);
  free(o->hint);
  o->w = o->hw = NULL;
  o->hint = NULL;
  return rc;
}

static int add_hint(output *o, const bc_hint *h) {
  size_t need = bc_hint_max_size(h->klen);
  if (o->hlen + need > o->hcap) {
    size_t cap = BC_HINT_TARGET + need + 1 + VARINT32_MAX;
    if (cap < o->hlen + need) cap = o->hlen + need;
    uint8_t *v = realloc(o->hint, cap);
    if (!v) return st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
    o->hint = v;
    o->hcap = cap;
  }
  if (o->hlen == 0) o->hint[o->hlen++] = BC_HINT_ENTRIES;
  o->hlen = (size_t)(bc_hint_encode(o->hint + o->hlen, h) - o->hint);
  o->entries++;
  if (o->hlen >= BC_HINT_TARGET) return flush_hint(o);
  return STRATA_OK;
}

/* Copies one live entry into the current output. */
static int copy_item(merge *m, item *it) {
  strata_bitcask *db = m->db;
  uint8_t *buf = NULL;
  bc_entry e;
  pthread_rwlock_rdlock(&db->mu);
  int rc = bc_read_entry(db, &it->old, it->key, it->klen, &buf, &e);
  pthread_rwlock_unlock(&db->mu);
  if (rc != STRATA_OK) return rc;
  if (m->out.w && m->out.size >= db->opt.max_file_size)
    rc = close_output(m);
  if (rc == STRATA_OK && !m->out.w) rc = open_output(m);
  size_t n = bc_entry_size(e.klen, e.vlen, e.expiry);
  uint8_t *rec = rc == STRATA_OK ? malloc(n) : NULL;
  if (rc == STRATA_OK && !rec)
    rc = st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
  if (rc == STRATA_OK) {
    bc_entry_encode(rec, e.kind, e.ts, e.expiry, e.key, e.klen, e.value,
                    e.vlen);
    uint64_t start = m->out.size;
    if (LOG_BLOCK_SIZE - start % LOG_BLOCK_SIZE < LOG_HEADER_SIZE)
      start += LOG_BLOCK_SIZE - start % LOG_BLOCK_SIZE;
    uint64_t off, end;
    uint32_t skip;
    log_record_span(start, n, 0, n, &off, &end, &skip);
    m->out.size = end;
    m->out.pend[m->out.npend].iov_base = rec;
    m->out.pend[m->out.npend++].iov_len = n;
    rec = NULL;
    it->now = it->old;
    it->now.file_id = m->out.id;
    it->now.offset = off;
    it->now.size = (uint32_t)(end - off);
    it->now.sub = 0;
    it->copied = 1;
    bc_hint h = {e.kind, m->out.id, off, it->now.size, 0, e.ts, e.expiry,
                 e.key, e.klen};
    rc = add_hint(&m->out, &h);
    if (rc == STRATA_OK && m->out.npend == PEND_MAX)
      rc = flush_pending(&m->out);
  }
  free(rec);
  free(buf);
  return rc;
}

/* Repoints (or drops) a chunk's keys that did not change meanwhile. */
static void install(merge *m, item *v, size_t n) {
  strata_bitcask *db = m->db;
  pthread_rwlock_wrlock(&db->mu);
  long oi = m->out.w ? bc_find_file(db, m->out.id) : -1;
  if (oi >= 0) db->files[oi].size = log_writer_size(m->out.w);
  for (size_t i = 0; i < n; i++) {
    item *it = &v[i];
    int ok = it->copied
                 ? bc_keydir_replace_if(db->kd, it->key, it->klen, &it->old,
                                        &it->now)
                 : bc_keydir_remove_if(db->kd, it->key, it->klen, &it->old);
    if (!ok && it->copied) {
      long fi = bc_find_file(db, it->now.file_id);
      if (fi >= 0) db->files[fi].dead += it->now.size;
    }
  }
  pthread_rwlock_unlock(&db->mu);
}

static int write_marker(merge *m) {
  strata_bitcask *db = m->db;
  char path[4096];
  snprintf(path, sizeof path, "%s/MERGE", db->dir);
  size_t cap = 1 + VARINT32_MAX * (m->nin + 1);
  uint8_t *rec = malloc(cap), *p = rec;
  if (!rec) return st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
  *p++ = MERGE_INPUTS;
  p = encode_varint32(p, (uint32_t)m->nin);
  for (size_t i = 0; i < m->nin; i++)
    p = encode_varint32(p, m->in[i]);
  env_file *f = NULL;
  log_writer *w = NULL;
  int rc = env_open_append(db->e, path, ENV_CREATE | ENV_TRUNC, &f);
  if (rc == STRATA_OK) rc = log_writer_create(f, 0, 1, &w);
  else env_close(f);
  if (rc == STRATA_OK) rc = log_writer_add(w, rec, (size_t)(p - rec));
  if (rc == STRATA_OK) rc = log_writer_sync(w);
  int crc = log_writer_close(w);
  if (rc == STRATA_OK) rc = crc;
  if (rc == STRATA_OK) rc = env_sync_dir(db->e, db->dir);
  free(rec);
  return rc;
}

/* Removes the listed inputs and then the marker (steps 3 and 4). */
static int remove_inputs(env *e, const char *dir, const uint32_t *ids,
                         size_t n) {
  char path[4096];
  int rc = STRATA_OK;
  for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
    bc_file_path(path, sizeof path, dir, ids[i], "hint");
    if (env_exists(e, path)) rc = env_remove(e, path);
    bc_file_path(path, sizeof path, dir, ids[i], "data");
    if (rc == STRATA_OK && env_exists(e, path)) rc = env_remove(e, path);
  }
  if (rc == STRATA_OK) rc = env_sync_dir(e, dir);
  snprintf(path, sizeof path, "%s/MERGE", dir);
  if (rc == STRATA_OK) rc = env_remove(e, path);
  if (rc == STRATA_OK) rc = env_sync_dir(e, dir);
  return rc;
}

int bc_merge_recover(env *e, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/MERGE", dir);
  if (!env_exists(e, path)) return STRATA_OK;
  log_reader *r = NULL;
  int rc = log_reader_open(e, path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r);
  if (rc != STRATA_OK) return rc;
  const uint8_t *rec;
  size_t n;
  uint32_t *ids = NULL, count = 0;
  int ok = 0;
  if (log_reader_next(r, &rec, &n, NULL) == STRATA_OK && n > 0 &&
      rec[0] == MERGE_INPUTS) {
    const uint8_t *p = rec + 1, *lim = rec + n;
    if ((p = decode_varint32(p, lim, &count)) && count <= (size_t)(lim - p) &&
        (ids = malloc((count ? count : 1) * sizeof *ids))) {
      uint32_t i = 0;
      for (; i < count && p; i++)
        p = decode_varint32(p, lim, &ids[i]);
      ok = p == lim && i == count;
    }
  }
  const uint8_t *extra;
  if (ok && log_reader_next(r, &extra, &n, NULL) != STRATA_END) ok = 0;
  log_reader_close(r);
  if (ok) {
    rc = remove_inputs(e, dir, ids, count);
  } else { /* never committed: the inputs stay */
    rc = env_remove(e, path);
    if (rc == STRATA_OK) rc = env_sync_dir(e, dir);
  }
  free(ids);
  return rc;
}

static void free_items(item *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].key);
}

/* Removes the outputs of a failed merge from the table and the disk. */
static void abandon(merge *m) {
  strata_bitcask *db = m->db;
  for (int i = 0; i < m->out.npend; i++)
    free(m->out.pend[i].iov_base);
  m->out.npend = 0;
  if (m->out.w) {
    log_writer_close(m->out.w);
    log_writer_close(m->out.hw);
    free(m->out.hint);
    m->out.w = m->out.hw = NULL;
  }
  /* keys already repointed at outputs keep them: the outputs stay on disk
   * and in the table (they hold verified copies), and the next open or merge
   * treats them as ordinary files. */
  (void)db;
}

static int run(strata_bitcask *db, int rotate) {
  merge m;
  memset(&m, 0, sizeof m);
  m.db = db;
  int rc = STRATA_OK;
  if (rotate) {
    pthread_mutex_lock(&db->wmu);
    if (db->active && log_writer_size(db->active) > 0) rc = bc_rotate(db);
    pthread_mutex_unlock(&db->wmu);
    if (rc != STRATA_OK) return rc;
  }
  /* the inputs are every file but the active one, taken under wmu so that
   * no rotation makes another file active meanwhile */
  pthread_mutex_lock(&db->wmu);
  pthread_rwlock_rdlock(&db->mu);
  uint32_t active = db->active_id;
  m.in = malloc((db->nfiles ? db->nfiles : 1) * sizeof *m.in);
  if (m.in)
    for (size_t i = 0; i < db->nfiles; i++)
      if (db->files[i].id != active) m.in[m.nin++] = db->files[i].id;
  pthread_rwlock_unlock(&db->mu);
  pthread_mutex_unlock(&db->wmu);
  if (!m.in) return st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
  if (m.nin == 0) {
    free(m.in);
    return STRATA_OK;
  }
  uint64_t now_s = (uint64_t)time(NULL);
  item *v = malloc(CHUNK * sizeof *v);
  if (!v) rc = st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
  for (size_t base = 0; rc == STRATA_OK; base += CHUNK) {
    size_t n = 0, cap;
    pthread_rwlock_rdlock(&db->mu);
    cap = bc_keydir_capacity(db->kd);
    for (size_t i = base; i < base + CHUNK && i < cap; i++) {
      const uint8_t *k;
      size_t kl;
      bc_loc l;
      if (!bc_keydir_entry(db->kd, i, &k, &kl, &l) || !is_input(&m, l.file_id))
        continue;
      item *it = &v[n];
      if (!(it->key = malloc(kl ? kl : 1))) {
        rc = st_error(STRATA_NO_MEMORY, "bitcask merge: out of memory");
        break;
      }
      if (kl) memcpy(it->key, k, kl);
      it->klen = kl;
      it->old = l;
      it->copied = 0;
      n++;
    }
    pthread_rwlock_unlock(&db->mu);
    for (size_t i = 0; i < n && rc == STRATA_OK; i++)
      if (!v[i].old.tombstone && !(v[i].old.expiry && now_s >= v[i].old.expiry))
        rc = copy_item(&m, &v[i]);
    if (rc == STRATA_OK) rc = flush_pending(&m.out);
    if (rc == STRATA_OK) install(&m, v, n);
    free_items(v, n);
    if (base + CHUNK >= cap) break;
  }
  free(v);
  if (rc == STRATA_OK) rc = close_output(&m);
  if (rc == STRATA_OK) rc = env_sync_dir(db->e, db->dir);
  if (rc == STRATA_OK) rc = write_marker(&m);
  if (rc != STRATA_OK) {
    abandon(&m);
    free(m.in);
    free(m.outs);
    return rc;
  }
  /* committed: forget the inputs, then remove them */
  pthread_rwlock_wrlock(&db->mu);
  for (size_t i = 0; i < m.nin; i++) {
    long fi = bc_find_file(db, m.in[i]);
    if (fi < 0) continue;
    env_close(db->files[fi].rf);
    memmove(&db->files[fi], &db->files[fi + 1],
            (db->nfiles - (size_t)fi - 1) * sizeof *db->files);
    db->nfiles--;
  }
  pthread_rwlock_unlock(&db->mu);
  rc = remove_inputs(db->e, db->dir, m.in, m.nin);
  if (rc == STRATA_OK) atomic_fetch_add(&db->merges, 1);
  free(m.in);
  free(m.outs);
  return rc;
}

int bc_merge_run(strata_bitcask *db, int rotate) {
  if (db->opt.read_only)
    return st_error(STRATA_NOT_SUPPORTED, "%s: opened read-only", db->dir);
  pthread_mutex_lock(&db->merge_mu);
  int rc = run(db, rotate);
  pthread_mutex_unlock(&db->merge_mu);
  return rc;
}

static void *bg_main(void *arg) {
  strata_bitcask *db = arg;
  bc_merge_run(db, 0); /* a failure leaves the inputs; the next one retries */
  pthread_mutex_lock(&db->bg_mu);
  db->bg_running = 0;
  pthread_mutex_unlock(&db->bg_mu);
  return NULL;
}

/* 1 if the thresholds call for a merge. */
static int wanted(strata_bitcask *db) {
  int want = 0;
  pthread_rwlock_rdlock(&db->mu);
  /* files written since the last merge (merge outputs do not count, or a
   * large database would be rewritten after every rotation) */
  size_t fresh = 0;
  for (size_t i = 0; i < db->nfiles; i++)
    fresh += !db->files[i].from_merge;
  if (db->opt.merge_max_files && fresh >= db->opt.merge_max_files) want = 1;
  for (size_t i = 0; i < db->nfiles && !want; i++) {
    const bc_file *f = &db->files[i];
    if (f->id != db->active_id && f->size > 0 && f->dead > 0 &&
        (double)f->dead >= db->opt.merge_dead_fraction * (double)f->size)
      want = 1;
  }
  pthread_rwlock_unlock(&db->mu);
  return want;
}

void bc_maybe_merge(strata_bitcask *db) {
  if (!db->opt.background_merge || !wanted(db)) return;
  pthread_mutex_lock(&db->bg_mu);
  if (!db->closing && !db->bg_running) {
    if (db->bg_started) pthread_join(db->bg, NULL);
    db->bg_started = 0;
    if (pthread_create(&db->bg, NULL, bg_main, db) == 0) {
      db->bg_started = 1;
      db->bg_running = 1;
    }
  }
  pthread_mutex_unlock(&db->bg_mu);
}
