/*
 * log_writer_test.c — the record-log writer: the exact bytes it lays down for
 * every record size class around block boundaries, continuing an existing
 * file, and what a torn append or a power loss leaves for the reader.
 */
#include "env/env_fault.h"
#include "log_test_util.h"

/* Walks the physical fragments of an image and checks each header: checksum,
 * length within the block, trailers zero. Returns the number of fragments and
 * stores their types in `types` (up to cap). */
static int walk_fragments(const uint8_t *img, size_t size, uint8_t *types,
                          int cap) {
  int n = 0;
  size_t off = 0;
  while (off < size) {
    size_t left = LOG_BLOCK_SIZE - off % LOG_BLOCK_SIZE;
    if (left < LOG_HEADER_SIZE) {
      for (size_t i = 0; i < left && off + i < size; i++)
        CHECK_EQ(img[off + i], 0);
      off += left;
      continue;
    }
    CHECK(off + LOG_HEADER_SIZE <= size);
    if (off + LOG_HEADER_SIZE > size) break;
    uint16_t len = decode_fixed16(img + off + 4);
    uint8_t t = img[off + 6];
    CHECK(t >= LOG_FULL && t <= LOG_LAST);
    CHECK((size_t)LOG_HEADER_SIZE + len <= left);
    uint32_t crc = crc32c_extend(crc32c_value(&t, 1), img + off + 7, len);
    CHECK_EQ(crc32c_unmask(decode_fixed32(img + off)), crc);
    if (n < cap) types[n] = t;
    n++;
    off += LOG_HEADER_SIZE + len;
  }
  CHECK_U64(off, size);
  return n;
}

static void read_back_all_policies(const wlog *w) {
  const strata_recovery p[4] = {
      STRATA_RECOVERY_ABSOLUTE, STRATA_RECOVERY_TOLERATE_TAIL,
      STRATA_RECOVERY_POINT_IN_TIME, STRATA_RECOVERY_SKIP};
  for (int i = 0; i < 4; i++) {
    rres r;
    read_img(w, w->img, w->size, p[i], &r);
    check_sound(w, w->size, &r);
    CHECK_EQ(r.status, STRATA_END);
    CHECK_EQ(r.n, w->n);
    CHECK_EQ(r.ndrops, 0);
  }
}

TEST(empty_record) {
  size_t sizes[] = {0};
  wlog w;
  wlog_build(&w, 1, sizes, NULL);
  CHECK_U64(w.size, 7);
  CHECK_EQ(w.img[4], 0);
  CHECK_EQ(w.img[5], 0);
  CHECK_EQ(w.img[6], LOG_FULL);
  /* masked CRC32C of the single type byte 0x01 */
  uint8_t t = LOG_FULL;
  CHECK_EQ(decode_fixed32(w.img), crc32c_mask(crc32c_value(&t, 1)));
  read_back_all_policies(&w);
  wlog_free(&w);
}

TEST(one_byte_record) {
  size_t sizes[] = {1};
  uint8_t v = 'x';
  uint8_t *c[] = {&v};
  wlog w;
  wlog_build(&w, 1, sizes, c);
  CHECK_U64(w.size, 8);
  CHECK_EQ(decode_fixed16(w.img + 4), 1);
  CHECK_EQ(w.img[7], 'x');
  read_back_all_policies(&w);
  wlog_free(&w);
}

TEST(record_exactly_filling_a_block) {
  size_t sizes[] = {LOG_BLOCK_SIZE - LOG_HEADER_SIZE, 5};
  wlog w;
  wlog_build(&w, 2, sizes, NULL);
  uint8_t types[8];
  CHECK_EQ(walk_fragments(w.img, w.size, types, 8), 2);
  CHECK_EQ(types[0], LOG_FULL);
  CHECK_EQ(types[1], LOG_FULL);
  CHECK_U64(w.recs[1].offset, LOG_BLOCK_SIZE);
  read_back_all_policies(&w);
  wlog_free(&w);
}

/* A record leaving 0..6 bytes in its block: those become a zero trailer and
 * the next record starts the next block. */
TEST(trailer_of_zero_to_six_bytes) {
  for (uint32_t left = 0; left < LOG_HEADER_SIZE; left++) {
    size_t sizes[] = {LOG_BLOCK_SIZE - LOG_HEADER_SIZE - left, 10};
    wlog w;
    wlog_build(&w, 2, sizes, NULL);
    CHECK_U64(w.recs[1].offset, LOG_BLOCK_SIZE);
    CHECK_U64(w.size, LOG_BLOCK_SIZE + LOG_HEADER_SIZE + 10);
    for (uint32_t i = 0; i < left; i++)
      CHECK_EQ(w.img[LOG_BLOCK_SIZE - left + i], 0);
    uint8_t types[8];
    CHECK_EQ(walk_fragments(w.img, w.size, types, 8), 2);
    read_back_all_policies(&w);
    wlog_free(&w);
  }
}

/* Exactly seven bytes left: LevelDB writes a header-only FIRST there. */
TEST(exactly_seven_bytes_left) {
  size_t sizes[] = {LOG_BLOCK_SIZE - 2 * LOG_HEADER_SIZE, 100};
  wlog w;
  wlog_build(&w, 2, sizes, NULL);
  uint8_t types[8];
  CHECK_EQ(walk_fragments(w.img, w.size, types, 8), 3);
  CHECK_EQ(types[1], LOG_FIRST);
  CHECK_EQ(decode_fixed16(w.img + LOG_BLOCK_SIZE - 7 + 4), 0);
  CHECK_EQ(types[2], LOG_LAST);
  read_back_all_policies(&w);
  wlog_free(&w);
}

TEST(record_spanning_two_blocks) {
  size_t sizes[] = {100, 40000, 100};
  wlog w;
  wlog_build(&w, 3, sizes, NULL);
  uint8_t types[8];
  CHECK_EQ(walk_fragments(w.img, w.size, types, 8), 4);
  CHECK_EQ(types[1], LOG_FIRST);
  CHECK_EQ(types[2], LOG_LAST);
  read_back_all_policies(&w);
  wlog_free(&w);
}

TEST(record_spanning_five_blocks) {
  size_t sizes[] = {4 * LOG_BLOCK_SIZE + 100};
  wlog w;
  wlog_build(&w, 1, sizes, NULL);
  uint8_t types[8];
  CHECK_EQ(walk_fragments(w.img, w.size, types, 8), 5);
  CHECK_EQ(types[0], LOG_FIRST);
  CHECK_EQ(types[1], LOG_MIDDLE);
  CHECK_EQ(types[2], LOG_MIDDLE);
  CHECK_EQ(types[3], LOG_MIDDLE);
  CHECK_EQ(types[4], LOG_LAST);
  read_back_all_policies(&w);
  wlog_free(&w);
}

TEST(many_sizes_round_trip) {
  size_t sizes[500];
  for (int i = 0; i < 500; i++) {
    uint64_t k = test_rand() % 10;
    sizes[i] = k < 6   ? test_rand() % 200
               : k < 9 ? test_rand() % 5000
                       : test_rand() % 100000;
  }
  wlog w;
  wlog_build(&w, 500, sizes, NULL);
  uint8_t types[1];
  walk_fragments(w.img, w.size, types, 0);
  read_back_all_policies(&w);
  wlog_free(&w);
}

/* Reopening continues inside the current block, byte-identical to writing
 * everything in one go. */
TEST(continue_existing_file) {
  const char *path = test_path("c.log");
  env *e = env_posix();
  uint8_t buf[3000];
  memset(buf, 'v', sizeof buf);
  for (int round = 0; round < 3; round++) {
    env_file *f;
    CHECK_EQ(env_open_append(e, path, ENV_CREATE, &f), STRATA_OK);
    uint64_t size;
    CHECK_EQ(env_file_size(f, &size), STRATA_OK);
    log_writer *w;
    CHECK_EQ(log_writer_create(f, size, 1, &w), STRATA_OK);
    for (int i = 0; i < 20; i++)
      CHECK_EQ(log_writer_add(w, buf, 1000 + i * 50u), STRATA_OK);
    CHECK_EQ(log_writer_sync(w), STRATA_OK);
    CHECK_EQ(log_writer_close(w), STRATA_OK);
  }
  const char *path2 = test_path("d.log");
  env_file *f;
  CHECK_EQ(env_open_append(e, path2, ENV_CREATE, &f), STRATA_OK);
  log_writer *w;
  CHECK_EQ(log_writer_create(f, 0, 1, &w), STRATA_OK);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 20; i++)
      CHECK_EQ(log_writer_add(w, buf, 1000 + i * 50u), STRATA_OK);
  CHECK_EQ(log_writer_close(w), STRATA_OK);
  uint64_t a, b;
  CHECK_EQ(env_size(e, path, &a), STRATA_OK);
  CHECK_EQ(env_size(e, path2, &b), STRATA_OK);
  CHECK_U64(a, b);
  FILE *fa = fopen(path, "rb"), *fb = fopen(path2, "rb");
  static uint8_t ia[200000], ib[200000];
  size_t na = fread(ia, 1, sizeof ia, fa), nb = fread(ib, 1, sizeof ib, fb);
  fclose(fa);
  fclose(fb);
  CHECK_MEM(ia, na, ib, nb);
}

/* A write torn at every byte of a multi-fragment record: what reached the
 * file is a torn tail that every policy but absolute drops, keeping all the
 * earlier records; the writer refuses further appends. */
TEST(torn_append_at_every_byte) {
  env *fe = env_fault_create(env_posix());
  const char *path = test_path("torn.log");
  uint8_t rec[LOG_BLOCK_SIZE + 200];
  for (size_t i = 0; i < sizeof rec; i++)
    rec[i] = (uint8_t)(' ' + i % 90);
  const size_t prior = 3, total = LOG_HEADER_SIZE * 2 + sizeof rec;
  for (size_t keep = 0; keep < total;
       keep += (keep < 64 || keep > total - 64) ? 1 : 97) {
    env_remove(env_posix(), path);
    env_file *f;
    CHECK_EQ(env_open_append(fe, path, ENV_CREATE, &f), STRATA_OK);
    log_writer *w;
    CHECK_EQ(log_writer_create(f, 0, 1, &w), STRATA_OK);
    for (size_t i = 0; i < prior; i++)
      CHECK_EQ(log_writer_add(w, rec, 5000), STRATA_OK);
    env_fault_tear_next_append(fe, keep);
    CHECK_EQ(log_writer_add(w, rec, sizeof rec), STRATA_IO_ERROR);
    CHECK(log_writer_add(w, rec, 1) != STRATA_OK);
    log_writer_close(w);
    for (int p = 0; p < 4; p++) {
      log_reader *r;
      CHECK_EQ(log_reader_open(env_posix(), path, (strata_recovery)p, NULL,
                               NULL, &r),
               STRATA_OK);
      const uint8_t *d;
      size_t n;
      size_t count = 0;
      int rc;
      while ((rc = log_reader_next(r, &d, &n, NULL)) == STRATA_OK) {
        CHECK_EQ(n, 5000);
        count++;
      }
      CHECK_EQ(count, prior);
      if (keep == 0)
        CHECK_EQ(rc, STRATA_END);
      else
        CHECK_EQ(rc, p == STRATA_RECOVERY_ABSOLUTE ? STRATA_CORRUPTION
                                                   : STRATA_END);
      log_reader_close(r);
    }
  }
  env_fault_destroy(fe);
}

/* Power loss: synced records survive, unsynced ones vanish, and what is left
 * reads cleanly. */
TEST(power_loss_keeps_synced_records) {
  env *fe = env_fault_create(env_posix());
  const char *dir = test_tmpdir();
  const char *path = test_path("p.log");
  env_file *f;
  CHECK_EQ(env_open_append(fe, path, ENV_CREATE, &f), STRATA_OK);
  log_writer *w;
  CHECK_EQ(log_writer_create(f, 0, 1, &w), STRATA_OK);
  uint8_t v[700];
  memset(v, 'k', sizeof v);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(log_writer_add(w, v, sizeof v), STRATA_OK);
  CHECK_EQ(log_writer_sync(w), STRATA_OK);
  CHECK_EQ(env_sync_dir(fe, dir), STRATA_OK);
  for (int i = 0; i < 50; i++)
    CHECK_EQ(log_writer_add(w, v, sizeof v), STRATA_OK);
  log_writer_close(w);
  CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
  log_reader *r;
  CHECK_EQ(log_reader_open(env_posix(), path, STRATA_RECOVERY_ABSOLUTE, NULL,
                           NULL, &r),
           STRATA_OK);
  const uint8_t *d;
  size_t n;
  int count = 0;
  while (log_reader_next(r, &d, &n, NULL) == STRATA_OK)
    count++;
  CHECK_EQ(count, 100);
  log_reader_close(r);
  env_fault_destroy(fe);
}

/* A file created and synced but whose directory was never synced is gone
 * after a power loss; the public writer syncs the directory on first sync. */
TEST(public_writer_syncs_directory) {
  const char *path = test_path("pub.log");
  strata_log_writer *w;
  CHECK_EQ(strata_log_writer_open(path, &w), STRATA_OK);
  CHECK_EQ(strata_log_writer_add(w, "hello", 5), STRATA_OK);
  CHECK_EQ(strata_log_writer_sync(w), STRATA_OK);
  CHECK_U64(strata_log_writer_size(w), 12);
  CHECK_EQ(strata_log_writer_close(w), STRATA_OK);
  strata_log_reader *r;
  CHECK_EQ(
      strata_log_reader_open(path, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r),
      STRATA_OK);
  const void *d;
  size_t n;
  CHECK_EQ(strata_log_reader_next(r, &d, &n, NULL), STRATA_OK);
  CHECK_MEM(d, n, "hello", 5);
  CHECK_EQ(strata_log_reader_next(r, &d, &n, NULL), STRATA_END);
  strata_log_reader_close(r);
}

/* The worked example of docs/formats/log.md. */
TEST(hello_record_exact_bytes) {
  size_t sizes[] = {5};
  uint8_t hello[] = "hello";
  uint8_t *c[] = {hello};
  wlog w;
  wlog_build(&w, 1, sizes, c);
  const uint8_t want[] = {0x0b, 0xb9, 0x57, 0x58, 0x05, 0x00,
                          0x01, 'h',  'e',  'l',  'l',  'o'};
  CHECK_MEM(w.img, w.size, want, sizeof want);
  wlog_free(&w);
}
