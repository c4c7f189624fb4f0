/* test-ui.c — widget tests of the window's parts (display suite).
 *
 * Needs a display: without one (gtk_init_check fails) it exits 77, which
 * meson counts as skipped; tools/test.sh runs this suite under xvfb-run so
 * nothing is skipped there. */
#include <gtk/gtk.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include <string.h>

#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-application.h"
#include "ui/fk-case-item.h"
#include "ui/fk-pages.h"
#include "ui/fk-preferences.h"
#include "ui/fk-signature-pad.h"
#include "ui/fk-ui-util.h"
#include "ui/fk-window.h"

#include "fk-test-util.h"
#include "fk-test-ui.h"

/* ---- FkCaseItem ----------------------------------------------------------------- */

static void
test_case_item (void)
{
  FkCaseItem *item = fk_case_item_new (12, FK_CASE_SEALED, "FK-01-1151126-0001", "id_card_first", "王大明");
  g_autofree char *needle = g_utf8_casefold ("大明", -1);
  gint64 id = 0;

  g_assert_cmpint (fk_case_item_get_id (item), ==, 12);
  g_assert_cmpint (fk_case_item_get_status (item), ==, FK_CASE_SEALED);
  g_assert_cmpstr (fk_case_item_get_receipt (item), ==, "FK-01-1151126-0001");
  g_assert_true (fk_case_item_name_matches (item, needle));
  g_assert_false (fk_case_item_name_matches (item, "lin"));
  g_object_get (item, "id", &id, NULL);
  g_assert_cmpint (id, ==, 12);
  g_assert_finalize_object (item);
}

/* A GListModel of 10,000 items filters by name in well under a second. */
static gboolean
name_filter (gpointer item,
             gpointer needle)
{
  return fk_case_item_name_matches (item, needle);
}

static void
test_case_list_10000 (void)
{
  GListStore *store = g_list_store_new (FK_TYPE_CASE_ITEM);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *needle = g_utf8_casefold ("student 4242", -1);
  GtkCustomFilter *filter;
  GtkFilterListModel *model;
  gint64 start;

  for (int i = 0; i < 10000; i++)
    {
      g_autofree char *name = g_strdup_printf ("Student %d", i);

      g_ptr_array_add (items, fk_case_item_new (i + 1, FK_CASE_DRAFT, NULL, "id_card_first", name));
    }
  start = g_get_monotonic_time ();
  g_list_store_splice (store, 0, 0, items->pdata, items->len);
  filter = gtk_custom_filter_new (name_filter, needle, NULL);
  model = gtk_filter_list_model_new (G_LIST_MODEL (store), GTK_FILTER (filter));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_object_unref (model);
}

/* ---- signature pad ---------------------------------------------------------------- */

static void
test_signature_png (void)
{
  GtkWidget *pad = g_object_ref_sink (fk_signature_pad_new ());
  const double stroke[] = { 10, 10, 100, 80, 200, 40 };
  g_autoptr(GBytes) png = NULL;
  const guint8 *data;
  gsize len;

  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (pad)));
  g_assert_null (fk_signature_pad_to_png (FK_SIGNATURE_PAD (pad), NULL));
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (pad), stroke, 3);
  g_assert_false (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (pad)));
  png = fk_signature_pad_to_png (FK_SIGNATURE_PAD (pad), NULL);
  g_assert_nonnull (png);
  data = g_bytes_get_data (png, &len);
  g_assert_cmpuint (len, >, 8);
  g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
  fk_signature_pad_clear (FK_SIGNATURE_PAD (pad));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (pad)));
  g_assert_finalize_object (pad);
}

/* ---- helpers ------------------------------------------------------------------------ */

static void
test_strength (void)
{
  g_assert_cmpint (fk_ui_passphrase_strength ("short"), ==, 0);
  g_assert_cmpint (fk_ui_passphrase_strength ("aaaaaaaaaaaa"), ==, 1);
  g_assert_cmpint (fk_ui_passphrase_strength ("a long field visit passphrase"), >=, 3);
}

static void
test_icon_button_named (void)
{
  GtkWidget *button = g_object_ref_sink (fk_ui_icon_button ("go-previous-symbolic", "Back"));

  g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, "Back");
  g_assert_finalize_object (button);
}

static void
test_format_date (void)
{
  g_autofree char *iso = NULL;

  g_setenv ("LANGUAGE", "en", TRUE);
  iso = fk_ui_format_date ("2026-11-26");
  g_assert_cmpstr (iso, ==, "2026-11-26");
}

/* ---- the window ------------------------------------------------------------------ */

#define WIN_PASSPHRASE "window test passphrase"

static AdwApplication *test_app;

/* A data folder with one operator, an outing (O1) and a few drafts. */
static char *
window_data_folder (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("fk-test-window-XXXXXX", &error);
  g_autofree char *recovery = NULL;
  g_autofree char *outing = NULL;
  g_autoptr(FkStore) store = NULL;
  const char *names[] = { "王大明", "王小明", "李大華", "Lin Mei" };

  g_assert_no_error (error);
  store = fk_store_open (dir, &error);
  g_assert_no_error (error);
  g_assert_true (fk_store_init_device (store, "ann", "Chen Mei-ling", WIN_PASSPHRASE, "TCN", 1, &recovery, &error));
  outing = fk_store_outing_new (store, "home_visit", "Home visits, Beitun", "2026-11-26", "Beitun", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (outing, ==, "O1");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *ids[] = { "A123456789", "B220000019", "A100000001", "F131104093" };
      FkCaseInput in = { .outing_id = outing, .service = "certificate_apply", .person_id = ids[i],
                         .name = names[i], .birth_date = "1970-01-01" };

      g_assert_cmpint (fk_store_case_new (store, &in, &error), >, 0);
      g_assert_no_error (error);
    }
  return g_steal_pointer (&dir);
}

static FkWindow *
signed_in_window (const char *dir,
                  GSettings  *settings)
{
  g_autoptr(GError) error = NULL;
  FkWindow *win = fk_window_new (test_app, dir, settings);

  gtk_window_present (GTK_WINDOW (win));
  fk_test_ui_spin ();
  g_assert_true (fk_store_unlock (fk_window_store (win), "ann", WIN_PASSPHRASE, &error));
  g_assert_no_error (error);
  fk_window_signed_in (win, WIN_PASSPHRASE);
  fk_test_ui_spin ();
  return win;
}

static gboolean
is_label_starting (GtkWidget     *widget,
                   gconstpointer  prefix)
{
  return GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix);
}

static GtkWidget *
find_label (GtkWidget  *root,
            const char *prefix)
{
  return fk_test_ui_find (root, is_label_starting, prefix);
}

/* ---- the card hand-over in the window ---------------------------------------------- */

#define HANDOVER_LIST \
  "{\"v\":1,\"outing\":{\"title\":\"Class 801\",\"date\":\"2026-11-26\"},\"items\":[" \
  "{\"receipt_no\":\"TCN-01-1151101-0001\",\"card_kind\":\"id_card\",\"card_number\":\"F100000001\"," \
  "\"person\":{\"person_id\":\"A123456789\",\"name\":\"王小明\",\"birth_date\":\"2012-05-03\"}}," \
  "{\"receipt_no\":\"TCN-01-1151101-0002\",\"card_kind\":\"id_card\",\"card_number\":\"F100000002\"," \
  "\"person\":{\"person_id\":\"B220000019\",\"name\":\"林美玲\",\"birth_date\":\"2012-06-04\"}}]}"

static char *
add_handover_outing (FkStore *store)
{
  g_autoptr(GError) error = NULL;
  char *outing = NULL;

  g_assert_cmpint (fk_store_apply_handover (store, HANDOVER_LIST, &outing, &error), ==, 2);
  g_assert_no_error (error);
  return outing;
}

static gboolean
is_named (GtkWidget     *widget,
          gconstpointer  name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

static GtkWidget *
find_named (GtkWidget  *root,
            const char *name)
{
  return fk_test_ui_find (root, is_named, name);
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *text)
{
  GtkWidget *label = find_label (root, text);

  while (label && !GTK_IS_BUTTON (label))
    label = gtk_widget_get_parent (label);
  return label;
}

static gboolean
label_shown (GtkWidget  *root,
             const char *prefix)
{
  GtkWidget *l = find_label (root, prefix);

  return l != NULL && gtk_widget_is_visible (l);
}

static void
wait_for_store (FkWindow *win)
{
  fk_test_ui_spin ();
  while (fk_window_is_busy (win))
    g_main_context_iteration (NULL, TRUE);
  fk_test_ui_spin ();
}

static int
window_min_width (FkWindow *win)
{
  int min = 0;

  gtk_widget_measure (GTK_WIDGET (win), GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  return min;
}

/* A 360 px portrait screen: no page may make the window wider, in large
 * text either (issue: "usable from 360×640 portrait"). */
static void
test_window_fits_360 (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  FkWindow *win;

  for (int large = 0; large < 2; large++)
    {
      g_settings_set_boolean (settings, "large-text", large);
      win = signed_in_window (dir, settings);
      fk_ui_apply_large_text (GTK_WINDOW (win), large);
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      fk_window_show_sync (win);
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      fk_window_show_outing (win, "O1");
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      fk_window_show_case (win, 1);
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      fk_window_new_case (win, "O1", "id_card_replace");
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      {
        /* The card hand-over, with someone other than the applicant receiving. */
        g_autofree char *handover = large ? g_strdup ("O2") : add_handover_outing (fk_window_store (win));
        GtkWidget *outing_page;

        fk_window_show_outing (win, handover);
        fk_test_ui_spin ();
        outing_page = fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE);
        fk_handover_page_open (win, outing_page, handover);
        fk_test_ui_spin ();
        g_assert_nonnull (fk_handover_page_find (outing_page));
        g_assert_cmpint (window_min_width (win), <=, 360);
        gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_button (outing_page, "A person authorised")), TRUE);
        fk_test_ui_spin ();
        g_assert_cmpint (window_min_width (win), <=, 360);
      }
      fk_window_lock (win);
      fk_test_ui_spin ();
      g_assert_cmpint (window_min_width (win), <=, 360);
      gtk_window_destroy (GTK_WINDOW (win));
      fk_test_ui_spin ();
    }
  g_settings_reset (settings, "large-text");
  fk_test_rm_rf (dir);
}

/* A job refused because another holds the store must not mark the store
 * free: the window stays busy until the running job has finished. */
typedef struct {
  GMutex   lock;
  GCond    cond;
  gboolean started;
  gboolean release;
} Gate;

static gboolean
gated_job (FkStore  *store,
           gpointer  data,
           GError  **error)
{
  Gate *gate = data;

  g_mutex_lock (&gate->lock);
  gate->started = TRUE;
  g_cond_broadcast (&gate->cond);
  while (!gate->release)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  return TRUE;
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError **out = user_data;
  GError *error = NULL;

  if (!fk_window_run_job_finish (FK_WINDOW (source), result, &error) && error == NULL)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "no error set");
  if (error == NULL)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "done");  /* marks "finished, ok" */
  *out = error;
}

static void
test_window_busy_refusal (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  FkWindow *win = signed_in_window (dir, settings);
  Gate gate = { 0 };
  GError *first = NULL;
  GError *second = NULL;

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  fk_window_run_job (win, gated_job, &gate, NULL, NULL, job_done_cb, &first);
  g_mutex_lock (&gate.lock);
  while (!gate.started)
    g_cond_wait (&gate.cond, &gate.lock);
  g_mutex_unlock (&gate.lock);
  g_assert_true (fk_window_is_busy (win));

  fk_window_run_job (win, gated_job, &gate, NULL, NULL, job_done_cb, &second);
  while (second == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (second, FK_STORE_ERROR, FK_STORE_ERROR_BUSY);
  g_assert_true (fk_window_is_busy (win));   /* the first job still holds the store */

  g_mutex_lock (&gate.lock);
  gate.release = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  while (first == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (first, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_false (fk_window_is_busy (win));

  g_clear_error (&first);
  g_clear_error (&second);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* Locking closes Preferences and every dialog (also one over Preferences)
 * and leaves the window itself open, locked. */
static void
test_window_lock_closes_dialogs (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) shown = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "detail");
  FkWindow *win = signed_in_window (dir, settings);
  GtkWidget *prefs, *over;
  GList *toplevels;
  guint visible = 0;

  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &win);
  fk_window_show_outing (win, "O1");
  fk_window_show_case (win, 1);
  fk_window_error (win, "An error", shown);
  prefs = fk_preferences_show (win);
  over = adw_message_dialog_new (GTK_WINDOW (prefs), "Over Preferences", NULL);
  gtk_window_present (GTK_WINDOW (over));
  fk_test_ui_spin ();

  fk_window_lock (win);
  fk_test_ui_spin ();
  g_assert_nonnull (win);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (win)));
  g_assert_false (fk_store_is_unlocked (fk_window_store (win)));
  g_assert_true (g_list_find (gtk_application_get_windows (GTK_APPLICATION (test_app)), win) != NULL);
  toplevels = gtk_window_list_toplevels ();
  for (GList *l = toplevels; l; l = l->next)
    if (gtk_widget_get_visible (l->data))
      {
        g_assert_true (l->data == (gpointer) win);
        visible++;
      }
  g_list_free (toplevels);
  g_assert_cmpuint (visible, ==, 1);
  /* No personal detail is left in the window. */
  g_assert_null (find_label (GTK_WIDGET (win), "王大明"));
  g_assert_null (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_CASE_EDITOR));

  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* The language follows the setting at once; the open case stays open. */
static void
test_window_language (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  FkWindow *win = signed_in_window (dir, settings);
  FkCaseEditor *editor;

  g_settings_set_string (settings, "language", "en");
  fk_test_ui_spin ();
  fk_window_show_outing (win, "O1");
  fk_window_show_case (win, 2);
  fk_test_ui_spin ();
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (win)), ==, "FieldKit");
  g_assert_nonnull (find_label (GTK_WIDGET (win), "Signed in: ann"));

  g_settings_set_string (settings, "language", "zh_TW");
  fk_test_ui_spin ();
  g_assert_true (fk_lang_is_zh ());
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (win)), ==, "戶政外勤工具");
  g_assert_nonnull (find_label (GTK_WIDGET (win), "已登入：ann"));
  g_assert_null (find_label (GTK_WIDGET (win), "Signed in: ann"));
  editor = FK_CASE_EDITOR (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_CASE_EDITOR));
  g_assert_nonnull (editor);
  g_assert_cmpint (fk_case_editor_case_id (editor), ==, 2);

  g_settings_set_string (settings, "language", "en");
  fk_test_ui_spin ();
  g_assert_false (fk_lang_is_zh ());
  g_assert_nonnull (find_label (GTK_WIDGET (win), "Signed in: ann"));
  g_settings_reset (settings, "language");
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* Home shows the last sync the store recorded (any sync: CLI or window). */
static void
test_home_last_sync (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  FkWindow *win = signed_in_window (dir, settings);
  g_autoptr(FkStore) other = fk_store_open (dir, &error);

  g_assert_no_error (error);
  g_assert_null (find_label (GTK_WIDGET (win), "Last successful sync"));
  /* Another handle, as the command line would. */
  g_assert_true (fk_store_mark_synced (other, &error));
  g_assert_no_error (error);
  fk_window_refresh (win);
  fk_test_ui_spin ();
  g_assert_nonnull (find_label (GTK_WIDGET (win), "Last successful sync: "));
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* Typing and deleting in the outing's search: the filter's shortcuts
 * (narrowing while typing, widening while deleting) give what a fresh
 * look at every case gives. */
static void
test_outing_search_typing (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  FkWindow *win = signed_in_window (dir, settings);
  GtkWidget *page, *entry;
  GListModel *model;
  const struct { const char *text; guint shown; } steps[] = {
    { "王", 2 }, { "王大", 1 }, { "王大明", 1 }, { "王大", 1 }, { "王", 2 }, { "", 4 },
    { "大", 2 }, { "", 4 }, { "3", 1 }, { "", 4 }, { "l", 1 }, { "li", 1 }, { "lin", 1 }, { "lin ", 1 },
    { "lin m", 1 }, { "lin", 1 }, { "", 4 }, { "A12345678", 0 }, { "A123456789", 1 }, { "A12345678", 0 }, { "", 4 },
  };

  fk_window_show_outing (win, "O1");
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE);
  entry = fk_test_ui_find_type (page, GTK_TYPE_SEARCH_ENTRY);
  model = fk_outing_page_model (FK_OUTING_PAGE (page));
  gtk_search_entry_set_search_delay (GTK_SEARCH_ENTRY (entry), 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      gtk_editable_set_text (GTK_EDITABLE (entry), steps[i].text);
      for (int k = 0; k < 5; k++)
        {
          g_usleep (2000);
          fk_test_ui_spin ();
        }
      if (g_list_model_get_n_items (model) != steps[i].shown)
        g_error ("“%s” shows %u cases, not %u", steps[i].text, g_list_model_get_n_items (model), steps[i].shown);
    }
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* ---- the school drive in the window ----------------------------------------------- */

static gint64
add_student (FkStore    *store,
             const char *outing,
             const char *person_id,
             const char *name,
             const char *seat)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  FkCaseInput in = { .outing_id = outing, .service = "id_card_first", .person_id = person_id,
                     .name = name, .birth_date = "2012-05-03", .fields = fields };
  gint64 id;

  g_hash_table_insert (fields, (gpointer) "school_class", (gpointer) "801");
  g_hash_table_insert (fields, (gpointer) "seat_number", (gpointer) seat);
  id = fk_store_case_new (store, &in, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* A drive opened before its roster takes the students imported while it
 * is open (the roster dialog refreshes the window); Back leaves the drive
 * for the outing's case list, not for home. */
static void
test_drive_import_and_back (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  FkWindow *win = signed_in_window (dir, settings);
  g_autofree char *outing = NULL;
  GtkWidget *page, *drive;

  outing = fk_store_outing_new (fk_window_store (win), "school_drive", "Class 801", "2026-11-26", "JHS", &error);
  g_assert_no_error (error);
  fk_window_show_outing (win, outing);
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE);
  g_assert_nonnull (page);
  fk_drive_page_open (win, page, outing);
  fk_test_ui_spin ();
  drive = GTK_WIDGET (fk_drive_page_find (page));
  g_assert_nonnull (drive);
  g_assert_nonnull (find_label (drive, "No students yet"));
  g_assert_null (find_label (drive, "王小明"));

  add_student (fk_window_store (win), outing, "A123456789", "王小明", "1");
  add_student (fk_window_store (win), outing, "B220000019", "林美玲", "2");
  fk_window_refresh (win);
  fk_test_ui_spin ();
  g_assert_true (GTK_WIDGET (fk_drive_page_find (page)) == drive);
  g_assert_nonnull (find_label (drive, "0 / 2 done"));

  /* One more while the drive runs: it joins in its seat. */
  add_student (fk_window_store (win), outing, "A100000001", "陳大文", "3");
  fk_window_refresh (win);
  fk_test_ui_spin ();
  g_assert_nonnull (find_label (drive, "0 / 3 done"));

  fk_window_go_back (win);
  fk_test_ui_spin ();
  g_assert_null (fk_drive_page_find (page));
  g_assert_true (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE) == page);
  g_assert_true (gtk_widget_get_mapped (page));
  fk_window_go_back (win);
  fk_test_ui_spin ();
  g_assert_null (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE));

  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* Opens OUTING's page in WIN and presses "Start the hand-over", as a clerk
 * does: the hand-over page; *page_out gets the outing page and *start_out
 * the button (either may be NULL). */
static GtkWidget *
start_handover (FkWindow   *win,
                const char *outing,
                GtkWidget **page_out,
                GtkWidget **start_out)
{
  GtkWidget *page, *start, *ho;

  fk_window_show_outing (win, outing);
  fk_test_ui_spin ();
  page = fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_OUTING_PAGE);
  g_assert_nonnull (page);
  start = find_button (page, "Start the hand-over");
  g_assert_nonnull (start);
  g_signal_emit_by_name (start, "clicked");
  fk_test_ui_spin ();
  ho = GTK_WIDGET (fk_handover_page_find (page));
  g_assert_nonnull (ho);
  if (page_out)
    *page_out = page;
  if (start_out)
    *start_out = start;
  return ho;
}

/* The office's list carries each student's class and seat (from the
 * application): the drafts keep them, and the hand-over page takes the
 * students class by class in seat order (seat 2 before seat 10), those
 * without a class last, whatever the order of the list; each is shown with
 * the class and seat. */
static void
test_handover_class_and_seat (void)
{
  static const struct { const char *name, *school_class, *seat; } items[] = {
    { "陳一", "802", "3" }, { "李二", "801", "10" }, { "無班", NULL, NULL }, { "張三", "801", "2" },
  };
  static const char *const expected[] = { "張三", "李二", "陳一", "無班" };
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) list = g_string_new ("{\"v\":1,\"outing\":{\"title\":\"Grade 8\",\"date\":\"2026-11-26\"},\"items\":[");
  g_autoptr(GPtrArray) cases = NULL;
  g_autofree char *outing = NULL;
  FkWindow *win = signed_in_window (dir, settings);
  GtkWidget *ho, *rows;

  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, 300 + i);

      g_string_append_printf (list, "%s{\"receipt_no\":\"TCN-01-1151101-%04u\",\"card_kind\":\"id_card\","
                              "\"card_number\":\"F10000010%u\",\"person\":{\"person_id\":\"%s\",\"name\":\"%s\","
                              "\"birth_date\":\"2012-05-03\"}",
                              i ? "," : "", i + 1, i, pid, items[i].name);
      if (items[i].school_class)
        g_string_append_printf (list, ",\"school_class\":\"%s\",\"seat_number\":\"%s\"",
                                items[i].school_class, items[i].seat);
      g_string_append (list, "}");
    }
  g_string_append (list, "]}");
  g_assert_cmpint (fk_store_apply_handover (fk_window_store (win), list->str, &outing, &error), ==, 4);
  g_assert_no_error (error);
  cases = fk_store_cases (fk_window_store (win), outing, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < cases->len; i++)
    {
      FkCase *c = cases->pdata[i];

      if (g_strcmp0 (c->name, "李二") == 0)
        {
          g_assert_cmpstr (g_hash_table_lookup (c->fields, "school_class"), ==, "801");
          g_assert_cmpstr (g_hash_table_lookup (c->fields, "seat_number"), ==, "10");
        }
    }

  ho = start_handover (win, outing, NULL, NULL);
  g_assert_true (label_shown (ho, "801 · seat 2 · 張三"));
  g_signal_emit_by_name (find_named (ho, "handover-list"), "clicked");
  fk_test_ui_spin ();
  rows = fk_test_ui_find_type (ho, GTK_TYPE_LIST_BOX);
  g_assert_nonnull (rows);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (rows), (int) i);
      g_autofree char *prefix = g_strdup_printf ("%u · ", i + 1);
      GtkWidget *title;

      g_assert_nonnull (row);
      title = find_label (GTK_WIDGET (row), prefix);
      g_assert_nonnull (title);
      g_assert_true (g_str_has_suffix (gtk_label_get_text (GTK_LABEL (title)), expected[i]));
    }
  g_assert_nonnull (find_label (ho, "2 · 801 · seat 10 · 李二"));
  g_assert_nonnull (find_label (ho, "4 · 無班"));
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* The hand-over page: a wrong card is refused at once with its reason and
 * nothing is sealed; the right one, the photo ID, the receiver's and the
 * guardian's signatures seal the case with both signatures, and the page
 * moves on; a sealed student cannot be handed over again; Back gives the
 * case list back; locking leaves nothing of it. */
static void
test_handover_page (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  FkWindow *win = signed_in_window (dir, settings);
  g_autofree char *outing = add_handover_outing (fk_window_store (win));
  const double stroke[] = { 20, 40, 120, 90, 220, 50 };
  GtkWidget *page, *ho, *start, *card, *identity, *hand, *reason;
  g_autoptr(GPtrArray) cases = NULL;
  FkCase *first = NULL;
  gboolean signature = FALSE, guardian = FALSE;

  ho = start_handover (win, outing, &page, &start);
  g_assert_nonnull (find_label (ho, "0 / 2 handed over · 2 waiting"));
  g_assert_true (label_shown (ho, "王小明"));
  /* The expected card, masked but for its last four characters. */
  g_assert_nonnull (find_label (ho, "National ID card on the office's list: ••••••0001"));
  g_assert_null (find_label (ho, "F100000001"));

  card = find_named (ho, "handover-card");
  identity = find_named (ho, "handover-identity");
  hand = find_named (ho, "handover-hand");
  reason = find_named (ho, "handover-card-reason");
  g_assert_nonnull (card);
  g_assert_nonnull (identity);
  g_assert_nonnull (hand);

  /* A wrong card: the reason at once, nothing sealed. */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (identity), TRUE);
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), stroke, 3);
  gtk_editable_set_text (GTK_EDITABLE (card), "F100000009");
  g_assert_true (gtk_widget_is_visible (reason));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (reason)), "This is not the card on the office's list"));
  g_signal_emit_by_name (card, "activate");
  wait_for_store (win);
  g_signal_emit_by_name (hand, "clicked");
  wait_for_store (win);
  g_assert_true (label_shown (ho, "王小明"));
  g_assert_true (gtk_widget_is_visible (reason));
  cases = fk_store_cases (fk_window_store (win), outing, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cases->len, ==, 2);
  for (guint i = 0; i < cases->len; i++)
    g_assert_cmpint (((FkCase *) cases->pdata[i])->status, ==, FK_CASE_DRAFT);
  g_clear_pointer (&cases, g_ptr_array_unref);

  /* A wrong length says so too. */
  gtk_editable_set_text (GTK_EDITABLE (card), "F1000000011");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (reason)), "This number has 11 characters"));

  /* The right card, the guardian signs too, Enter (the scanner's) hands over. */
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-guardian")), stroke, 3);
  gtk_editable_set_text (GTK_EDITABLE (card), "f100000001");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (reason)), "✓"));
  g_signal_emit_by_name (card, "activate");
  wait_for_store (win);
  g_assert_nonnull (find_label (ho, "1 / 2 handed over · 1 waiting"));
  g_assert_true (label_shown (ho, "林美玲"));
  g_assert_false (label_shown (ho, "王小明"));
  /* The next student starts clean. */
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-signature"))));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (card)), ==, "");

  cases = fk_store_cases (fk_window_store (win), outing, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < cases->len; i++)
    if (g_strcmp0 (((FkCase *) cases->pdata[i])->name, "王小明") == 0)
      first = cases->pdata[i];
  g_assert_nonnull (first);
  {
    g_autoptr(FkCase) kase = fk_store_case_get (fk_window_store (win), first->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (kase->status, ==, FK_CASE_SEALED);
    g_assert_nonnull (kase->receipt_no);
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "card_number"), ==, "F100000001");
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "receiver"), ==, "self");
    g_assert_true (g_strv_contains ((const char * const *) kase->ticked, "receiver_identity"));
    for (guint i = 0; i < kase->attachments->len; i++)
      {
        FkAttachmentInfo *a = kase->attachments->pdata[i];

        signature |= g_str_equal (a->kind, "signature");
        guardian |= g_str_equal (a->kind, "guardian_signature");
      }
    g_assert_true (signature);
    g_assert_true (guardian);
  }

  /* Someone else receives: name and ID number appear and are required. */
  g_assert_false (gtk_widget_is_visible (find_named (ho, "handover-receiver-name")));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_button (ho, "Legal representative")), TRUE);
  fk_test_ui_spin ();
  g_assert_true (gtk_widget_is_visible (find_named (ho, "handover-receiver-name")));
  g_assert_true (gtk_widget_is_visible (find_named (ho, "handover-receiver-id")));

  /* Back to the sealed student: handed over, and it stays so. */
  g_signal_emit_by_name (find_named (ho, "handover-hand"), "clicked");  /* problems listed, nothing sealed */
  wait_for_store (win);
  g_assert_true (label_shown (ho, "Type the receiver's name"));
  fk_window_go_back (win);   /* Back: the outing's case list */
  fk_test_ui_spin ();
  g_assert_null (fk_handover_page_find (page));
  g_assert_true (gtk_widget_get_mapped (page));
  g_signal_emit_by_name (start, "clicked");
  fk_test_ui_spin ();
  ho = GTK_WIDGET (fk_handover_page_find (page));
  g_assert_nonnull (ho);
  /* It opens on the student still waiting; the list shows the other as handed over. */
  g_assert_true (label_shown (ho, "林美玲"));
  g_assert_nonnull (find_label (ho, "1 / 2 handed over · 1 waiting"));
  g_signal_emit_by_name (find_named (ho, "handover-list"), "clicked");
  fk_test_ui_spin ();
  g_assert_true (label_shown (ho, "Handed over · receipt "));
  g_assert_true (label_shown (ho, "Waiting"));
  {
    GtkWidget *list = fk_test_ui_find_type (ho, GTK_TYPE_LIST_BOX);
    GtkListBoxRow *row;

    g_assert_nonnull (list);
    row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), 0);
    g_assert_nonnull (row);
    g_signal_emit_by_name (list, "row-activated", row);
    fk_test_ui_spin ();
  }
  g_assert_true (label_shown (ho, "王小明"));
  g_assert_true (label_shown (ho, "Handed over · receipt "));
  g_assert_false (gtk_widget_get_sensitive (find_named (ho, "handover-card")));
  g_assert_nonnull (find_label (ho, "Next student (Enter)"));

  /* Sealed behind the page's back (another window, the command line):
   * the store refuses and the page shows its words. */
  {
    FkStore *store = fk_window_store (win);
    g_autoptr(GBytes) png = NULL;
    gint64 second = 0;
    const char *items[] = { "receiver_identity", NULL };
    GtkWidget *problem;

    for (guint i = 0; i < cases->len; i++)
      if (g_strcmp0 (((FkCase *) cases->pdata[i])->name, "林美玲") == 0)
        second = ((FkCase *) cases->pdata[i])->id;
    fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), stroke, 3);
    png = fk_signature_pad_to_png (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), NULL);
    fk_signature_pad_clear (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")));
    g_assert_true (fk_store_case_set_field (store, second, "card_number", "F100000002", &error));
    g_assert_true (fk_store_case_tick (store, second, items, FALSE, &error));
    g_assert_true (fk_store_case_attach (store, second, "signature", "image/png", png, &error));
    g_assert_true (fk_store_case_check (store, second, &error));
    g_assert_true (fk_store_case_finalize (store, second, NULL, &error));
    g_assert_no_error (error);

    g_signal_emit_by_name (find_named (ho, "handover-hand"), "clicked");   /* next: 林美玲, still waiting here */
    fk_test_ui_spin ();
    g_assert_true (label_shown (ho, "林美玲"));
    gtk_check_button_set_active (GTK_CHECK_BUTTON (find_named (ho, "handover-identity")), TRUE);
    fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), stroke, 3);
    gtk_editable_set_text (GTK_EDITABLE (find_named (ho, "handover-card")), "F100000002");
    g_signal_emit_by_name (find_named (ho, "handover-card"), "activate");
    wait_for_store (win);
    problem = find_label (ho, "Case ");
    g_assert_nonnull (problem);
    g_assert_true (gtk_widget_is_visible (problem));
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (problem)), "can no longer be changed"));
    g_assert_true (label_shown (ho, "林美玲"));
  }

  /* Locking destroys the page and every name on it. */
  fk_window_lock (win);
  fk_test_ui_spin ();
  g_assert_null (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_HANDOVER_PAGE));
  g_assert_null (find_label (GTK_WIDGET (win), "王小明"));
  g_assert_null (find_label (GTK_WIDGET (win), "林美玲"));

  g_clear_pointer (&cases, g_ptr_array_unref);
  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
}

/* ---- the hand-over keeps what was not handed over yet ------------------------------ */

static gboolean
has_tooltip (GtkWidget     *widget,
             gconstpointer  tooltip)
{
  return g_strcmp0 (gtk_widget_get_tooltip_text (widget), tooltip) == 0;
}

static GtkWidget *
find_tooltip (GtkWidget  *root,
              const char *tooltip)
{
  return fk_test_ui_find (root, has_tooltip, tooltip);
}

/* The pad shows exactly the stroke xy: its strokes, moved for a moment to
 * a pad never shown (whose PNG does not depend on the page's layout), make
 * the same PNG as the stroke drawn there afresh. */
static void
assert_pad_holds (GtkWidget    *pad,
                  const double *xy,
                  guint         n_points)
{
  GtkWidget *expected = g_object_ref_sink (fk_signature_pad_new ());
  GtkWidget *probe = g_object_ref_sink (fk_signature_pad_new ());
  g_autoptr(GBytes) want = NULL;
  g_autoptr(GBytes) got = NULL;

  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (expected), xy, n_points);
  want = fk_signature_pad_to_png (FK_SIGNATURE_PAD (expected), NULL);
  fk_signature_pad_set_strokes (FK_SIGNATURE_PAD (probe), fk_signature_pad_take_strokes (FK_SIGNATURE_PAD (pad)));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (pad)));
  got = fk_signature_pad_to_png (FK_SIGNATURE_PAD (probe), NULL);
  g_assert_nonnull (got);
  g_assert_true (g_bytes_equal (got, want));
  fk_signature_pad_set_strokes (FK_SIGNATURE_PAD (pad), fk_signature_pad_take_strokes (FK_SIGNATURE_PAD (probe)));
  g_assert_false (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (pad)));
  g_assert_finalize_object (expected);
  g_assert_finalize_object (probe);
}

static void
handover_show_row (GtkWidget *ho,
                   int        index)
{
  GtkWidget *list;

  g_signal_emit_by_name (find_named (ho, "handover-list"), "clicked");
  fk_test_ui_spin ();
  list = fk_test_ui_find_type (ho, GTK_TYPE_LIST_BOX);
  g_assert_nonnull (list);
  g_signal_emit_by_name (list, "row-activated", gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), index));
  fk_test_ui_spin ();
}

/* A clerk who goes to another student (the list, next, previous) before
 * handing over finds the first one as left: the signatures drawn, the card
 * number typed, the photo ID ticked, the receiver; handing over then seals
 * the case with those signatures, and a student handed over keeps no
 * signature on the page. */
static void
test_handover_keeps_unsaved (void)
{
  g_autofree char *dir = window_data_folder ();
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  FkWindow *win = signed_in_window (dir, settings);
  g_autofree char *outing = add_handover_outing (fk_window_store (win));
  const double stroke[] = { 20, 40, 120, 90, 220, 50 };
  const double other[] = { 30, 150, 60, 20, 250, 120 };
  g_autoptr(GPtrArray) cases = NULL;
  GtkWidget *ho, *card, *identity, *next, *previous;
  gint64 first = 0;
  gboolean signature = FALSE, guardian = FALSE;

  ho = start_handover (win, outing, NULL, NULL);
  card = find_named (ho, "handover-card");
  identity = find_named (ho, "handover-identity");
  next = find_tooltip (ho, "Next student (Alt+N)");
  previous = find_tooltip (ho, "Previous student (Alt+B)");
  g_assert_nonnull (next);
  g_assert_nonnull (previous);

  /* Student 1: everything but the hand-over. */
  g_assert_true (label_shown (ho, "王小明"));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (identity), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (card), "F100000001");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_button (ho, "Legal representative")), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (find_named (ho, "handover-receiver-name")), "王大同");
  gtk_editable_set_text (GTK_EDITABLE (find_named (ho, "handover-receiver-id")), "A100000001");
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), stroke, 3);
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-guardian")), other, 3);

  /* Student 2 starts clean, and gets a signature and half a number. */
  g_signal_emit_by_name (next, "clicked");
  fk_test_ui_spin ();
  g_assert_true (label_shown (ho, "林美玲"));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-signature"))));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-guardian"))));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (card)), ==, "");
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (identity)));
  g_assert_false (gtk_widget_is_visible (find_named (ho, "handover-receiver-name")));
  gtk_editable_set_text (GTK_EDITABLE (card), "F1000");
  fk_signature_pad_add_stroke (FK_SIGNATURE_PAD (find_named (ho, "handover-signature")), other, 3);

  /* Back to student 1 through the list: as it was left. */
  handover_show_row (ho, 0);
  g_assert_true (label_shown (ho, "王小明"));
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (identity)));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (card)), ==, "F100000001");
  g_assert_true (gtk_widget_is_visible (find_named (ho, "handover-receiver-name")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (ho, "handover-receiver-name"))), ==, "王大同");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (ho, "handover-receiver-id"))), ==, "A100000001");
  assert_pad_holds (find_named (ho, "handover-signature"), stroke, 3);
  assert_pad_holds (find_named (ho, "handover-guardian"), other, 3);

  /* Next and previous keep student 2's too. */
  g_signal_emit_by_name (next, "clicked");
  fk_test_ui_spin ();
  g_assert_true (label_shown (ho, "林美玲"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (card)), ==, "F1000");
  assert_pad_holds (find_named (ho, "handover-signature"), other, 3);
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-guardian"))));
  g_signal_emit_by_name (previous, "clicked");
  fk_test_ui_spin ();
  g_assert_true (label_shown (ho, "王小明"));
  assert_pad_holds (find_named (ho, "handover-signature"), stroke, 3);

  /* Hand student 1 over: sealed with both signatures; the page goes on to
   * student 2, still as left. */
  g_signal_emit_by_name (card, "activate");
  wait_for_store (win);
  g_assert_nonnull (find_label (ho, "1 / 2 handed over · 1 waiting"));
  g_assert_true (label_shown (ho, "林美玲"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (card)), ==, "F1000");
  assert_pad_holds (find_named (ho, "handover-signature"), other, 3);

  cases = fk_store_cases (fk_window_store (win), outing, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < cases->len; i++)
    if (g_strcmp0 (((FkCase *) cases->pdata[i])->name, "王小明") == 0)
      first = ((FkCase *) cases->pdata[i])->id;
  g_assert_cmpint (first, >, 0);
  {
    g_autoptr(FkCase) kase = fk_store_case_get (fk_window_store (win), first, &error);

    g_assert_no_error (error);
    g_assert_cmpint (kase->status, ==, FK_CASE_SEALED);
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "card_number"), ==, "F100000001");
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "receiver"), ==, "legal_representative");
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "receiver_name"), ==, "王大同");
    g_assert_cmpstr (g_hash_table_lookup (kase->fields, "receiver_id"), ==, "A100000001");
    for (guint i = 0; i < kase->attachments->len; i++)
      {
        FkAttachmentInfo *a = kase->attachments->pdata[i];

        signature |= g_str_equal (a->kind, "signature");
        guardian |= g_str_equal (a->kind, "guardian_signature");
      }
    g_assert_true (signature);
    g_assert_true (guardian);
  }

  /* Handed over, student 1 keeps no signature on the page. */
  g_signal_emit_by_name (previous, "clicked");
  fk_test_ui_spin ();
  g_assert_true (label_shown (ho, "王小明"));
  g_assert_true (label_shown (ho, "Handed over · receipt "));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-signature"))));
  g_assert_true (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (find_named (ho, "handover-guardian"))));
  g_assert_null (find_label (ho, "F100000001"));

  /* Locking destroys the page with what it kept. */
  fk_window_lock (win);
  fk_test_ui_spin ();
  g_assert_null (fk_test_ui_find_type (GTK_WIDGET (win), FK_TYPE_HANDOVER_PAGE));

  gtk_window_destroy (GTK_WINDOW (win));
  fk_test_ui_spin ();
  fk_test_rm_rf (dir);
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
  test_app = fk_test_ui_app_new ("io.github.fieldkit.TestUi");

  g_test_add_func ("/ui/case-item/basics", test_case_item);
  g_test_add_func ("/ui/case-item/list-10000", test_case_list_10000);
  g_test_add_func ("/ui/signature-pad/png", test_signature_png);
  g_test_add_func ("/ui/util/strength", test_strength);
  g_test_add_func ("/ui/util/icon-button", test_icon_button_named);
  g_test_add_func ("/ui/util/format-date", test_format_date);
  g_test_add_func ("/ui/window/fits-360", test_window_fits_360);
  g_test_add_func ("/ui/window/lock-closes-dialogs", test_window_lock_closes_dialogs);
  g_test_add_func ("/ui/window/language", test_window_language);
  g_test_add_func ("/ui/window/busy-refusal", test_window_busy_refusal);
  g_test_add_func ("/ui/home/last-sync", test_home_last_sync);
  g_test_add_func ("/ui/outing/search-typing", test_outing_search_typing);
  g_test_add_func ("/ui/drive/import-and-back", test_drive_import_and_back);
  g_test_add_func ("/ui/handover/hand-over", test_handover_page);
  g_test_add_func ("/ui/handover/keeps-unsaved", test_handover_keeps_unsaved);
  g_test_add_func ("/ui/handover/class-and-seat", test_handover_class_and_seat);
  return g_test_run ();
}
