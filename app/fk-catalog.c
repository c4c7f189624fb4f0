/* fk-catalog.c — loading and checking the service catalog, see fk-catalog.h.
 *
 * The loader is deliberately unforgiving about the keys it knows: a typo in
 * "required" must not silently turn a required document into an optional
 * one, so booleans that decide what a clerk must do have no defaults.
 * Members it does not know are ignored, so that a newer catalog from the
 * office (with a higher "version") can add information older devices do not
 * use yet.
 */
#include "app/fk-catalog.h"

#include "app/fk-date.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"

#include <json-glib/json-glib.h>
#include <string.h>

#ifndef FK_DATADIR
#error "FK_DATADIR must name the installed data directory (meson defines it)"
#endif

/* Reference data may arrive from the network; anything this big is not a
 * catalog, and refusing it early keeps a hostile or broken download from
 * exhausting memory on a small tablet. */
#define CATALOG_MAX_BYTES  (1024 * 1024)
#define ID_MAX_LENGTH      64
#define FEE_MAX            100000
#define DAYS_MAX           365
#define AGE_MAX            150
#define TEXT_MAX_CHARS     500
#define ADDRESS_MAX_CHARS  200

struct _FkCatalog {
  int         version;
  GPtrArray  *services;  /* FkService*, owned */
  GHashTable *by_id;     /* id → FkService*, keys and values borrowed from services */
};

/* The keys every case records anyway; the store owns them, so a catalog
 * field of the same name would be recorded twice and could disagree. */
static const char * const core_keys[] = { "person_id", "name", "birth_date" };

static const struct {
  const char  *name;
  FkFieldType  type;
} field_types[] = {
  { "text",        FK_FIELD_TEXT },
  { "person_id",   FK_FIELD_PERSON_ID },
  { "national_id", FK_FIELD_NATIONAL_ID },
  { "date",        FK_FIELD_DATE },
  { "phone",       FK_FIELD_PHONE },
  { "cert_card",   FK_FIELD_CERT_CARD },
  { "address",     FK_FIELD_ADDRESS },
  { "choice",      FK_FIELD_CHOICE },
};

/* ---------------------------------------------------------------- freeing */

static void
checklist_item_free (gpointer data)
{
  FkChecklistItem *item = data;

  g_free (item->id);
  g_free (item->label_zh);
  g_free (item->label_en);
  g_free (item);
}

static void
field_free (gpointer data)
{
  FkField *field = data;

  g_free (field->key);
  g_free (field->label_zh);
  g_free (field->label_en);
  g_strfreev (field->choices);
  g_strfreev (field->choice_labels_zh);
  g_strfreev (field->choice_labels_en);
  g_free (field);
}

static void
service_free (gpointer data)
{
  FkService *service = data;

  g_free (service->id);
  g_free (service->name_zh);
  g_free (service->name_en);
  g_free (service->time_limit_zh);
  g_free (service->time_limit_en);
  g_clear_pointer (&service->fields, g_ptr_array_unref);
  g_clear_pointer (&service->checklist, g_ptr_array_unref);
  g_free (service);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkService, service_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkField, field_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkChecklistItem, checklist_item_free)

/* ---------------------------------------------------------------- errors */

/* Every complaint names where in the file it is and what is wrong there,
 * then tells the reader what to do about it. */
static gboolean catalog_error (GError     **error,
                               const char  *where,
                               const char  *format,
                               ...) G_GNUC_PRINTF (3, 4);

static gboolean
catalog_error (GError     **error,
               const char  *where,
               const char  *format,
               ...)
{
  g_autofree char *problem = NULL;
  va_list args;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
               _("The service catalog is malformed (%s: %s). Ask the office for a corrected services.json."),
               where, problem);
  return FALSE;
}

static char *
where_service (guint       index,
               const char *id)
{
  if (id != NULL)
    return g_strdup_printf (_("service \"%s\""), id);
  return g_strdup_printf (_("service #%u"), index + 1);
}

static char *
where_part (const char *service_where,
            const char *part,
            guint       index,
            const char *id)
{
  if (id != NULL)
    return g_strdup_printf (_("%s, %s \"%s\""),
                            service_where, part, id);
  return g_strdup_printf (_("%s, %s #%u"),
                          service_where, part, index + 1);
}

/* ---------------------------------------------------------------- JSON access */

static JsonNode *
value_member (JsonObject *object,
              const char *name,
              GType       type)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

/* A non-blank string member, or NULL. */
static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = value_member (object, name, G_TYPE_STRING);
  const char *value;

  if (node == NULL)
    return NULL;
  value = json_node_get_string (node);
  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return value;
  return NULL;
}

static gboolean
require_string (JsonObject  *object,
                const char  *name,
                const char  *where,
                char       **out,
                GError     **error)
{
  const char *value = string_member (object, name);

  if (value == NULL)
    return catalog_error (error, where,
                          _("\"%s\" is missing or is not a non-empty string"),
                          name);
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
require_bool (JsonObject  *object,
              const char  *name,
              const char  *where,
              gboolean    *out,
              GError     **error)
{
  JsonNode *node = value_member (object, name, G_TYPE_BOOLEAN);

  if (node == NULL)
    return catalog_error (error, where,
                          _("\"%s\" is missing or is not true or false"),
                          name);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* An integer member within [min, max]; absent is an error unless `optional`,
 * in which case *out is left alone. */
static gboolean
read_int (JsonObject  *object,
          const char  *name,
          gboolean     optional,
          gint64       min,
          gint64       max,
          const char  *where,
          int         *out,
          GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 value;

  if (node == NULL && optional)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return catalog_error (error, where,
                          _("\"%s\" is missing or is not a whole number"),
                          name);

  value = json_node_get_int (node);
  if (value < 0 && min >= 0)
    return catalog_error (error, where,
                          _("\"%s\" must not be negative, got %" PRId64),
                          name, value);
  if (value < min || value > max)
    return catalog_error (error, where,
                          _("\"%s\" must be between %" PRId64 " and %" PRId64 ", got %" PRId64),
                          name, min, max, value);
  *out = (int) value;
  return TRUE;
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
array_member (JsonObject *object,
              const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
array_object (JsonArray *array,
              guint      index)
{
  JsonNode *node = json_array_get_element (array, index);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* {"zh_TW": "…", "en": "…"}: both languages are mandatory because the
 * office serves both and a blank label is a blank button. */
static gboolean
read_labels (JsonObject  *object,
             const char  *name,
             const char  *where,
             char       **zh,
             char       **en,
             GError     **error)
{
  JsonObject *labels = object_member (object, name);
  g_autofree char *where_labels = NULL;

  if (labels == NULL)
    return catalog_error (error, where,
                          _("\"%s\" is missing; it needs {\"zh_TW\": …, \"en\": …}"),
                          name);

  where_labels = g_strdup_printf ("%s.%s", where, name);
  return require_string (labels, "zh_TW", where_labels, zh, error) &&
         require_string (labels, "en", where_labels, en, error);
}

/* Ids and keys end up in receipts, file names and SQL: keep them plain. */
static gboolean
read_id (JsonObject  *object,
         const char  *name,
         const char  *where,
         char       **out,
         GError     **error)
{
  const char *value = string_member (object, name);

  if (value == NULL)
    return catalog_error (error, where,
                          _("\"%s\" is missing or is not a non-empty string"),
                          name);

  if (strlen (value) > ID_MAX_LENGTH)
    return catalog_error (error, where,
                          _("\"%s\" is longer than %d characters"),
                          name, ID_MAX_LENGTH);

  for (const char *p = value; *p != '\0'; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_'))
      return catalog_error (error, where,
                            _("\"%s\" must use only a–z, 0–9 and _"),
                            name);

  *out = g_strdup (value);
  return TRUE;
}

/* ---------------------------------------------------------------- parsing */

static gboolean
field_type_from_name (const char  *name,
                      FkFieldType *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (field_types); i++)
    {
      if (g_strcmp0 (field_types[i].name, name) == 0)
        {
          *out = field_types[i].type;
          return TRUE;
        }
    }
  return FALSE;
}

/* Types whose values always identify someone; the catalog may not declare
 * them non-personal, or they would be stored in the clear. */
static gboolean
field_type_is_identifying (FkFieldType type)
{
  return type == FK_FIELD_PERSON_ID || type == FK_FIELD_NATIONAL_ID ||
         type == FK_FIELD_PHONE || type == FK_FIELD_CERT_CARD ||
         type == FK_FIELD_ADDRESS;
}

/* "choices": ["lost", …] or [{"value": "lost", "label": {"zh_TW": "遺失",
 * "en": "Lost"}}, …]; a bare string is its own label in both languages. */
static gboolean
read_choices (JsonObject  *object,
              const char  *where,
              FkField     *field,
              GError     **error)
{
  JsonArray *array = array_member (object, "choices");
  g_autoptr(GStrvBuilder) values = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) zh = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) en = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n;

  n = array != NULL ? json_array_get_length (array) : 0;
  if (n == 0)
    return catalog_error (error, where,
                          _("a field of type \"choice\" needs a non-empty \"choices\" array"));

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autofree char *choice = NULL;
      g_autofree char *label_zh = NULL;
      g_autofree char *label_en = NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          g_autofree char *where_choice = g_strdup_printf (_("%s, choice #%u"), where, i + 1);
          JsonObject *item = json_node_get_object (node);

          if (!require_string (item, "value", where_choice, &choice, error) ||
              !read_labels (item, "label", where_choice, &label_zh, &label_en, error))
            return FALSE;
        }
      else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
               *json_node_get_string (node) != '\0')
        {
          choice = g_strdup (json_node_get_string (node));
          label_zh = g_strdup (choice);
          label_en = g_strdup (choice);
        }
      else
        return catalog_error (error, where,
                              _("choice #%u is neither a non-empty string nor {\"value\": …, \"label\": …}"),
                              i + 1);
      if (!g_hash_table_add (seen, g_strdup (choice)))
        return catalog_error (error, where,
                              _("choice \"%s\" is listed twice"),
                              choice);
      g_strv_builder_add (values, choice);
      g_strv_builder_add (zh, label_zh);
      g_strv_builder_add (en, label_en);
    }

  field->choices = g_strv_builder_end (values);
  field->choice_labels_zh = g_strv_builder_end (zh);
  field->choice_labels_en = g_strv_builder_end (en);
  return TRUE;
}

static FkField *
parse_field (JsonObject  *object,
             const char  *service_where,
             guint        index,
             GError     **error)
{
  g_autoptr(FkField) field = g_new0 (FkField, 1);
  g_autofree char *where = NULL;
  const char *type_name;

  where = where_part (service_where, _("field"), index, string_member (object, "key"));

  if (!read_id (object, "key", where, &field->key, error))
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (core_keys); i++)
    if (g_str_equal (field->key, core_keys[i]))
      {
        catalog_error (error, where,
                       _("\"%s\" is recorded for every case already; remove it from \"fields\""),
                       field->key);
        return NULL;
      }

  if (!read_labels (object, "label", where, &field->label_zh, &field->label_en, error))
    return NULL;

  type_name = string_member (object, "type");
  if (type_name == NULL || !field_type_from_name (type_name, &field->type))
    {
      catalog_error (error, where,
                     _("unknown field type \"%s\"; use text, person_id, national_id, date, phone, cert_card, address or choice"),
                     type_name != NULL ? type_name : "");
      return NULL;
    }

  if (!require_bool (object, "required", where, &field->required, error) ||
      !require_bool (object, "personal", where, &field->personal, error))
    return NULL;

  if (field_type_is_identifying (field->type) && !field->personal)
    {
      catalog_error (error, where,
                     _("a field of type \"%s\" identifies a person and must have \"personal\": true"),
                     type_name);
      return NULL;
    }

  if (field->type == FK_FIELD_CHOICE)
    {
      if (!read_choices (object, where, field, error))
        return NULL;
    }
  else if (json_object_has_member (object, "choices"))
    {
      catalog_error (error, where,
                     _("\"choices\" is only allowed for fields of type \"choice\""));
      return NULL;
    }

  return g_steal_pointer (&field);
}

static FkChecklistItem *
parse_checklist_item (JsonObject  *object,
                      const char  *service_where,
                      guint        index,
                      GError     **error)
{
  g_autoptr(FkChecklistItem) item = g_new0 (FkChecklistItem, 1);
  g_autofree char *where = NULL;

  where = where_part (service_where, _("checklist item"), index,
                      string_member (object, "id"));

  if (!read_id (object, "id", where, &item->id, error) ||
      !read_labels (object, "label", where, &item->label_zh, &item->label_en, error) ||
      !require_bool (object, "required", where, &item->required, error))
    return NULL;

  return g_steal_pointer (&item);
}

static gboolean
parse_fields (JsonObject  *object,
              const char  *where,
              FkService   *service,
              GError     **error)
{
  JsonArray *array = array_member (object, "fields");
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  /* An empty list is fine (the core fields suffice), a missing one is a
   * typo: "feilds" must not make a service silently field-less. */
  if (array == NULL)
    return catalog_error (error, where,
                          _("\"fields\" is missing or is not an array (use [] for none)"));

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *member = array_object (array, i);
      FkField *field;

      if (member == NULL)
        {
          g_autofree char *where_field = where_part (where, _("field"), i, NULL);

          return catalog_error (error, where_field,
                                _("not an object"));
        }

      field = parse_field (member, where, i, error);
      if (field == NULL)
        return FALSE;
      g_ptr_array_add (service->fields, field);

      if (!g_hash_table_add (seen, field->key))
        {
          g_autofree char *where_field = where_part (where, _("field"), i, field->key);

          return catalog_error (error, where_field,
                                _("the key \"%s\" appears twice; every key must be unique"),
                                field->key);
        }
    }

  return TRUE;
}

static gboolean
parse_checklist (JsonObject  *object,
                 const char  *where,
                 FkService   *service,
                 GError     **error)
{
  JsonArray *array = array_member (object, "checklist");
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  /* Every service has a 一次告知單; a service without one would let cases be
   * sealed with nothing checked. */
  if (array == NULL || json_array_get_length (array) == 0)
    return catalog_error (error, where,
                          _("\"checklist\" is missing or empty; every service lists the documents it needs"));

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *member = array_object (array, i);
      FkChecklistItem *item;

      if (member == NULL)
        {
          g_autofree char *where_item = where_part (where, _("checklist item"), i, NULL);

          return catalog_error (error, where_item,
                                _("not an object"));
        }

      item = parse_checklist_item (member, where, i, error);
      if (item == NULL)
        return FALSE;
      g_ptr_array_add (service->checklist, item);

      if (!g_hash_table_add (seen, item->id))
        {
          g_autofree char *where_item = where_part (where, _("checklist item"), i, item->id);

          return catalog_error (error, where_item,
                                _("the id \"%s\" appears twice; every id must be unique"),
                                item->id);
        }
    }

  return TRUE;
}

static FkService *
parse_service (JsonObject  *object,
               guint        index,
               GError     **error)
{
  g_autoptr(FkService) service = g_new0 (FkService, 1);
  g_autofree char *where = where_service (index, string_member (object, "id"));
  JsonObject *time_limit;
  JsonObject *age;

  service->age_min = -1;
  service->age_max = -1;
  service->fields = g_ptr_array_new_with_free_func (field_free);
  service->checklist = g_ptr_array_new_with_free_func (checklist_item_free);

  if (!read_id (object, "id", where, &service->id, error) ||
      !read_labels (object, "name", where, &service->name_zh, &service->name_en, error) ||
      !read_int (object, "fee", FALSE, 0, FEE_MAX, where, &service->fee, error))
    return NULL;

  time_limit = object_member (object, "time_limit");
  if (time_limit == NULL)
    {
      catalog_error (error, where,
                     _("\"time_limit\" is missing; it needs {\"days\": …, \"zh_TW\": …, \"en\": …}"));
      return NULL;
    }
  {
    g_autofree char *where_limit = g_strdup_printf ("%s.time_limit", where);

    if (!read_int (time_limit, "days", FALSE, 0, DAYS_MAX, where_limit, &service->time_limit_days, error) ||
        !require_string (time_limit, "zh_TW", where_limit, &service->time_limit_zh, error) ||
        !require_string (time_limit, "en", where_limit, &service->time_limit_en, error))
      return NULL;
  }

  if (!require_bool (object, "second_check", where, &service->second_check, error))
    return NULL;
  /* Optional: services whose receiver must sign on the screen. */
  if (json_object_has_member (object, "signature_required") &&
      !require_bool (object, "signature_required", where, &service->signature_required, error))
    return NULL;

  /* Age limits are optional, and each bound on its own is too. */
  if (json_object_has_member (object, "age"))
    {
      g_autofree char *where_age = g_strdup_printf ("%s.age", where);

      age = object_member (object, "age");
      if (age == NULL)
        {
          catalog_error (error, where,
                         _("\"age\" must be an object such as {\"min\": 14}"));
          return NULL;
        }
      if (!read_int (age, "min", TRUE, 0, AGE_MAX, where_age, &service->age_min, error) ||
          !read_int (age, "max", TRUE, 0, AGE_MAX, where_age, &service->age_max, error))
        return NULL;
      if (service->age_min >= 0 && service->age_max >= 0 && service->age_min > service->age_max)
        {
          catalog_error (error, where_age,
                         _("\"min\" (%d) is greater than \"max\" (%d)"),
                         service->age_min, service->age_max);
          return NULL;
        }
    }

  if (!parse_fields (object, where, service, error) ||
      !parse_checklist (object, where, service, error))
    return NULL;

  return g_steal_pointer (&service);
}

static FkCatalog *
parse_catalog (JsonNode  *root,
               GError   **error)
{
  g_autoptr(FkCatalog) catalog = g_new0 (FkCatalog, 1);
  const char *where = _("top level");
  JsonObject *object;
  JsonArray *services;

  catalog->services = g_ptr_array_new_with_free_func (service_free);
  catalog->by_id = g_hash_table_new (g_str_hash, g_str_equal);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      catalog_error (error, where, _("the file is not a JSON object"));
      return NULL;
    }
  object = json_node_get_object (root);

  if (!read_int (object, "version", FALSE, 1, G_MAXINT, where, &catalog->version, error))
    return NULL;

  services = array_member (object, "services");
  if (services == NULL || json_array_get_length (services) == 0)
    {
      catalog_error (error, where,
                     _("\"services\" is missing or empty"));
      return NULL;
    }

  for (guint i = 0; i < json_array_get_length (services); i++)
    {
      JsonObject *member = array_object (services, i);
      FkService *service;

      if (member == NULL)
        {
          g_autofree char *where_member = where_service (i, NULL);

          catalog_error (error, where_member, _("not an object"));
          return NULL;
        }

      service = parse_service (member, i, error);
      if (service == NULL)
        return NULL;
      g_ptr_array_add (catalog->services, service);

      if (!g_hash_table_insert (catalog->by_id, service->id, service))
        {
          g_autofree char *where_member = where_service (i, service->id);

          catalog_error (error, where_member,
                         _("the id \"%s\" appears twice; every service id must be unique"),
                         service->id);
          return NULL;
        }
    }

  return g_steal_pointer (&catalog);
}

/* ---------------------------------------------------------------- field values */

/* Trims Unicode spaces too: the ideographic space U+3000 is what a Chinese
 * input method types. */
static char *
trim (const char *value)
{
  const char *start = value;
  const char *end = value + strlen (value);

  while (*start != '\0' && g_unichar_isspace (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);
  while (end > start)
    {
      const char *prev = g_utf8_prev_char (end);

      if (!g_unichar_isspace (g_utf8_get_char (prev)))
        break;
      end = prev;
    }

  return g_strndup (start, end - start);
}

static gboolean
check_text (const char  *value,
            gboolean     allow_newlines,
            glong        max_chars,
            GError     **error)
{
  glong n_chars = g_utf8_strlen (value, -1);

  if (n_chars > max_chars)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_RANGE,
                   _("too long: at most %ld characters, got %ld; shorten it."),
                   max_chars, n_chars);
      return FALSE;
    }

  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) && !(allow_newlines && (c == '\n' || c == '\t')))
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                       allow_newlines
                       ? _("contains a control character; retype it.")
                       : _("must be on one line; remove line breaks and tabs."));
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
check_choice (const FkField  *field,
              const char     *value,
              GError        **error)
{
  g_autofree char *allowed = NULL;

  if (g_strv_contains ((const char * const *) field->choices, value))
    return TRUE;

  allowed = g_strjoinv (", ", field->choices);
  g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_RANGE,
               _("not one of the allowed values; choose one of: %s."),
               allowed);
  return FALSE;
}

/* ---------------------------------------------------------------- public API */

FkCatalog *
fk_catalog_load_bytes (GBytes  *json,
                       GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize size = 0;
  const char *data;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (json, &size);
  if (size > CATALOG_MAX_BYTES)
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("The service catalog is %" "zu" " bytes, more than the %d a catalog can be; it is not a catalog. Ask the office for the correct services.json."),
                   size, CATALOG_MAX_BYTES);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, size > 0 ? data : "", (gssize) size, &local_error))
    {
      g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_FORMAT,
                   _("The service catalog is not valid JSON (%s). Ask the office for a corrected services.json."),
                   local_error->message);
      return NULL;
    }

  return parse_catalog (json_parser_get_root (parser), error);
}

FkCatalog *
fk_catalog_load_file (const char  *path,
                      GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, error))
    {
      g_prefix_error (error,
                      _("Cannot read the service catalog; reinstall FieldKit or set FIELDKIT_DATA_DIR to the folder holding services.json: "));
      return NULL;
    }

  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  return fk_catalog_load_bytes (bytes, error);
}

FkCatalog *
fk_catalog_load_default (GError **error)
{
  const char *dir = g_getenv ("FIELDKIT_DATA_DIR");
  g_autofree char *path = NULL;

  if (dir == NULL || *dir == '\0')
    dir = FK_DATADIR;
  path = g_build_filename (dir, "services.json", NULL);

  return fk_catalog_load_file (path, error);
}

void
fk_catalog_free (FkCatalog *catalog)
{
  if (catalog == NULL)
    return;

  /* by_id borrows from services, so it goes first. */
  g_clear_pointer (&catalog->by_id, g_hash_table_unref);
  g_clear_pointer (&catalog->services, g_ptr_array_unref);
  g_free (catalog);
}

int
fk_catalog_version (const FkCatalog *catalog)
{
  g_return_val_if_fail (catalog != NULL, 0);

  return catalog->version;
}

const FkService *
fk_catalog_lookup (const FkCatalog *catalog,
                   const char      *service_id)
{
  g_return_val_if_fail (catalog != NULL, NULL);

  if (service_id == NULL)
    return NULL;
  return g_hash_table_lookup (catalog->by_id, service_id);
}

GPtrArray *
fk_catalog_services (const FkCatalog *catalog)
{
  g_return_val_if_fail (catalog != NULL, NULL);

  return catalog->services;
}

const char *
fk_service_name (const FkService *service)
{
  g_return_val_if_fail (service != NULL, NULL);

  return fk_lang_pick (service->name_en, service->name_zh);
}

const char *
fk_service_time_limit (const FkService *service)
{
  g_return_val_if_fail (service != NULL, NULL);

  return fk_lang_pick (service->time_limit_en, service->time_limit_zh);
}

const char *
fk_field_label (const FkField *field)
{
  g_return_val_if_fail (field != NULL, NULL);

  return fk_lang_pick (field->label_en, field->label_zh);
}

const char *
fk_checklist_item_label (const FkChecklistItem *item)
{
  g_return_val_if_fail (item != NULL, NULL);

  return fk_lang_pick (item->label_en, item->label_zh);
}

const FkField *
fk_service_field (const FkService *service,
                  const char      *key)
{
  g_return_val_if_fail (service != NULL, NULL);

  for (guint i = 0; key != NULL && i < service->fields->len; i++)
    {
      const FkField *field = g_ptr_array_index (service->fields, i);

      if (g_str_equal (field->key, key))
        return field;
    }
  return NULL;
}

const char *
fk_field_choice_label (const FkField *field,
                       const char    *value)
{
  g_return_val_if_fail (field != NULL, NULL);

  for (guint i = 0; value != NULL && field->choices != NULL && field->choices[i] != NULL; i++)
    if (g_str_equal (field->choices[i], value))
      return fk_lang_pick (field->choice_labels_en[i], field->choice_labels_zh[i]);
  return value;
}

const FkChecklistItem *
fk_service_checklist_item (const FkService *service,
                           const char      *item_id)
{
  g_return_val_if_fail (service != NULL, NULL);

  for (guint i = 0; item_id != NULL && i < service->checklist->len; i++)
    {
      const FkChecklistItem *item = g_ptr_array_index (service->checklist, i);

      if (g_str_equal (item->id, item_id))
        return item;
    }
  return NULL;
}

gboolean
fk_field_validate (const FkField  *field,
                   const char     *value,
                   char          **normalized,
                   GError        **error)
{
  g_autofree char *valid = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *result = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  valid = g_utf8_make_valid (value != NULL ? value : "", -1);
  trimmed = trim (valid);

  if (*trimmed == '\0')
    {
      if (field->required)
        {
          g_set_error (error, FK_VALIDATE_ERROR, FK_VALIDATE_ERROR_EMPTY,
                       _("%s is required; fill it in before saving."),
                       fk_field_label (field));
          return FALSE;
        }
      if (normalized != NULL)
        *normalized = g_strdup ("");
      return TRUE;
    }

  switch (field->type)
    {
    case FK_FIELD_TEXT:
      ok = check_text (trimmed, TRUE, TEXT_MAX_CHARS, error);
      result = ok ? g_steal_pointer (&trimmed) : NULL;
      break;

    case FK_FIELD_ADDRESS:
      ok = check_text (trimmed, FALSE, ADDRESS_MAX_CHARS, error);
      result = ok ? g_steal_pointer (&trimmed) : NULL;
      break;

    case FK_FIELD_CHOICE:
      ok = check_choice (field, trimmed, error);
      result = ok ? g_steal_pointer (&trimmed) : NULL;
      break;

    case FK_FIELD_PERSON_ID:
      ok = fk_person_id_check (trimmed, NULL, &result, error);
      break;

    case FK_FIELD_NATIONAL_ID:
      ok = fk_national_id_check (trimmed, &result, error);
      break;

    case FK_FIELD_PHONE:
      ok = fk_phone_check (trimmed, &result, error);
      break;

    case FK_FIELD_CERT_CARD:
      ok = fk_cert_card_check (trimmed, &result, error);
      break;

    case FK_FIELD_DATE:
      {
        GDate date;

        ok = fk_date_parse (trimmed, &date, error);
        result = ok ? fk_date_to_iso (&date) : NULL;
      }
      break;

    default:
      g_return_val_if_reached (FALSE);
    }

  if (!ok)
    {
      g_prefix_error (error, _("%s: "), fk_field_label (field));
      return FALSE;
    }

  if (normalized != NULL)
    *normalized = g_steal_pointer (&result);
  return TRUE;
}
