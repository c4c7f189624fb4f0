/* fk-receipt.c — the receipt (收件確認) of a sealed case, drawn with Cairo
 * and Pango; see fk-receipt.h.
 *
 * Layout: collecting and masking the data, the next-steps sentences, the
 * drawing primitives (text blocks, rules, the QR code), the two page
 * layouts, the PDF file.
 */
#include "app/fk-receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include "app/fk-date.h"
#include "app/fk-pdf.h"
#include "crypto/fk-i18n.h"

#define RECEIPT_FONT "Noto Sans CJK TC"

/* ---- formats ----------------------------------------------------------- */

const char *
fk_receipt_format_name (FkReceiptFormat format)
{
  return format == FK_RECEIPT_A4 ? "a4" : "slip";
}

gboolean
fk_receipt_format_parse (const char      *name,
                         FkReceiptFormat *out)
{
  if (g_ascii_strcasecmp (name ? name : "", "slip") == 0)
    *out = FK_RECEIPT_SLIP_80MM;
  else if (g_ascii_strcasecmp (name ? name : "", "a4") == 0)
    *out = FK_RECEIPT_A4;
  else
    return FALSE;
  return TRUE;
}

/* ---- masking ------------------------------------------------------------- */

char *
fk_receipt_mask_name (const char *name)
{
  g_autofree char *trimmed = NULL;
  GString *out;
  const char *last;
  glong n;
  gunichar first;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return NULL;
  trimmed = g_strstrip (g_strdup (name));
  n = g_utf8_strlen (trimmed, -1);
  if (n == 0)
    return NULL;
  first = g_utf8_get_char (trimmed);
  last = g_utf8_offset_to_pointer (trimmed, n - 1);
  out = g_string_new (NULL);

  /* Chinese names keep their length, as Taiwanese offices print them
   * (王○明, 歐陽○○); a name in Latin letters gets a fixed-width mask so
   * the printout does not tell how long it is. */
  if (g_unichar_get_script (first) == G_UNICODE_SCRIPT_HAN)
    {
      if (n == 1)
        g_string_append (out, "○");
      else
        {
          g_string_append_unichar (out, first);
          for (glong i = 1; i < n - 1; i++)
            g_string_append (out, "○");
          if (n == 2)
            g_string_append (out, "○");
          else
            g_string_append_unichar (out, g_utf8_get_char (last));
        }
    }
  else
    {
      g_string_append_unichar (out, first);
      g_string_append (out, "***");
      if (n >= 3)
        g_string_append_unichar (out, g_utf8_get_char (last));
    }
  return g_string_free (out, FALSE);
}

char *
fk_receipt_mask_id (const char *id_number)
{
  GString *out;
  glong n;

  if (id_number == NULL || !g_utf8_validate (id_number, -1, NULL) || *id_number == '\0')
    return NULL;
  n = g_utf8_strlen (id_number, -1);
  out = g_string_new (NULL);
  /* Four characters or fewer would be shown whole: mask them all. */
  if (n <= 4)
    {
      g_string_append_len (out, "****", n);
      return g_string_free (out, FALSE);
    }
  for (glong i = 0; i < n - 4; i++)
    g_string_append_c (out, '*');
  g_string_append (out, g_utf8_offset_to_pointer (id_number, n - 4));
  return g_string_free (out, FALSE);
}

/* ---- what happens next ------------------------------------------------------ */

typedef struct {
  const char *kind;
  const char *zh;
  const char *en;
} KindName;

/* Both languages at once (fk_outing_kind_label gives only the current one):
 * the receipt is bilingual whatever the screen speaks. */
static const KindName outing_kinds[] = {
  { "home_visit", "到府服務", "Home visit" },
  { "school_drive", "國中生身分證到校服務", "School ID-card drive" },
  { "certificate_booth", "自然人憑證駐點服務", "Certificate booth" },
  { "bulk_enrolment", "自然人憑證集體受理", "Bulk certificate enrolment" },
  { "card_handover", "證件交付", "Card hand-over" },
};

static const KindName *
outing_kind_name (const char *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (outing_kinds); i++)
    if (g_strcmp0 (outing_kinds[i].kind, kind) == 0)
      return &outing_kinds[i];
  return NULL;
}

/* A sentence or two for the applicant: when the office processes the case
 * and how the result (usually a card) reaches them, which depends on the
 * service and on where the case was taken. */
static void
next_steps (const FkService *svc,
            const char      *outing_kind,
            GStrv           *out_zh,
            GStrv           *out_en)
{
  g_autoptr(GStrvBuilder) zh = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) en = g_strv_builder_new ();
  const char *id = svc->id;

  if (g_strcmp0 (id, "card_handover") == 0)
    {
      g_strv_builder_add (zh, "證件已當場交付，本收據為交付紀錄。");
      g_strv_builder_add (en, "The card was handed over on the spot; this receipt records the hand-over.");
    }
  else if (g_strcmp0 (id, "certificate_apply") == 0 && g_strcmp0 (outing_kind, "bulk_enrolment") != 0)
    {
      g_strv_builder_add (zh, "自然人憑證已當場製發，請妥善保管憑證卡片及密碼（PIN 碼）。");
      g_strv_builder_add (en, "The citizen digital certificate was issued on the spot; keep the card and its PIN safe.");
    }
  else
    {
      if (svc->time_limit_days > 0)
        {
          g_autofree char *days_zh = g_strdup_printf ("戶政事務所收件後%d個工作天內辦理完成。", svc->time_limit_days);
          g_autofree char *days_en = g_strdup_printf (svc->time_limit_days == 1
                                                        ? "The office completes the application within %d working day of receipt."
                                                        : "The office completes the application within %d working days of receipt.",
                                                      svc->time_limit_days);

          g_strv_builder_add (zh, days_zh);
          g_strv_builder_add (en, days_en);
        }
      else
        {
          g_strv_builder_add (zh, "戶政事務所收到本案當日即辦理。");
          g_strv_builder_add (en, "The office processes the application on the day it receives it.");
        }

      if (g_strcmp0 (id, "id_card_first") == 0 || g_strcmp0 (id, "id_card_replace") == 0)
        {
          if (g_strcmp0 (outing_kind, "home_visit") == 0)
            {
              g_strv_builder_add (zh, "新身分證製妥後，戶政事務所將以電話聯繫，再次到府交付，屆時請本人簽收。");
              g_strv_builder_add (en, "When the new card is ready, the office will call you and bring it to your home; you sign for it then.");
            }
          else if (g_strcmp0 (outing_kind, "school_drive") == 0)
            {
              g_strv_builder_add (zh, "新身分證製妥後，戶政事務所將到校交付，請本人簽收。");
              g_strv_builder_add (en, "When the new card is ready, the office hands it over at school; the student signs for it.");
            }
          else
            {
              g_strv_builder_add (zh, "新身分證製妥後，戶政事務所將通知領取，領取時請攜帶本收據。");
              g_strv_builder_add (en, "When the new card is ready, the office will tell you where to collect it; bring this receipt.");
            }
        }
      else if (g_strcmp0 (id, "certificate_apply") == 0)
        {
          g_strv_builder_add (zh, "憑證卡片製妥後，戶政事務所將通知交付，屆時請本人簽收。");
          g_strv_builder_add (en, "When the certificate card is ready, the office will arrange the hand-over; you sign for it then.");
        }
      else
        {
          g_strv_builder_add (zh, "辦理完成或需補正時，戶政事務所將以電話通知您。");
          g_strv_builder_add (en, "The office will call you when it is done, or if anything is missing.");
        }
    }

  g_strv_builder_add (zh, "請妥善保存本收據；查詢辦理進度時，請告知收件編號。");
  g_strv_builder_add (en, "Keep this receipt, and quote the receipt number when you ask about the application.");
  *out_zh = g_strv_builder_end (zh);
  *out_en = g_strv_builder_end (en);
}

/* ---- collecting the data ---------------------------------------------------- */

void
fk_receipt_data_free (FkReceiptData *data)
{
  if (data == NULL)
    return;
  g_free (data->office_code);
  g_free (data->receipt_no);
  g_free (data->service_id);
  g_free (data->service_zh);
  g_free (data->service_en);
  g_free (data->date_roc);
  g_free (data->date_iso);
  g_free (data->time);
  g_free (data->time_limit_zh);
  g_free (data->time_limit_en);
  g_strfreev (data->next_zh);
  g_strfreev (data->next_en);
  g_free (data->outing_kind);
  g_free (data->outing_kind_zh);
  g_free (data->outing_kind_en);
  g_free (data->clerk);
  g_free (data->checker);
  g_free (data->name_masked);
  g_free (data->id_masked);
  g_free (data);
}

FkReceiptData *
fk_receipt_data_new (FkStore  *store,
                     gint64    case_id,
                     GError  **error)
{
  g_autoptr(FkReceiptData) data = NULL;
  g_autoptr(FkCase) kase = NULL;
  g_autoptr(FkOuting) outing = NULL;
  g_autoptr(GDateTime) sealed = NULL;
  const FkService *svc;
  const KindName *kind;
  GDate day;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  kase = fk_store_case_get (store, case_id, error);
  if (kase == NULL)
    return NULL;
  if (kase->status < FK_CASE_SEALED || kase->receipt_no == NULL)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED,
                   _("Case %" PRId64 " is not sealed yet (status: %s), so it has no receipt number. "
                         "A receipt is given after \"case finalize\"."),
                   kase->id, fk_case_status_label (kase->status));
      return NULL;
    }
  svc = fk_catalog_lookup (fk_store_catalog (store), kase->service);
  if (svc == NULL)
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND,
                   _("The service catalog on this device no longer has the service \"%s\" of case %" PRId64
                         ", so its fee and time limit are unknown. Sync to get the office's catalog."),
                   kase->service, kase->id);
      return NULL;
    }
  outing = fk_store_outing_get (store, kase->outing_id, error);
  if (outing == NULL)
    return NULL;

  data = g_new0 (FkReceiptData, 1);
  data->office_code = g_strdup (fk_store_office_code (store));
  data->receipt_no = g_strdup (kase->receipt_no);
  data->service_id = g_strdup (svc->id);
  data->service_zh = g_strdup (svc->name_zh);
  data->service_en = g_strdup (svc->name_en);

  sealed = g_date_time_new_from_unix_local (kase->sealed_at / G_USEC_PER_SEC);
  g_date_clear (&day, 1);
  g_date_set_dmy (&day, (GDateDay) g_date_time_get_day_of_month (sealed),
                  (GDateMonth) g_date_time_get_month (sealed), (GDateYear) g_date_time_get_year (sealed));
  data->date_roc = fk_date_to_roc (&day);
  data->date_iso = fk_date_to_iso (&day);
  data->time = g_date_time_format (sealed, "%H:%M");

  data->fee = svc->fee;
  data->time_limit_days = svc->time_limit_days;
  data->time_limit_zh = g_strdup (svc->time_limit_zh);
  data->time_limit_en = g_strdup (svc->time_limit_en);

  data->outing_kind = g_strdup (outing->kind);
  kind = outing_kind_name (outing->kind);
  data->outing_kind_zh = g_strdup (kind ? kind->zh : outing->kind);
  data->outing_kind_en = g_strdup (kind ? kind->en : outing->kind);
  next_steps (svc, outing->kind, &data->next_zh, &data->next_en);

  data->clerk = g_strdup (kase->created_by);
  if (kase->approved_by && g_strcmp0 (kase->approved_by, kase->created_by) != 0)
    data->checker = g_strdup (kase->approved_by);

  /* After the office acknowledged the case its personal data is purged
   * (name NULL); a damaged record is left out as well rather than
   * printing a guess. */
  if (kase->damaged == NULL)
    {
      data->name_masked = fk_receipt_mask_name (kase->name);
      data->id_masked = fk_receipt_mask_id (kase->person_id);
    }
  return g_steal_pointer (&data);
}

/* ---- drawing primitives ---------------------------------------------------- */

typedef struct {
  cairo_t      *cr;
  PangoContext *pango;
  gboolean      draw;    /* FALSE: only measure */
} Pen;

/* Sizes in points; one set per format. */
typedef struct {
  double pad;            /* paper edge (slip) or frame (A4) to the text */
  double office, office_en;
  double title, title_en;
  double number_label, number;
  double qr;             /* side of the QR code with its quiet zone */
  double label, label_en;
  double value, value_en;
  double label_col;
  double heading;
  double body, body_en;
  double foot, foot_en;
  double gap;            /* between sections */
  double row_gap;        /* above and below a table row's text */
} Style;

static const Style slip_style = {
  .pad = 11.0,
  .office = 8.5, .office_en = 6.5,
  .title = 18.0, .title_en = 9.0,
  .number_label = 7.0, .number = 14.0,
  .qr = 96.0,
  .label = 8.0, .label_en = 6.0,
  .value = 8.5, .value_en = 6.5,
  .label_col = 54.0,
  .heading = 9.0,
  .body = 8.0, .body_en = 6.5,
  .foot = 7.0, .foot_en = 6.0,
  .gap = 7.0,
  .row_gap = 3.0,
};

static const Style a4_style = {
  .pad = 26.0,
  .office = 11.0, .office_en = 8.5,
  .title = 26.0, .title_en = 12.0,
  .number_label = 9.0, .number = 22.0,
  .qr = 122.0,
  .label = 10.5, .label_en = 8.0,
  .value = 11.5, .value_en = 8.5,
  .label_col = 118.0,
  .heading = 12.0,
  .body = 10.5, .body_en = 8.5,
  .foot = 9.0, .foot_en = 7.5,
  .gap = 12.0,
  .row_gap = 5.0,
};

/* Grey for the English lines: dark enough for a thermal printer. */
#define INK_SECONDARY 0.30

/* Lays out text in a box w points wide at (x, y) and returns its height.
 * lang NULL is Traditional Chinese (the context's language); English lines
 * say so, or punctuation of ambiguous width (· ’ –) is set full-width. */
static double
text_in (Pen            *pen,
         double          x,
         double          y,
         double          w,
         const char     *str,
         double          size,
         gboolean        bold,
         PangoAlignment  align,
         double          gray,
         const char     *lang)
{
  g_autoptr(PangoLayout) layout = NULL;
  PangoFontDescription *font;
  PangoRectangle logical;

  if (str == NULL || *str == '\0')
    return 0.0;
  layout = pango_layout_new (pen->pango);
  font = pango_font_description_from_string (RECEIPT_FONT);
  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  pango_font_description_set_weight (font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_width (layout, (int) (w * PANGO_SCALE));
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment (layout, align);
  pango_layout_set_text (layout, str, -1);
  if (lang)
    {
      PangoAttrList *attrs = pango_attr_list_new ();

      pango_attr_list_insert (attrs, pango_attr_language_new (pango_language_from_string (lang)));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }
  pango_layout_get_extents (layout, NULL, &logical);
  if (pen->draw)
    {
      cairo_set_source_rgb (pen->cr, gray, gray, gray);
      cairo_move_to (pen->cr, x, y);
      pango_cairo_show_layout (pen->cr, layout);
    }
  return (double) logical.height / PANGO_SCALE;
}

static double
text (Pen            *pen,
      double          x,
      double          y,
      double          w,
      const char     *str,
      double          size,
      gboolean        bold,
      PangoAlignment  align,
      double          gray)
{
  return text_in (pen, x, y, w, str, size, bold, align, gray, NULL);
}

/* Chinese on the first line, English smaller and grey below it. */
static double
bilingual (Pen            *pen,
           double          x,
           double          y,
           double          w,
           const char     *zh,
           const char     *en,
           double          size,
           double          size_en,
           gboolean        bold,
           PangoAlignment  align)
{
  double h = text (pen, x, y, w, zh, size, bold, align, 0.0);

  if (en && *en)
    h += text_in (pen, x, y + h, w, en, size_en, FALSE, align, INK_SECONDARY, "en");
  return h;
}

static void
rule (Pen      *pen,
      double    x,
      double    y,
      double    w,
      double    width,
      double    gray,
      gboolean  dashed)
{
  static const double dash[] = { 2.0, 2.0 };

  if (!pen->draw)
    return;
  cairo_save (pen->cr);
  cairo_set_source_rgb (pen->cr, gray, gray, gray);
  cairo_set_line_width (pen->cr, width);
  if (dashed)
    cairo_set_dash (pen->cr, dash, G_N_ELEMENTS (dash), 0.0);
  cairo_move_to (pen->cr, x, y);
  cairo_line_to (pen->cr, x + w, y);
  cairo_stroke (pen->cr);
  cairo_restore (pen->cr);
}

/* The QR code of text as a square of side points at (x, y), quiet zone
 * included.  Every dark module goes into one path that is filled once, so
 * neighbouring modules never show hairline seams when rasterized. */
static void
qr (Pen        *pen,
    double      x,
    double      y,
    double      side,
    const char *str)
{
  const int quiet = 4;
  QRcode *code;
  double m;

  if (!pen->draw)
    return;
  code = QRcode_encodeString (str, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == NULL)
    {
      g_warning ("QR code for %s: %s", str, g_strerror (errno));
      return;
    }
  m = side / (code->width + 2 * quiet);
  cairo_save (pen->cr);
  cairo_set_source_rgb (pen->cr, 1.0, 1.0, 1.0);
  cairo_rectangle (pen->cr, x, y, side, side);
  cairo_fill (pen->cr);
  cairo_new_path (pen->cr);
  for (int row = 0; row < code->width; row++)
    for (int col = 0; col < code->width; col++)
      {
        int run = 0;

        while (col + run < code->width && (code->data[row * code->width + col + run] & 1))
          run++;
        if (run > 0)
          {
            cairo_rectangle (pen->cr, x + (quiet + col) * m, y + (quiet + row) * m, run * m, m);
            col += run - 1;
          }
      }
  cairo_set_source_rgb (pen->cr, 0.0, 0.0, 0.0);
  cairo_set_fill_rule (pen->cr, CAIRO_FILL_RULE_WINDING);
  cairo_fill (pen->cr);
  cairo_restore (pen->cr);
  QRcode_free (code);
}

/* ---- the parts of a receipt ------------------------------------------------------ */

static char *
fee_zh (int fee)
{
  return fee > 0 ? g_strdup_printf ("新臺幣%d元", fee) : g_strdup ("免費");
}

static char *
fee_en (int fee)
{
  return fee > 0 ? g_strdup_printf ("NT$%d", fee) : g_strdup ("Free of charge");
}

/* One row of the table: a bilingual label on the left, a bilingual value
 * on the right, a hairline below. */
static double
table_row (Pen         *pen,
           const Style *st,
           double       x,
           double       y,
           double       w,
           const char  *label_zh,
           const char  *label_en,
           const char  *value_zh,
           const char  *value_en)
{
  double lh, vh, h;

  lh = bilingual (pen, x, y + st->row_gap, st->label_col - 4.0, label_zh, label_en,
                  st->label, st->label_en, TRUE, PANGO_ALIGN_LEFT);
  vh = bilingual (pen, x + st->label_col, y + st->row_gap, w - st->label_col, value_zh, value_en,
                  st->value, st->value_en, FALSE, PANGO_ALIGN_LEFT);
  h = MAX (lh, vh) + 2 * st->row_gap;
  rule (pen, x, y + h, w, 0.4, 0.6, FALSE);
  return h;
}

static double
table (Pen                 *pen,
       const Style         *st,
       const FkReceiptData *d,
       double               x,
       double               y,
       double               w)
{
  g_autofree char *date_zh = g_strdup_printf ("%s %s", d->date_roc, d->time);
  g_autofree char *date_en = g_strdup_printf ("%s %s", d->date_iso, d->time);
  g_autofree char *fzh = fee_zh (d->fee);
  g_autofree char *fen = fee_en (d->fee);
  g_autofree char *staff_zh = d->checker ? g_strdup_printf ("%s（複核：%s）", d->clerk, d->checker) : g_strdup (d->clerk);
  g_autofree char *staff_en = d->checker ? g_strdup_printf ("%s (second check: %s)", d->clerk, d->checker) : NULL;
  double y0 = y;

  rule (pen, x, y, w, 0.8, 0.0, FALSE);
  y += table_row (pen, st, x, y, w, "申請業務", "Service", d->service_zh, d->service_en);
  if (d->name_masked)
    y += table_row (pen, st, x, y, w, "申請人", "Applicant", d->name_masked, NULL);
  if (d->id_masked)
    y += table_row (pen, st, x, y, w, "統一編號", "ID number", d->id_masked, NULL);
  y += table_row (pen, st, x, y, w, "收件日期", "Received", date_zh, date_en);
  y += table_row (pen, st, x, y, w, "規費", "Fee", fzh, fen);
  y += table_row (pen, st, x, y, w, "處理時限", "Time limit", d->time_limit_zh, d->time_limit_en);
  y += table_row (pen, st, x, y, w, "受理方式", "Taken at", d->outing_kind_zh, d->outing_kind_en);
  y += table_row (pen, st, x, y, w, "承辦人員", "Clerk", staff_zh, staff_en);
  return y - y0;
}

static double
next_section (Pen                 *pen,
              const Style         *st,
              const FkReceiptData *d,
              double               x,
              double               y,
              double               w)
{
  double y0 = y;
  double indent = st->body * 1.1;

  y += bilingual (pen, x, y, w, "後續事項", "What happens next", st->heading, st->body_en, TRUE, PANGO_ALIGN_LEFT);
  y += st->row_gap;
  for (guint i = 0; d->next_zh && d->next_zh[i]; i++)
    {
      const char *en = d->next_en && i < g_strv_length (d->next_en) ? d->next_en[i] : NULL;

      text (pen, x, y, indent, "•", st->body, FALSE, PANGO_ALIGN_LEFT, 0.0);
      y += bilingual (pen, x + indent, y, w - indent, d->next_zh[i], en, st->body, st->body_en, FALSE, PANGO_ALIGN_LEFT);
      y += st->row_gap;
    }
  return y - y0;
}

static double
footer (Pen         *pen,
        const Style *st,
        double       x,
        double       y,
        double       w,
        gboolean     centered)
{
  PangoAlignment align = centered ? PANGO_ALIGN_CENTER : PANGO_ALIGN_LEFT;
  double y0 = y;

  rule (pen, x, y, w, 0.6, 0.0, TRUE);
  y += st->row_gap + 1.0;
  y += bilingual (pen, x, y, w,
                  "為保護個人資料，本收據僅顯示部分姓名及統一編號末4碼。",
                  "To protect your personal data, this receipt shows only part of the name and the last 4 characters of the ID number.",
                  st->foot, st->foot_en, FALSE, align);
  return y - y0;
}

static char *
office_line_zh (const FkReceiptData *d)
{
  return g_strdup_printf ("戶政事務所（%s）外勤服務", d->office_code ? d->office_code : "");
}

static char *
office_line_en (const FkReceiptData *d)
{
  return g_strdup_printf ("Household Registration Office (%s), field service", d->office_code ? d->office_code : "");
}

/* ---- the two layouts ------------------------------------------------------------- */

/* Whole points up (without libm: the layout never goes negative). */
static double
round_up (double v)
{
  double whole = (double) (gint64) v;

  return whole < v ? whole + 1.0 : whole;
}

static double
render_slip (Pen                 *pen,
             const FkReceiptData *d,
             double               width)
{
  const Style *st = &slip_style;
  g_autofree char *office_zh = office_line_zh (d);
  g_autofree char *office_en = office_line_en (d);
  double x = st->pad, w = width - 2 * st->pad, y = st->pad;

  y += bilingual (pen, x, y, w, office_zh, office_en, st->office, st->office_en, FALSE, PANGO_ALIGN_CENTER);
  y += st->gap * 0.6;
  y += bilingual (pen, x, y, w, "收件確認", "Receipt", st->title, st->title_en, TRUE, PANGO_ALIGN_CENTER);
  y += st->gap;
  rule (pen, x, y, w, 0.8, 0.0, FALSE);
  y += st->gap;
  y += text (pen, x, y, w, "收件編號 Receipt No.", st->number_label, FALSE, PANGO_ALIGN_CENTER, INK_SECONDARY);
  y += text (pen, x, y, w, d->receipt_no, st->number, TRUE, PANGO_ALIGN_CENTER, 0.0);
  y += st->gap * 0.5;
  qr (pen, (width - st->qr) / 2, y, st->qr, d->receipt_no);
  y += st->qr + st->gap * 0.5;
  y += table (pen, st, d, x, y, w);
  y += st->gap * 1.5;
  y += next_section (pen, st, d, x, y, w);
  y += st->gap * 0.5;
  y += footer (pen, st, x, y, w, TRUE);
  return round_up (y + st->pad * 1.5);
}

static double
render_a4 (Pen                 *pen,
           const FkReceiptData *d,
           double               width)
{
  const Style *st = &a4_style;
  g_autofree char *office_zh = office_line_zh (d);
  g_autofree char *office_en = office_line_en (d);
  double margin = width * (20.0 / 210.0);   /* 20 mm on A4 */
  double bx = margin, by = margin, bw = width - 2 * margin;
  double x = bx + st->pad, w = bw - 2 * st->pad, y = by + st->pad;
  double left_w = w - st->qr - st->gap, hy;

  /* Header: office, title and receipt number on the left, the QR code on
   * the right, its quiet zone reaching into the padding of the frame. */
  hy = y;
  hy += bilingual (pen, x, hy, left_w, office_zh, office_en, st->office, st->office_en, FALSE, PANGO_ALIGN_LEFT);
  hy += st->gap;
  hy += bilingual (pen, x, hy, left_w, "收件確認", "Receipt", st->title, st->title_en, TRUE, PANGO_ALIGN_LEFT);
  hy += st->gap;
  hy += text (pen, x, hy, left_w, "收件編號 Receipt No.", st->number_label, FALSE, PANGO_ALIGN_LEFT, INK_SECONDARY);
  hy += text (pen, x, hy, left_w, d->receipt_no, st->number, TRUE, PANGO_ALIGN_LEFT, 0.0);
  qr (pen, x + w - st->qr + st->pad * 0.5, y - st->pad * 0.5, st->qr, d->receipt_no);
  y = MAX (hy, y - st->pad * 0.5 + st->qr) + st->gap;

  y += table (pen, st, d, x, y, w);
  y += st->gap * 1.5;
  y += next_section (pen, st, d, x, y, w);
  y += st->gap * 0.5;
  y += footer (pen, st, x, y, w, FALSE);
  y += st->pad;

  if (pen->draw)
    {
      cairo_save (pen->cr);
      cairo_set_source_rgb (pen->cr, 0.0, 0.0, 0.0);
      cairo_set_line_width (pen->cr, 1.2);
      cairo_rectangle (pen->cr, bx, by, bw, y - by);
      cairo_stroke (pen->cr);
      cairo_restore (pen->cr);
    }
  return round_up (y);
}

static double
render (cairo_t             *cr,
        const FkReceiptData *data,
        FkReceiptFormat      format,
        double               width_pt,
        gboolean             draw)
{
  cairo_font_options_t *options = cairo_font_options_create ();
  Pen pen = { cr, pango_cairo_create_context (cr), draw };
  double h;

  /* Unhinted metrics and unrounded glyph positions: the layout is the same
   * at every scale, so what the window shows, what is printed and what
   * was measured for the slip's length all agree. */
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (pen.pango, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (pen.pango, FALSE);
  pango_context_set_language (pen.pango, pango_language_from_string ("zh-tw"));

  h = format == FK_RECEIPT_A4 ? render_a4 (&pen, data, width_pt) : render_slip (&pen, data, width_pt);
  g_object_unref (pen.pango);
  return h;
}

double
fk_receipt_render (cairo_t             *cr,
                   const FkReceiptData *data,
                   FkReceiptFormat      format,
                   double               width_pt)
{
  double h;

  g_return_val_if_fail (cr != NULL, 0.0);
  g_return_val_if_fail (data != NULL, 0.0);

  cairo_save (cr);
  h = render (cr, data, format, width_pt, TRUE);
  cairo_restore (cr);
  return h;
}

double
fk_receipt_measure (const FkReceiptData *data,
                    FkReceiptFormat      format,
                    double               width_pt)
{
  cairo_surface_t *surface = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
  cairo_t *cr = cairo_create (surface);
  double h;

  g_return_val_if_fail (data != NULL, 0.0);

  h = render (cr, data, format, width_pt, FALSE);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return h;
}

/* ---- the PDF file -------------------------------------------------------------------- */

gboolean
fk_receipt_data_write_pdf (const FkReceiptData *data,
                           FkReceiptFormat      format,
                           const char          *path,
                           GError             **error)
{
  g_autofree char *title = NULL;
  FkPdfFile *file;
  cairo_status_t status;
  cairo_t *cr;
  double width, height;

  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (format == FK_RECEIPT_A4)
    {
      width = FK_RECEIPT_A4_WIDTH_PT;
      height = FK_RECEIPT_A4_HEIGHT_PT;
    }
  else
    {
      /* The slip is as long as its content: lay it out once to measure,
       * then draw it on paper of that length. */
      width = FK_RECEIPT_SLIP_WIDTH_PT;
      height = fk_receipt_measure (data, format, width);
    }

  /* Only the receipt number goes into the metadata: no personal data. */
  title = g_strdup_printf ("收件確認 Receipt %s", data->receipt_no);
  file = fk_pdf_file_open (path, width, height, title, _("the receipt"), 0644, error);
  if (file == NULL)
    return FALSE;
  cr = cairo_create (fk_pdf_file_surface (file));
  fk_receipt_render (cr, data, format, width);
  cairo_show_page (cr);
  status = cairo_status (cr);
  cairo_destroy (cr);
  return fk_pdf_file_close (file, status, error);
}

gboolean
fk_receipt_write_pdf (FkStore          *store,
                      gint64            case_id,
                      FkReceiptFormat   format,
                      const char       *path,
                      GError          **error)
{
  g_autoptr(FkReceiptData) data = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  data = fk_receipt_data_new (store, case_id, error);
  if (data == NULL)
    return FALSE;
  return fk_receipt_data_write_pdf (data, format, path, error);
}
