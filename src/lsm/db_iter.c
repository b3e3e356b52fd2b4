/*
 * db_iter.c — user keys over an internal-key iterator (contract in db_iter.h;
 * the semantics of LevelDB's DBIter).
 *
 * The internal iterator yields, for each user key, its versions newest first.
 * A version is visible when its sequence is <= seq; a user key is shown with
 * the value of its newest visible version, unless that version is a deletion.
 *
 * Two directions, with different positions of the internal iterator:
 *  - FORWARD: `in` sits on the shown entry (the newest visible version of
 *    the current user key); key and value point into `in`.
 *  - BACKWARD: `in` sits on the last entry before every version of the
 *    current user key (or is not valid when none precedes it); the key and
 *    value are copies owned here (`key`, `val`), since `in` has moved past.
 * Switching direction repositions `in` around the current user key.
 *
 * Damage: every internal key is parsed; one that does not parse (shorter
 * than its trailer, unknown type) stops the iterator with STRATA_CORRUPTION,
 * as does a non-OK status of `in`. The stop is sticky: later moves leave the
 * iterator not valid, so damaged data is never stepped over silently.
 */
#include "lsm/db_iter.h"

#include <stdlib.h>

#include "sstable/ikey.h"
#include "util/status.h"

enum { FORWARD = 0, BACKWARD = 1 };

typedef struct db_iter {
  sst_iter base; /* interface */
  sst_iter *in;  /* internal iterator (owned) */
  uint64_t seq;  /* newest visible sequence */
  int dir;       /* FORWARD or BACKWARD */
  int valid;     /* positioned on a shown entry */
  int status;    /* STRATA_CORRUPTION after a bad internal key, else OK */
  sst_buf key;   /* BACKWARD: current user key; FORWARD: key being skipped
                    or the seek target */
  sst_buf val;   /* BACKWARD: current value */
  uint64_t vseq; /* BACKWARD: sequence of the current version */
} db_iter;

typedef struct ientry {
  const uint8_t *ukey; /* user key (in the internal iterator's memory) */
  size_t ulen;         /* its length */
  uint64_t seq;        /* sequence */
  int type;            /* IKEY_VALUE or IKEY_DELETION */
} ientry;

static void stop(db_iter *d, int status) {
  d->valid = 0;
  if (d->status == STRATA_OK) d->status = status;
  d->key.len = 0;
  d->val.len = 0;
}

/* Parses the internal iterator's current key; -1 (and stopped) if damaged. */
static int parse(db_iter *d, ientry *e) {
  size_t n;
  const uint8_t *k = sst_iter_key(d->in, &n);
  if (ikey_parse(k, n, &e->ulen, &e->seq, &e->type) != 0) {
    stop(d, ST_CORRUPT("internal key of %zu bytes does not parse", n));
    return -1;
  }
  e->ukey = k;
  return 0;
}

/* After `in` stopped being valid: not valid, with in's status if it failed. */
static void exhausted(db_iter *d) {
  int s = sst_iter_status(d->in);
  stop(d, s);
}

static int save(sst_buf *b, const uint8_t *p, size_t n, db_iter *d) {
  if (sst_buf_set(b, p, n) == 0) return 0;
  stop(d, st_error(STRATA_NO_MEMORY, "db iterator: out of memory"));
  return -1;
}

/* FORWARD: from `in`'s position on, the first visible user key that is not
 * deleted. With `skipping`, versions of user keys <= d->key are hidden. */
static void find_next(db_iter *d, int skipping) {
  for (; sst_iter_valid(d->in); sst_iter_next(d->in)) {
    ientry e;
    if (parse(d, &e)) return;
    if (e.seq > d->seq) continue;
    if (skipping && ikey_bytewise(e.ukey, e.ulen, d->key.data, d->key.len) <= 0)
      continue;
    if (e.type == IKEY_DELETION) {
      if (save(&d->key, e.ukey, e.ulen, d)) return;
      skipping = 1;
      continue;
    }
    d->valid = 1;
    return;
  }
  exhausted(d);
}

/* BACKWARD: walks back from `in`'s position over the versions of one user
 * key (oldest first, so the newest visible one is saved last) and stops on
 * the entry before them; repeats while that key's newest visible version is
 * a deletion. */
static void find_prev(db_iter *d) {
  int type = IKEY_DELETION; /* newest visible version of the saved key */
  d->key.len = d->val.len = 0;
  while (sst_iter_valid(d->in)) {
    ientry e;
    if (parse(d, &e)) return;
    if (e.seq <= d->seq) {
      if (type != IKEY_DELETION &&
          ikey_bytewise(e.ukey, e.ulen, d->key.data, d->key.len) < 0)
        break; /* in sits before the saved key's versions */
      type = e.type;
      if (type == IKEY_DELETION) {
        d->key.len = d->val.len = 0;
      } else {
        size_t vn;
        const uint8_t *v = sst_iter_value(d->in, &vn);
        if (save(&d->key, e.ukey, e.ulen, d) || save(&d->val, v, vn, d)) return;
        d->vseq = e.seq;
      }
    }
    sst_iter_prev(d->in);
  }
  if (!sst_iter_valid(d->in) && sst_iter_status(d->in) != STRATA_OK) {
    exhausted(d);
    return;
  }
  if (type == IKEY_DELETION) {
    stop(d, STRATA_OK);
    return;
  }
  d->valid = 1;
}

static int di_valid(sst_iter *it) { return ((db_iter *)it)->valid; }

static void di_seek_first(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  if (d->status) return;
  d->dir = FORWARD;
  d->val.len = 0;
  sst_iter_seek_first(d->in);
  find_next(d, 0);
}

static void di_seek_last(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  if (d->status) return;
  d->dir = BACKWARD;
  sst_iter_seek_last(d->in);
  find_prev(d);
}

static void di_seek(sst_iter *it, const uint8_t *k, size_t n) {
  db_iter *d = (db_iter *)it;
  if (d->status) return;
  d->dir = FORWARD;
  d->valid = 0;
  d->val.len = d->key.len = 0;
  if (ikey_append(&d->key, k, n, d->seq, IKEY_SEEK_TYPE)) {
    stop(d, st_error(STRATA_NO_MEMORY, "db iterator: out of memory"));
    return;
  }
  sst_iter_seek(d->in, d->key.data, d->key.len);
  find_next(d, 0);
}

static void di_next(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  if (!d->valid) return;
  if (d->dir == BACKWARD) {
    /* in is before the current key's versions; step onto them, then skip
     * them all (d->key holds the current key). */
    d->dir = FORWARD;
    if (sst_iter_valid(d->in))
      sst_iter_next(d->in);
    else
      sst_iter_seek_first(d->in);
    d->val.len = 0;
    find_next(d, 1);
    return;
  }
  size_t n;
  const uint8_t *k = sst_iter_key(d->in, &n);
  if (save(&d->key, k, n - IKEY_TRAILER, d)) return;
  sst_iter_next(d->in);
  find_next(d, 1);
}

static void di_prev(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  if (!d->valid) return;
  if (d->dir == FORWARD) {
    /* in is on the current key's newest visible version; move it before
     * every version of that key. */
    size_t n;
    const uint8_t *k = sst_iter_key(d->in, &n);
    if (save(&d->key, k, n - IKEY_TRAILER, d)) return;
    for (;;) {
      sst_iter_prev(d->in);
      if (!sst_iter_valid(d->in)) {
        exhausted(d);
        return;
      }
      ientry e;
      if (parse(d, &e)) return;
      if (ikey_bytewise(e.ukey, e.ulen, d->key.data, d->key.len) < 0) break;
    }
    d->dir = BACKWARD;
  }
  find_prev(d);
}

static const uint8_t *di_key(sst_iter *it, size_t *n) {
  db_iter *d = (db_iter *)it;
  if (d->dir == BACKWARD) {
    *n = d->key.len;
    return d->key.data ? d->key.data : (const uint8_t *)"";
  }
  const uint8_t *k = sst_iter_key(d->in, n);
  *n -= IKEY_TRAILER;
  return k;
}

static const uint8_t *di_value(sst_iter *it, size_t *n) {
  db_iter *d = (db_iter *)it;
  if (d->dir == BACKWARD) {
    *n = d->val.len;
    return d->val.data ? d->val.data : (const uint8_t *)"";
  }
  return sst_iter_value(d->in, n);
}

uint64_t db_iter_sequence(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  if (!d->valid) return 0;
  if (d->dir == BACKWARD) return d->vseq;
  size_t n;
  const uint8_t *k = sst_iter_key(d->in, &n);
  size_t ul;
  uint64_t seq = 0;
  int type;
  return ikey_parse(k, n, &ul, &seq, &type) == 0 ? seq : 0;
}

static int di_status(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  return d->status ? d->status : sst_iter_status(d->in);
}

static void di_destroy(sst_iter *it) {
  db_iter *d = (db_iter *)it;
  sst_iter_destroy(d->in);
  sst_buf_free(&d->key);
  sst_buf_free(&d->val);
  free(d);
}

static const sst_iter_ops db_iter_ops = {
    di_valid, di_seek_first, di_seek_last, di_seek,   di_next,
    di_prev,  di_key,        di_value,     di_status, di_destroy};

sst_iter *db_iter_create(sst_iter *internal, uint64_t seq) {
  db_iter *d = calloc(1, sizeof *d);
  if (d == NULL) {
    sst_iter_destroy(internal);
    return NULL;
  }
  d->base.ops = &db_iter_ops;
  d->in = internal;
  d->seq = seq > IKEY_MAX_SEQUENCE ? IKEY_MAX_SEQUENCE : seq;
  d->dir = FORWARD;
  return &d->base;
}
