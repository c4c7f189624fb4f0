/* fk-passphrase.c — see fk-passphrase.h. */
#include "crypto/fk-passphrase.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"

void
fk_passphrase_free (char *passphrase)
{
  fk_wipe_free (passphrase);
}

char *
fk_passphrase_prompt (const char *prompt)
{
  struct termios old, quiet;
  gboolean restore = FALSE;
  char buf[1024];
  FILE *tty = fopen ("/dev/tty", "r+");
  char *out = NULL;

  if (tty == NULL)
    return NULL;
  fputs (prompt, tty);
  fflush (tty);
  if (tcgetattr (fileno (tty), &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      restore = tcsetattr (fileno (tty), TCSAFLUSH, &quiet) == 0;
    }
  if (fgets (buf, sizeof buf, tty) != NULL)
    {
      buf[strcspn (buf, "\r\n")] = '\0';
      out = g_strdup (buf);
    }
  sodium_memzero (buf, sizeof buf);
  if (restore)
    tcsetattr (fileno (tty), TCSAFLUSH, &old);
  fputs ("\n", tty);
  fclose (tty);
  return out;
}

char *
fk_passphrase_read_file (const char  *path,
                         GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len;
  char *out;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  out = g_strndup (contents, strcspn (contents, "\r\n"));
  sodium_memzero (contents, len);
  return out;
}

char *
fk_passphrase_get (const char  *env_name,
                   const char  *file_path,
                   const char  *file_opt,
                   const char  *prompt,
                   gboolean     confirm,
                   GQuark       error_domain,
                   int          invalid_code,
                   GError     **error)
{
  const char *env = g_getenv (env_name);
  g_auto(FkPassphrase) second = NULL;
  char *first;

  if (env != NULL)
    return g_strdup (env);
  if (file_path != NULL)
    return fk_passphrase_read_file (file_path, error);
  if (!isatty (STDIN_FILENO))
    {
      g_set_error (error, error_domain, invalid_code,
                   _("No passphrase given: set %s, use --%s FILE, or run the command in a terminal to be asked."),
                   env_name, file_opt);
      return NULL;
    }
  first = fk_passphrase_prompt (prompt);
  if (first == NULL || !confirm)
    return first;
  second = fk_passphrase_prompt (_("Type it again: "));
  if (g_strcmp0 (first, second) != 0)
    {
      fk_passphrase_free (first);
      g_set_error_literal (error, error_domain, invalid_code,
                           _("The two passphrases differ; nothing was changed."));
      return NULL;
    }
  return first;
}
