/* fk-store.c — the encrypted offline case store; see fk-store.h.
 *
 * Layout of this file: types, helpers (SQL, errors, sealing), migrations,
 * opening and unlocking, operators, outings, cases, verification.
 */
#include "app/fk-store.h"

#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "app/fk-audit.h"
#include "app/fk-checkpoint.h"
#include "app/fk-sql.h"
#include "app/fk-date.h"
#include "app/fk-packet.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-stream.h"
#include "crypto/fk-vault.h"

/* ---- types -------------------------------------------------------------- */

struct _FkStore
{
  char       *data_dir;
  char       *db_path;
  sqlite3    *db;
  FkCatalog  *catalog;

  /* Plain device facts, read at open. */
  gboolean    initialized;
  char       *office_code;
  guint       device_number;
  guint8      device_pk[crypto_sign_PUBLICKEYBYTES];

  /* Present only while unlocked. */
  FkVault    *vault;
  FkIdentity *identity;
  char       *operator_id;
  FkRole      role;

  /* fk_store_begin_batch: nesting depth, whether a level asked to roll
   * back, and whether the current store call holds its savepoint. */
  guint       batch_depth;
  gboolean    vault_held;     /* fk_vault_hold for the open transaction */
  gboolean    batch_cancelled;
  gboolean    in_savepoint;

  /* Prepared statements every new case runs, by SQL text; see cached(). */
  FkSqlCache *stmts;

  /* The audit log's own kept statements, its head during a transaction,
   * and the signature made once per transaction at commit(). */
  FkAuditWriter *audit_writer;

  /* WAL checkpoints on a thread of their own, not inside a commit. */
  FkCheckpointer *checkpointer;
};

G_DEFINE_QUARK (fk-store-error-quark, fk_store_error)

const char *const fk_outing_kinds[] = {
  "home_visit", "school_drive", "certificate_booth", "bulk_enrolment", "card_handover", NULL
};

static const char *const status_names[] = {
  "draft", "checked", "approved", "sealed", "uploaded", "accepted", "returned", "closed",
};

/* ---- small public helpers ------------------------------------------------ */

const char *
fk_case_status_name (FkCaseStatus status)
{
  g_return_val_if_fail (status <= FK_CASE_CLOSED, "draft");
  return status_names[status];
}

const char *
fk_case_status_label (FkCaseStatus status)
{
  switch (status)
    {
    case FK_CASE_DRAFT: return _("draft");
    case FK_CASE_CHECKED: return _("self-checked");
    case FK_CASE_APPROVED: return _("second-checked");
    case FK_CASE_SEALED: return _("sealed");
    case FK_CASE_UPLOADED: return _("uploaded");
    case FK_CASE_ACCEPTED: return _("accepted by the office");
    case FK_CASE_RETURNED: return _("returned for correction");
    case FK_CASE_CLOSED: return _("closed");
    default: return "?";
    }
}

gboolean
fk_case_status_parse (const char   *name,
                      FkCaseStatus *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    if (g_strcmp0 (name, status_names[i]) == 0)
      {
        *out = (FkCaseStatus) i;
        return TRUE;
      }
  return FALSE;
}

const char *
fk_role_name (FkRole role)
{
  return role == FK_ROLE_SUPERVISOR ? "supervisor" : "staff";
}

const char *
fk_outing_kind_label (const char *kind)
{
  if (g_strcmp0 (kind, "home_visit") == 0)
    return _("home visit");
  if (g_strcmp0 (kind, "school_drive") == 0)
    return _("school ID-card drive");
  if (g_strcmp0 (kind, "certificate_booth") == 0)
    return _("certificate booth");
  if (g_strcmp0 (kind, "bulk_enrolment") == 0)
    return _("bulk certificate enrolment");
  if (g_strcmp0 (kind, "card_handover") == 0)
    return _("card hand-over");
  return kind;
}

void
fk_operator_free (FkOperator *op)
{
  if (op == NULL)
    return;
  g_free (op->id);
  g_free (op->name);
  g_free (op);
}

void
fk_outing_free (FkOuting *outing)
{
  if (outing == NULL)
    return;
  g_free (outing->id);
  g_free (outing->kind);
  g_free (outing->date);
  g_free (outing->title);
  g_free (outing->place);
  g_free (outing);
}

static void
attachment_info_free (FkAttachmentInfo *info)
{
  g_free (info->kind);
  g_free (info->mime);
  g_free (info);
}

void
fk_case_free (FkCase *kase)
{
  if (kase == NULL)
    return;
  g_free (kase->uuid);
  g_free (kase->outing_id);
  g_free (kase->service);
  g_free (kase->receipt_no);
  g_free (kase->created_by);
  g_free (kase->checked_by);
  g_free (kase->approved_by);
  g_free (kase->sealed_by);
  g_strfreev (kase->ticked);
  fk_wipe_free (kase->person_id);
  fk_wipe_free (kase->name);
  fk_wipe_free (kase->birth_date);
  g_clear_pointer (&kase->fields, g_hash_table_unref);
  g_free (kase->damaged);
  g_clear_pointer (&kase->attachments, g_ptr_array_unref);
  g_free (kase);
}

void
fk_damage_free (FkDamage *damage)
{
  if (damage == NULL)
    return;
  g_free (damage->where);
  g_free (damage->reason);
  g_free (damage);
}

/* ---- SQL helpers ---------------------------------------------------------- */

/* Turns the last SQLite failure into an error a clerk can act on. */
static gboolean
sql_error (FkStore  *self,
           int       rc,
           GError  **error)
{
  int primary = rc & 0xff;
  const char *detail = sqlite3_errmsg (self->db);

  switch (primary)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_BUSY,
                   _("Another FieldKit program is using the data folder %s and did not finish in time. "
                         "Close the other window or command and try again."),
                   self->data_dir);
      break;
    case SQLITE_FULL:
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FULL,
                   _("The disk holding %s is full; nothing was saved. Free some space and try again — "
                         "the work already saved is safe."),
                   self->data_dir);
      break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_READ_ONLY,
                   _("The data folder %s cannot be written (read-only or no permission); nothing was saved. "
                         "Use a writable folder (--data-dir) or ask the administrator."),
                   self->data_dir);
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_CORRUPT,
                   _("The database file %s is damaged (%s). Do not delete it; report it to the office, "
                         "which can recover it from the last sync."),
                   self->db_path, detail);
      break;
    case SQLITE_IOERR:
      if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC)
        {
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FULL,
                       _("Writing to %s failed (%s); nothing was saved. Check the disk and free space, then try again."),
                       self->data_dir, detail);
          break;
        }
      G_GNUC_FALLTHROUGH;
    default:
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
                   _("The case store failed: %s (code %d). Nothing was changed."),
                   detail, rc);
      break;
    }
  return FALSE;
}

static sqlite3_stmt *
prepare (FkStore     *self,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL);

  if (rc != SQLITE_OK)
    {
      sql_error (self, rc, error);
      return NULL;
    }
  return st;
}

/* The error of a failed step: a violated constraint (a trigger included)
 * is a refusal, anything else a failure of the store. */
static gboolean
step_error (FkStore  *self,
            GError  **error)
{
  int ext = sqlite3_extended_errcode (self->db);

  if ((ext & 0xff) == SQLITE_CONSTRAINT)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("The store refused the change: %s"),
                   sqlite3_errmsg (self->db));
      return FALSE;
    }
  return sql_error (self, ext, error);
}

/* Runs a statement that returns no rows, then finalizes it. */
static gboolean
step_done (FkStore       *self,
           sqlite3_stmt  *st,
           GError       **error)
{
  int rc = sqlite3_step (st);
  gboolean ok = rc == SQLITE_DONE || rc == SQLITE_ROW;

  if (!ok)
    step_error (self, error);
  sqlite3_finalize (st);
  return ok;
}

/* A statement prepared once and kept for the life of the store, for the
 * statements every new case runs: parsing them each time (the upsert on
 * cases compiles its triggers too) cost more than the encryption
 * (app/fk-sql.h).  Finish with fk_sql_done, never finalize. */
static sqlite3_stmt *
cached (FkStore     *self,
        const char  *sql,
        GError     **error)
{
  sqlite3_stmt *st = fk_sql_cache_get (self->stmts, self->db, sql);

  if (st == NULL)
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  return st;
}

/* step_done for a cached statement. */
static gboolean
step_cached (FkStore       *self,
             sqlite3_stmt  *st,
             GError       **error)
{
  int rc = sqlite3_step (st);
  gboolean ok = rc == SQLITE_DONE || rc == SQLITE_ROW;

  if (!ok)
    step_error (self, error);
  fk_sql_done (st);
  return ok;
}

static gboolean
exec (FkStore     *self,
      const char  *sql,
      GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return sql_error (self, sqlite3_extended_errcode (self->db), error);
  return TRUE;
}

/* exec for the two statements every store call in a batch runs (SAVEPOINT
 * and RELEASE), kept prepared like the others: parsing them again took
 * more than a tenth of a batched case. */
static gboolean
exec_cached (FkStore     *self,
             const char  *sql,
             GError     **error)
{
  sqlite3_stmt *st = cached (self, sql, error);

  return st != NULL && step_cached (self, st, error);
}

/* SQLite rolls the whole transaction back by itself after some failures
 * (disk full, I/O errors); a batch that lost its transaction must not go
 * on saving cases one by one as if nothing happened. */
static gboolean
batch_lost (FkStore  *self,
            GError  **error)
{
  g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
               _("The batch in %s was cancelled by an earlier failure; nothing in it was saved. "
                     "Fix the cause and run the whole batch again."),
               self->data_dir);
  return FALSE;
}

/* Write transactions take the write lock up front so two processes never
 * deadlock half-way; a busy store waits busy_timeout, then says so.  Inside
 * a batch the transaction is already open and each call gets a savepoint
 * instead, so a refused case rolls back only itself. */
/* The key area stays readable for the whole transaction rather than
 * being opened and closed for every field (see fk_vault_hold). */
static void
hold_vault (FkStore *self)
{
  if (self->vault != NULL && !self->vault_held)
    {
      fk_vault_hold (self->vault);
      self->vault_held = TRUE;
    }
}

static void
unhold_vault (FkStore *self)
{
  if (self->vault_held)
    {
      if (self->vault != NULL)
        fk_vault_unhold (self->vault);
      self->vault_held = FALSE;
    }
}

static gboolean
begin (FkStore  *self,
       GError  **error)
{
  if (self->batch_depth == 0)
    {
      if (!exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      fk_audit_writer_end (self->audit_writer);
      hold_vault (self);
      return TRUE;
    }
  if (sqlite3_get_autocommit (self->db))
    return batch_lost (self, error);
  if (!exec_cached (self, "SAVEPOINT fk_call", error))
    return FALSE;
  self->in_savepoint = TRUE;
  return TRUE;
}

static void
rollback (FkStore *self)
{
  if (self->batch_depth > 0)
    {
      if (self->in_savepoint && !sqlite3_get_autocommit (self->db))
        {
          sqlite3_exec (self->db, "ROLLBACK TO fk_call", NULL, NULL, NULL);
          sqlite3_exec (self->db, "RELEASE fk_call", NULL, NULL, NULL);
          fk_audit_writer_rollback_to (self->audit_writer);
        }
      self->in_savepoint = FALSE;
      return;
    }
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  fk_audit_writer_end (self->audit_writer);
  unhold_vault (self);
}

static gboolean
commit (FkStore  *self,
        GError  **error)
{
  if (self->batch_depth > 0)
    {
      if (!exec_cached (self, "RELEASE fk_call", error))
        {
          rollback (self);
          return FALSE;
        }
      self->in_savepoint = FALSE;
      return TRUE;
    }
  /* The transaction's last audit entry is signed just before it ends. */
  if (!fk_audit_writer_sign (self->audit_writer, self->identity, error) ||
      !exec (self, "COMMIT", error))
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      fk_audit_writer_end (self->audit_writer);
      unhold_vault (self);
      return FALSE;
    }
  fk_audit_writer_end (self->audit_writer);
  unhold_vault (self);
  return TRUE;
}

static gboolean
meta_set (FkStore      *self,
          const char   *key,
          const void   *value,
          gsize         len,
          gboolean      text,
          GError      **error)
{
  sqlite3_stmt *st = prepare (self, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (text)
    sqlite3_bind_text (st, 2, value, (int) len, SQLITE_TRANSIENT);
  else
    sqlite3_bind_blob (st, 2, value, (int) len, SQLITE_TRANSIENT);
  return step_done (self, st, error);
}

/* Returns the meta value as GBytes, or NULL when absent. */
static GBytes *
meta_get (FkStore    *self,
          const char *key)
{
  sqlite3_stmt *st = NULL;
  GBytes *out = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    out = g_bytes_new (sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  return out;
}

static char *
meta_get_string (FkStore    *self,
                 const char *key)
{
  g_autoptr(GBytes) b = meta_get (self, key);
  gsize len;
  const char *data;

  if (b == NULL)
    return NULL;
  data = g_bytes_get_data (b, &len);
  return g_strndup (data, len);
}

static char *
col_strdup (sqlite3_stmt *st,
            int           col)
{
  const unsigned char *t = sqlite3_column_text (st, col);

  return t ? g_strdup ((const char *) t) : NULL;
}

/* ---- sealing helpers ------------------------------------------------------ */

static gboolean
require_unlocked (FkStore  *self,
                  GError  **error)
{
  if (self->vault == NULL)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED,
                           _("FieldKit is locked. Sign in with your passphrase first."));
      return FALSE;
    }
  return TRUE;
}

static gboolean
bind_sealed (FkStore       *self,
             sqlite3_stmt  *st,
             int            col,
             const char    *table,
             const char    *row_key,
             const char    *column,
             guint64        version,
             const char    *plain,
             GError       **error)
{
  g_autoptr(GBytes) sealed = NULL;
  gsize len;
  const guint8 *data;

  if (plain == NULL)
    {
      sqlite3_bind_null (st, col);
      return TRUE;
    }
  sealed = fk_vault_seal_record (self->vault, table, row_key, column, version,
                                 (const guint8 *) plain, strlen (plain), error);
  if (sealed == NULL)
    return FALSE;
  data = g_bytes_get_data (sealed, &len);
  sqlite3_bind_blob (st, col, data, (int) len, SQLITE_TRANSIENT);
  return TRUE;
}

/* Opens a sealed text column; NULL column gives NULL with no error. */
static gboolean
open_sealed_text (FkStore       *self,
                  sqlite3_stmt  *st,
                  int            col,
                  const char    *table,
                  const char    *row_key,
                  const char    *column,
                  guint64        version,
                  char         **out,
                  GError       **error)
{
  g_autoptr(GBytes) plain = NULL;
  gsize len;
  const guint8 *data;

  *out = NULL;
  if (sqlite3_column_type (st, col) == SQLITE_NULL)
    return TRUE;
  plain = fk_vault_open_record (self->vault, table, row_key, column, version,
                                sqlite3_column_blob (st, col),
                                sqlite3_column_bytes (st, col), error);
  if (plain == NULL)
    return FALSE;
  data = g_bytes_get_data (plain, &len);
  *out = g_strndup ((const char *) data, len);
  return TRUE;
}

static char *
blob_digest_hex (const void *blob,
                 gsize       len)
{
  guint8 h[32];

  fk_hash (blob, len, h);
  return fk_hex_encode (h, 16);
}

/* Appends an audit entry inside the open transaction; commit() signs the
 * transaction's last entry (see fk-audit.h). */
static gboolean
audit (FkStore     *self,
       const char  *action,
       const char  *subject,
       const char  *detail,
       GError     **error)
{
  return fk_audit_writer_append (self->audit_writer, self->identity, self->operator_id,
                                 action, subject, detail, error);
}

/* ---- migrations ----------------------------------------------------------- */

static const char schema_v1[] =
  "CREATE TABLE meta ("
  "  key TEXT PRIMARY KEY,"
  "  value BLOB);"
  "CREATE TABLE operators ("
  "  id TEXT PRIMARY KEY,"
  "  role TEXT NOT NULL CHECK (role IN ('staff', 'supervisor')),"
  "  name BLOB NOT NULL,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE keyslots ("
  "  id INTEGER PRIMARY KEY,"
  "  operator TEXT REFERENCES operators (id),"
  "  kind TEXT NOT NULL CHECK (kind IN ('passphrase', 'recovery')),"
  "  slot BLOB NOT NULL,"
  "  failures INTEGER NOT NULL DEFAULT 0,"
  "  last_failure INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (operator, kind));"
  "CREATE TABLE outings ("
  "  id TEXT PRIMARY KEY,"
  "  num INTEGER NOT NULL UNIQUE,"
  "  kind TEXT NOT NULL,"
  "  date TEXT NOT NULL,"
  "  title BLOB,"
  "  place BLOB,"
  "  created_by TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE cases ("
  "  id INTEGER PRIMARY KEY,"
  "  uuid TEXT NOT NULL UNIQUE,"
  "  outing_id TEXT NOT NULL REFERENCES outings (id),"
  "  service TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  version INTEGER NOT NULL,"
  "  receipt_no TEXT UNIQUE,"
  "  supersedes INTEGER REFERENCES cases (id),"
  "  blind BLOB,"
  "  person BLOB,"
  "  ticked TEXT NOT NULL DEFAULT '[]',"
  "  created_by TEXT NOT NULL,"
  "  checked_by TEXT,"
  "  approved_by TEXT,"
  "  sealed_by TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  sealed_at INTEGER);"
  "CREATE INDEX cases_blind ON cases (blind);"
  "CREATE INDEX cases_outing ON cases (outing_id, status);"
  "CREATE TABLE attachments ("
  "  id INTEGER PRIMARY KEY,"
  "  uuid TEXT NOT NULL UNIQUE,"
  "  case_id INTEGER NOT NULL REFERENCES cases (id),"
  "  kind TEXT NOT NULL,"
  "  mime TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  key BLOB,"
  "  data BLOB);"
  "CREATE INDEX attachments_case ON attachments (case_id);"
  "CREATE TABLE receipt_seq ("
  "  day TEXT PRIMARY KEY,"
  "  last INTEGER NOT NULL);"
  /* The lifecycle is enforced in C; these triggers are the second line, so
   * that not even a bug or a hand-edited statement can change a sealed case
   * or move a case backwards (except a checked or approved case going back
   * to draft when it is edited). */
  "CREATE TRIGGER cases_sealed_immutable BEFORE UPDATE ON cases"
  "  WHEN OLD.status NOT IN ('draft', 'checked', 'approved')"
  "   AND (NEW.version IS NOT OLD.version OR NEW.service IS NOT OLD.service"
  "        OR NEW.outing_id IS NOT OLD.outing_id OR NEW.blind IS NOT OLD.blind"
  "        OR NEW.ticked IS NOT OLD.ticked OR NEW.receipt_no IS NOT OLD.receipt_no"
  "        OR NEW.uuid IS NOT OLD.uuid"
  "        OR (NEW.person IS NOT OLD.person AND NEW.person IS NOT NULL))"
  "  BEGIN SELECT RAISE (ABORT, 'a sealed case cannot be changed'); END;"
  "CREATE TRIGGER cases_no_backwards BEFORE UPDATE OF status ON cases"
  "  WHEN (CASE NEW.status WHEN 'draft' THEN 0 WHEN 'checked' THEN 1 WHEN 'approved' THEN 2"
  "        WHEN 'sealed' THEN 3 WHEN 'uploaded' THEN 4 WHEN 'accepted' THEN 5"
  "        WHEN 'returned' THEN 5 WHEN 'closed' THEN 6 ELSE -1 END)"
  "     < (CASE OLD.status WHEN 'draft' THEN 0 WHEN 'checked' THEN 1 WHEN 'approved' THEN 2"
  "        WHEN 'sealed' THEN 3 WHEN 'uploaded' THEN 4 WHEN 'accepted' THEN 5"
  "        WHEN 'returned' THEN 5 WHEN 'closed' THEN 6 ELSE -1 END)"
  "   AND NOT (NEW.status = 'draft' AND OLD.status IN ('checked', 'approved'))"
  "  BEGIN SELECT RAISE (ABORT, 'a case cannot move backwards in its lifecycle'); END;"
  "CREATE TRIGGER cases_sealed_no_delete BEFORE DELETE ON cases"
  "  WHEN OLD.status NOT IN ('draft', 'checked', 'approved')"
  "  BEGIN SELECT RAISE (ABORT, 'a sealed case cannot be deleted'); END;"
  "CREATE TRIGGER attachments_sealed_immutable BEFORE UPDATE ON attachments"
  "  WHEN (SELECT status FROM cases WHERE id = OLD.case_id) NOT IN ('draft', 'checked', 'approved')"
  "   AND NEW.data IS NOT NULL"
  "  BEGIN SELECT RAISE (ABORT, 'an attachment of a sealed case cannot be changed'); END;"
  "CREATE TRIGGER attachments_sealed_no_insert BEFORE INSERT ON attachments"
  "  WHEN (SELECT status FROM cases WHERE id = NEW.case_id) NOT IN ('draft', 'checked', 'approved')"
  "  BEGIN SELECT RAISE (ABORT, 'a sealed case cannot get new attachments'); END;";

/* Version 2: the outbox of sealed packets, the office's answers, and a
 * purge of personal data after the office acknowledged a case (person and
 * blind index may become NULL on a sealed case; nothing else may change). */
static const char schema_v2[] =
  "CREATE TABLE outbox ("
  "  packet_id TEXT PRIMARY KEY,"
  "  case_id INTEGER NOT NULL UNIQUE REFERENCES cases (id),"
  "  device_seq INTEGER UNIQUE,"
  "  packet BLOB,"
  "  packet_hash TEXT,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'acked', 'quarantined')),"
  "  sent_offset INTEGER NOT NULL DEFAULT 0,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt INTEGER NOT NULL DEFAULT 0,"
  "  last_error TEXT,"
  "  server_status TEXT,"
  "  ack TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  acked_at INTEGER);"
  "CREATE TABLE answers ("
  "  case_id INTEGER PRIMARY KEY REFERENCES cases (id),"
  "  decision TEXT NOT NULL,"
  "  reason BLOB,"
  "  at INTEGER NOT NULL);"
  "CREATE TABLE settings ("
  "  key TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL);"
  "DROP TRIGGER cases_sealed_immutable;"
  "CREATE TRIGGER cases_sealed_immutable BEFORE UPDATE ON cases"
  "  WHEN OLD.status NOT IN ('draft', 'checked', 'approved')"
  "   AND (NEW.version IS NOT OLD.version OR NEW.service IS NOT OLD.service"
  "        OR NEW.outing_id IS NOT OLD.outing_id"
  "        OR (NEW.blind IS NOT OLD.blind AND NEW.blind IS NOT NULL)"
  "        OR NEW.ticked IS NOT OLD.ticked OR NEW.receipt_no IS NOT OLD.receipt_no"
  "        OR NEW.uuid IS NOT OLD.uuid OR NEW.id IS NOT OLD.id"
  "        OR NEW.supersedes IS NOT OLD.supersedes"
  "        OR NEW.created_by IS NOT OLD.created_by OR NEW.checked_by IS NOT OLD.checked_by"
  "        OR NEW.approved_by IS NOT OLD.approved_by OR NEW.sealed_by IS NOT OLD.sealed_by"
  "        OR NEW.created_at IS NOT OLD.created_at OR NEW.sealed_at IS NOT OLD.sealed_at"
  "        OR (NEW.person IS NOT OLD.person AND NEW.person IS NOT NULL))"
  "  BEGIN SELECT RAISE (ABORT, 'a sealed case cannot be changed'); END;"
  /* Who checked, approved and sealed is part of what was sealed, and a
   * purge empties an attachment (data NULL) rather than deleting it. */
  "CREATE TRIGGER attachments_sealed_no_delete BEFORE DELETE ON attachments"
  "  WHEN (SELECT status FROM cases WHERE id = OLD.case_id) NOT IN ('draft', 'checked', 'approved')"
  "  BEGIN SELECT RAISE (ABORT, 'an attachment of a sealed case cannot be deleted'); END;";

/* Version 3: the receipt number's unique index holds only the cases that
 * have one, so saving a draft (which has none) writes no entry there.  A
 * column's UNIQUE cannot be dropped, so the table is made again
 * (sqlite.org/lang_altertable.html#otheralter) with the same columns, and
 * its indexes and triggers are read from the schema and made again. */
static const char cases_v3[] =
  "CREATE TABLE cases_v3 ("
  "  id INTEGER PRIMARY KEY,"
  "  uuid TEXT NOT NULL UNIQUE,"
  "  outing_id TEXT NOT NULL REFERENCES outings (id),"
  "  service TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  version INTEGER NOT NULL,"
  "  receipt_no TEXT,"
  "  supersedes INTEGER REFERENCES cases (id),"
  "  blind BLOB,"
  "  person BLOB,"
  "  ticked TEXT NOT NULL DEFAULT '[]',"
  "  created_by TEXT NOT NULL,"
  "  checked_by TEXT,"
  "  approved_by TEXT,"
  "  sealed_by TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  sealed_at INTEGER);"
  "INSERT INTO cases_v3 (id, uuid, outing_id, service, status, version, receipt_no, supersedes, blind, person,"
  "  ticked, created_by, checked_by, approved_by, sealed_by, created_at, updated_at, sealed_at)"
  " SELECT id, uuid, outing_id, service, status, version, receipt_no, supersedes, blind, person,"
  "  ticked, created_by, checked_by, approved_by, sealed_by, created_at, updated_at, sealed_at FROM cases;";

/* Runs inside migrate's transaction, with foreign keys off. */
static gboolean
migrate_v3 (FkStore  *self,
            GError  **error)
{
  g_autoptr(GPtrArray) remake = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  int rc;

  st = prepare (self, "SELECT sql FROM sqlite_schema WHERE tbl_name = 'cases'"
                      " AND type IN ('index', 'trigger') AND sql IS NOT NULL", error);
  if (st == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (remake, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_error (self, sqlite3_extended_errcode (self->db), error);

  /* The legacy rename touches only the table itself: the triggers of
   * attachments name "cases", which does not exist for that moment. */
  if (!exec (self, cases_v3, error) ||
      !exec (self, "DROP TABLE cases", error) ||
      !exec (self, "PRAGMA legacy_alter_table = ON", error) ||
      !exec (self, "ALTER TABLE cases_v3 RENAME TO cases", error) ||
      !exec (self, "PRAGMA legacy_alter_table = OFF", error))
    return FALSE;
  for (guint i = 0; i < remake->len; i++)
    if (!exec (self, remake->pdata[i], error))
      return FALSE;
  if (!exec (self, "CREATE UNIQUE INDEX cases_receipt_no ON cases (receipt_no) WHERE receipt_no IS NOT NULL", error))
    return FALSE;

  st = prepare (self, "PRAGMA foreign_key_check", error);
  if (st == NULL)
    return FALSE;
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc == SQLITE_ROW)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_CORRUPT,
                   _("The database file %s could not be brought up to date: its cases do not match their "
                         "outings and attachments. It was not changed; report it to the office."),
                   self->db_path);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return sql_error (self, sqlite3_extended_errcode (self->db), error);
  return TRUE;
}

/* Version 4: the packet moves out of its outbox row into a table of its
 * own, only ever inserted and read.  SQLite writes a whole row again on
 * every UPDATE, and the outbox row changes several times per upload
 * (progress, attempts, the ack): with a 200 KiB packet inside, each of
 * those wrote the packet to the WAL again. */
static const char outbox_v4[] =
  "CREATE TABLE outbox_packets ("
  "  packet_id TEXT PRIMARY KEY REFERENCES outbox (packet_id),"
  "  packet BLOB NOT NULL);"
  "INSERT INTO outbox_packets (packet_id, packet)"
  "  SELECT packet_id, packet FROM outbox WHERE packet IS NOT NULL;"
  "ALTER TABLE outbox DROP COLUMN packet;";

static gboolean migrate_steps (FkStore *self, int version, GError **error);

static gboolean
migrate (FkStore  *self,
         GError  **error)
{
  sqlite3_stmt *st;
  int version = 0;
  gboolean ok;

  st = prepare (self, "PRAGMA user_version", error);
  if (st == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);

  if (version > FK_SCHEMA_VERSION)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NEWER,
                   _("The data in %s was written by a newer FieldKit (format %d; this program knows up to %d). "
                         "It was not changed. Install the newer FieldKit to open it."),
                   self->data_dir, version, FK_SCHEMA_VERSION);
      return FALSE;
    }
  if (version == FK_SCHEMA_VERSION)
    return TRUE;

  /* Making cases again (v3) must not fire the foreign keys that point at
   * it; migrate_v3 checks them itself before the commit.  The pragma has
   * no effect inside a transaction, so it goes around it. */
  if (!exec (self, "PRAGMA foreign_keys = OFF", error))
    return FALSE;
  ok = migrate_steps (self, version, error);
  sqlite3_exec (self->db, "PRAGMA legacy_alter_table = OFF", NULL, NULL, NULL);
  if (!exec (self, "PRAGMA foreign_keys = ON", ok ? error : NULL))
    return FALSE;
  return ok;
}

static gboolean
migrate_steps (FkStore  *self,
               int       version,
               GError  **error)
{
  if (!begin (self, error))
    return FALSE;
  if (version < 1)
    {
      if (!exec (self, schema_v1, error) ||
          !fk_audit_migrate (self->db, error))
        {
          rollback (self);
          return FALSE;
        }
    }
  if (version < 2 && !exec (self, schema_v2, error))
    {
      rollback (self);
      return FALSE;
    }
  if (version < 3 && !migrate_v3 (self, error))
    {
      rollback (self);
      return FALSE;
    }
  if (version < 4 && !exec (self, outbox_v4, error))
    {
      rollback (self);
      return FALSE;
    }
  {
    g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d", FK_SCHEMA_VERSION);

    if (!exec (self, sql, error))
      {
        rollback (self);
        return FALSE;
      }
  }
  return commit (self, error);
}

/* ---- opening -------------------------------------------------------------- */

char *
fk_store_default_dir (void)
{
  const char *env = g_getenv ("FIELDKIT_DATA_HOME");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "fieldkit", NULL);
}

static guint
busy_timeout_ms (void)
{
  const char *env = g_getenv ("FIELDKIT_BUSY_TIMEOUT_MS");

  if (env != NULL && *env != '\0')
    return (guint) g_ascii_strtoull (env, NULL, 10);
  return 5000;
}

static void
load_device_facts (FkStore *self)
{
  g_autoptr(GBytes) pk = meta_get (self, "device_pk");
  g_autofree char *number = meta_get_string (self, "device_number");

  g_clear_pointer (&self->office_code, g_free);
  self->office_code = meta_get_string (self, "office_code");
  self->device_number = number ? (guint) g_ascii_strtoull (number, NULL, 10) : 0;
  self->initialized = pk != NULL && g_bytes_get_size (pk) == sizeof self->device_pk;
  if (self->initialized)
    memcpy (self->device_pk, g_bytes_get_data (pk, NULL), sizeof self->device_pk);
}

static void load_office_catalog (FkStore *self);

FkStore *
fk_store_open (const char  *data_dir,
               GError     **error)
{
  g_autoptr(FkStore) self = g_new0 (FkStore, 1);
  int rc;

  if (!fk_crypto_init (error))
    return NULL;

  self->data_dir = g_strdup (data_dir);
  self->db_path = g_build_filename (data_dir, "fieldkit.db", NULL);
  self->stmts = fk_sql_cache_new ();

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, FK_STORE_ERROR,
                   saved == EROFS || saved == EACCES ? FK_STORE_ERROR_READ_ONLY : FK_STORE_ERROR_FAILED,
                   _("The data folder %s cannot be created: %s. Use a writable folder (--data-dir)."),
                   data_dir, g_strerror (saved));
      return NULL;
    }

  self->catalog = fk_catalog_load_default (error);
  if (self->catalog == NULL)
    return NULL;

  rc = sqlite3_open_v2 (self->db_path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      sql_error (self, rc, error);
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, (int) busy_timeout_ms ());
  self->audit_writer = fk_audit_writer_new (self->db);

  if (sqlite3_db_readonly (self->db, "main") == 1)
    {
      sql_error (self, SQLITE_READONLY, error);
      return NULL;
    }

  /* Read the format first: a newer file must be refused before this program
   * writes anything to it, even the journal mode. */
  {
    sqlite3_stmt *st = prepare (self, "PRAGMA user_version", error);
    int version = 0;

    if (st == NULL)
      return NULL;
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW)
      version = sqlite3_column_int (st, 0);
    sqlite3_finalize (st);
    if (rc != SQLITE_ROW)
      {
        sql_error (self, sqlite3_extended_errcode (self->db), error);
        return NULL;
      }
    if (version > FK_SCHEMA_VERSION)
      {
        migrate (self, error);
        return NULL;
      }
  }

  /* Temporary tables and sorts stay in memory so no plaintext can reach a
   * temp file; secure_delete zeroes freed pages. */
  if (!exec (self, "PRAGMA journal_mode = WAL", error) ||
      !exec (self, "PRAGMA synchronous = FULL", error) ||
      !exec (self, "PRAGMA foreign_keys = ON", error) ||
      !exec (self, "PRAGMA temp_store = MEMORY", error) ||
      !exec (self, "PRAGMA secure_delete = ON", error))
    return NULL;

  if (!migrate (self, error))
    return NULL;
  /* Replaces SQLite's automatic checkpoint: a sync's batch of acks (and the
   * purge's zeroed pages) no longer pays for copying the WAL into the
   * database inside its commit (app/fk-checkpoint.h). */
  self->checkpointer = fk_checkpointer_new (self->db, self->db_path, "FULL");

  load_device_facts (self);
  load_office_catalog (self);
  return g_steal_pointer (&self);
}

void
fk_store_close (FkStore *self)
{
  if (self == NULL)
    return;
  fk_store_lock (self);
  g_clear_pointer (&self->stmts, fk_sql_cache_free);
  g_clear_pointer (&self->audit_writer, fk_audit_writer_free);
  g_clear_pointer (&self->checkpointer, fk_checkpointer_free);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_clear_pointer (&self->catalog, fk_catalog_free);
  g_free (self->office_code);
  g_free (self->data_dir);
  g_free (self->db_path);
  g_free (self);
}

const char *
fk_store_data_dir (FkStore *self)
{
  return self->data_dir;
}

const FkCatalog *
fk_store_catalog (FkStore *self)
{
  return self->catalog;
}

gboolean
fk_store_is_initialized (FkStore *self)
{
  return self->initialized;
}

const char *
fk_store_office_code (FkStore *self)
{
  return self->office_code;
}

guint
fk_store_device_number (FkStore *self)
{
  return self->device_number;
}

const guint8 *
fk_store_device_public_key (FkStore *self)
{
  return self->initialized ? self->device_pk : NULL;
}

FkIdentity *
fk_store_device_identity (FkStore *self)
{
  return self->identity;
}

struct sqlite3 *
fk_store_db (FkStore *self)
{
  return self->db;
}

gboolean
fk_store_is_unlocked (FkStore *self)
{
  return self->vault != NULL;
}

const char *
fk_store_operator (FkStore *self)
{
  return self->operator_id;
}

void
fk_store_lock (FkStore *self)
{
  unhold_vault (self);
  g_clear_pointer (&self->vault, fk_vault_free);
  g_clear_pointer (&self->identity, fk_identity_free);
  g_clear_pointer (&self->operator_id, g_free);
}

/* ---- batches ---------------------------------------------------------------- */

gboolean
fk_store_begin_batch (FkStore  *self,
                      GError  **error)
{
  if (self->batch_depth == 0)
    {
      if (!exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      fk_audit_writer_end (self->audit_writer);
      hold_vault (self);
      self->batch_cancelled = FALSE;
    }
  self->batch_depth++;
  return TRUE;
}

gboolean
fk_store_end_batch (FkStore   *self,
                    gboolean   commit_changes,
                    GError   **error)
{
  g_return_val_if_fail (self->batch_depth > 0, FALSE);

  if (!commit_changes)
    self->batch_cancelled = TRUE;
  if (--self->batch_depth > 0)
    return TRUE;

  if (sqlite3_get_autocommit (self->db))
    {
      fk_audit_writer_end (self->audit_writer);
      unhold_vault (self);
      return commit_changes ? batch_lost (self, error) : TRUE;
    }
  if (self->batch_cancelled)
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      fk_audit_writer_end (self->audit_writer);
      unhold_vault (self);
      if (commit_changes)
        g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                             _("Part of the batch was cancelled, so none of it was saved."));
      return !commit_changes;
    }
  return commit (self, error);
}

/* ---- setting up and unlocking -------------------------------------------- */

static gboolean
valid_operator_id (const char  *id,
                   GError     **error)
{
  gsize len = id ? strlen (id) : 0;

  if (len >= 1 && len <= 32)
    {
      gboolean ok = TRUE;

      for (gsize i = 0; i < len && ok; i++)
        ok = g_ascii_islower (id[i]) || g_ascii_isdigit (id[i]) || strchr ("._-", id[i]) != NULL;
      if (ok)
        return TRUE;
    }
  g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
               _("The operator id \"%s\" is not usable: use 1–32 lower-case letters, digits, '.', '_' or '-' (for example \"chen.mei\")."),
               id ? id : "");
  return FALSE;
}

static gboolean
valid_passphrase (const char  *passphrase,
                  GError     **error)
{
  if (passphrase == NULL || g_utf8_strlen (passphrase, -1) < 8)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The passphrase is too short: use at least 8 characters; a short sentence is easiest to remember."));
      return FALSE;
    }
  return TRUE;
}

static gboolean
insert_keyslot (FkStore          *self,
                const char       *operator_id,
                const char       *kind,
                const FkKeyslot  *slot,
                GError          **error)
{
  g_autoptr(GBytes) bytes = fk_keyslot_to_bytes (slot);
  sqlite3_stmt *st = prepare (self,
                              "INSERT INTO keyslots (operator, kind, slot) VALUES (?, ?, ?)"
                              " ON CONFLICT (operator, kind) DO UPDATE SET slot = excluded.slot,"
                              " failures = 0, last_failure = 0", error);

  if (st == NULL)
    return FALSE;
  if (operator_id)
    sqlite3_bind_text (st, 1, operator_id, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, 1);
  sqlite3_bind_text (st, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 3, g_bytes_get_data (bytes, NULL), (int) g_bytes_get_size (bytes), SQLITE_TRANSIENT);
  return step_done (self, st, error);
}

static gboolean
insert_operator (FkStore     *self,
                 const char  *operator_id,
                 const char  *name,
                 FkRole       role,
                 GError     **error)
{
  sqlite3_stmt *st = prepare (self,
                              "INSERT INTO operators (id, role, name, created_at) VALUES (?, ?, ?, ?)",
                              error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, operator_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, fk_role_name (role), -1, SQLITE_STATIC);
  if (!bind_sealed (self, st, 3, "operators", operator_id, "name", 1, name, error))
    {
      sqlite3_finalize (st);
      return FALSE;
    }
  sqlite3_bind_int64 (st, 4, g_get_real_time ());
  return step_done (self, st, error);
}

static gboolean
load_identity (FkStore  *self,
               GError  **error)
{
  g_autoptr(GBytes) sealed = meta_get (self, "device_sk");
  g_autoptr(GBytes) sk = NULL;

  if (sealed == NULL)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED,
                           _("The device key is missing from the store."));
      return FALSE;
    }
  sk = fk_vault_open_record (self->vault, "meta", "device", "sign_sk", 1,
                             g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), error);
  if (sk == NULL)
    return FALSE;
  self->identity = fk_identity_new_from_secret (g_bytes_get_data (sk, NULL), g_bytes_get_size (sk), error);
  return self->identity != NULL;
}

gboolean
fk_store_init_device (FkStore     *self,
                      const char  *operator_id,
                      const char  *operator_name,
                      const char  *passphrase,
                      const char  *office_code,
                      guint        device_number,
                      char       **recovery_key,
                      GError     **error)
{
  g_autoptr(FkIdentity) identity = NULL;
  g_autoptr(GBytes) sealed_sk = NULL;
  g_autofree char *number = NULL;
  char *recovery = NULL;
  FkKeyslot slot;
  guint64 ops, mem;

  if (self->initialized)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_EXISTS,
                   _("%s is already set up as a FieldKit device. Use another --data-dir for a new one."),
                   self->data_dir);
      return FALSE;
    }
  if (!valid_operator_id (operator_id, error) || !valid_passphrase (passphrase, error))
    return FALSE;
  if (operator_name == NULL || strspn (operator_name, " \t\r\n") == strlen (operator_name))
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The operator's name is empty: give the name shown on their staff card."));
      return FALSE;
    }
  if (office_code == NULL || strlen (office_code) < 1 || strlen (office_code) > 12)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The office code must be 1–12 characters."));
      return FALSE;
    }
  if (device_number < 1 || device_number > 99)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The device number must be between 1 and 99."));
      return FALSE;
    }

  self->vault = fk_vault_new (error);
  if (self->vault == NULL)
    return FALSE;
  identity = fk_identity_generate (error);
  if (identity == NULL)
    goto fail;

  if (!begin (self, error))
    goto fail;

  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, &ops, &mem);
  if (!fk_vault_add_keyslot (self->vault, passphrase, strlen (passphrase), ops, mem, &slot, error) ||
      !insert_operator (self, operator_id, operator_name, FK_ROLE_SUPERVISOR, error) ||
      !insert_keyslot (self, operator_id, "passphrase", &slot, error))
    goto fail_tx;

  recovery = fk_recovery_key_generate ();
  fk_kdf_limits (FK_KDF_STRENGTH_RECOVERY, &ops, &mem);
  if (!fk_vault_add_keyslot (self->vault, recovery, strlen (recovery), ops, mem, &slot, error) ||
      !insert_keyslot (self, NULL, "recovery", &slot, error))
    goto fail_tx;

  sealed_sk = fk_vault_seal_record (self->vault, "meta", "device", "sign_sk", 1,
                                    fk_identity_secret_key (identity), crypto_sign_SECRETKEYBYTES, error);
  number = g_strdup_printf ("%u", device_number);
  if (sealed_sk == NULL ||
      !meta_set (self, "device_sk", g_bytes_get_data (sealed_sk, NULL), g_bytes_get_size (sealed_sk), FALSE, error) ||
      !meta_set (self, "device_pk", fk_identity_public_key (identity), crypto_sign_PUBLICKEYBYTES, FALSE, error) ||
      !meta_set (self, "office_code", office_code, strlen (office_code), TRUE, error) ||
      !meta_set (self, "device_number", number, strlen (number), TRUE, error))
    goto fail_tx;

  self->identity = g_steal_pointer (&identity);
  self->operator_id = g_strdup (operator_id);
  self->role = FK_ROLE_SUPERVISOR;
  {
    g_autofree char *detail = g_strdup_printf ("{\"office\":\"%s\",\"device\":%u}", office_code, device_number);

    if (!audit (self, "device.init", operator_id, detail, error))
      goto fail_tx;
  }
  if (!commit (self, error))
    goto fail;

  load_device_facts (self);
  if (recovery_key)
    *recovery_key = g_steal_pointer (&recovery);
  fk_recovery_key_free (recovery);
  return TRUE;

fail_tx:
  rollback (self);
fail:
  fk_recovery_key_free (recovery);
  fk_store_lock (self);
  return FALSE;
}

static gboolean
require_initialized (FkStore  *self,
                     GError  **error)
{
  if (!self->initialized)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_INITIALIZED,
                   _("%s is not set up yet. Run \"fieldkit-cli init --operator ID --name NAME\" first."),
                   self->data_dir);
      return FALSE;
    }
  return TRUE;
}

/* The delay unit is one second; the test suite shortens it through
 * FIELDKIT_DELAY_UNIT_MS so it can check the growth without waiting. */
static gint64
delay_unit_us (void)
{
  const char *env = g_getenv ("FIELDKIT_DELAY_UNIT_MS");

  if (env != NULL && *env != '\0')
    return (gint64) g_ascii_strtoull (env, NULL, 10) * 1000;
  return G_USEC_PER_SEC;
}

/* Required wait after `failures` wrong passphrases in a row: none for the
 * first two, then 1, 2, 4 … units, capped at 300 units. */
static gint64
failure_delay_us (gint64 failures)
{
  gint64 units;

  if (failures < 3)
    return 0;
  units = failures - 3 >= 9 ? 300 : MIN ((gint64) 1 << (failures - 3), 300);
  return units * delay_unit_us ();
}

typedef struct {
  gint64    row;
  FkKeyslot slot;
  gint64    failures;
  gint64    last_failure;
  FkRole    role;
} SlotRow;

static gboolean
load_slot (FkStore     *self,
           const char  *operator_id,
           SlotRow     *out,
           GError     **error)
{
  sqlite3_stmt *st;
  int rc;
  gboolean ok = FALSE;

  if (operator_id)
    st = prepare (self,
                  "SELECT k.id, k.slot, k.failures, k.last_failure, o.role FROM keyslots k"
                  " JOIN operators o ON o.id = k.operator WHERE k.operator = ? AND k.kind = 'passphrase'",
                  error);
  else
    st = prepare (self,
                  "SELECT id, slot, failures, last_failure, 'staff' FROM keyslots WHERE kind = 'recovery'",
                  error);
  if (st == NULL)
    return FALSE;
  if (operator_id)
    sqlite3_bind_text (st, 1, operator_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (sqlite3_column_blob (st, 1), sqlite3_column_bytes (st, 1));

      out->row = sqlite3_column_int64 (st, 0);
      out->failures = sqlite3_column_int64 (st, 2);
      out->last_failure = sqlite3_column_int64 (st, 3);
      out->role = g_strcmp0 ((const char *) sqlite3_column_text (st, 4), "supervisor") == 0
                  ? FK_ROLE_SUPERVISOR : FK_ROLE_STAFF;
      ok = fk_keyslot_from_bytes (bytes, &out->slot, error);
    }
  else if (rc == SQLITE_DONE)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("There is no operator \"%s\" on this device. \"fieldkit-cli operator add\" adds one."),
                 operator_id ? operator_id : "recovery");
  else
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  sqlite3_finalize (st);
  return ok;
}

static gint64
slot_wait_us (const SlotRow *row)
{
  gint64 until = row->last_failure + failure_delay_us (row->failures);
  gint64 now = g_get_real_time ();

  return until > now ? until - now : 0;
}

guint
fk_store_unlock_wait (FkStore    *self,
                      const char *operator_id)
{
  SlotRow row;

  if (!load_slot (self, operator_id, &row, NULL))
    return 0;
  return (guint) ((slot_wait_us (&row) + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

static gboolean
record_attempt (FkStore  *self,
                gint64    slot_row,
                gboolean  success)
{
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (self->db,
                          success ? "UPDATE keyslots SET failures = 0, last_failure = 0 WHERE id = ?1 AND failures != 0"
                                  : "UPDATE keyslots SET failures = failures + 1, last_failure = ?2 WHERE id = ?1",
                          -1, &st, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_int64 (st, 1, slot_row);
  if (!success)
    sqlite3_bind_int64 (st, 2, g_get_real_time ());
  sqlite3_step (st);
  sqlite3_finalize (st);
  return TRUE;
}

/* Opens operator_id's slot (or the recovery slot when operator_id is NULL),
 * enforcing the wait after repeated failures. */
static FkVault *
open_slot (FkStore     *self,
           const char  *operator_id,
           const char  *secret,
           SlotRow     *row,
           GError     **error)
{
  g_autoptr(GError) local = NULL;
  FkVault *vault;
  gint64 wait;

  if (self->batch_depth > 0)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                           _("A passphrase cannot be checked while a batch is being saved; finish the batch first."));
      return NULL;
    }
  if (!require_initialized (self, error) || !load_slot (self, operator_id, row, error))
    return NULL;

  wait = slot_wait_us (row);
  if (wait > 0)
    {
      guint seconds = (guint) ((wait + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);

      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WAIT,
                   _("Too many wrong passphrases in a row (%" PRId64 "). Wait %u s before trying again."),
                   row->failures, seconds);
      return NULL;
    }

  vault = fk_vault_open (&row->slot, secret, secret ? strlen (secret) : 0, &local);
  if (vault == NULL)
    {
      if (g_error_matches (local, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE))
        {
          record_attempt (self, row->row, FALSE);
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE,
                       _("The passphrase is not correct for \"%s\" (wrong %" PRId64 " time(s) in a row; "
                             "from the third, each try waits longer). Nothing was changed."),
                       operator_id ? operator_id : "recovery", row->failures + 1);
        }
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  record_attempt (self, row->row, TRUE);
  return vault;
}

gboolean
fk_store_unlock (FkStore     *self,
                 const char  *operator_id,
                 const char  *passphrase,
                 GError     **error)
{
  SlotRow row;
  FkVault *vault;

  if (!valid_operator_id (operator_id, error))
    return FALSE;
  vault = open_slot (self, operator_id, passphrase, &row, error);
  if (vault == NULL)
    return FALSE;

  fk_store_lock (self);
  self->vault = vault;
  self->operator_id = g_strdup (operator_id);
  self->role = row.role;
  if (!load_identity (self, error))
    {
      fk_store_lock (self);
      return FALSE;
    }
  if (row.failures > 0)
    {
      g_autofree char *detail = g_strdup_printf ("{\"failed_attempts\":%" G_GINT64_FORMAT "}", row.failures);

      if (begin (self, NULL))
        {
          if (audit (self, "operator.unlock_after_failures", operator_id, detail, NULL))
            commit (self, NULL);
          else
            rollback (self);
        }
    }
  return TRUE;
}

gboolean
fk_store_recover (FkStore     *self,
                  const char  *recovery_key,
                  const char  *operator_id,
                  const char  *new_passphrase,
                  GError     **error)
{
  g_autofree char *canonical = NULL;
  SlotRow row, op_row;
  FkVault *vault;
  FkKeyslot slot;
  guint64 ops, mem;

  if (!valid_operator_id (operator_id, error) || !valid_passphrase (new_passphrase, error))
    return FALSE;
  canonical = fk_recovery_key_normalize (recovery_key, error);
  if (canonical == NULL)
    return FALSE;
  if (!load_slot (self, operator_id, &op_row, error))
    return FALSE;
  vault = open_slot (self, NULL, canonical, &row, error);
  sodium_memzero (canonical, strlen (canonical));
  if (vault == NULL)
    return FALSE;

  fk_store_lock (self);
  self->vault = vault;
  self->operator_id = g_strdup (operator_id);
  self->role = op_row.role;
  if (!load_identity (self, error) || !begin (self, error))
    goto fail;
  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, &ops, &mem);
  if (!fk_vault_add_keyslot (self->vault, new_passphrase, strlen (new_passphrase), ops, mem, &slot, error) ||
      !insert_keyslot (self, operator_id, "passphrase", &slot, error) ||
      !audit (self, "operator.recover", operator_id, "{}", error) ||
      !commit (self, error))
    {
      rollback (self);
      goto fail;
    }
  return TRUE;

fail:
  fk_store_lock (self);
  return FALSE;
}

gboolean
fk_store_verify_operator (FkStore     *self,
                          const char  *operator_id,
                          const char  *passphrase,
                          GError     **error)
{
  SlotRow row;
  FkVault *vault;

  if (!valid_operator_id (operator_id, error))
    return FALSE;
  vault = open_slot (self, operator_id, passphrase, &row, error);
  if (vault == NULL)
    return FALSE;
  fk_vault_free (vault);
  return TRUE;
}

/* ---- operators ------------------------------------------------------------ */

gboolean
fk_store_operator_add (FkStore     *self,
                       const char  *operator_id,
                       const char  *name,
                       FkRole       role,
                       const char  *passphrase,
                       GError     **error)
{
  FkKeyslot slot;
  guint64 ops, mem;
  g_autofree char *detail = NULL;

  if (!require_unlocked (self, error) || !valid_operator_id (operator_id, error) ||
      !valid_passphrase (passphrase, error))
    return FALSE;
  if (self->role != FK_ROLE_SUPERVISOR)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                           _("Only a supervisor can add operators. Ask your supervisor to sign in."));
      return FALSE;
    }
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The operator's name is empty: give the name shown on their staff card."));
      return FALSE;
    }
  {
    SlotRow existing;

    if (load_slot (self, operator_id, &existing, NULL))
      {
        g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_EXISTS,
                     _("There is already an operator \"%s\"."), operator_id);
        return FALSE;
      }
  }

  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, &ops, &mem);
  if (!fk_vault_add_keyslot (self->vault, passphrase, strlen (passphrase), ops, mem, &slot, error))
    return FALSE;
  detail = g_strdup_printf ("{\"role\":\"%s\"}", fk_role_name (role));
  if (!begin (self, error))
    return FALSE;
  if (!insert_operator (self, operator_id, name, role, error) ||
      !insert_keyslot (self, operator_id, "passphrase", &slot, error) ||
      !audit (self, "operator.add", operator_id, detail, error) ||
      !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
fk_store_operators (FkStore  *self,
                    GError  **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_operator_free);
  sqlite3_stmt *st = prepare (self, "SELECT id, role, name, created_at FROM operators ORDER BY created_at, id", error);
  int rc;

  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkOperator *op = g_new0 (FkOperator, 1);

      op->id = col_strdup (st, 0);
      op->role = g_strcmp0 ((const char *) sqlite3_column_text (st, 1), "supervisor") == 0
                 ? FK_ROLE_SUPERVISOR : FK_ROLE_STAFF;
      op->created_at = sqlite3_column_int64 (st, 3);
      if (self->vault)
        open_sealed_text (self, st, 2, "operators", op->id, "name", 1, &op->name, NULL);
      g_ptr_array_add (out, op);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_error (self, sqlite3_extended_errcode (self->db), error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

char *
fk_store_sole_operator (FkStore *self)
{
  g_autoptr(GPtrArray) ops = fk_store_operators (self, NULL);

  if (ops == NULL || ops->len != 1)
    return NULL;
  return g_strdup (((FkOperator *) ops->pdata[0])->id);
}

/* ---- outings --------------------------------------------------------------- */

static gboolean
valid_kind (const char *kind)
{
  for (guint i = 0; fk_outing_kinds[i]; i++)
    if (g_strcmp0 (kind, fk_outing_kinds[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Accepts "O3" or "3". */
static char *
normalize_outing_ref (const char *ref)
{
  if (ref == NULL)
    return NULL;
  if (g_ascii_isdigit (ref[0]))
    return g_strdup_printf ("O%s", ref);
  if (ref[0] == 'o')
    return g_strdup_printf ("O%s", ref + 1);
  return g_strdup (ref);
}

char *
fk_store_outing_new (FkStore     *self,
                     const char  *kind,
                     const char  *title,
                     const char  *date,
                     const char  *place,
                     GError     **error)
{
  g_autofree char *id = NULL;
  g_autofree char *iso = NULL;
  g_autofree char *detail = NULL;
  sqlite3_stmt *st;
  gint64 num = 1;
  GDate d;

  if (!require_unlocked (self, error))
    return NULL;
  if (!valid_kind (kind))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) fk_outing_kinds);

      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                   _("Unknown outing kind \"%s\". Use one of: %s."),
                   kind ? kind : "", known);
      return NULL;
    }
  if (title == NULL || *title == '\0')
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The outing needs a title (for example \"Class 801, Beiqu Junior High\")."));
      return NULL;
    }
  {
    g_autoptr(GError) local = NULL;

    /* Store callers get FK_STORE_ERROR only, like every other bad input. */
    if (!fk_date_parse (date, &d, &local))
      {
        g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID, "date: %s", local->message);
        return NULL;
      }
  }
  iso = fk_date_to_iso (&d);

  if (!begin (self, error))
    return NULL;
  st = prepare (self, "SELECT COALESCE (MAX (num), 0) + 1 FROM outings", error);
  if (st == NULL)
    goto fail;
  if (sqlite3_step (st) == SQLITE_ROW)
    num = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  id = g_strdup_printf ("O%" G_GINT64_FORMAT, num);

  st = prepare (self,
                "INSERT INTO outings (id, num, kind, date, title, place, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, num);
  sqlite3_bind_text (st, 3, kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 4, iso, -1, SQLITE_TRANSIENT);
  if (!bind_sealed (self, st, 5, "outings", id, "title", 1, title, error) ||
      !bind_sealed (self, st, 6, "outings", id, "place", 1, place && *place ? place : NULL, error))
    {
      sqlite3_finalize (st);
      goto fail;
    }
  sqlite3_bind_text (st, 7, self->operator_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 8, g_get_real_time ());
  detail = g_strdup_printf ("{\"kind\":\"%s\",\"date\":\"%s\"}", kind, iso);
  if (!step_done (self, st, error) ||
      !audit (self, "outing.new", id, detail, error) ||
      !commit (self, error))
    goto fail;
  return g_steal_pointer (&id);

fail:
  rollback (self);
  return NULL;
}

static FkOuting *
outing_from_row (FkStore      *self,
                 sqlite3_stmt *st)
{
  FkOuting *o = g_new0 (FkOuting, 1);

  o->id = col_strdup (st, 0);
  o->kind = col_strdup (st, 1);
  o->date = col_strdup (st, 2);
  o->created_at = sqlite3_column_int64 (st, 5);
  o->n_cases = (guint) sqlite3_column_int64 (st, 6);
  if (self->vault)
    {
      if (!open_sealed_text (self, st, 3, "outings", o->id, "title", 1, &o->title, NULL))
        o->title = g_strdup (_("(damaged)"));
      open_sealed_text (self, st, 4, "outings", o->id, "place", 1, &o->place, NULL);
    }
  return o;
}

#define OUTING_COLUMNS \
  "SELECT o.id, o.kind, o.date, o.title, o.place, o.created_at," \
  " (SELECT COUNT (*) FROM cases c WHERE c.outing_id = o.id) FROM outings o"

static void
outing_not_found (const char  *outing_ref,
                  GError     **error)
{
  g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
               _("There is no outing \"%s\". \"fieldkit-cli outing list\" shows them."),
               outing_ref ? outing_ref : "");
}

GPtrArray *
fk_store_outings (FkStore  *self,
                  GError  **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_outing_free);
  sqlite3_stmt *st = prepare (self, OUTING_COLUMNS " ORDER BY o.date, o.num", error);
  int rc;

  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, outing_from_row (self, st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_error (self, sqlite3_extended_errcode (self->db), error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

FkOuting *
fk_store_outing_get (FkStore     *self,
                     const char  *outing_ref,
                     GError     **error)
{
  g_autofree char *id = normalize_outing_ref (outing_ref);
  sqlite3_stmt *st = prepare (self, OUTING_COLUMNS " WHERE o.id = ?", error);
  FkOuting *o = NULL;
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_text (st, 1, id ? id : "", -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    o = outing_from_row (self, st);
  else if (rc == SQLITE_DONE)
    outing_not_found (outing_ref, error);
  else
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  sqlite3_finalize (st);
  return o;
}

/* The id of an existing outing ("3" gives "O3"), refused as
 * fk_store_outing_get refuses it.  Every new case checks its outing: this
 * neither opens the title nor counts the cases. */
static char *
outing_resolve (FkStore     *self,
                const char  *outing_ref,
                GError     **error)
{
  g_autofree char *id = normalize_outing_ref (outing_ref);
  sqlite3_stmt *st = cached (self, "SELECT 1 FROM outings WHERE id = ?", error);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_text (st, 1, id ? id : "", -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  if (rc == SQLITE_DONE)
    outing_not_found (outing_ref, error);
  else if (rc != SQLITE_ROW)
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  fk_sql_done (st);
  return rc == SQLITE_ROW ? g_steal_pointer (&id) : NULL;
}

/* ---- cases: person record ------------------------------------------------- */

/* The person record is one JSON object sealed as cases.person:
 * {"person_id":…, "name":…, "birth_date":…, "fields":{…}}. */
/* The person record and the ticked list are written by hand: every saved
 * case writes both, and json-glib took more time than sealing them.  The
 * text is what json_generator_to_data writes (compact, members in the order
 * given, UTF-8 as it is), except that every control character is escaped.
 * It is made in one allocation of the exact size, so no growing buffer
 * leaves copies of personal data behind; the caller wipes it. */
/* Bytes an escape adds to a byte in a JSON string: \" \\ \b \t \n \f \r
 * add 1, other control characters (\u00XX) 5, everything else 0. */
static const guint8 json_extra_bytes[256] = {
  5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,   /* 0x00 */
  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,   /* 0x10 */
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x20: '"' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x30 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x40 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* 0x50: '\\' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x60 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,   /* 0x70: DEL */
  /* 0x80–0xff: 0, UTF-8 is written as it is */
};

static inline guint
json_extra (guchar c)
{
  return json_extra_bytes[c];
}

static gsize
json_str_len (const char *s)
{
  gsize n = 2;

  for (const guchar *p = (const guchar *) (s ? s : ""); *p; p++)
    n += 1 + json_extra (*p);
  return n;
}

static char *
json_str_put (char       *out,
              const char *s)
{
  static const char hex[] = "0123456789abcdef";

  *out++ = '"';
  for (const guchar *p = (const guchar *) (s ? s : ""); *p; p++)
    {
      if (G_LIKELY (json_extra (*p) == 0))
        {
          *out++ = (char) *p;
          continue;
        }
      *out++ = '\\';
      switch (*p)
        {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
          memcpy (out, "u00", 3);
          out[3] = hex[*p >> 4];
          out[4] = hex[*p & 0xf];
          out += 5;
          break;
        }
    }
  *out++ = '"';
  return out;
}

static char *
json_lit_put (char       *out,
              const char *lit)
{
  gsize n = strlen (lit);

  memcpy (out, lit, n);
  return out + n;
}

static char *
person_to_json (const FkCase *kase)
{
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (kase->fields), (GCompareFunc) g_strcmp0);
  gsize len = sizeof "{\"person_id\":,\"name\":,\"birth_date\":,\"fields\":{}}" +
              json_str_len (kase->person_id) + json_str_len (kase->name) +
              (kase->birth_date ? json_str_len (kase->birth_date) : strlen ("null"));
  char *out, *p;

  for (GList *l = keys; l; l = l->next)
    len += json_str_len (l->data) + 1 + json_str_len (g_hash_table_lookup (kase->fields, l->data)) + 1;
  out = p = g_malloc (len);
  p = json_lit_put (p, "{\"person_id\":");
  p = json_str_put (p, kase->person_id);
  p = json_lit_put (p, ",\"name\":");
  p = json_str_put (p, kase->name);
  p = json_lit_put (p, ",\"birth_date\":");
  p = kase->birth_date ? json_str_put (p, kase->birth_date) : json_lit_put (p, "null");
  p = json_lit_put (p, ",\"fields\":{");
  for (GList *l = keys; l; l = l->next)
    {
      if (l != keys)
        *p++ = ',';
      p = json_str_put (p, l->data);
      *p++ = ':';
      p = json_str_put (p, g_hash_table_lookup (kase->fields, l->data));
    }
  p = json_lit_put (p, "}}");
  *p++ = '\0';
  g_assert ((gsize) (p - out) <= len);
  return out;
}

static gboolean
person_from_json (FkCase      *kase,
                  const char  *json,
                  gsize        len,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj, *fields;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, json, (gssize) len, error))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED, "person record is not an object");
      return FALSE;
    }
  obj = json_node_get_object (root);
  kase->person_id = g_strdup (json_object_get_string_member_with_default (obj, "person_id", NULL));
  kase->name = g_strdup (json_object_get_string_member_with_default (obj, "name", NULL));
  if (json_object_has_member (obj, "birth_date") && !json_object_get_null_member (obj, "birth_date"))
    kase->birth_date = g_strdup (json_object_get_string_member (obj, "birth_date"));
  fields = json_object_has_member (obj, "fields") ? json_object_get_object_member (obj, "fields") : NULL;
  if (fields)
    {
      g_autoptr(GList) members = json_object_get_members (fields);

      for (GList *l = members; l; l = l->next)
        g_hash_table_insert (kase->fields, g_strdup (l->data),
                             g_strdup (json_object_get_string_member (fields, l->data)));
    }
  return TRUE;
}

static GHashTable *
new_fields_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fk_wipe_free);
}

/* ---- cases: reading -------------------------------------------------------- */

#define CASE_COLUMNS \
  "SELECT id, uuid, outing_id, service, status, version, receipt_no, supersedes," \
  " created_by, checked_by, approved_by, sealed_by, created_at, updated_at, sealed_at," \
  " ticked, person FROM cases"

static GStrv
ticked_from_json (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  JsonNode *root;

  if (json && json_parser_load_from_data (parser, json, -1, NULL) &&
      (root = json_parser_get_root (parser)) && JSON_NODE_HOLDS_ARRAY (root))
    {
      JsonArray *arr = json_node_get_array (root);

      for (guint i = 0; i < json_array_get_length (arr); i++)
        g_strv_builder_add (b, json_array_get_string_element (arr, i));
    }
  return g_strv_builder_end (b);
}

static char *
ticked_to_json (const char * const *items)
{
  gsize len = sizeof "[]";
  char *out, *p;

  for (guint i = 0; items && items[i]; i++)
    len += json_str_len (items[i]) + 1;
  out = p = g_malloc (len);
  *p++ = '[';
  for (guint i = 0; items && items[i]; i++)
    {
      if (i > 0)
        *p++ = ',';
      p = json_str_put (p, items[i]);
    }
  *p++ = ']';
  *p++ = '\0';
  g_assert ((gsize) (p - out) <= len);
  return out;
}

static gboolean
load_attachments (FkStore  *self,
                  FkCase   *kase,
                  GError  **error)
{
  sqlite3_stmt *st = prepare (self, "SELECT id, kind, mime, size FROM attachments WHERE case_id = ? ORDER BY id", error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, kase->id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkAttachmentInfo *info = g_new0 (FkAttachmentInfo, 1);

      info->id = sqlite3_column_int64 (st, 0);
      info->kind = col_strdup (st, 1);
      info->mime = col_strdup (st, 2);
      info->size = (gsize) sqlite3_column_int64 (st, 3);
      g_ptr_array_add (kase->attachments, info);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_error (self, sqlite3_extended_errcode (self->db), error);
  return TRUE;
}

static FkCase *
case_from_row (FkStore      *self,
               sqlite3_stmt *st)
{
  FkCase *kase = g_new0 (FkCase, 1);
  const char *status = (const char *) sqlite3_column_text (st, 4);

  kase->id = sqlite3_column_int64 (st, 0);
  kase->uuid = col_strdup (st, 1);
  kase->outing_id = col_strdup (st, 2);
  kase->service = col_strdup (st, 3);
  if (!fk_case_status_parse (status, &kase->status))
    kase->status = FK_CASE_DRAFT;
  kase->version = (guint64) sqlite3_column_int64 (st, 5);
  kase->receipt_no = col_strdup (st, 6);
  kase->supersedes = sqlite3_column_int64 (st, 7);
  kase->created_by = col_strdup (st, 8);
  kase->checked_by = col_strdup (st, 9);
  kase->approved_by = col_strdup (st, 10);
  kase->sealed_by = col_strdup (st, 11);
  kase->created_at = sqlite3_column_int64 (st, 12);
  kase->updated_at = sqlite3_column_int64 (st, 13);
  kase->sealed_at = sqlite3_column_int64 (st, 14);
  kase->ticked = ticked_from_json ((const char *) sqlite3_column_text (st, 15));
  kase->fields = new_fields_table ();
  kase->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) attachment_info_free);

  if (sqlite3_column_type (st, 16) == SQLITE_NULL)
    kase->damaged = NULL; /* purged after the office acknowledged it: a stub */
  else if (self->vault)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(GBytes) plain = fk_vault_open_record (self->vault, "cases", kase->uuid, "person", kase->version,
                                                      sqlite3_column_blob (st, 16),
                                                      sqlite3_column_bytes (st, 16), &local);

      if (plain == NULL ||
          !person_from_json (kase, g_bytes_get_data (plain, NULL), g_bytes_get_size (plain), &local))
        kase->damaged = g_strdup_printf (_("The personal data of case %" PRId64 " is damaged or was altered and cannot be opened; "
                                               "the other cases are not affected. Report it to the office."),
                                         kase->id);
    }
  return kase;
}

static FkCase *
load_case (FkStore  *self,
           gint64    case_id,
           GError  **error)
{
  sqlite3_stmt *st = prepare (self, CASE_COLUMNS " WHERE id = ?", error);
  FkCase *kase = NULL;
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, case_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    kase = case_from_row (self, st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("There is no case %" PRId64 ". \"fieldkit-cli case list\" shows them."),
                 case_id);
  else
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  sqlite3_finalize (st);
  if (kase && !load_attachments (self, kase, error))
    g_clear_pointer (&kase, fk_case_free);
  return kase;
}

FkCase *
fk_store_case_get (FkStore  *self,
                   gint64    case_id,
                   GError  **error)
{
  if (!require_unlocked (self, error))
    return NULL;
  return load_case (self, case_id, error);
}

gboolean
fk_store_case_resolve (FkStore     *self,
                       const char  *ref,
                       gint64      *case_id,
                       GError     **error)
{
  sqlite3_stmt *st;
  gboolean found = FALSE;
  char *end = NULL;
  gint64 n;

  if (ref != NULL && *ref != '\0')
    {
      n = g_ascii_strtoll (ref, &end, 10);
      if (end && *end == '\0' && n > 0)
        st = prepare (self, "SELECT id FROM cases WHERE id = ?", error);
      else
        st = prepare (self, "SELECT id FROM cases WHERE receipt_no = ?", error);
      if (st == NULL)
        return FALSE;
      if (end && *end == '\0' && n > 0)
        sqlite3_bind_int64 (st, 1, n);
      else
        sqlite3_bind_text (st, 1, ref, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          *case_id = sqlite3_column_int64 (st, 0);
          found = TRUE;
        }
      sqlite3_finalize (st);
    }
  if (!found)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("There is no case \"%s\": give the case number from \"case list\" or a receipt number."),
                 ref ? ref : "");
  return found;
}

GPtrArray *
fk_store_cases (FkStore             *self,
                const char          *outing_ref,
                const FkCaseStatus  *status,
                GError             **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_case_free);
  g_autofree char *outing_id = normalize_outing_ref (outing_ref);
  GString *sql = g_string_new (CASE_COLUMNS " WHERE 1");
  sqlite3_stmt *st;
  int rc, col = 1;

  if (!require_unlocked (self, error))
    {
      g_string_free (sql, TRUE);
      return NULL;
    }
  if (outing_id)
    g_string_append (sql, " AND outing_id = ?");
  if (status)
    g_string_append (sql, " AND status = ?");
  g_string_append (sql, " ORDER BY id");
  st = prepare (self, sql->str, error);
  g_string_free (sql, TRUE);
  if (st == NULL)
    return NULL;
  if (outing_id)
    sqlite3_bind_text (st, col++, outing_id, -1, SQLITE_TRANSIENT);
  if (status)
    sqlite3_bind_text (st, col++, fk_case_status_name (*status), -1, SQLITE_STATIC);
  /* One read-only window for the whole listing, not one per record. */
  fk_vault_hold (self->vault);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, case_from_row (self, st));
  fk_vault_unhold (self->vault);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_error (self, sqlite3_extended_errcode (self->db), error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

GArray *
fk_store_find (FkStore     *self,
               const char  *id_number,
               GError     **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *norm = NULL;
  guint8 blind[32];
  sqlite3_stmt *st;
  int rc;

  if (!require_unlocked (self, error))
    return NULL;
  norm = fk_id_normalize (id_number ? id_number : "");
  if (*norm == '\0')
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("Give the ID number to look for."));
      return NULL;
    }
  fk_vault_blind_index (self->vault, norm, blind);
  sodium_memzero (norm, strlen (norm));
  st = cached (self, "SELECT id FROM cases WHERE blind = ? ORDER BY id", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_blob (st, 1, blind, sizeof blind, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (st, 0);

      g_array_append_val (out, id);
    }
  if (rc != SQLITE_DONE)
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  fk_sql_done (st);
  if (rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

/* ---- cases: validation ----------------------------------------------------- */

static const FkService *
lookup_service (FkStore     *self,
                const char  *service_id,
                GError     **error)
{
  const FkService *svc = fk_catalog_lookup (self->catalog, service_id ? service_id : "");

  if (svc == NULL)
    {
      GPtrArray *all = fk_catalog_services (self->catalog);
      g_autoptr(GString) known = g_string_new (NULL);

      for (guint i = 0; i < all->len; i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", ((FkService *) all->pdata[i])->id);
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                   _("Unknown service \"%s\". Use one of: %s."),
                   service_id ? service_id : "", known->str);
    }
  return svc;
}

/* Today's date where the device is.  Asking GLib for the local time costs
 * more than sealing a person record, and every new case asks ("birth date
 * not in the future"), so the date is kept for at most a minute and never
 * past the local midnight. */
static void
local_today (GDate *today)
{
  G_LOCK_DEFINE_STATIC (today);
  static GDate cached;
  static gint64 valid_from, valid_until;   /* µs since the epoch */
  gint64 now = g_get_real_time ();

  G_LOCK (today);
  if (now < valid_from || now >= valid_until)
    {
      g_autoptr(GDateTime) local = g_date_time_new_now_local ();
      gint64 left_s = 86400 - (g_date_time_get_hour (local) * 3600 +
                               g_date_time_get_minute (local) * 60 +
                               g_date_time_get_second (local));

      g_date_clear (&cached, 1);
      g_date_set_dmy (&cached, (GDateDay) g_date_time_get_day_of_month (local),
                      (GDateMonth) g_date_time_get_month (local), (GDateYear) g_date_time_get_year (local));
      valid_from = now;
      valid_until = now + MIN (left_s, 60) * G_USEC_PER_SEC;
    }
  *today = cached;
  G_UNLOCK (today);
}

/* Validates and normalizes one value for key on svc; core keys are the
 * person's ID number, name and birth date. */
static gboolean
normalize_value (const FkService  *svc,
                 const char       *key,
                 const char       *value,
                 char            **out,
                 GError          **error)
{
  g_autoptr(GError) local = NULL;

  *out = NULL;
  if (g_strcmp0 (key, "person_id") == 0)
    {
      if (fk_person_id_check (value, NULL, out, &local))
        return TRUE;
    }
  else if (g_strcmp0 (key, "name") == 0)
    {
      g_autofree char *trimmed = g_strstrip (g_strdup (value ? value : ""));

      if (*trimmed == '\0')
        g_set_error_literal (&local, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                             _("The name is empty: type the name as it appears on the household register."));
      else if (g_utf8_strlen (trimmed, -1) > 100 || !g_utf8_validate (trimmed, -1, NULL))
        g_set_error_literal (&local, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                             _("The name is longer than 100 characters."));
      else
        {
          *out = g_steal_pointer (&trimmed);
          return TRUE;
        }
    }
  else if (g_strcmp0 (key, "birth_date") == 0)
    {
      GDate d;

      if (fk_date_parse (value, &d, &local))
        {
          GDate today;

          local_today (&today);
          if (g_date_compare (&d, &today) > 0)
            g_set_error_literal (&local, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                                 _("The birth date is in the future."));
          else
            {
              *out = fk_date_to_iso (&d);
              return TRUE;
            }
        }
    }
  else
    {
      const FkField *field = fk_service_field (svc, key);

      if (field == NULL)
        {
          g_autoptr(GString) known = g_string_new ("name, person_id, birth_date");

          for (guint i = 0; i < svc->fields->len; i++)
            g_string_append_printf (known, ", %s", ((FkField *) svc->fields->pdata[i])->key);
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                       _("The service \"%s\" has no field \"%s\". Its fields are: %s."),
                       svc->id, key, known->str);
          return FALSE;
        }
      if (fk_field_validate (field, value, out, &local))
        return TRUE;
    }

  g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID, "%s: %s", key, local->message);
  return FALSE;
}

static int
age_today (const char *iso_birth)
{
  GDate birth, today;

  if (!fk_date_parse (iso_birth, &birth, NULL))
    return -1;
  local_today (&today);
  return fk_date_age_on (&birth, &today);
}

static gboolean
is_ticked (const FkCase *kase,
           const char   *item)
{
  return kase->ticked && g_strv_contains ((const char * const *) kase->ticked, item);
}

static const char *
label (const char *zh,
       const char *en)
{
  return fk_lang_is_zh () ? zh : en;
}

static gboolean
has_attachment (const FkCase *kase,
                const char   *kind)
{
  for (guint i = 0; kase->attachments && i < kase->attachments->len; i++)
    if (g_strcmp0 (((FkAttachmentInfo *) kase->attachments->pdata[i])->kind, kind) == 0)
      return TRUE;
  return FALSE;
}

static gint64 handed_over_in (FkStore *self, const char *card_number);

static GPtrArray *
case_problems (FkStore         *self,
               const FkCase    *kase,
               const FkService *svc)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  if (kase->damaged)
    {
      g_ptr_array_add (out, g_strdup (kase->damaged));
      return out;
    }
  if (kase->birth_date == NULL)
    g_ptr_array_add (out, g_strdup (_("birth date is missing")));
  for (guint i = 0; i < svc->fields->len; i++)
    {
      const FkField *f = svc->fields->pdata[i];

      if (f->required && g_hash_table_lookup (kase->fields, f->key) == NULL)
        g_ptr_array_add (out, g_strdup_printf (_("%s is missing"), label (f->label_zh, f->label_en)));
    }
  for (guint i = 0; i < svc->checklist->len; i++)
    {
      const FkChecklistItem *item = svc->checklist->pdata[i];

      if (item->required && !is_ticked (kase, item->id))
        g_ptr_array_add (out, g_strdup_printf (_("document not seen: %s"),
                                               label (item->label_zh, item->label_en)));
    }
  if (kase->birth_date && (svc->age_min >= 0 || svc->age_max >= 0))
    {
      int age = age_today (kase->birth_date);

      if ((svc->age_min >= 0 && age < svc->age_min) || (svc->age_max >= 0 && age > svc->age_max))
        g_ptr_array_add (out, g_strdup_printf (_("age %d is outside what %s allows (%d–%d)"),
                                               age, fk_service_name (svc), svc->age_min, svc->age_max));
    }
  if (svc->signature_required && !has_attachment (kase, "signature"))
    g_ptr_array_add (out, g_strdup (_("the receiver has not signed yet")));
  /* A value the office sent ahead ("expected_…", e.g. the card number on a
   * hand-over list) must match what the clerk records. */
  for (guint i = 0; i < svc->fields->len; i++)
    {
      const FkField *f = svc->fields->pdata[i];
      g_autofree char *expected_key = g_strconcat ("expected_", f->key, NULL);
      const char *expected = g_hash_table_lookup (kase->fields, expected_key);
      const char *value = g_hash_table_lookup (kase->fields, f->key);

      if (expected && value && g_ascii_strcasecmp (expected, value) != 0)
        g_ptr_array_add (out, g_strdup_printf (_("%s is not the one on the office's list: check the card"),
                                               label (f->label_zh, f->label_en)));
    }
  if (g_strcmp0 (svc->id, "card_handover") == 0 && g_hash_table_lookup (kase->fields, "card_number"))
    {
      gint64 other = handed_over_in (self, g_hash_table_lookup (kase->fields, "card_number"));

      if (other > 0 && other != kase->id)
        g_ptr_array_add (out, g_strdup_printf (_("this card was already handed over (case %" PRId64 ")"), other));
    }
  return out;
}

/* ---- cases: writing -------------------------------------------------------- */

static char *
case_detail (const FkCase *kase,
             const void   *blob,
             gsize         blob_len)
{
  g_autofree char *digest = blob ? blob_digest_hex (blob, blob_len) : g_strdup ("");

  return g_strdup_printf ("{\"id\":%" G_GINT64_FORMAT ",\"service\":\"%s\",\"status\":\"%s\","
                          "\"version\":%" G_GUINT64_FORMAT ",\"blob\":\"%s\"}",
                          kase->id, kase->service, fk_case_status_name (kase->status),
                          kase->version, digest);
}

/* Writes the whole mutable state of a case (person record re-sealed under
 * the new version) and its audit entry, inside the caller's transaction. */
static gboolean
write_case (FkStore     *self,
            FkCase      *kase,
            const char  *action,
            GError     **error)
{
  g_autofree char *json = person_to_json (kase);
  g_autofree char *ticked = ticked_to_json ((const char * const *) kase->ticked);
  g_autofree char *detail = NULL;
  g_autoptr(GBytes) sealed = NULL;
  guint8 blind[32];
  sqlite3_stmt *st;

  sealed = fk_vault_seal_record (self->vault, "cases", kase->uuid, "person", kase->version,
                                 (const guint8 *) json, strlen (json), error);
  sodium_memzero (json, strlen (json));
  if (sealed == NULL)
    return FALSE;
  fk_vault_blind_index (self->vault, kase->person_id, blind);
  kase->updated_at = g_get_real_time ();

  st = cached (self,
               "INSERT INTO cases (id, uuid, outing_id, service, status, version, receipt_no, supersedes,"
               " blind, person, ticked, created_by, checked_by, approved_by, sealed_by,"
               " created_at, updated_at, sealed_at)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
               " ON CONFLICT (id) DO UPDATE SET status = ?5, version = ?6, receipt_no = ?7,"
               " blind = ?9, person = ?10, ticked = ?11, checked_by = ?13, approved_by = ?14,"
               " sealed_by = ?15, updated_at = ?17, sealed_at = ?18", error);
  if (st == NULL)
    return FALSE;
  if (kase->id > 0)
    sqlite3_bind_int64 (st, 1, kase->id);
  else
    sqlite3_bind_null (st, 1);
  sqlite3_bind_text (st, 2, kase->uuid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 3, kase->outing_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 4, kase->service, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, fk_case_status_name (kase->status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 6, (gint64) kase->version);
  if (kase->receipt_no)
    sqlite3_bind_text (st, 7, kase->receipt_no, -1, SQLITE_TRANSIENT);
  if (kase->supersedes > 0)
    sqlite3_bind_int64 (st, 8, kase->supersedes);
  sqlite3_bind_blob (st, 9, blind, sizeof blind, SQLITE_TRANSIENT);
  sqlite3_bind_blob (st, 10, g_bytes_get_data (sealed, NULL), (int) g_bytes_get_size (sealed), SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 11, ticked, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 12, kase->created_by, -1, SQLITE_TRANSIENT);
  if (kase->checked_by)
    sqlite3_bind_text (st, 13, kase->checked_by, -1, SQLITE_TRANSIENT);
  if (kase->approved_by)
    sqlite3_bind_text (st, 14, kase->approved_by, -1, SQLITE_TRANSIENT);
  if (kase->sealed_by)
    sqlite3_bind_text (st, 15, kase->sealed_by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 16, kase->created_at);
  sqlite3_bind_int64 (st, 17, kase->updated_at);
  if (kase->sealed_at)
    sqlite3_bind_int64 (st, 18, kase->sealed_at);
  if (!step_cached (self, st, error))
    return FALSE;
  if (kase->id <= 0)
    kase->id = sqlite3_last_insert_rowid (self->db);

  detail = case_detail (kase, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  return audit (self, action, kase->uuid, detail, error);
}

static gboolean
add_attachment (FkStore     *self,
                gint64       case_id,
                const char  *kind,
                const char  *mime,
                GBytes      *data,
                GError     **error)
{
  g_autoptr(FkSecret) key = fk_secret_new_random ();
  g_autoptr(GBytes) cipher = NULL;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *detail = NULL;
  sqlite3_stmt *st;

  if (g_bytes_get_size (data) > 20 * 1024 * 1024)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The file is larger than 20 MiB; use a smaller photo or scan."));
      return FALSE;
    }
  cipher = fk_stream_encrypt_bytes (key, data, error);
  if (cipher == NULL)
    return FALSE;
  st = prepare (self,
                "INSERT INTO attachments (uuid, case_id, kind, mime, size, key, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, uuid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, case_id);
  sqlite3_bind_text (st, 3, kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 4, mime ? mime : "application/octet-stream", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 5, (gint64) g_bytes_get_size (data));
  {
    g_autoptr(GBytes) sealed_key = fk_vault_seal_record (self->vault, "attachments", uuid, "key", 1,
                                                         fk_secret_bytes (key), fk_secret_len (key), error);

    if (sealed_key == NULL)
      {
        sqlite3_finalize (st);
        return FALSE;
      }
    sqlite3_bind_blob (st, 6, g_bytes_get_data (sealed_key, NULL), (int) g_bytes_get_size (sealed_key), SQLITE_TRANSIENT);
  }
  sqlite3_bind_blob (st, 7, g_bytes_get_data (cipher, NULL), (int) g_bytes_get_size (cipher), SQLITE_TRANSIENT);
  if (!step_done (self, st, error))
    return FALSE;
  detail = g_strdup_printf ("{\"case\":%" G_GINT64_FORMAT ",\"kind\":\"%s\",\"size\":%" G_GSIZE_FORMAT "}",
                            case_id, kind, g_bytes_get_size (data));
  return audit (self, "attachment.add", uuid, detail, error);
}

static gboolean check_safety_limits (FkStore *self, GError **error);

/* Makes a case from INPUT and writes it as a draft, with ACTION in the
 * audit log; SUPERSEDES (or 0) is the returned case it corrects. */
static gint64
create_case (FkStore            *self,
             const FkCaseInput  *input,
             gint64              supersedes,
             const char         *action,
             GError            **error)
{
  g_autoptr(FkCase) kase = NULL;
  g_autofree char *outing_id = NULL;
  const FkService *svc;

  if (!require_unlocked (self, error) || !check_safety_limits (self, error))
    return 0;
  svc = lookup_service (self, input->service, error);
  if (svc == NULL)
    return 0;
  outing_id = outing_resolve (self, input->outing_id, error);
  if (outing_id == NULL)
    return 0;

  kase = g_new0 (FkCase, 1);
  kase->uuid = g_uuid_string_random ();
  kase->outing_id = g_steal_pointer (&outing_id);
  kase->service = g_strdup (svc->id);
  kase->status = FK_CASE_DRAFT;
  kase->version = 1;
  kase->supersedes = supersedes;
  kase->created_by = g_strdup (self->operator_id);
  kase->created_at = g_get_real_time ();
  kase->ticked = g_new0 (char *, 1);
  kase->fields = new_fields_table ();

  if (!normalize_value (svc, "person_id", input->person_id, &kase->person_id, error) ||
      !normalize_value (svc, "name", input->name, &kase->name, error))
    return 0;
  if (input->birth_date && *input->birth_date &&
      !normalize_value (svc, "birth_date", input->birth_date, &kase->birth_date, error))
    return 0;
  if (input->fields)
    {
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, input->fields);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          char *norm = NULL;

          if (!normalize_value (svc, k, v, &norm, error))
            return 0;
          if (g_strcmp0 (k, "name") == 0 || g_strcmp0 (k, "person_id") == 0 || g_strcmp0 (k, "birth_date") == 0)
            {
              fk_wipe_free (norm);
              g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("\"%s\" is given with its own option, not as a --field."),
                           (const char *) k);
              return 0;
            }
          g_hash_table_insert (kase->fields, g_strdup (k), norm);
        }
    }

  if (!begin (self, error))
    return 0;
  if (!write_case (self, kase, action, error) ||
      (input->photo && !add_attachment (self, kase->id, "photo", input->photo_mime, input->photo, error)) ||
      (input->signature && !add_attachment (self, kase->id, "signature", input->signature_mime, input->signature, error)) ||
      !commit (self, error))
    {
      rollback (self);
      return 0;
    }
  return kase->id;
}

gint64
fk_store_case_new (FkStore            *self,
                   const FkCaseInput  *input,
                   GError            **error)
{
  return create_case (self, input, 0, "case.new", error);
}

/* Loads a case for changing: unlocked, found, opened, and still editable. */
static FkCase *
load_mutable (FkStore     *self,
              gint64       case_id,
              GError     **error)
{
  g_autoptr(FkCase) kase = NULL;

  if (!require_unlocked (self, error))
    return NULL;
  kase = load_case (self, case_id, error);
  if (kase == NULL)
    return NULL;
  if (kase->status >= FK_CASE_SEALED)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " is %s and can no longer be changed. "
                         "If it is wrong, the office returns it and you correct it as a new version."),
                   kase->id, fk_case_status_label (kase->status));
      return NULL;
    }
  if (kase->damaged)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED, kase->damaged);
      return NULL;
    }
  return g_steal_pointer (&kase);
}

/* Any edit after a check voids that check: the case goes back to draft. */
static void
void_checks (FkCase *kase)
{
  kase->status = FK_CASE_DRAFT;
  g_clear_pointer (&kase->checked_by, g_free);
  g_clear_pointer (&kase->approved_by, g_free);
}

gboolean
fk_store_case_set_field (FkStore     *self,
                         gint64       case_id,
                         const char  *key,
                         const char  *value,
                         GError     **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);
  const FkService *svc;
  char *norm = NULL;

  if (kase == NULL)
    return FALSE;
  svc = lookup_service (self, kase->service, error);
  if (svc == NULL)
    return FALSE;
  if (value == NULL || *value == '\0')
    {
      if (g_strcmp0 (key, "name") == 0 || g_strcmp0 (key, "person_id") == 0)
        {
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                       _("\"%s\" cannot be emptied."), key);
          return FALSE;
        }
      if (g_strcmp0 (key, "birth_date") == 0)
        g_clear_pointer (&kase->birth_date, fk_wipe_free);
      else if (fk_service_field (svc, key) != NULL)
        g_hash_table_remove (kase->fields, key);
      else
        return normalize_value (svc, key, "", &norm, error);
    }
  else
    {
      if (!normalize_value (svc, key, value, &norm, error))
        return FALSE;
      if (g_strcmp0 (key, "name") == 0)
        fk_wipe_free (g_steal_pointer (&kase->name)), kase->name = norm;
      else if (g_strcmp0 (key, "person_id") == 0)
        fk_wipe_free (g_steal_pointer (&kase->person_id)), kase->person_id = norm;
      else if (g_strcmp0 (key, "birth_date") == 0)
        fk_wipe_free (g_steal_pointer (&kase->birth_date)), kase->birth_date = norm;
      else
        g_hash_table_insert (kase->fields, g_strdup (key), norm);
    }

  void_checks (kase);
  kase->version++;
  if (!begin (self, error))
    return FALSE;
  if (!write_case (self, kase, "case.edit", error) || !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

gboolean
fk_store_case_attach (FkStore     *self,
                      gint64       case_id,
                      const char  *kind,
                      const char  *mime,
                      GBytes      *data,
                      GError     **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);
  sqlite3_stmt *st;

  if (kase == NULL)
    return FALSE;
  /* guardian_signature: a card hand-over signed by the student and, when
   * present, the guardian too. */
  if (g_strcmp0 (kind, "photo") != 0 && g_strcmp0 (kind, "signature") != 0 &&
      g_strcmp0 (kind, "guardian_signature") != 0)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                   _("Unknown attachment kind \"%s\": use photo, signature or guardian_signature."),
                   kind ? kind : "");
      return FALSE;
    }
  void_checks (kase);
  kase->version++;
  if (!begin (self, error))
    return FALSE;
  st = prepare (self, "DELETE FROM attachments WHERE case_id = ? AND kind = ?", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, case_id);
  sqlite3_bind_text (st, 2, kind, -1, SQLITE_TRANSIENT);
  if (!step_done (self, st, error) ||
      !add_attachment (self, case_id, kind, mime, data, error) ||
      !write_case (self, kase, "case.attach", error) ||
      !commit (self, error))
    goto fail;
  return TRUE;

fail:
  rollback (self);
  return FALSE;
}

gboolean
fk_store_case_tick (FkStore            *self,
                    gint64              case_id,
                    const char * const *items,
                    gboolean            all,
                    GError            **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);
  g_autoptr(GStrvBuilder) b = NULL;
  const FkService *svc;

  if (kase == NULL)
    return FALSE;
  svc = lookup_service (self, kase->service, error);
  if (svc == NULL)
    return FALSE;

  b = g_strv_builder_new ();
  g_strv_builder_addv (b, (const char **) kase->ticked);
  for (guint i = 0; i < svc->checklist->len; i++)
    {
      const FkChecklistItem *item = svc->checklist->pdata[i];

      if (all && !is_ticked (kase, item->id))
        g_strv_builder_add (b, item->id);
    }
  for (guint i = 0; !all && items && items[i]; i++)
    {
      if (fk_service_checklist_item (svc, items[i]) == NULL)
        {
          g_autoptr(GString) known = g_string_new (NULL);

          for (guint j = 0; j < svc->checklist->len; j++)
            g_string_append_printf (known, "%s%s", j ? ", " : "", ((FkChecklistItem *) svc->checklist->pdata[j])->id);
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                       _("\"%s\" is not on the checklist of %s. Its items are: %s."),
                       items[i], fk_service_name (svc), known->str);
          return FALSE;
        }
      if (!is_ticked (kase, items[i]))
        g_strv_builder_add (b, items[i]);
    }
  g_strfreev (kase->ticked);
  kase->ticked = g_strv_builder_end (b);
  void_checks (kase);
  kase->version++;
  if (!begin (self, error))
    return FALSE;
  if (!write_case (self, kase, "case.tick", error) || !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
fk_store_case_problems (FkStore  *self,
                        gint64    case_id,
                        GError  **error)
{
  g_autoptr(FkCase) kase = NULL;
  const FkService *svc;

  if (!require_unlocked (self, error))
    return NULL;
  kase = load_case (self, case_id, error);
  if (kase == NULL)
    return NULL;
  svc = lookup_service (self, kase->service, error);
  if (svc == NULL)
    return NULL;
  return case_problems (self, kase, svc);
}

gboolean
fk_store_case_check (FkStore  *self,
                     gint64    case_id,
                     GError  **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);
  g_autoptr(GPtrArray) problems = NULL;
  const FkService *svc;

  if (kase == NULL)
    return FALSE;
  svc = lookup_service (self, kase->service, error);
  if (svc == NULL)
    return FALSE;
  if (kase->status != FK_CASE_DRAFT)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " is already %s."),
                   kase->id, fk_case_status_label (kase->status));
      return FALSE;
    }
  problems = case_problems (self, kase, svc);
  if (problems->len > 0)
    {
      g_autoptr(GString) s = g_string_new (NULL);

      for (guint i = 0; i < problems->len; i++)
        g_string_append_printf (s, "\n  - %s", (const char *) problems->pdata[i]);
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " is not complete yet:%s"),
                   kase->id, s->str);
      return FALSE;
    }
  kase->status = FK_CASE_CHECKED;
  g_free (kase->checked_by);
  kase->checked_by = g_strdup (self->operator_id);
  if (!begin (self, error))
    return FALSE;
  if (!write_case (self, kase, "case.check", error) || !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
approve_by (FkStore     *self,
            gint64       case_id,
            const char  *approver,
            GError     **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);

  if (kase == NULL)
    return FALSE;
  if (kase->status != FK_CASE_CHECKED)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   kase->status == FK_CASE_DRAFT
                   ? _("Case %" PRId64 " has not passed its self-check yet: run \"case check\" first.")
                   : _("Case %" PRId64 " has already had its second check."),
                   kase->id);
      return FALSE;
    }
  if (g_strcmp0 (kase->checked_by, approver) == 0)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("The second check must be done by someone other than %s, who did the self-check. "
                         "Ask a colleague or supervisor to sign in for it."),
                   kase->checked_by);
      return FALSE;
    }
  kase->status = FK_CASE_APPROVED;
  kase->approved_by = g_strdup (approver);
  if (!begin (self, error))
    return FALSE;
  {
    g_autofree char *acting = self->operator_id;

    /* The audit entry names the approver, not the session owner. */
    self->operator_id = g_strdup (approver);
    if (!write_case (self, kase, "case.approve", error))
      {
        g_free (self->operator_id);
        self->operator_id = g_steal_pointer (&acting);
        rollback (self);
        return FALSE;
      }
    g_free (self->operator_id);
    self->operator_id = g_steal_pointer (&acting);
  }
  if (!commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

gboolean
fk_store_case_approve (FkStore  *self,
                       gint64    case_id,
                       GError  **error)
{
  if (!require_unlocked (self, error))
    return FALSE;
  return approve_by (self, case_id, self->operator_id, error);
}

gboolean
fk_store_case_approve_as (FkStore     *self,
                          gint64       case_id,
                          const char  *operator_id,
                          const char  *passphrase,
                          GError     **error)
{
  if (!require_unlocked (self, error) ||
      !fk_store_verify_operator (self, operator_id, passphrase, error))
    return FALSE;
  return approve_by (self, case_id, operator_id, error);
}

/* Next receipt number for today: office code, device number, ROC date and a
 * per-day sequence.  The counter only moves forward, in the same
 * transaction as the seal, so a number is never given twice. */
static char *
next_receipt_no (FkStore  *self,
                 GError  **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *day = g_strdup_printf ("%03d%02d%02d", g_date_time_get_year (now) - 1911,
                                          g_date_time_get_month (now), g_date_time_get_day_of_month (now));
  sqlite3_stmt *st;
  gint64 seq = 0;

  st = prepare (self,
                "INSERT INTO receipt_seq (day, last) VALUES (?1, 1)"
                " ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_text (st, 1, day, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    seq = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (seq <= 0)
    {
      sql_error (self, sqlite3_extended_errcode (self->db), error);
      return NULL;
    }
  return g_strdup_printf ("%s-%02u-%s-%04" G_GINT64_FORMAT, self->office_code, self->device_number, day, seq);
}

static gboolean outbox_add (FkStore *self, gint64 case_id, GError **error);
static gboolean mark_handed_over (FkStore *self, const FkCase *kase, GError **error);

gboolean
fk_store_case_finalize (FkStore  *self,
                        gint64    case_id,
                        char    **receipt_no,
                        GError  **error)
{
  g_autoptr(FkCase) kase = load_mutable (self, case_id, error);
  const FkService *svc;

  if (kase == NULL)
    return FALSE;
  svc = lookup_service (self, kase->service, error);
  if (svc == NULL)
    return FALSE;
  if (kase->status == FK_CASE_DRAFT)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " has not passed its self-check yet: run \"case check\" first."),
                   kase->id);
      return FALSE;
    }
  if (kase->status == FK_CASE_CHECKED && svc->second_check)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("%s needs a second check by another operator before it is sealed (\"case approve\")."),
                   fk_service_name (svc));
      return FALSE;
    }
  if (!begin (self, error))
    return FALSE;
  kase->receipt_no = next_receipt_no (self, error);
  if (kase->receipt_no == NULL)
    {
      rollback (self);
      return FALSE;
    }
  kase->status = FK_CASE_SEALED;
  kase->sealed_by = g_strdup (self->operator_id);
  kase->sealed_at = g_get_real_time ();
  /* The packet for the office and its outbox row are written in the same
   * transaction as the seal: a sealed case is never without its packet. */
  if (!write_case (self, kase, "case.seal", error) ||
      !mark_handed_over (self, kase, error) ||
      !outbox_add (self, kase->id, error) ||
      !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  if (receipt_no)
    *receipt_no = g_strdup (kase->receipt_no);
  return TRUE;
}

GBytes *
fk_store_attachment_get (FkStore  *self,
                         gint64    attachment_id,
                         GError  **error)
{
  sqlite3_stmt *st;
  GBytes *out = NULL;
  int rc;

  if (!require_unlocked (self, error))
    return NULL;
  st = prepare (self, "SELECT uuid, key, data FROM attachments WHERE id = ?", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, attachment_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW && sqlite3_column_type (st, 2) != SQLITE_NULL)
    {
      const char *uuid = (const char *) sqlite3_column_text (st, 0);
      g_autoptr(GBytes) key = fk_vault_open_record (self->vault, "attachments", uuid, "key", 1,
                                                    sqlite3_column_blob (st, 1), sqlite3_column_bytes (st, 1), error);

      if (key != NULL)
        {
          g_autoptr(FkSecret) secret = fk_secret_new_from (g_bytes_get_data (key, NULL), g_bytes_get_size (key));
          g_autoptr(GBytes) cipher = g_bytes_new (sqlite3_column_blob (st, 2), sqlite3_column_bytes (st, 2));

          out = fk_stream_decrypt_bytes (secret, cipher, error);
        }
      if (out == NULL)
        {
          g_clear_error (error);
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED,
                       _("Attachment %" PRId64 " is damaged or was altered and cannot be opened."),
                       attachment_id);
        }
    }
  else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("There is no attachment %" PRId64 "."), attachment_id);
  else
    sql_error (self, sqlite3_extended_errcode (self->db), error);
  sqlite3_finalize (st);
  return out;
}

/* ---- verification ----------------------------------------------------------- */

static void
add_damage (GPtrArray  *out,
            char       *where,
            const char *reason)
{
  FkDamage *d = g_new0 (FkDamage, 1);

  d->where = where;
  d->reason = g_strdup (reason);
  g_ptr_array_add (out, d);
}

/* The last version and ciphertext digest the audit log recorded per case. */
static GHashTable *
audited_case_states (FkStore  *self,
                     GError  **error)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sqlite3_stmt *st = prepare (self,
                              "SELECT subject, detail FROM audit WHERE seq IN"
                              " (SELECT MAX (seq) FROM audit WHERE action LIKE 'case.%' GROUP BY subject)",
                              error);
  int rc;

  if (st == NULL)
    {
      g_hash_table_unref (out);
      return NULL;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_hash_table_insert (out, col_strdup (st, 0), col_strdup (st, 1));
  sqlite3_finalize (st);
  return out;
}

GPtrArray *
fk_store_verify_records (FkStore  *self,
                         GError  **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_damage_free);
  g_autoptr(GHashTable) audited = NULL;
  g_autoptr(GHashTable) attached = NULL;
  const char *damaged = _("its encrypted data does not verify: damaged or altered");
  sqlite3_stmt *st;

  if (!require_unlocked (self, error))
    return NULL;
  audited = audited_case_states (self, error);
  if (audited == NULL)
    return NULL;

  st = prepare (self, "SELECT id, name FROM operators", error);
  if (st == NULL)
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      g_autofree char *id = col_strdup (st, 0);
      g_autofree char *name = NULL;

      if (!open_sealed_text (self, st, 1, "operators", id, "name", 1, &name, NULL))
        add_damage (out, g_strdup_printf (_("operator %s"), id), damaged);
      fk_wipe_free (g_steal_pointer (&name));
    }
  sqlite3_finalize (st);

  st = prepare (self, "SELECT id, title, place FROM outings", error);
  if (st == NULL)
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      g_autofree char *id = col_strdup (st, 0);
      g_autofree char *a = NULL;
      g_autofree char *b = NULL;

      if (!open_sealed_text (self, st, 1, "outings", id, "title", 1, &a, NULL) ||
          !open_sealed_text (self, st, 2, "outings", id, "place", 1, &b, NULL))
        add_damage (out, g_strdup_printf (_("outing %s"), id), damaged);
    }
  sqlite3_finalize (st);

  st = prepare (self, "SELECT id, uuid, version, person FROM cases ORDER BY id", error);
  if (st == NULL)
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (st, 0);
      const char *uuid = (const char *) sqlite3_column_text (st, 1);
      guint64 version = (guint64) sqlite3_column_int64 (st, 2);
      const char *detail = g_hash_table_lookup (audited, uuid);
      g_autoptr(GBytes) plain = NULL;
      g_autofree char *digest = NULL;
      g_autofree char *expect = NULL;

      if (sqlite3_column_type (st, 3) != SQLITE_NULL)
        {
          plain = fk_vault_open_record (self->vault, "cases", uuid, "person", version,
                                        sqlite3_column_blob (st, 3), sqlite3_column_bytes (st, 3), NULL);
          if (plain == NULL)
            {
              add_damage (out, g_strdup_printf (_("case %" PRId64), id), damaged);
              continue;
            }
          digest = blob_digest_hex (sqlite3_column_blob (st, 3), (gsize) sqlite3_column_bytes (st, 3));
        }
      expect = g_strdup_printf ("\"version\":%" G_GUINT64_FORMAT ",\"blob\":\"%s\"", version, digest ? digest : "");
      if (detail == NULL || strstr (detail, expect) == NULL)
        add_damage (out, g_strdup_printf (_("case %" PRId64), id),
                    _("it is not the version the audit log last recorded (an older copy was put back, or it was changed outside FieldKit)"));
    }
  sqlite3_finalize (st);

  /* An attachment's key is bound to the attachment, not to its case, so a
   * photo moved to another case by hand still opens; the audit log says
   * which case it was added to and how big it was. */
  attached = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st = prepare (self, "SELECT subject, detail FROM audit WHERE action = 'attachment.add'", error);
  if (st == NULL)
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    g_hash_table_insert (attached, col_strdup (st, 0), col_strdup (st, 1));
  sqlite3_finalize (st);

  st = prepare (self, "SELECT id, uuid, case_id FROM attachments WHERE data IS NOT NULL ORDER BY id", error);
  if (st == NULL)
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (st, 0);
      const char *detail = g_hash_table_lookup (attached, (const char *) sqlite3_column_text (st, 1));
      g_autoptr(GBytes) data = fk_store_attachment_get (self, id, NULL);
      g_autofree char *where = g_strdup_printf (_("attachment %" PRId64), id);
      g_autofree char *expect_case = g_strdup_printf ("{\"case\":%" G_GINT64_FORMAT ",", (gint64) sqlite3_column_int64 (st, 2));
      g_autofree char *expect_size = data ? g_strdup_printf (",\"size\":%" G_GSIZE_FORMAT "}", g_bytes_get_size (data)) : NULL;

      if (data == NULL)
        add_damage (out, g_steal_pointer (&where), damaged);
      else if (detail == NULL || !g_str_has_prefix (detail, expect_case) || !g_str_has_suffix (detail, expect_size))
        add_damage (out, g_steal_pointer (&where),
                    _("it is not the attachment the audit log recorded for this case (moved from another case, or changed outside FieldKit)"));
    }
  sqlite3_finalize (st);
  return g_steal_pointer (&out);
}

/* ---- settings ----------------------------------------------------------------- */

char *
fk_store_get_setting (FkStore    *self,
                      const char *key)
{
  sqlite3_stmt *st = cached (self, "SELECT value FROM settings WHERE key = ?", NULL);
  char *out = NULL;

  if (st == NULL)
    return NULL;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    out = col_strdup (st, 0);
  fk_sql_done (st);
  return out;
}

static gboolean
set_setting (FkStore     *self,
             const char  *key,
             const char  *value,
             GError     **error)
{
  sqlite3_stmt *st = prepare (self, "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, value, -1, SQLITE_TRANSIENT);
  return step_done (self, st, error);
}

gboolean
fk_store_set_setting (FkStore     *self,
                      const char  *key,
                      const char  *value,
                      GError     **error)
{
  if (!begin (self, error))
    return FALSE;
  if (!set_setting (self, key, value, error) || !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

static gint64
setting_int (FkStore    *self,
             const char *key,
             gint64      fallback)
{
  g_autofree char *v = fk_store_get_setting (self, key);

  return v ? g_ascii_strtoll (v, NULL, 10) : fallback;
}

/* ---- the office connection ---------------------------------------------------- */

void
fk_office_info_clear (FkOfficeInfo *info)
{
  g_clear_pointer (&info->url, g_free);
  g_clear_pointer (&info->key_id, g_free);
  g_clear_pointer (&info->device_id, g_free);
  g_clear_pointer (&info->office_code, g_free);
  g_clear_pointer (&info->tls_pin, g_free);
}

gboolean
fk_store_office (FkStore      *self,
                 FkOfficeInfo *out)
{
  g_autoptr(GBytes) sign = meta_get (self, "office_sign_pk");
  g_autoptr(GBytes) box = meta_get (self, "office_box_pk");

  memset (out, 0, sizeof *out);
  if (sign == NULL || box == NULL || g_bytes_get_size (sign) != 32 || g_bytes_get_size (box) != 32)
    return FALSE;
  memcpy (out->sign_pk, g_bytes_get_data (sign, NULL), 32);
  memcpy (out->box_pk, g_bytes_get_data (box, NULL), 32);
  out->url = meta_get_string (self, "office_url");
  out->key_id = meta_get_string (self, "office_key_id");
  out->device_id = meta_get_string (self, "device_id");
  out->tls_pin = meta_get_string (self, "office_tls_pin");
  out->office_code = g_strdup (self->office_code);
  out->device_number = self->device_number;
  return TRUE;
}

gboolean
fk_store_is_enrolled (FkStore *self)
{
  FkOfficeInfo info;
  gboolean ok = fk_store_office (self, &info);

  fk_office_info_clear (&info);
  return ok;
}

/* The whole case as the office receives it (PROTOCOL §4.4), and the
 * attachments' bytes in the listed order. */
static char *
case_payload_json (FkStore      *self,
                   const FkCase *kase,
                   GPtrArray    *attachments,
                   GError      **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(FkOuting) outing = fk_store_outing_get (self, kase->outing_id, error);
  g_autoptr(GList) keys = NULL;
  g_autofree char *supersedes = NULL;

  if (outing == NULL)
    return NULL;
  if (kase->supersedes > 0)
    {
      g_autoptr(FkCase) old = load_case (self, kase->supersedes, NULL);

      supersedes = old ? g_strdup (old->uuid) : NULL;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "case");
  json_builder_begin_object (b);
#define STR(k, v) do { json_builder_set_member_name (b, k); if (v) json_builder_add_string_value (b, v); else json_builder_add_null_value (b); } while (0)
#define INT(k, v) do { json_builder_set_member_name (b, k); json_builder_add_int_value (b, v); } while (0)
  STR ("uuid", kase->uuid);
  INT ("version", (gint64) kase->version);
  STR ("service", kase->service);
  STR ("receipt_no", kase->receipt_no);
  STR ("supersedes", supersedes);
  json_builder_set_member_name (b, "outing");
  json_builder_begin_object (b);
  STR ("id", outing->id);
  STR ("kind", outing->kind);
  STR ("date", outing->date);
  STR ("title", outing->title);
  STR ("place", outing->place);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "person");
  json_builder_begin_object (b);
  STR ("person_id", kase->person_id);
  STR ("name", kase->name);
  STR ("birth_date", kase->birth_date);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
  keys = g_list_sort (g_hash_table_get_keys (kase->fields), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    STR (l->data, g_hash_table_lookup (kase->fields, l->data));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "ticked");
  json_builder_begin_array (b);
  for (guint i = 0; kase->ticked && kase->ticked[i]; i++)
    json_builder_add_string_value (b, kase->ticked[i]);
  json_builder_end_array (b);
  STR ("created_by", kase->created_by);
  STR ("checked_by", kase->checked_by);
  STR ("approved_by", kase->approved_by);
  STR ("sealed_by", kase->sealed_by);
  INT ("created_at", kase->created_at);
  INT ("sealed_at", kase->sealed_at);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "attachments");
  json_builder_begin_array (b);
  for (guint i = 0; i < kase->attachments->len; i++)
    {
      FkAttachmentInfo *info = kase->attachments->pdata[i];
      GBytes *data = fk_store_attachment_get (self, info->id, error);
      guint8 h[32];
      g_autofree char *hex = NULL;

      if (data == NULL)
        return NULL;
      fk_hash (g_bytes_get_data (data, NULL), g_bytes_get_size (data), h);
      hex = fk_hex_encode (h, 32);
      json_builder_begin_object (b);
      STR ("kind", info->kind);
      STR ("mime", info->mime);
      INT ("size", (gint64) g_bytes_get_size (data));
      STR ("hash", hex);
      json_builder_end_object (b);
      g_ptr_array_add (attachments, data);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
#undef STR
#undef INT
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static char *
iso_time (gint64 us)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);

  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ");
}

/* Builds the packet of a sealed case into its outbox row (inside the
 * caller's transaction). */
static gboolean
build_packet (FkStore      *self,
              gint64        case_id,
              const char   *packet_id,
              GError      **error)
{
  g_autoptr(FkCase) kase = load_case (self, case_id, error);
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(JsonObject) manifest = json_object_new ();
  g_autoptr(GBytes) packet = NULL;
  g_autoptr(FkOuting) outing = NULL;
  g_autofree char *json = NULL;
  g_autofree char *sealed_at = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *supersedes = NULL;
  g_autofree char *supersedes_receipt = NULL;
  FkOfficeInfo office;
  gint64 seq;
  sqlite3_stmt *st;
  gboolean ok;

  if (kase == NULL)
    return FALSE;
  if (kase->damaged)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED, kase->damaged);
      return FALSE;
    }
  if (!fk_store_office (self, &office))
    return TRUE;  /* not enrolled yet: built at enrolment */
  outing = fk_store_outing_get (self, kase->outing_id, error);
  json = outing ? case_payload_json (self, kase, attachments, error) : NULL;
  if (json == NULL)
    {
      fk_office_info_clear (&office);
      return FALSE;
    }
  if (kase->supersedes > 0)
    {
      g_autoptr(FkCase) old = load_case (self, kase->supersedes, NULL);

      supersedes = old ? g_strdup (old->uuid) : NULL;
      supersedes_receipt = old ? g_strdup (old->receipt_no) : NULL;
    }
  seq = setting_int (self, "device_seq", 0) + 1;
  sealed_at = iso_time (kase->sealed_at);
  json_object_set_string_member (manifest, "type", "case");
  json_object_set_string_member (manifest, "case_uuid", kase->uuid);
  json_object_set_int_member (manifest, "case_version", (gint64) kase->version);
  if (supersedes)
    json_object_set_string_member (manifest, "supersedes", supersedes);
  else
    json_object_set_null_member (manifest, "supersedes");
  /* So the office finds the returned case by its receipt number, which it
   * keeps an index of (PROTOCOL §4.2). */
  if (supersedes && supersedes_receipt)
    json_object_set_string_member (manifest, "supersedes_receipt", supersedes_receipt);
  json_object_set_string_member (manifest, "receipt_no", kase->receipt_no);
  json_object_set_string_member (manifest, "service", kase->service);
  json_object_set_string_member (manifest, "outing_kind", outing->kind);
  /* Which outing, so the office's inbox can group by it without opening
   * the packet: its id on this device and its date, never its title or
   * place (a clerk may write a name or an address there). */
  json_object_set_string_member (manifest, "outing_id", outing->id);
  json_object_set_string_member (manifest, "outing_date", outing->date);
  json_object_set_string_member (manifest, "sealed_at", sealed_at);
  packet = fk_packet_build (self->identity, packet_id, seq, office.box_pk, office.key_id,
                            manifest, json, attachments, error);
  sodium_memzero (json, strlen (json));
  fk_office_info_clear (&office);
  if (packet == NULL)
    return FALSE;
  hash = fk_packet_hash_hex (packet);
  {
    g_autofree char *seq_text = g_strdup_printf ("%" G_GINT64_FORMAT, seq);

    if (!set_setting (self, "device_seq", seq_text, error))
      return FALSE;
  }
  st = cached (self, "UPDATE outbox SET packet_hash = ?, size = ?, device_seq = ? WHERE packet_id = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, (gint64) g_bytes_get_size (packet));
  sqlite3_bind_int64 (st, 3, seq);
  sqlite3_bind_text (st, 4, packet_id, -1, SQLITE_TRANSIENT);
  ok = step_cached (self, st, error);
  if (ok)
    {
      st = cached (self, "INSERT INTO outbox_packets (packet_id, packet) VALUES (?, ?)", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob64 (st, 2, g_bytes_get_data (packet, NULL), g_bytes_get_size (packet), SQLITE_STATIC);
      ok = step_cached (self, st, error);
    }
  if (ok)
    {
      g_autofree char *detail = g_strdup_printf ("{\"case\":\"%s\",\"device_seq\":%" G_GINT64_FORMAT ",\"hash\":\"%s\"}",
                                                 kase->uuid, seq, hash);

      ok = audit (self, "packet.seal", packet_id, detail, error);
    }
  return ok;
}

static gboolean
outbox_add (FkStore  *self,
            gint64    case_id,
            GError  **error)
{
  g_autofree char *packet_id = g_uuid_string_random ();
  sqlite3_stmt *st = prepare (self, "INSERT INTO outbox (packet_id, case_id, created_at) VALUES (?, ?, ?)", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, case_id);
  sqlite3_bind_int64 (st, 3, g_get_real_time ());
  if (!step_done (self, st, error))
    return FALSE;
  return build_packet (self, case_id, packet_id, error);
}

gboolean
fk_store_enrolled (FkStore             *self,
                   const FkOfficeInfo  *info,
                   GError             **error)
{
  g_autofree char *number = g_strdup_printf ("%u", info->device_number);
  g_autofree char *detail = NULL;
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) cases = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *st;

  if (!require_unlocked (self, error))
    return FALSE;
  if (!begin (self, error))
    return FALSE;
  if (!meta_set (self, "office_url", info->url, strlen (info->url), TRUE, error) ||
      !meta_set (self, "office_sign_pk", info->sign_pk, 32, FALSE, error) ||
      !meta_set (self, "office_box_pk", info->box_pk, 32, FALSE, error) ||
      !meta_set (self, "office_key_id", info->key_id, strlen (info->key_id), TRUE, error) ||
      !meta_set (self, "device_id", info->device_id, strlen (info->device_id), TRUE, error) ||
      !meta_set (self, "office_code", info->office_code, strlen (info->office_code), TRUE, error) ||
      !meta_set (self, "device_number", number, strlen (number), TRUE, error) ||
      (info->tls_pin && !meta_set (self, "office_tls_pin", info->tls_pin, strlen (info->tls_pin), TRUE, error)))
    goto fail;
  detail = g_strdup_printf ("{\"office_key\":\"%s\",\"device_number\":%u}", info->key_id, info->device_number);
  if (!audit (self, "device.enrol", info->device_id, detail, error))
    goto fail;

  st = prepare (self, "SELECT packet_id, case_id FROM outbox WHERE packet_hash IS NULL ORDER BY case_id", error);
  if (st == NULL)
    goto fail;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (st, 1);

      g_ptr_array_add (pending, col_strdup (st, 0));
      g_array_append_val (cases, id);
    }
  sqlite3_finalize (st);
  load_device_facts (self);
  for (guint i = 0; i < pending->len; i++)
    if (!build_packet (self, g_array_index (cases, gint64, i), pending->pdata[i], error))
      goto fail;
  if (!commit (self, error))
    goto fail;
  return TRUE;

fail:
  rollback (self);
  load_device_facts (self);
  return FALSE;
}

/* ---- the outbox ------------------------------------------------------------------ */

void
fk_outbox_item_free (FkOutboxItem *item)
{
  if (item == NULL)
    return;
  g_free (item->packet_id);
  g_free (item->case_uuid);
  g_free (item->receipt_no);
  g_free (item->state);
  g_free (item->last_error);
  g_free (item->server_status);
  g_free (item->packet_hash);
  g_free (item);
}

GPtrArray *
fk_store_outbox (FkStore   *self,
                 gboolean   include_acked,
                 GError   **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_outbox_item_free);
  sqlite3_stmt *st = prepare (self,
                              include_acked
                              ? "SELECT o.packet_id, o.case_id, c.uuid, c.receipt_no, o.device_seq, o.size, o.state, o.sent_offset,"
                                " o.attempts, o.next_attempt, o.last_error, o.server_status, o.packet_hash"
                                " FROM outbox o JOIN cases c ON c.id = o.case_id ORDER BY o.device_seq IS NULL, o.device_seq, o.case_id"
                              : "SELECT o.packet_id, o.case_id, c.uuid, c.receipt_no, o.device_seq, o.size, o.state, o.sent_offset,"
                                " o.attempts, o.next_attempt, o.last_error, o.server_status, o.packet_hash"
                                " FROM outbox o JOIN cases c ON c.id = o.case_id WHERE o.state != 'acked'"
                                " ORDER BY o.device_seq IS NULL, o.device_seq, o.case_id", error);
  int rc;

  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkOutboxItem *it = g_new0 (FkOutboxItem, 1);

      it->packet_id = col_strdup (st, 0);
      it->case_id = sqlite3_column_int64 (st, 1);
      it->case_uuid = col_strdup (st, 2);
      it->receipt_no = col_strdup (st, 3);
      it->device_seq = sqlite3_column_int64 (st, 4);
      it->size = (gsize) sqlite3_column_int64 (st, 5);
      it->state = col_strdup (st, 6);
      it->sent_offset = sqlite3_column_int64 (st, 7);
      it->attempts = sqlite3_column_int (st, 8);
      it->next_attempt = sqlite3_column_int64 (st, 9);
      it->last_error = col_strdup (st, 10);
      it->server_status = col_strdup (st, 11);
      it->packet_hash = col_strdup (st, 12);
      g_ptr_array_add (out, it);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_error (self, sqlite3_extended_errcode (self->db), error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

GBytes *
fk_store_outbox_packet (FkStore     *self,
                        const char  *packet_id,
                        GError     **error)
{
  sqlite3_stmt *st = cached (self, "SELECT packet FROM outbox_packets WHERE packet_id = ?", error);
  GBytes *out = NULL;

  if (st == NULL)
    return NULL;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    out = g_bytes_new (sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0));
  else
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("Packet %s is not ready: the device is not enrolled with an office yet."), packet_id);
  fk_sql_done (st);
  return out;
}

struct _FkPacketReader {
  sqlite3      *db;
  sqlite3_stmt *st;
};

FkPacketReader *
fk_packet_reader_new (FkStore  *self,
                      GError  **error)
{
  g_autoptr(FkPacketReader) reader = g_new0 (FkPacketReader, 1);
  int rc = sqlite3_open_v2 (self->db_path, &reader->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc == SQLITE_OK)
    {
      sqlite3_busy_timeout (reader->db, (int) busy_timeout_ms ());
      rc = sqlite3_prepare_v3 (reader->db, "SELECT packet FROM outbox_packets WHERE packet_id = ?", -1,
                               SQLITE_PREPARE_PERSISTENT, &reader->st, NULL);
    }
  if (rc != SQLITE_OK)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
                   _("The data folder %s could not be read: %s"), self->data_dir,
                   reader->db ? sqlite3_errmsg (reader->db) : sqlite3_errstr (rc));
      return NULL;
    }
  return g_steal_pointer (&reader);
}

GBytes *
fk_packet_reader_read (FkPacketReader  *reader,
                       const char      *packet_id,
                       GError         **error)
{
  GBytes *out = NULL;
  int rc;

  sqlite3_bind_text (reader->st, 1, packet_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (reader->st);
  if (rc == SQLITE_ROW && sqlite3_column_type (reader->st, 0) != SQLITE_NULL)
    out = g_bytes_new (sqlite3_column_blob (reader->st, 0), sqlite3_column_bytes (reader->st, 0));
  else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                 _("Packet %s is not ready: the device is not enrolled with an office yet."), packet_id);
  else
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
                 _("The data folder could not be read: %s"), sqlite3_errmsg (reader->db));
  fk_sql_done (reader->st);
  return out;
}

void
fk_packet_reader_free (FkPacketReader *reader)
{
  if (reader == NULL)
    return;
  sqlite3_finalize (reader->st);
  sqlite3_close (reader->db);
  g_free (reader);
}

static gboolean
outbox_update (FkStore     *self,
               const char  *sql,
               const char  *packet_id,
               const char  *text,
               gint64       number,
               GError     **error)
{
  sqlite3_stmt *st = cached (self, sql, error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  if (text)
    sqlite3_bind_text (st, 2, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, 2);
  sqlite3_bind_int64 (st, 3, number);
  return step_cached (self, st, error);
}

gboolean
fk_store_outbox_progress (FkStore     *self,
                          const char  *packet_id,
                          gint64       offset,
                          GError     **error)
{
  return outbox_update (self, "UPDATE outbox SET sent_offset = ?3, server_status = COALESCE (?2, server_status)"
                        " WHERE packet_id = ?1", packet_id, "partial", offset, error);
}

gboolean
fk_store_outbox_exported (FkStore     *self,
                          const char  *packet_id,
                          GError     **error)
{
  sqlite3_stmt *st;

  if (!require_unlocked (self, error))
    return FALSE;
  st = cached (self, "UPDATE outbox SET sent_offset = size WHERE packet_id = ? AND state = 'waiting'", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  return step_cached (self, st, error);
}

gboolean
fk_store_outbox_failed (FkStore     *self,
                        const char  *packet_id,
                        gboolean     quarantine,
                        const char  *message,
                        gint64       next_attempt,
                        GError     **error)
{
  g_autofree char *detail = NULL;

  if (!begin (self, error))
    return FALSE;
  if (!outbox_update (self,
                      quarantine
                      ? "UPDATE outbox SET state = 'quarantined', last_error = ?2, attempts = attempts + 1, next_attempt = ?3 WHERE packet_id = ?1"
                      : "UPDATE outbox SET last_error = ?2, attempts = attempts + 1, next_attempt = ?3 WHERE packet_id = ?1",
                      packet_id, message, next_attempt, error))
    goto fail;
  if (quarantine && self->identity)
    {
      detail = g_strdup ("{}");
      if (!audit (self, "packet.quarantine", packet_id, detail, error))
        goto fail;
    }
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

gboolean
fk_store_outbox_retry (FkStore     *self,
                       const char  *packet_id,
                       GError     **error)
{
  sqlite3_stmt *st;

  if (!require_unlocked (self, error) || !begin (self, error))
    return FALSE;
  st = prepare (self, "UPDATE outbox SET state = 'waiting', next_attempt = 0, attempts = 0"
                      " WHERE packet_id = ? AND state = 'quarantined'", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  if (!step_done (self, st, error))
    goto fail;
  if (sqlite3_changes (self->db) != 1)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                   _("Packet %s is not in quarantine."), packet_id);
      goto fail;
    }
  if (!audit (self, "packet.retry", packet_id, "{}", error) || !commit (self, error))
    goto fail;
  return TRUE;

fail:
  rollback (self);
  return FALSE;
}

/* Moves a sealed case forward (sealed → uploaded → accepted/returned) and
 * writes the audit entry with the case's current record digest. */
static gboolean
advance_case (FkStore     *self,
              gint64       case_id,
              const char  *status,
              const char  *action,
              GError     **error)
{
  g_autoptr(FkCase) kase = g_new0 (FkCase, 1);
  g_autofree char *detail = NULL;
  g_autofree char *digest = NULL;
  sqlite3_stmt *st = cached (self, "UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, g_get_real_time ());
  sqlite3_bind_int64 (st, 3, case_id);
  if (!step_cached (self, st, error))
    return FALSE;
  st = cached (self, "SELECT uuid, service, version, person FROM cases WHERE id = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_id);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      kase->id = case_id;
      kase->uuid = col_strdup (st, 0);
      kase->service = col_strdup (st, 1);
      kase->version = (guint64) sqlite3_column_int64 (st, 2);
      fk_case_status_parse (status, &kase->status);
      detail = case_detail (kase, sqlite3_column_type (st, 3) == SQLITE_NULL ? NULL : sqlite3_column_blob (st, 3),
                            (gsize) sqlite3_column_bytes (st, 3));
    }
  fk_sql_done (st);
  (void) digest;
  if (detail == NULL)
    return sql_error (self, SQLITE_NOTFOUND, error);
  return audit (self, action, kase->uuid, detail, error);
}

/* Runs a cached statement (bound) that frees ciphertext nobody on this
 * device can open any more, under secure_delete = FAST: what was on the
 * row's b-tree page is zeroed, freed overflow pages are left as they are
 * rather than written again as zeros (docs/SECURITY.md §12).  The
 * connection is back to ON whatever happened; a failure to switch back is
 * reported only when the statement itself succeeded. */
static gboolean
step_fast_delete (FkStore       *self,
                  sqlite3_stmt  *st,
                  GError       **error)
{
  gboolean done;

  if (!exec_cached (self, "PRAGMA secure_delete = FAST", error))
    {
      fk_sql_done (st);
      return FALSE;
    }
  done = step_cached (self, st, error);
  return exec_cached (self, "PRAGMA secure_delete = ON", done ? error : NULL) && done;
}

static gboolean
purge_case (FkStore  *self,
            gint64    case_id,
            GError  **error)
{
  sqlite3_stmt *st = cached (self, "UPDATE cases SET person = NULL, blind = NULL WHERE id = ?", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_id);
  if (!step_cached (self, st, error))
    return FALSE;
  /* Cryptographic erasure of the attachments (docs/SECURITY.md §12): the
   * ciphertext is freed under secure_delete = FAST, which zeroes what was
   * on the row's b-tree page but leaves the freed overflow pages (the body
   * of the secretstream ciphertext) as they are, rather than writing every
   * page of a photo again as zeros, through the WAL and then the database.
   * Those pages are unreadable without the attachment's own key, which the
   * second statement then erases under secure_delete = ON: the row is
   * small by then, so the key's old bytes are zeroed wherever they were. */
  st = cached (self, "UPDATE attachments SET data = NULL WHERE case_id = ? AND data IS NOT NULL", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_id);
  if (!step_fast_delete (self, st, error))
    return FALSE;
  st = cached (self, "UPDATE attachments SET key = NULL WHERE case_id = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_id);
  if (!step_cached (self, st, error))
    return FALSE;
  return advance_case (self, case_id, "uploaded", "case.purge", error);
}

/* The office holds the packet now (its signed ack says so): the device's
 * sealed copy goes, whatever the retention, so that delivered packets do
 * not pile up in the file (a photo case is ~200 KiB).  The device cannot
 * open it anyway (sealed to the office's key, the ephemeral key long
 * gone); it is freed under secure_delete = FAST, like an erased photo's
 * ciphertext (docs/SECURITY.md §12): its freed pages hold only what the
 * office can read and is already holding, and later writes reuse them. */
static gboolean
drop_sealed_packet (FkStore     *self,
                    const char  *packet_id,
                    GError     **error)
{
  sqlite3_stmt *st = cached (self, "DELETE FROM outbox_packets WHERE packet_id = ?", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  return step_fast_delete (self, st, error);
}

gboolean
fk_store_outbox_acked (FkStore     *self,
                       const char  *packet_id,
                       const char  *ack_text,
                       GError     **error)
{
  sqlite3_stmt *st;
  gint64 case_id = 0;
  gint64 retention = setting_int (self, "retention_days", 0);

  if (!require_unlocked (self, error) || !begin (self, error))
    return FALSE;
  st = cached (self, "SELECT case_id FROM outbox WHERE packet_id = ?", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    case_id = sqlite3_column_int64 (st, 0);
  fk_sql_done (st);
  if (case_id == 0)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND, "packet %s", packet_id);
      goto fail;
    }
  st = cached (self, "UPDATE outbox SET state = 'acked', ack = ?2, acked_at = ?3, server_status = 'stored',"
                     " last_error = NULL, sent_offset = size WHERE packet_id = ?1", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_text (st, 1, packet_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, ack_text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 3, g_get_real_time ());
  if (!step_cached (self, st, error) ||
      !advance_case (self, case_id, "uploaded", "case.uploaded", error) ||
      !drop_sealed_packet (self, packet_id, error))
    goto fail;
  /* Retention 0 (the default): the office holds the case now, so the device
   * keeps only the non-identifying stub. */
  if (retention <= 0 && !purge_case (self, case_id, error))
    goto fail;
  return commit (self, error);

fail:
  rollback (self);
  return FALSE;
}

gboolean
fk_store_apply_review (FkStore     *self,
                       const char  *case_uuid,
                       gboolean     approved,
                       const char  *reason,
                       GError     **error)
{
  sqlite3_stmt *st;
  gint64 case_id = 0;
  const char *status = NULL;

  if (!require_unlocked (self, error))
    return FALSE;
  st = prepare (self, "SELECT id, status FROM cases WHERE uuid = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, case_uuid, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      case_id = sqlite3_column_int64 (st, 0);
      status = (const char *) sqlite3_column_text (st, 1);
      status = g_intern_string (status);
    }
  sqlite3_finalize (st);
  if (case_id == 0)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                   _("The office answered about a case this device does not have (%s)."), case_uuid);
      return FALSE;
    }
  /* Answers can arrive twice (a lost cursor); applying one again is a no-op. */
  if (g_strcmp0 (status, approved ? "accepted" : "returned") == 0)
    return TRUE;
  if (!begin (self, error))
    return FALSE;
  if (g_strcmp0 (status, "sealed") == 0 && !advance_case (self, case_id, "uploaded", "case.uploaded", error))
    goto fail;
  st = prepare (self, "INSERT OR REPLACE INTO answers (case_id, decision, reason, at) VALUES (?, ?, ?, ?)", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, case_id);
  sqlite3_bind_text (st, 2, approved ? "approved" : "returned", -1, SQLITE_STATIC);
  {
    g_autofree char *row = g_strdup_printf ("%" G_GINT64_FORMAT, case_id);

    if (!bind_sealed (self, st, 3, "answers", row, "reason", 1, reason, error))
      {
        sqlite3_finalize (st);
        goto fail;
      }
  }
  sqlite3_bind_int64 (st, 4, g_get_real_time ());
  if (!step_done (self, st, error) ||
      !outbox_update (self, "UPDATE outbox SET server_status = ?2 WHERE case_id = (SELECT id FROM cases WHERE uuid = ?1) AND ?3 = ?3",
                      case_uuid, approved ? "approved" : "returned", 0, error) ||
      !advance_case (self, case_id, approved ? "accepted" : "returned",
                     approved ? "case.accepted" : "case.returned", error) ||
      !commit (self, error))
    goto fail;
  return TRUE;

fail:
  rollback (self);
  return FALSE;
}

char *
fk_store_case_return_reason (FkStore  *self,
                             gint64    case_id,
                             GError  **error)
{
  g_autofree char *row = g_strdup_printf ("%" G_GINT64_FORMAT, case_id);
  sqlite3_stmt *st;
  char *out = NULL;

  if (!require_unlocked (self, error))
    return NULL;
  st = prepare (self, "SELECT reason FROM answers WHERE case_id = ? AND decision = 'returned'", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, case_id);
  if (sqlite3_step (st) == SQLITE_ROW)
    open_sealed_text (self, st, 0, "answers", row, "reason", 1, &out, error);
  sqlite3_finalize (st);
  return out;
}

/* The returned case to correct: returned, and not corrected already. */
static FkCase *
load_returned (FkStore  *self,
               gint64    returned_case_id,
               GError  **error)
{
  g_autoptr(FkCase) old = NULL;
  sqlite3_stmt *st;
  gint64 done = 0;

  if (!require_unlocked (self, error))
    return NULL;
  old = load_case (self, returned_case_id, error);
  if (old == NULL)
    return NULL;
  if (old->status != FK_CASE_RETURNED)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " was not returned by the office; only a returned case is corrected as a new version."),
                   old->id);
      return NULL;
    }
  st = cached (self, "SELECT id FROM cases WHERE supersedes = ? ORDER BY id LIMIT 1", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, old->id);
  if (sqlite3_step (st) == SQLITE_ROW)
    done = sqlite3_column_int64 (st, 0);
  fk_sql_done (st);
  if (done > 0)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " was already corrected as case %" PRId64 "; carry on with that one."),
                   old->id, done);
      return NULL;
    }
  return g_steal_pointer (&old);
}

gint64
fk_store_case_correct_anew (FkStore            *self,
                            gint64              returned_case_id,
                            const FkCaseInput  *person,
                            GError            **error)
{
  g_autoptr(FkCase) old = load_returned (self, returned_case_id, error);
  FkCaseInput input;

  if (old == NULL)
    return 0;
  if (old->person_id != NULL)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " still holds the person's data; correct it without giving the person again."),
                   old->id);
      return 0;
    }
  input = *person;
  input.outing_id = old->outing_id;
  input.service = old->service;
  return create_case (self, &input, old->id, "case.correct", error);
}

gint64
fk_store_case_correct (FkStore  *self,
                       gint64    returned_case_id,
                       GError  **error)
{
  g_autoptr(FkCase) old = load_returned (self, returned_case_id, error);
  g_autoptr(FkCase) kase = NULL;

  if (old == NULL)
    return 0;
  if (old->person_id == NULL)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_PURGED,
                   _("The personal data of case %" PRId64 " was removed after the office received it. "
                     "Take the person's data again from their documents: give the ID number and name "
                     "(\"case correct %" PRId64 " --person-id ID --name NAME\"; in the window, Correct asks for them)."),
                   old->id, old->id);
      return 0;
    }
  kase = g_new0 (FkCase, 1);
  kase->uuid = g_uuid_string_random ();
  kase->outing_id = g_strdup (old->outing_id);
  kase->service = g_strdup (old->service);
  kase->status = FK_CASE_DRAFT;
  kase->version = 1;
  kase->supersedes = old->id;
  kase->created_by = g_strdup (self->operator_id);
  kase->created_at = g_get_real_time ();
  kase->ticked = g_strdupv (old->ticked);
  kase->person_id = g_strdup (old->person_id);
  kase->name = g_strdup (old->name);
  kase->birth_date = g_strdup (old->birth_date);
  kase->fields = new_fields_table ();
  {
    GHashTableIter iter;
    gpointer k, v;

    g_hash_table_iter_init (&iter, old->fields);
    while (g_hash_table_iter_next (&iter, &k, &v))
      g_hash_table_insert (kase->fields, g_strdup (k), g_strdup (v));
  }
  if (!begin (self, error))
    return 0;
  if (!write_case (self, kase, "case.correct", error) || !commit (self, error))
    {
      rollback (self);
      return 0;
    }
  return kase->id;
}

char *
fk_store_audit_export (FkStore  *self,
                       gint64    after_seq,
                       gint64   *last,
                       GError  **error)
{
  return fk_store_audit_export_some (self, after_seq, 0, last, error);
}

char *
fk_store_audit_export_some (FkStore  *self,
                            gint64    after_seq,
                            guint     limit,
                            gint64   *last,
                            GError  **error)
{
  gboolean last_signed = FALSE;
  guint count = 0;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  sqlite3_stmt *st = prepare (self, "SELECT seq, at, operator, action, subject, detail, prev, hash, sig"
                                    " FROM audit WHERE seq > ? ORDER BY seq", error);

  if (st == NULL)
    return NULL;
  *last = after_seq;
  sqlite3_bind_int64 (st, 1, after_seq);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      /* A body ends on a signed entry, so the office can verify it alone. */
      if (limit > 0 && count >= limit && last_signed)
        break;
      g_autofree char *prev = fk_hex_encode (sqlite3_column_blob (st, 6), (gsize) sqlite3_column_bytes (st, 6));
      g_autofree char *hash = fk_hex_encode (sqlite3_column_blob (st, 7), (gsize) sqlite3_column_bytes (st, 7));
      g_autofree char *sig = fk_hex_encode (sqlite3_column_blob (st, 8), (gsize) sqlite3_column_bytes (st, 8));

      *last = sqlite3_column_int64 (st, 0);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, *last);
      json_builder_set_member_name (b, "at");
      json_builder_add_int_value (b, sqlite3_column_int64 (st, 1));
      json_builder_set_member_name (b, "operator");
      json_builder_add_string_value (b, (const char *) sqlite3_column_text (st, 2));
      json_builder_set_member_name (b, "action");
      json_builder_add_string_value (b, (const char *) sqlite3_column_text (st, 3));
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, (const char *) sqlite3_column_text (st, 4));
      json_builder_set_member_name (b, "detail");
      json_builder_add_string_value (b, (const char *) sqlite3_column_text (st, 5));
      json_builder_set_member_name (b, "prev");
      json_builder_add_string_value (b, prev);
      json_builder_set_member_name (b, "hash");
      json_builder_add_string_value (b, hash);
      json_builder_set_member_name (b, "sig");
      json_builder_add_string_value (b, sig);
      json_builder_end_object (b);
      count++;
      last_signed = sqlite3_column_bytes (st, 8) > 0;
    }
  sqlite3_finalize (st);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

gint64
fk_store_audit_last_seq (FkStore *self)
{
  sqlite3_stmt *st = prepare (self, "SELECT seq FROM audit_head WHERE id = 1", NULL);
  gint64 seq = 0;

  if (st == NULL)
    return 0;
  if (sqlite3_step (st) == SQLITE_ROW)
    seq = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return seq;
}

gboolean
fk_store_wipe (FkStore  *self,
               GError  **error)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  fk_store_lock (self);
  fk_sql_cache_clear (self->stmts);
  g_clear_pointer (&self->checkpointer, fk_checkpointer_free);
  if (self->db != NULL)
    {
      sqlite3_close_v2 (self->db);
      self->db = NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (self->db_path, suffixes[i], NULL);

      if (g_remove (path) != 0 && errno != ENOENT)
        {
          g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
                       _("Could not remove %s: %s"), path, g_strerror (errno));
          return FALSE;
        }
    }
  self->initialized = FALSE;
  return TRUE;
}

/* ---- safety limits ------------------------------------------------------------ */

void
fk_store_safety (FkStore       *self,
                 FkSafetyState *out)
{
  sqlite3_stmt *st = NULL;
  gint64 now = g_get_real_time ();
  gint64 since;

  memset (out, 0, sizeof *out);
  out->waiting_limit = (guint) setting_int (self, "limit_waiting", 200);
  out->days_limit = (guint) setting_int (self, "limit_days", 7);
  out->last_sync = setting_int (self, "last_sync", 0);
  out->override_until = setting_int (self, "limits_override_until", 0);
  /* Every new case asks, so the statement is kept (see cached()). */
  st = cached (self, "SELECT COUNT (*), MIN (created_at) FROM outbox WHERE state != 'acked'", NULL);
  if (st != NULL && sqlite3_step (st) == SQLITE_ROW)
    {
      out->waiting = (guint) sqlite3_column_int64 (st, 0);
      out->oldest_waiting = sqlite3_column_int64 (st, 1);
    }
  if (st != NULL)
    fk_sql_done (st);

  /* The clock for "days without a sync" starts at the later of the last
   * sync and the oldest packet still waiting: a device with nothing to send
   * is never blocked. */
  since = MAX (out->last_sync, out->oldest_waiting);
  if (out->waiting > 0)
    {
      gint64 age = now - since;
      gint64 limit = (gint64) out->days_limit * 24 * 3600 * G_USEC_PER_SEC;

      out->blocked = out->waiting > out->waiting_limit || age > limit;
      out->near = out->waiting * 5 > out->waiting_limit * 4 || age * 5 > limit * 4;
    }
  if (out->override_until > now)
    out->blocked = FALSE;
}

static gboolean
check_safety_limits (FkStore  *self,
                     GError  **error)
{
  FkSafetyState s;

  fk_store_safety (self, &s);
  if (!s.blocked)
    return TRUE;
  if (s.waiting > s.waiting_limit)
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                 _("%u sealed cases are waiting to go to the office (the limit is %u). Sync or export a bundle before "
                       "making new cases, or ask a supervisor to override the limit."),
                 s.waiting, s.waiting_limit);
  else
    g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                 _("Sealed cases have waited more than %u days without a sync. Sync or export a bundle before making "
                       "new cases, or ask a supervisor to override the limit."),
                 s.days_limit);
  return FALSE;
}

gboolean
fk_store_override_limits (FkStore  *self,
                          guint     hours,
                          GError  **error)
{
  g_autofree char *until = NULL;
  g_autofree char *detail = NULL;

  if (!require_unlocked (self, error))
    return FALSE;
  if (self->role != FK_ROLE_SUPERVISOR)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                           _("Only a supervisor can override the safety limits."));
      return FALSE;
    }
  if (hours < 1 || hours > 72)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("An override lasts 1 to 72 hours."));
      return FALSE;
    }
  until = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () + (gint64) hours * 3600 * G_USEC_PER_SEC);
  detail = g_strdup_printf ("{\"hours\":%u}", hours);
  if (!begin (self, error))
    return FALSE;
  if (!set_setting (self, "limits_override_until", until, error) ||
      !audit (self, "limits.override", self->operator_id, detail, error) ||
      !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

gboolean
fk_store_mark_synced (FkStore  *self,
                      GError  **error)
{
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time ());

  return fk_store_set_setting (self, "last_sync", now, error);
}

/* ---- reference data from the office -------------------------------------------- */

static void
load_office_catalog (FkStore *self)
{
  g_autofree char *json = fk_store_get_setting (self, "catalog");
  g_autoptr(GBytes) bytes = NULL;
  FkCatalog *catalog;

  if (json == NULL)
    return;
  bytes = g_bytes_new (json, strlen (json));
  catalog = fk_catalog_load_bytes (bytes, NULL);
  if (catalog != NULL && fk_catalog_version (catalog) > fk_catalog_version (self->catalog))
    {
      fk_catalog_free (self->catalog);
      self->catalog = catalog;
    }
  else
    g_clear_pointer (&catalog, fk_catalog_free);
}

gboolean
fk_store_set_catalog (FkStore     *self,
                      const char  *catalog_json,
                      GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (catalog_json, strlen (catalog_json));
  g_autoptr(FkCatalog) catalog = fk_catalog_load_bytes (bytes, error);
  g_autofree char *detail = NULL;

  if (catalog == NULL)
    return FALSE;
  if (fk_catalog_version (catalog) <= fk_catalog_version (self->catalog))
    return TRUE;
  detail = g_strdup_printf ("{\"version\":%d}", fk_catalog_version (catalog));
  if (!begin (self, error))
    return FALSE;
  if (!set_setting (self, "catalog", catalog_json, error) ||
      (self->identity && !audit (self, "catalog.update", "catalog", detail, error)) ||
      !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  fk_catalog_free (self->catalog);
  self->catalog = g_steal_pointer (&catalog);
  return TRUE;
}

/* ---- card hand-over ---------------------------------------------------------------- */

/* A card is recorded as handed over under a keyed hash of its number
 * ("handover:" + hex), never the number itself; the key is the blind-index
 * key, so the marker survives the purge of the case. */
static char *
handover_key (FkStore    *self,
              const char *card_number)
{
  g_autofree char *norm = g_ascii_strup (card_number, -1);
  g_autofree char *tagged = g_strconcat ("card:", g_strstrip (norm), NULL);
  g_autofree char *hex = NULL;
  guint8 blind[32];

  fk_vault_blind_index (self->vault, tagged, blind);
  hex = fk_hex_encode (blind, sizeof blind);
  return g_strconcat ("handover:", hex, NULL);
}

static gint64
handed_over_in (FkStore    *self,
                const char *card_number)
{
  g_autofree char *key = NULL;

  if (self->vault == NULL || card_number == NULL)
    return 0;
  key = handover_key (self, card_number);
  return setting_int (self, key, 0);
}

static gboolean
mark_handed_over (FkStore       *self,
                  const FkCase  *kase,
                  GError       **error)
{
  const char *card = g_hash_table_lookup (kase->fields, "card_number");
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;
  gint64 other;

  if (g_strcmp0 (kase->service, "card_handover") != 0 || card == NULL)
    return TRUE;
  other = handed_over_in (self, card);
  if (other > 0 && other != kase->id)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("This card was already handed over (case %" PRId64 "); a card is handed over once only."), other);
      return FALSE;
    }
  key = handover_key (self, card);
  value = g_strdup_printf ("%" G_GINT64_FORMAT, kase->id);
  return set_setting (self, key, value, error);
}

/* A hand-over list from the office (verified and opened by the caller):
 * {"v":1, "outing":{"title","date"}, "items":[{"receipt_no","card_kind",
 * "card_number","person":{"person_id","name","birth_date"},
 * "school_class","seat_number"}…]}.  Makes one card_handover outing and a
 * draft per card not handed over or listed before.  Returns the number of
 * new drafts, or -1. */
gint64
fk_store_apply_handover (FkStore     *self,
                         const char  *list_json,
                         char       **outing_id,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *title = NULL;
  g_autofree char *oid = NULL;
  static const char *const handover_seat_fields[] = { "school_class", "seat_number" };
  const FkService *handover_svc = fk_catalog_lookup (self->catalog, "card_handover");
  JsonObject *root, *outing;
  JsonArray *items;
  gint64 made = 0;

  if (!require_unlocked (self, error))
    return -1;
  if (!json_parser_load_from_data (parser, list_json, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)) ||
      !json_object_has_member ((root = json_node_get_object (json_parser_get_root (parser))), "items") ||
      (items = json_object_get_array_member (root, "items")) == NULL)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                           _("The hand-over list is malformed."));
      return -1;
    }
  outing = json_object_has_member (root, "outing") ? json_object_get_object_member (root, "outing") : NULL;
  title = g_strdup_printf (_("Card hand-over: %s"),
                           outing ? json_object_get_string_member_with_default (outing, "title", "") : "");
  if (!fk_store_begin_batch (self, error))
    return -1;
  oid = fk_store_outing_new (self, "card_handover", title,
                             outing ? json_object_get_string_member_with_default (outing, "date", "2026-01-01") : "2026-01-01",
                             outing ? json_object_get_string_member_with_default (outing, "place", NULL) : NULL, error);
  if (oid == NULL)
    goto fail;
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *it = json_array_get_object_element (items, i);
      JsonObject *person = it && json_object_has_member (it, "person") ? json_object_get_object_member (it, "person") : NULL;
      const char *card = it ? json_object_get_string_member_with_default (it, "card_number", NULL) : NULL;
      g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
      g_autofree char *listed_key = NULL;
      FkCaseInput in = { 0 };
      gint64 id;

      if (person == NULL || card == NULL)
        continue;
      /* Once only: a card already handed over, or already on a list this
       * device received, makes no new draft. */
      {
        g_autofree char *key = handover_key (self, card);

        listed_key = g_strconcat (key, ":listed", NULL);
      }
      if (handed_over_in (self, card) > 0 || setting_int (self, listed_key, 0) > 0)
        continue;
      g_hash_table_insert (fields, "card_kind", (gpointer) json_object_get_string_member_with_default (it, "card_kind", "id_card"));
      g_hash_table_insert (fields, "expected_card_number", (gpointer) card);
      g_hash_table_insert (fields, "receiver", "self");
      if (json_object_get_string_member_with_default (it, "receipt_no", NULL))
        g_hash_table_insert (fields, "source_receipt", (gpointer) json_object_get_string_member (it, "receipt_no"));
      /* The student's class and seat, from the application, so that the
       * cards are handed over class by class in seat order — when the
       * catalog in use knows the fields (one published before them does
       * not, and the list must still apply). */
      for (guint k = 0; k < G_N_ELEMENTS (handover_seat_fields); k++)
        {
          const char *v = json_object_get_string_member_with_default (it, handover_seat_fields[k], NULL);

          if (v != NULL && *v != '\0' && handover_svc != NULL && fk_service_field (handover_svc, handover_seat_fields[k]) != NULL)
            g_hash_table_insert (fields, (gpointer) handover_seat_fields[k], (gpointer) v);
        }
      in.outing_id = oid;
      in.service = "card_handover";
      in.person_id = json_object_get_string_member_with_default (person, "person_id", NULL);
      in.name = json_object_get_string_member_with_default (person, "name", NULL);
      in.birth_date = json_object_get_string_member_with_default (person, "birth_date", NULL);
      in.fields = fields;
      id = fk_store_case_new (self, &in, error);
      if (id <= 0)
        goto fail;
      {
        g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, id);

        if (!set_setting (self, listed_key, v, error))
          goto fail;
      }
      made++;
    }
  if (!fk_store_end_batch (self, TRUE, error))
    return -1;
  if (outing_id)
    *outing_id = g_steal_pointer (&oid);
  return made;

fail:
  fk_store_end_batch (self, FALSE, NULL);
  return -1;
}
