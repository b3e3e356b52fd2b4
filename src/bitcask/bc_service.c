/*
 * bc_service.c — the Bitcask service thread: one per open, writable handle.
 * It does the work that must not stall writers:
 *
 *  - hint files of rotated data files: bc_rotate queues the id of the file it
 *    closed; the thread writes its hint (bc_hint_writer.c). Close drains the
 *    queue first, so every file rotated while open gets its hint; a crash
 *    before that only means the file is scanned at the next open.
 *  - STRATA_BITCASK_SYNC_INTERVAL: writers count the bytes they append; the
 *    thread wakes every sync_interval_ms, or as soon as sync_interval_bytes
 *    are unsynced, and runs strata_bitcask_sync if anything is pending.
 *
 * svc_mu is a leaf lock: nothing else is taken while holding it.
 */
#include <stdlib.h>
#include <time.h>

#include "bitcask/bitcask.h"
#include "util/status.h"

static int interval_mode(const strata_bitcask *db) {
  return db->opt.sync == STRATA_BITCASK_SYNC_INTERVAL;
}

static void *svc_main(void *arg) {
  strata_bitcask *db = arg;
  pthread_mutex_lock(&db->svc_mu);
  for (;;) {
    if (db->hint_n > 0) {
      uint32_t id = db->hint_q[0];
      for (size_t i = 1; i < db->hint_n; i++)
        db->hint_q[i - 1] = db->hint_q[i];
      db->hint_n--;
      pthread_mutex_unlock(&db->svc_mu);
      /* a failure leaves no hint: the file is scanned at the next open */
      if (bc_write_rotation_hint(db, id) == STRATA_OK)
        atomic_fetch_add(&db->rotation_hints, 1);
      pthread_mutex_lock(&db->svc_mu);
      continue;
    }
    if (db->svc_stop) break;
    if (!interval_mode(db)) {
      pthread_cond_wait(&db->svc_cv, &db->svc_mu);
      continue;
    }
    int due = db->unsynced_bytes >= db->opt.sync_interval_bytes;
    if (!due) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      uint64_t ns =
          (uint64_t)ts.tv_nsec + (uint64_t)db->opt.sync_interval_ms * 1000000u;
      ts.tv_sec += (time_t)(ns / 1000000000u);
      ts.tv_nsec = (long)(ns % 1000000000u);
      pthread_cond_timedwait(&db->svc_cv, &db->svc_mu, &ts);
      if (db->hint_n > 0 || db->svc_stop) continue;
    }
    if (db->unsynced_bytes == 0) continue;
    pthread_mutex_unlock(&db->svc_mu);
    /* a failed sync is retried at the next wake-up; close reports it */
    if (strata_bitcask_sync(db) == STRATA_OK)
      atomic_fetch_add(&db->interval_syncs, 1);
    pthread_mutex_lock(&db->svc_mu);
  }
  pthread_mutex_unlock(&db->svc_mu);
  return NULL;
}

void bc_service_init(strata_bitcask *db) {
  pthread_mutex_init(&db->svc_mu, NULL);
  pthread_cond_init(&db->svc_cv, NULL);
}

int bc_service_start(strata_bitcask *db) {
  if (db->opt.read_only) return STRATA_OK;
  if (pthread_create(&db->svc, NULL, svc_main, db) != 0)
    return st_error(STRATA_IO_ERROR, "%s: cannot start the service thread",
                    db->dir);
  db->svc_started = 1;
  return STRATA_OK;
}

void bc_service_stop(strata_bitcask *db) {
  if (!db->svc_started) return;
  pthread_mutex_lock(&db->svc_mu);
  db->svc_stop = 1;
  pthread_cond_signal(&db->svc_cv);
  pthread_mutex_unlock(&db->svc_mu);
  pthread_join(db->svc, NULL);
  db->svc_started = 0;
}

void bc_service_destroy(strata_bitcask *db) {
  pthread_mutex_destroy(&db->svc_mu);
  pthread_cond_destroy(&db->svc_cv);
  free(db->hint_q);
  db->hint_q = NULL;
}

void bc_service_queue_hint(strata_bitcask *db, uint32_t id) {
  pthread_mutex_lock(&db->svc_mu);
  if (db->hint_n == db->hint_cap) {
    size_t cap = db->hint_cap ? db->hint_cap * 2 : 8;
    uint32_t *v = realloc(db->hint_q, cap * sizeof *v);
    if (v) {
      db->hint_q = v;
      db->hint_cap = cap;
    }
  }
  if (db->hint_n < db->hint_cap) {
    db->hint_q[db->hint_n++] = id;
    pthread_cond_signal(&db->svc_cv);
  }
  pthread_mutex_unlock(&db->svc_mu);
}

void bc_service_note_bytes(strata_bitcask *db, uint64_t n) {
  pthread_mutex_lock(&db->svc_mu);
  uint64_t before = db->unsynced_bytes;
  db->unsynced_bytes += n;
  if (before < db->opt.sync_interval_bytes &&
      db->unsynced_bytes >= db->opt.sync_interval_bytes)
    pthread_cond_signal(&db->svc_cv);
  pthread_mutex_unlock(&db->svc_mu);
}
