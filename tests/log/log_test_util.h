/*
 * log_test_util.h — shared helpers of the record-log tests: build log images
 * in memory with the real writer, read them back under a policy, and check
 * what came back against what was written.
 */
#ifndef STRATA_TESTS_LOG_UTIL_H
#define STRATA_TESTS_LOG_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "log/log_format.h"
#include "log/log_reader.h"
#include "log/log_writer.h"
#include "strata.h"
#include "test.h"
#include "util/coding.h"
#include "util/crc32c.h"

enum { MAX_RECS = 4096, MAX_DROPS = 256 };

/* A written record. */
typedef struct wrec {
  uint8_t *data;   /* its bytes (owned) */
  size_t len;      /* its length */
  uint64_t offset; /* file offset of its first fragment header */
  uint64_t end;    /* one past its last fragment */
} wrec;

/* A log image and the records written into it. */
typedef struct wlog {
  uint8_t *img;        /* the file's bytes (owned) */
  size_t size;         /* bytes in img */
  wrec recs[MAX_RECS]; /* what was written, in order */
  int n;               /* number of records */
} wlog;

/* What a read returned. */
typedef struct rres {
  int status;                     /* STRATA_END or the failing status */
  int n;                          /* records returned */
  int idx[MAX_RECS];              /* index into wlog.recs of each, -1 if none */
  int ndrops;                     /* drops reported */
  strata_damage drops[MAX_DROPS]; /* the drops (reason not kept) */
  int invented; /* returned records matching nothing written */
} rres;

/* Writes `n` records (sizes[i] bytes each, content from gen or random) with
 * the real writer to a temp file and loads the image. */
static inline void wlog_build(wlog *w, int n, const size_t *sizes,
                              uint8_t *const *contents) {
  memset(w, 0, sizeof *w);
  const char *path = test_path("build.log");
  env *e = env_posix();
  env_remove(e, path);
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &f), STRATA_OK);
  log_writer *lw;
  CHECK_EQ(log_writer_create(f, 0, 1, &lw), STRATA_OK);
  for (int i = 0; i < n; i++) {
    wrec *r = &w->recs[i];
    r->len = sizes[i];
    r->data = malloc(r->len ? r->len : 1);
    if (contents && contents[i])
      memcpy(r->data, contents[i], r->len);
    else
      for (size_t j = 0; j < r->len; j++)
        r->data[j] = (uint8_t)test_rand();
    uint64_t at = log_writer_size(lw);
    if (LOG_BLOCK_SIZE - at % LOG_BLOCK_SIZE < LOG_HEADER_SIZE)
      at += LOG_BLOCK_SIZE - at % LOG_BLOCK_SIZE;
    r->offset = at;
    CHECK_EQ(log_writer_add(lw, r->data, r->len), STRATA_OK);
    r->end = log_writer_size(lw);
  }
  w->n = n;
  CHECK_EQ(log_writer_close(lw), STRATA_OK);
  uint64_t sz = 0;
  CHECK_EQ(env_size(e, path, &sz), STRATA_OK);
  w->size = (size_t)sz;
  w->img = malloc(w->size ? w->size : 1);
  env_file *rf;
  CHECK_EQ(env_open_read(e, path, &rf), STRATA_OK);
  size_t got = 0;
  if (w->size) CHECK_EQ(env_pread(rf, 0, w->img, w->size, &got), STRATA_OK);
  CHECK_U64(got, w->size);
  env_close(rf);
}

static inline void wlog_uniform(wlog *w, int n, size_t size) {
  size_t *sizes = malloc(sizeof(size_t) * (size_t)n);
  for (int i = 0; i < n; i++)
    sizes[i] = size;
  wlog_build(w, n, sizes, NULL);
  free(sizes);
}

static inline void wlog_free(wlog *w) {
  for (int i = 0; i < w->n; i++)
    free(w->recs[i].data);
  free(w->img);
  w->img = NULL;
  w->n = 0;
}

static inline void rres_on_damage(void *arg, const strata_damage *d) {
  rres *r = arg;
  if (r->ndrops < MAX_DROPS) {
    r->drops[r->ndrops] = *d;
    r->drops[r->ndrops].reason = NULL;
    r->drops[r->ndrops].file = NULL;
  }
  r->ndrops++;
}

/* Reads img[0..size) under `policy`; matches each returned record with the
 * written record at the same offset (content must be identical). */
static inline void read_img(const wlog *w, const uint8_t *img, size_t size,
                            strata_recovery policy, rres *out) {
  memset(out, 0, sizeof *out);
  log_reader *r;
  CHECK_EQ(log_reader_open_mem(img, size, "test.log", policy, rres_on_damage,
                               out, &r),
           STRATA_OK);
  const uint8_t *data;
  size_t len;
  strata_log_record_info info;
  int rc, search = 0;
  while ((rc = log_reader_next(r, &data, &len, &info)) == STRATA_OK) {
    int found = -1;
    for (int i = search; i < w->n; i++) {
      if (w->recs[i].offset == info.offset) {
        found = i;
        break;
      }
    }
    if (found < 0 || w->recs[found].len != len ||
        (len && memcmp(w->recs[found].data, data, len) != 0) ||
        w->recs[found].end != info.end) {
      out->invented++;
      found = -1;
    } else {
      search = found + 1;
    }
    if (out->n < MAX_RECS) out->idx[out->n] = found;
    out->n++;
  }
  out->status = rc;
  /* Calls after the end keep returning the same status. */
  CHECK_EQ(log_reader_next(r, &data, &len, &info), rc);
  log_reader_close(r);
}

/* Index of the written record containing file offset `off`, or -1. */
static inline int rec_at(const wlog *w, uint64_t off) {
  for (int i = 0; i < w->n; i++)
    if (off >= w->recs[i].offset && off < w->recs[i].end) return i;
  return -1;
}

/* 1 if record i was returned. */
static inline int returned(const rres *r, int i) {
  for (int k = 0; k < r->n && k < MAX_RECS; k++)
    if (r->idx[k] == i) return 1;
  return 0;
}

/* Checks the invariants every read must satisfy: nothing invented, drops
 * ordered, inside the file and disjoint from returned records, and every
 * written record either returned or inside a drop (unless the read failed). */
static inline void check_sound(const wlog *w, size_t size, const rres *r) {
  CHECK_EQ(r->invented, 0);
  uint64_t prev_end = 0;
  for (int d = 0; d < r->ndrops && d < MAX_DROPS; d++) {
    const strata_damage *x = &r->drops[d];
    CHECK(x->bytes > 0);
    CHECK(x->offset >= prev_end);
    CHECK(x->offset + x->bytes <= size);
    prev_end = x->offset + x->bytes;
    for (int k = 0; k < r->n && k < MAX_RECS; k++) {
      int i = r->idx[k];
      if (i < 0) continue;
      CHECK_MSG(w->recs[i].end <= x->offset ||
                    w->recs[i].offset >= x->offset + x->bytes,
                "returned record %d [%llu,%llu) overlaps drop [%llu,+%llu)", i,
                (unsigned long long)w->recs[i].offset,
                (unsigned long long)w->recs[i].end,
                (unsigned long long)x->offset, (unsigned long long)x->bytes);
    }
  }
  if (r->status != STRATA_END) return;
  for (int i = 0; i < w->n; i++) {
    if (returned(r, i) || w->recs[i].offset >= size) continue;
    int covered = 0;
    for (int d = 0; d < r->ndrops && d < MAX_DROPS; d++)
      if (w->recs[i].offset >= r->drops[d].offset &&
          w->recs[i].offset < r->drops[d].offset + r->drops[d].bytes)
        covered = 1;
    CHECK_MSG(covered, "record %d at %llu neither returned nor reported", i,
              (unsigned long long)w->recs[i].offset);
  }
}

#endif
