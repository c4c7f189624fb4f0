/* bench-sync.c — a device's sync over loopback against plain HTTP uploads of
 * the same photos, and an upload resumed after a cut (docs/PERFORMANCE.md,
 * "Sync upload", "Resume").
 *
 * Upload.  Setup (not timed): an office (fk_office_store_init, in this
 * process, fk_office_server_start on 127.0.0.1) and a device store with
 * --cases sealed cases, each with its own random --photo-kib photo, the
 * device enrolled with fk_sync_enroll.  Both folders are kept as templates;
 * every FieldKit round copies them afresh, so each round uploads the same
 * packets to an office that has none of them.  Timed: fk_sync_run, the whole
 * call (upload, audit log, answers) and, from the progress callback, the
 * upload alone.
 *
 * Baselines, in the same run and the same rounds, against a bare
 * libmicrohttpd server in this process that reads and discards each body:
 *   curl     the curl command line, one invocation, a config file with one
 *            `url` + `upload-file` per photo (PUT, sequential: one
 *            connection, reused), the photos as files in the page cache;
 *   libcurl  one easy handle PUTting the photos from memory (no process
 *            start, no file reads).
 * Figures are MB/s (10^6 bytes) of photo bytes for every side, and
 * FieldKit / curl per round.
 *
 * Ceiling and floor, in the same rounds: "hash" is one BLAKE2b pass over
 * the photos on one core; "floor" adds up the CPU that any implementation
 * of this design must spend per photo — moving the bytes as cheaply as the
 * cheaper baseline did this round (client and bare server), one BLAKE2b pass
 * (the office checks the signed hash, DESIGN §6), one write with fdatasync
 * (acks only for what is on disk), one read back (the device reads its
 * packet), one Ed25519 signature and two verifications (manifest, ack) — and
 * spreads it over every core with no loss.  floor / curl is the most any
 * design could reach against curl on this machine.  Sides take turns (the first side moves each
 * round); medians over rounds are what to quote.
 *
 * Resume.  One sealed case with a large photo (the packet just under
 * --resume-mib MiB, so 1 MiB parts split it evenly).  The office runs with
 * the fault script "hang=0:K,drop=B": K part PUTs go through, the next is
 * cut after B bytes — the middle of the upload.  The device reaches the
 * office through a counting TCP relay in this process, so "bytes the device
 * sent" is measured on the wire, not taken from the device's own count.  The
 * same upload without the fault, through the same relay, is the baseline:
 * bytes sent again = wire bytes with the cut − wire bytes without.
 *
 * Nothing here asserts a timing; this is not a test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <glib.h>

#include "app/fk-packet.h"
#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "bench/bench-net.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-identity.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"
#include "sync/fk-sync.h"

#define ADMIN_PASS "bench office passphrase"
#define ANN_PASS   "ann's bench passphrase"
#define BOB_PASS   "bob's bench passphrase"
#define PART       (1024 * 1024)

/* ---- options ------------------------------------------------------------------ */

static gint opt_cases = 1000;
static gint opt_photo_kib = 200;
static gint opt_rounds = 3;
static gint opt_resume_mib = 8;
static gint opt_resume_rounds = 3;
static gchar *opt_dir = NULL;
static gboolean opt_keep = FALSE;
static gchar *opt_only = NULL;
static gchar *opt_curl = NULL;
static gboolean opt_office_log = FALSE;

static const GOptionEntry options[] = {
  { "cases", 'n', 0, G_OPTION_ARG_INT, &opt_cases, "Sealed cases uploaded per round (default 1000)", "N" },
  { "photo-kib", 0, 0, G_OPTION_ARG_INT, &opt_photo_kib, "Photo size per case in KiB (default 200)", "KIB" },
  { "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds, "Upload rounds; medians are quoted (default 3)", "N" },
  { "resume-mib", 0, 0, G_OPTION_ARG_INT, &opt_resume_mib, "Packet size for the resume test in MiB (default 8)", "MIB" },
  { "resume-rounds", 0, 0, G_OPTION_ARG_INT, &opt_resume_rounds, "Resume rounds (default 3)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Where to make the bench-sync-* folder (default: next to this program)", "DIR" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the folder afterwards", NULL },
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "One part only, for profiling: fieldkit, curl, libcurl, upload (all three) or resume", "PART" },
  { "curl", 0, 0, G_OPTION_ARG_FILENAME, &opt_curl, "The curl program (default: curl on PATH)", "PATH" },
  { "office-log", 0, 0, G_OPTION_ARG_NONE, &opt_office_log, "The office logs each request (time in ms) to stderr, for profiling", NULL },
  { NULL }
};

static gboolean
want (const char *part)
{
  if (opt_only == NULL)
    return TRUE;
  if (g_str_equal (opt_only, "upload"))
    return !g_str_equal (part, "resume");
  return g_str_equal (opt_only, part);
}

/* ---- helpers ------------------------------------------------------------------ */

static void
die_on_error (const char *what,
              GError     *error)
{
  if (error != NULL)
    g_error ("%s: %s", what, error->message);
}

/* A valid national ID number, different for every index below 5.2 × 10^8. */
static char *
national_id (gint64 index)
{
  char letter = (char) ('A' + index % 26);
  char gender = (char) ('1' + (index / 26) % 2);
  gint64 serial = (index / 52) % 10000000;

  for (int check = 0; check < 10; check++)
    {
      g_autofree char *candidate = g_strdup_printf ("%c%c%07" G_GINT64_FORMAT "%d", letter, gender, serial, check);

      if (fk_national_id_check (candidate, NULL, NULL))
        return g_steal_pointer (&candidate);
    }
  g_error ("no check digit fits index %" G_GINT64_FORMAT, index);
  return NULL;
}

static GBytes *
random_photo (gsize size)
{
  guint8 *data = g_malloc (size);

  randombytes_buf (data, size);
  memcpy (data, "\xff\xd8\xff\xe0", MIN (size, 4));   /* looks like a JPEG */
  return g_bytes_new_take (data, size);
}

/* An invite through the office store, as `device invite` makes it. */
static char *
make_invite (FkOfficeStore *store)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *m = NULL;
  char code[21];
  guint8 key[32];

  for (int i = 0; i < 20; i++)
    code[i] = alphabet[randombytes_uniform (32)];
  code[20] = '\0';
  id = fk_invite_id (code);
  m = g_strconcat ("fk-invite-key", code, NULL);
  fk_hash ((const guint8 *) m, strlen (m), key);
  if (!fk_office_store_add_invite (store, id, "bench tablet", key,
                                   g_get_real_time () / G_USEC_PER_SEC + 3600, &error))
    die_on_error ("add invite", error);
  return g_strdup (code);
}

static FkOfficeServer *
office_start (FkOfficeStore *store,
              FkOfficeKeys  *keys,
              guint16        port,
              const char    *faults)
{
  g_autoptr(GError) error = NULL;
  FkOfficeServerOptions so = { 0 };
  FkOfficeServer *server;

  so.address = "127.0.0.1";
  so.port = port;
  so.quiet = !opt_office_log;
  so.faults = faults;
  /* The port was just closed by the previous round: retry a moment. */
  for (int attempt = 0; ; attempt++)
    {
      g_clear_error (&error);
      server = fk_office_server_start (store, keys, &so, &error);
      if (server != NULL || attempt == 50)
        break;
      g_usleep (100 * 1000);
    }
  die_on_error ("start office", error);
  return server;
}

/* A device folder: two operators, an outing, enrolled at `url`, and one
 * sealed case per photo.  Sealing builds each packet (the device is
 * enrolled first).  Batches keep setup to a few disk syncs. */
static void
device_make (const char    *dir,
             const char    *url,
             FkOfficeStore *office_store,
             FkOfficeKeys  *keys,
             GBytes       **photos,
             guint          n,
             gint64         id_base)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = fk_store_open (dir, &error);
  g_autofree char *recovery = NULL;
  g_autofree char *outing = NULL;
  g_autofree char *code = make_invite (office_store);
  g_autofree gint64 *ids = g_new0 (gint64, n);
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);

  die_on_error ("open device", error);
  if (!fk_store_init_device (store, "ann", "Chen Mei-ling", ANN_PASS, "TCN", 1, &recovery, &error) ||
      !fk_store_operator_add (store, "bob", "Lin Chih-hao", FK_ROLE_SUPERVISOR, BOB_PASS, &error) ||
      !fk_store_set_setting (store, "limit_waiting", "1000000", &error))
    die_on_error ("device setup", error);
  outing = fk_store_outing_new (store, "home_visit", "Bench visits", "2026-11-26", "Beitun", &error);
  die_on_error ("outing", error);
  if (!fk_sync_enroll (store, url, code, keys->fingerprint, "bench tablet", &error))
    die_on_error ("fk_sync_enroll", error);

  g_hash_table_insert (fields, "reason", "damaged");
  if (!fk_store_begin_batch (store, &error))
    die_on_error ("batch", error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *pid = national_id (id_base + i);
      g_autofree char *name = g_strdup_printf ("Bench Person %u", i + 1);
      FkCaseInput in = {
        .outing_id = outing, .service = "id_card_replace", .person_id = pid, .name = name,
        .birth_date = "1950-03-04", .fields = fields, .photo = photos[i], .photo_mime = "image/jpeg",
      };

      ids[i] = fk_store_case_new (store, &in, &error);
      if (ids[i] <= 0 ||
          !fk_store_case_tick (store, ids[i], NULL, TRUE, &error) ||
          !fk_store_case_check (store, ids[i], &error))
        die_on_error ("case", error);
    }
  if (!fk_store_end_batch (store, TRUE, &error) ||
      !fk_store_unlock (store, "bob", BOB_PASS, &error) ||
      !fk_store_begin_batch (store, &error))
    die_on_error ("batch", error);
  for (guint i = 0; i < n; i++)
    if (!fk_store_case_approve (store, ids[i], &error))
      die_on_error ("approve", error);
  if (!fk_store_end_batch (store, TRUE, &error) ||
      !fk_store_unlock (store, "ann", ANN_PASS, &error) ||
      !fk_store_begin_batch (store, &error))
    die_on_error ("batch", error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *receipt = NULL;

      if (!fk_store_case_finalize (store, ids[i], &receipt, &error))
        die_on_error ("finalize", error);
    }
  if (!fk_store_end_batch (store, TRUE, &error))
    die_on_error ("batch", error);
}

/* ---- the FieldKit side ------------------------------------------------------------ */

typedef struct {
  double  start;
  double  last_ack;      /* when the last packet was acknowledged */
  guint   acks;
  GArray *offsets;       /* gsize: every `done` reported, for the resume story */
} Progress;

static void
progress_cb (const char *packet_id,
             gsize       done,
             gsize       total,
             gpointer    user_data)
{
  Progress *p = user_data;

  if (p->offsets)
    g_array_append_val (p->offsets, done);
  if (done == total)
    {
      p->acks++;
      p->last_ack = bench_now_s ();
    }
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
thread_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU of this thread to write every photo to one new file and fdatasync
 * it (the least an office that acks only what is on disk must spend), then
 * to read it all back (the least a device must spend to read its packets
 * from its own store). */
static void
store_cpu_seconds (const char *dir,
                   GBytes    **photos,
                   guint       n,
                   double     *write_cpu,
                   double     *read_cpu)
{
  g_autofree char *path = g_build_filename (dir, "floor-write.bin", NULL);
  double c0 = thread_cpu_seconds ();
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  gsize max = 0;
  off_t at = 0;

  if (fd < 0)
    g_error ("open %s: %s", path, g_strerror (errno));
  for (guint i = 0; i < n; i++)
    {
      gsize len = 0;
      const guint8 *p = g_bytes_get_data (photos[i], &len);

      max = MAX (max, len);
      while (len > 0)
        {
          ssize_t w = write (fd, p, len);

          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            g_error ("write %s: %s", path, g_strerror (errno));
          p += w;
          len -= (gsize) w;
        }
    }
  if (fdatasync (fd) != 0)
    g_error ("fdatasync %s: %s", path, g_strerror (errno));
  *write_cpu = thread_cpu_seconds () - c0;

  {
    g_autofree guint8 *buf = g_malloc (max);

    c0 = thread_cpu_seconds ();
    for (guint i = 0; i < n; i++)
      {
        gsize len = g_bytes_get_size (photos[i]);

        if (pread (fd, buf, len, at) != (ssize_t) len)
          g_error ("pread %s: %s", path, g_strerror (errno));
        at += (off_t) len;
      }
    *read_cpu = thread_cpu_seconds () - c0;
  }
  close (fd);
  g_unlink (path);
}

/* CPU of this thread for the signatures every packet needs whatever the
 * implementation (DESIGN §5–6): the office verifies the device's signature
 * over the manifest, signs the ack, and the device verifies the ack. */
static double
signature_cpu_seconds (guint n)
{
  g_autoptr(FkIdentity) device = fk_identity_generate (NULL);
  g_autoptr(FkIdentity) office = fk_identity_generate (NULL);
  guint8 manifest[600], ack[300], sig[crypto_sign_BYTES], ack_sig[crypto_sign_BYTES];
  double c0;

  randombytes_buf (manifest, sizeof manifest);
  randombytes_buf (ack, sizeof ack);
  fk_identity_sign (device, manifest, sizeof manifest, sig);
  c0 = thread_cpu_seconds ();
  for (guint i = 0; i < n; i++)
    {
      ack[0] = (guint8) i;
      if (!fk_signature_verify (fk_identity_public_key (device), manifest, sizeof manifest, sig))
        g_error ("manifest signature does not verify");
      fk_identity_sign (office, ack, sizeof ack, ack_sig);
      if (!fk_signature_verify (fk_identity_public_key (office), ack, sizeof ack, ack_sig))
        g_error ("ack signature does not verify");
    }
  return thread_cpu_seconds () - c0;
}

typedef struct {
  double   seconds;          /* fk_sync_run, whole call */
  double   cpu;              /* CPU seconds of this process (device + office) */
  double   upload_seconds;   /* to the last ack */
  guint    uploaded;
  gsize    bytes_sent;
  gint64   rows;
  gboolean ok;
  char    *error;
} SyncRound;

/* Copies the templates, starts the office, runs fk_sync_run on the copy. */
static SyncRound
round_fieldkit (const char   *office_template,
                const char   *device_template,
                const char   *work,
                FkOfficeKeys *keys,
                guint16       port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *office_dir = g_build_filename (work, "office", NULL);
  g_autofree char *device_dir = g_build_filename (work, "device", NULL);
  g_autoptr(FkOfficeStore) office = NULL;
  g_autoptr(FkStore) store = NULL;
  FkOfficeServer *server;
  FkSyncReport report = { 0 };
  Progress progress = { 0 };
  SyncRound out = { 0 };

  bench_rm_rf (work);
  bench_copy_tree (office_template, office_dir);
  bench_copy_tree (device_template, device_dir);
  sync ();
  office = fk_office_store_open (office_dir, &error);
  die_on_error ("open office", error);
  server = office_start (office, keys, port, NULL);
  store = fk_store_open (device_dir, &error);
  die_on_error ("open device", error);
  if (!fk_store_unlock (store, "ann", ANN_PASS, &error))
    die_on_error ("unlock", error);

  out.cpu = cpu_seconds ();
  progress.start = bench_now_s ();
  out.ok = fk_sync_run (store, progress_cb, &progress, &report, NULL, &error);
  out.seconds = bench_now_s () - progress.start;
  out.cpu = cpu_seconds () - out.cpu;
  out.upload_seconds = progress.last_ack - progress.start;
  out.uploaded = report.uploaded;
  out.bytes_sent = report.bytes_sent;
  if (error)
    out.error = g_strdup (error->message);
  fk_sync_report_clear (&report);
  g_clear_pointer (&store, fk_store_close);
  fk_office_server_stop (server, 5);
  out.rows = fk_office_store_count_packets (office);
  g_clear_pointer (&office, fk_office_store_free);
  if (!opt_keep)
    bench_rm_rf (work);
  return out;
}

/* ---- the baselines ---------------------------------------------------------------- */

static size_t
sink_cb (char   *data,
         size_t  size,
         size_t  n,
         void   *user)
{
  return size * n;
}

typedef struct {
  double seconds;
  guint  requests;
  guint  connections;
  gint64 body_bytes;
  double cpu;            /* the client (curl's process or libcurl) and the bare server together */
} PlainRound;

static double
children_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static PlainRound
round_libcurl (GBytes **photos,
               guint    n)
{
  DiscardServer *bare = discard_server_start (0, 1);
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = curl_slist_append (NULL, "Expect:");
  PlainRound out = { 0 };
  double t;

  headers = curl_slist_append (headers, "Content-Type: image/jpeg");
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, sink_cb);
  out.cpu = cpu_seconds ();
  t = bench_now_s ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/photos/%04u.jpg", bare->port, i + 1);
      long status = 0;

      curl_easy_setopt (curl, CURLOPT_URL, url);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, g_bytes_get_data (photos[i], NULL));
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) g_bytes_get_size (photos[i]));
      if (curl_easy_perform (curl) != CURLE_OK ||
          (curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status), status != 200))
        g_error ("libcurl PUT %u failed", i + 1);
    }
  out.seconds = bench_now_s () - t;
  out.cpu = cpu_seconds () - out.cpu;
  curl_slist_free_all (headers);
  curl_easy_cleanup (curl);
  out.requests = (guint) g_atomic_int_get (&bare->requests);
  out.connections = (guint) g_atomic_int_get (&bare->connections);
  out.body_bytes = bare->body_bytes;
  discard_server_stop (bare);
  return out;
}

/* `curl -K config`: one process, the transfers one after another on one
 * connection (no --parallel). */
static PlainRound
round_curl (const char *photo_dir,
            const char *work,
            guint       n)
{
  DiscardServer *bare = discard_server_start (0, 1);
  g_autofree char *config = g_build_filename (work, "curl.config", NULL);
  GString *text = g_string_new ("silent\nshow-error\nfail\nheader = \"Expect:\"\nheader = \"Content-Type: image/jpeg\"\n");
  g_autoptr(GError) error = NULL;
  const char *argv[] = { opt_curl ? opt_curl : "curl", "-K", config, NULL };
  PlainRound out = { 0 };
  int status = 0;
  double t;

  g_mkdir_with_parents (work, 0700);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text,
                            "url = \"http://127.0.0.1:%u/photos/%04u.jpg\"\n"
                            "upload-file = \"%s/photo-%04u.jpg\"\n"
                            "output = \"/dev/null\"\n",
                            bare->port, i + 1, photo_dir, i + 1);
  if (!g_file_set_contents (config, text->str, (gssize) text->len, &error))
    die_on_error ("curl config", error);
  g_string_free (text, TRUE);

  out.cpu = cpu_seconds () + children_cpu_seconds ();
  t = bench_now_s ();
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &error))
    die_on_error ("spawn curl", error);
  out.seconds = bench_now_s () - t;
  out.cpu = cpu_seconds () + children_cpu_seconds () - out.cpu;
  if (!g_spawn_check_wait_status (status, &error))
    die_on_error ("curl", error);
  out.requests = (guint) g_atomic_int_get (&bare->requests);
  out.connections = (guint) g_atomic_int_get (&bare->connections);
  out.body_bytes = bare->body_bytes;
  discard_server_stop (bare);
  g_unlink (config);
  return out;
}

/* ---- the counting relay (resume) ---------------------------------------------------- */

typedef struct {
  int          listen_fd;
  guint16      port;
  guint16      upstream;
  gint64       up_bytes;       /* device → office, under lock */
  gint64       packet_body;    /* of that, bodies of PUT /v1/packets/… */
  guint        packet_puts;    /* PUT /v1/packets/… requests begun */
  guint        connections;
  GMutex       lock;
  gint         stop;           /* atomic */
  GThread     *acceptor;
} Relay;

typedef struct {
  Relay   *relay;
  int      down;               /* the device's connection */
  int      up;                 /* ours to the office */
  /* A small HTTP/1.1 request parser over the device's bytes, enough for
   * libcurl's requests (Content-Length bodies, no chunking). */
  GString *head;               /* the request head being read */
  guint64  body_left;          /* bytes of the current body still to come */
  gboolean packet_put;         /* the current request is PUT /v1/packets/… */
} Pipe;

/* Counts the device's bytes: which are bodies of packet PUTs. */
static void
pipe_parse (Pipe       *p,
            const char *buf,
            gsize       len)
{
  while (len > 0)
    {
      if (p->body_left > 0)
        {
          gsize n = (gsize) MIN ((guint64) len, p->body_left);

          if (p->packet_put)
            {
              g_mutex_lock (&p->relay->lock);
              p->relay->packet_body += (gint64) n;
              g_mutex_unlock (&p->relay->lock);
            }
          p->body_left -= n;
          buf += n;
          len -= n;
          continue;
        }
      g_string_append_c (p->head, *buf);
      buf++;
      len--;
      if (g_str_has_suffix (p->head->str, "\r\n\r\n"))
        {
          const char *cl = strstr (p->head->str, "\r\nContent-Length:");

          if (cl == NULL)
            cl = strstr (p->head->str, "\r\ncontent-length:");
          p->body_left = cl ? g_ascii_strtoull (cl + 17, NULL, 10) : 0;
          p->packet_put = g_str_has_prefix (p->head->str, "PUT /v1/packets/");
          if (p->packet_put)
            {
              g_mutex_lock (&p->relay->lock);
              p->relay->packet_puts++;
              g_mutex_unlock (&p->relay->lock);
            }
          g_string_truncate (p->head, 0);
        }
    }
}

static gboolean
write_fully (int           fd,
             const char   *buf,
             gsize         len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, buf, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gpointer
pipe_run (gpointer data)
{
  Pipe *p = data;
  char buf[65536];

  for (;;)
    {
      struct pollfd fds[2] = { { p->down, POLLIN, 0 }, { p->up, POLLIN, 0 } };
      int rc = poll (fds, 2, 200);

      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0 || g_atomic_int_get (&p->relay->stop))
        break;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = recv (p->down, buf, sizeof buf, 0);

          if (n <= 0)
            break;
          g_mutex_lock (&p->relay->lock);
          p->relay->up_bytes += n;
          g_mutex_unlock (&p->relay->lock);
          pipe_parse (p, buf, (gsize) n);
          if (!write_fully (p->up, buf, (gsize) n))
            break;
        }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = recv (p->up, buf, sizeof buf, 0);

          if (n <= 0 || !write_fully (p->down, buf, (gsize) n))
            break;
        }
    }
  close (p->down);
  close (p->up);
  g_string_free (p->head, TRUE);
  g_free (p);
  return NULL;
}

static gpointer
relay_accept (gpointer data)
{
  Relay *r = data;

  while (!g_atomic_int_get (&r->stop))
    {
      struct pollfd pfd = { r->listen_fd, POLLIN, 0 };
      struct sockaddr_in addr = { 0 };
      int down, up, one = 1;

      if (poll (&pfd, 1, 100) <= 0)
        continue;
      down = accept (r->listen_fd, NULL, NULL);
      if (down < 0)
        continue;
      up = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      addr.sin_family = AF_INET;
      addr.sin_port = htons (r->upstream);
      addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      if (up < 0 || connect (up, (struct sockaddr *) &addr, sizeof addr) != 0)
        {
          close (down);
          if (up >= 0)
            close (up);
          continue;
        }
      setsockopt (down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt (up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      {
        Pipe *p = g_new0 (Pipe, 1);

        p->relay = r;
        p->down = down;
        p->up = up;
        p->head = g_string_new (NULL);
        g_mutex_lock (&r->lock);
        r->connections++;
        g_mutex_unlock (&r->lock);
        g_thread_unref (g_thread_new ("relay", pipe_run, p));
      }
    }
  return NULL;
}

static Relay *
relay_start (guint16 port,
             guint16 upstream)
{
  Relay *r = g_new0 (Relay, 1);
  struct sockaddr_in addr = { 0 };
  int one = 1;

  g_mutex_init (&r->lock);
  r->upstream = upstream;
  r->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (int attempt = 0; bind (r->listen_fd, (struct sockaddr *) &addr, sizeof addr) != 0; attempt++)
    {
      if (attempt == 50)
        g_error ("relay cannot bind 127.0.0.1:%u: %s", port, g_strerror (errno));
      g_usleep (100 * 1000);
    }
  if (listen (r->listen_fd, 16) != 0)
    g_error ("listen: %s", g_strerror (errno));
  r->port = port;
  r->acceptor = g_thread_new ("relay-accept", relay_accept, r);
  return r;
}

/* Stops the relay; the counts are left in *counts (a copy of the relay). */
static void
relay_stop (Relay *r,
            Relay *counts)
{
  g_atomic_int_set (&r->stop, 1);
  g_thread_join (r->acceptor);
  close (r->listen_fd);
  g_usleep (300 * 1000);   /* the pipes notice `stop` within one poll */
  g_mutex_lock (&r->lock);
  *counts = *r;
  g_mutex_unlock (&r->lock);
  g_mutex_clear (&r->lock);
  g_free (r);
}

typedef struct {
  gint64   wire_bytes;      /* everything the device sent */
  gint64   packet_body;     /* of that, bodies of packet PUTs */
  guint    packet_puts;
  guint    connections;
  gsize    bytes_sent;      /* FkSyncReport.bytes_sent */
  gsize    packet_size;
  guint    uploaded;
  gint64   rows;
  GString *offsets;         /* "0, 1048576, …" as the device reported them */
} ResumeRound;

static ResumeRound
round_resume (const char   *office_template,
              const char   *device_template,
              const char   *work,
              FkOfficeKeys *keys,
              guint16       port,
              const char   *faults)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *office_dir = g_build_filename (work, "office", NULL);
  g_autofree char *device_dir = g_build_filename (work, "device", NULL);
  g_autoptr(FkOfficeStore) office = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  FkOfficeServer *server;
  FkSyncReport report = { 0 };
  Progress progress = { 0 };
  ResumeRound out = { 0 };
  Relay *relay;

  bench_rm_rf (work);
  bench_copy_tree (office_template, office_dir);
  bench_copy_tree (device_template, device_dir);
  office = fk_office_store_open (office_dir, &error);
  die_on_error ("open office", error);
  server = office_start (office, keys, 0, faults);
  relay = relay_start (port, fk_office_server_port (server));
  store = fk_store_open (device_dir, &error);
  die_on_error ("open device", error);
  if (!fk_store_unlock (store, "ann", ANN_PASS, &error))
    die_on_error ("unlock", error);
  outbox = fk_store_outbox (store, FALSE, &error);
  die_on_error ("outbox", error);
  out.packet_size = outbox->len ? ((FkOutboxItem *) outbox->pdata[0])->size : 0;

  progress.offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  fk_sync_run (store, progress_cb, &progress, &report, NULL, &error);
  if (error)
    fprintf (stderr, "  resume: fk_sync_run: %s\n", error->message);
  out.bytes_sent = report.bytes_sent;
  out.uploaded = report.uploaded;
  out.offsets = g_string_new (NULL);
  for (guint i = 0; i < progress.offsets->len; i++)
    g_string_append_printf (out.offsets, "%s%.1f", i ? " " : "",
                            (double) g_array_index (progress.offsets, gsize, i) / PART);
  g_array_unref (progress.offsets);
  fk_sync_report_clear (&report);
  g_clear_pointer (&store, fk_store_close);
  fk_office_server_stop (server, 5);
  {
    Relay counts;

    relay_stop (relay, &counts);
    out.wire_bytes = counts.up_bytes;
    out.packet_body = counts.packet_body;
    out.packet_puts = counts.packet_puts;
    out.connections = counts.connections;
  }
  out.rows = fk_office_store_count_packets (office);
  g_clear_pointer (&office, fk_office_store_free);
  if (!opt_keep)
    bench_rm_rf (work);
  return out;
}

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— sync upload against curl, and resume after a cut");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *photo_dir = NULL;
  g_autofree char *office_template = NULL;
  g_autofree char *device_template = NULL;
  g_autofree char *resume_template = NULL;
  g_autofree char *url = NULL;
  g_autofree GBytes **photos = NULL;
  g_autoptr(FkOfficeStore) office = NULL;
  FkOfficeKeys *keys;
  FkOfficeServer *server;
  char *recovery = NULL;
  gsize photo_size = (gsize) opt_photo_kib * 1024;
  guint16 port;
  double t;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (ctx, options, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  if (opt_cases < 1 || opt_photo_kib < 1 || opt_rounds < 1 || opt_resume_mib < 2 || opt_resume_rounds < 1 ||
      (opt_only && !g_strv_contains ((const char *const[]) { "fieldkit", "curl", "libcurl", "upload", "resume", NULL }, opt_only)))
    {
      fprintf (stderr, "bad options\n");
      return 2;
    }
  photo_size = (gsize) opt_photo_kib * 1024;
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  /* Retries after the cut start at once (the wait is not what is measured). */
  g_setenv ("FIELDKIT_BACKOFF_BASE_MS", "10", TRUE);
  if (!fk_crypto_init (&error))
    die_on_error ("crypto", error);
  curl_global_init (CURL_GLOBAL_DEFAULT);

  dir = bench_make_dir (opt_dir, argv[0], "bench-sync");
  photo_dir = g_build_filename (dir, "photos", NULL);
  office_template = g_build_filename (dir, "office-template", NULL);
  device_template = g_build_filename (dir, "device-template", NULL);
  resume_template = g_build_filename (dir, "resume-template", NULL);
  printf ("bench-sync: %d cases with a %d KiB photo each, %d rounds; resume of a %d MiB packet, %d rounds; in %s\n",
          opt_cases, opt_photo_kib, opt_rounds, opt_resume_mib, opt_resume_rounds, dir);

  /* ---- setup (not timed) ---- */
  t = bench_now_s ();
  photos = g_new0 (GBytes *, opt_cases);
  g_mkdir_with_parents (photo_dir, 0700);
  for (gint i = 0; i < opt_cases; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/photo-%04d.jpg", photo_dir, i + 1);

      photos[i] = random_photo (photo_size);
      if (!g_file_set_contents (path, g_bytes_get_data (photos[i], NULL), (gssize) photo_size, &error))
        die_on_error ("photo file", error);
    }
  office = fk_office_store_open (office_template, &error);
  die_on_error ("open office", error);
  keys = fk_office_store_init (office, "TCN", "bench", ADMIN_PASS, &recovery, &error);
  die_on_error ("init office", error);
  fk_recovery_key_free (recovery);
  server = office_start (office, keys, 0, NULL);
  port = fk_office_server_port (server);
  url = g_strdup_printf ("http://127.0.0.1:%u", port);
  if (want ("fieldkit"))
    device_make (device_template, url, office, keys, photos, (guint) opt_cases, 1000);
  if (want ("resume"))
    {
      /* Just under N MiB, so N parts of 1 MiB. */
      g_autoptr(GBytes) big = random_photo ((gsize) opt_resume_mib * PART - 16 * 1024);
      GBytes *one[1] = { big };

      device_make (resume_template, url, office, keys, one, 1, 500000);
    }
  fk_office_server_stop (server, 5);
  g_clear_pointer (&office, fk_office_store_free);
  printf ("setup: %.1f s; office on %s\n", bench_now_s () - t, url);
  printf ("machine: load average %.1f; one 4 KiB fdatasync in %s: median %.2f ms\n\n",
          bench_loadavg (), dir, bench_flush_ms (dir, 40));

  if (want ("fieldkit") || want ("curl") || want ("libcurl"))
    {
      g_autofree double *fk_mbs = g_new0 (double, opt_rounds);
      g_autofree double *fk_up_mbs = g_new0 (double, opt_rounds);
      g_autofree double *curl_mbs = g_new0 (double, opt_rounds);
      g_autofree double *lib_mbs = g_new0 (double, opt_rounds);
      g_autofree double *ratio = g_new0 (double, opt_rounds);
      g_autofree double *ratio_up = g_new0 (double, opt_rounds);
      g_autofree double *ratio_lib = g_new0 (double, opt_rounds);
      g_autofree double *hash_mbs = g_new0 (double, opt_rounds);
      g_autofree double *ratio_hash = g_new0 (double, opt_rounds);
      g_autofree double *hash_cpu = g_new0 (double, opt_rounds);
      g_autofree double *write_cpu = g_new0 (double, opt_rounds);
      g_autofree double *read_cpu = g_new0 (double, opt_rounds);
      g_autofree double *sign_cpu = g_new0 (double, opt_rounds);
      g_autofree double *floor_mbs = g_new0 (double, opt_rounds);
      g_autofree double *ratio_floor = g_new0 (double, opt_rounds);
      guint ncores = g_get_num_processors ();
      double photo_mb = (double) photo_size * opt_cases / 1e6;
      const char *order[3] = { "curl", "libcurl", "fieldkit" };

      printf ("Upload: %.1f MB of photo bytes per side per round (MB = 10^6 bytes)\n", photo_mb);
      printf ("%-6s %-9s %9s %9s  %s\n", "round", "side", "seconds", "MB/s", "notes");
      for (gint r = 0; r < opt_rounds; r++)
        {
          double move_curl_cpu = 0, move_lib_cpu = 0;

          for (gint k = 0; k < 3; k++)
            {
              const char *side = order[(k + r) % 3];

              if (!want (side))
                continue;
              if (g_str_equal (side, "fieldkit"))
                {
                  g_autofree char *work = g_strdup_printf ("%s/round-%d", dir, r + 1);
                  SyncRound s = round_fieldkit (office_template, device_template, work, keys, port);

                  fk_mbs[r] = photo_mb / s.seconds;
                  fk_up_mbs[r] = photo_mb / s.upload_seconds;
                  printf ("%-6d %-9s %9.3f %9.1f  fk_sync_run %s; %u uploaded, %" G_GINT64_FORMAT " rows at the office, "
                          "%.1f MB sent; to the last ack %.3f s = %.1f MB/s; CPU %.2f s%s%s\n",
                          r + 1, "FieldKit", s.seconds, fk_mbs[r], s.ok ? "TRUE" : "FALSE", s.uploaded, s.rows,
                          (double) s.bytes_sent / 1e6, s.upload_seconds, fk_up_mbs[r], s.cpu,
                          s.error ? "; error: " : "", s.error ? s.error : "");
                  g_free (s.error);
                }
              else if (g_str_equal (side, "curl"))
                {
                  g_autofree char *work = g_strdup_printf ("%s/curl", dir);
                  PlainRound c = round_curl (photo_dir, work, (guint) opt_cases);

                  curl_mbs[r] = photo_mb / c.seconds;
                  move_curl_cpu = c.cpu;
                  printf ("%-6d %-9s %9.3f %9.1f  %u PUTs, %u connection(s), %.1f MB received; CPU %.2f s (curl and server)\n",
                          r + 1, "curl", c.seconds, curl_mbs[r], c.requests, c.connections, c.body_bytes / 1e6, c.cpu);
                }
              else
                {
                  PlainRound c = round_libcurl (photos, (guint) opt_cases);

                  lib_mbs[r] = photo_mb / c.seconds;
                  move_lib_cpu = c.cpu;
                  printf ("%-6d %-9s %9.3f %9.1f  %u PUTs, %u connection(s), %.1f MB received; CPU %.2f s (libcurl and server)\n",
                          r + 1, "libcurl", c.seconds, lib_mbs[r], c.requests, c.connections, c.body_bytes / 1e6, c.cpu);
                }
              fflush (stdout);
            }
          /* A ceiling, not a side: the office must hash every byte of a
           * packet at least once to check the device's signature over it
           * (PROTOCOL §4.3, DESIGN §5–6), and write every byte at least
           * once before it acks.  The floor adds the CPU of the cheapest
           * way measured this round to move the bytes over loopback
           * (curl's or libcurl's client plus the bare server), one BLAKE2b
           * pass and one write with fdatasync, and spreads it over every
           * core with no loss: no implementation of this design can be
           * faster on this machine. */
          {
            gint64 t0 = g_get_monotonic_time ();
            double c0 = thread_cpu_seconds ();
            guint8 h[32];
            double move_cpu = 0;

            for (gint i = 0; i < opt_cases; i++)
              fk_hash (g_bytes_get_data (photos[i], NULL), g_bytes_get_size (photos[i]), h);
            hash_mbs[r] = photo_mb / ((double) (g_get_monotonic_time () - t0) / 1e6);
            hash_cpu[r] = thread_cpu_seconds () - c0;
            printf ("%-6d %-9s %9.3f %9.1f  ceiling: BLAKE2b-256 of every photo once, one core\n",
                    r + 1, "hash", photo_mb / hash_mbs[r], hash_mbs[r]);
            store_cpu_seconds (dir, photos, (guint) opt_cases, &write_cpu[r], &read_cpu[r]);
            sign_cpu[r] = signature_cpu_seconds ((guint) opt_cases);
            if (move_curl_cpu > 0 && (move_lib_cpu <= 0 || move_curl_cpu < move_lib_cpu))
              move_cpu = move_curl_cpu;
            else
              move_cpu = move_lib_cpu;
            if (move_cpu > 0)
              {
                double total = move_cpu + hash_cpu[r] + write_cpu[r] + read_cpu[r] + sign_cpu[r];

                floor_mbs[r] = photo_mb / (total / ncores);
                printf ("%-6d %-9s %9.3f %9.1f  floor: CPU to move the bytes %.3f s + one BLAKE2b pass %.3f s"
                        " + write and fdatasync %.3f s + read back %.3f s + 1 signature and 2 verifications"
                        " a packet %.3f s = %.3f s, over %u cores with no loss\n",
                        r + 1, "floor", total / ncores, floor_mbs[r], move_cpu, hash_cpu[r], write_cpu[r],
                        read_cpu[r], sign_cpu[r], total, ncores);
              }
          }
          if (curl_mbs[r] > 0)
            {
              ratio_hash[r] = hash_mbs[r] / curl_mbs[r];
              ratio_floor[r] = floor_mbs[r] / curl_mbs[r];
              ratio[r] = fk_mbs[r] / curl_mbs[r];
              ratio_up[r] = fk_up_mbs[r] / curl_mbs[r];
            }
          if (lib_mbs[r] > 0)
            ratio_lib[r] = fk_mbs[r] / lib_mbs[r];
        }
      printf ("\nload average %.1f; one 4 KiB fdatasync: median %.2f ms\n", bench_loadavg (), bench_flush_ms (dir, 40));
      printf ("medians over %d rounds (MB/s of photo bytes):\n", opt_rounds);
      if (want ("curl"))
        printf ("  curl command line -> bare libmicrohttpd: %8.1f\n", bench_median (curl_mbs, (guint) opt_rounds));
      if (want ("libcurl"))
        printf ("  libcurl, one handle -> bare server:      %8.1f\n", bench_median (lib_mbs, (guint) opt_rounds));
      if (want ("fieldkit"))
        printf ("  FieldKit fk_sync_run (whole call):       %8.1f\n"
                "  FieldKit, to the last ack:               %8.1f\n",
                bench_median (fk_mbs, (guint) opt_rounds), bench_median (fk_up_mbs, (guint) opt_rounds));
      if (want ("fieldkit") && want ("curl"))
        printf ("  FieldKit / curl (per-round ratio):       %8.3f   goal >= 0.8: %s\n"
                "  FieldKit to last ack / curl:             %8.3f\n",
                bench_median (ratio, (guint) opt_rounds),
                bench_median (ratio, (guint) opt_rounds) >= 0.8 ? "met" : "NOT met",
                bench_median (ratio_up, (guint) opt_rounds));
      if (want ("fieldkit") && want ("libcurl"))
        printf ("  FieldKit / libcurl:                      %8.3f\n", bench_median (ratio_lib, (guint) opt_rounds));
      printf ("  ceiling: one BLAKE2b pass, one core:     %8.1f\n", bench_median (hash_mbs, (guint) opt_rounds));
      if (want ("curl"))
        printf ("  ceiling / curl (per-round ratio):        %8.3f   (the office hashes each byte twice, §4.3)\n",
                bench_median (ratio_hash, (guint) opt_rounds));
      if (want ("curl"))
        printf ("  floor, best any design could do:         %8.1f\n"
                "  floor / curl (per-round ratio):          %8.3f   (move, hash once, write, read, sign and verify; %u cores, no loss)\n",
                bench_median (floor_mbs, (guint) opt_rounds), bench_median (ratio_floor, (guint) opt_rounds), ncores);
      printf ("\n");
    }

  if (want ("resume"))
    {
      guint parts = (guint) opt_resume_mib;
      guint cut_after = parts / 2;
      /* The first `cut_after` part PUTs go through; the next one is cut
       * half way through its body. */
      g_autofree char *faults = g_strdup_printf ("hang=0:%u,drop=%u", cut_after, PART / 2);
      g_autofree double *again = g_new0 (double, opt_resume_rounds);
      g_autofree double *again_wire = g_new0 (double, opt_resume_rounds);
      g_autofree double *again_report = g_new0 (double, opt_resume_rounds);

      printf ("Resume: a packet in %u parts of 1 MiB, fault \"%s\" (cut in part %u), through a counting relay\n",
              parts, faults, cut_after + 1);
      printf ("%-6s %-6s %10s %10s %10s %5s %5s %10s %6s  %s\n", "round", "run", "packet", "PUT bodies", "all bytes",
              "PUTs", "conns", "bytes_sent", "stored", "offsets the device reported (MiB)");
      for (gint r = 0; r < opt_resume_rounds; r++)
        {
          ResumeRound runs[2];

          for (gint k = 0; k < 2; k++)
            {
              /* Alternate which run goes first. */
              gboolean cut = (k == 0) == (r % 2 == 0);
              g_autofree char *work = g_strdup_printf ("%s/resume-%d-%s", dir, r + 1, cut ? "cut" : "clean");
              ResumeRound *rr = &runs[cut ? 1 : 0];

              *rr = round_resume (office_template, resume_template, work, keys, port, cut ? faults : NULL);
              printf ("%-6d %-6s %10" G_GSIZE_FORMAT " %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT " %5u %5u %10" G_GSIZE_FORMAT " %6s  %s\n",
                      r + 1, cut ? "cut" : "clean", rr->packet_size, rr->packet_body, rr->wire_bytes,
                      rr->packet_puts, rr->connections, rr->bytes_sent,
                      rr->rows == 1 && rr->uploaded == 1 ? "yes" : "NO", rr->offsets->str);
            }
          again[r] = (double) runs[1].packet_body - (double) runs[1].packet_size;
          again_wire[r] = (double) (runs[1].wire_bytes - runs[0].wire_bytes);
          again_report[r] = (double) runs[1].bytes_sent - (double) runs[1].packet_size;
          printf ("%-6d packet bytes sent again: %.0f (%.3f of a part); all bytes, cut − clean: %.0f; "
                  "FkSyncReport.bytes_sent − size: %.0f\n",
                  r + 1, again[r], again[r] / PART, again_wire[r], again_report[r]);
          g_string_free (runs[0].offsets, TRUE);
          g_string_free (runs[1].offsets, TRUE);
        }
      printf ("\nmedians over %d rounds: packet bytes sent again %.0f = %.3f of a 1 MiB part (goal <= 1 part: %s); "
              "all bytes, cut − clean: %.0f; FkSyncReport.bytes_sent − size: %.0f\n",
              opt_resume_rounds,
              bench_median (again, (guint) opt_resume_rounds), bench_median (again, (guint) opt_resume_rounds) / PART,
              bench_median (again, (guint) opt_resume_rounds) <= PART ? "met" : "NOT met",
              bench_median (again_wire, (guint) opt_resume_rounds),
              bench_median (again_report, (guint) opt_resume_rounds));
    }

  for (gint i = 0; i < opt_cases; i++)
    g_bytes_unref (photos[i]);
  fk_office_keys_free (keys);
  if (!opt_keep)
    bench_rm_rf (dir);
  curl_global_cleanup ();
  return 0;
}
