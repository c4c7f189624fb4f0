/* test-privacy.c — no personal data reaches the disk in the clear.
 *
 * A device is filled with cases whose names, ID numbers, birth dates,
 * addresses, phones and photo bytes are distinctive, then every file in the
 * data folder (database, WAL, shared memory) and every file written to the
 * temporary folder during the test is searched for each of them, in the
 * forms a careless program would write: UTF-8, the ID in lower case, names
 * in UTF-16LE, the raw photo bytes.  Once with the store open, once after
 * closing it.  The scanner itself is checked first on a file that does hold
 * the values, so a broken scanner cannot pass.
 *
 * The temporary folder is one of this process's own (see main), so "every
 * file in it" is exactly "every temporary file the test wrote".
 */
#include <string.h>
#include <sys/stat.h>

#include "tests/fk-test-util.h"

typedef struct {
  char   *label;
  GBytes *bytes;
} Needle;

static void
needle_free (Needle *n)
{
  g_free (n->label);
  g_bytes_unref (n->bytes);
  g_free (n);
}

static void
add_needle (GPtrArray *needles, const char *label, const void *data, gsize len)
{
  Needle *n = g_new0 (Needle, 1);

  n->label = g_strdup (label);
  n->bytes = g_bytes_new (data, len);
  g_ptr_array_add (needles, n);
}

static void
add_text (GPtrArray *needles, const char *label, const char *text)
{
  g_autofree gunichar2 *utf16 = NULL;
  glong n_utf16 = 0;
  g_autofree char *lower = g_utf8_strdown (text, -1);
  g_autofree char *label16 = g_strdup_printf ("%s (UTF-16LE)", label);
  g_autofree char *label_lower = g_strdup_printf ("%s (lower case)", label);

  add_needle (needles, label, text, strlen (text));
  if (strcmp (lower, text) != 0)
    add_needle (needles, label_lower, lower, strlen (lower));
  utf16 = g_utf8_to_utf16 (text, -1, NULL, &n_utf16, NULL);
  g_assert_nonnull (utf16);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  add_needle (needles, label16, utf16, (gsize) n_utf16 * 2);
#else
  for (glong i = 0; i < n_utf16; i++)
    utf16[i] = GUINT16_TO_LE (utf16[i]);
  add_needle (needles, label16, utf16, (gsize) n_utf16 * 2);
#endif
}

/* ---- the scanner ------------------------------------------------------------ */

typedef struct {
  GPtrArray  *needles;
  gint64      since;      /* only files modified from then on (seconds), or 0 for all */
  GPtrArray  *hits;       /* "path: label" */
  guint       n_files;
} Scan;

static void
scan_file (Scan *scan, const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  /* A file that vanished or cannot be read (another test's, going away)
   * holds nothing of ours. */
  if (!g_file_get_contents (path, &contents, &len, NULL))
    return;
  scan->n_files++;
  for (guint i = 0; i < scan->needles->len; i++)
    {
      Needle *n = scan->needles->pdata[i];
      gsize nlen;
      const void *ndata = g_bytes_get_data (n->bytes, &nlen);

      if (memmem (contents, len, ndata, nlen) != NULL)
        g_ptr_array_add (scan->hits, g_strdup_printf ("%s: %s", path, n->label));
    }
}

static void
scan_tree (Scan *scan, const char *path, guint depth)
{
  struct stat st;

  if (depth > 16 || lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          scan_tree (scan, child, depth + 1);
        }
      if (dir)
        g_dir_close (dir);
    }
  else if (S_ISREG (st.st_mode) && st.st_mtime >= scan->since && st.st_size < 256 * 1024 * 1024)
    scan_file (scan, path);
}

/* Returns the hits ("path: what") found under root. */
static GPtrArray *
scan (GPtrArray *needles, const char *root, gint64 since, guint *n_files)
{
  Scan s = { needles, since, g_ptr_array_new_with_free_func (g_free), 0 };

  scan_tree (&s, root, 0);
  if (n_files)
    *n_files = s.n_files;
  return s.hits;
}

static void
assert_clean (GPtrArray *hits, const char *when)
{
  if (hits->len == 0)
    return;
  for (guint i = 0; i < hits->len; i++)
    g_test_message ("personal data in the clear (%s): %s", when, (const char *) hits->pdata[i]);
  g_error ("%u personal values found on disk %s; first: %s", hits->len, when, (const char *) hits->pdata[0]);
}

/* ---- the data ------------------------------------------------------------------ */

typedef struct {
  const char *name;
  char        letter;
  int         gender;
  guint       serial;
  const char *birth_typed;
  const char *birth_iso;
  const char *address;
  const char *phone_typed;
  const char *phone_norm;
} Person;

/* A clerk's free-text note (the catalog's "notes" field, personal). */
#define NOTES_TEXT "行動不便，請從後門進入；女兒林美惠陪同"

static const Person people[] = {
  { "諸葛青雲", 'L', 1, 3141593, "民國26年8月14日", "1937-08-14",
    "臺中市北屯區崇德路三段九九九巷八十八號", "0923-456-781", "0923456781" },
  { "Zebedee Quinlan-Marchetti", 'J', 1, 2718282, "1944-12-25", "1944-12-25",
    "No. 77, Lane 404, Xiangshang Rd, Nantun", "04-2345-6781", "0423456781" },
  { "歐陽靜香", 'V', 2, 1414214, "0311107", "1942-11-07",
    "南投縣埔里鎮杏林街四四四號之七", "049-2987654", "0492987654" },
};

/* 64 bytes that appear nowhere else. */
static const char photo_marker[] =
  "<<FieldKit privacy marker: if you can read this a photo leaked>>";

G_STATIC_ASSERT (sizeof photo_marker - 1 == 64);

static GBytes *
make_photo (guint i)
{
  GByteArray *b = g_byte_array_new ();
  guint8 filler[4096];

  for (guint k = 0; k < sizeof filler; k++)
    filler[k] = (guint8) (k * 31 + i);
  g_byte_array_append (b, (const guint8 *) "\xff\xd8\xff\xe0", 4);
  for (guint k = 0; k < 40; k++)
    {
      g_byte_array_append (b, filler, sizeof filler);
      if (k == 17)
        g_byte_array_append (b, (const guint8 *) photo_marker, 64);
    }
  return g_byte_array_free_to_bytes (b);
}

typedef struct {
  GPtrArray *needles;
  char      *ids[G_N_ELEMENTS (people)];
} Values;

static void
values_init (Values *v)
{
  v->needles = g_ptr_array_new_with_free_func ((GDestroyNotify) needle_free);
  for (guint i = 0; i < G_N_ELEMENTS (people); i++)
    {
      const Person *p = &people[i];
      g_autofree char *what = g_strdup_printf ("person %u", i + 1);
      g_autofree char *l_name = g_strconcat (what, " name", NULL);
      g_autofree char *l_id = g_strconcat (what, " ID number", NULL);
      g_autofree char *l_birth = g_strconcat (what, " birth date", NULL);
      g_autofree char *l_addr = g_strconcat (what, " address", NULL);
      g_autofree char *l_phone = g_strconcat (what, " phone", NULL);

      v->ids[i] = fk_test_national_id (p->letter, p->gender, p->serial);
      add_text (v->needles, l_name, p->name);
      add_text (v->needles, l_id, v->ids[i]);
      add_text (v->needles, l_birth, p->birth_iso);
      add_text (v->needles, l_addr, p->address);
      add_text (v->needles, l_phone, p->phone_typed);
      add_text (v->needles, l_phone, p->phone_norm);
    }
  add_text (v->needles, "operator name", "Chen Mei-ling");
  add_text (v->needles, "outing place", "崇德路三段的長照據點");
  add_text (v->needles, "case notes", NOTES_TEXT);
  add_needle (v->needles, "photo marker", photo_marker, 64);
}

static void
values_clear (Values *v)
{
  g_clear_pointer (&v->needles, g_ptr_array_unref);
  for (guint i = 0; i < G_N_ELEMENTS (people); i++)
    g_clear_pointer (&v->ids[i], g_free);
}

/* ---- tests ----------------------------------------------------------------------- */

/* The scanner finds what is there: in a nested folder, in the middle of
 * other bytes, in each form. */
static void
test_scanner_finds (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = fk_test_make_tmp ();
  g_autofree char *sub = g_build_filename (dir, "a", "b", NULL);
  g_autofree char *file1 = g_build_filename (sub, "dump.bin", NULL);
  g_autofree char *file2 = g_build_filename (dir, "names.txt", NULL);
  g_autoptr(GBytes) photo = make_photo (0);
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GString) text = g_string_new ("header ");
  Values v = { 0 };
  g_autofree gunichar2 *utf16 = NULL;
  glong n16 = 0;
  guint n_files = 0;

  values_init (&v);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file1, g_bytes_get_data (photo, NULL), (gssize) g_bytes_get_size (photo), &error));
  utf16 = g_utf8_to_utf16 (people[0].name, -1, NULL, &n16, NULL);
  g_string_append_len (text, (const char *) utf16, n16 * 2);
  g_string_append (text, " and ");
  g_string_append (text, v.ids[1]);
  g_assert_true (g_file_set_contents (file2, text->str, (gssize) text->len, &error));

  hits = scan (v.needles, dir, 0, &n_files);
  g_assert_cmpuint (n_files, ==, 2);
  g_assert_cmpuint (hits->len, ==, 3);
  {
    g_autofree char *joined = NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
    g_auto(GStrv) all = NULL;

    for (guint i = 0; i < hits->len; i++)
      g_strv_builder_add (b, hits->pdata[i]);
    all = g_strv_builder_end (b);
    joined = g_strjoinv ("\n", all);
    g_assert_nonnull (strstr (joined, "dump.bin: photo marker"));
    g_assert_nonnull (strstr (joined, "names.txt: person 1 name (UTF-16LE)"));
    g_assert_nonnull (strstr (joined, "names.txt: person 2 ID number"));
  }
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* An old file is skipped when only new files are asked for. */
  hits = scan (v.needles, dir, (g_get_real_time () / G_USEC_PER_SEC) + 3600, &n_files);
  g_assert_cmpuint (n_files, ==, 0);
  g_assert_cmpuint (hits->len, ==, 0);

  values_clear (&v);
  fk_test_rm_rf (dir);
}

static void
test_nothing_in_the_clear (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = fk_test_make_tmp ();
  g_autofree char *wal = g_build_filename (dir, "fieldkit.db-wal", NULL);
  g_autofree char *shm = g_build_filename (dir, "fieldkit.db-shm", NULL);
  g_autofree char *outing = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) control = g_ptr_array_new_with_free_func ((GDestroyNotify) needle_free);
  FkStore *store;
  Values v = { 0 };
  guint n_files = 0;

  values_init (&v);
  store = fk_test_store_new (dir, NULL);
  outing = fk_store_outing_new (store, "home_visit", "Home visits, Beitun", "2026-11-20",
                                "崇德路三段的長照據點", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (people); i++)
    {
      const Person *p = &people[i];
      g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(GBytes) photo = make_photo (i);
      g_autoptr(GBytes) signature = g_bytes_new (photo_marker, 64);
      g_autofree char *lower = g_ascii_strdown (v.ids[i], -1);
      FkCaseInput in = { 0 };
      gint64 id;

      g_hash_table_insert (fields, (gpointer) "change_kind", (gpointer) "move_in");
      g_hash_table_insert (fields, (gpointer) "applicant_role", (gpointer) "self");
      g_hash_table_insert (fields, (gpointer) "new_address", (gpointer) p->address);
      g_hash_table_insert (fields, (gpointer) "phone", (gpointer) p->phone_typed);
      g_hash_table_insert (fields, (gpointer) "notes", (gpointer) NOTES_TEXT);
      in.outing_id = outing;
      in.service = "household_change";
      in.person_id = lower;
      in.name = p->name;
      in.birth_date = p->birth_typed;
      in.fields = fields;
      in.photo = photo;
      in.photo_mime = "image/jpeg";
      in.signature = signature;
      in.signature_mime = "application/octet-stream";
      id = fk_store_case_new (store, &in, &error);
      g_assert_no_error (error);
      g_array_append_val (ids, id);

      /* Edits re-seal the record: old versions must not linger either. */
      g_assert_true (fk_store_case_set_field (store, id, "phone", p->phone_typed, &error));
      g_assert_true (fk_store_case_tick (store, id, NULL, TRUE, &error));
      g_assert_true (fk_store_case_check (store, id, &error));
      g_assert_no_error (error);
    }

  /* The values are all there for whoever holds the passphrase. */
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(FkCase) c = fk_store_case_get (store, g_array_index (ids, gint64, i), &error);
      g_autoptr(GArray) found = fk_store_find (store, v.ids[i], &error);

      g_assert_no_error (error);
      g_assert_null (c->damaged);
      g_assert_cmpstr (c->name, ==, people[i].name);
      g_assert_cmpstr (c->person_id, ==, v.ids[i]);
      g_assert_cmpstr (c->birth_date, ==, people[i].birth_iso);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "new_address"), ==, people[i].address);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "phone"), ==, people[i].phone_norm);
      g_assert_cmpstr (g_hash_table_lookup (c->fields, "notes"), ==, NOTES_TEXT);
      g_assert_cmpuint (found->len, ==, 1);
      g_assert_cmpint (g_array_index (found, gint64, 0), ==, c->id);
      for (guint k = 0; k < c->attachments->len; k++)
        {
          FkAttachmentInfo *a = c->attachments->pdata[k];
          g_autoptr(GBytes) data = fk_store_attachment_get (store, a->id, &error);
          gsize len;
          const void *p = g_bytes_get_data (data, &len);

          g_assert_no_error (error);
          g_assert_nonnull (memmem (p, len, photo_marker, 64));
        }
    }

  /* A plain column (the service) is found by the same scan of the same
   * files: the scan reads what the store wrote. */
  add_needle (control, "service id", "household_change", strlen ("household_change"));

  /* Open: the database, its WAL and shared memory. */
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (shm, G_FILE_TEST_EXISTS));
  hits = scan (v.needles, dir, 0, &n_files);
  g_assert_cmpuint (n_files, >=, 3);
  assert_clean (hits, "with the store open");
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = scan (control, dir, 0, NULL);
  g_assert_cmpuint (hits->len, >, 0);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = scan (v.needles, g_get_tmp_dir (), 0, &n_files);
  g_test_message ("store open: %u files in %s scanned", n_files, g_get_tmp_dir ());
  assert_clean (hits, "in the temporary folder with the store open");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Closed: everything checkpointed into the one file. */
  fk_store_close (store);
  hits = scan (v.needles, dir, 0, &n_files);
  g_assert_cmpuint (n_files, >=, 1);
  assert_clean (hits, "after closing the store");
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = scan (control, dir, 0, NULL);
  g_assert_cmpuint (hits->len, >, 0);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = scan (v.needles, g_get_tmp_dir (), 0, &n_files);
  g_test_message ("store closed: %u files scanned", n_files);
  assert_clean (hits, "in the temporary folder after closing");

  values_clear (&v);
  fk_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  const char *system_tmp = g_getenv ("TMPDIR");
  g_autofree char *private_tmp = NULL;
  int rc;

  /* This process gets a temporary folder of its own, before anything asks
   * for one: GLib, SQLite (which honours TMPDIR) and the store put their
   * temporary files there, so every file in it was made by this test, and
   * files of other programs running at the same time cannot muddle the
   * result. */
  private_tmp = g_build_filename (system_tmp && *system_tmp ? system_tmp : "/tmp",
                                  "fieldkit-privacy-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (private_tmp));
  g_setenv ("TMPDIR", private_tmp, TRUE);
  g_setenv ("SQLITE_TMPDIR", private_tmp, TRUE);
  g_setenv ("FIELDKIT_KDF", "test", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpstr (g_get_tmp_dir (), ==, private_tmp);

  g_test_add_func ("/app/privacy/scanner-finds", test_scanner_finds);
  g_test_add_func ("/app/privacy/nothing-in-the-clear", test_nothing_in_the_clear);

  rc = g_test_run ();
  fk_test_rm_rf (private_tmp);
  return rc;
}
