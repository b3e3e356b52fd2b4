/*
 * leveldb_log_test.c — strata's record log and write batches against real
 * LevelDB 1.23, driven through its C API. LevelDB's files are generated at test
 * time (no binary fixtures are committed).
 *
 *  - leveldb_log_read_*: LevelDB writes a known workload of batches (single
 *    puts, multi-op batches, deletes, an empty batch, empty values, binary
 *    keys, values up to 100000 bytes, records that end exactly 7, 6, 1 and 0
 *    bytes before a block boundary, and hundreds of small batches crossing
 *    many 32 KiB blocks). strata reads its .log under every policy and decodes
 *    every batch; every sequence number, op, key and value must match, and
 *    every record's position must match the format's layout arithmetic.
 *  - leveldb_log_write_identical: strata's writer, fed the same payloads,
 *    produces LevelDB's .log byte for byte (also when reopened mid-block), and
 *    strata_batch_* encodes every batch as LevelDB did.
 *  - leveldb_log_zero_length_first: the smallest log with a header-only FIRST.
 *  - leveldb_opens_strata_log: LevelDB recovers a log written by strata.
 *  - leveldb_log_damage_*: one flipped byte in LevelDB's log (in a header
 *    field, in each kind of fragment, in a record whose value holds an encoded
 *    log) costs exactly the damaged batch under `skip`, and each of the other
 *    policies behaves as SPEC §2 says.
 *
 * LevelDB 1.23 does not flush its memtable at close (DBImpl's destructor only
 * waits for background work), so with a 64 MiB write buffer the whole
 * workload stays in the .log; write_leveldb_log() nevertheless snapshots the
 * file while the database is open and checks that close left it unchanged.
 *
 * (Longer than most files: every case shares one workload model, the format's
 * layout arithmetic and the read/compare helpers, which belong together.)
 */
#include "test.h"

#include "strata.h"
#include "util/crc32c.h"

#include <leveldb/c.h>

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

enum { BLOCK = 32768, HEADER = 7 };

/* ---- the workload: a list of batches and where LevelDB puts them -------- */

typedef struct wop {
  int type;     /* STRATA_OP_PUT or STRATA_OP_DELETE */
  uint8_t *key; /* owned */
  size_t klen;  /* key bytes */
  uint8_t *val; /* owned; NULL for deletes */
  size_t vlen;  /* value bytes */
} wop;

typedef struct wbatch {
  wop *ops;           /* owned array */
  size_t nops;        /* ops in the batch */
  size_t cap;         /* allocated ops */
  uint64_t seq;       /* LevelDB's sequence number of the batch's first op */
  size_t payload;     /* encoded batch bytes = log record payload */
  uint64_t offset;    /* expected file offset of its first fragment header */
  uint64_t end;       /* expected file offset just past its last fragment */
  uint32_t fragments; /* expected number of fragments */
} wbatch;

typedef struct workload {
  wbatch *b;         /* owned array of batches */
  size_t n;          /* batches */
  size_t cap;        /* allocated batches */
  uint64_t next_seq; /* sequence of the next batch (LevelDB starts at 1) */
  uint64_t log_end;  /* expected log size so far */
} workload;

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) abort();
  return p;
}

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 128) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Deterministic bytes for a value: a function of (seed, index). */
static void fill_bytes(uint8_t *p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p[i] = (uint8_t)((x * 2685821657736338717ull) >> 56);
  }
}

/* Layout arithmetic of the log format: appends a record of `n` payload bytes
 * at file offset `off`; returns the offset after it and stores where its first
 * header starts and how many fragments it takes. */
static uint64_t layout_record(uint64_t off, size_t n, uint64_t *start,
                              uint32_t *frags) {
  int first = 1;
  *frags = 0;
  do {
    uint64_t left = BLOCK - off % BLOCK;
    if (left < HEADER) off += left; /* zero trailer */
    left = BLOCK - off % BLOCK;
    if (first) *start = off;
    size_t avail = (size_t)left - HEADER;
    size_t frag = n < avail ? n : avail;
    off += HEADER + frag;
    n -= frag;
    (*frags)++;
    first = 0;
  } while (n > 0);
  return off;
}

static wbatch *wl_begin(workload *w) {
  if (w->n == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 64;
    w->b = xrealloc(w->b, w->cap * sizeof *w->b);
  }
  wbatch *b = &w->b[w->n++];
  memset(b, 0, sizeof *b);
  b->payload = 12; /* sequence (8) + count (4) */
  return b;
}

static wop *wl_op(wbatch *b, int type, const void *key, size_t klen) {
  if (b->nops == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 4;
    b->ops = xrealloc(b->ops, b->cap * sizeof *b->ops);
  }
  wop *o = &b->ops[b->nops++];
  o->type = type;
  o->key = xmalloc(klen);
  if (klen) memcpy(o->key, key, klen);
  o->klen = klen;
  o->val = NULL;
  o->vlen = 0;
  b->payload += 1 + varint_len(klen) + klen;
  return o;
}

static void wl_put(wbatch *b, const char *key, size_t klen, size_t vlen,
                   uint64_t seed) {
  wop *o = wl_op(b, STRATA_OP_PUT, key, klen);
  o->val = xmalloc(vlen);
  fill_bytes(o->val, vlen, seed);
  o->vlen = vlen;
  b->payload += varint_len(vlen) + vlen;
}

static void wl_put_str(wbatch *b, const char *key, const char *val) {
  wop *o = wl_op(b, STRATA_OP_PUT, key, strlen(key));
  o->vlen = strlen(val);
  o->val = xmalloc(o->vlen);
  memcpy(o->val, val, o->vlen);
  b->payload += varint_len(o->vlen) + o->vlen;
}

static void wl_del(wbatch *b, const char *key, size_t klen) {
  wl_op(b, STRATA_OP_DELETE, key, klen);
}

/* Closes the batch begun last: assigns its sequence and its layout. */
static void wl_end(workload *w) {
  wbatch *b = &w->b[w->n - 1];
  b->seq = w->next_seq;
  w->next_seq += b->nops;
  w->log_end = layout_record(w->log_end, b->payload, &b->offset, &b->fragments);
  b->end = w->log_end;
}

/* Appends a one-put batch whose record ends exactly `rest` bytes before a
 * block boundary (0: exactly at one). */
static void wl_fill_to(workload *w, unsigned rest, uint64_t seed) {
  char key[32];
  int klen =
      snprintf(key, sizeof key, "fill-%u-%llu", rest, (unsigned long long)seed);
  for (size_t vlen = 0; vlen < 3 * BLOCK; vlen++) {
    size_t n = 12 + 1 + varint_len((size_t)klen) + (size_t)klen +
               varint_len(vlen) + vlen;
    uint64_t start;
    uint32_t frags;
    uint64_t end = layout_record(w->log_end, n, &start, &frags);
    if ((BLOCK - end % BLOCK) % BLOCK == rest) {
      wbatch *b = wl_begin(w);
      wl_put(b, key, (size_t)klen, vlen, seed);
      wl_end(w);
      return;
    }
  }
  abort(); /* unreachable: every residue is reachable within 3 blocks */
}

static void wl_free(workload *w) {
  for (size_t i = 0; i < w->n; i++) {
    for (size_t j = 0; j < w->b[i].nops; j++) {
      free(w->b[i].ops[j].key);
      free(w->b[i].ops[j].val);
    }
    free(w->b[i].ops);
  }
  free(w->b);
  memset(w, 0, sizeof *w);
}

/* The workload every test uses. */
static void wl_build(workload *w) {
  memset(w, 0, sizeof *w);
  w->next_seq = 1;
  wbatch *b;

  b = wl_begin(w); /* a single put */
  wl_put_str(b, "alpha", "one");
  wl_end(w);

  b = wl_begin(w); /* puts and deletes, an empty value */
  wl_put_str(b, "beta", "two");
  wl_del(b, "alpha", 5);
  wl_put_str(b, "empty", "");
  wl_put_str(b, "gamma", "three");
  wl_del(b, "never-written", 13);
  wl_end(w);

  wl_begin(w); /* an empty batch: LevelDB logs it (count 0) */
  wl_end(w);

  b = wl_begin(w); /* binary keys */
  wl_put(b, "\x00key\xff", 5, 10, 1);
  wl_put(b, "\xff\xff\xff", 3, 0, 2);
  wl_put(b, "\x00", 1, 1, 3);
  wl_del(b, "\xff\x00", 2);
  wl_put(b, "", 0, 7, 4); /* the empty key */
  wl_end(w);

  /* A value that holds an encoded log: five records that are themselves
   * batches. Damage around it must not make the reader take them for real
   * records. */
  uint8_t inner[1024];
  size_t inner_n = 0;
  for (int i = 0; i < 5; i++) {
    uint8_t rec[64];
    size_t n = 12 + 1 + 1 + 2 + 1 + (size_t)(10 + i);
    memset(rec, 0, sizeof rec);
    rec[0] = (uint8_t)(1000 + i); /* sequence 1000 + i, fixed64 LE */
    rec[1] = (uint8_t)((1000 + i) >> 8);
    rec[8] = 1; /* count */
    rec[12] = STRATA_OP_PUT;
    rec[13] = 2;
    rec[14] = 'x';
    rec[15] = (uint8_t)('0' + i);
    rec[16] = (uint8_t)(10 + i);
    fill_bytes(rec + 17, (size_t)(10 + i), 500 + (uint64_t)i);
    uint8_t *h = inner + inner_n;
    h[6] = 1; /* FULL */
    uint32_t crc = crc32c_mask(crc32c_extend(crc32c_value(h + 6, 1), rec, n));
    for (int k = 0; k < 4; k++)
      h[k] = (uint8_t)(crc >> (8 * k));
    h[4] = (uint8_t)n;
    h[5] = 0;
    memcpy(h + HEADER, rec, n);
    inner_n += HEADER + n;
  }
  b = wl_begin(w);
  {
    wop *o = wl_op(b, STRATA_OP_PUT, "nested-log", 10);
    o->val = xmalloc(inner_n);
    memcpy(o->val, inner, inner_n);
    o->vlen = inner_n;
    b->payload += varint_len(inner_n) + inner_n;
  }
  wl_end(w);

  static const size_t sizes[] = {0, 1, 100, 1000, 32760, 40000, 100000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char key[32];
    int klen = snprintf(key, sizeof key, "size-%zu", sizes[i]);
    b = wl_begin(w);
    wl_put(b, key, (size_t)klen, sizes[i], 100 + i);
    wl_end(w);
  }

  b = wl_begin(w); /* several large values in one batch */
  wl_put(b, "multi-a", 7, 40000, 200);
  wl_del(b, "size-1", 6);
  wl_put(b, "multi-b", 7, 70000, 201);
  wl_put(b, "multi-c", 7, 5, 202);
  wl_end(w);

  /* Block-boundary cases: a record ending 7 bytes before the boundary (the
   * next record starts with a zero-length FIRST there), 6 and 1 bytes (a zero
   * trailer), and exactly at it. */
  static const unsigned rests[] = {7, 6, 1, 0, 7, 3};
  for (size_t i = 0; i < sizeof rests / sizeof rests[0]; i++) {
    wl_fill_to(w, rests[i], 300 + i);
    b = wl_begin(w);
    if (i % 2) {
      wl_put(b, "after-fill", 10, 50 + i, 400 + i);
    } else {
      wl_put(b, "after-fill", 10, 40000 + i, 400 + i); /* spans blocks */
    }
    wl_end(w);
  }

  /* Many small batches over a key space of 150 keys, crossing many blocks. */
  uint64_t x = 12345;
  for (int i = 0; i < 600; i++) {
    b = wl_begin(w);
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    int nops = 1 + (int)((x >> 33) % 4);
    for (int j = 0; j < nops; j++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      char key[32];
      int klen =
          snprintf(key, sizeof key, "k%05u", (unsigned)((x >> 20) % 150));
      if ((x >> 40) % 5 == 0) {
        wl_del(b, key, (size_t)klen);
      } else {
        wl_put(b, key, (size_t)klen, (size_t)((x >> 45) % 600),
               1000 + (uint64_t)i * 8 + (uint64_t)j);
      }
    }
    wl_end(w);
  }
}

/* ---- files -------------------------------------------------------------- */

static uint8_t *read_whole(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  *size = 0;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = xmalloc(n > 0 ? (size_t)n : 1);
  if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return p;
}

static int write_whole(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(p, 1, n, f) == n;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* The highest-numbered NNNNNN.log of a directory, into `out`. */
static int find_log(const char *dir, char *out, size_t outsz) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  unsigned long long best = 0;
  int found = 0;
  while ((e = readdir(d))) {
    unsigned long long num;
    char tail[8];
    if (sscanf(e->d_name, "%llu.%7s", &num, tail) == 2 &&
        strcmp(tail, "log") == 0 && (!found || num > best)) {
      best = num;
      found = 1;
    }
  }
  closedir(d);
  if (!found) return -1;
  snprintf(out, outsz, "%s/%06llu.log", dir, best);
  return 0;
}

/* Fails the case if LevelDB reported an error; frees and clears it. */
#define LDB_OK(err, what)                                                      \
  do {                                                                         \
    CHECK_MSG(!(err), "%s: %s", (what), (err) ? (err) : "");                   \
    leveldb_free(err);                                                         \
    (err) = NULL;                                                              \
  } while (0)

static leveldb_options_t *ldb_options(int paranoid) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_write_buffer_size(o, 64u << 20);
  leveldb_options_set_paranoid_checks(o, (uint8_t)paranoid);
  leveldb_options_set_info_log(o, NULL);
  return o;
}

/* Has LevelDB write the workload into a fresh database `dir`; stores the
 * path of its .log in `log`. Returns 0 on success. */
static int write_leveldb_log(const workload *w, const char *dir, char *log,
                             size_t logsz) {
  leveldb_options_t *o = ldb_options(0);
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  CHECK_MSG(db && !err, "leveldb_open(%s): %s", dir, err ? err : "?");
  if (!db) {
    leveldb_free(err);
    leveldb_writeoptions_destroy(wo);
    leveldb_options_destroy(o);
    return -1;
  }
  leveldb_writebatch_t *wb = leveldb_writebatch_create();
  for (size_t i = 0; i < w->n && !err; i++) {
    leveldb_writebatch_clear(wb);
    for (size_t j = 0; j < w->b[i].nops; j++) {
      const wop *op = &w->b[i].ops[j];
      if (op->type == STRATA_OP_PUT) {
        leveldb_writebatch_put(wb, (const char *)op->key, op->klen,
                               (const char *)op->val, op->vlen);
      } else {
        leveldb_writebatch_delete(wb, (const char *)op->key, op->klen);
      }
    }
    leveldb_write(db, wo, wb, &err);
  }
  LDB_OK(err, "leveldb_write");
  leveldb_writebatch_destroy(wb);

  int rc = find_log(dir, log, logsz);
  CHECK_MSG(rc == 0, "no .log in %s", dir);
  size_t before_n = 0, after_n = 0;
  uint8_t *before = rc == 0 ? read_whole(log, &before_n) : NULL;
  leveldb_close(db);
  uint8_t *after = rc == 0 ? read_whole(log, &after_n) : NULL;
  CHECK(before && after);
  if (before && after) {
    CHECK_MEM(before, before_n, after, after_n); /* close left the log alone */
    CHECK_U64(after_n, w->log_end);              /* and it holds everything */
  }
  if (after && after_n != before_n) {
    /* Should close ever rewrite the log, test the snapshot taken before. */
    write_whole(log, before, before_n);
  }
  free(before);
  free(after);
  leveldb_writeoptions_destroy(wo);
  leveldb_options_destroy(o);
  return rc;
}

/* ---- reading with strata ------------------------------------------------ */

enum { MAX_DROPS = 16 };

typedef struct drops {
  size_t n;                   /* drops reported (may exceed MAX_DROPS) */
  strata_damage d[MAX_DROPS]; /* the first MAX_DROPS (strings cleared) */
  size_t at[MAX_DROPS];       /* records returned before each report */
  size_t returned;            /* records returned so far (kept by caller) */
} drops;

static void on_damage(void *arg, const strata_damage *d) {
  drops *ds = arg;
  if (ds->n < MAX_DROPS) {
    ds->d[ds->n] = *d;
    ds->d[ds->n].file = NULL;
    ds->d[ds->n].reason = NULL;
    ds->at[ds->n] = ds->returned;
  }
  ds->n++;
}

typedef struct rec {
  uint8_t *data;               /* owned copy of the record */
  size_t size;                 /* bytes */
  strata_log_record_info info; /* where it was */
} rec;

typedef struct readout {
  rec *r;     /* records in order */
  size_t n;   /* records */
  int status; /* the status that ended the read */
  drops ds;   /* damage reports */
} readout;

static void read_log(const char *path, strata_recovery policy, readout *out) {
  memset(out, 0, sizeof *out);
  strata_log_reader *r = NULL;
  int rc = strata_log_reader_open(path, policy, on_damage, &out->ds, &r);
  CHECK_MSG(rc == STRATA_OK, "strata_log_reader_open(%s): %s", path,
            strata_last_error());
  if (rc != STRATA_OK) {
    out->status = rc;
    return;
  }
  size_t cap = 0;
  for (;;) {
    const void *data;
    size_t size;
    strata_log_record_info info;
    rc = strata_log_reader_next(r, &data, &size, &info);
    if (rc != STRATA_OK) break;
    if (out->n == cap) {
      cap = cap ? 2 * cap : 256;
      out->r = xrealloc(out->r, cap * sizeof *out->r);
    }
    rec *x = &out->r[out->n++];
    x->data = xmalloc(size);
    if (size) memcpy(x->data, data, size);
    x->size = size;
    x->info = info;
    out->ds.returned = out->n;
  }
  out->status = rc;
  /* After a non-OK status, every later call returns the same status. */
  const void *data;
  size_t size;
  CHECK_EQ(strata_log_reader_next(r, &data, &size, NULL), rc);
  strata_log_reader_close(r);
}

static void readout_free(readout *o) {
  for (size_t i = 0; i < o->n; i++)
    free(o->r[i].data);
  free(o->r);
  memset(o, 0, sizeof *o);
}

typedef struct cmp_ctx {
  const wbatch *b; /* the expected batch */
  size_t i;        /* ops compared so far */
  int bad;         /* a mismatch was seen */
} cmp_ctx;

static int cmp_op(void *arg, int op, const void *key, size_t klen,
                  const void *val, size_t vlen) {
  cmp_ctx *c = arg;
  if (c->i >= c->b->nops) {
    c->bad = 1;
    return 0;
  }
  const wop *e = &c->b->ops[c->i++];
  if (op != e->type || klen != e->klen ||
      (klen && memcmp(key, e->key, klen) != 0))
    c->bad = 1;
  if (op == STRATA_OP_PUT &&
      (vlen != e->vlen || (vlen && (!val || memcmp(val, e->val, vlen) != 0))))
    c->bad = 1;
  if (op == STRATA_OP_DELETE && (val != NULL || vlen != 0)) c->bad = 1;
  return 0;
}

/* Decodes record `x` and compares it with batch `b`; 1 if they match. */
static int batch_matches(const rec *x, const wbatch *b) {
  uint64_t seq = 0;
  uint32_t count = 0;
  cmp_ctx c = {b, 0, 0};
  int rc = strata_batch_decode(x->data, x->size, &seq, &count, cmp_op, &c);
  return rc == STRATA_OK && !c.bad && c.i == b->nops && seq == b->seq &&
         count == b->nops && x->size == b->payload;
}

/* Checks that `o` returned exactly the workload's batches at their places. */
static void check_all_batches(const readout *o, const workload *w,
                              const char *what) {
  CHECK_MSG(o->n == w->n, "%s: %zu records, expected %zu", what, o->n, w->n);
  size_t bad = 0;
  for (size_t i = 0; i < o->n && i < w->n; i++) {
    const rec *x = &o->r[i];
    const wbatch *b = &w->b[i];
    if (!batch_matches(x, b) || x->info.offset != b->offset ||
        x->info.end != b->end || x->info.fragments != b->fragments) {
      if (bad++ < 5)
        test_fail(__FILE__, __LINE__,
                  "%s: record %zu differs (offset %llu/%llu end %llu/%llu "
                  "fragments %u/%u size %zu/%zu)",
                  what, i, (unsigned long long)x->info.offset,
                  (unsigned long long)b->offset,
                  (unsigned long long)x->info.end, (unsigned long long)b->end,
                  x->info.fragments, b->fragments, x->size, b->payload);
    }
  }
}

/* Builds batch `wb` with strata_batch_* into `b`; returns its encoding. */
static const void *strata_encode(strata_batch *b, const wbatch *wb,
                                 size_t *size) {
  strata_batch_clear(b);
  for (size_t j = 0; j < wb->nops; j++) {
    const wop *op = &wb->ops[j];
    if (op->type == STRATA_OP_PUT)
      CHECK_EQ(strata_batch_put(b, op->key, op->klen, op->val, op->vlen),
               STRATA_OK);
    else
      CHECK_EQ(strata_batch_delete(b, op->key, op->klen), STRATA_OK);
  }
  strata_batch_set_sequence(b, wb->seq);
  return strata_batch_data(b, size);
}

static const strata_recovery all_policies[] = {
    STRATA_RECOVERY_ABSOLUTE, STRATA_RECOVERY_TOLERATE_TAIL,
    STRATA_RECOVERY_POINT_IN_TIME, STRATA_RECOVERY_SKIP};

/* ---- (a) strata reads LevelDB's log -------------------------------------- */

TEST(leveldb_log_read_all_policies) {
  workload w;
  wl_build(&w);
  char log[4096];
  if (write_leveldb_log(&w, test_path("ldb"), log, sizeof log) != 0) {
    wl_free(&w);
    return;
  }
  /* The workload must exercise what it claims to. */
  CHECK(w.log_end > 8 * BLOCK);
  int saw_zero_first = 0, saw_trailer = 0, saw_many = 0;
  for (size_t i = 0; i < w.n; i++) {
    if (w.b[i].offset % BLOCK == BLOCK - HEADER && w.b[i].fragments > 1)
      saw_zero_first = 1;
    if (i > 0 && w.b[i].offset != w.b[i - 1].end) saw_trailer = 1;
    if (w.b[i].fragments >= 4) saw_many = 1;
  }
  CHECK(saw_zero_first && saw_trailer && saw_many);

  for (size_t p = 0; p < 4; p++) {
    readout o;
    read_log(log, all_policies[p], &o);
    const char *name = strata_recovery_name(all_policies[p]);
    CHECK_MSG(o.status == STRATA_END, "%s: status %s (%s)", name,
              strata_strerror(o.status), strata_last_error());
    CHECK_MSG(o.ds.n == 0, "%s: %zu drops reported on a clean log", name,
              o.ds.n);
    check_all_batches(&o, &w, name);
    readout_free(&o);
  }
  wl_free(&w);
}

/* ---- (b) strata writes LevelDB's log, byte for byte ---------------------- */

TEST(leveldb_log_write_identical) {
  workload w;
  wl_build(&w);
  char log[4096];
  if (write_leveldb_log(&w, test_path("ldb"), log, sizeof log) != 0) {
    wl_free(&w);
    return;
  }
  size_t ldb_n;
  uint8_t *ldb = read_whole(log, &ldb_n);
  readout o;
  read_log(log, STRATA_RECOVERY_ABSOLUTE, &o);
  CHECK_EQ(o.n, w.n);

  /* In one go, and in two sessions split at a record that ends mid-block (the
   * reopened writer must continue in the current block). */
  size_t split = o.n / 2;
  while (split < o.n && o.r[split - 1].info.end % BLOCK == 0)
    split++;
  for (int pass = 0; pass < 2; pass++) {
    const char *path = test_path(pass ? "strata-split.log" : "strata.log");
    char pathcopy[4096];
    snprintf(pathcopy, sizeof pathcopy, "%s", path);
    strata_log_writer *wr = NULL;
    int rc = strata_log_writer_open(pathcopy, &wr);
    CHECK_MSG(rc == STRATA_OK, "writer_open: %s", strata_last_error());
    if (rc != STRATA_OK) break;
    for (size_t i = 0; i < o.n; i++) {
      if (pass == 1 && i == split) {
        CHECK_EQ(strata_log_writer_close(wr), STRATA_OK);
        wr = NULL;
        rc = strata_log_writer_open(pathcopy, &wr);
        CHECK_MSG(rc == STRATA_OK, "writer reopen: %s", strata_last_error());
        if (rc != STRATA_OK) break;
        CHECK_U64(strata_log_writer_size(wr), o.r[i - 1].info.end);
      }
      rc = strata_log_writer_add(wr, o.r[i].data, o.r[i].size);
      CHECK_EQ(rc, STRATA_OK);
      CHECK_U64(strata_log_writer_size(wr), o.r[i].info.end);
    }
    if (wr) CHECK_EQ(strata_log_writer_close(wr), STRATA_OK);
    size_t mine_n;
    uint8_t *mine = read_whole(pathcopy, &mine_n);
    CHECK(mine != NULL);
    if (mine) {
      size_t diff = 0;
      while (diff < mine_n && diff < ldb_n && mine[diff] == ldb[diff])
        diff++;
      CHECK_MSG(mine_n == ldb_n && diff == ldb_n,
                "pass %d: strata's log (%zu bytes) differs from LevelDB's "
                "(%zu bytes) first at offset %zu",
                pass, mine_n, ldb_n, diff);
    }
    free(mine);
  }

  /* strata's batch encoding is LevelDB's too. */
  strata_batch *b = strata_batch_create();
  CHECK(b != NULL);
  size_t bad = 0;
  for (size_t i = 0; b && i < w.n && i < o.n; i++) {
    size_t n = 0;
    const void *data = strata_encode(b, &w.b[i], &n);
    CHECK_U64(strata_batch_sequence(b), w.b[i].seq);
    CHECK_EQ(strata_batch_count(b), w.b[i].nops);
    if (n != o.r[i].size || memcmp(data, o.r[i].data, n) != 0) {
      if (bad++ < 5)
        test_fail(__FILE__, __LINE__,
                  "batch %zu: strata's encoding (%zu bytes) differs from "
                  "LevelDB's (%zu bytes)",
                  i, n, o.r[i].size);
    }
  }
  strata_batch_destroy(b);
  readout_free(&o);
  free(ldb);
  wl_free(&w);
}

/* The smallest log in which LevelDB writes a header-only FIRST fragment (7
 * bytes left in the block) before the reader has seen any other fragmented
 * record: the reader assembles a record starting from zero bytes. */
TEST(leveldb_log_zero_length_first) {
  workload w;
  memset(&w, 0, sizeof w);
  w.next_seq = 1;
  wl_fill_to(&w, 7, 1);
  wbatch *b = wl_begin(&w);
  wl_put_str(b, "next", "value");
  wl_end(&w);
  CHECK_EQ(w.b[1].fragments, 2);
  CHECK_U64(w.b[1].offset, BLOCK - HEADER);
  char log[4096];
  if (write_leveldb_log(&w, test_path("ldb"), log, sizeof log) != 0) {
    wl_free(&w);
    return;
  }
  for (size_t p = 0; p < 4; p++) {
    readout o;
    read_log(log, all_policies[p], &o);
    CHECK_EQ(o.status, STRATA_END);
    CHECK_EQ(o.ds.n, 0);
    check_all_batches(&o, &w, strata_recovery_name(all_policies[p]));
    readout_free(&o);
  }
  wl_free(&w);
}

/* ---- (c) LevelDB reads strata's log -------------------------------------- */

static int ignore_op(void *arg, int op, const void *key, size_t klen,
                     const void *val, size_t vlen) {
  (void)arg, (void)op, (void)key, (void)klen, (void)val, (void)vlen;
  return 0;
}

/* The value of `key` after the whole workload: 1 and its value if present. */
static int final_value(const workload *w, const uint8_t *key, size_t klen,
                       const uint8_t **val, size_t *vlen) {
  for (size_t i = w->n; i-- > 0;) {
    for (size_t j = w->b[i].nops; j-- > 0;) {
      const wop *op = &w->b[i].ops[j];
      if (op->klen == klen && (klen == 0 || memcmp(op->key, key, klen) == 0)) {
        *val = op->val;
        *vlen = op->vlen;
        return op->type == STRATA_OP_PUT;
      }
    }
  }
  return 0;
}

/*
 * What LevelDB needs to accept a foreign log (from impl.md "Recovery" and
 * experiment): on open it replays every NNNNNN.log whose number is >= the
 * MANIFEST's log number (or equal to its prev-log number). A freshly created
 * 1.23 database holds MANIFEST-000002 (log number 3) and an empty 000003.log,
 * so replacing the content of the highest-numbered .log is enough. LevelDB
 * takes the batches' sequence numbers as they are (last sequence = the
 * highest seq + count - 1), writes the replayed memtable to a level-0 table
 * and starts a new log numbered after it; with paranoid_checks any checksum
 * or framing error in the log fails the open.
 */
TEST(leveldb_opens_strata_log) {
  workload w;
  wl_build(&w);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("ldb"));
  leveldb_options_t *o = ldb_options(1);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  LDB_OK(err, "leveldb_open");
  if (db) leveldb_close(db);
  char log[4096];
  CHECK_EQ(find_log(dir, log, sizeof log), 0);

  /* Replace the empty log with strata's. */
  strata_log_writer *wr = NULL;
  CHECK_EQ(remove(log), 0);
  int rc = strata_log_writer_open(log, &wr);
  CHECK_MSG(rc == STRATA_OK, "writer_open: %s", strata_last_error());
  strata_batch *b = strata_batch_create();
  for (size_t i = 0; rc == STRATA_OK && b && i < w.n; i++) {
    size_t n = 0;
    const void *data = strata_encode(b, &w.b[i], &n);
    CHECK_EQ(strata_log_writer_add(wr, data, n), STRATA_OK);
  }
  strata_batch_destroy(b);
  if (wr) CHECK_EQ(strata_log_writer_close(wr), STRATA_OK);

  db = leveldb_open(o, dir, &err);
  LDB_OK(err, "leveldb_open of strata's log");
  if (!db) {
    leveldb_options_destroy(o);
    wl_free(&w);
    return;
  }

  leveldb_readoptions_t *ro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(ro, 1);
  size_t live = 0, wrong = 0;
  for (size_t i = 0; i < w.n; i++) {
    for (size_t j = 0; j < w.b[i].nops; j++) {
      const wop *op = &w.b[i].ops[j];
      const uint8_t *want;
      size_t want_n, got_n = 0;
      int present = final_value(&w, op->key, op->klen, &want, &want_n);
      char *got =
          leveldb_get(db, ro, (const char *)op->key, op->klen, &got_n, &err);
      LDB_OK(err, "leveldb_get");
      if (present != (got != NULL) ||
          (got && (got_n != want_n || memcmp(got, want, got_n) != 0))) {
        if (wrong++ < 5)
          test_fail(__FILE__, __LINE__,
                    "batch %zu op %zu: LevelDB %s the key (%zu bytes), "
                    "expected %s",
                    i, j, got ? "has" : "lacks", got_n,
                    present ? "a value" : "absent");
      }
      leveldb_free(got);
    }
  }
  /* No key beyond the expected ones. */
  leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
  for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
       leveldb_iter_next(it)) {
    size_t kn;
    const char *k = leveldb_iter_key(it, &kn);
    const uint8_t *v;
    size_t vn;
    CHECK(final_value(&w, (const uint8_t *)k, kn, &v, &vn));
    live++;
  }
  leveldb_iter_get_error(it, &err);
  LDB_OK(err, "iterator");
  leveldb_iter_destroy(it);
  CHECK(live > 100);

  /* LevelDB recovered the last sequence from strata's log: its next write
   * gets the one after. */
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  leveldb_put(db, wo, "after", 5, "x", 1, &err);
  LDB_OK(err, "leveldb_put");
  char newlog[4096];
  CHECK_EQ(find_log(dir, newlog, sizeof newlog), 0);
  CHECK(strcmp(newlog, log) != 0);
  readout ro2;
  read_log(newlog, STRATA_RECOVERY_ABSOLUTE, &ro2);
  CHECK_EQ(ro2.n, 1);
  if (ro2.n == 1) {
    uint64_t seq = 0;
    uint32_t count = 0;
    CHECK_EQ(strata_batch_decode(ro2.r[0].data, ro2.r[0].size, &seq, &count,
                                 ignore_op, NULL),
             STRATA_OK);
    CHECK_U64(seq, w.next_seq);
    CHECK_EQ(count, 1);
  }
  readout_free(&ro2);
  leveldb_writeoptions_destroy(wo);
  leveldb_readoptions_destroy(ro);
  leveldb_close(db);
  leveldb_options_destroy(o);
  wl_free(&w);
}

/* ---- (d) damage ---------------------------------------------------------- */

/* Reads `path` (LevelDB's log with byte `pos` flipped, inside batch `lost`)
 * under every policy and checks each outcome. */
static void check_flip(const workload *w, const char *path, uint64_t pos,
                       size_t lost, const char *what) {
  readout o;
  /* skip: exactly one drop covering the byte; every other batch intact. */
  read_log(path, STRATA_RECOVERY_SKIP, &o);
  CHECK_MSG(o.status == STRATA_END, "%s/skip: status %s", what,
            strata_strerror(o.status));
  CHECK_MSG(o.ds.n == 1, "%s/skip: %zu drops reported, expected 1", what,
            o.ds.n);
  if (o.ds.n >= 1) {
    const strata_damage *d = &o.ds.d[0];
    CHECK_MSG(d->offset <= pos && pos < d->offset + d->bytes,
              "%s/skip: drop [%llu,+%llu) misses the flipped byte %llu", what,
              (unsigned long long)d->offset, (unsigned long long)d->bytes,
              (unsigned long long)pos);
    CHECK_MSG(
        d->offset >= (lost ? w->b[lost - 1].end : 0) &&
            (lost + 1 >= w->n || d->offset + d->bytes <= w->b[lost + 1].offset),
        "%s/skip: drop [%llu,+%llu) reaches beyond batch %zu", what,
        (unsigned long long)d->offset, (unsigned long long)d->bytes, lost);
    CHECK_MSG(o.ds.at[0] == lost,
              "%s/skip: drop reported after %zu records, expected %zu", what,
              o.ds.at[0], lost);
    CHECK(d->tail == 0);
  }
  CHECK_MSG(o.n + 1 == w->n, "%s/skip: %zu records, expected %zu", what, o.n,
            w->n - 1);
  size_t bad = 0;
  for (size_t i = 0; i < o.n; i++) {
    size_t k = i < lost ? i : i + 1;
    if (k >= w->n || !batch_matches(&o.r[i], &w->b[k]) ||
        o.r[i].info.offset != w->b[k].offset) {
      if (bad++ < 5)
        test_fail(__FILE__, __LINE__,
                  "%s/skip: record %zu is not batch %zu intact", what, i, k);
    }
  }
  readout_free(&o);

  /* point-in-time: the prefix before the damage, then the end. */
  read_log(path, STRATA_RECOVERY_POINT_IN_TIME, &o);
  CHECK_MSG(o.status == STRATA_END, "%s/point-in-time: status %s", what,
            strata_strerror(o.status));
  CHECK_MSG(o.n == lost, "%s/point-in-time: %zu records, expected %zu", what,
            o.n, lost);
  CHECK_MSG(o.ds.n >= 1, "%s/point-in-time: no drop reported", what);
  for (size_t i = 0; i < o.n && i < w->n; i++)
    CHECK(batch_matches(&o.r[i], &w->b[i]));
  readout_free(&o);

  /* absolute and tolerate-tail: the prefix, then a refusal. */
  for (int p = 0; p < 2; p++) {
    read_log(path, all_policies[p], &o);
    const char *name = strata_recovery_name(all_policies[p]);
    CHECK_MSG(o.status == STRATA_CORRUPTION, "%s/%s: status %s", what, name,
              strata_strerror(o.status));
    CHECK_MSG(o.n == lost, "%s/%s: %zu records, expected %zu", what, name, o.n,
              lost);
    CHECK_MSG(o.ds.n >= 1, "%s/%s: no drop reported", what, name);
    for (size_t i = 0; i < o.n && i < w->n; i++)
      CHECK(batch_matches(&o.r[i], &w->b[i]));
    readout_free(&o);
  }
}

static void flip_and_check(const workload *w, const uint8_t *ldb, size_t n,
                           uint64_t pos, size_t lost, const char *what) {
  uint8_t *copy = xmalloc(n);
  memcpy(copy, ldb, n);
  copy[pos] ^= 0x20;
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("damaged.log"));
  CHECK_EQ(write_whole(path, copy, n), 0);
  check_flip(w, path, pos, lost, what);
  free(copy);
}

/* One byte flipped in the middle of the file, inside a FULL record. */
TEST(leveldb_log_damage_middle_skip) {
  workload w;
  wl_build(&w);
  char log[4096];
  if (write_leveldb_log(&w, test_path("ldb"), log, sizeof log) != 0) {
    wl_free(&w);
    return;
  }
  size_t n;
  uint8_t *ldb = read_whole(log, &n);
  size_t lost = 0;
  while (lost < w.n && (w.b[lost].offset < n / 2 || w.b[lost].fragments != 1))
    lost++;
  CHECK(lost + 1 < w.n);
  if (lost + 1 < w.n) {
    uint64_t pos = w.b[lost].offset + HEADER + w.b[lost].payload / 2;
    flip_and_check(&w, ldb, n, pos, lost, "middle");
  }
  free(ldb);
  wl_free(&w);
}

/* The same at every kind of place: header fields, and each fragment kind of a
 * record spanning several blocks. */
TEST(leveldb_log_damage_matrix_skip) {
  workload w;
  wl_build(&w);
  char log[4096];
  if (write_leveldb_log(&w, test_path("ldb"), log, sizeof log) != 0) {
    wl_free(&w);
    return;
  }
  size_t n;
  uint8_t *ldb = read_whole(log, &n);
  /* A FULL record in the small-batch region, and the 100000-byte record. */
  size_t full = 0, big = 0;
  while (full < w.n && (w.b[full].offset < n / 3 || w.b[full].fragments != 1 ||
                        w.b[full].offset % BLOCK > BLOCK / 2))
    full++;
  while (big < w.n && w.b[big].fragments < 4)
    big++;
  CHECK(full + 1 < w.n && big + 1 < w.n);
  if (full + 1 < w.n && big + 1 < w.n) {
    uint64_t f = w.b[full].offset;
    flip_and_check(&w, ldb, n, f + 1, full, "full-crc");
    flip_and_check(&w, ldb, n, f + 4, full, "full-length-low");
    flip_and_check(&w, ldb, n, f + 6, full, "full-type");
    flip_and_check(&w, ldb, n, f + HEADER, full, "full-payload-first");
    flip_and_check(&w, ldb, n, w.b[full].end - 1, full, "full-payload-last");
    uint64_t g = w.b[big].offset;
    uint64_t next_block = (g / BLOCK + 1) * BLOCK;
    flip_and_check(&w, ldb, n, g + HEADER + 3, big, "first-fragment");
    flip_and_check(&w, ldb, n, next_block + HEADER + 100, big,
                   "middle-fragment");
    flip_and_check(&w, ldb, n, next_block + 5, big, "middle-length-high");
    flip_and_check(&w, ldb, n, w.b[big].end - 2, big, "last-fragment");
  }
  /* The record whose value holds an encoded log: its own header, and the
   * first embedded header. */
  size_t nest = 0;
  while (nest < w.n && !(w.b[nest].nops == 1 && w.b[nest].ops[0].klen == 10 &&
                         memcmp(w.b[nest].ops[0].key, "nested-log", 10) == 0))
    nest++;
  CHECK(nest + 1 < w.n);
  if (nest + 1 < w.n) {
    uint64_t f = w.b[nest].offset;
    /* the value starts after the batch header, tag, key and its length */
    uint64_t v = f + HEADER + 12 + 1 + 1 + 10 + 2;
    flip_and_check(&w, ldb, n, f + 2, nest, "nested-crc");
    flip_and_check(&w, ldb, n, f + 4, nest, "nested-length-low");
    flip_and_check(&w, ldb, n, f + 6, nest, "nested-type");
    flip_and_check(&w, ldb, n, v + 1, nest, "nested-inner-header");
    flip_and_check(&w, ldb, n, v + HEADER + 20, nest, "nested-inner-payload");
  }
  free(ldb);
  wl_free(&w);
}
