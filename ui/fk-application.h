/* fk-application.h — the FieldKit desktop application (single instance). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FK_TYPE_APPLICATION (fk_application_get_type ())
G_DECLARE_FINAL_TYPE (FkApplication, fk_application, FK, APPLICATION, AdwApplication)

FkApplication *fk_application_new      (void);
/* The window's settings: the installed schema, else the one compiled in
 * the build tree. */
GSettings     *fk_application_settings (FkApplication *self);
const char    *fk_application_data_dir (FkApplication *self);

/* Shared by the application and the widget tests, which have no
 * FkApplication: the schema wherever it is found, and the style sheet. */
GSettings     *fk_ui_settings_new      (void);
/* Follows the large-text setting on every FieldKit window. */
void           fk_ui_apply_large_text  (GtkWindow *window,
                                        gboolean   large);

G_END_DECLS
