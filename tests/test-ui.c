/* test-ui.c — widget tests of the window's parts (display suite).
 *
 * Needs a display: without one (gtk_init_check fails) it exits 77, which
 * meson counts as skipped; tools/test.sh runs this suite under xvfb-run so
 * nothing is skipped there. */
#include <gtk/gtk.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include "app/fk-store.h"
#include "ui/fk-case-item.h"
#include "ui/fk-signature-pad.h"
#include "ui/fk-ui-util.h"

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
  adw_init ();

  g_test_add_func ("/ui/case-item/basics", test_case_item);
  g_test_add_func ("/ui/case-item/list-10000", test_case_list_10000);
  g_test_add_func ("/ui/signature-pad/png", test_signature_png);
  g_test_add_func ("/ui/util/strength", test_strength);
  g_test_add_func ("/ui/util/icon-button", test_icon_button_named);
  g_test_add_func ("/ui/util/format-date", test_format_date);
  return g_test_run ();
}
