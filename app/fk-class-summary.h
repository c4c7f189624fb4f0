/* fk-class-summary.h — a school drive's class summary (到校服務班級彙整).
 *
 * At the end of a school drive the school wants to know who applied and who
 * must come to the office instead, and the office wants the same list next
 * to the sealed cases.  This module reads the drive's cases (the outing's
 * id_card_first cases, in class and seat order), says where each student
 * stands, and writes the list as CSV (UTF-8 with a byte-order mark and CRLF,
 * so Excel on a Traditional Chinese Windows opens it correctly) or as an A4
 * PDF table (Cairo + Pango with "Noto Sans CJK TC", fonts embedded).
 *
 * No GTK: the window and fieldkit-cli use the same code.
 *
 * The exports carry the students' full names (the school needs them), so
 * they are written only on an explicit request, with mode 0600, and never
 * include ID numbers.  Each file is written under a temporary name and
 * renamed over the target, so a reader never sees half a list.
 *
 * Check-in ("attendance") is the catalog field of that name: "present",
 * "absent" or "later" (come back later).  It travels with the case.
 */
#pragma once

#include <glib.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

#define FK_ATTENDANCE_FIELD   "attendance"
#define FK_ATTENDANCE_PRESENT "present"
#define FK_ATTENDANCE_ABSENT  "absent"
#define FK_ATTENDANCE_LATER   "later"

/* The service a school drive serves (DESIGN.md §1). */
#define FK_CLASS_SUMMARY_SERVICE "id_card_first"

/* Where a student of a drive stands. */
typedef enum {
  FK_DRIVE_NOT_SEEN,   /* not checked in yet */
  FK_DRIVE_PRESENT,    /* checked in, not sealed yet */
  FK_DRIVE_ABSENT,
  FK_DRIVE_LATER,      /* asked to come back later */
  FK_DRIVE_DONE,       /* sealed (or uploaded, accepted, closed) */
  FK_DRIVE_RETURNED,   /* the office returned it for correction */
} FkDriveState;

/* "not_seen", "present", "absent", "later", "done", "returned" (stable). */
const char   *fk_drive_state_name  (FkDriveState state);
/* In the current language. */
const char   *fk_drive_state_label (FkDriveState state);
/* From the case's status and its attendance field. */
FkDriveState  fk_drive_state_of    (const FkCase *kase);

/* Class, then seat, numbers by value (seat 2 before seat 10), numbered
 * before unnumbered, empty last — the order of the roster import.  NULL is
 * empty. */
int           fk_class_summary_compare_seats (const char *class_a,
                                              const char *seat_a,
                                              const char *class_b,
                                              const char *seat_b);

typedef struct {
  gint64        case_id;
  char         *school_class;   /* "" when unknown */
  char         *seat;           /* "" when unknown */
  char         *name;           /* NULL when the record cannot be opened or was purged */
  FkCaseStatus  status;
  FkDriveState  state;
  char         *receipt_no;     /* NULL until sealed */
} FkClassSummaryRow;

typedef struct {
  char       *outing_id;
  char       *title;
  char       *date;             /* ISO 8601 */
  char       *place;
  GPtrArray  *rows;             /* FkClassSummaryRow*, class and seat order */
  guint       n_state[FK_DRIVE_RETURNED + 1];
  gint64      made_at;          /* µs since the epoch */
} FkClassSummary;

/* The drive's students: every case of the outing for service_id (NULL:
 * id_card_first).  The store must be unlocked. */
FkClassSummary *fk_class_summary_new   (FkStore    *store,
                                        const char *outing_id,
                                        const char *service_id,
                                        GError    **error);
void            fk_class_summary_free  (FkClassSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkClassSummary, fk_class_summary_free)

/* "27 / 30 done · 2 absent · 1 later" in the current language; the
 * absent, later and returned parts only when not zero. */
char           *fk_class_summary_progress (const FkClassSummary *summary);

/* The CSV file's bytes: BOM, a header row in the current language
 * (class, seat, name, status, receipt number, case), CRLF line ends,
 * RFC 4180 quoting; a cell that a spreadsheet would run as a formula
 * (=, +, -, @ first) is prefixed with an apostrophe. */
GBytes         *fk_class_summary_to_csv    (const FkClassSummary *summary);
gboolean        fk_class_summary_write_csv (const FkClassSummary *summary,
                                            const char           *path,
                                            GError              **error);
/* An A4 portrait PDF: title, date and counts, then the table over as many
 * pages as it needs, each page numbered and marked as holding personal
 * data. */
gboolean        fk_class_summary_write_pdf (const FkClassSummary *summary,
                                            const char           *path,
                                            GError              **error);
/* CSV or PDF by the file name's extension (.csv, .pdf; anything else is
 * refused with FK_STORE_ERROR_INVALID). */
gboolean        fk_class_summary_write     (const FkClassSummary *summary,
                                            const char           *path,
                                            GError              **error);

G_END_DECLS
