/* fk-cli-output.h — how fieldkit-cli speaks: human text by locale, or one
 * JSON document with --json; errors mapped to the exit codes of DESIGN.md §9. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

enum {
  FK_EXIT_OK = 0,
  FK_EXIT_REFUSED = 1,
  FK_EXIT_USAGE = 2,
  FK_EXIT_INTERNAL = 3,
};

void        fk_cli_set_json      (gboolean json);
gboolean    fk_cli_json          (void);

/* Prints a line of human output (suppressed in JSON mode). */
void        fk_cli_say           (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Prints the JSON document (JSON mode only); takes the node. */
void        fk_cli_emit          (JsonNode *node);

/* Reports an error (stderr always; plus a JSON document on stdout in JSON
 * mode) and returns the exit code it maps to. */
int         fk_cli_fail          (const GError *error);
int         fk_cli_usage         (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Stable machine-readable name for an error, e.g. "wrong_passphrase". */
const char *fk_cli_error_code    (const GError *error);

G_END_DECLS
