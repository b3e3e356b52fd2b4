/*
 * info_log.c — DIR/LOG (see info_log.h). Written only; never parsed.
 */
#include "lsm/info_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "lsm/filename.h"

void lsm_info_log_open(lsm_info_log *l, env *e, const char *dir, int enabled) {
  l->f = NULL;
  pthread_mutex_init(&l->mu, NULL);
  if (!enabled) return;
  char *path = lsm_dir_path(dir, "LOG");
  char *old = lsm_dir_path(dir, "LOG.old");
  if (path && old) {
    if (env_exists(e, path)) env_rename(e, path, old);
    if (env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &l->f)) l->f = NULL;
  }
  free(path);
  free(old);
}

void lsm_info_log_close(lsm_info_log *l) {
  env_close(l->f);
  l->f = NULL;
  pthread_mutex_destroy(&l->mu);
}

void lsm_info(lsm_info_log *l, const char *fmt, ...) {
  if (!l->f) return;
  char line[1024];
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  time_t secs = tv.tv_sec;
  localtime_r(&secs, &tm);
  int n = snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  pthread_mutex_lock(&l->mu);
  env_append(l->f, line, len);
  pthread_mutex_unlock(&l->mu);
}
