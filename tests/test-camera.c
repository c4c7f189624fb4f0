/* test-camera.c — the camera dialog with GStreamer's test pattern (display
 * suite; FIELDKIT_CAMERA=test is set here and by meson).
 *
 * The photo is taken from live frames, reaches the photo path of the case
 * editor (an encrypted attachment) and of the school drive (the 35 × 45 mm
 * crop), and the pipeline is in the NULL state after every way of closing
 * the dialog: a photo taken, Cancel, the window locking.  While the camera
 * runs and the photo is taken, no file appears in the data folder or the
 * temporary folder (TMPDIR is a private folder of this test, so another
 * program's files cannot be mistaken for ours): frames stay in memory.
 * tests/e2e/test_window.py checks the same for the whole program with
 * strace, wherever a file would be made.
 *
 * Needs a display: without one it exits 77 (skipped). */
#include <gtk/gtk.h>
#include <adwaita.h>
#include <gst/gst.h>

#include "tests/fk-test-util.h"

#include "crypto/fk-crypto.h"
#include "ui/fk-application.h"
#include "ui/fk-camera.h"
#include "ui/fk-id-photo.h"
#include "ui/fk-pages.h"
#include "ui/fk-window.h"

#include "fk-test-ui.h"

static AdwApplication *test_app;

/* ---- helpers ------------------------------------------------------------------- */

/* Dispatches what is pending, 20 rounds.  While a pipeline is PLAYING a
 * new frame is always pending (30 a second, each one dispatched on the main
 * loop), so "until nothing is pending" could last for ever on a loaded
 * machine: the rounds end after 5 s in any case (not a timing assertion —
 * what the test waits for is checked afterwards). */
static void
spin (void)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  for (int i = 0; i < 20 && g_get_monotonic_time () < end; i++)
    while (g_get_monotonic_time () < end && g_main_context_iteration (NULL, FALSE))
      ;
}

static gboolean
keep_waking (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until cond holds; a generous cap only so that a
 * broken pipeline fails instead of hanging (not a timing assertion). */
static gboolean
spin_until (gboolean (*cond) (gpointer),
            gpointer   data)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (100, keep_waking, NULL);

  while (!cond (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return cond (data);
}

static gboolean
has_frame (gpointer dialog)
{
  return fk_camera_dialog_frames (dialog) >= 2;
}

static GstState
state_of (GstElement *pipeline)
{
  GstState state = GST_STATE_VOID_PENDING;

  gst_element_get_state (pipeline, &state, NULL, 0);
  return state;
}

/* Every file under dir (depth-limited), for the no-file check. */
static void
list_files (GHashTable *out,
            const char *dir,
            int         depth)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_hash_table_add (out, g_strdup (path));
      if (depth > 0 && g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        list_files (out, path, depth - 1);
    }
}

static GHashTable *
snapshot (const char *data_dir)
{
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  list_files (files, g_get_tmp_dir (), 4);
  if (data_dir)
    list_files (files, data_dir, 3);
  return files;
}

static void
assert_no_new_files (GHashTable *before,
                     GHashTable *after)
{
  GHashTableIter iter;
  gpointer path;
  guint added = 0;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &path, NULL))
    if (!g_hash_table_contains (before, path))
      {
        g_test_message ("new file while the camera ran: %s", (char *) path);
        added++;
      }
  g_assert_cmpuint (added, ==, 0);
}

static void
captured_cb (FkCameraDialog *dialog,
             GBytes         *png,
             GBytes        **out)
{
  g_assert_null (*out);
  *out = g_bytes_ref (png);
}

static FkCameraDialog *
find_camera_dialog (void)
{
  GList *toplevels = gtk_window_list_toplevels ();
  FkCameraDialog *found = NULL;

  for (GList *l = toplevels; l; l = l->next)
    if (FK_IS_CAMERA_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      found = l->data;
  g_list_free (toplevels);
  return found;
}

/* ---- the dialog alone ------------------------------------------------------------- */

static void
test_camera_available (void)
{
  g_autofree char *why = NULL;
  GtkWidget *button = g_object_ref_sink (gtk_button_new_with_label ("camera"));

  g_assert_true (fk_camera_available (&why));
  g_assert_null (why);
  g_assert_true (fk_camera_setup_button (button));
  g_assert_true (gtk_widget_get_sensitive (button));

  /* Without test mode and without a camera (none on a test machine), the
   * button is off and says why; with a camera plugged in it stays on. */
  g_unsetenv ("FIELDKIT_CAMERA");
  if (!fk_camera_setup_button (button))
    {
      g_assert_false (gtk_widget_get_sensitive (button));
      g_assert_nonnull (gtk_widget_get_tooltip_text (button));
      g_assert_true (strstr (gtk_widget_get_tooltip_text (button), "No camera was found") != NULL);
    }
  g_setenv ("FIELDKIT_CAMERA", "test", TRUE);
  g_assert_finalize_object (button);
}

/* A photo from live frames: PNG in memory, the size of the frames, and the
 * school drive's crop takes it; the pipeline ends in NULL; no file. */
static void
test_camera_capture (void)
{
  FkCameraDialog *dialog = fk_camera_dialog_new (NULL, "Photo of a test pattern");
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(FkIdPhoto) photo = NULL;
  g_autoptr(GBytes) jpeg = NULL;
  g_autoptr(GError) error = NULL;
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  FkIdPhotoCheck check;

  before = snapshot (NULL);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  g_signal_connect (dialog, "captured", G_CALLBACK (captured_cb), &png);
  /* No frame yet: nothing to take. */
  g_assert_false (fk_camera_dialog_take_photo (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (spin_until (has_frame, dialog));
  pipeline = gst_object_ref (fk_camera_dialog_get_pipeline (dialog));
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_PLAYING);

  g_assert_true (fk_camera_dialog_take_photo (dialog));
  spin ();
  /* Taking the photo closes the dialog and stops the camera. */
  g_assert_null (dialog);
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_NULL);
  g_assert_nonnull (png);
  g_assert_cmpmem (g_bytes_get_data (png, NULL), 8, "\x89PNG\r\n\x1a\n", 8);
  texture = gdk_texture_new_from_bytes (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 1280);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 960);

  /* The school drive's path: decoded and cropped to 35 × 45 mm at 300 dpi. */
  photo = fk_id_photo_new_from_bytes (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fk_id_photo_width (photo), ==, 1280);
  g_assert_cmpint (fk_id_photo_height (photo), ==, 960);
  fk_id_photo_clamp (photo, &crop);
  jpeg = fk_id_photo_encode (photo, &crop, &check, &error);
  g_assert_no_error (error);
  g_assert_nonnull (jpeg);
  g_assert_false (check.too_small);

  after = snapshot (NULL);
  assert_no_new_files (before, after);
}

/* Cancel (the button; Escape is bound to the same window.close) stops the
 * camera and hands nothing over. */
static void
test_camera_cancel (void)
{
  FkCameraDialog *dialog = fk_camera_dialog_new (NULL, NULL);
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GstElement) pipeline = NULL;

  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  g_signal_connect (dialog, "captured", G_CALLBACK (captured_cb), &png);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (spin_until (has_frame, dialog));
  pipeline = gst_object_ref (fk_camera_dialog_get_pipeline (dialog));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "window.close", NULL));
  spin ();
  g_assert_null (dialog);
  g_assert_null (png);
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_NULL);
}

/* ---- in the window ---------------------------------------------------------------- */

static char *
data_folder (gint64 *case_id)
{
  char *dir = fk_test_make_tmp ();
  g_autoptr(GError) error = NULL;
  FkStore *store = fk_test_store_new (dir, NULL);
  g_autofree char *outing = fk_test_outing (store);
  g_autofree char *pid = fk_test_national_id ('A', 1, 2345678);

  *case_id = fk_test_cert_case (store, outing, pid, "王大明", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (*case_id, >, 0);
  fk_store_close (store);
  return dir;
}

static FkWindow *
signed_in_window (const char *dir,
                  GSettings  *settings)
{
  g_autoptr(GError) error = NULL;
  FkWindow *win = fk_window_new (test_app, dir, settings);

  gtk_window_present (GTK_WINDOW (win));
  spin ();
  g_assert_true (fk_store_unlock (fk_window_store (win), "ann", FK_TEST_PASS_ANN, &error));
  g_assert_no_error (error);
  fk_window_signed_in (win, FK_TEST_PASS_ANN);
  spin ();
  return win;
}

static FkCameraDialog *
open_editor_camera (FkWindow *win)
{
  GtkWidget *button = fk_test_ui_find_button (GTK_WIDGET (win), "Take photo with camera…");
  FkCameraDialog *dialog;

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_get_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
  spin ();
  dialog = find_camera_dialog ();
  g_assert_nonnull (dialog);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (win));
  g_assert_true (spin_until (has_frame, dialog));
  return dialog;
}

/* The case editor: "Take photo with camera…", "Take photo" — the photo is
 * an attachment of the case (encrypted, like a file), no file was written;
 * then a camera left open when the window locks is stopped. */
static void
test_camera_case_editor (void)
{
  gint64 case_id = 0;
  g_autofree char *dir = data_folder (&case_id);
  g_autoptr(GSettings) settings = fk_ui_settings_new ();
  FkWindow *win = signed_in_window (dir, settings);
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(FkCase) kase = NULL;
  g_autoptr(GError) error = NULL;
  FkCameraDialog *dialog;
  GtkWidget *take;

  fk_window_show_outing (win, "O1");
  fk_window_show_case (win, case_id);
  spin ();
  before = snapshot (dir);
  dialog = open_editor_camera (win);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  pipeline = gst_object_ref (fk_camera_dialog_get_pipeline (dialog));
  take = fk_test_ui_find_button (GTK_WIDGET (dialog), "Take photo");
  g_assert_nonnull (take);
  g_assert_true (gtk_widget_get_sensitive (take));
  g_signal_emit_by_name (take, "clicked");
  spin ();
  g_assert_null (dialog);
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_NULL);
  after = snapshot (dir);
  assert_no_new_files (before, after);

  kase = fk_store_case_get (fk_window_store (win), case_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kase->attachments);
  g_assert_cmpuint (kase->attachments->len, ==, 1);
  g_assert_cmpstr (((FkAttachmentInfo *) kase->attachments->pdata[0])->kind, ==, "photo");
  g_assert_cmpstr (((FkAttachmentInfo *) kase->attachments->pdata[0])->mime, ==, "image/png");
  {
    g_autoptr(GBytes) stored = fk_store_attachment_get (fk_window_store (win),
                                                        ((FkAttachmentInfo *) kase->attachments->pdata[0])->id,
                                                        &error);
    g_autoptr(GdkTexture) texture = NULL;

    g_assert_no_error (error);
    texture = gdk_texture_new_from_bytes (stored, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_texture_get_width (texture), ==, 1280);
  }

  /* The lock: the camera's dialog closes and the pipeline stops. */
  g_clear_pointer (&pipeline, gst_object_unref);
  dialog = open_editor_camera (win);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  pipeline = gst_object_ref (fk_camera_dialog_get_pipeline (dialog));
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_PLAYING);
  fk_window_lock (win);
  spin ();
  g_assert_null (dialog);
  g_assert_null (find_camera_dialog ());
  g_assert_cmpint (state_of (pipeline), ==, GST_STATE_NULL);
  g_assert_false (fk_store_is_unlocked (fk_window_store (win)));

  gtk_window_destroy (GTK_WINDOW (win));
  spin ();
  fk_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = g_build_filename ("/tmp", "fieldkit-camera-XXXXXX", NULL);
  int status;

  /* A private temporary folder, before anything asks for it. */
  g_assert_nonnull (g_mkdtemp (tmp));
  g_setenv ("TMPDIR", tmp, TRUE);
  g_setenv ("FIELDKIT_CAMERA", "test", TRUE);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_printerr ("no display: skipped (run under xvfb-run)\n");
      return 77;
    }
  test_app = fk_test_ui_app_new ("io.github.fieldkit.TestCamera");

  g_test_add_func ("/ui/camera/available", test_camera_available);
  g_test_add_func ("/ui/camera/capture", test_camera_capture);
  g_test_add_func ("/ui/camera/cancel", test_camera_cancel);
  g_test_add_func ("/ui/camera/case-editor", test_camera_case_editor);
  status = g_test_run ();
  fk_test_rm_rf (tmp);
  return status;
}
