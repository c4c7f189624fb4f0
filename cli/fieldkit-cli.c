/* fieldkit-cli — the command-line front of FieldKit (DESIGN.md §9).
 *
 * Layout: opening the store, output (error names, times), one function per
 * command, the command table and the program's description for
 * fk_cli_main (app/fk-args.c: arguments, passphrases, output, exit codes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "app/fk-args.h"
#include "app/fk-audit.h"
#include "app/fk-catalog.h"
#include "app/fk-class-summary.h"
#include "app/fk-date.h"
#include "app/fk-receipt.h"
#include "app/fk-roster.h"
#include "app/fk-store.h"
#include "app/fk-validate.h"
#include "sync/fk-sync.h"
#include "crypto/fk-crypto.h"
#include "crypto/fk-i18n.h"
#include "crypto/fk-passphrase.h"
#include "crypto/fk-vault.h"

/* ---- the store ----------------------------------------------------------------- */

static char *
data_dir (const FkArgs *args)
{
  const char *d = fk_args_opt (args, "data-dir");

  return d ? g_strdup (d) : fk_store_default_dir ();
}

static FkStore *
open_store (const FkArgs  *args,
            GError       **error)
{
  g_autofree char *dir = data_dir (args);

  return fk_store_open (dir, error);
}

/* Opens and unlocks as --operator, or as the only operator. */
static FkStore *
open_unlocked (const FkArgs  *args,
               GError       **error)
{
  g_autoptr(FkStore) store = open_store (args, error);
  g_auto(FkPassphrase) pass = NULL;
  g_autofree char *sole = NULL;
  const char *op;

  if (store == NULL)
    return NULL;
  if (!fk_store_is_initialized (store))
    {
      g_set_error (error, FK_STORE_ERROR, FK_STORE_ERROR_NOT_INITIALIZED,
                   _("%s is not set up yet. Run \"fieldkit-cli init --operator ID --name NAME\" first."),
                   fk_store_data_dir (store));
      return NULL;
    }
  op = fk_args_opt (args, "operator");
  if (op == NULL)
    {
      sole = fk_store_sole_operator (store);
      if (sole == NULL)
        {
          g_set_error_literal (error, FK_STORE_ERROR, FK_STORE_ERROR_INVALID,
                               _("This device has several operators: say who you are with --operator ID."));
          return NULL;
        }
      op = sole;
    }
  {
    g_autofree char *prompt = g_strdup_printf (_("Passphrase for %s: "), op);

    pass = fk_cli_passphrase (args, "FIELDKIT_PASSPHRASE", "passphrase-file", prompt, FALSE, error);
  }
  if (pass == NULL)
    return NULL;
  if (!fk_store_unlock (store, op, pass, error))
    return NULL;
  return g_steal_pointer (&store);
}

/* ---- output ---------------------------------------------------------------------- */

/* Stable machine-readable name for an error, e.g. "wrong_passphrase". */
static const char *
error_code (const GError *error)
{
  if (error->domain == FK_STORE_ERROR)
    {
      static const char *const names[] = {
        "failed", "busy", "disk_full", "read_only", "newer_format", "not_initialized", "exists",
        "not_found", "locked", "wrong_passphrase", "wait", "damaged", "refused", "invalid", "corrupt",
        "purged",
      };

      if ((guint) error->code < G_N_ELEMENTS (names))
        return names[error->code];
    }
  if (error->domain == FK_VALIDATE_ERROR)
    return "invalid";
  if (error->domain == FK_ROSTER_ERROR)
    {
      static const char *const names[] = {
        "too_large", "not_text", "encoding", "format", "columns", "empty", "not_school_drive", "refused",
      };

      if ((guint) error->code < G_N_ELEMENTS (names))
        return names[error->code];
    }
  if (error->domain == FK_CRYPTO_ERROR)
    {
      switch (error->code)
        {
        case FK_CRYPTO_ERROR_WRONG_PASSPHRASE: return "wrong_passphrase";
        case FK_CRYPTO_ERROR_DAMAGED: return "damaged";
        case FK_CRYPTO_ERROR_INVALID: return "invalid";
        default: return "failed";
        }
    }
  if (error->domain == G_FILE_ERROR || error->domain == G_IO_ERROR)
    return "file";
  return "failed";
}

/* ---- commands: set-up -------------------------------------------------------------- */

static int
cmd_init (const FkArgs *args)
{
  static const char *const allowed[] = { "operator", "name", "office-code", "device-number", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_auto(FkPassphrase) pass = NULL;
  char *recovery = NULL;
  const char *op = fk_args_opt (args, "operator");
  const char *name = fk_args_opt (args, "name");
  const char *office = fk_args_opt (args, "office-code");
  const char *number = fk_args_opt (args, "device-number");
  guint64 device_number = 1;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (op == NULL || name == NULL)
    return fk_cli_usage ("fieldkit-cli init --operator ID --name NAME [--office-code CODE] [--device-number N]");
  if (number && !g_ascii_string_to_unsigned (number, 10, 1, 99, &device_number, NULL))
    return fk_cli_usage (_("--device-number must be a number from 1 to 99"));

  store = open_store (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  pass = fk_cli_passphrase (args, "FIELDKIT_PASSPHRASE", "passphrase-file",
                            _("New passphrase: "), TRUE, &error);
  if (pass == NULL)
    return fk_cli_fail (error);
  if (!fk_store_init_device (store, op, name, pass, office ? office : "FK", (guint) device_number, &recovery, &error))
    return fk_cli_fail (error);

  fk_cli_say (_("FieldKit is set up in %s for %s (supervisor)."),
              fk_store_data_dir (store), op);
  fk_cli_say (_("Device: office %s, device %02u."),
              fk_store_office_code (store), fk_store_device_number (store));
  fk_cli_say ("%s", _("RECOVERY KEY — shown only this once. Write it down and keep it locked away;"));
  fk_cli_say ("%s", _("it opens this device's data if every passphrase is forgotten:"));
  fk_cli_say ("    %s", recovery);
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *fp = fk_fingerprint (fk_store_device_public_key (store), 32);

      json_builder_begin_object (b);
      fk_cli_add_str (b, "data_dir", fk_store_data_dir (store));
      fk_cli_add_str (b, "operator", op);
      fk_cli_add_str (b, "office_code", fk_store_office_code (store));
      fk_cli_add_int (b, "device_number", fk_store_device_number (store));
      fk_cli_add_str (b, "device_fingerprint", fp);
      fk_cli_add_str (b, "recovery_key", recovery);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  fk_recovery_key_free (recovery);
  return FK_EXIT_OK;
}

static int
cmd_operator (const FkArgs *args)
{
  static const char *const allowed[] = { "id", "name", "role", "new-passphrase-file", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  const char *sub = fk_args_word (args, 1);

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (sub, "add") == 0)
    {
      const char *id = fk_args_opt (args, "id");
      const char *name = fk_args_opt (args, "name");
      const char *role = fk_args_opt (args, "role");
      g_auto(FkPassphrase) pass = NULL;
      FkRole r = FK_ROLE_STAFF;

      if (id == NULL || name == NULL)
        return fk_cli_usage ("fieldkit-cli operator add --id ID --name NAME [--role staff|supervisor]");
      if (role && g_strcmp0 (role, "supervisor") == 0)
        r = FK_ROLE_SUPERVISOR;
      else if (role && g_strcmp0 (role, "staff") != 0)
        return fk_cli_usage (_("--role is staff or supervisor"));
      store = open_unlocked (args, &error);
      if (store == NULL)
        return fk_cli_fail (error);
      {
        g_autofree char *prompt = g_strdup_printf (_("New passphrase for %s: "), id);

        pass = fk_cli_passphrase (args, "FIELDKIT_NEW_PASSPHRASE", "new-passphrase-file", prompt, TRUE, &error);
      }
      if (pass == NULL || !fk_store_operator_add (store, id, name, r, pass, &error))
        return fk_cli_fail (error);
      fk_cli_say (_("Operator %s (%s) added."), id, fk_role_name (r));
      if (fk_cli_json ())
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          fk_cli_add_str (b, "id", id);
          fk_cli_add_str (b, "role", fk_role_name (r));
          fk_cli_emit (fk_cli_ok_document (b));
        }
      return FK_EXIT_OK;
    }
  if (g_strcmp0 (sub, "list") == 0)
    {
      g_autoptr(GPtrArray) ops = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();

      store = open_store (args, &error);
      if (store == NULL || (ops = fk_store_operators (store, &error)) == NULL)
        return fk_cli_fail (error);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "operators");
      json_builder_begin_array (b);
      for (guint i = 0; i < ops->len; i++)
        {
          FkOperator *o = ops->pdata[i];

          fk_cli_say ("%-20s %s", o->id, fk_role_name (o->role));
          json_builder_begin_object (b);
          fk_cli_add_str (b, "id", o->id);
          fk_cli_add_str (b, "role", fk_role_name (o->role));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }
  return fk_cli_usage ("fieldkit-cli operator add|list");
}

static int
cmd_recover (const FkArgs *args)
{
  static const char *const allowed[] = { "new-passphrase-file", "recovery-key-file", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_auto(FkPassphrase) key = NULL;
  g_auto(FkPassphrase) pass = NULL;
  const char *op = fk_args_opt (args, "operator");

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (op == NULL)
    return fk_cli_usage ("fieldkit-cli --operator ID recover");
  store = open_store (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  key = fk_cli_passphrase (args, "FIELDKIT_RECOVERY_KEY", "recovery-key-file",
                           _("Recovery key: "), FALSE, &error);
  if (key == NULL)
    return fk_cli_fail (error);
  pass = fk_cli_passphrase (args, "FIELDKIT_NEW_PASSPHRASE", "new-passphrase-file",
                            _("New passphrase: "), TRUE, &error);
  if (pass == NULL || !fk_store_recover (store, key, op, pass, &error))
    return fk_cli_fail (error);
  fk_cli_say (_("The passphrase of %s was replaced using the recovery key."), op);
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_str (b, "operator", op);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

/* ---- commands: check-id ------------------------------------------------------------ */

static int
cmd_check_id (const FkArgs *args)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  int rc = FK_EXIT_OK;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (args->words->len < 2)
    return fk_cli_usage ("fieldkit-cli check-id VALUE...");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "results");
  json_builder_begin_array (b);
  for (guint i = 1; i < args->words->len; i++)
    {
      const char *value = args->words->pdata[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *norm = NULL;
      const char *kind_name = NULL;
      const char *kind_label = NULL;
      FkIdKind kind;
      gboolean ok;

      ok = fk_person_id_check (value, &kind, &norm, &error);
      if (ok)
        {
          kind_name = fk_id_kind_name (kind);
          kind_label = fk_id_kind_label (kind);
        }
      else
        {
          g_autoptr(GError) card_error = NULL;
          g_autofree char *card = NULL;
          g_autofree char *up = fk_id_normalize (value);

          /* A value of 16 characters is read as a certificate card number. */
          if (strlen (up) == 16 && fk_cert_card_check (value, &card, &card_error))
            {
              ok = TRUE;
              g_clear_error (&error);
              g_free (norm);
              norm = g_steal_pointer (&card);
              kind_name = "cert_card";
              kind_label = _("citizen certificate card number");
            }
          else if (strlen (up) == 16)
            {
              g_clear_error (&error);
              error = g_steal_pointer (&card_error);
            }
        }

      if (ok)
        fk_cli_say ("%s\t%s\t%s", value, _("valid"), kind_label);
      else
        {
          fk_cli_say ("%s\t%s\t%s", value, _("invalid"), error->message);
          rc = FK_EXIT_REFUSED;
        }
      json_builder_begin_object (b);
      fk_cli_add_str (b, "value", value);
      fk_cli_add_bool (b, "valid", ok);
      fk_cli_add_str (b, "kind", kind_name);
      fk_cli_add_str (b, "normalized", ok ? norm : NULL);
      fk_cli_add_str (b, "reason", ok ? NULL : error_code (error));
      fk_cli_add_str (b, "message", ok ? NULL : error->message);
      if (!ok && error->domain == FK_VALIDATE_ERROR)
        {
          static const char *const names[] = { "empty", "length", "letter", "gender", "checksum", "format", "date", "range" };

          if ((guint) error->code < G_N_ELEMENTS (names))
            fk_cli_add_str (b, "problem", names[error->code]);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  fk_cli_add_bool (b, "ok", rc == FK_EXIT_OK);
  json_builder_end_object (b);
  fk_cli_emit (json_builder_get_root (b));
  return rc;
}

/* ---- commands: outings ------------------------------------------------------------- */

static void
outing_json (JsonBuilder    *b,
             const FkOuting *o)
{
  json_builder_begin_object (b);
  fk_cli_add_str (b, "id", o->id);
  fk_cli_add_str (b, "kind", o->kind);
  fk_cli_add_str (b, "date", o->date);
  fk_cli_add_str (b, "title", o->title);
  fk_cli_add_str (b, "place", o->place);
  fk_cli_add_int (b, "cases", o->n_cases);
  json_builder_end_object (b);
}

static int
cmd_outing (const FkArgs *args)
{
  static const char *const allowed[] = { "kind", "title", "date", "place", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char *sub = fk_args_word (args, 1);

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (sub, "new") == 0)
    {
      g_autofree char *id = NULL;
      g_autoptr(FkOuting) o = NULL;

      if (!fk_args_opt (args, "kind") || !fk_args_opt (args, "title") || !fk_args_opt (args, "date"))
        return fk_cli_usage ("fieldkit-cli outing new --kind KIND --title T --date YYYY-MM-DD [--place P]");
      store = open_unlocked (args, &error);
      if (store == NULL)
        return fk_cli_fail (error);
      id = fk_store_outing_new (store, fk_args_opt (args, "kind"), fk_args_opt (args, "title"), fk_args_opt (args, "date"),
                                fk_args_opt (args, "place"), &error);
      if (id == NULL || (o = fk_store_outing_get (store, id, &error)) == NULL)
        return fk_cli_fail (error);
      fk_cli_say (_("Outing %s created: %s, %s, %s."),
                  o->id, fk_outing_kind_label (o->kind), o->date, o->title);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "outing");
      outing_json (b, o);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }
  if (g_strcmp0 (sub, "list") == 0)
    {
      g_autoptr(GPtrArray) list = NULL;

      store = open_unlocked (args, &error);
      if (store == NULL || (list = fk_store_outings (store, &error)) == NULL)
        return fk_cli_fail (error);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "outings");
      json_builder_begin_array (b);
      if (list->len == 0)
        fk_cli_say ("%s", _("No outings yet. \"outing new\" creates one."));
      for (guint i = 0; i < list->len; i++)
        {
          FkOuting *o = list->pdata[i];

          g_autofree char *kind = fk_cli_pad (fk_outing_kind_label (o->kind), 28);

          fk_cli_say ("%-5s %s  %s %s%s%s  (%u %s)", o->id, o->date, kind,
                      o->title ? o->title : "", o->place ? " · " : "", o->place ? o->place : "",
                      o->n_cases, _("cases"));
          outing_json (b, o);
        }
      json_builder_end_array (b);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }
  return fk_cli_usage ("fieldkit-cli outing new|list");
}

/* ---- commands: cases ------------------------------------------------------------- */

static void
case_json (JsonBuilder     *b,
           FkStore         *store,
           const FkCase    *c,
           gboolean         full)
{
  const FkService *svc = fk_catalog_lookup (fk_store_catalog (store), c->service);

  json_builder_begin_object (b);
  fk_cli_add_int (b, "id", c->id);
  fk_cli_add_str (b, "uuid", c->uuid);
  fk_cli_add_str (b, "outing", c->outing_id);
  fk_cli_add_str (b, "service", c->service);
  fk_cli_add_str (b, "service_name", svc ? fk_service_name (svc) : c->service);
  fk_cli_add_str (b, "status", fk_case_status_name (c->status));
  fk_cli_add_int (b, "version", (gint64) c->version);
  fk_cli_add_str (b, "receipt_no", c->receipt_no);
  if (c->supersedes > 0)
    fk_cli_add_int (b, "supersedes", c->supersedes);
  fk_cli_add_str (b, "name", c->name);
  fk_cli_add_str (b, "person_id", c->person_id);
  fk_cli_add_str (b, "birth_date", c->birth_date);
  fk_cli_add_str (b, "damaged", c->damaged);
  if (full)
    {
      g_autofree char *created = fk_time_local_text (c->created_at);
      g_autofree char *sealed = fk_time_local_text (c->sealed_at);
      GHashTableIter iter;
      gpointer k, v;

      json_builder_set_member_name (b, "fields");
      json_builder_begin_object (b);
      g_hash_table_iter_init (&iter, c->fields);
      while (g_hash_table_iter_next (&iter, &k, &v))
        fk_cli_add_str (b, k, v);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "checklist");
      json_builder_begin_array (b);
      for (guint i = 0; svc && i < svc->checklist->len; i++)
        {
          const FkChecklistItem *item = svc->checklist->pdata[i];

          json_builder_begin_object (b);
          fk_cli_add_str (b, "id", item->id);
          fk_cli_add_str (b, "label", fk_lang_is_zh () ? item->label_zh : item->label_en);
          fk_cli_add_bool (b, "required", item->required);
          fk_cli_add_bool (b, "seen", c->ticked && g_strv_contains ((const char * const *) c->ticked, item->id));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "attachments");
      json_builder_begin_array (b);
      for (guint i = 0; i < c->attachments->len; i++)
        {
          FkAttachmentInfo *a = c->attachments->pdata[i];

          json_builder_begin_object (b);
          fk_cli_add_int (b, "id", a->id);
          fk_cli_add_str (b, "kind", a->kind);
          fk_cli_add_str (b, "mime", a->mime);
          fk_cli_add_int (b, "size", (gint64) a->size);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      fk_cli_add_str (b, "created_by", c->created_by);
      fk_cli_add_str (b, "checked_by", c->checked_by);
      fk_cli_add_str (b, "approved_by", c->approved_by);
      fk_cli_add_str (b, "sealed_by", c->sealed_by);
      fk_cli_add_str (b, "created_at", created);
      fk_cli_add_str (b, "sealed_at", sealed);
      if (svc)
        {
          fk_cli_add_int (b, "fee", svc->fee);
          fk_cli_add_str (b, "time_limit", fk_lang_is_zh () ? svc->time_limit_zh : svc->time_limit_en);
        }
    }
  json_builder_end_object (b);
}

/* The JSON document of a command that shows or changes one case. */
static void
emit_case (FkStore      *store,
           const FkCase *c)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "case");
  case_json (b, store, c, TRUE);
  fk_cli_emit (fk_cli_ok_document (b));
}

static void
say_case_line (FkStore      *store,
               const FkCase *c)
{
  const FkService *svc = fk_catalog_lookup (fk_store_catalog (store), c->service);
  g_autofree char *status = fk_cli_pad (fk_case_status_label (c->status), 16);

  fk_cli_say ("%-5" G_GINT64_FORMAT " %-4s %s %-22s %s  [%s]",
              c->id, c->outing_id, status,
              c->receipt_no ? c->receipt_no : "-",
              c->damaged ? _("(damaged)") : (c->name ? c->name : ""),
              svc ? fk_service_name (svc) : c->service);
}

static void
say_case (FkStore      *store,
          const FkCase *c)
{
  const FkService *svc = fk_catalog_lookup (fk_store_catalog (store), c->service);
  g_autofree char *created = fk_time_local_text (c->created_at);
  g_autofree char *sealed = fk_time_local_text (c->sealed_at);

  fk_cli_say (_("Case %" PRId64 " (version %" PRIu64 ")"),
              c->id, c->version);
  fk_cli_say_row (14, _("Service"), "%s", svc ? fk_service_name (svc) : c->service);
  fk_cli_say_row (14, _("Status"), "%s", fk_case_status_label (c->status));
  if (c->receipt_no)
    fk_cli_say_row (14, _("Receipt no."), "%s", c->receipt_no);
  fk_cli_say_row (14, _("Outing"), "%s", c->outing_id);
  if (c->damaged)
    fk_cli_say ("  !! %s", c->damaged);
  else if (c->name)
    {
      fk_cli_say_row (14, _("Name"), "%s", c->name);
      fk_cli_say_row (14, _("ID number"), "%s", c->person_id);
      if (c->birth_date)
        {
          GDate d;
          g_autofree char *roc = NULL;

          if (fk_date_parse (c->birth_date, &d, NULL))
            roc = fk_date_to_roc (&d);
          fk_cli_say_row (14, _("Birth date"), "%s (%s)", roc ? roc : "", c->birth_date);
        }
      for (guint i = 0; svc && i < svc->fields->len; i++)
        {
          const FkField *f = svc->fields->pdata[i];
          const char *v = g_hash_table_lookup (c->fields, f->key);

          if (v)
            fk_cli_say_row (14, fk_lang_is_zh () ? f->label_zh : f->label_en, "%s", v);
        }
    }
  else
    fk_cli_say ("  %s", _("(personal data removed after the office acknowledged the case)"));
  if (svc)
    {
      fk_cli_say_row (14, _("Fee"), "NT$%d · %s", svc->fee,
                  fk_lang_is_zh () ? svc->time_limit_zh : svc->time_limit_en);
      fk_cli_say ("  %s", _("Checklist:"));
      for (guint i = 0; i < svc->checklist->len; i++)
        {
          const FkChecklistItem *item = svc->checklist->pdata[i];
          gboolean seen = c->ticked && g_strv_contains ((const char * const *) c->ticked, item->id);

          fk_cli_say ("    [%s] %-22s %s%s", seen ? "x" : " ", item->id,
                      fk_lang_is_zh () ? item->label_zh : item->label_en,
                      item->required ? "" : _(" (if applicable)"));
        }
    }
  for (guint i = 0; i < c->attachments->len; i++)
    {
      FkAttachmentInfo *a = c->attachments->pdata[i];

      fk_cli_say_row (14, _("Attachment"), "%s, %s, %" G_GSIZE_FORMAT " bytes", a->kind, a->mime, a->size);
    }
  fk_cli_say_row (14, _("Created"), "%s %s", c->created_by, created ? created : "");
  if (c->checked_by)
    fk_cli_say_row (14, _("Self-check"), "%s", c->checked_by);
  if (c->approved_by)
    fk_cli_say_row (14, _("Second check"), "%s", c->approved_by);
  if (c->sealed_by)
    fk_cli_say_row (14, _("Sealed"), "%s %s", c->sealed_by, sealed ? sealed : "");
}

static gboolean
read_attachment (const char  *path,
                 GBytes     **out,
                 const char **mime,
                 GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len;

  if (path == NULL)
    return TRUE;
  if (!g_file_get_contents (path, &contents, &len, error))
    return FALSE;
  if (len >= 3 && (guchar) contents[0] == 0xff && (guchar) contents[1] == 0xd8)
    *mime = "image/jpeg";
  else if (len >= 8 && memcmp (contents, "\x89PNG", 4) == 0)
    *mime = "image/png";
  else if (len >= 4 && memcmp (contents, "<svg", 4) == 0)
    *mime = "image/svg+xml";
  else
    *mime = "application/octet-stream";
  *out = g_bytes_new_take (g_steal_pointer (&contents), len);
  return TRUE;
}

/* The person and the case's contents from the options of case new (and of
 * case correct when the data must be taken again): --person-id, --name,
 * --birth, --field, --photo, --signature.  INPUT points into ARGS, FIELDS,
 * *PHOTO and *SIGNATURE, which the caller keeps.  FK_EXIT_OK, or the exit
 * code after the message. */
static int
case_input_from_args (const FkArgs  *args,
                      GHashTable    *fields,
                      GBytes       **photo,
                      GBytes       **signature,
                      FkCaseInput   *input)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *field_opts = fk_args_opts (args, "field");

  for (guint i = 0; field_opts && i < field_opts->len; i++)
    {
      const char *kv = field_opts->pdata[i];
      const char *eq = strchr (kv, '=');

      if (eq == NULL || eq == kv)
        return fk_cli_usage (_("--field takes KEY=VALUE, got \"%s\""), kv);
      g_hash_table_insert (fields, g_strndup (kv, eq - kv), g_strdup (eq + 1));
    }
  if (!read_attachment (fk_args_opt (args, "photo"), photo, &input->photo_mime, &error) ||
      !read_attachment (fk_args_opt (args, "signature"), signature, &input->signature_mime, &error))
    return fk_cli_fail (error);
  input->outing_id = fk_args_opt (args, "outing");
  input->service = fk_args_opt (args, "service");
  input->person_id = fk_args_opt (args, "person-id");
  input->name = fk_args_opt (args, "name");
  input->birth_date = fk_args_opt (args, "birth");
  input->fields = fields;
  input->photo = *photo;
  input->signature = *signature;
  return FK_EXIT_OK;
}

static int
cmd_case_new (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GHashTable) fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GBytes) photo = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(FkCase) c = NULL;
  FkCaseInput input = { 0 };
  gint64 id;
  int rc;

  if (!fk_args_opt (args, "outing") || !fk_args_opt (args, "service") || !fk_args_opt (args, "person-id") || !fk_args_opt (args, "name"))
    return fk_cli_usage ("fieldkit-cli case new --outing O --service S --person-id ID --name NAME [--birth DATE] "
                         "[--field KEY=VALUE]... [--photo FILE] [--signature FILE]");
  if ((rc = case_input_from_args (args, fields, &photo, &signature, &input)) != FK_EXIT_OK)
    return rc;
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  id = fk_store_case_new (store, &input, &error);
  if (id <= 0 || (c = fk_store_case_get (store, id, &error)) == NULL)
    return fk_cli_fail (error);
  fk_cli_say (_("Case %" PRId64 " created (draft)."), id);
  if (fk_cli_json ())
    emit_case (store, c);
  return FK_EXIT_OK;
}

static int
emit_case_result (FkStore    *store,
                  gint64      id,
                  const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkCase) c = fk_store_case_get (store, id, &error);

  if (c == NULL)
    return fk_cli_fail (error);
  fk_cli_say ("%s", message);
  if (fk_cli_json ())
    emit_case (store, c);
  else if (c->status == FK_CASE_DRAFT)
    {
      g_autoptr(GPtrArray) problems = fk_store_case_problems (store, id, NULL);

      for (guint i = 0; problems && i < problems->len; i++)
        fk_cli_say ("  - %s", (const char *) problems->pdata[i]);
    }
  return FK_EXIT_OK;
}

static int
cmd_case (const FkArgs *args)
{
  static const char *const allowed[] = {
    "outing", "service", "person-id", "name", "birth", "field", "photo", "signature", "guardian-signature",
    "status", "all", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  const char *sub = fk_args_word (args, 1);
  const char *ref = fk_args_word (args, 2);
  gint64 id = 0;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (sub, "new") == 0)
    return cmd_case_new (args);

  if (g_strcmp0 (sub, "list") == 0)
    {
      g_autoptr(GPtrArray) list = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();
      FkCaseStatus status;
      const char *status_name = fk_args_opt (args, "status");

      if (status_name && !fk_case_status_parse (status_name, &status))
        return fk_cli_usage (_("--status is one of draft, checked, approved, sealed, uploaded, accepted, returned, closed"));
      store = open_unlocked (args, &error);
      if (store == NULL)
        return fk_cli_fail (error);
      if (fk_args_opt (args, "outing"))
        {
          g_autoptr(FkOuting) o = fk_store_outing_get (store, fk_args_opt (args, "outing"), &error);

          if (o == NULL)
            return fk_cli_fail (error);
        }
      list = fk_store_cases (store, fk_args_opt (args, "outing"), status_name ? &status : NULL, &error);
      if (list == NULL)
        return fk_cli_fail (error);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cases");
      json_builder_begin_array (b);
      if (list->len == 0)
        fk_cli_say ("%s", _("No cases."));
      for (guint i = 0; i < list->len; i++)
        {
          say_case_line (store, list->pdata[i]);
          case_json (b, store, list->pdata[i], FALSE);
        }
      json_builder_end_array (b);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }

  if (sub == NULL || ref == NULL)
    return fk_cli_usage ("fieldkit-cli case new|tick|set|check|approve|finalize|show|list …");
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (!fk_store_case_resolve (store, ref, &id, &error))
    return fk_cli_fail (error);

  if (g_strcmp0 (sub, "show") == 0)
    {
      g_autoptr(FkCase) c = fk_store_case_get (store, id, &error);

      if (c == NULL)
        return fk_cli_fail (error);
      say_case (store, c);
      if (c->status == FK_CASE_RETURNED)
        {
          g_autofree char *reason = fk_store_case_return_reason (store, id, NULL);

          fk_cli_say_row (14, _("Returned"), "%s", reason ? reason : "");
          if (c->person_id != NULL)
            fk_cli_say ("  %s", _("Correct it with \"case correct CASE\"."));
          else
            fk_cli_say ("  %s", _("Its personal data was removed after upload: take it again from the person's documents, "
                                  "with \"case correct CASE --person-id ID --name NAME\"."));
        }
      if (fk_cli_json ())
        emit_case (store, c);
      return c->damaged ? FK_EXIT_REFUSED : FK_EXIT_OK;
    }
  if (g_strcmp0 (sub, "tick") == 0)
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new ();
      gboolean all = fk_args_opt (args, "all") != NULL;

      for (guint i = 3; i < args->words->len; i++)
        g_ptr_array_add (items, args->words->pdata[i]);
      g_ptr_array_add (items, NULL);
      if (!all && items->len == 1)
        return fk_cli_usage ("fieldkit-cli case tick CASE ITEM...|--all");
      if (!fk_store_case_tick (store, id, (const char * const *) items->pdata, all, &error))
        return fk_cli_fail (error);
      return emit_case_result (store, id, _("Checklist updated."));
    }
  if (g_strcmp0 (sub, "set") == 0)
    {
      if (args->words->len < 4)
        return fk_cli_usage ("fieldkit-cli case set CASE KEY=VALUE...");
      for (guint i = 3; i < args->words->len; i++)
        {
          const char *kv = args->words->pdata[i];
          const char *eq = strchr (kv, '=');
          g_autofree char *key = NULL;

          if (eq == NULL || eq == kv)
            return fk_cli_usage (_("case set takes KEY=VALUE, got \"%s\""), kv);
          key = g_strndup (kv, eq - kv);
          if (g_strcmp0 (key, "birth") == 0)
            g_free (key), key = g_strdup ("birth_date");
          if (g_strcmp0 (key, "person-id") == 0)
            g_free (key), key = g_strdup ("person_id");
          if (!fk_store_case_set_field (store, id, key, eq + 1, &error))
            return fk_cli_fail (error);
        }
      return emit_case_result (store, id, _("Case updated."));
    }
  if (g_strcmp0 (sub, "attach") == 0)
    {
      g_autoptr(GBytes) photo = NULL;
      g_autoptr(GBytes) signature = NULL;
      g_autoptr(GBytes) guardian = NULL;
      const char *photo_mime = NULL, *signature_mime = NULL, *guardian_mime = NULL;

      if (!fk_args_opt (args, "photo") && !fk_args_opt (args, "signature") && !fk_args_opt (args, "guardian-signature"))
        return fk_cli_usage ("fieldkit-cli case attach CASE [--photo FILE] [--signature FILE] [--guardian-signature FILE]");
      if (!read_attachment (fk_args_opt (args, "photo"), &photo, &photo_mime, &error) ||
          !read_attachment (fk_args_opt (args, "signature"), &signature, &signature_mime, &error) ||
          !read_attachment (fk_args_opt (args, "guardian-signature"), &guardian, &guardian_mime, &error) ||
          (photo && !fk_store_case_attach (store, id, "photo", photo_mime, photo, &error)) ||
          (signature && !fk_store_case_attach (store, id, "signature", signature_mime, signature, &error)) ||
          (guardian && !fk_store_case_attach (store, id, "guardian_signature", guardian_mime, guardian, &error)))
        return fk_cli_fail (error);
      return emit_case_result (store, id, _("Attachment saved with the case."));
    }
  if (g_strcmp0 (sub, "correct") == 0)
    {
      g_autoptr(GHashTable) fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autoptr(GBytes) photo = NULL;
      g_autoptr(GBytes) signature = NULL;
      g_autofree char *msg = NULL;
      FkCaseInput input = { 0 };
      gint64 new_id;
      int rc;

      /* The person given again: the returned case's data was removed
       * after upload (fk_store_case_correct says so). */
      if (fk_args_opt (args, "person-id") || fk_args_opt (args, "name"))
        {
          if (!fk_args_opt (args, "person-id") || !fk_args_opt (args, "name") ||
              fk_args_opt (args, "outing") || fk_args_opt (args, "service"))
            return fk_cli_usage ("fieldkit-cli case correct CASE [--person-id ID --name NAME [--birth DATE] "
                                 "[--field KEY=VALUE]... [--photo FILE] [--signature FILE]]");
          if ((rc = case_input_from_args (args, fields, &photo, &signature, &input)) != FK_EXIT_OK)
            return rc;
          new_id = fk_store_case_correct_anew (store, id, &input, &error);
        }
      else
        new_id = fk_store_case_correct (store, id, &error);
      if (new_id <= 0)
        return fk_cli_fail (error);
      msg = g_strdup_printf (_("Case %" PRId64 " is the corrected version of case %" PRId64 " (draft): fix it, then check, approve and finalize it again."),
                             new_id, id);
      return emit_case_result (store, new_id, msg);
    }
  if (g_strcmp0 (sub, "check") == 0)
    {
      if (!fk_store_case_check (store, id, &error))
        return fk_cli_fail (error);
      return emit_case_result (store, id, _("Self-check passed: nothing is missing."));
    }
  if (g_strcmp0 (sub, "approve") == 0)
    {
      if (!fk_store_case_approve (store, id, &error))
        return fk_cli_fail (error);
      return emit_case_result (store, id, _("Second check recorded."));
    }
  if (g_strcmp0 (sub, "finalize") == 0)
    {
      g_autofree char *receipt = NULL;
      g_autofree char *msg = NULL;

      if (!fk_store_case_finalize (store, id, &receipt, &error))
        return fk_cli_fail (error);
      msg = g_strdup_printf (_("Case %" PRId64 " sealed. Receipt number: %s"), id, receipt);
      return emit_case_result (store, id, msg);
    }
  return fk_cli_usage ("fieldkit-cli case new|tick|set|check|approve|finalize|show|list …");
}

static int
cmd_find (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (fk_args_word (args, 1) == NULL)
    return fk_cli_usage ("fieldkit-cli find ID");
  store = open_unlocked (args, &error);
  if (store == NULL || (ids = fk_store_find (store, fk_args_word (args, 1), &error)) == NULL)
    return fk_cli_fail (error);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  if (ids->len == 0)
    fk_cli_say ("%s", _("No case has this ID number."));
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(FkCase) c = fk_store_case_get (store, g_array_index (ids, gint64, i), &error);

      if (c == NULL)
        return fk_cli_fail (error);
      say_case_line (store, c);
      case_json (b, store, c, FALSE);
    }
  json_builder_end_array (b);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

static int
cmd_audit (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GPtrArray) damage = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  FkAuditReport report = { 0 };
  gboolean good;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "verify") != 0)
    return fk_cli_usage ("fieldkit-cli audit verify");
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (!fk_audit_verify (fk_store_db (store), fk_store_device_public_key (store), &report, &error))
    return fk_cli_fail (error);
  damage = fk_store_verify_records (store, &error);
  if (damage == NULL)
    {
      fk_audit_report_clear (&report);
      return fk_cli_fail (error);
    }
  good = report.first_bad == 0 && damage->len == 0;

  if (report.first_bad == 0)
    fk_cli_say (_("Audit log: %u entries, chain and signatures intact."),
                report.n_entries);
  else
    fk_cli_say (_("Audit log: BROKEN at entry %" PRId64 ": %s."),
                report.first_bad, report.reason);
  if (damage->len == 0)
    fk_cli_say ("%s", _("Records: every stored record opens and matches the audit log."));
  for (guint i = 0; i < damage->len; i++)
    {
      FkDamage *d = damage->pdata[i];

      fk_cli_say (_("Records: %s — %s."), d->where, d->reason);
    }
  if (!good)
    fk_cli_say ("%s", _("Do not repair this by hand: report it to the office, which holds what was synced."));

  json_builder_begin_object (b);
  fk_cli_add_int (b, "entries", report.n_entries);
  fk_cli_add_bool (b, "intact", good);
  json_builder_set_member_name (b, "first_bad");
  if (report.first_bad)
    json_builder_add_int_value (b, report.first_bad);
  else
    json_builder_add_null_value (b);
  fk_cli_add_str (b, "reason", report.reason);
  json_builder_set_member_name (b, "damaged_records");
  json_builder_begin_array (b);
  for (guint i = 0; i < damage->len; i++)
    {
      FkDamage *d = damage->pdata[i];

      json_builder_begin_object (b);
      fk_cli_add_str (b, "where", d->where);
      fk_cli_add_str (b, "reason", d->reason);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  fk_cli_add_bool (b, "ok", good);
  json_builder_end_object (b);
  fk_cli_emit (json_builder_get_root (b));
  fk_audit_report_clear (&report);
  return good ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

/* ---- commands: sync ------------------------------------------------------------- */

static int
cmd_enroll (const FkArgs *args)
{
  static const char *const allowed[] = { "code", "fingerprint", "name", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  FkOfficeInfo info;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (fk_args_word (args, 1) == NULL || !fk_args_opt (args, "code") || !fk_args_opt (args, "fingerprint"))
    return fk_cli_usage ("fieldkit-cli enroll URL --code CODE --fingerprint FP [--name DEVICE-NAME]");
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (!fk_sync_enroll (store, fk_args_word (args, 1), fk_args_opt (args, "code"), fk_args_opt (args, "fingerprint"), fk_args_opt (args, "name"), &error))
    return fk_cli_fail (error);
  fk_store_office (store, &info);
  fk_cli_say (_("Enrolled with office %s at %s as device %02u (%s)."),
              info.office_code, info.url, info.device_number, info.device_id);
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_str (b, "office_code", info.office_code);
      fk_cli_add_str (b, "url", info.url);
      fk_cli_add_int (b, "device_number", info.device_number);
      fk_cli_add_str (b, "device_id", info.device_id);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  fk_office_info_clear (&info);
  return FK_EXIT_OK;
}

/* The line a terminal shows while packets go up (several at once, so the
 * whole run, not one packet).  The sync calls this one call at a time. */
typedef struct {
  guint       waiting;   /* packets waiting when the run started */
  GHashTable *sent;      /* packet ids fully sent and acknowledged */
} SyncLine;

static void
sync_progress (const char *packet_id,
               gsize       done,
               gsize       total,
               gpointer    user_data)
{
  SyncLine *line = user_data;

  if (fk_cli_json () || !isatty (STDERR_FILENO))
    return;
  if (done >= total)
    g_hash_table_add (line->sent, g_strdup (packet_id));
  g_printerr ("\r");
  g_printerr (_("Uploading: %u of %u cases sent"), g_hash_table_size (line->sent),
              MAX (line->waiting, g_hash_table_size (line->sent)));
}

static int
cmd_sync (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  FkSyncReport report;
  gboolean ok;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  {
    SyncLine line = { .waiting = fk_sync_count_waiting (store, NULL),
                      .sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };

    ok = fk_sync_run (store, sync_progress, &line, &report, NULL, &error);
    g_hash_table_unref (line.sent);
  }
  if (!fk_cli_json () && isatty (STDERR_FILENO))
    g_printerr ("\r\033[K");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  for (guint i = 0; report.cases && i < report.cases->len; i++)
    {
      FkSyncCase *c = report.cases->pdata[i];

      fk_cli_say ("%-5" G_GINT64_FORMAT " %-22s %s: %-16s %s: %-10s %s", c->case_id, c->receipt_no ? c->receipt_no : "-",
                  _("device"), c->client_status ? c->client_status : "",
                  _("office"), c->server_status ? c->server_status : "-",
                  c->message ? c->message : "");
      json_builder_begin_object (b);
      fk_cli_add_int (b, "case", c->case_id);
      fk_cli_add_str (b, "packet_id", c->packet_id);
      fk_cli_add_str (b, "receipt_no", c->receipt_no);
      fk_cli_add_str (b, "client_status", c->client_status);
      fk_cli_add_str (b, "server_status", c->server_status);
      fk_cli_add_str (b, "message", c->message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  fk_cli_add_int (b, "uploaded", report.uploaded);
  fk_cli_add_int (b, "waiting", report.waiting);
  fk_cli_add_int (b, "quarantined", report.quarantined);
  fk_cli_add_int (b, "answers", report.answers);
  fk_cli_add_int (b, "catalog_version", report.catalog_version);
  fk_cli_add_int (b, "handovers", report.handovers);
  if (report.handovers > 0)
    fk_cli_say (_("%u card(s) arrived for hand-over: see \"outing list\"."),
                report.handovers);
  if (report.catalog_version > 0)
    fk_cli_say (_("The office's service catalog version %d is now in use."),
                report.catalog_version);
  fk_cli_add_int (b, "bytes_sent", (gint64) report.bytes_sent);
  fk_cli_add_bool (b, "revoked", report.revoked);
  fk_cli_say (_("Sync: %u sent, %u waiting, %u in quarantine; answers from the office: %u."),
              report.uploaded, report.waiting, report.quarantined, report.answers);
  fk_sync_report_clear (&report);
  if (!ok)
    {
      json_builder_end_object (b);
      fk_cli_fail (error);
      return g_error_matches (error, FK_SYNC_ERROR, FK_SYNC_ERROR_NETWORK) ? FK_EXIT_REFUSED : FK_EXIT_REFUSED;
    }
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

static int
cmd_outbox (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (g_strcmp0 (fk_args_word (args, 1), "retry") == 0)
    {
      g_autoptr(GPtrArray) all = NULL;
      const char *ref = fk_args_word (args, 2);
      const char *packet = ref;
      gint64 case_id;

      if (ref == NULL)
        return fk_cli_usage ("fieldkit-cli outbox retry PACKET|CASE");
      /* A case number or receipt number names its packet too. */
      if (fk_store_case_resolve (store, ref, &case_id, NULL) && (all = fk_store_outbox (store, TRUE, NULL)) != NULL)
        for (guint i = 0; i < all->len; i++)
          if (((FkOutboxItem *) all->pdata[i])->case_id == case_id)
            packet = ((FkOutboxItem *) all->pdata[i])->packet_id;
      if (!fk_store_outbox_retry (store, packet, &error))
        return fk_cli_fail (error);
      fk_cli_say (_("Packet %s will be sent again at the next sync."), packet);
      json_builder_begin_object (b);
      fk_cli_add_str (b, "packet_id", packet);
      fk_cli_emit (fk_cli_ok_document (b));
      return FK_EXIT_OK;
    }
  if (fk_args_word (args, 1) != NULL)
    return fk_cli_usage ("fieldkit-cli outbox [retry PACKET|CASE]");
  items = fk_store_outbox (store, TRUE, &error);
  if (items == NULL)
    return fk_cli_fail (error);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packets");
  json_builder_begin_array (b);
  for (guint i = 0; i < items->len; i++)
    {
      FkOutboxItem *it = items->pdata[i];

      fk_cli_say ("%-5" G_GINT64_FORMAT " %-22s %-12s %-10s %8" G_GSIZE_FORMAT " %s", it->case_id,
                  it->receipt_no ? it->receipt_no : "-", it->state, it->server_status ? it->server_status : "-",
                  it->size, it->last_error ? it->last_error : "");
      json_builder_begin_object (b);
      fk_cli_add_int (b, "case", it->case_id);
      fk_cli_add_str (b, "packet_id", it->packet_id);
      fk_cli_add_str (b, "receipt_no", it->receipt_no);
      fk_cli_add_str (b, "state", it->state);
      fk_cli_add_str (b, "server_status", it->server_status);
      fk_cli_add_int (b, "size", (gint64) it->size);
      fk_cli_add_int (b, "device_seq", it->device_seq);
      fk_cli_add_str (b, "last_error", it->last_error);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  fk_cli_emit (fk_cli_ok_document (b));
  return FK_EXIT_OK;
}

static int
cmd_bundle (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  guint n = 0;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "export") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("fieldkit-cli bundle export FILE");
  store = open_unlocked (args, &error);
  if (store == NULL || !fk_bundle_export (store, fk_args_word (args, 2), &n, &error))
    return fk_cli_fail (error);
  fk_cli_say (_("%u packet(s) and the audit log written to %s. Carry it to the office; the cases stay here until the office acknowledges them."), n, fk_args_word (args, 2));
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_int (b, "packets", n);
      fk_cli_add_str (b, "file", fk_args_word (args, 2));
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

static int
cmd_limits (const FkArgs *args)
{
  static const char *const allowed[] = { "hours", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  FkSafetyState s;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (g_strcmp0 (fk_args_word (args, 1), "override") == 0)
    {
      guint64 hours = 0;

      if (!fk_args_opt (args, "hours") || !g_ascii_string_to_unsigned (fk_args_opt (args, "hours"), 10, 1, 72, &hours, NULL))
        return fk_cli_usage ("fieldkit-cli limits override --hours 1..72");
      if (!fk_store_override_limits (store, (guint) hours, &error))
        return fk_cli_fail (error);
      fk_cli_say (_("New cases are allowed for %u hours despite the safety limits (recorded in the audit log)."), (guint) hours);
    }
  else if (fk_args_word (args, 1) != NULL)
    return fk_cli_usage ("fieldkit-cli limits [override --hours N]");
  fk_store_safety (store, &s);
  fk_cli_say (_("Waiting to go to the office: %u (limit %u). Days limit: %u. %s"),
              s.waiting, s.waiting_limit, s.days_limit,
              s.blocked ? _("New cases are BLOCKED until you sync.")
                        : s.near ? _("A limit is near: sync soon.") : "");
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_int (b, "waiting", s.waiting);
      fk_cli_add_int (b, "waiting_limit", s.waiting_limit);
      fk_cli_add_int (b, "days_limit", s.days_limit);
      fk_cli_add_int (b, "last_sync", s.last_sync);
      fk_cli_add_bool (b, "blocked", s.blocked);
      fk_cli_add_bool (b, "near", s.near);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

/* ---- commands: receipt ------------------------------------------------------------ */

static int
cmd_receipt (const FkArgs *args)
{
  static const char *const allowed[] = { "output", "format", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(FkReceiptData) data = NULL;
  const char *ref = fk_args_word (args, 1);
  const char *output = fk_args_opt (args, "output");
  FkReceiptFormat format = FK_RECEIPT_SLIP_80MM;
  gint64 id;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (ref == NULL || fk_args_word (args, 2) != NULL || output == NULL || *output == '\0')
    return fk_cli_usage ("fieldkit-cli receipt CASE --output FILE.pdf [--format slip|a4]");
  if (fk_args_opt (args, "format") && !fk_receipt_format_parse (fk_args_opt (args, "format"), &format))
    return fk_cli_usage (_("--format must be slip (80 mm) or a4"));
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (!fk_store_case_resolve (store, ref, &id, &error))
    return fk_cli_fail (error);
  data = fk_receipt_data_new (store, id, &error);
  if (data == NULL || !fk_receipt_data_write_pdf (data, format, output, &error))
    return fk_cli_fail (error);
  fk_cli_say (_("Receipt %s written to %s (%s)."), data->receipt_no, output,
              format == FK_RECEIPT_A4 ? "A4" : _("80 mm slip"));
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_str (b, "file", output);
      fk_cli_add_str (b, "receipt_no", data->receipt_no);
      fk_cli_add_str (b, "format", fk_receipt_format_name (format));
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

/* ---- commands: roster ------------------------------------------------------------ */

static void
roster_problems_json (JsonBuilder       *b,
                      const FkRosterRow *row)
{
  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < row->problems->len; i++)
    {
      const FkRosterProblem *p = row->problems->pdata[i];

      json_builder_begin_object (b);
      fk_cli_add_str (b, "code", p->code);
      fk_cli_add_str (b, "message", p->message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* A row as the log may show it: line, class, seat and a masked name,
 * never the ID number or the whole name. */
static void
roster_row_json (JsonBuilder       *b,
                 const FkRosterRow *row)
{
  g_autofree char *masked = fk_roster_mask_name (row->name);

  json_builder_begin_object (b);
  fk_cli_add_int (b, "line", row->line);
  fk_cli_add_int (b, "row", row->number);
  fk_cli_add_str (b, "class", row->school_class);
  fk_cli_add_str (b, "seat", row->seat);
  fk_cli_add_str (b, "name_masked", masked);
  if (row->case_id > 0)
    fk_cli_add_int (b, "case_id", row->case_id);
  roster_problems_json (b, row);
  json_builder_end_object (b);
}

static void
say_roster_row (const FkRosterRow *row)
{
  g_autofree char *masked = fk_roster_mask_name (row->name);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < row->problems->len; i++)
    g_string_append_printf (text, "%s%s", i ? " " : "", ((FkRosterProblem *) row->problems->pdata[i])->message);
  if (row->problems->len == 0)
    g_string_append (text, _("ok"));
  fk_cli_say (_("line %u (seat %s, %s): %s"),
              row->line, *row->seat ? row->seat : "—", *masked ? masked : "—", text->str);
}

static int
cmd_roster (const FkArgs *args)
{
  static const char *const allowed[] = { "service", "all-or-nothing", "dry-run", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(FkRoster) roster = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_auto(FkRosterReport) report = { 0 };
  const char *outing = fk_args_word (args, 2);
  const char *path = fk_args_word (args, 3);
  const char *service = fk_args_opt (args, "service") ? fk_args_opt (args, "service") : "id_card_first";
  gboolean dry_run = fk_args_opt (args, "dry-run") != NULL;
  gboolean whole = fk_args_opt (args, "all-or-nothing") != NULL;
  const char * const *ignored;
  gboolean ok;

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "import") != 0 || outing == NULL || path == NULL || fk_args_word (args, 4) != NULL)
    return fk_cli_usage ("fieldkit-cli roster import OUTING FILE [--service S] [--all-or-nothing] [--dry-run]");

  /* The file first: a wrong file is refused before any passphrase is asked. */
  roster = fk_roster_parse_file (path, &error);
  if (roster == NULL)
    return fk_cli_fail (error);
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  if (dry_run)
    ok = fk_roster_preview (roster, store, outing, service, &report, &error);
  else
    ok = fk_roster_import (roster, store, outing, service, whole, &report, &error);
  if (!ok && !g_error_matches (error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED))
    return fk_cli_fail (error);
  /* A preview with --all-or-nothing says whether the import would refuse. */
  if (ok && dry_run && whole && report.refused > 0)
    {
      g_set_error (&error, FK_ROSTER_ERROR, FK_ROSTER_ERROR_REFUSED,
                   _("%u of %u rows have problems, and the roster is to be taken whole or not at all: the import would take nothing."),
                   report.refused, report.rows);
      report.taken = 0;
      ok = FALSE;
    }

  fk_cli_say (_("File: %s, %s-separated."),
              fk_roster_encoding_label (roster), fk_roster_separator_label (roster));
  ignored = fk_roster_ignored_columns (roster);
  if (ignored[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (_(", "), (char **) ignored);

      fk_cli_say (_("Columns ignored: %s."), list);
    }
  if (!fk_roster_has_birth_dates (roster))
    fk_cli_say ("%s", _("The file has no birth-date column: ages were not checked."));
  fk_cli_say (dry_run ? _("Rows read: %u. Would be taken: %u. Refused: %u.")
                      : _("Rows read: %u. Taken: %u. Refused: %u."),
              report.rows, report.taken, report.refused);
  if (dry_run)
    for (guint i = 0; i < fk_roster_n_rows (roster); i++)
      say_roster_row (fk_roster_row (roster, i));
  else
    for (guint i = 0; i < report.refused_rows->len; i++)
      say_roster_row (report.refused_rows->pdata[i]);
  if (dry_run)
    fk_cli_say ("%s", _("Preview only: nothing was saved."));
  else if (report.case_ids->len > 0)
    fk_cli_say (_("%u draft cases made in outing %s, in class and seat order: %" PRId64 " to %" PRId64 "."),
                report.case_ids->len, outing,
                g_array_index (report.case_ids, gint64, 0),
                g_array_index (report.case_ids, gint64, report.case_ids->len - 1));
  if (!ok)
    g_printerr ("%s: %s\n", _("error"), error->message);

  json_builder_begin_object (b);
  fk_cli_add_bool (b, "ok", ok);
  if (!ok)
    {
      json_builder_set_member_name (b, "error");
      json_builder_begin_object (b);
      fk_cli_add_str (b, "code", error_code (error));
      fk_cli_add_str (b, "message", error->message);
      json_builder_end_object (b);
    }
  fk_cli_add_bool (b, "dry_run", dry_run);
  fk_cli_add_str (b, "outing", outing);
  fk_cli_add_str (b, "service", service);
  fk_cli_add_str (b, "encoding", fk_roster_encoding (roster));
  fk_cli_add_str (b, "separator", fk_roster_separator (roster));
  fk_cli_add_int (b, "rows", report.rows);
  fk_cli_add_int (b, "taken", report.taken);
  fk_cli_add_int (b, "refused", report.refused);
  json_builder_set_member_name (b, "ignored_columns");
  json_builder_begin_array (b);
  for (guint i = 0; ignored[i] != NULL; i++)
    json_builder_add_string_value (b, ignored[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "refused_rows");
  json_builder_begin_array (b);
  for (guint i = 0; i < report.refused_rows->len; i++)
    roster_row_json (b, report.refused_rows->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "case_ids");
  json_builder_begin_array (b);
  for (guint i = 0; i < report.case_ids->len; i++)
    json_builder_add_int_value (b, g_array_index (report.case_ids, gint64, i));
  json_builder_end_array (b);
  if (dry_run)
    {
      json_builder_set_member_name (b, "preview");
      json_builder_begin_array (b);
      for (guint i = 0; i < fk_roster_n_rows (roster); i++)
        roster_row_json (b, fk_roster_row (roster, i));
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  fk_cli_emit (json_builder_get_root (b));
  return ok ? FK_EXIT_OK : FK_EXIT_REFUSED;
}

static int
cmd_handover (const FkArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autofree char *outing = NULL;
  gint64 n;

  if (!fk_cli_check_options (args, NULL))
    return FK_EXIT_USAGE;
  if (g_strcmp0 (fk_args_word (args, 1), "import") != 0 || fk_args_word (args, 2) == NULL)
    return fk_cli_usage ("fieldkit-cli handover import FILE");
  store = open_unlocked (args, &error);
  if (store == NULL || (n = fk_handover_import (store, fk_args_word (args, 2), &outing, &error)) < 0)
    return fk_cli_fail (error);
  fk_cli_say (_("%" PRId64 " card(s) to hand over, in outing %s."),
              n, outing ? outing : "-");
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_int (b, "cases", n);
      fk_cli_add_str (b, "outing", outing);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

/* ---- commands: class summary ------------------------------------------------------ */

static int
cmd_class_summary (const FkArgs *args)
{
  static const char *const allowed[] = { "output", "service", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FkStore) store = NULL;
  g_autoptr(FkClassSummary) summary = NULL;
  g_autofree char *progress = NULL;
  g_autofree char *lower = NULL;
  const char *outing = fk_args_word (args, 1);
  const char *output = fk_args_opt (args, "output");

  if (!fk_cli_check_options (args, allowed))
    return FK_EXIT_USAGE;
  if (outing == NULL || fk_args_word (args, 2) != NULL || output == NULL || *output == '\0')
    return fk_cli_usage ("fieldkit-cli class-summary OUTING --output FILE.csv|FILE.pdf [--service S]");
  lower = g_ascii_strdown (output, -1);
  if (!g_str_has_suffix (lower, ".csv") && !g_str_has_suffix (lower, ".pdf"))
    return fk_cli_usage (_("--output must end in .csv or .pdf"));
  store = open_unlocked (args, &error);
  if (store == NULL)
    return fk_cli_fail (error);
  summary = fk_class_summary_new (store, outing, fk_args_opt (args, "service"), &error);
  if (summary == NULL || !fk_class_summary_write (summary, output, &error))
    return fk_cli_fail (error);
  progress = fk_class_summary_progress (summary);
  fk_cli_say (_("Class summary of %s written to %s: %s."),
              summary->outing_id, output, progress);
  fk_cli_say ("%s", _("The file holds the students' names: hand it only to the school and the office."));
  if (fk_cli_json ())
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      fk_cli_add_str (b, "file", output);
      fk_cli_add_str (b, "outing", summary->outing_id);
      fk_cli_add_int (b, "students", summary->rows->len);
      json_builder_set_member_name (b, "states");
      json_builder_begin_object (b);
      for (int s = FK_DRIVE_NOT_SEEN; s <= FK_DRIVE_RETURNED; s++)
        fk_cli_add_int (b, fk_drive_state_name ((FkDriveState) s), summary->n_state[s]);
      json_builder_end_object (b);
      fk_cli_emit (fk_cli_ok_document (b));
    }
  return FK_EXIT_OK;
}

/* ---- help and main --------------------------------------------------------------- */

static int
cmd_help (const FkArgs *args)
{
  const char *text = _("fieldkit-cli [--data-dir DIR] [--operator ID] [--json] [--passphrase-file F] COMMAND\n"
    "The passphrase comes from FIELDKIT_PASSPHRASE, --passphrase-file, or a prompt; never the command line.\n"
    "\n"
    "  init --operator ID --name NAME [--office-code CODE] [--device-number N]\n"
    "  operator add --id ID --name NAME [--role staff|supervisor]   (new passphrase: FIELDKIT_NEW_PASSPHRASE)\n"
    "  operator list\n"
    "  recover                      new passphrase with the recovery key (FIELDKIT_RECOVERY_KEY)\n"
    "  check-id VALUE...            national ID, resident number or certificate card number\n"
    "  outing new --kind KIND --title T --date DATE [--place P]\n"
    "  outing list\n"
    "  case new --outing O --service S --person-id ID --name NAME [--birth DATE]\n"
    "           [--field KEY=VALUE]... [--photo FILE] [--signature FILE]\n"
    "  case tick CASE ITEM...|--all   case set CASE KEY=VALUE...\n"
    "  case attach CASE [--photo FILE] [--signature FILE] [--guardian-signature FILE]\n"
    "  case check|approve|finalize CASE   case show CASE   case list [--outing O] [--status S]\n"
    "  find ID                      cases of a person, by ID number\n"
    "  audit verify                 check the audit log and every stored record\n"
    "  enroll URL --code CODE --fingerprint FP   enrol this device with the office\n"
    "  sync                         upload sealed cases, fetch the office's answers\n"
    "  outbox [retry PACKET]        what waits to go to the office; retry a quarantined one\n"
    "  bundle export FILE           everything waiting, as one file for a USB stick\n"
    "  receipt CASE --output FILE.pdf [--format slip|a4]   the receipt of a sealed case (80 mm slip or A4)\n"
    "  case correct CASE [--person-id ID --name NAME [--birth DATE] …]\n"
    "                               a returned case as a new draft version; the person given again\n"
    "                               when their data was removed after upload (the default)\n"
    "  roster import OUTING FILE [--service S] [--all-or-nothing] [--dry-run]\n"
    "                               a class roster (CSV/TSV, UTF-8 or Big5) as draft cases\n"
    "  class-summary OUTING --output FILE.csv|FILE.pdf   a school drive's students and where each stands\n"
    "  limits [override --hours N]  the safety limits; a supervisor may override them\n"
    "  handover import FILE         a card hand-over list exported by the office\n"
    "\n"
    "Exit codes: 0 ok, 1 refused (the message says why), 2 usage, 3 internal failure.\n");

  fputs (text, stdout);
  return FK_EXIT_OK;
}

static const FkCommand commands[] = {
  { "init", cmd_init },
  { "operator", cmd_operator },
  { "recover", cmd_recover },
  { "check-id", cmd_check_id },
  { "outing", cmd_outing },
  { "case", cmd_case },
  { "find", cmd_find },
  { "audit", cmd_audit },
  { "enroll", cmd_enroll },
  { "sync", cmd_sync },
  { "bundle", cmd_bundle },
  { "outbox", cmd_outbox },
  { "limits", cmd_limits },
  { "handover", cmd_handover },
  { "receipt", cmd_receipt },
  { "roster", cmd_roster },
  { "class-summary", cmd_class_summary },
  { "help", cmd_help },
  { NULL }
};

static const char *const flag_options[] = { "json", "all", "all-or-nothing", "dry-run", "help", "version", NULL };
static const char *const global_options[] = { "data-dir", "operator", "json", "passphrase-file", "lang", "help", NULL };

/* fk_cli_fail takes code 0 of the store's domain as an internal failure. */
G_STATIC_ASSERT (FK_STORE_ERROR_FAILED == 0);

static const FkCliProgram program = {
  .name = "fieldkit-cli",
  .usage_hint = N_("Run \"fieldkit-cli help\" for the list of commands."),
  .flags = flag_options,
  .global = global_options,
  .commands = commands,
  .version = TRUE,
  .error_domain = fk_store_error_quark,
  .invalid_code = FK_STORE_ERROR_INVALID,
  .error_code = error_code,
};

int
main (int    argc,
      char **argv)
{
  return fk_cli_main (&program, argc, argv);
}
