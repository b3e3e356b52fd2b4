/*
 * bc_keydir.c — the key directory (in memory only; nothing here is on disk).
 *
 * Layout:
 *  - entries: fixed chunks of ENTRY_CHUNK packed 32-byte entries, addressed
 *    by a 32-bit number; freed numbers go on a free list threaded through
 *    the `size` field;
 *  - keys: fixed KEY_CHUNK-byte chunks; a key is a varint length and its
 *    bytes, never split across chunks, addressed by a 32-bit reference
 *    (chunk << 21 | offset), so at most 4 GiB of keys;
 *  - entry and key chunks are 2 MiB; all but the first of each are mmap'd at
 *    a 2 MiB boundary and asked for transparent huge pages (huge_alloc);
 *  - slots: open addressing with linear probing, 8 bytes per slot: the upper
 *    32 bits are the key's hash, the lower the entry number + 1 (0 = empty,
 *    SLOT_TOMB = a removed key, probing goes on past it).
 * Invariants: a key is in exactly one of the two tables (`old` only while a
 * resize is in progress); new keys always go to `cur`; the move of `old`
 * advances MOVE_STEP slots per mutation and the table grows again only after
 * it finished.
 */
#include "bitcask/bc_keydir.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

enum {
  ENTRY_SHIFT = 16,
  ENTRY_CHUNK = 1 << ENTRY_SHIFT, /* entries per chunk */
  KEY_SHIFT = 21,
  KEY_CHUNK = 1 << KEY_SHIFT, /* bytes per key chunk */
  MAX_KEY_CHUNKS = 2048,      /* 32-bit key references */
  MOVE_STEP = 256,            /* old slots moved per mutation */
  POOL_MAX = 4,               /* ready chunks a pool holds */
  MIN_SLOTS = 64
};

#define SLOT_TOMB 0xffffffffull
#define FREE_REF 0xffffffffu
#define TOMB_BIT 0x80000000u

typedef struct packed {
  uint64_t loc;     /* file id << 40 | offset (40 bits) */
  uint32_t size;    /* fragment bytes | TOMB_BIT; next free number if free */
  uint32_t sub;     /* entry position in the fragments' payload */
  uint64_t ts;      /* timestamp, microseconds */
  uint32_t key_ref; /* key chunk << 21 | offset; FREE_REF when free */
  uint32_t expiry;  /* unix seconds, 0 = never */
} packed;

_Static_assert(ENTRY_CHUNK * sizeof(packed) == BC_KEYDIR_CHUNK &&
                   KEY_CHUNK == BC_KEYDIR_CHUNK,
               "entry and key chunks share the pool's size");

typedef struct table {
  uint64_t *slots; /* hash << 32 | (entry number + 1); 0 empty */
  size_t cap;      /* number of slots, a power of two */
  size_t used;     /* slots holding a key */
  size_t tombs;    /* SLOT_TOMB slots */
} table;

struct bc_keydir {
  packed **echunks;  /* entry chunks */
  size_t nechunks;   /* chunks allocated */
  size_t nentries;   /* entry numbers handed out (high-water mark) */
  uint32_t free_head; /* first free number + 1, 0 = none */
  uint8_t **kchunks; /* key chunks */
  size_t nkchunks;   /* key chunks allocated */
  size_t kused;      /* bytes used in the last key chunk */
  table cur;         /* the table new keys go to */
  table old;         /* the table being moved (slots NULL if none) */
  size_t move_at;    /* next slot of `old` to move */
  size_t count;      /* keys held */
  size_t tombstones; /* keys whose entry is a tombstone */
  bc_keydir_pool *pool; /* ready chunks, while open loads hints; or NULL */
};

enum {
  MMAP_SLOTS = 1 << 18, /* tables this large are mmap'd (2 MiB) */
  HUGE = 2 << 20        /* a transparent huge page */
};

/* `bytes` (a multiple of HUGE) of zeroed memory at a HUGE boundary, asked
 * for huge pages: a lookup is one random access, and with 4 KiB pages it is
 * also a TLB miss; filling 4 KiB pages one fault at a time also costs more
 * than the filling itself (10M keys: 150,000 faults). NULL if refused. */
static void *huge_alloc(size_t bytes) {
  uint8_t *p = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  size_t head = (HUGE - ((uintptr_t)p & (HUGE - 1))) & (HUGE - 1);
  if (head) munmap(p, head);
  munmap(p + head + bytes, HUGE - head);
#ifdef MADV_HUGEPAGE
  madvise(p + head, bytes, MADV_HUGEPAGE);
#endif
  return p + head;
}

/* A zeroed slot table; large ones are huge_alloc'd. */
static uint64_t *slots_alloc(size_t cap) {
  if (cap < MMAP_SLOTS) return calloc(cap, sizeof(uint64_t));
  return huge_alloc(cap * sizeof(uint64_t));
}

static void slots_free(uint64_t *slots, size_t cap) {
  if (!slots) return;
  if (cap < MMAP_SLOTS)
    free(slots);
  else
    munmap(slots, cap * sizeof(uint64_t));
}

/* Chunks made ready (their pages faulted in) by another thread ahead of the
 * inserts that need them. */
struct bc_keydir_pool {
  pthread_mutex_t mu;           /* guards n */
  size_t n;                     /* ready chunks held */
  void *ready[POOL_MAX];        /* them */
};

bc_keydir_pool *bc_keydir_pool_create(void) {
  bc_keydir_pool *p = calloc(1, sizeof *p);
  if (p) pthread_mutex_init(&p->mu, NULL);
  return p;
}

void bc_keydir_pool_destroy(bc_keydir_pool *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++)
    free(p->ready[i]);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

void bc_keydir_pool_fill(bc_keydir_pool *p) {
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int full = p->n == POOL_MAX;
    pthread_mutex_unlock(&p->mu);
    if (full) return;
    void *c = malloc(BC_KEYDIR_CHUNK);
    if (!c) return; /* the inserter allocates its own */
    /* the faults, here rather than there (the contents need not be zero) */
    int done = 0;
#ifdef MADV_POPULATE_WRITE
    uintptr_t a = ((uintptr_t)c + 4095) & ~(uintptr_t)4095;
    uintptr_t z = ((uintptr_t)c + BC_KEYDIR_CHUNK) & ~(uintptr_t)4095;
    done = madvise((void *)a, z - a, MADV_POPULATE_WRITE) == 0;
#endif
    if (!done) memset(c, 0, BC_KEYDIR_CHUNK);
    pthread_mutex_lock(&p->mu);
    p->ready[p->n++] = c; /* room: only this thread adds */
    pthread_mutex_unlock(&p->mu);
  }
}

void bc_keydir_set_pool(bc_keydir *kd, bc_keydir_pool *p) { kd->pool = p; }

/* A chunk of BC_KEYDIR_CHUNK bytes (entries or keys): a ready one from the
 * pool if there is one. */
static void *chunk_alloc(bc_keydir *kd) {
  bc_keydir_pool *p = kd->pool;
  void *c = NULL;
  if (p) {
    pthread_mutex_lock(&p->mu);
    if (p->n) c = p->ready[--p->n];
    pthread_mutex_unlock(&p->mu);
  }
  return c ? c : malloc(BC_KEYDIR_CHUNK);
}

uint32_t bc_keydir_hash(const void *key, size_t klen) {
  uint32_t h = crc32c_value(key, klen);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static packed *entry_at(const bc_keydir *kd, uint32_t n) {
  return &kd->echunks[n >> ENTRY_SHIFT][n & (ENTRY_CHUNK - 1)];
}

static const uint8_t *key_at(const bc_keydir *kd, uint32_t ref,
                             uint32_t *klen) {
  const uint8_t *p = kd->kchunks[ref >> KEY_SHIFT] + (ref & (KEY_CHUNK - 1));
  return decode_varint32(p, p + VARINT32_MAX, klen);
}

static void pack(packed *e, const bc_loc *l) {
  e->loc = ((uint64_t)l->file_id << 40) | (l->offset & ((1ull << 40) - 1));
  e->size = l->size | (l->tombstone ? TOMB_BIT : 0);
  e->sub = l->sub;
  e->ts = l->ts;
  e->expiry = l->expiry;
}

static void unpack(const packed *e, bc_loc *l) {
  l->file_id = (uint32_t)(e->loc >> 40);
  l->offset = e->loc & ((1ull << 40) - 1);
  l->size = e->size & ~TOMB_BIT;
  l->tombstone = (e->size & TOMB_BIT) != 0;
  l->sub = e->sub;
  l->ts = e->ts;
  l->expiry = e->expiry;
}

bc_keydir *bc_keydir_create(void) {
  bc_keydir *kd = calloc(1, sizeof *kd);
  if (!kd) return NULL;
  kd->cur.slots = slots_alloc(MIN_SLOTS);
  if (!kd->cur.slots) {
    free(kd);
    return NULL;
  }
  kd->cur.cap = MIN_SLOTS;
  return kd;
}

void bc_keydir_destroy(bc_keydir *kd) {
  if (!kd) return;
  for (size_t i = 0; i < kd->nechunks; i++)
    free(kd->echunks[i]);
  for (size_t i = 0; i < kd->nkchunks; i++)
    free(kd->kchunks[i]);
  free(kd->echunks);
  free(kd->kchunks);
  slots_free(kd->cur.slots, kd->cur.cap);
  slots_free(kd->old.slots, kd->old.cap);
  free(kd);
}

/* Slot index holding the key in `t`, or -1. */
static long find_in(const bc_keydir *kd, const table *t, uint32_t h,
                    const void *key, size_t klen) {
  if (!t->slots) return -1;
  size_t mask = t->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint64_t s = t->slots[i];
    if (s == 0) return -1;
    if ((s & 0xffffffffull) == SLOT_TOMB || (uint32_t)(s >> 32) != h) continue;
    uint32_t n = (uint32_t)(s & 0xffffffffull) - 1, kl;
    const uint8_t *k = key_at(kd, entry_at(kd, n)->key_ref, &kl);
    if (kl == klen && memcmp(k, key, klen) == 0) return (long)i;
  }
}

/* The entry number of the key, or -1; *t and *slot say where its slot is. */
static long lookup_h(const bc_keydir *kd, uint32_t h, const void *key,
                     size_t klen, const table **t, long *slot) {
  const table *tabs[2] = {&kd->cur, &kd->old};
  for (int i = 0; i < 2; i++) {
    long s = find_in(kd, tabs[i], h, key, klen);
    if (s >= 0) {
      if (t) *t = tabs[i];
      if (slot) *slot = s;
      return (long)(uint32_t)(tabs[i]->slots[s] & 0xffffffffull) - 1;
    }
  }
  return -1;
}

static long lookup(const bc_keydir *kd, const void *key, size_t klen,
                   const table **t, long *slot) {
  return lookup_h(kd, bc_keydir_hash(key, klen), key, klen, t, slot);
}

static void insert_slot(table *t, uint64_t s) {
  size_t mask = t->cap - 1;
  size_t i = (size_t)(s >> 32) & mask;
  while (t->slots[i] != 0 && (t->slots[i] & 0xffffffffull) != SLOT_TOMB)
    i = (i + 1) & mask;
  if (t->slots[i] != 0) t->tombs--;
  t->slots[i] = s;
  t->used++;
}

static void move_some(bc_keydir *kd, size_t steps) {
  if (!kd->old.slots) return;
  while (steps-- && kd->move_at < kd->old.cap) {
    uint64_t s = kd->old.slots[kd->move_at++];
    if (s != 0 && (s & 0xffffffffull) != SLOT_TOMB) insert_slot(&kd->cur, s);
  }
  if (kd->move_at == kd->old.cap) {
    slots_free(kd->old.slots, kd->old.cap);
    memset(&kd->old, 0, sizeof kd->old);
  }
}

/* Makes room for one more key in `cur`. */
static int reserve(bc_keydir *kd) {
  move_some(kd, MOVE_STEP);
  table *c = &kd->cur;
  if ((c->used + c->tombs + 1) * 4 <= c->cap * 3) return STRATA_OK;
  if (kd->old.slots) move_some(kd, (size_t)-1); /* rare: finish first */
  size_t cap = c->cap;
  if ((c->used + 1) * 8 > cap * 3) cap *= 2; /* else only clear tombstones */
  uint64_t *slots = slots_alloc(cap);
  if (!slots) return st_error(STRATA_NO_MEMORY, "bitcask keydir: out of memory");
  kd->old = *c;
  kd->move_at = 0;
  c->slots = slots;
  c->cap = cap;
  c->used = c->tombs = 0;
  kd->old.used = 0;
  move_some(kd, MOVE_STEP);
  return STRATA_OK;
}

int bc_keydir_reserve(bc_keydir *kd, size_t n) {
  if (kd->count || kd->old.slots) return STRATA_OK;
  size_t cap = MIN_SLOTS;
  while (cap * 3 < n * 4 && cap < ((size_t)1 << 40))
    cap *= 2;
  if (cap <= kd->cur.cap) return STRATA_OK;
  uint64_t *slots = slots_alloc(cap);
  if (!slots) return STRATA_OK; /* only a hint: grow as usual */
  slots_free(kd->cur.slots, kd->cur.cap);
  kd->cur.slots = slots;
  kd->cur.cap = cap;
  kd->cur.used = kd->cur.tombs = 0;
  return STRATA_OK;
}

static int new_entry(bc_keydir *kd, uint32_t *n) {
  if (kd->free_head) {
    *n = kd->free_head - 1;
    kd->free_head = entry_at(kd, *n)->size;
    return STRATA_OK;
  }
  if (kd->nentries >= 0xfffffff0u)
    return st_error(STRATA_NO_MEMORY, "bitcask keydir: too many keys");
  if (kd->nentries == kd->nechunks * ENTRY_CHUNK) {
    packed **v = realloc(kd->echunks, (kd->nechunks + 1) * sizeof *v);
    if (!v) return st_error(STRATA_NO_MEMORY, "bitcask keydir: out of memory");
    kd->echunks = v;
    if (!(v[kd->nechunks] =
              chunk_alloc(kd)))
      return st_error(STRATA_NO_MEMORY, "bitcask keydir: out of memory");
    kd->nechunks++;
  }
  *n = (uint32_t)kd->nentries++;
  return STRATA_OK;
}

static int store_key(bc_keydir *kd, const void *key, size_t klen,
                     uint32_t *ref) {
  size_t need = (size_t)varint_length(klen) + klen;
  /* the last chunk's last byte would make the reference FREE_REF */
  size_t room = KEY_CHUNK - (kd->nkchunks == MAX_KEY_CHUNKS);
  if (kd->nkchunks == 0 || kd->kused + need > room) {
    if (kd->nkchunks == MAX_KEY_CHUNKS)
      return st_error(STRATA_NO_MEMORY, "bitcask keydir: 4 GiB of keys");
    uint8_t **v = realloc(kd->kchunks, (kd->nkchunks + 1) * sizeof *v);
    if (!v) return st_error(STRATA_NO_MEMORY, "bitcask keydir: out of memory");
    kd->kchunks = v;
    if (!(v[kd->nkchunks] = chunk_alloc(kd)))
      return st_error(STRATA_NO_MEMORY, "bitcask keydir: out of memory");
    kd->nkchunks++;
    kd->kused = 0;
  }
  uint8_t *p = kd->kchunks[kd->nkchunks - 1] + kd->kused;
  uint8_t *q = encode_varint32(p, (uint32_t)klen);
  if (klen) memcpy(q, key, klen);
  *ref = (uint32_t)(((kd->nkchunks - 1) << KEY_SHIFT) | kd->kused);
  kd->kused += need;
  return STRATA_OK;
}

int bc_keydir_get(const bc_keydir *kd, const void *key, size_t klen,
                  bc_loc *out) {
  long n = lookup(kd, key, klen, NULL, NULL);
  if (n < 0) return 0;
  unpack(entry_at(kd, (uint32_t)n), out);
  return 1;
}

void bc_keydir_prefetch(const bc_keydir *kd, uint32_t h) {
  __builtin_prefetch(&kd->cur.slots[h & (kd->cur.cap - 1)]);
}

/* The put: *effect and *prev as bc_keydir_load says. */
static int put_at(bc_keydir *kd, uint32_t h, const void *key, size_t klen,
                  const bc_loc *loc, bc_loc *prev, int *effect,
                  int only_newer) {
  *effect = BC_KEYDIR_KEPT;
  long n = lookup_h(kd, h, key, klen, NULL, NULL);
  if (n >= 0) {
    packed *e = entry_at(kd, (uint32_t)n);
    unpack(e, prev);
    if (only_newer && prev->ts > loc->ts) return STRATA_OK;
    *effect = BC_KEYDIR_REPLACED;
    kd->tombstones += (size_t)(loc->tombstone != 0) - (size_t)prev->tombstone;
    pack(e, loc);
    return STRATA_OK;
  }
  if (klen > 0xffffff)
    return st_error(STRATA_INVALID_ARGUMENT, "bitcask keydir: key too long");
  int rc = reserve(kd);
  uint32_t num = 0, ref = 0;
  if (rc == STRATA_OK) rc = store_key(kd, key, klen, &ref);
  if (rc == STRATA_OK) rc = new_entry(kd, &num);
  if (rc != STRATA_OK) return rc;
  packed *e = entry_at(kd, num);
  pack(e, loc);
  e->key_ref = ref;
  insert_slot(&kd->cur, ((uint64_t)h << 32) | (num + 1));
  kd->count++;
  kd->tombstones += loc->tombstone != 0;
  *effect = BC_KEYDIR_ADDED;
  return STRATA_OK;
}

int bc_keydir_put(bc_keydir *kd, const void *key, size_t klen,
                  const bc_loc *loc, int only_newer, bc_loc *replaced,
                  int *had) {
  return bc_keydir_put_hashed(kd, bc_keydir_hash(key, klen), key, klen, loc,
                              only_newer, replaced, had);
}

int bc_keydir_put_hashed(bc_keydir *kd, uint32_t h, const void *key,
                         size_t klen, const bc_loc *loc, int only_newer,
                         bc_loc *replaced, int *had) {
  bc_loc prev;
  int effect = BC_KEYDIR_KEPT;
  int rc = only_newer ? bc_keydir_load(kd, h, key, klen, loc, &prev, &effect)
                      : put_at(kd, h, key, klen, loc, &prev, &effect, 0);
  if (had) *had = effect == BC_KEYDIR_REPLACED;
  if (replaced && effect == BC_KEYDIR_REPLACED) *replaced = prev;
  return rc;
}

int bc_keydir_load(bc_keydir *kd, uint32_t h, const void *key, size_t klen,
                   const bc_loc *loc, bc_loc *prev, int *effect) {
  return put_at(kd, h, key, klen, loc, prev, effect, 1);
}

static int same(const bc_loc *a, const bc_loc *b) {
  return a->file_id == b->file_id && a->offset == b->offset && a->ts == b->ts &&
         a->sub == b->sub;
}

int bc_keydir_replace_if(bc_keydir *kd, const void *key, size_t klen,
                         const bc_loc *expect, const bc_loc *loc) {
  long n = lookup(kd, key, klen, NULL, NULL);
  if (n < 0) return 0;
  packed *e = entry_at(kd, (uint32_t)n);
  bc_loc prev;
  unpack(e, &prev);
  if (!same(&prev, expect)) return 0;
  kd->tombstones += (size_t)(loc->tombstone != 0) - (size_t)prev.tombstone;
  pack(e, loc);
  return 1;
}

int bc_keydir_remove_if(bc_keydir *kd, const void *key, size_t klen,
                        const bc_loc *expect) {
  const table *t = NULL;
  long slot = -1;
  long n = lookup(kd, key, klen, &t, &slot);
  if (n < 0) return 0;
  packed *e = entry_at(kd, (uint32_t)n);
  bc_loc prev;
  unpack(e, &prev);
  if (!same(&prev, expect)) return 0;
  table *tt = (table *)t;
  tt->slots[slot] = SLOT_TOMB;
  if (tt == &kd->cur) {
    tt->used--;
    tt->tombs++;
  }
  kd->count--;
  kd->tombstones -= (size_t)prev.tombstone;
  e->key_ref = FREE_REF; /* the key's bytes stay in their chunk */
  e->size = kd->free_head;
  kd->free_head = (uint32_t)n + 1;
  return 1;
}

void bc_keydir_populate(bc_keydir *kd, int part, int parts) {
  if (kd->cur.cap < MMAP_SLOTS) return; /* calloc'd: small */
  size_t bytes = kd->cur.cap * sizeof(uint64_t);
  size_t per = (bytes / (size_t)parts + HUGE - 1) & ~(size_t)(HUGE - 1);
  size_t from = per * (size_t)part;
  if (from >= bytes) return;
  size_t n = bytes - from < per ? bytes - from : per;
#ifdef MADV_POPULATE_WRITE
  madvise((uint8_t *)kd->cur.slots + from, n, MADV_POPULATE_WRITE);
#else
  volatile uint8_t *p = (uint8_t *)kd->cur.slots + from; /* zero already */
  for (size_t i = 0; i < n; i += 4096)
    p[i] = 0;
#endif
}

size_t bc_keydir_count(const bc_keydir *kd) { return kd->count; }
size_t bc_keydir_tombstones(const bc_keydir *kd) { return kd->tombstones; }

size_t bc_keydir_memory(const bc_keydir *kd) {
  return sizeof *kd + (kd->cur.cap + kd->old.cap) * sizeof(uint64_t) +
         kd->nechunks * (ENTRY_CHUNK * sizeof(packed) + sizeof(packed *)) +
         kd->nkchunks * ((size_t)KEY_CHUNK + sizeof(uint8_t *));
}

size_t bc_keydir_capacity(const bc_keydir *kd) { return kd->nentries; }

int bc_keydir_entry(const bc_keydir *kd, size_t i, const uint8_t **key,
                    size_t *klen, bc_loc *loc) {
  if (i >= kd->nentries) return 0;
  const packed *e = entry_at(kd, (uint32_t)i);
  if (e->key_ref == FREE_REF) return 0;
  uint32_t kl;
  *key = key_at(kd, e->key_ref, &kl);
  *klen = kl;
  unpack(e, loc);
  return 1;
}
