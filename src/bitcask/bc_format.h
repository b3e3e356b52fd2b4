/*
 * bc_format.h — constants of the Bitcask data and hint files. Normative
 * description: docs/formats/bitcask.md. Both files are record logs
 * (docs/formats/log.md); these are the layouts of their record payloads.
 */
#ifndef STRATA_BC_FORMAT_H
#define STRATA_BC_FORMAT_H

enum {
  /* first byte of a data record / of each entry inside it */
  BC_KIND_PUT = 1,       /* an entry that stores a value */
  BC_KIND_TOMBSTONE = 2, /* an entry that deletes its key (no value) */
  BC_KIND_BATCH = 3,     /* a record holding `count` entries, atomically */

  /* first byte of a hint record */
  BC_HINT_ENTRIES = 1, /* a run of hint entries */
  BC_HINT_FOOTER = 2,  /* the last record: data file id, size, entry count */
  BC_HINT_ROTATED = 1, /* optional last footer field: written for a file
                          closed by rotation (absent: by merge) */

  BC_MAX_KEY = 65535,            /* longest key, bytes */
  BC_MAX_VALUE = 0x7fff0000u,    /* longest value, bytes (fits the keydir) */
  BC_ENTRY_FIXED = 1 + 8 + 4,    /* kind, timestamp, header checksum */
  BC_HINT_TARGET = 4096,         /* payload bytes per hint record (about) */
  BC_MAX_FILE_ID = (1 << 24) - 1 /* file ids are 24-bit in the keydir */
};

#endif
