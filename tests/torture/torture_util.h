/*
 * torture_util.h — helpers shared by the campaigns of tests/torture/torture.c:
 * a seeded RNG, whole-file and directory copies, and running one trial in a
 * child process with a timeout (a crash, a sanitizer report or a hang counts
 * as a failed trial and never stops the campaign).
 */
#ifndef STRATA_TORTURE_UTIL_H
#define STRATA_TORTURE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64* */
typedef struct trng {
  uint64_t s; /* state, never 0 */
} trng;
void trng_seed(trng *r, uint64_t seed);
uint64_t trng_next(trng *r);
/* Uniform in [0, n) (n > 0). */
uint64_t trng_below(trng *r, uint64_t n);

/* Reads a whole file (malloc'd); NULL if it cannot. */
unsigned char *t_read_file(const char *path, size_t *len);
int t_write_file(const char *path, const void *data, size_t len);
/* Copies the regular files of src into dst (created). 0 on success. */
int t_copy_dir(const char *src, const char *dst);
/* rm -rf */
void t_remove_tree(const char *path);
/* Path of the largest (or, smallest == 1, smallest) file of dir whose name
 * ends with `suffix` or starts with `prefix` (either may be NULL), into out. 0
 * if found. */
int t_find_file(const char *dir, const char *prefix, const char *suffix,
                char *out, size_t n);

/* Outcome of a child. */
enum { CHILD_OK = 0, CHILD_CRASH = 1, CHILD_HANG = 2 };
/* Runs fn(arg, fd) in a forked child that writes its result bytes to fd;
 * up to `cap` bytes are read back into out (*got). The child is killed after
 * `timeout_s` seconds. Returns CHILD_OK if it exited 0. */
int t_run_child(void (*fn)(void *arg, int fd), void *arg, int timeout_s,
                void *out, size_t cap, size_t *got);
/* Writes all of buf to fd (ignores errors). */
void t_write_all(int fd, const void *buf, size_t n);
double t_now(void);

#endif
