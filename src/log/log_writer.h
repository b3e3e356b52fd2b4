/*
 * log_writer.h — appends records to a file in the record-log format
 * (log_format.h, docs/formats/log.md). Used by the WAL, the MANIFEST and the
 * Bitcask data and hint files.
 */
#ifndef STRATA_LOG_WRITER_H
#define STRATA_LOG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

typedef struct log_writer log_writer;

/* Creates a writer appending to `file`, whose current length is `size` bytes
 * (the writer continues inside the current block). The writer does not own the
 * file unless `owns_file`, in which case log_writer_close closes it. Free with
 * log_writer_close. */
int log_writer_create(env_file *file, uint64_t size, int owns_file,
                      log_writer **out);

/* Appends one record (split into fragments at block boundaries) and hands all
 * its bytes to the kernel before returning. After a failed append the writer
 * refuses further appends (the file may hold a torn record: the reader treats
 * it as a torn tail). */
int log_writer_add(log_writer *w, const void *data, size_t size);

/* Appends several records with as few system calls as possible (one writev
 * for up to 64 fragments); same failure rule as log_writer_add. */
int log_writer_add_many(log_writer *w, const struct iovec *records, int count);

/* fdatasync of the file. */
int log_writer_sync(log_writer *w);

/* Bytes in the file, including what this writer appended. */
uint64_t log_writer_size(const log_writer *w);

/* The file the writer appends to. */
env_file *log_writer_file(const log_writer *w);

/* Frees the writer (closing the file if it owns it); accepts NULL. */
int log_writer_close(log_writer *w);

#endif
