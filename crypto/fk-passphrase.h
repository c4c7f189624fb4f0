/* fk-passphrase.h — where a command-line program gets a passphrase from:
 * an environment variable, a file, or a prompt on the terminal with echo
 * off; never argv (it shows in `ps` and the shell history).  Shared by
 * fieldkit-cli and fieldkit-office.  Every returned string is freed with
 * fk_passphrase_free, which wipes it first.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Asks on /dev/tty with echo off; NULL when there is no terminal or
 * nothing was typed. */
char    *fk_passphrase_prompt (const char *prompt);

/* The first line of path (without its line end); the file's copy in
 * memory is wiped. */
char    *fk_passphrase_read_file (const char  *path,
                                  GError     **error);

/* From $env_name if set, else the file file_path (the --file_opt option)
 * if given, else a prompt (twice when confirm, and they must agree).  With
 * neither and no terminal on stdin, or two different answers, fails with
 * error_domain/invalid_code and a message that says what to do. */
char    *fk_passphrase_get (const char  *env_name,
                            const char  *file_path,
                            const char  *file_opt,
                            const char  *prompt,
                            gboolean     confirm,
                            GQuark       error_domain,
                            int          invalid_code,
                            GError     **error);

void     fk_passphrase_free (char *passphrase);

typedef char *FkPassphrase;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (FkPassphrase, fk_passphrase_free, NULL)

G_END_DECLS
