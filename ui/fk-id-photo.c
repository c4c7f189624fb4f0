/* fk-id-photo.c — the ID-card photo crop and its view; see fk-id-photo.h. */
#include "ui/fk-id-photo.h"

#include <string.h>

#include "crypto/fk-i18n.h"

/* Rounding without libm (the values are never negative). */
#define ROUND(x) ((int) ((x) + 0.5))
#define FLOOR(x) ((double) (int) (x))

/* Pictures larger than this (long side) are reduced on loading: a 7:9
 * frame of a 2400 px picture still has 300 dpi at 2.5× zoom. */
#define WORK_MAX   2400
#define ZOOM_MAX   8.0
#define ASPECT     (FK_ID_PHOTO_WIDTH_MM / FK_ID_PHOTO_HEIGHT_MM)

struct _FkIdPhoto
{
  GdkPixbuf *work;     /* RGB, no alpha, orientation applied */
  int        width;    /* the original picture */
  int        height;
  double     scale;    /* work pixels per original pixel (≤ 1) */
};

/* ---- the photo ---------------------------------------------------------------- */

static FkIdPhoto *
photo_new (GdkPixbuf *pixbuf)
{
  g_autoptr(GdkPixbuf) oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  GdkPixbuf *src = oriented ? oriented : pixbuf;
  FkIdPhoto *photo = g_atomic_rc_box_new0 (FkIdPhoto);
  int w = gdk_pixbuf_get_width (src);
  int h = gdk_pixbuf_get_height (src);
  int ww = w, wh = h;

  photo->width = w;
  photo->height = h;
  if (MAX (w, h) > WORK_MAX)
    {
      double f = (double) WORK_MAX / MAX (w, h);

      ww = MAX (1, ROUND (w * f));
      wh = MAX (1, ROUND (h * f));
    }
  photo->scale = (double) ww / w;
  if (gdk_pixbuf_get_has_alpha (src))
    /* Transparent parts become the white background of an ID photo. */
    photo->work = gdk_pixbuf_composite_color_simple (src, ww, wh, GDK_INTERP_BILINEAR, 255, 64,
                                                     0xffffffff, 0xffffffff);
  else if (ww != w)
    photo->work = gdk_pixbuf_scale_simple (src, ww, wh, GDK_INTERP_BILINEAR);
  else
    photo->work = g_object_ref (src);
  if (gdk_pixbuf_get_has_alpha (photo->work))
    {
      GdkPixbuf *flat = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, ww, wh);

      gdk_pixbuf_composite_color (photo->work, flat, 0, 0, ww, wh, 0, 0, 1, 1, GDK_INTERP_NEAREST, 255,
                                  0, 0, 64, 0xffffffff, 0xffffffff);
      g_object_unref (photo->work);
      photo->work = flat;
    }
  return photo;
}

FkIdPhoto *
fk_id_photo_new_for_pixbuf (GdkPixbuf *pixbuf)
{
  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);
  return photo_new (pixbuf);
}

FkIdPhoto *
fk_id_photo_new_from_bytes (GBytes  *bytes,
                            GError **error)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_stream (stream, NULL, NULL);

  if (pixbuf == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("That file is not a picture FieldKit can read (use JPEG or PNG)."));
      return NULL;
    }
  return photo_new (pixbuf);
}

static void
photo_clear (gpointer p)
{
  FkIdPhoto *photo = p;

  g_clear_object (&photo->work);
}

FkIdPhoto *
fk_id_photo_ref (FkIdPhoto *photo)
{
  return g_atomic_rc_box_acquire (photo);
}

void
fk_id_photo_unref (FkIdPhoto *photo)
{
  if (photo)
    g_atomic_rc_box_release_full (photo, photo_clear);
}

int
fk_id_photo_width (const FkIdPhoto *photo)
{
  return photo->width;
}

int
fk_id_photo_height (const FkIdPhoto *photo)
{
  return photo->height;
}

/* A reduced working copy must still give the frame 300 dpi: the zoom
 * stops where the frame would have fewer than 531 working pixels (a
 * picture that was not reduced may zoom further, with the warning). */
static double
zoom_max (const FkIdPhoto *photo)
{
  double W = gdk_pixbuf_get_width (photo->work);
  double H = gdk_pixbuf_get_height (photo->work);
  double base_h = MIN (H, W / ASPECT);

  if (photo->scale >= 1.0)
    return ZOOM_MAX;
  return CLAMP (base_h / FK_ID_PHOTO_HEIGHT_PX, 1.0, ZOOM_MAX);
}

/* The frame in working pixels, as doubles. */
static void
frame_d (const FkIdPhoto     *photo,
         const FkIdPhotoCrop *crop,
         double              *x,
         double              *y,
         double              *fw,
         double              *fh)
{
  double W = gdk_pixbuf_get_width (photo->work);
  double H = gdk_pixbuf_get_height (photo->work);
  double base_h = MIN (H, W / ASPECT);
  double zoom = CLAMP (crop->zoom, 1.0, zoom_max (photo));

  *fh = base_h / zoom;
  *fw = *fh * ASPECT;
  *x = CLAMP (crop->cx * W - *fw / 2, 0, W - *fw);
  *y = CLAMP (crop->cy * H - *fh / 2, 0, H - *fh);
}

void
fk_id_photo_clamp (const FkIdPhoto *photo,
                   FkIdPhotoCrop   *crop)
{
  double x, y, fw, fh;

  crop->zoom = CLAMP (crop->zoom, 1.0, zoom_max (photo));
  frame_d (photo, crop, &x, &y, &fw, &fh);
  crop->cx = (x + fw / 2) / gdk_pixbuf_get_width (photo->work);
  crop->cy = (y + fh / 2) / gdk_pixbuf_get_height (photo->work);
}

void
fk_id_photo_frame (const FkIdPhoto     *photo,
                   const FkIdPhotoCrop *crop,
                   GdkRectangle        *frame)
{
  double x, y, fw, fh;

  frame_d (photo, crop, &x, &y, &fw, &fh);
  frame->x = ROUND (x);
  frame->y = ROUND (y);
  frame->width = ROUND (fw);
  frame->height = ROUND (fh);
}

GdkPixbuf *
fk_id_photo_render (const FkIdPhoto     *photo,
                    const FkIdPhotoCrop *crop,
                    int                  width,
                    int                  height)
{
  GdkPixbuf *out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, MAX (width, 1), MAX (height, 1));
  double x, y, fw, fh, sx, sy;

  frame_d (photo, crop, &x, &y, &fw, &fh);
  sx = width / fw;
  sy = height / fh;
  gdk_pixbuf_scale (photo->work, out, 0, 0, MAX (width, 1), MAX (height, 1), -x * sx, -y * sy, sx, sy,
                    GDK_INTERP_BILINEAR);
  return out;
}

void
fk_id_photo_check (const FkIdPhoto     *photo,
                   const FkIdPhotoCrop *crop,
                   FkIdPhotoCheck      *out)
{
  g_autoptr(GdkPixbuf) small = fk_id_photo_render (photo, crop, 70, 90);
  const guint8 *pixels = gdk_pixbuf_read_pixels (small);
  int stride = gdk_pixbuf_get_rowstride (small);
  int n = gdk_pixbuf_get_n_channels (small);
  double x, y, fw, fh, sum = 0;

  memset (out, 0, sizeof *out);
  frame_d (photo, crop, &x, &y, &fw, &fh);
  /* Back to pixels of the original picture: that is what was taken. */
  out->crop_width = ROUND (fw / photo->scale);
  out->crop_height = ROUND (fh / photo->scale);
  out->too_small = out->crop_width < FK_ID_PHOTO_WIDTH_PX || out->crop_height < FK_ID_PHOTO_HEIGHT_PX;
  for (int r = 0; r < 90; r++)
    for (int c = 0; c < 70; c++)
      {
        const guint8 *p = pixels + r * stride + c * n;

        sum += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
      }
  out->luminance = sum / (70.0 * 90.0 * 255.0);
  out->too_dark = out->luminance < FK_ID_PHOTO_DARK;
  out->too_bright = out->luminance > FK_ID_PHOTO_BRIGHT;
}

GBytes *
fk_id_photo_encode (const FkIdPhoto     *photo,
                    const FkIdPhotoCrop *crop,
                    FkIdPhotoCheck      *check,
                    GError             **error)
{
  g_autoptr(GdkPixbuf) out = fk_id_photo_render (photo, crop, FK_ID_PHOTO_WIDTH_PX, FK_ID_PHOTO_HEIGHT_PX);
  g_autofree char *buffer = NULL;
  gsize len = 0;

  if (check)
    fk_id_photo_check (photo, crop, check);
  /* 300 dpi in the JFIF header, so a print comes out 35 × 45 mm. */
  if (!gdk_pixbuf_save_to_buffer (out, &buffer, &len, "jpeg", error,
                                  "quality", "92", "x-dpi", "300", "y-dpi", "300", NULL))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

char *
fk_id_photo_warnings (const FkIdPhotoCheck *check)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (check->too_small)
    g_string_append_printf (s, _("Too small for 300 dpi: the frame holds %d × %d pixels of the picture, "
                                     "at least %d × %d are needed. Use a larger picture, or zoom out."),
                            check->crop_width, check->crop_height, FK_ID_PHOTO_WIDTH_PX, FK_ID_PHOTO_HEIGHT_PX);
  if (check->too_dark)
    g_string_append_printf (s, "%s%s", s->len ? " " : "",
                            _("Too dark: take it again with more light on the face."));
  if (check->too_bright)
    g_string_append_printf (s, "%s%s", s->len ? " " : "",
                            _("Too bright: the face may be washed out."));
  if (s->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- the view ------------------------------------------------------------------- */

struct _FkPhotoView
{
  GtkWidget      parent_instance;

  FkIdPhoto     *photo;
  FkIdPhotoCrop  crop;
  FkIdPhotoCrop  drag_start;
  GdkTexture    *texture;      /* the crop at the size last drawn */
  int            texture_w;
  int            texture_h;
};

G_DEFINE_FINAL_TYPE (FkPhotoView, fk_photo_view, GTK_TYPE_WIDGET)

enum { CROP_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
frame_box (FkPhotoView     *self,
           graphene_rect_t *box)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self));
  double h = gtk_widget_get_height (GTK_WIDGET (self));
  double bw = MIN (w, h * ASPECT);
  double bh = bw / ASPECT;

  graphene_rect_init (box, FLOOR ((w - bw) / 2), FLOOR ((h - bh) / 2), FLOOR (bw), FLOOR (bh));
}

static void
invalidate (FkPhotoView *self)
{
  g_clear_object (&self->texture);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
crop_moved (FkPhotoView *self)
{
  if (self->photo)
    fk_id_photo_clamp (self->photo, &self->crop);
  invalidate (self);
}

static void
draw_guide (cairo_t *cr,
            double   w,
            double   h)
{
  double mm = h / FK_ID_PHOTO_HEIGHT_MM;
  double crown = FK_ID_PHOTO_CROWN_MM * mm;
  double head = (FK_ID_PHOTO_HEAD_MIN_MM + FK_ID_PHOTO_HEAD_MAX_MM) / 2 * mm;
  double chin_min = crown + FK_ID_PHOTO_HEAD_MIN_MM * mm;
  double chin_max = crown + FK_ID_PHOTO_HEAD_MAX_MM * mm;
  double head_w = 25.0 * mm;
  const double dash[] = { 6, 4 };

  /* The oval where the head goes (crown to the middle of the chin range). */
  cairo_save (cr);
  cairo_translate (cr, w / 2, crown + head / 2);
  cairo_scale (cr, head_w / 2, head / 2);
  cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
  cairo_restore (cr);
  cairo_set_line_width (cr, 3);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.45);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.95);
  cairo_stroke (cr);

  /* The crown line, and the band the chin must fall in (32–36 mm). */
  cairo_set_line_width (cr, 1.5);
  cairo_set_source_rgba (cr, 0.2, 0.6, 1.0, 0.9);
  cairo_move_to (cr, w * 0.2, crown);
  cairo_line_to (cr, w * 0.8, crown);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_source_rgba (cr, 0.2, 0.6, 1.0, 0.25);
  cairo_rectangle (cr, 0, chin_min, w, chin_max - chin_min);
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 0.2, 0.6, 1.0, 0.9);
  cairo_move_to (cr, 0, chin_min);
  cairo_line_to (cr, w * 0.15, chin_min);
  cairo_move_to (cr, w * 0.85, chin_min);
  cairo_line_to (cr, w, chin_min);
  cairo_move_to (cr, 0, chin_max);
  cairo_line_to (cr, w * 0.15, chin_max);
  cairo_move_to (cr, w * 0.85, chin_max);
  cairo_line_to (cr, w, chin_max);
  cairo_stroke (cr);
}

static void
fk_photo_view_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  FkPhotoView *self = FK_PHOTO_VIEW (widget);
  graphene_rect_t box;
  cairo_t *cr;
  int scale = gtk_widget_get_scale_factor (widget);

  frame_box (self, &box);
  if (box.size.width < 4 || box.size.height < 4)
    return;
  if (self->photo)
    {
      int tw = (int) box.size.width * scale;
      int th = (int) box.size.height * scale;

      if (self->texture == NULL || self->texture_w != tw || self->texture_h != th)
        {
          g_autoptr(GdkPixbuf) pix = fk_id_photo_render (self->photo, &self->crop, tw, th);

          g_clear_object (&self->texture);
          G_GNUC_BEGIN_IGNORE_DEPRECATIONS
          self->texture = gdk_texture_new_for_pixbuf (pix);
          G_GNUC_END_IGNORE_DEPRECATIONS
          self->texture_w = tw;
          self->texture_h = th;
        }
      gtk_snapshot_append_texture (snapshot, self->texture, &box);
    }
  else
    {
      GdkRGBA grey = { 0.85, 0.85, 0.85, 1 };

      gtk_snapshot_append_color (snapshot, &grey, &box);
    }
  cr = gtk_snapshot_append_cairo (snapshot, &box);
  cairo_translate (cr, box.origin.x, box.origin.y);
  draw_guide (cr, box.size.width, box.size.height);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, 0.5, 0.5, box.size.width - 1, box.size.height - 1);
  cairo_stroke (cr);
  cairo_destroy (cr);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               FkPhotoView    *self)
{
  self->drag_start = self->crop;
  if (self->photo)
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                FkPhotoView    *self)
{
  graphene_rect_t box;
  GdkRectangle frame;
  double W, H;

  if (self->photo == NULL)
    return;
  frame_box (self, &box);
  fk_id_photo_frame (self->photo, &self->drag_start, &frame);
  W = gdk_pixbuf_get_width (self->photo->work);
  H = gdk_pixbuf_get_height (self->photo->work);
  /* Dragging the picture right shows more of its left. */
  self->crop = self->drag_start;
  self->crop.cx -= dx * frame.width / box.size.width / W;
  self->crop.cy -= dy * frame.height / box.size.height / H;
  crop_moved (self);
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             FkPhotoView    *self)
{
  if (self->photo && (dx != 0 || dy != 0))
    g_signal_emit (self, signals[CROP_CHANGED], 0);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           FkPhotoView              *self)
{
  if (self->photo == NULL || dy == 0)
    return FALSE;
  fk_photo_view_zoom (self, dy < 0 ? 1.1 : 1 / 1.1);
  return TRUE;
}

static gboolean
key_cb (GtkEventControllerKey *controller,
        guint                  keyval,
        guint                  keycode,
        GdkModifierType        state,
        FkPhotoView           *self)
{
  GdkRectangle frame;
  double step_x, step_y;

  if (self->photo == NULL || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)))
    return FALSE;
  fk_id_photo_frame (self->photo, &self->crop, &frame);
  step_x = 0.03 * frame.width / gdk_pixbuf_get_width (self->photo->work);
  step_y = 0.03 * frame.height / gdk_pixbuf_get_height (self->photo->work);
  switch (keyval)
    {
    case GDK_KEY_Left:  self->crop.cx -= step_x; break;
    case GDK_KEY_Right: self->crop.cx += step_x; break;
    case GDK_KEY_Up:    self->crop.cy -= step_y; break;
    case GDK_KEY_Down:  self->crop.cy += step_y; break;
    case GDK_KEY_plus: case GDK_KEY_KP_Add: case GDK_KEY_equal:
      fk_photo_view_zoom (self, 1.1);
      return TRUE;
    case GDK_KEY_minus: case GDK_KEY_KP_Subtract:
      fk_photo_view_zoom (self, 1 / 1.1);
      return TRUE;
    default:
      return FALSE;
    }
  crop_moved (self);
  g_signal_emit (self, signals[CROP_CHANGED], 0);
  return TRUE;
}

static void
click_cb (GtkGestureClick *gesture,
          int              n_press,
          double           x,
          double           y,
          FkPhotoView     *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
fk_photo_view_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  /* 35 × 45 mm at 6 px per mm: a little larger than the printed photo on
   * a tablet, never smaller than 140 × 180. */
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 140;
      *natural = 210;
    }
  else
    {
      *minimum = 180;
      *natural = 270;
    }
}

static void
fk_photo_view_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  invalidate (FK_PHOTO_VIEW (widget));
}

static void
fk_photo_view_dispose (GObject *object)
{
  FkPhotoView *self = FK_PHOTO_VIEW (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->photo, fk_id_photo_unref);
  G_OBJECT_CLASS (fk_photo_view_parent_class)->dispose (object);
}

static void
fk_photo_view_class_init (FkPhotoViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fk_photo_view_dispose;
  widget_class->snapshot = fk_photo_view_snapshot;
  widget_class->measure = fk_photo_view_measure;
  widget_class->size_allocate = fk_photo_view_size_allocate;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_widget_class_set_css_name (widget_class, "fk-photo-view");
  signals[CROP_CHANGED] = g_signal_new ("crop-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
fk_photo_view_init (FkPhotoView *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkEventController *key = gtk_event_controller_key_new ();
  FkIdPhotoCrop init = FK_ID_PHOTO_CROP_INIT;

  self->crop = init;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  g_signal_connect (click, "pressed", G_CALLBACK (click_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
}

GtkWidget *
fk_photo_view_new (void)
{
  return g_object_new (FK_TYPE_PHOTO_VIEW, NULL);
}

void
fk_photo_view_set_photo (FkPhotoView         *self,
                         FkIdPhoto           *photo,
                         const FkIdPhotoCrop *crop)
{
  FkIdPhotoCrop init = FK_ID_PHOTO_CROP_INIT;

  g_clear_pointer (&self->photo, fk_id_photo_unref);
  self->photo = photo ? fk_id_photo_ref (photo) : NULL;
  self->crop = crop ? *crop : init;
  crop_moved (self);
}

FkIdPhoto *
fk_photo_view_get_photo (FkPhotoView *self)
{
  return self->photo;
}

void
fk_photo_view_get_crop (FkPhotoView   *self,
                        FkIdPhotoCrop *crop)
{
  *crop = self->crop;
}

void
fk_photo_view_zoom (FkPhotoView *self,
                    double       factor)
{
  if (self->photo == NULL)
    return;
  self->crop.zoom *= factor;
  crop_moved (self);
  g_signal_emit (self, signals[CROP_CHANGED], 0);
}
