/* bench-ui-search.c — search as you type among 100,000 cases, in the real
 * window (docs/PERFORMANCE.md, "Search as you type").  Goal: under 50 ms a
 * keystroke.
 *
 * A data folder with --cases cases in one outing is made through the store
 * (fk_store_begin_batch/end_batch, FIELDKIT_KDF=test); names are drawn from
 * 30 surnames and 40 × 40 given-name characters, so a one-character prefix
 * matches a few thousand cases and a full name a handful.  Then, under a
 * display, the real FkWindow is opened on that folder, signed in, and the
 * outing shown (fk_window_show_outing: the store's cases into the page's
 * GListModel, the GtkListView over its GtkFilterListModel) — timed as
 * "opening the outing".  Each keystroke is then typed into the page's own
 * GtkSearchEntry (gtk_editable_insert_text / delete_text at the end, as
 * the keyboard does), so everything a keystroke sets off runs: the entry's
 * search-changed, the page's apply_search (the case-folded name needle, or
 * for a complete ID number the store's blind-index lookup), the filter over
 * every case, the count, and the list view's next frame.  Two times per
 * keystroke:
 *
 *   filtered  from the keystroke to the end of the page's search-changed
 *             handler (the filter has run over every case);
 *   painted   from the keystroke to the end of the next frame the window
 *             paints after that (layout and drawing of the new rows).
 *
 * The entry's search delay (GTK's default 150 ms pause after the last
 * keystroke before searching, which costs no work) is set to 0 here so that
 * only work is measured.  The sequences, --rounds times each: a full name
 * typed (3 characters), deleted again; an ID number typed (10 characters,
 * the last one completing a valid number), deleted again; a case number
 * typed (5 digits), deleted again.  Medians and the slowest keystroke per
 * sequence are printed.
 *
 * Needs a display (bench/bench-ui.sh runs it under xvfb-run); without one
 * it exits 77.  Nothing here asserts a timing; this is not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-crypto.h"
#include "ui/fk-application.h"
#include "ui/fk-pages.h"
#include "ui/fk-window.h"

#define GOAL_US   (50 * 1000)
#define OPERATOR  "ann"
#define PASSPHRASE "bench passphrase for ann"
#define BATCH     5000

/* ---- options ------------------------------------------------------------------ */

static gint opt_cases = 100000;
static gint opt_rounds = 5;
static gchar *opt_dir = NULL;
static gboolean opt_keep = FALSE;
static gboolean opt_verbose = FALSE;

static const GOptionEntry options[] = {
  { "cases", 'n', 0, G_OPTION_ARG_INT, &opt_cases, "Cases in the outing (default 100000)", "N" },
  { "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds, "Times each typing sequence is repeated (default 5)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "A data folder: used as it is if it already holds a bench outing, else made there (default: a temporary one)", "DIR" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the data folder afterwards (reuse it with --dir)", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Print every keystroke", NULL },
  { NULL }
};

/* ---- generated people ----------------------------------------------------------- */

static const char *const surnames[] = {
  "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "許", "鄭", "謝", "洪", "郭",
  "邱", "曾", "廖", "賴", "徐", "周", "葉", "蘇", "莊", "呂", "江", "何", "蕭", "羅", "高",
};
static const char *const given[] = {
  "淑", "芬", "志", "明", "美", "玲", "建", "宏", "雅", "婷", "俊", "傑", "怡", "君", "家",
  "豪", "秀", "英", "宗", "翰", "冠", "廷", "承", "恩", "詩", "涵", "宇", "軒", "佳", "蓉",
  "柏", "翔", "品", "妤", "子", "晴", "彥", "勳", "欣", "妍",
};

/* A valid national ID number, different for every index below 5.2 × 10^8. */
static char *
national_id (gint64 index)
{
  char letter = (char) ('A' + index % 26);
  char gender = (char) ('1' + (index / 26) % 2);
  gint64 serial = (index / 52) % 10000000;

  for (int check = 0; check < 10; check++)
    {
      g_autofree char *candidate = g_strdup_printf ("%c%c%07" G_GINT64_FORMAT "%d", letter, gender, serial, check);

      if (fk_national_id_check (candidate, NULL, NULL))
        return g_steal_pointer (&candidate);
    }
  g_error ("no check digit fits index %" G_GINT64_FORMAT, index);
  return NULL;
}

static char *
person_name (gint64 index)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (index * 2654435761u));

  return g_strconcat (surnames[g_rand_int_range (rand, 0, G_N_ELEMENTS (surnames))],
                      given[g_rand_int_range (rand, 0, G_N_ELEMENTS (given))],
                      given[g_rand_int_range (rand, 0, G_N_ELEMENTS (given))], NULL);
}

/* ---- helpers ------------------------------------------------------------------ */

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
maximum (GArray *samples)
{
  gint64 m = 0;

  for (guint i = 0; i < samples->len; i++)
    m = MAX (m, g_array_index (samples, gint64, i));
  return m;
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

static GtkWidget *
find_widget (GtkWidget *root,
             GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget (c, type);

      if (found)
        return found;
    }
  return NULL;
}

/* ---- the data folder ------------------------------------------------------------ */

/* Makes the outing of opt_cases cases unless dir already has one; returns
 * the outing id. */
static char *
prepare_store (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *recovery = NULL;
  g_autofree char *outing = NULL;
  g_autoptr(FkStore) store = fk_store_open (dir, &error);
  gint64 start;

  if (store == NULL)
    g_error ("%s", error->message);
  if (fk_store_is_initialized (store))
    {
      g_autoptr(GPtrArray) outings = NULL;

      if (!fk_store_unlock (store, OPERATOR, PASSPHRASE, &error))
        g_error ("%s is not a bench-ui-search folder: %s", dir, error->message);
      outings = fk_store_outings (store, NULL);
      if (outings && outings->len > 0)
        {
          FkOuting *o = outings->pdata[0];

          printf ("data folder %s: reusing outing %s (%u cases)\n", dir, o->id, o->n_cases);
          return g_strdup (o->id);
        }
    }
  else if (!fk_store_init_device (store, OPERATOR, "Chen Mei-ling", PASSPHRASE, "TCN", 1, &recovery, &error))
    g_error ("%s", error->message);

  outing = fk_store_outing_new (store, "certificate_booth", "Search bench", "2026-11-26", "Beitun", &error);
  if (outing == NULL)
    g_error ("%s", error->message);
  printf ("making %d cases in %s … ", opt_cases, dir);
  fflush (stdout);
  start = g_get_monotonic_time ();
  for (gint64 i = 0; i < opt_cases; i += BATCH)
    {
      if (!fk_store_begin_batch (store, &error))
        g_error ("%s", error->message);
      for (gint64 j = i; j < MIN (i + BATCH, opt_cases); j++)
        {
          g_autofree char *pid = national_id (j);
          g_autofree char *name = person_name (j);
          FkCaseInput input = {
            .outing_id = outing,
            .service = "certificate_apply",
            .person_id = pid,
            .name = name,
            .birth_date = "1970-01-01",
          };

          if (fk_store_case_new (store, &input, &error) <= 0)
            g_error ("case %" G_GINT64_FORMAT ": %s", j, error->message);
        }
      if (!fk_store_end_batch (store, TRUE, &error))
        g_error ("%s", error->message);
    }
  printf ("%.1f s (set-up, not part of the figures)\n", (g_get_monotonic_time () - start) / 1e6);
  return g_steal_pointer (&outing);
}

/* ---- typing ------------------------------------------------------------------------ */

typedef struct {
  GtkWidget *window;
  GtkWidget *page;
  GtkWidget *entry;
  GListModel *model;
  GPtrArray *folded_names;  /* case i + 1's name, case-folded */
  gint64     t_filtered;
  gint64     t_painted;
} Bench;

/* What the list must show for text, counted the slow way (a check that the
 * page's filter shortcuts give the same answer; not timed). */
static guint
expected_count (Bench      *b,
                const char *text)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  g_autofree char *needle = NULL;
  guint n = 0;
  gint64 number = -1;

  if (*trimmed == '\0')
    return b->folded_names->len;
  if (fk_person_id_check (trimmed, NULL, NULL, NULL))
    return 1;  /* every generated ID number is different */
  needle = g_utf8_casefold (trimmed, -1);
  if (needle[0] != '0' && strspn (needle, "0123456789") == strlen (needle))
    number = g_ascii_strtoll (needle, NULL, 10);
  for (guint i = 0; i < b->folded_names->len; i++)
    if (strstr (b->folded_names->pdata[i], needle) != NULL || (gint64) i + 1 == number)
      n++;
  return n;
}

static void
search_changed_after_cb (GtkSearchEntry *entry,
                         Bench          *b)
{
  b->t_filtered = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *clock,
                Bench         *b)
{
  if (b->t_filtered > 0 && b->t_painted == 0)
    b->t_painted = g_get_monotonic_time ();
}

/* Runs the main loop until the keystroke has been searched and the next
 * frame painted (or 200 ms passed without a frame: nothing changed). */
static void
settle (Bench *b)
{
  gint64 deadline = 0;

  while (b->t_painted == 0)
    {
      g_main_context_iteration (NULL, FALSE);
      if (b->t_filtered > 0 && deadline == 0)
        deadline = b->t_filtered + 200 * 1000;
      if (deadline > 0 && g_get_monotonic_time () > deadline)
        break;
      if (!g_main_context_pending (NULL))
        g_usleep (100);
    }
}

static void
keystroke (Bench      *b,
           const char *insert,     /* one character to type, or NULL for Backspace */
           GArray     *filtered,
           GArray     *painted)
{
  GtkEditable *e = GTK_EDITABLE (b->entry);
  const char *text = gtk_editable_get_text (e);
  int len = (int) g_utf8_strlen (text, -1);
  gint64 t0;

  b->t_filtered = b->t_painted = 0;
  t0 = g_get_monotonic_time ();
  if (insert)
    {
      int pos = len;

      gtk_editable_insert_text (e, insert, -1, &pos);
    }
  else if (len > 0)
    gtk_editable_delete_text (e, len - 1, len);
  settle (b);
  if (b->t_filtered == 0)
    g_error ("the search entry did not search after a keystroke");
  if (g_list_model_get_n_items (b->model) != expected_count (b, gtk_editable_get_text (e)))
    g_error ("“%s” shows %u cases instead of %u", gtk_editable_get_text (e),
             g_list_model_get_n_items (b->model), expected_count (b, gtk_editable_get_text (e)));
  if (opt_verbose)
    printf ("  %-24s %6u shown  filtered %7.2f ms  painted %7.2f ms\n", gtk_editable_get_text (e),
            g_list_model_get_n_items (b->model), (b->t_filtered - t0) / 1000.0,
            b->t_painted > 0 ? (b->t_painted - t0) / 1000.0 : -1.0);
  g_array_append_val (filtered, (gint64) { b->t_filtered - t0 });
  if (b->t_painted > 0)
    g_array_append_val (painted, (gint64) { b->t_painted - t0 });
}

typedef struct {
  const char *label;
  char       *text;
  guint       shown_full;  /* cases shown when the whole text is typed */
  GArray     *typed_filtered, *typed_painted;
  GArray     *deleted_filtered, *deleted_painted;
} Sequence;

static void
type_sequence (Bench    *b,
               Sequence *s)
{
  for (const char *p = s->text; *p; p = g_utf8_next_char (p))
    {
      g_autofree char *ch = g_strndup (p, g_utf8_next_char (p) - p);

      keystroke (b, ch, s->typed_filtered, s->typed_painted);
    }
  s->shown_full = g_list_model_get_n_items (b->model);
  while (*gtk_editable_get_text (GTK_EDITABLE (b->entry)))
    keystroke (b, NULL, s->deleted_filtered, s->deleted_painted);
}

static void
print_row (const char *what,
           GArray     *filtered,
           GArray     *painted)
{
  printf ("  %-26s %5u  %9.2f  %9.2f  %9.2f  %9.2f\n", what, filtered->len,
          median (filtered) / 1000.0, maximum (filtered) / 1000.0,
          median (painted) / 1000.0, maximum (painted) / 1000.0);
}

/* ---- the run ------------------------------------------------------------------------ */

typedef struct {
  char *dir;
  char *outing;
  int   status;
} Run;

static void
activate_cb (GApplication *app,
             Run          *run)
{
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) all_filtered = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) all_painted = g_array_new (FALSE, FALSE, sizeof (gint64));
  Bench b = { 0 };
  Sequence seqs[3] = { { 0 } };
  gint64 start, open_us;
  g_autofree char *name = person_name (opt_cases / 2);
  g_autofree char *pid = national_id (opt_cases / 3);
  g_autofree char *number = g_strdup_printf ("%d", MAX (1, opt_cases * 2 / 3));

  g_application_hold (app);
  b.window = GTK_WIDGET (fk_window_new (ADW_APPLICATION (app), run->dir, settings));
  gtk_window_set_default_size (GTK_WINDOW (b.window), 1280, 800);
  gtk_window_present (GTK_WINDOW (b.window));
  while (!gtk_widget_get_mapped (b.window))
    g_main_context_iteration (NULL, TRUE);
  if (!fk_store_unlock (fk_window_store (FK_WINDOW (b.window)), OPERATOR, PASSPHRASE, &error))
    g_error ("%s", error->message);
  fk_window_signed_in (FK_WINDOW (b.window), PASSPHRASE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_signal_connect (gtk_widget_get_frame_clock (b.window), "after-paint", G_CALLBACK (after_paint_cb), &b);

  /* Opening the outing: every case from the store into the list. */
  start = g_get_monotonic_time ();
  fk_window_show_outing (FK_WINDOW (b.window), run->outing);
  open_us = g_get_monotonic_time () - start;
  b.page = find_widget (b.window, FK_TYPE_OUTING_PAGE);
  b.entry = find_widget (b.page, GTK_TYPE_SEARCH_ENTRY);
  b.model = fk_outing_page_model (FK_OUTING_PAGE (b.page));
  g_assert (b.entry != NULL);
  gtk_search_entry_set_search_delay (GTK_SEARCH_ENTRY (b.entry), 0);
  g_signal_connect_after (b.entry, "search-changed", G_CALLBACK (search_changed_after_cb), &b);
  gtk_widget_grab_focus (b.entry);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  b.folded_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < g_list_model_get_n_items (b.model); i++)
    {
      g_autofree char *n = person_name (i);

      g_ptr_array_add (b.folded_names, g_utf8_casefold (n, -1));
    }

  seqs[0].label = "name";
  seqs[0].text = g_strdup (name);
  seqs[1].label = "ID number";
  seqs[1].text = g_strdup (pid);
  seqs[2].label = "case number";
  seqs[2].text = g_strdup (number);
  for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
    {
      seqs[i].typed_filtered = g_array_new (FALSE, FALSE, sizeof (gint64));
      seqs[i].typed_painted = g_array_new (FALSE, FALSE, sizeof (gint64));
      seqs[i].deleted_filtered = g_array_new (FALSE, FALSE, sizeof (gint64));
      seqs[i].deleted_painted = g_array_new (FALSE, FALSE, sizeof (gint64));
    }
  for (int r = 0; r < opt_rounds; r++)
    for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
      type_sequence (&b, &seqs[i]);

  printf ("\nSearch as you type: %u cases in the outing, %d rounds\n", g_list_model_get_n_items (b.model), opt_rounds);
  printf ("opening the outing (store → list): %.0f ms\n\n", open_us / 1000.0);
  printf ("  %-26s %5s  %9s  %9s  %9s  %9s\n", "keystrokes (ms)", "n", "filtered", "max", "painted", "max");
  for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
    {
      g_autofree char *typed = g_strdup_printf ("%s typed", seqs[i].label);
      g_autofree char *deleted = g_strdup_printf ("%s deleted", seqs[i].label);

      printf ("  %s “%s” (%u shown when typed):\n", seqs[i].label, seqs[i].text, seqs[i].shown_full);
      print_row (typed, seqs[i].typed_filtered, seqs[i].typed_painted);
      print_row (deleted, seqs[i].deleted_filtered, seqs[i].deleted_painted);
      g_array_append_vals (all_filtered, seqs[i].typed_filtered->data, seqs[i].typed_filtered->len);
      g_array_append_vals (all_filtered, seqs[i].deleted_filtered->data, seqs[i].deleted_filtered->len);
      g_array_append_vals (all_painted, seqs[i].typed_painted->data, seqs[i].typed_painted->len);
      g_array_append_vals (all_painted, seqs[i].deleted_painted->data, seqs[i].deleted_painted->len);
    }
  print_row ("every keystroke", all_filtered, all_painted);
  printf ("\nmedian keystroke: %.2f ms filtered, %.2f ms painted (goal < %d ms: %s); slowest %.2f ms painted\n",
          median (all_filtered) / 1000.0, median (all_painted) / 1000.0, GOAL_US / 1000,
          median (all_painted) < GOAL_US ? "met" : "missed", maximum (all_painted) / 1000.0);
  printf ("summary search cases=%u open_ms=%.0f filtered_median_ms=%.2f painted_median_ms=%.2f painted_max_ms=%.2f\n",
          g_list_model_get_n_items (b.model), open_us / 1000.0, median (all_filtered) / 1000.0,
          median (all_painted) / 1000.0, maximum (all_painted) / 1000.0);

  for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
    {
      g_free (seqs[i].text);
      g_array_unref (seqs[i].typed_filtered);
      g_array_unref (seqs[i].typed_painted);
      g_array_unref (seqs[i].deleted_filtered);
      g_array_unref (seqs[i].deleted_painted);
    }
  g_ptr_array_unref (b.folded_names);
  gtk_window_destroy (GTK_WINDOW (b.window));
  g_application_release (app);
  run->status = 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— search as you type in the outing page");
  g_autoptr(GError) error = NULL;
  g_autoptr(AdwApplication) app = NULL;
  Run run = { NULL, NULL, 1 };
  gboolean made_dir = FALSE;
  char *app_argv[] = { argv[0], NULL };

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("LANGUAGE", "en", TRUE);
  if (!gtk_init_check ())
    {
      g_printerr ("no display: skipped (run bench/bench-ui.sh search, which uses xvfb-run)\n");
      return 77;
    }
  if (!fk_crypto_init (&error))
    g_error ("%s", error->message);

  if (opt_dir)
    {
      g_mkdir_with_parents (opt_dir, 0700);
      run.dir = g_strdup (opt_dir);
    }
  else
    {
      run.dir = g_dir_make_tmp ("bench-ui-search-XXXXXX", &error);
      if (run.dir == NULL)
        g_error ("%s", error->message);
      made_dir = TRUE;
    }
  run.outing = prepare_store (run.dir);

  /* FieldKit's resource path, so that its style sheet applies as in the
   * real program. */
  app = g_object_new (ADW_TYPE_APPLICATION, "application-id", "io.github.fieldkit.BenchSearch",
                      "flags", G_APPLICATION_NON_UNIQUE, "resource-base-path", "/io/github/fieldkit/FieldKit", NULL);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), &run);
  g_application_run (G_APPLICATION (app), 1, app_argv);

  if (made_dir && !opt_keep)
    remove_tree (run.dir);
  else
    printf ("data folder kept: %s\n", run.dir);
  g_free (run.dir);
  g_free (run.outing);
  return run.status;
}
