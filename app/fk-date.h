/* fk-date.h — dates as clerks, schools and rosters write them.
 *
 * Taiwanese paperwork counts years from the founding of the Republic
 * (民國, ROC year = Gregorian year − 1911), school systems export either
 * calendar, and spreadsheets drop the separators.  Everything is parsed
 * here into a GDate and stored as ISO 8601; the ROC forms are for display.
 *
 * Which calendar a year is in:
 *   - a leading year of 4 digits is Gregorian and must be 1900 or later
 *     (2012-05-03, 2012/5/3, 2012.05.03, 2012年5月3日);
 *   - a leading year of 1 to 3 digits is ROC (101/05/03, 99-5-3,
 *     101年5月3日, 101.05.03);
 *   - without separators, 8 digits are Gregorian yyyyMMdd (20120503),
 *     7 digits ROC yyyMMdd (1010503) and 6 digits ROC yyMMdd (990503, for
 *     ROC years below 100);
 *   - 民國 / 中華民國 in front forces ROC, 西元 forces Gregorian, and
 *     民國前 / 民前 counts years before 1912 (民國前1年 = 1911).
 * Day-first or month-first orders (3/5/2012) are refused rather than
 * guessed.  Full-width digits and spaces anywhere are accepted.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Parses a date as clerks and school systems write it: Gregorian
 * 2012-05-03, 2012/5/3, 20120503; ROC 101/05/03, 101-5-3, 1010503 (7 digits
 * = yyyMMdd, also 6 digits yyMMdd for years < 100), 101年5月3日,
 * 民國101年5月3日, 101.05.03.  Rejects impossible dates (2月30日, month 13)
 * with FK_VALIDATE_ERROR_DATE and a message naming the problem; text that is
 * not a date at all gets FK_VALIDATE_ERROR_FORMAT, nothing at all
 * FK_VALIDATE_ERROR_EMPTY.  Returns a valid GDate in *out. */
gboolean  fk_date_parse        (const char  *text,
                                GDate       *out,
                                GError     **error);

/* "2012-05-03".  Free with g_free. */
char     *fk_date_to_iso       (const GDate *date);
/* "民國101年5月3日" (民國前N年… before 1912).  Free with g_free. */
char     *fk_date_to_roc       (const GDate *date);
/* "101/05/03" (民前N/… before 1912).  Free with g_free. */
char     *fk_date_to_roc_short (const GDate *date);

/* A moment (microseconds since 1970) as local time to the minute,
 * "2026-11-26 14:15"; NULL when us <= 0 (never).  Free with g_free. */
char     *fk_time_local_text   (gint64       us);

/* Age in whole years on the day `on`, the way Taiwanese civil law counts it
 * (民法 §121, §124): one is a year older from the birthday on, and someone
 * born on 29 February is a year older from 1 March in common years.
 * Returns -1 when `on` is before `birth`. */
int       fk_date_age_on       (const GDate *birth,
                                const GDate *on);

G_END_DECLS
