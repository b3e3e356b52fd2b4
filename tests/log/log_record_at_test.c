/*
 * log_record_at_test.c — positional record reads: log_record_span agrees with
 * the writer's layout (as the reader reports it) for every size class around
 * block boundaries, and log_parse_fragments verifies and reassembles a
 * record's byte range, refusing a flipped byte, a cut range, a bad type and
 * a non-zero trailer (its corruption matrix).
 */
#include <stdlib.h>

#include "env/env.h"
#include "log/log_format.h"
#include "log/log_reader.h"
#include "log/log_record_at.h"
#include "log/log_writer.h"
#include "test.h"

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  fclose(f);
  return b;
}

TEST(span_matches_writer_and_parse_roundtrip) {
  const char *path = test_path("log");
  env *e = env_posix();
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &f), STRATA_OK);
  log_writer *w;
  log_writer_create(f, 0, 1, &w);
  size_t sizes[200];
  int n = 0;
  uint8_t *payload = malloc(100000);
  for (int i = 0; i < 100000; i++)
    payload[i] = (uint8_t)(i * 7);
  /* sizes that end 0..8 bytes before a block end, and multi-block ones */
  for (int i = 0; i < 120; i++) {
    uint64_t at = log_writer_size(w);
    uint64_t left = LOG_BLOCK_SIZE - at % LOG_BLOCK_SIZE;
    size_t s = i % 3 == 0 ? (size_t)(test_rand() % 70000)
               : left > 20 ? (size_t)(left - 7 - (uint64_t)(i % 9)) : 5;
    sizes[n++] = s;
    CHECK_EQ(log_writer_add(w, payload, s), STRATA_OK);
  }
  log_writer_close(w);
  size_t flen;
  uint8_t *img = slurp(path, &flen);
  log_reader *r;
  CHECK_EQ(log_reader_open(e, path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r),
           STRATA_OK);
  const uint8_t *rec;
  size_t rl;
  strata_log_record_info info;
  int i = 0;
  while (log_reader_next(r, &rec, &rl, &info) == STRATA_OK) {
    CHECK_U64(rl, sizes[i]);
    if (rl > 0) {
      uint64_t off, end;
      uint32_t skip;
      log_record_span(info.offset, rl, 0, rl, &off, &end, &skip);
      CHECK(off >= info.offset && off <= info.offset + 7);
      CHECK_U64(end, info.end);
      CHECK_EQ(skip, 0);
      /* whole record */
      uint8_t *b = malloc(end - off);
      memcpy(b, img + off, end - off);
      size_t pl;
      CHECK_EQ(log_parse_fragments(b, end - off, off, "t", &pl), STRATA_OK);
      CHECK_MEM(b, pl, payload, rl);
      free(b);
      /* a slice in the middle */
      uint64_t p = rl / 3, q = p + 1 + rl / 5;
      if (q > rl) q = rl;
      log_record_span(info.offset, rl, p, q, &off, &end, &skip);
      b = malloc(end - off);
      memcpy(b, img + off, end - off);
      CHECK_EQ(log_parse_fragments(b, end - off, off, "t", &pl), STRATA_OK);
      CHECK(skip + (q - p) <= pl);
      CHECK_MEM(b + skip, q - p, payload + p, q - p);
      CHECK(end - off <= (q - p) + 2 * LOG_BLOCK_SIZE);
      /* corruption matrix on the whole record */
      log_record_span(info.offset, rl, 0, rl, &off, &end, &skip);
      size_t len = end - off;
      b = realloc(b, len);
      memcpy(b, img + off, len);
      b[len / 2] ^= 1; /* flipped byte (header or payload) */
      CHECK_EQ(log_parse_fragments(b, len, off, "t", &pl), STRATA_CORRUPTION);
      memcpy(b, img + off, len);
      CHECK_EQ(log_parse_fragments(b, len - 1, off, "t", &pl),
               STRATA_CORRUPTION); /* cut short */
      memcpy(b, img + off, len);
      b[6] = 9; /* bad type */
      CHECK_EQ(log_parse_fragments(b, len, off, "t", &pl), STRATA_CORRUPTION);
      free(b);
    }
    i++;
  }
  CHECK_EQ(i, n);
  log_reader_close(r);
  /* a non-zero trailer inside the range */
  uint8_t blk[LOG_BLOCK_SIZE + 20];
  memset(blk, 0, sizeof blk);
  blk[LOG_BLOCK_SIZE - 3] = 1;
  size_t pl;
  CHECK_EQ(log_parse_fragments(blk + LOG_BLOCK_SIZE - 3, 10,
                               LOG_BLOCK_SIZE - 3, "t", &pl),
           STRATA_CORRUPTION);
  CHECK_EQ(log_parse_fragments(blk, 0, 0, "t", &pl), STRATA_CORRUPTION);
  free(img);
  free(payload);
}
