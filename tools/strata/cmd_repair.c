/*
 * cmd_repair.c — `strata repair DB [--into NEWDB | --in-place]`: rebuilds an
 * LSM or Bitcask database from whatever is intact (strata_db_repair,
 * strata_bitcask_repair) into a new directory (default DB.repaired), or in
 * place (the original's files are kept in DB.damaged), and prints the loss
 * report. Exit 0 when repaired (damage or not), 2 on bad usage, 4 when it
 * could not repair (nothing written is left behind).
 *
 * Text output, one line per event, then a summary line:
 *   FILE: damage at offset N, B bytes: KIND (BLOCK block): REASON; COST
 *     COST is "no key lost" or "keys LO..HI may be lost" (* for unbounded)
 *     followed by ", sequences A..B" when known
 *   doubtful: KEY (sequence S[, in FILE]) left out: REASON
 *     (Bitcask: "doubtful: KEY (in FILE) left out: REASON")
 *   FILE: ignored: REASON
 *   repaired DB into PATH: K keys in T tables at level L; R damaged
 *   regions (B bytes); D doubtful keys left out[; original kept in BACKUP]
 * With --json one object: the report's counters, "path", "backup",
 * "damage": [{"file", "offset", "bytes", "kind", "block", "reason",
 * "costs_keys", "lo", "hi", "seq_first", "seq_last"}], "doubtful": [{"key",
 * "sequence", "file"}], "ignored": [{"file", "reason"}].
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct rev {
  strata_repair_event_kind kind; /* DAMAGE, DOUBTFUL or IGNORED */
  char *file, *reason, *block;   /* copies (NULL when absent) */
  uint64_t offset, bytes;        /* DAMAGE: the region */
  strata_damage_kind dkind;      /* DAMAGE: its kind */
  int costs_keys, seq_known;     /* DAMAGE: cost flags */
  uint64_t seq_first, seq_last;  /* DAMAGE: sequence range when known */
  cli_buf lo, hi;                /* DAMAGE: key range */
  int has_lo, has_hi;            /* 0: unbounded */
  cli_buf key;                   /* DOUBTFUL: the key */
  uint64_t sequence;             /* DOUBTFUL: its left-out version */
} rev;

typedef struct revs {
  rev *v;
  size_t n, cap;
} revs;

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) cli_out_of_memory();
  return d;
}

static void collect(void *arg, const strata_repair_event *ev) {
  revs *rs = arg;
  if (rs->n == rs->cap) {
    size_t cap = rs->cap ? rs->cap * 2 : 16;
    rev *v = realloc(rs->v, cap * sizeof *v);
    if (!v) cli_out_of_memory();
    rs->v = v;
    rs->cap = cap;
  }
  rev *r = &rs->v[rs->n++];
  memset(r, 0, sizeof *r);
  r->kind = ev->kind;
  r->block = dup_or_null(ev->block);
  if (ev->kind == STRATA_REPAIR_DAMAGE && ev->damage) {
    r->file = dup_or_null(ev->damage->file);
    r->reason = dup_or_null(ev->damage->reason);
    r->offset = ev->damage->offset;
    r->bytes = ev->damage->bytes;
    r->dkind = ev->damage->kind;
  } else {
    r->file = dup_or_null(ev->file);
    r->reason = dup_or_null(ev->reason);
  }
  r->costs_keys = ev->costs_keys;
  r->seq_known = ev->seq_known;
  r->seq_first = ev->seq_first;
  r->seq_last = ev->seq_last;
  if (ev->lo) {
    r->has_lo = 1;
    cli_buf_add(&r->lo, ev->lo, ev->lo_len);
  }
  if (ev->hi) {
    r->has_hi = 1;
    cli_buf_add(&r->hi, ev->hi, ev->hi_len);
  }
  if (ev->key) cli_buf_add(&r->key, ev->key, ev->key_len);
  r->sequence = ev->sequence;
}

static void free_revs(revs *rs) {
  for (size_t i = 0; i < rs->n; i++) {
    rev *r = &rs->v[i];
    free(r->file);
    free(r->reason);
    free(r->block);
    cli_buf_free(&r->lo);
    cli_buf_free(&r->hi);
    cli_buf_free(&r->key);
  }
  free(rs->v);
}

static void print_text(const cli_options *o, const char *engine, const char *db,
                       const revs *rs, const strata_repair_report *rep) {
  for (size_t i = 0; i < rs->n; i++) {
    const rev *r = &rs->v[i];
    if (r->kind == STRATA_REPAIR_DAMAGE) {
      printf("%s: damage at offset %" PRIu64 ", %" PRIu64 " bytes: %s",
             r->file ? r->file : "", r->offset, r->bytes,
             strata_damage_kind_name(r->dkind));
      if (r->block) printf(" (%s block)", r->block);
      printf(": %s; ", r->reason ? r->reason : "");
      if (!r->costs_keys) {
        printf("no key lost");
      } else {
        printf("keys ");
        if (r->has_lo)
          cli_write_bytes(stdout, o->hex, 0, r->lo.data, r->lo.len);
        else
          printf("*");
        printf("..");
        if (r->has_hi)
          cli_write_bytes(stdout, o->hex, 0, r->hi.data, r->hi.len);
        else
          printf("*");
        printf(" may be lost");
      }
      if (r->seq_known) {
        printf(", sequences %" PRIu64 "..", r->seq_first);
        if (r->seq_last == UINT64_MAX)
          printf("* (a lost tail: repaired as of sequence %" PRIu64 ")",
                 r->seq_first - 1);
        else
          printf("%" PRIu64, r->seq_last);
      }
      printf("\n");
    } else if (r->kind == STRATA_REPAIR_DOUBTFUL) {
      printf("doubtful: ");
      cli_write_bytes(stdout, o->hex, 0, r->key.data, r->key.len);
      int lsm = strcmp(engine, "lsm") == 0; /* Bitcask has no sequences */
      if (lsm) printf(" (sequence %" PRIu64, r->sequence);
      if (r->file) printf("%sin %s", lsm ? ", " : " (", r->file);
      if (lsm || r->file) printf(")");
      printf(" left out: %s\n", r->reason ? r->reason : "");
    } else {
      printf("%s: ignored: %s\n", r->file ? r->file : "",
             r->reason ? r->reason : "");
    }
  }
  printf("repaired %s into %s: %" PRIu64 " keys", db, rep->path,
         rep->keys_written);
  if (!strcmp(engine, "lsm"))
    printf(" in %" PRIu64 " tables at level %d", rep->tables_written,
           rep->level);
  printf("; %" PRIu64 " damaged regions (%" PRIu64 " bytes); %" PRIu64
         " doubtful keys left out",
         rep->damaged_regions, rep->damaged_bytes, rep->doubtful_keys);
  if (rep->backup) printf("; original kept in %s", rep->backup);
  printf("\n");
}

static void print_json(const cli_options *o, const char *engine, const revs *rs,
                       const strata_repair_report *rep) {
  json_writer w;
  json_init(&w, stdout);
  json_object_begin(&w);
  json_key(&w, "ok");
  json_bool(&w, 1);
  json_key(&w, "engine");
  json_str(&w, engine);
  json_key(&w, "path");
  json_str(&w, rep->path);
  if (rep->backup) {
    json_key(&w, "backup");
    json_str(&w, rep->backup);
  }
  struct {
    const char *name;
    uint64_t v;
  } nums[] = {{"manifest_used", (uint64_t)rep->manifest_used},
              {"files_read", rep->files_read},
              {"files_ignored", rep->files_ignored},
              {"entries_read", rep->entries_read},
              {"keys_written", rep->keys_written},
              {"tables_written", rep->tables_written},
              {"level", (uint64_t)rep->level},
              {"last_sequence", rep->last_sequence},
              {"damaged_regions", rep->damaged_regions},
              {"damaged_bytes", rep->damaged_bytes},
              {"records_lost", rep->records_lost},
              {"doubtful_keys", rep->doubtful_keys}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    json_key(&w, nums[i].name);
    json_uint(&w, nums[i].v);
  }
  static const char *arrays[] = {"damage", "doubtful", "ignored"};
  for (int a = 0; a < 3; a++) {
    json_key(&w, arrays[a]);
    json_array_begin(&w);
    for (size_t i = 0; i < rs->n; i++) {
      const rev *r = &rs->v[i];
      if ((int)r->kind != a) continue;
      json_object_begin(&w);
      if (r->kind == STRATA_REPAIR_DOUBTFUL) {
        json_key(&w, "key");
        json_bytes(&w, o->hex, r->key.data, r->key.len);
        json_key(&w, "sequence");
        json_uint(&w, r->sequence);
        if (r->file) {
          json_key(&w, "file");
          json_str(&w, r->file);
        }
      } else {
        json_key(&w, "file");
        json_str(&w, r->file ? r->file : "");
      }
      if (r->kind == STRATA_REPAIR_DAMAGE) {
        json_key(&w, "offset");
        json_uint(&w, r->offset);
        json_key(&w, "bytes");
        json_uint(&w, r->bytes);
        json_key(&w, "kind");
        json_str(&w, strata_damage_kind_name(r->dkind));
        if (r->block) {
          json_key(&w, "block");
          json_str(&w, r->block);
        }
        json_key(&w, "costs_keys");
        json_bool(&w, r->costs_keys);
        if (r->costs_keys && r->has_lo) {
          json_key(&w, "lo");
          json_bytes(&w, o->hex, r->lo.data, r->lo.len);
        }
        if (r->costs_keys && r->has_hi) {
          json_key(&w, "hi");
          json_bytes(&w, o->hex, r->hi.data, r->hi.len);
        }
        if (r->seq_known) {
          json_key(&w, "seq_first");
          json_uint(&w, r->seq_first);
          if (r->seq_last != UINT64_MAX) {
            json_key(&w, "seq_last");
            json_uint(&w, r->seq_last);
          }
        }
      }
      json_key(&w, "reason");
      json_str(&w, r->reason ? r->reason : "");
      json_object_end(&w);
    }
    json_array_end(&w);
  }
  json_object_end(&w);
  json_finish(&w);
}

/* The engine of a damaged directory: *.data → bitcask; CURRENT, MANIFEST-*,
 * *.ldb or *.sst → lsm; otherwise what --engine says (NULL: unknown). */
static const char *repair_engine(const cli_options *o, const char *db) {
  DIR *d = opendir(db);
  if (!d) return NULL;
  int data = 0, lsm = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n > 5 && !strcmp(e->d_name + n - 5, ".data")) data = 1;
    if (!strcmp(e->d_name, "CURRENT") || !strncmp(e->d_name, "MANIFEST-", 9) ||
        cli_is_table(e->d_name))
      lsm = 1;
  }
  closedir(d);
  return data ? "bitcask" : lsm ? "lsm" : o->engine;
}

int cli_cmd_repair(const cli_options *o) {
  if (o->argc != 2) {
    cli_error("repair: usage: strata repair DB [--into NEWDB | --in-place]");
    return CLI_USAGE;
  }
  int in_place = cli_given(o, CLI_OPT_IN_PLACE);
  if (in_place && o->into) {
    cli_error("repair: --into and --in-place exclude each other");
    return CLI_USAGE;
  }
  const char *db = o->argv[1];
  int is_dir = 0;
  int rc = cli_check_path(db, &is_dir);
  if (rc) return rc;
  const char *engine = repair_engine(o, db);
  if (!engine || (strcmp(engine, "lsm") && strcmp(engine, "bitcask"))) {
    cli_error("repair: %s: not an LSM or Bitcask database (repairing %s "
              "directories is not supported)",
              db, engine ? engine : "such");
    return CLI_FAILED;
  }
  revs rs = {NULL, 0, 0};
  strata_repair_options ro;
  strata_repair_options_init(&ro);
  ro.in_place = in_place;
  ro.on_event = collect;
  ro.arg = &rs;
  strata_repair_report rep;
  int st = strcmp(engine, "lsm") == 0
               ? strata_db_repair(db, o->into, &ro, &rep)
               : strata_bitcask_repair(db, o->into, &ro, &rep);
  if (st != STRATA_OK) {
    cli_error("repair: %s: %s", db, strata_last_error());
    free_revs(&rs);
    return CLI_FAILED;
  }
  if (o->json)
    print_json(o, engine, &rs, &rep);
  else
    print_text(o, engine, db, &rs, &rep);
  free_revs(&rs);
  strata_repair_report_free(&rep);
  return CLI_OK;
}
