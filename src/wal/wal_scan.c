/*
 * wal_scan.c — reading WAL segments (docs/formats/wal.md): each segment
 * through the record-log reader under the recovery policy, plus the WAL's own
 * checks on every record: it must be a valid write batch, and sequence
 * numbers must be continuous across records and segments (a count-0 bridge
 * may jump forward). A hole, a number going back, or a checksummed record
 * that is not a batch is damage: absolute and tolerate-tail fail, point-in-
 * time stops there, skip reports it and carries on. Log-level drops are held
 * until the next good record, so that their report carries the range of
 * sequence numbers lost; at the end of the log that range is unknown.
 * Readers (iterate, replay) read each segment only up to its committed size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"
#include "wal/wal_internal.h"
#include "wal/write_batch.h"

void wal_emit(wal_scanner *sc, strata_wal_damage *d) {
  if (!sc->quiet && sc->w->opt.on_damage)
    sc->w->opt.on_damage(sc->w->opt.damage_arg, d);
}

/* Reports the pending damage; the lost range runs up to `next` (exclusive)
 * if known. */
void wal_flush_pending(wal_scanner *sc, int known, uint64_t next) {
  for (size_t i = 0; i < sc->np; i++) {
    wal_pending *p = &sc->p[i];
    p->d.damage.file = p->file;
    p->d.damage.reason = p->reason;
    p->d.lost_known = known && sc->have_expected;
    p->d.lost_first = sc->have_expected ? sc->expected : 0;
    p->d.lost_last = next ? next - 1 : 0;
    if (!p->d.lost_known) p->d.lost_first = 1, p->d.lost_last = 0;
    wal_emit(sc, &p->d);
    free(p->file);
    free(p->reason);
  }
  sc->np = 0;
}

void wal_on_log_damage(void *arg, const strata_damage *d) {
  wal_scanner *sc = arg;
  if (d->kind != STRATA_DAMAGE_TORN_TAIL) {
    if (!sc->seg_damage || d->offset < sc->seg_cut) sc->seg_cut = d->offset;
    sc->seg_damage = 1;
  }
  if (d->tail || d->kind == STRATA_DAMAGE_TORN_TAIL) {
    if (!sc->seg_tail || d->offset < sc->tail_off) {
      sc->tail_off = d->offset;
      sc->tail_torn = d->kind == STRATA_DAMAGE_TORN_TAIL;
    }
    sc->seg_tail = 1;
  }
  if (sc->np == sc->cap) {
    size_t cap = sc->cap ? sc->cap * 2 : 4;
    wal_pending *v = realloc(sc->p, cap * sizeof *v);
    if (!v) return; /* the report is lost, the drop itself is still handled */
    sc->p = v;
    sc->cap = cap;
  }
  wal_pending *p = &sc->p[sc->np];
  memset(p, 0, sizeof *p);
  p->d.damage = *d;
  p->d.segment = sc->seg;
  p->file = strdup(d->file ? d->file : "");
  p->reason = strdup(d->reason ? d->reason : "");
  if (!p->file || !p->reason) {
    free(p->file);
    free(p->reason);
    return;
  }
  sc->np++;
}

/* A WAL-level damage (not seen by the log reader) in the current segment. */
void wal_damage(wal_scanner *sc, strata_damage_kind kind, uint64_t off,
                uint64_t bytes, uint64_t records, int known, uint64_t first,
                uint64_t last, const char *reason) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%06" PRIu64 ".log", sc->w->dir, sc->seg);
  strata_wal_damage d;
  memset(&d, 0, sizeof d);
  d.damage.file = path;
  d.damage.offset = off;
  d.damage.bytes = bytes;
  d.damage.kind = kind;
  d.damage.reason = reason;
  d.damage.records = records;
  d.segment = sc->seg;
  d.lost_known = known;
  d.lost_first = known ? first : 1;
  d.lost_last = known ? last : 0;
  wal_emit(sc, &d);
}

/* What a policy does with WAL-level damage: 0 carry on (skip), SCAN_STOP, or
 * STRATA_CORRUPTION. */
static int policy_action(wal_scanner *sc, uint64_t off, const char *what) {
  switch (sc->policy) {
  case STRATA_RECOVERY_SKIP: return 0;
  case STRATA_RECOVERY_POINT_IN_TIME:
    sc->stop_off = off;
    sc->stop_gap = 1;
    return SCAN_STOP;
  default:
    return ST_CORRUPT("%s/%06" PRIu64 ".log: %s at offset %" PRIu64, sc->w->dir,
                      sc->seg, what, off);
  }
}

static int scan_record(wal_scanner *sc, const uint8_t *rec, size_t size,
                       const strata_log_record_info *info) {
  uint64_t seq = 0;
  uint32_t count = 0;
  char why[160];
  if (strata_batch_decode(rec, size, &seq, &count, NULL, NULL) != STRATA_OK ||
      seq > UINT64_MAX - count - 1) {
    st_clear_error();
    wal_flush_pending(sc, 0, 0);
    wal_damage(sc, STRATA_DAMAGE_BAD_RECORD, info->offset,
               info->end - info->offset, 1, 0, 0, 0,
               "checksummed record is not a valid write batch");
    return policy_action(sc, info->offset, "record is not a write batch");
  }
  uint64_t end = seq + count;
  if (end > sc->max_end) sc->max_end = end;
  if (sc->floor && end <= sc->floor + 1 &&
      (!sc->have_expected || seq == sc->expected)) {
    /* left by a truncate_front that crashed before deleting its files:
     * not delivered, and open deletes the segment */
    sc->have_expected = 1;
    sc->expected = end;
    if (sc->info) {
      if (!sc->info->has_records) sc->info->first = seq;
      sc->info->has_records = 1;
      sc->info->end = end;
    }
    return 0;
  }
  if (!sc->have_expected && sc->floor) {
    sc->have_expected = 1;
    sc->expected = sc->floor + 1;
  }
  if (sc->have_expected && seq != sc->expected &&
      !(count == 0 && seq > sc->expected && sc->np == 0)) {
    if (seq < sc->expected) {
      wal_flush_pending(sc, 0, 0);
      snprintf(why, sizeof why,
               "sequence number goes back from %" PRIu64 " to %" PRIu64,
               sc->expected, seq);
      wal_damage(sc, STRATA_DAMAGE_SEQUENCE_GAP, info->offset,
                 info->end - info->offset, 1, 0, 0, 0, why);
      int act = policy_action(sc, info->offset, why);
      return act; /* skip: the record is dropped */
    }
    snprintf(why, sizeof why,
             "sequence numbers %" PRIu64 "..%" PRIu64 " missing before this "
             "record",
             sc->expected, seq - 1);
    if (sc->np) {
      wal_flush_pending(sc, 1, seq);
    } else {
      wal_damage(sc, STRATA_DAMAGE_SEQUENCE_GAP, info->offset, 0, 0, 1,
                 sc->expected, seq - 1, why);
    }
    int act = policy_action(sc, info->offset, why);
    if (act) return act;
  } else if (sc->np) {
    wal_flush_pending(sc, 1, seq);
  }
  sc->have_expected = 1;
  sc->expected = end;
  if (sc->info) {
    if (!sc->info->has_records) sc->info->first = seq;
    sc->info->has_records = 1;
    sc->info->end = end;
  }
  if (sc->fn) {
    strata_wal_record r = {sc->seg, info->offset, info->end, seq,
                           count,   rec,          size};
    int rc = sc->fn(sc->arg, &r);
    if (rc) {
      sc->fn_rc = rc;
      return SCAN_FN;
    }
  }
  return 0;
}

/* Reads every record of one segment. 0, SCAN_STOP, SCAN_FN or a status. */
int wal_scan_segment(wal_scanner *sc, log_reader *r, uint64_t number,
                     wal_seg *info) {
  sc->seg = number;
  sc->info = info;
  sc->seg_damage = sc->seg_tail = sc->tail_torn = 0;
  sc->seg_cut = sc->tail_off = sc->rec_end = 0;
  if (info && !info->has_records)
    info->end = sc->have_expected ? sc->expected : 0;
  for (;;) {
    const uint8_t *d;
    size_t n;
    strata_log_record_info ri;
    int rc = log_reader_next(r, &d, &n, &ri);
    if (rc == STRATA_END) break;
    if (rc != STRATA_OK) return rc;
    sc->rec_end = ri.end;
    rc = scan_record(sc, d, n, &ri);
    if (rc) return rc;
  }
  if (sc->seg_damage && sc->policy == STRATA_RECOVERY_POINT_IN_TIME) {
    sc->stop_off = sc->seg_cut;
    return SCAN_STOP;
  }
  return 0;
}

void wal_scanner_init(wal_scanner *sc, strata_wal *w) {
  memset(sc, 0, sizeof *sc);
  sc->w = w;
  sc->policy = w->opt.recovery;
}

void wal_scanner_free(wal_scanner *sc) {
  for (size_t i = 0; i < sc->np; i++) {
    free(sc->p[i].file);
    free(sc->p[i].reason);
  }
  free(sc->p);
}

/* Reads the first `size` bytes of segment `number` (through `f` if it is
 * already open); caller frees *out. */
static int read_open_segment(strata_wal *w, env_file *given, uint64_t number,
                             uint64_t *sizep, uint8_t **out) {
  uint64_t size = *sizep;
  *out = NULL;
  char *path = wal_seg_path(w, number);
  if (!path) return wal_oom();
  env_file *f = given;
  uint8_t *buf = malloc(size ? size : 1);
  int rc = !buf ? wal_oom() : f ? STRATA_OK : env_open_read(w->e, path, &f);
  size_t got = 0;
  if (rc == STRATA_OK && size) rc = env_pread(f, 0, buf, size, &got);
  /* an open file may have been cut by a concurrent truncate_back at a
   * record boundary: what is gone was rolled back */
  if (rc == STRATA_OK && given && got < size) size = got;
  if (rc == STRATA_OK && got != size)
    rc = st_error(STRATA_IO_ERROR,
                  "%s: shorter than its %" PRIu64 " committed bytes", path,
                  size);
  if (!given) env_close(f);
  free(path);
  if (rc != STRATA_OK) {
    free(buf);
    return rc;
  }
  *sizep = size;
  *out = buf;
  return STRATA_OK;
}

int wal_read_segment(strata_wal *w, uint64_t number, uint64_t size,
                     uint8_t **out) {
  return read_open_segment(w, NULL, number, &size, out);
}

/* ---- readers ------------------------------------------------------------- */

int strata_wal_iterate(strata_wal *w, strata_wal_record_fn fn, void *arg) {
  if (!w || !fn) return st_error(STRATA_INVALID_ARGUMENT, "wal iterate: NULL");
  /* the files are opened while the list is consistent with the directory
   * (truncate_front updates the list before it deletes): a concurrent
   * truncation then cannot take a segment from the middle of this read */
  pthread_mutex_lock(&w->mu);
  size_t n = w->nseg;
  wal_seg *segs = malloc((n ? n : 1) * sizeof *segs);
  env_file **files = calloc(n ? n : 1, sizeof *files);
  int rc = segs && files ? STRATA_OK : wal_oom();
  if (rc == STRATA_OK) memcpy(segs, w->segs, n * sizeof *segs);
  for (size_t i = 0; rc == STRATA_OK && i < n; i++) {
    char *path = wal_seg_path(w, segs[i].number);
    rc = path ? env_open_read(w->e, path, &files[i]) : wal_oom();
    free(path);
  }
  uint64_t floor = w->meta.truncated;
  pthread_mutex_unlock(&w->mu);
  if (rc != STRATA_OK) {
    for (size_t i = 0; files && i < n; i++)
      env_close(files[i]);
    free(files);
    free(segs);
    return rc;
  }
  wal_scanner sc;
  wal_scanner_init(&sc, w);
  sc.fn = fn;
  sc.arg = arg;
  sc.floor = floor;
  for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
    uint8_t *buf = NULL;
    rc = read_open_segment(w, files[i], segs[i].number, &segs[i].size, &buf);
    if (rc != STRATA_OK) break;
    char name[4096];
    snprintf(name, sizeof name, "%s/%06" PRIu64 ".log", w->dir, segs[i].number);
    log_reader *r = NULL;
    rc = log_reader_open_mem(buf, segs[i].size, name, sc.policy,
                             wal_on_log_damage, &sc, &r);
    if (rc == STRATA_OK) {
      int st = wal_scan_segment(&sc, r, segs[i].number, NULL);
      if (st == SCAN_STOP) {
        rc = STRATA_END;
      } else if (st == SCAN_FN) {
        rc = sc.fn_rc;
      } else {
        rc = st;
      }
    }
    log_reader_close(r);
    free(buf);
  }
  wal_flush_pending(&sc, 0, 0);
  wal_scanner_free(&sc);
  for (size_t i = 0; i < n; i++)
    env_close(files[i]);
  free(files);
  free(segs);
  return rc == STRATA_END ? STRATA_OK : rc;
}

typedef struct replay_ctx {
  uint64_t after;      /* deliver operations numbered above this */
  uint64_t seq;        /* number of the operation being decoded */
  strata_wal_op_fn fn; /* the caller's callback */
  void *arg;           /* its argument */
} replay_ctx;

static int replay_op(void *arg, int op, const void *key, size_t klen,
                     const void *value, size_t vlen) {
  replay_ctx *c = arg;
  uint64_t seq = c->seq++;
  if (seq <= c->after) return 0;
  return c->fn(c->arg, seq, op, key, klen, value, vlen);
}

static int replay_record(void *arg, const strata_wal_record *r) {
  replay_ctx *c = arg;
  if (r->count == 0 || r->sequence + r->count - 1 <= c->after) return 0;
  c->seq = r->sequence;
  return strata_batch_decode(r->data, r->size, NULL, NULL, replay_op, c);
}

int strata_wal_replay(strata_wal *w, uint64_t after_seq, strata_wal_op_fn fn,
                      void *arg) {
  if (!w || !fn) return st_error(STRATA_INVALID_ARGUMENT, "wal replay: NULL");
  replay_ctx c = {after_seq, 0, fn, arg};
  return strata_wal_iterate(w, replay_record, &c);
}

static int count_record(void *arg, const strata_wal_record *r) {
  (void)r;
  ++*(uint64_t *)arg;
  return 0;
}

int strata_wal_verify(const char *dir, strata_wal_damage_fn fn, void *arg,
                      uint64_t *records) {
  if (!dir) return st_error(STRATA_INVALID_ARGUMENT, "wal verify: NULL");
  strata_wal w;
  memset(&w, 0, sizeof w);
  w.e = env_posix();
  w.dir = strdup(dir);
  if (!w.dir) return wal_oom();
  strata_wal_options_init(&w.opt);
  w.opt.recovery = STRATA_RECOVERY_SKIP;
  w.opt.on_damage = fn;
  w.opt.damage_arg = arg;
  uint64_t n = 0;
  wal_scanner sc;
  wal_scanner_init(&sc, &w);
  sc.fn = count_record;
  sc.arg = &n;
  int rc = wal_meta_read(w.e, dir, &w.meta, NULL, NULL);
  if (rc == STRATA_NOT_FOUND || rc == STRATA_CORRUPTION) rc = STRATA_OK;
  sc.floor = w.meta.truncated;
  if (rc == STRATA_OK) rc = wal_list_segments(&w, 0);
  for (size_t i = 0; rc == STRATA_OK && i < w.nseg; i++) {
    char *path = wal_seg_path(&w, w.segs[i].number);
    log_reader *r = NULL;
    rc = path ? log_reader_open(w.e, path, STRATA_RECOVERY_SKIP,
                                wal_on_log_damage, &sc, &r)
              : wal_oom();
    if (rc == STRATA_OK) {
      int st = wal_scan_segment(&sc, r, w.segs[i].number, NULL);
      if (st > 0) rc = st;
    }
    log_reader_close(r);
    free(path);
  }
  wal_flush_pending(&sc, 0, 0);
  wal_scanner_free(&sc);
  free(w.segs);
  free(w.dir);
  if (records) *records = n;
  return rc;
}
