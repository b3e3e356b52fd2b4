/*
 * wal.c — the write-ahead log (docs/formats/wal.md; API in include/strata.h).
 *
 * Format. A directory of segment files NNNNNN.log (decimal, zero-padded to 6
 * digits, numbered upwards), each a record log (docs/formats/log.md) whose
 * every record is one write batch in LevelDB's WriteBatch encoding (sequence
 * fixed64, count fixed32, operations). CHECKPOINT (wal_meta.c) holds the
 * checkpointed sequence number and the last one removed by truncate_front.
 * LOCK guards against a second opener. NNNNNN-OFFSET.lost files hold what a
 * point-in-time recovery moved out of the log.
 *
 * Invariants.
 *  - Sequence numbers are continuous: each batch starts where the previous
 *    one ended (sequence + count), across records and segments. A batch with
 *    count 0 may jump forward: strata writes such a *bridge* after a recovery
 *    that dropped sequence numbers, so that none is ever given out twice.
 *  - A batch is one checksummed record, so it is atomic; no markers needed.
 *  - Only the last segment is appended to, and never after damage: a torn
 *    tail is cut off at open before the first append.
 *  - Readers (replay, iterate) read each segment only up to its committed
 *    size, the end of the last group whose append returned: never a batch in
 *    flight.
 *  - truncate_front removes whole files only (after recording durably in
 *    CHECKPOINT what it removes, so numbering continues after it).
 *
 * Damage. On open and on every read, the log reader applies the policy to
 * the bytes of each segment; on top of it a sequence discontinuity (a hole,
 * or a number going back) and a checksummed record that is not a batch are
 * damage too: absolute and tolerate-tail fail, point-in-time stops there
 * (at open: the rest is moved to .lost files and the segment cut), skip
 * reports it and carries on. Every drop is reported with the sequence range
 * it cost when the records on both sides of it are known.
 *
 * Concurrency. `mu` guards the queue, the segment list and the counters.
 * Appenders and exclusive operations (sync, checkpoint, truncation, rotation)
 * queue up; the one at the head leads: it takes every append queued behind
 * it (group commit), gives them sequence numbers, writes them with one
 * writev and syncs once, without holding `mu` during the I/O.
 */
#include "wal/wal.h"

#include <errno.h>
#include <time.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"
#include "wal/wal_internal.h"
#include "wal/write_batch.h"

/* ---- small helpers ----------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *wal_seg_path(const strata_wal *w, uint64_t number) {
  size_t n = strlen(w->dir) + 32;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%06" PRIu64 ".log", w->dir, number);
  return p;
}

int wal_oom(void) { return st_error(STRATA_NO_MEMORY, "wal: out of memory"); }

/* Parses "NNNNNN.log" (digits only before .log); 1 on success. */
static int parse_seg_name(const char *name, uint64_t *number) {
  size_t n = strlen(name);
  if (n < 5 || strcmp(name + n - 4, ".log") != 0) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n - 4; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    if (v > (UINT64_MAX / 10) - 1) return 0;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  *number = v;
  return 1;
}

static int push_seg(strata_wal *w, const wal_seg *s) {
  if (w->nseg == w->capseg) {
    size_t cap = w->capseg ? w->capseg * 2 : 8;
    wal_seg *v = realloc(w->segs, cap * sizeof *v);
    if (!v) return wal_oom();
    w->segs = v;
    w->capseg = cap;
  }
  w->segs[w->nseg++] = *s;
  return STRATA_OK;
}

/* ---- the queue ---------------------------------------------------------- */

static void enqueue(strata_wal *w, waiter *me) {
  me->next = NULL;
  if (w->tail)
    w->tail->next = me;
  else
    w->head = me;
  w->tail = me;
}

/* Pops the head (caller holds mu) and wakes the new head. */
static void pop_head(strata_wal *w) {
  waiter *h = w->head;
  w->head = h->next;
  if (!w->head) w->tail = NULL;
  if (w->head) pthread_cond_signal(&w->head->cv);
}

/* Waits (mu held) until `me` is at the head or was completed by a leader. */
static void wait_turn(strata_wal *w, waiter *me) {
  while (!me->done && w->head != me)
    pthread_cond_wait(&me->cv, &w->mu);
}

typedef int (*wal_exclusive_fn)(strata_wal *w, void *arg);

/* Runs `fn` alone: no append or other exclusive op runs meanwhile. */
int wal_run_exclusive(strata_wal *w, wal_exclusive_fn fn, void *arg) {
  waiter me;
  memset(&me, 0, sizeof me);
  pthread_cond_init(&me.cv, NULL);
  pthread_mutex_lock(&w->mu);
  enqueue(w, &me);
  wait_turn(w, &me);
  pthread_mutex_unlock(&w->mu);
  int rc = fn(w, arg);
  pthread_mutex_lock(&w->mu);
  pop_head(w);
  pthread_mutex_unlock(&w->mu);
  pthread_cond_destroy(&me.cv);
  return rc;
}

/* ---- segments: create, rotate -------------------------------------------- */

/* Creates segment `number` (must not exist), preallocates it and makes its
 * name durable; the caller owns *out. */
static int create_segment(strata_wal *w, uint64_t number, log_writer **out) {
  char *path = wal_seg_path(w, number);
  if (!path) return wal_oom();
  env_file *f = NULL;
  int rc = env_open_append(w->e, path, ENV_CREATE | ENV_EXCL, &f);
  if (rc == STRATA_OK) rc = env_preallocate(f, 0, w->opt.segment_size);
  if (rc == STRATA_OK) rc = env_sync_dir(w->e, w->dir);
  if (rc == STRATA_OK) rc = log_writer_create(f, 0, 1, out);
  if (rc != STRATA_OK) env_close(f);
  free(path);
  return rc;
}

/* Leader only: syncs and closes the active segment, starts the next. */
int wal_rotate(strata_wal *w) {
  int rc = log_writer_sync(w->lw);
  pthread_mutex_lock(&w->mu);
  wal_seg last = w->segs[w->nseg - 1];
  if (rc == STRATA_OK) w->unsynced = 0;
  pthread_mutex_unlock(&w->mu);
  if (rc != STRATA_OK) return rc;
  w->last_sync_ns = now_ns();
  log_writer *nw = NULL;
  rc = create_segment(w, last.number + 1, &nw);
  if (rc != STRATA_OK) return rc;
  wal_seg s = {last.number + 1, last.end, last.end, 0, 0};
  pthread_mutex_lock(&w->mu);
  rc = push_seg(w, &s);
  pthread_mutex_unlock(&w->mu);
  if (rc != STRATA_OK) {
    log_writer_close(nw);
    return rc;
  }
  log_writer_close(w->lw);
  w->lw = nw;
  return STRATA_OK;
}

/* ---- append (group commit) --------------------------------------------- */

/* The head of the queue, an append, leads: caller holds mu, and holds it
 * again on return. */
static void lead_appends(strata_wal *w) {
  waiter *group[GROUP_MAX];
  struct iovec iov[GROUP_MAX];
  int n = 0;
  size_t bytes = 0;
  int rc = STRATA_OK;
  for (waiter *x = w->head; x && x->batch && n < GROUP_MAX; x = x->next) {
    size_t size;
    const void *data = strata_batch_data(x->batch, &size);
    if (n > 0 && bytes + size > GROUP_BYTES) break;
    uint32_t count = strata_batch_count(x->batch);
    if (w->next_seq > UINT64_MAX - count - 2) {
      rc = st_error(STRATA_INVALID_ARGUMENT, "wal: sequence numbers exhausted");
      break;
    }
    strata_batch_set_sequence(x->batch, w->next_seq);
    data = strata_batch_data(x->batch, &size);
    x->first_seq = w->next_seq;
    w->next_seq += count;
    group[n] = x;
    iov[n].iov_base = (void *)data;
    iov[n].iov_len = size;
    bytes += size;
    n++;
  }
  if (w->failed) rc = w->fail_status;
  if (n == 0 && rc == STRATA_OK) rc = st_error(STRATA_INVALID_ARGUMENT, "wal");
  int need_rotate = w->segs[w->nseg - 1].has_records &&
                    w->segs[w->nseg - 1].size >= w->opt.segment_size;
  uint64_t unsynced = w->unsynced + bytes;
  pthread_mutex_unlock(&w->mu);

  if (rc == STRATA_OK && need_rotate) rc = wal_rotate(w);
  if (rc == STRATA_OK) rc = log_writer_add_many(w->lw, iov, n);
  int synced = 0;
  if (rc == STRATA_OK) {
    int want = w->opt.sync == STRATA_WAL_SYNC_ALWAYS;
    if (w->opt.sync == STRATA_WAL_SYNC_INTERVAL)
      want = unsynced >= w->opt.sync_interval_bytes ||
             now_ns() - w->last_sync_ns >=
                 (uint64_t)w->opt.sync_interval_ms * 1000000u;
    if (want) {
      rc = log_writer_sync(w->lw);
      synced = 1;
      w->last_sync_ns = now_ns();
    }
  }

  pthread_mutex_lock(&w->mu);
  if (rc == STRATA_OK) {
    wal_seg *s = &w->segs[w->nseg - 1];
    s->size = log_writer_size(w->lw);
    if (!s->has_records) s->first = group[0]->first_seq;
    s->has_records = 1;
    s->end = w->next_seq;
    w->unsynced = synced ? 0 : unsynced;
  } else if (!w->failed) {
    w->failed = 1;
    w->fail_status = rc;
    snprintf(w->fail_msg, sizeof w->fail_msg, "%s", strata_last_error());
  }
  if (n == 0) {
    /* nothing taken: complete the head alone */
    group[0] = w->head;
    n = 1;
  }
  for (int i = 0; i < n; i++) {
    group[i]->status = rc;
    group[i]->done = 1;
    if (i > 0) pthread_cond_signal(&group[i]->cv);
    pop_head(w);
  }
}

int strata_wal_append(strata_wal *w, strata_batch *b, uint64_t *first_seq) {
  if (!w || !b) return st_error(STRATA_INVALID_ARGUMENT, "wal append: NULL");
  waiter me;
  memset(&me, 0, sizeof me);
  me.batch = b;
  pthread_cond_init(&me.cv, NULL);
  pthread_mutex_lock(&w->mu);
  enqueue(w, &me);
  wait_turn(w, &me);
  if (!me.done) lead_appends(w);
  int rc = me.status;
  char msg[256];
  msg[0] = '\0';
  if (rc != STRATA_OK && w->failed)
    snprintf(msg, sizeof msg, "%s", w->fail_msg);
  pthread_mutex_unlock(&w->mu);
  pthread_cond_destroy(&me.cv);
  if (rc != STRATA_OK) {
    if (msg[0]) st_error(rc, "%s", msg);
    return rc;
  }
  if (first_seq) *first_seq = me.first_seq;
  return STRATA_OK;
}

/* ---- sync, checkpoint, sequence ----------------------------------------- */

static int op_sync(strata_wal *w, void *arg) {
  (void)arg;
  pthread_mutex_lock(&w->mu);
  int failed = w->failed, st = w->fail_status;
  pthread_mutex_unlock(&w->mu);
  if (failed) return st_error(st, "wal: disabled by an earlier failed write");
  int rc = log_writer_sync(w->lw);
  if (rc != STRATA_OK) return rc;
  w->last_sync_ns = now_ns();
  pthread_mutex_lock(&w->mu);
  w->unsynced = 0;
  pthread_mutex_unlock(&w->mu);
  return STRATA_OK;
}

int strata_wal_sync(strata_wal *w) {
  if (!w) return st_error(STRATA_INVALID_ARGUMENT, "wal sync: NULL");
  return wal_run_exclusive(w, op_sync, NULL);
}

uint64_t strata_wal_last_sequence(strata_wal *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t s = w->next_seq - 1;
  pthread_mutex_unlock(&w->mu);
  return s;
}

uint64_t strata_wal_checkpointed(strata_wal *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t s = w->meta.checkpoint;
  pthread_mutex_unlock(&w->mu);
  return s;
}

static int op_checkpoint(strata_wal *w, void *arg) {
  uint64_t seq = *(uint64_t *)arg;
  pthread_mutex_lock(&w->mu);
  wal_meta m = w->meta;
  uint64_t last = w->next_seq - 1;
  pthread_mutex_unlock(&w->mu);
  if (seq > last || seq < m.checkpoint)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "%s: checkpoint %" PRIu64 " outside %" PRIu64 "..%" PRIu64,
                    w->dir, seq, m.checkpoint, last);
  m.checkpoint = seq;
  int rc = wal_meta_write(w->e, w->dir, &m);
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&w->mu);
  w->meta = m;
  pthread_mutex_unlock(&w->mu);
  return STRATA_OK;
}

int strata_wal_checkpoint(strata_wal *w, uint64_t seq) {
  if (!w) return st_error(STRATA_INVALID_ARGUMENT, "wal checkpoint: NULL");
  return wal_run_exclusive(w, op_checkpoint, &seq);
}

size_t wal_segment_count(strata_wal *w) {
  pthread_mutex_lock(&w->mu);
  size_t n = w->nseg;
  pthread_mutex_unlock(&w->mu);
  return n;
}

/* ---- open, recovery, close ---------------------------------------------- */

void strata_wal_options_init(strata_wal_options *o) {
  memset(o, 0, sizeof *o);
  o->segment_size = 64u << 20;
  o->sync = STRATA_WAL_SYNC_ALWAYS;
  o->sync_interval_ms = 100;
  o->sync_interval_bytes = 1u << 20;
  o->recovery = STRATA_RECOVERY_POINT_IN_TIME;
}

static void *bg_main(void *arg) {
  strata_wal *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->closing) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns =
        (uint64_t)ts.tv_nsec + (uint64_t)w->opt.sync_interval_ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&w->bg_cv, &w->mu, &ts);
    if (w->closing || !w->unsynced || w->failed) continue;
    pthread_mutex_unlock(&w->mu);
    strata_wal_sync(w);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void meta_damage(void *arg, const strata_damage *d) {
  wal_scanner *sc = arg;
  strata_wal_damage wd;
  memset(&wd, 0, sizeof wd);
  wd.damage = *d;
  wd.lost_first = 1;
  wal_emit(sc, &wd);
}

/* Point-in-time at open: keeps segs[i] up to `off`, moves the rest of it and
 * every later segment into .lost files, and reports them. */
/* Creates segment s->number holding one bridge: an empty batch numbered
 * s->end, synced; sets s->size. */
static int write_bridge_segment(strata_wal *w, wal_seg *s) {
  log_writer *lw = NULL;
  strata_batch *b = strata_batch_create();
  int rc = b ? create_segment(w, s->number, &lw) : wal_oom();
  if (rc == STRATA_OK) {
    size_t size;
    strata_batch_set_sequence(b, s->end);
    const void *data = strata_batch_data(b, &size);
    rc = log_writer_add(lw, data, size);
  }
  if (rc == STRATA_OK) rc = log_writer_sync(lw);
  if (rc == STRATA_OK) s->size = log_writer_size(lw);
  int crc = log_writer_close(lw);
  if (rc == STRATA_OK) rc = crc;
  strata_batch_destroy(b);
  return rc;
}

/* DIR/NNNNNN-OFF.lost, or with a .N suffix if taken: never overwritten. */
static void lost_name(strata_wal *w, uint64_t number, uint64_t off, char *buf,
                      size_t n) {
  snprintf(buf, n, "%s/%06" PRIu64 "-%" PRIu64 ".lost", w->dir, number, off);
  for (unsigned k = 1; env_exists(w->e, buf) && k < 100000; k++)
    snprintf(buf, n, "%s/%06" PRIu64 "-%" PRIu64 ".lost.%u", w->dir, number,
             off, k);
}

static int quarantine(strata_wal *w, wal_scanner *sc, size_t i, uint64_t off,
                      int report_region) {
  char *path = wal_seg_path(w, w->segs[i].number);
  char lost[4200];
  int rc = path ? STRATA_OK : wal_oom();
  uint64_t size = w->segs[i].size;
  if (rc == STRATA_OK && off < size) {
    uint8_t *buf = NULL;
    env_file *in = NULL, *out = NULL;
    lost_name(w, w->segs[i].number, off, lost, sizeof lost);
    rc = wal_read_segment(w, w->segs[i].number, size, &buf);
    if (rc == STRATA_OK)
      rc = env_open_append(w->e, lost, ENV_CREATE | ENV_EXCL, &out);
    if (rc == STRATA_OK) rc = env_append(out, buf + off, size - off);
    if (rc == STRATA_OK) rc = env_datasync(out);
    env_close(out);
    if (rc == STRATA_OK) rc = env_open_append(w->e, path, 0, &in);
    if (rc == STRATA_OK) rc = env_truncate(in, off);
    if (rc == STRATA_OK) rc = env_datasync(in);
    env_close(in);
    free(buf);
    w->segs[i].size = off;
    if (rc == STRATA_OK && report_region) {
      char why[4400];
      snprintf(why, sizeof why, "dropped after the damage, moved to %s", lost);
      sc->seg = w->segs[i].number;
      wal_damage(sc, STRATA_DAMAGE_SEQUENCE_GAP, off, size - off, 0, 0, 0, 0,
                 why);
    }
  }
  free(path);
  for (size_t j = i + 1; rc == STRATA_OK && j < w->nseg; j++) {
    char *from = wal_seg_path(w, w->segs[j].number);
    lost_name(w, w->segs[j].number, 0, lost, sizeof lost);
    rc = from ? env_rename(w->e, from, lost) : wal_oom();
    if (rc == STRATA_OK) {
      sc->seg = w->segs[j].number;
      wal_damage(sc, STRATA_DAMAGE_SEQUENCE_GAP, 0, w->segs[j].size, 0, 0, 0, 0,
                 "segment after the damage dropped by point-in-time recovery "
                 "(moved to a .lost file)");
    }
    free(from);
  }
  if (rc == STRATA_OK) rc = env_sync_dir(w->e, w->dir);
  if (rc == STRATA_OK) w->nseg = i + 1;
  return rc;
}

/* Fills w->segs with the segment files of the directory, in number order
 * (removing a CHECKPOINT.tmp left by a crash if `tidy`). */
int wal_list_segments(strata_wal *w, int tidy) {
  char **names = NULL;
  size_t count = 0;
  int rc = env_list_dir(w->e, w->dir, &names, &count);
  if (rc != STRATA_OK) return rc;
  for (size_t i = 0; i < count && rc == STRATA_OK; i++) {
    uint64_t number;
    if (tidy && strcmp(names[i], "CHECKPOINT.tmp") == 0) {
      char *p = malloc(strlen(w->dir) + 20);
      if (p) {
        sprintf(p, "%s/CHECKPOINT.tmp", w->dir);
        env_remove(w->e, p);
        free(p);
      }
    }
    if (!parse_seg_name(names[i], &number)) continue;
    wal_seg s = {number, 0, 0, 0, 0};
    rc = push_seg(w, &s);
  }
  env_free_list(names, count);
  if (rc != STRATA_OK) return rc;
  /* names sort bytewise; numbers of different widths need a numeric sort */
  for (size_t i = 1; i < w->nseg; i++)
    for (size_t j = i; j > 0 && w->segs[j - 1].number > w->segs[j].number;
         j--) {
      wal_seg t = w->segs[j];
      w->segs[j] = w->segs[j - 1];
      w->segs[j - 1] = t;
    }
  return STRATA_OK;
}

/* Reads every segment under the policy and repairs the directory so that
 * appends can follow: cut torn tail, quarantine, leftover front segments. */
static int recover(strata_wal *w, wal_scanner *sc) {
  int rc = wal_list_segments(w, 1);
  if (rc != STRATA_OK) return rc;

  size_t stop_at = w->nseg;
  int tail_cut = 0, tail_torn = 0;
  uint64_t tail_off = 0, rec_end = 0;
  for (size_t i = 0; i < w->nseg && rc == STRATA_OK; i++) {
    char *path = wal_seg_path(w, w->segs[i].number);
    if (!path) return wal_oom();
    rc = env_size(w->e, path, &w->segs[i].size);
    log_reader *r = NULL;
    if (rc == STRATA_OK)
      rc = log_reader_open(w->e, path, sc->policy, wal_on_log_damage, sc, &r);
    free(path);
    if (rc == STRATA_OK) {
      int st = wal_scan_segment(sc, r, w->segs[i].number, &w->segs[i]);
      if (st == SCAN_STOP) {
        stop_at = i;
      } else if (st != 0) {
        rc = st;
      }
      tail_cut = sc->seg_tail;
      tail_torn = sc->tail_torn;
      tail_off = sc->tail_off;
      rec_end = sc->rec_end;
    }
    log_reader_close(r);
    if (stop_at != w->nseg) break;
  }
  if (rc != STRATA_OK) {
    wal_flush_pending(sc, 0, 0);
    return rc;
  }
  wal_flush_pending(sc, 0, 0);
  if (stop_at < w->nseg) {
    /* numbers in the dropped part are never given out again: learn the
     * largest (quietly, under skip) */
    wal_scanner peek;
    wal_scanner_init(&peek, w);
    peek.policy = STRATA_RECOVERY_SKIP;
    peek.quiet = 1;
    for (size_t i = stop_at; i < w->nseg; i++) {
      char *path = wal_seg_path(w, w->segs[i].number);
      log_reader *r = NULL;
      if (path && log_reader_open(w->e, path, STRATA_RECOVERY_SKIP, NULL, NULL,
                                  &r) == STRATA_OK)
        wal_scan_segment(&peek, r, w->segs[i].number, NULL);
      log_reader_close(r);
      free(path);
    }
    if (peek.max_end > sc->max_end) sc->max_end = peek.max_end;
    wal_scanner_free(&peek);
    st_clear_error();
    /* The bridge goes first, into a new segment after every existing one:
     * whenever power fails during the moves below, the next open finds the
     * damage again, or the bridge, and never gives a dropped number out. */
    uint64_t bridge = sc->max_end;
    if (w->meta.truncated + 1 > bridge) bridge = w->meta.truncated + 1;
    if (w->meta.checkpoint + 1 > bridge) bridge = w->meta.checkpoint + 1;
    int need = bridge > (sc->have_expected ? sc->expected : 1);
    wal_seg bs = {w->segs[w->nseg - 1].number + 1, bridge, bridge, 0, 1};
    if (need) rc = write_bridge_segment(w, &bs);
    if (rc == STRATA_OK)
      rc = quarantine(w, sc, stop_at, sc->stop_off, sc->stop_gap);
    if (rc == STRATA_OK && need) {
      rc = push_seg(w, &bs);
      sc->have_expected = 1;
      sc->expected = bridge;
    }
  } else if (w->nseg && tail_cut && !tail_torn) {
    /* damage with nothing intact after it, but not just a torn record: keep
     * its bytes in a .lost file, and cut it off */
    rc = quarantine(w, sc, w->nseg - 1, tail_off, 0);
  } else if (w->nseg && (tail_cut || w->segs[w->nseg - 1].size > rec_end)) {
    /* (without a reported drop: a zero block trailer the reader skips) */
    if (!tail_cut) tail_off = rec_end;
    /* the last segment ends in a torn record: cut it so that appends never
     * follow garbage */
    wal_seg *s = &w->segs[w->nseg - 1];
    char *path = wal_seg_path(w, s->number);
    env_file *f = NULL;
    rc = path ? env_open_append(w->e, path, 0, &f) : wal_oom();
    if (rc == STRATA_OK) rc = env_truncate(f, tail_off);
    if (rc == STRATA_OK) rc = env_datasync(f);
    env_close(f);
    free(path);
    s->size = tail_off;
  }
  if (rc != STRATA_OK) return rc;
  /* segments a crashed truncate_front left behind */
  size_t k = 0;
  while (k + 1 < w->nseg && w->meta.truncated && w->segs[k].has_records &&
         w->segs[k].end <= w->meta.truncated + 1)
    k++;
  for (size_t i = 0; i < k && rc == STRATA_OK; i++) {
    char *path = wal_seg_path(w, w->segs[i].number);
    rc = path ? env_remove(w->e, path) : wal_oom();
    free(path);
  }
  if (k && rc == STRATA_OK) {
    rc = env_sync_dir(w->e, w->dir);
    memmove(w->segs, w->segs + k, (w->nseg - k) * sizeof *w->segs);
    w->nseg -= k;
  }
  return rc;
}

static void wal_free(strata_wal *w) {
  if (!w) return;
  log_writer_close(w->lw);
  env_unlock_file(w->lock);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->bg_cv);
  free(w->segs);
  free(w->dir);
  free(w);
}

int wal_open_env(env *e, const char *dir, const strata_wal_options *o,
                 strata_wal **out) {
  if (!e || !dir || !out)
    return st_error(STRATA_INVALID_ARGUMENT, "wal open: NULL argument");
  *out = NULL;
  strata_wal *w = calloc(1, sizeof *w);
  if (!w) return wal_oom();
  if (o)
    w->opt = *o;
  else
    strata_wal_options_init(&w->opt);
  if (w->opt.segment_size < 1024) w->opt.segment_size = 1024;
  if (w->opt.sync > STRATA_WAL_SYNC_NONE ||
      (unsigned)w->opt.recovery > STRATA_RECOVERY_SKIP) {
    free(w);
    return st_error(STRATA_INVALID_ARGUMENT, "wal open: bad options");
  }
  if (w->opt.sync_interval_ms == 0) w->opt.sync_interval_ms = 1;
  w->e = e;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->bg_cv, NULL);
  w->dir = strdup(dir);
  if (!w->dir) {
    wal_free(w);
    return wal_oom();
  }
  size_t dl = strlen(w->dir);
  while (dl > 1 && w->dir[dl - 1] == '/')
    w->dir[--dl] = '\0';
  int rc = env_mkdir(e, w->dir);
  char *lockp = malloc(dl + 8);
  if (rc == STRATA_OK && !lockp) rc = wal_oom();
  if (rc == STRATA_OK) {
    sprintf(lockp, "%s/LOCK", w->dir);
    rc = env_lock_file(e, lockp, &w->lock);
  }
  free(lockp);
  wal_scanner sc;
  wal_scanner_init(&sc, w);
  if (rc == STRATA_OK) {
    rc = wal_meta_read(e, w->dir, &w->meta, meta_damage, &sc);
    if (rc == STRATA_NOT_FOUND) rc = STRATA_OK;
    if (rc == STRATA_CORRUPTION &&
        (w->opt.recovery == STRATA_RECOVERY_SKIP ||
         w->opt.recovery == STRATA_RECOVERY_POINT_IN_TIME)) {
      memset(&w->meta, 0, sizeof w->meta);
      rc = STRATA_OK;
    }
  }
  sc.floor = w->meta.truncated;
  if (rc == STRATA_OK) rc = recover(w, &sc);
  uint64_t next = 1;
  if (rc == STRATA_OK) {
    if (sc.have_expected && sc.expected > next) next = sc.expected;
    if (sc.max_end > next) next = sc.max_end;
    if (w->meta.truncated + 1 > next) next = w->meta.truncated + 1;
    if (w->meta.checkpoint + 1 > next) next = w->meta.checkpoint + 1;
    w->next_seq = next;
    /* The recovered last segment may hold batches that were never synced
     * (the previous writer died, or its fdatasync failed): make them durable
     * before anything is appended after them, so that a power loss cannot
     * leave a sequence hole in front of a later synced batch. */
    if (w->nseg) {
      char *path = wal_seg_path(w, w->segs[w->nseg - 1].number);
      env_file *f = NULL;
      rc = path ? env_open_append(e, path, 0, &f) : wal_oom();
      if (rc == STRATA_OK) rc = env_datasync(f);
      env_close(f);
      free(path);
    }
  }
  if (rc == STRATA_OK) {
    int fresh =
        w->nseg == 0 || w->segs[w->nseg - 1].size >= w->opt.segment_size;
    if (fresh) {
      uint64_t number = w->nseg ? w->segs[w->nseg - 1].number + 1 : 1;
      uint64_t start = w->nseg ? w->segs[w->nseg - 1].end : next;
      rc = create_segment(w, number, &w->lw);
      wal_seg s = {number, start, start, 0, 0};
      if (rc == STRATA_OK) rc = push_seg(w, &s);
    } else {
      wal_seg *s = &w->segs[w->nseg - 1];
      char *path = wal_seg_path(w, s->number);
      env_file *f = NULL;
      rc = path ? env_open_append(e, path, 0, &f) : wal_oom();
      if (rc == STRATA_OK) rc = env_preallocate(f, 0, w->opt.segment_size);
      if (rc == STRATA_OK) rc = log_writer_create(f, s->size, 1, &w->lw);
      if (rc != STRATA_OK) env_close(f);
      free(path);
    }
  }
  if (rc == STRATA_OK && sc.have_expected && w->next_seq > sc.expected) {
    /* dropped or checkpointed numbers lie above the last kept batch: a
     * bridge makes the jump part of the log, so none is given out twice */
    strata_batch *b = strata_batch_create();
    rc = b ? STRATA_OK : wal_oom();
    if (rc == STRATA_OK) {
      size_t size;
      strata_batch_set_sequence(b, w->next_seq);
      const void *data = strata_batch_data(b, &size);
      rc = log_writer_add(w->lw, data, size);
      if (rc == STRATA_OK) rc = log_writer_sync(w->lw);
      wal_seg *s = &w->segs[w->nseg - 1];
      if (rc == STRATA_OK) {
        s->size = log_writer_size(w->lw);
        if (!s->has_records) s->first = w->next_seq;
        s->has_records = 1;
        s->end = w->next_seq;
      }
    }
    strata_batch_destroy(b);
  }
  wal_scanner_free(&sc);
  if (rc == STRATA_OK && w->opt.sync == STRATA_WAL_SYNC_INTERVAL) {
    if (pthread_create(&w->bg, NULL, bg_main, w) != 0)
      rc = st_error(STRATA_IO_ERROR, "wal: cannot start the sync thread");
    else
      w->bg_running = 1;
  }
  if (rc != STRATA_OK) {
    wal_free(w);
    return rc;
  }
  w->last_sync_ns = now_ns();
  *out = w;
  return STRATA_OK;
}

int strata_wal_open(const char *dir, const strata_wal_options *o,
                    strata_wal **out) {
  return wal_open_env(env_posix(), dir, o, out);
}

int strata_wal_close(strata_wal *w) {
  if (!w) return STRATA_OK;
  if (w->bg_running) {
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->bg_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->bg, NULL);
  }
  int rc = STRATA_OK;
  if (w->lw && !w->failed) rc = log_writer_sync(w->lw);
  /* after a failed append or sync, what was appended since the last good
   * sync may not be durable: close must not report success */
  if (w->failed)
    rc = st_error(STRATA_IO_ERROR, "wal close: an earlier write failed: %s",
                  w->fail_msg);
  int crc = log_writer_close(w->lw);
  w->lw = NULL;
  if (rc == STRATA_OK) rc = crc;
  wal_free(w);
  return rc;
}
