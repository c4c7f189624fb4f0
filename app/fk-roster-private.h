/* fk-roster-private.h — what fk-roster.c (the reader) shares with
 * fk-roster-import.c (the checks against the store and the import).
 * Not for use outside app/. */
#pragma once

#include "app/fk-roster.h"

G_BEGIN_DECLS

struct _FkRoster {
  const char *encoding;        /* stable id, static */
  const char *encoding_label;  /* static; may name the codec that decoded it */
  char        separator;       /* ',', '\t' or ';' */
  gboolean    has_birth;
  GPtrArray  *rows;            /* FkRosterRow*, file order, owned */
  GPtrArray  *ignored;         /* char*, NULL-terminated, owned */
};

/* Adds a problem with a message already in the current language (taken). */
void _fk_roster_row_add_problem     (FkRosterRow *row,
                                     const char  *code,
                                     char        *message);
/* Removes every problem with this code (to check a roster again). */
void _fk_roster_row_remove_problems (FkRosterRow *row,
                                     const char  *code);

G_END_DECLS
