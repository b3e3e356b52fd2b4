/*
 * status_test.c — status code names, recovery policy and damage kind names,
 * and the thread-local last error (message, errno, ST_CORRUPT).
 */
#include "util/status.h"

#include <errno.h>
#include <pthread.h>

#include "test.h"

static const int all_codes[] = {
    STRATA_OK,        STRATA_NOT_FOUND,        STRATA_CORRUPTION,
    STRATA_IO_ERROR,  STRATA_INVALID_ARGUMENT, STRATA_BUSY,
    STRATA_NO_MEMORY, STRATA_NOT_SUPPORTED,    STRATA_END};
enum { NCODES = sizeof all_codes / sizeof all_codes[0] };

TEST(strerror_every_code) {
  const char *unknown = strata_strerror(9999);
  CHECK(unknown != NULL && *unknown != '\0');
  CHECK(strata_strerror(-1) != NULL);
  for (int i = 0; i < NCODES; i++) {
    const char *s = strata_strerror(all_codes[i]);
    CHECK_MSG(s != NULL && *s != '\0', "code %d", all_codes[i]);
    if (s == NULL) continue;
    CHECK_MSG(strcmp(s, unknown) != 0, "code %d is unknown", all_codes[i]);
    for (int j = 0; j < i; j++)
      CHECK_MSG(strcmp(s, strata_strerror(all_codes[j])) != 0,
                "codes %d and %d share \"%s\"", all_codes[i], all_codes[j], s);
  }
  CHECK_STR(strata_strerror(STRATA_OK), "ok");
  CHECK_STR(strata_strerror(STRATA_CORRUPTION), "corruption");
  CHECK_STR(strata_strerror(STRATA_IO_ERROR), "I/O error");
}

TEST(recovery_names_round_trip) {
  static const struct {
    strata_recovery policy; /* the policy */
    const char *name;       /* its documented name */
  } all[] = {{STRATA_RECOVERY_ABSOLUTE, "absolute"},
             {STRATA_RECOVERY_TOLERATE_TAIL, "tolerate-tail"},
             {STRATA_RECOVERY_POINT_IN_TIME, "point-in-time"},
             {STRATA_RECOVERY_SKIP, "skip"}};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    CHECK_STR(strata_recovery_name(all[i].policy), all[i].name);
    strata_recovery out = (strata_recovery)-1;
    CHECK_EQ(strata_recovery_parse(all[i].name, &out), STRATA_OK);
    CHECK_EQ(out, all[i].policy);
  }
}

TEST(recovery_parse_rejects_unknown) {
  static const char *bad[] = {"",           "Absolute",       "ABSOLUTE",
                              "skip ",      " skip",          "tolerate_tail",
                              "tolerate",   "point-in-time2", "unknown",
                              "pointintime"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strata_recovery out = STRATA_RECOVERY_SKIP;
    st_clear_error();
    CHECK_MSG(strata_recovery_parse(bad[i], &out) == STRATA_INVALID_ARGUMENT,
              "accepted \"%s\"", bad[i]);
    CHECK_MSG(*bad[i] == '\0' || strstr(strata_last_error(), bad[i]) != NULL,
              "message \"%s\" does not name \"%s\"", strata_last_error(),
              bad[i]);
  }
}

TEST(damage_kind_names) {
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_TORN_TAIL), "torn-tail");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_CHECKSUM), "checksum");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_ZEROED), "zeroed");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_TRUNCATED), "truncated");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_MISSING), "missing");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_BAD_LENGTH), "bad-length");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_BAD_TYPE), "bad-type");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_ORPHAN), "orphan-fragment");
  CHECK_STR(strata_damage_kind_name(STRATA_DAMAGE_MISSING_END), "missing-end");
}

TEST(io_error_keeps_errno) {
  st_clear_error();
  CHECK_STR(strata_last_error(), "");
  CHECK_EQ(strata_last_errno(), 0);
  int rc = st_io_error(ENOENT, "open %s", "DB/CURRENT");
  CHECK_EQ(rc, STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOENT);
  char want[256];
  snprintf(want, sizeof want, "open DB/CURRENT: %s", strerror(ENOENT));
  CHECK_STR(strata_last_error(), want);

  rc = st_io_error(ENOSPC, "write %d bytes", 4096);
  CHECK_EQ(rc, STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), ENOSPC);
  CHECK(strstr(strata_last_error(), strerror(ENOSPC)) != NULL);

  /* A non-I/O error resets the kept errno. */
  rc = st_error(STRATA_INVALID_ARGUMENT, "bad %s", "thing");
  CHECK_EQ(rc, STRATA_INVALID_ARGUMENT);
  CHECK_EQ(strata_last_errno(), 0);
  CHECK_STR(strata_last_error(), "bad thing");

  st_io_error(EIO, "x");
  st_clear_error();
  CHECK_STR(strata_last_error(), "");
  CHECK_EQ(strata_last_errno(), 0);
}

TEST(st_corrupt) {
  st_io_error(EIO, "earlier failure");
  int rc = ST_CORRUPT("%s: checksum mismatch at offset %d", "000005.log", 8192);
  CHECK_EQ(rc, STRATA_CORRUPTION);
  CHECK_EQ(strata_last_errno(), 0);
  const char *want = "000005.log: checksum mismatch at offset 8192";
  CHECK_MSG(strncmp(strata_last_error(), want, strlen(want)) == 0,
            "message \"%s\"", strata_last_error());
#ifndef NDEBUG
  /* Debug builds record where the corruption was detected. */
  CHECK_MSG(strstr(strata_last_error(), "status_test.c") != NULL,
            "no location in \"%s\"", strata_last_error());
#else
  CHECK_STR(strata_last_error(), want);
#endif
}

TEST(long_messages_truncate) {
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  st_error(STRATA_CORRUPTION, "%s", big);
  size_t n = strlen(strata_last_error());
  CHECK(n > 0 && n < sizeof big - 1);
  CHECK(strata_last_error()[0] == 'x');
  st_io_error(EIO, "%s", big);
  CHECK(strlen(strata_last_error()) < sizeof big - 1);
  CHECK_EQ(strata_last_errno(), EIO);
  ST_CORRUPT("%s", big);
  CHECK(strlen(strata_last_error()) < sizeof big - 1);
  CHECK(strata_last_error()[0] == 'x');
}

typedef struct {
  char seen[64];  /* the thread's last error before it failed anything */
  int seen_errno; /* its errno then */
} thread_view;

static void *other_thread(void *arg) {
  thread_view *v = arg;
  snprintf(v->seen, sizeof v->seen, "%s", strata_last_error());
  v->seen_errno = strata_last_errno();
  st_io_error(EACCES, "in the other thread");
  return NULL;
}

TEST(last_error_is_per_thread) {
  st_io_error(ENOENT, "main thread");
  thread_view v;
  pthread_t t;
  CHECK(pthread_create(&t, NULL, other_thread, &v) == 0);
  pthread_join(t, NULL);
  CHECK_STR(v.seen, "");
  CHECK_EQ(v.seen_errno, 0);
  CHECK_EQ(strata_last_errno(), ENOENT);
  CHECK(strncmp(strata_last_error(), "main thread", 11) == 0);
}

TEST(version) { CHECK(strata_version() != NULL && *strata_version() != '\0'); }
