/*
 * env_posix_test.c — the POSIX env: file I/O, namespace operations, errors
 * (codes, errno, messages naming the path) and the LOCK-file lock, within
 * this process and across a fork.
 */
#include "env/env.h"
#include "test.h"

#include "strata.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes `s` as the whole content of path. */
static void put(const char *path, const char *s) {
  env_file *f;
  CHECK_EQ(env_open_append(env_posix(), path, ENV_CREATE | ENV_TRUNC, &f),
           STRATA_OK);
  CHECK_EQ(env_append(f, s, strlen(s)), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
}

/* Reads the whole file into buf (NUL-terminated); returns its length. */
static size_t slurp(const char *path, char *buf, size_t cap) {
  env_file *f;
  size_t got = 0;
  CHECK_EQ(env_open_read(env_posix(), path, &f), STRATA_OK);
  if (!f) return 0;
  CHECK_EQ(env_read(f, buf, cap - 1, &got), STRATA_OK);
  buf[got] = '\0';
  CHECK_EQ(env_close(f), STRATA_OK);
  return got;
}

static int contains(const char *hay, const char *needle) {
  return strstr(hay, needle) != NULL;
}

TEST(append_and_read) {
  env *e = env_posix();
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("f"));
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE, &f), STRATA_OK);
  CHECK_STR(f->path, path);
  CHECK(f->owner == e);
  CHECK_EQ(env_append(f, "hello", 5), STRATA_OK);
  struct iovec v[3] = {
      {(void *)", ", 2}, {(void *)"", 0}, {(void *)"world", 5}};
  CHECK_EQ(env_appendv(f, v, 3), STRATA_OK);
  CHECK_EQ(env_appendv(f, v, 0), STRATA_OK);
  uint64_t size = 0;
  CHECK_EQ(env_file_size(f, &size), STRATA_OK);
  CHECK_U64(size, 12);
  CHECK_EQ(env_datasync(f), STRATA_OK);
  CHECK_EQ(env_fsync(f), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);

  CHECK_EQ(env_open_read(e, path, &f), STRATA_OK);
  char buf[32];
  size_t got = 0;
  CHECK_EQ(env_read(f, buf, 5, &got), STRATA_OK);
  CHECK_MEM(buf, got, "hello", 5);
  CHECK_EQ(env_read(f, buf, sizeof buf, &got), STRATA_OK); /* short: EOF */
  CHECK_MEM(buf, got, ", world", 7);
  CHECK_EQ(env_read(f, buf, sizeof buf, &got), STRATA_OK);
  CHECK_EQ(got, 0);
  CHECK_EQ(env_file_size(f, &size), STRATA_OK);
  CHECK_U64(size, 12);
  CHECK_EQ(env_close(f), STRATA_OK);

  /* Appending reopens at the end; ENV_TRUNC empties. */
  CHECK_EQ(env_open_append(e, path, 0, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "!", 1), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(slurp(path, buf, sizeof buf), 13);
  CHECK_STR(buf, "hello, world!");
  CHECK_EQ(env_open_append(e, path, ENV_TRUNC, &f), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_size(e, path, &size), STRATA_OK);
  CHECK_U64(size, 0);
  CHECK_EQ(env_close(NULL), 0);
}

/* ENV_MMAP: appends land in a shared mapping grown in steps; the size seen
 * through the env is the contents', the file on disk is longer (zeros) until
 * close trims it; a process killed mid-way leaves every append it made
 * (they were in the page cache) followed by zeros. */
TEST(mmap_appends) {
  env *e = env_posix();
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("m"));
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE | ENV_TRUNC | ENV_MMAP, &f),
           STRATA_OK);
  static char rec[1000];
  uint64_t want = 0;
  for (int i = 0; i < 3000; i++) { /* 3 MB: the mapping grows twice */
    memset(rec, 'a' + i % 26, sizeof rec);
    struct iovec v[2] = {{(void *)"<", 1}, {rec, (size_t)(i % 1000)}};
    CHECK_EQ(env_appendv(f, v, 2), STRATA_OK);
    want += 1 + (uint64_t)(i % 1000);
  }
  uint64_t size = 0, disk = 0;
  CHECK_EQ(env_file_size(f, &size), STRATA_OK);
  CHECK_U64(size, want);
  CHECK_EQ(env_size(e, path, &disk), STRATA_OK);
  CHECK(disk >= want);
  CHECK_EQ(env_datasync(f), STRATA_OK);
  CHECK_EQ(env_truncate(f, want - 10), STRATA_OK); /* contents shrink */
  want -= 10;
  CHECK_EQ(env_append(f, "0123456789", 10), STRATA_OK);
  want += 10;
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_size(e, path, &disk), STRATA_OK);
  CHECK_U64(disk, want);
  /* the bytes are the ones appended */
  CHECK_EQ(env_open_read(e, path, &f), STRATA_OK);
  char *buf = malloc((size_t)want);
  size_t got = 0;
  CHECK_EQ(env_pread(f, 0, buf, (size_t)want, &got), STRATA_OK);
  CHECK_U64(got, want);
  size_t off = 0;
  int same = 1;
  for (int i = 0; i < 3000 && same; i++) {
    size_t n = (size_t)(i % 1000);
    if (i == 2999) n -= 10;
    same = buf[off] == '<';
    for (size_t j = 0; j < n && same; j++)
      same = buf[off + 1 + j] == 'a' + i % 26;
    off += 1 + n;
  }
  CHECK(same);
  CHECK_MEM(buf + want - 10, 10, "0123456789", 10);
  free(buf);
  CHECK_EQ(env_close(f), STRATA_OK);

  /* killed: the appends survive, then zeros */
  pid_t pid = fork();
  if (pid == 0) {
    env_file *g;
    if (env_open_append(e, path, ENV_TRUNC | ENV_MMAP, &g)) _exit(1);
    for (int i = 0; i < 100; i++)
      if (env_append(g, "record-", 7)) _exit(1);
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st));
  CHECK_EQ(env_size(e, path, &disk), STRATA_OK);
  CHECK(disk >= 700);
  CHECK_EQ(env_open_read(e, path, &f), STRATA_OK);
  buf = malloc((size_t)disk);
  CHECK_EQ(env_pread(f, 0, buf, (size_t)disk, &got), STRATA_OK);
  CHECK_U64(got, disk);
  for (int i = 0; i < 100; i++)
    CHECK_MEM(buf + 7 * i, 7, "record-", 7);
  int zeros = 1;
  for (uint64_t i = 700; i < disk; i++)
    zeros &= buf[i] == 0;
  CHECK(zeros);
  free(buf);
  CHECK_EQ(env_close(f), STRATA_OK);
}

TEST(appendv_2000_buffers) {
  enum { N = 2000 };
  static struct iovec v[N], copy[N];
  static char data[N * 8];
  size_t total = 0;
  for (int i = 0; i < N; i++) {
    size_t len = (size_t)(i % 9); /* some buffers are empty */
    for (size_t j = 0; j < len; j++)
      data[total + j] = (char)('a' + (i + j) % 26);
    v[i].iov_base = data + total;
    v[i].iov_len = len;
    total += len;
  }
  memcpy(copy, v, sizeof v);
  env_file *f;
  CHECK_EQ(env_open_append(env_posix(), test_path("v"), ENV_CREATE, &f),
           STRATA_OK);
  CHECK_EQ(env_appendv(f, v, N), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK(memcmp(copy, v, sizeof v) == 0); /* the caller's array is untouched */
  static char back[N * 8 + 1];
  CHECK_EQ(slurp(test_path("v"), back, sizeof back), total);
  CHECK_MEM(back, total, data, total);
}

/* Partial writes and EINTR: a FIFO drained slowly by a thread, while an
 * interval timer interrupts the blocked writev (SIGALRM without SA_RESTART),
 * which then returns a short count or fails with EINTR. */
struct drain {
  char path[4096]; /* the FIFO */
  char *buf;       /* everything read */
  size_t len;      /* bytes in buf */
  size_t cap;      /* capacity of buf */
};

static void *drain_fifo(void *arg) {
  struct drain *d = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  int fd = open(d->path, O_RDONLY);
  if (fd < 0) return NULL;
  for (;;) {
    ssize_t r = read(fd, d->buf + d->len,
                     d->cap - d->len < 997 ? d->cap - d->len : 997);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    d->len += (size_t)r;
    usleep(50);
  }
  close(fd);
  return NULL;
}

static void on_alarm(int sig) { (void)sig; }

TEST(appendv_partial_writes_and_eintr) {
  enum { N = 3000, LEN = 257 };
  static char data[N * LEN];
  static struct iovec v[N], copy[N];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (char)(i * 7 + i / 251);
  for (int i = 0; i < N; i++) {
    v[i].iov_base = data + (size_t)i * LEN;
    v[i].iov_len = LEN;
  }
  memcpy(copy, v, sizeof v);
  static struct drain d;
  memset(&d, 0, sizeof d);
  snprintf(d.path, sizeof d.path, "%s", test_path("fifo"));
  CHECK(mkfifo(d.path, 0600) == 0);
  d.cap = sizeof data + 1;
  d.buf = malloc(d.cap);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: writev returns early */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, drain_fifo, &d) == 0);
  env_file *f;
  CHECK_EQ(env_open_append(env_posix(), d.path, 0, &f), STRATA_OK);
  struct itimerval it = {{0, 500}, {0, 500}};
  setitimer(ITIMER_REAL, &it, NULL);
  CHECK_EQ(env_appendv(f, v, N), STRATA_OK);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  CHECK_EQ(env_close(f), STRATA_OK);
  pthread_join(t, NULL);
  sigaction(SIGALRM, &old, NULL);
  CHECK_MEM(d.buf, d.len, data, sizeof data);
  CHECK(memcmp(copy, v, sizeof v) == 0);
  free(d.buf);
}

TEST(pread_short_at_eof) {
  put(test_path("p"), "0123456789");
  env_file *f;
  CHECK_EQ(env_open_read(env_posix(), test_path("p"), &f), STRATA_OK);
  char buf[16];
  size_t got = 99;
  CHECK_EQ(env_pread(f, 3, buf, 4, &got), STRATA_OK);
  CHECK_MEM(buf, got, "3456", 4);
  CHECK_EQ(env_pread(f, 7, buf, 10, &got), STRATA_OK);
  CHECK_MEM(buf, got, "789", 3);
  CHECK_EQ(env_pread(f, 10, buf, 10, &got), STRATA_OK);
  CHECK_EQ(got, 0);
  CHECK_EQ(env_pread(f, 1000, buf, 10, &got), STRATA_OK);
  CHECK_EQ(got, 0);
  /* pread does not move the sequential position */
  CHECK_EQ(env_read(f, buf, 2, &got), STRATA_OK);
  CHECK_MEM(buf, got, "01", 2);
  CHECK_EQ(env_close(f), STRATA_OK);
}

TEST(truncate_and_preallocate) {
  env *e = env_posix();
  env_file *f;
  uint64_t size = 0;
  CHECK_EQ(env_open_append(e, test_path("t"), ENV_CREATE, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "0123456789", 10), STRATA_OK);
  CHECK_EQ(env_preallocate(f, 0, 1 << 20), STRATA_OK);
  CHECK_EQ(env_preallocate(f, 5, 0), STRATA_OK);
  CHECK_EQ(env_file_size(f, &size), STRATA_OK);
  CHECK_U64(size, 10);
  CHECK_EQ(env_size(e, test_path("t"), &size), STRATA_OK);
  CHECK_U64(size, 10);
  CHECK_EQ(env_truncate(f, 4), STRATA_OK);
  CHECK_EQ(env_append(f, "X", 1), STRATA_OK); /* O_APPEND: at the new end */
  CHECK_EQ(env_close(f), STRATA_OK);
  char buf[32];
  CHECK_EQ(slurp(test_path("t"), buf, sizeof buf), 5);
  CHECK_STR(buf, "0123X");
}

TEST(rename_replaces) {
  env *e = env_posix();
  char a[4096], b[4096], buf[32];
  snprintf(a, sizeof a, "%s", test_path("a"));
  snprintf(b, sizeof b, "%s", test_path("b"));
  put(a, "old");
  put(b, "new");
  env_file *f; /* a reader of the old file keeps seeing it */
  CHECK_EQ(env_open_read(e, a, &f), STRATA_OK);
  CHECK_EQ(env_rename(e, b, a), STRATA_OK);
  CHECK_EQ(env_exists(e, b), 0);
  CHECK_EQ(slurp(a, buf, sizeof buf), 3);
  CHECK_STR(buf, "new");
  size_t got = 0;
  CHECK_EQ(env_pread(f, 0, buf, 3, &got), STRATA_OK);
  CHECK_MEM(buf, got, "old", 3);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);

  CHECK_EQ(env_rename(e, b, a), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
  CHECK(contains(strata_last_error(), b));
  CHECK(contains(strata_last_error(), "rename"));
}

TEST(remove_exists_size) {
  env *e = env_posix();
  char p[4096];
  snprintf(p, sizeof p, "%s", test_path("r"));
  CHECK_EQ(env_exists(e, p), 0);
  put(p, "xyz");
  CHECK_EQ(env_exists(e, p), 1);
  CHECK_EQ(env_exists(e, test_tmpdir()), 1);
  uint64_t size = 0;
  CHECK_EQ(env_size(e, p, &size), STRATA_OK);
  CHECK_U64(size, 3);
  CHECK_EQ(env_remove(e, p), STRATA_OK);
  CHECK_EQ(env_exists(e, p), 0);
  CHECK_EQ(env_remove(e, p), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
  CHECK(contains(strata_last_error(), p));
  CHECK_EQ(env_size(e, p, &size), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
  CHECK(contains(strata_last_error(), p));
}

TEST(mkdir_idempotent) {
  env *e = env_posix();
  char d[4096];
  snprintf(d, sizeof d, "%s", test_path("sub"));
  CHECK_EQ(env_mkdir(e, d), STRATA_OK);
  CHECK_EQ(env_mkdir(e, d), STRATA_OK);
  CHECK_EQ(env_exists(e, d), 1);
  CHECK_EQ(env_sync_dir(e, d), STRATA_OK);
  put(test_path("file"), "x");
  CHECK_EQ(env_mkdir(e, test_path("file")), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), EEXIST);
  CHECK_EQ(env_sync_dir(e, test_path("nodir")), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
}

TEST(list_dir_sorted) {
  env *e = env_posix();
  const char *names[] = {"b", "a", "c", "B", "a1", "_"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    put(test_path(names[i]), "x");
  CHECK_EQ(env_mkdir(e, test_path("d")), STRATA_OK);
  char **list = NULL;
  size_t n = 0;
  CHECK_EQ(env_list_dir(e, test_tmpdir(), &list, &n), STRATA_OK);
  const char *want[] = {"B", "_", "a", "a1", "b", "c", "d"};
  CHECK_EQ(n, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++)
    CHECK_STR(list[i], want[i]);
  env_free_list(list, n);

  CHECK_EQ(env_list_dir(e, test_path("d"), &list, &n), STRATA_OK);
  CHECK_EQ(n, 0);
  env_free_list(list, n);
  env_free_list(NULL, 0);

  CHECK_EQ(env_list_dir(e, test_path("none"), &list, &n), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
  CHECK(contains(strata_last_error(), test_path("none")));
}

TEST(errors_name_path_and_keep_errno) {
  env *e = env_posix();
  char p[4096];
  snprintf(p, sizeof p, "%s", test_path("missing"));
  env_file *f = (env_file *)1;
  CHECK_EQ(env_open_read(e, p, &f), STRATA_NOT_FOUND);
  CHECK(f == NULL);
  CHECK(contains(strata_last_error(), p));
  CHECK(contains(strata_last_error(), "open"));

  /* ENOTDIR: a path below a regular file. */
  put(test_path("plain"), "x");
  char below[4096];
  snprintf(below, sizeof below, "%s/x", test_path("plain"));
  CHECK_EQ(env_open_append(e, below, ENV_CREATE, &f), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOTDIR);
  CHECK(contains(strata_last_error(), below));
  CHECK_EQ(env_open_read(e, below, &f), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOTDIR);

  /* EEXIST from ENV_EXCL. */
  CHECK_EQ(env_open_append(e, test_path("plain"), ENV_CREATE | ENV_EXCL, &f),
           STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), EEXIST);

  /* EACCES, unless running as root (which bypasses permissions). */
  if (geteuid() != 0) {
    CHECK(chmod(test_path("plain"), 0) == 0);
    CHECK_EQ(env_open_read(e, test_path("plain"), &f), STRATA_IO_ERROR);
    CHECK_EQ(strata_last_errno(), EACCES);
    CHECK(contains(strata_last_error(), test_path("plain")));
  }
}

TEST(dirname) {
  const char *cases[][2] = {{"a/b", "a"}, {"b", "."},     {"/b", "/"},
                            {"/", "/"},   {"a//b/", "a"}, {"/x/y/z", "/x/y"},
                            {"", "."},    {"b/", "."},    {"//", "/"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *d = env_dirname(cases[i][0]);
    CHECK(d != NULL);
    if (d) CHECK_STR(d, cases[i][1]);
    free(d);
  }
}

/* Forks a child that tries the lock; returns its exit status:
 * 0 taken, 1 STRATA_BUSY from another process, 2 anything else. */
static int child_tries_lock(const char *path) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    env_lock *l = NULL;
    int rc = env_lock_file(env_posix(), path, &l);
    if (rc == STRATA_OK) _exit(env_unlock_file(l) == STRATA_OK ? 0 : 2);
    _exit(rc == STRATA_BUSY && contains(strata_last_error(), path) &&
                  contains(strata_last_error(), "another process")
              ? 1
              : 2);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

TEST(lock_in_process_and_across_fork) {
  env *e = env_posix();
  char p[4096], alias[4096];
  snprintf(p, sizeof p, "%s", test_path("LOCK"));
  snprintf(alias, sizeof alias, "%s/./LOCK", test_tmpdir());
  env_lock *l = NULL, *l2 = NULL;
  CHECK_EQ(env_lock_file(e, p, &l), STRATA_OK);
  CHECK(l && l->owner == e);
  CHECK_EQ(env_exists(e, p), 1);
  /* Same process, same path or another spelling of it: busy. */
  CHECK_EQ(env_lock_file(e, p, &l2), STRATA_BUSY);
  CHECK(l2 == NULL);
  CHECK(contains(strata_last_error(), p));
  CHECK_EQ(env_lock_file(e, alias, &l2), STRATA_BUSY);
  /* Those refusals did not drop the fcntl lock: another process is refused. */
  CHECK_EQ(child_tries_lock(p), 1);
  CHECK_EQ(env_unlock_file(l), STRATA_OK);
  /* Free again: the child, then this process, can take it. */
  CHECK_EQ(child_tries_lock(p), 0);
  CHECK_EQ(env_lock_file(e, p, &l), STRATA_OK);
  CHECK_EQ(env_unlock_file(l), STRATA_OK);
  CHECK_EQ(env_unlock_file(NULL), 0);
}

TEST(lock_held_by_child_is_busy) {
  env *e = env_posix();
  char p[4096];
  snprintf(p, sizeof p, "%s", test_path("LOCK"));
  int ready[2], done[2];
  CHECK(pipe(ready) == 0 && pipe(done) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    env_lock *l = NULL;
    char c = env_lock_file(env_posix(), p, &l) == STRATA_OK ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    while (read(done[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(env_unlock_file(l) == STRATA_OK ? 0 : 2);
  }
  CHECK(pid > 0);
  char c = 0;
  CHECK(read(ready[0], &c, 1) == 1);
  CHECK(c == 'y');
  env_lock *l = NULL;
  CHECK_EQ(env_lock_file(e, p, &l), STRATA_BUSY);
  CHECK(contains(strata_last_error(), "locked by another process"));
  CHECK(write(done[1], "x", 1) == 1);
  int status = -1;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(env_lock_file(e, p, &l), STRATA_OK);
  CHECK_EQ(env_unlock_file(l), STRATA_OK);
  close(ready[0]);
  close(ready[1]);
  close(done[0]);
  close(done[1]);
}
