/* fk-audit.h — the device's hash-chained, signed audit log.
 *
 * Each entry holds who, what, on which subject and a small JSON detail that
 * never carries personal data.  Entry n's hash is
 *   BLAKE2b-256( "fk-audit-v1" || prev_hash || seq (u64 BE) || at (i64 BE)
 *                || operator || 0 || action || 0 || subject || 0 || detail || 0 )
 * with prev_hash of the first entry 32 zero bytes, and its signature is
 * Ed25519 over that hash with the device key.  The head (last seq and hash)
 * is also kept in the audit_head table so a cut tail is noticed.
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

/* Appends one entry inside the caller's transaction. */
gboolean  fk_audit_append     (sqlite3          *db,
                               const FkIdentity *device,
                               const char       *operator_id,
                               const char       *action,
                               const char       *subject,
                               const char       *detail,
                               GError          **error);

typedef struct {
  guint   n_entries;
  gint64  first_bad;    /* seq of the first bad entry, 0 when all good */
  char   *reason;       /* what is wrong with it, or NULL */
} FkAuditReport;

void      fk_audit_report_clear (FkAuditReport *report);

/* Checks every entry in order: the chain, each hash, each signature and the
 * head.  Returns FALSE only when it could not read the log; a broken chain is
 * reported in *report. */
gboolean  fk_audit_verify     (sqlite3       *db,
                               const guint8  *device_public_key,
                               FkAuditReport *report,
                               GError       **error);

/* Entries in order, newest last; subject NULL for all. */
GPtrArray *fk_audit_entries   (sqlite3     *db,
                               const char  *subject,
                               GError     **error);

G_END_DECLS
