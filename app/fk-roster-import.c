/* fk-roster-import.c — checking a roster against the store and importing
 * it as draft cases, see fk-roster.h.
 *
 * The rules are here, not in the window or the command line: whoever
 * imports a roster gets the same checks, the same order and the same
 * all-or-nothing behaviour.
 */
#include "app/fk-roster-private.h"

#include <string.h>

#include "app/fk-catalog.h"
#include "app/fk-date.h"
#include "crypto/fk-i18n.h"

#define DEFAULT_SERVICE "id_card_first"

/* ---------------------------------------------------------------- helpers */

static const FkService *
find_service (FkStore     *store,
              const char  *service_id,
              GError     **error)
{
  const FkCatalog *catalog = fk_store_catalog (store);
  const FkService *svc;

  if (service_id == NULL)
    service_id = DEFAULT_SERVICE;
  svc = catalog ? fk_catalog_lookup (catalog, service_id) : NULL;
  if (svc == NULL)
    {
      GPtrArray *all = catalog ? fk_catalog_services (catalog) : NULL;
      g_autoptr(GString) known = g_string_new (NULL);

      for (guint i = 0; all != NULL && i < all->len; i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", ((FkService *) all->pdata[i])->id);
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                   _("Unknown service \"%s\". Use one of: %s."),
                   service_id, known->str);
    }
  return svc;
}

/* The outing, which must be a school drive, and its date. */
static FkOuting *
school_outing (FkStore     *store,
               const char  *outing_id,
               GDate       *date,
               GError     **error)
{
  g_autoptr(FkOuting) outing = fk_store_outing_get (store, outing_id, error);

  if (outing == NULL)
    return NULL;
  if (g_strcmp0 (outing->kind, "school_drive") != 0)
    {
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_OUTING,
                   _("Outing %s is a %s, not a school drive; class rosters go into a school-drive outing. Create one with \"outing new --kind school_drive\"."),
                   outing->id, fk_outing_kind_label (outing->kind));
      return NULL;
    }
  if (!fk_date_parse (outing->date, date, NULL))
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_DAMAGED,
                   _("Outing %s has no readable date."), outing->id);
      return NULL;
    }
  return g_steal_pointer (&outing);
}

static char *
age_range_text (const FkService *svc)
{
  if (svc->age_min >= 0 && svc->age_max >= 0)
    return g_strdup_printf (_("%d to %d"), svc->age_min, svc->age_max);
  if (svc->age_min >= 0)
    return g_strdup_printf (_("%d or older"), svc->age_min);
  return g_strdup_printf (_("%d or younger"), svc->age_max);
}

static void
check_age (FkRosterRow     *row,
           const FkService *svc,
           const GDate     *on)
{
  GDate birth;
  int age;

  if (row->birth_date == NULL || !fk_date_parse (row->birth_date, &birth, NULL))
    return;
  age = fk_date_age_on (&birth, on);
  if (age < 0)
    {
      _fk_roster_row_add_problem (row, FK_ROSTER_AGE,
                                  g_strdup (_("Born after the drive's date; check the birth date with the school.")));
      return;
    }
  if ((svc->age_min >= 0 && age < svc->age_min) || (svc->age_max >= 0 && age > svc->age_max))
    {
      g_autofree char *range = age_range_text (svc);

      _fk_roster_row_add_problem (row, FK_ROSTER_AGE,
                                  g_strdup_printf (_("Age %d on the drive's date; %s is for ages %s."),
                                                   age, fk_service_name (svc), range));
      return;
    }
  if (age < FK_ROSTER_SCHOOL_AGE_MIN || age > FK_ROSTER_SCHOOL_AGE_MAX)
    _fk_roster_row_add_problem (row, FK_ROSTER_AGE,
                                g_strdup_printf (_("Age %d on the drive's date is not a junior-high student's age (%d to %d); check the birth date with the school."),
                                                 age, FK_ROSTER_SCHOOL_AGE_MIN, FK_ROSTER_SCHOOL_AGE_MAX));
}

/* The outing's cases by the person's ID number, read in one go: cheaper
 * than a lookup per row when the outing holds about as many cases as the
 * roster has rows (a second import of the same list).  NULL when a case's
 * person record does not open: then only the blind index can tell. */
static GHashTable *
outing_people (FkStore         *store,
               const FkOuting  *outing,
               GError         **error)
{
  g_autoptr(GPtrArray) cases = fk_store_cases (store, outing->id, NULL, error);
  g_autoptr(GHashTable) people = NULL;

  if (cases == NULL)
    return NULL;
  people = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < cases->len; i++)
    {
      const FkCase *kase = cases->pdata[i];

      if (kase->damaged != NULL || kase->person_id == NULL)
        return NULL;
      if (!g_hash_table_contains (people, kase->person_id))
        g_hash_table_insert (people, g_strdup (kase->person_id), GSIZE_TO_POINTER ((gsize) kase->id));
    }
  return g_steal_pointer (&people);
}

static void
already_in_outing (FkRosterRow *row,
                   gint64       case_id)
{
  _fk_roster_row_add_problem (row, FK_ROSTER_ALREADY_IN_OUTING,
                              g_strdup_printf (_("Already has case %" PRId64 " in this outing."),
                                               case_id));
}

/* Whether the outing already has a case for this row's ID number: the
 * blind index finds the person's cases, their outing says where. */
static gboolean
check_in_outing (FkRosterRow     *row,
                 FkStore         *store,
                 const FkOuting  *outing,
                 GError         **error)
{
  g_autoptr(GArray) ids = NULL;

  if (*row->national_id == '\0')
    return TRUE;
  ids = fk_store_find (store, row->national_id, error);
  if (ids == NULL)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      gint64 id = g_array_index (ids, gint64, i);
      g_autoptr(FkCase) kase = fk_store_case_get (store, id, error);

      if (kase == NULL)
        return FALSE;
      if (g_strcmp0 (kase->outing_id, outing->id) == 0)
        {
          already_in_outing (row, id);
          break;
        }
    }
  return TRUE;
}

static void
report_fill (FkRoster       *roster,
             FkRosterReport *out)
{
  out->rows = roster->rows->len;
  out->refused = 0;
  if (out->case_ids == NULL)
    out->case_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (out->refused_rows == NULL)
    out->refused_rows = g_ptr_array_new ();
  g_array_set_size (out->case_ids, 0);
  g_ptr_array_set_size (out->refused_rows, 0);
  for (guint i = 0; i < roster->rows->len; i++)
    {
      FkRosterRow *row = roster->rows->pdata[i];

      if (row->problems->len > 0)
        g_ptr_array_add (out->refused_rows, row);
    }
  out->refused = out->refused_rows->len;
  out->taken = out->rows - out->refused;
}

/* Leading number of a class or seat ("12", "012", "12a"), or -1. */
static gint64
leading_number (const char *s)
{
  if (!g_ascii_isdigit (*s))
    return -1;
  return g_ascii_strtoll (s, NULL, 10);
}

/* Class, then seat, numbers by value (seat 2 before seat 10); rows the
 * school numbered alike keep their file order. */
static int
compare_rows (gconstpointer a,
              gconstpointer b)
{
  const FkRosterRow *ra = *(const FkRosterRow * const *) a;
  const FkRosterRow *rb = *(const FkRosterRow * const *) b;
  const char *keys_a[2] = { ra->school_class, ra->seat };
  const char *keys_b[2] = { rb->school_class, rb->seat };

  for (guint k = 0; k < 2; k++)
    {
      gint64 na = leading_number (keys_a[k]);
      gint64 nb = leading_number (keys_b[k]);
      int c;

      /* Numbered before unnumbered; an empty key last. */
      if ((*keys_a[k] == '\0') != (*keys_b[k] == '\0'))
        return *keys_a[k] == '\0' ? 1 : -1;
      if ((na >= 0) != (nb >= 0))
        return na >= 0 ? -1 : 1;
      if (na != nb)
        return na < nb ? -1 : 1;
      c = strcmp (keys_a[k], keys_b[k]);
      if (c != 0)
        return c;
    }
  return ra->number < rb->number ? -1 : ra->number > rb->number;
}

static void
add_field (GHashTable      *fields,
           const FkService *svc,
           const char      *key,
           const char      *value)
{
  if (value != NULL && *value != '\0' && fk_service_field (svc, key) != NULL)
    g_hash_table_insert (fields, (gpointer) key, (gpointer) value);
}

static gint64
save_row (FkStore            *store,
          const FkRosterRow  *row,
          const char         *outing_id,
          const FkService    *svc,
          GError            **error)
{
  g_autoptr(GHashTable) fields = g_hash_table_new (g_str_hash, g_str_equal);
  FkCaseInput in = { 0 };

  add_field (fields, svc, "guardian_name", row->guardian);
  add_field (fields, svc, "phone", row->phone);
  add_field (fields, svc, "school_class", row->school_class);
  add_field (fields, svc, "seat_number", row->seat);
  in.outing_id = outing_id;
  in.service = svc->id;
  in.person_id = row->national_id;
  in.name = row->name;
  in.birth_date = row->birth_date;
  in.fields = fields;
  return fk_store_case_new (store, &in, error);
}

/* ---------------------------------------------------------------- public API */

gboolean
fk_roster_check (FkRoster    *roster,
                 FkStore     *store,
                 const char  *outing_id,
                 const char  *service_id,
                 GError     **error)
{
  g_autoptr(FkOuting) outing = NULL;
  g_autoptr(GHashTable) people = NULL;
  const FkService *svc;
  GDate on;

  g_return_val_if_fail (roster != NULL, FALSE);
  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  svc = find_service (store, service_id, error);
  if (svc == NULL)
    return FALSE;
  outing = school_outing (store, outing_id, &on, error);
  if (outing == NULL)
    return FALSE;
  if (outing->n_cases > 0 && outing->n_cases <= 2 * roster->rows->len)
    {
      g_autoptr(GError) local = NULL;

      people = outing_people (store, outing, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }

  for (guint i = 0; i < roster->rows->len; i++)
    {
      FkRosterRow *row = roster->rows->pdata[i];

      _fk_roster_row_remove_problems (row, FK_ROSTER_ALREADY_IN_OUTING);
      _fk_roster_row_remove_problems (row, FK_ROSTER_AGE);
      _fk_roster_row_remove_problems (row, FK_ROSTER_REFUSED);
      row->case_id = 0;
      /* An outing without cases (the first class imported) has no one to
       * look up; one that holds about as many as the roster is read once
       * (people); otherwise each student is looked up by blind index. */
      if (people != NULL)
        {
          gpointer id = g_hash_table_lookup (people, row->national_id);

          if (id != NULL)
            already_in_outing (row, (gint64) GPOINTER_TO_SIZE (id));
        }
      else if (outing->n_cases > 0 && !check_in_outing (row, store, outing, error))
        return FALSE;
      check_age (row, svc, &on);
    }
  return TRUE;
}

void
fk_roster_report_clear (FkRosterReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->case_ids, g_array_unref);
  g_clear_pointer (&report->refused_rows, g_ptr_array_unref);
  report->rows = report->taken = report->refused = 0;
}

gboolean
fk_roster_preview (FkRoster        *roster,
                   FkStore         *store,
                   const char      *outing_id,
                   const char      *service_id,
                   FkRosterReport  *out,
                   GError         **error)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (!fk_roster_check (roster, store, outing_id, service_id, error))
    return FALSE;
  report_fill (roster, out);
  return TRUE;
}

gboolean
fk_roster_import (FkRoster        *roster,
                  FkStore         *store,
                  const char      *outing_id,
                  const char      *service_id,
                  gboolean         all_or_nothing,
                  FkRosterReport  *out,
                  GError         **error)
{
  g_autoptr(GPtrArray) order = NULL;
  g_autoptr(FkOuting) outing = NULL;
  g_autoptr(GError) failure = NULL;
  const FkService *svc;
  GDate on;

  g_return_val_if_fail (roster != NULL, FALSE);
  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  svc = find_service (store, service_id, error);
  if (svc == NULL)
    return FALSE;

  /* The check runs inside the batch, which holds the store's write lock:
   * no other process can add a case for one of these students between the
   * check and the import. */
  if (!fk_store_begin_batch (store, error))
    return FALSE;
  if (!fk_roster_check (roster, store, outing_id, service_id, error) ||
      (outing = school_outing (store, outing_id, &on, error)) == NULL)
    {
      fk_store_end_batch (store, FALSE, NULL);
      return FALSE;
    }

  report_fill (roster, out);
  if (all_or_nothing && out->refused > 0)
    {
      fk_store_end_batch (store, FALSE, NULL);
      out->taken = 0;
      g_set_error (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED,
                   _("%u of %u rows have problems, and the roster was to be taken whole or not at all: nothing was imported."),
                   out->refused, out->rows);
      return FALSE;
    }

  order = g_ptr_array_new ();
  for (guint i = 0; i < roster->rows->len; i++)
    if (((FkRosterRow *) roster->rows->pdata[i])->problems->len == 0)
      g_ptr_array_add (order, roster->rows->pdata[i]);
  g_ptr_array_sort (order, compare_rows);

  for (guint i = 0; i < order->len; i++)
    {
      FkRosterRow *row = order->pdata[i];
      g_autoptr(GError) local = NULL;
      gint64 id = save_row (store, row, outing->id, svc, &local);

      if (id > 0)
        {
          row->case_id = id;
          g_array_append_val (out->case_ids, id);
          continue;
        }
      /* A value the store refuses (a rule this reader does not know yet)
       * refuses that row; anything else (disk full, the store cancelled
       * the batch) stops the import and nothing of it is saved. */
      if (g_error_matches (local, FK_STORE_ERROR, FK_STORE_ERROR_INVALID))
        {
          _fk_roster_row_add_problem (row, FK_ROSTER_REFUSED, g_strdup (local->message));
          if (!all_or_nothing)
            continue;
          g_set_error (&failure, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED,
                       _("Line %u was refused (%s), and the roster was to be taken whole or not at all: nothing was imported."),
                       row->line, local->message);
        }
      else
        failure = g_steal_pointer (&local);
      break;
    }

  /* If the commit itself fails, the cases made above do not exist either. */
  if (failure != NULL)
    fk_store_end_batch (store, FALSE, NULL);
  else
    fk_store_end_batch (store, TRUE, &failure);

  if (failure != NULL)
    {
      for (guint i = 0; i < roster->rows->len; i++)
        ((FkRosterRow *) roster->rows->pdata[i])->case_id = 0;
      report_fill (roster, out);
      out->taken = 0;
      g_propagate_error (error, g_steal_pointer (&failure));
      return FALSE;
    }

  report_fill (roster, out);
  for (guint i = 0; i < order->len; i++)
    {
      gint64 id = ((FkRosterRow *) order->pdata[i])->case_id;

      if (id > 0)
        g_array_append_val (out->case_ids, id);
    }
  out->taken = out->case_ids->len;
  return TRUE;
}
