/*
 * table_builder.h — writes one table file (format in table_builder.c).
 */
#ifndef STRATA_SSTABLE_TABLE_BUILDER_H
#define STRATA_SSTABLE_TABLE_BUILDER_H

#include "env/env.h"
#include "strata.h"

typedef struct strata_table_writer sst_builder;

/* Creates `path` through `e` (truncating). Free with sst_builder_finish or
 * sst_builder_abandon. */
int sst_builder_open(env *e, const char *path, const strata_table_options *o,
                     sst_builder **out);
int sst_builder_add(sst_builder *b, const void *k, size_t kn, const void *v,
                    size_t vn);
/* The directory of the file (malloc'd; caller frees), NULL out of memory. */
char *sst_builder_dir(const sst_builder *b);
/* Entries added so far, and the file size if finished now (approximate). */
uint64_t sst_builder_entries(const sst_builder *b);
uint64_t sst_builder_file_size(const sst_builder *b);
/* Writes the rest, syncs the file (not the directory: callers sync it once
 * for all their outputs), closes and frees. */
int sst_builder_finish(sst_builder *b, uint64_t *file_size);
void sst_builder_abandon(sst_builder *b);

#endif
