/*
 * leveldb_cli_test.c — `strata dump` and `strata verify` on a .log file that
 * real LevelDB 1.23 wrote (through its C API, at test time): clean, and with
 * one byte flipped in its middle, where both commands must name exactly the
 * region lost (the damaged batch's bytes) and dump --recovery skip must return
 * every other batch.
 */
#include "test.h"

#include "strata.h"

#include <leveldb/c.h>

#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>

enum { NBATCH = 200, VALUE_LEN = 1000 };

static void key_of(int i, char *buf) { sprintf(buf, "key%05d", i); }

/* Runs `strata ARGS` and returns its stdout (caller frees) and exit status. */
static char *run_strata(const char *args, int *status) {
  const char *bin = getenv("STRATA_BIN");
  CHECK_MSG(bin && *bin, "STRATA_BIN is not set");
  if (!bin) return NULL;
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin, args);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return NULL;
  size_t cap = 1 << 20, n = 0;
  char *out = malloc(cap);
  size_t got;
  while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
    n += got;
    if (n + 1 == cap) out = realloc(out, cap *= 2);
  }
  out[n] = 0;
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

/* LevelDB writes NBATCH single-put batches; returns the path of its log. */
static void leveldb_write_log(const char *dir, char *log, size_t logsz) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_write_buffer_size(o, 64u << 20);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  CHECK_MSG(db && !err, "leveldb_open: %s", err ? err : "?");
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char value[VALUE_LEN];
  for (int i = 0; i < NBATCH && db && !err; i++) {
    char key[32];
    key_of(i, key);
    for (int j = 0; j < VALUE_LEN; j++)
      value[j] = (char)('a' + (i + j) % 26);
    leveldb_put(db, wo, key, strlen(key), value, VALUE_LEN, &err);
  }
  CHECK(!err);
  leveldb_free(err);
  leveldb_writeoptions_destroy(wo);
  if (db) leveldb_close(db);
  leveldb_options_destroy(o);
  /* The highest-numbered .log holds the batches (the write buffer never
   * filled, so nothing was flushed to a table). */
  DIR *d = opendir(dir);
  unsigned long best = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    unsigned long num;
    char ext[8];
    if (sscanf(e->d_name, "%lu.%7s", &num, ext) == 2 &&
        strcmp(ext, "log") == 0 && num > best)
      best = num;
  }
  if (d) closedir(d);
  CHECK(best > 0);
  snprintf(log, logsz, "%.3000s/%06lu.log", dir, best);
}

/* Offsets [start, end) of each record of a clean log, by strata's reader. */
static int record_bounds(const char *log, uint64_t *start, uint64_t *end) {
  strata_log_reader *r;
  CHECK_EQ(
      strata_log_reader_open(log, STRATA_RECOVERY_ABSOLUTE, NULL, NULL, &r),
      STRATA_OK);
  const void *d;
  size_t n;
  strata_log_record_info info;
  int k = 0;
  while (strata_log_reader_next(r, &d, &n, &info) == STRATA_OK && k < NBATCH) {
    start[k] = info.offset;
    end[k] = info.end;
    k++;
  }
  strata_log_reader_close(r);
  return k;
}

TEST(dump_and_verify_leveldb_log) {
  char dir[4096], log[4096], args[8192];
  snprintf(dir, sizeof dir, "%s", test_path("ldb"));
  leveldb_write_log(dir, log, sizeof log);
  static uint64_t start[NBATCH], end[NBATCH];
  CHECK_EQ(record_bounds(log, start, end), NBATCH);

  int st;
  snprintf(args, sizeof args, "verify '%s'", log);
  char *out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  free(out);
  snprintf(args, sizeof args, "dump '%s'", log);
  out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  if (out) {
    CHECK_EQ(count_of(out, "\nrecord\t") + (strncmp(out, "record\t", 7) == 0),
             NBATCH);
    CHECK(strstr(out, "\tput\tkey00000\t") != NULL);
    CHECK(strstr(out, "seq=200\t") != NULL);
  }
  free(out);

  /* Flip one byte in the middle of the file. */
  FILE *f = fopen(log, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  long mid = size / 2;
  fseek(f, mid, SEEK_SET);
  int c = fgetc(f);
  fseek(f, mid, SEEK_SET);
  fputc(c ^ 0x08, f);
  fclose(f);
  int bad = -1;
  for (int i = 0; i < NBATCH; i++)
    if ((uint64_t)mid >= start[i] && (uint64_t)mid < end[i]) bad = i;
  CHECK(bad >= 0);
  if (bad < 0) return;
  char want[256];
  snprintf(want, sizeof want, "\"offset\":%llu,\"bytes\":%llu,",
           (unsigned long long)start[bad],
           (unsigned long long)(end[bad] - start[bad]));

  snprintf(args, sizeof args, "verify --json '%s'", log);
  out = run_strata(args, &st);
  CHECK_EQ(st, 1);
  if (out) {
    CHECK_MSG(strstr(out, want) != NULL, "verify --json lacks %s: %.400s", want,
              out);
    CHECK_EQ(count_of(out, "\"kind\":"), 1);
    CHECK(strstr(out, "\"ok\":false") != NULL);
  }
  free(out);

  snprintf(args, sizeof args, "dump --recovery skip '%s'", log);
  out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  if (out) {
    CHECK_EQ(count_of(out, "\nrecord\t") + (strncmp(out, "record\t", 7) == 0),
             NBATCH - 1);
    snprintf(want, sizeof want, "drop\toffset=%llu\tbytes=%llu\t",
             (unsigned long long)start[bad],
             (unsigned long long)(end[bad] - start[bad]));
    CHECK_MSG(strstr(out, want) != NULL, "dump lacks the drop line %s", want);
    CHECK_EQ(count_of(out, "\ndrop\t"), 1);
    for (int i = 0; i < NBATCH; i++) {
      char key[32], line[64];
      key_of(i, key);
      snprintf(line, sizeof line, "\tput\t%s\t", key);
      CHECK_MSG((strstr(out, line) != NULL) == (i != bad), "batch %d (%s) %s",
                i, key, i == bad ? "returned" : "missing");
    }
  }
  free(out);

  /* The default for *.log is point-in-time: the prefix only. */
  snprintf(args, sizeof args, "dump '%s'", log);
  out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  if (out)
    CHECK_EQ(count_of(out, "\nrecord\t") + (strncmp(out, "record\t", 7) == 0),
             bad);
  free(out);
  snprintf(args, sizeof args, "dump --recovery absolute '%s'", log);
  out = run_strata(args, &st);
  CHECK_EQ(st, 3);
  free(out);
}
