/* fk-roster.c — reading class rosters, see fk-roster.h.
 *
 * The reader works in three passes over the bytes: decode them to UTF-8
 * (refusing what is not text), find the header row and the separator, then
 * read the rows one record at a time.  Nothing here touches the store, so
 * the fuzz target (tests/fuzz/fuzz-roster.c) exercises all of it.
 *
 * Limits keep a hostile or mistaken file from costing more than a roster
 * would: FK_ROSTER_MAX_BYTES before anything is decoded, FK_ROSTER_MAX_ROWS
 * rows, MAX_COLUMNS cells per record (later ones are skipped, never
 * stored), and the header must be among the first HEADER_SEARCH records.
 */
#include "app/fk-roster-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "app/fk-date.h"
#include "app/fk-validate.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"

#define MAX_COLUMNS     256
#define HEADER_SEARCH   20
#define NAME_MAX_CHARS  100   /* what the store accepts */
#define SHORT_MAX_CHARS 20    /* class and seat */
#define TEXT_MAX_CHARS  100   /* guardian */

typedef enum {
  COL_CLASS,
  COL_SEAT,
  COL_NAME,
  COL_ID,
  COL_BIRTH,
  COL_GUARDIAN,
  COL_PHONE,
  N_COLS,
} Column;

/* Header names as schools write them, compared after header_key()
 * (ASCII lower-cased, spaces, underscores, dashes, dots and a bracketed
 * remark removed). */
static const char *const column_names[N_COLS][20] = {
  [COL_CLASS] = { "班級", "班別", "班", "年班", "班級名稱", "班級代號", "class", "classname", "classno", "homeroom", NULL },
  [COL_SEAT] = { "座號", "座號碼", "座位", "座位號碼", "seat", "seatno", "seatnumber", NULL },
  [COL_NAME] = { "姓名", "學生姓名", "學生", "名字", "name", "studentname", "fullname", NULL },
  [COL_ID] = { "身分證統一編號", "身份證統一編號", "身分證字號", "身份證字號", "身分證號", "身份證號",
               "身分證號碼", "身份證號碼", "身分證", "身份證", "統一編號", "統編",
               "nationalid", "nationalidnumber", "nationalidno", "idnumber", "idno", "id", "pid", NULL },
  [COL_BIRTH] = { "出生日期", "生日", "出生年月日", "出生", "birthdate", "birthday", "dateofbirth", "dob", "birth", NULL },
  [COL_GUARDIAN] = { "監護人", "監護人姓名", "家長", "家長姓名", "法定代理人", "法定代理人姓名",
                     "guardian", "guardianname", "parent", "parentname", NULL },
  [COL_PHONE] = { "聯絡電話", "連絡電話", "電話", "手機", "行動電話", "家長電話", "家長手機", "監護人電話",
                  "phone", "phonenumber", "telephone", "tel", "mobile", "contactphone", NULL },
};

/* For messages: how the header of a missing column may be written. */
static const char *const column_hint[N_COLS] = {
  [COL_CLASS] = "班級/class",
  [COL_SEAT] = "座號/seat",
  [COL_NAME] = "姓名/name",
  [COL_ID] = "身分證統一編號/national_id",
  [COL_BIRTH] = "出生日期/birth_date",
  [COL_GUARDIAN] = "監護人/guardian",
  [COL_PHONE] = "聯絡電話/phone",
};

static const char separators[] = { ',', '\t', ';' };

/* One record of the file: its cells (at most MAX_COLUMNS) and the line it
 * starts on. */
typedef struct {
  GPtrArray *cells;     /* GString*, reused from record to record */
  guint      n_cells;
  guint      line;
} Record;

typedef struct {
  const char *p;
  const char *end;
  char        sep;
  guint       line;     /* the line p is on, 1-based */
} Reader;

G_DEFINE_QUARK (fk-roster-error-quark, fk_roster_error)

/* ---------------------------------------------------------------- memory */

static void
problem_free (gpointer data)
{
  FkRosterProblem *problem = data;

  g_free (problem->message);
  g_free (problem);
}

static void
row_free (gpointer data)
{
  FkRosterRow *row = data;

  fk_wipe_free (row->school_class);
  fk_wipe_free (row->seat);
  fk_wipe_free (row->name);
  fk_wipe_free (row->national_id);
  fk_wipe_free (row->birth_date);
  fk_wipe_free (row->guardian);
  fk_wipe_free (row->phone);
  g_clear_pointer (&row->problems, g_ptr_array_unref);
  g_free (row);
}

static void
string_wipe_free (gpointer data)
{
  GString *s = data;

  sodium_memzero (s->str, s->allocated_len);
  g_string_free (s, TRUE);
}

static void
record_init (Record *rec)
{
  rec->cells = g_ptr_array_new_with_free_func (string_wipe_free);
  rec->n_cells = 0;
  rec->line = 0;
}

static void
record_clear (Record *rec)
{
  g_clear_pointer (&rec->cells, g_ptr_array_unref);
}

static const char *
record_cell (const Record *rec,
             gint          index)
{
  if (index < 0 || (guint) index >= rec->n_cells)
    return "";
  return ((GString *) rec->cells->pdata[index])->str;
}

void
_fk_roster_row_add_problem (FkRosterRow *row,
                            const char  *code,
                            char        *message)
{
  FkRosterProblem *problem = g_new0 (FkRosterProblem, 1);

  problem->code = code;
  problem->message = message;
  g_ptr_array_add (row->problems, problem);
}

void
_fk_roster_row_remove_problems (FkRosterRow *row,
                                const char  *code)
{
  for (guint i = row->problems->len; i > 0; i--)
    {
      FkRosterProblem *problem = row->problems->pdata[i - 1];

      if (g_str_equal (problem->code, code))
        g_ptr_array_remove_index (row->problems, i - 1);
    }
}

/* ---------------------------------------------------------------- decoding */

static guint
line_of (const guint8 *data,
         gsize         offset)
{
  guint line = 1;

  for (gsize i = 0; i < offset; i++)
    if (data[i] == '\n')
      line++;
  return line;
}

/* Whether data[offset..len) is the start of a UTF-8 sequence that the end
 * of the file cut short. */
static gboolean
is_cut_utf8 (const guint8 *data,
             gsize         offset,
             gsize         len)
{
  gsize rest = len - offset;
  gsize need;

  if (rest == 0 || rest > 3)
    return FALSE;
  if (data[offset] >= 0xC2 && data[offset] <= 0xDF)
    need = 2;
  else if (data[offset] >= 0xE0 && data[offset] <= 0xEF)
    need = 3;
  else if (data[offset] >= 0xF0 && data[offset] <= 0xF4)
    need = 4;
  else
    return FALSE;
  for (gsize i = offset + 1; i < len; i++)
    if ((data[i] & 0xC0) != 0x80)
      return FALSE;
  return rest < need;
}

static void
truncated_error (GError **error,
                 guint    line)
{
  g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_ENCODING,
               _("The file ends in the middle of a character (line %u): it was cut short while being copied or downloaded. Ask the school to send it again."),
               line);
}

static gboolean
not_text_error (GError   **error,
                const char *what)
{
  g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_NOT_TEXT,
               _("This is not a roster file but %s. Export the class list from the school system or the spreadsheet as CSV (comma-separated) and import that file."),
               what);
  return FALSE;
}

/* Files that are plainly something else, told apart by their first bytes,
 * so the clerk hears "this is an Excel workbook" rather than "bad encoding". */
static gboolean
check_magic (const guint8 *data,
             gsize         len,
             GError      **error)
{
  static const struct {
    const char *magic;
    gsize       len;
    const char *what;
  } kinds[] = {
    { "PK\x03\x04", 4, N_("a workbook or other zip file (.xlsx, .ods) — in the spreadsheet choose Save As, CSV") },
    { "\xD0\xCF\x11\xE0", 4, N_("an old Excel workbook (.xls) — in Excel choose Save As, CSV") },
    { "\x89PNG", 4, N_("an image (PNG)") },
    { "\xFF\xD8\xFF", 3, N_("an image (JPEG)") },
    { "GIF8", 4, N_("an image (GIF)") },
    { "%PDF", 4, N_("a PDF document") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (len >= kinds[i].len && memcmp (data, kinds[i].magic, kinds[i].len) == 0)
      return not_text_error (error, _(kinds[i].what));
  return TRUE;
}

/* Text has no NUL bytes and hardly any other control characters. */
static gboolean
check_controls (const char *text,
                gsize       len,
                GError    **error)
{
  gsize controls = 0;

  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (c == 0)
        return not_text_error (error, _("a binary file"));
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7F)
        controls++;
    }
  if (controls > 1 && controls * 100 > len)
    return not_text_error (error, _("a binary file"));
  return TRUE;
}

static char *
decode_utf16 (const guint8  *data,
              gsize          len,
              const char    *codec,
              gsize         *out_len,
              GError       **error)
{
  g_autoptr(GError) local = NULL;
  gsize read = 0;
  char *text = g_convert ((const char *) data, (gssize) len, "UTF-8", codec, &read, out_len, &local);

  if (text != NULL && read < len)
    {
      guint line = 1;

      /* Lines of UTF-16 text end in the 16-bit unit 0x000A. */
      for (gsize i = 0; i + 1 < read; i += 2)
        if ((g_str_equal (codec, "UTF-16LE") ? data[i] : data[i + 1]) == '\n' &&
            (g_str_equal (codec, "UTF-16LE") ? data[i + 1] : data[i]) == 0)
          line++;
      sodium_memzero (text, *out_len);
      g_clear_pointer (&text, g_free);
      truncated_error (error, line);
    }
  else if (text == NULL)
    g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_ENCODING,
                 _("The file is marked as UTF-16 but is not valid UTF-16 near byte %" "zu" ". Save it again from the spreadsheet as CSV UTF-8."),
                 read);
  return text;
}

/* The file is not valid UTF-8: either Big5 throughout, or UTF-8 with some
 * lines in another encoding (two files pasted together), or UTF-8 cut
 * short.  Big5 text is very rarely valid UTF-8 line after line, so a file
 * with both valid UTF-8 lines holding Chinese and invalid ones is mixed. */
static char *
decode_legacy (FkRoster      *roster,
               const guint8  *data,
               gsize          len,
               gsize         *out_len,
               GError       **error)
{
  static const struct {
    const char *codec;
    const char *label;
  } codecs[] = {
    { "CP950", "Big5 (CP950)" },
    { "BIG5-HKSCS", "Big5-HKSCS" },
    { "BIG5", "Big5" },
  };
  guint utf8_lines = 0, other_lines = 0, first_other = 0, first_utf8 = 0;
  gsize last_bad_offset = 0;
  gsize furthest = 0;
  guint line = 1;

  for (gsize start = 0; start < len; line++)
    {
      const guint8 *nl = memchr (data + start, '\n', len - start);
      gsize stop = nl ? (gsize) (nl - data) : len;
      gboolean high = FALSE;
      const char *bad = NULL;

      for (gsize i = start; i < stop && !high; i++)
        high = data[i] >= 0x80;
      if (high)
        {
          if (g_utf8_validate_len ((const char *) data + start, stop - start, &bad))
            {
              utf8_lines++;
              if (first_utf8 == 0)
                first_utf8 = line;
            }
          else
            {
              other_lines++;
              if (first_other == 0)
                first_other = line;
              last_bad_offset = (gsize) ((const guint8 *) bad - data);
            }
        }
      start = stop + 1;
    }

  if (utf8_lines > 0 && other_lines == 1 && is_cut_utf8 (data, last_bad_offset, len) &&
      g_utf8_validate_len ((const char *) data, last_bad_offset, NULL))
    {
      truncated_error (error, line_of (data, last_bad_offset));
      return NULL;
    }
  if (utf8_lines > 0)
    {
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_ENCODING,
                   _("The file mixes two encodings: line %u is UTF-8 but line %u is not (probably Big5). Open it in the spreadsheet, check those lines, and save it again as CSV UTF-8."),
                   first_utf8, first_other);
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_autoptr(GError) local = NULL;
      gsize read = 0;
      char *text = g_convert ((const char *) data, (gssize) len, "UTF-8", codecs[i].codec, &read, out_len, &local);

      /* With bytes_read given, g_convert drops a character cut short at
       * the end instead of failing. */
      if (text != NULL && read < len)
        {
          sodium_memzero (text, *out_len);
          g_free (text);
          truncated_error (error, line_of (data, read));
          return NULL;
        }
      if (text != NULL)
        {
          roster->encoding = "big5";
          roster->encoding_label = codecs[i].label;
          return text;
        }
      if (!g_error_matches (local, G_CONVERT_ERROR, G_CONVERT_ERROR_NO_CONVERSION))
        furthest = MAX (furthest, read);
    }

  g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_ENCODING,
               _("Line %u is neither UTF-8 nor Big5, the two encodings school systems use. Open the file in the spreadsheet and save it as CSV UTF-8."),
               line_of (data, MIN (furthest, len)));
  return NULL;
}

/* Returns the file as UTF-8 (NUL-terminated, valid) and notes the
 * encoding it was in. */
static char *
decode (FkRoster      *roster,
        const guint8  *data,
        gsize          len,
        gsize         *out_len,
        GError       **error)
{
  char *text = NULL;
  const char *bad = NULL;

  if (len >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)))
    {
      gboolean le = data[0] == 0xFF;

      roster->encoding = le ? "utf-16le" : "utf-16be";
      roster->encoding_label = le ? "UTF-16LE" : "UTF-16BE";
      text = decode_utf16 (data + 2, len - 2, le ? "UTF-16LE" : "UTF-16BE", out_len, error);
    }
  else if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
    {
      roster->encoding = "utf-8-bom";
      roster->encoding_label = _("UTF-8 with BOM");
      if (!check_controls ((const char *) data, len, error))
        return NULL;
      if (!g_utf8_validate_len ((const char *) data + 3, len - 3, &bad))
        {
          gsize offset = (gsize) ((const guint8 *) bad - data);

          if (is_cut_utf8 (data, offset, len))
            truncated_error (error, line_of (data, offset));
          else
            g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_ENCODING,
                         _("The file is marked as UTF-8 but line %u is not UTF-8 (probably Big5 pasted in). Open it in the spreadsheet, check that line, and save it again as CSV UTF-8."),
                         line_of (data, offset));
          return NULL;
        }
      *out_len = len - 3;
      return g_strndup ((const char *) data + 3, len - 3);
    }
  else
    {
      if (!check_magic (data, len, error) || !check_controls ((const char *) data, len, error))
        return NULL;
      if (g_utf8_validate_len ((const char *) data, len, NULL))
        {
          roster->encoding = "utf-8";
          roster->encoding_label = "UTF-8";
          *out_len = len;
          return g_strndup ((const char *) data, len);
        }
      text = decode_legacy (roster, data, len, out_len, error);
    }

  if (text != NULL && (!g_utf8_validate_len (text, *out_len, NULL) || !check_controls (text, *out_len, error)))
    {
      if (error != NULL && *error == NULL)
        not_text_error (error, _("a binary file"));
      sodium_memzero (text, *out_len);
      g_free (text);
      return NULL;
    }
  return text;
}

/* ---------------------------------------------------------------- records */

static GString *
record_next_cell (Record *rec)
{
  GString *cell;

  if (rec->n_cells == rec->cells->len)
    g_ptr_array_add (rec->cells, g_string_new (NULL));
  cell = rec->cells->pdata[rec->n_cells++];
  g_string_truncate (cell, 0);
  return cell;
}

/* Reads one record (RFC 4180, leniently: CR, LF or CRLF end a record; a
 * quote opens a quoted cell only at its start, spaces before it allowed;
 * text after a closing quote is kept).  FALSE at the end of the text or
 * when a quote is never closed (then *error is set). */
static gboolean
read_record (Reader  *r,
             Record  *rec,
             GError **error)
{
  if (r->p >= r->end)
    return FALSE;

  rec->n_cells = 0;
  rec->line = r->line;

  for (;;)
    {
      /* Cells past MAX_COLUMNS are read but not kept. */
      GString *cell = rec->n_cells < MAX_COLUMNS ? record_next_cell (rec) : NULL;
      const char *q = r->p;

      while (q < r->end && *q == ' ')
        q++;
      if (q < r->end && *q == '"')
        {
          guint quote_line = r->line;

          r->p = q + 1;
          for (;;)
            {
              const char *span = r->p;

              while (r->p < r->end && *r->p != '"' && *r->p != '\r' && *r->p != '\n')
                r->p++;
              if (cell)
                g_string_append_len (cell, span, r->p - span);
              if (r->p >= r->end)
                {
                  g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_FORMAT,
                               _("A quote (\") opened on line %u is never closed, so the rest of the file would be one cell. Check that line in the spreadsheet and export the file again."),
                               quote_line);
                  return FALSE;
                }
              if (*r->p == '"')
                {
                  if (r->p + 1 < r->end && r->p[1] == '"')
                    {
                      if (cell)
                        g_string_append_c (cell, '"');
                      r->p += 2;
                      continue;
                    }
                  r->p++;
                  break;
                }
              /* A line break inside quotes belongs to the cell. */
              if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
                r->p++;
              r->p++;
              r->line++;
              if (cell)
                g_string_append_c (cell, '\n');
            }
        }

      {
        const char *span = r->p;

        while (r->p < r->end && *r->p != r->sep && *r->p != '\r' && *r->p != '\n')
          r->p++;
        if (cell)
          g_string_append_len (cell, span, r->p - span);
      }

      if (r->p >= r->end)
        return TRUE;
      if (*r->p == r->sep)
        {
          r->p++;
          continue;
        }
      if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
        r->p++;
      r->p++;
      r->line++;
      return TRUE;
    }
}

/* ---------------------------------------------------------------- cells */

static gboolean
is_blank (gunichar c)
{
  return g_unichar_isspace (c) || c < 0x20 || c == 0x7F || c == 0x3000 || c == 0xA0;
}

static gboolean
is_invisible (gunichar c)
{
  return c == 0xFEFF || (c >= 0x200B && c <= 0x200D) || c == 0x2060;
}

/* A cell as a value: Excel's ="0912345678" text wrapper removed, invisible
 * marks dropped, every run of white space (line breaks and the ideographic
 * space included) made one space, trimmed; with half_width, full-width
 * ASCII (１２Ａ) made plain ASCII. */
static char *
clean_cell (const char *cell,
            gboolean    half_width)
{
  gsize len = strlen (cell);
  GString *out = g_string_sized_new (len);
  gboolean space = FALSE;
  const char *p = cell;
  const char *end = cell + len;

  if (len >= 3 && cell[0] == '=' && cell[1] == '"' && cell[len - 1] == '"')
    {
      p = cell + 2;
      end = cell + len - 1;
    }

  for (; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_invisible (c))
        continue;
      if (is_blank (c))
        {
          space = out->len > 0;
          continue;
        }
      if (half_width && c >= 0xFF01 && c <= 0xFF5E)
        c -= 0xFEE0;
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* The comparable form of a header cell: 出生日期（民國） → 出生日期,
 * "National ID" → nationalid. */
static char *
header_key (const char *cell)
{
  g_autofree char *clean = clean_cell (cell, TRUE);
  GString *out = g_string_new (NULL);

  for (const char *p = clean; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '(' || c == '[' || c == 0x3010 /* 【 */ || c == 0xFF08 /* （ after half_width: ( */)
        break;
      if (c == ' ' || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == '*' || c == 0xFF1A)
        continue;
      g_string_append_unichar (out, c < 0x80 ? (gunichar) g_ascii_tolower ((char) c) : c);
    }
  return g_string_free (out, FALSE);
}

static gint
column_for (const char *key)
{
  if (*key == '\0')
    return -1;
  for (gint col = 0; col < N_COLS; col++)
    for (guint i = 0; column_names[col][i] != NULL; i++)
      if (g_str_equal (key, column_names[col][i]))
        return col;
  return -1;
}

/* Maps a record's cells to columns (the first cell naming a column wins);
 * returns how many columns it names. */
static guint
map_header (const Record *rec,
            gint          map[N_COLS])
{
  guint found = 0;

  for (gint col = 0; col < N_COLS; col++)
    map[col] = -1;
  for (guint i = 0; i < rec->n_cells; i++)
    {
      g_autofree char *key = header_key (record_cell (rec, (gint) i));
      gint col = column_for (key);

      if (col >= 0 && map[col] < 0)
        {
          map[col] = (gint) i;
          found++;
        }
    }
  return found;
}

static gboolean
record_is_blank (const Record *rec)
{
  for (guint i = 0; i < rec->n_cells; i++)
    for (const char *p = record_cell (rec, (gint) i); *p != '\0'; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);

        if (!is_blank (c) && !is_invisible (c))
          return FALSE;
      }
  return TRUE;
}

/* ---------------------------------------------------------------- the header */

typedef struct {
  char        sep;
  guint       found;
  gint        map[N_COLS];
  const char *after;      /* where the first data record starts */
  guint       after_line;
  GPtrArray  *ignored;    /* header cells not used */
} Header;

/* A header naming the name and ID number columns beats any that does not;
 * then the more columns named the better. */
static guint
header_score (guint      found,
              const gint map[N_COLS])
{
  return found + (map[COL_NAME] >= 0 && map[COL_ID] >= 0 ? N_COLS + 1 : 0);
}

/* Tries each separator on the first HEADER_SEARCH records and keeps the
 * record and separator that name the most columns; name and ID number are
 * required.  A title line above the header ("801 班名冊") is skipped. */
static gboolean
find_header (const char  *text,
             gsize        len,
             Header      *best,
             GError     **error)
{
  Record rec;
  gboolean ok = TRUE;

  memset (best, 0, sizeof *best);
  for (gint col = 0; col < N_COLS; col++)
    best->map[col] = -1;
  record_init (&rec);

  for (guint s = 0; s < G_N_ELEMENTS (separators) && ok; s++)
    {
      Reader r = { text, text + len, separators[s], 1 };
      guint seen = 0;
      g_autoptr(GError) local = NULL;

      while (seen < HEADER_SEARCH && read_record (&r, &rec, &local))
        {
          gint map[N_COLS];
          guint found;

          if (record_is_blank (&rec))
            continue;
          seen++;
          found = map_header (&rec, map);
          if (header_score (found, map) > header_score (best->found, best->map))
            {
              best->sep = separators[s];
              best->found = found;
              memcpy (best->map, map, sizeof map);
              best->after = r.p;
              best->after_line = r.line;
              g_clear_pointer (&best->ignored, g_ptr_array_unref);
              best->ignored = g_ptr_array_new_with_free_func (g_free);
              for (guint i = 0; i < rec.n_cells; i++)
                {
                  g_autofree char *key = header_key (record_cell (&rec, (gint) i));
                  gboolean used = FALSE;

                  for (gint col = 0; col < N_COLS; col++)
                    used = used || map[col] == (gint) i;
                  if (!used && *key != '\0')
                    g_ptr_array_add (best->ignored, clean_cell (record_cell (&rec, (gint) i), FALSE));
                }
            }
        }
      /* A quote never closed in the first records is the file's problem
       * whatever the separator; report it if no separator finds a header. */
      if (local != NULL && best->found == 0 && s == G_N_ELEMENTS (separators) - 1)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          ok = FALSE;
        }
    }
  record_clear (&rec);
  if (!ok)
    return FALSE;

  if (best->found > 0 && best->map[COL_NAME] >= 0 && best->map[COL_ID] >= 0)
    return TRUE;

  if (best->found == 0)
    {
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_COLUMNS,
                   _("No header row found in the first %d lines. The first line should name the columns, for example: 班級,座號,姓名,身分證統一編號,出生日期,監護人,聯絡電話 (or class,seat,name,national_id,birth_date,guardian,phone)."),
                   HEADER_SEARCH);
    }
  else
    {
      g_autoptr(GString) missing = g_string_new (NULL);

      if (best->map[COL_NAME] < 0)
        g_string_append (missing, column_hint[COL_NAME]);
      if (best->map[COL_ID] < 0)
        g_string_append_printf (missing, "%s%s", missing->len ? _(" and ") : "", column_hint[COL_ID]);
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_COLUMNS,
                   _("The roster has no column for %s; every student needs a name and an ID number. Add the column (header %s) and import again."),
                   missing->str, missing->str);
    }
  g_clear_pointer (&best->ignored, g_ptr_array_unref);
  return FALSE;
}

/* ---------------------------------------------------------------- rows */

static void
today_local (GDate *today)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  g_date_clear (today, 1);
  g_date_set_dmy (today, (GDateDay) g_date_time_get_day_of_month (now),
                  (GDateMonth) g_date_time_get_month (now), (GDateYear) g_date_time_get_year (now));
}

static void
check_length (FkRosterRow *row,
              const char  *value,
              glong        max,
              const char  *label)
{
  if (g_utf8_strlen (value, -1) > max)
    _fk_roster_row_add_problem (row, FK_ROSTER_BAD_FIELD,
                                g_strdup_printf (_("The %s is longer than %ld characters."),
                                                 label, max));
}

static void
read_id (FkRosterRow *row,
         const char  *cell,
         GHashTable  *seen)
{
  g_autoptr(GError) local = NULL;
  gpointer earlier;

  row->national_id = fk_id_normalize (cell);
  if (*row->national_id == '\0')
    {
      _fk_roster_row_add_problem (row, FK_ROSTER_NO_ID,
                                  g_strdup (_("No ID number.")));
      return;
    }
  if (!fk_national_id_check (row->national_id, NULL, &local))
    _fk_roster_row_add_problem (row,
                                g_error_matches (local, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_CHECKSUM)
                                ? FK_ROSTER_CHECKSUM : FK_ROSTER_BAD_ID,
                                g_strdup (local->message));

  earlier = g_hash_table_lookup (seen, row->national_id);
  if (earlier != NULL)
    _fk_roster_row_add_problem (row, FK_ROSTER_DUPLICATE_IN_FILE,
                                g_strdup_printf (_("The same ID number as line %u; a student can be on the roster only once. Ask the school which row is right."),
                                                 ((const FkRosterRow *) earlier)->line));
  else
    g_hash_table_insert (seen, row->national_id, row);
}

static void
read_birth (FkRosterRow *row,
            const char  *cell,
            const GDate *today)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *text = g_strdup (cell);
  char *space = strchr (text, ' ');
  GDate date;

  /* Spreadsheets add a time to dates: "2012/5/3 00:00:00". */
  if (space != NULL && strchr (space, ':') != NULL)
    *space = '\0';

  if (*text == '\0')
    _fk_roster_row_add_problem (row, FK_ROSTER_BAD_DATE,
                                g_strdup (_("No birth date.")));
  else if (!fk_date_parse (text, &date, &local))
    _fk_roster_row_add_problem (row, FK_ROSTER_BAD_DATE,
                                g_strdup_printf (_("Birth date: %s"), local->message));
  else if (g_date_compare (&date, today) > 0)
    _fk_roster_row_add_problem (row, FK_ROSTER_BAD_DATE,
                                g_strdup (_("The birth date is in the future.")));
  else
    row->birth_date = fk_date_to_iso (&date);
}

static void
read_phone (FkRosterRow *row,
            const char  *cell)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  char *normalized = NULL;
  gsize len = strlen (cell);

  if (len == 0)
    {
      row->phone = g_strdup ("");
      return;
    }
  /* A spreadsheet that took 0912345678 for a number shows 912345678. */
  if (len == 9 && cell[0] == '9' && strspn (cell, "0123456789") == 9)
    text = g_strconcat ("0", cell, NULL);
  else
    text = g_strdup (cell);

  if (fk_phone_check (text, &normalized, &local))
    row->phone = normalized;
  else
    {
      row->phone = g_strdup (cell);
      _fk_roster_row_add_problem (row, FK_ROSTER_BAD_PHONE,
                                  g_strdup_printf (_("Phone: %s"), local->message));
    }
  sodium_memzero (text, strlen (text));
}

static FkRosterRow *
read_row (const Record *rec,
          const gint    map[N_COLS],
          guint         number,
          GHashTable   *seen,
          const GDate  *today)
{
  FkRosterRow *row = g_new0 (FkRosterRow, 1);
  char *cells[N_COLS];

  row->line = rec->line;
  row->number = number;
  row->problems = g_ptr_array_new_with_free_func (problem_free);
  for (gint col = 0; col < N_COLS; col++)
    cells[col] = clean_cell (record_cell (rec, map[col]),
                             col == COL_CLASS || col == COL_SEAT || col == COL_PHONE);

  row->school_class = g_strdup (cells[COL_CLASS]);
  row->seat = g_strdup (cells[COL_SEAT]);
  check_length (row, row->school_class, SHORT_MAX_CHARS, _("class"));
  check_length (row, row->seat, SHORT_MAX_CHARS, _("seat number"));

  row->name = g_strdup (cells[COL_NAME]);
  if (*row->name == '\0')
    _fk_roster_row_add_problem (row, FK_ROSTER_NO_NAME, g_strdup (_("No name.")));
  else if (g_utf8_strlen (row->name, -1) > NAME_MAX_CHARS)
    _fk_roster_row_add_problem (row, FK_ROSTER_BAD_NAME,
                                g_strdup_printf (_("The name is longer than %d characters."),
                                                 NAME_MAX_CHARS));

  read_id (row, cells[COL_ID], seen);
  if (map[COL_BIRTH] >= 0)
    read_birth (row, cells[COL_BIRTH], today);

  row->guardian = g_strdup (cells[COL_GUARDIAN]);
  check_length (row, row->guardian, TEXT_MAX_CHARS, _("guardian's name"));
  read_phone (row, cells[COL_PHONE]);

  for (gint col = 0; col < N_COLS; col++)
    fk_wipe_free (cells[col]);
  return row;
}

/* ---------------------------------------------------------------- public API */

FkRoster *
fk_roster_parse (GBytes  *file,
                 GError **error)
{
  g_autoptr(FkRoster) roster = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GError) local = NULL;
  const guint8 *data;
  gsize len = 0;
  gsize text_len = 0;
  char *text;
  Header header;
  Record rec;
  Reader r;
  GDate today;
  gboolean ok = TRUE;

  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (file, &len);
  if (len > FK_ROSTER_MAX_BYTES)
    {
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_TOO_LARGE,
                   _("The file is %" "zu" " MiB; a roster is never more than %d MiB. Check that this is the class list."),
                   len / (1024 * 1024), FK_ROSTER_MAX_BYTES / (1024 * 1024));
      return NULL;
    }

  roster = g_new0 (FkRoster, 1);
  roster->rows = g_ptr_array_new_with_free_func (row_free);
  text = len > 0 ? decode (roster, data, len, &text_len, error) : g_strdup ("");
  if (text == NULL)
    return NULL;

  if (!find_header (text, text_len, &header, error))
    {
      /* An empty file says so rather than "no header". */
      if (error != NULL && g_error_matches (*error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_COLUMNS))
        {
          gboolean blank = TRUE;

          for (const char *p = text; *p != '\0' && blank; p = g_utf8_next_char (p))
            blank = is_blank (g_utf8_get_char (p)) || is_invisible (g_utf8_get_char (p));
          if (blank)
            {
              g_clear_error (error);
              g_set_error_literal (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_EMPTY,
                                   _("The file is empty."));
            }
        }
      sodium_memzero (text, text_len);
      g_free (text);
      return NULL;
    }

  roster->separator = header.sep;
  roster->has_birth = header.map[COL_BIRTH] >= 0;
  g_ptr_array_add (header.ignored, NULL);
  roster->ignored = header.ignored;

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  today_local (&today);
  record_init (&rec);
  r = (Reader) { header.after, text + text_len, header.sep, header.after_line };
  while (read_record (&r, &rec, &local))
    {
      if (record_is_blank (&rec))
        continue;
      if (roster->rows->len == FK_ROSTER_MAX_ROWS)
        {
          g_set_error (&local, FK_ROSTER_ERROR, FK_ROSTER_ERROR_TOO_LARGE,
                       _("The file has more than %d rows; a roster is never that long. Check that this is the class list."),
                       FK_ROSTER_MAX_ROWS);
          break;
        }
      g_ptr_array_add (roster->rows, read_row (&rec, header.map, roster->rows->len + 1, seen, &today));
    }
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      ok = FALSE;
    }
  record_clear (&rec);
  sodium_memzero (text, text_len);
  g_free (text);
  if (!ok)
    return NULL;

  if (roster->rows->len == 0)
    {
      g_set_error_literal (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_EMPTY,
                           _("The file has a header row but no students under it (0 rows). Check that the school sent the full list."));
      return NULL;
    }
  return g_steal_pointer (&roster);
}

FkRoster *
fk_roster_parse_file (const char  *path,
                      GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  struct stat st;
  guint8 *buf;
  gsize got = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Cannot open %s: %s"), path, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > FK_ROSTER_MAX_BYTES)
    {
      close (fd);
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_TOO_LARGE,
                   _("The file is %" PRId64 " MiB; a roster is never more than %d MiB. Check that this is the class list."),
                   (gint64) st.st_size / (1024 * 1024), FK_ROSTER_MAX_BYTES / (1024 * 1024));
      return NULL;
    }

  /* Read at most one byte past the limit, whatever fstat said (a pipe or
   * a file still growing), so the size check in fk_roster_parse decides. */
  buf = g_malloc (FK_ROSTER_MAX_BYTES + 1);
  while (got < FK_ROSTER_MAX_BYTES + 1)
    {
      ssize_t n = read (fd, buf + got, FK_ROSTER_MAX_BYTES + 1 - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          sodium_memzero (buf, got);
          g_free (buf);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       _("Cannot read %s: %s"), path, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      got += (gsize) n;
    }
  close (fd);

  {
    FkRoster *roster;

    bytes = g_bytes_new_static (buf, got);
    roster = fk_roster_parse (bytes, error);
    sodium_memzero (buf, got);
    g_free (buf);
    return roster;
  }
}

void
fk_roster_free (FkRoster *roster)
{
  if (roster == NULL)
    return;
  g_clear_pointer (&roster->rows, g_ptr_array_unref);
  g_clear_pointer (&roster->ignored, g_ptr_array_unref);
  g_free (roster);
}

const char *
fk_roster_encoding (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, NULL);

  return roster->encoding;
}

const char *
fk_roster_encoding_label (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, NULL);

  return roster->encoding_label;
}

const char *
fk_roster_separator (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, NULL);

  switch (roster->separator)
    {
    case '\t': return "tab";
    case ';': return "semicolon";
    default: return "comma";
    }
}

const char *
fk_roster_separator_label (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, NULL);

  switch (roster->separator)
    {
    case '\t': return _("tab");
    case ';': return _("semicolon");
    default: return _("comma");
    }
}

const char * const *
fk_roster_ignored_columns (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, NULL);

  return (const char * const *) roster->ignored->pdata;
}

gboolean
fk_roster_has_birth_dates (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, FALSE);

  return roster->has_birth;
}

guint
fk_roster_n_rows (const FkRoster *roster)
{
  g_return_val_if_fail (roster != NULL, 0);

  return roster->rows->len;
}

const FkRosterRow *
fk_roster_row (const FkRoster *roster,
               guint           index)
{
  g_return_val_if_fail (roster != NULL, NULL);
  g_return_val_if_fail (index < roster->rows->len, NULL);

  return roster->rows->pdata[index];
}

guint
fk_roster_n_good (const FkRoster *roster)
{
  guint good = 0;

  g_return_val_if_fail (roster != NULL, 0);

  for (guint i = 0; i < roster->rows->len; i++)
    if (((FkRosterRow *) roster->rows->pdata[i])->problems->len == 0)
      good++;
  return good;
}

char *
fk_roster_mask_name (const char *name)
{
  glong n;
  GString *out;
  const char *p;

  if (name == NULL || *name == '\0')
    return g_strdup ("");
  n = g_utf8_strlen (name, -1);
  out = g_string_new (NULL);
  if (n == 1)
    {
      g_string_append (out, "○");
      return g_string_free (out, FALSE);
    }
  /* Keep the family name (first character) and, from three characters
   * on, the last one; every other character becomes ○. */
  p = name;
  for (glong i = 0; i < n; i++, p = g_utf8_next_char (p))
    {
      if (i == 0 || (n >= 3 && i == n - 1))
        g_string_append_unichar (out, g_utf8_get_char (p));
      else
        g_string_append (out, "○");
    }
  return g_string_free (out, FALSE);
}
