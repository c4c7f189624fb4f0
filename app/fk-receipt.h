/* fk-receipt.h — the receipt (收件確認) a sealed case gives the applicant.
 *
 * After finalize the applicant takes home one sheet that says what the
 * office received and what happens next: the receipt number (also as a QR
 * code, so the counter can scan it later), the service, the date in the
 * ROC and the Gregorian calendar, the fee, the processing time limit
 * (處理時限), the next steps and who took the application.  Everything is
 * bilingual: Traditional Chinese first, English on a smaller second line.
 *
 * A receipt is left lying on tables and in bins, so it carries no full
 * personal data: the applicant's name is masked (王○明, C***g) and only the
 * last four characters of the ID number are shown (******6789).  After the
 * office acknowledged a case and its personal data was purged, the receipt
 * shows neither.
 *
 * Drawing is Cairo + Pango with "Noto Sans CJK TC" (fonts-noto-cjk), so the
 * window can draw the very same receipt on screen and hand it to
 * GtkPrintOperation; fk_receipt_write_pdf makes the fixed PDF.
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

typedef enum {
  FK_RECEIPT_SLIP_80MM,   /* a receipt-printer slip: 80 mm wide, as long as its content */
  FK_RECEIPT_A4,          /* an A4 page with the receipt in a framed box near the top */
} FkReceiptFormat;

/* 80 mm and A4 in PDF points (1/72 inch). */
#define FK_RECEIPT_SLIP_WIDTH_PT (80.0 / 25.4 * 72.0)
#define FK_RECEIPT_A4_WIDTH_PT   595.0
#define FK_RECEIPT_A4_HEIGHT_PT  842.0

/* "slip", "a4". */
const char *fk_receipt_format_name  (FkReceiptFormat  format);
gboolean    fk_receipt_format_parse (const char      *name,
                                     FkReceiptFormat *out);

/* Everything a receipt shows, already masked and formatted.  All strings are
 * UTF-8; the masked ones are NULL when the personal data was purged (or
 * cannot be opened). */
typedef struct {
  char   *office_code;       /* "TCN" */
  char   *receipt_no;        /* "TCN-03-1151126-0001" */
  char   *service_id;
  char   *service_zh;        /* "初領國民身分證" */
  char   *service_en;
  char   *date_roc;          /* "民國115年11月26日" */
  char   *date_iso;          /* "2026-11-26" */
  char   *time;              /* "14:05", local time of sealing */
  int     fee;               /* NT$, whole dollars */
  int     time_limit_days;   /* 0 = the same day */
  char   *time_limit_zh;
  char   *time_limit_en;
  GStrv   next_zh;           /* what happens next, a sentence each */
  GStrv   next_en;           /* the same sentences in English, same count */
  char   *outing_kind;       /* "home_visit", … */
  char   *outing_kind_zh;
  char   *outing_kind_en;
  char   *clerk;             /* operator id of the clerk who took the case */
  char   *checker;           /* operator id of the second check, or NULL */
  char   *name_masked;       /* "王○明", or NULL */
  char   *id_masked;         /* "******6789", or NULL */
} FkReceiptData;

void           fk_receipt_data_free (FkReceiptData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkReceiptData, fk_receipt_data_free)

/* Collects the receipt of a sealed (or later) case.  The store must be
 * unlocked.  A case that is not sealed yet has no receipt number and is
 * refused with FK_STORE_ERROR_REFUSED. */
FkReceiptData *fk_receipt_data_new  (FkStore        *store,
                                     gint64          case_id,
                                     GError        **error);

/* Masks for print: "王小明" → "王○明", "Chen Mei-ling" → "C***g";
 * "A123456789" → "******6789".  Free with g_free. */
char          *fk_receipt_mask_name (const char *name);
char          *fk_receipt_mask_id   (const char *id_number);

/* Draws the receipt with its top-left corner at the origin of cr's user
 * space, one unit being one point; width_pt is the width of the paper (a
 * window that shows it larger scales cr first).  Returns the height used,
 * in points: for the slip that is the length of paper it needs, for A4 the
 * bottom of the framed box. */
double         fk_receipt_render    (cairo_t             *cr,
                                     const FkReceiptData *data,
                                     FkReceiptFormat      format,
                                     double               width_pt);

/* The height fk_receipt_render will use, without drawing anything. */
double         fk_receipt_measure   (const FkReceiptData *data,
                                     FkReceiptFormat      format,
                                     double               width_pt);

/* Writes the receipt of a sealed case as a PDF (fonts embedded).  The file
 * is written next to path under a temporary name and renamed over path, so
 * a reader never sees half a receipt. */
gboolean       fk_receipt_write_pdf (FkStore         *store,
                                     gint64           case_id,
                                     FkReceiptFormat  format,
                                     const char      *path,
                                     GError         **error);

/* The same from collected data (the window prints what it shows). */
gboolean       fk_receipt_data_write_pdf (const FkReceiptData *data,
                                          FkReceiptFormat      format,
                                          const char          *path,
                                          GError             **error);

G_END_DECLS
