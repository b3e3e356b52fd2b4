/*
 * log_reader.h — reads records from a record-log file under one of the four
 * recovery policies of SPEC §2, reporting every dropped region. The acceptance
 * rule for resynchronising inside a damaged block is documented in
 * docs/formats/log.md and at the top of log_reader.c.
 */
#ifndef STRATA_LOG_READER_H
#define STRATA_LOG_READER_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "strata.h"

typedef struct strata_log_reader log_reader;

/* Opens `path` through `e`. The file's size is taken at open; bytes appended
 * later are not read. Free with log_reader_close. */
int log_reader_open(env *e, const char *path, strata_recovery policy,
                    strata_damage_fn on_damage, void *arg, log_reader **out);

/* Reads a log image in memory (not copied; must outlive the reader). */
int log_reader_open_mem(const void *data, size_t size, const char *name,
                        strata_recovery policy, strata_damage_fn on_damage,
                        void *arg, log_reader **out);

/* As strata_log_reader_next. The record is valid until the next call. */
int log_reader_next(log_reader *r, const uint8_t **data, size_t *size,
                    strata_log_record_info *info);

/* Totals so far: bytes dropped and the number of dropped regions reported. */
uint64_t log_reader_dropped_bytes(const log_reader *r);
uint64_t log_reader_drop_count(const log_reader *r);

/* Frees the reader (and closes its file); accepts NULL. */
void log_reader_close(log_reader *r);

#endif
