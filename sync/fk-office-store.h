/* fk-office-store.h — everything the office server keeps, behind one narrow
 * interface (DESIGN.md §7).
 *
 * This header is the seam for a second back end: the SQLite implementation
 * in fk-office-store.c serves one office; a PostgreSQL implementation of the
 * same functions can serve a whole city without the server, the command line
 * or the tests changing.  Nothing outside fk-office-store.c sees SQL.  The
 * interface is grouped by area: opening and keys, invites and devices,
 * packets, reviews and the change feed, device audit logs, the office's own
 * audit log.
 *
 * Every function is safe to call from several threads (the SQLite store
 * serialises writes on one connection; device and packet lookups
 * read through a second one).  Times are Unix seconds, UTC, except
 * audit entry times, which are microseconds as on the device.
 *
 * Packet bytes.  A packet that arrived whole in one request (at most
 * FK_OFFICE_INLINE_PACKET_BYTES) is kept by the store with its row: up to
 * FK_OFFICE_SEGMENT_MIN_BYTES in the database, in the same transaction;
 * above that appended to the store's segment file, fdatasync'd before that
 * transaction (fk-office-store.c, "segments").  A larger one lives in
 * DATA_DIR/packets/<packet_id>.fkp (fk-office-server.c writes it, fsync'd,
 * and renames it into place; fk_office_store_insert_packet fsyncs the
 * folder before the row that makes it "stored" is committed).  Read either
 * kind with fk_office_store_packet_bytes.
 */
#pragma once

#include <glib.h>

#include "crypto/fk-identity.h"
#include "crypto/fk-vault.h"

G_BEGIN_DECLS

#define FK_OFFICE_ERROR (fk_office_error_quark ())

typedef enum {
  FK_OFFICE_ERROR_FAILED,           /* internal failure; the message says what */
  FK_OFFICE_ERROR_NOT_INITIALIZED,  /* no office in this data folder yet */
  FK_OFFICE_ERROR_EXISTS,           /* already set up / duplicate */
  FK_OFFICE_ERROR_NOT_FOUND,
  FK_OFFICE_ERROR_WRONG_PASSPHRASE,
  FK_OFFICE_ERROR_INVALID,          /* the input is not valid; the message says why */
  FK_OFFICE_ERROR_INVITE_INVALID,   /* unknown invite or wrong proof */
  FK_OFFICE_ERROR_INVITE_USED,
  FK_OFFICE_ERROR_INVITE_EXPIRED,
  FK_OFFICE_ERROR_FULL,             /* all device numbers 1..99 are taken */
  FK_OFFICE_ERROR_CONFLICT,         /* a packet id already stored with other bytes */
  FK_OFFICE_ERROR_BAD_PACKET,
  FK_OFFICE_ERROR_BAD_MANIFEST,
  FK_OFFICE_ERROR_BAD_AUDIT,
  FK_OFFICE_ERROR_UNKNOWN_DEVICE,
  FK_OFFICE_ERROR_REVOKED,
} FkOfficeError;

GQuark fk_office_error_quark (void);

#define FK_OFFICE_MAX_DEVICES 99

/* Packets up to this size are kept inside office.db rather than as files:
 * up to FK_OFFICE_SEGMENT_MIN_BYTES in office.db itself, larger ones
 * appended to a segment file (DATA_DIR/packets/segment-N.fks) whose place
 * office.db records. */
#define FK_OFFICE_INLINE_PACKET_BYTES (1024 * 1024)
#define FK_OFFICE_SEGMENT_MIN_BYTES (64 * 1024)

typedef struct _FkOfficeStore FkOfficeStore;

/* The office's unlocked keys.  The vault holds the office data key that
 * seals the two secret keys (fk_vault_seal_record, table "office_keys"). */
typedef struct {
  FkVault    *vault;
  FkIdentity *sign;          /* OS */
  FkBoxKey   *box;           /* OB */
  char       *key_id;        /* §1 office key id */
  char       *fingerprint;   /* §1 office fingerprint */
  char       *office_code;
  char       *admin;         /* who unlocked */
} FkOfficeKeys;

void fk_office_keys_free (FkOfficeKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOfficeKeys, fk_office_keys_free)

typedef struct {
  char   *device_id;
  guint   number;
  char   *name;            /* the name the administrator gave the invite */
  char   *device_name;     /* the name the device sent */
  guint8  sign_pk[32];
  gint64  enrolled_at;
  gint64  last_seen;       /* 0: never */
  gint64  revoked_at;      /* 0: not revoked */
  guint   n_packets;
} FkOfficeDevice;

void fk_office_device_free (FkOfficeDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOfficeDevice, fk_office_device_free)

/* What the office knows of a packet without opening it: the manifest. */
typedef struct {
  gint64  number;          /* office receipt order, 1, 2, … */
  char   *packet_id;
  char   *device_id;
  guint   device_number;
  gint64  device_seq;
  char   *case_uuid;
  char   *receipt_no;
  char   *service;
  char   *outing_kind;
  char   *outing_id;       /* the outing's id on its device ("O2"); NULL for packets sealed before it was sent */
  char   *outing_date;     /* ISO 8601 date of that outing, or NULL */
  char   *corrects_receipt; /* a correction (補正): the receipt number of the case it corrects, as its manifest says, or NULL */
  char   *packet_hash;
  gint64  size;
  gint64  received_at;
  char   *review;          /* "pending", "approved" or "returned" */
  char   *review_reason;
  char   *ack;             /* the ack envelope, exactly as first sent */
  char   *manifest;
} FkOfficePacket;

void fk_office_packet_free (FkOfficePacket *packet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOfficePacket, fk_office_packet_free)

typedef struct {
  gint64  seq;
  char   *kind;            /* "review" */
  char   *packet_id;
  char   *case_uuid;
  char   *receipt_no;
  char   *decision;        /* "approved", "returned" */
  char   *reason;          /* or NULL */
} FkOfficeChange;

void fk_office_change_free (FkOfficeChange *change);

/* One device audit entry as uploaded (PROTOCOL §3.6). */
typedef struct {
  gint64  seq;
  gint64  at;
  char   *operator_id;
  char   *action;
  char   *subject;
  char   *detail;
  guint8  prev[32];
  guint8  hash[32];
  guint8  sig[64];
  gboolean has_sig;   /* FALSE: the device signed a later entry instead (§3.6) */
} FkOfficeAuditEntry;

void fk_office_audit_entry_free (FkOfficeAuditEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOfficeAuditEntry, fk_office_audit_entry_free)

/* ---- opening and keys ---------------------------------------------------- */

/* Opens (creating the folder and the database when missing) DATA_DIR/office.db. */
FkOfficeStore *fk_office_store_open        (const char     *data_dir,
                                            GError        **error);
void           fk_office_store_free        (FkOfficeStore  *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOfficeStore, fk_office_store_free)

const char    *fk_office_store_data_dir    (FkOfficeStore  *store);
gboolean       fk_office_store_is_initialized (FkOfficeStore *store);

/* Makes the office keys, seals them under a fresh office data key, adds the
 * first administrator's passphrase slot (FK_KDF_STRENGTH_OPERATOR) and a
 * recovery slot.  Returns the unlocked keys; *recovery_key is shown once
 * (free with fk_recovery_key_free). */
FkOfficeKeys  *fk_office_store_init        (FkOfficeStore  *store,
                                            const char     *office_code,
                                            const char     *admin,
                                            const char     *passphrase,
                                            char          **recovery_key,
                                            GError        **error);
/* Tries every administrator slot (and the recovery slot when the text is a
 * recovery key). */
FkOfficeKeys  *fk_office_store_unlock      (FkOfficeStore  *store,
                                            const char     *passphrase,
                                            GError        **error);
gboolean       fk_office_store_add_admin   (FkOfficeStore  *store,
                                            FkOfficeKeys   *keys,
                                            const char     *name,
                                            const char     *passphrase,
                                            GError        **error);
/* Opens the office keys with the recovery key only (typed in any case,
 * with or without dashes); FK_OFFICE_ERROR_WRONG_PASSPHRASE when it is not
 * this office's. */
FkOfficeKeys  *fk_office_store_unlock_recovery (FkOfficeStore  *store,
                                                const char     *recovery_key,
                                                GError        **error);
/* Gives administrator `name` a new passphrase, in one transaction: their
 * passphrase slots are replaced by one for `passphrase`, or one is added
 * when they have none.  *replaced (may be NULL) gets how many were
 * replaced.  For `recover`, once the recovery key has opened `keys`. */
gboolean       fk_office_store_set_admin_passphrase (FkOfficeStore  *store,
                                                     FkOfficeKeys   *keys,
                                                     const char     *name,
                                                     const char     *passphrase,
                                                     guint          *replaced,
                                                     GError        **error);
/* A consistent copy of the office in `dest_dir` (made, mode 0700; it must
 * not exist or be empty), while the office may be serving: office.db as
 * one snapshot (SQLite's online backup, from a connection of its own, so
 * writers are not held up), then DATA_DIR/packets — packet files are
 * written once and segments only appended to, so every byte a row of the
 * snapshot points to is copied (anything newer is a harmless extra).
 * Every file is fsync'd.  Unfinished uploads are not copied.  The office
 * keys travel sealed, as they are in office.db.  *packets and *bytes (may
 * be NULL) get the number of packets in the snapshot and the bytes
 * copied. */
gboolean       fk_office_store_backup      (FkOfficeStore  *store,
                                            const char     *dest_dir,
                                            gint64         *packets,
                                            guint64        *bytes,
                                            GError        **error);
/* Public facts, no unlock: office code, key id, fingerprint, public keys. */
gboolean       fk_office_store_public      (FkOfficeStore  *store,
                                            char          **office_code,
                                            char          **key_id,
                                            guint8          sign_pk[32],
                                            guint8          box_pk[32],
                                            GError        **error);

/* ---- invites and devices ------------------------------------------------- */

/* Stores an invite by its id and proof key only; the code itself is never
 * stored, so reading the database does not let anyone enrol. */
gboolean        fk_office_store_add_invite    (FkOfficeStore *store,
                                               const char    *invite_id,
                                               const char    *name,
                                               const guint8   proof_key[32],
                                               gint64         expires_at,
                                               GError       **error);
/* §3.2 step 3 in one transaction: the invite exists, is unused and
 * unexpired, proof == H_k(sign_pk) (constant time); marks it used and
 * registers the device with the next free number. */
FkOfficeDevice *fk_office_store_enroll        (FkOfficeStore *store,
                                               const char    *invite_id,
                                               const guint8   proof[32],
                                               const guint8   sign_pk[32],
                                               const char    *device_name,
                                               gint64         now,
                                               GError       **error);
/* By device id, or by number when `key` is 1..99. */
FkOfficeDevice *fk_office_store_get_device    (FkOfficeStore *store,
                                               const char    *key,
                                               GError       **error);
GPtrArray      *fk_office_store_list_devices  (FkOfficeStore *store,
                                               GError       **error);
gboolean        fk_office_store_revoke_device (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64         now,
                                               GError       **error);
/* By device id only, without counting its packets (n_packets is 0): the
 * lookup of every authenticated request. */
FkOfficeDevice *fk_office_store_lookup_device (FkOfficeStore *store,
                                               const char    *device_id,
                                               GError       **error);
/* Records that the device was heard from (at most once a minute hits disk). */
void            fk_office_store_touch_device  (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64         now);

/* ---- packets ------------------------------------------------------------- */

/* By packet id, receipt number (the newest packet with it) or case uuid
 * (no index: for an administrator's command, not for every request); NULL
 * without an error when absent. */
FkOfficePacket *fk_office_store_get_packet    (FkOfficeStore *store,
                                               const char    *key,
                                               GError       **error);
/* By packet id only (the server, on every upload). */
FkOfficePacket *fk_office_store_get_packet_by_id (FkOfficeStore *store,
                                                  const char    *packet_id,
                                                  GError       **error);
/* Inserts the row.  With `bytes`, the packet itself goes into the database
 * in the same transaction (at most FK_OFFICE_INLINE_PACKET_BYTES).  With
 * NULL, the caller has written the packet file, fsync'd it and renamed it
 * into DATA_DIR/packets; before the row is committed the store fsyncs that
 * folder, so the file's name is durable before any row refers to it.  Rows
 * from concurrent callers are group-committed: at most one folder fsync and
 * one transaction (one WAL fsync) for all rows waiting at that moment, and
 * each call returns once its own row is on disk.  FK_OFFICE_ERROR_EXISTS
 * when the id is already stored.  `announced`: the caller announced this
 * row with fk_office_store_expect_packet, and this call redeems that. */
gboolean        fk_office_store_insert_packet (FkOfficeStore        *store,
                                               const FkOfficePacket *packet,
                                               GBytes               *bytes,
                                               gboolean              announced,
                                               GError              **error);
/* A request whose whole packet has arrived announces the row it will
 * probably insert, so that a group commit starting meanwhile waits briefly
 * (at most 1 ms) for it rather than committing without it.  Every
 * announcement is redeemed by fk_office_store_insert_packet (announced =
 * TRUE) or withdrawn with fk_office_store_expect_cancel. */
void            fk_office_store_expect_packet (FkOfficeStore        *store);
void            fk_office_store_expect_cancel (FkOfficeStore        *store);
/* A stored packet's file bytes, from the database or from its file;
 * FK_OFFICE_ERROR_NOT_FOUND when neither holds it. */
GBytes         *fk_office_store_packet_bytes  (FkOfficeStore *store,
                                               const char    *packet_id,
                                               GError       **error);
GPtrArray      *fk_office_store_list_packets  (FkOfficeStore *store,
                                               const char    *device_id,
                                               const char    *outing,      /* an outing id or kind, or NULL */
                                               GError       **error);
gint64          fk_office_store_count_packets (FkOfficeStore *store);

/* ---- reviews and the change feed ----------------------------------------- */

/* decision "approved" or "returned" (with a reason); adds a change for the
 * packet's device in the same transaction. */
gboolean        fk_office_store_review        (FkOfficeStore *store,
                                               const char    *packet_id,
                                               const char    *decision,
                                               const char    *reason,
                                               gint64         now,
                                               GError       **error);
/* Any other change for a device, e.g. kind "handover" with a payload sealed
 * to that device. */
gboolean        fk_office_store_add_change    (FkOfficeStore *store,
                                               const char    *device_id,
                                               const char    *kind,
                                               const char    *payload,
                                               gint64         now,
                                               GError       **error);
/* Changes for a device with seq > since, in order, at most `limit`. */
GPtrArray      *fk_office_store_changes       (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64         since,
                                               guint          limit,
                                               GError       **error);

/* ---- device audit logs --------------------------------------------------- */

/* The last stored entry of a device: seq 0 and zero hash when none. */
gboolean        fk_office_store_audit_head    (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64        *seq,
                                               guint8         hash[32],
                                               GError       **error);
/* The hash of entry `seq` of a device; FALSE when it is not stored. */
gboolean        fk_office_store_audit_hash_at (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64         seq,
                                               guint8         hash[32]);
/* Appends already verified entries (FkOfficeAuditEntry*) in one transaction;
 * refuses if the head moved since the caller read it. */
gboolean        fk_office_store_audit_append  (FkOfficeStore *store,
                                               const char    *device_id,
                                               gint64         expect_head,
                                               GPtrArray     *entries,
                                               GError       **error);
GPtrArray      *fk_office_store_audit_entries (FkOfficeStore *store,
                                               const char    *device_id,
                                               GError       **error);

/* ---- the office's own audit log ------------------------------------------ */

/* Admin actions (invite, revoke, review, import, admin add), hash-chained:
 * hash = H("fk-office-audit-v1" || prev || u64 seq || u64 at || admin \0
 * action \0 subject \0 detail \0).  Never personal data. */
gboolean        fk_office_store_log           (FkOfficeStore *store,
                                               const char    *admin,
                                               const char    *action,
                                               const char    *subject,
                                               const char    *detail,
                                               GError       **error);

G_END_DECLS
