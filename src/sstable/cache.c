/*
 * cache.c — sharded LRU block cache (contract in cache.h). Each of 16 shards
 * holds a hash table (chained, doubling) and an LRU list of its entries that
 * are in the table; a shard evicts from the LRU end while its charge exceeds
 * its share of the budget. An entry's memory is freed when it is both out of
 * the table and unreferenced.
 */
#include "sstable/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { SHARDS = 16 };

struct sst_cache_entry {
  uint64_t id, off;             /* key: table id, block offset */
  uint8_t *data;                /* the block */
  size_t n;                     /* its bytes (the charge) */
  int refs;                     /* users + 1 while in the table */
  int in_table;                 /* 1 while reachable by lookup */
  sst_cache_entry *hnext;       /* hash chain */
  sst_cache_entry *prev, *next; /* LRU list, most recent at head */
};

typedef struct shard {
  pthread_mutex_t mu;        /* guards everything below */
  sst_cache_entry **buckets; /* hash table */
  size_t nbuckets, count;    /* buckets, entries in the table */
  sst_cache_entry head;      /* LRU sentinel */
  size_t usage, capacity;    /* bytes charged, budget */
} shard;

struct strata_block_cache {
  shard shards[SHARDS];  /* by hash of the key */
  atomic_ullong next_id; /* table ids handed out */
};

static uint64_t hash(uint64_t id, uint64_t off) {
  uint64_t h = id * 0x9e3779b97f4a7c15ull ^ off * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 29);
}

strata_block_cache *strata_block_cache_create(size_t capacity) {
  sst_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  for (int i = 0; i < SHARDS; i++) {
    shard *s = &c->shards[i];
    pthread_mutex_init(&s->mu, NULL);
    s->head.prev = s->head.next = &s->head;
    s->capacity = (capacity + SHARDS - 1) / SHARDS;
  }
  atomic_init(&c->next_id, 1);
  return c;
}

static void unref(sst_cache_entry *e) {
  if (--e->refs == 0) {
    free(e->data);
    free(e);
  }
}

void strata_block_cache_destroy(strata_block_cache *c) {
  if (!c) return;
  for (int i = 0; i < SHARDS; i++) {
    shard *s = &c->shards[i];
    for (size_t b = 0; b < s->nbuckets; b++)
      for (sst_cache_entry *e = s->buckets[b], *nx; e; e = nx) {
        nx = e->hnext;
        unref(e);
      }
    free(s->buckets);
    pthread_mutex_destroy(&s->mu);
  }
  free(c);
}

uint64_t sst_cache_new_id(sst_cache *c) {
  return atomic_fetch_add(&c->next_id, 1);
}

static void lru_unlink(sst_cache_entry *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
}
static void lru_push(shard *s, sst_cache_entry *e) {
  e->next = s->head.next;
  e->prev = &s->head;
  e->next->prev = e;
  s->head.next = e;
}

static sst_cache_entry **find(shard *s, uint64_t id, uint64_t off, uint64_t h) {
  if (!s->nbuckets) return NULL;
  sst_cache_entry **p = &s->buckets[h & (s->nbuckets - 1)];
  while (*p && ((*p)->id != id || (*p)->off != off))
    p = &(*p)->hnext;
  return p;
}

static void remove_entry(shard *s, sst_cache_entry **slot) {
  sst_cache_entry *e = *slot;
  *slot = e->hnext;
  lru_unlink(e);
  e->in_table = 0;
  s->usage -= e->n;
  s->count--;
  unref(e);
}

sst_cache_entry *sst_cache_lookup(sst_cache *c, uint64_t id, uint64_t off) {
  uint64_t h = hash(id, off);
  shard *s = &c->shards[(h >> 60) % SHARDS];
  pthread_mutex_lock(&s->mu);
  sst_cache_entry **p = find(s, id, off, h), *e = p ? *p : NULL;
  if (e) {
    e->refs++;
    lru_unlink(e);
    lru_push(s, e);
  }
  pthread_mutex_unlock(&s->mu);
  return e;
}

static int grow(shard *s) {
  size_t nb = s->nbuckets ? s->nbuckets * 2 : 64;
  sst_cache_entry **b = calloc(nb, sizeof *b);
  if (!b) return -1;
  for (size_t i = 0; i < s->nbuckets; i++)
    for (sst_cache_entry *e = s->buckets[i], *nx; e; e = nx) {
      nx = e->hnext;
      size_t j = hash(e->id, e->off) & (nb - 1);
      e->hnext = b[j];
      b[j] = e;
    }
  free(s->buckets);
  s->buckets = b;
  s->nbuckets = nb;
  return 0;
}

sst_cache_entry *sst_cache_insert(sst_cache *c, uint64_t id, uint64_t off,
                                  uint8_t *data, size_t n) {
  sst_cache_entry *e = calloc(1, sizeof *e);
  if (!e) {
    free(data);
    return NULL;
  }
  e->id = id;
  e->off = off;
  e->data = data;
  e->n = n;
  e->refs = 1; /* the caller's */
  uint64_t h = hash(id, off);
  shard *s = &c->shards[(h >> 60) % SHARDS];
  pthread_mutex_lock(&s->mu);
  if (s->count >= s->nbuckets && grow(s)) {
    pthread_mutex_unlock(&s->mu);
    return e; /* usable, just not cached */
  }
  sst_cache_entry **p = find(s, id, off, h);
  if (*p) remove_entry(s, p);
  p = find(s, id, off, h);
  e->hnext = NULL;
  *p = e;
  e->refs++;
  e->in_table = 1;
  lru_push(s, e);
  s->usage += n;
  s->count++;
  while (s->usage > s->capacity && s->head.prev != &s->head) {
    sst_cache_entry *victim = s->head.prev;
    remove_entry(
        s, find(s, victim->id, victim->off, hash(victim->id, victim->off)));
  }
  pthread_mutex_unlock(&s->mu);
  return e;
}

const uint8_t *sst_cache_data(const sst_cache_entry *e, size_t *n) {
  *n = e->n;
  return e->data;
}

void sst_cache_release(sst_cache *c, sst_cache_entry *e) {
  if (!e) return;
  uint64_t h = hash(e->id, e->off);
  shard *s = &c->shards[(h >> 60) % SHARDS];
  pthread_mutex_lock(&s->mu);
  unref(e);
  pthread_mutex_unlock(&s->mu);
}

size_t sst_cache_usage(sst_cache *c) {
  size_t u = 0;
  for (int i = 0; i < SHARDS; i++) {
    pthread_mutex_lock(&c->shards[i].mu);
    u += c->shards[i].usage;
    pthread_mutex_unlock(&c->shards[i].mu);
  }
  return u;
}
