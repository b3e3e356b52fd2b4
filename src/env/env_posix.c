/*
 * env_posix.c — the real env: POSIX system calls on Linux.
 *
 * Contract (env.h): no user-space buffering, so a successful append is in the
 * kernel when it returns; datasync/fsync are fdatasync/fsync; creations,
 * renames and removals are durable only after sync_dir. Every OS failure is
 * STRATA_IO_ERROR with errno kept and a message "PATH: operation: strerror";
 * open_read of a missing file is STRATA_NOT_FOUND.
 *
 * Invariants:
 *  - read/pread/appendv retry EINTR and short transfers: a read returns fewer
 *    bytes than asked only at end of file, an append returns only when every
 *    byte was written or on error (then an unknown prefix may be on disk).
 *  - appendv never writes to the caller's iovec array: it copies at most
 *    APPEND_IOV_CHUNK entries at a time into a local array, which also keeps
 *    each writev under IOV_MAX.
 *  - Locks are fcntl(F_SETLK) write locks on the whole file, as LevelDB's.
 *    fcntl locks belong to the process and are dropped when ANY descriptor of
 *    the file is closed, so a second lock of a held file in this process must
 *    be refused before opening it: `held` lists the locks this process holds,
 *    keyed by device and inode (so "./LOCK" and "LOCK" are the same lock),
 *    under `held_mu` (LevelDB's PosixLockTable). A forked child holds none of
 *    its parent's fcntl locks, so an atfork handler empties the list in the
 *    child: there a lock held by the parent is refused by fcntl itself.
 */
#include "env/env.h"

#include "util/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(IOV_MAX) && IOV_MAX < 1024
enum { APPEND_IOV_CHUNK = IOV_MAX };
#else
enum { APPEND_IOV_CHUNK = 1024 };
#endif

/* An open file. */
struct posix_file {
  env_file base;    /* owner and path */
  int fd;           /* the descriptor, owned */
  uint8_t *map;     /* ENV_MMAP: the shared mapping, or NULL */
  uint64_t map_len; /* ENV_MMAP: bytes mapped (the file's size on disk) */
  uint64_t len;     /* ENV_MMAP: bytes appended (the contents' size) */
  int mmapped;      /* opened with ENV_MMAP */
};

enum { MMAP_STEP = 1 << 20 }; /* an ENV_MMAP file grows by at least this */

/* A held lock; also a node of the process-wide `held` list. */
struct posix_lock {
  env_lock base;           /* owner and path */
  int fd;                  /* descriptor carrying the fcntl lock, owned */
  dev_t dev;               /* device of the locked file */
  ino_t ino;               /* inode of the locked file */
  struct posix_lock *next; /* next lock held by this process */
};

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct posix_lock *held; /* locks held by this process, under held_mu */
static pthread_once_t posix_once = PTHREAD_ONCE_INIT;

static int fd_of(env_file *f) { return ((struct posix_file *)f)->fd; }

static int too_big(uint64_t v) { return v > (uint64_t)INT64_MAX; }

static int new_file(env *e, const char *path, int fd, env_file **out) {
  struct posix_file *pf = malloc(sizeof *pf);
  char *copy = strdup(path);
  if (!pf || !copy) {
    free(pf);
    free(copy);
    close(fd);
    return st_error(STRATA_NO_MEMORY, "%s: open: out of memory", path);
  }
  memset(pf, 0, sizeof *pf);
  pf->base.owner = e;
  pf->base.path = copy;
  pf->fd = fd;
  *out = &pf->base;
  return STRATA_OK;
}

static int posix_open_read(env *e, const char *path, env_file **out) {
  *out = NULL;
  int fd;
  do {
    fd = open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT)
      return st_error(STRATA_NOT_FOUND, "%s: open: %s", path, strerror(ENOENT));
    return st_io_error(errno, "%s: open", path);
  }
  return new_file(e, path, fd, out);
}

static int posix_open_append(env *e, const char *path, int flags,
                             env_file **out) {
  *out = NULL;
  int mm = (flags & ENV_MMAP) != 0;
  int oflags = (mm ? O_RDWR : O_WRONLY | O_APPEND) | O_CLOEXEC;
  if (flags & ENV_CREATE) oflags |= O_CREAT;
  if (flags & ENV_TRUNC) oflags |= O_TRUNC;
  if (flags & ENV_EXCL) oflags |= O_CREAT | O_EXCL;
  int fd;
  do {
    fd = open(path, oflags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return st_io_error(errno, "%s: open", path);
  int rc = new_file(e, path, fd, out);
  if (rc || !mm) return rc;
  struct posix_file *pf = (struct posix_file *)*out;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    rc = st_io_error(errno, "%s: fstat", path);
    close(fd);
    free(pf->base.path);
    free(pf);
    *out = NULL;
    return rc;
  }
  pf->mmapped = 1;
  pf->len = pf->map_len = (uint64_t)st.st_size;
  return STRATA_OK;
}

/* Grows an ENV_MMAP file (zero-filled) and its mapping to hold `need`
 * bytes. */
static int mmap_grow(struct posix_file *pf, uint64_t need) {
  uint64_t n = pf->map_len < MMAP_STEP ? MMAP_STEP : pf->map_len;
  while (n < need)
    n += n < 16 * (uint64_t)MMAP_STEP ? n : 16 * (uint64_t)MMAP_STEP;
  if (too_big(n) || n > SIZE_MAX)
    return st_io_error(EFBIG, "%s: append", pf->base.path);
  int r;
  do {
    r = ftruncate(pf->fd, (off_t)n);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return st_io_error(errno, "%s: ftruncate", pf->base.path);
  void *m =
      pf->map ? mremap(pf->map, (size_t)pf->map_len, (size_t)n, MREMAP_MAYMOVE)
              : mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED,
                     pf->fd, 0);
  if (m == MAP_FAILED) {
    int err = errno;
    /* The old mapping stands; shrink the file back to it (if that fails
     * too, the file merely ends in more zeros). */
    if (pf->map && ftruncate(pf->fd, (off_t)pf->map_len) < 0) err = errno;
    return st_io_error(err, "%s: mmap", pf->base.path);
  }
  pf->map = m;
  pf->map_len = n;
  return STRATA_OK;
}

static int mmap_appendv(struct posix_file *pf, const struct iovec *iov,
                        int iovcnt) {
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  if (pf->len + total > pf->map_len) {
    int rc = mmap_grow(pf, pf->len + total);
    if (rc) return rc;
  }
  for (int i = 0; i < iovcnt; i++) {
    if (!iov[i].iov_len) continue;
    memcpy(pf->map + pf->len, iov[i].iov_base, iov[i].iov_len);
    pf->len += iov[i].iov_len;
  }
  return STRATA_OK;
}

static int posix_read(env_file *f, void *buf, size_t n, size_t *got) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd_of(f), (char *)buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = done;
      return st_io_error(errno, "%s: read", f->path);
    }
    if (r == 0) break;
    done += (size_t)r;
  }
  *got = done;
  return STRATA_OK;
}

static int posix_pread(env_file *f, uint64_t off, void *buf, size_t n,
                       size_t *got) {
  size_t done = 0;
  *got = 0;
  if (too_big(off)) return st_io_error(EINVAL, "%s: pread", f->path);
  while (done < n) {
    ssize_t r =
        pread(fd_of(f), (char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = done;
      return st_io_error(errno, "%s: pread", f->path);
    }
    if (r == 0) break;
    done += (size_t)r;
  }
  *got = done;
  return STRATA_OK;
}

static int posix_appendv(env_file *f, const struct iovec *iov, int iovcnt) {
  struct iovec chunk[APPEND_IOV_CHUNK];
  int i = 0;       /* first caller iovec not fully written */
  size_t skip = 0; /* bytes of iov[i] already written */
  if (iovcnt < 0)
    return st_error(STRATA_INVALID_ARGUMENT, "%s: append: iovcnt %d", f->path,
                    iovcnt);
  if (((struct posix_file *)f)->mmapped)
    return mmap_appendv((struct posix_file *)f, iov, iovcnt);
  while (i < iovcnt) {
    int k = 0;
    size_t want = 0;
    for (int j = i; j < iovcnt && k < APPEND_IOV_CHUNK; j++, k++) {
      size_t s = j == i ? skip : 0;
      chunk[k].iov_base = (char *)iov[j].iov_base + s;
      chunk[k].iov_len = iov[j].iov_len - s;
      want += chunk[k].iov_len;
    }
    size_t wrote = 0;
    if (want > 0) {
      ssize_t r = writev(fd_of(f), chunk, k);
      if (r < 0) {
        if (errno == EINTR) continue;
        return st_io_error(errno, "%s: append", f->path);
      }
      if (r == 0) return st_io_error(EIO, "%s: append: wrote nothing", f->path);
      wrote = (size_t)r;
    }
    /* Step past what was written, and past empty buffers. */
    while (i < iovcnt && wrote >= iov[i].iov_len - skip) {
      wrote -= iov[i].iov_len - skip;
      skip = 0;
      i++;
    }
    skip += wrote;
  }
  return STRATA_OK;
}

static int posix_datasync(env_file *f) {
  int r;
  do {
    r = fdatasync(fd_of(f));
  } while (r < 0 && errno == EINTR);
  return r < 0 ? st_io_error(errno, "%s: fdatasync", f->path) : STRATA_OK;
}

static int posix_fsync(env_file *f) {
  int r;
  do {
    r = fsync(fd_of(f));
  } while (r < 0 && errno == EINTR);
  return r < 0 ? st_io_error(errno, "%s: fsync", f->path) : STRATA_OK;
}

static int posix_file_size(env_file *f, uint64_t *size) {
  if (((struct posix_file *)f)->mmapped) {
    *size = ((struct posix_file *)f)->len;
    return STRATA_OK;
  }
  struct stat st;
  if (fstat(fd_of(f), &st) < 0) return st_io_error(errno, "%s: fstat", f->path);
  *size = (uint64_t)st.st_size;
  return STRATA_OK;
}

static int posix_preallocate(env_file *f, uint64_t off, uint64_t len) {
  if (len == 0) return STRATA_OK;
  if (too_big(off) || too_big(len) || too_big(off + len))
    return st_io_error(EINVAL, "%s: fallocate", f->path);
  int r;
  do {
    r = fallocate(fd_of(f), FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EOPNOTSUPP && errno != ENOSYS)
    return st_io_error(errno, "%s: fallocate", f->path);
  return STRATA_OK;
}

static int posix_truncate(env_file *f, uint64_t len) {
  if (too_big(len)) return st_io_error(EINVAL, "%s: ftruncate", f->path);
  struct posix_file *pf = (struct posix_file *)f;
  if (pf->mmapped) { /* the contents end at len; the mapping stays */
    if (len > pf->len)
      return st_io_error(EINVAL, "%s: ftruncate past the end", f->path);
    memset(pf->map + len, 0, (size_t)(pf->len - len));
    pf->len = len;
    return STRATA_OK;
  }
  int r;
  do {
    r = ftruncate(fd_of(f), (off_t)len);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? st_io_error(errno, "%s: ftruncate", f->path) : STRATA_OK;
}

/* On Linux the descriptor is released even when close fails (EINTR
 * included), so it is never retried. */
static int posix_close(env_file *f) {
  struct posix_file *pf = (struct posix_file *)f;
  int rc = STRATA_OK;
  if (pf->mmapped) { /* trim the zero-filled tail */
    if (pf->map && munmap(pf->map, (size_t)pf->map_len) < 0)
      rc = st_io_error(errno, "%s: munmap", f->path);
    int r;
    do {
      r = ftruncate(pf->fd, (off_t)pf->len);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && !rc) rc = st_io_error(errno, "%s: ftruncate", f->path);
  }
  if (close(pf->fd) < 0 && !rc) rc = st_io_error(errno, "%s: close", f->path);
  free(f->path);
  free(pf);
  return rc;
}

static int posix_remove(env *e, const char *path) {
  (void)e;
  if (unlink(path) < 0) return st_io_error(errno, "%s: unlink", path);
  return STRATA_OK;
}

static int posix_rename(env *e, const char *from, const char *to) {
  (void)e;
  if (rename(from, to) < 0)
    return st_io_error(errno, "%s: rename to %s", from, to);
  return STRATA_OK;
}

static int posix_sync_dir(env *e, const char *dir) {
  (void)e;
  int fd;
  do {
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return st_io_error(errno, "%s: open directory", dir);
  int r;
  do {
    r = fsync(fd);
  } while (r < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  return r < 0 ? st_io_error(err, "%s: fsync directory", dir) : STRATA_OK;
}

static int posix_mkdir(env *e, const char *path) {
  (void)e;
  if (mkdir(path, 0755) == 0) return STRATA_OK;
  int err = errno;
  struct stat st;
  if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return STRATA_OK;
  return st_io_error(err, "%s: mkdir", path);
}

/* 0 also when stat fails for another reason than absence (the header's
 * contract has no error result). */
static int posix_exists(env *e, const char *path) {
  (void)e;
  struct stat st;
  return stat(path, &st) == 0;
}

static int posix_size(env *e, const char *path, uint64_t *size) {
  (void)e;
  struct stat st;
  if (stat(path, &st) < 0) return st_io_error(errno, "%s: stat", path);
  *size = (uint64_t)st.st_size;
  return STRATA_OK;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int posix_list_dir(env *e, const char *dir, char ***names,
                          size_t *count) {
  (void)e;
  *names = NULL;
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) return st_io_error(errno, "%s: opendir", dir);
  char **v = NULL;
  size_t n = 0, cap = 0;
  int rc = STRATA_OK;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) rc = st_io_error(errno, "%s: readdir", dir);
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      char **nv = realloc(v, ncap * sizeof *nv);
      if (!nv) {
        rc = st_error(STRATA_NO_MEMORY, "%s: list: out of memory", dir);
        break;
      }
      v = nv;
      cap = ncap;
    }
    if (!(v[n] = strdup(de->d_name))) {
      rc = st_error(STRATA_NO_MEMORY, "%s: list: out of memory", dir);
      break;
    }
    n++;
  }
  closedir(d);
  if (rc != STRATA_OK) {
    env_free_list(v, n);
    return rc;
  }
  if (n > 1) qsort(v, n, sizeof *v, cmp_names);
  *names = v;
  *count = n;
  return STRATA_OK;
}

/* Caller holds held_mu. */
static struct posix_lock *held_find(dev_t dev, ino_t ino) {
  for (struct posix_lock *l = held; l; l = l->next)
    if (l->dev == dev && l->ino == ino) return l;
  return NULL;
}

static int posix_lock(env *e, const char *path, env_lock **out) {
  *out = NULL;
  struct posix_lock *pl = malloc(sizeof *pl);
  char *copy = strdup(path);
  if (!pl || !copy) {
    free(pl);
    free(copy);
    return st_error(STRATA_NO_MEMORY, "%s: lock: out of memory", path);
  }
  int rc = STRATA_OK, fd = -1;
  struct stat st;
  pthread_mutex_lock(&held_mu);
  /* Refuse before opening: closing a second descriptor would drop the lock. */
  if (stat(path, &st) == 0 && held_find(st.st_dev, st.st_ino)) {
    rc = st_error(STRATA_BUSY, "%s: already locked by this process", path);
    goto fail;
  }
  do {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    rc = st_io_error(errno, "%s: open", path);
    goto fail;
  }
  if (fstat(fd, &st) < 0) {
    rc = st_io_error(errno, "%s: fstat", path);
    goto fail;
  }
  if (held_find(st.st_dev, st.st_ino)) {
    /* Only if the path was renamed onto a held lock file since the stat. */
    rc = st_error(STRATA_BUSY, "%s: already locked by this process", path);
    goto fail;
  }
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
  if (fcntl(fd, F_SETLK, &fl) < 0) {
    if (errno == EACCES || errno == EAGAIN)
      rc = st_error(STRATA_BUSY, "%s: locked by another process", path);
    else
      rc = st_io_error(errno, "%s: lock", path);
    goto fail;
  }
  pl->base.owner = e;
  pl->base.path = copy;
  pl->fd = fd;
  pl->dev = st.st_dev;
  pl->ino = st.st_ino;
  pl->next = held;
  held = pl;
  pthread_mutex_unlock(&held_mu);
  *out = &pl->base;
  return STRATA_OK;
fail:
  if (fd >= 0) close(fd);
  pthread_mutex_unlock(&held_mu);
  free(pl);
  free(copy);
  return rc;
}

static int posix_unlock(env_lock *l) {
  struct posix_lock *pl = (struct posix_lock *)l;
  int rc = STRATA_OK;
  pthread_mutex_lock(&held_mu);
  for (struct posix_lock **p = &held; *p; p = &(*p)->next) {
    if (*p == pl) {
      *p = pl->next;
      break;
    }
  }
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(pl->fd, F_SETLK, &fl) < 0)
    rc = st_io_error(errno, "%s: unlock", l->path);
  close(pl->fd);
  pthread_mutex_unlock(&held_mu);
  free(l->path);
  free(pl);
  return rc;
}

static void atfork_prepare(void) { pthread_mutex_lock(&held_mu); }
static void atfork_parent(void) { pthread_mutex_unlock(&held_mu); }
static void atfork_child(void) {
  held = NULL; /* the child inherits none of the fcntl locks */
  pthread_mutex_unlock(&held_mu);
}

static void posix_init(void) {
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static const struct env_ops posix_ops = {
    .open_read = posix_open_read,
    .open_append = posix_open_append,
    .read = posix_read,
    .pread = posix_pread,
    .appendv = posix_appendv,
    .datasync = posix_datasync,
    .fsync = posix_fsync,
    .file_size = posix_file_size,
    .preallocate = posix_preallocate,
    .truncate = posix_truncate,
    .close = posix_close,
    .remove = posix_remove,
    .rename = posix_rename,
    .sync_dir = posix_sync_dir,
    .mkdir = posix_mkdir,
    .exists = posix_exists,
    .size = posix_size,
    .list_dir = posix_list_dir,
    .lock = posix_lock,
    .unlock = posix_unlock,
};

static env posix_env = {&posix_ops, NULL};

env *env_posix(void) {
  pthread_once(&posix_once, posix_init);
  return &posix_env;
}
