/* fk-audit.h — the device's hash-chained, signed audit log.
 *
 * Each entry holds who, what, on which subject and a small JSON detail that
 * never carries personal data.  Entry n's hash is
 *   BLAKE2b-256( "fk-audit-v1" || prev_hash || seq (u64 BE) || at (i64 BE)
 *                || operator || 0 || action || 0 || subject || 0 || detail || 0 )
 * with prev_hash of the first entry 32 zero bytes.  The device signs with
 * Ed25519 the hash of the LAST entry each transaction writes (one store
 * call, or a whole batch), and in a long transaction also every
 * FK_AUDIT_SIGN_EVERY-th entry; the other entries keep an empty signature
 * (a zero-length sig blob).  Through the chain, a signature
 * covers every entry before it, so a log is good when every hash is right,
 * every signature present verifies, and the last entry is signed.  The head
 * (last seq and hash) is also kept in the audit_head table so a cut tail is
 * noticed.  See docs/PROTOCOL.md §3.6.
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include "crypto/fk-identity.h"

G_BEGIN_DECLS

typedef struct {
  gint64  seq;
  gint64  at;          /* microseconds since the epoch, UTC */
  char   *operator_id;
  char   *action;
  char   *subject;
  char   *detail;
} FkAuditEntry;

void      fk_audit_entry_free (FkAuditEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkAuditEntry, fk_audit_entry_free)

/* The entry hash above; the office uses it to verify uploaded logs. */
void      fk_audit_entry_hash (const guint8 prev[32],
                               gint64       seq,
                               gint64       at,
                               const char  *operator_id,
                               const char  *action,
                               const char  *subject,
                               const char  *detail,
                               guint8       out[32]);

/* Creates the table (called by store migrations). */
gboolean  fk_audit_migrate    (sqlite3    *db,
                               GError    **error);

/* Appends one entry and signs it at once (outside or inside a transaction
 * of the caller).  A store uses an FkAuditWriter instead. */
gboolean  fk_audit_append     (sqlite3          *db,
                               const FkIdentity *device,
                               const char       *operator_id,
                               const char       *action,
                               const char       *subject,
                               const char       *detail,
                               GError          **error);

/* A transaction longer than this also signs every FK_AUDIT_SIGN_EVERY-th
 * entry, so that no more than FK_AUDIT_SIGN_EVERY - 1 unsigned entries come
 * before a signed one (PROTOCOL.md §3.6: the log goes up in parts that end
 * on signed entries and must stay under the body limit). */
#define FK_AUDIT_SIGN_EVERY 256

/* The audit log as one store writes it: its statements stay prepared for
 * the life of the connection, the head stays in memory for the length of a
 * transaction (and is written to audit_head once, at the end), and the
 * transaction's last entry is signed once, just before COMMIT.  The store
 * tells the writer where its transactions end:
 *
 *   BEGIN IMMEDIATE              fk_audit_writer_end (forget any old head)
 *   after ROLLBACK TO a savepoint  fk_audit_writer_rollback_to
 *   fk_audit_writer_sign, then COMMIT
 *   after COMMIT or ROLLBACK     fk_audit_writer_end
 *
 * Transactions must take the write lock (BEGIN IMMEDIATE): the writer counts
 * every entry after the head it began with as its own.  An entry appended
 * while the connection is in autocommit mode is signed at once.  Free the
 * writer before closing the connection. */
typedef struct _FkAuditWriter FkAuditWriter;

FkAuditWriter *fk_audit_writer_new         (sqlite3          *db);
void           fk_audit_writer_free        (FkAuditWriter    *writer);

/* Appends one entry inside the caller's transaction, unsigned. */
gboolean       fk_audit_writer_append      (FkAuditWriter    *writer,
                                            const FkIdentity *device,
                                            const char       *operator_id,
                                            const char       *action,
                                            const char       *subject,
                                            const char       *detail,
                                            GError          **error);

/* Signs the last entry of the open transaction, if it wrote any; call it
 * just before COMMIT.  Fails (and the caller must roll back) when device
 * is NULL while there is something to sign. */
gboolean       fk_audit_writer_sign        (FkAuditWriter    *writer,
                                            const FkIdentity *device,
                                            GError          **error);

void           fk_audit_writer_rollback_to (FkAuditWriter    *writer);
void           fk_audit_writer_end         (FkAuditWriter    *writer);

typedef struct {
  guint   n_entries;
  gint64  first_bad;    /* seq of the first bad entry, 0 when all good */
  char   *reason;       /* what is wrong with it, or NULL */
} FkAuditReport;

void      fk_audit_report_clear (FkAuditReport *report);

/* Checks every entry in order: the chain, each hash, each signature present
 * (an entry may be unsigned only when a signed entry follows it), that the
 * last entry is signed, and the head.  Returns FALSE only when it could not
 * read the log; a broken chain is reported in *report. */
gboolean  fk_audit_verify     (sqlite3       *db,
                               const guint8  *device_public_key,
                               FkAuditReport *report,
                               GError       **error);

/* Entries in order, newest last; subject NULL for all. */
GPtrArray *fk_audit_entries   (sqlite3     *db,
                               const char  *subject,
                               GError     **error);

G_END_DECLS
