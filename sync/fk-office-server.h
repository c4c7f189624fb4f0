/* fk-office-server.h — the office's HTTP side of docs/PROTOCOL.md §3, and
 * the verify-and-store path it shares with `bundle import` (§4.3, §5).
 *
 * The server runs libmicrohttpd with a thread per connection (a request
 * waiting for its group commit blocks only its own connection), or a pool
 * when options.threads asks for one; start and stop
 * are used both by `fieldkit-office serve` and by tests/test-office.c.
 */
#pragma once

#include <glib.h>

#include "sync/fk-office-store.h"

G_BEGIN_DECLS

#define FK_OFFICE_MAX_PACKET_BYTES  (64 * 1024 * 1024)
#define FK_OFFICE_MAX_CHUNK_BYTES   (8 * 1024 * 1024)
#define FK_OFFICE_MAX_JSON_BYTES    (1024 * 1024)
#define FK_OFFICE_CLOCK_SKEW_S      300
#define FK_OFFICE_NONCE_TTL_S       600
#define FK_OFFICE_DEFAULT_PORT      7390

typedef struct _FkOfficeServer FkOfficeServer;

typedef struct {
  const char *address;        /* IPv4 address to bind, "127.0.0.1" when NULL */
  guint16     port;           /* 0: an ephemeral port (see fk_office_server_port) */
  const char *tls_cert_pem;   /* both or neither: HTTPS */
  const char *tls_key_pem;
  guint       threads;        /* a pool of this many threads; 0: a thread per connection */
  /* Test-only fault injection, see fk-office-server.c "faults":
   * "status=503:2,status=429:1:retry=2,status=500:1,drop=N,hang=S:1,lose-ack:1" */
  const char *faults;
  gboolean    quiet;          /* no per-request log lines */
} FkOfficeServerOptions;

/* Starts serving; the store and keys are borrowed and must outlive the
 * server. */
FkOfficeServer *fk_office_server_start (FkOfficeStore               *store,
                                        FkOfficeKeys                *keys,
                                        const FkOfficeServerOptions *options,
                                        GError                     **error);
guint16         fk_office_server_port  (FkOfficeServer *server);
/* Stops accepting, waits up to `grace_s` seconds for requests in flight,
 * then stops the daemon and frees the server.  NULL is fine. */
void            fk_office_server_stop  (FkOfficeServer *server,
                                        guint           grace_s);

/* Unfinished uploads (the parts a device sent of a packet over one part,
 * DATA_DIR/partial/DEVICE/PACKET) untouched for FK_OFFICE_PARTIAL_MAX_AGE_S
 * are removed, and so are device folders left empty; a device that comes
 * back later simply starts that packet again (GET answers "none").  The
 * server does this when it starts.  Returns how many files went. */
#define FK_OFFICE_PARTIAL_MAX_AGE_S (14 * 24 * 3600)
guint           fk_office_remove_stale_partials (FkOfficeStore *store,
                                                 gint64         max_age_s);

/* ---- shared with bundle import ------------------------------------------- */

/* Verifies a whole packet file (§4.3) and stores it durably (file fsync'd
 * and renamed into DATA_DIR/packets, then the row).  `url_packet_id` and
 * `request_device_id` are NULL for a bundle; then the manifest's device must
 * be enrolled and not revoked.  A packet already stored with the same bytes
 * gives the stored ack and *duplicate = TRUE; other bytes give
 * FK_OFFICE_ERROR_CONFLICT.  Returns the ack envelope text. */
char    *fk_office_ingest_packet (FkOfficeStore *store,
                                  FkOfficeKeys  *keys,
                                  GBytes        *bytes,
                                  const char    *url_packet_id,
                                  const char    *request_device_id,
                                  gboolean      *duplicate,
                                  GError       **error);

/* Checks and stores a PUT /v1/audit body (§3.6) for a device; returns the
 * audit_ack envelope text.  FK_OFFICE_ERROR_BAD_AUDIT names the entry. */
char    *fk_office_ingest_audit  (FkOfficeStore        *store,
                                  FkOfficeKeys         *keys,
                                  const FkOfficeDevice *device,
                                  const char           *body,
                                  gsize                 len,
                                  GError              **error);

/* The device audit entry hash of PROTOCOL §3.6. */
void     fk_office_audit_entry_hash (const FkOfficeAuditEntry *entry,
                                     guint8                    out[32]);

/* Re-verifies a device's stored chain from its first entry. */
gboolean fk_office_audit_verify  (FkOfficeStore  *store,
                                  const char     *device_id,
                                  guint          *n_entries,
                                  gint64         *first_bad,
                                  char          **reason,
                                  GError        **error);

/* A packet id usable as a file name: 1–64 of [0-9A-Za-z-]. */
gboolean fk_office_packet_id_valid (const char *packet_id);

/* "2026-11-26T03:00:00Z" */
char    *fk_office_iso_time      (gint64 unix_seconds);

G_END_DECLS
