/* fk-stream.c — attachment encryption with secretstream, see fk-stream.h.
 *
 * Layout: "FKS1" || header (24) || { u32 BE length || ciphertext }*.
 * Secretstream numbers its chunks internally, so a dropped, repeated or
 * reordered chunk fails to verify; what this file adds is the framing, the
 * length cap and the rule that TAG_FINAL comes last with nothing after it.
 */
#include "crypto/fk-stream.h"

#include <string.h>

#include "crypto/fk-i18n.h"

/* ------------------------------------------------------------------------ *
 * Types and constants
 * ------------------------------------------------------------------------ */

#define STREAM_MAGIC        "FKS1"
#define STREAM_MAGIC_BYTES  4
#define STREAM_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define STREAM_PREFIX_BYTES (STREAM_MAGIC_BYTES + STREAM_HEADER_BYTES)
#define STREAM_ABYTES       crypto_secretstream_xchacha20poly1305_ABYTES
#define STREAM_LENGTH_BYTES 4
#define STREAM_MAX_CIPHER   (FK_STREAM_CHUNK + STREAM_ABYTES)

G_STATIC_ASSERT (STREAM_HEADER_BYTES == 24);
G_STATIC_ASSERT (STREAM_ABYTES == 17);

/* Buffers for one encryption or decryption, allocated once and reused for
 * every chunk.  The secretstream state holds a key derived from the
 * attachment key, so it lives in sodium_malloc memory; plaintext buffers
 * are wiped before they are freed. */
typedef struct
{
  crypto_secretstream_xchacha20poly1305_state *state;
  guint8 *plain;       /* FK_STREAM_CHUNK bytes */
  guint8 *lookahead;   /* FK_STREAM_CHUNK bytes, encryption only */
  guint8 *frame;       /* length prefix and ciphertext of one chunk */
} StreamWork;

/* ------------------------------------------------------------------------ *
 * Helpers
 * ------------------------------------------------------------------------ */

static void
stream_work_free (StreamWork *work)
{
  if (work == NULL)
    return;

  if (work->state != NULL)
    sodium_free (work->state);
  if (work->plain != NULL)
    {
      sodium_memzero (work->plain, FK_STREAM_CHUNK);
      g_free (work->plain);
    }
  if (work->lookahead != NULL)
    {
      sodium_memzero (work->lookahead, FK_STREAM_CHUNK);
      g_free (work->lookahead);
    }
  g_free (work->frame);
  g_free (work);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StreamWork, stream_work_free)

static StreamWork *
stream_work_new (const FkSecret  *key,
                 gboolean         with_lookahead,
                 GError         **error)
{
  g_autoptr(StreamWork) work = NULL;

  if (fk_secret_len (key) != crypto_secretstream_xchacha20poly1305_KEYBYTES)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_INVALID,
                           _("The attachment key has the wrong length; the attachment cannot be opened. "
                                 "Report this to the office administrator."));
      return NULL;
    }

  work = g_new0 (StreamWork, 1);
  work->state = sodium_malloc (sizeof *work->state);
  if (work->state == NULL)
    {
      g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_FAILED,
                           _("There is not enough memory to process the attachment. "
                                 "Close other apps and try again."));
      return NULL;
    }
  work->plain = g_malloc (FK_STREAM_CHUNK);
  if (with_lookahead)
    work->lookahead = g_malloc (FK_STREAM_CHUNK);
  work->frame = g_malloc (STREAM_LENGTH_BYTES + STREAM_MAX_CIPHER);

  return g_steal_pointer (&work);
}

static void
set_damaged (GError **error)
{
  g_set_error_literal (error, FK_CRYPTO_ERROR, FK_CRYPTO_ERROR_DAMAGED,
                       _("The stored attachment does not verify: it is incomplete, damaged or altered. "
                             "Do not use it; take the photo or signature again if you can and report it to your supervisor."));
}

static void
put_u32_be (guint8  *out,
            guint32  value)
{
  out[0] = (guint8) (value >> 24);
  out[1] = (guint8) (value >> 16);
  out[2] = (guint8) (value >> 8);
  out[3] = (guint8) value;
}

static guint32
get_u32_be (const guint8 *in)
{
  return ((guint32) in[0] << 24) | ((guint32) in[1] << 16) |
         ((guint32) in[2] << 8) | (guint32) in[3];
}

/* ------------------------------------------------------------------------ *
 * Public API
 * ------------------------------------------------------------------------ */

gboolean
fk_stream_encrypt (const FkSecret  *key,
                   GInputStream    *in,
                   GOutputStream   *out,
                   GCancellable    *cancellable,
                   GError         **error)
{
  g_autoptr(StreamWork) work = NULL;
  guint8 prefix[STREAM_PREFIX_BYTES];
  gsize current_len = 0;
  gboolean final = FALSE;

  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (G_IS_INPUT_STREAM (in), FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  work = stream_work_new (key, TRUE, error);
  if (work == NULL)
    return FALSE;

  memcpy (prefix, STREAM_MAGIC, STREAM_MAGIC_BYTES);
  crypto_secretstream_xchacha20poly1305_init_push (work->state,
                                                   prefix + STREAM_MAGIC_BYTES,
                                                   fk_secret_bytes (key));
  if (!g_output_stream_write_all (out, prefix, sizeof prefix, NULL, cancellable, error))
    return FALSE;

  if (!g_input_stream_read_all (in, work->plain, FK_STREAM_CHUNK, &current_len,
                                cancellable, error))
    return FALSE;

  /* A chunk can only be tagged final once we know nothing follows it, so
   * the next chunk is read before the current one is sealed.  This way an
   * input that is an exact multiple of the chunk size does not end in an
   * extra empty chunk, and an empty input is a single empty final chunk. */
  while (!final)
    {
      gsize next_len = 0;
      unsigned long long cipher_len = 0;
      guint8 *swap;

      /* Not every stream looks at the cancellable (memory streams never
       * do), so a long attachment checks it once per chunk. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      final = current_len < FK_STREAM_CHUNK;
      if (!final)
        {
          if (!g_input_stream_read_all (in, work->lookahead, FK_STREAM_CHUNK, &next_len,
                                        cancellable, error))
            return FALSE;
          final = next_len == 0;
        }

      crypto_secretstream_xchacha20poly1305_push (work->state,
                                                  work->frame + STREAM_LENGTH_BYTES, &cipher_len,
                                                  work->plain, current_len,
                                                  NULL, 0,
                                                  final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                                        : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
      put_u32_be (work->frame, (guint32) cipher_len);
      if (!g_output_stream_write_all (out, work->frame, STREAM_LENGTH_BYTES + (gsize) cipher_len,
                                      NULL, cancellable, error))
        return FALSE;

      swap = work->plain;
      work->plain = work->lookahead;
      work->lookahead = swap;
      current_len = next_len;
    }

  return TRUE;
}

gboolean
fk_stream_decrypt (const FkSecret  *key,
                   GInputStream    *in,
                   GOutputStream   *out,
                   GCancellable    *cancellable,
                   GError         **error)
{
  g_autoptr(StreamWork) work = NULL;
  guint8 prefix[STREAM_PREFIX_BYTES];
  gsize got = 0;

  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (G_IS_INPUT_STREAM (in), FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  work = stream_work_new (key, FALSE, error);
  if (work == NULL)
    return FALSE;

  if (!g_input_stream_read_all (in, prefix, sizeof prefix, &got, cancellable, error))
    return FALSE;
  if (got != sizeof prefix ||
      memcmp (prefix, STREAM_MAGIC, STREAM_MAGIC_BYTES) != 0 ||
      crypto_secretstream_xchacha20poly1305_init_pull (work->state,
                                                       prefix + STREAM_MAGIC_BYTES,
                                                       fk_secret_bytes (key)) != 0)
    {
      set_damaged (error);
      return FALSE;
    }

  for (;;)
    {
      guint8 *cipher = work->frame + STREAM_LENGTH_BYTES;
      unsigned long long plain_len = 0;
      unsigned char tag = 0;
      guint8 extra;
      guint32 cipher_len;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      /* Running out of input here, before a final chunk, is truncation. */
      if (!g_input_stream_read_all (in, work->frame, STREAM_LENGTH_BYTES, &got,
                                    cancellable, error))
        return FALSE;
      if (got != STREAM_LENGTH_BYTES)
        {
          set_damaged (error);
          return FALSE;
        }

      /* The length is checked before anything is read into the buffer, so
       * a forged length can neither overrun it nor make us wait for data
       * that no honest writer would have produced. */
      cipher_len = get_u32_be (work->frame);
      if (cipher_len < STREAM_ABYTES || cipher_len > STREAM_MAX_CIPHER)
        {
          set_damaged (error);
          return FALSE;
        }

      if (!g_input_stream_read_all (in, cipher, cipher_len, &got, cancellable, error))
        return FALSE;
      if (got != cipher_len ||
          crypto_secretstream_xchacha20poly1305_pull (work->state, work->plain, &plain_len, &tag,
                                                      cipher, cipher_len, NULL, 0) != 0 ||
          (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
           tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL))
        {
          set_damaged (error);
          return FALSE;
        }

      if (!g_output_stream_write_all (out, work->plain, (gsize) plain_len, NULL,
                                      cancellable, error))
        return FALSE;

      if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        continue;

      /* The final chunk must also be the end of the input. */
      if (!g_input_stream_read_all (in, &extra, 1, &got, cancellable, error))
        return FALSE;
      if (got != 0)
        {
          set_damaged (error);
          return FALSE;
        }
      return TRUE;
    }
}

GBytes *
fk_stream_encrypt_bytes (const FkSecret  *key,
                         GBytes          *plain,
                         GError         **error)
{
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (plain != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  in = g_memory_input_stream_new_from_bytes (plain);
  out = g_memory_output_stream_new_resizable ();
  if (!fk_stream_encrypt (key, in, out, NULL, error) ||
      !g_output_stream_close (out, NULL, error))
    return NULL;

  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

GBytes *
fk_stream_decrypt_bytes (const FkSecret  *key,
                         GBytes          *sealed,
                         GError         **error)
{
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  guint8 *plain;
  gsize capacity;
  gsize plain_len;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (sealed != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The plaintext is always shorter than the sealed form, so one buffer of
   * that size never grows.  A growing buffer would be realloc'd and leave
   * unwiped copies of the plaintext behind in freed memory. */
  capacity = g_bytes_get_size (sealed);
  plain = g_malloc (capacity + 1);

  in = g_memory_input_stream_new_from_bytes (sealed);
  out = g_memory_output_stream_new (plain, capacity + 1, NULL, NULL);
  if (!fk_stream_decrypt (key, in, out, NULL, error))
    {
      sodium_memzero (plain, capacity + 1);
      g_free (plain);
      return NULL;
    }

  plain_len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  return fk_bytes_new_wiped (plain, plain_len);
}
