/*
 * leveldb_compatible_test.c — strata_db_leveldb_compatible: the verdict on
 * whether LevelDB 1.23 can open a directory, and each reason it names:
 * zstd-compressed tables, CURRENT without its newline, a damaged MANIFEST
 * record, a missing table; and -1 for a directory that is no database.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

/* A database of 2000 keys flushed to a table, compressed as asked. */
static void make_db(const char *dir, strata_compression c) {
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.compression = c;
  strata_db *db = NULL;
  CHECK_EQ(strata_db_open(dir, &o, &db), STRATA_OK);
  char k[32], v[128];
  for (int i = 0; i < 2000; i++) {
    snprintf(k, sizeof k, "key%06d", i);
    snprintf(v, sizeof v, "value %d value value value value value", i);
    CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), v, strlen(v)), STRATA_OK);
  }
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
}

/* The path of the first directory entry ending in `suffix` or starting
 * with `prefix`. */
static void find(const char *dir, const char *prefix, const char *suffix,
                 char *out, size_t n) {
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "ls %s | grep -E '%s' | head -1", dir,
           prefix ? prefix : suffix);
  FILE *p = popen(cmd, "r");
  char name[256] = "";
  if (p) {
    if (!fgets(name, sizeof name, p)) name[0] = 0;
    pclose(p);
  }
  name[strcspn(name, "\n")] = 0;
  snprintf(out, n, "%s/%s", dir, name);
}

static int verdict(const char *dir, const char *want) {
  char *why = NULL;
  int r = strata_db_leveldb_compatible(dir, &why);
  int ok = want ? (r == 0 && why && strstr(why, want) != NULL)
                : (r == 1 && why == NULL);
  if (!ok) fprintf(stderr, "verdict %d: %s\n", r, why ? why : "(none)");
  free(why);
  return ok;
}

TEST(snappy_database_is_compatible) {
  const char *dir = test_path("snappy");
  make_db(dir, STRATA_COMPRESSION_SNAPPY);
  CHECK(verdict(dir, NULL));
}

TEST(zstd_tables_are_not) {
  const char *dir = test_path("zstd");
  make_db(dir, STRATA_COMPRESSION_ZSTD);
  CHECK(verdict(dir, "compressed with type 2"));
}

TEST(current_without_newline) {
  const char *dir = test_path("current");
  make_db(dir, STRATA_COMPRESSION_SNAPPY);
  char cur[4200], body[64] = "";
  snprintf(cur, sizeof cur, "%s/CURRENT", dir);
  FILE *f = fopen(cur, "r");
  CHECK(f != NULL);
  CHECK(fgets(body, sizeof body, f) != NULL);
  fclose(f);
  body[strcspn(body, "\n")] = 0;
  f = fopen(cur, "w");
  fputs(body, f);
  fclose(f);
  CHECK(verdict(dir, "newline"));
}

TEST(damaged_manifest_record) {
  const char *dir = test_path("manifest");
  make_db(dir, STRATA_COMPRESSION_SNAPPY);
  char m[4400];
  find(dir, "^MANIFEST-", NULL, m, sizeof m);
  FILE *f = fopen(m, "r+b");
  CHECK(f != NULL);
  fseek(f, 12, SEEK_SET); /* inside the first record's payload */
  int c = fgetc(f);
  fseek(f, 12, SEEK_SET);
  fputc(c ^ 0x20, f);
  fclose(f);
  CHECK(verdict(dir, "MANIFEST"));
}

TEST(missing_table) {
  const char *dir = test_path("missing");
  make_db(dir, STRATA_COMPRESSION_SNAPPY);
  char t[4400];
  find(dir, NULL, "\\.ldb$", t, sizeof t);
  CHECK_EQ(unlink(t), 0);
  CHECK(verdict(dir, "is missing"));
}

TEST(not_a_database) {
  const char *dir = test_path("nothing");
  char *why = NULL;
  CHECK_EQ(strata_db_leveldb_compatible(dir, &why), -1);
  CHECK(why != NULL);
  free(why);
}
