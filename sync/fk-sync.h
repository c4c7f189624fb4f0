/* fk-sync.h — the device side of the sync protocol (docs/PROTOCOL.md):
 * enrolment, upload with resume and retries, the office's answers, the
 * audit log upload, and USB bundles.  libcurl: packets go up several at
 * once (FIELDKIT_SYNC_PARALLEL, default 8; together holding at most
 * FIELDKIT_SYNC_BYTES_IN_FLIGHT, default 64 MiB, but always one), each
 * worker with its own keep-alive connection; everything else on one
 * connection. */
#pragma once

#include <gio/gio.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

#define FK_SYNC_ERROR (fk_sync_error_quark ())

typedef enum {
  FK_SYNC_ERROR_NETWORK,       /* the office could not be reached */
  FK_SYNC_ERROR_FINGERPRINT,   /* the office's key is not the one given */
  FK_SYNC_ERROR_REFUSED,       /* the office said no; the message says why */
  FK_SYNC_ERROR_PROTOCOL,      /* an answer that does not verify or parse */
  FK_SYNC_ERROR_REVOKED,       /* this device was revoked by the office */
  FK_SYNC_ERROR_NOT_ENROLLED,
  FK_SYNC_ERROR_CANCELLED,
} FkSyncError;

GQuark   fk_sync_error_quark (void);

/* PROTOCOL §3.2.  device_name may be NULL (the host name is used). */
gboolean fk_sync_enroll      (FkStore      *store,
                              const char   *url,
                              const char   *code,
                              const char   *fingerprint,
                              const char   *device_name,
                              GError      **error);

typedef struct {
  gint64  case_id;
  char   *packet_id;
  char   *receipt_no;
  char   *client_status;   /* "sent", "already at the office", "waiting", "quarantined" */
  char   *server_status;   /* "stored", "approved", "returned", or NULL */
  char   *message;         /* what went wrong, for a clerk */
} FkSyncCase;

typedef struct {
  guint      uploaded;
  guint      waiting;
  guint      quarantined;
  guint      answers;
  int        catalog_version;  /* a newer catalog applied in this run, or 0 */
  guint      handovers;        /* cards received for hand-over in this run */
  gsize      bytes_sent;
  gboolean   revoked;
  GPtrArray *cases;        /* FkSyncCase* */
} FkSyncReport;

void     fk_sync_report_clear (FkSyncReport *report);

/* Progress of one packet: bytes acknowledged by the office so far. */
typedef void (*FkSyncProgressFunc) (const char *packet_id,
                                    gsize       done,
                                    gsize       total,
                                    gpointer    user_data);

/* Uploads what waits, sends the audit log, applies the office's answers.
 * Returns FALSE only when the office could not be used at all (then
 * *report still says what happened to each case). */
gboolean fk_sync_run         (FkStore            *store,
                              FkSyncProgressFunc  progress,
                              gpointer            user_data,
                              FkSyncReport       *report,
                              GCancellable       *cancellable,
                              GError            **error);

/* The same, off the main thread: opens its own handle on the data folder,
 * unlocked with the same operator's passphrase. */
void     fk_sync_run_async   (const char          *data_dir,
                              const char          *operator_id,
                              const char          *passphrase,
                              FkSyncProgressFunc   progress,
                              gpointer             user_data,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             callback_data);
gboolean fk_sync_run_finish  (GAsyncResult        *result,
                              FkSyncReport        *report,
                              GError             **error);

/* PROTOCOL §5: every waiting packet and the audit log into one file. */
gboolean fk_bundle_export    (FkStore     *store,
                              const char  *path,
                              guint       *n_packets,
                              GError     **error);

/* A hand-over list file exported by the office (fieldkit-office handover
 * publish --export): verified with the pinned office key, opened with the
 * device key, applied.  Returns the number of new hand-over drafts. */
gint64   fk_handover_import  (FkStore     *store,
                              const char  *path,
                              char       **outing_id,
                              GError     **error);

/* What the next fk_sync_run will try to upload: the packets built and not
 * in quarantine; *bytes (may be NULL) gets their size together.  For a
 * progress line that counts the whole run. */
guint    fk_sync_count_waiting (FkStore  *store,
                                guint64  *bytes);

/* Full-jitter backoff of PROTOCOL §6 for attempt n (from 0), in µs. */
gint64   fk_sync_backoff_us  (guint attempt);

G_END_DECLS
