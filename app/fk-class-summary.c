/* fk-class-summary.c — a school drive's class summary as CSV and PDF; see
 * fk-class-summary.h.
 *
 * Layout: states, seat order, collecting the rows, the progress line, CSV,
 * PDF (text cells, the table, pages), writing files.
 */
#include "app/fk-class-summary.h"
#include "app/fk-pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "app/fk-date.h"
#include "crypto/fk-i18n.h"

#define SUMMARY_FONT "Noto Sans CJK TC"

/* A4 portrait in points. */
#define PAGE_W   595.0
#define PAGE_H   842.0
#define MARGIN   42.0
#define ROW_H    22.0
#define FOOTER_H 28.0

/* ---- states ------------------------------------------------------------------- */

static const struct {
  const char *name;
  const char *en;   /* N_(): the screen shows its translation */
  const char *zh;   /* the printed class summary carries both languages */
} states[] = {
  [FK_DRIVE_NOT_SEEN] = { "not_seen", N_("Not checked in"), "未報到" },
  [FK_DRIVE_PRESENT]  = { "present",  N_("Present, not finished"), "已報到，未完成" },
  [FK_DRIVE_ABSENT]   = { "absent",   N_("Absent"), "缺席" },
  [FK_DRIVE_LATER]    = { "later",    N_("Come back later"), "稍後再來" },
  [FK_DRIVE_DONE]     = { "done",     N_("Applied"), "已受理" },
  [FK_DRIVE_RETURNED] = { "returned", N_("Returned for correction"), "退回補正" },
};

const char *
fk_drive_state_name (FkDriveState state)
{
  return state <= FK_DRIVE_RETURNED ? states[state].name : "not_seen";
}

const char *
fk_drive_state_label (FkDriveState state)
{
  if (state > FK_DRIVE_RETURNED)
    state = FK_DRIVE_NOT_SEEN;
  return _(states[state].en);
}

FkDriveState
fk_drive_state_of (const FkCase *kase)
{
  const char *attendance = kase->fields ? g_hash_table_lookup (kase->fields, FK_ATTENDANCE_FIELD) : NULL;

  if (kase->status == FK_CASE_RETURNED)
    return FK_DRIVE_RETURNED;
  if (kase->status >= FK_CASE_SEALED)
    return FK_DRIVE_DONE;
  if (g_strcmp0 (attendance, FK_ATTENDANCE_ABSENT) == 0)
    return FK_DRIVE_ABSENT;
  if (g_strcmp0 (attendance, FK_ATTENDANCE_LATER) == 0)
    return FK_DRIVE_LATER;
  if (g_strcmp0 (attendance, FK_ATTENDANCE_PRESENT) == 0 || kase->status != FK_CASE_DRAFT)
    return FK_DRIVE_PRESENT;
  return FK_DRIVE_NOT_SEEN;
}

/* ---- seat order --------------------------------------------------------------- */

/* Leading number of a class or seat ("12", "012", "12a"), or -1. */
static gint64
leading_number (const char *s)
{
  if (!g_ascii_isdigit (*s))
    return -1;
  return g_ascii_strtoll (s, NULL, 10);
}

int
fk_class_summary_compare_seats (const char *class_a,
                                const char *seat_a,
                                const char *class_b,
                                const char *seat_b)
{
  const char *keys_a[2] = { class_a ? class_a : "", seat_a ? seat_a : "" };
  const char *keys_b[2] = { class_b ? class_b : "", seat_b ? seat_b : "" };

  for (guint k = 0; k < 2; k++)
    {
      gint64 na = leading_number (keys_a[k]);
      gint64 nb = leading_number (keys_b[k]);
      int c;

      if ((*keys_a[k] == '\0') != (*keys_b[k] == '\0'))
        return *keys_a[k] == '\0' ? 1 : -1;
      if ((na >= 0) != (nb >= 0))
        return na >= 0 ? -1 : 1;
      if (na != nb)
        return na < nb ? -1 : 1;
      c = strcmp (keys_a[k], keys_b[k]);
      if (c != 0)
        return c;
    }
  return 0;
}

/* ---- collecting ---------------------------------------------------------------- */

static void
row_free (gpointer p)
{
  FkClassSummaryRow *row = p;

  g_free (row->school_class);
  g_free (row->seat);
  if (row->name)
    memset (row->name, 0, strlen (row->name));
  g_free (row->name);
  g_free (row->receipt_no);
  g_free (row);
}

static int
compare_rows (gconstpointer a,
              gconstpointer b)
{
  const FkClassSummaryRow *ra = *(const FkClassSummaryRow * const *) a;
  const FkClassSummaryRow *rb = *(const FkClassSummaryRow * const *) b;
  int c = fk_class_summary_compare_seats (ra->school_class, ra->seat, rb->school_class, rb->seat);

  if (c != 0)
    return c;
  return ra->case_id < rb->case_id ? -1 : ra->case_id > rb->case_id;
}

FkClassSummary *
fk_class_summary_new (FkStore     *store,
                      const char  *outing_id,
                      const char  *service_id,
                      GError     **error)
{
  g_autoptr(FkOuting) outing = NULL;
  g_autoptr(GPtrArray) cases = NULL;
  g_autoptr(GHashTable) superseded = NULL;
  FkClassSummary *summary;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (outing_id != NULL, NULL);

  if (service_id == NULL)
    service_id = FK_CLASS_SUMMARY_SERVICE;
  outing = fk_store_outing_get (store, outing_id, error);
  if (outing == NULL)
    return NULL;
  cases = fk_store_cases (store, outing->id, NULL, error);
  if (cases == NULL)
    return NULL;

  /* A returned case corrected as a new draft: the student is listed once,
   * with the newest version. */
  superseded = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < cases->len; i++)
    {
      const FkCase *c = cases->pdata[i];

      if (c->supersedes > 0)
        g_hash_table_add (superseded, g_memdup2 (&c->supersedes, sizeof c->supersedes));
    }

  summary = g_new0 (FkClassSummary, 1);
  summary->outing_id = g_strdup (outing->id);
  summary->title = g_strdup (outing->title ? outing->title : outing->id);
  summary->date = g_strdup (outing->date);
  summary->place = g_strdup (outing->place ? outing->place : "");
  summary->rows = g_ptr_array_new_with_free_func (row_free);
  summary->made_at = g_get_real_time ();
  for (guint i = 0; i < cases->len; i++)
    {
      const FkCase *c = cases->pdata[i];
      FkClassSummaryRow *row;
      const char *v;

      if (g_strcmp0 (c->service, service_id) != 0 || g_hash_table_contains (superseded, &c->id))
        continue;
      row = g_new0 (FkClassSummaryRow, 1);
      row->case_id = c->id;
      v = c->fields ? g_hash_table_lookup (c->fields, "school_class") : NULL;
      row->school_class = g_strdup (v ? v : "");
      v = c->fields ? g_hash_table_lookup (c->fields, "seat_number") : NULL;
      row->seat = g_strdup (v ? v : "");
      row->name = g_strdup (c->name);
      row->status = c->status;
      row->state = fk_drive_state_of (c);
      row->receipt_no = g_strdup (c->receipt_no);
      summary->n_state[row->state]++;
      g_ptr_array_add (summary->rows, row);
    }
  g_ptr_array_sort (summary->rows, compare_rows);
  return summary;
}

void
fk_class_summary_free (FkClassSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->outing_id);
  g_free (summary->title);
  g_free (summary->date);
  g_free (summary->place);
  g_clear_pointer (&summary->rows, g_ptr_array_unref);
  g_free (summary);
}

/* ---- progress ------------------------------------------------------------------ */

char *
fk_class_summary_progress (const FkClassSummary *summary)
{
  GString *s = g_string_new (NULL);

  g_string_printf (s, _("%u / %u done"),
                   summary->n_state[FK_DRIVE_DONE], summary->rows->len);
  if (summary->n_state[FK_DRIVE_ABSENT])
    g_string_append_printf (s, _(" · %u absent"), summary->n_state[FK_DRIVE_ABSENT]);
  if (summary->n_state[FK_DRIVE_LATER])
    g_string_append_printf (s, _(" · %u later"), summary->n_state[FK_DRIVE_LATER]);
  if (summary->n_state[FK_DRIVE_RETURNED])
    g_string_append_printf (s, _(" · %u returned"), summary->n_state[FK_DRIVE_RETURNED]);
  return g_string_free (s, FALSE);
}

/* ---- CSV --------------------------------------------------------------------------- */

static void
csv_cell (GString    *out,
          const char *value,
          gboolean    last)
{
  const char *v = value ? value : "";
  gboolean formula = *v == '=' || *v == '+' || *v == '-' || *v == '@';
  gboolean quote = formula || strpbrk (v, ",\"\r\n\t") != NULL;

  if (quote)
    g_string_append_c (out, '"');
  if (formula)
    g_string_append_c (out, '\'');
  for (const char *p = v; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  if (quote)
    g_string_append_c (out, '"');
  g_string_append (out, last ? "\r\n" : ",");
}

GBytes *
fk_class_summary_to_csv (const FkClassSummary *summary)
{
  GString *out = g_string_new ("\xEF\xBB\xBF");

  csv_cell (out, _("Class"), FALSE);
  csv_cell (out, _("Seat"), FALSE);
  csv_cell (out, _("Name"), FALSE);
  csv_cell (out, _("Status"), FALSE);
  csv_cell (out, _("Receipt number"), FALSE);
  csv_cell (out, _("Case"), FALSE);
  csv_cell (out, _("Status code"), TRUE);
  for (guint i = 0; i < summary->rows->len; i++)
    {
      const FkClassSummaryRow *row = summary->rows->pdata[i];
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, row->case_id);

      csv_cell (out, row->school_class, FALSE);
      csv_cell (out, row->seat, FALSE);
      csv_cell (out, row->name, FALSE);
      csv_cell (out, fk_drive_state_label (row->state), FALSE);
      csv_cell (out, row->receipt_no, FALSE);
      csv_cell (out, id, FALSE);
      csv_cell (out, fk_drive_state_name (row->state), TRUE);
    }
  return g_string_free_to_bytes (out);
}

gboolean
fk_class_summary_write_csv (const FkClassSummary *summary,
                            const char           *path,
                            GError              **error)
{
  g_autoptr(GBytes) csv = NULL;
  g_autoptr(GError) local = NULL;
  gsize len;
  const char *data;
  gboolean ok;

  g_return_val_if_fail (summary != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  csv = fk_class_summary_to_csv (summary);
  data = g_bytes_get_data (csv, &len);
  ok = g_file_set_contents_full (path, data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &local);
  /* The copy in memory held names: wipe it. */
  memset ((void *) data, 0, len);
  if (!ok)
    {
      int err = local->domain == G_FILE_ERROR ? 0 : EIO;

      if (local->domain == G_FILE_ERROR)
        switch (local->code)
          {
          case G_FILE_ERROR_NOSPC: err = ENOSPC; break;
          case G_FILE_ERROR_ROFS: err = EROFS; break;
          case G_FILE_ERROR_ACCES: err = EACCES; break;
          case G_FILE_ERROR_PERM: err = EPERM; break;
          case G_FILE_ERROR_NOENT: err = ENOENT; break;
          case G_FILE_ERROR_ISDIR: err = EISDIR; break;
          default: err = EIO; break;
          }
      return fk_pdf_file_error (_("the class summary"), path, err, error);
    }
  return TRUE;
}

/* ---- PDF ------------------------------------------------------------------------- */

typedef struct {
  double  x;
  double  width;
  const char *zh;
  const char *en;
} Column;

static const Column columns[] = {
  { 0,   56,  "班級", "Class" },
  { 56,  56,  "座號", "Seat" },
  { 112, 124, "姓名", "Name" },
  { 236, 132, "狀態", "Status" },
  { 368, 143, "收件編號", "Receipt number" },
};

#define TABLE_W (PAGE_W - 2 * MARGIN)

static PangoLayout *
new_layout (cairo_t    *cr,
            double      size,
            gboolean    bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string (SUMMARY_FONT);

  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  pango_font_description_set_weight (font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  return layout;
}

/* Draws text in a box of width w (ellipsized on one line when ellipsize);
 * returns the height used. */
static double
text_at (cairo_t    *cr,
         double      x,
         double      y,
         double      w,
         const char *text,
         double      size,
         gboolean    bold,
         gboolean    ellipsize)
{
  g_autoptr(PangoLayout) layout = new_layout (cr, size, bold);
  int pw, ph;

  pango_layout_set_width (layout, (int) (w * PANGO_SCALE));
  if (ellipsize)
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  else
    pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_text (layout, text ? text : "", -1);
  pango_layout_get_size (layout, &pw, &ph);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  return (double) ph / PANGO_SCALE;
}

static double
draw_heading (cairo_t              *cr,
              const FkClassSummary *summary)
{
  double y = MARGIN;
  g_autofree char *roc = NULL;
  g_autofree char *line = NULL;
  g_autofree char *made = NULL;
  g_autofree char *counts = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_local (summary->made_at / G_USEC_PER_SEC);
  GDate d;

  cairo_set_source_rgb (cr, 0, 0, 0);
  y += text_at (cr, MARGIN, y, TABLE_W, "班級彙整  Class summary", 18, TRUE, FALSE) + 2;
  y += text_at (cr, MARGIN, y, TABLE_W, summary->title, 13, TRUE, FALSE) + 4;
  if (summary->date && fk_date_parse (summary->date, &d, NULL))
    roc = fk_date_to_roc (&d);
  made = g_date_time_format (now, "%Y-%m-%d %H:%M");
  line = g_strdup_printf ("初領國民身分證到校服務 First national ID cards, school drive · %s (%s)%s%s · %s",
                          roc ? roc : "", summary->date ? summary->date : "",
                          *summary->place ? " · " : "", summary->place, summary->outing_id);
  y += text_at (cr, MARGIN, y, TABLE_W, line, 9, FALSE, FALSE) + 2;
  counts = g_strdup_printf ("學生 %u 人 students · 已受理 %u applied · 缺席 %u absent · 稍後再來 %u later · "
                            "未完成 %u not finished · 製表 %s",
                            summary->rows->len, summary->n_state[FK_DRIVE_DONE], summary->n_state[FK_DRIVE_ABSENT],
                            summary->n_state[FK_DRIVE_LATER],
                            summary->n_state[FK_DRIVE_NOT_SEEN] + summary->n_state[FK_DRIVE_PRESENT] +
                            summary->n_state[FK_DRIVE_RETURNED],
                            made);
  y += text_at (cr, MARGIN, y, TABLE_W, counts, 9, FALSE, FALSE) + 12;
  return y;
}

static void
draw_table_header (cairo_t *cr,
                   double   y)
{
  cairo_set_source_rgb (cr, 0.90, 0.90, 0.90);
  cairo_rectangle (cr, MARGIN, y, TABLE_W, ROW_H + 4);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    {
      g_autofree char *both = g_strdup_printf ("%s %s", columns[c].zh, columns[c].en);

      text_at (cr, MARGIN + columns[c].x + 4, y + 5, columns[c].width - 8, both, 9, TRUE, TRUE);
    }
}

static void
draw_row (cairo_t                 *cr,
          double                   y,
          const FkClassSummaryRow *row,
          guint                    index)
{
  g_autofree char *status = g_strdup_printf ("%s %s", states[row->state].zh, states[row->state].en);
  const char *cells[G_N_ELEMENTS (columns)] = {
    row->school_class, row->seat, row->name ? row->name : "—", status,
    row->receipt_no ? row->receipt_no : "—",
  };

  if (index % 2 == 1)
    {
      cairo_set_source_rgb (cr, 0.965, 0.965, 0.965);
      cairo_rectangle (cr, MARGIN, y, TABLE_W, ROW_H);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0, 0, 0);
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    text_at (cr, MARGIN + columns[c].x + 4, y + 4, columns[c].width - 8, cells[c],
             c == 4 ? 8.5 : 10, c == 2, TRUE);
  cairo_set_source_rgb (cr, 0.75, 0.75, 0.75);
  cairo_set_line_width (cr, 0.5);
  cairo_move_to (cr, MARGIN, y + ROW_H);
  cairo_line_to (cr, MARGIN + TABLE_W, y + ROW_H);
  cairo_stroke (cr);
}

static void
draw_footer (cairo_t *cr,
             guint    page,
             guint    pages)
{
  g_autofree char *text = g_strdup_printf ("第 %u / %u 頁  Page %u of %u · 內含個人資料，請依規定保管及銷毀 "
                                           "Contains personal data: keep and dispose of it as the rules say",
                                           page, pages, page, pages);

  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  text_at (cr, MARGIN, PAGE_H - MARGIN - 12, TABLE_W, text, 8, FALSE, TRUE);
}

gboolean
fk_class_summary_write_pdf (const FkClassSummary *summary,
                            const char           *path,
                            GError              **error)
{
  g_autofree char *title = NULL;
  FkPdfFile *file;
  cairo_status_t status;
  cairo_t *cr;
  double table_top, first_rows_f, other_rows_f;
  guint first_rows, other_rows, pages, n = 0;

  g_return_val_if_fail (summary != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* No names in the metadata: only the outing. */
  title = g_strdup_printf ("班級彙整 Class summary %s", summary->outing_id);
  file = fk_pdf_file_open (path, PAGE_W, PAGE_H, title, _("the class summary"), 0600, error);
  if (file == NULL)
    return FALSE;
  cr = cairo_create (fk_pdf_file_surface (file));

  /* How many rows fit: the first page has the heading above the table
   * (measured by drawing it once where nobody sees it). */
  {
    cairo_surface_t *scratch = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
    cairo_t *measure = cairo_create (scratch);

    table_top = draw_heading (measure, summary);
    cairo_destroy (measure);
    cairo_surface_destroy (scratch);
  }
  first_rows_f = (PAGE_H - MARGIN - FOOTER_H - (table_top + ROW_H + 4)) / ROW_H;
  other_rows_f = (PAGE_H - MARGIN - FOOTER_H - (MARGIN + ROW_H + 4)) / ROW_H;
  first_rows = MAX (1, (guint) first_rows_f);
  other_rows = MAX (1, (guint) other_rows_f);
  pages = 1;
  if (summary->rows->len > first_rows)
    pages += (summary->rows->len - first_rows + other_rows - 1) / other_rows;

  for (guint page = 1; page <= pages; page++)
    {
      double y = page == 1 ? draw_heading (cr, summary) : MARGIN;
      guint fit = page == 1 ? first_rows : other_rows;

      draw_table_header (cr, y);
      y += ROW_H + 4;
      for (guint i = 0; i < fit && n < summary->rows->len; i++, n++)
        {
          draw_row (cr, y, summary->rows->pdata[n], n);
          y += ROW_H;
        }
      if (summary->rows->len == 0)
        text_at (cr, MARGIN + 4, y + 6, TABLE_W - 8, "此場次沒有學生 No students in this outing", 10, FALSE, TRUE);
      draw_footer (cr, page, pages);
      cairo_show_page (cr);
    }

  status = cairo_status (cr);
  cairo_destroy (cr);
  return fk_pdf_file_close (file, status, error);
}

gboolean
fk_class_summary_write (const FkClassSummary *summary,
                        const char           *path,
                        GError              **error)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".csv"))
    return fk_class_summary_write_csv (summary, path, error);
  if (g_str_has_suffix (lower, ".pdf"))
    return fk_class_summary_write_pdf (summary, path, error);
  g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
               _("%s: the class summary is written as .csv or .pdf; name the file so."),
               path);
  return FALSE;
}
