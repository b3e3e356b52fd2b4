/*
 * lsm_open_fuzz.c — the LSM engine's open and recovery over an arbitrary
 * WAL (.log) or MANIFEST: CURRENT and MANIFEST replay (src/lsm/version.c,
 * db_recover.c), WAL replay into the memtable and its flush at open.
 *
 * Input: byte 0 — bits 0-1 the recovery policy, bit 2 paranoid_checks, bit 3
 * the rest replaces the MANIFEST (else the .log) of a freshly created empty
 * database (under $STRATA_TMP, else the working directory).
 *
 * Invariants checked (abort() when one fails): no crash or out-of-bounds
 * access (ASan); open returns OK, CORRUPTION, NOT_FOUND, NOT_SUPPORTED or
 * NO_MEMORY; when it opened, a forward scan returns strictly increasing keys
 * and ends with OK or CORRUPTION, every key it returned is found again by a
 * get (or reported corrupt), and a put then close and reopen keeps that put.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) abort();                                                      \
  } while (0)

/* DIR/<first name that starts with prefix or ends with suffix>. */
static int find(const char *dir, const char *prefix, const char *suffix,
                char *out, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *de;
  int found = -1;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if ((prefix && strncmp(de->d_name, prefix, strlen(prefix)) == 0) ||
        (suffix && l > strlen(suffix) &&
         strcmp(de->d_name + l - strlen(suffix), suffix) == 0)) {
      snprintf(out, n, "%s/%s", dir, de->d_name);
      found = 0;
      break;
    }
  }
  closedir(d);
  return found;
}

static void opts(strata_options *o, uint8_t b) {
  strata_options_init(o);
  o->recovery = (strata_recovery)(b & 3);
  o->paranoid_checks = (b >> 2) & 1;
  o->write_info_log = 0;
  o->block_cache_size = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *base = getenv("STRATA_TMP");
  char dir[3800], target[4200];
  snprintf(dir, sizeof dir, "%s/lsm_fuzz.XXXXXX", base && *base ? base : ".");
  if (!mkdtemp(dir)) return 0;
  strata_options o;
  opts(&o, data[0]);
  o.create_if_missing = 1;
  strata_db *db = NULL;
  REQUIRE(strata_db_open(dir, &o, &db) == STRATA_OK);
  strata_db_close(db);
  db = NULL;
  int manifest = (data[0] >> 3) & 1;
  if (find(dir, manifest ? "MANIFEST-" : NULL, manifest ? NULL : ".log",
           target, sizeof target) == 0) {
    FILE *f = fopen(target, "wb");
    REQUIRE(f);
    if (size > 1) REQUIRE(fwrite(data + 1, 1, size - 1, f) == size - 1);
    fclose(f);
  }
  opts(&o, data[0]);
  int rc = strata_db_open(dir, &o, &db);
  REQUIRE(rc == STRATA_OK || rc == STRATA_CORRUPTION ||
          rc == STRATA_NOT_FOUND || rc == STRATA_NOT_SUPPORTED ||
          rc == STRATA_NO_MEMORY);
  if (rc == STRATA_OK) {
    strata_iterator *it;
    char prev[256];
    size_t prev_len = 0;
    int have_prev = 0, n = 0;
    if (strata_db_iter_create(db, NULL, &it) == STRATA_OK) {
      for (strata_iter_seek_first(it); strata_iter_valid(it) && n < 1000;
           strata_iter_next(it), n++) {
        size_t kl;
        const void *k = strata_iter_key(it, &kl);
        if (have_prev) {
          size_t m = kl < prev_len ? kl : prev_len;
          int c = memcmp(prev, k, m);
          REQUIRE(c < 0 || (c == 0 && prev_len < kl));
        }
        if (kl <= sizeof prev) {
          memcpy(prev, k, kl);
          prev_len = kl;
          have_prev = 1;
          void *v = NULL;
          size_t vl;
          int g = strata_db_get(db, NULL, k, kl, &v, &vl);
          REQUIRE(g == STRATA_OK || g == STRATA_CORRUPTION);
          free(v);
        } else {
          have_prev = 0;
        }
      }
      int st = strata_iter_status(it);
      REQUIRE(st == STRATA_OK || st == STRATA_CORRUPTION);
      strata_iter_destroy(it);
    }
    int put = strata_db_put(db, NULL, "fuzz-new", 8, "v", 1);
    strata_db_close(db);
    db = NULL;
    if (put == STRATA_OK) {
      opts(&o, 0x02); /* point-in-time, not paranoid */
      if (strata_db_open(dir, &o, &db) == STRATA_OK) {
        void *v = NULL;
        size_t vl = 0;
        REQUIRE(strata_db_get(db, NULL, "fuzz-new", 8, &v, &vl) == STRATA_OK);
        REQUIRE(vl == 1 && memcmp(v, "v", 1) == 0);
        free(v);
        strata_db_close(db);
      }
    }
  }
  strata_db_destroy(dir);
  rmdir(dir);
  return 0;
}
