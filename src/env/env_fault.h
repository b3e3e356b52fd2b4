/*
 * env_fault.h — a fault-injecting env for tests, wrapping another env (usually
 * env_posix()). It counts every operation, can fail the Nth one, tears a write
 * at a chosen byte, and simulates a power loss: every file it has written falls
 * back to its last synced length, and files created (or renamed into place)
 * since their directory was last synced vanish.
 *
 * The model (as LevelDB's fault_injection_test and SQLite's crash VFS):
 *  - a file's "synced length" is its length at its last datasync/fsync (0 for a
 *    file created through this env and never synced);
 *  - a file's name is durable once env_sync_dir ran on its directory after it
 *    was created or renamed; removals are durable likewise.
 */
#ifndef STRATA_ENV_FAULT_H
#define STRATA_ENV_FAULT_H

#include "env/env.h"

/* Wraps `base`. Free with env_fault_destroy. */
env *env_fault_create(env *base);
/* Frees the wrapper (not the base); accepts NULL. Files still open through it
 * must be closed first. */
void env_fault_destroy(env *e);

/* Number of operations performed so far (every env call counts one). */
uint64_t env_fault_ops(env *e);

/* Makes operation number n (1-based, counted from now) fail with EIO
 * (STRATA_IO_ERROR). If `sticky`, every later operation fails too, until
 * env_fault_reset. n == 0 disarms. */
void env_fault_fail_nth(env *e, uint64_t n, int sticky);

/* The next append writes only its first `keep` bytes to the file and then
 * fails with EIO, as a crash in the middle of write(2) would leave it. */
void env_fault_tear_next_append(env *e, size_t keep);

/* Clears every armed fault. */
void env_fault_reset(env *e);

/* Simulates a power loss: truncates each file written through this env to its
 * last synced length, removes files whose creation was not made durable by a
 * directory sync, and restores files whose removal or rename was not. Open
 * handles must have been closed. */
int env_fault_power_loss(env *e);

/* With `on`, after an injected failure of datasync/fsync through a handle,
 * no later sync through that handle makes anything durable, as Linux may
 * drop the dirty pages of a failed fsync and report the next fsync of the
 * same descriptor as successful. A handle opened afterwards syncs normally
 * (the lost range is not modelled as a hole). Off by default. */
void env_fault_set_sync_loses(env *e, int on);

/* As env_fault_power_loss, but every file keeps its synced length plus a
 * random prefix (drawn from `seed`, possibly empty or whole) of the bytes
 * appended since (ALICE-style reordering: later writes of a file reach the
 * disk no earlier than earlier ones, while files differ in how far they
 * got). */
int env_fault_power_loss_prefix(env *e, uint64_t seed);

#endif
