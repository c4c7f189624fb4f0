/* test-roster.c — class roster import (app/fk-roster.h).
 *
 * The reader against every fixture the schools' exports were modelled on
 * (tests/fixtures/rosters, a copy of shared/fixtures/rosters), row by row,
 * and against crafted bad files: cut short inside a character, not text at
 * all, 50 MB, header only, two encodings mixed, an unclosed quote.  Then
 * the import into a store: cases made in class and seat order with their
 * names readable only through the store, a second import refused row by
 * row, all-or-nothing, a row the store refuses, and no name or ID number
 * in the clear anywhere in the data folder.  Finally the command line.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "app/fk-roster.h"
#include "crypto/fk-i18n.h"
#include "tests/fk-test-util.h"

/* The date the test outings are held on: ages are counted on it, so the
 * fixtures' students (born 2011–2012) stay 13–15 whenever the test runs. */
#define DRIVE_DATE "2026-11-26"

/* ---- fixtures ------------------------------------------------------------ */

/* The repository's own copy first, so the tests need nothing outside the
 * repository; then FIELDKIT_FIXTURES; then shared/ beside the checkout. */
static char *
fixtures_dir (void)
{
  g_autofree char *own = g_test_build_filename (G_TEST_DIST, "fixtures", "rosters", NULL);
  const char *env = g_getenv ("FIELDKIT_FIXTURES");

  if (g_file_test (own, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&own);
  if (env != NULL && g_file_test (env, G_FILE_TEST_IS_DIR))
    return g_strdup (env);
  return g_test_build_filename (G_TEST_DIST, "..", "..", "shared", "fixtures", "rosters", NULL);
}

static char *
fixture_path (const char *name)
{
  g_autofree char *dir = fixtures_dir ();

  return g_build_filename (dir, name, NULL);
}

static FkRoster *
parse_fixture (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path (name);
  FkRoster *roster = fk_roster_parse_file (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (roster);
  return roster;
}

static FkRoster *
parse_text (const char *text,
            gssize      len,
            GError    **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, len < 0 ? strlen (text) : (gsize) len);

  return fk_roster_parse (bytes, error);
}

static FkRoster *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  FkRoster *roster = parse_text (text, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (roster);
  return roster;
}

static void
parse_fails (const char   *text,
             gssize        len,
             FkRosterError code,
             const char   *in_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkRoster) roster = parse_text (text, len, &error);

  g_assert_null (roster);
  g_assert_error (error, FK_ROSTER_ERROR, (gint) code);
  if (in_message != NULL && strstr (error->message, in_message) == NULL)
    g_error ("expected \"%s\" in: %s", in_message, error->message);
}

/* "checksum,duplicate_in_file" — the row's problem codes in order. */
static char *
codes (const FkRosterRow *row)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < row->problems->len; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", ((FkRosterProblem *) row->problems->pdata[i])->code);
  return g_string_free (s, FALSE);
}

typedef struct {
  guint       line;
  const char *school_class;
  const char *seat;
  const char *name;
  const char *id;
  const char *birth;     /* NULL: none */
  const char *guardian;
  const char *phone;
  const char *codes;
} Expected;

static void
assert_rows (const FkRoster *roster,
             const Expected *expected,
             guint           n)
{
  g_assert_cmpuint (fk_roster_n_rows (roster), ==, n);
  for (guint i = 0; i < n; i++)
    {
      const FkRosterRow *row = fk_roster_row (roster, i);
      const Expected *e = &expected[i];
      g_autofree char *got = codes (row);

      g_test_message ("row %u", i + 1);
      g_assert_cmpuint (row->number, ==, i + 1);
      g_assert_cmpuint (row->line, ==, e->line);
      g_assert_cmpstr (row->school_class, ==, e->school_class);
      g_assert_cmpstr (row->seat, ==, e->seat);
      g_assert_cmpstr (row->name, ==, e->name);
      g_assert_cmpstr (row->national_id, ==, e->id);
      g_assert_cmpstr (row->birth_date, ==, e->birth);
      g_assert_cmpstr (row->guardian, ==, e->guardian);
      g_assert_cmpstr (row->phone, ==, e->phone);
      g_assert_cmpstr (got, ==, e->codes);
      for (guint j = 0; j < row->problems->len; j++)
        {
          const FkRosterProblem *p = row->problems->pdata[j];

          /* Messages name the problem but never the ID number or the name. */
          g_assert_cmpuint (strlen (p->message), >, 5);
          g_assert_null (strstr (p->message, row->national_id));
          if (*row->name != '\0')
            g_assert_null (strstr (p->message, row->name));
        }
    }
}

static const Expected rows_801[] = {
  { 2, "801", "1", "蔡語彤", "M142623620", "2011-11-03", "李媽媽", "0988726002", "" },
  { 3, "801", "2", "黃詠晴", "L202717180", "2012-08-26", "吳爸爸", "0903514558", "" },
  { 4, "801", "3", "周子晴", "N217069406", "2012-10-27", "曾媽媽", "0972337188", "" },
  { 5, "801", "4", "楊浩然", "B153886652", "2012-08-18", "楊媽媽", "0973433345", "" },
  { 6, "801", "5", "王語彤", "B242812077", "2012-02-28", "許阿嬤", "0917221195", "" },
  { 7, "801", "6", "張喆安", "B235845495", "2011-11-10", "楊媽媽", "0959673435", "" },
  { 8, "801", "7", "楊彥廷", "B174701903", "2012-09-25", "周媽媽", "0906441001", "" },
  { 9, "801", "8", "楊品妍", "B277892850", "2012-03-06", "邱阿嬤", "0983405986", "" },
  { 10, "801", "9", "楊浩然", "B254253453", "2012-11-27", "周媽媽", "0928599623", "" },
  { 11, "801", "10", "張芷涵", "M255203769", "2012-02-02", "邱爸爸", "0934127789", "" },
  { 12, "801", "11", "李浩然", "L118250256", "2012-06-21", "黃爸爸", "0942384990", "" },
  { 13, "801", "12", "吳冠宇", "N289776334", "2012-06-18", "黃阿嬤", "0972708750", "" },
};

static const Expected rows_802[] = {
  { 2, "802", "1", "陳語彤", "M174729133", "2012-05-05", "周媽媽", "0995111834", "" },
  { 3, "802", "2", "周品妍", "B112071011", "2012-07-04", "許阿嬤", "0970649277", "" },
  { 4, "802", "3", "周柏翰", "A109116064", "2011-10-08", "曾阿嬤", "0908341996", "" },
  { 5, "802", "4", "賴詠晴", "A222196660", "2012-03-05", "楊爸爸", "0953728955", "" },
  { 6, "802", "5", "鄭家豪", "B128245312", "2011-10-02", "賴爸爸", "0952779314", "" },
  { 7, "802", "6", "周家豪", "N191064865", "2012-10-18", "陳爸爸", "0984018459", "" },
  { 8, "802", "7", "邱子晴", "L120855476", "2012-06-10", "周阿嬤", "0938520973", "" },
  { 9, "802", "8", "李宥廷", "L201457005", "2011-10-21", "張媽媽", "0911867365", "" },
  { 10, "802", "9", "賴承恩", "B284599668", "2012-10-22", "楊媽媽", "0981952362", "" },
  { 11, "802", "10", "洪宇軒", "A228814989", "2012-12-25", "郭爸爸", "0917060142", "" },
  { 12, "802", "11", "洪思妤", "B100219592", "2011-09-25", "周媽媽", "0965064159", "" },
  { 13, "802", "12", "張語彤", "B204912327", "2011-12-04", "王爸爸", "0904661684", "" },
};

static const Expected rows_803[] = {
  { 2, "803", "1", "蔡承恩", "A138931539", "2012-06-18", "劉阿嬤", "0953626877", "" },
  { 3, "803", "2", "黃芷涵", "B122452573", "2011-11-06", "洪爸爸", "0983979884", "" },
  { 4, "803", "3", "陳承恩", "M120572802", "2012-10-08", "鄭阿嬤", "0910028013", "" },
  { 5, "803", "4", "賴詠晴", "A126059184", "2012-03-13", "謝爸爸", "0910170796", "" },
  { 6, "803", "5", "黃雅婷", "L245244784", "2011-10-26", "邱爸爸", "0932814338", "" },
  { 7, "803", "6", "曾詠晴", "B213177649", "2012-03-19", "洪媽媽", "0970643512", "" },
  { 8, "803", "7", "林柏翰", "L218442961", "2011-10-01", "王阿嬤", "0954752459", "" },
  { 9, "803", "8", "張語彤", "N119357952", "2011-12-11", "吳阿嬤", "0991069039", "" },
  { 10, "803", "9", "邱芷涵", "M160609511", "2012-07-08", "陳阿嬤", "0922817405", "" },
  { 11, "803", "10", "廖詠晴", "B124531237", "2011-10-18", "楊爸爸", "0955350564", "" },
};

/* README: row 2 bad checksum, row 4 repeats row 3's ID, row 5 no name,
 * row 6 impossible date (101/13/45), row 7 lower-case letter (accepted). */
static const Expected rows_804[] = {
  { 2, "804", "1", "許睿哲", "L154477093", "2012-03-24", "劉爸爸", "0919168462", "" },
  { 3, "804", "2", "李彥廷", "L241150353", "2012-08-26", "邱阿嬤", "0962205273", "checksum" },
  { 4, "804", "3", "黃語彤", "L206904778", "2011-10-26", "曾阿嬤", "0978076204", "" },
  { 5, "804", "4", "黃承恩", "L206904778", "2011-11-27", "張阿嬤", "0961525969", "duplicate_in_file" },
  { 6, "804", "5", "", "L156417951", "2012-07-15", "洪媽媽", "0979157229", "no_name" },
  { 7, "804", "6", "鄭品妍", "B111602834", NULL, "廖爸爸", "0909907843", "bad_date" },
  { 8, "804", "7", "林堃霖", "L137128840", "2012-01-11", "陳阿嬤", "0993338449", "" },
  { 9, "804", "8", "廖彥廷", "M255194176", "2012-10-01", "王爸爸", "0943175408", "" },
};

static const char *const fixture_names[] = {
  "class-801-utf8.csv", "class-802-big5-crlf.csv", "class-803-utf8-bom-tab.tsv", "class-804-problems.csv",
};

/* ---- the reader: fixtures --------------------------------------------------- */

static void
test_fixture_801 (void)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-801-utf8.csv");

  g_assert_cmpstr (fk_roster_encoding (roster), ==, "utf-8");
  g_assert_cmpstr (fk_roster_separator (roster), ==, "comma");
  g_assert_null (fk_roster_ignored_columns (roster)[0]);
  g_assert_true (fk_roster_has_birth_dates (roster));
  assert_rows (roster, rows_801, G_N_ELEMENTS (rows_801));
  g_assert_cmpuint (fk_roster_n_good (roster), ==, 12);
}

static void
test_fixture_802_big5 (void)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-802-big5-crlf.csv");

  g_assert_cmpstr (fk_roster_encoding (roster), ==, "big5");
  g_assert_true (g_str_has_prefix (fk_roster_encoding_label (roster), "Big5"));
  g_assert_cmpstr (fk_roster_separator (roster), ==, "comma");
  /* 許 is B3 5C in Big5: its second byte is a backslash in ASCII. */
  assert_rows (roster, rows_802, G_N_ELEMENTS (rows_802));
}

static void
test_fixture_803_bom_tab (void)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-803-utf8-bom-tab.tsv");

  g_assert_cmpstr (fk_roster_encoding (roster), ==, "utf-8-bom");
  g_assert_cmpstr (fk_roster_separator (roster), ==, "tab");
  assert_rows (roster, rows_803, G_N_ELEMENTS (rows_803));
}

static void
test_fixture_804_problems (void)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-804-problems.csv");
  const FkRosterRow *dup = fk_roster_row (roster, 3);

  g_assert_cmpstr (fk_roster_encoding (roster), ==, "utf-8");
  assert_rows (roster, rows_804, G_N_ELEMENTS (rows_804));
  g_assert_cmpuint (fk_roster_n_good (roster), ==, 4);
  /* The repeat names the line of the first occurrence. */
  g_assert_nonnull (strstr (((FkRosterProblem *) dup->problems->pdata[0])->message, "4"));
}

static void
test_fixture_copies_match (void)
{
  const char *env = g_getenv ("FIELDKIT_FIXTURES");
  g_autofree char *own = g_test_build_filename (G_TEST_DIST, "fixtures", "rosters", NULL);

  if (env == NULL || !g_file_test (env, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("shared/fixtures/rosters is not beside the checkout");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (fixture_names); i++)
    {
      g_autofree char *a = g_build_filename (own, fixture_names[i], NULL);
      g_autofree char *b = g_build_filename (env, fixture_names[i], NULL);
      g_autofree char *da = NULL, *db = NULL;
      gsize la = 0, lb = 0;

      g_assert_true (g_file_get_contents (a, &da, &la, NULL));
      g_assert_true (g_file_get_contents (b, &db, &lb, NULL));
      g_assert_cmpmem (da, la, db, lb);
    }
}

/* ---- the reader: crafted files ------------------------------------------------ */

static char *
fixture_bytes (const char *name,
               gsize      *len)
{
  g_autofree char *path = fixture_path (name);
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return data;
}

static void
test_truncated_utf8 (void)
{
  gsize len = 0;
  g_autofree char *data = fixture_bytes ("class-801-utf8.csv", &len);
  gsize cut = len;

  /* Cut the file one byte into the last three-byte character. */
  while (cut > 0 && ((guchar) data[cut - 1] < 0xE0 || (guchar) data[cut - 1] > 0xEF))
    cut--;
  g_assert_cmpuint (cut, >, 100);
  parse_fails (data, (gssize) cut, FK_ROSTER_ERROR_ENCODING, "13");
  /* Two bytes into it. */
  parse_fails (data, (gssize) cut + 1, FK_ROSTER_ERROR_ENCODING, "13");
}

static void
test_truncated_big5 (void)
{
  gsize len = 0;
  g_autofree char *data = fixture_bytes ("class-802-big5-crlf.csv", &len);
  gsize cut = len;

  /* After the last lead byte of a Big5 character. */
  while (cut > 0 && (guchar) data[cut - 1] < 0xA1)
    cut--;
  cut--;
  g_assert_cmpuint ((guchar) data[cut - 1], >=, 0x81);
  parse_fails (data, (gssize) cut, FK_ROSTER_ERROR_ENCODING, "13");
}

static void
test_not_text (void)
{
  static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
  static const char xlsx[] = "PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0";
  static const char xls[] = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0";
  static const char nul_inside[] = "姓名,身分證字號\n王\0明,A123456789\n";
  guint8 random[4096];
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);

  parse_fails (png, sizeof png - 1, FK_ROSTER_ERROR_NOT_TEXT, "PNG");
  parse_fails (xlsx, sizeof xlsx - 1, FK_ROSTER_ERROR_NOT_TEXT, ".xlsx");
  parse_fails (xls, sizeof xls - 1, FK_ROSTER_ERROR_NOT_TEXT, ".xls");
  for (guint i = 0; i < sizeof random; i++)
    random[i] = (guint8) g_rand_int_range (rand, 0, 256);
  parse_fails ((const char *) random, sizeof random, FK_ROSTER_ERROR_NOT_TEXT, NULL);
  /* Text with a NUL inside is not text either. */
  parse_fails (nul_inside, sizeof nul_inside - 1, FK_ROSTER_ERROR_NOT_TEXT, NULL);
}

/* 50 MB of perfectly good roster rows: refused from its size, before any of
 * it is decoded, from a path and from memory. */
static void
test_too_large (void)
{
  g_autofree char *dir = fk_test_make_tmp ();
  g_autofree char *path = g_build_filename (dir, "district.csv", NULL);
  g_autoptr(GString) chunk = g_string_new ("班級,座號,姓名,身分證統一編號,出生日期\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = NULL;
  FkRoster *roster;
  gint64 start;
  gsize total = 0;
  FILE *f;

  for (guint i = 0; chunk->len < 1024 * 1024; i++)
    {
      g_autofree char *id = fk_test_national_id ('A', 1 + i % 2, i);

      g_string_append_printf (chunk, "801,%u,王小明,%s,101/05/03\n", i + 1, id);
    }
  f = fopen (path, "wb");
  g_assert_nonnull (f);
  while (total < 50 * 1000 * 1000)
    {
      g_assert_cmpuint (fwrite (chunk->str, 1, chunk->len, f), ==, chunk->len);
      total += chunk->len;
    }
  g_assert_cmpint (fclose (f), ==, 0);

  start = g_get_monotonic_time ();
  roster = fk_roster_parse_file (path, &error);
  g_assert_null (roster);
  g_assert_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_TOO_LARGE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_clear_error (&error);

  big = g_bytes_new_take (g_malloc0 (50 * 1000 * 1000), 50 * 1000 * 1000);
  start = g_get_monotonic_time ();
  roster = fk_roster_parse (big, &error);
  g_assert_null (roster);
  g_assert_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_TOO_LARGE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  fk_test_rm_rf (dir);
}

static void
test_too_many_rows (void)
{
  g_autoptr(GString) text = g_string_new ("name,national_id\n");

  for (guint i = 0; i <= FK_ROSTER_MAX_ROWS; i++)
    g_string_append (text, "x,A123456789\n");
  parse_fails (text->str, (gssize) text->len, FK_ROSTER_ERROR_TOO_LARGE, NULL);
}

static void
test_header_only (void)
{
  parse_fails ("班級,座號,姓名,身分證統一編號,出生日期,監護人,聯絡電話\n", -1, FK_ROSTER_ERROR_EMPTY, "0");
  /* Spreadsheet leftovers under the header are not students. */
  parse_fails ("name,national_id,,,\r\n,,,,\r\n  ,\t,,,\r\n\r\n", -1, FK_ROSTER_ERROR_EMPTY, "0");
  parse_fails ("", 0, FK_ROSTER_ERROR_EMPTY, NULL);
  parse_fails ("\xEF\xBB\xBF\n\n", -1, FK_ROSTER_ERROR_EMPTY, NULL);
}

static void
test_mixed_encodings (void)
{
  gsize len801 = 0, len802 = 0;
  g_autofree char *utf8 = fixture_bytes ("class-801-utf8.csv", &len801);
  g_autofree char *big5 = fixture_bytes ("class-802-big5-crlf.csv", &len802);
  const char *big5_row = strstr (big5, "802,5,");
  g_autoptr(GString) mixed = g_string_new_len (utf8, (gssize) len801);
  g_autoptr(GString) bom = g_string_new ("\xEF\xBB\xBF");

  g_assert_nonnull (big5_row);
  /* A UTF-8 roster with one row pasted in from a Big5 one: line 14. */
  g_string_append_len (mixed, big5_row, (gssize) (strchr (big5_row, '\n') + 1 - big5_row));
  parse_fails (mixed->str, (gssize) mixed->len, FK_ROSTER_ERROR_ENCODING, "14");

  /* The same with a byte-order mark saying UTF-8. */
  g_string_append_len (bom, mixed->str, (gssize) mixed->len);
  parse_fails (bom->str, (gssize) bom->len, FK_ROSTER_ERROR_ENCODING, "14");

  /* Big5 up to a byte (0xFF) that is neither UTF-8 nor Big5, on line 3. */
  parse_fails ("name,national_id\n\xA4\xFD,A123456789\n\xFF,B123456780\n", -1, FK_ROSTER_ERROR_ENCODING, "3");
}

static void
test_quoted_cells (void)
{
  g_autoptr(FkRoster) roster = parse_ok (
    "班級,座號,姓名,身分證字號,生日,監護人,聯絡電話\r\n"
    "801,1,\"王小明\",A123456789,101/05/03,\"王媽媽, 王爸爸\",\"0912-345-678\"\r\n"
    "801,2,陳大文,B123456780,101/05/04,\"第一行\r\n第二行\n第三行\",0912345678\r\n"
    "801,3,\"林\"\"小\"\"美\",C123456781,101/05/05, \"quoted after a space\" ,\r\n"
    "801,4,張\"阿\"明,D123456782,101/05/06,,\r\n");
  const FkRosterRow *r;

  g_assert_cmpuint (fk_roster_n_rows (roster), ==, 4);
  r = fk_roster_row (roster, 0);
  g_assert_cmpstr (r->guardian, ==, "王媽媽, 王爸爸");
  g_assert_cmpstr (r->phone, ==, "0912345678");
  r = fk_roster_row (roster, 1);
  g_assert_cmpuint (r->line, ==, 3);
  g_assert_cmpstr (r->guardian, ==, "第一行 第二行 第三行");
  /* Lines are counted through the line breaks inside quotes. */
  r = fk_roster_row (roster, 2);
  g_assert_cmpuint (r->line, ==, 6);
  g_assert_cmpstr (r->name, ==, "林\"小\"美");
  g_assert_cmpstr (r->guardian, ==, "quoted after a space");
  r = fk_roster_row (roster, 3);
  g_assert_cmpuint (r->line, ==, 7);
  g_assert_cmpstr (r->name, ==, "張\"阿\"明");
}

static void
test_unclosed_quote (void)
{
  parse_fails ("name,national_id\nA,A123456789\n\"B,B123456780\nC,C123456781\n", -1, FK_ROSTER_ERROR_FORMAT, "3");
}

static void
test_semicolon (void)
{
  g_autoptr(FkRoster) roster = parse_ok ("班級;座號;姓名;身分證統一編號;出生日期\n"
                                         "801;1;王小明;A123456789;101/05/03\n"
                                         "801;2;\"陳;大文\";B123456780;101/05/04\n");

  g_assert_cmpstr (fk_roster_separator (roster), ==, "semicolon");
  g_assert_cmpuint (fk_roster_n_rows (roster), ==, 2);
  g_assert_cmpstr (fk_roster_row (roster, 1)->name, ==, "陳;大文");
  g_assert_cmpuint (fk_roster_n_good (roster), ==, 2);
}

static void
test_dates (void)
{
  g_autoptr(FkRoster) roster = parse_ok ("name,national_id,birth_date\n"
                                         "a,A123456789,1010503\n"
                                         "b,B123456780,101年5月3日\n"
                                         "c,C123456781,101/5/3\n"
                                         "d,D123456782,2012-05-03\n"
                                         "e,E123456783,2012/5/3\n"
                                         "f,F123456784,民國101年5月3日\n"
                                         "g,G123456785,20120503\n"
                                         "h,H123456786,2012/5/3 00:00:00\n"
                                         "i,I123456781,１０１／０５／０３\n"
                                         "j,J123456787,101/02/30\n"
                                         "k,K123456788,3/5/2012\n"
                                         "l,L123456788,\n"
                                         "m,M123456789,2999-01-01\n");

  for (guint i = 0; i < 9; i++)
    {
      g_assert_cmpstr (fk_roster_row (roster, i)->birth_date, ==, "2012-05-03");
      g_assert_cmpuint (fk_roster_row (roster, i)->problems->len, ==, 0);
    }
  for (guint i = 9; i < 13; i++)
    {
      g_autofree char *got = codes (fk_roster_row (roster, i));

      g_assert_null (fk_roster_row (roster, i)->birth_date);
      g_assert_cmpstr (got, ==, "bad_date");
    }
}

/* Other column orders, Chinese and English headers mixed, extra columns,
 * a title above the header, empty trailing columns and rows. */
static void
test_columns (void)
{
  g_autoptr(FkRoster) roster = parse_ok (
    "臺北市北區國中 801 班 學生名冊,,,,,,,\n"
    "\n"
    "備註,Phone,性別,姓名,Seat No,出生日期（民國）,National ID,Class,,\n"
    "轉入,0912345678,男,王小明,2,1010503,a123456789,801,,\n"
    ",,女,陳美美,1,1010504,B123456780,801,,\n"
    ",,,,,,,,,\n"
    ",,,,,,,,,\n");
  const char * const *ignored = fk_roster_ignored_columns (roster);
  const FkRosterRow *r;

  g_assert_cmpuint (g_strv_length ((char **) ignored), ==, 2);
  g_assert_cmpstr (ignored[0], ==, "備註");
  g_assert_cmpstr (ignored[1], ==, "性別");
  g_assert_cmpuint (fk_roster_n_rows (roster), ==, 2);
  r = fk_roster_row (roster, 0);
  g_assert_cmpuint (r->line, ==, 4);
  g_assert_cmpstr (r->name, ==, "王小明");
  g_assert_cmpstr (r->national_id, ==, "A123456789");
  g_assert_cmpstr (r->seat, ==, "2");
  g_assert_cmpstr (r->school_class, ==, "801");
  g_assert_cmpstr (r->birth_date, ==, "2012-05-03");
  g_assert_cmpstr (r->phone, ==, "0912345678");
  g_assert_cmpstr (r->guardian, ==, "");
  g_assert_cmpuint (r->problems->len, ==, 0);
  r = fk_roster_row (roster, 1);
  g_assert_cmpstr (r->name, ==, "陳美美");
  g_assert_cmpstr (r->phone, ==, "");
  g_assert_cmpuint (r->problems->len, ==, 0);
}

static void
test_missing_columns (void)
{
  parse_fails ("班級,座號,姓名,出生日期\n801,1,王小明,101/05/03\n", -1, FK_ROSTER_ERROR_COLUMNS, "身分證統一編號");
  parse_fails ("class,seat,national_id\n801,1,A123456789\n", -1, FK_ROSTER_ERROR_COLUMNS, "姓名/name");
  parse_fails ("foo,bar\n1,2\n", -1, FK_ROSTER_ERROR_COLUMNS, NULL);
  parse_fails ("just some text without any header\n", -1, FK_ROSTER_ERROR_COLUMNS, NULL);
}

/* What spreadsheets do to numbers, and other things clerks will meet. */
static void
test_spreadsheet_quirks (void)
{
  g_autoptr(FkRoster) roster = parse_ok (
    "\xEF\xBB\xBF" "座號,姓名,身分證號,聯絡電話,家長\r"
    "１,王小明,=\"A123456789\",912345678,王　媽媽\r"
    "2,陳大文 ,B 1234 56780,=\"0912345678\",\r"
    "3,林小美,C123456781,0912-345,\r"
    "4,張一二,C123456782,,\r"
    "5,,,,\r");
  const FkRosterRow *r;
  g_autofree char *c2 = NULL, *c3 = NULL, *c4 = NULL;

  g_assert_cmpuint (fk_roster_n_rows (roster), ==, 5);
  g_assert_false (fk_roster_has_birth_dates (roster));
  r = fk_roster_row (roster, 0);
  g_assert_cmpuint (r->line, ==, 2);
  g_assert_cmpstr (r->seat, ==, "1");
  g_assert_cmpstr (r->national_id, ==, "A123456789");
  g_assert_cmpstr (r->phone, ==, "0912345678");
  g_assert_cmpstr (r->guardian, ==, "王 媽媽");
  g_assert_null (r->birth_date);
  g_assert_cmpuint (r->problems->len, ==, 0);
  r = fk_roster_row (roster, 1);
  g_assert_cmpstr (r->name, ==, "陳大文");
  g_assert_cmpstr (r->national_id, ==, "B123456780");
  g_assert_cmpstr (r->phone, ==, "0912345678");
  g_assert_cmpuint (r->problems->len, ==, 0);
  c2 = codes (fk_roster_row (roster, 2));
  g_assert_cmpstr (c2, ==, "bad_phone");
  c3 = codes (fk_roster_row (roster, 3));
  g_assert_cmpstr (c3, ==, "checksum");
  c4 = codes (fk_roster_row (roster, 4));
  g_assert_cmpstr (c4, ==, "no_name,no_id");
}

static void
test_odd_shapes (void)
{
  g_autoptr(GString) wide = g_string_new ("name,national_id");
  g_autoptr(FkRoster) roster = NULL;
  g_autoptr(FkRoster) short_rows = NULL;
  g_autoptr(FkRoster) utf16 = NULL;
  g_autofree char *u16 = NULL;
  gsize u16_len = 0;

  /* Thousands of columns: only the first ones are kept, nothing breaks. */
  for (guint i = 0; i < 10000; i++)
    g_string_append (wide, ",x");
  g_string_append (wide, "\n王小明,A123456789");
  for (guint i = 0; i < 10000; i++)
    g_string_append (wide, ",y");
  g_string_append (wide, "\n");
  roster = parse_ok (wide->str);
  g_assert_cmpuint (fk_roster_n_rows (roster), ==, 1);
  g_assert_cmpuint (fk_roster_n_good (roster), ==, 1);

  /* Rows shorter than the header; no final line break. */
  short_rows = parse_ok ("name,national_id,phone,guardian\n王小明,A123456789\n陳大文");
  g_assert_cmpuint (fk_roster_n_rows (short_rows), ==, 2);
  g_assert_cmpstr (fk_roster_row (short_rows, 0)->phone, ==, "");
  g_assert_cmpstr (fk_roster_row (short_rows, 1)->national_id, ==, "");

  /* Excel's "Unicode text": UTF-16LE with a byte-order mark, tabs. */
  u16 = g_convert ("\xEF\xBB\xBF" "姓名\t身分證字號\n王小明\tA123456789\n", -1, "UTF-16LE", "UTF-8", NULL, &u16_len, NULL);
  g_assert_nonnull (u16);
  {
    g_autoptr(GError) error = NULL;

    utf16 = parse_text (u16, (gssize) u16_len, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpstr (fk_roster_encoding (utf16), ==, "utf-16le");
  g_assert_cmpstr (fk_roster_separator (utf16), ==, "tab");
  g_assert_cmpstr (fk_roster_row (utf16, 0)->name, ==, "王小明");
}

static void
test_mask_name (void)
{
  static const char *const cases[][2] = {
    { "王小明", "王○明" }, { "王明", "王○" }, { "歐陽小明", "歐○○明" }, { "明", "○" }, { "", "" },
    { "Wang", "W○○g" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *masked = fk_roster_mask_name (cases[i][0]);

      g_assert_cmpstr (masked, ==, cases[i][1]);
    }
}

static void
test_messages_follow_language (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkRoster) en = NULL;
  g_autoptr(FkRoster) zh = NULL;

  fk_lang_set ("en");
  en = parse_fixture ("class-804-problems.csv");
  g_assert_null (parse_text ("\x89PNG\r\n\x1a\n", 8, &error));
  g_assert_nonnull (strstr (error->message, "not a roster"));
  g_clear_error (&error);
  fk_lang_set ("zh_TW");
  zh = parse_fixture ("class-804-problems.csv");
  g_assert_null (parse_text ("\x89PNG\r\n\x1a\n", 8, &error));
  g_assert_nonnull (strstr (error->message, "名冊"));
  fk_lang_set ("en");
  g_assert_cmpstr (((FkRosterProblem *) fk_roster_row (zh, 4)->problems->pdata[0])->message, ==, "未填姓名。");
  g_assert_cmpstr (((FkRosterProblem *) fk_roster_row (en, 4)->problems->pdata[0])->message, ==, "No name.");
}

/* ---- into the store ------------------------------------------------------------ */

typedef struct {
  char    *dir;
  FkStore *store;
  char    *outing;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = fk_test_make_tmp ();
  f->store = fk_test_store_new (f->dir, NULL);
  f->outing = fk_store_outing_new (f->store, "school_drive", "北區國中 801–804", DRIVE_DATE, "北區國中", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->store, fk_store_close);
  g_clear_pointer (&f->outing, g_free);
  fk_test_rm_rf (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

static guint
cases_in (FkStore    *store,
          const char *outing)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = fk_store_cases (store, outing, NULL, &error);

  g_assert_no_error (error);
  return list->len;
}

static void
import_ok (Fixture        *f,
           FkRoster       *roster,
           FkRosterReport *report)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fk_roster_import (roster, f->store, f->outing, NULL, FALSE, report, &error));
  g_assert_no_error (error);
}

static void
test_import_fixture (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-802-big5-crlf.csv");
  g_auto(FkRosterReport) report = { 0 };

  import_ok (f, roster, &report);
  g_assert_cmpuint (report.rows, ==, 12);
  g_assert_cmpuint (report.taken, ==, 12);
  g_assert_cmpuint (report.refused, ==, 0);
  g_assert_cmpuint (report.case_ids->len, ==, 12);
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 12);

  for (guint i = 0; i < report.case_ids->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FkCase) c = fk_store_case_get (f->store, g_array_index (report.case_ids, gint64, i), &error);
      const Expected *e = &rows_802[i];

      g_assert_no_error (error);
      g_assert_null (c->damaged);
      g_assert_cmpstr (c->service, ==, "id_card_first");
      g_assert_cmpstr (c->outing_id, ==, f->outing);
      g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
      g_assert_cmpstr (c->name, ==, e->name);
      g_assert_cmpstr (c->person_id, ==, e->id);
      g_assert_cmpstr (c->birth_date, ==, e->birth);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "guardian_name"), ==, e->guardian);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "phone"), ==, e->phone);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "school_class"), ==, "802");
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "seat_number"), ==, e->seat);
      g_assert_cmpint (fk_roster_row (roster, i)->case_id, ==, c->id);
    }
  fk_test_assert_audit_intact (f->store);
}

static void
test_import_problems (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-804-problems.csv");
  g_auto(FkRosterReport) report = { 0 };
  static const guint refused_lines[] = { 3, 5, 6, 7 };

  import_ok (f, roster, &report);
  g_assert_cmpuint (report.rows, ==, 8);
  g_assert_cmpuint (report.taken, ==, 4);
  g_assert_cmpuint (report.refused, ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (refused_lines); i++)
    g_assert_cmpuint (((const FkRosterRow *) report.refused_rows->pdata[i])->line, ==, refused_lines[i]);
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 4);
  /* Row 7's lower-case letter was normalized and the case can be found. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) ids = fk_store_find (f->store, "L137128840", &error);

    g_assert_no_error (error);
    g_assert_cmpuint (ids->len, ==, 1);
  }
}

/* Cases are made in class and seat order whatever the file's order, so the
 * clerk calls students in the order the case numbers run. */
static void
test_import_order (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_ok ("班級,座號,姓名,身分證統一編號,出生日期\n"
                                         "802,2,丁,A123456789,101/01/01\n"
                                         "801,10,乙,B123456780,101/01/01\n"
                                         "801,9,甲,C123456781,101/01/01\n"
                                         "802,1,丙,D123456782,101/01/01\n");
  g_auto(FkRosterReport) report = { 0 };
  static const char *const order[] = { "甲", "乙", "丙", "丁" };

  import_ok (f, roster, &report);
  g_assert_cmpuint (report.case_ids->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(FkCase) c = fk_store_case_get (f->store, g_array_index (report.case_ids, gint64, i), NULL);

      g_assert_cmpstr (c->name, ==, order[i]);
      if (i > 0)
        g_assert_cmpint (c->id, >, g_array_index (report.case_ids, gint64, i - 1));
    }
}

static void
test_reimport (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(FkRoster) first = parse_fixture ("class-801-utf8.csv");
  g_autoptr(FkRoster) again = parse_fixture ("class-801-utf8.csv");
  g_auto(FkRosterReport) r1 = { 0 };
  g_auto(FkRosterReport) r2 = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *other = NULL;
  g_auto(FkRosterReport) r3 = { 0 };

  import_ok (f, first, &r1);
  g_assert_cmpuint (r1.taken, ==, 12);
  import_ok (f, again, &r2);
  g_assert_cmpuint (r2.taken, ==, 0);
  g_assert_cmpuint (r2.refused, ==, 12);
  for (guint i = 0; i < r2.refused_rows->len; i++)
    {
      g_autofree char *got = codes (r2.refused_rows->pdata[i]);

      g_assert_cmpstr (got, ==, "already_in_outing");
    }
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 12);

  /* A short list against a fuller outing is checked a student at a time
   * (blind index) rather than by reading the outing: same answers. */
  {
    g_autoptr(FkRoster) more = parse_fixture ("class-802-big5-crlf.csv");
    g_autoptr(FkRoster) few = parse_ok ("姓名,身分證統一編號,出生日期\n"
                                        "蔡語彤,m142623620,100/11/03\n"
                                        "新同學,A123456789,101/01/01\n"
                                        "陳語彤,M174729133,101/05/05\n");
    g_auto(FkRosterReport) r4 = { 0 };
    g_auto(FkRosterReport) r5 = { 0 };
    g_autofree char *c0 = NULL, *c1 = NULL, *c2 = NULL;

    import_ok (f, more, &r4);
    g_assert_cmpuint (r4.taken, ==, 12);
    g_assert_true (fk_roster_preview (few, f->store, f->outing, NULL, &r5, &error));
    g_assert_no_error (error);
    c0 = codes (fk_roster_row (few, 0));
    c1 = codes (fk_roster_row (few, 1));
    c2 = codes (fk_roster_row (few, 2));
    g_assert_cmpstr (c0, ==, "already_in_outing");
    g_assert_cmpstr (c1, ==, "");
    g_assert_cmpstr (c2, ==, "already_in_outing");
    g_assert_cmpuint (r5.taken, ==, 1);
  }

  /* Another school drive is another outing: the same students may be
   * imported there. */
  other = fk_store_outing_new (f->store, "school_drive", "second visit", DRIVE_DATE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (fk_roster_import (again, f->store, other, NULL, FALSE, &r3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r3.taken, ==, 12);
}

static void
test_all_or_nothing (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-804-problems.csv");
  g_autoptr(FkRoster) good = parse_fixture ("class-803-utf8-bom-tab.tsv");
  g_auto(FkRosterReport) report = { 0 };
  g_auto(FkRosterReport) good_report = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_false (fk_roster_import (roster, f->store, f->outing, NULL, TRUE, &report, &error));
  g_assert_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED);
  g_assert_cmpuint (report.rows, ==, 8);
  g_assert_cmpuint (report.taken, ==, 0);
  g_assert_cmpuint (report.refused, ==, 4);
  g_assert_cmpuint (report.case_ids->len, ==, 0);
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 0);
  g_clear_error (&error);

  g_assert_true (fk_roster_import (good, f->store, f->outing, NULL, TRUE, &good_report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (good_report.taken, ==, 10);
}

/* A row the reader passed but the store refuses: without all-or-nothing
 * only that row is refused; with it, nothing of the batch is saved, not
 * even the rows before it. */
static void
test_store_refuses_row (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-801-utf8.csv");
  g_auto(FkRosterReport) report = { 0 };
  g_auto(FkRosterReport) whole = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) long_name = g_string_new (NULL);
  FkRosterRow *row = (FkRosterRow *) fk_roster_row (roster, 5);
  g_autofree char *audit_before = NULL;

  /* Change a parsed row behind the reader's back to what the store refuses. */
  for (guint i = 0; i < 101; i++)
    g_string_append (long_name, "名");
  g_free (row->name);
  row->name = g_strdup (long_name->str);

  audit_before = fk_test_table_dump (fk_store_db (f->store), "audit");
  g_assert_false (fk_roster_import (roster, f->store, f->outing, NULL, TRUE, &whole, &error));
  g_assert_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "7"));
  g_assert_cmpuint (whole.taken, ==, 0);
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 0);
  {
    g_autofree char *audit_after = fk_test_table_dump (fk_store_db (f->store), "audit");

    g_assert_cmpstr (audit_before, ==, audit_after);
  }
  g_clear_error (&error);

  import_ok (f, roster, &report);
  g_assert_cmpuint (report.taken, ==, 11);
  g_assert_cmpuint (report.refused, ==, 1);
  {
    g_autofree char *got = codes (report.refused_rows->pdata[0]);

    g_assert_cmpstr (got, ==, "refused");
  }
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 11);
  fk_test_assert_audit_intact (f->store);
}

static void
test_not_school_drive (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_fixture ("class-801-utf8.csv");
  g_auto(FkRosterReport) report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *home = fk_store_outing_new (f->store, "home_visit", "Home visits", DRIVE_DATE, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (fk_roster_import (roster, f->store, home, NULL, FALSE, &report, &error));
  g_assert_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_OUTING);
  g_assert_nonnull (strstr (error->message, "school_drive"));
  g_clear_error (&error);
  g_assert_false (fk_roster_import (roster, f->store, "O99", NULL, FALSE, &report, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (fk_roster_import (roster, f->store, f->outing, "no_such_service", FALSE, &report, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_assert_cmpuint (cases_in (f->store, home), ==, 0);
}

/* Ages are counted on the drive's date: a junior-high drive flags 10- and
 * 18-year-olds; a service with an age limit applies its own. */
static void
test_ages (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(FkRoster) roster = parse_ok ("name,national_id,birth_date\n"
                                         "ten,A123456789,2016-11-26\n"
                                         "eleven,B123456780,2014-11-27\n"
                                         "twelve,C123456781,2014-11-26\n"
                                         "thirteen,D123456782,2013-11-26\n"
                                         "sixteen,E123456783,2009-11-27\n"
                                         "seventeen,F123456784,2009-11-26\n");
  g_auto(FkRosterReport) report = { 0 };
  g_auto(FkRosterReport) cert = { 0 };
  g_autoptr(GError) error = NULL;
  static const char *const school[] = { "age", "age", "", "", "", "age" };
  /* 17 passes the service's own limit but not a school drive's. */
  static const char *const certificate[] = { "age", "age", "age", "age", "", "age" };

  g_assert_true (fk_roster_preview (roster, f->store, f->outing, NULL, &report, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (school); i++)
    {
      g_autofree char *got = codes (fk_roster_row (roster, i));

      g_assert_cmpstr (got, ==, school[i]);
    }
  g_assert_cmpuint (report.taken, ==, 3);
  g_assert_cmpuint (cases_in (f->store, f->outing), ==, 0);

  /* certificate_apply is for 14 and older (data/services.json). */
  g_assert_true (fk_roster_preview (roster, f->store, f->outing, "certificate_apply", &cert, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (certificate); i++)
    {
      g_autofree char *got = codes (fk_roster_row (roster, i));

      g_assert_cmpstr (got, ==, certificate[i]);
    }
}

/* ---- nothing in the clear ------------------------------------------------------------ */

static gboolean
file_contains (const char *path,
               const char *needle,
               gsize       needle_len)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL) || len < needle_len)
    return FALSE;
  return memmem (data, len, needle, needle_len) != NULL;
}

/* Every personal value of the fixtures, searched in every file of the
 * data folder: first in a file made to hold them (so the scan itself is
 * known to work), then with the store open (WAL) and after closing it. */
static void
scan_dir (const char *dir,
          GPtrArray  *needles,
          gboolean    expect_found)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  guint found = 0;

  g_assert_nonnull (d);
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, entry, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      for (guint i = 0; i < needles->len; i++)
        if (file_contains (path, needles->pdata[i], strlen (needles->pdata[i])))
          {
            if (!expect_found)
              g_error ("%s holds a roster value in the clear (needle %u)", entry, i);
            found++;
          }
    }
  if (expect_found)
    g_assert_cmpuint (found, ==, needles->len);
}

static void
test_encrypted_at_rest (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) needles = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *probe_dir = fk_test_make_tmp ();
  g_autofree char *probe = g_build_filename (probe_dir, "probe", NULL);
  g_autoptr(GString) all = g_string_new (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (fixture_names); k++)
    {
      g_autoptr(FkRoster) roster = parse_fixture (fixture_names[k]);
      g_auto(FkRosterReport) report = { 0 };

      import_ok (f, roster, &report);
      g_assert_cmpuint (report.taken, >, 0);
      for (guint i = 0; i < fk_roster_n_rows (roster); i++)
        {
          const FkRosterRow *r = fk_roster_row (roster, i);
          const char *values[] = { r->name, r->national_id, r->guardian, r->phone, r->birth_date };

          if (r->case_id == 0)
            continue;
          for (guint v = 0; v < G_N_ELEMENTS (values); v++)
            if (values[v] != NULL && *values[v] != '\0')
              g_ptr_array_add (needles, g_strdup (values[v]));
        }
    }
  g_assert_cmpuint (needles->len, >, 150);

  for (guint i = 0; i < needles->len; i++)
    g_string_append_printf (all, "%s|", (char *) needles->pdata[i]);
  g_assert_true (g_file_set_contents (probe, all->str, (gssize) all->len, NULL));
  scan_dir (probe_dir, needles, TRUE);
  fk_test_rm_rf (probe_dir);

  scan_dir (f->dir, needles, FALSE);
  g_clear_pointer (&f->store, fk_store_close);
  scan_dir (f->dir, needles, FALSE);
}

/* ---- the command line ------------------------------------------------------------ */

static int
run_cli (const char  *dir,
         const char *const *words,
         char       **out,
         char       **err)
{
  const char *cli = g_getenv ("FIELDKIT_CLI");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  env = g_environ_setenv (env, "FIELDKIT_PASSPHRASE", FK_TEST_PASS_ANN, TRUE);
  env = g_environ_setenv (env, "FIELDKIT_KDF", "test", TRUE);
  g_ptr_array_add (argv, (gpointer) cli);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, (gpointer) dir);
  g_ptr_array_add (argv, (gpointer) "--lang");
  g_ptr_array_add (argv, (gpointer) "en");
  for (guint i = 0; words[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) words[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static JsonObject *
parse_json (const char *text,
            JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_cli (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *p804 = fixture_path ("class-804-problems.csv");
  g_autofree char *p802 = fixture_path ("class-802-big5-crlf.csv");
  g_autofree char *png_dir = fk_test_make_tmp ();
  g_autofree char *png = g_build_filename (png_dir, "photo.csv", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL, *err = NULL;
  JsonObject *doc;
  JsonArray *refused;
  int rc;

  if (g_getenv ("FIELDKIT_CLI") == NULL)
    {
      g_test_skip ("FIELDKIT_CLI is not set (run through meson test)");
      return;
    }
  /* The CLI opens the store itself. */
  g_clear_pointer (&f->store, fk_store_close);
  g_assert_true (g_file_set_contents (png, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, NULL));

  /* A preview saves nothing and shows every row. */
  rc = run_cli (f->dir, (const char *[]) { "--json", "roster", "import", f->outing, p804, "--dry-run", NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 0);
  doc = parse_json (out, parser);
  g_assert_true (json_object_get_boolean_member (doc, "dry_run"));
  g_assert_cmpint (json_object_get_int_member (doc, "taken"), ==, 4);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (doc, "preview")), ==, 8);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (doc, "case_ids")), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* All or nothing: refused, exit 1, nothing saved. */
  rc = run_cli (f->dir, (const char *[]) { "--json", "roster", "import", f->outing, p804, "--all-or-nothing", NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 1);
  doc = parse_json (out, parser);
  g_assert_false (json_object_get_boolean_member (doc, "ok"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (doc, "error"), "code"), ==, "refused");
  g_assert_cmpint (json_object_get_int_member (doc, "taken"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (doc, "refused"), ==, 4);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The import takes the good rows and lists the others by line, seat and
   * masked name, never the ID number or the whole name. */
  rc = run_cli (f->dir, (const char *[]) { "--json", "roster", "import", f->outing, p804, NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 0);
  doc = parse_json (out, parser);
  g_assert_true (json_object_get_boolean_member (doc, "ok"));
  g_assert_cmpstr (json_object_get_string_member (doc, "encoding"), ==, "utf-8");
  g_assert_cmpstr (json_object_get_string_member (doc, "separator"), ==, "comma");
  g_assert_cmpint (json_object_get_int_member (doc, "rows"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (doc, "taken"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (doc, "refused"), ==, 4);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (doc, "case_ids")), ==, 4);
  refused = json_object_get_array_member (doc, "refused_rows");
  g_assert_cmpuint (json_array_get_length (refused), ==, 4);
  {
    JsonObject *first = json_array_get_object_element (refused, 0);
    JsonArray *problems = json_object_get_array_member (first, "problems");

    g_assert_cmpint (json_object_get_int_member (first, "line"), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (first, "seat"), ==, "2");
    g_assert_cmpstr (json_object_get_string_member (first, "name_masked"), ==, "李○廷");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (problems, 0), "code"), ==, "checksum");
  }
  g_assert_null (strstr (out, "L241150353"));
  g_assert_null (strstr (out, "李彥廷"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Human output names the encoding, the separator and the counts. */
  rc = run_cli (f->dir, (const char *[]) { "roster", "import", f->outing, p802, NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (out, "Big5"));
  g_assert_nonnull (strstr (out, "comma"));
  g_assert_nonnull (strstr (out, "Rows read: 12. Taken: 12. Refused: 0."));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Not a roster: exit 1 with a message saying what it is. */
  rc = run_cli (f->dir, (const char *[]) { "--json", "roster", "import", f->outing, png, NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 1);
  doc = parse_json (out, parser);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (doc, "error"), "code"), ==, "not_text");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  rc = run_cli (f->dir, (const char *[]) { "roster", "import", f->outing, NULL }, &out, &err);
  g_assert_cmpint (rc, ==, 2);
  fk_test_rm_rf (png_dir);
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);
  fk_lang_set ("en");

  g_test_add_func ("/roster/fixture/801-utf8", test_fixture_801);
  g_test_add_func ("/roster/fixture/802-big5-crlf", test_fixture_802_big5);
  g_test_add_func ("/roster/fixture/803-utf8-bom-tab", test_fixture_803_bom_tab);
  g_test_add_func ("/roster/fixture/804-problems", test_fixture_804_problems);
  g_test_add_func ("/roster/fixture/copies-match", test_fixture_copies_match);
  g_test_add_func ("/roster/crafted/truncated-utf8", test_truncated_utf8);
  g_test_add_func ("/roster/crafted/truncated-big5", test_truncated_big5);
  g_test_add_func ("/roster/crafted/not-text", test_not_text);
  g_test_add_func ("/roster/crafted/50mb", test_too_large);
  g_test_add_func ("/roster/crafted/too-many-rows", test_too_many_rows);
  g_test_add_func ("/roster/crafted/header-only", test_header_only);
  g_test_add_func ("/roster/crafted/mixed-encodings", test_mixed_encodings);
  g_test_add_func ("/roster/crafted/quoted-cells", test_quoted_cells);
  g_test_add_func ("/roster/crafted/unclosed-quote", test_unclosed_quote);
  g_test_add_func ("/roster/crafted/semicolon", test_semicolon);
  g_test_add_func ("/roster/crafted/dates", test_dates);
  g_test_add_func ("/roster/crafted/columns", test_columns);
  g_test_add_func ("/roster/crafted/missing-columns", test_missing_columns);
  g_test_add_func ("/roster/crafted/spreadsheet-quirks", test_spreadsheet_quirks);
  g_test_add_func ("/roster/crafted/odd-shapes", test_odd_shapes);
  g_test_add_func ("/roster/mask-name", test_mask_name);
  g_test_add_func ("/roster/language", test_messages_follow_language);
  g_test_add ("/roster/import/fixture", Fixture, NULL, fixture_setup, test_import_fixture, fixture_teardown);
  g_test_add ("/roster/import/problems", Fixture, NULL, fixture_setup, test_import_problems, fixture_teardown);
  g_test_add ("/roster/import/order", Fixture, NULL, fixture_setup, test_import_order, fixture_teardown);
  g_test_add ("/roster/import/again", Fixture, NULL, fixture_setup, test_reimport, fixture_teardown);
  g_test_add ("/roster/import/all-or-nothing", Fixture, NULL, fixture_setup, test_all_or_nothing, fixture_teardown);
  g_test_add ("/roster/import/store-refuses-row", Fixture, NULL, fixture_setup, test_store_refuses_row, fixture_teardown);
  g_test_add ("/roster/import/not-school-drive", Fixture, NULL, fixture_setup, test_not_school_drive, fixture_teardown);
  g_test_add ("/roster/import/ages", Fixture, NULL, fixture_setup, test_ages, fixture_teardown);
  g_test_add ("/roster/import/encrypted", Fixture, NULL, fixture_setup, test_encrypted_at_rest, fixture_teardown);
  g_test_add ("/roster/cli", Fixture, NULL, fixture_setup, test_cli, fixture_teardown);

  return g_test_run ();
}
