/* fk-args.c — arguments and output of fieldkit-cli and fieldkit-office.
 *
 * Layout: arguments (FkArgs), then output, then fk_cli_main.
 */
#include "app/fk-args.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-passphrase.h"

/* ---- arguments ----------------------------------------------------------------- */

gboolean
fk_args_parse (FkArgs             *args,
               int                 argc,
               char              **argv,
               const char *const  *flags,
               const char *const  *global,
               GError            **error)
{
  args->words = g_ptr_array_new ();
  args->options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  args->global = global;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];

      if (g_str_has_prefix (a, "--") && a[2] != '\0')
        {
          g_autofree char *name = g_strdup (a + 2);
          char *eq = strchr (name, '=');
          const char *value;
          GPtrArray *values;

          if (eq)
            {
              *eq = '\0';
              value = a + 2 + (eq - name) + 1;
            }
          else if (flags && g_strv_contains (flags, name))
            value = "1";
          else if (i + 1 < argc)
            value = argv[++i];
          else
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("the option --%s needs a value"), name);
              return FALSE;
            }
          values = g_hash_table_lookup (args->options, name);
          if (values == NULL)
            {
              values = g_ptr_array_new ();
              g_hash_table_insert (args->options, g_strdup (name), values);
            }
          g_ptr_array_add (values, (gpointer) value);
        }
      else
        g_ptr_array_add (args->words, (gpointer) a);
    }
  return TRUE;
}

void
fk_args_clear (FkArgs *args)
{
  g_clear_pointer (&args->words, g_ptr_array_unref);
  g_clear_pointer (&args->options, g_hash_table_unref);
}

const char *
fk_args_opt (const FkArgs *args,
             const char   *name)
{
  GPtrArray *values = g_hash_table_lookup (args->options, name);

  return values && values->len ? values->pdata[values->len - 1] : NULL;
}

GPtrArray *
fk_args_opts (const FkArgs *args,
              const char   *name)
{
  return g_hash_table_lookup (args->options, name);
}

const char *
fk_args_word (const FkArgs *args,
              guint         i)
{
  return i < args->words->len ? args->words->pdata[i] : NULL;
}

gboolean
fk_args_check (const FkArgs       *args,
               const char *const  *allowed,
               GError            **error)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, args->options);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (args->global && g_strv_contains (args->global, key))
        continue;
      if (allowed && g_strv_contains (allowed, key))
        continue;
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                   _("unknown option --%s"), (const char *) key);
      return FALSE;
    }
  return TRUE;
}

/* ---- output ------------------------------------------------------------------- */

/* Set once by fk_cli_main, before anything is printed. */
static const FkCliProgram *program;
static gboolean json_mode;

gboolean
fk_cli_json (void)
{
  return json_mode;
}

void
fk_cli_say (const char *format,
            ...)
{
  va_list ap;

  if (json_mode)
    return;
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
}

char *
fk_cli_pad (const char *text,
            guint       width)
{
  GString *out = g_string_new (text);
  guint used = 0;

  for (const char *c = text; *c; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);

      if (g_unichar_iszerowidth (u))
        continue;
      used += g_unichar_iswide (u) ? 2 : 1;
    }
  while (used++ < width)
    g_string_append_c (out, ' ');
  return g_string_free (out, FALSE);
}

void
fk_cli_say_row (guint       width,
                const char *label,
                const char *format,
                ...)
{
  g_autofree char *padded = NULL;
  va_list ap;

  if (json_mode)
    return;
  padded = fk_cli_pad (label ? label : "", width);
  printf ("  %s ", padded);
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
}

void
fk_cli_emit (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  if (!json_mode)
    {
      json_node_unref (node);
      return;
    }
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  puts (text);
  json_node_unref (node);
}

JsonNode *
fk_cli_ok_document (JsonBuilder *b)
{
  fk_cli_add_bool (b, "ok", TRUE);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
fk_cli_add_str (JsonBuilder *b,
                const char  *name,
                const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
fk_cli_add_int (JsonBuilder *b,
                const char  *name,
                gint64       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
fk_cli_add_bool (JsonBuilder *b,
                 const char  *name,
                 gboolean     value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

int
fk_cli_fail (const GError *error)
{
  /* Raw UTF-8, like stdout: g_printerr would convert to the locale's
   * charset and turn every Chinese character into '?' whenever the zh_TW
   * locale asked for in LANG is not installed. */
  fprintf (stderr, "%s: %s\n", _("error"), error->message);
  if (json_mode)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_bool (b, "ok", FALSE);
      json_builder_set_member_name (b, "error");
      json_builder_begin_object (b);
      fk_cli_add_str (b, "code", program->error_code (error));
      fk_cli_add_str (b, "message", error->message);
      json_builder_end_object (b);
      json_builder_end_object (b);
      fk_cli_emit (json_builder_get_root (b));
    }
  if ((error->domain == program->error_domain () && error->code == 0) ||
      (error->domain == FK_CRYPTO_ERROR && error->code == FK_CRYPTO_ERROR_FAILED))
    return FK_EXIT_INTERNAL;
  return FK_EXIT_REFUSED;
}

int
fk_cli_usage (const char *format,
              ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "%s: %s\n%s\n", _("usage"), msg, _(program->usage_hint));
  return FK_EXIT_USAGE;
}

char *
fk_cli_passphrase (const FkArgs  *args,
                   const char    *env_name,
                   const char    *file_opt,
                   const char    *prompt,
                   gboolean       confirm,
                   GError       **error)
{
  return fk_passphrase_get (env_name, fk_args_opt (args, file_opt), file_opt, prompt, confirm,
                            program->error_domain (), program->invalid_code, error);
}

gboolean
fk_cli_check_options (const FkArgs      *args,
                      const char *const *allowed)
{
  g_autoptr(GError) error = NULL;

  if (fk_args_check (args, allowed, &error))
    return TRUE;
  fk_cli_usage ("%s", error->message);
  return FALSE;
}

/* ---- fk_cli_main ---------------------------------------------------------------- */

static int
run_command (const FkArgs *args,
             const char   *name)
{
  for (const FkCommand *c = program->commands; c->name; c++)
    if (g_str_equal (c->name, name))
      return c->run (args);
  return -1;
}

int
fk_cli_main (const FkCliProgram *prog,
             int                 argc,
             char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(FkArgs) args = { 0 };
  const char *command;
  int rc;

  program = prog;
  setlocale (LC_ALL, "");
  if (!fk_crypto_init (&error))
    return fk_cli_fail (error);
  if (!fk_args_parse (&args, argc, argv, program->flags, program->global, &error))
    return fk_cli_usage ("%s", error->message);
  if (fk_args_opt (&args, "lang"))
    fk_lang_set (fk_args_opt (&args, "lang"));
  json_mode = fk_args_opt (&args, "json") != NULL;

  if (program->version && fk_args_opt (&args, "version"))
    {
      printf ("%s %s\n", program->name, FK_VERSION);
      return FK_EXIT_OK;
    }
  /* No command is a usage error that shows the help; --help is not. */
  command = fk_args_word (&args, 0);
  if (command == NULL && !fk_args_opt (&args, "help"))
    {
      run_command (&args, "help");
      rc = FK_EXIT_USAGE;
    }
  else if (command == NULL || fk_args_opt (&args, "help"))
    rc = run_command (&args, "help");
  else if ((rc = run_command (&args, command)) < 0)
    rc = fk_cli_usage (_("unknown command \"%s\""), command);
  fflush (stdout);
  return rc;
}
