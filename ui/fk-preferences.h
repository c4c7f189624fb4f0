/* fk-preferences.h — the preferences window (AdwPreferencesWindow). */
#pragma once

#include "ui/fk-window.h"

G_BEGIN_DECLS

/* Opens Preferences over the window; returns it (owned by GTK). */
GtkWidget *fk_preferences_show (FkWindow *window);

G_END_DECLS
