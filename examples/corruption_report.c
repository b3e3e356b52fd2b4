/*
 * corruption_report.c — what an application sees when a file is damaged.
 *
 * strata never returns damaged bytes. When it drops something it tells you
 * through a damage callback (strata_damage_fn: file, offset, bytes, kind,
 * reason, records lost); when a call fails, strata_last_error() holds one
 * line naming the file and the offset. This program writes a small Bitcask
 * store, flips one byte in the middle of its data file (standing in for a
 * disk fault), and opens it twice:
 *   - under STRATA_RECOVERY_ABSOLUTE, open refuses: STRATA_CORRUPTION;
 *   - under the default skip policy, open drops only the damaged record,
 *     reports it, and strata_bitcask_lost_keys names the key it cost.
 *
 *   build: cc corruption_report.c $(pkg-config --cflags --libs strata)
 *   run:   ./a.out DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata.h>

static void check(int rc, const char *what) {
  if (rc == STRATA_OK) return;
  fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc),
          strata_last_error());
  exit(1);
}

/* Called once per dropped region; the struct lives only during the call. */
static void on_damage(void *arg, const strata_damage *d) {
  int *regions = arg;
  (*regions)++;
  printf("damage: %s at offset %llu, %llu bytes, kind %s, >= %llu record(s) "
         "lost: %s\n",
         d->file, (unsigned long long)d->offset, (unsigned long long)d->bytes,
         strata_damage_kind_name(d->kind), (unsigned long long)d->records,
         d->reason);
}

/* Called per key whose newest record was lost. */
static void on_lost(void *arg, const void *key, size_t klen, const char *file,
                    uint64_t offset, uint64_t timestamp) {
  (void)arg;
  (void)timestamp;
  printf("lost key: %.*s (its record at %s offset %llu)\n", (int)klen,
         (const char *)key, file, (unsigned long long)offset);
}

/* Simulates a disk fault: inverts the byte at the middle of `path`. */
static void flip_middle_byte(const char *path) {
  FILE *f = fopen(path, "r+b");
  if (!f || fseek(f, 0, SEEK_END) != 0) exit(1);
  long middle = ftell(f) / 2;
  int c;
  if (fseek(f, middle, SEEK_SET) != 0 || (c = fgetc(f)) == EOF) exit(1);
  if (fseek(f, middle, SEEK_SET) != 0 || fputc(c ^ 0xff, f) == EOF) exit(1);
  fclose(f);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "corruption_report.db";
  strata_bitcask *db;
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);

  /* 100 keys of 200-byte values, each in its own record. */
  check(strata_bitcask_open(dir, &o, &db), "open");
  for (int i = 0; i < 100; i++) {
    char key[16], value[200];
    snprintf(key, sizeof key, "key%03d", i);
    memset(value, 'a' + i % 26, sizeof value);
    check(strata_bitcask_put(db, key, strlen(key), value, sizeof value), "put");
  }
  check(strata_bitcask_sync(db), "sync");
  check(strata_bitcask_close(db), "close");

  char data[4096];
  snprintf(data, sizeof data, "%s/000001.data", dir);
  flip_middle_byte(data);

  /* The strict policy refuses, and says where. */
  o.recovery = STRATA_RECOVERY_ABSOLUTE;
  o.read_only = 1;
  int rc = strata_bitcask_open(dir, &o, &db);
  printf("absolute: %s: %s\n", strata_strerror(rc), strata_last_error());
  if (rc != STRATA_CORRUPTION) return 1;

  /* The default policy (skip) keeps every intact record and reports. */
  int regions = 0;
  strata_bitcask_options_init(&o);
  o.on_damage = on_damage;
  o.damage_arg = &regions;
  check(strata_bitcask_open(dir, &o, &db), "open under skip");
  size_t lost = strata_bitcask_lost_keys(db, on_lost, NULL);
  strata_bitcask_stats st;
  check(strata_bitcask_get_stats(db, &st), "stats");
  printf("skip: %d damaged region(s), %zu key(s) lost, %llu keys kept\n",
         regions, lost, (unsigned long long)st.keys);
  check(strata_bitcask_close(db), "close");
  return regions == 1 && lost == 1 && st.keys == 99 ? 0 : 1;
}
