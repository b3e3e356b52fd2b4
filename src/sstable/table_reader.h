/*
 * table_reader.h — reading one table file (format and damage rules in
 * table_reader.c).
 */
#ifndef STRATA_SSTABLE_TABLE_READER_H
#define STRATA_SSTABLE_TABLE_READER_H

#include "env/env.h"
#include "sstable/ikey.h"
#include "sstable/sst_format.h"
#include "sstable/sst_iter.h"
#include "strata.h"

typedef struct strata_table sst_table;

/* Opens `path` through `e` (contract of strata_table_open). */
int sst_table_open(env *e, const char *path, const strata_table_options *o,
                   strata_table_damage_fn on_damage, void *arg,
                   sst_table **out);
/* The same over a table image in memory (copied; `name` is used in
 * reports). */
int sst_table_open_mem(const uint8_t *data, size_t size, const char *name,
                       const strata_table_options *o,
                       strata_table_damage_fn on_damage, void *arg,
                       sst_table **out);
void sst_table_close(sst_table *t);

/* An iterator over the whole table (two-level: index → data blocks). NULL
 * when out of memory. Destroy before closing the table. */
sst_iter *sst_table_iter(sst_table *t);

/* Point lookup (contract of strata_table_get); *value malloc'd. */
int sst_table_get(sst_table *t, const uint8_t *k, size_t n, uint8_t **value,
                  size_t *vn);

/* Internal-key lookup for the LSM engine: the first entry >= `ikey` whose
 * user key equals ikey's. STRATA_OK with a copy of its full key and value
 * (malloc'd); STRATA_NOT_FOUND. */
int sst_table_get_internal(sst_table *t, const uint8_t *ikey, size_t n,
                           uint8_t **key, size_t *kn, uint8_t **value,
                           size_t *vn);

sst_cmp sst_table_cmp(const sst_table *t);
const char *sst_table_name(const sst_table *t);
int sst_table_is_salvaged(const sst_table *t);
uint64_t sst_table_file_size(const sst_table *t);

/* The index block in use (the salvaged one after a salvage); valid while
 * the table is open. */
void sst_table_index_block(const sst_table *t, const uint8_t **data, size_t *n);
/* 1 and *f if the footer decoded. */
int sst_table_footer(const sst_table *t, sst_footer *f);
/* sst_read_block on this table's file; *type gets the trailer's type byte
 * (-1 if it could not be read). */
int sst_table_read(sst_table *t, sst_handle h, uint8_t **out, size_t *n,
                   strata_damage_kind *kind, int *type);

/* Reads one block: verifies its trailer's CRC (when `verify`), uncompresses
 * into a malloc'd buffer. STRATA_CORRUPTION names the file, the offset and
 * `what` ("checksum mismatch", ...); *kind tells the damage kind. */
int sst_read_block(env_file *f, const uint8_t *img, uint64_t file_size,
                   const char *name, sst_handle h, int verify, uint8_t **out,
                   size_t *n, strata_damage_kind *kind);

#endif
