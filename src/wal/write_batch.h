/*
 * write_batch.h — internal interface of the write-batch record (LevelDB's
 * WriteBatch encoding; normative description in docs/formats/wal.md, section
 * "Write batch record").
 *
 * The public builder (strata_batch_*) and decoder (strata_batch_decode) are
 * declared in include/strata.h. What the WAL and the LSM need beyond them is
 * here: the header size, adopting an encoded record read back from disk, and
 * concatenating batches (group commit).
 */
#ifndef STRATA_WAL_WRITE_BATCH_H
#define STRATA_WAL_WRITE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"

enum {
  WRITE_BATCH_HEADER = 12, /* sequence (fixed64) + count (fixed32) */
  WRITE_BATCH_TAG_DELETE = STRATA_OP_DELETE,
  WRITE_BATCH_TAG_PUT = STRATA_OP_PUT
};

/* Replaces b's contents by a copy of the encoded record `rec` (as read from a
 * WAL segment), after checking that it decodes completely: STRATA_CORRUPTION
 * (b unchanged) if it does not, STRATA_NO_MEMORY if the copy fails. */
int write_batch_set_contents(strata_batch *b, const void *rec, size_t size);

/* Appends every operation of `src` to `dst` (dst keeps its own sequence; its
 * count grows by src's). STRATA_INVALID_ARGUMENT if the count would overflow
 * 32 bits, STRATA_NO_MEMORY if growing fails; dst is unchanged on failure. */
int write_batch_append(strata_batch *dst, const strata_batch *src);

/* Encoded size of b in bytes (header included). */
size_t write_batch_size(const strata_batch *b);

#endif
