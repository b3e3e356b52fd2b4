/*
 * torture.h — the measuring campaigns of issue 8 (damage, kill -9, power
 * loss, I/O errors), run by the `torture` program (torture.c): `make torture`
 * for the long run, the ctest test torture_short for a bounded one.
 */
#ifndef STRATA_TORTURE_H
#define STRATA_TORTURE_H

#include <inttypes.h>
#include <stdint.h>

#include "torture_util.h"

enum {
  KIND_WAL = 0,     /* a strata_wal segment */
  KIND_LSM_LOG,     /* the LSM engine's NNNNNN.log */
  KIND_MANIFEST,    /* MANIFEST-NNNNNN */
  KIND_TABLE,       /* NNNNNN.ldb */
  KIND_BC_DATA,     /* Bitcask NNNNNN.data */
  KIND_BC_HINT,     /* Bitcask NNNNNN.hint */
  KIND_COUNT
};

enum {
  FAULT_BITFLIP = 0,
  FAULT_BYTERUN,
  FAULT_ZERO512,
  FAULT_ZERO4K,
  FAULT_TRUNC_RECORD, /* at a record boundary */
  FAULT_TRUNC_HEADER, /* 1..7 bytes past a record boundary */
  FAULT_TRUNC_BLOCK,  /* at a block boundary (32 KiB logs, 4 KiB others) */
  FAULT_TRUNC_ANY,
  FAULT_TORN_APPEND,  /* the last record cut short (or zero-filled) */
  FAULT_MISDIRECTED,  /* a 512 B / 4 KiB region copied from elsewhere */
  FAULT_NESTED,       /* header of a record whose value is a valid record */
  FAULT_COUNT
};

extern const char *fault_names[FAULT_COUNT];
const char *kind_name(int kind);

#define MAX_CONFS 8

/* Figures of one (kind, configuration, fault class). */
typedef struct cstats {
  uint64_t trials;        /* faults that changed bytes and were run */
  uint64_t noop;          /* faults that changed nothing (not run) */
  uint64_t crashes;       /* child died (signal, sanitizer, exit code) */
  uint64_t hangs;         /* child timed out */
  uint64_t open_failed;   /* open refused */
  uint64_t lost;          /* records lost, all trials */
  uint64_t overlap;       /* records overlapping the damage, all trials */
  uint64_t lost_ov;       /* records lost in trials with overlap > 0 */
  uint64_t overlap_trials; /* trials with overlap > 0 */
  uint64_t lost_no_ov;    /* records lost in trials overlapping nothing */
  uint64_t stale;         /* older versions served */
  uint64_t silent;        /* wrong values + ghost keys returned */
  uint64_t silent_trials; /* trials with any */
  uint64_t detected;      /* trials where damage was reported anywhere */
  uint64_t verify_run;    /* trials where a verify exists */
  uint64_t verify_detected; /* of which verify found damage */
  uint64_t silent_loss_trials; /* records lost and nothing reported */
} cstats;

typedef struct conf_stats {
  char name[32];                /* configuration label */
  cstats by_fault[FAULT_COUNT]; /* per fault class */
} conf_stats;

typedef struct kind_stats {
  int nconf;                     /* configurations run */
  conf_stats conf[MAX_CONFS];    /* per configuration */
} kind_stats;

typedef struct dstats {
  kind_stats kinds[KIND_COUNT]; /* per file kind */
  uint64_t total_trials;        /* child runs */
  double seconds;               /* wall time */
} dstats;

typedef struct torture_opts {
  const char *tmp;   /* scratch directory */
  uint64_t seed;     /* campaign seed */
  uint32_t trials;   /* damage: faults per kind (each run per config) */
  double seconds;    /* damage: time bound (0: none) */
  uint32_t kills;    /* crash campaign: kill -9 count per engine */
  int timeout;       /* seconds per child */
  int only_kind;     /* -1: all */
  int verbose;       /* print every failure */
  int keep;          /* keep the scratch files */
  int power_step;    /* power/ioerr: every Nth operation (1: all) */
  int power_points;  /* with power_step 0: about this many, evenly spread */
} torture_opts;

int damage_campaign(const torture_opts *to, dstats *st);

/* Figures of the crash, power-loss and I/O-error campaigns. */
typedef struct crash_stats {
  uint64_t runs;        /* kills, power losses or injected faults */
  uint64_t crashes;     /* checker or workload died unexpectedly / hung */
  uint64_t lost_acked;  /* synced writes acknowledged and then missing */
  uint64_t half_batch;  /* batches seen half applied */
  uint64_t bad_values;  /* values never written */
  uint64_t verify_bad;  /* verify found more than a torn tail */
  uint64_t open_failed; /* could not reopen after the event */
  uint64_t errors_returned; /* I/O errors: operations that reported one */
  uint64_t max_ops;     /* workload length in env operations */
} crash_stats;

/* engine: 0 LSM, 1 Bitcask. */
int crash_campaign(const torture_opts *to, int engine, crash_stats *st);
/* mode: 0 power loss after op N (sticky failure from N on, then power
 * loss), 1 reordered power loss (a random prefix of unsynced appends),
 * 2 I/O error once at op N, 3 sticky from op N. engine: 0 LSM, 1 Bitcask,
 * 2 WAL. */
int fault_campaign(const torture_opts *to, int engine, int mode,
                   crash_stats *st);

#endif
