/*
 * report.c — the tool's diagnostics: one line "strata: ..." on stderr per
 * failure, and the mapping from library status codes to exit codes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void cli_error(const char *fmt, ...) {
  va_list ap;
  fflush(stdout); /* keep the order of stdout and stderr on a terminal */
  fputs("strata: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int cli_fail(int status, const char *path) {
  const char *msg = strata_last_error();
  if (!*msg) msg = strata_strerror(status);
  if (path && !strstr(msg, path))
    cli_error("%s: %s", path, msg);
  else
    cli_error("%s", msg);
  switch (status) {
  case STRATA_CORRUPTION: return CLI_REFUSED;
  case STRATA_INVALID_ARGUMENT: return CLI_USAGE;
  default: return CLI_FAILED;
  }
}

const char *cli_errno_text(int err) {
  static char buf[256];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  /* "No such file or directory" → "no such file or directory", but leave
   * words like "I/O" alone */
  if (isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
    buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

int cli_check_path(const char *path, int *is_dir) {
  struct stat st;
  if (stat(path, &st) != 0) {
    cli_error("%s: %s", path, cli_errno_text(errno));
    return CLI_FAILED;
  }
  *is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
  return CLI_OK;
}

void cli_out_of_memory(void) {
  cli_error("out of memory");
  exit(CLI_FAILED);
}
