/*
 * status.h — internal error reporting.
 *
 * Every failure is returned as a STRATA_* code and, at the same time, leaves a
 * detailed message (and the OS errno, if any) in thread-local storage, read by
 * strata_last_error()/strata_last_errno(). Corruption goes through one macro,
 * ST_CORRUPT, which in debug builds appends " [file:line]" of the source: a
 * single place (st_corruption) to set a breakpoint on.
 *
 * The formatting arguments must not include strata_last_error() itself (it is
 * the buffer being written): copy it first.
 */
#ifndef STRATA_UTIL_STATUS_H
#define STRATA_UTIL_STATUS_H

#include "strata.h"

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* Records `code` with a formatted message and errno 0; returns `code`. */
int st_error(int code, const char *fmt, ...) ST_PRINTF(2, 3);

/* Records STRATA_IO_ERROR with `err` (an errno value) and the message followed
 * by ": " and strerror(err); returns STRATA_IO_ERROR. */
int st_io_error(int err, const char *fmt, ...) ST_PRINTF(2, 3);

/* Records STRATA_CORRUPTION; use through ST_CORRUPT. Returns STRATA_CORRUPTION.
 */
int st_corruption(const char *src_file, int src_line, const char *fmt, ...)
    ST_PRINTF(3, 4);

#define ST_CORRUPT(...) st_corruption(__FILE__, __LINE__, __VA_ARGS__)

/* Clears the thread's last error. */
void st_clear_error(void);

#endif
