/*
 * bc_test_util.h — helpers shared by the Bitcask tests: opening with small
 * files, a reference model of the expected contents, and file surgery.
 */
#ifndef STRATA_BC_TEST_UTIL_H
#define STRATA_BC_TEST_UTIL_H

#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"
#include "test.h"

enum { MODEL_MAX = 4096 };

/* Expected contents: value per key number, or absent. */
typedef struct model {
  char *val[MODEL_MAX]; /* malloc'd value text, NULL = absent */
  int n;                /* key numbers in use: 0..n-1 */
} model;

static inline void key_of(int i, char *buf) { snprintf(buf, 32, "key%06d", i); }

static inline void model_set(model *m, int i, const char *v) {
  free(m->val[i]);
  m->val[i] = v ? strdup(v) : NULL;
  if (i >= m->n) m->n = i + 1;
}

static inline void model_free(model *m) {
  for (int i = 0; i < MODEL_MAX; i++)
    free(m->val[i]);
  memset(m, 0, sizeof *m);
}

static inline strata_bitcask *bc_open_small(const char *dir, uint64_t fsize,
                                            strata_recovery pol, int *rc) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = fsize;
  o.recovery = pol;
  o.background_merge = 0;
  strata_bitcask *db = NULL;
  *rc = strata_bitcask_open(dir, &o, &db);
  return db;
}

static inline int put_s(strata_bitcask *db, const char *k, const char *v) {
  return strata_bitcask_put(db, k, strlen(k), v, strlen(v));
}

/* Number of keys of the model that the database gets wrong. */
static inline int model_mismatches(strata_bitcask *db, const model *m) {
  int bad = 0;
  for (int i = 0; i < m->n; i++) {
    char k[32];
    key_of(i, k);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_bitcask_get(db, k, strlen(k), &v, &vl);
    if (m->val[i]) {
      if (rc != STRATA_OK || vl != strlen(m->val[i]) ||
          memcmp(v, m->val[i], vl) != 0)
        bad++;
    } else if (rc != STRATA_NOT_FOUND) {
      bad++;
    }
    free(v);
  }
  return bad;
}

static inline long file_size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static inline void patch_file(const char *path, long off, const void *b,
                              size_t n) {
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0);
  CHECK(pwrite(fd, b, n, off) == (ssize_t)n);
  close(fd);
}

static inline void flip_byte(const char *path, long off) {
  int fd = open(path, O_RDWR);
  unsigned char c;
  CHECK(pread(fd, &c, 1, off) == 1);
  c ^= 0x40;
  CHECK(pwrite(fd, &c, 1, off) == 1);
  close(fd);
}

static inline void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  CHECK(a && b);
  char buf[65536];
  size_t n;
  while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0)
    fwrite(buf, 1, n, b);
  if (a) fclose(a);
  if (b) fclose(b);
}

/* Copies every regular file of `from` into the (created) directory `to`. */
static inline void copy_dir(const char *from, const char *to) {
  mkdir(to, 0755);
  DIR *d = opendir(from);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0) continue;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s", from, e->d_name);
    snprintf(b, sizeof b, "%s/%s", to, e->d_name);
    copy_file(a, b);
  }
  if (d) closedir(d);
}

static inline void rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char a[4096];
    snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
    unlink(a);
  }
  if (d) closedir(d);
  rmdir(dir);
}

#endif
