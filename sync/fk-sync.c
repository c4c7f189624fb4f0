/* fk-sync.c — the device side of the sync protocol; see fk-sync.h and
 * docs/PROTOCOL.md.
 *
 * Layout: types, HTTP (libcurl, signed requests, capped answers), errors,
 * enrolment, uploads in parallel (shared state, batched acks), upload of one
 * packet, the audit log, the office's answers, the whole run, the async
 * wrapper, bundles. */
#include "sync/fk-sync.h"

#include <string.h>
#include <curl/curl.h>
#include <json-glib/json-glib.h>

#include "app/fk-packet.h"
#include "crypto/fk-i18n.h"

G_DEFINE_QUARK (fk-sync-error-quark, fk_sync_error)

/* Answers from the office are small JSON documents; anything bigger is an
 * error, and reading stops there (curl's habit: a hard cap, fail loudly). */
#define MAX_ANSWER (2 * 1024 * 1024)
/* Packets go up in parts of this size so an interrupted upload resumes
 * from the last part the office holds. */
#define UPLOAD_PART (1024 * 1024)

/* ---- types -------------------------------------------------------------------- */

typedef struct _Run Run;

typedef struct {
  CURL         *curl;
  char         *base;          /* URL without trailing slash */
  FkStore      *store;
  Run          *run;           /* the upload workers' shared state, or NULL */
  FkIdentity   *device;        /* borrowed; NULL for enrolment */
  char         *device_id;
  gint64        clock_offset;  /* office time − our time, seconds */
  GCancellable *cancellable;
  const guint8 *office_pk;     /* pinned office signing key, after enrolment */
  char         *tls_pin;       /* "sha256//…": the office's TLS key, pinned */
  gboolean      revoked;       /* a revocation signed by the office arrived */
  FkPacketReader *reader;      /* an upload worker's own read connection, or NULL */
} Http;

typedef struct {
  long        status;
  GByteArray *body;
  gint64      retry_after;     /* seconds, −1 if none */
  gboolean    overflow;
} Answer;

/* ---- HTTP ---------------------------------------------------------------------- */

static size_t
write_cb (char   *data,
          size_t  size,
          size_t  n,
          void   *user)
{
  Answer *a = user;
  size_t len = size * n;

  if (a->body->len + len > MAX_ANSWER)
    {
      a->overflow = TRUE;
      return 0;
    }
  g_byte_array_append (a->body, (const guint8 *) data, (guint) len);
  return len;
}

static size_t
header_cb (char   *data,
           size_t  size,
           size_t  n,
           void   *user)
{
  Answer *a = user;
  size_t len = size * n;

  if (len > 12 && g_ascii_strncasecmp (data, "Retry-After:", 12) == 0)
    {
      g_autofree char *v = g_strndup (data + 12, len - 12);

      a->retry_after = g_ascii_strtoll (g_strstrip (v), NULL, 10);
    }
  return len;
}

static int
progress_cb (void       *user,
             curl_off_t  dltotal,
             curl_off_t  dlnow,
             curl_off_t  ultotal,
             curl_off_t  ulnow)
{
  Http *h = user;

  return g_cancellable_is_cancelled (h->cancellable) ? 1 : 0;
}

static long
env_long (const char *name,
          long        fallback)
{
  const char *v = g_getenv (name);

  return v && *v ? (long) g_ascii_strtoll (v, NULL, 10) : fallback;
}

static gboolean
http_init (Http         *h,
           FkStore      *store,
           const char   *url,
           GCancellable *cancellable,
           GError      **error)
{
  memset (h, 0, sizeof *h);
  curl_global_init (CURL_GLOBAL_DEFAULT);
  h->curl = curl_easy_init ();
  if (h->curl == NULL)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK, "curl_easy_init failed");
      return FALSE;
    }
  h->base = g_strdup (url);
  while (g_str_has_suffix (h->base, "/"))
    h->base[strlen (h->base) - 1] = '\0';
  h->store = store;
  h->cancellable = cancellable;
  return TRUE;
}

static void
http_clear (Http *h)
{
  g_clear_pointer (&h->curl, curl_easy_cleanup);
  g_clear_pointer (&h->base, g_free);
  g_clear_pointer (&h->device_id, g_free);
  g_clear_pointer (&h->tls_pin, g_free);
  g_clear_pointer (&h->reader, fk_packet_reader_free);
}

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->body, g_byte_array_unref);
}

/* One request.  Transport failures are FK_SYNC_ERROR_NETWORK; any HTTP
 * status is returned in *a for the caller to judge. */
static gboolean
http_do (Http          *h,
         const char    *method,
         const char    *path,
         const guint8  *body,
         gsize          body_len,
         const char    *content_type,
         const char    *body_hash_hex,
         Answer        *a,
         GError       **error)
{
  g_autofree char *url = g_strconcat (h->base, path, NULL);
  struct curl_slist *headers = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURLcode rc;

  memset (a, 0, sizeof *a);
  a->body = g_byte_array_new ();
  a->retry_after = -1;

  curl_easy_reset (h->curl);
  curl_easy_setopt (h->curl, CURLOPT_URL, url);
  curl_easy_setopt (h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h->curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h->curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (h->curl, CURLOPT_WRITEDATA, a);
  curl_easy_setopt (h->curl, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (h->curl, CURLOPT_HEADERDATA, a);
  curl_easy_setopt (h->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt (h->curl, CURLOPT_XFERINFODATA, h);
  curl_easy_setopt (h->curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (h->curl, CURLOPT_CONNECTTIMEOUT, env_long ("FIELDKIT_CONNECT_TIMEOUT_S", 10));
  /* A stalled transfer (under 1 KiB/s for 30 s) is cut and retried. */
  curl_easy_setopt (h->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt (h->curl, CURLOPT_LOW_SPEED_TIME, env_long ("FIELDKIT_LOW_SPEED_TIME_S", 30));
  curl_easy_setopt (h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (g_str_has_prefix (h->base, "https://"))
    {
      /* The office's certificate is usually its own, not from a public CA:
       * trust comes from the pinned key (learned inside the office-signed
       * enrolment answer), which curl checks even with peer verification
       * off.  Before enrolment only GET /v1/office runs unpinned, and what
       * it returns is checked against the fingerprint the clerk typed. */
      curl_easy_setopt (h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
      if (h->tls_pin)
        curl_easy_setopt (h->curl, CURLOPT_PINNEDPUBLICKEY, h->tls_pin);
    }
  curl_easy_setopt (h->curl, CURLOPT_CUSTOMREQUEST, method);
  if (body != NULL)
    {
      curl_easy_setopt (h->curl, CURLOPT_POSTFIELDS, (const char *) body);
      curl_easy_setopt (h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
    }
  else if (g_strcmp0 (method, "GET") == 0)
    curl_easy_setopt (h->curl, CURLOPT_HTTPGET, 1L);
  headers = curl_slist_append (headers, "Expect:");
  if (content_type)
    {
      g_autofree char *ct = g_strconcat ("Content-Type: ", content_type, NULL);

      headers = curl_slist_append (headers, ct);
    }
  if (h->device != NULL)
    {
      g_autoptr(GBytes) m = NULL;
      g_autofree char *time_text = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                    g_get_real_time () / G_USEC_PER_SEC + h->clock_offset);
      g_autofree char *nonce = NULL;
      g_autofree char *sig_b64 = NULL;
      g_autofree char *hd = NULL, *ht = NULL, *hn = NULL, *hs = NULL, *hh = NULL;
      g_autofree char *computed = NULL;
      guint8 nonce_raw[16];
      guint8 sig[crypto_sign_BYTES];

      randombytes_buf (nonce_raw, sizeof nonce_raw);
      nonce = fk_hex_encode (nonce_raw, sizeof nonce_raw);
      /* The body's hash goes in FK-Content-Hash, so that the office checks
       * the signature before it reads the body (PROTOCOL §3.3). */
      if (body_hash_hex == NULL)
        {
          guint8 bh[32];

          fk_hash (body ? body : (const guint8 *) "", body ? body_len : 0, bh);
          body_hash_hex = computed = fk_hex_encode (bh, sizeof bh);
        }
      m = fk_request_message_hex (method, path, time_text, nonce, body_hash_hex);
      fk_identity_sign (h->device, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);
      sig_b64 = fk_b64_encode (sig, sizeof sig);
      hd = g_strconcat ("FK-Device: ", h->device_id, NULL);
      ht = g_strconcat ("FK-Time: ", time_text, NULL);
      hn = g_strconcat ("FK-Nonce: ", nonce, NULL);
      hs = g_strconcat ("FK-Signature: ", sig_b64, NULL);
      headers = curl_slist_append (headers, hd);
      headers = curl_slist_append (headers, ht);
      headers = curl_slist_append (headers, hn);
      headers = curl_slist_append (headers, hs);
      hh = g_strconcat ("FK-Content-Hash: ", body_hash_hex, NULL);
      headers = curl_slist_append (headers, hh);
    }
  curl_easy_setopt (h->curl, CURLOPT_HTTPHEADER, headers);

  rc = curl_easy_perform (h->curl);
  curl_slist_free_all (headers);
  curl_easy_getinfo (h->curl, CURLINFO_RESPONSE_CODE, &a->status);

  if (rc == CURLE_ABORTED_BY_CALLBACK)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_CANCELLED,
                           _("Sync was cancelled."));
      return FALSE;
    }
  if (a->overflow)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                           _("The office sent an answer larger than 2 MiB; it was refused."));
      return FALSE;
    }
  if (rc != CURLE_OK)
    {
      g_set_error (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK,
                   _("The office at %s could not be reached (%s). The cases stay safely on this device; "
                         "sync again when the network is back."),
                   h->base, errbuf[0] ? errbuf : curl_easy_strerror (rc));
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
answer_json (const Answer *a)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  JsonNode *root;

  if (a->body->len == 0 ||
      !json_parser_load_from_data (p, (const char *) a->body->data, a->body->len, NULL) ||
      (root = json_parser_get_root (p)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

/* The office's error object, or NULL. */
static JsonObject *
answer_error (const Answer *a,
              const char  **code,
              const char  **message)
{
  g_autoptr(JsonObject) obj = answer_json (a);
  JsonObject *err;

  *code = "";
  *message = "";
  if (obj == NULL || !json_object_has_member (obj, "error"))
    return NULL;
  err = json_object_get_object_member (obj, "error");
  if (err == NULL)
    return NULL;
  *code = json_object_get_string_member_with_default (err, "code", "");
  *message = json_object_get_string_member_with_default (err, "message", "");
  json_object_ref (err);
  /* The strings live in err, which the caller owns. */
  return err;
}

/* ---- enrolment ----------------------------------------------------------------- */

static gboolean
office_keys (JsonObject  *office,
             guint8       sign_pk[32],
             guint8       box_pk[32])
{
  g_autoptr(GBytes) s = fk_b64_decode (json_object_get_string_member_with_default (office, "sign_pk", NULL), 32);
  g_autoptr(GBytes) b = fk_b64_decode (json_object_get_string_member_with_default (office, "box_pk", NULL), 32);

  if (s == NULL || b == NULL)
    return FALSE;
  memcpy (sign_pk, g_bytes_get_data (s, NULL), 32);
  memcpy (box_pk, g_bytes_get_data (b, NULL), 32);
  return TRUE;
}

static char *
normalize_fingerprint (const char *fp)
{
  GString *s = g_string_new (NULL);

  for (const char *p = fp ? fp : ""; *p; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (s, g_ascii_toupper (*p));
  return g_string_free (s, FALSE);
}

gboolean
fk_sync_enroll (FkStore     *store,
                const char  *url,
                const char  *code_typed,
                const char  *fingerprint,
                const char  *device_name,
                GError     **error)
{
  g_autofree char *code = fk_invite_code_normalize (code_typed);
  g_autoptr(JsonObject) office = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) result = NULL;
  g_autofree char *want = normalize_fingerprint (fingerprint);
  g_autofree char *have = NULL;
  g_autofree char *have_norm = NULL;
  g_autofree char *request = NULL;
  g_autofree char *invite_id = NULL;
  g_autofree char *pk_b64 = NULL;
  g_autofree char *proof_b64 = NULL;
  FkIdentity *device = fk_store_device_identity (store);
  FkOfficeInfo info = { 0 };
  guint8 proof[32];
  Http h;
  Answer a;
  gboolean ok = FALSE;

  if (device == NULL)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                           _("Sign in before enrolling the device."));
      return FALSE;
    }
  if (code == NULL)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                           _("The invite code must be 20 letters and digits (as printed by the office, dashes optional)."));
      return FALSE;
    }
  if (strlen (want) != 32)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_FINGERPRINT,
                           _("The office fingerprint must be 32 hexadecimal characters (8 groups of 4)."));
      return FALSE;
    }
  if (!g_str_has_prefix (url, "https://") &&
      !g_str_has_prefix (url, "http://127.0.0.1") && !g_str_has_prefix (url, "http://localhost"))
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                           _("The office address must start with https:// (plain http is allowed only on 127.0.0.1)."));
      return FALSE;
    }
  if (!http_init (&h, store, url, NULL, error))
    return FALSE;

  /* 1. The office's keys, checked against the fingerprint before the code
   *    is used at all. */
  if (!http_do (&h, "GET", "/v1/office", NULL, 0, NULL, NULL, &a, error))
    goto out;
  office = answer_json (&a);
  if (a.status != 200 || office == NULL || !office_keys (office, info.sign_pk, info.box_pk))
    {
      g_set_error (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                   _("%s did not answer like a FieldKit office (HTTP %ld)."),
                   url, a.status);
      answer_clear (&a);
      goto out;
    }
  answer_clear (&a);
  have = fk_office_fingerprint (info.sign_pk, info.box_pk);
  have_norm = normalize_fingerprint (have);
  if (g_strcmp0 (have_norm, want) != 0)
    {
      g_set_error (error, FK_SYNC_ERROR, FK_SYNC_ERROR_FINGERPRINT,
                   _("The office at %s has fingerprint %s, not the one you were given. Stop: this may not be your office. "
                         "Nothing was sent. Check the fingerprint with the administrator."),
                   url, have);
      goto out;
    }

  if (g_str_has_prefix (h.base, "https://"))
    {
      const char *pin = json_object_get_string_member_with_default (office, "tls_pin", NULL);

      if (pin == NULL || !g_str_has_prefix (pin, "sha256//"))
        {
          g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                               _("The office did not say which TLS key to pin."));
          goto out;
        }
      h.tls_pin = g_strdup (pin);
    }

  /* 2. Enrol with a proof of the code; the code itself never travels. */
  invite_id = fk_invite_id (code);
  fk_invite_proof (code, fk_identity_public_key (device), proof);
  pk_b64 = fk_b64_encode (fk_identity_public_key (device), 32);
  proof_b64 = fk_b64_encode (proof, sizeof proof);
  body = json_object_new ();
  json_object_set_int_member (body, "v", 1);
  json_object_set_string_member (body, "invite_id", invite_id);
  json_object_set_string_member (body, "device_name", device_name ? device_name : g_get_host_name ());
  json_object_set_string_member (body, "sign_pk", pk_b64);
  json_object_set_string_member (body, "proof", proof_b64);
  {
    g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    g_autoptr(JsonGenerator) gen = json_generator_new ();

    json_node_set_object (node, body);
    json_generator_set_root (gen, node);
    request = json_generator_to_data (gen, NULL);
  }
  if (!http_do (&h, "POST", "/v1/enroll", (const guint8 *) request, strlen (request), "application/json", NULL, &a, error))
    goto out;
  if (a.status != 200)
    {
      const char *ecode, *msg;
      g_autoptr(JsonObject) err = answer_error (&a, &ecode, &msg);

      g_set_error (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                   _("The office refused the enrolment: %s (%s). Ask the administrator for a new invite."),
                   *msg ? msg : "?", *ecode ? ecode : "HTTP");
      answer_clear (&a);
      goto out;
    }
  result = fk_envelope_open ((const char *) a.body->data, a.body->len, info.sign_pk, NULL, error);
  answer_clear (&a);
  if (result == NULL)
    goto out;
  if (h.tls_pin != NULL &&
      g_strcmp0 (json_object_get_string_member_with_default (result, "tls_pin", ""), h.tls_pin) != 0)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_FINGERPRINT,
                           _("The office's signed answer names another TLS key than the connection used. Stop: someone may be in between."));
      goto out;
    }
  info.url = g_strdup (h.base);
  info.tls_pin = g_strdup (h.tls_pin);
  info.key_id = fk_office_key_id (info.sign_pk, info.box_pk);
  info.device_id = g_strdup (json_object_get_string_member_with_default (result, "device_id", ""));
  info.office_code = g_strdup (json_object_get_string_member_with_default (result, "office_code", ""));
  info.device_number = (guint) json_object_get_int_member_with_default (result, "device_number", 0);
  {
    g_autofree char *expect_id = fk_device_id (fk_identity_public_key (device));

    if (g_strcmp0 (info.device_id, expect_id) != 0 || info.device_number < 1 || info.device_number > 99 ||
        *info.office_code == '\0' ||
        g_strcmp0 (json_object_get_string_member_with_default (result, "type", ""), "enrolled") != 0)
      {
        g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                             _("The office's enrolment answer does not match this device."));
        goto out;
      }
  }
  ok = fk_store_enrolled (store, &info, error);

out:
  fk_office_info_clear (&info);
  http_clear (&h);
  return ok;
}

/* ---- reports ------------------------------------------------------------------- */

static void
sync_case_free (FkSyncCase *c)
{
  g_free (c->packet_id);
  g_free (c->receipt_no);
  g_free (c->client_status);
  g_free (c->server_status);
  g_free (c->message);
  g_free (c);
}

void
fk_sync_report_clear (FkSyncReport *report)
{
  g_clear_pointer (&report->cases, g_ptr_array_unref);
  memset (report, 0, sizeof *report);
}

static FkSyncCase *
report_case (FkSyncReport       *report,
             const FkOutboxItem *item)
{
  FkSyncCase *c = g_new0 (FkSyncCase, 1);

  c->case_id = item->case_id;
  c->packet_id = g_strdup (item->packet_id);
  c->receipt_no = g_strdup (item->receipt_no);
  c->server_status = g_strdup (item->server_status);
  g_ptr_array_add (report->cases, c);
  return c;
}

gint64
fk_sync_backoff_us (guint attempt)
{
  gint64 base = env_long ("FIELDKIT_BACKOFF_BASE_MS", 1000) * 1000;
  gint64 cap = 600 * G_USEC_PER_SEC;
  gint64 ceiling = attempt >= 30 ? cap : MIN (cap, base << attempt);

  if (ceiling <= 0)
    return 0;
  return (gint64) (randombytes_uniform ((guint32) MIN (ceiling, (gint64) G_MAXUINT32)) );
}

static gboolean
sleep_cancellable (gint64        us,
                   GCancellable *cancellable)
{
  gint64 end = g_get_monotonic_time () + us;

  while (g_get_monotonic_time () < end)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      g_usleep (MIN (end - g_get_monotonic_time (), 100000));
    }
  return TRUE;
}

/* ---- uploads in parallel --------------------------------------------------------- */

/* Several packets go up at once, each worker with its own libcurl handle
 * and so its own keep-alive connection: while the office verifies and
 * flushes one packet, the next ones are already on the wire, and the
 * office's group commit shares one flush among the packets waiting.  The
 * store is one SQLite connection: every store call is made under
 * store_lock.
 *
 * Acks are recorded behind the uploads: a worker hands its verified ack to
 * the run's recorder thread and goes on with its next packet at once; the
 * recorder records every ack handed to it since its last commit in one
 * transaction (fk_store_begin_batch), one commit and one flush for all of
 * them.  A worker used to wait for that flush (and for the other workers'
 * batches before it) between two packets.  The run ends only after the
 * recorder has committed every ack, so fk_sync_run still returns with each
 * acknowledged case recorded (or reported as waiting, with the reason, if
 * its ack could not be recorded: the office holds the packet, and the next
 * sync's GET brings the same ack back). */
struct _Run {
  FkStore            *store;
  const FkOfficeInfo *office;
  GPtrArray          *items;       /* FkOutboxItem*, borrowed */
  GPtrArray          *cases;       /* FkSyncCase* for each item, borrowed from the report */
  FkSyncReport       *report;
  FkSyncProgressFunc  progress;
  gpointer            user_data;

  GMutex              lock;        /* guards what follows, and the report */
  guint               next;        /* next item to take */
  gboolean            stop;        /* a fatal result: take no more items */
  GError             *error;       /* the first fatal error */
  gint64              clock_offset;
  gboolean            revoked;
  guint               running;     /* workers not yet finished */
  GCond               done_cond;   /* a worker finished */
  gint64              in_flight;   /* bytes of the packets being uploaded now */
  gint64              budget;      /* bytes_in_flight_budget () */
  GCond               slot_cond;   /* in_flight went down */

  GMutex              store_lock;  /* every store call */
  GMutex              ack_lock;    /* guards what follows */
  GCond               ack_cond;    /* acks grew, or the workers are done */
  GPtrArray          *acks;        /* PendingAck* not yet recorded */
  gboolean            acks_closed; /* no more acks will come */
  GPtrArray          *failed_acks; /* PendingAck* that could not be recorded */
};

typedef struct {
  char   *packet_id;
  char   *text;
  GError *error;
} PendingAck;

static void
pending_ack_free (gpointer data)
{
  PendingAck *a = data;

  g_free (a->packet_id);
  g_free (a->text);
  g_clear_error (&a->error);
  g_free (a);
}

static void
store_lock (Http *h)
{
  if (h->run)
    g_mutex_lock (&h->run->store_lock);
}

static void
store_unlock (Http *h)
{
  if (h->run)
    g_mutex_unlock (&h->run->store_lock);
}

static void
report_progress (Http               *h,
                 FkSyncProgressFunc  progress,
                 const char         *packet_id,
                 gsize               done,
                 gsize               total,
                 gpointer            user_data)
{
  if (progress == NULL)
    return;
  /* One call at a time, as when there was one upload. */
  if (h->run)
    g_mutex_lock (&h->run->lock);
  progress (packet_id, done, total, user_data);
  if (h->run)
    g_mutex_unlock (&h->run->lock);
}

/* Records a verified ack: at once without a run, else handed to the
 * run's recorder (see Run). */
static gboolean
record_ack (Http        *h,
            const char  *packet_id,
            const char  *text,
            GError     **error)
{
  Run *run = h->run;
  PendingAck *a;

  if (run == NULL)
    return fk_store_outbox_acked (h->store, packet_id, text, error);
  a = g_new0 (PendingAck, 1);
  a->packet_id = g_strdup (packet_id);
  a->text = g_strdup (text);
  g_mutex_lock (&run->ack_lock);
  g_ptr_array_add (run->acks, a);
  g_cond_signal (&run->ack_cond);
  g_mutex_unlock (&run->ack_lock);
  return TRUE;
}

/* The recorder thread: records what the workers hand it, a batch per
 * commit, until they are done and nothing is left. */
static gpointer
ack_recorder (gpointer data)
{
  Run *run = data;

  for (;;)
    {
      g_autoptr(GPtrArray) group = NULL;
      g_autoptr(GError) shared = NULL;

      g_mutex_lock (&run->ack_lock);
      while (run->acks->len == 0 && !run->acks_closed)
        g_cond_wait (&run->ack_cond, &run->ack_lock);
      group = run->acks;
      run->acks = g_ptr_array_new_with_free_func (pending_ack_free);
      g_mutex_unlock (&run->ack_lock);
      if (group->len == 0)
        return NULL;   /* closed, and everything recorded */

      g_mutex_lock (&run->store_lock);
      if (fk_store_begin_batch (run->store, &shared))
        {
          for (guint i = 0; i < group->len; i++)
            {
              PendingAck *a = group->pdata[i];

              fk_store_outbox_acked (run->store, a->packet_id, a->text, &a->error);
            }
          fk_store_end_batch (run->store, TRUE, &shared);
        }
      g_mutex_unlock (&run->store_lock);

      for (guint i = group->len; i > 0; i--)
        {
          PendingAck *a = group->pdata[i - 1];

          if (shared != NULL && a->error == NULL)
            a->error = g_error_copy (shared);
          if (a->error != NULL)
            g_ptr_array_add (run->failed_acks, g_ptr_array_steal_index (group, i - 1));
        }
      /* A store that cannot record acks (a full disk) cannot record the
       * next ones either: no more packets are taken. */
      if (shared != NULL)
        {
          g_mutex_lock (&run->lock);
          run->stop = TRUE;
          if (run->error == NULL)
            run->error = g_error_copy (shared);
          g_mutex_unlock (&run->lock);
        }
    }
}

/* After the recorder is done: a case whose ack could not be recorded was
 * reported as sent by its worker; it is waiting, with the reason. */
static void
settle_failed_acks (Run *run)
{
  for (guint i = 0; i < run->failed_acks->len; i++)
    {
      PendingAck *a = run->failed_acks->pdata[i];

      for (guint j = 0; j < run->items->len; j++)
        {
          FkOutboxItem *item = run->items->pdata[j];
          FkSyncCase *rc = run->cases->pdata[j];

          if (rc == NULL || g_strcmp0 (item->packet_id, a->packet_id) != 0)
            continue;
          g_free (rc->client_status);
          rc->client_status = g_strdup (_("waiting"));
          g_free (rc->message);
          rc->message = g_strdup_printf (_("The office holds this case, but this device could not record "
                                           "its acknowledgement (%s); the next sync fetches it again."),
                                         a->error->message);
          run->report->uploaded--;
          run->report->waiting++;
        }
    }
}

/* ---- one packet ---------------------------------------------------------------- */

typedef enum {
  UP_DONE,         /* acknowledged (now or before) */
  UP_RETRY,        /* transient: try again later */
  UP_QUARANTINE,   /* the office refused it: the clerk must look */
  UP_FATAL,        /* stop the whole run (revoked, cancelled, protocol) */
} UploadResult;

/* Verifies an ack envelope for this packet and records it. */
static gboolean
accept_ack (Http               *h,
            const FkOfficeInfo *office,
            const FkOutboxItem *item,
            const char         *envelope,
            gsize               len,
            GError            **error)
{
  g_autofree char *text = g_strndup (envelope, len);
  g_autoptr(JsonObject) ack = fk_envelope_open (envelope, len, office->sign_pk, NULL, error);

  if (ack == NULL)
    return FALSE;
  if (g_strcmp0 (json_object_get_string_member_with_default (ack, "type", ""), "ack") != 0 ||
      g_strcmp0 (json_object_get_string_member_with_default (ack, "packet_id", ""), item->packet_id) != 0 ||
      g_strcmp0 (json_object_get_string_member_with_default (ack, "packet_hash", ""), item->packet_hash) != 0)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                           _("The office's acknowledgement is for other bytes than this packet."));
      return FALSE;
    }
  return record_ack (h, item->packet_id, text, error);
}

/* What a clerk reads about an office's refusal: the office's own words
 * first, what to do, and the status and code in parentheses for whoever
 * the clerk calls (the code also tells a revocation apart, see
 * upload_packet). */
static char *
refusal_message (UploadResult  r,
                 long          status,
                 const char   *code,
                 const char   *msg)
{
  g_autofree char *tech = *code ? g_strdup_printf ("HTTP %ld %s", status, code) : g_strdup_printf ("HTTP %ld", status);
  const char *words = *msg ? msg : _("no reason given");

  if (r == UP_RETRY)
    return g_strdup_printf (_("The office cannot take it just now: %s (%s). FieldKit tries again by itself."), words, tech);
  if (r == UP_QUARANTINE)
    return g_strdup_printf (_("The office refused this case: %s (%s). Check the case, then retry it "
                              "(Retry on the Sync page, or \"fieldkit-cli outbox retry\"); "
                              "if the office refuses it again, call the office."), words, tech);
  return g_strdup_printf (_("The office refused this device's request: %s (%s)."), words, tech);
}

static UploadResult
classify_status (Http         *h,
                 const Answer *a,
                 const char   *code,
                 JsonObject   *err)
{
  if (a->status == 401 && g_strcmp0 (code, "clock_skew") == 0 && err != NULL)
    {
      gint64 server_time = json_object_get_int_member_with_default (err, "server_time", 0);

      if (server_time > 0)
        {
          /* The device clock is off (a tablet left a year behind): speak the
           * office's time from now on, and try again at once. */
          h->clock_offset = server_time - g_get_real_time () / G_USEC_PER_SEC;
          return UP_RETRY;
        }
    }
  if (a->status == 403 && g_strcmp0 (code, "device_revoked") == 0)
    {
      /* Only a revocation signed by the office wipes the device; a bare 403
       * from anyone on the network does not. */
      const char *env = err ? json_object_get_string_member_with_default (err, "revocation", NULL) : NULL;
      g_autoptr(JsonObject) body = NULL;

      if (env && h->office_pk &&
          (body = fk_envelope_open (env, strlen (env), h->office_pk, NULL, NULL)) != NULL &&
          g_strcmp0 (json_object_get_string_member_with_default (body, "type", ""), "revoked") == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (body, "device_id", ""), h->device_id) == 0)
        h->revoked = TRUE;
      return UP_FATAL;
    }
  if (a->status == 401)
    return UP_FATAL;
  if (a->status == 429 || a->status == 503 || a->status >= 500 || a->status == 0)
    return UP_RETRY;
  return UP_QUARANTINE;
}

static UploadResult
classify (Http          *h,
          const Answer  *a,
          char         **message)
{
  const char *code, *msg;
  g_autoptr(JsonObject) err = answer_error (a, &code, &msg);
  UploadResult r = classify_status (h, a, code, err);

  *message = refusal_message (r, a->status, code, msg);
  return r;
}

static UploadResult
upload_once (Http                *h,
             const FkOfficeInfo  *office,
             const FkOutboxItem  *item,
             GBytes              *packet,
             FkSyncProgressFunc   progress,
             gpointer             user_data,
             FkSyncReport        *report,
             gboolean             first_try,
             gint64              *retry_after,
             char               **message,
             GError             **error)
{
  g_autofree char *path = g_strdup_printf ("/v1/packets/%s", item->packet_id);
  gsize total = g_bytes_get_size (packet);
  const guint8 *data = g_bytes_get_data (packet, NULL);
  g_autoptr(GError) local = NULL;
  gint64 offset = 0;
  Answer a;

  *retry_after = -1;
  /* Where does the office stand with this packet?  Not asked on the first
   * try of a packet that goes in one part and was never tried before: the
   * office keeps nothing of a one-part PUT that did not arrive whole, and
   * if it holds the packet already (an ack lost when a sync was cut) the
   * PUT of the same bytes is answered with the same ack (PROTOCOL §3.4).
   * The question costs a signed request and a round trip per packet; a
   * retry asks it, and so does a packet that went into a USB bundle
   * (fk_store_outbox_exported: its sent_offset is its size). */
  if (first_try && total <= UPLOAD_PART && item->attempts == 0 && item->sent_offset == 0)
    goto send;
  if (!http_do (h, "GET", path, NULL, 0, NULL, NULL, &a, &local))
    {
      if (g_error_matches (local, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK))
        {
          *message = g_strdup (local->message);
          return UP_RETRY;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return UP_FATAL;
    }
  if (a.status == 200)
    {
      g_autoptr(JsonObject) st = answer_json (&a);
      const char *state = st ? json_object_get_string_member_with_default (st, "state", "") : "";

      if (g_strcmp0 (state, "stored") == 0)
        {
          JsonNode *ack = json_object_get_member (st, "ack");
          g_autofree char *ack_text = NULL;

          if (g_strcmp0 (json_object_get_string_member_with_default (st, "packet_hash", ""), item->packet_hash) != 0)
            {
              *message = g_strdup (_("The office already holds other bytes under this packet's id. Nothing was overwritten; "
                                         "report it to the office."));
              answer_clear (&a);
              return UP_QUARANTINE;
            }
          ack_text = ack && JSON_NODE_HOLDS_OBJECT (ack) ? json_to_string (ack, FALSE)
                     : g_strdup (json_object_get_string_member_with_default (st, "ack", ""));
          answer_clear (&a);
          if (!accept_ack (h, office, item, ack_text, strlen (ack_text), error))
            return UP_FATAL;
          return UP_DONE;
        }
      if (g_strcmp0 (state, "partial") == 0)
        offset = json_object_get_int_member_with_default (st, "offset", 0);
      answer_clear (&a);
    }
  else
    {
      UploadResult r = classify (h, &a, message);

      *retry_after = a.retry_after;
      answer_clear (&a);
      return r;
    }
  if (offset < 0 || (gsize) offset > total)
    offset = 0;

send:
  while ((gsize) offset < total || total == 0)
    {
      gsize part = MIN ((gsize) UPLOAD_PART, total - (gsize) offset);
      g_autofree char *put_path = g_strdup_printf ("%s?offset=%" G_GINT64_FORMAT "&total=%" G_GSIZE_FORMAT,
                                                   path, offset, total);

      report_progress (h, progress, item->packet_id, (gsize) offset, total, user_data);
      /* A packet sent whole is signed with the hash its outbox row keeps
       * (BLAKE2b-256 of the same bytes) rather than hashing them again; a
       * blob damaged on this device is then refused as "body_mismatch" and
       * quarantined like any other bad packet. */
      const char *known = offset == 0 && part == total ? item->packet_hash : NULL;

      if (!http_do (h, "PUT", put_path, data + offset, part, "application/octet-stream", known, &a, &local))
        {
          if (g_error_matches (local, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK))
            {
              *message = g_strdup (local->message);
              return UP_RETRY;
            }
          g_propagate_error (error, g_steal_pointer (&local));
          return UP_FATAL;
        }
      if (h->run)
        g_mutex_lock (&h->run->lock);
      report->bytes_sent += part;
      if (h->run)
        g_mutex_unlock (&h->run->lock);
      if (a.status == 200)
        {
          gboolean ok = accept_ack (h, office, item, (const char *) a.body->data, a.body->len, error);

          answer_clear (&a);
          report_progress (h, progress, item->packet_id, total, total, user_data);
          return ok ? UP_DONE : UP_FATAL;
        }
      if (a.status == 202)
        {
          g_autoptr(JsonObject) st = answer_json (&a);

          offset = st ? json_object_get_int_member_with_default (st, "offset", offset + (gint64) part) : offset + (gint64) part;
          answer_clear (&a);
          store_lock (h);
          fk_store_outbox_progress (h->store, item->packet_id, offset, NULL);
          store_unlock (h);
          continue;
        }
      if (a.status == 409)
        {
          const char *code, *msg;
          g_autoptr(JsonObject) err = answer_error (&a, &code, &msg);

          if (g_strcmp0 (code, "offset_mismatch") == 0 && err)
            {
              offset = json_object_get_int_member_with_default (err, "offset", 0);
              answer_clear (&a);
              continue;
            }
        }
      {
        UploadResult r = classify (h, &a, message);

        *retry_after = a.retry_after;
        answer_clear (&a);
        return r;
      }
    }
  return UP_RETRY;
}

static guint
max_attempts (void)
{
  return (guint) env_long ("FIELDKIT_SYNC_ATTEMPTS", 6);
}

static UploadResult
upload_packet (Http                *h,
               const FkOfficeInfo  *office,
               const FkOutboxItem  *item,
               FkSyncProgressFunc   progress,
               gpointer             user_data,
               FkSyncReport        *report,
               FkSyncCase          *rc,
               GError             **error)
{
  g_autoptr(GBytes) packet = NULL;
  g_autofree char *message = NULL;

  if (h->reader != NULL)
    packet = fk_packet_reader_read (h->reader, item->packet_id, error);
  else
    {
      store_lock (h);
      packet = fk_store_outbox_packet (h->store, item->packet_id, error);
      store_unlock (h);
    }
  if (packet == NULL)
    return UP_FATAL;
  for (guint attempt = 0; ; attempt++)
    {
      gint64 retry_after = -1;
      UploadResult r;

      g_clear_pointer (&message, g_free);
      if (h->run)
        {
          /* A clock offset learned by one worker serves them all. */
          g_mutex_lock (&h->run->lock);
          if (h->run->clock_offset != 0)
            h->clock_offset = h->run->clock_offset;
          g_mutex_unlock (&h->run->lock);
        }
      r = upload_once (h, office, item, packet, progress, user_data, report, attempt == 0, &retry_after, &message, error);
      if (h->run && h->clock_offset != 0)
        {
          g_mutex_lock (&h->run->lock);
          h->run->clock_offset = h->clock_offset;
          g_mutex_unlock (&h->run->lock);
        }
      if (r == UP_DONE)
        {
          rc->client_status = g_strdup (_("sent"));
          g_free (rc->server_status);
          rc->server_status = g_strdup ("stored");
          return r;
        }
      if (r == UP_QUARANTINE)
        {
          store_lock (h);
          fk_store_outbox_failed (h->store, item->packet_id, TRUE, message, 0, NULL);
          store_unlock (h);
          rc->client_status = g_strdup (_("quarantined"));
          rc->message = g_steal_pointer (&message);
          return r;
        }
      if (r == UP_FATAL)
        {
          if (message && error && *error == NULL)
            g_set_error_literal (error, FK_SYNC_ERROR,
                                 strstr (message, "device_revoked") ? FK_SYNC_ERROR_REVOKED : FK_SYNC_ERROR_REFUSED,
                                 message);
          rc->client_status = g_strdup (_("waiting"));
          rc->message = g_steal_pointer (&message);
          return r;
        }
      /* Transient: back off with full jitter, or exactly as the office asks. */
      if (attempt + 1 >= max_attempts ())
        {
          gint64 next = g_get_real_time () + fk_sync_backoff_us (attempt);

          store_lock (h);
          fk_store_outbox_failed (h->store, item->packet_id, FALSE, message, next, NULL);
          store_unlock (h);
          rc->client_status = g_strdup (_("waiting"));
          rc->message = g_steal_pointer (&message);
          return UP_RETRY;
        }
      if (!sleep_cancellable (retry_after >= 0 ? retry_after * G_USEC_PER_SEC
                                               : (h->clock_offset != 0 && attempt == 0 ? 0 : fk_sync_backoff_us (attempt)),
                              h->cancellable))
        {
          g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_CANCELLED, _("Sync was cancelled."));
          return UP_FATAL;
        }
    }
}

/* ---- the audit log and the office's answers ------------------------------------- */

/* The office takes JSON bodies up to 1 MiB: the log goes up in bodies of
 * about AUDIT_BATCH entries, each ending on a signed entry, and the cursor
 * moves after each acknowledged body.
 *
 * While packets go up, the run's own thread sends the log as it grows, in
 * whole bodies only (`min_unsent` = AUDIT_BATCH, every store call under
 * `lock`, the workers' store_lock), so that what is left for the end is at
 * most one body; after the uploads it sends the rest (`min_unsent` 0, no
 * other thread left).  The office verifies each body's chain from the head
 * it holds, so the two steps need no other coordination. */
#define AUDIT_BATCH 500

static gboolean
send_audit (Http                *h,
            const FkOfficeInfo  *office,
            GMutex              *lock,
            gint64               min_unsent,
            GError             **error)
{
  for (;;)
    {
      g_autofree char *sent = NULL;
      g_autofree char *body = NULL;
      g_autoptr(JsonObject) ack = NULL;
      g_autofree char *through = NULL;
      gint64 after, last, head;
      gboolean saved;
      Answer a;

      if (lock)
        g_mutex_lock (lock);
      sent = fk_store_get_setting (h->store, "audit_sent_seq");
      after = sent ? g_ascii_strtoll (sent, NULL, 10) : 0;
      last = after;
      head = min_unsent > 0 ? fk_store_audit_last_seq (h->store) : G_MAXINT64;
      if (head - after >= MAX (min_unsent, 1))
        body = fk_store_audit_export_some (h->store, after, AUDIT_BATCH, &last, error);
      if (lock)
        g_mutex_unlock (lock);
      if (head - after < MAX (min_unsent, 1))
        return TRUE;
      if (body == NULL)
        return FALSE;
      if (last == after)
        return TRUE;
      if (!http_do (h, "PUT", "/v1/audit", (const guint8 *) body, strlen (body), "application/json", NULL, &a, error))
        return FALSE;
      if (a.status != 200)
        {
          g_autofree char *msg = NULL;

          classify (h, &a, &msg);
          answer_clear (&a);
          g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED, msg);
          return FALSE;
        }
      ack = fk_envelope_open ((const char *) a.body->data, a.body->len, office->sign_pk, NULL, error);
      answer_clear (&a);
      if (ack == NULL)
        return FALSE;
      through = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (ack, "through", after));
      if (lock)
        g_mutex_lock (lock);
      saved = fk_store_set_setting (h->store, "audit_sent_seq", through, error);
      if (lock)
        g_mutex_unlock (lock);
      if (!saved)
        return FALSE;
      if (g_ascii_strtoll (through, NULL, 10) <= after)
        {
          g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                               _("The office did not take the audit log forward."));
          return FALSE;
        }
    }
}

/* A hand-over list sealed to this device's key (from the change feed or
 * an imported file, both already verified as the office's). */
static gint64
apply_handover (FkStore     *store,
                const char  *sealed_b64,
                char       **outing_id,
                GError     **error)
{
  g_autoptr(GBytes) sealed = fk_b64_decode (sealed_b64, 0);
  g_autoptr(GBytes) plain = NULL;
  g_autofree char *json = NULL;
  FkIdentity *device = fk_store_device_identity (store);

  if (sealed == NULL || device == NULL)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                           _("The hand-over list is malformed."));
      return -1;
    }
  plain = fk_identity_box_open (device, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), error);
  if (plain == NULL)
    return -1;
  json = g_strndup (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
  {
    gint64 n = fk_store_apply_handover (store, json, outing_id, error);

    sodium_memzero (json, strlen (json));
    return n;
  }
}

gint64
fk_handover_import (FkStore     *store,
                    const char  *path,
                    char       **outing_id,
                    GError     **error)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) body = NULL;
  FkOfficeInfo office;
  gsize len;
  gboolean mine;

  if (!fk_store_office (store, &office))
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NOT_ENROLLED,
                           _("Enrol the device first: only a list signed by your office is accepted."));
      return -1;
    }
  if (!g_file_get_contents (path, &text, &len, error) ||
      (body = fk_envelope_open (text, len, office.sign_pk, NULL, error)) == NULL)
    {
      fk_office_info_clear (&office);
      return -1;
    }
  mine = g_strcmp0 (json_object_get_string_member_with_default (body, "device_id", ""), office.device_id) == 0;
  fk_office_info_clear (&office);
  if (g_strcmp0 (json_object_get_string_member_with_default (body, "type", ""), "handover") != 0 || !mine)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                           _("This file is not a hand-over list for this device."));
      return -1;
    }
  return apply_handover (store, json_object_get_string_member_with_default (body, "sealed", NULL), outing_id, error);
}

static gboolean
fetch_answers (Http                *h,
               const FkOfficeInfo  *office,
               FkSyncReport        *report,
               GError             **error)
{
  g_autofree char *cursor = fk_store_get_setting (h->store, "changes_cursor");
  g_autofree char *path = g_strdup_printf ("/v1/changes?since=%s&catalog=%d", cursor ? cursor : "0",
                                           fk_catalog_version (fk_store_catalog (h->store)));
  g_autoptr(JsonObject) body = NULL;
  JsonArray *changes;
  Answer a;

  if (!http_do (h, "GET", path, NULL, 0, NULL, NULL, &a, error))
    return FALSE;
  if (a.status != 200)
    {
      g_autofree char *msg = NULL;

      classify (h, &a, &msg);
      answer_clear (&a);
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED, msg);
      return FALSE;
    }
  body = fk_envelope_open ((const char *) a.body->data, a.body->len, office->sign_pk, NULL, error);
  answer_clear (&a);
  if (body == NULL)
    return FALSE;
  if (g_strcmp0 (json_object_get_string_member_with_default (body, "device_id", ""), office->device_id) != 0)
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_PROTOCOL,
                           _("The office's answers are addressed to another device; they were ignored."));
      return FALSE;
    }
  changes = json_object_has_member (body, "changes") ? json_object_get_array_member (body, "changes") : NULL;
  for (guint i = 0; changes && i < json_array_get_length (changes); i++)
    {
      JsonObject *c = json_array_get_object_element (changes, i);
      const char *kind = json_object_get_string_member_with_default (c, "kind", "");

      if (g_strcmp0 (kind, "review") == 0)
        {
          const char *decision = json_object_get_string_member_with_default (c, "decision", "");
          g_autoptr(GError) local = NULL;

          if (!fk_store_apply_review (h->store, json_object_get_string_member_with_default (c, "case_uuid", ""),
                                      g_strcmp0 (decision, "approved") == 0,
                                      json_object_get_string_member_with_default (c, "reason", NULL), &local))
            g_warning ("%s", local->message);
          else
            report->answers++;
        }
      else if (g_strcmp0 (kind, "handover") == 0)
        {
          g_autoptr(GError) local = NULL;
          gint64 n = apply_handover (h->store, json_object_get_string_member_with_default (c, "sealed", NULL), NULL, &local);

          if (n < 0)
            g_warning ("%s", local->message);
          else
            report->handovers += (guint) n;
        }
    }
  /* Reference data arrives inside the verified envelope only. */
  if (json_object_has_member (body, "catalog"))
    {
      g_autoptr(GError) local = NULL;

      if (!fk_store_set_catalog (h->store, json_object_get_string_member (body, "catalog"), &local))
        g_warning ("%s", local->message);
      else
        report->catalog_version = fk_catalog_version (fk_store_catalog (h->store));
    }
  {
    g_autofree char *next = g_strdup_printf ("%" G_GINT64_FORMAT,
                                             json_object_get_int_member_with_default (body, "next", 0));

    return fk_store_set_setting (h->store, "changes_cursor", next, error);
  }
}

/* ---- the whole run ------------------------------------------------------------- */

/* How many packets go up at once (FIELDKIT_SYNC_PARALLEL, 1 … 16).  8:
 * with 4, the office's group commits and the device's batches of acks were
 * half as large, and the cores idle between them (docs/PERFORMANCE.md,
 * series V: 1.2-1.4x). */
static guint
parallel_uploads (void)
{
  return (guint) CLAMP (env_long ("FIELDKIT_SYNC_PARALLEL", 8), 1, 16);
}

/* Each worker holds its packet in memory while it goes up; together they
 * hold at most this many bytes (FIELDKIT_SYNC_BYTES_IN_FLIGHT), except that
 * one packet always may go, however large (up to the office's 64 MiB).  A
 * tablet sending eight large packets at once would otherwise hold half a
 * gigabyte. */
static gint64
bytes_in_flight_budget (void)
{
  return MAX (1, (gint64) env_long ("FIELDKIT_SYNC_BYTES_IN_FLIGHT", 64L * 1024 * 1024));
}

/* One worker: its own Http (made by upload_all, so curl_global_init runs
 * on one thread), taking the next item until none is left or the run stops. */
static gpointer
upload_worker (gpointer data)
{
  Http *hp = data;
  Run *run = hp->run;
  g_autoptr(GError) error = NULL;

  for (;;)
    {
      FkOutboxItem *item = NULL;
      FkSyncCase *rc = NULL;
      UploadResult r;

      g_mutex_lock (&run->lock);
      while (!run->stop && run->next < run->items->len && item == NULL)
        {
          guint i = run->next;
          FkOutboxItem *next = run->items->pdata[i];

          if (run->cases->pdata[i] == NULL)
            {
              run->next++;
              continue;
            }
          /* Wait for memory while others hold theirs (see bytes_in_flight_budget). */
          if (run->in_flight > 0 && run->in_flight + (gint64) next->size > run->budget)
            {
              g_cond_wait (&run->slot_cond, &run->lock);
              continue;
            }
          run->next++;
          item = next;
          rc = run->cases->pdata[i];
          run->in_flight += (gint64) item->size;
        }
      g_mutex_unlock (&run->lock);
      if (item == NULL)
        break;

      r = upload_packet (hp, run->office, item, run->progress, run->user_data, run->report, rc, &error);
      g_mutex_lock (&run->lock);
      run->in_flight -= (gint64) item->size;
      g_cond_broadcast (&run->slot_cond);
      if (rc->client_status == NULL)
        rc->client_status = g_strdup (_("waiting"));
      if (r == UP_DONE)
        run->report->uploaded++;
      else if (r == UP_QUARANTINE)
        run->report->quarantined++;
      else if (r == UP_RETRY)
        run->report->waiting++;
      else
        {
          run->report->waiting++;
          run->stop = TRUE;
          if (run->error == NULL && error != NULL)
            run->error = g_steal_pointer (&error);
        }
      run->revoked |= hp->revoked;
      g_clear_error (&error);
      g_mutex_unlock (&run->lock);
    }
  g_mutex_lock (&run->lock);
  run->running--;
  g_cond_broadcast (&run->done_cond);
  g_mutex_unlock (&run->lock);
  return NULL;
}

/* The run's own thread while the workers upload: the audit log goes up as
 * it grows (see send_audit).  A failure here only stops this early part;
 * the send after the uploads starts again from the cursor and reports it. */
static void
send_audit_meanwhile (Http               *h,
                      const FkOfficeInfo *office,
                      Run                *run)
{
  gboolean live = TRUE;

  g_mutex_lock (&run->lock);
  while (run->running > 0)
    {
      if (live && !run->stop)
        {
          g_autoptr(GError) error = NULL;

          g_mutex_unlock (&run->lock);
          live = send_audit (h, office, &run->store_lock, AUDIT_BATCH, &error);
          if (!live)
            g_debug ("audit log during the uploads: %s (sent again at the end)", error->message);
          g_mutex_lock (&run->lock);
          if (run->running == 0)
            break;
        }
      g_cond_wait_until (&run->done_cond, &run->lock, g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND);
    }
  g_mutex_unlock (&run->lock);
}

/* Uploads the items whose case in `cases` is not NULL; returns FALSE on a
 * fatal result (revoked, cancelled, a protocol error). */
static gboolean
upload_all (Http               *h,
            const FkOfficeInfo *office,
            GPtrArray          *items,
            GPtrArray          *cases,
            FkSyncProgressFunc  progress,
            gpointer            user_data,
            FkSyncReport       *report,
            GError            **error)
{
  Run run = {
    .store = h->store, .office = office, .items = items, .cases = cases, .report = report,
    .progress = progress, .user_data = user_data, .clock_offset = h->clock_offset,
  };
  guint n = parallel_uploads ();
  guint todo = 0;
  g_autofree Http *workers = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  GThread *recorder;
  gboolean ok;

  for (guint i = 0; i < cases->len; i++)
    todo += cases->pdata[i] != NULL;
  n = MIN (n, todo);
  g_mutex_init (&run.lock);
  g_mutex_init (&run.store_lock);
  g_mutex_init (&run.ack_lock);
  g_cond_init (&run.ack_cond);
  g_cond_init (&run.done_cond);
  g_cond_init (&run.slot_cond);
  run.budget = bytes_in_flight_budget ();
  run.acks = g_ptr_array_new_with_free_func (pending_ack_free);
  run.failed_acks = g_ptr_array_new_with_free_func (pending_ack_free);
  workers = g_new0 (Http, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      Http *w = &workers[i];

      if (!http_init (w, h->store, h->base, h->cancellable, &run.error))
        {
          run.stop = TRUE;
          n = i;
          break;
        }
      w->run = &run;
      /* Reading the next packet need not wait for the recorder's commit;
       * without a reader the worker reads through the store. */
      w->reader = fk_packet_reader_new (h->store, NULL);
      w->device = h->device;
      w->device_id = g_strdup (h->device_id);
      w->office_pk = h->office_pk;
      w->tls_pin = g_strdup (h->tls_pin);
      w->clock_offset = h->clock_offset;
    }
  recorder = g_thread_new ("fk-sync-acks", ack_recorder, &run);
  run.running = n;
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (threads, g_thread_new ("fk-sync-upload", upload_worker, &workers[i]));
  send_audit_meanwhile (h, office, &run);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  for (guint i = 0; i < n; i++)
    http_clear (&workers[i]);
  g_mutex_lock (&run.ack_lock);
  run.acks_closed = TRUE;
  g_cond_signal (&run.ack_cond);
  g_mutex_unlock (&run.ack_lock);
  g_thread_join (recorder);
  settle_failed_acks (&run);

  h->revoked |= run.revoked;
  h->clock_offset = run.clock_offset;
  ok = !run.stop;
  if (run.error != NULL)
    g_propagate_error (error, run.error);
  else if (!ok && error != NULL && *error == NULL)
    g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REFUSED,
                         _("The office refused the upload."));
  g_ptr_array_unref (run.acks);
  g_ptr_array_unref (run.failed_acks);
  g_cond_clear (&run.ack_cond);
  g_cond_clear (&run.done_cond);
  g_cond_clear (&run.slot_cond);
  g_mutex_clear (&run.lock);
  g_mutex_clear (&run.store_lock);
  g_mutex_clear (&run.ack_lock);
  return ok;
}

/* An outbox item fk_sync_run sends (the others it only reports). */
static gboolean
goes_up (const FkOutboxItem *item)
{
  return g_strcmp0 (item->state, "quarantined") != 0 && item->packet_hash != NULL;
}

guint
fk_sync_count_waiting (FkStore *store,
                       guint64 *bytes)
{
  g_autoptr(GPtrArray) items = fk_store_outbox (store, FALSE, NULL);
  guint n = 0;

  if (bytes)
    *bytes = 0;
  for (guint i = 0; items && i < items->len; i++)
    {
      FkOutboxItem *item = items->pdata[i];

      if (!goes_up (item))
        continue;
      n++;
      if (bytes)
        *bytes += item->size;
    }
  return n;
}

gboolean
fk_sync_run (FkStore             *store,
             FkSyncProgressFunc   progress,
             gpointer             user_data,
             FkSyncReport        *report,
             GCancellable        *cancellable,
             GError             **error)
{
  g_autoptr(GPtrArray) items = NULL;
  FkOfficeInfo office;
  gboolean ok = TRUE;
  Http h;

  memset (report, 0, sizeof *report);
  report->cases = g_ptr_array_new_with_free_func ((GDestroyNotify) sync_case_free);
  if (!fk_store_office (store, &office))
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NOT_ENROLLED,
                           _("This device is not enrolled with an office yet: run \"fieldkit-cli enroll URL --code CODE --fingerprint FP\"."));
      return FALSE;
    }
  if (!http_init (&h, store, office.url, cancellable, error))
    {
      fk_office_info_clear (&office);
      return FALSE;
    }
  h.device = fk_store_device_identity (store);
  h.device_id = g_strdup (office.device_id);
  h.office_pk = office.sign_pk;
  h.tls_pin = g_strdup (office.tls_pin);

  items = fk_store_outbox (store, FALSE, error);
  if (items == NULL)
    ok = FALSE;
  else
    {
      /* A line per case, in outbox order; the ones to upload go to the
       * workers, which fill their lines in. */
      g_autoptr(GPtrArray) upload = g_ptr_array_new ();

      for (guint i = 0; i < items->len; i++)
        {
          FkOutboxItem *item = items->pdata[i];
          FkSyncCase *rc = report_case (report, item);

          if (g_strcmp0 (item->state, "quarantined") == 0)
            {
              rc->client_status = g_strdup (_("quarantined"));
              rc->message = g_strdup (item->last_error);
              report->quarantined++;
              rc = NULL;
            }
          else if (!goes_up (item))   /* not built yet (the device is not enrolled) */
            {
              rc->client_status = g_strdup (_("waiting"));
              report->waiting++;
              rc = NULL;
            }
          g_ptr_array_add (upload, rc);
        }
      ok = upload_all (&h, &office, items, upload, progress, user_data, report, error);
      /* Cases not tried because the run stopped early still say so. */
      for (guint i = 0; i < upload->len; i++)
        {
          FkSyncCase *rc = upload->pdata[i];

          if (rc != NULL && rc->client_status == NULL)
            {
              rc->client_status = g_strdup (_("waiting"));
              report->waiting++;
            }
        }
    }
  if (ok)
    ok = send_audit (&h, &office, NULL, 0, error) && fetch_answers (&h, &office, report, error);
  if (ok)
    fk_store_mark_synced (store, NULL);

  /* Server statuses as they stand now, after the answers. */
  if (items != NULL)
    {
      g_autoptr(GPtrArray) now = fk_store_outbox (store, TRUE, NULL);

      for (guint i = 0; now && i < now->len; i++)
        {
          FkOutboxItem *it = now->pdata[i];

          for (guint j = 0; j < report->cases->len; j++)
            {
              FkSyncCase *rc = report->cases->pdata[j];

              if (g_strcmp0 (rc->packet_id, it->packet_id) == 0)
                {
                  g_free (rc->server_status);
                  rc->server_status = g_strdup (it->server_status);
                }
            }
        }
    }
  if (h.revoked)
    {
      /* A verified revocation: the office no longer trusts this device, so
       * nothing on it may stay readable. */
      report->revoked = TRUE;
      g_clear_error (error);
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_REVOKED,
                           _("The office has revoked this device. Its data has been wiped; "
                                 "return the device to the office."));
      fk_store_wipe (store, NULL);
      ok = FALSE;
    }
  fk_office_info_clear (&office);
  http_clear (&h);
  return ok;
}

/* ---- async ---------------------------------------------------------------------- */

typedef struct {
  char               *data_dir;
  char               *operator_id;
  char               *passphrase;
  FkSyncProgressFunc  progress;
  gpointer            user_data;
  FkSyncReport        report;
} RunData;

static void
run_data_free (RunData *d)
{
  g_free (d->data_dir);
  g_free (d->operator_id);
  if (d->passphrase)
    sodium_memzero (d->passphrase, strlen (d->passphrase));
  g_free (d->passphrase);
  fk_sync_report_clear (&d->report);
  g_free (d);
}

static void
run_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = fk_store_open (d->data_dir, &error);

  if (store == NULL || !fk_store_unlock (store, d->operator_id, d->passphrase, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!fk_sync_run (store, d->progress, d->user_data, &d->report, cancellable, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
fk_sync_run_async (const char          *data_dir,
                   const char          *operator_id,
                   const char          *passphrase,
                   FkSyncProgressFunc   progress,
                   gpointer             user_data,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             callback_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, callback_data);
  RunData *d = g_new0 (RunData, 1);

  d->data_dir = g_strdup (data_dir);
  d->operator_id = g_strdup (operator_id);
  d->passphrase = g_strdup (passphrase);
  d->progress = progress;
  d->user_data = user_data;
  g_task_set_source_tag (task, fk_sync_run_async);
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

gboolean
fk_sync_run_finish (GAsyncResult  *result,
                    FkSyncReport  *report,
                    GError       **error)
{
  GTask *task = G_TASK (result);
  RunData *d = g_task_get_task_data (task);

  g_return_val_if_fail (g_task_get_source_tag (task) == fk_sync_run_async, FALSE);
  if (report)
    {
      *report = d->report;
      memset (&d->report, 0, sizeof d->report);
    }
  return g_task_propagate_boolean (task, error);
}

/* ---- bundles -------------------------------------------------------------------- */

static void
put_be (GByteArray *out,
        guint64     v,
        guint       n)
{
  guint8 b[8];

  for (guint i = 0; i < n; i++)
    b[i] = (guint8) (v >> (8 * (n - 1 - i)));
  g_byte_array_append (out, b, n);
}

gboolean
fk_bundle_export (FkStore     *store,
                  const char  *path,
                  guint       *n_packets,
                  GError     **error)
{
  g_autoptr(GPtrArray) items = fk_store_outbox (store, FALSE, error);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GPtrArray) packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) exported = g_ptr_array_new ();   /* packet ids, borrowed from items */
  g_autofree char *audit = NULL;
  gint64 last = 0;

  if (items == NULL)
    return FALSE;
  if (!fk_store_is_enrolled (store))
    {
      g_set_error_literal (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NOT_ENROLLED,
                           _("Enrol the device first: packets are sealed for the office's key."));
      return FALSE;
    }
  for (guint i = 0; i < items->len; i++)
    {
      FkOutboxItem *it = items->pdata[i];
      GBytes *p = it->packet_hash ? fk_store_outbox_packet (store, it->packet_id, NULL) : NULL;

      if (p)
        {
          g_ptr_array_add (packets, p);
          g_ptr_array_add (exported, it->packet_id);
        }
    }
  audit = fk_store_audit_export (store, 0, &last, error);
  if (audit == NULL)
    return FALSE;
  g_byte_array_append (out, (const guint8 *) "FKB1", 4);
  put_be (out, packets->len, 4);
  for (guint i = 0; i < packets->len; i++)
    {
      GBytes *p = packets->pdata[i];

      put_be (out, g_bytes_get_size (p), 8);
      g_byte_array_append (out, g_bytes_get_data (p, NULL), (guint) g_bytes_get_size (p));
    }
  put_be (out, strlen (audit), 8);
  g_byte_array_append (out, (const guint8 *) audit, (guint) strlen (audit));
  if (!g_file_set_contents_full (path, (const char *) out->data, out->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error))
    return FALSE;
  *n_packets = packets->len;
  /* The next sync asks the office about these before sending them again:
   * once the bundle is imported they need not go over the network. */
  if (!fk_store_begin_batch (store, error))
    return FALSE;
  for (guint i = 0; i < exported->len; i++)
    if (!fk_store_outbox_exported (store, exported->pdata[i], error))
      {
        fk_store_end_batch (store, FALSE, NULL);
        return FALSE;
      }
  if (!fk_store_end_batch (store, TRUE, error))
    return FALSE;
  return fk_store_mark_synced (store, error);
}
