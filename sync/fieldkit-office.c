/* fieldkit-office — the office side of FieldKit (DESIGN.md §7, §9).
 *
 * Layout: output (error names, times), opening the store, one function per
 * command, the command table and the program's description for
 * fk_cli_main (app/fk-args.c: arguments, passphrases, output, exit codes).
 *
 * The admin passphrase comes from FIELDKIT_ADMIN_PASSPHRASE,
 * --passphrase-file, or a no-echo prompt; never argv.  Exit codes: 0 ok,
 * 1 refused, 2 usage, 3 internal.  --json prints one JSON document.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "app/fk-args.h"
#include "app/fk-catalog.h"
#include "app/fk-date.h"
#include "app/fk-packet.h"
#include "app/fk-store.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-passphrase.h"
#include "crypto/fk-vault.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"

/* ---- output ----------------------------------------------------------------------- */

/* Stable machine-readable name for an error, e.g. "wrong_passphrase". */
static const char *
error_code (const GError *error)
{
  static const char *const names[] = {
    "failed", "not_initialized", "exists", "not_found", "wrong_passphrase", "invalid",
    "invite_invalid", "invite_used", "invite_expired", "full", "conflict", "bad_packet",
    "bad_manifest", "bad_audit", "unknown_device", "device_revoked",
  };

  if (error->domain == FK_OFFICE_ERROR && (guint) error->code < G_N_ELEMENTS (names))
    return names[error->code];
  if (error->domain == FK_CRYPTO_ERROR)
    return error->code == FK_CRYPTO_ERROR_WRONG_PASSPHRASE ? "wrong_passphrase" : "crypto";
  if (error->domain == FK_PACKET_ERROR)
    return "bad_packet";
  if (error->domain == G_FILE_ERROR)
    return "file";
  return "failed";
}

static char *
time_text (gint64 t)
{
  return t ? fk_office_iso_time (t) : g_strdup ("-");
}

/* ---- the store ------------------------------------------------------------------------------- */

static FkOfficeStore *
open_store (const FkArgs  *args,
            gboolean       must_exist,
            GError       **error)
{
  g_autofree char *dir = NULL;
  g_autoptr(FkOfficeStore) store = NULL;

  if (fk_args_opt (args, "data-dir"))
    dir = g_strdup (fk_args_opt (args, "data-dir"));
  else if (g_getenv ("FIELDKIT_OFFICE_HOME"))
    dir = g_strdup (g_getenv ("FIELDKIT_OFFICE_HOME"));
  else
    dir = g_build_filename (g_get_user_data_dir (), "fieldkit-office", NULL);
  store = fk_office_store_open (dir, error);
  if (store == NULL)
    return NULL;
  if (must_exist && !fk_office_store_is_initialized (store))
    {
      g_set_error (error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_INITIALIZED,
                   _("No office is set up in %s yet. Run \"fieldkit-office init --admin NAME\" first."), dir);
      return NULL;
    }
  return g_steal_pointer (&store);
}

static FkOfficeKeys *
unlock (const FkArgs   *args,
        FkOfficeStore  *store,
        GError        **error)
{
  g_auto(FkPassphrase) pass = fk_cli_passphrase (args, "FIELDKIT_ADMIN_PASSPHRASE", "passphrase-file",
                                                _("Admin passphrase: "), FALSE, error);

  if (pass == NULL)
    return NULL;
  return fk_office_store_unlock (store, pass, error);
}

/* ---- commands: setup --------------------------------------------------------------------------- */

static int
cmd_init (const FkArgs *args)
{
  static const char *const allowed[] = { "admin", "office-code", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_auto(FkPassphrase) pass = NULL;
  char *recovery = NULL;
  const char *admin = fk_args_opt (args, "admin");
  const char *code = fk_args_opt (args, "office-code") ? fk_args_opt (args, "office-code") : "FK";

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (admin == NULL || *admin == '\0')
    return fk_cli_usage ("%s", _("init needs --admin NAME"));
  if ((store = open_store (args, FALSE, &error)) == NULL)
    return fk_cli_fail (error);
  pass = fk_cli_passphrase (args, "FIELDKIT_ADMIN_PASSPHRASE", "passphrase-file",
                            _("New admin passphrase: "), TRUE, &error);
  if (pass == NULL)
    return fk_cli_fail (error);
  keys = fk_office_store_init (store, code, admin, pass, &recovery, &error);
  if (keys == NULL)
    return fk_cli_fail (error);
  fk_office_store_log (store, admin, "office.init", keys->key_id, "{}", NULL);

  fk_cli_say (_("Office %s is set up in %s."), code, fk_office_store_data_dir (store));
  fk_cli_say (_("Office fingerprint: %s"), keys->fingerprint);
  fk_cli_say (_("Office key id:      %s"), keys->key_id);
  fk_cli_say ("%s", _("Recovery key (shown once; write it down and keep it locked away —"));
  fk_cli_say ("%s", _("it opens the office keys if every admin passphrase is forgotten):"));
  fk_cli_say ("  %s", recovery);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "office_code", code);
  fk_cli_add_str (b, "data_dir", fk_office_store_data_dir (store));
  fk_cli_add_str (b, "fingerprint", keys->fingerprint);
  fk_cli_add_str (b, "key_id", keys->key_id);
  fk_cli_add_str (b, "recovery_key", recovery);
  fk_cli_emit (fk_cli_ok_document (b));
  fk_recovery_key_free (recovery);
  return FK_EXIT_OK;
}

static int
cmd_admin (const FkArgs *args)
{
  static const char *const allowed[] = { "name", "new-passphrase-file", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_auto(FkPassphrase) pass = NULL;
  const char *name = fk_args_opt (args, "name");

  if (g_strcmp0 (fk_args_word (args, 1), "add") != 0 || !fk_args_check (args, allowed, &error) || name == NULL)
    return fk_cli_usage ("%s", error ? error->message : "admin add --name NAME");
  if ((store = open_store (args, TRUE, &error)) == NULL || (keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);
  {
    g_autofree char *prompt = g_strdup_printf (_("New passphrase for %s: "), name);

    pass = fk_cli_passphrase (args, "FIELDKIT_NEW_ADMIN_PASSPHRASE", "new-passphrase-file", prompt, TRUE, &error);
  }
  if (pass == NULL || !fk_office_store_add_admin (store, keys, name, pass, &error))
    return fk_cli_fail (error);
  fk_office_store_log (store, keys->admin, "admin.add", name, "{}", NULL);
  fk_cli_say (_("Administrator %s can now unlock the office keys."), name);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "admin", name);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* Every admin passphrase forgotten (or one admin's): the recovery key that
 * init printed opens the office keys, and the admin gets a new passphrase
 * (their old one stops working).  The recovery key keeps working. */
static int
cmd_recover (const FkArgs *args)
{
  static const char *const allowed[] = { "admin", "recovery-key-file", "new-passphrase-file", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_auto(FkPassphrase) key = NULL;
  g_auto(FkPassphrase) pass = NULL;
  g_autofree char *detail = NULL;
  const char *name = fk_args_opt (args, "admin");
  guint replaced = 0;

  if (!fk_args_check (args, allowed, &error) || name == NULL || fk_args_word (args, 1) != NULL)
    return fk_cli_usage ("%s", error ? error->message : "recover --admin NAME");
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);
  key = fk_cli_passphrase (args, "FIELDKIT_RECOVERY_KEY", "recovery-key-file", _("Recovery key: "), FALSE, &error);
  if (key == NULL || (keys = fk_office_store_unlock_recovery (store, key, &error)) == NULL)
    return fk_cli_fail (error);
  {
    g_autofree char *prompt = g_strdup_printf (_("New passphrase for %s: "), name);

    pass = fk_cli_passphrase (args, "FIELDKIT_NEW_ADMIN_PASSPHRASE", "new-passphrase-file", prompt, TRUE, &error);
  }
  if (pass == NULL || !fk_office_store_set_admin_passphrase (store, keys, name, pass, &replaced, &error))
    return fk_cli_fail (error);
  detail = g_strdup_printf ("{\"replaced\":%u}", replaced);
  fk_office_store_log (store, keys->admin, "admin.recover", name, detail, NULL);
  if (replaced > 0)
    fk_cli_say (_("Administrator %s has a new passphrase; the old one no longer opens the office keys. "
                  "The recovery key still does: keep it locked away."), name);
  else
    fk_cli_say (_("Administrator %s was added with the recovery key. "
                  "The recovery key still opens the office keys: keep it locked away."), name);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "admin", name);
  fk_cli_add_int (b, "replaced", replaced);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* A consistent copy of the whole office, while it serves. */
static int
cmd_backup (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char *dest = fk_args_word (args, 1);
  gint64 packets = 0;
  guint64 bytes = 0;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (dest == NULL || fk_args_word (args, 2) != NULL)
    return fk_cli_usage ("backup DIR");
  if ((store = open_store (args, TRUE, &error)) == NULL ||
      !fk_office_store_backup (store, dest, &packets, &bytes, &error))
    return fk_cli_fail (error);
  fk_cli_say (_("The office is copied to %s: %lld packets, %.1f MB. The copy holds the office "
                "keys sealed as they are here (an admin passphrase or the recovery key opens them): keep it "
                "as safe as the office. To restore, serve from it: fieldkit-office --data-dir %s serve"),
              dest, (long long) packets, (double) bytes / 1e6, dest);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "backup", dest);
  fk_cli_add_int (b, "packets", packets);
  fk_cli_add_int (b, "bytes", (gint64) bytes);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* ---- commands: serve ------------------------------------------------------------------------------ */

static gboolean
read_pem (const char  *path,
          char       **out,
          GError     **error)
{
  *out = NULL;
  if (path == NULL)
    return TRUE;
  return g_file_get_contents (path, out, NULL, error);
}

static int
cmd_serve (const FkArgs *args)
{
  static const char *const allowed[] = { "listen", "tls-cert", "tls-key", "port-file", "faults", "threads", "quiet", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autofree char *address = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  const char *listen = fk_args_opt (args, "listen") ? fk_args_opt (args, "listen") : "127.0.0.1:7390";
  const char *colon = strrchr (listen, ':');
  FkOfficeServerOptions options = { 0 };
  FkOfficeServer *server;
  guint64 port = 0, threads = 0;   /* 0: a thread per connection */
  sigset_t set;
  int sig = 0;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    return fk_cli_usage ("%s", _("--listen takes ADDRESS:PORT, e.g. 127.0.0.1:7390"));
  if (fk_args_opt (args, "threads") && !g_ascii_string_to_unsigned (fk_args_opt (args, "threads"), 10, 1, 64, &threads, NULL))
    return fk_cli_usage ("--threads N");
  address = g_strndup (listen, (gsize) (colon - listen));
  if (!read_pem (fk_args_opt (args, "tls-cert"), &cert, &error) || !read_pem (fk_args_opt (args, "tls-key"), &key, &error))
    return fk_cli_fail (error);
  if ((store = open_store (args, TRUE, &error)) == NULL || (keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);

  /* Signals are taken by sigwait below; the server's threads inherit the
   * blocked mask so none of them is interrupted. */
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);

  options.address = address;
  options.port = (guint16) port;
  options.tls_cert_pem = cert;
  options.tls_key_pem = key;
  options.threads = (guint) threads;
  options.faults = fk_args_opt (args, "faults");
  options.quiet = fk_args_opt (args, "quiet") != NULL;
  server = fk_office_server_start (store, keys, &options, &error);
  if (server == NULL)
    return fk_cli_fail (error);
  if (fk_args_opt (args, "port-file"))
    {
      g_autofree char *text = g_strdup_printf ("%u\n", fk_office_server_port (server));

      if (!g_file_set_contents (fk_args_opt (args, "port-file"), text, -1, &error))
        {
          fk_office_server_stop (server, 0);
          return fk_cli_fail (error);
        }
    }
  printf ("listening on %s://%s:%u\n", cert ? "https" : "http", address, fk_office_server_port (server));
  fflush (stdout);

  while (sigwait (&set, &sig) != 0)
    ;
  fprintf (stderr, "fieldkit-office: %s, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  fk_office_server_stop (server, 30);
  return FK_EXIT_OK;
}

/* ---- commands: devices ------------------------------------------------------------------------------ */

static void
device_json (JsonBuilder          *b,
             const FkOfficeDevice *d)
{
  g_autofree char *enrolled = time_text (d->enrolled_at);
  g_autofree char *seen = time_text (d->last_seen);
  g_autofree char *revoked = d->revoked_at ? time_text (d->revoked_at) : NULL;

  json_builder_begin_object (b);
  fk_cli_add_str (b, "device_id", d->device_id);
  fk_cli_add_int (b, "number", d->number);
  fk_cli_add_str (b, "name", d->name);
  fk_cli_add_str (b, "device_name", d->device_name);
  fk_cli_add_str (b, "enrolled_at", enrolled);
  fk_cli_add_str (b, "last_seen", d->last_seen ? seen : NULL);
  fk_cli_add_int (b, "packets", d->n_packets);
  fk_cli_add_bool (b, "revoked", d->revoked_at != 0);
  fk_cli_add_str (b, "revoked_at", revoked);
  json_builder_end_object (b);
}

static int
cmd_device_invite (const FkArgs   *args,
                   FkOfficeStore  *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *invite_id = NULL;
  g_autofree char *expires = NULL;
  g_autofree char *m = NULL;
  GString *grouped = g_string_new (NULL);
  const char *name = fk_args_opt (args, "name");
  const char *ttl_env = g_getenv ("FIELDKIT_INVITE_TTL_S");
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  char code[21];
  guint8 key[32];
  gint64 ttl = 24 * 3600, expires_at;

  if (name == NULL || *name == '\0')
    return fk_cli_usage ("%s", _("device invite needs --name NAME"));
  if (ttl_env != NULL)
    ttl = g_ascii_strtoll (ttl_env, NULL, 10);
  if ((keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);

  for (int i = 0; i < 20; i++)
    code[i] = alphabet[randombytes_uniform (32)];
  code[20] = '\0';
  invite_id = fk_invite_id (code);
  m = g_strconcat ("fk-invite-key", code, NULL);
  fk_hash ((const guint8 *) m, strlen (m), key);
  sodium_memzero (m, strlen (m));
  expires_at = g_get_real_time () / G_USEC_PER_SEC + ttl;
  if (!fk_office_store_add_invite (store, invite_id, name, key, expires_at, &error))
    {
      sodium_memzero (key, sizeof key);
      g_string_free (grouped, TRUE);
      return fk_cli_fail (error);
    }
  sodium_memzero (key, sizeof key);
  fk_office_store_log (store, keys->admin, "device.invite", invite_id, "{}", NULL);
  for (int i = 0; i < 20; i += 4)
    {
      if (i > 0)
        g_string_append_c (grouped, '-');
      g_string_append_len (grouped, code + i, 4);
    }
  expires = fk_office_iso_time (expires_at);

  fk_cli_say (_("Invite for %s:"), name);
  fk_cli_say (_("  code:        %s   (one use; never sent over the network)"), grouped->str);
  fk_cli_say (_("  fingerprint: %s"), keys->fingerprint);
  fk_cli_say (_("  expires:     %s"), expires);
  fk_cli_say (_("On the device: fieldkit-cli enroll http://OFFICE:7390 --code %s --fingerprint %s"),
       grouped->str, keys->fingerprint);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "name", name);
  fk_cli_add_str (b, "code", grouped->str);
  fk_cli_add_str (b, "invite_id", invite_id);
  fk_cli_add_str (b, "fingerprint", keys->fingerprint);
  fk_cli_add_str (b, "expires_at", expires);
  fk_cli_add_str (b, "url_hint", "http://OFFICE:7390");
  fk_cli_emit (fk_cli_ok_document (b));
  sodium_memzero (code, sizeof code);
  sodium_memzero (grouped->str, grouped->len);
  g_string_free (grouped, TRUE);
  return FK_EXIT_OK;
}

static int
cmd_device (const FkArgs *args)
{
  static const char *const allowed[] = { "name", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char *verb = fk_args_word (args, 1);

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (verb == NULL)
    return fk_cli_usage ("device invite --name NAME | device list | device revoke ID");
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);

  if (g_str_equal (verb, "invite"))
    return cmd_device_invite (args, store);

  if (g_str_equal (verb, "list"))
    {
      g_autoptr(GPtrArray) devices = fk_office_store_list_devices (store, &error);

      if (devices == NULL)
        return fk_cli_fail (error);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "devices");
      json_builder_begin_array (b);
      {
        g_autofree char *id = fk_cli_pad (_("device id"), 32);
        g_autofree char *name = fk_cli_pad (_("name"), 16);
        g_autofree char *enrolled = fk_cli_pad (_("enrolled"), 20);
        g_autofree char *seen = fk_cli_pad (_("last seen"), 20);
        g_autofree char *packets = fk_cli_pad (_("packets"), 7);

        fk_cli_say ("%-3s %s %s %s %s %s %s", "#", id, name, enrolled, seen, packets, _("state"));
      }
      for (guint i = 0; i < devices->len; i++)
        {
          FkOfficeDevice *d = devices->pdata[i];
          g_autofree char *enrolled = time_text (d->enrolled_at);
          g_autofree char *seen = time_text (d->last_seen);

          g_autofree char *name = fk_cli_pad (d->name, 16);

          fk_cli_say ("%-3u %-32s %s %-20s %-20s %7u %s", d->number, d->device_id, name, enrolled, seen,
                      d->n_packets, d->revoked_at ? _("revoked") : _("active"));
          device_json (b, d);
        }
      if (devices->len == 0)
        fk_cli_say ("%s", _("No devices are enrolled yet."));
      json_builder_end_array (b);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }

  if (g_str_equal (verb, "revoke"))
    {
      g_autoptr(FkOfficeKeys) keys = NULL;
      g_autoptr(FkOfficeDevice) d = NULL;

      if (fk_args_word (args, 2) == NULL)
        return fk_cli_usage ("device revoke ID");
      if ((d = fk_office_store_get_device (store, fk_args_word (args, 2), &error)) == NULL ||
          (keys = unlock (args, store, &error)) == NULL ||
          !fk_office_store_revoke_device (store, d->device_id, g_get_real_time () / G_USEC_PER_SEC, &error))
        return fk_cli_fail (error);
      fk_office_store_log (store, keys->admin, "device.revoke", d->device_id, "{}", NULL);
      fk_cli_say (_("Device %u (%s) is revoked; it can no longer upload."),
           d->number, d->name);
      json_builder_begin_object (b);
      fk_cli_add_str (b, "device_id", d->device_id);
      fk_cli_add_int (b, "number", d->number);
      fk_cli_add_bool (b, "revoked", TRUE);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }
  return fk_cli_usage (_("unknown device command \"%s\""), verb);
}

/* ---- commands: inbox, case, review ---------------------------------------------------------------------- */

static const char *
review_label (const char *review)
{
  if (g_strcmp0 (review, "approved") == 0)
    return _("approved");
  if (g_strcmp0 (review, "returned") == 0)
    return _("returned");
  return _("pending");
}

/* The services' names for people: the catalog this office published, else
 * the one FieldKit ships; NULL when neither loads (ids are shown then). */
static FkCatalog *
office_catalog (FkOfficeStore *store)
{
  g_autofree char *path = g_build_filename (fk_office_store_data_dir (store), "catalog.json", NULL);
  FkCatalog *catalog = g_file_test (path, G_FILE_TEST_EXISTS) ? fk_catalog_load_file (path, NULL) : NULL;

  return catalog ? catalog : fk_catalog_load_default (NULL);
}

/* Received times (seconds) for the administrator: local time, to the
 * minute. */
static char *
local_time_text (gint64 t)
{
  char *text = fk_time_local_text (t * G_USEC_PER_SEC);

  return text ? text : g_strdup ("-");
}

static void
packet_json (JsonBuilder          *b,
             const FkOfficePacket *p)
{
  g_autofree char *received = time_text (p->received_at);

  fk_cli_add_int (b, "number", p->number);
  fk_cli_add_str (b, "packet_id", p->packet_id);
  fk_cli_add_str (b, "device_id", p->device_id);
  fk_cli_add_int (b, "device_number", p->device_number);
  fk_cli_add_int (b, "device_seq", p->device_seq);
  fk_cli_add_str (b, "case_uuid", p->case_uuid);
  fk_cli_add_str (b, "receipt_no", p->receipt_no);
  fk_cli_add_str (b, "service", p->service);
  fk_cli_add_str (b, "outing_kind", p->outing_kind);
  fk_cli_add_str (b, "outing_id", p->outing_id);
  fk_cli_add_str (b, "outing_date", p->outing_date);
  fk_cli_add_str (b, "corrects_receipt", p->corrects_receipt);
  fk_cli_add_str (b, "packet_hash", p->packet_hash);
  fk_cli_add_int (b, "size", p->size);
  fk_cli_add_str (b, "received_at", received);
  fk_cli_add_str (b, "review", p->review);
  fk_cli_add_str (b, "review_reason", p->review_reason);
}

static int
cmd_inbox (const FkArgs *args)
{
  static const char *const allowed[] = { "device", "outing", "review", NULL };
  static const char *const reviews[] = { "pending", "approved", "returned", NULL };
  const char *review = fk_args_opt (args, "review");
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(FkOfficeDevice) device = NULL;
  g_autoptr(FkCatalog) catalog = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *group = NULL;
  guint shown = 0;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (review && !g_strv_contains (reviews, review))
    return fk_cli_usage ("inbox --review pending|approved|returned");
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);
  if (fk_args_opt (args, "device") && (device = fk_office_store_get_device (store, fk_args_opt (args, "device"), &error)) == NULL)
    return fk_cli_fail (error);
  catalog = office_catalog (store);
  /* Manifests carry the outing's id on its device, its kind and its date,
   * never its title or place (PROTOCOL §4.2). */
  packets = fk_office_store_list_packets (store, device ? device->device_id : NULL, fk_args_opt (args, "outing"), &error);
  if (packets == NULL)
    return fk_cli_fail (error);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packets");
  json_builder_begin_array (b);
  for (guint i = 0; i < packets->len; i++)
    {
      FkOfficePacket *p = packets->pdata[i];
      g_autofree char *this_group = g_strdup_printf ("%u/%s/%s/%s", p->device_number,
                                                     p->outing_id ? p->outing_id : "",
                                                     p->outing_date ? p->outing_date : "",
                                                     p->outing_kind ? p->outing_kind : "");

      if (review && g_strcmp0 (p->review, review) != 0)
        continue;
      if (g_strcmp0 (group, this_group) != 0)
        {
          const char *kind = p->outing_kind ? fk_outing_kind_label (p->outing_kind) : "-";

          /* Packets sealed before devices named their outing are grouped by kind. */
          if (p->outing_id)
            fk_cli_say (_("Device %u, outing %s · %s · %s:"), p->device_number, p->outing_id, kind,
                        p->outing_date ? p->outing_date : "-");
          else
            fk_cli_say (_("Device %u, %s:"), p->device_number, kind);
          g_free (group);
          group = g_steal_pointer (&this_group);
        }
      {
        const FkService *service = catalog && p->service ? fk_catalog_lookup (catalog, p->service) : NULL;
        g_autofree char *local = local_time_text (p->received_at);
        g_autofree char *state = fk_cli_pad (review_label (p->review), 9);

        g_autofree char *corrects = p->corrects_receipt ? g_strdup_printf (_(" · corrects %s"), p->corrects_receipt) : NULL;

        fk_cli_say_row (22, p->receipt_no ? p->receipt_no : p->packet_id, "%s  %s %s%s", local, state,
                        service ? fk_service_name (service) : p->service ? p->service : "-",
                        corrects ? corrects : "");
      }
      shown++;
      json_builder_begin_object (b);
      packet_json (b, p);
      json_builder_end_object (b);
    }
  if (shown == 0)
    fk_cli_say ("%s", review ? _("No packet that has arrived has this review state.") : _("Nothing has arrived."));
  json_builder_end_array (b);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* A packet by its id or receipt number; the store finds none without an
 * error, which a command must still report. */
static FkOfficePacket *
find_packet (FkOfficeStore  *store,
             const char     *ref,
             GError        **error)
{
  GError *local = NULL;
  FkOfficePacket *row = fk_office_store_get_packet (store, ref, &local);

  if (row == NULL && local == NULL)
    g_set_error (&local, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_FOUND,
                 _("No packet or receipt number %s has arrived."), ref);
  if (local != NULL)
    g_propagate_error (error, local);
  return row;
}

static void
say_member (JsonObject *obj,
            const char *label,
            const char *name)
{
  JsonNode *n = obj ? json_object_get_member (obj, name) : NULL;

  if (n && json_node_get_value_type (n) == G_TYPE_STRING)
    fk_cli_say_row (16, label, "%s", json_node_get_string (n));
  else if (n && json_node_get_value_type (n) == G_TYPE_INT64)
    fk_cli_say_row (16, label, "%" G_GINT64_FORMAT, json_node_get_int (n));
}

/* The plaintext document inside a stored packet ({"case":…,
 * "attachments":[…]}, PROTOCOL §4.4), opened with the office box key; the
 * attachments' bytes too when ATTACHMENTS is not NULL. */
static JsonObject *
open_packet_case (FkOfficeStore        *store,
                  FkOfficeKeys         *keys,
                  const FkOfficePacket *row,
                  GPtrArray           **attachments,
                  GError              **error)
{
  g_autoptr(GBytes) bytes = fk_office_store_packet_bytes (store, row->packet_id, error);
  g_autoptr(FkPacket) packet = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  char *case_json = NULL;
  JsonObject *doc = NULL;

  if (bytes == NULL)
    return NULL;
  if ((packet = fk_packet_parse (bytes, error)) == NULL ||
      !fk_packet_open (packet, keys->box, &case_json, attachments, error))
    return NULL;
  if (json_parser_load_from_data (parser, case_json, -1, error))
    {
      if (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        doc = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
      else
        g_set_error_literal (error, FK_PACKET_ERROR, FK_PACKET_ERROR_FORMAT, _("The message is not valid JSON."));
    }
  fk_passphrase_free (case_json);
  return doc;
}

/* The person's ID number inside a stored packet, or NULL. */
static char *
packet_person_id (FkOfficeStore        *store,
                  FkOfficeKeys         *keys,
                  const FkOfficePacket *row)
{
  g_autoptr(JsonObject) doc = open_packet_case (store, keys, row, NULL, NULL);
  JsonObject *kase, *person;

  kase = doc && json_object_has_member (doc, "case") ? json_object_get_object_member (doc, "case") : NULL;
  person = kase && json_object_has_member (kase, "person") ? json_object_get_object_member (kase, "person") : NULL;
  return person ? g_strdup (json_object_get_string_member_with_default (person, "person_id", NULL)) : NULL;
}

/* A correction (補正): which returned case it supersedes, why that one was
 * returned, and whether it names the same person — printed, and as the
 * "corrects" object of the JSON document. */
static JsonNode *
say_corrects (FkOfficeStore        *store,
              FkOfficeKeys         *keys,
              const FkOfficePacket *row,
              const char           *old_uuid,
              JsonObject           *person)
{
  g_autoptr(FkOfficePacket) old = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *old_id = NULL;
  const char *new_id = person ? json_object_get_string_member_with_default (person, "person_id", NULL) : NULL;

  /* By the receipt number the manifest names (indexed), if that packet is
   * the case it says; else by the case's uuid. */
  if (row->corrects_receipt)
    old = fk_office_store_get_packet (store, row->corrects_receipt, NULL);
  if (old == NULL || g_strcmp0 (old->case_uuid, old_uuid) != 0)
    {
      g_clear_pointer (&old, fk_office_packet_free);
      old = fk_office_store_get_packet (store, old_uuid, NULL);
    }
  json_builder_begin_object (b);
  fk_cli_add_str (b, "case_uuid", old_uuid);
  if (old == NULL)
    {
      fk_cli_say_row (16, _("corrects"), _("case %s, which has not arrived here"), old_uuid);
      json_builder_end_object (b);
      return json_builder_get_root (b);
    }
  fk_cli_say_row (16, _("corrects"), "%s (%s%s%s)", old->receipt_no ? old->receipt_no : old->packet_id,
                  review_label (old->review), old->review_reason ? ": " : "",
                  old->review_reason ? old->review_reason : "");
  old_id = packet_person_id (store, keys, old);
  if (old_id && g_strcmp0 (old_id, new_id) != 0)
    fk_cli_say_row (16, "", _("The ID number differs from the returned case's (%s): check that this is the same person."),
                    old_id);
  fk_cli_add_str (b, "packet_id", old->packet_id);
  fk_cli_add_str (b, "receipt_no", old->receipt_no);
  fk_cli_add_str (b, "review", old->review);
  fk_cli_add_str (b, "review_reason", old->review_reason);
  if (old_id)
    fk_cli_add_bool (b, "same_person", g_strcmp0 (old_id, new_id) == 0);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* `case view`: one attachment's bytes to standard output, for an image
 * viewer on the other end of a pipe; nothing is written to a file.  The
 * bytes must match the hash the case lists, and the view is in the
 * office's audit log. */
static int
view_attachment (FkOfficeStore        *store,
                 FkOfficeKeys         *keys,
                 const FkOfficePacket *row,
                 JsonArray            *list,
                 GPtrArray            *attachments,
                 guint                 n)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *detail = NULL;
  JsonObject *a;
  GBytes *data;
  const guint8 *p;
  gsize len;
  guint8 h[32];

  if (list == NULL || n > json_array_get_length (list) || n > attachments->len)
    {
      g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_NOT_FOUND,
                   _("Packet %s has %u attachment(s); there is no attachment %u."),
                   row->packet_id, list ? MIN (json_array_get_length (list), attachments->len) : 0, n);
      return fk_cli_fail (error);
    }
  a = json_array_get_object_element (list, n - 1);
  data = attachments->pdata[n - 1];
  p = g_bytes_get_data (data, &len);
  fk_hash (p, len, h);
  hex = fk_hex_encode (h, 32);
  if (!g_str_equal (hex, json_object_get_string_member_with_default (a, "hash", "")))
    {
      g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_FAILED,
                   _("Attachment %u of packet %s does not match the hash its case lists; it was not shown. Ask the device to send the case again."),
                   n, row->packet_id);
      return fk_cli_fail (error);
    }
  detail = g_strdup_printf ("{\"attachment\":%u,\"kind\":\"%s\"}", n,
                            json_object_get_string_member_with_default (a, "kind", "?"));
  fk_office_store_log (store, keys->admin, "case.view", row->packet_id, detail, NULL);
  while (len > 0)
    {
      ssize_t w = write (STDOUT_FILENO, p, len);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno),
                       _("The attachment could not be written to standard output: %s."), g_strerror (errno));
          return fk_cli_fail (error);
        }
      p += w;
      len -= (gsize) w;
    }
  return FK_EXIT_OK;
}

static int
cmd_case (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(FkOfficePacket) row = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  JsonObject *kase, *person, *outing, *fields;
  JsonArray *list;
  gboolean all_ok = TRUE;
  g_autoptr(FkCatalog) catalog = NULL;
  const FkService *service = NULL;
  JsonNode *corrects = NULL;

  static const char *const view_options[] = { "attachment", NULL };
  gboolean view = g_strcmp0 (fk_args_word (args, 1), "view") == 0;
  guint64 wanted = 1;

  if (!fk_cli_check_options (args, view ? view_options : NULL))
    return FK_EXIT_USAGE;
  if ((!view && g_strcmp0 (fk_args_word (args, 1), "show") != 0) || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("case show ID|RECEIPT | case view ID|RECEIPT [--attachment N]");
  if (view && fk_args_opt (args, "attachment") &&
      !g_ascii_string_to_unsigned (fk_args_opt (args, "attachment"), 10, 1, 1000, &wanted, NULL))
    return fk_cli_usage ("case view ID|RECEIPT [--attachment N]   (N: 1, 2, …)");
  if (view && isatty (STDOUT_FILENO))
    {
      g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                   _("case view writes the photo's bytes to standard output, not to a terminal: pipe it into an image viewer, "
                     "for example \"fieldkit-office case view %s | display -\"."), fk_args_word (args, 2));
      return fk_cli_fail (error);
    }
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);
  if ((row = find_packet (store, fk_args_word (args, 2), &error)) == NULL)
    return fk_cli_fail (error);
  if ((keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);
  if ((doc = open_packet_case (store, keys, row, &attachments, &error)) == NULL)
    return fk_cli_fail (error);
  kase = json_object_get_object_member (doc, "case");
  list = json_object_get_array_member (doc, "attachments");
  if (view)
    return view_attachment (store, keys, row, list, attachments, (guint) wanted);
  person = kase && json_object_has_member (kase, "person") ? json_object_get_object_member (kase, "person") : NULL;
  outing = kase && json_object_has_member (kase, "outing") ? json_object_get_object_member (kase, "outing") : NULL;
  fields = kase && json_object_has_member (kase, "fields") ? json_object_get_object_member (kase, "fields") : NULL;
  catalog = office_catalog (store);
  service = catalog && kase ? fk_catalog_lookup (catalog, json_object_get_string_member_with_default (kase, "service", "")) : NULL;
  fk_office_store_log (store, keys->admin, "case.show", row->packet_id, "{}", NULL);

  fk_cli_say (_("Packet %s (device %u, receipt %s), %s"),
       row->packet_id, row->device_number, row->receipt_no ? row->receipt_no : "-", review_label (row->review));
  say_member (kase, _("case"), "uuid");
  if (kase && json_object_get_string_member_with_default (kase, "supersedes", NULL))
    corrects = say_corrects (store, keys, row, json_object_get_string_member (kase, "supersedes"), person);
  if (service)
    fk_cli_say_row (16, _("service"), "%s (%s)", fk_service_name (service),
                    json_object_get_string_member (kase, "service"));
  else
    say_member (kase, _("service"), "service");
  if (outing && json_object_get_string_member_with_default (outing, "kind", NULL))
    fk_cli_say_row (16, _("outing"), "%s", fk_outing_kind_label (json_object_get_string_member (outing, "kind")));
  say_member (outing, _("outing date"), "date");
  say_member (outing, _("outing title"), "title");
  say_member (outing, _("place"), "place");
  say_member (person, _("ID number"), "person_id");
  say_member (person, _("full name"), "name");
  say_member (person, _("birth date"), "birth_date");
  if (fields)
    {
      g_autoptr(GList) names = json_object_get_members (fields);

      /* The service's own words for its fields and choices, as the clerk
       * saw them; the key itself for a field the catalog does not know. */
      for (GList *l = names; l; l = l->next)
        {
          const FkField *field = service ? fk_service_field (service, l->data) : NULL;
          JsonNode *n = json_object_get_member (fields, l->data);

          if (field && json_node_get_value_type (n) == G_TYPE_STRING)
            fk_cli_say_row (16, fk_field_label (field), "%s",
                            fk_field_choice_label (field, json_node_get_string (n)));
          else
            say_member (fields, field ? fk_field_label (field) : l->data, l->data);
        }
    }
  if (kase && json_object_has_member (kase, "ticked"))
    {
      JsonArray *ticked = json_object_get_array_member (kase, "ticked");

      /* One line per document the clerk saw, in the checklist's words. */
      for (guint i = 0; ticked && i < json_array_get_length (ticked); i++)
        {
          const char *id = json_array_get_string_element (ticked, i);
          const FkChecklistItem *item = service ? fk_service_checklist_item (service, id) : NULL;

          fk_cli_say_row (16, i == 0 ? _("documents seen") : "", "%s", item ? fk_checklist_item_label (item) : id);
        }
    }
  say_member (kase, _("created by"), "created_by");
  say_member (kase, _("approved by"), "approved_by");
  if (kase && json_object_get_member (kase, "sealed_at") &&
      json_node_get_value_type (json_object_get_member (kase, "sealed_at")) == G_TYPE_INT64)
    {
      /* Microseconds since 1970 in the payload (PROTOCOL §4.4): local time here. */
      g_autofree char *sealed = local_time_text (json_object_get_int_member (kase, "sealed_at") / G_USEC_PER_SEC);

      fk_cli_say_row (16, _("sealed at"), "%s", sealed);
    }
  else
    say_member (kase, _("sealed at"), "sealed_at");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packet");
  json_builder_begin_object (b);
  packet_json (b, row);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "case");
  json_builder_add_value (b, kase ? json_node_copy (json_object_get_member (doc, "case")) : json_node_new (JSON_NODE_NULL));
  if (corrects)
    {
      json_builder_set_member_name (b, "corrects");
      json_builder_add_value (b, corrects);
    }
  json_builder_set_member_name (b, "attachments");
  json_builder_begin_array (b);
  for (guint i = 0; list && i < json_array_get_length (list) && i < attachments->len; i++)
    {
      JsonObject *a = json_array_get_object_element (list, i);
      GBytes *data = attachments->pdata[i];
      guint8 h[32];
      g_autofree char *hex = NULL;
      const char *want = json_object_get_string_member_with_default (a, "hash", "");
      gboolean ok;

      fk_hash (g_bytes_get_data (data, NULL), g_bytes_get_size (data), h);
      hex = fk_hex_encode (h, 32);
      ok = g_str_equal (hex, want) &&
           json_object_get_int_member_with_default (a, "size", -1) == (gint64) g_bytes_get_size (data);
      all_ok = all_ok && ok;
      fk_cli_say (_("  attachment %u: %s %s, %" "zu" " bytes, %s — %s"),
           i + 1, json_object_get_string_member_with_default (a, "kind", "?"),
           json_object_get_string_member_with_default (a, "mime", "?"), g_bytes_get_size (data), hex,
           ok ? _("hash checked") : _("DOES NOT MATCH the list"));
      json_builder_begin_object (b);
      fk_cli_add_str (b, "kind", json_object_get_string_member_with_default (a, "kind", NULL));
      fk_cli_add_str (b, "mime", json_object_get_string_member_with_default (a, "mime", NULL));
      fk_cli_add_int (b, "size", (gint64) g_bytes_get_size (data));
      fk_cli_add_str (b, "hash", hex);
      fk_cli_add_bool (b, "hash_ok", ok);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  fk_cli_add_bool (b, "attachments_ok", all_ok);
  fk_cli_emit (fk_cli_ok_document (b));
  return all_ok ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

static int
cmd_review (const FkArgs *args)
{
  static const char *const allowed[] = { "approve", "return", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(FkOfficePacket) row = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *detail = NULL;
  const char *reason = fk_args_opt (args, "return");
  gboolean approve = fk_args_opt (args, "approve") != NULL;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (fk_args_word (args, 1) == NULL || approve == (reason != NULL) || (reason && *reason == '\0'))
    return fk_cli_usage ("review ID --approve | --return REASON");
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);
  if ((row = find_packet (store, fk_args_word (args, 1), &error)) == NULL)
    return fk_cli_fail (error);
  if ((keys = unlock (args, store, &error)) == NULL ||
      !fk_office_store_review (store, row->packet_id, approve ? "approved" : "returned", reason,
                               g_get_real_time () / G_USEC_PER_SEC, &error))
    return fk_cli_fail (error);
  detail = g_strdup_printf ("{\"decision\":\"%s\"}", approve ? "approved" : "returned");
  fk_office_store_log (store, keys->admin, "review", row->packet_id, detail, NULL);
  fk_cli_say (approve ? _("Packet %s (receipt %s) is approved; device %u will be told at its next sync.")
               : _("Packet %s (receipt %s) is returned for correction; device %u will be told at its next sync."),
       row->packet_id, row->receipt_no ? row->receipt_no : "-", row->device_number);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "packet_id", row->packet_id);
  fk_cli_add_str (b, "decision", approve ? "approved" : "returned");
  fk_cli_add_str (b, "reason", reason);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* ---- commands: bundles and audit ------------------------------------------------------------------------ */

static guint64
get_u64 (const guint8 *p)
{
  guint64 v = 0;

  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static gboolean
audit_is_empty (const char *body,
                gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *doc;

  if (!json_parser_load_from_data (parser, body, (gssize) len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  doc = json_node_get_object (json_parser_get_root (parser));
  return json_object_has_member (doc, "entries") &&
         JSON_NODE_HOLDS_ARRAY (json_object_get_member (doc, "entries")) &&
         json_array_get_length (json_object_get_array_member (doc, "entries")) == 0;
}

/* The device whose key signed the first uploaded audit entry, for a bundle
 * without packets to name it. */
static FkOfficeDevice *
audit_signer (FkOfficeStore *store,
              const char    *body,
              gsize          len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) devices = NULL;
  JsonObject *doc, *first;
  JsonArray *entries;
  guint8 hash[32], sig[64];

  if (!json_parser_load_from_data (parser, body, (gssize) len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  doc = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (doc, "entries") ||
      (entries = json_object_get_array_member (doc, "entries")) == NULL ||
      json_array_get_length (entries) == 0 ||
      (first = json_array_get_object_element (entries, 0)) == NULL ||
      !fk_hex_decode (json_object_get_string_member_with_default (first, "hash", ""), hash, 32) ||
      !fk_hex_decode (json_object_get_string_member_with_default (first, "sig", ""), sig, 64) ||
      (devices = fk_office_store_list_devices (store, NULL)) == NULL)
    return NULL;
  for (guint i = 0; i < devices->len; i++)
    {
      FkOfficeDevice *d = devices->pdata[i];

      if (fk_signature_verify (d->sign_pk, hash, 32, sig))
        return g_ptr_array_steal_index (devices, i);
    }
  return NULL;
}

static int
cmd_bundle (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *device_id = NULL;
  g_autofree char *detail = NULL;
  const guint8 *data;
  gsize len, pos = 8;
  guint32 n;
  guint stored = 0, duplicates = 0, refused = 0;
  gboolean mixed = FALSE, audit_ok = TRUE;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "import") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("bundle import FILE");
  if ((store = open_store (args, TRUE, &error)) == NULL)
    return fk_cli_fail (error);
  if ((mapped = g_mapped_file_new (fk_args_word (args, 2), FALSE, &error)) == NULL)
    return fk_cli_fail (error);
  file = g_mapped_file_get_bytes (mapped);
  data = g_bytes_get_data (file, &len);
  if (len < 8 || memcmp (data, "FKB1", 4) != 0)
    {
      g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                   _("%s is not a FieldKit bundle."), fk_args_word (args, 2));
      return fk_cli_fail (error);
    }
  if ((keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);
  n = ((guint32) data[4] << 24) | ((guint32) data[5] << 16) | ((guint32) data[6] << 8) | data[7];

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packets");
  json_builder_begin_array (b);
  for (guint32 i = 0; i < n; i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) local = NULL;
      g_autoptr(FkPacket) peek = NULL;
      g_autofree char *ack = NULL;
      gboolean duplicate = FALSE;
      guint64 plen;

      if (len - pos < 8 || (plen = get_u64 (data + pos)) > len - pos - 8 || plen > FK_OFFICE_MAX_PACKET_BYTES)
        {
          g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                       _("The bundle is cut short or damaged at packet %u of %u."), i + 1, n);
          json_builder_end_array (b);
          return fk_cli_fail (error);
        }
      bytes = g_bytes_new_from_bytes (file, pos + 8, (gsize) plen);
      pos += 8 + (gsize) plen;
      peek = fk_packet_parse (bytes, NULL);
      if (peek != NULL)
        {
          if (device_id == NULL)
            device_id = g_strdup (peek->device_id);
          else if (g_strcmp0 (device_id, peek->device_id) != 0)
            mixed = TRUE;
        }
      ack = fk_office_ingest_packet (store, keys, bytes, NULL, NULL, &duplicate, &local);
      json_builder_begin_object (b);
      fk_cli_add_str (b, "packet_id", peek ? peek->packet_id : NULL);
      if (ack == NULL)
        {
          refused++;
          fk_cli_say (_("packet %u (%s): refused: %s"), i + 1,
               peek ? peek->packet_id : "?", local->message);
          fk_cli_add_str (b, "result", "refused");
          fk_cli_add_str (b, "code", error_code (local));
          fk_cli_add_str (b, "message", local->message);
        }
      else
        {
          if (duplicate)
            duplicates++;
          else
            stored++;
          fk_cli_say (duplicate ? _("packet %u (%s): already here, acknowledged")
                         : _("packet %u (%s): stored"),
               i + 1, peek->packet_id);
          fk_cli_add_str (b, "result", duplicate ? "duplicate" : "stored");
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  /* The audit upload that ends the bundle. */
  if (len - pos >= 8)
    {
      guint64 alen = get_u64 (data + pos);

      if (alen <= len - pos - 8 && alen <= FK_OFFICE_MAX_JSON_BYTES * 64)
        {
          const char *body = (const char *) data + pos + 8;
          g_autoptr(FkOfficeDevice) device = NULL;
          g_autoptr(GError) local = NULL;
          g_autofree char *ack = NULL;

          if (device_id != NULL && !mixed)
            device = fk_office_store_get_device (store, device_id, NULL);
          else
            device = audit_signer (store, body, (gsize) alen);
          if (device != NULL)
            ack = fk_office_ingest_audit (store, keys, device, body, (gsize) alen, &local);
          else if (!audit_is_empty (body, (gsize) alen))
            g_set_error_literal (&local, FK_OFFICE_ERROR, FK_OFFICE_ERROR_BAD_AUDIT,
                                 _("no device enrolled here signed these audit entries"));
          if (ack != NULL)
            fk_cli_say ("%s", _("audit log: checked and stored"));
          else if (local != NULL)
            {
              audit_ok = FALSE;
              fk_cli_say (_("audit log: refused: %s"), local->message);
            }
          fk_cli_add_bool (b, "audit_ok", ack != NULL || local == NULL);
          if (local)
            fk_cli_add_str (b, "audit_error", local->message);
        }
    }
  fk_cli_add_int (b, "stored", stored);
  fk_cli_add_int (b, "duplicates", duplicates);
  fk_cli_add_int (b, "refused", refused);
  detail = g_strdup_printf ("{\"stored\":%u,\"duplicates\":%u,\"refused\":%u}", stored, duplicates, refused);
  fk_office_store_log (store, keys->admin, "bundle.import", device_id ? device_id : "-", detail, NULL);
  fk_cli_say (_("%u stored, %u already here, %u refused."),
       stored, duplicates, refused);
  fk_cli_emit (fk_cli_ok_document (b));
  return refused == 0 && audit_ok ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

static int
cmd_audit (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeDevice) device = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *reason = NULL;
  guint n = 0;
  gint64 first_bad = 0;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "verify") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("audit verify DEVICE");
  if ((store = open_store (args, TRUE, &error)) == NULL ||
      (device = fk_office_store_get_device (store, fk_args_word (args, 2), &error)) == NULL ||
      !fk_office_audit_verify (store, device->device_id, &n, &first_bad, &reason, &error))
    return fk_cli_fail (error);
  if (first_bad == 0)
    fk_cli_say (_("Device %u: %u audit entries, the chain and every signature check out."), device->number, n);
  else
    fk_cli_say (_("Device %u: %u audit entries; entry %" PRId64 " is the first bad one: %s."),
         device->number, n, first_bad, reason);
  json_builder_begin_object (b);
  fk_cli_add_str (b, "device_id", device->device_id);
  fk_cli_add_int (b, "entries", n);
  fk_cli_add_bool (b, "intact", first_bad == 0);
  fk_cli_add_int (b, "first_bad", first_bad);
  fk_cli_add_str (b, "reason", reason);
  fk_cli_emit (fk_cli_ok_document (b));
  return first_bad == 0 ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

/* Card hand-over (PROTOCOL §3.5): FILE lists which card was made for which
 * application ("receipt_no,card_number" per line, as the card centre
 * returns it).  For each device that took those applications, the students
 * and their card numbers go down in its next change feed, sealed to that
 * device's key; --export DIR also writes them as files for a USB stick. */
static int
cmd_handover (const FkArgs *args)
{
  static const char *const allowed[] = { "export", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(GHashTable) per_device = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_array_unref);
  g_autoptr(GHashTable) outings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint listed = 0, refused = 0;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "publish") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("handover publish FILE [--export DIR]");
  if ((store = open_store (args, TRUE, &error)) == NULL ||
      !g_file_get_contents (fk_args_word (args, 2), &contents, NULL, &error) ||
      (keys = unlock (args, store, &error)) == NULL)
    return fk_cli_fail (error);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rows");
  json_builder_begin_array (b);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) cells = g_strsplit (g_strstrip (lines[i]), ",", -1);
      g_autoptr(FkOfficePacket) row = NULL;
      g_autoptr(JsonObject) doc = NULL;
      g_autoptr(GError) local = NULL;
      JsonObject *kase, *person, *fields, *item;
      JsonArray *list;
      const char *receipt, *card;

      if (*g_strstrip (lines[i]) == '\0' || g_str_equal (g_strstrip (cells[0]), "receipt_no"))
        continue;
      if (g_strv_length (cells) < 2 || *cells[0] == '\0')
        {
          /* A line that is not receipt_no,card_number: said, never skipped in silence. */
          refused++;
          json_builder_begin_object (b);
          fk_cli_add_int (b, "line", i + 1);
          fk_cli_add_str (b, "result", "refused");
          fk_cli_add_str (b, "message", _("not \"receipt_no,card_number\""));
          json_builder_end_object (b);
          fk_cli_say (_("line %u: not \"receipt_no,card_number\"; refused"), i + 1);
          continue;
        }
      receipt = cells[0];
      card = g_strstrip (cells[1]);
      row = fk_office_store_get_packet (store, receipt, &local);
      if (row != NULL)
        doc = open_packet_case (store, keys, row, NULL, &local);
      kase = doc && json_object_has_member (doc, "case") ? json_object_get_object_member (doc, "case") : NULL;
      person = kase && json_object_has_member (kase, "person") ? json_object_get_object_member (kase, "person") : NULL;
      json_builder_begin_object (b);
      fk_cli_add_str (b, "receipt_no", receipt);
      if (person == NULL || *card == '\0')
        {
          refused++;
          const char *why = local ? local->message
                            : _("no application with this receipt number has arrived, or no card number");

          fk_cli_add_str (b, "result", "refused");
          fk_cli_add_str (b, "message", why);
          fk_cli_say (_("line %u: %s refused: %s"), i + 1, receipt, why);
          json_builder_end_object (b);
          continue;
        }
      fields = json_object_has_member (kase, "fields") ? json_object_get_object_member (kase, "fields") : NULL;
      item = json_object_new ();
      json_object_set_string_member (item, "receipt_no", receipt);
      json_object_set_string_member (item, "card_kind",
                                     g_str_has_prefix (json_object_get_string_member_with_default (kase, "service", ""), "certificate")
                                     ? "certificate" : "id_card");
      json_object_set_string_member (item, "card_number", card);
      json_object_set_object_member (item, "person", json_object_ref (person));
      if (fields && json_object_has_member (fields, "school_class"))
        json_object_set_string_member (item, "school_class", json_object_get_string_member (fields, "school_class"));
      if (fields && json_object_has_member (fields, "seat_number"))
        json_object_set_string_member (item, "seat_number", json_object_get_string_member (fields, "seat_number"));
      list = g_hash_table_lookup (per_device, row->device_id);
      if (list == NULL)
        {
          list = json_array_new ();
          g_hash_table_insert (per_device, g_strdup (row->device_id), list);
          if (json_object_has_member (kase, "outing"))
            g_hash_table_insert (outings, g_strdup (row->device_id),
                                 json_object_ref (json_object_get_object_member (kase, "outing")));
        }
      json_array_add_object_element (list, item);
      listed++;
      fk_cli_add_str (b, "result", "listed");
      fk_cli_add_int (b, "device", row->device_number);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  g_hash_table_iter_init (&iter, per_device);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr(FkOfficeDevice) device = fk_office_store_get_device (store, key, &error);
      g_autoptr(JsonObject) doc = json_object_new ();
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autoptr(GBytes) sealed = NULL;
      g_autofree char *text = NULL;
      g_autofree char *sealed_b64 = NULL;
      JsonObject *outing = g_hash_table_lookup (outings, key);
      JsonObject *o = json_object_new ();

      if (device == NULL)
        return fk_cli_fail (error);
      json_object_set_int_member (doc, "v", 1);
      json_object_set_string_member (o, "title", outing ? json_object_get_string_member_with_default (outing, "title", "") : "");
      json_object_set_string_member (o, "date", outing ? json_object_get_string_member_with_default (outing, "date", "") : "");
      json_object_set_object_member (doc, "outing", o);
      json_object_set_array_member (doc, "items", json_array_ref (value));
      json_node_set_object (node, doc);
      text = json_to_string (node, FALSE);
      sealed = fk_box_seal_to_identity (device->sign_pk, (const guint8 *) text, strlen (text), &error);
      fk_passphrase_free (g_steal_pointer (&text));
      if (sealed == NULL)
        return fk_cli_fail (error);
      sealed_b64 = fk_b64_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
      if (!fk_office_store_add_change (store, device->device_id, "handover", sealed_b64,
                                       g_get_real_time () / G_USEC_PER_SEC, &error))
        return fk_cli_fail (error);
      if (fk_args_opt (args, "export"))
        {
          g_autofree char *body = g_strdup_printf ("{\"v\":1,\"type\":\"handover\",\"device_id\":\"%s\",\"sealed\":\"%s\"}",
                                                   device->device_id, sealed_b64);
          g_autofree char *env = fk_envelope_sign (keys->sign, keys->key_id, body);
          g_autofree char *file = g_strdup_printf ("handover-device-%02u.json", device->number);
          g_autofree char *path = g_build_filename (fk_args_opt (args, "export"), file, NULL);

          if (g_mkdir_with_parents (fk_args_opt (args, "export"), 0700) != 0 ||
              !g_file_set_contents_full (path, env, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                         0600, &error))
            return fk_cli_fail (error);
        }
      fk_cli_say (_("Device %u: %u card(s) listed for hand-over; the device receives them at its next sync."),
           device->number, json_array_get_length (value));
      fk_office_store_log (store, keys->admin, "handover.publish", device->device_id, "{}", NULL);
    }
  if (listed == 0 && refused == 0)
    {
      g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                   _("%s has no hand-over lines: each line is \"receipt_no,card_number\" (a first line "
                     "\"receipt_no,card_number\" is allowed). Nothing was published."),
                   fk_args_word (args, 2));
      return fk_cli_fail (error);
    }
  fk_cli_add_int (b, "listed", listed);
  fk_cli_add_int (b, "refused", refused);
  fk_cli_emit (fk_cli_ok_document (b));
  return refused == 0 ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

/* Publishes a service catalog (reference data: services, fees, checklists)
 * for every device; each receives it signed in its next change feed. */
static int
cmd_catalog (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  g_autoptr(FkOfficeKeys) keys = NULL;
  g_autoptr(FkCatalog) catalog = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autofree char *detail = NULL;
  gsize len;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "publish") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("catalog publish FILE");
  if ((store = open_store (args, TRUE, &error)) == NULL ||
      (keys = unlock (args, store, &error)) == NULL ||
      !g_file_get_contents (fk_args_word (args, 2), &contents, &len, &error) ||
      (catalog = fk_catalog_load_file (fk_args_word (args, 2), &error)) == NULL)
    return fk_cli_fail (error);
  path = g_build_filename (fk_office_store_data_dir (store), "catalog.json", NULL);
  {
    g_autofree char *old = NULL;
    gsize old_len;

    if (g_file_get_contents (path, &old, &old_len, NULL))
      {
        g_autoptr(GBytes) old_bytes = g_bytes_new (old, old_len);
        g_autoptr(FkCatalog) previous = fk_catalog_load_bytes (old_bytes, NULL);

        if (previous && fk_catalog_version (previous) >= fk_catalog_version (catalog))
          {
            g_set_error (&error, FK_OFFICE_ERROR, FK_OFFICE_ERROR_INVALID,
                         _("The catalog's version (%d) must be higher than the published one (%d)."),
                         fk_catalog_version (catalog), fk_catalog_version (previous));
            return fk_cli_fail (error);
          }
      }
  }
  if (!g_file_set_contents_full (path, contents, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &error))
    return fk_cli_fail (error);
  detail = g_strdup_printf ("{\"version\":%d}", fk_catalog_version (catalog));
  fk_office_store_log (store, keys->admin, "catalog.publish", "catalog", detail, NULL);
  fk_cli_say (_("Catalog version %d published; devices apply it at their next sync."), fk_catalog_version (catalog));
  json_builder_begin_object (b);
  fk_cli_add_int (b, "version", fk_catalog_version (catalog));
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

/* ---- the command table ------------------------------------------------------------------------------------ */

static int
cmd_help (const FkArgs *args)
{
  puts (_("fieldkit-office [--data-dir DIR] [--json] [--passphrase-file F] COMMAND\n"
    "The admin passphrase comes from FIELDKIT_ADMIN_PASSPHRASE, --passphrase-file, or a prompt; never the command line.\n"
    "  init --admin NAME [--office-code CODE]\n"
    "  admin add --name NAME             (new passphrase: FIELDKIT_NEW_ADMIN_PASSPHRASE)\n"
    "  recover --admin NAME              a new passphrase with the recovery key (FIELDKIT_RECOVERY_KEY)\n"
    "  backup DIR                        a consistent copy of the whole office, while it serves\n"
    "  serve [--listen ADDR:PORT] [--tls-cert F --tls-key F] [--port-file F] [--threads N] [--quiet]\n"
    "  device invite --name NAME | device list | device revoke ID|NUMBER\n"
    "  inbox [--device D] [--outing ID|KIND] [--review pending|approved|returned]\n"
    "  case show ID|RECEIPT\n"
    "  case view ID|RECEIPT [--attachment N]   the photo (or attachment N) to standard output, for a viewer\n"
    "  review ID --approve | --return REASON\n"
    "  bundle import FILE\n"
    "  audit verify DEVICE\n"
    "  catalog publish FILE             reference data (services, fees) for every device\n"
    "  handover publish FILE [--export DIR]   cards to hand over (receipt_no,card_number per line)"));
  return FK_EXIT_OK;
}

static const FkCommand commands[] = {
  { "init", cmd_init },
  { "admin", cmd_admin },
  { "recover", cmd_recover },
  { "backup", cmd_backup },
  { "serve", cmd_serve },
  { "device", cmd_device },
  { "inbox", cmd_inbox },
  { "case", cmd_case },
  { "review", cmd_review },
  { "bundle", cmd_bundle },
  { "audit", cmd_audit },
  { "catalog", cmd_catalog },
  { "handover", cmd_handover },
  { "help", cmd_help },
  { NULL }
};

static const char *const flag_options[] = { "json", "approve", "help", "quiet", NULL };
static const char *const global_options[] = { "data-dir", "json", "passphrase-file", "lang", "help", NULL };

/* fk_cli_fail takes code 0 of the office's domain as an internal failure. */
G_STATIC_ASSERT (FK_OFFICE_ERROR_FAILED == 0);

static const FkCliProgram program = {
  .name = "fieldkit-office",
  .usage_hint = N_("Run \"fieldkit-office help\" for the list of commands."),
  .flags = flag_options,
  .global = global_options,
  .commands = commands,
  .version = FALSE,
  .error_domain = fk_office_error_quark,
  .invalid_code = FK_OFFICE_ERROR_INVALID,
  .error_code = error_code,
};

int
main (int    argc,
      char **argv)
{
  return fk_cli_main (&program, argc, argv);
}
