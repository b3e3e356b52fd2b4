/*
 * log_format.h — constants of the record-log format (LevelDB's log format,
 * byte for byte). Normative description: docs/formats/log.md.
 *
 * A file is a sequence of 32768-byte blocks (the last may be partial). A block
 * holds physical records (fragments): a 7-byte header — masked CRC32C (4 bytes
 * LE) of the type byte followed by the payload, payload length (2 bytes LE),
 * type (1 byte) — then the payload. A fragment never starts in the last 6
 * bytes of a block; those bytes (the trailer) are zero.
 */
#ifndef STRATA_LOG_FORMAT_H
#define STRATA_LOG_FORMAT_H

enum {
  LOG_BLOCK_SIZE = 32768,
  LOG_HEADER_SIZE = 7, /* checksum 4 + length 2 + type 1 */
};

typedef enum log_record_type {
  LOG_ZERO = 0, /* never written; seen in zero-filled (preallocated) space */
  LOG_FULL = 1,
  LOG_FIRST = 2,
  LOG_MIDDLE = 3,
  LOG_LAST = 4,
  LOG_MAX_TYPE = LOG_LAST
} log_record_type;

#endif
