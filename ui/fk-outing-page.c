/* fk-outing-page.c — one outing's cases in a GtkListView over a GListModel
 * of FkCaseItem, searched as you type (a name in memory, an ID number
 * through the store's blind index), filtered by status. */
#include "ui/fk-pages.h"

#include <string.h>

#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-case-item.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkOutingPage
{
  GtkBox           parent_instance;

  FkWindow        *window;
  char            *outing_id;
  char            *title;
  GListStore      *cases;
  GtkCustomFilter *filter;
  GtkFilterListModel *filtered;
  GtkWidget       *list;
  GtkWidget       *search;
  GtkWidget       *status_filter;
  GtkWidget       *count;
  GtkWidget       *summary;
  GtkWidget       *warning;
  GtkWidget       *new_case;
  GtkWidget       *services;

  int              status;        /* -1: every status */
  char            *needle;        /* case-folded name search, or NULL */
  gint64           needle_number; /* the needle as a case number, or -1 */
  GHashTable      *id_matches;    /* case ids for an ID-number search, or NULL */
  gboolean         filtering;     /* the filter has a function (else all pass) */
};

G_DEFINE_FINAL_TYPE (FkOutingPage, fk_outing_page, GTK_TYPE_BOX)

/* ---- helpers ------------------------------------------------------------------ */

static gboolean
case_visible (gpointer item,
              gpointer user_data)
{
  FkOutingPage *self = user_data;
  FkCaseItem *c = item;

  if (self->status >= 0 && (int) fk_case_item_get_status (c) != self->status)
    return FALSE;
  if (self->id_matches)
    {
      gint64 id = fk_case_item_get_id (c);

      return g_hash_table_contains (self->id_matches, &id);
    }
  if (self->needle)
    /* Called for every case on a keystroke: nothing allocated here. */
    return fk_case_item_name_matches (c, self->needle) || fk_case_item_get_id (c) == self->needle_number ||
           fk_case_item_receipt_matches (c, self->needle);
  return TRUE;
}

/* The case number a needle spells ("12", not "012"), or -1. */
static gint64
needle_number (const char *needle)
{
  guint64 n = 0;

  if (needle == NULL || needle[0] == '\0' || (needle[0] == '0' && needle[1] != '\0') || strlen (needle) > 18)
    return -1;
  for (const char *p = needle; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return -1;
      n = n * 10 + (guint64) (*p - '0');
    }
  return (gint64) n;
}

/* Applies the search and status to the list.  With nothing to filter the
 * filter has no function, so GtkFilterListModel passes every case without
 * looking at it; otherwise `change` tells it which cases need a new look
 * (while typing, only the ones shown; while deleting, only the hidden). */
static void
update_filter (FkOutingPage    *self,
               GtkFilterChange  change)
{
  gboolean want = self->needle != NULL || self->id_matches != NULL || self->status >= 0;

  if (!want)
    {
      if (self->filtering)
        gtk_custom_filter_set_filter_func (self->filter, NULL, NULL, NULL);
      self->filtering = FALSE;
    }
  else if (!self->filtering)
    {
      gtk_custom_filter_set_filter_func (self->filter, case_visible, self, NULL);
      self->filtering = TRUE;
    }
  else
    gtk_filter_changed (GTK_FILTER (self->filter), change);
}

static void
update_count (FkOutingPage *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
  guint all = g_list_model_get_n_items (G_LIST_MODEL (self->cases));
  g_autofree char *text = g_strdup_printf (_("%u of %u cases"), shown, all);

  gtk_label_set_text (GTK_LABEL (self->count), text);
}

/* typing: called for a keystroke, so the old and new needles may tell the
 * filter that it only narrows or only widens. */
static void
apply_search (FkOutingPage *self,
              const char   *text,
              gboolean      typing)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text ? text : ""));
  g_autofree char *normalized = NULL;
  g_autofree char *old = g_steal_pointer (&self->needle);
  gboolean old_plain = self->id_matches == NULL && self->needle_number < 0;
  GtkFilterChange change = GTK_FILTER_CHANGE_DIFFERENT;
  FkStore *store = fk_window_store (self->window);

  g_clear_pointer (&self->id_matches, g_hash_table_unref);
  if (*trimmed != '\0')
    {
      if (store && fk_person_id_check (trimmed, NULL, &normalized, NULL))
        {
          g_autoptr(GArray) ids = fk_store_find (store, normalized, NULL);

          self->id_matches = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
          for (guint i = 0; ids && i < ids->len; i++)
            {
              gint64 *id = g_new (gint64, 1);

              *id = g_array_index (ids, gint64, i);
              g_hash_table_add (self->id_matches, id);
            }
        }
      else
        self->needle = g_utf8_casefold (trimmed, -1);
    }
  self->needle_number = needle_number (self->needle);

  /* A name or receipt needle that grows shows a subset, one that shrinks
   * a superset; a case number or an ID-number lookup is not monotonic. */
  if (typing && self->id_matches == NULL)
    {
      if (self->needle == NULL)
        change = GTK_FILTER_CHANGE_LESS_STRICT;
      else if (self->needle != NULL && self->needle_number < 0 && old_plain &&
               (old == NULL || strstr (self->needle, old) != NULL))
        change = GTK_FILTER_CHANGE_MORE_STRICT;
      else if (self->needle != NULL && old != NULL && old_plain && strstr (old, self->needle) != NULL)
        change = GTK_FILTER_CHANGE_LESS_STRICT;
    }
  update_filter (self, change);
  update_count (self);
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
search_changed_cb (GtkSearchEntry *entry,
                   FkOutingPage   *self)
{
  apply_search (self, gtk_editable_get_text (GTK_EDITABLE (entry)), TRUE);
}

static void
status_changed_cb (GtkDropDown  *dropdown,
                   GParamSpec   *pspec,
                   FkOutingPage *self)
{
  guint pos = gtk_drop_down_get_selected (dropdown);

  self->status = (pos == 0 || pos == GTK_INVALID_LIST_POSITION) ? -1 : (int) pos - 1;
  update_filter (self, GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *sub = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (sub), 0);
  gtk_label_set_ellipsize (GTK_LABEL (sub), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (sub, "dim-label");
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), sub);
  gtk_list_item_set_child (item, box);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             FkOutingPage             *self)
{
  FkCaseItem *c = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *title = gtk_widget_get_first_child (box);
  GtkWidget *sub = gtk_widget_get_next_sibling (title);
  FkStore *store = fk_window_store (self->window);
  const FkService *svc = store ? fk_catalog_lookup (fk_store_catalog (store), fk_case_item_get_service (c)) : NULL;
  const char *receipt = fk_case_item_get_receipt (c);
  g_autofree char *t = g_strdup_printf ("%" G_GINT64_FORMAT " · %s", fk_case_item_get_id (c),
                                        fk_case_item_get_name (c) ? fk_case_item_get_name (c) : "—");
  g_autofree char *s = g_strdup_printf ("%s · %s%s%s", svc ? fk_service_name (svc) : fk_case_item_get_service (c),
                                        fk_case_status_label (fk_case_item_get_status (c)),
                                        receipt ? " · " : "", receipt ? receipt : "");
  g_autofree char *spoken = g_strdup_printf ("%s, %s", t, s);

  gtk_label_set_text (GTK_LABEL (title), t);
  gtk_label_set_text (GTK_LABEL (sub), s);
  fk_ui_name (box, spoken);
}

static void
row_activated_cb (GtkListView  *view,
                  guint         position,
                  FkOutingPage *self)
{
  g_autoptr(FkCaseItem) c = g_list_model_get_item (G_LIST_MODEL (self->filtered), position);

  if (c == NULL)
    return;
  if (fk_case_item_get_status (c) >= FK_CASE_SEALED && fk_case_item_get_status (c) != FK_CASE_RETURNED)
    fk_window_show_receipt (self->window, fk_case_item_get_id (c));
  else
    fk_window_show_case (self->window, fk_case_item_get_id (c));
}

static void
new_case_clicked_cb (GtkButton    *button,
                     FkOutingPage *self)
{
  gboolean shown = gtk_widget_get_visible (self->services);

  gtk_widget_set_visible (self->services, !shown);
  if (!shown)
    gtk_widget_child_focus (self->services, GTK_DIR_TAB_FORWARD);
}

static void
new_case_action (GtkWidget  *widget,
                 const char *action,
                 GVariant   *param)
{
  FkOutingPage *self = FK_OUTING_PAGE (widget);
  g_autofree char *why = NULL;

  if (!fk_window_limits (self->window, &why))
    {
      fk_window_toast (self->window, why);
      return;
    }
  fk_window_new_case (self->window, self->outing_id, g_variant_get_string (param, NULL));
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_outing_page_dispose (GObject *object)
{
  FkOutingPage *self = FK_OUTING_PAGE (object);

  if (self->cases)
    g_list_store_remove_all (self->cases);
  g_clear_object (&self->cases);
  g_clear_object (&self->filtered);
  G_OBJECT_CLASS (fk_outing_page_parent_class)->dispose (object);
}

static void
fk_outing_page_finalize (GObject *object)
{
  FkOutingPage *self = FK_OUTING_PAGE (object);

  g_free (self->outing_id);
  g_free (self->title);
  g_free (self->needle);
  g_clear_pointer (&self->id_matches, g_hash_table_unref);
  G_OBJECT_CLASS (fk_outing_page_parent_class)->finalize (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_outing_page_class_init (FkOutingPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fk_outing_page_dispose;
  object_class->finalize = fk_outing_page_finalize;
  gtk_widget_class_install_action (GTK_WIDGET_CLASS (klass), "outing.new-case", "s", new_case_action);
}

static void
fk_outing_page_init (FkOutingPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->status = -1;
  self->needle_number = -1;
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_outing_page_new (FkWindow   *window,
                    const char *outing_id)
{
  FkOutingPage *self = g_object_new (FK_TYPE_OUTING_PAGE, NULL);
  FkStore *store = fk_window_store (window);
  g_autoptr(FkOuting) outing = store ? fk_store_outing_get (store, outing_id, NULL) : NULL;
  GtkStringList *statuses = gtk_string_list_new (NULL);
  GtkListItemFactory *factory;
  GtkWidget *top, *row, *scroll;
  GPtrArray *services;

  self->window = window;
  self->outing_id = g_strdup (outing ? outing->id : outing_id);
  self->title = g_strdup (outing && outing->title ? outing->title : outing_id);

  top = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_widget_set_margin_top (top, 12);
  gtk_widget_set_margin_start (top, 12);
  gtk_widget_set_margin_end (top, 12);
  gtk_widget_set_margin_bottom (top, 8);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  {
    g_autofree char *date = fk_ui_format_date (outing ? outing->date : NULL);
    g_autofree char *text = g_strdup_printf ("%s · %s%s%s", outing ? fk_outing_kind_label (outing->kind) : "",
                                             date, outing && outing->place && *outing->place ? " · " : "",
                                             outing && outing->place ? outing->place : "");

    self->summary = fk_ui_label (text, "dim-label");
    gtk_widget_set_hexpand (self->summary, TRUE);
    gtk_box_append (GTK_BOX (row), self->summary);
  }
  self->new_case = fk_ui_button (_("New case"), "suggested-action");
  g_signal_connect (self->new_case, "clicked", G_CALLBACK (new_case_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), self->new_case);
  gtk_box_append (GTK_BOX (top), row);
  /* A school drive: the class roster and the student flow (fk-drive-page.c). */
  if (outing && g_strcmp0 (outing->kind, "school_drive") == 0)
    gtk_box_append (GTK_BOX (top), fk_drive_entry_buttons (window, GTK_WIDGET (self), self->outing_id));
  /* A card hand-over: the cards on the office's list (fk-handover-page.c). */
  if (outing && g_strcmp0 (outing->kind, "card_handover") == 0)
    gtk_box_append (GTK_BOX (top), fk_handover_entry_button (window, GTK_WIDGET (self), self->outing_id));

  /* The services as buttons: one touch (or Tab and Enter) per new case. */
  self->services = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (self->services), GTK_SELECTION_NONE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (self->services), 3);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (self->services), 8);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (self->services), 8);
  fk_ui_name (self->services, _("Services"));
  services = store ? fk_catalog_services (fk_store_catalog (store)) : NULL;
  for (guint i = 0; services && i < services->len; i++)
    {
      const FkService *svc = services->pdata[i];
      GtkWidget *b = fk_ui_button (fk_service_name (svc), NULL);

      gtk_actionable_set_action_name (GTK_ACTIONABLE (b), "outing.new-case");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (b), g_variant_new_string (svc->id));
      gtk_flow_box_append (GTK_FLOW_BOX (self->services), b);
    }
  for (GtkWidget *c = gtk_widget_get_first_child (self->services); c; c = gtk_widget_get_next_sibling (c))
    gtk_widget_set_focusable (c, FALSE);
  gtk_widget_set_visible (self->services, FALSE);
  gtk_box_append (GTK_BOX (top), self->services);

  self->warning = fk_ui_label ("", "fk-banner-warning");
  gtk_widget_set_visible (self->warning, FALSE);
  gtk_box_append (GTK_BOX (top), self->warning);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  self->search = gtk_search_entry_new ();
  gtk_widget_set_hexpand (self->search, TRUE);
  g_object_set (self->search, "placeholder-text", _("Name, ID number or receipt"), NULL);
  fk_ui_name (self->search, _("Search by name or ID number"));
  g_signal_connect (self->search, "search-changed", G_CALLBACK (search_changed_cb), self);
  gtk_box_append (GTK_BOX (row), self->search);
  gtk_string_list_append (statuses, _("All"));
  for (int s = FK_CASE_DRAFT; s <= FK_CASE_CLOSED; s++)
    gtk_string_list_append (statuses, fk_case_status_label ((FkCaseStatus) s));
  self->status_filter = gtk_drop_down_new (G_LIST_MODEL (statuses), NULL);
  fk_ui_name (self->status_filter, _("Filter by status"));
  gtk_widget_set_tooltip_text (self->status_filter, _("Filter by status"));
  g_signal_connect (self->status_filter, "notify::selected", G_CALLBACK (status_changed_cb), self);
  gtk_box_append (GTK_BOX (row), self->status_filter);
  gtk_box_append (GTK_BOX (top), row);

  self->count = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (top), self->count);
  gtk_box_append (GTK_BOX (self), top);

  self->cases = g_list_store_new (FK_TYPE_CASE_ITEM);
  self->filter = gtk_custom_filter_new (NULL, NULL, NULL);  /* see update_filter */
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->cases)), GTK_FILTER (self->filter));
  g_object_ref (self->filtered);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  self->list = gtk_list_view_new (GTK_SELECTION_MODEL (gtk_single_selection_new (G_LIST_MODEL (self->filtered))), factory);
  gtk_list_view_set_single_click_activate (GTK_LIST_VIEW (self->list), TRUE);
  gtk_widget_add_css_class (self->list, "rich-list");
  fk_ui_name (self->list, _("Cases"));
  g_signal_connect (self->list, "activate", G_CALLBACK (row_activated_cb), self);
  scroll = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), self->list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);

  fk_outing_page_refresh (self);
  return GTK_WIDGET (self);
}

void
fk_outing_page_refresh (FkOutingPage *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) cases = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *why = NULL;
  gboolean allowed;
  FkDrivePage *drive;

  if (store == NULL || !fk_store_is_unlocked (store))
    return;
  cases = fk_store_cases (store, self->outing_id, NULL, NULL);
  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; cases && i < cases->len; i++)
    g_ptr_array_add (items, fk_case_item_new_from_case (cases->pdata[i]));
  /* One splice for the lot: the list view sees a single change. */
  g_list_store_splice (self->cases, 0, g_list_model_get_n_items (G_LIST_MODEL (self->cases)),
                       items->pdata, items->len);
  allowed = fk_window_limits (self->window, &why);
  gtk_widget_set_sensitive (self->new_case, allowed);
  gtk_label_set_text (GTK_LABEL (self->warning), why ? why : "");
  gtk_widget_set_visible (self->warning, why != NULL);
  apply_search (self, gtk_editable_get_text (GTK_EDITABLE (self->search)), FALSE);
  /* A drive open on this page takes the students imported since. */
  drive = fk_drive_page_find (GTK_WIDGET (self));
  if (drive)
    fk_drive_page_refresh (drive);
}

const char *
fk_outing_page_title (FkOutingPage *self)
{
  return self->title;
}

GListModel *
fk_outing_page_model (FkOutingPage *self)
{
  return G_LIST_MODEL (self->filtered);
}

void
fk_outing_page_set_search (FkOutingPage *self,
                           const char   *text)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search), text);
  apply_search (self, text, FALSE);
}
