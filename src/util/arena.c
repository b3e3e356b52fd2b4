/*
 * arena.c — a bump allocator (LevelDB's util/arena.cc, in C).
 *
 * Layout: every malloc'd block starts with an arena_block header linking it
 * to the previously obtained block; its payload follows, aligned to
 * max_align_t. Small requests are carved from the front of the current
 * ARENA_BLOCK_SIZE block; a request that does not fit gets
 *  - a block of its own when larger than ARENA_BLOCK_SIZE / 4 (the current
 *    block keeps serving later small requests), or
 *  - a fresh ARENA_BLOCK_SIZE block, abandoning the old block's remainder
 *    (at most a quarter block wasted per block).
 *
 * Invariants: cur..cur+remaining lies inside the newest standard block (or
 * remaining == 0); usage is the sum of every malloc'd size, including the
 * headers and the arena struct itself, and only grows.
 *
 * Nothing here reads disk bytes; a failed malloc returns NULL and leaves the
 * arena usable.
 */
#include "util/arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

enum { ARENA_ALIGN = sizeof(void *) > 8 ? sizeof(void *) : 8 };

typedef struct arena_block {
  struct arena_block *next; /* the block obtained before this one, or NULL */
  max_align_t payload[];    /* the bytes handed out, max_align_t-aligned */
} arena_block;

struct arena {
  char *cur;            /* next free byte in the current standard block */
  size_t remaining;     /* bytes free at cur */
  arena_block *blocks;  /* every block, newest first */
  _Atomic size_t usage; /* bytes obtained from malloc so far */
};

arena *arena_create(void) {
  arena *a = malloc(sizeof *a);
  if (a == NULL) return NULL;
  a->cur = NULL;
  a->remaining = 0;
  a->blocks = NULL;
  atomic_init(&a->usage, sizeof *a);
  return a;
}

void arena_destroy(arena *a) {
  if (a == NULL) return;
  arena_block *b = a->blocks;
  while (b != NULL) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  free(a);
}

/* A new block with `bytes` of payload, linked into the arena. */
static char *new_block(arena *a, size_t bytes) {
  if (bytes > SIZE_MAX - sizeof(arena_block)) return NULL;
  arena_block *b = malloc(sizeof(arena_block) + bytes);
  if (b == NULL) return NULL;
  b->next = a->blocks;
  a->blocks = b;
  /* Only this thread writes usage; readers may load it concurrently. */
  atomic_store_explicit(&a->usage,
                        atomic_load_explicit(&a->usage, memory_order_relaxed) +
                            sizeof(arena_block) + bytes,
                        memory_order_relaxed);
  return (char *)b->payload;
}

/* Serves a request that does not fit in the current block. */
static void *alloc_fallback(arena *a, size_t bytes) {
  if (bytes > ARENA_BLOCK_SIZE / 4) return new_block(a, bytes);
  char *block = new_block(a, ARENA_BLOCK_SIZE);
  if (block == NULL) return NULL;
  a->cur = block + bytes;
  a->remaining = ARENA_BLOCK_SIZE - bytes;
  return block;
}

void *arena_alloc(arena *a, size_t bytes) {
  assert(bytes > 0);
  if (bytes <= a->remaining) {
    char *result = a->cur;
    a->cur += bytes;
    a->remaining -= bytes;
    return result;
  }
  return alloc_fallback(a, bytes);
}

void *arena_alloc_aligned(arena *a, size_t bytes) {
  assert(bytes > 0);
  size_t mod = (uintptr_t)a->cur & (ARENA_ALIGN - 1);
  size_t slop = mod == 0 ? 0 : ARENA_ALIGN - mod;
  char *result;
  if (bytes <= a->remaining && slop <= a->remaining - bytes) {
    result = a->cur + slop;
    a->cur += slop + bytes;
    a->remaining -= slop + bytes;
  } else {
    /* Block payloads are max_align_t-aligned. */
    result = alloc_fallback(a, bytes);
  }
  assert(((uintptr_t)result & (ARENA_ALIGN - 1)) == 0);
  return result;
}

size_t arena_memory_usage(const arena *a) {
  return atomic_load_explicit(&a->usage, memory_order_relaxed);
}
