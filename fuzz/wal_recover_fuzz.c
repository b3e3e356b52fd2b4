/*
 * wal_recover_fuzz.c — WAL recovery over an arbitrary segment image. The
 * first input byte picks the recovery policy (low 2 bits); the rest becomes
 * DIR/000001.log of a fresh WAL directory (under $STRATA_TMP, else the
 * working directory), which is then opened, replayed, appended to, and
 * reopened. Checked: no crash or out-of-bounds access; replayed sequence
 * numbers strictly increase; the appended batch gets a number above every
 * one replayed; after a point-in-time recovery the directory opens cleanly
 * under `absolute` and holds the new batch; strata_wal_verify never fails on
 * what was left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

typedef struct seen {
  uint64_t last; /* last sequence number delivered */
  uint64_t n;    /* operations delivered */
  int disorder;  /* a number not above the previous one */
} seen;

static int on_op(void *arg, uint64_t seq, int op, const void *key, size_t kl,
                 const void *val, size_t vl) {
  (void)op, (void)key, (void)kl, (void)val, (void)vl;
  seen *s = arg;
  if (s->n && seq <= s->last) s->disorder = 1;
  s->last = seq;
  s->n++;
  return 0;
}

static void rm_dir(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  strata_recovery policy = (strata_recovery)(data[0] & 3);
  const char *base = getenv("STRATA_TMP");
  char dir[4096], seg[4200];
  snprintf(dir, sizeof dir, "%s/wal_fuzz.XXXXXX", base && *base ? base : ".");
  if (!mkdtemp(dir)) return 0;
  snprintf(seg, sizeof seg, "%s/000001.log", dir);
  FILE *f = fopen(seg, "wb");
  if (!f) abort();
  if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) abort();
  fclose(f);

  strata_wal_options o;
  strata_wal_options_init(&o);
  o.recovery = policy;
  o.sync = STRATA_WAL_SYNC_NONE;
  strata_wal *w = NULL;
  if (strata_wal_open(dir, &o, &w) == STRATA_OK) {
    seen s = {0, 0, 0};
    if (strata_wal_replay(w, 0, on_op, &s) != STRATA_OK &&
        policy != STRATA_RECOVERY_ABSOLUTE &&
        policy != STRATA_RECOVERY_TOLERATE_TAIL)
      abort();
    if (s.disorder) abort();
    strata_batch *b = strata_batch_create();
    strata_batch_put(b, "new", 3, "v", 1);
    uint64_t seq = 0;
    if (strata_wal_append(w, b, &seq) != STRATA_OK) abort();
    if (s.n && seq <= s.last) abort();
    strata_batch_destroy(b);
    if (strata_wal_close(w) != STRATA_OK) abort();
    if (policy == STRATA_RECOVERY_POINT_IN_TIME) {
      o.recovery = STRATA_RECOVERY_ABSOLUTE;
      if (strata_wal_open(dir, &o, &w) != STRATA_OK) abort();
      seen t = {0, 0, 0};
      if (strata_wal_replay(w, 0, on_op, &t) != STRATA_OK) abort();
      if (t.disorder || t.last != seq) abort();
      strata_wal_close(w);
    }
  }
  if (strata_wal_verify(dir, NULL, NULL, NULL) != STRATA_OK) abort();
  rm_dir(dir);
  return 0;
}
