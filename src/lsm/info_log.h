/*
 * info_log.h — DIR/LOG, the human-readable journal of what the engine did
 * (opens, recoveries and their drops, flushes, compactions, errors), as
 * LevelDB's. At open the previous LOG becomes LOG.old. Not a format anything
 * reads back; lines are "YYYY/MM/DD-HH:MM:SS.uuuuuu message".
 */
#ifndef STRATA_LSM_INFO_LOG_H
#define STRATA_LSM_INFO_LOG_H

#include <pthread.h>

#include "env/env.h"
#include "util/status.h"

typedef struct lsm_info_log {
  env_file *f;        /* DIR/LOG, or NULL when disabled or unopenable */
  pthread_mutex_t mu; /* one line at a time */
} lsm_info_log;

/* Opens (renaming an old LOG to LOG.old). Failure leaves the log disabled:
 * the journal is never a reason to refuse an open. */
void lsm_info_log_open(lsm_info_log *l, env *e, const char *dir, int enabled);
void lsm_info_log_close(lsm_info_log *l);
void lsm_info(lsm_info_log *l, const char *fmt, ...) ST_PRINTF(2, 3);

#endif
