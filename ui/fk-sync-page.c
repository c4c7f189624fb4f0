/* fk-sync-page.c — sync now (in the background, with progress), what each
 * case's packet is doing, the quarantine with Retry, and the cases the
 * office returned with their reason and Correct. */
#include "ui/fk-pages.h"

#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "sync/fk-sync.h"
#include "ui/fk-preferences.h"
#include "ui/fk-ui-util.h"

/* The packets already at the office that "Every packet" lists: the newest. */
#define SYNC_PAGE_ACKED_SHOWN 20

/* ---- types -------------------------------------------------------------------- */

struct _FkSyncPage
{
  GtkBox        parent_instance;

  FkWindow     *window;
  GCancellable *cancellable;
  gboolean      running;       /* this page's own run (the window's flag covers both) */
  gboolean      showing_auto;  /* the status says an automatic sync runs */
  GtkWidget    *sync_button;
  GtkWidget    *progress;
  GtkWidget    *status;
  GtkWidget    *enrol_hint;
  GtkWidget    *packets;
  GtkWidget    *quarantine;
  GtkWidget    *returned;
  GtkWidget    *report_box;
  /* This page's run, as a whole: several packets go up at once, so the bar
   * shows the cases sent and the bytes of all of them, not one packet. */
  guint         up_count;      /* packets waiting when the run started */
  guint64       up_bytes;      /* their size together */
  guint64       up_sent;       /* bytes of them sent so far */
  guint         up_cases;      /* of them sent whole and acknowledged */
  GHashTable   *up_done;       /* packet id → its bytes counted in up_sent (guint64*) */
};

G_DEFINE_FINAL_TYPE (FkSyncPage, fk_sync_page, GTK_TYPE_BOX)

/* One run: keeps the page alive until the worker is done with it. */
typedef struct {
  FkSyncPage *page;
} SyncRun;

typedef struct {
  FkSyncPage *page;
  char       *packet_id;
  gsize       done;
  gsize       total;
} ProgressUpdate;

/* ---- helpers ------------------------------------------------------------------ */

static const char *
idle_status (void)
{
  return _("Sealed cases go to the office when you sync.");
}

static const char *
client_state_label (const char *state)
{
  if (g_strcmp0 (state, "waiting") == 0)
    return _("waiting to upload");
  if (g_strcmp0 (state, "acked") == 0)
    return _("at the office");
  if (g_strcmp0 (state, "quarantined") == 0)
    return _("quarantined");
  if (g_strcmp0 (state, "sent") == 0)
    return _("sent");
  if (g_strcmp0 (state, "already at the office") == 0)
    return _("already at the office");
  return state ? state : "—";
}

static const char *
server_state_label (const char *state)
{
  if (state == NULL)
    return _("no answer yet");
  if (g_str_equal (state, "stored"))
    return _("received");
  if (g_str_equal (state, "approved"))
    return _("accepted");
  if (g_str_equal (state, "returned"))
    return _("returned for correction");
  return state;
}

static GtkWidget *
new_group (GtkWidget  *parent,
           const char *title)
{
  GtkWidget *g = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (g), title);
  gtk_box_append (GTK_BOX (parent), g);
  return g;
}

static void
clear_group (GtkWidget *group)
{
  GtkWidget *rows = g_object_get_data (G_OBJECT (group), "fk-rows");

  if (rows)
    {
      adw_preferences_group_remove (ADW_PREFERENCES_GROUP (group), rows);
      g_object_set_data (G_OBJECT (group), "fk-rows", NULL);
    }
  rows = gtk_list_box_new ();
  gtk_widget_add_css_class (rows, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (rows), GTK_SELECTION_NONE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), rows);
  g_object_set_data (G_OBJECT (group), "fk-rows", rows);
}

static void
group_add (GtkWidget *group,
           GtkWidget *row)
{
  gtk_list_box_append (GTK_LIST_BOX (g_object_get_data (G_OBJECT (group), "fk-rows")), row);
}

static GtkWidget *
info_row (const char *title,
          const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *spoken = g_strdup_printf ("%s: %s", title, subtitle ? subtitle : "");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  fk_ui_name (row, spoken);
  return row;
}

static gboolean
progress_idle_cb (gpointer user_data)
{
  ProgressUpdate *u = user_data;

  if (u->total > 0 && u->page->up_done && gtk_widget_get_root (GTK_WIDGET (u->page)))
    {
      FkSyncPage *self = u->page;
      guint64 *seen = g_hash_table_lookup (self->up_done, u->packet_id);
      guint64 total = MAX (self->up_bytes, 1);
      g_autofree char *text = NULL;

      if (seen == NULL)
        {
          seen = g_new0 (guint64, 1);   /* bytes of this packet counted so far */
          g_hash_table_insert (self->up_done, g_strdup (u->packet_id), seen);
        }
      /* A retry starts a packet again: what it had sent counts once. */
      if ((guint64) u->done > *seen)
        {
          self->up_sent += (guint64) u->done - *seen;
          if (u->done >= u->total)
            self->up_cases++;
          *seen = u->done;
        }
      text = g_strdup_printf (_("Uploading: %u of %u cases sent (%.1f of %.1f MB)"), self->up_cases,
                              MAX (self->up_count, self->up_cases),
                              (double) MIN (self->up_sent, total) / 1e6, (double) self->up_bytes / 1e6);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress),
                                     MIN (1.0, (double) self->up_sent / (double) total));
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), text);
    }
  g_object_unref (u->page);
  g_free (u->packet_id);
  g_free (u);
  return G_SOURCE_REMOVE;
}

/* Called in the sync's worker thread: hand the numbers to the main loop. */
static void
progress_cb (const char *packet_id,
             gsize       done,
             gsize       total,
             gpointer    user_data)
{
  SyncRun *run = user_data;
  ProgressUpdate *u = g_new0 (ProgressUpdate, 1);

  u->page = g_object_ref (run->page);
  u->packet_id = g_strdup (packet_id);
  u->done = done;
  u->total = total;
  /* Queued, never run here: g_main_context_invoke would call it on this
   * worker thread whenever the main thread was not iterating just then. */
  g_idle_add (progress_idle_cb, u);
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
sync_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SyncRun *run = user_data;
  g_autoptr(FkSyncPage) self = run->page;
  g_autoptr(GError) error = NULL;
  FkSyncReport report = { 0 };
  gboolean ok = fk_sync_run_finish (result, &report, &error);
  g_autofree char *summary = NULL;

  g_free (run);
  self->running = FALSE;
  if (gtk_widget_get_root (GTK_WIDGET (self)) == NULL)
    {
      /* The window locked meanwhile: it shows nothing, keeps the record. */
      fk_window_sync_finished (self->window, ok, report.revoked);
      fk_sync_report_clear (&report);
      return;
    }
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress), ok ? 1.0 : 0.0);
  if (ok)
    {
      summary = g_strdup_printf (_("Sync done: %u uploaded, %u waiting, %u quarantined; answers from the office: %u."),
                                 report.uploaded, report.waiting, report.quarantined, report.answers);
      fk_window_toast (self->window, _("Sync done"));
    }
  else
    summary = g_strdup_printf (_("Sync did not finish: %s"), error->message);
  gtk_label_set_text (GTK_LABEL (self->status), summary);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), NULL);

  clear_group (self->report_box);
  gtk_widget_set_visible (self->report_box, report.cases && report.cases->len > 0);
  for (guint i = 0; report.cases && i < report.cases->len; i++)
    {
      FkSyncCase *c = report.cases->pdata[i];
      g_autofree char *sub = g_strdup_printf ("%s · %s%s%s", client_state_label (c->client_status),
                                              server_state_label (c->server_status),
                                              c->message ? " · " : "", c->message ? c->message : "");

      group_add (self->report_box, info_row (c->receipt_no ? c->receipt_no : c->packet_id, sub));
    }
  /* Notes the sync on the other pages, refreshes this one and shows a
   * revocation, as after an automatic run. */
  fk_window_sync_finished (self->window, ok, report.revoked);
  fk_sync_report_clear (&report);
}

static void
sync_clicked_cb (GtkButton  *button,
                 FkSyncPage *self)
{
  FkStore *store = fk_window_store (self->window);
  const char *pass = fk_window_passphrase (self->window);
  SyncRun *run;

  /* One sync at a time, this page's or the automatic one. */
  if (store == NULL || pass == NULL || fk_window_sync_running (self->window))
    return;
  run = g_new0 (SyncRun, 1);
  run->page = g_object_ref (self);
  self->running = TRUE;
  g_clear_pointer (&self->up_done, g_hash_table_unref);
  self->up_done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->up_count = fk_sync_count_waiting (store, &self->up_bytes);
  self->up_sent = 0;
  self->up_cases = 0;
  fk_window_sync_started (self->window);
  gtk_widget_set_sensitive (self->sync_button, FALSE);
  gtk_label_set_text (GTK_LABEL (self->status), _("Syncing…"));
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress), 0);
  gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->progress));
  fk_sync_run_async (fk_window_data_dir (self->window), fk_store_operator (store), pass,
                     progress_cb, run, self->cancellable, sync_done_cb, run);
}

static void
retry_clicked_cb (GtkButton  *button,
                  FkSyncPage *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GError) error = NULL;

  if (store == NULL)
    return;
  if (!fk_store_outbox_retry (store, g_object_get_data (G_OBJECT (button), "fk-packet"), &error))
    fk_window_error (self->window, _("Cannot retry"), error);
  else
    fk_window_toast (self->window, _("Will be sent again at the next sync"));
  fk_sync_page_refresh (self);
}

/* The corrected draft in the case editor, or why there is none. */
static void
show_corrected (FkSyncPage   *self,
                gint64        new_id,
                const GError *error)
{
  if (new_id == 0)
    fk_window_error (self->window, _("Cannot correct this case"), error);
  else
    fk_window_show_case (self->window, new_id);
}

static void
recapture_response_cb (AdwMessageDialog *dialog,
                       const char       *response,
                       FkSyncPage       *self)
{
  FkStore *store = fk_window_store (self->window);
  gint64 old_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "fk-case"));
  GtkEditable *id = g_object_get_data (G_OBJECT (dialog), "fk-person-id");
  GtkEditable *name = g_object_get_data (G_OBJECT (dialog), "fk-name");
  GtkEditable *birth = g_object_get_data (G_OBJECT (dialog), "fk-birth");
  g_autoptr(GError) error = NULL;
  FkCaseInput input = { 0 };
  gint64 new_id;

  if (g_strcmp0 (response, "correct") != 0 || store == NULL)
    return;
  input.person_id = gtk_editable_get_text (id);
  input.name = gtk_editable_get_text (name);
  input.birth_date = *gtk_editable_get_text (birth) ? gtk_editable_get_text (birth) : NULL;
  new_id = fk_store_case_correct_anew (store, old_id, &input, &error);
  show_corrected (self, new_id, error);
}

/* The ID number is checked as it is typed (the reason under it, as in the
 * case editor); the dialog only answers with a valid one and a name. */
static void
recapture_changed_cb (GtkEditable      *editable,
                      AdwMessageDialog *dialog)
{
  GtkWidget *id = g_object_get_data (G_OBJECT (dialog), "fk-person-id");
  GtkWidget *reason = g_object_get_data (G_OBJECT (dialog), "fk-person-id-reason");
  GtkWidget *name = g_object_get_data (G_OBJECT (dialog), "fk-name");
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (id))));
  g_autofree char *norm = NULL;
  g_autoptr(GError) error = NULL;
  gboolean id_ok = FALSE;
  FkIdKind kind;

  if (*text == '\0')
    fk_ui_entry_set_reason (id, reason, NULL);
  else if ((id_ok = fk_person_id_check (text, &kind, &norm, &error)))
    {
      g_autofree char *note = fk_ui_id_note (kind, norm);

      fk_ui_entry_set_confirmation (id, reason, note);
    }
  else
    fk_ui_entry_set_reason (id, reason, error->message);
  {
    g_autofree char *who = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (name))));

    adw_message_dialog_set_response_enabled (dialog, "correct", id_ok && *who != '\0');
  }
}

/* The returned case's personal data went when the office acknowledged it
 * (the default retention): the clerk takes the person again from their
 * documents, and the corrected draft keeps the outing and the service. */
static void
ask_person_again (FkSyncPage *self,
                  gint64      old_id)
{
  FkStore *store = fk_window_store (self->window);
  g_autofree char *reason = store ? fk_store_case_return_reason (store, old_id, NULL) : NULL;
  g_autofree char *body = g_strdup_printf (_("The office returned this case: %s\n\n"
                                             "Its personal data was removed when the office received it. "
                                             "Enter the ID number and the name from the person's documents; "
                                             "the corrected draft keeps the outing and the service, "
                                             "and you add the photo and the rest in it."),
                                           reason ? reason : "");
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *id, *name, *birth, *col, *dialog, *id_reason;

  id = fk_ui_entry (_("ID number"), &col, &id_reason);
  gtk_box_append (GTK_BOX (box), col);
  name = fk_ui_entry (_("Name"), &col, NULL);
  gtk_box_append (GTK_BOX (box), col);
  birth = fk_ui_entry (_("Birth date (if the service asks for it)"), &col, NULL);
  gtk_box_append (GTK_BOX (box), col);
  gtk_entry_set_activates_default (GTK_ENTRY (id), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (name), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (birth), TRUE);
  dialog = fk_ui_ask (GTK_WINDOW (self->window), _("Re-enter the applicant"), body, box,
                      "correct", _("Make the corrected draft"));
  g_object_set_data (G_OBJECT (dialog), "fk-case", GSIZE_TO_POINTER (old_id));
  g_object_set_data (G_OBJECT (dialog), "fk-person-id", id);
  g_object_set_data (G_OBJECT (dialog), "fk-name", name);
  g_object_set_data (G_OBJECT (dialog), "fk-birth", birth);
  g_object_set_data (G_OBJECT (dialog), "fk-person-id-reason", id_reason);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "correct", FALSE);
  g_signal_connect (id, "changed", G_CALLBACK (recapture_changed_cb), dialog);
  g_signal_connect (name, "changed", G_CALLBACK (recapture_changed_cb), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (recapture_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (id);
}

static void
correct_clicked_cb (GtkButton  *button,
                    FkSyncPage *self)
{
  FkStore *store = fk_window_store (self->window);
  gint64 old_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "fk-case"));
  g_autoptr(GError) error = NULL;
  gint64 new_id;

  if (store == NULL)
    return;
  new_id = fk_store_case_correct (store, old_id, &error);
  if (new_id == 0 && g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_PURGED))
    {
      ask_person_again (self, old_id);
      return;
    }
  show_corrected (self, new_id, error);
}

static void
enrol_clicked_cb (GtkButton  *button,
                  FkSyncPage *self)
{
  fk_preferences_show (self->window);
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_sync_page_dispose (GObject *object)
{
  FkSyncPage *self = FK_SYNC_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->up_done, g_hash_table_unref);
  G_OBJECT_CLASS (fk_sync_page_parent_class)->dispose (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_sync_page_class_init (FkSyncPageClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = fk_sync_page_dispose;
}

static void
fk_sync_page_init (FkSyncPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->cancellable = g_cancellable_new ();
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_sync_page_new (FkWindow *window)
{
  FkSyncPage *self = g_object_new (FK_TYPE_SYNC_PAGE, NULL);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 16);
  GtkWidget *row, *btn;

  self->window = window;
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 800);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  self->enrol_hint = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_widget_add_css_class (self->enrol_hint, "fk-banner-warning");
  gtk_box_append (GTK_BOX (self->enrol_hint),
                  fk_ui_label (_("This device is not connected to the office yet. Enrol it with the invite "
                                     "from the office administrator."), NULL));
  btn = fk_ui_button (_("Connect to the office…"), NULL);
  gtk_widget_set_halign (btn, GTK_ALIGN_START);
  g_signal_connect (btn, "clicked", G_CALLBACK (enrol_clicked_cb), self);
  gtk_box_append (GTK_BOX (self->enrol_hint), btn);
  gtk_box_append (GTK_BOX (box), self->enrol_hint);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  self->status = fk_ui_label (idle_status (), NULL);
  gtk_widget_set_hexpand (self->status, TRUE);
  gtk_box_append (GTK_BOX (row), self->status);
  self->sync_button = fk_ui_button (_("Sync now"), "suggested-action");
  g_signal_connect (self->sync_button, "clicked", G_CALLBACK (sync_clicked_cb), self);
  gtk_box_append (GTK_BOX (row), self->sync_button);
  gtk_box_append (GTK_BOX (box), row);
  self->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (self->progress), TRUE);
  fk_ui_name (self->progress, _("Sync progress"));
  gtk_box_append (GTK_BOX (box), self->progress);

  self->report_box = new_group (box, _("This sync"));
  clear_group (self->report_box);
  gtk_widget_set_visible (self->report_box, FALSE);
  self->quarantine = new_group (box, _("Quarantined"));
  self->returned = new_group (box, _("Returned by the office"));
  self->packets = new_group (box, _("Every packet"));

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroll, TRUE);
  gtk_box_append (GTK_BOX (self), scroll);
  fk_sync_page_refresh (self);
  return GTK_WIDGET (self);
}

void
fk_sync_page_refresh (FkSyncPage *self)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GPtrArray) returned = NULL;
  FkCaseStatus status = FK_CASE_RETURNED;
  guint n_quarantined = 0;
  guint n_acked = 0, skip_acked, skipped = 0;

  if (store == NULL || !fk_store_is_unlocked (store))
    return;
  gtk_widget_set_visible (self->enrol_hint, !fk_store_is_enrolled (store));
  gtk_widget_set_sensitive (self->sync_button, !fk_window_sync_running (self->window) && fk_store_is_enrolled (store));
  /* An automatic sync has no progress of its own here: say that it runs. */
  if (fk_window_sync_running (self->window) && !self->running)
    {
      gtk_label_set_text (GTK_LABEL (self->status), _("Syncing automatically in the background…"));
      self->showing_auto = TRUE;
    }
  else if (self->showing_auto)
    {
      gtk_label_set_text (GTK_LABEL (self->status), idle_status ());
      self->showing_auto = FALSE;
    }

  clear_group (self->packets);
  clear_group (self->quarantine);
  outbox = fk_store_outbox (store, TRUE, NULL);
  /* Every packet still on its way, and only the newest of those at the
   * office: after a season they are thousands, and the clerk looks here
   * for what has not gone yet (their cases stay listed in their outings). */
  for (guint i = 0; outbox && i < outbox->len; i++)
    n_acked += g_strcmp0 (((FkOutboxItem *) outbox->pdata[i])->state, "acked") == 0;
  skip_acked = n_acked > SYNC_PAGE_ACKED_SHOWN ? n_acked - SYNC_PAGE_ACKED_SHOWN : 0;
  for (guint i = 0; outbox && i < outbox->len; i++)
    {
      FkOutboxItem *item = outbox->pdata[i];
      g_autofree char *sub = g_strdup_printf (_("device: %s · office: %s"),
                                              client_state_label (item->state), server_state_label (item->server_status));
      const char *title = item->receipt_no ? item->receipt_no : item->packet_id;

      if (g_strcmp0 (item->state, "acked") == 0 && skipped < skip_acked)
        {
          skipped++;
          continue;
        }
      group_add (self->packets, info_row (title, sub));
      if (g_strcmp0 (item->state, "quarantined") == 0)
        {
          GtkWidget *row = info_row (title, item->last_error ? item->last_error : _("refused"));
          GtkWidget *retry = fk_ui_button (_("Retry"), NULL);
          g_autofree char *spoken = g_strdup_printf (_("Retry %s"), title);

          fk_ui_name (retry, spoken);
          gtk_widget_set_valign (retry, GTK_ALIGN_CENTER);
          g_object_set_data_full (G_OBJECT (retry), "fk-packet", g_strdup (item->packet_id), g_free);
          g_signal_connect (retry, "clicked", G_CALLBACK (retry_clicked_cb), self);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), retry);
          group_add (self->quarantine, row);
          n_quarantined++;
        }
    }
  if (skipped > 0)
    {
      g_autofree char *earlier = g_strdup_printf (_("Earlier packets at the office: %u"), skipped);

      group_add (self->packets, info_row (earlier, _("Not listed here; their cases are in their outings.")));
    }
  if (outbox == NULL || outbox->len == 0)
    group_add (self->packets, info_row (_("Nothing sealed yet"), NULL));
  gtk_widget_set_visible (self->quarantine, n_quarantined > 0);

  clear_group (self->returned);
  returned = fk_store_cases (store, NULL, &status, NULL);
  for (guint i = 0; returned && i < returned->len; i++)
    {
      FkCase *c = returned->pdata[i];
      g_autofree char *reason = fk_store_case_return_reason (store, c->id, NULL);
      GtkWidget *row = info_row (c->receipt_no ? c->receipt_no : "—", reason ? reason : _("no reason given"));
      GtkWidget *fix = fk_ui_button (_("Correct"), NULL);
      g_autofree char *spoken = g_strdup_printf (_("Correct %s"), c->receipt_no ? c->receipt_no : "");

      fk_ui_name (fix, spoken);
      gtk_widget_set_valign (fix, GTK_ALIGN_CENTER);
      g_object_set_data (G_OBJECT (fix), "fk-case", GSIZE_TO_POINTER ((gsize) c->id));
      g_signal_connect (fix, "clicked", G_CALLBACK (correct_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), fix);
      group_add (self->returned, row);
    }
  gtk_widget_set_visible (self->returned, returned && returned->len > 0);
}
