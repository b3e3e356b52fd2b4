/*
 * compaction.c — leveled and size-tiered compaction planners and the
 * compaction runner (contracts in compaction.h). The planners read no files.
 * The runner reads its inputs through the table reader (so damage in an
 * input follows the table options' policy: under skip a damaged block is
 * reported and its entries are missing from the output; otherwise the
 * compaction fails and nothing is deleted) and writes LevelDB tables.
 *
 * Durability order (the invariant that makes a crash at any point safe):
 * every output is written and fsynced, then the directory is fsynced, and
 * only then are the inputs reported deletable. The caller records the new
 * version (MANIFEST) before deleting anything.
 */
#include "sstable/compaction.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/merge.h"
#include "sstable/table_builder.h"
#include "sstable/table_reader.h"
#include "util/status.h"

void sst_leveled_defaults(sst_leveled_opts *o) {
  o->l0_trigger = 4;
  o->l1_bytes = 10ull << 20;
  o->target_file_size = 2ull << 20;
  o->max_grandparent = 10 * o->target_file_size;
}

void sst_tiered_defaults(sst_tiered_opts *o) {
  o->trigger = 4;
  o->min_merge = 2;
  o->size_ratio_pct = 1;
  o->max_space_amp_pct = 200;
  o->target_file_size = 0;
}

void sst_table_file_name(char *buf, size_t n, const char *dir,
                         uint64_t number) {
  snprintf(buf, n, "%s/%06llu.ldb", dir, (unsigned long long)number);
}

void sst_plan_free(sst_plan *p) {
  for (int l = 0; l < SST_LEVELS; l++) {
    free(p->inputs[l]);
    p->inputs[l] = NULL;
    p->ninputs[l] = 0;
  }
}

static void plan_init(sst_plan *p) {
  memset(p, 0, sizeof *p);
  p->level = -1;
}

static int add_input(sst_plan *p, int level, size_t idx) {
  for (size_t i = 0; i < p->ninputs[level]; i++)
    if (p->inputs[level][i] == idx) return 0;
  size_t *v = realloc(p->inputs[level], (p->ninputs[level] + 1) * sizeof *v);
  if (!v) return -1;
  v[p->ninputs[level]++] = idx;
  p->inputs[level] = v;
  return 0;
}

static int user_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return ikey_bytewise(a, ikey_filter_len(SST_CMP_INTERNAL, an), b,
                       ikey_filter_len(SST_CMP_INTERNAL, bn));
}

/* Does file f's user-key range intersect [lo, hi] (user keys of internal
 * keys)? */
static int overlaps(const sst_file *f, const uint8_t *lo, size_t lon,
                    const uint8_t *hi, size_t hin) {
  return user_cmp(f->largest, f->largest_len, lo, lon) >= 0 &&
         user_cmp(f->smallest, f->smallest_len, hi, hin) <= 0;
}

/* The user-key range of the plan's inputs at `level`. */
static void range_of(const sst_version *v, const sst_plan *p, int level,
                     const sst_file **lo, const sst_file **hi) {
  *lo = *hi = NULL;
  for (size_t i = 0; i < p->ninputs[level]; i++) {
    const sst_file *f = &v->files[level][p->inputs[level][i]];
    if (!*lo || user_cmp(f->smallest, f->smallest_len, (*lo)->smallest,
                         (*lo)->smallest_len) < 0)
      *lo = f;
    if (!*hi || user_cmp(f->largest, f->largest_len, (*hi)->largest,
                         (*hi)->largest_len) > 0)
      *hi = f;
  }
}

static uint64_t level_bytes(const sst_version *v, int l) {
  uint64_t s = 0;
  for (size_t i = 0; i < v->n[l]; i++)
    s += v->files[l][i].size;
  return s;
}

/* Indices of the files of `level` overlapping the user-key range [lo, hi]
 * (for level 0, growing the range until stable, as the level-0 pick does),
 * added to q->inputs[level]. -1 when out of memory. */
static int overlapping(const sst_version *v, int level, const sst_file *lo,
                       const sst_file *hi, sst_plan *q) {
  const uint8_t *a = lo->smallest, *b = hi->largest;
  size_t an = lo->smallest_len, bn = hi->largest_len;
  size_t before;
  do {
    before = q->ninputs[level];
    for (size_t i = 0; i < v->n[level]; i++) {
      const sst_file *f = &v->files[level][i];
      if (!overlaps(f, a, an, b, bn)) continue;
      if (add_input(q, level, i)) return -1;
      if (level == 0 && user_cmp(f->smallest, f->smallest_len, a, an) < 0) {
        a = f->smallest;
        an = f->smallest_len;
      }
      if (level == 0 && user_cmp(f->largest, f->largest_len, b, bn) > 0) {
        b = f->largest;
        bn = f->largest_len;
      }
    }
  } while (level == 0 && q->ninputs[level] != before);
  return 0;
}

static uint64_t inputs_bytes(const sst_version *v, const sst_plan *p, int l) {
  uint64_t s = 0;
  for (size_t i = 0; i < p->ninputs[l]; i++)
    s += v->files[l][p->inputs[l][i]].size;
  return s;
}

/* LevelDB's expansion: take more files of `level` if they fit in the key
 * range of both input levels without adding files of level+1, while the
 * compaction stays under 25 target files' worth of bytes. */
static int expand(const sst_version *v, const sst_leveled_opts *o, int level,
                  sst_plan *p) {
  if (p->ninputs[level + 1] == 0) return 0;
  const sst_file *lo0, *hi0, *lo1, *hi1;
  range_of(v, p, level, &lo0, &hi0);
  range_of(v, p, level + 1, &lo1, &hi1);
  const sst_file *lo = user_cmp(lo1->smallest, lo1->smallest_len, lo0->smallest,
                                lo0->smallest_len) < 0
                           ? lo1
                           : lo0;
  const sst_file *hi = user_cmp(hi1->largest, hi1->largest_len, hi0->largest,
                                hi0->largest_len) > 0
                           ? hi1
                           : hi0;
  sst_plan q;
  plan_init(&q);
  int rc = 0;
  if (overlapping(v, level, lo, hi, &q)) {
    rc = -1;
  } else if (q.ninputs[level] > p->ninputs[level] &&
             inputs_bytes(v, &q, level) + inputs_bytes(v, p, level + 1) <
                 25 * o->target_file_size) {
    const sst_file *elo, *ehi;
    range_of(v, &q, level, &elo, &ehi);
    if (overlapping(v, level + 1, elo, ehi, &q)) {
      rc = -1;
    } else if (q.ninputs[level + 1] == p->ninputs[level + 1]) {
      free(p->inputs[level]); /* adopt the larger set */
      p->inputs[level] = q.inputs[level];
      p->ninputs[level] = q.ninputs[level];
      q.inputs[level] = NULL;
      q.ninputs[level] = 0;
    }
  }
  sst_plan_free(&q);
  return rc;
}

int sst_plan_leveled(const sst_version *v, const sst_leveled_opts *o,
                     const sst_file *const *cursor, sst_plan *p) {
  plan_init(p);
  double best = 0;
  int level = -1;
  uint64_t max_bytes = o->l1_bytes;
  for (int l = 0; l < SST_LEVELS - 1; l++) {
    double score;
    if (l == 0) {
      score = (double)v->n[0] / (double)(o->l0_trigger > 0 ? o->l0_trigger : 4);
    } else {
      score = (double)level_bytes(v, l) / (double)max_bytes;
      max_bytes *= 10;
    }
    if (score > best) {
      best = score;
      level = l;
    }
  }
  if (level < 0 || best < 1) return STRATA_OK;
  /* The first file after the level's cursor (round robin), else the first. */
  size_t pick = 0;
  const sst_file *cur = cursor ? cursor[level] : NULL;
  if (cur) {
    for (pick = 0; pick < v->n[level]; pick++) {
      const sst_file *f = &v->files[level][pick];
      if (ikey_compare(SST_CMP_INTERNAL, f->largest, f->largest_len,
                       cur->largest, cur->largest_len) > 0)
        break;
    }
    if (pick == v->n[level]) pick = 0;
  }
  if (add_input(p, level, pick)) goto oom;
  const sst_file *lo, *hi;
  if (level == 0) {
    /* Every level-0 file overlapping the range, growing it until stable. */
    size_t before;
    do {
      before = p->ninputs[0];
      range_of(v, p, 0, &lo, &hi);
      for (size_t i = 0; i < v->n[0]; i++)
        if (overlaps(&v->files[0][i], lo->smallest, lo->smallest_len,
                     hi->largest, hi->largest_len) &&
            add_input(p, 0, i))
          goto oom;
    } while (p->ninputs[0] != before);
  } else {
    /* Boundary files: a neighbour whose smallest user key equals the
     * inputs' largest must come along, or an older version would be left
     * above a newer one. */
    for (;;) {
      range_of(v, p, level, &lo, &hi);
      size_t added = 0;
      for (size_t i = 0; i < v->n[level]; i++) {
        const sst_file *f = &v->files[level][i];
        if (user_cmp(f->smallest, f->smallest_len, hi->largest,
                     hi->largest_len) == 0 &&
            ikey_compare(SST_CMP_INTERNAL, f->smallest, f->smallest_len,
                         hi->largest, hi->largest_len) > 0) {
          size_t had = p->ninputs[level];
          if (add_input(p, level, i)) goto oom;
          added += p->ninputs[level] - had;
        }
      }
      if (!added) break;
    }
  }
  range_of(v, p, level, &lo, &hi);
  for (size_t i = 0; i < v->n[level + 1]; i++)
    if (overlaps(&v->files[level + 1][i], lo->smallest, lo->smallest_len,
                 hi->largest, hi->largest_len) &&
        add_input(p, level + 1, i))
      goto oom;
  if (expand(v, o, level, p)) goto oom;
  p->level = level;
  p->output_level = level + 1;
  p->max_output_size = o->target_file_size;
  p->max_grandparent = o->max_grandparent;
  if (p->ninputs[level] == 1 && p->ninputs[level + 1] == 0) {
    uint64_t gp = 0; /* grandparent bytes the moved file overlaps */
    const sst_file *f = &v->files[level][p->inputs[level][0]];
    if (level + 2 < SST_LEVELS)
      for (size_t i = 0; i < v->n[level + 2]; i++)
        if (overlaps(&v->files[level + 2][i], f->smallest, f->smallest_len,
                     f->largest, f->largest_len))
          gp += v->files[level + 2][i].size;
    p->trivial_move = gp <= o->max_grandparent;
  }
  p->score = best;
  p->reason = level == 0 ? "level0-files" : "level-size";
  return STRATA_OK;
oom:
  sst_plan_free(p);
  p->level = -1;
  return st_error(STRATA_NO_MEMORY, "out of memory");
}

/* ---- size-tiered -------------------------------------------------------- */

typedef struct run {
  int level;      /* its level */
  size_t file;    /* level 0: the file index; else unused */
  uint64_t bytes; /* its size */
} run;

static int by_number_desc(const void *a, const void *b, const sst_file *f) {
  const size_t *x = a, *y = b;
  return f[*x].number < f[*y].number ? 1 : f[*x].number > f[*y].number ? -1 : 0;
}

int sst_plan_tiered(const sst_version *v, const sst_tiered_opts *o,
                    sst_plan *p) {
  plan_init(p);
  run runs[64 + SST_LEVELS];
  size_t nr = 0;
  /* Level-0 files newest first (insertion sort by number: few files). */
  size_t order[64];
  size_t n0 = v->n[0] < 64 ? v->n[0] : 64;
  for (size_t i = 0; i < n0; i++) {
    size_t j = i;
    order[i] = i;
    while (j > 0 && by_number_desc(&order[j - 1], &order[j], v->files[0]) > 0) {
      size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
      j--;
    }
  }
  for (size_t i = 0; i < n0; i++)
    runs[nr++] = (run){0, order[i], v->files[0][order[i]].size};
  for (int l = 1; l < SST_LEVELS; l++)
    if (v->n[l]) runs[nr++] = (run){l, 0, level_bytes(v, l)};
  if ((int)nr < (o->trigger > 0 ? o->trigger : 4) || nr < 2) return STRATA_OK;
  size_t start = 0, count = 0;
  const char *reason = NULL;
  uint64_t newer = 0;
  for (size_t i = 0; i + 1 < nr; i++)
    newer += runs[i].bytes;
  if (newer * 100 >= (uint64_t)o->max_space_amp_pct * runs[nr - 1].bytes) {
    start = 0;
    count = nr;
    reason = "space-amp";
  }
  for (size_t s = 0; !reason && s < nr; s++) {
    uint64_t sum = runs[s].bytes;
    size_t c = 1;
    while (s + c < nr && runs[s + c].bytes * 100 <=
                             sum * (uint64_t)(100 + o->size_ratio_pct)) {
      sum += runs[s + c].bytes;
      c++;
    }
    /* An output kept in level 0 must be the newest run there. */
    int out0 = s + c < nr && runs[s + c].level == 0;
    if ((int)c >= (o->min_merge > 1 ? o->min_merge : 2) && !(out0 && s > 0)) {
      start = s;
      count = c;
      reason = "size-ratio";
    }
  }
  if (!reason) { /* too many runs: merge the newest to get under trigger */
    start = 0;
    count = nr - (size_t)(o->trigger > 0 ? o->trigger : 4) + 2;
    if (count > nr) count = nr;
    reason = "run-count";
  }
  for (size_t i = start; i < start + count; i++) {
    if (runs[i].level == 0) {
      if (add_input(p, 0, runs[i].file)) goto oom;
    } else {
      for (size_t f = 0; f < v->n[runs[i].level]; f++)
        if (add_input(p, runs[i].level, f)) goto oom;
    }
  }
  int oldest = runs[start + count - 1].level;
  int next = start + count < nr ? runs[start + count].level : SST_LEVELS;
  p->level = runs[start].level;
  p->output_level = next - 1 > oldest ? next - 1 : oldest;
  if (next == 0) p->output_level = 0;
  p->max_output_size = o->target_file_size;
  p->max_grandparent = 0;
  p->score = (double)nr / (double)(o->trigger > 0 ? o->trigger : 4);
  p->reason = reason;
  return STRATA_OK;
oom:
  sst_plan_free(p);
  p->level = -1;
  return st_error(STRATA_NO_MEMORY, "out of memory");
}

/* ---- running a compaction ----------------------------------------------- */

static int is_input(const sst_plan *p, int level, size_t i) {
  for (size_t j = 0; j < p->ninputs[level]; j++)
    if (p->inputs[level][j] == i) return 1;
  return 0;
}

/* 1 if no file outside the inputs at the input level or deeper could hold
 * an older version of user key `u` (LevelDB's IsBaseLevelForKey, taken
 * conservatively). */
static int base_level_for(const sst_version *v, const sst_plan *p,
                          const uint8_t *u, size_t un) {
  for (int l = p->level; l < SST_LEVELS; l++)
    for (size_t i = 0; i < v->n[l]; i++) {
      if (is_input(p, l, i)) continue;
      const sst_file *f = &v->files[l][i];
      if (user_cmp(f->smallest, f->smallest_len, u, un + IKEY_TRAILER) <= 0 &&
          user_cmp(f->largest, f->largest_len, u, un + IKEY_TRAILER) >= 0)
        return 0;
    }
  return 1;
}

typedef struct out_state {
  sst_builder *b;      /* open output, or NULL */
  sst_buf first, last; /* its key range */
  uint64_t number;     /* its file number */
  size_t gp;           /* grandparent cursor */
  uint64_t gp_overlap; /* bytes of grandparents overlapped so far */
  int seen;            /* a key was output since the cursor started */
} out_state;

static int push_output(sst_compaction_result *r, out_state *s, uint64_t size) {
  sst_file *o = realloc(r->outputs, (r->noutputs + 1) * sizeof *o);
  if (!o) return -1;
  r->outputs = o;
  sst_file *f = &o[r->noutputs];
  memset(f, 0, sizeof *f);
  uint8_t *a = malloc(s->first.len ? s->first.len : 1);
  uint8_t *b = malloc(s->last.len ? s->last.len : 1);
  if (!a || !b) {
    free(a);
    free(b);
    return -1;
  }
  if (s->first.len) memcpy(a, s->first.data, s->first.len);
  if (s->last.len) memcpy(b, s->last.data, s->last.len);
  f->number = s->number;
  f->size = size;
  f->smallest = a;
  f->smallest_len = s->first.len;
  f->largest = b;
  f->largest_len = s->last.len;
  r->noutputs++;
  return 0;
}

static int finish_output(sst_compaction_result *r, out_state *s) {
  if (!s->b) return STRATA_OK;
  uint64_t size;
  int rc = sst_builder_finish(s->b, &size);
  s->b = NULL;
  if (rc) return rc;
  if (push_output(r, s, size))
    return st_error(STRATA_NO_MEMORY, "out of memory");
  return STRATA_OK;
}

/* LevelDB's ShouldStopBefore: too much overlap with the grandparents. */
static int stop_before(const sst_version *v, const sst_plan *p, out_state *s,
                       const uint8_t *k, size_t kn) {
  int gl = p->output_level + 1;
  if (!p->max_grandparent || gl >= SST_LEVELS) return 0;
  while (s->gp < v->n[gl] &&
         ikey_compare(SST_CMP_INTERNAL, k, kn, v->files[gl][s->gp].largest,
                      v->files[gl][s->gp].largest_len) > 0) {
    if (s->seen) s->gp_overlap += v->files[gl][s->gp].size;
    s->gp++;
  }
  s->seen = 1;
  if (s->gp_overlap > p->max_grandparent) {
    s->gp_overlap = 0;
    return 1;
  }
  return 0;
}

int sst_compaction_run(const sst_compaction_env *ce, const sst_version *v,
                       const sst_plan *p, sst_compaction_result *res) {
  memset(res, 0, sizeof *res);
  if (p->level < 0) return st_error(STRATA_INVALID_ARGUMENT, "empty plan");
  size_t total = 0;
  for (int l = 0; l < SST_LEVELS; l++)
    total += p->ninputs[l];
  sst_table **tables = calloc(total ? total : 1, sizeof *tables);
  sst_iter **kids = calloc(total ? total : 1, sizeof *kids);
  sst_iter *m = NULL;
  out_state s;
  memset(&s, 0, sizeof s);
  sst_buf user = {0};
  char name[4096];
  int rc = STRATA_OK;
  size_t nt = 0;
  if (!tables || !kids) {
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
    goto out;
  }
  strata_table_options topts = ce->table;
  topts.internal_keys = 1;
  /* Newest first: level-0 inputs by descending number, then by level. */
  for (int l = 0; l < SST_LEVELS && !rc; l++) {
    size_t n = p->ninputs[l];
    size_t *idx = p->inputs[l];
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);
    if (!ord) {
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
      break;
    }
    if (n) memcpy(ord, idx, n * sizeof *ord);
    for (size_t i = 1; l == 0 && i < n; i++)
      for (size_t j = i;
           j > 0 && v->files[0][ord[j - 1]].number < v->files[0][ord[j]].number;
           j--) {
        size_t t = ord[j];
        ord[j] = ord[j - 1];
        ord[j - 1] = t;
      }
    for (size_t i = 0; i < n && !rc; i++) {
      sst_table_file_name(name, sizeof name, ce->dir,
                          v->files[l][ord[i]].number);
      rc = sst_table_open(ce->e, name, &topts, ce->on_damage, ce->damage_arg,
                          &tables[nt]);
      if (!rc && !(kids[nt] = sst_table_iter(tables[nt])))
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
      if (!rc) nt++;
    }
    free(ord);
  }
  if (rc) goto out;
  m = sst_merge_iter(kids, nt, SST_CMP_INTERNAL);
  memset(kids, 0, total * sizeof *kids); /* owned by the merge now */
  if (!m) {
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
    goto out;
  }
  int have_user = 0;
  uint64_t last_seq = 0;
  for (sst_iter_seek_first(m); sst_iter_valid(m); sst_iter_next(m)) {
    size_t kn, vn, un;
    const uint8_t *k = sst_iter_key(m, &kn), *val = sst_iter_value(m, &vn);
    uint64_t seq;
    int type, drop = 0;
    res->entries_in++;
    if (ikey_parse(k, kn, &un, &seq, &type) == 0) {
      if (!have_user || ikey_bytewise(user.data, user.len, k, un) != 0) {
        if (sst_buf_set(&user, k, un)) {
          rc = st_error(STRATA_NO_MEMORY, "out of memory");
          goto out;
        }
        have_user = 1;
        last_seq = IKEY_MAX_SEQUENCE + 1;
      }
      if (last_seq <= ce->smallest_snapshot)
        drop = 1; /* a newer version visible to every reader hides it */
      else if (type == IKEY_DELETION && seq <= ce->smallest_snapshot &&
               base_level_for(v, p, k, un))
        drop = 1; /* nothing older left for the tombstone to hide */
      last_seq = seq;
    } else {
      have_user = 0; /* keep malformed keys, as LevelDB does */
    }
    if (drop) {
      res->dropped++;
      continue;
    }
    if (s.b && stop_before(v, p, &s, k, kn) && (rc = finish_output(res, &s)))
      goto out;
    if (!s.b) {
      s.number = ce->new_number(ce->arg);
      sst_table_file_name(name, sizeof name, ce->dir, s.number);
      if ((rc = sst_builder_open(ce->e, name, &topts, &s.b))) goto out;
      if (sst_buf_set(&s.first, k, kn)) {
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
        goto out;
      }
    }
    if ((rc = sst_builder_add(s.b, k, kn, val, vn))) goto out;
    if (sst_buf_set(&s.last, k, kn)) {
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
      goto out;
    }
    res->entries_out++;
    if (p->max_output_size &&
        sst_builder_file_size(s.b) >= p->max_output_size &&
        (rc = finish_output(res, &s)))
      goto out;
  }
  if ((rc = sst_iter_status(m))) goto out;
  if ((rc = finish_output(res, &s))) goto out;
  /* Outputs are fsynced by finish; make their names durable, then (only
   * then) the inputs may go. */
  if ((rc = env_sync_dir(ce->e, ce->dir))) goto out;
  res->inputs_deletable = 1;
out:
  if (s.b) {
    sst_builder_abandon(s.b);
    sst_table_file_name(name, sizeof name, ce->dir, s.number);
    env_remove(ce->e, name);
  }
  if (rc) {
    for (size_t i = 0; i < res->noutputs; i++) {
      sst_table_file_name(name, sizeof name, ce->dir, res->outputs[i].number);
      env_remove(ce->e, name);
    }
    sst_compaction_result_free(res);
    memset(res, 0, sizeof *res);
  }
  sst_iter_destroy(m);
  for (size_t i = 0; kids && i < total; i++)
    sst_iter_destroy(kids[i]);
  for (size_t i = 0; tables && i < nt; i++)
    sst_table_close(tables[i]);
  free(kids);
  free(tables);
  sst_buf_free(&s.first);
  sst_buf_free(&s.last);
  sst_buf_free(&user);
  return rc;
}

void sst_compaction_result_free(sst_compaction_result *r) {
  for (size_t i = 0; i < r->noutputs; i++) {
    free((void *)r->outputs[i].smallest);
    free((void *)r->outputs[i].largest);
  }
  free(r->outputs);
  r->outputs = NULL;
  r->noutputs = 0;
}
