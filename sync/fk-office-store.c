/* fk-office-store.c — the SQLite office store; see fk-office-store.h.
 *
 * One connection, WAL, synchronous=FULL, foreign keys on, serialised by a
 * mutex: every public function takes the lock for its whole duration and
 * runs at most one transaction.  A committed row is on disk when the
 * function returns.  The two lookups every request makes (a device, a
 * packet by id) use a second, query-only connection under a lock of its
 * own, so that they do not wait while a group commit holds the first one
 * through its fsync; WAL gives that connection every committed transaction
 * (a commit becomes visible only once it is on disk) and nothing else.
 *
 * Packet rows are group-committed (fk_office_store_insert_packet): rows
 * that arrive while a commit is under way wait and then go to disk
 * together, with one fsync of the packets folder and one transaction (one
 * WAL fsync) for the whole group.  Each caller still returns only once its
 * own row is durable, so an office that acknowledges after this call never
 * acknowledges anything that a crash could lose.
 *
 * Checkpoints are kept out of that commit path (app/fk-checkpoint.h):
 * SQLite's automatic checkpoint would run inside the COMMIT of whichever
 * group crosses 1,000 WAL pages, copying the pages into office.db and
 * fsyncing it while every other request waits for the store.  A thread
 * with its own connection runs PASSIVE checkpoints instead; the WAL stays
 * bounded, and closing the store checkpoints what is left.
 *
 * Layout: types, helpers, migrations, opening and keys, invites and devices,
 * packets, reviews and changes, device audit, office audit.
 */
#include "sync/fk-office-store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "app/fk-checkpoint.h"
#include "app/fk-sql.h"
#include "app/fk-packet.h"
#include "crypto/fk-i18n.h"

/* ---- types ---------------------------------------------------------------- */

#define SCHEMA_VERSION 3

struct _FkOfficeStore
{
  GMutex      lock;
  char       *data_dir;
  char       *db_path;
  sqlite3    *db;
  FkSqlCache *stmts;        /* statements prepared once (cached) */

  /* A second connection for the lookups every request makes (device by id,
   * packet by id), with its own lock: WAL lets it read while the main
   * connection commits, so a request's lookups do not wait behind a group's
   * fsync.  It sees every committed transaction and nothing else. */
  GMutex      read_lock;
  sqlite3    *read_db;
  FkSqlCache *read_stmts;

  /* Group commit of packet rows (fk_office_store_insert_packet). */
  GMutex     group_lock;
  GCond      group_done;
  GPtrArray *group_queue;   /* PendingRow*, for the next group */
  gboolean   group_busy;    /* a caller is committing a group now */
  GCond      group_more;    /* a row joined group_queue */
  guint      group_coming;  /* announced rows not queued yet */

  FkCheckpointer *checkpointer;   /* checkpoints off the commit path */

  /* The segment this store appends packets to (see segment_append). */
  GMutex      seg_lock;
  int         seg_fd;       /* -1 until the first append */
  guint       seg_number;
  guint64     seg_end;      /* where the next append goes */
};

/* One caller's row waiting for its group; lives on the caller's stack. */
typedef struct {
  const FkOfficePacket *packet;
  GBytes               *bytes;     /* kept in the database, or NULL: a file or a segment */
  guint                 segment;   /* 0, or the segment the bytes were appended to */
  guint64               offset;    /* and where */
  gboolean              done;
  gboolean              ok;
  GError               *error;
} PendingRow;

G_DEFINE_QUARK (fk-office-error-quark, fk_office_error)

void
fk_office_keys_free (FkOfficeKeys *keys)
{
  if (keys == NULL)
    return;
  fk_vault_free (keys->vault);
  fk_identity_free (keys->sign);
  fk_box_key_free (keys->box);
  g_free (keys->key_id);
  g_free (keys->fingerprint);
  g_free (keys->office_code);
  g_free (keys->admin);
  g_free (keys);
}

void
fk_office_device_free (FkOfficeDevice *device)
{
  if (device == NULL)
    return;
  g_free (device->device_id);
  g_free (device->name);
  g_free (device->device_name);
  g_free (device);
}

void
fk_office_packet_free (FkOfficePacket *p)
{
  if (p == NULL)
    return;
  g_free (p->packet_id);
  g_free (p->device_id);
  g_free (p->case_uuid);
  g_free (p->receipt_no);
  g_free (p->service);
  g_free (p->outing_kind);
  g_free (p->outing_id);
  g_free (p->outing_date);
  g_free (p->corrects_receipt);
  g_free (p->packet_hash);
  g_free (p->review);
  g_free (p->review_reason);
  g_free (p->ack);
  g_free (p->manifest);
  g_free (p);
}

void
fk_office_change_free (FkOfficeChange *c)
{
  if (c == NULL)
    return;
  g_free (c->kind);
  g_free (c->packet_id);
  g_free (c->case_uuid);
  g_free (c->receipt_no);
  g_free (c->decision);
  g_free (c->reason);
  g_free (c);
}

void
fk_office_audit_entry_free (FkOfficeAuditEntry *e)
{
  if (e == NULL)
    return;
  g_free (e->operator_id);
  g_free (e->action);
  g_free (e->subject);
  g_free (e->detail);
  g_free (e);
}

/* ---- helpers -------------------------------------------------------------- */

static gboolean
sql_fail (FkOfficeStore  *self,
          GError        **error)
{
  g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
               _("The office database %s failed: %s. Nothing was changed."),
               self->db_path, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec (FkOfficeStore  *self,
      const char     *sql,
      GError        **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sql_fail (self, error);
  return TRUE;
}

static sqlite3_stmt *
prepare (FkOfficeStore  *self,
         const char     *sql,
         GError        **error)
{
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      sql_fail (self, error);
      return NULL;
    }
  return st;
}

/* A statement prepared once and kept for the life of the store, for the
 * statements every request runs (parsing them each time was a tenth of the
 * office's CPU per packet; app/fk-sql.h).  The caller holds self->lock and
 * finishes with fk_sql_done, never finalize. */
static sqlite3_stmt *
cached_on (FkOfficeStore  *self,
           sqlite3        *db,
           FkSqlCache     *stmts,
           const char     *sql,
           GError        **error)
{
  sqlite3_stmt *st = fk_sql_cache_get (stmts, db, sql);

  if (st == NULL)
    g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                 _("The office database %s failed: %s. Nothing was changed."),
                 self->db_path, sqlite3_errmsg (db));
  return st;
}

static sqlite3_stmt *
cached (FkOfficeStore  *self,
        const char     *sql,
        GError        **error)
{
  return cached_on (self, self->db, self->stmts, sql, error);
}

/* cached() for the reading connection; the caller holds read_lock. */
static sqlite3_stmt *
cached_read (FkOfficeStore  *self,
             const char     *sql,
             GError        **error)
{
  return cached_on (self, self->read_db, self->read_stmts, sql, error);
}

/* Runs a cached statement that returns no rows; resets it. */
static gboolean
step_cached (FkOfficeStore  *self,
             sqlite3_stmt   *st,
             GError        **error)
{
  if (fk_sql_step_done (st) != SQLITE_DONE)
    return sql_fail (self, error);
  return TRUE;
}

static gboolean
exec_cached (FkOfficeStore  *self,
             const char     *sql,
             GError        **error)
{
  sqlite3_stmt *st = cached (self, sql, error);

  return st != NULL && step_cached (self, st, error);
}

/* Runs a statement that returns no rows; finalizes it. */
static gboolean
step_done (FkOfficeStore  *self,
           sqlite3_stmt   *st,
           GError        **error)
{
  int rc = sqlite3_step (st);

  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_fail (self, error);
  return TRUE;
}

static gboolean
begin (FkOfficeStore  *self,
       GError        **error)
{
  return exec_cached (self, "BEGIN IMMEDIATE", error);
}

static gboolean
commit (FkOfficeStore  *self,
        GError        **error)
{
  if (!exec_cached (self, "COMMIT", error))
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static void
rollback (FkOfficeStore *self)
{
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static char *
col_text (sqlite3_stmt *st,
          int           i)
{
  return g_strdup ((const char *) sqlite3_column_text (st, i));
}

static void
bind_text (sqlite3_stmt *st,
           int           i,
           const char   *text)
{
  if (text)
    sqlite3_bind_text (st, i, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

static gboolean
meta_get_blob (FkOfficeStore  *self,
               const char     *key,
               GBytes        **out,
               GError        **error)
{
  sqlite3_stmt *st = prepare (self, "SELECT value FROM meta WHERE key = ?", error);
  int rc;

  *out = NULL;
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    *out = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sql_fail (self, error);
  return TRUE;
}

static char *
meta_get_text (FkOfficeStore *self,
               const char    *key)
{
  g_autoptr(GBytes) b = NULL;

  if (!meta_get_blob (self, key, &b, NULL) || b == NULL)
    return NULL;
  return g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static gboolean
meta_set (FkOfficeStore  *self,
          const char     *key,
          const void     *value,
          gsize           len,
          GError        **error)
{
  sqlite3_stmt *st = prepare (self, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 2, value, (int) len, SQLITE_TRANSIENT);
  return step_done (self, st, error);
}

static gboolean
meta_set_text (FkOfficeStore  *self,
               const char     *key,
               const char     *value,
               GError        **error)
{
  return meta_set (self, key, value, strlen (value), error);
}

static void
not_initialized (FkOfficeStore  *self,
                 GError        **error)
{
  g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_INITIALIZED,
               _("No office is set up in %s yet. Run \"fieldkit-office init --admin NAME\" first."),
               self->data_dir);
}

/* ---- migrations ------------------------------------------------------------ */

static gboolean
migrate (FkOfficeStore  *self,
         GError        **error)
{
  static const char *const schema =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS admins ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL"
    "  CHECK (kind IN ('passphrase', 'recovery')), slot BLOB NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS invites ("
    "  invite_id TEXT PRIMARY KEY, name TEXT NOT NULL, proof_key BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    "  used_at INTEGER, device_id TEXT);"
    "CREATE TABLE IF NOT EXISTS devices ("
    "  device_id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  device_name TEXT NOT NULL, sign_pk BLOB NOT NULL, enrolled_at INTEGER NOT NULL,"
    "  last_seen INTEGER, revoked_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS packets ("
    "  number INTEGER PRIMARY KEY AUTOINCREMENT, packet_id TEXT NOT NULL UNIQUE,"
    "  device_id TEXT NOT NULL REFERENCES devices (device_id), device_seq INTEGER NOT NULL,"
    "  case_uuid TEXT, receipt_no TEXT, service TEXT, outing_kind TEXT,"
    "  packet_hash TEXT NOT NULL, size INTEGER NOT NULL, received_at INTEGER NOT NULL,"
    "  review TEXT NOT NULL DEFAULT 'pending', review_reason TEXT,"
    "  ack TEXT NOT NULL, manifest TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS packets_device ON packets (device_id, device_seq);"
    /* Version 2: packets that arrived whole in one request live here rather
     * than in DATA_DIR/packets (one flush per group instead of one per file). */
    "CREATE TABLE IF NOT EXISTS packet_data ("
    "  packet_id TEXT PRIMARY KEY REFERENCES packets (packet_id), bytes BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS packets_receipt ON packets (receipt_no);"
    /* Version 3: larger packets that arrived whole are appended to a
     * segment file, DATA_DIR/packets/segment-N.fks (segment_append). */
    "CREATE TABLE IF NOT EXISTS packet_segments ("
    "  packet_id TEXT PRIMARY KEY REFERENCES packets (packet_id), segment INTEGER NOT NULL,"
    "  offset INTEGER NOT NULL, size INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS changes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL REFERENCES devices (device_id), kind TEXT NOT NULL,"
    "  packet_id TEXT, case_uuid TEXT, receipt_no TEXT, decision TEXT, reason TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS changes_device ON changes (device_id, seq);"
    "CREATE TABLE IF NOT EXISTS device_audit ("
    "  device_id TEXT NOT NULL REFERENCES devices (device_id), seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL, operator TEXT NOT NULL, action TEXT NOT NULL,"
    "  subject TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL,"
    "  hash BLOB NOT NULL, sig BLOB NOT NULL, received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, seq));"
    "CREATE TABLE IF NOT EXISTS office_audit ("
    "  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, admin TEXT NOT NULL,"
    "  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL,"
    "  prev BLOB NOT NULL, hash BLOB NOT NULL);";
  g_autofree char *version = NULL;

  if (!exec (self, schema, error))
    return FALSE;
  version = meta_get_text (self, "schema");
  if (version == NULL)
    return meta_set_text (self, "schema", G_STRINGIFY (SCHEMA_VERSION), error);
  if (atoi (version) < SCHEMA_VERSION)
    return meta_set_text (self, "schema", G_STRINGIFY (SCHEMA_VERSION), error);
  if (atoi (version) > SCHEMA_VERSION)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("%s was written by a newer fieldkit-office; use that version."),
                   self->db_path);
      return FALSE;
    }
  return TRUE;
}

/* ---- opening and keys ------------------------------------------------------- */

FkOfficeStore *
fk_office_store_open (const char  *data_dir,
                      GError     **error)
{
  g_autoptr(FkOfficeStore) self = g_new0 (FkOfficeStore, 1);

  g_mutex_init (&self->lock);
  g_mutex_init (&self->group_lock);
  g_cond_init (&self->group_done);
  g_cond_init (&self->group_more);
  self->group_queue = g_ptr_array_new ();
  self->stmts = fk_sql_cache_new ();
  g_mutex_init (&self->read_lock);
  self->read_stmts = fk_sql_cache_new ();
  g_mutex_init (&self->seg_lock);
  self->seg_fd = -1;
  self->data_dir = g_strdup (data_dir);
  self->db_path = g_build_filename (data_dir, "office.db", NULL);
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The data folder %s cannot be created: %s."),
                   data_dir, g_strerror (saved));
      return NULL;
    }
  if (sqlite3_open_v2 (self->db_path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
    {
      sql_fail (self, error);
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 10000);
  if (!exec (self, "PRAGMA journal_mode = WAL", error) ||
      !exec (self, "PRAGMA synchronous = FULL", error) ||
      !exec (self, "PRAGMA foreign_keys = ON", error) ||
      !migrate (self, error))
    return NULL;
  /* Replaces SQLite's automatic checkpoint (see the top of this file). */
  self->checkpointer = fk_checkpointer_new (self->db, self->db_path, "FULL");
  if (sqlite3_open_v2 (self->db_path, &self->read_db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_exec (self->read_db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The office database %s failed: %s. Nothing was changed."),
                   self->db_path, self->read_db ? sqlite3_errmsg (self->read_db) : "out of memory");
      return NULL;
    }
  sqlite3_busy_timeout (self->read_db, 10000);
  return g_steal_pointer (&self);
}

void
fk_office_store_free (FkOfficeStore *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->stmts, fk_sql_cache_free);
  g_clear_pointer (&self->read_stmts, fk_sql_cache_free);
  if (self->read_db)
    sqlite3_close (self->read_db);
  g_mutex_clear (&self->read_lock);
  /* Stops the thread and checkpoints what is left into office.db. */
  g_clear_pointer (&self->checkpointer, fk_checkpointer_free);
  if (self->db)
    sqlite3_close (self->db);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->group_lock);
  g_cond_clear (&self->group_done);
  g_cond_clear (&self->group_more);
  g_clear_pointer (&self->group_queue, g_ptr_array_unref);
  if (self->seg_fd >= 0)
    close (self->seg_fd);
  g_mutex_clear (&self->seg_lock);
  g_free (self->data_dir);
  g_free (self->db_path);
  g_free (self);
}

const char *
fk_office_store_data_dir (FkOfficeStore *self)
{
  return self->data_dir;
}

static gboolean
is_initialized_locked (FkOfficeStore *self)
{
  g_autofree char *code = meta_get_text (self, "office_code");

  return code != NULL;
}

gboolean
fk_office_store_is_initialized (FkOfficeStore *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return is_initialized_locked (self);
}

static gboolean
add_slot_locked (FkOfficeStore  *self,
                 FkVault        *vault,
                 const char     *name,
                 const char     *kind,
                 const char     *passphrase,
                 FkKdfStrength   strength,
                 GError        **error)
{
  FkKeyslot slot;
  guint64 ops, mem;
  g_autoptr(GBytes) bytes = NULL;
  sqlite3_stmt *st;

  fk_kdf_limits (strength, &ops, &mem);
  if (!fk_vault_add_keyslot (vault, passphrase, strlen (passphrase), ops, mem, &slot, error))
    return FALSE;
  bytes = fk_keyslot_to_bytes (&slot);
  st = prepare (self, "INSERT INTO admins (name, kind, slot, created_at) VALUES (?, ?, ?, ?)", error);
  if (st == NULL)
    return FALSE;
  bind_text (st, 1, name);
  bind_text (st, 2, kind);
  sqlite3_bind_blob (st, 3, g_bytes_get_data (bytes, NULL), (int) g_bytes_get_size (bytes), SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 4, g_get_real_time () / G_USEC_PER_SEC);
  return step_done (self, st, error);
}

static gboolean
seal_secret (FkOfficeStore  *self,
             FkVault        *vault,
             const char     *column,
             const guint8   *secret,
             gsize           len,
             GError        **error)
{
  g_autoptr(GBytes) sealed = fk_vault_seal_record (vault, "office_keys", "office", column, 1,
                                                   secret, len, error);

  if (sealed == NULL)
    return FALSE;
  return meta_set (self, column, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), error);
}

static FkOfficeKeys *
keys_new (FkVault      *vault_take,
          FkIdentity   *sign_take,
          FkBoxKey     *box_take,
          const char   *office_code,
          const char   *admin)
{
  FkOfficeKeys *keys = g_new0 (FkOfficeKeys, 1);

  keys->vault = vault_take;
  keys->sign = sign_take;
  keys->box = box_take;
  keys->key_id = fk_office_key_id (fk_identity_public_key (sign_take), fk_box_key_public (box_take));
  keys->fingerprint = fk_office_fingerprint (fk_identity_public_key (sign_take), fk_box_key_public (box_take));
  keys->office_code = g_strdup (office_code);
  keys->admin = g_strdup (admin);
  return keys;
}

FkOfficeKeys *
fk_office_store_init (FkOfficeStore  *self,
                      const char     *office_code,
                      const char     *admin,
                      const char     *passphrase,
                      char          **recovery_key,
                      GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkIdentity) sign = NULL;
  g_autoptr(FkBoxKey) box = NULL;
  char *recovery = NULL;
  g_autofree char *key_id = NULL;

  if (is_initialized_locked (self))
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS,
                   _("An office is already set up in %s; nothing was changed."), self->data_dir);
      return NULL;
    }
  if ((vault = fk_vault_new (error)) == NULL ||
      (sign = fk_identity_generate (error)) == NULL ||
      (box = fk_box_key_generate (error)) == NULL)
    return NULL;
  recovery = fk_recovery_key_generate ();
  key_id = fk_office_key_id (fk_identity_public_key (sign), fk_box_key_public (box));

  if (!begin (self, error))
    goto fail;
  if (!seal_secret (self, vault, "sign_sk", fk_identity_secret_key (sign), 64, error) ||
      !seal_secret (self, vault, "box_sk", fk_box_key_secret (box), 32, error) ||
      !meta_set (self, "sign_pk", fk_identity_public_key (sign), 32, error) ||
      !meta_set (self, "box_pk", fk_box_key_public (box), 32, error) ||
      !meta_set_text (self, "key_id", key_id, error) ||
      !meta_set_text (self, "office_code", office_code, error) ||
      !add_slot_locked (self, vault, admin, "passphrase", passphrase, FK_KDF_STRENGTH_OPERATOR, error) ||
      !add_slot_locked (self, vault, "recovery", "recovery", recovery, FK_KDF_STRENGTH_RECOVERY, error))
    {
      rollback (self);
      goto fail;
    }
  if (!commit (self, error))
    goto fail;
  *recovery_key = recovery;
  return keys_new (g_steal_pointer (&vault), g_steal_pointer (&sign), g_steal_pointer (&box),
                   office_code, admin);

fail:
  fk_recovery_key_free (recovery);
  return NULL;
}

static FkOfficeKeys *
open_keys_locked (FkOfficeStore  *self,
                  FkVault        *vault_take,
                  const char     *admin,
                  GError        **error)
{
  g_autoptr(FkVault) vault = vault_take;
  g_autoptr(GBytes) sealed_sign = NULL;
  g_autoptr(GBytes) sealed_box = NULL;
  g_autoptr(GBytes) sign_sk = NULL;
  g_autoptr(GBytes) box_sk = NULL;
  g_autoptr(FkIdentity) sign = NULL;
  g_autoptr(FkBoxKey) box = NULL;
  g_autofree char *code = meta_get_text (self, "office_code");

  if (!meta_get_blob (self, "sign_sk", &sealed_sign, error) ||
      !meta_get_blob (self, "box_sk", &sealed_box, error))
    return NULL;
  if (sealed_sign == NULL || sealed_box == NULL)
    {
      not_initialized (self, error);
      return NULL;
    }
  sign_sk = fk_vault_open_record (vault, "office_keys", "office", "sign_sk", 1,
                                  g_bytes_get_data (sealed_sign, NULL), g_bytes_get_size (sealed_sign), error);
  if (sign_sk == NULL)
    return NULL;
  box_sk = fk_vault_open_record (vault, "office_keys", "office", "box_sk", 1,
                                 g_bytes_get_data (sealed_box, NULL), g_bytes_get_size (sealed_box), error);
  if (box_sk == NULL)
    return NULL;
  sign = fk_identity_new_from_secret (g_bytes_get_data (sign_sk, NULL), g_bytes_get_size (sign_sk), error);
  if (sign == NULL)
    return NULL;
  box = fk_box_key_new_from_secret (g_bytes_get_data (box_sk, NULL), g_bytes_get_size (box_sk), error);
  if (box == NULL)
    return NULL;
  return keys_new (g_steal_pointer (&vault), g_steal_pointer (&sign), g_steal_pointer (&box), code, admin);
}

FkOfficeKeys *
fk_office_store_unlock (FkOfficeStore  *self,
                        const char     *passphrase,
                        GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autofree char *recovery = NULL;
  sqlite3_stmt *st;
  int rc;

  if (!is_initialized_locked (self))
    {
      not_initialized (self, error);
      return NULL;
    }
  recovery = fk_recovery_key_normalize (passphrase, NULL);
  st = prepare (self, "SELECT name, kind, slot FROM admins ORDER BY id", error);
  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (sqlite3_column_blob (st, 2), (gsize) sqlite3_column_bytes (st, 2));
      const char *kind = (const char *) sqlite3_column_text (st, 1);
      const char *secret = g_strcmp0 (kind, "recovery") == 0 ? recovery : passphrase;
      g_autoptr(GError) local = NULL;
      FkKeyslot slot;
      FkVault *vault;

      if (secret == NULL || !fk_keyslot_from_bytes (bytes, &slot, NULL))
        continue;
      vault = fk_vault_open (&slot, secret, strlen (secret), &local);
      if (vault != NULL)
        {
          g_autofree char *name = col_text (st, 0);

          sqlite3_finalize (st);
          if (recovery)
            sodium_memzero (recovery, strlen (recovery));
          return open_keys_locked (self, vault, name, error);
        }
      if (!g_error_matches (local, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE))
        {
          sqlite3_finalize (st);
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  sqlite3_finalize (st);
  if (recovery)
    sodium_memzero (recovery, strlen (recovery));
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_WRONG_PASSPHRASE,
                       _("The passphrase does not open the office keys."));
  return NULL;
}

gboolean
fk_office_store_add_admin (FkOfficeStore  *self,
                           FkOfficeKeys   *keys,
                           const char     *name,
                           const char     *passphrase,
                           GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (g_strcmp0 (name, "recovery") == 0)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                           _("\"recovery\" is the recovery key's own slot, not an administrator; choose another name."));
      return FALSE;
    }
  return add_slot_locked (self, keys->vault, name, "passphrase", passphrase, FK_KDF_STRENGTH_OPERATOR, error);
}

FkOfficeKeys *
fk_office_store_unlock_recovery (FkOfficeStore  *self,
                                 const char     *recovery_key,
                                 GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autofree char *key = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local = NULL;
  sqlite3_stmt *st;
  FkKeyslot slot;
  FkVault *vault;
  int rc;

  if (!is_initialized_locked (self))
    {
      not_initialized (self, error);
      return NULL;
    }
  key = fk_recovery_key_normalize (recovery_key, NULL);
  if (key == NULL)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                           _("This is not a recovery key: it is 14 groups of four letters and digits, "
                             "as \"fieldkit-office init\" printed it."));
      return NULL;
    }
  st = prepare (self, "SELECT slot FROM admins WHERE kind = 'recovery' ORDER BY id LIMIT 1", error);
  if (st == NULL)
    return NULL;
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    bytes = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  if (bytes == NULL || !fk_keyslot_from_bytes (bytes, &slot, NULL))
    {
      sodium_memzero (key, strlen (key));
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sql_fail (self, error);
      else
        g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                             _("This office has no recovery slot; nothing was changed."));
      return NULL;
    }
  vault = fk_vault_open (&slot, key, strlen (key), &local);
  sodium_memzero (key, strlen (key));
  if (vault == NULL)
    {
      if (g_error_matches (local, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE))
        g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_WRONG_PASSPHRASE,
                             _("This recovery key does not open this office's keys. Check it against the paper "
                               "it was written on; nothing was changed."));
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return open_keys_locked (self, vault, "recovery", error);
}

gboolean
fk_office_store_set_admin_passphrase (FkOfficeStore  *self,
                                      FkOfficeKeys   *keys,
                                      const char     *name,
                                      const char     *passphrase,
                                      guint          *replaced,
                                      GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st;

  if (replaced)
    *replaced = 0;
  if (g_strcmp0 (name, "recovery") == 0)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                           _("\"recovery\" is the recovery key's own slot, not an administrator; choose another name."));
      return FALSE;
    }
  if (!begin (self, error))
    return FALSE;
  st = prepare (self, "DELETE FROM admins WHERE name = ? AND kind = 'passphrase'", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, name);
  if (!step_done (self, st, error))
    goto fail;
  if (replaced)
    *replaced = (guint) sqlite3_changes (self->db);
  if (!add_slot_locked (self, keys->vault, name, "passphrase", passphrase, FK_KDF_STRENGTH_OPERATOR, error))
    goto fail;
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

/* fsyncs a file or a folder; a file's size is added to *bytes (may be
 * NULL). */
static gboolean
fsync_path (const char  *path,
            gboolean     folder,
            guint64     *bytes,
            GError     **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  struct stat st;

  if (fd < 0 || fsync (fd) != 0 || fstat (fd, &st) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("%s could not be written to disk: %s."), path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  if (bytes && !folder)
    *bytes += (guint64) st.st_size;
  return TRUE;
}

/* Copies one file and fsyncs the copy; adds its size to *bytes. */
static gboolean
copy_durably (const char  *from,
              const char  *to,
              guint64     *bytes,
              GError     **error)
{
  g_autoptr(GFile) src = g_file_new_for_path (from);
  g_autoptr(GFile) dst = g_file_new_for_path (to);

  return g_file_copy (src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, error) &&
         fsync_path (to, FALSE, bytes, error);
}

gboolean
fk_office_store_backup (FkOfficeStore  *self,
                        const char     *dest_dir,
                        gint64         *packets,
                        guint64        *bytes,
                        GError        **error)
{
  g_autofree char *dest_db = g_build_filename (dest_dir, "office.db", NULL);
  g_autofree char *src_packets = g_build_filename (self->data_dir, "packets", NULL);
  g_autofree char *dest_packets = g_build_filename (dest_dir, "packets", NULL);
  g_autoptr(GDir) existing = NULL;
  g_autoptr(GDir) dir = NULL;
  sqlite3 *src = NULL, *dst = NULL;
  sqlite3_backup *bk;
  guint64 copied = 0;
  gint64 n = 0;
  const char *name;
  int rc;

  if (g_mkdir_with_parents (dest_dir, 0700) != 0)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The folder %s could not be made: %s."), dest_dir, g_strerror (errno));
      return FALSE;
    }
  existing = g_dir_open (dest_dir, 0, error);
  if (existing == NULL)
    return FALSE;
  if (g_dir_read_name (existing) != NULL)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS,
                   _("%s is not empty. Give a new or empty folder, so that no earlier backup is mixed in."), dest_dir);
      return FALSE;
    }

  /* office.db: one snapshot, read through a connection of our own. */
  if (sqlite3_open_v2 (self->db_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_open_v2 (dest_db, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The office database could not be copied to %s: %s."), dest_dir,
                   src && dst ? sqlite3_errmsg (dst) : src ? sqlite3_errmsg (src) : "out of memory");
      goto fail;
    }
  sqlite3_busy_timeout (src, 5000);
  bk = sqlite3_backup_init (dst, "main", src, "main");
  rc = bk ? sqlite3_backup_step (bk, -1) : SQLITE_ERROR;
  if (bk)
    sqlite3_backup_finish (bk);
  if (rc != SQLITE_DONE ||
      sqlite3_exec (dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The office database could not be copied to %s: %s."), dest_dir, sqlite3_errmsg (dst));
      goto fail;
    }
  {
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2 (dst, "SELECT count(*) FROM packets", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step (st) == SQLITE_ROW)
      n = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
  }
  sqlite3_close (dst);
  dst = NULL;
  sqlite3_close (src);
  src = NULL;
  if (!fsync_path (dest_db, FALSE, &copied, error))
    return FALSE;

  /* The packet files and segments, after the snapshot. */
  dir = g_dir_open (src_packets, 0, NULL);
  if (dir != NULL)
    {
      if (g_mkdir_with_parents (dest_packets, 0700) != 0)
        {
          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                       _("The folder %s could not be made: %s."), dest_packets, g_strerror (errno));
          return FALSE;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *from = g_build_filename (src_packets, name, NULL);
          g_autofree char *to = g_build_filename (dest_packets, name, NULL);

          /* Not a file being written (renamed into place when whole). */
          if (!g_file_test (from, G_FILE_TEST_IS_REGULAR) || g_str_has_prefix (name, ".") ||
              strstr (name, ".tmp-") != NULL)
            continue;
          if (!copy_durably (from, to, &copied, error))
            return FALSE;
        }
      if (!fsync_path (dest_packets, TRUE, NULL, error))
        return FALSE;
    }
  if (!fsync_path (dest_dir, TRUE, NULL, error))
    return FALSE;
  if (packets)
    *packets = n;
  if (bytes)
    *bytes = copied;
  return TRUE;

fail:
  sqlite3_close (dst);
  sqlite3_close (src);
  return FALSE;
}

gboolean
fk_office_store_public (FkOfficeStore  *self,
                        char          **office_code,
                        char          **key_id,
                        guint8          sign_pk[32],
                        guint8          box_pk[32],
                        GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GBytes) s = NULL;
  g_autoptr(GBytes) b = NULL;

  if (!meta_get_blob (self, "sign_pk", &s, error) || !meta_get_blob (self, "box_pk", &b, error))
    return FALSE;
  if (s == NULL || b == NULL || g_bytes_get_size (s) != 32 || g_bytes_get_size (b) != 32)
    {
      not_initialized (self, error);
      return FALSE;
    }
  if (sign_pk)
    memcpy (sign_pk, g_bytes_get_data (s, NULL), 32);
  if (box_pk)
    memcpy (box_pk, g_bytes_get_data (b, NULL), 32);
  if (office_code)
    *office_code = meta_get_text (self, "office_code");
  if (key_id)
    *key_id = meta_get_text (self, "key_id");
  return TRUE;
}

/* ---- invites and devices ------------------------------------------------------ */

gboolean
fk_office_store_add_invite (FkOfficeStore  *self,
                            const char     *invite_id,
                            const char     *name,
                            const guint8    proof_key[32],
                            gint64          expires_at,
                            GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st = prepare (self,
                              "INSERT INTO invites (invite_id, name, proof_key, created_at, expires_at)"
                              " VALUES (?, ?, ?, ?, ?)", error);

  if (st == NULL)
    return FALSE;
  bind_text (st, 1, invite_id);
  bind_text (st, 2, name);
  sqlite3_bind_blob (st, 3, proof_key, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 4, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_int64 (st, 5, expires_at);
  return step_done (self, st, error);
}

#define DEVICE_COLUMNS \
  "d.device_id, d.number, d.name, d.device_name, d.sign_pk, d.enrolled_at," \
  " d.last_seen, d.revoked_at, (SELECT count(*) FROM packets p WHERE p.device_id = d.device_id)"

static FkOfficeDevice *
device_from_row (sqlite3_stmt *st)
{
  FkOfficeDevice *d = g_new0 (FkOfficeDevice, 1);

  d->device_id = col_text (st, 0);
  d->number = (guint) sqlite3_column_int (st, 1);
  d->name = col_text (st, 2);
  d->device_name = col_text (st, 3);
  if (sqlite3_column_bytes (st, 4) == 32)
    memcpy (d->sign_pk, sqlite3_column_blob (st, 4), 32);
  d->enrolled_at = sqlite3_column_int64 (st, 5);
  d->last_seen = sqlite3_column_int64 (st, 6);
  d->revoked_at = sqlite3_column_int64 (st, 7);
  d->n_packets = (guint) sqlite3_column_int (st, 8);
  return d;
}

static FkOfficeDevice *
get_device_locked (FkOfficeStore  *self,
                   const char     *key,
                   GError        **error)
{
  sqlite3_stmt *st;
  FkOfficeDevice *d = NULL;
  char *end = NULL;
  gint64 number = g_ascii_strtoll (key, &end, 10);
  gboolean by_number = end != key && *end == '\0' && number >= 1 && number <= FK_OFFICE_MAX_DEVICES;
  int rc;

  st = prepare (self, by_number ? "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.number = ?"
                                : "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.device_id = ?", error);
  if (st == NULL)
    return NULL;
  if (by_number)
    sqlite3_bind_int64 (st, 1, number);
  else
    bind_text (st, 1, key);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    d = device_from_row (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  if (d == NULL)
    g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_UNKNOWN_DEVICE,
                 _("No device %s is enrolled at this office."), key);
  return d;
}

FkOfficeDevice *
fk_office_store_enroll (FkOfficeStore  *self,
                        const char     *invite_id,
                        const guint8    proof[32],
                        const guint8    sign_pk[32],
                        const char     *device_name,
                        gint64          now,
                        GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autofree char *device_id = fk_device_id (sign_pk);
  g_autofree char *name = NULL;
  g_autoptr(FkOfficeDevice) existing = NULL;
  sqlite3_stmt *st;
  guint8 key[32], expect[32];
  gint64 expires_at = 0, used_at = 0, number = 0;
  gboolean found = FALSE;
  int rc;

  if (!begin (self, error))
    return NULL;
  st = prepare (self, "SELECT name, proof_key, expires_at, used_at FROM invites WHERE invite_id = ?", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, invite_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW && sqlite3_column_bytes (st, 1) == 32)
    {
      found = TRUE;
      name = col_text (st, 0);
      memcpy (key, sqlite3_column_blob (st, 1), 32);
      expires_at = sqlite3_column_int64 (st, 2);
      used_at = sqlite3_column_int64 (st, 3);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      goto fail;
    }
  if (!found)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVITE_INVALID,
                           _("This invite code is not known to the office. Check the code with the administrator."));
      goto fail;
    }
  if (used_at != 0)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVITE_USED,
                           _("This invite code was already used. Ask the administrator for a new one."));
      goto fail;
    }
  if (now >= expires_at)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVITE_EXPIRED,
                           _("This invite code has expired. Ask the administrator for a new one."));
      goto fail;
    }
  crypto_generichash (expect, 32, sign_pk, 32, key, 32);
  sodium_memzero (key, sizeof key);
  if (!fk_equal (expect, proof, 32))
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVITE_INVALID,
                           _("The invite code does not match. Check the code with the administrator."));
      goto fail;
    }
  existing = get_device_locked (self, device_id, NULL);
  if (existing != NULL)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS,
                           _("This device is already enrolled at this office."));
      goto fail;
    }
  st = prepare (self, "SELECT coalesce (max (number), 0) + 1 FROM devices", error);
  if (st == NULL)
    goto fail;
  if (sqlite3_step (st) == SQLITE_ROW)
    number = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (number < 1 || number > FK_OFFICE_MAX_DEVICES)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FULL,
                   _("All %d device numbers of this office are taken."),
                   FK_OFFICE_MAX_DEVICES);
      goto fail;
    }
  st = prepare (self,
                "INSERT INTO devices (device_id, number, name, device_name, sign_pk, enrolled_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, device_id);
  sqlite3_bind_int64 (st, 2, number);
  bind_text (st, 3, name);
  bind_text (st, 4, device_name ? device_name : "");
  sqlite3_bind_blob (st, 5, sign_pk, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, now);
  if (!step_done (self, st, error))
    goto fail;
  st = prepare (self, "UPDATE invites SET used_at = ?, device_id = ? WHERE invite_id = ?", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, now);
  bind_text (st, 2, device_id);
  bind_text (st, 3, invite_id);
  if (!step_done (self, st, error) || !commit (self, error))
    goto fail;
  return get_device_locked (self, device_id, error);

fail:
  rollback (self);
  return NULL;
}

FkOfficeDevice *
fk_office_store_get_device (FkOfficeStore  *self,
                            const char     *key,
                            GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return get_device_locked (self, key, error);
}

GPtrArray *
fk_office_store_list_devices (FkOfficeStore  *self,
                              GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_office_device_free);
  sqlite3_stmt *st = prepare (self, "SELECT " DEVICE_COLUMNS " FROM devices d ORDER BY d.number", error);
  int rc;

  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, device_from_row (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

gboolean
fk_office_store_revoke_device (FkOfficeStore  *self,
                               const char     *device_id,
                               gint64          now,
                               GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st = prepare (self, "UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, now);
  bind_text (st, 2, device_id);
  return step_done (self, st, error);
}

void
fk_office_store_touch_device (FkOfficeStore *self,
                              const char    *device_id,
                              gint64         now)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st = cached (self,
                             "UPDATE devices SET last_seen = ?1 WHERE device_id = ?2"
                             " AND (last_seen IS NULL OR last_seen < ?1 - 60)", NULL);

  if (st == NULL)
    return;
  sqlite3_bind_int64 (st, 1, now);
  bind_text (st, 2, device_id);
  step_cached (self, st, NULL);
}

FkOfficeDevice *
fk_office_store_lookup_device (FkOfficeStore  *self,
                               const char     *device_id,
                               GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->read_lock);
  sqlite3_stmt *st = cached_read (self,
                                  "SELECT d.device_id, d.number, d.name, d.device_name, d.sign_pk, d.enrolled_at,"
                                  " d.last_seen, d.revoked_at, 0 FROM devices d WHERE d.device_id = ?", error);
  FkOfficeDevice *d = NULL;
  int rc;

  if (st == NULL)
    return NULL;
  bind_text (st, 1, device_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    d = device_from_row (st);
  fk_sql_done (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The office database %s failed: %s. Nothing was changed."),
                   self->db_path, sqlite3_errmsg (self->read_db));
      return NULL;
    }
  if (d == NULL)
    g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_UNKNOWN_DEVICE,
                 _("No device %s is enrolled at this office."), device_id);
  return d;
}

/* ---- packets ------------------------------------------------------------------- */

#define PACKET_COLUMNS \
  "p.number, p.packet_id, p.device_id, d.number, p.device_seq, p.case_uuid, p.receipt_no," \
  " p.service, p.outing_kind, p.packet_hash, p.size, p.received_at, p.review, p.review_reason," \
  " p.ack, p.manifest, json_extract (p.manifest, '$.outing_id'), json_extract (p.manifest, '$.outing_date')," \
  " json_extract (p.manifest, '$.supersedes_receipt')"

static FkOfficePacket *
packet_from_row (sqlite3_stmt *st)
{
  FkOfficePacket *p = g_new0 (FkOfficePacket, 1);

  p->number = sqlite3_column_int64 (st, 0);
  p->packet_id = col_text (st, 1);
  p->device_id = col_text (st, 2);
  p->device_number = (guint) sqlite3_column_int (st, 3);
  p->device_seq = sqlite3_column_int64 (st, 4);
  p->case_uuid = col_text (st, 5);
  p->receipt_no = col_text (st, 6);
  p->service = col_text (st, 7);
  p->outing_kind = col_text (st, 8);
  p->packet_hash = col_text (st, 9);
  p->size = sqlite3_column_int64 (st, 10);
  p->received_at = sqlite3_column_int64 (st, 11);
  p->review = col_text (st, 12);
  p->review_reason = col_text (st, 13);
  p->ack = col_text (st, 14);
  p->manifest = col_text (st, 15);
  p->outing_id = col_text (st, 16);
  p->outing_date = col_text (st, 17);
  p->corrects_receipt = col_text (st, 18);
  return p;
}

/* By exact packet id first (the primary lookup of every upload), then by
 * receipt number, the latest packet carrying it.  Two indexed lookups: an
 * OR of both in one statement made SQLite walk the whole table. */
static FkOfficePacket *
get_packet_on (FkOfficeStore  *self,
               gboolean        reader,
               gboolean        exact,      /* by packet id only */
               const char     *key,
               GError        **error)
{
  static const char *const queries[] = {
    "SELECT " PACKET_COLUMNS " FROM packets p JOIN devices d USING (device_id) WHERE p.packet_id = ?1",
    "SELECT " PACKET_COLUMNS " FROM packets p JOIN devices d USING (device_id)"
    " WHERE p.receipt_no = ?1 ORDER BY p.number DESC LIMIT 1",
    "SELECT " PACKET_COLUMNS " FROM packets p JOIN devices d USING (device_id)"
    " WHERE p.case_uuid = ?1 ORDER BY p.number DESC LIMIT 1",
  };
  FkOfficePacket *p = NULL;
  guint n = exact ? 1 : G_N_ELEMENTS (queries);

  for (guint i = 0; p == NULL && i < n; i++)
    {
      sqlite3_stmt *st = reader ? cached_read (self, queries[i], error) : cached (self, queries[i], error);
      int rc;

      if (st == NULL)
        return NULL;
      bind_text (st, 1, key);
      rc = sqlite3_step (st);
      if (rc == SQLITE_ROW)
        p = packet_from_row (st);
      fk_sql_done (st);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                       _("The office database %s failed: %s. Nothing was changed."),
                       self->db_path, sqlite3_errmsg (reader ? self->read_db : self->db));
          return NULL;
        }
    }
  return p;
}

FkOfficePacket *
fk_office_store_get_packet (FkOfficeStore  *self,
                            const char     *key,
                            GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->read_lock);

  return get_packet_on (self, TRUE, FALSE, key, error);
}

FkOfficePacket *
fk_office_store_get_packet_by_id (FkOfficeStore  *self,
                                  const char     *packet_id,
                                  GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->read_lock);

  return get_packet_on (self, TRUE, TRUE, packet_id, error);
}

/* ---- segments ---------------------------------------------------------------- */

/* A packet of more than FK_OFFICE_SEGMENT_MIN_BYTES that arrived whole is
 * appended to a segment file rather than written into office.db: SQLite
 * would write its pages twice (the WAL, then the checkpoint into the
 * database), computing the WAL's checksum over each, where a segment takes
 * one write.  Each store appends to a segment of its own, made when it
 * first needs one with the next free number (O_EXCL), so two processes on
 * the same folder (`serve` and a `bundle import`) never share one.  The
 * writer reserves its range under seg_lock and writes it outside; the group
 * commit fdatasyncs the segment before the transaction holding the rows
 * that point into it, so no committed row ever refers to bytes that are not
 * on disk.  Bytes written for a row that was then not committed (a crash,
 * a refused duplicate) are never referred to and stay as unused space. */
static gboolean sync_packets_dir (FkOfficeStore  *self,
                                  GError        **error);

static char *
segment_path (FkOfficeStore *self,
              guint          number)
{
  g_autofree char *name = g_strdup_printf ("segment-%u.fks", number);

  return g_build_filename (self->data_dir, "packets", name, NULL);
}

static gboolean
segment_open_locked (FkOfficeStore  *self,
                     GError        **error)
{
  g_autofree char *dir = g_build_filename (self->data_dir, "packets", NULL);
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint number = 0;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    goto fail;
  d = g_dir_open (dir, 0, NULL);
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      guint n = 0;

      if (sscanf (name, "segment-%u.fks", &n) == 1 && n > number)
        number = n;
    }
  for (guint tries = 0; tries < 100; tries++)
    {
      g_autofree char *path = segment_path (self, ++number);
      int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

      if (fd >= 0)
        {
          g_autoptr(GError) local = NULL;

          self->seg_fd = fd;
          self->seg_number = number;
          self->seg_end = 0;
          /* The segment's name is durable before any row names it. */
          if (!sync_packets_dir (self, &local))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          return TRUE;
        }
      if (errno != EEXIST)
        break;
    }
fail:
  {
    int saved = errno;

    g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                 _("The folder %s could not take the packet: %s."), dir, g_strerror (saved));
  }
  return FALSE;
}

/* Appends bytes to this store's segment; says where (not yet durable). */
static gboolean
segment_append (FkOfficeStore  *self,
                GBytes         *bytes,
                guint          *segment,
                guint64        *offset,
                GError        **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  int fd;

  g_mutex_lock (&self->seg_lock);
  if (self->seg_fd < 0 && !segment_open_locked (self, error))
    {
      g_mutex_unlock (&self->seg_lock);
      return FALSE;
    }
  fd = self->seg_fd;
  *segment = self->seg_number;
  *offset = self->seg_end;
  self->seg_end += len;
  g_mutex_unlock (&self->seg_lock);

  for (gsize done = 0; done < len; )
    {
      ssize_t n = pwrite (fd, data + done, len - done, (off_t) (*offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : EIO;

          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                       _("The packet could not be written to %s: %s."), self->data_dir, g_strerror (saved));
          return FALSE;
        }
      done += (gsize) n;
    }
  return TRUE;
}

static GBytes *
segment_read (FkOfficeStore  *self,
              guint           segment,
              guint64         offset,
              gsize           size,
              GError        **error)
{
  g_autofree char *path = segment_path (self, segment);
  guint8 *buf = g_malloc (MAX (size, 1));
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  gsize done = 0;

  while (fd >= 0 && done < size)
    {
      ssize_t n = pread (fd, buf + done, size - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += (gsize) n;
    }
  if (fd >= 0)
    close (fd);
  if (done < size)
    {
      g_free (buf);
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The stored packet in %s could not be read whole."), path);
      return NULL;
    }
  return g_bytes_new_take (buf, size);
}

GBytes *
fk_office_store_packet_bytes (FkOfficeStore  *self,
                              const char     *packet_id,
                              GError        **error)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  GBytes *out = NULL;

  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
    sqlite3_stmt *st = cached (self, "SELECT bytes FROM packet_data WHERE packet_id = ?", error);
    int rc;

    if (st == NULL)
      return NULL;
    bind_text (st, 1, packet_id);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW)
      out = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
    fk_sql_done (st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      {
        sql_fail (self, error);
        return NULL;
      }
  }
  if (out != NULL)
    return out;
  {
    gint64 segment = 0, offset = 0, size = 0;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
    sqlite3_stmt *st = cached (self, "SELECT segment, offset, size FROM packet_segments WHERE packet_id = ?", error);

    if (st == NULL)
      return NULL;
    bind_text (st, 1, packet_id);
    if (sqlite3_step (st) == SQLITE_ROW)
      {
        segment = sqlite3_column_int64 (st, 0);
        offset = sqlite3_column_int64 (st, 1);
        size = sqlite3_column_int64 (st, 2);
      }
    fk_sql_done (st);
    g_clear_pointer (&locker, g_mutex_locker_free);
    if (segment > 0)
      return segment_read (self, (guint) segment, (guint64) offset, (gsize) size, error);
  }
  name = g_strconcat (packet_id, ".fkp", NULL);
  path = g_build_filename (self->data_dir, "packets", name, NULL);
  mapped = g_mapped_file_new (path, FALSE, NULL);
  if (mapped == NULL)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_FOUND,
                   _("Packet %s is not stored at this office."), packet_id);
      return NULL;
    }
  return g_mapped_file_get_bytes (mapped);
}

/* Makes the names of the packet files renamed into DATA_DIR/packets
 * durable.  No folder yet means no file to make durable. */
static gboolean
sync_packets_dir (FkOfficeStore  *self,
                  GError        **error)
{
  g_autofree char *dir = g_build_filename (self->data_dir, "packets", NULL);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 && errno == ENOENT)
    return TRUE;
  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The folder %s could not be synced to disk: %s."),
                   dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* One row inside the group's transaction, under its own savepoint so a
 * refused row (a duplicate id) leaves the others alone. */
static gboolean
insert_row_locked (FkOfficeStore         *self,
                   const FkOfficePacket  *p,
                   GBytes                *bytes,
                   guint                  segment,
                   guint64                offset,
                   GError               **error)
{
  sqlite3_stmt *st;
  int rc;

  if (!exec_cached (self, "SAVEPOINT packet_row", error))
    return FALSE;
  st = cached (self,
               "INSERT INTO packets (packet_id, device_id, device_seq, case_uuid, receipt_no, service,"
               " outing_kind, packet_hash, size, received_at, ack, manifest)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, p->packet_id);
  bind_text (st, 2, p->device_id);
  sqlite3_bind_int64 (st, 3, p->device_seq);
  bind_text (st, 4, p->case_uuid);
  bind_text (st, 5, p->receipt_no);
  bind_text (st, 6, p->service);
  bind_text (st, 7, p->outing_kind);
  bind_text (st, 8, p->packet_hash);
  sqlite3_bind_int64 (st, 9, p->size);
  sqlite3_bind_int64 (st, 10, p->received_at);
  bind_text (st, 11, p->ack);
  bind_text (st, 12, p->manifest);
  rc = sqlite3_step (st);
  fk_sql_done (st);
  if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS, "packet already stored");
      goto fail;
    }
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      goto fail;
    }
  if (bytes != NULL)
    {
      st = cached (self, "INSERT INTO packet_data (packet_id, bytes) VALUES (?, ?)", error);
      if (st == NULL)
        goto fail;
      bind_text (st, 1, p->packet_id);
      sqlite3_bind_blob64 (st, 2, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), SQLITE_STATIC);
      if (!step_cached (self, st, error))
        goto fail;
    }
  if (segment > 0)
    {
      st = cached (self, "INSERT INTO packet_segments (packet_id, segment, offset, size) VALUES (?, ?, ?, ?)", error);
      if (st == NULL)
        goto fail;
      bind_text (st, 1, p->packet_id);
      sqlite3_bind_int64 (st, 2, segment);
      sqlite3_bind_int64 (st, 3, (gint64) offset);
      sqlite3_bind_int64 (st, 4, p->size);
      if (!step_cached (self, st, error))
        goto fail;
    }
  st = cached (self, "UPDATE devices SET last_seen = ? WHERE device_id = ?", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, p->received_at);
  bind_text (st, 2, p->device_id);
  if (!step_cached (self, st, error))
    goto fail;
  return exec_cached (self, "RELEASE packet_row", error);

fail:
  sqlite3_exec (self->db, "ROLLBACK TO packet_row; RELEASE packet_row", NULL, NULL, NULL);
  return FALSE;
}

/* Commits a group: the folder once (when a row of it refers to a file),
 * then every row in one transaction.  Sets ok / error on each PendingRow. */
static void
commit_group (FkOfficeStore *self,
              GPtrArray     *group)
{
  g_autoptr(GError) shared = NULL;
  gboolean files = FALSE, segments = FALSE;
  guint n_ok = 0;

  for (guint i = 0; i < group->len; i++)
    {
      PendingRow *row = group->pdata[i];

      files |= row->bytes == NULL && row->segment == 0;
      segments |= row->segment > 0;
    }
  /* Every segment row of a group is in this store's one segment. */
  if (segments && fdatasync (self->seg_fd) != 0)
    g_set_error (&shared, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                 _("The packets could not be synced to disk in %s: %s."), self->data_dir, g_strerror (errno));
  if (shared == NULL && (!files || sync_packets_dir (self, &shared)))
    {
      g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

      if (begin (self, &shared))
        {
          for (guint i = 0; i < group->len; i++)
            {
              PendingRow *row = group->pdata[i];

              row->ok = insert_row_locked (self, row->packet, row->bytes, row->segment, row->offset, &row->error);
              n_ok += row->ok;
            }
          if (n_ok == 0)
            rollback (self);
          else
            commit (self, &shared);
        }
    }
  if (shared == NULL)
    return;
  /* The folder or the transaction failed: no row of the group is stored. */
  for (guint i = 0; i < group->len; i++)
    {
      PendingRow *row = group->pdata[i];

      if (row->ok || row->error == NULL)
        {
          row->ok = FALSE;
          g_clear_error (&row->error);
          row->error = g_error_copy (shared);
        }
    }
}

void
fk_office_store_expect_packet (FkOfficeStore *self)
{
  g_mutex_lock (&self->group_lock);
  self->group_coming++;
  g_mutex_unlock (&self->group_lock);
}

void
fk_office_store_expect_cancel (FkOfficeStore *self)
{
  g_mutex_lock (&self->group_lock);
  if (self->group_coming > 0)
    self->group_coming--;
  g_cond_signal (&self->group_more);
  g_mutex_unlock (&self->group_lock);
}

/* Group commit, leader and followers: the caller queues its row; whoever
 * finds no commit under way becomes the leader, waits a little for rows
 * that were announced (fk_office_store_expect_packet) but are still being
 * verified — at most GROUP_WAIT_US, and not at all when none is coming —
 * then takes the whole queue and commits it.  The others wait for that
 * and either find their row done or lead the next group.  While one group
 * is on its way to disk the next one gathers.  The wait trades a fraction
 * of a millisecond of latency for fewer, larger commits: each commit costs
 * a WAL flush and rewrites the same index and table pages. */
#define GROUP_WAIT_US 1000
#define GROUP_MAX_ROWS 64

gboolean
fk_office_store_insert_packet (FkOfficeStore         *self,
                               const FkOfficePacket  *p,
                               GBytes                *bytes,
                               gboolean               announced,
                               GError               **error)
{
  PendingRow me = { .packet = p, .bytes = bytes };

  if (bytes != NULL && g_bytes_get_size (bytes) > FK_OFFICE_SEGMENT_MIN_BYTES)
    {
      if (!segment_append (self, bytes, &me.segment, &me.offset, error))
        {
          if (announced)
            fk_office_store_expect_cancel (self);
          return FALSE;
        }
      me.bytes = NULL;
    }

  g_mutex_lock (&self->group_lock);
  g_ptr_array_add (self->group_queue, &me);
  if (announced && self->group_coming > 0)
    self->group_coming--;
  g_cond_signal (&self->group_more);
  while (!me.done)
    {
      if (!self->group_busy)
        {
          GPtrArray *group;
          gint64 until = g_get_monotonic_time () + GROUP_WAIT_US;

          self->group_busy = TRUE;
          while (self->group_coming > 0 && self->group_queue->len < GROUP_MAX_ROWS &&
                 g_cond_wait_until (&self->group_more, &self->group_lock, until))
            ;
          group = self->group_queue;
          self->group_queue = g_ptr_array_new ();
          g_mutex_unlock (&self->group_lock);
          commit_group (self, group);
          g_mutex_lock (&self->group_lock);
          for (guint i = 0; i < group->len; i++)
            ((PendingRow *) group->pdata[i])->done = TRUE;
          g_ptr_array_unref (group);
          self->group_busy = FALSE;
          g_cond_broadcast (&self->group_done);
        }
      else
        g_cond_wait (&self->group_done, &self->group_lock);
    }
  g_mutex_unlock (&self->group_lock);
  if (!me.ok)
    {
      g_propagate_error (error, me.error);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
fk_office_store_list_packets (FkOfficeStore  *self,
                              const char     *device_id,
                              const char     *outing,
                              GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_office_packet_free);
  sqlite3_stmt *st = prepare (self,
                              "SELECT " PACKET_COLUMNS " FROM packets p JOIN devices d USING (device_id)"
                              " WHERE (?1 IS NULL OR p.device_id = ?1)"
                              " AND (?2 IS NULL OR p.outing_kind = ?2 OR json_extract (p.manifest, '$.outing_id') = ?2)"
                              " ORDER BY d.number, coalesce (json_extract (p.manifest, '$.outing_date'), ''),"
                              " length (json_extract (p.manifest, '$.outing_id')), json_extract (p.manifest, '$.outing_id'),"
                              " p.outing_kind, p.number", error);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text (st, 1, device_id);
  bind_text (st, 2, outing);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, packet_from_row (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

gint64
fk_office_store_count_packets (FkOfficeStore *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st = prepare (self, "SELECT count(*) FROM packets", NULL);
  gint64 n = -1;

  if (st == NULL)
    return -1;
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

/* ---- reviews and the change feed ------------------------------------------------ */

gboolean
fk_office_store_add_change (FkOfficeStore  *self,
                            const char     *device_id,
                            const char     *kind,
                            const char     *payload,
                            gint64          now,
                            GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st;

  if (!begin (self, error))
    return FALSE;
  /* The payload (e.g. a sealed hand-over list) rides in the reason column. */
  st = prepare (self, "INSERT INTO changes (device_id, kind, reason, at) VALUES (?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, device_id);
  bind_text (st, 2, kind);
  bind_text (st, 3, payload);
  sqlite3_bind_int64 (st, 4, now);
  if (!step_done (self, st, error))
    goto fail;
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

gboolean
fk_office_store_review (FkOfficeStore  *self,
                        const char     *packet_id,
                        const char     *decision,
                        const char     *reason,
                        gint64          now,
                        GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(FkOfficePacket) p = get_packet_on (self, FALSE, FALSE, packet_id, error);
  sqlite3_stmt *st;

  if (p == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_FOUND,
                     _("No packet %s has arrived."), packet_id);
      return FALSE;
    }
  /* A decision is final: the device has been told it (or will be), and a
   * returned case comes back corrected as a new packet that is reviewed in
   * its turn; an approval after a return, or two returns, would leave the
   * clerk with two answers to one application. */
  if (g_strcmp0 (p->review, "pending") != 0)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS,
                   _("Packet %s (%s) was already reviewed: %s. A decision is final; a returned case "
                     "comes back corrected as a new packet, which is reviewed in its turn."),
                   p->packet_id, p->receipt_no ? p->receipt_no : "—",
                   g_strcmp0 (p->review, "approved") == 0 ? _("approved")
                   : g_strcmp0 (p->review, "returned") == 0 ? _("returned for correction") : p->review);
      return FALSE;
    }
  if (!begin (self, error))
    return FALSE;
  st = prepare (self, "UPDATE packets SET review = ?, review_reason = ? WHERE packet_id = ?", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, decision);
  bind_text (st, 2, reason);
  bind_text (st, 3, p->packet_id);
  if (!step_done (self, st, error))
    goto fail;
  st = prepare (self,
                "INSERT INTO changes (device_id, kind, packet_id, case_uuid, receipt_no, decision, reason, at)"
                " VALUES (?, 'review', ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  bind_text (st, 1, p->device_id);
  bind_text (st, 2, p->packet_id);
  bind_text (st, 3, p->case_uuid);
  bind_text (st, 4, p->receipt_no);
  bind_text (st, 5, decision);
  bind_text (st, 6, reason);
  sqlite3_bind_int64 (st, 7, now);
  if (!step_done (self, st, error))
    goto fail;
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

GPtrArray *
fk_office_store_changes (FkOfficeStore  *self,
                         const char     *device_id,
                         gint64          since,
                         guint           limit,
                         GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_office_change_free);
  sqlite3_stmt *st = prepare (self,
                              "SELECT seq, kind, packet_id, case_uuid, receipt_no, decision, reason"
                              " FROM changes WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?", error);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text (st, 1, device_id);
  sqlite3_bind_int64 (st, 2, since);
  sqlite3_bind_int64 (st, 3, limit);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkOfficeChange *c = g_new0 (FkOfficeChange, 1);

      c->seq = sqlite3_column_int64 (st, 0);
      c->kind = col_text (st, 1);
      c->packet_id = col_text (st, 2);
      c->case_uuid = col_text (st, 3);
      c->receipt_no = col_text (st, 4);
      c->decision = col_text (st, 5);
      c->reason = col_text (st, 6);
      g_ptr_array_add (out, c);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- device audit logs ------------------------------------------------------------ */

static gboolean
audit_head_locked (FkOfficeStore  *self,
                   const char     *device_id,
                   gint64         *seq,
                   guint8          hash[32],
                   GError        **error)
{
  sqlite3_stmt *st = prepare (self,
                              "SELECT seq, hash FROM device_audit WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
                              error);
  int rc;

  *seq = 0;
  memset (hash, 0, 32);
  if (st == NULL)
    return FALSE;
  bind_text (st, 1, device_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      *seq = sqlite3_column_int64 (st, 0);
      if (sqlite3_column_bytes (st, 1) == 32)
        memcpy (hash, sqlite3_column_blob (st, 1), 32);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sql_fail (self, error);
  return TRUE;
}

gboolean
fk_office_store_audit_head (FkOfficeStore  *self,
                            const char     *device_id,
                            gint64         *seq,
                            guint8          hash[32],
                            GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return audit_head_locked (self, device_id, seq, hash, error);
}

gboolean
fk_office_store_audit_hash_at (FkOfficeStore *self,
                               const char    *device_id,
                               gint64         seq,
                               guint8         hash[32])
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *st = prepare (self, "SELECT hash FROM device_audit WHERE device_id = ? AND seq = ?", NULL);
  gboolean found = FALSE;

  if (st == NULL)
    return FALSE;
  bind_text (st, 1, device_id);
  sqlite3_bind_int64 (st, 2, seq);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_bytes (st, 0) == 32)
    {
      memcpy (hash, sqlite3_column_blob (st, 0), 32);
      found = TRUE;
    }
  sqlite3_finalize (st);
  return found;
}

gboolean
fk_office_store_audit_append (FkOfficeStore  *self,
                              const char     *device_id,
                              gint64          expect_head,
                              GPtrArray      *entries,
                              GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint64 head;
  guint8 head_hash[32];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (!begin (self, error))
    return FALSE;
  if (!audit_head_locked (self, device_id, &head, head_hash, error))
    goto fail;
  if (head != expect_head)
    {
      g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_BAD_AUDIT,
                           _("Another upload of this device's audit log arrived at the same time; try again."));
      goto fail;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      FkOfficeAuditEntry *e = entries->pdata[i];
      sqlite3_stmt *st = cached (self,
                                 "INSERT INTO device_audit (device_id, seq, at, operator, action, subject,"
                                 " detail, prev, hash, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 error);

      if (st == NULL)
        goto fail;
      bind_text (st, 1, device_id);
      sqlite3_bind_int64 (st, 2, e->seq);
      sqlite3_bind_int64 (st, 3, e->at);
      bind_text (st, 4, e->operator_id);
      bind_text (st, 5, e->action);
      bind_text (st, 6, e->subject);
      bind_text (st, 7, e->detail);
      sqlite3_bind_blob (st, 8, e->prev, 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob (st, 9, e->hash, 32, SQLITE_TRANSIENT);
      if (e->has_sig)
        sqlite3_bind_blob (st, 10, e->sig, 64, SQLITE_TRANSIENT);
      else
        sqlite3_bind_zeroblob (st, 10, 0);   /* a later entry's signature covers it */
      sqlite3_bind_int64 (st, 11, now);
      if (!step_cached (self, st, error))
        goto fail;
    }
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

GPtrArray *
fk_office_store_audit_entries (FkOfficeStore  *self,
                               const char     *device_id,
                               GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_office_audit_entry_free);
  sqlite3_stmt *st = prepare (self,
                              "SELECT seq, at, operator, action, subject, detail, prev, hash, sig"
                              " FROM device_audit WHERE device_id = ? ORDER BY seq", error);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text (st, 1, device_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkOfficeAuditEntry *e = g_new0 (FkOfficeAuditEntry, 1);

      e->seq = sqlite3_column_int64 (st, 0);
      e->at = sqlite3_column_int64 (st, 1);
      e->operator_id = col_text (st, 2);
      e->action = col_text (st, 3);
      e->subject = col_text (st, 4);
      e->detail = col_text (st, 5);
      if (sqlite3_column_bytes (st, 6) == 32)
        memcpy (e->prev, sqlite3_column_blob (st, 6), 32);
      if (sqlite3_column_bytes (st, 7) == 32)
        memcpy (e->hash, sqlite3_column_blob (st, 7), 32);
      /* A signature of any other length stays all zeros and fails. */
      e->has_sig = sqlite3_column_bytes (st, 8) != 0;
      if (sqlite3_column_bytes (st, 8) == 64)
        memcpy (e->sig, sqlite3_column_blob (st, 8), 64);
      g_ptr_array_add (out, e);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- the office's own audit log ------------------------------------------------------ */

static void
put_u64 (GByteArray *buf,
         guint64     v)
{
  guint8 b[8];

  for (int i = 7; i >= 0; i--)
    {
      b[i] = v & 0xff;
      v >>= 8;
    }
  g_byte_array_append (buf, b, 8);
}

static void
put_str (GByteArray *buf,
         const char *s)
{
  g_byte_array_append (buf, (const guint8 *) s, strlen (s) + 1);
}

gboolean
fk_office_store_log (FkOfficeStore  *self,
                     const char     *admin,
                     const char     *action,
                     const char     *subject,
                     const char     *detail,
                     GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 prev[32] = { 0 };
  guint8 hash[32];
  gint64 seq = 0;
  gint64 at = g_get_real_time ();
  sqlite3_stmt *st;
  int rc;

  admin = admin ? admin : "";
  subject = subject ? subject : "";
  detail = detail ? detail : "{}";
  if (!begin (self, error))
    return FALSE;
  st = prepare (self, "SELECT seq, hash FROM office_audit ORDER BY seq DESC LIMIT 1", error);
  if (st == NULL)
    goto fail;
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      seq = sqlite3_column_int64 (st, 0);
      if (sqlite3_column_bytes (st, 1) == 32)
        memcpy (prev, sqlite3_column_blob (st, 1), 32);
    }
  sqlite3_finalize (st);
  seq++;
  g_byte_array_append (buf, (const guint8 *) "fk-office-audit-v1", 18);
  g_byte_array_append (buf, prev, 32);
  put_u64 (buf, (guint64) seq);
  put_u64 (buf, (guint64) at);
  put_str (buf, admin);
  put_str (buf, action);
  put_str (buf, subject);
  put_str (buf, detail);
  fk_hash (buf->data, buf->len, hash);
  st = prepare (self,
                "INSERT INTO office_audit (seq, at, admin, action, subject, detail, prev, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, seq);
  sqlite3_bind_int64 (st, 2, at);
  bind_text (st, 3, admin);
  bind_text (st, 4, action);
  bind_text (st, 5, subject);
  bind_text (st, 6, detail);
  sqlite3_bind_blob (st, 7, prev, 32, SQLITE_TRANSIENT);
  sqlite3_bind_blob (st, 8, hash, 32, SQLITE_TRANSIENT);
  if (!step_done (self, st, error))
    goto fail;
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}
