/* fk-signature-pad.h — a surface to sign on with a finger, a pen or a
 * mouse; the strokes become a PNG. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FK_TYPE_SIGNATURE_PAD (fk_signature_pad_get_type ())
G_DECLARE_FINAL_TYPE (FkSignaturePad, fk_signature_pad, FK, SIGNATURE_PAD, GtkWidget)

GtkWidget *fk_signature_pad_new       (void);
void       fk_signature_pad_clear     (FkSignaturePad *self);
gboolean   fk_signature_pad_is_empty  (FkSignaturePad *self);
/* The signature as a PNG (black strokes on white), or NULL when empty. */
GBytes    *fk_signature_pad_to_png    (FkSignaturePad *self,
                                       GError        **error);
/* Adds a stroke from points (x0, y0, x1, y1, …) in widget coordinates:
 * for tests and for replaying. */
void       fk_signature_pad_add_stroke (FkSignaturePad *self,
                                        const double   *xy,
                                        guint           n_points);

G_END_DECLS
