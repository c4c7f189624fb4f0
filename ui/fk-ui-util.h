/* fk-ui-util.h — small helpers every page of the window uses. */
#pragma once

#include <gtk/gtk.h>

#include "app/fk-validate.h"
#include "crypto/fk-crypto.h"

G_BEGIN_DECLS

/* Names a control for screen readers (GTK_ACCESSIBLE_PROPERTY_LABEL). */
void        fk_ui_name            (gpointer     widget,
                                   const char  *label);
/* Ties a control to the label that explains it (reason, hint). */
void        fk_ui_describe        (gpointer     widget,
                                   GtkWidget   *description);
/* An icon-only button with a tooltip and an accessible name. */
GtkWidget  *fk_ui_icon_button     (const char  *icon_name,
                                   const char  *label);
/* A text button with an accessible name equal to its text. */
GtkWidget  *fk_ui_button          (const char  *label,
                                   const char  *css_class);
/* A label that wraps, aligned to the start. */
GtkWidget  *fk_ui_label           (const char  *text,
                                   const char  *css_class);
/* A labelled entry: returns the entry; *box_out gets the column holding
 * the caption, the entry and an (initially empty) reason label. */
GtkWidget  *fk_ui_entry           (const char  *caption,
                                   GtkWidget  **box_out,
                                   GtkWidget  **reason_out);
/* Shows text (NULL hides it) in the reason label of an fk_ui_entry as what
 * is wrong with the entry: the entry is marked invalid while it is shown. */
void        fk_ui_entry_set_reason (GtkWidget  *entry,
                                    GtkWidget  *reason,
                                    const char *text);
/* The same label saying the entry is right ("✓ …"): not marked invalid. */
void        fk_ui_entry_set_confirmation (GtkWidget  *entry,
                                          GtkWidget  *reason,
                                          const char *text);
/* What a valid ID number was understood as, to show under its entry:
 * "✓ National ID A123456789". */
char       *fk_ui_id_note         (FkIdKind     kind,
                                   const char  *normalized);
/* A button whose text wraps instead of widening the page (360 px
 * phones); name is what a screen reader says. */
GtkWidget  *fk_ui_wrap_button     (const char  *text,
                                   const char  *name,
                                   const char  *css_class);
void        fk_ui_wrap_button_set_text (GtkWidget  *button,
                                        const char *text,
                                        const char *name);
/* Tells a screen reader the keys that do what widget does ("Alt+B");
 * returns widget. */
GtkWidget  *fk_ui_key_shortcuts   (GtkWidget   *widget,
                                   const char  *keys);
/* A question over parent: an AdwMessageDialog with extra (or NULL) under
 * the body, Cancel and one suggested response, response (the default;
 * closing the dialog cancels).  Not yet presented. */
GtkWidget  *fk_ui_ask             (GtkWindow   *parent,
                                   const char  *heading,
                                   const char  *body,
                                   GtkWidget   *extra,
                                   const char  *response,
                                   const char  *label);
/* A vertical box under a heading (none when title is NULL), appended to
 * parent. */
GtkWidget  *fk_ui_section         (GtkWidget   *parent,
                                   const char  *title);

/* 0 (very weak) … 4 (strong): length and variety, with a penalty for
 * repeated characters; a rough guide for the strength bar. */
int         fk_ui_passphrase_strength (const char *passphrase);
const char *fk_ui_strength_label  (int score);

/* "2026-11-26 14:03" in local time; "—" for 0. */
char       *fk_ui_format_time     (gint64 us);
/* "民國115年11月26日" in zh_TW, "2026-11-26" in English. */
char       *fk_ui_format_date     (const char *iso);

/* A passphrase kept in guarded memory while the session lasts. */
FkSecret   *fk_ui_secret_new      (const char *text);
const char *fk_ui_secret_text     (const FkSecret *secret);

/* Removes every child of a GtkBox / GtkListBox. */
void        fk_ui_box_clear       (GtkWidget *box);
/* Scrolls scrolled_window, when widget (inside it) is not wholly in view,
 * to show it with a little room above (40 px) and below (8 px). */
void        fk_ui_scroll_to       (GtkWidget *scrolled_window,
                                   GtkWidget *widget);
/* Scrolls scrolled_window back to its top. */
void        fk_ui_scroll_to_top   (GtkWidget *scrolled_window);

G_END_DECLS
