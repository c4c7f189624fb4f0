/* test-class-summary.c — a school drive's class summary (app/fk-class-summary.h).
 *
 * A drive of five students: one sealed, one absent, one asked to come back
 * later, one present but not finished, one not seen yet, stored in the
 * wrong seat order.  The summary must list them in class and seat order
 * with the right states; the CSV must open in Excel (BOM, CRLF, quoting,
 * no formula injection) and parse back to the same rows; pdftotext must
 * find every name and the receipt number in the PDF, with the fonts
 * embedded; both files are private (0600) and never hold an ID number.
 * fieldkit-cli class-summary writes the same files.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "app/fk-class-summary.h"
#include "crypto/fk-i18n.h"
#include "fk-test-util.h"

typedef struct {
  char    *dir;
  FkStore *store;
  char    *outing;
  char    *ids[5];
  gint64   cases[5];
  char    *receipt_no;
} Fixture;

/* Stored out of order on purpose: seat 10 first, seat 2 before seat 1. */
static const struct {
  const char *school_class;
  const char *seat;
  const char *name;
  const char *attendance;
} students[5] = {
  { "801", "10", "張家豪", NULL },          /* not seen */
  { "801", "2",  "黃詠晴", "absent" },
  { "801", "1",  "蔡語彤", "present" },     /* sealed below */
  { "801", "3",  "周子晴", "later" },
  { "802", "1",  "=HYPERLINK(\"x\")", "present" }, /* a name a spreadsheet would run */
};

/* ---- helpers ------------------------------------------------------------------ */

static char *
run_tool (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_find_program_in_path (argv[0]);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (program == NULL)
    g_error ("%s is not installed: run tools/install-deps.sh (poppler-utils)", argv[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s\n%s", argv[0], error->message, err ? err : "");
  return g_steal_pointer (&out);
}

static void
assert_private (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
assert_no_id_numbers (const Fixture *f,
                      const char    *path)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (f->ids); i++)
    g_assert_null (memmem (bytes, len, f->ids[i], strlen (f->ids[i])));
}

/* A minimal RFC 4180 reader: rows of cells. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *cell = g_string_new (NULL);
  gboolean quoted = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (cell, '"');
              p++;
            }
          else if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (cell, *p);
        }
      else if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (cell->str));
          g_string_truncate (cell, 0);
        }
      else if (*p == '\r' && p[1] == '\n')
        {
          g_ptr_array_add (row, g_strdup (cell->str));
          g_string_truncate (cell, 0);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
          p++;
        }
      else
        {
          /* Every line ends in CRLF: a bare LF is a mistake. */
          g_assert_cmpint (*p, !=, '\n');
          g_string_append_c (cell, *p);
        }
    }
  g_assert_false (quoted);
  g_assert_cmpuint (row->len, ==, 0);
  g_assert_cmpuint (cell->len, ==, 0);
  g_ptr_array_unref (row);
  g_string_free (cell, TRUE);
  return rows;
}

static const char *
cell (GPtrArray *rows,
      guint      r,
      guint      c)
{
  GPtrArray *row = rows->pdata[r];

  g_assert_cmpuint (c, <, row->len);
  return row->pdata[c];
}

/* ---- fixture ----------------------------------------------------------------- */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fk_lang_set ("en");
  f->dir = fk_test_make_tmp ();
  f->store = fk_test_store_new (f->dir, NULL);
  g_assert_true (fk_store_operator_add (f->store, "bob", "Lin Chih-hao", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  f->outing = fk_store_outing_new (f->store, "school_drive", "Beitun JHS, class 801", "2026-11-20",
                                   "Beitun junior high school", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (students); i++)
    {
      g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
      FkCaseInput in = { 0 };

      f->ids[i] = fk_test_national_id ('B', 1 + i % 2, 1000000 + i);
      g_hash_table_insert (fields, (gpointer) "school_class", (gpointer) students[i].school_class);
      g_hash_table_insert (fields, (gpointer) "seat_number", (gpointer) students[i].seat);
      if (students[i].attendance)
        g_hash_table_insert (fields, (gpointer) FK_ATTENDANCE_FIELD, (gpointer) students[i].attendance);
      in.outing_id = f->outing;
      in.service = "id_card_first";
      in.person_id = f->ids[i];
      in.name = students[i].name;
      in.birth_date = "2012-05-03";
      in.fields = fields;
      f->cases[i] = fk_store_case_new (f->store, &in, &error);
      g_assert_no_error (error);
      g_assert_cmpint (f->cases[i], >, 0);
    }

  /* Seat 1 of 801 is sealed. */
  g_assert_true (fk_store_case_tick (f->store, f->cases[2], NULL, TRUE, &error));
  g_assert_true (fk_store_case_check (f->store, f->cases[2], &error));
  g_assert_true (fk_store_case_approve_as (f->store, f->cases[2], "bob", FK_TEST_PASS_BOB, &error));
  g_assert_true (fk_store_case_finalize (f->store, f->cases[2], &f->receipt_no, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->store, fk_store_close);
  fk_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->outing);
  g_free (f->receipt_no);
  for (guint i = 0; i < G_N_ELEMENTS (f->ids); i++)
    g_free (f->ids[i]);
  fk_lang_set ("en");
}

/* ---- tests --------------------------------------------------------------------- */

static void
test_seat_order (void)
{
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "2", "801", "10"), <, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "10", "801", "2"), >, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "30", "802", "1"), <, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("9", "1", "10", "1"), <, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "02", "801", "2"), <, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "", "801", "1"), >, 0);
  g_assert_cmpint (fk_class_summary_compare_seats (NULL, NULL, "801", "1"), >, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "A", "801", "1"), >, 0);
  g_assert_cmpint (fk_class_summary_compare_seats ("801", "1", "801", "1"), ==, 0);
}

static void
test_states (Fixture       *f,
             gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkClassSummary) summary = fk_class_summary_new (f->store, f->outing, NULL, &error);
  g_autofree char *progress = NULL;
  static const char *const order[] = { "蔡語彤", "黃詠晴", "周子晴", "張家豪", "=HYPERLINK(\"x\")" };
  static const FkDriveState expect[] = { FK_DRIVE_DONE, FK_DRIVE_ABSENT, FK_DRIVE_LATER,
                                         FK_DRIVE_NOT_SEEN, FK_DRIVE_PRESENT };
  FkClassSummaryRow *first;

  g_assert_no_error (error);
  g_assert_nonnull (summary);
  g_assert_cmpstr (summary->outing_id, ==, f->outing);
  g_assert_cmpstr (summary->title, ==, "Beitun JHS, class 801");
  g_assert_cmpuint (summary->rows->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      FkClassSummaryRow *row = summary->rows->pdata[i];

      g_assert_cmpstr (row->name, ==, order[i]);
      g_assert_cmpint (row->state, ==, expect[i]);
    }
  first = summary->rows->pdata[0];
  g_assert_cmpstr (first->receipt_no, ==, f->receipt_no);
  g_assert_cmpint (first->status, ==, FK_CASE_SEALED);
  g_assert_cmpstr (first->seat, ==, "1");
  g_assert_cmpuint (summary->n_state[FK_DRIVE_DONE], ==, 1);
  g_assert_cmpuint (summary->n_state[FK_DRIVE_ABSENT], ==, 1);

  progress = fk_class_summary_progress (summary);
  g_assert_cmpstr (progress, ==, "1 / 5 done · 1 absent · 1 later");
  fk_lang_set ("zh_TW");
  g_clear_pointer (&progress, g_free);
  progress = fk_class_summary_progress (summary);
  g_assert_cmpstr (progress, ==, "1 / 5 已完成 · 1 缺席 · 1 稍後");
  g_assert_cmpstr (fk_drive_state_label (FK_DRIVE_ABSENT), ==, "缺席");
  g_assert_cmpstr (fk_drive_state_name (FK_DRIVE_LATER), ==, "later");

  /* Other services of the same outing are not students of the drive. */
  {
    g_autofree char *other = fk_test_national_id ('C', 2, 7654321);
    g_autoptr(FkClassSummary) again = NULL;

    fk_test_replace_case (f->store, f->outing, other, "Chen Mei-ling", &error);
    g_assert_no_error (error);
    again = fk_class_summary_new (f->store, f->outing, NULL, &error);
    g_assert_cmpuint (again->rows->len, ==, 5);
  }

  /* An outing that does not exist. */
  g_assert_null (fk_class_summary_new (f->store, "O99", NULL, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
}

static void
test_csv (Fixture       *f,
          gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkClassSummary) summary = fk_class_summary_new (f->store, f->outing, NULL, &error);
  g_autofree char *path = g_build_filename (f->dir, "class-801.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  gsize len = 0;

  g_assert_no_error (error);
  g_assert_true (fk_class_summary_write (summary, path, &error));
  g_assert_no_error (error);
  assert_private (path);
  assert_no_id_numbers (f, path);
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  g_assert_true (g_utf8_validate (text, (gssize) len, NULL));
  /* The byte-order mark Excel needs to read UTF-8. */
  g_assert_cmpmem (text, 3, "\xEF\xBB\xBF", 3);

  rows = parse_csv (text + 3);
  g_assert_cmpuint (rows->len, ==, 6);
  g_assert_cmpstr (cell (rows, 0, 0), ==, "Class");
  g_assert_cmpstr (cell (rows, 0, 2), ==, "Name");
  g_assert_cmpstr (cell (rows, 0, 4), ==, "Receipt number");
  for (guint r = 0; r < rows->len; r++)
    g_assert_cmpuint (((GPtrArray *) rows->pdata[r])->len, ==, 7);
  g_assert_cmpstr (cell (rows, 1, 0), ==, "801");
  g_assert_cmpstr (cell (rows, 1, 1), ==, "1");
  g_assert_cmpstr (cell (rows, 1, 2), ==, "蔡語彤");
  g_assert_cmpstr (cell (rows, 1, 3), ==, "Applied");
  g_assert_cmpstr (cell (rows, 1, 4), ==, f->receipt_no);
  g_assert_cmpstr (cell (rows, 1, 6), ==, "done");
  g_assert_cmpstr (cell (rows, 2, 2), ==, "黃詠晴");
  g_assert_cmpstr (cell (rows, 2, 6), ==, "absent");
  g_assert_cmpstr (cell (rows, 2, 4), ==, "");
  g_assert_cmpstr (cell (rows, 3, 6), ==, "later");
  g_assert_cmpstr (cell (rows, 4, 1), ==, "10");
  /* A name that starts like a formula is kept as text. */
  g_assert_cmpstr (cell (rows, 5, 2), ==, "'=HYPERLINK(\"x\")");

  /* In Chinese the header is Chinese. */
  fk_lang_set ("zh_TW");
  g_assert_true (fk_class_summary_write_csv (summary, path, &error));
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  g_assert_true (g_str_has_prefix (text, "\xEF\xBB\xBF" "班級,座號,姓名,狀態,收件編號"));
  g_assert_nonnull (strstr (text, "缺席"));
}

static void
test_pdf (Fixture       *f,
          gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkClassSummary) summary = fk_class_summary_new (f->store, f->outing, NULL, &error);
  g_autofree char *path = g_build_filename (f->dir, "class-801.pdf", NULL);
  const char *text_argv[] = { "pdftotext", "-enc", "UTF-8", path, "-", NULL };
  const char *fonts_argv[] = { "pdffonts", path, NULL };
  g_autofree char *text = NULL;
  g_autofree char *fonts = NULL;

  g_assert_no_error (error);
  g_assert_true (fk_class_summary_write (summary, path, &error));
  g_assert_no_error (error);
  assert_private (path);
  assert_no_id_numbers (f, path);
  text = run_tool (text_argv);
  for (guint i = 0; i < G_N_ELEMENTS (students); i++)
    g_assert_nonnull (strstr (text, students[i].name));
  g_assert_nonnull (strstr (text, f->receipt_no));
  g_assert_nonnull (strstr (text, "Beitun JHS, class 801"));
  g_assert_nonnull (strstr (text, "缺席"));
  g_assert_nonnull (strstr (text, "Contains personal data"));
  fonts = run_tool (fonts_argv);
  g_assert_nonnull (strstr (fonts, "NotoSansCJK"));
  g_assert_null (strstr (fonts, " no "));
}

/* A class of 80 runs over several pages, each numbered. */
static void
test_pdf_pages (Fixture       *f,
                gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkClassSummary) summary = fk_class_summary_new (f->store, f->outing, NULL, &error);
  g_autofree char *path = g_build_filename (f->dir, "long.pdf", NULL);
  const char *text_argv[] = { "pdftotext", "-enc", "UTF-8", path, "-", NULL };
  g_autofree char *text = NULL;

  for (guint i = 0; i < 75; i++)
    {
      FkClassSummaryRow *row = g_new0 (FkClassSummaryRow, 1);

      row->school_class = g_strdup ("803");
      row->seat = g_strdup_printf ("%u", i + 1);
      row->name = g_strdup_printf ("學生%02u", i + 1);
      row->state = FK_DRIVE_NOT_SEEN;
      g_ptr_array_add (summary->rows, row);
    }
  g_assert_true (fk_class_summary_write_pdf (summary, path, &error));
  g_assert_no_error (error);
  text = run_tool (text_argv);
  g_assert_nonnull (strstr (text, "學生01"));
  g_assert_nonnull (strstr (text, "學生75"));
  g_assert_nonnull (strstr (text, "Page 1 of 3"));
  g_assert_nonnull (strstr (text, "Page 3 of 3"));
}

static void
test_refused (Fixture       *f,
              gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkClassSummary) summary = fk_class_summary_new (f->store, f->outing, NULL, &error);
  g_autofree char *txt = g_build_filename (f->dir, "class.txt", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "no-such-folder", "class.pdf", NULL);
  g_autofree char *missing_csv = g_build_filename (f->dir, "no-such-folder", "class.csv", NULL);

  g_assert_false (fk_class_summary_write (summary, txt, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (g_file_test (txt, G_FILE_TEST_EXISTS));
  g_assert_false (fk_class_summary_write (summary, missing, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no-such-folder"));
  g_clear_error (&error);
  g_assert_false (fk_class_summary_write (summary, missing_csv, &error));
  g_assert_nonnull (error);
}

static int
run_cli (Fixture     *f,
         const char  *outing,
         const char  *output,
         char       **out)
{
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("FIELDKIT_CLI");
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "FIELDKIT_PASSPHRASE", FK_TEST_PASS_ANN, TRUE);
  const char *argv[] = { cli, "--data-dir", f->dir, "--operator", "ann", "--json", "--lang", "en",
                         "class-summary", outing, "--output", output, NULL };
  g_autofree char *err = NULL;
  int status = 0;

  g_assert_nonnull (cli);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, 0, NULL, NULL, out, &err, &status, &error));
  g_assert_no_error (error);
  if (err && *err)
    g_test_message ("fieldkit-cli: %s", g_strchomp (err));
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_cli (Fixture       *f,
          gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *csv = g_build_filename (f->dir, "cli.csv", NULL);
  g_autofree char *pdf = g_build_filename (f->dir, "cli.pdf", NULL);
  g_autofree char *out = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *text_argv[] = { "pdftotext", "-enc", "UTF-8", pdf, "-", NULL };
  JsonObject *o, *st;

  if (g_getenv ("FIELDKIT_CLI") == NULL)
    {
      g_test_skip ("FIELDKIT_CLI is not set (run through meson test)");
      return;
    }
  g_assert_cmpint (run_cli (f, f->outing, csv, &out), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpstr (json_object_get_string_member (o, "file"), ==, csv);
  g_assert_cmpint (json_object_get_int_member (o, "students"), ==, 5);
  st = json_object_get_object_member (o, "states");
  g_assert_cmpint (json_object_get_int_member (st, "done"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (st, "absent"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (st, "later"), ==, 1);
  assert_private (csv);
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "\xEF\xBB\xBF" "Class,Seat,Name"));
  g_assert_nonnull (strstr (text, f->receipt_no));
  g_clear_pointer (&text, g_free);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (f, f->outing, pdf, &out), ==, 0);
  text = run_tool (text_argv);
  g_assert_nonnull (strstr (text, "蔡語彤"));

  /* Usage: another extension; a missing outing is refused. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (f, f->outing, "summary.xlsx", &out), ==, 2);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (f, "O42", csv, &out), ==, 1);
}

int
main (int argc, char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/class-summary/seat-order", test_seat_order);
  g_test_add ("/app/class-summary/states", Fixture, NULL, fixture_set_up, test_states, fixture_tear_down);
  g_test_add ("/app/class-summary/csv", Fixture, NULL, fixture_set_up, test_csv, fixture_tear_down);
  g_test_add ("/app/class-summary/pdf", Fixture, NULL, fixture_set_up, test_pdf, fixture_tear_down);
  g_test_add ("/app/class-summary/pdf-pages", Fixture, NULL, fixture_set_up, test_pdf_pages, fixture_tear_down);
  g_test_add ("/app/class-summary/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/app/class-summary/cli", Fixture, NULL, fixture_set_up, test_cli, fixture_tear_down);

  return g_test_run ();
}
