/*
 * cmd_bench.c — `strata bench [--engine lsm|bitcask] [WORKLOAD...] [--num N]
 * [--db DIR]`: LevelDB's db_bench workloads on strata's own engines, one
 * line per workload ("name : ops/s; MB/s; micros/op", as db_bench prints),
 * or one JSON object with --json.
 *
 * The workloads, keys and values are those of the comparison harness
 * (bench/compare/bench_workload.c, compiled into the tool), run through
 * strata's public API (bench/compare/bench_strata.c). Workloads may be
 * given separately or comma-separated. fill* workloads start from an empty
 * database (the directory is removed first, as db_bench destroys its
 * database); the database is left in place afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_engine.h"
#include "cli.h"

static const char *const defaults[] = {
    "fillseq",    "fillsync", "fillrandom",  "overwrite",
    "readrandom", "readseq",  "readreverse", "deleterandom"};
enum { NDEFAULTS = sizeof defaults / sizeof defaults[0], MAX_RUN = 64 };

/* The fill workloads remove DIR: only a strata database or an empty (or
 * absent) directory may be used. */
static int check_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return CLI_OK;
  if (!S_ISDIR(st.st_mode)) {
    cli_error("bench: %s is not a directory", dir);
    return CLI_USAGE;
  }
  if (cli_detect_engine(dir)) return CLI_OK;
  if (rmdir(dir) == 0) return CLI_OK; /* it was empty */
  cli_error("bench: %s is neither empty nor a strata database; refusing to "
            "replace it",
            dir);
  return CLI_USAGE;
}

static void print_line(const bench_result *r) {
  if (r->skipped) {
    printf("%-12s : %s\n", r->name, r->note);
    return;
  }
  double ops = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
  double mbs = r->seconds > 0 ? (double)r->bytes / 1048576.0 / r->seconds : 0;
  double us = r->ops ? r->seconds * 1e6 / (double)r->ops : 0;
  printf("%-12s : %10.0f ops/s; %7.1f MB/s; %10.3f micros/op", r->name, ops,
         mbs, us);
  if (!strcmp(r->name, "readrandom") || !strcmp(r->name, "seekrandom") ||
      !strcmp(r->name, "readwhilewriting"))
    printf(" (%llu of %llu found)", (unsigned long long)r->found,
           (unsigned long long)r->ops);
  printf("\n");
  fflush(stdout);
}

static void json_result(json_writer *w, const bench_result *r) {
  json_object_begin(w);
  json_key(w, "name");
  json_str(w, r->name);
  json_key(w, "skipped");
  json_bool(w, r->skipped);
  if (!r->skipped) {
    json_key(w, "ops");
    json_uint(w, r->ops);
    json_key(w, "found");
    json_uint(w, r->found);
    json_key(w, "micros");
    json_uint(w, (uint64_t)(r->seconds * 1e6));
    json_key(w, "ops_per_sec");
    json_uint(w, r->seconds > 0 ? (uint64_t)((double)r->ops / r->seconds) : 0);
    json_key(w, "bytes");
    json_uint(w, r->bytes);
  }
  json_object_end(w);
}

int cli_cmd_bench(const cli_options *o) {
  const bench_engine *engine = &bench_strata_lsm;
  if (o->engine && !strcmp(o->engine, "bitcask")) {
    engine = &bench_strata_bitcask;
  } else if (o->engine && strcmp(o->engine, "lsm") != 0) {
    cli_error("bench: --engine %s: expected lsm or bitcask", o->engine);
    return CLI_USAGE;
  }
  uint64_t num = cli_given(o, CLI_OPT_NUM) ? o->num : 1000000;
  if (num == 0) {
    cli_error("bench: --num must be at least 1");
    return CLI_USAGE;
  }

  /* workloads: positional, each possibly comma-separated */
  const char *names[MAX_RUN];
  char *copies[MAX_RUN];
  int n = 0, ncopies = 0, rc = CLI_OK;
  for (int i = 1; i < o->argc && rc == CLI_OK; i++) {
    char *s = strdup(o->argv[i]);
    if (!s) cli_out_of_memory();
    copies[ncopies++] = s;
    for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
      if (!bench_workload_known(t)) {
        cli_error("bench: unknown workload '%s' (fillseq, fillbatch, "
                  "fillrandom, overwrite, readrandom, readseq, readreverse, "
                  "seekrandom, deleterandom, fillsync, fillsync-Nt, "
                  "readwhilewriting)",
                  t);
        rc = CLI_USAGE;
        break;
      }
      if (n == MAX_RUN) {
        cli_error("bench: more than %d workloads", MAX_RUN);
        rc = CLI_USAGE;
        break;
      }
      names[n++] = t;
    }
    if (ncopies == MAX_RUN) break;
  }
  if (rc == CLI_OK && n == 0)
    for (; n < NDEFAULTS; n++)
      names[n] = defaults[n];

  char dir[4096];
  if (o->db) {
    snprintf(dir, sizeof dir, "%s", o->db);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/strata-bench-%u", tmp && *tmp ? tmp : "/tmp",
             (unsigned)getuid());
  }
  if (rc == CLI_OK) rc = check_dir(dir);

  json_writer jw;
  int json_open = 0;
  if (rc == CLI_OK) {
    if (o->json) {
      json_open = 1;
      json_init(&jw, stdout);
      json_object_begin(&jw);
      json_key(&jw, "engine");
      json_str(&jw, engine->name);
      json_key(&jw, "num");
      json_uint(&jw, num);
      json_key(&jw, "db");
      json_str(&jw, dir);
      json_key(&jw, "workloads");
      json_array_begin(&jw);
    } else {
      printf("strata %s bench: engine %s, %llu entries, %d-byte keys, "
             "%d-byte values (half compressible), database %s\n",
             strata_version(), engine->name, (unsigned long long)num,
             BENCH_KEY_SIZE, BENCH_VALUE_SIZE, dir);
      printf("------------------------------------------------\n");
    }
  }

  bench_run run = {engine, dir, num, 0, 0, NULL, 0, NULL, NULL};
  for (int i = 0; rc == CLI_OK && i < n; i++) {
    bench_result r;
    if (bench_workload_run(&run, names[i], &r) != 0) {
      cli_error("bench: %s: %s", names[i], r.note);
      rc = CLI_FAILED;
      break;
    }
    if (o->json)
      json_result(&jw, &r);
    else
      print_line(&r);
  }
  if (json_open) {
    json_array_end(&jw);
    json_object_end(&jw);
    json_finish(&jw);
  }
  /* close, keeping the database for inspection (db_bench does too) */
  if (run.db) engine->close(run.db);
  for (int i = 0; i < ncopies; i++)
    free(copies[i]);
  return rc;
}
