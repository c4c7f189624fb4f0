/* fk-i18n.h — FieldKit's messages through gettext, and the language switch.
 *
 * FieldKit speaks zh_TW first and English completely.  Source strings are
 * English and marked _("...") (N_("...") in static tables); their zh_TW
 * translations live in po/zh_TW.po, compiled to fieldkit.mo by meson and
 * looked up with dgettext.  The lowest layer owns the switch so that an
 * error raised in crypto/ or app/ reaches the clerk in the same language as
 * the rest of the screen, and so the window can change language at once
 * (Preferences) without a restart.
 */
#pragma once

#include <glib.h>
#include <inttypes.h>
#include <libintl.h>

G_BEGIN_DECLS

#define FK_GETTEXT_PACKAGE "fieldkit"

/* Binds the text domain and prepares the locale so that the zh_TW catalog
 * can be found even when the process runs in the C locale or a zh_TW locale
 * that is not installed.  Call once from main() after setlocale (LC_ALL, "");
 * it also runs by itself on the first translated string. */
void        fk_i18n_init   (void);

/* Picks the language: "zh_TW"/"zh" or "en"; NULL reads LC_ALL, LC_MESSAGES,
 * LANG and LANGUAGE in that order (zh* means Traditional Chinese). */
void        fk_lang_set    (const char *lang);
gboolean    fk_lang_is_zh  (void);

/* The translation of msgid in the current language (msgid itself in
 * English).  format_arg lets the compiler check printf conversions. */
const char *fk_gettext     (const char *msgid) G_GNUC_FORMAT (1);

/* For data that carries both languages itself (the service catalog the
 * office publishes), not for strings in the source. */
const char *fk_lang_pick   (const char *en,
                            const char *zh);

#define _(s)  fk_gettext (s)
#define N_(s) (s)

G_END_DECLS
