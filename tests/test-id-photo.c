/* test-id-photo.c — the ID-card photo crop (ui/fk-id-photo.h): 35 × 45 mm
 * at 300 dpi, the frame never leaving the picture, the warnings for a
 * picture too small for 300 dpi or too dark, EXIF-free PNG and JPEG in,
 * a 413 × 531 JPEG with 300 dpi in its header out.  GdkPixbuf only: no
 * display needed. */
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "ui/fk-id-photo.h"

static GdkPixbuf *
plain (int      width,
       int      height,
       guint32  rgba)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);

  gdk_pixbuf_fill (p, rgba);
  return p;
}

static GBytes *
encode (GdkPixbuf  *pixbuf,
        const char *type)
{
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize len = 0;

  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, type, &error, NULL));
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, len);
}

static void
test_frame (void)
{
  g_autoptr(GdkPixbuf) pix = plain (1200, 1600, 0xe0e0e0ff);
  g_autoptr(FkIdPhoto) photo = fk_id_photo_new_for_pixbuf (pix);
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  GdkRectangle frame;

  g_assert_cmpint (fk_id_photo_width (photo), ==, 1200);
  g_assert_cmpint (fk_id_photo_height (photo), ==, 1600);
  /* Zoom 1: the largest 7:9 frame, here the full width. */
  fk_id_photo_frame (photo, &crop, &frame);
  g_assert_cmpint (frame.width, ==, 1200);
  g_assert_cmpint (ABS (frame.height - 1543), <=, 1);
  g_assert_cmpint (frame.x, ==, 0);

  /* Moved past the corner: clamped inside the picture. */
  crop.zoom = 2;
  crop.cx = -1;
  crop.cy = 5;
  fk_id_photo_clamp (photo, &crop);
  fk_id_photo_frame (photo, &crop, &frame);
  g_assert_cmpint (frame.x, ==, 0);
  g_assert_cmpint (ABS (frame.y + frame.height - 1600), <=, 1);
  g_assert_cmpint (frame.width, ==, 600);
  /* The aspect is 35:45 at every zoom. */
  g_assert_cmpfloat_with_epsilon ((double) frame.width / frame.height, 35.0 / 45.0, 0.01);

  crop.zoom = 100;
  fk_id_photo_clamp (photo, &crop);
  g_assert_cmpfloat (crop.zoom, <=, 8.0);
  crop.zoom = 0.1;
  fk_id_photo_clamp (photo, &crop);
  g_assert_cmpfloat (crop.zoom, ==, 1.0);
}

static void
test_encode (void)
{
  g_autoptr(GdkPixbuf) pix = plain (900, 1200, 0xd8d8d8ff);
  g_autoptr(GBytes) png = encode (pix, "png");
  g_autoptr(GError) error = NULL;
  g_autoptr(FkIdPhoto) photo = fk_id_photo_new_from_bytes (png, &error);
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  FkIdPhotoCheck check;
  g_autoptr(GBytes) jpeg = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GdkPixbuf) back = NULL;
  g_autofree char *warnings = NULL;
  const guint8 *data;
  gsize len;

  g_assert_no_error (error);
  jpeg = fk_id_photo_encode (photo, &crop, &check, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (jpeg, &len);
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpmem (data, 2, "\xff\xd8", 2);
  /* JFIF density: units 1 (dots per inch), 300 × 300. */
  g_assert_cmpmem (data + 6, 4, "JFIF", 4);
  g_assert_cmpint (data[13], ==, 1);
  g_assert_cmpint ((data[14] << 8) | data[15], ==, 300);
  g_assert_cmpint ((data[16] << 8) | data[17], ==, 300);
  in = g_memory_input_stream_new_from_bytes (jpeg);
  back = gdk_pixbuf_new_from_stream (in, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (back), ==, FK_ID_PHOTO_WIDTH_PX);
  g_assert_cmpint (gdk_pixbuf_get_height (back), ==, FK_ID_PHOTO_HEIGHT_PX);

  g_assert_false (check.too_small);
  g_assert_false (check.too_dark);
  g_assert_cmpint (check.crop_width, ==, 900);
  warnings = fk_id_photo_warnings (&check);
  g_assert_null (warnings);

  /* Zoomed in until the frame holds fewer pixels than 300 dpi needs. */
  crop.zoom = 3;
  fk_id_photo_check (photo, &crop, &check);
  g_assert_true (check.too_small);
  g_assert_cmpint (check.crop_width, ==, 300);
}

static void
test_warnings (void)
{
  g_autoptr(GdkPixbuf) small = plain (300, 400, 0xe8e8e8ff);
  g_autoptr(GdkPixbuf) dark = plain (1000, 1300, 0x202028ff);
  g_autoptr(FkIdPhoto) s = fk_id_photo_new_for_pixbuf (small);
  g_autoptr(FkIdPhoto) d = fk_id_photo_new_for_pixbuf (dark);
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  FkIdPhotoCheck check;
  g_autofree char *text = NULL;

  fk_id_photo_check (s, &crop, &check);
  g_assert_true (check.too_small);
  g_assert_false (check.too_dark);
  text = fk_id_photo_warnings (&check);
  g_assert_nonnull (strstr (text, "300 dpi"));
  g_assert_nonnull (strstr (text, "413"));
  g_clear_pointer (&text, g_free);

  fk_id_photo_check (d, &crop, &check);
  g_assert_false (check.too_small);
  g_assert_true (check.too_dark);
  g_assert_cmpfloat (check.luminance, <, FK_ID_PHOTO_DARK);
  text = fk_id_photo_warnings (&check);
  g_assert_nonnull (strstr (text, "Too dark"));
}

/* A huge camera picture is reduced on loading, and the check still counts
 * pixels of the original. */
static void
test_large (void)
{
  g_autoptr(GdkPixbuf) big = plain (4000, 6000, 0xc0c0c0ff);
  g_autoptr(FkIdPhoto) photo = fk_id_photo_new_for_pixbuf (big);
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  FkIdPhotoCheck check;

  fk_id_photo_check (photo, &crop, &check);
  g_assert_cmpint (ABS (check.crop_width - 4000), <=, 3);
  g_assert_false (check.too_small);
  /* The working copy (1600 × 2400) limits the zoom to where the frame
   * still has 531 working pixels: 2057 / 531 = 3.87. */
  crop.zoom = 8;
  fk_id_photo_clamp (photo, &crop);
  g_assert_cmpfloat (crop.zoom, >, 3.8);
  g_assert_cmpfloat (crop.zoom, <, 3.9);
  fk_id_photo_check (photo, &crop, &check);
  g_assert_false (check.too_small);
  g_assert_cmpint (check.crop_height, >=, (int) (FK_ID_PHOTO_HEIGHT_PX / 0.4));
}

/* Transparent parts become white (the ID-photo background), not black. */
static void
test_alpha (void)
{
  g_autoptr(GdkPixbuf) clear = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 700, 900);
  g_autoptr(FkIdPhoto) photo = NULL;
  FkIdPhotoCrop crop = FK_ID_PHOTO_CROP_INIT;
  FkIdPhotoCheck check;

  gdk_pixbuf_fill (clear, 0x00000000);
  photo = fk_id_photo_new_for_pixbuf (clear);
  fk_id_photo_check (photo, &crop, &check);
  g_assert_cmpfloat (check.luminance, >, 0.95);
}

static void
test_not_a_picture (void)
{
  g_autoptr(GBytes) junk = g_bytes_new_static ("not a picture", 13);
  g_autoptr(GError) error = NULL;

  g_assert_null (fk_id_photo_new_from_bytes (junk, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

int
main (int argc, char **argv)
{
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/id-photo/frame", test_frame);
  g_test_add_func ("/ui/id-photo/encode", test_encode);
  g_test_add_func ("/ui/id-photo/warnings", test_warnings);
  g_test_add_func ("/ui/id-photo/large", test_large);
  g_test_add_func ("/ui/id-photo/alpha", test_alpha);
  g_test_add_func ("/ui/id-photo/not-a-picture", test_not_a_picture);

  return g_test_run ();
}
