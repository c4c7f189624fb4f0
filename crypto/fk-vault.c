/* fk-vault.c — the device data key, keyslots, records, blind index and the
 * recovery key, see fk-vault.h and DESIGN.md §5.
 */
#include "crypto/fk-vault.h"

#include <string.h>

#include "crypto/fk-i18n.h"

/* ------------------------------------------------------------------------ *
 * Types and constants
 * ------------------------------------------------------------------------ */

/* Argon2id limits for an operator's passphrase.  Measured on the target
 * class of machine (2 cores): opslimit 3 with 256 MiB takes about 0.7 s
 * (median of 15 runs 0.68–0.72 s), inside the 0.5–1 s budget with room for
 * a busy tablet.  Memory is the expensive part for an attacker, so it was
 * kept at 256 MiB rather than trading it for more passes. */
#define FK_KDF_OPERATOR_OPSLIMIT  3
#define FK_KDF_OPERATOR_MEMLIMIT  (256 * 1024 * 1024)

/* Libsodium's own maxima (4 TiB of memory, 2^32 passes) would let a slot
 * that was altered on disk hang or exhaust the device before the AEAD tag
 * could say it is wrong.  These ceilings are far above anything
 * fk_kdf_limits hands out and still refuse such slots up front. */
#define FK_KDF_OPSLIMIT_CEILING   16
#define FK_KDF_MEMLIMIT_CEILING   (G_GUINT64_CONSTANT (2) * 1024 * 1024 * 1024)

#define KEYSLOT_AD                "fieldkit-keyslot-v1"

#define KEY_BYTES                 32
#define RECORD_FORMAT             0x01
#define RECORD_NONCE_BYTES        crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define RECORD_TAG_BYTES          crypto_aead_xchacha20poly1305_ietf_ABYTES
#define RECORD_OVERHEAD           (1 + RECORD_NONCE_BYTES + RECORD_TAG_BYTES)

/* The vault's key area is a single sodium_malloc allocation holding DK and
 * both subkeys.  The subkeys are derived once, when the vault is made, so
 * they get exactly the same protection as DK (guard pages, mlock, no
 * access between operations, wiped by sodium_free) and no operation needs a
 * temporary allocation of its own. */
enum
{
  KEY_AREA_DK     = 0,
  KEY_AREA_RECORD = KEY_BYTES,
  KEY_AREA_BLIND  = 2 * KEY_BYTES,
  KEY_AREA_BYTES  = 3 * KEY_BYTES,
};

#define SUBKEY_RECORD_ID   1
#define SUBKEY_RECORD_CTX  "FKrecord"
#define SUBKEY_BLIND_ID    2
#define SUBKEY_BLIND_CTX   "FKblind_"

/* Recovery key: 32 random bytes and 2 check bytes, 34 bytes in base32 are
 * 55 characters, written in groups of four. */
#define RECOVERY_SECRET_BYTES  32
#define RECOVERY_CHECK_BYTES   2
#define RECOVERY_BYTES         (RECOVERY_SECRET_BYTES + RECOVERY_CHECK_BYTES)
#define RECOVERY_CHARS         55
#define RECOVERY_GROUP         4
#define RECOVERY_GROUPED_CHARS (RECOVERY_CHARS + (RECOVERY_CHARS - 1) / RECOVERY_GROUP)

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

G_STATIC_ASSERT (FK_KEYSLOT_BYTES == 1 + 16 + 8 + 8 + 24 + 48);
G_STATIC_ASSERT (sizeof (SUBKEY_RECORD_CTX) - 1 == crypto_kdf_CONTEXTBYTES);
G_STATIC_ASSERT (sizeof (SUBKEY_BLIND_CTX) - 1 == crypto_kdf_CONTEXTBYTES);
G_STATIC_ASSERT (KEY_BYTES == crypto_kdf_KEYBYTES);
G_STATIC_ASSERT (KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
G_STATIC_ASSERT ((RECOVERY_BYTES * 8 + 4) / 5 == RECOVERY_CHARS);

struct _FkVault
{
  /* Serialises the read-only window: two threads opening and closing the
   * page protection independently would leave one of them reading a page
   * the other has just made inaccessible. */
  GMutex  lock;
  guint8 *keys;   /* KEY_AREA_BYTES of sodium_malloc memory */
  guint   holds;  /* fk_vault_hold depth: the area stays read-only while > 0 */
};

/* ------------------------------------------------------------------------ *
 * Helpers: errors
 * ------------------------------------------------------------------------ */

static void
set_out_of_memory (GError **error)
{
  g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                       _("There is not enough memory to unlock protected data. "
                             "Close other apps and try again."));
}

static void
set_damaged_record (GError **error)
{
  g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED,
                       _("The stored data does not verify: it has been damaged or altered. "
                             "Do not use this entry; report it to your supervisor."));
}

/* Argon2 counts memory in KiB and libsodium drops the remainder of
 * memlimit / 1024, so 8192 and 8193 would derive the same key.  Accepting
 * whole KiB only gives every slot a single encoding, and a slot whose low
 * bits were altered on disk is refused instead of quietly opening. */
static gboolean
check_limits (guint64   opslimit,
              guint64   memlimit,
              GError  **error)
{
  if (memlimit % 1024 == 0 &&
      opslimit >= crypto_pwhash_OPSLIMIT_MIN &&
      opslimit <= crypto_pwhash_OPSLIMIT_MAX &&
      opslimit <= FK_KDF_OPSLIMIT_CEILING &&
      memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
      memlimit <= crypto_pwhash_MEMLIMIT_MAX &&
      memlimit <= FK_KDF_MEMLIMIT_CEILING)
    return TRUE;

  g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                       _("This keyslot asks for key-derivation settings FieldKit does not accept; "
                             "it is damaged or was not made by FieldKit. "
                             "Use another operator's passphrase or the recovery key."));
  return FALSE;
}

/* ------------------------------------------------------------------------ *
 * Helpers: the key area
 * ------------------------------------------------------------------------ */

/* A vault whose key area is allocated and still writable; the caller fills
 * DK and then calls vault_seal_keys. */
static FkVault *
vault_alloc (GError **error)
{
  FkVault *vault;
  guint8 *keys;

  keys = sodium_malloc (KEY_AREA_BYTES);
  if (keys == NULL)
    {
      set_out_of_memory (error);
      return NULL;
    }

  vault = g_new0 (FkVault, 1);
  g_mutex_init (&vault->lock);
  vault->keys = keys;
  return vault;
}

/* Changing page protection only fails when the kernel runs out of memory
 * for its own bookkeeping.  Going on would either crash on the next read or
 * leave DK readable, so both directions abort with a clear message; the
 * process already has core dumps off (fk_crypto_init). */
static void
protect_readonly (guint8 *keys)
{
  if (sodium_mprotect_readonly (keys) != 0)
    g_error ("sodium_mprotect_readonly failed on the vault key area");
}

static void
protect_noaccess (guint8 *keys)
{
  if (sodium_mprotect_noaccess (keys) != 0)
    g_error ("sodium_mprotect_noaccess failed on the vault key area");
}

/* Derives both subkeys from the DK just written and closes the area. */
static void
vault_seal_keys (FkVault *vault)
{
  guint8 *keys = vault->keys;

  crypto_kdf_derive_from_key (keys + KEY_AREA_RECORD, KEY_BYTES,
                              SUBKEY_RECORD_ID, SUBKEY_RECORD_CTX,
                              keys + KEY_AREA_DK);
  crypto_kdf_derive_from_key (keys + KEY_AREA_BLIND, KEY_BYTES,
                              SUBKEY_BLIND_ID, SUBKEY_BLIND_CTX,
                              keys + KEY_AREA_DK);
  protect_noaccess (keys);
}

/* Opens the key area read-only for one operation; pair with vault_release. */
static const guint8 *
vault_acquire (FkVault *vault)
{
  g_mutex_lock (&vault->lock);
  if (vault->holds == 0)
    protect_readonly (vault->keys);
  return vault->keys;
}

static void
vault_release (FkVault *vault)
{
  if (vault->holds == 0)
    protect_noaccess (vault->keys);
  g_mutex_unlock (&vault->lock);
}

/* ------------------------------------------------------------------------ *
 * Helpers: key derivation and encodings
 * ------------------------------------------------------------------------ */

/* The key-encryption key for a slot, in sodium_malloc memory. */
static guint8 *
derive_kek (const char    *passphrase,
            gsize          passphrase_len,
            const guint8  *salt,
            guint64        opslimit,
            guint64        memlimit,
            GError       **error)
{
  guint8 *kek;

  kek = sodium_malloc (KEY_BYTES);
  if (kek == NULL)
    {
      set_out_of_memory (error);
      return NULL;
    }

  /* crypto_pwhash only fails when it cannot allocate memlimit bytes; the
   * limits were range-checked before we got here. */
  if (crypto_pwhash (kek, KEY_BYTES, passphrase, passphrase_len, salt,
                     opslimit, (size_t) memlimit,
                     crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (kek);
      set_out_of_memory (error);
      return NULL;
    }

  return kek;
}

static void
put_u64_be (guint8  *out,
            guint64  value)
{
  for (guint i = 0; i < 8; i++)
    out[i] = (guint8) (value >> (56 - 8 * i));
}

static guint64
get_u64_be (const guint8 *in)
{
  guint64 value = 0;

  for (guint i = 0; i < 8; i++)
    value = (value << 8) | in[i];
  return value;
}

/* "fk1\0" table "\0" row_key "\0" column "\0" version (u64 BE).  The parts
 * are C strings, so the NUL separators make the encoding unambiguous. */
static GByteArray *
record_associated_data (const char *table,
                        const char *row_key,
                        const char *column,
                        guint64     version)
{
  GByteArray *ad;
  guint8 version_be[8];

  ad = g_byte_array_new ();
  g_byte_array_append (ad, (const guint8 *) "fk1", 4);
  g_byte_array_append (ad, (const guint8 *) table, strlen (table) + 1);
  g_byte_array_append (ad, (const guint8 *) row_key, strlen (row_key) + 1);
  g_byte_array_append (ad, (const guint8 *) column, strlen (column) + 1);
  put_u64_be (version_be, version);
  g_byte_array_append (ad, version_be, sizeof version_be);
  return ad;
}

/* out must hold (len * 8 + 4) / 5 + 1 characters. */
static void
base32_encode (const guint8 *in,
               gsize         len,
               char         *out)
{
  guint32 buffer = 0;
  guint bits = 0;
  gsize pos = 0;

  for (gsize i = 0; i < len; i++)
    {
      buffer = (buffer << 8) | in[i];
      bits += 8;
      while (bits >= 5)
        {
          bits -= 5;
          out[pos++] = base32_alphabet[(buffer >> bits) & 31];
        }
      buffer &= (1u << bits) - 1;
    }
  if (bits > 0)
    out[pos++] = base32_alphabet[(buffer << (5 - bits)) & 31];
  out[pos] = '\0';
}

/* Decodes exactly RECOVERY_CHARS upper-case alphabet characters.  Returns
 * FALSE when the unused low bits of the last character are not zero: no
 * key we print looks like that, so it is a typo in the last group. */
static gboolean
base32_decode_recovery (const char *in,
                        guint8      out[RECOVERY_BYTES])
{
  guint32 buffer = 0;
  guint bits = 0;
  gsize pos = 0;

  for (gsize i = 0; i < RECOVERY_CHARS; i++)
    {
      const char *found = strchr (base32_alphabet, in[i]);

      buffer = (buffer << 5) | (guint32) (found - base32_alphabet);
      bits += 5;
      if (bits >= 8)
        {
          bits -= 8;
          out[pos++] = (guint8) (buffer >> bits);
          buffer &= (1u << bits) - 1;
        }
    }

  return pos == RECOVERY_BYTES && buffer == 0;
}

/* The printed form: upper case, groups of four joined by '-'. */
static char *
recovery_group (const char *compact)
{
  char *grouped;
  gsize pos = 0;

  grouped = g_malloc (RECOVERY_GROUPED_CHARS + 1);
  for (gsize i = 0; i < RECOVERY_CHARS; i++)
    {
      if (i > 0 && i % RECOVERY_GROUP == 0)
        grouped[pos++] = '-';
      grouped[pos++] = compact[i];
    }
  grouped[pos] = '\0';
  return grouped;
}

static void
recovery_check_bytes (const guint8 *secret,
                      guint8        check[RECOVERY_CHECK_BYTES])
{
  guint8 digest[32];

  fk_hash (secret, RECOVERY_SECRET_BYTES, digest);
  memcpy (check, digest, RECOVERY_CHECK_BYTES);
  sodium_memzero (digest, sizeof digest);
}

/* ------------------------------------------------------------------------ *
 * Public API: keyslots
 * ------------------------------------------------------------------------ */

void
fk_kdf_limits (FkKdfStrength  strength,
               guint64       *opslimit,
               guint64       *memlimit)
{
  guint64 ops = crypto_pwhash_OPSLIMIT_MIN;
  guint64 mem = crypto_pwhash_MEMLIMIT_MIN;

  g_return_if_fail (opslimit != NULL);
  g_return_if_fail (memlimit != NULL);

  switch (strength)
    {
    /* 256 random bits cannot be guessed whatever the cost per guess, so the
     * recovery slot spends no time on stretching. */
    case FK_KDF_STRENGTH_RECOVERY:
    case FK_KDF_STRENGTH_TEST:
      break;

    /* A value this enum does not know errs on the strong side. */
    case FK_KDF_STRENGTH_OPERATOR:
    default:
      if (g_strcmp0 (g_getenv ("FIELDKIT_KDF"), "test") != 0)
        {
          ops = FK_KDF_OPERATOR_OPSLIMIT;
          mem = FK_KDF_OPERATOR_MEMLIMIT;
        }
      break;
    }

  *opslimit = ops;
  *memlimit = mem;
}

GBytes *
fk_keyslot_to_bytes (const FkKeyslot *slot)
{
  guint8 *out;
  guint8 *p;

  g_return_val_if_fail (slot != NULL, NULL);

  out = g_malloc (FK_KEYSLOT_BYTES);
  p = out;
  *p++ = FK_KEYSLOT_VERSION;
  memcpy (p, slot->salt, sizeof slot->salt);
  p += sizeof slot->salt;
  put_u64_be (p, slot->opslimit);
  p += 8;
  put_u64_be (p, slot->memlimit);
  p += 8;
  memcpy (p, slot->nonce, sizeof slot->nonce);
  p += sizeof slot->nonce;
  memcpy (p, slot->wrapped, sizeof slot->wrapped);

  return g_bytes_new_take (out, FK_KEYSLOT_BYTES);
}

gboolean
fk_keyslot_from_bytes (GBytes     *bytes,
                       FkKeyslot  *slot,
                       GError    **error)
{
  FkKeyslot parsed;
  const guint8 *p;
  gsize len = 0;

  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (slot != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  p = g_bytes_get_data (bytes, &len);
  if (len != FK_KEYSLOT_BYTES)
    {
      g_set_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                   _("The stored keyslot has the wrong size (%" "zu" " bytes); it is damaged. "
                         "Use another operator's passphrase or the recovery key."),
                   len);
      return FALSE;
    }

  if (p[0] != FK_KEYSLOT_VERSION)
    {
      g_set_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                   _("The stored keyslot has format version %u, which this FieldKit does not know; "
                         "it is damaged or from a newer FieldKit. Update FieldKit or use the recovery key."),
                   (guint) p[0]);
      return FALSE;
    }
  p++;

  memcpy (parsed.salt, p, sizeof parsed.salt);
  p += sizeof parsed.salt;
  parsed.opslimit = get_u64_be (p);
  p += 8;
  parsed.memlimit = get_u64_be (p);
  p += 8;
  memcpy (parsed.nonce, p, sizeof parsed.nonce);
  p += sizeof parsed.nonce;
  memcpy (parsed.wrapped, p, sizeof parsed.wrapped);

  if (!check_limits (parsed.opslimit, parsed.memlimit, error))
    return FALSE;

  *slot = parsed;
  return TRUE;
}

/* ------------------------------------------------------------------------ *
 * Public API: the vault
 * ------------------------------------------------------------------------ */

FkVault *
fk_vault_new (GError **error)
{
  FkVault *vault;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!fk_crypto_init (error))
    return NULL;

  vault = vault_alloc (error);
  if (vault == NULL)
    return NULL;

  randombytes_buf (vault->keys + KEY_AREA_DK, KEY_BYTES);
  vault_seal_keys (vault);
  return vault;
}

gboolean
fk_vault_add_keyslot (FkVault     *vault,
                      const char  *passphrase,
                      gsize        passphrase_len,
                      guint64      opslimit,
                      guint64      memlimit,
                      FkKeyslot   *slot,
                      GError     **error)
{
  FkKeyslot fresh;
  const guint8 *keys;
  guint8 *kek;

  g_return_val_if_fail (vault != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL || passphrase_len == 0, FALSE);
  g_return_val_if_fail (slot != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_limits (opslimit, memlimit, error))
    return FALSE;

  memset (&fresh, 0, sizeof fresh);
  randombytes_buf (fresh.salt, sizeof fresh.salt);
  randombytes_buf (fresh.nonce, sizeof fresh.nonce);
  fresh.opslimit = opslimit;
  fresh.memlimit = memlimit;

  /* Argon2 runs for most of a second; it does not need DK, so the key area
   * stays closed (and the lock free) while it runs. */
  kek = derive_kek (passphrase != NULL ? passphrase : "", passphrase_len,
                    fresh.salt, opslimit, memlimit, error);
  if (kek == NULL)
    return FALSE;

  keys = vault_acquire (vault);
  crypto_aead_xchacha20poly1305_ietf_encrypt (fresh.wrapped, NULL,
                                              keys + KEY_AREA_DK, KEY_BYTES,
                                              (const guint8 *) KEYSLOT_AD,
                                              strlen (KEYSLOT_AD),
                                              NULL, fresh.nonce, kek);
  vault_release (vault);
  sodium_free (kek);

  *slot = fresh;
  return TRUE;
}

FkVault *
fk_vault_open (const FkKeyslot *slot,
               const char      *passphrase,
               gsize            passphrase_len,
               GError         **error)
{
  FkVault *vault;
  guint8 *kek;
  int rc;

  g_return_val_if_fail (slot != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL || passphrase_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!fk_crypto_init (error))
    return NULL;

  /* The slot came from disk; refuse absurd limits before crypto_pwhash
   * tries to honour them. */
  if (!check_limits (slot->opslimit, slot->memlimit, error))
    return NULL;

  kek = derive_kek (passphrase != NULL ? passphrase : "", passphrase_len,
                    slot->salt, slot->opslimit, slot->memlimit, error);
  if (kek == NULL)
    return NULL;

  vault = vault_alloc (error);
  if (vault == NULL)
    {
      sodium_free (kek);
      return NULL;
    }

  /* DK is unwrapped straight into the protected area, never onto the stack. */
  rc = crypto_aead_xchacha20poly1305_ietf_decrypt (vault->keys + KEY_AREA_DK, NULL, NULL,
                                                   slot->wrapped, sizeof slot->wrapped,
                                                   (const guint8 *) KEYSLOT_AD,
                                                   strlen (KEYSLOT_AD),
                                                   slot->nonce, kek);
  sodium_free (kek);

  /* A wrong passphrase and a slot altered on disk look the same to the
   * AEAD; the far more common cause is a typing mistake. */
  if (rc != 0)
    {
      sodium_free (vault->keys);
      g_mutex_clear (&vault->lock);
      g_free (vault);
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE,
                           _("The passphrase is not correct for this operator. Check Caps Lock and try again."));
      return NULL;
    }

  vault_seal_keys (vault);
  return vault;
}

void
fk_vault_hold (FkVault *vault)
{
  g_mutex_lock (&vault->lock);
  if (vault->holds++ == 0)
    protect_readonly (vault->keys);
  g_mutex_unlock (&vault->lock);
}

void
fk_vault_unhold (FkVault *vault)
{
  g_mutex_lock (&vault->lock);
  if (vault->holds == 0)
    g_critical ("fk_vault_unhold without fk_vault_hold");
  else if (--vault->holds == 0)
    protect_noaccess (vault->keys);
  g_mutex_unlock (&vault->lock);
}

void
fk_vault_free (FkVault *vault)
{
  if (vault == NULL)
    return;

  /* sodium_free makes the area writable again, wipes it and unmaps it. */
  g_mutex_lock (&vault->lock);
  sodium_free (vault->keys);
  vault->keys = NULL;
  g_mutex_unlock (&vault->lock);

  g_mutex_clear (&vault->lock);
  g_free (vault);
}

/* ------------------------------------------------------------------------ *
 * Public API: recovery key
 * ------------------------------------------------------------------------ */

char *
fk_recovery_key_generate (void)
{
  guint8 raw[RECOVERY_BYTES];
  char compact[RECOVERY_CHARS + 1];
  char *grouped;

  randombytes_buf (raw, RECOVERY_SECRET_BYTES);
  recovery_check_bytes (raw, raw + RECOVERY_SECRET_BYTES);
  base32_encode (raw, sizeof raw, compact);
  grouped = recovery_group (compact);

  sodium_memzero (raw, sizeof raw);
  sodium_memzero (compact, sizeof compact);
  return grouped;
}

char *
fk_recovery_key_normalize (const char  *typed,
                           GError     **error)
{
  g_autofree char *compact = NULL;
  char *folded;
  guint8 raw[RECOVERY_BYTES];
  guint8 check[RECOVERY_CHECK_BYTES];
  gsize folded_len;
  gsize count = 0;
  gboolean matches;
  char *result = NULL;

  g_return_val_if_fail (typed != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate (typed, -1, NULL))
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                           _("The recovery key has a typo: it contains characters that are not letters or digits. "
                                 "Type it again from the printed sheet."));
      return NULL;
    }

  /* NFKC turns full-width letters, digits, dashes and the ideographic space
   * that a Chinese input method produces into their ASCII forms. */
  folded = g_utf8_normalize (typed, -1, G_NORMALIZE_NFKC);
  folded_len = strlen (folded);
  compact = g_malloc (folded_len + 1);

  for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      char c = *p;

      if (c == '-' || g_ascii_isspace (c))
        continue;

      c = g_ascii_toupper (c);
      if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
        {
          int char_len = (int) (g_utf8_next_char (p) - p);

          g_set_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                       _("The recovery key has a typo: “%.*s” in group %u is never used in recovery keys. "
                             "They contain only the letters A–Z and the digits 2–7 "
                             "(a 0 is the letter O, a 1 is the letter I or L). Correct it and try again."),
                       char_len, p, (guint) (count / RECOVERY_GROUP + 1));
          sodium_memzero (compact, folded_len + 1);
          fk_wipe_free (folded);
          return NULL;
        }

      compact[count++] = c;
    }
  compact[count] = '\0';
  fk_wipe_free (folded);

  if (count != RECOVERY_CHARS)
    {
      g_set_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                   _("The recovery key has a typo: it has %u letters and digits instead of %u "
                         "(dashes and spaces do not count). Check for a missing or doubled group."),
                   (guint) count, (guint) RECOVERY_CHARS);
      sodium_memzero (compact, folded_len + 1);
      return NULL;
    }

  matches = base32_decode_recovery (compact, raw);
  if (matches)
    {
      recovery_check_bytes (raw, check);
      matches = sodium_memcmp (check, raw + RECOVERY_SECRET_BYTES, RECOVERY_CHECK_BYTES) == 0;
    }

  if (matches)
    result = recovery_group (compact);
  else
    g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                         _("The recovery key has a typo: it does not match its own check characters. "
                               "Compare it group by group with the printed sheet and try again."));

  sodium_memzero (raw, sizeof raw);
  sodium_memzero (check, sizeof check);
  sodium_memzero (compact, folded_len + 1);
  return result;
}

void
fk_recovery_key_free (char *key)
{
  fk_wipe_free (key);
}

/* ------------------------------------------------------------------------ *
 * Public API: records
 * ------------------------------------------------------------------------ */

GBytes *
fk_vault_seal_record (FkVault       *vault,
                      const char    *table,
                      const char    *row_key,
                      const char    *column,
                      guint64        version,
                      const guint8  *plain,
                      gsize          plain_len,
                      GError       **error)
{
  g_autoptr(GByteArray) ad = NULL;
  const guint8 *keys;
  guint8 *out;
  gsize out_len;

  g_return_val_if_fail (vault != NULL, NULL);
  g_return_val_if_fail (table != NULL && row_key != NULL && column != NULL, NULL);
  g_return_val_if_fail (plain != NULL || plain_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (plain_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
      plain_len > G_MAXSIZE - RECORD_OVERHEAD)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                           _("This field is too large to store encrypted. Store it as an attachment instead."));
      return NULL;
    }

  ad = record_associated_data (table, row_key, column, version);
  out_len = RECORD_OVERHEAD + plain_len;
  out = g_malloc (out_len);
  out[0] = RECORD_FORMAT;
  randombytes_buf (out + 1, RECORD_NONCE_BYTES);

  keys = vault_acquire (vault);
  crypto_aead_xchacha20poly1305_ietf_encrypt (out + 1 + RECORD_NONCE_BYTES, NULL,
                                              plain != NULL ? plain : (const guint8 *) "",
                                              plain_len,
                                              ad->data, ad->len,
                                              NULL, out + 1,
                                              keys + KEY_AREA_RECORD);
  vault_release (vault);

  return g_bytes_new_take (out, out_len);
}

GBytes *
fk_vault_open_record (FkVault       *vault,
                      const char    *table,
                      const char    *row_key,
                      const char    *column,
                      guint64        version,
                      const guint8  *blob,
                      gsize          blob_len,
                      GError       **error)
{
  g_autoptr(GByteArray) ad = NULL;
  const guint8 *keys;
  guint8 *plain;
  gsize plain_len;
  int rc;

  g_return_val_if_fail (vault != NULL, NULL);
  g_return_val_if_fail (table != NULL && row_key != NULL && column != NULL, NULL);
  g_return_val_if_fail (blob != NULL || blob_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A different format byte is treated as damage too: this is the only
   * format there has ever been, and a flipped bit there must not read as
   * "made by a newer version". */
  if (blob_len < RECORD_OVERHEAD || blob[0] != RECORD_FORMAT)
    {
      set_damaged_record (error);
      return NULL;
    }

  ad = record_associated_data (table, row_key, column, version);
  plain_len = blob_len - RECORD_OVERHEAD;
  /* One spare byte so an empty field still gets a real buffer to wipe. */
  plain = g_malloc (plain_len + 1);

  keys = vault_acquire (vault);
  rc = crypto_aead_xchacha20poly1305_ietf_decrypt (plain, NULL, NULL,
                                                   blob + 1 + RECORD_NONCE_BYTES,
                                                   blob_len - 1 - RECORD_NONCE_BYTES,
                                                   ad->data, ad->len,
                                                   blob + 1,
                                                   keys + KEY_AREA_RECORD);
  vault_release (vault);

  if (rc != 0)
    {
      sodium_memzero (plain, plain_len + 1);
      g_free (plain);
      set_damaged_record (error);
      return NULL;
    }

  return fk_bytes_new_wiped (plain, plain_len);
}

/* ------------------------------------------------------------------------ *
 * Public API: blind index
 * ------------------------------------------------------------------------ */

void
fk_vault_blind_index (FkVault    *vault,
                      const char *normalized,
                      guint8      out[32])
{
  const guint8 *keys;

  g_return_if_fail (vault != NULL);
  g_return_if_fail (normalized != NULL);
  g_return_if_fail (out != NULL);

  keys = vault_acquire (vault);
  crypto_generichash (out, 32,
                      (const guint8 *) normalized, strlen (normalized),
                      keys + KEY_AREA_BLIND, KEY_BYTES);
  vault_release (vault);
}
