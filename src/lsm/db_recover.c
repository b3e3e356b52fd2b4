/*
 * db_recover.c — replaying the live WALs at open: every DIR/NNNNNN.log whose
 * number is at least the MANIFEST's log number (or equals its previous log
 * number), in number order, read with the database's recovery policy; each
 * intact write batch is inserted into a memtable at its sequence numbers,
 * and the memtables are written to level-0 tables (recorded in the edit the
 * open then applies), after which the old WALs are obsolete.
 *
 * Damage (docs/formats/wal.md, SPEC §2): every dropped region is reported
 * (db_on_damage: the caller's callback and DIR/LOG). A record that passes its
 * checksum but is not a well-formed batch is damage too ("bad-record"),
 * never partly applied. Under point-in-time, damage that is not a torn tail
 * stops the replay there: later records, and later WALs, are dropped and
 * reported, so what survives is a consistent prefix. absolute refuses any
 * damage; tolerate-tail refuses all but a torn tail; skip drops only what
 * is damaged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/write_batch.h"

typedef struct lost_region {
  char *file;      /* the WAL (owned) */
  uint64_t offset; /* first byte dropped */
  uint64_t bytes;  /* bytes dropped */
  int kind;        /* strata_damage_kind */
  char *reason;    /* owned */
} lost_region;

typedef struct replay {
  strata_db *db;         /* the database */
  lost_region *lost;     /* damage other than a torn tail, for the ledger */
  size_t nlost, caplost; /* held, allocated */
  int mid_damage;        /* damage that is not a torn tail was reported */
  uint64_t dropped;      /* bytes dropped */
  uint64_t regions;      /* regions dropped */
} replay;

/* 1 if [off, off + n) of `path` is all zero bytes: the preallocated tail of
 * a WAL written through a mapping (ENV_MMAP) that a crash left behind. */
static int zero_tail(env *e, const char *path, uint64_t off, uint64_t n) {
  env_file *f = NULL;
  if (!path || env_open_read(e, path, &f)) return 0;
  uint8_t buf[65536];
  int zero = 1;
  while (zero && n) {
    size_t want = n < sizeof buf ? (size_t)n : sizeof buf, got = 0;
    if (env_pread(f, off, buf, want, &got) || got != want) {
      zero = 0;
      break;
    }
    for (size_t i = 0; i < got && zero; i++)
      zero = buf[i] == 0;
    off += got;
    n -= got;
  }
  env_close(f);
  return zero;
}

static void on_log_damage(void *arg, const strata_damage *d) {
  replay *r = arg;
  if (d->tail && d->kind == STRATA_DAMAGE_TORN_TAIL &&
      zero_tail(r->db->e, d->file, d->offset, d->bytes)) {
    lsm_info(&r->db->log,
             "%s: zero-filled tail of %" PRIu64 " bytes at %" PRIu64
             " (preallocated, no records): end of the log",
             d->file, d->bytes, d->offset);
    return;
  }
  if (!d->tail) r->mid_damage = 1;
  if (!d->tail) { /* a damaged tail is what a crash leaves: not listed */
    if (r->nlost == r->caplost) {
      size_t cap = r->caplost ? r->caplost * 2 : 8;
      lost_region *v = realloc(r->lost, cap * sizeof *v);
      if (v) {
        r->lost = v;
        r->caplost = cap;
      }
    }
    if (r->nlost < r->caplost) {
      lost_region *x = &r->lost[r->nlost++];
      x->file = strdup(d->file ? d->file : "");
      x->offset = d->offset;
      x->bytes = d->bytes;
      x->kind = (int)d->kind;
      x->reason = strdup(d->reason ? d->reason : "");
    }
  }
  r->dropped += d->bytes;
  r->regions++;
  db_on_damage(r->db, d);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The live WAL numbers, ascending (caller frees). */
static int live_logs(strata_db *db, uint64_t **out, size_t *n) {
  char **names;
  size_t count;
  *out = NULL;
  *n = 0;
  int rc = env_list_dir(db->e, db->dir, &names, &count);
  if (rc) return rc;
  uint64_t *v = malloc((count ? count : 1) * sizeof *v);
  if (!v) {
    env_free_list(names, count);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < count; i++) {
    lsm_file_type t;
    uint64_t num;
    if (lsm_parse_file_name(names[i], &t, &num) && t == LSM_FILE_LOG &&
        (num >= db->vs.log_number || num == db->vs.prev_log))
      v[(*n)++] = num;
  }
  env_free_list(names, count);
  qsort(v, *n, sizeof *v, cmp_u64);
  *out = v;
  return STRATA_OK;
}

/* Writes mem to a level-0 table recorded in `edit`; mem is emptied. */
static int spill(strata_db *db, mem_table **mem, version_edit *edit) {
  if (!*mem || mem_entries(*mem) == 0) return STRATA_OK;
  sst_buf lo = {0}, hi = {0};
  uint64_t number = 0, size = 0;
  int rc = db_write_table(db, *mem, &number, &size, &lo, &hi);
  if (!rc && number)
    rc = ve_add_file(edit, 0, number, size, lo.data, lo.len, hi.data, hi.len);
  if (!rc)
    lsm_info(&db->log, "recovery: wrote %06" PRIu64 ".ldb (%" PRIu64 " bytes)",
             number, size);
  sst_buf_free(&lo);
  sst_buf_free(&hi);
  mem_unref(*mem);
  *mem = NULL;
  return rc;
}

/* A record that passed its checksum but is not a batch. */
static int bad_record(strata_db *db, replay *r, const char *path,
                      const strata_log_record_info *info, size_t n,
                      const char *why) {
  strata_damage d = {path, info->offset, n, STRATA_DAMAGE_BAD_RECORD, why, 1,
                     0};
  on_log_damage(r, &d);
  if (db->o.recovery == STRATA_RECOVERY_SKIP) return STRATA_OK;
  if (db->o.recovery == STRATA_RECOVERY_POINT_IN_TIME) return STRATA_END;
  return ST_CORRUPT("%s: offset %" PRIu64 ": %s", path, info->offset, why);
}

/* Reports a whole WAL as dropped (point-in-time stopped before it). */
static void drop_file(strata_db *db, replay *r, const char *path) {
  uint64_t size = 0;
  env_size(db->e, path, &size);
  if (!size) return;
  strata_damage d = {path,
                     0,
                     size,
                     STRATA_DAMAGE_SEQUENCE_GAP,
                     "dropped: point-in-time recovery stopped at damage in an "
                     "earlier WAL",
                     0,
                     1};
  on_log_damage(r, &d);
}

int db_recover_wals(strata_db *db, version_edit *edit) {
  uint64_t *logs;
  size_t nlogs;
  int rc = live_logs(db, &logs, &nlogs);
  if (rc) return rc;
  replay r;
  memset(&r, 0, sizeof r);
  r.db = db;
  uint64_t max_seq = atomic_load(&db->last_seq);
  mem_table *mem = NULL;
  int stopped = 0;
  uint64_t batches = 0;
  for (size_t i = 0; i < nlogs && !rc; i++) {
    lsm_vset_mark_used(&db->vs, logs[i]);
    char *path = lsm_file_path(db->dir, logs[i], "log");
    if (!path) {
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
      break;
    }
    if (stopped) {
      drop_file(db, &r, path);
      free(path);
      continue;
    }
    log_reader *lr = NULL;
    rc = log_reader_open(db->e, path, db->o.recovery, on_log_damage, &r, &lr);
    const uint8_t *rec;
    size_t n;
    strata_log_record_info info;
    while (!rc && (rc = log_reader_next(lr, &rec, &n, &info)) == STRATA_OK) {
      uint32_t count = 0;
      if (n < WRITE_BATCH_HEADER ||
          strata_batch_decode(rec, n, NULL, &count, NULL, NULL) != STRATA_OK) {
        rc = bad_record(db, &r, path, &info, n,
                        "a checksummed record that is not a write batch");
        if (rc == STRATA_END) stopped = 1;
        continue;
      }
      uint64_t seq = decode_fixed64(rec);
      if (!mem && !(mem = mem_create())) {
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
        break;
      }
      rc = db_insert_batch(mem, rec, n, NULL);
      batches++;
      if (count && seq + count - 1 > max_seq) max_seq = seq + count - 1;
      if (!rc && mem_usage(mem) > db->o.write_buffer_size)
        rc = spill(db, &mem, edit);
    }
    if (rc == STRATA_END) rc = STRATA_OK;
    if (!rc && r.mid_damage && db->o.recovery == STRATA_RECOVERY_POINT_IN_TIME)
      stopped = 1;
    log_reader_close(lr);
    free(path);
  }
  if (!rc) rc = spill(db, &mem, edit);
  mem_unref(mem);
  free(logs);
  /* What the WALs lost in their middle cannot be named key by key: the
   * ledger lists it as an unbounded range, so no older version is served as
   * current until the user acknowledges the loss. A torn tail is what a
   * crash leaves of unacknowledged writes: not listed. */
  for (size_t i = 0; i < r.nlost; i++) {
    lost_region *x = &r.lost[i];
    strata_damage d = {
        x->file,   x->offset, x->bytes, (strata_damage_kind)x->kind,
        x->reason, 0,         0};
    if (!rc && x->file && x->reason)
      rc = lsm_ledger_add(&db->ledger, NULL, 0, NULL, 0, max_seq, &d);
    free(x->file);
    free(x->reason);
  }
  free(r.lost);
  if (rc) return rc;
  atomic_store(&db->last_seq, max_seq);
  db->st.dropped_bytes = r.dropped;
  if (nlogs)
    lsm_info(&db->log,
             "recovery: %zu WAL%s, %" PRIu64 " batches replayed, %" PRIu64
             " bytes dropped in %" PRIu64 " regions, last sequence %" PRIu64,
             nlogs, nlogs == 1 ? "" : "s", batches, r.dropped, r.regions,
             max_seq);
  return STRATA_OK;
}
