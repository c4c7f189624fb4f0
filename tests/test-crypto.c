/* test-crypto.c — unit and tamper tests for crypto/.
 *
 * The suite runs with FIELDKIT_KDF=test so every keyslot uses libsodium's
 * minimum Argon2id limits; /crypto/kdf/operator-strength is the one test
 * that pays for the real operator limits.
 */
#include <string.h>

#include <gio/gio.h>

#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-identity.h"
#include "crypto/fk-stream.h"
#include "crypto/fk-vault.h"

/* ------------------------------------------------------------------------ *
 * Helpers
 * ------------------------------------------------------------------------ */

#define PASSPHRASE "correct horse battery staple"

/* A recovery key generated once and kept as a known answer.  Every one of
 * its 55 × 31 single-character substitutions is rejected by the 16-bit
 * check (for a random key about 1 in 65 536 typos slips through; this one
 * was checked to have none, so the test is deterministic). */
#define KNOWN_RECOVERY_KEY "7XFU-ILZZ-P7QA-H76V-57CQ-O6N4-2JNJ-4LID-KIXM-62KY-RIRK-A5RV-HC7Y-7VQ"

static FkVault *
new_vault_with_slot (FkKeyslot *slot)
{
  g_autoptr(GError) error = NULL;
  FkVault *vault;
  guint64 ops, mem;

  vault = fk_vault_new (&error);
  g_assert_no_error (error);
  g_assert_nonnull (vault);

  fk_kdf_limits (FK_KDF_STRENGTH_TEST, &ops, &mem);
  g_assert_true (fk_vault_add_keyslot (vault, PASSPHRASE, strlen (PASSPHRASE),
                                       ops, mem, slot, &error));
  g_assert_no_error (error);
  return vault;
}

static GBytes *
seal (FkVault    *vault,
      const char *text)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob;

  blob = fk_vault_seal_record (vault, "person", "case-42", "name", 3,
                               (const guint8 *) text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_nonnull (blob);
  return blob;
}

static void
assert_record_opens (FkVault    *vault,
                     GBytes     *blob,
                     const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);

  plain = fk_vault_open_record (vault, "person", "case-42", "name", 3, data, len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plain);
  g_assert_cmpmem (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain),
                   expected, strlen (expected));
}

static void
assert_record_damaged (FkVault      *vault,
                       const char   *table,
                       const char   *row_key,
                       const char   *column,
                       guint64       version,
                       const guint8 *blob,
                       gsize         len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = NULL;

  plain = fk_vault_open_record (vault, table, row_key, column, version, blob, len, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED);
  g_assert_null (plain);
}

static GBytes *
pattern_bytes (gsize len)
{
  guint8 *data = g_malloc (len + 1);

  /* Not constant, so a chunk swapped with its neighbour would decrypt to
   * visibly different bytes if the stream ever accepted it. */
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * 31 + (i >> 16));
  return g_bytes_new_take (data, len);
}

/* Offsets of each chunk's length prefix in a sealed stream. */
static GArray *
stream_chunk_offsets (GBytes *sealed)
{
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize len;
  const guint8 *data = g_bytes_get_data (sealed, &len);
  gsize pos = 4 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;

  while (pos < len)
    {
      guint32 chunk_len;

      g_assert_cmpuint (pos + 4, <=, len);
      chunk_len = ((guint32) data[pos] << 24) | ((guint32) data[pos + 1] << 16) |
                  ((guint32) data[pos + 2] << 8) | data[pos + 3];
      g_array_append_val (offsets, pos);
      pos += 4 + chunk_len;
    }
  g_assert_cmpuint (pos, ==, len);
  return offsets;
}

static void
assert_stream_damaged (const FkSecret *key,
                       const guint8   *data,
                       gsize           len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = g_bytes_new (data, len);
  g_autoptr(GBytes) plain = NULL;

  plain = fk_stream_decrypt_bytes (key, sealed, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED);
  g_assert_null (plain);
}

static char *
strip_dashes_lower (const char *key)
{
  GString *out = g_string_new (NULL);

  for (const char *p = key; *p != '\0'; p++)
    if (*p != '-')
      g_string_append_c (out, g_ascii_tolower (*p));
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------------ *
 * Start-up and small helpers
 * ------------------------------------------------------------------------ */

static void
test_init_idempotent (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fk_crypto_init (&error));
  g_assert_no_error (error);
  g_assert_true (fk_crypto_init (&error));
  g_assert_no_error (error);
}

static void
test_hash_known_answer (void)
{
  guint8 digest[32];
  g_autofree char *hex = NULL;

  /* BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output). */
  fk_hash (NULL, 0, digest);
  hex = fk_hex_encode (digest, sizeof digest);
  g_assert_cmpstr (hex, ==, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

static void
test_hex_roundtrip (void)
{
  guint8 data[33];
  guint8 back[33];
  guint8 one[1];
  g_autofree char *hex = NULL;
  g_autofree char *empty = NULL;

  randombytes_buf (data, sizeof data);
  hex = fk_hex_encode (data, sizeof data);
  g_assert_cmpuint (strlen (hex), ==, 2 * sizeof data);
  for (const char *p = hex; *p != '\0'; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'f'));

  g_assert_true (fk_hex_decode (hex, back, sizeof back));
  g_assert_cmpmem (back, sizeof back, data, sizeof data);

  /* Upper case decodes too; it is what people read aloud from a screen. */
  g_assert_true (fk_hex_decode ("AB", one, 1));
  g_assert_cmpuint (one[0], ==, 0xab);

  g_assert_false (fk_hex_decode ("abc", one, 1));
  g_assert_false (fk_hex_decode ("abcd", one, 1));
  g_assert_false (fk_hex_decode ("a", one, 1));
  g_assert_false (fk_hex_decode ("zz", one, 1));
  g_assert_false (fk_hex_decode ("", one, 1));
  g_assert_false (fk_hex_decode (hex, back, sizeof back - 1));

  empty = fk_hex_encode (NULL, 0);
  g_assert_cmpstr (empty, ==, "");
  g_assert_true (fk_hex_decode ("", NULL, 0));
}

static void
test_fingerprint_format (void)
{
  guint8 key[32];
  guint8 digest[32];
  g_autofree char *fingerprint = NULL;
  g_autofree char *again = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *expected = NULL;
  g_auto(GStrv) groups = NULL;

  randombytes_buf (key, sizeof key);
  fingerprint = fk_fingerprint (key, sizeof key);

  g_assert_cmpuint (strlen (fingerprint), ==, 8 * 4 + 7);
  groups = g_strsplit (fingerprint, "-", -1);
  g_assert_cmpuint (g_strv_length (groups), ==, 8);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_assert_cmpuint (strlen (groups[i]), ==, 4);
      for (const char *p = groups[i]; *p != '\0'; p++)
        g_assert_true (g_ascii_isdigit (*p) || (*p >= 'A' && *p <= 'F'));
    }

  /* It is the first 16 bytes of BLAKE2b-256 of the key. */
  fk_hash (key, sizeof key, digest);
  hex = fk_hex_encode (digest, 16);
  expected = g_ascii_strup (hex, -1);
  {
    g_autofree char *joined = g_strjoinv ("", groups);
    g_assert_cmpstr (joined, ==, expected);
  }

  again = fk_fingerprint (key, sizeof key);
  g_assert_cmpstr (again, ==, fingerprint);
}

static void
test_equal (void)
{
  const guint8 a[] = { 1, 2, 3 };
  const guint8 b[] = { 1, 2, 4 };

  g_assert_true (fk_equal (a, a, sizeof a));
  g_assert_false (fk_equal (a, b, sizeof a));
  g_assert_true (fk_equal (a, b, 2));
}

static void
test_secret (void)
{
  g_autoptr(FkSecret) random = fk_secret_new_random ();
  g_autoptr(FkSecret) other = fk_secret_new_random ();
  g_autoptr(FkSecret) copy = NULL;

  g_assert_cmpuint (fk_secret_len (random), ==, 32);
  g_assert_false (fk_equal (fk_secret_bytes (random), fk_secret_bytes (other), 32));

  copy = fk_secret_new_from (fk_secret_bytes (random), fk_secret_len (random));
  g_assert_cmpmem (fk_secret_bytes (copy), fk_secret_len (copy),
                   fk_secret_bytes (random), fk_secret_len (random));
}

static void
test_bytes_wiped (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) empty = NULL;

  bytes = fk_bytes_new_wiped ((guint8 *) g_strdup ("secret"), 6);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "secret", 6);

  empty = fk_bytes_new_wiped (NULL, 0);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
}

/* fk_wipe_free takes NULL, frees what it is given (the sanitizer build's
 * leak checker sees every string here go back), and serves as a hash
 * table's value destroy notify and with g_clear_pointer.  That the bytes
 * are zeroed cannot be read back without touching freed memory; it is
 * sodium_memzero's promise. */
static void
test_wipe_free (void)
{
  g_autoptr(GHashTable) fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fk_wipe_free);
  char *id = g_strdup ("A123456789");

  fk_wipe_free (NULL);
  fk_wipe_free (g_strdup (""));

  g_hash_table_insert (fields, g_strdup ("name"), g_strdup ("王小明"));
  g_hash_table_insert (fields, g_strdup ("phone"), g_strdup ("0912345678"));
  g_hash_table_insert (fields, g_strdup ("notes"), NULL);
  /* The old value goes through the destroy notify. */
  g_hash_table_replace (fields, g_strdup ("name"), g_strdup ("林美玲"));
  g_assert_cmpstr (g_hash_table_lookup (fields, "name"), ==, "林美玲");
  g_assert_true (g_hash_table_remove (fields, "phone"));
  g_assert_true (g_hash_table_remove (fields, "notes"));
  g_assert_cmpuint (g_hash_table_size (fields), ==, 1);

  g_clear_pointer (&id, fk_wipe_free);
  g_assert_null (id);
  g_clear_pointer (&id, fk_wipe_free);
}

/* ------------------------------------------------------------------------ *
 * Key derivation limits
 * ------------------------------------------------------------------------ */

static void
test_kdf_limits (void)
{
  guint64 ops, mem;

  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, &ops, &mem);
  g_assert_cmpuint (ops, ==, crypto_pwhash_OPSLIMIT_MIN);
  g_assert_cmpuint (mem, ==, crypto_pwhash_MEMLIMIT_MIN);

  fk_kdf_limits (FK_KDF_STRENGTH_RECOVERY, &ops, &mem);
  g_assert_cmpuint (ops, ==, crypto_pwhash_OPSLIMIT_MIN);
  g_assert_cmpuint (mem, ==, crypto_pwhash_MEMLIMIT_MIN);

  fk_kdf_limits (FK_KDF_STRENGTH_TEST, &ops, &mem);
  g_assert_cmpuint (ops, ==, crypto_pwhash_OPSLIMIT_MIN);
  g_assert_cmpuint (mem, ==, crypto_pwhash_MEMLIMIT_MIN);
}

static void
test_kdf_operator_strength (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) reopened = NULL;
  g_autoptr(GBytes) blob = NULL;
  FkKeyslot slot;
  guint64 ops, mem;
  gint64 start, elapsed;

  g_unsetenv ("FIELDKIT_KDF");
  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, &ops, &mem);
  g_setenv ("FIELDKIT_KDF", "test", TRUE);

  g_assert_cmpuint (ops, >, crypto_pwhash_OPSLIMIT_MIN);
  g_assert_cmpuint (mem, >=, 256 * 1024 * 1024);

  vault = fk_vault_new (&error);
  g_assert_no_error (error);
  g_assert_true (fk_vault_add_keyslot (vault, PASSPHRASE, strlen (PASSPHRASE),
                                       ops, mem, &slot, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (slot.opslimit, ==, ops);
  g_assert_cmpuint (slot.memlimit, ==, mem);
  blob = seal (vault, "王小明");

  start = g_get_monotonic_time ();
  reopened = fk_vault_open (&slot, PASSPHRASE, strlen (PASSPHRASE), &error);
  elapsed = g_get_monotonic_time () - start;
  g_assert_no_error (error);
  assert_record_opens (reopened, blob, "王小明");

  g_test_message ("operator unlock (opslimit %" G_GUINT64_FORMAT ", memlimit %" G_GUINT64_FORMAT
                  " MiB) took %.3f s", ops, mem >> 20, elapsed / 1e6);
}

/* ------------------------------------------------------------------------ *
 * Vault and keyslots
 * ------------------------------------------------------------------------ */

static void
test_keyslot_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) reopened = NULL;
  g_autoptr(GBytes) blob = NULL;
  FkKeyslot slot;
  FkKeyslot second;
  guint8 blind_a[32], blind_b[32];

  vault = new_vault_with_slot (&slot);
  blob = seal (vault, "A123456789");

  reopened = fk_vault_open (&slot, PASSPHRASE, strlen (PASSPHRASE), &error);
  g_assert_no_error (error);
  g_assert_nonnull (reopened);
  assert_record_opens (reopened, blob, "A123456789");

  fk_vault_blind_index (vault, "A123456789", blind_a);
  fk_vault_blind_index (reopened, "A123456789", blind_b);
  g_assert_cmpmem (blind_a, 32, blind_b, 32);

  /* A second slot for the same DK gets its own salt and nonce. */
  g_assert_true (fk_vault_add_keyslot (reopened, "another", 7,
                                       slot.opslimit, slot.memlimit, &second, &error));
  g_assert_no_error (error);
  g_assert_false (fk_equal (slot.salt, second.salt, sizeof slot.salt));
  g_assert_false (fk_equal (slot.nonce, second.nonce, sizeof slot.nonce));
  {
    g_autoptr(FkVault) third = fk_vault_open (&second, "another", 7, &error);
    g_assert_no_error (error);
    assert_record_opens (third, blob, "A123456789");
  }
}

static void
test_wrong_passphrase (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) opened = NULL;
  FkKeyslot slot;

  vault = new_vault_with_slot (&slot);

  opened = fk_vault_open (&slot, "Correct horse battery staple", strlen (PASSPHRASE), &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
  g_assert_null (opened);
  g_assert_nonnull (strstr (error->message, "Caps Lock"));
  g_clear_error (&error);

  /* The length is part of the passphrase: a prefix does not open it. */
  opened = fk_vault_open (&slot, PASSPHRASE, strlen (PASSPHRASE) - 1, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
  g_assert_null (opened);
  g_clear_error (&error);

  opened = fk_vault_open (&slot, "", 0, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
  g_assert_null (opened);
}

static void
test_wrong_passphrase_zh (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) opened = NULL;
  FkKeyslot slot;

  vault = new_vault_with_slot (&slot);

  fk_lang_set ("zh_TW");
  opened = fk_vault_open (&slot, "wrong", 5, &error);
  fk_lang_set ("en");
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
  g_assert_cmpstr (error->message, ==, "密碼不正確，請檢查大小寫鎖定後再試一次。");
}

static void
test_keyslot_bytes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) again = NULL;
  FkKeyslot slot;
  FkKeyslot parsed;
  gsize len;
  const guint8 *data;

  vault = new_vault_with_slot (&slot);
  bytes = fk_keyslot_to_bytes (&slot);
  data = g_bytes_get_data (bytes, &len);
  g_assert_cmpuint (len, ==, FK_KEYSLOT_BYTES);
  g_assert_cmpuint (data[0], ==, FK_KEYSLOT_VERSION);

  g_assert_true (fk_keyslot_from_bytes (bytes, &parsed, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&parsed, sizeof parsed, &slot, sizeof slot);
  again = fk_keyslot_to_bytes (&parsed);
  g_assert_true (g_bytes_equal (again, bytes));

  {
    g_autoptr(FkVault) opened = fk_vault_open (&parsed, PASSPHRASE, strlen (PASSPHRASE), &error);
    g_assert_no_error (error);
    g_assert_nonnull (opened);
  }

  /* Too short and too long. */
  {
    g_autoptr(GBytes) shorter = g_bytes_new (data, len - 1);
    g_autoptr(GByteArray) longer = g_byte_array_new ();

    g_assert_false (fk_keyslot_from_bytes (shorter, &parsed, &error));
    g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
    g_clear_error (&error);

    g_byte_array_append (longer, data, len);
    g_byte_array_append (longer, (const guint8 *) "", 1);
    {
      g_autoptr(GBytes) longer_bytes = g_bytes_new (longer->data, longer->len);
      g_assert_false (fk_keyslot_from_bytes (longer_bytes, &parsed, &error));
      g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
      g_clear_error (&error);
    }
  }

  /* One flipped bit anywhere in the serialized slot: either the parser
   * refuses it or the slot no longer opens.  Never a crash, never success. */
  for (gsize i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GBytes) flipped = NULL;
      g_autoptr(FkVault) opened = NULL;

      copy[i] ^= 0x01;
      flipped = g_bytes_new (copy, len);
      if (!fk_keyslot_from_bytes (flipped, &parsed, &error))
        {
          g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
          g_clear_error (&error);
          continue;
        }
      opened = fk_vault_open (&parsed, PASSPHRASE, strlen (PASSPHRASE), &error);
      g_assert_null (opened);
      g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
      g_clear_error (&error);
    }

  /* The whole version byte, and the top byte of each limit. */
  {
    static const gsize offsets[] = { 0, 1 + crypto_pwhash_SALTBYTES, 1 + crypto_pwhash_SALTBYTES + 8 };

    for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
      {
        g_autofree guint8 *copy = g_memdup2 (data, len);
        g_autoptr(GBytes) flipped = NULL;

        copy[offsets[i]] ^= 0xff;
        flipped = g_bytes_new (copy, len);
        g_assert_false (fk_keyslot_from_bytes (flipped, &parsed, &error));
        g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
        g_clear_error (&error);
      }
  }
}

static void
test_limits_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  FkKeyslot slot;
  FkKeyslot bad;
  struct { guint64 ops; guint64 mem; } cases[] = {
    { 0, crypto_pwhash_MEMLIMIT_MIN },
    { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN - 1 },
    { crypto_pwhash_OPSLIMIT_MIN, 0 },
    { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN + 1 },
    { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN + 1023 },
    { (guint64) crypto_pwhash_OPSLIMIT_MAX + 1, crypto_pwhash_MEMLIMIT_MIN },
    { crypto_pwhash_OPSLIMIT_MAX, crypto_pwhash_MEMLIMIT_MIN },
    { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MAX },
    { crypto_pwhash_OPSLIMIT_MIN, G_MAXUINT64 },
  };

  vault = new_vault_with_slot (&slot);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(FkVault) opened = NULL;
      FkKeyslot ignored;

      g_assert_false (fk_vault_add_keyslot (vault, PASSPHRASE, strlen (PASSPHRASE),
                                            cases[i].ops, cases[i].mem, &ignored, &error));
      g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
      g_clear_error (&error);

      /* The same limits in a slot read from disk are refused before
       * crypto_pwhash would try to allocate that much memory. */
      bad = slot;
      bad.opslimit = cases[i].ops;
      bad.memlimit = cases[i].mem;
      opened = fk_vault_open (&bad, PASSPHRASE, strlen (PASSPHRASE), &error);
      g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
      g_assert_null (opened);
      g_clear_error (&error);

      {
        g_autoptr(GBytes) bytes = fk_keyslot_to_bytes (&bad);
        g_assert_false (fk_keyslot_from_bytes (bytes, &ignored, &error));
        g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
        g_clear_error (&error);
      }
    }
}

static gpointer
vault_worker (gpointer data)
{
  FkVault *vault = data;

  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(GBytes) blob = seal (vault, "併發測試");
      guint8 blind[32];

      assert_record_opens (vault, blob, "併發測試");
      fk_vault_blind_index (vault, "F123456789", blind);
    }
  return NULL;
}

static void
test_vault_threads (void)
{
  g_autoptr(FkVault) vault = NULL;
  GThread *threads[4];
  FkKeyslot slot;

  /* Each operation opens and closes the page protection; concurrent
   * operations must not close it under each other. */
  vault = new_vault_with_slot (&slot);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("vault-worker", vault_worker, vault);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* ------------------------------------------------------------------------ *
 * Records
 * ------------------------------------------------------------------------ */

static void
test_record_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GBytes) plain = NULL;
  FkKeyslot slot;
  const char *text = "臺北市中正區重慶南路一段 122 號";
  guint8 binary[256];

  vault = new_vault_with_slot (&slot);

  blob = seal (vault, text);
  g_assert_cmpuint (g_bytes_get_size (blob), ==,
                    1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + strlen (text) +
                    crypto_aead_xchacha20poly1305_ietf_ABYTES);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (blob, NULL))[0], ==, 0x01);
  assert_record_opens (vault, blob, text);

  /* A fresh nonce every time: the same field never seals the same way. */
  again = seal (vault, text);
  g_assert_false (g_bytes_equal (blob, again));

  empty = fk_vault_seal_record (vault, "person", "case-42", "note", 1, NULL, 0, &error);
  g_assert_no_error (error);
  plain = fk_vault_open_record (vault, "person", "case-42", "note", 1,
                                g_bytes_get_data (empty, NULL), g_bytes_get_size (empty), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (plain), ==, 0);
  g_clear_pointer (&plain, g_bytes_unref);

  for (guint i = 0; i < sizeof binary; i++)
    binary[i] = (guint8) i;
  {
    g_autoptr(GBytes) sealed = fk_vault_seal_record (vault, "photo", "7", "thumb", G_MAXUINT64,
                                                     binary, sizeof binary, &error);
    g_assert_no_error (error);
    plain = fk_vault_open_record (vault, "photo", "7", "thumb", G_MAXUINT64,
                                  g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), &error);
    g_assert_no_error (error);
    g_assert_cmpmem (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain), binary, sizeof binary);
  }
}

static void
test_record_wrong_place (void)
{
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) other = NULL;
  g_autoptr(GBytes) blob = NULL;
  FkKeyslot slot;
  gsize len;
  const guint8 *data;

  vault = new_vault_with_slot (&slot);
  other = new_vault_with_slot (&slot);
  blob = seal (vault, "林美華");
  data = g_bytes_get_data (blob, &len);

  assert_record_damaged (vault, "person2", "case-42", "name", 3, data, len);
  assert_record_damaged (vault, "person", "case-43", "name", 3, data, len);
  assert_record_damaged (vault, "person", "case-42", "address", 3, data, len);
  assert_record_damaged (vault, "person", "case-42", "name", 4, data, len);
  assert_record_damaged (vault, "person", "case-42", "name", 2, data, len);
  /* The separators keep "a" + "bc" and "ab" + "c" apart. */
  assert_record_damaged (vault, "personc", "ase-42", "name", 3, data, len);
  assert_record_damaged (vault, "person", "case-4", "2name", 3, data, len);
  /* Another device's vault cannot open it either. */
  assert_record_damaged (other, "person", "case-42", "name", 3, data, len);
}

static void
test_record_bit_flips (void)
{
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autofree guint8 *copy = NULL;
  FkKeyslot slot;
  gsize len;
  const guint8 *data;

  vault = new_vault_with_slot (&slot);
  blob = seal (vault, "1234");
  data = g_bytes_get_data (blob, &len);
  copy = g_memdup2 (data, len);

  for (gsize bit = 0; bit < len * 8; bit++)
    {
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
      assert_record_damaged (vault, "person", "case-42", "name", 3, copy, len);
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
    }

  /* Every truncation, down to nothing. */
  for (gsize cut = 0; cut < len; cut++)
    assert_record_damaged (vault, "person", "case-42", "name", 3, copy, cut);

  /* The untouched copy still opens: the loop restored every bit. */
  assert_record_opens (vault, blob, "1234");
}

/* ------------------------------------------------------------------------ *
 * Blind index
 * ------------------------------------------------------------------------ */

static void
test_blind_index (void)
{
  g_autoptr(FkVault) a = NULL;
  g_autoptr(FkVault) b = NULL;
  FkKeyslot slot;
  guint8 first[32], second[32], other_vault[32], other_value[32], plain_hash[32];

  a = new_vault_with_slot (&slot);
  b = new_vault_with_slot (&slot);

  fk_vault_blind_index (a, "A123456789", first);
  fk_vault_blind_index (a, "A123456789", second);
  fk_vault_blind_index (b, "A123456789", other_vault);
  fk_vault_blind_index (a, "A123456780", other_value);
  fk_hash ((const guint8 *) "A123456789", 10, plain_hash);

  g_assert_cmpmem (first, 32, second, 32);
  g_assert_false (fk_equal (first, other_vault, 32));
  g_assert_false (fk_equal (first, other_value, 32));
  /* It is keyed: without DK the index cannot be recomputed. */
  g_assert_false (fk_equal (first, plain_hash, 32));
}

/* ------------------------------------------------------------------------ *
 * Recovery key
 * ------------------------------------------------------------------------ */

static void
test_recovery_generate_normalize (void)
{
  g_autoptr(GError) error = NULL;
  char *key = fk_recovery_key_generate ();
  char *other = fk_recovery_key_generate ();
  g_autofree char *typed = NULL;
  g_autofree char *spaced = NULL;
  char *normalized;
  g_auto(GStrv) groups = NULL;

  g_assert_cmpuint (strlen (key), ==, 55 + 13);
  g_assert_cmpstr (key, !=, other);
  groups = g_strsplit (key, "-", -1);
  g_assert_cmpuint (g_strv_length (groups), ==, 14);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_assert_cmpuint (strlen (groups[i]), ==, i == 13 ? 3 : 4);
      for (const char *p = groups[i]; *p != '\0'; p++)
        g_assert_true ((*p >= 'A' && *p <= 'Z') || (*p >= '2' && *p <= '7'));
    }

  /* Already canonical. */
  normalized = fk_recovery_key_normalize (key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, key);
  fk_recovery_key_free (normalized);

  /* Lower case, dashes removed. */
  typed = strip_dashes_lower (key);
  normalized = fk_recovery_key_normalize (typed, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, key);
  fk_recovery_key_free (normalized);

  /* Spaces instead of dashes, with stray whitespace around. */
  spaced = g_strdelimit (g_strdup_printf ("  %s\n", key), "-", ' ');
  normalized = fk_recovery_key_normalize (spaced, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, key);
  fk_recovery_key_free (normalized);

  fk_recovery_key_free (key);
  fk_recovery_key_free (other);
}

static void
test_recovery_full_width (void)
{
  g_autoptr(GError) error = NULL;
  GString *wide = g_string_new (NULL);
  g_autofree char *wide_str = NULL;
  char *normalized;

  /* A Chinese input method in full-width mode types Ａ (U+FF21) for A and
   * － (U+FF0D) for -; they are the same key. */
  for (const char *p = KNOWN_RECOVERY_KEY; *p != '\0'; p++)
    g_string_append_unichar (wide, 0xFF01 + (gunichar) (*p - '!'));
  wide_str = g_string_free (wide, FALSE);

  normalized = fk_recovery_key_normalize (wide_str, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, KNOWN_RECOVERY_KEY);
  fk_recovery_key_free (normalized);
}

static void
assert_recovery_typo (const char *typed)
{
  g_autoptr(GError) error = NULL;
  char *normalized;

  normalized = fk_recovery_key_normalize (typed, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
  g_assert_null (normalized);
  g_assert_true (g_str_has_prefix (error->message, "The recovery key has a typo: "));
}

static void
test_recovery_typo (void)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  g_autoptr(GError) error = NULL;
  g_autofree char *compact = strip_dashes_lower (KNOWN_RECOVERY_KEY);
  char *normalized;

  normalized = fk_recovery_key_normalize (KNOWN_RECOVERY_KEY, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, KNOWN_RECOVERY_KEY);
  fk_recovery_key_free (normalized);

  /* Every single-character substitution anywhere in the key. */
  for (gsize i = 0; compact[i] != '\0'; i++)
    {
      char original = compact[i];

      for (const char *c = alphabet; *c != '\0'; c++)
        {
          if (g_ascii_tolower (*c) == original)
            continue;
          compact[i] = g_ascii_tolower (*c);
          assert_recovery_typo (compact);
        }
      compact[i] = original;
    }

  /* Two neighbouring characters swapped. */
  {
    g_autofree char *swapped = g_strdup (compact);
    char tmp = swapped[10];

    g_assert_cmpint (swapped[10], !=, swapped[11]);
    swapped[10] = swapped[11];
    swapped[11] = tmp;
    assert_recovery_typo (swapped);
  }

  /* Characters that are not in the alphabet, and the message names them. */
  {
    g_autofree char *zero = g_strdup (compact);

    zero[5] = '0';
    normalized = fk_recovery_key_normalize (zero, &error);
    g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
    g_assert_null (normalized);
    g_assert_nonnull (strstr (error->message, "“0” in group 2"));
    g_clear_error (&error);

    zero[5] = '8';
    assert_recovery_typo (zero);
    zero[5] = '.';
    assert_recovery_typo (zero);
  }
  assert_recovery_typo ("ÄBCD");

  /* Missing, doubled and extra characters. */
  {
    g_autofree char *shorter = g_strndup (compact, 54);
    g_autofree char *longer = g_strconcat (compact, "a", NULL);
    g_autofree char *doubled = g_strconcat (compact, compact + 51, NULL);

    assert_recovery_typo (shorter);
    assert_recovery_typo (longer);
    assert_recovery_typo (doubled);
    assert_recovery_typo ("");
    assert_recovery_typo ("- -");
  }

  /* The last character carries 2 bits of the key and 3 unused zero bits;
   * a character that sets the unused bits is a typo too. */
  {
    g_autofree char *last = g_strdup (compact);
    const char *pos = strchr (alphabet, g_ascii_toupper (last[54]));

    g_assert_nonnull (pos);
    last[54] = g_ascii_tolower (alphabet[(pos - alphabet) | 1]);
    assert_recovery_typo (last);
  }
}

static void
test_recovery_opens_vault (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkVault) vault = NULL;
  g_autoptr(FkVault) recovered = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) stored = NULL;
  g_autofree char *typed = NULL;
  FkKeyslot operator_slot;
  FkKeyslot recovery_slot;
  FkKeyslot parsed;
  guint64 ops, mem;
  char *printed;
  char *canonical;
  char *retyped;
  guint8 blind_a[32], blind_b[32];

  vault = new_vault_with_slot (&operator_slot);
  blob = seal (vault, "張大同");

  /* Made at set-up: printed for the office safe, canonical form as the
   * passphrase of a recovery-strength slot. */
  printed = fk_recovery_key_generate ();
  canonical = fk_recovery_key_normalize (printed, &error);
  g_assert_no_error (error);
  fk_kdf_limits (FK_KDF_STRENGTH_RECOVERY, &ops, &mem);
  g_assert_true (fk_vault_add_keyslot (vault, canonical, strlen (canonical), ops, mem,
                                       &recovery_slot, &error));
  g_assert_no_error (error);
  stored = fk_keyslot_to_bytes (&recovery_slot);
  fk_recovery_key_free (canonical);

  /* Weeks later, the passphrase is forgotten; someone types the key in
   * lower case without dashes. */
  typed = strip_dashes_lower (printed);
  retyped = fk_recovery_key_normalize (typed, &error);
  g_assert_no_error (error);
  sodium_memzero (typed, strlen (typed));

  g_assert_true (fk_keyslot_from_bytes (stored, &parsed, &error));
  g_assert_no_error (error);
  recovered = fk_vault_open (&parsed, retyped, strlen (retyped), &error);
  g_assert_no_error (error);
  g_assert_nonnull (recovered);

  assert_record_opens (recovered, blob, "張大同");
  fk_vault_blind_index (vault, "A123456789", blind_a);
  fk_vault_blind_index (recovered, "A123456789", blind_b);
  g_assert_cmpmem (blind_a, 32, blind_b, 32);

  /* The operator passphrase does not open the recovery slot. */
  {
    g_autoptr(FkVault) wrong = fk_vault_open (&parsed, PASSPHRASE, strlen (PASSPHRASE), &error);
    g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_WRONG_PASSPHRASE);
    g_assert_null (wrong);
  }

  fk_recovery_key_free (retyped);
  fk_recovery_key_free (printed);
}

/* ------------------------------------------------------------------------ *
 * Streams
 * ------------------------------------------------------------------------ */

static void
test_stream_roundtrip (void)
{
  static const gsize sizes[] = { 0, 1, 65535, 65536, 65537, 300000 };
  g_autoptr(FkSecret) key = fk_secret_new_random ();

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) plain = pattern_bytes (sizes[i]);
      g_autoptr(GBytes) sealed = NULL;
      g_autoptr(GBytes) opened = NULL;
      g_autoptr(GArray) chunks = NULL;
      gsize n_chunks = MAX (1, (sizes[i] + FK_STREAM_CHUNK - 1) / FK_STREAM_CHUNK);
      const guint8 *data;

      sealed = fk_stream_encrypt_bytes (key, plain, &error);
      g_assert_no_error (error);
      data = g_bytes_get_data (sealed, NULL);
      g_assert_cmpmem (data, 4, "FKS1", 4);
      g_assert_cmpuint (g_bytes_get_size (sealed), ==,
                        4 + crypto_secretstream_xchacha20poly1305_HEADERBYTES +
                        n_chunks * (4 + crypto_secretstream_xchacha20poly1305_ABYTES) + sizes[i]);
      chunks = stream_chunk_offsets (sealed);
      g_assert_cmpuint (chunks->len, ==, n_chunks);

      opened = fk_stream_decrypt_bytes (key, sealed, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, plain));
    }
}

static void
test_stream_gio (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkSecret) key = fk_secret_new_random ();
  g_autoptr(GBytes) plain = pattern_bytes (200000);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (plain);
  g_autoptr(GOutputStream) sealed_out = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GInputStream) sealed_in = NULL;
  g_autoptr(GOutputStream) plain_out = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) opened = NULL;

  g_assert_true (fk_stream_encrypt (key, in, sealed_out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (sealed_out, NULL, &error));
  sealed = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (sealed_out));

  sealed_in = g_memory_input_stream_new_from_bytes (sealed);
  g_assert_true (fk_stream_decrypt (key, sealed_in, plain_out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (plain_out, NULL, &error));
  opened = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (plain_out));
  g_assert_true (g_bytes_equal (opened, plain));

  /* A cancelled operation reports cancellation, not damage. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    g_autoptr(GInputStream) again = g_memory_input_stream_new_from_bytes (plain);
    g_autoptr(GOutputStream) sink = g_memory_output_stream_new_resizable ();

    g_cancellable_cancel (cancellable);
    g_assert_false (fk_stream_encrypt (key, again, sink, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);

    g_clear_object (&sealed_in);
    sealed_in = g_memory_input_stream_new_from_bytes (sealed);
    g_assert_false (fk_stream_decrypt (key, sealed_in, sink, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

static void
test_stream_tampering (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkSecret) key = fk_secret_new_random ();
  g_autoptr(FkSecret) other_key = fk_secret_new_random ();
  g_autoptr(GBytes) plain = pattern_bytes (300000);
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GArray) chunks = NULL;
  g_autoptr(GByteArray) edit = NULL;
  const guint8 *data;
  gsize len;
  gsize c1, c2, c3, last;

  sealed = fk_stream_encrypt_bytes (key, plain, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (sealed, &len);
  chunks = stream_chunk_offsets (sealed);
  g_assert_cmpuint (chunks->len, ==, 5);
  c1 = g_array_index (chunks, gsize, 1);
  c2 = g_array_index (chunks, gsize, 2);
  c3 = g_array_index (chunks, gsize, 3);
  last = g_array_index (chunks, gsize, 4);

  /* Truncated: nothing, inside the magic, inside the header, at every
   * chunk boundary (the final chunk never arrives), inside a length and
   * inside a chunk, and one byte short of the end. */
  {
    const gsize cuts[] = { 0, 2, 20, 28, c1, c2, c3, last, last + 2, last + 10, len - 1 };

    for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
      assert_stream_damaged (key, data, cuts[i]);
  }

  /* A dropped chunk. */
  edit = g_byte_array_new ();
  g_byte_array_append (edit, data, c2);
  g_byte_array_append (edit, data + c3, len - c3);
  assert_stream_damaged (key, edit->data, edit->len);

  /* Two chunks swapped (both are full-size, so the framing still parses). */
  g_byte_array_set_size (edit, 0);
  g_byte_array_append (edit, data, c1);
  g_byte_array_append (edit, data + c2, c3 - c2);
  g_byte_array_append (edit, data + c1, c2 - c1);
  g_byte_array_append (edit, data + c3, len - c3);
  g_assert_cmpuint (edit->len, ==, len);
  assert_stream_damaged (key, edit->data, edit->len);

  /* The final chunk moved to the front: its tag is final, but not in its
   * place. */
  g_byte_array_set_size (edit, 0);
  g_byte_array_append (edit, data, 28);
  g_byte_array_append (edit, data + last, len - last);
  assert_stream_damaged (key, edit->data, edit->len);

  /* Trailing bytes after the final chunk: one byte, and a whole chunk. */
  g_byte_array_set_size (edit, 0);
  g_byte_array_append (edit, data, len);
  g_byte_array_append (edit, (const guint8 *) "", 1);
  assert_stream_damaged (key, edit->data, edit->len);
  g_byte_array_set_size (edit, len);
  g_byte_array_append (edit, data + last, len - last);
  assert_stream_damaged (key, edit->data, edit->len);

  /* A length beyond one chunk is refused before anything is allocated or
   * read; so is one too short to hold a tag. */
  {
    const guint32 lengths[] = { G_MAXUINT32, FK_STREAM_CHUNK + 18, 16, 0 };

    for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
      {
        g_byte_array_set_size (edit, 0);
        g_byte_array_append (edit, data, len);
        edit->data[28] = (guint8) (lengths[i] >> 24);
        edit->data[29] = (guint8) (lengths[i] >> 16);
        edit->data[30] = (guint8) (lengths[i] >> 8);
        edit->data[31] = (guint8) lengths[i];
        assert_stream_damaged (key, edit->data, edit->len);
      }
  }

  /* Wrong magic, a flipped bit in the header, in a chunk, and in the final
   * chunk's tag. */
  {
    const gsize flips[] = { 0, 3, 4, 27, 32, c1 + 100, len - 1 };

    for (guint i = 0; i < G_N_ELEMENTS (flips); i++)
      {
        g_byte_array_set_size (edit, 0);
        g_byte_array_append (edit, data, len);
        edit->data[flips[i]] ^= 0x04;
        assert_stream_damaged (key, edit->data, edit->len);
      }
  }

  /* Another key. */
  assert_stream_damaged (other_key, data, len);

  /* The untouched stream still opens. */
  {
    g_autoptr(GBytes) opened = fk_stream_decrypt_bytes (key, sealed, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (opened, plain));
  }
}

static void
test_stream_empty_tampering (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkSecret) key = fk_secret_new_random ();
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) sealed = NULL;
  const guint8 *data;
  gsize len;

  sealed = fk_stream_encrypt_bytes (key, empty, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (sealed, &len);
  g_assert_cmpuint (len, ==, 28 + 4 + 17);

  /* Without its one final chunk an empty attachment is a truncated one. */
  assert_stream_damaged (key, data, 28);
  for (gsize bit = 0; bit < len * 8; bit++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);

      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
      assert_stream_damaged (key, copy, len);
    }
}

static void
test_stream_wrong_key_length (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkSecret) short_key = fk_secret_new_from ((const guint8 *) "0123456789abcdef", 16);
  g_autoptr(GBytes) plain = pattern_bytes (10);
  g_autoptr(GBytes) sealed = NULL;

  sealed = fk_stream_encrypt_bytes (short_key, plain, &error);
  g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
  g_assert_null (sealed);
}

/* ------------------------------------------------------------------------ *
 * Identity
 * ------------------------------------------------------------------------ */

static void
test_identity_sign_verify (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkIdentity) identity = NULL;
  g_autoptr(FkIdentity) other = NULL;
  const char *manifest = "{\"packet\":\"p-1\",\"sequence\":7}";
  gsize len = strlen (manifest);
  g_autofree guint8 *copy = g_memdup2 (manifest, len);
  guint8 signature[crypto_sign_BYTES];
  guint8 empty_signature[crypto_sign_BYTES];

  identity = fk_identity_generate (&error);
  g_assert_no_error (error);
  other = fk_identity_generate (&error);
  g_assert_no_error (error);
  g_assert_false (fk_equal (fk_identity_public_key (identity),
                            fk_identity_public_key (other), crypto_sign_PUBLICKEYBYTES));

  fk_identity_sign (identity, (const guint8 *) manifest, len, signature);
  g_assert_true (fk_signature_verify (fk_identity_public_key (identity),
                                      (const guint8 *) manifest, len, signature));
  g_assert_false (fk_signature_verify (fk_identity_public_key (other),
                                       (const guint8 *) manifest, len, signature));

  /* Every single-bit change in the message breaks the signature. */
  for (gsize bit = 0; bit < len * 8; bit++)
    {
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
      g_assert_false (fk_signature_verify (fk_identity_public_key (identity), copy, len, signature));
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
    }
  g_assert_false (fk_signature_verify (fk_identity_public_key (identity), copy, len - 1, signature));

  signature[10] ^= 0x20;
  g_assert_false (fk_signature_verify (fk_identity_public_key (identity),
                                       (const guint8 *) manifest, len, signature));

  fk_identity_sign (identity, NULL, 0, empty_signature);
  g_assert_true (fk_signature_verify (fk_identity_public_key (identity), NULL, 0, empty_signature));
}

static void
test_identity_from_secret (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkIdentity) identity = NULL;
  g_autoptr(FkIdentity) restored = NULL;
  guint8 stored[crypto_sign_SECRETKEYBYTES];
  guint8 signature[crypto_sign_BYTES];

  identity = fk_identity_generate (&error);
  g_assert_no_error (error);
  memcpy (stored, fk_identity_secret_key (identity), sizeof stored);

  restored = fk_identity_new_from_secret (stored, sizeof stored, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (fk_identity_public_key (restored), crypto_sign_PUBLICKEYBYTES,
                   fk_identity_public_key (identity), crypto_sign_PUBLICKEYBYTES);
  g_assert_cmpmem (fk_identity_secret_key (restored), crypto_sign_SECRETKEYBYTES,
                   stored, sizeof stored);

  /* Signed by the restored key, verified with the original public key. */
  fk_identity_sign (restored, (const guint8 *) "ack", 3, signature);
  g_assert_true (fk_signature_verify (fk_identity_public_key (identity),
                                      (const guint8 *) "ack", 3, signature));

  {
    g_autoptr(FkIdentity) bad = fk_identity_new_from_secret (stored, 32, &error);
    g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID);
    g_assert_null (bad);
    g_clear_error (&error);
  }

  /* A damaged public half no longer matches the seed. */
  stored[40] ^= 0x01;
  {
    g_autoptr(FkIdentity) bad = fk_identity_new_from_secret (stored, sizeof stored, &error);
    g_assert_error (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED);
    g_assert_null (bad);
  }
  sodium_memzero (stored, sizeof stored);
}

/* ------------------------------------------------------------------------ *
 * Main
 * ------------------------------------------------------------------------ */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);
  fk_lang_set ("en");

  if (!fk_crypto_init (&error))
    g_error ("fk_crypto_init: %s", error->message);

  g_test_add_func ("/crypto/init/idempotent", test_init_idempotent);
  g_test_add_func ("/crypto/hash/known-answer", test_hash_known_answer);
  g_test_add_func ("/crypto/hex/roundtrip", test_hex_roundtrip);
  g_test_add_func ("/crypto/fingerprint/format", test_fingerprint_format);
  g_test_add_func ("/crypto/equal", test_equal);
  g_test_add_func ("/crypto/secret/basic", test_secret);
  g_test_add_func ("/crypto/bytes/wiped", test_bytes_wiped);
  g_test_add_func ("/crypto/wipe/free", test_wipe_free);
  g_test_add_func ("/crypto/kdf/limits", test_kdf_limits);
  g_test_add_func ("/crypto/kdf/operator-strength", test_kdf_operator_strength);
  g_test_add_func ("/crypto/vault/keyslot-roundtrip", test_keyslot_roundtrip);
  g_test_add_func ("/crypto/vault/wrong-passphrase", test_wrong_passphrase);
  g_test_add_func ("/crypto/vault/wrong-passphrase-zh", test_wrong_passphrase_zh);
  g_test_add_func ("/crypto/vault/keyslot-bytes", test_keyslot_bytes);
  g_test_add_func ("/crypto/vault/limits-refused", test_limits_refused);
  g_test_add_func ("/crypto/vault/threads", test_vault_threads);
  g_test_add_func ("/crypto/record/roundtrip", test_record_roundtrip);
  g_test_add_func ("/crypto/record/wrong-place", test_record_wrong_place);
  g_test_add_func ("/crypto/record/bit-flips", test_record_bit_flips);
  g_test_add_func ("/crypto/blind/deterministic", test_blind_index);
  g_test_add_func ("/crypto/recovery/generate-normalize", test_recovery_generate_normalize);
  g_test_add_func ("/crypto/recovery/full-width", test_recovery_full_width);
  g_test_add_func ("/crypto/recovery/typo", test_recovery_typo);
  g_test_add_func ("/crypto/recovery/opens-vault", test_recovery_opens_vault);
  g_test_add_func ("/crypto/stream/roundtrip", test_stream_roundtrip);
  g_test_add_func ("/crypto/stream/gio", test_stream_gio);
  g_test_add_func ("/crypto/stream/tampering", test_stream_tampering);
  g_test_add_func ("/crypto/stream/empty-tampering", test_stream_empty_tampering);
  g_test_add_func ("/crypto/stream/wrong-key-length", test_stream_wrong_key_length);
  g_test_add_func ("/crypto/identity/sign-verify", test_identity_sign_verify);
  g_test_add_func ("/crypto/identity/from-secret", test_identity_from_secret);

  return g_test_run ();
}
