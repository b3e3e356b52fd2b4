/*
 * arena_test.c — the bump allocator: many random-size allocations stay
 * writable and disjoint, alignment, large allocations, memory accounting,
 * destroy(NULL), and usage read concurrently with allocation.
 */
#include "util/arena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "test.h"

typedef struct {
  uint8_t *p; /* the allocation */
  size_t n;   /* its size in bytes */
} span;

static int span_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const span *)a)->p;
  uintptr_t y = (uintptr_t)((const span *)b)->p;
  return x < y ? -1 : x > y;
}

TEST(empty) {
  arena *a = arena_create();
  CHECK(a != NULL);
  arena_destroy(a);
  arena_destroy(NULL);
}

/* LevelDB's arena_test, with a disjointness check added. */
TEST(many_random_allocations) {
  enum { N = 100000 };
  span *spans = malloc(N * sizeof *spans);
  arena *a = arena_create();
  CHECK(a != NULL && spans != NULL);
  if (a == NULL || spans == NULL) return;
  size_t bytes = 0, last_usage = arena_memory_usage(a);
  for (int i = 0; i < N; i++) {
    size_t s;
    if (i % (N / 10) == 0) {
      s = (size_t)i;
    } else {
      s = test_rand() % 4000 == 0 ? test_rand() % 6000
          : test_rand() % 10 == 0 ? test_rand() % 100
                                  : test_rand() % 20;
    }
    if (s == 0) s = 1; /* arena_alloc needs at least one byte */
    uint8_t *r = (i % 10 == 0) ? arena_alloc_aligned(a, s) : arena_alloc(a, s);
    CHECK(r != NULL);
    if (r == NULL) break;
    for (size_t b = 0; b < s; b++)
      r[b] = (uint8_t)(i % 256);
    bytes += s;
    spans[i].p = r;
    spans[i].n = s;
    size_t usage = arena_memory_usage(a);
    CHECK(usage >= bytes);
    CHECK(usage >= last_usage);
    last_usage = usage;
    if (i > N / 10)
      CHECK_MSG(usage <= bytes + bytes / 10, "usage %zu for %zu", usage, bytes);
  }
  for (int i = 0; i < N; i++) {
    for (size_t b = 0; b < spans[i].n; b++)
      if (spans[i].p[b] != (uint8_t)(i % 256)) {
        CHECK_MSG(0, "allocation %d byte %zu overwritten", i, b);
        break;
      }
  }
  qsort(spans, N, sizeof *spans, span_cmp);
  for (int i = 0; i + 1 < N; i++)
    CHECK_MSG((uintptr_t)spans[i].p + spans[i].n <= (uintptr_t)spans[i + 1].p,
              "allocations overlap");
  arena_destroy(a);
  free(spans);
}

TEST(aligned_allocations) {
  size_t align = sizeof(void *) > 8 ? sizeof(void *) : 8;
  arena *a = arena_create();
  CHECK(a != NULL);
  if (a == NULL) return;
  for (int i = 0; i < 20000; i++) {
    /* Unaligned allocations of odd sizes in between. */
    uint8_t *u = arena_alloc(a, 1 + test_rand() % 13);
    CHECK(u != NULL);
    size_t s = 1 + test_rand() % (i % 100 == 0 ? 5000 : 64);
    void *p = arena_alloc_aligned(a, s);
    CHECK(p != NULL);
    CHECK_MSG((uintptr_t)p % align == 0, "misaligned %p", p);
    if (s >= sizeof(uint64_t)) {
      *(uint64_t *)p = UINT64_C(0x0123456789abcdef); /* UBSan checks this */
      CHECK_U64(*(uint64_t *)p, UINT64_C(0x0123456789abcdef));
    }
    if (s >= sizeof(void *)) {
      *(void **)p = p;
      CHECK(*(void **)p == p);
    }
  }
  arena_destroy(a);
}

TEST(large_allocations) {
  arena *a = arena_create();
  CHECK(a != NULL);
  if (a == NULL) return;
  /* Leave 1096 bytes in the current block: less than any size below. */
  uint8_t *small1 = arena_alloc(a, 1000);
  CHECK(arena_alloc(a, 1000) == small1 + 1000);
  CHECK(arena_alloc(a, 1000) == small1 + 2000);
  size_t before = arena_memory_usage(a);
  /* Larger than a quarter block: a block of its own, and the current
   * block's remainder keeps serving. */
  size_t sizes[] = {ARENA_BLOCK_SIZE / 4 + 100, ARENA_BLOCK_SIZE,
                    ARENA_BLOCK_SIZE * 3 + 5, 1 << 20, 16 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t *big = arena_alloc(a, sizes[i]);
    CHECK(big != NULL);
    if (big == NULL) continue;
    memset(big, (int)i, sizes[i]);
    CHECK(big[0] == (uint8_t)i && big[sizes[i] - 1] == (uint8_t)i);
    size_t after = arena_memory_usage(a);
    CHECK_MSG(after >= before + sizes[i], "usage %zu -> %zu for %zu", before,
              after, sizes[i]);
    before = after;
  }
  uint8_t *small2 = arena_alloc(a, 16);
  CHECK(small2 == small1 + 3000);
  void *big_aligned = arena_alloc_aligned(a, 1 << 20);
  CHECK(big_aligned != NULL && (uintptr_t)big_aligned % 8 == 0);
  uint8_t *small3 = arena_alloc(a, 8);
  CHECK(small3 == small2 + 16);
  arena_destroy(a);
}

TEST(memory_usage_grows) {
  arena *a = arena_create();
  CHECK(a != NULL);
  if (a == NULL) return;
  size_t start = arena_memory_usage(a);
  arena_alloc(a, 1);
  size_t one = arena_memory_usage(a);
  CHECK(one >= start + ARENA_BLOCK_SIZE);
  /* Filling the first block costs nothing more. */
  for (int i = 0; i < 100; i++)
    arena_alloc(a, 8);
  CHECK_U64(arena_memory_usage(a), one);
  /* Past the block, usage grows by at least a block at a time. */
  for (int i = 0; i < ARENA_BLOCK_SIZE; i++)
    arena_alloc(a, 8);
  size_t later = arena_memory_usage(a);
  CHECK(later >= one + (size_t)ARENA_BLOCK_SIZE * 7);
  CHECK(later <= one + (size_t)ARENA_BLOCK_SIZE * 8 + 4096);
  arena_destroy(a);
}

typedef struct {
  arena *a;          /* the arena being filled by the main thread */
  atomic_int done;   /* set by the main thread when it stops allocating */
  int non_monotonic; /* times usage was seen to decrease */
} usage_reader;

static void *read_usage(void *arg) {
  usage_reader *u = arg;
  size_t last = 0;
  while (!atomic_load(&u->done)) {
    size_t now = arena_memory_usage(u->a);
    if (now < last) u->non_monotonic++;
    last = now;
  }
  return NULL;
}

/* arena_memory_usage may be read while another thread allocates (run under
 * -fsanitize=thread to check for races). */
TEST(memory_usage_concurrent_read) {
  usage_reader u;
  u.a = arena_create();
  atomic_init(&u.done, 0);
  u.non_monotonic = 0;
  CHECK(u.a != NULL);
  if (u.a == NULL) return;
  pthread_t t;
  CHECK(pthread_create(&t, NULL, read_usage, &u) == 0);
  for (int i = 0; i < 200000; i++)
    arena_alloc(u.a, 1 + (size_t)(i % 50));
  atomic_store(&u.done, 1);
  pthread_join(t, NULL);
  CHECK_EQ(u.non_monotonic, 0);
  arena_destroy(u.a);
}
