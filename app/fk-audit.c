/* fk-audit.c — hash-chained, signed audit log; see fk-audit.h. */
#include "app/fk-audit.h"

#include <string.h>

#include "app/fk-store.h"
#include "crypto/fk-i18n.h"

/* ---- helpers ------------------------------------------------------------ */

/* The audit entry is written in the same transaction as the change it
 * records, so a full disk or a busy store can strike here first; those must
 * reach the clerk as what they are, not as an internal failure. */
static gboolean
sql_fail (sqlite3  *db,
          GError  **error)
{
  int rc = sqlite3_extended_errcode (db);
  FkStoreError code = FK_STORE_ERROR_FAILED;

  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      code = FK_STORE_ERROR_FULL;
      break;
    case SQLITE_IOERR:
      if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC)
        code = FK_STORE_ERROR_FULL;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = FK_STORE_ERROR_BUSY;
      break;
    case SQLITE_READONLY:
      code = FK_STORE_ERROR_READ_ONLY;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = FK_STORE_ERROR_CORRUPT;
      break;
    default:
      break;
    }
  if (code == FK_STORE_ERROR_FULL)
    g_set_error (error, FK_STORE_ERROR, code,
                 _("The disk is full; nothing was saved. Free some space and try again — "
                       "the work already saved is safe. (%s)"),
                 sqlite3_errmsg (db));
  else
    g_set_error (error, FK_STORE_ERROR, code,
                 _("The audit log could not be written or read: %s"),
                 sqlite3_errmsg (db));
  return FALSE;
}

static void
put_u64 (crypto_generichash_state *st,
         guint64                   v)
{
  guint8 b[8];

  for (int i = 7; i >= 0; i--)
    {
      b[i] = v & 0xff;
      v >>= 8;
    }
  crypto_generichash_update (st, b, 8);
}

static void
put_str (crypto_generichash_state *st,
         const char               *s)
{
  s = s ? s : "";
  crypto_generichash_update (st, (const guint8 *) s, strlen (s) + 1);
}

void
fk_audit_entry_hash (const guint8  prev[32],
                     gint64        seq,
                     gint64        at,
                     const char   *operator_id,
                     const char   *action,
                     const char   *subject,
                     const char   *detail,
                     guint8        out[32])
{
  crypto_generichash_state st;

  /* Streamed, so that no copy of the entry is made: the same bytes as
   * fk_hash over the concatenation. */
  crypto_generichash_init (&st, NULL, 0, 32);
  crypto_generichash_update (&st, (const guint8 *) "fk-audit-v1", 11);
  crypto_generichash_update (&st, prev, 32);
  put_u64 (&st, (guint64) seq);
  put_u64 (&st, (guint64) at);
  put_str (&st, operator_id);
  put_str (&st, action);
  put_str (&st, subject);
  put_str (&st, detail);
  crypto_generichash_final (&st, out, 32);
}

/* ---- the writer ----------------------------------------------------------- */

struct _FkAuditWriter
{
  sqlite3      *db;
  sqlite3_stmt *read_head;
  sqlite3_stmt *insert;
  sqlite3_stmt *write_head;
  sqlite3_stmt *sign;
  sqlite3_stmt *last_since;

  /* The head as the transaction began (read from audit_head at its first
   * entry) and as it is now.  Valid only while have_head, which is never
   * true across the end of a transaction: another program may append
   * between two of ours. */
  gboolean      have_head;
  gint64        start_seq;
  guint8        start_hash[32];
  gint64        seq;
  guint8        hash[32];
  gboolean      to_sign;     /* this transaction holds an entry of its own */
  gboolean      head_signed; /* the entry at seq carries its signature */
  guint         unsigned_run;/* unsigned entries at the end of the log */
};

static sqlite3_stmt *
writer_stmt (FkAuditWriter  *w,
             sqlite3_stmt  **slot,
             const char     *sql,
             GError        **error)
{
  if (*slot == NULL &&
      sqlite3_prepare_v3 (w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
    {
      sql_fail (w->db, error);
      return NULL;
    }
  return *slot;
}

/* Runs a kept statement that returns no rows and makes it ready again. */
static gboolean
writer_step (FkAuditWriter  *w,
             sqlite3_stmt   *st,
             GError        **error)
{
  int rc = sqlite3_step (st);

  if (rc != SQLITE_DONE)
    sql_fail (w->db, error);
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  return rc == SQLITE_DONE;
}

/* The head as stored: read once per transaction. */
static gboolean
writer_load_head (FkAuditWriter  *w,
                  GError        **error)
{
  sqlite3_stmt *st;
  int rc;

  if (w->have_head)
    return TRUE;
  st = writer_stmt (w, &w->read_head, "SELECT seq, hash FROM audit_head WHERE id = 1", error);
  if (st == NULL)
    return FALSE;
  w->seq = 0;
  memset (w->hash, 0, 32);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      w->seq = sqlite3_column_int64 (st, 0);
      if (sqlite3_column_bytes (st, 1) == 32)
        memcpy (w->hash, sqlite3_column_blob (st, 1), 32);
    }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    sql_fail (w->db, error);
  sqlite3_reset (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return FALSE;
  w->start_seq = w->seq;
  memcpy (w->start_hash, w->hash, 32);
  w->have_head = TRUE;
  w->head_signed = TRUE;   /* every committed log ends signed */
  w->unsigned_run = 0;
  return TRUE;
}

FkAuditWriter *
fk_audit_writer_new (sqlite3 *db)
{
  FkAuditWriter *w = g_new0 (FkAuditWriter, 1);

  w->db = db;
  return w;
}

void
fk_audit_writer_free (FkAuditWriter *w)
{
  if (w == NULL)
    return;
  sqlite3_finalize (w->read_head);
  sqlite3_finalize (w->insert);
  sqlite3_finalize (w->write_head);
  sqlite3_finalize (w->sign);
  sqlite3_finalize (w->last_since);
  sodium_memzero (w, sizeof *w);
  g_free (w);
}

/* The transaction holds the write lock, so the entries after the head it
 * began with are all its own: what a partial rollback left of them is read
 * back (rarely needed: a refused call in a batch), whatever the savepoints.
 * When only unsigned entries were rolled back, the unsigned run before the
 * new head is known; otherwise it is shorter than FK_AUDIT_SIGN_EVERY (a
 * prefix of a log that kept the rule), and counting it as
 * FK_AUDIT_SIGN_EVERY - 1 keeps the rule at the cost of signing the next
 * entry early. */
void
fk_audit_writer_rollback_to (FkAuditWriter *w)
{
  sqlite3_stmt *st;
  gint64 old_seq = w->seq;
  guint old_run = w->unsigned_run;

  if (!w->have_head)
    return;   /* nothing appended since the transaction began */
  st = writer_stmt (w, &w->last_since,
                    "SELECT seq, hash, length (sig) FROM audit WHERE seq > ? ORDER BY seq DESC LIMIT 1", NULL);
  if (st == NULL)
    {
      w->have_head = FALSE;
      return;
    }
  sqlite3_bind_int64 (st, 1, w->start_seq);
  w->seq = w->start_seq;
  memcpy (w->hash, w->start_hash, 32);
  w->to_sign = FALSE;
  w->head_signed = TRUE;
  w->unsigned_run = 0;
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_bytes (st, 1) == 32)
    {
      w->seq = sqlite3_column_int64 (st, 0);
      memcpy (w->hash, sqlite3_column_blob (st, 1), 32);
      w->to_sign = TRUE;
      w->head_signed = sqlite3_column_int (st, 2) > 0;
      if (w->head_signed)
        w->unsigned_run = 0;
      else if (old_seq - w->seq < (gint64) old_run)
        w->unsigned_run = old_run - (guint) (old_seq - w->seq);
      else
        w->unsigned_run = FK_AUDIT_SIGN_EVERY - 1;
    }
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
}

void
fk_audit_writer_end (FkAuditWriter *w)
{
  w->have_head = FALSE;
  w->to_sign = FALSE;
}

gboolean
fk_audit_writer_sign (FkAuditWriter     *w,
                      const FkIdentity  *device,
                      GError           **error)
{
  guint8 sig[crypto_sign_BYTES];
  sqlite3_stmt *st;

  if (!w->to_sign)
    return TRUE;
  if (device == NULL && !w->head_signed)
    {
      g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED,
                           _("The device was locked before the work was saved, so the audit log could not be signed; "
                                 "nothing was saved. Unlock and try again."));
      return FALSE;
    }
  if (!writer_load_head (w, error))
    return FALSE;

  /* The last entry of the transaction carries the signature for all of it
   * (unless it already has one, see writer_insert). */
  if (!w->head_signed)
    {
      fk_identity_sign (device, w->hash, 32, sig);
      st = writer_stmt (w, &w->sign, "UPDATE audit SET sig = ? WHERE seq = ?", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_blob (st, 1, sig, sizeof sig, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (st, 2, w->seq);
      if (!writer_step (w, st, error))
        return FALSE;
      w->head_signed = TRUE;
      w->unsigned_run = 0;
    }

  /* The head is written once per transaction, with the signature. */
  st = writer_stmt (w, &w->write_head,
                    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, w->seq);
  sqlite3_bind_blob (st, 2, w->hash, 32, SQLITE_TRANSIENT);
  if (!writer_step (w, st, error))
    return FALSE;
  w->to_sign = FALSE;
  return TRUE;
}

static gboolean
writer_insert (FkAuditWriter     *w,
               const FkIdentity  *device,
               const char        *operator_id,
               const char     *action,
               const char     *subject,
               const char     *detail,
               GError        **error)
{
  guint8 hash[32];
  guint8 sig[crypto_sign_BYTES];
  gboolean checkpoint;
  gint64 seq;
  gint64 at = g_get_real_time ();
  sqlite3_stmt *st;

  if (!writer_load_head (w, error))
    return FALSE;
  seq = w->seq + 1;
  /* A long transaction (a roster import) also signs every
   * FK_AUDIT_SIGN_EVERY-th entry, so that the log can be uploaded in parts
   * that each end on a signed entry and stay small. */
  checkpoint = w->unsigned_run + 1 >= FK_AUDIT_SIGN_EVERY;
  operator_id = operator_id ? operator_id : "";
  subject = subject ? subject : "";
  detail = detail ? detail : "{}";
  fk_audit_entry_hash (w->hash, seq, at, operator_id, action, subject, detail, hash);
  if (checkpoint)
    fk_identity_sign (device, hash, 32, sig);

  st = writer_stmt (w, &w->insert,
                    "INSERT INTO audit (seq, at, operator, action, subject, detail, prev, hash, sig)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, seq);
  sqlite3_bind_int64 (st, 2, at);
  sqlite3_bind_text (st, 3, operator_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, action, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, detail, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 7, w->hash, 32, SQLITE_STATIC);
  sqlite3_bind_blob (st, 8, hash, 32, SQLITE_STATIC);
  if (checkpoint)
    sqlite3_bind_blob (st, 9, sig, sizeof sig, SQLITE_STATIC);
  else
    sqlite3_bind_zeroblob (st, 9, 0);   /* signed at the end of the transaction */
  if (!writer_step (w, st, error))
    return FALSE;

  w->seq = seq;
  memcpy (w->hash, hash, 32);
  w->to_sign = TRUE;
  w->head_signed = checkpoint;
  w->unsigned_run = checkpoint ? 0 : w->unsigned_run + 1;
  return TRUE;
}

gboolean
fk_audit_writer_append (FkAuditWriter     *w,
                        const FkIdentity  *device,
                        const char        *operator_id,
                        const char        *action,
                        const char        *subject,
                        const char        *detail,
                        GError           **error)
{
  g_return_val_if_fail (device != NULL, FALSE);

  if (!sqlite3_get_autocommit (w->db))
    return writer_insert (w, device, operator_id, action, subject, detail, error);

  /* No transaction of the caller's: this entry is one of its own. */
  if (sqlite3_exec (w->db, "SAVEPOINT fk_audit", NULL, NULL, NULL) != SQLITE_OK)
    return sql_fail (w->db, error);
  fk_audit_writer_end (w);
  if (!writer_insert (w, device, operator_id, action, subject, detail, error) ||
      !fk_audit_writer_sign (w, device, error) ||
      sqlite3_exec (w->db, "RELEASE fk_audit", NULL, NULL, NULL) != SQLITE_OK)
    {
      if (error != NULL && *error == NULL)
        sql_fail (w->db, error);
      if (!sqlite3_get_autocommit (w->db))
        {
          sqlite3_exec (w->db, "ROLLBACK TO fk_audit", NULL, NULL, NULL);
          sqlite3_exec (w->db, "RELEASE fk_audit", NULL, NULL, NULL);
        }
      fk_audit_writer_end (w);
      return FALSE;
    }
  fk_audit_writer_end (w);
  return TRUE;
}

static gboolean
read_head (sqlite3  *db,
           gint64   *seq,
           guint8    hash[32],
           GError  **error)
{
  sqlite3_stmt *st = NULL;
  int rc;

  *seq = 0;
  memset (hash, 0, 32);
  if (sqlite3_prepare_v2 (db, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
    return sql_fail (db, error);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      *seq = sqlite3_column_int64 (st, 0);
      if (sqlite3_column_bytes (st, 1) == 32)
        memcpy (hash, sqlite3_column_blob (st, 1), 32);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sql_fail (db, error);
  return TRUE;
}

/* ---- public API --------------------------------------------------------- */

void
fk_audit_entry_free (FkAuditEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->operator_id);
  g_free (entry->action);
  g_free (entry->subject);
  g_free (entry->detail);
  g_free (entry);
}

void
fk_audit_report_clear (FkAuditReport *report)
{
  g_clear_pointer (&report->reason, g_free);
  report->first_bad = 0;
  report->n_entries = 0;
}

gboolean
fk_audit_migrate (sqlite3  *db,
                  GError  **error)
{
  const char *sql =
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  prev BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  sig BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_head ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL);";

  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sql_fail (db, error);
  return TRUE;
}

gboolean
fk_audit_append (sqlite3          *db,
                 const FkIdentity *device,
                 const char       *operator_id,
                 const char       *action,
                 const char       *subject,
                 const char       *detail,
                 GError          **error)
{
  FkAuditWriter *w;
  gboolean ok;

  g_return_val_if_fail (device != NULL, FALSE);

  w = fk_audit_writer_new (db);
  ok = fk_audit_writer_append (w, device, operator_id, action, subject, detail, error) &&
       fk_audit_writer_sign (w, device, error);
  fk_audit_writer_free (w);
  return ok;
}

static void
report_bad (FkAuditReport *report,
            gint64         seq,
            char          *reason)
{
  if (report->first_bad == 0)
    {
      report->first_bad = seq;
      report->reason = reason;
    }
  else
    g_free (reason);
}

gboolean
fk_audit_verify (sqlite3       *db,
                 const guint8  *device_public_key,
                 FkAuditReport *report,
                 GError       **error)
{
  sqlite3_stmt *st = NULL;
  guint8 prev[32] = { 0 };
  gint64 expected_seq = 1;
  gint64 unsigned_from = 0;  /* first of the unsigned entries since the last signed one */
  gint64 head_seq;
  guint8 head_hash[32];
  int rc;

  memset (report, 0, sizeof *report);
  if (!read_head (db, &head_seq, head_hash, error))
    return FALSE;

  if (sqlite3_prepare_v2 (db,
                          "SELECT seq, at, operator, action, subject, detail, prev, hash, sig"
                          " FROM audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return sql_fail (db, error);

  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 seq = sqlite3_column_int64 (st, 0);
      gint64 at = sqlite3_column_int64 (st, 1);
      const char *op = (const char *) sqlite3_column_text (st, 2);
      const char *action = (const char *) sqlite3_column_text (st, 3);
      const char *subject = (const char *) sqlite3_column_text (st, 4);
      const char *detail = (const char *) sqlite3_column_text (st, 5);
      const guint8 *stored_prev = sqlite3_column_blob (st, 6);
      int prev_len = sqlite3_column_bytes (st, 6);
      const guint8 *stored_hash = sqlite3_column_blob (st, 7);
      int hash_len = sqlite3_column_bytes (st, 7);
      const guint8 *sig = sqlite3_column_blob (st, 8);
      int sig_len = sqlite3_column_bytes (st, 8);
      guint8 hash[32];

      report->n_entries++;
      if (report->first_bad != 0)
        continue;

      if (seq != expected_seq)
        {
          report_bad (report, expected_seq,
                      g_strdup_printf (_("entry %" PRId64 " is missing (the next one is %" PRId64 ")"),
                                       expected_seq, seq));
          continue;
        }
      expected_seq++;

      if (prev_len != 32 || !fk_equal (stored_prev, prev, 32))
        {
          report_bad (report, seq, g_strdup (_("it does not link to the entry before it")));
          continue;
        }

      fk_audit_entry_hash (prev, seq, at, op, action, subject, detail, hash);
      if (hash_len != 32 || !fk_equal (stored_hash, hash, 32))
        {
          report_bad (report, seq, g_strdup (_("its content was changed after it was written")));
          continue;
        }
      /* Only the last entry of each transaction is signed; the signature
       * covers the others through the chain. */
      if (sig_len == 0)
        {
          if (unsigned_from == 0)
            unsigned_from = seq;
        }
      else if (sig_len != crypto_sign_BYTES ||
               !fk_signature_verify (device_public_key, hash, 32, sig))
        {
          report_bad (report, seq, g_strdup (_("its signature is not this device's")));
          continue;
        }
      else
        unsigned_from = 0;
      memcpy (prev, hash, 32);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_fail (db, error);

  if (report->first_bad == 0 && unsigned_from != 0)
    report_bad (report, unsigned_from,
                g_strdup (_("no signature of this device covers it: it and the entries after it are unsigned "
                                "(the log must end with a signed entry)")));
  if (report->first_bad == 0)
    {
      gint64 last = expected_seq - 1;

      if (head_seq != last || (last > 0 && !fk_equal (head_hash, prev, 32)))
        report_bad (report, last + 1,
                    g_strdup_printf (_("the log ends at entry %" PRId64 " but the device wrote %" PRId64 " entries: entries were removed"),
                                     last, head_seq));
    }
  return TRUE;
}

GPtrArray *
fk_audit_entries (sqlite3     *db,
                  const char  *subject,
                  GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) fk_audit_entry_free);
  sqlite3_stmt *st = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db,
                          subject ? "SELECT seq, at, operator, action, subject, detail FROM audit WHERE subject = ? ORDER BY seq"
                                  : "SELECT seq, at, operator, action, subject, detail FROM audit ORDER BY seq",
                          -1, &st, NULL) != SQLITE_OK)
    {
      sql_fail (db, error);
      return NULL;
    }
  if (subject)
    sqlite3_bind_text (st, 1, subject, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      FkAuditEntry *e = g_new0 (FkAuditEntry, 1);

      e->seq = sqlite3_column_int64 (st, 0);
      e->at = sqlite3_column_int64 (st, 1);
      e->operator_id = g_strdup ((const char *) sqlite3_column_text (st, 2));
      e->action = g_strdup ((const char *) sqlite3_column_text (st, 3));
      e->subject = g_strdup ((const char *) sqlite3_column_text (st, 4));
      e->detail = g_strdup ((const char *) sqlite3_column_text (st, 5));
      g_ptr_array_add (out, e);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      sql_fail (db, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}
