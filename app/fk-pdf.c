/* fk-pdf.c — see fk-pdf.h. */
#include "app/fk-pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <cairo-pdf.h>

#include "app/fk-store.h"
#include "crypto/fk-i18n.h"

struct _FkPdfFile {
  cairo_surface_t *surface;
  char            *path;
  char            *tmp;
  char            *what;
  int              fd;
  int              err;   /* the first errno of a failed write, 0 while all is well */
};

static cairo_status_t
sink_write (void                *closure,
            const unsigned char *bytes,
            unsigned int         length)
{
  FkPdfFile *file = closure;

  while (length > 0 && file->err == 0)
    {
      ssize_t n = write (file->fd, bytes, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          file->err = errno;
          break;
        }
      bytes += n;
      length -= (unsigned int) n;
    }
  return file->err ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

gboolean
fk_pdf_file_error (const char  *what,
                   const char  *path,
                   int          err,
                   GError     **error)
{
  int code = FK_STORE_ERROR_FAILED;

  if (err == ENOSPC || err == EDQUOT)
    code = FK_STORE_ERROR_FULL;
  else if (err == EACCES || err == EPERM || err == EROFS)
    code = FK_STORE_ERROR_READ_ONLY;
  g_set_error (error, FK_STORE_ERROR, code,
               _("Could not write %s to %s: %s."),
               what, path, g_strerror (err));
  return FALSE;
}

static void
pdf_file_free (FkPdfFile *file)
{
  g_free (file->path);
  g_free (file->tmp);
  g_free (file->what);
  g_free (file);
}

FkPdfFile *
fk_pdf_file_open (const char  *path,
                  double       width_pt,
                  double       height_pt,
                  const char  *title,
                  const char  *what,
                  int          mode,
                  GError     **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  FkPdfFile *file;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  file = g_new0 (FkPdfFile, 1);
  file->path = g_strdup (path);
  file->what = g_strdup (what);
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  file->tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  file->fd = g_mkstemp_full (file->tmp, O_RDWR | O_CLOEXEC, mode);
  if (file->fd < 0)
    {
      fk_pdf_file_error (what, path, errno, error);
      pdf_file_free (file);
      return NULL;
    }
  file->surface = cairo_pdf_surface_create_for_stream (sink_write, file, width_pt, height_pt);
  if (title != NULL)
    cairo_pdf_surface_set_metadata (file->surface, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata (file->surface, CAIRO_PDF_METADATA_CREATOR, "FieldKit " FK_VERSION);
  return file;
}

cairo_surface_t *
fk_pdf_file_surface (FkPdfFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->surface;
}

gboolean
fk_pdf_file_close (FkPdfFile      *file,
                   cairo_status_t  status,
                   GError        **error)
{
  gboolean ok = FALSE;

  g_return_val_if_fail (file != NULL, FALSE);

  cairo_surface_finish (file->surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (file->surface);
  cairo_surface_destroy (file->surface);

  if (file->err == 0 && status != CAIRO_STATUS_SUCCESS)
    {
      close (file->fd);
      g_unlink (file->tmp);
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FAILED,
                   _("Could not draw %s: %s."),
                   file->what, cairo_status_to_string (status));
      pdf_file_free (file);
      return FALSE;
    }
  if (file->err == 0 && fsync (file->fd) != 0)
    file->err = errno;
  if (close (file->fd) != 0 && file->err == 0)
    file->err = errno;
  if (file->err == 0 && g_rename (file->tmp, file->path) != 0)
    file->err = errno;
  if (file->err != 0)
    {
      g_unlink (file->tmp);
      fk_pdf_file_error (file->what, file->path, file->err, error);
    }
  else
    ok = TRUE;
  pdf_file_free (file);
  return ok;
}
