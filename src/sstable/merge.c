/*
 * merge.c — the merging iterator (contract in merge.h). No disk bytes are
 * read here; damage is whatever the sources report through their status,
 * which stops the merge (a source under `skip` reports and passes over its
 * damaged blocks itself).
 *
 * Forward, the sources that are valid sit in a min-heap by (key, index); the
 * top is current. Backward, a max-heap by (key, index). Changing direction
 * repositions every source other than the current one around the current
 * key, then rebuilds the heap, as LevelDB does.
 */
#include "sstable/merge.h"

#include <stdlib.h>

#include "util/status.h"

typedef struct merge_iter {
  sst_iter base;   /* interface */
  sst_iter **kids; /* the sources */
  size_t n;        /* how many */
  size_t *heap;    /* indices of valid sources, heap-ordered */
  size_t nheap;    /* entries in the heap */
  int forward;     /* 1: min-heap (next); 0: max-heap (prev) */
  sst_cmp cmp;     /* key ordering */
  sst_buf saved;   /* current key, while repositioning */
} merge_iter;

/* <0 if source a should come before b in the current direction. */
static int before(merge_iter *m, size_t a, size_t b) {
  size_t an, bn;
  const uint8_t *ka = sst_iter_key(m->kids[a], &an);
  const uint8_t *kb = sst_iter_key(m->kids[b], &bn);
  int c = ikey_compare(m->cmp, ka, an, kb, bn);
  if (c == 0) c = a < b ? -1 : a > b;
  return m->forward ? c < 0 : c > 0;
}

static void sift_down(merge_iter *m, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, best = i;
    if (l < m->nheap && before(m, m->heap[l], m->heap[best])) best = l;
    if (r < m->nheap && before(m, m->heap[r], m->heap[best])) best = r;
    if (best == i) return;
    size_t t = m->heap[i];
    m->heap[i] = m->heap[best];
    m->heap[best] = t;
    i = best;
  }
}

static int any_error(merge_iter *m) {
  for (size_t i = 0; i < m->n; i++)
    if (sst_iter_status(m->kids[i])) return sst_iter_status(m->kids[i]);
  return STRATA_OK;
}

static void rebuild(merge_iter *m) {
  m->nheap = 0;
  if (any_error(m)) return;
  for (size_t i = 0; i < m->n; i++)
    if (sst_iter_valid(m->kids[i])) m->heap[m->nheap++] = i;
  for (size_t i = m->nheap / 2; i-- > 0;)
    sift_down(m, i);
}

static int mi_valid(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  return m->nheap > 0;
}

static void mi_first(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->n; i++)
    sst_iter_seek_first(m->kids[i]);
  m->forward = 1;
  rebuild(m);
}

static void mi_last(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->n; i++)
    sst_iter_seek_last(m->kids[i]);
  m->forward = 0;
  rebuild(m);
}

static void mi_seek(sst_iter *it, const uint8_t *k, size_t n) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->n; i++)
    sst_iter_seek(m->kids[i], k, n);
  m->forward = 1;
  rebuild(m);
}

/* After the current source moved: fix the heap (or drop it if exhausted). */
static void advance_top(merge_iter *m) {
  size_t top = m->heap[0];
  if (sst_iter_status(m->kids[top])) {
    m->nheap = 0;
    return;
  }
  if (!sst_iter_valid(m->kids[top])) m->heap[0] = m->heap[--m->nheap];
  if (m->nheap) sift_down(m, 0);
}

static void mi_next(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  if (!m->nheap) return;
  size_t cur = m->heap[0];
  if (!m->forward) {
    size_t kn;
    const uint8_t *k = sst_iter_key(m->kids[cur], &kn);
    if (sst_buf_set(&m->saved, k, kn)) {
      m->nheap = 0;
      return;
    }
    for (size_t i = 0; i < m->n; i++) {
      if (i == cur) continue;
      sst_iter *c = m->kids[i];
      sst_iter_seek(c, m->saved.data, m->saved.len);
      /* Entries equal to the current key from lower-indexed sources came
       * before it going forward: step past them; higher ones come after. */
      if (sst_iter_valid(c) && i < cur) {
        size_t cn;
        const uint8_t *ck = sst_iter_key(c, &cn);
        if (ikey_compare(m->cmp, ck, cn, m->saved.data, m->saved.len) == 0)
          sst_iter_next(c);
      }
    }
    m->forward = 1;
    sst_iter_next(m->kids[cur]);
    rebuild(m);
    return;
  }
  sst_iter_next(m->kids[cur]);
  advance_top(m);
}

static void mi_prev(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  if (!m->nheap) return;
  size_t cur = m->heap[0];
  if (m->forward) {
    size_t kn;
    const uint8_t *k = sst_iter_key(m->kids[cur], &kn);
    if (sst_buf_set(&m->saved, k, kn)) {
      m->nheap = 0;
      return;
    }
    for (size_t i = 0; i < m->n; i++) {
      if (i == cur) continue;
      sst_iter *c = m->kids[i];
      sst_iter_seek(c, m->saved.data, m->saved.len);
      if (sst_iter_valid(c)) {
        /* Going backward, an equal key from a lower-indexed source comes
         * next (it precedes the current one going forward): keep it; one
         * from a higher-indexed source was already passed: step back. */
        size_t cn;
        const uint8_t *ck = sst_iter_key(c, &cn);
        int eq = ikey_compare(m->cmp, ck, cn, m->saved.data, m->saved.len) == 0;
        if (!eq || i > cur) sst_iter_prev(c);
      } else if (!sst_iter_status(c)) {
        sst_iter_seek_last(c);
      }
    }
    m->forward = 0;
    sst_iter_prev(m->kids[cur]);
    rebuild(m);
    return;
  }
  sst_iter_prev(m->kids[cur]);
  advance_top(m);
}

static const uint8_t *mi_key(sst_iter *it, size_t *n) {
  merge_iter *m = (merge_iter *)it;
  return sst_iter_key(m->kids[m->heap[0]], n);
}
static const uint8_t *mi_value(sst_iter *it, size_t *n) {
  merge_iter *m = (merge_iter *)it;
  return sst_iter_value(m->kids[m->heap[0]], n);
}
static int mi_status(sst_iter *it) { return any_error((merge_iter *)it); }

static void mi_destroy(sst_iter *it) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->n; i++)
    sst_iter_destroy(m->kids[i]);
  free(m->kids);
  free(m->heap);
  sst_buf_free(&m->saved);
  free(m);
}

static const sst_iter_ops merge_ops = {mi_valid,  mi_first,  mi_last, mi_seek,
                                       mi_next,   mi_prev,   mi_key,  mi_value,
                                       mi_status, mi_destroy};

sst_iter *sst_merge_iter(sst_iter **children, size_t n, sst_cmp cmp) {
  merge_iter *m = calloc(1, sizeof *m);
  if (m) {
    m->kids = malloc((n ? n : 1) * sizeof *m->kids);
    m->heap = malloc((n ? n : 1) * sizeof *m->heap);
  }
  if (!m || !m->kids || !m->heap) {
    for (size_t i = 0; i < n; i++)
      sst_iter_destroy(children[i]);
    if (m) {
      free(m->kids);
      free(m->heap);
      free(m);
    }
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    m->kids[i] = children[i];
  m->n = n;
  m->cmp = cmp;
  m->forward = 1;
  m->base.ops = &merge_ops;
  return &m->base;
}
