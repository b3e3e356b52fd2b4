/*
 * log_record_at.h — positional access to one record of a record-log file
 * whose place is known (a Bitcask key directory or hint file holds it): the
 * fragment layout of a record, and the parse-and-verify of fragments read
 * from a byte range with one pread.
 */
#ifndef STRATA_LOG_RECORD_AT_H
#define STRATA_LOG_RECORD_AT_H

#include <stddef.h>
#include <stdint.h>

/* The physical fragments that carry payload bytes [p, q) of a record of
 * `payload_len` bytes whose first fragment header is at file offset `start`
 * (as the writer lays them out: log_writer.c). On return [*frag_off,
 * *frag_end) are the file bytes of those fragments and *skip the number of
 * payload bytes of the first of them that precede p. Requires p < q <=
 * payload_len. */
void log_record_span(uint64_t start, uint64_t payload_len, uint64_t p,
                     uint64_t q, uint64_t *frag_off, uint64_t *frag_end,
                     uint32_t *skip);

/* Parses the fragments in buf[0..n), which were read from file offset
 * `file_off` (a fragment boundary), verifying every fragment's length, type
 * and checksum and skipping zero block trailers. The payloads are
 * concatenated in place at buf[0..*payload_len). STRATA_CORRUPTION (message
 * naming `name` and the offset) if any fragment fails; the buffer is then
 * unspecified. Never reads outside buf[0..n). */
int log_parse_fragments(uint8_t *buf, size_t n, uint64_t file_off,
                        const char *name, size_t *payload_len);

#endif
