/* fk-vault.h — the device data key (DK), its keyslots, record encryption and
 * the blind index.  See DESIGN.md §5 and docs/SECURITY.md.
 *
 * DK is 32 random bytes in sodium_malloc memory.  Between operations the page
 * is sodium_mprotect_noaccess; each operation opens it read-only for the
 * duration of the call.  fk_vault_free wipes it (that is "lock").
 *
 * Subkeys are derived from DK with crypto_kdf_derive_from_key:
 *   subkey id 1, context "FKrecord": record AEAD key
 *   subkey id 2, context "FKblind_": blind index key
 * Both are derived once, when the vault is made or opened, and kept in the
 * same protected allocation as DK (see fk-vault.c).
 */
#pragma once

#include <glib.h>
#include <sodium.h>

#include "crypto/fk-crypto.h"

G_BEGIN_DECLS

typedef struct _FkVault FkVault;

/* ---- keyslots ---------------------------------------------------------- */

/* A keyslot wraps DK under a key derived from a passphrase with Argon2id
 * (crypto_pwhash, ALG_ARGON2ID13).  Salt and limits are stored per slot, so
 * a slot made with other limits still opens. */
#define FK_KEYSLOT_VERSION   1
#define FK_KEYSLOT_BYTES     (1 + crypto_pwhash_SALTBYTES + 8 + 8 + \
                              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
                              32 + crypto_aead_xchacha20poly1305_ietf_ABYTES)

typedef struct {
  guint8  salt[crypto_pwhash_SALTBYTES];
  guint64 opslimit;
  guint64 memlimit;
  guint8  nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  guint8  wrapped[32 + crypto_aead_xchacha20poly1305_ietf_ABYTES];
} FkKeyslot;

typedef enum {
  FK_KDF_STRENGTH_OPERATOR,  /* tuned for ~0.5–1 s unlock on the target machine */
  FK_KDF_STRENGTH_RECOVERY,  /* the recovery key already has 256 bits: minimum limits */
  FK_KDF_STRENGTH_TEST,      /* libsodium's minimum limits; only when FIELDKIT_KDF=test */
} FkKdfStrength;

/* Limits for a strength.  FK_KDF_STRENGTH_OPERATOR honours the environment
 * variable FIELDKIT_KDF=test (minimum limits, for the test suite only; the
 * chosen limits are stored in the slot, so this never weakens a slot made
 * without it). */
void      fk_kdf_limits            (FkKdfStrength  strength,
                                    guint64       *opslimit,
                                    guint64       *memlimit);

/* Serialized form: version byte, salt, opslimit (u64 BE), memlimit (u64 BE),
 * nonce, wrapped.  Exactly FK_KEYSLOT_BYTES. */
GBytes   *fk_keyslot_to_bytes      (const FkKeyslot *slot);
gboolean  fk_keyslot_from_bytes    (GBytes          *bytes,
                                    FkKeyslot       *slot,
                                    GError         **error);

/* ---- the vault --------------------------------------------------------- */

/* A new vault with a fresh random DK. */
FkVault  *fk_vault_new             (GError       **error);

/* Wraps DK under passphrase into *slot.  The AEAD associated data is
 * "fieldkit-keyslot-v1" so a slot cannot be mistaken for a record. */
gboolean  fk_vault_add_keyslot     (FkVault       *vault,
                                    const char    *passphrase,
                                    gsize          passphrase_len,
                                    guint64        opslimit,
                                    guint64        memlimit,
                                    FkKeyslot     *slot,
                                    GError       **error);

/* Opens a slot.  A wrong passphrase gives FK_CRYPTO_ERROR_WRONG_PASSPHRASE. */
FkVault  *fk_vault_open            (const FkKeyslot *slot,
                                    const char      *passphrase,
                                    gsize            passphrase_len,
                                    GError         **error);

/* Keeps the key area read-only across many operations (one transaction of
 * the store, or a batch) instead of opening and closing the page protection
 * for each: every mprotect flushes the TLB of every CPU, which cost more
 * than the encryption itself.  Calls nest; pair each with fk_vault_unhold.
 * The area is still never writable, and goes back to no-access at the
 * outermost unhold. */
void      fk_vault_hold            (FkVault       *vault);
void      fk_vault_unhold          (FkVault       *vault);

/* Wipes DK and frees the vault.  NULL is fine. */
void      fk_vault_free            (FkVault       *vault);

/* ---- recovery key ------------------------------------------------------ */

/* A recovery key: 32 random bytes plus a 2-byte BLAKE2b check, written as
 * RFC 4648 base32 (no padding) in groups of four separated by '-'
 * (14 groups).  The string is what the clerk writes down; pass it (or
 * what they type back, in any case, with or without dashes and spaces) to
 * fk_recovery_key_normalize to get the canonical form used as the slot's
 * passphrase.  Free with g_free after sodium_memzero (or use
 * fk_recovery_key_free). */
char     *fk_recovery_key_generate (void);
char     *fk_recovery_key_normalize(const char    *typed,
                                    GError       **error);
void      fk_recovery_key_free     (char          *key);

/* ---- records ----------------------------------------------------------- */

/* Encrypts one field with XChaCha20-Poly1305-IETF under the record subkey,
 * random 24-byte nonce.  Associated data binds it to its place:
 *   "fk1\0" table "\0" row_key "\0" column "\0" version (u64 BE)
 * Output: 0x01 || nonce || ciphertext+tag. */
GBytes   *fk_vault_seal_record     (FkVault       *vault,
                                    const char    *table,
                                    const char    *row_key,
                                    const char    *column,
                                    guint64        version,
                                    const guint8  *plain,
                                    gsize          plain_len,
                                    GError       **error);

/* Opens a record sealed with the same table/row_key/column/version.  Any
 * change to the blob or to its place gives FK_CRYPTO_ERROR_DAMAGED.  The
 * plaintext is wiped when the GBytes is freed. */
GBytes   *fk_vault_open_record     (FkVault       *vault,
                                    const char    *table,
                                    const char    *row_key,
                                    const char    *column,
                                    guint64        version,
                                    const guint8  *blob,
                                    gsize          blob_len,
                                    GError       **error);

/* ---- blind index ------------------------------------------------------- */

/* Keyed BLAKE2b-256 (crypto_generichash with the blind subkey) of an already
 * normalized value, e.g. an upper-case national ID number. */
void      fk_vault_blind_index     (FkVault       *vault,
                                    const char    *normalized,
                                    guint8         out[32]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkVault, fk_vault_free)

G_END_DECLS
