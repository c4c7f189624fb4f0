/* fk-catalog.h — the service catalog (業務目錄): reference data.
 *
 * What each service costs, how long the office may take, which documents the
 * applicant must bring (一次告知單), which extra fields a case records and
 * whether a second operator must re-check it (複核).  The office updates it
 * from time to time, so it is data (data/services.json), not code, and it is
 * checked strictly when loaded: a catalog with a hole in it would let a case
 * be sealed without a document or a field.
 *
 * Every service implicitly records the core person fields person_id, name
 * and birth_date (the store handles them); `fields` lists only the extras.
 *
 * Everything is read-only after loading and owned by the catalog.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char     *id;
  char     *label_zh;
  char     *label_en;
  gboolean  required;   /* FALSE: needed only in some situations (a proxy, a minor); the clerk decides */
} FkChecklistItem;

typedef enum {
  FK_FIELD_TEXT,
  FK_FIELD_PERSON_ID,    /* national ID or resident number */
  FK_FIELD_NATIONAL_ID,  /* national ID only */
  FK_FIELD_DATE,
  FK_FIELD_PHONE,
  FK_FIELD_CERT_CARD,
  FK_FIELD_ADDRESS,
  FK_FIELD_CHOICE,
} FkFieldType;

typedef struct {
  char        *key;
  char        *label_zh;
  char        *label_en;
  FkFieldType  type;
  gboolean     required;
  gboolean     personal;  /* identifies a person: stored encrypted, never in open data */
  GStrv        choices;   /* FK_FIELD_CHOICE only; NULL otherwise: the stored values */
  GStrv        choice_labels_zh; /* same length as choices: what the clerk reads */
  GStrv        choice_labels_en;
} FkField;

typedef struct {
  char      *id;
  char      *name_zh;
  char      *name_en;
  int        fee;               /* NT$, whole dollars */
  int        time_limit_days;   /* 處理時限; 0 = the same day */
  char      *time_limit_zh;
  char      *time_limit_en;
  gboolean   second_check;      /* a second operator must approve before sealing */

  gboolean   signature_required;  /* the receiver signs (e.g. card hand-over) */
  int        age_min;           /* -1 when none */
  int        age_max;           /* -1 when none */
  GPtrArray *fields;            /* FkField*, catalog order */
  GPtrArray *checklist;         /* FkChecklistItem*, catalog order */
} FkService;

typedef struct _FkCatalog FkCatalog;

/* Malformed catalogs fail with FK_VALIDATE_ERROR_FORMAT and a message that
 * names the service and key at fault. */
FkCatalog             *fk_catalog_load_file        (const char       *path,
                                                    GError          **error);
FkCatalog             *fk_catalog_load_bytes       (GBytes           *json,
                                                    GError          **error);
/* services.json in $FIELDKIT_DATA_DIR if set, else in FK_DATADIR (the
 * compile-time data directory defined by meson). */
FkCatalog             *fk_catalog_load_default     (GError          **error);
void                   fk_catalog_free             (FkCatalog        *catalog);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FkCatalog, fk_catalog_free)

/* The catalog's "version": the office raises it with every update so a
 * device can tell whether reference data it receives is newer. */
int                    fk_catalog_version          (const FkCatalog  *catalog);
/* NULL when the catalog has no such service. */
const FkService       *fk_catalog_lookup           (const FkCatalog  *catalog,
                                                    const char       *service_id);
/* FkService*, in catalog order, owned by the catalog. */
GPtrArray             *fk_catalog_services         (const FkCatalog  *catalog);

/* Names and labels in the current language (crypto/fk-i18n.h). */
const char            *fk_service_name             (const FkService  *service);
const char            *fk_service_time_limit       (const FkService  *service);
const char            *fk_field_label              (const FkField    *field);
/* The label of choice value in the current language (value itself when the
 * value is not one of the field's choices). */
const char            *fk_field_choice_label       (const FkField    *field,
                                                    const char       *value);
const char            *fk_checklist_item_label     (const FkChecklistItem *item);

/* NULL when the service has no such extra field / checklist item. */
const FkField         *fk_service_field            (const FkService  *service,
                                                    const char       *key);
const FkChecklistItem *fk_service_checklist_item   (const FkService  *service,
                                                    const char       *item_id);

/* Validates one value for a field by its type (fk-validate.h, fk-date.h)
 * and sets *normalized (may be NULL): IDs and phones in canonical form,
 * dates as ISO 8601, text trimmed.  An empty value passes (as "") only when
 * the field is optional.  Errors are prefixed with the field's label. */
gboolean               fk_field_validate           (const FkField    *field,
                                                    const char       *value,
                                                    char            **normalized,
                                                    GError          **error);

G_END_DECLS
