/*
 * escape.c — keys and values as command-line text (SPEC §3).
 *
 * Escaped form (the default): printable ASCII 0x20..0x7e stands for itself,
 * except the backslash, written "\\"; tab is "\t", newline "\n", and every
 * other byte "\xNN" with two lowercase hex digits. Input accepts exactly these
 * escapes (hex digits in either case) and raw bytes; any other backslash
 * sequence is an error. Hex form (--hex): two lowercase hex digits per byte
 * on output; on input an even number of hex digits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char digits[] = "0123456789abcdef";

void cli_buf_add(cli_buf *b, const void *p, size_t n) {
  if (n + 1 > b->cap - b->len || !b->data) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n + 1) {
      if (cap > SIZE_MAX / 2) cli_out_of_memory();
      cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) cli_out_of_memory();
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void cli_buf_free(cli_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

void cli_write_bytes(FILE *out, int hex, int json, const void *p, size_t n) {
  const unsigned char *s = p;
  /* with json, each backslash of the text form is doubled */
  const char *bs = json ? "\\\\" : "\\";
  for (size_t i = 0; i < n; i++) {
    unsigned c = s[i];
    if (hex) {
      putc(digits[c >> 4], out);
      putc(digits[c & 15], out);
    } else if (c == '\\') {
      fputs(bs, out);
      fputs(bs, out);
    } else if (c == '\t') {
      fputs(bs, out);
      putc('t', out);
    } else if (c == '\n') {
      fputs(bs, out);
      putc('n', out);
    } else if (c < 0x20 || c > 0x7e) {
      fputs(bs, out);
      putc('x', out);
      putc(digits[c >> 4], out);
      putc(digits[c & 15], out);
    } else if (c == '"' && json) {
      fputs("\\\"", out);
    } else {
      putc((int)c, out);
    }
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int decode_hex(const char *s, size_t n, cli_buf *out, char *err,
                      size_t errlen) {
  if (n % 2) {
    snprintf(err, errlen, "odd number of hex digits (%zu)", n);
    return -1;
  }
  for (size_t i = 0; i < n; i += 2) {
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) {
      snprintf(err, errlen, "not a hex digit at position %zu",
               i + (hi < 0 ? 0 : 1) + 1);
      return -1;
    }
    unsigned char c = (unsigned char)(hi << 4 | lo);
    cli_buf_add(out, &c, 1);
  }
  return 0;
}

int cli_decode(const char *s, size_t n, int hex, cli_buf *out, char *err,
               size_t errlen) {
  if (!out->data) cli_buf_add(out, "", 0);
  if (hex) return decode_hex(s, n, out, err, errlen);
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && s[run] != '\\')
      run++;
    cli_buf_add(out, s + i, run - i);
    if (run == n) break;
    i = run + 1; /* past the backslash */
    char c = i < n ? s[i] : '\0';
    unsigned char byte;
    if (c == '\\' || c == 't' || c == 'n') {
      byte = c == '\\' ? '\\' : c == 't' ? '\t' : '\n';
      i += 1;
    } else if (c == 'x' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      byte = (unsigned char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
      i += 3;
    } else {
      if (i >= n)
        snprintf(err, errlen, "lone backslash at the end");
      else
        snprintf(err, errlen,
                 "malformed escape at position %zu (use \\\\, \\t, \\n or "
                 "\\xNN)",
                 run + 1);
      return -1;
    }
    cli_buf_add(out, &byte, 1);
  }
  return 0;
}

int cli_read_all(FILE *f, cli_buf *out, const char *what) {
  char chunk[65536];
  size_t got;
  cli_buf_add(out, "", 0);
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
    cli_buf_add(out, chunk, got);
  if (ferror(f)) {
    cli_error("%s: reading stdin: %s", what, cli_errno_text(errno));
    cli_buf_free(out);
    return CLI_FAILED;
  }
  return CLI_OK;
}
