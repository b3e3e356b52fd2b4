/*
 * wal_test.c — the write-ahead log: every API call, and every fault the
 * issue names: torn tail at every byte of the last record then appends then
 * reopen; mid-file damage under each policy; sequence holes across segments;
 * numbering after a full truncation; truncate_front never rewriting a file;
 * replay never returning an uncommitted batch; truncation racing appends;
 * group commit with 8 threads; SIGKILL of a child appending with sync
 * `always` at random moments; power loss (env_fault) at every operation of a
 * scripted workload.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/env_fault.h"
#include "strata.h"
#include "test.h"
#include "wal/wal.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct damages {
  int n;               /* reports */
  uint64_t bytes;      /* total bytes */
  int kinds[16];       /* reports per kind */
  int lost_known;      /* reports with a known lost range */
  uint64_t lost_first; /* range of the last report with one */
  uint64_t lost_last;  /* (inclusive) */
  int nontail;         /* reports that are not torn tails */
} damages;

static void collect(void *arg, const strata_wal_damage *d) {
  damages *ds = arg;
  ds->n++;
  ds->bytes += d->damage.bytes;
  if ((unsigned)d->damage.kind < 16) ds->kinds[d->damage.kind]++;
  if (d->damage.kind != STRATA_DAMAGE_TORN_TAIL) ds->nontail++;
  if (d->lost_known) {
    ds->lost_known++;
    ds->lost_first = d->lost_first;
    ds->lost_last = d->lost_last;
  }
}

static strata_wal_options opts(strata_recovery policy, uint64_t seg,
                               damages *ds) {
  strata_wal_options o;
  strata_wal_options_init(&o);
  o.recovery = policy;
  o.segment_size = seg;
  o.on_damage = ds ? collect : NULL;
  o.damage_arg = ds;
  return o;
}

static strata_wal *open_wal(const char *dir, strata_recovery policy,
                            uint64_t seg, damages *ds) {
  strata_wal_options o = opts(policy, seg, ds);
  strata_wal *w = NULL;
  int rc = strata_wal_open(dir, &o, &w);
  CHECK_MSG(rc == STRATA_OK, "open %s: %s", dir, strata_last_error());
  return w;
}

/* Appends one put "k<id>" -> value of `vlen` bytes derived from id. */
static uint64_t put(strata_wal *w, uint64_t id, size_t vlen) {
  strata_batch *b = strata_batch_create();
  char key[32], val[4096];
  snprintf(key, sizeof key, "k%llu", (unsigned long long)id);
  for (size_t i = 0; i < vlen && i < sizeof val; i++)
    val[i] = (char)('a' + (id + i) % 26);
  strata_batch_put(b, key, strlen(key), val, vlen);
  uint64_t seq = 0;
  int rc = strata_wal_append(w, b, &seq);
  CHECK_MSG(rc == STRATA_OK, "append: %s", strata_last_error());
  strata_batch_destroy(b);
  return seq;
}

typedef struct op {
  uint64_t seq; /* its sequence number */
  int type;     /* STRATA_OP_* */
  char key[32]; /* the key (test keys are short text) */
  size_t vlen;  /* value length */
} op;

typedef struct ops {
  op *v;            /* the operations, in replay order */
  size_t n, cap;    /* held, allocated */
  int out_of_order; /* a sequence number not above the previous one */
} ops;

static int collect_op(void *arg, uint64_t seq, int type, const void *key,
                      size_t klen, const void *value, size_t vlen) {
  (void)value;
  ops *o = arg;
  if (o->n && seq <= o->v[o->n - 1].seq) o->out_of_order = 1;
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 64;
    o->v = realloc(o->v, o->cap * sizeof *o->v);
  }
  op *x = &o->v[o->n++];
  x->seq = seq;
  x->type = type;
  snprintf(x->key, sizeof x->key, "%.*s", (int)(klen < 31 ? klen : 31),
           (const char *)key);
  x->vlen = vlen;
  return 0;
}

static ops replay(strata_wal *w, uint64_t after) {
  ops o;
  memset(&o, 0, sizeof o);
  int rc = strata_wal_replay(w, after, collect_op, &o);
  CHECK_MSG(rc == STRATA_OK, "replay: %s", strata_last_error());
  CHECK(!o.out_of_order);
  return o;
}

/* 1 if the replayed ops are exactly k<id> for each id in ids, at seqs. */
static const op *find_seq(const ops *o, uint64_t seq) {
  size_t lo = 0, hi = o->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (o->v[mid].seq < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < o->n && o->v[lo].seq == seq ? &o->v[lo] : NULL;
}

static int has_put(const ops *o, uint64_t seq, uint64_t id) {
  const op *x = find_seq(o, seq);
  char key[32];
  snprintf(key, sizeof key, "k%llu", (unsigned long long)id);
  return x && x->type == STRATA_OP_PUT && strcmp(x->key, key) == 0;
}

static int continuous(const ops *o) {
  for (size_t i = 1; i < o->n; i++)
    if (o->v[i].seq != o->v[i - 1].seq + 1) return 0;
  return 1;
}

static const char *seg_file(const char *dir, int n) {
  static char p[4200];
  snprintf(p, sizeof p, "%s/%06d.log", dir, n);
  return p;
}

static uint64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void flip_byte(const char *path, uint64_t off) {
  int fd = open(path, O_RDWR);
  unsigned char c = 0;
  CHECK(pread(fd, &c, 1, (off_t)off) == 1);
  c ^= 0x40;
  CHECK(pwrite(fd, &c, 1, (off_t)off) == 1);
  close(fd);
}

static void cut_file(const char *path, uint64_t len) {
  CHECK(truncate(path, (off_t)len) == 0);
}

static void rm_rf(const char *dir) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

typedef struct rec_pos {
  uint64_t seg, offset, end, seq; /* segment, byte range, first sequence */
  uint32_t count;                 /* operations in the batch */
} rec_pos;

typedef struct positions {
  rec_pos v[4096]; /* the records, in order */
  size_t n;        /* records held */
} positions;

static int collect_pos(void *arg, const strata_wal_record *r) {
  positions *p = arg;
  if (p->n < 4096) {
    rec_pos x = {r->segment, r->offset, r->end, r->sequence, r->count};
    p->v[p->n++] = x;
  }
  return 0;
}

static positions *where(strata_wal *w) {
  positions *p = calloc(1, sizeof *p);
  CHECK(strata_wal_iterate(w, collect_pos, p) == STRATA_OK);
  return p;
}

/* ---- the API ------------------------------------------------------------- */

TEST(append_replay_reopen_across_segments) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, NULL);
  uint64_t seqs[200];
  for (uint64_t i = 0; i < 200; i++)
    seqs[i] = put(w, i, 100);
  for (int i = 0; i < 200; i++)
    CHECK_U64(seqs[i], (uint64_t)i + 1);
  CHECK_U64(strata_wal_last_sequence(w), 200);
  CHECK(wal_segment_count(w) > 3);
  /* a batch of three: sequence numbers 201..203 */
  strata_batch *b = strata_batch_create();
  strata_batch_put(b, "x", 1, "1", 1);
  strata_batch_delete(b, "y", 1);
  strata_batch_put(b, "z", 1, "3", 1);
  uint64_t s = 0;
  CHECK(strata_wal_append(w, b, &s) == STRATA_OK);
  CHECK_U64(s, 201);
  CHECK_U64(strata_batch_sequence(b), 201);
  strata_batch_destroy(b);
  CHECK(strata_wal_sync(w) == STRATA_OK);
  CHECK(strata_wal_close(w) == STRATA_OK);

  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  CHECK_EQ(ds.n, 0);
  CHECK_U64(strata_wal_last_sequence(w), 203);
  ops o = replay(w, 0);
  CHECK_EQ(o.n, 203);
  CHECK(continuous(&o));
  for (uint64_t i = 0; i < 200; i++)
    CHECK(has_put(&o, i + 1, i));
  CHECK_EQ(o.v[201].type, STRATA_OP_DELETE);
  free(o.v);
  /* after a sequence number inside a batch: only its later operations */
  o = replay(w, 201);
  CHECK_EQ(o.n, 2);
  CHECK_U64(o.v[0].seq, 202);
  CHECK_STR(o.v[0].key, "y");
  free(o.v);
  positions *p = where(w);
  CHECK_EQ(p->n, 201);
  CHECK_U64(p->v[0].seq, 1);
  CHECK_U64(p->v[0].offset, 0);
  CHECK_EQ(p->v[200].count, 3);
  free(p);
  CHECK_U64(put(w, 999, 10), 204);
  strata_wal *again = NULL;
  CHECK(strata_wal_open(dir, NULL, &again) == STRATA_BUSY);
  CHECK(strata_wal_close(w) == STRATA_OK);
}

TEST(sync_modes_interval_and_none) {
  for (int mode = 0; mode < 3; mode++) {
    char name[16];
    snprintf(name, sizeof name, "m%d", mode);
    const char *dir = test_path(name);
    strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 1 << 20, NULL);
    o.sync = (strata_wal_sync_mode)mode;
    o.sync_interval_ms = 5;
    o.sync_interval_bytes = 1000;
    strata_wal *w = NULL;
    CHECK(strata_wal_open(dir, &o, &w) == STRATA_OK);
    for (uint64_t i = 0; i < 50; i++)
      put(w, i, 64);
    usleep(20000);
    CHECK(strata_wal_sync(w) == STRATA_OK);
    CHECK(strata_wal_close(w) == STRATA_OK);
    w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 1 << 20, NULL);
    ops r = replay(w, 0);
    CHECK_EQ(r.n, 50);
    free(r.v);
    strata_wal_close(w);
  }
}

/* interval mode syncs in the background once data is older than the
 * interval, and inline once the unsynced bytes reach the limit; nothing is
 * synced while nothing is unsynced. Syncs are counted as env_fault ops. */
TEST(sync_interval_background_and_byte_limit) {
  const char *dir = test_path("w");
  env *fe = env_fault_create(env_posix());
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 1 << 20, NULL);
  o.sync = STRATA_WAL_SYNC_INTERVAL;
  o.sync_interval_ms = 150;
  o.sync_interval_bytes = 4000;
  strata_wal *w = NULL;
  CHECK(wal_open_env(fe, dir, &o, &w) == STRATA_OK);
  if (!w) return;
  usleep(50000); /* nothing unsynced: the background thread does nothing */
  uint64_t idle = env_fault_ops(fe);
  usleep(50000);
  CHECK_U64(env_fault_ops(fe), idle);
  CHECK(strata_wal_sync(w) == STRATA_OK);
  put(w, 1, 10); /* within 150 ms of the last sync: not synced inline */
  uint64_t after_append = env_fault_ops(fe);
  usleep(400000); /* the background thread syncs once */
  uint64_t after_bg = env_fault_ops(fe);
  CHECK(after_bg > after_append);
  usleep(200000);
  CHECK_U64(env_fault_ops(fe), after_bg); /* and only once */
  /* 4000 bytes unsynced: the append that reaches them syncs inline */
  uint64_t before = env_fault_ops(fe);
  put(w, 2, 4000);
  CHECK(env_fault_ops(fe) >= before + 2); /* the write and the sync */
  CHECK(strata_wal_close(w) == STRATA_OK);
  env_fault_destroy(fe);
}

TEST(checkpoint_is_durable_and_checked) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, NULL);
  for (uint64_t i = 0; i < 10; i++)
    put(w, i, 10);
  CHECK(strata_wal_checkpoint(w, 6) == STRATA_OK);
  CHECK_U64(strata_wal_checkpointed(w), 6);
  CHECK(strata_wal_checkpoint(w, 11) == STRATA_INVALID_ARGUMENT);
  CHECK(strata_wal_checkpoint(w, 5) == STRATA_INVALID_ARGUMENT);
  CHECK(strata_wal_truncate_back(w, 5) == STRATA_INVALID_ARGUMENT);
  strata_wal_close(w);
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, NULL);
  CHECK_U64(strata_wal_checkpointed(w), 6);
  strata_wal_close(w);
  /* a damaged CHECKPOINT: refused by absolute, reported and ignored by
   * point-in-time */
  char path[4200];
  snprintf(path, sizeof path, "%s/CHECKPOINT", dir);
  flip_byte(path, 12);
  strata_wal_options o = opts(STRATA_RECOVERY_ABSOLUTE, 4096, NULL);
  CHECK(strata_wal_open(dir, &o, &w) == STRATA_CORRUPTION);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, &ds);
  CHECK(ds.n >= 1);
  CHECK_U64(strata_wal_checkpointed(w), 0);
  CHECK_U64(strata_wal_last_sequence(w), 10);
  strata_wal_close(w);
}

/* ---- torn tail ----------------------------------------------------------- */

/* The teaching code appended after a torn tail: the new batch was lost at
 * the next open and its sequence number given out again. */
TEST(torn_tail_at_every_byte_then_append_then_reopen) {
  strata_recovery policies[] = {STRATA_RECOVERY_TOLERATE_TAIL,
                                STRATA_RECOVERY_POINT_IN_TIME,
                                STRATA_RECOVERY_SKIP};
  const char *dir = test_path("w");
  /* learn where the last record lies */
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 1 << 20, NULL);
  for (uint64_t i = 0; i < 5; i++)
    put(w, i, 40 + i * 7);
  positions *p = where(w);
  uint64_t last_off = p->v[4].offset, last_end = p->v[4].end;
  free(p);
  strata_wal_close(w);
  int cases = 0;
  for (int pi = 0; pi < 3; pi++) {
    for (uint64_t cut = last_off; cut < last_end; cut++) {
      rm_rf(dir);
      w = open_wal(dir, policies[pi], 1 << 20, NULL);
      for (uint64_t i = 0; i < 5; i++)
        put(w, i, 40 + i * 7);
      strata_wal_close(w);
      cut_file(seg_file(dir, 1), cut);
      damages ds = {0};
      w = open_wal(dir, policies[pi], 1 << 20, &ds);
      if (!w) return;
      CHECK_EQ(ds.n, cut == last_off ? 0 : 1);
      CHECK_EQ(ds.nontail, 0);
      CHECK_U64(file_size(seg_file(dir, 1)), last_off); /* the tail is cut */
      CHECK_U64(strata_wal_last_sequence(w), 4);
      uint64_t s1 = put(w, 100, 30), s2 = put(w, 101, 30);
      CHECK_U64(s1, 5);
      CHECK_U64(s2, 6);
      strata_wal_close(w);
      memset(&ds, 0, sizeof ds);
      w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 1 << 20, &ds);
      if (!w) return;
      CHECK_EQ(ds.n, 0);
      ops o = replay(w, 0);
      CHECK_EQ(o.n, 6);
      CHECK(continuous(&o));
      for (uint64_t i = 0; i < 4; i++)
        CHECK(has_put(&o, i + 1, i));
      CHECK(has_put(&o, 5, 100));
      CHECK(has_put(&o, 6, 101));
      free(o.v);
      CHECK_U64(put(w, 102, 5), 7); /* never reused */
      strata_wal_close(w);
      cases++;
    }
  }
  CHECK(cases > 150);
}

/* The teaching code's replay(after_seq) could return a batch whose COMMIT
 * marker never made it to disk. Here a batch is one record: a batch whose
 * record is cut anywhere is never returned, not even in part. */
TEST(replay_never_returns_an_uncommitted_batch) {
  const char *dir = test_path("w");
  for (int cut_at = 1; cut_at < 40; cut_at += 3) {
    rm_rf(dir);
    strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 1 << 20, NULL);
    strata_batch *b = strata_batch_create();
    for (int k = 0; k < 3; k++) {
      strata_batch_clear(b);
      for (int i = 0; i < 3; i++)
        strata_batch_put(b, "key", 3, "value", 5);
      CHECK(strata_wal_append(w, b, NULL) == STRATA_OK);
    }
    strata_batch_destroy(b);
    positions *p = where(w);
    uint64_t off = p->v[2].offset;
    free(p);
    strata_wal_close(w);
    cut_file(seg_file(dir, 1), off + (uint64_t)cut_at);
    w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 1 << 20, NULL);
    if (!w) return;
    ops o = replay(w, 3);
    CHECK_EQ(o.n, 3); /* batch 2 whole (4..6), nothing of batch 3 */
    if (o.n) CHECK_U64(o.v[o.n - 1].seq, 6);
    free(o.v);
    strata_wal_close(w);
  }
}

/* ---- mid-file damage under each policy ----------------------------------- */

static void build_damaged(const char *dir, uint64_t *dmg_seq) {
  rm_rf(dir);
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 8192, NULL);
  o.sync = STRATA_WAL_SYNC_NONE; /* close syncs */
  strata_wal *w = NULL;
  CHECK(strata_wal_open(dir, &o, &w) == STRATA_OK);
  if (!w) return;
  for (uint64_t i = 0; i < 60; i++)
    put(w, i, 300);
  positions *p = where(w);
  /* damage the payload of batch 10 (segment 1) */
  CHECK_U64(p->v[9].seg, 1);
  *dmg_seq = p->v[9].seq;
  uint64_t off = p->v[9].offset + 7 + 20;
  free(p);
  CHECK(wal_segment_count(w) >= 3);
  strata_wal_close(w);
  flip_byte(seg_file(dir, 1), off);
}

TEST(mid_file_damage_absolute_and_tolerate_tail_refuse) {
  const char *dir = test_path("w");
  uint64_t bad;
  build_damaged(dir, &bad);
  strata_recovery pol[] = {STRATA_RECOVERY_ABSOLUTE,
                           STRATA_RECOVERY_TOLERATE_TAIL};
  for (int i = 0; i < 2; i++) {
    damages ds = {0};
    strata_wal_options o = opts(pol[i], 8192, &ds);
    strata_wal *w = NULL;
    CHECK_EQ(strata_wal_open(dir, &o, &w), STRATA_CORRUPTION);
    CHECK(ds.n >= 1);
    CHECK(w == NULL);
  }
}

TEST(mid_file_damage_point_in_time_keeps_prefix_and_never_reuses) {
  const char *dir = test_path("w");
  uint64_t bad;
  build_damaged(dir, &bad);
  damages ds = {0};
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 8192, &ds);
  CHECK(ds.n >= 1);
  ops o = replay(w, 0);
  CHECK_U64(o.n, bad - 1); /* the prefix before the damaged batch */
  CHECK(continuous(&o));
  free(o.v);
  /* next number above every one seen, though 10..60 were dropped */
  uint64_t s = put(w, 500, 20);
  CHECK_U64(s, 61);
  strata_wal_close(w);
  /* the dropped bytes were kept aside */
  char lost[4200];
  snprintf(lost, sizeof lost, "%s/000002-0.lost", dir);
  CHECK(file_size(lost) > 0);
  memset(&ds, 0, sizeof ds);
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 8192, &ds);
  if (!w) return;
  CHECK_EQ(ds.n, 0);
  o = replay(w, 0);
  CHECK_U64(o.n, bad);
  CHECK(has_put(&o, 61, 500));
  free(o.v);
  CHECK_U64(put(w, 501, 20), 62);
  strata_wal_close(w);
}

/* Power fails at every operation of a point-in-time recovery (copying the
 * damaged tail aside, cutting, renaming, bridging): the next recovery still
 * keeps the prefix and never gives out a number it dropped. */
TEST(power_loss_during_point_in_time_recovery) {
  const char *dir = test_path("w");
  uint64_t bad;
  build_damaged(dir, &bad);
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 8192, NULL);
  env *fe = env_fault_create(env_posix());
  strata_wal *w = NULL;
  CHECK(wal_open_env(fe, dir, &o, &w) == STRATA_OK);
  strata_wal_close(w);
  uint64_t total = env_fault_ops(fe);
  env_fault_destroy(fe);
  CHECK(total > 10);
  for (uint64_t n = 1; n <= total; n++) {
    build_damaged(dir, &bad);
    fe = env_fault_create(env_posix());
    env_fault_fail_nth(fe, n, 1);
    w = NULL;
    if (wal_open_env(fe, dir, &o, &w) == STRATA_OK) strata_wal_close(w);
    env_fault_reset(fe);
    CHECK(env_fault_power_loss(fe) == STRATA_OK);
    env_fault_destroy(fe);
    w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 8192, NULL);
    if (!w) return;
    ops r = replay(w, 0);
    CHECK_MSG(r.n == bad - 1, "power loss at op %llu: %zu batches kept",
              (unsigned long long)n, r.n);
    free(r.v);
    uint64_t s = put(w, 999, 10);
    CHECK_MSG(s > 60, "power loss at op %llu: number %llu given again",
              (unsigned long long)n, (unsigned long long)s);
    strata_wal_close(w);
    damages ds = {0};
    w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 8192, &ds);
    if (!w) return;
    CHECK_EQ(ds.n, 0);
    strata_wal_close(w);
  }
}

TEST(point_in_time_never_overwrites_a_lost_file) {
  const char *dir = test_path("w");
  uint64_t bad;
  build_damaged(dir, &bad);
  /* an earlier recovery's file where this one would put segment 2 */
  char lost[4200];
  snprintf(lost, sizeof lost, "%s/000002-0.lost", dir);
  FILE *f = fopen(lost, "wb");
  CHECK(f && fputs("earlier", f) >= 0);
  if (f) fclose(f);
  damages ds = {0};
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 8192, &ds);
  CHECK(ds.n >= 1);
  strata_wal_close(w);
  CHECK_U64(file_size(lost), 7);
  snprintf(lost, sizeof lost, "%s/000002-0.lost.1", dir);
  CHECK(file_size(lost) > 7);
}

TEST(mid_file_damage_skip_drops_only_the_batch) {
  const char *dir = test_path("w");
  uint64_t bad;
  build_damaged(dir, &bad);
  damages ds = {0};
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_SKIP, 8192, &ds);
  CHECK_EQ(ds.n, 1);
  CHECK_EQ(ds.lost_known, 1);
  CHECK_U64(ds.lost_first, bad);
  CHECK_U64(ds.lost_last, bad);
  ops o = replay(w, 0);
  CHECK_EQ(o.n, 59);
  CHECK(find_seq(&o, bad) == NULL);
  CHECK(has_put(&o, 60, 59));
  free(o.v);
  CHECK_U64(put(w, 500, 20), 61);
  strata_wal_close(w);
  memset(&ds, 0, sizeof ds);
  w = open_wal(dir, STRATA_RECOVERY_SKIP, 8192, &ds);
  CHECK_EQ(ds.n, 1); /* the damage is still there, reported again */
  o = replay(w, 0);
  CHECK_EQ(o.n, 60);
  CHECK(has_put(&o, 61, 500));
  free(o.v);
  strata_wal_close(w);
}

/* ---- holes --------------------------------------------------------------- */

TEST(hole_across_segments_is_damage) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, NULL);
  for (uint64_t i = 0; i < 80; i++)
    put(w, i, 200);
  positions *p = where(w);
  uint64_t first2 = 0, last2 = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].seg == 2) {
      if (!first2) first2 = p->v[i].seq;
      last2 = p->v[i].seq;
    }
  free(p);
  CHECK(first2 > 1 && last2 >= first2);
  strata_wal_close(w);
  CHECK(unlink(seg_file(dir, 2)) == 0);

  damages ds = {0};
  strata_wal_options o = opts(STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  CHECK_EQ(strata_wal_open(dir, &o, &w), STRATA_CORRUPTION);
  CHECK_EQ(ds.kinds[STRATA_DAMAGE_SEQUENCE_GAP], 1);
  CHECK_U64(ds.lost_first, first2);
  CHECK_U64(ds.lost_last, last2);

  memset(&ds, 0, sizeof ds);
  w = open_wal(dir, STRATA_RECOVERY_SKIP, 4096, &ds);
  CHECK_EQ(ds.kinds[STRATA_DAMAGE_SEQUENCE_GAP], 1);
  CHECK_U64(ds.lost_first, first2);
  CHECK_U64(ds.lost_last, last2);
  ops r = replay(w, 0);
  CHECK_U64(r.n, 80 - (last2 - first2 + 1));
  free(r.v);
  CHECK_U64(put(w, 900, 10), 81);
  strata_wal_close(w);

  memset(&ds, 0, sizeof ds);
  w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, &ds);
  CHECK(ds.kinds[STRATA_DAMAGE_SEQUENCE_GAP] >= 1);
  r = replay(w, 0);
  CHECK_U64(r.n, first2 - 1);
  CHECK(continuous(&r));
  free(r.v);
  CHECK_U64(put(w, 901, 10), 82);
  strata_wal_close(w);
  memset(&ds, 0, sizeof ds);
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  if (!w) return;
  CHECK_EQ(ds.n, 0);
  r = replay(w, 0);
  CHECK_U64(r.n, first2);
  CHECK(has_put(&r, 82, 901));
  free(r.v);
  strata_wal_close(w);
}

/* ---- truncation ---------------------------------------------------------- */

/* The teaching code restarted sequence numbers after a full truncation. */
TEST(full_truncation_keeps_numbering) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, NULL);
  for (uint64_t i = 0; i < 10; i++)
    put(w, i, 10);
  CHECK(strata_wal_truncate_front(w, 10) == STRATA_OK);
  CHECK_EQ(wal_segment_count(w), 1);
  ops r = replay(w, 0);
  CHECK_EQ(r.n, 0);
  free(r.v);
  strata_wal_close(w);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  CHECK_EQ(ds.n, 0);
  CHECK_U64(strata_wal_last_sequence(w), 10);
  CHECK_U64(put(w, 10, 10), 11);
  strata_wal_close(w);
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  CHECK_EQ(ds.n, 0);
  r = replay(w, 0);
  CHECK_EQ(r.n, 1);
  CHECK(has_put(&r, 11, 10));
  free(r.v);
  strata_wal_close(w);
}

/* The teaching code rewrote whole files to truncate. */
TEST(truncate_front_deletes_whole_segments_only) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 4096, NULL);
  for (uint64_t i = 0; i < 100; i++)
    put(w, i, 150);
  positions *p = where(w);
  uint64_t nseg = wal_segment_count(w);
  CHECK(nseg >= 4);
  /* remember every file's bytes and inode */
  struct stat before[64];
  for (uint64_t s = 1; s <= nseg && s < 64; s++)
    CHECK(stat(seg_file(dir, (int)s), &before[s]) == 0);
  uint64_t mid = 50, first_kept_seg = 0, first_kept_seq = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].seq == mid) first_kept_seg = p->v[i].seg;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].seg == first_kept_seg && !first_kept_seq)
      first_kept_seq = p->v[i].seq;
  free(p);
  CHECK(strata_wal_truncate_front(w, mid) == STRATA_OK);
  for (uint64_t s = 1; s <= nseg && s < 64; s++) {
    struct stat st;
    int exists = stat(seg_file(dir, (int)s), &st) == 0;
    CHECK_EQ(exists, s >= first_kept_seg);
    if (exists) {
      CHECK_U64(st.st_ino, before[s].st_ino);
      CHECK_U64(st.st_size, before[s].st_size);
    }
  }
  ops r = replay(w, 0);
  CHECK_U64(r.v[0].seq, first_kept_seq);
  CHECK_U64(r.n, 100 - first_kept_seq + 1);
  free(r.v);
  strata_wal_close(w);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 4096, &ds);
  CHECK_EQ(ds.n, 0);
  CHECK_U64(put(w, 1, 1), 101);
  strata_wal_close(w);
}

/* A crash inside truncate_front after CHECKPOINT was rewritten but before
 * the files were deleted: open finishes the job, and reports nothing. */
TEST(truncate_front_interrupted_is_finished_at_open) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 2048, NULL);
  for (uint64_t i = 0; i < 60; i++)
    put(w, i, 100);
  CHECK(wal_segment_count(w) >= 4);
  /* keep copies of segments 1 and 2 */
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "cp '%s/000001.log' '%s/000002.log' '%s/..'", dir,
           dir, dir);
  CHECK(system(cmd) == 0);
  positions *p = where(w);
  uint64_t last2 = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].seg == 2) last2 = p->v[i].seq;
  free(p);
  CHECK(strata_wal_truncate_front(w, last2) == STRATA_OK);
  strata_wal_close(w);
  CHECK(file_size(seg_file(dir, 1)) == 0);
  /* put them back, as if the removals had never happened */
  snprintf(cmd, sizeof cmd, "cp '%s/../000001.log' '%s/../000002.log' '%s'",
           dir, dir, dir);
  CHECK(system(cmd) == 0);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 2048, &ds);
  if (!w) return;
  CHECK_EQ(ds.n, 0);
  CHECK(file_size(seg_file(dir, 1)) == 0); /* deleted again */
  CHECK(file_size(seg_file(dir, 2)) == 0);
  ops r = replay(w, 0);
  CHECK(r.n > 0);
  if (r.n) CHECK_U64(r.v[0].seq, last2 + 1);
  CHECK(continuous(&r));
  free(r.v);
  CHECK_U64(put(w, 1, 1), 61);
  strata_wal_close(w);
}

TEST(truncate_back_rolls_back_the_tail) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 2048, NULL);
  for (uint64_t i = 0; i < 40; i++)
    put(w, i, 100);
  size_t before = wal_segment_count(w);
  CHECK(strata_wal_truncate_back(w, 12) == STRATA_OK);
  CHECK(wal_segment_count(w) < before);
  CHECK_U64(strata_wal_last_sequence(w), 12);
  CHECK_U64(put(w, 1000, 10), 13);
  ops r = replay(w, 0);
  CHECK_EQ(r.n, 13);
  free(r.v);
  strata_wal_close(w);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 2048, &ds);
  CHECK_EQ(ds.n, 0);
  r = replay(w, 0);
  CHECK_EQ(r.n, 13);
  CHECK(continuous(&r));
  CHECK(has_put(&r, 12, 11));
  CHECK(has_put(&r, 13, 1000));
  free(r.v);
  /* inside a batch: the whole batch goes */
  strata_batch *b = strata_batch_create();
  for (int i = 0; i < 5; i++)
    strata_batch_put(b, "m", 1, "v", 1);
  uint64_t s;
  CHECK(strata_wal_append(w, b, &s) == STRATA_OK); /* 14..18 */
  strata_batch_destroy(b);
  CHECK(strata_wal_truncate_back(w, 16) == STRATA_OK);
  CHECK_U64(strata_wal_last_sequence(w), 13);
  strata_wal_close(w);
}

/* ---- concurrency --------------------------------------------------------- */

enum { GC_THREADS = 8, GC_PER = 150 };

typedef struct gc_arg {
  strata_wal *w;         /* the shared log */
  int t;                 /* thread number */
  uint64_t seqs[GC_PER]; /* sequence number acknowledged for each batch */
  int failures;          /* appends that failed */
} gc_arg;

static void *gc_thread(void *arg) {
  gc_arg *a = arg;
  for (int i = 0; i < GC_PER; i++) {
    strata_batch *b = strata_batch_create();
    char key[32];
    snprintf(key, sizeof key, "k%d", a->t * 100000 + i);
    strata_batch_put(b, key, strlen(key), "value", 5);
    if (strata_wal_append(a->w, b, &a->seqs[i]) != STRATA_OK) a->failures++;
    strata_batch_destroy(b);
  }
  return NULL;
}

TEST(group_commit_8_threads_every_ack_present) {
  const char *dir = test_path("w");
  strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 16384, NULL);
  static gc_arg args[GC_THREADS];
  pthread_t th[GC_THREADS];
  for (int t = 0; t < GC_THREADS; t++) {
    memset(&args[t], 0, sizeof args[t]);
    args[t].w = w;
    args[t].t = t;
    pthread_create(&th[t], NULL, gc_thread, &args[t]);
  }
  for (int t = 0; t < GC_THREADS; t++)
    pthread_join(th[t], NULL);
  strata_wal_close(w);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 16384, &ds);
  CHECK_EQ(ds.n, 0);
  ops r = replay(w, 0);
  CHECK_EQ(r.n, GC_THREADS * GC_PER);
  CHECK(continuous(&r));
  for (int t = 0; t < GC_THREADS; t++) {
    CHECK_EQ(args[t].failures, 0);
    for (int i = 0; i < GC_PER; i++)
      CHECK(has_put(&r, args[t].seqs[i], (uint64_t)(t * 100000 + i)));
  }
  free(r.v);
  strata_wal_close(w);
}

typedef struct race_arg {
  strata_wal *w;    /* the shared log */
  _Atomic int stop; /* set when the appenders are done */
  _Atomic int bad;  /* a replay saw a partial batch or a gap */
  int replays;      /* replays done */
  int truncs;       /* truncations done */
} race_arg;

/* Each appended batch holds two puts with the same key: a replay must see
 * both or neither. */
static void *race_appender(void *arg) {
  race_arg *a = arg;
  for (int i = 0; i < 400; i++) {
    strata_batch *b = strata_batch_create();
    strata_batch_put(b, "pair", 4, "1", 1);
    strata_batch_put(b, "pair", 4, "2", 1);
    if (strata_wal_append(a->w, b, NULL) != STRATA_OK) a->bad++;
    strata_batch_destroy(b);
  }
  return NULL;
}

static void *race_reader(void *arg) {
  race_arg *a = arg;
  while (!a->stop) {
    ops o;
    memset(&o, 0, sizeof o);
    int rc = strata_wal_replay(a->w, 0, collect_op, &o);
    if (rc != STRATA_OK || o.out_of_order || !continuous(&o)) {
      fprintf(stderr, "replay: rc %d (%s) n %zu order %d\n", rc,
              strata_last_error(), o.n, o.out_of_order);
      a->bad++;
    }
    /* batches start at odd numbers (2 ops each): a pair is never split */
    if (o.n && (o.v[0].seq % 2 != 1 || o.n % 2 != 0)) {
      fprintf(stderr, "replay: first %llu n %zu\n",
              (unsigned long long)o.v[0].seq, o.n);
      a->bad++;
    }
    free(o.v);
    a->replays++;
  }
  return NULL;
}

static void *race_truncator(void *arg) {
  race_arg *a = arg;
  while (!a->stop) {
    uint64_t last = strata_wal_last_sequence(a->w);
    if (last > 100 &&
        strata_wal_truncate_front(a->w, last - 100) != STRATA_OK) {
      fprintf(stderr, "truncate: %s\n", strata_last_error());
      a->bad++;
    }
    a->truncs++;
    usleep(500);
  }
  return NULL;
}

TEST(readers_and_truncation_race_with_appends) {
  const char *dir = test_path("w");
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 2048, NULL);
  o.sync = STRATA_WAL_SYNC_NONE;
  strata_wal *w = NULL;
  CHECK(strata_wal_open(dir, &o, &w) == STRATA_OK);
  race_arg a;
  memset(&a, 0, sizeof a);
  a.w = w;
  pthread_t app[4], rd, tr;
  for (int i = 0; i < 4; i++)
    pthread_create(&app[i], NULL, race_appender, &a);
  pthread_create(&rd, NULL, race_reader, &a);
  pthread_create(&tr, NULL, race_truncator, &a);
  for (int i = 0; i < 4; i++)
    pthread_join(app[i], NULL);
  a.stop = 1;
  pthread_join(rd, NULL);
  pthread_join(tr, NULL);
  CHECK_EQ(a.bad, 0);
  CHECK(a.replays > 0);
  CHECK(a.truncs > 0);
  CHECK_U64(strata_wal_last_sequence(w), 3200);
  strata_wal_close(w);
  damages ds = {0};
  w = open_wal(dir, STRATA_RECOVERY_ABSOLUTE, 2048, &ds);
  CHECK_EQ(ds.n, 0);
  ops r = replay(w, 0);
  CHECK(r.n > 0);
  CHECK(continuous(&r));
  if (r.n) CHECK_U64(r.v[r.n - 1].seq, 3200);
  free(r.v);
  CHECK_U64(put(w, 1, 1), 3201);
  strata_wal_close(w);
}

/* ---- kill -9 ------------------------------------------------------------- */

enum { KILLS = 220 };

static void child_appender(const char *dir, int fd, uint64_t iter) {
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 8192, NULL);
  strata_wal *w = NULL;
  if (strata_wal_open(dir, &o, &w) != STRATA_OK) _exit(3);
  for (uint64_t n = 0;; n++) {
    strata_batch *b = strata_batch_create();
    char key[48];
    snprintf(key, sizeof key, "k%llu",
             (unsigned long long)(iter * 1000000 + n));
    strata_batch_put(b, key, strlen(key), "v", 1);
    uint64_t seq;
    if (strata_wal_append(w, b, &seq) != STRATA_OK) _exit(4);
    strata_batch_destroy(b);
    uint64_t msg[2] = {seq, n};
    if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) _exit(5);
  }
}

TEST(kill9_at_random_moments_loses_no_acknowledged_batch) {
  const char *dir = test_path("w");
  int kills = 0, acked_total = 0, mid_open = 0;
  uint64_t max_acked = 0;
  for (uint64_t iter = 1; iter <= KILLS; iter++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child_appender(dir, fds[1], iter);
    }
    close(fds[1]);
    uint64_t msg[2], seqs[8192];
    size_t n = 0;
    ssize_t got;
    /* odd kills: at a random moment from the start (opening included); even
     * kills: at a random moment after the first acknowledgement, so that
     * however slow the machine, half the kills hit a running appender */
    if (iter % 2 == 0 && read(fds[0], msg, sizeof msg) == (ssize_t)sizeof msg) {
      CHECK_U64(msg[1], 0);
      seqs[n++] = msg[0];
    }
    usleep((useconds_t)(test_rand() % 6000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status), "child exited with %d", WEXITSTATUS(status));
    kills++;
    while ((got = read(fds[0], msg, sizeof msg)) == (ssize_t)sizeof msg)
      if (n < 8192) {
        CHECK_U64(msg[1], n);
        seqs[n++] = msg[0];
      }
    close(fds[0]);
    if (n == 0) mid_open++;
    acked_total += (int)n;
    damages ds = {0};
    strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 8192, &ds);
    if (!w) return;
    CHECK_EQ(ds.nontail, 0);
    CHECK(strata_wal_last_sequence(w) >= max_acked);
    if (n) {
      CHECK(seqs[0] > max_acked);
      ops r = replay(w, seqs[0] - 1);
      CHECK(continuous(&r));
      for (size_t i = 0; i < n; i++)
        CHECK_MSG(has_put(&r, seqs[i], iter * 1000000 + i),
                  "kill %llu: acknowledged batch %zu (seq %llu) missing",
                  (unsigned long long)iter, i, (unsigned long long)seqs[i]);
      free(r.v);
      max_acked = seqs[n - 1];
    }
    if (iter % 40 == 0)
      CHECK(strata_wal_truncate_front(w, strata_wal_last_sequence(w)) ==
            STRATA_OK);
    strata_wal_close(w);
  }
  CHECK_EQ(kills, KILLS);
  /* not vacuous: most kills hit a child that had acknowledged batches */
  CHECK(kills - mid_open >= KILLS / 2);
  fprintf(stderr,
          "kill9: %d kills, %d acknowledged batches checked, %d "
          "kills before the first ack\n",
          kills, acked_total, mid_open);
}

/* ---- power loss ---------------------------------------------------------- */

enum { PL_BATCHES = 24 };

/* The scripted workload: appends with sync always across small segments, a
 * checkpoint, a truncate_front. Records what was acknowledged. Stops at the
 * first failure. */
static void pl_workload(env *e, const char *dir, uint64_t acked[PL_BATCHES],
                        int *nacked, uint64_t *floor) {
  strata_wal_options o = opts(STRATA_RECOVERY_POINT_IN_TIME, 1024, NULL);
  strata_wal *w = NULL;
  *nacked = 0;
  if (wal_open_env(e, dir, &o, &w) != STRATA_OK) return;
  for (int i = 0; i < PL_BATCHES; i++) {
    strata_batch *b = strata_batch_create();
    char key[32], val[200];
    snprintf(key, sizeof key, "k%d", i);
    memset(val, 'a' + i % 26, sizeof val);
    strata_batch_put(b, key, strlen(key), val, sizeof val);
    uint64_t seq;
    int rc = strata_wal_append(w, b, &seq);
    strata_batch_destroy(b);
    if (rc != STRATA_OK) break;
    acked[(*nacked)++] = seq;
    if (i == 10 && strata_wal_checkpoint(w, seq) != STRATA_OK) break;
    if (i == 16) {
      *floor = 8; /* from the call on, numbers <= 8 may go */
      if (strata_wal_truncate_front(w, 8) != STRATA_OK) break;
    }
  }
  strata_wal_close(w);
}

TEST(power_loss_at_every_operation_of_a_workload) {
  const char *dir = test_path("w");
  uint64_t acked[PL_BATCHES];
  int nacked;
  uint64_t floor = 0;
  env *fe = env_fault_create(env_posix());
  pl_workload(fe, dir, acked, &nacked, &floor);
  uint64_t total = env_fault_ops(fe);
  env_fault_destroy(fe);
  CHECK_EQ(nacked, PL_BATCHES);
  CHECK(total > 50);
  int checked = 0;
  for (uint64_t n = 1; n <= total; n++) {
    rm_rf(dir);
    fe = env_fault_create(env_posix());
    env_fault_fail_nth(fe, n, 1);
    floor = 0;
    pl_workload(fe, dir, acked, &nacked, &floor);
    env_fault_reset(fe);
    CHECK(env_fault_power_loss(fe) == STRATA_OK);
    env_fault_destroy(fe);
    damages ds = {0};
    strata_wal *w = open_wal(dir, STRATA_RECOVERY_POINT_IN_TIME, 1024, &ds);
    if (!w) {
      CHECK_MSG(0, "power loss before op %llu: open failed",
                (unsigned long long)n);
      continue;
    }
    CHECK_MSG(ds.nontail == 0, "op %llu: %d non-tail damages",
              (unsigned long long)n, ds.nontail);
    ops r = replay(w, 0);
    CHECK(continuous(&r));
    for (int i = 0; i < nacked; i++)
      if (acked[i] > floor)
        CHECK_MSG(has_put(&r, acked[i], (uint64_t)i),
                  "power loss before op %llu: acknowledged seq %llu lost",
                  (unsigned long long)n, (unsigned long long)acked[i]);
    if (nacked) CHECK(strata_wal_last_sequence(w) >= acked[nacked - 1]);
    free(r.v);
    /* appending after recovery never reuses a number */
    uint64_t s = put(w, 7777, 5);
    if (nacked) CHECK(s > acked[nacked - 1]);
    strata_wal_close(w);
    checked++;
  }
  fprintf(stderr, "power loss: %d points checked\n", checked);
}
