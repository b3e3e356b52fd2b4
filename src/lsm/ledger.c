/*
 * ledger.c — DIR/LEDGER (interface in ledger.h; format in
 * docs/formats/ledger.md): a record-log file (checksummed as every log), one
 * record per lost range:
 *
 *   fixed32 magic 0x52474c53 ("SLGR"), byte version 1,
 *   byte flags (1: low bound present, 2: high bound present),
 *   [length-prefixed low user key], [length-prefixed high user key],
 *   varint64 seq_hi, length-prefixed file name, varint64 offset,
 *   varint64 bytes, byte damage kind, length-prefixed reason,
 *   varint64 unix time.
 *
 * The whole file is rewritten on each change (it is small and changes only
 * when damage is met): temporary file LEDGER.tmp, fsync, rename, directory
 * fsync. Damage in LEDGER itself cannot say what was lost, so it is taken as
 * one unbounded range.
 */
#include "lsm/ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log_reader.h"
#include "log/log_writer.h"
#include "lsm/filename.h"
#include "util/coding.h"
#include "util/status.h"

#define LEDGER_MAGIC 0x52474c53u

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

static void entry_free(lsm_lost *e) {
  sst_buf_free(&e->lo);
  sst_buf_free(&e->hi);
  free(e->file);
  free(e->reason);
}

static int push(lsm_ledger *l, lsm_lost *e) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    lsm_lost *v = realloc(l->v, cap * sizeof *v);
    if (!v) return oom();
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *e;
  atomic_store(&l->count, l->n);
  return STRATA_OK;
}

static int put_bytes(sst_buf *b, const void *p, size_t n) {
  uint8_t tmp[VARINT32_MAX];
  uint8_t *end = encode_varint32(tmp, (uint32_t)n);
  if (sst_buf_add(b, tmp, (size_t)(end - tmp))) return -1;
  return sst_buf_add(b, p, n);
}

static int put_varint(sst_buf *b, uint64_t v) {
  uint8_t tmp[VARINT64_MAX];
  uint8_t *end = encode_varint64(tmp, v);
  return sst_buf_add(b, tmp, (size_t)(end - tmp));
}

static int encode(const lsm_lost *e, sst_buf *b) {
  uint8_t head[6];
  encode_fixed32(head, LEDGER_MAGIC);
  head[4] = 1;
  head[5] = (uint8_t)((e->has_lo ? 1 : 0) | (e->has_hi ? 2 : 0));
  uint8_t kind = (uint8_t)e->kind;
  if (sst_buf_add(b, head, sizeof head) ||
      (e->has_lo && put_bytes(b, e->lo.data, e->lo.len)) ||
      (e->has_hi && put_bytes(b, e->hi.data, e->hi.len)) ||
      put_varint(b, e->seq_hi) || put_bytes(b, e->file, strlen(e->file)) ||
      put_varint(b, e->offset) || put_varint(b, e->bytes) ||
      sst_buf_add(b, &kind, 1) || put_bytes(b, e->reason, strlen(e->reason)) ||
      put_varint(b, e->when))
    return oom();
  return STRATA_OK;
}

static char *dup_n(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

/* Decodes one record; -1 if malformed. */
static int decode(const uint8_t *p, size_t n, lsm_lost *e) {
  const uint8_t *end = p + n, *d;
  uint32_t len;
  memset(e, 0, sizeof *e);
  if (n < 6 || decode_fixed32(p) != LEDGER_MAGIC || p[4] != 1 || p[5] > 3)
    return -1;
  e->has_lo = p[5] & 1;
  e->has_hi = (p[5] & 2) != 0;
  p += 6;
  if (e->has_lo) {
    if (!(p = decode_length_prefixed(p, end, &d, &len)) ||
        sst_buf_set(&e->lo, d, len))
      goto bad;
  }
  if (e->has_hi) {
    if (!(p = decode_length_prefixed(p, end, &d, &len)) ||
        sst_buf_set(&e->hi, d, len))
      goto bad;
  }
  if (!(p = decode_varint64(p, end, &e->seq_hi))) goto bad;
  if (!(p = decode_length_prefixed(p, end, &d, &len)) ||
      !(e->file = dup_n(d, len)))
    goto bad;
  if (!(p = decode_varint64(p, end, &e->offset)) ||
      !(p = decode_varint64(p, end, &e->bytes)) || p >= end)
    goto bad;
  e->kind = *p++;
  if (!(p = decode_length_prefixed(p, end, &d, &len)) ||
      !(e->reason = dup_n(d, len)))
    goto bad;
  if (!(p = decode_varint64(p, end, &e->when)) || p != end) goto bad;
  return 0;
bad:
  entry_free(e);
  return -1;
}

typedef struct load_damage {
  strata_damage_fn fn; /* the caller's callback */
  void *arg;           /* its argument */
  int damaged;         /* something was reported */
} load_damage;

static void on_load_damage(void *arg, const strata_damage *d) {
  load_damage *ld = arg;
  ld->damaged = 1;
  if (ld->fn) ld->fn(ld->arg, d);
}

int lsm_ledger_open(lsm_ledger *l, env *e, const char *dir, strata_damage_fn fn,
                    void *arg) {
  memset(l, 0, sizeof *l);
  l->e = e;
  pthread_mutex_init(&l->mu, NULL);
  atomic_init(&l->count, 0);
  if (!(l->dir = strdup(dir))) return oom();
  char *path = lsm_dir_path(dir, "LEDGER");
  if (!path) return oom();
  if (!env_exists(e, path)) {
    free(path);
    return STRATA_OK;
  }
  load_damage ld = {fn, arg, 0};
  log_reader *r = NULL;
  int rc =
      log_reader_open(e, path, STRATA_RECOVERY_SKIP, on_load_damage, &ld, &r);
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while (!rc && (rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    lsm_lost x;
    if (decode(rec, n, &x)) {
      strata_damage d = {path,
                         info.offset,
                         n,
                         STRATA_DAMAGE_BAD_RECORD,
                         "a LEDGER record that does not decode",
                         1,
                         0};
      on_load_damage(&ld, &d);
      continue;
    }
    if ((rc = push(l, &x))) entry_free(&x);
  }
  log_reader_close(r);
  if (rc == STRATA_END) rc = STRATA_OK;
  if (!rc && ld.damaged) {
    lsm_lost x;
    memset(&x, 0, sizeof x);
    x.seq_hi = UINT64_MAX;
    x.file = strdup(path);
    x.reason = strdup("LEDGER itself is damaged: what was lost is unknown");
    x.kind = STRATA_DAMAGE_CHECKSUM;
    x.when = (uint64_t)time(NULL);
    if (!x.file || !x.reason || (rc = push(l, &x))) {
      entry_free(&x);
      if (!rc) rc = oom();
    }
  }
  free(path);
  return rc;
}

void lsm_ledger_close(lsm_ledger *l) {
  if (!l->dir) return;
  for (size_t i = 0; i < l->n; i++)
    entry_free(&l->v[i]);
  free(l->v);
  free(l->dir);
  pthread_mutex_destroy(&l->mu);
  memset(l, 0, sizeof *l);
}

/* Rewrites DIR/LEDGER from the entries (mu held). */
static int rewrite(lsm_ledger *l) {
  char *path = lsm_dir_path(l->dir, "LEDGER");
  char *tmp = lsm_dir_path(l->dir, "LEDGER.tmp");
  env_file *f = NULL;
  log_writer *w = NULL;
  sst_buf b = {0};
  int rc = (!path || !tmp) ? oom() : STRATA_OK;
  if (!rc) rc = env_open_append(l->e, tmp, ENV_CREATE | ENV_TRUNC, &f);
  if (!rc) {
    rc = log_writer_create(f, 0, 0, &w);
    for (size_t i = 0; !rc && i < l->n; i++) {
      b.len = 0;
      rc = encode(&l->v[i], &b);
      if (!rc) rc = log_writer_add(w, b.data, b.len);
    }
    if (!rc) rc = env_fsync(f);
    if (w) log_writer_close(w);
    int crc = env_close(f);
    if (!rc) rc = crc;
  }
  if (!rc) rc = env_rename(l->e, tmp, path);
  if (!rc) rc = env_sync_dir(l->e, l->dir);
  if (rc && tmp) env_remove(l->e, tmp);
  sst_buf_free(&b);
  free(path);
  free(tmp);
  return rc;
}

int lsm_ledger_add(lsm_ledger *l, const uint8_t *lo, size_t lon,
                   const uint8_t *hi, size_t hin, uint64_t seq_hi,
                   const strata_damage *d) {
  lsm_lost x;
  memset(&x, 0, sizeof x);
  x.has_lo = lo != NULL;
  x.has_hi = hi != NULL;
  x.seq_hi = seq_hi;
  x.offset = d->offset;
  x.bytes = d->bytes;
  x.kind = (int)d->kind;
  x.when = (uint64_t)time(NULL);
  x.file = strdup(d->file ? d->file : "");
  x.reason = strdup(d->reason ? d->reason : "");
  if (!x.file || !x.reason || (lo && sst_buf_set(&x.lo, lo, lon)) ||
      (hi && sst_buf_set(&x.hi, hi, hin))) {
    entry_free(&x);
    return oom();
  }
  pthread_mutex_lock(&l->mu);
  int rc = STRATA_OK, known = 0;
  for (size_t i = 0; i < l->n && !known; i++) /* met again: listed once */
    known = l->v[i].offset == x.offset && strcmp(l->v[i].file, x.file) == 0;
  if (known || (rc = push(l, &x)))
    entry_free(&x);
  else
    rc = rewrite(l);
  pthread_mutex_unlock(&l->mu);
  return rc;
}

static int cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t m = an < bn ? an : bn;
  int c = m ? memcmp(a, b, m) : 0;
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

static void describe(const lsm_lost *e, char *why, size_t whyn) {
  if (why && whyn)
    snprintf(why, whyn,
             "a newer version may have been lost to damage in %s at offset "
             "%" PRIu64 " (%s); see `strata verify`, and acknowledge with "
             "`strata verify --acknowledge`",
             e->file, e->offset, e->reason);
}

int lsm_ledger_covers(lsm_ledger *l, const uint8_t *k, size_t kn, uint64_t seq,
                      char *why, size_t whyn) {
  if (atomic_load(&l->count) == 0) return 0;
  int hit = 0;
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n && !hit; i++) {
    const lsm_lost *e = &l->v[i];
    if (seq > e->seq_hi) continue; /* written after the loss */
    if (e->has_lo && cmp(k, kn, e->lo.data, e->lo.len) < 0) continue;
    if (e->has_hi && cmp(k, kn, e->hi.data, e->hi.len) > 0) continue;
    hit = 1;
    describe(e, why, whyn);
  }
  pthread_mutex_unlock(&l->mu);
  return hit;
}

int lsm_ledger_crosses(lsm_ledger *l, const uint8_t *a, size_t an, int a_open,
                       const uint8_t *b, size_t bn, int b_open, char *why,
                       size_t whyn) {
  if (atomic_load(&l->count) == 0) return 0;
  int hit = 0;
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n && !hit; i++) {
    const lsm_lost *e = &l->v[i];
    /* the range [lo, hi] misses the interval if hi < a (or == a when a is
     * excluded) or lo > b (or == b when b is excluded) */
    if (a && e->has_hi) {
      int c = cmp(e->hi.data, e->hi.len, a, an);
      if (c < 0 || (c == 0 && a_open)) continue;
    }
    if (b && e->has_lo) {
      int c = cmp(e->lo.data, e->lo.len, b, bn);
      if (c > 0 || (c == 0 && b_open)) continue;
    }
    hit = 1;
    describe(e, why, whyn);
  }
  pthread_mutex_unlock(&l->mu);
  return hit;
}

void lsm_ledger_list(lsm_ledger *l, void (*fn)(void *arg, const lsm_lost *e),
                     void *arg) {
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    fn(arg, &l->v[i]);
  pthread_mutex_unlock(&l->mu);
}

int lsm_ledger_clear(lsm_ledger *l) {
  pthread_mutex_lock(&l->mu);
  char *path = lsm_dir_path(l->dir, "LEDGER");
  int rc = path ? STRATA_OK : oom();
  if (!rc && env_exists(l->e, path)) {
    rc = env_remove(l->e, path);
    if (!rc) rc = env_sync_dir(l->e, l->dir);
  }
  if (!rc) {
    for (size_t i = 0; i < l->n; i++)
      entry_free(&l->v[i]);
    l->n = 0;
    atomic_store(&l->count, 0);
  }
  free(path);
  pthread_mutex_unlock(&l->mu);
  return rc;
}
