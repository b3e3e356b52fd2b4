/*
 * db_write.c — the write path: a queue of writers whose head (the leader)
 * commits its own batch and those queued behind it as one WAL record (group
 * commit: one write and at most one fdatasync for many writers), inserts the
 * group into the memtable, then publishes the new last sequence number, so a
 * reader never sees part of a batch.
 *
 * The WAL is a LevelDB log file DIR/NNNNNN.log of write-batch records
 * (docs/formats/wal.md), appended through a shared mapping (ENV_MMAP): each
 * record is in the kernel's page cache when the write returns, so it
 * survives the process being killed, without a system call per write; a
 * crash leaves the file's preallocated tail as zeros, which recovery reads
 * as the end of the log (LevelDB's reader skips zeros the same way). When the
 * memtable is full the leader syncs the old WAL (so a later synced write can
 * never survive a power loss that an earlier write did not), starts a new WAL,
 * and hands the memtable to the flush thread. Writes slow down (1 ms once) at 8
 * level-0 files and wait at 12, or while the previous memtable is still being
 * flushed; the time is counted in the stats. A failed WAL write or sync is
 * sticky: the write that met it and every later one fail, since nothing may be
 * acknowledged past a hole (a failed fsync is never retried as if the data were
 * safe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "sstable/ikey.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/write_batch.h"

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct inserter {
  mem_table *mem; /* destination */
  uint64_t seq;   /* sequence number of the next operation */
  uint64_t bytes; /* key + value bytes inserted */
} inserter;

static int insert_op(void *arg, int op, const void *k, size_t kn, const void *v,
                     size_t vn) {
  inserter *x = arg;
  x->bytes += kn + vn;
  return mem_add(x->mem, x->seq++,
                 op == STRATA_OP_PUT ? IKEY_VALUE : IKEY_DELETION, k, kn, v,
                 op == STRATA_OP_PUT ? vn : 0);
}

int db_insert_batch(mem_table *mem, const void *rec, size_t n,
                    uint64_t *bytes) {
  if (n < WRITE_BATCH_HEADER) return ST_CORRUPT("write batch too short");
  inserter x = {mem, decode_fixed64(rec), 0};
  int rc = strata_batch_decode(rec, n, NULL, NULL, insert_op, &x);
  if (bytes) *bytes = x.bytes;
  return rc;
}

int db_new_wal(strata_db *db, uint64_t number) {
  char *path = lsm_file_path(db->dir, number, "log");
  if (!path) return st_error(STRATA_NO_MEMORY, "out of memory");
  env_file *f = NULL;
  log_writer *w = NULL;
  int rc = env_open_append(db->e, path, ENV_CREATE | ENV_TRUNC | ENV_MMAP, &f);
  if (!rc) {
    rc = log_writer_create(f, 0, 1, &w);
    if (rc) env_close(f);
  }
  free(path);
  if (rc) return rc;
  if (db->wal) {
    /* Sync the old WAL first: nothing later may outlive it. */
    int src = db->wal_dirty ? log_writer_sync(db->wal) : STRATA_OK;
    int crc = log_writer_close(db->wal);
    if (!src) src = crc;
    if (src) {
      log_writer_close(w);
      db->wal = NULL;
      return src;
    }
    db->st.wal_syncs += db->wal_dirty != 0;
  }
  db->wal = w;
  db->wal_number = number;
  db->wal_dirty = 0;
  return STRATA_OK;
}

static size_t level0_files(strata_db *db) {
  pthread_mutex_lock(&db->vs.mu);
  size_t n = db->vs.current->n[0];
  pthread_mutex_unlock(&db->vs.mu);
  return n;
}

static int bg_failure(strata_db *db) {
  return st_error(db->bg_error,
                  "%s (an earlier background error stops "
                  "writes)",
                  db->bg_msg);
}

/* Makes room in the memtable (mu held; leader only). `force`: switch to a
 * new memtable even if this one has room (a flush request). */
static int make_room(strata_db *db, int force) {
  int allow_delay = !force;
  for (;;) {
    if (db->bg_error) return bg_failure(db);
    if (db->closing)
      return st_error(STRATA_INVALID_ARGUMENT, "%s: closing", db->dir);
    size_t l0 = level0_files(db);
    if (allow_delay && l0 >= L0_SLOWDOWN) {
      uint64_t t0 = now_us();
      pthread_mutex_unlock(&db->mu);
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
      pthread_mutex_lock(&db->mu);
      db->st.slowdowns++;
      db->st.stall_micros += now_us() - t0;
      allow_delay = 0;
      continue;
    }
    if (!force && mem_usage(db->mem) <= db->o.write_buffer_size)
      return STRATA_OK;
    if (db->imm || l0 >= L0_STOP) {
      uint64_t t0 = now_us();
      db->st.stops++;
      pthread_cond_broadcast(&db->work_cv);
      pthread_cond_wait(&db->bg_cv, &db->mu);
      db->st.stall_micros += now_us() - t0;
      continue;
    }
    if (mem_entries(db->mem) == 0) return STRATA_OK; /* nothing to flush */
    mem_table *fresh = mem_create();
    if (!fresh) return st_error(STRATA_NO_MEMORY, "out of memory");
    uint64_t number = lsm_vset_new_number(&db->vs);
    int rc = db_new_wal(db, number);
    if (rc) {
      mem_unref(fresh);
      db_set_bg_error(db, rc);
      return rc;
    }
    db->imm = db->mem;
    db->imm_next_log = number;
    db->mem = fresh;
    force = 0;
    pthread_cond_broadcast(&db->work_cv);
  }
}

int db_write(strata_db *db, const strata_write_options *wo,
             const strata_batch *b) {
  db_writer w;
  memset(&w, 0, sizeof w);
  w.batch = b;
  w.sync = wo ? wo->sync : 0;
  pthread_cond_init(&w.cv, NULL);
  pthread_mutex_lock(&db->mu);
  if (db->tail)
    db->tail->next = &w;
  else
    db->head = &w;
  db->tail = &w;
  while (!w.done && db->head != &w)
    pthread_cond_wait(&w.cv, &db->mu);
  if (w.done) {
    if (w.status)
      st_error(w.status, "%s: %s", db->dir,
               db->bg_error ? db->bg_msg : "write failed in its group commit");
    pthread_mutex_unlock(&db->mu);
    pthread_cond_destroy(&w.cv);
    return w.status;
  }
  int rc = make_room(db, b == NULL);
  db_writer *last = &w;
  if (!rc && b) {
    strata_batch *g = db->group;
    int sync = w.sync;
    strata_batch_clear(g);
    rc = write_batch_append(g, b);
    size_t size = write_batch_size(g);
    size_t max = size <= (128 << 10) ? size + (128 << 10) : GROUP_MAX_BYTES;
    for (db_writer *p = w.next; !rc && p && p->batch; p = p->next) {
      size_t more = write_batch_size(p->batch) - WRITE_BATCH_HEADER;
      if (size + more > max) break;
      if (write_batch_append(g, p->batch)) break;
      size += more;
      sync |= p->sync;
      last = p;
    }
    uint64_t seq = atomic_load(&db->last_seq) + 1;
    strata_batch_set_sequence(g, seq);
    uint32_t count = strata_batch_count(g);
    pthread_mutex_unlock(&db->mu);
    size_t n;
    const void *data = strata_batch_data(g, &n);
    if (!rc) rc = log_writer_add(db->wal, data, n);
    int synced = 0;
    if (!rc && sync) {
      rc = log_writer_sync(db->wal);
      synced = 1;
    }
    int wal_failed = rc != STRATA_OK;
    uint64_t ubytes = 0;
    if (!rc) rc = db_insert_batch(db->mem, data, n, &ubytes);
    pthread_mutex_lock(&db->mu);
    if (!rc) {
      atomic_store(&db->last_seq, seq + count - 1);
      db->wal_dirty = !synced;
      db->st.wal_bytes += n;
      db->st.user_bytes += ubytes;
      db->st.group_commits++;
      db->st.wal_syncs += synced;
    } else if (wal_failed || rc != STRATA_NO_MEMORY) {
      db_set_bg_error(db, rc);
    }
  }
  for (;;) {
    db_writer *r = db->head;
    db->head = r->next;
    if (r != &w) {
      r->status = rc;
      r->done = 1;
      pthread_cond_signal(&r->cv);
    }
    if (r == last) break;
  }
  if (db->head)
    pthread_cond_signal(&db->head->cv);
  else
    db->tail = NULL;
  pthread_mutex_unlock(&db->mu);
  pthread_cond_destroy(&w.cv);
  return rc;
}

int strata_db_write(strata_db *db, const strata_write_options *wo,
                    const strata_batch *batch) {
  if (!batch) return st_error(STRATA_INVALID_ARGUMENT, "no batch");
  return db_write(db, wo, batch);
}

int strata_db_put(strata_db *db, const strata_write_options *wo,
                  const void *key, size_t klen, const void *value,
                  size_t vlen) {
  strata_batch *b = strata_batch_create();
  if (!b) return st_error(STRATA_NO_MEMORY, "out of memory");
  int rc = strata_batch_put(b, key, klen, value, vlen);
  if (!rc) rc = db_write(db, wo, b);
  strata_batch_destroy(b);
  return rc;
}

int strata_db_delete(strata_db *db, const strata_write_options *wo,
                     const void *key, size_t klen) {
  strata_batch *b = strata_batch_create();
  if (!b) return st_error(STRATA_NO_MEMORY, "out of memory");
  int rc = strata_batch_delete(b, key, klen);
  if (!rc) rc = db_write(db, wo, b);
  strata_batch_destroy(b);
  return rc;
}
