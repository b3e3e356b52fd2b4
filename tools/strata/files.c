/*
 * files.c — what the tool infers from file names: table or record log, the
 * default recovery policy of a file (SPEC §2), and the engine of a database
 * directory (SPEC §3: CURRENT → lsm, *.data → bitcask, only *.log → wal; a
 * directory with a MANIFEST-* or a table but no CURRENT, as a damaged LSM
 * database may be, is lsm too).
 */
#include <dirent.h>
#include <string.h>

#include "cli.h"

const char *cli_basename(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/')
    n--; /* "dir/" names "dir" */
  const char *p = path + n;
  while (p > path && p[-1] != '/')
    p--;
  return p;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cli_is_table(const char *path) {
  const char *b = cli_basename(path);
  return ends_with(b, ".ldb") || ends_with(b, ".sst");
}

int cli_is_record_log(const char *path) {
  const char *b = cli_basename(path);
  return ends_with(b, ".log") || strncmp(b, "MANIFEST-", 9) == 0 ||
         ends_with(b, ".data") || ends_with(b, ".hint");
}

strata_recovery cli_default_policy(const char *path) {
  const char *b = cli_basename(path);
  if (ends_with(b, ".log") || strncmp(b, "MANIFEST-", 9) == 0)
    return STRATA_RECOVERY_POINT_IN_TIME;
  return STRATA_RECOVERY_SKIP;
}

const char *cli_detect_engine(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  int lsm = 0, data = 0, log = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, "CURRENT") == 0 ||
        strncmp(e->d_name, "MANIFEST-", 9) == 0 || cli_is_table(e->d_name))
      lsm = 1;
    if (ends_with(e->d_name, ".data")) data = 1;
    if (ends_with(e->d_name, ".log")) log = 1;
  }
  closedir(d);
  return lsm ? "lsm" : data ? "bitcask" : log ? "wal" : NULL;
}
