/* test-validate.c — ID numbers, certificate card numbers, phone numbers.
 *
 * The random tests build numbers with a checksum written independently of
 * app/fk-validate.c (the area letters as one string ordered by code, and an
 * explicit weights table), so a mistake shared by both would have to be made
 * twice in different shapes.
 */
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#include <string.h>

#define N_RANDOM 10000

/* ---------------------------------------------------------------- independent checksum */

/* Letters in the order of their area codes: index + 10 is the code. */
static const char letters_by_code[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
static const int weights[11] = { 1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1 };

static int
reference_code (char letter)
{
  const char *at = strchr (letters_by_code, letter);

  g_assert_nonnull (at);
  return (int) (at - letters_by_code) + 10;
}

/* Value of the second character: a digit as itself, an old-format letter as
 * the last digit of its area code. */
static int
reference_second (char c)
{
  return g_ascii_isdigit (c) ? c - '0' : reference_code (c) % 10;
}

/* Fills id[9] with the digit that makes id[0..8] valid. */
static void
reference_complete (char id[11])
{
  int expanded[11];
  int sum = 0;
  int code = reference_code (id[0]);

  expanded[0] = code / 10;
  expanded[1] = code % 10;
  expanded[2] = reference_second (id[1]);
  for (int i = 2; i < 9; i++)
    expanded[i + 1] = id[i] - '0';
  expanded[10] = 0;

  for (int i = 0; i < 11; i++)
    sum += expanded[i] * weights[i];
  id[9] = (char) ('0' + (10 - sum % 10) % 10);
  id[10] = '\0';
}

static void
random_id (char        id[11],
           const char *second_choices)
{
  id[0] = letters_by_code[g_test_rand_int_range (0, 26)];
  id[1] = second_choices[g_test_rand_int_range (0, (gint32) strlen (second_choices))];
  for (int i = 2; i < 9; i++)
    id[i] = (char) ('0' + g_test_rand_int_range (0, 10));
  reference_complete (id);
}

/* ---------------------------------------------------------------- helpers */

static void
assert_person_id (const char *input,
                  const char *expected,
                  FkIdKind    expected_kind)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  FkIdKind kind = (FkIdKind) -1;

  if (!fk_person_id_check (input, &kind, &normalized, &error))
    g_error ("“%s” refused: %s", input, error->message);
  g_assert_cmpstr (normalized, ==, expected);
  g_assert_cmpint (kind, ==, expected_kind);
}

/* Returns the message so callers can look at the words too. */
static char *
expect_person_id_error (const char *input,
                        int         code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  FkIdKind kind = FK_ID_KIND_NATIONAL;

  g_assert_false (fk_person_id_check (input, &kind, &normalized, &error));
  g_assert_error (error, FK_VALIDATE_ERROR, code);
  g_assert_null (normalized);
  return g_strdup (error->message);
}

static char *
expect_national_id_error (const char *input,
                          int         code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;

  g_assert_false (fk_national_id_check (input, &normalized, &error));
  g_assert_error (error, FK_VALIDATE_ERROR, code);
  g_assert_null (normalized);
  return g_strdup (error->message);
}

/* ---------------------------------------------------------------- national ID */

static void
test_national_known_valid (void)
{
  /* A123456789 by hand: A = 10 → 1×1 + 0×9 = 1; 1×8 + 2×7 + 3×6 + 4×5 +
   * 5×4 + 6×3 + 7×2 + 8×1 = 120; check digit 9×1 = 9; 1 + 120 + 9 = 130. */
  const char *valid[] = {
    "A123456789", "A100000001",
    /* From the class rosters in the shared fixtures. */
    "M142623620", "L202717180", "N217069406", "B153886652", "A138931539",
    "B122452573",
    /* Letters with out-of-sequence codes, by hand: I 34 → 3 + 4×9 + 1×8 + 3
     * = 50; O 35 → 3 + 45 + 8 + 4 = 60; W 32 → 3 + 18 + 8 + 1 = 30;
     * Z 33 → 3 + 27 + 8 + 2 = 40. */
    "I100000003", "O100000004", "W100000001", "Z100000002",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      assert_person_id (valid[i], valid[i], FK_ID_KIND_NATIONAL);
      g_assert_true (fk_national_id_check (valid[i], &normalized, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, valid[i]);
    }

  /* NULL outputs are allowed. */
  g_assert_true (fk_person_id_check ("A123456789", NULL, NULL, NULL));
  g_assert_true (fk_national_id_check ("A123456789", NULL, NULL));
}

static void
test_national_normalize (void)
{
  g_autofree char *spaced = fk_id_normalize ("  a 123-456\t789 ");
  g_autofree char *full = fk_id_normalize ("Ａ１２３４５６７８９");
  g_autofree char *full_lower = fk_id_normalize ("ａ１２３　４５６－７８９");
  g_autofree char *null_input = fk_id_normalize (NULL);
  g_autofree char *chinese = fk_id_normalize ("甲12");

  g_assert_cmpstr (spaced, ==, "A123456789");
  g_assert_cmpstr (full, ==, "A123456789");
  g_assert_cmpstr (full_lower, ==, "A123456789");
  g_assert_cmpstr (null_input, ==, "");
  g_assert_cmpstr (chinese, ==, "甲12");

  assert_person_id ("a123456789", "A123456789", FK_ID_KIND_NATIONAL);
  assert_person_id ("l137128840", "L137128840", FK_ID_KIND_NATIONAL);
  assert_person_id (" A123-456-789 ", "A123456789", FK_ID_KIND_NATIONAL);
  assert_person_id ("Ａ１２３４５６７８９", "A123456789", FK_ID_KIND_NATIONAL);
  assert_person_id ("ａ１２３４５６７８９", "A123456789", FK_ID_KIND_NATIONAL);
  assert_person_id ("aa00000009", "AA00000009", FK_ID_KIND_RESIDENT_OLD);
}

static void
test_national_empty (void)
{
  g_autofree char *blank = expect_person_id_error ("", FK_VALIDATE_ERROR_EMPTY);
  g_autofree char *spaces = expect_person_id_error (" \t　", FK_VALIDATE_ERROR_EMPTY);
  g_autofree char *dashes = expect_national_id_error ("--", FK_VALIDATE_ERROR_EMPTY);
  g_autofree char *null_input = expect_national_id_error (NULL, FK_VALIDATE_ERROR_EMPTY);

  g_assert_nonnull (strstr (blank, "empty"));
}

static void
test_national_length (void)
{
  g_autofree char *short_msg = expect_person_id_error ("A12345678", FK_VALIDATE_ERROR_LENGTH);
  g_autofree char *long_msg = expect_national_id_error ("A1234567890", FK_VALIDATE_ERROR_LENGTH);
  g_autofree char *one = expect_person_id_error ("A", FK_VALIDATE_ERROR_LENGTH);

  g_assert_nonnull (strstr (short_msg, "must be 10 characters, got 9"));
  g_assert_nonnull (strstr (long_msg, "must be 10 characters, got 11"));
  g_assert_nonnull (strstr (one, "got 1"));
}

static void
test_national_letter (void)
{
  g_autofree char *digit_first = expect_person_id_error ("1123456789", FK_VALIDATE_ERROR_LETTER);
  g_autofree char *chinese_first = expect_national_id_error ("甲123456789", FK_VALIDATE_ERROR_LETTER);
  /* E–Z in the second place is no kind of number. */
  g_autofree char *bad_second = expect_person_id_error ("AE00000009", FK_VALIDATE_ERROR_LETTER);
  g_autofree char *symbol_second = expect_national_id_error ("A*23456789", FK_VALIDATE_ERROR_LETTER);

  g_assert_nonnull (strstr (digit_first, "A–Z"));
  g_assert_nonnull (strstr (bad_second, "A–D"));
}

static void
test_national_gender (void)
{
  g_autofree char *three = expect_national_id_error ("A323456789", FK_VALIDATE_ERROR_GENDER);
  g_autofree char *zero = expect_person_id_error ("A023456789", FK_VALIDATE_ERROR_GENDER);
  /* Valid resident numbers are not national IDs. */
  g_autofree char *new_resident = expect_national_id_error ("A800000014", FK_VALIDATE_ERROR_GENDER);
  g_autofree char *old_resident = expect_national_id_error ("AA00000009", FK_VALIDATE_ERROR_GENDER);

  g_assert_nonnull (strstr (three, "1 (male) or 2 (female)"));
  g_assert_nonnull (strstr (zero, "8 or 9"));
  g_assert_nonnull (strstr (new_resident, "resident number"));
  g_assert_nonnull (strstr (old_resident, "resident number"));
}

static void
test_national_format (void)
{
  g_autofree char *letter_last = expect_person_id_error ("A12345678X", FK_VALIDATE_ERROR_FORMAT);
  g_autofree char *chinese_mid = expect_national_id_error ("A1234甲6789", FK_VALIDATE_ERROR_FORMAT);

  g_assert_nonnull (strstr (letter_last, "character 10 is not a digit"));
  g_assert_nonnull (strstr (chinese_mid, "character 6 is not a digit"));
}

static void
test_national_checksum (void)
{
  g_autofree char *message = expect_person_id_error ("A123456788", FK_VALIDATE_ERROR_CHECKSUM);
  g_autofree char *national = expect_national_id_error ("A123456780", FK_VALIDATE_ERROR_CHECKSUM);
  /* Neighbouring digits swapped (7 and 8, weights 2 and 1).  Swapping the
   * last two digits cannot be caught: both weigh 1. */
  g_autofree char *swapped = expect_person_id_error ("A123456879", FK_VALIDATE_ERROR_CHECKSUM);
  /* The fixture roster's deliberately bad row. */
  g_autofree char *fixture = expect_person_id_error ("L241150353", FK_VALIDATE_ERROR_CHECKSUM);

  g_assert_nonnull (strstr (message, "check digit does not match"));
  g_assert_nonnull (strstr (message, "typo"));
}

/* Messages reach logs and shared screens; they must not carry the number. */
static void
test_messages_hide_value (void)
{
  const char *inputs[] = { "A123456788", "A12345678", "A323456789", "A12345678X" };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (fk_person_id_check (inputs[i], NULL, NULL, &error));
      g_assert_null (strstr (error->message, inputs[i]));
      g_assert_null (strstr (error->message, inputs[i] + 1));
    }
}

static void
test_messages_chinese (void)
{
  g_autoptr(GError) checksum = NULL;
  g_autoptr(GError) length = NULL;
  g_autoptr(GError) phone = NULL;

  fk_lang_set ("zh_TW");
  g_assert_false (fk_person_id_check ("A123456788", NULL, NULL, &checksum));
  g_assert_false (fk_national_id_check ("A12345678", NULL, &length));
  g_assert_false (fk_phone_check ("091234567", NULL, &phone));
  fk_lang_set ("en");

  g_assert_nonnull (strstr (checksum->message, "檢查碼不符"));
  g_assert_nonnull (strstr (length->message, "必須是 10 碼，目前是 9 碼"));
  g_assert_nonnull (strstr (phone->message, "手機號碼必須是 10 碼"));
}

static void
test_national_random (void)
{
  for (guint n = 0; n < N_RANDOM; n++)
    {
      char id[11];
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;
      FkIdKind kind = FK_ID_KIND_RESIDENT_OLD;

      random_id (id, "12");
      if (!fk_person_id_check (id, &kind, &normalized, &error))
        g_error ("generated %s refused: %s", id, error->message);
      g_assert_cmpint (kind, ==, FK_ID_KIND_NATIONAL);
      g_assert_cmpstr (normalized, ==, id);
      g_assert_true (fk_national_id_check (id, NULL, NULL));

      /* Every other check digit must fail, and fail as a checksum. */
      for (char digit = '0'; digit <= '9'; digit++)
        {
          char altered[11];
          g_autoptr(GError) altered_error = NULL;

          if (digit == id[9])
            continue;
          memcpy (altered, id, sizeof altered);
          altered[9] = digit;
          g_assert_false (fk_national_id_check (altered, NULL, &altered_error));
          g_assert_error (altered_error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_CHECKSUM);
        }
    }
}

/* ---------------------------------------------------------------- resident numbers */

static void
test_resident_old (void)
{
  /* By hand, AC01234567: A → 1×1 + 0×9 = 1; C (12) → 2×8 = 16; 0×7 + 1×6 +
   * 2×5 + 3×4 + 4×3 + 5×2 + 6×1 = 56; check 7; 1 + 16 + 56 + 7 = 80. */
  const char *valid[] = { "AA00000009", "AB00000001", "AC00000003", "AD00000005", "AC01234567" };
  g_autofree char *checksum = expect_person_id_error ("AC01234568", FK_VALIDATE_ERROR_CHECKSUM);

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    assert_person_id (valid[i], valid[i], FK_ID_KIND_RESIDENT_OLD);

  for (guint n = 0; n < N_RANDOM; n++)
    {
      char id[11];
      g_autoptr(GError) error = NULL;
      FkIdKind kind = FK_ID_KIND_NATIONAL;

      random_id (id, "ABCD");
      if (!fk_person_id_check (id, &kind, NULL, &error))
        g_error ("generated %s refused: %s", id, error->message);
      g_assert_cmpint (kind, ==, FK_ID_KIND_RESIDENT_OLD);

      for (char digit = '0'; digit <= '9'; digit++)
        {
          g_autoptr(GError) altered_error = NULL;
          char altered[11];

          if (digit == id[9])
            continue;
          memcpy (altered, id, sizeof altered);
          altered[9] = digit;
          g_assert_false (fk_person_id_check (altered, NULL, NULL, &altered_error));
          g_assert_error (altered_error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_CHECKSUM);
        }
    }
}

static void
test_resident_new (void)
{
  /* A800000014: 1 + 8×8 + 1×1 + 4 = 70.  A900000007: 1 + 9×8 + 7 = 80. */
  g_autofree char *checksum = expect_person_id_error ("A800000015", FK_VALIDATE_ERROR_CHECKSUM);

  assert_person_id ("A800000014", "A800000014", FK_ID_KIND_RESIDENT_NEW);
  assert_person_id ("A900000007", "A900000007", FK_ID_KIND_RESIDENT_NEW);
  assert_person_id ("a 9000-00007", "A900000007", FK_ID_KIND_RESIDENT_NEW);

  for (guint n = 0; n < N_RANDOM; n++)
    {
      char id[11];
      g_autoptr(GError) error = NULL;
      FkIdKind kind = FK_ID_KIND_NATIONAL;

      random_id (id, "89");
      if (!fk_person_id_check (id, &kind, NULL, &error))
        g_error ("generated %s refused: %s", id, error->message);
      g_assert_cmpint (kind, ==, FK_ID_KIND_RESIDENT_NEW);

      for (char digit = '0'; digit <= '9'; digit++)
        {
          g_autoptr(GError) altered_error = NULL;
          char altered[11];

          if (digit == id[9])
            continue;
          memcpy (altered, id, sizeof altered);
          altered[9] = digit;
          g_assert_false (fk_person_id_check (altered, NULL, NULL, &altered_error));
          g_assert_error (altered_error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_CHECKSUM);
        }
    }
}

static void
test_kind_names (void)
{
  g_assert_cmpstr (fk_id_kind_name (FK_ID_KIND_NATIONAL), ==, "national_id");
  g_assert_cmpstr (fk_id_kind_name (FK_ID_KIND_RESIDENT_OLD), ==, "resident_old");
  g_assert_cmpstr (fk_id_kind_name (FK_ID_KIND_RESIDENT_NEW), ==, "resident_new");

  g_assert_cmpstr (fk_id_kind_label (FK_ID_KIND_NATIONAL), ==, "National ID");
  fk_lang_set ("zh_TW");
  g_assert_cmpstr (fk_id_kind_label (FK_ID_KIND_NATIONAL), ==, "國民身分證統一編號");
  g_assert_nonnull (strstr (fk_id_kind_label (FK_ID_KIND_RESIDENT_OLD), "外來人口統一證號"));
  g_assert_cmpstr (fk_id_kind_label (FK_ID_KIND_RESIDENT_OLD), !=,
                   fk_id_kind_label (FK_ID_KIND_RESIDENT_NEW));
  fk_lang_set ("en");
}

/* ---------------------------------------------------------------- certificate cards */

static void
test_cert_card (void)
{
  struct { const char *input; const char *expected; } valid[] = {
    { "AB12345678901234", "AB12345678901234" },
    { " tp 0300 0012 3456 78 ", "TP03000012345678" },
    { "ＡＢ１２３４５６７８９０１２３４", "AB12345678901234" },
  };
  struct { const char *input; int code; const char *words; } invalid[] = {
    { "", FK_VALIDATE_ERROR_EMPTY, "empty" },
    { "AB1234567890123", FK_VALIDATE_ERROR_LENGTH, "got 15" },
    { "AB123456789012345", FK_VALIDATE_ERROR_LENGTH, "got 17" },
    { "A123456789012345", FK_VALIDATE_ERROR_FORMAT, "character 2 is not a letter" },
    { "1B12345678901234", FK_VALIDATE_ERROR_FORMAT, "character 1 is not a letter" },
    { "AB1234567890123X", FK_VALIDATE_ERROR_FORMAT, "character 16 is not a digit" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      g_assert_true (fk_cert_card_check (valid[i].input, &normalized, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, valid[i].expected);
    }

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      g_assert_false (fk_cert_card_check (invalid[i].input, &normalized, &error));
      g_assert_error (error, FK_VALIDATE_ERROR, invalid[i].code);
      g_assert_nonnull (strstr (error->message, invalid[i].words));
      g_assert_null (normalized);
    }
}

/* ---------------------------------------------------------------- phones */

static void
test_phone_valid (void)
{
  struct { const char *input; const char *expected; } cases[] = {
    { "0912345678", "0912345678" },
    { "0912-345-678", "0912345678" },
    { "0912 345 678", "0912345678" },
    { "+886912345678", "0912345678" },
    { "+886 912 345 678", "0912345678" },
    { "886-912-345-678", "0912345678" },
    { "00886912345678", "0912345678" },
    { "０９１２３４５６７８", "0912345678" },
    { "02-2345-6789", "0223456789" },
    { "(02) 2345-6789", "0223456789" },
    { "+886-2-2345-6789", "0223456789" },
    { "+886 (0)2 2345 6789", "0223456789" },
    { "04-2345-6789", "0423456789" },
    { "04-723-4567", "047234567" },
    { "049-2345678", "0492345678" },
    { "03-4567890", "034567890" },
    { "037-123456", "037123456" },
    { "07-123-4567", "071234567" },
    { "0826-12345", "082612345" },
    { "0836-22345", "083622345" },
    { "089-123456", "089123456" },
    { "0800-000-123", "0800000123" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      if (!fk_phone_check (cases[i].input, &normalized, &error))
        g_error ("“%s” refused: %s", cases[i].input, error->message);
      g_assert_cmpstr (normalized, ==, cases[i].expected);
    }
}

static void
test_phone_invalid (void)
{
  struct { const char *input; int code; const char *words; } cases[] = {
    { "", FK_VALIDATE_ERROR_EMPTY, "empty" },
    { " - ", FK_VALIDATE_ERROR_EMPTY, "empty" },
    { "091234567", FK_VALIDATE_ERROR_LENGTH, "10 digits (09xx-xxx-xxx), got 9" },
    { "09123456789", FK_VALIDATE_ERROR_LENGTH, "got 11" },
    { "02-234-5678", FK_VALIDATE_ERROR_LENGTH, "area code 02 must be 10 digits" },
    { "049-234567", FK_VALIDATE_ERROR_LENGTH, "area code 049 must be 10 digits" },
    { "089-1234567", FK_VALIDATE_ERROR_LENGTH, "must be 9 digits including the area code (for example 03-345-6789" },
    { "03-45678901", FK_VALIDATE_ERROR_LENGTH, "got 10" },
    { "04-23456", FK_VALIDATE_ERROR_LENGTH, "area code 04 must be 9 or 10 digits" },
    { "0800-12345", FK_VALIDATE_ERROR_LENGTH, "area code 0800 must be 10 digits" },
    { "23456789", FK_VALIDATE_ERROR_FORMAT, "area code" },
    { "0123456789", FK_VALIDATE_ERROR_FORMAT, "area code" },
    { "+1 650 555 1234", FK_VALIDATE_ERROR_FORMAT, "+886" },
    { "02-2345-6789#12", FK_VALIDATE_ERROR_FORMAT, "extension" },
    { "02-2345-6789轉12", FK_VALIDATE_ERROR_FORMAT, "extension" },
    { "0912abc678", FK_VALIDATE_ERROR_FORMAT, "only digits" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      if (fk_phone_check (cases[i].input, &normalized, &error))
        g_error ("“%s” accepted as %s", cases[i].input, normalized);
      g_assert_error (error, FK_VALIDATE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].words) == NULL)
        g_error ("“%s”: message “%s” lacks “%s”", cases[i].input, error->message, cases[i].words);
      g_assert_null (normalized);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  fk_lang_set ("en");

  g_test_add_func ("/app/validate/national-id/known-valid", test_national_known_valid);
  g_test_add_func ("/app/validate/national-id/normalize", test_national_normalize);
  g_test_add_func ("/app/validate/national-id/empty", test_national_empty);
  g_test_add_func ("/app/validate/national-id/length", test_national_length);
  g_test_add_func ("/app/validate/national-id/letter", test_national_letter);
  g_test_add_func ("/app/validate/national-id/gender", test_national_gender);
  g_test_add_func ("/app/validate/national-id/format", test_national_format);
  g_test_add_func ("/app/validate/national-id/checksum", test_national_checksum);
  g_test_add_func ("/app/validate/national-id/random", test_national_random);
  g_test_add_func ("/app/validate/messages/hide-value", test_messages_hide_value);
  g_test_add_func ("/app/validate/messages/chinese", test_messages_chinese);
  g_test_add_func ("/app/validate/resident/old", test_resident_old);
  g_test_add_func ("/app/validate/resident/new", test_resident_new);
  g_test_add_func ("/app/validate/kind-names", test_kind_names);
  g_test_add_func ("/app/validate/cert-card", test_cert_card);
  g_test_add_func ("/app/validate/phone/valid", test_phone_valid);
  g_test_add_func ("/app/validate/phone/invalid", test_phone_invalid);

  return g_test_run ();
}
