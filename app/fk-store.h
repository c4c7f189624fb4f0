/* fk-store.h — the encrypted offline case store (DESIGN.md §4).
 *
 * One SQLite file per device (DATA_DIR/fieldkit.db) in WAL mode with
 * synchronous=FULL and foreign keys on; migrations by user_version.  Every
 * value that identifies a person is sealed with the vault (crypto/fk-vault.h)
 * before it reaches SQLite; the plain columns hold ids, kinds, status, times
 * and the blind index only.  The rules of the case lifecycle live here and
 * nowhere else: whoever asks — command line, window or sync — gets the same
 * answer.
 */
#pragma once

#include <glib.h>

#include "app/fk-catalog.h"
#include "crypto/fk-identity.h"

G_BEGIN_DECLS

#define FK_STORE_ERROR (fk_store_error_quark ())

typedef enum {
  FK_STORE_ERROR_FAILED,          /* an internal failure; the message says what */
  FK_STORE_ERROR_BUSY,            /* another process holds the store too long */
  FK_STORE_ERROR_FULL,            /* the disk is full */
  FK_STORE_ERROR_READ_ONLY,       /* the data folder cannot be written */
  FK_STORE_ERROR_NEWER,           /* the file was written by a newer FieldKit */
  FK_STORE_ERROR_NOT_INITIALIZED, /* no device set up in this folder yet */
  FK_STORE_ERROR_EXISTS,          /* already set up / duplicate id */
  FK_STORE_ERROR_NOT_FOUND,
  FK_STORE_ERROR_LOCKED,          /* the store must be unlocked first */
  FK_STORE_ERROR_WRONG_PASSPHRASE,
  FK_STORE_ERROR_WAIT,            /* too many wrong passphrases: wait first */
  FK_STORE_ERROR_DAMAGED,         /* a stored record does not verify */
  FK_STORE_ERROR_REFUSED,         /* a lifecycle or permission rule says no */
  FK_STORE_ERROR_INVALID,         /* the input is not valid; the message says why */
  FK_STORE_ERROR_CORRUPT,         /* SQLite says the file itself is malformed */
  FK_STORE_ERROR_PURGED,          /* the personal data was removed after upload (retention) */
} FkStoreError;

GQuark fk_store_error_quark (void);

#define FK_SCHEMA_VERSION 4

typedef struct _FkStore FkStore;

/* Lifecycle of DESIGN.md §4. */
typedef enum {
  FK_CASE_DRAFT,
  FK_CASE_CHECKED,
  FK_CASE_APPROVED,
  FK_CASE_SEALED,
  FK_CASE_UPLOADED,
  FK_CASE_ACCEPTED,
  FK_CASE_RETURNED,
  FK_CASE_CLOSED,
} FkCaseStatus;

const char   *fk_case_status_name  (FkCaseStatus status);   /* "draft" … */
const char   *fk_case_status_label (FkCaseStatus status);   /* localized */
gboolean      fk_case_status_parse (const char *name, FkCaseStatus *out);

typedef enum {
  FK_ROLE_STAFF,
  FK_ROLE_SUPERVISOR,
} FkRole;

const char   *fk_role_name (FkRole role);

extern const char *const fk_outing_kinds[];   /* NULL-terminated */
const char   *fk_outing_kind_label (const char *kind);

typedef struct {
  char   *id;
  FkRole  role;
  char   *name;        /* NULL while locked */
  gint64  created_at;
} FkOperator;

typedef struct {
  char   *id;          /* "O1", "O2", … */
  char   *kind;
  char   *date;        /* ISO 8601 */
  char   *title;       /* NULL while locked or when damaged */
  char   *place;
  guint   n_cases;
  gint64  created_at;
} FkOuting;

typedef struct {
  gint64  id;
  char   *kind;        /* "photo", "signature" */
  char   *mime;
  gsize   size;
} FkAttachmentInfo;

typedef struct {
  gint64        id;            /* local number the clerk types: 1, 2, … */
  char         *uuid;          /* globally unique, travels with the packet */
  char         *outing_id;
  char         *service;
  FkCaseStatus  status;
  guint64       version;
  char         *receipt_no;    /* set when sealed */
  gint64        supersedes;    /* the case this one corrects, 0 if none */
  char         *created_by;
  char         *checked_by;
  char         *approved_by;
  char         *sealed_by;
  gint64        created_at;
  gint64        updated_at;
  gint64        sealed_at;
  GStrv         ticked;        /* checklist item ids seen */
  /* Personal data: NULL when the record could not be opened (see damaged). */
  char         *person_id;
  char         *name;
  char         *birth_date;    /* ISO 8601 */
  GHashTable   *fields;        /* key → value (char*) */
  char         *damaged;       /* why personal data could not be opened, or NULL */
  GPtrArray    *attachments;   /* FkAttachmentInfo* */
} FkCase;

void          fk_operator_free (FkOperator *op);
void          fk_outing_free   (FkOuting *outing);
void          fk_case_free     (FkCase *kase);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOperator, fk_operator_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOuting, fk_outing_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkCase, fk_case_free)

/* What a new case is made of.  Values are as typed; the store normalizes
 * and validates them against the service catalog. */
typedef struct {
  const char  *outing_id;
  const char  *service;
  const char  *person_id;
  const char  *name;
  const char  *birth_date;     /* any form fk_date_parse accepts, or NULL */
  GHashTable  *fields;         /* key → value, or NULL */
  GBytes      *photo;          /* or NULL */
  const char  *photo_mime;
  GBytes      *signature;      /* or NULL */
  const char  *signature_mime;
} FkCaseInput;

/* ---- opening, setting up, unlocking --------------------------------- */

/* Default data folder: $FIELDKIT_DATA_HOME, else $XDG_DATA_HOME/fieldkit. */
char         *fk_store_default_dir (void);

/* Opens (creating the folder and file when missing) and migrates.  Does not
 * unlock.  A file from a newer FieldKit gives FK_STORE_ERROR_NEWER and is
 * left untouched. */
FkStore      *fk_store_open        (const char *data_dir,
                                    GError    **error);
void          fk_store_close       (FkStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkStore, fk_store_close)

const char   *fk_store_data_dir    (FkStore *store);
const FkCatalog *fk_store_catalog  (FkStore *store);
gboolean      fk_store_is_initialized (FkStore *store);

/* First run: makes the device data key, the first operator (a supervisor)
 * with its passphrase slot, a recovery slot, and the device's Ed25519
 * identity.  Returns the recovery key to show once (free with
 * fk_recovery_key_free).  Leaves the store unlocked as that operator. */
gboolean      fk_store_init_device (FkStore    *store,
                                    const char *operator_id,
                                    const char *operator_name,
                                    const char *passphrase,
                                    const char *office_code,
                                    guint       device_number,
                                    char      **recovery_key,
                                    GError    **error);

/* Unlocks as operator_id.  Wrong passphrases count per operator; from the
 * third in a row each further attempt must wait (1 s, 2 s, 4 s … up to
 * 5 min); an early attempt gives FK_STORE_ERROR_WAIT without trying. */
gboolean      fk_store_unlock      (FkStore    *store,
                                    const char *operator_id,
                                    const char *passphrase,
                                    GError    **error);
/* Unlocks with the recovery key and sets a new passphrase for operator_id. */
gboolean      fk_store_recover     (FkStore    *store,
                                    const char *recovery_key,
                                    const char *operator_id,
                                    const char *new_passphrase,
                                    GError    **error);
/* Seconds until operator_id may try again (0 when it may now). */
guint         fk_store_unlock_wait (FkStore    *store,
                                    const char *operator_id);
/* Wipes the data key from memory. */
void          fk_store_lock        (FkStore *store);
gboolean      fk_store_is_unlocked (FkStore *store);
const char   *fk_store_operator    (FkStore *store);

/* Verifies a second operator's passphrase for one action (the second
 * check) without ending the first operator's session. */
gboolean      fk_store_verify_operator (FkStore    *store,
                                        const char *operator_id,
                                        const char *passphrase,
                                        GError    **error);

/* Only operators whose id is ^[a-z0-9._-]{1,32}$. */
gboolean      fk_store_operator_add (FkStore    *store,
                                     const char *operator_id,
                                     const char *name,
                                     FkRole      role,
                                     const char *passphrase,
                                     GError    **error);
GPtrArray    *fk_store_operators    (FkStore *store, GError **error);
/* The only operator's id when there is exactly one, else NULL. */
char         *fk_store_sole_operator (FkStore *store);

/* Device facts (plain): office code, device number, public key. */
const char   *fk_store_office_code  (FkStore *store);
guint         fk_store_device_number(FkStore *store);
const guint8 *fk_store_device_public_key (FkStore *store);
/* The unlocked device identity, for signing (NULL while locked). */
FkIdentity   *fk_store_device_identity (FkStore *store);

/* ---- batches -------------------------------------------------------- */

/* A batch (a class roster, a bundle of imported cases) runs many store
 * calls in one SQLite transaction, so the disk is synced once for the lot
 * instead of once per case.  Inside a batch every call keeps its own
 * all-or-nothing behaviour through a savepoint: a case that is refused
 * leaves no trace, not even in the audit log, and the batch goes on.
 *
 * Batches nest; only the outermost fk_store_end_batch commits.  If any
 * level ends with commit_changes=FALSE, the whole batch is rolled back and
 * the outermost end reports it.  If SQLite itself cancels the transaction
 * (disk full, I/O error), every later call in the batch and the end fail
 * and nothing of the batch is saved.  While a batch is open this store
 * holds the write lock, so other FieldKit processes wait
 * (FIELDKIT_BUSY_TIMEOUT_MS), and passphrases cannot be checked (unlock,
 * recover and a second operator's check are refused) so that a rolled-back
 * batch can never undo a wrong-passphrase count.  Closing the store with a
 * batch open rolls it back. */
gboolean      fk_store_begin_batch (FkStore   *store,
                                    GError   **error);
gboolean      fk_store_end_batch   (FkStore   *store,
                                    gboolean   commit_changes,
                                    GError   **error);

/* ---- outings -------------------------------------------------------- */

char         *fk_store_outing_new  (FkStore    *store,
                                    const char *kind,
                                    const char *title,
                                    const char *date,
                                    const char *place,
                                    GError    **error);
GPtrArray    *fk_store_outings     (FkStore *store, GError **error);
FkOuting     *fk_store_outing_get  (FkStore *store, const char *outing_id, GError **error);

/* ---- cases ---------------------------------------------------------- */

gint64        fk_store_case_new    (FkStore            *store,
                                    const FkCaseInput  *input,
                                    GError            **error);
/* Sets (or with value NULL, clears) one field of a draft; "name",
 * "person_id" and "birth_date" address the core fields.  A checked or
 * approved case goes back to draft; a sealed one refuses. */
gboolean      fk_store_case_set_field (FkStore    *store,
                                       gint64      case_id,
                                       const char *key,
                                       const char *value,
                                       GError    **error);
/* Adds a photo or signature to a draft, replacing one of the same kind.
 * A checked or approved case goes back to draft; a sealed one refuses. */
gboolean      fk_store_case_attach (FkStore    *store,
                                    gint64      case_id,
                                    const char *kind,
                                    const char *mime,
                                    GBytes     *data,
                                    GError    **error);
/* Marks checklist items as seen; all=TRUE ticks every item. */
gboolean      fk_store_case_tick   (FkStore            *store,
                                    gint64              case_id,
                                    const char * const *items,
                                    gboolean            all,
                                    GError            **error);
/* What stands between this case and the next step, in words a clerk
 * understands (empty when nothing does). */
GPtrArray    *fk_store_case_problems (FkStore *store, gint64 case_id, GError **error);
gboolean      fk_store_case_check  (FkStore *store, gint64 case_id, GError **error);
gboolean      fk_store_case_approve(FkStore *store, gint64 case_id, GError **error);
/* Second check with another operator's passphrase (the window's path). */
gboolean      fk_store_case_approve_as (FkStore    *store,
                                        gint64      case_id,
                                        const char *operator_id,
                                        const char *passphrase,
                                        GError    **error);
/* Seals: the case becomes immutable and gets its receipt number. */
gboolean      fk_store_case_finalize (FkStore *store,
                                      gint64   case_id,
                                      char   **receipt_no,
                                      GError **error);
FkCase       *fk_store_case_get    (FkStore *store, gint64 case_id, GError **error);
/* Accepts a local number ("12") or a receipt number. */
gboolean      fk_store_case_resolve (FkStore    *store,
                                     const char *ref,
                                     gint64     *case_id,
                                     GError    **error);
/* Listing: personal fields opened too (damaged ones marked). */
GPtrArray    *fk_store_cases       (FkStore            *store,
                                    const char         *outing_id,
                                    const FkCaseStatus *status,
                                    GError            **error);
/* Cases whose person has this ID number (blind index lookup). */
GArray       *fk_store_find        (FkStore    *store,
                                    const char *id_number,
                                    GError    **error);
GBytes       *fk_store_attachment_get (FkStore *store,
                                       gint64   attachment_id,
                                       GError **error);

/* One record that does not open, for audit verify. */
typedef struct {
  char *where;    /* "case 12", "outing O3", "operator ann", "attachment 4" */
  char *reason;
} FkDamage;

void          fk_damage_free (FkDamage *damage);

/* Opens every sealed record and compares each case with the version and
 * ciphertext hash the audit log last recorded for it.  Needs the store
 * unlocked.  Returns the damaged ones (empty when all is well). */
GPtrArray    *fk_store_verify_records (FkStore *store, GError **error);

/* The raw database: for tests, audit verify and tools only. */
struct sqlite3 *fk_store_db        (FkStore *store);

/* ---- the office connection and the outbox (sync) -------------------------- */

typedef struct {
  char   *url;
  guint8  sign_pk[32];
  guint8  box_pk[32];
  char   *key_id;
  char   *device_id;
  char   *office_code;
  guint   device_number;
  char   *tls_pin;        /* curl's "sha256//…" pin of the office's TLS key; NULL over http */
} FkOfficeInfo;

void          fk_office_info_clear  (FkOfficeInfo *info);
gboolean      fk_store_is_enrolled  (FkStore *store);
gboolean      fk_store_office       (FkStore *store, FkOfficeInfo *out);
/* Records a successful enrolment (office keys pinned, device number and
 * office code from the office) and seals the packets of cases that were
 * sealed before the device was enrolled. */
gboolean      fk_store_enrolled     (FkStore *store, const FkOfficeInfo *info, GError **error);

typedef struct {
  char   *packet_id;
  gint64  case_id;
  char   *case_uuid;
  char   *receipt_no;
  gint64  device_seq;
  gsize   size;
  char   *state;          /* "waiting", "acked", "quarantined" */
  gint64  sent_offset;
  gint    attempts;
  gint64  next_attempt;   /* µs since the epoch; 0 = now */
  char   *last_error;
  char   *server_status;  /* what the office last said, e.g. "stored", "approved", "returned" */
  char   *packet_hash;
} FkOutboxItem;

void          fk_outbox_item_free   (FkOutboxItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkOutboxItem, fk_outbox_item_free)

/* Outbox rows in device_seq order; acked ones only when asked. */
GPtrArray    *fk_store_outbox       (FkStore *store, gboolean include_acked, GError **error);
GBytes       *fk_store_outbox_packet(FkStore *store, const char *packet_id, GError **error);
/* Reads sealed packets on a read-only connection of its own, so that a
 * sync's uploads never wait for the store (and its commits) to read the
 * next packet.  A packet is ciphertext sealed to the office and needs no
 * key; what a reader sees is what was committed.  One reader per thread. */
typedef struct _FkPacketReader FkPacketReader;
FkPacketReader *fk_packet_reader_new  (FkStore *store, GError **error);
GBytes         *fk_packet_reader_read (FkPacketReader *reader, const char *packet_id, GError **error);
void            fk_packet_reader_free (FkPacketReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkPacketReader, fk_packet_reader_free)
gboolean      fk_store_outbox_progress (FkStore *store, const char *packet_id, gint64 offset, GError **error);
/* A waiting packet went into a USB bundle: all its bytes have left the
 * device, so the next sync asks the office (GET) before sending it again. */
gboolean      fk_store_outbox_exported (FkStore *store, const char *packet_id, GError **error);
/* A failed attempt: quarantine (with a message a clerk can read) or retry
 * later at next_attempt. */
gboolean      fk_store_outbox_failed (FkStore *store, const char *packet_id, gboolean quarantine,
                                      const char *message, gint64 next_attempt, GError **error);
/* Verified ack text stored; the case becomes "uploaded"; personal data is
 * purged per the retention setting (default right away). */
gboolean      fk_store_outbox_acked (FkStore *store, const char *packet_id, const char *ack_text, GError **error);
/* Quarantined → waiting again (the clerk's retry). */
gboolean      fk_store_outbox_retry (FkStore *store, const char *packet_id, GError **error);
/* A verified review result from the office: accepted or returned (補正). */
gboolean      fk_store_apply_review (FkStore *store, const char *case_uuid, gboolean approved,
                                     const char *reason, GError **error);
/* The office's reason for returning a case, or NULL. */
char         *fk_store_case_return_reason (FkStore *store, gint64 case_id, GError **error);
/* A returned case corrected as a new draft that supersedes it.  When the
 * returned case's personal data was already removed (the default
 * retention) this fails with FK_STORE_ERROR_PURGED, and the person's data
 * taken again from their documents goes to fk_store_case_correct_anew:
 * PERSON's outing and service are ignored (the returned case's are used). */
gint64        fk_store_case_correct (FkStore *store, gint64 returned_case_id, GError **error);
gint64        fk_store_case_correct_anew (FkStore            *store,
                                          gint64              returned_case_id,
                                          const FkCaseInput  *person,
                                          GError            **error);

/* Small plain settings: "changes_cursor", "audit_sent_seq", "retention_days". */
char         *fk_store_get_setting  (FkStore *store, const char *key);
gboolean      fk_store_set_setting  (FkStore *store, const char *key, const char *value, GError **error);

/* Audit entries after seq as the PUT /v1/audit body; *last gets the last seq. */
char         *fk_store_audit_export (FkStore *store, gint64 after_seq, gint64 *last, GError **error);
/* The same, at most about `limit` entries: it stops after `limit` entries at
 * the first point where the last entry taken is signed. */
char         *fk_store_audit_export_some (FkStore *store, gint64 after_seq, guint limit, gint64 *last, GError **error);

/* The seq of the newest audit entry (0 when there is none, or on failure). */
gint64        fk_store_audit_last_seq (FkStore *store);

/* Revocation: wipes every file of this device's data folder. */
gboolean      fk_store_wipe         (FkStore *store, GError **error);

/* ---- safety limits (DESIGN.md §4) ----------------------------------------- */

typedef struct {
  guint    waiting;          /* sealed packets not yet acknowledged */
  guint    waiting_limit;    /* setting "limit_waiting", default 200 */
  gint64   last_sync;        /* µs; last successful sync or bundle export, 0 never */
  gint64   oldest_waiting;   /* µs; when the oldest waiting packet was sealed, 0 none */
  guint    days_limit;       /* setting "limit_days", default 7 */
  gint64   override_until;   /* µs; a supervisor's override, 0 none */
  gboolean blocked;          /* no new cases now */
  gboolean near;             /* within 80 % of a limit */
} FkSafetyState;

void          fk_store_safety       (FkStore *store, FkSafetyState *out);
/* A supervisor lets new cases be made for `hours` despite the limits; the
 * override is in the audit log. */
gboolean      fk_store_override_limits (FkStore *store, guint hours, GError **error);
/* Called after a successful sync or bundle export. */
gboolean      fk_store_mark_synced  (FkStore *store, GError **error);

/* Reference data from the office (already verified by the caller): a
 * catalog newer than the current one replaces it, here and at every later
 * open.  An older or equal version is ignored. */
gboolean      fk_store_set_catalog  (FkStore *store, const char *catalog_json, GError **error);

/* A card hand-over list from the office (already verified and opened):
 * makes a card_handover outing with one draft per card not handed over or
 * listed before; each records the card number handed over (checked against
 * the list), the receiver's signature, and is sealed once only. */
gint64        fk_store_apply_handover (FkStore *store, const char *list_json, char **outing_id, GError **error);

G_END_DECLS
