/*
 * test.h — strata's minimal test harness. A test file defines cases with
 * TEST(name) { ... } and checks with CHECK*; tests/test.c supplies main(),
 * which runs every case (or those named on the command line), prints one line
 * per failure and the closing line "N passed, N failed".
 */
#ifndef STRATA_TEST_H
#define STRATA_TEST_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* Records a failure of the running case (the case goes on). */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A fresh empty directory for the running case; freed at exit. The same
 * path is returned for repeated calls within one case. */
const char *test_tmpdir(void);
/* Joins test_tmpdir() and `name` into a static buffer (valid until the next
 * call). */
const char *test_path(const char *name);
/* Deterministic pseudo-random numbers (xorshift64*), seeded per case. */
uint64_t test_rand(void);
void test_seed(uint64_t seed);

#define TEST(name)                                                             \
  static void name(void);                                                      \
  __attribute__((constructor)) static void register_##name(void) {             \
    test_register(#name, name);                                                \
  }                                                                            \
  static void name(void)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);            \
  } while (0)

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__);                   \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);            \
    if (check_a_ != check_b_)                                                  \
      test_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b,  \
                check_a_, check_b_);                                           \
  } while (0)

#define CHECK_U64(a, b)                                                        \
  do {                                                                         \
    uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);               \
    if (check_a_ != check_b_)                                                  \
      test_fail(__FILE__, __LINE__,                                            \
                "CHECK_U64(%s, %s): %" PRIu64 " != %" PRIu64, #a, #b,          \
                check_a_, check_b_);                                           \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *check_a_ = (a), *check_b_ = (b);                               \
    if (strcmp(check_a_, check_b_) != 0)                                       \
      test_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, \
                #b, check_a_, check_b_);                                       \
  } while (0)

#define CHECK_MEM(a, alen, b, blen)                                            \
  do {                                                                         \
    size_t check_al_ = (alen), check_bl_ = (blen);                             \
    if (check_al_ != check_bl_ || memcmp((a), (b), check_al_) != 0)            \
      test_fail(__FILE__, __LINE__, "CHECK_MEM(%s, %s): differ (%zu vs %zu)",  \
                #a, #b, check_al_, check_bl_);                                 \
  } while (0)

#endif
