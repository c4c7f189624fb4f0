/* fk-pdf.h — writing a PDF document to a file safely, for the receipt and
 * the class summary.
 *
 * The document is drawn into a temporary file beside the destination, made
 * durable (fsync) and renamed over it only when everything succeeded, so a
 * full disk or a drawing error never leaves half a document under the
 * name the clerk chose.  The metadata carries only what the caller gives
 * as the title (never personal data).
 */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _FkPdfFile FkPdfFile;

/* what names the document in errors ("the receipt"); mode is the file's
 * permission bits (0600 for documents with names). */
FkPdfFile       *fk_pdf_file_open    (const char  *path,
                                      double       width_pt,
                                      double       height_pt,
                                      const char  *title,
                                      const char  *what,
                                      int          mode,
                                      GError     **error);
cairo_surface_t *fk_pdf_file_surface (FkPdfFile   *file);
/* Finishes the surface (status is the drawing context's), then fsync and
 * rename; frees file in every case.  On failure the destination is untouched. */
gboolean         fk_pdf_file_close   (FkPdfFile      *file,
                                      cairo_status_t  status,
                                      GError        **error);

/* The error for a failed write of document what to path (errno err):
 * FK_STORE_ERROR_FULL, _READ_ONLY or _FAILED with a readable message. */
gboolean         fk_pdf_file_error   (const char  *what,
                                      const char  *path,
                                      int          err,
                                      GError     **error);

G_END_DECLS
