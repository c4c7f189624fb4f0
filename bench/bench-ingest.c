/* bench-ingest.c — office ingest of small packets from many devices at
 * once (docs/PERFORMANCE.md, "Office ingest").
 *
 * An office runs in this process on 127.0.0.1 (fk_office_server_start, the
 * `serve` code, with its default of a thread per connection unless
 * --threads asks for a pool).  --devices threads each play one enrolled device: its own
 * Ed25519 identity, its own packets built in advance with fk_packet_build
 * (a small case, no attachment), one keep-alive connection, and every PUT
 * signed as sync/fk-sync.c signs it (§3.3: time, nonce, Ed25519 over the
 * request with H(body)).  A packet counts when the office answered 200 with
 * its ack; the office answers only after the file and the row are on disk
 * (fsync), so every counted packet is durable.  After each round the acks
 * are verified with the office key and the rows are counted.
 *
 * The baseline, in the same run: the same threads PUT the same bytes with
 * the same signed headers to a bare libmicrohttpd server that reads and
 * discards them (same thread pool).  The ratio isolates what the office
 * does per packet: verification (request and manifest signatures, payload
 * hash) and durable storage.  Rounds alternate which side goes first; each
 * office round starts from a copy of the same enrolled office.  Nothing here
 * asserts a timing.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "app/fk-packet.h"
#include "bench/bench-net.h"
#include "crypto/fk-crypto.h"
#include "sync/fk-office-server.h"
#include "sync/fk-office-store.h"

#define ADMIN_PASS "bench office passphrase"

/* ---- options ------------------------------------------------------------------ */

static gint opt_devices = 8;
static gint opt_packets = 500;
static gint opt_rounds = 3;
static gint opt_threads = 0;
static gchar *opt_dir = NULL;
static gboolean opt_keep = FALSE;
static gchar *opt_only = NULL;

static const GOptionEntry options[] = {
  { "devices", 'd', 0, G_OPTION_ARG_INT, &opt_devices, "Concurrent devices, one thread and one connection each (default 8)", "N" },
  { "packets", 'n', 0, G_OPTION_ARG_INT, &opt_packets, "Packets per device per round (default 500)", "N" },
  { "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds, "Rounds; medians are quoted (default 3)", "N" },
  { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads, "Server thread pool, office and bare alike (default 0: a thread per connection, as `serve`)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Where to make the bench-ingest-* folder (default: next to this program)", "DIR" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the folder afterwards", NULL },
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "Run one side only, for profiling: office or bare", "SIDE" },
  { NULL }
};

/* ---- types -------------------------------------------------------------------- */

typedef struct {
  FkIdentity *id;
  char       *device_id;
  guint       number;
} Device;

typedef struct {
  char   *packet_id;
  GBytes *bytes;
} Packet;

typedef struct _Gate Gate;

typedef struct {
  Gate        *gate;
  guint16      port;
  Device      *device;
  Packet      *packets;      /* this round's, borrowed */
  guint        n;
  gboolean     office;       /* verify answers as acks afterwards */
  guint        acked;
  guint        failed;
  char        *first_failure;
  GPtrArray   *answers;      /* char*, office rounds only */
  double       done_at;
} Worker;

/* Every worker connects first, then all start together. */
struct _Gate {
  GMutex lock;
  GCond  cond;
  guint  ready;
  gboolean go;
};

typedef struct {
  double   seconds;
  double   cpu;            /* CPU seconds of this process: devices + server */
  guint    acked;
  guint    failed;
  guint    verified;
  gint64   rows;
  guint    connections;
} Round;

/* ---- helpers ------------------------------------------------------------------ */

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static size_t
collect_cb (char   *data,
            size_t  size,
            size_t  n,
            void   *user)
{
  g_byte_array_append (user, (const guint8 *) data, (guint) (size * n));
  return size * n;
}

static void
die_on_error (const char *what,
              GError     *error)
{
  if (error != NULL)
    g_error ("%s: %s", what, error->message);
}

/* An invite made through the store, as `device invite` does, and the
 * enrolment step 3 the server would run for it. */
static Device *
device_enroll (FkOfficeStore *store,
               guint          i)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeDevice) row = NULL;
  g_autofree char *invite_id = NULL;
  g_autofree char *m = NULL;
  g_autofree char *name = g_strdup_printf ("bench tablet %u", i + 1);
  Device *d = g_new0 (Device, 1);
  char code[21];
  guint8 key[32], proof[32];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (int k = 0; k < 20; k++)
    code[k] = alphabet[randombytes_uniform (32)];
  code[20] = '\0';
  invite_id = fk_invite_id (code);
  m = g_strconcat ("fk-invite-key", code, NULL);
  fk_hash ((const guint8 *) m, strlen (m), key);
  if (!fk_office_store_add_invite (store, invite_id, name, key, now + 3600, &error))
    die_on_error ("add invite", error);
  d->id = fk_identity_generate (&error);
  die_on_error ("identity", error);
  fk_invite_proof (code, fk_identity_public_key (d->id), proof);
  row = fk_office_store_enroll (store, invite_id, proof, fk_identity_public_key (d->id), name, now, &error);
  die_on_error ("enroll", error);
  d->device_id = g_strdup (row->device_id);
  d->number = row->number;
  return d;
}

/* A small case packet (about 1.3 KiB), no attachment. */
static void
packet_make (Packet             *out,
             Device             *d,
             gint64              seq,
             const FkOfficeKeys *keys)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) manifest = json_object_new ();
  g_autoptr(GPtrArray) attachments = g_ptr_array_new ();
  g_autofree char *case_uuid = g_uuid_string_random ();
  g_autofree char *receipt = g_strdup_printf ("TCN-%02u-1151126-%04" G_GINT64_FORMAT, d->number, seq % 10000);
  g_autofree char *case_json = NULL;

  out->packet_id = g_uuid_string_random ();
  json_object_set_string_member (manifest, "type", "case");
  json_object_set_string_member (manifest, "case_uuid", case_uuid);
  json_object_set_int_member (manifest, "case_version", 1);
  json_object_set_null_member (manifest, "supersedes");
  json_object_set_string_member (manifest, "receipt_no", receipt);
  json_object_set_string_member (manifest, "service", "id_card_replace");
  json_object_set_string_member (manifest, "outing_kind", "home_visit");
  json_object_set_string_member (manifest, "sealed_at", "2026-11-26T03:09:12Z");
  case_json = g_strdup_printf ("{\"case\":{\"uuid\":\"%s\",\"version\":1,\"service\":\"id_card_replace\","
                               "\"receipt_no\":\"%s\",\"supersedes\":null,"
                               "\"outing\":{\"id\":\"O1\",\"kind\":\"home_visit\",\"date\":\"2026-11-26\","
                               "\"title\":\"北屯區到府服務\",\"place\":\"臺中市北屯區\"},"
                               "\"person\":{\"person_id\":\"A123456789\",\"name\":\"王小明\",\"birth_date\":\"1950-01-01\"},"
                               "\"fields\":{\"reason\":\"damaged\",\"phone\":\"0912345678\"},"
                               "\"ticked\":[\"household_register\",\"photo\",\"fee\"],"
                               "\"created_by\":\"ann\",\"checked_by\":\"ann\",\"approved_by\":\"bob\",\"sealed_by\":\"ann\","
                               "\"created_at\":\"2026-11-26T02:40:00Z\",\"sealed_at\":\"2026-11-26T03:09:12Z\"},"
                               "\"attachments\":[]}",
                               case_uuid, receipt);
  out->bytes = fk_packet_build (d->id, out->packet_id, seq, fk_box_key_public (keys->box), keys->key_id,
                                manifest, case_json, attachments, &error);
  die_on_error ("fk_packet_build", error);
}

/* ---- one device thread ---------------------------------------------------------- */

static struct curl_slist *
signed_headers (Device       *d,
                const char   *method,
                const char   *path_and_query,
                const guint8 *body,
                gsize         len)
{
  struct curl_slist *headers = NULL;
  g_autofree char *t = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);
  g_autofree char *nonce = NULL;
  g_autofree char *sig_b64 = NULL;
  g_autofree char *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
  g_autoptr(GBytes) m = NULL;
  guint8 rnd[16], sig[64];

  randombytes_buf (rnd, sizeof rnd);
  nonce = fk_hex_encode (rnd, sizeof rnd);
  m = fk_request_message (method, path_and_query, t, nonce, body, len);
  fk_identity_sign (d->id, g_bytes_get_data (m, NULL), g_bytes_get_size (m), sig);
  sig_b64 = fk_b64_encode (sig, sizeof sig);
  h1 = g_strconcat ("FK-Device: ", d->device_id, NULL);
  h2 = g_strconcat ("FK-Time: ", t, NULL);
  h3 = g_strconcat ("FK-Nonce: ", nonce, NULL);
  h4 = g_strconcat ("FK-Signature: ", sig_b64, NULL);
  headers = curl_slist_append (headers, "Expect:");
  headers = curl_slist_append (headers, "Content-Type: application/octet-stream");
  headers = curl_slist_append (headers, h1);
  headers = curl_slist_append (headers, h2);
  headers = curl_slist_append (headers, h3);
  headers = curl_slist_append (headers, h4);
  return headers;
}

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  CURL *curl = curl_easy_init ();
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autofree char *office_url = g_strdup_printf ("http://127.0.0.1:%u/v1/office", w->port);
  long status = 0;

  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, collect_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, body);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, 60L);

  /* Connect (and warm the connection) before the clock starts. */
  curl_easy_setopt (curl, CURLOPT_URL, office_url);
  curl_easy_setopt (curl, CURLOPT_HTTPGET, 1L);
  if (curl_easy_perform (curl) != CURLE_OK)
    g_error ("device %s cannot reach 127.0.0.1:%u", w->device->device_id, w->port);
  g_byte_array_set_size (body, 0);

  g_mutex_lock (&w->gate->lock);
  w->gate->ready++;
  g_cond_broadcast (&w->gate->cond);
  while (!w->gate->go)
    g_cond_wait (&w->gate->cond, &w->gate->lock);
  g_mutex_unlock (&w->gate->lock);

  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, "PUT");
  for (guint i = 0; i < w->n; i++)
    {
      Packet *p = &w->packets[i];
      gsize len = g_bytes_get_size (p->bytes);
      const guint8 *bytes = g_bytes_get_data (p->bytes, NULL);
      g_autofree char *path = g_strdup_printf ("/v1/packets/%s?offset=0&total=%" G_GSIZE_FORMAT, p->packet_id, len);
      g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", w->port, path);
      struct curl_slist *headers = signed_headers (w->device, "PUT", path, bytes, len);
      CURLcode rc;

      g_byte_array_set_size (body, 0);
      curl_easy_setopt (curl, CURLOPT_URL, url);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, bytes);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
      curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
      rc = curl_easy_perform (curl);
      curl_slist_free_all (headers);
      curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
      if (rc == CURLE_OK && status == 200)
        {
          w->acked++;
          if (w->office)
            g_ptr_array_add (w->answers, g_strndup ((const char *) body->data, body->len));
        }
      else
        {
          w->failed++;
          if (w->first_failure == NULL)
            w->first_failure = g_strdup_printf ("%s HTTP %ld %.*s", curl_easy_strerror (rc), status,
                                                (int) MIN (body->len, 300), (const char *) body->data);
        }
    }
  w->done_at = bench_now_s ();
  curl_easy_cleanup (curl);
  return NULL;
}

/* All devices at once against 127.0.0.1:port; wall time from the common
 * start to the last answer. */
static Round
run_devices (guint16             port,
             Device            **devices,
             Packet            **packets,   /* per device, this round */
             gboolean            office,
             const FkOfficeKeys *keys)
{
  Gate gate = { 0 };
  g_autofree Worker *workers = g_new0 (Worker, opt_devices);
  g_autofree GThread **threads = g_new0 (GThread *, opt_devices);
  Round out = { 0 };
  double t0, end = 0;

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  for (gint i = 0; i < opt_devices; i++)
    {
      workers[i] = (Worker) { .gate = &gate, .port = port, .device = devices[i], .packets = packets[i],
                              .n = (guint) opt_packets, .office = office,
                              .answers = g_ptr_array_new_with_free_func (g_free) };
      threads[i] = g_thread_new ("device", worker_run, &workers[i]);
    }
  g_mutex_lock (&gate.lock);
  while (gate.ready < (guint) opt_devices)
    g_cond_wait (&gate.cond, &gate.lock);
  t0 = bench_now_s ();
  out.cpu = cpu_seconds ();
  gate.go = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  for (gint i = 0; i < opt_devices; i++)
    {
      g_thread_join (threads[i]);
      end = MAX (end, workers[i].done_at);
      out.acked += workers[i].acked;
      out.failed += workers[i].failed;
      if (workers[i].first_failure)
        fprintf (stderr, "  device %d: %u failed, first: %s\n", i + 1, workers[i].failed, workers[i].first_failure);
    }
  out.seconds = end - t0;
  out.cpu = cpu_seconds () - out.cpu;

  /* Every ack is the office's signature over this packet's id. */
  for (gint i = 0; office && i < opt_devices; i++)
    for (guint k = 0; k < workers[i].answers->len; k++)
      {
        const char *text = workers[i].answers->pdata[k];
        g_autoptr(JsonObject) ack = fk_envelope_open (text, strlen (text), fk_identity_public_key (keys->sign), NULL, NULL);

        if (ack != NULL &&
            g_strcmp0 (json_object_get_string_member_with_default (ack, "type", ""), "ack") == 0 &&
            g_strcmp0 (json_object_get_string_member_with_default (ack, "packet_id", ""), packets[i][k].packet_id) == 0)
          out.verified++;
      }
  for (gint i = 0; i < opt_devices; i++)
    {
      g_ptr_array_unref (workers[i].answers);
      g_free (workers[i].first_failure);
    }
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  return out;
}

static Round
round_bare (Device **devices,
            Packet **packets)
{
  DiscardServer *bare = discard_server_start (0, (guint) opt_threads);
  Round r = run_devices (bare->port, devices, packets, FALSE, NULL);

  r.connections = (guint) g_atomic_int_get (&bare->connections);
  discard_server_stop (bare);
  return r;
}

static Round
round_office (const char   *template_dir,
              const char   *dir,
              FkOfficeKeys *keys,
              Device      **devices,
              Packet      **packets)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkOfficeStore) store = NULL;
  FkOfficeServerOptions so = { 0 };
  FkOfficeServer *server;
  Round r;

  bench_rm_rf (dir);
  bench_copy_tree (template_dir, dir);
  sync ();
  store = fk_office_store_open (dir, &error);
  die_on_error ("open office", error);
  so.address = "127.0.0.1";
  so.threads = (guint) opt_threads;
  so.quiet = TRUE;
  server = fk_office_server_start (store, keys, &so, &error);
  die_on_error ("start office", error);
  r = run_devices (fk_office_server_port (server), devices, packets, TRUE, keys);
  fk_office_server_stop (server, 5);
  r.rows = fk_office_store_count_packets (store);
  g_clear_pointer (&store, fk_office_store_free);
  if (!opt_keep)
    bench_rm_rf (dir);
  return r;
}

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— office ingest of small packets from concurrent devices");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *template_dir = NULL;
  g_autofree Device **devices = NULL;
  g_autofree Packet ***packets = NULL;   /* [round][device] → Packet[opt_packets] */
  g_autofree double *bare_rate = NULL;
  g_autofree double *office_rate = NULL;
  g_autofree double *ratio = NULL;
  FkOfficeKeys *keys;
  FkOfficeStore *store;
  char *recovery = NULL;
  gboolean do_bare, do_office;
  gsize packet_bytes = 0;
  double t;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (ctx, options, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  if (opt_devices < 1 || opt_packets < 1 || opt_rounds < 1 || opt_threads < 0 ||
      (opt_only && g_strcmp0 (opt_only, "office") != 0 && g_strcmp0 (opt_only, "bare") != 0))
    {
      fprintf (stderr, "bad options\n");
      return 2;
    }
  do_bare = opt_only == NULL || g_str_equal (opt_only, "bare");
  do_office = opt_only == NULL || g_str_equal (opt_only, "office");
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  if (!fk_crypto_init (&error))
    die_on_error ("crypto", error);
  curl_global_init (CURL_GLOBAL_DEFAULT);

  dir = bench_make_dir (opt_dir, argv[0], "bench-ingest");
  template_dir = g_build_filename (dir, "office-template", NULL);
  {
    g_autofree char *pool = opt_threads > 0 ? g_strdup_printf ("pool of %d threads", opt_threads)
                                            : g_strdup ("a thread per connection");

    printf ("bench-ingest: %d devices × %d packets per round, %d rounds, server %s, in %s\n",
            opt_devices, opt_packets, opt_rounds, pool, dir);
  }

  /* Setup (not timed): an office with every device enrolled, and every
   * round's packets built. */
  t = bench_now_s ();
  store = fk_office_store_open (template_dir, &error);
  die_on_error ("open office", error);
  keys = fk_office_store_init (store, "TCN", "bench", ADMIN_PASS, &recovery, &error);
  die_on_error ("init office", error);
  fk_recovery_key_free (recovery);
  devices = g_new0 (Device *, opt_devices);
  for (gint i = 0; i < opt_devices; i++)
    devices[i] = device_enroll (store, (guint) i);
  fk_office_store_free (store);
  packets = g_new0 (Packet **, opt_rounds);
  for (gint r = 0; r < opt_rounds; r++)
    {
      packets[r] = g_new0 (Packet *, opt_devices);
      for (gint i = 0; i < opt_devices; i++)
        {
          packets[r][i] = g_new0 (Packet, opt_packets);
          for (gint k = 0; k < opt_packets; k++)
            {
              packet_make (&packets[r][i][k], devices[i], (gint64) r * opt_packets + k + 1, keys);
              packet_bytes += g_bytes_get_size (packets[r][i][k].bytes);
            }
        }
    }
  printf ("machine: load average %.1f; one 4 KiB fdatasync in %s: median %.2f ms\n",
          bench_loadavg (), dir, bench_flush_ms (dir, 40));
  printf ("setup: %d packets of %.0f bytes on average in %.1f s\n\n",
          opt_rounds * opt_devices * opt_packets, (double) packet_bytes / (opt_rounds * opt_devices * opt_packets),
          bench_now_s () - t);

  bare_rate = g_new0 (double, opt_rounds);
  office_rate = g_new0 (double, opt_rounds);
  ratio = g_new0 (double, opt_rounds);
  printf ("%-6s %-7s %10s %8s %8s %10s %8s %s\n", "round", "side", "packets/s", "acked", "failed", "seconds", "rows", "notes");
  for (gint r = 0; r < opt_rounds; r++)
    {
      for (gint turn = 0; turn < 2; turn++)
        {
          /* Alternate who goes first, so drift hits both sides alike. */
          gboolean office_turn = (turn == 0) == (r % 2 == 1);
          guint expect = (guint) (opt_devices * opt_packets);

          if (office_turn && do_office)
            {
              g_autofree char *round_dir = g_strdup_printf ("%s/office-%d", dir, r + 1);
              Round o = round_office (template_dir, round_dir, keys, devices, packets[r]);

              office_rate[r] = o.acked / o.seconds;
              printf ("%-6d %-7s %10.0f %8u %8u %10.3f %8" G_GINT64_FORMAT " acks verified %u/%u, CPU %.2f s%s\n",
                      r + 1, "office", office_rate[r], o.acked, o.failed, o.seconds, o.rows, o.verified, expect, o.cpu,
                      (o.rows == expect && o.verified == expect) ? "" : "  << INCOMPLETE");
            }
          else if (!office_turn && do_bare)
            {
              Round b = round_bare (devices, packets[r]);

              bare_rate[r] = b.acked / b.seconds;
              printf ("%-6d %-7s %10.0f %8u %8u %10.3f %8s connections %u, CPU %.2f s\n",
                      r + 1, "bare", bare_rate[r], b.acked, b.failed, b.seconds, "-", b.connections, b.cpu);
            }
        }
      if (do_bare && do_office)
        ratio[r] = office_rate[r] / bare_rate[r];
      fflush (stdout);
    }

  printf ("\nload average at the end %.1f; one 4 KiB fdatasync: median %.2f ms\n", bench_loadavg (), bench_flush_ms (dir, 40));
  printf ("medians over %d rounds:\n", opt_rounds);
  if (do_bare)
    printf ("  bare libmicrohttpd, discarding:   %8.0f packets/s\n", bench_median (bare_rate, (guint) opt_rounds));
  if (do_office)
    printf ("  office (verify + durable store):  %8.0f packets/s   goal >= 2000: %s\n",
            bench_median (office_rate, (guint) opt_rounds),
            bench_median (office_rate, (guint) opt_rounds) >= 2000 ? "met" : "NOT met");
  if (do_bare && do_office)
    printf ("  office / bare (per-round ratio):  %8.3f\n", bench_median (ratio, (guint) opt_rounds));

  for (gint r = 0; r < opt_rounds; r++)
    {
      for (gint i = 0; i < opt_devices; i++)
        {
          for (gint k = 0; k < opt_packets; k++)
            {
              g_free (packets[r][i][k].packet_id);
              g_bytes_unref (packets[r][i][k].bytes);
            }
          g_free (packets[r][i]);
        }
      g_free (packets[r]);
    }
  for (gint i = 0; i < opt_devices; i++)
    {
      fk_identity_free (devices[i]->id);
      g_free (devices[i]->device_id);
      g_free (devices[i]);
    }
  fk_office_keys_free (keys);
  if (!opt_keep)
    bench_rm_rf (dir);
  curl_global_cleanup ();
  return 0;
}
