/* fk-test-office.h — an office in the test's own process, for the tests
 * that talk to one: a set-up office store, its server on 127.0.0.1, invites
 * made the way `fieldkit-office device invite` makes them, and a device
 * store enrolled through fk_sync_enroll.
 *
 * Everything is static inline, as in fk-test-util.h (included here for the
 * device side: fk_test_store_new, fk_test_make_tmp, fk_test_rm_rf …).
 * Set FK_TEST_OFFICE_LOG to see the server's request lines.
 */
#pragma once

#include <string.h>
#include <glib.h>

#include "app/fk-packet.h"
#include "app/fk-store.h"
#include "crypto/fk-crypto.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"
#include "sync/fk-sync.h"

#include "fk-test-util.h"

#define FK_TEST_PASS_ADMIN "office admin passphrase"

/* Opens dir as a new office TCN with alice as its administrator
 * (FK_TEST_PASS_ADMIN); *keys gets the office's unlocked keys. */
static inline FkOfficeStore *
fk_test_office_new (const char    *dir,
                    FkOfficeKeys **keys)
{
  g_autoptr(GError) error = NULL;
  FkOfficeStore *office = fk_office_store_open (dir, &error);
  char *recovery = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (office);
  *keys = fk_office_store_init (office, "TCN", "alice", FK_TEST_PASS_ADMIN, &recovery, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*keys);
  g_assert_nonnull (recovery);
  fk_recovery_key_free (recovery);
  return office;
}

/* Starts a server for the office with options (NULL: the defaults): on
 * 127.0.0.1 and an ephemeral port unless the options name others, quiet
 * unless FK_TEST_OFFICE_LOG is set.  *url, when not NULL, gets the server's
 * address as a device is given it. */
static inline FkOfficeServer *
fk_test_office_start (FkOfficeStore               *office,
                      FkOfficeKeys                *keys,
                      const FkOfficeServerOptions *options,
                      char                       **url)
{
  g_autoptr(GError) error = NULL;
  FkOfficeServerOptions so = { 0 };
  FkOfficeServer *server;

  if (options != NULL)
    so = *options;
  if (so.address == NULL)
    so.address = "127.0.0.1";
  so.quiet = g_getenv ("FK_TEST_OFFICE_LOG") == NULL;
  server = fk_office_server_start (office, keys, &so, &error);
  g_assert_no_error (error);
  g_assert_nonnull (server);
  g_assert_cmpuint (fk_office_server_port (server), >, 0);
  if (url != NULL)
    *url = g_strdup_printf ("http://%s:%u", so.address, fk_office_server_port (server));
  return server;
}

/* An invite as `fieldkit-office device invite` makes it (PROTOCOL §3.2): a
 * random 20-character base32 code, of which the office keeps only the id
 * and the proof key H("fk-invite-key" || code).  It expires ttl_s seconds
 * from now (a negative ttl_s: already expired).  Returns the code. */
static inline char *
fk_test_invite (FkOfficeStore *office,
                const char    *name,
                gint64         ttl_s)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *m = NULL;
  char code[21];
  guint8 key[32];

  for (int i = 0; i < 20; i++)
    code[i] = alphabet[randombytes_uniform (32)];
  code[20] = '\0';
  id = fk_invite_id (code);
  m = g_strconcat ("fk-invite-key", code, NULL);
  fk_hash ((const guint8 *) m, strlen (m), key);
  g_assert_true (fk_office_store_add_invite (office, id, name, key,
                                             g_get_real_time () / G_USEC_PER_SEC + ttl_s, &error));
  g_assert_no_error (error);
  return g_strdup (code);
}

/* Enrols the device store with the office served at url, through a fresh
 * invite and the office's fingerprint, as "test tablet". */
static inline void
fk_test_enroll (FkStore       *device,
                FkOfficeStore *office,
                FkOfficeKeys  *keys,
                const char    *url)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = fk_test_invite (office, "tablet", 3600);

  g_assert_true (fk_sync_enroll (device, url, code, keys->fingerprint, "test tablet", &error));
  g_assert_no_error (error);
}
