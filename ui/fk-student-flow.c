/* fk-student-flow.c — see fk-student-flow.h. */
#include "ui/fk-student-flow.h"

#include "app/fk-class-summary.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-pages.h"
#include "ui/fk-ui-util.h"

/* Set on the outing page's children that a student flow hid. */
#define HIDDEN_KEY "fk-student-flow-hidden"

/* ---- students ------------------------------------------------------------------ */

char *
fk_student_flow_title (const char *school_class,
                       const char *seat,
                       const char *name)
{
  return g_strdup_printf (_("%s · seat %s · %s"), school_class && *school_class ? school_class : "—",
                          seat && *seat ? seat : "—", name ? name : "—");
}

int
fk_student_flow_compare (const char *class_a,
                         const char *seat_a,
                         gint64      case_a,
                         const char *class_b,
                         const char *seat_b,
                         gint64      case_b)
{
  int c = fk_class_summary_compare_seats (class_a, seat_a, class_b, seat_b);

  if (c != 0)
    return c;
  return case_a < case_b ? -1 : case_a > case_b;
}

/* ---- in the outing page ------------------------------------------------------ */

void
fk_student_flow_take_over (GtkWidget *host,
                           GtkWidget *page)
{
  for (GtkWidget *c = gtk_widget_get_first_child (host); c; c = gtk_widget_get_next_sibling (c))
    if (gtk_widget_get_visible (c))
      {
        g_object_set_data (G_OBJECT (c), HIDDEN_KEY, GINT_TO_POINTER (1));
        gtk_widget_set_visible (c, FALSE);
      }
  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (host), page);
}

GtkWidget *
fk_student_flow_find (GtkWidget *host,
                      GType      page_type)
{
  for (GtkWidget *c = gtk_widget_get_first_child (host); c; c = gtk_widget_get_next_sibling (c))
    if (G_TYPE_CHECK_INSTANCE_TYPE (c, page_type))
      return c;
  return NULL;
}

void
fk_student_flow_give_back (GtkWidget *page)
{
  GtkWidget *host = gtk_widget_get_parent (page);

  if (host == NULL)
    return;
  gtk_box_remove (GTK_BOX (host), page);
  for (GtkWidget *c = gtk_widget_get_first_child (host); c; c = gtk_widget_get_next_sibling (c))
    if (g_object_get_data (G_OBJECT (c), HIDDEN_KEY))
      {
        g_object_set_data (G_OBJECT (c), HIDDEN_KEY, NULL);
        gtk_widget_set_visible (c, TRUE);
      }
  /* The flow may have sealed cases: the list shows them as they are now. */
  if (FK_IS_OUTING_PAGE (host))
    fk_outing_page_refresh (FK_OUTING_PAGE (host));
}

typedef struct {
  FkStudentFlowOpenFunc  open;
  FkWindow              *window;
  GtkWidget             *host;
  char                  *outing_id;
} Entry;

static void
entry_free (gpointer  p,
            GClosure *closure)
{
  Entry *e = p;

  g_free (e->outing_id);
  g_free (e);
}

static void
entry_clicked_cb (GtkButton *button,
                  Entry     *e)
{
  e->open (e->window, e->host, e->outing_id);
}

GtkWidget *
fk_student_flow_entry_button (const char            *label,
                              const char            *css_class,
                              const char            *tooltip,
                              FkStudentFlowOpenFunc  open,
                              FkWindow              *window,
                              GtkWidget             *host,
                              const char            *outing_id)
{
  GtkWidget *button = fk_ui_button (label, css_class);
  Entry *e = g_new0 (Entry, 1);

  e->open = open;
  e->window = window;
  e->host = host;
  e->outing_id = g_strdup (outing_id);
  gtk_widget_set_tooltip_text (button, tooltip);
  g_signal_connect_data (button, "clicked", G_CALLBACK (entry_clicked_cb), e, entry_free, 0);
  return button;
}

/* ---- the page ---------------------------------------------------------------- */

GtkWidget *
fk_student_flow_progress_line (const char  *description,
                               GtkWidget  **progress)
{
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new ("");

  gtk_widget_set_margin_top (top, 6);
  gtk_widget_set_margin_bottom (top, 6);
  gtk_widget_set_margin_start (top, 12);
  gtk_widget_set_margin_end (top, 6);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_hexpand (label, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  description, -1);
  gtk_box_append (GTK_BOX (top), label);
  *progress = label;
  return top;
}

void
fk_student_flow_set_progress (GtkWidget  *progress,
                              const char *text)
{
  gtk_label_set_text (GTK_LABEL (progress), text);
  /* A screen reader says the whole line, not the label's old name. */
  fk_ui_name (progress, text);
}

void
fk_student_flow_add_keys (GtkWidget              *page,
                          const FkStudentFlowKey *keys,
                          gsize                   n_keys,
                          GtkShortcutFunc         callback)
{
  GtkEventController *controller = gtk_shortcut_controller_new ();

  /* Global and in the capture phase: Enter goes on even when a button of
   * the page has the focus, and the keys work wherever the focus is. */
  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (controller), GTK_SHORTCUT_SCOPE_GLOBAL);
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  for (gsize i = 0; i < n_keys; i++)
    {
      GtkShortcutTrigger *trigger = gtk_shortcut_trigger_parse_string (keys[i].accel);
      GtkShortcutAction *action = gtk_callback_action_new (callback, page, NULL);
      GtkShortcut *shortcut = gtk_shortcut_new (trigger, action);

      gtk_shortcut_set_arguments (shortcut, g_variant_new_string (keys[i].what));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_widget_add_controller (page, controller);
}

gboolean
fk_student_flow_focus_in_field (GtkWidget *page)
{
  GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (page));

  return focus && (GTK_IS_TEXT (focus) || GTK_IS_EDITABLE (focus));
}

gboolean
fk_student_flow_screen_shown (GtkWidget  *page,
                              GtkWidget  *stack,
                              const char *screen)
{
  return gtk_widget_get_mapped (page) &&
         g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (stack)), screen) == 0;
}

GtkWidget *
fk_student_flow_scroller (int         max_width,
                          int         spacing,
                          GtkWidget **box)
{
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, spacing);

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), max_width);
  gtk_widget_set_margin_top (column, 12);
  gtk_widget_set_margin_bottom (column, 18);
  gtk_widget_set_margin_start (column, 12);
  gtk_widget_set_margin_end (column, 12);
  adw_clamp_set_child (ADW_CLAMP (clamp), column);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  /* Text wraps instead of scrolling sideways (360 px phones). */
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  *box = column;
  return scroll;
}

/* ---- a student's screen ------------------------------------------------------ */

void
fk_student_header_build (FkStudentHeader *header,
                         GtkWidget       *parent)
{
  header->position = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (parent), header->position);
  header->name = fk_ui_label ("", "title-1");
  gtk_box_append (GTK_BOX (parent), header->name);
  header->detail = fk_ui_label ("", NULL);
  gtk_box_append (GTK_BOX (parent), header->detail);
  header->state = fk_ui_label ("", "heading");
  gtk_box_append (GTK_BOX (parent), header->state);
  /* What stands in the way, right under the state. */
  header->problems = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_visible (header->problems, FALSE);
  gtk_box_append (GTK_BOX (parent), header->problems);
}

void
fk_student_header_show (FkStudentHeader *header,
                        const char      *position,
                        const char      *name,
                        const char      *state,
                        gboolean         done,
                        GPtrArray       *problems)
{
  gtk_label_set_text (GTK_LABEL (header->position), position);
  gtk_label_set_text (GTK_LABEL (header->name), name ? name : "—");
  gtk_label_set_text (GTK_LABEL (header->state), state);
  if (done)
    gtk_widget_add_css_class (header->state, "fk-ok");
  else
    gtk_widget_remove_css_class (header->state, "fk-ok");

  fk_ui_box_clear (header->problems);
  for (guint i = 0; problems && i < problems->len; i++)
    {
      GtkWidget *l = fk_ui_label (problems->pdata[i], "fk-reason");

      fk_ui_name (l, problems->pdata[i]);
      gtk_box_append (GTK_BOX (header->problems), l);
    }
  gtk_widget_set_visible (header->problems, problems != NULL);
}

GtkWidget *
fk_student_flow_bar (GtkWidget *outer)
{
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  /* At the bottom, outside the scroller: always in reach, whatever the
   * scroll. */
  gtk_widget_set_margin_start (bar, 6);
  gtk_widget_set_margin_end (bar, 6);
  gtk_widget_set_margin_top (bar, 4);
  gtk_widget_set_margin_bottom (bar, 6);
  gtk_box_append (GTK_BOX (outer), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (GTK_BOX (outer), bar);
  return bar;
}

GtkWidget *
fk_student_flow_prev_button (void)
{
  GtkWidget *b = fk_ui_key_shortcuts (fk_ui_icon_button ("go-previous-symbolic", _("Previous student (Alt+B)")),
                                      "Alt+B");

  fk_ui_name (b, _("Previous student"));
  return b;
}

GtkWidget *
fk_student_flow_next_button (const char *name)
{
  GtkWidget *b = fk_ui_key_shortcuts (fk_ui_icon_button ("go-next-symbolic", _("Next student (Alt+N)")),
                                      "Alt+N");

  fk_ui_name (b, name);
  return b;
}

/* ---- the list of students ---------------------------------------------------- */

GtkWidget *
fk_student_flow_list (const char *name)
{
  GtkWidget *list = gtk_list_box_new ();

  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  fk_ui_name (list, name);
  return list;
}

GtkWidget *
fk_student_flow_row (const char *title,
                     const char *state)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *spoken = g_strdup_printf ("%s: %s", title, state);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), state);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  /* One name with the state, so that a screen reader says both. */
  fk_ui_name (row, spoken);
  return row;
}

/* ---- store work -------------------------------------------------------------- */

typedef struct {
  GObject              *page;
  gpointer              job;
  FkStudentFlowJobDone  done;
} Call;

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(GObject) page = call->page;
  g_autoptr(GError) error = NULL;
  gboolean ok = fk_window_run_job_finish (FK_WINDOW (source), result, &error);

  call->done (page, call->job, ok, error);
  g_free (call);
}

void
fk_student_flow_run_job (FkWindow             *window,
                         gpointer              page,
                         FkStoreJobFunc        func,
                         gpointer              job,
                         GDestroyNotify        job_free,
                         FkStudentFlowJobDone  done)
{
  Call *call = g_new0 (Call, 1);

  /* The page may be closed (or the window locked) while the job runs: the
   * reference keeps it alive until the answer, which it then ignores. */
  call->page = g_object_ref (page);
  call->job = job;
  call->done = done;
  fk_window_run_job (window, func, job, job_free, NULL, job_done_cb, call);
}
