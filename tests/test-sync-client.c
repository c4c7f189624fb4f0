/* test-sync-client.c — the device side's async API (what the window uses),
 * its progress reports and cancellation, and the retry backoff, against a
 * real office server on 127.0.0.1 started in this process. */
#include <string.h>

#include "app/fk-audit.h"
#include "app/fk-packet.h"
#include "app/fk-store.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"
#include "sync/fk-sync.h"

#include "fk-test-office.h"

typedef struct {
  char           *root;
  FkOfficeStore  *office;
  FkOfficeKeys   *keys;
  FkOfficeServer *server;
  char           *url;
  FkStore        *device;
  char           *device_dir;
  char           *outing;
} Fixture;

static gint64
sealed_case (Fixture    *f,
             const char *person_id,
             gsize       photo_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GBytes) photo = NULL;
  guint8 *bytes = g_malloc (photo_size);
  FkCaseInput in = { 0 };
  gint64 id;

  randombytes_buf (bytes, photo_size);
  photo = g_bytes_new_take (bytes, photo_size);
  g_hash_table_insert (fields, "reason", "damaged");
  in.outing_id = f->outing;
  in.service = "id_card_replace";
  in.person_id = person_id;
  in.name = "測試人";
  in.birth_date = "1960-01-02";
  in.fields = fields;
  in.photo = photo;
  in.photo_mime = "image/jpeg";
  id = fk_store_case_new (f->device, &in, &error);
  g_assert_no_error (error);
  g_assert_true (fk_store_case_tick (f->device, id, NULL, TRUE, &error));
  g_assert_true (fk_store_case_check (f->device, id, &error));
  g_assert_true (fk_store_case_approve_as (f->device, id, "bob", FK_TEST_PASS_BOB, &error));
  g_assert_true (fk_store_case_finalize (f->device, id, NULL, &error));
  g_assert_no_error (error);
  return id;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *office_dir = NULL;

  f->root = fk_test_make_tmp ();
  office_dir = g_build_filename (f->root, "office", NULL);
  f->office = fk_test_office_new (office_dir, &f->keys);
  /* `data`: the office's fault script (tests only), or NULL. */
  f->server = fk_test_office_start (f->office, f->keys, &(FkOfficeServerOptions) { .faults = data }, &f->url);

  f->device_dir = g_build_filename (f->root, "device", NULL);
  f->device = fk_test_store_new (f->device_dir, NULL);
  g_assert_true (fk_store_operator_add (f->device, "bob", "Checker", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  f->outing = fk_test_outing (f->device);
  fk_test_enroll (f->device, f->office, f->keys, f->url);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->device, fk_store_close);
  fk_office_server_stop (f->server, 5);
  g_clear_pointer (&f->keys, fk_office_keys_free);
  g_clear_pointer (&f->office, fk_office_store_free);
  fk_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->url);
  g_free (f->device_dir);
  g_free (f->outing);
}

/* ---- async run with progress ----------------------------------------------- */

typedef struct {
  GMainLoop    *loop;
  FkSyncReport  report;
  GError       *error;
  gboolean      ok;
  guint         progress_calls;
  gsize         last_done;
  GThread      *main_thread;
  gboolean      progress_off_main;
} RunState;

static void
progress_cb (const char *packet_id,
             gsize       done,
             gsize       total,
             gpointer    user_data)
{
  RunState *s = user_data;

  g_atomic_int_inc (&s->progress_calls);
  if (g_thread_self () != s->main_thread)
    s->progress_off_main = TRUE;
  g_assert_cmpuint (done, <=, total);
  s->last_done = done;
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RunState *s = user_data;

  s->ok = fk_sync_run_finish (result, &s->report, &s->error);
  g_main_loop_quit (s->loop);
}

static void
test_async_run (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  RunState s = { 0 };

  sealed_case (f, "A123456789", 300 * 1024);
  sealed_case (f, "B220000019", 10 * 1024);
  s.loop = g_main_loop_new (NULL, FALSE);
  s.main_thread = g_thread_self ();
  fk_sync_run_async (f->device_dir, "ann", FK_TEST_PASS_ANN, progress_cb, &s, NULL, run_done_cb, &s);
  g_main_loop_run (s.loop);
  g_assert_no_error (s.error);
  g_assert_true (s.ok);
  g_assert_cmpuint (s.report.uploaded, ==, 2);
  g_assert_cmpuint (s.report.cases->len, ==, 2);
  /* Progress comes from the worker thread, at least a start and an end per packet. */
  g_assert_cmpuint (s.progress_calls, >=, 4);
  g_assert_true (s.progress_off_main);
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 2);

  /* The main handle sees what the worker did. */
  outbox = fk_store_outbox (f->device, TRUE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < outbox->len; i++)
    g_assert_cmpstr (((FkOutboxItem *) outbox->pdata[i])->state, ==, "acked");
  fk_sync_report_clear (&s.report);
  g_main_loop_unref (s.loop);
}

static void
test_async_wrong_passphrase (Fixture       *f,
                             gconstpointer  data)
{
  RunState s = { 0 };

  s.loop = g_main_loop_new (NULL, FALSE);
  s.main_thread = g_thread_self ();
  fk_sync_run_async (f->device_dir, "ann", "not the passphrase", NULL, NULL, NULL, run_done_cb, &s);
  g_main_loop_run (s.loop);
  g_assert_false (s.ok);
  g_assert_error (s.error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&s.error);
  fk_sync_report_clear (&s.report);
  g_main_loop_unref (s.loop);
}

static void
test_async_cancel (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  RunState s = { 0 };

  sealed_case (f, "A123456789", 64 * 1024);
  g_cancellable_cancel (cancellable);
  s.loop = g_main_loop_new (NULL, FALSE);
  s.main_thread = g_thread_self ();
  fk_sync_run_async (f->device_dir, "ann", FK_TEST_PASS_ANN, NULL, NULL, cancellable, run_done_cb, &s);
  g_main_loop_run (s.loop);
  g_assert_false (s.ok);
  g_assert_nonnull (s.error);
  /* Nothing reached the office; the packet still waits. */
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 0);
  g_clear_error (&s.error);
  fk_sync_report_clear (&s.report);
  g_main_loop_unref (s.loop);
}

/* The audit log goes up in parts under the office's 1 MiB body limit: a
 * device with hundreds of entries still syncs, and the office holds them
 * all with an intact chain. */
static void
test_audit_in_parts (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeDevice) device = NULL;
  g_autoptr(GPtrArray) local = NULL;
  g_autofree char *reason = NULL;
  FkSyncReport report;
  gint64 first_bad = -1;
  guint n = 0;

  for (int i = 0; i < 110; i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, i);

      sealed_case (f, pid, 256);
    }
  g_assert_true (fk_sync_run (f->device, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.uploaded, ==, 110);
  fk_sync_report_clear (&report);

  local = fk_audit_entries (fk_store_db (f->device), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local->len, >, 500);
  device = fk_office_store_get_device (f->office, "1", &error);
  g_assert_no_error (error);
  g_assert_true (fk_office_audit_verify (f->office, device->device_id, &n, &first_bad, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (first_bad, ==, 0);
  /* Every entry up to the sync is at the office (the sync itself may add a
   * few entries after the last upload). */
  g_assert_cmpuint (n, >=, local->len - 10);
}

/* The packets the workers hold in memory at once stay within
 * FIELDKIT_SYNC_BYTES_IN_FLIGHT (one packet always goes, however large):
 * with a budget smaller than any packet they go one at a time, all of
 * them; without it, several are in flight together. */
typedef struct {
  GMutex      lock;
  GHashTable *open;        /* packet ids started and not finished */
  guint       max_open;
} Flight;

static void
flight_cb (const char *packet_id,
           gsize       done,
           gsize       total,
           gpointer    user_data)
{
  Flight *fl = user_data;

  g_mutex_lock (&fl->lock);
  if (done < total)
    g_hash_table_add (fl->open, g_strdup (packet_id));
  else
    g_hash_table_remove (fl->open, packet_id);
  fl->max_open = MAX (fl->max_open, g_hash_table_size (fl->open));
  g_mutex_unlock (&fl->lock);
}

static guint
max_in_flight (Fixture    *f,
               const char *budget,
               guint       first_serial)
{
  g_autoptr(GError) error = NULL;
  Flight fl = { .open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  FkSyncReport report;

  g_mutex_init (&fl.lock);
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, first_serial + i);

      sealed_case (f, pid, 300 * 1024);
    }
  if (budget)
    g_setenv ("FIELDKIT_SYNC_BYTES_IN_FLIGHT", budget, TRUE);
  g_assert_true (fk_sync_run (f->device, flight_cb, &fl, &report, NULL, &error));
  g_unsetenv ("FIELDKIT_SYNC_BYTES_IN_FLIGHT");
  g_assert_no_error (error);
  g_assert_cmpuint (report.uploaded, ==, 8);
  fk_sync_report_clear (&report);
  g_hash_table_unref (fl.open);
  g_mutex_clear (&fl.lock);
  return fl.max_open;
}

static void
test_bytes_in_flight (Fixture       *f,
                      gconstpointer  data)
{
  g_assert_cmpuint (max_in_flight (f, "1000", 6000), ==, 1);
  g_assert_cmpuint (max_in_flight (f, NULL, 6100), >, 1);
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 16);
}

/* What the device no longer needs goes after the ack — the photo (its key
 * erased), the personal record, and the device's own sealed copy of the
 * packet — and the space is used again: a second day of cases with photos
 * grows the file by much less than one day's packets would. */
static gint64
db_pages (FkStore *store)
{
  sqlite3_stmt *st = NULL;
  gint64 n = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (fk_store_db (store), "PRAGMA page_count", -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

static void
test_space_reused (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  FkSyncReport report;
  gint64 day1, day2, packet_pages = 0;   /* one day's packets, in 4 KiB pages */

  for (int day = 0; day < 2; day++)
    {
      for (int i = 0; i < 10; i++)
        {
          g_autofree char *pid = fk_test_national_id ('A', 1, 5000 + day * 100 + i);

          sealed_case (f, pid, 200 * 1024);
        }
      if (day == 1)
        {
          g_autoptr(GPtrArray) outbox = fk_store_outbox (f->device, FALSE, &error);

          g_assert_no_error (error);
          for (guint i = 0; i < outbox->len; i++)
            packet_pages += (gint64) ((FkOutboxItem *) outbox->pdata[i])->size / 4096;
        }
      g_assert_true (fk_sync_run (f->device, NULL, NULL, &report, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (report.uploaded, ==, 10);
      fk_sync_report_clear (&report);
    }
  g_assert_cmpint (fk_test_int (fk_store_db (f->device), "SELECT COUNT(*) FROM outbox_packets"), ==, 0);
  /* A third day, measured from the second: the freed pages of two days'
   * photos and packets are there to be used again. */
  day1 = db_pages (f->device);
  for (int i = 0; i < 10; i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, 5300 + i);

      sealed_case (f, pid, 200 * 1024);
    }
  g_assert_true (fk_sync_run (f->device, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  fk_sync_report_clear (&report);
  day2 = db_pages (f->device);
  g_assert_cmpint (packet_pages, >, 400);
  g_assert_cmpint (day2 - day1, <, packet_pages / 4);
}

/* The audit log goes up while the packets do (sync/fk-sync.c, send_audit):
 * the office holds its first packet PUTs (more than there are workers) for
 * a second, and within that second, before any packet is stored, the
 * office already holds a body of the device's audit log.  After the run it
 * holds all of it, one intact chain, and the device's cursor is at its
 * last entry. */
typedef struct {
  FkOfficeStore *office;
  char          *device_id;
  gint64         audit_before_packets;   /* audit head seen while no packet was stored */
  gboolean       done;
} AuditWatch;

static gboolean
audit_watch_tick (gpointer data)
{
  AuditWatch *w = data;
  gint64 seq = 0;
  guint8 hash[32];

  if (w->done)
    return G_SOURCE_REMOVE;
  if (fk_office_store_count_packets (w->office) == 0 &&
      fk_office_store_audit_head (w->office, w->device_id, &seq, hash, NULL))
    w->audit_before_packets = MAX (w->audit_before_packets, seq);
  return G_SOURCE_CONTINUE;
}

static void
test_audit_during_uploads (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeDevice) device = NULL;
  g_autoptr(GPtrArray) local = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *sent = NULL;
  AuditWatch w = { 0 };
  RunState s = { 0 };
  gint64 first_bad = -1;
  guint n = 0;
  guint tick;

  for (int i = 0; i < 110; i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, 2000 + i);

      sealed_case (f, pid, 256);
    }
  device = fk_office_store_get_device (f->office, "1", &error);
  g_assert_no_error (error);
  w.office = f->office;
  w.device_id = device->device_id;
  tick = g_timeout_add (10, audit_watch_tick, &w);

  s.loop = g_main_loop_new (NULL, FALSE);
  s.main_thread = g_thread_self ();
  fk_sync_run_async (f->device_dir, "ann", FK_TEST_PASS_ANN, NULL, NULL, NULL, run_done_cb, &s);
  g_main_loop_run (s.loop);
  w.done = TRUE;
  g_source_remove (tick);
  g_assert_no_error (s.error);
  g_assert_true (s.ok);
  g_assert_cmpuint (s.report.uploaded, ==, 110);
  fk_sync_report_clear (&s.report);
  g_main_loop_unref (s.loop);

  /* A whole body went up while the uploads were held. */
  g_assert_cmpint (w.audit_before_packets, >=, 500);

  local = fk_audit_entries (fk_store_db (f->device), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (fk_office_audit_verify (f->office, device->device_id, &n, &first_bad, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (first_bad, ==, 0);
  sent = fk_store_get_setting (f->device, "audit_sent_seq");
  g_assert_nonnull (sent);
  g_assert_cmpint (g_ascii_strtoll (sent, NULL, 10), ==, (gint64) n);
  g_assert_cmpuint (n, >=, local->len - 10);
}

/* Acks are recorded behind the uploads (sync/fk-sync.c, Run): when the
 * device cannot record them (here a trigger refuses them, as a full disk
 * would), every case is reported waiting with the reason, nothing is lost
 * or duplicated at the office, and the next sync fetches the same acks and
 * records them. */
static void
test_ack_not_recorded (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  FkSyncReport report;
  sqlite3 *db = fk_store_db (f->device);

  for (int i = 0; i < 12; i++)
    {
      g_autofree char *pid = fk_test_national_id ('A', 1, 1000 + i);

      sealed_case (f, pid, 20000);
    }
  g_assert_cmpint (sqlite3_exec (db, "CREATE TEMP TRIGGER no_ack BEFORE UPDATE OF state ON main.outbox"
                                     " WHEN NEW.state = 'acked' BEGIN SELECT RAISE (ABORT, 'test: no room'); END",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_true (fk_sync_run (f->device, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.uploaded, ==, 0);
  g_assert_cmpuint (report.waiting, ==, 12);
  for (guint i = 0; i < report.cases->len; i++)
    {
      FkSyncCase *c = report.cases->pdata[i];

      g_assert_cmpstr (c->client_status, ==, "waiting");
      g_assert_nonnull (strstr (c->message, "could not record its acknowledgement"));
    }
  fk_sync_report_clear (&report);
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 12);

  g_assert_cmpint (sqlite3_exec (db, "DROP TRIGGER temp.no_ack", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_true (fk_sync_run (f->device, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.uploaded, ==, 12);
  g_assert_cmpuint (report.waiting, ==, 0);
  fk_sync_report_clear (&report);
  g_assert_cmpint (fk_office_store_count_packets (f->office), ==, 12);
  {
    g_autoptr(GPtrArray) outbox = fk_store_outbox (f->device, TRUE, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < outbox->len; i++)
      g_assert_cmpstr (((FkOutboxItem *) outbox->pdata[i])->state, ==, "acked");
  }
}

/* ---- backoff ----------------------------------------------------------------- */

static void
test_backoff (void)
{
  g_setenv ("FIELDKIT_BACKOFF_BASE_MS", "1000", TRUE);
  for (guint attempt = 0; attempt < 14; attempt++)
    {
      gint64 ceiling = MIN ((gint64) 600 * G_USEC_PER_SEC, (gint64) G_USEC_PER_SEC << attempt);
      gint64 lo = G_MAXINT64, hi = 0;

      for (int i = 0; i < 400; i++)
        {
          gint64 v = fk_sync_backoff_us (attempt);

          g_assert_cmpint (v, >=, 0);
          g_assert_cmpint (v, <=, ceiling);
          lo = MIN (lo, v);
          hi = MAX (hi, v);
        }
      /* Full jitter: the waits spread over the whole range, not a fixed step. */
      g_assert_cmpint (lo, <, ceiling / 4);
      g_assert_cmpint (hi, >, ceiling * 3 / 4);
    }
  /* The cap: ten minutes, however many attempts. */
  for (int i = 0; i < 200; i++)
    g_assert_cmpint (fk_sync_backoff_us (60), <=, (gint64) 600 * G_USEC_PER_SEC);
  g_setenv ("FIELDKIT_BACKOFF_BASE_MS", "50", TRUE);
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_setenv ("FIELDKIT_BACKOFF_BASE_MS", "50", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync/client/backoff", test_backoff);
  g_test_add ("/sync/client/async-run", Fixture, NULL, fixture_set_up, test_async_run, fixture_tear_down);
  g_test_add ("/sync/client/async-wrong-passphrase", Fixture, NULL, fixture_set_up, test_async_wrong_passphrase,
              fixture_tear_down);
  g_test_add ("/sync/client/async-cancel", Fixture, NULL, fixture_set_up, test_async_cancel, fixture_tear_down);
  g_test_add ("/sync/client/audit-in-parts", Fixture, NULL, fixture_set_up, test_audit_in_parts, fixture_tear_down);
  g_test_add ("/sync/client/audit-during-uploads", Fixture, "hang=1:16", fixture_set_up, test_audit_during_uploads,
              fixture_tear_down);
  g_test_add ("/sync/client/bytes-in-flight", Fixture, NULL, fixture_set_up, test_bytes_in_flight, fixture_tear_down);
  g_test_add ("/sync/client/space-reused", Fixture, NULL, fixture_set_up, test_space_reused, fixture_tear_down);
  g_test_add ("/sync/client/ack-not-recorded", Fixture, NULL, fixture_set_up, test_ack_not_recorded, fixture_tear_down);
  return g_test_run ();
}
