/*
 * sst_iter.h — the iterator interface shared by block, table, and merging
 * iterators (LevelDB's Iterator): positioned on an entry or not valid.
 *
 * key/value pointers are valid until the next call that moves the iterator.
 * status is STRATA_OK unless the iterator met damage or an error it could not
 * go past; a non-OK status leaves the iterator not valid.
 */
#ifndef STRATA_SSTABLE_SST_ITER_H
#define STRATA_SSTABLE_SST_ITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sst_iter sst_iter;

typedef struct sst_iter_ops {
  int (*valid)(sst_iter *it);
  void (*seek_first)(sst_iter *it);
  void (*seek_last)(sst_iter *it);
  void (*seek)(sst_iter *it, const uint8_t *k, size_t n); /* first >= k */
  void (*next)(sst_iter *it);
  void (*prev)(sst_iter *it);
  const uint8_t *(*key)(sst_iter *it, size_t *n);
  const uint8_t *(*value)(sst_iter *it, size_t *n);
  int (*status)(sst_iter *it);
  void (*destroy)(sst_iter *it);
} sst_iter_ops;

/* Every iterator embeds this first. */
struct sst_iter {
  const sst_iter_ops *ops; /* the implementation */
};

static inline int sst_iter_valid(sst_iter *it) { return it->ops->valid(it); }
static inline void sst_iter_seek_first(sst_iter *it) {
  it->ops->seek_first(it);
}
static inline void sst_iter_seek_last(sst_iter *it) { it->ops->seek_last(it); }
static inline void sst_iter_seek(sst_iter *it, const uint8_t *k, size_t n) {
  it->ops->seek(it, k, n);
}
static inline void sst_iter_next(sst_iter *it) { it->ops->next(it); }
static inline void sst_iter_prev(sst_iter *it) { it->ops->prev(it); }
static inline const uint8_t *sst_iter_key(sst_iter *it, size_t *n) {
  return it->ops->key(it, n);
}
static inline const uint8_t *sst_iter_value(sst_iter *it, size_t *n) {
  return it->ops->value(it, n);
}
static inline int sst_iter_status(sst_iter *it) { return it->ops->status(it); }
/* Frees the iterator; accepts NULL. */
static inline void sst_iter_destroy(sst_iter *it) {
  if (it) it->ops->destroy(it);
}

#endif
