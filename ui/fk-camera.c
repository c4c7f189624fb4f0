/* fk-camera.c — a photo from a camera through GStreamer (see fk-camera.h).
 *
 * Layout: the shared state between the streaming thread and the main loop,
 * finding a camera, the pipeline, the dialog. */
#include "ui/fk-camera.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "crypto/fk-i18n.h"
#include "ui/fk-ui-util.h"
#include "ui/fk-window.h"

/* The test pattern: big enough for a 300 dpi ID-photo crop (a 7:9 frame of
 * 746 × 960 px), slow enough to cost little in a test. */
#define TEST_WIDTH       1280
#define TEST_HEIGHT      960
#define TEST_FPS         10
/* Without a first frame after this long, the dialog says so. */
#define NO_FRAME_TIMEOUT_S 10

/* ---- types -------------------------------------------------------------------- */

/* What the appsink's streaming thread shares with the main loop.  The
 * thread keeps only the newest sample and schedules one wake-up at a time;
 * owner is read and cleared on the main thread only. */
typedef struct {
  GMutex          lock;
  GstSample      *sample;      /* newest, not shown yet */
  gboolean        scheduled;
  FkCameraDialog *owner;       /* NULL once the dialog stopped */
} Shared;

struct _FkCameraDialog
{
  AdwWindow      parent_instance;

  GstElement    *pipeline;
  guint          bus_watch;
  guint          no_frame_source;
  Shared        *shared;
  GdkTexture    *frame;        /* on screen */
  guint          frames;
  gboolean       started;
  gboolean       failed;

  GtkWidget     *title;
  GtkWidget     *picture;
  GtkWidget     *status;
  GtkWidget     *take;
  GtkWidget     *cancel;
};

G_DEFINE_FINAL_TYPE (FkCameraDialog, fk_camera_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_CAPTURED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct {
  GstBuffer  *buffer;
  GstMapInfo  map;
} MappedFrame;

/* ---- small helpers ------------------------------------------------------------- */

static void
shared_clear (Shared *sh)
{
  g_clear_pointer (&sh->sample, gst_sample_unref);
  g_mutex_clear (&sh->lock);
}

static Shared *
shared_ref (Shared *sh)
{
  return g_atomic_rc_box_acquire (sh);
}

static void
shared_unref (gpointer sh)
{
  g_atomic_rc_box_release_full (sh, (GDestroyNotify) shared_clear);
}

static void
mapped_frame_free (gpointer p)
{
  MappedFrame *f = p;

  gst_buffer_unmap (f->buffer, &f->map);
  gst_buffer_unref (f->buffer);
  g_free (f);
}

static gboolean
test_mode (void)
{
  return g_strcmp0 (g_getenv ("FIELDKIT_CAMERA"), "test") == 0;
}

static gboolean
ensure_gst (GError **error)
{
  static gsize once;
  static gboolean ok;
  static char *message;

  if (g_once_init_enter (&once))
    {
      GError *e = NULL;

      ok = gst_init_check (NULL, NULL, &e);
      if (!ok)
        {
          message = g_strdup (e ? e->message : "gst_init_check");
          g_clear_error (&e);
        }
      g_once_init_leave (&once, 1);
    }
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 _("The camera cannot be used: GStreamer did not start (%s). Use a photo from a file."), message);
  return ok;
}

/* The first video source device, or NULL. */
static GstDevice *
find_device (void)
{
  g_autoptr(GstDeviceMonitor) monitor = NULL;
  GList *devices;
  GstDevice *found = NULL;

  if (!ensure_gst (NULL))
    return NULL;
  monitor = gst_device_monitor_new ();
  gst_device_monitor_add_filter (monitor, "Video/Source", NULL);
  if (!gst_device_monitor_start (monitor))
    return NULL;
  devices = gst_device_monitor_get_devices (monitor);
  gst_device_monitor_stop (monitor);
  if (devices)
    found = g_object_ref (devices->data);
  g_list_free_full (devices, gst_object_unref);
  return found;
}

/* ---- finding a camera ------------------------------------------------------------ */

gboolean
fk_camera_available (char **why)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GstDevice) device = NULL;

  if (why)
    *why = NULL;
  if (!ensure_gst (&error))
    {
      if (why)
        *why = g_strdup (error->message);
      return FALSE;
    }
  if (test_mode ())
    return TRUE;
  device = find_device ();
  if (device == NULL)
    {
      if (why)
        *why = g_strdup (_("No camera was found on this device. Plug one in and open this page again, "
                               "or use a photo from a file."));
      return FALSE;
    }
  return TRUE;
}

gboolean
fk_camera_setup_button (GtkWidget *button)
{
  g_autofree char *why = NULL;
  gboolean ok = fk_camera_available (&why);

  gtk_widget_set_sensitive (button, ok);
  if (!ok)
    {
      gtk_widget_set_tooltip_text (button, why);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, why, -1);
    }
  return ok;
}

/* ---- the pipeline ------------------------------------------------------------------ */

static void set_status (FkCameraDialog *self, const char *text, gboolean error);
static void stop (FkCameraDialog *self);

/* The streaming thread: keep the newest sample, wake the main loop once. */
static gboolean frame_cb (gpointer user_data);

static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    user_data)
{
  Shared *sh = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);

  if (sample == NULL)
    return GST_FLOW_OK;
  g_mutex_lock (&sh->lock);
  if (sh->owner == NULL)
    {
      g_mutex_unlock (&sh->lock);
      gst_sample_unref (sample);
      return GST_FLOW_OK;
    }
  g_clear_pointer (&sh->sample, gst_sample_unref);
  sh->sample = sample;
  if (!sh->scheduled)
    {
      sh->scheduled = TRUE;
      /* Always queued for the main loop: g_main_context_invoke would run
       * frame_cb right here, on this streaming thread, whenever the main
       * thread was not iterating at that moment — touching GTK off the
       * main thread and taking sh->lock a second time (a deadlock seen
       * under load). */
      g_idle_add_full (G_PRIORITY_DEFAULT, frame_cb, shared_ref (sh), shared_unref);
    }
  g_mutex_unlock (&sh->lock);
  return GST_FLOW_OK;
}

/* The main thread: the sample becomes a texture in the preview, without a
 * copy (the texture holds the mapped buffer). */
static gboolean
frame_cb (gpointer user_data)
{
  Shared *sh = user_data;
  FkCameraDialog *self;
  GstSample *sample;
  GstVideoInfo info;
  MappedFrame *f;
  g_autoptr(GBytes) bytes = NULL;

  g_mutex_lock (&sh->lock);
  sample = g_steal_pointer (&sh->sample);
  sh->scheduled = FALSE;
  self = sh->owner;
  g_mutex_unlock (&sh->lock);
  if (sample == NULL || self == NULL)
    {
      g_clear_pointer (&sample, gst_sample_unref);
      return G_SOURCE_REMOVE;
    }
  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGBA)
    {
      gst_sample_unref (sample);
      return G_SOURCE_REMOVE;
    }
  f = g_new0 (MappedFrame, 1);
  f->buffer = gst_buffer_ref (gst_sample_get_buffer (sample));
  gst_sample_unref (sample);
  if (!gst_buffer_map (f->buffer, &f->map, GST_MAP_READ))
    {
      gst_buffer_unref (f->buffer);
      g_free (f);
      return G_SOURCE_REMOVE;
    }
  if (f->map.size < (gsize) GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) * GST_VIDEO_INFO_HEIGHT (&info))
    {
      mapped_frame_free (f);
      return G_SOURCE_REMOVE;
    }
  bytes = g_bytes_new_with_free_func (f->map.data, f->map.size, mapped_frame_free, f);
  g_clear_object (&self->frame);
  self->frame = gdk_memory_texture_new (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
                                        GDK_MEMORY_R8G8B8A8, bytes, GST_VIDEO_INFO_PLANE_STRIDE (&info, 0));
  gtk_picture_set_paintable (GTK_PICTURE (self->picture), GDK_PAINTABLE (self->frame));
  if (self->frames++ == 0)
    {
      g_clear_handle_id (&self->no_frame_source, g_source_remove);
      set_status (self, _("Frame the face inside the picture, then press Take photo (Enter)."), FALSE);
      gtk_widget_set_sensitive (self->take, TRUE);
      gtk_widget_grab_focus (self->take);
    }
  return G_SOURCE_REMOVE;
}

static void
fail (FkCameraDialog *self,
      const char     *text,
      const char     *detail)
{
  /* The details (GStreamer's own words, in English) go to the log for
   * whoever supports the device; the clerk reads what to do. */
  if (detail)
    g_debug ("camera: %s", detail);
  stop (self);
  self->failed = TRUE;
  g_clear_object (&self->frame);
  gtk_picture_set_paintable (GTK_PICTURE (self->picture), NULL);
  gtk_widget_set_sensitive (self->take, FALSE);
  set_status (self, text, TRUE);
  gtk_widget_grab_focus (self->cancel);
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  FkCameraDialog *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;

        gst_message_parse_error (message, &error, &debug);
        self->bus_watch = 0;
        fail (self, _("The camera stopped working. Check that it is plugged in and not used by another "
                          "program, then try again — or use a photo from a file."),
              error ? error->message : NULL);
        return G_SOURCE_REMOVE;
      }
    case GST_MESSAGE_EOS:
      self->bus_watch = 0;
      fail (self, _("The camera stopped sending pictures. Try again, or use a photo from a file."), NULL);
      return G_SOURCE_REMOVE;
    default:
      return G_SOURCE_CONTINUE;
    }
}

static gboolean
no_frame_cb (gpointer user_data)
{
  FkCameraDialog *self = user_data;

  self->no_frame_source = 0;
  if (self->frames == 0)
    set_status (self, _("The camera sends no picture yet. Check that it is not covered or used by another "
                            "program, or use a photo from a file."),
                TRUE);
  return G_SOURCE_REMOVE;
}

static GstElement *
make (const char *factory,
      GString    *missing)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (e == NULL)
    g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", factory);
  return e;
}

/* Builds the pipeline; NULL (with the reason on screen) when it cannot. */
static GstElement *
build_pipeline (FkCameraDialog *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autoptr(GstDevice) device = NULL;
  g_autoptr(GstCaps) rgba = NULL;
  GstElement *pipeline, *source = NULL, *filter = NULL, *convert, *sink;
  GstAppSinkCallbacks callbacks = { .new_sample = new_sample_cb };

  if (!ensure_gst (&error))
    {
      fail (self, error->message, NULL);
      return NULL;
    }
  if (test_mode ())
    {
      g_autoptr(GstCaps) caps = gst_caps_new_simple ("video/x-raw",
                                                     "width", G_TYPE_INT, TEST_WIDTH,
                                                     "height", G_TYPE_INT, TEST_HEIGHT,
                                                     "framerate", GST_TYPE_FRACTION, TEST_FPS, 1, NULL);

      source = make ("videotestsrc", missing);
      if (source)
        g_object_set (source, "is-live", TRUE, NULL);
      filter = make ("capsfilter", missing);
      if (filter)
        g_object_set (filter, "caps", caps, NULL);
    }
  else
    {
      device = find_device ();
      if (device == NULL)
        {
          fail (self, _("No camera was found on this device. Plug one in and try again, "
                            "or use a photo from a file."), NULL);
          return NULL;
        }
      /* The device's own element (v4l2src with its device set). */
      source = gst_device_create_element (device, NULL);
      if (source == NULL)
        source = make ("v4l2src", missing);
    }
  convert = make ("videoconvert", missing);
  sink = make ("appsink", missing);
  if (missing->len > 0)
    {
      g_autofree char *text = g_strdup_printf (_("The camera cannot be used: part of GStreamer is missing (%s). "
                                                     "Ask for the gstreamer1.0-plugins-base and -good packages, "
                                                     "or use a photo from a file."),
                                               missing->str);

      g_clear_pointer (&source, gst_object_unref);
      g_clear_pointer (&filter, gst_object_unref);
      g_clear_pointer (&convert, gst_object_unref);
      g_clear_pointer (&sink, gst_object_unref);
      fail (self, text, NULL);
      return NULL;
    }

  rgba = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "RGBA", NULL);
  g_object_set (sink, "caps", rgba, "drop", TRUE, "max-buffers", 1, "sync", FALSE,
                "enable-last-sample", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, shared_ref (self->shared), shared_unref);

  pipeline = gst_pipeline_new ("fieldkit-camera");
  gst_bin_add_many (GST_BIN (pipeline), source, convert, sink, NULL);
  if (filter)
    gst_bin_add (GST_BIN (pipeline), filter);
  if (!(filter ? gst_element_link_many (source, filter, convert, sink, NULL)
               : gst_element_link_many (source, convert, sink, NULL)))
    {
      gst_object_unref (pipeline);
      fail (self, _("The camera cannot be used: its pictures could not be read. Use a photo from a file."), "link failed");
      return NULL;
    }
  return gst_object_ref_sink (pipeline);
}

static void
start (FkCameraDialog *self)
{
  g_autoptr(GstBus) bus = NULL;

  if (self->started)
    return;
  self->started = TRUE;
  self->pipeline = build_pipeline (self);
  if (self->pipeline == NULL)
    return;
  bus = gst_element_get_bus (self->pipeline);
  self->bus_watch = gst_bus_add_watch (bus, bus_cb, self);
  self->no_frame_source = g_timeout_add_seconds (NO_FRAME_TIMEOUT_S, no_frame_cb, self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE && !self->failed)
    {
      /* The error message on the bus says more; show it now, not later. */
      g_autoptr(GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autoptr(GError) error = NULL;

      if (msg)
        gst_message_parse_error (msg, &error, NULL);
      fail (self, _("The camera could not be started. Check that it is plugged in and not used by another "
                        "program, then try again — or use a photo from a file."),
            error ? error->message : NULL);
    }
}

/* Stops the pipeline (state NULL: the streaming thread is joined and the
 * device released) and drops every frame it made.  Safe to call again. */
static void
stop (FkCameraDialog *self)
{
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  if (self->bus_watch)
    {
      g_autoptr(GstBus) bus = gst_element_get_bus (self->pipeline);

      gst_bus_remove_watch (bus);
      self->bus_watch = 0;
    }
  g_clear_handle_id (&self->no_frame_source, g_source_remove);
  if (self->shared)
    {
      g_mutex_lock (&self->shared->lock);
      self->shared->owner = NULL;
      g_clear_pointer (&self->shared->sample, gst_sample_unref);
      g_mutex_unlock (&self->shared->lock);
    }
}

/* ---- the dialog ------------------------------------------------------------------- */

static void
set_status (FkCameraDialog *self,
            const char     *text,
            gboolean        error)
{
  gtk_label_set_text (GTK_LABEL (self->status), text);
  if (error)
    gtk_widget_add_css_class (self->status, "fk-reason");
  else
    gtk_widget_remove_css_class (self->status, "fk-reason");
}

static void
take_clicked_cb (GtkButton      *button,
                 FkCameraDialog *self)
{
  fk_camera_dialog_take_photo (self);
}

static void
cancel_clicked_cb (GtkButton      *button,
                   FkCameraDialog *self)
{
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
take_shortcut_cb (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  FkCameraDialog *self = FK_CAMERA_DIALOG (widget);

  /* Enter or space on Cancel is Cancel. */
  if (gtk_window_get_focus (GTK_WINDOW (self)) == self->cancel)
    return FALSE;
  fk_camera_dialog_take_photo (self);
  return TRUE;
}

static gboolean
lock_shortcut_cb (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (widget));

  gtk_window_destroy (GTK_WINDOW (widget));
  if (parent && FK_IS_WINDOW (parent))
    fk_window_lock (FK_WINDOW (parent));
  return TRUE;
}

/* ---- overrides ------------------------------------------------------------------ */

static void
fk_camera_dialog_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (fk_camera_dialog_parent_class)->map (widget);
  start (FK_CAMERA_DIALOG (widget));
}

static void
fk_camera_dialog_unmap (GtkWidget *widget)
{
  /* Hidden or closing: nothing keeps the camera on. */
  stop (FK_CAMERA_DIALOG (widget));
  GTK_WIDGET_CLASS (fk_camera_dialog_parent_class)->unmap (widget);
}

static gboolean
fk_camera_dialog_close_request (GtkWindow *window)
{
  stop (FK_CAMERA_DIALOG (window));
  return GTK_WINDOW_CLASS (fk_camera_dialog_parent_class)->close_request (window);
}

static void
fk_camera_dialog_dispose (GObject *object)
{
  FkCameraDialog *self = FK_CAMERA_DIALOG (object);

  stop (self);
  g_clear_object (&self->frame);
  G_OBJECT_CLASS (fk_camera_dialog_parent_class)->dispose (object);
}

static void
fk_camera_dialog_finalize (GObject *object)
{
  FkCameraDialog *self = FK_CAMERA_DIALOG (object);

  g_clear_pointer (&self->pipeline, gst_object_unref);
  g_clear_pointer (&self->shared, shared_unref);
  G_OBJECT_CLASS (fk_camera_dialog_parent_class)->finalize (object);
}

static void
fk_camera_dialog_class_init (FkCameraDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = fk_camera_dialog_dispose;
  object_class->finalize = fk_camera_dialog_finalize;
  widget_class->map = fk_camera_dialog_map;
  widget_class->unmap = fk_camera_dialog_unmap;
  window_class->close_request = fk_camera_dialog_close_request;

  /* "captured" (GBytes *png): the photo, PNG in memory. */
  signals[SIGNAL_CAPTURED] = g_signal_new ("captured", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);

  gtk_widget_class_add_binding (widget_class, GDK_KEY_Return, 0, take_shortcut_cb, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_KP_Enter, 0, take_shortcut_cb, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_space, 0, take_shortcut_cb, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, lock_shortcut_cb, NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
fk_camera_dialog_init (FkCameraDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *body = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *frame = gtk_frame_new (NULL);

  self->shared = g_atomic_rc_box_new0 (Shared);
  g_mutex_init (&self->shared->lock);
  self->shared->owner = self;

  gtk_widget_add_css_class (GTK_WIDGET (self), "fieldkit");
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 640);

  self->title = adw_window_title_new (_("Camera"), NULL);
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), self->title);
  gtk_box_append (GTK_BOX (box), header);

  gtk_widget_set_margin_start (body, 12);
  gtk_widget_set_margin_end (body, 12);
  gtk_widget_set_margin_top (body, 12);
  gtk_widget_set_margin_bottom (body, 12);
  gtk_widget_set_vexpand (body, TRUE);

  self->picture = gtk_picture_new ();
  gtk_picture_set_can_shrink (GTK_PICTURE (self->picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (self->picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_widget_set_size_request (self->picture, 320, 240);
  gtk_widget_set_vexpand (self->picture, TRUE);
  fk_ui_name (self->picture, _("Camera preview"));
  gtk_frame_set_child (GTK_FRAME (frame), self->picture);
  gtk_widget_set_vexpand (frame, TRUE);
  gtk_box_append (GTK_BOX (body), frame);

  self->status = fk_ui_label (_("Starting the camera…"), NULL);
  gtk_label_set_xalign (GTK_LABEL (self->status), 0.5);
  gtk_label_set_justify (GTK_LABEL (self->status), GTK_JUSTIFY_CENTER);
  gtk_box_append (GTK_BOX (body), self->status);
  fk_ui_describe (self->picture, self->status);

  gtk_box_set_homogeneous (GTK_BOX (buttons), TRUE);
  self->cancel = fk_ui_button (_("Cancel"), NULL);
  gtk_widget_set_size_request (self->cancel, 120, 48);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->cancel), GTK_ACCESSIBLE_PROPERTY_KEY_SHORTCUTS, "Escape", -1);
  g_signal_connect (self->cancel, "clicked", G_CALLBACK (cancel_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->cancel);
  self->take = fk_ui_button (_("Take photo"), "suggested-action");
  gtk_widget_set_size_request (self->take, 120, 48);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->take), GTK_ACCESSIBLE_PROPERTY_KEY_SHORTCUTS,
                                  "Return space", -1);
  gtk_widget_set_tooltip_text (self->take, _("Take the picture on screen (Enter or space)"));
  gtk_widget_set_sensitive (self->take, FALSE);
  g_signal_connect (self->take, "clicked", G_CALLBACK (take_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->take);
  gtk_widget_set_halign (buttons, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (body), buttons);

  gtk_box_append (GTK_BOX (box), body);
  adw_window_set_content (ADW_WINDOW (self), box);
}

/* ---- public API ---------------------------------------------------------------- */

FkCameraDialog *
fk_camera_dialog_new (GtkWindow  *parent,
                      const char *title)
{
  FkCameraDialog *self = g_object_new (FK_TYPE_CAMERA_DIALOG, NULL);

  gtk_window_set_title (GTK_WINDOW (self), title ? title : _("Camera"));
  if (title)
    adw_window_title_set_title (ADW_WINDOW_TITLE (self->title), title);
  if (parent)
    {
      int w = gtk_widget_get_width (GTK_WIDGET (parent));
      int h = gtk_widget_get_height (GTK_WIDGET (parent));

      gtk_window_set_transient_for (GTK_WINDOW (self), parent);
      /* Never bigger than the window it belongs to (a 360 px phone). */
      if (w > 0 && h > 0)
        gtk_window_set_default_size (GTK_WINDOW (self), MIN (w, 720), MIN (h, 640));
    }
  return self;
}

gboolean
fk_camera_dialog_take_photo (FkCameraDialog *self)
{
  g_autoptr(GdkTexture) frame = NULL;
  g_autoptr(GBytes) png = NULL;

  g_return_val_if_fail (FK_IS_CAMERA_DIALOG (self), FALSE);
  if (self->frame == NULL || self->failed)
    return FALSE;
  /* The frame on screen is the photo: stop first, so it is what the clerk
   * saw, and the camera is off while the picture is encoded. */
  frame = g_object_ref (self->frame);
  stop (self);
  png = gdk_texture_save_to_png_bytes (frame);
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_CAPTURED], 0, png);
  gtk_window_destroy (GTK_WINDOW (self));
  g_object_unref (self);
  return TRUE;
}

guint
fk_camera_dialog_frames (FkCameraDialog *self)
{
  g_return_val_if_fail (FK_IS_CAMERA_DIALOG (self), 0);
  return self->frames;
}

GstElement *
fk_camera_dialog_get_pipeline (FkCameraDialog *self)
{
  g_return_val_if_fail (FK_IS_CAMERA_DIALOG (self), NULL);
  return self->pipeline;
}
