/* fk-class-summary-view.c — every student of a school drive with where they
 * stand, and the exports for the school and the office (CSV, PDF) through
 * app/fk-class-summary.h.  The export is an explicit act of the clerk, and
 * the save dialog says the file holds the students' names. */
#include "ui/fk-pages.h"

#include "app/fk-class-summary.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"

struct _FkClassSummaryView
{
  GtkBox           parent_instance;

  FkWindow        *window;
  char            *outing_id;
  GCancellable    *cancellable;
  GtkNativeDialog *chooser;

  GtkWidget       *counts;
  GtkWidget       *list;
  GtkWidget       *csv_button;
  GtkWidget       *pdf_button;
};

G_DEFINE_FINAL_TYPE (FkClassSummaryView, fk_class_summary_view, GTK_TYPE_BOX)

enum { STUDENT_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- export ------------------------------------------------------------------- */

static void
export_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  FkClassSummary *summary = g_object_get_data (G_OBJECT (task), "fk-summary");
  GError *error = NULL;

  if (fk_class_summary_write (summary, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
export_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  FkClassSummaryView *self = FK_CLASS_SUMMARY_VIEW (source);
  g_autoptr(GError) error = NULL;

  gtk_widget_set_sensitive (self->csv_button, TRUE);
  gtk_widget_set_sensitive (self->pdf_button, TRUE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fk_window_error (self->window, _("The class summary was not saved"), error);
      return;
    }
  fk_window_toast (self->window, _("Class summary saved"));
}

static void
chooser_response_cb (GtkNativeDialog    *dialog,
                     int                 response,
                     FkClassSummaryView *self)
{
  FkStore *store = fk_window_store (self->window);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      const char *ext = g_object_get_data (G_OBJECT (dialog), "fk-ext");
      g_autoptr(GError) error = NULL;
      g_autoptr(GTask) task = NULL;
      FkClassSummary *summary;
      g_autofree char *lower = NULL;

      if (path == NULL)
        goto out;
      /* The format is the button's: add the extension when it is missing. */
      lower = g_ascii_strdown (path, -1);
      if (!g_str_has_suffix (lower, ext))
        {
          char *with = g_strconcat (path, ext, NULL);

          g_free (path);
          path = with;
        }
      summary = store ? fk_class_summary_new (store, self->outing_id, NULL, &error) : NULL;
      if (summary == NULL)
        {
          if (error == NULL)
            g_set_error_literal (&error, FK_STORE_ERROR, FK_STORE_ERROR_BUSY,
                                 _("FieldKit is still busy with the last step; try again in a moment."));
          fk_window_error (self->window, _("The class summary was not saved"), error);
          goto out;
        }
      task = g_task_new (self, self->cancellable, export_done_cb, NULL);
      g_task_set_source_tag (task, chooser_response_cb);
      g_object_set_data_full (G_OBJECT (task), "fk-summary", summary, (GDestroyNotify) fk_class_summary_free);
      g_task_set_task_data (task, g_steal_pointer (&path), g_free);
      gtk_widget_set_sensitive (self->csv_button, FALSE);
      gtk_widget_set_sensitive (self->pdf_button, FALSE);
      g_task_run_in_thread (task, export_thread);
    }
out:
  g_clear_object (&self->chooser);
}

static void
export (FkClassSummaryView *self,
        const char         *ext)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *name = NULL;
  gboolean pdf = g_str_equal (ext, ".pdf");

  chooser = gtk_file_chooser_native_new (pdf ? _("Save the class summary as PDF — it holds the students' names")
                                             : _("Save the class summary as CSV — it holds the students' names"),
                                         GTK_WINDOW (self->window), GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  gtk_file_filter_set_name (filter, pdf ? "PDF" : _("CSV (Excel)"));
  gtk_file_filter_add_suffix (filter, pdf ? "pdf" : "csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  name = g_strdup_printf ("class-summary-%s%s", self->outing_id, ext);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "fk-ext", g_strdup (ext), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
csv_clicked_cb (GtkButton          *button,
                FkClassSummaryView *self)
{
  export (self, ".csv");
}

static void
pdf_clicked_cb (GtkButton          *button,
                FkClassSummaryView *self)
{
  export (self, ".pdf");
}

static void
row_activated_cb (GtkListBox         *box,
                  GtkListBoxRow      *row,
                  FkClassSummaryView *self)
{
  gint64 *id = g_object_get_data (G_OBJECT (row), "fk-case");

  if (id)
    g_signal_emit (self, signals[STUDENT_ACTIVATED], 0, *id);
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_class_summary_view_dispose (GObject *object)
{
  FkClassSummaryView *self = FK_CLASS_SUMMARY_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  G_OBJECT_CLASS (fk_class_summary_view_parent_class)->dispose (object);
}

static void
fk_class_summary_view_finalize (GObject *object)
{
  FkClassSummaryView *self = FK_CLASS_SUMMARY_VIEW (object);

  g_clear_object (&self->cancellable);
  g_free (self->outing_id);
  G_OBJECT_CLASS (fk_class_summary_view_parent_class)->finalize (object);
}

static void
fk_class_summary_view_class_init (FkClassSummaryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fk_class_summary_view_dispose;
  object_class->finalize = fk_class_summary_view_finalize;
  signals[STUDENT_ACTIVATED] = g_signal_new ("student-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                             0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
}

static void
fk_class_summary_view_init (FkClassSummaryView *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 8);
  self->cancellable = g_cancellable_new ();
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_class_summary_view_new (FkWindow   *window,
                           const char *outing_id)
{
  FkClassSummaryView *self = g_object_new (FK_TYPE_CLASS_SUMMARY_VIEW, NULL);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *title;

  self->window = window;
  self->outing_id = g_strdup (outing_id);

  title = fk_ui_label (_("Class summary"), "title-4");
  gtk_box_append (GTK_BOX (self), title);
  self->counts = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (self), self->counts);

  self->csv_button = fk_ui_button (_("Export CSV…"), NULL);
  g_signal_connect (self->csv_button, "clicked", G_CALLBACK (csv_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->csv_button);
  self->pdf_button = fk_ui_button (_("Export PDF…"), NULL);
  g_signal_connect (self->pdf_button, "clicked", G_CALLBACK (pdf_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->pdf_button);
  gtk_box_append (GTK_BOX (self), buttons);
  gtk_box_append (GTK_BOX (self),
                  fk_ui_label (_("The exports hold the students' full names: give them only to the school and the office."), "dim-label"));

  self->list = gtk_list_box_new ();
  gtk_widget_add_css_class (self->list, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_NONE);
  fk_ui_name (self->list, _("Every student and where they stand"));
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
  gtk_box_append (GTK_BOX (self), self->list);

  fk_class_summary_view_refresh (self);
  return GTK_WIDGET (self);
}

void
fk_class_summary_view_refresh (FkClassSummaryView *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(FkClassSummary) summary = NULL;
  g_autofree char *progress = NULL;

  if (store == NULL || !fk_store_is_unlocked (store))
    return;
  summary = fk_class_summary_new (store, self->outing_id, NULL, NULL);
  if (summary == NULL)
    return;
  progress = fk_class_summary_progress (summary);
  gtk_label_set_text (GTK_LABEL (self->counts), progress);
  fk_ui_box_clear (self->list);
  for (guint i = 0; i < summary->rows->len; i++)
    {
      const FkClassSummaryRow *r = summary->rows->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_strdup_printf (_("%s · seat %s · %s"),
                                                *r->school_class ? r->school_class : "—",
                                                *r->seat ? r->seat : "—", r->name ? r->name : "—");
      g_autofree char *sub = r->receipt_no ? g_strdup_printf ("%s · %s", fk_drive_state_label (r->state), r->receipt_no)
                                           : g_strdup (fk_drive_state_label (r->state));
      g_autofree char *spoken = g_strdup_printf ("%s: %s", title, sub);
      const char *icon = r->state == FK_DRIVE_DONE ? "object-select-symbolic"
                         : r->state == FK_DRIVE_ABSENT || r->state == FK_DRIVE_LATER ? "alarm-symbolic"
                         : "radio-symbolic";

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sub);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name (icon));
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "fk-case", g_memdup2 (&r->case_id, sizeof r->case_id), g_free);
      fk_ui_name (row, spoken);
      gtk_list_box_append (GTK_LIST_BOX (self->list), row);
    }
}
