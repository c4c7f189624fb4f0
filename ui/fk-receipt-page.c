/* fk-receipt-page.c — the receipt (收件確認) of a sealed case: number,
 * service, date, time limit, what happens next; the very receipt the
 * applicant gets, drawn by app/fk-receipt.c; Save PDF (in a worker thread)
 * and Print (GtkPrintOperation with the same drawing). */
#include "ui/fk-pages.h"

#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"
#include "app/fk-receipt.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkReceiptPage
{
  GtkBox         parent_instance;

  FkWindow      *window;
  gint64         case_id;
  char          *outing_id;
  char          *receipt_no;
  FkReceiptData *data;
  GtkWidget     *pdf_button;
  GtkWidget     *print_button;
  GtkWidget     *drawing;
  GtkNativeDialog *chooser;
  GCancellable  *cancellable;
};

G_DEFINE_FINAL_TYPE (FkReceiptPage, fk_receipt_page, GTK_TYPE_BOX)

/* ---- helpers ------------------------------------------------------------------ */

static GtkWidget *
fact_row (const char *title,
          const char *value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *v = gtk_label_new (value);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_label_set_wrap (GTK_LABEL (v), TRUE);
  gtk_label_set_xalign (GTK_LABEL (v), 1);
  /* A wrapping label asks only for its narrowest width; give short values
   * room for one line and long ones a readable column. */
  gtk_label_set_width_chars (GTK_LABEL (v), (int) MIN (g_utf8_strlen (value ? value : "", -1), 28));
  gtk_label_set_max_width_chars (GTK_LABEL (v), 40);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), v);
  {
    g_autofree char *spoken = g_strdup_printf ("%s: %s", title, value);

    fk_ui_name (row, spoken);
  }
  return row;
}

static void
pdf_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  FkReceiptData *data = g_object_get_data (G_OBJECT (task), "fk-data");
  const char *path = task_data;
  GError *error = NULL;

  if (fk_receipt_data_write_pdf (data, FK_RECEIPT_A4, path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
pdf_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  FkReceiptPage *self = FK_RECEIPT_PAGE (source);
  g_autoptr(GError) error = NULL;

  gtk_widget_set_sensitive (self->pdf_button, TRUE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fk_window_error (self->window, _("The PDF was not saved"), error);
      return;
    }
  fk_window_toast (self->window, _("PDF saved"));
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     FkReceiptPage   *self)
{
  FkStore *store = fk_window_store (self->window);

  if (response == GTK_RESPONSE_ACCEPT && store)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GTask) task = g_task_new (self, self->cancellable, pdf_done_cb, NULL);
      g_autoptr(GError) error = NULL;
      FkReceiptData *copy = fk_receipt_data_new (store, self->case_id, &error);

      if (copy == NULL)
        {
          fk_window_error (self->window, _("The PDF was not saved"), error);
          g_clear_object (&self->chooser);
          return;
        }
      /* The thread gets its own copy of the data; the page may go away. */
      g_task_set_source_tag (task, chooser_response_cb);
      g_object_set_data_full (G_OBJECT (task), "fk-data", copy, (GDestroyNotify) fk_receipt_data_free);
      g_task_set_task_data (task, g_file_get_path (file), g_free);
      gtk_widget_set_sensitive (self->pdf_button, FALSE);
      g_task_run_in_thread (task, pdf_thread);
    }
  g_clear_object (&self->chooser);
}

static void
pdf_clicked_cb (GtkButton     *button,
                FkReceiptPage *self)
{
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (_("Save the receipt as PDF"), GTK_WINDOW (self->window),
                                 GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  g_autofree char *name = g_strdup_printf ("%s.pdf", self->receipt_no ? self->receipt_no : "receipt");

  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
draw_page_cb (GtkPrintOperation *op,
              GtkPrintContext   *context,
              int                page,
              FkReceiptPage     *self)
{
  cairo_t *cr = gtk_print_context_get_cairo_context (context);
  double width = gtk_print_context_get_width (context);

  fk_receipt_render (cr, self->data, FK_RECEIPT_A4, MIN (width, FK_RECEIPT_A4_WIDTH_PT));
}

static void
print_clicked_cb (GtkButton     *button,
                  FkReceiptPage *self)
{
  g_autoptr(GtkPrintOperation) op = gtk_print_operation_new ();
  g_autoptr(GError) error = NULL;
  /* The print dialog runs its own loop: if the window locks meanwhile it
   * closes the dialog and removes this page, so the page is held here. */
  g_autoptr(FkReceiptPage) hold = g_object_ref (self);

  gtk_print_operation_set_n_pages (op, 1);
  gtk_print_operation_set_unit (op, GTK_UNIT_POINTS);
  gtk_print_operation_set_job_name (op, self->receipt_no ? self->receipt_no : "receipt");
  g_signal_connect (op, "draw-page", G_CALLBACK (draw_page_cb), self);
  if (gtk_print_operation_run (op, GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG, GTK_WINDOW (self->window), &error) ==
      GTK_PRINT_OPERATION_RESULT_ERROR && gtk_widget_get_root (GTK_WIDGET (self)) != NULL)
    fk_window_error (self->window, _("Printing failed"), error);
}

static void
draw_receipt (GtkDrawingArea *area,
              cairo_t        *cr,
              int             width,
              int             height,
              gpointer        user_data)
{
  FkReceiptPage *self = user_data;
  double paper = FK_RECEIPT_SLIP_WIDTH_PT;
  double scale = MIN (width / paper, 2.0);

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, (width - paper * scale) / 2, 0, paper * scale, height);
  cairo_fill (cr);
  cairo_translate (cr, (width - paper * scale) / 2, 0);
  cairo_scale (cr, scale, scale);
  fk_receipt_render (cr, self->data, FK_RECEIPT_SLIP_80MM, paper);
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_receipt_page_dispose (GObject *object)
{
  FkReceiptPage *self = FK_RECEIPT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  G_OBJECT_CLASS (fk_receipt_page_parent_class)->dispose (object);
}

static void
fk_receipt_page_finalize (GObject *object)
{
  FkReceiptPage *self = FK_RECEIPT_PAGE (object);

  g_clear_pointer (&self->data, fk_receipt_data_free);
  g_clear_object (&self->cancellable);
  g_free (self->outing_id);
  g_free (self->receipt_no);
  G_OBJECT_CLASS (fk_receipt_page_parent_class)->finalize (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_receipt_page_class_init (FkReceiptPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fk_receipt_page_dispose;
  object_class->finalize = fk_receipt_page_finalize;
}

static void
fk_receipt_page_init (FkReceiptPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->cancellable = g_cancellable_new ();
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_receipt_page_new (FkWindow *window,
                     gint64    case_id)
{
  FkReceiptPage *self = g_object_new (FK_TYPE_RECEIPT_PAGE, NULL);
  FkStore *store = fk_window_store (window);
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCase) kase = store ? fk_store_case_get (store, case_id, &error) : NULL;
  const FkService *svc = kase ? fk_catalog_lookup (fk_store_catalog (store), kase->service) : NULL;
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 16);
  GtkWidget *grp, *number, *row, *caption;
  g_autofree char *date = NULL;
  g_autofree char *fee = NULL;

  self->window = window;
  self->case_id = case_id;
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 760);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  if (kase == NULL || kase->receipt_no == NULL)
    {
      gtk_box_append (GTK_BOX (box), fk_ui_label (error ? error->message
                                                  : _("This case has no receipt yet: it is not sealed."), "fk-reason"));
      goto done;
    }
  self->outing_id = g_strdup (kase->outing_id);
  self->receipt_no = g_strdup (kase->receipt_no);

  caption = fk_ui_label (_("Receipt number"), "heading");
  gtk_label_set_xalign (GTK_LABEL (caption), 0.5f);
  gtk_box_append (GTK_BOX (box), caption);
  number = gtk_label_new (kase->receipt_no);
  gtk_label_set_wrap (GTK_LABEL (number), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (number), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (number, "fk-receipt-number");
  {
    g_autofree char *spoken = g_strdup_printf (_("Receipt number %s"), kase->receipt_no);

    fk_ui_name (number, spoken);
  }
  gtk_box_append (GTK_BOX (box), number);

  grp = adw_preferences_group_new ();
  {
    g_autoptr(GDateTime) sealed = g_date_time_new_from_unix_local (kase->sealed_at / G_USEC_PER_SEC);
    g_autofree char *iso = g_date_time_format (sealed, "%Y-%m-%d");
    g_autofree char *shown = fk_ui_format_date (iso);
    g_autofree char *time = g_date_time_format (sealed, "%H:%M");

    date = g_strdup_printf ("%s %s", shown, time);
  }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), fact_row (_("Service"),
                                                                    svc ? fk_service_name (svc) : kase->service));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), fact_row (_("Received"), date));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), fact_row (_("Time limit"),
                                                                    svc ? fk_service_time_limit (svc) : "—"));
  fee = svc && svc->fee > 0 ? g_strdup_printf (_("NT$%d"), svc->fee) : g_strdup (_("none"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), fact_row (_("Fee"), fee));
  gtk_box_append (GTK_BOX (box), grp);

  self->data = fk_receipt_data_new (store, case_id, NULL);
  grp = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (grp), _("What happens next"));
  if (self->data && self->data->next_zh)
    {
      GStrv lines = fk_lang_is_zh () ? self->data->next_zh : self->data->next_en;

      for (guint i = 0; lines && lines[i]; i++)
        adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), fk_ui_label (lines[i], NULL));
    }
  else
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp),
                               fk_ui_label (_("The case goes to the office at the next sync. The office processes it "
                                                  "within the time limit and tells the applicant when it is done. "
                                                  "Quote the receipt number when asking about it."), NULL));
  gtk_box_append (GTK_BOX (box), grp);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_set_halign (row, GTK_ALIGN_CENTER);
  self->pdf_button = fk_ui_button (_("Save PDF"), NULL);
  self->print_button = fk_ui_button (_("Print"), "suggested-action");
  gtk_box_append (GTK_BOX (row), self->pdf_button);
  gtk_box_append (GTK_BOX (row), self->print_button);
  gtk_box_append (GTK_BOX (box), row);
  if (self->data)
    {
      double h = fk_receipt_measure (self->data, FK_RECEIPT_SLIP_80MM, FK_RECEIPT_SLIP_WIDTH_PT);

      g_signal_connect (self->pdf_button, "clicked", G_CALLBACK (pdf_clicked_cb), self);
      g_signal_connect (self->print_button, "clicked", G_CALLBACK (print_clicked_cb), self);
      self->drawing = gtk_drawing_area_new ();
      gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->drawing), (int) (h * 1.5) + 8);
      gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->drawing), draw_receipt, self, NULL);
      gtk_widget_set_size_request (self->drawing, 300, -1);
      gtk_widget_set_halign (self->drawing, GTK_ALIGN_FILL);
      fk_ui_name (self->drawing, _("The receipt as printed, with its QR code"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->drawing), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                      kase->receipt_no, -1);
      gtk_box_append (GTK_BOX (box), self->drawing);
    }
  else
    {
      gtk_widget_set_sensitive (self->pdf_button, FALSE);
      gtk_widget_set_sensitive (self->print_button, FALSE);
    }

done:
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);
  return GTK_WIDGET (self);
}

const char *
fk_receipt_page_outing_id (FkReceiptPage *self)
{
  return self->outing_id;
}
