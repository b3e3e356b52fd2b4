/*
 * table_inspect.c — strata_table_inspect: every block of a table file, in
 * file order, with its checksum status and entries (format in
 * table_reader.c). The table is opened under `skip`, so a damaged footer,
 * metaindex or index is reported and the data blocks are found by salvage;
 * every block is read with its checksum verified, whatever the options. A
 * damaged data block is reported with the index keys that bound it and its
 * entries are not delivered; a block whose checksum matched but whose
 * entries do not parse delivers the entries before the damage and is
 * reported too.
 */
#include <stdlib.h>
#include <string.h>

#include "sstable/block.h"
#include "sstable/table_reader.h"
#include "strata.h"
#include "util/status.h"

typedef struct inspect {
  const strata_table_visitor *v; /* the caller's callbacks */
  uint64_t damaged;              /* damage reports delivered */
} inspect;

static void on_damage(void *arg, const strata_table_damage *d) {
  inspect *in = arg;
  in->damaged++;
  if (in->v->damage) in->v->damage(in->v->arg, d);
}

static void damage(inspect *in, const char *file, const char *block,
                   sst_handle h, strata_damage_kind kind, const uint8_t *after,
                   size_t an, const uint8_t *upto, size_t un) {
  strata_table_damage d;
  memset(&d, 0, sizeof d);
  d.damage.file = file;
  d.damage.offset = h.offset;
  d.damage.bytes = h.size + 5;
  d.damage.kind = kind;
  d.damage.reason = strata_last_error();
  d.block = block;
  d.after = after;
  d.after_len = an;
  d.upto = upto;
  d.upto_len = un;
  on_damage(in, &d);
}

/* Reads one non-data block and reports it. */
static void meta_block(inspect *in, sst_table *t, const char *kind,
                       sst_handle h, int parse) {
  strata_table_block_info b = {kind, h.offset, h.size, 0, 0, 0};
  uint8_t *d = NULL;
  size_t n;
  strata_damage_kind dk;
  int type;
  int rc = sst_table_read(t, h, &d, &n, &dk, &type);
  b.compression = type;
  if (rc == STRATA_OK) {
    b.checksum_ok = 1;
    if (parse) {
      sst_iter *it = sst_block_iter(d, n, 0, SST_CMP_BYTEWISE, "", h.offset);
      if (it) {
        for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
          b.entries++;
        sst_iter_destroy(it);
      }
    }
  }
  if (in->v->block) in->v->block(in->v->arg, &b);
  free(d);
}

int strata_table_inspect(const char *path, const strata_table_visitor *v,
                         uint64_t *damaged) {
  inspect in = {v, 0};
  strata_table_options o;
  strata_table_options_init(&o);
  o.policy = STRATA_RECOVERY_SKIP;
  sst_table *t = NULL;
  int rc = sst_table_open(env_posix(), path, &o, on_damage, &in, &t);
  if (damaged) *damaged = in.damaged;
  if (rc) return rc;
  sst_footer f;
  int footer_ok = sst_table_footer(t, &f);
  if (v->footer)
    v->footer(v->arg, footer_ok, footer_ok ? f.metaindex.offset : 0,
              footer_ok ? f.metaindex.size : 0, footer_ok ? f.index.offset : 0,
              footer_ok ? f.index.size : 0);
  const uint8_t *idx;
  size_t idxn;
  sst_table_index_block(t, &idx, &idxn);
  sst_iter *ii = sst_block_iter(idx, idxn, 0, SST_CMP_BYTEWISE, path, 0);
  if (!ii) {
    sst_table_close(t);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  sst_buf prev = {0};
  int have_prev = 0;
  for (sst_iter_seek_first(ii); sst_iter_valid(ii); sst_iter_next(ii)) {
    size_t kn, hn;
    const uint8_t *k = sst_iter_key(ii, &kn), *hv = sst_iter_value(ii, &hn);
    sst_handle h;
    if (!sst_handle_decode(hv, hv + hn, &h)) break;
    strata_table_block_info b = {"data", h.offset, h.size, 0, 0, 0};
    uint8_t *d = NULL;
    size_t n;
    strata_damage_kind dk;
    int type;
    rc = sst_table_read(t, h, &d, &n, &dk, &type);
    b.compression = type;
    if (rc == STRATA_OK) {
      b.checksum_ok = 1;
      sst_iter *it = sst_block_iter(d, n, 0, SST_CMP_BYTEWISE, path, h.offset);
      if (!it) {
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
        free(d);
        break;
      }
      for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
        b.entries++;
      /* Whole-block check; the ordering is not known here, so a block is
       * well-formed if it is under either. */
      int bad = sst_iter_status(it);
      if (!bad && sst_block_validate(d, n, SST_CMP_INTERNAL, path, h.offset) &&
          sst_block_validate(d, n, SST_CMP_BYTEWISE, path, h.offset))
        bad = STRATA_CORRUPTION;
      if (v->block) v->block(v->arg, &b);
      for (sst_iter_seek_first(it); v->entry && sst_iter_valid(it);
           sst_iter_next(it)) {
        size_t ekn, evn;
        const uint8_t *ek = sst_iter_key(it, &ekn),
                      *ev = sst_iter_value(it, &evn);
        v->entry(v->arg, &b, ek, ekn, ev, evn);
      }
      if (bad)
        damage(&in, path, "data", h, STRATA_DAMAGE_BAD_LENGTH,
               have_prev ? prev.data : NULL, prev.len, k, kn);
      sst_iter_destroy(it);
    } else if (rc == STRATA_CORRUPTION) {
      if (v->block) v->block(v->arg, &b);
      damage(&in, path, "data", h, dk, have_prev ? prev.data : NULL, prev.len,
             k, kn);
    } else {
      break; /* I/O or memory */
    }
    rc = STRATA_OK;
    free(d);
    sst_buf_set(&prev, k, kn);
    have_prev = 1;
  }
  if (rc == STRATA_OK && footer_ok && !sst_table_is_salvaged(t)) {
    /* The filter block's handle from the metaindex. */
    uint8_t *m = NULL;
    size_t mn;
    strata_damage_kind dk;
    int type;
    if (sst_table_read(t, f.metaindex, &m, &mn, &dk, &type) == STRATA_OK) {
      sst_iter *mi =
          sst_block_iter(m, mn, 0, SST_CMP_BYTEWISE, path, f.metaindex.offset);
      for (sst_iter_seek_first(mi); mi && sst_iter_valid(mi);
           sst_iter_next(mi)) {
        size_t kn, hn;
        const uint8_t *k = sst_iter_key(mi, &kn), *hv = sst_iter_value(mi, &hn);
        sst_handle fh;
        if (kn > 7 && memcmp(k, "filter.", 7) == 0 &&
            sst_handle_decode(hv, hv + hn, &fh))
          meta_block(&in, t, "filter", fh, 0);
      }
      sst_iter_destroy(mi);
    }
    free(m);
    meta_block(&in, t, "metaindex", f.metaindex, 1);
    meta_block(&in, t, "index", f.index, 1);
  }
  sst_buf_free(&prev);
  sst_iter_destroy(ii);
  sst_table_close(t);
  if (damaged) *damaged = in.damaged;
  return rc;
}
