/*
 * arena.h — a bump allocator for many small, same-lifetime allocations (the
 * memtable's skiplist nodes later). Memory comes from blocks of
 * ARENA_BLOCK_SIZE; an allocation larger than a quarter block gets a block of
 * its own so the current block's remainder is not wasted. Everything is
 * released at once by arena_destroy. Not thread-safe for allocation;
 * arena_memory_usage may be read concurrently (relaxed atomic).
 */
#ifndef STRATA_UTIL_ARENA_H
#define STRATA_UTIL_ARENA_H

#include <stddef.h>

enum { ARENA_BLOCK_SIZE = 4096 };

typedef struct arena arena;

/* Returns NULL when out of memory. Free with arena_destroy. */
arena *arena_create(void);
/* Frees every block; accepts NULL. */
void arena_destroy(arena *a);
/* `bytes` > 0 bytes, unaligned; NULL when out of memory. Lives until
 * arena_destroy. */
void *arena_alloc(arena *a, size_t bytes);
/* Like arena_alloc, aligned to max(sizeof(void *), 8). */
void *arena_alloc_aligned(arena *a, size_t bytes);
/* Total bytes obtained from malloc so far, including block overhead. */
size_t arena_memory_usage(const arena *a);

#endif
