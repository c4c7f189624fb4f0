/* fk-i18n.h — the one language switch every layer uses for its messages.
 *
 * FieldKit speaks zh_TW first and English completely.  The lowest layer owns
 * the switch so that an error raised in crypto/ or app/ reaches the clerk in
 * the same language as the rest of the screen.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Picks the language: "zh_TW"/"zh" or "en"; NULL reads LC_ALL, LC_MESSAGES,
 * LANG and LANGUAGE in that order (zh* means Traditional Chinese). */
void     fk_lang_set   (const char *lang);
gboolean fk_lang_is_zh (void);

/* FK_T ("Saved", "已儲存") returns the string for the current language.
 * Both strings are format strings with the same conversions. */
#define FK_T(en, zh) (fk_lang_is_zh () ? (zh) : (en))

G_END_DECLS
