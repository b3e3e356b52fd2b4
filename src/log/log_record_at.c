/*
 * log_record_at.c — reading one record of a record-log file at a known place
 * (docs/formats/log.md). The format is the log's: 32768-byte blocks, 7-byte
 * fragment headers (masked CRC32C of type byte + payload, 2-byte LE length,
 * type), zero trailers of < 7 bytes at block ends.
 *
 * Invariant relied on: a record written by log_writer starts at `start` and
 * fills each block to its end (or to a trailer) before the next, so its
 * fragment layout follows from `start` and its payload length alone.
 *
 * Damage: the bytes come from disk and are hostile. Every fragment's length
 * must fit both the block and the buffer, its type must be FULL..LAST and its
 * checksum must match; otherwise STRATA_CORRUPTION and nothing is returned.
 */
#include "log/log_record_at.h"

#include <string.h>

#include "log/log_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

void log_record_span(uint64_t start, uint64_t payload_len, uint64_t p,
                     uint64_t q, uint64_t *frag_off, uint64_t *frag_end,
                     uint32_t *skip) {
  uint64_t pos = start, done = 0;
  int found = 0;
  *frag_off = start;
  *frag_end = start + LOG_HEADER_SIZE;
  *skip = 0;
  for (;;) {
    uint64_t left = LOG_BLOCK_SIZE - pos % LOG_BLOCK_SIZE;
    if (left < LOG_HEADER_SIZE) {
      pos += left;
      left = LOG_BLOCK_SIZE;
    }
    uint64_t room = left - LOG_HEADER_SIZE;
    uint64_t n = payload_len - done < room ? payload_len - done : room;
    /* fragment [pos, pos+7+n) carries payload [done, done+n) */
    if (!found && p < done + n) {
      found = 1;
      *frag_off = pos;
      *skip = (uint32_t)(p - done);
    }
    if (found) *frag_end = pos + LOG_HEADER_SIZE + n;
    done += n;
    pos += LOG_HEADER_SIZE + n;
    if (done >= payload_len || (found && done >= q)) break;
  }
}

int log_parse_fragments(uint8_t *buf, size_t n, uint64_t file_off,
                        const char *name, size_t *payload_len) {
  size_t in = 0, out = 0;
  if (n == 0)
    return ST_CORRUPT("%s: empty record range at offset %llu", name,
                      (unsigned long long)file_off);
  while (in < n) {
    uint64_t at = file_off + in;
    uint64_t left = LOG_BLOCK_SIZE - at % LOG_BLOCK_SIZE;
    if (left < LOG_HEADER_SIZE) {
      if (n - in < left)
        return ST_CORRUPT("%s: record range ends in a block trailer at %llu",
                          name, (unsigned long long)at);
      for (uint64_t i = 0; i < left; i++)
        if (buf[in + i] != 0)
          return ST_CORRUPT("%s: non-zero block trailer at offset %llu", name,
                            (unsigned long long)at);
      in += left;
      continue;
    }
    if (n - in < LOG_HEADER_SIZE)
      return ST_CORRUPT("%s: fragment header cut off at offset %llu", name,
                        (unsigned long long)at);
    const uint8_t *h = buf + in;
    uint32_t len = decode_fixed16(h + 4);
    uint8_t type = h[6];
    if (type < LOG_FULL || type > LOG_LAST)
      return ST_CORRUPT("%s: bad fragment type %u at offset %llu", name,
                        (unsigned)type, (unsigned long long)at);
    if ((uint64_t)len + LOG_HEADER_SIZE > left ||
        (size_t)len > n - in - LOG_HEADER_SIZE)
      return ST_CORRUPT("%s: fragment length %u overruns at offset %llu", name,
                        (unsigned)len, (unsigned long long)at);
    uint32_t want = crc32c_unmask(decode_fixed32(h));
    uint32_t crc = crc32c_extend(crc32c_value(&type, 1), h + LOG_HEADER_SIZE,
                                 len);
    if (crc != want)
      return ST_CORRUPT("%s: checksum mismatch in fragment at offset %llu",
                        name, (unsigned long long)at);
    memmove(buf + out, h + LOG_HEADER_SIZE, len);
    out += len;
    in += LOG_HEADER_SIZE + (size_t)len;
  }
  *payload_len = out;
  return STRATA_OK;
}
