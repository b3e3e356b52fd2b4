/*
 * log_reader_fuzz.c — fuzz target for the record-log reader
 * (strata_log_reader_open_mem / strata_log_reader_next).
 *
 * Input: byte 0 chooses the run, the rest is a log file image.
 *   bits 0-1  the recovery policy (absolute, tolerate-tail, point-in-time,
 *             skip)
 *   bit 2     cross-check: read the image under all four policies (and once
 *             more under skip without a damage callback) and compare them
 *
 * Invariants checked (abort() when one fails):
 *  - every drop region lies within the file, has at least one byte, and starts
 *    at or after the end of every region and record reported before it: drops
 *    are ordered, do not overlap each other or any returned record, and are
 *    delivered before the record that follows them;
 *  - every returned record's info is within the file, offsets increase, and
 *    the record is really there: walking its `fragments` fragments from
 *    `offset` (skipping block trailers) finds FULL or FIRST MIDDLE* LAST
 *    headers inside their blocks, each fragment's CRC32C matches, the payloads
 *    concatenate to the returned bytes, and the walk ends at `end`;
 *  - the total of bytes returned never exceeds the file size;
 *  - policies: skip and point-in-time always end with STRATA_END; absolute ends
 *    with STRATA_END exactly when nothing was dropped; tolerate-tail drops only
 *    tails; only skip returns records after a drop, and never after a drop
 *    that claims to be the tail; a CORRUPTION status comes with a report;
 *    statuses are sticky;
 *  - cross-check: absolute, tolerate-tail and point-in-time return the same
 *    records, a prefix of what skip returns; skip returns the same records
 *    with and without a damage callback.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "util/crc32c.h"

enum { BLOCK = 32768, HEADER = 7 };

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) abort();                                                      \
  } while (0)

typedef struct rec_sig {
  uint64_t offset; /* info.offset */
  uint64_t end;    /* info.end */
  size_t size;     /* payload bytes */
  uint32_t crc;    /* CRC32C of the payload */
} rec_sig;

typedef struct run {
  const uint8_t *img;     /* the log image */
  size_t n;               /* its size */
  strata_recovery policy; /* policy of this run */
  uint64_t cursor;        /* end of the last region or record reported */
  size_t drops;           /* drops reported */
  int tail_seen;          /* a drop with tail = 1 was reported */
  int last_tail;          /* tail flag of the last drop */
  uint64_t total;         /* payload bytes returned */
  rec_sig *recs;          /* signatures of returned records */
  size_t nrecs;           /* records returned */
  size_t cap;             /* allocated signatures */
  int status;             /* status that ended the read */
} run;

static void on_damage(void *arg, const strata_damage *d) {
  run *r = arg;
  REQUIRE(d != NULL && d->file != NULL && d->reason != NULL);
  REQUIRE(strcmp(d->file, "fuzz.log") == 0);
  REQUIRE(d->bytes > 0);
  REQUIRE(d->offset <= r->n && d->bytes <= r->n - d->offset);
  REQUIRE(d->offset >= r->cursor);
  REQUIRE((unsigned)d->kind <= STRATA_DAMAGE_MISSING_END);
  REQUIRE(d->tail == 0 || d->tail == 1);
  REQUIRE(!r->tail_seen); /* nothing, not even damage, after the tail */
  r->cursor = d->offset + d->bytes;
  r->drops++;
  r->last_tail = d->tail;
  if (d->tail) r->tail_seen = 1;
}

/* Walks the record's fragments in the image and checks it is `data`. */
static void verify_record(const run *r, const strata_log_record_info *info,
                          const uint8_t *data, size_t size) {
  uint64_t p = info->offset;
  size_t got = 0;
  for (uint32_t f = 0; f < info->fragments; f++) {
    if (f > 0 && BLOCK - p % BLOCK < HEADER) p += BLOCK - p % BLOCK;
    REQUIRE(p % BLOCK + HEADER <= BLOCK);
    REQUIRE(p + HEADER <= r->n);
    const uint8_t *h = r->img + p;
    uint32_t len = (uint32_t)h[4] | ((uint32_t)h[5] << 8);
    unsigned type = h[6];
    unsigned want = info->fragments == 1       ? 1u /* FULL */
                    : f == 0                   ? 2u /* FIRST */
                    : f + 1 == info->fragments ? 4u /* LAST */
                                               : 3u /* MIDDLE */;
    REQUIRE(type == want);
    REQUIRE(p % BLOCK + HEADER + len <= BLOCK);
    REQUIRE(p + HEADER + len <= r->n);
    uint8_t t = (uint8_t)type;
    uint32_t crc = crc32c_extend(crc32c_extend(0, &t, 1), h + HEADER, len);
    uint32_t stored = (uint32_t)h[0] | ((uint32_t)h[1] << 8) |
                      ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 24);
    REQUIRE(crc == crc32c_unmask(stored));
    REQUIRE(len <= size - got);
    REQUIRE(len == 0 || memcmp(data + got, h + HEADER, len) == 0);
    got += len;
    p += HEADER + len;
  }
  REQUIRE(got == size);
  REQUIRE(p == info->end);
}

static void read_all(run *r, int with_callback) {
  strata_log_reader *lr = NULL;
  int rc = strata_log_reader_open_mem(r->img, r->n, "fuzz.log", r->policy,
                                      with_callback ? on_damage : NULL, r, &lr);
  REQUIRE(rc == STRATA_OK && lr != NULL);
  for (;;) {
    const void *data = NULL;
    size_t size = 0;
    strata_log_record_info info;
    rc = strata_log_reader_next(lr, &data, &size, &info);
    if (rc != STRATA_OK) break;
    REQUIRE(data != NULL || size == 0);
    REQUIRE(info.fragments >= 1);
    REQUIRE(info.offset >= r->cursor);
    REQUIRE(info.offset < info.end && info.end <= r->n);
    REQUIRE(size + (uint64_t)HEADER * info.fragments <= info.end - info.offset);
    verify_record(r, &info, data, size);
    /* Only skip goes on after damage, and nothing follows a tail. */
    REQUIRE(!r->tail_seen);
    REQUIRE(r->drops == 0 || r->policy == STRATA_RECOVERY_SKIP);
    r->cursor = info.end;
    r->total += size;
    REQUIRE(r->total <= r->n);
    if (r->nrecs == r->cap) {
      r->cap = r->cap ? 2 * r->cap : 64;
      r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
      REQUIRE(r->recs != NULL);
    }
    rec_sig *s = &r->recs[r->nrecs++];
    s->offset = info.offset;
    s->end = info.end;
    s->size = size;
    s->crc = crc32c_value(data, size);
  }
  r->status = rc;
  /* Sticky. */
  const void *data;
  size_t size;
  REQUIRE(strata_log_reader_next(lr, &data, &size, NULL) == rc);
  strata_log_reader_close(lr);

  REQUIRE(rc == STRATA_END || rc == STRATA_CORRUPTION);
  if (!with_callback) return;
  switch (r->policy) {
  case STRATA_RECOVERY_ABSOLUTE:
    REQUIRE((rc == STRATA_END) == (r->drops == 0));
    break;
  case STRATA_RECOVERY_TOLERATE_TAIL:
    if (rc == STRATA_END) {
      REQUIRE(r->drops == 0 || (r->drops == 1 && r->last_tail));
    } else {
      REQUIRE(r->drops >= 1 && !r->last_tail);
    }
    break;
  case STRATA_RECOVERY_POINT_IN_TIME:
  case STRATA_RECOVERY_SKIP: REQUIRE(rc == STRATA_END); break;
  }
}

static int same_recs(const run *a, const run *b, size_t n) {
  if (a->nrecs < n || b->nrecs < n) return 0;
  for (size_t i = 0; i < n; i++) {
    const rec_sig *x = &a->recs[i], *y = &b->recs[i];
    if (x->offset != y->offset || x->end != y->end || x->size != y->size ||
        x->crc != y->crc)
      return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned mode = data[0];
  const uint8_t *img = data + 1;
  size_t n = size - 1;

  if (!(mode & 4)) {
    run r = {.img = img, .n = n, .policy = (strata_recovery)(mode & 3)};
    read_all(&r, 1);
    free(r.recs);
    return 0;
  }

  run rs[4];
  for (int p = 0; p < 4; p++) {
    memset(&rs[p], 0, sizeof rs[p]);
    rs[p].img = img;
    rs[p].n = n;
    rs[p].policy = (strata_recovery)p;
    read_all(&rs[p], 1);
  }
  const run *skip = &rs[STRATA_RECOVERY_SKIP];
  for (int p = 0; p < 3; p++) {
    REQUIRE(rs[p].nrecs == rs[0].nrecs);
    REQUIRE(same_recs(&rs[p], skip, rs[p].nrecs));
  }
  if (rs[STRATA_RECOVERY_ABSOLUTE].status == STRATA_END) {
    for (int p = 0; p < 4; p++)
      REQUIRE(rs[p].drops == 0);
    REQUIRE(skip->nrecs == rs[0].nrecs);
  }
  run quiet = {.img = img, .n = n, .policy = STRATA_RECOVERY_SKIP};
  read_all(&quiet, 0);
  REQUIRE(quiet.nrecs == skip->nrecs && same_recs(&quiet, skip, skip->nrecs));
  REQUIRE(quiet.status == skip->status);
  free(quiet.recs);
  for (int p = 0; p < 4; p++)
    free(rs[p].recs);
  return 0;
}
