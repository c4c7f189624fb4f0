/* fk-id-photo.h — an applicant's photo cropped to the national ID-card
 * specification: 35 × 45 mm portrait (aspect 7:9), stored at 300 dpi
 * (413 × 531 px) as JPEG, with the head 32–36 mm from chin to crown.
 *
 * FkIdPhoto is the decoded picture (EXIF orientation applied, large
 * pictures reduced to a working copy that still has every pixel a 300 dpi
 * crop can use).  Loading and encoding use GdkPixbuf only and may run in a
 * worker thread; an FkIdPhoto is immutable and reference counted, so a
 * thread can encode while the window shows it.
 *
 * FkPhotoView shows the crop with the head-size guide (an oval where the
 * head should be, and the lines its crown and chin should fall between);
 * drag to move the picture, scroll or the zoom buttons to zoom, arrow keys
 * and +/- when it has the keyboard focus. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FK_ID_PHOTO_WIDTH_MM   35.0
#define FK_ID_PHOTO_HEIGHT_MM  45.0
/* 35 mm and 45 mm at 300 dpi. */
#define FK_ID_PHOTO_WIDTH_PX   413
#define FK_ID_PHOTO_HEIGHT_PX  531
/* Head (chin to crown) between 32 and 36 mm, crown about 4 mm below the top. */
#define FK_ID_PHOTO_HEAD_MIN_MM 32.0
#define FK_ID_PHOTO_HEAD_MAX_MM 36.0
#define FK_ID_PHOTO_CROWN_MM     4.0
/* Mean luminance (0–1) under which a photo is too dark to print. */
#define FK_ID_PHOTO_DARK        0.35
#define FK_ID_PHOTO_BRIGHT      0.94

typedef struct _FkIdPhoto FkIdPhoto;

/* Where the crop is: zoom ≥ 1 (1 = the largest 7:9 frame the picture
 * holds), centre as a fraction of the picture (0–1).  Clamped so the frame
 * never leaves the picture. */
typedef struct {
  double zoom;
  double cx;
  double cy;
} FkIdPhotoCrop;

#define FK_ID_PHOTO_CROP_INIT { 1.0, 0.5, 0.5 }

/* What the crop gives, for the warnings. */
typedef struct {
  int      crop_width;     /* the frame in pixels of the original picture */
  int      crop_height;
  double   luminance;      /* mean, 0–1 */
  gboolean too_small;      /* fewer than 413 × 531 original pixels: below 300 dpi */
  gboolean too_dark;
  gboolean too_bright;
} FkIdPhotoCheck;

/* Decodes JPEG or PNG bytes.  Thread-safe. */
FkIdPhoto  *fk_id_photo_new_from_bytes (GBytes        *bytes,
                                        GError       **error);
FkIdPhoto  *fk_id_photo_new_for_pixbuf (GdkPixbuf     *pixbuf);
FkIdPhoto  *fk_id_photo_ref            (FkIdPhoto     *photo);
void        fk_id_photo_unref          (FkIdPhoto     *photo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkIdPhoto, fk_id_photo_unref)

/* Size of the original picture. */
int         fk_id_photo_width          (const FkIdPhoto *photo);
int         fk_id_photo_height         (const FkIdPhoto *photo);

void        fk_id_photo_clamp          (const FkIdPhoto *photo,
                                        FkIdPhotoCrop   *crop);
/* The frame in working-copy pixels. */
void        fk_id_photo_frame          (const FkIdPhoto     *photo,
                                        const FkIdPhotoCrop *crop,
                                        GdkRectangle        *frame);
/* The crop scaled to width × height (a preview). */
GdkPixbuf  *fk_id_photo_render        (const FkIdPhoto     *photo,
                                        const FkIdPhotoCrop *crop,
                                        int                  width,
                                        int                  height);
void        fk_id_photo_check          (const FkIdPhoto     *photo,
                                        const FkIdPhotoCrop *crop,
                                        FkIdPhotoCheck      *out);
/* The crop at 413 × 531 as JPEG (quality 92).  Thread-safe. */
GBytes     *fk_id_photo_encode         (const FkIdPhoto     *photo,
                                        const FkIdPhotoCrop *crop,
                                        FkIdPhotoCheck      *check,
                                        GError             **error);
/* The warnings of a check in words, or NULL when there are none. */
char       *fk_id_photo_warnings       (const FkIdPhotoCheck *check);

#define FK_TYPE_PHOTO_VIEW (fk_photo_view_get_type ())
G_DECLARE_FINAL_TYPE (FkPhotoView, fk_photo_view, FK, PHOTO_VIEW, GtkWidget)

GtkWidget  *fk_photo_view_new          (void);
/* NULL shows an empty frame with the guide. */
void        fk_photo_view_set_photo    (FkPhotoView   *self,
                                        FkIdPhoto     *photo,
                                        const FkIdPhotoCrop *crop);
FkIdPhoto  *fk_photo_view_get_photo    (FkPhotoView   *self);
void        fk_photo_view_get_crop     (FkPhotoView   *self,
                                        FkIdPhotoCrop *crop);
void        fk_photo_view_zoom         (FkPhotoView   *self,
                                        double         factor);
/* Emits "crop-changed" when the clerk moves or zooms the picture (not
 * for fk_photo_view_set_photo). */

G_END_DECLS
