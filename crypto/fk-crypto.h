/* fk-crypto.h — the crypto/ layer: error domain, start-up, small helpers.
 *
 * crypto/ wraps libsodium's high-level calls and nothing else.  It knows no
 * SQL, no network and no widget.  Every libsodium failure becomes a GError in
 * FK_CRYPTO_ERROR with words a clerk can act on.
 */
#pragma once

#include <glib.h>
#include <sodium.h>

G_BEGIN_DECLS

#define FK_CRYPTO_ERROR (fk_crypto_error_quark ())

typedef enum {
  FK_CRYPTO_ERROR_FAILED,           /* libsodium itself failed (out of memory, no randomness) */
  FK_CRYPTO_ERROR_WRONG_PASSPHRASE, /* the passphrase or recovery key does not open the slot */
  FK_CRYPTO_ERROR_DAMAGED,          /* ciphertext, tag or framing does not verify */
  FK_CRYPTO_ERROR_LOCKED,           /* the vault is locked */
  FK_CRYPTO_ERROR_INVALID,          /* malformed input (a recovery key with a typo, a short blob) */
} FkCryptoError;

GQuark   fk_crypto_error_quark (void);

/* sodium_init(), and core dumps off for this process (RLIMIT_CORE 0 and
 * PR_SET_DUMPABLE 0) so key material never reaches a crash dump.  Safe to
 * call more than once. */
gboolean fk_crypto_init        (GError **error);

/* BLAKE2b-256 of data. */
void     fk_hash               (const guint8 *data,
                                gsize         len,
                                guint8        out[32]);

/* Lower-case hex; free with g_free. */
char    *fk_hex_encode         (const guint8 *data,
                                gsize         len);
/* Returns FALSE unless hex decodes to exactly out_len bytes. */
gboolean fk_hex_decode         (const char   *hex,
                                guint8       *out,
                                gsize         out_len);

/* Human-comparable fingerprint of a public key: the first 16 bytes of its
 * BLAKE2b-256 as upper-case hex in groups of four, "ABCD-1234-…" (8 groups). */
char    *fk_fingerprint        (const guint8 *public_key,
                                gsize         len);

/* Constant-time comparison. */
gboolean fk_equal              (const guint8 *a,
                                const guint8 *b,
                                gsize         len);

/* A 32-byte secret in sodium_malloc memory (guard pages, mlock'd); wiped and
 * freed by fk_secret_free.  Used for per-attachment and per-packet keys. */
typedef struct _FkSecret FkSecret;

FkSecret     *fk_secret_new_random (void);
FkSecret     *fk_secret_new_from   (const guint8 *bytes,
                                    gsize         len);
const guint8 *fk_secret_bytes      (const FkSecret *secret);
gsize         fk_secret_len        (const FkSecret *secret);
void          fk_secret_free       (FkSecret *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkSecret, fk_secret_free)

/* Wipes a NUL-terminated string that held personal data or a passphrase
 * (sodium_memzero over its bytes) and frees it with g_free.  NULL is
 * allowed, and the signature is a GDestroyNotify's, so it serves as the
 * free function of a GHashTable or GPtrArray of such strings and with
 * g_clear_pointer. */
void          fk_wipe_free         (gpointer string);

/* Plaintext returned from decryption lives in a GBytes whose free function
 * wipes it with sodium_memzero before releasing it. */
GBytes       *fk_bytes_new_wiped   (guint8 *data_take,
                                    gsize   len);

G_END_DECLS
