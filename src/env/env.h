/*
 * env.h — all file-system access of strata goes through an env, so tests can
 * substitute a fault-injecting one (env_fault.h).
 *
 * An env is a table of operations plus its state. env_posix() is the real one
 * (a process-wide singleton that is never freed). Every function returns a
 * STRATA_* status; failures of the OS are STRATA_IO_ERROR with errno kept
 * (strata_last_errno) and a message that names the path.
 *
 * Durability contract (as LevelDB's PosixEnv):
 *  - env_append hands the bytes to the kernel before returning (no user-space
 *    buffering): they survive a crash of the process, not of the machine.
 *  - env_datasync = fdatasync, env_fsync = fsync.
 *  - Creating, renaming or removing a file is durable only after
 *    env_sync_dir on its directory.
 */
#ifndef STRATA_ENV_ENV_H
#define STRATA_ENV_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct env env;
typedef struct env_file env_file;
typedef struct env_lock env_lock;

/* A file handle: the base every env implementation embeds first. */
struct env_file {
  env *owner; /* the env whose ops serve this file */
  char *path; /* path as opened; owned by the handle */
};

/* A held lock: the base every env implementation embeds first. */
struct env_lock {
  env *owner; /* the env that granted it */
  char *path; /* path of the lock file; owned by the handle */
};

struct env_ops {
  int (*open_read)(env *e, const char *path, env_file **out);
  int (*open_append)(env *e, const char *path, int flags, env_file **out);
  int (*read)(env_file *f, void *buf, size_t n, size_t *got);
  int (*pread)(env_file *f, uint64_t off, void *buf, size_t n, size_t *got);
  int (*appendv)(env_file *f, const struct iovec *iov, int iovcnt);
  int (*datasync)(env_file *f);
  int (*fsync)(env_file *f);
  int (*file_size)(env_file *f, uint64_t *size);
  int (*preallocate)(env_file *f, uint64_t off, uint64_t len);
  int (*truncate)(env_file *f, uint64_t len);
  int (*close)(env_file *f);
  int (*remove)(env *e, const char *path);
  int (*rename)(env *e, const char *from, const char *to);
  int (*sync_dir)(env *e, const char *dir);
  int (*mkdir)(env *e, const char *path);
  int (*exists)(env *e, const char *path);
  int (*size)(env *e, const char *path, uint64_t *size);
  int (*list_dir)(env *e, const char *dir, char ***names, size_t *count);
  int (*lock)(env *e, const char *path, env_lock **out);
  int (*unlock)(env_lock *l);
};

struct env {
  const struct env_ops *ops; /* the implementation */
  void *state;               /* implementation state */
};

/* open_append flags */
enum {
  ENV_CREATE = 1, /* create the file if missing */
  ENV_TRUNC = 2,  /* truncate to zero length */
  ENV_EXCL = 4,   /* fail with STRATA_IO_ERROR (errno EEXIST) if it exists */
  ENV_MMAP = 8    /* appends are copied into a shared mapping of the file,
                     grown in steps (the file is longer than its contents,
                     zero-filled, until closed): no system call per append,
                     yet every append is in the kernel's page cache when it
                     returns, as with write(2). datasync/fsync make it
                     durable; close trims the file to its contents. After a
                     crash the file ends in zeros. The file size the env
                     reports while open is the contents' size. */
};

/* The POSIX env. Never freed. */
env *env_posix(void);

/* Opens an existing file for sequential and positional reads.
 * STRATA_NOT_FOUND if it does not exist. Close with env_close. */
static inline int env_open_read(env *e, const char *path, env_file **out) {
  return e->ops->open_read(e, path, out);
}
/* Opens for appending (writes go to the end). Close with env_close. */
static inline int env_open_append(env *e, const char *path, int flags,
                                  env_file **out) {
  return e->ops->open_append(e, path, flags, out);
}
/* Sequential read of up to n bytes; *got == 0 at end of file. */
static inline int env_read(env_file *f, void *buf, size_t n, size_t *got) {
  return f->owner->ops->read(f, buf, n, got);
}
/* Positional read of up to n bytes at off; *got < n only at end of file. */
static inline int env_pread(env_file *f, uint64_t off, void *buf, size_t n,
                            size_t *got) {
  return f->owner->ops->pread(f, off, buf, n, got);
}
/* Appends all the buffers, in order, retrying short writes. */
static inline int env_appendv(env_file *f, const struct iovec *iov,
                              int iovcnt) {
  return f->owner->ops->appendv(f, iov, iovcnt);
}
static inline int env_append(env_file *f, const void *buf, size_t n) {
  struct iovec v;
  v.iov_base = (void *)buf;
  v.iov_len = n;
  return f->owner->ops->appendv(f, &v, 1);
}
static inline int env_datasync(env_file *f) {
  return f->owner->ops->datasync(f);
}
static inline int env_fsync(env_file *f) { return f->owner->ops->fsync(f); }
static inline int env_file_size(env_file *f, uint64_t *size) {
  return f->owner->ops->file_size(f, size);
}
/* Reserves space for [off, off+len) without changing the file's size
 * (fallocate KEEP_SIZE where available; a no-op success elsewhere). */
static inline int env_preallocate(env_file *f, uint64_t off, uint64_t len) {
  return f->owner->ops->preallocate(f, off, len);
}
static inline int env_truncate(env_file *f, uint64_t len) {
  return f->owner->ops->truncate(f, len);
}
/* Closes and frees the handle; accepts NULL. Does not sync. */
static inline int env_close(env_file *f) {
  return f ? f->owner->ops->close(f) : 0;
}
static inline int env_remove(env *e, const char *path) {
  return e->ops->remove(e, path);
}
/* rename(2): atomic replacement of `to`. */
static inline int env_rename(env *e, const char *from, const char *to) {
  return e->ops->rename(e, from, to);
}
/* fsync of a directory, making creations, renames and removals durable. */
static inline int env_sync_dir(env *e, const char *dir) {
  return e->ops->sync_dir(e, dir);
}
/* mkdir; success if it already exists as a directory. */
static inline int env_mkdir(env *e, const char *path) {
  return e->ops->mkdir(e, path);
}
/* 1 if the path exists, 0 if not. */
static inline int env_exists(env *e, const char *path) {
  return e->ops->exists(e, path);
}
static inline int env_size(env *e, const char *path, uint64_t *size) {
  return e->ops->size(e, path, size);
}
/* Names (not paths) of the entries of `dir` except "." and "..", sorted
 * bytewise. Caller frees with env_free_list. */
static inline int env_list_dir(env *e, const char *dir, char ***names,
                               size_t *count) {
  return e->ops->list_dir(e, dir, names, count);
}
void env_free_list(char **names, size_t count);
/* Takes an exclusive fcntl lock on `path` (created if missing), as LevelDB's
 * LOCK file. STRATA_BUSY if another process, or this process through another
 * handle, holds it. Release with env_unlock_file. */
static inline int env_lock_file(env *e, const char *path, env_lock **out) {
  return e->ops->lock(e, path, out);
}
/* Releases and frees; accepts NULL. */
static inline int env_unlock_file(env_lock *l) {
  return l ? l->owner->ops->unlock(l) : 0;
}

/* The directory part of a path ("." when none); caller frees with free(). */
char *env_dirname(const char *path);

#endif
