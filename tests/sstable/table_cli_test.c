/*
 * table_cli_test.c — `strata dump` and `strata verify` on table files
 * (tools/strata/cmd_table.c), run as the built tool ($STRATA_BIN) over
 * tables written through the public API: clean tables, a flipped byte in a
 * data block (verify names the block and its key range, exit 1), a
 * destroyed index (every entry still counted intact), --json output
 * (checked with python3's json module).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "sstable/ikey.h"
#include "strata.h"
#include "test.h"
#include "util/coding.h"

static char out_path[1024];

/* Runs the tool with `args`; stdout into out_path; returns the exit code. */
static int tool(const char *args) {
  const char *bin = getenv("STRATA_BIN");
  CHECK_MSG(bin != NULL, "STRATA_BIN is not set");
  if (!bin) return -1;
  snprintf(out_path, sizeof out_path, "%s", test_path("out.txt"));
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>&1", bin, args, out_path);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *output(void) {
  FILE *f = fopen(out_path, "rb");
  static char buf[1 << 20];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return buf;
}

enum { N = 3000 };

static void make_table(const char *path) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
  sst_buf k = {0};
  for (int i = 0; i < N; i++) {
    char u[16], v[64];
    int un = snprintf(u, sizeof u, "k%06d", i);
    int vn = snprintf(v, sizeof v, "value %d", i);
    k.len = 0;
    ikey_append(&k, u, (size_t)un, (uint64_t)i + 7,
                i % 10 == 9 ? IKEY_DELETION : IKEY_VALUE);
    CHECK_EQ(strata_table_writer_add(w, k.data, k.len, v, (size_t)vn),
             STRATA_OK);
  }
  sst_buf_free(&k);
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
}

static void flip(const char *path, long at) {
  FILE *f = fopen(path, "r+b");
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0xff, f);
  fclose(f);
}

TEST(cli_table_dump_and_verify_clean) {
  char path[1024], args[2048];
  snprintf(path, sizeof path, "%s", test_path("000005.ldb"));
  make_table(path);
  snprintf(args, sizeof args, "dump '%s'", path);
  CHECK_EQ(tool(args), 0);
  char *o = output();
  CHECK(strstr(o, "footer\tok=yes\tmetaindex=") != NULL);
  CHECK(strstr(o, "block\tkind=data\toffset=0\tsize=") != NULL);
  CHECK(strstr(o, "compression=snappy\tchecksum=ok") != NULL);
  CHECK(strstr(o, "entry\tk000000\tseq=7\ttype=put\tvalue 0\n") != NULL);
  CHECK(strstr(o, "entry\tk000009\tseq=16\ttype=del\tvalue 9\n") != NULL);
  CHECK(strstr(o, "block\tkind=filter") != NULL);
  CHECK(strstr(o, "block\tkind=metaindex") != NULL);
  CHECK(strstr(o, "block\tkind=index") != NULL);
  CHECK(strstr(o, "\tentries=3000\tdrops=0\t") != NULL);
  snprintf(args, sizeof args, "verify '%s'", path);
  CHECK_EQ(tool(args), 0);
  CHECK(strstr(output(), "3000 records intact, 0 damaged regions") != NULL);
  /* --json: valid, one record per entry. */
  snprintf(
      args, sizeof args,
      "dump --json '%s' | python3 -c 'import json,sys; j=json.load(sys.stdin); "
      "assert len(j[\"records\"])==3000; assert "
      "j[\"records\"][9][\"type\"]==\"del\"; "
      "assert j[\"footer\"][\"ok\"]; print(\"JSONOK\")'",
      path);
  tool(args);
  CHECK(strstr(output(), "JSONOK") != NULL);
}

TEST(cli_table_verify_damage) {
  char path[1024], args[2048];
  snprintf(path, sizeof path, "%s", test_path("000006.ldb"));
  make_table(path);
  flip(path, 5000); /* inside some data block past the first */
  snprintf(args, sizeof args, "verify '%s'", path);
  CHECK_EQ(tool(args), 1);
  char *o = output();
  CHECK(strstr(o, "checksum, 0 records known lost: data block, keys after ") !=
        NULL);
  CHECK(strstr(o, " up to ") != NULL);
  CHECK(strstr(o, "1 damaged region,") != NULL);
  snprintf(
      args, sizeof args,
      "verify --json '%s' | python3 -c 'import json,sys; "
      "j=json.load(sys.stdin); "
      "assert not j[\"ok\"]; assert len(j[\"damage\"])==1; "
      "assert j[\"damage\"][0][\"kind\"]==\"checksum\"; print(\"JSONOK\")'",
      path);
  tool(args);
  CHECK(strstr(output(), "JSONOK") != NULL);
  snprintf(args, sizeof args, "dump '%s'", path);
  CHECK_EQ(tool(args), 0);
  o = output();
  CHECK(strstr(o, "checksum=bad") != NULL);
  CHECK(strstr(o, "drop\tblock=data\t") != NULL);
}

TEST(cli_table_index_destroyed) {
  char path[1024], args[2048];
  snprintf(path, sizeof path, "%s", test_path("000007.ldb"));
  make_table(path);
  /* The index handle is in the footer: find and zero the index block. */
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  uint8_t foot[48];
  fseek(f, n - 48, SEEK_SET);
  CHECK_EQ(fread(foot, 1, 48, f), 48);
  fclose(f);
  uint64_t mo, ms, io, is;
  const uint8_t *p = decode_varint64(foot, foot + 40, &mo);
  p = decode_varint64(p, foot + 40, &ms);
  p = decode_varint64(p, foot + 40, &io);
  decode_varint64(p, foot + 40, &is);
  for (uint64_t i = 0; i < is; i += 7)
    flip(path, (long)(io + i));
  snprintf(args, sizeof args, "verify '%s'", path);
  CHECK_EQ(tool(args), 1);
  char *o = output();
  CHECK(strstr(o, "index block: ") != NULL);
  CHECK(strstr(o, "3000 records intact, 1 damaged region") != NULL);
}

/* verify does not know a table's key order: an LSM table with several
 * versions of each user key (internal order, not bytewise) and its index
 * destroyed still has every entry counted. */
TEST(cli_table_versions_index_destroyed) {
  char path[1024], args[2048];
  snprintf(path, sizeof path, "%s", test_path("000008.ldb"));
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
  sst_buf k = {0};
  for (int i = 0; i < 1000; i++)
    for (int s = 3; s >= 1; s--) { /* sequence 256*s+i: trailers differ in
                                      their second byte, newest first */
      char u[16];
      int un = snprintf(u, sizeof u, "k%06d", i);
      k.len = 0;
      ikey_append(&k, u, (size_t)un, (uint64_t)(256 * s + i % 200), IKEY_VALUE);
      CHECK_EQ(strata_table_writer_add(w, k.data, k.len, "v", 1), STRATA_OK);
    }
  sst_buf_free(&k);
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  uint8_t foot[48];
  fseek(f, n - 48, SEEK_SET);
  CHECK_EQ(fread(foot, 1, 48, f), 48);
  fclose(f);
  uint64_t mo, ms, io, is;
  const uint8_t *p = decode_varint64(foot, foot + 40, &mo);
  p = decode_varint64(p, foot + 40, &ms);
  p = decode_varint64(p, foot + 40, &io);
  decode_varint64(p, foot + 40, &is);
  for (uint64_t i = 0; i < is; i += 5)
    flip(path, (long)(io + i));
  snprintf(args, sizeof args, "verify '%s'", path);
  CHECK_EQ(tool(args), 1);
  CHECK(strstr(output(), "3000 records intact, 1 damaged region") != NULL);
}
