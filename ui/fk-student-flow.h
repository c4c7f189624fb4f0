/* fk-student-flow.h — what the pages that walk through an outing one
 * student at a time share: the school drive (fk-drive-page.c) and the card
 * hand-over (fk-handover-page.c).
 *
 * Such a page takes the place of the outing page's own children while it
 * is open and gives them back when it closes; it has a progress line at
 * the top, a screen per student whose header (position, name, one line of
 * detail, state, what stands in the way) and bottom bar (previous, the
 * page's own main button, next, the list) look the same on both pages, a
 * list screen with one row per student, and keys that work wherever the
 * focus is on the page.  What a page does with a student (seal, hand over)
 * and how it picks the next one stay in the page: the two differ.
 *
 * Nothing here keeps state of its own; the widgets belong to the page. */
#pragma once

#include <gtk/gtk.h>

#include "ui/fk-window.h"

G_BEGIN_DECLS

/* ---- in the outing page ---- */

/* Hides host's visible children (remembering which) and shows page in
 * their place. */
void        fk_student_flow_take_over   (GtkWidget  *host,
                                         GtkWidget  *page);
/* The page of type page_type shown in host, or NULL. */
GtkWidget  *fk_student_flow_find        (GtkWidget  *host,
                                         GType       page_type);
/* Removes page from its host, shows again what fk_student_flow_take_over
 * hid and refreshes the host when it is an outing page. */
void        fk_student_flow_give_back   (GtkWidget  *page);

typedef void (*FkStudentFlowOpenFunc) (FkWindow   *window,
                                       GtkWidget  *host,
                                       const char *outing_id);
/* A button of the outing page that calls open (window, host, outing_id)
 * when clicked. */
GtkWidget  *fk_student_flow_entry_button (const char            *label,
                                          const char            *css_class,
                                          const char            *tooltip,
                                          FkStudentFlowOpenFunc  open,
                                          FkWindow              *window,
                                          GtkWidget             *host,
                                          const char            *outing_id);

/* ---- students ---- */

/* "801 · seat 5 · name", with "—" for what is not known. */
char       *fk_student_flow_title       (const char  *school_class,
                                         const char  *seat,
                                         const char  *name);
/* The order both pages take students in: class, then seat
 * (fk_class_summary_compare_seats: seat 2 before seat 10, those without
 * last), then case id. */
int         fk_student_flow_compare     (const char  *class_a,
                                         const char  *seat_a,
                                         gint64       case_a,
                                         const char  *class_b,
                                         const char  *seat_b,
                                         gint64       case_b);

/* ---- the page ---- */

/* The line at the top that is always there; *progress gets its label
 * (described to a screen reader as description).  The page appends its
 * buttons to the returned box. */
GtkWidget  *fk_student_flow_progress_line (const char  *description,
                                           GtkWidget  **progress);
/* Shows text on the progress label and names it with it. */
void        fk_student_flow_set_progress  (GtkWidget   *progress,
                                           const char  *text);

typedef struct {
  const char *accel;            /* gtk_shortcut_trigger_parse_string */
  const char *what;             /* the callback's argument (a string) */
} FkStudentFlowKey;

/* The page's keys: global and in the capture phase, so that they work
 * wherever the focus is on the page.  callback gets page as user data and
 * the key's what as a string argument. */
void        fk_student_flow_add_keys    (GtkWidget              *page,
                                         const FkStudentFlowKey *keys,
                                         gsize                   n_keys,
                                         GtkShortcutFunc         callback);
/* Whether the focus is in a text field of page's window: there Enter
 * belongs to the field first (an input method commits with it, a scanner
 * ends a number with it) and the field's "activate" moves on. */
gboolean    fk_student_flow_focus_in_field (GtkWidget *page);
/* Whether page is on screen showing stack's child named screen. */
gboolean    fk_student_flow_screen_shown (GtkWidget  *page,
                                          GtkWidget  *stack,
                                          const char *screen);

/* A column at most max_width wide with the pages' margins, in a vertical
 * scroller; returns the scroller, *box gets the column. */
GtkWidget  *fk_student_flow_scroller    (int          max_width,
                                         int          spacing,
                                         GtkWidget  **box);

/* ---- a student's screen ---- */

typedef struct {
  GtkWidget *position;          /* "Student 3 of 30" and the like */
  GtkWidget *name;
  GtkWidget *detail;            /* the page's own line under the name */
  GtkWidget *state;
  GtkWidget *problems;          /* one line per problem, hidden when none */
} FkStudentHeader;

void        fk_student_header_build     (FkStudentHeader *header,
                                         GtkWidget       *parent);
/* Shows a student: name may be NULL; done marks the state as finished;
 * problems (char*) may be NULL. */
void        fk_student_header_show      (FkStudentHeader *header,
                                         const char      *position,
                                         const char      *name,
                                         const char      *state,
                                         gboolean         done,
                                         GPtrArray       *problems);

/* The bar under a student's screen, appended to outer under a separator;
 * the page appends its buttons to it. */
GtkWidget  *fk_student_flow_bar         (GtkWidget   *outer);
/* Previous student (Alt+B). */
GtkWidget  *fk_student_flow_prev_button (void);
/* Next student (Alt+N); name is what a screen reader says. */
GtkWidget  *fk_student_flow_next_button (const char  *name);

/* ---- the list of students ---- */

/* An empty list of students (boxed, no selection) named name. */
GtkWidget  *fk_student_flow_list        (const char  *name);
/* A row of that list: the student and their state, activatable. */
GtkWidget  *fk_student_flow_row         (const char  *title,
                                         const char  *state);

/* ---- store work ---- */

/* Called on the main thread when the job is back, whatever became of the
 * page meanwhile (it checks that itself); error is set when !ok. */
typedef void (*FkStudentFlowJobDone) (gpointer      page,
                                      gpointer      job,
                                      gboolean      ok,
                                      const GError *error);
/* Runs func (store, job) as a window job (fk_window_run_job), holding a
 * reference on page until done has been called; job_free frees job
 * after that. */
void        fk_student_flow_run_job     (FkWindow              *window,
                                         gpointer               page,
                                         FkStoreJobFunc         func,
                                         gpointer               job,
                                         GDestroyNotify         job_free,
                                         FkStudentFlowJobDone   done);

G_END_DECLS
