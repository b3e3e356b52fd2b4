/*
 * status.c — status codes, their names, and the thread-local last error.
 */
#include "util/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];
static _Thread_local int last_errno;

const char *strata_strerror(int code) {
  switch (code) {
  case STRATA_OK: return "ok";
  case STRATA_NOT_FOUND: return "not found";
  case STRATA_CORRUPTION: return "corruption";
  case STRATA_IO_ERROR: return "I/O error";
  case STRATA_INVALID_ARGUMENT: return "invalid argument";
  case STRATA_BUSY: return "busy";
  case STRATA_NO_MEMORY: return "out of memory";
  case STRATA_NOT_SUPPORTED: return "not supported";
  case STRATA_END: return "end";
  default: return "unknown status";
  }
}

const char *strata_last_error(void) { return last_msg; }
int strata_last_errno(void) { return last_errno; }
const char *strata_version(void) { return "0.1.0"; }

static void vrecord(const char *prefix, const char *fmt, va_list ap) {
  size_t n = 0;
  if (prefix) {
    int k = snprintf(last_msg, sizeof last_msg, "%s", prefix);
    n = k > 0 ? (size_t)k : 0;
    if (n >= sizeof last_msg) n = sizeof last_msg - 1;
  }
  vsnprintf(last_msg + n, sizeof last_msg - n, fmt, ap);
}

int st_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vrecord(NULL, fmt, ap);
  va_end(ap);
  last_errno = 0;
  return code;
}

int st_io_error(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vrecord(NULL, fmt, ap);
  va_end(ap);
  size_t n = strlen(last_msg);
  snprintf(last_msg + n, sizeof last_msg - n, ": %s", strerror(err));
  last_errno = err;
  return STRATA_IO_ERROR;
}

int st_corruption(const char *src_file, int src_line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
#ifndef NDEBUG
  char where[256];
  const char *base = strrchr(src_file, '/');
  snprintf(where, sizeof where, "[%s:%d] ", base ? base + 1 : src_file,
           src_line);
  vrecord(NULL, fmt, ap);
  /* keep the user-facing message first; the debug location goes last */
  size_t n = strlen(last_msg);
  snprintf(last_msg + n, sizeof last_msg - n, " %s", where);
  n = strlen(last_msg);
  if (n && last_msg[n - 1] == ' ') last_msg[n - 1] = '\0';
#else
  (void)src_file;
  (void)src_line;
  vrecord(NULL, fmt, ap);
#endif
  va_end(ap);
  last_errno = 0;
  return STRATA_CORRUPTION;
}

void st_clear_error(void) {
  last_msg[0] = '\0';
  last_errno = 0;
}

const char *strata_recovery_name(strata_recovery policy) {
  switch (policy) {
  case STRATA_RECOVERY_ABSOLUTE: return "absolute";
  case STRATA_RECOVERY_TOLERATE_TAIL: return "tolerate-tail";
  case STRATA_RECOVERY_POINT_IN_TIME: return "point-in-time";
  case STRATA_RECOVERY_SKIP: return "skip";
  }
  return "unknown";
}

int strata_recovery_parse(const char *name, strata_recovery *out) {
  static const strata_recovery all[] = {
      STRATA_RECOVERY_ABSOLUTE, STRATA_RECOVERY_TOLERATE_TAIL,
      STRATA_RECOVERY_POINT_IN_TIME, STRATA_RECOVERY_SKIP};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (name && strcmp(name, strata_recovery_name(all[i])) == 0) {
      *out = all[i];
      return STRATA_OK;
    }
  }
  return st_error(STRATA_INVALID_ARGUMENT, "unknown recovery policy '%s'",
                  name ? name : "");
}

const char *strata_damage_kind_name(strata_damage_kind kind) {
  switch (kind) {
  case STRATA_DAMAGE_TORN_TAIL: return "torn-tail";
  case STRATA_DAMAGE_CHECKSUM: return "checksum";
  case STRATA_DAMAGE_ZEROED: return "zeroed";
  case STRATA_DAMAGE_TRUNCATED: return "truncated";
  case STRATA_DAMAGE_MISSING: return "missing";
  case STRATA_DAMAGE_BAD_LENGTH: return "bad-length";
  case STRATA_DAMAGE_BAD_TYPE: return "bad-type";
  case STRATA_DAMAGE_ORPHAN: return "orphan-fragment";
  case STRATA_DAMAGE_MISSING_END: return "missing-end";
  case STRATA_DAMAGE_SEQUENCE_GAP: return "sequence-gap";
  case STRATA_DAMAGE_BAD_RECORD: return "bad-record";
  }
  return "unknown";
}
