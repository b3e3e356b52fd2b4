/*
 * leveldb_table_test.c — strata's tables against real LevelDB 1.23 (through
 * its C API) and RocksDB's sst_dump (Debian rocksdb-tools). LevelDB's files
 * are generated at test time.
 *
 *  - leveldb_tables_read_*: LevelDB writes a database with Snappy on or off
 *    and a 10-bit bloom filter, compacted so its entries sit in .ldb files;
 *    strata reads every table entry for entry (internal keys, sequence and
 *    type) and its LevelDB-written filter answers "may match" for every key,
 *    with ~1% false positives.
 *  - leveldb_reads_strata_table: strata rewrites LevelDB's table from the
 *    same entries: byte-identical output, and with every value changed (same
 *    length) LevelDB, reopened, returns strata's values.
 *  - sst_dump_verifies_strata_table: `sst_dump --command=check
 *    --verify_checksum` accepts strata's tables (Snappy and uncompressed);
 *    fails loudly if sst_dump is missing.
 */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sstable/bloom.h"
#include "sstable/block.h"
#include "sstable/ikey.h"
#include "sstable/sst_format.h"
#include "strata.h"
#include "test.h"
#include "util/coding.h"

enum { NKEYS = 30000 };

static int key_of(int i, char *buf) { return sprintf(buf, "key%07d", i * 3); }
static int val_of(int i, char *buf) {
  return sprintf(buf, "value-%07d-%0*d", i, 60 + i % 40, i);
}

/* A LevelDB database at `dir` holding NKEYS puts (every 10th overwritten,
 * every 13th deleted), compacted to tables. */
static void make_leveldb(const char *dir, int compression) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_compression(o, compression);
  leveldb_options_set_filter_policy(o, bloom);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  CHECK_MSG(err == NULL, "leveldb_open: %s", err ? err : "");
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char k[32], v[128];
  for (int i = 0; i < NKEYS; i++) {
    int kn = key_of(i, k), vn = val_of(i, v);
    leveldb_put(db, wo, k, (size_t)kn, v, (size_t)vn, &err);
  }
  for (int i = 0; i < NKEYS; i += 13) {
    int kn = key_of(i, k);
    leveldb_delete(db, wo, k, (size_t)kn, &err);
  }
  leveldb_compact_range(db, NULL, 0, NULL, 0);
  CHECK(err == NULL);
  leveldb_writeoptions_destroy(wo);
  leveldb_close(db);
  leveldb_options_destroy(o);
  leveldb_filterpolicy_destroy(bloom);
}

/* Paths of the .ldb files of dir; NULL-terminated, caller frees. */
static char **tables_of(const char *dir, int *n) {
  DIR *d = opendir(dir);
  char **v = calloc(64, sizeof *v);
  *n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && *n < 63) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".ldb") == 0) {
      v[*n] = malloc(strlen(dir) + l + 2);
      sprintf(v[*n], "%s/%s", dir, e->d_name);
      (*n)++;
    }
  }
  closedir(d);
  return v;
}

static void free_list(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void check_leveldb_tables(int compression) {
  const char *dir = test_path("ldb");
  make_leveldb(dir, compression);
  int nt;
  char **ts = tables_of(dir, &nt);
  CHECK(nt >= 1);
  char *seen = calloc(NKEYS, 1);
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  long entries = 0, fp = 0, probes = 0;
  for (int f = 0; f < nt; f++) {
    strata_table *t;
    CHECK_EQ(strata_table_open(ts[f], &o, NULL, NULL, &t), STRATA_OK);
    strata_table_iter *it;
    strata_table_iter_create(t, &it);
    size_t kn, vn;
    for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
         strata_table_iter_next(it)) {
      const char *k = strata_table_iter_key(it, &kn);
      const char *v = strata_table_iter_value(it, &vn);
      size_t ul;
      uint64_t seq;
      int type;
      CHECK_EQ(strata_internal_key_parse(k, kn, &ul, &seq, &type), 0);
      int i = atoi(k + 3) / 3;
      char want[128];
      CHECK(i >= 0 && i < NKEYS);
      /* Every 13th key was deleted after all the puts: its put and its
       * deletion may both survive, in different tables (levels). */
      if (i % 13 == 0 && type == IKEY_DELETION) {
        CHECK_U64(seq, (uint64_t)NKEYS + (uint64_t)i / 13 + 1);
        CHECK_EQ(vn, 0);
        void *got;
        size_t gn;
        CHECK_EQ(strata_table_get(t, k, ul, &got, &gn), STRATA_NOT_FOUND);
        entries++;
        continue;
      }
      CHECK_EQ(type, IKEY_VALUE);
      CHECK_U64(seq, (uint64_t)i + 1);
      int wn = val_of(i, want);
      CHECK_MEM(v, vn, want, (size_t)wn);
      if (i % 13 == 0) { /* a deletion may precede it in this table */
        entries++;
        continue;
      }
      seen[i]++;
      entries++;
      void *got;
      size_t gn;
      CHECK_EQ(strata_table_get(t, k, ul, &got, &gn), STRATA_OK);
      CHECK_MEM(got, gn, want, (size_t)wn);
      free(got);
    }
    CHECK_EQ(strata_table_iter_status(it), STRATA_OK);
    strata_table_iter_destroy(it);
    strata_table_close(t);
    /* LevelDB's filter block, read by strata's filter reader. */
    FILE *fh = fopen(ts[f], "rb");
    fseek(fh, 0, SEEK_END);
    size_t n = (size_t)ftell(fh);
    fseek(fh, 0, SEEK_SET);
    uint8_t *img = malloc(n);
    CHECK_EQ(fread(img, 1, n, fh), n);
    fclose(fh);
    sst_footer foot;
    CHECK_EQ(sst_footer_decode(img + n - SST_FOOTER, ts[f], &foot), STRATA_OK);
    sst_iter *mi =
        sst_block_iter(img + foot.metaindex.offset, foot.metaindex.size, 0,
                       SST_CMP_BYTEWISE, "m", 0);
    sst_iter_seek_first(mi);
    CHECK(sst_iter_valid(mi));
    size_t mk, mv;
    const uint8_t *key = sst_iter_key(mi, &mk), *val = sst_iter_value(mi, &mv);
    CHECK_MEM(key, mk, SST_FILTER_META_KEY, strlen(SST_FILTER_META_KEY));
    sst_handle fhd;
    sst_handle_decode(val, val + mv, &fhd);
    filter_reader fr;
    filter_reader_init(&fr, img + fhd.offset, (size_t)fhd.size);
    CHECK(fr.valid);
    /* (Every get above went through this filter: a misread filter would
     * have answered "absent" for present keys.) */
    sst_iter_destroy(mi);
    /* Absent keys against the filter of the first data block. */
    for (int i = 0; i < 20000; i++) {
      char k[32];
      int kn = sprintf(k, "absent%07d", i);
      fp += filter_reader_may_match(&fr, 0, (const uint8_t *)k, (size_t)kn);
      probes++;
    }
    free(img);
  }
  for (int i = 0; i < NKEYS; i++)
    if (i % 13) CHECK_EQ(seen[i], 1);
  CHECK(entries > 0);
  printf("LevelDB filter false positives (strata's reader): %.3f%%\n",
         100.0 * (double)fp / (double)probes);
  CHECK(fp < probes / 40);
  free(seen);
  free_list(ts, nt);
}

TEST(leveldb_tables_read_snappy) {
  check_leveldb_tables(leveldb_snappy_compression);
}
TEST(leveldb_tables_read_uncompressed) {
  check_leveldb_tables(leveldb_no_compression);
}

/* Rewrites each LevelDB table with strata from its own entries (values
 * changed by `tweak`) into `out` (same name). */
static void rewrite(const char *src, const char *dst, int compression,
                    int tweak) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  o.compression =
      compression ? STRATA_COMPRESSION_SNAPPY : STRATA_COMPRESSION_NONE;
  strata_table *t;
  CHECK_EQ(strata_table_open(src, &o, NULL, NULL, &t), STRATA_OK);
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(dst, &o, &w), STRATA_OK);
  size_t kn, vn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it)) {
    const void *k = strata_table_iter_key(it, &kn);
    const char *v = strata_table_iter_value(it, &vn);
    char buf[256];
    memcpy(buf, v, vn);
    if (tweak) buf[0] = 'V';
    CHECK_EQ(strata_table_writer_add(w, k, kn, buf, vn), STRATA_OK);
  }
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
  strata_table_iter_destroy(it);
  strata_table_close(t);
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  CHECK_EQ(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

TEST(leveldb_reads_strata_table) {
  for (int comp = 0; comp < 2; comp++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", test_path(comp ? "ldbs" : "ldbn"));
    make_leveldb(dir,
                 comp ? leveldb_snappy_compression : leveldb_no_compression);
    int nt;
    char **ts = tables_of(dir, &nt);
    for (int f = 0; f < nt; f++) {
      char tmp[600];
      snprintf(tmp, sizeof tmp, "%s.strata", ts[f]);
      rewrite(ts[f], tmp, comp, 0);
      size_t a, b;
      uint8_t *x = slurp(ts[f], &a), *y = slurp(tmp, &b);
      CHECK_MSG(a == b && memcmp(x, y, a) == 0,
                "strata's table differs from LevelDB's (%zu vs %zu bytes)", b,
                a);
      free(x);
      free(y);
      if (!comp) { /* same sizes: LevelDB's MANIFEST still matches */
        rewrite(ts[f], tmp, comp, 1);
        CHECK_EQ(rename(tmp, ts[f]), 0);
      } else {
        remove(tmp);
      }
    }
    if (!comp) {
      leveldb_options_t *o = leveldb_options_create();
      leveldb_options_set_paranoid_checks(o, 1);
      char *err = NULL;
      leveldb_t *db = leveldb_open(o, dir, &err);
      CHECK_MSG(err == NULL, "reopen: %s", err ? err : "");
      leveldb_readoptions_t *ro = leveldb_readoptions_create();
      leveldb_readoptions_set_verify_checksums(ro, 1);
      for (int i = 1; db && i < NKEYS; i += 97) {
        if (i % 13 == 0) continue;
        char k[32], want[128];
        int kn = key_of(i, k), wn = val_of(i, want);
        want[0] = 'V';
        size_t vn = 0;
        char *v = leveldb_get(db, ro, k, (size_t)kn, &vn, &err);
        CHECK_MSG(err == NULL, "get: %s", err ? err : "");
        CHECK_MEM(v, vn, want, (size_t)wn);
        leveldb_free(v);
      }
      leveldb_readoptions_destroy(ro);
      if (db) leveldb_close(db);
      leveldb_options_destroy(o);
    }
    free_list(ts, nt);
  }
}

TEST(sst_dump_verifies_strata_table) {
  CHECK_MSG(
      system("command -v sst_dump >/dev/null 2>&1") == 0,
      "sst_dump is missing: install rocksdb-tools (scripts/deps.sh test)");
  for (int comp = 0; comp < 2; comp++) {
    strata_table_options o;
    strata_table_options_init(&o);
    o.compression = comp ? STRATA_COMPRESSION_SNAPPY : STRATA_COMPRESSION_NONE;
    o.internal_keys = 1;
    char path[512];
    /* sst_dump only accepts files named *.sst */
    snprintf(path, sizeof path, "%s", test_path(comp ? "s.sst" : "n.sst"));
    strata_table_writer *w;
    CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
    sst_buf k = {0};
    char u[32], v[128];
    for (int i = 0; i < 5000; i++) {
      k.len = 0;
      int un = key_of(i, u), vn = val_of(i, v);
      ikey_append(&k, u, (size_t)un, (uint64_t)i + 1, IKEY_VALUE);
      CHECK_EQ(strata_table_writer_add(w, k.data, k.len, v, (size_t)vn),
               STRATA_OK);
    }
    sst_buf_free(&k);
    CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
    char cmd[1200], out[600];
    snprintf(out, sizeof out, "%s.out", path);
    snprintf(cmd, sizeof cmd,
             "sst_dump --file=%s --command=check --verify_checksum > %s 2>&1",
             path, out);
    int rc = system(cmd);
    size_t n;
    uint8_t *text = slurp(out, &n);
    text[n] = 0;
    /* sst_dump exits 0 even on a checksum mismatch: read what it says. */
    CHECK_MSG(rc == 0 && !strstr((char *)text, "Corruption") &&
                  !strstr((char *)text, "rror") &&
                  strstr((char *)text, "Process "),
              "sst_dump failed (%d): %s", rc, (char *)text);
    free(text);
    /* It really reads the blocks: one flipped byte in a data block is a
     * checksum mismatch for it. (Its scan command prints nothing for the
     * legacy format, LevelDB's own tables included.) */
    FILE *fh = fopen(path, "r+b");
    fseek(fh, 100, SEEK_SET);
    int c = fgetc(fh);
    fseek(fh, 100, SEEK_SET);
    fputc(c ^ 0x10, fh);
    fclose(fh);
    CHECK_EQ(system(cmd), 0);
    text = slurp(out, &n);
    text[n] = 0;
    CHECK_MSG(strstr((char *)text, "checksum mismatch") != NULL,
              "sst_dump missed a flipped byte: %s", (char *)text);
    free(text);
  }
}
