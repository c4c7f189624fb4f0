/* bench-store.c — what protecting the case store costs (docs/PERFORMANCE.md).
 *
 * In one run, the same cases (about 1 KiB of person data each) are saved
 * three ways into three databases that share the store's pragmas (WAL,
 * synchronous=FULL, foreign keys, temp_store=MEMORY, secure_delete):
 *
 *   bare   the person JSON inserted as it is into a plain table with the
 *          same kind of plain and index columns (the baseline);
 *   aead   the same, but the JSON sealed with fk_vault_seal_record and a
 *          blind index instead of the plain ID number (what encryption
 *          alone costs);
 *   store  fk_store_case_new: validation against the catalog, the sealed
 *          person record, the blind index, and a hash-chained audit entry
 *          (the last one of each transaction signed).
 *
 * The aead side holds its vault readable for each transaction, as the
 * store does (fk_vault_hold).
 *
 * Both ways a clerk's work arrives are measured: each case in its own
 * transaction (one save in the window) and many cases in one transaction
 * (a roster import, fk_store_begin_batch).  The three sides take turns in
 * chunks so that a noisy neighbour slows all of them alike; only ratios
 * between sides measured in the same run mean anything.  Then lookups by
 * ID number among --lookup-cases cases, and the Argon2id unlock with the
 * operator limits.  Nothing here asserts a timing; this is not a test.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-vault.h"

#define TMPFS_MAGIC 0x01021994

/* ---- types -------------------------------------------------------------------- */

typedef enum {
  SIDE_BARE,
  SIDE_AEAD,
  SIDE_STORE,
  N_SIDES,
} Side;

static const char *const side_names[N_SIDES] = { "bare SQLite", "bare + AEAD", "FieldKit store" };

/* One generated person: what the clerk types, and the exact JSON the store
 * will seal for it (the bytes the baseline inserts). */
typedef struct {
  char       *person_id;
  char       *name;
  char       *birth_date;
  GHashTable *fields;
  char       *json;
} Person;

typedef struct {
  sqlite3      *db;
  sqlite3_stmt *insert;
  sqlite3_stmt *lookup;
} BareDb;

typedef struct {
  FkStore *store;
  FkVault *vault;         /* for the aead side */
  BareDb   bare;
  BareDb   aead;
  char    *outing;
  gint64   next_index;    /* persons 0 … next_index-1 are in every database */
  gsize    json_bytes;    /* sum of person JSON sizes saved per side */
  guint    json_count;
} Bench;

/* ---- options ------------------------------------------------------------------ */

static gint opt_cases = 20000;
static gint opt_lookup_cases = 100000;
static gint opt_lookups = 1000;
static gint opt_batch = 1000;
static gint opt_chunk = 500;
static gint opt_unlocks = 5;
static gchar *opt_dir = NULL;
static gboolean opt_keep = FALSE;
static gchar *opt_mode = NULL;

static const GOptionEntry options[] = {
  { "cases", 'n', 0, G_OPTION_ARG_INT, &opt_cases, "Cases saved per side in each mode (default 20000)", "N" },
  { "lookup-cases", 0, 0, G_OPTION_ARG_INT, &opt_lookup_cases, "Cases in the store when lookups are timed (default 100000)", "N" },
  { "lookups", 0, 0, G_OPTION_ARG_INT, &opt_lookups, "Lookups by ID number timed (default 1000)", "N" },
  { "batch-size", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Cases per transaction in batch mode (default 1000)", "N" },
  { "chunk", 0, 0, G_OPTION_ARG_INT, &opt_chunk, "Cases per turn in per-transaction mode (default 500)", "N" },
  { "unlocks", 0, 0, G_OPTION_ARG_INT, &opt_unlocks, "Argon2id unlocks timed; 0 skips them (default 5)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "Where to make the bench-data-* folder (default: next to this program, in the build tree)", "DIR" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the databases afterwards", NULL },
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_mode, "Run one mode only, for profiling: per-transaction or batch", "MODE" },
  { NULL }
};

/* ---- helpers ------------------------------------------------------------------ */

static void
die_on_error (const char *what,
              GError     *error)
{
  if (error != NULL)
    g_error ("%s: %s", what, error->message);
}

static void
sql_or_die (sqlite3    *db,
            const char *sql)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The value below which `fraction` of the samples lie (nearest rank). */
static gint64
percentile (GArray *samples,
            double  fraction)
{
  guint rank;

  if (samples->len == 0)
    return 0;
  g_array_sort (samples, compare_gint64);
  rank = (guint) (fraction * samples->len + 0.5);
  rank = CLAMP (rank, 1, samples->len);
  return g_array_index (samples, gint64, rank - 1);
}

/* ---- generated people ----------------------------------------------------------- */

/* A valid national ID number that is different for every index below
 * 26 × 2 × 10^7: area letter, gender digit, seven digits, check digit. */
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

static const char *const surnames[] = { "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊" };
static const char *const given[] = { "淑芬", "志明", "美玲", "建宏", "雅婷", "俊傑", "怡君", "家豪", "秀英", "宗翰" };
static const char note_pool[] =
  "戶政事務所到府服務受理換補領國民身分證申請人因年邁行動不便由家屬代為聯繫"
  "原證件破損不堪使用照片已逾十年與現貌不符經現場核對戶籍資料無誤後收件";

/* The JSON the store seals for a person; the same code shape as
 * person_to_json in app/fk-store.c, so both sides write the same bytes. */
static char *
person_json (const Person *p)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GList) keys = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "person_id");
  json_builder_add_string_value (b, p->person_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, p->name);
  json_builder_set_member_name (b, "birth_date");
  json_builder_add_string_value (b, p->birth_date);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
  keys = g_list_sort (g_hash_table_get_keys (p->fields), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_string_value (b, g_hash_table_lookup (p->fields, l->data));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* A replacement ID card applicant with a phone number and a written reason,
 * the reason long enough that the person record is about 1 KiB. */
static void
person_make (gint64  index,
             Person *p)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (index * 2654435761u));
  glong pool_chars = g_utf8_strlen (note_pool, -1);
  GString *note = g_string_new (NULL);

  p->person_id = national_id (index);
  p->name = g_strconcat (surnames[g_rand_int_range (rand, 0, G_N_ELEMENTS (surnames))],
                         given[g_rand_int_range (rand, 0, G_N_ELEMENTS (given))], NULL);
  p->birth_date = g_strdup_printf ("%04d-%02d-%02d", g_rand_int_range (rand, 1930, 2005),
                                   g_rand_int_range (rand, 1, 13), g_rand_int_range (rand, 1, 29));
  p->fields = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (p->fields, "reason", g_strdup ("other"));
  g_hash_table_insert (p->fields, "phone", g_strdup_printf ("09%08d", g_rand_int_range (rand, 0, 100000000)));
  /* 290 CJK characters from random places in the pool: 870 bytes. */
  for (int i = 0; i < 290; i++)
    {
      const char *c = g_utf8_offset_to_pointer (note_pool, g_rand_int_range (rand, 0, (gint32) pool_chars));

      g_string_append_len (note, c, g_utf8_next_char (c) - c);
    }
  g_hash_table_insert (p->fields, "reason_note", g_string_free (note, FALSE));
  p->json = person_json (p);
}

static void
person_clear (Person *p)
{
  g_free (p->person_id);
  g_free (p->name);
  g_free (p->birth_date);
  g_clear_pointer (&p->fields, g_hash_table_unref);
  g_free (p->json);
}

static Person *
people_make (gint64 first,
             guint  n)
{
  Person *people = g_new0 (Person, n);

  for (guint i = 0; i < n; i++)
    person_make (first + i, &people[i]);
  return people;
}

static void
people_free (Person *people,
             guint   n)
{
  for (guint i = 0; i < n; i++)
    person_clear (&people[i]);
  g_free (people);
}

/* ---- the three sides -------------------------------------------------------------- */

/* The baseline table: what a plain application would keep for a case,
 * with the same indexes the store's cases table has. */
static void
bare_open (BareDb     *bare,
           const char *path)
{
  if (sqlite3_open_v2 (path, &bare->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    g_error ("cannot open %s", path);
  sql_or_die (bare->db,
              "PRAGMA journal_mode = WAL;"
              "PRAGMA synchronous = FULL;"
              "PRAGMA foreign_keys = ON;"
              "PRAGMA temp_store = MEMORY;"
              "PRAGMA secure_delete = ON;"
              "CREATE TABLE cases ("
              "  id INTEGER PRIMARY KEY,"
              "  uuid TEXT NOT NULL UNIQUE,"
              "  outing_id TEXT NOT NULL,"
              "  service TEXT NOT NULL,"
              "  status TEXT NOT NULL,"
              "  version INTEGER NOT NULL,"
              "  person_key BLOB NOT NULL,"
              "  person BLOB NOT NULL,"
              "  created_by TEXT NOT NULL,"
              "  created_at INTEGER NOT NULL,"
              "  updated_at INTEGER NOT NULL);"
              "CREATE INDEX cases_person_key ON cases (person_key);"
              "CREATE INDEX cases_outing ON cases (outing_id, status);");
  if (sqlite3_prepare_v3 (bare->db,
                          "INSERT INTO cases (uuid, outing_id, service, status, version, person_key, person,"
                          " created_by, created_at, updated_at) VALUES (?, 'O1', 'id_card_replace', 'draft', 1, ?, ?, 'bench', ?, ?)",
                          -1, SQLITE_PREPARE_PERSISTENT, &bare->insert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3 (bare->db, "SELECT id FROM cases WHERE person_key = ?",
                          -1, SQLITE_PREPARE_PERSISTENT, &bare->lookup, NULL) != SQLITE_OK)
    g_error ("prepare: %s", sqlite3_errmsg (bare->db));
}

static void
bare_close (BareDb *bare)
{
  sqlite3_finalize (bare->insert);
  sqlite3_finalize (bare->lookup);
  sqlite3_close (bare->db);
}

/* One row into the bare or the aead table; with a vault the person record
 * is sealed and the key is the blind index, as the store does it. */
static void
bare_insert (BareDb       *bare,
             FkVault      *vault,
             const Person *p)
{
  g_autofree char *uuid = g_uuid_string_random ();
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();
  guint8 blind[32];

  sqlite3_bind_text (bare->insert, 1, uuid, -1, SQLITE_STATIC);
  if (vault != NULL)
    {
      sealed = fk_vault_seal_record (vault, "cases", uuid, "person", 1,
                                     (const guint8 *) p->json, strlen (p->json), &error);
      die_on_error ("seal", error);
      fk_vault_blind_index (vault, p->person_id, blind);
      sqlite3_bind_blob (bare->insert, 2, blind, sizeof blind, SQLITE_STATIC);
      sqlite3_bind_blob (bare->insert, 3, g_bytes_get_data (sealed, NULL), (int) g_bytes_get_size (sealed), SQLITE_STATIC);
    }
  else
    {
      sqlite3_bind_text (bare->insert, 2, p->person_id, -1, SQLITE_STATIC);
      sqlite3_bind_blob (bare->insert, 3, p->json, (int) strlen (p->json), SQLITE_STATIC);
    }
  sqlite3_bind_int64 (bare->insert, 4, now);
  sqlite3_bind_int64 (bare->insert, 5, now);
  if (sqlite3_step (bare->insert) != SQLITE_DONE)
    g_error ("insert: %s", sqlite3_errmsg (bare->db));
  sqlite3_reset (bare->insert);
}

static void
store_insert (Bench        *bench,
              const Person *p)
{
  g_autoptr(GError) error = NULL;
  FkCaseInput input = {
    .outing_id = bench->outing,
    .service = "id_card_replace",
    .person_id = p->person_id,
    .name = p->name,
    .birth_date = p->birth_date,
    .fields = p->fields,
  };

  if (fk_store_case_new (bench->store, &input, &error) <= 0)
    die_on_error ("fk_store_case_new", error);
}

/* Saves one case on one side, in its own transaction when `own_tx`. */
static void
save_one (Bench        *bench,
          Side          side,
          const Person *p,
          gboolean      own_tx)
{
  BareDb *bare = side == SIDE_AEAD ? &bench->aead : &bench->bare;

  if (side == SIDE_STORE)
    {
      store_insert (bench, p);
      return;
    }
  /* The aead side keeps its key readable for the transaction, as the
   * store does (fk_vault_hold), so that it measures encryption alone. */
  if (own_tx)
    {
      sql_or_die (bare->db, "BEGIN IMMEDIATE");
      if (side == SIDE_AEAD)
        fk_vault_hold (bench->vault);
    }
  bare_insert (bare, side == SIDE_AEAD ? bench->vault : NULL, p);
  if (own_tx)
    {
      sql_or_die (bare->db, "COMMIT");
      if (side == SIDE_AEAD)
        fk_vault_unhold (bench->vault);
    }
}

static void
batch_begin (Bench *bench,
             Side   side)
{
  g_autoptr(GError) error = NULL;

  if (side == SIDE_STORE)
    {
      if (!fk_store_begin_batch (bench->store, &error))
        die_on_error ("fk_store_begin_batch", error);
    }
  else
    {
      sql_or_die (side == SIDE_AEAD ? bench->aead.db : bench->bare.db, "BEGIN IMMEDIATE");
      if (side == SIDE_AEAD)
        fk_vault_hold (bench->vault);
    }
}

static void
batch_end (Bench *bench,
           Side   side)
{
  g_autoptr(GError) error = NULL;

  if (side == SIDE_STORE)
    {
      if (!fk_store_end_batch (bench->store, TRUE, &error))
        die_on_error ("fk_store_end_batch", error);
    }
  else
    {
      sql_or_die (side == SIDE_AEAD ? bench->aead.db : bench->bare.db, "COMMIT");
      if (side == SIDE_AEAD)
        fk_vault_unhold (bench->vault);
    }
}

static void
count_json (Bench        *bench,
            const Person *people,
            guint         n)
{
  for (guint i = 0; i < n; i++)
    bench->json_bytes += strlen (people[i].json);
  bench->json_count += n;
}

/* ---- the measurements ------------------------------------------------------------- */

typedef struct {
  gint64  total_us[N_SIDES];
  GArray *each_us[N_SIDES];   /* per-case latencies (per-transaction mode only) */
} Timing;

static void
timing_init (Timing *t)
{
  for (int s = 0; s < N_SIDES; s++)
    {
      t->total_us[s] = 0;
      t->each_us[s] = g_array_new (FALSE, FALSE, sizeof (gint64));
    }
}

static void
timing_clear (Timing *t)
{
  for (int s = 0; s < N_SIDES; s++)
    g_array_unref (t->each_us[s]);
}

/* Each case in its own transaction: the three sides take turns, a chunk of
 * the same people at a time. */
static void
measure_per_transaction (Bench  *bench,
                         guint   n,
                         Timing *t)
{
  for (guint done = 0; done < n; )
    {
      guint chunk = MIN ((guint) opt_chunk, n - done);
      Person *people = people_make (bench->next_index, chunk);

      for (int s = 0; s < N_SIDES; s++)
        for (guint i = 0; i < chunk; i++)
          {
            gint64 start = g_get_monotonic_time ();
            gint64 took;

            save_one (bench, (Side) s, &people[i], TRUE);
            took = g_get_monotonic_time () - start;
            t->total_us[s] += took;
            g_array_append_val (t->each_us[s], took);
          }
      count_json (bench, people, chunk);
      people_free (people, chunk);
      bench->next_index += chunk;
      done += chunk;
    }
}

/* Many cases per transaction; the sides take turns one batch at a time.
 * Filling the store for the lookups leaves the aead side out. */
static void
measure_batches (Bench   *bench,
                 guint    n,
                 gboolean with_aead,
                 Timing  *t)
{
  for (guint done = 0; done < n; )
    {
      guint chunk = MIN ((guint) opt_batch, n - done);
      Person *people = people_make (bench->next_index, chunk);

      for (int s = 0; s < N_SIDES; s++)
        {
          gint64 start;

          if (s == SIDE_AEAD && !with_aead)
            continue;
          start = g_get_monotonic_time ();
          batch_begin (bench, (Side) s);
          for (guint i = 0; i < chunk; i++)
            save_one (bench, (Side) s, &people[i], FALSE);
          batch_end (bench, (Side) s);
          t->total_us[s] += g_get_monotonic_time () - start;
        }
      if (with_aead)
        count_json (bench, people, chunk);
      people_free (people, chunk);
      bench->next_index += chunk;
      done += chunk;
    }
}

/* Random lookups by ID number among everyone saved so far, each timed. */
static void
measure_lookups (Bench  *bench,
                 guint   n,
                 GArray *store_us,
                 GArray *bare_us)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);

  for (guint i = 0; i < n; i++)
    {
      gint64 index = (gint64) g_rand_int_range (rand, 0, (gint32) bench->next_index);
      g_autofree char *id = national_id (index);
      g_autoptr(GArray) found = NULL;
      g_autoptr(GError) error = NULL;
      gint64 start, took;
      int rows = 0;

      start = g_get_monotonic_time ();
      found = fk_store_find (bench->store, id, &error);
      took = g_get_monotonic_time () - start;
      die_on_error ("fk_store_find", error);
      if (found->len != 1)
        g_error ("fk_store_find found %u cases for one person", found->len);
      g_array_append_val (store_us, took);

      start = g_get_monotonic_time ();
      sqlite3_bind_text (bench->bare.lookup, 1, id, -1, SQLITE_STATIC);
      while (sqlite3_step (bench->bare.lookup) == SQLITE_ROW)
        rows++;
      sqlite3_reset (bench->bare.lookup);
      took = g_get_monotonic_time () - start;
      if (rows != 1)
        g_error ("the bare lookup found %d rows for one person", rows);
      g_array_append_val (bare_us, took);
    }
}

/* Argon2id with the operator limits: a fresh store made without
 * FIELDKIT_KDF=test, then unlocked `n` times. */
static void
measure_unlock (const char *dir,
                guint       n,
                GArray     *unlock_us,
                gint64     *init_us,
                guint64    *opslimit,
                guint64    *memlimit)
{
  g_autofree char *saved = g_strdup (g_getenv ("FIELDKIT_KDF"));
  g_autofree char *path = g_build_filename (dir, "unlock", NULL);
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GError) error = NULL;
  char *recovery = NULL;
  gint64 start;

  g_unsetenv ("FIELDKIT_KDF");
  fk_kdf_limits (FK_KDF_STRENGTH_OPERATOR, opslimit, memlimit);
  store = fk_store_open (path, &error);
  die_on_error ("fk_store_open", error);
  start = g_get_monotonic_time ();
  if (!fk_store_init_device (store, "bench", "Bench Operator", "a passphrase for the bench", "BEN", 1, &recovery, &error))
    die_on_error ("fk_store_init_device", error);
  *init_us = g_get_monotonic_time () - start;
  fk_recovery_key_free (recovery);
  for (guint i = 0; i < n; i++)
    {
      gint64 took;

      fk_store_lock (store);
      start = g_get_monotonic_time ();
      if (!fk_store_unlock (store, "bench", "a passphrase for the bench", &error))
        die_on_error ("fk_store_unlock", error);
      took = g_get_monotonic_time () - start;
      g_array_append_val (unlock_us, took);
    }
  if (saved != NULL)
    g_setenv ("FIELDKIT_KDF", saved, TRUE);
}

/* ---- output ---------------------------------------------------------------------- */

static void
print_row (const char *label,
           double      bare,
           double      aead,
           double      store,
           const char *unit,
           double      goal)
{
  double ratio = store / bare;

  printf ("%-34s %12.1f %12.1f %12.1f %-3s %6.2f×  %6.2f×",
          label, bare, aead, store, unit, aead / bare, ratio);
  if (goal > 0)
    printf ("  ≤ %.1f× %s", goal, ratio <= goal ? "met" : "MISSED");
  printf ("\n");
}

/* The 1-minute load average: a busy machine makes every figure worse, and
 * not always each side alike, so the report says how busy it was. */
static char *
load_average (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  return g_strndup (text, strcspn (text, " "));
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_remove (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_remove (child);
    }
  g_rmdir (path);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— time the case store against bare SQLite");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *bare_path = NULL;
  g_autofree char *aead_path = NULL;
  g_autoptr(GArray) store_lookup = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) bare_lookup = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) unlock_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *load_start = load_average ();
  g_autofree char *load_end = NULL;
  Bench bench = { 0 };
  Timing per_tx, batch, fill;
  gint64 init_us = 0;
  guint64 ops = 0, mem = 0;
  gint64 fill_cases;
  char *recovery = NULL;
  struct statfs fs;
  double record_bytes;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_cases < 1 || opt_batch < 1 || opt_chunk < 1 || opt_lookups < 0 || opt_unlocks < 0)
    {
      g_printerr ("--cases, --batch-size and --chunk must be at least 1\n");
      return 2;
    }
  if (opt_mode != NULL && g_strcmp0 (opt_mode, "batch") != 0 && g_strcmp0 (opt_mode, "per-transaction") != 0)
    {
      g_printerr ("--only takes per-transaction or batch\n");
      return 2;
    }

  fk_lang_set ("en");
  /* The bench store's own unlock need not be slow; the Argon2id cost is
   * measured on its own below, with the operator limits. */
  g_setenv ("FIELDKIT_KDF", "test", TRUE);

  /* Next to the program by default: in the build tree, which git ignores,
   * and on the same disk as the checkout rather than a /tmp that may be
   * tmpfs. */
  {
    g_autofree char *parent = opt_dir ? g_strdup (opt_dir) : g_path_get_dirname (argv[0]);

    g_mkdir_with_parents (parent, 0700);
    dir = g_build_filename (parent, "bench-data-XXXXXX", NULL);
  }
  if (g_mkdtemp (dir) == NULL)
    g_error ("cannot make %s", dir);
  store_dir = g_build_filename (dir, "store", NULL);
  bare_path = g_build_filename (dir, "bare.db", NULL);
  aead_path = g_build_filename (dir, "aead.db", NULL);

  bench.store = fk_store_open (store_dir, &error);
  die_on_error ("fk_store_open", error);
  if (!fk_store_init_device (bench.store, "bench", "Bench Operator", "a passphrase for the bench", "BEN", 1, &recovery, &error))
    die_on_error ("fk_store_init_device", error);
  fk_recovery_key_free (recovery);
  bench.outing = fk_store_outing_new (bench.store, "home_visit", "Bench outing", "2026-11-26", NULL, &error);
  die_on_error ("fk_store_outing_new", error);
  bench.vault = fk_vault_new (&error);
  die_on_error ("fk_vault_new", error);
  bare_open (&bench.bare, bare_path);
  bare_open (&bench.aead, aead_path);

  printf ("FieldKit %s store benchmark\n", FK_VERSION);
  printf ("data folder: %s%s\n", dir,
          statfs (dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC ? "  (WARNING: tmpfs, fsync costs nothing here)" : "");
  printf ("SQLite %s, WAL, synchronous=FULL on all three sides\n\n", sqlite3_libversion ());
  fflush (stdout);

  timing_init (&per_tx);
  timing_init (&batch);
  timing_init (&fill);

  if (g_strcmp0 (opt_mode, "batch") != 0)
    measure_per_transaction (&bench, (guint) opt_cases, &per_tx);
  if (g_strcmp0 (opt_mode, "per-transaction") != 0)
    measure_batches (&bench, (guint) opt_cases, TRUE, &batch);
  record_bytes = (double) bench.json_bytes / bench.json_count;

  fill_cases = MAX (0, (gint64) opt_lookup_cases - bench.next_index);
  measure_batches (&bench, (guint) fill_cases, FALSE, &fill);
  if (opt_lookups > 0)
    measure_lookups (&bench, (guint) opt_lookups, store_lookup, bare_lookup);
  if (opt_unlocks > 0)
    measure_unlock (dir, (guint) opt_unlocks, unlock_us, &init_us, &ops, &mem);
  load_end = load_average ();

  printf ("cases per side: %d per transaction + %d in batches of %d; person record %.0f bytes on average\n",
          opt_cases, opt_cases, opt_batch, record_bytes);
  printf ("load average (1 min): %s at the start, %s at the end, on %u CPUs\n\n",
          load_start, load_end, g_get_num_processors ());
  printf ("%-34s %12s %12s %12s %-3s %7s  %7s  %s\n",
          "", side_names[SIDE_BARE], side_names[SIDE_AEAD], side_names[SIDE_STORE], "", "aead", "store", "goal");
  if (per_tx.total_us[SIDE_BARE] > 0)
    {
      print_row ("per transaction, total", per_tx.total_us[SIDE_BARE] / 1e6,
                 per_tx.total_us[SIDE_AEAD] / 1e6, per_tx.total_us[SIDE_STORE] / 1e6, "s", 1.5);
      print_row ("per transaction, median per case",
                 (double) percentile (per_tx.each_us[SIDE_BARE], 0.5), (double) percentile (per_tx.each_us[SIDE_AEAD], 0.5),
                 (double) percentile (per_tx.each_us[SIDE_STORE], 0.5), "µs", 0);
      print_row ("per transaction, p95 per case",
                 (double) percentile (per_tx.each_us[SIDE_BARE], 0.95), (double) percentile (per_tx.each_us[SIDE_AEAD], 0.95),
                 (double) percentile (per_tx.each_us[SIDE_STORE], 0.95), "µs", 0);
    }
  if (batch.total_us[SIDE_BARE] > 0)
    {
      print_row ("batch, total", batch.total_us[SIDE_BARE] / 1e6,
                 batch.total_us[SIDE_AEAD] / 1e6, batch.total_us[SIDE_STORE] / 1e6, "s", 1.5);
      print_row ("batch, mean per case", (double) batch.total_us[SIDE_BARE] / opt_cases,
                 (double) batch.total_us[SIDE_AEAD] / opt_cases, (double) batch.total_us[SIDE_STORE] / opt_cases, "µs", 0);
    }
  if (opt_lookups > 0)
    {
      gint64 store_median = percentile (store_lookup, 0.5);

      printf ("\nlookup by ID number among %" G_GINT64_FORMAT " cases, %d lookups:\n", bench.next_index, opt_lookups);
      printf ("  %-32s %10s %10s\n", "", side_names[SIDE_BARE], side_names[SIDE_STORE]);
      printf ("  %-32s %7" G_GINT64_FORMAT " µs %7" G_GINT64_FORMAT " µs   goal < 1000 µs %s\n", "median",
              percentile (bare_lookup, 0.5), store_median, store_median < 1000 ? "met" : "MISSED");
      printf ("  %-32s %7" G_GINT64_FORMAT " µs %7" G_GINT64_FORMAT " µs\n", "p95",
              percentile (bare_lookup, 0.95), percentile (store_lookup, 0.95));
    }
  if (opt_unlocks > 0)
    {
      printf ("\nArgon2id unlock, operator limits (opslimit %" G_GUINT64_FORMAT ", memlimit %" G_GUINT64_FORMAT " MiB), %d unlocks:\n",
              ops, mem / (1024 * 1024), opt_unlocks);
      printf ("  median %.0f ms, min %.0f ms, max %.0f ms (first-run set-up %.0f ms)\n",
              percentile (unlock_us, 0.5) / 1e3, percentile (unlock_us, 0.0) / 1e3,
              percentile (unlock_us, 1.0) / 1e3, init_us / 1e3);
    }

  /* One line for scripts that collect repeated runs. */
  printf ("\nsummary per_tx_ratio=%.3f batch_ratio=%.3f per_tx_aead_ratio=%.3f batch_aead_ratio=%.3f"
          " per_tx_store_median_us=%" G_GINT64_FORMAT " per_tx_bare_median_us=%" G_GINT64_FORMAT
          " batch_store_us=%.1f batch_bare_us=%.1f lookup_median_us=%" G_GINT64_FORMAT
          " lookup_p95_us=%" G_GINT64_FORMAT " unlock_median_ms=%.0f load=%s/%s\n",
          (double) per_tx.total_us[SIDE_STORE] / per_tx.total_us[SIDE_BARE],
          (double) batch.total_us[SIDE_STORE] / batch.total_us[SIDE_BARE],
          (double) per_tx.total_us[SIDE_AEAD] / per_tx.total_us[SIDE_BARE],
          (double) batch.total_us[SIDE_AEAD] / batch.total_us[SIDE_BARE],
          percentile (per_tx.each_us[SIDE_STORE], 0.5), percentile (per_tx.each_us[SIDE_BARE], 0.5),
          (double) batch.total_us[SIDE_STORE] / opt_cases, (double) batch.total_us[SIDE_BARE] / opt_cases,
          percentile (store_lookup, 0.5), percentile (store_lookup, 0.95),
          percentile (unlock_us, 0.5) / 1e3, load_start, load_end);

  timing_clear (&per_tx);
  timing_clear (&batch);
  timing_clear (&fill);
  bare_close (&bench.bare);
  bare_close (&bench.aead);
  fk_vault_free (bench.vault);
  g_free (bench.outing);
  fk_store_close (bench.store);
  if (!opt_keep)
    remove_tree (dir);
  else
    printf ("databases kept in %s\n", dir);
  return 0;
}
