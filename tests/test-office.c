/* test-office.c — the office server against docs/PROTOCOL.md, from the
 * outside: the server runs in this process on 127.0.0.1:<ephemeral>, and
 * the test plays a device with libcurl and fk-packet.h (its own Ed25519
 * identity, packets with a made-up case and an attachment).
 *
 * Covers: GET /v1/office; enrolment (fresh, reused, expired, wrong proof,
 * malformed); packet PUT in one piece, repeated, conflicting, in chunks,
 * offset mismatch, tampered manifest / payload / signature; request
 * authentication (unknown, revoked, clock skew, replay, bad signature);
 * body limits; reviews through /v1/changes; audit uploads; bundle import
 * through the fieldkit-office binary; and each fault-injection mode.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <utime.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "app/fk-packet.h"
#include "crypto/fk-crypto.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"

#include "fk-test-office.h"

typedef struct {
  char           *dir;
  FkOfficeStore  *store;
  FkOfficeKeys   *keys;
  FkOfficeServer *server;
  guint16         port;
  guint8          sign_pk[32];
  guint8          box_pk[32];
} Fixture;

typedef struct {
  FkIdentity *id;
  char       *device_id;
  guint       number;
  gint64      seq;
} Device;

typedef struct {
  CURLcode    rc;
  long        status;
  GByteArray *body;
  char       *retry_after;
} Resp;

/* ---- helpers: files ----------------------------------------------------------- */

static guint
count_files (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* ---- helpers: the office ------------------------------------------------------ */

static void
start_server (Fixture    *f,
              const char *faults)
{
  FkOfficeServerOptions options = { 0 };

  options.threads = 4;
  options.faults = faults;
  f->server = fk_test_office_start (f->store, f->keys, &options, NULL);
  f->port = fk_office_server_port (f->server);
}

static void
restart_with_faults (Fixture    *f,
                     const char *faults)
{
  fk_office_server_stop (f->server, 5);
  start_server (f, faults);
}

static void
server_stop (FkOfficeServer *server)
{
  fk_office_server_stop (server, 5);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = fk_test_make_tmp ();
  f->store = fk_test_office_new (f->dir, &f->keys);
  memcpy (f->sign_pk, fk_identity_public_key (f->keys->sign), 32);
  memcpy (f->box_pk, fk_box_key_public (f->keys->box), 32);
  start_server (f, data);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->server, server_stop);
  g_clear_pointer (&f->keys, fk_office_keys_free);
  g_clear_pointer (&f->store, fk_office_store_free);
  fk_test_rm_rf (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* ---- helpers: HTTP -------------------------------------------------------------- */

static void
resp_free (Resp *r)
{
  if (r == NULL)
    return;
  g_byte_array_unref (r->body);
  g_free (r->retry_after);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Resp, resp_free)

static size_t
write_cb (char   *data,
          size_t  size,
          size_t  n,
          void   *user)
{
  g_byte_array_append (user, (const guint8 *) data, (guint) (size * n));
  return size * n;
}

static size_t
header_cb (char   *data,
           size_t  size,
           size_t  n,
           void   *user)
{
  Resp *r = user;
  gsize len = size * n;

  if (len > 12 && g_ascii_strncasecmp (data, "Retry-After:", 12) == 0)
    {
      g_free (r->retry_after);
      r->retry_after = g_strstrip (g_strndup (data + 12, len - 12));
    }
  return len;
}

typedef struct {
  gint64      time_offset;   /* seconds added to FK-Time */
  const char *nonce;         /* a fixed nonce, or NULL for a fresh one */
  gboolean    bad_sig;       /* sign something else */
  long        timeout_ms;
  gboolean    claim_hash;    /* send FK-Content-Hash (PROTOCOL §3.3) */
  GBytes     *signed_body;   /* sign (and claim) these bytes, not the ones sent */
} Sign;

static Resp *
http (Fixture      *f,
      const char   *method,
      const char   *path_and_query,
      const guint8 *body,
      gsize         len,
      Device       *dev,
      const Sign   *sign)
{
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = NULL;
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path_and_query);
  Resp *r = g_new0 (Resp, 1);
  Sign none = { 0 };

  if (sign == NULL)
    sign = &none;
  r->body = g_byte_array_new ();
  headers = curl_slist_append (headers, "Expect:");
  headers = curl_slist_append (headers, "Content-Type: application/json");
  if (dev != NULL)
    {
      g_autofree char *t = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC + sign->time_offset);
      g_autofree char *nonce = NULL;
      g_autoptr(GBytes) m = NULL;
      g_autofree char *sig_b64 = NULL;
      g_autofree char *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
      guint8 rnd[16], sig[64];

      randombytes_buf (rnd, sizeof rnd);
      nonce = sign->nonce ? g_strdup (sign->nonce) : fk_hex_encode (rnd, sizeof rnd);
      g_autofree char *h5 = NULL;
      g_autofree char *hash_hex = NULL;
      guint8 bh[32];

      if (sign->signed_body)
        fk_hash (g_bytes_get_data (sign->signed_body, NULL), g_bytes_get_size (sign->signed_body), bh);
      else
        fk_hash (body ? body : (const guint8 *) "", body ? len : 0, bh);
      hash_hex = fk_hex_encode (bh, sizeof bh);
      m = fk_request_message_hex (method, sign->bad_sig ? "/v1/other" : path_and_query, t, nonce, hash_hex);
      if (sign->claim_hash)
        {
          h5 = g_strdup_printf ("FK-Content-Hash: %s", hash_hex);
          headers = curl_slist_append (headers, h5);
        }
      fk_identity_sign (dev->id, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);
      sig_b64 = fk_b64_encode (sig, sizeof sig);
      h1 = g_strdup_printf ("FK-Device: %s", dev->device_id);
      h2 = g_strdup_printf ("FK-Time: %s", t);
      h3 = g_strdup_printf ("FK-Nonce: %s", nonce);
      h4 = g_strdup_printf ("FK-Signature: %s", sig_b64);
      headers = curl_slist_append (headers, h1);
      headers = curl_slist_append (headers, h2);
      headers = curl_slist_append (headers, h3);
      headers = curl_slist_append (headers, h4);
    }
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
  if (body != NULL)
    {
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    }
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, r->body);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, sign->timeout_ms ? sign->timeout_ms : 20000L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  r->rc = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all (headers);
  curl_easy_cleanup (curl);
  g_byte_array_append (r->body, (const guint8 *) "", 1);
  g_byte_array_set_size (r->body, r->body->len - 1);
  return r;
}

static const char *
resp_text (Resp *r)
{
  return (const char *) r->body->data;
}

static JsonObject *
resp_json (Resp *r)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, resp_text (r), (gssize) r->body->len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
assert_error (Resp       *r,
              long        status,
              const char *code)
{
  g_autoptr(JsonObject) doc = NULL;
  JsonObject *err;

  g_assert_cmpint (r->rc, ==, CURLE_OK);
  if (r->status != status)
    g_test_message ("unexpected answer %ld: %s", r->status, resp_text (r));
  g_assert_cmpint (r->status, ==, status);
  doc = resp_json (r);
  err = json_object_get_object_member (doc, "error");
  g_assert_nonnull (err);
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (err, "message"));
}

/* Verifies an office envelope and returns its body. */
static JsonObject *
open_envelope (Fixture    *f,
               const char *text,
               const char *type)
{
  g_autoptr(GError) error = NULL;
  JsonObject *body = fk_envelope_open (text, strlen (text), f->sign_pk, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (body);
  g_assert_cmpint (json_object_get_int_member (body, "v"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (body, "type"), ==, type);
  return body;
}

/* ---- helpers: a device -------------------------------------------------------------- */

static void
device_free (Device *d)
{
  if (d == NULL)
    return;
  fk_identity_free (d->id);
  g_free (d->device_id);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

static char *
enroll_body (const char   *code,
             FkIdentity   *id,
             gboolean      wrong_proof)
{
  g_autofree char *invite_id = fk_invite_id (code);
  g_autofree char *pk = fk_b64_encode (fk_identity_public_key (id), 32);
  g_autofree char *proof_b64 = NULL;
  guint8 proof[32];

  fk_invite_proof (code, fk_identity_public_key (id), proof);
  if (wrong_proof)
    proof[0] ^= 1;
  proof_b64 = fk_b64_encode (proof, 32);
  return g_strdup_printf ("{\"v\":1,\"invite_id\":\"%s\",\"device_name\":\"tablet\",\"sign_pk\":\"%s\",\"proof\":\"%s\"}",
                          invite_id, pk, proof_b64);
}

static Device *
enroll (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = fk_test_invite (f->store, "van", 3600);
  Device *d = g_new0 (Device, 1);
  g_autofree char *body = NULL;
  g_autoptr(Resp) r = NULL;
  g_autoptr(JsonObject) env = NULL;

  d->id = fk_identity_generate (&error);
  g_assert_no_error (error);
  d->device_id = fk_device_id (fk_identity_public_key (d->id));
  body = enroll_body (code, d->id, FALSE);
  r = http (f, "POST", "/v1/enroll", (const guint8 *) body, strlen (body), NULL, NULL);
  g_assert_cmpint (r->status, ==, 200);
  env = open_envelope (f, resp_text (r), "enrolled");
  g_assert_cmpstr (json_object_get_string_member (env, "device_id"), ==, d->device_id);
  g_assert_cmpstr (json_object_get_string_member (env, "office_code"), ==, "TCN");
  g_assert_cmpstr (json_object_get_string_member (env, "key_id"), ==, f->keys->key_id);
  d->number = (guint) json_object_get_int_member (env, "device_number");
  return d;
}

static GBytes *
make_packet (Fixture    *f,
             Device     *d,
             const char *packet_id,
             gsize       attachment_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) manifest = json_object_new ();
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *case_uuid = g_uuid_string_random ();
  g_autofree char *hash = NULL;
  g_autofree char *case_json = NULL;
  g_autofree char *receipt = NULL;
  guint8 *att = g_malloc (attachment_size);
  guint8 h[32];
  GBytes *packet;

  d->seq++;
  randombytes_buf (att, attachment_size);
  fk_hash (att, attachment_size, h);
  hash = fk_hex_encode (h, 32);
  g_ptr_array_add (attachments, g_bytes_new_take (att, attachment_size));
  receipt = g_strdup_printf ("TCN-%02u-1151126-%04" G_GINT64_FORMAT, d->number, d->seq);
  json_object_set_string_member (manifest, "type", "case");
  json_object_set_string_member (manifest, "case_uuid", case_uuid);
  json_object_set_int_member (manifest, "case_version", 1);
  json_object_set_null_member (manifest, "supersedes");
  json_object_set_string_member (manifest, "receipt_no", receipt);
  json_object_set_string_member (manifest, "service", "id_card_replace");
  json_object_set_string_member (manifest, "outing_kind", "home_visit");
  json_object_set_string_member (manifest, "sealed_at", "2026-11-26T03:09:12Z");
  case_json = g_strdup_printf ("{\"case\":{\"uuid\":\"%s\",\"version\":1,\"service\":\"id_card_replace\","
                               "\"receipt_no\":\"%s\",\"person\":{\"person_id\":\"A123456789\",\"name\":\"王小明\","
                               "\"birth_date\":\"1950-01-01\"},\"fields\":{\"reason\":\"lost\"},\"ticked\":[\"photo\"]},"
                               "\"attachments\":[{\"kind\":\"photo\",\"mime\":\"image/jpeg\",\"size\":%" G_GSIZE_FORMAT ",\"hash\":\"%s\"}]}",
                               case_uuid, receipt, attachment_size, hash);
  packet = fk_packet_build (d->id, packet_id, d->seq, f->box_pk, f->keys->key_id, manifest, case_json,
                            attachments, &error);
  g_assert_no_error (error);
  return packet;
}

static Resp *
put_packet (Fixture    *f,
            Device     *d,
            const char *packet_id,
            GBytes     *packet,
            gsize       offset,
            gsize       len,
            const Sign *sign)
{
  g_autofree char *path = g_strdup_printf ("/v1/packets/%s?offset=%" G_GSIZE_FORMAT "&total=%" G_GSIZE_FORMAT,
                                           packet_id, offset, g_bytes_get_size (packet));

  return http (f, "PUT", path, (const guint8 *) g_bytes_get_data (packet, NULL) + offset, len, d, sign);
}

static Resp *
put_whole (Fixture    *f,
           Device     *d,
           const char *packet_id,
           GBytes     *packet)
{
  return put_packet (f, d, packet_id, packet, 0, g_bytes_get_size (packet), NULL);
}

static JsonObject *
get_state (Fixture    *f,
           Device     *d,
           const char *packet_id)
{
  g_autofree char *path = g_strdup_printf ("/v1/packets/%s", packet_id);
  g_autoptr(Resp) r = http (f, "GET", path, NULL, 0, d, NULL);

  g_assert_cmpint (r->status, ==, 200);
  return resp_json (r);
}

static char *
stored_path (Fixture    *f,
             const char *packet_id)
{
  g_autofree char *name = g_strconcat (packet_id, ".fkp", NULL);

  return g_build_filename (f->dir, "packets", name, NULL);
}

/* What the office holds for a packet id (its database or its file), as
 * the office's own commands read it; NULL when nothing. */
static GBytes *
stored_bytes (Fixture    *f,
              const char *packet_id)
{
  return fk_office_store_packet_bytes (f->store, packet_id, NULL);
}

/* ---- tests: office and enrolment ------------------------------------------------------ */

static void
test_office_info (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Resp) r = http (f, "GET", "/v1/office", NULL, 0, NULL, NULL);
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(GBytes) sign = NULL;
  g_autoptr(GBytes) box = NULL;
  g_autofree char *fp = NULL;

  g_assert_cmpint (r->status, ==, 200);
  doc = resp_json (r);
  g_assert_cmpint (json_object_get_int_member (doc, "v"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (doc, "office_code"), ==, "TCN");
  sign = fk_b64_decode (json_object_get_string_member (doc, "sign_pk"), 32);
  box = fk_b64_decode (json_object_get_string_member (doc, "box_pk"), 32);
  g_assert_nonnull (sign);
  g_assert_nonnull (box);
  fp = fk_office_fingerprint (g_bytes_get_data (sign, NULL), g_bytes_get_data (box, NULL));
  g_assert_cmpstr (json_object_get_string_member (doc, "fingerprint"), ==, fp);
  g_assert_cmpstr (json_object_get_string_member (doc, "key_id"), ==, f->keys->key_id);
  g_assert_cmpint (json_object_get_int_member (doc, "max_packet_bytes"), ==, 67108864);
}

static void
test_enroll (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d1 = enroll (f);
  g_autoptr(Device) d2 = enroll (f);
  g_autoptr(FkIdentity) other = fk_identity_generate (&error);
  g_autofree char *code = fk_test_invite (f->store, "van", 3600);
  g_autofree char *expired = fk_test_invite (f->store, "van", -10);
  g_autofree char *fresh = fk_test_invite (f->store, "van", 3600);
  g_autofree char *body = NULL;
  g_autofree char *again = NULL;
  g_autofree char *late = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *unknown = NULL;
  g_autoptr(Resp) ok = NULL;
  g_autoptr(Resp) used = NULL;
  g_autoptr(Resp) exp = NULL;
  g_autoptr(Resp) bad = NULL;
  g_autoptr(Resp) nope = NULL;
  g_autoptr(Resp) junk = NULL;
  g_autoptr(Resp) half = NULL;
  g_autoptr(GPtrArray) devices = NULL;

  g_assert_cmpuint (d1->number, ==, 1);
  g_assert_cmpuint (d2->number, ==, 2);

  /* A fresh invite works once, then is used. */
  body = enroll_body (code, other, FALSE);
  ok = http (f, "POST", "/v1/enroll", (const guint8 *) body, strlen (body), NULL, NULL);
  g_assert_cmpint (ok->status, ==, 200);
  {
    g_autoptr(JsonObject) env = open_envelope (f, resp_text (ok), "enrolled");

    g_assert_cmpint (json_object_get_int_member (env, "device_number"), ==, 3);
  }
  again = enroll_body (code, other, FALSE);
  used = http (f, "POST", "/v1/enroll", (const guint8 *) again, strlen (again), NULL, NULL);
  assert_error (used, 410, "invite_used");

  late = enroll_body (expired, other, FALSE);
  exp = http (f, "POST", "/v1/enroll", (const guint8 *) late, strlen (late), NULL, NULL);
  assert_error (exp, 410, "invite_expired");

  wrong = enroll_body (fresh, other, TRUE);
  bad = http (f, "POST", "/v1/enroll", (const guint8 *) wrong, strlen (wrong), NULL, NULL);
  assert_error (bad, 403, "invite_invalid");

  unknown = enroll_body ("AAAAAAAAAAAAAAAAAAAA", other, FALSE);
  nope = http (f, "POST", "/v1/enroll", (const guint8 *) unknown, strlen (unknown), NULL, NULL);
  assert_error (nope, 403, "invite_invalid");

  junk = http (f, "POST", "/v1/enroll", (const guint8 *) "{\"v\":1,", 7, NULL, NULL);
  assert_error (junk, 400, "malformed");
  half = http (f, "POST", "/v1/enroll", (const guint8 *) "{\"v\":1}", 7, NULL, NULL);
  assert_error (half, 400, "malformed");

  devices = fk_office_store_list_devices (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, ==, 3);
}

/* ---- tests: packets ---------------------------------------------------------------------- */

static void
test_packet_once (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 3000);
  g_autoptr(GBytes) other = make_packet (f, d, id, 3000);
  g_autoptr(Resp) r1 = put_whole (f, d, id, packet);
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(Resp) r3 = NULL;
  g_autoptr(JsonObject) ack = NULL;
  g_autoptr(JsonObject) state = NULL;
    g_autofree char *hash = fk_packet_hash_hex (packet);
  g_autofree char *path = stored_path (f, id);
  g_autoptr(GBytes) held = NULL;

  g_assert_cmpint (r1->status, ==, 200);
  ack = open_envelope (f, resp_text (r1), "ack");
  g_assert_cmpstr (json_object_get_string_member (ack, "packet_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (ack, "packet_hash"), ==, hash);
  g_assert_cmpstr (json_object_get_string_member (ack, "device_id"), ==, d->device_id);
  g_assert_cmpint (json_object_get_int_member (ack, "device_seq"), ==, 1);
  g_assert_nonnull (json_object_get_string_member (ack, "received_at"));
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);

  /* The same bytes again: the identical ack. */
  r2 = put_whole (f, d, id, packet);
  g_assert_cmpint (r2->status, ==, 200);
  g_assert_cmpstr (resp_text (r2), ==, resp_text (r1));

  /* Other bytes under the same id: conflict, stored packet untouched.  A
   * packet this small is kept in the database, not as a file. */
  r3 = put_whole (f, d, id, other);
  assert_error (r3, 409, "conflict");
  held = stored_bytes (f, id);
  g_assert_nonnull (held);
  g_assert_true (g_bytes_equal (held, packet));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);

  state = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (state, "state"), ==, "stored");
  g_assert_cmpstr (json_object_get_string_member (state, "packet_hash"), ==, hash);
  g_assert_true (json_object_has_member (state, "ack"));
}

static void
test_packet_chunks (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 2 * 1024 * 1024 + 12345);
  gsize total = g_bytes_get_size (packet);
  gsize c1 = total / 3, c2 = total / 3;
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(Resp) r3 = NULL;
  g_autoptr(Resp) bad = NULL;
  g_autoptr(Resp) again = NULL;
  g_autoptr(JsonObject) p1 = NULL;
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(JsonObject) none = NULL;
  g_autoptr(JsonObject) err_doc = NULL;
  g_autoptr(JsonObject) ack = NULL;

  none = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (none, "state"), ==, "none");

  r1 = put_packet (f, d, id, packet, 0, c1, NULL);
  g_assert_cmpint (r1->status, ==, 202);
  p1 = resp_json (r1);
  g_assert_cmpstr (json_object_get_string_member (p1, "state"), ==, "partial");
  g_assert_cmpint (json_object_get_int_member (p1, "offset"), ==, (gint64) c1);

  st = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (st, "state"), ==, "partial");
  g_assert_cmpint (json_object_get_int_member (st, "offset"), ==, (gint64) c1);

  /* Resuming from the wrong place says where to resume. */
  bad = put_packet (f, d, id, packet, 0, c1, NULL);
  assert_error (bad, 409, "offset_mismatch");
  err_doc = resp_json (bad);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (err_doc, "error"), "offset"), ==, (gint64) c1);

  r2 = put_packet (f, d, id, packet, c1, c2, NULL);
  g_assert_cmpint (r2->status, ==, 202);
  r3 = put_packet (f, d, id, packet, c1 + c2, total - c1 - c2, NULL);
  g_assert_cmpint (r3->status, ==, 200);
  ack = open_envelope (f, resp_text (r3), "ack");
  g_assert_cmpstr (json_object_get_string_member (ack, "packet_id"), ==, id);
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);

  /* The last chunk again (its ack was lost): the same ack. */
  again = put_packet (f, d, id, packet, c1 + c2, total - c1 - c2, NULL);
  g_assert_cmpint (again->status, ==, 200);
  g_assert_cmpstr (resp_text (again), ==, resp_text (r3));
  {
    /* A packet larger than FK_OFFICE_INLINE_PACKET_BYTES is a file. */
    g_autofree char *path = stored_path (f, id);
    g_autoptr(GBytes) held = stored_bytes (f, id);

    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    g_assert_nonnull (held);
    g_assert_true (g_bytes_equal (held, packet));
  }
  {
    g_autofree char *partial_dir = g_build_filename (f->dir, "partial", d->device_id, NULL);

    g_assert_cmpuint (count_files (partial_dir), ==, 0);
  }
}

static void
assert_refused (Fixture    *f,
                Device     *d,
                const char *id,
                GBytes     *bad,
                const char *code)
{
  g_autoptr(Resp) r = put_whole (f, d, id, bad);
  g_autofree char *path = stored_path (f, id);
  g_autoptr(GBytes) held = NULL;
  g_autoptr(JsonObject) st = NULL;

  assert_error (r, 400, code);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  held = stored_bytes (f, id);
  g_assert_null (held);
  st = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (st, "state"), ==, "none");
}

static GBytes *
flip (GBytes *bytes,
      gsize   at)
{
  gsize len;
  guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

  copy[at] ^= 0x01;
  return g_bytes_new_take (copy, len);
}

static void
test_packet_tampered (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 5000);
  const guint8 *p = g_bytes_get_data (packet, NULL);
  guint32 mlen = ((guint32) p[4] << 24) | ((guint32) p[5] << 16) | ((guint32) p[6] << 8) | p[7];
  const char *receipt = g_strstr_len ((const char *) p + 8, mlen, "TCN-");
  g_autoptr(GBytes) bad_manifest = flip (packet, (gsize) (receipt - (const char *) p) + 5);
  g_autoptr(GBytes) bad_sig = flip (packet, 8 + mlen + 10);
  g_autoptr(GBytes) bad_payload = flip (packet, g_bytes_get_size (packet) - 100);
  g_autoptr(GBytes) bad_magic = flip (packet, 0);
  g_autofree char *packets_dir = g_build_filename (f->dir, "packets", NULL);
  g_autoptr(Resp) ok = NULL;

  assert_refused (f, d, id, bad_manifest, "bad_packet");
  assert_refused (f, d, id, bad_sig, "bad_packet");
  assert_refused (f, d, id, bad_payload, "bad_packet");
  assert_refused (f, d, id, bad_magic, "bad_packet");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
  g_assert_cmpuint (count_files (packets_dir), ==, 0);

  /* The real packet still goes in afterwards. */
  ok = put_whole (f, d, id, packet);
  g_assert_cmpint (ok->status, ==, 200);
  {
    g_autoptr(GBytes) held = stored_bytes (f, id);

    g_assert_nonnull (held);
    g_assert_true (g_bytes_equal (held, packet));
  }
}

static char *raw_request (Fixture    *f,
                          const char *head,
                          gsize       sent);

/* FK-Content-Hash (PROTOCOL §3.3): the signature is checked against the
 * hash the device names before the body is read, and the body is then held
 * to that hash: bytes other than the signed ones are refused as
 * body_mismatch (a damaged packet on the device is quarantined, not taken
 * for a forgery), nothing stored; a bad signature is answered before the
 * body has arrived. */
static void
test_packet_content_hash (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 20000);
  g_autoptr(GBytes) damaged = flip (packet, g_bytes_get_size (packet) - 500);
  g_autoptr(Resp) mismatch = NULL;
  g_autoptr(Resp) forged = NULL;
  g_autoptr(Resp) ok = NULL;
  Sign claim_other = { .claim_hash = TRUE, .signed_body = packet };
  Sign claim_forged = { .claim_hash = TRUE, .bad_sig = TRUE };
  Sign claim = { .claim_hash = TRUE };

  mismatch = put_packet (f, d, id, damaged, 0, g_bytes_get_size (damaged), &claim_other);
  assert_error (mismatch, 400, "body_mismatch");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
  forged = put_packet (f, d, id, packet, 0, g_bytes_get_size (packet), &claim_forged);
  assert_error (forged, 401, "bad_signature");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);

  ok = put_packet (f, d, id, packet, 0, g_bytes_get_size (packet), &claim);
  g_assert_cmpint (ok->status, ==, 200);
  {
    g_autoptr(GBytes) held = stored_bytes (f, id);

    g_assert_nonnull (held);
    g_assert_true (g_bytes_equal (held, packet));
  }

  /* A signature that does not verify over the named hash is refused as soon
   * as the headers are in: this request announces 5 MiB and sends none. */
  {
    g_autofree char *other = g_uuid_string_random ();
    g_autofree char *pq = g_strdup_printf ("/v1/packets/%s?offset=0&total=5242880", other);
    g_autofree char *t = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);
    g_autofree char *zero = g_strnfill (64, '0');
    g_autofree char *sig_b64 = NULL;
    g_autofree char *head = NULL;
    g_autofree char *status = NULL;
    g_autoptr(GBytes) m = fk_request_message_hex ("PUT", pq, t, "00112233445566778899aabbccddee01", "1111");
    guint8 sig[64];

    fk_identity_sign (d->id, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);
    sig_b64 = fk_b64_encode (sig, sizeof sig);
    head = g_strdup_printf ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5242880\r\n"
                            "FK-Device: %s\r\nFK-Time: %s\r\nFK-Nonce: 00112233445566778899aabbccddee01\r\n"
                            "FK-Signature: %s\r\nFK-Content-Hash: %s\r\n\r\n",
                            pq, d->device_id, t, sig_b64, zero);
    status = raw_request (f, head, 0);
    g_assert_true (g_str_has_prefix (status, "HTTP/1.1 401"));
  }
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);
}

/* A packet over FK_OFFICE_SEGMENT_MIN_BYTES that arrives whole is appended
 * to this store's segment file (not a file of its own, not office.db): its
 * bytes read back the same, a repeat gets the same ack and other bytes a
 * conflict (both compare with the segment), and a second store on the same
 * folder (a `bundle import` beside `serve`) reads it and appends to a
 * segment of its own. */
static void
test_packet_segment (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *id2 = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 200 * 1024);
  g_autoptr(GBytes) other = make_packet (f, d, id, 200 * 1024);
  g_autoptr(GBytes) second = make_packet (f, d, id2, 150 * 1024);
  g_autoptr(Resp) r1 = put_whole (f, d, id, packet);
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(Resp) r3 = NULL;
  g_autoptr(GBytes) held = NULL;
  g_autoptr(FkOfficeStore) beside = NULL;
  g_autofree char *seg1 = g_build_filename (f->dir, "packets", "segment-1.fks", NULL);
  g_autofree char *seg2 = g_build_filename (f->dir, "packets", "segment-2.fks", NULL);
  g_autofree char *own_file = stored_path (f, id);
  g_autofree char *ack = NULL;
  gboolean duplicate = FALSE;

  g_assert_cmpint (g_bytes_get_size (packet), >, FK_OFFICE_SEGMENT_MIN_BYTES);
  g_assert_cmpint (r1->status, ==, 200);
  held = stored_bytes (f, id);
  g_assert_nonnull (held);
  g_assert_true (g_bytes_equal (held, packet));
  g_assert_true (g_file_test (seg1, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (own_file, G_FILE_TEST_EXISTS));

  r2 = put_whole (f, d, id, packet);
  g_assert_cmpint (r2->status, ==, 200);
  g_assert_cmpstr (resp_text (r2), ==, resp_text (r1));
  r3 = put_whole (f, d, id, other);
  assert_error (r3, 409, "conflict");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);

  beside = fk_office_store_open (f->dir, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GBytes) again = fk_office_store_packet_bytes (beside, id, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (again, packet));
  }
  ack = fk_office_ingest_packet (beside, f->keys, second, id2, d->device_id, &duplicate, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ack);
  g_assert_false (duplicate);
  g_assert_true (g_file_test (seg2, G_FILE_TEST_EXISTS));
  g_clear_pointer (&held, g_bytes_unref);
  held = stored_bytes (f, id2);
  g_assert_nonnull (held);
  g_assert_true (g_bytes_equal (held, second));
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 2);
}

/* A backup while the office serves: every packet — inside office.db, in
 * a segment, in a file of its own — comes back byte for byte from the
 * copy, which opens with the admin passphrase like the office; a folder
 * that is not empty is refused. */
static void
test_backup (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  const gsize sizes[] = { 2 * 1024, 200 * 1024, 2 * 1024 * 1024 + 5 };
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *dest = g_build_filename (f->dir, "..", "backup-copy", NULL);
  g_autofree char *dest_real = NULL;
  g_autoptr(FkOfficeStore) copy = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  gint64 n = 0;
  guint64 bytes = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      char *id = g_uuid_string_random ();
      GBytes *packet = make_packet (f, d, id, sizes[i]);
      g_autofree char *ack = NULL;
      gboolean duplicate = FALSE;

      ack = fk_office_ingest_packet (f->store, f->keys, packet, id, d->device_id, &duplicate, &error);
      g_assert_no_error (error);
      g_ptr_array_add (ids, id);
      g_ptr_array_add (packets, packet);
    }
  dest_real = g_canonicalize_filename (dest, NULL);
  g_assert_true (fk_office_store_backup (f->store, dest_real, &n, &bytes, &error));
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpuint (bytes, >, 2 * 1024 * 1024);

  copy = fk_office_store_open (dest_real, &error);
  g_assert_no_error (error);
  keys = fk_office_store_unlock (copy, FK_TEST_PASS_ADMIN, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (keys->key_id, ==, f->keys->key_id);
  g_assert_cmpint (fk_office_store_count_packets (copy), ==, 3);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(GBytes) back = fk_office_store_packet_bytes (copy, ids->pdata[i], &error);

      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, packets->pdata[i]));
    }
  g_clear_pointer (&copy, fk_office_store_free);

  g_assert_false (fk_office_store_backup (f->store, dest_real, NULL, NULL, &error));
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS);
  g_clear_error (&error);
  fk_test_rm_rf (dest_real);
}

static void
test_packet_wrong_id (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autoptr(Device) e = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *other_id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autoptr(Resp) r1 = put_whole (f, d, other_id, packet);
  g_autoptr(Resp) r2 = put_whole (f, e, id, packet);

  assert_error (r1, 400, "bad_manifest");
  assert_error (r2, 400, "bad_manifest");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
}

/* ---- tests: authentication and limits -------------------------------------------------------- */

static void
test_auth (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  g_autoptr(Device) r_dev = enroll (f);
  g_autoptr(Device) stranger = g_new0 (Device, 1);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autoptr(Resp) unknown = NULL;
  g_autoptr(Resp) skew = NULL;
  g_autoptr(Resp) first = NULL;
  g_autoptr(Resp) replay = NULL;
  g_autoptr(Resp) badsig = NULL;
  g_autoptr(Resp) revoked = NULL;
  g_autoptr(Resp) unsigned_req = NULL;
  g_autoptr(JsonObject) doc = NULL;
  Sign year = { .time_offset = 365 * 24 * 3600 };
  Sign fixed = { .nonce = "00112233445566778899aabbccddeeff" };
  Sign forged = { .bad_sig = TRUE };
  gint64 server_time;

  stranger->id = fk_identity_generate (&error);
  stranger->device_id = fk_device_id (fk_identity_public_key (stranger->id));
  unknown = put_whole (f, stranger, id, packet);
  assert_error (unknown, 401, "unknown_device");

  unsigned_req = http (f, "GET", "/v1/changes?since=0", NULL, 0, NULL, NULL);
  assert_error (unsigned_req, 401, "unknown_device");

  skew = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, &year);
  assert_error (skew, 401, "clock_skew");
  doc = resp_json (skew);
  server_time = json_object_get_int_member (json_object_get_object_member (doc, "error"), "server_time");
  g_assert_cmpint (ABS (server_time - g_get_real_time () / G_USEC_PER_SEC), <, 10);

  first = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, &fixed);
  g_assert_cmpint (first->status, ==, 200);
  replay = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, &fixed);
  assert_error (replay, 401, "replay");

  badsig = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, &forged);
  assert_error (badsig, 401, "bad_signature");

  g_assert_true (fk_office_store_revoke_device (f->store, r_dev->device_id, 1, &error));
  g_assert_no_error (error);
  revoked = http (f, "GET", "/v1/changes?since=0", NULL, 0, r_dev, NULL);
  assert_error (revoked, 403, "device_revoked");
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
}

/* Sends headers announcing `content_length` and only `sent` bytes of body;
 * returns the status line the server answers with. */
static char *
raw_request (Fixture    *f,
             const char *head,
             gsize       sent)
{
  struct sockaddr_in addr = { 0 };
  struct timeval tv = { 10, 0 };
  char buf[512] = { 0 };
  g_autofree char *body = g_malloc0 (sent);
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  ssize_t n;

  addr.sin_family = AF_INET;
  addr.sin_port = htons (f->port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  g_assert_cmpint (send (fd, head, strlen (head), 0), ==, (ssize_t) strlen (head));
  send (fd, body, sent, MSG_NOSIGNAL);
  n = recv (fd, buf, sizeof buf - 1, 0);
  close (fd);
  g_assert_cmpint (n, >, 0);
  buf[strcspn (buf, "\r\n")] = '\0';
  return g_strdup (buf);
}

static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autofree char *path = g_strdup_printf ("/v1/packets/%s?offset=0&total=%d", id, 64 * 1024 * 1024 + 1);
  g_autoptr(Resp) huge = http (f, "PUT", path, g_bytes_get_data (packet, NULL), g_bytes_get_size (packet), d, NULL);
  g_autofree char *enroll_line = NULL;
  g_autofree char *put_line = NULL;
  g_autofree char *put_head = NULL;

  assert_error (huge, 413, "too_large");

  /* Over-limit Content-Length: refused before the body is read (the test
   * sends only a few bytes of the 5 MiB it announces). */
  enroll_line = raw_request (f, "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 5242880\r\n\r\n", 100);
  g_assert_true (g_str_has_prefix (enroll_line, "HTTP/1.1 413 "));

  put_head = g_strdup_printf ("PUT /v1/packets/%s?offset=0&total=20000000 HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 20000000\r\n\r\n", id);
  /* Unsigned, so the device check answers first; signed would be 413. */
  put_line = raw_request (f, put_head, 100);
  g_assert_true (g_str_has_prefix (put_line, "HTTP/1.1 4"));
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
}

/* ---- tests: changes, audit --------------------------------------------------------------------- */

static void
test_changes (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  g_autoptr(Device) e = enroll (f);
  g_autofree char *id1 = g_uuid_string_random ();
  g_autofree char *id2 = g_uuid_string_random ();
  g_autoptr(GBytes) p1 = make_packet (f, d, id1, 100);
  g_autoptr(GBytes) p2 = make_packet (f, d, id2, 100);
  g_autoptr(Resp) u1 = put_whole (f, d, id1, p1);
  g_autoptr(Resp) u2 = put_whole (f, d, id2, p2);
  g_autoptr(Resp) c = NULL;
  g_autoptr(Resp) c2 = NULL;
  g_autoptr(Resp) ce = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) body2 = NULL;
  g_autoptr(JsonObject) body_e = NULL;
  g_autofree char *next_path = NULL;
  JsonArray *list;
  JsonObject *ch;

  g_assert_cmpint (u1->status, ==, 200);
  g_assert_cmpint (u2->status, ==, 200);
  g_assert_true (fk_office_store_review (f->store, id1, "approved", NULL, 100, &error));
  g_assert_no_error (error);
  g_assert_true (fk_office_store_review (f->store, id2, "returned", "照片不符規格，請補正", 101, &error));
  g_assert_no_error (error);
  /* A decision is final: a second one is refused and adds nothing to the feed. */
  g_assert_false (fk_office_store_review (f->store, id2, "approved", NULL, 102, &error));
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "already reviewed: returned for correction"));
  g_clear_error (&error);

  c = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, NULL);
  g_assert_cmpint (c->status, ==, 200);
  body = open_envelope (f, resp_text (c), "changes");
  g_assert_cmpstr (json_object_get_string_member (body, "device_id"), ==, d->device_id);
  list = json_object_get_array_member (body, "changes");
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  ch = json_array_get_object_element (list, 0);
  g_assert_cmpstr (json_object_get_string_member (ch, "kind"), ==, "review");
  g_assert_cmpstr (json_object_get_string_member (ch, "packet_id"), ==, id1);
  g_assert_cmpstr (json_object_get_string_member (ch, "decision"), ==, "approved");
  ch = json_array_get_object_element (list, 1);
  g_assert_cmpstr (json_object_get_string_member (ch, "decision"), ==, "returned");
  g_assert_cmpstr (json_object_get_string_member (ch, "reason"), ==, "照片不符規格，請補正");
  g_assert_cmpint (json_object_get_int_member (body, "next"), ==, json_object_get_int_member (ch, "seq"));

  next_path = g_strdup_printf ("/v1/changes?since=%" G_GINT64_FORMAT, json_object_get_int_member (body, "next"));
  c2 = http (f, "GET", next_path, NULL, 0, d, NULL);
  g_assert_cmpint (c2->status, ==, 200);
  body2 = open_envelope (f, resp_text (c2), "changes");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body2, "changes")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (body2, "next"), ==, json_object_get_int_member (body, "next"));

  /* Another device sees none of them. */
  ce = http (f, "GET", "/v1/changes?since=0", NULL, 0, e, NULL);
  body_e = open_envelope (f, resp_text (ce), "changes");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body_e, "changes")), ==, 0);
}

typedef enum {
  SIGN_EACH,          /* every entry signed (each its own transaction) */
  SIGN_LAST,          /* one transaction: only the last entry signed */
  SIGN_NOT_LAST,      /* a log ending with an unsigned entry */
} SignMode;

/* Audit entries as the device makes them (fk-audit.h). */
static char *
audit_body_signed (Device   *d,
                   gint64    from_seq,
                   guint     n,
                   guint8    prev[32],
                   gboolean  corrupt_last,
                   SignMode  mode)
{
  GString *s = g_string_new ("{\"v\":1,\"entries\":[");

  for (guint i = 0; i < n; i++)
    {
      FkOfficeAuditEntry e = { 0 };
      g_autofree char *prev_hex = NULL, *hash_hex = NULL, *sig_hex = NULL;

      e.seq = from_seq + i;
      e.at = 1700000000000000 + e.seq;
      e.operator_id = (char *) "alice";
      e.action = (char *) "case.new";
      e.subject = (char *) "case-1";
      e.detail = (char *) "{}";
      memcpy (e.prev, prev, 32);
      fk_office_audit_entry_hash (&e, e.hash);
      fk_identity_sign (d->id, e.hash, 32, e.sig);
      prev_hex = fk_hex_encode (e.prev, 32);
      hash_hex = fk_hex_encode (e.hash, 32);
      if (mode == SIGN_EACH || (mode == SIGN_LAST && i == n - 1) || (mode == SIGN_NOT_LAST && i < n - 1))
        sig_hex = fk_hex_encode (e.sig, 64);
      else
        sig_hex = g_strdup ("");
      g_string_append_printf (s, "%s{\"seq\":%" G_GINT64_FORMAT ",\"at\":%" G_GINT64_FORMAT ",\"operator\":\"alice\","
                              "\"action\":\"%s\",\"subject\":\"case-1\",\"detail\":\"{}\","
                              "\"prev\":\"%s\",\"hash\":\"%s\",\"sig\":\"%s\"}",
                              i ? "," : "", e.seq, e.at, (corrupt_last && i == n - 1) ? "case.edit" : "case.new",
                              prev_hex, hash_hex, sig_hex);
      memcpy (prev, e.hash, 32);
    }
  g_string_append (s, "]}");
  return g_string_free (s, FALSE);
}

static char *
audit_body (Device   *d,
            gint64    from_seq,
            guint     n,
            guint8    prev[32],
            gboolean  corrupt_last)
{
  return audit_body_signed (d, from_seq, n, prev, corrupt_last, SIGN_EACH);
}

static void
test_audit (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  guint8 prev[32] = { 0 };
  guint8 saved[32];
  g_autofree char *b1 = audit_body (d, 1, 3, prev, FALSE);
  g_autofree char *b2 = NULL;
  g_autofree char *b3 = NULL;
  g_autofree char *b4 = NULL;
  g_autofree char *b5 = NULL;
  g_autofree char *b6 = NULL;
  g_autoptr(Resp) r4 = NULL;
  g_autoptr(Resp) r5 = NULL;
  g_autoptr(Resp) r6 = NULL;
  g_autoptr(JsonObject) a4 = NULL;
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) again = NULL;
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(Resp) r3 = NULL;
  g_autoptr(JsonObject) a1 = NULL;
  g_autoptr(JsonObject) a2 = NULL;
  g_autofree char *reason = NULL;
  guint n = 0;
  gint64 first_bad = -1;

  r1 = http (f, "PUT", "/v1/audit", (const guint8 *) b1, strlen (b1), d, NULL);
  g_assert_cmpint (r1->status, ==, 200);
  a1 = open_envelope (f, resp_text (r1), "audit_ack");
  g_assert_cmpint (json_object_get_int_member (a1, "through"), ==, 3);

  /* The same upload again (ack lost): accepted, nothing added. */
  again = http (f, "PUT", "/v1/audit", (const guint8 *) b1, strlen (b1), d, NULL);
  g_assert_cmpint (again->status, ==, 200);

  memcpy (saved, prev, 32);
  b2 = audit_body (d, 4, 2, prev, FALSE);
  r2 = http (f, "PUT", "/v1/audit", (const guint8 *) b2, strlen (b2), d, NULL);
  g_assert_cmpint (r2->status, ==, 200);
  a2 = open_envelope (f, resp_text (r2), "audit_ack");
  g_assert_cmpint (json_object_get_int_member (a2, "through"), ==, 5);

  /* A changed entry breaks its hash: refused, nothing stored. */
  memcpy (saved, prev, 32);
  b3 = audit_body (d, 6, 2, prev, TRUE);
  r3 = http (f, "PUT", "/v1/audit", (const guint8 *) b3, strlen (b3), d, NULL);
  assert_error (r3, 400, "bad_audit");

  /* One transaction of three entries: only the last is signed (§3.6). */
  memcpy (prev, saved, 32);
  b4 = audit_body_signed (d, 6, 3, prev, FALSE, SIGN_LAST);
  r4 = http (f, "PUT", "/v1/audit", (const guint8 *) b4, strlen (b4), d, NULL);
  g_assert_cmpint (r4->status, ==, 200);
  a4 = open_envelope (f, resp_text (r4), "audit_ack");
  g_assert_cmpint (json_object_get_int_member (a4, "through"), ==, 8);

  /* Unsigned entries that no signed entry follows: refused, naming the
   * first of them; nothing stored. */
  memcpy (saved, prev, 32);
  b5 = audit_body_signed (d, 9, 3, prev, FALSE, SIGN_LAST);
  {
    /* Strip the last signature too. */
    char *last_sig = g_strrstr (b5, "\"sig\":\"");

    g_assert_nonnull (last_sig);
    last_sig += strlen ("\"sig\":\"");
    memmove (last_sig, last_sig + 128, strlen (last_sig + 128) + 1);
  }
  r5 = http (f, "PUT", "/v1/audit", (const guint8 *) b5, strlen (b5), d, NULL);
  assert_error (r5, 400, "bad_audit");
  g_assert_nonnull (strstr (resp_text (r5), "9"));
  memcpy (prev, saved, 32);
  b6 = audit_body_signed (d, 9, 2, prev, FALSE, SIGN_NOT_LAST);
  r6 = http (f, "PUT", "/v1/audit", (const guint8 *) b6, strlen (b6), d, NULL);
  assert_error (r6, 400, "bad_audit");

  g_assert_true (fk_office_audit_verify (f->store, d->device_id, &n, &first_bad, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 8);
  g_assert_cmpint (first_bad, ==, 0);

  /* The stored log: the unsigned entries stay unsigned, and a stored log
   * whose last entry lost its signature does not verify from there on. */
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    g_autofree char *path = g_build_filename (fk_office_store_data_dir (f->store), "office.db", NULL);

    g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT group_concat (seq) FROM device_audit WHERE length (sig) = 0",
                                         -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "6,7");
    sqlite3_finalize (st);
    g_assert_cmpint (sqlite3_exec (db, "UPDATE device_audit SET sig = x'' WHERE seq = 8", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
  }
  g_clear_pointer (&reason, g_free);
  g_assert_true (fk_office_audit_verify (f->store, d->device_id, &n, &first_bad, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (first_bad, ==, 6);
  g_assert_nonnull (strstr (reason, "unsigned"));
}

/* ---- tests: bundle import through the binary ------------------------------------------------------ */

static void
put_u64 (GByteArray *b,
         guint64     v)
{
  guint8 x[8];

  for (int i = 7; i >= 0; i--, v >>= 8)
    x[i] = v & 0xff;
  g_byte_array_append (b, x, 8);
}

static void
test_bundle (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id1 = g_uuid_string_random ();
  g_autofree char *id2 = g_uuid_string_random ();
  g_autoptr(GBytes) p1 = make_packet (f, d, id1, 500);
  g_autoptr(GBytes) p2 = make_packet (f, d, id2, 700);
  g_autoptr(Resp) up = put_whole (f, d, id1, p1);
  g_autoptr(GByteArray) bundle = g_byte_array_new ();
  guint8 prev[32] = { 0 };
  g_autofree char *audit = audit_body (d, 1, 2, prev, FALSE);
  g_autofree char *file = g_build_filename (f->dir, "bundle.fkb", NULL);
  g_autofree char *office = g_test_build_filename (G_TEST_BUILT, "..", "sync", "fieldkit-office", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *doc;
  const char *argv[] = { office, "--data-dir", f->dir, "--json", "bundle", "import", file, NULL };
  int status = 0;

  g_assert_cmpint (up->status, ==, 200);
  g_byte_array_append (bundle, (const guint8 *) "FKB1\0\0\0\2", 8);
  put_u64 (bundle, g_bytes_get_size (p1));
  g_byte_array_append (bundle, g_bytes_get_data (p1, NULL), (guint) g_bytes_get_size (p1));
  put_u64 (bundle, g_bytes_get_size (p2));
  g_byte_array_append (bundle, g_bytes_get_data (p2, NULL), (guint) g_bytes_get_size (p2));
  put_u64 (bundle, strlen (audit));
  g_byte_array_append (bundle, (const guint8 *) audit, (guint) strlen (audit));
  g_assert_true (g_file_set_contents (file, (const char *) bundle->data, bundle->len, &error));

  g_setenv ("FIELDKIT_ADMIN_PASSPHRASE", FK_TEST_PASS_ADMIN, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("bundle import: %s %s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  doc = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (doc, "stored"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (doc, "duplicates"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (doc, "refused"), ==, 0);
  g_assert_true (json_object_get_boolean_member (doc, "audit_ok"));
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 2);

  /* The imported one is stored like an uploaded one. */
  {
    g_autoptr(JsonObject) st = get_state (f, d, id2);

    g_assert_cmpstr (json_object_get_string_member (st, "state"), ==, "stored");
  }
}

/* Runs fieldkit-office with --json on the fixture's data folder; returns
 * the exit status and the parsed document. */
static JsonObject *
run_office (Fixture     *f,
            int         *exit_status,
            const char  *first,
            ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  va_list ap;
  int status = 0;

  g_ptr_array_add (argv, g_test_build_filename (G_TEST_BUILT, "..", "sync", "fieldkit-office", NULL));
  g_ptr_array_add (argv, g_strdup ("--data-dir"));
  g_ptr_array_add (argv, g_strdup (f->dir));
  g_ptr_array_add (argv, g_strdup ("--json"));
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_setenv ("FIELDKIT_ADMIN_PASSPHRASE", FK_TEST_PASS_ADMIN, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("fieldkit-office %s: %s %s", first, out, err);
  *exit_status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  /* A usage error says so on stderr only. */
  if (*exit_status == 2 && *out == '\0')
    return NULL;
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_cli (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 4321);
  g_autoptr(Resp) up = put_whole (f, d, id, packet);
  g_autoptr(Resp) ch = NULL;
  g_autoptr(JsonObject) inbox = NULL;
  g_autoptr(JsonObject) kase = NULL;
  g_autoptr(JsonObject) review = NULL;
  g_autoptr(JsonObject) audit = NULL;
  g_autoptr(JsonObject) list = NULL;
  g_autoptr(JsonObject) revoke = NULL;
  g_autoptr(JsonObject) invite = NULL;
  g_autoptr(JsonObject) changes = NULL;
  JsonObject *person, *att;
  int status = -1;

  g_assert_cmpint (up->status, ==, 200);

  inbox = run_office (f, &status, "inbox", "--device", "1", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (inbox, "packets")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (inbox, "packets"), 0), "review"), ==, "pending");

  kase = run_office (f, &status, "case", "show", id, NULL);
  g_assert_cmpint (status, ==, 0);
  person = json_object_get_object_member (json_object_get_object_member (kase, "case"), "person");
  g_assert_cmpstr (json_object_get_string_member (person, "name"), ==, "王小明");
  att = json_array_get_object_element (json_object_get_array_member (kase, "attachments"), 0);
  g_assert_cmpint (json_object_get_int_member (att, "size"), ==, 4321);
  g_assert_true (json_object_get_boolean_member (att, "hash_ok"));

  review = run_office (f, &status, "review", id, "--return", "照片不符規格", NULL);
  g_assert_cmpint (status, ==, 0);
  ch = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, NULL);
  changes = open_envelope (f, resp_text (ch), "changes");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (changes, "changes"), 0), "reason"),
                   ==, "照片不符規格");

  audit = run_office (f, &status, "audit", "verify", "1", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_object_get_boolean_member (audit, "intact"));

  /* An option a command does not take is refused, never ignored: the same
   * commands that just worked, each with a typo. */
  {
    const char *const typos[][5] = {
      { "case", "show", id, "--typo", "x" },
      { "audit", "verify", "1", "--typo", "x" },
      { "bundle", "import", "/nonexistent", "--typo", "x" },
      { "catalog", "publish", "/nonexistent", "--typo", "x" },
      { "inbox", "--typo", "x", NULL, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (typos); i++)
      {
        g_autoptr(JsonObject) refused = run_office (f, &status, typos[i][0], typos[i][1], typos[i][2],
                                                    typos[i][3], typos[i][4], NULL);

        g_assert_null (refused);
        g_assert_cmpint (status, ==, 2);
      }
  }

  invite = run_office (f, &status, "device", "invite", "--name", "van 2", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (strlen (json_object_get_string_member (invite, "code")), ==, 24);
  g_assert_cmpstr (json_object_get_string_member (invite, "fingerprint"), ==, f->keys->fingerprint);

  revoke = run_office (f, &status, "device", "revoke", "1", NULL);
  g_assert_cmpint (status, ==, 0);
  list = run_office (f, &status, "device", "list", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (json_object_get_array_member (list, "devices"), 0), "revoked"));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (json_object_get_array_member (list, "devices"), 0), "packets"), ==, 1);
}

/* ---- tests: faults --------------------------------------------------------------------------------------- */

static void
test_fault_status (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(Resp) r3 = NULL;
  g_autoptr(Resp) r4 = NULL;
  g_autoptr(Resp) r5 = NULL;
  g_autoptr(Resp) other = NULL;

  restart_with_faults (f, "status=503:2,status=429:1:retry=2,status=500:1");
  /* Requests other than packet PUTs do not count. */
  other = http (f, "GET", "/v1/changes?since=0", NULL, 0, d, NULL);
  g_assert_cmpint (other->status, ==, 200);

  r1 = put_whole (f, d, id, packet);
  assert_error (r1, 503, "busy");
  g_assert_cmpstr (r1->retry_after, ==, "1");
  r2 = put_whole (f, d, id, packet);
  assert_error (r2, 503, "busy");
  r3 = put_whole (f, d, id, packet);
  assert_error (r3, 429, "busy");
  g_assert_cmpstr (r3->retry_after, ==, "2");
  r4 = put_whole (f, d, id, packet);
  assert_error (r4, 500, "internal");
  g_assert_null (r4->retry_after);
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 0);
  r5 = put_whole (f, d, id, packet);
  g_assert_cmpint (r5->status, ==, 200);
}

static void
test_fault_drop (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 200 * 1024);
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(JsonObject) st = NULL;

  restart_with_faults (f, "drop=1000");
  r1 = put_whole (f, d, id, packet);
  g_assert_cmpint (r1->rc, !=, CURLE_OK);
  st = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (st, "state"), ==, "none");
  r2 = put_whole (f, d, id, packet);
  g_assert_cmpint (r2->status, ==, 200);
}

static void
test_fault_hang (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) r2 = NULL;
  Sign impatient = { .timeout_ms = 500 };
  gint64 start;

  restart_with_faults (f, "hang=2:1");
  start = g_get_monotonic_time ();
  r1 = put_packet (f, d, id, packet, 0, g_bytes_get_size (packet), &impatient);
  g_assert_cmpint (r1->rc, ==, CURLE_OPERATION_TIMEDOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1900 * 1000);
  /* After the hang the server finishes the request; a retry gets the ack. */
  g_usleep (2200 * 1000);
  r2 = put_whole (f, d, id, packet);
  g_assert_cmpint (r2->status, ==, 200);
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);
}

static void
test_fault_lose_ack (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Device) d = enroll (f);
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GBytes) packet = make_packet (f, d, id, 100);
  g_autoptr(Resp) r1 = NULL;
  g_autoptr(Resp) r2 = NULL;
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(JsonObject) ack = NULL;

  restart_with_faults (f, "lose-ack:1");
  r1 = put_whole (f, d, id, packet);
  g_assert_cmpint (r1->rc, !=, CURLE_OK);
  g_assert_cmpint (fk_office_store_count_packets (f->store), ==, 1);
  st = get_state (f, d, id);
  g_assert_cmpstr (json_object_get_string_member (st, "state"), ==, "stored");
  r2 = put_whole (f, d, id, packet);
  g_assert_cmpint (r2->status, ==, 200);
  ack = open_envelope (f, resp_text (r2), "ack");
  g_assert_cmpstr (json_object_get_string_member (ack, "packet_id"), ==, id);
}

static void
test_fault_spec (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autofree char *dir = fk_test_make_tmp ();
  FkOfficeServerOptions options = { 0 };
  FkOfficeKeys *keys;

  store = fk_test_office_new (dir, &keys);
  options.faults = "status=503:2,explode=1";
  options.quiet = TRUE;
  g_assert_null (fk_office_server_start (store, keys, &options, &error));
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID);
  fk_office_keys_free (keys);
  g_clear_pointer (&store, fk_office_store_free);
  fk_test_rm_rf (dir);
}

/* Unfinished uploads do not pile up: parts of a packet untouched for two
 * weeks go when the server starts (with folders left empty), recent ones
 * stay for their device to resume. */
static void
test_stale_partials (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *root = g_build_filename (f->dir, "partial", NULL);
  g_autofree char *dev_a = g_build_filename (root, "dev-a", NULL);
  g_autofree char *dev_b = g_build_filename (root, "dev-b", NULL);
  g_autofree char *old_a = g_build_filename (dev_a, "packet-old", NULL);
  g_autofree char *new_a = g_build_filename (dev_a, "packet-new", NULL);
  g_autofree char *old_b = g_build_filename (dev_b, "packet-old", NULL);
  struct utimbuf weeks_ago = { .actime = time (NULL) - 15 * 24 * 3600, .modtime = time (NULL) - 15 * 24 * 3600 };

  g_assert_cmpint (g_mkdir_with_parents (dev_a, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dev_b, 0700), ==, 0);
  g_assert_true (g_file_set_contents (old_a, "part", -1, NULL));
  g_assert_true (g_file_set_contents (new_a, "part", -1, NULL));
  g_assert_true (g_file_set_contents (old_b, "part", -1, NULL));
  g_assert_cmpint (utime (old_a, &weeks_ago), ==, 0);
  g_assert_cmpint (utime (old_b, &weeks_ago), ==, 0);

  g_assert_cmpuint (fk_office_remove_stale_partials (f->store, FK_OFFICE_PARTIAL_MAX_AGE_S), ==, 2);
  g_assert_false (g_file_test (old_a, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (old_b, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (dev_b, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (new_a, G_FILE_TEST_EXISTS));
  /* The server does it as it starts. */
  g_assert_cmpint (utime (new_a, &weeks_ago), ==, 0);
  g_clear_pointer (&f->server, server_stop);
  start_server (f, NULL);
  g_assert_false (g_file_test (new_a, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (dev_a, G_FILE_TEST_EXISTS));
}

/* Every admin passphrase forgotten: the recovery key init printed opens
 * the office keys (and nothing else does in its place — a passphrase, a
 * wrong key, a text that is no recovery key), the admin gets a new
 * passphrase, the old one stops working, and the keys are the same keys. */
static void
test_recover (void)
{
  g_autofree char *dir = fk_test_make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = fk_office_store_open (dir, &error);
  g_autoptr(FkOfficeKeys) first = NULL;
  g_autoptr(FkOfficeKeys) by_key = NULL;
  g_autoptr(FkOfficeKeys) by_new = NULL;
  g_autoptr(FkOfficeKeys) by_old = NULL;
  g_autoptr(FkOfficeKeys) none = NULL;
  g_autofree char *other = fk_recovery_key_generate ();
  g_autofree char *typed = NULL;
  char *recovery = NULL;
  guint replaced = 99;

  g_assert_no_error (error);
  first = fk_office_store_init (store, "TCN", "alice", "old admin passphrase", &recovery, &error);
  g_assert_no_error (error);

  none = fk_office_store_unlock_recovery (store, "old admin passphrase", &error);
  g_assert_null (none);
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID);
  g_clear_error (&error);
  none = fk_office_store_unlock_recovery (store, other, &error);
  g_assert_null (none);
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);

  /* Typed back in lower case, without dashes. */
  typed = g_ascii_strdown (recovery, -1);
  for (char *r = typed, *w = typed; ; r++)
    if (*r != '-' && (*w++ = *r) == '\0')
      break;
  by_key = fk_office_store_unlock_recovery (store, typed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (by_key);
  g_assert_cmpstr (by_key->key_id, ==, first->key_id);
  g_assert_true (fk_equal (fk_identity_public_key (by_key->sign), fk_identity_public_key (first->sign), 32));

  g_assert_false (fk_office_store_set_admin_passphrase (store, by_key, "recovery", "x", NULL, &error));
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (fk_office_store_set_admin_passphrase (store, by_key, "alice", "new admin passphrase", &replaced, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (replaced, ==, 1);

  by_old = fk_office_store_unlock (store, "old admin passphrase", &error);
  g_assert_null (by_old);
  g_assert_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  by_new = fk_office_store_unlock (store, "new admin passphrase", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_new->admin, ==, "alice");
  g_assert_true (fk_equal (fk_box_key_secret (by_new->box), fk_box_key_secret (first->box), 32));
  /* The recovery key still works, and a name without a slot is added. */
  g_clear_pointer (&by_key, fk_office_keys_free);
  by_key = fk_office_store_unlock_recovery (store, recovery, &error);
  g_assert_no_error (error);
  g_assert_true (fk_office_store_set_admin_passphrase (store, by_key, "bob", "bob admin passphrase", &replaced, &error));
  g_assert_cmpuint (replaced, ==, 0);
  fk_recovery_key_free (recovery);
  g_clear_pointer (&store, fk_office_store_free);
  fk_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_unsetenv ("FIELDKIT_ADMIN_PASSPHRASE");
  g_test_init (&argc, &argv, NULL);
  g_assert_true (fk_crypto_init (NULL));
  curl_global_init (CURL_GLOBAL_DEFAULT);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/office/info", test_office_info);
  ADD ("/office/enroll", test_enroll);
  ADD ("/office/packet/once", test_packet_once);
  ADD ("/office/packet/chunks", test_packet_chunks);
  ADD ("/office/packet/tampered", test_packet_tampered);
  ADD ("/office/packet/content-hash", test_packet_content_hash);
  ADD ("/office/packet/segment", test_packet_segment);
  ADD ("/office/packet/wrong-id", test_packet_wrong_id);
  ADD ("/office/auth", test_auth);
  ADD ("/office/limits", test_limits);
  ADD ("/office/changes", test_changes);
  ADD ("/office/audit", test_audit);
  ADD ("/office/bundle", test_bundle);
  ADD ("/office/cli", test_cli);
  ADD ("/office/fault/status", test_fault_status);
  ADD ("/office/fault/drop", test_fault_drop);
  ADD ("/office/fault/hang", test_fault_hang);
  ADD ("/office/fault/lose-ack", test_fault_lose_ack);
  ADD ("/office/partial/stale", test_stale_partials);
  ADD ("/office/backup", test_backup);
  g_test_add_func ("/office/fault/spec", test_fault_spec);
  g_test_add_func ("/office/keys/recover", test_recover);
#undef ADD

  {
    int rc = g_test_run ();

    curl_global_cleanup ();
    return rc;
  }
}
