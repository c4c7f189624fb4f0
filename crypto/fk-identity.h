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

G_END_DECLS
