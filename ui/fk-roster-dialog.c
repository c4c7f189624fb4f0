/* fk-roster-dialog.c — importing a class roster into a school drive.
 *
 * The file is picked with GtkFileChooserNative and read in a worker thread
 * (fk_roster_parse_file: encoding, separator, header, the rows and what is
 * wrong with each); the check against the store (a student already in the
 * outing, an age outside the drive's) runs as a window job.  Then a dialog
 * shows the encoding and separator and every row with its problems before
 * anything is saved; "Import N good rows" makes the draft cases, again as a
 * job, in one store batch.
 *
 * The dialog holds the roster (names and ID numbers in clear): it closes —
 * and the roster is wiped — when the outing page that opened it goes away
 * (lock) or the store is locked. */
#include "ui/fk-pages.h"

#include "app/fk-roster.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkRosterDialog
{
  AdwWindow        parent_instance;

  FkWindow        *window;
  GtkWidget       *host;          /* the outing page (weak) */
  char            *outing_id;
  char            *file_name;
  FkRoster        *roster;
  guint            n_good;
  GCancellable    *cancellable;
  GtkNativeDialog *chooser;
  guint            watch_source;

  GtkWidget       *facts;
  GtkWidget       *counts;
  GtkWidget       *list;
  GtkWidget       *import_button;
  GtkWidget       *spinner;
};

G_DEFINE_FINAL_TYPE (FkRosterDialog, fk_roster_dialog, ADW_TYPE_WINDOW)

typedef struct {
  FkRoster       *roster;     /* borrowed: the dialog keeps it until the job is back */
  char           *outing_id;
  gboolean        import;
  FkRosterReport  report;
} RosterJob;

/* ---- helpers ------------------------------------------------------------------ */

static void
roster_job_free (gpointer p)
{
  RosterJob *job = p;

  g_free (job->outing_id);
  fk_roster_report_clear (&job->report);
  g_free (job);
}

static gboolean
roster_job_run (FkStore  *store,
                gpointer  data,
                GError  **error)
{
  RosterJob *job = data;

  if (job->import)
    return fk_roster_import (job->roster, store, job->outing_id, NULL, FALSE, &job->report, error);
  return fk_roster_preview (job->roster, store, job->outing_id, NULL, &job->report, error);
}

static void
parse_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GError *error = NULL;
  FkRoster *roster = fk_roster_parse_file (task_data, &error);

  if (roster)
    g_task_return_pointer (task, roster, (GDestroyNotify) fk_roster_free);
  else
    g_task_return_error (task, error);
}

static char *
row_title (const FkRosterRow *row)
{
  g_autoptr(GString) s = g_string_new (NULL);

  g_string_printf (s, _("Line %u"), row->line);
  if (*row->school_class || *row->seat)
    g_string_append_printf (s, _(" · class %s seat %s"),
                            *row->school_class ? row->school_class : "—", *row->seat ? row->seat : "—");
  g_string_append_printf (s, " · %s", *row->name ? row->name : "—");
  if (*row->national_id)
    g_string_append_printf (s, " · %s", row->national_id);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
row_problems (const FkRosterRow *row)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < row->problems->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((FkRosterProblem *) row->problems->pdata[i])->message);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
set_busy (FkRosterDialog *self,
          gboolean        busy)
{
  gtk_widget_set_visible (self->spinner, busy);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), busy);
  gtk_widget_set_sensitive (self->import_button, !busy && self->n_good > 0);
}

/* ---- the row list ------------------------------------------------------------- */

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *sub = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (title), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (sub), 0);
  gtk_label_set_wrap (GTK_LABEL (sub), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (sub), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (texts), title);
  gtk_box_append (GTK_BOX (texts), sub);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), texts);
  gtk_list_item_set_child (item, box);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             FkRosterDialog           *self)
{
  GtkStringObject *obj = gtk_list_item_get_item (item);
  guint index = (guint) g_ascii_strtoull (gtk_string_object_get_string (obj), NULL, 10);
  const FkRosterRow *row = self->roster ? fk_roster_row (self->roster, index) : NULL;
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *icon = gtk_widget_get_first_child (box);
  GtkWidget *texts = gtk_widget_get_next_sibling (icon);
  GtkWidget *title = gtk_widget_get_first_child (texts);
  GtkWidget *sub = gtk_widget_get_next_sibling (title);
  g_autofree char *t = NULL;
  g_autofree char *p = NULL;
  g_autofree char *spoken = NULL;
  gboolean good;

  if (row == NULL)
    return;
  good = row->problems->len == 0;
  t = row_title (row);
  p = good ? g_strdup (_("Ready to import")) : row_problems (row);
  spoken = g_strdup_printf ("%s: %s", t, p);
  gtk_image_set_from_icon_name (GTK_IMAGE (icon), good ? "object-select-symbolic" : "dialog-warning-symbolic");
  gtk_label_set_text (GTK_LABEL (title), t);
  gtk_label_set_text (GTK_LABEL (sub), p);
  if (good)
    {
      gtk_widget_remove_css_class (sub, "fk-reason");
      gtk_widget_add_css_class (sub, "dim-label");
      gtk_widget_remove_css_class (icon, "error");
      gtk_widget_add_css_class (icon, "success");
    }
  else
    {
      gtk_widget_remove_css_class (sub, "dim-label");
      gtk_widget_add_css_class (sub, "fk-reason");
      gtk_widget_remove_css_class (icon, "success");
      gtk_widget_add_css_class (icon, "error");
    }
  fk_ui_name (box, spoken);
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_parent (box) ? gtk_widget_get_parent (box) : box),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
}

/* ---- import ------------------------------------------------------------------- */

static void
import_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FkRosterDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint taken, refused;

  if (!fk_window_run_job_finish (FK_WINDOW (source), result, &error))
    {
      if (!g_cancellable_is_cancelled (self->cancellable))
        {
          set_busy (self, FALSE);
          fk_window_error (self->window, _("The roster was not imported"), error);
        }
      return;
    }
  taken = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "fk-taken"));
  refused = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "fk-refused"));
  if (refused > 0)
    text = g_strdup_printf (refused == 1 ? _("%u students imported; %u row left out")
                                         : _("%u students imported; %u rows left out"),
                            taken, refused);
  else
    text = g_strdup_printf (_("%u students imported"), taken);
  fk_window_toast (self->window, text);
  fk_window_refresh (self->window);
  gtk_window_destroy (GTK_WINDOW (self));
}

/* The job's data is freed with the task; the counts are copied out while
 * the job is still the window's. */
static gboolean
import_job_run (FkStore  *store,
                gpointer  data,
                GError  **error)
{
  RosterJob *job = data;

  return roster_job_run (store, job, error);
}

typedef struct {
  FkRosterDialog *dialog;
  RosterJob      *job;
} ImportCall;

static void
import_finished_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ImportCall *call = user_data;

  /* Counts first: the report lives in the job. */
  g_object_set_data (G_OBJECT (call->dialog), "fk-taken", GUINT_TO_POINTER (call->job->report.taken));
  g_object_set_data (G_OBJECT (call->dialog), "fk-refused", GUINT_TO_POINTER (call->job->report.refused));
  import_done_cb (source, result, call->dialog);
  g_free (call);
}

static void
import_clicked_cb (GtkButton      *button,
                   FkRosterDialog *self)
{
  RosterJob *job;
  ImportCall *call;

  if (self->roster == NULL || self->n_good == 0)
    return;
  if (fk_window_is_busy (self->window))
    {
      fk_window_toast (self->window, _("FieldKit is still busy with the last step; try again in a moment."));
      return;
    }
  job = g_new0 (RosterJob, 1);
  job->roster = self->roster;
  job->outing_id = g_strdup (self->outing_id);
  job->import = TRUE;
  call = g_new0 (ImportCall, 1);
  call->dialog = g_object_ref (self);
  call->job = job;
  set_busy (self, TRUE);
  fk_window_run_job (self->window, import_job_run, job, roster_job_free, NULL, import_finished_cb, call);
}

/* ---- preview ------------------------------------------------------------------- */

static void
show_preview (FkRosterDialog       *self,
              const FkRosterReport *report)
{
  GtkStringList *indices = gtk_string_list_new (NULL);
  const char * const *ignored = fk_roster_ignored_columns (self->roster);
  g_autoptr(GString) facts = g_string_new (NULL);
  g_autofree char *counts = NULL;
  g_autofree char *button = NULL;
  guint n = fk_roster_n_rows (self->roster);

  g_string_printf (facts, _("%s: %s, %s-separated."), self->file_name,
                   fk_roster_encoding_label (self->roster), fk_roster_separator_label (self->roster));
  if (ignored[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (_(", "), (char **) ignored);

      g_string_append_c (facts, ' ');
      g_string_append_printf (facts, _("Columns not used: %s."), list);
    }
  if (!fk_roster_has_birth_dates (self->roster))
    {
      g_string_append_c (facts, ' ');
      g_string_append (facts, _("The file has no birth-date column: ages were not checked."));
    }
  gtk_label_set_text (GTK_LABEL (self->facts), facts->str);

  self->n_good = report->taken;
  counts = g_strdup_printf (_("%u rows: %u ready, %u with problems (left out). Nothing is saved until you import."),
                            report->rows, report->taken, report->refused);
  gtk_label_set_text (GTK_LABEL (self->counts), counts);
  button = g_strdup_printf (_("Import %u good rows"), report->taken);
  gtk_button_set_label (GTK_BUTTON (self->import_button), button);
  fk_ui_name (self->import_button, button);

  for (guint i = 0; i < n; i++)
    {
      char num[16];

      g_snprintf (num, sizeof num, "%u", i);
      gtk_string_list_append (indices, num);
    }
  {
    /* gtk_no_selection_new takes the list; the view takes its own ref. */
    g_autoptr(GtkNoSelection) model = gtk_no_selection_new (G_LIST_MODEL (indices));

    gtk_list_view_set_model (GTK_LIST_VIEW (self->list), GTK_SELECTION_MODEL (model));
  }
  set_busy (self, FALSE);
  gtk_window_present (GTK_WINDOW (self));
  gtk_widget_grab_focus (self->import_button);
}

typedef struct {
  FkRosterDialog *dialog;
  RosterJob      *job;
} PreviewCall;

static void
preview_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PreviewCall *call = user_data;
  g_autoptr(FkRosterDialog) self = call->dialog;
  g_autoptr(GError) error = NULL;
  gboolean ok = fk_window_run_job_finish (FK_WINDOW (source), result, &error);

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_free (call);
      return;
    }
  if (!ok)
    {
      fk_window_error (self->window, _("The roster cannot be imported"), error);
      gtk_window_destroy (GTK_WINDOW (self));
      g_free (call);
      return;
    }
  show_preview (self, &call->job->report);
  g_free (call);
}

static void
parse_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(FkRosterDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  FkRoster *roster = g_task_propagate_pointer (G_TASK (result), &error);
  RosterJob *job;
  PreviewCall *call;

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_pointer (&roster, fk_roster_free);
      return;
    }
  if (roster == NULL)
    {
      fk_window_error (self->window, _("This file cannot be read as a roster"), error);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  self->roster = roster;
  if (fk_window_is_busy (self->window))
    {
      g_set_error_literal (&error, FK_STORE_ERROR, FK_STORE_ERROR_BUSY,
                           _("FieldKit is still busy with the last step; try again in a moment."));
      fk_window_error (self->window, _("The roster cannot be imported"), error);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  job = g_new0 (RosterJob, 1);
  job->roster = self->roster;
  job->outing_id = g_strdup (self->outing_id);
  call = g_new0 (PreviewCall, 1);
  call->dialog = g_object_ref (self);
  call->job = job;
  fk_window_run_job (self->window, roster_job_run, job, roster_job_free, NULL, preview_done_cb, call);
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     FkRosterDialog  *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GTask) task = NULL;

  if (response != GTK_RESPONSE_ACCEPT)
    {
      g_clear_object (&self->chooser);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_clear_object (&self->chooser);
  self->file_name = g_file_get_basename (file);
  task = g_task_new (NULL, self->cancellable, parse_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, chooser_response_cb);
  g_task_set_task_data (task, g_file_get_path (file), g_free);
  g_task_run_in_thread (task, parse_thread);
}

/* ---- closing --------------------------------------------------------------------- */

static void
host_gone_cb (gpointer  data,
              GObject  *where_the_object_was)
{
  FkRosterDialog *self = data;

  self->host = NULL;
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
watch_cb (gpointer user_data)
{
  FkRosterDialog *self = user_data;
  FkStore *store = fk_window_store (self->window);

  /* Locked (idle, suspend, Ctrl+L): the roster goes with the session. */
  if (store && !fk_store_is_unlocked (store))
    {
      self->watch_source = 0;
      gtk_window_destroy (GTK_WINDOW (self));
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
cancel_clicked_cb (GtkButton      *button,
                   FkRosterDialog *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
lock_shortcut_cb (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  FkRosterDialog *self = FK_ROSTER_DIALOG (widget);
  FkWindow *window = self->window;

  gtk_window_destroy (GTK_WINDOW (self));
  fk_window_lock (window);
  return TRUE;
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_roster_dialog_dispose (GObject *object)
{
  FkRosterDialog *self = FK_ROSTER_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_source, g_source_remove);
  if (self->host)
    {
      g_object_weak_unref (G_OBJECT (self->host), host_gone_cb, self);
      self->host = NULL;
    }
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  G_OBJECT_CLASS (fk_roster_dialog_parent_class)->dispose (object);
}

static void
fk_roster_dialog_finalize (GObject *object)
{
  FkRosterDialog *self = FK_ROSTER_DIALOG (object);

  /* fk_roster_free wipes the names and ID numbers it holds. */
  g_clear_pointer (&self->roster, fk_roster_free);
  g_clear_object (&self->cancellable);
  g_free (self->outing_id);
  g_free (self->file_name);
  G_OBJECT_CLASS (fk_roster_dialog_parent_class)->finalize (object);
}

static void
fk_roster_dialog_class_init (FkRosterDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fk_roster_dialog_dispose;
  object_class->finalize = fk_roster_dialog_finalize;
  gtk_widget_class_add_binding (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, lock_shortcut_cb, NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
fk_roster_dialog_init (FkRosterDialog *self)
{
  self->cancellable = g_cancellable_new ();
}

/* ---- construction ---------------------------------------------------------------- */

static void
build (FkRosterDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *bottom = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *cancel;
  GtkListItemFactory *factory;

  gtk_window_set_title (GTK_WINDOW (self), _("Import class roster"));
  gtk_widget_add_css_class (GTK_WIDGET (self), "fieldkit");
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (self->window));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);
  {
    int w = gtk_widget_get_width (GTK_WIDGET (self->window));
    int h = gtk_widget_get_height (GTK_WIDGET (self->window));

    gtk_window_set_default_size (GTK_WINDOW (self), w > 0 ? MIN (760, w) : 760, h > 0 ? MIN (640, h) : 640);
  }

  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header),
                                   adw_window_title_new (_("Import class roster"), NULL));
  gtk_box_append (GTK_BOX (box), header);

  gtk_widget_set_margin_top (top, 12);
  gtk_widget_set_margin_start (top, 12);
  gtk_widget_set_margin_end (top, 12);
  gtk_widget_set_margin_bottom (top, 6);
  self->facts = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (top), self->facts);
  self->counts = fk_ui_label ("", "heading");
  gtk_box_append (GTK_BOX (top), self->counts);
  gtk_box_append (GTK_BOX (box), top);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  self->list = gtk_list_view_new (NULL, factory);
  gtk_widget_add_css_class (self->list, "rich-list");
  fk_ui_name (self->list, _("Rows of the roster"));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), self->list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (box), scroll);

  gtk_widget_set_margin_top (bottom, 8);
  gtk_widget_set_margin_bottom (bottom, 12);
  gtk_widget_set_margin_start (bottom, 12);
  gtk_widget_set_margin_end (bottom, 12);
  self->spinner = gtk_spinner_new ();
  gtk_widget_set_visible (self->spinner, FALSE);
  fk_ui_name (self->spinner, _("Working"));
  gtk_box_append (GTK_BOX (bottom), self->spinner);
  cancel = fk_ui_button (_("Cancel"), NULL);
  g_signal_connect (cancel, "clicked", G_CALLBACK (cancel_clicked_cb), self);
  gtk_widget_set_hexpand (cancel, TRUE);
  gtk_widget_set_halign (cancel, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (bottom), cancel);
  self->import_button = fk_ui_button (_("Import"), "suggested-action");
  g_signal_connect (self->import_button, "clicked", G_CALLBACK (import_clicked_cb), self);
  gtk_box_append (GTK_BOX (bottom), self->import_button);
  gtk_box_append (GTK_BOX (box), bottom);

  adw_window_set_content (ADW_WINDOW (self), box);
}

/* ---- public API ---------------------------------------------------------------- */

void
fk_roster_dialog_run (FkWindow   *window,
                      GtkWidget  *host,
                      const char *outing_id)
{
  FkRosterDialog *self = g_object_new (FK_TYPE_ROSTER_DIALOG, NULL);
  g_autoptr(GtkFileFilter) rosters = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  self->window = window;
  self->outing_id = g_strdup (outing_id);
  if (host)
    {
      self->host = host;
      g_object_weak_ref (G_OBJECT (host), host_gone_cb, self);
    }
  self->watch_source = g_timeout_add_seconds (1, watch_cb, self);
  build (self);

  gtk_file_filter_set_name (rosters, _("Class rosters (CSV, TSV, text)"));
  gtk_file_filter_add_suffix (rosters, "csv");
  gtk_file_filter_add_suffix (rosters, "tsv");
  gtk_file_filter_add_suffix (rosters, "txt");
  gtk_file_filter_add_mime_type (rosters, "text/csv");
  gtk_file_filter_add_mime_type (rosters, "text/tab-separated-values");
  gtk_file_filter_add_mime_type (rosters, "text/plain");
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  chooser = gtk_file_chooser_native_new (_("Choose the class roster"), GTK_WINDOW (window),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                         _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), rosters);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}
