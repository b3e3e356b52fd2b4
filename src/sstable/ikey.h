/*
 * ikey.h — LevelDB's internal keys and the two key orderings of tables.
 *
 * An internal key is the user key followed by an 8-byte trailer, fixed64 LE
 * of (sequence << 8 | type), type 0 = deletion, 1 = value. Internal keys
 * order by user key ascending (bytewise), then by trailer descending, so the
 * newest version of a key comes first (LevelDB's InternalKeyComparator).
 *
 * A table is written and read with one ordering, sst_cmp: bytewise or
 * internal. The filter policy of an internal-key table hashes user keys
 * (LevelDB's InternalFilterPolicy).
 */
#ifndef STRATA_SSTABLE_IKEY_H
#define STRATA_SSTABLE_IKEY_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sst_buf.h"

enum {
  IKEY_DELETION = 0,          /* kTypeDeletion */
  IKEY_VALUE = 1,             /* kTypeValue */
  IKEY_TRAILER = 8,           /* bytes of (sequence << 8 | type) */
  IKEY_SEEK_TYPE = IKEY_VALUE /* kValueTypeForSeek */
};
#define IKEY_MAX_SEQUENCE ((1ull << 56) - 1)

typedef enum sst_cmp { SST_CMP_BYTEWISE = 0, SST_CMP_INTERNAL = 1 } sst_cmp;

/* Bytewise comparison, shorter first on a common prefix. */
int ikey_bytewise(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* Compares two keys under `cmp`. Internal keys shorter than 8 bytes (only
 * possible from damaged bytes, which are never returned) compare bytewise. */
int ikey_compare(sst_cmp cmp, const uint8_t *a, size_t an, const uint8_t *b,
                 size_t bn);

/* Appends user key + trailer to dst; -1 when out of memory. */
int ikey_append(sst_buf *dst, const void *user, size_t n, uint64_t seq,
                int type);

/* Splits an internal key. 0 on success, -1 if shorter than 8 bytes or the
 * type is neither deletion nor value. */
int ikey_parse(const uint8_t *k, size_t n, size_t *user_len, uint64_t *seq,
               int *type);

/* The user-key part used for filters: the whole key under bytewise, the key
 * minus its trailer under internal (the whole key if it is too short). */
size_t ikey_filter_len(sst_cmp cmp, size_t n);

/* Replaces `start` with a short key k, start <= k < limit (LevelDB's
 * FindShortestSeparator); unchanged when no shorter one exists. */
int ikey_separator(sst_cmp cmp, sst_buf *start, const uint8_t *limit,
                   size_t ln);
/* Replaces `key` with a short key k >= key (FindShortSuccessor). */
int ikey_successor(sst_cmp cmp, sst_buf *key);

#endif
