/* fk-args.h — the command line that fieldkit-cli and fieldkit-office share
 * (DESIGN.md §9): arguments in, text or one JSON document out, exit codes.
 *
 * FkArgs (fk_args_*) reads argv into positional words and options.
 * "--name=value" and "--name value" both give a value; a flag (a name in
 * the program's list of flags) takes none.  An option may be given more
 * than once: fk_args_opts returns every value, fk_args_opt the last.  A
 * bare "--" and anything not starting with "--" are words.  Values and
 * words point into argv; nothing is copied.  A command names the options
 * it takes (fk_args_check), so that a typo is refused instead of ignored.
 *
 * fk_cli_* is the program around the commands: fk_cli_main parses,
 * applies --lang and --json, runs the command named by the first word and
 * returns its exit code (0 ok, 1 refused, 2 usage, 3 internal).  In JSON
 * mode fk_cli_say is silent and a command prints one document with
 * fk_cli_emit; fk_cli_fail reports a GError on stderr (and as a JSON
 * document) and maps it to an exit code.  Error output is raw UTF-8 like
 * stdout, whatever the locale's charset, so that Chinese messages never
 * turn into '?' when the zh_TW locale is not installed.  Secrets come
 * through fk_cli_passphrase, never from argv.
 *
 * The output functions keep the fk_cli_ names fieldkit-cli gave them
 * before the two programs shared them.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* ---- arguments ---- */

typedef struct
{
  GPtrArray         *words;     /* positional words, command first */
  GHashTable        *options;   /* name → GPtrArray of values, in argv order */
  const char *const *global;    /* options every command takes */
} FkArgs;

/* Fails with G_OPTION_ERROR_BAD_VALUE when an option that is not a flag
 * ends argv without its value. */
gboolean     fk_args_parse (FkArgs             *args,
                            int                 argc,
                            char              **argv,
                            const char *const  *flags,
                            const char *const  *global,
                            GError            **error);
void         fk_args_clear (FkArgs             *args);

const char  *fk_args_opt   (const FkArgs       *args,
                            const char         *name);
GPtrArray   *fk_args_opts  (const FkArgs       *args,
                            const char         *name);
const char  *fk_args_word  (const FkArgs       *args,
                            guint               i);

/* Fails with G_OPTION_ERROR_UNKNOWN_OPTION, naming the option, when args
 * holds an option that is neither global nor in allowed (may be NULL). */
gboolean     fk_args_check (const FkArgs       *args,
                            const char *const  *allowed,
                            GError            **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FkArgs, fk_args_clear)

/* ---- the program ---- */

enum {
  FK_EXIT_OK = 0,
  FK_EXIT_REFUSED = 1,
  FK_EXIT_USAGE = 2,
  FK_EXIT_INTERNAL = 3,
};

typedef int (*FkCommandFunc) (const FkArgs *args);

typedef struct
{
  const char    *name;
  FkCommandFunc  run;
} FkCommand;

typedef struct
{
  const char         *name;         /* printed by --version */
  const char         *usage_hint;   /* N_(): the line after every usage error */
  const char *const  *flags;        /* options that take no value */
  const char *const  *global;       /* options every command takes */
  const FkCommand    *commands;     /* ends with { NULL }; "help" also runs for --help or no command */
  gboolean            version;      /* --version prints the name and the version */
  /* The program's own error domain: its code 0 (…_ERROR_FAILED), like
   * FK_CRYPTO_ERROR_FAILED, is an internal failure (exit code 3); every
   * other error is a refusal (1). */
  GQuark            (*error_domain) (void);
  /* The code in error_domain for a passphrase that could not be read. */
  int                 invalid_code;
  /* A stable name for an error in JSON output, e.g. "wrong_passphrase". */
  const char       *(*error_code)   (const GError *error);
} FkCliProgram;

int          fk_cli_main          (const FkCliProgram *program,
                                   int                 argc,
                                   char              **argv);

gboolean     fk_cli_json          (void);

/* Prints a line of human output (suppressed in JSON mode). */
void         fk_cli_say           (const char *format,
                                   ...) G_GNUC_PRINTF (1, 2);

/* TEXT padded with spaces to WIDTH terminal columns, counting a wide (CJK)
 * character as two, so that columns line up in zh_TW too; TEXT as it is
 * when it is already as wide.  Free with g_free. */
char        *fk_cli_pad           (const char *text,
                                   guint       width);

/* Prints "  LABEL VALUE" with LABEL padded to WIDTH columns (fk_cli_pad),
 * VALUE from FORMAT (suppressed in JSON mode). */
void         fk_cli_say_row       (guint       width,
                                   const char *label,
                                   const char *format,
                                   ...) G_GNUC_PRINTF (3, 4);

/* Prints the JSON document (JSON mode only); takes the node. */
void         fk_cli_emit          (JsonNode   *node);

/* Ends the builder's open object with "ok": true; the document for
 * fk_cli_emit. */
JsonNode    *fk_cli_ok_document   (JsonBuilder *b);

/* A member whose value may be NULL (written as null). */
void         fk_cli_add_str       (JsonBuilder *b,
                                   const char  *name,
                                   const char  *value);
void         fk_cli_add_int       (JsonBuilder *b,
                                   const char  *name,
                                   gint64       value);
void         fk_cli_add_bool      (JsonBuilder *b,
                                   const char  *name,
                                   gboolean     value);

/* Reports an error (stderr always; plus a JSON document on stdout in JSON
 * mode) and returns the exit code it maps to. */
int          fk_cli_fail          (const GError *error);

/* Prints "usage: MESSAGE" and the program's hint; returns FK_EXIT_USAGE. */
int          fk_cli_usage         (const char *format,
                                   ...) G_GNUC_PRINTF (1, 2);

/* A secret from $env_name, else the file named by the option file_opt,
 * else a no-echo prompt (twice when confirm); never from argv.  Free it
 * with fk_passphrase_free (FkPassphrase). */
char        *fk_cli_passphrase    (const FkArgs  *args,
                                   const char    *env_name,
                                   const char    *file_opt,
                                   const char    *prompt,
                                   gboolean       confirm,
                                   GError       **error);

/* fk_args_check, with the usage error printed when it fails. */
gboolean     fk_cli_check_options (const FkArgs      *args,
                                   const char *const *allowed);

G_END_DECLS
