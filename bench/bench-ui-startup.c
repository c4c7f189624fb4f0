/* bench-ui-startup.c — time from launch to the FieldKit sign-in window
 * mapped, against a minimal libadwaita window launched the same way in the
 * same run (docs/PERFORMANCE.md, "Window start-up").  Goal: ≤ 1.5× the
 * minimal window.
 *
 * One program, two roles:
 *
 *   bench-ui-startup --window   the baseline: an AdwApplication (with an
 *                               application id, registered on the session
 *                               bus like FieldKit) whose activate presents
 *                               one AdwApplicationWindow of FieldKit's
 *                               default size with a header bar and a label;
 *   bench-ui-startup            the driver: makes a data folder with one
 *                               operator (so FieldKit opens on sign-in),
 *                               then launches the baseline and FieldKit
 *                               alternately, --runs times each after
 *                               --warmup untimed launches of each.
 *
 * Both programs print "FIELDKIT_BENCH_MAPPED <µs>" from their window's
 * "map" signal when FIELDKIT_BENCH_MAPPED=1 is set, and quit (the hook in
 * ui/fk-window.c).  The clock is g_get_monotonic_time (CLOCK_MONOTONIC,
 * the same for every process), so the driver reads its own clock just
 * before spawning and subtracts: the figure covers exec, dynamic linking,
 * GTK and libadwaita start-up, the application's own start-up (FieldKit:
 * libsodium, settings, opening the store, building the window) up to the
 * window being mapped.  Each launch is waited for before the next (FieldKit
 * is a single-instance application).  Both get the same environment:
 * GDK_BACKEND=x11, GSETTINGS_BACKEND=memory, LC_ALL=C.UTF-8.
 *
 * Needs a display and a session bus: bench/bench-ui-startup.sh runs it
 * under xvfb-run and dbus-run-session.  Without a display it exits 77.
 * Nothing here asserts a timing; this is not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "app/fk-store.h"
#include "crypto/fk-crypto.h"

#define GOAL_RATIO 1.5
#define MARK       "FIELDKIT_BENCH_MAPPED "

/* ---- options ------------------------------------------------------------------ */

static gboolean opt_window = FALSE;
static gint opt_runs = 10;
static gint opt_warmup = 2;
static gchar *opt_fieldkit = NULL;
static gchar *opt_dir = NULL;

static const GOptionEntry options[] = {
  { "window", 0, 0, G_OPTION_ARG_NONE, &opt_window, "Be the baseline window (used by the driver)", NULL },
  { "runs", 'n', 0, G_OPTION_ARG_INT, &opt_runs, "Timed launches of each program (default 10)", "N" },
  { "warmup", 0, 0, G_OPTION_ARG_INT, &opt_warmup, "Untimed launches of each first (default 2)", "N" },
  { "fieldkit", 0, 0, G_OPTION_ARG_FILENAME, &opt_fieldkit, "The fieldkit program (default: the one in this build tree)", "PATH" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Where to make the data folder (default: a temporary folder)", "DIR" },
  { NULL }
};

/* ---- the baseline window ------------------------------------------------------- */

static void
baseline_mapped_cb (GtkWidget *widget,
                    gpointer   user_data)
{
  printf (MARK "%" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fflush (stdout);
  g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (widget))));
}

static void
baseline_activate_cb (GApplication *app,
                      gpointer      user_data)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (app));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *label = gtk_label_new ("A minimal libadwaita window");

  gtk_window_set_title (GTK_WINDOW (window), "Baseline");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_widget_set_vexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  if (g_getenv ("FIELDKIT_BENCH_MAPPED"))
    g_signal_connect (window, "map", G_CALLBACK (baseline_mapped_cb), NULL);
  gtk_window_present (GTK_WINDOW (window));
}

static int
baseline_main (void)
{
  g_autoptr(AdwApplication) app = adw_application_new ("io.github.fieldkit.BenchBaseline", G_APPLICATION_DEFAULT_FLAGS);
  char *argv[] = { (char *) "bench-ui-startup", NULL };

  g_signal_connect (app, "activate", G_CALLBACK (baseline_activate_cb), NULL);
  return g_application_run (G_APPLICATION (app), 1, argv);
}

/* ---- the driver ---------------------------------------------------------------- */

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
median (GArray *samples)
{
  g_autoptr(GArray) sorted = g_array_copy (samples);
  guint n = sorted->len;

  if (n == 0)
    return 0;
  g_array_sort (sorted, compare_gint64);
  if (n % 2)
    return g_array_index (sorted, gint64, n / 2);
  return (g_array_index (sorted, gint64, n / 2 - 1) + g_array_index (sorted, gint64, n / 2)) / 2;
}

static gint64
minimum (GArray *samples)
{
  gint64 m = G_MAXINT64;

  for (guint i = 0; i < samples->len; i++)
    m = MIN (m, g_array_index (samples, gint64, i));
  return samples->len ? m : 0;
}

/* Launches argv with envp, returns µs from just before the spawn to the
 * mapped mark the program printed (-1 if it printed none), and waits for
 * it to exit. */
static gint64
launch (char **argv,
        char **envp)
{
  g_autoptr(GError) error = NULL;
  GPid pid;
  int out_fd = -1;
  gint64 start, mapped = -1;
  GString *text = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  int status = 0;
  const char *mark;

  start = g_get_monotonic_time ();
  if (!g_spawn_async_with_pipes (NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, &pid, NULL, &out_fd, NULL, &error))
    g_error ("%s: %s", argv[0], error->message);
  /* Read until the program exits (it quits right after the mark). */
  while ((n = read (out_fd, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      g_string_append_len (text, buf, n);
    }
  close (out_fd);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (pid);
  mark = strstr (text->str, MARK);
  if (mark)
    mapped = g_ascii_strtoll (mark + strlen (MARK), NULL, 10) - start;
  if (mapped < 0)
    g_printerr ("%s printed no mapped mark (exit status %d): %s\n", argv[0], status, text->str);
  g_string_free (text, TRUE);
  return mapped;
}

static char *
make_data_folder (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *recovery = NULL;
  FkStore *store;

  if (opt_dir)
    {
      g_mkdir_with_parents (opt_dir, 0700);
      dir = g_build_filename (opt_dir, "bench-ui-startup-XXXXXX", NULL);
      if (g_mkdtemp (dir) == NULL)
        g_error ("%s: %s", dir, g_strerror (errno));
    }
  else if ((dir = g_dir_make_tmp ("bench-ui-startup-XXXXXX", &error)) == NULL)
    g_error ("%s", error->message);
  /* The operator keyslot with the test limits: the sign-in page only reads
   * who the operators are. */
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  if (!fk_crypto_init (&error))
    g_error ("%s", error->message);
  store = fk_store_open (dir, &error);
  if (store == NULL ||
      !fk_store_init_device (store, "ann", "Chen Mei-ling", "bench passphrase for ann", "TCN", 1, &recovery, &error))
    g_error ("%s", error->message);
  fk_store_close (store);
  return g_steal_pointer (&dir);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static double
load_average (void)
{
  double load = -1;
  FILE *f = fopen ("/proc/loadavg", "r");

  if (f)
    {
      if (fscanf (f, "%lf", &load) != 1)
        load = -1;
      fclose (f);
    }
  return load;
}

/* The two ways GTK can draw here: with OpenGL (under Xvfb that is Mesa's
 * software llvmpipe, whose context set-up is a large fixed cost for both
 * programs) and without (GDK_DEBUG=gl-disable: the cairo renderer), where
 * the fixed cost is smaller and the ratio stricter. */
static const struct {
  const char *name;
  const char *gdk_debug;
} modes[] = {
  { "GL", NULL },
  { "no GL", "gl-disable" },
};
#define N_MODES G_N_ELEMENTS (modes)

static int
driver_main (const char *self_path)
{
  g_autofree char *dir = make_data_folder ();
  g_autofree char *fieldkit = g_strdup (opt_fieldkit ? opt_fieldkit : FK_BENCH_FIELDKIT);
  char *base_argv[] = { (char *) self_path, (char *) "--window", NULL };
  char *fk_argv[] = { fieldkit, (char *) "--data-dir", dir, NULL };
  GStrv envp[N_MODES];
  GArray *base[N_MODES], *fk[N_MODES];
  double load_start = load_average (), load_end;
  GString *summary = g_string_new ("summary startup");

  for (guint m = 0; m < N_MODES; m++)
    {
      envp[m] = g_get_environ ();
      envp[m] = g_environ_setenv (envp[m], "FIELDKIT_BENCH_MAPPED", "1", TRUE);
      envp[m] = g_environ_setenv (envp[m], "GDK_BACKEND", "x11", TRUE);
      envp[m] = g_environ_setenv (envp[m], "GSETTINGS_BACKEND", "memory", TRUE);
      envp[m] = g_environ_setenv (envp[m], "LC_ALL", "C.UTF-8", TRUE);
      envp[m] = g_environ_unsetenv (envp[m], "FIELDKIT_KDF");
      envp[m] = g_environ_unsetenv (envp[m], "GSK_RENDERER");
      if (modes[m].gdk_debug)
        envp[m] = g_environ_setenv (envp[m], "GDK_DEBUG", modes[m].gdk_debug, TRUE);
      else
        envp[m] = g_environ_unsetenv (envp[m], "GDK_DEBUG");
      base[m] = g_array_new (FALSE, FALSE, sizeof (gint64));
      fk[m] = g_array_new (FALSE, FALSE, sizeof (gint64));
    }

  printf ("Window start-up: launch to the window mapped, %d runs each, alternating (after %d warm-up runs each)\n",
          opt_runs, opt_warmup);
  printf ("fieldkit: %s\ndata folder: %s\n\n", fieldkit, dir);
  printf ("%-4s", "run");
  for (guint m = 0; m < N_MODES; m++)
    printf ("  %9s base ms  %9s fk ms", modes[m].name, modes[m].name);
  printf ("\n");
  for (int i = -opt_warmup; i < opt_runs; i++)
    {
      if (i < 0)
        printf ("%-4s", "warm");
      else
        printf ("%-4d", i + 1);
      for (guint m = 0; m < N_MODES; m++)
        {
          gint64 b = launch (base_argv, envp[m]);
          gint64 f = launch (fk_argv, envp[m]);

          if (b < 0 || f < 0)
            g_error ("a launch did not map its window (is there a display and a session bus?)");
          printf ("  %17.1f  %15.1f", b / 1000.0, f / 1000.0);
          if (i >= 0)
            {
              g_array_append_val (base[m], b);
              g_array_append_val (fk[m], f);
            }
        }
      printf ("\n");
      fflush (stdout);
    }
  load_end = load_average ();

  printf ("\n");
  for (guint m = 0; m < N_MODES; m++)
    {
      gint64 base_med = median (base[m]);
      gint64 fk_med = median (fk[m]);
      double ratio = base_med > 0 ? (double) fk_med / (double) base_med : 0;
      g_autofree char *key = g_ascii_strdown (modes[m].name, -1);

      g_strdelimit (key, " ", '_');
      printf ("%-6s baseline median %7.1f ms (min %7.1f)   fieldkit median %7.1f ms (min %7.1f)   ratio %.2f× (goal ≤ %.1f×: %s)\n",
              modes[m].name, base_med / 1000.0, minimum (base[m]) / 1000.0, fk_med / 1000.0, minimum (fk[m]) / 1000.0,
              ratio, GOAL_RATIO, ratio <= GOAL_RATIO ? "met" : "missed");
      g_string_append_printf (summary, " %s_baseline_ms=%.1f %s_fieldkit_ms=%.1f %s_ratio=%.2f",
                              key, base_med / 1000.0, key, fk_med / 1000.0, key, ratio);
      g_array_unref (base[m]);
      g_array_unref (fk[m]);
      g_strfreev (envp[m]);
    }
  printf ("load average (1 min) %.2f at start, %.2f at end\n", load_start, load_end);
  printf ("%s runs=%d load=%.2f\n", summary->str, opt_runs, load_end);
  g_string_free (summary, TRUE);
  remove_tree (dir);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— FieldKit window start-up against a minimal libadwaita window");
  g_autoptr(GError) error = NULL;
  g_autofree char *self_path = NULL;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_window)
    return baseline_main ();
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_printerr ("no display: skipped (run bench/bench-ui-startup.sh, which uses xvfb-run)\n");
      return 77;
    }
  if (opt_runs < 1)
    opt_runs = 1;
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  return driver_main (self_path ? self_path : argv[0]);
}
