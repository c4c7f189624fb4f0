/* fk-pages.h — the pages of the window.  Each is a GtkBox subclass built
 * in code (every string goes through _() — gettext — at run time).  Pages that show
 * personal data are created when shown and destroyed when the window locks. */
#pragma once

#include <gtk/gtk.h>

#include "ui/fk-window.h"

G_BEGIN_DECLS

#define FK_TYPE_SETUP_PAGE (fk_setup_page_get_type ())
G_DECLARE_FINAL_TYPE (FkSetupPage, fk_setup_page, FK, SETUP_PAGE, GtkBox)
GtkWidget *fk_setup_page_new       (FkWindow *window);

#define FK_TYPE_SIGNIN_PAGE (fk_signin_page_get_type ())
G_DECLARE_FINAL_TYPE (FkSigninPage, fk_signin_page, FK, SIGNIN_PAGE, GtkBox)
GtkWidget *fk_signin_page_new      (FkWindow *window);
/* Reloads the operators and clears the passphrase. */
void       fk_signin_page_reset    (FkSigninPage *self,
                                    const char   *message);

#define FK_TYPE_HOME_PAGE (fk_home_page_get_type ())
G_DECLARE_FINAL_TYPE (FkHomePage, fk_home_page, FK, HOME_PAGE, GtkBox)
GtkWidget *fk_home_page_new        (FkWindow *window);
void       fk_home_page_refresh    (FkHomePage *self);
void       fk_home_page_set_online (FkHomePage *self,
                                    gboolean    online);

#define FK_TYPE_OUTING_PAGE (fk_outing_page_get_type ())
G_DECLARE_FINAL_TYPE (FkOutingPage, fk_outing_page, FK, OUTING_PAGE, GtkBox)
GtkWidget  *fk_outing_page_new     (FkWindow   *window,
                                    const char *outing_id);
void        fk_outing_page_refresh (FkOutingPage *self);
const char *fk_outing_page_title   (FkOutingPage *self);
/* The model behind the list (FkCaseItem), for tests. */
GListModel *fk_outing_page_model   (FkOutingPage *self);
void        fk_outing_page_set_search (FkOutingPage *self,
                                       const char   *text);

#define FK_TYPE_CASE_EDITOR (fk_case_editor_get_type ())
G_DECLARE_FINAL_TYPE (FkCaseEditor, fk_case_editor, FK, CASE_EDITOR, GtkBox)
GtkWidget  *fk_case_editor_new     (FkWindow   *window,
                                    gint64      case_id);
/* A case not in the store yet: it is created as soon as the ID number and
 * the name are valid.  pending (may be NULL) holds values typed before a
 * lock. */
GtkWidget  *fk_case_editor_new_draft (FkWindow   *window,
                                      const char *outing_id,
                                      const char *service,
                                      GHashTable *pending);
/* Saves what is typed now (lock, close, back). */
void        fk_case_editor_flush   (FkCaseEditor *self);
gint64      fk_case_editor_case_id (FkCaseEditor *self);
const char *fk_case_editor_outing_id (FkCaseEditor *self);
/* Values typed but not storable yet (before the case exists), with
 * "_service" and "_outing"; NULL when there are none. */
GHashTable *fk_case_editor_take_unsaved (FkCaseEditor *self);
const char *fk_case_editor_title   (FkCaseEditor *self);

#define FK_TYPE_RECEIPT_PAGE (fk_receipt_page_get_type ())
G_DECLARE_FINAL_TYPE (FkReceiptPage, fk_receipt_page, FK, RECEIPT_PAGE, GtkBox)
GtkWidget  *fk_receipt_page_new    (FkWindow *window,
                                    gint64    case_id);
const char *fk_receipt_page_outing_id (FkReceiptPage *self);

#define FK_TYPE_SYNC_PAGE (fk_sync_page_get_type ())
G_DECLARE_FINAL_TYPE (FkSyncPage, fk_sync_page, FK, SYNC_PAGE, GtkBox)
GtkWidget  *fk_sync_page_new       (FkWindow *window);
void        fk_sync_page_refresh   (FkSyncPage *self);

/* ---- school drives (fk-drive-page.c, fk-roster-dialog.c, fk-class-summary-view.c) ---- */

/* The student flow of a school drive, shown inside the outing page (host)
 * in place of its case list; closing it gives the list back.  The second
 * checker's passphrase lives as long as the page. */
#define FK_TYPE_DRIVE_PAGE (fk_drive_page_get_type ())
G_DECLARE_FINAL_TYPE (FkDrivePage, fk_drive_page, FK, DRIVE_PAGE, GtkBox)
GtkWidget  *fk_drive_page_new        (FkWindow    *window,
                                      const char  *outing_id);
const char *fk_drive_page_outing_id  (FkDrivePage *self);
void        fk_drive_page_open       (FkWindow    *window,
                                      GtkWidget   *host,
                                      const char  *outing_id);
void        fk_drive_page_close      (FkDrivePage *self);
/* Students added to the outing since (a roster imported while the drive is
 * open) join the drive; what the page already knows stays. */
void        fk_drive_page_refresh    (FkDrivePage *self);
/* The drive page shown inside host (an outing page), or NULL. */
FkDrivePage *fk_drive_page_find      (GtkWidget   *host);
/* "Import roster…" and "Start the drive", for a school_drive outing page. */
GtkWidget  *fk_drive_entry_buttons   (FkWindow    *window,
                                      GtkWidget   *host,
                                      const char  *outing_id);

/* Picks a roster file, previews every row with its problems, imports the
 * good ones.  Closes itself when host goes away or the store locks. */
#define FK_TYPE_ROSTER_DIALOG (fk_roster_dialog_get_type ())
G_DECLARE_FINAL_TYPE (FkRosterDialog, fk_roster_dialog, FK, ROSTER_DIALOG, AdwWindow)
void        fk_roster_dialog_run     (FkWindow    *window,
                                      GtkWidget   *host,
                                      const char  *outing_id);

/* Every student of a drive with their state; CSV and PDF export.  Emits
 * "student-activated" (gint64 case id) when a row is activated. */
#define FK_TYPE_CLASS_SUMMARY_VIEW (fk_class_summary_view_get_type ())
G_DECLARE_FINAL_TYPE (FkClassSummaryView, fk_class_summary_view, FK, CLASS_SUMMARY_VIEW, GtkBox)
GtkWidget  *fk_class_summary_view_new     (FkWindow           *window,
                                           const char         *outing_id);
void        fk_class_summary_view_refresh (FkClassSummaryView *self);

/* ---- card hand-over (fk-handover-page.c) ---- */

/* The hand-over of the cards on an office's list (a card_handover outing),
 * one screen per student, shown inside the outing page (host) in place of
 * its case list like the drive page; closing it gives the list back. */
#define FK_TYPE_HANDOVER_PAGE (fk_handover_page_get_type ())
G_DECLARE_FINAL_TYPE (FkHandoverPage, fk_handover_page, FK, HANDOVER_PAGE, GtkBox)
GtkWidget      *fk_handover_page_new     (FkWindow       *window,
                                          const char     *outing_id);
void            fk_handover_page_open    (FkWindow       *window,
                                          GtkWidget      *host,
                                          const char     *outing_id);
void            fk_handover_page_close   (FkHandoverPage *self);
/* The hand-over page shown inside host (an outing page), or NULL. */
FkHandoverPage *fk_handover_page_find    (GtkWidget      *host);
/* "Start the hand-over", for a card_handover outing page. */
GtkWidget      *fk_handover_entry_button (FkWindow       *window,
                                          GtkWidget      *host,
                                          const char     *outing_id);

G_END_DECLS
