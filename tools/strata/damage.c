/*
 * damage.c — collects the damage reports of log readers (strata_damage is
 * valid only during its callback, so each is copied).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *dup_str(const char *s) {
  size_t n = s ? strlen(s) : 0;
  char *d = malloc(n + 1);
  if (!d) cli_out_of_memory();
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void cli_drops_collect(void *arg, const strata_damage *d) {
  cli_drops *ds = arg;
  if (ds->n == ds->cap) {
    size_t cap = ds->cap ? ds->cap * 2 : 8;
    cli_drop *v = realloc(ds->v, cap * sizeof *v);
    if (!v) cli_out_of_memory();
    ds->v = v;
    ds->cap = cap;
  }
  cli_drop *x = &ds->v[ds->n++];
  x->file = dup_str(d->file);
  x->offset = d->offset;
  x->bytes = d->bytes;
  x->kind = d->kind;
  x->reason = dup_str(d->reason);
  x->records = d->records;
  x->tail = d->tail;
  ds->bytes += d->bytes;
}

void cli_drops_free(cli_drops *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].file);
    free(d->v[i].reason);
  }
  free(d->v);
  memset(d, 0, sizeof *d);
}
