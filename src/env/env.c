/*
 * env.c — helpers of env.h shared by every env implementation: freeing the
 * list env_list_dir hands out, and the directory part of a path.
 *
 * env_dirname follows POSIX dirname(3) without touching its argument:
 * trailing slashes are ignored, "a/b" -> "a", "a//b/" -> "a", "b" -> ".",
 * "/b" -> "/", "/" -> "/", "" -> ".". It returns NULL only when out of memory.
 */
#include "env/env.h"

#include <stdlib.h>
#include <string.h>

void env_free_list(char **names, size_t count) {
  if (!names) return;
  for (size_t i = 0; i < count; i++)
    free(names[i]);
  free(names);
}

char *env_dirname(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/')
    n--; /* trailing slashes */
  while (n > 0 && path[n - 1] != '/')
    n--; /* the last component */
  if (n == 0) return strdup(".");
  while (n > 1 && path[n - 1] == '/')
    n--; /* slashes before it */
  char *dir = malloc(n + 1);
  if (!dir) return NULL;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return dir;
}
