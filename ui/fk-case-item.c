/* fk-case-item.c — see fk-case-item.h. */
#include "ui/fk-case-item.h"

#include <string.h>

#include "crypto/fk-crypto.h"

/* ---- types -------------------------------------------------------------------- */

struct _FkCaseItem
{
  GObject       parent_instance;

  gint64        id;
  FkCaseStatus  status;
  char         *receipt;
  char         *service;
  char         *name;
  char         *folded_name;   /* for the search as you type */
};

enum {
  PROP_0,
  PROP_ID,
  PROP_STATUS,
  PROP_RECEIPT,
  PROP_SERVICE,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FkCaseItem, fk_case_item, G_TYPE_OBJECT)

/* ---- helpers ------------------------------------------------------------------ */

/* ---- overrides ---------------------------------------------------------------- */

static void
fk_case_item_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FkCaseItem *self = FK_CASE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_int64 (value, self->id); break;
    case PROP_STATUS: g_value_set_int (value, self->status); break;
    case PROP_RECEIPT: g_value_set_string (value, self->receipt); break;
    case PROP_SERVICE: g_value_set_string (value, self->service); break;
    case PROP_NAME: g_value_set_string (value, self->name); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fk_case_item_finalize (GObject *object)
{
  FkCaseItem *self = FK_CASE_ITEM (object);

  g_free (self->receipt);
  g_free (self->service);
  fk_wipe_free (self->name);
  fk_wipe_free (self->folded_name);
  G_OBJECT_CLASS (fk_case_item_parent_class)->finalize (object);
}

/* ---- class_init / init -------------------------------------------------------- */

static void
fk_case_item_class_init (FkCaseItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = fk_case_item_get_property;
  object_class->finalize = fk_case_item_finalize;

  properties[PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_STATUS] = g_param_spec_int ("status", NULL, NULL, FK_CASE_DRAFT, FK_CASE_CLOSED, FK_CASE_DRAFT, flags);
  properties[PROP_RECEIPT] = g_param_spec_string ("receipt", NULL, NULL, NULL, flags);
  properties[PROP_SERVICE] = g_param_spec_string ("service", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
fk_case_item_init (FkCaseItem *self)
{
}

/* ---- public API --------------------------------------------------------------- */

FkCaseItem *
fk_case_item_new (gint64        id,
                  FkCaseStatus  status,
                  const char   *receipt_no,
                  const char   *service,
                  const char   *name)
{
  FkCaseItem *self = g_object_new (FK_TYPE_CASE_ITEM, NULL);

  self->id = id;
  self->status = status;
  self->receipt = g_strdup (receipt_no);
  self->service = g_strdup (service);
  self->name = g_strdup (name);
  self->folded_name = name ? g_utf8_casefold (name, -1) : NULL;
  return self;
}

FkCaseItem *
fk_case_item_new_from_case (const FkCase *kase)
{
  return fk_case_item_new (kase->id, kase->status, kase->receipt_no, kase->service, kase->name);
}

gint64
fk_case_item_get_id (FkCaseItem *self)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), 0);
  return self->id;
}

FkCaseStatus
fk_case_item_get_status (FkCaseItem *self)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), FK_CASE_DRAFT);
  return self->status;
}

const char *
fk_case_item_get_receipt (FkCaseItem *self)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), NULL);
  return self->receipt;
}

const char *
fk_case_item_get_service (FkCaseItem *self)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), NULL);
  return self->service;
}

const char *
fk_case_item_get_name (FkCaseItem *self)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), NULL);
  return self->name;
}

/* strstr for the short strings of a case (a name, a receipt number): it
 * runs for every case on every keystroke, and glibc's vectorised strstr
 * takes longer to set up than a name takes to scan (bench-ui-search, 100,000
 * names: a pass of the filter went from about 25 ms to 10 ms).  Bytes of
 * UTF-8, like strstr. */
static gboolean
short_contains (const char *haystack,
                const char *needle)
{
  size_t n = strlen (needle);

  if (n == 0)
    return TRUE;
  for (const char *p = haystack; (p = strchr (p, needle[0])) != NULL; p++)
    if (strncmp (p, needle, n) == 0)
      return TRUE;
  return FALSE;
}

gboolean
fk_case_item_name_matches (FkCaseItem *self,
                           const char *folded_needle)
{
  g_return_val_if_fail (FK_IS_CASE_ITEM (self), FALSE);
  return self->folded_name != NULL && short_contains (self->folded_name, folded_needle);
}

gboolean
fk_case_item_receipt_matches (FkCaseItem *self,
                              const char *folded_needle)
{
  size_t n = strlen (folded_needle);

  g_return_val_if_fail (FK_IS_CASE_ITEM (self), FALSE);
  if (self->receipt == NULL)
    return FALSE;
  /* Receipt numbers are ASCII ("TCN-03-1151126-0001"); the needle is
   * case-folded, so compare without case. */
  for (const char *p = self->receipt; *p; p++)
    if (g_ascii_strncasecmp (p, folded_needle, n) == 0)
      return TRUE;
  return n == 0;
}
