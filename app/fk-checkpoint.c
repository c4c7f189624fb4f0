/* fk-checkpoint.c — WAL checkpoints off the commit path; see fk-checkpoint.h.
 *
 * Layout: the type, the thread, the WAL hook, public API.
 */
#include "app/fk-checkpoint.h"

/* ---- type ------------------------------------------------------------------- */

struct _FkCheckpointer
{
  sqlite3  *db;             /* the store's connection (borrowed) */
  char     *db_path;
  char     *synchronous;

  GMutex    lock;
  GCond     cond;
  GThread  *thread;         /* started at the first commit past the soft bound */
  gboolean  failed;         /* the thread could not start: checkpoint inline */
  gboolean  wanted;         /* a checkpoint was asked for */
  gboolean  running;        /* the thread is checkpointing now */
  gboolean  stop;
  int       copied;         /* WAL pages the thread has copied into the database */
};

/* ---- the thread ---------------------------------------------------------------- */

static gpointer
checkpoint_thread (gpointer data)
{
  FkCheckpointer *self = data;
  g_autofree char *pragma = g_strdup_printf ("PRAGMA synchronous = %s", self->synchronous);
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (self->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_exec (db, pragma, NULL, NULL, NULL) != SQLITE_OK)
    {
      g_warning ("checkpoint connection to %s: %s", self->db_path, db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      g_mutex_lock (&self->lock);
      self->failed = TRUE;
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  g_mutex_lock (&self->lock);
  while (!self->stop)
    {
      int n_log = -1, n_copied = -1;

      if (!self->wanted || self->running)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      self->wanted = FALSE;
      self->running = TRUE;
      g_mutex_unlock (&self->lock);
      sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_copied);
      g_mutex_lock (&self->lock);
      if (n_copied > 0)
        self->copied = n_copied;
      self->running = FALSE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  sqlite3_close (db);
  return NULL;
}

/* ---- the WAL hook ---------------------------------------------------------------- */

/* Called by SQLite after every commit on the store's connection, on the
 * committing thread, with the number of pages now in the WAL. */
static int
wal_hook (void       *data,
          sqlite3    *db,
          const char *name,
          int         n_pages)
{
  FkCheckpointer *self = data;

  g_mutex_lock (&self->lock);
  if (n_pages < self->copied)
    self->copied = 0;      /* the WAL started over */
  if (n_pages >= FK_CHECKPOINT_HARD_PAGES ||
      (self->failed && n_pages >= FK_CHECKPOINT_SOFT_PAGES))
    {
      /* Inline, as SQLite would have.  A checkpoint of the thread's that
       * is under way would make this one return at once (SQLITE_BUSY) and
       * let the WAL grow on, so wait for it to end (it has at most the
       * soft bound's pages left to copy) and keep the thread off meanwhile;
       * this caller holds the only writer, so the copy completes. */
      while (self->running)
        g_cond_wait (&self->cond, &self->lock);
      self->running = TRUE;
      self->wanted = FALSE;
      g_mutex_unlock (&self->lock);
      sqlite3_wal_checkpoint_v2 (db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      g_mutex_lock (&self->lock);
      self->running = FALSE;
      g_cond_broadcast (&self->cond);
    }
  else if (n_pages - self->copied >= FK_CHECKPOINT_SOFT_PAGES && !self->running && !self->failed)
    {
      if (self->thread == NULL)
        {
          self->thread = g_thread_try_new ("fk-checkpoint", checkpoint_thread, self, NULL);
          self->failed = self->thread == NULL;
        }
      self->wanted = TRUE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  return SQLITE_OK;
}

/* ---- public API ---------------------------------------------------------------- */

FkCheckpointer *
fk_checkpointer_new (sqlite3    *db,
                     const char *db_path,
                     const char *synchronous)
{
  FkCheckpointer *self = g_new0 (FkCheckpointer, 1);

  self->db = db;
  self->db_path = g_strdup (db_path);
  self->synchronous = g_strdup (synchronous);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  sqlite3_wal_hook (db, wal_hook, self);
  return self;
}

void
fk_checkpointer_free (FkCheckpointer *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->stop = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->thread, g_thread_join);
  sqlite3_wal_hook (self->db, NULL, NULL);
  /* PASSIVE: a reader in another process (a command run beside the
   * program) cannot hold the close up.  sqlite3_close then removes the WAL
   * when this was the last connection. */
  sqlite3_wal_checkpoint_v2 (self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->db_path);
  g_free (self->synchronous);
  g_free (self);
}
