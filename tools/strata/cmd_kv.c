/*
 * cmd_kv.c — the key-value commands of SPEC §3 (put, get, del, load, scan,
 * compact, stats) on a database directory, dispatched by engine.
 *
 * The engine of an existing directory is detected from its files
 * (cli_detect_engine); --engine chooses it for a new one (default lsm). Each
 * engine is one row of `engines`: a table of functions over an opaque
 * handle, so another engine plugs in with one row and its functions. An
 * engine without a row answers through cli_cmd_pending.
 *
 * Opening a database that drops damaged data prints one warning line with
 * the bytes and places dropped, and one line per key whose newest record
 * was lost (the value shown, if any, is older than the last one written).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* What an engine offers the tool. Every function returns a STRATA_* code. */
typedef struct kv_engine {
  const char *name; /* the --engine name */
  int (*open)(const char *dir, const cli_options *o, int create, void **db);
  int (*close)(void *db);
  int (*put)(void *db, const cli_buf *k, const cli_buf *v);
  int (*get)(void *db, const cli_buf *k, void **v, size_t *vlen);
  int (*del)(void *db, const cli_buf *k);
  int (*write)(void *db, const strata_batch *b);
  int (*scan)(void *db, const cli_buf *from, const cli_buf *to, int reverse,
              uint64_t limit, strata_bitcask_kv_fn fn, void *arg);
  int (*compact)(void *db);
  int (*stats)(void *db, const cli_options *o, const char *dir);
  int (*sync)(void *db);
} kv_engine;

/* ---- bitcask ------------------------------------------------------------ */

enum { LOST_SHOWN = 20 }; /* lost keys named on stderr at open */

typedef struct lost_out {
  const cli_options *o; /* for --hex */
  uint64_t n;           /* keys seen so far */
} lost_out;

static void print_lost(void *arg, const void *key, size_t klen,
                       const char *file, uint64_t offset, uint64_t ts) {
  lost_out *lo = arg;
  const cli_options *o = lo->o;
  (void)ts;
  if (lo->n++ >= LOST_SHOWN) return;
  fflush(stdout);
  fputs("strata: warning: key ", stderr);
  cli_write_bytes(stderr, o->hex, 0, key, klen);
  fprintf(stderr,
          ": its newest record was lost (%s offset %" PRIu64
          "); an older value or none is shown\n",
          file, offset);
}

static int bc_open_cli(const char *dir, const cli_options *o, int create,
                       void **out) {
  strata_bitcask_options opt;
  strata_bitcask_options_init(&opt);
  opt.create_if_missing = create;
  opt.background_merge = 0; /* one command, one process */
  if (cli_given(o, CLI_OPT_RECOVERY)) opt.recovery = o->recovery;
  if (o->sync) opt.sync = STRATA_BITCASK_SYNC_ALWAYS;
  strata_bitcask *db = NULL;
  int rc = strata_bitcask_open(dir, &opt, &db);
  if (rc != STRATA_OK) return rc;
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  if (s.drops)
    cli_error("warning: %s: dropped %" PRIu64 " damaged bytes in %" PRIu64
              " %s (strata verify %s lists them)",
              dir, s.dropped_bytes, s.drops, s.drops == 1 ? "place" : "places",
              dir);
  lost_out lo = {o, 0};
  size_t nlost = strata_bitcask_lost_keys(db, print_lost, &lo);
  if (nlost > LOST_SHOWN)
    cli_error("warning: %s: %zu more keys lost their newest record (strata "
              "verify %s lists them)",
              dir, nlost - LOST_SHOWN, dir);
  *out = db;
  return STRATA_OK;
}

static int bc_close_cli(void *db) { return strata_bitcask_close(db); }
static int bc_put_cli(void *db, const cli_buf *k, const cli_buf *v) {
  return strata_bitcask_put(db, k->data, k->len, v->data, v->len);
}
static int bc_get_cli(void *db, const cli_buf *k, void **v, size_t *vlen) {
  return strata_bitcask_get(db, k->data, k->len, v, vlen);
}
static int bc_del_cli(void *db, const cli_buf *k) {
  return strata_bitcask_delete(db, k->data, k->len);
}
static int bc_write_cli(void *db, const strata_batch *b) {
  return strata_bitcask_write(db, b);
}
static int bc_scan_cli(void *db, const cli_buf *from, const cli_buf *to,
                       int reverse, uint64_t limit, strata_bitcask_kv_fn fn,
                       void *arg) {
  return strata_bitcask_scan(db, from ? from->data : NULL, from ? from->len : 0,
                             to ? to->data : NULL, to ? to->len : 0, reverse,
                             limit, fn, arg);
}
static int bc_compact_cli(void *db) { return strata_bitcask_merge(db); }
static int bc_sync_cli(void *db) { return strata_bitcask_sync(db); }

static int bc_stats_cli(void *db, const cli_options *o, const char *dir) {
  strata_bitcask_stats s;
  int rc = strata_bitcask_get_stats(db, &s);
  if (rc != STRATA_OK) return rc;
  const struct {
    const char *name;
    uint64_t v;
  } f[] = {{"keys", s.keys},
           {"tombstones", s.tombstones},
           {"files", s.files},
           {"data_bytes", s.data_bytes},
           {"dead_bytes", s.dead_bytes},
           {"keydir_bytes", s.keydir_bytes},
           {"hint_files", s.hint_files},
           {"scanned_files", s.scanned_files},
           {"dropped_bytes", s.dropped_bytes},
           {"drops", s.drops},
           {"lost_keys", s.lost_keys}};
  size_t n = sizeof f / sizeof f[0];
  if (o->json) {
    json_writer w;
    json_init(&w, stdout);
    json_object_begin(&w);
    json_key(&w, "database");
    json_str(&w, dir);
    json_key(&w, "engine");
    json_str(&w, "bitcask");
    for (size_t i = 0; i < n; i++) {
      json_key(&w, f[i].name);
      json_uint(&w, f[i].v);
    }
    json_object_end(&w);
    json_finish(&w);
  } else {
    printf("engine\tbitcask\n");
    for (size_t i = 0; i < n; i++)
      printf("%s\t%" PRIu64 "\n", f[i].name, f[i].v);
  }
  return STRATA_OK;
}

/* ---- lsm ---------------------------------------------------------------- */

/* An open LSM database and what the commands need with it. */
typedef struct lsm_cli {
  strata_db *db;           /* the handle */
  strata_write_options wo; /* sync per --sync */
  pthread_mutex_t mu;      /* guards drops: damage may come from the
                              engine's background thread */
  cli_drops drops;         /* regions dropped at open or met later */
  size_t drops_at_open;    /* of which reported at open */
  char *dir;               /* the database, for messages; malloc'd */
} lsm_cli;

static void lsm_on_damage(void *arg, const strata_damage *d) {
  lsm_cli *l = arg;
  pthread_mutex_lock(&l->mu);
  cli_drops_collect(&l->drops, d);
  pthread_mutex_unlock(&l->mu);
}

static void ignore_lost(void *arg, const strata_lost_range *r) {
  (void)arg;
  (void)r;
}

static int lsm_open_cli(const char *dir, const cli_options *o, int create,
                        void **out) {
  lsm_cli *l = calloc(1, sizeof *l);
  if (!l) cli_out_of_memory();
  pthread_mutex_init(&l->mu, NULL);
  strata_write_options_init(&l->wo);
  l->wo.sync = o->sync;
  strata_options opt;
  strata_options_init(&opt);
  opt.create_if_missing = create;
  if (cli_given(o, CLI_OPT_RECOVERY)) opt.recovery = o->recovery;
  opt.on_damage = lsm_on_damage;
  opt.damage_arg = l;
  int rc = strata_db_open(dir, &opt, &l->db);
  if (rc != STRATA_OK) {
    cli_drops_free(&l->drops);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return rc;
  }
  pthread_mutex_lock(&l->mu);
  if (l->drops.n)
    cli_error("warning: %s: dropped %" PRIu64 " damaged bytes in %zu %s "
              "(strata verify %s lists them)",
              dir, l->drops.bytes, l->drops.n,
              l->drops.n == 1 ? "place" : "places", dir);
  l->drops_at_open = l->drops.n;
  pthread_mutex_unlock(&l->mu);
  size_t lost = strata_db_lost_ranges(l->db, ignore_lost, NULL);
  if (lost)
    cli_error("warning: %s: %zu key %s lost their newest versions to damage; "
              "reads inside them fail until acknowledged (strata verify %s "
              "lists them)",
              dir, lost, lost == 1 ? "range" : "ranges", dir);
  if (!(l->dir = strdup(dir))) cli_out_of_memory();
  *out = l;
  return STRATA_OK;
}

/* Closes; damage met after open (a scan under --recovery skip going past a
 * damaged block) gets one warning line. */
static int lsm_close_cli(void *p) {
  lsm_cli *l = p;
  int rc = strata_db_close(l->db);
  if (l->drops.n > l->drops_at_open) {
    uint64_t bytes = 0;
    size_t n = l->drops.n - l->drops_at_open;
    for (size_t i = l->drops_at_open; i < l->drops.n; i++)
      bytes += l->drops.v[i].bytes;
    fflush(stdout);
    cli_error("warning: %s: skipped %" PRIu64 " damaged bytes in %zu %s "
              "(first: %s offset %" PRIu64 "; strata verify %s lists them)",
              l->dir, bytes, n, n == 1 ? "place" : "places",
              l->drops.v[l->drops_at_open].file,
              l->drops.v[l->drops_at_open].offset, l->dir);
  }
  free(l->dir);
  cli_drops_free(&l->drops);
  pthread_mutex_destroy(&l->mu);
  free(l);
  return rc;
}
static int lsm_put_cli(void *p, const cli_buf *k, const cli_buf *v) {
  lsm_cli *l = p;
  return strata_db_put(l->db, &l->wo, k->data, k->len, v->data, v->len);
}
static int lsm_get_cli(void *p, const cli_buf *k, void **v, size_t *vlen) {
  lsm_cli *l = p;
  return strata_db_get(l->db, NULL, k->data, k->len, v, vlen);
}
static int lsm_del_cli(void *p, const cli_buf *k) {
  lsm_cli *l = p;
  return strata_db_delete(l->db, &l->wo, k->data, k->len);
}
static int lsm_write_cli(void *p, const strata_batch *b) {
  lsm_cli *l = p;
  return strata_db_write(l->db, &l->wo, b);
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c : an < bn ? -1 : an > bn;
}

/* Keys in [from, to), ascending or descending, through a strata iterator. */
static int lsm_scan_cli(void *p, const cli_buf *from, const cli_buf *to,
                        int reverse, uint64_t limit, strata_bitcask_kv_fn fn,
                        void *arg) {
  lsm_cli *l = p;
  strata_iterator *it = NULL;
  int rc = strata_db_iter_create(l->db, NULL, &it);
  if (rc != STRATA_OK) return rc;
  if (!reverse) {
    if (from)
      strata_iter_seek(it, from->data, from->len);
    else
      strata_iter_seek_first(it);
  } else if (to) {
    strata_iter_seek(it, to->data, to->len); /* first key >= to: excluded */
    if (strata_iter_valid(it))
      strata_iter_prev(it);
    else if (strata_iter_status(it) == STRATA_OK)
      strata_iter_seek_last(it);
  } else {
    strata_iter_seek_last(it);
  }
  uint64_t n = 0;
  while (strata_iter_valid(it) && (limit == 0 || n < limit)) {
    size_t kl, vl;
    const void *k = strata_iter_key(it, &kl);
    const void *v = strata_iter_value(it, &vl);
    if (!reverse && to && bytes_cmp(k, kl, to->data, to->len) >= 0) break;
    if (reverse && from && bytes_cmp(k, kl, from->data, from->len) < 0) break;
    if ((rc = fn(arg, k, kl, v, vl)) != 0) break;
    n++;
    if (reverse)
      strata_iter_prev(it);
    else
      strata_iter_next(it);
  }
  if (rc == STRATA_OK) rc = strata_iter_status(it);
  strata_iter_destroy(it);
  return rc;
}

static int lsm_compact_cli(void *p) {
  lsm_cli *l = p;
  return strata_db_compact_range(l->db, NULL, 0, NULL, 0);
}

/* Nothing left to do: with --sync every write was made with sync set (the
 * WAL fdatasync'ed before it returned), and tables are synced when written. */
static int lsm_sync_cli(void *p) {
  (void)p;
  return STRATA_OK;
}

static int lsm_stats_cli(void *p, const cli_options *o, const char *dir) {
  lsm_cli *l = p;
  strata_db_stats s;
  int rc = strata_db_get_stats(l->db, &s);
  if (rc != STRATA_OK) return rc;
  char *text = strata_db_get_property(l->db, "strata.stats");
  const struct {
    const char *name;
    uint64_t v;
  } f[] = {{"sequence", s.sequence},
           {"memtable_bytes", s.memtable_bytes},
           {"flushes", s.flushes},
           {"compactions", s.compactions},
           {"bytes_flushed", s.bytes_flushed},
           {"bytes_compacted", s.bytes_compacted},
           {"bytes_read_compaction", s.bytes_read_compaction},
           {"wal_bytes", s.wal_bytes},
           {"user_bytes", s.user_bytes},
           {"stall_micros", s.stall_micros},
           {"slowdowns", s.slowdowns},
           {"stops", s.stops},
           {"wal_syncs", s.wal_syncs},
           {"group_commits", s.group_commits},
           {"damage_regions", s.damage_regions},
           {"dropped_bytes", s.dropped_bytes}};
  size_t n = sizeof f / sizeof f[0];
  if (o->json) {
    json_writer w;
    json_init(&w, stdout);
    json_object_begin(&w);
    json_key(&w, "database");
    json_str(&w, dir);
    json_key(&w, "engine");
    json_str(&w, "lsm");
    json_key(&w, "levels");
    json_array_begin(&w);
    for (int i = 0; i < 7; i++) {
      json_object_begin(&w);
      json_key(&w, "level");
      json_uint(&w, (uint64_t)i);
      json_key(&w, "files");
      json_uint(&w, s.files[i]);
      json_key(&w, "bytes");
      json_uint(&w, s.level_bytes[i]);
      json_object_end(&w);
    }
    json_array_end(&w);
    for (size_t i = 0; i < n; i++) {
      json_key(&w, f[i].name);
      json_uint(&w, f[i].v);
    }
    if (text) {
      json_key(&w, "text");
      json_str(&w, text);
    }
    json_object_end(&w);
    json_finish(&w);
  } else {
    printf("engine\tlsm\n");
    for (int i = 0; i < 7; i++)
      printf("level%d\tfiles=%" PRIu64 "\tbytes=%" PRIu64 "\n", i, s.files[i],
             s.level_bytes[i]);
    for (size_t i = 0; i < n; i++)
      printf("%s\t%" PRIu64 "\n", f[i].name, f[i].v);
    if (text) {
      fputs(text, stdout); /* strata.stats: the engine's own table */
      if (*text && text[strlen(text) - 1] != '\n') putchar('\n');
    }
  }
  free(text);
  return STRATA_OK;
}

static const kv_engine engines[] = {
    {"lsm", lsm_open_cli, lsm_close_cli, lsm_put_cli, lsm_get_cli, lsm_del_cli,
     lsm_write_cli, lsm_scan_cli, lsm_compact_cli, lsm_stats_cli, lsm_sync_cli},
    {"bitcask", bc_open_cli, bc_close_cli, bc_put_cli, bc_get_cli, bc_del_cli,
     bc_write_cli, bc_scan_cli, bc_compact_cli, bc_stats_cli, bc_sync_cli},
};

/* ---- the commands ------------------------------------------------------- */

static const kv_engine *find_engine(const char *name) {
  for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
    if (strcmp(engines[i].name, name) == 0) return &engines[i];
  return NULL;
}

static int decode_arg(const cli_options *o, const char *what, const char *s,
                      cli_buf *out) {
  char err[200];
  if (cli_decode(s, strlen(s), o->hex, out, err, sizeof err) != 0) {
    cli_error("%s: bad %s: %s", o->argv[0], what, err);
    return CLI_USAGE;
  }
  return CLI_OK;
}

typedef struct scan_out {
  const cli_options *o; /* for --hex */
} scan_out;

static int print_kv(void *arg, const void *k, size_t kl, const void *v,
                    size_t vl) {
  scan_out *s = arg;
  cli_write_bytes(stdout, s->o->hex, 0, k, kl);
  putchar('\t');
  cli_write_bytes(stdout, s->o->hex, 0, v, vl);
  putchar('\n');
  return ferror(stdout) ? STRATA_IO_ERROR : 0;
}

enum { LOAD_PROGRESS_EVERY = 100000 }; /* records between progress lines */

/* load's progress on a terminal: records so far and, when the input is a
 * regular file, how much of it was read. */
static void load_progress(FILE *in, uint64_t loaded) {
  struct stat st;
  long pos = ftell(in);
  if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      pos >= 0)
    fprintf(stderr, "\rstrata: load: %" PRIu64 " records (%d%%)", loaded,
            (int)((uint64_t)pos * 100 / (uint64_t)st.st_size));
  else
    fprintf(stderr, "\rstrata: load: %" PRIu64 " records", loaded);
  fflush(stderr);
}

/* load: lines KEY<TAB>VALUE, one batch per 1000 lines. A large input shows
 * its progress on stderr when that is a terminal (one line, rewritten). */
static int do_load(const kv_engine *e, void *db, const cli_options *o) {
  const char *name = o->argc > 2 ? o->argv[2] : "-";
  FILE *in = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
  if (!in) {
    cli_error("%s: %s", name, cli_errno_text(errno));
    return CLI_FAILED;
  }
  strata_batch *b = strata_batch_create();
  if (!b) cli_out_of_memory();
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  uint64_t lineno = 0, loaded = 0;
  int rc = CLI_OK, st = STRATA_OK;
  int tty = isatty(STDERR_FILENO), shown = 0;
  while (rc == CLI_OK && (len = getline(&line, &cap, in)) >= 0) {
    lineno++;
    if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
    if (len == 0) continue;
    char *tab = memchr(line, '\t', (size_t)len);
    if (!tab) {
      cli_error("load: %s line %" PRIu64 ": expected KEY<TAB>VALUE", name,
                lineno);
      rc = CLI_USAGE;
      break;
    }
    cli_buf k = {0}, v = {0};
    char err[200];
    if (cli_decode(line, (size_t)(tab - line), o->hex, &k, err, sizeof err) ||
        cli_decode(tab + 1, (size_t)(len - (tab + 1 - line)), o->hex, &v, err,
                   sizeof err)) {
      cli_error("load: %s line %" PRIu64 ": %s", name, lineno, err);
      rc = CLI_USAGE;
    } else if (strata_batch_put(b, k.data, k.len, v.data, v.len) != STRATA_OK) {
      cli_out_of_memory();
    }
    cli_buf_free(&k);
    cli_buf_free(&v);
    if (rc == CLI_OK && strata_batch_count(b) == 1000) {
      if ((st = e->write(db, b)) != STRATA_OK) break;
      loaded += strata_batch_count(b);
      strata_batch_clear(b);
      if (tty && loaded % LOAD_PROGRESS_EVERY == 0) {
        load_progress(in, loaded);
        shown = 1;
      }
    }
  }
  if (rc == CLI_OK && st == STRATA_OK && strata_batch_count(b) > 0) {
    st = e->write(db, b);
    if (st == STRATA_OK) loaded += strata_batch_count(b);
  }
  if (shown) {
    load_progress(in, loaded);
    fputc('\n', stderr);
  }
  if (rc == CLI_OK && st != STRATA_OK) rc = cli_fail(st, o->argv[1]);
  if (rc == CLI_OK && ferror(in)) {
    cli_error("%s: %s", name, cli_errno_text(errno));
    rc = CLI_FAILED;
  }
  free(line);
  strata_batch_destroy(b);
  if (in != stdin) fclose(in);
  return rc;
}

/* Runs command `cmd` on an open database. */
static int run_cmd(const kv_engine *e, void *db, const cli_options *o) {
  const char *cmd = o->argv[0];
  cli_buf k = {0}, v = {0}, to = {0};
  int rc = CLI_OK, st = STRATA_OK;
  if (strcmp(cmd, "put") == 0) {
    if ((rc = decode_arg(o, "key", o->argv[2], &k)) == CLI_OK &&
        (rc = decode_arg(o, "value", o->argv[3], &v)) == CLI_OK)
      st = e->put(db, &k, &v);
  } else if (strcmp(cmd, "get") == 0) {
    if ((rc = decode_arg(o, "key", o->argv[2], &k)) == CLI_OK) {
      void *val = NULL;
      size_t vl = 0;
      st = e->get(db, &k, &val, &vl);
      if (st == STRATA_OK) {
        cli_write_bytes(stdout, o->hex, 0, val, vl);
        putchar('\n');
      } else if (st == STRATA_NOT_FOUND) {
        st = STRATA_OK;
        rc = CLI_ABSENT;
      }
      free(val);
    }
  } else if (strcmp(cmd, "del") == 0) {
    if ((rc = decode_arg(o, "key", o->argv[2], &k)) == CLI_OK)
      st = e->del(db, &k);
  } else if (strcmp(cmd, "load") == 0) {
    rc = do_load(e, db, o);
  } else if (strcmp(cmd, "scan") == 0) {
    if (o->from) rc = decode_arg(o, "--from key", o->from, &k);
    if (rc == CLI_OK && o->to) rc = decode_arg(o, "--to key", o->to, &to);
    scan_out so = {o};
    if (rc == CLI_OK)
      st = e->scan(db, o->from ? &k : NULL, o->to ? &to : NULL,
                   cli_given(o, CLI_OPT_REVERSE),
                   cli_given(o, CLI_OPT_LIMIT) ? o->limit : 0, print_kv, &so);
    if (cli_given(o, CLI_OPT_LIMIT) && o->limit == 0) st = STRATA_OK;
  } else if (strcmp(cmd, "compact") == 0) {
    st = e->compact(db);
  } else if (strcmp(cmd, "stats") == 0) {
    st = e->stats(db, o, o->argv[1]);
  }
  if (st == STRATA_OK && o->sync && rc == CLI_OK) st = e->sync(db);
  if (st != STRATA_OK && rc == CLI_OK) rc = cli_fail(st, o->argv[1]);
  cli_buf_free(&k);
  cli_buf_free(&v);
  cli_buf_free(&to);
  return rc;
}

int cli_cmd_kv(const cli_options *o) {
  const char *cmd = o->argv[0];
  int want = strcmp(cmd, "put") == 0                              ? 4
             : strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0 ? 3
                                                                  : 2;
  int ok =
      strcmp(cmd, "load") == 0 ? o->argc == 2 || o->argc == 3 : o->argc == want;
  if (!ok) {
    cli_error("%s: wrong number of arguments (see strata --help)", cmd);
    return CLI_USAGE;
  }
  const char *dir = o->argv[1];
  const char *detected = cli_detect_engine(dir);
  if (detected && o->engine && strcmp(detected, o->engine) != 0) {
    cli_error("%s: is a %s database, not %s", dir, detected, o->engine);
    return CLI_USAGE;
  }
  const char *name = detected ? detected : o->engine ? o->engine : "lsm";
  const kv_engine *e = find_engine(name);
  if (!e) return cli_cmd_pending(o);
  int creates = strcmp(cmd, "put") == 0 || strcmp(cmd, "load") == 0;
  struct stat st;
  if (!detected && !creates) {
    if (stat(dir, &st) != 0)
      cli_error("%s: %s", dir, cli_errno_text(errno));
    else
      cli_error("%s: not a %s database", dir, name);
    return CLI_FAILED;
  }
  void *db = NULL;
  int rc = e->open(dir, o, creates, &db);
  if (rc != STRATA_OK) return cli_fail(rc, dir);
  int out = run_cmd(e, db, o);
  rc = e->close(db);
  if (rc != STRATA_OK && out == CLI_OK) out = cli_fail(rc, dir);
  return out;
}

static void list_lost(void *arg, const void *key, size_t klen, const char *file,
                      uint64_t offset, uint64_t ts) {
  const cli_options *o = arg;
  printf("%s: damage at offset %" PRIu64 " lost the newest record of key ",
         file, offset);
  cli_write_bytes(stdout, o->hex, 0, key, klen);
  printf(" (timestamp %" PRIu64 ")\n", ts);
}

/* For verify: the keys of a Bitcask directory whose newest record was lost,
 * listed on stdout. Opens read-only. Returns how many (0 if `dir` is not a
 * Bitcask database or cannot be opened). */
uint64_t cli_kv_lost_keys(const char *dir, const cli_options *o) {
  const char *eng = cli_detect_engine(dir);
  if (!eng || strcmp(eng, "bitcask") != 0) return 0;
  strata_bitcask_options opt;
  strata_bitcask_options_init(&opt);
  opt.create_if_missing = 0;
  opt.background_merge = 0;
  opt.read_only = 1;
  strata_bitcask *db = NULL;
  if (strata_bitcask_open(dir, &opt, &db) != STRATA_OK) return 0;
  size_t n = strata_bitcask_lost_keys(db, list_lost, (void *)o);
  strata_bitcask_close(db);
  return n;
}

typedef struct lost_json {
  json_writer *w;       /* the writer */
  const cli_options *o; /* for --hex */
} lost_json;

static void json_lost(void *arg, const void *key, size_t klen, const char *file,
                      uint64_t offset, uint64_t ts) {
  lost_json *lj = arg;
  json_object_begin(lj->w);
  json_key(lj->w, "key");
  json_bytes(lj->w, lj->o->hex, key, klen);
  json_key(lj->w, "file");
  json_str(lj->w, file);
  json_key(lj->w, "offset");
  json_uint(lj->w, offset);
  json_key(lj->w, "timestamp");
  json_uint(lj->w, ts);
  json_object_end(lj->w);
}

void cli_kv_lost_keys_json(json_writer *w, const char *dir,
                           const cli_options *o) {
  const char *eng = cli_detect_engine(dir);
  if (!eng || strcmp(eng, "bitcask") != 0) return;
  strata_bitcask_options opt;
  strata_bitcask_options_init(&opt);
  opt.create_if_missing = 0;
  opt.background_merge = 0;
  opt.read_only = 1;
  strata_bitcask *db = NULL;
  if (strata_bitcask_open(dir, &opt, &db) != STRATA_OK) return;
  lost_json lj = {w, o};
  json_key(w, "lost_keys");
  json_array_begin(w);
  strata_bitcask_lost_keys(db, json_lost, &lj);
  json_array_end(w);
  strata_bitcask_close(db);
}
