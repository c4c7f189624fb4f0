/* fk-office-server.c — the office's HTTP endpoints (PROTOCOL §3) on
 * libmicrohttpd, and the verify-and-store path shared with bundle import.
 *
 * Layout: types, small helpers, storing packets and audit logs (shared),
 * faults, the nonce cache, request handling (begin / data / finish per
 * endpoint), the daemon.
 *
 * Requests.  libmicrohttpd calls the access handler once with the headers,
 * then once per piece of body, then once with no data.  Per request we keep
 * a Req made in the URI log callback (which sees the raw path and query, the
 * exact text the device signed).  Headers are checked on the first call, so
 * an unknown device, a skewed clock or an over-limit Content-Length is
 * refused before any body is read.  The signature covers H(body), so it is
 * checked at the end; packet bodies are hashed as they stream.
 *
 * Packet uploads (§3.4).  A chunk up to 1 MiB stays in memory; past that it
 * is written to DATA_DIR/partial/<device>/<packet_id> at its offset as it
 * arrives.  Bytes written for a chunk whose signature then fails, or whose
 * connection breaks, are cut off again, so the partial file only ever holds
 * authenticated chunks and its length is the resume offset.  One upload per
 * packet id at a time (a second gets 503 busy).  A packet id already stored
 * is compared byte for byte with the stored packet as the chunk streams:
 * the same bytes end in the same ack, other bytes in 409 conflict.
 *
 * Storage and throughput.  A packet of at most FK_OFFICE_INLINE_PACKET_BYTES
 * (every packet that arrives whole in one in-memory chunk) goes into the
 * database with its row; a larger one is written to a temporary name,
 * fsync'd and moved with renameat2(RENAME_NOREPLACE) into packets/.  Then
 * fk_office_store_insert_packet group-commits: the rows of all requests
 * waiting at that moment share one SQLite transaction (WAL,
 * synchronous=FULL, one flush) and, when any of them is a file, one fsync
 * of the packets directory; each request is answered only once its own
 * row (and bytes) are durable.
 *
 * Faults (tests only, `serve --faults SPEC`).  SPEC is a comma list run as a
 * script over packet PUTs in order: each item applies to the next N packet
 * PUTs, then the next item takes over; other requests never count.
 *   status=CODE:N[:retry=S]  answer N PUTs with CODE (after reading the body,
 *                            before any check); 429/503 carry Retry-After: S
 *                            (default 1)
 *   drop=N                   one PUT: after N body bytes (or at its end if
 *                            shorter) close the connection without answering;
 *                            nothing is kept
 *   hang=S[:N]               N PUTs (default 1) sleep S seconds, then are
 *                            handled normally
 *   lose-ack[:N]             N PUTs (default 1) are handled normally (the
 *                            packet is stored) but the connection is closed
 *                            instead of sending the answer
 */
#include "sync/fk-office-server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "app/fk-args.h"
#include "app/fk-audit.h"
#include "app/fk-catalog.h"
#include "app/fk-packet.h"
#include "crypto/fk-i18n.h"

/* ---- types ---------------------------------------------------------------- */

#define MEM_SPILL_BYTES   (1024 * 1024)
#define CHANGES_LIMIT     500

typedef enum {
  FAULT_NONE,
  FAULT_STATUS,
  FAULT_DROP,
  FAULT_HANG,
  FAULT_LOSE_ACK,
} FaultKind;

typedef struct {
  FaultKind kind;
  guint     status;
  guint     count;
  guint     retry;
  guint64   bytes;
  guint     seconds;
  guint     used;
} Fault;

struct _FkOfficeServer
{
  FkOfficeStore     *store;
  FkOfficeKeys      *keys;
  struct MHD_Daemon *daemon;
  guint16            port;
  gboolean           quiet;
  char              *office_json;
  char              *tls_pin;     /* "sha256//…" of the TLS key, or NULL on http */

  GMutex             lock;        /* guards everything below */
  GHashTable        *nonces;      /* device id → (nonce → gint64 seen) */
  gint64             last_purge;
  GHashTable        *busy;        /* packet ids being uploaded */
  GArray            *faults;
  guint              fault_index;

  gint               in_flight;   /* atomic */
  gint               quiescing;   /* atomic */
};

typedef enum {
  ROUTE_NONE,
  ROUTE_OFFICE,
  ROUTE_ENROLL,
  ROUTE_CHANGES,
  ROUTE_AUDIT,
  ROUTE_PACKET_GET,
  ROUTE_PACKET_PUT,
} Route;

typedef enum {
  BODY_MEMORY,     /* JSON bodies, ≤ 1 MiB */
  BODY_DISCARD,    /* a status fault: read and drop */
  BODY_RECEIVE,    /* a packet chunk */
  BODY_COMPARE,    /* a chunk of an already stored packet */
} BodyMode;

typedef struct {
  FkOfficeServer        *server;
  struct MHD_Connection *conn;
  char                  *raw_uri;
  char                  *method;
  char                  *path;
  gint64                 started;
  Route                  route;
  gboolean               begun;
  gboolean               answered;
  guint                  status;
  guint64                bytes_in;
  gsize                  bytes_out;

  /* authentication (§3.3) */
  FkOfficeDevice        *device;
  char                  *time_text;
  char                  *nonce;
  guint8                 sig[64];
  gboolean               hash_claimed;    /* FK-Content-Hash given, signature checked over it */
  guint8                 claimed_hash[32];

  /* body */
  BodyMode               mode;
  GByteArray            *body;
  guint64                content_length;  /* G_MAXUINT64: not given */
  crypto_generichash_state hash;

  /* packet uploads */
  char                  *packet_id;
  gboolean               busy_held;
  gboolean               announced;   /* fk_office_store_expect_packet, not redeemed yet */
  guint64                offset;
  guint64                total;
  guint64                received;
  char                  *partial_path;
  int                    fd;
  gboolean               fd_created;
  GBytes                *stored;          /* BODY_COMPARE: the stored packet */
  gboolean               mismatch;
  Fault                  fault;
} Req;

/* ---- small helpers ---------------------------------------------------------- */

char *
fk_office_iso_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
}

gboolean
fk_office_packet_id_valid (const char *id)
{
  gsize n = 0;

  if (id == NULL)
    return FALSE;
  for (const char *p = id; *p; p++, n++)
    if (!(g_ascii_isalnum (*p) || *p == '-'))
      return FALSE;
  return n >= 1 && n <= 64;
}

static gboolean
is_hex (const char *s,
        gsize       len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static char *
builder_text (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* Parses `text` as one JSON object; NULL if it is not. */
static JsonObject *
parse_object (const char *text,
              gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (text == NULL || !g_utf8_validate (text, (gssize) len, NULL) ||
      !json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

static const char *
member_string (JsonObject *obj,
               const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *obj,
            const char *name,
            gint64     *out)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* ---- storing packets (§4.3) ---------------------------------------------------- */

static char *
packet_path (FkOfficeStore *store,
             const char    *packet_id)
{
  g_autofree char *name = g_strconcat (packet_id, ".fkp", NULL);

  return g_build_filename (fk_office_store_data_dir (store), "packets", name, NULL);
}

static gboolean
refuse (GError     **error,
        int          code,
        const char  *message)
{
  g_set_error_literal (error, FK_OFFICE_ERROR, code, message);
  return FALSE;
}

/* Writes the file under a temporary name, fsyncs it and moves it into place
 * without replacing anything already there; the folder is fsync'd by
 * fk_office_store_insert_packet, once per group, before the row.  An
 * existing file (left by a crash before its row was committed, or being
 * stored by another process right now) is accepted when it holds the very
 * same bytes, and is a conflict otherwise. */
static gboolean
write_packet_file (FkOfficeStore  *store,
                   const char     *packet_id,
                   GBytes         *bytes,
                   const char     *hash_hex,
                   GError        **error)
{
  g_autofree char *dir = g_build_filename (fk_office_store_data_dir (store), "packets", NULL);
  g_autofree char *final = packet_path (store, packet_id);
  g_autofree char *tmp = NULL;
  guint8 rnd[8];
  g_autofree char *rnd_hex = NULL;
  int fd;
  int saved;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    goto io_fail;
  randombytes_buf (rnd, sizeof rnd);
  rnd_hex = fk_hex_encode (rnd, sizeof rnd);
  tmp = g_strdup_printf ("%s.tmp-%s", final, rnd_hex);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    goto io_fail;
  if (!write_all (fd, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)) || fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      g_unlink (tmp);
      errno = saved;
      goto io_fail;
    }
  close (fd);
  if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) != 0)
    {
      g_autoptr(GMappedFile) existing = NULL;
      g_autoptr(GBytes) existing_bytes = NULL;
      g_autofree char *existing_hash = NULL;

      saved = errno;
      g_unlink (tmp);
      if (saved != EEXIST)
        {
          errno = saved;
          goto io_fail;
        }
      existing = g_mapped_file_new (final, FALSE, NULL);
      if (existing != NULL)
        {
          existing_bytes = g_mapped_file_get_bytes (existing);
          existing_hash = fk_packet_hash_hex (existing_bytes);
        }
      if (g_strcmp0 (existing_hash, hash_hex) != 0)
        return refuse (error, FK_OFFICE_ERROR_CONFLICT,
                       _("Another packet with this id is already at the office; it was not replaced."));
    }
  return TRUE;

io_fail:
  saved = errno;
  g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
               _("The packet could not be written to %s: %s."),
               dir, g_strerror (saved));
  return FALSE;
}

static char *
make_ack (FkOfficeKeys   *keys,
          const FkPacket *p,
          const char     *hash_hex,
          gint64          received_at)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *at = fk_office_iso_time (received_at);
  g_autofree char *body = NULL;

  json_builder_begin_object (b);
  fk_cli_add_int (b, "v", 1);
  fk_cli_add_str (b, "type", "ack");
  fk_cli_add_str (b, "packet_id", p->packet_id);
  fk_cli_add_str (b, "packet_hash", hash_hex);
  fk_cli_add_str (b, "device_id", p->device_id);
  fk_cli_add_int (b, "device_seq", p->device_seq);
  fk_cli_add_str (b, "case_uuid", p->case_uuid);
  fk_cli_add_str (b, "received_at", at);
  json_builder_end_object (b);
  body = builder_text (b);
  return fk_envelope_sign (keys->sign, keys->key_id, body);
}

/* The stored row for exactly this id (not a receipt number). */
static FkOfficePacket *
stored_packet (FkOfficeStore *store,
               const char    *packet_id)
{
  return fk_office_store_get_packet_by_id (store, packet_id, NULL);
}

static char *
duplicate_or_conflict (const FkOfficePacket  *stored,
                       const char            *hash_hex,
                       gboolean              *duplicate,
                       GError               **error)
{
  if (g_strcmp0 (stored->packet_hash, hash_hex) == 0)
    {
      *duplicate = TRUE;
      return g_strdup (stored->ack);
    }
  refuse (error, FK_OFFICE_ERROR_CONFLICT,
          _("A different packet with this id is already stored at the office; it was not replaced."));
  return NULL;
}

/* `known_hash`, when not NULL, is H(bytes) already computed (the request
 * body hash of an upload that came whole in one PUT); it saves hashing the
 * packet a second time.  `request_device`, when not NULL, is the row of
 * `request_device_id`, read when the request was authenticated (the packet
 * must be that device's, so it is not looked up again).  `checked_absent`
 * says the caller looked for the id when the request began and found
 * nothing: an upload holds its id busy, so only a bundle import can have
 * stored it since, and the insert's UNIQUE id catches that and answers the
 * same way. */
static char *
ingest_packet (FkOfficeStore         *store,
               FkOfficeKeys          *keys,
               GBytes                *bytes,
               const guint8          *known_hash,
               const char            *url_packet_id,
               const char            *request_device_id,
               const FkOfficeDevice  *request_device,
               gboolean               checked_absent,
               gboolean              *announced,
               gboolean              *duplicate,
               GError               **error)
{
  g_autoptr(FkPacket) p = NULL;
  g_autoptr(FkOfficePacket) stored = NULL;
  g_autoptr(FkOfficeDevice) looked_up = NULL;
  const FkOfficeDevice *device = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *hash_hex = NULL;
  g_autofree char *ack = NULL;
  FkOfficePacket row = { 0 };
  gint64 received_at = now_s ();
  gboolean inline_bytes;
  gboolean redeemed;

  *duplicate = FALSE;
  p = fk_packet_parse (bytes, &local);
  if (p == NULL)
    {
      refuse (error, FK_OFFICE_ERROR_BAD_PACKET, local->message);
      return NULL;
    }
  if (!fk_office_packet_id_valid (p->packet_id) ||
      (url_packet_id != NULL && g_strcmp0 (p->packet_id, url_packet_id) != 0))
    {
      refuse (error, FK_OFFICE_ERROR_BAD_MANIFEST,
              _("The packet id in the manifest does not match the upload."));
      return NULL;
    }
  if (request_device_id != NULL && g_strcmp0 (p->device_id, request_device_id) != 0)
    {
      refuse (error, FK_OFFICE_ERROR_BAD_MANIFEST,
              _("The packet was made by another device than the one sending it."));
      return NULL;
    }
  hash_hex = known_hash ? fk_hex_encode (known_hash, 32) : fk_packet_hash_hex (bytes);
  if (!checked_absent)
    {
      stored = stored_packet (store, p->packet_id);
      if (stored != NULL)
        return duplicate_or_conflict (stored, hash_hex, duplicate, error);
    }

  if (request_device != NULL)
    device = request_device;
  else if (is_hex (p->device_id, 32))
    device = looked_up = fk_office_store_lookup_device (store, p->device_id, NULL);
  if (device == NULL)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_UNKNOWN_DEVICE,
                   _("The packet comes from a device that is not enrolled here (%s)."), p->device_id);
      return NULL;
    }
  if (device->revoked_at != 0)
    {
      refuse (error, FK_OFFICE_ERROR_REVOKED,
              _("The packet comes from a revoked device."));
      return NULL;
    }
  if (!fk_packet_verify (p, device->sign_pk, keys->key_id, &local))
    {
      refuse (error, g_error_matches (local, FK_PACKET_ERROR, FK_PACKET_ERROR_KEY)
                       ? FK_OFFICE_ERROR_BAD_MANIFEST : FK_OFFICE_ERROR_BAD_PACKET,
              local->message);
      return NULL;
    }
  /* A small packet goes into the database with its row: the group's one
   * WAL flush makes it durable.  A larger one becomes a file of its own. */
  inline_bytes = g_bytes_get_size (bytes) <= FK_OFFICE_INLINE_PACKET_BYTES;
  if (!inline_bytes && !write_packet_file (store, p->packet_id, bytes, hash_hex, error))
    return NULL;

  ack = make_ack (keys, p, hash_hex, received_at);
  row.packet_id = (char *) p->packet_id;
  row.device_id = (char *) p->device_id;
  row.device_seq = p->device_seq;
  row.case_uuid = (char *) p->case_uuid;
  row.receipt_no = (char *) json_object_get_string_member_with_default (p->manifest, "receipt_no", NULL);
  row.service = (char *) json_object_get_string_member_with_default (p->manifest, "service", NULL);
  row.outing_kind = (char *) json_object_get_string_member_with_default (p->manifest, "outing_kind", NULL);
  row.packet_hash = hash_hex;
  row.size = (gint64) g_bytes_get_size (bytes);
  row.received_at = received_at;
  row.ack = ack;
  row.manifest = p->manifest_text;
  /* The insert redeems the announcement (fk_office_store_expect_packet). */
  redeemed = *announced;
  *announced = FALSE;
  if (!fk_office_store_insert_packet (store, &row, inline_bytes ? bytes : NULL, redeemed, &local))
    {
      if (g_error_matches (local, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS))
        {
          /* Another request stored the same id a moment ago. */
          g_clear_pointer (&stored, fk_office_packet_free);
          stored = stored_packet (store, p->packet_id);
          if (stored != NULL)
            return duplicate_or_conflict (stored, hash_hex, duplicate, error);
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return g_steal_pointer (&ack);
}

char *
fk_office_ingest_packet (FkOfficeStore  *store,
                         FkOfficeKeys   *keys,
                         GBytes         *bytes,
                         const char     *url_packet_id,
                         const char     *request_device_id,
                         gboolean       *duplicate,
                         GError        **error)
{
  gboolean announced = FALSE;

  return ingest_packet (store, keys, bytes, NULL, url_packet_id, request_device_id, NULL, FALSE,
                        &announced, duplicate, error);
}

/* ---- device audit logs (§3.6) ------------------------------------------------------ */

/* The device computes the same hash when it writes the entry. */
void
fk_office_audit_entry_hash (const FkOfficeAuditEntry *e,
                            guint8                    out[32])
{
  fk_audit_entry_hash (e->prev, e->seq, e->at, e->operator_id, e->action, e->subject, e->detail, out);
}

/* Checks one entry against the one before it; NULL when good, else why.
 * An entry without a signature passes here: the device signs only the last
 * entry of each transaction, and the caller makes sure a signed entry
 * follows (§3.6). */
static char *
audit_entry_problem (const FkOfficeAuditEntry *e,
                     gint64                    expect_seq,
                     const guint8              prev[32],
                     const guint8              device_pk[32])
{
  guint8 h[32];

  if (e->seq != expect_seq)
    return g_strdup_printf (_("entry %" PRId64 " was expected, entry %" PRId64 " came"),
                            expect_seq, e->seq);
  if (!fk_equal (e->prev, prev, 32))
    return g_strdup (_("it does not link to the entry before it"));
  fk_office_audit_entry_hash (e, h);
  if (!fk_equal (h, e->hash, 32))
    return g_strdup (_("its content does not match its hash"));
  if (e->has_sig && !fk_signature_verify (device_pk, e->hash, 32, e->sig))
    return g_strdup (_("its signature is not the device's"));
  return NULL;
}

/* Why entries from `from` on are refused when no signed entry followed. */
static char *
audit_unsigned_tail (gint64 from)
{
  return g_strdup_printf (_("entries from %" PRId64 " on are unsigned and no signed entry follows them "
                                "(the device signs the last entry of each transaction)"),
                          from);
}

static FkOfficeAuditEntry *
audit_entry_from_json (JsonNode *node)
{
  g_autoptr(FkOfficeAuditEntry) e = g_new0 (FkOfficeAuditEntry, 1);
  JsonObject *o;
  const char *op, *action, *subject, *detail, *sig;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  o = json_node_get_object (node);
  op = member_string (o, "operator");
  action = member_string (o, "action");
  subject = member_string (o, "subject");
  detail = member_string (o, "detail");
  sig = member_string (o, "sig");
  if (!member_int (o, "seq", &e->seq) || !member_int (o, "at", &e->at) ||
      op == NULL || action == NULL || subject == NULL || detail == NULL || sig == NULL ||
      !fk_hex_decode (member_string (o, "prev"), e->prev, 32) ||
      !fk_hex_decode (member_string (o, "hash"), e->hash, 32))
    return NULL;
  /* "" for an entry that a later entry's signature covers (§3.6). */
  e->has_sig = sig[0] != '\0';
  if (e->has_sig && !fk_hex_decode (sig, e->sig, 64))
    return NULL;
  e->operator_id = g_strdup (op);
  e->action = g_strdup (action);
  e->subject = g_strdup (subject);
  e->detail = g_strdup (detail);
  return g_steal_pointer (&e);
}

static void
audit_entry_free_cb (gpointer e)
{
  fk_office_audit_entry_free (e);
}

char *
fk_office_ingest_audit (FkOfficeStore         *store,
                        FkOfficeKeys          *keys,
                        const FkOfficeDevice  *device,
                        const char            *text,
                        gsize                  len,
                        GError               **error)
{
  g_autoptr(JsonObject) doc = parse_object (text, len);
  g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func (audit_entry_free_cb);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *body = NULL;
  JsonNode *list_node;
  JsonArray *list;
  gint64 head, v = 0, through;
  gint64 unsigned_from = 0;   /* first fresh entry not yet covered by a signature */
  guint8 prev[32];

  if (doc == NULL || !member_int (doc, "v", &v) || v != 1 ||
      (list_node = json_object_get_member (doc, "entries")) == NULL || !JSON_NODE_HOLDS_ARRAY (list_node))
    {
      refuse (error, FK_OFFICE_ERROR_INVALID,
              _("The audit upload is not {\"v\":1,\"entries\":[…]}."));
      return NULL;
    }
  list = json_node_get_array (list_node);
  if (!fk_office_store_audit_head (store, device->device_id, &head, prev, error))
    return NULL;
  through = head;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      g_autoptr(FkOfficeAuditEntry) e = audit_entry_from_json (json_array_get_element (list, i));
      g_autofree char *problem = NULL;
      guint8 old[32];

      if (e == NULL)
        {
          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_BAD_AUDIT,
                       _("Audit entry number %u of the upload is malformed."),
                       i + 1);
          return NULL;
        }
      if (e->seq >= 1 && e->seq <= head && fresh->len == 0)
        {
          /* Already stored (the device did not get our last ack): it must be
           * the very entry we hold. */
          if (fk_office_store_audit_hash_at (store, device->device_id, e->seq, old) && fk_equal (old, e->hash, 32))
            continue;
          problem = g_strdup (_("it differs from the entry the office already holds"));
        }
      else
        problem = audit_entry_problem (e, through + 1, prev, device->sign_pk);
      if (problem != NULL)
        {
          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_BAD_AUDIT,
                       _("Audit entry %" PRId64 " is refused: %s."),
                       e->seq, problem);
          return NULL;
        }
      memcpy (prev, e->hash, 32);
      through = e->seq;
      if (!e->has_sig && unsigned_from == 0)
        unsigned_from = e->seq;
      else if (e->has_sig)
        unsigned_from = 0;
      g_ptr_array_add (fresh, g_steal_pointer (&e));
    }
  if (unsigned_from != 0)
    {
      g_autofree char *problem = audit_unsigned_tail (unsigned_from);

      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_BAD_AUDIT,
                   _("Audit entry %" PRId64 " is refused: %s."),
                   unsigned_from, problem);
      return NULL;
    }
  if (fresh->len > 0 && !fk_office_store_audit_append (store, device->device_id, head, fresh, error))
    return NULL;

  json_builder_begin_object (b);
  fk_cli_add_int (b, "v", 1);
  fk_cli_add_str (b, "type", "audit_ack");
  fk_cli_add_str (b, "device_id", device->device_id);
  fk_cli_add_int (b, "through", through);
  json_builder_end_object (b);
  body = builder_text (b);
  return fk_envelope_sign (keys->sign, keys->key_id, body);
}

gboolean
fk_office_audit_verify (FkOfficeStore  *store,
                        const char     *device_id,
                        guint          *n_entries,
                        gint64         *first_bad,
                        char          **reason,
                        GError        **error)
{
  g_autoptr(FkOfficeDevice) device = fk_office_store_get_device (store, device_id, error);
  g_autoptr(GPtrArray) entries = NULL;
  guint8 prev[32] = { 0 };
  gint64 unsigned_from = 0;

  *n_entries = 0;
  *first_bad = 0;
  *reason = NULL;
  if (device == NULL)
    return FALSE;
  entries = fk_office_store_audit_entries (store, device->device_id, error);
  if (entries == NULL)
    return FALSE;
  *n_entries = entries->len;
  for (guint i = 0; i < entries->len; i++)
    {
      FkOfficeAuditEntry *e = entries->pdata[i];
      char *problem = audit_entry_problem (e, (gint64) i + 1, prev, device->sign_pk);

      if (problem != NULL)
        {
          *first_bad = (gint64) i + 1;
          *reason = problem;
          return TRUE;
        }
      memcpy (prev, e->hash, 32);
      if (!e->has_sig && unsigned_from == 0)
        unsigned_from = e->seq;
      else if (e->has_sig)
        unsigned_from = 0;
    }
  if (unsigned_from != 0)
    {
      *first_bad = unsigned_from;
      *reason = audit_unsigned_tail (unsigned_from);
    }
  return TRUE;
}

/* ---- faults ------------------------------------------------------------------------- */

static gboolean
parse_uint (const char *text,
            guint64     max,
            guint64    *out)
{
  return text != NULL && g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL);
}

static GArray *
parse_faults (const char  *spec,
              GError     **error)
{
  g_autoptr(GArray) faults = g_array_new (FALSE, TRUE, sizeof (Fault));
  g_auto(GStrv) items = g_strsplit (spec ? spec : "", ",", -1);

  for (guint i = 0; items[i]; i++)
    {
      g_auto(GStrv) parts = NULL;
      Fault f = { 0 };
      guint64 a = 0, c = 1;
      char *item = g_strstrip (items[i]);
      gboolean ok = FALSE;

      if (*item == '\0')
        continue;
      if (g_str_has_prefix (item, "status="))
        {
          parts = g_strsplit (item + 7, ":", -1);
          f.kind = FAULT_STATUS;
          f.retry = 1;
          ok = parse_uint (parts[0], 599, &a) && a >= 400;
          f.status = (guint) a;
          if (ok && parts[1])
            ok = parse_uint (parts[1], G_MAXUINT, &c);
          if (ok && parts[1] && parts[2])
            {
              guint64 r = 0;

              ok = g_str_has_prefix (parts[2], "retry=") && parse_uint (parts[2] + 6, 3600, &r) && parts[3] == NULL;
              f.retry = (guint) r;
            }
        }
      else if (g_str_has_prefix (item, "drop="))
        {
          f.kind = FAULT_DROP;
          ok = parse_uint (item + 5, G_MAXUINT64, &a);
          f.bytes = a;
        }
      else if (g_str_has_prefix (item, "hang="))
        {
          parts = g_strsplit (item + 5, ":", -1);
          f.kind = FAULT_HANG;
          ok = parse_uint (parts[0], 3600, &a) && (parts[1] == NULL || (parse_uint (parts[1], G_MAXUINT, &c) && parts[2] == NULL));
          f.seconds = (guint) a;
        }
      else if (g_str_equal (item, "lose-ack") || g_str_has_prefix (item, "lose-ack:") || g_str_has_prefix (item, "lose-ack="))
        {
          f.kind = FAULT_LOSE_ACK;
          ok = item[8] == '\0' || parse_uint (item + 9, G_MAXUINT, &c);
        }
      f.count = (guint) c;
      if (!ok || f.count == 0)
        {
          g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                       "fault \"%s\" is not one of status=CODE:N[:retry=S], drop=N, hang=S[:N], lose-ack[:N]", item);
          return NULL;
        }
      g_array_append_val (faults, f);
    }
  return g_steal_pointer (&faults);
}

/* The fault for the next packet PUT, if the script has one left. */
static Fault
next_fault (FkOfficeServer *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  Fault none = { 0 };

  while (self->faults && self->fault_index < self->faults->len)
    {
      Fault *f = &g_array_index (self->faults, Fault, self->fault_index);

      if (f->used < f->count)
        {
          f->used++;
          return *f;
        }
      self->fault_index++;
    }
  return none;
}

/* ---- the nonce cache (§3.3) ----------------------------------------------------------- */

/* TRUE when the nonce is new for this device; remembers it for 600 s. */
static gboolean
nonce_fresh (FkOfficeServer *self,
             const char     *device_id,
             const char     *nonce)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;
  GHashTable *seen;
  gpointer when;

  if (now - self->last_purge >= 60)
    {
      GHashTableIter it;
      gpointer value;

      g_hash_table_iter_init (&it, self->nonces);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          GHashTableIter inner;
          gpointer t;

          g_hash_table_iter_init (&inner, value);
          while (g_hash_table_iter_next (&inner, NULL, &t))
            if (now - GPOINTER_TO_SIZE (t) > FK_OFFICE_NONCE_TTL_S)
              g_hash_table_iter_remove (&inner);
          if (g_hash_table_size (value) == 0)
            g_hash_table_iter_remove (&it);
        }
      self->last_purge = now;
    }
  seen = g_hash_table_lookup (self->nonces, device_id);
  if (seen == NULL)
    {
      seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->nonces, g_strdup (device_id), seen);
    }
  if (g_hash_table_lookup_extended (seen, nonce, NULL, &when) &&
      now - (gint64) GPOINTER_TO_SIZE (when) <= FK_OFFICE_NONCE_TTL_S)
    return FALSE;
  g_hash_table_insert (seen, g_strdup (nonce), GSIZE_TO_POINTER ((gsize) now));
  return TRUE;
}

static void partial_rollback (Req *r);

/* ---- answering --------------------------------------------------------------------------- */

/* The packet is free for another upload as soon as this request's answer
 * is decided: the device may retry before libmicrohttpd reports the request
 * complete. */
static void
release_busy (Req *r)
{
  if (r->busy_held)
    {
      g_mutex_lock (&r->server->lock);
      g_hash_table_remove (r->server->busy, r->packet_id);
      g_mutex_unlock (&r->server->lock);
      r->busy_held = FALSE;
    }
}

static enum MHD_Result
respond_text (Req        *r,
              guint       status,
              const char *json,
              guint       retry_after)
{
  struct MHD_Response *resp;
  enum MHD_Result ret;
  gsize len = strlen (json);

  r->answered = TRUE;
  r->status = status;
  /* Every path that keeps a chunk closes its file before answering; bytes
   * still open here were not accepted. */
  partial_rollback (r);
  release_busy (r);
  if (r->fault.kind == FAULT_LOSE_ACK)
    return MHD_NO;  /* the answer is lost on purpose: close the connection */
  resp = MHD_create_response_from_buffer (len, (void *) json, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL)
    return MHD_NO;
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  if (retry_after > 0)
    {
      char ra[16];

      g_snprintf (ra, sizeof ra, "%u", retry_after);
      MHD_add_response_header (resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
  if (g_atomic_int_get (&r->server->quiescing))
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONNECTION, "close");
  ret = MHD_queue_response (r->conn, status, resp);
  MHD_destroy_response (resp);
  r->bytes_out = len;
  return ret;
}

/* {"error":{"code":…,"message":…[,extra member]}} */
static enum MHD_Result
respond_error_full (Req        *r,
                    guint       status,
                    const char *code,
                    const char *message,
                    const char *extra_name,
                    gint64      extra_value)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  fk_cli_add_str (b, "code", code);
  fk_cli_add_str (b, "message", message);
  if (extra_name)
    fk_cli_add_int (b, extra_name, extra_value);
  json_builder_end_object (b);
  json_builder_end_object (b);
  text = builder_text (b);
  return respond_text (r, status, text, (status == 429 || status == 503) ? 1 : 0);
}

static enum MHD_Result
respond_error (Req        *r,
               guint       status,
               const char *code,
               const char *message)
{
  return respond_error_full (r, status, code, message, NULL, 0);
}

static enum MHD_Result
respond_gerror (Req          *r,
                const GError *error)
{
  guint status = 500;
  const char *code = "internal";

  if (error->domain == FK_OFFICE_ERROR)
    switch ((FkOfficeError) error->code)
      {
      case FK_OFFICE_ERROR_INVALID: status = 400; code = "malformed"; break;
      case FK_OFFICE_ERROR_BAD_PACKET: status = 400; code = "bad_packet"; break;
      case FK_OFFICE_ERROR_BAD_MANIFEST: status = 400; code = "bad_manifest"; break;
      case FK_OFFICE_ERROR_BAD_AUDIT: status = 400; code = "bad_audit"; break;
      case FK_OFFICE_ERROR_UNKNOWN_DEVICE: status = 401; code = "unknown_device"; break;
      case FK_OFFICE_ERROR_REVOKED: status = 403; code = "device_revoked"; break;
      case FK_OFFICE_ERROR_INVITE_INVALID:
      case FK_OFFICE_ERROR_FULL: status = 403; code = "invite_invalid"; break;
      case FK_OFFICE_ERROR_NOT_FOUND: status = 404; code = "not_found"; break;
      case FK_OFFICE_ERROR_CONFLICT:
      case FK_OFFICE_ERROR_EXISTS: status = 409; code = "conflict"; break;
      case FK_OFFICE_ERROR_INVITE_EXPIRED: status = 410; code = "invite_expired"; break;
      case FK_OFFICE_ERROR_INVITE_USED: status = 410; code = "invite_used"; break;
      default: break;
      }
  if (status == 500)
    fprintf (stderr, "fieldkit-office: internal error: %s\n", error->message);
  return respond_error (r, status, code, error->message);
}

static enum MHD_Result
respond_envelope (Req        *r,
                  JsonBuilder *b)
{
  g_autofree char *body = builder_text (b);
  g_autofree char *env = fk_envelope_sign (r->server->keys->sign, r->server->keys->key_id, body);

  return respond_text (r, 200, env, 0);
}

/* ---- requests: life cycle --------------------------------------------------------------- */

static void
partial_rollback (Req *r)
{
  if (r->fd >= 0)
    {
      if (r->fd_created && r->offset == 0)
        g_unlink (r->partial_path);
      else if (ftruncate (r->fd, (off_t) r->offset) != 0)
        fprintf (stderr, "fieldkit-office: could not cut back %s: %s\n", r->partial_path, g_strerror (errno));
      close (r->fd);
      r->fd = -1;
    }
}

static void
req_free (Req *r)
{
  if (r->announced)
    fk_office_store_expect_cancel (r->server->store);
  partial_rollback (r);
  g_clear_pointer (&r->stored, g_bytes_unref);
  release_busy (r);
  g_free (r->raw_uri);
  g_free (r->method);
  g_free (r->path);
  fk_office_device_free (r->device);
  g_free (r->time_text);
  g_free (r->nonce);
  if (r->body)
    g_byte_array_unref (r->body);
  g_free (r->packet_id);
  g_free (r->partial_path);
  g_free (r);
}

static void *
uri_log_cb (void                  *cls,
            const char            *uri,
            struct MHD_Connection *conn)
{
  FkOfficeServer *self = cls;
  Req *r = g_new0 (Req, 1);

  r->server = self;
  r->raw_uri = g_strdup (uri);
  r->started = g_get_monotonic_time ();
  r->fd = -1;
  r->content_length = G_MAXUINT64;
  g_atomic_int_inc (&self->in_flight);
  return r;
}

static void
completed_cb (void                           *cls,
              struct MHD_Connection          *conn,
              void                          **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  FkOfficeServer *self = cls;
  Req *r = *con_cls;

  if (r == NULL)
    return;
  if (!self->quiet)
    {
      g_autofree char *at = fk_office_iso_time (now_s ());

      /* The path only: query values stay out of the log; packet ids are not
       * personal data. */
      fprintf (stderr, "%s %s %s %u in=%" G_GUINT64_FORMAT " out=%" G_GSIZE_FORMAT " %" G_GINT64_FORMAT "ms dev=%s%s\n",
               at, r->method ? r->method : "-", r->path ? r->path : "-",
               r->answered && r->status ? r->status : 0, r->bytes_in, r->bytes_out,
               (g_get_monotonic_time () - r->started) / 1000,
               r->device ? r->device->device_id : "-",
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed)");
    }
  req_free (r);
  *con_cls = NULL;
  g_atomic_int_dec_and_test (&self->in_flight);
}

/* ---- requests: authentication (§3.3) ------------------------------------------------------- */

static const char *
header (Req        *r,
        const char *name)
{
  return MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, name);
}

static gboolean auth_signature (Req        *r,
                                const char *hash_hex);

/* The checks that need no body.  Returns FALSE after answering. */
static gboolean
auth_headers (Req *r)
{
  const char *device_id = header (r, "FK-Device");
  const char *time_text = header (r, "FK-Time");
  const char *nonce = header (r, "FK-Nonce");
  const char *content_hash = header (r, "FK-Content-Hash");
  g_autoptr(GBytes) sig = fk_b64_decode (header (r, "FK-Signature"), 64);
  gint64 t, now = now_s ();

  if (!is_hex (device_id, 32) ||
      (r->device = fk_office_store_lookup_device (r->server->store, device_id, NULL)) == NULL)
    {
      respond_error (r, 401, "unknown_device",
                     _("This device is not enrolled at this office."));
      return FALSE;
    }
  if (r->device->revoked_at != 0)
    {
      /* The refusal carries a revocation signed by the office (PROTOCOL §7):
       * the device wipes itself only on that, never on a bare 403. */
      g_autofree char *body = g_strdup_printf ("{\"v\":1,\"type\":\"revoked\",\"device_id\":\"%s\",\"revoked_at\":%" G_GINT64_FORMAT "}",
                                               r->device->device_id, r->device->revoked_at);
      g_autofree char *env = fk_envelope_sign (r->server->keys->sign, r->server->keys->key_id, body);
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "error");
      json_builder_begin_object (b);
      fk_cli_add_str (b, "code", "device_revoked");
      fk_cli_add_str (b, "message", _("This device was revoked by the office."));
      fk_cli_add_str (b, "revocation", env);
      json_builder_end_object (b);
      json_builder_end_object (b);
      text = builder_text (b);
      respond_text (r, 403, text, 0);
      return FALSE;
    }
  if (time_text == NULL || !g_ascii_string_to_signed (time_text, 10, 0, G_MAXINT64, &t, NULL) ||
      !is_hex (nonce, 32) || sig == NULL)
    {
      respond_error (r, 401, "bad_signature",
                     _("The request is not signed as the protocol requires."));
      return FALSE;
    }
  if (t > now + FK_OFFICE_CLOCK_SKEW_S || t < now - FK_OFFICE_CLOCK_SKEW_S)
    {
      respond_error_full (r, 401, "clock_skew",
                          _("The device clock differs from the office clock by more than 5 minutes."),
                          "server_time", now);
      return FALSE;
    }
  r->time_text = g_strdup (time_text);
  r->nonce = g_strdup (nonce);
  memcpy (r->sig, g_bytes_get_data (sig, NULL), 64);
  /* With the body's hash named in FK-Content-Hash the signature is checked
   * now, before any of the body is read; the body is then only compared
   * with that hash (§3.3). */
  if (content_hash != NULL)
    {
      if (!is_hex (content_hash, 64) || !fk_hex_decode (content_hash, r->claimed_hash, 32))
        {
          respond_error (r, 401, "bad_signature",
                         _("The request is not signed as the protocol requires."));
          return FALSE;
        }
      if (!auth_signature (r, content_hash))
        return FALSE;
      r->hash_claimed = TRUE;
    }
  return TRUE;
}

/* The signature over M of §3.3 with the body hash given in hex.  Returns
 * FALSE after answering. */
static gboolean
auth_signature (Req        *r,
                const char *hash_hex)
{
  g_autofree char *m = g_strdup_printf ("fk-req-v1\n%s\n%s\n%s\n%s\n%s",
                                        r->method, r->raw_uri, r->time_text, r->nonce, hash_hex);

  if (!fk_signature_verify (r->device->sign_pk, (const guint8 *) m, strlen (m), r->sig))
    {
      respond_error (r, 401, "bad_signature",
                     _("The request signature is not this device's."));
      return FALSE;
    }
  return TRUE;
}

/* The body against the signature (or against the hash it was already
 * checked over), then the nonce.  Returns FALSE after answering. */
static gboolean
auth_finish (Req          *r,
             const guint8  body_hash[32])
{
  if (r->hash_claimed)
    {
      if (sodium_memcmp (body_hash, r->claimed_hash, 32) != 0)
        {
          respond_error (r, 400, "body_mismatch",
                         _("The bytes that arrived are not the ones the device signed: they were damaged on the "
                           "device or on the way. Nothing was stored; try again, and if it happens again "
                           "tell the office."));
          return FALSE;
        }
    }
  else
    {
      g_autofree char *hash_hex = fk_hex_encode (body_hash, 32);

      if (!auth_signature (r, hash_hex))
        return FALSE;
    }
  if (!nonce_fresh (r->server, r->device->device_id, r->nonce))
    {
      respond_error (r, 401, "replay",
                     _("This request was already received once; it was ignored."));
      return FALSE;
    }
  /* The store only writes last_seen when it is a minute old; the row read
   * for this request says whether that is so, without a statement. */
  if (r->device->last_seen == 0 || r->device->last_seen < now_s () - 60)
    fk_office_store_touch_device (r->server->store, r->device->device_id, now_s ());
  return TRUE;
}

static gboolean
auth_finish_memory (Req *r)
{
  guint8 h[32];

  fk_hash (r->body ? r->body->data : (const guint8 *) "", r->body ? r->body->len : 0, h);
  return auth_finish (r, h);
}

/* ---- requests: endpoints -------------------------------------------------------------------- */

static enum MHD_Result
handle_enroll (Req *r)
{
  g_autoptr(JsonObject) doc = parse_object (r->body ? (const char *) r->body->data : NULL, r->body ? r->body->len : 0);
  g_autoptr(GBytes) pk = NULL;
  g_autoptr(GBytes) proof = NULL;
  g_autoptr(FkOfficeDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *enrolled_at = NULL;
  const char *invite_id = NULL, *name = NULL;
  gint64 v = 0, now = now_s ();

  if (doc != NULL)
    {
      invite_id = member_string (doc, "invite_id");
      name = member_string (doc, "device_name");
      pk = fk_b64_decode (member_string (doc, "sign_pk"), 32);
      proof = fk_b64_decode (member_string (doc, "proof"), 32);
    }
  if (doc == NULL || !member_int (doc, "v", &v) || v != 1 || !is_hex (invite_id, 16) ||
      name == NULL || strlen (name) > 200 || pk == NULL || proof == NULL)
    return respond_error (r, 400, "malformed",
                          _("The enrolment request is malformed."));
  device = fk_office_store_enroll (r->server->store, invite_id, g_bytes_get_data (proof, NULL),
                                   g_bytes_get_data (pk, NULL), name, now, &error);
  if (device == NULL)
    return respond_gerror (r, error);
  {
    g_autofree char *detail = g_strdup_printf ("{\"number\":%u}", device->number);

    fk_office_store_log (r->server->store, "-", "device.enroll", device->device_id, detail, NULL);
  }
  enrolled_at = fk_office_iso_time (device->enrolled_at);
  json_builder_begin_object (b);
  fk_cli_add_int (b, "v", 1);
  fk_cli_add_str (b, "type", "enrolled");
  fk_cli_add_str (b, "device_id", device->device_id);
  fk_cli_add_int (b, "device_number", device->number);
  fk_cli_add_str (b, "office_code", r->server->keys->office_code);
  fk_cli_add_str (b, "key_id", r->server->keys->key_id);
  fk_cli_add_str (b, "enrolled_at", enrolled_at);
  /* Signed, so the device can pin the TLS key it was really talking to. */
  if (r->server->tls_pin)
    fk_cli_add_str (b, "tls_pin", r->server->tls_pin);
  json_builder_end_object (b);
  return respond_envelope (r, b);
}

static enum MHD_Result
handle_changes (Req *r)
{
  const char *since_text = MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, "since");
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gint64 since = 0, next;

  if (since_text != NULL && !g_ascii_string_to_signed (since_text, 10, 0, G_MAXINT64, &since, NULL))
    return respond_error (r, 400, "malformed", _("since must be a number."));
  changes = fk_office_store_changes (r->server->store, r->device->device_id, since, CHANGES_LIMIT, &error);
  if (changes == NULL)
    return respond_gerror (r, error);
  next = since;
  json_builder_begin_object (b);
  fk_cli_add_int (b, "v", 1);
  fk_cli_add_str (b, "type", "changes");
  fk_cli_add_str (b, "device_id", r->device->device_id);
  json_builder_set_member_name (b, "changes");
  json_builder_begin_array (b);
  for (guint i = 0; i < changes->len; i++)
    {
      FkOfficeChange *c = changes->pdata[i];

      json_builder_begin_object (b);
      fk_cli_add_int (b, "seq", c->seq);
      fk_cli_add_str (b, "kind", c->kind);
      fk_cli_add_str (b, "packet_id", c->packet_id);
      fk_cli_add_str (b, "case_uuid", c->case_uuid);
      fk_cli_add_str (b, "receipt_no", c->receipt_no);
      if (g_strcmp0 (c->kind, "handover") == 0)
        fk_cli_add_str (b, "sealed", c->reason);
      else
        {
          fk_cli_add_str (b, "decision", c->decision);
          if (c->reason)
            fk_cli_add_str (b, "reason", c->reason);
        }
      json_builder_end_object (b);
      next = c->seq;
    }
  json_builder_end_array (b);
  fk_cli_add_int (b, "next", next);
  /* Reference data: a catalog the administrator published, when it is
   * newer than the one the device says it has.  It travels inside the
   * signed body, so the device applies only what the office signed. */
  {
    const char *have_text = MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, "catalog");
    g_autofree char *path = g_build_filename (fk_office_store_data_dir (r->server->store), "catalog.json", NULL);
    g_autofree char *catalog = NULL;
    gsize len = 0;
    gint64 have = 0;

    if (have_text != NULL)
      g_ascii_string_to_signed (have_text, 10, 0, G_MAXINT64, &have, NULL);
    if (g_file_get_contents (path, &catalog, &len, NULL))
      {
        g_autoptr(GBytes) bytes = g_bytes_new (catalog, len);
        g_autoptr(FkCatalog) parsed = fk_catalog_load_bytes (bytes, NULL);

        if (parsed != NULL && fk_catalog_version (parsed) > have)
          {
            fk_cli_add_int (b, "catalog_version", fk_catalog_version (parsed));
            fk_cli_add_str (b, "catalog", catalog);
          }
      }
  }
  json_builder_end_object (b);
  return respond_envelope (r, b);
}

static enum MHD_Result
handle_audit (Req *r)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *env = fk_office_ingest_audit (r->server->store, r->server->keys, r->device,
                                                 r->body ? (const char *) r->body->data : "",
                                                 r->body ? r->body->len : 0, &error);

  if (env == NULL)
    return respond_gerror (r, error);
  return respond_text (r, 200, env, 0);
}

static guint64
file_size (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

static enum MHD_Result
handle_packet_get (Req *r)
{
  g_autoptr(FkOfficePacket) stored = stored_packet (r->server->store, r->packet_id);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *text = NULL;
  g_autofree char *partial = NULL;

  json_builder_begin_object (b);
  if (stored != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (g_strcmp0 (stored->device_id, r->device->device_id) != 0)
        return respond_error (r, 404, "not_found", _("No such packet."));
      fk_cli_add_str (b, "state", "stored");
      fk_cli_add_str (b, "packet_hash", stored->packet_hash);
      json_builder_set_member_name (b, "ack");
      if (!json_parser_load_from_data (parser, stored->ack, -1, NULL))
        return respond_error (r, 500, "internal", "stored ack unreadable");
      json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
    }
  else
    {
      partial = g_build_filename (fk_office_store_data_dir (r->server->store), "partial",
                                  r->device->device_id, r->packet_id, NULL);
      if (g_file_test (partial, G_FILE_TEST_EXISTS))
        {
          fk_cli_add_str (b, "state", "partial");
          fk_cli_add_int (b, "offset", (gint64) file_size (partial));
        }
      else
        fk_cli_add_str (b, "state", "none");
    }
  json_builder_end_object (b);
  text = builder_text (b);
  return respond_text (r, 200, text, 0);
}

static enum MHD_Result
respond_partial (Req     *r,
                 guint64  offset)
{
  g_autofree char *text = g_strdup_printf ("{\"state\":\"partial\",\"offset\":%" G_GUINT64_FORMAT "}", offset);

  return respond_text (r, 202, text, 0);
}

static gboolean
spill (Req *r)
{
  if (r->fd < 0)
    {
      g_autofree char *dir = g_path_get_dirname (r->partial_path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        return FALSE;
      r->fd_created = !g_file_test (r->partial_path, G_FILE_TEST_EXISTS);
      r->fd = open (r->partial_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (r->fd < 0 || lseek (r->fd, (off_t) r->offset, SEEK_SET) < 0)
        return FALSE;
    }
  if (r->body && r->body->len > 0)
    {
      if (!write_all (r->fd, r->body->data, r->body->len))
        return FALSE;
      g_byte_array_set_size (r->body, 0);
    }
  return TRUE;
}

static enum MHD_Result
handle_packet_put_inner (Req *r)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autofree char *ack = NULL;
  guint64 end = r->offset + r->received;
  gboolean duplicate = FALSE;
  guint8 h[32];

  if (r->fault.kind == FAULT_HANG)
    g_usleep ((gulong) r->fault.seconds * G_USEC_PER_SEC);
  if (r->fault.kind == FAULT_STATUS)
    {
      const char *code = r->fault.status == 500 ? "internal" : "busy";
      g_autofree char *text = g_strdup_printf ("{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                                               _("The office is busy; try again shortly."));

      return respond_text (r, r->fault.status, text,
                           (r->fault.status == 429 || r->fault.status == 503) ? r->fault.retry : 0);
    }
  if (r->fault.kind == FAULT_DROP)
    {
      partial_rollback (r);
      release_busy (r);
      return MHD_NO;
    }

  crypto_generichash_final (&r->hash, h, 32);
  if (!auth_finish (r, h))
    {
      partial_rollback (r);
      return MHD_YES;
    }

  if (r->mode == BODY_COMPARE)
    {
      g_autoptr(FkOfficePacket) stored = NULL;

      if (r->mismatch)
        return respond_error (r, 409, "conflict",
                              _("A different packet with this id is already stored at the office; it was not replaced."));
      if (end < r->total)
        return respond_partial (r, end);
      stored = stored_packet (r->server->store, r->packet_id);
      if (stored == NULL)
        return respond_error (r, 500, "internal", "stored packet vanished");
      return respond_text (r, 200, stored->ack, 0);
    }

  if (end < r->total)
    {
      if (!spill (r) || fdatasync (r->fd) != 0)
        {
          partial_rollback (r);
          return respond_error (r, 500, "internal", _("The chunk could not be saved."));
        }
      close (r->fd);
      r->fd = -1;
      return respond_partial (r, end);
    }

  /* The last byte arrived: the whole packet is here. */
  if (r->fd < 0 && r->offset == 0)
    {
      bytes = g_byte_array_free_to_bytes (r->body);
      r->body = NULL;
    }
  else
    {
      if (!spill (r))
        {
          partial_rollback (r);
          return respond_error (r, 500, "internal", _("The chunk could not be saved."));
        }
      close (r->fd);
      r->fd = -1;
      mapped = g_mapped_file_new (r->partial_path, FALSE, &error);
      if (mapped == NULL)
        return respond_gerror (r, error);
      bytes = g_mapped_file_get_bytes (mapped);
    }
  ack = ingest_packet (r->server->store, r->server->keys, bytes, r->offset == 0 ? h : NULL, r->packet_id,
                       r->device->device_id, r->device, TRUE, &r->announced, &duplicate, &error);
  g_unlink (r->partial_path);
  if (ack == NULL)
    {
      fprintf (stderr, "fieldkit-office: packet %s from %s refused: %s\n",
               r->packet_id, r->device->device_id, error->message);
      return respond_gerror (r, error);
    }
  return respond_text (r, 200, ack, 0);
}

/* The insert redeems the announcement made in req_data; every other way
 * out withdraws it here (or in req_free, when the request ends without
 * being handled). */
static enum MHD_Result
handle_packet_put (Req *r)
{
  enum MHD_Result ret;

  ret = handle_packet_put_inner (r);
  if (r->announced)
    {
      fk_office_store_expect_cancel (r->server->store);
      r->announced = FALSE;
    }
  return ret;
}

/* ---- requests: the three phases ----------------------------------------------------------------- */

static gboolean
query_u64 (Req        *r,
           const char *name,
           guint64    *out)
{
  const char *v = MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, name);

  return v != NULL && g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, out, NULL);
}

static enum MHD_Result
too_large (Req *r)
{
  return respond_error (r, 413, "too_large",
                        _("The upload is larger than the office accepts."));
}

static enum MHD_Result
begin_packet_put (Req *r)
{
  FkOfficeServer *self = r->server;
  g_autoptr(FkOfficePacket) stored = NULL;
  gboolean busy;
  guint64 held;

  if (!query_u64 (r, "offset", &r->offset) || !query_u64 (r, "total", &r->total) || r->total == 0)
    return respond_error (r, 400, "malformed",
                          _("The upload needs ?offset=N&total=T."));
  if (r->total > FK_OFFICE_MAX_PACKET_BYTES ||
      (r->content_length != G_MAXUINT64 && r->content_length > FK_OFFICE_MAX_CHUNK_BYTES))
    return too_large (r);
  if (r->offset >= r->total ||
      (r->content_length != G_MAXUINT64 && r->offset + r->content_length > r->total))
    return respond_error (r, 400, "malformed",
                          _("The chunk does not fit inside the packet's total length."));

  g_mutex_lock (&self->lock);
  busy = g_hash_table_contains (self->busy, r->packet_id);
  if (!busy)
    g_hash_table_add (self->busy, g_strdup (r->packet_id));
  g_mutex_unlock (&self->lock);
  if (busy)
    return respond_error (r, 503, "busy",
                          _("This packet is being uploaded on another connection; try again shortly."));
  r->busy_held = TRUE;
  crypto_generichash_init (&r->hash, NULL, 0, 32);

  r->fault = next_fault (self);
  if (r->fault.kind == FAULT_STATUS)
    {
      r->mode = BODY_DISCARD;
      return MHD_YES;
    }

  stored = stored_packet (self->store, r->packet_id);
  if (stored != NULL)
    {
      if (g_strcmp0 (stored->device_id, r->device->device_id) != 0 || (gint64) r->total != stored->size ||
          (r->stored = fk_office_store_packet_bytes (self->store, r->packet_id, NULL)) == NULL ||
          g_bytes_get_size (r->stored) != r->total)
        return respond_error (r, 409, "conflict",
                              _("A different packet with this id is already stored at the office; it was not replaced."));
      r->mode = BODY_COMPARE;
      return MHD_YES;
    }

  r->partial_path = g_build_filename (fk_office_store_data_dir (self->store), "partial",
                                      r->device->device_id, r->packet_id, NULL);
  held = file_size (r->partial_path);
  if (r->offset != held)
    return respond_error_full (r, 409, "offset_mismatch",
                               _("The office holds a different number of bytes of this packet; resume from offset."),
                               "offset", (gint64) held);
  r->mode = BODY_RECEIVE;
  r->body = g_byte_array_new ();
  return MHD_YES;
}

static enum MHD_Result
req_begin (Req *r)
{
  const char *cl = header (r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  gboolean get = g_str_equal (r->method, "GET");
  gboolean put = g_str_equal (r->method, "PUT");

  if (cl != NULL && !g_ascii_string_to_unsigned (cl, 10, 0, G_MAXUINT64, &r->content_length, NULL))
    return respond_error (r, 400, "malformed", "Content-Length");

  if (g_str_equal (r->path, "/v1/office") && get)
    r->route = ROUTE_OFFICE;
  else if (g_str_equal (r->path, "/v1/enroll") && g_str_equal (r->method, "POST"))
    r->route = ROUTE_ENROLL;
  else if (g_str_equal (r->path, "/v1/changes") && get)
    r->route = ROUTE_CHANGES;
  else if (g_str_equal (r->path, "/v1/audit") && put)
    r->route = ROUTE_AUDIT;
  else if (g_str_has_prefix (r->path, "/v1/packets/") && (get || put) &&
           fk_office_packet_id_valid (r->path + strlen ("/v1/packets/")))
    {
      r->route = get ? ROUTE_PACKET_GET : ROUTE_PACKET_PUT;
      r->packet_id = g_strdup (r->path + strlen ("/v1/packets/"));
    }
  else
    return respond_error (r, 404, "not_found", _("No such endpoint."));

  if (r->route != ROUTE_PACKET_PUT && r->content_length != G_MAXUINT64 &&
      r->content_length > FK_OFFICE_MAX_JSON_BYTES)
    return too_large (r);
  if (r->route != ROUTE_OFFICE && r->route != ROUTE_ENROLL && !auth_headers (r))
    return MHD_YES;
  if (r->route == ROUTE_PACKET_PUT)
    return begin_packet_put (r);
  r->mode = BODY_MEMORY;
  r->body = g_byte_array_new ();
  return MHD_YES;
}

static gboolean
compare_stored (Req          *r,
                const char   *data,
                gsize         size)
{
  gsize stored_len;
  const guint8 *stored = g_bytes_get_data (r->stored, &stored_len);
  guint64 at = r->offset + r->received;

  return at + size <= stored_len && memcmp (stored + at, data, size) == 0;
}

static enum MHD_Result
req_data (Req        *r,
          const char *data,
          gsize       size)
{
  r->bytes_in += size;
  switch (r->mode)
    {
    case BODY_MEMORY:
      if (r->body->len + size > FK_OFFICE_MAX_JSON_BYTES)
        return too_large (r);
      g_byte_array_append (r->body, (const guint8 *) data, (guint) size);
      return MHD_YES;

    case BODY_DISCARD:
      return MHD_YES;

    case BODY_RECEIVE:
    case BODY_COMPARE:
      if (r->received + size > FK_OFFICE_MAX_CHUNK_BYTES || r->offset + r->received + size > r->total)
        {
          partial_rollback (r);
          return too_large (r);
        }
      if (r->fault.kind == FAULT_DROP && r->received + size >= r->fault.bytes)
        {
          partial_rollback (r);
          release_busy (r);
          return MHD_NO;
        }
      crypto_generichash_update (&r->hash, (const guint8 *) data, size);
      if (r->mode == BODY_COMPARE)
        {
          if (!r->mismatch && !compare_stored (r, data, size))
            r->mismatch = TRUE;
        }
      else if (r->fd < 0 && r->body->len + size <= MEM_SPILL_BYTES)
        g_byte_array_append (r->body, (const guint8 *) data, (guint) size);
      else if (!spill (r) || !write_all (r->fd, (const guint8 *) data, size))
        {
          partial_rollback (r);
          return respond_error (r, 500, "internal", _("The chunk could not be saved."));
        }
      r->received += size;
      /* The packet's last byte is here: it will most likely become a row.
       * Announcing it lets a group commit that starts while its signatures
       * are checked wait for it (at most 1 ms;
       * fk_office_store_expect_packet).  Not earlier: a body still coming
       * over a slow network would hold every commit for the full wait. */
      if (r->mode == BODY_RECEIVE && !r->announced && r->fault.kind == FAULT_NONE &&
          r->offset + r->received == r->total)
        {
          fk_office_store_expect_packet (r->server->store);
          r->announced = TRUE;
        }
      return MHD_YES;
    }
  return MHD_NO;
}

static enum MHD_Result
req_finish (Req *r)
{
  switch (r->route)
    {
    case ROUTE_OFFICE:
      return respond_text (r, 200, r->server->office_json, 0);
    case ROUTE_ENROLL:
      return handle_enroll (r);
    case ROUTE_PACKET_PUT:
      return handle_packet_put (r);
    default:
      break;
    }
  if (!auth_finish_memory (r))
    return MHD_YES;
  switch (r->route)
    {
    case ROUTE_CHANGES:
      return handle_changes (r);
    case ROUTE_AUDIT:
      return handle_audit (r);
    case ROUTE_PACKET_GET:
      return handle_packet_get (r);
    default:
      return respond_error (r, 404, "not_found", _("No such endpoint."));
    }
}

static enum MHD_Result
access_cb (void                  *cls,
           struct MHD_Connection *conn,
           const char            *url,
           const char            *method,
           const char            *version,
           const char            *upload_data,
           size_t                *upload_data_size,
           void                 **con_cls)
{
  Req *r = *con_cls;

  if (r == NULL)
    return MHD_NO;
  r->conn = conn;
  if (!r->begun)
    {
      r->begun = TRUE;
      r->method = g_strdup (method);
      r->path = g_strdup (url);
      return req_begin (r);
    }
  if (r->answered)
    {
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      gsize size = *upload_data_size;

      *upload_data_size = 0;
      return req_data (r, upload_data, size);
    }
  return req_finish (r);
}

/* ---- the daemon --------------------------------------------------------------------------------- */

/* curl's pin format for the certificate's public key:
 * "sha256//" base64(SHA-256(SubjectPublicKeyInfo DER)). */
static char *
tls_pin_from_pem (const char *pem)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t in = { (unsigned char *) pem, (unsigned int) strlen (pem) };
  gnutls_datum_t der = { NULL, 0 };
  unsigned char digest[32];
  char *out = NULL;

  if (gnutls_x509_crt_init (&crt) == 0 &&
      gnutls_x509_crt_import (crt, &in, GNUTLS_X509_FMT_PEM) == 0 &&
      gnutls_pubkey_init (&pub) == 0 &&
      gnutls_pubkey_import_x509 (pub, crt, 0) == 0 &&
      gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_DER, &der) == 0 &&
      gnutls_hash_fast (GNUTLS_DIG_SHA256, der.data, der.size, digest) == 0)
    {
      g_autofree char *b64 = fk_b64_encode (digest, sizeof digest);

      out = g_strconcat ("sha256//", b64, NULL);
    }
  gnutls_free (der.data);
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return out;
}

static char *
office_document (FkOfficeKeys *keys,
                 const char   *tls_pin)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *sign = fk_b64_encode (fk_identity_public_key (keys->sign), 32);
  g_autofree char *box = fk_b64_encode (fk_box_key_public (keys->box), 32);

  json_builder_begin_object (b);
  fk_cli_add_int (b, "v", 1);
  fk_cli_add_str (b, "office_code", keys->office_code);
  fk_cli_add_str (b, "sign_pk", sign);
  fk_cli_add_str (b, "box_pk", box);
  fk_cli_add_str (b, "key_id", keys->key_id);
  fk_cli_add_str (b, "fingerprint", keys->fingerprint);
  fk_cli_add_int (b, "max_packet_bytes", FK_OFFICE_MAX_PACKET_BYTES);
  if (tls_pin)
    fk_cli_add_str (b, "tls_pin", tls_pin);
  json_builder_end_object (b);
  return builder_text (b);
}

static void
server_free (FkOfficeServer *self)
{
  g_mutex_clear (&self->lock);
  g_clear_pointer (&self->nonces, g_hash_table_unref);
  g_clear_pointer (&self->busy, g_hash_table_unref);
  g_clear_pointer (&self->faults, g_array_unref);
  g_free (self->office_json);
  g_free (self->tls_pin);
  g_free (self);
}

guint
fk_office_remove_stale_partials (FkOfficeStore *store,
                                 gint64         max_age_s)
{
  g_autofree char *root = g_build_filename (fk_office_store_data_dir (store), "partial", NULL);
  g_autoptr(GDir) devices = g_dir_open (root, 0, NULL);
  gint64 cutoff = g_get_real_time () / G_USEC_PER_SEC - max_age_s;
  const char *device;
  guint removed = 0;

  while (devices && (device = g_dir_read_name (devices)) != NULL)
    {
      g_autofree char *dir_path = g_build_filename (root, device, NULL);
      g_autoptr(GDir) packets = g_dir_open (dir_path, 0, NULL);
      const char *packet;

      while (packets && (packet = g_dir_read_name (packets)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir_path, packet, NULL);
          GStatBuf st;

          if (g_lstat (path, &st) == 0 && S_ISREG (st.st_mode) && (gint64) st.st_mtime < cutoff &&
              g_unlink (path) == 0)
            removed++;
        }
      g_clear_pointer (&packets, g_dir_close);
      g_rmdir (dir_path);   /* only when empty */
    }
  return removed;
}

FkOfficeServer *
fk_office_server_start (FkOfficeStore                *store,
                        FkOfficeKeys                 *keys,
                        const FkOfficeServerOptions  *options,
                        GError                      **error)
{
  FkOfficeServer *self = g_new0 (FkOfficeServer, 1);
  struct sockaddr_in addr = { 0 };
  struct MHD_OptionItem opts[16];
  const union MHD_DaemonInfo *info;
  const char *address = options->address ? options->address : "127.0.0.1";
  unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  guint n = 0;

  g_mutex_init (&self->lock);
  self->store = store;
  self->keys = keys;
  self->quiet = options->quiet;
  if (options->tls_cert_pem)
    {
      self->tls_pin = tls_pin_from_pem (options->tls_cert_pem);
      if (self->tls_pin == NULL)
        {
          g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                               _("The TLS certificate could not be read (PEM expected)."));
          goto fail;
        }
    }
  self->office_json = office_document (keys, self->tls_pin);
  self->nonces = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  self->busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->faults = parse_faults (options->faults, error);
  if (self->faults == NULL)
    goto fail;
  {
    guint stale = fk_office_remove_stale_partials (store, FK_OFFICE_PARTIAL_MAX_AGE_S);

    if (stale > 0 && !self->quiet)
      fprintf (stderr, "fieldkit-office: removed %u unfinished upload(s) untouched for %d days; "
                       "their devices send those packets again from the start\n",
               stale, FK_OFFICE_PARTIAL_MAX_AGE_S / (24 * 3600));
  }

  addr.sin_family = AF_INET;
  addr.sin_port = htons (options->port);
  if (inet_pton (AF_INET, g_str_equal (address, "localhost") ? "127.0.0.1" : address, &addr.sin_addr) != 1)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                   _("\"%s\" is not an IPv4 address to listen on."), address);
      goto fail;
    }

  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_SOCK_ADDR, 0, &addr };
  if (options->threads > 0)
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_THREAD_POOL_SIZE, options->threads, NULL };
  else
    flags |= MHD_USE_THREAD_PER_CONNECTION;
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT, 512, NULL };
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128, NULL };
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL };
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL };
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_URI_LOG_CALLBACK, (intptr_t) uri_log_cb, self };
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) completed_cb, self };
  if (options->tls_cert_pem || options->tls_key_pem)
    {
      if (options->tls_cert_pem == NULL || options->tls_key_pem == NULL ||
          MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES)
        {
          g_set_error_literal (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                               _("HTTPS needs both --tls-cert and --tls-key (and libmicrohttpd with TLS)."));
          goto fail;
        }
      flags |= MHD_USE_TLS;
      opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) options->tls_cert_pem };
      opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) options->tls_key_pem };
    }
  opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };

  self->daemon = MHD_start_daemon (flags, options->port, NULL, NULL, access_cb, self,
                                   MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
  if (self->daemon == NULL)
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("The office server could not listen on %s:%u (in use, or not allowed)."),
                   address, options->port);
      goto fail;
    }
  info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
  self->port = info ? info->port : options->port;
  return self;

fail:
  server_free (self);
  return NULL;
}

guint16
fk_office_server_port (FkOfficeServer *self)
{
  return self->port;
}

void
fk_office_server_stop (FkOfficeServer *self,
                       guint           grace_s)
{
  gint64 deadline;
  MHD_socket listen_fd;

  if (self == NULL)
    return;
  g_atomic_int_set (&self->quiescing, 1);
  listen_fd = MHD_quiesce_daemon (self->daemon);
  if (listen_fd != MHD_INVALID_SOCKET)
    close (listen_fd);
  deadline = g_get_monotonic_time () + (gint64) grace_s * G_USEC_PER_SEC;
  while (g_atomic_int_get (&self->in_flight) > 0 && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  MHD_stop_daemon (self->daemon);
  server_free (self);
}
