/* test-receipt.c — the receipt (收件確認) of a sealed case as PDF.
 *
 * The PDF is checked the way a reader meets it, with the tools of
 * poppler-utils and zbar-tools (tools/install-deps.sh): pdftotext gives the
 * receipt number, the service and the ROC date back as text, pdffonts shows
 * every font embedded and a Noto CJK font among them, and the QR code,
 * rendered at 300 dpi, decodes with zbarimg to exactly the receipt number.
 * Neither the full name nor the full ID number may be anywhere in the file.
 */
#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "app/fk-receipt.h"
#include "fk-test-util.h"

#define APPLICANT_NAME "王小明"
#define APPLICANT_MASKED "王○明"

typedef struct {
  char    *dir;
  FkStore *store;
  char    *outing;
  char    *person_id;
  gint64   case_id;
  char    *receipt_no;
} Fixture;

/* ---- helpers ------------------------------------------------------------------ */

/* Runs argv and returns its standard output; the tool must exist and
 * succeed. */
static char *
run_tool (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_find_program_in_path (argv[0]);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (program == NULL)
    g_error ("%s is not installed: run tools/install-deps.sh (poppler-utils, zbar-tools)", argv[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s\n%s", argv[0], error->message, err ? err : "");
  return g_steal_pointer (&out);
}

static char *
pdf_text (const char *pdf)
{
  const char *argv[] = { "pdftotext", "-enc", "UTF-8", pdf, "-", NULL };

  return run_tool (argv);
}

/* Asserts that every font is embedded and that a Noto CJK font is used. */
static void
assert_fonts_embedded (const char *pdf)
{
  const char *argv[] = { "pdffonts", pdf, NULL };
  g_autofree char *out = run_tool (argv);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  gboolean noto = FALSE;
  guint n_fonts = 0;
  gssize emb_col = -1;

  /* The header names the columns; "emb" is where the yes/no of each font
   * stands, whatever the width of the name column. */
  g_assert_nonnull (lines[0]);
  emb_col = strstr (lines[0], "emb") ? strstr (lines[0], "emb") - lines[0] : -1;
  g_assert_cmpint (emb_col, >, 0);
  for (guint i = 2; lines[i] != NULL; i++)
    {
      if (*lines[i] == '\0')
        continue;
      n_fonts++;
      g_assert_cmpint ((gssize) strlen (lines[i]), >, emb_col + 3);
      if (!g_str_has_prefix (lines[i] + emb_col, "yes"))
        g_error ("font not embedded: %s", lines[i]);
      if (strstr (lines[i], "NotoSansCJK"))
        noto = TRUE;
    }
  g_assert_cmpuint (n_fonts, >, 0);
  if (!noto)
    g_error ("no Noto Sans CJK font in the PDF:\n%s", out);
}

/* Renders the first page at 300 dpi and returns what zbarimg reads. */
static char *
decode_qr (const char *pdf,
           const char *dir)
{
  g_autofree char *prefix = g_build_filename (dir, "page", NULL);
  g_autofree char *png = g_strconcat (prefix, ".png", NULL);
  const char *render[] = { "pdftoppm", "-r", "300", "-png", "-singlefile", pdf, prefix, NULL };
  const char *scan[] = { "zbarimg", "--raw", "-q", png, NULL };
  g_autofree char *ignored = run_tool (render);
  char *out;

  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  out = run_tool (scan);
  g_unlink (png);
  return out;
}

/* Width and height of the first page in points, from pdfinfo. */
static void
page_size (const char *pdf,
           double     *w,
           double     *h)
{
  const char *argv[] = { "pdfinfo", pdf, NULL };
  g_autofree char *out = run_tool (argv);
  const char *p = strstr (out, "Page size:");

  g_assert_nonnull (p);
  g_assert_cmpint (sscanf (p, "Page size: %lf x %lf", w, h), ==, 2);
}

static void
assert_no_personal_data (const Fixture *f,
                         const char    *pdf,
                         const char    *text)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;

  g_assert_null (strstr (text, APPLICANT_NAME));
  g_assert_null (strstr (text, f->person_id));
  g_assert_true (g_file_get_contents (pdf, &bytes, &len, NULL));
  g_assert_null (memmem (bytes, len, APPLICANT_NAME, strlen (APPLICANT_NAME)));
  g_assert_null (memmem (bytes, len, f->person_id, strlen (f->person_id)));
}

/* ---- fixture: a sealed ID-card case, taken on a home visit --------------------- */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  FkCaseInput in = { 0 };

  f->dir = fk_test_make_tmp ();
  f->store = fk_test_store_new (f->dir, NULL);
  f->outing = fk_test_outing (f->store);
  f->person_id = fk_test_national_id ('B', 1, 2345678);

  in.outing_id = f->outing;
  in.service = "id_card_first";
  in.person_id = f->person_id;
  in.name = APPLICANT_NAME;
  in.birth_date = "2012-05-03";
  f->case_id = fk_store_case_new (f->store, &in, &error);
  g_assert_no_error (error);
  g_assert_cmpint (f->case_id, >, 0);
  g_assert_true (fk_store_case_tick (f->store, f->case_id, NULL, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_check (f->store, f->case_id, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_operator_add (f->store, "bob", "Lin Chih-hao", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_approve_as (f->store, f->case_id, "bob", FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_finalize (f->store, f->case_id, &f->receipt_no, &error));
  g_assert_no_error (error);
  g_assert_nonnull (f->receipt_no);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->store, fk_store_close);
  fk_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->outing);
  g_free (f->person_id);
  g_free (f->receipt_no);
}

/* ---- tests --------------------------------------------------------------------- */

static void
test_mask (void)
{
  static const struct { const char *in, *out; } names[] = {
    { "王小明", "王○明" },
    { "歐陽娜娜", "歐○○娜" },
    { "林杰", "林○" },
    { "Chen Mei-ling", "C***g" },
    { "  Li ", "L***" },
    { "瓦歷斯·諾幹", "瓦○○○○幹" },
  };
  g_autofree char *id = fk_receipt_mask_id ("A123456789");
  g_autofree char *short_id = fk_receipt_mask_id ("A12");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *m = fk_receipt_mask_name (names[i].in);

      g_assert_cmpstr (m, ==, names[i].out);
    }
  g_assert_null (fk_receipt_mask_name (NULL));
  g_assert_null (fk_receipt_mask_name ("   "));
  g_assert_cmpstr (id, ==, "******6789");
  g_assert_cmpstr (short_id, ==, "***");
  g_assert_null (fk_receipt_mask_id (NULL));
}

static void
test_data (Fixture       *f,
           gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkReceiptData) d = fk_receipt_data_new (f->store, f->case_id, &error);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *roc = g_strdup_printf ("民國%d年%d月%d日", g_date_time_get_year (now) - 1911,
                                          g_date_time_get_month (now), g_date_time_get_day_of_month (now));
  g_autofree char *id_tail = g_strconcat ("******", f->person_id + 6, NULL);
  g_autofree char *next = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->receipt_no, ==, f->receipt_no);
  g_assert_true (g_str_has_prefix (d->receipt_no, "TCN-03-"));
  g_assert_cmpstr (d->office_code, ==, "TCN");
  g_assert_cmpstr (d->service_zh, ==, "初領國民身分證");
  g_assert_cmpstr (d->service_en, ==, "First national ID card");
  g_assert_cmpstr (d->date_roc, ==, roc);
  g_assert_cmpint (d->fee, ==, 50);
  g_assert_cmpint (d->time_limit_days, ==, 1);
  g_assert_nonnull (d->time_limit_zh);
  g_assert_cmpstr (d->outing_kind, ==, "home_visit");
  g_assert_cmpstr (d->outing_kind_zh, ==, "到府服務");
  g_assert_cmpstr (d->clerk, ==, "ann");
  g_assert_cmpstr (d->checker, ==, "bob");
  g_assert_cmpstr (d->name_masked, ==, APPLICANT_MASKED);
  g_assert_cmpstr (d->id_masked, ==, id_tail);
  g_assert_cmpuint (g_strv_length (d->next_zh), >=, 2);
  g_assert_cmpuint (g_strv_length (d->next_zh), ==, g_strv_length (d->next_en));
  /* A home visit's card is brought to the home later. */
  next = g_strjoinv ("", d->next_zh);
  g_assert_nonnull (strstr (next, "到府交付"));
}

static void
test_pdf (Fixture       *f,
          gconstpointer  format_data)
{
  FkReceiptFormat format = GPOINTER_TO_INT (format_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(FkReceiptData) d = fk_receipt_data_new (f->store, f->case_id, &error);
  g_autofree char *pdf = g_build_filename (f->dir, "receipt.pdf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *qr = NULL;
  g_autofree char *id_tail = g_strconcat ("******", f->person_id + 6, NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  double w, h;

  g_assert_no_error (error);
  g_assert_true (fk_receipt_write_pdf (f->store, f->case_id, format, pdf, &error));
  g_assert_no_error (error);

  /* Written atomically: no temporary file is left next to it. */
  dir = g_dir_open (f->dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".receipt.pdf."));

  text = pdf_text (pdf);
  g_assert_nonnull (strstr (text, f->receipt_no));
  g_assert_nonnull (strstr (text, "收件確認"));
  g_assert_nonnull (strstr (text, "初領國民身分證"));
  g_assert_nonnull (strstr (text, d->date_roc));
  g_assert_nonnull (strstr (text, "民國"));
  g_assert_nonnull (strstr (text, "新臺幣50元"));
  g_assert_nonnull (strstr (text, "1個工作天"));
  g_assert_nonnull (strstr (text, APPLICANT_MASKED));
  g_assert_nonnull (strstr (text, id_tail));
  assert_no_personal_data (f, pdf, text);

  assert_fonts_embedded (pdf);

  qr = decode_qr (pdf, f->dir);
  g_strchomp (qr);
  g_assert_cmpstr (qr, ==, f->receipt_no);

  page_size (pdf, &w, &h);
  if (format == FK_RECEIPT_A4)
    {
      g_assert_cmpfloat_with_epsilon (w, 595.0, 0.5);
      g_assert_cmpfloat_with_epsilon (h, 842.0, 0.5);
    }
  else
    {
      /* 80 mm wide, as long as the content: longer than wide, shorter
       * than a sheet. */
      g_assert_cmpfloat_with_epsilon (w, 226.77, 0.1);
      g_assert_cmpfloat (h, >, w);
      g_assert_cmpfloat (h, <, 842.0);
      g_assert_cmpfloat_with_epsilon (h, fk_receipt_measure (d, format, FK_RECEIPT_SLIP_WIDTH_PT), 0.5);
    }
}

/* After the office acknowledged a case the personal data is purged: the
 * receipt then has no applicant rows at all. */
static void
test_without_person (Fixture       *f,
                     gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkReceiptData) d = fk_receipt_data_new (f->store, f->case_id, &error);
  g_autofree char *pdf = g_build_filename (f->dir, "stub.pdf", NULL);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_clear_pointer (&d->name_masked, g_free);
  g_clear_pointer (&d->id_masked, g_free);
  g_assert_true (fk_receipt_data_write_pdf (d, FK_RECEIPT_SLIP_80MM, pdf, &error));
  g_assert_no_error (error);
  text = pdf_text (pdf);
  g_assert_nonnull (strstr (text, f->receipt_no));
  g_assert_null (strstr (text, "申請人"));
  g_assert_null (strstr (text, "******"));
}

static void
test_draft_refused (Fixture       *f,
                    gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pdf = g_build_filename (f->dir, "draft.pdf", NULL);
  g_autofree char *other_id = fk_test_national_id ('C', 2, 7654321);
  gint64 draft = fk_test_replace_case (f->store, f->outing, other_id, "Chen Mei-ling", &error);
  FkReceiptData *d;

  g_assert_no_error (error);
  d = fk_receipt_data_new (f->store, draft, &error);
  g_assert_null (d);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "finalize"));
  g_clear_error (&error);

  g_assert_false (fk_receipt_write_pdf (f->store, draft, FK_RECEIPT_A4, pdf, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));

  /* Checked is not sealed either. */
  g_assert_true (fk_store_case_tick (f->store, draft, NULL, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_check (f->store, draft, &error));
  g_assert_no_error (error);
  g_assert_false (fk_receipt_write_pdf (f->store, draft, FK_RECEIPT_SLIP_80MM, pdf, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
}

static void
test_unwritable (Fixture       *f,
                 gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pdf = g_build_filename (f->dir, "no-such-folder", "receipt.pdf", NULL);

  g_assert_false (fk_receipt_write_pdf (f->store, f->case_id, FK_RECEIPT_SLIP_80MM, pdf, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, pdf));
}

/* fieldkit-cli receipt CASE --output FILE.pdf [--format slip|a4] --json */
static int
run_cli (Fixture     *f,
         const char  *ref,
         const char  *format,
         const char  *output,
         char       **out)
{
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("FIELDKIT_CLI");
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "FIELDKIT_PASSPHRASE", FK_TEST_PASS_ANN, TRUE);
  const char *argv[] = { cli, "--data-dir", f->dir, "--operator", "ann", "--json", "receipt", ref,
                         "--output", output, format ? "--format" : NULL, format, NULL };
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
  g_autofree char *pdf = g_build_filename (f->dir, "cli.pdf", NULL);
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *text = NULL;
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, f->case_id);
  g_autofree char *other_id = fk_test_national_id ('C', 2, 7654321);
  g_autofree char *draft_ref = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  gint64 draft;
  double w, h;

  if (g_getenv ("FIELDKIT_CLI") == NULL)
    {
      g_test_skip ("FIELDKIT_CLI is not set (run through meson test)");
      return;
    }
  g_assert_cmpint (run_cli (f, f->receipt_no, "a4", pdf, &out), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpstr (json_object_get_string_member (o, "file"), ==, pdf);
  g_assert_cmpstr (json_object_get_string_member (o, "receipt_no"), ==, f->receipt_no);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "a4");
  page_size (pdf, &w, &h);
  g_assert_cmpfloat_with_epsilon (h, 842.0, 0.5);
  text = pdf_text (pdf);
  g_assert_nonnull (strstr (text, f->receipt_no));
  assert_no_personal_data (f, pdf, text);

  /* The default is the slip, and the local case number works too. */
  g_assert_cmpint (run_cli (f, ref, NULL, pdf, &out2), ==, 0);
  page_size (pdf, &w, &h);
  g_assert_cmpfloat_with_epsilon (w, 226.77, 0.1);

  draft = fk_test_replace_case (f->store, f->outing, other_id, "Chen Mei-ling", &error);
  g_assert_no_error (error);
  draft_ref = g_strdup_printf ("%" G_GINT64_FORMAT, draft);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (f, draft_ref, NULL, pdf, &out), ==, 1);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (f, ref, "letter", pdf, &out), ==, 2);
}

int
main (int argc, char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/receipt/mask", test_mask);
  g_test_add ("/app/receipt/data", Fixture, NULL, fixture_set_up, test_data, fixture_tear_down);
  g_test_add ("/app/receipt/pdf-slip", Fixture, GINT_TO_POINTER (FK_RECEIPT_SLIP_80MM),
              fixture_set_up, test_pdf, fixture_tear_down);
  g_test_add ("/app/receipt/pdf-a4", Fixture, GINT_TO_POINTER (FK_RECEIPT_A4),
              fixture_set_up, test_pdf, fixture_tear_down);
  g_test_add ("/app/receipt/without-person", Fixture, NULL, fixture_set_up, test_without_person, fixture_tear_down);
  g_test_add ("/app/receipt/draft-refused", Fixture, NULL, fixture_set_up, test_draft_refused, fixture_tear_down);
  g_test_add ("/app/receipt/unwritable", Fixture, NULL, fixture_set_up, test_unwritable, fixture_tear_down);
  g_test_add ("/app/receipt/cli", Fixture, NULL, fixture_set_up, test_cli, fixture_tear_down);

  return g_test_run ();
}
