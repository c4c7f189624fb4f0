/* fk-validate.c — ID numbers, certificate card numbers, phone numbers.
 *
 * The checksum rule shared by national IDs and both resident-number formats
 * (內政部 published rule): the area letter becomes a two-digit code d1 d0,
 * the second character becomes one digit, and
 *
 *   d1*1 + d0*9 + c2*8 + c3*7 + c4*6 + c5*5 + c6*4 + c7*3 + c8*2 + c9*1 + c10*1
 *
 * must be a multiple of 10.  For a national ID and a new (2021) resident
 * number the second character is already a digit (1/2, 8/9).  For an old
 * resident number it is a letter A–D whose two-digit area code is reduced to
 * its last digit (A 10 → 0, B 11 → 1, C 12 → 2, D 13 → 3).
 */
#include "app/fk-validate.h"

#include "crypto/fk-i18n.h"

#include <string.h>

#define ID_LENGTH        10
#define CERT_CARD_LENGTH 16

/* Which kinds of number a caller accepts. */
typedef enum {
  ACCEPT_NATIONAL     = 1 << 0,
  ACCEPT_RESIDENT_OLD = 1 << 1,
  ACCEPT_RESIDENT_NEW = 1 << 2,
  ACCEPT_ANY          = ACCEPT_NATIONAL | ACCEPT_RESIDENT_OLD | ACCEPT_RESIDENT_NEW,
} Accept;

G_DEFINE_QUARK (fk-validate-error-quark, fk_validate_error)

/* ---------------------------------------------------------------- helpers */

/* Area letter → two-digit code.  The letters were assigned in the order the
 * areas were created, not alphabetically, so I, O, W… sit out of sequence. */
static const guint8 area_codes[26] = {
  10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, /* A … M */
  22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33, /* N … Z */
};

static gboolean
is_upper (gunichar c)
{
  return c >= 'A' && c <= 'Z';
}

static gboolean
is_digit (gunichar c)
{
  return c >= '0' && c <= '9';
}

/* Full-width forms U+FF01…U+FF5E mirror ASCII 0x21…0x7E; U+3000 is the
 * ideographic space.  Chinese input methods produce both readily. */
static gunichar
to_half_width (gunichar c)
{
  if (c >= 0xFF01 && c <= 0xFF5E)
    return c - 0xFEE0;
  if (c == 0x3000)
    return ' ';
  return c;
}

static gboolean
is_separator (gunichar c)
{
  return g_unichar_isspace (c) ||
         c == '-' ||
         g_unichar_type (c) == G_UNICODE_DASH_PUNCTUATION;
}

/* Both languages' noun for the number being checked, so one set of messages
 * serves the national-ID-only and the any-ID callers. */
static const char *
id_noun (Accept accept)
{
  if (accept == ACCEPT_NATIONAL)
    return _("The national ID number");
  return _("The ID number");
}

static gboolean
id_checksum_ok (const gunichar chars[ID_LENGTH],
                guint          second_value)
{
  guint code = area_codes[chars[0] - 'A'];
  guint sum = (code / 10) * 1 + (code % 10) * 9 + second_value * 8;

  /* Positions 2…8 carry weights 7…1; the check digit in position 9 has
   * weight 1 too. */
  for (guint i = 2; i < ID_LENGTH - 1; i++)
    sum += (chars[i] - '0') * (9 - i);
  sum += chars[ID_LENGTH - 1] - '0';

  return sum % 10 == 0;
}

static gboolean
set_empty_error (const char  *noun,
                 GError     **error)
{
  g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_EMPTY,
               _("%s is empty; type it exactly as printed on the card."),
               noun);
  return FALSE;
}

/* Decodes a normalized value into code points so that a stray Chinese
 * character counts as one character, not three bytes. */
static gunichar *
decode (const char *normalized,
        glong      *n_chars)
{
  return g_utf8_to_ucs4_fast (normalized, -1, n_chars);
}

static gboolean
id_check (const char  *input,
          Accept       accept,
          FkIdKind    *kind_out,
          char       **normalized_out,
          GError     **error)
{
  g_autofree char *normalized = fk_id_normalize (input);
  g_autofree gunichar *chars = NULL;
  const char *noun = id_noun (accept);
  glong n_chars = 0;
  gunichar second;
  guint second_value;
  FkIdKind kind;

  if (*normalized == '\0')
    return set_empty_error (noun, error);

  chars = decode (normalized, &n_chars);
  if (n_chars != ID_LENGTH)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
                   _("%s must be 10 characters, got %ld; check for a missing or extra character."),
                   noun, n_chars);
      return FALSE;
    }

  if (!is_upper (chars[0]))
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LETTER,
                   _("%s must start with a letter A–Z (the area code); the first character is not a letter."),
                   noun);
      return FALSE;
    }

  second = chars[1];
  if (second == '1' || second == '2')
    {
      kind = FK_ID_KIND_NATIONAL;
      second_value = second - '0';
    }
  else if (second == '8' || second == '9')
    {
      kind = FK_ID_KIND_RESIDENT_NEW;
      second_value = second - '0';
    }
  else if (second >= 'A' && second <= 'D')
    {
      kind = FK_ID_KIND_RESIDENT_OLD;
      second_value = area_codes[second - 'A'] % 10;
    }
  else if (accept == ACCEPT_NATIONAL)
    {
      g_set_error (error, FK_VALIDATE_ERROR,
                   is_digit (second) ? FK_VALIDATE_ERROR_GENDER : FK_VALIDATE_ERROR_LETTER,
                   _("The second character of a national ID must be 1 (male) or 2 (female); check the card again."));
      return FALSE;
    }
  else
    {
      g_set_error (error, FK_VALIDATE_ERROR,
                   is_digit (second) ? FK_VALIDATE_ERROR_GENDER : FK_VALIDATE_ERROR_LETTER,
                   _("The second character must be 1 or 2 (national ID), 8 or 9 (resident number since 2021) or A–D (older resident number); check the card again."));
      return FALSE;
    }

  /* A resident number where only a national ID will do (a guardian of a
   * first ID card, say) is a gender-code failure, but the clerk is better
   * served by hearing what the number actually is. */
  if (kind != FK_ID_KIND_NATIONAL && accept == ACCEPT_NATIONAL)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_GENDER,
                   _("The second character of a national ID must be 1 (male) or 2 (female); this looks like a resident number (外來人口統一證號), which this field does not accept. Ask for the national ID card."));
      return FALSE;
    }

  for (guint i = 2; i < ID_LENGTH; i++)
    {
      if (!is_digit (chars[i]))
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                       _("%s must have digits in characters 3 to 10; character %u is not a digit."),
                       noun, i + 1);
          return FALSE;
        }
    }

  if (!id_checksum_ok (chars, second_value))
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_CHECKSUM,
                   _("%s is not valid: the check digit does not match; check for a typo, character by character."),
                   noun);
      return FALSE;
    }

  if (kind_out != NULL)
    *kind_out = kind;
  if (normalized_out != NULL)
    *normalized_out = g_steal_pointer (&normalized);
  return TRUE;
}

/* ---------------------------------------------------------------- public API */

const char *
fk_id_kind_name (FkIdKind kind)
{
  switch (kind)
    {
    case FK_ID_KIND_NATIONAL:
      return "national_id";
    case FK_ID_KIND_RESIDENT_OLD:
      return "resident_old";
    case FK_ID_KIND_RESIDENT_NEW:
      return "resident_new";
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
fk_id_kind_label (FkIdKind kind)
{
  switch (kind)
    {
    case FK_ID_KIND_NATIONAL:
      return _("National ID");
    case FK_ID_KIND_RESIDENT_OLD:
      return _("Resident number (old format)");
    case FK_ID_KIND_RESIDENT_NEW:
      return _("Resident number (2021 format)");
    default:
      g_return_val_if_reached (NULL);
    }
}

char *
fk_id_normalize (const char *input)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (input == NULL)
    return g_strdup ("");

  /* Invalid UTF-8 (a Big5 roster read as UTF-8) becomes U+FFFD, which then
   * fails the character checks with a message instead of being misread. */
  valid = g_utf8_make_valid (input, -1);
  out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = to_half_width (g_utf8_get_char (p));

      if (is_separator (c))
        continue;
      /* Only ASCII is upper-cased: a stray Chinese character must stay
       * as it is so that the checks can point at it. */
      if (c < 0x80)
        c = g_ascii_toupper ((char) c);
      g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

gboolean
fk_person_id_check (const char  *input,
                    FkIdKind    *kind,
                    char       **normalized,
                    GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return id_check (input, ACCEPT_ANY, kind, normalized, error);
}

gboolean
fk_national_id_check (const char  *input,
                      char       **normalized,
                      GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return id_check (input, ACCEPT_NATIONAL, NULL, normalized, error);
}

gboolean
fk_cert_card_check (const char  *input,
                    char       **normalized,
                    GError     **error)
{
  g_autofree char *value = fk_id_normalize (input);
  g_autofree gunichar *chars = NULL;
  const char *noun = _("The certificate card number");
  glong n_chars = 0;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (*value == '\0')
    return set_empty_error (noun, error);

  chars = decode (value, &n_chars);
  if (n_chars != CERT_CARD_LENGTH)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
                   _("%s must be 16 characters (2 letters and 14 digits), got %ld; scan the barcode on the card again or type it from the card."),
                   noun, n_chars);
      return FALSE;
    }

  for (guint i = 0; i < CERT_CARD_LENGTH; i++)
    {
      gboolean want_letter = i < 2;

      if (want_letter ? !is_upper (chars[i]) : !is_digit (chars[i]))
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                       want_letter
                       ? _("%s must start with 2 letters A–Z; character %u is not a letter. Type it from the card.")
                       : _("%s must end with 14 digits; character %u is not a digit. Type it from the card."),
                       noun, i + 1);
          return FALSE;
        }
    }

  if (normalized != NULL)
    *normalized = g_steal_pointer (&value);
  return TRUE;
}

/* ---------------------------------------------------------------- phones */

/* Total digits (with the leading 0) a landline may have, by area code.
 * Taipei (02) and Nantou (049) numbers are 10 digits; Taichung city and
 * Changhua share 04 with 8- and 7-digit subscriber numbers; toll-free 0800
 * numbers are 10.  Every other area code, the outlying islands included
 * (0826, 0836, 082, 089), adds up to 9.  Longer prefixes come first. */
static const struct {
  const char *prefix;
  guint       shortest;
  guint       longest;
  const char *example;
} landlines[] = {
  { "0800", 10, 10, "0800-123-456" },
  { "049",  10, 10, "049-234-5678" },
  { "02",   10, 10, "02-2345-6789" },
  { "04",    9, 10, "04-2345-6789, 04-723-4567" },
};

#define LANDLINE_OTHER_LENGTH  9
#define LANDLINE_OTHER_EXAMPLE "03-345-6789, 089-123456, 0826-12345"

static gboolean
check_landline_length (const GString  *digits,
                       GError        **error)
{
  guint n = (guint) digits->len;

  for (guint i = 0; i < G_N_ELEMENTS (landlines); i++)
    {
      if (!g_str_has_prefix (digits->str, landlines[i].prefix))
        continue;
      if (n >= landlines[i].shortest && n <= landlines[i].longest)
        return TRUE;

      if (landlines[i].shortest == landlines[i].longest)
        g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
                     _("A landline number with area code %s must be %u digits including the area code (for example %s), got %u; check for a missing or extra digit."),
                     landlines[i].prefix, landlines[i].shortest, landlines[i].example, n);
      else
        g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
                     _("A landline number with area code %s must be %u or %u digits including the area code (for example %s), got %u; check for a missing or extra digit."),
                     landlines[i].prefix, landlines[i].shortest, landlines[i].longest,
                     landlines[i].example, n);
      return FALSE;
    }

  if (n == LANDLINE_OTHER_LENGTH)
    return TRUE;

  g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
               _("A landline number outside area codes 02, 04 and 049 must be %u digits including the area code (for example %s), got %u; check for a missing or extra digit."),
               LANDLINE_OTHER_LENGTH, LANDLINE_OTHER_EXAMPLE, n);
  return FALSE;
}

gboolean
fk_phone_check (const char  *input,
                char       **normalized,
                GError     **error)
{
  const char *noun = _("The phone number");
  g_autofree char *valid = NULL;
  g_autoptr(GString) compact = g_string_new (NULL);
  g_autoptr(GString) digits = g_string_new (NULL);
  const char *rest;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Keep the characters that carry meaning; drop the punctuation people put
   * between groups: 02-2345-6789, (02) 2345 6789, 0912.345.678. */
  valid = g_utf8_make_valid (input != NULL ? input : "", -1);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = to_half_width (g_utf8_get_char (p));

      if (is_separator (c) || c == '(' || c == ')' || c == '.' || c == '/')
        continue;
      g_string_append_unichar (compact, c);
    }

  if (compact->len == 0)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_EMPTY,
                   _("%s is empty; enter a mobile number (09xx-xxx-xxx) or a landline with its area code."),
                   noun);
      return FALSE;
    }

  /* International forms: +886, 00886, or 886 written without the plus.  The
   * trunk 0 is dropped abroad but often written anyway: +886 (0)2 …. */
  rest = compact->str;
  if (g_str_has_prefix (rest, "+886"))
    rest += 4;
  else if (g_str_has_prefix (rest, "00886"))
    rest += 5;
  else if (g_str_has_prefix (rest, "886") && compact->len >= 11)
    rest += 3;
  else if (rest[0] == '+' || g_str_has_prefix (rest, "00"))
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("%s must be a Taiwanese number (+886); record a local contact number instead."),
                   noun);
      return FALSE;
    }

  if (rest != compact->str && rest[0] != '0')
    g_string_append_c (digits, '0');
  for (const char *p = rest; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                       _("%s may contain only digits, spaces, dashes, brackets and a leading +886; remove other characters and any extension (#, 轉)."),
                       noun);
          return FALSE;
        }
      g_string_append_c (digits, *p);
    }

  if (digits->str[0] != '0')
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("%s must start with 09 (mobile) or 0 and the area code (for example 02); add the area code."),
                   noun);
      return FALSE;
    }

  if (digits->str[1] == '9')
    {
      if (digits->len != 10)
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_LENGTH,
                       _("A mobile number must be 10 digits (09xx-xxx-xxx), got %u; check for a missing or extra digit."),
                       (guint) digits->len);
          return FALSE;
        }
    }
  else if (digits->str[1] < '2' || digits->str[1] > '8')
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("%s does not start with a Taiwanese area code (02 to 089) or 09; check the first digits."),
                   noun);
      return FALSE;
    }
  else if (!check_landline_length (digits, error))
    return FALSE;

  if (normalized != NULL)
    *normalized = g_strdup (digits->str);
  return TRUE;
}
