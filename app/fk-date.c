/* fk-date.c — Gregorian and ROC dates, see fk-date.h for the accepted forms. */
#include "app/fk-date.h"

#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#include <string.h>

#define ROC_OFFSET        1911
#define GREGORIAN_MIN     1900
#define MAX_DIGIT_RUN     8

typedef enum {
  ERA_UNSTATED,
  ERA_ROC,
  ERA_ROC_BEFORE,  /* 民國前: counts back from 1912 */
  ERA_GREGORIAN,
} Era;

/* One piece of a date: up to 8 digits and how many there were, so that
 * "0990503" and "990503" can be told apart. */
typedef struct {
  guint value;
  guint n_digits;
} Run;

/* ---------------------------------------------------------------- helpers */

static gboolean
format_error (GError **error)
{
  g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
               _("This is not a date FieldKit can read; write it as 2012-05-03, 20120503, ROC 101/05/03, 1010503 or 101年5月3日 (year first)."));
  return FALSE;
}

/* Full-width digits and punctuation become ASCII and every kind of space
 * disappears, so "民國 １０１ 年 ５ 月 ３ 日" reads like "民國101年5月3日". */
static char *
squeeze (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c >= 0xFF01 && c <= 0xFF5E)
        c -= 0xFEE0;
      if (g_unichar_isspace (c) || c == 0x3000)
        continue;
      g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

static gboolean
skip_prefix (const char **p,
             const char  *prefix)
{
  if (!g_str_has_prefix (*p, prefix))
    return FALSE;
  *p += strlen (prefix);
  return TRUE;
}

/* Reads a run of ASCII digits; FALSE when there is none or it is longer
 * than any date part can be. */
static gboolean
read_run (const char **p,
          Run         *run)
{
  run->value = 0;
  run->n_digits = 0;

  while (g_ascii_isdigit (**p))
    {
      if (run->n_digits == MAX_DIGIT_RUN)
        return FALSE;
      run->value = run->value * 10 + (guint) (**p - '0');
      run->n_digits++;
      (*p)++;
    }

  return run->n_digits > 0;
}

/* Splits "yyyMMdd"-style compact digits.  The last four digits are always
 * month and day; the rest is the year. */
static void
split_compact (const Run *all,
               Run       *year,
               Run       *month,
               Run       *day)
{
  year->value = all->value / 10000;
  year->n_digits = all->n_digits - 4;
  month->value = (all->value / 100) % 100;
  month->n_digits = 2;
  day->value = all->value % 100;
  day->n_digits = 2;
}

/* Turns the written year into a Gregorian one by the rule in fk-date.h. */
static gboolean
resolve_year (Era          era,
              const Run   *year,
              guint       *gregorian,
              GError     **error)
{
  if (year->n_digits == 4 && era != ERA_ROC && era != ERA_ROC_BEFORE)
    {
      if (year->value < GREGORIAN_MIN)
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_RANGE,
                       _("A 4-digit year must be %d or later; write ROC years with at most 3 digits (101, not 0101)."),
                       GREGORIAN_MIN);
          return FALSE;
        }
      *gregorian = year->value;
      return TRUE;
    }

  if (year->n_digits > 3 || era == ERA_GREGORIAN)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("The year does not fit its calendar: Gregorian (西元) years have 4 digits and ROC (民國) years 1 to 3 digits."));
      return FALSE;
    }

  if (year->value == 0)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_DATE,
                   _("There is no ROC year 0: ROC year 1 is 1912 and the year before is 民國前1年 (1911). Check the year."));
      return FALSE;
    }

  if (era == ERA_ROC_BEFORE)
    *gregorian = ROC_OFFSET + 1 - year->value;
  else
    *gregorian = ROC_OFFSET + year->value;
  return TRUE;
}

static gboolean
check_day (guint    year,
           guint    month,
           guint    day,
           GError **error)
{
  guint8 days_in_month;

  if (month < 1 || month > 12)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_DATE,
                   _("The month must be 1 to 12, got %u; check the order is year, month, day."),
                   month);
      return FALSE;
    }

  days_in_month = g_date_get_days_in_month ((GDateMonth) month, (GDateYear) year);
  if (day < 1 || day > days_in_month)
    {
      if (month == 2 && day == 29)
        g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_DATE,
                     _("February 29 does not exist in that year (not a leap year); check the year and the day."));
      else
        g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_DATE,
                     _("Day %u does not exist in month %u, which has %u days that year; check the day and the month."),
                     day, month, (guint) days_in_month);
      return FALSE;
    }

  return TRUE;
}

/* ---------------------------------------------------------------- public API */

gboolean
fk_date_parse (const char  *text,
               GDate       *out,
               GError     **error)
{
  g_autofree char *squeezed = NULL;
  const char *p;
  Era era = ERA_UNSTATED;
  Run year, month, day;
  guint gregorian = 0;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  squeezed = squeeze (text != NULL ? text : "");
  if (*squeezed == '\0')
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_EMPTY,
                   _("The date is empty; enter it as 2012-05-03 or ROC 101/05/03."));
      return FALSE;
    }

  p = squeezed;
  skip_prefix (&p, "中華");
  if (skip_prefix (&p, "民國前") || skip_prefix (&p, "民前"))
    era = ERA_ROC_BEFORE;
  else if (skip_prefix (&p, "民國"))
    era = ERA_ROC;
  else if (skip_prefix (&p, "西元"))
    era = ERA_GREGORIAN;

  if (!read_run (&p, &year))
    return format_error (error);

  if (*p == '\0')
    {
      /* No separators: the digit count says which calendar it is. */
      Run all = year;
      gboolean gregorian_form = all.n_digits == 8 && era != ERA_ROC && era != ERA_ROC_BEFORE;
      gboolean roc_form = (all.n_digits == 7 || all.n_digits == 6) && era != ERA_GREGORIAN;

      if (!gregorian_form && !roc_form)
        return format_error (error);
      split_compact (&all, &year, &month, &day);
    }
  else
    {
      /* Year, month and day separated either by 年 and 月 (日 optional) or
       * by one ASCII separator used twice: 101/5/3, 101-5-3, 101.5.3. */
      gboolean chinese = skip_prefix (&p, "年");
      char sep = '\0';

      if (!chinese)
        {
          if (*p != '/' && *p != '-' && *p != '.')
            return format_error (error);
          sep = *p++;
        }

      if (!read_run (&p, &month) || month.n_digits > 2)
        return format_error (error);

      if (chinese ? !skip_prefix (&p, "月") : *p++ != sep)
        return format_error (error);

      if (!read_run (&p, &day) || day.n_digits > 2)
        return format_error (error);

      if (chinese && !skip_prefix (&p, "日"))
        skip_prefix (&p, "號");
      if (*p != '\0')
        return format_error (error);
    }

  if (!resolve_year (era, &year, &gregorian, error))
    return FALSE;

  if (!check_day (gregorian, month.value, day.value, error))
    return FALSE;

  g_date_clear (out, 1);
  g_date_set_dmy (out, (GDateDay) day.value, (GDateMonth) month.value, (GDateYear) gregorian);
  return TRUE;
}

char *
fk_date_to_iso (const GDate *date)
{
  g_return_val_if_fail (date != NULL && g_date_valid (date), NULL);

  return g_strdup_printf ("%04u-%02u-%02u",
                          (guint) g_date_get_year (date),
                          (guint) g_date_get_month (date),
                          (guint) g_date_get_day (date));
}

char *
fk_date_to_roc (const GDate *date)
{
  guint year;

  g_return_val_if_fail (date != NULL && g_date_valid (date), NULL);

  year = g_date_get_year (date);
  if (year > ROC_OFFSET)
    return g_strdup_printf ("民國%u年%u月%u日", year - ROC_OFFSET,
                            (guint) g_date_get_month (date),
                            (guint) g_date_get_day (date));
  return g_strdup_printf ("民國前%u年%u月%u日", ROC_OFFSET + 1 - year,
                          (guint) g_date_get_month (date),
                          (guint) g_date_get_day (date));
}

char *
fk_date_to_roc_short (const GDate *date)
{
  guint year;

  g_return_val_if_fail (date != NULL && g_date_valid (date), NULL);

  year = g_date_get_year (date);
  if (year > ROC_OFFSET)
    return g_strdup_printf ("%u/%02u/%02u", year - ROC_OFFSET,
                            (guint) g_date_get_month (date),
                            (guint) g_date_get_day (date));
  return g_strdup_printf ("民前%u/%02u/%02u", ROC_OFFSET + 1 - year,
                          (guint) g_date_get_month (date),
                          (guint) g_date_get_day (date));
}

int
fk_date_age_on (const GDate *birth,
                const GDate *on)
{
  int age;

  g_return_val_if_fail (birth != NULL && g_date_valid (birth), -1);
  g_return_val_if_fail (on != NULL && g_date_valid (on), -1);

  if (g_date_compare (on, birth) < 0)
    return -1;

  /* Comparing (month, day) pairs makes a 29 February birthday fall after
   * 28 February, so the year completes on 1 March in common years, which is
   * what 民法 §121 gives when the anniversary has no corresponding day. */
  age = (int) g_date_get_year (on) - (int) g_date_get_year (birth);
  if (g_date_get_month (on) < g_date_get_month (birth) ||
      (g_date_get_month (on) == g_date_get_month (birth) &&
       g_date_get_day (on) < g_date_get_day (birth)))
    age--;

  return age;
}

char *
fk_time_local_text (gint64 us)
{
  g_autoptr(GDateTime) t = NULL;

  if (us <= 0)
    return NULL;
  t = g_date_time_new_from_unix_local (us / G_USEC_PER_SEC);
  return g_date_time_format (t, "%Y-%m-%d %H:%M");
}
