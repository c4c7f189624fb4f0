/* fk-i18n.c — language switch, see fk-i18n.h. */
#include "crypto/fk-i18n.h"

#include <string.h>

static int fk_lang_state = -1; /* -1 unknown, 0 English, 1 zh_TW */

static gboolean
lang_string_is_zh (const char *value)
{
  return value != NULL && g_ascii_strncasecmp (value, "zh", 2) == 0;
}

void
fk_lang_set (const char *lang)
{
  const char *vars[] = { "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE" };

  if (lang != NULL)
    {
      fk_lang_state = lang_string_is_zh (lang) ? 1 : 0;
      return;
    }

  fk_lang_state = 0;
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      const char *value = g_getenv (vars[i]);

      if (value != NULL && *value != '\0')
        {
          fk_lang_state = lang_string_is_zh (value) ? 1 : 0;
          return;
        }
    }
}

gboolean
fk_lang_is_zh (void)
{
  if (fk_lang_state < 0)
    fk_lang_set (NULL);
  return fk_lang_state == 1;
}
