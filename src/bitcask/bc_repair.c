/*
 * bc_repair.c — strata_bitcask_repair (docs/repair.md): rebuilds a Bitcask
 * directory from every intact entry into a new directory.
 *
 * The damaged directory is opened read-only under skip (bc_recover.c: every
 * data file scanned or loaded from its checksummed hint, every damaged
 * region dropped and reported; the newest intact entry of each key wins by
 * timestamp, deletions included). Then every key of the key directory whose
 * newest entry is a put that has not expired is read (a record that fails
 * its checksum is never copied) and written to the new directory with its
 * expiry. Keys whose newest record was found damaged (strata_bitcask_lost_keys)
 * are left out and reported DOUBTFUL: the value that survives is older than
 * the last one written, which may even have been its deletion. The new
 * directory is synced (files, directory, parent) before success; in place it
 * is then swapped in as for LSM databases (DIR → DIR.damaged, DIR.repairing
 * → DIR, the parent synced after each rename).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bitcask/bitcask.h"
#include "bitcask/bc_keydir.h"
#include "util/status.h"

typedef struct bc_rep {
  const strata_repair_options *o; /* the caller's options */
  strata_repair_report *rep;      /* counters */
} bc_rep;

static void event(bc_rep *r, const strata_repair_event *ev) {
  if (ev->kind == STRATA_REPAIR_DAMAGE) {
    r->rep->damaged_regions++;
    r->rep->damaged_bytes += ev->damage->bytes;
    r->rep->records_lost += ev->damage->records;
  } else if (ev->kind == STRATA_REPAIR_DOUBTFUL) {
    r->rep->doubtful_keys++;
  }
  if (r->o->on_event) r->o->on_event(r->o->arg, ev);
}

static void on_damage(void *arg, const strata_damage *d) {
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DAMAGE;
  ev.damage = d;
  ev.costs_keys = 1;
  event(arg, &ev);
}

/* a + b, with a's trailing slashes dropped ("db/" + ".repaired" names a
 * sibling of db, never a file inside it). */
static char *concat(const char *a, const char *b) {
  size_t an = strlen(a), bn = strlen(b);
  while (an > 1 && a[an - 1] == '/')
    an--;
  char *s = malloc(an + bn + 1);
  if (!s) return NULL;
  memcpy(s, a, an);
  memcpy(s + an, b, bn + 1);
  return s;
}

static int nonempty(env *e, const char *path) {
  if (!env_exists(e, path)) return 0;
  char **names = NULL;
  size_t n = 0;
  if (env_list_dir(e, path, &names, &n)) return 1;
  env_free_list(names, n);
  return n > 0;
}

/* Removes the files of a directory this repair created, then it. */
static void remove_dir(env *e, const char *path) {
  char **names = NULL;
  size_t n = 0;
  if (env_list_dir(e, path, &names, &n) == STRATA_OK) {
    for (size_t i = 0; i < n; i++) {
      char *p = concat(path, "/");
      char *q = p ? concat(p, names[i]) : NULL;
      if (q) env_remove(e, q);
      free(p);
      free(q);
    }
    env_free_list(names, n);
  }
  rmdir(path);
}

static int is_lost(const strata_bitcask *db, const uint8_t *k, size_t kn) {
  for (size_t i = 0; i < db->nlost; i++)
    if (db->lost[i].klen == kn && memcmp(db->lost[i].key, k, kn) == 0) return 1;
  return 0;
}

/* Copies every live, intact, not-lost key of src into dst. */
static int copy_keys(bc_rep *r, strata_bitcask *src, strata_bitcask *dst) {
  uint64_t now = (uint64_t)time(NULL);
  size_t cap = bc_keydir_capacity(src->kd);
  int rc = STRATA_OK;
  for (size_t i = 0; i < cap && !rc; i++) {
    const uint8_t *k;
    size_t kn;
    bc_loc loc;
    if (!bc_keydir_entry(src->kd, i, &k, &kn, &loc)) continue;
    if (loc.tombstone || (loc.expiry && loc.expiry <= now)) continue;
    if (is_lost(src, k, kn)) continue; /* reported below */
    void *v = NULL;
    size_t vn = 0;
    int st = strata_bitcask_get(src, k, kn, &v, &vn);
    if (st == STRATA_CORRUPTION) { /* damaged after all: never copied */
      strata_repair_event ev;
      memset(&ev, 0, sizeof ev);
      ev.kind = STRATA_REPAIR_DOUBTFUL;
      ev.key = k;
      ev.key_len = kn;
      ev.reason = "its newest record fails its checksum; left out";
      event(r, &ev);
      continue;
    }
    if (st == STRATA_NOT_FOUND) continue;
    if (st) return st;
    rc = strata_bitcask_put_expiring(dst, k, kn, v, vn, loc.expiry);
    free(v);
    if (!rc) r->rep->keys_written++;
  }
  return rc;
}

typedef struct lost_arg {
  bc_rep *r;           /* the repair */
  strata_bitcask *src; /* the damaged database */
} lost_arg;

static void on_lost(void *arg, const void *key, size_t klen, const char *file,
                    uint64_t offset, uint64_t timestamp) {
  (void)offset;
  (void)timestamp;
  lost_arg *la = arg;
  bc_loc loc;
  int older = bc_keydir_get(la->src->kd, key, klen, &loc) && !loc.tombstone;
  strata_repair_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = STRATA_REPAIR_DOUBTFUL;
  ev.key = key;
  ev.key_len = klen;
  ev.file = file;
  ev.reason = older ? "its newest record was damaged: the older value that "
                      "survives may be stale (or deleted since); left out"
                    : "its newest record was damaged; no older value "
                      "survives";
  event(la->r, &ev);
}

int strata_bitcask_repair(const char *dir, const char *into,
                          const strata_repair_options *o,
                          strata_repair_report *out) {
  strata_repair_options defaults;
  strata_repair_options_init(&defaults);
  if (!o) o = &defaults;
  strata_repair_report rep;
  memset(&rep, 0, sizeof rep);
  if (out) memset(out, 0, sizeof *out);
  env *e = env_posix();
  if (!dir || !*dir || (o->in_place && into))
    return st_error(STRATA_INVALID_ARGUMENT,
                    "repair: a database directory is needed, and --into "
                    "cannot go with --in-place");
  if (!env_exists(e, dir))
    return st_error(STRATA_NOT_FOUND, "%s: no Bitcask database here", dir);
  char *target = o->in_place ? concat(dir, ".repairing")
                 : into      ? strdup(into)
                             : concat(dir, ".repaired");
  char *backup = o->in_place ? concat(dir, ".damaged") : NULL;
  char *parent = target ? env_dirname(target) : NULL;
  int rc = STRATA_OK;
  if (!target || !parent || (o->in_place && !backup))
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
  else if (nonempty(e, target))
    rc = st_error(STRATA_INVALID_ARGUMENT,
                  "%s: exists and is not empty; repair writes a new database",
                  target);
  else if (backup && env_exists(e, backup))
    rc = st_error(STRATA_INVALID_ARGUMENT,
                  "%s: exists; move it away before repairing in place", backup);
  bc_rep r = {o, &rep};
  strata_bitcask *src = NULL, *dst = NULL;
  /* A read-only open still takes DIR/LOCK, creating it if missing: such a
   * LOCK is removed again, so the damaged directory keeps exactly its
   * files. */
  char *lockp = concat(dir, "/LOCK");
  int had_lock = lockp && env_exists(e, lockp);
  int made = !rc && !env_exists(e, target);
  if (!rc && !lockp) rc = st_error(STRATA_NO_MEMORY, "out of memory");
  if (!rc) {
    strata_bitcask_options so;
    strata_bitcask_options_init(&so);
    so.recovery = STRATA_RECOVERY_SKIP;
    so.create_if_missing = 0;
    so.read_only = 1;
    so.background_merge = 0;
    so.on_damage = on_damage;
    so.damage_arg = &r;
    rc = strata_bitcask_open(dir, &so, &src);
  }
  if (!rc) {
    strata_bitcask_stats st;
    if (strata_bitcask_get_stats(src, &st) == STRATA_OK)
      rep.files_read = st.files;
    strata_bitcask_options dopt;
    strata_bitcask_options_init(&dopt);
    dopt.background_merge = 0;
    rc = strata_bitcask_open(target, &dopt, &dst);
  }
  if (!rc) rc = copy_keys(&r, src, dst);
  lost_arg la = {&r, src};
  if (!rc) strata_bitcask_lost_keys(src, on_lost, &la);
  if (!rc) rc = strata_bitcask_sync(dst);
  int rc2 = strata_bitcask_close(dst);
  if (!rc) rc = rc2;
  strata_bitcask_close(src);
  if (lockp && !had_lock && env_exists(e, lockp)) env_remove(e, lockp);
  free(lockp);
  if (rc && made) remove_dir(e, target); /* no partial result left behind */
  if (!rc) rc = env_sync_dir(e, target);
  if (!rc) rc = env_sync_dir(e, parent);
  if (!rc && o->in_place) {
    char *pp = env_dirname(dir);
    rc = pp ? env_rename(e, dir, backup) : STRATA_NO_MEMORY;
    if (!rc) rc = env_sync_dir(e, pp);
    if (!rc) rc = env_rename(e, target, dir);
    if (!rc) rc = env_sync_dir(e, pp);
    free(pp);
    if (!rc) {
      free(target);
      target = strdup(dir);
    }
  }
  free(parent);
  rep.path = target;
  rep.backup = backup;
  if (rc || !out) {
    strata_repair_report_free(&rep);
    return rc;
  }
  *out = rep;
  return STRATA_OK;
}
