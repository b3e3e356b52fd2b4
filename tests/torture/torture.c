/*
 * torture.c — the `torture` program: runs the measuring campaigns of issue 8
 * and prints (and with --report writes) their figures.
 *
 *   torture [--campaign damage,crash,power,ioerr] [--seed N] [--trials N]
 *           [--seconds S] [--kills N] [--power-step N] [--power-points N]
 *           [--timeout S]
 *           [--tmp DIR] [--kind NAME] [--report FILE.md --chart FILE.png]
 *           [--command TEXT] [--keep] [--verbose]
 *
 * Exit status 1 if any campaign found a silent corruption, a crash or hang,
 * a lost acknowledged write, a half-applied batch or damage beyond a torn
 * tail after a crash; 0 otherwise. Every trial runs in a child process.
 */
#include "torture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"

static void usage(void) {
  fprintf(stderr,
          "usage: torture [--campaign damage,crash,power,ioerr] [--seed N]\n"
          "  [--trials N] [--seconds S] [--kills N] [--power-step N]\n"
          "  [--power-points N]\n"
          "  [--timeout S] [--tmp DIR] [--kind NAME] [--report FILE.md]\n"
          "  [--chart FILE.png] [--command TEXT] [--keep] [--verbose]\n");
  exit(2);
}

static cstats sum_conf(const conf_stats *c) {
  cstats s;
  memset(&s, 0, sizeof s);
  for (int f = 0; f < FAULT_COUNT; f++) {
    const cstats *x = &c->by_fault[f];
    s.trials += x->trials;
    s.noop += x->noop;
    s.crashes += x->crashes;
    s.hangs += x->hangs;
    s.open_failed += x->open_failed;
    s.lost += x->lost;
    s.overlap += x->overlap;
    s.lost_ov += x->lost_ov;
    s.overlap_trials += x->overlap_trials;
    s.lost_no_ov += x->lost_no_ov;
    s.stale += x->stale;
    s.silent += x->silent;
    s.silent_trials += x->silent_trials;
    s.detected += x->detected;
    s.verify_run += x->verify_run;
    s.verify_detected += x->verify_detected;
    s.silent_loss_trials += x->silent_loss_trials;
  }
  return s;
}

static void amp(char *b, size_t n, uint64_t lost, uint64_t ov) {
  if (ov)
    snprintf(b, n, "%.2f", (double)lost / (double)ov);
  else
    snprintf(b, n, "n/a");
}

static void pct(char *b, size_t n, uint64_t a, uint64_t t) {
  if (t)
    snprintf(b, n, "%.0f%%", 100.0 * (double)a / (double)t);
  else
    snprintf(b, n, "n/a");
}

/* The damage campaign's tables, as markdown, to f. */
static void damage_report(FILE *f, const dstats *st) {
  fprintf(f,
          "| file kind | configuration | trials | crashes/hangs | silent "
          "corruptions | open refused | records lost / overlapping | loss "
          "amplification | lost per fault overlapping no record | stale "
          "served | damage reported | verify found it | loss not reported |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int k = 0; k < KIND_COUNT; k++) {
    const kind_stats *ks = &st->kinds[k];
    for (int c = 0; c < ks->nconf; c++) {
      cstats s = sum_conf(&ks->conf[c]);
      if (!s.trials) continue;
      char a[32], nov[32], det[32], ver[32], sl[32];
      amp(a, sizeof a, s.lost_ov, s.overlap);
      uint64_t nov_trials = s.trials - s.overlap_trials;
      if (nov_trials)
        snprintf(nov, sizeof nov, "%.1f", (double)s.lost_no_ov / nov_trials);
      else
        snprintf(nov, sizeof nov, "n/a");
      pct(det, sizeof det, s.detected, s.trials);
      pct(ver, sizeof ver, s.verify_detected, s.verify_run);
      pct(sl, sizeof sl, s.silent_loss_trials, s.trials);
      fprintf(f,
              "| %s | %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64
              " | %" PRIu64 " | %" PRIu64 " / %" PRIu64
              " | %s | %s | %" PRIu64 " | %s | %s | %s |\n",
              kind_name(k), ks->conf[c].name, s.trials, s.crashes + s.hangs,
              s.silent, s.open_failed, s.lost_ov, s.overlap, a, nov, s.stale,
              det, ver, sl);
    }
  }
}

/* Per fault class: records lost per fault for each configuration. */
static void damage_fault_report(FILE *f, const dstats *st) {
  for (int k = 0; k < KIND_COUNT; k++) {
    const kind_stats *ks = &st->kinds[k];
    if (!ks->nconf || !sum_conf(&ks->conf[0]).trials) continue;
    fprintf(f, "\n**%s** — records lost per fault (loss amplification)\n\n",
            kind_name(k));
    fprintf(f, "| fault |");
    for (int c = 0; c < ks->nconf; c++) fprintf(f, " %s |", ks->conf[c].name);
    fprintf(f, "\n|---|");
    for (int c = 0; c < ks->nconf; c++) fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int t = 0; t < FAULT_COUNT; t++) {
      int any = 0;
      for (int c = 0; c < ks->nconf; c++)
        any |= ks->conf[c].by_fault[t].trials > 0;
      if (!any) continue;
      fprintf(f, "| %s |", fault_names[t]);
      for (int c = 0; c < ks->nconf; c++) {
        const cstats *x = &ks->conf[c].by_fault[t];
        char a[32];
        amp(a, sizeof a, x->lost_ov, x->overlap);
        if (!x->trials)
          fprintf(f, " - |");
        else
          fprintf(f, " %.1f (%s)%s |", (double)x->lost / x->trials, a,
                  x->silent ? " **silent!**" : "");
      }
      fprintf(f, "\n");
    }
  }
}

/* Series of the chart: a configuration label per kind. */
static const char *chart_series[] = {"skip", "point-in-time", "paranoid",
                                     "leveldb", "leveldb-paranoid"};

static double lost_per_fault(const kind_stats *ks, const char *name, int k) {
  for (int c = 0; c < ks->nconf; c++) {
    const char *n = ks->conf[c].name;
    if (strcmp(n, name) == 0 ||
        (strcmp(name, "point-in-time") == 0 && strcmp(n, "default") == 0 &&
         (k == KIND_MANIFEST || k == KIND_TABLE))) {
      cstats s = sum_conf(&ks->conf[c]);
      return s.trials ? (double)s.lost / s.trials : -1;
    }
  }
  return -1;
}

static void write_chart(const dstats *st, const char *png, const char *tmp) {
  char dat[4096], gp[4096];
  snprintf(dat, sizeof dat, "%s/chart.dat", tmp);
  snprintf(gp, sizeof gp, "%s/chart.gp", tmp);
  FILE *f = fopen(dat, "w");
  if (!f) return;
  fprintf(f, "kind");
  for (size_t s = 0; s < sizeof chart_series / sizeof *chart_series; s++)
    fprintf(f, " %s", chart_series[s]);
  fprintf(f, "\n");
  for (int k = 0; k < KIND_COUNT; k++) {
    if (!st->kinds[k].nconf) continue;
    fprintf(f, "%s", kind_name(k));
    for (size_t s = 0; s < sizeof chart_series / sizeof *chart_series; s++) {
      double v = lost_per_fault(&st->kinds[k], chart_series[s], k);
      if (v < 0)
        fprintf(f, " NaN");
      else
        fprintf(f, " %.3f", v + 0.1);
    }
    fprintf(f, "\n");
  }
  fclose(f);
  f = fopen(gp, "w");
  if (!f) return;
  fprintf(f,
          "set terminal png size 1000,520\n"
          "set output '%s'\n"
          "set title 'Records lost per injected fault (lower is better; "
          "log scale, +0.1 so 0 shows)'\n"
          "set style data histogram\n"
          "set style histogram cluster gap 1\n"
          "set style fill solid border -1\n"
          "set logscale y\n"
          "set yrange [0.1:*]\n"
          "set key top left\n"
          "set grid ytics\n"
          "set datafile missing 'NaN'\n"
          "plot '%s' using 2:xtic(1) title 'strata skip', '' using 3 title "
          "'strata point-in-time/default', '' using 4 title 'strata "
          "paranoid', '' using 5 title 'LevelDB 1.23', '' using 6 title "
          "'LevelDB 1.23 paranoid'\n",
          png, dat);
  fclose(f);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
  if (system(cmd) != 0)
    fprintf(stderr, "torture: gnuplot failed; no chart written\n");
}

static void crash_line(FILE *f, const char *what, const crash_stats *c) {
  fprintf(f,
          "| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
          " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n",
          what, c->runs, c->crashes, c->lost_acked, c->half_batch,
          c->bad_values, c->verify_bad, c->open_failed, c->errors_returned);
}

static int crash_bad(const crash_stats *c) {
  return c->crashes || c->lost_acked || c->half_batch || c->bad_values ||
         c->verify_bad || c->open_failed;
}

int main(int argc, char **argv) {
  torture_opts to;
  memset(&to, 0, sizeof to);
  to.seed = 1;
  to.trials = 200;
  to.kills = 100;
  to.timeout = 30;
  to.only_kind = -1;
  to.power_step = 1;
  const char *campaigns = "damage,crash,power,ioerr";
  const char *report = NULL, *chart = NULL, *command = NULL;
  static char tmpbuf[4096];
  snprintf(tmpbuf, sizeof tmpbuf, "%s/strata-torture-%d",
           getenv("STRATA_TMP") ? getenv("STRATA_TMP") : "/tmp", (int)getpid());
  to.tmp = tmpbuf;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--keep")) {
      to.keep = 1;
      continue;
    }
    if (!strcmp(a, "--verbose")) {
      to.verbose = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--campaign"))
      campaigns = v;
    else if (!strcmp(a, "--seed"))
      to.seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--trials"))
      to.trials = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--seconds"))
      to.seconds = strtod(v, NULL);
    else if (!strcmp(a, "--kills"))
      to.kills = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--power-step"))
      to.power_step = atoi(v) > 0 ? atoi(v) : 0;
    else if (!strcmp(a, "--power-points"))
      to.power_points = atoi(v);
    else if (!strcmp(a, "--timeout"))
      to.timeout = atoi(v);
    else if (!strcmp(a, "--tmp"))
      to.tmp = v;
    else if (!strcmp(a, "--report"))
      report = v;
    else if (!strcmp(a, "--chart"))
      chart = v;
    else if (!strcmp(a, "--command"))
      command = v;
    else if (!strcmp(a, "--kind")) {
      for (int k = 0; k < KIND_COUNT; k++)
        if (!strcmp(v, kind_name(k))) to.only_kind = k;
      if (to.only_kind < 0) usage();
    } else
      usage();
  }
  mkdir(to.tmp, 0755);
  int bad = 0;
  static dstats ds;
  int ran_damage = 0;
  crash_stats cs[2], ps[3][2], is[3][2];
  int ran_crash = 0, ran_power = 0, ran_ioerr = 0;
  memset(cs, 0, sizeof cs);
  memset(ps, 0, sizeof ps);
  memset(is, 0, sizeof is);
  double t0 = t_now();
  if (strstr(campaigns, "damage")) {
    ran_damage = 1;
    if (damage_campaign(&to, &ds)) bad = 1;
    printf("damage campaign: %" PRIu64 " trials in %.0f s\n", ds.total_trials,
           ds.seconds);
    damage_report(stdout, &ds);
    for (int k = 0; k < KIND_COUNT; k++)
      for (int c = 0; c < ds.kinds[k].nconf; c++) {
        cstats s = sum_conf(&ds.kinds[k].conf[c]);
        /* LevelDB's own figures are measured, not required */
        if (strncmp(ds.kinds[k].conf[c].name, "leveldb", 7) != 0 &&
            (s.silent || s.crashes || s.hangs))
          bad = 1;
      }
  }
  if (strstr(campaigns, "crash")) {
    ran_crash = 1;
    for (int e = 0; e < 2; e++) {
      if (crash_campaign(&to, e, &cs[e])) bad = 1;
      if (crash_bad(&cs[e])) bad = 1;
    }
  }
  const char *eng_names[3] = {"LSM", "Bitcask", "WAL"};
  if (strstr(campaigns, "power")) {
    ran_power = 1;
    for (int e = 0; e < 3; e++)
      for (int m = 0; m < 2; m++) {
        if (fault_campaign(&to, e, m, &ps[e][m])) bad = 1;
        if (crash_bad(&ps[e][m])) bad = 1;
      }
  }
  if (strstr(campaigns, "ioerr")) {
    ran_ioerr = 1;
    for (int e = 0; e < 3; e++)
      for (int m = 0; m < 2; m++) {
        if (fault_campaign(&to, e, 2 + m, &is[e][m])) bad = 1;
        if (crash_bad(&is[e][m])) bad = 1;
      }
  }
  FILE *outs[2] = {stdout, NULL};
  if (report) outs[1] = fopen(report, "w");
  for (int o = 0; o < 2; o++) {
    FILE *f = outs[o];
    if (!f) continue;
    if (o == 1) {
      char date[64];
      time_t now = time(NULL);
      strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
      fprintf(f,
              "# Reliability: the fault campaigns\n\n"
              "Written by `make torture` (tests/torture/, issue 8) on %s, "
              "strata %s, seed %" PRIu64 ", %.0f s.\n\n"
              "Command: `%s`\n\n",
              date, strata_version(), to.seed, t_now() - t0,
              command ? command : "torture");
      fprintf(f,
              "How to read it: see the opening comments of "
              "tests/torture/damage.c and crash.c. A *silent corruption* is a "
              "value (or key) read back that no write put there; *loss "
              "amplification* is records lost over records whose bytes the "
              "fault touched; *lost per fault overlapping no record* counts "
              "losses from faults that hit only framing, index, footer, "
              "MANIFEST or hint bytes. LevelDB 1.23 runs through its C API on "
              "a database it wrote itself from the same model, with the same "
              "fault class and seed; `leveldb` is its defaults, "
              "`leveldb-paranoid` is paranoid_checks plus verify_checksums "
              "on reads. Every trial runs in a child process: a crash, a "
              "sanitizer report or a hang is counted, never fatal.\n\n");
    }
    if (ran_damage) {
      if (o == 1) {
        fprintf(f, "## Damage campaign (%" PRIu64 " trials)\n\n",
                ds.total_trials);
        if (chart) {
          const char *base = strrchr(chart, '/');
          fprintf(f, "![records lost per fault](%s)\n\n",
                  base ? base + 1 : chart);
        }
        damage_report(f, &ds);
        damage_fault_report(f, &ds);
        fprintf(f, "\n");
      }
    }
    if (ran_crash || ran_power || ran_ioerr) {
      fprintf(f,
              "\n## Crash, power-loss and I/O-error campaigns\n\n"
              "| campaign | runs | crashes/hangs | acknowledged synced writes "
              "lost | half-applied batches | wrong values | verify beyond a "
              "torn tail | reopen failed | operations that returned the "
              "error |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      char what[128];
      if (ran_crash)
        for (int e = 0; e < 2; e++) {
          snprintf(what, sizeof what, "kill -9, %s", eng_names[e]);
          crash_line(f, what, &cs[e]);
        }
      if (ran_power)
        for (int e = 0; e < 3; e++)
          for (int m = 0; m < 2; m++) {
            snprintf(what, sizeof what, "power loss %s, %s (%" PRIu64 " ops)",
                     m ? "keeping a random prefix of unsynced appends"
                       : "dropping unsynced data",
                     eng_names[e], ps[e][m].max_ops);
            crash_line(f, what, &ps[e][m]);
          }
      if (ran_ioerr)
        for (int e = 0; e < 3; e++)
          for (int m = 0; m < 2; m++) {
            snprintf(what, sizeof what, "EIO at op N %s, %s (%" PRIu64 " ops)",
                     m ? "and after" : "once", eng_names[e], is[e][m].max_ops);
            crash_line(f, what, &is[e][m]);
          }
    }
    if (o == 1) fclose(f);
  }
  if (chart && ran_damage) write_chart(&ds, chart, to.tmp);
  if (!to.keep) t_remove_tree(to.tmp);
  printf("torture: %s\n", bad ? "FAILED" : "ok");
  return bad;
}
