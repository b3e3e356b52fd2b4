/*
 * env_fault.c — the fault-injecting env of env_fault.h, wrapping a base env.
 *
 * Faults. Every call through this env (open, read, append, sync, close,
 * rename, exists, lock, ...) is one operation and increments `ops`, whether
 * it fails or not; env_fault_ops and the control functions are not
 * operations. An armed fail_nth makes operation number `fail_at` fail with
 * STRATA_IO_ERROR, errno EIO and the message "PATH: OP: injected fault at op
 * N", without reaching the base env — except close and unlock, which release
 * the handle anyway (as close(2) does when it fails) and then report the
 * fault. An injected fault on exists makes it answer 0, as exists answers
 * whenever it cannot tell. A torn append writes its first `keep` bytes
 * through the base env and then fails with EIO (after all the bytes if it
 * had no more than `keep`).
 *
 * Power-loss model. Files (inodes) written, created, renamed or removed
 * through this env are tracked as `fault_obj`s; the namespace a power loss
 * would leave is the list of durable names (`fault_name`: path -> obj).
 *  - An obj's synced length is its length at the last datasync/fsync through
 *    this env (the length measured just before the sync, so appends racing
 *    with it count as unsynced). A file first seen already existing is taken
 *    as fully synced and durably named: its obj starts with its current
 *    length and a durable name at its path. A file created through this env
 *    starts at 0 with no durable name. Truncation (env_truncate, ENV_TRUNC)
 *    lowers the synced length at once: the cut bytes never come back.
 *  - env_sync_dir(D) makes the current namespace of D durable: every durable
 *    name whose parent (env_dirname) is D is replaced by whatever obj is
 *    linked at that path now, or dropped if none is. Renames and removals
 *    therefore stay undoable until their directory is synced — the old
 *    directory for the old name, the new one for the new name.
 *  - When a durably named obj loses its last link (remove, or replaced by a
 *    rename) its synced content is copied into memory first, so a power
 *    loss can bring it back.
 *  - env_fault_power_loss makes the disk match the durable names: each
 *    durably named file is cut to its synced length and put (renamed back,
 *    copied, or rewritten from memory) at each of its durable names; every
 *    other tracked file is deleted. Tracking then starts afresh: everything
 *    left is durable.
 * Simplifications: paths are compared as strings, so one file must always be
 * spelled the same way (only trailing slashes of sync_dir's argument are
 * ignored); directories (mkdir) and lock files are durable at once and not
 * tracked; a file written behind this env's back is outside the model; data
 * synced through a handle after its file was unlinked is not in the saved
 * copy; renaming a directory is not modelled.
 *
 * Concurrency: `mu` guards the counters, the armed faults and the tracking
 * lists, and is held across every base call that changes the namespace so
 * that tracking follows the order of the real operations. Reads, appends
 * and syncs run outside it (a handle keeps its obj alive).
 */
#include "env/env_fault.h"

#include "util/status.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tracked file (an inode, not a name). */
struct fault_obj {
  char *path;             /* where it is linked now; NULL once unlinked */
  uint64_t synced_len;    /* bytes that survive a power loss */
  unsigned char *saved;   /* synced content, copied when it was unlinked */
  size_t saved_len;       /* bytes in saved */
  int refs;               /* durable names that refer to it */
  int handles;            /* handles open on it through this env */
  char *placed;           /* power loss: where it lies now; NULL if nowhere */
  int placed_tmp;         /* power loss: placed is a temporary name */
  struct fault_obj *next; /* next tracked file */
};

/* A name that a power loss would leave in place. */
struct fault_name {
  char *path;              /* the durable name */
  struct fault_obj *obj;   /* the file it names */
  struct fault_name *next; /* next durable name */
};

struct fault_env {
  env env;                  /* the public part; env.state points here */
  env *base;                /* the wrapped env, not owned */
  pthread_mutex_t mu;       /* guards everything below */
  uint64_t ops;             /* operations performed so far */
  uint64_t fail_at;         /* operation number to fail; 0 = disarmed */
  int sticky;               /* fail every operation from fail_at on */
  int tear_armed;           /* the next append is torn */
  size_t tear_keep;         /* bytes the torn append keeps */
  int sync_loses;           /* a failed sync freezes the file's synced
                               length (env_fault_set_sync_loses) */
  struct fault_obj *objs;   /* tracked files */
  struct fault_name *names; /* durable names */
};

/* A file handle: wraps one of the base env. */
struct fault_file {
  env_file base;         /* owner (this env) and path */
  env_file *inner;       /* the base env's handle, owned */
  struct fault_obj *obj; /* tracked file it is open on, or NULL */
  int sync_failed;       /* a sync through it failed under sync_loses: later
                            syncs through it make nothing durable */
};

/* A lock: wraps one of the base env. */
struct fault_lock {
  env_lock base;   /* owner (this env) and path */
  env_lock *inner; /* the base env's lock, owned */
};

static struct fault_env *fe_of(env *e) { return (struct fault_env *)e->state; }

/* Counts one operation and returns the injected error if it must fail. */
static int fault_begin(struct fault_env *fe, const char *path, const char *op) {
  pthread_mutex_lock(&fe->mu);
  uint64_t n = ++fe->ops;
  int fail =
      fe->fail_at && (n == fe->fail_at || (fe->sticky && n > fe->fail_at));
  if (fail && !fe->sticky) fe->fail_at = 0;
  pthread_mutex_unlock(&fe->mu);
  if (!fail) return STRATA_OK;
  return st_io_error(EIO, "%s: %s: injected fault at op %" PRIu64, path, op, n);
}

/* ---- tracking (caller holds mu) ---------------------------------------- */

static struct fault_obj *find_linked(struct fault_env *fe, const char *path) {
  for (struct fault_obj *o = fe->objs; o; o = o->next)
    if (o->path && strcmp(o->path, path) == 0) return o;
  return NULL;
}

static struct fault_name *find_name(struct fault_env *fe, const char *path) {
  for (struct fault_name *n = fe->names; n; n = n->next)
    if (strcmp(n->path, path) == 0) return n;
  return NULL;
}

static int no_memory(const char *path) {
  return st_error(STRATA_NO_MEMORY, "%s: fault env: out of memory", path);
}

/* A new obj linked at path (path NULL: the caller sets it). */
static struct fault_obj *obj_new(struct fault_env *fe, const char *path,
                                 uint64_t synced_len) {
  struct fault_obj *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  if (path && !(o->path = strdup(path))) {
    free(o);
    return NULL;
  }
  o->synced_len = synced_len;
  o->next = fe->objs;
  fe->objs = o;
  return o;
}

/* Points the durable name `path` at o (NULL: drops the name). */
static int name_set(struct fault_env *fe, const char *path,
                    struct fault_obj *o) {
  struct fault_name **p = &fe->names;
  while (*p && strcmp((*p)->path, path) != 0)
    p = &(*p)->next;
  if (*p) {
    (*p)->obj->refs--;
    if (o) {
      (*p)->obj = o;
      o->refs++;
    } else {
      struct fault_name *dead = *p;
      *p = dead->next;
      free(dead->path);
      free(dead);
    }
    return STRATA_OK;
  }
  if (!o) return STRATA_OK;
  struct fault_name *n = malloc(sizeof *n);
  if (!n || !(n->path = strdup(path))) {
    free(n);
    return no_memory(path);
  }
  n->obj = o;
  o->refs++;
  n->next = fe->names;
  fe->names = n;
  return STRATA_OK;
}

static void obj_free(struct fault_obj *o) {
  free(o->path);
  free(o->saved);
  free(o->placed);
  free(o);
}

/* Frees unlinked objs nothing refers to any more. */
static void prune(struct fault_env *fe) {
  struct fault_obj **p = &fe->objs;
  while (*p) {
    struct fault_obj *o = *p;
    if (!o->path && o->refs == 0 && o->handles == 0) {
      *p = o->next;
      obj_free(o);
    } else {
      p = &o->next;
    }
  }
}

/* The obj linked at path; a file not tracked yet but present is adopted as
 * fully synced and durably named. *out = NULL if there is no such file. */
static int adopt(struct fault_env *fe, const char *path,
                 struct fault_obj **out) {
  *out = find_linked(fe, path);
  if (*out || !env_exists(fe->base, path)) return STRATA_OK;
  uint64_t size;
  int rc = env_size(fe->base, path, &size);
  if (rc != STRATA_OK) return rc;
  struct fault_obj *o = obj_new(fe, path, size);
  if (!o) return no_memory(path);
  if (!find_name(fe, path) && (rc = name_set(fe, path, o)) != STRATA_OK)
    return rc;
  *out = o;
  return STRATA_OK;
}

/* Reads the first `len` bytes of path (fewer if it is shorter). */
static int read_prefix(env *base, const char *path, uint64_t len,
                       unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  env_file *f;
  int rc = env_open_read(base, path, &f);
  if (rc != STRATA_OK) return rc;
  unsigned char *buf = malloc(len ? (size_t)len : 1);
  size_t got = 0;
  if (!buf)
    rc = no_memory(path);
  else
    rc = env_pread(f, 0, buf, (size_t)len, &got);
  int crc = env_close(f);
  if (rc == STRATA_OK) rc = crc;
  if (rc != STRATA_OK) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = got;
  return STRATA_OK;
}

static int write_whole(env *base, const char *path, const void *data,
                       size_t len) {
  env_file *f;
  int rc = env_open_append(base, path, ENV_CREATE | ENV_TRUNC, &f);
  if (rc != STRATA_OK) return rc;
  rc = env_append(f, data, len);
  int crc = env_close(f);
  return rc != STRATA_OK ? rc : crc;
}

/* Before o loses its last link: keeps its synced content if a durable name
 * still refers to it. *saved is NULL when nothing needs keeping. */
static int save_before_unlink(struct fault_env *fe, struct fault_obj *o,
                              unsigned char **saved, size_t *saved_len) {
  *saved = NULL;
  *saved_len = 0;
  if (!o || o->refs == 0) return STRATA_OK;
  return read_prefix(fe->base, o->path, o->synced_len, saved, saved_len);
}

static void unlink_obj(struct fault_obj *o, unsigned char *saved,
                       size_t saved_len) {
  free(o->path);
  o->path = NULL;
  free(o->saved);
  o->saved = saved;
  o->saved_len = saved_len;
}

/* 1 if env_dirname(path) is dir, ignoring dir's trailing slashes; -1 when
 * out of memory. */
static int in_dir(const char *path, const char *dir) {
  char *d = env_dirname(path);
  if (!d) return -1;
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  int r = strlen(d) == n && memcmp(d, dir, n) == 0;
  free(d);
  return r;
}

static void forget_all(struct fault_env *fe) {
  while (fe->names) {
    struct fault_name *n = fe->names;
    fe->names = n->next;
    free(n->path);
    free(n);
  }
  while (fe->objs) {
    struct fault_obj *o = fe->objs;
    fe->objs = o->next;
    obj_free(o);
  }
}

/* ---- file operations --------------------------------------------------- */

static int wrap_file(env *e, const char *path, env_file *inner,
                     struct fault_obj *o, env_file **out) {
  struct fault_file *ff = calloc(1, sizeof *ff);
  char *copy = strdup(path);
  if (!ff || !copy) {
    free(ff);
    free(copy);
    env_close(inner);
    return no_memory(path);
  }
  ff->base.owner = e;
  ff->base.path = copy;
  ff->inner = inner;
  ff->obj = o;
  if (o) o->handles++;
  *out = &ff->base;
  return STRATA_OK;
}

static int fault_open_read(env *e, const char *path, env_file **out) {
  struct fault_env *fe = fe_of(e);
  *out = NULL;
  int rc = fault_begin(fe, path, "open");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  env_file *inner;
  rc = env_open_read(fe->base, path, &inner);
  if (rc == STRATA_OK)
    rc = wrap_file(e, path, inner, find_linked(fe, path), out);
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static int fault_open_append(env *e, const char *path, int flags,
                             env_file **out) {
  struct fault_env *fe = fe_of(e);
  *out = NULL;
  int rc = fault_begin(fe, path, "open");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  struct fault_obj *o;
  env_file *inner = NULL;
  rc = adopt(fe, path, &o);
  if (rc == STRATA_OK) rc = env_open_append(fe->base, path, flags, &inner);
  if (rc == STRATA_OK && !o && !(o = obj_new(fe, path, 0))) {
    env_close(inner);
    rc = no_memory(path);
  }
  if (rc == STRATA_OK) {
    if (flags & ENV_TRUNC) o->synced_len = 0;
    rc = wrap_file(e, path, inner, o, out);
  }
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static struct fault_file *ff_of(env_file *f) { return (struct fault_file *)f; }

static int fault_read(env_file *f, void *buf, size_t n, size_t *got) {
  *got = 0;
  int rc = fault_begin(fe_of(f->owner), f->path, "read");
  return rc != STRATA_OK ? rc : env_read(ff_of(f)->inner, buf, n, got);
}

static int fault_pread(env_file *f, uint64_t off, void *buf, size_t n,
                       size_t *got) {
  *got = 0;
  int rc = fault_begin(fe_of(f->owner), f->path, "pread");
  return rc != STRATA_OK ? rc : env_pread(ff_of(f)->inner, off, buf, n, got);
}

static int fault_appendv(env_file *f, const struct iovec *iov, int iovcnt) {
  struct fault_env *fe = fe_of(f->owner);
  int rc = fault_begin(fe, f->path, "append");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  int tear = fe->tear_armed;
  size_t keep = fe->tear_keep;
  fe->tear_armed = 0;
  pthread_mutex_unlock(&fe->mu);
  if (!tear) return env_appendv(ff_of(f)->inner, iov, iovcnt);
  /* The first `keep` bytes, without touching the caller's array. */
  struct iovec *part = malloc((iovcnt > 0 ? (size_t)iovcnt : 1) * sizeof *part);
  if (!part) return no_memory(f->path);
  int k = 0;
  size_t left = keep;
  for (int i = 0; i < iovcnt && left > 0; i++, k++) {
    part[k] = iov[i];
    if (part[k].iov_len > left) part[k].iov_len = left;
    left -= part[k].iov_len;
  }
  rc = env_appendv(ff_of(f)->inner, part, k);
  free(part);
  if (rc != STRATA_OK) return rc;
  return st_io_error(EIO, "%s: append: torn after %zu bytes (injected)",
                     f->path, keep - left);
}

/* datasync and fsync: everything appended before the call is now synced. */
static int fault_sync(env_file *f, int full) {
  struct fault_env *fe = fe_of(f->owner);
  struct fault_file *ff = ff_of(f);
  int rc = fault_begin(fe, f->path, full ? "fsync" : "fdatasync");
  if (rc != STRATA_OK) {
    pthread_mutex_lock(&fe->mu);
    if (fe->sync_loses) ff->sync_failed = 1;
    pthread_mutex_unlock(&fe->mu);
    return rc;
  }
  uint64_t size = 0; /* measured first: later appends may miss the sync */
  if (ff->obj) rc = env_file_size(ff->inner, &size);
  if (rc == STRATA_OK)
    rc = full ? env_fsync(ff->inner) : env_datasync(ff->inner);
  if (rc == STRATA_OK && ff->obj) {
    pthread_mutex_lock(&fe->mu);
    if (ff->obj->synced_len < size && !ff->sync_failed)
      ff->obj->synced_len = size;
    pthread_mutex_unlock(&fe->mu);
  }
  return rc;
}

static int fault_datasync(env_file *f) { return fault_sync(f, 0); }
static int fault_fsync(env_file *f) { return fault_sync(f, 1); }

static int fault_file_size(env_file *f, uint64_t *size) {
  int rc = fault_begin(fe_of(f->owner), f->path, "fstat");
  return rc != STRATA_OK ? rc : env_file_size(ff_of(f)->inner, size);
}

static int fault_preallocate(env_file *f, uint64_t off, uint64_t len) {
  int rc = fault_begin(fe_of(f->owner), f->path, "fallocate");
  return rc != STRATA_OK ? rc : env_preallocate(ff_of(f)->inner, off, len);
}

static int fault_truncate(env_file *f, uint64_t len) {
  struct fault_env *fe = fe_of(f->owner);
  struct fault_file *ff = ff_of(f);
  int rc = fault_begin(fe, f->path, "ftruncate");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  rc = env_truncate(ff->inner, len);
  if (rc == STRATA_OK && ff->obj && ff->obj->synced_len > len)
    ff->obj->synced_len = len;
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static int fault_close(env_file *f) {
  struct fault_env *fe = fe_of(f->owner);
  struct fault_file *ff = ff_of(f);
  int injected = fault_begin(fe, f->path, "close");
  pthread_mutex_lock(&fe->mu);
  int rc = env_close(ff->inner);
  if (ff->obj) {
    ff->obj->handles--;
    prune(fe);
  }
  pthread_mutex_unlock(&fe->mu);
  free(f->path);
  free(ff);
  return injected != STRATA_OK ? injected : rc;
}

/* ---- namespace operations ---------------------------------------------- */

static int fault_remove(env *e, const char *path) {
  struct fault_env *fe = fe_of(e);
  int rc = fault_begin(fe, path, "unlink");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  struct fault_obj *o;
  unsigned char *saved = NULL;
  size_t saved_len = 0;
  rc = adopt(fe, path, &o);
  if (rc == STRATA_OK) rc = save_before_unlink(fe, o, &saved, &saved_len);
  if (rc == STRATA_OK) rc = env_remove(fe->base, path);
  if (rc == STRATA_OK && o) {
    unlink_obj(o, saved, saved_len);
    saved = NULL;
    prune(fe);
  }
  free(saved);
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static int fault_rename(env *e, const char *from, const char *to) {
  struct fault_env *fe = fe_of(e);
  int rc = fault_begin(fe, from, "rename");
  if (rc != STRATA_OK) return rc;
  if (strcmp(from, to) == 0) return env_rename(fe->base, from, to);
  pthread_mutex_lock(&fe->mu);
  struct fault_obj *src = NULL, *dst = NULL;
  unsigned char *saved = NULL;
  size_t saved_len = 0;
  char *to_copy = strdup(to);
  if (!to_copy) rc = no_memory(to);
  if (rc == STRATA_OK) rc = adopt(fe, from, &src);
  if (rc == STRATA_OK) rc = adopt(fe, to, &dst);
  if (rc == STRATA_OK) rc = save_before_unlink(fe, dst, &saved, &saved_len);
  if (rc == STRATA_OK) rc = env_rename(fe->base, from, to);
  if (rc == STRATA_OK) {
    if (dst) {
      unlink_obj(dst, saved, saved_len);
      saved = NULL;
    }
    if (src) {
      free(src->path);
      src->path = to_copy;
      to_copy = NULL;
    }
    prune(fe);
  }
  free(saved);
  free(to_copy);
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static int fault_sync_dir(env *e, const char *dir) {
  struct fault_env *fe = fe_of(e);
  int rc = fault_begin(fe, dir, "fsync directory");
  if (rc != STRATA_OK) return rc;
  pthread_mutex_lock(&fe->mu);
  rc = env_sync_dir(fe->base, dir);
  /* Durable names in dir become whatever is linked there now. */
  for (struct fault_name *n = fe->names, *next; rc == STRATA_OK && n;
       n = next) {
    next = n->next;
    int r = in_dir(n->path, dir);
    if (r < 0)
      rc = no_memory(dir);
    else if (r && !find_linked(fe, n->path))
      rc = name_set(fe, n->path, NULL);
  }
  for (struct fault_obj *o = fe->objs; rc == STRATA_OK && o; o = o->next) {
    if (!o->path) continue;
    int r = in_dir(o->path, dir);
    if (r < 0)
      rc = no_memory(dir);
    else if (r)
      rc = name_set(fe, o->path, o);
  }
  prune(fe);
  pthread_mutex_unlock(&fe->mu);
  return rc;
}

static int fault_mkdir(env *e, const char *path) {
  struct fault_env *fe = fe_of(e);
  int rc = fault_begin(fe, path, "mkdir");
  return rc != STRATA_OK ? rc : env_mkdir(fe->base, path);
}

static int fault_exists(env *e, const char *path) {
  struct fault_env *fe = fe_of(e);
  if (fault_begin(fe, path, "stat") != STRATA_OK) return 0;
  return env_exists(fe->base, path);
}

static int fault_size(env *e, const char *path, uint64_t *size) {
  struct fault_env *fe = fe_of(e);
  int rc = fault_begin(fe, path, "stat");
  return rc != STRATA_OK ? rc : env_size(fe->base, path, size);
}

static int fault_list_dir(env *e, const char *dir, char ***names,
                          size_t *count) {
  struct fault_env *fe = fe_of(e);
  *names = NULL;
  *count = 0;
  int rc = fault_begin(fe, dir, "opendir");
  return rc != STRATA_OK ? rc : env_list_dir(fe->base, dir, names, count);
}

static int fault_lock(env *e, const char *path, env_lock **out) {
  struct fault_env *fe = fe_of(e);
  *out = NULL;
  int rc = fault_begin(fe, path, "lock");
  if (rc != STRATA_OK) return rc;
  struct fault_lock *fl = malloc(sizeof *fl);
  char *copy = strdup(path);
  if (!fl || !copy) {
    free(fl);
    free(copy);
    return no_memory(path);
  }
  rc = env_lock_file(fe->base, path, &fl->inner);
  if (rc != STRATA_OK) {
    free(fl);
    free(copy);
    return rc;
  }
  fl->base.owner = e;
  fl->base.path = copy;
  *out = &fl->base;
  return STRATA_OK;
}

static int fault_unlock(env_lock *l) {
  struct fault_lock *fl = (struct fault_lock *)l;
  int injected = fault_begin(fe_of(l->owner), l->path, "unlock");
  int rc = env_unlock_file(fl->inner);
  free(l->path);
  free(fl);
  return injected != STRATA_OK ? injected : rc;
}

static const struct env_ops fault_ops = {
    .open_read = fault_open_read,
    .open_append = fault_open_append,
    .read = fault_read,
    .pread = fault_pread,
    .appendv = fault_appendv,
    .datasync = fault_datasync,
    .fsync = fault_fsync,
    .file_size = fault_file_size,
    .preallocate = fault_preallocate,
    .truncate = fault_truncate,
    .close = fault_close,
    .remove = fault_remove,
    .rename = fault_rename,
    .sync_dir = fault_sync_dir,
    .mkdir = fault_mkdir,
    .exists = fault_exists,
    .size = fault_size,
    .list_dir = fault_list_dir,
    .lock = fault_lock,
    .unlock = fault_unlock,
};

/* ---- control ----------------------------------------------------------- */

env *env_fault_create(env *base) {
  struct fault_env *fe = calloc(1, sizeof *fe);
  if (!fe) return NULL;
  if (pthread_mutex_init(&fe->mu, NULL) != 0) {
    free(fe);
    return NULL;
  }
  fe->env.ops = &fault_ops;
  fe->env.state = fe;
  fe->base = base;
  return &fe->env;
}

void env_fault_destroy(env *e) {
  if (!e) return;
  struct fault_env *fe = fe_of(e);
  forget_all(fe);
  pthread_mutex_destroy(&fe->mu);
  free(fe);
}

uint64_t env_fault_ops(env *e) {
  struct fault_env *fe = fe_of(e);
  pthread_mutex_lock(&fe->mu);
  uint64_t n = fe->ops;
  pthread_mutex_unlock(&fe->mu);
  return n;
}

void env_fault_fail_nth(env *e, uint64_t n, int sticky) {
  struct fault_env *fe = fe_of(e);
  pthread_mutex_lock(&fe->mu);
  fe->fail_at = n ? fe->ops + n : 0;
  fe->sticky = n ? sticky : 0;
  pthread_mutex_unlock(&fe->mu);
}

void env_fault_tear_next_append(env *e, size_t keep) {
  struct fault_env *fe = fe_of(e);
  pthread_mutex_lock(&fe->mu);
  fe->tear_armed = 1;
  fe->tear_keep = keep;
  pthread_mutex_unlock(&fe->mu);
}

void env_fault_reset(env *e) {
  struct fault_env *fe = fe_of(e);
  pthread_mutex_lock(&fe->mu);
  fe->fail_at = 0;
  fe->sticky = 0;
  fe->tear_armed = 0;
  fe->tear_keep = 0;
  pthread_mutex_unlock(&fe->mu);
}

/* Cuts o's file (at o->path) to its synced length. */
static int cut_to_synced(env *base, struct fault_obj *o) {
  uint64_t size;
  int rc = env_size(base, o->path, &size);
  if (rc != STRATA_OK || size <= o->synced_len) return rc;
  env_file *f;
  rc = env_open_append(base, o->path, 0, &f);
  if (rc != STRATA_OK) return rc;
  rc = env_truncate(f, o->synced_len);
  int crc = env_close(f);
  return rc != STRATA_OK ? rc : crc;
}

/* Moves o's file out of the way to a fresh temporary name next to it. */
static int move_aside(struct fault_env *fe, struct fault_obj *o) {
  size_t len = strlen(o->path) + 32;
  char *tmp = malloc(len);
  if (!tmp) return no_memory(o->path);
  for (unsigned k = 0;; k++) {
    snprintf(tmp, len, "%s.powerloss-%u", o->path, k);
    if (!env_exists(fe->base, tmp) && !find_name(fe, tmp)) break;
  }
  int rc = env_rename(fe->base, o->path, tmp);
  if (rc != STRATA_OK) {
    free(tmp);
    return rc;
  }
  o->placed = tmp;
  o->placed_tmp = 1;
  return STRATA_OK;
}

/* Puts o's synced content at the durable name path. */
static int restore_name(struct fault_env *fe, const char *path,
                        struct fault_obj *o) {
  if (o->placed && strcmp(o->placed, path) == 0) return STRATA_OK;
  if (o->placed && o->placed_tmp) {
    int rc = env_rename(fe->base, o->placed, path);
    if (rc != STRATA_OK) return rc;
    char *copy = strdup(path);
    if (!copy) return no_memory(path);
    free(o->placed);
    o->placed = copy;
    o->placed_tmp = 0;
    return STRATA_OK;
  }
  if (o->placed) { /* a second durable name of one file: copy it */
    unsigned char *data;
    size_t len;
    int rc = read_prefix(fe->base, o->placed, o->synced_len, &data, &len);
    if (rc != STRATA_OK) return rc;
    rc = write_whole(fe->base, path, data, len);
    free(data);
    return rc;
  }
  return write_whole(fe->base, path, o->saved, o->saved_len);
}

void env_fault_set_sync_loses(env *e, int on) {
  struct fault_env *fe = fe_of(e);
  pthread_mutex_lock(&fe->mu);
  fe->sync_loses = on;
  pthread_mutex_unlock(&fe->mu);
}

int env_fault_power_loss_prefix(env *e, uint64_t seed) {
  struct fault_env *fe = fe_of(e);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  pthread_mutex_lock(&fe->mu);
  for (struct fault_obj *o = fe->objs; o; o = o->next) {
    uint64_t size;
    if (!o->path ||
        env_size(fe->base, o->path, &size) != STRATA_OK ||
        size <= o->synced_len)
      continue;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    uint64_t r = x * 0x2545F4914F6CDD1Dull;
    o->synced_len += r % (size - o->synced_len + 1);
  }
  pthread_mutex_unlock(&fe->mu);
  return env_fault_power_loss(e);
}

int env_fault_power_loss(env *e) {
  struct fault_env *fe = fe_of(e);
  int rc = STRATA_OK;
  pthread_mutex_lock(&fe->mu);
  for (struct fault_obj *o = fe->objs; o; o = o->next) {
    if (o->handles > 0) {
      rc = st_error(STRATA_INVALID_ARGUMENT,
                    "%s: power loss with the file still open",
                    o->path ? o->path : "(unlinked file)");
      pthread_mutex_unlock(&fe->mu);
      return rc;
    }
  }
  /* 1. Vacate every current name: files without a durable name go, the
   *    others are cut to their synced length and, unless already at their
   *    durable name, moved aside. */
  for (struct fault_obj *o = fe->objs; o; o = o->next) {
    if (!o->path) continue;
    int r;
    if (o->refs == 0) {
      r = env_remove(fe->base, o->path);
    } else if ((r = cut_to_synced(fe->base, o)) == STRATA_OK) {
      struct fault_name *n = find_name(fe, o->path);
      if (n && n->obj == o) {
        if (!(o->placed = strdup(o->path))) r = no_memory(o->path);
      } else {
        r = move_aside(fe, o);
      }
    }
    if (rc == STRATA_OK) rc = r;
  }
  /* 2. Put each durable name back. */
  for (struct fault_name *n = fe->names; n; n = n->next) {
    int r = restore_name(fe, n->path, n->obj);
    if (rc == STRATA_OK) rc = r;
  }
  /* Everything left is now durable. After a failure, a file moved aside may
   * remain under its ".powerloss-K" name rather than be lost. */
  forget_all(fe);
  pthread_mutex_unlock(&fe->mu);
  return rc;
}
