/* fk-window.h — the FieldKit main window.
 *
 * The window owns the one FkStore of its data folder.  FkStore is not
 * thread-safe, so slow store work (Argon2 unlock, the second operator's
 * check, enrolment) runs as a "job": the store is handed to a worker thread
 * exclusively and every page leaves it alone (fk_window_store returns NULL)
 * until the job is back.  Locking wipes the key and destroys every page
 * that shows personal data. */
#pragma once

#include <adwaita.h>

#include "app/fk-store.h"

G_BEGIN_DECLS

#define FK_TYPE_WINDOW (fk_window_get_type ())
G_DECLARE_FINAL_TYPE (FkWindow, fk_window, FK, WINDOW, AdwApplicationWindow)

FkWindow   *fk_window_new          (AdwApplication *app,
                                    const char     *data_dir,
                                    GSettings      *settings);

/* NULL while a job has the store or when it could not be opened. */
FkStore    *fk_window_store        (FkWindow   *self);
GSettings  *fk_window_settings     (FkWindow   *self);
const char *fk_window_data_dir     (FkWindow   *self);
/* The signed-in operator's passphrase (for the sync's own store handle);
 * NULL while locked. */
const char *fk_window_passphrase   (FkWindow   *self);

void        fk_window_toast        (FkWindow   *self,
                                    const char *text);
/* A message dialog for an error the clerk must read and acknowledge. */
void        fk_window_error        (FkWindow   *self,
                                    const char *heading,
                                    const GError *error);

/* A slow piece of work on the store, run in a worker thread. */
typedef gboolean (*FkStoreJobFunc) (FkStore   *store,
                                    gpointer   data,
                                    GError   **error);
void        fk_window_run_job      (FkWindow            *self,
                                    FkStoreJobFunc       func,
                                    gpointer             data,
                                    GDestroyNotify       data_free,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data);
gboolean    fk_window_run_job_finish (FkWindow      *self,
                                      GAsyncResult  *result,
                                      GError       **error);
gboolean    fk_window_is_busy      (FkWindow   *self);

/* Called by the first-run and sign-in pages once the store is unlocked. */
void        fk_window_signed_in    (FkWindow   *self,
                                    const char *passphrase);
void        fk_window_lock         (FkWindow   *self);

/* Navigation. */
void        fk_window_show_home    (FkWindow   *self);
void        fk_window_show_sync    (FkWindow   *self);
void        fk_window_show_outing  (FkWindow   *self,
                                    const char *outing_id);
void        fk_window_show_case    (FkWindow   *self,
                                    gint64      case_id);
void        fk_window_new_case     (FkWindow   *self,
                                    const char *outing_id,
                                    const char *service);
void        fk_window_show_receipt (FkWindow   *self,
                                    gint64      case_id);
void        fk_window_go_back      (FkWindow   *self);
/* The home page and the outing page refresh themselves from the store. */
void        fk_window_refresh      (FkWindow   *self);

/* Whether new cases are allowed (DESIGN §4 safety limits); *why gets the
 * reason when not, or a warning when the limits are near. */
gboolean    fk_window_limits       (FkWindow   *self,
                                    char      **warning);
/* After a successful sync: the pages show the time the store recorded
 * (fk_store_mark_synced, "last_sync"). */
void        fk_window_note_sync    (FkWindow   *self);

/* For the pages that keep a case being typed before it can be saved. */
GHashTable *fk_window_pending_draft (FkWindow  *self);

/* One sync at a time: the Sync page's run and the automatic one
 * (fk-auto-sync.h) share this flag.  Whoever starts a run calls
 * fk_window_sync_started; when the run is back, fk_window_sync_finished
 * notes a successful sync on the pages, refreshes the Sync page and, when
 * the office revoked the device, says so in a message dialog — the same
 * for both, and nothing while the window is locked. */
gboolean    fk_window_sync_running  (FkWindow  *self);
void        fk_window_sync_started  (FkWindow  *self);
void        fk_window_sync_finished (FkWindow  *self,
                                     gboolean   ok,
                                     gboolean   revoked);
/* The window's automatic sync (for tests: to simulate the network). */
typedef struct _FkAutoSync FkAutoSync;
FkAutoSync *fk_window_auto_sync     (FkWindow  *self);

G_END_DECLS
