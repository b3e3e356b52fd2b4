/*
 * damage.c — the damage campaign (issue 8 item 4): seeded faults injected
 * into one file of a database written from a reference model, then open,
 * get every key, scan, verify, and compare with the model.
 *
 * File kinds: a strata WAL segment, the LSM WAL (.log), the MANIFEST, a table
 * (.ldb), a Bitcask data file and a Bitcask hint file. The last three LSM
 * kinds are also run on LevelDB 1.23 through its C API, on a database that
 * LevelDB wrote from the same model, with the same fault class drawn from the
 * same seed (positions follow each file's own length and records).
 *
 * The reference model is a list of operations (put or delete of "k%06u");
 * every value starts with "V%06u:" (its operation number) and is unique, so
 * a value read back names the write it came from: a value no operation wrote
 * (or wrote to another key) is a silent corruption, an older version of the
 * key than its last operation is stale. Some values hold, as bytes, a valid
 * encoded record of the same file kind (a put of a "g%06u" key): a ghost key
 * read back means the engine parsed a value as a record.
 *
 * Loss amplification: the records lost by a trial (last versions of keys not
 * read back, stale ones included) over the records physically overlapping
 * the damaged bytes (a record's extent runs from the end of the previous
 * record's value to the end of its own value, found by searching the value's
 * unique bytes in the pristine file: tables are written uncompressed).
 * Deletes have no value and are not located; MANIFEST and hint damage
 * overlaps no record by this measure (their losses are reported as records
 * lost per fault).
 */
#include "torture.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

/* ---- the model ---------------------------------------------------------- */

typedef struct dop {
  uint32_t key;       /* key number */
  int del;            /* 1: a delete */
  unsigned char *val; /* value bytes (puts) */
  size_t vlen;        /* its length */
  int nested;         /* the value holds an encoded record */
} dop;

typedef struct dmodel {
  dop *ops;       /* in write order */
  size_t nops;    /* count */
  uint32_t nkeys; /* keys 0..nkeys-1 */
  int32_t *last;  /* per key: its last operation */
} dmodel;

enum { ENG_STRATA = 0, ENG_LEVELDB = 1 };

static const char *kind_names[KIND_COUNT] = {"wal-segment", "lsm-log",
                                             "manifest",    "table",
                                             "bitcask-data", "bitcask-hint"};
const char *fault_names[FAULT_COUNT] = {
    "bit-flip",    "byte-run",      "zero-512",    "zero-4k",
    "trunc-record", "trunc-header", "trunc-block", "trunc-any",
    "torn-append", "misdirected",   "nested-record"};

const char *kind_name(int k) { return kind_names[k]; }

/* Configurations per kind: strata policies, then LevelDB's. */
typedef struct dconf {
  const char *name;   /* column label */
  int engine;         /* ENG_* */
  int policy;         /* strata_recovery */
  int paranoid;       /* LSM paranoid_checks (LevelDB: + verify_checksums) */
} dconf;

static int kind_confs(int kind, dconf *c) {
  int n = 0;
  switch (kind) {
  case KIND_WAL:
  case KIND_BC_DATA:
  case KIND_BC_HINT:
    for (int p = 0; p < 4; p++)
      c[n++] = (dconf){strata_recovery_name(p), ENG_STRATA, p, 0};
    break;
  case KIND_LSM_LOG:
    for (int p = 0; p < 4; p++)
      c[n++] = (dconf){strata_recovery_name(p), ENG_STRATA, p, 0};
    c[n++] = (dconf){"paranoid", ENG_STRATA, STRATA_RECOVERY_POINT_IN_TIME, 1};
    c[n++] = (dconf){"leveldb", ENG_LEVELDB, 0, 0};
    c[n++] = (dconf){"leveldb-paranoid", ENG_LEVELDB, 0, 1};
    break;
  default:
    c[n++] = (dconf){"default", ENG_STRATA, STRATA_RECOVERY_POINT_IN_TIME, 0};
    c[n++] = (dconf){"paranoid", ENG_STRATA, STRATA_RECOVERY_POINT_IN_TIME, 1};
    c[n++] = (dconf){"leveldb", ENG_LEVELDB, 0, 0};
    c[n++] = (dconf){"leveldb-paranoid", ENG_LEVELDB, 0, 1};
  }
  return n;
}

/* A valid encoded record of the kind (a put of a ghost key), in *out. */
static unsigned char *nested_bytes(int kind, const char *tmp, uint32_t n,
                                   size_t *len) {
  char key[16], dir[4096], path[4096];
  snprintf(key, sizeof key, "g%06u", n);
  unsigned char *b = NULL;
  *len = 0;
  if (kind == KIND_BC_DATA || kind == KIND_BC_HINT) {
    snprintf(dir, sizeof dir, "%s/nested-bc", tmp);
    t_remove_tree(dir);
    strata_bitcask_options o;
    strata_bitcask_options_init(&o);
    o.background_merge = 0;
    strata_bitcask *db;
    if (strata_bitcask_open(dir, &o, &db)) return NULL;
    strata_bitcask_put(db, key, 7, "ghost-value", 11);
    strata_bitcask_close(db);
    if (t_find_file(dir, NULL, ".data", path, sizeof path)) return NULL;
    b = t_read_file(path, len);
    t_remove_tree(dir);
    return b;
  }
  /* A log-format FULL record holding a batch (the WAL and the LSM .log). */
  snprintf(path, sizeof path, "%s/nested.log", tmp);
  unlink(path);
  strata_batch *bt = strata_batch_create();
  strata_batch_put(bt, key, 7, "ghost-value", 11);
  strata_batch_set_sequence(bt, n + 1);
  size_t bl;
  const void *bd = strata_batch_data(bt, &bl);
  strata_log_writer *w;
  if (!strata_log_writer_open(path, &w)) {
    strata_log_writer_add(w, bd, bl);
    strata_log_writer_close(w);
    b = t_read_file(path, len);
  }
  strata_batch_destroy(bt);
  unlink(path);
  return b;
}

static void model_build(dmodel *m, int kind, uint64_t seed, size_t nops,
                        const char *tmp) {
  trng r;
  trng_seed(&r, seed);
  memset(m, 0, sizeof *m);
  m->ops = calloc(nops, sizeof *m->ops);
  m->nops = nops;
  m->last = calloc(nops, sizeof *m->last);
  int nested_kind =
      kind == KIND_WAL || kind == KIND_LSM_LOG || kind == KIND_BC_DATA;
  for (size_t i = 0; i < nops; i++) {
    dop *o = &m->ops[i];
    uint64_t d = trng_below(&r, 100);
    if (m->nkeys == 0 || d < 78) {
      o->key = m->nkeys++;
    } else {
      o->key = (uint32_t)trng_below(&r, m->nkeys);
      o->del = d >= 94;
    }
    m->last[o->key] = (int32_t)i;
    if (o->del) continue;
    size_t nl = 0;
    unsigned char *nb = NULL;
    if (nested_kind && i % 13 == 6) {
      nb = nested_bytes(kind, tmp, (uint32_t)i, &nl);
      o->nested = nb != NULL;
    }
    size_t fill = 16 + trng_below(&r, 150);
    o->vlen = 8 + nl + fill;
    o->val = malloc(o->vlen);
    char tag[16];
    snprintf(tag, sizeof tag, "V%06u:", (unsigned)i);
    memcpy(o->val, tag, 8);
    if (nl) memcpy(o->val + 8, nb, nl);
    for (size_t j = 0; j < fill; j++)
      o->val[8 + nl + j] = (unsigned char)('a' + trng_below(&r, 26));
    free(nb);
  }
}

static void model_free(dmodel *m) {
  for (size_t i = 0; i < m->nops; i++) free(m->ops[i].val);
  free(m->ops);
  free(m->last);
}

static void key_of(uint32_t k, char *buf) { snprintf(buf, 16, "k%06u", k); }

/* ---- writing the pristine databases (in a child: LevelDB's background
 * thread must not be forked) ---------------------------------------------- */

typedef struct gen_arg {
  const dmodel *m; /* what to write */
  int kind;        /* KIND_* */
  int engine;      /* ENG_* */
  const char *dir; /* where */
} gen_arg;

static void lsm_opts(strata_options *o, int kind) {
  strata_options_init(o);
  o->create_if_missing = 1;
  o->compression = STRATA_COMPRESSION_NONE;
  o->write_info_log = 0;
  o->write_buffer_size = kind == KIND_LSM_LOG ? (8u << 20) : (1u << 20);
}

static void gen_child(void *arg, int fd) {
  const gen_arg *g = arg;
  const dmodel *m = g->m;
  int rc = 0;
  char key[16];
  if (g->kind == KIND_WAL) {
    strata_wal_options o;
    strata_wal_options_init(&o);
    o.sync = STRATA_WAL_SYNC_NONE;
    strata_wal *w;
    rc = strata_wal_open(g->dir, &o, &w);
    strata_batch *b = strata_batch_create();
    for (size_t i = 0; !rc && i < m->nops; i++) {
      strata_batch_clear(b);
      key_of(m->ops[i].key, key);
      if (m->ops[i].del)
        strata_batch_delete(b, key, 7);
      else
        strata_batch_put(b, key, 7, m->ops[i].val, m->ops[i].vlen);
      rc = strata_wal_append(w, b, NULL);
    }
    strata_batch_destroy(b);
    if (!rc) rc = strata_wal_close(w);
  } else if (g->kind == KIND_BC_DATA || g->kind == KIND_BC_HINT) {
    strata_bitcask_options o;
    strata_bitcask_options_init(&o);
    o.background_merge = 0;
    strata_bitcask *db;
    rc = strata_bitcask_open(g->dir, &o, &db);
    for (size_t i = 0; !rc && i < m->nops; i++) {
      key_of(m->ops[i].key, key);
      rc = m->ops[i].del
               ? strata_bitcask_delete(db, key, 7)
               : strata_bitcask_put(db, key, 7, m->ops[i].val, m->ops[i].vlen);
    }
    if (!rc && g->kind == KIND_BC_HINT) rc = strata_bitcask_merge(db);
    if (!rc) rc = strata_bitcask_close(db);
  } else if (g->engine == ENG_STRATA) {
    strata_options o;
    lsm_opts(&o, g->kind);
    strata_db *db;
    rc = strata_db_open(g->dir, &o, &db);
    for (size_t i = 0; !rc && i < m->nops; i++) {
      key_of(m->ops[i].key, key);
      rc = m->ops[i].del ? strata_db_delete(db, NULL, key, 7)
                         : strata_db_put(db, NULL, key, 7, m->ops[i].val,
                                         m->ops[i].vlen);
      if (!rc && g->kind == KIND_MANIFEST && i % 100 == 99)
        rc = strata_db_flush(db);
    }
    if (!rc && g->kind == KIND_TABLE)
      rc = strata_db_compact_range(db, NULL, 0, NULL, 0);
    if (!rc && g->kind == KIND_MANIFEST) rc = strata_db_flush(db);
    if (!rc) rc = strata_db_close(db);
  } else {
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_options_set_compression(o, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(
        o, g->kind == KIND_LSM_LOG ? (8u << 20) : (1u << 20));
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, g->dir, &err);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    for (size_t i = 0; db && !err && i < m->nops; i++) {
      key_of(m->ops[i].key, key);
      if (m->ops[i].del)
        leveldb_delete(db, wo, key, 7, &err);
      else
        leveldb_put(db, wo, key, 7, (const char *)m->ops[i].val,
                    m->ops[i].vlen, &err);
      if (!err && g->kind == KIND_MANIFEST && i % 100 == 99)
        leveldb_compact_range(db, NULL, 0, NULL, 0);
    }
    if (db && !err && (g->kind == KIND_TABLE || g->kind == KIND_MANIFEST))
      leveldb_compact_range(db, NULL, 0, NULL, 0);
    rc = err != NULL || !db;
    if (err) leveldb_free(err);
    if (db) leveldb_close(db);
    leveldb_writeoptions_destroy(wo);
    leveldb_options_destroy(o);
  }
  t_write_all(fd, &rc, sizeof rc);
}

/* The file a kind damages, in dir. */
static int target_file(int kind, const char *dir, char *out, size_t n) {
  switch (kind) {
  case KIND_WAL:
  case KIND_LSM_LOG:
    return t_find_file(dir, NULL, ".log", out, n);
  case KIND_MANIFEST:
    return t_find_file(dir, "MANIFEST-", NULL, out, n);
  case KIND_TABLE:
    return t_find_file(dir, NULL, ".ldb", out, n);
  case KIND_BC_DATA:
    return t_find_file(dir, NULL, ".data", out, n);
  default:
    return t_find_file(dir, NULL, ".hint", out, n);
  }
}

/* ---- record extents ------------------------------------------------------ */

typedef struct extent {
  uint64_t lo, hi; /* [lo, hi) of the file */
  uint64_t vpos;   /* where its located bytes (value tag or key) start */
  int32_t op;      /* operation number */
} extent;

static int ext_cmp(const void *a, const void *b) {
  const extent *x = a, *y = b;
  return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Locates every put of the model in the file: by its value (all kinds but
 * hint files, which hold keys only: then by key, for last versions). */
static extent *locate(const dmodel *m, int kind, const unsigned char *buf,
                      size_t len, size_t *count) {
  extent *e = calloc(m->nops + 1, sizeof *e);
  size_t n = 0;
  for (size_t i = 0; i < m->nops; i++) {
    const dop *o = &m->ops[i];
    if (o->del) continue;
    const unsigned char *p;
    size_t l;
    char key[16];
    if (kind == KIND_BC_HINT) {
      if (m->last[o->key] != (int32_t)i) continue;
      key_of(o->key, key);
      p = memmem(buf, len, key, 7);
      l = 7;
    } else {
      p = memmem(buf, len, o->val, o->vlen);
      l = o->vlen;
    }
    if (!p) continue;
    e[n].vpos = (uint64_t)(p - buf);
    e[n].hi = e[n].vpos + l;
    e[n].op = (int32_t)i;
    n++;
  }
  qsort(e, n, sizeof *e, ext_cmp);
  for (size_t i = 0; i < n; i++) e[i].lo = i ? e[i - 1].hi : 0;
  *count = n;
  return e;
}

/* ---- faults -------------------------------------------------------------- */

typedef struct fault {
  int type;       /* FAULT_* */
  uint64_t lo, hi; /* damaged bytes [lo, hi) of the new file (truncation: of
                      the old one) */
} fault;

static uint64_t pick_boundary(trng *r, const extent *e, size_t n, size_t len) {
  if (!n) return trng_below(r, len);
  return e[trng_below(r, n)].hi < len ? e[trng_below(r, n)].hi : len;
}

/* Applies a fault of `type` to buf (resized through *len, capacity cap).
 * Returns 0 if the bytes did not change. */
static int apply_fault(trng *r, int type, int kind, unsigned char *buf,
                       size_t *len, const extent *e, size_t ne,
                       const dmodel *m, fault *f) {
  size_t n = *len;
  if (n < 16) return 0;
  unsigned char *orig = malloc(n);
  memcpy(orig, buf, n);
  size_t block = (kind == KIND_WAL || kind == KIND_LSM_LOG ||
                  kind == KIND_MANIFEST)
                     ? 32768
                     : 4096;
  f->type = type;
  switch (type) {
  case FAULT_BITFLIP: {
    uint64_t o = trng_below(r, n);
    buf[o] ^= (unsigned char)(1u << trng_below(r, 8));
    f->lo = o;
    f->hi = o + 1;
    break;
  }
  case FAULT_BYTERUN: {
    size_t l = 2 + trng_below(r, 63);
    uint64_t o = trng_below(r, n);
    if (o + l > n) l = n - o;
    for (size_t i = 0; i < l; i++) buf[o + i] = (unsigned char)trng_next(r);
    f->lo = o;
    f->hi = o + l;
    break;
  }
  case FAULT_ZERO512:
  case FAULT_ZERO4K: {
    size_t l = type == FAULT_ZERO512 ? 512 : 4096;
    uint64_t o = trng_below(r, (n + l - 1) / l) * l;
    if (o + l > n) l = n - o;
    memset(buf + o, 0, l);
    f->lo = o;
    f->hi = o + l;
    break;
  }
  case FAULT_TRUNC_RECORD:
  case FAULT_TRUNC_HEADER:
  case FAULT_TRUNC_BLOCK:
  case FAULT_TRUNC_ANY: {
    uint64_t cut;
    if (type == FAULT_TRUNC_RECORD)
      cut = pick_boundary(r, e, ne, n);
    else if (type == FAULT_TRUNC_HEADER)
      cut = pick_boundary(r, e, ne, n) + 1 + trng_below(r, 7);
    else if (type == FAULT_TRUNC_BLOCK && n > block)
      cut = (1 + trng_below(r, (n - 1) / block)) * block;
    else
      cut = trng_below(r, n);
    if (cut > n) cut = n;
    *len = cut;
    f->lo = cut;
    f->hi = n;
    break;
  }
  case FAULT_TORN_APPEND: {
    /* The last write cut short; half the time the file keeps its size with
     * zeros where the write did not land (a preallocated or extended file). */
    uint64_t lo = ne ? e[ne - 1].lo : n - n / 8;
    if (lo >= n) lo = n - 1;
    uint64_t cut = lo + trng_below(r, n - lo);
    if (trng_below(r, 2)) {
      memset(buf + cut, 0, n - cut);
    } else {
      *len = cut;
    }
    f->lo = cut;
    f->hi = n;
    break;
  }
  case FAULT_MISDIRECTED: {
    size_t l = trng_below(r, 2) ? 512 : 4096;
    if (l >= n) l = 512;
    if (l >= n) l = n / 2;
    uint64_t src = trng_below(r, n - l), dst = trng_below(r, n - l);
    if (trng_below(r, 2)) {
      src -= src % 512;
      dst -= dst % 512;
    }
    memmove(buf + dst, orig + src, l);
    f->lo = dst;
    f->hi = dst + l;
    break;
  }
  default: { /* FAULT_NESTED: damage the header of a record whose value is
                 an encoded record */
    size_t cand[64], nc = 0;
    for (size_t i = 0; i < ne && nc < 64; i++)
      if (m->ops[e[i].op].nested) cand[nc++] = i;
    if (!nc) {
      free(orig);
      return 0;
    }
    const extent *x = &e[cand[trng_below(r, nc)]];
    uint64_t lo = x->lo, hi = x->vpos + 8;
    uint64_t o = lo + trng_below(r, hi - lo);
    buf[o] ^= (unsigned char)(1u << trng_below(r, 8));
    f->lo = o;
    f->hi = o + 1;
  }
  }
  int changed = *len != n || memcmp(orig, buf, n) != 0;
  free(orig);
  return changed;
}

/* ---- reading back (in a child) ------------------------------------------- */

typedef struct dres {
  int32_t open_rc;        /* status of open */
  uint32_t lost;          /* last versions not read back */
  uint32_t stale;         /* of which an older version was served */
  uint32_t corrupt;       /* values never written to that key */
  uint32_t ghost;         /* keys never written */
  uint32_t errors;        /* gets/scans that reported an error */
  uint32_t damage_calls;  /* on_damage reports at open and reads */
  int32_t verify_rc;      /* -1: no verify for this engine */
  uint32_t verify_regions; /* regions verify reported */
} dres;

typedef struct read_arg {
  const dmodel *m;  /* the model */
  int kind;         /* KIND_* */
  dconf conf;       /* how to open */
  const char *src;  /* the damaged database */
  const char *work; /* a scratch copy to open */
} read_arg;

static void count_damage(void *arg, const strata_damage *d) {
  (void)d;
  ((dres *)arg)->damage_calls++;
}
static void count_wal_damage(void *arg, const strata_wal_damage *d) {
  (void)d;
  ((dres *)arg)->damage_calls++;
}
static void count_verify(void *arg, const strata_damage *d) {
  (void)d;
  ((dres *)arg)->verify_regions++;
}
static void count_wal_verify(void *arg, const strata_wal_damage *d) {
  (void)d;
  ((dres *)arg)->verify_regions++;
}

/* Classifies value v read for key k: 0 the last version, 1 stale, 2 corrupt */
static int classify(const dmodel *m, uint32_t k, const void *v, size_t vlen) {
  unsigned j;
  char tag[9];
  if (vlen < 8) return 2;
  memcpy(tag, v, 8);
  tag[8] = 0;
  if (sscanf(tag, "V%06u:", &j) != 1 || j >= m->nops) return 2;
  const dop *o = &m->ops[j];
  if (o->del || o->key != k || o->vlen != vlen || memcmp(o->val, v, vlen))
    return 2;
  if ((int32_t)j == m->last[k]) return 0;
  return (int32_t)j < m->last[k] ? 1 : 2;
}

/* Parses "k%06u"; -1 if not a model key. */
static long key_num(const dmodel *m, const void *k, size_t l) {
  char b[16];
  unsigned n;
  if (l != 7) return -1;
  memcpy(b, k, 7);
  b[7] = 0;
  if (b[0] != 'k' || sscanf(b + 1, "%06u", &n) != 1 || n >= m->nkeys)
    return -1;
  return (long)n;
}

/* The state read for one key: got = 0 absent, 1 value (v), -1 error. */
static void judge(const dmodel *m, uint32_t k, int got, const void *v,
                  size_t vlen, dres *r) {
  int last_del = m->ops[m->last[k]].del;
  if (got < 0) {
    r->errors++;
    if (!last_del) r->lost++;
    return;
  }
  if (got == 0) {
    if (!last_del) r->lost++;
    return;
  }
  int c = classify(m, k, v, vlen);
  if (c == 2) {
    r->corrupt++;
    r->lost++;
  } else if (c == 1 || last_del) {
    r->stale++;
    r->lost++;
  }
}

typedef struct scan_ctx {
  const dmodel *m; /* the model */
  dres *r;         /* results */
  unsigned char **vals; /* WAL replay: per key, its value (NULL: absent) */
  size_t *vlens;   /* their lengths */
} scan_ctx;

static void scan_one(scan_ctx *s, const void *k, size_t kl, const void *v,
                     size_t vl) {
  long n = key_num(s->m, k, kl);
  if (n < 0) {
    s->r->ghost++;
    return;
  }
  if (classify(s->m, (uint32_t)n, v, vl) == 2) s->r->corrupt++;
}

static int bc_fold_fn(void *arg, const void *k, size_t kl, const void *v,
                      size_t vl) {
  scan_one(arg, k, kl, v, vl);
  return 0;
}

static int wal_op_fn(void *arg, uint64_t seq, int op, const void *k, size_t kl,
                     const void *v, size_t vl) {
  (void)seq;
  scan_ctx *s = arg;
  long n = key_num(s->m, k, kl);
  if (n < 0) {
    s->r->ghost++;
    return 0;
  }
  free(s->vals[n]);
  s->vals[n] = NULL;
  if (op == STRATA_OP_PUT) {
    s->vals[n] = malloc(vl ? vl : 1);
    memcpy(s->vals[n], v, vl);
    s->vlens[n] = vl;
  }
  return 0;
}

static void read_strata(const read_arg *a, dres *r) {
  const dmodel *m = a->m;
  char key[16];
  scan_ctx sc = {m, r, NULL, NULL};
  if (a->kind == KIND_WAL) {
    r->verify_rc = strata_wal_verify(a->work, count_wal_verify, r, NULL);
    strata_wal_options o;
    strata_wal_options_init(&o);
    o.recovery = (strata_recovery)a->conf.policy;
    o.on_damage = count_wal_damage;
    o.damage_arg = r;
    strata_wal *w;
    r->open_rc = strata_wal_open(a->work, &o, &w);
    if (r->open_rc) {
      for (uint32_t k = 0; k < m->nkeys; k++) judge(m, k, 0, NULL, 0, r);
      return;
    }
    sc.vals = calloc(m->nkeys, sizeof *sc.vals);
    sc.vlens = calloc(m->nkeys, sizeof *sc.vlens);
    int rc = strata_wal_replay(w, 0, wal_op_fn, &sc);
    for (uint32_t k = 0; k < m->nkeys; k++) {
      judge(m, k, rc ? -1 : sc.vals[k] != NULL, sc.vals[k], sc.vlens[k], r);
      free(sc.vals[k]);
    }
    free(sc.vals);
    free(sc.vlens);
    strata_wal_close(w);
    return;
  }
  if (a->kind == KIND_BC_DATA || a->kind == KIND_BC_HINT) {
    r->verify_rc = -1;
    strata_bitcask_options o;
    strata_bitcask_options_init(&o);
    o.recovery = (strata_recovery)a->conf.policy;
    o.create_if_missing = 0;
    o.background_merge = 0;
    o.on_damage = count_damage;
    o.damage_arg = r;
    strata_bitcask *db;
    r->open_rc = strata_bitcask_open(a->work, &o, &db);
    if (r->open_rc) {
      for (uint32_t k = 0; k < m->nkeys; k++) judge(m, k, 0, NULL, 0, r);
      return;
    }
    for (uint32_t k = 0; k < m->nkeys; k++) {
      key_of(k, key);
      void *v = NULL;
      size_t vl = 0;
      int rc = strata_bitcask_get(db, key, 7, &v, &vl);
      judge(m, k, rc == STRATA_OK ? 1 : rc == STRATA_NOT_FOUND ? 0 : -1, v, vl,
            r);
      free(v);
    }
    if (strata_bitcask_fold(db, bc_fold_fn, &sc)) r->errors++;
    strata_bitcask_close(db);
    return;
  }
  r->verify_rc = strata_db_verify(a->work, count_verify, r);
  strata_options o;
  lsm_opts(&o, a->kind);
  o.create_if_missing = 0;
  o.recovery = (strata_recovery)a->conf.policy;
  o.paranoid_checks = a->conf.paranoid;
  o.on_damage = count_damage;
  o.damage_arg = r;
  strata_db *db;
  r->open_rc = strata_db_open(a->work, &o, &db);
  if (r->open_rc) {
    for (uint32_t k = 0; k < m->nkeys; k++) judge(m, k, 0, NULL, 0, r);
    return;
  }
  for (uint32_t k = 0; k < m->nkeys; k++) {
    key_of(k, key);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_db_get(db, NULL, key, 7, &v, &vl);
    judge(m, k, rc == STRATA_OK ? 1 : rc == STRATA_NOT_FOUND ? 0 : -1, v, vl,
          r);
    free(v);
  }
  strata_iterator *it;
  if (!strata_db_iter_create(db, NULL, &it)) {
    for (strata_iter_seek_first(it); strata_iter_valid(it);
         strata_iter_next(it)) {
      size_t kl, vl;
      const void *k = strata_iter_key(it, &kl);
      const void *v = strata_iter_value(it, &vl);
      scan_one(&sc, k, kl, v, vl);
    }
    if (strata_iter_status(it)) r->errors++;
    strata_iter_destroy(it);
  }
  strata_db_close(db);
}

static void read_leveldb(const read_arg *a, dres *r) {
  const dmodel *m = a->m;
  scan_ctx sc = {m, r, NULL, NULL};
  r->verify_rc = -1;
  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_paranoid_checks(o, a->conf.paranoid);
  leveldb_options_set_compression(o, leveldb_no_compression);
  leveldb_options_set_write_buffer_size(
      o, a->kind == KIND_LSM_LOG ? (8u << 20) : (1u << 20));
  leveldb_readoptions_t *ro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(ro, a->conf.paranoid);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, a->work, &err);
  if (err || !db) {
    r->open_rc = STRATA_CORRUPTION;
    leveldb_free(err);
    for (uint32_t k = 0; k < m->nkeys; k++) judge(m, k, 0, NULL, 0, r);
  } else {
    char key[16];
    for (uint32_t k = 0; k < m->nkeys; k++) {
      key_of(k, key);
      size_t vl = 0;
      char *e2 = NULL;
      char *v = leveldb_get(db, ro, key, 7, &vl, &e2);
      judge(m, k, e2 ? -1 : v != NULL, v, vl, r);
      if (e2) leveldb_free(e2);
      if (v) leveldb_free(v);
    }
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
      size_t kl, vl;
      const char *k = leveldb_iter_key(it, &kl);
      const char *v = leveldb_iter_value(it, &vl);
      scan_one(&sc, k, kl, v, vl);
    }
    char *e3 = NULL;
    leveldb_iter_get_error(it, &e3);
    if (e3) {
      r->errors++;
      leveldb_free(e3);
    }
    leveldb_iter_destroy(it);
    leveldb_close(db);
  }
  leveldb_readoptions_destroy(ro);
  leveldb_options_destroy(o);
}

static void read_child(void *arg, int fd) {
  const read_arg *a = arg;
  dres r;
  memset(&r, 0, sizeof r);
  r.verify_rc = -1;
  if (t_copy_dir(a->src, a->work)) {
    r.open_rc = -100;
  } else if (a->conf.engine == ENG_LEVELDB) {
    read_leveldb(a, &r);
  } else {
    read_strata(a, &r);
  }
  t_write_all(fd, &r, sizeof r);
}

/* ---- the campaign -------------------------------------------------------- */

static int gen_pristine(const dmodel *m, int kind, int engine,
                        const char *dir) {
  gen_arg g = {m, kind, engine, dir};
  int rc = -1;
  size_t got;
  t_remove_tree(dir);
  if (t_run_child(gen_child, &g, 120, &rc, sizeof rc, &got) != CHILD_OK ||
      got != sizeof rc)
    return -1;
  return rc;
}

int damage_campaign(const torture_opts *to, dstats *st) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s/damage", to->tmp);
  t_remove_tree(tmp);
  mkdir(tmp, 0755);
  memset(st, 0, sizeof *st);
  double start = t_now();
  int ok = 1;
  for (int kind = 0; kind < KIND_COUNT; kind++) {
    if (to->only_kind >= 0 && kind != to->only_kind) continue;
    dconf confs[MAX_CONFS];
    int nconf = kind_confs(kind, confs);
    st->kinds[kind].nconf = nconf;
    for (int c = 0; c < nconf; c++)
      snprintf(st->kinds[kind].conf[c].name,
               sizeof st->kinds[kind].conf[c].name, "%s", confs[c].name);
    dmodel m;
    size_t nops = kind == KIND_MANIFEST ? 400 : 600;
    model_build(&m, kind, to->seed + (uint64_t)kind, nops, tmp);
    /* Pristine databases, their target files and record extents. */
    char pdir[2][4096], target[2][4096];
    unsigned char *pbuf[2] = {NULL, NULL};
    size_t plen[2] = {0, 0}, pne[2] = {0, 0};
    extent *pe[2] = {NULL, NULL};
    int engines = (kind == KIND_LSM_LOG || kind == KIND_MANIFEST ||
                   kind == KIND_TABLE)
                      ? 2
                      : 1;
    for (int en = 0; en < engines; en++) {
      snprintf(pdir[en], sizeof pdir[en], "%s/pristine-%d", tmp, en);
      if (gen_pristine(&m, kind, en, pdir[en]) ||
          target_file(kind, pdir[en], target[en], sizeof target[en]) ||
          !(pbuf[en] = t_read_file(target[en], &plen[en]))) {
        fprintf(stderr, "torture: %s: cannot write the %s database\n",
                kind_names[kind], en ? "leveldb" : "strata");
        ok = 0;
        engines = en;
        break;
      }
      pe[en] = locate(&m, kind, pbuf[en], plen[en], &pne[en]);
    }
    double kind_budget =
        to->seconds > 0 ? to->seconds / (double)KIND_COUNT : 1e18;
    double kstart = t_now();
    for (uint32_t t = 0; engines && t < to->trials; t++) {
      if (t_now() - kstart > kind_budget && t >= FAULT_COUNT) break;
      int type = (int)(t % FAULT_COUNT);
      for (int en = 0; en < engines; en++) {
        trng r;
        trng_seed(&r, to->seed * 1000003u + (uint64_t)kind * 7919u + t);
        size_t len = plen[en];
        unsigned char *buf = malloc(len + 1);
        memcpy(buf, pbuf[en], len);
        fault f = {0, 0, 0};
        int changed =
            apply_fault(&r, type, kind, buf, &len, pe[en], pne[en], &m, &f);
        /* the damaged copy */
        char ddir[4096], dpath[4096];
        snprintf(ddir, sizeof ddir, "%s/damaged-%d", tmp, en);
        t_remove_tree(ddir);
        t_copy_dir(pdir[en], ddir);
        snprintf(dpath, sizeof dpath, "%s/%s", ddir,
                 strrchr(target[en], '/') + 1);
        t_write_file(dpath, buf, len);
        free(buf);
        /* records physically overlapping the damage */
        uint32_t overlap = 0;
        for (size_t i = 0; i < pne[en]; i++) {
          const extent *x = &pe[en][i];
          if (m.last[m.ops[x->op].key] != x->op) continue;
          if (x->lo < f.hi && f.lo < x->hi) overlap++;
        }
        for (int c = 0; c < nconf; c++) {
          if (confs[c].engine != en) continue;
          cstats *cs = &st->kinds[kind].conf[c].by_fault[type];
          if (!changed) {
            cs->noop++;
            continue;
          }
          char work[4096];
          snprintf(work, sizeof work, "%s/work", tmp);
          t_remove_tree(work);
          read_arg ra = {&m, kind, confs[c], ddir, work};
          dres res;
          size_t got;
          int out = t_run_child(read_child, &ra, to->timeout, &res, sizeof res,
                                &got);
          cs->trials++;
          st->total_trials++;
          if (out != CHILD_OK || got != sizeof res) {
            if (out == CHILD_HANG)
              cs->hangs++;
            else
              cs->crashes++;
            fprintf(stderr,
                    "torture: %s/%s/%s seed %" PRIu64 " trial %u: %s\n",
                    kind_names[kind], confs[c].name, fault_names[type],
                    to->seed, t, out == CHILD_HANG ? "hang" : "crash");
            continue;
          }
          if (res.open_rc) cs->open_failed++;
          cs->lost += res.lost;
          cs->overlap += overlap;
          if (overlap) {
            cs->lost_ov += res.lost;
            cs->overlap_trials++;
          } else {
            cs->lost_no_ov += res.lost;
          }
          cs->stale += res.stale;
          uint32_t silent = res.corrupt + res.ghost;
          if (silent) {
            cs->silent_trials++;
            cs->silent += silent;
            if (to->verbose || cs->silent_trials <= 2)
              fprintf(stderr,
                      "torture: SILENT CORRUPTION %s/%s/%s seed %" PRIu64
                      " trial %u: %u wrong values, %u ghost keys\n",
                      kind_names[kind], confs[c].name, fault_names[type],
                      to->seed, t, res.corrupt, res.ghost);
          }
          int detected = res.open_rc || res.errors || res.damage_calls ||
                         (res.verify_rc > 0);
          if (detected) cs->detected++;
          if (res.verify_rc >= 0) {
            cs->verify_run++;
            if (res.verify_rc || res.verify_regions) cs->verify_detected++;
          }
          if (res.lost && !detected) cs->silent_loss_trials++;
        }
      }
    }
    for (int en = 0; en < 2; en++) {
      free(pbuf[en]);
      free(pe[en]);
    }
    model_free(&m);
  }
  st->seconds = t_now() - start;
  if (!to->keep) t_remove_tree(tmp);
  return ok ? 0 : -1;
}
