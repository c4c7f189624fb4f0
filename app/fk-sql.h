/* fk-sql.h: prepared statements kept for the life of a SQLite connection.
 *
 * Both stores (the device's app/fk-store.c and the office's
 * sync/fk-office-store.c) run the same few statements for every case or
 * request; parsing them each time cost more than the work they do.  A
 * cache hands out one statement per SQL text, prepared once with
 * SQLITE_PREPARE_PERSISTENT.  The caller serialises use of a connection
 * (each store holds its lock), so a statement is never used twice at once.
 * Errors stay with the caller: each store words them its own way. */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct _FkSqlCache FkSqlCache;

/* One cache per connection; the connection is named at each get. */
FkSqlCache   *fk_sql_cache_new   (void);
/* Finalizes every statement; call before closing the connection. */
void          fk_sql_cache_free  (FkSqlCache *cache);
/* Finalizes every statement and keeps the cache usable (for a connection
 * that is about to be closed or to change its schema). */
void          fk_sql_cache_clear (FkSqlCache *cache);
/* The statement for `sql`, prepared on first use; NULL when it cannot be
 * prepared, with the reason in sqlite3_errcode/errmsg of the connection.
 * Finish each use with fk_sql_done (or fk_sql_step_done), never finalize. */
sqlite3_stmt *fk_sql_cache_get   (FkSqlCache *cache,
                                  sqlite3    *db,
                                  const char *sql);
/* Makes a cached statement ready for its next use and drops the copies of
 * the values bound to it (personal data among them). */
void          fk_sql_done        (sqlite3_stmt *st);
/* Steps a statement once, then fk_sql_done; returns sqlite3_step's code. */
int           fk_sql_step_done   (sqlite3_stmt *st);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkSqlCache, fk_sql_cache_free)

G_END_DECLS
