/*
 * cmd_verify.c — `strata verify PATH`: checks every checksum of a record-log
 * file, or of every record-log file (*.log, MANIFEST-*, *.data, *.hint) in a
 * directory, and reports each damaged region.
 *
 * Every file is read to its end under the `skip` policy, whatever --recovery
 * says, so that every damaged region is found, not only the first. A torn
 * tail is damage here (kind torn-tail) although every policy but `absolute`
 * recovers from it. Exit 0 when clean, 1 when any damage was found.
 *
 * Text output:
 *   FILE: damage at offset N, B bytes: KIND, N records known lost: REASON
 *   FILE: R records intact, D damaged regions, B bytes lost
 * and, for a directory, a last line totalling its files. With --json:
 * {"ok", "files": [{"file", "records", "bytes", ...}], "damage": [{"file",
 * "offset", "bytes", "kind", "reason", "tail", "lost": {"records"}}]}.
 * A damaged Bitcask directory also lists the keys whose newest record was
 * lost (cmd_kv.c): text lines "FILE: damage at offset N lost the newest
 * record of key K", JSON member "lost_keys".
 * In MANIFEST-* files every record must also decode as an edit; one that
 * does not is a region of kind bad-record (manifest.c).
 * Table files (*.ldb, *.sst) are checked block by block (cmd_table.c):
 * "records" counts their intact entries, and each damaged block is a region
 * whose reason names the block kind and the keys it covered.
 * An LSM database directory is also checked by strata_db_verify, which
 * knows which files are live: a missing table, a WAL sequence hole or a
 * MANIFEST edit that does not apply is reported after the files' own damage.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

typedef struct file_result {
  char *path;        /* the file; malloc'd */
  uint64_t records;  /* intact records read */
  uint64_t size;     /* file size, bytes */
  size_t first_drop; /* index of its first region in the shared drops */
  size_t drops;      /* number of its regions */
  uint64_t lost;     /* bytes in its regions */
} file_result;

typedef struct verify {
  file_result *files; /* one per file considered */
  size_t n, cap;      /* files held, slots allocated */
  cli_drops drops;    /* every region of every file, in file order */
  int lsm;            /* an LSM database directory was checked */
  int leveldb_ok;     /* 1 if LevelDB 1.23 can open it (lsm only) */
  char *leveldb_why;  /* why it cannot (malloc'd), or NULL */
} verify;

static const char *plural(uint64_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

static file_result *add_file(verify *v, const char *path) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    file_result *f = realloc(v->files, cap * sizeof *f);
    if (!f) cli_out_of_memory();
    v->files = f;
    v->cap = cap;
  }
  file_result *f = &v->files[v->n++];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  if (!f->path) cli_out_of_memory();
  return f;
}

/* Reads one file to its end; returns STRATA_OK or the failing status. */
static int check_file(verify *v, const char *path) {
  file_result *f = add_file(v, path);
  struct stat st;
  if (stat(path, &st) == 0) f->size = (uint64_t)st.st_size;
  f->first_drop = v->drops.n;
  uint64_t lost_before = v->drops.bytes;
  if (cli_is_table(path)) {
    int st = cli_table_check(path, &v->drops, &f->records);
    f->drops = v->drops.n - f->first_drop;
    f->lost = v->drops.bytes - lost_before;
    return st;
  }
  strata_log_reader *r = NULL;
  int rc = strata_log_reader_open(path, STRATA_RECOVERY_SKIP, cli_drops_collect,
                                  &v->drops, &r);
  if (rc == STRATA_OK) {
    const void *data;
    size_t size;
    strata_log_record_info info;
    int manifest = cli_is_manifest(path);
    size_t bad = (size_t)-1; /* the last bad-record region, while nothing
                                intact has followed it */
    while ((rc = strata_log_reader_next(r, &data, &size, &info)) == STRATA_OK) {
      if (!manifest ||
          cli_manifest_check_record(path, data, size, &info, &v->drops)) {
        f->records++;
        bad = (size_t)-1;
      } else {
        bad = v->drops.n - 1;
      }
    }
    if (bad != (size_t)-1 && bad == v->drops.n - 1) v->drops.v[bad].tail = 1;
    if (rc == STRATA_END) rc = STRATA_OK;
  }
  f->drops = v->drops.n - f->first_drop;
  f->lost = v->drops.bytes - lost_before;
  strata_log_reader_close(r);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The record-log and table files of `dir`, sorted; NULL-terminated. */
static char **list_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t n = 0, cap = 16;
  char **names = malloc(cap * sizeof *names);
  if (!names) cli_out_of_memory();
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!cli_is_record_log(e->d_name) && !cli_is_table(e->d_name)) continue;
    if (n + 1 == cap) {
      char **more = realloc(names, (cap *= 2) * sizeof *names);
      if (!more) cli_out_of_memory();
      names = more;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n]) cli_out_of_memory();
    snprintf(names[n], len, "%s%s%s", dir,
             dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  names[n] = NULL;
  *count = n;
  return names;
}

static void print_text(const verify *v, const char *dir) {
  uint64_t records = 0, lost = 0, regions = 0;
  for (size_t i = 0; i < v->n; i++) {
    const file_result *f = &v->files[i];
    for (size_t j = f->first_drop; j < f->first_drop + f->drops; j++) {
      const cli_drop *x = &v->drops.v[j];
      printf("%s: damage at offset %" PRIu64 ", %" PRIu64 " bytes: %s, %" PRIu64
             " %s known lost: ",
             f->path, x->offset, x->bytes, strata_damage_kind_name(x->kind),
             x->records, plural(x->records, "record", "records"));
      cli_write_bytes(stdout, 0, 0, x->reason, strlen(x->reason));
      putchar('\n');
    }
    printf("%s: %" PRIu64 " %s intact, %zu damaged %s, %" PRIu64 " %s lost\n",
           f->path, f->records, plural(f->records, "record", "records"),
           f->drops, plural(f->drops, "region", "regions"), f->lost,
           plural(f->lost, "byte", "bytes"));
    records += f->records;
    regions += f->drops;
    lost += f->lost;
  }
  /* drops past the files' own: WAL-level damage (sequence holes), an LSM
   * database's (missing tables) */
  for (size_t j = (size_t)regions; j < v->drops.n; j++) {
    const cli_drop *x = &v->drops.v[j];
    printf("%s: damage at offset %" PRIu64 ", %" PRIu64 " bytes: %s: ", x->file,
           x->offset, x->bytes, strata_damage_kind_name(x->kind));
    cli_write_bytes(stdout, 0, 0, x->reason, strlen(x->reason));
    putchar('\n');
    regions++;
    lost += x->bytes;
  }
  if (dir && v->lsm && v->leveldb_ok)
    printf("%s: LevelDB 1.23 can open it\n", dir);
  else if (dir && v->lsm)
    printf("%s: LevelDB 1.23 cannot open it: %s\n", dir,
           v->leveldb_why ? v->leveldb_why : "unknown");
  if (dir)
    printf("%s: %zu %s, %" PRIu64 " %s intact, %" PRIu64 " damaged %s, %" PRIu64
           " %s lost\n",
           dir, v->n, plural(v->n, "file", "files"), records,
           plural(records, "record", "records"), regions,
           plural(regions, "region", "regions"), lost,
           plural(lost, "byte", "bytes"));
}

/* The "damage" member: every region of `drops`. */
static void json_damage(json_writer *w, const cli_drops *drops) {
  json_key(w, "damage");
  json_array_begin(w);
  for (size_t i = 0; i < drops->n; i++) {
    const cli_drop *x = &drops->v[i];
    json_object_begin(w);
    json_key(w, "file");
    json_str(w, x->file);
    json_key(w, "offset");
    json_uint(w, x->offset);
    json_key(w, "bytes");
    json_uint(w, x->bytes);
    json_key(w, "kind");
    json_str(w, strata_damage_kind_name(x->kind));
    json_key(w, "reason");
    json_str(w, x->reason);
    json_key(w, "tail");
    json_bool(w, x->tail);
    json_key(w, "lost");
    json_object_begin(w);
    json_key(w, "records");
    json_uint(w, x->records);
    json_object_end(w);
    json_object_end(w);
  }
  json_array_end(w);
}

static void print_json(const verify *v, const char *dir, const cli_options *o) {
  json_writer w;
  json_init(&w, stdout);
  json_object_begin(&w);
  json_key(&w, "ok");
  json_bool(&w, v->drops.n == 0);
  json_key(&w, "files");
  json_array_begin(&w);
  for (size_t i = 0; i < v->n; i++) {
    const file_result *f = &v->files[i];
    json_object_begin(&w);
    json_key(&w, "file");
    json_str(&w, f->path);
    json_key(&w, "records");
    json_uint(&w, f->records);
    json_key(&w, "bytes");
    json_uint(&w, f->size);
    json_key(&w, "damaged_regions");
    json_uint(&w, f->drops);
    json_key(&w, "bytes_lost");
    json_uint(&w, f->lost);
    json_key(&w, "checked");
    json_bool(&w, 1); /* every file named is checked (tables too) */
    json_object_end(&w);
  }
  json_array_end(&w);
  json_damage(&w, &v->drops);
  if (dir && v->lsm) {
    json_key(&w, "leveldb_compatible");
    json_bool(&w, v->leveldb_ok);
    if (!v->leveldb_ok) {
      json_key(&w, "leveldb_incompatible");
      json_str(&w, v->leveldb_why ? v->leveldb_why : "unknown");
    }
  }
  if (dir && v->drops.n) cli_kv_lost_keys_json(&w, dir, o);
  json_object_end(&w);
  json_finish(&w);
}

/* 1 if `d`, found by strata_db_verify, is already among the file-by-file
 * drops [0, n): a region of the same file overlapping it, or a drop the
 * engine pinned on CURRENT (the MANIFEST it names is damaged) whose reason
 * names a file already found damaged. */
static int already_found(const cli_drops *drops, size_t n, const cli_drop *d) {
  for (size_t i = 0; i < n; i++) {
    const cli_drop *x = &drops->v[i];
    const char *xb = cli_basename(x->file);
    if (strcmp(xb, cli_basename(d->file)) == 0 &&
        d->offset < x->offset + x->bytes + 1 &&
        x->offset < d->offset + d->bytes + 1)
      return 1;
    if (strstr(d->reason, xb)) return 1;
  }
  return 0;
}

/* An LSM database directory, after its files were checked one by one:
 * strata_db_verify checks it as the engine sees it (CURRENT, the MANIFEST's
 * edits, that every live table exists, every live WAL with its sequence
 * numbers); what it finds beyond the per-file damage is appended. */
static int verify_lsm_db(const char *dir, cli_drops *out) {
  cli_drops db = {0};
  int st = strata_db_verify(dir, cli_drops_collect, &db);
  if (st == STRATA_CORRUPTION) st = STRATA_OK;
  size_t n = out->n;
  for (size_t i = 0; st == STRATA_OK && i < db.n; i++) {
    if (already_found(out, n, &db.v[i])) continue;
    strata_damage d = {db.v[i].file, db.v[i].offset, db.v[i].bytes,
                       db.v[i].kind, db.v[i].reason, db.v[i].records,
                       db.v[i].tail};
    cli_drops_collect(out, &d);
  }
  cli_drops_free(&db);
  return st;
}

/* Prints one ledger range (stderr: the report on stdout stays one format). */
static void print_lost(void *arg, const strata_lost_range *r) {
  (void)arg;
  fprintf(stderr,
          "strata: acknowledged loss: %s offset %llu, %llu bytes, %s: %s\n",
          r->damage.file, (unsigned long long)r->damage.offset,
          (unsigned long long)r->damage.bytes,
          strata_damage_kind_name(r->damage.kind), r->damage.reason);
}

/* --acknowledge: the user has seen what the ledger lists; clear it. */
static int acknowledge(const char *path) {
  const char *engine = cli_detect_engine(path);
  if (!engine || strcmp(engine, "lsm") != 0) {
    cli_error("%s: --acknowledge applies to LSM databases only", path);
    return CLI_USAGE;
  }
  strata_options so;
  strata_options_init(&so);
  strata_db *db = NULL;
  int st = strata_db_open(path, &so, &db);
  if (st == STRATA_OK) {
    size_t n = strata_db_lost_ranges(db, print_lost, NULL);
    st = strata_db_acknowledge(db);
    if (st == STRATA_OK)
      fprintf(stderr, "strata: %s: %zu lost range%s acknowledged\n", path, n,
              n == 1 ? "" : "s");
  }
  if (st != STRATA_OK) {
    int rc = cli_fail(st, path);
    strata_db_close(db);
    return rc;
  }
  strata_db_close(db);
  return CLI_OK;
}

int cli_cmd_verify(const cli_options *o) {
  if (o->argc != 2) {
    cli_error("verify: expected exactly one PATH (strata verify PATH)");
    return CLI_USAGE;
  }
  const char *path = o->argv[1];
  int is_dir = 0, rc = cli_check_path(path, &is_dir);
  if (rc != CLI_OK) return rc;
  if (cli_given(o, CLI_OPT_ACKNOWLEDGE) && (rc = acknowledge(path)) != CLI_OK)
    return rc;
  verify v = {0};
  int st = STRATA_OK;
  const char *failed = NULL;
  if (is_dir) {
    size_t n = 0;
    char **names = list_dir(path, &n);
    if (!names) {
      cli_error("%s: cannot list directory", path);
      return CLI_FAILED;
    }
    for (size_t i = 0; i < n && st == STRATA_OK; i++)
      if ((st = check_file(&v, names[i])) != STRATA_OK)
        failed = v.files[v.n - 1].path;
    /* a directory the WAL engine has opened (it holds LOCK): sequence
     * numbers must also run on across its segments */
    const char *engine = cli_detect_engine(path);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/LOCK", path);
    if (st == STRATA_OK && engine && strcmp(engine, "wal") == 0 &&
        access(lock, F_OK) == 0 &&
        (st = cli_wal_verify_sequences(path, &v.drops)) != STRATA_OK)
      failed = path;
    if (st == STRATA_OK && engine && strcmp(engine, "lsm") == 0 &&
        (st = verify_lsm_db(path, &v.drops)) != STRATA_OK)
      failed = path;
    if (st == STRATA_OK && engine && strcmp(engine, "lsm") == 0) {
      v.lsm = 1;
      v.leveldb_ok = strata_db_leveldb_compatible(path, &v.leveldb_why) == 1;
    }
    if (st != STRATA_OK) rc = cli_fail(st, failed);
    for (size_t i = 0; i < n; i++)
      free(names[i]);
    free(names);
  } else if ((st = check_file(&v, path)) != STRATA_OK) {
    rc = cli_fail(st, path);
  }
  if (rc == CLI_OK) {
    if (o->json)
      print_json(&v, is_dir ? path : NULL, o);
    else
      print_text(&v, is_dir ? path : NULL);
    if (is_dir && !o->json && v.drops.n) cli_kv_lost_keys(path, o);
    rc = v.drops.n ? CLI_ABSENT : CLI_OK;
  }
  for (size_t i = 0; i < v.n; i++)
    free(v.files[i].path);
  free(v.files);
  cli_drops_free(&v.drops);
  free(v.leveldb_why);
  return rc;
}
