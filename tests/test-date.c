/* test-date.c — Gregorian and ROC dates as rosters and clerks write them. */
#include "app/fk-date.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#include <string.h>

/* ---------------------------------------------------------------- helpers */

static void
assert_parses (const char *text,
               const char *expected_iso)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *iso = NULL;
  GDate date;

  if (!fk_date_parse (text, &date, &error))
    g_error ("“%s” refused: %s", text, error->message);
  g_assert_true (g_date_valid (&date));
  iso = fk_date_to_iso (&date);
  if (g_strcmp0 (iso, expected_iso) != 0)
    g_error ("“%s” read as %s, expected %s", text, iso, expected_iso);
}

static void
assert_refused (const char *text,
                int         code,
                const char *words)
{
  g_autoptr(GError) error = NULL;
  GDate date;

  g_date_clear (&date, 1);
  if (fk_date_parse (text, &date, &error))
    {
      g_autofree char *iso = fk_date_to_iso (&date);

      g_error ("“%s” accepted as %s", text, iso);
    }
  g_assert_error (error, FK_VALIDATE_ERROR, code);
  if (words != NULL && strstr (error->message, words) == NULL)
    g_error ("“%s”: message “%s” lacks “%s”", text, error->message, words);
}

static void
make_date (GDate *date,
           int    year,
           int    month,
           int    day)
{
  g_date_clear (date, 1);
  g_date_set_dmy (date, (GDateDay) day, (GDateMonth) month, (GDateYear) year);
}

/* ---------------------------------------------------------------- tests */

static void
test_gregorian_forms (void)
{
  assert_parses ("2012-05-03", "2012-05-03");
  assert_parses ("2012/5/3", "2012-05-03");
  assert_parses ("2012/05/03", "2012-05-03");
  assert_parses ("2012.05.03", "2012-05-03");
  assert_parses ("20120503", "2012-05-03");
  assert_parses ("2012年5月3日", "2012-05-03");
  assert_parses ("西元2012年5月3日", "2012-05-03");
  assert_parses ("  2012-05-03\t", "2012-05-03");
  assert_parses ("1900-01-01", "1900-01-01");
}

static void
test_roc_forms (void)
{
  assert_parses ("101/05/03", "2012-05-03");
  assert_parses ("101-5-3", "2012-05-03");
  assert_parses ("101.05.03", "2012-05-03");
  assert_parses ("1010503", "2012-05-03");
  assert_parses ("101年5月3日", "2012-05-03");
  assert_parses ("101年05月03日", "2012-05-03");
  assert_parses ("101年5月3", "2012-05-03");
  assert_parses ("民國101年5月3日", "2012-05-03");
  assert_parses ("中華民國101年5月3日", "2012-05-03");
  assert_parses ("民國101/05/03", "2012-05-03");
  assert_parses ("民國 １０１ 年 ５ 月 ３ 日", "2012-05-03");
  assert_parses ("１０１／０５／０３", "2012-05-03");

  /* Two-digit ROC years: 6 compact digits, or with separators. */
  assert_parses ("990503", "2010-05-03");
  assert_parses ("0990503", "2010-05-03");
  assert_parses ("99/5/3", "2010-05-03");
  assert_parses ("1/1/1", "1912-01-01");

  /* Before the Republic. */
  assert_parses ("民國前1年1月1日", "1911-01-01");
  assert_parses ("民前10/12/31", "1902-12-31");

  /* Dates the fixture rosters carry. */
  assert_parses ("100/11/03", "2011-11-03");
  assert_parses ("101/08/26", "2012-08-26");
}

static void
test_roc_115 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *iso = NULL;
  g_autofree char *roc = NULL;
  g_autofree char *roc_short = NULL;
  GDate parsed, expected;

  g_assert_true (fk_date_parse ("115/11/26", &parsed, &error));
  g_assert_no_error (error);
  make_date (&expected, 2026, 11, 26);
  g_assert_cmpint (g_date_compare (&parsed, &expected), ==, 0);

  iso = fk_date_to_iso (&parsed);
  roc = fk_date_to_roc (&parsed);
  roc_short = fk_date_to_roc_short (&parsed);
  g_assert_cmpstr (iso, ==, "2026-11-26");
  g_assert_cmpstr (roc, ==, "民國115年11月26日");
  g_assert_cmpstr (roc_short, ==, "115/11/26");
}

static void
test_to_string (void)
{
  g_autofree char *iso = NULL;
  g_autofree char *roc = NULL;
  g_autofree char *roc_short = NULL;
  g_autofree char *small_short = NULL;
  g_autofree char *before = NULL;
  GDate date;

  make_date (&date, 2012, 5, 3);
  iso = fk_date_to_iso (&date);
  roc = fk_date_to_roc (&date);
  roc_short = fk_date_to_roc_short (&date);
  g_assert_cmpstr (iso, ==, "2012-05-03");
  g_assert_cmpstr (roc, ==, "民國101年5月3日");
  g_assert_cmpstr (roc_short, ==, "101/05/03");

  make_date (&date, 1920, 1, 9);
  small_short = fk_date_to_roc_short (&date);
  g_assert_cmpstr (small_short, ==, "9/01/09");

  make_date (&date, 1911, 10, 10);
  before = fk_date_to_roc (&date);
  g_assert_cmpstr (before, ==, "民國前1年10月10日");
}

/* Every formatted form must read back as the same day. */
static void
test_round_trip (void)
{
  for (guint n = 0; n < 2000; n++)
    {
      GDate date, back;
      char *(*formatters[]) (const GDate *) = { fk_date_to_iso, fk_date_to_roc, fk_date_to_roc_short };

      g_date_clear (&date, 1);
      /* 1902 … 2200: both sides of the ROC epoch. */
      g_date_set_julian (&date, (guint32) g_test_rand_int_range (694326, 803534));

      for (guint f = 0; f < G_N_ELEMENTS (formatters); f++)
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *text = formatters[f] (&date);

          if (!fk_date_parse (text, &back, &error))
            g_error ("“%s” does not read back: %s", text, error->message);
          g_assert_cmpint (g_date_compare (&date, &back), ==, 0);
        }
    }
}

static void
test_leap_days (void)
{
  assert_parses ("101/02/29", "2012-02-29");
  assert_parses ("1010229", "2012-02-29");
  assert_parses ("民國89年2月29日", "2000-02-29");
  assert_parses ("2000-02-29", "2000-02-29");
  assert_parses ("2024/2/29", "2024-02-29");

  assert_refused ("102/02/29", FK_VALIDATE_ERROR_DATE, "not a leap year");
  assert_refused ("1020229", FK_VALIDATE_ERROR_DATE, "not a leap year");
  /* Centuries are leap years only when divisible by 400. */
  assert_refused ("1900-02-29", FK_VALIDATE_ERROR_DATE, "not a leap year");
  assert_refused ("2100-02-29", FK_VALIDATE_ERROR_DATE, "not a leap year");
}

static void
test_impossible (void)
{
  assert_refused ("101年2月30日", FK_VALIDATE_ERROR_DATE, "Day 30 does not exist in month 2");
  assert_refused ("2012-04-31", FK_VALIDATE_ERROR_DATE, "which has 30 days");
  assert_refused ("2012-13-01", FK_VALIDATE_ERROR_DATE, "month must be 1 to 12, got 13");
  assert_refused ("101/13/45", FK_VALIDATE_ERROR_DATE, "got 13");
  assert_refused ("2012-00-10", FK_VALIDATE_ERROR_DATE, "got 0");
  assert_refused ("2012-05-00", FK_VALIDATE_ERROR_DATE, "Day 0");
  assert_refused ("20121301", FK_VALIDATE_ERROR_DATE, "got 13");
  assert_refused ("民國0年1月1日", FK_VALIDATE_ERROR_DATE, "no ROC year 0");
  assert_refused ("0/5/3", FK_VALIDATE_ERROR_DATE, "no ROC year 0");
}

static void
test_garbage (void)
{
  assert_refused ("", FK_VALIDATE_ERROR_EMPTY, "empty");
  assert_refused ("  　 ", FK_VALIDATE_ERROR_EMPTY, "empty");
  assert_refused (NULL, FK_VALIDATE_ERROR_EMPTY, "empty");

  assert_refused ("abc", FK_VALIDATE_ERROR_FORMAT, "2012-05-03");
  assert_refused ("2012-05", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("2012-05-03-01", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("2012/05-03", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("2012-05-03T10:00", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("101年5/3", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("101年5月3日晚上", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("12345", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("201205031", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("123456789012", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("2012-005-03", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("20120/05/03", FK_VALIDATE_ERROR_FORMAT, "4 digits");
  /* Day-first and month-first orders are refused, not guessed. */
  assert_refused ("3/5/2012", FK_VALIDATE_ERROR_FORMAT, "year first");
  assert_refused ("05/03/2012", FK_VALIDATE_ERROR_FORMAT, "year first");
  /* Calendar markers that contradict the digits. */
  assert_refused ("民國20120503", FK_VALIDATE_ERROR_FORMAT, NULL);
  assert_refused ("民國2012/05/03", FK_VALIDATE_ERROR_FORMAT, "4 digits");
  assert_refused ("西元101/05/03", FK_VALIDATE_ERROR_FORMAT, "4 digits");
  assert_refused ("西元1010503", FK_VALIDATE_ERROR_FORMAT, NULL);
  /* A 4-digit year is Gregorian and must be 1900 or later. */
  assert_refused ("0101/05/03", FK_VALIDATE_ERROR_RANGE, "1900");
  assert_refused ("1899-12-31", FK_VALIDATE_ERROR_RANGE, "1900");
}

static void
test_messages_chinese (void)
{
  g_autoptr(GError) leap = NULL;
  g_autoptr(GError) month = NULL;
  g_autoptr(GError) garbage = NULL;
  GDate date;

  fk_lang_set ("zh_TW");
  g_assert_false (fk_date_parse ("102/02/29", &date, &leap));
  g_assert_false (fk_date_parse ("101/13/01", &date, &month));
  g_assert_false (fk_date_parse ("昨天", &date, &garbage));
  fk_lang_set ("en");

  g_assert_nonnull (strstr (leap->message, "沒有 2 月 29 日"));
  g_assert_nonnull (strstr (month->message, "月份必須是 1 至 12，目前是 13"));
  g_assert_nonnull (strstr (garbage->message, "無法辨識此日期"));
}

static void
test_age (void)
{
  struct {
    int by, bm, bd;
    int oy, om, od;
    int age;
  } cases[] = {
    { 2012, 5, 3,  2026, 5, 2,  13 },  /* the day before the 14th birthday */
    { 2012, 5, 3,  2026, 5, 3,  14 },  /* the birthday */
    { 2012, 5, 3,  2026, 5, 4,  14 },
    { 2012, 5, 3,  2026, 4, 30, 13 },
    { 2012, 5, 3,  2026, 12, 31, 14 },
    { 2012, 5, 3,  2027, 1, 1,  14 },
    { 2012, 5, 3,  2012, 5, 3,  0 },
    { 2012, 5, 3,  2013, 5, 2,  0 },
    { 2012, 5, 3,  2012, 5, 2,  -1 }, /* before birth */
    { 2012, 5, 3,  1999, 1, 1,  -1 },
    /* Born on 29 February: a year older from 1 March in common years. */
    { 2012, 2, 29, 2013, 2, 28, 0 },
    { 2012, 2, 29, 2013, 3, 1,  1 },
    { 2012, 2, 29, 2016, 2, 28, 3 },
    { 2012, 2, 29, 2016, 2, 29, 4 },
    { 1930, 1, 1,  2026, 11, 26, 96 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GDate birth, on;
      int age;

      make_date (&birth, cases[i].by, cases[i].bm, cases[i].bd);
      make_date (&on, cases[i].oy, cases[i].om, cases[i].od);
      age = fk_date_age_on (&birth, &on);
      if (age != cases[i].age)
        g_error ("born %d-%d-%d, on %d-%d-%d: age %d, expected %d",
                 cases[i].by, cases[i].bm, cases[i].bd,
                 cases[i].oy, cases[i].om, cases[i].od, age, cases[i].age);
    }
}

/* Times for people: local time to the minute (TZ is Asia/Taipei here),
 * nothing for "never". */
static void
test_local_time (void)
{
  g_autofree char *t = fk_time_local_text ((gint64) 1795702503 * G_USEC_PER_SEC + 93207);

  g_assert_cmpstr (t, ==, "2026-11-26 22:15");
  g_assert_null (fk_time_local_text (0));
  g_assert_null (fk_time_local_text (-5));
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("TZ", "Asia/Taipei", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/date/local-time", test_local_time);
  fk_lang_set ("en");

  g_test_add_func ("/app/date/parse/gregorian", test_gregorian_forms);
  g_test_add_func ("/app/date/parse/roc", test_roc_forms);
  g_test_add_func ("/app/date/parse/roc-115", test_roc_115);
  g_test_add_func ("/app/date/parse/leap-days", test_leap_days);
  g_test_add_func ("/app/date/parse/impossible", test_impossible);
  g_test_add_func ("/app/date/parse/garbage", test_garbage);
  g_test_add_func ("/app/date/parse/messages-chinese", test_messages_chinese);
  g_test_add_func ("/app/date/format", test_to_string);
  g_test_add_func ("/app/date/round-trip", test_round_trip);
  g_test_add_func ("/app/date/age", test_age);

  return g_test_run ();
}
