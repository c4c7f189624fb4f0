/* test-catalog.c — the shipped service catalog and the loader's checks. */
#include "app/fk-catalog.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#include <string.h>

static const char * const six_services[] = {
  "id_card_first", "id_card_replace", "household_change",
  "seal_registration", "certificate_apply", "card_handover",
};

/* A small catalog the loader accepts.  Every malformed variant below is this
 * text with one thing broken, so a refusal can only come from that thing. */
static const char minimal_catalog[] =
  "{\"version\": 3, \"services\": ["
  " {\"id\": \"svc_a\", \"name\": {\"zh_TW\": \"甲\", \"en\": \"Service A\"},"
  "  \"fee\": 10,"
  "  \"time_limit\": {\"days\": 1, \"zh_TW\": \"1日\", \"en\": \"1 day\"},"
  "  \"second_check\": true,"
  "  \"age\": {\"min\": 14, \"max\": 20},"
  "  \"fields\": ["
  "   {\"key\": \"phone\", \"label\": {\"zh_TW\": \"電話\", \"en\": \"Phone\"},"
  "    \"type\": \"phone\", \"required\": false, \"personal\": true},"
  "   {\"key\": \"note\", \"label\": {\"zh_TW\": \"備註\", \"en\": \"Note\"},"
  "    \"type\": \"text\", \"required\": false, \"personal\": false},"
  "   {\"key\": \"kind\", \"label\": {\"zh_TW\": \"類別\", \"en\": \"Kind\"},"
  "    \"type\": \"choice\", \"required\": true, \"personal\": false, \"choices\": [\"x\", \"y\"]}"
  "  ],"
  "  \"checklist\": ["
  "   {\"id\": \"doc_one\", \"label\": {\"zh_TW\": \"文件一\", \"en\": \"Document one\"}, \"required\": true},"
  "   {\"id\": \"doc_two\", \"label\": {\"zh_TW\": \"文件二\", \"en\": \"Document two\"}, \"required\": false}"
  "  ]},"
  " {\"id\": \"svc_b\", \"name\": {\"zh_TW\": \"乙\", \"en\": \"Service B\"},"
  "  \"fee\": 0,"
  "  \"time_limit\": {\"days\": 0, \"zh_TW\": \"即時\", \"en\": \"Immediate\"},"
  "  \"second_check\": false,"
  "  \"fields\": [],"
  "  \"checklist\": ["
  "   {\"id\": \"doc_one\", \"label\": {\"zh_TW\": \"文件一\", \"en\": \"Document one\"}, \"required\": true}"
  "  ]}"
  "]}";

/* ---------------------------------------------------------------- helpers */

static char *
data_dir (void)
{
  const char *dir = g_getenv ("FIELDKIT_DATA_DIR");

  if (dir != NULL && *dir != '\0')
    return g_strdup (dir);
  return g_test_build_filename (G_TEST_DIST, "..", "data", NULL);
}

static FkCatalog *
load_shipped (void)
{
  g_autofree char *dir = data_dir ();
  g_autofree char *path = g_build_filename (dir, "services.json", NULL);
  g_autoptr(GError) error = NULL;
  FkCatalog *catalog = fk_catalog_load_file (path, &error);

  if (catalog == NULL)
    g_error ("%s: %s", path, error->message);
  return catalog;
}

static FkCatalog *
load_string (const char  *json,
             GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (json, strlen (json));

  return fk_catalog_load_bytes (bytes, error);
}

/* The minimal catalog with `old` (which must occur exactly once) replaced. */
static char *
variant (const char *old,
         const char *replacement)
{
  const char *at = strstr (minimal_catalog, old);

  g_assert_nonnull (at);
  g_assert_null (strstr (at + 1, old));
  return g_strdup_printf ("%.*s%s%s", (int) (at - minimal_catalog), minimal_catalog,
                          replacement, at + strlen (old));
}

static void
assert_refused (const char *name,
                const char *json,
                const char *words1,
                const char *words2)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error_zh = NULL;
  g_autoptr(FkCatalog) catalog = load_string (json, &error);
  g_autoptr(FkCatalog) catalog_zh = NULL;

  if (catalog != NULL)
    g_error ("%s: malformed catalog accepted", name);
  g_assert_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT);
  if (strstr (error->message, words1) == NULL ||
      (words2 != NULL && strstr (error->message, words2) == NULL))
    g_error ("%s: message “%s” lacks “%s” / “%s”", name, error->message, words1,
             words2 != NULL ? words2 : "");
  g_assert_nonnull (strstr (error->message, "services.json"));

  fk_lang_set ("zh_TW");
  catalog_zh = load_string (json, &error_zh);
  fk_lang_set ("en");
  g_assert_null (catalog_zh);
  g_assert_nonnull (strstr (error_zh->message, "業務目錄"));
}

/* ---------------------------------------------------------------- shipped catalog */

static void
test_shipped_services (void)
{
  g_autoptr(FkCatalog) catalog = load_shipped ();
  GPtrArray *services = fk_catalog_services (catalog);

  g_assert_cmpint (fk_catalog_version (catalog), >=, 1);
  g_assert_cmpuint (services->len, ==, G_N_ELEMENTS (six_services));

  for (guint i = 0; i < G_N_ELEMENTS (six_services); i++)
    {
      const FkService *service = fk_catalog_lookup (catalog, six_services[i]);
      guint n_required = 0;

      g_assert_nonnull (service);
      g_assert_true (service == g_ptr_array_index (services, i));
      g_assert_cmpstr (service->id, ==, six_services[i]);
      g_assert_cmpuint (strlen (service->name_zh), >, 0);
      g_assert_cmpuint (strlen (service->name_en), >, 0);
      g_assert_true (g_utf8_validate (service->name_zh, -1, NULL));
      g_assert_cmpint (service->fee, >=, 0);
      g_assert_cmpint (service->time_limit_days, >=, 0);
      g_assert_cmpuint (strlen (service->time_limit_zh), >, 0);
      g_assert_cmpuint (strlen (service->time_limit_en), >, 0);

      g_assert_cmpuint (service->checklist->len, >, 0);
      for (guint j = 0; j < service->checklist->len; j++)
        {
          const FkChecklistItem *item = g_ptr_array_index (service->checklist, j);

          g_assert_cmpuint (strlen (item->label_zh), >, 0);
          g_assert_cmpuint (strlen (item->label_en), >, 0);
          g_assert_true (fk_service_checklist_item (service, item->id) == item);
          n_required += item->required ? 1 : 0;
        }
      /* A service whose whole checklist is optional could be sealed with
       * nothing seen. */
      g_assert_cmpuint (n_required, >, 0);

      for (guint j = 0; j < service->fields->len; j++)
        {
          const FkField *field = g_ptr_array_index (service->fields, j);

          g_assert_true (fk_service_field (service, field->key) == field);
          g_assert_cmpstr (field->key, !=, "person_id");
          g_assert_cmpstr (field->key, !=, "name");
          g_assert_cmpstr (field->key, !=, "birth_date");
          /* Names and contact details of anyone are personal data. */
          if (g_str_has_suffix (field->key, "_name") || g_str_has_suffix (field->key, "_id") ||
              g_str_equal (field->key, "phone") || g_str_equal (field->key, "email") ||
              g_str_has_suffix (field->key, "address"))
            g_assert_true (field->personal);
        }
    }

  g_assert_null (fk_catalog_lookup (catalog, "passport"));
  g_assert_null (fk_catalog_lookup (catalog, NULL));
}

/* The facts the office's fee table and the rest of FieldKit rely on. */
static void
test_shipped_facts (void)
{
  g_autoptr(FkCatalog) catalog = load_shipped ();
  const FkService *first = fk_catalog_lookup (catalog, "id_card_first");
  const FkService *replace = fk_catalog_lookup (catalog, "id_card_replace");
  const FkService *household = fk_catalog_lookup (catalog, "household_change");
  const FkService *seal = fk_catalog_lookup (catalog, "seal_registration");
  const FkService *certificate = fk_catalog_lookup (catalog, "certificate_apply");
  const FkService *handover = fk_catalog_lookup (catalog, "card_handover");
  const FkField *field;

  g_assert_cmpint (first->fee, ==, 50);
  g_assert_cmpint (replace->fee, ==, 200);
  g_assert_cmpint (household->fee, ==, 0);
  g_assert_cmpint (seal->fee, ==, 0);
  g_assert_cmpint (certificate->fee, ==, 0);
  g_assert_cmpint (handover->fee, ==, 0);

  g_assert_true (first->second_check);
  g_assert_true (replace->second_check);
  g_assert_true (household->second_check);
  g_assert_true (seal->second_check);
  g_assert_false (certificate->second_check);
  g_assert_false (handover->second_check);

  g_assert_cmpint (first->age_min, ==, -1);
  g_assert_cmpint (certificate->age_min, ==, 14);
  g_assert_cmpint (certificate->age_max, ==, -1);

  g_assert_nonnull (fk_service_checklist_item (first, "household_register"));
  g_assert_true (fk_service_checklist_item (first, "photo")->required);
  g_assert_null (fk_service_checklist_item (first, "no_such_item"));

  field = fk_service_field (first, "guardian_id");
  g_assert_nonnull (field);
  g_assert_cmpint (field->type, ==, FK_FIELD_PERSON_ID);
  g_assert_true (field->personal);
  g_assert_null (fk_service_field (first, "no_such_field"));

  field = fk_service_field (certificate, "card_number");
  g_assert_cmpint (field->type, ==, FK_FIELD_CERT_CARD);
  g_assert_true (field->required);

  field = fk_service_field (replace, "reason");
  g_assert_cmpint (field->type, ==, FK_FIELD_CHOICE);
  g_assert_true (g_strv_contains ((const char * const *) field->choices, "lost"));
  /* Every shipped choice has a label in both languages: the clerk never
   * reads a stored value such as "record_change". */
  g_assert_cmpuint (g_strv_length (field->choice_labels_zh), ==, g_strv_length (field->choices));
  g_assert_cmpuint (g_strv_length (field->choice_labels_en), ==, g_strv_length (field->choices));
  fk_lang_set ("en");
  g_assert_cmpstr (fk_field_choice_label (field, "damaged"), ==, "Damaged");
  g_assert_cmpstr (fk_field_choice_label (field, "not_a_choice"), ==, "not_a_choice");

  g_assert_cmpstr (fk_service_name (first), ==, "First national ID card");
  fk_lang_set ("zh_TW");
  g_assert_cmpstr (fk_service_name (first), ==, "初領國民身分證");
  g_assert_cmpstr (fk_service_name (replace), ==, "換補領國民身分證");
  g_assert_cmpstr (fk_service_name (seal), ==, "印鑑登記");
  g_assert_cmpstr (fk_service_name (certificate), ==, "自然人憑證申請");
  g_assert_cmpstr (fk_service_name (handover), ==, "證件交付");
  g_assert_cmpstr (fk_field_label (field), ==, "換補領原因");
  g_assert_cmpstr (fk_field_choice_label (field, "damaged"), ==, "毀損");
  fk_lang_set ("en");
}

static void
test_load_default (void)
{
  g_autofree char *dir = data_dir ();
  g_autofree char *saved = g_strdup (g_getenv ("FIELDKIT_DATA_DIR"));
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCatalog) catalog = NULL;
  g_autoptr(FkCatalog) missing = NULL;

  g_setenv ("FIELDKIT_DATA_DIR", dir, TRUE);
  catalog = fk_catalog_load_default (&error);
  g_assert_no_error (error);
  g_assert_nonnull (fk_catalog_lookup (catalog, "card_handover"));

  g_setenv ("FIELDKIT_DATA_DIR", "/nonexistent/fieldkit-data", TRUE);
  missing = fk_catalog_load_default (&error);
  g_assert_null (missing);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "FIELDKIT_DATA_DIR"));

  if (saved != NULL)
    g_setenv ("FIELDKIT_DATA_DIR", saved, TRUE);
  else
    g_unsetenv ("FIELDKIT_DATA_DIR");
}

/* ---------------------------------------------------------------- loader checks */

static void
test_minimal_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCatalog) catalog = load_string (minimal_catalog, &error);
  g_autofree char *extra = NULL;
  g_autoptr(FkCatalog) with_extra = NULL;
  const FkService *a;
  const FkService *b;
  const FkField *kind;

  g_assert_no_error (error);
  g_assert_cmpint (fk_catalog_version (catalog), ==, 3);

  a = fk_catalog_lookup (catalog, "svc_a");
  b = fk_catalog_lookup (catalog, "svc_b");
  g_assert_cmpint (a->fee, ==, 10);
  g_assert_cmpint (a->age_min, ==, 14);
  g_assert_cmpint (a->age_max, ==, 20);
  g_assert_cmpint (b->age_min, ==, -1);
  g_assert_cmpint (b->age_max, ==, -1);
  g_assert_cmpuint (a->fields->len, ==, 3);
  g_assert_cmpuint (b->fields->len, ==, 0);
  g_assert_true (a->second_check);
  g_assert_false (b->second_check);
  g_assert_cmpint (b->time_limit_days, ==, 0);
  g_assert_cmpstr (fk_service_time_limit (a), ==, "1 day");

  kind = fk_service_field (a, "kind");
  g_assert_cmpint (kind->type, ==, FK_FIELD_CHOICE);
  g_assert_cmpuint (g_strv_length (kind->choices), ==, 2);
  g_assert_null (fk_service_field (a, "note")->choices);

  /* Members the loader does not know are ignored, so a newer catalog can
   * add information older devices do not use. */
  extra = variant ("\"fee\": 10,", "\"fee\": 10, \"future_member\": {\"x\": 1},");
  with_extra = load_string (extra, &error);
  g_assert_no_error (error);
  g_assert_nonnull (with_extra);
}

static void
test_malformed (void)
{
  struct {
    const char *name;
    const char *old;
    const char *replacement;
    const char *words1;
    const char *words2;
  } cases[] = {
    { "unknown field type", "\"type\": \"text\"", "\"type\": \"telephone\"",
      "unknown field type \"telephone\"", "service \"svc_a\", field \"note\"" },
    { "missing field type", "\"type\": \"text\", ", "",
      "unknown field type", "field \"note\"" },
    { "missing zh name", "\"zh_TW\": \"甲\", ", "",
      "service \"svc_a\".name", "\"zh_TW\" is missing" },
    { "blank en name", "\"en\": \"Service A\"", "\"en\": \"  \"",
      "service \"svc_a\".name", "\"en\" is missing" },
    { "missing name", "\"name\": {\"zh_TW\": \"乙\", \"en\": \"Service B\"},", "",
      "service \"svc_b\"", "\"name\" is missing" },
    { "duplicate service id", "\"id\": \"svc_b\"", "\"id\": \"svc_a\"",
      "service \"svc_a\"", "appears twice" },
    { "negative fee", "\"fee\": 10", "\"fee\": -5",
      "\"fee\" must not be negative, got -5", "service \"svc_a\"" },
    { "fractional fee", "\"fee\": 10", "\"fee\": 10.5",
      "\"fee\" is missing or is not a whole number", "svc_a" },
    { "fee as text", "\"fee\": 10", "\"fee\": \"10\"",
      "\"fee\" is missing or is not a whole number", "svc_a" },
    { "missing fee", "\"fee\": 0,", "",
      "\"fee\" is missing", "service \"svc_b\"" },
    { "missing version", "\"version\": 3, ", "",
      "\"version\" is missing", "top level" },
    { "zero version", "\"version\": 3", "\"version\": 0",
      "\"version\" must be between 1", NULL },
    { "no services", "{\"version\": 3, \"services\": [", "{\"version\": 3, \"old\": [",
      "\"services\" is missing", NULL },
    { "duplicate field key", "\"key\": \"note\"", "\"key\": \"phone\"",
      "field \"phone\"", "appears twice" },
    { "core key as field", "\"key\": \"note\"", "\"key\": \"birth_date\"",
      "\"birth_date\" is recorded for every case", NULL },
    { "bad field key", "\"key\": \"note\"", "\"key\": \"Note Field\"",
      "\"key\" must use only a–z", NULL },
    { "duplicate checklist id", "\"id\": \"doc_two\"", "\"id\": \"doc_one\"",
      "checklist item \"doc_one\"", "appears twice" },
    { "checklist required missing", "\"en\": \"Document two\"}, \"required\": false", "\"en\": \"Document two\"}, \"requried\": false",
      "checklist item \"doc_two\"", "\"required\" is missing" },
    { "checklist required as text", "\"en\": \"Document two\"}, \"required\": false", "\"en\": \"Document two\"}, \"required\": \"no\"",
      "checklist item \"doc_two\"", "not true or false" },
    { "empty checklist", "\"fields\": [],  \"checklist\": [   {\"id\": \"doc_one\", \"label\": {\"zh_TW\": \"文件一\", \"en\": \"Document one\"}, \"required\": true}  ]}]}",
      "\"fields\": [], \"checklist\": []}]}",
      "service \"svc_b\"", "\"checklist\" is missing or empty" },
    { "fields missing", "\"fields\": [],", "\"feilds\": [],",
      "service \"svc_b\"", "\"fields\" is missing" },
    { "choice without choices", ", \"choices\": [\"x\", \"y\"]", "",
      "field \"kind\"", "non-empty \"choices\"" },
    { "duplicate choice", "[\"x\", \"y\"]", "[\"x\", \"x\"]",
      "field \"kind\"", "choice \"x\" is listed twice" },
    { "choice object without label", "[\"x\", \"y\"]", "[{\"value\": \"x\"}, \"y\"]",
      "choice #1", "\"label\" is missing" },
    { "choice object without value", "[\"x\", \"y\"]", "[{\"label\": {\"zh_TW\": \"甲\", \"en\": \"A\"}}, \"y\"]",
      "choice #1", "value" },
    { "choice neither string nor object", "[\"x\", \"y\"]", "[\"x\", 3]",
      "field \"kind\"", "choice #2 is neither" },
    { "duplicate choice object", "[\"x\", \"y\"]", "[\"x\", {\"value\": \"x\", \"label\": {\"zh_TW\": \"甲\", \"en\": \"A\"}}]",
      "field \"kind\"", "choice \"x\" is listed twice" },
    { "choices on text", "\"type\": \"text\", \"required\": false, \"personal\": false}",
      "\"type\": \"text\", \"required\": false, \"personal\": false, \"choices\": [\"a\"]}",
      "field \"note\"", "only allowed for fields of type \"choice\"" },
    { "phone not personal", "\"type\": \"phone\", \"required\": false, \"personal\": true",
      "\"type\": \"phone\", \"required\": false, \"personal\": false",
      "field \"phone\"", "must have \"personal\": true" },
    { "personal missing", "\"type\": \"phone\", \"required\": false, \"personal\": true",
      "\"type\": \"phone\", \"required\": false",
      "field \"phone\"", "\"personal\" is missing" },
    { "age min above max", "{\"min\": 14, \"max\": 20}", "{\"min\": 21, \"max\": 20}",
      "service \"svc_a\".age", "greater than" },
    { "age not an object", "{\"min\": 14, \"max\": 20}", "14",
      "service \"svc_a\"", "\"age\" must be an object" },
    { "time limit missing", "\"time_limit\": {\"days\": 0, \"zh_TW\": \"即時\", \"en\": \"Immediate\"},", "",
      "service \"svc_b\"", "\"time_limit\" is missing" },
    { "negative days", "\"days\": 1", "\"days\": -1",
      "service \"svc_a\".time_limit", "\"days\" must not be negative" },
    { "second check missing", "\"second_check\": false,", "",
      "service \"svc_b\"", "\"second_check\" is missing" },
    { "bad service id", "\"id\": \"svc_b\"", "\"id\": \"svc b\"",
      "\"id\" must use only a–z", NULL },
    { "missing service id", "\"id\": \"svc_b\", ", "",
      "service #2", "\"id\" is missing" },
    { "service not an object", "\"services\": [", "\"services\": [42, ",
      "service #1", "not an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = variant (cases[i].old, cases[i].replacement);

      assert_refused (cases[i].name, json, cases[i].words1, cases[i].words2);
    }

  assert_refused ("not JSON", "{\"version\": 1, \"services\": [", "not valid JSON", NULL);
  assert_refused ("empty file", "", "not a JSON object", NULL);
  assert_refused ("array root", "[]", "not a JSON object", NULL);
}

static void
test_oversize (void)
{
  gsize size = 2 * 1024 * 1024;
  g_autofree char *big = g_malloc (size);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCatalog) catalog = NULL;

  memset (big, ' ', size);
  big[0] = '{';
  big[size - 1] = '}';
  bytes = g_bytes_new_static (big, size);
  catalog = fk_catalog_load_bytes (bytes, &error);
  g_assert_null (catalog);
  g_assert_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "not a catalog"));
}

/* ---------------------------------------------------------------- field values */

static void
assert_field_ok (const FkField *field,
                 const char    *value,
                 const char    *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;

  if (!fk_field_validate (field, value, &normalized, &error))
    g_error ("%s = “%s” refused: %s", field->key, value, error->message);
  g_assert_cmpstr (normalized, ==, expected);
}

static void
assert_field_refused (const FkField *field,
                      const char    *value,
                      int            code,
                      const char    *words)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;

  if (fk_field_validate (field, value, &normalized, &error))
    g_error ("%s = “%s” accepted as “%s”", field->key, value, normalized);
  g_assert_error (error, FK_VALIDATE_ERROR, code);
  g_assert_null (normalized);
  /* The clerk must see which field is wrong. */
  g_assert_true (g_str_has_prefix (error->message, field->label_en));
  if (words != NULL && strstr (error->message, words) == NULL)
    g_error ("%s = “%s”: message “%s” lacks “%s”", field->key, value, error->message, words);
}

static void
test_field_validate_shipped (void)
{
  g_autoptr(FkCatalog) catalog = load_shipped ();
  const FkService *first = fk_catalog_lookup (catalog, "id_card_first");
  const FkService *certificate = fk_catalog_lookup (catalog, "certificate_apply");
  const FkService *household = fk_catalog_lookup (catalog, "household_change");
  const FkField *guardian_id = fk_service_field (first, "guardian_id");
  const FkField *phone = fk_service_field (first, "phone");
  const FkField *relation = fk_service_field (first, "guardian_relation");
  const FkField *card = fk_service_field (certificate, "card_number");
  const FkField *kind = fk_service_field (household, "change_kind");
  const FkField *address = fk_service_field (household, "new_address");

  assert_field_ok (guardian_id, " a123456789 ", "A123456789");
  assert_field_ok (guardian_id, "A800000014", "A800000014");
  assert_field_ok (guardian_id, "", "");
  assert_field_refused (guardian_id, "A123456788", FK_VALIDATE_ERROR_CHECKSUM, "check digit");

  assert_field_ok (phone, "0912-345-678", "0912345678");
  assert_field_ok (phone, NULL, "");
  assert_field_refused (phone, "0912-345-67", FK_VALIDATE_ERROR_LENGTH, NULL);

  assert_field_ok (relation, "mother", "mother");
  assert_field_refused (relation, "aunt", FK_VALIDATE_ERROR_RANGE, "father, mother, guardian");

  assert_field_ok (card, "tp03000012345678", "TP03000012345678");
  assert_field_refused (card, "", FK_VALIDATE_ERROR_EMPTY, "required");
  assert_field_refused (card, "TP0300001234567", FK_VALIDATE_ERROR_LENGTH, NULL);

  assert_field_ok (kind, " move_in ", "move_in");
  assert_field_refused (kind, "　", FK_VALIDATE_ERROR_EMPTY, "required");

  assert_field_ok (address, "　臺中市西屯區臺灣大道三段99號　", "臺中市西屯區臺灣大道三段99號");
  assert_field_refused (address, "臺中市\n西屯區", FK_VALIDATE_ERROR_FORMAT, "one line");
}

static void
test_field_validate_types (void)
{
  FkField date = { .key = "lost_on", .label_zh = "遺失日期", .label_en = "Date lost",
                   .type = FK_FIELD_DATE, .required = TRUE };
  FkField national = { .key = "head_id", .label_zh = "戶長身分證", .label_en = "Head's ID",
                       .type = FK_FIELD_NATIONAL_ID, .required = TRUE, .personal = TRUE };
  FkField text = { .key = "remark", .label_zh = "說明", .label_en = "Remark",
                   .type = FK_FIELD_TEXT, .required = FALSE };
  g_autofree char *long_text = g_strnfill (501, 'x');
  g_autoptr(GError) error = NULL;

  assert_field_ok (&date, "101年5月3日", "2012-05-03");
  assert_field_ok (&date, "2012/5/3", "2012-05-03");
  assert_field_refused (&date, "102/02/29", FK_VALIDATE_ERROR_DATE, "leap year");
  assert_field_refused (&date, "  ", FK_VALIDATE_ERROR_EMPTY, "required");

  assert_field_ok (&national, "A123456789", "A123456789");
  assert_field_refused (&national, "AA00000009", FK_VALIDATE_ERROR_GENDER, "resident number");

  assert_field_ok (&text, "  line one\nline two ", "line one\nline two");
  assert_field_ok (&text, "", "");
  assert_field_refused (&text, long_text, FK_VALIDATE_ERROR_RANGE, "at most 500");
  assert_field_refused (&text, "bell\a", FK_VALIDATE_ERROR_FORMAT, "control character");

  /* The label comes first in the clerk's language. */
  fk_lang_set ("zh_TW");
  g_assert_false (fk_field_validate (&date, "101/13/01", NULL, &error));
  fk_lang_set ("en");
  g_assert_true (g_str_has_prefix (error->message, "「遺失日期」："));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  fk_lang_set ("en");

  g_test_add_func ("/app/catalog/shipped/services", test_shipped_services);
  g_test_add_func ("/app/catalog/shipped/facts", test_shipped_facts);
  g_test_add_func ("/app/catalog/load-default", test_load_default);
  g_test_add_func ("/app/catalog/load/minimal", test_minimal_valid);
  g_test_add_func ("/app/catalog/load/malformed", test_malformed);
  g_test_add_func ("/app/catalog/load/oversize", test_oversize);
  g_test_add_func ("/app/catalog/field/shipped", test_field_validate_shipped);
  g_test_add_func ("/app/catalog/field/types", test_field_validate_types);

  return g_test_run ();
}
