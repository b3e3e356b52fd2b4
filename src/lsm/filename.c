/*
 * filename.c — database file names and the CURRENT file (format in
 * filename.h and docs/formats/manifest.md).
 *
 * CURRENT is the one file replaced in place: it is written under a temporary
 * name, synced, renamed over the old one and the directory synced, so a
 * crash leaves either the old or the new CURRENT, never a torn one. Bytes
 * read from CURRENT are checked character by character; a CURRENT that does
 * not name a MANIFEST exactly is damage, never guessed at.
 */
#include "lsm/filename.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"

static char *fmt_path(const char *dir, const char *fmt, uint64_t number,
                      const char *ext) {
  size_t n = strlen(dir) + 64 + (ext ? strlen(ext) : 0);
  char *p = malloc(n);
  if (!p) return NULL;
  int k = snprintf(p, n, "%s/", dir);
  snprintf(p + k, n - (size_t)k, fmt, number, ext);
  return p;
}

char *lsm_file_path(const char *dir, uint64_t number, const char *ext) {
  return fmt_path(dir, "%06" PRIu64 ".%s", number, ext);
}

char *lsm_manifest_path(const char *dir, uint64_t number) {
  return fmt_path(dir, "MANIFEST-%06" PRIu64 "%s", number, "");
}

char *lsm_dir_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Decimal digits only, at least one, no overflow; *end gets the rest. */
static int parse_number(const char *s, uint64_t *out, const char **end) {
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (p == s) return 0;
  *out = v;
  *end = p;
  return 1;
}

int lsm_parse_file_name(const char *name, lsm_file_type *type,
                        uint64_t *number) {
  static const struct {
    const char *name;
    lsm_file_type type;
  } fixed[] = {{"CURRENT", LSM_FILE_CURRENT}, {"LOCK", LSM_FILE_LOCK},
               {"LOG", LSM_FILE_INFO_LOG},    {"LOG.old", LSM_FILE_INFO_LOG},
               {"LEDGER", LSM_FILE_LEDGER},   {"LEDGER.tmp", LSM_FILE_LEDGER}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (strcmp(name, fixed[i].name) == 0) {
      *type = fixed[i].type;
      *number = 0;
      return 1;
    }
  const char *rest;
  if (strncmp(name, "MANIFEST-", 9) == 0) {
    if (!parse_number(name + 9, number, &rest) || *rest) return 0;
    *type = LSM_FILE_MANIFEST;
    return 1;
  }
  if (!parse_number(name, number, &rest)) return 0;
  if (strcmp(rest, ".log") == 0)
    *type = LSM_FILE_LOG;
  else if (strcmp(rest, ".ldb") == 0 || strcmp(rest, ".sst") == 0)
    *type = LSM_FILE_TABLE;
  else if (strcmp(rest, ".dbtmp") == 0)
    *type = LSM_FILE_TEMP;
  else
    return 0;
  return 1;
}

int lsm_set_current(env *e, const char *dir, uint64_t number) {
  char body[64];
  int n = snprintf(body, sizeof body, "MANIFEST-%06" PRIu64 "\n", number);
  char *tmp = lsm_file_path(dir, number, "dbtmp");
  char *cur = lsm_dir_path(dir, "CURRENT");
  env_file *f = NULL;
  int rc =
      (!tmp || !cur) ? st_error(STRATA_NO_MEMORY, "out of memory") : STRATA_OK;
  if (!rc) rc = env_open_append(e, tmp, ENV_CREATE | ENV_TRUNC, &f);
  if (!rc) rc = env_append(f, body, (size_t)n);
  if (!rc) rc = env_fsync(f);
  if (f) {
    int crc = env_close(f);
    if (!rc) rc = crc;
  }
  if (!rc) rc = env_rename(e, tmp, cur);
  if (!rc) rc = env_sync_dir(e, dir);
  if (rc && tmp) env_remove(e, tmp);
  free(tmp);
  free(cur);
  return rc;
}

int lsm_read_current(env *e, const char *dir, uint64_t *number) {
  char *cur = lsm_dir_path(dir, "CURRENT");
  if (!cur) return st_error(STRATA_NO_MEMORY, "out of memory");
  env_file *f = NULL;
  char buf[64];
  size_t got = 0;
  int rc = env_open_read(e, cur, &f);
  if (rc == STRATA_NOT_FOUND) {
    rc = st_error(STRATA_NOT_FOUND, "%s: does not exist", cur);
    goto out;
  }
  if (!rc) rc = env_pread(f, 0, buf, sizeof buf - 1, &got);
  if (rc) goto out;
  buf[got] = 0;
  const char *rest;
  if (got == 0)
    rc = ST_CORRUPT("%s: empty", cur);
  else if (memchr(buf, 0, got))
    rc = ST_CORRUPT("%s: holds a zero byte", cur);
  else if (got == sizeof buf - 1)
    rc = ST_CORRUPT("%s: longer than a MANIFEST name", cur);
  else if (buf[got - 1] != '\n')
    rc = ST_CORRUPT("%s: does not end with a newline", cur);
  else if (strncmp(buf, "MANIFEST-", 9) != 0 ||
           !parse_number(buf + 9, number, &rest) || strcmp(rest, "\n") != 0)
    rc = ST_CORRUPT("%s: does not name a MANIFEST file", cur);
out:
  env_close(f);
  free(cur);
  return rc;
}
