/* test-store.c — the encrypted case store: unlocking, operators, outings,
 * case validation and lifecycle, sealing, damage detection, and what the
 * store does when SQLite says no (newer file, not a database, disk full,
 * busy).
 */
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "app/fk-checkpoint.h"
#include "tests/fk-test-util.h"

typedef struct {
  char    *dir;
  FkStore *store;
  char    *recovery;
  char    *outing;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = fk_test_make_tmp ();
  f->store = fk_test_store_new (f->dir, &f->recovery);
  f->outing = fk_test_outing (f->store);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->store, fk_store_close);
  g_clear_pointer (&f->recovery, fk_recovery_key_free);
  g_clear_pointer (&f->outing, g_free);
  fk_test_rm_rf (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

static char *
db_path (const Fixture *f)
{
  return g_build_filename (f->dir, "fieldkit.db", NULL);
}

static void
add_bob (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fk_store_operator_add (f->store, "bob", "Lin Chih-hao", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
}

static GBytes *
random_bytes (gsize len, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *buf = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8) g_rand_int_range (rand, 0, 256);
  return g_bytes_new_take (buf, len);
}

/* Ticks everything and self-checks. */
static void
tick_and_check (FkStore *store, gint64 id)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fk_store_case_tick (store, id, NULL, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_check (store, id, &error));
  g_assert_no_error (error);
}

static char *
snapshot (FkStore *store)
{
  static const char *const tables[] = { "cases", "outings", "operators", "audit", "audit_head", "attachments", NULL };
  GString *s = g_string_new (NULL);

  for (guint i = 0; tables[i]; i++)
    {
      g_autofree char *dump = fk_test_table_dump (fk_store_db (store), tables[i]);

      g_string_append_printf (s, "== %s\n%s", tables[i], dump);
    }
  return g_string_free (s, FALSE);
}

static guint
n_audit (FkStore *store)
{
  return (guint) fk_test_int (fk_store_db (store), "SELECT COUNT(*) FROM audit");
}

/* ---- unlocking ---------------------------------------------------------- */

static void
test_unlock_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(FkOuting) outing = NULL;
  g_autoptr(FkCase) kase = NULL;
  char *recovery = NULL;

  g_assert_true (fk_store_is_initialized (f->store));
  g_assert_true (fk_store_is_unlocked (f->store));
  g_assert_cmpstr (fk_store_operator (f->store), ==, "ann");
  g_assert_nonnull (fk_store_device_identity (f->store));

  /* Setting up twice is refused. */
  g_assert_false (fk_store_init_device (f->store, "zed", "Zed", FK_TEST_PASS_ANN, "TCN", 3, &recovery, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_EXISTS);
  g_assert_null (recovery);
  g_clear_error (&error);

  g_clear_pointer (&f->store, fk_store_close);
  f->store = fk_store_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (fk_store_is_initialized (f->store));
  g_assert_false (fk_store_is_unlocked (f->store));
  g_assert_null (fk_store_operator (f->store));
  g_assert_null (fk_store_device_identity (f->store));
  g_assert_cmpstr (fk_store_office_code (f->store), ==, "TCN");
  g_assert_cmpuint (fk_store_device_number (f->store), ==, 3);
  g_assert_nonnull (fk_store_device_public_key (f->store));

  /* While locked, names stay closed and personal data is refused. */
  ops = fk_store_operators (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_null (((FkOperator *) ops->pdata[0])->name);
  g_clear_pointer (&ops, g_ptr_array_unref);
  kase = fk_store_case_get (f->store, 1, &error);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED);
  g_assert_null (kase);
  g_clear_error (&error);

  g_assert_false (fk_store_unlock (f->store, "zed", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (fk_store_unlock (f->store, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_is_unlocked (f->store));
  g_assert_cmpstr (fk_store_operator (f->store), ==, "ann");
  ops = fk_store_operators (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (((FkOperator *) ops->pdata[0])->name, ==, "Chen Mei-ling");
  g_assert_cmpint (((FkOperator *) ops->pdata[0])->role, ==, FK_ROLE_SUPERVISOR);

  outing = fk_store_outing_get (f->store, f->outing, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (outing->title, ==, "Home visits, Beitun");
  g_assert_cmpstr (outing->place, ==, "Beitun district");

  fk_store_lock (f->store);
  g_assert_false (fk_store_is_unlocked (f->store));
  g_assert_null (fk_store_operator (f->store));
}

static void
test_unlock_wrong_passphrase (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = fk_test_national_id ('A', 1, 2345678);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gint64 case_id;

  add_bob (f);
  case_id = fk_test_cert_case (f->store, f->outing, id, "王小明", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (case_id, >, 0);
  fk_store_lock (f->store);

  before = snapshot (f->store);
  g_assert_false (fk_store_unlock (f->store, "ann", "not ann's passphrase", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_assert_nonnull (strstr (error->message, "Nothing was changed"));
  g_clear_error (&error);
  g_assert_false (fk_store_unlock (f->store, "bob", "", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (fk_store_verify_operator (f->store, "bob", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  after = snapshot (f->store);

  g_assert_cmpstr (before, ==, after);
  g_assert_false (fk_store_is_unlocked (f->store));
  g_assert_null (fk_store_device_identity (f->store));
  /* Only the failure counters moved. */
  g_assert_cmpint (fk_test_int (fk_store_db (f->store), "SELECT failures FROM keyslots WHERE operator = 'ann'"), ==, 1);
  g_assert_cmpint (fk_test_int (fk_store_db (f->store), "SELECT failures FROM keyslots WHERE operator = 'bob'"), ==, 2);
}

/* Waits, without asserting how long, until operator_id may try again. */
static void
wait_until_allowed (FkStore *store, const char *operator_id)
{
  gint64 give_up = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (fk_store_unlock_wait (store, operator_id) > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_usleep (50 * 1000);
    }
}

static void
test_unlock_growing_delay (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  sqlite3 *db = fk_store_db (f->store);
  guint wait3, wait4;

  /* fk_store_unlock_wait counts whole seconds, so with the 200 ms unit
   * the 1-unit and 2-unit waits would both read "1 s"; one full second
   * per unit (the production value) makes the growth visible. */
  g_setenv ("FIELDKIT_DELAY_UNIT_MS", "1000", TRUE);
  add_bob (f);
  fk_store_lock (f->store);

  g_assert_cmpuint (fk_store_unlock_wait (f->store, "ann"), ==, 0);
  for (int i = 1; i <= 3; i++)
    {
      g_assert_false (fk_store_unlock (f->store, "ann", "wrong passphrase here", &error));
      g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
      g_clear_error (&error);
    }

  /* The right passphrase, too early: refused without even being tried. */
  g_assert_false (fk_store_unlock (f->store, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WAIT);
  g_assert_nonnull (strstr (error->message, "Wait"));
  g_clear_error (&error);
  g_assert_false (fk_store_is_unlocked (f->store));
  g_assert_cmpint (fk_test_int (db, "SELECT failures FROM keyslots WHERE operator = 'ann'"), ==, 3);
  wait3 = fk_store_unlock_wait (f->store, "ann");
  g_assert_cmpuint (wait3, >=, 1);

  /* Counted per operator: bob is not held up by ann's mistakes. */
  g_assert_cmpuint (fk_store_unlock_wait (f->store, "bob"), ==, 0);

  wait_until_allowed (f->store, "ann");
  g_assert_false (fk_store_unlock (f->store, "ann", "still the wrong one", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  wait4 = fk_store_unlock_wait (f->store, "ann");
  g_assert_cmpuint (wait4, >, wait3);
  g_assert_false (fk_store_unlock (f->store, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WAIT);
  g_clear_error (&error);

  wait_until_allowed (f->store, "ann");
  g_assert_true (fk_store_unlock (f->store, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fk_test_int (db, "SELECT failures FROM keyslots WHERE operator = 'ann'"), ==, 0);
  g_assert_cmpuint (fk_store_unlock_wait (f->store, "ann"), ==, 0);

  /* The unlock after failures is on the record. */
  entries = fk_audit_entries (db, "ann", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (((FkAuditEntry *) entries->pdata[entries->len - 1])->action, ==, "operator.unlock_after_failures");
  g_assert_nonnull (strstr (((FkAuditEntry *) entries->pdata[entries->len - 1])->detail, "\"failed_attempts\":4"));

  /* After the reset a single mistake is just a mistake again. */
  fk_store_lock (f->store);
  g_assert_false (fk_store_unlock (f->store, "ann", "one more typo", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_cmpuint (fk_store_unlock_wait (f->store, "ann"), ==, 0);
  g_unsetenv ("FIELDKIT_DELAY_UNIT_MS");
}

static void
test_unlock_recovery (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *typed = NULL;
  g_autofree char *other = fk_recovery_key_generate ();
  const char *new_pass = "a brand new passphrase for ann";
  GString *s = g_string_new (NULL);

  /* The clerk types it back in lower case without the dashes. */
  for (const char *p = f->recovery; *p; p++)
    if (*p != '-')
      g_string_append_c (s, g_ascii_tolower (*p));
  typed = g_string_free (s, FALSE);

  fk_store_lock (f->store);
  g_assert_false (fk_store_recover (f->store, other, "ann", new_pass, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (fk_store_recover (f->store, typed, "ann", "short", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (fk_store_is_unlocked (f->store));

  g_assert_true (fk_store_recover (f->store, typed, "ann", new_pass, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_is_unlocked (f->store));
  g_assert_cmpstr (fk_store_operator (f->store), ==, "ann");
  fk_test_assert_audit_intact (f->store);

  g_clear_pointer (&f->store, fk_store_close);
  f->store = fk_store_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_false (fk_store_unlock (f->store, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_true (fk_store_unlock (f->store, "ann", new_pass, &error));
  g_assert_no_error (error);
  /* Same data key: the outing made before still opens. */
  {
    g_autoptr(FkOuting) o = fk_store_outing_get (f->store, f->outing, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (o->title, ==, "Home visits, Beitun");
  }
}

/* ---- operators and outings -------------------------------------------------- */

static void
test_operator_add (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) as_bob = NULL;
  g_autoptr(GPtrArray) ops = NULL;

  add_bob (f);
  g_assert_false (fk_store_operator_add (f->store, "bob", "Another Bob", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (fk_store_operator_add (f->store, "Bob Smith", "Bob", FK_ROLE_STAFF, FK_TEST_PASS_BOB, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (fk_store_operator_add (f->store, "carol", "Carol", FK_ROLE_STAFF, "short", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (fk_store_operator_add (f->store, "carol", "", FK_ROLE_STAFF, FK_TEST_PASS_CAROL, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  /* A staff operator cannot add anyone. */
  as_bob = fk_test_store_open_as (f->dir, "bob", FK_TEST_PASS_BOB);
  g_assert_false (fk_store_operator_add (as_bob, "carol", "Carol Wu", FK_ROLE_SUPERVISOR, FK_TEST_PASS_CAROL, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "supervisor"));
  g_clear_error (&error);

  ops = fk_store_operators (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ops->len, ==, 2);
  g_assert_null (fk_store_sole_operator (f->store));

  /* A supervisor can, and the new operator can sign in. */
  g_assert_true (fk_store_operator_add (f->store, "carol", "Carol Wu", FK_ROLE_SUPERVISOR, FK_TEST_PASS_CAROL, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_verify_operator (f->store, "carol", FK_TEST_PASS_CAROL, &error));
  g_assert_no_error (error);

  fk_store_lock (f->store);
  g_assert_false (fk_store_operator_add (f->store, "dave", "Dave", FK_ROLE_STAFF, FK_TEST_PASS_CAROL, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED);
}

static void
test_outing_validation (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *id = NULL;
  char *bad;

  bad = fk_store_outing_new (f->store, "picnic", "Lunch", "2026-11-20", NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "home_visit"));
  g_clear_error (&error);

  bad = fk_store_outing_new (f->store, "school_drive", "Class 801", "2026-02-30", NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  bad = fk_store_outing_new (f->store, "school_drive", "Class 801", "next tuesday", NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  bad = fk_store_outing_new (f->store, "school_drive", "", "2026-11-20", NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  list = fk_store_outings (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* ROC dates are accepted and stored as ISO 8601. */
  id = fk_store_outing_new (f->store, "school_drive", "Class 801", "民國115年12月1日", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id, ==, "O2");
  {
    g_autoptr(FkOuting) o = fk_store_outing_get (f->store, "2", &error);

    g_assert_no_error (error);
    g_assert_cmpstr (o->id, ==, "O2");
    g_assert_cmpstr (o->date, ==, "2026-12-01");
    g_assert_cmpstr (o->kind, ==, "school_drive");
    g_assert_null (o->place);
  }
  g_assert_null (fk_store_outing_get (f->store, "O9", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
}

/* ---- cases --------------------------------------------------------------------- */

static void
assert_case_refused (Fixture *f, FkCaseInput *in, const char *needle)
{
  g_autoptr(GError) error = NULL;
  gint64 id = fk_store_case_new (f->store, in, &error);

  g_assert_cmpint (id, ==, 0);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  if (needle && strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

static void
test_case_validation (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *good = fk_test_national_id ('F', 2, 1357913);
  g_autofree char *bad = fk_test_bad_checksum (good);
  g_autofree char *before = snapshot (f->store);
  g_autofree char *after = NULL;
  FkCaseInput in = { 0 };

  g_assert_true (fk_person_id_check (good, NULL, NULL, NULL));
  g_assert_false (fk_person_id_check (bad, NULL, NULL, NULL));

  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "lost");
  in.outing_id = f->outing;
  in.service = "id_card_replace";
  in.person_id = bad;
  in.name = "林美華";
  in.birth_date = "1960-05-06";
  in.fields = fields;
  {
    gint64 id = fk_store_case_new (f->store, &in, &error);

    g_assert_cmpint (id, ==, 0);
    g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
    g_assert_true (strstr (error->message, "check digit") != NULL || strstr (error->message, "checksum") != NULL);
    /* The message names the rule, never the number itself. */
    g_assert_null (strstr (error->message, bad));
    g_clear_error (&error);
  }

  in.person_id = good;
  in.name = "   ";
  assert_case_refused (f, &in, "name");

  in.name = "林美華";
  in.birth_date = "2999-01-01";
  assert_case_refused (f, &in, "future");
  in.birth_date = "1960-02-30";
  assert_case_refused (f, &in, "birth_date");

  in.birth_date = "1960-05-06";
  in.service = "passport";
  assert_case_refused (f, &in, "Unknown service");

  in.service = "id_card_replace";
  g_hash_table_insert (fields, (gpointer) "shoe_size", (gpointer) "42");
  assert_case_refused (f, &in, "shoe_size");
  g_hash_table_remove (fields, "shoe_size");

  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "bored");
  assert_case_refused (f, &in, "reason");
  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "lost");

  g_hash_table_insert (fields, (gpointer) "name", (gpointer) "Someone Else");
  assert_case_refused (f, &in, "own option");
  g_hash_table_remove (fields, "name");

  in.outing_id = "O77";
  g_assert_cmpint (fk_store_case_new (f->store, &in, &error), ==, 0);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Nothing of the refused cases reached the store or the audit log. */
  after = snapshot (f->store);
  g_assert_cmpstr (before, ==, after);

  in.outing_id = f->outing;
  g_assert_cmpint (fk_store_case_new (f->store, &in, &error), ==, 1);
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, 1, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (c->person_id, ==, good);
    g_assert_cmpstr (c->name, ==, "林美華");
    g_assert_cmpstr (c->birth_date, ==, "1960-05-06");
    g_assert_cmpstr (g_hash_table_lookup (c->fields, "reason"), ==, "lost");
    g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
    g_assert_cmpuint (c->version, ==, 1);
    g_assert_cmpstr (c->created_by, ==, "ann");
    g_assert_null (c->damaged);
  }
}

static void
test_lifecycle_check (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *pid = fk_test_national_id ('B', 1, 7654321);
  FkCaseInput in = { 0 };
  const char *const one[] = { "household_register", NULL };
  const char *const unknown[] = { "birth_certificate", NULL };
  gint64 id;

  in.outing_id = f->outing;
  in.service = "id_card_replace";
  in.person_id = pid;
  in.name = "陳志明";
  in.birth_date = "1948-10-10";
  id = fk_store_case_new (f->store, &in, &error);
  g_assert_no_error (error);

  g_assert_false (fk_store_case_check (f->store, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "not complete"));
  g_assert_nonnull (strstr (error->message, "Reason is missing"));
  g_assert_nonnull (strstr (error->message, "document not seen: Household registration book (original)"));
  g_assert_nonnull (strstr (error->message, "document not seen: One colour photo"));
  g_assert_nonnull (strstr (error->message, "document not seen: Fee NT$200"));
  /* Items needed only sometimes are the clerk's call, not a blocker. */
  g_assert_null (strstr (error->message, "old national ID card"));
  g_clear_error (&error);

  problems = fk_store_case_problems (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 4);
  g_clear_pointer (&problems, g_ptr_array_unref);

  g_assert_false (fk_store_case_tick (f->store, id, unknown, FALSE, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "birth_certificate"));
  g_clear_error (&error);

  g_assert_true (fk_store_case_tick (f->store, id, one, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (fk_store_case_check (f->store, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_null (strstr (error->message, "Household registration book"));
  g_assert_nonnull (strstr (error->message, "Fee NT$200"));
  g_clear_error (&error);

  g_assert_true (fk_store_case_set_field (f->store, id, "reason", "lost", &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_tick (f->store, id, NULL, TRUE, &error));
  g_assert_no_error (error);
  problems = fk_store_case_problems (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_true (fk_store_case_check (f->store, id, &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_cmpint (c->status, ==, FK_CASE_CHECKED);
    g_assert_cmpstr (c->checked_by, ==, "ann");
    g_assert_true (g_strv_contains ((const char * const *) c->ticked, "fee"));
    g_assert_true (g_strv_contains ((const char * const *) c->ticked, "old_card"));
  }
  g_assert_false (fk_store_case_check (f->store, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
}

static void
test_lifecycle_second_check (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) as_bob = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *pid = fk_test_national_id ('C', 2, 1111111);
  g_autofree char *receipt = NULL;
  g_autofree char *uuid = NULL;
  gint64 id, id2;

  add_bob (f);
  id = fk_test_replace_case (f->store, f->outing, pid, "黃淑芬", &error);
  g_assert_no_error (error);

  /* Approving a draft, or finalizing it, is refused. */
  g_assert_false (fk_store_case_approve (f->store, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (fk_store_case_finalize (f->store, id, &receipt, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_null (receipt);
  g_clear_error (&error);

  tick_and_check (f->store, id);

  /* The self-checker cannot do the second check, by either path. */
  g_assert_false (fk_store_case_approve (f->store, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "someone other than ann"));
  g_clear_error (&error);
  g_assert_false (fk_store_case_approve_as (f->store, id, "ann", FK_TEST_PASS_ANN, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (&error);

  /* This service needs the second check before sealing. */
  g_assert_false (fk_store_case_finalize (f->store, id, &receipt, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "second check"));
  g_assert_null (receipt);
  g_clear_error (&error);

  g_assert_false (fk_store_case_approve_as (f->store, id, "bob", "not bob's passphrase", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);

  /* Bob signs in on his own handle and approves. */
  as_bob = fk_test_store_open_as (f->dir, "bob", FK_TEST_PASS_BOB);
  g_assert_true (fk_store_case_approve (as_bob, id, &error));
  g_assert_no_error (error);
  g_assert_false (fk_store_case_approve (as_bob, id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (&error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (c->status, ==, FK_CASE_APPROVED);
    g_assert_cmpstr (c->checked_by, ==, "ann");
    g_assert_cmpstr (c->approved_by, ==, "bob");
    uuid = g_strdup (c->uuid);
  }
  entries = fk_audit_entries (fk_store_db (f->store), uuid, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (((FkAuditEntry *) entries->pdata[entries->len - 1])->action, ==, "case.approve");
  g_assert_cmpstr (((FkAuditEntry *) entries->pdata[entries->len - 1])->operator_id, ==, "bob");

  g_assert_true (fk_store_case_finalize (f->store, id, &receipt, &error));
  g_assert_no_error (error);
  g_assert_true (g_regex_match_simple ("^TCN-03-\\d{7}-\\d{4}$", receipt, 0, 0));
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);
    gint64 resolved = 0;

    g_assert_cmpint (c->status, ==, FK_CASE_SEALED);
    g_assert_cmpstr (c->receipt_no, ==, receipt);
    g_assert_cmpstr (c->sealed_by, ==, "ann");
    g_assert_cmpint (c->sealed_at, >, 0);
    g_assert_true (fk_store_case_resolve (f->store, receipt, &resolved, &error));
    g_assert_cmpint (resolved, ==, id);
  }

  /* The window's path: a second operator's passphrase for one action. */
  id2 = fk_test_replace_case (f->store, f->outing, pid, "黃淑芬", &error);
  g_assert_no_error (error);
  tick_and_check (f->store, id2);
  g_assert_true (fk_store_case_approve_as (f->store, id2, "bob", FK_TEST_PASS_BOB, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fk_store_operator (f->store), ==, "ann");
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id2, &error);

    g_assert_cmpstr (c->approved_by, ==, "bob");
  }
  fk_test_assert_audit_intact (f->store);
}

static void
test_lifecycle_receipts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) receipts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *pid = fk_test_national_id ('D', 1 + i % 2, 2000000 + i);
      char *receipt = NULL;
      gint64 id = fk_test_cert_case (f->store, f->outing, pid, "Receipt Person", NULL, &error);

      g_assert_no_error (error);
      tick_and_check (f->store, id);
      /* certificate_apply has no second check. */
      g_assert_true (fk_store_case_finalize (f->store, id, &receipt, &error));
      g_assert_no_error (error);
      g_assert_true (g_regex_match_simple ("^TCN-03-\\d{7}-\\d{4}$", receipt, 0, 0));
      g_assert_false (g_hash_table_contains (seen, receipt));
      g_hash_table_add (seen, receipt);
      g_ptr_array_add (receipts, receipt);
    }
  for (guint i = 1; i < receipts->len; i++)
    {
      const char *a = receipts->pdata[i - 1];
      const char *b = receipts->pdata[i];

      /* Same day prefix (a run across midnight starts again at 0001). */
      if (strncmp (a, b, strlen ("TCN-03-1151126")) == 0)
        g_assert_cmpint (g_ascii_strtoll (b + strlen (b) - 4, NULL, 10), ==,
                         g_ascii_strtoll (a + strlen (a) - 4, NULL, 10) + 1);
      else
        g_assert_cmpstr (b + strlen (b) - 4, ==, "0001");
    }
}

static void
assert_refused (gboolean ok, GError **error)
{
  g_assert_false (ok);
  g_assert_error (*error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (error);
}

static gint64
sealed_case (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = fk_test_national_id ('E', 1, 3141592);
  g_autoptr(GBytes) photo = random_bytes (5000, 7);
  gint64 id = fk_test_cert_case (f->store, f->outing, pid, "封存測試", photo, &error);

  g_assert_no_error (error);
  tick_and_check (f->store, id);
  g_assert_true (fk_store_case_finalize (f->store, id, NULL, &error));
  g_assert_no_error (error);
  return id;
}

static void
test_seal_immutable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *const items[] = { "id_card", NULL };
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  char *receipt = NULL;
  gint64 id;

  add_bob (f);
  id = sealed_case (f);
  before = snapshot (f->store);

  assert_refused (fk_store_case_set_field (f->store, id, "phone", "0912345678", &error), &error);
  assert_refused (fk_store_case_set_field (f->store, id, "name", "Someone Else", &error), &error);
  assert_refused (fk_store_case_tick (f->store, id, items, FALSE, &error), &error);
  assert_refused (fk_store_case_tick (f->store, id, NULL, TRUE, &error), &error);
  assert_refused (fk_store_case_check (f->store, id, &error), &error);
  assert_refused (fk_store_case_approve (f->store, id, &error), &error);
  assert_refused (fk_store_case_approve_as (f->store, id, "bob", FK_TEST_PASS_BOB, &error), &error);
  assert_refused (fk_store_case_finalize (f->store, id, &receipt, &error), &error);
  g_assert_null (receipt);

  after = snapshot (f->store);
  g_assert_cmpstr (before, ==, after);
}

/* Raw SQL against a sealed case: the triggers are the second line. */
static void
assert_sql_refused (sqlite3 *db, const char *sql, const char *needle)
{
  g_autofree char *message = NULL;
  int rc = fk_test_exec_rc (db, sql, &message);

  if (rc == SQLITE_OK)
    g_error ("the store accepted: %s", sql);
  g_assert_cmpint (rc & 0xff, ==, SQLITE_CONSTRAINT);
  if (needle && (message == NULL || strstr (message, needle) == NULL))
    g_error ("expected \"%s\" in \"%s\" for %s", needle, message, sql);
}

static void
test_seal_triggers (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  sqlite3 *db = fk_store_db (f->store);
  gint64 id = sealed_case (f);
  g_autofree char *before = snapshot (f->store);
  g_autofree char *after = NULL;
  static const char *const statements[] = {
    "UPDATE cases SET status = 'draft' WHERE id = @ID@",
    "UPDATE cases SET status = 'approved' WHERE id = @ID@",
    "UPDATE cases SET person = x'0102' WHERE id = @ID@",
    "UPDATE cases SET version = version + 1 WHERE id = @ID@",
    "UPDATE cases SET receipt_no = 'TCN-03-1150101-9999' WHERE id = @ID@",
    "UPDATE cases SET ticked = '[]' WHERE id = @ID@",
    "UPDATE cases SET blind = x'00' WHERE id = @ID@",
    "UPDATE cases SET approved_by = 'mallory' WHERE id = @ID@",
    "UPDATE cases SET checked_by = 'mallory' WHERE id = @ID@",
    "UPDATE cases SET sealed_by = 'mallory' WHERE id = @ID@",
    "UPDATE cases SET sealed_at = 1 WHERE id = @ID@",
    "UPDATE cases SET id = 999 WHERE id = @ID@",
    "DELETE FROM cases WHERE id = @ID@",
    "UPDATE attachments SET data = x'00' WHERE case_id = @ID@",
    "UPDATE attachments SET size = 1 WHERE case_id = @ID@",
    "UPDATE attachments SET case_id = 0 WHERE case_id = @ID@",
    "DELETE FROM attachments WHERE case_id = @ID@",
    "INSERT INTO attachments (uuid, case_id, kind, mime, size, key, data)"
    " VALUES ('x', @ID@, 'photo', 'image/jpeg', 1, x'00', x'00')",
    NULL,
  };

  g_autofree char *id_text = g_strdup_printf ("%" G_GINT64_FORMAT, id);

  for (guint i = 0; statements[i]; i++)
    {
      g_autoptr(GString) sql = g_string_new (statements[i]);

      g_string_replace (sql, "@ID@", id_text, 0);
      assert_sql_refused (db, sql->str, i == 0 ? "backwards" : i == 2 ? "sealed" : NULL);
    }
  after = snapshot (f->store);
  g_assert_cmpstr (before, ==, after);

  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_no_error (error);
    g_assert_null (c->damaged);
    g_assert_cmpint (c->status, ==, FK_CASE_SEALED);
  }
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 0);
}

/* The person record is JSON the store writes itself: quotes, backslashes,
 * a tab, slashes and characters outside the BMP come back as typed. */
static void
test_case_json_text (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *pid = fk_test_national_id ('H', 2, 2468024);
  static const char name[] = "O\"Brien \\ 林/美華 𠮷";
  static const char note[] = "said \"lost it\"\tat C:\\market\nthen {left}, [ok]: \u2028 😀";
  FkCaseInput in = { 0 };
  gint64 id;

  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "other");
  g_hash_table_insert (fields, (gpointer) "reason_note", (gpointer) note);
  in.outing_id = f->outing;
  in.service = "id_card_replace";
  in.person_id = pid;
  in.name = name;
  in.birth_date = "1970-01-02";
  in.fields = fields;
  id = fk_store_case_new (f->store, &in, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (c->name, ==, name);
    g_assert_cmpstr (g_hash_table_lookup (c->fields, "reason_note"), ==, note);
    g_assert_cmpstr (g_hash_table_lookup (c->fields, "reason"), ==, "other");
    g_assert_cmpstr (c->birth_date, ==, "1970-01-02");
  }
  /* Ticked items go through the same writer. */
  g_assert_true (fk_store_case_tick (f->store, id, NULL, TRUE, &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_no_error (error);
    g_assert_nonnull (c->ticked);
    g_assert_cmpuint (g_strv_length (c->ticked), >, 0);
  }
}

static void
test_case_edit_voids_check (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = fk_test_national_id ('H', 2, 2468024);
  g_autoptr(FkStore) as_bob = NULL;
  guint64 version;
  gint64 id;

  add_bob (f);
  id = fk_test_replace_case (f->store, f->outing, pid, "張雅婷", &error);
  g_assert_no_error (error);
  tick_and_check (f->store, id);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_cmpint (c->status, ==, FK_CASE_CHECKED);
    version = c->version;
  }

  g_assert_true (fk_store_case_set_field (f->store, id, "phone", "0912-345-678", &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
    g_assert_null (c->checked_by);
    g_assert_cmpuint (c->version, ==, version + 1);
    g_assert_cmpstr (g_hash_table_lookup (c->fields, "phone"), ==, "0912345678");
  }
  g_assert_false (fk_store_case_set_field (f->store, id, "phone", "12345", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (fk_store_case_set_field (f->store, id, "name", "", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  /* An approved case goes back to draft too, and loses both checks. */
  g_assert_true (fk_store_case_check (f->store, id, &error));
  as_bob = fk_test_store_open_as (f->dir, "bob", FK_TEST_PASS_BOB);
  g_assert_true (fk_store_case_approve (as_bob, id, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_set_field (f->store, id, "birth_date", "民國39年3月5日", &error));
  g_assert_no_error (error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
    g_assert_null (c->checked_by);
    g_assert_null (c->approved_by);
    g_assert_cmpstr (c->birth_date, ==, "1950-03-05");
  }
  g_assert_false (fk_store_case_finalize (f->store, id, NULL, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_REFUSED);
  g_clear_error (&error);
  fk_test_assert_audit_intact (f->store);
}

static void
test_find (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *x = fk_test_national_id ('K', 1, 1234567);
  g_autofree char *y = fk_test_national_id ('K', 2, 7654321);
  g_autofree char *z = fk_test_national_id ('M', 1, 5555555);
  g_autofree char *x_lower = g_ascii_strdown (x, -1);
  g_autofree char *x_spaced = g_strdup_printf (" %c %s ", x[0], x + 1);
  g_autoptr(GArray) hits = NULL;
  gint64 a, b, c;

  a = fk_test_cert_case (f->store, f->outing, x, "Find One", NULL, &error);
  g_assert_no_error (error);
  b = fk_test_cert_case (f->store, f->outing, y, "Find Two", NULL, &error);
  g_assert_no_error (error);
  c = fk_test_replace_case (f->store, f->outing, x_lower, "Find One", &error);
  g_assert_no_error (error);

  hits = fk_store_find (f->store, x_lower, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 2);
  g_assert_cmpint (g_array_index (hits, gint64, 0), ==, a);
  g_assert_cmpint (g_array_index (hits, gint64, 1), ==, c);
  g_clear_pointer (&hits, g_array_unref);

  hits = fk_store_find (f->store, x_spaced, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 2);
  g_clear_pointer (&hits, g_array_unref);

  hits = fk_store_find (f->store, y, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, gint64, 0), ==, b);
  g_clear_pointer (&hits, g_array_unref);

  hits = fk_store_find (f->store, z, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 0);
  g_clear_pointer (&hits, g_array_unref);

  /* Editing the ID number moves the case in the index. */
  g_assert_true (fk_store_case_set_field (f->store, c, "person_id", z, &error));
  g_assert_no_error (error);
  hits = fk_store_find (f->store, z, &error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, gint64, 0), ==, c);
  g_clear_pointer (&hits, g_array_unref);
  hits = fk_store_find (f->store, x, &error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_array_unref);

  g_assert_null (fk_store_find (f->store, "  ", &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);

  fk_store_lock (f->store);
  g_assert_null (fk_store_find (f->store, x, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED);
}

/* ---- damage ----------------------------------------------------------------------- */

static gint64 *
three_cases (Fixture *f)
{
  static gint64 ids[3];

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *pid = fk_test_national_id ('N', 1, 4000000 + i);
      g_autofree char *name = g_strdup_printf ("Damage Test %u", i + 1);

      ids[i] = fk_test_cert_case (f->store, f->outing, pid, name, NULL, &error);
      g_assert_no_error (error);
    }
  return ids;
}

static GBytes *
person_blob (sqlite3 *db, gint64 id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT person FROM cases WHERE id = %" G_GINT64_FORMAT, id);
  GBytes *b = fk_test_blob (db, sql);

  g_assert_nonnull (b);
  return b;
}

static void
set_person_blob (sqlite3 *db, gint64 id, GBytes *blob)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE cases SET person = ?1 WHERE id = %" G_GINT64_FORMAT, id);

  g_assert_cmpint (fk_test_update_blob (db, sql, blob), ==, SQLITE_DONE);
}

static void
test_damage_bit_flip (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) flipped = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  g_autofree char *expect = NULL;
  sqlite3 *db = fk_store_db (f->store);
  gint64 *ids = three_cases (f);
  guint8 *copy;
  gsize len;

  blob = person_blob (db, ids[1]);
  len = g_bytes_get_size (blob);
  copy = g_memdup2 (g_bytes_get_data (blob, NULL), len);
  copy[len / 2] ^= 0x04;
  flipped = g_bytes_new_take (copy, len);
  set_person_blob (db, ids[1], flipped);

  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, ids[1], &error);

    g_assert_no_error (error);
    g_assert_nonnull (c);
    g_assert_nonnull (c->damaged);
    expect = g_strdup_printf ("case %" G_GINT64_FORMAT, ids[1]);
    g_assert_nonnull (strstr (c->damaged, expect));
    g_assert_null (c->name);
    g_assert_null (c->person_id);
    g_assert_cmpstr (c->service, ==, "certificate_apply");
  }
  for (guint i = 0; i < 3; i += 2)
    {
      g_autoptr(FkCase) c = fk_store_case_get (f->store, ids[i], &error);
      g_autofree char *name = g_strdup_printf ("Damage Test %u", i + 1);

      g_assert_no_error (error);
      g_assert_null (c->damaged);
      g_assert_cmpstr (c->name, ==, name);
    }

  list = fk_store_cases (f->store, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      FkCase *c = list->pdata[i];

      g_assert_cmpint (c->id, ==, ids[i]);
      if (i == 1)
        g_assert_nonnull (c->damaged);
      else
        g_assert_null (c->damaged);
    }

  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 1);
  g_assert_cmpstr (((FkDamage *) damage->pdata[0])->where, ==, expect);

  /* A damaged case cannot be worked on, but says why. */
  g_assert_false (fk_store_case_tick (f->store, ids[1], NULL, TRUE, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED);
  g_clear_error (&error);
  {
    g_autoptr(GPtrArray) problems = fk_store_case_problems (f->store, ids[1], &error);

    g_assert_no_error (error);
    g_assert_cmpuint (problems->len, ==, 1);
    g_assert_nonnull (strstr (problems->pdata[0], "damaged"));
  }

  /* The audit log itself is untouched. */
  fk_test_assert_audit_intact (f->store);
}

static void
test_damage_swap (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  sqlite3 *db = fk_store_db (f->store);
  gint64 *ids = three_cases (f);

  a = person_blob (db, ids[0]);
  b = person_blob (db, ids[2]);
  set_person_blob (db, ids[0], b);
  set_person_blob (db, ids[2], a);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(FkCase) c = fk_store_case_get (f->store, ids[i], &error);

      g_assert_no_error (error);
      if (i == 1)
        g_assert_null (c->damaged);
      else
        g_assert_nonnull (c->damaged);
    }
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 2);
  {
    g_autofree char *w0 = g_strdup_printf ("case %" G_GINT64_FORMAT, ids[0]);
    g_autofree char *w2 = g_strdup_printf ("case %" G_GINT64_FORMAT, ids[2]);

    g_assert_cmpstr (((FkDamage *) damage->pdata[0])->where, ==, w0);
    g_assert_cmpstr (((FkDamage *) damage->pdata[1])->where, ==, w2);
  }
}

static void
test_damage_rollback (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) v1 = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  sqlite3 *db = fk_store_db (f->store);
  gint64 *ids = three_cases (f);
  g_autofree char *sql = NULL;

  v1 = person_blob (db, ids[1]);
  g_assert_true (fk_store_case_set_field (f->store, ids[1], "phone", "0987654321", &error));
  g_assert_no_error (error);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_cmpuint (damage->len, ==, 0);
  g_clear_pointer (&damage, g_ptr_array_unref);

  /* Put the old (version, person) pair back: it is a genuine record, so
   * it opens, and only the audit log knows it is not the latest. */
  sql = g_strdup_printf ("UPDATE cases SET version = 1, person = ?1 WHERE id = %" G_GINT64_FORMAT, ids[1]);
  g_assert_cmpint (fk_test_update_blob (db, sql, v1), ==, SQLITE_DONE);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, ids[1], &error);

    g_assert_no_error (error);
    g_assert_null (c->damaged);
    g_assert_cmpuint (c->version, ==, 1);
    g_assert_null (g_hash_table_lookup (c->fields, "phone"));
  }
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 1);
  {
    FkDamage *d = damage->pdata[0];
    g_autofree char *where = g_strdup_printf ("case %" G_GINT64_FORMAT, ids[1]);

    g_assert_cmpstr (d->where, ==, where);
    g_assert_nonnull (strstr (d->reason, "audit log"));
  }
}

static void
test_damage_attachment (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) photo = random_bytes (70000, 3);
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  g_autofree char *pid = fk_test_national_id ('P', 2, 1212121);
  sqlite3 *db = fk_store_db (f->store);
  guint8 *copy;
  gsize len;
  gint64 id, att;

  id = fk_test_cert_case (f->store, f->outing, pid, "Photo Person", photo, &error);
  g_assert_no_error (error);
  att = fk_test_int (db, "SELECT id FROM attachments");
  sealed = fk_test_blob (db, "SELECT data FROM attachments");
  len = g_bytes_get_size (sealed);
  copy = g_memdup2 (g_bytes_get_data (sealed, NULL), len);
  copy[len - 5] ^= 0x80;
  {
    g_autoptr(GBytes) flipped = g_bytes_new_take (copy, len);

    g_assert_cmpint (fk_test_update_blob (db, "UPDATE attachments SET data = ?1", flipped), ==, SQLITE_DONE);
  }
  out = fk_store_attachment_get (f->store, att, &error);
  g_assert_null (out);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED);
  g_clear_error (&error);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, id, &error);

    g_assert_null (c->damaged);
  }
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 1);
  {
    g_autofree char *where = g_strdup_printf ("attachment %" G_GINT64_FORMAT, att);

    g_assert_cmpstr (((FkDamage *) damage->pdata[0])->where, ==, where);
  }
}

/* Two applicants' photos swapped by hand before sealing: each still opens
 * (its key is its own), so only the audit log can tell. */
static void
test_damage_attachment_moved (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) photo_a = random_bytes (9000, 21);
  g_autoptr(GBytes) photo_b = random_bytes (9000, 22);
  g_autoptr(GPtrArray) damage = NULL;
  g_autofree char *pa = fk_test_national_id ('U', 1, 1010101);
  g_autofree char *pb = fk_test_national_id ('U', 2, 2020202);
  sqlite3 *db = fk_store_db (f->store);
  gint64 a, b;

  a = fk_test_cert_case (f->store, f->outing, pa, "Photo A", photo_a, &error);
  g_assert_no_error (error);
  b = fk_test_cert_case (f->store, f->outing, pb, "Photo B", photo_b, &error);
  g_assert_no_error (error);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_cmpuint (damage->len, ==, 0);
  g_clear_pointer (&damage, g_ptr_array_unref);

  fk_test_exec (db, "UPDATE attachments SET case_id = CASE case_id WHEN 1 THEN 2 ELSE 1 END");
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, a, &error);
    g_autoptr(GBytes) shown = fk_store_attachment_get (f->store, ((FkAttachmentInfo *) c->attachments->pdata[0])->id, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (shown, photo_b));
  }
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      FkDamage *d = damage->pdata[i];
      g_autofree char *where = g_strdup_printf ("attachment %u", i + 1);

      g_assert_cmpstr (d->where, ==, where);
      g_assert_nonnull (strstr (d->reason, "audit log"));
    }
  g_assert_cmpint (b, ==, 2);
}

/* ---- SQLite says no ------------------------------------------------------------------- */

static GBytes *
file_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* What fk_store_open switches on before any personal data is handled. */
static void
test_open_hardening (Fixture *f, gconstpointer data)
{
  sqlite3 *db = fk_store_db (f->store);
  struct rlimit core = { 1, 1 };
  g_autofree char *journal = fk_test_text (db, "PRAGMA journal_mode");

  /* Core dumps off, for this process and whatever it starts. */
  g_assert_cmpint (getrlimit (RLIMIT_CORE, &core), ==, 0);
  g_assert_cmpuint (core.rlim_cur, ==, 0);
  g_assert_cmpuint (core.rlim_max, ==, 0);
  g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 0);

  g_assert_cmpstr (journal, ==, "wal");
  g_assert_cmpint (fk_test_int (db, "PRAGMA synchronous"), ==, 2);     /* FULL */
  g_assert_cmpint (fk_test_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "PRAGMA temp_store"), ==, 2);      /* MEMORY */
  g_assert_cmpint (fk_test_int (db, "PRAGMA secure_delete"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "PRAGMA user_version"), ==, FK_SCHEMA_VERSION);
}

static void
test_open_newer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = db_path (f);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  FkStore *store;
  sqlite3 *db = NULL;

  g_clear_pointer (&f->store, fk_store_close);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  fk_test_exec (db, "PRAGMA user_version = 99");
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  before = file_bytes (path);

  store = fk_store_open (f->dir, &error);
  g_assert_null (store);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NEWER);
  g_assert_nonnull (strstr (error->message, "newer FieldKit"));
  g_assert_nonnull (strstr (error->message, "99"));

  after = file_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (fk_test_int (db, "PRAGMA user_version"), ==, 99);
  sqlite3_close (db);
}

/* Puts the outbox back the way format 3 had it (each packet inside its
 * outbox row, no outbox_packets table) and marks the file format 3. */
static void
downgrade_to_v3 (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  fk_test_exec (db, "PRAGMA foreign_keys = OFF; BEGIN;"
                    "ALTER TABLE outbox ADD COLUMN packet BLOB;"
                    "UPDATE outbox SET packet = (SELECT p.packet FROM outbox_packets p"
                    "  WHERE p.packet_id = outbox.packet_id);"
                    "DROP TABLE outbox_packets;"
                    "PRAGMA user_version = 3; COMMIT");
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* Puts cases back the way format 2 had it (receipt_no a column UNIQUE, no
 * partial index) and marks the file format 2, with the schema's other
 * indexes and triggers made again as they were. */
static void
downgrade_to_v2 (const char *path)
{
  g_autoptr(GPtrArray) remake = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;

  downgrade_to_v3 (path);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  fk_test_exec (db, "PRAGMA foreign_keys = OFF; BEGIN");
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT sql FROM sqlite_schema WHERE tbl_name = 'cases'"
                                           " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
                                           " AND name <> 'cases_receipt_no'", -1, &st, NULL), ==, SQLITE_OK);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (remake, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  g_assert_cmpuint (remake->len, ==, 5);   /* two indexes, three triggers */
  fk_test_exec (db,
                "CREATE TABLE cases_v2 ("
                "  id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
                "  outing_id TEXT NOT NULL REFERENCES outings (id), service TEXT NOT NULL,"
                "  status TEXT NOT NULL, version INTEGER NOT NULL, receipt_no TEXT UNIQUE,"
                "  supersedes INTEGER REFERENCES cases (id), blind BLOB, person BLOB,"
                "  ticked TEXT NOT NULL DEFAULT '[]', created_by TEXT NOT NULL, checked_by TEXT,"
                "  approved_by TEXT, sealed_by TEXT, created_at INTEGER NOT NULL,"
                "  updated_at INTEGER NOT NULL, sealed_at INTEGER);"
                "INSERT INTO cases_v2 SELECT * FROM cases;"
                "DROP TABLE cases;"
                "PRAGMA legacy_alter_table = ON;"
                "ALTER TABLE cases_v2 RENAME TO cases;"
                "PRAGMA legacy_alter_table = OFF;");
  for (guint i = 0; i < remake->len; i++)
    fk_test_exec (db, remake->pdata[i]);
  fk_test_exec (db, "PRAGMA user_version = 2; COMMIT");
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_index_list ('cases') WHERE origin = 'u'"), ==, 2);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* Enrols the fixture's device with an office that exists only as keys, so
 * that sealing builds packets and fills the outbox. */
static void
fake_enrolment (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  FkOfficeInfo office = { 0 };
  guint8 box_sk[32];

  office.url = g_strdup ("http://127.0.0.1:1");
  randombytes_buf (office.sign_pk, sizeof office.sign_pk);
  crypto_box_keypair (office.box_pk, box_sk);
  office.key_id = g_strdup ("0011223344556677");
  office.device_id = g_strdup ("00112233445566778899aabbccddeeff");
  office.office_code = g_strdup ("TCN");
  office.device_number = 3;
  g_assert_true (fk_store_enrolled (f->store, &office, &error));
  g_assert_no_error (error);
  fk_office_info_clear (&office);
  sodium_memzero (box_sk, sizeof box_sk);
}

/* The purge after an ack erases a photo cryptographically (SECURITY §12):
 * its ciphertext is freed without being rewritten as zeros, and the
 * attachment's own key, without which that ciphertext is noise, is gone
 * from every byte of the database once the store is closed.  The person
 * record goes the same way as before. */
static void
test_purge_erases_keys (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = fk_test_national_id ('F', 2, 2718281);
  g_autoptr(GBytes) photo = random_bytes (200 * 1024, 11);
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GBytes) person = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  g_autofree char *path = db_path (f);
  g_autofree char *sql = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  gint64 id;
  sqlite3 *db;

  fake_enrolment (f);
  id = fk_test_cert_case (f->store, f->outing, pid, "抹除測試", photo, &error);
  g_assert_no_error (error);
  tick_and_check (f->store, id);
  g_assert_true (fk_store_case_finalize (f->store, id, NULL, &error));
  g_assert_no_error (error);

  db = fk_store_db (f->store);
  sql = g_strdup_printf ("SELECT key FROM attachments WHERE case_id = %" G_GINT64_FORMAT, id);
  key = fk_test_blob (db, sql);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("SELECT person FROM cases WHERE id = %" G_GINT64_FORMAT, id);
  person = fk_test_blob (db, sql);
  g_clear_pointer (&sql, g_free);
  g_assert_nonnull (key);
  g_assert_cmpuint (g_bytes_get_size (key), >=, 32);
  g_assert_nonnull (person);

  outbox = fk_store_outbox (f->store, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 1);
  g_assert_true (fk_store_outbox_acked (f->store, ((FkOutboxItem *) outbox->pdata[0])->packet_id, "{}", &error));
  g_assert_no_error (error);

  sql = g_strdup_printf ("SELECT COUNT(*) FROM attachments WHERE case_id = %" G_GINT64_FORMAT
                         " AND key IS NULL AND data IS NULL", id);
  g_assert_cmpint (fk_test_int (db, sql), ==, 1);
  /* The connection is back to zeroing everything it frees. */
  g_assert_cmpint (fk_test_int (db, "PRAGMA secure_delete"), ==, 1);
  g_clear_pointer (&f->store, fk_store_close);

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_null (memmem (contents, len, g_bytes_get_data (key, NULL), g_bytes_get_size (key)));
  g_assert_null (memmem (contents, len, g_bytes_get_data (person, NULL), 32));
  g_assert_null (memmem (contents, len, (const guint8 *) g_bytes_get_data (photo, NULL) + 1000, 64));
  f->store = fk_test_store_open_as (f->dir, "ann", FK_TEST_PASS_ANN);
}

/* Format 4 keeps each sealed packet in outbox_packets instead of its outbox
 * row: a file of format 3 with packets built (an enrolled device) is
 * brought up to date on opening, every packet's bytes the same, and the
 * outbox row no longer carries them. */
static void
test_open_migrates_v3 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) bytes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *path = db_path (f);
  g_autofree char *cases_before = NULL;
  g_autofree char *cases_after = NULL;
  sqlite3 *db;

  sealed_case (f);
  fake_enrolment (f);
  sealed_case (f);

  before = fk_store_outbox (f->store, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (before->len, ==, 2);
  for (guint i = 0; i < before->len; i++)
    {
      FkOutboxItem *it = before->pdata[i];
      GBytes *b = fk_store_outbox_packet (f->store, it->packet_id, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (b), ==, it->size);
      g_ptr_array_add (bytes, b);
    }
  cases_before = snapshot (f->store);
  g_clear_pointer (&f->store, fk_store_close);

  downgrade_to_v3 (path);
  f->store = fk_test_store_open_as (f->dir, "ann", FK_TEST_PASS_ANN);
  db = fk_store_db (f->store);
  g_assert_cmpint (fk_test_int (db, "PRAGMA user_version"), ==, FK_SCHEMA_VERSION);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_table_info ('outbox') WHERE name = 'packet'"), ==, 0);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM outbox_packets"), ==, 2);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_foreign_key_check"), ==, 0);
  cases_after = snapshot (f->store);
  g_assert_cmpstr (cases_before, ==, cases_after);

  after = fk_store_outbox (f->store, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    {
      FkOutboxItem *a = after->pdata[i], *b = before->pdata[i];
      g_autoptr(GBytes) packet = fk_store_outbox_packet (f->store, a->packet_id, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (a->packet_id, ==, b->packet_id);
      g_assert_cmpstr (a->packet_hash, ==, b->packet_hash);
      g_assert_true (g_bytes_equal (packet, bytes->pdata[i]));
    }

  /* A packet reader (a read-only connection of its own, for the sync's
   * upload workers) reads the same bytes, and says so for an unknown id. */
  {
    g_autoptr(FkPacketReader) reader = fk_packet_reader_new (f->store, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < after->len; i++)
      {
        g_autoptr(GBytes) read = fk_packet_reader_read (reader, ((FkOutboxItem *) after->pdata[i])->packet_id, &error);

        g_assert_no_error (error);
        g_assert_true (g_bytes_equal (read, bytes->pdata[i]));
      }
    g_assert_null (fk_packet_reader_read (reader, "no-such-packet", &error));
    g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* The outbox still works: an ack moves the row on, and the device's
   * sealed copy of the packet goes (the office holds it); the other
   * packet, still waiting, stays. */
  g_assert_true (fk_store_outbox_acked (f->store, ((FkOutboxItem *) after->pdata[0])->packet_id, "{}", &error));
  g_assert_no_error (error);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM outbox WHERE state = 'acked'"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM outbox_packets"), ==, 1);
  g_assert_null (fk_store_outbox_packet (f->store, ((FkOutboxItem *) after->pdata[0])->packet_id, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  {
    g_autoptr(GBytes) waiting = fk_store_outbox_packet (f->store, ((FkOutboxItem *) after->pdata[1])->packet_id, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (waiting, bytes->pdata[1]));
  }
  /* secure_delete is back to ON for everything else. */
  g_assert_cmpint (fk_test_int (db, "PRAGMA secure_delete"), ==, 1);
}

/* Format 3 makes the receipt number's unique index partial: a file of
 * format 2 is brought up to date on opening, its cases, their triggers and
 * the audit log intact. */
static void
test_open_migrates_v2 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  g_autofree char *path = db_path (f);
  g_autofree char *pid = fk_test_national_id ('G', 1, 4242424);
  g_autofree char *receipt = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *dup = NULL;
  g_autofree char *integrity = NULL;
  g_autoptr(GBytes) more = random_bytes (100, 3);
  gint64 sealed = sealed_case (f);
  gint64 draft = fk_test_replace_case (f->store, f->outing, pid, "遷移測試", &error);
  sqlite3 *db;

  g_assert_no_error (error);
  g_assert_cmpint (draft, >, sealed);
  {
    g_autoptr(FkCase) c = fk_store_case_get (f->store, sealed, &error);

    g_assert_no_error (error);
    receipt = g_strdup (c->receipt_no);
  }
  g_assert_nonnull (receipt);
  before = snapshot (f->store);
  g_clear_pointer (&f->store, fk_store_close);

  downgrade_to_v2 (path);
  f->store = fk_test_store_open_as (f->dir, "ann", FK_TEST_PASS_ANN);
  db = fk_store_db (f->store);
  g_assert_cmpint (fk_test_int (db, "PRAGMA user_version"), ==, FK_SCHEMA_VERSION);
  g_assert_cmpint (fk_test_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "PRAGMA legacy_alter_table"), ==, 0);

  /* The same rows; only uuid keeps a column UNIQUE; the receipt number's
   * index is partial and is what a lookup by receipt number uses. */
  after = snapshot (f->store);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_index_list ('cases') WHERE origin = 'u'"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "SELECT partial FROM pragma_index_list ('cases') WHERE name = 'cases_receipt_no'"), ==, 1);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'cases'"), ==, 3);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_foreign_key_check"), ==, 0);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM pragma_foreign_key_list ('cases')"), ==, 2);
  {
    sqlite3_stmt *st = NULL;
    g_autoptr(GString) text = g_string_new (NULL);

    g_assert_cmpint (sqlite3_prepare_v2 (db, "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE receipt_no = 'x'",
                                         -1, &st, NULL), ==, SQLITE_OK);
    while (sqlite3_step (st) == SQLITE_ROW)
      g_string_append (text, (const char *) sqlite3_column_text (st, 3));
    sqlite3_finalize (st);
    g_assert_nonnull (strstr (text->str, "cases_receipt_no"));
  }

  /* Still one case per receipt number; drafts (none) are many. */
  dup = g_strdup_printf ("UPDATE cases SET receipt_no = '%s' WHERE id = %" G_GINT64_FORMAT, receipt, draft);
  g_assert_cmpint (fk_test_exec_rc (db, dup, NULL), ==, SQLITE_CONSTRAINT_UNIQUE);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM cases WHERE receipt_no IS NULL"), ==, 1);

  /* The triggers came back: the sealed case cannot change or get more. */
  assert_refused (fk_store_case_attach (f->store, sealed, "signature", "image/png", more, &error), &error);
  g_assert_cmpint (fk_test_exec_rc (db, "UPDATE cases SET version = 9 WHERE status = 'sealed'", NULL), ==,
                   SQLITE_CONSTRAINT_TRIGGER);

  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 0);
  fk_test_assert_audit_intact (f->store);
  g_assert_cmpint (fk_test_replace_case (f->store, f->outing, pid, "遷移之後", &error), >, draft);
  g_assert_no_error (error);
  fk_test_assert_audit_intact (f->store);
  integrity = fk_test_integrity (db);
  g_assert_cmpstr (integrity, ==, "ok");
}

static void
test_open_not_a_database (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = fk_test_make_tmp ();
  g_autofree char *path = g_build_filename (dir, "fieldkit.db", NULL);
  g_autoptr(GString) junk = g_string_new (NULL);
  g_autoptr(GBytes) after = NULL;
  FkStore *store;

  while (junk->len < 16384)
    g_string_append (junk, "This is a letter to the office, not a database. ");
  g_assert_true (g_file_set_contents (path, junk->str, (gssize) junk->len, &error));

  store = fk_store_open (dir, &error);
  g_assert_null (store);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "damaged"));
  after = file_bytes (path);
  g_assert_cmpuint (g_bytes_get_size (after), ==, junk->len);
  g_assert_cmpmem (g_bytes_get_data (after, NULL), junk->len, junk->str, junk->len);
  fk_test_rm_rf (dir);
}

static void
test_fault_disk_full (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ok_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) photos = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) damage = NULL;
  g_autofree char *integrity = NULL;
  g_autofree char *pid = fk_test_national_id ('Q', 1, 8080808);
  sqlite3 *db = fk_store_db (f->store);
  gint64 pages = fk_test_int (db, "PRAGMA page_count");
  gint64 audit_before;
  g_autofree char *sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, pages + 300);
  gboolean full = FALSE;

  fk_test_exec (db, sql);
  for (guint i = 0; i < 100 && !full; i++)
    {
      GBytes *photo = random_bytes (150 * 1024 + i * 1000, 100 + i);
      gint64 id;

      audit_before = n_audit (f->store);
      id = fk_test_cert_case (f->store, f->outing, pid, "Disk Full", photo, &error);
      if (id > 0)
        {
          g_assert_no_error (error);
          g_array_append_val (ok_ids, id);
          g_ptr_array_add (photos, photo);
        }
      else
        {
          g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_FULL);
          g_assert_nonnull (strstr (error->message, "full"));
          g_assert_nonnull (strstr (error->message, "nothing was saved"));
          g_clear_error (&error);
          g_bytes_unref (photo);
          /* Not even the audit entry of the failed case remains. */
          g_assert_cmpint (n_audit (f->store), ==, audit_before);
          full = TRUE;
        }
    }
  g_assert_true (full);
  g_assert_cmpuint (ok_ids->len, >, 0);
  g_test_message ("%u cases fitted before the store was full", ok_ids->len);

  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM cases"), ==, ok_ids->len);
  g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM attachments"), ==, ok_ids->len);
  for (guint i = 0; i < ok_ids->len; i++)
    {
      g_autoptr(FkCase) c = fk_store_case_get (f->store, g_array_index (ok_ids, gint64, i), &error);
      g_autoptr(GBytes) back = NULL;

      g_assert_no_error (error);
      g_assert_null (c->damaged);
      g_assert_cmpstr (c->name, ==, "Disk Full");
      g_assert_cmpuint (c->attachments->len, ==, 1);
      back = fk_store_attachment_get (f->store, ((FkAttachmentInfo *) c->attachments->pdata[0])->id, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, photos->pdata[i]));
    }
  integrity = fk_test_integrity (db);
  g_assert_cmpstr (integrity, ==, "ok");
  fk_test_assert_audit_intact (f->store);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 0);

  /* With room again, work goes on. */
  fk_test_exec (db, "PRAGMA max_page_count = 1073741823");
  g_assert_cmpint (fk_test_cert_case (f->store, f->outing, pid, "Disk Full", NULL, &error), >, 0);
  g_assert_no_error (error);
}

/* The disk can fill at any statement of a case: the case row, the
 * attachment, either audit entry or the commit.  Moving the limit one page
 * at a time puts the failure at each of them in turn. */
static void
test_fault_disk_full_every_step (void)
{
  for (gint64 extra = 0; extra < 24; extra++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dir = fk_test_make_tmp ();
      g_autofree char *outing = NULL;
      g_autofree char *sql = NULL;
      g_autofree char *integrity = NULL;
      FkStore *store = fk_test_store_new (dir, NULL);
      sqlite3 *db = fk_store_db (store);
      guint n_ok = 0;
      gboolean full = FALSE;

      outing = fk_test_outing (store);
      sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT,
                             fk_test_int (db, "PRAGMA page_count") + extra);
      fk_test_exec (db, sql);
      for (guint i = 0; i < 200 && !full; i++)
        {
          g_autoptr(GBytes) photo = random_bytes (1500 + (i * 37) % 1500, (guint32) i);
          gint64 audit_before = n_audit (store);
          gint64 id = fk_test_cert_case (store, outing, "A123456789", "Step By Step", photo, &error);

          if (id > 0)
            n_ok++;
          else
            {
              if (!g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_FULL))
                g_error ("headroom %" G_GINT64_FORMAT " pages, case %u: expected \"disk full\", got %s %d: %s",
                         extra, i + 1, g_quark_to_string (error->domain), error->code, error->message);
              g_clear_error (&error);
              g_assert_cmpint (n_audit (store), ==, audit_before);
              full = TRUE;
            }
        }
      g_assert_true (full);
      g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM cases"), ==, n_ok);
      g_assert_cmpint (fk_test_int (db, "SELECT COUNT(*) FROM attachments"), ==, n_ok);
      integrity = fk_test_integrity (db);
      g_assert_cmpstr (integrity, ==, "ok");
      fk_test_assert_audit_intact (store);
      fk_store_close (store);
      fk_test_rm_rf (dir);
    }
}

static void
test_fault_busy (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = db_path (f);
  g_autofree char *pid = fk_test_national_id ('R', 2, 3030303);
  g_autoptr(FkStore) store = NULL;
  sqlite3 *other = NULL;
  gint64 id;

  g_setenv ("FIELDKIT_BUSY_TIMEOUT_MS", "300", TRUE);
  store = fk_test_store_open_as (f->dir, "ann", FK_TEST_PASS_ANN);
  g_unsetenv ("FIELDKIT_BUSY_TIMEOUT_MS");

  g_assert_cmpint (sqlite3_open (path, &other), ==, SQLITE_OK);
  fk_test_exec (other, "BEGIN IMMEDIATE");
  id = fk_test_cert_case (store, f->outing, pid, "Busy Person", NULL, &error);
  g_assert_cmpint (id, ==, 0);
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "Another FieldKit program"));
  g_clear_error (&error);
  /* Reading still works while another process writes. */
  {
    g_autoptr(GPtrArray) list = fk_store_cases (store, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 0);
  }
  fk_test_exec (other, "COMMIT");
  sqlite3_close (other);

  id = fk_test_cert_case (store, f->outing, pid, "Busy Person", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, ==, 1);
  g_assert_cmpint (fk_test_int (fk_store_db (store), "SELECT COUNT(*) FROM cases"), ==, 1);
  fk_test_assert_audit_intact (store);
}

static void
test_attachment_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) photo = random_bytes (3 * 64 * 1024 + 17, 11);
  g_autoptr(GBytes) sig = g_bytes_new_static ("<svg xmlns='http://www.w3.org/2000/svg'/>", 41);
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *pid = fk_test_national_id ('S', 1, 9090909);
  FkCaseInput in = { 0 };
  g_autoptr(FkCase) c = NULL;
  gint64 id;

  g_hash_table_insert (fields, (gpointer) "reason", (gpointer) "photo_change");
  in.outing_id = f->outing;
  in.service = "id_card_replace";
  in.person_id = pid;
  in.name = "照片測試";
  in.fields = fields;
  in.photo = photo;
  in.photo_mime = "image/jpeg";
  in.signature = sig;
  in.signature_mime = "image/svg+xml";
  id = fk_store_case_new (f->store, &in, &error);
  g_assert_no_error (error);

  c = fk_store_case_get (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->attachments->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      FkAttachmentInfo *a = c->attachments->pdata[i];
      GBytes *expect = g_str_equal (a->kind, "photo") ? photo : sig;
      g_autoptr(GBytes) back = fk_store_attachment_get (f->store, a->id, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (a->size, ==, g_bytes_get_size (expect));
      g_assert_cmpstr (a->mime, ==, expect == photo ? "image/jpeg" : "image/svg+xml");
      g_assert_true (g_bytes_equal (back, expect));
    }
  g_assert_null (fk_store_attachment_get (f->store, 999, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The ciphertext on disk is not the photo. */
  {
    g_autoptr(GBytes) stored = fk_test_blob (fk_store_db (f->store), "SELECT data FROM attachments WHERE kind = 'photo'");
    gsize n;
    const guint8 *p = g_bytes_get_data (stored, &n);

    g_assert_cmpuint (n, >, g_bytes_get_size (photo));
    g_assert_null (memmem (p, n, (const guint8 *) g_bytes_get_data (photo, NULL) + 1000, 64));
  }

  fk_store_lock (f->store);
  g_assert_null (fk_store_attachment_get (f->store, 1, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_LOCKED);
}

/* A photo added to a saved draft replaces the earlier one, voids a check,
 * verifies, and is refused once the case is sealed. */
static void
test_attach_later (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = fk_test_national_id ('F', 2, 2718281);
  g_autoptr(GBytes) first = random_bytes (3000, 11);
  g_autoptr(GBytes) second = random_bytes (4000, 12);
  g_autoptr(GBytes) back = NULL;
  g_autoptr(FkCase) c = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  gint64 id = fk_test_cert_case (f->store, f->outing, pid, "附件測試", NULL, &error);

  g_assert_no_error (error);
  tick_and_check (f->store, id);
  g_assert_true (fk_store_case_attach (f->store, id, "photo", "image/jpeg", first, &error));
  g_assert_no_error (error);
  g_assert_true (fk_store_case_attach (f->store, id, "photo", "image/png", second, &error));
  g_assert_no_error (error);
  c = fk_store_case_get (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->status, ==, FK_CASE_DRAFT);
  g_assert_cmpuint (c->attachments->len, ==, 1);
  back = fk_store_attachment_get (f->store, ((FkAttachmentInfo *) c->attachments->pdata[0])->id, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, second));
  g_assert_false (fk_store_case_attach (f->store, id, "x-ray", "image/png", second, &error));
  g_assert_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID);
  g_clear_error (&error);
  /* A guardian's signature sits beside the receiver's, neither replacing
   * the other. */
  g_assert_true (fk_store_case_attach (f->store, id, "signature", "image/png", first, &error));
  g_assert_true (fk_store_case_attach (f->store, id, "guardian_signature", "image/png", second, &error));
  g_assert_no_error (error);
  g_clear_pointer (&c, fk_case_free);
  c = fk_store_case_get (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->attachments->len, ==, 3);
  damage = fk_store_verify_records (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (damage->len, ==, 0);

  tick_and_check (f->store, id);
  g_assert_true (fk_store_case_finalize (f->store, id, NULL, &error));
  g_assert_no_error (error);
  assert_refused (fk_store_case_attach (f->store, id, "signature", "image/png", first, &error), &error);
}

/* app/fk-checkpoint: commits never checkpoint inline below the hard bound,
 * the thread keeps the database file up to date, the WAL stays bounded, and
 * closing leaves everything in the database file. */
static void
test_checkpoint_bounded (void)
{
  g_autofree char *dir = fk_test_make_tmp ();
  g_autofree char *path = g_build_filename (dir, "t.db", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *blob = g_malloc0 (3 * 4096);
  g_autoptr(FkCheckpointer) ckpt = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  GStatBuf sb;
  gint64 rows = 0;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                                     "CREATE TABLE t (b BLOB)", NULL, NULL, NULL), ==, SQLITE_OK);
  ckpt = fk_checkpointer_new (db, path, "FULL");
  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO t VALUES (?)", -1, &st, NULL), ==, SQLITE_OK);
  /* About 3 pages per commit, 4,000 commits: 12,000 pages through the WAL. */
  for (int i = 0; i < 4000; i++)
    {
      sqlite3_bind_blob (st, 1, blob, 3 * 4096 - 100, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
      sqlite3_reset (st);
      g_assert_cmpint (g_stat (wal, &sb), ==, 0);
      /* The hard bound plus one commit. */
      g_assert_cmpint (sb.st_size, <=, (gint64) (FK_CHECKPOINT_HARD_PAGES + 16) * (4096 + 24) + 32);
    }
  sqlite3_finalize (st);
  g_clear_pointer (&ckpt, fk_checkpointer_free);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM t", -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  rows = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  g_assert_cmpint (rows, ==, 4000);
  fk_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/app/store/unlock/roundtrip", test_unlock_roundtrip);
  ADD ("/app/store/unlock/wrong-passphrase-changes-nothing", test_unlock_wrong_passphrase);
  ADD ("/app/store/unlock/growing-delay", test_unlock_growing_delay);
  ADD ("/app/store/unlock/recovery", test_unlock_recovery);
  ADD ("/app/store/operator/add-needs-supervisor", test_operator_add);
  ADD ("/app/store/outing/validation", test_outing_validation);
  ADD ("/app/store/case/validation", test_case_validation);
  ADD ("/app/store/case/json-text", test_case_json_text);
  ADD ("/app/store/case/edit-voids-check", test_case_edit_voids_check);
  ADD ("/app/store/case/find", test_find);
  ADD ("/app/store/lifecycle/check-lists-missing", test_lifecycle_check);
  ADD ("/app/store/lifecycle/second-check", test_lifecycle_second_check);
  ADD ("/app/store/lifecycle/receipt-numbers", test_lifecycle_receipts);
  ADD ("/app/store/seal/immutable", test_seal_immutable);
  ADD ("/app/store/seal/triggers", test_seal_triggers);
  ADD ("/app/store/damage/bit-flip", test_damage_bit_flip);
  ADD ("/app/store/damage/swap", test_damage_swap);
  ADD ("/app/store/damage/rollback", test_damage_rollback);
  ADD ("/app/store/damage/attachment", test_damage_attachment);
  ADD ("/app/store/damage/attachment-moved", test_damage_attachment_moved);
  ADD ("/app/store/open/hardening", test_open_hardening);
  ADD ("/app/store/open/newer", test_open_newer);
  ADD ("/app/store/open/migrates-v2", test_open_migrates_v2);
  ADD ("/app/store/open/migrates-v3", test_open_migrates_v3);
  ADD ("/app/store/purge/erases-keys", test_purge_erases_keys);
  g_test_add_func ("/app/store/open/not-a-database", test_open_not_a_database);
  ADD ("/app/store/fault/disk-full", test_fault_disk_full);
  g_test_add_func ("/app/store/fault/disk-full-every-step", test_fault_disk_full_every_step);
  ADD ("/app/store/fault/busy", test_fault_busy);
  ADD ("/app/store/attachment/roundtrip", test_attachment_roundtrip);
  ADD ("/app/store/attachment/attach-later", test_attach_later);
#undef ADD
  g_test_add_func ("/app/checkpoint/bounded", test_checkpoint_bounded);

  return g_test_run ();
}
