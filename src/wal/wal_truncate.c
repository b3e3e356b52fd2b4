/*
 * wal_truncate.c — truncate_front and truncate_back (docs/formats/wal.md,
 * "Operations"). Both run as exclusive operations (no append meanwhile).
 *  - truncate_front deletes whole segments only, oldest first, after
 *    rewriting CHECKPOINT with the last number deleted (so numbering goes on
 *    after a full truncation, and open finishes a deletion a crash cut
 *    short). The segment list is updated before any file goes, so readers,
 *    which open every listed file under the lock, never lose a segment from
 *    the middle of a read.
 *  - truncate_back deletes later segments newest first (a crash leaves a
 *    continuous prefix), then cuts the segment holding the first discarded
 *    batch at that batch's record and syncs it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"
#include "wal/wal_internal.h"
#include "wal/write_batch.h"

/* ---- truncation ---------------------------------------------------------- */

/* Segments at the front all of whose numbers are <= seq (caller holds mu). */
static size_t front_deletable(const strata_wal *w, uint64_t seq) {
  size_t k = 0;
  while (k < w->nseg && w->segs[k].end >= 1 && w->segs[k].end - 1 <= seq &&
         (w->segs[k].has_records || k + 1 < w->nseg))
    k++;
  return k;
}

static int op_truncate_front(strata_wal *w, void *arg) {
  uint64_t seq = *(uint64_t *)arg;
  pthread_mutex_lock(&w->mu);
  size_t k = front_deletable(w, seq);
  int failed = w->failed;
  pthread_mutex_unlock(&w->mu);
  if (k == 0) return STRATA_OK;
  if (k == w->nseg) {
    if (failed)
      return st_error(STRATA_IO_ERROR, "wal: disabled by an earlier "
                                       "failed write");
    int rc = wal_rotate(w);
    if (rc != STRATA_OK) return rc;
  }
  pthread_mutex_lock(&w->mu);
  wal_meta m = w->meta;
  uint64_t truncated = w->segs[k - 1].end - 1;
  if (truncated > m.truncated) m.truncated = truncated;
  uint64_t *numbers = malloc(k * sizeof *numbers);
  for (size_t i = 0; numbers && i < k; i++)
    numbers[i] = w->segs[i].number;
  pthread_mutex_unlock(&w->mu);
  if (!numbers) return wal_oom();
  /* CHECKPOINT first: a crash part-way leaves whole segments that open
   * recognises as already truncated and deletes */
  int rc = wal_meta_write(w->e, w->dir, &m);
  if (rc == STRATA_OK) {
    /* readers that find a file gone check the list: update it first */
    pthread_mutex_lock(&w->mu);
    memmove(w->segs, w->segs + k, (w->nseg - k) * sizeof *w->segs);
    w->nseg -= k;
    w->meta = m;
    pthread_mutex_unlock(&w->mu);
  }
  for (size_t i = 0; rc == STRATA_OK && i < k; i++) {
    char *path = wal_seg_path(w, numbers[i]);
    rc = path ? env_remove(w->e, path) : wal_oom();
    free(path);
  }
  free(numbers);
  if (rc == STRATA_OK) rc = env_sync_dir(w->e, w->dir);
  return rc;
}

int strata_wal_truncate_front(strata_wal *w, uint64_t seq) {
  if (!w) return st_error(STRATA_INVALID_ARGUMENT, "wal truncate: NULL");
  return wal_run_exclusive(w, op_truncate_front, &seq);
}

typedef struct back_cut {
  uint64_t seq;      /* keep batches whose numbers are all <= seq */
  int found;         /* the first batch to discard was found */
  uint64_t off;      /* its offset */
  uint64_t kept_end; /* sequence due after the last kept batch */
} back_cut;

static int find_back_cut(void *arg, const strata_wal_record *r) {
  back_cut *c = arg;
  uint64_t last = r->sequence + (r->count ? r->count : 1) - 1;
  if (last > c->seq) {
    c->found = 1;
    c->off = r->offset;
    return 1;
  }
  c->kept_end = r->sequence + r->count;
  return 0;
}

static int op_truncate_back(strata_wal *w, void *arg) {
  uint64_t seq = *(uint64_t *)arg;
  pthread_mutex_lock(&w->mu);
  uint64_t last = w->next_seq - 1, ckpt = w->meta.checkpoint;
  size_t i = 0;
  while (i < w->nseg && !(w->segs[i].has_records && w->segs[i].end > seq + 1))
    i++;
  wal_seg s = i < w->nseg ? w->segs[i] : (wal_seg){0, 0, 0, 0, 0};
  size_t nseg = w->nseg;
  uint64_t *later = malloc((nseg + 1) * sizeof *later);
  for (size_t j = i + 1; later && j < nseg; j++)
    later[j - i - 1] = w->segs[j].number;
  pthread_mutex_unlock(&w->mu);
  if (!later) return wal_oom();
  if (seq < ckpt) {
    free(later);
    return st_error(STRATA_INVALID_ARGUMENT,
                    "%s: cannot truncate back to %" PRIu64
                    ", below the checkpoint %" PRIu64,
                    w->dir, seq, ckpt);
  }
  if (seq >= last || i == nseg) {
    free(later);
    return STRATA_OK;
  }
  /* find the cut in segment i */
  uint8_t *buf = NULL;
  int rc = wal_read_segment(w, s.number, s.size, &buf);
  back_cut c = {seq, 0, 0, s.first};
  log_reader *r = NULL;
  if (rc == STRATA_OK)
    rc = log_reader_open_mem(buf, s.size, "wal segment", STRATA_RECOVERY_SKIP,
                             NULL, NULL, &r);
  if (rc == STRATA_OK) {
    wal_scanner sc;
    wal_scanner_init(&sc, w);
    sc.policy = STRATA_RECOVERY_SKIP;
    sc.fn = find_back_cut;
    sc.arg = &c;
    sc.quiet = 1;
    int st = wal_scan_segment(&sc, r, s.number, NULL);
    wal_scanner_free(&sc);
    if (st > 0) rc = st;
  }
  log_reader_close(r);
  free(buf);
  if (rc == STRATA_OK && !c.found)
    rc = st_error(STRATA_CORRUPTION,
                  "%s/%06" PRIu64 ".log: no record past "
                  "sequence %" PRIu64 " found",
                  w->dir, s.number, seq);
  if (rc != STRATA_OK) {
    free(later);
    return rc;
  }
  /* the list first: readers open only what it names (see iterate) */
  pthread_mutex_lock(&w->mu);
  w->nseg = i + 1;
  wal_seg *t = &w->segs[i];
  t->size = c.off;
  t->end = c.kept_end;
  t->has_records = c.off > 0;
  w->next_seq = c.kept_end;
  w->unsynced = 0;
  pthread_mutex_unlock(&w->mu);
  /* newest first, so a crash part-way leaves a continuous prefix */
  log_writer_close(w->lw);
  w->lw = NULL;
  for (size_t j = nseg - i - 1; rc == STRATA_OK && j-- > 0;) {
    char *path = wal_seg_path(w, later[j]);
    rc = path ? env_remove(w->e, path) : wal_oom();
    free(path);
  }
  free(later);
  char *path = wal_seg_path(w, s.number);
  env_file *f = NULL;
  if (rc == STRATA_OK) rc = path ? env_sync_dir(w->e, w->dir) : wal_oom();
  if (rc == STRATA_OK) rc = env_open_append(w->e, path, 0, &f);
  if (rc == STRATA_OK) rc = env_truncate(f, c.off);
  if (rc == STRATA_OK) rc = env_datasync(f);
  if (rc == STRATA_OK) rc = log_writer_create(f, c.off, 1, &w->lw);
  free(path);
  pthread_mutex_lock(&w->mu);
  if (rc != STRATA_OK) {
    env_close(f);
    w->failed = 1;
    w->fail_status = rc;
    snprintf(w->fail_msg, sizeof w->fail_msg, "%s", strata_last_error());
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

int strata_wal_truncate_back(strata_wal *w, uint64_t seq) {
  if (!w) return st_error(STRATA_INVALID_ARGUMENT, "wal truncate: NULL");
  return wal_run_exclusive(w, op_truncate_back, &seq);
}
