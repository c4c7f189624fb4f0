/* fk-i18n.c — gettext set-up and the language switch, see fk-i18n.h. */
#include "crypto/fk-i18n.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

/* meson passes both folders; a build outside meson (tools/fuzz.sh) gets
 * the system's. */
#ifndef FK_LOCALEDIR
#define FK_LOCALEDIR "/usr/share/locale"
#endif

/* glibc's documented way to tell gettext that LANGUAGE changed. */
extern int _nl_msg_cat_cntr;

static int fk_lang_state = -1; /* -1 unknown, 0 English, 1 zh_TW */

static gboolean
lang_string_is_zh (const char *value)
{
  return value != NULL && g_ascii_strncasecmp (value, "zh", 2) == 0;
}

/* Where fieldkit.mo is: FIELDKIT_LOCALEDIR, else the build tree (running
 * uninstalled, as the tests do), else the installed locale folder. */
static const char *
locale_dir (void)
{
  const char *env = g_getenv ("FIELDKIT_LOCALEDIR");
  g_autofree char *built = NULL;

  if (env != NULL && *env != '\0')
    return env;
#ifdef FK_BUILD_LOCALEDIR
  built = g_build_filename (FK_BUILD_LOCALEDIR, "zh_TW", "LC_MESSAGES", FK_GETTEXT_PACKAGE ".mo", NULL);
  if (g_file_test (built, G_FILE_TEST_IS_REGULAR))
    return FK_BUILD_LOCALEDIR;
#endif
  return FK_LOCALEDIR;
}

/* gettext ignores LANGUAGE in the plain C locale; C.UTF-8 behaves the same
 * for everything else and lets LANGUAGE pick the catalog. */
static void
prepare_locale (void)
{
  const char *messages = setlocale (LC_MESSAGES, NULL);

  if (messages == NULL || strcmp (messages, "C") == 0 || strcmp (messages, "POSIX") == 0)
    setlocale (LC_MESSAGES, "C.UTF-8");
}

static void
apply_language (void)
{
  const char *current = g_getenv ("LANGUAGE");

  /* The catalog is chosen by LANGUAGE; keep it in step with the switch so
   * GTK's own strings follow too.  An existing zh_TW-first LANGUAGE is kept. */
  if (fk_lang_state == 1 && !lang_string_is_zh (current))
    g_setenv ("LANGUAGE", "zh_TW", TRUE);
  else if (fk_lang_state == 0 && lang_string_is_zh (current))
    g_setenv ("LANGUAGE", "en", TRUE);
  ++_nl_msg_cat_cntr;
}

static gsize i18n_ready = 0;

void
fk_i18n_init (void)
{
  if (g_once_init_enter (&i18n_ready))
    {
      prepare_locale ();
      bindtextdomain (FK_GETTEXT_PACKAGE, locale_dir ());
      bind_textdomain_codeset (FK_GETTEXT_PACKAGE, "UTF-8");
      if (fk_lang_state < 0)
        fk_lang_set (NULL);
      apply_language ();
      g_once_init_leave (&i18n_ready, 1);
    }
}

void
fk_lang_set (const char *lang)
{
  const char *vars[] = { "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE" };

  if (lang != NULL)
    fk_lang_state = lang_string_is_zh (lang) ? 1 : 0;
  else
    {
      fk_lang_state = 0;
      for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
        {
          const char *value = g_getenv (vars[i]);

          if (value != NULL && *value != '\0')
            {
              fk_lang_state = lang_string_is_zh (value) ? 1 : 0;
              break;
            }
        }
    }
  if (i18n_ready)
    apply_language ();
}

gboolean
fk_lang_is_zh (void)
{
  if (fk_lang_state < 0)
    fk_lang_set (NULL);
  return fk_lang_state == 1;
}

const char *
fk_gettext (const char *msgid)
{
  fk_i18n_init ();
  if (!fk_lang_is_zh ())
    return msgid;
  return dgettext (FK_GETTEXT_PACKAGE, msgid);
}

const char *
fk_lang_pick (const char *en,
              const char *zh)
{
  return fk_lang_is_zh () && zh != NULL && *zh != '\0' ? zh : en;
}
