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
 */
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
  HINT_RUN = 32             /* hint entries hashed and prefetched together */
};

/* A dropped region of a data file, kept to search it for keys. */
typedef struct region {
  uint64_t offset, bytes; /* the dropped bytes */
} region;

typedef struct scan_ctx {
  strata_bitcask *db; /* the database being opened */
  uint32_t id;        /* the file being read */
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

static int apply(strata_bitcask *db, const void *key, size_t klen,
                 const bc_loc *loc) {
  if (loc->ts > db->clock) db->clock = loc->ts;
  return bc_keydir_put(db->kd, key, klen, loc, 1, NULL, NULL);
}

static int scan_entry(void *arg, const bc_entry *e, uint32_t pos,
                      uint32_t len) {
  scan_ctx *c = arg;
  bc_loc l;
  bc_loc_of_entry(&l, c->id, c->start, c->plen, e, pos, len);
  int rc = apply(c->db, e->key, e->klen, &l);
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

/* Loads a hint file. STRATA_OK: every entry applied; STRATA_CORRUPTION: the
 * hint is unusable (some entries may have been applied: harmless). */
static int load_hint(strata_bitcask *db, uint32_t id, uint64_t data_size,
                     int *rotated) {
  char path[4096];
  bc_file_path(path, sizeof path, db->dir, id, "hint");
  log_reader *r = NULL;
  int rc =
      log_reader_open(db->e, path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r);
  if (rc != STRATA_OK) return rc;
  const uint8_t *rec;
  size_t n;
  int footer = 0;
  uint64_t entries = 0;
  while (rc == STRATA_OK &&
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
      /* decode a run, prefetch the slots, then insert (see bc_keydir.h) */
      while (p < lim && rc == STRATA_OK) {
        bc_hint hv[HINT_RUN];
        uint32_t hash[HINT_RUN];
        int nrun = 0;
        while (p < lim && nrun < HINT_RUN) {
          bc_hint *h = &hv[nrun];
          const uint8_t *next = bc_hint_decode(p, lim, h);
          if (!next || h->file_id != id || h->offset + h->size > data_size) {
            rc = ST_CORRUPT("%s: malformed hint entry", path);
            break;
          }
          hash[nrun] = bc_keydir_hash(h->key, h->klen);
          bc_keydir_prefetch(db->kd, hash[nrun]);
          nrun++;
          p = next;
        }
        for (int i = 0; i < nrun && rc == STRATA_OK; i++) {
          bc_hint *h = &hv[i];
          bc_loc l = {id,
                      h->offset,
                      h->size,
                      h->sub,
                      h->ts,
                      h->expiry > UINT32_MAX ? UINT32_MAX : (uint32_t)h->expiry,
                      h->kind == BC_KIND_TOMBSTONE};
          if (h->ts > db->clock) db->clock = h->ts;
          rc = bc_keydir_put_hashed(db->kd, hash[i], h->key, h->klen, &l, 1,
                                    NULL, NULL);
          entries++;
        }
      }
    } else {
      rc = ST_CORRUPT("%s: unknown hint record type %u", path, rec[0]);
    }
  }
  log_reader_close(r);
  if (rc == STRATA_END)
    rc = footer ? STRATA_OK : ST_CORRUPT("%s: no footer", path);
  return rc;
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
  /* size the keydir from the hint files: an entry of a 16-byte key takes
   * about 36 bytes, shorter keys fewer */
  uint64_t hint_bytes = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t id;
    char path[4096];
    uint64_t sz;
    if (!parse_id(names[i], "hint", &id)) continue;
    snprintf(path, sizeof path, "%s/%s", db->dir, names[i]);
    if (env_size(db->e, path, &sz) == STRATA_OK) hint_bytes += sz;
  }
  bc_keydir_reserve(db->kd, (size_t)(hint_bytes / 32));
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
    bc_file f = {id, NULL, 0, 0, 0, 0};
    rc = env_open_read(db->e, path, &f.rf);
    if (rc == STRATA_OK) rc = env_file_size(f.rf, &f.size);
    if (rc == STRATA_OK) rc = bc_add_file(db, &f);
    if (rc != STRATA_OK) {
      env_close(f.rf);
      break;
    }
    if (id >= db->next_id) db->next_id = id + 1;
    char hpath[4096];
    bc_file_path(hpath, sizeof hpath, db->dir, id, "hint");
    int clean = 0, hinted = 0;
    if (env_exists(db->e, hpath)) {
      hinted = 1;
      int rotated = 0;
      int h = load_hint(db, id, f.size, &rotated);
      if (h == STRATA_OK) {
        db->hint_files++;
        clean = 1;
      } else if (h == STRATA_NO_MEMORY) {
        rc = h;
      }
      if (h != STRATA_OK) hinted = 0;
      /* a rotated file still counts towards merge_max_files */
      db->files[bc_find_file(db, id)].from_merge = h != STRATA_OK || !rotated;
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
  env_free_list(names, count);
  if (rc == STRATA_OK) rc = judge(db, &cs);
  cands_free(&cs);
  if (rc != STRATA_OK) return rc;
  /* dead bytes: whatever no keydir entry points at */
  for (size_t i = 0; i < db->nfiles; i++)
    db->files[i].dead = db->files[i].size;
  size_t cap = bc_keydir_capacity(db->kd);
  for (size_t i = 0; i < cap; i++) {
    const uint8_t *k;
    size_t kl;
    bc_loc l;
    if (!bc_keydir_entry(db->kd, i, &k, &kl, &l)) continue;
    long fi = bc_find_file(db, l.file_id);
    if (fi >= 0) {
      bc_file *f = &db->files[fi];
      f->dead = f->dead > l.size ? f->dead - l.size : 0;
    }
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
