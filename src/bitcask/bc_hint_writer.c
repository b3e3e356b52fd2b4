/*
 * bc_hint_writer.c — the hint file of a data file closed by rotation
 * (format: docs/formats/bitcask.md, "Hint files"; the same records and
 * checksums as merge's hints). Run by the service thread, never by a writer.
 *
 * The data file is immutable once rotated. It is read whole under `absolute`
 * (any damage: no hint, the file keeps being scanned at open), keeping per key
 * the entry with the largest timestamp *in this file* — tombstones included,
 * since older files may still hold a put of the key. Then:
 *   1. the data file is fdatasync'ed (a hint is never relied on for bytes that
 *      may not survive a power loss);
 *   2. NNNNNN.hint.tmp is written (entries, then the footer with the data
 *      file's exact size and the entry count) and fdatasync'ed;
 *   3. it is renamed to NNNNNN.hint and the directory synced.
 * A crash before 3 leaves at most a .tmp file, which open removes; after the
 * rename the hint is complete. Open validates every hint anyway and scans the
 * data file if its hint does not verify.
 *
 * merge_mu is held throughout, so a merge cannot remove the file meanwhile;
 * a file merged away before the thread got to it is skipped.
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bitcask/bc_entry.h"
#include "bitcask/bc_format.h"
#include "bitcask/bitcask.h"
#include "log/log_reader.h"
#include "log/log_record_at.h"
#include "util/coding.h"
#include "util/status.h"

typedef struct hscan {
  bc_keydir *kd;  /* key -> newest entry in this file */
  uint32_t id;    /* the data file */
  uint64_t start; /* current record's first fragment offset */
  size_t plen;    /* its payload length */
} hscan;

static int hscan_entry(void *arg, const bc_entry *e, uint32_t pos,
                       uint32_t len) {
  hscan *c = arg;
  bc_loc l;
  bc_loc_of_entry(&l, c->id, c->start, c->plen, e, pos, len);
  return bc_keydir_put(c->kd, e->key, e->klen, &l, 1, NULL, NULL);
}

/* Reads data file `path` whole into c->kd; *size receives its length. */
static int scan_file(strata_bitcask *db, const char *path, hscan *c,
                     uint64_t *size) {
  log_reader *r = NULL;
  int rc =
      log_reader_open(db->e, path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r);
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  *size = 0;
  while (rc == STRATA_OK &&
         (rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    c->start = info.offset;
    c->plen = n;
    *size = info.end;
    rc = bc_record_walk(rec, n, NULL, NULL); /* whole record or nothing */
    if (rc == STRATA_OK) rc = bc_record_walk(rec, n, hscan_entry, c);
  }
  log_reader_close(r);
  return rc == STRATA_END ? STRATA_OK : rc;
}

/* Writes the hint records of c->kd to w. */
static int write_entries(log_writer *w, const hscan *c, uint64_t size) {
  size_t cap = 2 * BC_HINT_TARGET, len = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  uint64_t count = 0;
  int rc = STRATA_OK;
  size_t slots = bc_keydir_capacity(c->kd);
  for (size_t i = 0; i < slots && rc == STRATA_OK; i++) {
    const uint8_t *k;
    size_t kl;
    bc_loc l;
    if (!bc_keydir_entry(c->kd, i, &k, &kl, &l)) continue;
    size_t need = bc_hint_max_size(kl);
    if (len + need > cap) {
      size_t ncap = len + need + BC_HINT_TARGET;
      uint8_t *v = realloc(buf, ncap);
      if (!v) {
        rc = st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
        break;
      }
      buf = v;
      cap = ncap;
    }
    if (len == 0) buf[len++] = BC_HINT_ENTRIES;
    bc_hint h = {l.tombstone ? BC_KIND_TOMBSTONE : BC_KIND_PUT,
                 c->id,
                 l.offset,
                 l.size,
                 l.sub,
                 l.ts,
                 l.expiry,
                 k,
                 (uint32_t)kl};
    len = (size_t)(bc_hint_encode(buf + len, &h) - buf);
    count++;
    if (len >= BC_HINT_TARGET) {
      rc = log_writer_add(w, buf, len);
      len = 0;
    }
  }
  if (rc == STRATA_OK && len > 0) rc = log_writer_add(w, buf, len);
  if (rc == STRATA_OK) {
    uint8_t *p = buf;
    *p++ = BC_HINT_FOOTER;
    p = encode_varint32(p, c->id);
    p = encode_varint64(p, size);
    p = encode_varint64(p, count);
    p = encode_varint32(p, BC_HINT_ROTATED);
    rc = log_writer_add(w, buf, (size_t)(p - buf));
  }
  free(buf);
  return rc;
}

/* Step 1: makes the data file durable (and marks it synced). */
static int sync_data(strata_bitcask *db, uint32_t id, int *gone) {
  pthread_rwlock_rdlock(&db->mu);
  long fi = bc_find_file(db, id);
  env_file *rf = fi >= 0 ? db->files[fi].rf : NULL;
  pthread_rwlock_unlock(&db->mu);
  *gone = rf == NULL; /* merged away; the handle lives while merge_mu is held */
  if (!rf) return STRATA_OK;
  int rc = env_datasync(rf);
  pthread_mutex_lock(&db->wmu);
  pthread_rwlock_rdlock(&db->mu);
  fi = bc_find_file(db, id);
  if (fi >= 0) {
    /* a failed sync is never made good by a later one (bitcask.c) */
    if (rc != STRATA_OK)
      db->files[fi].unsynced = 2;
    else if (db->files[fi].unsynced == 2)
      rc = st_io_error(EIO, "%s: an earlier fdatasync failed; reopen",
                       rf->path);
    else
      db->files[fi].unsynced = 0;
  }
  pthread_rwlock_unlock(&db->mu);
  pthread_mutex_unlock(&db->wmu);
  return rc;
}

static int write_hint(strata_bitcask *db, uint32_t id) {
  int gone = 0;
  int rc = sync_data(db, id, &gone);
  if (rc != STRATA_OK || gone) return rc;
  char data[4096], tmp[4096], hint[4096];
  bc_file_path(data, sizeof data, db->dir, id, "data");
  bc_file_path(tmp, sizeof tmp, db->dir, id, "hint.tmp");
  bc_file_path(hint, sizeof hint, db->dir, id, "hint");
  hscan c = {bc_keydir_create(), id, 0, 0};
  if (!c.kd) return st_error(STRATA_NO_MEMORY, "bitcask: out of memory");
  uint64_t size = 0;
  rc = scan_file(db, data, &c, &size);
  env_file *f = NULL;
  log_writer *w = NULL;
  if (rc == STRATA_OK) {
    rc = env_open_append(db->e, tmp, ENV_CREATE | ENV_TRUNC, &f);
    if (rc == STRATA_OK)
      rc = log_writer_create(f, 0, 1, &w);
    else
      env_close(f);
  }
  if (rc == STRATA_OK) rc = write_entries(w, &c, size);
  if (rc == STRATA_OK) rc = log_writer_sync(w);
  if (w) {
    int crc = log_writer_close(w);
    if (rc == STRATA_OK) rc = crc;
  }
  bc_keydir_destroy(c.kd);
  if (rc == STRATA_OK) rc = env_rename(db->e, tmp, hint);
  if (rc == STRATA_OK) return env_sync_dir(db->e, db->dir);
  if (env_exists(db->e, tmp)) env_remove(db->e, tmp);
  return rc;
}

int bc_write_rotation_hint(strata_bitcask *db, uint32_t id) {
  pthread_mutex_lock(&db->merge_mu);
  int rc = write_hint(db, id);
  pthread_mutex_unlock(&db->merge_mu);
  return rc;
}
