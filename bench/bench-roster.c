/* bench-roster.c — importing a district's roster (docs/PERFORMANCE.md,
 * "Roster import").  Goal: 2,000 students in under 1 s.
 *
 * A district list of --students students (valid ID numbers, ROC birth
 * dates, guardians and phones; 30 to a class) is generated as the CSV a
 * school system exports (UTF-8, CRLF).  Each round then times, in a fresh
 * data folder each:
 *
 *   fieldkit   fk_roster_parse + fk_roster_import into a school-drive
 *              outing, what `fieldkit-cli roster import` does: decoding,
 *              validation, the check against the store (a blind-index
 *              lookup per student, ages), then one sealed person record,
 *              blind index and signed audit entry per case, in one store
 *              batch.  fk_roster_check is also timed alone beforehand, to
 *              show its share (it is not counted twice in the total),
 *              and once more after the import, when every student is
 *              already in the outing (what a second import of the same
 *              list costs before it refuses every row);
 *   baseline   plain SQLite with the store's pragmas (WAL,
 *              synchronous=FULL, foreign keys, temp_store=MEMORY,
 *              secure_delete) inserting the same rows, already split into
 *              columns, in clear, in one transaction.
 *
 * The two sides alternate within each round so a noisy neighbour slows
 * both alike; the figures are medians over --rounds rounds.  The same list
 * in Big5 is parsed on its own afterwards, for what decoding adds.  Device set-up
 * (the Argon2id keyslot) is outside the timing and uses the test limits.
 * Nothing here asserts a timing; this is not a test.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "app/fk-roster.h"
#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#define DRIVE_DATE "2026-11-26"
#define GOAL_US    (1 * G_USEC_PER_SEC)

/* ---- options ------------------------------------------------------------------ */

static gint opt_students = 2000;
static gint opt_rounds = 5;
static gchar *opt_dir = NULL;

static const GOptionEntry options[] = {
  { "students", 'n', 0, G_OPTION_ARG_INT, &opt_students, "Students in the district list (default 2000)", "N" },
  { "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds, "Rounds; figures are medians (default 5)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Folder for the data (default: a new bench-roster-* folder here)", "DIR" },
  { NULL }
};

/* ---- helpers ------------------------------------------------------------------ */

static void
die_on_error (const char *what,
              GError     *error)
{
  if (error != NULL)
    g_error ("%s: %s", what, error->message);
}

static void
sql_or_die (sqlite3    *db,
            const char *sql)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static void
rm_rf (const char *path)
{
  GDir *dir;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      rm_rf (child);
    }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

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
  g_array_sort (samples, compare_gint64);
  return g_array_index (samples, gint64, samples->len / 2);
}

/* ---- the district list ------------------------------------------------------------ */

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

static const char *const surnames[] = { "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊" };
static const char *const given[] = { "語彤", "詠晴", "子晴", "浩然", "品妍", "彥廷", "芷涵", "冠宇", "柏翰", "承恩" };
static const char *const guardians[] = { "媽媽", "爸爸", "阿嬤", "阿公" };

typedef struct {
  char *school_class;
  char *seat;
  char *name;
  char *id;
  char *birth;        /* ROC, as the file has it */
  char *guardian;
  char *phone;
} Student;

static void
student_clear (Student *s)
{
  g_free (s->school_class);
  g_free (s->seat);
  g_free (s->name);
  g_free (s->id);
  g_free (s->birth);
  g_free (s->guardian);
  g_free (s->phone);
}

/* Junior-high ninth-, eighth- and seventh-graders of a few schools, 30 to
 * a class: born 2011-09 to 2014-08, so 12 to 15 on the drive's date. */
static Student *
students_make (guint n)
{
  Student *all = g_new0 (Student, n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (801);

  for (guint i = 0; i < n; i++)
    {
      Student *s = &all[i];
      guint klass = i / 30;

      s->school_class = g_strdup_printf ("%u%02u", 7 + klass % 3, 1 + klass / 3);
      s->seat = g_strdup_printf ("%u", 1 + i % 30);
      s->name = g_strconcat (surnames[g_rand_int_range (rand, 0, G_N_ELEMENTS (surnames))],
                             given[g_rand_int_range (rand, 0, G_N_ELEMENTS (given))], NULL);
      s->id = national_id (i);
      s->birth = g_strdup_printf ("%d/%02d/%02d", 100 + g_rand_int_range (rand, 1, 3),
                                  g_rand_int_range (rand, 1, 13), g_rand_int_range (rand, 1, 29));
      s->guardian = g_strconcat (surnames[g_rand_int_range (rand, 0, G_N_ELEMENTS (surnames))],
                                 guardians[g_rand_int_range (rand, 0, G_N_ELEMENTS (guardians))], NULL);
      s->phone = g_strdup_printf ("09%08d", g_rand_int_range (rand, 0, 100000000));
    }
  return all;
}

static GBytes *
district_csv (const Student *all,
              guint          n)
{
  GString *csv = g_string_new ("班級,座號,姓名,身分證統一編號,出生日期,監護人,聯絡電話\r\n");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (csv, "%s,%s,%s,%s,%s,%s,%s\r\n", all[i].school_class, all[i].seat, all[i].name,
                            all[i].id, all[i].birth, all[i].guardian, all[i].phone);
  return g_string_free_to_bytes (csv);
}

static GBytes *
to_big5 (GBytes *utf8)
{
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  char *big5 = g_convert (g_bytes_get_data (utf8, NULL), (gssize) g_bytes_get_size (utf8), "CP950", "UTF-8",
                          NULL, &len, &error);

  die_on_error ("g_convert to CP950", error);
  return g_bytes_new_take (big5, len);
}

/* ---- the two sides ------------------------------------------------------------------ */

typedef struct {
  gint64 parse;
  gint64 check;
  gint64 import;
  gint64 recheck;   /* the check once the outing holds every student */
} FieldKitTimes;

static FkStore *
store_new (const char *dir)
{
  g_autoptr(GError) error = NULL;
  FkStore *store = fk_store_open (dir, &error);
  char *recovery = NULL;

  die_on_error ("fk_store_open", error);
  if (!fk_store_init_device (store, "bench", "Bench Operator", "a passphrase for the bench", "BEN", 1, &recovery, &error))
    die_on_error ("fk_store_init_device", error);
  g_free (recovery);
  return store;
}

static FieldKitTimes
run_fieldkit (const char *dir,
              GBytes     *file,
              guint       expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = store_new (dir);
  g_autoptr(FkRoster) roster = NULL;
  g_auto(FkRosterReport) report = { 0 };
  g_autofree char *outing = fk_store_outing_new (store, "school_drive", "District drive", DRIVE_DATE, NULL, &error);
  FieldKitTimes t;
  gint64 start;

  die_on_error ("fk_store_outing_new", error);

  start = g_get_monotonic_time ();
  roster = fk_roster_parse (file, &error);
  die_on_error ("fk_roster_parse", error);
  t.parse = g_get_monotonic_time () - start;

  start = g_get_monotonic_time ();
  if (!fk_roster_check (roster, store, outing, NULL, &error))
    die_on_error ("fk_roster_check", error);
  t.check = g_get_monotonic_time () - start;

  /* fk_roster_import checks again (nothing may be saved unchecked); the
   * import figure includes that second check. */
  start = g_get_monotonic_time ();
  if (!fk_roster_import (roster, store, outing, NULL, TRUE, &report, &error))
    die_on_error ("fk_roster_import", error);
  t.import = g_get_monotonic_time () - start;

  if (report.taken != expected)
    g_error ("imported %u of %u students", report.taken, expected);

  start = g_get_monotonic_time ();
  if (!fk_roster_check (roster, store, outing, NULL, &error))
    die_on_error ("fk_roster_check", error);
  t.recheck = g_get_monotonic_time () - start;
  if (fk_roster_n_good (roster) != 0)
    g_error ("a second check found %u students not yet in the outing", fk_roster_n_good (roster));
  return t;
}

static gint64
run_baseline (const char    *dir,
              const Student *all,
              guint          n)
{
  g_autofree char *path = g_build_filename (dir, "baseline.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  gint64 start;

  if (sqlite3_open (path, &db) != SQLITE_OK)
    g_error ("cannot open %s", path);
  sql_or_die (db,
              "PRAGMA journal_mode = WAL;"
              "PRAGMA synchronous = FULL;"
              "PRAGMA foreign_keys = ON;"
              "PRAGMA temp_store = MEMORY;"
              "PRAGMA secure_delete = ON;"
              "CREATE TABLE students (id INTEGER PRIMARY KEY, outing TEXT NOT NULL, class TEXT, seat TEXT,"
              " name TEXT, national_id TEXT, birth TEXT, guardian TEXT, phone TEXT);"
              "CREATE INDEX students_nid ON students (national_id);");
  if (sqlite3_prepare_v2 (db, "INSERT INTO students (outing, class, seat, name, national_id, birth, guardian, phone)"
                          " VALUES ('O1', ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
    g_error ("prepare: %s", sqlite3_errmsg (db));

  start = g_get_monotonic_time ();
  sql_or_die (db, "BEGIN IMMEDIATE");
  for (guint i = 0; i < n; i++)
    {
      const char *values[] = { all[i].school_class, all[i].seat, all[i].name, all[i].id, all[i].birth,
                               all[i].guardian, all[i].phone };

      for (guint v = 0; v < G_N_ELEMENTS (values); v++)
        sqlite3_bind_text (st, (int) v + 1, values[v], -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_DONE)
        g_error ("insert: %s", sqlite3_errmsg (db));
      sqlite3_reset (st);
    }
  sql_or_die (db, "COMMIT");
  start = g_get_monotonic_time () - start;

  sqlite3_finalize (st);
  sqlite3_close (db);
  return start;
}

/* ---- main ------------------------------------------------------------------------ */

static double
ms (gint64 us)
{
  return (double) us / 1000.0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— time a district roster import");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) utf8 = NULL;
  g_autoptr(GBytes) big5 = NULL;
  g_autoptr(GArray) parse = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) parse_big5 = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) check = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) import = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) recheck = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) total = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) baseline = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *root = NULL;
  Student *students;
  gint64 fk_total, base_total;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_students < 1 || opt_rounds < 1)
    {
      g_printerr ("--students and --rounds must be at least 1\n");
      return 2;
    }
  fk_lang_set ("en");
  /* Set-up only: the keyslot of each fresh device; not timed. */
  g_setenv ("FIELDKIT_KDF", "test", TRUE);

  root = opt_dir ? g_strdup (opt_dir) : g_dir_make_tmp ("bench-roster-XXXXXX", &error);
  die_on_error ("temporary folder", error);
  g_mkdir_with_parents (root, 0700);

  students = students_make ((guint) opt_students);
  utf8 = district_csv (students, (guint) opt_students);
  big5 = to_big5 (utf8);

  printf ("Roster import: %d students, %" G_GSIZE_FORMAT " bytes UTF-8 / %" G_GSIZE_FORMAT " bytes Big5, %d rounds\n",
          opt_students, g_bytes_get_size (utf8), g_bytes_get_size (big5), opt_rounds);
  printf ("data in %s (%s)\n\n", root, sqlite3_libversion ());

  for (gint round = 0; round < opt_rounds; round++)
    {
      g_autofree char *fk_dir = g_strdup_printf ("%s/fieldkit-%d", root, round);
      g_autofree char *base_dir = g_strdup_printf ("%s/baseline-%d", root, round);
      FieldKitTimes t;
      gint64 b;

      g_mkdir_with_parents (base_dir, 0700);
      /* Alternate which side goes first. */
      if (round % 2 == 0)
        {
          b = run_baseline (base_dir, students, (guint) opt_students);
          t = run_fieldkit (fk_dir, utf8, (guint) opt_students);
        }
      else
        {
          t = run_fieldkit (fk_dir, utf8, (guint) opt_students);
          b = run_baseline (base_dir, students, (guint) opt_students);
        }
      {
        gint64 sum = t.parse + t.import;

        g_array_append_val (parse, t.parse);
        g_array_append_val (check, t.check);
        g_array_append_val (import, t.import);
        g_array_append_val (recheck, t.recheck);
        g_array_append_val (total, sum);
        g_array_append_val (baseline, b);
        printf ("round %d: fieldkit %.1f ms (parse %.1f, import %.1f of which check ~%.1f); baseline %.1f ms\n",
                round + 1, ms (sum), ms (t.parse), ms (t.import), ms (t.check), ms (b));
      }
      rm_rf (fk_dir);
      rm_rf (base_dir);
    }

  /* The same list in Big5, parsed alone: what decoding CP950 adds. */
  for (gint i = 0; i < opt_rounds; i++)
    {
      g_autoptr(FkRoster) r = NULL;
      gint64 start = g_get_monotonic_time ();

      r = fk_roster_parse (big5, &error);
      die_on_error ("fk_roster_parse", error);
      start = g_get_monotonic_time () - start;
      g_array_append_val (parse_big5, start);
    }

  fk_total = median (total);
  base_total = median (baseline);
  printf ("\nmedians over %d rounds:\n", opt_rounds);
  printf ("  parse (UTF-8)        %8.1f ms\n", ms (median (parse)));
  printf ("  parse (Big5)         %8.1f ms\n", ms (median (parse_big5)));
  printf ("  import (incl. check) %8.1f ms\n", ms (median (import)));
  printf ("    the check alone    %8.1f ms   (an outing with no cases yet)\n", ms (median (check)));
  printf ("  check again          %8.1f ms   (the outing already holds all %d)\n",
          ms (median (recheck)), opt_students);
  printf ("  fieldkit (parse+import) %5.1f ms   goal < %.0f ms: %s\n", ms (fk_total), ms (GOAL_US),
          fk_total < GOAL_US ? "met" : "NOT MET");
  printf ("  plain SQLite         %8.1f ms\n", ms (base_total));
  printf ("  ratio                %8.1f ×\n", base_total > 0 ? (double) fk_total / (double) base_total : 0.0);

  for (gint i = 0; i < opt_students; i++)
    student_clear (&students[i]);
  g_free (students);
  if (opt_dir == NULL)
    rm_rf (root);
  return 0;
}
