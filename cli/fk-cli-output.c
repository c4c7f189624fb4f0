/* fk-cli-output.c — output and exit codes of fieldkit-cli. */
#include "cli/fk-cli-output.h"

#include <stdio.h>

#include "app/fk-roster.h"
#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"

static gboolean json_mode;

void
fk_cli_set_json (gboolean json)
{
  json_mode = json;
}

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

const char *
fk_cli_error_code (const GError *error)
{
  if (error->domain == FK_STORE_ERROR)
    {
      static const char *const names[] = {
        "failed", "busy", "disk_full", "read_only", "newer_format", "not_initialized", "exists",
        "not_found", "locked", "wrong_passphrase", "wait", "damaged", "refused", "invalid", "corrupt",
      };

      if ((guint) error->code < G_N_ELEMENTS (names))
        return names[error->code];
    }
  if (error->domain == FK_VALIDATE_ERROR)
    return "invalid";
  if (error->domain == FK_ROSTER_ERROR)
    {
      static const char *const names[] = {
        "too_large", "not_text", "encoding", "format", "columns", "empty", "not_school_drive", "refused",
      };

      if ((guint) error->code < G_N_ELEMENTS (names))
        return names[error->code];
    }
  if (error->domain == FK_CRYPTO_ERROR)
    {
      switch (error->code)
        {
        case FK_CRYPTO_ERROR_WRONG_PASSPHRASE: return "wrong_passphrase";
        case FK_CRYPTO_ERROR_DAMAGED: return "damaged";
        case FK_CRYPTO_ERROR_INVALID: return "invalid";
        default: return "failed";
        }
    }
  if (error->domain == G_FILE_ERROR || error->domain == G_IO_ERROR)
    return "file";
  return "failed";
}

static int
exit_code_for (const GError *error)
{
  if ((error->domain == FK_STORE_ERROR && error->code == FK_STORE_ERROR_FAILED) ||
      (error->domain == FK_CRYPTO_ERROR && error->code == FK_CRYPTO_ERROR_FAILED))
    return FK_EXIT_INTERNAL;
  return FK_EXIT_REFUSED;
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
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "error");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, fk_cli_error_code (error));
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, error->message);
      json_builder_end_object (b);
      json_builder_end_object (b);
      fk_cli_emit (json_builder_get_root (b));
    }
  return exit_code_for (error);
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
  fprintf (stderr, "%s: %s\n%s\n", _("usage"), msg,
              _("Run \"fieldkit-cli help\" for the list of commands."));
  return FK_EXIT_USAGE;
}
