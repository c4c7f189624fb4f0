/* test-audit.c — the hash-chained, signed audit log: it verifies after real
 * work, only the last entry of each transaction is signed, and every way of
 * editing it by hand is reported at the entry that was touched (or, for an
 * unsigned entry rewritten with its hash, at the signed entry after it).
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "crypto/fk-identity.h"
#include "tests/fk-test-util.h"

typedef struct {
  char    *dir;
  FkStore *store;
  char    *case_uuid;   /* the sealed case */
  char    *other_uuid;  /* a draft that was edited last */
  gint64   n;           /* entries after set-up */
} Fixture;

/* A day's work: operators, an outing, a case through every step, and a
 * second case edited as the very last action. */
static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *outing = NULL;
  g_autofree char *pid = fk_test_national_id ('A', 2, 5550001);
  g_autoptr(GBytes) photo = g_bytes_new_static ("not really a jpeg", 17);
  gint64 id, id2;

  f->dir = fk_test_make_tmp ();
  f->store = fk_test_store_new (f->dir, NULL);
  g_assert_true (fk_store_operator_add (f->store, "bob", "Lin Chih-hao", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  outing = fk_test_outing (f->store);
  id = fk_test_cert_case (f->store, outing, pid, "稽核測試", photo, &error);
  g_assert_no_error (error);
  g_assert_true (fk_store_case_tick (f->store, id, NULL, TRUE, &error));
  g_assert_true (fk_store_case_check (f->store, id, &error));
  g_assert_true (fk_store_case_approve_as (f->store, id, "bob", FK_TEST_PASS_BOB, &error));
  g_assert_true (fk_store_case_finalize (f->store, id, NULL, &error));
  g_assert_no_error (error);
  id2 = fk_test_replace_case (f->store, outing, pid, "稽核測試", &error);
  g_assert_no_error (error);
  g_assert_true (fk_store_case_set_field (f->store, id2, "phone", "0911222333", &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);
    g_autoptr(FkCase) c2 = fk_store_case_get (f->store, id2, &error);

    f->case_uuid = g_strdup (c->uuid);
    f->other_uuid = g_strdup (c2->uuid);
  }
  f->n = fk_test_int (fk_store_db (f->store), "SELECT COUNT(*) FROM audit");
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->store, fk_store_close);
  fk_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->case_uuid);
  g_free (f->other_uuid);
}

/* Runs fk_audit_verify and returns first_bad; *reason gets the reason. */
static gint64
verify (Fixture *f, char **reason)
{
  g_autoptr(GError) error = NULL;
  FkAuditReport report = { 0 };
  gint64 bad;

  g_assert_true (fk_audit_verify (fk_store_db (f->store), fk_store_device_public_key (f->store), &report, &error));
  g_assert_no_error (error);
  bad = report.first_bad;
  if (bad != 0)
    g_assert_nonnull (report.reason);
  if (reason)
    *reason = g_strdup (report.reason);
  fk_audit_report_clear (&report);
  return bad;
}

static void
assert_reason (const char *reason, const char *needle)
{
  if (reason == NULL || strstr (reason, needle) == NULL)
    g_error ("expected \"%s\" in the reason, got \"%s\"", needle, reason ? reason : "(none)");
}

/* The entry hash exactly as fk-audit.h documents it. */
static void
entry_hash (const guint8 prev[32], gint64 seq, gint64 at, const char *op, const char *action,
            const char *subject, const char *detail, guint8 out[32])
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 be[8];

  g_byte_array_append (buf, (const guint8 *) "fk-audit-v1", 11);
  g_byte_array_append (buf, prev, 32);
  for (int i = 0; i < 8; i++)
    be[i] = (guint8) ((guint64) seq >> (56 - 8 * i));
  g_byte_array_append (buf, be, 8);
  for (int i = 0; i < 8; i++)
    be[i] = (guint8) ((guint64) at >> (56 - 8 * i));
  g_byte_array_append (buf, be, 8);
  g_byte_array_append (buf, (const guint8 *) op, strlen (op) + 1);
  g_byte_array_append (buf, (const guint8 *) action, strlen (action) + 1);
  g_byte_array_append (buf, (const guint8 *) subject, strlen (subject) + 1);
  g_byte_array_append (buf, (const guint8 *) detail, strlen (detail) + 1);
  fk_hash (buf->data, buf->len, out);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_chain_verifies (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  static const char *const expected[] = {
    "device.init", "operator.add", "outing.new", "case.new", "attachment.add", "case.tick", "case.check",
    "case.approve", "case.seal", "case.new", "case.edit", NULL,
  };
  sqlite3 *db = fk_store_db (f->store);
  g_autofree char *reason = NULL;

  g_assert_cmpint (verify (f, &reason), ==, 0);
  g_assert_null (reason);

  all = fk_audit_entries (db, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, g_strv_length ((char **) expected));
  g_assert_cmpint (f->n, ==, all->len);
  for (guint i = 0; i < all->len; i++)
    {
      FkAuditEntry *e = all->pdata[i];

      g_assert_cmpint (e->seq, ==, i + 1);
      g_assert_cmpstr (e->action, ==, expected[i]);
      g_assert_cmpint (e->at, >, 0);
      if (i > 0)
        g_assert_cmpint (e->at, >=, ((FkAuditEntry *) all->pdata[i - 1])->at);
      g_assert_cmpstr (e->operator_id, ==, g_str_equal (e->action, "case.approve") ? "bob" : "ann");
    }
  /* The head is where the chain ends. */
  g_assert_cmpint (fk_test_int (db, "SELECT seq FROM audit_head"), ==, f->n);
  g_assert_cmpint (fk_test_int (db, "SELECT hash = (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1) FROM audit_head"), ==, 1);

  /* Opening and closing the store, and verifying, add nothing. */
  g_clear_pointer (&f->store, fk_store_close);
  f->store = fk_test_store_open_as (f->dir, "ann", FK_TEST_PASS_ANN);
  g_assert_cmpint (verify (f, NULL), ==, 0);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 0);
  g_assert_cmpint (fk_test_int (fk_store_db (f->store), "SELECT COUNT(*) FROM audit"), ==, f->n);
}

typedef struct {
  const char *path;
  const char *sql;      /* %SEQ% is the entry edited */
  const char *reason;
} Tamper;

static const Tamper tampers[] = {
  { "/app/audit/tamper/detail", "UPDATE audit SET detail = '{\"id\":1}' WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/detail-one-char", "UPDATE audit SET detail = replace (detail, '\"', '''') WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/operator", "UPDATE audit SET operator = 'mallory' WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/at", "UPDATE audit SET at = at + 1 WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/action", "UPDATE audit SET action = 'case.view' WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/subject", "UPDATE audit SET subject = 'someone-else' WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/prev", "UPDATE audit SET prev = randomblob (32) WHERE seq = %SEQ%", "link" },
  { "/app/audit/tamper/hash", "UPDATE audit SET hash = zeroblob (32) WHERE seq = %SEQ%", "changed" },
  { "/app/audit/tamper/signature", "UPDATE audit SET sig = zeroblob (64) WHERE seq = %SEQ%", "signature" },
  { "/app/audit/tamper/delete-middle", "DELETE FROM audit WHERE seq = %SEQ%", "missing" },
};

static void
test_tamper (Fixture *f, gconstpointer data)
{
  const Tamper *t = data;
  sqlite3 *db = fk_store_db (f->store);

  /* Every entry in turn, the first and the last included. */
  for (gint64 seq = 1; seq <= f->n; seq++)
    {
      g_autoptr(GString) sql = g_string_new (t->sql);
      g_autofree char *seq_text = g_strdup_printf ("%" G_GINT64_FORMAT, seq);
      g_autofree char *reason = NULL;

      if (g_str_has_suffix (t->path, "delete-middle") && seq == f->n)
        continue;   /* that is the next test */
      fk_test_exec (db, "SAVEPOINT tamper");
      g_string_replace (sql, "%SEQ%", seq_text, 0);
      fk_test_exec (db, sql->str);
      g_assert_cmpint (sqlite3_changes (db), ==, 1);
      g_assert_cmpint (verify (f, &reason), ==, seq);
      assert_reason (reason, t->reason);
      fk_test_exec (db, "ROLLBACK TO tamper");
      fk_test_exec (db, "RELEASE tamper");
      g_assert_cmpint (verify (f, NULL), ==, 0);
    }
}

static void
test_delete_last (Fixture *f, gconstpointer data)
{
  g_autofree char *sql = g_strdup_printf ("DELETE FROM audit WHERE seq = %" G_GINT64_FORMAT, f->n);
  g_autofree char *reason = NULL;

  fk_test_exec (fk_store_db (f->store), sql);
  g_assert_cmpint (verify (f, &reason), ==, f->n);
  assert_reason (reason, "removed");
}

/* Cutting the tail and moving the head back with it leaves a log that is
 * consistent in itself; the records still show a change the log no longer
 * holds.  (Putting back a whole older file is the limit: see SECURITY.md.) */
static void
test_truncate_with_head (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  sqlite3 *db = fk_store_db (f->store);
  g_autofree char *sql = g_strdup_printf (
    "DELETE FROM audit WHERE seq = %" G_GINT64_FORMAT ";"
    "UPDATE audit_head SET seq = %" G_GINT64_FORMAT ","
    " hash = (SELECT hash FROM audit WHERE seq = %" G_GINT64_FORMAT ")", f->n, f->n - 1, f->n - 1);
  g_autofree char *where = NULL;

  fk_test_exec (db, sql);
  g_assert_cmpint (verify (f, NULL), ==, 0);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 1);
  where = g_strdup_printf ("case %" G_GINT64_FORMAT,
                           fk_test_int (db, "SELECT MAX (id) FROM cases"));
  g_assert_cmpstr (((FkDamage *) damage->pdata[0])->where, ==, where);
}

/* Someone who knows the format rewrites an entry, recomputes its hash and
 * the head, and signs it with a key of their own. */
static void
forge (Fixture *f, gint64 seq, const char *new_detail, gboolean same_content)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkIdentity) forger = fk_identity_generate (&error);
  sqlite3 *db = fk_store_db (f->store);
  sqlite3_stmt *st = NULL;
  guint8 prev[32], hash[32], sig[crypto_sign_BYTES];
  gint64 at;
  g_autofree char *op = NULL;
  g_autofree char *action = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *detail = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT prev, at, operator, action, subject, detail FROM audit WHERE seq = ?",
                                       -1, &st, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (st, 1, seq);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  memcpy (prev, sqlite3_column_blob (st, 0), 32);
  at = sqlite3_column_int64 (st, 1);
  op = g_strdup ((const char *) sqlite3_column_text (st, 2));
  action = g_strdup ((const char *) sqlite3_column_text (st, 3));
  subject = g_strdup ((const char *) sqlite3_column_text (st, 4));
  detail = g_strdup (same_content ? (const char *) sqlite3_column_text (st, 5) : new_detail);
  sqlite3_finalize (st);

  entry_hash (prev, seq, at, op, action, subject, detail, hash);
  if (same_content)
    {
      g_autoptr(GBytes) stored = NULL;
      g_autofree char *q = g_strdup_printf ("SELECT hash FROM audit WHERE seq = %" G_GINT64_FORMAT, seq);

      /* The test's reading of the documented format matches the code's. */
      stored = fk_test_blob (db, q);
      g_assert_cmpmem (g_bytes_get_data (stored, NULL), g_bytes_get_size (stored), hash, 32);
    }
  fk_identity_sign (forger, hash, 32, sig);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE audit SET detail = ?, hash = ?, sig = ? WHERE seq = ?",
                                       -1, &st, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (st, 1, detail, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (st, 2, hash, 32, SQLITE_TRANSIENT);
  sqlite3_bind_blob (st, 3, sig, sizeof sig, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 4, seq);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
  sqlite3_finalize (st);
  if (seq == f->n)
    {
      g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE audit_head SET hash = ?", -1, &st, NULL), ==, SQLITE_OK);
      sqlite3_bind_blob (st, 1, hash, 32, SQLITE_TRANSIENT);
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
      sqlite3_finalize (st);
    }
}

static void
test_foreign_signature (Fixture *f, gconstpointer data)
{
  g_autofree char *reason = NULL;
  g_autofree char *reason2 = NULL;
  sqlite3 *db = fk_store_db (f->store);

  /* The last entry rewritten, hash and head fixed: only the key is wrong. */
  fk_test_exec (db, "SAVEPOINT forge");
  forge (f, f->n, "{\"id\":2,\"status\":\"sealed\"}", FALSE);
  g_assert_cmpint (verify (f, &reason), ==, f->n);
  assert_reason (reason, "signature");
  fk_test_exec (db, "ROLLBACK TO forge");
  fk_test_exec (db, "RELEASE forge");
  g_assert_cmpint (verify (f, NULL), ==, 0);

  /* A middle entry re-signed with the same content and another key. */
  forge (f, 5, NULL, TRUE);
  g_assert_cmpint (verify (f, &reason2), ==, 5);
  assert_reason (reason2, "signature");
}

static gint64
sig_len (sqlite3 *db, gint64 seq)
{
  g_autofree char *q = g_strdup_printf ("SELECT length (sig) FROM audit WHERE seq = %" G_GINT64_FORMAT, seq);

  return fk_test_int (db, q);
}

/* Only the last entry each transaction writes is signed: in the fixture,
 * the new case with a photo (case.new, then attachment.add in the same
 * call); in a batch, the last case that was kept, even when calls after
 * it were refused and rolled back to their savepoints. */
static void
test_sign_last_of_transaction (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) too_big = g_bytes_new_take (g_malloc0 (21 * 1024 * 1024), 21 * 1024 * 1024);
  g_autofree char *outing = NULL;
  sqlite3 *db = fk_store_db (f->store);
  gint64 unsigned_seq = fk_test_int (db, "SELECT seq FROM audit WHERE action = 'case.new' ORDER BY seq LIMIT 1");
  gint64 first, last;

  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM audit WHERE length (sig) = 0"), ==, 1);
  g_assert_cmpint (sig_len (db, unsigned_seq), ==, 0);
  g_assert_cmpint (sig_len (db, unsigned_seq + 1), ==, crypto_sign_BYTES);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM audit WHERE length (sig) = 64"), ==, f->n - 1);

  /* A batch: kept, refused, kept, kept, refused last. */
  outing = fk_test_outing (f->store);
  first = fk_test_int (db, "SELECT MAX (seq) FROM audit") + 1;
  g_assert_true (fk_store_begin_batch (f->store, &error));
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *pid = fk_test_national_id ('B', 1, 7000000 + i);
      gboolean refuse = i == 1 || i == 4;
      gint64 id = fk_test_cert_case (f->store, outing, pid, "批次", refuse ? too_big : NULL, &error);

      if (refuse)
        {
          g_assert_cmpint (id, ==, 0);
          g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (id, >, 0);
        }
    }
  g_assert_true (fk_store_end_batch (f->store, TRUE, &error));
  g_assert_no_error (error);
  last = fk_test_int (db, "SELECT MAX (seq) FROM audit");
  g_assert_cmpint (last, ==, first + 2);
  g_assert_cmpint (sig_len (db, first), ==, 0);
  g_assert_cmpint (sig_len (db, first + 1), ==, 0);
  g_assert_cmpint (sig_len (db, last), ==, crypto_sign_BYTES);
  g_assert_cmpint (fk_test_int (db, "SELECT seq FROM audit_head"), ==, last);
  g_assert_cmpint (verify (f, NULL), ==, 0);

  /* A batch in which every call was refused writes and signs nothing. */
  g_assert_true (fk_store_begin_batch (f->store, &error));
  {
    g_autofree char *pid = fk_test_national_id ('B', 2, 7100000);

    g_assert_cmpint (fk_test_cert_case (f->store, outing, pid, "批次", too_big, &error), ==, 0);
    g_clear_error (&error);
  }
  g_assert_true (fk_store_end_batch (f->store, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fk_test_int (db, "SELECT MAX (seq) FROM audit"), ==, last);
  g_assert_cmpint (verify (f, NULL), ==, 0);
}

/* The longest run of unsigned entries in the log. */
static gint64
longest_unsigned_run (sqlite3 *db)
{
  sqlite3_stmt *st = NULL;
  gint64 run = 0, longest = 0;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT length (sig) FROM audit ORDER BY seq", -1, &st, NULL), ==, SQLITE_OK);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      run = sqlite3_column_int (st, 0) == 0 ? run + 1 : 0;
      longest = MAX (longest, run);
    }
  sqlite3_finalize (st);
  return longest;
}

/* A long batch (a roster import) also signs every FK_AUDIT_SIGN_EVERY-th
 * entry, also when a refused call took such an entry back with it, so the
 * log can go up in parts that end on signed entries and stay small. */
static void
test_sign_long_batch (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) too_big = g_bytes_new_take (g_malloc0 (21 * 1024 * 1024), 21 * 1024 * 1024);
  g_autofree char *outing = fk_test_outing (f->store);
  sqlite3 *db = fk_store_db (f->store);
  const guint n = 2 * FK_AUDIT_SIGN_EVERY + 88;
  gint64 first = fk_test_int (db, "SELECT MAX (seq) FROM audit") + 1;
  gint64 after = 0, parts = 0;

  g_assert_true (fk_store_begin_batch (f->store, &error));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *pid = fk_test_national_id ('C', 1 + i % 2, 6000000 + i);

      g_assert_cmpint (fk_test_replace_case (f->store, outing, pid, "長批次", &error), >, 0);
      g_assert_no_error (error);
    }
  g_assert_true (fk_store_end_batch (f->store, TRUE, &error));
  g_assert_no_error (error);
  for (gint64 seq = first; seq < first + n; seq++)
    {
      gboolean expect = (seq - first + 1) % FK_AUDIT_SIGN_EVERY == 0 || seq == first + n - 1;

      if (sig_len (db, seq) != (expect ? crypto_sign_BYTES : 0))
        g_error ("entry %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " of the batch): signature of %" G_GINT64_FORMAT " bytes",
                 seq, seq - first + 1, sig_len (db, seq));
    }
  g_assert_cmpint (verify (f, NULL), ==, 0);

  /* A refused call whose entry was the batch's FK_AUDIT_SIGN_EVERY-th. */
  first = fk_test_int (db, "SELECT MAX (seq) FROM audit") + 1;
  g_assert_true (fk_store_begin_batch (f->store, &error));
  for (guint i = 0; i < FK_AUDIT_SIGN_EVERY + 10; i++)
    {
      g_autofree char *pid = fk_test_national_id ('E', 2, 6100000 + i);
      gboolean refuse = i == FK_AUDIT_SIGN_EVERY - 1;
      gint64 id = fk_test_cert_case (f->store, outing, pid, "長批次", refuse ? too_big : NULL, &error);

      g_assert_cmpint (id > 0, ==, !refuse);
      g_clear_error (&error);
    }
  g_assert_true (fk_store_end_batch (f->store, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (verify (f, NULL), ==, 0);
  g_assert_cmpint (longest_unsigned_run (db), <, FK_AUDIT_SIGN_EVERY);

  /* The upload in parts: each ends on a signed entry, none is much longer
   * than asked for. */
  for (;;)
    {
      gint64 last = after;
      g_autofree char *body = fk_store_audit_export_some (f->store, after, 100, &last, &error);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonArray *entries;
      guint len;

      g_assert_no_error (error);
      if (last == after)
        break;
      g_assert_true (json_parser_load_from_data (parser, body, -1, NULL));
      entries = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "entries");
      len = json_array_get_length (entries);
      g_assert_cmpuint (len, <, 100 + FK_AUDIT_SIGN_EVERY);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, len - 1), "sig"), !=, "");
      after = last;
      parts++;
    }
  g_assert_cmpint (after, ==, fk_test_int (db, "SELECT MAX (seq) FROM audit"));
  g_assert_cmpint (parts, >=, 4);
}

/* An unsigned entry in the middle rewritten by someone who knows the
 * format, its hash and the next entry's link recomputed: the signature of
 * the entry that ends its transaction no longer fits. */
static void
test_unsigned_middle_rewritten (Fixture *f, gconstpointer data)
{
  sqlite3 *db = fk_store_db (f->store);
  gint64 seq = fk_test_int (db, "SELECT seq FROM audit WHERE length (sig) = 0 ORDER BY seq LIMIT 1");
  g_autofree char *reason = NULL;
  guint8 hash[32];

  g_assert_cmpint (seq, <, f->n);
  for (gint64 s = seq; s <= seq + 1; s++)
    {
      sqlite3_stmt *st = NULL;
      guint8 prev[32];
      g_autofree char *detail = NULL;
      g_autofree char *op = NULL, *action = NULL, *subject = NULL;
      gint64 at;

      g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT prev, at, operator, action, subject, detail FROM audit WHERE seq = ?",
                                           -1, &st, NULL), ==, SQLITE_OK);
      sqlite3_bind_int64 (st, 1, s);
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
      if (s == seq)
        memcpy (prev, sqlite3_column_blob (st, 0), 32);
      else
        memcpy (prev, hash, 32);
      at = sqlite3_column_int64 (st, 1);
      op = g_strdup ((const char *) sqlite3_column_text (st, 2));
      action = g_strdup ((const char *) sqlite3_column_text (st, 3));
      subject = g_strdup ((const char *) sqlite3_column_text (st, 4));
      detail = g_strdup (s == seq ? "{\"id\":99,\"status\":\"draft\"}" : (const char *) sqlite3_column_text (st, 5));
      sqlite3_finalize (st);

      entry_hash (prev, s, at, op, action, subject, detail, hash);
      g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE audit SET detail = ?, prev = ?, hash = ? WHERE seq = ?",
                                           -1, &st, NULL), ==, SQLITE_OK);
      sqlite3_bind_text (st, 1, detail, -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob (st, 2, prev, 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob (st, 3, hash, 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (st, 4, s);
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
      sqlite3_finalize (st);
    }
  /* The rewritten entry itself is consistent; the signed one after it is not. */
  g_assert_cmpint (verify (f, &reason), ==, seq + 1);
  assert_reason (reason, "signature");
}

/* The last entry must be signed: stripping its signature, or cutting the
 * log (head included) inside a transaction, leaves an unsigned tail. */
static void
test_unsigned_last (Fixture *f, gconstpointer data)
{
  sqlite3 *db = fk_store_db (f->store);
  gint64 seq = fk_test_int (db, "SELECT seq FROM audit WHERE length (sig) = 0 ORDER BY seq LIMIT 1");
  g_autofree char *strip = g_strdup_printf ("UPDATE audit SET sig = x'' WHERE seq = %" G_GINT64_FORMAT, f->n);
  g_autofree char *cut = g_strdup_printf ("DELETE FROM audit WHERE seq > %" G_GINT64_FORMAT ";"
                                          "UPDATE audit_head SET seq = %" G_GINT64_FORMAT ","
                                          " hash = (SELECT hash FROM audit WHERE seq = %" G_GINT64_FORMAT ")",
                                          seq, seq, seq);
  g_autofree char *reason = NULL;
  g_autofree char *reason2 = NULL;

  fk_test_exec (db, "SAVEPOINT strip");
  fk_test_exec (db, strip);
  g_assert_cmpint (verify (f, &reason), ==, f->n);
  assert_reason (reason, "unsigned");
  fk_test_exec (db, "ROLLBACK TO strip");
  fk_test_exec (db, "RELEASE strip");
  g_assert_cmpint (verify (f, NULL), ==, 0);

  fk_test_exec (db, cut);
  g_assert_cmpint (verify (f, &reason2), ==, seq);
  assert_reason (reason2, "unsigned");
}

static void
test_entries_by_subject (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) other = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GPtrArray) ann = NULL;
  sqlite3 *db = fk_store_db (f->store);
  static const char *const expected[] = { "case.new", "case.tick", "case.check", "case.approve", "case.seal", NULL };

  mine = fk_audit_entries (db, f->case_uuid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 5);
  for (guint i = 0; i < mine->len; i++)
    {
      FkAuditEntry *e = mine->pdata[i];

      g_assert_cmpstr (e->subject, ==, f->case_uuid);
      g_assert_cmpstr (e->action, ==, expected[i]);
      if (i > 0)
        g_assert_cmpint (e->seq, >, ((FkAuditEntry *) mine->pdata[i - 1])->seq);
    }
  /* What the log records per case is the version and a ciphertext digest:
   * no personal data. */
  g_assert_nonnull (strstr (((FkAuditEntry *) mine->pdata[4])->detail, "\"status\":\"sealed\""));
  g_assert_null (strstr (((FkAuditEntry *) mine->pdata[4])->detail, "稽核測試"));

  other = fk_audit_entries (db, f->other_uuid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (other->len, ==, 2);
  g_assert_cmpstr (((FkAuditEntry *) other->pdata[1])->action, ==, "case.edit");

  ann = fk_audit_entries (db, "ann", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ann->len, ==, 1);
  g_assert_cmpstr (((FkAuditEntry *) ann->pdata[0])->action, ==, "device.init");

  none = fk_audit_entries (db, "no such subject", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

/* The device key of another device does not verify this log. */
static void
test_other_device_key (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkIdentity) other = fk_identity_generate (&error);
  FkAuditReport report = { 0 };

  g_assert_true (fk_audit_verify (fk_store_db (f->store), fk_identity_public_key (other), &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.first_bad, ==, 1);
  assert_reason (report.reason, "signature");
  fk_audit_report_clear (&report);
}

int
main (int argc, char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/app/audit/chain/verifies", test_chain_verifies, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (tampers); i++)
    ADD (tampers[i].path, test_tamper, &tampers[i]);
  ADD ("/app/audit/tamper/delete-last", test_delete_last, NULL);
  ADD ("/app/audit/tamper/truncate-with-head", test_truncate_with_head, NULL);
  ADD ("/app/audit/tamper/foreign-signature", test_foreign_signature, NULL);
  ADD ("/app/audit/tamper/unsigned-middle-rewritten", test_unsigned_middle_rewritten, NULL);
  ADD ("/app/audit/tamper/unsigned-last", test_unsigned_last, NULL);
  ADD ("/app/audit/sign/last-of-transaction", test_sign_last_of_transaction, NULL);
  ADD ("/app/audit/sign/long-batch", test_sign_long_batch, NULL);
  ADD ("/app/audit/verify/other-device-key", test_other_device_key, NULL);
  ADD ("/app/audit/entries/subject", test_entries_by_subject, NULL);
#undef ADD

  return g_test_run ();
}
