/* fk-test-ui.h — what the window's GTest programs (test-ui, test-camera,
 * test-auto-sync) share: the application their windows belong to, running
 * the main context dry, and finding a button by its label. */
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

/* The first button below root whose label is `label`, or NULL. */
static inline GtkWidget *
fk_test_ui_find_button (GtkWidget  *root,
                        const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = fk_test_ui_find_button (c, label);

      if (found)
        return found;
    }
  return NULL;
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
