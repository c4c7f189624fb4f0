/* fk-window.c — the main window: first run, sign-in, the adaptive layout
 * (AdwLeaflet: a sidebar and the content), navigation, store jobs, locking
 * (button, Ctrl+L, idle minutes, suspend), and what starts and stops the
 * automatic sync (fk-auto-sync.c) and keeps one sync at a time. */
#include "ui/fk-window.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto/fk-i18n.h"
#include "ui/fk-application.h"
#include "ui/fk-auto-sync.h"
#include "ui/fk-pages.h"
#include "ui/fk-preferences.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  char                 *data_dir;
  FkStore              *store;
  gboolean              busy;          /* a job has the store */
  gboolean              lock_pending;  /* lock as soon as the job is back */
  gboolean              relabel_pending; /* the language changed during a job */
  gboolean              revoke_pending;  /* the device was revoked during a job */
  gboolean              sync_running;  /* the Sync page's run or the automatic one */
  FkAutoSync           *auto_sync;
  FkSecret             *passphrase;
  GCancellable         *cancellable;

  /* A new case typed before the lock that could not be saved yet, and the
   * case that was open; both given back to the same operator only. */
  GHashTable           *pending_draft;
  gint64                resume_case;
  char                 *resume_owner;

  AdwToastOverlay      *toasts;
  GtkStack             *root;
  GtkWidget            *setup_page;
  GtkWidget            *signin_page;
  AdwLeaflet           *leaflet;
  GtkWidget            *sidebar_box;
  GtkWidget            *side_header;
  GtkListBox           *sidebar;
  GtkWidget            *content_box;
  GtkStack             *content;
  AdwWindowTitle       *title;
  GtkWidget            *back_button;
  GtkWidget            *offline_label;
  GtkWidget            *offline_icon;
  GtkWidget            *operator_label;

  GtkWidget            *home;
  GtkWidget            *sync;
  GtkWidget            *outing;
  GtkWidget            *editor;
  GtkWidget            *receipt;
  char                 *outing_id;     /* the outing page's */
  gint64                receipt_case;  /* the receipt page's */

  gint64                last_input_us;
  guint                 idle_source;
  GNetworkMonitor      *netmon;
  gulong                netmon_handler;
  GDBusConnection      *system_bus;
  guint                 sleep_subscription;
  gulong                language_handler;
};

G_DEFINE_FINAL_TYPE (FkWindow, fk_window, ADW_TYPE_APPLICATION_WINDOW)

typedef struct {
  FkStoreJobFunc  func;
  gpointer        data;
  GDestroyNotify  data_free;
  FkStore        *store;
} Job;

/* ---- prototypes ---------------------------------------------------------------- */

static void show_root_page (FkWindow *self);
static void destroy_personal_pages (FkWindow *self);

/* ---- helpers ------------------------------------------------------------------ */

static void
job_free (gpointer p)
{
  Job *job = p;

  if (job->data_free && job->data)
    job->data_free (job->data);
  g_free (job);
}

static void
job_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  if (job->func (job->store, job->data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
remove_content_page (FkWindow   *self,
                     GtkWidget **page)
{
  if (*page == NULL)
    return;
  gtk_stack_remove (self->content, *page);
  *page = NULL;
}

static gboolean
is_folded (FkWindow *self)
{
  return adw_leaflet_get_folded (self->leaflet);
}

static void
update_header (FkWindow *self)
{
  const char *name = gtk_stack_get_visible_child_name (self->content);
  const char *title = _("Home");
  gboolean top = name == NULL || g_str_equal (name, "home") || g_str_equal (name, "sync");

  if (g_strcmp0 (name, "sync") == 0)
    title = _("Sync");
  else if (g_strcmp0 (name, "outing") == 0 && self->outing)
    title = fk_outing_page_title (FK_OUTING_PAGE (self->outing));
  else if (g_strcmp0 (name, "case") == 0 && self->editor)
    title = fk_case_editor_title (FK_CASE_EDITOR (self->editor));
  else if (g_strcmp0 (name, "receipt") == 0)
    title = _("Receipt");
  adw_window_title_set_title (self->title, title);
  gtk_widget_set_visible (self->back_button, !top || is_folded (self));
}

static void
show_content (FkWindow   *self,
              const char *name)
{
  gtk_stack_set_visible_child_name (self->content, name);
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
  update_header (self);
}

static void
ensure_home (FkWindow *self)
{
  if (self->home == NULL)
    {
      self->home = fk_home_page_new (self);
      gtk_stack_add_named (self->content, self->home, "home");
      if (self->netmon)
        fk_home_page_set_online (FK_HOME_PAGE (self->home),
                                 g_network_monitor_get_network_available (self->netmon));
    }
}

static void
update_operator_label (FkWindow *self)
{
  const char *op = self->store ? fk_store_operator (self->store) : NULL;
  g_autofree char *text = op ? g_strdup_printf (_("Signed in: %s"), op) : g_strdup ("");

  gtk_label_set_text (GTK_LABEL (self->operator_label), text);
}

static void
forget_pending (FkWindow *self)
{
  g_hash_table_remove_all (self->pending_draft);
  self->resume_case = 0;
  g_clear_pointer (&self->resume_owner, g_free);
}

/* Keeps what was typed into a new case that cannot be saved yet. */
static void
stash_unsaved (FkWindow *self)
{
  GHashTable *unsaved = fk_case_editor_take_unsaved (FK_CASE_EDITOR (self->editor));
  GHashTableIter iter;
  gpointer k, v;

  if (unsaved == NULL)
    return;
  g_hash_table_iter_init (&iter, unsaved);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_hash_table_insert (self->pending_draft, g_strdup (k), g_strdup (v));
  g_hash_table_unref (unsaved);
}

/* Opens a new case again with what was typed before (pending_draft). */
static gboolean
reopen_pending_draft (FkWindow *self)
{
  const char *outing = g_hash_table_lookup (self->pending_draft, "_outing");
  const char *service = g_hash_table_lookup (self->pending_draft, "_service");
  g_autofree char *o = NULL;
  g_autofree char *s = NULL;

  if (outing == NULL || service == NULL)
    return FALSE;
  o = g_strdup (outing);
  s = g_strdup (service);
  fk_window_show_outing (self, o);
  remove_content_page (self, &self->editor);
  self->editor = fk_case_editor_new_draft (self, o, s, self->pending_draft);
  gtk_stack_add_named (self->content, self->editor, "case");
  show_content (self, "case");
  return TRUE;
}

static void
destroy_personal_pages (FkWindow *self)
{
  remove_content_page (self, &self->receipt);
  remove_content_page (self, &self->editor);
  remove_content_page (self, &self->outing);
  remove_content_page (self, &self->sync);
  remove_content_page (self, &self->home);
}

/* Whether w is a dialog of this window: transient for it, directly or
 * through another dialog (a message dialog over Preferences). */
static gboolean
is_dialog_of (GtkWindow *w,
              FkWindow  *self)
{
  for (GtkWindow *p = gtk_window_get_transient_for (w); p; p = gtk_window_get_transient_for (p))
    if (p == GTK_WINDOW (self))
      return TRUE;
  return FALSE;
}

/* Closes every dialog of this window (Preferences, message dialogs, the
 * file chooser, the print dialog, About), innermost first, and leaves the
 * window itself alone.  gtk_window_close lets each dialog answer as if
 * Escape was pressed (a message dialog's close response, a file chooser's
 * cancel, the print dialog ends its own loop); one that is still shown
 * afterwards is destroyed.  The windows are gathered first and held by a reference,
 * because closing one changes the lists being walked.  The application is
 * held meanwhile so that it can never see its last window go. */
static void
close_dialogs (FkWindow *self)
{
  GList *toplevels = gtk_window_list_toplevels ();
  g_autoptr(GPtrArray) dialogs = g_ptr_array_new_with_free_func (g_object_unref);
  GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  for (GList *l = toplevels; l; l = l->next)
    if (l->data != (gpointer) self && is_dialog_of (l->data, self))
      g_ptr_array_add (dialogs, g_object_ref (l->data));
  g_list_free (toplevels);
  if (dialogs->len == 0)
    return;

  if (app)
    g_application_hold (app);
  /* gtk_window_list_toplevels gives the newest first: that is innermost. */
  for (guint i = 0; i < dialogs->len; i++)
    {
      GtkWindow *w = dialogs->pdata[i];

      gtk_window_close (w);
      if (gtk_widget_get_visible (GTK_WIDGET (w)))
        gtk_window_destroy (w);
    }
  if (app)
    g_application_release (app);
}

static void
show_root_page (FkWindow *self)
{
  if (self->store == NULL || !fk_store_is_initialized (self->store))
    {
      if (self->setup_page == NULL)
        {
          self->setup_page = fk_setup_page_new (self);
          gtk_stack_add_named (self->root, self->setup_page, "setup");
        }
      gtk_stack_set_visible_child_name (self->root, "setup");
      return;
    }
  if (self->setup_page)
    {
      gtk_stack_remove (self->root, self->setup_page);
      self->setup_page = NULL;
    }
  if (!fk_store_is_unlocked (self->store))
    {
      fk_signin_page_reset (FK_SIGNIN_PAGE (self->signin_page), NULL);
      gtk_stack_set_visible_child_name (self->root, "signin");
      return;
    }
  gtk_stack_set_visible_child_name (self->root, "main");
}

/* ---- signal callbacks ---------------------------------------------------------- */

static gboolean
input_event_cb (GtkEventControllerLegacy *controller,
                GdkEvent                 *event,
                FkWindow                 *self)
{
  self->last_input_us = g_get_monotonic_time ();
  return GDK_EVENT_PROPAGATE;
}

static gboolean
idle_check_cb (gpointer user_data)
{
  FkWindow *self = user_data;
  guint minutes = g_settings_get_uint (self->settings, "idle-lock-minutes");
  gint64 idle = g_get_monotonic_time () - self->last_input_us;

  if (self->store && fk_store_is_unlocked (self->store) &&
      idle >= (gint64) minutes * 60 * G_USEC_PER_SEC)
    {
      fk_window_lock (self);
      fk_signin_page_reset (FK_SIGNIN_PAGE (self->signin_page),
                            _("Locked after a while without use. Sign in again to go on."));
    }
  return G_SOURCE_CONTINUE;
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    FkWindow        *self)
{
  gtk_widget_set_visible (self->offline_label, !available);
  gtk_widget_set_visible (self->offline_icon, !available);
  if (self->home)
    fk_home_page_set_online (FK_HOME_PAGE (self->home), available);
  if (self->auto_sync)
    fk_auto_sync_network_changed (self->auto_sync, available);
}

static void
prepare_for_sleep_cb (GDBusConnection *connection,
                      const char      *sender,
                      const char      *path,
                      const char      *iface,
                      const char      *signal,
                      GVariant        *params,
                      gpointer         user_data)
{
  FkWindow *self = user_data;
  gboolean going_to_sleep = FALSE;

  g_variant_get (params, "(b)", &going_to_sleep);
  if (going_to_sleep)
    fk_window_lock (self);
}

static void
system_bus_ready_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(FkWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);

  if (bus == NULL)
    {
      /* No system bus (a test session, a container): suspend cannot be
       * watched, the idle lock still works. */
      g_debug ("No system bus, suspend is not watched: %s", error->message);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_unref (bus);
      return;
    }
  self->system_bus = bus;
  self->sleep_subscription =
    g_dbus_connection_signal_subscribe (bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager",
                                        "PrepareForSleep", "/org/freedesktop/login1", NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, prepare_for_sleep_cb, self, NULL);
}

static void
sidebar_row_activated_cb (GtkListBox    *box,
                          GtkListBoxRow *row,
                          FkWindow      *self)
{
  if (gtk_list_box_row_get_index (row) == 0)
    fk_window_show_home (self);
  else
    fk_window_show_sync (self);
}

static void
back_clicked_cb (GtkButton *button,
                 FkWindow  *self)
{
  fk_window_go_back (self);
}

static void
folded_changed_cb (AdwLeaflet *leaflet,
                   GParamSpec *pspec,
                   FkWindow   *self)
{
  /* Folded, the sidebar is the whole window and needs the window buttons. */
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (self->side_header), is_folded (self));
  update_header (self);
}

static void
lock_clicked_cb (GtkButton *button,
                 FkWindow  *self)
{
  fk_window_lock (self);
}

static void
lock_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  fk_window_lock (FK_WINDOW (user_data));
}

static gboolean
deferred_lock_cb (gpointer user_data)
{
  fk_window_lock (user_data);
  return G_SOURCE_REMOVE;
}

/* The office revoked this device and the sync that heard it wiped the data
 * folder (PROTOCOL §7, fk_store_wipe on the sync's own handle).  The
 * window's handle still reads the old, unlinked database and may hold its
 * key: it goes too, with every page, dialog and unsaved draft that showed
 * a case, and the window starts over at set-up, saying why.  Nothing is
 * kept for a later sign-in: there is nothing left to sign in to. */
static void
device_revoked (FkWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->busy)
    {
      self->revoke_pending = TRUE;
      return;
    }
  fk_auto_sync_stop (self->auto_sync);
  close_dialogs (self);
  forget_pending (self);
  gtk_window_set_focus (GTK_WINDOW (self), NULL);
  destroy_personal_pages (self);
  g_clear_pointer (&self->passphrase, fk_secret_free);
  g_clear_pointer (&self->store, fk_store_close);
  self->store = fk_store_open (self->data_dir, &error);
  if (self->store == NULL)
    g_warning ("The data folder could not be opened again after the revocation: %s", error->message);
  update_operator_label (self);
  show_root_page (self);
  {
    GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("This device was revoked"),
                                                _("The office revoked this device. Every case and key on it was "
                                                  "wiped, as the office asked, and none of it can be recovered. To "
                                                  "use this computer again, set it up and enrol it with a new "
                                                  "invitation from the office."));

    adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "ok", _("OK"));
    gtk_window_present (GTK_WINDOW (dialog));
  }
}

static gboolean
deferred_revoke_cb (gpointer user_data)
{
  device_revoked (user_data);
  return G_SOURCE_REMOVE;
}

/* Start-up benchmark hook (bench/bench-ui-startup.c, docs/PERFORMANCE.md
 * "Window start-up"): with FIELDKIT_BENCH_MAPPED=1 in the environment the
 * window prints "FIELDKIT_BENCH_MAPPED <µs>" — g_get_monotonic_time, i.e.
 * CLOCK_MONOTONIC, comparable with the clock of the process that started
 * this one — when it is mapped, and the program quits.  Nothing else. */
static void
bench_mapped_cb (GtkWidget *widget,
                 gpointer   user_data)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (widget));

  printf ("FIELDKIT_BENCH_MAPPED %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fflush (stdout);
  if (app)
    g_application_quit (G_APPLICATION (app));
}

/* ---- construction -------------------------------------------------------------- */

static GtkWidget *
sidebar_row (const char *icon,
             const char *text)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name (icon));
  gtk_box_append (GTK_BOX (box), gtk_label_new (text));
  gtk_widget_set_margin_start (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  fk_ui_name (row, text);
  return row;
}

static GMenuModel *
main_menu (void)
{
  GMenu *menu = g_menu_new ();

  g_menu_append (menu, _("Preferences"), "app.preferences");
  g_menu_append (menu, _("Lock"), "win.lock");
  g_menu_append (menu, _("About FieldKit"), "app.about");
  g_menu_append (menu, _("Quit"), "app.quit");
  return G_MENU_MODEL (menu);
}

static void
build_main (FkWindow *self)
{
  GtkWidget *side_header, *content_header, *lock, *menu, *side_lock, *side_prefs, *footer, *squeezer, *wide, *narrow;
  g_autoptr(GMenuModel) model = main_menu ();

  self->leaflet = ADW_LEAFLET (adw_leaflet_new ());
  adw_leaflet_set_can_navigate_back (self->leaflet, TRUE);
  adw_leaflet_set_transition_type (self->leaflet, ADW_LEAFLET_TRANSITION_TYPE_SLIDE);
  g_signal_connect (self->leaflet, "notify::folded", G_CALLBACK (folded_changed_cb), self);

  /* Sidebar. */
  self->sidebar_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_size_request (self->sidebar_box, 240, -1);
  side_header = self->side_header = adw_header_bar_new ();
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (side_header), FALSE);
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (side_header),
                                   adw_window_title_new (_("FieldKit"), NULL));
  gtk_box_append (GTK_BOX (self->sidebar_box), side_header);
  self->sidebar = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (self->sidebar), "navigation-sidebar");
  gtk_widget_set_vexpand (GTK_WIDGET (self->sidebar), TRUE);
  fk_ui_name (self->sidebar, _("Sections"));
  gtk_list_box_append (self->sidebar, sidebar_row ("go-home-symbolic", _("Home")));
  gtk_list_box_append (self->sidebar, sidebar_row ("emblem-synchronizing-symbolic", _("Sync")));
  g_signal_connect (self->sidebar, "row-activated", G_CALLBACK (sidebar_row_activated_cb), self);
  gtk_box_append (GTK_BOX (self->sidebar_box), GTK_WIDGET (self->sidebar));
  footer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (footer, 12);
  gtk_widget_set_margin_end (footer, 12);
  gtk_widget_set_margin_bottom (footer, 12);
  self->operator_label = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (footer), self->operator_label);
  side_prefs = fk_ui_button (_("Preferences"), NULL);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (side_prefs), "app.preferences");
  gtk_box_append (GTK_BOX (footer), side_prefs);
  side_lock = fk_ui_button (_("Lock"), NULL);
  g_signal_connect (side_lock, "clicked", G_CALLBACK (lock_clicked_cb), self);
  gtk_box_append (GTK_BOX (footer), side_lock);
  gtk_box_append (GTK_BOX (self->sidebar_box), footer);
  adw_leaflet_append (self->leaflet, self->sidebar_box);
  adw_leaflet_page_set_navigatable (adw_leaflet_append (self->leaflet, gtk_separator_new (GTK_ORIENTATION_VERTICAL)), FALSE);

  /* Content. */
  self->content_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_hexpand (self->content_box, TRUE);
  content_header = adw_header_bar_new ();
  self->back_button = fk_ui_icon_button ("go-previous-symbolic", _("Back"));
  g_signal_connect (self->back_button, "clicked", G_CALLBACK (back_clicked_cb), self);
  adw_header_bar_pack_start (ADW_HEADER_BAR (content_header), self->back_button);
  self->title = ADW_WINDOW_TITLE (adw_window_title_new ("", NULL));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (content_header), GTK_WIDGET (self->title));
  menu = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "open-menu-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu), model);
  gtk_widget_set_tooltip_text (menu, _("Main menu"));
  fk_ui_name (menu, _("Main menu"));
  adw_header_bar_pack_end (ADW_HEADER_BAR (content_header), menu);
  /* The lock button and the "Offline" badge where there is room; on a
   * narrow screen only an offline icon (Lock stays in the menu and on
   * Ctrl+L), so the header never makes the window wider than 360 px. */
  wide = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->offline_label = gtk_label_new (_("Offline"));
  gtk_widget_add_css_class (self->offline_label, "fk-offline");
  gtk_widget_set_valign (self->offline_label, GTK_ALIGN_CENTER);
  fk_ui_name (self->offline_label, _("Offline: cases are kept on this device"));
  gtk_widget_set_visible (self->offline_label, FALSE);
  gtk_box_append (GTK_BOX (wide), self->offline_label);
  lock = fk_ui_icon_button ("system-lock-screen-symbolic", _("Lock (Ctrl+L)"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (lock), "win.lock");
  gtk_box_append (GTK_BOX (wide), lock);
  narrow = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  self->offline_icon = gtk_image_new_from_icon_name ("network-offline-symbolic");
  gtk_widget_add_css_class (self->offline_icon, "fk-offline-icon");
  gtk_widget_set_tooltip_text (self->offline_icon, _("Offline: cases are kept on this device"));
  fk_ui_name (self->offline_icon, _("Offline: cases are kept on this device"));
  gtk_widget_set_visible (self->offline_icon, FALSE);
  gtk_box_append (GTK_BOX (narrow), self->offline_icon);
  squeezer = adw_squeezer_new ();
  adw_squeezer_set_transition_type (ADW_SQUEEZER (squeezer), ADW_SQUEEZER_TRANSITION_TYPE_NONE);
  adw_squeezer_set_xalign (ADW_SQUEEZER (squeezer), 1.0);
  adw_squeezer_add (ADW_SQUEEZER (squeezer), wide);
  adw_squeezer_add (ADW_SQUEEZER (squeezer), narrow);
  adw_header_bar_pack_end (ADW_HEADER_BAR (content_header), squeezer);
  gtk_box_append (GTK_BOX (self->content_box), content_header);
  self->content = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->content), TRUE);
  gtk_box_append (GTK_BOX (self->content_box), GTK_WIDGET (self->content));
  adw_leaflet_append (self->leaflet, self->content_box);

  gtk_stack_add_named (self->root, GTK_WIDGET (self->leaflet), "main");
}

/* The language changed (Preferences): every string is looked up with _()
 * when a widget is built, so the window builds itself again and comes back
 * to the same place — the same outing, the same case (saved first; a new
 * case not storable yet keeps what was typed), receipt or sync page.  The
 * first-run page is only rebuilt when it is not on screen (it may be
 * showing the recovery key, which is shown once). */
static void
rebuild_for_language (FkWindow *self)
{
  g_autofree char *page = NULL;
  g_autofree char *outing = NULL;
  gint64 case_id = 0;
  gint64 receipt_case = self->receipt ? self->receipt_case : 0;
  gboolean unlocked, sidebar_shown;

  if (self->busy)
    {
      /* The pages wait for the job's answer: rebuild when it is back. */
      self->relabel_pending = TRUE;
      return;
    }
  unlocked = self->store != NULL && fk_store_is_unlocked (self->store);
  page = g_strdup (gtk_stack_get_visible_child_name (self->content));
  outing = self->outing ? g_strdup (self->outing_id) : NULL;
  sidebar_shown = is_folded (self) && adw_leaflet_get_visible_child (self->leaflet) == self->sidebar_box;
  forget_pending (self);
  if (self->editor)
    {
      fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
      case_id = fk_case_editor_case_id (FK_CASE_EDITOR (self->editor));
      if (case_id <= 0)
        stash_unsaved (self);
    }

  gtk_window_set_focus (GTK_WINDOW (self), NULL);
  destroy_personal_pages (self);
  gtk_stack_remove (self->root, GTK_WIDGET (self->leaflet));
  gtk_stack_remove (self->root, self->signin_page);
  if (self->setup_page && gtk_stack_get_visible_child (self->root) != self->setup_page)
    {
      gtk_stack_remove (self->root, self->setup_page);
      self->setup_page = NULL;
    }
  gtk_window_set_title (GTK_WINDOW (self), _("FieldKit"));
  build_main (self);
  self->signin_page = fk_signin_page_new (self);
  gtk_stack_add_named (self->root, self->signin_page, "signin");
  update_operator_label (self);
  if (self->netmon)
    network_changed_cb (self->netmon, g_network_monitor_get_network_available (self->netmon), self);
  if (self->store == NULL)
    return;
  show_root_page (self);
  if (!unlocked)
    return;

  ensure_home (self);
  fk_home_page_refresh (FK_HOME_PAGE (self->home));
  gtk_list_box_select_row (self->sidebar, gtk_list_box_get_row_at_index (self->sidebar,
                                                                         g_strcmp0 (page, "sync") == 0 ? 1 : 0));
  show_content (self, "home");
  if (g_strcmp0 (page, "sync") == 0)
    fk_window_show_sync (self);
  else if (outing != NULL)
    {
      fk_window_show_outing (self, outing);
      if (g_strcmp0 (page, "case") == 0 && case_id > 0)
        fk_window_show_case (self, case_id);
      else if (g_strcmp0 (page, "case") == 0)
        reopen_pending_draft (self);
      else if (g_strcmp0 (page, "receipt") == 0 && receipt_case > 0)
        fk_window_show_receipt (self, receipt_case);
    }
  else if (g_strcmp0 (page, "receipt") == 0 && receipt_case > 0)
    fk_window_show_receipt (self, receipt_case);
  forget_pending (self);
  if (sidebar_shown)
    adw_leaflet_set_visible_child (self->leaflet, self->sidebar_box);
}

static void
language_changed_cb (GSettings  *settings,
                     const char *key,
                     FkWindow   *self)
{
  g_autofree char *lang = g_settings_get_string (settings, "language");

  fk_lang_set (*lang ? lang : NULL);
  rebuild_for_language (self);
}

static gboolean
deferred_relabel_cb (gpointer user_data)
{
  rebuild_for_language (user_data);
  return G_SOURCE_REMOVE;
}

/* ---- overrides ------------------------------------------------------------------ */

static gboolean
fk_window_close_request (GtkWindow *window)
{
  FkWindow *self = FK_WINDOW (window);
  int w, h;

  gtk_window_get_default_size (window, &w, &h);
  if (w > 0 && h > 0 && !gtk_window_is_maximized (window))
    {
      g_settings_set_int (self->settings, "window-width", w);
      g_settings_set_int (self->settings, "window-height", h);
    }
  if (self->editor && !self->busy)
    fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
  return GTK_WINDOW_CLASS (fk_window_parent_class)->close_request (window);
}

static void
fk_window_dispose (GObject *object)
{
  FkWindow *self = FK_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  /* A run still in flight answers to nobody: the window is going. */
  if (self->auto_sync)
    fk_auto_sync_close (self->auto_sync);
  g_clear_object (&self->auto_sync);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->netmon_handler)
    g_clear_signal_handler (&self->netmon_handler, self->netmon);
  if (self->language_handler)
    g_clear_signal_handler (&self->language_handler, self->settings);
  if (self->system_bus && self->sleep_subscription)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  if (self->store && !self->busy)
    fk_store_lock (self->store);
  g_clear_pointer (&self->passphrase, fk_secret_free);
  if (self->pending_draft)
    g_hash_table_remove_all (self->pending_draft);
  G_OBJECT_CLASS (fk_window_parent_class)->dispose (object);
}

static void
fk_window_finalize (GObject *object)
{
  FkWindow *self = FK_WINDOW (object);

  /* A job holds a reference on the window, so the store is free here. */
  g_clear_pointer (&self->store, fk_store_close);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->pending_draft, g_hash_table_unref);
  g_clear_pointer (&self->resume_owner, g_free);
  g_clear_pointer (&self->outing_id, g_free);
  G_OBJECT_CLASS (fk_window_parent_class)->finalize (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_window_class_init (FkWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = fk_window_dispose;
  object_class->finalize = fk_window_finalize;
  window_class->close_request = fk_window_close_request;
}

static void
fk_window_init (FkWindow *self)
{
  GtkEventController *legacy;
  const GActionEntry actions[] = {
    { "lock", lock_activated, NULL, NULL, NULL, { 0 } },
  };

  g_action_map_add_action_entries (G_ACTION_MAP (self), actions, G_N_ELEMENTS (actions), self);
  self->cancellable = g_cancellable_new ();
  self->pending_draft = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fk_wipe_free);
  gtk_widget_add_css_class (GTK_WIDGET (self), "fieldkit");
  gtk_window_set_icon_name (GTK_WINDOW (self), FK_APP_ID);

  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  self->root = GTK_STACK (gtk_stack_new ());
  adw_toast_overlay_set_child (self->toasts, GTK_WIDGET (self->root));
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), GTK_WIDGET (self->toasts));

  legacy = gtk_event_controller_legacy_new ();
  gtk_event_controller_set_propagation_phase (legacy, GTK_PHASE_CAPTURE);
  g_signal_connect (legacy, "event", G_CALLBACK (input_event_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), legacy);
  self->last_input_us = g_get_monotonic_time ();
}

/* ---- public API ---------------------------------------------------------------- */

FkWindow *
fk_window_new (AdwApplication *app,
               const char     *data_dir,
               GSettings      *settings)
{
  FkWindow *self = g_object_new (FK_TYPE_WINDOW, "application", app, NULL);
  g_autoptr(GError) error = NULL;

  if (g_getenv ("FIELDKIT_BENCH_MAPPED"))
    g_signal_connect (self, "map", G_CALLBACK (bench_mapped_cb), NULL);
  self->settings = g_object_ref (settings);
  self->data_dir = g_strdup (data_dir);
  gtk_window_set_title (GTK_WINDOW (self), _("FieldKit"));
  {
    /* Never larger than the screen: a 360 × 640 tablet gets a window that fits. */
    GListModel *monitors = gdk_display_get_monitors (gdk_display_get_default ());
    g_autoptr(GdkMonitor) monitor = g_list_model_get_n_items (monitors) ? g_list_model_get_item (monitors, 0) : NULL;
    int w = g_settings_get_int (settings, "window-width");
    int h = g_settings_get_int (settings, "window-height");

    if (monitor)
      {
        GdkRectangle geo;

        gdk_monitor_get_geometry (monitor, &geo);
        w = MIN (w, geo.width);
        h = MIN (h, geo.height);
      }
    gtk_window_set_default_size (GTK_WINDOW (self), w, h);
  }
  gtk_widget_set_size_request (GTK_WIDGET (self), 360, 480);
  fk_ui_apply_large_text (GTK_WINDOW (self), g_settings_get_boolean (settings, "large-text"));

  self->store = fk_store_open (data_dir, &error);
  build_main (self);
  self->signin_page = fk_signin_page_new (self);
  gtk_stack_add_named (self->root, self->signin_page, "signin");

  if (self->store == NULL)
    {
      GtkWidget *status = adw_status_page_new ();

      adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "dialog-error-symbolic");
      adw_status_page_set_title (ADW_STATUS_PAGE (status), _("The data folder cannot be opened"));
      adw_status_page_set_description (ADW_STATUS_PAGE (status), error->message);
      gtk_stack_add_named (self->root, status, "error");
      gtk_stack_set_visible_child_name (self->root, "error");
    }
  else
    show_root_page (self);

  self->language_handler = g_signal_connect (settings, "changed::language", G_CALLBACK (language_changed_cb), self);
  self->idle_source = g_timeout_add_seconds (5, idle_check_cb, self);
  self->netmon = g_network_monitor_get_default ();
  self->auto_sync = fk_auto_sync_new (self, g_network_monitor_get_network_available (self->netmon));
  self->netmon_handler = g_signal_connect (self->netmon, "network-changed", G_CALLBACK (network_changed_cb), self);
  network_changed_cb (self->netmon, g_network_monitor_get_network_available (self->netmon), self);
  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, system_bus_ready_cb, g_object_ref (self));
  return self;
}

FkStore *
fk_window_store (FkWindow *self)
{
  return self->busy ? NULL : self->store;
}

GSettings *
fk_window_settings (FkWindow *self)
{
  return self->settings;
}

const char *
fk_window_data_dir (FkWindow *self)
{
  return self->data_dir;
}

const char *
fk_window_passphrase (FkWindow *self)
{
  return fk_ui_secret_text (self->passphrase);
}

void
fk_window_toast (FkWindow   *self,
                 const char *text)
{
  AdwToast *toast = adw_toast_new (text);

  adw_toast_set_timeout (toast, 2);
  adw_toast_overlay_add_toast (self->toasts, toast);
}

void
fk_window_error (FkWindow     *self,
                 const char   *heading,
                 const GError *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, error ? error->message : NULL);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "ok", _("OK"));
  gtk_window_present (GTK_WINDOW (dialog));
}

void
fk_window_run_job (FkWindow            *self,
                   FkStoreJobFunc       func,
                   gpointer             data,
                   GDestroyNotify       data_free,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  g_task_set_source_tag (task, fk_window_run_job);
  job->func = func;
  job->data = data;
  job->data_free = data_free;
  job->store = self->store;
  g_task_set_task_data (task, job, job_free);
  if (self->busy || self->store == NULL)
    {
      /* A refused job never held the store: finishing it must not mark the
       * store free while the job that holds it is still running. */
      job->store = NULL;
      g_task_return_new_error (task, FK_STORE_ERROR, FK_STORE_ERROR_BUSY, "%s",
                               _("FieldKit is still busy with the last step; try again in a moment."));
      return;
    }
  self->busy = TRUE;
  g_task_run_in_thread (task, job_thread);
}

gboolean
fk_window_run_job_finish (FkWindow      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  /* The thread has returned: the store is the window's again, and the job
   * may have sealed a case (a school drive, a card hand-over). */
  if (job->store != NULL)
    {
      self->busy = FALSE;
      if (self->auto_sync)
        fk_auto_sync_store_changed (self->auto_sync);
    }
  if (self->revoke_pending)
    {
      self->revoke_pending = FALSE;
      self->lock_pending = FALSE;
      g_idle_add_full (G_PRIORITY_HIGH_IDLE, deferred_revoke_cb, g_object_ref (self), g_object_unref);
    }
  if (self->lock_pending)
    {
      self->lock_pending = FALSE;
      g_idle_add_full (G_PRIORITY_HIGH_IDLE, deferred_lock_cb, g_object_ref (self), g_object_unref);
    }
  if (self->relabel_pending)
    {
      self->relabel_pending = FALSE;
      g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deferred_relabel_cb, g_object_ref (self), g_object_unref);
    }
  return g_task_propagate_boolean (task, error);
}

gboolean
fk_window_is_busy (FkWindow *self)
{
  return self->busy;
}

void
fk_window_signed_in (FkWindow   *self,
                     const char *passphrase)
{
  const char *op = fk_store_operator (self->store);

  g_clear_pointer (&self->passphrase, fk_secret_free);
  self->passphrase = fk_ui_secret_new (passphrase);
  self->last_input_us = g_get_monotonic_time ();
  update_operator_label (self);
  show_root_page (self);
  ensure_home (self);
  fk_home_page_refresh (FK_HOME_PAGE (self->home));
  gtk_list_box_select_row (self->sidebar, gtk_list_box_get_row_at_index (self->sidebar, 0));
  show_content (self, "home");

  /* Only the operator who was typing gets the case back. */
  if (g_strcmp0 (op, self->resume_owner) != 0)
    forget_pending (self);
  if (self->resume_case > 0)
    {
      g_autoptr(FkCase) kase = fk_store_case_get (self->store, self->resume_case, NULL);

      if (kase)
        {
          fk_window_show_outing (self, kase->outing_id);
          fk_window_show_case (self, kase->id);
        }
    }
  else if (g_hash_table_size (self->pending_draft) > 0)
    reopen_pending_draft (self);
  forget_pending (self);
  fk_window_toast (self, _("Signed in"));
  fk_auto_sync_signed_in (self->auto_sync);
}

void
fk_window_lock (FkWindow *self)
{
  if (self->busy)
    {
      self->lock_pending = TRUE;
      return;
    }
  if (self->store == NULL || !fk_store_is_unlocked (self->store))
    return;

  /* An automatic sync stops with the key; the Sync page's own run goes on
   * in its worker and shows nothing (fk-sync-page.c). */
  fk_auto_sync_stop (self->auto_sync);

  /* Dialogs first: their answers (cancel) may still reach the pages. */
  close_dialogs (self);

  /* The draft being typed is saved first; what cannot be saved yet (a new
   * case without a valid ID number and name) is kept for the same operator. */
  forget_pending (self);
  self->resume_owner = g_strdup (fk_store_operator (self->store));
  if (self->editor)
    {
      fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
      self->resume_case = fk_case_editor_case_id (FK_CASE_EDITOR (self->editor));
      stash_unsaved (self);
    }

  /* Nothing that is about to go may keep the focus (or a selection). */
  gtk_window_set_focus (GTK_WINDOW (self), NULL);
  destroy_personal_pages (self);
  fk_store_lock (self->store);
  g_clear_pointer (&self->passphrase, fk_secret_free);
  update_operator_label (self);
  show_root_page (self);
}

void
fk_window_show_home (FkWindow *self)
{
  if (self->store == NULL || !fk_store_is_unlocked (self->store))
    return;
  ensure_home (self);
  fk_home_page_refresh (FK_HOME_PAGE (self->home));
  show_content (self, "home");
}

void
fk_window_show_sync (FkWindow *self)
{
  if (self->store == NULL || !fk_store_is_unlocked (self->store))
    return;
  if (self->sync == NULL)
    {
      self->sync = fk_sync_page_new (self);
      gtk_stack_add_named (self->content, self->sync, "sync");
    }
  else
    fk_sync_page_refresh (FK_SYNC_PAGE (self->sync));
  show_content (self, "sync");
}

void
fk_window_show_outing (FkWindow   *self,
                       const char *outing_id)
{
  if (self->editor)
    fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
  remove_content_page (self, &self->receipt);
  remove_content_page (self, &self->editor);
  remove_content_page (self, &self->outing);
  self->outing = fk_outing_page_new (self, outing_id);
  if (self->outing_id != outing_id)
    {
      g_free (self->outing_id);
      self->outing_id = g_strdup (outing_id);
    }
  gtk_stack_add_named (self->content, self->outing, "outing");
  show_content (self, "outing");
}

void
fk_window_show_case (FkWindow *self,
                     gint64    case_id)
{
  if (self->editor)
    fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
  remove_content_page (self, &self->editor);
  remove_content_page (self, &self->receipt);
  self->editor = fk_case_editor_new (self, case_id);
  gtk_stack_add_named (self->content, self->editor, "case");
  show_content (self, "case");
}

void
fk_window_new_case (FkWindow   *self,
                    const char *outing_id,
                    const char *service)
{
  if (self->editor)
    fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
  remove_content_page (self, &self->editor);
  remove_content_page (self, &self->receipt);
  self->editor = fk_case_editor_new_draft (self, outing_id, service, NULL);
  gtk_stack_add_named (self->content, self->editor, "case");
  show_content (self, "case");
}

void
fk_window_show_receipt (FkWindow *self,
                        gint64    case_id)
{
  remove_content_page (self, &self->receipt);
  self->receipt = fk_receipt_page_new (self, case_id);
  self->receipt_case = case_id;
  gtk_stack_add_named (self->content, self->receipt, "receipt");
  show_content (self, "receipt");
  /* The editor of a sealed case has nothing left to do; the case may wait
   * in the outbox now. */
  remove_content_page (self, &self->editor);
  fk_auto_sync_store_changed (self->auto_sync);
}

void
fk_window_go_back (FkWindow *self)
{
  const char *name = gtk_stack_get_visible_child_name (self->content);

  if (g_strcmp0 (name, "case") == 0 || g_strcmp0 (name, "receipt") == 0)
    {
      if (self->editor)
        fk_case_editor_flush (FK_CASE_EDITOR (self->editor));
      remove_content_page (self, &self->editor);
      remove_content_page (self, &self->receipt);
      if (self->outing)
        {
          fk_outing_page_refresh (FK_OUTING_PAGE (self->outing));
          show_content (self, "outing");
        }
      else
        fk_window_show_home (self);
    }
  else if (g_strcmp0 (name, "outing") == 0)
    {
      /* In a school drive or a card hand-over, Back leaves it for the
       * outing's case list (what its own close button does), not for home. */
      FkDrivePage *drive = self->outing ? fk_drive_page_find (self->outing) : NULL;
      FkHandoverPage *handover = self->outing ? fk_handover_page_find (self->outing) : NULL;

      if (drive)
        fk_drive_page_close (drive);
      else if (handover)
        fk_handover_page_close (handover);
      else
        {
          remove_content_page (self, &self->outing);
          fk_window_show_home (self);
        }
    }
  else if (is_folded (self))
    adw_leaflet_set_visible_child (self->leaflet, self->sidebar_box);
}

void
fk_window_refresh (FkWindow *self)
{
  if (self->home)
    fk_home_page_refresh (FK_HOME_PAGE (self->home));
  if (self->outing)
    fk_outing_page_refresh (FK_OUTING_PAGE (self->outing));
  if (self->sync)
    fk_sync_page_refresh (FK_SYNC_PAGE (self->sync));
}

gboolean
fk_window_limits (FkWindow  *self,
                  char     **warning)
{
  FkStore *store = fk_window_store (self);
  FkSafetyState s;
  gint64 since;
  double days = 0;

  *warning = NULL;
  if (store == NULL)
    return TRUE;
  /* The store's own reckoning (DESIGN §4), the same one that refuses a new
   * case: last sync from any path (window, CLI, bundle), overrides. */
  fk_store_safety (store, &s);
  since = MAX (s.last_sync, s.oldest_waiting);
  if (s.waiting > 0 && since > 0)
    days = (double) (g_get_real_time () - since) / (86400.0 * G_USEC_PER_SEC);

  if (s.blocked)
    {
      *warning = g_strdup_printf (_("No new cases: %u sealed cases wait and the last sync was %.0f days ago "
                                        "(limits: %u cases, %u days). Sync or export a bundle first."),
                                  s.waiting, days, s.waiting_limit, s.days_limit);
      return FALSE;
    }
  if (s.near)
    *warning = g_strdup_printf (_("Sync soon: %u sealed cases wait and the last sync was %.0f days ago "
                                      "(new cases stop at %u cases or %u days)."),
                                s.waiting, days, s.waiting_limit, s.days_limit);
  return TRUE;
}

void
fk_window_note_sync (FkWindow *self)
{
  /* The sync itself records it in the store (fk_store_mark_synced, also
   * after a bundle export or a sync from the command line); the pages
   * only need to show it. */
  if (self->busy)
    return;
  if (self->home)
    fk_home_page_refresh (FK_HOME_PAGE (self->home));
  if (self->outing)
    fk_outing_page_refresh (FK_OUTING_PAGE (self->outing));
}

GHashTable *
fk_window_pending_draft (FkWindow *self)
{
  return self->pending_draft;
}

gboolean
fk_window_sync_running (FkWindow *self)
{
  return self->sync_running;
}

void
fk_window_sync_started (FkWindow *self)
{
  self->sync_running = TRUE;
  /* The Sync page greys out its button and says why. */
  if (self->sync)
    fk_sync_page_refresh (FK_SYNC_PAGE (self->sync));
}

void
fk_window_sync_finished (FkWindow *self,
                         gboolean  ok,
                         gboolean  revoked)
{
  self->sync_running = FALSE;
  /* Locked or not: the data folder is gone either way. */
  if (revoked)
    {
      device_revoked (self);
      return;
    }
  if (ok)
    fk_window_note_sync (self);
  /* Locked meanwhile: the pages are gone, show nothing. */
  if (self->store == NULL || !fk_store_is_unlocked (self->store))
    return;
  if (self->sync)
    fk_sync_page_refresh (FK_SYNC_PAGE (self->sync));
}

FkAutoSync *
fk_window_auto_sync (FkWindow *self)
{
  return self->auto_sync;
}
