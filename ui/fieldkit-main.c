/* fieldkit-main.c — the window's entry point. */
#include <locale.h>

#include "ui/fk-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(FkApplication) app = NULL;

  setlocale (LC_ALL, "");
  app = fk_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
