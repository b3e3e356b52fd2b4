/*
 * repair_wal.c — strata_db_repair: reading the WALs (docs/repair.md). Each
 * NNNNNN.log to use is read under skip, in number order; every intact write
 * batch goes into one memtable per WAL at its sequence numbers. A record
 * that passes its checksum but is not a batch (or has an impossible
 * sequence number) is damage too. Each dropped region may have held the
 * sequence numbers between the last intact batch before it and the first
 * intact batch after it (in this WAL or a later one): that becomes a region
 * over every key (repair.h); none when those batches are contiguous. A
 * region no intact batch follows is a lost tail: reported, no region.
 */
#include <stdlib.h>
#include <string.h>

#include "log/log_reader.h"
#include "lsm/db_internal.h"
#include "lsm/filename.h"
#include "lsm/repair.h"
#include "sstable/ikey.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/write_batch.h"

static int oom(void) { return st_error(STRATA_NO_MEMORY, "out of memory"); }

typedef struct wal_drop {
  char *file, *reason; /* copies */
  strata_damage d;     /* the report (strings point to the copies) */
  uint64_t seq_first;  /* first sequence number it may have held */
  uint64_t seq_last;   /* last (UINT64_MAX until a batch follows) */
  int closed;          /* an intact batch followed it */
} wal_drop;

typedef struct wal_pass {
  rep_ctx *c;        /* the repair */
  wal_drop *v;       /* every dropped region so far */
  size_t n, cap;     /* held, allocated */
  uint64_t last_seq; /* last sequence of the last intact batch (0: none) */
} wal_pass;

static void on_wal_damage(void *arg, const strata_damage *d) {
  wal_pass *w = arg;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8;
    wal_drop *v = realloc(w->v, cap * sizeof *v);
    if (!v) return; /* out of memory: the batch count still tells loss */
    w->v = v;
    w->cap = cap;
  }
  wal_drop *x = &w->v[w->n];
  x->file = strdup(d->file ? d->file : "");
  x->reason = strdup(d->reason ? d->reason : "");
  if (!x->file || !x->reason) {
    free(x->file);
    free(x->reason);
    return;
  }
  x->d = *d;
  x->d.file = x->file;
  x->d.reason = x->reason;
  x->seq_first = w->last_seq + 1;
  x->seq_last = UINT64_MAX;
  x->closed = 0;
  w->n++;
}

/* An intact batch at sequence seq closes every open region before it. */
static void wal_close_regions(wal_pass *w, uint64_t seq) {
  for (size_t i = 0; i < w->n; i++)
    if (!w->v[i].closed) {
      w->v[i].closed = 1;
      w->v[i].seq_last = seq ? seq - 1 : 0;
    }
}

static int read_wal(wal_pass *w, const char *path) {
  rep_ctx *c = w->c;
  log_reader *r = NULL;
  int rc =
      log_reader_open(c->e, path, STRATA_RECOVERY_SKIP, on_wal_damage, w, &r);
  if (rc) return rc;
  mem_table *mem = mem_create();
  uint64_t lo = UINT64_MAX, hi = 0;
  if (!mem) {
    log_reader_close(r);
    return oom();
  }
  const uint8_t *rec;
  size_t n;
  strata_log_record_info info;
  while ((rc = log_reader_next(r, &rec, &n, &info)) == STRATA_OK) {
    uint32_t count = 0;
    if (n < WRITE_BATCH_HEADER ||
        strata_batch_decode(rec, n, NULL, &count, NULL, NULL) != STRATA_OK) {
      strata_damage d = {path,
                         info.offset,
                         info.end - info.offset,
                         STRATA_DAMAGE_BAD_RECORD,
                         "a checksummed record that is not a write batch",
                         1,
                         0};
      on_wal_damage(w, &d);
      continue;
    }
    uint64_t seq = decode_fixed64(rec);
    if (count == 0) continue;
    if (seq == 0 || seq > IKEY_MAX_SEQUENCE - count) {
      strata_damage d = {path,
                         info.offset,
                         info.end - info.offset,
                         STRATA_DAMAGE_BAD_RECORD,
                         "a write batch with an impossible sequence number",
                         1,
                         0};
      on_wal_damage(w, &d);
      continue;
    }
    wal_close_regions(w, seq);
    rc = db_insert_batch(mem, rec, n, NULL);
    if (rc) break;
    c->rep->entries_read += count;
    uint64_t last = seq + count - 1;
    if (seq < lo) lo = seq;
    if (last > hi) hi = last;
    if (last > w->last_seq) w->last_seq = last;
    if (last > c->max_seq) c->max_seq = last;
  }
  log_reader_close(r);
  if (rc == STRATA_END) rc = STRATA_OK;
  if (!rc && c->nwals == c->capwals) {
    size_t cap = c->capwals ? c->capwals * 2 : 4;
    rep_wal *v = realloc(c->wals, cap * sizeof *v);
    if (!v)
      rc = oom();
    else {
      c->wals = v;
      c->capwals = cap;
    }
  }
  char *copy = rc ? NULL : strdup(path);
  if (!rc && !copy) rc = oom();
  if (rc) {
    mem_unref(mem);
    return rc;
  }
  rep_wal *x = &c->wals[c->nwals++];
  x->mem = mem;
  x->path = copy;
  x->lo = lo;
  x->hi = hi;
  c->rep->files_read++;
  return STRATA_OK;
}

/* Reports the WAL drops with the sequence numbers each may have cost. */
static int wal_report(wal_pass *w) {
  rep_ctx *c = w->c;
  int rc = STRATA_OK;
  for (size_t i = 0; i < w->n; i++) {
    wal_drop *x = &w->v[i];
    strata_repair_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = STRATA_REPAIR_DAMAGE;
    ev.damage = &x->d;
    ev.seq_known = 1;
    ev.seq_first = x->seq_first;
    ev.seq_last = x->seq_last;
    ev.costs_keys = x->seq_first <= x->seq_last;
    if (x->closed && ev.costs_keys && !rc)
      rc = rep_add_region(c, NULL, 0, 0, NULL, 0, x->seq_first, x->seq_last);
    rep_event(c, &ev);
  }
  for (size_t i = 0; i < w->n; i++) {
    free(w->v[i].file);
    free(w->v[i].reason);
  }
  free(w->v);
  return rc;
}

int rep_read_wals(rep_ctx *c, size_t n, const uint64_t *numbers) {
  wal_pass w = {c, NULL, 0, 0, 0};
  int rc = STRATA_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    char *p = lsm_file_path(c->dir, numbers[i], "log");
    rc = p ? read_wal(&w, p) : oom();
    free(p);
  }
  int rc2 = wal_report(&w);
  /* The merge takes the newest WAL first. */
  for (size_t i = 0; i < c->nwals / 2; i++) {
    rep_wal t = c->wals[i];
    c->wals[i] = c->wals[c->nwals - 1 - i];
    c->wals[c->nwals - 1 - i] = t;
  }
  return rc ? rc : rc2;
}
