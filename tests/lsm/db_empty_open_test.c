/*
 * db_empty_open_test.c — opening and reopening a database that has no table
 * yet: the obsolete-file sweep then has no live file number at all and must
 * not hand qsort/bsearch a NULL array (undefined behaviour, reported by
 * UBSan in the ASan+UBSan build; found by the lsm_open fuzz target's corpus
 * replay).
 */
#include "test.h"

#include "strata.h"

TEST(open_and_reopen_empty_database) {
  const char *dir = test_path("db");
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  strata_db *db = NULL;
  CHECK_EQ(strata_db_open(dir, &o, &db), STRATA_OK);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  db = NULL;
  CHECK_EQ(strata_db_open(dir, &o, &db), STRATA_OK);
  void *v = NULL;
  size_t vl;
  CHECK_EQ(strata_db_get(db, NULL, "k", 1, &v, &vl), STRATA_NOT_FOUND);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
}
