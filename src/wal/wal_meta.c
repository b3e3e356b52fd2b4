/*
 * wal_meta.c — the WAL's CHECKPOINT file (docs/formats/wal.md, "CHECKPOINT").
 *
 * Format: a record-log file (docs/formats/log.md) holding exactly one record
 * of 24 bytes: magic 0x4c415753 ("SWAL", fixed32), version 1 (fixed32), the
 * checkpointed sequence number (fixed64), the last sequence number deleted by
 * truncate_front (fixed64). Everything is covered by the record's CRC32C.
 *
 * Invariant: the file is only ever replaced whole: written to CHECKPOINT.tmp,
 * fdatasync'd, renamed over CHECKPOINT, and the directory fsync'd, so a crash
 * leaves either the old or the new one. On damage (a bad checksum, a torn
 * file, a wrong size, magic or version) the read fails with
 * STRATA_CORRUPTION after reporting the region; the WAL decides what to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "log/log_writer.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/wal.h"

enum { META_MAGIC = 0x4c415753u, META_VERSION = 1, META_SIZE = 24 };

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

int wal_meta_read(env *e, const char *dir, wal_meta *m,
                  strata_damage_fn on_damage, void *arg) {
  memset(m, 0, sizeof *m);
  char *path = join(dir, "CHECKPOINT");
  if (!path) return st_error(STRATA_NO_MEMORY, "wal: out of memory");
  if (!env_exists(e, path)) {
    free(path);
    return STRATA_NOT_FOUND;
  }
  log_reader *r = NULL;
  int rc =
      log_reader_open(e, path, STRATA_RECOVERY_ABSOLUTE, on_damage, arg, &r);
  const uint8_t *d = NULL;
  size_t n = 0;
  strata_log_record_info info = {0, 0, 0};
  if (rc == STRATA_OK) rc = log_reader_next(r, &d, &n, &info);
  if (rc == STRATA_END) rc = ST_CORRUPT("%s: empty checkpoint file", path);
  if (rc == STRATA_OK && (n != META_SIZE || decode_fixed32(d) != META_MAGIC ||
                          decode_fixed32(d + 4) != META_VERSION)) {
    if (on_damage) {
      strata_damage dm = {path,
                          0,
                          info.end,
                          STRATA_DAMAGE_BAD_RECORD,
                          "not a version-1 WAL checkpoint record",
                          0,
                          0};
      on_damage(arg, &dm);
    }
    rc = ST_CORRUPT("%s: not a version-1 WAL checkpoint record", path);
  }
  if (rc == STRATA_OK) {
    m->checkpoint = decode_fixed64(d + 8);
    m->truncated = decode_fixed64(d + 16);
  }
  log_reader_close(r);
  free(path);
  return rc;
}

int wal_meta_write(env *e, const char *dir, const wal_meta *m) {
  char *tmp = join(dir, "CHECKPOINT.tmp"), *path = join(dir, "CHECKPOINT");
  int rc = tmp && path ? STRATA_OK
                       : st_error(STRATA_NO_MEMORY, "wal: out of memory");
  uint8_t rec[META_SIZE];
  encode_fixed32(rec, META_MAGIC);
  encode_fixed32(rec + 4, META_VERSION);
  encode_fixed64(rec + 8, m->checkpoint);
  encode_fixed64(rec + 16, m->truncated);
  env_file *f = NULL;
  log_writer *w = NULL;
  if (rc == STRATA_OK) rc = env_open_append(e, tmp, ENV_CREATE | ENV_TRUNC, &f);
  if (rc == STRATA_OK) rc = log_writer_create(f, 0, 1, &w);
  if (rc != STRATA_OK) env_close(f);
  if (rc == STRATA_OK) rc = log_writer_add(w, rec, sizeof rec);
  if (rc == STRATA_OK) rc = log_writer_sync(w);
  if (w) {
    int crc = log_writer_close(w);
    if (rc == STRATA_OK) rc = crc;
  }
  if (rc == STRATA_OK) rc = env_rename(e, tmp, path);
  if (rc == STRATA_OK) rc = env_sync_dir(e, dir);
  free(tmp);
  free(path);
  return rc;
}
