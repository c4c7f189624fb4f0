/* test-crash.c — the store survives being killed at any moment.
 *
 * The test runs itself again as a child ("--crash-child DIR") that opens
 * the store, unlocks and creates cases in a loop, printing "committed ID"
 * after each fk_store_case_new that returned success.  The parent kills it
 * with SIGKILL after a random few milliseconds, forty times on the same
 * data folder, and after each kill checks that the file is sound, that
 * every case the child reported is there and opens, and that the audit log
 * verifies.  (g_test_trap_subprocess cannot be killed at a random point,
 * hence the plain spawn.)
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/fk-test-util.h"

#define ROUNDS 40

static char *self_path;

/* ---- the child ----------------------------------------------------------- */

static int
crash_child (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = fk_store_open (dir, &error);
  g_autofree char *pid_text = fk_test_national_id ('T', 1, (guint) getpid ());

  if (store == NULL || !fk_store_unlock (store, "ann", FK_TEST_PASS_ANN, &error))
    {
      fprintf (stderr, "child: %s\n", error->message);
      return 1;
    }
  printf ("ready\n");
  fflush (stdout);
  for (guint i = 0;; i++)
    {
      /* Photos of a few sizes, so the kill lands in transactions of
       * different lengths. */
      gsize size = (i % 4) * 24 * 1024;
      guint8 *bytes = g_malloc (size + 1);
      g_autoptr(GBytes) photo = NULL;
      g_autofree char *name = g_strdup_printf ("Crash Test %u", i);
      gint64 id;

      memset (bytes, (int) (i & 0xff), size + 1);
      photo = g_bytes_new_take (bytes, size + 1);
      id = fk_test_cert_case (store, "O1", pid_text, name, size ? photo : NULL, &error);
      if (id <= 0)
        {
          fprintf (stderr, "child: %s\n", error->message);
          return 1;
        }
      printf ("committed %" G_GINT64_FORMAT "\n", id);
      fflush (stdout);
    }
  return 0;
}

/* ---- the parent ------------------------------------------------------------ */

/* Checks the store after a kill: sound file, every case in `reported`
 * (this round's) there and opening, audit log intact.  `deep` also opens
 * every record and attachment (fk_store_verify_records); that grows with
 * the store, so it runs every few rounds and at the end. */
static void
check_store (const char *dir, GArray *reported, guint from, gboolean deep)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = fk_test_store_open_as (dir, "ann", FK_TEST_PASS_ANN);
  g_autofree char *integrity = fk_test_integrity (fk_store_db (store));

  g_assert_cmpstr (integrity, ==, "ok");
  for (guint i = from; i < reported->len; i++)
    {
      gint64 id = g_array_index (reported, gint64, i);
      g_autoptr(FkCase) c = fk_store_case_get (store, id, &error);

      g_assert_no_error (error);
      g_assert_nonnull (c);
      g_assert_null (c->damaged);
      g_assert_true (g_str_has_prefix (c->name, "Crash Test "));
    }
  g_assert_cmpint (fk_test_int (fk_store_db (store), "SELECT COUNT(*) FROM cases"), >=, reported->len);
  /* Every attachment belongs to a case that exists. */
  g_assert_cmpint (fk_test_int (fk_store_db (store),
                                "SELECT COUNT(*) FROM attachments WHERE case_id NOT IN (SELECT id FROM cases)"), ==, 0);
  fk_test_assert_audit_intact (store);
  if (deep)
    {
      g_autoptr(GPtrArray) damage = fk_store_verify_records (store, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (damage->len, ==, 0);
      for (guint i = 0; i < reported->len; i++)
        {
          g_autoptr(FkCase) c = fk_store_case_get (store, g_array_index (reported, gint64, i), &error);

          g_assert_no_error (error);
          g_assert_null (c->damaged);
        }
    }
}

static void
test_sigkill (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = fk_test_make_tmp ();
  g_autoptr(GArray) reported = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint n_before_ready = 0;

  {
    g_autoptr(FkStore) store = fk_test_store_new (dir, NULL);
    g_autofree char *outing = fk_test_outing (store);

    g_assert_cmpstr (outing, ==, "O1");
  }

  for (guint round = 0; round < ROUNDS; round++)
    {
      const char *argv[] = { self_path, "--crash-child", dir, NULL };
      /* Odd rounds wait for the child to be unlocked, so the kill lands
       * among the cases; even rounds may kill it while it opens. */
      gboolean wait_ready = round % 2 == 1;
      guint delay_ms = (guint) g_test_rand_int_range (5, 151);
      GPid pid = 0;
      int out_fd = -1;
      int status = 0;
      FILE *out;
      char line[128];
      gboolean ready = FALSE;
      guint from = reported->len;

      g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, NULL, &out_fd, NULL, &error);
      g_assert_no_error (error);
      out = fdopen (out_fd, "r");
      g_assert_nonnull (out);
      if (wait_ready)
        {
          g_assert_nonnull (fgets (line, sizeof line, out));
          g_assert_cmpstr (line, ==, "ready\n");
          ready = TRUE;
        }
      g_usleep (delay_ms * 1000);
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_spawn_close_pid (pid);
      /* Killed, not ended by a failure of its own. */
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

      while (fgets (line, sizeof line, out) != NULL)
        {
          gint64 id;

          if (g_str_equal (line, "ready\n"))
            {
              ready = TRUE;
              continue;
            }
          /* A line cut off by the kill was never a report. */
          if (!g_str_has_suffix (line, "\n"))
            break;
          g_assert_true (g_str_has_prefix (line, "committed "));
          id = g_ascii_strtoll (line + strlen ("committed "), NULL, 10);
          g_assert_cmpint (id, >, 0);
          g_array_append_val (reported, id);
        }
      fclose (out);
      if (!ready)
        n_before_ready++;

      check_store (dir, reported, from, round % 10 == 9);
    }

  g_test_message ("%u rounds, %u killed before unlocking, %u cases committed and reported in total",
                  ROUNDS, n_before_ready, reported->len);
  g_assert_cmpuint (reported->len, >, 0);
  fk_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--crash-child"))
    return crash_child (argv[2]);

  self_path = g_canonicalize_filename (argv[0], NULL);
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/crash/sigkill", test_sigkill);

  return g_test_run ();
}
