/*
 * log_public.c — the public strata_log_reader_* / strata_log_writer_* API
 * over log_reader and log_writer with the POSIX env.
 */
#include <stdlib.h>

#include "env/env.h"
#include "log/log_reader.h"
#include "log/log_writer.h"
#include "util/status.h"

struct strata_log_writer {
  log_writer *w;    /* the writer, owning its file */
  char *dir;        /* directory of the file, for the first sync */
  int dir_unsynced; /* the file was created and its directory not synced */
};

int strata_log_reader_open(const char *path, strata_recovery policy,
                           strata_damage_fn on_damage, void *arg,
                           strata_log_reader **out) {
  if (!path || !out)
    return st_error(STRATA_INVALID_ARGUMENT, "log reader: NULL argument");
  return log_reader_open(env_posix(), path, policy, on_damage, arg, out);
}

int strata_log_reader_open_mem(const void *data, size_t size, const char *name,
                               strata_recovery policy,
                               strata_damage_fn on_damage, void *arg,
                               strata_log_reader **out) {
  if ((!data && size) || !out)
    return st_error(STRATA_INVALID_ARGUMENT, "log reader: NULL argument");
  return log_reader_open_mem(data, size, name, policy, on_damage, arg, out);
}

int strata_log_reader_next(strata_log_reader *r, const void **data,
                           size_t *size, strata_log_record_info *info) {
  const uint8_t *d;
  int rc = log_reader_next(r, &d, size, info);
  if (rc == STRATA_OK) *data = d;
  return rc;
}

void strata_log_reader_close(strata_log_reader *r) { log_reader_close(r); }

int strata_log_writer_open(const char *path, strata_log_writer **out) {
  if (!path || !out)
    return st_error(STRATA_INVALID_ARGUMENT, "log writer: NULL argument");
  env *e = env_posix();
  strata_log_writer *lw = calloc(1, sizeof *lw);
  if (!lw || !(lw->dir = env_dirname(path))) {
    free(lw);
    return st_error(STRATA_NO_MEMORY, "log writer: out of memory");
  }
  lw->dir_unsynced = !env_exists(e, path);
  env_file *f = NULL;
  uint64_t size = 0;
  int rc = env_open_append(e, path, ENV_CREATE, &f);
  if (rc == STRATA_OK) rc = env_file_size(f, &size);
  if (rc == STRATA_OK) rc = log_writer_create(f, size, 1, &lw->w);
  if (rc != STRATA_OK) {
    env_close(f);
    free(lw->dir);
    free(lw);
    return rc;
  }
  *out = lw;
  return STRATA_OK;
}

int strata_log_writer_add(strata_log_writer *lw, const void *data,
                          size_t size) {
  if (!data && size)
    return st_error(STRATA_INVALID_ARGUMENT, "log writer: NULL data");
  return log_writer_add(lw->w, data, size);
}

int strata_log_writer_sync(strata_log_writer *lw) {
  int rc = log_writer_sync(lw->w);
  if (rc == STRATA_OK && lw->dir_unsynced) {
    rc = env_sync_dir(env_posix(), lw->dir);
    if (rc == STRATA_OK) lw->dir_unsynced = 0;
  }
  return rc;
}

uint64_t strata_log_writer_size(const strata_log_writer *lw) {
  return log_writer_size(lw->w);
}

int strata_log_writer_close(strata_log_writer *lw) {
  if (!lw) return STRATA_OK;
  int rc = log_writer_close(lw->w);
  free(lw->dir);
  free(lw);
  return rc;
}
