/*
 * bc_recover.c — opening a Bitcask directory: finish a committed merge,
 * load every data file into the key directory (from its hint file when the
 * hint verifies, else by scanning the data file under the recovery policy),
 * name the keys whose newest record was lost, and pick the active file.
 *
 * Formats read: NNNNNN.data and NNNNNN.hint (docs/formats/bitcask.md), both
 * record logs; hints come from merge or, for files closed by rotation, from
 * the service thread (bc_hint_writer.c), whose NNNNNN.hint.tmp leftovers are
 * removed here. A hint file is used only if every record verifies (read under
 * `absolute`), every entry decodes, and its footer names this data file and
 * its exact size; otherwise it is ignored (not reported as data loss: the
 * data file is then scanned and reports its own damage). Entries are applied
 * newest-timestamp-wins, so files may be read in any order and a partly
 * applied hint followed by a scan of its data file is harmless.
 *
 * Speed (10M keys: open from hints must beat scanning by 5x): the keydir is
 * sized from the hint files' bytes before loading; with at least
 * bc_hint_thread_min bytes of hints a second thread reads, verifies and
 * decodes them and hashes their keys, in batches handed over a small ring,
 * while this thread only inserts (prefetching slots ahead); that thread also
 * faults in half of the slot table and the keydir's next chunks (a pool), so
 * page faults leave the inserting thread. Each file's live bytes are kept as
 * entries are added or replaced, so no walk over the keydir follows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitcask/bc_entry.h"
#include "bitcask/bc_format.h"
#include "bitcask/bitcask.h"
#include "log/log_format.h"
#include "log/log_reader.h"
#include "log/log_record_at.h"
#include "util/coding.h"
#include "util/status.h"

enum {
  SALVAGE_LIMIT = 64 << 20, /* bytes of one region searched for keys */
  HINT_BATCH = 2048,        /* hint entries per batch handed to the keydir */
  HINT_KEYS = 64 << 10,     /* key bytes per batch (more for a longer key) */
  HINT_QUEUE = 16,          /* batches in flight between the two threads
                               (room for the decoder to run ahead while the
                               inserter is descheduled, and back) */
  HINT_AHEAD = 16           /* keydir slots prefetched ahead of inserts */
};

uint64_t bc_hint_thread_min = 4 << 20;

/* A dropped region of a data file, kept to search it for keys. */
typedef struct region {
  uint64_t offset, bytes; /* the dropped bytes */
} region;

typedef struct scan_ctx {
  strata_bitcask *db; /* the database being opened */
  uint32_t id;        /* the file being read */
  bc_file *f;         /* its entry in db->files */
  const char *path;   /* its path */
  region *r;          /* its dropped regions */
  size_t nr, rcap;    /* held, allocated */
  int oom;            /* an allocation failed in the damage callback */
  uint64_t start;     /* current record's first fragment offset */
  size_t plen;        /* its payload length */
  int rc;             /* first keydir failure */
} scan_ctx;

static void on_drop(void *arg, const strata_damage *d) {
  scan_ctx *c = arg;
  c->db->dropped_bytes += d->bytes;
  c->db->drops++;
  if (c->db->opt.on_damage) c->db->opt.on_damage(c->db->opt.damage_arg, d);
  if (c->nr == c->rcap) {
    size_t cap = c->rcap ? c->rcap * 2 : 8;
    region *v = realloc(c->r, cap * sizeof *v);
    if (!v) {
      c->oom = 1;
      return;
    }
    c->r = v;
    c->rcap = cap;
  }
  c->r[c->nr].offset = d->offset;
  c->r[c->nr++].bytes = d->bytes;
}

/* Applies one entry, newest timestamp wins, and keeps the files' live bytes
 * (what keydir entries point at; dead = size - live once all are loaded). */
static int apply_hashed(strata_bitcask *db, uint32_t h, const void *key,
                        size_t klen, const bc_loc *loc, bc_file *f) {
  if (loc->ts > db->clock) db->clock = loc->ts;
  bc_loc prev;
  int effect;
  int rc = bc_keydir_load(db->kd, h, key, klen, loc, &prev, &effect);
  if (rc != STRATA_OK || effect == BC_KEYDIR_KEPT) return rc;
  f->live += loc->size;
  if (effect == BC_KEYDIR_REPLACED) {
    long pi = prev.file_id == f->id ? -1 : bc_find_file(db, prev.file_id);
    bc_file *pf = pi >= 0 ? &db->files[pi] : f;
    pf->live -= prev.size; /* unsigned: exact as long as added before */
  }
  return STRATA_OK;
}

static int apply(strata_bitcask *db, const void *key, size_t klen,
                 const bc_loc *loc, bc_file *f) {
  return apply_hashed(db, bc_keydir_hash(key, klen), key, klen, loc, f);
}

static int scan_entry(void *arg, const bc_entry *e, uint32_t pos,
                      uint32_t len) {
  scan_ctx *c = arg;
  bc_loc l;
  bc_loc_of_entry(&l, c->id, c->start, c->plen, e, pos, len);
  int rc = apply(c->db, e->key, e->klen, &l, c->f);
  if (rc != STRATA_OK) c->rc = rc;
  return rc;
}

/* Adds a lost key (newest timestamp per key wins). */
static int add_lost(strata_bitcask *db, const bc_entry *e, const char *path,
                    uint64_t offset) {
  for (size_t i = 0; i < db->nlost; i++)
    if (db->lost[i].klen == e->klen &&
        memcmp(db->lost[i].key, e->key, e->klen) == 0) {
      if (e->ts > db->lost[i].ts) {
        db->lost[i].ts = e->ts;
        db->lost[i].offset = offset;
      }
      return STRATA_OK;
    }
  bc_lost *v = realloc(db->lost, (db->nlost + 1) * sizeof *v);
  if (!v) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  db->lost = v;
  bc_lost *x = &v[db->nlost];
  x->key = malloc(e->klen ? e->klen : 1);
  x->file = strdup(path);
  if (!x->key || !x->file) {
    free(x->key);
    free(x->file);
    return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  }
  if (e->klen) memcpy(x->key, e->key, e->klen);
  x->klen = e->klen;
  x->offset = offset;
  x->ts = e->ts;
  db->nlost++;
  return STRATA_OK;
}

/* Candidate lost entries found in dropped bytes, checked against the keydir
 * once every file is loaded. */
typedef struct cand {
  uint8_t *bytes;  /* the region's bytes (shared by its candidates) */
  size_t at;       /* entry position in bytes */
  size_t len;      /* bytes in `bytes` */
  char *path;      /* file (shared) */
  uint64_t offset; /* file offset of the entry */
} cand;

typedef struct cands {
  cand *v;              /* candidates */
  size_t n, cap;        /* held, allocated */
  uint8_t **bufs;       /* region buffers to free */
  char **paths;         /* paths to free */
  size_t nbufs, npaths; /* counts */
} cands;

/* Searches a dropped region for entries whose header checksum holds. */
static int salvage(strata_bitcask *db, env_file *f, const char *path,
                   const region *r, cands *cs) {
  uint64_t n = r->bytes < SALVAGE_LIMIT ? r->bytes : SALVAGE_LIMIT;
  if (n < BC_ENTRY_FIXED) return STRATA_OK;
  uint8_t *b = malloc(n);
  uint8_t **bv = realloc(cs->bufs, (cs->nbufs + 1) * sizeof *bv);
  if (!b || !bv) {
    free(b);
    if (bv) cs->bufs = bv;
    return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  }
  cs->bufs = bv;
  cs->bufs[cs->nbufs++] = b;
  size_t got = 0;
  int rc = env_pread(f, r->offset, b, n, &got);
  if (rc != STRATA_OK) return rc;
  char **pv = realloc(cs->paths, (cs->npaths + 1) * sizeof *pv);
  if (!pv) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  cs->paths = pv;
  if (!(pv[cs->npaths] = strdup(path)))
    return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  char *p = pv[cs->npaths++];
  (void)db;
  for (size_t i = 0; i + BC_ENTRY_FIXED <= got; i++) {
    if (b[i] != BC_KIND_PUT && b[i] != BC_KIND_TOMBSTONE) continue;
    bc_entry e;
    if (!bc_entry_decode_header(b + i, b + got, &e)) continue;
    if (cs->n == cs->cap) {
      size_t cap = cs->cap ? cs->cap * 2 : 16;
      cand *v = realloc(cs->v, cap * sizeof *v);
      if (!v) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
      cs->v = v;
      cs->cap = cap;
    }
    cs->v[cs->n].bytes = b;
    cs->v[cs->n].at = i;
    cs->v[cs->n].len = got;
    cs->v[cs->n].path = p;
    cs->v[cs->n++].offset = r->offset + i;
  }
  return STRATA_OK;
}

static void cands_free(cands *cs) {
  for (size_t i = 0; i < cs->nbufs; i++)
    free(cs->bufs[i]);
  for (size_t i = 0; i < cs->npaths; i++)
    free(cs->paths[i]);
  free(cs->bufs);
  free(cs->paths);
  free(cs->v);
}

/* Hint entries decoded and verified, handed from the decoder to the inserter
 * (the keydir); keys are copied out of the reader's record buffer. */
typedef struct hint_batch {
  uint32_t n;                /* entries held */
  uint32_t hash[HINT_BATCH]; /* their keys' hashes (bc_keydir_hash) */
  bc_loc loc[HINT_BATCH];    /* their locations */
  uint32_t koff[HINT_BATCH]; /* where each key starts in `keys` */
  uint32_t klen[HINT_BATCH]; /* its length */
  uint8_t *keys;             /* key bytes */
  size_t kused, kcap;        /* bytes used, allocated */
  int last;                  /* the last batch of its hint file */
  int rc;                    /* if last: STRATA_OK or why the hint is unusable */
  int rotated;               /* if last and OK: written after a rotation */
  char msg[256];             /* if last and rc is STRATA_NO_MEMORY: message */
} hint_batch;

/* Called with a full batch; returns the batch to fill next (may be the same
 * one, emptied), or NULL to stop decoding (STRATA_NO_MEMORY in *rc). */
typedef hint_batch *(*hint_emit_fn)(void *arg, hint_batch *b, int *rc);

static int batch_key_room(hint_batch *b, size_t klen) {
  if (b->kused + klen <= b->kcap) return 1;
  if (b->n > 0) return 0; /* emit first */
  size_t cap = klen > HINT_KEYS ? klen : HINT_KEYS;
  uint8_t *k = realloc(b->keys, cap);
  if (!k) return -1;
  b->keys = k;
  b->kcap = cap;
  return 1;
}

/* Reads, verifies and decodes hint file `id` (its data file `data_size`
 * bytes) into batches, emitting each full one; the rest stays in *bp.
 * STRATA_OK: every entry emitted, and *rotated from the footer; otherwise
 * the hint is unusable (entries emitted so far are harmless: the data file
 * is scanned after them, newest timestamp wins) or STRATA_NO_MEMORY. */
static int decode_hint(env *e, const char *dir, uint32_t id,
                       uint64_t data_size, hint_batch **bp, hint_emit_fn emit,
                       void *arg, int *rotated) {
  char path[4096];
  bc_file_path(path, sizeof path, dir, id, "hint");
  log_reader *r = NULL;
  int rc = log_reader_open(e, path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r);
  if (rc != STRATA_OK) return rc;
  const uint8_t *rec;
  size_t n;
  int footer = 0;
  uint64_t entries = 0;
  hint_batch *b = *bp;
  while (b && rc == STRATA_OK &&
         (rc = log_reader_next(r, &rec, &n, NULL)) == STRATA_OK) {
    const uint8_t *p = rec + 1, *lim = rec + n;
    if (n == 0 || footer) {
      rc = ST_CORRUPT("%s: record after the footer", path);
    } else if (rec[0] == BC_HINT_FOOTER) {
      uint32_t fid = 0, origin = 0;
      uint64_t size = 0, count = 0;
      if ((p = decode_varint32(p, lim, &fid)) &&
          (p = decode_varint64(p, lim, &size)) &&
          (p = decode_varint64(p, lim, &count)) && p < lim &&
          (p = decode_varint32(p, lim, &origin)) && origin != BC_HINT_ROTATED)
        p = NULL;
      *rotated = origin == BC_HINT_ROTATED;
      if (!p || p != lim || fid != id || size != data_size || count != entries)
        rc = ST_CORRUPT("%s: footer does not match %06u.data", path,
                        (unsigned)id);
      footer = 1;
    } else if (rec[0] == BC_HINT_ENTRIES) {
      while (p < lim) {
        bc_hint h;
        const uint8_t *next = bc_hint_decode(p, lim, &h);
        if (!next || h.file_id != id || h.offset > data_size ||
            h.size > data_size - h.offset) {
          rc = ST_CORRUPT("%s: malformed hint entry", path);
          break;
        }
        int room = b->n < HINT_BATCH ? batch_key_room(b, h.klen) : 0;
        if (room == 0) {
          if (!(b = emit(arg, b, &rc))) break;
          room = batch_key_room(b, h.klen);
        }
        if (room < 0) {
          rc = st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
          break;
        }
        uint32_t i = b->n++;
        b->hash[i] = bc_keydir_hash(h.key, h.klen);
        bc_loc *l = &b->loc[i];
        l->file_id = id;
        l->offset = h.offset;
        l->size = h.size;
        l->sub = h.sub;
        l->ts = h.ts;
        l->expiry = h.expiry > UINT32_MAX ? UINT32_MAX : (uint32_t)h.expiry;
        l->tombstone = h.kind == BC_KIND_TOMBSTONE;
        b->koff[i] = (uint32_t)b->kused;
        b->klen[i] = h.klen;
        if (h.klen) memcpy(b->keys + b->kused, h.key, h.klen);
        b->kused += h.klen;
        entries++;
        p = next;
      }
    } else {
      rc = ST_CORRUPT("%s: unknown hint record type %u", path, rec[0]);
    }
  }
  log_reader_close(r);
  *bp = b;
  if (rc == STRATA_END)
    rc = footer ? STRATA_OK : ST_CORRUPT("%s: no footer", path);
  return rc;
}

/* Applies a batch's entries to the keydir (prefetching slots ahead). */
static int insert_batch(strata_bitcask *db, bc_file *f, hint_batch *b) {
  int rc = STRATA_OK;
  for (uint32_t i = 0; i < b->n && i < HINT_AHEAD; i++)
    bc_keydir_prefetch(db->kd, b->hash[i]);
  for (uint32_t i = 0; i < b->n && rc == STRATA_OK; i++) {
    if (i + HINT_AHEAD < b->n)
      bc_keydir_prefetch(db->kd, b->hash[i + HINT_AHEAD]);
    rc = apply_hashed(db, b->hash[i], b->keys + b->koff[i], b->klen[i],
                      &b->loc[i], f);
  }
  b->n = 0;
  b->kused = 0;
  return rc;
}

/* Hint files decoded ahead of the inserter: on a second thread when there
 * are enough hint bytes (the machine's other core reads, verifies, decodes
 * and hashes while this one fills the keydir), else inline. The decoder
 * takes the files in the order the inserter asks for them. */
typedef struct hint_pipe {
  strata_bitcask *db;            /* database being opened */
  uint32_t *ids;                 /* data files with a hint, in load order */
  size_t nids, cap;              /* held, allocated */
  size_t next;                   /* inserter: next id to be asked for */
  hint_batch *ring[HINT_QUEUE];  /* batches; [done, made) hold entries */
  uint64_t made, done;           /* batches published, batches consumed */
  int threaded;                  /* 1: a decoder thread runs */
  int stop;                      /* inserter gave up: decoder must end */
  pthread_t thread;              /* the decoder */
  bc_keydir_pool *pool;          /* keydir chunks the decoder makes ready */
  pthread_mutex_t mu;            /* guards made, done, stop */
  pthread_cond_t cv;             /* signalled when a waiter may go on */
  int prod_wait, cons_wait;      /* decoder / inserter waits on cv */
} hint_pipe;

/* Decoder thread: publishes the full batch, waits for a free one. */
static hint_batch *pipe_push(void *arg, hint_batch *b, int *rc) {
  hint_pipe *hp = arg;
  (void)b;
  (void)rc;
  pthread_mutex_lock(&hp->mu);
  hp->made++;
  if (hp->cons_wait) pthread_cond_broadcast(&hp->cv);
  pthread_mutex_unlock(&hp->mu);
  bc_keydir_pool_fill(hp->pool);
  pthread_mutex_lock(&hp->mu);
  while (!hp->stop && hp->made - hp->done >= HINT_QUEUE) {
    hp->prod_wait = 1; /* woken at half full: fewer switches */
    pthread_cond_wait(&hp->cv, &hp->mu);
  }
  hp->prod_wait = 0;
  int stop = hp->stop;
  pthread_mutex_unlock(&hp->mu);
  if (stop) return NULL;
  hint_batch *nb = hp->ring[hp->made % HINT_QUEUE];
  nb->n = 0;
  nb->kused = 0;
  nb->last = 0;
  return nb;
}

static void *pipe_main(void *arg) {
  hint_pipe *hp = arg;
  strata_bitcask *db = hp->db;
  hint_batch *b = hp->ring[0];
  bc_keydir_populate(db->kd, 1, 2); /* the inserter does part 0 */
  bc_keydir_pool_fill(hp->pool);
  for (size_t j = 0; j < hp->nids; j++) {
    char path[4096];
    uint64_t size = 0;
    int rotated = 0;
    bc_file_path(path, sizeof path, db->dir, hp->ids[j], "data");
    int rc = env_size(db->e, path, &size);
    if (rc == STRATA_OK)
      rc = decode_hint(db->e, db->dir, hp->ids[j], size, &b, pipe_push, hp,
                       &rotated);
    if (!b) break; /* stopped */
    b->last = 1;
    b->rc = rc;
    b->rotated = rotated;
    snprintf(b->msg, sizeof b->msg, "%s",
             rc == STRATA_NO_MEMORY ? strata_last_error() : "");
    if (!(b = pipe_push(hp, b, &rc))) break;
  }
  return NULL;
}

/* Inline mode: the decoder's full batch goes straight into the keydir. */
typedef struct inline_ctx {
  strata_bitcask *db; /* database being opened */
  bc_file *f;         /* file being loaded */
} inline_ctx;

static hint_batch *inline_insert(void *arg, hint_batch *b, int *rc) {
  inline_ctx *c = arg;
  *rc = insert_batch(c->db, c->f, b);
  return *rc == STRATA_OK ? b : NULL;
}

static void pipe_end(hint_pipe *hp) {
  if (hp->threaded) {
    pthread_mutex_lock(&hp->mu);
    hp->stop = 1;
    pthread_cond_broadcast(&hp->cv);
    pthread_mutex_unlock(&hp->mu);
    pthread_join(hp->thread, NULL);
    pthread_mutex_destroy(&hp->mu);
    pthread_cond_destroy(&hp->cv);
    hp->threaded = 0;
    bc_keydir_set_pool(hp->db->kd, NULL);
    bc_keydir_pool_destroy(hp->pool);
    hp->pool = NULL;
  }
  for (int i = 0; i < HINT_QUEUE; i++)
    if (hp->ring[i]) {
      free(hp->ring[i]->keys);
      free(hp->ring[i]);
      hp->ring[i] = NULL;
    }
  free(hp->ids);
  hp->ids = NULL;
}

/* Allocates the batches and starts the decoder if `hint_bytes` warrant it. */
static int pipe_start(hint_pipe *hp, uint64_t hint_bytes) {
  for (int i = 0; i < HINT_QUEUE; i++)
    if (!(hp->ring[i] = calloc(1, sizeof(hint_batch))))
      return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  if (hp->nids == 0 || hint_bytes < bc_hint_thread_min) return STRATA_OK;
  if (!(hp->pool = bc_keydir_pool_create())) return STRATA_OK; /* inline */
  pthread_mutex_init(&hp->mu, NULL);
  pthread_cond_init(&hp->cv, NULL);
  if (pthread_create(&hp->thread, NULL, pipe_main, hp) != 0) {
    pthread_mutex_destroy(&hp->mu);
    pthread_cond_destroy(&hp->cv);
    bc_keydir_pool_destroy(hp->pool);
    hp->pool = NULL;
    return STRATA_OK; /* decode inline */
  }
  bc_keydir_set_pool(hp->db->kd, hp->pool);
  hp->threaded = 1;
  bc_keydir_populate(hp->db->kd, 0, 2); /* the decoder does part 1 */
  return STRATA_OK;
}

/* Loads the hint of data file f (the next id the pipe holds): STRATA_OK,
 * STRATA_NO_MEMORY, or another code when the hint is unusable. */
static int pipe_load(hint_pipe *hp, bc_file *f, int *rotated) {
  strata_bitcask *db = hp->db;
  hp->next++;
  if (!hp->threaded) {
    inline_ctx c = {db, f};
    hint_batch *b = hp->ring[0];
    b->n = 0;
    b->kused = 0;
    int rc = decode_hint(db->e, db->dir, f->id, f->size, &b, inline_insert,
                         &c, rotated);
    if (!b) return rc; /* an insert failed */
    int irc = insert_batch(db, f, b);
    return rc == STRATA_OK ? irc : rc;
  }
  int rc = STRATA_OK;
  for (;;) {
    pthread_mutex_lock(&hp->mu);
    while (hp->done == hp->made) {
      hp->cons_wait = 1;
      pthread_cond_wait(&hp->cv, &hp->mu);
    }
    hp->cons_wait = 0;
    pthread_mutex_unlock(&hp->mu);
    hint_batch *b = hp->ring[hp->done % HINT_QUEUE];
    if (rc == STRATA_OK) rc = insert_batch(db, f, b);
    int last = b->last;
    if (last && rc == STRATA_OK) {
      rc = b->rc;
      *rotated = b->rotated;
      if (rc == STRATA_NO_MEMORY) st_error(rc, "%s", b->msg);
    }
    pthread_mutex_lock(&hp->mu);
    hp->done++;
    if (hp->prod_wait && hp->made - hp->done <= HINT_QUEUE / 2)
      pthread_cond_broadcast(&hp->cv);
    pthread_mutex_unlock(&hp->mu);
    if (last) return rc;
  }
}

/* Scans a data file under the policy. */
static int scan_data(strata_bitcask *db, uint32_t id, env_file *rf, cands *cs,
                     int *clean_tail) {
  char path[4096];
  bc_file_path(path, sizeof path, db->dir, id, "data");
  scan_ctx c;
  memset(&c, 0, sizeof c);
  c.db = db;
  c.id = id;
  c.f = &db->files[bc_find_file(db, id)];
  c.path = path;
  log_reader *r = NULL;
  int rc = log_reader_open(db->e, path, db->opt.recovery, on_drop, &c, &r);
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while (rc == STRATA_OK &&
         (rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    c.start = info.offset;
    c.plen = n;
    int w = bc_record_walk(rec, n, NULL, NULL); /* atomic: check first */
    if (w == STRATA_OK) {
      w = bc_record_walk(rec, n, scan_entry, &c);
      if (c.rc != STRATA_OK) {
        rc = c.rc;
        break;
      }
      continue;
    }
    /* a record whose checksum holds but whose payload is not an entry */
    strata_damage d = {path,
                       info.offset,
                       info.end - info.offset,
                       STRATA_DAMAGE_BAD_TYPE,
                       "record is not a bitcask entry",
                       1,
                       0};
    on_drop(&c, &d);
    if (db->opt.recovery != STRATA_RECOVERY_SKIP) {
      rc = ST_CORRUPT("%s: record at offset %llu is not a bitcask entry", path,
                      (unsigned long long)info.offset);
      break;
    }
  }
  log_reader_close(r);
  if (rc == STRATA_END) rc = STRATA_OK;
  if (c.oom && rc == STRATA_OK)
    rc = st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  for (size_t i = 0; i < c.nr && rc == STRATA_OK; i++)
    rc = salvage(db, rf, path, &c.r[i], cs);
  *clean_tail = c.nr == 0;
  free(c.r);
  return rc;
}

static int parse_id(const char *name, const char *ext, uint32_t *id) {
  size_t n = strlen(name), e = strlen(ext);
  if (n != 6 + 1 + e || name[6] != '.' || strcmp(name + 7, ext) != 0) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 6; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    v = v * 10 + (uint32_t)(name[i] - '0');
  }
  *id = v;
  return 1;
}

/* Records the lost keys among the candidates. */
static int judge(strata_bitcask *db, cands *cs) {
  for (size_t i = 0; i < cs->n; i++) {
    cand *c = &cs->v[i];
    bc_entry e;
    if (!bc_entry_decode_header(c->bytes + c->at, c->bytes + c->len, &e))
      continue;
    bc_loc l;
    if (bc_keydir_get(db->kd, e.key, e.klen, &l) && l.ts >= e.ts) continue;
    int rc = add_lost(db, &e, c->path, c->offset);
    if (rc != STRATA_OK) return rc;
  }
  return STRATA_OK;
}

static int load_all(strata_bitcask *db) {
  char **names = NULL;
  size_t count = 0;
  int rc = env_list_dir(db->e, db->dir, &names, &count);
  if (rc != STRATA_OK) return rc;
  cands cs;
  memset(&cs, 0, sizeof cs);
  /* size the keydir from the hint files (an entry of a 16-byte key takes
   * about 36 bytes, shorter keys fewer), and list the data files to load
   * from hints, in the order the loop below takes them */
  hint_pipe hp;
  memset(&hp, 0, sizeof hp);
  hp.db = db;
  uint64_t hint_bytes = 0;
  for (size_t i = 0; i < count && rc == STRATA_OK; i++) {
    uint32_t id;
    char path[4096];
    uint64_t sz;
    if (!parse_id(names[i], "data", &id)) continue;
    bc_file_path(path, sizeof path, db->dir, id, "hint");
    if (env_size(db->e, path, &sz) != STRATA_OK) continue; /* none */
    hint_bytes += sz;
    if (hp.nids == hp.cap) {
      size_t cap = hp.cap ? hp.cap * 2 : 16;
      uint32_t *v = realloc(hp.ids, cap * sizeof *v);
      if (!v) {
        rc = st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
        break;
      }
      hp.ids = v;
      hp.cap = cap;
    }
    hp.ids[hp.nids++] = id;
  }
  if (rc == STRATA_OK) {
    bc_keydir_reserve(db->kd, (size_t)(hint_bytes / 32));
    rc = pipe_start(&hp, hint_bytes);
  }
  uint32_t last = 0;
  int have_last = 0, last_clean = 0, last_hint = 0;
  for (size_t i = 0; i < count && rc == STRATA_OK; i++) {
    uint32_t id;
    char path[4096];
    if (parse_id(names[i], "hint.tmp", &id)) {
      /* a rotation hint interrupted before its rename (bc_hint_writer.c) */
      if (!db->opt.read_only) {
        bc_file_path(path, sizeof path, db->dir, id, "hint.tmp");
        rc = env_remove(db->e, path);
      }
      continue;
    }
    if (parse_id(names[i], "hint", &id)) {
      bc_file_path(path, sizeof path, db->dir, id, "data");
      if (!db->opt.read_only && !env_exists(db->e, path)) {
        /* left by an interrupted removal */
        bc_file_path(path, sizeof path, db->dir, id, "hint");
        rc = env_remove(db->e, path);
      }
      continue;
    }
    if (!parse_id(names[i], "data", &id)) continue;
    bc_file_path(path, sizeof path, db->dir, id, "data");
    bc_file f = {id, NULL, 0, 0, 0, 0, 0};
    rc = env_open_read(db->e, path, &f.rf);
    if (rc == STRATA_OK) rc = env_file_size(f.rf, &f.size);
    if (rc == STRATA_OK) rc = bc_add_file(db, &f);
    if (rc != STRATA_OK) {
      env_close(f.rf);
      break;
    }
    if (id >= db->next_id) db->next_id = id + 1;
    int clean = 0, hinted = 0;
    if (hp.next < hp.nids && hp.ids[hp.next] == id) {
      hinted = 1;
      int rotated = 0;
      long fi = bc_find_file(db, id);
      int h = pipe_load(&hp, &db->files[fi], &rotated);
      if (h == STRATA_OK) {
        db->hint_files++;
        clean = 1;
      } else if (h == STRATA_NO_MEMORY) {
        rc = h;
      }
      if (h != STRATA_OK) hinted = 0;
      /* a rotated file still counts towards merge_max_files */
      db->files[fi].from_merge = h != STRATA_OK || !rotated;
      if (h == STRATA_OK) goto next;
    }
    if (rc == STRATA_OK) {
      rc = scan_data(db, id, f.rf, &cs, &clean);
      db->scanned_files++;
    }
  next:
    if (!have_last || id > last) {
      last = id;
      have_last = 1;
      last_clean = clean;
      last_hint = hinted || db->files[bc_find_file(db, id)].from_merge;
    }
  }
  pipe_end(&hp);
  env_free_list(names, count);
  if (rc == STRATA_OK) rc = judge(db, &cs);
  cands_free(&cs);
  if (rc != STRATA_OK) return rc;
  /* dead bytes: whatever no keydir entry points at */
  for (size_t i = 0; i < db->nfiles; i++) {
    bc_file *f = &db->files[i];
    f->dead = f->size > f->live ? f->size - f->live : 0;
  }
  if (db->next_id == 0) db->next_id = 1;
  if (db->opt.read_only) return STRATA_OK;
  /* continue the newest file if it was read whole and cleanly */
  if (have_last && last_clean && !last_hint &&
      db->files[bc_find_file(db, last)].size < db->opt.max_file_size)
    return bc_open_active_existing(db, last,
                                   db->files[bc_find_file(db, last)].size);
  pthread_mutex_lock(&db->wmu);
  rc = bc_rotate(db);
  pthread_mutex_unlock(&db->wmu);
  return rc;
}

int bc_open(env *e, const char *dir, const strata_bitcask_options *o,
            strata_bitcask **out) {
  strata_bitcask_options def;
  if (!o) {
    strata_bitcask_options_init(&def);
    o = &def;
  }
  if (o->max_file_size == 0)
    return st_error(STRATA_INVALID_ARGUMENT, "bitcask: max_file_size is 0");
  if (!env_exists(e, dir)) {
    if (!o->create_if_missing || o->read_only)
      return st_error(STRATA_NOT_FOUND, "%s: no such database", dir);
    int rc = env_mkdir(e, dir);
    if (rc != STRATA_OK) return rc;
  }
  strata_bitcask *db = calloc(1, sizeof *db);
  if (!db || !(db->dir = strdup(dir)) || !(db->kd = bc_keydir_create())) {
    if (db) {
      free(db->dir);
      free(db);
    }
    return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  }
  db->e = e;
  db->opt = *o;
  pthread_rwlock_init(&db->mu, NULL);
  pthread_mutex_init(&db->wmu, NULL);
  pthread_mutex_init(&db->merge_mu, NULL);
  pthread_mutex_init(&db->bg_mu, NULL);
  bc_service_init(db);
  char path[4096];
  snprintf(path, sizeof path, "%s/LOCK", dir);
  int rc = env_lock_file(e, path, &db->lock);
  if (rc == STRATA_OK && !o->read_only) rc = bc_merge_recover(e, dir);
  if (rc == STRATA_OK) rc = load_all(db);
  if (rc == STRATA_OK) rc = bc_service_start(db);
  if (rc != STRATA_OK) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", strata_last_error());
    int err = strata_last_errno();
    strata_bitcask_close(db);
    if (err)
      st_io_error(err, "%s", msg);
    else
      st_error(rc, "%s", msg);
    return rc;
  }
  *out = db;
  return STRATA_OK;
}
