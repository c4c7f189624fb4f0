/* fk-signature-pad.h — a surface to sign on with a finger, a pen or a
 * mouse; the strokes become a PNG.  A signature is personal data: the
 * strokes are wiped when cleared or freed, and the PNG comes in a GBytes
 * that wipes itself. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FK_TYPE_SIGNATURE_PAD (fk_signature_pad_get_type ())
G_DECLARE_FINAL_TYPE (FkSignaturePad, fk_signature_pad, FK, SIGNATURE_PAD, GtkWidget)

GtkWidget *fk_signature_pad_new       (void);
void       fk_signature_pad_clear     (FkSignaturePad *self);
gboolean   fk_signature_pad_is_empty  (FkSignaturePad *self);
/* The signature as a PNG (black strokes on white), or NULL when empty;
 * the GBytes wipes the image when its last reference goes. */
GBytes    *fk_signature_pad_to_png    (FkSignaturePad *self,
                                       GError        **error);
/* Adds a stroke from points (x0, y0, x1, y1, …) in widget coordinates:
 * for tests and for replaying. */
void       fk_signature_pad_add_stroke (FkSignaturePad *self,
                                        const double   *xy,
                                        guint           n_points);
/* Moves the strokes out of the pad, which is left empty, so that one pad
 * can show one signature after another (a student each in the hand-over)
 * and give each back with fk_signature_pad_set_strokes; NULL when the pad
 * is empty.  The array is opaque; g_ptr_array_unref wipes the points. */
GPtrArray *fk_signature_pad_take_strokes (FkSignaturePad *self);
/* Shows strokes taken with fk_signature_pad_take_strokes instead of the
 * pad's own (wiped); takes them over.  NULL leaves the pad empty. */
void       fk_signature_pad_set_strokes  (FkSignaturePad *self,
                                          GPtrArray      *strokes);

G_END_DECLS
