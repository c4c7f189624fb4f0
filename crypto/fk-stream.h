/* fk-stream.h — attachment encryption with
 * crypto_secretstream_xchacha20poly1305 in 64 KiB chunks.
 *
 * Format: "FKS1" (4 bytes) || secretstream header (24 bytes) || chunks.
 * Each chunk: ciphertext length as u32 BE || ciphertext (plain + 17 bytes).
 * The last chunk carries TAG_FINAL; an empty input is one empty final chunk.
 * Truncation, reordering, a missing final tag or trailing bytes are
 * FK_CRYPTO_ERROR_DAMAGED.
 */
#pragma once

#include <gio/gio.h>

#include "crypto/fk-crypto.h"

G_BEGIN_DECLS

#define FK_STREAM_CHUNK (64 * 1024)

gboolean fk_stream_encrypt       (const FkSecret *key,
                                  GInputStream   *in,
                                  GOutputStream  *out,
                                  GCancellable   *cancellable,
                                  GError        **error);
/* Plaintext is written to out as each chunk verifies, so a stream that
 * fails part-way has already written some of it: on FALSE, discard (and
 * wipe) whatever reached out.  Errors from in/out (including cancellation)
 * are passed through in G_IO_ERROR; a key that is not 32 bytes is
 * FK_CRYPTO_ERROR_INVALID; anything wrong with the sealed bytes themselves
 * is FK_CRYPTO_ERROR_DAMAGED. */
gboolean fk_stream_decrypt       (const FkSecret *key,
                                  GInputStream   *in,
                                  GOutputStream  *out,
                                  GCancellable   *cancellable,
                                  GError        **error);

/* Buffer conveniences over the same format. Decrypted bytes are wiped on free. */
GBytes  *fk_stream_encrypt_bytes (const FkSecret *key,
                                  GBytes         *plain,
                                  GError        **error);
GBytes  *fk_stream_decrypt_bytes (const FkSecret *key,
                                  GBytes         *sealed,
                                  GError        **error);

G_END_DECLS
