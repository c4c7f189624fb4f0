/* fk-preferences.c — AdwPreferencesWindow: the office connection (enrol),
 * automatic sync, idle lock minutes, retention days, large text and
 * language. */
#include "ui/fk-preferences.h"

#include <string.h>

#include <sodium.h>

#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "sync/fk-sync.h"
#include "ui/fk-ui-util.h"

static const char *const languages[] = { "", "zh_TW", "en" };

typedef struct {
  char *url;
  char *code;
  char *fingerprint;
} EnrolJob;

/* ---- helpers ------------------------------------------------------------------ */

static void
enrol_job_free (gpointer p)
{
  EnrolJob *job = p;

  g_free (job->url);
  if (job->code)
    sodium_memzero (job->code, strlen (job->code));
  g_free (job->code);
  g_free (job->fingerprint);
  g_free (job);
}

static gboolean
enrol_job_run (FkStore  *store,
               gpointer  data,
               GError  **error)
{
  EnrolJob *job = data;

  return fk_sync_enroll (store, job->url, job->code, job->fingerprint, NULL, error);
}

static void
show_office (GtkWidget *prefs,
             FkWindow  *window)
{
  GtkWidget *row = g_object_get_data (G_OBJECT (prefs), "office-row");
  FkStore *store = fk_window_store (window);
  FkOfficeInfo info = { 0 };

  if (store && fk_store_office (store, &info))
    {
      g_autofree char *fp = fk_fingerprint (info.sign_pk, sizeof info.sign_pk);
      g_autofree char *sub = g_strdup_printf (_("%s · office %s · device %u · key %s"),
                                              info.url, info.office_code, info.device_number, fp);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Enrolled"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sub);
      fk_office_info_clear (&info);
    }
  else
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Not enrolled"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   _("Sealed cases wait on this device until it is enrolled."));
    }
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
enrol_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GtkWidget) prefs = user_data;
  FkWindow *window = FK_WINDOW (source);
  g_autoptr(GError) error = NULL;
  GtkWidget *spinner = g_object_get_data (G_OBJECT (prefs), "spinner");
  GtkWidget *button = g_object_get_data (G_OBJECT (prefs), "enrol");
  gboolean ok = fk_window_run_job_finish (window, result, &error);

  if (gtk_widget_get_root (prefs) == NULL || !gtk_widget_get_visible (prefs))
    return;
  gtk_spinner_stop (GTK_SPINNER (spinner));
  gtk_widget_set_sensitive (button, TRUE);
  if (!ok)
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (prefs), adw_toast_new (error->message));
      return;
    }
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (prefs),
                                    adw_toast_new (_("Enrolled with the office")));
  show_office (prefs, window);
  fk_window_refresh (window);
}

static void
enrol_clicked_cb (GtkButton *button,
                  GtkWidget *prefs)
{
  FkWindow *window = g_object_get_data (G_OBJECT (prefs), "fk-window");
  GtkWidget *url = g_object_get_data (G_OBJECT (prefs), "url");
  GtkWidget *code = g_object_get_data (G_OBJECT (prefs), "code");
  GtkWidget *fp = g_object_get_data (G_OBJECT (prefs), "fp");
  GtkWidget *spinner = g_object_get_data (G_OBJECT (prefs), "spinner");
  EnrolJob *job;

  if (!*gtk_editable_get_text (GTK_EDITABLE (url)) || !*gtk_editable_get_text (GTK_EDITABLE (code)) ||
      !*gtk_editable_get_text (GTK_EDITABLE (fp)))
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (prefs),
                                        adw_toast_new (_("Type the address, the invite code and the fingerprint.")));
      return;
    }
  job = g_new0 (EnrolJob, 1);
  job->url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (url))));
  job->code = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (code))));
  job->fingerprint = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (fp))));
  g_settings_set_string (fk_window_settings (window), "office-url", job->url);
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  gtk_spinner_start (GTK_SPINNER (spinner));
  fk_window_run_job (window, enrol_job_run, job, enrol_job_free, NULL, enrol_done_cb, g_object_ref (prefs));
}

static void
retention_changed_cb (GtkSpinButton *spin,
                      FkWindow      *window)
{
  FkStore *store = fk_window_store (window);
  g_autofree char *value = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (spin));

  /* The store applies the retention when the office acknowledges a case. */
  if (store)
    fk_store_set_setting (store, "retention_days", value, NULL);
}

static gboolean
reopen_cb (gpointer user_data)
{
  g_autoptr(GtkWidget) prefs = user_data;
  FkWindow *window = g_object_get_data (G_OBJECT (prefs), "fk-window");
  GtkWidget *fresh;

  /* Only if Preferences is still open (a lock may have closed it). */
  if (!gtk_widget_get_visible (prefs))
    return G_SOURCE_REMOVE;
  gtk_window_destroy (GTK_WINDOW (prefs));
  fresh = fk_preferences_show (window);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (fresh),
                                    adw_toast_new (_("FieldKit now speaks English.")));
  return G_SOURCE_REMOVE;
}

static void
language_changed_cb (AdwComboRow *row,
                     GParamSpec  *pspec,
                     GtkWidget   *prefs)
{
  FkWindow *window = g_object_get_data (G_OBJECT (prefs), "fk-window");
  guint pos = adw_combo_row_get_selected (row);

  if (pos >= G_N_ELEMENTS (languages))
    return;
  /* The window follows the setting at once (fk-window.c rebuilds itself
   * in the new language); this window is built again afterwards, outside
   * the handler of its own row. */
  g_settings_set_string (fk_window_settings (window), "language", languages[pos]);
  g_idle_add (reopen_cb, g_object_ref (prefs));
}

static gboolean
lock_shortcut_cb (GtkWidget *prefs,
                  GVariant  *args,
                  gpointer   user_data)
{
  /* Locking closes this window too (fk_window_lock closes every dialog). */
  fk_window_lock (g_object_get_data (G_OBJECT (prefs), "fk-window"));
  return TRUE;
}

/* ---- construction -------------------------------------------------------------- */

static GtkWidget *
spin_row (const char *title,
          const char *subtitle,
          double      lo,
          double      hi,
          GtkWidget **spin_out)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (lo, hi, 1);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  fk_ui_name (spin, title);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  *spin_out = spin;
  return row;
}

/* A row with a switch bound to a boolean setting. */
static GtkWidget *
switch_row (const char *title,
            const char *subtitle,
            GSettings  *settings,
            const char *key)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *sw = gtk_switch_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (sw, GTK_ALIGN_CENTER);
  fk_ui_name (sw, title);
  g_settings_bind (settings, key, sw, "active", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), sw);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), sw);
  return row;
}

static GtkWidget *
entry_row (const char *title)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  fk_ui_name (row, title);
  return row;
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_preferences_show (FkWindow *window)
{
  GSettings *settings = fk_window_settings (window);
  FkStore *store = fk_window_store (window);
  GtkWidget *prefs = adw_preferences_window_new ();
  GtkWidget *page, *group, *row, *spin, *url, *code, *fp, *button, *spinner;
  GtkStringList *langs = gtk_string_list_new (NULL);
  g_autofree char *lang = g_settings_get_string (settings, "language");
  g_autofree char *retention = store ? fk_store_get_setting (store, "retention_days") : NULL;

  gtk_window_set_transient_for (GTK_WINDOW (prefs), GTK_WINDOW (window));
  gtk_window_set_modal (GTK_WINDOW (prefs), TRUE);
  gtk_window_set_title (GTK_WINDOW (prefs), _("Preferences"));
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (prefs), FALSE);
  g_object_set_data (G_OBJECT (prefs), "fk-window", window);
  {
    /* Ctrl+L locks from here too (win.lock belongs to the main window). */
    GtkEventController *keys = gtk_shortcut_controller_new ();

    gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
                                          gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_l, GDK_CONTROL_MASK),
                                                            gtk_callback_action_new (lock_shortcut_cb, NULL, NULL)));
    gtk_widget_add_controller (prefs, keys);
  }
  if (gtk_widget_has_css_class (GTK_WIDGET (window), "large-text"))
    gtk_widget_add_css_class (prefs, "large-text");
  gtk_widget_add_css_class (prefs, "fieldkit");

  /* General. */
  page = adw_preferences_page_new ();
  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("General"));
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "preferences-system-symbolic");
  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Privacy"));
  row = spin_row (_("Lock after idle minutes"),
                  _("The key is wiped and personal data hidden."), 1, 60, &spin);
  g_settings_bind (settings, "idle-lock-minutes", gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (spin)), "value",
                   G_SETTINGS_BIND_DEFAULT);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  row = spin_row (_("Keep personal data after upload (days)"),
                  _("0 removes it as soon as the office has the case."), 0, 365, &spin);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin),
                             retention ? g_ascii_strtod (retention, NULL) : g_settings_get_uint (settings, "retention-days"));
  g_settings_bind (settings, "retention-days", gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (spin)), "value",
                   G_SETTINGS_BIND_SET);
  g_signal_connect (spin, "value-changed", G_CALLBACK (retention_changed_cb), window);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));

  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Display"));
  row = switch_row (_("Large text"), _("For applicants who read back and sign on this screen."),
                    settings, "large-text");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);

  gtk_string_list_append (langs, _("Follow the system"));
  gtk_string_list_append (langs, "繁體中文");
  gtk_string_list_append (langs, "English");
  row = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Language"));
  fk_ui_name (row, _("Language"));
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (langs));
  for (guint i = 0; i < G_N_ELEMENTS (languages); i++)
    if (g_str_equal (lang, languages[i]))
      adw_combo_row_set_selected (ADW_COMBO_ROW (row), i);
  g_signal_connect (row, "notify::selected", G_CALLBACK (language_changed_cb), prefs);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (prefs), ADW_PREFERENCES_PAGE (page));

  /* Office. */
  page = adw_preferences_page_new ();
  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("Office"));
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "network-server-symbolic");
  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Office connection"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         _("Enrol with the invite from the office administrator: address, one-time "
                                               "code and the office key's fingerprint."));
  row = adw_action_row_new ();
  g_object_set_data (G_OBJECT (prefs), "office-row", row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  url = entry_row (_("Office address"));
  {
    g_autofree char *saved = g_settings_get_string (settings, "office-url");

    gtk_editable_set_text (GTK_EDITABLE (url), saved);
  }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), url);
  code = entry_row (_("Invite code"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), code);
  fp = entry_row (_("Office key fingerprint"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), fp);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  gtk_widget_set_margin_top (row, 12);
  spinner = gtk_spinner_new ();
  fk_ui_name (spinner, _("Connecting"));
  button = fk_ui_button (_("Enrol"), "suggested-action");
  g_signal_connect (button, "clicked", G_CALLBACK (enrol_clicked_cb), prefs);
  gtk_box_append (GTK_BOX (row), spinner);
  gtk_box_append (GTK_BOX (row), button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  g_object_set_data (G_OBJECT (prefs), "url", url);
  g_object_set_data (G_OBJECT (prefs), "code", code);
  g_object_set_data (G_OBJECT (prefs), "fp", fp);
  g_object_set_data (G_OBJECT (prefs), "spinner", spinner);
  g_object_set_data (G_OBJECT (prefs), "enrol", button);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));

  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Sync"));
  row = switch_row (_("Sync automatically when online"),
                    _("Sealed cases go to the office in the background as soon as there is a network; "
                      "a failed attempt is retried later."),
                    settings, "auto-sync");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (prefs), ADW_PREFERENCES_PAGE (page));

  show_office (prefs, window);
  gtk_window_present (GTK_WINDOW (prefs));
  return prefs;
}
