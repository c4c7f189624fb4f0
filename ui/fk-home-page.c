/* fk-home-page.c — today's and upcoming outings by kind, the counts that
 * matter at a glance, the last sync, and the safety-limit warning. */
#include "ui/fk-pages.h"

#include "app/fk-date.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkHomePage
{
  GtkBox     parent_instance;

  FkWindow  *window;
  GtkWidget *warning;
  GtkWidget *online;
  GtkWidget *count_draft, *count_checked, *count_waiting, *count_quarantined;
  GtkWidget *last_sync;
  GtkWidget *outings_box;
};

G_DEFINE_FINAL_TYPE (FkHomePage, fk_home_page, GTK_TYPE_BOX)

/* ---- helpers ------------------------------------------------------------------ */

static guint
count_status (FkStore      *store,
              FkCaseStatus  status)
{
  g_autoptr(GPtrArray) cases = fk_store_cases (store, NULL, &status, NULL);

  return cases ? cases->len : 0;
}

static GtkWidget *
count_card (const char  *caption,
            GtkWidget  **number)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  gtk_widget_add_css_class (box, "card");
  gtk_widget_set_size_request (box, 120, -1);
  gtk_widget_set_hexpand (box, TRUE);
  *number = gtk_label_new ("0");
  gtk_widget_add_css_class (*number, "fk-count");
  gtk_widget_set_margin_top (*number, 8);
  gtk_box_append (GTK_BOX (box), *number);
  {
    GtkWidget *cap = gtk_label_new (caption);

    gtk_label_set_wrap (GTK_LABEL (cap), TRUE);
    gtk_label_set_justify (GTK_LABEL (cap), GTK_JUSTIFY_CENTER);
    gtk_widget_set_margin_bottom (cap, 8);
    gtk_widget_set_margin_start (cap, 6);
    gtk_widget_set_margin_end (cap, 6);
    gtk_box_append (GTK_BOX (box), cap);
  }
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, caption, -1);
  return box;
}

/* Two cards side by side, equally wide, as one child of the flow box. */
static GtkWidget *
count_pair (GtkWidget *flow)
{
  GtkWidget *pair = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  gtk_box_set_homogeneous (GTK_BOX (pair), TRUE);
  gtk_flow_box_append (GTK_FLOW_BOX (flow), pair);
  return pair;
}

static void
set_count (GtkWidget  *label,
           guint       n,
           const char *caption)
{
  g_autofree char *text = g_strdup_printf ("%u", n);
  g_autofree char *spoken = g_strdup_printf ("%s: %u", caption, n);

  gtk_label_set_text (GTK_LABEL (label), text);
  fk_ui_name (gtk_widget_get_parent (label), spoken);
}

static char *
today_iso (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "%Y-%m-%d");
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
outing_activated_cb (AdwActionRow *row,
                     FkHomePage   *self)
{
  fk_window_show_outing (self->window, g_object_get_data (G_OBJECT (row), "fk-outing"));
}

static void
new_outing_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        FkHomePage       *self)
{
  FkStore *store = fk_window_store (self->window);
  GtkWidget *kind = g_object_get_data (G_OBJECT (dialog), "kind");
  GtkWidget *title = g_object_get_data (G_OBJECT (dialog), "title");
  GtkWidget *date = g_object_get_data (G_OBJECT (dialog), "date");
  GtkWidget *place = g_object_get_data (G_OBJECT (dialog), "place");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *iso = NULL;
  GDate d;

  if (g_strcmp0 (response, "create") != 0 || store == NULL)
    return;
  if (!fk_date_parse (gtk_editable_get_text (GTK_EDITABLE (date)), &d, &error))
    {
      fk_window_error (self->window, _("The outing was not created"), error);
      return;
    }
  iso = fk_date_to_iso (&d);
  id = fk_store_outing_new (store, fk_outing_kinds[gtk_drop_down_get_selected (GTK_DROP_DOWN (kind))],
                            gtk_editable_get_text (GTK_EDITABLE (title)), iso,
                            gtk_editable_get_text (GTK_EDITABLE (place)), &error);
  if (id == NULL)
    {
      fk_window_error (self->window, _("The outing was not created"), error);
      return;
    }
  fk_window_toast (self->window, _("Outing created"));
  fk_window_show_outing (self->window, id);
}

static void
new_outing_clicked_cb (GtkButton  *button,
                       FkHomePage *self)
{
  GtkWidget *dialog;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkStringList *kinds = gtk_string_list_new (NULL);
  GtkWidget *kind, *title, *date, *place, *col, *lbl;
  g_autofree char *today = today_iso ();

  for (guint i = 0; fk_outing_kinds[i]; i++)
    gtk_string_list_append (kinds, fk_outing_kind_label (fk_outing_kinds[i]));
  lbl = fk_ui_label (_("Kind"), "heading");
  gtk_box_append (GTK_BOX (box), lbl);
  kind = gtk_drop_down_new (G_LIST_MODEL (kinds), NULL);
  fk_ui_name (kind, _("Kind"));
  gtk_box_append (GTK_BOX (box), kind);
  title = fk_ui_entry (_("Title"), &col, NULL);
  gtk_box_append (GTK_BOX (box), col);
  date = fk_ui_entry (_("Date (2026-11-26 or 115/11/26)"), &col, NULL);
  gtk_editable_set_text (GTK_EDITABLE (date), today);
  gtk_box_append (GTK_BOX (box), col);
  place = fk_ui_entry (_("Place"), &col, NULL);
  gtk_entry_set_activates_default (GTK_ENTRY (title), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (date), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (place), TRUE);
  gtk_box_append (GTK_BOX (box), col);
  dialog = fk_ui_ask (GTK_WINDOW (self->window), _("New outing"), NULL, box, "create", _("Create"));
  g_object_set_data (G_OBJECT (dialog), "kind", kind);
  g_object_set_data (G_OBJECT (dialog), "title", title);
  g_object_set_data (G_OBJECT (dialog), "date", date);
  g_object_set_data (G_OBJECT (dialog), "place", place);
  g_signal_connect (dialog, "response", G_CALLBACK (new_outing_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (title);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_home_page_class_init (FkHomePageClass *klass)
{
}

static void
fk_home_page_init (FkHomePage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_home_page_new (FkWindow *window)
{
  FkHomePage *self = g_object_new (FK_TYPE_HOME_PAGE, NULL);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *flow, *pair, *row, *button, *heading;

  self->window = window;
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 900);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  self->warning = fk_ui_label ("", "fk-banner-warning");
  gtk_widget_set_visible (self->warning, FALSE);
  gtk_box_append (GTK_BOX (box), self->warning);

  /* Four counts in one row where they fit, else two rows of two (never
   * three and one): two pairs in a flow box of at most two per line. */
  flow = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (flow), GTK_SELECTION_NONE);
  gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (flow), 1);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (flow), 2);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (flow), TRUE);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (flow), 12);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (flow), 12);
  fk_ui_name (flow, _("Case counts"));
  pair = count_pair (flow);
  gtk_box_append (GTK_BOX (pair), count_card (_("Drafts"), &self->count_draft));
  gtk_box_append (GTK_BOX (pair), count_card (_("Waiting for second check"), &self->count_checked));
  pair = count_pair (flow);
  gtk_box_append (GTK_BOX (pair), count_card (_("Waiting to upload"), &self->count_waiting));
  gtk_box_append (GTK_BOX (pair), count_card (_("Quarantined"), &self->count_quarantined));
  for (GtkWidget *c = gtk_widget_get_first_child (flow); c; c = gtk_widget_get_next_sibling (c))
    gtk_widget_set_focusable (c, FALSE);
  gtk_box_append (GTK_BOX (box), flow);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  self->last_sync = fk_ui_label ("", "dim-label");
  gtk_widget_set_hexpand (self->last_sync, TRUE);
  gtk_box_append (GTK_BOX (row), self->last_sync);
  self->online = gtk_label_new ("");
  gtk_box_append (GTK_BOX (row), self->online);
  gtk_box_append (GTK_BOX (box), row);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  heading = fk_ui_label (_("Outings"), "title-2");
  gtk_accessible_update_property (GTK_ACCESSIBLE (heading), GTK_ACCESSIBLE_PROPERTY_LEVEL, 2, -1);
  gtk_widget_set_hexpand (heading, TRUE);
  gtk_box_append (GTK_BOX (row), heading);
  button = fk_ui_button (_("New outing"), "suggested-action");
  g_signal_connect (button, "clicked", G_CALLBACK (new_outing_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), button);
  gtk_box_append (GTK_BOX (box), row);

  self->outings_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  gtk_box_append (GTK_BOX (box), self->outings_box);

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);
  fk_home_page_refresh (self);
  return GTK_WIDGET (self);
}

void
fk_home_page_set_online (FkHomePage *self,
                         gboolean    online)
{
  gtk_label_set_text (GTK_LABEL (self->online),
                      online ? _("● Online") : _("○ Offline: cases wait on this device"));
  if (online)
    gtk_widget_remove_css_class (self->online, "fk-offline");
  else
    gtk_widget_add_css_class (self->online, "fk-offline");
}

void
fk_home_page_refresh (FkHomePage *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) outings = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *last = NULL;
  g_autofree char *today = today_iso ();
  g_autofree char *sync_text = NULL;
  guint waiting = 0, quarantined = 0;
  gboolean any = FALSE;

  if (store == NULL || !fk_store_is_unlocked (store))
    return;

  set_count (self->count_draft, count_status (store, FK_CASE_DRAFT), _("Drafts"));
  set_count (self->count_checked, count_status (store, FK_CASE_CHECKED), _("Waiting for second check"));
  outbox = fk_store_outbox (store, FALSE, NULL);
  for (guint i = 0; outbox && i < outbox->len; i++)
    {
      FkOutboxItem *item = outbox->pdata[i];

      if (g_strcmp0 (item->state, "quarantined") == 0)
        quarantined++;
      else if (g_strcmp0 (item->state, "acked") != 0)
        waiting++;
    }
  set_count (self->count_waiting, waiting, _("Waiting to upload"));
  set_count (self->count_quarantined, quarantined, _("Quarantined"));

  /* Written by fk_store_mark_synced after any successful sync or bundle
   * export, from the window or the command line (µs since the epoch). */
  last = fk_store_get_setting (store, "last_sync");
  if (last && g_ascii_strtoll (last, NULL, 10) > 0)
    {
      g_autofree char *when = fk_ui_format_time (g_ascii_strtoll (last, NULL, 10));

      sync_text = g_strdup_printf (_("Last successful sync: %s"), when);
    }
  else
    sync_text = g_strdup (fk_store_is_enrolled (store)
                          ? _("Not synced yet.")
                          : _("Not connected to the office yet (Preferences → Office)."));
  gtk_label_set_text (GTK_LABEL (self->last_sync), sync_text);

  fk_window_limits (self->window, &warning);
  gtk_label_set_text (GTK_LABEL (self->warning), warning ? warning : "");
  gtk_widget_set_visible (self->warning, warning != NULL);

  /* Outings by kind: today and later first, then the earlier ones. */
  fk_ui_box_clear (self->outings_box);
  outings = fk_store_outings (store, NULL);
  for (int past = 0; past < 2; past++)
    for (guint k = 0; fk_outing_kinds[k]; k++)
      {
        GtkWidget *group = NULL;

        for (guint i = 0; outings && i < outings->len; i++)
          {
            FkOuting *o = outings->pdata[i];
            gboolean is_past = g_strcmp0 (o->date, today) < 0;
            g_autofree char *date = NULL;
            g_autofree char *subtitle = NULL;
            g_autofree char *place = NULL;
            GtkWidget *row;

            if (g_strcmp0 (o->kind, fk_outing_kinds[k]) != 0 || is_past != (gboolean) past)
              continue;
            if (group == NULL)
              {
                g_autofree char *title = past
                  ? g_strdup_printf (_("Earlier: %s"), fk_outing_kind_label (o->kind))
                  : g_strdup (fk_outing_kind_label (o->kind));

                group = adw_preferences_group_new ();
                adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
                gtk_box_append (GTK_BOX (self->outings_box), group);
              }
            date = fk_ui_format_date (o->date);
            place = o->place && *o->place ? g_strconcat (" · ", o->place, NULL) : g_strdup ("");
            subtitle = g_strdup_printf (_("%s%s · %s%s · %u cases"),
                                        date, g_strcmp0 (o->date, today) == 0 ? _(" (today)") : "",
                                        o->id, place,
                                        o->n_cases);
            row = adw_action_row_new ();
            adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), o->title ? o->title : o->id);
            adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
            adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
            gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
            g_object_set_data_full (G_OBJECT (row), "fk-outing", g_strdup (o->id), g_free);
            g_signal_connect (row, "activated", G_CALLBACK (outing_activated_cb), self);
            adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
            any = TRUE;
          }
      }
  if (!any)
    gtk_box_append (GTK_BOX (self->outings_box),
                    fk_ui_label (_("No outings yet. Plan one with “New outing”."), "dim-label"));
}
