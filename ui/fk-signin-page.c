/* fk-signin-page.c — pick the operator, type the passphrase.  The Argon2
 * unlock runs in a worker thread that has the store to itself. */
#include "ui/fk-pages.h"

#include <string.h>

#include <sodium.h>

#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkSigninPage
{
  GtkBox      parent_instance;

  FkWindow   *window;
  GtkWidget  *operators;       /* GtkDropDown */
  GtkStringList *operator_ids;
  GtkWidget  *passphrase;
  GtkWidget  *button;
  GtkWidget  *spinner;
  GtkWidget  *message;
  GtkWidget  *notice;
  guint       wait_source;
  guint       wait_left;
};

G_DEFINE_FINAL_TYPE (FkSigninPage, fk_signin_page, GTK_TYPE_BOX)

typedef struct {
  char *operator_id;
  char *passphrase;
} UnlockJob;

/* ---- helpers ------------------------------------------------------------------ */

static void
unlock_job_free (gpointer p)
{
  UnlockJob *job = p;

  g_free (job->operator_id);
  if (job->passphrase)
    sodium_memzero (job->passphrase, strlen (job->passphrase));
  g_free (job->passphrase);
  g_free (job);
}

static gboolean
unlock_job_run (FkStore  *store,
                gpointer  data,
                GError  **error)
{
  UnlockJob *job = data;

  return fk_store_unlock (store, job->operator_id, job->passphrase, error);
}

static const char *
selected_operator (FkSigninPage *self)
{
  guint pos = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->operators));

  if (pos == GTK_INVALID_LIST_POSITION)
    return NULL;
  return gtk_string_list_get_string (self->operator_ids, pos);
}

static void
set_message (FkSigninPage *self,
             const char   *text)
{
  gtk_label_set_text (GTK_LABEL (self->message), text ? text : "");
  gtk_widget_set_visible (self->message, text && *text);
}

static gboolean
wait_tick_cb (gpointer user_data)
{
  FkSigninPage *self = user_data;
  g_autofree char *text = NULL;

  if (self->wait_left == 0)
    {
      self->wait_source = 0;
      gtk_widget_set_sensitive (self->button, TRUE);
      set_message (self, _("You may try again now."));
      return G_SOURCE_REMOVE;
    }
  text = g_strdup_printf (_("Too many wrong passphrases. Wait %u s before the next try."), self->wait_left);
  set_message (self, text);
  self->wait_left--;
  return G_SOURCE_CONTINUE;
}

static void
start_wait (FkSigninPage *self,
            guint         seconds)
{
  g_clear_handle_id (&self->wait_source, g_source_remove);
  if (seconds == 0)
    return;
  self->wait_left = seconds;
  gtk_widget_set_sensitive (self->button, FALSE);
  wait_tick_cb (self);
  self->wait_source = g_timeout_add_seconds (1, wait_tick_cb, self);
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
unlock_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FkSigninPage) self = user_data;
  g_autoptr(GError) error = NULL;
  FkWindow *window = FK_WINDOW (source);
  FkStore *store;
  const char *op;

  gtk_spinner_stop (GTK_SPINNER (self->spinner));
  gtk_widget_set_visible (self->spinner, FALSE);
  gtk_widget_set_sensitive (self->button, TRUE);
  gtk_widget_set_sensitive (self->passphrase, TRUE);
  if (fk_window_run_job_finish (window, result, &error))
    {
      g_autofree char *pass = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->passphrase)));

      gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
      set_message (self, NULL);
      fk_window_signed_in (window, pass);
      sodium_memzero (pass, strlen (pass));
      return;
    }

  store = fk_window_store (window);
  op = selected_operator (self);
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
  if (g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE) ||
      g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_WAIT))
    {
      guint wait = store && op ? fk_store_unlock_wait (store, op) : 0;

      set_message (self, error->message);
      if (wait > 0)
        start_wait (self, wait);
    }
  else
    set_message (self, error->message);
  gtk_widget_grab_focus (self->passphrase);
}

static void
signin_clicked_cb (GtkWidget    *widget,
                   FkSigninPage *self)
{
  const char *op = selected_operator (self);
  const char *pass = gtk_editable_get_text (GTK_EDITABLE (self->passphrase));
  UnlockJob *job;

  if (!gtk_widget_get_sensitive (self->button))
    return;
  if (op == NULL)
    return;
  if (*pass == '\0')
    {
      set_message (self, _("Type your passphrase."));
      return;
    }
  job = g_new0 (UnlockJob, 1);
  job->operator_id = g_strdup (op);
  job->passphrase = g_strdup (pass);
  set_message (self, _("Checking the passphrase…"));
  gtk_widget_set_sensitive (self->button, FALSE);
  gtk_widget_set_sensitive (self->passphrase, FALSE);
  gtk_widget_set_visible (self->spinner, TRUE);
  gtk_spinner_start (GTK_SPINNER (self->spinner));
  fk_window_run_job (self->window, unlock_job_run, job, unlock_job_free, NULL, unlock_done_cb, g_object_ref (self));
}

static void
operator_changed_cb (GtkDropDown  *dropdown,
                     GParamSpec   *pspec,
                     FkSigninPage *self)
{
  FkStore *store = fk_window_store (self->window);
  const char *op = selected_operator (self);

  set_message (self, NULL);
  g_clear_handle_id (&self->wait_source, g_source_remove);
  gtk_widget_set_sensitive (self->button, TRUE);
  if (store && op)
    start_wait (self, fk_store_unlock_wait (store, op));
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_signin_page_dispose (GObject *object)
{
  FkSigninPage *self = FK_SIGNIN_PAGE (object);

  g_clear_handle_id (&self->wait_source, g_source_remove);
  g_clear_object (&self->operator_ids);
  G_OBJECT_CLASS (fk_signin_page_parent_class)->dispose (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_signin_page_class_init (FkSigninPageClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = fk_signin_page_dispose;
}

static void
fk_signin_page_init (FkSigninPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_signin_page_new (FkWindow *window)
{
  FkSigninPage *self = g_object_new (FK_TYPE_SIGNIN_PAGE, NULL);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *status = adw_status_page_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *lbl, *row, *scroll;

  self->window = window;
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header),
                                   adw_window_title_new (_("FieldKit"), _("Locked")));
  gtk_box_append (GTK_BOX (self), header);

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "system-lock-screen-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (status), _("Sign in"));
  adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                   _("Personal data stays encrypted until you sign in."));
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 420);

  self->notice = fk_ui_label ("", "fk-banner-warning");
  gtk_widget_set_visible (self->notice, FALSE);
  gtk_box_append (GTK_BOX (box), self->notice);

  lbl = fk_ui_label (_("Operator"), "heading");
  gtk_box_append (GTK_BOX (box), lbl);
  self->operator_ids = gtk_string_list_new (NULL);
  self->operators = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (self->operator_ids)), NULL);
  fk_ui_name (self->operators, _("Operator"));
  g_signal_connect (self->operators, "notify::selected", G_CALLBACK (operator_changed_cb), self);
  gtk_box_append (GTK_BOX (box), self->operators);

  lbl = fk_ui_label (_("Passphrase"), "heading");
  gtk_box_append (GTK_BOX (box), lbl);
  /* A plain entry: GTK 4.8's GtkPasswordEntry can crash when destroyed
   * while focused (its caps-lock watch outlives it). */
  self->passphrase = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (self->passphrase), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->passphrase), GTK_INPUT_PURPOSE_PASSWORD);
  fk_ui_name (self->passphrase, _("Passphrase"));
  g_signal_connect (self->passphrase, "activate", G_CALLBACK (signin_clicked_cb), self);
  gtk_box_append (GTK_BOX (box), self->passphrase);

  self->message = fk_ui_label ("", "fk-reason");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->message), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Sign-in message"), -1);
  gtk_widget_set_visible (self->message, FALSE);
  gtk_box_append (GTK_BOX (box), self->message);
  fk_ui_describe (self->passphrase, self->message);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  self->spinner = gtk_spinner_new ();
  fk_ui_name (self->spinner, _("Checking the passphrase"));
  gtk_widget_set_visible (self->spinner, FALSE);
  self->button = fk_ui_button (_("Sign in"), "suggested-action");
  g_signal_connect (self->button, "clicked", G_CALLBACK (signin_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), self->spinner);
  gtk_box_append (GTK_BOX (row), self->button);
  gtk_box_append (GTK_BOX (box), row);

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  adw_status_page_set_child (ADW_STATUS_PAGE (status), clamp);
  scroll = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), status);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);
  return GTK_WIDGET (self);
}

void
fk_signin_page_reset (FkSigninPage *self,
                      const char   *message)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) ops = store ? fk_store_operators (store, NULL) : NULL;
  g_autofree char *sole = store ? fk_store_sole_operator (store) : NULL;
  const char *current = selected_operator (self);
  g_autofree char *keep = g_strdup (current);
  guint select = 0;

  gtk_string_list_splice (self->operator_ids, 0, g_list_model_get_n_items (G_LIST_MODEL (self->operator_ids)), NULL);
  for (guint i = 0; ops && i < ops->len; i++)
    {
      FkOperator *op = ops->pdata[i];

      gtk_string_list_append (self->operator_ids, op->id);
      if (g_strcmp0 (op->id, keep) == 0 || g_strcmp0 (op->id, sole) == 0)
        select = i;
    }
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->operators), select);
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
  gtk_label_set_text (GTK_LABEL (self->notice), message ? message : "");
  gtk_widget_set_visible (self->notice, message != NULL);
  gtk_widget_grab_focus (self->passphrase);
}
