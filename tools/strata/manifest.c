/*
 * manifest.c — MANIFEST-NNNNNN files (LevelDB VersionEdits, one per
 * record; docs/formats/manifest.md) for `strata dump` and `strata verify`.
 * Records are decoded with strata_manifest_edit_decode, field by field in
 * record order.
 *
 * dump, text: after each "record" line, one line per field:
 *   <TAB>comparator<TAB>NAME
 *   <TAB>log-number<TAB>N          (also prev-log-number, next-file,
 *                                   last-sequence)
 *   <TAB>compact-pointer<TAB>level L 'KEY'@SEQ TYPE
 *   <TAB>deleted-file<TAB>level L #N
 *   <TAB>new-file<TAB>level L #N SIZE bytes ['KEY'@SEQ TYPE .. 'KEY'@SEQ TYPE]
 *   <TAB>bad-record<TAB>MESSAGE    (a record that does not decode: the
 *   <TAB>data<TAB>BYTES             fields before the damage, then this)
 * KEY is the user key in the tool's text form (or hex), SEQ the sequence
 * number and TYPE "put", "del" or "type N" from the internal key's trailer.
 * dump, JSON: each element of "records" gets "fields": [{"tag", "name", ...}]
 * with "level", "number", "sequence", "size", "key"/"smallest"/"largest"
 * ({"key", "sequence", "type"}) as the tag has them, and "error" and "data"
 * when the record does not decode.
 *
 * verify: a record that passed its checksums but does not decode is damage
 * of kind "bad-record" covering the record's bytes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_is_manifest(const char *path) {
  return strncmp(cli_basename(path), "MANIFEST-", 9) == 0;
}

static const char *field_name(int tag) {
  switch (tag) {
  case 1: return "comparator";
  case 2: return "log-number";
  case 3: return "next-file";
  case 4: return "last-sequence";
  case 5: return "compact-pointer";
  case 6: return "deleted-file";
  case 7: return "new-file";
  case 9: return "prev-log-number";
  default: return "unknown";
  }
}

/* An internal key: user key, then 8 bytes little-endian (sequence << 8 |
 * type). The decoder guarantees the 8 bytes. */
typedef struct ikey {
  const void *user; /* user key */
  size_t len;       /* its length */
  uint64_t seq;     /* sequence number */
  unsigned type;    /* 1 put, 0 del */
} ikey;

static ikey parse_ikey(const void *p, size_t n) {
  const unsigned char *b = p;
  ikey k = {p, n >= 8 ? n - 8 : 0, 0, 0};
  if (n < 8) return k;
  uint64_t t = 0;
  for (int i = 7; i >= 0; i--)
    t = t << 8 | b[n - 8 + (size_t)i];
  k.seq = t >> 8;
  k.type = (unsigned)(t & 0xff);
  return k;
}

static void text_ikey(int hex, const void *p, size_t n) {
  ikey k = parse_ikey(p, n);
  putchar('\'');
  cli_write_bytes(stdout, hex, 0, k.user, k.len);
  printf("'@%" PRIu64, k.seq);
  if (k.type <= 1)
    printf(" %s", k.type ? "put" : "del");
  else
    printf(" type %u", k.type);
}

static void json_ikey(json_writer *w, int hex, const char *name, const void *p,
                      size_t n) {
  ikey k = parse_ikey(p, n);
  json_key(w, name);
  json_object_begin(w);
  json_key(w, "key");
  json_bytes(w, hex, k.user, k.len);
  json_key(w, "sequence");
  json_uint(w, k.seq);
  json_key(w, "type");
  if (k.type <= 1)
    json_str(w, k.type ? "put" : "del");
  else
    json_uint(w, k.type);
  json_object_end(w);
}

typedef struct printer {
  const cli_options *o; /* hex, json */
  json_writer *w;       /* the JSON writer (with --json) */
} printer;

static int print_field(void *arg, const strata_edit_field *f) {
  printer *p = arg;
  int hex = p->o->hex;
  if (p->o->json) {
    json_writer *w = p->w;
    json_object_begin(w);
    json_key(w, "tag");
    json_uint(w, (uint64_t)f->tag);
    json_key(w, "name");
    json_str(w, field_name(f->tag));
    switch (f->tag) {
    case 1:
      json_key(w, "comparator");
      json_bytes(w, hex, f->key, f->key_len);
      break;
    case 4:
      json_key(w, "sequence");
      json_uint(w, f->number);
      break;
    case 5:
      json_key(w, "level");
      json_uint(w, (uint64_t)f->level);
      json_ikey(w, hex, "key", f->key, f->key_len);
      break;
    case 6:
    case 7:
      json_key(w, "level");
      json_uint(w, (uint64_t)f->level);
      json_key(w, "number");
      json_uint(w, f->number);
      if (f->tag == 7) {
        json_key(w, "size");
        json_uint(w, f->size);
        json_ikey(w, hex, "smallest", f->key, f->key_len);
        json_ikey(w, hex, "largest", f->key2, f->key2_len);
      }
      break;
    default: /* 2, 3, 9 */ json_key(w, "number"); json_uint(w, f->number);
    }
    json_object_end(w);
    return 0;
  }
  printf("\t%s\t", field_name(f->tag));
  switch (f->tag) {
  case 1: cli_write_bytes(stdout, hex, 0, f->key, f->key_len); break;
  case 5:
    printf("level %d ", f->level);
    text_ikey(hex, f->key, f->key_len);
    break;
  case 6: printf("level %d #%" PRIu64, f->level, f->number); break;
  case 7:
    printf("level %d #%" PRIu64 " %" PRIu64 " bytes [", f->level, f->number,
           f->size);
    text_ikey(hex, f->key, f->key_len);
    fputs(" .. ", stdout);
    text_ikey(hex, f->key2, f->key2_len);
    putchar(']');
    break;
  default: printf("%" PRIu64, f->number);
  }
  putchar('\n');
  return 0;
}

void cli_manifest_dump_record(const cli_options *o, json_writer *w,
                              const void *data, size_t size) {
  printer p = {o, w};
  if (o->json) {
    json_key(w, "fields");
    json_array_begin(w);
  }
  int st = strata_manifest_edit_decode(data, size, print_field, &p);
  if (o->json) json_array_end(w);
  if (st == STRATA_OK) return;
  const char *msg = strata_last_error();
  if (o->json) {
    json_key(w, "error");
    json_str(w, msg);
    json_key(w, "data");
    json_bytes(w, o->hex, data, size);
    return;
  }
  fputs("\tbad-record\t", stdout);
  cli_write_bytes(stdout, 0, 0, msg, strlen(msg));
  fputs("\n\tdata\t", stdout);
  cli_write_bytes(stdout, o->hex, 0, data, size);
  putchar('\n');
}

int cli_manifest_check_record(const char *path, const void *data, size_t size,
                              const strata_log_record_info *info,
                              cli_drops *drops) {
  if (strata_manifest_edit_decode(data, size, NULL, NULL) == STRATA_OK)
    return 1;
  char reason[1024];
  snprintf(reason, sizeof reason, "a record that is not a MANIFEST edit: %s",
           strata_last_error());
  strata_damage d = {
      .file = path,
      .offset = info->offset,
      .bytes = info->end - info->offset,
      .kind = STRATA_DAMAGE_BAD_RECORD,
      .reason = reason,
      .records = 1,
      .tail = 0,
  };
  cli_drops_collect(drops, &d);
  return 0;
}
