/*
 * bc_entry.h — encoding and decoding of Bitcask data entries and hint entries
 * (bc_format.h, docs/formats/bitcask.md). Decoders take hostile bytes: every
 * length is bounds-checked and a data entry's header checksum must match.
 */
#ifndef STRATA_BC_ENTRY_H
#define STRATA_BC_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* One decoded data entry; pointers point into the decoded buffer. */
typedef struct bc_entry {
  int kind;             /* BC_KIND_PUT or BC_KIND_TOMBSTONE */
  uint64_t ts;          /* timestamp: microseconds, unique and increasing */
  uint64_t expiry;      /* unix seconds after which it is gone; 0 = never */
  const uint8_t *key;   /* key bytes */
  uint32_t klen;        /* key length */
  const uint8_t *value; /* value bytes (vlen of them; none for tombstones) */
  uint32_t vlen;        /* value length */
} bc_entry;

/* Bytes bc_entry_encode writes. */
size_t bc_entry_size(size_t klen, size_t vlen, uint64_t expiry);
/* Writes one entry at dst (bc_entry_size bytes); returns one past it. */
uint8_t *bc_entry_encode(uint8_t *dst, int kind, uint64_t ts, uint64_t expiry,
                         const void *key, size_t klen, const void *value,
                         size_t vlen);
/* Decodes one entry from [p, limit); returns one past it, or NULL if it is
 * malformed, truncated, or its header checksum fails. */
const uint8_t *bc_entry_decode(const uint8_t *p, const uint8_t *limit,
                               bc_entry *e);

/* Decodes and verifies an entry's header and key only (its value may be
 * missing or damaged): returns where the value starts, or NULL. */
const uint8_t *bc_entry_decode_header(const uint8_t *p, const uint8_t *limit,
                                      bc_entry *e);

/* Called per entry of a data record: `e` and its position (bytes from the
 * payload's start, and length). Non-zero stops the walk and is returned. */
typedef int (*bc_entry_fn)(void *arg, const bc_entry *e, uint32_t pos,
                           uint32_t len);
/* Walks the entries of one data record payload (a single entry or a batch).
 * STRATA_CORRUPTION if anything is malformed (after calling fn for a
 * prefix: callers that must be atomic check first with fn == NULL). */
int bc_record_walk(const uint8_t *rec, size_t n, bc_entry_fn fn, void *arg);

/* One hint entry: where the newest entry of a key in one data file is. */
typedef struct bc_hint {
  int kind;           /* BC_KIND_PUT or BC_KIND_TOMBSTONE */
  uint32_t file_id;   /* the data file */
  uint64_t offset;    /* file offset of the first fragment holding it */
  uint32_t size;      /* bytes of the fragments holding it */
  uint32_t sub;       /* entry's position in those fragments' payload */
  uint64_t ts;        /* its timestamp */
  uint64_t expiry;    /* its expiry (unix seconds; 0 = never) */
  const uint8_t *key; /* key bytes (into the decoded buffer) */
  uint32_t klen;      /* key length */
} bc_hint;

/* Upper bound of bytes bc_hint_encode writes for a key of klen bytes. */
size_t bc_hint_max_size(size_t klen);
uint8_t *bc_hint_encode(uint8_t *dst, const bc_hint *h);
/* NULL if malformed or truncated. */
const uint8_t *bc_hint_decode(const uint8_t *p, const uint8_t *limit,
                              bc_hint *h);

#endif
