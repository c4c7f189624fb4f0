/* fk-camera.h — a photo from a camera, through GStreamer.
 *
 * FkCameraDialog shows a live preview and "Take photo"; the photo is the
 * frame on screen, encoded as PNG in memory and handed to the caller with
 * the "captured" signal, so that it takes exactly the path a photo from a
 * file takes (the ID-photo crop, the encrypted attachment).  Frames and the
 * photo never reach a file.
 *
 * The pipeline is `SOURCE ! videoconvert ! video/x-raw,format=RGBA !
 * appsink drop=true max-buffers=1`, where SOURCE is:
 *
 *   - `videotestsrc` (a 1280 × 960 test pattern) when FIELDKIT_CAMERA=test
 *     (tests, and trying the window on a machine without a camera);
 *   - `v4l2src` when GstDeviceMonitor finds a "Video/Source" device;
 *   - none otherwise: fk_camera_available says why, and the caller leaves
 *     its camera button insensitive with that reason as its tooltip.
 *
 * The appsink's streaming thread never touches GTK: it keeps only the
 * newest sample and wakes the main loop, where the sample becomes a
 * GdkMemoryTexture in the preview.  The pipeline is set to NULL (stopped,
 * the device released) when the dialog closes — Cancel, Escape, a photo
 * taken, the window locking (its dialogs are closed first), the page that
 * opened it going away — and on an error, which the dialog shows in words
 * instead of the preview. */
#pragma once

#include <adwaita.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* Whether a camera can be used now: TRUE in test mode or when a video
 * source device exists.  When FALSE and why is not NULL, *why gets the
 * reason in words for a tooltip ("No camera was found…"). */
gboolean      fk_camera_available           (char **why);

/* Makes button insensitive, with the reason as its tooltip, when no camera
 * can be used; returns whether one can. */
gboolean      fk_camera_setup_button        (GtkWidget *button);

#define FK_TYPE_CAMERA_DIALOG (fk_camera_dialog_get_type ())
G_DECLARE_FINAL_TYPE (FkCameraDialog, fk_camera_dialog, FK, CAMERA_DIALOG, AdwWindow)

/* A modal dialog over parent (may be NULL) with title as its heading; the
 * pipeline starts when it is shown.  Emits "captured" (GBytes *png) when
 * the photo is taken, then closes itself. */
FkCameraDialog *fk_camera_dialog_new        (GtkWindow  *parent,
                                             const char *title);
/* Takes the frame on screen (what "Take photo", Enter and space do);
 * FALSE when no frame has arrived yet. */
gboolean      fk_camera_dialog_take_photo   (FkCameraDialog *self);
/* Frames shown so far (for tests). */
guint         fk_camera_dialog_frames       (FkCameraDialog *self);
/* The pipeline (for tests: its state after closing); NULL when it could
 * not be made. */
GstElement   *fk_camera_dialog_get_pipeline (FkCameraDialog *self);

G_END_DECLS
