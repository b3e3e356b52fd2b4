/*
 * version_edit.c — LevelDB 1.23's VersionEdit, the record of a MANIFEST
 * (docs/formats/manifest.md; tags in version_edit.h).
 *
 * Format: a record is a sequence of fields, each a varint32 tag and its
 * values (varint32 levels, varint64 numbers, varint32-length-prefixed byte
 * strings); nothing else, no padding, no count. An empty record is an empty
 * edit.
 *
 * Encoding follows LevelDB's field order (1, 2, 9, 3, 4, then every 5, 6 and
 * 7), and deleted files are kept as LevelDB keeps them, a set ordered by
 * (level, number) without duplicates, so that a strata MANIFEST record is
 * byte-identical to the one LevelDB writes for the same edit.
 *
 * Damage: records come from disk and are hostile. One parser (ve_parser_next)
 * walks them for both ve_decode and the public strata_manifest_edit_decode;
 * it bounds-checks every varint and length and refuses, with
 * STRATA_CORRUPTION and a message naming the field and its offset in the
 * record: an unknown tag, tag 8 (LevelDB's obsolete large-value refs), a
 * level >= 7, a truncated or overlong varint, a length that overruns the
 * record, an internal key shorter than its 8-byte trailer (LevelDB refuses
 * empty ones and cannot use shorter ones), and a repeated single-valued tag
 * (1, 2, 3, 4, 9: LevelDB never writes one, and keeping the last would make
 * the edit re-encode to different bytes). Nothing is asserted about disk
 * bytes; ve_decode leaves the edit empty on failure.
 */
#include "lsm/version_edit.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "util/coding.h"
#include "util/status.h"

enum { IKEY_TRAILER = 8 };

void ve_init(version_edit *e) { memset(e, 0, sizeof *e); }

void ve_clear(version_edit *e) {
  sst_buf_free(&e->comparator);
  for (size_t i = 0; i < e->npointers; i++)
    sst_buf_free(&e->pointers[i].key);
  for (size_t i = 0; i < e->nfiles; i++) {
    sst_buf_free(&e->files[i].smallest);
    sst_buf_free(&e->files[i].largest);
  }
  free(e->pointers);
  free(e->deleted);
  free(e->files);
  ve_init(e);
}

/* ---- setters ------------------------------------------------------------ */

int ve_set_comparator(version_edit *e, const char *name) {
  if (sst_buf_set(&e->comparator, name, strlen(name))) return STRATA_NO_MEMORY;
  e->has_comparator = 1;
  return STRATA_OK;
}

void ve_set_log_number(version_edit *e, uint64_t n) {
  e->has_log_number = 1;
  e->log_number = n;
}

void ve_set_prev_log(version_edit *e, uint64_t n) {
  e->has_prev_log = 1;
  e->prev_log = n;
}

void ve_set_next_file(version_edit *e, uint64_t n) {
  e->has_next_file = 1;
  e->next_file = n;
}

void ve_set_last_sequence(version_edit *e, uint64_t s) {
  e->has_last_sequence = 1;
  e->last_sequence = s;
}

/* Grows *v (elements of `size` bytes, *n in use) by one; -1 out of memory. */
static int grow(void **v, size_t n, size_t size) {
  /* capacity: 4 while n <= 4, then the next power of two >= n */
  if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) return 0;
  size_t cap = n ? n * 2 : 4;
  void *p = realloc(*v, cap * size);
  if (!p) return -1;
  *v = p;
  return 0;
}

int ve_add_pointer(version_edit *e, int level, const uint8_t *k, size_t n) {
  assert(level >= 0 && level < VE_LEVELS);
  if (grow((void **)&e->pointers, e->npointers, sizeof *e->pointers))
    return STRATA_NO_MEMORY;
  ve_pointer *p = &e->pointers[e->npointers];
  memset(p, 0, sizeof *p);
  p->level = level;
  if (sst_buf_set(&p->key, k, n)) return STRATA_NO_MEMORY;
  e->npointers++;
  return STRATA_OK;
}

int ve_delete_file(version_edit *e, int level, uint64_t number) {
  assert(level >= 0 && level < VE_LEVELS);
  size_t i = e->ndeleted;
  while (i > 0 && (e->deleted[i - 1].level > level ||
                   (e->deleted[i - 1].level == level &&
                    e->deleted[i - 1].number >= number)))
    i--;
  if (i < e->ndeleted && e->deleted[i].level == level &&
      e->deleted[i].number == number)
    return STRATA_OK; /* a set, as LevelDB's */
  if (grow((void **)&e->deleted, e->ndeleted, sizeof *e->deleted))
    return STRATA_NO_MEMORY;
  memmove(&e->deleted[i + 1], &e->deleted[i],
          (e->ndeleted - i) * sizeof *e->deleted);
  e->deleted[i].level = level;
  e->deleted[i].number = number;
  e->ndeleted++;
  return STRATA_OK;
}

int ve_add_file(version_edit *e, int level, uint64_t number, uint64_t size,
                const uint8_t *smallest, size_t sn, const uint8_t *largest,
                size_t ln) {
  assert(level >= 0 && level < VE_LEVELS);
  if (grow((void **)&e->files, e->nfiles, sizeof *e->files))
    return STRATA_NO_MEMORY;
  ve_file *f = &e->files[e->nfiles];
  memset(f, 0, sizeof *f);
  f->level = level;
  f->number = number;
  f->size = size;
  if (sst_buf_set(&f->smallest, smallest, sn) ||
      sst_buf_set(&f->largest, largest, ln)) {
    sst_buf_free(&f->smallest);
    sst_buf_free(&f->largest);
    return STRATA_NO_MEMORY;
  }
  e->nfiles++;
  return STRATA_OK;
}

/* ---- encoding ----------------------------------------------------------- */

static int put_varint(sst_buf *out, uint64_t v) {
  uint8_t tmp[VARINT64_MAX];
  return sst_buf_add(out, tmp, (size_t)(encode_varint64(tmp, v) - tmp));
}

static int put_bytes(sst_buf *out, const sst_buf *b) {
  return put_varint(out, b->len) || sst_buf_add(out, b->data, b->len);
}

int ve_encode(const version_edit *e, sst_buf *out) {
  int bad = 0;
  if (e->has_comparator)
    bad |= put_varint(out, 1) || put_bytes(out, &e->comparator);
  if (e->has_log_number)
    bad |= put_varint(out, 2) || put_varint(out, e->log_number);
  if (e->has_prev_log)
    bad |= put_varint(out, 9) || put_varint(out, e->prev_log);
  if (e->has_next_file)
    bad |= put_varint(out, 3) || put_varint(out, e->next_file);
  if (e->has_last_sequence)
    bad |= put_varint(out, 4) || put_varint(out, e->last_sequence);
  for (size_t i = 0; i < e->npointers; i++)
    bad |= put_varint(out, 5) ||
           put_varint(out, (uint64_t)e->pointers[i].level) ||
           put_bytes(out, &e->pointers[i].key);
  for (size_t i = 0; i < e->ndeleted; i++)
    bad |= put_varint(out, 6) ||
           put_varint(out, (uint64_t)e->deleted[i].level) ||
           put_varint(out, e->deleted[i].number);
  for (size_t i = 0; i < e->nfiles; i++) {
    const ve_file *f = &e->files[i];
    bad |= put_varint(out, 7) || put_varint(out, (uint64_t)f->level) ||
           put_varint(out, f->number) || put_varint(out, f->size) ||
           put_bytes(out, &f->smallest) || put_bytes(out, &f->largest);
  }
  return bad ? STRATA_NO_MEMORY : STRATA_OK;
}

static int buf_eq(const sst_buf *a, const sst_buf *b) {
  return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

int ve_equal(const version_edit *a, const version_edit *b) {
  if (a->has_comparator != b->has_comparator ||
      (a->has_comparator && !buf_eq(&a->comparator, &b->comparator)))
    return 0;
  if (a->has_log_number != b->has_log_number ||
      a->log_number != b->log_number || a->has_prev_log != b->has_prev_log ||
      a->prev_log != b->prev_log || a->has_next_file != b->has_next_file ||
      a->next_file != b->next_file ||
      a->has_last_sequence != b->has_last_sequence ||
      a->last_sequence != b->last_sequence || a->npointers != b->npointers ||
      a->ndeleted != b->ndeleted || a->nfiles != b->nfiles)
    return 0;
  for (size_t i = 0; i < a->npointers; i++)
    if (a->pointers[i].level != b->pointers[i].level ||
        !buf_eq(&a->pointers[i].key, &b->pointers[i].key))
      return 0;
  for (size_t i = 0; i < a->ndeleted; i++)
    if (a->deleted[i].level != b->deleted[i].level ||
        a->deleted[i].number != b->deleted[i].number)
      return 0;
  for (size_t i = 0; i < a->nfiles; i++) {
    const ve_file *x = &a->files[i], *y = &b->files[i];
    if (x->level != y->level || x->number != y->number || x->size != y->size ||
        !buf_eq(&x->smallest, &y->smallest) ||
        !buf_eq(&x->largest, &y->largest))
      return 0;
  }
  return 1;
}

/* ---- the field parser --------------------------------------------------- */

static const char *tag_name(int tag) {
  switch (tag) {
  case 1: return "comparator";
  case 2: return "log number";
  case 3: return "next file number";
  case 4: return "last sequence";
  case 5: return "compact pointer";
  case 6: return "deleted file";
  case 7: return "new file";
  case 9: return "previous log number";
  default: return "field";
  }
}

void ve_parser_init(ve_parser *p, const uint8_t *rec, size_t n,
                    const char *name) {
  p->rec = rec;
  p->n = n;
  p->pos = 0;
  p->seen = 0;
  p->name = name;
}

/* The prefix of every message: "NAME: MANIFEST record: FIELD (tag T) at
 * offset N". */
#define FIELD_FMT "%s%sMANIFEST record: %s (tag %d) at offset %zu: "
#define FIELD_ARGS(p, f)                                                       \
  (p)->name ? (p)->name : "", (p)->name ? ": " : "", tag_name((f)->tag),       \
      (f)->tag, (f)->offset

/* Reads one varint value of field f at p->pos; `what` names it. */
static int get_u64(ve_parser *p, const ve_field *f, const char *what,
                   uint64_t *v) {
  const uint8_t *end = p->rec + p->n;
  const uint8_t *q = decode_varint64(p->rec + p->pos, end, v);
  if (!q)
    return ST_CORRUPT(FIELD_FMT "%s: truncated or malformed varint at offset "
                                "%zu (record is %zu bytes)",
                      FIELD_ARGS(p, f), what, p->pos, p->n);
  p->pos = (size_t)(q - p->rec);
  return STRATA_OK;
}

static int get_level(ve_parser *p, ve_field *f) {
  const uint8_t *end = p->rec + p->n;
  size_t at = p->pos;
  uint32_t v;
  const uint8_t *q = decode_varint32(p->rec + at, end, &v);
  if (!q)
    return ST_CORRUPT(FIELD_FMT "level: truncated or malformed varint at "
                                "offset %zu (record is %zu bytes)",
                      FIELD_ARGS(p, f), at, p->n);
  if (v >= VE_LEVELS)
    return ST_CORRUPT(FIELD_FMT "level %" PRIu32 " at offset %zu is not "
                                "below %d",
                      FIELD_ARGS(p, f), v, at, VE_LEVELS);
  p->pos = (size_t)(q - p->rec);
  f->level = (int)v;
  return STRATA_OK;
}

/* A varint32 length and that many bytes; internal keys (ikey) must hold at
 * least their 8-byte trailer. */
static int get_bytes(ve_parser *p, const ve_field *f, const char *what,
                     int ikey, const uint8_t **data, size_t *len) {
  const uint8_t *end = p->rec + p->n;
  size_t at = p->pos;
  uint32_t v;
  const uint8_t *q = decode_varint32(p->rec + at, end, &v);
  if (!q)
    return ST_CORRUPT(FIELD_FMT "%s length: truncated or malformed varint at "
                                "offset %zu (record is %zu bytes)",
                      FIELD_ARGS(p, f), what, at, p->n);
  size_t start = (size_t)(q - p->rec);
  if (v > p->n - start)
    return ST_CORRUPT(FIELD_FMT "%s length %" PRIu32 " at offset %zu "
                                "overruns the record (%zu bytes left)",
                      FIELD_ARGS(p, f), what, v, at, p->n - start);
  if (ikey && v < IKEY_TRAILER)
    return ST_CORRUPT(FIELD_FMT "%s of %" PRIu32 " bytes at offset %zu is "
                                "shorter than an internal key's 8-byte "
                                "trailer",
                      FIELD_ARGS(p, f), what, v, at);
  *data = p->rec + start;
  *len = v;
  p->pos = start + v;
  return STRATA_OK;
}

int ve_parser_next(ve_parser *p, ve_field *f) {
  memset(f, 0, sizeof *f);
  if (p->pos >= p->n) return STRATA_END;
  f->offset = p->pos;
  uint32_t tag;
  const uint8_t *q = decode_varint32(p->rec + p->pos, p->rec + p->n, &tag);
  if (!q)
    return ST_CORRUPT("%s%sMANIFEST record: tag at offset %zu: truncated or "
                      "malformed varint (record is %zu bytes)",
                      p->name ? p->name : "", p->name ? ": " : "", p->pos,
                      p->n);
  if (tag == 8)
    return ST_CORRUPT("%s%sMANIFEST record: obsolete tag 8 (large value "
                      "refs) at offset %zu",
                      p->name ? p->name : "", p->name ? ": " : "", p->pos);
  if (tag < 1 || tag > 9)
    return ST_CORRUPT("%s%sMANIFEST record: unknown tag %" PRIu32
                      " at offset %zu",
                      p->name ? p->name : "", p->name ? ": " : "", tag, p->pos);
  f->tag = (int)tag;
  p->pos = (size_t)(q - p->rec);
  if (tag <= 4 || tag == 9) {
    if (p->seen & (1u << tag))
      return ST_CORRUPT(FIELD_FMT "repeats a field a record holds once",
                        FIELD_ARGS(p, f));
    p->seen |= 1u << tag;
  }
  int rc;
  switch (tag) {
  case 1: return get_bytes(p, f, "name", 0, &f->key, &f->key_len);
  case 2:
  case 3:
  case 9: return get_u64(p, f, "number", &f->number);
  case 4: return get_u64(p, f, "sequence", &f->number);
  case 5:
    if ((rc = get_level(p, f))) return rc;
    return get_bytes(p, f, "key", 1, &f->key, &f->key_len);
  case 6:
    if ((rc = get_level(p, f))) return rc;
    return get_u64(p, f, "file number", &f->number);
  default: /* 7 */
    if ((rc = get_level(p, f)) ||
        (rc = get_u64(p, f, "file number", &f->number)) ||
        (rc = get_u64(p, f, "file size", &f->size)) ||
        (rc = get_bytes(p, f, "smallest key", 1, &f->key, &f->key_len)))
      return rc;
    return get_bytes(p, f, "largest key", 1, &f->key2, &f->key2_len);
  }
}

/* ---- decoding ----------------------------------------------------------- */

static int apply(version_edit *e, const ve_field *f) {
  switch (f->tag) {
  case 1:
    if (sst_buf_set(&e->comparator, f->key, f->key_len))
      return STRATA_NO_MEMORY;
    e->has_comparator = 1;
    return STRATA_OK;
  case 2: ve_set_log_number(e, f->number); return STRATA_OK;
  case 3: ve_set_next_file(e, f->number); return STRATA_OK;
  case 4: ve_set_last_sequence(e, f->number); return STRATA_OK;
  case 9: ve_set_prev_log(e, f->number); return STRATA_OK;
  case 5: return ve_add_pointer(e, f->level, f->key, f->key_len);
  case 6: return ve_delete_file(e, f->level, f->number);
  default:
    return ve_add_file(e, f->level, f->number, f->size, f->key, f->key_len,
                       f->key2, f->key2_len);
  }
}

int ve_decode(version_edit *e, const uint8_t *rec, size_t n, const char *name) {
  ve_parser p;
  ve_field f;
  int rc;
  ve_parser_init(&p, rec, n, name);
  while ((rc = ve_parser_next(&p, &f)) == STRATA_OK)
    if ((rc = apply(e, &f)) != STRATA_OK) break;
  if (rc == STRATA_END) return STRATA_OK;
  if (rc == STRATA_NO_MEMORY) st_error(rc, "MANIFEST record: out of memory");
  ve_clear(e);
  return rc;
}
