/* fk-ui-util.c — see fk-ui-util.h. */
#include "ui/fk-ui-util.h"

#include <string.h>

#include <adwaita.h>

#include "app/fk-date.h"
#include "crypto/fk-i18n.h"

/* ---- accessibility -------------------------------------------------------- */

void
fk_ui_name (gpointer    widget,
            const char *label)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

void
fk_ui_describe (gpointer   widget,
                GtkWidget *description)
{
  gtk_accessible_update_relation (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, description, NULL,
                                  -1);
}

/* ---- widgets -------------------------------------------------------------- */

GtkWidget *
fk_ui_icon_button (const char *icon_name,
                   const char *label)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon_name);

  gtk_widget_set_tooltip_text (button, label);
  fk_ui_name (button, label);
  return button;
}

GtkWidget *
fk_ui_button (const char *label,
              const char *css_class)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  if (css_class)
    gtk_widget_add_css_class (button, css_class);
  fk_ui_name (button, label);
  return button;
}

GtkWidget *
fk_ui_label (const char *text,
             const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_widget_set_halign (label, GTK_ALIGN_FILL);
  if (css_class)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

GtkWidget *
fk_ui_entry (const char  *caption,
             GtkWidget  **box_out,
             GtkWidget  **reason_out)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *cap = fk_ui_label (caption, "heading");
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *reason = fk_ui_label ("", "fk-reason");

  gtk_widget_set_visible (reason, FALSE);
  gtk_box_append (GTK_BOX (box), cap);
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), reason);
  fk_ui_name (entry, caption);
  fk_ui_describe (entry, reason);
  if (box_out)
    *box_out = box;
  if (reason_out)
    *reason_out = reason;
  return entry;
}

char *
fk_ui_id_note (FkIdKind    kind,
               const char *normalized)
{
  return g_strdup_printf ("✓ %s %s", fk_id_kind_label (kind), normalized);
}

GtkWidget *
fk_ui_ask (GtkWindow  *parent,
           const char *heading,
           const char *body,
           GtkWidget  *extra,
           const char *response,
           const char *label)
{
  GtkWidget *dialog = adw_message_dialog_new (parent, heading, body);

  if (extra)
    adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), extra);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("Cancel"),
                                    response, label, NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), response, ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), response);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  return dialog;
}

/* problem: the text says what is wrong (the label in the colour of a
 * reason, the entry marked invalid for screen readers too); else it
 * confirms the value. */
static void
entry_note (GtkWidget  *entry,
            GtkWidget  *reason,
            const char *text,
            gboolean    problem)
{
  gboolean invalid = text != NULL && problem;

  gtk_label_set_text (GTK_LABEL (reason), text ? text : "");
  gtk_widget_set_visible (reason, text != NULL);
  gtk_widget_remove_css_class (reason, problem ? "fk-ok" : "fk-reason");
  gtk_widget_add_css_class (reason, problem ? "fk-reason" : "fk-ok");
  if (invalid)
    gtk_widget_add_css_class (entry, "error");
  else
    gtk_widget_remove_css_class (entry, "error");
  gtk_accessible_update_state (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_STATE_INVALID,
                               invalid ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE, -1);
}

void
fk_ui_entry_set_reason (GtkWidget  *entry,
                        GtkWidget  *reason,
                        const char *text)
{
  entry_note (entry, reason, text, TRUE);
}

void
fk_ui_entry_set_confirmation (GtkWidget  *entry,
                              GtkWidget  *reason,
                              const char *text)
{
  entry_note (entry, reason, text, FALSE);
}

GtkWidget *
fk_ui_wrap_button (const char *text,
                   const char *name,
                   const char *css_class)
{
  GtkWidget *b = gtk_button_new ();
  GtkWidget *l = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (l), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (l), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_justify (GTK_LABEL (l), GTK_JUSTIFY_CENTER);
  gtk_button_set_child (GTK_BUTTON (b), l);
  if (css_class)
    gtk_widget_add_css_class (b, css_class);
  fk_ui_name (b, name);
  return b;
}

void
fk_ui_wrap_button_set_text (GtkWidget  *button,
                            const char *text,
                            const char *name)
{
  gtk_label_set_text (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (button))), text);
  fk_ui_name (button, name);
}

GtkWidget *
fk_ui_key_shortcuts (GtkWidget  *widget,
                     const char *keys)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_KEY_SHORTCUTS, keys, -1);
  return widget;
}

GtkWidget *
fk_ui_section (GtkWidget  *parent,
               const char *title)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  if (title)
    gtk_box_append (GTK_BOX (box), fk_ui_label (title, "heading"));
  gtk_box_append (GTK_BOX (parent), box);
  return box;
}

void
fk_ui_box_clear (GtkWidget *box)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (box)) != NULL)
    {
      if (GTK_IS_LIST_BOX (box))
        gtk_list_box_remove (GTK_LIST_BOX (box), child);
      else
        gtk_box_remove (GTK_BOX (box), child);
    }
}

void
fk_ui_scroll_to (GtkWidget *scrolled_window,
                 GtkWidget *widget)
{
  GtkAdjustment *adj;
  GtkWidget *child;
  graphene_point_t at;
  double top, bottom, value, page;

  g_return_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled_window));
  g_return_if_fail (GTK_IS_WIDGET (widget));

  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled_window));
  child = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scrolled_window));
  if (child == NULL || !gtk_widget_compute_point (widget, child, &GRAPHENE_POINT_INIT (0, 0), &at))
    return;
  /* The child (a GtkViewport, or a scrollable widget) has the visible
   * area's coordinates, which move with the scroll: adding the scroll
   * gives the place in the content, which the adjustment counts in. */
  value = gtk_adjustment_get_value (adj);
  page = gtk_adjustment_get_page_size (adj);
  top = value + at.y - 40;
  bottom = value + at.y + gtk_widget_get_height (widget) + 8;
  if (top < value || bottom > value + page)
    gtk_adjustment_set_value (adj, CLAMP (top, gtk_adjustment_get_lower (adj),
                                          gtk_adjustment_get_upper (adj) - page));
}

void
fk_ui_scroll_to_top (GtkWidget *scrolled_window)
{
  g_return_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled_window));

  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled_window)), 0);
}

/* ---- passphrase strength --------------------------------------------------- */

int
fk_ui_passphrase_strength (const char *passphrase)
{
  glong len = passphrase ? g_utf8_strlen (passphrase, -1) : 0;
  gboolean lower = FALSE, upper = FALSE, digit = FALSE, other = FALSE, space = FALSE;
  guint distinct = 0;
  gunichar seen[64];
  int score;

  for (const char *p = passphrase; p && *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean known = FALSE;

      lower |= g_unichar_islower (c);
      upper |= g_unichar_isupper (c);
      digit |= g_unichar_isdigit (c);
      space |= g_unichar_isspace (c);
      other |= !g_unichar_isalnum (c) && !g_unichar_isspace (c);
      for (guint i = 0; i < distinct && !known; i++)
        known = seen[i] == c;
      if (!known && distinct < G_N_ELEMENTS (seen))
        seen[distinct++] = c;
    }

  if (len < 8)
    return 0;
  score = 1;
  if (len >= 12)
    score++;
  if (len >= 20)
    score++;
  if ((lower + upper + digit + other + space) >= 3)
    score++;
  if (distinct < 6)
    score = MIN (score, 1);
  return CLAMP (score, 0, 4);
}

const char *
fk_ui_strength_label (int score)
{
  switch (score)
    {
    case 0: return _("Too short: use at least 8 characters");
    case 1: return _("Weak: a short sentence is stronger");
    case 2: return _("Fair");
    case 3: return _("Good");
    default: return _("Strong");
    }
}

/* ---- dates and times ------------------------------------------------------ */

char *
fk_ui_format_time (gint64 us)
{
  char *text = fk_time_local_text (us);

  return text ? text : g_strdup ("—");
}

char *
fk_ui_format_date (const char *iso)
{
  GDate d;

  if (iso == NULL || !fk_date_parse (iso, &d, NULL))
    return g_strdup (iso ? iso : "—");
  return fk_lang_is_zh () ? fk_date_to_roc (&d) : fk_date_to_iso (&d);
}

/* ---- secrets -------------------------------------------------------------- */

FkSecret *
fk_ui_secret_new (const char *text)
{
  /* Stored with its terminating NUL so it can be handed on as a C string. */
  return fk_secret_new_from ((const guint8 *) text, strlen (text) + 1);
}

const char *
fk_ui_secret_text (const FkSecret *secret)
{
  return secret ? (const char *) fk_secret_bytes (secret) : NULL;
}
