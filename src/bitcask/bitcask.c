/*
 * bitcask.c — the Bitcask engine: open and recovery, put/get/delete/batch,
 * fold and scan, sync, stats (merge is bc_merge.c). Formats:
 * docs/formats/bitcask.md.
 *
 * Files of a database directory DIR:
 *   NNNNNN.data  record logs of entries (bc_entry.c); the highest-numbered
 *                one written since open is the active file, the others are
 *                immutable. Ids only name files; which entry of a key is the
 *                newest is decided by its timestamp, unique and increasing
 *                across the whole database (merge outputs get higher ids than
 *                the active file while holding older entries).
 *   NNNNNN.hint  written by merge for each output data file: one entry per
 *                key of that file, then a footer with the data file's size.
 *   MERGE        a committed merge's list of input files still to remove.
 *   LOCK         held while open.
 *
 * Invariants: every keydir entry points at a verified entry of a file in the
 * file table; the keydir holds, per key, the entry with the largest
 * timestamp seen (tombstones included, so an older put read later at open
 * cannot resurrect a deleted key).
 *
 * Damage at open: a data file whose hint is missing, damaged, or does not
 * match the data file's size is scanned under the recovery policy. Every
 * drop is reported; under `skip` only the damaged records are lost. The
 * dropped bytes are then searched for entries whose key and header checksum
 * still verify: a key found there whose surviving entry is older than the
 * lost one (or that has none) is recorded as a lost key. A get whose record
 * fails its checksum returns STRATA_CORRUPTION, never the bytes.
 */
#include "bitcask/bitcask.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "bitcask/bc_entry.h"
#include "bitcask/bc_format.h"
#include "log/log_format.h"
#include "log/log_reader.h"
#include "log/log_record_at.h"
#include "util/coding.h"
#include "util/status.h"

void strata_bitcask_options_init(strata_bitcask_options *o) {
  memset(o, 0, sizeof *o);
  o->recovery = STRATA_RECOVERY_SKIP;
  o->create_if_missing = 1;
  o->sync = STRATA_BITCASK_SYNC_NONE;
  o->sync_interval_ms = 100;
  o->sync_interval_bytes = 1u << 20;
  o->max_file_size = 64ull << 20;
  o->merge_dead_fraction = 0.5;
  o->merge_max_files = 16;
  o->background_merge = 1;
}

void bc_file_path(char *buf, size_t n, const char *dir, uint32_t id,
                  const char *ext) {
  snprintf(buf, n, "%s/%06u.%s", dir, (unsigned)id, ext);
}

long bc_find_file(const strata_bitcask *db, uint32_t id) {
  size_t lo = 0, hi = db->nfiles;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (db->files[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < db->nfiles && db->files[lo].id == id ? (long)lo : -1;
}

int bc_add_file(strata_bitcask *db, const bc_file *f) {
  if (db->nfiles == db->fcap) {
    size_t cap = db->fcap ? db->fcap * 2 : 16;
    bc_file *v = realloc(db->files, cap * sizeof *v);
    if (!v) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
    db->files = v;
    db->fcap = cap;
  }
  size_t i = db->nfiles;
  while (i > 0 && db->files[i - 1].id > f->id) {
    db->files[i] = db->files[i - 1];
    i--;
  }
  db->files[i] = *f;
  db->nfiles++;
  return STRATA_OK;
}

uint32_t bc_new_file_id(strata_bitcask *db) { return db->next_id++; }

static uint64_t now_us(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* A timestamp larger than every one handed out before (caller holds wmu). */
static uint64_t next_ts(strata_bitcask *db) {
  uint64_t t = now_us();
  db->clock = t > db->clock ? t : db->clock + 1;
  return db->clock;
}

static int expired(const bc_loc *l, uint64_t now_s) {
  return l->expiry != 0 && now_s >= l->expiry;
}

/* ---- reading one entry ------------------------------------------------- */

int bc_read_entry(strata_bitcask *db, const bc_loc *loc, const void *key,
                  size_t klen, uint8_t **buf, bc_entry *e) {
  long fi = bc_find_file(db, loc->file_id);
  if (fi < 0)
    return st_error(STRATA_IO_ERROR, "%s: data file %06u is gone", db->dir,
                    (unsigned)loc->file_id);
  bc_file *f = &db->files[fi];
  uint8_t *b = malloc(loc->size ? loc->size : 1);
  if (!b) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  size_t got = 0;
  int rc = env_pread(f->rf, loc->offset, b, loc->size, &got);
  atomic_fetch_add(&db->preads, 1);
  size_t plen = 0;
  if (rc == STRATA_OK && got != loc->size)
    rc = ST_CORRUPT("%s: record at offset %llu cut off by the end of the file",
                    f->rf->path, (unsigned long long)loc->offset);
  if (rc == STRATA_OK)
    rc = log_parse_fragments(b, loc->size, loc->offset, f->rf->path, &plen);
  if (rc == STRATA_OK) {
    if (loc->sub >= plen || !bc_entry_decode(b + loc->sub, b + plen, e) ||
        (key && (e->klen != klen || memcmp(e->key, key, klen) != 0)))
      rc = ST_CORRUPT("%s: entry at offset %llu does not decode as its key",
                      f->rf->path, (unsigned long long)loc->offset);
  }
  if (rc != STRATA_OK) {
    free(b);
    return rc;
  }
  *buf = b;
  return STRATA_OK;
}

/* ---- writing ----------------------------------------------------------- */

static int open_active(strata_bitcask *db, uint32_t id, uint64_t size,
                       int create) {
  char path[4096];
  bc_file_path(path, sizeof path, db->dir, id, "data");
  env_file *wf = NULL, *rf = NULL;
  int rc =
      env_open_append(db->e, path, create ? ENV_CREATE | ENV_EXCL : 0, &wf);
  if (rc == STRATA_OK && create) rc = env_sync_dir(db->e, db->dir);
  if (rc == STRATA_OK) rc = env_open_read(db->e, path, &rf);
  log_writer *w = NULL;
  if (rc == STRATA_OK) rc = log_writer_create(wf, size, 1, &w);
  if (rc != STRATA_OK) {
    env_close(wf);
    env_close(rf);
    return rc;
  }
  if (!create) { /* the file table already holds a read handle */
    env_close(rf);
    rf = NULL;
  }
  bc_file f = {id, rf, 0, 0, 0, 0, 0};
  pthread_rwlock_wrlock(&db->mu); /* readers of active_id hold mu */
  if (create) rc = bc_add_file(db, &f);
  if (rc == STRATA_OK) {
    db->active = w;
    db->active_id = id;
  }
  pthread_rwlock_unlock(&db->mu);
  if (rc != STRATA_OK) {
    env_close(rf);
    log_writer_close(w);
  }
  return rc;
}

int bc_open_active_existing(strata_bitcask *db, uint32_t id, uint64_t size) {
  return open_active(db, id, size, 0);
}

int bc_rotate(strata_bitcask *db) {
  if (db->active) {
    /* under sync none (interval) the old file is synced by the next
     * strata_bitcask_sync (the service thread), not here: an fdatasync of a
     * whole file would stall every writer behind wmu */
    if (db->opt.sync != STRATA_BITCASK_SYNC_ALWAYS) {
      pthread_rwlock_rdlock(&db->mu);
      long fi = bc_find_file(db, db->active_id);
      if (fi >= 0) db->files[fi].unsynced = 1;
      pthread_rwlock_unlock(&db->mu);
    } else {
      int rc = log_writer_sync(db->active);
      if (rc != STRATA_OK) return rc;
    }
    log_writer_close(db->active);
    db->active = NULL;
    bc_service_queue_hint(db, db->active_id);
  }
  if (db->next_id > BC_MAX_FILE_ID)
    return st_error(STRATA_NOT_SUPPORTED, "%s: out of data file ids", db->dir);
  return open_active(db, bc_new_file_id(db), 0, 1);
}

/* One entry of a record being written, and where it went. */
typedef struct pending {
  const uint8_t *key; /* key bytes (caller's) */
  size_t klen;        /* key length */
  bc_loc loc;         /* its new location */
} pending;

typedef struct span_ctx {
  pending *p;     /* entries of the record, in order */
  size_t i;       /* next one */
  uint64_t start; /* offset of the record's first fragment */
  size_t plen;    /* record payload length */
} span_ctx;

static void set_span(bc_loc *l, uint64_t start, size_t plen, uint32_t pos,
                     uint32_t len) {
  uint64_t off, end;
  uint32_t skip;
  log_record_span(start, plen, pos, (uint64_t)pos + len, &off, &end, &skip);
  l->offset = off;
  l->size = (uint32_t)(end - off);
  l->sub = skip;
}

void bc_loc_of_entry(bc_loc *l, uint32_t file_id, uint64_t start, size_t plen,
                     const bc_entry *e, uint32_t pos, uint32_t len) {
  memset(l, 0, sizeof *l);
  set_span(l, start, plen, pos, len);
  l->file_id = file_id;
  l->ts = e->ts;
  l->expiry = e->expiry > UINT32_MAX ? UINT32_MAX : (uint32_t)e->expiry;
  l->tombstone = e->kind == BC_KIND_TOMBSTONE;
}

static int span_fn(void *arg, const bc_entry *e, uint32_t pos, uint32_t len) {
  span_ctx *c = arg;
  (void)e;
  set_span(&c->p[c->i++].loc, c->start, c->plen, pos, len);
  return 0;
}

/* Appends a record holding `n` entries (already encoded in rec, n bytes) and
 * points the keydir at them. p[i].loc has ts, expiry and tombstone set. */
static int write_record(strata_bitcask *db, const uint8_t *rec, size_t size,
                        pending *p, size_t n) {
  int rotated = 0, rc = STRATA_OK;
  if (!db->active)
    rc = st_error(db->opt.read_only ? STRATA_NOT_SUPPORTED : STRATA_IO_ERROR,
                  "%s: %s", db->dir,
                  db->opt.read_only ? "opened read-only" : "no active file");
  if (rc == STRATA_OK && log_writer_size(db->active) >= db->opt.max_file_size) {
    rc = bc_rotate(db);
    rotated = 1;
  }
  if (rc != STRATA_OK) return rc;
  uint64_t start = log_writer_size(db->active);
  if (LOG_BLOCK_SIZE - start % LOG_BLOCK_SIZE < LOG_HEADER_SIZE)
    start += LOG_BLOCK_SIZE - start % LOG_BLOCK_SIZE;
  rc = log_writer_add(db->active, rec, size);
  if (rc == STRATA_OK && db->opt.sync == STRATA_BITCASK_SYNC_ALWAYS)
    rc = log_writer_sync(db->active);
  if (rc == STRATA_OK && db->opt.sync == STRATA_BITCASK_SYNC_INTERVAL)
    bc_service_note_bytes(db, log_writer_size(db->active) - start);
  if (rc != STRATA_OK) return rc;
  span_ctx c = {p, 0, start, size};
  rc = bc_record_walk(rec, size, span_fn, &c);
  if (rc != STRATA_OK) return rc;
  pthread_rwlock_wrlock(&db->mu);
  long ai = bc_find_file(db, db->active_id);
  if (ai >= 0) db->files[ai].size = log_writer_size(db->active);
  for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
    p[i].loc.file_id = db->active_id;
    bc_loc old;
    int had = 0;
    rc = bc_keydir_put(db->kd, p[i].key, p[i].klen, &p[i].loc, 0, &old, &had);
    long fi = had ? bc_find_file(db, old.file_id) : -1;
    if (fi >= 0) {
      bc_file *f = &db->files[fi];
      f->dead = f->dead + old.size > f->size ? f->size : f->dead + old.size;
    }
  }
  pthread_rwlock_unlock(&db->mu);
  return rc != STRATA_OK ? rc : rotated ? 1 : 0;
}

static int check_key(size_t klen, size_t vlen) {
  if (klen > BC_MAX_KEY)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "bitcask: key of %zu bytes (max %d)", klen, BC_MAX_KEY);
  if (vlen > BC_MAX_VALUE)
    return st_error(STRATA_INVALID_ARGUMENT, "bitcask: value of %zu bytes",
                    vlen);
  return STRATA_OK;
}

static int write_one(strata_bitcask *db, int kind, const void *key, size_t klen,
                     const void *value, size_t vlen, uint64_t expiry) {
  int rc = check_key(klen, vlen);
  if (rc != STRATA_OK) return rc;
  if (expiry > UINT32_MAX) expiry = UINT32_MAX;
  size_t n = bc_entry_size(klen, vlen, expiry);
  uint8_t stackbuf[512];
  uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
  if (!buf) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  pending p;
  memset(&p, 0, sizeof p);
  p.key = key;
  p.klen = klen;
  p.loc.expiry = (uint32_t)expiry;
  p.loc.tombstone = kind == BC_KIND_TOMBSTONE;
  pthread_mutex_lock(&db->wmu);
  p.loc.ts = next_ts(db);
  bc_entry_encode(buf, kind, p.loc.ts, expiry, key, klen, value, vlen);
  rc = write_record(db, buf, n, &p, 1);
  pthread_mutex_unlock(&db->wmu);
  if (buf != stackbuf) free(buf);
  if (rc == 1) {
    bc_maybe_merge(db);
    rc = STRATA_OK;
  }
  return rc;
}

int strata_bitcask_put(strata_bitcask *db, const void *key, size_t klen,
                       const void *value, size_t vlen) {
  return write_one(db, BC_KIND_PUT, key, klen, value, vlen, 0);
}

int strata_bitcask_put_expiring(strata_bitcask *db, const void *key,
                                size_t klen, const void *value, size_t vlen,
                                uint64_t expiry) {
  return write_one(db, BC_KIND_PUT, key, klen, value, vlen, expiry);
}

int strata_bitcask_delete(strata_bitcask *db, const void *key, size_t klen) {
  return write_one(db, BC_KIND_TOMBSTONE, key, klen, NULL, 0, 0);
}

/* Batch encoding: first pass sizes, second pass writes. */
typedef struct batch_ctx {
  uint8_t *out;   /* write position (NULL while sizing) */
  size_t size;    /* bytes needed */
  uint32_t count; /* operations */
  pending *p;     /* per operation (second pass) */
  uint64_t ts;    /* the batch's first timestamp */
  int bad;        /* a key or value is too long */
} batch_ctx;

static int batch_op(void *arg, int op, const void *key, size_t klen,
                    const void *value, size_t vlen) {
  batch_ctx *c = arg;
  int kind = op == STRATA_OP_PUT ? BC_KIND_PUT : BC_KIND_TOMBSTONE;
  if (kind == BC_KIND_TOMBSTONE) vlen = 0;
  if (!c->out) {
    if (check_key(klen, vlen) != STRATA_OK) c->bad = 1;
    c->size += bc_entry_size(klen, vlen, 0);
    c->count++;
    return 0;
  }
  pending *p = &c->p[c->count];
  memset(p, 0, sizeof *p);
  p->key = key;
  p->klen = klen;
  p->loc.ts = c->ts + c->count;
  p->loc.tombstone = kind == BC_KIND_TOMBSTONE;
  c->out = bc_entry_encode(c->out, kind, p->loc.ts, 0, key, klen, value, vlen);
  c->count++;
  return 0;
}

int strata_bitcask_write(strata_bitcask *db, const strata_batch *batch) {
  size_t bsize;
  const void *bdata = strata_batch_data(batch, &bsize);
  uint64_t seq;
  uint32_t count;
  batch_ctx c;
  memset(&c, 0, sizeof c);
  int rc = strata_batch_decode(bdata, bsize, &seq, &count, batch_op, &c);
  if (rc != STRATA_OK) return rc;
  if (c.bad)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "bitcask: batch key or value too long");
  if (c.count == 0) return STRATA_OK;
  size_t total = 1 + VARINT32_MAX + c.size;
  uint8_t *buf = malloc(total);
  pending *p = calloc(c.count, sizeof *p);
  if (!buf || !p) {
    free(buf);
    free(p);
    return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  }
  buf[0] = BC_KIND_BATCH;
  uint8_t *q = encode_varint32(buf + 1, c.count);
  uint32_t n = c.count;
  pthread_mutex_lock(&db->wmu);
  c.out = q;
  c.p = p;
  c.count = 0;
  c.ts = next_ts(db);
  db->clock = c.ts + n - 1; /* every operation has its own timestamp */
  strata_batch_decode(bdata, bsize, &seq, &count, batch_op, &c);
  rc = write_record(db, buf, (size_t)(c.out - buf), p, n);
  pthread_mutex_unlock(&db->wmu);
  free(buf);
  free(p);
  if (rc == 1) {
    bc_maybe_merge(db);
    rc = STRATA_OK;
  }
  return rc;
}

int strata_bitcask_sync(strata_bitcask *db) {
  pthread_mutex_lock(&db->wmu);
  int rc = STRATA_OK;
  pthread_rwlock_rdlock(&db->mu);
  for (size_t i = 0; i < db->nfiles && rc == STRATA_OK; i++)
    if (db->files[i].unsynced == 2) {
      /* its fdatasync failed once: a later one may "succeed" on pages the
       * kernel dropped, so its data is never reported durable */
      char path[4096];
      bc_file_path(path, sizeof path, db->dir, db->files[i].id, "data");
      rc = st_io_error(EIO, "%s: an earlier fdatasync failed; reopen",
                       path);
    } else if (db->files[i].unsynced) {
      rc = env_datasync(db->files[i].rf);
      db->files[i].unsynced = rc == STRATA_OK ? 0 : 2;
    }
  pthread_rwlock_unlock(&db->mu);
  if (rc == STRATA_OK && db->active) rc = log_writer_sync(db->active);
  if (rc == STRATA_OK) {
    pthread_mutex_lock(&db->svc_mu);
    db->unsynced_bytes = 0;
    pthread_mutex_unlock(&db->svc_mu);
  }
  pthread_mutex_unlock(&db->wmu);
  return rc;
}

/* ---- reading ----------------------------------------------------------- */

/* get under mu (held by the caller). */
static int get_locked(strata_bitcask *db, const void *key, size_t klen,
                      uint64_t now_s, void **value, size_t *vlen) {
  bc_loc loc;
  if (!bc_keydir_get(db->kd, key, klen, &loc) || loc.tombstone ||
      expired(&loc, now_s))
    return STRATA_NOT_FOUND;
  uint8_t *buf;
  bc_entry e;
  int rc = bc_read_entry(db, &loc, key, klen, &buf, &e);
  if (rc != STRATA_OK) return rc;
  memmove(buf, e.value, e.vlen);
  *value = buf;
  *vlen = e.vlen;
  return STRATA_OK;
}

int strata_bitcask_get(strata_bitcask *db, const void *key, size_t klen,
                       void **value, size_t *vlen) {
  pthread_rwlock_rdlock(&db->mu);
  int rc = get_locked(db, key, klen, (uint64_t)time(NULL), value, vlen);
  pthread_rwlock_unlock(&db->mu);
  if (rc == STRATA_NOT_FOUND) st_clear_error();
  return rc;
}

/* A copy of a key. */
typedef struct kcopy {
  uint8_t *key; /* malloc'd */
  size_t klen;  /* length */
} kcopy;

typedef struct kvec {
  kcopy *v;      /* keys */
  size_t n, cap; /* held, allocated */
} kvec;

static int kvec_add(kvec *kv, const uint8_t *key, size_t klen) {
  if (kv->n == kv->cap) {
    size_t cap = kv->cap ? kv->cap * 2 : 256;
    kcopy *v = realloc(kv->v, cap * sizeof *v);
    if (!v) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
    kv->v = v;
    kv->cap = cap;
  }
  uint8_t *k = malloc(klen ? klen : 1);
  if (!k) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  if (klen) memcpy(k, key, klen);
  kv->v[kv->n].key = k;
  kv->v[kv->n++].klen = klen;
  return STRATA_OK;
}

static void kvec_free(kvec *kv) {
  for (size_t i = 0; i < kv->n; i++)
    free(kv->v[i].key);
  free(kv->v);
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  return c ? c : (al < bl ? -1 : al > bl);
}

static int kcopy_cmp(const void *x, const void *y) {
  const kcopy *a = x, *b = y;
  return key_cmp(a->key, a->klen, b->key, b->klen);
}

enum { KEY_BLOCK = 4096 }; /* entry numbers walked per read lock */

/* Copies the live keys in [from, to) (NULL = unbounded) among entry numbers
 * [base, base + KEY_BLOCK); *more is 0 once base is past the last number. */
static int collect_block(strata_bitcask *db, size_t base, const void *from,
                         size_t fl, const void *to, size_t tl, kvec *kv,
                         int *more) {
  uint64_t now_s = (uint64_t)time(NULL);
  int rc = STRATA_OK;
  pthread_rwlock_rdlock(&db->mu);
  size_t cap = bc_keydir_capacity(db->kd);
  for (size_t i = base; i < base + KEY_BLOCK && i < cap && rc == STRATA_OK;
       i++) {
    const uint8_t *k;
    size_t klen;
    bc_loc loc;
    if (!bc_keydir_entry(db->kd, i, &k, &klen, &loc) || loc.tombstone ||
        expired(&loc, now_s))
      continue;
    if (from && key_cmp(k, klen, from, fl) < 0) continue;
    if (to && key_cmp(k, klen, to, tl) >= 0) continue;
    rc = kvec_add(kv, k, klen);
  }
  pthread_rwlock_unlock(&db->mu);
  *more = base + KEY_BLOCK < cap;
  return rc;
}

/* Copies the live keys in [from, to), a block of the keydir at a time so
 * writers are not held off for long. */
static int collect_keys(strata_bitcask *db, const void *from, size_t fl,
                        const void *to, size_t tl, kvec *kv) {
  int rc = STRATA_OK, more = 1;
  for (size_t base = 0; more && rc == STRATA_OK; base += KEY_BLOCK)
    rc = collect_block(db, base, from, fl, to, tl, kv, &more);
  return rc;
}

static int visit(strata_bitcask *db, kvec *kv, int reverse, uint64_t limit,
                 strata_bitcask_kv_fn fn, void *arg) {
  uint64_t done = 0;
  int rc = STRATA_OK;
  for (size_t j = 0; j < kv->n && rc == STRATA_OK; j++) {
    if (limit && done >= limit) break;
    kcopy *k = &kv->v[reverse ? kv->n - 1 - j : j];
    void *val;
    size_t vlen;
    int g = strata_bitcask_get(db, k->key, k->klen, &val, &vlen);
    if (g == STRATA_NOT_FOUND) continue; /* deleted since */
    if (g != STRATA_OK) return g;
    rc = fn(arg, k->key, k->klen, val, vlen);
    free(val);
    done++;
  }
  return rc;
}

int strata_bitcask_fold(strata_bitcask *db, strata_bitcask_kv_fn fn,
                        void *arg) {
  /* a block of keys at a time: memory stays small at any size. A key live
   * throughout keeps its entry number (bc_keydir.h), so it is visited once */
  kvec kv = {0};
  int rc = STRATA_OK, more = 1;
  for (size_t base = 0; more && rc == STRATA_OK; base += KEY_BLOCK) {
    rc = collect_block(db, base, NULL, 0, NULL, 0, &kv, &more);
    if (rc == STRATA_OK) rc = visit(db, &kv, 0, 0, fn, arg);
    for (size_t i = 0; i < kv.n; i++)
      free(kv.v[i].key);
    kv.n = 0;
  }
  kvec_free(&kv);
  return rc;
}

int strata_bitcask_scan(strata_bitcask *db, const void *from, size_t from_len,
                        const void *to, size_t to_len, int reverse,
                        uint64_t limit, strata_bitcask_kv_fn fn, void *arg) {
  kvec kv = {0};
  int rc = collect_keys(db, from, from_len, to, to_len, &kv);
  if (rc == STRATA_OK) {
    if (kv.n) qsort(kv.v, kv.n, sizeof *kv.v, kcopy_cmp);
    rc = visit(db, &kv, reverse, limit, fn, arg);
  }
  kvec_free(&kv);
  return rc;
}

/* ---- stats and lost keys ----------------------------------------------- */

int strata_bitcask_get_stats(strata_bitcask *db, strata_bitcask_stats *s) {
  memset(s, 0, sizeof *s);
  uint64_t now_s = (uint64_t)time(NULL);
  pthread_rwlock_rdlock(&db->mu);
  size_t cap = bc_keydir_capacity(db->kd);
  for (size_t i = 0; i < cap; i++) {
    const uint8_t *k;
    size_t klen;
    bc_loc loc;
    if (bc_keydir_entry(db->kd, i, &k, &klen, &loc) && !loc.tombstone &&
        !expired(&loc, now_s))
      s->keys++;
  }
  s->tombstones = bc_keydir_tombstones(db->kd);
  s->files = db->nfiles;
  for (size_t i = 0; i < db->nfiles; i++) {
    s->data_bytes += db->files[i].size;
    s->dead_bytes += db->files[i].dead;
  }
  s->keydir_bytes = bc_keydir_memory(db->kd);
  pthread_rwlock_unlock(&db->mu);
  s->preads = atomic_load(&db->preads);
  s->merges = atomic_load(&db->merges);
  s->hint_files = db->hint_files;
  s->scanned_files = db->scanned_files;
  s->dropped_bytes = db->dropped_bytes;
  s->drops = db->drops;
  s->lost_keys = db->nlost;
  s->rotation_hints = atomic_load(&db->rotation_hints);
  s->interval_syncs = atomic_load(&db->interval_syncs);
  return STRATA_OK;
}

size_t strata_bitcask_lost_keys(strata_bitcask *db, strata_bitcask_lost_fn fn,
                                void *arg) {
  if (fn)
    for (size_t i = 0; i < db->nlost; i++)
      fn(arg, db->lost[i].key, db->lost[i].klen, db->lost[i].file,
         db->lost[i].offset, db->lost[i].ts);
  return db->nlost;
}

/* ---- open and close ---------------------------------------------------- */

int strata_bitcask_open(const char *dir, const strata_bitcask_options *o,
                        strata_bitcask **out) {
  if (!dir || !out)
    return st_error(STRATA_INVALID_ARGUMENT, "bitcask: NULL argument");
  return bc_open(env_posix(), dir, o, out);
}

int strata_bitcask_merge(strata_bitcask *db) { return bc_merge_run(db, 1); }

int strata_bitcask_close(strata_bitcask *db) {
  if (!db) return STRATA_OK;
  pthread_mutex_lock(&db->bg_mu);
  db->closing = 1;
  int started = db->bg_started;
  db->bg_started = 0;
  pthread_mutex_unlock(&db->bg_mu);
  if (started) pthread_join(db->bg, NULL);
  bc_service_stop(db);
  int rc = STRATA_OK;
  if (db->opt.sync == STRATA_BITCASK_SYNC_INTERVAL && db->active)
    rc = strata_bitcask_sync(db);
  int crc = log_writer_close(db->active);
  if (rc == STRATA_OK) rc = crc;
  for (size_t i = 0; i < db->nfiles; i++)
    env_close(db->files[i].rf);
  free(db->files);
  bc_keydir_destroy(db->kd);
  for (size_t i = 0; i < db->nlost; i++) {
    free(db->lost[i].key);
    free(db->lost[i].file);
  }
  free(db->lost);
  env_unlock_file(db->lock);
  pthread_rwlock_destroy(&db->mu);
  pthread_mutex_destroy(&db->wmu);
  pthread_mutex_destroy(&db->merge_mu);
  pthread_mutex_destroy(&db->bg_mu);
  bc_service_destroy(db);
  free(db->dir);
  free(db);
  return rc;
}
