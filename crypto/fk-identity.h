/* fk-identity.h — Ed25519 signing identities (the device's, later the
 * office's) and X25519 sealed boxes for packets to the office. */
#pragma once

#include <glib.h>
#include <sodium.h>

#include "crypto/fk-crypto.h"

G_BEGIN_DECLS

typedef struct _FkIdentity FkIdentity;

/* A fresh Ed25519 key pair; the secret half lives in sodium_malloc memory. */
FkIdentity   *fk_identity_generate    (GError **error);
/* From a stored 64-byte libsodium secret key (seed || public key). */
FkIdentity   *fk_identity_new_from_secret (const guint8 *secret,
                                           gsize         len,
                                           GError      **error);
void          fk_identity_free        (FkIdentity *identity);

const guint8 *fk_identity_public_key  (const FkIdentity *identity);  /* 32 bytes */
/* The 64-byte secret key for storing it sealed; do not keep the pointer. */
const guint8 *fk_identity_secret_key  (const FkIdentity *identity);

/* Detached signature (crypto_sign_detached). */
void          fk_identity_sign        (const FkIdentity *identity,
                                       const guint8     *message,
                                       gsize             len,
                                       guint8            signature[crypto_sign_BYTES]);
gboolean      fk_signature_verify     (const guint8     *public_key,
                                       const guint8     *message,
                                       gsize             len,
                                       const guint8     *signature);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkIdentity, fk_identity_free)

/* ---- X25519 sealed boxes (packets to the office) -------------------------- */

/* An X25519 key pair for crypto_box_seal; the secret half in sodium_malloc
 * memory. */
typedef struct _FkBoxKey FkBoxKey;

FkBoxKey     *fk_box_key_generate     (GError **error);
FkBoxKey     *fk_box_key_new_from_secret (const guint8 *secret,
                                          gsize         len,
                                          GError      **error);
void          fk_box_key_free         (FkBoxKey *key);
const guint8 *fk_box_key_public       (const FkBoxKey *key);   /* 32 bytes */
const guint8 *fk_box_key_secret       (const FkBoxKey *key);   /* 32 bytes */

/* crypto_box_seal to a public key: anonymous sender; output is
 * len + crypto_box_SEALBYTES bytes. */
GBytes       *fk_box_seal             (const guint8 *public_key,
                                       const guint8 *message,
                                       gsize         len);
/* crypto_box_seal_open; FK_CRYPTO_ERROR_DAMAGED when it does not open.
 * The plaintext is wiped when the GBytes is freed. */
GBytes       *fk_box_seal_open        (const FkBoxKey *key,
                                       const guint8   *sealed,
                                       gsize           len,
                                       GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkBoxKey, fk_box_key_free)

/* Sealed boxes to a device, whose only key is its Ed25519 identity: the
 * key is converted to X25519 with crypto_sign_ed25519_pk_to_curve25519 (and
 * _sk_ on the device).  Used for personal data the office sends down, such
 * as a card hand-over list. */
GBytes       *fk_box_seal_to_identity (const guint8      *ed25519_public_key,
                                       const guint8      *message,
                                       gsize              len,
                                       GError           **error);
GBytes       *fk_identity_box_open    (const FkIdentity  *identity,
                                       const guint8      *sealed,
                                       gsize              len,
                                       GError           **error);

G_END_DECLS
