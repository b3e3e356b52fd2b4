/*
 * log_writer.c — the record-log writer (LevelDB's log format, byte for byte;
 * docs/formats/log.md).
 *
 * Format written: 32768-byte blocks; each record is split into fragments that
 * fit the space left in the current block: FULL if it fits whole, otherwise
 * FIRST, MIDDLE..., LAST. A fragment header is masked CRC32C of (type byte,
 * payload) in 4 bytes LE, payload length in 2 bytes LE, type in 1 byte. When
 * fewer than 7 bytes are left in a block they are filled with zeros (the
 * trailer) and the next fragment starts the next block; when exactly 7 are
 * left, a header-only FIRST fragment is written there (LevelDB does the same).
 * An empty record is one FULL fragment with no payload.
 *
 * Invariants: `block_offset` == `size` % LOG_BLOCK_SIZE at every return; all
 * bytes of a record are handed to the kernel (env_appendv) before add returns.
 * On a failed append the writer is poisoned: what reached the file is at most a
 * torn record at the tail, which every reader policy but `absolute` drops.
 * A failed sync poisons it too: the kernel may have dropped the unsynced
 * pages and report the next fdatasync of the file as successful, so no later
 * sync through this writer may claim durability (reopen to recover).
 */
#include "log/log_writer.h"

#include <stdlib.h>
#include <string.h>

#include "log/log_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

enum { MAX_FRAGS_PER_WRITE = 64 };

/* A batch of iovecs and the header bytes they point at. */
typedef struct frag_batch {
  struct iovec iov[MAX_FRAGS_PER_WRITE * 3]; /* header, payload, trailer */
  uint8_t hdr[MAX_FRAGS_PER_WRITE][LOG_HEADER_SIZE]; /* header storage */
  int niov;                                          /* iovecs in use */
  int nfrag;                                         /* headers in use */
} frag_batch;

struct log_writer {
  env_file *file;        /* destination, opened for append */
  int owns_file;         /* close `file` in log_writer_close */
  uint64_t size;         /* bytes in the file */
  uint32_t block_offset; /* size % LOG_BLOCK_SIZE */
  int failed;            /* an append or a sync failed; refuse further
                            appends and syncs */
  uint32_t type_crc[LOG_MAX_TYPE + 1]; /* CRC32C of each one-byte type */
  frag_batch batch; /* fragments queued for the next writev */
};

int log_writer_create(env_file *file, uint64_t size, int owns_file,
                      log_writer **out) {
  log_writer *w = calloc(1, sizeof *w);
  if (!w) return st_error(STRATA_NO_MEMORY, "log writer: out of memory");
  w->file = file;
  w->owns_file = owns_file;
  w->size = size;
  w->block_offset = (uint32_t)(size % LOG_BLOCK_SIZE);
  for (int t = 0; t <= LOG_MAX_TYPE; t++) {
    uint8_t b = (uint8_t)t;
    w->type_crc[t] = crc32c_value(&b, 1);
  }
  *out = w;
  return STRATA_OK;
}

static const uint8_t zeros[LOG_HEADER_SIZE];

static int flush(log_writer *w, frag_batch *b) {
  if (b->niov == 0) return STRATA_OK;
  int rc = env_appendv(w->file, b->iov, b->niov);
  b->niov = 0;
  b->nfrag = 0;
  if (rc != STRATA_OK) w->failed = 1;
  return rc;
}

/* Queues one record's fragments, flushing the batch when it fills up. */
static int queue_record(log_writer *w, frag_batch *b, const uint8_t *p,
                        size_t left) {
  int begin = 1;
  do {
    uint32_t avail = LOG_BLOCK_SIZE - w->block_offset;
    if (avail < LOG_HEADER_SIZE) {
      if (avail > 0) {
        b->iov[b->niov].iov_base = (void *)zeros;
        b->iov[b->niov].iov_len = avail;
        b->niov++;
      }
      w->size += avail;
      w->block_offset = 0;
      avail = LOG_BLOCK_SIZE;
    }
    size_t room = avail - LOG_HEADER_SIZE;
    size_t n = left < room ? left : room;
    int end = (n == left);
    log_record_type type = begin && end ? LOG_FULL
                           : begin      ? LOG_FIRST
                           : end        ? LOG_LAST
                                        : LOG_MIDDLE;
    uint8_t *h = b->hdr[b->nfrag++];
    uint32_t crc = crc32c_extend(w->type_crc[type], p, n);
    encode_fixed32(h, crc32c_mask(crc));
    encode_fixed16(h + 4, (uint16_t)n);
    h[6] = (uint8_t)type;
    b->iov[b->niov].iov_base = h;
    b->iov[b->niov].iov_len = LOG_HEADER_SIZE;
    b->niov++;
    if (n) {
      b->iov[b->niov].iov_base = (void *)p;
      b->iov[b->niov].iov_len = n;
      b->niov++;
    }
    p += n;
    left -= n;
    w->size += LOG_HEADER_SIZE + n;
    w->block_offset =
        (uint32_t)((w->block_offset + LOG_HEADER_SIZE + n) % LOG_BLOCK_SIZE);
    begin = 0;
    if (b->nfrag == MAX_FRAGS_PER_WRITE) {
      int rc = flush(w, b);
      if (rc != STRATA_OK) return rc;
    }
  } while (left > 0);
  return STRATA_OK;
}

int log_writer_add_many(log_writer *w, const struct iovec *records, int count) {
  if (w->failed)
    return st_error(STRATA_IO_ERROR,
                    "%s: log writer disabled by an earlier "
                    "failed append or sync",
                    w->file->path);
  frag_batch *b = &w->batch;
  b->niov = 0;
  b->nfrag = 0;
  int rc = STRATA_OK;
  for (int i = 0; i < count && rc == STRATA_OK; i++)
    rc = queue_record(w, b, records[i].iov_base, records[i].iov_len);
  if (rc == STRATA_OK)
    rc = flush(w, b);
  else
    w->failed = 1;
  return rc;
}

int log_writer_add(log_writer *w, const void *data, size_t size) {
  struct iovec v;
  v.iov_base = (void *)data;
  v.iov_len = size;
  return log_writer_add_many(w, &v, 1);
}

int log_writer_sync(log_writer *w) {
  if (w->failed)
    return st_error(STRATA_IO_ERROR,
                    "%s: log writer disabled by an earlier failed append or "
                    "sync",
                    w->file->path);
  int rc = env_datasync(w->file);
  if (rc != STRATA_OK) w->failed = 1;
  return rc;
}

uint64_t log_writer_size(const log_writer *w) { return w->size; }

env_file *log_writer_file(const log_writer *w) { return w->file; }

int log_writer_close(log_writer *w) {
  if (!w) return STRATA_OK;
  int rc = STRATA_OK;
  if (w->owns_file) rc = env_close(w->file);
  free(w);
  return rc;
}
