/*
 * manifest_doc_test.c — docs/formats/manifest.md cannot rot: the bytes of its
 * worked example (a record real LevelDB 1.23 wrote) must be exactly what
 * ve_encode writes for the edit the example describes, each line's offset
 * must be right, and the bytes must decode back to that edit.
 */
#include "test.h"

#include "lsm/version_edit.h"
#include "strata.h"
#include "util/coding.h"

#include <ctype.h>
#include <stdlib.h>

/* The source tree: $STRATA_SOURCE, else derived from this file's path. */
static void doc_path(char *out, size_t n) {
  const char *src = getenv("STRATA_SOURCE");
  if (src && *src) {
    snprintf(out, n, "%s/docs/formats/manifest.md", src);
    return;
  }
  snprintf(out, n, "%s", __FILE__);
  char *p = strstr(out, "tests/lsm/manifest_doc_test.c");
  if (p) snprintf(p, n - (size_t)(p - out), "docs/formats/manifest.md");
}

static int is_hex_byte(const char *t, size_t n) {
  return n == 2 && isxdigit((unsigned char)t[0]) &&
         isxdigit((unsigned char)t[1]) && !isupper((unsigned char)t[0]) &&
         !isupper((unsigned char)t[1]);
}

/* Parses the fenced block after the "offset  bytes  meaning" header of the
 * worked example: each line "OFFSET BYTE BYTE ... meaning". Returns the
 * number of bytes, or -1 (with a test failure) if the layout is broken. */
static int parse_example(const char *doc, uint8_t *out, int cap) {
  const char *p = strstr(doc, "### Worked example");
  CHECK_MSG(p != NULL, "no \"### Worked example\" section");
  if (!p) return -1;
  p = strstr(p, "\noffset  bytes");
  CHECK_MSG(p != NULL, "no \"offset  bytes  meaning\" header");
  if (!p) return -1;
  p = strchr(p + 1, '\n');
  int n = 0, lines = 0;
  while (p && p[1] && strncmp(p + 1, "```", 3) != 0) {
    p++;
    const char *end = strchr(p, '\n');
    if (!end) end = p + strlen(p);
    char line[256];
    size_t len = (size_t)(end - p) < sizeof line - 1 ? (size_t)(end - p)
                                                     : sizeof line - 1;
    memcpy(line, p, len);
    line[len] = 0;
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    CHECK_MSG(tok && isdigit((unsigned char)tok[0]), "line without offset: %s",
              line);
    if (tok) CHECK_EQ(atoi(tok), n); /* the offset column is right */
    int bytes = 0;
    while ((tok = strtok_r(NULL, " ", &save)) &&
           is_hex_byte(tok, strlen(tok))) {
      if (n < cap) out[n] = (uint8_t)strtoul(tok, NULL, 16);
      n++;
      bytes++;
    }
    CHECK_MSG(bytes > 0, "line without bytes at offset %d", n);
    lines++;
    p = *end ? end : NULL;
  }
  CHECK(lines > 10);
  return n <= cap ? n : -1;
}

static size_t ikey(uint8_t *out, const char *user, uint64_t seq, int type) {
  size_t n = strlen(user);
  memcpy(out, user, n);
  encode_fixed64(out + n, seq << 8 | (uint64_t)type);
  return n + 8;
}

TEST(worked_example_matches_encoder) {
  char path[4096];
  doc_path(path, sizeof path);
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  if (!f) return;
  static char doc[1 << 16];
  size_t len = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[len] = 0;
  uint8_t bytes[256];
  int n = parse_example(doc, bytes, (int)sizeof bytes);
  CHECK_EQ(n, 50);
  if (n < 0) return;

  /* the edit the example describes */
  version_edit e, d;
  ve_init(&e);
  ve_set_log_number(&e, 64);
  ve_set_prev_log(&e, 0);
  ve_set_next_file(&e, 66);
  ve_set_last_sequence(&e, 12129);
  uint8_t a[32], b[32];
  size_t an = ikey(a, "key002000", 11401, 1),
         bn = ikey(b, "key002435", 11836, 1);
  CHECK_EQ(ve_add_file(&e, 1, 65, 8062, a, an, b, bn), STRATA_OK);
  sst_buf enc = {0};
  CHECK_EQ(ve_encode(&e, &enc), STRATA_OK);
  CHECK_MEM(enc.data, enc.len, bytes, (size_t)n);

  ve_init(&d);
  CHECK_EQ(ve_decode(&d, bytes, (size_t)n, "manifest.md"), STRATA_OK);
  CHECK(ve_equal(&e, &d));
  ve_clear(&e);
  ve_clear(&d);
  sst_buf_free(&enc);
}
