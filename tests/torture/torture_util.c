/*
 * torture_util.c — see torture_util.h.
 */
#include "torture_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void trng_seed(trng *r, uint64_t seed) {
  r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (!r->s) r->s = 1;
}

uint64_t trng_next(trng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

uint64_t trng_below(trng *r, uint64_t n) { return n ? trng_next(r) % n : 0; }

unsigned char *t_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
  if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) *len = (size_t)(n > 0 ? n : 0);
  return b;
}

int t_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int rc = (len && fwrite(data, 1, len, f) != len) ? -1 : 0;
  if (fclose(f)) rc = -1;
  return rc;
}

int t_copy_dir(const char *src, const char *dst) {
  if (mkdir(dst, 0755) && errno != EEXIST) return -1;
  DIR *d = opendir(src);
  if (!d) return -1;
  struct dirent *de;
  int rc = 0;
  char a[4096], b[4096];
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    snprintf(a, sizeof a, "%s/%s", src, de->d_name);
    snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
    struct stat st;
    if (stat(a, &st) || !S_ISREG(st.st_mode)) continue;
    size_t n = 0;
    unsigned char *buf = t_read_file(a, &n);
    if (!buf || t_write_file(b, buf, n)) rc = -1;
    free(buf);
  }
  closedir(d);
  return rc;
}

void t_remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *de;
    char p[4096];
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      snprintf(p, sizeof p, "%s/%s", path, de->d_name);
      struct stat st;
      if (!lstat(p, &st) && S_ISDIR(st.st_mode))
        t_remove_tree(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(path);
}

int t_find_file(const char *dir, const char *prefix, const char *suffix,
                char *out, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *de;
  long long best = -1;
  char p[4096];
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    int ok = 0;
    if (prefix && strncmp(de->d_name, prefix, strlen(prefix)) == 0) ok = 1;
    if (suffix && l >= strlen(suffix) &&
        strcmp(de->d_name + l - strlen(suffix), suffix) == 0)
      ok = 1;
    if (!ok) continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    struct stat st;
    if (stat(p, &st) || !S_ISREG(st.st_mode)) continue;
    if ((long long)st.st_size > best) {
      best = (long long)st.st_size;
      snprintf(out, n, "%s", p);
    }
  }
  closedir(d);
  return best >= 0 ? 0 : -1;
}

void t_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

int t_run_child(void (*fn)(void *arg, int fd), void *arg, int timeout_s,
                void *out, size_t cap, size_t *got) {
  int p[2];
  *got = 0;
  if (pipe(p)) return CHILD_CRASH;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return CHILD_CRASH;
  }
  if (pid == 0) {
    close(p[0]);
    alarm((unsigned)timeout_s);
    fn(arg, p[1]);
    close(p[1]);
    _exit(0);
  }
  close(p[1]);
  size_t n = 0;
  for (;;) {
    ssize_t r = read(p[0], (char *)out + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == cap) {
      char sink[256];
      while (read(p[0], sink, sizeof sink) > 0) {
      }
      break;
    }
  }
  close(p[0]);
  *got = n;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return WTERMSIG(status) == SIGALRM ? CHILD_HANG : CHILD_CRASH;
  return WEXITSTATUS(status) == 0 ? CHILD_OK : CHILD_CRASH;
}

double t_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
