/*
 * table_public.c — the public table API of strata.h over the internal table
 * builder and reader (formats and damage rules in table_builder.c and
 * table_reader.c), through the POSIX env.
 */
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "sstable/ikey.h"
#include "sstable/table_builder.h"
#include "sstable/table_reader.h"
#include "strata.h"
#include "util/status.h"

void strata_table_options_init(strata_table_options *o) {
  memset(o, 0, sizeof *o);
  o->block_size = 4096;
  o->restart_interval = 16;
  o->bloom_bits_per_key = 10;
  o->compression = STRATA_COMPRESSION_SNAPPY;
  o->policy = STRATA_RECOVERY_ABSOLUTE;
  o->verify_checksums = 1;
}

int strata_table_writer_open(const char *path, const strata_table_options *o,
                             strata_table_writer **out) {
  return sst_builder_open(env_posix(), path, o, out);
}

int strata_table_writer_add(strata_table_writer *w, const void *key,
                            size_t key_len, const void *value,
                            size_t value_len) {
  return sst_builder_add(w, key, key_len, value, value_len);
}

int strata_table_writer_finish(strata_table_writer *w, uint64_t *file_size) {
  char *dir = sst_builder_dir(w);
  /* The directory is synced after the file, so the new name is durable. */
  int rc = sst_builder_finish(w, file_size);
  if (rc == STRATA_OK)
    rc = dir ? env_sync_dir(env_posix(), dir)
             : st_error(STRATA_NO_MEMORY, "out of memory");
  free(dir);
  return rc;
}

void strata_table_writer_abandon(strata_table_writer *w) {
  sst_builder_abandon(w);
}

int strata_table_open(const char *path, const strata_table_options *o,
                      strata_table_damage_fn on_damage, void *arg,
                      strata_table **out) {
  return sst_table_open(env_posix(), path, o, on_damage, arg, out);
}

void strata_table_close(strata_table *t) { sst_table_close(t); }

int strata_table_get(strata_table *t, const void *key, size_t key_len,
                     void **value, size_t *value_len) {
  uint8_t *v = NULL;
  int rc = sst_table_get(t, key, key_len, &v, value_len);
  *value = v;
  return rc;
}

int strata_table_salvaged(const strata_table *t) {
  return sst_table_is_salvaged(t);
}

struct strata_table_iter {
  sst_iter *it; /* the table's two-level iterator */
};

int strata_table_iter_create(strata_table *t, strata_table_iter **out) {
  *out = NULL;
  strata_table_iter *i = malloc(sizeof *i);
  if (!i || !(i->it = sst_table_iter(t))) {
    free(i);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  *out = i;
  return STRATA_OK;
}

void strata_table_iter_destroy(strata_table_iter *i) {
  if (!i) return;
  sst_iter_destroy(i->it);
  free(i);
}

void strata_table_iter_seek_first(strata_table_iter *i) {
  sst_iter_seek_first(i->it);
}
void strata_table_iter_seek_last(strata_table_iter *i) {
  sst_iter_seek_last(i->it);
}
void strata_table_iter_seek(strata_table_iter *i, const void *k, size_t n) {
  sst_iter_seek(i->it, k, n);
}
void strata_table_iter_next(strata_table_iter *i) { sst_iter_next(i->it); }
void strata_table_iter_prev(strata_table_iter *i) { sst_iter_prev(i->it); }
int strata_table_iter_valid(strata_table_iter *i) {
  return sst_iter_valid(i->it);
}
const void *strata_table_iter_key(strata_table_iter *i, size_t *n) {
  return sst_iter_key(i->it, n);
}
const void *strata_table_iter_value(strata_table_iter *i, size_t *n) {
  return sst_iter_value(i->it, n);
}
int strata_table_iter_status(strata_table_iter *i) {
  return sst_iter_status(i->it);
}

int strata_internal_key_parse(const void *key, size_t len, size_t *user_len,
                              uint64_t *sequence, int *type) {
  return ikey_parse(key, len, user_len, sequence, type);
}
