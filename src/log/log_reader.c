/*
 * log_reader.c — the record-log reader (LevelDB's log format; see
 * docs/formats/log.md for the normative description and the resync rule).
 *
 * Format read: 32768-byte blocks of fragments, each a 7-byte header (masked
 * CRC32C of type byte + payload, 2-byte LE length, 1-byte type FULL=1 FIRST=2
 * MIDDLE=3 LAST=4) and its payload; a block's last < 7 bytes are a zero
 * trailer. Logical records are FULL, or FIRST MIDDLE* LAST.
 *
 * Bytes from disk are hostile: every length is checked against the block and
 * the file before use, and a fragment is used only after its checksum matched.
 * A record whose fragments did not all verify is never returned.
 *
 * Damage (a fragment that fails to parse or verify, an all-zero header with
 * data after it, a fragment sequence that breaks FIRST..LAST) defines a
 * dropped region that starts at the first byte of the logical record it hit.
 * It is a *torn tail* when nothing but zero bytes follows it to the end of the
 * file (a crash during the last append leaves exactly that), including a
 * header or payload cut off by the end of the file, a FIRST without its LAST
 * at the end, and zero bytes from the last record to the end of the file
 * (strata preallocates with the file size unchanged, so zeros there are
 * unwritten pages, not reserved space). Policies (SPEC §2):
 *   absolute       any damage: report it, fail with STRATA_CORRUPTION
 *   tolerate-tail  torn tail: drop it; other damage: report, fail
 *   point-in-time  drop everything from the first damage to the end of the
 *                  file, counting the intact records that costs
 *   skip           drop only the damaged region, resynchronise, carry on
 *
 * Resynchronising inside a damaged block (skip). A block start is always a
 * fragment boundary, so the next block is a safe place to resume (that is all
 * LevelDB does). strata resumes earlier, inside the block, only at a point it
 * can *anchor* to the damaged fragment's own header:
 *   A1 (checksum proof): for some type t in 1..4 and end b, the stored CRC
 *      equals CRC32C(t, bytes[header+7, b)) — the length or type field was
 *      the damaged part and the checksum proves where the fragment ends;
 *   A2 (length agreement): the header's type is valid, its length L > 0 and
 *      fits the block, so the damage is in the checksum or the payload, and
 *      the fragment ends at g = header+7+L;
 * and only if the end point is a *valid stop*: the block's end, a zero
 * trailer, or a header from which a chain of verified fragments with a
 * consistent FIRST..LAST sequence runs to the block's end (agreeing with the
 * type of the next block's first fragment) or to a clean end of the file.
 * A point found by scanning for a checksum that happens to validate is never
 * accepted on its own: a value may hold a whole encoded log, and its records
 * validate too. Without an anchor the reader resumes at the next block.
 */
#include "log/log_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

enum { WINDOW = 8 * LOG_BLOCK_SIZE }; /* bytes read per pread, file source */

struct strata_log_reader {
  env_file *file;             /* source file; NULL when reading memory */
  const uint8_t *mem;         /* source image when reading memory */
  uint64_t size;              /* bytes in the source (taken at open) */
  char *name;                 /* file name used in reports and errors */
  strata_recovery policy;     /* the caller's policy */
  strata_damage_fn on_damage; /* drop callback; may be NULL */
  void *arg;                  /* its argument */
  uint32_t type_crc[LOG_MAX_TYPE + 1]; /* CRC32C of each type byte */

  uint8_t *buf;       /* read window of a file source (WINDOW bytes) */
  uint64_t buf_start; /* file offset of buf[0] */
  uint32_t buf_len;   /* bytes of the file held in buf */
  uint8_t *scratch;   /* buffer to peek at the next block; lazily made */
  uint32_t *stops;    /* candidate stops for checksum_proof; lazily made */
  const uint8_t *blk; /* the current block's bytes */
  uint64_t blk_start; /* file offset of the current block */
  uint32_t blk_len;   /* bytes of the current block present in the file */
  uint32_t pos;       /* offset of the next header within the block */

  uint8_t *rec;       /* assembly buffer for fragmented records */
  size_t rec_len;     /* bytes assembled */
  size_t rec_cap;     /* capacity of `rec` */
  int in_frag;        /* a FIRST was read and its LAST not yet */
  uint64_t rec_start; /* file offset of the assembling record's FIRST */
  uint32_t rec_frags; /* fragments assembled so far */

  int drop_open;                /* a dropped region awaits reporting */
  uint64_t drop_start;          /* its first byte */
  uint64_t drop_end;            /* one past its last byte */
  strata_damage_kind drop_kind; /* its first damage */
  uint64_t drop_records;        /* logical records known lost in it */
  int drop_tail;                /* nothing intact follows it */
  char drop_reason[200];        /* detail of its first damage */

  int damaged;            /* some damage was met */
  uint64_t resume_at;     /* where reading resumed after the latest damage */
  int discarding;         /* point-in-time after damage: count, don't return */
  int status;             /* sticky STRATA_END/CORRUPTION/IO_ERROR, or 0 */
  uint64_t dropped_bytes; /* total of reported regions */
  uint64_t drop_count;    /* number of reported regions */
};

static const char *type_name(unsigned t) {
  static const char *names[] = {"ZERO", "FULL", "FIRST", "MIDDLE", "LAST"};
  return t <= LOG_MAX_TYPE ? names[t] : "unknown";
}

/* ---- source access ----------------------------------------------------- */

/* Copies [off, off+n) of the source into dst; n must fit in the file. */
static int src_read(log_reader *r, uint64_t off, uint8_t *dst, size_t n) {
  if (r->mem) {
    memcpy(dst, r->mem + off, n);
    return STRATA_OK;
  }
  size_t got = 0;
  int rc = env_pread(r->file, off, dst, n, &got);
  if (rc == STRATA_OK && got != n)
    rc = st_error(STRATA_IO_ERROR,
                  "%s: file shrank while reading at offset %llu", r->name,
                  (unsigned long long)off);
  return rc;
}

/* Makes the block starting at `start` (a multiple of LOG_BLOCK_SIZE) current.
 */
static int load_block(log_reader *r, uint64_t start) {
  r->blk_start = start;
  r->pos = 0;
  if (start >= r->size) {
    r->blk_len = 0;
    r->blk = r->mem ? r->mem : r->buf;
    return STRATA_OK;
  }
  uint64_t n = r->size - start;
  r->blk_len = (uint32_t)(n < LOG_BLOCK_SIZE ? n : LOG_BLOCK_SIZE);
  if (r->mem) {
    r->blk = r->mem + start;
    return STRATA_OK;
  }
  /* Blocks come from a window of several blocks read at once, so a clean
   * read costs one pread per WINDOW bytes. */
  if (start < r->buf_start || start + r->blk_len > r->buf_start + r->buf_len) {
    uint64_t left = r->size - start;
    uint32_t n = (uint32_t)(left < WINDOW ? left : WINDOW);
    r->buf_len = 0;
    int rc = src_read(r, start, r->buf, n);
    if (rc != STRATA_OK) return rc;
    r->buf_start = start;
    r->buf_len = n;
  }
  r->blk = r->buf + (start - r->buf_start);
  return STRATA_OK;
}

/* Moves the read position to file offset `off`. */
static int seek_to(log_reader *r, uint64_t off) {
  if (off >= r->blk_start && off < r->blk_start + r->blk_len) {
    r->pos = (uint32_t)(off - r->blk_start);
    return STRATA_OK;
  }
  uint64_t start = off - off % LOG_BLOCK_SIZE;
  int rc = load_block(r, start);
  if (rc == STRATA_OK) r->pos = (uint32_t)(off - start);
  if (r->pos > r->blk_len) r->pos = r->blk_len;
  return rc;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

/* Offset of the first non-zero byte at or after `from` (r->size if none),
 * or UINT64_MAX on a read error. */
static uint64_t zero_run_end(log_reader *r, uint64_t from) {
  if (r->mem) {
    uint64_t i = from;
    while (i < r->size && r->mem[i] == 0)
      i++;
    return i;
  }
  uint8_t chunk[4096];
  uint64_t off = from;
  while (off < r->size) {
    size_t n =
        (size_t)(r->size - off < sizeof chunk ? r->size - off : sizeof chunk);
    if (src_read(r, off, chunk, n) != STRATA_OK) return UINT64_MAX;
    for (size_t i = 0; i < n; i++)
      if (chunk[i]) return off + i;
    off += n;
  }
  return r->size;
}

static int zeros_to_eof(log_reader *r, uint64_t from) {
  return from >= r->size || zero_run_end(r, from) == r->size;
}

/* ---- fragment checks --------------------------------------------------- */

/* Parses and verifies the fragment at block offset p of `blk` (blk_len bytes).
 * Returns 1 with *type and *len set when it is a whole, verified fragment. */
static int frag_ok(const log_reader *r, const uint8_t *blk, uint32_t blk_len,
                   uint32_t p, unsigned *type, uint32_t *len) {
  if (blk_len - p < LOG_HEADER_SIZE) return 0;
  const uint8_t *h = blk + p;
  unsigned t = h[6];
  uint32_t n = decode_fixed16(h + 4);
  if (t < LOG_FULL || t > LOG_MAX_TYPE) return 0;
  if (n > blk_len - p - LOG_HEADER_SIZE) return 0;
  uint32_t crc = crc32c_extend(r->type_crc[t], h + LOG_HEADER_SIZE, n);
  if (crc != crc32c_unmask(decode_fixed32(h))) return 0;
  *type = t;
  *len = n;
  return 1;
}

static int continues(unsigned t) { return t == LOG_FIRST || t == LOG_MIDDLE; }

/* Whether a chain ending with a fragment of type `last` agrees with the first
 * fragment of the next block: a continued record must go on with MIDDLE or
 * LAST, a complete one with FULL or FIRST. No verdict (1) when there is no
 * next block or its first fragment does not verify. */
static int agrees_with_next_block(log_reader *r, unsigned last) {
  if (last == 0 || r->blk_len < LOG_BLOCK_SIZE) return 1;
  uint64_t next = r->blk_start + LOG_BLOCK_SIZE;
  if (next >= r->size) return 1;
  uint64_t avail = r->size - next;
  uint32_t n = (uint32_t)(avail < LOG_BLOCK_SIZE ? avail : LOG_BLOCK_SIZE);
  const uint8_t *nb;
  if (r->mem) {
    nb = r->mem + next;
  } else {
    if (!r->scratch && !(r->scratch = malloc(LOG_BLOCK_SIZE))) return 0;
    if (src_read(r, next, r->scratch, n) != STRATA_OK) return 0;
    nb = r->scratch;
  }
  unsigned t;
  uint32_t len;
  if (!frag_ok(r, nb, n, 0, &t, &len)) return 1;
  return continues(last) == (t == LOG_MIDDLE || t == LOG_LAST);
}

/* Whether block offset p is a valid stop: the block's end, a zero trailer, or
 * the start of a chain of verified, consistently typed fragments that reaches
 * the block's end (agreeing with the next block) or a clean end of file. */
static int valid_stop(log_reader *r, uint32_t p) {
  const int last_block = r->blk_len < LOG_BLOCK_SIZE;
  unsigned prev = 0;
  for (;;) {
    if (p == r->blk_len) return agrees_with_next_block(r, prev);
    uint32_t rem = r->blk_len - p;
    if (rem < LOG_HEADER_SIZE) {
      if (last_block) return 1; /* a header cut by the end of the file */
      return all_zero(r->blk + p, rem) && agrees_with_next_block(r, prev);
    }
    const uint8_t *h = r->blk + p;
    if (all_zero(h, LOG_HEADER_SIZE)) return zeros_to_eof(r, r->blk_start + p);
    unsigned t;
    uint32_t len;
    if (!frag_ok(r, r->blk, r->blk_len, p, &t, &len)) {
      /* A fragment cut off by the end of the file is a torn tail after the
       * chain, which does not make the chain itself doubtful. */
      uint32_t n = decode_fixed16(h + 4);
      return last_block && h[6] >= LOG_FULL && h[6] <= LOG_MAX_TYPE &&
             r->blk_start + p + LOG_HEADER_SIZE + n > r->size;
    }
    if (prev && continues(prev) != (t == LOG_MIDDLE || t == LOG_LAST)) return 0;
    prev = t;
    p += LOG_HEADER_SIZE + len;
  }
}

/* Whether block offset b could be a valid stop at all (a cheap filter before
 * valid_stop): the block's end, the trailer zone, or a plausible header. */
static int maybe_stop(const log_reader *r, uint32_t b) {
  if (r->blk_len - b < LOG_HEADER_SIZE) return 1;
  const uint8_t *h = r->blk + b;
  return h[6] >= LOG_FULL && h[6] <= LOG_MAX_TYPE &&
         decode_fixed16(h + 4) <= r->blk_len - b - LOG_HEADER_SIZE;
}

/* Rule A1: the stored checksum matches the bytes from the fragment's payload
 * start up to some valid stop b under some type — the length or type field
 * was what got damaged. Returns b's file offset, or 0 when nothing is proven.
 * Costs one CRC pass over the rest of the block per type, only on damage. */
static uint64_t checksum_proof(log_reader *r, uint32_t x) {
  const uint8_t *h = r->blk + x;
  uint32_t stored = crc32c_unmask(decode_fixed32(h));
  uint32_t len = decode_fixed16(h + 4);
  unsigned type = h[6];
  uint32_t first = x + LOG_HEADER_SIZE;
  if (first > r->blk_len || all_zero(h, 4)) return 0;
  if (!r->stops &&
      !(r->stops = malloc(sizeof(uint32_t) * (LOG_BLOCK_SIZE + 1))))
    return 0;
  uint32_t n = 0;
  for (uint32_t b = first; b <= r->blk_len; b++)
    if (maybe_stop(r, b)) r->stops[n++] = b;
  for (unsigned t = LOG_FULL; t <= LOG_MAX_TYPE; t++) {
    uint32_t c = r->type_crc[t];
    uint32_t done = first; /* c covers bytes [first, done) */
    for (uint32_t i = 0; i < n; i++) {
      uint32_t b = r->stops[i];
      c = crc32c_extend(c, r->blk + done, b - done);
      done = b;
      if (c == stored && !(t == type && b == first + len) && valid_stop(r, b))
        return r->blk_start + b;
    }
  }
  return 0;
}

/* Skip policy: where to resume after the bad fragment at block offset x
 * (rules A1 and A2 above); the next block's start when nothing is anchored. */
static uint64_t find_resume(log_reader *r, uint32_t x) {
  const uint8_t *h = r->blk + x;
  uint32_t len = decode_fixed16(h + 4);
  unsigned type = h[6];
  uint32_t first = x + LOG_HEADER_SIZE;
  uint64_t block_end = r->blk_start + r->blk_len;
  if (first > r->blk_len) return block_end;
  uint64_t proven = checksum_proof(r, x);
  if (proven) return proven;
  /* A2: the length field agrees with a valid stop. */
  if (type >= LOG_FULL && type <= LOG_MAX_TYPE && len > 0 &&
      len <= r->blk_len - first && valid_stop(r, first + len))
    return r->blk_start + first + len;
  return block_end;
}

/* ---- drops and policy -------------------------------------------------- */

static void flush_drop(log_reader *r) {
  if (!r->drop_open) return;
  r->drop_open = 0;
  r->dropped_bytes += r->drop_end - r->drop_start;
  r->drop_count++;
  if (!r->on_damage) return;
  strata_damage d;
  d.file = r->name;
  d.offset = r->drop_start;
  d.bytes = r->drop_end - r->drop_start;
  d.kind = r->drop_kind;
  d.reason = r->drop_reason;
  d.records = r->drop_records;
  d.tail = r->drop_tail;
  r->on_damage(r->arg, &d);
}

/* Adds [start, end) to the dropped regions, merging with the pending one when
 * they touch. `records` is how many logical records this damage costs. */
static void add_drop(log_reader *r, uint64_t start, uint64_t end,
                     strata_damage_kind kind, uint64_t records, int tail,
                     const char *reason) {
  if (r->drop_open && start <= r->drop_end) {
    if (end > r->drop_end) r->drop_end = end;
    r->drop_records += records;
    r->drop_tail = tail;
    return;
  }
  flush_drop(r);
  r->drop_open = 1;
  r->drop_start = start;
  r->drop_end = end;
  r->drop_kind = kind;
  r->drop_records = records;
  r->drop_tail = tail;
  snprintf(r->drop_reason, sizeof r->drop_reason, "%s", reason);
}

static int finish(log_reader *r) {
  flush_drop(r);
  r->status = STRATA_END;
  return STRATA_END;
}

/* Fails the read: reports [start, end) and records the error. */
static int refuse(log_reader *r, uint64_t start, uint64_t end,
                  strata_damage_kind kind, int tail, const char *reason) {
  add_drop(r, start, end, kind, 1, tail, reason);
  flush_drop(r);
  r->status = ST_CORRUPT("%s: %s", r->name, reason);
  return r->status;
}

/* Damage that runs to the end of the file: every policy but absolute drops
 * it. Returns the status next() should return. */
static int tail_damage(log_reader *r, uint64_t start, uint64_t records,
                       const char *reason) {
  r->in_frag = 0;
  if (r->policy == STRATA_RECOVERY_ABSOLUTE && !r->discarding)
    return refuse(r, start, r->size, STRATA_DAMAGE_TORN_TAIL, 1, reason);
  add_drop(r, start, r->size, STRATA_DAMAGE_TORN_TAIL, records, !r->discarding,
           reason);
  return finish(r);
}

/* Damage followed by intact data: region [start, end) where `end` is where
 * the skip policy resumes. Returns 0 to go on reading (from `end`), or the
 * status next() should return. */
static int mid_damage(log_reader *r, uint64_t start, uint64_t end,
                      strata_damage_kind kind, uint64_t records,
                      const char *reason) {
  r->in_frag = 0;
  r->damaged = 1;
  r->resume_at = end;
  if (!r->discarding) {
    switch (r->policy) {
    case STRATA_RECOVERY_ABSOLUTE:
    case STRATA_RECOVERY_TOLERATE_TAIL:
      return refuse(r, start, end, kind, 0, reason);
    case STRATA_RECOVERY_POINT_IN_TIME: {
      char why[200];
      snprintf(why, sizeof why,
               "%s; point-in-time recovery drops everything after it", reason);
      add_drop(r, start, r->size, kind, records, 0, why);
      r->discarding = 1;
      break;
    }
    case STRATA_RECOVERY_SKIP:
      add_drop(r, start, end, kind, records, 0, reason);
      break;
    }
  } else {
    r->drop_records += records;
  }
  int rc = seek_to(r, end);
  if (rc != STRATA_OK) r->status = rc;
  return rc;
}

/* The fragment at block offset x failed to parse or verify. */
static int bad_fragment(log_reader *r, uint32_t x, strata_damage_kind kind,
                        const char *what) {
  const uint8_t *h = r->blk + x;
  uint64_t off = r->blk_start + x;
  uint64_t start = r->in_frag ? r->rec_start : off;
  uint32_t len = decode_fixed16(h + 4);
  char reason[160];
  snprintf(reason, sizeof reason, "%s at offset %llu", what,
           (unsigned long long)off);
  /* Where this fragment ends, for the tail test: its header's end when its
   * length or type cannot be trusted. */
  uint64_t end = off + LOG_HEADER_SIZE;
  if (kind == STRATA_DAMAGE_CHECKSUM) end += len;
  if (zeros_to_eof(r, end)) return tail_damage(r, start, 1, reason);
  uint64_t resume = find_resume(r, x);
  return mid_damage(r, start, resume, kind, 1, reason);
}

/* ---- reading ----------------------------------------------------------- */

static int rec_append(log_reader *r, const uint8_t *p, size_t n) {
  if (n == 0) return STRATA_OK;
  if (r->rec_len + n > r->rec_cap) {
    size_t cap = r->rec_cap ? r->rec_cap : 4096;
    while (cap < r->rec_len + n)
      cap *= 2;
    uint8_t *nr = realloc(r->rec, cap);
    if (!nr) return st_error(STRATA_NO_MEMORY, "%s: out of memory", r->name);
    r->rec = nr;
    r->rec_cap = cap;
  }
  memcpy(r->rec + r->rec_len, p, n);
  r->rec_len += n;
  return STRATA_OK;
}

/* A FIRST or MIDDLE fragment was followed by FULL/FIRST at offset `at`. */
static int missing_end(log_reader *r, uint64_t at) {
  char reason[160];
  snprintf(reason, sizeof reason,
           "record at offset %llu has no LAST fragment (next record at offset "
           "%llu)",
           (unsigned long long)r->rec_start, (unsigned long long)at);
  /* mid_damage seeks to `at`, the fragment being read, which is then read
   * again with the unfinished record dropped. */
  return mid_damage(r, r->rec_start, at, STRATA_DAMAGE_MISSING_END, 1, reason);
}

int log_reader_next(log_reader *r, const uint8_t **data, size_t *size,
                    strata_log_record_info *info) {
  if (r->status) return r->status;
  for (;;) {
    uint32_t rem = r->blk_len - r->pos;
    if (rem < LOG_HEADER_SIZE) {
      if (r->blk_len == LOG_BLOCK_SIZE &&
          r->blk_start + LOG_BLOCK_SIZE < r->size) {
        /* Trailer: skip to the next block. */
        int rc = load_block(r, r->blk_start + LOG_BLOCK_SIZE);
        if (rc != STRATA_OK) return r->status = rc;
        continue;
      }
      /* End of the file. */
      uint64_t off = r->blk_start + r->pos;
      /* Bytes after the last record of a partial block: the writer leaves a
       * trailer only together with the next record, so even zeros here are
       * what a torn append left (a header, or a trailer, cut off). */
      if (rem > 0 && r->blk_len < LOG_BLOCK_SIZE) {
        char reason[160];
        snprintf(
            reason, sizeof reason,
            "%u bytes of an incomplete header or trailer at the end of the "
            "file at offset %llu",
            rem, (unsigned long long)off);
        return tail_damage(r, r->in_frag ? r->rec_start : off, r->in_frag,
                           reason);
      }
      if (r->in_frag) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "record at offset %llu has no LAST fragment before the end of "
                 "the file",
                 (unsigned long long)r->rec_start);
        return tail_damage(r, r->rec_start, 1, reason);
      }
      return finish(r);
    }

    uint32_t x = r->pos;
    const uint8_t *h = r->blk + x;
    uint64_t off = r->blk_start + x;
    unsigned type = h[6];
    uint32_t len = decode_fixed16(h + 4);
    int rc;

    if (all_zero(h, LOG_HEADER_SIZE)) {
      uint64_t z1 = zero_run_end(r, off);
      if (z1 == UINT64_MAX) return r->status = STRATA_IO_ERROR;
      if (z1 == r->size) {
        /* strata preallocates without changing a file's size, so zeros up to
         * the end are what a crash leaves of unwritten pages: a torn tail. */
        char reason[160];
        snprintf(reason, sizeof reason,
                 "zero-filled tail of %llu bytes at offset %llu",
                 (unsigned long long)(z1 - off), (unsigned long long)off);
        return tail_damage(r, r->in_frag ? r->rec_start : off,
                           r->in_frag ? 1 : 0, reason);
      }
      char reason[160];
      snprintf(reason, sizeof reason,
               "zeroed region of %llu bytes at offset %llu",
               (unsigned long long)(z1 - off), (unsigned long long)off);
      uint64_t resume =
          (z1 + LOG_BLOCK_SIZE - 1) / LOG_BLOCK_SIZE * LOG_BLOCK_SIZE;
      if (resume > r->size) resume = r->size;
      rc = mid_damage(r, r->in_frag ? r->rec_start : off, resume,
                      STRATA_DAMAGE_ZEROED, 1, reason);
      if (rc) return rc;
      continue;
    }
    if (type < LOG_FULL || type > LOG_MAX_TYPE) {
      char what[64];
      snprintf(what, sizeof what, "bad fragment type %u", type);
      if ((rc = bad_fragment(r, x, STRATA_DAMAGE_BAD_TYPE, what))) return rc;
      continue;
    }
    if (len > rem - LOG_HEADER_SIZE) {
      if (off + LOG_HEADER_SIZE + len > r->size &&
          r->blk_len < LOG_BLOCK_SIZE && !checksum_proof(r, x)) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "%s fragment at offset %llu cut off by the end of the file "
                 "(%u of %u payload bytes present)",
                 type_name(type), (unsigned long long)off,
                 rem - LOG_HEADER_SIZE, len);
        return tail_damage(r, r->in_frag ? r->rec_start : off, 1, reason);
      }
      char what[64];
      snprintf(what, sizeof what, "fragment length %u overruns its block", len);
      if ((rc = bad_fragment(r, x, STRATA_DAMAGE_BAD_LENGTH, what))) return rc;
      continue;
    }
    const uint8_t *payload = h + LOG_HEADER_SIZE;
    uint32_t crc = crc32c_extend(r->type_crc[type], payload, len);
    if (crc != crc32c_unmask(decode_fixed32(h))) {
      char what[64];
      snprintf(what, sizeof what, "checksum mismatch in %s fragment",
               type_name(type));
      if ((rc = bad_fragment(r, x, STRATA_DAMAGE_CHECKSUM, what))) return rc;
      continue;
    }

    /* A verified fragment. */
    uint64_t frag_end = off + LOG_HEADER_SIZE + len;
    if ((type == LOG_FULL || type == LOG_FIRST) && r->in_frag) {
      if ((rc = missing_end(r, off))) return rc;
      continue; /* re-read this fragment with the stale record dropped */
    }
    if ((type == LOG_MIDDLE || type == LOG_LAST) && !r->in_frag) {
      char reason[160];
      snprintf(reason, sizeof reason,
               "%s fragment at offset %llu without a FIRST", type_name(type),
               (unsigned long long)off);
      /* The continuation of a record already counted in the pending drop
       * costs nothing more. */
      uint64_t cost = (r->damaged && r->resume_at == off) ? 0 : 1;
      if ((rc = mid_damage(r, off, frag_end, STRATA_DAMAGE_ORPHAN, cost,
                           reason)))
        return rc;
      continue;
    }
    r->pos = x + LOG_HEADER_SIZE + len;
    const uint8_t *out;
    size_t out_len;
    uint64_t rec_off;
    uint32_t frags;
    if (type == LOG_FULL) {
      out = payload;
      out_len = len;
      rec_off = off;
      frags = 1;
    } else if (type == LOG_FIRST) {
      r->in_frag = 1;
      r->rec_start = off;
      r->rec_len = 0;
      r->rec_frags = 1;
      if ((rc = rec_append(r, payload, len))) return r->status = rc;
      continue;
    } else {
      if ((rc = rec_append(r, payload, len))) return r->status = rc;
      r->rec_frags++;
      if (type == LOG_MIDDLE) continue;
      r->in_frag = 0;
      out = r->rec;
      out_len = r->rec_len;
      rec_off = r->rec_start;
      frags = r->rec_frags;
    }
    if (r->discarding) {
      r->drop_records++;
      continue;
    }
    flush_drop(r);
    *data = out_len ? out : (const uint8_t *)"";
    *size = out_len;
    if (info) {
      info->offset = rec_off;
      info->end = frag_end;
      info->fragments = frags;
    }
    return STRATA_OK;
  }
}

/* ---- open/close -------------------------------------------------------- */

static int reader_new(const char *name, strata_recovery policy,
                      strata_damage_fn on_damage, void *arg, log_reader **out) {
  if ((unsigned)policy > STRATA_RECOVERY_SKIP)
    return st_error(STRATA_INVALID_ARGUMENT, "%s: unknown recovery policy %d",
                    name, (int)policy);
  log_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->name = strdup(name ? name : "(log)"))) {
    free(r);
    return st_error(STRATA_NO_MEMORY, "log reader: out of memory");
  }
  r->policy = policy;
  r->on_damage = on_damage;
  r->arg = arg;
  for (unsigned t = 0; t <= LOG_MAX_TYPE; t++) {
    uint8_t b = (uint8_t)t;
    r->type_crc[t] = crc32c_value(&b, 1);
  }
  *out = r;
  return STRATA_OK;
}

int log_reader_open(env *e, const char *path, strata_recovery policy,
                    strata_damage_fn on_damage, void *arg, log_reader **out) {
  log_reader *r = NULL;
  int rc = reader_new(path, policy, on_damage, arg, &r);
  if (rc) return rc;
  if ((rc = env_open_read(e, path, &r->file)) ||
      (rc = env_file_size(r->file, &r->size))) {
    log_reader_close(r);
    return rc;
  }
  if (!(r->buf = malloc(WINDOW))) {
    log_reader_close(r);
    return st_error(STRATA_NO_MEMORY, "log reader: out of memory");
  }
  if ((rc = load_block(r, 0))) {
    log_reader_close(r);
    return rc;
  }
  *out = r;
  return STRATA_OK;
}

int log_reader_open_mem(const void *data, size_t size, const char *name,
                        strata_recovery policy, strata_damage_fn on_damage,
                        void *arg, log_reader **out) {
  log_reader *r = NULL;
  int rc = reader_new(name, policy, on_damage, arg, &r);
  if (rc) return rc;
  static const uint8_t empty[1];
  r->mem = size ? data : empty;
  r->size = size;
  load_block(r, 0);
  *out = r;
  return STRATA_OK;
}

uint64_t log_reader_dropped_bytes(const log_reader *r) {
  return r->dropped_bytes;
}
uint64_t log_reader_drop_count(const log_reader *r) { return r->drop_count; }

void log_reader_close(log_reader *r) {
  if (!r) return;
  env_close(r->file);
  free(r->buf);
  free(r->scratch);
  free(r->stops);
  free(r->rec);
  free(r->name);
  free(r);
}
