/* fk-checkpoint.h — WAL checkpoints off the commit path, for the device
 * store and the office store alike.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that makes the WAL
 * cross 1,000 pages: that commit copies the pages into the database and
 * fsyncs it, and everything waiting for the store waits for that too.  A
 * checkpointer replaces it (sqlite3_wal_hook, which also turns the automatic
 * checkpoint off): after a commit that leaves FK_CHECKPOINT_SOFT_PAGES new
 * pages in the WAL it wakes a thread of its own, with a second connection to
 * the same file, that runs a PASSIVE checkpoint — one that never blocks a
 * writer and never waits for one.
 *
 * The WAL stays bounded.  It starts over from its beginning only at a commit
 * that finds every page of it copied, which a checkpoint racing with commits
 * seldom leaves; so a commit that leaves FK_CHECKPOINT_HARD_PAGES in it
 * checkpoints inline, as SQLite would have, after waiting for a checkpoint
 * of the thread's that is under way (by then the thread has copied nearly
 * all of it, so this is short), and the next commit starts the WAL over.  If the thread cannot start, every commit past the soft bound
 * checkpoints inline: SQLite's own behaviour.
 *
 * Durability is unchanged: a commit is on disk when it returns (the WAL
 * flush); a checkpoint only moves committed pages into the database file,
 * with the same synchronous setting as the store's connection.
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define FK_CHECKPOINT_SOFT_PAGES 1000
#define FK_CHECKPOINT_HARD_PAGES 4000

typedef struct _FkCheckpointer FkCheckpointer;

/* Installs the WAL hook on `db` (open on `db_path`, WAL mode).  The thread
 * starts at the first commit past the soft bound.  `synchronous` is the
 * PRAGMA synchronous value the checkpoint connection uses ("FULL"). */
FkCheckpointer *fk_checkpointer_new  (sqlite3        *db,
                                      const char     *db_path,
                                      const char     *synchronous);
/* Stops and joins the thread (closing its connection), removes the hook and
 * runs a last PASSIVE checkpoint on `db`, so a store closed cleanly leaves
 * its pages in the database file.  Call before closing `db`. */
void            fk_checkpointer_free (FkCheckpointer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkCheckpointer, fk_checkpointer_free)

G_END_DECLS
