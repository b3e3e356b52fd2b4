/*
 * wal.h — internal interface of the write-ahead log (public API: the
 * strata_wal_* section of include/strata.h; format: docs/formats/wal.md).
 *
 * The public strata_wal_open uses env_posix(); tests open through another env
 * (env_fault) with wal_open_env to simulate crashes and power loss.
 */
#ifndef STRATA_WAL_WAL_H
#define STRATA_WAL_WAL_H

#include "env/env.h"
#include "strata.h"

/* As strata_wal_open, with every file access going through `e`. */
int wal_open_env(env *e, const char *dir, const strata_wal_options *o,
                 strata_wal **out);

/* Number of segment files currently in the log. */
size_t wal_segment_count(strata_wal *w);

/* The CHECKPOINT file (wal_meta.c): one record of 24 bytes in the record-log
 * format: magic "SWAL" (fixed32 0x4c415753), version (fixed32, 1), the
 * checkpointed sequence number (fixed64) and the last sequence number removed
 * by truncate_front (fixed64). Replaced atomically (temp file, fsync, rename,
 * directory sync). */
typedef struct wal_meta {
  uint64_t checkpoint; /* everything <= this was applied elsewhere */
  uint64_t truncated;  /* last sequence number deleted from the front */
} wal_meta;

/* Reads DIR/CHECKPOINT. STRATA_NOT_FOUND if absent (m zeroed);
 * STRATA_CORRUPTION if damaged (reported to on_damage first). */
int wal_meta_read(env *e, const char *dir, wal_meta *m,
                  strata_damage_fn on_damage, void *arg);
/* Replaces DIR/CHECKPOINT durably. */
int wal_meta_write(env *e, const char *dir, const wal_meta *m);

#endif
