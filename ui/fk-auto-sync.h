/* fk-auto-sync.h — the window's background sync: sealed cases go up on
 * their own as soon as the device has a network again.
 *
 * One per FkWindow, owned by it.  A run (fk_sync_run_async, its own store
 * handle in a worker thread) starts only when all of these hold: the
 * "auto-sync" setting is on, the window's store is unlocked and free, the
 * device is enrolled, no sync runs (the window's flag, shared with the Sync
 * page: fk_window_sync_running), the network is available, and a sealed
 * packet waits — or nothing waits but the office may have answers and
 * neither a sync nor an automatic attempt happened in the last
 * FK_AUTO_SYNC_ANSWERS_MINUTES.
 *
 * Triggers: a look every FK_AUTO_SYNC_POLL_S while the window is open
 * (so that a case the office returned for correction, 補正, shows without
 * a click once the answers are due), the network coming back (FALSE →
 * TRUE), sign-in, a case
 * sealed (FK_AUTO_SYNC_SEAL_DELAY_S later, restarted by every further
 * seal), the setting turned on, and a retry timer after a run that failed
 * or left packets waiting.  Locking, turning the setting off and closing
 * the window cancel a run and stop every timer.
 *
 * A run never asks anything of the clerk: a toast when cases went up or
 * answers came, an error toast only for newly quarantined cases or a
 * failure that is not the network's (once until the next success);
 * network failures are silent since it retries.  A revocation is shown as
 * the Sync page shows it (fk_window_sync_finished). */
#pragma once

#include "ui/fk-window.h"

G_BEGIN_DECLS

#define FK_AUTO_SYNC_SEAL_DELAY_S      10
#define FK_AUTO_SYNC_ANSWERS_MINUTES   15
#define FK_AUTO_SYNC_POLL_S            60
/* Retries when the packets' own next_attempt says nothing later: 30 s,
 * doubling, at most 10 min. */
#define FK_AUTO_SYNC_RETRY_FIRST_S     30
#define FK_AUTO_SYNC_RETRY_MAX_S       600

#define FK_TYPE_AUTO_SYNC (fk_auto_sync_get_type ())
G_DECLARE_FINAL_TYPE (FkAutoSync, fk_auto_sync, FK, AUTO_SYNC, GObject)

/* window is borrowed: it calls fk_auto_sync_close before it goes away. */
FkAutoSync *fk_auto_sync_new             (FkWindow   *window,
                                          gboolean    network_available);

/* The window's GNetworkMonitor callback calls this; tests call it to
 * simulate the network going and coming back. */
void        fk_auto_sync_network_changed (FkAutoSync *self,
                                          gboolean    available);
/* The store was just unlocked by an operator. */
void        fk_auto_sync_signed_in       (FkAutoSync *self);
/* The window's store may have changed (a window job finished, a receipt is
 * shown after sealing): a packet more waiting means a case was sealed. */
void        fk_auto_sync_store_changed   (FkAutoSync *self);
/* Lock: cancels the automatic run and stops the timers until the next
 * sign-in. */
void        fk_auto_sync_stop            (FkAutoSync *self);
/* The window is going: stop, and never touch it again. */
void        fk_auto_sync_close           (FkAutoSync *self);

/* For tests: whether an automatic run is in flight, how many started. */
gboolean    fk_auto_sync_is_running      (FkAutoSync *self);
guint       fk_auto_sync_n_runs          (FkAutoSync *self);

G_END_DECLS
