/* fk-test-ui.h — what the window's GTest programs (test-ui, test-camera,
 * test-auto-sync) share: the application their windows belong to, running
 * the main context dry, and finding a widget in a window (by type, a
 * button by its label, or anything a match function accepts). */
#pragma once

#include <adwaita.h>
#include <gtk/gtk.h>

#include "crypto/fk-crypto.h"

/* Runs what the main context has ready, a few rounds over. */
static inline void
fk_test_ui_spin (void)
{
  for (int i = 0; i < 20; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
}

typedef gboolean (*FkTestUiMatch) (GtkWidget     *widget,
                                   gconstpointer  data);

/* The first widget at or below root, depth first, that match accepts, or
 * NULL. */
static inline GtkWidget *
fk_test_ui_find (GtkWidget     *root,
                 FkTestUiMatch  match,
                 gconstpointer  data)
{
  if (match (root, data))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = fk_test_ui_find (c, match, data);

      if (found)
        return found;
    }
  return NULL;
}

static inline gboolean
fk_test_ui_is_type (GtkWidget     *widget,
                    gconstpointer  type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, (GType) GPOINTER_TO_SIZE (type));
}

/* The first widget of `type` at or below root, or NULL. */
static inline GtkWidget *
fk_test_ui_find_type (GtkWidget *root,
                      GType      type)
{
  return fk_test_ui_find (root, fk_test_ui_is_type, GSIZE_TO_POINTER (type));
}

static inline gboolean
fk_test_ui_is_button_labelled (GtkWidget     *widget,
                               gconstpointer  label)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

/* The first button below root whose label is `label`, or NULL. */
static inline GtkWidget *
fk_test_ui_find_button (GtkWidget  *root,
                        const char *label)
{
  return fk_test_ui_find (root, fk_test_ui_is_button_labelled, label);
}

static void
fk_test_ui_activate (GApplication *app)
{
}

/* Call after gtk_init_check: libadwaita, the tests' environment (the fast
 * KDF, English), and a registered application for the windows; FieldKit's
 * resource path gives them its style sheet, as in the real program. */
static inline AdwApplication *
fk_test_ui_app_new (const char *app_id)
{
  g_autoptr(GError) error = NULL;
  AdwApplication *app;

  adw_init ();
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_setenv ("LANGUAGE", "en", TRUE);
  g_assert_true (fk_crypto_init (&error));
  app = g_object_new (ADW_TYPE_APPLICATION, "application-id", app_id,
                      "flags", G_APPLICATION_NON_UNIQUE, "resource-base-path", "/io/github/fieldkit/FieldKit", NULL);
  g_signal_connect (app, "activate", G_CALLBACK (fk_test_ui_activate), NULL);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_application_hold (G_APPLICATION (app));
  return app;
}
