/* fk-signature-pad.c — see fk-signature-pad.h.  Strokes are kept as
 * points (GtkGestureDrag for touch and mouse; GtkGestureStylus adds a pen's
 * motion between events) and drawn with cairo, both on screen and into the
 * PNG, so what the applicant saw is what is stored. */
#include "ui/fk-signature-pad.h"

#include <cairo.h>
#include <sodium.h>

#include "crypto/fk-crypto.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkSignaturePad
{
  GtkWidget  parent_instance;

  GPtrArray *strokes;     /* GArray of graphene_point_t per stroke */
  GArray    *current;     /* borrowed: the last stroke while drawing */
  double     start_x, start_y;
};

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (FkSignaturePad, fk_signature_pad, GTK_TYPE_WIDGET)

/* ---- helpers ------------------------------------------------------------------ */

/* The strokes of a signature are wiped before they go back to the
 * allocator, like any personal value. */
static void
stroke_free (gpointer p)
{
  GArray *stroke = p;

  if (stroke->len > 0)
    sodium_memzero (stroke->data, (gsize) stroke->len * sizeof (graphene_point_t));
  g_array_unref (stroke);
}

static GPtrArray *
strokes_new (void)
{
  return g_ptr_array_new_with_free_func (stroke_free);
}

static void
add_point (FkSignaturePad *self,
           double          x,
           double          y)
{
  graphene_point_t p = GRAPHENE_POINT_INIT ((float) x, (float) y);

  if (self->current)
    g_array_append_val (self->current, p);
}

static void
begin_stroke (FkSignaturePad *self,
              double          x,
              double          y)
{
  self->current = g_array_new (FALSE, FALSE, sizeof (graphene_point_t));
  g_ptr_array_add (self->strokes, self->current);
  add_point (self, x, y);
}

static void
draw_strokes (FkSignaturePad *self,
              cairo_t        *cr,
              double          scale_x,
              double          scale_y)
{
  cairo_set_source_rgb (cr, 0.05, 0.05, 0.15);
  cairo_set_line_width (cr, 3.0 * MAX (scale_x, scale_y));
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < self->strokes->len; i++)
    {
      GArray *s = self->strokes->pdata[i];

      for (guint j = 0; j < s->len; j++)
        {
          graphene_point_t *p = &g_array_index (s, graphene_point_t, j);

          if (j == 0)
            cairo_move_to (cr, p->x * scale_x, p->y * scale_y);
          else
            cairo_line_to (cr, p->x * scale_x, p->y * scale_y);
        }
      if (s->len == 1)
        cairo_rel_line_to (cr, 0.1, 0.1);
      cairo_stroke (cr);
    }
}

static cairo_status_t
png_write_cb (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* ---- signal callbacks --------------------------------------------------------- */

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               FkSignaturePad *self)
{
  self->start_x = x;
  self->start_y = y;
  begin_stroke (self, x, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                FkSignaturePad *self)
{
  add_point (self, self->start_x + dx, self->start_y + dy);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             FkSignaturePad *self)
{
  add_point (self, self->start_x + dx, self->start_y + dy);
  self->current = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
stylus_motion_cb (GtkGestureStylus *gesture,
                  double            x,
                  double            y,
                  FkSignaturePad   *self)
{
  /* A pen reports motion more finely than the drag; keep every point. */
  add_point (self, x, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- overrides ---------------------------------------------------------------- */

static void
fk_signature_pad_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  FkSignaturePad *self = FK_SIGNATURE_PAD (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));

  /* The signing line. */
  cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, 0.6);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, 24, h * 0.75);
  cairo_line_to (cr, w - 24, h * 0.75);
  cairo_stroke (cr);
  draw_strokes (self, cr, 1, 1);
  cairo_destroy (cr);
}

static void
fk_signature_pad_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *min_baseline,
                          int            *nat_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 280 : 180;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 600 : 200;
}

static void
fk_signature_pad_finalize (GObject *object)
{
  FkSignaturePad *self = FK_SIGNATURE_PAD (object);

  g_ptr_array_unref (self->strokes);
  G_OBJECT_CLASS (fk_signature_pad_parent_class)->finalize (object);
}

/* ---- class_init / init -------------------------------------------------------- */

static void
fk_signature_pad_class_init (FkSignaturePadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = fk_signature_pad_finalize;
  widget_class->snapshot = fk_signature_pad_snapshot;
  widget_class->measure = fk_signature_pad_measure;
  gtk_widget_class_set_css_name (widget_class, "signaturepad");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
fk_signature_pad_init (FkSignaturePad *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkGesture *stylus = gtk_gesture_stylus_new ();

  self->strokes = strokes_new ();
  gtk_widget_add_css_class (GTK_WIDGET (self), "fk-signature");
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);

  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (drag), FALSE);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  g_signal_connect (stylus, "motion", G_CALLBACK (stylus_motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (stylus));
}

/* ---- public API --------------------------------------------------------------- */

GtkWidget *
fk_signature_pad_new (void)
{
  return g_object_new (FK_TYPE_SIGNATURE_PAD, NULL);
}

void
fk_signature_pad_clear (FkSignaturePad *self)
{
  g_return_if_fail (FK_IS_SIGNATURE_PAD (self));
  g_ptr_array_set_size (self->strokes, 0);
  self->current = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
}

gboolean
fk_signature_pad_is_empty (FkSignaturePad *self)
{
  g_return_val_if_fail (FK_IS_SIGNATURE_PAD (self), TRUE);
  return self->strokes->len == 0;
}

void
fk_signature_pad_add_stroke (FkSignaturePad *self,
                             const double   *xy,
                             guint           n_points)
{
  g_return_if_fail (FK_IS_SIGNATURE_PAD (self));
  if (n_points == 0)
    return;
  begin_stroke (self, xy[0], xy[1]);
  for (guint i = 1; i < n_points; i++)
    add_point (self, xy[2 * i], xy[2 * i + 1]);
  self->current = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
}

GPtrArray *
fk_signature_pad_take_strokes (FkSignaturePad *self)
{
  GPtrArray *strokes;

  g_return_val_if_fail (FK_IS_SIGNATURE_PAD (self), NULL);
  if (self->strokes->len == 0)
    return NULL;
  strokes = g_steal_pointer (&self->strokes);
  self->strokes = strokes_new ();
  /* A drag still under way goes on into nothing rather than into the
   * signature just taken away. */
  self->current = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
  return strokes;
}

void
fk_signature_pad_set_strokes (FkSignaturePad *self,
                              GPtrArray      *strokes)
{
  g_return_if_fail (FK_IS_SIGNATURE_PAD (self));
  g_ptr_array_unref (self->strokes);
  self->strokes = strokes ? strokes : strokes_new ();
  self->current = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
}

GBytes *
fk_signature_pad_to_png (FkSignaturePad *self,
                         GError        **error)
{
  int w = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);
  int h = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 1);
  /* A fixed size on paper, whatever the screen: 600 × 200 px. */
  const int out_w = 600, out_h = 200;
  g_autoptr(GByteArray) png = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  guint8 *data;
  gsize len;

  g_return_val_if_fail (FK_IS_SIGNATURE_PAD (self), NULL);
  if (self->strokes->len == 0)
    return NULL;
  if (!gtk_widget_get_realized (GTK_WIDGET (self)) || gtk_widget_get_width (GTK_WIDGET (self)) == 0)
    w = out_w, h = out_h;

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, out_w, out_h);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw_strokes (self, cr, (double) out_w / w, (double) out_h / h);
  cairo_destroy (cr);
  status = cairo_surface_write_to_png_stream (surface, png_write_cb, png);
  /* The image surface held the signature too. */
  if (cairo_image_surface_get_data (surface) != NULL)
    sodium_memzero (cairo_image_surface_get_data (surface),
                    (gsize) cairo_image_surface_get_stride (surface) * out_h);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      sodium_memzero (png->data, png->len);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "PNG: %s", cairo_status_to_string (status));
      return NULL;
    }
  data = g_byte_array_steal (png, &len);
  return fk_bytes_new_wiped (data, len);
}
