/* fk-auto-sync.c — the window's background sync (the header says when a
 * run starts and what the clerk sees).  Layout: types, helpers (what the
 * outbox holds, when to try again), the run and its outcome, the timers,
 * public API. */
#include "ui/fk-auto-sync.h"

#include <string.h>

#include "crypto/fk-i18n.h"
#include "sync/fk-sync.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkAutoSync
{
  GObject       parent_instance;

  FkWindow     *window;          /* borrowed; NULL once closed */
  GSettings    *settings;
  gulong        settings_handler;
  gboolean      online;
  gboolean      running;         /* this object's run is in flight */
  gboolean      pending;         /* a trigger came while a job had the store */
  gboolean      revoked;         /* the office revoked the device: never again */
  GCancellable *cancellable;     /* of the run in flight */
  guint         n_runs;
  guint         seal_source;     /* the delay after a seal */
  guint         retry_source;
  guint         check_source;    /* a look at the outbox after a store change */
  guint         poll_source;     /* the look every FK_AUTO_SYNC_POLL_S */
  gint64        answers_us;      /* FK_AUTO_SYNC_ANSWERS_MINUTES, in µs */
  guint         waiting_seen;    /* packets waiting at the last look */
  guint         quarantined_before;
  guint         failures;        /* runs in a row that failed or left packets waiting */
  gint64        last_attempt;    /* monotonic µs of the last start, 0 never */
  char         *error_shown;     /* the failure already shown since the last success */
};

G_DEFINE_FINAL_TYPE (FkAutoSync, fk_auto_sync, G_TYPE_OBJECT)

/* What the outbox holds for an automatic run. */
typedef struct {
  guint  waiting;        /* sealed packets that can go up */
  guint  fresh;          /* of those, never tried: sealed since the last run began */
  guint  quarantined;
  gint64 next_attempt;   /* the earliest next_attempt still to come, µs since the epoch; 0 none */
} OutboxState;

/* ---- prototypes ---------------------------------------------------------------- */

static gboolean try_start (FkAutoSync *self);

/* ---- helpers ------------------------------------------------------------------ */

/* The window's store when it may be used now: unlocked, with the
 * operator's passphrase for the sync's own handle, and not lent to a job. */
static FkStore *
usable_store (FkAutoSync *self)
{
  FkStore *store = self->window ? fk_window_store (self->window) : NULL;

  if (store == NULL || !fk_store_is_unlocked (store) || fk_window_passphrase (self->window) == NULL)
    return NULL;
  return store;
}

static void
outbox_state (FkStore     *store,
              OutboxState *out)
{
  g_autoptr(GPtrArray) items = fk_store_outbox (store, FALSE, NULL);
  gint64 now = g_get_real_time ();

  memset (out, 0, sizeof *out);
  for (guint i = 0; items && i < items->len; i++)
    {
      FkOutboxItem *item = items->pdata[i];

      if (g_strcmp0 (item->state, "quarantined") == 0)
        out->quarantined++;
      /* Without a packet (sealed before enrolment) there is nothing to
       * send yet: counting it would retry for nothing. */
      else if (g_strcmp0 (item->state, "waiting") == 0 && item->packet_hash != NULL)
        {
          out->waiting++;
          if (item->attempts == 0)
            out->fresh++;
          if (item->next_attempt > now && (out->next_attempt == 0 || item->next_attempt < out->next_attempt))
            out->next_attempt = item->next_attempt;
        }
    }
}

/* Nothing waits, but the office may have answers (review results, a
 * hand-over list): asked at most once per FK_AUTO_SYNC_ANSWERS_MINUTES,
 * counting syncs from any path (the store's last_sync) and this window's
 * own attempts, which may have failed. */
static gboolean
answers_due (FkAutoSync *self,
             FkStore    *store)
{
  const gint64 interval = self->answers_us;
  FkSafetyState s;

  if (self->last_attempt != 0 && g_get_monotonic_time () - self->last_attempt < interval)
    return FALSE;
  fk_store_safety (store, &s);
  return s.last_sync == 0 || g_get_real_time () - s.last_sync >= interval;
}

/* The later of the window's own backoff (30 s doubling per failure, see the
 * header) and the packets' next_attempt, which fk-sync sets from the
 * protocol's backoff; never more than FK_AUTO_SYNC_RETRY_MAX_S, so a device
 * whose office stays down asks again every 10 minutes. */
static guint
retry_delay_s (FkAutoSync        *self,
               const OutboxState *st)
{
  gint64 delay = (gint64) FK_AUTO_SYNC_RETRY_FIRST_S << MIN (MAX (self->failures, 1) - 1, 8);

  if (st != NULL && st->next_attempt > 0)
    delay = MAX (delay, (st->next_attempt - g_get_real_time ()) / G_USEC_PER_SEC + 1);
  return (guint) MIN (delay, FK_AUTO_SYNC_RETRY_MAX_S);
}

/* A failure the clerk need not hear of: it is retried on its own. */
static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK) ||
         g_error_matches (error, FK_SYNC_ERROR, FK_SYNC_ERROR_CANCELLED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_BUSY);
}

static void
stop_timers (FkAutoSync *self)
{
  g_clear_handle_id (&self->seal_source, g_source_remove);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->check_source, g_source_remove);
  self->pending = FALSE;
}

/* ---- the timers ----------------------------------------------------------------- */

static gboolean
seal_delay_cb (gpointer user_data)
{
  FkAutoSync *self = user_data;

  self->seal_source = 0;
  try_start (self);
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer user_data)
{
  FkAutoSync *self = user_data;

  self->retry_source = 0;
  try_start (self);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the delay after a seal, so that a clerk sealing one case after
 * another (a school drive) sends them together once they pause. */
static void
seal_delay_restart (FkAutoSync *self)
{
  g_clear_handle_id (&self->seal_source, g_source_remove);
  self->seal_source = g_timeout_add_seconds (FK_AUTO_SYNC_SEAL_DELAY_S, seal_delay_cb, self);
}

static void
retry_later (FkAutoSync        *self,
             const OutboxState *st)
{
  self->failures++;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  self->retry_source = g_timeout_add_seconds (retry_delay_s (self, st), retry_cb, self);
}

/* After a store change: a trigger that found the store lent to a job is
 * taken up now, and more packets waiting than at the last look means a case
 * was sealed. */
static gboolean
check_cb (gpointer user_data)
{
  FkAutoSync *self = user_data;
  FkStore *store = usable_store (self);
  OutboxState st;

  self->check_source = 0;
  /* Still lent to a job (the drive page queues them): its end looks again. */
  if (store == NULL)
    return G_SOURCE_REMOVE;
  if (self->pending)
    {
      self->pending = FALSE;
      if (try_start (self))
        return G_SOURCE_REMOVE;
    }
  outbox_state (store, &st);
  if (st.waiting > self->waiting_seen && self->online && g_settings_get_boolean (self->settings, "auto-sync"))
    seal_delay_restart (self);
  self->waiting_seen = st.waiting;
  return G_SOURCE_REMOVE;
}

/* ---- the run and its outcome ---------------------------------------------------- */

/* Toasts only: nothing here may stop the clerk's work. */
static void
show_outcome (FkAutoSync         *self,
              const FkSyncReport *report,
              const GError       *error)
{
  g_autofree char *sent = NULL;
  g_autofree char *answers = NULL;
  guint refused = report->quarantined > self->quarantined_before ? report->quarantined - self->quarantined_before : 0;

  if (report->uploaded == 1)
    sent = g_strdup (_("1 case sent to the office"));
  else if (report->uploaded > 1)
    sent = g_strdup_printf (_("%u cases sent to the office"), report->uploaded);
  if (report->answers == 1)
    answers = g_strdup (_("1 answer from the office"));
  else if (report->answers > 1)
    answers = g_strdup_printf (_("%u answers from the office"), report->answers);
  if (sent && answers)
    {
      g_autofree char *both = g_strdup_printf ("%s · %s", sent, answers);

      fk_window_toast (self->window, both);
    }
  else if (sent || answers)
    fk_window_toast (self->window, sent ? sent : answers);

  if (refused == 1)
    fk_window_toast (self->window, _("The office refused a case: see Sync"));
  else if (refused > 1)
    {
      g_autofree char *text = g_strdup_printf (_("The office refused %u cases: see Sync"), refused);

      fk_window_toast (self->window, text);
    }

  /* The same failure is shown once, not at every retry. */
  if (error != NULL && !is_transient (error) && g_strcmp0 (error->message, self->error_shown) != 0)
    {
      g_autofree char *text = g_strdup_printf (_("Automatic sync did not finish: %s"), error->message);

      fk_window_toast (self->window, text);
      g_free (self->error_shown);
      self->error_shown = g_strdup (error->message);
    }
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(FkAutoSync) self = user_data;
  g_autoptr(GError) error = NULL;
  FkSyncReport report = { 0 };
  gboolean ok = fk_sync_run_finish (result, &report, &error);
  gboolean cancelled = g_cancellable_is_cancelled (self->cancellable);
  FkStore *store;
  OutboxState st = { 0 };

  self->running = FALSE;
  g_clear_object (&self->cancellable);
  if (self->window == NULL)
    {
      fk_sync_report_clear (&report);
      return;
    }
  /* The pages, the shared flag and a revocation: as after the Sync page's run. */
  fk_window_sync_finished (self->window, ok, report.revoked);
  if (report.revoked)
    {
      /* The data folder is wiped: nothing is left to send. */
      self->revoked = TRUE;
      stop_timers (self);
      fk_sync_report_clear (&report);
      return;
    }
  if (cancelled)
    {
      /* Locked or switched off meanwhile; signed in again already, the run
       * that could not start then starts now. */
      fk_sync_report_clear (&report);
      try_start (self);
      return;
    }
  if (fk_window_passphrase (self->window) == NULL)
    {
      /* Locked after the run had done its work: show nothing. */
      fk_sync_report_clear (&report);
      return;
    }
  show_outcome (self, &report, error);
  if (ok)
    g_clear_pointer (&self->error_shown, g_free);

  /* What is left decides what comes next.  With the store lent to a job the
   * report's count stands in, and the job's end looks again (check_cb). */
  store = usable_store (self);
  if (store != NULL)
    outbox_state (store, &st);
  else
    st.waiting = report.waiting;
  self->waiting_seen = st.waiting;
  if (st.waiting == 0)
    self->failures = 0;
  else if (ok && st.fresh > 0 && self->online)
    /* Sealed while the run was going, so not in its list: soon, as after
     * any seal. */
    seal_delay_restart (self);
  else
    retry_later (self, store ? &st : NULL);
  fk_sync_report_clear (&report);
}

static void
start_run (FkAutoSync        *self,
           FkStore           *store,
           const OutboxState *st)
{
  g_clear_handle_id (&self->seal_source, g_source_remove);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  self->cancellable = g_cancellable_new ();
  self->running = TRUE;
  self->n_runs++;
  self->last_attempt = g_get_monotonic_time ();
  self->quarantined_before = st->quarantined;
  fk_window_sync_started (self->window);
  fk_sync_run_async (fk_window_data_dir (self->window), fk_store_operator (store),
                     fk_window_passphrase (self->window), NULL, NULL, self->cancellable,
                     run_done_cb, g_object_ref (self));
}

/* Starts a run when everything listed in the header holds; returns whether
 * it did.  Every trigger ends here. */
static gboolean
try_start (FkAutoSync *self)
{
  FkStore *store;
  OutboxState st;

  if (self->window == NULL || self->revoked)
    return FALSE;
  if (fk_window_is_busy (self->window))
    {
      self->pending = TRUE;
      return FALSE;
    }
  store = usable_store (self);
  if (store == NULL)
    return FALSE;
  outbox_state (store, &st);
  self->waiting_seen = st.waiting;
  if (!g_settings_get_boolean (self->settings, "auto-sync") || !self->online || self->running ||
      fk_window_sync_running (self->window) || !fk_store_is_enrolled (store))
    return FALSE;
  if (st.waiting == 0 && !answers_due (self, store))
    return FALSE;
  start_run (self, store, &st);
  return TRUE;
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
setting_changed_cb (GSettings  *settings,
                    const char *key,
                    FkAutoSync *self)
{
  if (g_settings_get_boolean (settings, "auto-sync"))
    {
      self->failures = 0;
      try_start (self);
    }
  else
    fk_auto_sync_stop (self);
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_auto_sync_dispose (GObject *object)
{
  fk_auto_sync_close (FK_AUTO_SYNC (object));
  G_OBJECT_CLASS (fk_auto_sync_parent_class)->dispose (object);
}

static void
fk_auto_sync_finalize (GObject *object)
{
  FkAutoSync *self = FK_AUTO_SYNC (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->error_shown, g_free);
  G_OBJECT_CLASS (fk_auto_sync_parent_class)->finalize (object);
}

/* ---- class_init / init --------------------------------------------------------- */

static void
fk_auto_sync_class_init (FkAutoSyncClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = fk_auto_sync_dispose;
  G_OBJECT_CLASS (klass)->finalize = fk_auto_sync_finalize;
}

static void
fk_auto_sync_init (FkAutoSync *self)
{
}

/* ---- public API ---------------------------------------------------------------- */

static gboolean
poll_cb (gpointer user_data)
{
  try_start (user_data);
  return G_SOURCE_CONTINUE;
}

/* A whole number of seconds from the environment, for the tests only. */
static guint
env_seconds (const char *name,
             guint       fallback)
{
  const char *v = g_getenv (name);
  guint64 n;

  if (v != NULL && g_ascii_string_to_unsigned (v, 10, 1, 86400, &n, NULL))
    return (guint) n;
  return fallback;
}

FkAutoSync *
fk_auto_sync_new (FkWindow *window,
                  gboolean  network_available)
{
  FkAutoSync *self = g_object_new (FK_TYPE_AUTO_SYNC, NULL);

  self->answers_us = (gint64) env_seconds ("FIELDKIT_AUTO_SYNC_ANSWERS_S", FK_AUTO_SYNC_ANSWERS_MINUTES * 60)
                     * G_USEC_PER_SEC;
  self->poll_source = g_timeout_add_seconds (env_seconds ("FIELDKIT_AUTO_SYNC_POLL_S", FK_AUTO_SYNC_POLL_S),
                                             poll_cb, self);

  self->window = window;
  self->online = network_available;
  self->settings = g_object_ref (fk_window_settings (window));
  self->settings_handler = g_signal_connect (self->settings, "changed::auto-sync",
                                             G_CALLBACK (setting_changed_cb), self);
  return self;
}

void
fk_auto_sync_network_changed (FkAutoSync *self,
                              gboolean    available)
{
  gboolean was = self->online;

  self->online = available;
  if (!available)
    {
      /* Nothing can go up now; the network's return starts afresh. */
      g_clear_handle_id (&self->seal_source, g_source_remove);
      g_clear_handle_id (&self->retry_source, g_source_remove);
      return;
    }
  if (!was)
    {
      self->failures = 0;
      try_start (self);
    }
}

void
fk_auto_sync_signed_in (FkAutoSync *self)
{
  self->failures = 0;
  g_clear_pointer (&self->error_shown, g_free);
  try_start (self);
}

void
fk_auto_sync_store_changed (FkAutoSync *self)
{
  /* Later, not now: the caller is in the middle of a job's answer and may
   * hand the store to the next job at once. */
  if (self->window != NULL && self->check_source == 0)
    self->check_source = g_idle_add (check_cb, self);
}

void
fk_auto_sync_stop (FkAutoSync *self)
{
  stop_timers (self);
  /* The flag stays up until the worker is back (run_done_cb), so no other
   * run can start while this one still holds the data folder. */
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
}

void
fk_auto_sync_close (FkAutoSync *self)
{
  fk_auto_sync_stop (self);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->settings_handler)
    g_clear_signal_handler (&self->settings_handler, self->settings);
  g_clear_object (&self->settings);
  self->window = NULL;
}

gboolean
fk_auto_sync_is_running (FkAutoSync *self)
{
  return self->running;
}

guint
fk_auto_sync_n_runs (FkAutoSync *self)
{
  return self->n_runs;
}
