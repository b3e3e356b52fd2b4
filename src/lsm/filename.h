/*
 * filename.h — the names of a LevelDB 1.23 database directory's files
 * (docs/formats/manifest.md, LevelDB's impl.md): CURRENT, LOCK, LOG,
 * LOG.old, MANIFEST-NNNNNN, NNNNNN.log, NNNNNN.ldb (NNNNNN.sst read too),
 * NNNNNN.dbtmp; and strata's LEDGER (a name LevelDB ignores). Numbers are
 * printed with at least six digits.
 */
#ifndef STRATA_LSM_FILENAME_H
#define STRATA_LSM_FILENAME_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

typedef enum lsm_file_type {
  LSM_FILE_LOG,      /* NNNNNN.log: a WAL */
  LSM_FILE_TABLE,    /* NNNNNN.ldb or NNNNNN.sst */
  LSM_FILE_MANIFEST, /* MANIFEST-NNNNNN */
  LSM_FILE_CURRENT,  /* CURRENT */
  LSM_FILE_TEMP,     /* NNNNNN.dbtmp: a CURRENT being written */
  LSM_FILE_LOCK,     /* LOCK */
  LSM_FILE_INFO_LOG, /* LOG or LOG.old */
  LSM_FILE_LEDGER    /* LEDGER or LEDGER.tmp: strata's damage ledger */
} lsm_file_type;

/* DIR/NNNNNN.<ext> (ext "log", "ldb", "sst", "dbtmp"), DIR/MANIFEST-NNNNNN,
 * DIR/<name>: malloc'd, caller frees; NULL when out of memory. */
char *lsm_file_path(const char *dir, uint64_t number, const char *ext);
char *lsm_manifest_path(const char *dir, uint64_t number);
char *lsm_dir_path(const char *dir, const char *name);

/* Parses a directory entry's name. 1 with *type and *number (0 for names
 * without a number) when it is one of the database's file names, else 0. */
int lsm_parse_file_name(const char *name, lsm_file_type *type,
                        uint64_t *number);

/* Points CURRENT at MANIFEST-<number>: writes "MANIFEST-NNNNNN\n" to
 * NNNNNN.dbtmp, fsyncs it, renames it over CURRENT, fsyncs the directory. */
int lsm_set_current(env *e, const char *dir, uint64_t number);

/* Reads CURRENT: STRATA_OK with the MANIFEST's number; STRATA_NOT_FOUND if
 * CURRENT is missing; STRATA_CORRUPTION if it does not hold exactly
 * "MANIFEST-<digits>\n" (message names the file and what is wrong). */
int lsm_read_current(env *e, const char *dir, uint64_t *number);

#endif
