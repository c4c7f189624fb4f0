/* fk-packet.c — packet files and office envelopes; see fk-packet.h and
 * docs/PROTOCOL.md. */
#include "app/fk-packet.h"

#include <string.h>

#include "crypto/fk-i18n.h"
#include "crypto/fk-stream.h"

G_DEFINE_QUARK (fk-packet-error-quark, fk_packet_error)

/* ---- identifiers and encodings ------------------------------------------- */

static void
hash_pair (const guint8 a[32],
           const guint8 b[32],
           guint8       out[32])
{
  guint8 both[64];

  memcpy (both, a, 32);
  memcpy (both + 32, b, 32);
  fk_hash (both, sizeof both, out);
}

char *
fk_office_key_id (const guint8 sign_pk[32],
                  const guint8 box_pk[32])
{
  guint8 h[32];

  hash_pair (sign_pk, box_pk, h);
  return fk_hex_encode (h, 8);
}

char *
fk_office_fingerprint (const guint8 sign_pk[32],
                       const guint8 box_pk[32])
{
  guint8 both[64];

  memcpy (both, sign_pk, 32);
  memcpy (both + 32, box_pk, 32);
  return fk_fingerprint (both, sizeof both);
}

char *
fk_device_id (const guint8 sign_pk[32])
{
  guint8 h[32];

  fk_hash (sign_pk, 32, h);
  return fk_hex_encode (h, 16);
}

char *
fk_b64_encode (const guint8 *data,
               gsize         len)
{
  gsize out_len = sodium_base64_encoded_len (len, sodium_base64_VARIANT_ORIGINAL);
  char *out = g_malloc (out_len);

  sodium_bin2base64 (out, out_len, data, len, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

GBytes *
fk_b64_decode (const char *text,
               gsize       expect)
{
  gsize text_len, cap, bin_len = 0;
  guint8 *bin;

  if (text == NULL)
    return NULL;
  text_len = strlen (text);
  cap = text_len / 4 * 3 + 3;
  bin = g_malloc (cap);
  if (sodium_base642bin (bin, cap, text, text_len, NULL, &bin_len, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
      (expect > 0 && bin_len != expect))
    {
      g_free (bin);
      return NULL;
    }
  return g_bytes_new_take (bin, bin_len);
}

static void
put_u32 (guint8 *p,
         guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static char *
object_to_text (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_node_set_object (node, obj);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static JsonObject *
parse_object (const char  *text,
              gssize       len,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT,
                           _("The message is not valid JSON."));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* ---- envelopes ------------------------------------------------------------ */

static GBytes *
envelope_message (const char *body)
{
  static const char prefix[] = "fk-office-v1";
  gsize body_len = strlen (body);
  guint8 *m = g_malloc (sizeof prefix + body_len);

  memcpy (m, prefix, sizeof prefix);  /* includes the \0 */
  memcpy (m + sizeof prefix, body, body_len);
  return g_bytes_new_take (m, sizeof prefix + body_len);
}

char *
fk_envelope_sign (const FkIdentity *office,
                  const char       *key_id,
                  const char       *body)
{
  g_autoptr(GBytes) m = envelope_message (body);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autofree char *sig_b64 = NULL;
  guint8 sig[crypto_sign_BYTES];

  fk_identity_sign (office, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);
  sig_b64 = fk_b64_encode (sig, sizeof sig);
  json_object_set_string_member (obj, "body", body);
  json_object_set_string_member (obj, "sig", sig_b64);
  json_object_set_string_member (obj, "key_id", key_id);
  return object_to_text (obj);
}

JsonObject *
fk_envelope_open (const char    *text,
                  gsize          len,
                  const guint8   office_sign_pk[32],
                  char         **body_text,
                  GError       **error)
{
  g_autoptr(JsonObject) env = parse_object (text, (gssize) len, error);
  g_autoptr(GBytes) sig = NULL;
  g_autoptr(GBytes) m = NULL;
  const char *body;

  if (env == NULL)
    return NULL;
  body = json_object_get_string_member_with_default (env, "body", NULL);
  sig = fk_b64_decode (json_object_get_string_member_with_default (env, "sig", NULL), crypto_sign_BYTES);
  if (body == NULL || sig == NULL)
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT,
                           _("The office's answer is not a signed envelope."));
      return NULL;
    }
  m = envelope_message (body);
  if (!fk_signature_verify (office_sign_pk, g_bytes_get_data (m, NULL), g_bytes_get_size (m),
                            g_bytes_get_data (sig, NULL)))
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_SIGNATURE,
                           _("The office's answer is not signed by the office this device enrolled with; it was ignored."));
      return NULL;
    }
  if (body_text)
    *body_text = g_strdup (body);
  return parse_object (body, -1, error);
}

/* ---- packets ---------------------------------------------------------------- */

void
fk_packet_free (FkPacket *packet)
{
  if (packet == NULL)
    return;
  g_clear_pointer (&packet->bytes, g_bytes_unref);
  g_clear_pointer (&packet->manifest, json_object_unref);
  g_free (packet->manifest_text);
  g_free (packet);
}

char *
fk_packet_hash_hex (GBytes *bytes)
{
  guint8 h[32];

  fk_hash (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), h);
  return fk_hex_encode (h, 32);
}

static GBytes *
manifest_message (const char *manifest,
                  gsize       len)
{
  static const char prefix[] = "fk-manifest-v1";
  guint8 *m = g_malloc (sizeof prefix + len);

  memcpy (m, prefix, sizeof prefix);
  memcpy (m + sizeof prefix, manifest, len);
  return g_bytes_new_take (m, sizeof prefix + len);
}

GBytes *
fk_packet_build (const FkIdentity *device,
                 const char       *packet_id,
                 gint64            device_seq,
                 const guint8      office_box_pk[32],
                 const char       *office_key_id,
                 JsonObject       *manifest,
                 const char       *case_json,
                 GPtrArray        *attachments,
                 GError          **error)
{
  g_autoptr(FkSecret) key = fk_secret_new_random ();
  g_autoptr(GByteArray) plain = g_byte_array_new ();
  g_autoptr(GBytes) plain_bytes = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) sealed_key = NULL;
  g_autoptr(GBytes) m = NULL;
  g_autofree char *sealed_b64 = NULL;
  g_autofree char *payload_hash = NULL;
  g_autofree char *device_id = fk_device_id (fk_identity_public_key (device));
  g_autofree char *text = NULL;
  guint8 len4[4];
  guint8 sig[crypto_sign_BYTES];
  GByteArray *out;
  gsize text_len;
  guint8 h[32];

  /* Plaintext: u32 length, case JSON, attachment bytes. */
  put_u32 (len4, (guint32) strlen (case_json));
  g_byte_array_append (plain, len4, 4);
  g_byte_array_append (plain, (const guint8 *) case_json, strlen (case_json));
  for (guint i = 0; attachments && i < attachments->len; i++)
    {
      GBytes *a = attachments->pdata[i];

      g_byte_array_append (plain, g_bytes_get_data (a, NULL), g_bytes_get_size (a));
    }
  plain_bytes = g_bytes_new (plain->data, plain->len);
  sodium_memzero (plain->data, plain->len);
  payload = fk_stream_encrypt_bytes (key, plain_bytes, error);
  if (payload == NULL)
    return NULL;

  sealed_key = fk_box_seal (office_box_pk, fk_secret_bytes (key), fk_secret_len (key));
  sealed_b64 = fk_b64_encode (g_bytes_get_data (sealed_key, NULL), g_bytes_get_size (sealed_key));
  fk_hash (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), h);
  payload_hash = fk_hex_encode (h, 32);

  json_object_set_int_member (manifest, "v", 1);
  json_object_set_string_member (manifest, "packet_id", packet_id);
  json_object_set_string_member (manifest, "device_id", device_id);
  json_object_set_int_member (manifest, "device_seq", device_seq);
  json_object_set_string_member (manifest, "office_key_id", office_key_id);
  json_object_set_string_member (manifest, "sealed_key", sealed_b64);
  json_object_set_int_member (manifest, "payload_size", (gint64) g_bytes_get_size (payload));
  json_object_set_string_member (manifest, "payload_hash", payload_hash);
  text = object_to_text (manifest);
  text_len = strlen (text);
  if (text_len > FK_PACKET_MAX_MANIFEST)
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT, "manifest too large");
      return NULL;
    }
  m = manifest_message (text, text_len);
  fk_identity_sign (device, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);

  out = g_byte_array_sized_new ((guint) (72 + text_len + g_bytes_get_size (payload)));
  g_byte_array_append (out, (const guint8 *) "FKP1", 4);
  put_u32 (len4, (guint32) text_len);
  g_byte_array_append (out, len4, 4);
  g_byte_array_append (out, (const guint8 *) text, (guint) text_len);
  g_byte_array_append (out, sig, sizeof sig);
  g_byte_array_append (out, g_bytes_get_data (payload, NULL), (guint) g_bytes_get_size (payload));
  return g_byte_array_free_to_bytes (out);
}

FkPacket *
fk_packet_parse (GBytes  *bytes,
                 GError **error)
{
  g_autoptr(FkPacket) p = g_new0 (FkPacket, 1);
  const guint8 *data;
  gsize len;
  guint32 mlen;

  data = g_bytes_get_data (bytes, &len);
  if (len < 8 || memcmp (data, "FKP1", 4) != 0)
    goto bad;
  mlen = get_u32 (data + 4);
  if (mlen < 2 || mlen > FK_PACKET_MAX_MANIFEST || len < 72 + (gsize) mlen)
    goto bad;
  p->bytes = g_bytes_ref (bytes);
  p->manifest_text = g_strndup ((const char *) data + 8, mlen);
  if (strlen (p->manifest_text) != mlen)
    goto bad;
  p->manifest = parse_object (p->manifest_text, mlen, NULL);
  if (p->manifest == NULL || json_object_get_int_member_with_default (p->manifest, "v", 0) != 1)
    goto bad;
  p->packet_id = json_object_get_string_member_with_default (p->manifest, "packet_id", NULL);
  p->device_id = json_object_get_string_member_with_default (p->manifest, "device_id", NULL);
  p->device_seq = json_object_get_int_member_with_default (p->manifest, "device_seq", 0);
  p->case_uuid = json_object_get_string_member_with_default (p->manifest, "case_uuid", NULL);
  p->office_key_id = json_object_get_string_member_with_default (p->manifest, "office_key_id", NULL);
  p->payload_offset = 72 + mlen;
  p->payload_size = len - p->payload_offset;
  if (p->packet_id == NULL || p->device_id == NULL || p->office_key_id == NULL)
    goto bad;
  return g_steal_pointer (&p);

bad:
  g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT,
                       _("This is not a FieldKit packet, or its manifest is malformed."));
  return NULL;
}

gboolean
fk_packet_verify (const FkPacket  *p,
                  const guint8     device_sign_pk[32],
                  const char      *office_key_id,
                  GError         **error)
{
  const guint8 *data = g_bytes_get_data (p->bytes, NULL);
  gsize mlen = p->payload_offset - 72;
  g_autoptr(GBytes) m = manifest_message ((const char *) data + 8, mlen);
  g_autofree char *hash = NULL;
  guint8 h[32];

  if (!fk_signature_verify (device_sign_pk, g_bytes_get_data (m, NULL), g_bytes_get_size (m), data + 8 + mlen))
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_SIGNATURE,
                           _("The packet's signature is not the device's: it was altered or forged."));
      return FALSE;
    }
  if (g_strcmp0 (p->office_key_id, office_key_id) != 0)
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_KEY,
                           _("The packet was sealed for another office key."));
      return FALSE;
    }
  fk_hash (data + p->payload_offset, p->payload_size, h);
  hash = fk_hex_encode (h, 32);
  if ((gint64) p->payload_size != json_object_get_int_member_with_default (p->manifest, "payload_size", -1) ||
      g_strcmp0 (hash, json_object_get_string_member_with_default (p->manifest, "payload_hash", "")) != 0)
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_HASH,
                           _("The packet's content does not match its signed manifest: it was truncated or altered."));
      return FALSE;
    }
  return TRUE;
}

gboolean
fk_packet_open (const FkPacket  *p,
                const FkBoxKey  *office_box,
                char           **case_json,
                GPtrArray      **attachments,
                GError         **error)
{
  g_autoptr(GBytes) sealed = fk_b64_decode (json_object_get_string_member_with_default (p->manifest, "sealed_key", NULL), 0);
  g_autoptr(GBytes) key = NULL;
  g_autoptr(FkSecret) secret = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(GPtrArray) out = NULL;
  const guint8 *data;
  gsize len, pos;
  guint32 jlen;
  JsonArray *list;

  if (sealed == NULL)
    {
      g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT, "sealed_key is missing");
      return FALSE;
    }
  key = fk_box_seal_open (office_box, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), error);
  if (key == NULL)
    return FALSE;
  secret = fk_secret_new_from (g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  payload = g_bytes_new_from_bytes (p->bytes, p->payload_offset, p->payload_size);
  plain = fk_stream_decrypt_bytes (secret, payload, error);
  if (plain == NULL)
    return FALSE;
  data = g_bytes_get_data (plain, &len);
  if (len < 4 || (jlen = get_u32 (data)) > len - 4)
    goto bad;
  doc = parse_object ((const char *) data + 4, jlen, NULL);
  if (doc == NULL || !json_object_has_member (doc, "attachments"))
    goto bad;
  list = json_object_get_array_member (doc, "attachments");
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  pos = 4 + jlen;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *a = json_array_get_object_element (list, i);
      gint64 size = json_object_get_int_member_with_default (a, "size", -1);

      if (size < 0 || (gsize) size > len - pos)
        goto bad;
      g_ptr_array_add (out, g_bytes_new_from_bytes (plain, pos, (gsize) size));
      pos += (gsize) size;
    }
  if (pos != len)
    goto bad;
  *case_json = g_strndup ((const char *) data + 4, jlen);
  if (attachments)
    *attachments = g_steal_pointer (&out);
  return TRUE;

bad:
  g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT,
                       _("The packet opened but its content is malformed."));
  return FALSE;
}

/* ---- request authentication ------------------------------------------------- */

GBytes *
fk_request_message (const char   *method,
                    const char   *path_and_query,
                    const char   *time_text,
                    const char   *nonce_hex,
                    const guint8 *body,
                    gsize         body_len)
{
  g_autofree char *body_hex = NULL;
  guint8 h[32];

  fk_hash (body ? body : (const guint8 *) "", body ? body_len : 0, h);
  body_hex = fk_hex_encode (h, 32);
  return fk_request_message_hex (method, path_and_query, time_text, nonce_hex, body_hex);
}

GBytes *
fk_request_message_hex (const char *method,
                        const char *path_and_query,
                        const char *time_text,
                        const char *nonce_hex,
                        const char *body_hash_hex)
{
  char *m = g_strdup_printf ("fk-req-v1\n%s\n%s\n%s\n%s\n%s", method, path_and_query, time_text, nonce_hex,
                             body_hash_hex);

  return g_bytes_new_take (m, strlen (m));
}

/* ---- enrolment --------------------------------------------------------------- */

char *
fk_invite_code_normalize (const char *typed)
{
  GString *s = g_string_new (NULL);

  for (const char *p = typed ? typed : ""; *p; p++)
    {
      char c = g_ascii_toupper (*p);

      if (c == '-' || c == ' ')
        continue;
      if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
        {
          g_string_free (s, TRUE);
          return NULL;
        }
      g_string_append_c (s, c);
    }
  if (s->len != 20)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  return g_string_free (s, FALSE);
}

char *
fk_invite_id (const char *code)
{
  g_autofree char *m = g_strconcat ("fk-invite-id", code, NULL);
  guint8 h[32];

  fk_hash ((const guint8 *) m, strlen (m), h);
  return fk_hex_encode (h, 8);
}

void
fk_invite_proof (const char   *code,
                 const guint8  device_sign_pk[32],
                 guint8        out[32])
{
  g_autofree char *m = g_strconcat ("fk-invite-key", code, NULL);
  guint8 k[32];

  fk_hash ((const guint8 *) m, strlen (m), k);
  crypto_generichash (out, 32, device_sign_pk, 32, k, sizeof k);
  sodium_memzero (k, sizeof k);
}
