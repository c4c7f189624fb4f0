/* fk-crypto.c — error domain, start-up and small helpers, see fk-crypto.h.
 *
 * Everything here is a thin wrapper over libsodium.  The wrappers exist so
 * that the rest of FieldKit never handles a raw libsodium return code and
 * never frees a secret without wiping it first.
 */
#include "crypto/fk-crypto.h"

#include <string.h>
#include <sys/resource.h>
#ifdef __linux__
# include <sys/prctl.h>
#endif

#include "crypto/fk-i18n.h"

/* ------------------------------------------------------------------------ *
 * Types
 * ------------------------------------------------------------------------ */

/* The whole struct lives in one sodium_malloc allocation so the length sits
 * next to the bytes and the guard pages cover both. */
struct _FkSecret
{
  gsize  len;
  guint8 bytes[];
};

/* A plaintext handed out in a GBytes: the free function needs the length to
 * wipe it, and GDestroyNotify only carries one pointer. */
typedef struct
{
  guint8 *data;
  gsize   len;
} WipedBuffer;

/* Outcome of the one-time start-up, kept so later calls can report it. */
enum
{
  INIT_OK = 1,
  INIT_SODIUM_FAILED,
  INIT_CORE_DUMPS_FAILED,
};

/* ------------------------------------------------------------------------ *
 * Error domain
 * ------------------------------------------------------------------------ */

G_DEFINE_QUARK (fk-crypto-error-quark, fk_crypto_error)

/* ------------------------------------------------------------------------ *
 * Helpers
 * ------------------------------------------------------------------------ */

static gsize
crypto_init_once (void)
{
  struct rlimit no_core = { 0, 0 };

  if (sodium_init () < 0)
    return INIT_SODIUM_FAILED;

  /* Keys sit in ordinary process memory while in use; a core file or a
   * debugger attached after a crash would carry them off the device.  Both
   * the soft and the hard limit go to zero so a child cannot raise them. */
  if (setrlimit (RLIMIT_CORE, &no_core) != 0)
    return INIT_CORE_DUMPS_FAILED;

#ifdef __linux__
  /* Not dumpable also means no core via a core_pattern pipe and no ptrace
   * attach by another process running as the same user. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return INIT_CORE_DUMPS_FAILED;
#endif

  return INIT_OK;
}

static void
wiped_buffer_free (gpointer user_data)
{
  WipedBuffer *buffer = user_data;

  if (buffer->data != NULL && buffer->len > 0)
    sodium_memzero (buffer->data, buffer->len);
  g_free (buffer->data);
  g_free (buffer);
}

/* ------------------------------------------------------------------------ *
 * Public API
 * ------------------------------------------------------------------------ */

gboolean
fk_crypto_init (GError **error)
{
  static gsize state = 0;

  /* The first caller does the work; every later caller (from any thread)
   * sees the same outcome without touching the process limits again. */
  if (g_once_init_enter (&state))
    g_once_init_leave (&state, crypto_init_once ());

  switch (state)
    {
    case INIT_OK:
      return TRUE;

    case INIT_SODIUM_FAILED:
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("The encryption library could not start (no source of randomness?). "
                                 "Restart the device; if this keeps happening, contact the office administrator."));
      return FALSE;

    case INIT_CORE_DUMPS_FAILED:
    default:
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("Crash dumps could not be switched off, so keys could leak in a crash report. "
                                 "FieldKit will not open protected data; contact the office administrator."));
      return FALSE;
    }
}

void
fk_hash (const guint8 *data,
         gsize         len,
         guint8        out[32])
{
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (out != NULL);

  crypto_generichash (out, 32, data, len, NULL, 0);
}

char *
fk_hex_encode (const guint8 *data,
               gsize         len)
{
  char *hex;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  hex = g_malloc (len * 2 + 1);
  if (len == 0)
    {
      hex[0] = '\0';
      return hex;
    }
  sodium_bin2hex (hex, len * 2 + 1, data, len);
  return hex;
}

gboolean
fk_hex_decode (const char *hex,
               guint8     *out,
               gsize       out_len)
{
  size_t decoded = 0;

  g_return_val_if_fail (hex != NULL, FALSE);
  g_return_val_if_fail (out != NULL || out_len == 0, FALSE);

  /* With hex_end NULL, sodium_hex2bin refuses anything that is not all hex
   * (odd length, stray characters) and anything longer than out_len. */
  if (strlen (hex) != out_len * 2)
    return FALSE;
  if (out_len == 0)
    return TRUE;
  if (sodium_hex2bin (out, out_len, hex, out_len * 2, NULL, &decoded, NULL) != 0 ||
      decoded != out_len)
    {
      sodium_memzero (out, out_len);
      return FALSE;
    }
  return TRUE;
}

char *
fk_fingerprint (const guint8 *public_key,
                gsize         len)
{
  guint8 digest[32];
  GString *out;

  g_return_val_if_fail (public_key != NULL || len == 0, NULL);

  fk_hash (public_key, len, digest);

  /* 16 bytes are 32 hex digits: enough that two keys never collide by
   * chance, few enough that two people can read them to each other. */
  out = g_string_sized_new (8 * 5);
  for (guint i = 0; i < 16; i += 2)
    {
      if (i > 0)
        g_string_append_c (out, '-');
      g_string_append_printf (out, "%02X%02X", digest[i], digest[i + 1]);
    }
  return g_string_free (out, FALSE);
}

gboolean
fk_equal (const guint8 *a,
          const guint8 *b,
          gsize         len)
{
  g_return_val_if_fail (a != NULL || len == 0, FALSE);
  g_return_val_if_fail (b != NULL || len == 0, FALSE);

  if (len == 0)
    return TRUE;
  return sodium_memcmp (a, b, len) == 0;
}

FkSecret *
fk_secret_new_random (void)
{
  FkSecret *secret;

  secret = sodium_malloc (sizeof (FkSecret) + 32);
  /* Like g_malloc, running out of memory here is not something a caller
   * can recover from, and handing back NULL would only move the crash. */
  if (secret == NULL)
    g_error ("sodium_malloc failed: out of secure memory");

  secret->len = 32;
  randombytes_buf (secret->bytes, secret->len);
  return secret;
}

FkSecret *
fk_secret_new_from (const guint8 *bytes,
                    gsize         len)
{
  FkSecret *secret;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (len > 0 && len <= G_MAXSIZE - sizeof (FkSecret), NULL);

  /* sodium_malloc places the block against its guard page, so a size that
   * is not a multiple of 16 gives a misaligned struct (its documentation
   * says so): round up. */
  secret = sodium_malloc ((sizeof (FkSecret) + len + 15) & ~(gsize) 15);
  if (secret == NULL)
    g_error ("sodium_malloc failed: out of secure memory");

  secret->len = len;
  memcpy (secret->bytes, bytes, len);
  return secret;
}

const guint8 *
fk_secret_bytes (const FkSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);

  return secret->bytes;
}

gsize
fk_secret_len (const FkSecret *secret)
{
  g_return_val_if_fail (secret != NULL, 0);

  return secret->len;
}

void
fk_secret_free (FkSecret *secret)
{
  /* sodium_free wipes the allocation before unmapping it. */
  if (secret != NULL)
    sodium_free (secret);
}

void
fk_wipe_free (gpointer string)
{
  char *s = string;

  if (s == NULL)
    return;
  sodium_memzero (s, strlen (s));
  g_free (s);
}

GBytes *
fk_bytes_new_wiped (guint8 *data_take,
                    gsize   len)
{
  WipedBuffer *buffer;

  g_return_val_if_fail (data_take != NULL || len == 0, NULL);

  buffer = g_new (WipedBuffer, 1);
  buffer->data = data_take;
  buffer->len = len;
  return g_bytes_new_with_free_func (data_take, len, wiped_buffer_free, buffer);
}
