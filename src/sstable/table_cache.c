/*
 * table_cache.c — bounded cache of open tables (contract in table_cache.h).
 * A list in LRU order (most recent first) under one mutex, indexed by a
 * hash table on the file number (lookups are on every read); a table is
 * closed when it is out of the list and unreferenced. Opening happens
 * outside the mutex, so a slow open does not block other lookups; two
 * threads opening the same file race benignly (the loser closes its copy).
 */
#include "sstable/table_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/compaction.h"
#include "util/status.h"

struct sst_table_ref {
  uint64_t number;            /* file number */
  sst_table *t;               /* the open table */
  int refs;                   /* users + 1 while listed */
  int listed;                 /* 1 while in the LRU list */
  sst_table_ref *prev, *next; /* LRU list */
  sst_table_ref *hnext;       /* next in its hash bucket while listed */
};

struct sst_table_cache {
  env *e;                           /* file system */
  char *dir;                        /* database directory */
  strata_table_options o;           /* options for opening */
  size_t max_open;                  /* listed tables kept at most */
  size_t listed;                    /* tables in the list */
  size_t open;                      /* tables open (listed or not) */
  sst_table_ref head;               /* LRU sentinel */
  sst_table_ref **bucket;           /* hash index of the listed tables */
  size_t nbucket;                   /* buckets (a power of two) */
  pthread_mutex_t mu;               /* guards all of the above but e, dir, o */
  strata_table_damage_fn on_damage; /* damage met by the tables, or NULL */
  void *damage_arg;                 /* its argument */
};

void sst_table_cache_set_damage(sst_table_cache *c, strata_table_damage_fn fn,
                                void *arg) {
  c->on_damage = fn;
  c->damage_arg = arg;
}

sst_table_cache *sst_table_cache_create(env *e, const char *dir,
                                        size_t max_open,
                                        const strata_table_options *o) {
  sst_table_cache *c = calloc(1, sizeof *c);
  if (!c || !(c->dir = strdup(dir))) {
    free(c);
    return NULL;
  }
  c->e = e;
  c->o = *o;
  c->max_open = max_open ? max_open : 1;
  c->nbucket = 64;
  while (c->nbucket < c->max_open * 2 && c->nbucket < (1u << 16))
    c->nbucket *= 2;
  if (!(c->bucket = calloc(c->nbucket, sizeof *c->bucket))) {
    free(c->dir);
    free(c);
    return NULL;
  }
  c->head.prev = c->head.next = &c->head;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

/* Drops a reference; returns the table to close (outside the mutex) or
 * NULL. */
static sst_table *unref(sst_table_cache *c, sst_table_ref *r) {
  if (--r->refs) return NULL;
  sst_table *t = r->t;
  c->open--;
  free(r);
  return t;
}

static sst_table_ref **slot(sst_table_cache *c, uint64_t number) {
  uint64_t h = number * 0x9e3779b97f4a7c15ull;
  return &c->bucket[(h >> 32) & (c->nbucket - 1)];
}

static sst_table *unlist(sst_table_cache *c, sst_table_ref *r) {
  sst_table_ref **pp = slot(c, r->number);
  while (*pp != r)
    pp = &(*pp)->hnext;
  *pp = r->hnext;
  r->prev->next = r->next;
  r->next->prev = r->prev;
  r->listed = 0;
  c->listed--;
  return unref(c, r);
}

void sst_table_cache_destroy(sst_table_cache *c) {
  if (!c) return;
  while (c->head.next != &c->head)
    sst_table_close(unlist(c, c->head.next));
  pthread_mutex_destroy(&c->mu);
  free(c->bucket);
  free(c->dir);
  free(c);
}

static void push_front(sst_table_cache *c, sst_table_ref *r) {
  r->next = c->head.next;
  r->prev = &c->head;
  r->next->prev = r;
  c->head.next = r;
}

static sst_table_ref *find(sst_table_cache *c, uint64_t number) {
  for (sst_table_ref *r = *slot(c, number); r; r = r->hnext)
    if (r->number == number) return r;
  return NULL;
}

int sst_table_cache_get(sst_table_cache *c, uint64_t number, sst_table **t,
                        sst_table_ref **ref) {
  *t = NULL;
  *ref = NULL;
  pthread_mutex_lock(&c->mu);
  sst_table_ref *r = find(c, number);
  if (r) {
    r->refs++;
    r->prev->next = r->next; /* move to the front */
    r->next->prev = r->prev;
    push_front(c, r);
    pthread_mutex_unlock(&c->mu);
    *t = r->t;
    *ref = r;
    return STRATA_OK;
  }
  pthread_mutex_unlock(&c->mu);
  char name[4096];
  sst_table_file_name(name, sizeof name, c->dir, number);
  sst_table *opened;
  int rc =
      sst_table_open(c->e, name, &c->o, c->on_damage, c->damage_arg, &opened);
  if (rc == STRATA_NOT_FOUND) { /* LevelDB before 1.16 named tables .sst */
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".ldb") == 0) {
      memcpy(name + n - 4, ".sst", 4);
      rc = sst_table_open(c->e, name, &c->o, c->on_damage, c->damage_arg,
                          &opened);
      if (rc == STRATA_NOT_FOUND) memcpy(name + n - 4, ".ldb", 4);
    }
  }
  if (rc) return rc;
  sst_table_ref *nr = calloc(1, sizeof *nr);
  if (!nr) {
    sst_table_close(opened);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  nr->number = number;
  nr->t = opened;
  nr->refs = 2; /* the list's and the caller's */
  nr->listed = 1;
  pthread_mutex_lock(&c->mu);
  if ((r = find(c, number))) { /* lost a race: use the winner's */
    r->refs++;
    pthread_mutex_unlock(&c->mu);
    sst_table_close(opened);
    free(nr);
    *t = r->t;
    *ref = r;
    return STRATA_OK;
  }
  push_front(c, nr);
  sst_table_ref **b = slot(c, number);
  nr->hnext = *b;
  *b = nr;
  c->listed++;
  c->open++;
  /* Over budget: unlist the least recently used (closed once unused). One
   * insertion exceeds the budget by at most one. */
  sst_table *closing = NULL;
  if (c->listed > c->max_open) closing = unlist(c, c->head.prev);
  pthread_mutex_unlock(&c->mu);
  sst_table_close(closing);
  *t = opened;
  *ref = nr;
  return STRATA_OK;
}

void sst_table_cache_release(sst_table_cache *c, sst_table_ref *ref) {
  if (!ref) return;
  pthread_mutex_lock(&c->mu);
  sst_table *x = unref(c, ref);
  pthread_mutex_unlock(&c->mu);
  sst_table_close(x);
}

void sst_table_cache_evict(sst_table_cache *c, uint64_t number) {
  pthread_mutex_lock(&c->mu);
  sst_table_ref *r = find(c, number);
  sst_table *x = r ? unlist(c, r) : NULL;
  pthread_mutex_unlock(&c->mu);
  sst_table_close(x);
}

size_t sst_table_cache_open_count(sst_table_cache *c) {
  pthread_mutex_lock(&c->mu);
  size_t n = c->open;
  pthread_mutex_unlock(&c->mu);
  return n;
}
