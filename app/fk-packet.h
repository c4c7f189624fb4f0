/* fk-packet.h — the sealed, signed packet file and office-signed envelopes
 * of docs/PROTOCOL.md (§2, §4).  Pure format and crypto: no SQL, no network.
 * Both the device (building) and the office (verifying, opening) use it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto/fk-identity.h"

G_BEGIN_DECLS

#define FK_PACKET_ERROR (fk_packet_error_quark ())

typedef enum {
  FK_PACKET_ERROR_FORMAT,     /* not a packet / envelope, or malformed */
  FK_PACKET_ERROR_SIGNATURE,  /* a signature does not verify */
  FK_PACKET_ERROR_HASH,       /* payload size or hash mismatch */
  FK_PACKET_ERROR_KEY,        /* made for another office key */
} FkPacketError;

GQuark    fk_packet_error_quark (void);

#define FK_PACKET_MAX_MANIFEST 65536

/* Identifiers of §1. */
char     *fk_office_key_id      (const guint8 sign_pk[32],
                                 const guint8 box_pk[32]);
char     *fk_office_fingerprint (const guint8 sign_pk[32],
                                 const guint8 box_pk[32]);
char     *fk_device_id          (const guint8 sign_pk[32]);

char     *fk_b64_encode         (const guint8 *data,
                                 gsize         len);
/* NULL unless valid base64 (of exactly `expect` bytes when expect > 0). */
GBytes   *fk_b64_decode         (const char   *text,
                                 gsize         expect);

/* ---- envelopes (§2) ------------------------------------------------------ */

/* Returns {"body":…, "sig":…, "key_id":…} as JSON text. */
char     *fk_envelope_sign      (const FkIdentity *office,
                                 const char       *key_id,
                                 const char       *body);
/* Verifies and returns the parsed body object (a new reference). */
JsonObject *fk_envelope_open    (const char       *text,
                                 gsize             len,
                                 const guint8      office_sign_pk[32],
                                 char            **body_text,
                                 GError          **error);

/* ---- request authentication (§3.3) ---------------------------------------- */

/* M = "fk-req-v1\n" METHOD "\n" PATH_AND_QUERY "\n" TIME "\n" NONCE "\n" hex(H(body)) */
GBytes   *fk_request_message    (const char   *method,
                                 const char   *path_and_query,
                                 const char   *time_text,
                                 const char   *nonce_hex,
                                 const guint8 *body,
                                 gsize         body_len);
/* The same M with hex(H(body)) given (the FK-Content-Hash header): a packet
 * sent whole has the hash its outbox row keeps. */
GBytes   *fk_request_message_hex (const char  *method,
                                  const char  *path_and_query,
                                  const char  *time_text,
                                  const char  *nonce_hex,
                                  const char  *body_hash_hex);

/* ---- enrolment (§3.2) ------------------------------------------------------- */

/* Canonical code: upper-case, dashes and spaces removed; NULL if it is not
 * 20 base32 characters. */
char     *fk_invite_code_normalize (const char *typed);
char     *fk_invite_id          (const char   *canonical_code);
/* proof = H_k(device_sign_pk), k = H("fk-invite-key" || code) */
void      fk_invite_proof       (const char   *canonical_code,
                                 const guint8  device_sign_pk[32],
                                 guint8        out[32]);

/* ---- packets (§4) -------------------------------------------------------- */

typedef struct {
  GBytes      *bytes;        /* the whole file */
  JsonObject  *manifest;     /* parsed */
  char        *manifest_text;
  const char  *packet_id;    /* borrowed from manifest */
  const char  *device_id;
  gint64       device_seq;
  const char  *case_uuid;
  const char  *office_key_id;
  gsize        payload_offset;
  gsize        payload_size;
} FkPacket;

void      fk_packet_free        (FkPacket *packet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkPacket, fk_packet_free)

/* Builds a packet.  `manifest` holds the case metadata members of §4.2
 * (type, case_uuid, case_version, supersedes, receipt_no, service,
 * outing_kind, sealed_at); this adds v, packet_id, device_id, device_seq,
 * office_key_id, sealed_key, payload_size, payload_hash.  The plaintext is
 * `case_json` followed by the attachments (GBytes*) and is encrypted with a
 * fresh key that only the office box key can open. */
GBytes   *fk_packet_build       (const FkIdentity *device,
                                 const char       *packet_id,
                                 gint64            device_seq,
                                 const guint8      office_box_pk[32],
                                 const char       *office_key_id,
                                 JsonObject       *manifest,
                                 const char       *case_json,
                                 GPtrArray        *attachments,
                                 GError          **error);

/* Checks the framing and parses the manifest (§4.3 steps 1–2). */
FkPacket *fk_packet_parse       (GBytes           *bytes,
                                 GError          **error);
/* §4.3 steps 4–6 (the caller checks the device). */
gboolean  fk_packet_verify      (const FkPacket   *packet,
                                 const guint8      device_sign_pk[32],
                                 const char       *office_key_id,
                                 GError          **error);
/* §4.4: the case JSON text and the attachments (GBytes*, wiped on free). */
gboolean  fk_packet_open        (const FkPacket   *packet,
                                 const FkBoxKey   *office_box,
                                 char            **case_json,
                                 GPtrArray       **attachments,
                                 GError          **error);
/* hex(H(packet file)) */
char     *fk_packet_hash_hex    (GBytes           *bytes);

G_END_DECLS
