/*
 * json.c — a tiny streaming JSON writer for the tool's --json reports:
 * compact output, commas placed automatically, strings in the tool's escaped
 * text form so that the result is always ASCII and always valid JSON.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

void json_init(json_writer *w, FILE *out) {
  memset(w, 0, sizeof *w);
  w->out = out;
}

/* Called before every value and key: the separating comma, if one is due. */
static void before_item(json_writer *w) {
  if (w->after_key) {
    w->after_key = 0;
    return;
  }
  if (w->depth > 0) {
    if (!w->first[w->depth - 1]) putc(',', w->out);
    w->first[w->depth - 1] = 0;
  }
}

static void open_container(json_writer *w, char c) {
  before_item(w);
  assert(w->depth < JSON_MAX_DEPTH);
  putc(c, w->out);
  w->first[w->depth++] = 1;
}

static void close_container(json_writer *w, char c) {
  assert(w->depth > 0 && !w->after_key);
  w->depth--;
  putc(c, w->out);
}

void json_object_begin(json_writer *w) { open_container(w, '{'); }
void json_object_end(json_writer *w) { close_container(w, '}'); }
void json_array_begin(json_writer *w) { open_container(w, '['); }
void json_array_end(json_writer *w) { close_container(w, ']'); }

void json_key(json_writer *w, const char *key) {
  before_item(w);
  putc('"', w->out);
  cli_write_bytes(w->out, 0, 1, key, strlen(key));
  fputs("\":", w->out);
  w->after_key = 1;
}

void json_str(json_writer *w, const char *s) {
  json_bytes(w, 0, s ? s : "", s ? strlen(s) : 0);
}

void json_bytes(json_writer *w, int hex, const void *p, size_t n) {
  before_item(w);
  putc('"', w->out);
  cli_write_bytes(w->out, hex, 1, p, n);
  putc('"', w->out);
}

void json_uint(json_writer *w, uint64_t v) {
  before_item(w);
  fprintf(w->out, "%" PRIu64, v);
}

void json_bool(json_writer *w, int v) {
  before_item(w);
  fputs(v ? "true" : "false", w->out);
}

void json_finish(json_writer *w) {
  assert(w->depth == 0);
  putc('\n', w->out);
}
