/* bench-net.h — what bench-sync.c and bench-ingest.c share: the bare
 * libmicrohttpd server that is their baseline, folders, and medians.
 * Header-only (static functions) so each bench stays one executable. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <microhttpd.h>

/* ---- the bare server --------------------------------------------------------------- */

/* Reads every request body and throws it away, answers 200 with a short
 * body: the least any HTTP server on this machine can do for an upload.
 * Same libmicrohttpd as the office (internal threads, a pool of `threads`
 * when more than one), so the difference is the office's own work. */
typedef struct {
  struct MHD_Daemon *daemon;
  guint16            port;
  gint               requests;      /* atomic */
  gint               connections;   /* atomic: connections ever opened */
  gint64             body_bytes;    /* atomic-ish (updated under lock) */
  GMutex             lock;
} DiscardServer;

static enum MHD_Result
discard_access_cb (void                  *cls,
                   struct MHD_Connection *conn,
                   const char            *url,
                   const char            *method,
                   const char            *version,
                   const char            *upload_data,
                   size_t                *upload_data_size,
                   void                 **con_cls)
{
  static const char answer[] = "{\"state\":\"discarded\"}";
  DiscardServer *s = cls;
  struct MHD_Response *resp;
  enum MHD_Result ret;

  if (*con_cls == NULL)
    {
      *con_cls = s;   /* any non-NULL marker: headers seen */
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      g_mutex_lock (&s->lock);
      s->body_bytes += (gint64) *upload_data_size;
      g_mutex_unlock (&s->lock);
      *upload_data_size = 0;
      return MHD_YES;
    }
  g_atomic_int_inc (&s->requests);
  resp = MHD_create_response_from_buffer (sizeof answer - 1, (void *) answer, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  ret = MHD_queue_response (conn, MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return ret;
}

static void
discard_connection_cb (void                              *cls,
                       struct MHD_Connection             *conn,
                       void                             **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
  DiscardServer *s = cls;

  if (toe == MHD_CONNECTION_NOTIFY_STARTED)
    g_atomic_int_inc (&s->connections);
}

/* port 0: an ephemeral port. */
static DiscardServer *
discard_server_start (guint16 port,
                      guint   threads)
{
  DiscardServer *s = g_new0 (DiscardServer, 1);
  const union MHD_DaemonInfo *info;
  struct sockaddr_in addr = { 0 };
  struct MHD_OptionItem opts[] = {
    { MHD_OPTION_SOCK_ADDR, 0, &addr },
    { MHD_OPTION_CONNECTION_LIMIT, 512, NULL },
    { MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL },
    { MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL },
    { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) discard_connection_cb, s },
    /* a pool only when asked for more than the one internal thread */
    { threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL },
    { MHD_OPTION_END, 0, NULL },
  };

  g_mutex_init (&s->lock);
  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  /* threads 0: a thread per connection, as the office serves by default */
  s->daemon = MHD_start_daemon (MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                                (threads == 0 ? MHD_USE_THREAD_PER_CONNECTION : 0), port,
                                NULL, NULL, discard_access_cb, s,
                                MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
  if (s->daemon == NULL)
    g_error ("the bare libmicrohttpd server could not start");
  info = MHD_get_daemon_info (s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : port;
  return s;
}

static void
discard_server_stop (DiscardServer *s)
{
  if (s == NULL)
    return;
  MHD_stop_daemon (s->daemon);
  g_mutex_clear (&s->lock);
  g_free (s);
}

/* ---- folders -------------------------------------------------------------------------- */

static void
bench_rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          bench_rm_rf (child);
        }
      g_dir_close (dir);
    }
  g_remove (path);
}

/* A plain recursive copy (files and folders only), so that every round of a
 * bench starts from exactly the same stores. */
static void
bench_copy_tree (const char *from,
                 const char *to)
{
  GDir *dir = g_dir_open (from, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;
      g_autoptr(GError) error = NULL;

      if (!g_file_get_contents (from, &contents, &len, &error) ||
          !g_file_set_contents_full (to, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0600, &error))
        g_error ("copy %s: %s", from, error->message);
      return;
    }
  if (g_mkdir_with_parents (to, 0700) != 0)
    g_error ("mkdir %s: %s", to, g_strerror (errno));
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *a = g_build_filename (from, name, NULL);
      g_autofree char *b = g_build_filename (to, name, NULL);

      bench_copy_tree (a, b);
    }
  g_dir_close (dir);
}

/* Where the bench keeps its folders: --dir, else next to the program in the
 * build tree (the same disk as the checkout, not a /tmp that may be tmpfs). */
static char *
bench_make_dir (const char *opt_dir,
                const char *argv0,
                const char *prefix)
{
  g_autofree char *parent = opt_dir ? g_strdup (opt_dir) : g_path_get_dirname (argv0);
  g_autofree char *tmpl = NULL;
  char *dir;

  g_mkdir_with_parents (parent, 0700);
  tmpl = g_strdup_printf ("%s-XXXXXX", prefix);
  dir = g_build_filename (parent, tmpl, NULL);
  if (g_mkdtemp_full (dir, 0700) == NULL)
    g_error ("cannot make %s: %s", dir, g_strerror (errno));
  return dir;
}

/* ---- numbers -------------------------------------------------------------------------- */

static int
bench_cmp_double (gconstpointer a,
                  gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
bench_median (const double *values,
              guint         n)
{
  g_autofree double *v = g_memdup2 (values, n * sizeof (double));

  if (n == 0)
    return 0;
  qsort (v, n, sizeof (double), (int (*) (const void *, const void *)) bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
bench_now_s (void)
{
  return (double) g_get_monotonic_time () / G_USEC_PER_SEC;
}

/* ---- the machine ---------------------------------------------------------------------- */

/* The 1-minute load average, or -1. */
static double
bench_loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return -1;
  return g_ascii_strtod (text, NULL);
}

/* What one durable commit costs on the disk under `dir` right now: the
 * median of `n` overwrites of 4 KiB followed by fdatasync (what a WAL
 * commit does), in ms.  Context for the figures, not a baseline. */
static double
bench_flush_ms (const char *dir,
                guint       n)
{
  g_autofree char *path = g_build_filename (dir, "flush-probe", NULL);
  g_autofree double *ms = g_new0 (double, n);
  char buf[4096];
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0)
    return -1;
  memset (buf, 0x5a, sizeof buf);
  for (guint i = 0; i < 16; i++)
    if (pwrite (fd, buf, sizeof buf, (off_t) i * sizeof buf) != (ssize_t) sizeof buf)
      break;
  fsync (fd);
  for (guint i = 0; i < n; i++)
    {
      double t = bench_now_s ();

      if (pwrite (fd, buf, sizeof buf, (off_t) (i % 16) * sizeof buf) != (ssize_t) sizeof buf || fdatasync (fd) != 0)
        break;
      ms[i] = (bench_now_s () - t) * 1000;
    }
  close (fd);
  g_unlink (path);
  return bench_median (ms, n);
}
