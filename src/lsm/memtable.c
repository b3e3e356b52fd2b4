/*
 * memtable.c — the memtable's skiplist (contract and entry encoding in
 * memtable.h). Nothing here reads disk bytes: every entry comes from mem_add.
 *
 * Layout: each node is one aligned arena allocation holding the node header,
 * its `height` links, then the LevelDB memtable entry (varint32 internal key
 * length, user key, fixed64 trailer, varint32 value length, value). The header
 * caches what the search loop compares — the user key's first 8 bytes as a
 * big-endian integer (zero-padded), its length, the trailer — so most
 * comparisons of random keys never touch the entry bytes. A search also
 * prefetches the node it would compare after dropping a level, overlapping
 * that cache miss with the current one (large tables are bound by misses).
 *
 * Skiplist: heights 1..MAX_HEIGHT, each level above the first with
 * probability 1/4 (LevelDB's 12 and 4). `head` has MAX_HEIGHT links and no
 * key. Invariant: at every level, the nodes reachable from head are in
 * strictly increasing internal-key order (user key ascending, trailer
 * descending); level i's list is a sublist of level i-1's.
 *
 * Concurrency: the single writer fills a node (header, entry, its own links
 * with relaxed stores) before publishing it with a release store into its
 * predecessors' links, bottom level first, so a reader that reaches a node
 * through an acquire load sees it complete. `height` only grows; a reader
 * that sees a new height before the head's new links simply finds NULL there
 * and drops a level. Nothing is unlinked or freed before the last reference
 * goes (mem_unref), and iterators hold a reference.
 */
#include "lsm/memtable.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/ikey.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/status.h"

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

enum { MAX_HEIGHT = 12, BRANCH_BITS = 2 /* a level up with p = 1/4 */ };

typedef struct mem_node mem_node;
struct mem_node {
  uint64_t prefix;     /* user key's first 8 bytes, big-endian, 0-padded */
  uint64_t trailer;    /* sequence << 8 | type */
  const uint8_t *ukey; /* user key in the entry; the trailer follows */
  uint32_t ulen;       /* user key bytes */
  uint32_t vlen;       /* value bytes */
  _Atomic(mem_node *) next[]; /* one link per level of the node's height */
};

struct mem_table {
  arena *arena;             /* nodes and entries */
  mem_node *head;           /* sentinel with MAX_HEIGHT links, no key */
  _Atomic int height;       /* levels in use, 1..MAX_HEIGHT (only grows) */
  _Atomic int refs;         /* references; the last mem_unref frees */
  _Atomic uint64_t entries; /* entries inserted (written by the writer) */
  uint64_t rng;             /* xorshift64 state for node heights (writer) */
};

/* A search target: what a node header caches, for one key. */
typedef struct skey {
  uint64_t prefix;     /* as mem_node.prefix */
  uint64_t trailer;    /* as mem_node.trailer */
  const uint8_t *ukey; /* user key */
  size_t ulen;         /* its length */
} skey;

static inline uint64_t key_prefix(const uint8_t *k, size_t n) {
  uint64_t p = 0;
  size_t m = n < 8 ? n : 8;
  for (size_t i = 0; i < m; i++)
    p |= (uint64_t)k[i] << (56 - 8 * i);
  return p;
}

static inline skey make_skey(const uint8_t *k, size_t n, uint64_t trailer) {
  skey s = {key_prefix(k, n), trailer, k, n};
  return s;
}

/* <0, 0, >0 as node x orders before, at, after target k. Equal prefixes mean
 * the first min(8, len) bytes are equal, so only bytes past 8 remain. */
static inline int node_cmp(const mem_node *x, const skey *k) {
  if (x->prefix != k->prefix) return x->prefix < k->prefix ? -1 : 1;
  size_t m = x->ulen < k->ulen ? x->ulen : k->ulen;
  if (m > 8) {
    int c = memcmp(x->ukey + 8, k->ukey + 8, m - 8);
    if (c) return c;
  }
  if (x->ulen != k->ulen) return x->ulen < k->ulen ? -1 : 1;
  if (x->trailer != k->trailer) return x->trailer > k->trailer ? -1 : 1;
  return 0;
}

static inline mem_node *load_next(mem_node *x, int level) {
  return atomic_load_explicit(&x->next[level], memory_order_acquire);
}

/* The first node >= k (NULL if none); fills prev[level] with the last node
 * < k at each level in use when prev is not NULL. */
static mem_node *find_ge(mem_table *m, const skey *k, mem_node **prev) {
  mem_node *x = m->head, *bigger = NULL;
  int level = atomic_load_explicit(&m->height, memory_order_relaxed) - 1;
  for (;;) {
    mem_node *nx = load_next(x, level);
    /* While nx is fetched, fetch the node compared next if nx is >= k. */
    if (level > 0) PREFETCH(load_next(x, level - 1));
    /* nx == bigger: already known to be >= k from the level above. */
    if (nx != NULL && nx != bigger && node_cmp(nx, k) < 0) {
      x = nx;
      continue;
    }
    if (prev) prev[level] = x;
    if (level == 0) return nx;
    bigger = nx;
    level--;
  }
}

/* The last node < k, or NULL. */
static mem_node *find_lt(mem_table *m, const skey *k) {
  mem_node *x = m->head;
  int level = atomic_load_explicit(&m->height, memory_order_relaxed) - 1;
  for (;;) {
    mem_node *nx = load_next(x, level);
    if (nx != NULL && node_cmp(nx, k) < 0) {
      x = nx;
      continue;
    }
    if (level == 0) return x == m->head ? NULL : x;
    level--;
  }
}

static mem_node *find_last(mem_table *m) {
  mem_node *x = m->head;
  int level = atomic_load_explicit(&m->height, memory_order_relaxed) - 1;
  for (;;) {
    mem_node *nx = load_next(x, level);
    if (nx != NULL) {
      x = nx;
      continue;
    }
    if (level == 0) return x == m->head ? NULL : x;
    level--;
  }
}

static int random_height(mem_table *m) {
  uint64_t r = m->rng;
  r ^= r << 13;
  r ^= r >> 7;
  r ^= r << 17;
  m->rng = r;
  int h = 1;
  while (h < MAX_HEIGHT && (r & ((1u << BRANCH_BITS) - 1)) == 0) {
    h++;
    r >>= BRANCH_BITS;
  }
  return h;
}

mem_table *mem_create(void) {
  mem_table *m = malloc(sizeof *m);
  if (m == NULL) return NULL;
  m->arena = arena_create();
  size_t hsize = sizeof(mem_node) + MAX_HEIGHT * sizeof(_Atomic(mem_node *));
  m->head = m->arena ? arena_alloc_aligned(m->arena, hsize) : NULL;
  if (m->head == NULL) {
    arena_destroy(m->arena);
    free(m);
    return NULL;
  }
  memset(m->head, 0, sizeof(mem_node));
  for (int i = 0; i < MAX_HEIGHT; i++)
    atomic_init(&m->head->next[i], NULL);
  atomic_init(&m->height, 1);
  atomic_init(&m->refs, 1);
  atomic_init(&m->entries, 0);
  m->rng = 0x9e3779b97f4a7c15ull;
  return m;
}

void mem_ref(mem_table *m) {
  atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void mem_unref(mem_table *m) {
  if (m == NULL) return;
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1) return;
  arena_destroy(m->arena);
  free(m);
}

int mem_add(mem_table *m, uint64_t seq, int type, const uint8_t *key, size_t kn,
            const uint8_t *value, size_t vn) {
  if ((type != IKEY_VALUE && type != IKEY_DELETION) ||
      seq > IKEY_MAX_SEQUENCE || kn > UINT32_MAX - IKEY_TRAILER ||
      vn > UINT32_MAX)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "memtable: bad entry (type %d, sequence %llu, key %zu "
                    "bytes, value %zu bytes)",
                    type, (unsigned long long)seq, kn, vn);
  skey k = make_skey(key, kn, seq << 8 | (uint64_t)type);
  mem_node *prev[MAX_HEIGHT];
  /* A repeated (key, seq), possible only from damaged input replayed by
   * recovery, lands before its twin: found first, harmless to the order
   * (going backward, prev steps over one of the twins). */
  find_ge(m, &k, prev);

  int h = random_height(m);
  uint32_t ilen = (uint32_t)(kn + IKEY_TRAILER);
  size_t links = (size_t)h * sizeof(_Atomic(mem_node *));
  size_t entry =
      (size_t)varint_length(ilen) + ilen + (size_t)varint_length(vn) + vn;
  if (entry > SIZE_MAX - sizeof(mem_node) - links)
    return st_error(STRATA_NO_MEMORY, "memtable: entry too large");
  mem_node *x = arena_alloc_aligned(m->arena, sizeof(mem_node) + links + entry);
  if (x == NULL)
    return st_error(STRATA_NO_MEMORY, "memtable: out of memory (%zu bytes)",
                    entry);
  uint8_t *p = encode_varint32((uint8_t *)&x->next[h], ilen);
  x->ukey = p;
  if (kn) memcpy(p, key, kn);
  encode_fixed64(p + kn, k.trailer);
  p = encode_varint32(p + ilen, (uint32_t)vn);
  if (vn) memcpy(p, value, vn);
  x->prefix = k.prefix;
  x->trailer = k.trailer;
  x->ulen = (uint32_t)kn;
  x->vlen = (uint32_t)vn;

  int cur = atomic_load_explicit(&m->height, memory_order_relaxed);
  if (h > cur) {
    for (int i = cur; i < h; i++)
      prev[i] = m->head;
    atomic_store_explicit(&m->height, h, memory_order_relaxed);
  }
  for (int i = 0; i < h; i++) {
    mem_node *after =
        atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed);
    atomic_store_explicit(&x->next[i], after, memory_order_relaxed);
    atomic_store_explicit(&prev[i]->next[i], x, memory_order_release);
  }
  atomic_store_explicit(
      &m->entries, atomic_load_explicit(&m->entries, memory_order_relaxed) + 1,
      memory_order_relaxed);
  return STRATA_OK;
}

static const uint8_t *node_value(const mem_node *x) {
  return x->ukey + x->ulen + IKEY_TRAILER + varint_length(x->vlen);
}

int mem_get(mem_table *m, const uint8_t *key, size_t kn, uint64_t seq,
            uint8_t **value, size_t *vn) {
  *value = NULL;
  *vn = 0;
  if (seq > IKEY_MAX_SEQUENCE) seq = IKEY_MAX_SEQUENCE;
  skey k = make_skey(key, kn, seq << 8 | IKEY_SEEK_TYPE);
  mem_node *x = find_ge(m, &k, NULL);
  if (x == NULL || x->prefix != k.prefix || x->ulen != kn ||
      (kn > 8 && memcmp(x->ukey + 8, key + 8, kn - 8) != 0))
    return MEM_ABSENT;
  if ((x->trailer & 0xff) == IKEY_DELETION) return MEM_DELETED;
  uint8_t *v = malloc(x->vlen ? x->vlen : 1);
  if (v == NULL) {
    st_error(STRATA_NO_MEMORY, "memtable: out of memory (%u bytes)", x->vlen);
    return -1;
  }
  if (x->vlen) memcpy(v, node_value(x), x->vlen);
  *value = v;
  *vn = x->vlen;
  return MEM_FOUND;
}

size_t mem_usage(const mem_table *m) {
  return arena_memory_usage(m->arena) + sizeof *m;
}

uint64_t mem_entries(const mem_table *m) {
  return atomic_load_explicit(&m->entries, memory_order_relaxed);
}

/* ---- iterator ---------------------------------------------------------- */

typedef struct mem_iter_t {
  sst_iter base;  /* interface */
  mem_table *m;   /* the table (one reference held) */
  mem_node *node; /* current entry, NULL when not valid */
} mem_iter_t;

static int mi_valid(sst_iter *it) { return ((mem_iter_t *)it)->node != NULL; }

static void mi_seek_first(sst_iter *it) {
  mem_iter_t *i = (mem_iter_t *)it;
  i->node = load_next(i->m->head, 0);
}

static void mi_seek_last(sst_iter *it) {
  mem_iter_t *i = (mem_iter_t *)it;
  i->node = find_last(i->m);
}

/* A target shorter than a trailer is no internal key; it positions at the
 * first entry whose user key is >= it. */
static void mi_seek(sst_iter *it, const uint8_t *k, size_t n) {
  mem_iter_t *i = (mem_iter_t *)it;
  skey s = n < IKEY_TRAILER ? make_skey(k, n, UINT64_MAX)
                            : make_skey(k, n - IKEY_TRAILER,
                                        decode_fixed64(k + n - IKEY_TRAILER));
  i->node = find_ge(i->m, &s, NULL);
}

static void mi_next(sst_iter *it) {
  mem_iter_t *i = (mem_iter_t *)it;
  i->node = load_next(i->node, 0);
}

static void mi_prev(sst_iter *it) {
  mem_iter_t *i = (mem_iter_t *)it;
  const mem_node *x = i->node;
  skey s = {x->prefix, x->trailer, x->ukey, x->ulen};
  i->node = find_lt(i->m, &s);
}

static const uint8_t *mi_key(sst_iter *it, size_t *n) {
  mem_iter_t *i = (mem_iter_t *)it;
  *n = (size_t)i->node->ulen + IKEY_TRAILER;
  return i->node->ukey;
}

static const uint8_t *mi_value(sst_iter *it, size_t *n) {
  mem_iter_t *i = (mem_iter_t *)it;
  *n = i->node->vlen;
  return node_value(i->node);
}

static int mi_status(sst_iter *it) {
  (void)it;
  return STRATA_OK;
}

static void mi_destroy(sst_iter *it) {
  mem_iter_t *i = (mem_iter_t *)it;
  mem_unref(i->m);
  free(i);
}

static const sst_iter_ops mem_iter_ops = {
    mi_valid, mi_seek_first, mi_seek_last, mi_seek,   mi_next,
    mi_prev,  mi_key,        mi_value,     mi_status, mi_destroy};

sst_iter *mem_iter(mem_table *m) {
  mem_iter_t *i = malloc(sizeof *i);
  if (i == NULL) return NULL;
  i->base.ops = &mem_iter_ops;
  mem_ref(m);
  i->m = m;
  i->node = NULL;
  return &i->base;
}
