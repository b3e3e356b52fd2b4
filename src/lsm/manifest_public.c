/*
 * manifest_public.c — strata_manifest_edit_decode (include/strata.h): one
 * MANIFEST record (a LevelDB VersionEdit, docs/formats/manifest.md) handed
 * to the caller field by field, in record order. It walks the record with
 * the same parser as ve_decode (version_edit.c), so both accept and refuse
 * exactly the same records; fields before a damaged one have been delivered
 * when STRATA_CORRUPTION is returned.
 */
#include "lsm/version_edit.h"
#include "strata.h"
#include "util/status.h"

int strata_manifest_edit_decode(const void *rec, size_t size, strata_edit_fn fn,
                                void *arg) {
  if (!rec && size)
    return st_error(STRATA_INVALID_ARGUMENT, "MANIFEST record: NULL data");
  ve_parser p;
  ve_field f;
  int rc;
  ve_parser_init(&p, rec, size, NULL);
  while ((rc = ve_parser_next(&p, &f)) == STRATA_OK) {
    strata_edit_field out = {
        .tag = f.tag,
        .level = f.level,
        .number = f.number,
        .size = f.size,
        .key = f.key,
        .key_len = f.key_len,
        .key2 = f.key2,
        .key2_len = f.key2_len,
    };
    if (fn && (rc = fn(arg, &out)) != 0) return rc;
  }
  return rc == STRATA_END ? STRATA_OK : rc;
}
