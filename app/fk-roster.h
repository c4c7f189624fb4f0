/* fk-roster.h — class rosters for school ID-card drives (國中生身分證到校服務).
 *
 * Schools send the class list as whatever their system or spreadsheet
 * exports: CSV or TSV, UTF-8 with or without a byte-order mark, Big5 (CP950)
 * from Excel on a Traditional Chinese Windows, comma, tab or semicolon
 * separated, CRLF or LF, quoted cells holding separators and line breaks,
 * headers in Chinese or English in any order, extra columns, ROC or
 * Gregorian dates.  This module turns such a file into rows a clerk can
 * review, then into draft cases.
 *
 * Three steps, so that the window can show a preview before anything is
 * saved:
 *
 *   1. fk_roster_parse reads the file alone (no store): encoding,
 *      separator, header, and every row with the problems visible in the
 *      file itself (bad ID number, the same ID twice, no name, an
 *      impossible date, a bad phone number).
 *   2. fk_roster_check adds what only the store knows: a student already
 *      in the outing, an age outside what the service or a school drive
 *      allows (counted on the outing's date).
 *   3. fk_roster_import saves one draft case per row without problems, in
 *      class and seat order, in one store batch: all of it or none of it.
 *
 * Problem messages are in the current language (crypto/fk-i18n.h) and
 * never repeat an ID number or a name: they end up in logs and on shared
 * screens.  Rows hold personal data in clear; it is wiped from memory when
 * the roster is freed.
 */
#pragma once

#include <glib.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

#define FK_ROSTER_ERROR (fk_roster_error_quark ())

typedef enum {
  FK_ROSTER_ERROR_TOO_LARGE,  /* bigger than FK_ROSTER_MAX_BYTES or FK_ROSTER_MAX_ROWS */
  FK_ROSTER_ERROR_NOT_TEXT,   /* an image, a workbook, a binary file */
  FK_ROSTER_ERROR_ENCODING,   /* neither UTF-8 nor Big5, two encodings mixed, or cut off inside a character */
  FK_ROSTER_ERROR_FORMAT,     /* a quote that is never closed */
  FK_ROSTER_ERROR_COLUMNS,    /* no header naming at least the name and ID number columns */
  FK_ROSTER_ERROR_EMPTY,      /* nothing but a header (or nothing at all) */
  FK_ROSTER_ERROR_OUTING,     /* the outing is not a school drive */
  FK_ROSTER_ERROR_REFUSED,    /* all-or-nothing, and some row has a problem */
} FkRosterError;

GQuark fk_roster_error_quark (void);

/* A district list of a few thousand students is a few hundred KiB; a file
 * of 20 MiB is not a roster, and refusing it before decoding keeps a wrong
 * file from exhausting a small tablet's memory. */
#define FK_ROSTER_MAX_BYTES  (20 * 1024 * 1024)
#define FK_ROSTER_MAX_ROWS   100000

/* Machine codes of row problems (stable: --json and tests use them). */
#define FK_ROSTER_NO_ID             "no_id"             /* the ID number cell is empty */
#define FK_ROSTER_BAD_ID            "bad_id"            /* not a national ID: length, letter, characters */
#define FK_ROSTER_CHECKSUM          "checksum"          /* well-formed, wrong check digit */
#define FK_ROSTER_DUPLICATE_IN_FILE "duplicate_in_file" /* an earlier row has the same ID number */
#define FK_ROSTER_ALREADY_IN_OUTING "already_in_outing" /* the outing has a case for this ID number */
#define FK_ROSTER_NO_NAME           "no_name"
#define FK_ROSTER_BAD_NAME          "bad_name"          /* longer than a name can be */
#define FK_ROSTER_BAD_DATE          "bad_date"          /* birth date missing, unreadable, impossible or in the future */
#define FK_ROSTER_AGE               "age"               /* outside the service's or the school drive's ages */
#define FK_ROSTER_BAD_PHONE         "bad_phone"
#define FK_ROSTER_BAD_FIELD         "bad_field"         /* class, seat or guardian too long */
#define FK_ROSTER_REFUSED           "refused"           /* the store refused the case; the message says why */

/* School drives are for junior-high students: anyone outside these ages on
 * the drive's date is almost certainly a wrong birth date. */
#define FK_ROSTER_SCHOOL_AGE_MIN 12
#define FK_ROSTER_SCHOOL_AGE_MAX 16

typedef struct {
  const char *code;      /* one of the FK_ROSTER_* codes above (static) */
  char       *message;   /* in the current language; no ID number, no name */
} FkRosterProblem;

typedef struct {
  guint      line;          /* line of the file where the row starts, 1-based */
  guint      number;        /* row under the header, 1-based, in file order */
  char      *school_class;  /* "" when the file has none */
  char      *seat;
  char      *name;          /* trimmed, white space collapsed */
  char      *national_id;   /* normalized (fk_id_normalize), even when invalid */
  char      *birth_date;    /* ISO 8601, or NULL when missing or bad */
  char      *guardian;
  char      *phone;         /* digits only when valid, else as written */
  GPtrArray *problems;      /* FkRosterProblem*, empty when the row can be taken */
  gint64     case_id;       /* set by fk_roster_import, else 0 */
} FkRosterRow;

typedef struct _FkRoster FkRoster;

/* Reads a roster file held in memory.  Errors are FK_ROSTER_ERROR with a
 * message that says what is wrong and what to do. */
FkRoster          *fk_roster_parse            (GBytes          *file,
                                               GError         **error);
/* The same from a path; a file over FK_ROSTER_MAX_BYTES is refused from
 * its size without being read. */
FkRoster          *fk_roster_parse_file       (const char      *path,
                                               GError         **error);
void               fk_roster_free             (FkRoster        *roster);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkRoster, fk_roster_free)

/* "utf-8", "utf-8-bom", "utf-16le", "utf-16be" or "big5" (stable). */
const char        *fk_roster_encoding         (const FkRoster  *roster);
/* For people: "UTF-8 with BOM", "Big5 (CP950)" … */
const char        *fk_roster_encoding_label   (const FkRoster  *roster);
/* "comma", "tab" or "semicolon" (stable). */
const char        *fk_roster_separator        (const FkRoster  *roster);
const char        *fk_roster_separator_label  (const FkRoster  *roster);
/* Header cells that were not used, as written (性別, 備註 …). */
const char * const *fk_roster_ignored_columns (const FkRoster  *roster);
/* Whether the file has a birth-date column (without one, ages go unchecked). */
gboolean           fk_roster_has_birth_dates  (const FkRoster  *roster);

guint              fk_roster_n_rows           (const FkRoster  *roster);
/* Rows in file order. */
const FkRosterRow *fk_roster_row              (const FkRoster  *roster,
                                               guint            index);
/* Rows without problems. */
guint              fk_roster_n_good           (const FkRoster  *roster);

/* Adds the problems only the store can see: a case for the same ID number
 * in this outing, an age (on the outing's date) outside the service's
 * limits and, for school drives, outside FK_ROSTER_SCHOOL_AGE_MIN–MAX.
 * Refuses (FK_ROSTER_ERROR_OUTING) an outing that is not a school drive.
 * service_id NULL means id_card_first.  Calling it again starts over. */
gboolean           fk_roster_check            (FkRoster        *roster,
                                               FkStore         *store,
                                               const char      *outing_id,
                                               const char      *service_id,
                                               GError         **error);

typedef struct {
  guint      rows;          /* rows read */
  guint      taken;         /* cases saved (or that would be, for a preview) */
  guint      refused;
  GArray    *case_ids;      /* gint64, in the order they were made (class, seat) */
  GPtrArray *refused_rows;  /* const FkRosterRow*, borrowed from the roster, file order */
} FkRosterReport;

void               fk_roster_report_clear     (FkRosterReport  *report);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FkRosterReport, fk_roster_report_clear)

/* fk_roster_check, then the counts as an import would make them; saves
 * nothing. */
gboolean           fk_roster_preview          (FkRoster        *roster,
                                               FkStore         *store,
                                               const char      *outing_id,
                                               const char      *service_id,
                                               FkRosterReport  *out,
                                               GError         **error);

/* fk_roster_check, then one draft case per row without problems, in class
 * and seat order, in one store batch: if the store fails half-way nothing
 * is saved.  With all_or_nothing, any row with a problem refuses the whole
 * file (FK_ROSTER_ERROR_REFUSED; *out still says which rows and why).
 * A row the store itself refuses is reported with FK_ROSTER_REFUSED (and
 * with all_or_nothing refuses the file). */
gboolean           fk_roster_import           (FkRoster        *roster,
                                               FkStore         *store,
                                               const char      *outing_id,
                                               const char      *service_id,
                                               gboolean         all_or_nothing,
                                               FkRosterReport  *out,
                                               GError         **error);

/* A name as it may be shown in logs and lists: 王小明 → 王○明, 王明 → 王○,
 * 歐陽小明 → 歐○○明.  Free with g_free. */
char              *fk_roster_mask_name        (const char      *name);

G_END_DECLS
