/*
 * compaction_test.c — the compaction planners on scripted level shapes
 * (leveled: level-0 trigger, level size budgets, round robin, boundary
 * files, overlap with the next level; size-tiered: size ratio, space
 * amplification, run count, output level placement), and the runner on real
 * tables: newest version wins, tombstones dropped only where nothing older
 * can hold the key, snapshots keep versions, outputs split, damage in an
 * input under each policy, and a power loss after every operation of a
 * compaction: once inputs are reported deletable the outputs survive.
 */
#include <stdlib.h>

#include "env/env_fault.h"
#include "sstable/compaction.h"
#include "sstable/table_builder.h"
#include "sstable/table_reader.h"
#include "test.h"

/* ---- scripted shapes ---------------------------------------------------- */

typedef struct shape {
  sst_file files[SST_LEVELS][32];  /* files per level */
  sst_buf keys[SST_LEVELS][32][2]; /* their smallest/largest keys */
  sst_version v;                   /* the view the planners take */
} shape;

/* Adds a file [lo, hi] (user keys, sequence seq) of `mib` MiB to level l. */
static void add_file(shape *s, int l, uint64_t number, const char *lo,
                     const char *hi, uint64_t seq, double mib) {
  size_t i = s->v.n[l]++;
  sst_file *f = &s->files[l][i];
  sst_buf *k = s->keys[l][i];
  ikey_append(&k[0], lo, strlen(lo), seq, IKEY_VALUE);
  ikey_append(&k[1], hi, strlen(hi), seq, IKEY_VALUE);
  f->number = number;
  f->size = (uint64_t)(mib * 1048576);
  f->smallest = k[0].data;
  f->smallest_len = k[0].len;
  f->largest = k[1].data;
  f->largest_len = k[1].len;
  s->v.files[l] = s->files[l];
}

static void free_shape(shape *s) {
  for (int l = 0; l < SST_LEVELS; l++)
    for (int i = 0; i < 32; i++) {
      sst_buf_free(&s->keys[l][i][0]);
      sst_buf_free(&s->keys[l][i][1]);
    }
  free(s);
}

static int has(const sst_plan *p, int l, size_t idx) {
  for (size_t i = 0; i < p->ninputs[l]; i++)
    if (p->inputs[l][i] == idx) return 1;
  return 0;
}

TEST(leveled_level0_trigger) {
  shape *s = calloc(1, sizeof *s);
  sst_leveled_opts o;
  sst_leveled_defaults(&o);
  add_file(s, 0, 10, "a", "f", 10, 1);
  add_file(s, 0, 11, "m", "p", 11, 1);
  add_file(s, 0, 12, "e", "h", 12, 1);
  add_file(s, 1, 5, "a", "c", 5, 1);
  add_file(s, 1, 6, "d", "g", 6, 1);
  add_file(s, 1, 7, "i", "k", 7, 1);
  add_file(s, 1, 8, "n", "z", 8, 1);
  sst_plan p;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, -1); /* 3 files: under the trigger */
  add_file(s, 0, 13, "x", "y", 13, 1);
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 0);
  CHECK_EQ(p.output_level, 1);
  CHECK_STR(p.reason, "level0-files");
  /* Picks file 0 [a,f], grows to [e,h] (overlaps), so [a,h]; m-p, x-y stay.
   * Level 1: [a,c] and [d,g] overlap [a,h]; [i,k] and [n,z] do not. */
  CHECK_EQ(p.ninputs[0], 2);
  CHECK(has(&p, 0, 0) && has(&p, 0, 2));
  CHECK_EQ(p.ninputs[1], 2);
  CHECK(has(&p, 1, 0) && has(&p, 1, 1));
  CHECK_U64(p.max_output_size, 2u << 20);
  CHECK_U64(p.max_grandparent, 20u << 20);
  sst_plan_free(&p);
  free_shape(s);
}

TEST(leveled_size_budgets_and_round_robin) {
  shape *s = calloc(1, sizeof *s);
  sst_leveled_opts o;
  sst_leveled_defaults(&o);
  /* Level 1: 9 MiB (score 0.9). Level 2: 120 MiB of 100 (score 1.2). */
  add_file(s, 1, 1, "a", "c", 1, 4.5);
  add_file(s, 1, 2, "d", "f", 1, 4.5);
  add_file(s, 2, 3, "a", "b", 1, 40);
  add_file(s, 2, 4, "c", "e", 1, 40);
  add_file(s, 2, 5, "g", "k", 1, 40);
  add_file(s, 3, 6, "a", "d", 1, 10);
  add_file(s, 3, 7, "h", "z", 1, 10);
  sst_plan p;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 2);
  CHECK_STR(p.reason, "level-size");
  CHECK(p.score > 1.19 && p.score < 1.21);
  CHECK_EQ(p.ninputs[2], 1);
  CHECK(has(&p, 2, 0));
  CHECK_EQ(p.ninputs[3], 1);
  CHECK(has(&p, 3, 0));
  sst_plan_free(&p);
  /* Round robin: after [c,e] the next pick is [g,k], then wrap to [a,b]. */
  const sst_file *cursor[SST_LEVELS] = {0};
  cursor[2] = &s->files[2][1];
  CHECK_EQ(sst_plan_leveled(&s->v, &o, cursor, &p), STRATA_OK);
  CHECK(has(&p, 2, 2) && p.ninputs[2] == 1);
  CHECK(has(&p, 3, 1) && p.ninputs[3] == 1);
  sst_plan_free(&p);
  cursor[2] = &s->files[2][2];
  CHECK_EQ(sst_plan_leveled(&s->v, &o, cursor, &p), STRATA_OK);
  CHECK(has(&p, 2, 0) && p.ninputs[2] == 1);
  sst_plan_free(&p);
  /* Level 1 over 10 MiB wins when its score is higher. */
  add_file(s, 1, 8, "g", "h", 1, 4);
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 1);
  sst_plan_free(&p);
  free_shape(s);
}

TEST(leveled_boundary_files) {
  shape *s = calloc(1, sizeof *s);
  sst_leveled_opts o;
  sst_leveled_defaults(&o);
  /* Two level-1 files split inside user key "m": [a, m@9] and [m@5, z]. */
  add_file(s, 1, 1, "a", "m", 9, 6);
  add_file(s, 1, 2, "m", "z", 5, 6);
  sst_plan p;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 1);
  CHECK_EQ(p.ninputs[1], 2); /* the older "m" must come along */
  sst_plan_free(&p);
  free_shape(s);
}

TEST(tiered_size_ratio_and_placement) {
  shape *s = calloc(1, sizeof *s);
  sst_tiered_opts o;
  sst_tiered_defaults(&o);
  add_file(s, 0, 20, "a", "z", 20, 1);
  add_file(s, 0, 21, "a", "z", 21, 1);
  add_file(s, 0, 22, "a", "z", 22, 1);
  sst_plan p;
  CHECK_EQ(sst_plan_tiered(&s->v, &o, &p), STRATA_OK);
  CHECK_EQ(p.level, -1); /* 3 runs, trigger 4 */
  add_file(s, 6, 5, "a", "z", 5, 100);
  CHECK_EQ(sst_plan_tiered(&s->v, &o, &p), STRATA_OK);
  /* Runs 1,1,1 MiB (newest) then 100: the three similar runs merge and go
   * to level 5, just above the older run. */
  CHECK_EQ(p.level, 0);
  CHECK_EQ(p.output_level, 5);
  CHECK_STR(p.reason, "size-ratio");
  CHECK_EQ(p.ninputs[0], 3);
  CHECK_EQ(p.ninputs[6], 0);
  sst_plan_free(&p);
  free_shape(s);
  /* Space amplification: newer runs 3x the oldest: everything merges into
   * the bottom level. */
  s = calloc(1, sizeof *s);
  add_file(s, 0, 30, "a", "z", 30, 10);
  add_file(s, 2, 10, "a", "z", 10, 20);
  add_file(s, 4, 8, "a", "z", 8, 40);
  add_file(s, 6, 7, "a", "z", 7, 30);
  CHECK_EQ(sst_plan_tiered(&s->v, &o, &p), STRATA_OK);
  CHECK_STR(p.reason, "space-amp");
  CHECK_EQ(p.output_level, 6);
  CHECK(p.ninputs[0] == 1 && p.ninputs[2] == 1 && p.ninputs[4] == 1 &&
        p.ninputs[6] == 1);
  sst_plan_free(&p);
  free_shape(s);
  /* No similar neighbours, 4 runs of growing size, no space-amp: the newest
   * runs merge to get under the trigger, placed above the next run. */
  s = calloc(1, sizeof *s);
  add_file(s, 0, 30, "a", "z", 30, 1);
  add_file(s, 2, 10, "a", "z", 10, 5);
  add_file(s, 4, 8, "a", "z", 8, 25);
  add_file(s, 6, 7, "a", "z", 7, 200);
  CHECK_EQ(sst_plan_tiered(&s->v, &o, &p), STRATA_OK);
  CHECK_STR(p.reason, "run-count");
  CHECK(p.ninputs[0] == 1 && p.ninputs[2] == 1 && p.ninputs[4] == 0);
  CHECK_EQ(p.output_level, 3);
  sst_plan_free(&p);
  free_shape(s);
}

/* ---- running compactions on real tables ---------------------------------- */

static uint64_t next_number = 100;
static uint64_t new_number(void *arg) {
  (void)arg;
  return next_number++;
}

typedef struct entry {
  const char *user; /* user key */
  uint64_t seq;     /* sequence */
  int type;         /* IKEY_VALUE or IKEY_DELETION */
  const char *val;  /* value */
} entry;

static int entry_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcmp(x->user, y->user);
  if (c) return c;
  return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Writes DIR/number.ldb from entries (sorted here) and describes it. */
static void make_table(env *e, const char *dir, shape *s, int level,
                       uint64_t number, entry *es, size_t n) {
  qsort(es, n, sizeof *es, entry_cmp);
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  o.block_size = 256;
  char name[512];
  sst_table_file_name(name, sizeof name, dir, number);
  sst_builder *b;
  CHECK_EQ(sst_builder_open(e, name, &o, &b), STRATA_OK);
  sst_buf k = {0};
  for (size_t i = 0; i < n; i++) {
    k.len = 0;
    ikey_append(&k, es[i].user, strlen(es[i].user), es[i].seq, es[i].type);
    CHECK_EQ(sst_builder_add(b, k.data, k.len, es[i].val, strlen(es[i].val)),
             STRATA_OK);
  }
  uint64_t size;
  CHECK_EQ(sst_builder_finish(b, &size), STRATA_OK);
  sst_buf_free(&k);
  size_t i = s->v.n[level]++;
  sst_buf *kb = s->keys[level][i];
  ikey_append(&kb[0], es[0].user, strlen(es[0].user), es[0].seq, es[0].type);
  ikey_append(&kb[1], es[n - 1].user, strlen(es[n - 1].user), es[n - 1].seq,
              es[n - 1].type);
  sst_file *f = &s->files[level][i];
  f->number = number;
  f->size = size;
  f->smallest = kb[0].data;
  f->smallest_len = kb[0].len;
  f->largest = kb[1].data;
  f->largest_len = kb[1].len;
  s->v.files[level] = s->files[level];
}

/* All entries of the outputs, as "user@seq:type=value" lines. */
static char *read_outputs(env *e, const char *dir,
                          const sst_compaction_result *r) {
  sst_buf out = {0};
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  for (size_t i = 0; i < r->noutputs; i++) {
    char name[512];
    sst_table_file_name(name, sizeof name, dir, r->outputs[i].number);
    sst_table *t;
    if (sst_table_open(e, name, &o, NULL, NULL, &t) != STRATA_OK) {
      sst_buf_add(&out, "<missing>\n", 10);
      continue;
    }
    sst_iter *it = sst_table_iter(t);
    for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
      size_t kn, vn, un;
      const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
      uint64_t seq;
      int type;
      ikey_parse(k, kn, &un, &seq, &type);
      char line[128];
      int n = snprintf(line, sizeof line, "%.*s@%llu:%d=%.*s\n", (int)un, k,
                       (unsigned long long)seq, type, (int)vn, v);
      sst_buf_add(&out, line, (size_t)n);
    }
    CHECK_EQ(sst_iter_status(it), STRATA_OK);
    sst_iter_destroy(it);
    sst_table_close(t);
  }
  sst_buf_add(&out, "", 1);
  return (char *)out.data;
}

/* Level 0: two overlapping files; level 1: one file; level 2: one file
 * holding "d" (so d's tombstone must stay). */
static void build_tree(env *e, const char *dir, shape *s) {
  entry l0a[] = {{"a", 50, IKEY_VALUE, "a50"},
                 {"b", 51, IKEY_DELETION, ""},
                 {"d", 52, IKEY_DELETION, ""},
                 {"e", 53, IKEY_VALUE, "e53"}};
  entry l0b[] = {{"a", 40, IKEY_VALUE, "a40"},
                 {"c", 41, IKEY_VALUE, "c41"},
                 {"e", 42, IKEY_DELETION, ""}};
  entry l1[] = {{"a", 10, IKEY_VALUE, "a10"},
                {"b", 11, IKEY_VALUE, "b11"},
                {"c", 12, IKEY_VALUE, "c12"},
                {"f", 13, IKEY_VALUE, "f13"}};
  entry l2[] = {{"d", 1, IKEY_VALUE, "d1"}, {"x", 2, IKEY_VALUE, "x2"}};
  make_table(e, dir, s, 0, 11, l0b, 3);
  make_table(e, dir, s, 0, 12, l0a, 4);
  make_table(e, dir, s, 1, 5, l1, 4);
  make_table(e, dir, s, 2, 3, l2, 2);
}

static sst_plan plan_l0(const shape *s) {
  sst_plan p;
  memset(&p, 0, sizeof p);
  p.level = 0;
  p.output_level = 1;
  p.inputs[0] = malloc(2 * sizeof(size_t));
  p.inputs[0][0] = 0;
  p.inputs[0][1] = 1;
  p.ninputs[0] = 2;
  p.inputs[1] = malloc(sizeof(size_t));
  p.inputs[1][0] = 0;
  p.ninputs[1] = 1;
  (void)s;
  return p;
}

TEST(compaction_run_newest_wins_tombstones) {
  env *e = env_posix();
  const char *dir = test_tmpdir();
  shape *s = calloc(1, sizeof *s);
  build_tree(e, dir, s);
  sst_plan p = plan_l0(s);
  sst_compaction_env ce = {0};
  ce.e = e;
  ce.dir = dir;
  strata_table_options_init(&ce.table);
  ce.smallest_snapshot = 1000;
  ce.new_number = new_number;
  sst_compaction_result r;
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_OK);
  CHECK_EQ(r.inputs_deletable, 1);
  char *got = read_outputs(e, dir, &r);
  /* b's tombstone and everything it hides go (nothing below holds b); d's
   * tombstone stays (level 2 holds d@1); e's newest is a value. */
  CHECK_STR(got, "a@50:1=a50\nc@41:1=c41\nd@52:0=\ne@53:1=e53\nf@13:1=f13\n");
  CHECK_U64(r.entries_in, 11);
  CHECK_U64(r.entries_out, 5);
  CHECK_U64(r.dropped, 6);
  free(got);
  sst_compaction_result_free(&r);
  /* A snapshot at 45 keeps what it can see: a@40, c@41, e@42's tombstone,
   * and b11/c12 hidden only by newer-than-snapshot entries. */
  ce.smallest_snapshot = 45;
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_OK);
  got = read_outputs(e, dir, &r);
  CHECK_STR(got, "a@50:1=a50\na@40:1=a40\nb@51:0=\nb@11:1=b11\nc@41:1=c41\n"
                 "d@52:0=\ne@53:1=e53\ne@42:0=\nf@13:1=f13\n");
  free(got);
  sst_compaction_result_free(&r);
  sst_plan_free(&p);
  free_shape(s);
}

TEST(compaction_run_splits_outputs) {
  env *e = env_posix();
  const char *dir = test_tmpdir();
  shape *s = calloc(1, sizeof *s);
  entry es[400];
  char keys[400][8], vals[400][64];
  for (int i = 0; i < 400; i++) {
    snprintf(keys[i], 8, "k%04d", i);
    memset(vals[i], 'v', 60);
    vals[i][60] = 0;
    es[i] = (entry){keys[i], (uint64_t)i + 1, IKEY_VALUE, vals[i]};
  }
  make_table(e, dir, s, 0, 20, es, 200);
  make_table(e, dir, s, 0, 21, es + 200, 200);
  sst_plan p = plan_l0(s);
  p.ninputs[1] = 0;
  p.max_output_size = 4096;
  sst_compaction_env ce = {0};
  ce.e = e;
  ce.dir = dir;
  strata_table_options_init(&ce.table);
  ce.new_number = new_number;
  sst_compaction_result r;
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_OK);
  CHECK(r.noutputs >= 4);
  for (size_t i = 0; i + 1 < r.noutputs; i++)
    CHECK(ikey_compare(SST_CMP_INTERNAL, r.outputs[i].largest,
                       r.outputs[i].largest_len, r.outputs[i + 1].smallest,
                       r.outputs[i + 1].smallest_len) < 0);
  CHECK_U64(r.entries_out, 400);
  sst_compaction_result_free(&r);
  sst_plan_free(&p);
  free_shape(s);
}

TEST(compaction_run_damaged_input) {
  env *e = env_posix();
  const char *dir = test_tmpdir();
  shape *s = calloc(1, sizeof *s);
  build_tree(e, dir, s);
  /* Flip a byte in the first data block of the level-1 file. */
  char name[512];
  sst_table_file_name(name, sizeof name, dir, 5);
  FILE *f = fopen(name, "r+b");
  fseek(f, 3, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 3, SEEK_SET);
  fputc(c ^ 1, f);
  fclose(f);
  sst_plan p = plan_l0(s);
  sst_compaction_env ce = {0};
  ce.e = e;
  ce.dir = dir;
  strata_table_options_init(&ce.table);
  ce.new_number = new_number;
  sst_compaction_result r;
  uint64_t before = next_number;
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_CORRUPTION);
  CHECK_EQ(r.inputs_deletable, 0);
  CHECK_EQ(r.noutputs, 0);
  for (uint64_t n = before; n < next_number; n++) { /* outputs removed */
    sst_table_file_name(name, sizeof name, dir, n);
    CHECK(!env_exists(e, name));
  }
  ce.table.policy = STRATA_RECOVERY_SKIP;
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_OK);
  CHECK_EQ(r.inputs_deletable, 1);
  sst_compaction_result_free(&r);
  sst_plan_free(&p);
  free_shape(s);
}

/* Fail every operation of a compaction in turn, then lose power: whenever
 * the run reported its inputs deletable, every output is intact. */
TEST(compaction_power_loss_at_every_step) {
  env *fe = env_fault_create(env_posix());
  const char *dir = test_tmpdir();
  shape *s = calloc(1, sizeof *s);
  build_tree(env_posix(), dir, s);
  sst_plan p = plan_l0(s);
  sst_compaction_env ce = {0};
  ce.e = fe;
  ce.dir = dir;
  strata_table_options_init(&ce.table);
  ce.new_number = new_number;
  ce.smallest_snapshot = 1000;
  sst_compaction_result r;
  uint64_t start = env_fault_ops(fe);
  CHECK_EQ(sst_compaction_run(&ce, &s->v, &p, &r), STRATA_OK);
  uint64_t ops = env_fault_ops(fe) - start;
  char *want = read_outputs(env_posix(), dir, &r);
  sst_compaction_result_free(&r);
  int successes = 0;
  for (uint64_t n = 1; n <= ops + 1; n++) {
    env_fault_reset(fe);
    env_fault_fail_nth(fe, n, 1);
    int rc = sst_compaction_run(&ce, &s->v, &p, &r);
    env_fault_reset(fe);
    CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
    if (rc == STRATA_OK) {
      CHECK_EQ(r.inputs_deletable, 1);
      char *got = read_outputs(env_posix(), dir, &r);
      CHECK_STR(got, want);
      free(got);
      successes++;
    } else {
      CHECK_EQ(r.inputs_deletable, 0);
    }
    sst_compaction_result_free(&r);
  }
  /* The run with no fault in range, and the three whose fault hit the close
   * of an input opened for reading (harmless, and ignored). */
  CHECK_EQ(successes, 4);
  free(want);
  sst_plan_free(&p);
  free_shape(s);
  env_fault_destroy(fe);
}

/* LevelDB's expansion: more level-L files join when they fit in the range
 * without pulling in more level-L+1 files, and only under 25 x target. */
TEST(leveled_expansion) {
  shape *s = calloc(1, sizeof *s);
  sst_leveled_opts o;
  sst_leveled_defaults(&o);
  add_file(s, 1, 1, "a", "b", 1, 1);
  add_file(s, 1, 2, "c", "d", 1, 1);
  add_file(s, 1, 3, "x", "y", 1, 10);
  add_file(s, 2, 4, "a", "d", 1, 1);
  add_file(s, 2, 5, "e", "z", 1, 1);
  sst_plan p;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 1);
  CHECK_EQ(p.ninputs[1], 2); /* [a,b] expanded with [c,d] */
  CHECK(has(&p, 1, 0) && has(&p, 1, 1));
  CHECK_EQ(p.ninputs[2], 1);
  sst_plan_free(&p);
  /* With a tiny target the same expansion is too big and is not made. */
  o.target_file_size = 64 << 10;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.ninputs[1], 1);
  sst_plan_free(&p);
  free_shape(s);
}

/* A lone file with nothing below it to merge with is a trivial move, unless
 * it overlaps too much of the grandparent level. */
TEST(leveled_trivial_move) {
  shape *s = calloc(1, sizeof *s);
  sst_leveled_opts o;
  sst_leveled_defaults(&o);
  add_file(s, 1, 1, "a", "c", 1, 11);
  add_file(s, 2, 2, "x", "z", 1, 1);
  add_file(s, 3, 3, "a", "b", 1, 5);
  sst_plan p;
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.level, 1);
  CHECK_EQ(p.ninputs[2], 0);
  CHECK_EQ(p.trivial_move, 1);
  sst_plan_free(&p);
  add_file(s, 3, 4, "b", "c", 1, 30); /* 35 MiB of grandparents > 20 */
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.trivial_move, 0);
  sst_plan_free(&p);
  add_file(s, 2, 5, "b", "b", 1, 1); /* now something to merge with */
  CHECK_EQ(sst_plan_leveled(&s->v, &o, NULL, &p), STRATA_OK);
  CHECK_EQ(p.trivial_move, 0);
  CHECK_EQ(p.ninputs[2], 1);
  sst_plan_free(&p);
  free_shape(s);
}
