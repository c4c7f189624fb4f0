/* fk-identity.c — Ed25519 signing identities, see fk-identity.h. */
#include "crypto/fk-identity.h"

#include <string.h>

#include "crypto/fk-i18n.h"

/* ------------------------------------------------------------------------ *
 * Types
 * ------------------------------------------------------------------------ */

struct _FkIdentity
{
  guint8  public_key[crypto_sign_PUBLICKEYBYTES];
  /* crypto_sign_SECRETKEYBYTES of sodium_malloc memory.  It is kept
   * read-only rather than no-access because fk_identity_secret_key hands
   * out the pointer for the caller to seal and store; read-only still turns
   * a stray write into a crash instead of a silently different key. */
  guint8 *secret_key;
};

/* ------------------------------------------------------------------------ *
 * Helpers
 * ------------------------------------------------------------------------ */

/* An identity with a writable secret area; fill it, then identity_finish. */
static FkIdentity *
identity_alloc (GError **error)
{
  FkIdentity *identity;
  guint8 *secret_key;

  if (!fk_crypto_init (error))
    return NULL;

  secret_key = sodium_malloc (crypto_sign_SECRETKEYBYTES);
  if (secret_key == NULL)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("There is not enough memory to load the device key. "
                                 "Close other apps and try again."));
      return NULL;
    }

  identity = g_new0 (FkIdentity, 1);
  identity->secret_key = secret_key;
  return identity;
}

static void
identity_finish (FkIdentity *identity)
{
  /* Failing to change page protection means the kernel is out of memory
   * for its own bookkeeping; see protect_readonly in fk-vault.c. */
  if (sodium_mprotect_readonly (identity->secret_key) != 0)
    g_error ("sodium_mprotect_readonly failed on the identity key");
}

/* ------------------------------------------------------------------------ *
 * Public API
 * ------------------------------------------------------------------------ */

FkIdentity *
fk_identity_generate (GError **error)
{
  FkIdentity *identity;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  identity = identity_alloc (error);
  if (identity == NULL)
    return NULL;

  crypto_sign_keypair (identity->public_key, identity->secret_key);
  identity_finish (identity);
  return identity;
}

FkIdentity *
fk_identity_new_from_secret (const guint8  *secret,
                             gsize          len,
                             GError       **error)
{
  g_autoptr(FkIdentity) identity = NULL;

  g_return_val_if_fail (secret != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len != crypto_sign_SECRETKEYBYTES)
    {
      g_set_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                   _("The stored device key has the wrong size (%" "zu" " bytes); it is damaged. "
                         "The device has to be enrolled again; contact the office administrator."),
                   len);
      return NULL;
    }

  identity = identity_alloc (error);
  if (identity == NULL)
    return NULL;

  /* The stored key is seed || public key.  Rebuilding both halves from the
   * seed and comparing catches a damaged key now, instead of as signatures
   * the office rejects later. */
  crypto_sign_seed_keypair (identity->public_key, identity->secret_key, secret);
  if (!fk_equal (identity->public_key, secret + crypto_sign_SEEDBYTES,
                 crypto_sign_PUBLICKEYBYTES))
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED,
                           _("The stored device key does not verify: it has been damaged or altered. "
                                 "The device has to be enrolled again; contact the office administrator."));
      return NULL;
    }

  identity_finish (identity);
  return g_steal_pointer (&identity);
}

void
fk_identity_free (FkIdentity *identity)
{
  if (identity == NULL)
    return;

  /* sodium_free lifts the protection, wipes and unmaps. */
  sodium_free (identity->secret_key);
  g_free (identity);
}

const guint8 *
fk_identity_public_key (const FkIdentity *identity)
{
  g_return_val_if_fail (identity != NULL, NULL);

  return identity->public_key;
}

const guint8 *
fk_identity_secret_key (const FkIdentity *identity)
{
  g_return_val_if_fail (identity != NULL, NULL);

  return identity->secret_key;
}

void
fk_identity_sign (const FkIdentity *identity,
                  const guint8     *message,
                  gsize             len,
                  guint8            signature[crypto_sign_BYTES])
{
  g_return_if_fail (identity != NULL);
  g_return_if_fail (message != NULL || len == 0);
  g_return_if_fail (signature != NULL);

  crypto_sign_detached (signature, NULL,
                        message != NULL ? message : (const guint8 *) "", len,
                        identity->secret_key);
}

gboolean
fk_signature_verify (const guint8 *public_key,
                     const guint8 *message,
                     gsize         len,
                     const guint8 *signature)
{
  g_return_val_if_fail (public_key != NULL, FALSE);
  g_return_val_if_fail (message != NULL || len == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);

  return crypto_sign_verify_detached (signature,
                                      message != NULL ? message : (const guint8 *) "", len,
                                      public_key) == 0;
}

/* ---- X25519 sealed boxes -------------------------------------------------- */

struct _FkBoxKey
{
  guint8  public_key[crypto_box_PUBLICKEYBYTES];
  guint8 *secret_key;   /* sodium_malloc, read-only after creation */
};

static FkBoxKey *
box_key_alloc (GError **error)
{
  FkBoxKey *key;

  if (!fk_crypto_init (error))
    return NULL;
  key = g_new0 (FkBoxKey, 1);
  key->secret_key = sodium_malloc (crypto_box_SECRETKEYBYTES);
  if (key->secret_key == NULL)
    {
      g_free (key);
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("Out of protected memory for a key."));
      return NULL;
    }
  return key;
}

FkBoxKey *
fk_box_key_generate (GError **error)
{
  FkBoxKey *key = box_key_alloc (error);

  if (key == NULL)
    return NULL;
  crypto_box_keypair (key->public_key, key->secret_key);
  sodium_mprotect_readonly (key->secret_key);
  return key;
}

FkBoxKey *
fk_box_key_new_from_secret (const guint8  *secret,
                            gsize          len,
                            GError       **error)
{
  FkBoxKey *key;

  if (len != crypto_box_SECRETKEYBYTES)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                           _("A stored box key has the wrong length."));
      return NULL;
    }
  key = box_key_alloc (error);
  if (key == NULL)
    return NULL;
  memcpy (key->secret_key, secret, len);
  crypto_scalarmult_base (key->public_key, key->secret_key);
  sodium_mprotect_readonly (key->secret_key);
  return key;
}

void
fk_box_key_free (FkBoxKey *key)
{
  if (key == NULL)
    return;
  sodium_free (key->secret_key);
  g_free (key);
}

const guint8 *
fk_box_key_public (const FkBoxKey *key)
{
  return key->public_key;
}

const guint8 *
fk_box_key_secret (const FkBoxKey *key)
{
  return key->secret_key;
}

GBytes *
fk_box_seal (const guint8 *public_key,
             const guint8 *message,
             gsize         len)
{
  guint8 *out = g_malloc (len + crypto_box_SEALBYTES);

  crypto_box_seal (out, message, len, public_key);
  return g_bytes_new_take (out, len + crypto_box_SEALBYTES);
}

GBytes *
fk_box_seal_open (const FkBoxKey  *key,
                  const guint8    *sealed,
                  gsize            len,
                  GError         **error)
{
  guint8 *out;

  if (len < crypto_box_SEALBYTES)
    goto damaged;
  out = g_malloc (len - crypto_box_SEALBYTES + 1);
  if (crypto_box_seal_open (out, sealed, len, key->public_key, key->secret_key) != 0)
    {
      g_free (out);
      goto damaged;
    }
  return fk_bytes_new_wiped (out, len - crypto_box_SEALBYTES);

damaged:
  g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED,
                       _("The sealed key does not open with this office key: it was made for another key or altered."));
  return NULL;
}

/* ---- sealed boxes to an Ed25519 identity ----------------------------------- */

GBytes *
fk_box_seal_to_identity (const guint8  *ed25519_public_key,
                         const guint8  *message,
                         gsize          len,
                         GError       **error)
{
  guint8 x25519[crypto_box_PUBLICKEYBYTES];

  if (crypto_sign_ed25519_pk_to_curve25519 (x25519, ed25519_public_key) != 0)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                           _("The device's public key is not usable for encryption."));
      return NULL;
    }
  return fk_box_seal (x25519, message, len);
}

GBytes *
fk_identity_box_open (const FkIdentity  *identity,
                      const guint8      *sealed,
                      gsize              len,
                      GError           **error)
{
  guint8 *x_sk = sodium_malloc (crypto_box_SECRETKEYBYTES);
  guint8 x_pk[crypto_box_PUBLICKEYBYTES];
  guint8 *out = NULL;
  gboolean ok;

  if (x_sk == NULL)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("Out of protected memory for a key."));
      return NULL;
    }
  ok = len >= crypto_box_SEALBYTES &&
       crypto_sign_ed25519_sk_to_curve25519 (x_sk, fk_identity_secret_key (identity)) == 0 &&
       crypto_sign_ed25519_pk_to_curve25519 (x_pk, fk_identity_public_key (identity)) == 0;
  if (ok)
    {
      out = g_malloc (len - crypto_box_SEALBYTES + 1);
      ok = crypto_box_seal_open (out, sealed, len, x_pk, x_sk) == 0;
    }
  sodium_free (x_sk);
  if (!ok)
    {
      g_free (out);
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED,
                           _("The sealed data is not for this device, or it was altered."));
      return NULL;
    }
  return fk_bytes_new_wiped (out, len - crypto_box_SEALBYTES);
}
