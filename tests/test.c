/*
 * test.c — main() of every test executable: runs the registered cases.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_TESTS = 1024 };

static struct {
  const char *name;
  test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failed;
static const char *current_name;
static char tmpdir[4096];
static char pathbuf[4096];
static uint64_t rng = 88172645463325252ull;

void test_register(const char *name, test_fn fn) {
  if (ntests < MAX_TESTS) {
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
  }
}

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  if (current_failed < 20) {
    fprintf(stderr, "FAIL %s (%s:%d): ", current_name, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
  }
  current_failed++;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tmpdir(void) {
  if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  tmpdir[0] = '\0';
}

const char *test_tmpdir(void) {
  if (tmpdir[0]) return tmpdir;
  const char *base = getenv("STRATA_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0755);
  int n = snprintf(tmpdir, sizeof tmpdir, "%.3000s/t-%.200s-XXXXXX", base,
                   current_name);
  (void)n;
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "cannot create temp dir %s: %s\n", tmpdir, strerror(errno));
    exit(2);
  }
  return tmpdir;
}

const char *test_path(const char *name) {
  snprintf(pathbuf, sizeof pathbuf, "%.3500s/%.500s", test_tmpdir(), name);
  return pathbuf;
}

void test_seed(uint64_t seed) { rng = seed ? seed : 88172645463325252ull; }

uint64_t test_rand(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0;
  for (int i = 0; i < ntests; i++) {
    if (argc > 1) {
      int want = 0;
      for (int j = 1; j < argc; j++)
        if (strcmp(argv[j], tests[i].name) == 0) want = 1;
      if (!want) continue;
    }
    current_name = tests[i].name;
    current_failed = 0;
    test_seed(0x5eed0000u + (uint64_t)i);
    tests[i].fn();
    remove_tmpdir();
    if (current_failed) {
      failed++;
      fprintf(stderr, "FAILED %s (%d checks)\n", tests[i].name, current_failed);
    } else {
      passed++;
      if (getenv("STRATA_TEST_VERBOSE"))
        fprintf(stderr, "ok %s\n", tests[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
