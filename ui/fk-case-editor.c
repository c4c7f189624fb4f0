/* fk-case-editor.c — a case form generated from the service catalog.
 *
 * Person fields and the service's own fields are validated as they are
 * typed (the reason is shown under the field and read out with it); the
 * draft saves itself about a second after the last keystroke, and on lock,
 * close and back.  A new case exists in the store from the moment its ID
 * number and name are valid; before that its values stay in this page. */
#include "ui/fk-pages.h"

#include "app/fk-date.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-camera.h"
#include "ui/fk-signature-pad.h"
#include "ui/fk-ui-util.h"

#define SAVE_DELAY_MS 1000

/* ---- types -------------------------------------------------------------------- */

typedef struct {
  char          *key;         /* person_id, name, birth_date or a service field */
  const FkField *field;       /* NULL for the person fields */
  GtkWidget     *widget;      /* GtkEntry or GtkDropDown */
  GtkWidget     *reason;
  gboolean       dirty;
} FieldView;

struct _FkCaseEditor
{
  GtkBox           parent_instance;

  FkWindow        *window;
  gint64           case_id;
  char            *outing_id;
  char            *service_id;
  const FkService *service;       /* owned by the store's catalog */
  char            *title;
  FkCaseStatus     status;
  gboolean         loading;
  guint            save_source;

  GPtrArray       *fields;        /* FieldView* */
  GPtrArray       *checks;        /* GtkCheckButton*, catalog order */
  GPtrArray       *pending_ticks; /* item ids ticked before the case exists */
  GBytes          *pending_photo;
  char            *pending_photo_mime;
  GBytes          *pending_signature;

  GtkWidget       *status_label;
  GtkWidget       *photo_picture;
  GtkWidget       *photo_label;
  GtkWidget       *signature;
  GtkWidget       *signature_label;
  GtkWidget       *problems_box;
  GtkWidget       *problems_title;
  GtkWidget       *check_button;
  GtkWidget       *approve_button;
  GtkWidget       *finalize_button;
  GtkNativeDialog *chooser;
  GtkWidget       *camera;        /* FkCameraDialog while open (weak) */
};

G_DEFINE_FINAL_TYPE (FkCaseEditor, fk_case_editor, GTK_TYPE_BOX)

typedef struct {
  gint64  case_id;
  char   *operator_id;
  char   *passphrase;
} ApproveJob;

/* ---- prototypes ---------------------------------------------------------------- */

static void update_actions (FkCaseEditor *self);
static gboolean save_now (FkCaseEditor *self, gboolean quiet);

/* ---- helpers ------------------------------------------------------------------ */

static void
field_view_free (gpointer p)
{
  FieldView *fv = p;

  g_free (fv->key);
  g_free (fv);
}

static void
approve_job_free (gpointer p)
{
  ApproveJob *job = p;

  g_free (job->operator_id);
  fk_wipe_free (job->passphrase);
  g_free (job);
}

static gboolean
approve_job_run (FkStore  *store,
                 gpointer  data,
                 GError  **error)
{
  ApproveJob *job = data;

  return fk_store_case_approve_as (store, job->case_id, job->operator_id, job->passphrase, error);
}

static char *
field_text (FieldView *fv)
{
  if (GTK_IS_DROP_DOWN (fv->widget))
    {
      guint pos = gtk_drop_down_get_selected (GTK_DROP_DOWN (fv->widget));

      if (pos == 0 || pos == GTK_INVALID_LIST_POSITION || fv->field == NULL || fv->field->choices == NULL)
        return g_strdup ("");
      return g_strdup (fv->field->choices[pos - 1]);
    }
  return g_strdup (gtk_editable_get_text (GTK_EDITABLE (fv->widget)));
}

static void
set_field_text (FieldView  *fv,
                const char *value)
{
  if (GTK_IS_DROP_DOWN (fv->widget))
    {
      guint pos = 0;

      for (guint i = 0; value && fv->field && fv->field->choices && fv->field->choices[i]; i++)
        if (g_str_equal (fv->field->choices[i], value))
          pos = i + 1;
      gtk_drop_down_set_selected (GTK_DROP_DOWN (fv->widget), pos);
    }
  else
    gtk_editable_set_text (GTK_EDITABLE (fv->widget), value ? value : "");
}

static void
show_field_reason (FieldView  *fv,
                   const char *text,
                   gboolean    ok)
{
  gtk_label_set_text (GTK_LABEL (fv->reason), text ? text : "");
  gtk_widget_set_visible (fv->reason, text != NULL && *text != '\0');
  if (ok)
    {
      gtk_widget_remove_css_class (fv->reason, "fk-reason");
      gtk_widget_add_css_class (fv->reason, "fk-ok");
    }
  else
    {
      gtk_widget_remove_css_class (fv->reason, "fk-ok");
      gtk_widget_add_css_class (fv->reason, "fk-reason");
    }
  if (GTK_IS_ENTRY (fv->widget))
    {
      if (text && *text && !ok)
        gtk_widget_add_css_class (fv->widget, "error");
      else
        gtk_widget_remove_css_class (fv->widget, "error");
    }
  gtk_accessible_update_state (GTK_ACCESSIBLE (fv->widget), GTK_ACCESSIBLE_STATE_INVALID,
                               text && *text && !ok ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE, -1);
}

/* Validates one field as typed.  Returns TRUE when the value may be stored
 * (*normalized gets it; "" for an empty optional field) and shows the
 * reason (or the understood value) under the field. */
static gboolean
validate_field (FkCaseEditor  *self,
                FieldView     *fv,
                char         **normalized)
{
  g_autofree char *text = field_text (fv);
  g_autoptr(GError) error = NULL;
  g_autofree char *norm = NULL;
  g_autofree char *note = NULL;
  gboolean ok = FALSE;
  const char *stripped;

  g_strstrip (text);
  stripped = text;
  if (g_str_equal (fv->key, "person_id"))
    {
      FkIdKind kind;

      if (*stripped == '\0')
        {
          show_field_reason (fv, NULL, FALSE);
          return FALSE;
        }
      ok = fk_person_id_check (stripped, &kind, &norm, &error);
      if (ok)
        note = fk_ui_id_note (kind, norm);
    }
  else if (g_str_equal (fv->key, "name"))
    {
      ok = *stripped != '\0' && g_utf8_strlen (stripped, -1) <= 100;
      if (ok)
        norm = g_strdup (stripped);
      else if (g_utf8_strlen (stripped, -1) > 100)
        note = g_strdup (_("The name is longer than 100 characters."));
    }
  else if (g_str_equal (fv->key, "birth_date"))
    {
      GDate d;

      if (*stripped == '\0')
        {
          show_field_reason (fv, NULL, FALSE);
          if (normalized)
            *normalized = g_strdup ("");
          return TRUE;
        }
      ok = fk_date_parse (stripped, &d, &error);
      if (ok)
        {
          g_autofree char *roc = fk_date_to_roc (&d);

          norm = fk_date_to_iso (&d);
          note = g_strdup_printf ("✓ %s (%s)", roc, norm);
        }
    }
  else
    {
      ok = fk_field_validate (fv->field, stripped, &norm, &error);
      if (ok && fv->field->type == FK_FIELD_DATE && norm && *norm)
        {
          g_autofree char *shown = fk_ui_format_date (norm);

          note = g_strdup_printf ("✓ %s", shown);
        }
    }

  if (!ok)
    show_field_reason (fv, error ? error->message : note, FALSE);
  else
    show_field_reason (fv, note, TRUE);
  if (ok && normalized)
    *normalized = norm ? g_steal_pointer (&norm) : g_strdup ("");
  return ok;
}

static FieldView *
find_field (FkCaseEditor *self,
            const char   *key)
{
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];

      if (g_str_equal (fv->key, key))
        return fv;
    }
  return NULL;
}

static void
set_status (FkCaseEditor *self,
            FkCaseStatus  status)
{
  g_autofree char *text = NULL;

  self->status = status;
  if (self->case_id > 0)
    text = g_strdup_printf (_("Case %" PRId64 " · %s"),
                            self->case_id, fk_case_status_label (status));
  else
    text = g_strdup (_("New case: saved as soon as the ID number and the name are valid"));
  gtk_label_set_text (GTK_LABEL (self->status_label), text);
  update_actions (self);
}

static void
update_actions (FkCaseEditor *self)
{
  gboolean exists = self->case_id > 0;
  gboolean editable = self->status < FK_CASE_SEALED;

  if (self->check_button == NULL)
    return;
  gtk_widget_set_sensitive (self->check_button, editable);
  gtk_widget_set_sensitive (self->approve_button, exists && self->status == FK_CASE_CHECKED && self->service->second_check);
  gtk_widget_set_sensitive (self->finalize_button,
                            exists && (self->status == FK_CASE_APPROVED ||
                                       (self->status == FK_CASE_CHECKED && !self->service->second_check)));
}

static void
schedule_save (FkCaseEditor *self);

static gboolean
save_timeout_cb (gpointer user_data)
{
  FkCaseEditor *self = user_data;

  self->save_source = 0;
  save_now (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (FkCaseEditor *self)
{
  g_clear_handle_id (&self->save_source, g_source_remove);
  self->save_source = g_timeout_add (SAVE_DELAY_MS, save_timeout_cb, self);
}

static gboolean
attach (FkCaseEditor  *self,
        const char    *kind,
        const char    *mime,
        GBytes        *data,
        GError       **error)
{
  return fk_store_case_attach (fk_window_store (self->window), self->case_id, kind, mime, data, error);
}

/* Creates the case once the ID number and name are valid. */
static gboolean
create_case (FkCaseEditor *self,
             gboolean      quiet)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GHashTable) extra = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, fk_wipe_free);
  g_autofree char *person_id = NULL, *name = NULL, *birth = NULL;
  g_autoptr(GError) error = NULL;
  FkCaseInput input = { 0 };
  gint64 id;

  if (store == NULL ||
      !validate_field (self, find_field (self, "person_id"), &person_id) ||
      !validate_field (self, find_field (self, "name"), &name))
    return FALSE;
  validate_field (self, find_field (self, "birth_date"), &birth);
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];
      char *norm = NULL;

      if (fv->field && validate_field (self, fv, &norm) && norm && *norm)
        g_hash_table_insert (extra, fv->key, norm);
      else
        g_free (norm);
    }
  input.outing_id = self->outing_id;
  input.service = self->service_id;
  input.person_id = person_id;
  input.name = name;
  input.birth_date = birth && *birth ? birth : NULL;
  input.fields = extra;
  input.photo = self->pending_photo;
  input.photo_mime = self->pending_photo_mime;
  input.signature = self->pending_signature;
  input.signature_mime = "image/png";
  id = fk_store_case_new (store, &input, &error);
  if (id == 0)
    {
      if (!quiet)
        fk_window_toast (self->window, error->message);
      return FALSE;
    }
  self->case_id = id;
  g_clear_pointer (&self->pending_photo, g_bytes_unref);
  g_clear_pointer (&self->pending_signature, g_bytes_unref);
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];

      fv->dirty = !(g_str_equal (fv->key, "person_id") || g_str_equal (fv->key, "name") ||
                    g_str_equal (fv->key, "birth_date") || g_hash_table_contains (extra, fv->key)) && fv->dirty;
    }
  if (self->pending_ticks->len > 0)
    {
      g_ptr_array_add (self->pending_ticks, NULL);
      fk_store_case_tick (store, id, (const char * const *) self->pending_ticks->pdata, FALSE, NULL);
      g_ptr_array_set_size (self->pending_ticks, 0);
    }
  set_status (self, FK_CASE_DRAFT);
  return TRUE;
}

/* Saves every changed field that is valid; returns whether anything was
 * saved.  Invalid values stay on screen with their reason. */
static gboolean
save_now (FkCaseEditor *self,
          gboolean      quiet)
{
  FkStore *store = fk_window_store (self->window);
  gboolean saved = FALSE;

  g_clear_handle_id (&self->save_source, g_source_remove);
  if (store == NULL || !fk_store_is_unlocked (store) || self->status >= FK_CASE_SEALED)
    return FALSE;
  if (self->case_id == 0)
    {
      saved = create_case (self, TRUE);
    }
  else
    {
      for (guint i = 0; i < self->fields->len; i++)
        {
          FieldView *fv = self->fields->pdata[i];
          g_autofree char *norm = NULL;
          g_autoptr(GError) error = NULL;

          if (!fv->dirty || !validate_field (self, fv, &norm))
            continue;
          if (fk_store_case_set_field (store, self->case_id, fv->key, *norm ? norm : NULL, &error))
            {
              fv->dirty = FALSE;
              saved = TRUE;
            }
          else
            show_field_reason (fv, error->message, FALSE);
          fk_wipe_free (g_steal_pointer (&norm));
        }
      if (saved)
        set_status (self, FK_CASE_DRAFT);
    }
  if (saved && !quiet)
    fk_window_toast (self->window, _("Saved"));
  return saved;
}

static void
show_problems (FkCaseEditor *self,
               GPtrArray    *problems,
               const char   *title)
{
  fk_ui_box_clear (self->problems_box);
  gtk_label_set_text (GTK_LABEL (self->problems_title), title);
  gtk_widget_set_visible (self->problems_title, TRUE);
  for (guint i = 0; problems && i < problems->len; i++)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), problems->pdata[i]);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
      fk_ui_name (row, problems->pdata[i]);
      gtk_list_box_append (GTK_LIST_BOX (self->problems_box), row);
    }
  gtk_widget_set_visible (self->problems_box, problems && problems->len > 0);
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
field_changed_cb (GObject      *widget,
                  GParamSpec   *pspec,
                  FkCaseEditor *self)
{
  FieldView *fv = g_object_get_data (widget, "fk-field");

  if (self->loading || fv == NULL)
    return;
  fv->dirty = TRUE;
  validate_field (self, fv, NULL);
  schedule_save (self);
}

static void
entry_changed_cb (GtkEditable  *editable,
                  FkCaseEditor *self)
{
  field_changed_cb (G_OBJECT (editable), NULL, self);
}

static void
check_toggled_cb (GtkCheckButton *check,
                  FkCaseEditor   *self)
{
  const char *item = g_object_get_data (G_OBJECT (check), "fk-item");
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GError) error = NULL;

  if (self->loading)
    return;
  if (!gtk_check_button_get_active (check))
    {
      /* A document once seen stays seen: the store keeps no "unseen". */
      self->loading = TRUE;
      gtk_check_button_set_active (check, TRUE);
      self->loading = FALSE;
      return;
    }
  if (self->case_id == 0)
    {
      g_ptr_array_add (self->pending_ticks, g_strdup (item));
      return;
    }
  {
    const char *items[] = { item, NULL };

    if (store && fk_store_case_tick (store, self->case_id, items, FALSE, &error))
      {
        set_status (self, FK_CASE_DRAFT);
        fk_window_toast (self->window, _("Saved"));
      }
    else if (error)
      fk_window_toast (self->window, error->message);
  }
}

static void
tick_all_clicked_cb (GtkButton    *button,
                     FkCaseEditor *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GError) error = NULL;

  if (self->case_id > 0)
    {
      if (store == NULL || !fk_store_case_tick (store, self->case_id, NULL, TRUE, &error))
        {
          if (error)
            fk_window_toast (self->window, error->message);
          return;
        }
      set_status (self, FK_CASE_DRAFT);
      fk_window_toast (self->window, _("Saved"));
    }
  self->loading = TRUE;
  for (guint i = 0; i < self->checks->len; i++)
    {
      GtkWidget *check = self->checks->pdata[i];

      if (self->case_id == 0 && !gtk_check_button_get_active (GTK_CHECK_BUTTON (check)))
        g_ptr_array_add (self->pending_ticks, g_strdup (g_object_get_data (G_OBJECT (check), "fk-item")));
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
    }
  self->loading = FALSE;
}

static void
check_clicked_cb (GtkButton    *button,
                  FkCaseEditor *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) from_store = NULL;
  g_autoptr(GError) error = NULL;

  if (store == NULL)
    return;
  save_now (self, TRUE);
  /* Values typed but refused are not in the store: name them first. */
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];

      if (!validate_field (self, fv, NULL) || (fv->dirty && self->case_id > 0))
        {
          const char *reason = gtk_label_get_text (GTK_LABEL (fv->reason));
          const char *label = fv->field ? fk_field_label (fv->field)
                              : g_str_equal (fv->key, "person_id") ? _("ID number")
                              : g_str_equal (fv->key, "name") ? _("Name") : _("Birth date");

          g_ptr_array_add (problems, g_strdup_printf ("%s: %s", label,
                                                      *reason ? reason : _("is missing")));
        }
    }
  if (self->case_id == 0)
    {
      show_problems (self, problems, _("What is missing"));
      return;
    }
  from_store = fk_store_case_problems (store, self->case_id, &error);
  for (guint i = 0; from_store && i < from_store->len; i++)
    g_ptr_array_add (problems, g_strdup (from_store->pdata[i]));
  if (problems->len > 0)
    {
      show_problems (self, problems, _("What is missing"));
      return;
    }
  if (!fk_store_case_check (store, self->case_id, &error))
    {
      fk_window_error (self->window, _("Self-check refused"), error);
      return;
    }
  show_problems (self, NULL, _("Self-check passed: nothing is missing."));
  set_status (self, FK_CASE_CHECKED);
  fk_window_toast (self->window, _("Self-check passed"));
}

static void
approve_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(FkCaseEditor) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!fk_window_run_job_finish (FK_WINDOW (source), result, &error))
    {
      if (gtk_widget_get_root (GTK_WIDGET (self)))
        fk_window_error (self->window, _("Second check not done"), error);
      return;
    }
  if (gtk_widget_get_root (GTK_WIDGET (self)) == NULL)
    return;
  set_status (self, FK_CASE_APPROVED);
  fk_window_toast (self->window, _("Second check done"));
}

static void
approve_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     FkCaseEditor     *self)
{
  GtkWidget *ops = g_object_get_data (G_OBJECT (dialog), "ops");
  GtkWidget *pass = g_object_get_data (G_OBJECT (dialog), "pass");
  GtkStringList *ids = g_object_get_data (G_OBJECT (dialog), "ids");
  guint pos = gtk_drop_down_get_selected (GTK_DROP_DOWN (ops));
  ApproveJob *job;

  if (g_strcmp0 (response, "approve") != 0 || pos == GTK_INVALID_LIST_POSITION)
    return;
  job = g_new0 (ApproveJob, 1);
  job->case_id = self->case_id;
  job->operator_id = g_strdup (gtk_string_list_get_string (ids, pos));
  job->passphrase = g_strdup (gtk_editable_get_text (GTK_EDITABLE (pass)));
  gtk_editable_set_text (GTK_EDITABLE (pass), "");
  fk_window_run_job (self->window, approve_job_run, job, approve_job_free, NULL, approve_done_cb, g_object_ref (self));
}

static void
approve_clicked_cb (GtkButton    *button,
                    FkCaseEditor *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) operators = store ? fk_store_operators (store, NULL) : NULL;
  GtkStringList *ids = gtk_string_list_new (NULL);
  GtkStringList *names = gtk_string_list_new (NULL);
  GtkWidget *dialog, *box, *ops, *pass, *lbl;

  for (guint i = 0; operators && i < operators->len; i++)
    {
      FkOperator *op = operators->pdata[i];
      g_autofree char *shown = g_strdup_printf ("%s (%s)", op->name ? op->name : op->id, op->id);

      if (g_strcmp0 (op->id, fk_store_operator (store)) == 0)
        continue;
      gtk_string_list_append (ids, op->id);
      gtk_string_list_append (names, shown);
    }
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  lbl = fk_ui_label (_("Second operator"), "heading");
  gtk_box_append (GTK_BOX (box), lbl);
  ops = gtk_drop_down_new (G_LIST_MODEL (names), NULL);
  fk_ui_name (ops, _("Second operator"));
  gtk_box_append (GTK_BOX (box), ops);
  lbl = fk_ui_label (_("Their passphrase"), "heading");
  gtk_box_append (GTK_BOX (box), lbl);
  /* A plain entry: GTK 4.8's GtkPasswordEntry can crash when its dialog
   * is destroyed while it has the focus (its caps-lock watch outlives it). */
  pass = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (pass), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (pass), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_activates_default (GTK_ENTRY (pass), TRUE);
  fk_ui_name (pass, _("Second operator's passphrase"));
  gtk_box_append (GTK_BOX (box), pass);
  if (g_list_model_get_n_items (G_LIST_MODEL (ids)) == 0)
    gtk_box_append (GTK_BOX (box), fk_ui_label (_("No other operator on this device. Add one with fieldkit-cli operator add."),
                                                "fk-reason"));
  dialog = fk_ui_ask (GTK_WINDOW (self->window), _("Second check"),
                      _("A second operator re-checks the case and confirms with their own passphrase. "
                        "Your session stays open."),
                      box, "approve", _("Approve"));
  g_object_set_data (G_OBJECT (dialog), "ops", ops);
  g_object_set_data (G_OBJECT (dialog), "pass", pass);
  g_object_set_data_full (G_OBJECT (dialog), "ids", ids, g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (approve_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (pass);
}

static void
finalize_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      FkCaseEditor     *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GError) error = NULL;
  g_autofree char *receipt = NULL;

  if (g_strcmp0 (response, "seal") != 0 || store == NULL)
    return;
  if (!fk_store_case_finalize (store, self->case_id, &receipt, &error))
    {
      fk_window_error (self->window, _("The case was not sealed"), error);
      return;
    }
  fk_window_toast (self->window, _("Sealed"));
  fk_window_show_receipt (self->window, self->case_id);
}

static void
finalize_clicked_cb (GtkButton    *button,
                     FkCaseEditor *self)
{
  GtkWidget *dialog;

  save_now (self, TRUE);
  dialog = fk_ui_ask (GTK_WINDOW (self->window), _("Seal this case?"),
                      _("A sealed case cannot be changed on this device and gets its receipt number. "
                        "Corrections go through the office."),
                      NULL, "seal", _("Seal and give receipt"));
  g_signal_connect_object (dialog, "response", G_CALLBACK (finalize_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
store_attachment (FkCaseEditor *self,
                  const char   *kind,
                  const char   *mime,
                  GBytes       *data,
                  GtkWidget    *label)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (self->case_id == 0)
    {
      if (g_str_equal (kind, "photo"))
        {
          g_clear_pointer (&self->pending_photo, g_bytes_unref);
          self->pending_photo = g_bytes_ref (data);
          g_free (self->pending_photo_mime);
          self->pending_photo_mime = g_strdup (mime);
        }
      else
        {
          g_clear_pointer (&self->pending_signature, g_bytes_unref);
          self->pending_signature = g_bytes_ref (data);
        }
      text = g_strdup_printf (_("Kept with the case when it is first saved (%zu KB)."), g_bytes_get_size (data) / 1024 + 1);
      gtk_label_set_text (GTK_LABEL (label), text);
      save_now (self, FALSE);
      return;
    }
  if (!attach (self, kind, mime, data, &error))
    {
      gtk_label_set_text (GTK_LABEL (label), error->message);
      return;
    }
  text = g_strdup_printf (_("Saved with the case (%zu KB)."),
                          g_bytes_get_size (data) / 1024 + 1);
  gtk_label_set_text (GTK_LABEL (label), text);
  fk_window_toast (self->window, _("Saved"));
}

/* A photo from a file or from the camera: the same path for both. */
static void
use_photo (FkCaseEditor *self,
           GBytes       *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *type = NULL;
  g_autofree char *mime = NULL;
  gsize len = g_bytes_get_size (bytes);

  texture = gdk_texture_new_from_bytes (bytes, &error);
  if (texture == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->photo_label),
                          _("That file is not a picture FieldKit can read (use JPEG or PNG)."));
      return;
    }
  gtk_picture_set_paintable (GTK_PICTURE (self->photo_picture), GDK_PAINTABLE (texture));
  gtk_widget_set_visible (self->photo_picture, TRUE);
  type = g_content_type_guess (NULL, g_bytes_get_data (bytes, NULL), MIN (len, 4096), NULL);
  mime = g_content_type_get_mime_type (type);
  store_attachment (self, "photo", mime ? mime : "image/jpeg", bytes, self->photo_label);
}

static void
photo_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(FkCaseEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &len, NULL, &error))
    {
      if (gtk_widget_get_root (GTK_WIDGET (self)))
        gtk_label_set_text (GTK_LABEL (self->photo_label), error->message);
      return;
    }
  if (gtk_widget_get_root (GTK_WIDGET (self)) == NULL)
    return;
  bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
  use_photo (self, bytes);
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     FkCaseEditor    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      g_file_load_contents_async (file, NULL, photo_loaded_cb, g_object_ref (self));
    }
  g_clear_object (&self->chooser);
}

static void
photo_clicked_cb (GtkButton    *button,
                  FkCaseEditor *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Pictures"));
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_mime_type (filter, "image/png");
  chooser = gtk_file_chooser_native_new (_("Choose the photo"), GTK_WINDOW (self->window),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Use"),
                                         _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
camera_captured_cb (FkCameraDialog *dialog,
                    GBytes         *png,
                    FkCaseEditor   *self)
{
  if (gtk_widget_get_root (GTK_WIDGET (self)) == NULL)
    return;
  use_photo (self, png);
}

static void
camera_clicked_cb (GtkButton    *button,
                   FkCaseEditor *self)
{
  FkCameraDialog *dialog;

  if (self->camera)
    return;
  dialog = fk_camera_dialog_new (GTK_WINDOW (self->window), _("Photo of the applicant"));
  g_signal_connect_object (dialog, "captured", G_CALLBACK (camera_captured_cb), self, 0);
  self->camera = GTK_WIDGET (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->camera);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
signature_clear_cb (GtkButton    *button,
                    FkCaseEditor *self)
{
  fk_signature_pad_clear (FK_SIGNATURE_PAD (self->signature));
  gtk_label_set_text (GTK_LABEL (self->signature_label), "");
}

static void
signature_save_cb (GtkButton    *button,
                   FkCaseEditor *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = fk_signature_pad_to_png (FK_SIGNATURE_PAD (self->signature), &error);

  if (png == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->signature_label),
                          error ? error->message : _("Sign in the box first."));
      return;
    }
  store_attachment (self, "signature", "image/png", png, self->signature_label);
}

static gboolean
focus_first_idle_cb (gpointer user_data)
{
  FkCaseEditor *self = user_data;
  FieldView *fv = find_field (self, "person_id");

  if (fv && gtk_widget_get_mapped (fv->widget))
    gtk_widget_grab_focus (fv->widget);
  return G_SOURCE_REMOVE;
}

static void
focus_first_cb (GtkWidget    *widget,
                FkCaseEditor *self)
{
  g_signal_handlers_disconnect_by_func (widget, focus_first_cb, self);
  /* After the stack has finished showing the page. */
  g_idle_add_full (G_PRIORITY_LOW, focus_first_idle_cb, g_object_ref (self), g_object_unref);
}

/* ---- construction -------------------------------------------------------------- */

static GtkWidget *
group (GtkWidget  *parent,
       const char *title,
       const char *description)
{
  GtkWidget *g = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (g), title);
  if (description)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (g), description);
  gtk_box_append (GTK_BOX (parent), g);
  return g;
}

static FieldView *
add_field (FkCaseEditor  *self,
           GtkWidget     *grp,
           const char    *key,
           const FkField *field,
           const char    *caption,
           const char    *hint)
{
  FieldView *fv = g_new0 (FieldView, 1);
  GtkWidget *col;
  g_autofree char *shown = NULL;

  fv->key = g_strdup (key);
  fv->field = field;
  shown = field && !field->required ? g_strdup_printf (_("%s (optional)"), caption) : g_strdup (caption);
  if (field && field->type == FK_FIELD_CHOICE && field->choices)
    {
      GtkStringList *choices = gtk_string_list_new (NULL);
      GtkWidget *cap = fk_ui_label (shown, "heading");

      gtk_string_list_append (choices, "—");
      for (guint i = 0; field->choices[i]; i++)
        gtk_string_list_append (choices, fk_field_choice_label (field, field->choices[i]));
      col = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
      fv->widget = gtk_drop_down_new (G_LIST_MODEL (choices), NULL);
      fv->reason = fk_ui_label ("", "fk-reason");
      gtk_widget_set_visible (fv->reason, FALSE);
      fk_ui_name (fv->widget, shown);
      fk_ui_describe (fv->widget, fv->reason);
      gtk_box_append (GTK_BOX (col), cap);
      gtk_box_append (GTK_BOX (col), fv->widget);
      gtk_box_append (GTK_BOX (col), fv->reason);
      g_signal_connect (fv->widget, "notify::selected", G_CALLBACK (field_changed_cb), self);
    }
  else
    {
      fv->widget = fk_ui_entry (shown, &col, &fv->reason);
      if (hint)
        gtk_entry_set_placeholder_text (GTK_ENTRY (fv->widget), hint);
      if (field && field->type == FK_FIELD_PHONE)
        gtk_entry_set_input_purpose (GTK_ENTRY (fv->widget), GTK_INPUT_PURPOSE_PHONE);
      g_signal_connect (fv->widget, "changed", G_CALLBACK (entry_changed_cb), self);
    }
  g_object_set_data (G_OBJECT (fv->widget), "fk-field", fv);
  gtk_widget_set_margin_bottom (col, 6);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), col);
  g_ptr_array_add (self->fields, fv);
  return fv;
}

static void
build (FkCaseEditor *self,
       const FkCase *kase,
       GHashTable   *pending)
{
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *grp, *row, *btn, *list;
  g_autofree char *fee = NULL;
  g_autofree char *limit = NULL;

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 760);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  self->status_label = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (box), self->status_label);
  fee = self->service->fee > 0
        ? g_strdup_printf (_("Fee: NT$%d"), self->service->fee)
        : g_strdup (_("Fee: none"));
  limit = g_strdup_printf (_("Time limit: %s"), fk_service_time_limit (self->service));
  {
    g_autofree char *both = g_strdup_printf ("%s · %s", fee, limit);

    gtk_box_append (GTK_BOX (box), fk_ui_label (both, "heading"));
  }

  grp = group (box, _("Applicant"), NULL);
  add_field (self, grp, "person_id", NULL, _("ID number"), "A123456789");
  add_field (self, grp, "name", NULL, _("Name"), NULL);
  add_field (self, grp, "birth_date", NULL, _("Birth date"),
             _("1950-03-04 or 39/03/04"));

  if (self->service->fields->len > 0)
    {
      grp = group (box, fk_service_name (self->service), NULL);
      for (guint i = 0; i < self->service->fields->len; i++)
        {
          const FkField *f = self->service->fields->pdata[i];

          add_field (self, grp, f->key, f, fk_field_label (f), NULL);
        }
    }

  grp = group (box, _("Documents seen (一次告知單)"),
               _("Tick each document as you see it."));
  for (guint i = 0; i < self->service->checklist->len; i++)
    {
      const FkChecklistItem *item = self->service->checklist->pdata[i];
      g_autofree char *title = item->required ? g_strdup (fk_checklist_item_label (item))
                               : g_strdup_printf (_("%s (when it applies)"), fk_checklist_item_label (item));
      GtkWidget *check = gtk_check_button_new ();

      row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      fk_ui_name (check, title);
      g_object_set_data_full (G_OBJECT (check), "fk-item", g_strdup (item->id), g_free);
      g_signal_connect (check, "toggled", G_CALLBACK (check_toggled_cb), self);
      g_ptr_array_add (self->checks, check);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), row);
    }

  btn = fk_ui_button (_("Every document seen"), NULL);
  gtk_widget_set_halign (btn, GTK_ALIGN_START);
  gtk_widget_set_margin_top (btn, 6);
  g_signal_connect (btn, "clicked", G_CALLBACK (tick_all_clicked_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), btn);

  grp = group (box, _("Photo"), NULL);
  row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  {
    /* One above the other: side by side they would not fit a 360 px phone. */
    GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);

    btn = fk_ui_button (_("Choose photo…"), NULL);
    g_signal_connect (btn, "clicked", G_CALLBACK (photo_clicked_cb), self);
    gtk_box_append (GTK_BOX (buttons), btn);
    btn = fk_ui_button (_("Take photo with camera…"), NULL);
    g_signal_connect (btn, "clicked", G_CALLBACK (camera_clicked_cb), self);
    fk_camera_setup_button (btn);
    gtk_box_append (GTK_BOX (buttons), btn);
    gtk_widget_set_halign (buttons, GTK_ALIGN_START);
    gtk_box_append (GTK_BOX (row), buttons);
  }
  self->photo_picture = gtk_picture_new ();
  gtk_widget_set_size_request (self->photo_picture, 160, 200);
  gtk_widget_set_halign (self->photo_picture, GTK_ALIGN_START);
  gtk_widget_set_visible (self->photo_picture, FALSE);
  fk_ui_name (self->photo_picture, _("Photo of the applicant"));
  gtk_box_append (GTK_BOX (row), self->photo_picture);
  self->photo_label = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (row), self->photo_label);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), row);

  grp = group (box, _("Signature"),
               _("Let the applicant read the case back, then sign with a finger or pen."));
  row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->signature = fk_signature_pad_new ();
  fk_ui_name (self->signature, _("Signature pad: sign with a finger, pen or mouse"));
  gtk_box_append (GTK_BOX (row), self->signature);
  {
    GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);

    btn = fk_ui_button (_("Clear"), NULL);
    g_signal_connect (btn, "clicked", G_CALLBACK (signature_clear_cb), self);
    gtk_box_append (GTK_BOX (buttons), btn);
    btn = fk_ui_button (_("Keep signature"), NULL);
    g_signal_connect (btn, "clicked", G_CALLBACK (signature_save_cb), self);
    gtk_box_append (GTK_BOX (buttons), btn);
    gtk_box_append (GTK_BOX (row), buttons);
  }
  self->signature_label = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (row), self->signature_label);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (grp), row);

  /* Checks and sealing. */
  self->problems_title = fk_ui_label ("", "heading");
  gtk_widget_set_visible (self->problems_title, FALSE);
  gtk_box_append (GTK_BOX (box), self->problems_title);
  list = gtk_list_box_new ();
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  fk_ui_name (list, _("What is missing"));
  gtk_widget_set_visible (list, FALSE);
  self->problems_box = list;
  gtk_box_append (GTK_BOX (box), list);

  row = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (row), GTK_SELECTION_NONE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (row), 3);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (row), 8);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (row), 8);
  self->check_button = fk_ui_button (_("Self-check"), NULL);
  g_signal_connect (self->check_button, "clicked", G_CALLBACK (check_clicked_cb), self);
  gtk_flow_box_append (GTK_FLOW_BOX (row), self->check_button);
  self->approve_button = fk_ui_button (_("Second check…"), NULL);
  g_signal_connect (self->approve_button, "clicked", G_CALLBACK (approve_clicked_cb), self);
  gtk_flow_box_append (GTK_FLOW_BOX (row), self->approve_button);
  self->finalize_button = fk_ui_button (_("Seal and give receipt"), "suggested-action");
  g_signal_connect (self->finalize_button, "clicked", G_CALLBACK (finalize_clicked_cb), self);
  gtk_flow_box_append (GTK_FLOW_BOX (row), self->finalize_button);
  for (GtkWidget *c = gtk_widget_get_first_child (row); c; c = gtk_widget_get_next_sibling (c))
    gtk_widget_set_focusable (c, FALSE);
  gtk_box_append (GTK_BOX (box), row);

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);

  /* Fill in what is known. */
  self->loading = TRUE;
  if (kase)
    {
      set_field_text (find_field (self, "person_id"), kase->person_id);
      set_field_text (find_field (self, "name"), kase->name);
      set_field_text (find_field (self, "birth_date"), kase->birth_date);
      for (guint i = 0; i < self->service->fields->len; i++)
        {
          const FkField *f = self->service->fields->pdata[i];

          set_field_text (find_field (self, f->key), g_hash_table_lookup (kase->fields, f->key));
        }
      for (guint i = 0; i < self->checks->len; i++)
        {
          GtkWidget *check = self->checks->pdata[i];

          gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                       kase->ticked && g_strv_contains ((const char * const *) kase->ticked,
                                                                        g_object_get_data (G_OBJECT (check), "fk-item")));
        }
      for (guint i = 0; kase->attachments && i < kase->attachments->len; i++)
        {
          FkAttachmentInfo *a = kase->attachments->pdata[i];
          g_autofree char *text = g_strdup_printf (_("Saved with the case (%zu KB)."),
                                                   a->size / 1024 + 1);

          gtk_label_set_text (GTK_LABEL (g_str_equal (a->kind, "photo") ? self->photo_label : self->signature_label), text);
        }
    }
  if (pending)
    {
      for (guint i = 0; i < self->fields->len; i++)
        {
          FieldView *fv = self->fields->pdata[i];
          const char *v = g_hash_table_lookup (pending, fv->key);

          if (v)
            {
              set_field_text (fv, v);
              fv->dirty = TRUE;
            }
        }
    }
  self->loading = FALSE;
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];
      g_autofree char *text = field_text (fv);

      if (*text)
        validate_field (self, fv, NULL);
    }
  set_status (self, kase ? kase->status : FK_CASE_DRAFT);
  gtk_widget_set_sensitive (box, self->status < FK_CASE_SEALED);
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_case_editor_dispose (GObject *object)
{
  FkCaseEditor *self = FK_CASE_EDITOR (object);

  g_clear_handle_id (&self->save_source, g_source_remove);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  /* The camera goes with the page (lock, back): its pipeline stops. */
  if (self->camera)
    {
      GtkWidget *camera = self->camera;

      g_object_remove_weak_pointer (G_OBJECT (camera), (gpointer *) &self->camera);
      self->camera = NULL;
      gtk_window_destroy (GTK_WINDOW (camera));
    }
  G_OBJECT_CLASS (fk_case_editor_parent_class)->dispose (object);
}

static void
fk_case_editor_finalize (GObject *object)
{
  FkCaseEditor *self = FK_CASE_EDITOR (object);

  g_free (self->outing_id);
  g_free (self->service_id);
  g_free (self->title);
  g_free (self->pending_photo_mime);
  g_clear_pointer (&self->fields, g_ptr_array_unref);
  g_clear_pointer (&self->checks, g_ptr_array_unref);
  g_clear_pointer (&self->pending_ticks, g_ptr_array_unref);
  g_clear_pointer (&self->pending_photo, g_bytes_unref);
  g_clear_pointer (&self->pending_signature, g_bytes_unref);
  G_OBJECT_CLASS (fk_case_editor_parent_class)->finalize (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_case_editor_class_init (FkCaseEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fk_case_editor_dispose;
  object_class->finalize = fk_case_editor_finalize;
}

static void
fk_case_editor_init (FkCaseEditor *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->fields = g_ptr_array_new_with_free_func (field_view_free);
  self->checks = g_ptr_array_new ();
  self->pending_ticks = g_ptr_array_new_with_free_func (g_free);
}

/* ---- public API ---------------------------------------------------------------- */

static FkCaseEditor *
editor_new (FkWindow   *window,
            const char *outing_id,
            const char *service)
{
  FkCaseEditor *self = g_object_new (FK_TYPE_CASE_EDITOR, NULL);
  FkStore *store = fk_window_store (window);

  self->window = window;
  self->outing_id = g_strdup (outing_id);
  self->service_id = g_strdup (service);
  self->service = store ? fk_catalog_lookup (fk_store_catalog (store), service) : NULL;
  self->title = g_strdup (self->service ? fk_service_name (self->service) : service);
  return self;
}

GtkWidget *
fk_case_editor_new (FkWindow *window,
                    gint64    case_id)
{
  FkStore *store = fk_window_store (window);
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCase) kase = store ? fk_store_case_get (store, case_id, &error) : NULL;
  FkCaseEditor *self;

  if (kase == NULL || kase->damaged)
    {
      GtkWidget *status = adw_status_page_new ();

      adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "dialog-error-symbolic");
      adw_status_page_set_title (ADW_STATUS_PAGE (status), _("This case cannot be opened"));
      adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                       kase ? kase->damaged : error ? error->message : NULL);
      self = editor_new (window, NULL, "");
      gtk_widget_set_vexpand (status, TRUE);
      gtk_box_append (GTK_BOX (self), status);
      return GTK_WIDGET (self);
    }
  self = editor_new (window, kase->outing_id, kase->service);
  self->case_id = kase->id;
  if (self->service)
    build (self, kase, NULL);
  return GTK_WIDGET (self);
}

GtkWidget *
fk_case_editor_new_draft (FkWindow   *window,
                          const char *outing_id,
                          const char *service,
                          GHashTable *pending)
{
  FkCaseEditor *self = editor_new (window, outing_id, service);

  if (self->service)
    {
      build (self, NULL, pending);
      /* A new case starts at its first field. */
      g_signal_connect (self, "map", G_CALLBACK (focus_first_cb), self);
    }
  return GTK_WIDGET (self);
}

void
fk_case_editor_flush (FkCaseEditor *self)
{
  g_return_if_fail (FK_IS_CASE_EDITOR (self));
  if (self->service == NULL)
    return;
  if (self->save_source != 0 || self->case_id == 0)
    save_now (self, TRUE);
  else
    {
      gboolean dirty = FALSE;

      for (guint i = 0; i < self->fields->len; i++)
        dirty |= ((FieldView *) self->fields->pdata[i])->dirty;
      if (dirty)
        save_now (self, TRUE);
    }
}

gint64
fk_case_editor_case_id (FkCaseEditor *self)
{
  return self->case_id;
}

const char *
fk_case_editor_outing_id (FkCaseEditor *self)
{
  return self->outing_id;
}

GHashTable *
fk_case_editor_take_unsaved (FkCaseEditor *self)
{
  GHashTable *out;

  if (self->case_id != 0 || self->service == NULL)
    return NULL;
  out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fk_wipe_free);
  for (guint i = 0; i < self->fields->len; i++)
    {
      FieldView *fv = self->fields->pdata[i];
      char *text = field_text (fv);

      if (*text)
        g_hash_table_insert (out, g_strdup (fv->key), text);
      else
        g_free (text);
    }
  if (g_hash_table_size (out) == 0)
    {
      g_hash_table_unref (out);
      return NULL;
    }
  g_hash_table_insert (out, g_strdup ("_service"), g_strdup (self->service_id));
  g_hash_table_insert (out, g_strdup ("_outing"), g_strdup (self->outing_id));
  return out;
}

const char *
fk_case_editor_title (FkCaseEditor *self)
{
  return self->title;
}
