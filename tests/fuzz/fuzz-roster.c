/* fuzz-roster.c — libFuzzer target for the roster reader (fk_roster_parse).
 *
 * Built and run by tools/fuzz.sh with AddressSanitizer and
 * UndefinedBehaviorSanitizer; the seed corpus is tests/fuzz/corpus-roster.
 *
 * Besides "does not crash", it checks what the rest of FieldKit relies on:
 * a failure is an FK_ROSTER_ERROR with a message, and a roster's strings
 * are valid UTF-8 with ISO birth dates and problems that carry a code and a
 * message.  Everything the reader returns is read and summed into a
 * volatile, so the optimiser cannot drop the work that would expose a bad
 * read (TESTING.md, Robustness).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "app/fk-roster.h"
#include "crypto/fk-i18n.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static volatile gsize sink;

static gsize
use_string (const char *s)
{
  if (s == NULL)
    return 0;
  if (!g_utf8_validate (s, -1, NULL))
    abort ();
  return strlen (s) + (guchar) s[0];
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static gboolean ready;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FkRoster) roster = NULL;
  gsize total = 0;

  if (!ready)
    {
      /* A g_return_if_fail in the reader is a bug the fuzzer must report. */
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
      ready = TRUE;
    }
  /* Both languages' messages get formatted. */
  fk_lang_set (size % 2 ? "zh_TW" : "en");

  bytes = g_bytes_new_static (data, size);
  roster = fk_roster_parse (bytes, &error);
  if (roster == NULL)
    {
      if (error == NULL || error->domain != FK_ROSTER_ERROR || error->message[0] == '\0')
        abort ();
      sink += use_string (error->message) + (gsize) error->code;
      return 0;
    }
  if (error != NULL || fk_roster_n_rows (roster) == 0)
    abort ();

  total += use_string (fk_roster_encoding (roster));
  total += use_string (fk_roster_encoding_label (roster));
  total += use_string (fk_roster_separator (roster));
  total += use_string (fk_roster_separator_label (roster));
  for (const char * const *c = fk_roster_ignored_columns (roster); *c != NULL; c++)
    total += use_string (*c);

  for (guint i = 0; i < fk_roster_n_rows (roster); i++)
    {
      const FkRosterRow *row = fk_roster_row (roster, i);
      g_autofree char *masked = fk_roster_mask_name (row->name);

      if (row->number != i + 1 || row->line < 2 || row->case_id != 0)
        abort ();
      if (row->birth_date != NULL && strlen (row->birth_date) != 10)
        abort ();
      total += row->line + row->number;
      total += use_string (row->school_class) + use_string (row->seat) + use_string (row->name);
      total += use_string (row->national_id) + use_string (row->birth_date);
      total += use_string (row->guardian) + use_string (row->phone) + use_string (masked);
      for (guint j = 0; j < row->problems->len; j++)
        {
          const FkRosterProblem *p = row->problems->pdata[j];

          if (p->code == NULL || p->message == NULL || p->message[0] == '\0')
            abort ();
          total += use_string (p->code) + use_string (p->message);
        }
    }
  total += fk_roster_n_good (roster);
  sink += total;
  return 0;
}
