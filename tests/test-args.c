/* test-args.c — the arguments fieldkit-cli and fieldkit-office share
 * (app/fk-args.c): words, options, flags, and the refusals of DESIGN.md §9. */
#include "app/fk-args.h"
#include "crypto/fk-i18n.h"

#include <string.h>

/* ---------------------------------------------------------------- helpers */

static const char *const flags[] = { "json", "all", "help", NULL };
static const char *const global[] = { "data-dir", "json", "lang", "help", NULL };

/* Parses a NULL-terminated argument list (the program name first); argv
 * must outlive args, since the values point into it. */
static gboolean
parse (FkArgs      *args,
       char       **argv,
       GError     **error)
{
  return fk_args_parse (args, (int) g_strv_length (argv), argv, flags, global, error);
}

static void
assert_words (const FkArgs *args,
              const char   *expected)
{
  g_autoptr(GString) got = g_string_new (NULL);

  for (guint i = 0; i < args->words->len; i++)
    g_string_append_printf (got, "%s%s", i ? " " : "", (const char *) args->words->pdata[i]);
  g_assert_cmpstr (got->str, ==, expected);
}

/* ---------------------------------------------------------------- tests */

static void
test_words_and_options (void)
{
  char *argv[] = { "prog", "case", "--outing", "A1", "show", "7", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };

  g_assert_true (parse (&args, argv, &error));
  g_assert_no_error (error);
  assert_words (&args, "case show 7");
  g_assert_cmpstr (fk_args_word (&args, 0), ==, "case");
  g_assert_cmpstr (fk_args_word (&args, 2), ==, "7");
  g_assert_null (fk_args_word (&args, 3));
  g_assert_cmpstr (fk_args_opt (&args, "outing"), ==, "A1");
  g_assert_null (fk_args_opt (&args, "status"));
  g_assert_null (fk_args_opts (&args, "status"));
  /* Values point into argv: nothing is copied. */
  g_assert_true (fk_args_opt (&args, "outing") == argv[3]);
}

static void
test_value_forms (void)
{
  char *argv[] = { "prog", "--name=Ada Lovelace", "--title", "Drive", "--field=seat=12", "--place=",
                   "--data-dir", "--json", "init", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };

  g_assert_true (parse (&args, argv, &error));
  g_assert_cmpstr (fk_args_opt (&args, "name"), ==, "Ada Lovelace");
  g_assert_cmpstr (fk_args_opt (&args, "title"), ==, "Drive");
  /* Only the first '=' ends the name. */
  g_assert_cmpstr (fk_args_opt (&args, "field"), ==, "seat=12");
  g_assert_cmpstr (fk_args_opt (&args, "place"), ==, "");
  /* An option that takes a value takes the next argument, whatever it is. */
  g_assert_cmpstr (fk_args_opt (&args, "data-dir"), ==, "--json");
  g_assert_null (fk_args_opt (&args, "json"));
  assert_words (&args, "init");
}

static void
test_repeated (void)
{
  char *argv[] = { "prog", "case", "new", "--field", "school_class=701", "--field=seat_number=5",
                   "--outing", "A1", "--outing", "A2", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };
  GPtrArray *fields;

  g_assert_true (parse (&args, argv, &error));
  fields = fk_args_opts (&args, "field");
  g_assert_nonnull (fields);
  g_assert_cmpuint (fields->len, ==, 2);
  g_assert_cmpstr (fields->pdata[0], ==, "school_class=701");
  g_assert_cmpstr (fields->pdata[1], ==, "seat_number=5");
  /* A single-valued option given twice: the last one counts. */
  g_assert_cmpstr (fk_args_opt (&args, "outing"), ==, "A2");
  g_assert_cmpuint (fk_args_opts (&args, "outing")->len, ==, 2);
  assert_words (&args, "case new");
}

static void
test_flags (void)
{
  char *argv[] = { "prog", "--json", "case", "tick", "7", "--all", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };

  g_assert_true (parse (&args, argv, &error));
  /* A flag takes no value: the word after it stays a word. */
  g_assert_nonnull (fk_args_opt (&args, "json"));
  g_assert_nonnull (fk_args_opt (&args, "all"));
  assert_words (&args, "case tick 7");
}

/* A bare "--" and single-dash arguments are words, as they always were in
 * both programs: a command sees them (check-id checks "--" as a value);
 * "--" does not end the options. */
static void
test_double_dash (void)
{
  char *argv[] = { "prog", "check-id", "--", "-x", "--json", "A123456789", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };

  g_assert_true (parse (&args, argv, &error));
  assert_words (&args, "check-id -- -x A123456789");
  g_assert_nonnull (fk_args_opt (&args, "json"));
}

static void
test_unknown_option (void)
{
  static const char *const allowed[] = { "outing", "status", NULL };
  char *argv[] = { "prog", "case", "list", "--outing", "A1", "--json", "--data-dir", "/tmp/x", "--stauts", "draft", NULL };
  char *fine[] = { "prog", "case", "list", "--outing", "A1", "--json", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };
  g_auto(FkArgs) args_fine = { 0 };

  /* The typo parses (its value too) but the command refuses it by name. */
  g_assert_true (parse (&args, argv, &error));
  g_assert_false (fk_args_check (&args, allowed, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION);
  g_assert_cmpstr (error->message, ==, "unknown option --stauts");
  assert_words (&args, "case list");

  /* Global options need no mention; a command that takes none refuses the
   * others. */
  g_assert_true (parse (&args_fine, fine, NULL));
  g_assert_true (fk_args_check (&args_fine, allowed, NULL));
  g_clear_error (&error);
  g_assert_false (fk_args_check (&args_fine, NULL, &error));
  g_assert_cmpstr (error->message, ==, "unknown option --outing");
}

static void
test_missing_value (void)
{
  char *argv[] = { "prog", "init", "--operator", "ada", "--name", NULL };
  char *flag_last[] = { "prog", "case", "list", "--json", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };
  g_auto(FkArgs) args_flag = { 0 };

  g_assert_false (parse (&args, argv, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_assert_cmpstr (error->message, ==, "the option --name needs a value");

  /* A flag at the end needs nothing. */
  g_assert_true (parse (&args_flag, flag_last, NULL));
  g_assert_nonnull (fk_args_opt (&args_flag, "json"));
}

static void
test_messages_chinese (void)
{
  char *argv[] = { "prog", "sync", "--bogus", "1", NULL };
  char *cut[] = { "prog", "sync", "--data-dir", NULL };
  g_autoptr(GError) unknown = NULL;
  g_autoptr(GError) missing = NULL;
  g_auto(FkArgs) args = { 0 };
  g_auto(FkArgs) args_cut = { 0 };

  fk_lang_set ("zh_TW");
  g_assert_true (parse (&args, argv, NULL));
  g_assert_false (fk_args_check (&args, NULL, &unknown));
  g_assert_false (parse (&args_cut, cut, &missing));
  fk_lang_set ("en");

  g_assert_cmpstr (unknown->message, ==, "不明的選項 --bogus");
  g_assert_cmpstr (missing->message, ==, "選項 --data-dir 需要一個值");
}

/* Columns line up in zh_TW: a wide character takes two columns. */
static void
test_pad (void)
{
  g_autofree char *ascii = fk_cli_pad ("pending", 9);
  g_autofree char *wide = fk_cli_pad ("已退回", 9);
  g_autofree char *mixed = fk_cli_pad ("O1 外勤", 9);
  g_autofree char *full = fk_cli_pad ("returned!!", 9);
  g_autofree char *empty = fk_cli_pad ("", 3);

  g_assert_cmpstr (ascii, ==, "pending  ");
  g_assert_cmpstr (wide, ==, "已退回   ");
  g_assert_cmpstr (mixed, ==, "O1 外勤  ");
  g_assert_cmpstr (full, ==, "returned!!");
  g_assert_cmpstr (empty, ==, "   ");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  fk_lang_set ("en");

  g_test_add_func ("/app/args/words-and-options", test_words_and_options);
  g_test_add_func ("/app/args/value-forms", test_value_forms);
  g_test_add_func ("/app/args/repeated", test_repeated);
  g_test_add_func ("/app/args/flags", test_flags);
  g_test_add_func ("/app/args/double-dash", test_double_dash);
  g_test_add_func ("/app/args/unknown-option", test_unknown_option);
  g_test_add_func ("/app/args/missing-value", test_missing_value);
  g_test_add_func ("/app/args/messages-chinese", test_messages_chinese);
  g_test_add_func ("/app/args/pad", test_pad);

  return g_test_run ();
}
