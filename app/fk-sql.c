/* fk-sql.c: prepared statements kept for the life of a connection. */
#include "app/fk-sql.h"

struct _FkSqlCache {
  GHashTable *stmts;   /* SQL text (a copy) → statement */
};

static void
stmt_free (gpointer st)
{
  sqlite3_finalize (st);
}

FkSqlCache *
fk_sql_cache_new (void)
{
  FkSqlCache *cache = g_new0 (FkSqlCache, 1);

  cache->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, stmt_free);
  return cache;
}

void
fk_sql_cache_free (FkSqlCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->stmts);
  g_free (cache);
}

void
fk_sql_cache_clear (FkSqlCache *cache)
{
  if (cache != NULL)
    g_hash_table_remove_all (cache->stmts);
}

sqlite3_stmt *
fk_sql_cache_get (FkSqlCache *cache,
                  sqlite3    *db,
                  const char *sql)
{
  sqlite3_stmt *st = g_hash_table_lookup (cache->stmts, sql);

  if (st == NULL)
    {
      if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        {
          sqlite3_finalize (st);
          return NULL;
        }
      g_hash_table_insert (cache->stmts, g_strdup (sql), st);
    }
  return st;
}

void
fk_sql_done (sqlite3_stmt *st)
{
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
}

int
fk_sql_step_done (sqlite3_stmt *st)
{
  int rc = sqlite3_step (st);

  fk_sql_done (st);
  return rc;
}
