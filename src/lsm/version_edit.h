/*
 * version_edit.h — a MANIFEST record: LevelDB 1.23's VersionEdit
 * (docs/formats/manifest.md). A record is a sequence of fields, each a
 * varint32 tag followed by its values:
 *   1 comparator name      length-prefixed bytes
 *   2 log number           varint64
 *   3 next file number     varint64
 *   4 last sequence        varint64
 *   5 compact pointer      varint32 level, length-prefixed internal key
 *   6 deleted file         varint32 level, varint64 number
 *   7 new file             varint32 level, varint64 number, varint64 size,
 *                          length-prefixed smallest and largest internal keys
 *   9 previous log number  varint64
 * Tag 8 (large value refs) is obsolete; it and any other tag are damage.
 * Levels are < 7 (a larger level is damage).
 */
#ifndef STRATA_LSM_VERSION_EDIT_H
#define STRATA_LSM_VERSION_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sst_buf.h"

enum { VE_LEVELS = 7 };

typedef struct ve_file {
  int level;        /* 0..6 */
  uint64_t number;  /* file number (NNNNNN.ldb) */
  uint64_t size;    /* bytes */
  sst_buf smallest; /* smallest internal key (owned) */
  sst_buf largest;  /* largest internal key (owned) */
} ve_file;

typedef struct ve_deleted {
  int level;       /* 0..6 */
  uint64_t number; /* file number */
} ve_deleted;

typedef struct ve_pointer {
  int level;   /* 0..6 */
  sst_buf key; /* internal key (owned) */
} ve_pointer;

typedef struct version_edit {
  int has_comparator;     /* tag 1 present */
  sst_buf comparator;     /* its name (owned) */
  int has_log_number;     /* tag 2 present */
  uint64_t log_number;    /* WALs numbered below this are obsolete */
  int has_prev_log;       /* tag 9 present */
  uint64_t prev_log;      /* previous log number (0 in LevelDB 1.23) */
  int has_next_file;      /* tag 3 present */
  uint64_t next_file;     /* next file number to allocate */
  int has_last_sequence;  /* tag 4 present */
  uint64_t last_sequence; /* last sequence number used */
  ve_pointer *pointers;   /* tag 5 fields, in order */
  size_t npointers;       /* how many */
  ve_deleted *deleted;    /* tag 6 fields, in order */
  size_t ndeleted;        /* how many */
  ve_file *files;         /* tag 7 fields, in order */
  size_t nfiles;          /* how many */
} version_edit;

/* An empty edit (all zero). */
void ve_init(version_edit *e);
/* Frees what the edit owns and empties it; accepts an empty edit. */
void ve_clear(version_edit *e);

/* Setters copy their bytes; STRATA_OK or STRATA_NO_MEMORY. */
int ve_set_comparator(version_edit *e, const char *name);
void ve_set_log_number(version_edit *e, uint64_t n);
void ve_set_prev_log(version_edit *e, uint64_t n);
void ve_set_next_file(version_edit *e, uint64_t n);
void ve_set_last_sequence(version_edit *e, uint64_t s);
int ve_add_pointer(version_edit *e, int level, const uint8_t *k, size_t n);
int ve_delete_file(version_edit *e, int level, uint64_t number);
int ve_add_file(version_edit *e, int level, uint64_t number, uint64_t size,
                const uint8_t *smallest, size_t sn, const uint8_t *largest,
                size_t ln);

/* Appends the encoding to out (fields in LevelDB's order: 1, 2, 9, 3, 4, 5,
 * 6, 7). STRATA_OK or STRATA_NO_MEMORY. */
int ve_encode(const version_edit *e, sst_buf *out);

/* 1 if a and b hold the same fields with the same values, in the same order
 * (used by tests and the fuzz target). */
int ve_equal(const version_edit *a, const version_edit *b);

/* Decodes a whole record into e (which must be empty). STRATA_CORRUPTION with
 * a message naming the field and its offset in the record (`name` is the
 * MANIFEST file, for the message) if any field is unknown, malformed,
 * overruns the record or is repeated where it must not be; e is then left
 * empty. STRATA_NO_MEMORY. */
int ve_decode(version_edit *e, const uint8_t *rec, size_t n, const char *name);

/* One field of a record as the shared field parser sees it (ve_decode and
 * strata_manifest_edit_decode both walk records with it). Pointers point into
 * the record. */
typedef struct ve_field {
  int tag;             /* 1..7 or 9 */
  size_t offset;       /* of its tag, from the record's start */
  int level;           /* tags 5, 6, 7 */
  uint64_t number;     /* tags 2, 3, 4, 6, 7, 9 */
  uint64_t size;       /* tag 7: file bytes */
  const uint8_t *key;  /* tag 1: comparator name; 5: key; 7: smallest */
  size_t key_len;      /* its length */
  const uint8_t *key2; /* tag 7: largest */
  size_t key2_len;     /* its length */
} ve_field;

/* Walks one record field by field. */
typedef struct ve_parser {
  const uint8_t *rec; /* the record */
  size_t n;           /* its length, bytes */
  size_t pos;         /* offset of the next field */
  unsigned seen;      /* bit 1 << tag for each single-valued tag met */
  const char *name;   /* the MANIFEST, for messages (may be NULL) */
} ve_parser;

void ve_parser_init(ve_parser *p, const uint8_t *rec, size_t n,
                    const char *name);
/* The next field: STRATA_OK (f filled), STRATA_END after the last one, or
 * STRATA_CORRUPTION with a message naming the field and its offset (an
 * unknown tag, tag 8, a level >= 7, a truncated or overlong varint, a length
 * that overruns the record, an internal key shorter than its 8-byte trailer,
 * or a repeat of tag 1, 2, 3, 4 or 9). */
int ve_parser_next(ve_parser *p, ve_field *f);

#endif
