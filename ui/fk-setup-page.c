/* fk-setup-page.c — first run: the first operator, the recovery key shown
 * once, and enrolment with the office (or later). */
#include "ui/fk-pages.h"

#include <string.h>

#include "crypto/fk-i18n.h"
#include "sync/fk-sync.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkSetupPage
{
  GtkBox     parent_instance;

  FkWindow  *window;          /* not owned: the window owns the page */
  FkSecret  *passphrase;
  GtkStack  *steps;

  GtkWidget *op_id, *op_id_reason;
  GtkWidget *op_name, *op_name_reason;
  GtkWidget *pass1, *pass2, *pass_reason;
  GtkWidget *strength, *strength_label;
  GtkWidget *office_code, *device_number;
  GtkWidget *create_button, *create_spinner, *create_error;

  GtkWidget *recovery_label, *written_check, *recovery_next;

  GtkWidget *url, *code, *fingerprint;
  GtkWidget *enrol_button, *skip_button, *enrol_spinner, *enrol_error;
};

G_DEFINE_FINAL_TYPE (FkSetupPage, fk_setup_page, GTK_TYPE_BOX)

typedef struct {
  char *operator_id;
  char *name;
  char *passphrase;
  char *office_code;
  guint device_number;
  char *recovery_key;
} InitJob;

typedef struct {
  char *url;
  char *code;
  char *fingerprint;
} EnrolJob;

/* ---- helpers ------------------------------------------------------------------ */

static void
init_job_free (gpointer p)
{
  InitJob *job = p;

  g_free (job->operator_id);
  fk_wipe_free (job->name);
  fk_wipe_free (job->passphrase);
  g_free (job->office_code);
  fk_wipe_free (job->recovery_key);
  g_free (job);
}

static void
enrol_job_free (gpointer p)
{
  EnrolJob *job = p;

  g_free (job->url);
  fk_wipe_free (job->code);
  g_free (job->fingerprint);
  g_free (job);
}

static gboolean
init_job_run (FkStore  *store,
              gpointer  data,
              GError  **error)
{
  InitJob *job = data;

  return fk_store_init_device (store, job->operator_id, job->name, job->passphrase,
                               job->office_code, job->device_number, &job->recovery_key, error);
}

static gboolean
enrol_job_run (FkStore  *store,
               gpointer  data,
               GError  **error)
{
  EnrolJob *job = data;

  return fk_sync_enroll (store, job->url, job->code, job->fingerprint, NULL, error);
}

static GtkWidget *
step_box (const char *title,
          const char *text)
{
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *heading = fk_ui_label (title, "title-1");

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 560);
  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 16);
  gtk_widget_set_margin_end (box, 16);
  gtk_accessible_update_property (GTK_ACCESSIBLE (heading), GTK_ACCESSIBLE_PROPERTY_LEVEL, 1, -1);
  gtk_box_append (GTK_BOX (box), heading);
  if (text)
    gtk_box_append (GTK_BOX (box), fk_ui_label (text, NULL));
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  g_object_set_data (G_OBJECT (scroll), "fk-box", box);
  return scroll;
}

static GtkWidget *
box_of (GtkWidget *step)
{
  return g_object_get_data (G_OBJECT (step), "fk-box");
}

static void
show_reason (GtkWidget  *label,
             const char *text)
{
  gtk_label_set_text (GTK_LABEL (label), text ? text : "");
  gtk_widget_set_visible (label, text != NULL && *text != '\0');
}

static gboolean
valid_id (const char *id)
{
  gsize len = strlen (id);

  if (len < 1 || len > 32)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (id[i]) || g_ascii_isdigit (id[i]) || strchr ("._-", id[i])))
      return FALSE;
  return TRUE;
}

/* Everything the form can say before the store is asked. */
static gboolean
validate_form (FkSetupPage *self,
               gboolean     show)
{
  const char *id = gtk_editable_get_text (GTK_EDITABLE (self->op_id));
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->op_name));
  const char *p1 = gtk_editable_get_text (GTK_EDITABLE (self->pass1));
  const char *p2 = gtk_editable_get_text (GTK_EDITABLE (self->pass2));
  gboolean ok = TRUE;
  const char *why;

  why = (*id && !valid_id (id)) || (show && !*id)
          ? _("Use 1–32 lower-case letters, digits, '.', '_' or '-' (for example chen.mei).")
          : NULL;
  show_reason (self->op_id_reason, why);
  ok &= *id && valid_id (id);

  why = show && strspn (name, " ") == strlen (name)
          ? _("Give the name shown on the staff card.") : NULL;
  show_reason (self->op_name_reason, why);
  ok &= strspn (name, " ") != strlen (name);

  why = NULL;
  if ((*p1 || show) && g_utf8_strlen (p1, -1) < 8)
    why = _("The passphrase needs at least 8 characters.");
  else if (*p2 && strcmp (p1, p2) != 0)
    why = _("The two passphrases differ.");
  else if (show && !*p2)
    why = _("Type the passphrase a second time.");
  show_reason (self->pass_reason, why);
  ok &= g_utf8_strlen (p1, -1) >= 8 && strcmp (p1, p2) == 0;
  return ok;
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
form_changed_cb (GtkEditable *editable,
                 FkSetupPage *self)
{
  const char *p1 = gtk_editable_get_text (GTK_EDITABLE (self->pass1));
  int score = fk_ui_passphrase_strength (p1);

  gtk_level_bar_set_value (GTK_LEVEL_BAR (self->strength), score);
  gtk_label_set_text (GTK_LABEL (self->strength_label), *p1 ? fk_ui_strength_label (score) : "");
  fk_ui_name (self->strength, fk_ui_strength_label (score));
  validate_form (self, FALSE);
}

static void
init_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(FkSetupPage) self = user_data;
  g_autoptr(GError) error = NULL;
  InitJob *job = g_object_get_data (G_OBJECT (self), "fk-init-job");
  g_autofree char *text = NULL;

  gtk_spinner_stop (GTK_SPINNER (self->create_spinner));
  gtk_widget_set_visible (self->create_spinner, FALSE);
  gtk_widget_set_sensitive (self->create_button, TRUE);
  if (!fk_window_run_job_finish (FK_WINDOW (source), result, &error))
    {
      show_reason (self->create_error, error->message);
      return;
    }
  g_clear_pointer (&self->passphrase, fk_secret_free);
  self->passphrase = fk_ui_secret_new (job->passphrase);
  gtk_label_set_text (GTK_LABEL (self->recovery_label), job->recovery_key);
  text = g_strdup_printf (_("Recovery key: %s"), job->recovery_key);
  fk_ui_name (self->recovery_label, text);
  gtk_editable_set_text (GTK_EDITABLE (self->pass1), "");
  gtk_editable_set_text (GTK_EDITABLE (self->pass2), "");
  g_object_set_data (G_OBJECT (self), "fk-init-job", NULL);
  gtk_stack_set_visible_child_name (self->steps, "recovery");
  gtk_widget_grab_focus (self->written_check);
}

static void
create_clicked_cb (GtkButton   *button,
                   FkSetupPage *self)
{
  InitJob *job;

  if (!validate_form (self, TRUE))
    return;
  job = g_new0 (InitJob, 1);
  job->operator_id = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->op_id)));
  job->name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->op_name))));
  job->passphrase = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->pass1)));
  job->office_code = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->office_code))));
  job->device_number = (guint) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->device_number));
  /* The page keeps the job so the callback can read the recovery key. */
  g_object_set_data_full (G_OBJECT (self), "fk-init-job", job, init_job_free);

  show_reason (self->create_error, NULL);
  gtk_widget_set_sensitive (self->create_button, FALSE);
  gtk_widget_set_visible (self->create_spinner, TRUE);
  gtk_spinner_start (GTK_SPINNER (self->create_spinner));
  fk_window_run_job (self->window, init_job_run, job, NULL, NULL, init_done_cb, g_object_ref (self));
}

static void
written_toggled_cb (GtkCheckButton *check,
                    FkSetupPage    *self)
{
  gtk_widget_set_sensitive (self->recovery_next, gtk_check_button_get_active (check));
}

static void
recovery_next_cb (GtkButton   *button,
                  FkSetupPage *self)
{
  /* The key is shown once: it leaves the screen for good now. */
  gtk_label_set_text (GTK_LABEL (self->recovery_label), "");
  fk_ui_name (self->recovery_label, _("Recovery key (hidden)"));
  gtk_stack_set_visible_child_name (self->steps, "enrol");
  gtk_widget_grab_focus (self->url);
}

static void
finish (FkSetupPage *self)
{
  g_autoptr(FkSecret) pass = g_steal_pointer (&self->passphrase);

  fk_window_signed_in (self->window, fk_ui_secret_text (pass));
}

static void
enrol_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(FkSetupPage) self = user_data;
  g_autoptr(GError) error = NULL;

  gtk_spinner_stop (GTK_SPINNER (self->enrol_spinner));
  gtk_widget_set_visible (self->enrol_spinner, FALSE);
  gtk_widget_set_sensitive (self->enrol_button, TRUE);
  gtk_widget_set_sensitive (self->skip_button, TRUE);
  if (!fk_window_run_job_finish (FK_WINDOW (source), result, &error))
    {
      show_reason (self->enrol_error, error->message);
      return;
    }
  g_settings_set_string (fk_window_settings (self->window), "office-url",
                         gtk_editable_get_text (GTK_EDITABLE (self->url)));
  fk_window_toast (self->window, _("Enrolled with the office"));
  finish (self);
}

static void
enrol_clicked_cb (GtkButton   *button,
                  FkSetupPage *self)
{
  EnrolJob *job;
  const char *url = gtk_editable_get_text (GTK_EDITABLE (self->url));
  const char *code = gtk_editable_get_text (GTK_EDITABLE (self->code));
  const char *fp = gtk_editable_get_text (GTK_EDITABLE (self->fingerprint));

  if (!*url || !*code || !*fp)
    {
      show_reason (self->enrol_error, _("Type the office address, the invite code and the fingerprint from the invite."));
      return;
    }
  job = g_new0 (EnrolJob, 1);
  job->url = g_strstrip (g_strdup (url));
  job->code = g_strstrip (g_strdup (code));
  job->fingerprint = g_strstrip (g_strdup (fp));
  show_reason (self->enrol_error, NULL);
  gtk_widget_set_sensitive (self->enrol_button, FALSE);
  gtk_widget_set_sensitive (self->skip_button, FALSE);
  gtk_widget_set_visible (self->enrol_spinner, TRUE);
  gtk_spinner_start (GTK_SPINNER (self->enrol_spinner));
  fk_window_run_job (self->window, enrol_job_run, job, enrol_job_free, NULL, enrol_done_cb, g_object_ref (self));
}

static void
skip_clicked_cb (GtkButton   *button,
                 FkSetupPage *self)
{
  finish (self);
}

/* ---- construction -------------------------------------------------------------- */

static GtkWidget *
build_operator_step (FkSetupPage *self)
{
  GtkWidget *step = step_box (_("Set up this device"),
                              _("FieldKit keeps every personal detail encrypted on this device. "
                                    "Create the first operator: the one who signs in on this device and may "
                                    "add the others."));
  GtkWidget *box = box_of (step), *col, *row, *expander, *inner, *lbl;

  self->op_id = fk_ui_entry (_("Operator id"), &col, &self->op_id_reason);
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->op_id), "chen.mei");
  gtk_entry_set_input_purpose (GTK_ENTRY (self->op_id), GTK_INPUT_PURPOSE_FREE_FORM);
  gtk_box_append (GTK_BOX (box), col);
  self->op_name = fk_ui_entry (_("Name"), &col, &self->op_name_reason);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->op_name), GTK_INPUT_PURPOSE_NAME);
  gtk_box_append (GTK_BOX (box), col);
  self->pass1 = fk_ui_entry (_("Passphrase"), &col, NULL);
  gtk_entry_set_visibility (GTK_ENTRY (self->pass1), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->pass1), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_box_append (GTK_BOX (box), col);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  self->strength = gtk_level_bar_new_for_interval (0, 4);
  gtk_level_bar_set_mode (GTK_LEVEL_BAR (self->strength), GTK_LEVEL_BAR_MODE_DISCRETE);
  gtk_widget_set_hexpand (self->strength, TRUE);
  gtk_widget_set_valign (self->strength, GTK_ALIGN_CENTER);
  fk_ui_name (self->strength, _("Passphrase strength"));
  self->strength_label = gtk_label_new ("");
  gtk_box_append (GTK_BOX (row), self->strength);
  gtk_box_append (GTK_BOX (row), self->strength_label);
  gtk_box_append (GTK_BOX (box), row);

  self->pass2 = fk_ui_entry (_("Passphrase again"), &col, &self->pass_reason);
  gtk_entry_set_visibility (GTK_ENTRY (self->pass2), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->pass2), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_box_append (GTK_BOX (box), col);

  expander = gtk_expander_new (_("Office code and device number"));
  fk_ui_name (expander, _("Office code and device number"));
  inner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_widget_set_margin_top (inner, 8);
  self->office_code = fk_ui_entry (_("Office code (enrolment replaces it)"), &col, NULL);
  gtk_editable_set_text (GTK_EDITABLE (self->office_code), "FK");
  gtk_box_append (GTK_BOX (inner), col);
  lbl = fk_ui_label (_("Device number"), "heading");
  gtk_box_append (GTK_BOX (inner), lbl);
  self->device_number = gtk_spin_button_new_with_range (1, 99, 1);
  fk_ui_name (self->device_number, _("Device number"));
  gtk_box_append (GTK_BOX (inner), self->device_number);
  gtk_expander_set_child (GTK_EXPANDER (expander), inner);
  gtk_box_append (GTK_BOX (box), expander);

  self->create_error = fk_ui_label ("", "fk-reason");
  gtk_widget_set_visible (self->create_error, FALSE);
  gtk_box_append (GTK_BOX (box), self->create_error);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  self->create_spinner = gtk_spinner_new ();
  fk_ui_name (self->create_spinner, _("Setting up"));
  gtk_widget_set_visible (self->create_spinner, FALSE);
  self->create_button = fk_ui_button (_("Create operator"), "suggested-action");
  g_signal_connect (self->create_button, "clicked", G_CALLBACK (create_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), self->create_spinner);
  gtk_box_append (GTK_BOX (row), self->create_button);
  gtk_box_append (GTK_BOX (box), row);

  g_signal_connect (self->op_id, "changed", G_CALLBACK (form_changed_cb), self);
  g_signal_connect (self->op_name, "changed", G_CALLBACK (form_changed_cb), self);
  g_signal_connect (self->pass1, "changed", G_CALLBACK (form_changed_cb), self);
  g_signal_connect (self->pass2, "changed", G_CALLBACK (form_changed_cb), self);
  g_signal_connect (self->pass2, "activate", G_CALLBACK (create_clicked_cb), self);
  return step;
}

static GtkWidget *
build_recovery_step (FkSetupPage *self)
{
  GtkWidget *step = step_box (_("Write down the recovery key"),
                              _("If every passphrase is forgotten, this key is the only way into the data on "
                                    "this device. Write it on paper and keep it in the office safe. "
                                    "It is shown only now."));
  GtkWidget *box = box_of (step), *row;

  self->recovery_label = gtk_label_new ("");
  gtk_label_set_selectable (GTK_LABEL (self->recovery_label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (self->recovery_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->recovery_label), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (self->recovery_label, "fk-recovery-key");
  gtk_widget_add_css_class (self->recovery_label, "card");
  gtk_box_append (GTK_BOX (box), self->recovery_label);

  self->written_check = gtk_check_button_new_with_label (_("I have written it down"));
  fk_ui_name (self->written_check, _("I have written it down"));
  g_signal_connect (self->written_check, "toggled", G_CALLBACK (written_toggled_cb), self);
  gtk_box_append (GTK_BOX (box), self->written_check);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  self->recovery_next = fk_ui_button (_("Continue"), "suggested-action");
  gtk_widget_set_sensitive (self->recovery_next, FALSE);
  g_signal_connect (self->recovery_next, "clicked", G_CALLBACK (recovery_next_cb), self);
  gtk_box_append (GTK_BOX (row), self->recovery_next);
  gtk_box_append (GTK_BOX (box), row);
  return step;
}

static GtkWidget *
build_enrol_step (FkSetupPage *self)
{
  GtkWidget *step = step_box (_("Connect to the office"),
                              _("The office administrator gives an invite: the office address, a one-time code "
                                    "and the office key's fingerprint. You can also do this later in Preferences."));
  GtkWidget *box = box_of (step), *col, *row;

  self->url = fk_ui_entry (_("Office address"), &col, NULL);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->url), GTK_INPUT_PURPOSE_URL);
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->url), "https://office.example:8443");
  gtk_box_append (GTK_BOX (box), col);
  self->code = fk_ui_entry (_("Invite code"), &col, NULL);
  gtk_box_append (GTK_BOX (box), col);
  self->fingerprint = fk_ui_entry (_("Office key fingerprint"), &col, NULL);
  gtk_box_append (GTK_BOX (box), col);
  self->enrol_error = fk_ui_label ("", "fk-reason");
  gtk_widget_set_visible (self->enrol_error, FALSE);
  gtk_box_append (GTK_BOX (box), self->enrol_error);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  self->enrol_spinner = gtk_spinner_new ();
  fk_ui_name (self->enrol_spinner, _("Connecting"));
  gtk_widget_set_visible (self->enrol_spinner, FALSE);
  self->skip_button = fk_ui_button (_("Later"), NULL);
  g_signal_connect (self->skip_button, "clicked", G_CALLBACK (skip_clicked_cb), self);
  self->enrol_button = fk_ui_button (_("Enrol"), "suggested-action");
  g_signal_connect (self->enrol_button, "clicked", G_CALLBACK (enrol_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), self->enrol_spinner);
  gtk_box_append (GTK_BOX (row), self->skip_button);
  gtk_box_append (GTK_BOX (row), self->enrol_button);
  gtk_box_append (GTK_BOX (box), row);
  return step;
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_setup_page_dispose (GObject *object)
{
  FkSetupPage *self = FK_SETUP_PAGE (object);

  g_clear_pointer (&self->passphrase, fk_secret_free);
  G_OBJECT_CLASS (fk_setup_page_parent_class)->dispose (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_setup_page_class_init (FkSetupPageClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = fk_setup_page_dispose;
}

static void
fk_setup_page_init (FkSetupPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_setup_page_new (FkWindow *window)
{
  FkSetupPage *self = g_object_new (FK_TYPE_SETUP_PAGE, NULL);
  GtkWidget *header = adw_header_bar_new ();

  self->window = window;
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header),
                                   adw_window_title_new (_("FieldKit"),
                                                         _("First run")));
  gtk_box_append (GTK_BOX (self), header);
  self->steps = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (self->steps, GTK_STACK_TRANSITION_TYPE_SLIDE_LEFT);
  gtk_stack_add_named (self->steps, build_operator_step (self), "operator");
  gtk_stack_add_named (self->steps, build_recovery_step (self), "recovery");
  gtk_stack_add_named (self->steps, build_enrol_step (self), "enrol");
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->steps));
  return GTK_WIDGET (self);
}
