/*
 * db.h — internal interface of the LSM engine (public API: the strata_db_*
 * section of include/strata.h). Tests open through another env (env_fault)
 * with lsm_db_open_env to simulate crashes and power loss.
 */
#ifndef STRATA_LSM_DB_H
#define STRATA_LSM_DB_H

#include "env/env.h"
#include "strata.h"

/* As strata_db_open, with every file access going through `e`. */
int lsm_db_open_env(env *e, const char *dir, const strata_options *o,
                    strata_db **out);

#endif
