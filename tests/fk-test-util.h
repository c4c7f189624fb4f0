/* fk-test-util.h — small helpers shared by the store, audit, privacy and
 * crash tests: a private data folder per test, a set-up device, valid ID
 * numbers made on the spot, raw SQL.
 *
 * Everything is static inline so each test program takes only what it
 * uses.
 */
#pragma once

#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "app/fk-audit.h"
#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "crypto/fk-vault.h"

#define FK_TEST_PASS_ANN "ann's long test passphrase"
#define FK_TEST_PASS_BOB "bob's long test passphrase"
#define FK_TEST_PASS_CAROL "carol's long test passphrase"

/* Removes a file or a whole folder; a missing path is fine. */
static inline void
fk_test_rm_rf (const char *path)
{
  GDir *dir;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_test_message ("could not remove %s: %s", path, g_strerror (errno));
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      fk_test_rm_rf (child);
    }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

static inline char *
fk_test_make_tmp (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("fieldkit-test-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  return dir;
}

/* A national ID number with a correct check digit: letter, gender digit
 * (1 or 2) and seven serial digits. */
static inline char *
fk_test_national_id (char letter, int gender, guint serial)
{
  /* The area letters' two-digit codes, A..Z. */
  static const int codes[26] = {
    10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
    22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33,
  };
  static const int weights[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
  char digits[9];
  int code = codes[g_ascii_toupper (letter) - 'A'];
  int sum = code / 10 + (code % 10) * 9;
  int check;

  g_snprintf (digits, sizeof digits, "%d%07u", gender, serial % 10000000);
  for (int i = 0; i < 8; i++)
    sum += (digits[i] - '0') * weights[i];
  check = (10 - sum % 10) % 10;
  return g_strdup_printf ("%c%s%d", g_ascii_toupper (letter), digits, check);
}

/* The same number with its check digit changed: well-formed, wrong sum. */
static inline char *
fk_test_bad_checksum (const char *good)
{
  char *bad = g_strdup (good);
  gsize last = strlen (bad) - 1;

  bad[last] = bad[last] == '9' ? '0' : bad[last] + 1;
  return bad;
}

/* ---- raw SQL ------------------------------------------------------------- */

static inline void
fk_test_exec (sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);

  if (rc != SQLITE_OK)
    g_error ("SQL failed (%d): %s\n  %s", rc, msg ? msg : "?", sql);
}

/* Runs sql and returns its SQLite result code; *message gets the error. */
static inline int
fk_test_exec_rc (sqlite3 *db, const char *sql, char **message)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);

  if (message)
    *message = g_strdup (msg);
  sqlite3_free (msg);
  return rc;
}

static inline gint64
fk_test_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

static inline char *
fk_test_text (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  char *v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return v;
}

/* The first column of the first row as bytes (a blob), or NULL. */
static inline GBytes *
fk_test_blob (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  GBytes *v = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    v = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  return v;
}

/* Runs an UPDATE with one blob parameter (?1); returns the SQLite code. */
static inline int
fk_test_update_blob (sqlite3 *db, const char *sql, GBytes *blob)
{
  sqlite3_stmt *st = NULL;
  int rc;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (st, 1, g_bytes_get_data (blob, NULL), (int) g_bytes_get_size (blob), SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  return rc;
}

/* Every row of a table, every column with its type, in rowid order: two
 * snapshots are equal only when nothing in the table changed. */
static inline char *
fk_test_table_dump (sqlite3 *db, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT * FROM %s ORDER BY rowid", table);
  GString *out = g_string_new (NULL);
  sqlite3_stmt *st = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      for (int i = 0; i < sqlite3_column_count (st); i++)
        {
          int type = sqlite3_column_type (st, i);
          const guint8 *p = sqlite3_column_blob (st, i);
          int n = sqlite3_column_bytes (st, i);

          g_string_append_printf (out, "%d:", type);
          for (int j = 0; j < n; j++)
            g_string_append_printf (out, "%02x", p[j]);
          g_string_append_c (out, '|');
        }
      g_string_append_c (out, '\n');
    }
  sqlite3_finalize (st);
  return g_string_free (out, FALSE);
}

static inline char *
fk_test_integrity (sqlite3 *db)
{
  return fk_test_text (db, "PRAGMA integrity_check");
}

/* ---- a device -------------------------------------------------------------- */

/* Opens data_dir and sets it up as office TCN, device 03, with ann as the
 * supervisor; the store is left unlocked as ann. */
static inline FkStore *
fk_test_store_new (const char *data_dir, char **recovery_key)
{
  g_autoptr(GError) error = NULL;
  FkStore *store = fk_store_open (data_dir, &error);
  char *recovery = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_false (fk_store_is_initialized (store));
  g_assert_true (fk_store_init_device (store, "ann", "Chen Mei-ling", FK_TEST_PASS_ANN, "TCN", 3,
                                       &recovery, &error));
  g_assert_no_error (error);
  g_assert_nonnull (recovery);
  if (recovery_key)
    *recovery_key = recovery;
  else
    fk_recovery_key_free (recovery);
  return store;
}

static inline FkStore *
fk_test_store_open_as (const char *data_dir, const char *operator_id, const char *passphrase)
{
  g_autoptr(GError) error = NULL;
  FkStore *store = fk_store_open (data_dir, &error);

  g_assert_no_error (error);
  g_assert_true (fk_store_unlock (store, operator_id, passphrase, &error));
  g_assert_no_error (error);
  return store;
}

static inline char *
fk_test_outing (FkStore *store)
{
  g_autoptr(GError) error = NULL;
  char *id = fk_store_outing_new (store, "home_visit", "Home visits, Beitun", "2026-11-20",
                                  "Beitun district", &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

/* A complete certificate application (no second check needed). */
static inline gint64
fk_test_cert_case (FkStore    *store,
                   const char *outing,
                   const char *person_id,
                   const char *name,
                   GBytes     *photo,
                   GError    **error)
{
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  FkCaseInput in = { 0 };

  g_hash_table_insert (fields, (gpointer) "card_number", (gpointer) "AB12345678901234");
  in.outing_id = outing;
  in.service = "certificate_apply";
  in.person_id = person_id;
  in.name = name;
  in.birth_date = "1971-07-01";
  in.fields = fields;
  in.photo = photo;
  in.photo_mime = "image/jpeg";
  return fk_store_case_new (store, &in, error);
}

/* An ID-card replacement (needs a second check). */
static inline gint64
fk_test_replace_case (FkStore    *store,
                      const char *outing,
                      const char *person_id,
                      const char *name,
                      GError    **error)
{
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  FkCaseInput in = { 0 };

  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "damaged");
  in.outing_id = outing;
  in.service = "id_card_replace";
  in.person_id = person_id;
  in.name = name;
  in.birth_date = "1950-03-04";
  in.fields = fields;
  return fk_store_case_new (store, &in, error);
}

static inline void
fk_test_assert_audit_intact (FkStore *store)
{
  g_autoptr(GError) error = NULL;
  FkAuditReport report = { 0 };

  g_assert_true (fk_audit_verify (fk_store_db (store), fk_store_device_public_key (store), &report, &error));
  g_assert_no_error (error);
  if (report.first_bad != 0)
    g_error ("audit log broken at %" G_GINT64_FORMAT ": %s", report.first_bad, report.reason);
  g_assert_cmpuint (report.n_entries, >, 0);
  fk_audit_report_clear (&report);
}
