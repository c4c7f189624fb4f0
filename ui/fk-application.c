/* fk-application.c — AdwApplication subclass: options, settings, the
 * language switch, the style manager and the one window. */
#include "ui/fk-application.h"

#include <locale.h>

#include "app/fk-store.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-preferences.h"
#include "ui/fk-ui-resources.h"
#include "ui/fk-window.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  char           *data_dir;
};

G_DEFINE_FINAL_TYPE (FkApplication, fk_application, ADW_TYPE_APPLICATION)

/* ---- helpers ------------------------------------------------------------------ */

GSettings *
fk_ui_settings_new (void)
{
  GSettingsSchemaSource *installed = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* Referencing the resource keeps its object file (and with it the
   * constructor that registers the style sheet and icons) in the link. */
  (void) fk_ui_get_resource ();

  if (installed)
    schema = g_settings_schema_source_lookup (installed, FK_APP_ID, TRUE);
  if (schema == NULL)
    {
      g_autoptr(GSettingsSchemaSource) built =
        g_settings_schema_source_new_from_directory (FK_UI_SCHEMA_DIR, installed, FALSE, NULL);

      if (built)
        schema = g_settings_schema_source_lookup (built, FK_APP_ID, FALSE);
    }
  if (schema == NULL)
    g_error ("The settings schema %s is neither installed nor in %s; run `meson install` or build first.",
             FK_APP_ID, FK_UI_SCHEMA_DIR);
  return g_settings_new_full (schema, NULL, NULL);
}

void
fk_ui_apply_large_text (GtkWindow *window,
                        gboolean   large)
{
  if (large)
    gtk_widget_add_css_class (GTK_WIDGET (window), "large-text");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (window), "large-text");
}

static void
apply_language (FkApplication *self)
{
  g_autofree char *lang = g_settings_get_string (self->settings, "language");

  fk_lang_set (*lang ? lang : NULL);
}

/* ---- actions ------------------------------------------------------------------ */

static void
quit_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  GtkApplication *app = user_data;
  GList *windows = gtk_application_get_windows (app);

  /* Closing each window first lets it save the draft being typed and lock. */
  for (GList *l = windows; l; l = l->next)
    gtk_window_close (l->data);
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  GtkApplication *app = user_data;
  GtkWindow *parent = gtk_application_get_active_window (app);
  GtkWidget *about = adw_about_window_new ();

  adw_about_window_set_application_name (ADW_ABOUT_WINDOW (about), _("FieldKit"));
  adw_about_window_set_application_icon (ADW_ABOUT_WINDOW (about), FK_APP_ID);
  adw_about_window_set_version (ADW_ABOUT_WINDOW (about), FK_VERSION);
  adw_about_window_set_developer_name (ADW_ABOUT_WINDOW (about), _("FieldKit contributors"));
  adw_about_window_set_license_type (ADW_ABOUT_WINDOW (about), GTK_LICENSE_GPL_3_0);
  adw_about_window_set_comments (ADW_ABOUT_WINDOW (about),
                                 _("Capture household-registration applications offline and deliver them to the office."));
  gtk_window_set_transient_for (GTK_WINDOW (about), parent);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *param,
                       gpointer       user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (user_data);

  if (FK_IS_WINDOW (parent))
    fk_preferences_show (FK_WINDOW (parent));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_activated, NULL, NULL, NULL, { 0 } },
};

/* ---- signal callbacks --------------------------------------------------------- */

static void
large_text_changed_cb (GSettings     *settings,
                       const char    *key,
                       FkApplication *self)
{
  gboolean large = g_settings_get_boolean (settings, "large-text");

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    fk_ui_apply_large_text (l->data, large);
}

/* ---- overrides ---------------------------------------------------------------- */

static int
fk_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  FkApplication *self = FK_APPLICATION (app);
  const char *dir = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("fieldkit %s\n", FK_VERSION);
      return 0;
    }
  if (g_variant_dict_lookup (options, "data-dir", "^&ay", &dir) && dir && *dir)
    {
      g_free (self->data_dir);
      self->data_dir = g_canonicalize_filename (dir, NULL);
    }
  return -1;
}

static void
fk_application_startup (GApplication *app)
{
  FkApplication *self = FK_APPLICATION (app);
  const char *lock_accels[] = { "<Control>l", NULL };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *prefs_accels[] = { "<Control>comma", NULL };
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (fk_application_parent_class)->startup (app);

  if (!fk_crypto_init (&error))
    g_error ("%s", error->message);

  self->settings = fk_ui_settings_new ();
  apply_language (self);
  g_signal_connect (self->settings, "changed::large-text", G_CALLBACK (large_text_changed_cb), self);

  /* Dark style follows the system (the default of AdwStyleManager); said
   * explicitly because a kiosk session may have set something else. */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_PREFER_LIGHT);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.lock", lock_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs_accels);
}

static void
fk_application_activate (GApplication *app)
{
  FkApplication *self = FK_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    {
      if (self->data_dir == NULL)
        self->data_dir = fk_store_default_dir ();
      window = GTK_WINDOW (fk_window_new (ADW_APPLICATION (app), self->data_dir, self->settings));
    }
  gtk_window_present (window);
}

static void
fk_application_finalize (GObject *object)
{
  FkApplication *self = FK_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->data_dir, g_free);
  G_OBJECT_CLASS (fk_application_parent_class)->finalize (object);
}

/* ---- class_init / init -------------------------------------------------------- */

static void
fk_application_class_init (FkApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = fk_application_finalize;
  app_class->handle_local_options = fk_application_handle_local_options;
  app_class->startup = fk_application_startup;
  app_class->activate = fk_application_activate;
}

static void
fk_application_init (FkApplication *self)
{
  const GOptionEntry entries[] = {
    { "version", 'v', 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, NULL, "The data folder (default: $XDG_DATA_HOME/fieldkit)", "DIR" },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

/* ---- public API --------------------------------------------------------------- */

FkApplication *
fk_application_new (void)
{
  return g_object_new (FK_TYPE_APPLICATION,
                       "application-id", FK_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/fieldkit/FieldKit",
                       NULL);
}

GSettings *
fk_application_settings (FkApplication *self)
{
  return self->settings;
}

const char *
fk_application_data_dir (FkApplication *self)
{
  return self->data_dir;
}
