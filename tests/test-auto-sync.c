/* test-auto-sync.c — the window's automatic sync (ui/fk-auto-sync.c)
 * against a real office server on 127.0.0.1 started in this process: the
 * network coming back sends a sealed case without a click, the setting
 * turns it off, a second trigger or the Sync page's button never start a
 * second run, a seal in the window sends the case a moment later, and
 * locking cancels a run.  The network is simulated through
 * fk_auto_sync_network_changed, which the window's GNetworkMonitor callback
 * calls too.
 *
 * Display suite: without a display it exits 77 (skipped). */
#include <string.h>

#include <gtk/gtk.h>
#include <adwaita.h>

#include "app/fk-packet.h"
#include "crypto/fk-crypto.h"
#include "ui/fk-application.h"
#include "ui/fk-auto-sync.h"
#include "ui/fk-pages.h"
#include "ui/fk-window.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"
#include "sync/fk-sync.h"

#include "fk-test-office.h"
#include "fk-test-ui.h"

static AdwApplication *test_app;

typedef struct {
  char           *root;
  FkOfficeStore  *office;
  FkOfficeKeys   *keys;
  FkOfficeServer *server;
  char           *device_dir;
  char           *outing;
  GSettings      *settings;
  FkWindow       *win;
  FkAutoSync     *auto_sync;
} Fixture;

/* ---- helpers ------------------------------------------------------------------------ */

/* A certificate application (no second check), sealed. */
static gint64
sealed_case (FkStore    *store,
             const char *outing,
             guint       serial)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = fk_test_national_id ('A', 1, serial);
  gint64 id = fk_test_cert_case (store, outing, pid, "自動同步", NULL, &error);

  g_assert_no_error (error);
  g_assert_true (fk_store_case_tick (store, id, NULL, TRUE, &error));
  g_assert_true (fk_store_case_check (store, id, &error));
  g_assert_true (fk_store_case_finalize (store, id, NULL, &error));
  g_assert_no_error (error);
  return id;
}

/* The outbox state of one case, as the window's store sees it. */
static char *
packet_state (Fixture *f,
              gint64   case_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) outbox = fk_store_outbox (fk_window_store (f->win), TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < outbox->len; i++)
    {
      FkOutboxItem *item = outbox->pdata[i];

      if (item->case_id == case_id)
        return g_strdup (item->state);
    }
  return NULL;
}

static void
wait_for_sync (Fixture *f)
{
  /* Its worker answers through this main context. */
  while (fk_window_sync_running (f->win))
    g_main_context_iteration (NULL, TRUE);
  fk_test_ui_spin ();
}

static gboolean
is_label_text (GtkWidget     *widget,
               gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && g_str_equal (gtk_label_get_text (GTK_LABEL (widget)), text);
}

/* The first label reading exactly `text` is shown. */
static gboolean
label_shown (GtkWidget  *root,
             const char *text)
{
  GtkWidget *label = fk_test_ui_find (root, is_label_text, text);

  return label != NULL && gtk_widget_is_visible (label);
}

static void
sign_in (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fk_store_unlock (fk_window_store (f->win), "ann", FK_TEST_PASS_ANN, &error));
  g_assert_no_error (error);
  fk_window_signed_in (f->win, FK_TEST_PASS_ANN);
  fk_test_ui_spin ();
}

/* ---- fixture ------------------------------------------------------------------------ */

/* An office on 127.0.0.1, an enrolled device with one sealed case waiting,
 * and its window signed in while the network is away. */
static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(FkStore) device = NULL;
  g_autofree char *office_dir = NULL;
  g_autofree char *url = NULL;
  /* data: the server's fault script, e.g. a first upload that hangs so
   * that a run is surely still going while the test looks at it. */
  FkOfficeServerOptions options = { .faults = data };

  f->root = fk_test_make_tmp ();
  office_dir = g_build_filename (f->root, "office", NULL);
  f->office = fk_test_office_new (office_dir, &f->keys);
  f->server = fk_test_office_start (f->office, f->keys, &options, &url);

  f->device_dir = g_build_filename (f->root, "device", NULL);
  device = fk_test_store_new (f->device_dir, NULL);
  f->outing = fk_test_outing (device);
  fk_test_enroll (device, f->office, f->keys, url);
  sealed_case (device, f->outing, 1);
  g_clear_pointer (&device, fk_store_close);

  f->settings = fk_ui_settings_new ();
  g_settings_set_boolean (f->settings, "auto-sync", TRUE);
  f->win = fk_window_new (test_app, f->device_dir, f->settings);
  f->auto_sync = fk_window_auto_sync (f->win);
  gtk_window_present (GTK_WINDOW (f->win));
  fk_test_ui_spin ();
  fk_auto_sync_network_changed (f->auto_sync, FALSE);
  sign_in (f);
  /* Offline: signing in started nothing. */
  g_assert_false (fk_window_sync_running (f->win));
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  wait_for_sync (f);
  gtk_window_destroy (GTK_WINDOW (f->win));
  fk_test_ui_spin ();
  g_settings_reset (f->settings, "auto-sync");
  g_clear_object (&f->settings);
  fk_office_server_stop (f->server, 5);
  g_clear_pointer (&f->keys, fk_office_keys_free);
  g_clear_pointer (&f->office, fk_office_store_free);
  fk_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->device_dir);
  g_free (f->outing);
}

/* ---- tests -------------------------------------------------------------------------- */

static gint64
first_case (Fixture *f)
{
  g_autoptr(GPtrArray) outbox = fk_store_outbox (fk_window_store (f->win), TRUE, NULL);

  g_assert_nonnull (outbox);
  g_assert_cmpuint (outbox->len, ==, 1);
  return ((FkOutboxItem *) outbox->pdata[0])->case_id;
}

/* The network comes back: the case goes up without a click, once, and the
 * Sync page can neither start a second run meanwhile. */
static void
test_network_back (Fixture       *f,
                   gconstpointer  data)
{
  gint64 id = first_case (f);
  g_autofree char *before = packet_state (f, id);
  g_autofree char *after = NULL;
  GtkWidget *sync_now;

  g_assert_cmpstr (before, ==, "waiting");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 0);

  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  g_assert_true (fk_auto_sync_is_running (f->auto_sync));
  g_assert_true (fk_window_sync_running (f->win));
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);

  /* Triggers while the run is active (its upload hangs at the office for
   * a while) start nothing more. */
  fk_auto_sync_network_changed (f->auto_sync, FALSE);
  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  fk_auto_sync_signed_in (f->auto_sync);
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);

  /* Nor does the Sync page: its button is off and a click is refused. */
  fk_window_show_sync (f->win);
  fk_test_ui_spin ();
  sync_now = fk_test_ui_find_button (GTK_WIDGET (f->win), "Sync now");
  g_assert_nonnull (sync_now);
  g_assert_true (fk_window_sync_running (f->win));
  g_assert_false (gtk_widget_get_sensitive (sync_now));
  g_assert_true (label_shown (GTK_WIDGET (f->win), "Syncing automatically in the background…"));
  g_signal_emit_by_name (sync_now, "clicked");
  g_assert_false (label_shown (GTK_WIDGET (f->win), "Syncing…"));

  wait_for_sync (f);
  after = packet_state (f, id);
  g_assert_cmpstr (after, ==, "acked");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 1);
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
  g_assert_false (fk_auto_sync_is_running (f->auto_sync));
  /* The Sync page is usable again and its status back to normal. */
  g_assert_true (gtk_widget_get_sensitive (sync_now));
  g_assert_false (label_shown (GTK_WIDGET (f->win), "Syncing automatically in the background…"));

  /* Nothing waits and the office was just asked: the next return of the
   * network starts nothing. */
  fk_auto_sync_network_changed (f->auto_sync, FALSE);
  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
}

/* With the setting off nothing starts; turning it on sends the case. */
static void
test_setting_off (Fixture       *f,
                  gconstpointer  data)
{
  gint64 id = first_case (f);
  g_autofree char *state = NULL;
  g_autofree char *after = NULL;

  g_settings_set_boolean (f->settings, "auto-sync", FALSE);
  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  fk_auto_sync_signed_in (f->auto_sync);
  fk_test_ui_spin ();
  g_assert_false (fk_window_sync_running (f->win));
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 0);
  state = packet_state (f, id);
  g_assert_cmpstr (state, ==, "waiting");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 0);

  g_settings_set_boolean (f->settings, "auto-sync", TRUE);
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
  wait_for_sync (f);
  after = packet_state (f, id);
  g_assert_cmpstr (after, ==, "acked");
}

/* A case sealed in the window while online goes up a moment later
 * (FK_AUTO_SYNC_SEAL_DELAY_S), through the receipt the window shows after
 * sealing. */
static void
test_after_seal (Fixture       *f,
                 gconstpointer  data)
{
  gint64 first = first_case (f);
  gint64 second;
  g_autofree char *state = NULL;
  g_autofree char *first_state = NULL;

  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  wait_for_sync (f);
  first_state = packet_state (f, first);
  g_assert_cmpstr (first_state, ==, "acked");
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);

  second = sealed_case (fk_window_store (f->win), f->outing, 2);
  fk_window_show_receipt (f->win, second);
  fk_test_ui_spin ();
  /* Not at once: the clerk may seal the next one. */
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
  while (fk_auto_sync_n_runs (f->auto_sync) < 2)
    g_main_context_iteration (NULL, TRUE);
  wait_for_sync (f);
  state = packet_state (f, second);
  g_assert_cmpstr (state, ==, "acked");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 2);
}

/* Locking cancels the automatic run; the next sign-in finishes the work. */
static void
test_lock_cancels (Fixture       *f,
                   gconstpointer  data)
{
  gint64 id = first_case (f);
  g_autofree char *state = NULL;

  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  g_assert_true (fk_auto_sync_is_running (f->auto_sync));
  fk_window_lock (f->win);
  g_assert_null (fk_window_passphrase (f->win));
  /* Until the worker is back nothing else may start. */
  g_assert_true (fk_window_sync_running (f->win));
  wait_for_sync (f);
  g_assert_false (fk_auto_sync_is_running (f->auto_sync));
  g_assert_false (fk_store_is_unlocked (fk_window_store (f->win)));

  sign_in (f);
  wait_for_sync (f);
  state = packet_state (f, id);
  g_assert_cmpstr (state, ==, "acked");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 1);
}

/* The office revoked the device: the automatic sync hears it (a revocation
 * signed by the office), the sync wipes the data folder, and the window
 * lets go of the old database, its key and every page, and starts over at
 * set-up with a notice that says why; nothing starts again. */
static void
test_revoked (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) devices = fk_office_store_list_devices (f->office, &error);
  GtkWindow *notice = NULL;
  GListModel *toplevels;

  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, ==, 1);
  g_assert_true (fk_office_store_revoke_device (f->office, ((FkOfficeDevice *) devices->pdata[0])->device_id,
                                                g_get_real_time () / G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
  fk_window_show_home (f->win);
  fk_test_ui_spin ();
  g_assert_true (label_shown (GTK_WIDGET (f->win), "Outings"));

  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
  wait_for_sync (f);

  /* The window's store is a new, empty one: nothing to sign in to. */
  g_assert_nonnull (fk_window_store (f->win));
  g_assert_false (fk_store_is_initialized (fk_window_store (f->win)));
  g_assert_false (fk_store_is_unlocked (fk_window_store (f->win)));
  g_assert_null (fk_window_passphrase (f->win));
  /* The home page (the operator's outings) is gone; set-up is shown. */
  g_assert_false (label_shown (GTK_WIDGET (f->win), "Outings"));
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_window_get_transient_for (w) == GTK_WINDOW (f->win) &&
          g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (w)), "This device was revoked") == 0)
        notice = w;
    }
  g_assert_nonnull (notice);
  gtk_window_destroy (notice);

  /* Nothing starts again in this window. */
  fk_auto_sync_network_changed (f->auto_sync, FALSE);
  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  fk_test_ui_spin ();
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), ==, 1);
  g_assert_false (fk_window_sync_running (f->win));
}

/* Nothing waits, but the office returned a case for correction (補正):
 * the look the window takes every FK_AUTO_SYNC_POLL_S fetches the answer
 * once FK_AUTO_SYNC_ANSWERS_MINUTES have passed, without a click.  The
 * two intervals are shortened to a second for this test. */
static void
fixture_set_up_polling (Fixture       *f,
                        gconstpointer  data)
{
  g_setenv ("FIELDKIT_AUTO_SYNC_POLL_S", "1", TRUE);
  g_setenv ("FIELDKIT_AUTO_SYNC_ANSWERS_S", "1", TRUE);
  fixture_set_up (f, data);
  g_unsetenv ("FIELDKIT_AUTO_SYNC_POLL_S");
  g_unsetenv ("FIELDKIT_AUTO_SYNC_ANSWERS_S");
}

static char *
server_status (Fixture *f)
{
  g_autoptr(GPtrArray) outbox = fk_store_outbox (fk_window_store (f->win), TRUE, NULL);

  g_assert_nonnull (outbox);
  g_assert_cmpuint (outbox->len, ==, 1);
  return g_strdup (((FkOutboxItem *) outbox->pdata[0])->server_status);
}

static void
test_polls_answers (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autofree char *status = NULL;
  gint64 deadline;
  guint runs;

  fk_auto_sync_network_changed (f->auto_sync, TRUE);
  wait_for_sync (f);
  status = server_status (f);
  g_assert_cmpstr (status, ==, "stored");
  runs = fk_auto_sync_n_runs (f->auto_sync);

  packets = fk_office_store_list_packets (f->office, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (packets->len, ==, 1);
  g_assert_true (fk_office_store_review (f->office, ((FkOfficePacket *) packets->pdata[0])->packet_id,
                                         "returned", "照片不符規格", g_get_real_time () / G_USEC_PER_SEC, &error));
  g_assert_no_error (error);

  /* No trigger but the clock: within a few seconds the answer is here. */
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_clear_pointer (&status, g_free);
      status = server_status (f);
      if (g_strcmp0 (status, "returned") == 0 && !fk_window_sync_running (f->win))
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
  g_assert_cmpstr (status, ==, "returned");
  g_assert_cmpuint (fk_auto_sync_n_runs (f->auto_sync), >, runs);
}

/* ---- the Sync page ------------------------------------------------------------------ */


static gboolean
is_shown_label_containing (GtkWidget     *widget,
                           gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL &&
         gtk_widget_is_visible (widget);
}

static gboolean
label_contains (GtkWidget  *root,
                const char *text)
{
  return fk_test_ui_find (root, is_shown_label_containing, text) != NULL;
}

static void
progress_text_cb (GObject    *bar,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  const char *text = gtk_progress_bar_get_text (GTK_PROGRESS_BAR (bar));

  if (text != NULL)
    g_ptr_array_add (user_data, g_strdup (text));
}

static void
click_sync_now (Fixture   *f,
                GtkWidget *page)
{
  GtkWidget *sync_now = fk_test_ui_find_button (page, "Sync now");

  g_assert_nonnull (sync_now);
  g_assert_true (gtk_widget_get_sensitive (sync_now));
  g_signal_emit_by_name (sync_now, "clicked");
  g_assert_true (fk_window_sync_running (f->win));
  wait_for_sync (f);
}

/* The office returns its first packet for correction, with REASON. */
static void
office_returns_first (Fixture    *f,
                      const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = fk_office_store_list_packets (f->office, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (packets->len, >, 0);
  g_assert_true (fk_office_store_review (f->office, ((FkOfficePacket *) packets->pdata[0])->packet_id,
                                         "returned", reason, g_get_real_time () / G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
}

/* The draft that corrects case ID, or 0; asserts there is at most one. */
static gint64
case_correcting (FkStore *store,
                 gint64   id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cases = fk_store_cases (store, NULL, NULL, &error);
  gint64 found = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < cases->len; i++)
    {
      FkCase *c = cases->pdata[i];

      if (c->supersedes == id)
        {
          g_assert_cmpint (found, ==, 0);
          g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
          found = c->id;
        }
    }
  return found;
}

/* The Sync page as the clerk uses it (the office refuses the first upload
 * with a 400): the case waits under "Quarantined" with the office's words
 * and a Retry button; Retry puts it back and the next sync sends it; when
 * the office returns it for correction (補正) it shows under "Returned by
 * the office" with the reason, and Correct opens a new draft version of it
 * in the case editor. */
static void
test_sync_page (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  FkStore *store = fk_window_store (f->win);
  gint64 id = first_case (f);
  g_autofree char *state = NULL;
  g_autofree char *receipt = NULL;
  GtkWidget *page, *retry, *correct;

  /* Keep the personal data after the ack, so that a returned case can be
   * corrected here rather than captured again. */
  g_assert_true (fk_store_set_setting (store, "retention_days", "7", &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (store, id, &error);

    g_assert_no_error (error);
    receipt = g_strdup (c->receipt_no);
  }

  fk_window_show_sync (f->win);
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (f->win), FK_TYPE_SYNC_PAGE);
  g_assert_nonnull (page);
  g_assert_false (label_shown (page, "Quarantined"));

  click_sync_now (f, page);
  state = packet_state (f, id);
  g_assert_cmpstr (state, ==, "quarantined");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 0);
  g_assert_true (label_shown (page, "Quarantined"));
  g_assert_true (label_contains (page, "The office refused this case: "));
  g_assert_true (label_contains (page, "(HTTP 400 "));
  retry = fk_test_ui_find_button (page, "Retry");
  g_assert_nonnull (retry);
  g_signal_emit_by_name (retry, "clicked");
  fk_test_ui_spin ();
  g_clear_pointer (&state, g_free);
  state = packet_state (f, id);
  g_assert_cmpstr (state, ==, "waiting");
  g_assert_false (label_shown (page, "Quarantined"));

  /* The bar tells the whole run, in cases and bytes — never a packet id. */
  {
    GtkWidget *bar = fk_test_ui_find_type (page, GTK_TYPE_PROGRESS_BAR);
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
    gulong handler;
    gboolean whole = FALSE;

    g_assert_nonnull (bar);
    handler = g_signal_connect (bar, "notify::text", G_CALLBACK (progress_text_cb), texts);
    click_sync_now (f, page);
    g_signal_handler_disconnect (bar, handler);
    for (guint i = 0; i < texts->len; i++)
      {
        const char *t = texts->pdata[i];

        g_assert_true (g_str_has_prefix (t, "Uploading: "));
        g_assert_null (strstr (t, "-"));   /* no packet id (a UUID) */
        whole |= g_str_has_prefix (t, "Uploading: 1 of 1 cases sent");
      }
    g_assert_true (whole);
  }
  g_clear_pointer (&state, g_free);
  state = packet_state (f, id);
  g_assert_cmpstr (state, ==, "acked");
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 1);
  g_assert_true (label_contains (page, "Sync done: 1 uploaded"));

  office_returns_first (f, "照片不符規格");
  g_assert_false (label_shown (page, "Returned by the office"));
  click_sync_now (f, page);
  g_assert_true (label_shown (page, "Returned by the office"));
  g_assert_true (label_contains (page, "照片不符規格"));
  correct = fk_test_ui_find_button (page, "Correct");
  g_assert_nonnull (correct);
  g_signal_emit_by_name (correct, "clicked");
  fk_test_ui_spin ();

  g_assert_cmpint (case_correcting (store, id), >, 0);
  g_assert_nonnull (fk_test_ui_find_type (GTK_WIDGET (f->win), FK_TYPE_CASE_EDITOR));
}

/* The message dialog on screen whose heading is HEADING, or NULL. */
static AdwMessageDialog *
find_dialog (const char *heading)
{
  GListModel *tops = gtk_window_get_toplevels ();   /* not ours to unref */

  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (tops, i);

      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w)) &&
          g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (w)), heading) == 0)
        return ADW_MESSAGE_DIALOG (w);
    }
  return NULL;
}

/* The entries under root, in the order a user tabs through them. */
static void
collect_entries (GtkWidget *root,
                 GPtrArray *out)
{
  if (GTK_IS_ENTRY (root))
    g_ptr_array_add (out, root);
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    collect_entries (c, out);
}

/* Types the applicant's ID number, name and birth date into the dialog
 * (as a user would: the entries in tab order); TRUE when the dialog then
 * lets them make the draft. */
static gboolean
fill_recapture (AdwMessageDialog *dialog,
                const char       *person_id,
                const char       *name,
                const char       *birth)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();

  collect_entries (GTK_WIDGET (dialog), entries);
  g_assert_cmpuint (entries->len, ==, 3);   /* ID number, name, birth date */
  gtk_editable_set_text (GTK_EDITABLE (entries->pdata[0]), person_id);
  gtk_editable_set_text (GTK_EDITABLE (entries->pdata[1]), name);
  gtk_editable_set_text (GTK_EDITABLE (entries->pdata[2]), birth);
  fk_test_ui_spin ();
  return adw_message_dialog_get_response_enabled (dialog, "correct");
}

/* The same loop with the default retention: the personal data went at the
 * ack, so Correct asks for the person again (ID number and name from their
 * documents).  A mistyped ID number is refused with the reason and makes
 * nothing; the right one makes a draft that supersedes the returned case,
 * in the same outing and service, open in the case editor. */
static void
test_sync_page_correct_after_purge (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCase) before = NULL;
  FkStore *store = fk_window_store (f->win);
  gint64 id = first_case (f);
  AdwMessageDialog *dialog, *refusal;
  GtkWidget *page, *correct;
  gint64 corrected;

  before = fk_store_case_get (store, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (before->person_id);
  fk_window_show_sync (f->win);
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (f->win), FK_TYPE_SYNC_PAGE);
  click_sync_now (f, page);
  {
    g_autoptr(FkCase) c = fk_store_case_get (store, id, &error);

    g_assert_no_error (error);
    g_assert_null (c->person_id);   /* purged at the ack */
  }
  office_returns_first (f, "照片不符規格");
  click_sync_now (f, page);
  correct = fk_test_ui_find_button (page, "Correct");
  g_assert_nonnull (correct);
  g_signal_emit_by_name (correct, "clicked");
  fk_test_ui_spin ();

  dialog = find_dialog ("Re-enter the applicant");
  g_assert_nonnull (dialog);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "照片不符規格"));
  /* A mistyped ID number: the reason shows under it as it is typed, and
   * the dialog does not let the clerk go on. */
  g_assert_false (fill_recapture (dialog, "A123456788", before->name, ""));   /* wrong check digit */
  g_assert_true (label_contains (GTK_WIDGET (dialog), "check digit"));
  g_assert_false (fill_recapture (dialog, before->person_id, "", ""));       /* no name */
  /* The ID number right, a birth date that is no date: the store refuses
   * it with the reason, and nothing is made. */
  g_assert_true (fill_recapture (dialog, before->person_id, before->name, "1950-13-45"));
  adw_message_dialog_response (dialog, "correct");
  fk_test_ui_spin ();
  refusal = find_dialog ("Cannot correct this case");
  g_assert_nonnull (refusal);
  adw_message_dialog_response (refusal, "ok");
  fk_test_ui_spin ();

  g_assert_cmpint (case_correcting (store, id), ==, 0);

  g_signal_emit_by_name (correct, "clicked");
  fk_test_ui_spin ();
  dialog = find_dialog ("Re-enter the applicant");
  g_assert_nonnull (dialog);
  g_assert_true (fill_recapture (dialog, before->person_id, before->name, ""));
  adw_message_dialog_response (dialog, "correct");
  fk_test_ui_spin ();

  corrected = case_correcting (store, id);
  g_assert_cmpint (corrected, >, 0);
  {
    g_autoptr(FkCase) c = fk_store_case_get (store, corrected, &error);

    g_assert_no_error (error);
    g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
    g_assert_cmpstr (c->person_id, ==, before->person_id);
    g_assert_cmpstr (c->name, ==, before->name);
    g_assert_cmpstr (c->outing_id, ==, before->outing_id);
    g_assert_cmpstr (c->service, ==, before->service);
  }
  g_assert_nonnull (fk_test_ui_find_type (GTK_WIDGET (f->win), FK_TYPE_CASE_EDITOR));
}

/* After a season the outbox holds thousands of delivered packets: the
 * Sync page lists every packet still on its way and only the newest 20 at
 * the office, with a line saying how many earlier ones there are. */
static guint
count_rows_titled (GtkWidget  *root,
                   const char *prefix)
{
  guint n = 0;

  if (ADW_IS_PREFERENCES_ROW (root) && gtk_widget_is_visible (root) &&
      g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), prefix))
    n++;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    n += count_rows_titled (c, prefix);
  return n;
}

static void
test_sync_page_long_history (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  FkStore *store = fk_window_store (f->win);
  FkSyncReport report;
  GtkWidget *page;

  for (guint i = 2; i <= 25; i++)
    sealed_case (store, f->outing, i);
  g_assert_true (fk_sync_run (store, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.uploaded, ==, 25);
  fk_sync_report_clear (&report);
  sealed_case (store, f->outing, 26);   /* one still waiting */

  fk_window_show_sync (f->win);
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (f->win), FK_TYPE_SYNC_PAGE);
  g_assert_nonnull (page);
  fk_sync_page_refresh (FK_SYNC_PAGE (page));
  fk_test_ui_spin ();
  /* 20 at the office and the one waiting; the line for the 5 before them. */
  outbox = fk_store_outbox (store, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 26);
  g_assert_cmpuint (count_rows_titled (page, "TCN-"), ==, 21);
  g_assert_cmpuint (count_rows_titled (page, ((FkOutboxItem *) outbox->pdata[0])->receipt_no), ==, 0);
  g_assert_cmpuint (count_rows_titled (page, ((FkOutboxItem *) outbox->pdata[4])->receipt_no), ==, 0);
  g_assert_cmpuint (count_rows_titled (page, ((FkOutboxItem *) outbox->pdata[5])->receipt_no), ==, 1);
  g_assert_cmpuint (count_rows_titled (page, ((FkOutboxItem *) outbox->pdata[25])->receipt_no), ==, 1);
  g_assert_cmpuint (count_rows_titled (page, "Earlier packets at the office: 5"), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_printerr ("no display: skipped (run under xvfb-run)\n");
      return 77;
    }
  test_app = fk_test_ui_app_new ("io.github.fieldkit.TestAutoSync");

  g_test_add ("/ui/auto-sync/network-back", Fixture, "hang=2", fixture_set_up, test_network_back, fixture_tear_down);
  g_test_add ("/ui/auto-sync/setting-off", Fixture, NULL, fixture_set_up, test_setting_off, fixture_tear_down);
  g_test_add ("/ui/auto-sync/after-seal", Fixture, NULL, fixture_set_up, test_after_seal, fixture_tear_down);
  g_test_add ("/ui/auto-sync/lock-cancels", Fixture, "hang=2", fixture_set_up, test_lock_cancels, fixture_tear_down);
  g_test_add ("/ui/auto-sync/revoked", Fixture, NULL, fixture_set_up, test_revoked, fixture_tear_down);
  g_test_add ("/ui/sync-page/long-history", Fixture, NULL, fixture_set_up, test_sync_page_long_history,
              fixture_tear_down);
  g_test_add ("/ui/sync-page/correct-after-purge", Fixture, NULL, fixture_set_up, test_sync_page_correct_after_purge,
              fixture_tear_down);
  g_test_add ("/ui/sync-page/quarantine-retry-correct", Fixture, "status=400:1", fixture_set_up, test_sync_page,
              fixture_tear_down);
  g_test_add ("/ui/auto-sync/polls-answers", Fixture, NULL, fixture_set_up_polling, test_polls_answers,
              fixture_tear_down);
  return g_test_run ();
}
