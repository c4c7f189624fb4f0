/* fk-handover-page.c — the card hand-over (證件交付): weeks after a school
 * drive the office sends a signed list of the cards made (student and card
 * number); fk_store_apply_handover turned it into a card_handover outing
 * with one draft per card.  This page hands them over one student after
 * the other, built around the keyboard and a barcode scanner (which types
 * the number and then Enter):
 *
 *   Alt+I          the receiver's photo ID was seen (the required checklist item)
 *   Alt+C          the card number field (typed or scanned, checked at once
 *                  against the number on the office's list)
 *   Alt+R          who receives: the applicant, a legal representative, a proxy
 *   Alt+S / Alt+G  the receiver's / the guardian's signature pad
 *   Enter          the next step; when nothing is missing, hand over
 *                  (tick, fields, signatures, check, seal) and next
 *   Alt+N / Alt+B  next / previous student
 *   Alt+L          the list of students with their state
 *
 * Handing over runs as a window job (fk_window_run_job): the same store
 * calls the case editor makes — set the fields, tick, attach the
 * signatures, check, finalize.  The page waits for it (a few
 * milliseconds) so that a refusal is shown on the student it is about.
 * Students are the outing's card_handover drafts class by class in seat
 * order, as the roster was (the office's list carries each student's class
 * and seat from the application; students without them come last, in list
 * order); a sealed one shows as handed over and cannot be handed over
 * again.
 *
 * What the clerk typed, ticked and had signed for a student stays with
 * that student, in memory only, while the clerk looks at another one: the
 * two pads hold the signatures of the student on screen, every other
 * student keeps theirs as strokes.  It is wiped when the student is handed
 * over (it is on the case then) and when the page goes (closed, or the
 * window locked). */
#include "ui/fk-pages.h"

#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-signature-pad.h"
#include "ui/fk-student-flow.h"
#include "ui/fk-ui-util.h"

#define HANDOVER_SERVICE  "card_handover"
#define IDENTITY_ITEM     "receiver_identity"
#define N_RECEIVERS       3

static const char *const receiver_values[N_RECEIVERS] = { "self", "legal_representative", "proxy" };

/* ---- types -------------------------------------------------------------------- */

typedef struct {
  gint64        case_id;
  char         *name;
  char         *school_class;   /* "" when the list gave none */
  char         *seat;           /* "" when the list gave none */
  char         *expected;       /* expected_card_number, from the office's list */
  char         *card_kind;
  char         *card;           /* typed or scanned, not written yet */
  guint         receiver;       /* index into receiver_values */
  char         *receiver_name;
  char         *receiver_id;
  gboolean      identity;       /* the receiver's photo ID seen */
  FkCaseStatus  status;
  char         *receipt_no;
  GPtrArray    *problems;       /* after an attempt; NULL when none */
  /* The pads' strokes (fk_signature_pad_take_strokes) while another
   * student is shown; NULL when not signed or while on screen. */
  GPtrArray    *signature;
  GPtrArray    *guardian;
} Student;

struct _FkHandoverPage
{
  GtkBox        parent_instance;

  FkWindow     *window;
  char         *outing_id;
  gboolean      gone;
  gboolean      job_running;
  gboolean      loading;
  gboolean      second_check;

  /* Labels from the catalog, copied: a sync may replace it. */
  char         *identity_label;
  char         *receiver_labels[N_RECEIVERS];
  GHashTable   *kind_labels;    /* card_kind value → label */

  GPtrArray    *students;       /* Student*, by class and seat */
  guint         current;

  GtkWidget    *progress;
  GtkWidget    *stack;
  /* a student */
  GtkWidget    *scroll;
  FkStudentHeader header;       /* its detail: the card on the office's list */
  GtkWidget    *identity;
  GtkWidget    *card;
  GtkWidget    *card_reason;
  GtkWidget    *receivers[N_RECEIVERS];
  GtkWidget    *other_box;
  GtkWidget    *receiver_name;
  GtkWidget    *receiver_name_reason;
  GtkWidget    *receiver_id;
  GtkWidget    *receiver_id_reason;
  GtkWidget    *signature;
  GtkWidget    *signature_clear;
  GtkWidget    *guardian;
  GtkWidget    *guardian_clear;
  GtkWidget    *spinner;
  GtkWidget    *prev_button;
  GtkWidget    *hand_button;
  GtkWidget    *next_button;
  /* the list */
  GtkWidget    *list_title;
  GtkWidget    *list;
};

G_DEFINE_FINAL_TYPE (FkHandoverPage, fk_handover_page, GTK_TYPE_BOX)

typedef struct {
  gint64        case_id;
  char         *card;
  char         *receiver;
  char         *receiver_name;  /* NULL when the applicant receives */
  char         *receiver_id;
  GBytes       *signature;
  GBytes       *guardian;       /* NULL when the guardian did not sign */
  gboolean      second_check;
  /* results */
  GPtrArray    *problems;
  FkCaseStatus  status;
  char         *receipt_no;
} HandJob;

/* ---- prototypes ---------------------------------------------------------------- */

static void show_student (FkHandoverPage *self, guint index);
static void show_list (FkHandoverPage *self);
static void update_progress (FkHandoverPage *self);
static void update_student_view (FkHandoverPage *self);

/* ---- small helpers ------------------------------------------------------------- */

static void
student_free (gpointer p)
{
  Student *s = p;

  fk_wipe_free (s->name);
  g_free (s->school_class);
  g_free (s->seat);
  fk_wipe_free (s->expected);
  g_free (s->card_kind);
  fk_wipe_free (s->card);
  fk_wipe_free (s->receiver_name);
  fk_wipe_free (s->receiver_id);
  g_free (s->receipt_no);
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  g_clear_pointer (&s->signature, g_ptr_array_unref);
  g_clear_pointer (&s->guardian, g_ptr_array_unref);
  g_free (s);
}

static void
hand_job_free (gpointer p)
{
  HandJob *job = p;

  fk_wipe_free (job->card);
  g_free (job->receiver);
  fk_wipe_free (job->receiver_name);
  fk_wipe_free (job->receiver_id);
  g_clear_pointer (&job->signature, g_bytes_unref);
  g_clear_pointer (&job->guardian, g_bytes_unref);
  g_clear_pointer (&job->problems, g_ptr_array_unref);
  g_free (job->receipt_no);
  g_free (job);
}

static Student *
current_student (FkHandoverPage *self)
{
  return self->current < self->students->len ? self->students->pdata[self->current] : NULL;
}

static Student *
find_student (FkHandoverPage *self,
              gint64          case_id)
{
  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];

      if (s->case_id == case_id)
        return s;
    }
  return NULL;
}

static gboolean
is_done (const Student *s)
{
  return s != NULL && s->status >= FK_CASE_SEALED && s->status != FK_CASE_RETURNED;
}

static gboolean
page_active (FkHandoverPage *self,
             const char     *screen)
{
  return !self->gone && fk_student_flow_screen_shown (GTK_WIDGET (self), self->stack, screen);
}

/* A card number as the list and the store compare it: no spaces around,
 * upper case (store: g_ascii_strcasecmp). */
static char *
normalize_card (const char *text)
{
  g_autofree char *up = g_ascii_strup (text ? text : "", -1);

  return g_strdup (g_strstrip (up));
}

/* "••••••0001": only the last four characters of a card number show. */
static char *
mask_card (const char *card)
{
  glong len = card ? g_utf8_strlen (card, -1) : 0;
  GString *out = g_string_new (NULL);

  if (len == 0)
    return g_string_free (out, FALSE);
  for (glong i = 0; i < len - 4; i++)
    g_string_append (out, "•");
  g_string_append (out, g_utf8_offset_to_pointer (card, MAX (len - 4, 0)));
  return g_string_free (out, FALSE);
}

static const char *
last_four (const char *card)
{
  glong len = g_utf8_strlen (card, -1);

  return g_utf8_offset_to_pointer (card, MAX (len - 4, 0));
}

/* Why the typed number is not the card on the list, or NULL when it is
 * (or may still become it while being typed: partial is TRUE). */
static char *
card_reason (const Student *s,
             const char    *typed,
             gboolean       partial)
{
  g_autofree char *card = normalize_card (typed);
  g_autofree char *expected = normalize_card (s->expected);
  glong n = g_utf8_strlen (card, -1), want = g_utf8_strlen (expected, -1);

  if (*expected == '\0' || g_str_equal (card, expected))
    return NULL;
  if (*card == '\0')
    return partial ? NULL : g_strdup (_("Type or scan the card number (Alt+C)."));
  if (partial && n < want && g_str_has_prefix (expected, card))
    return NULL;
  if (n != want)
    return g_strdup_printf (_("This number has %ld characters; the card on the office's list has %ld. "
                              "Check the card, or scan it again."), n, want);
  return g_strdup_printf (_("This is not the card on the office's list: it ends in %s, the list's card ends in %s. "
                            "Check that you hold the right card."), last_four (card), last_four (expected));
}

static gboolean
other_receiver (const Student *s)
{
  return s->receiver != 0;
}

static char *
receiver_id_reason (const Student *s)
{
  g_autoptr(GError) error = NULL;

  if (s->receiver_id == NULL || *s->receiver_id == '\0')
    return NULL;
  if (!fk_person_id_check (s->receiver_id, NULL, NULL, &error))
    return g_strdup (error->message);
  return NULL;
}

static char *
student_status (FkHandoverPage *self,
                const Student  *s)
{
  if (is_done (s))
    return g_strdup_printf (_("Handed over · receipt %s"), s->receipt_no ? s->receipt_no : "—");
  if (s->problems)
    return g_strdup (_("Needs attention"));
  if (s->status == FK_CASE_CHECKED || s->status == FK_CASE_APPROVED)
    return g_strdup (_("Checked: waits for a second check"));
  return g_strdup (_("Waiting"));
}

/* Handed over: what was typed and signed is on the case now, so the page
 * keeps no more of it than a handed-over student's screen shows (the
 * card's last four characters). */
static void
student_forget_unsaved (Student *s)
{
  char *masked = mask_card (s->card);

  fk_wipe_free (s->card);
  s->card = masked;
  g_clear_pointer (&s->receiver_name, fk_wipe_free);
  g_clear_pointer (&s->receiver_id, fk_wipe_free);
  g_clear_pointer (&s->signature, g_ptr_array_unref);
  g_clear_pointer (&s->guardian, g_ptr_array_unref);
}

/* Leaving student s: the signatures on the pads go with them, or are
 * wiped when s is handed over. */
static void
pads_leave (FkHandoverPage *self,
            Student        *s)
{
  g_autoptr(GPtrArray) signature = fk_signature_pad_take_strokes (FK_SIGNATURE_PAD (self->signature));
  g_autoptr(GPtrArray) guardian = fk_signature_pad_take_strokes (FK_SIGNATURE_PAD (self->guardian));

  if (s == NULL || is_done (s))
    return;
  g_clear_pointer (&s->signature, g_ptr_array_unref);
  s->signature = g_steal_pointer (&signature);
  g_clear_pointer (&s->guardian, g_ptr_array_unref);
  s->guardian = g_steal_pointer (&guardian);
}

/* Coming to student s: the pads show what s signed before, if anything. */
static void
pads_enter (FkHandoverPage *self,
            Student        *s)
{
  fk_signature_pad_set_strokes (FK_SIGNATURE_PAD (self->signature), g_steal_pointer (&s->signature));
  fk_signature_pad_set_strokes (FK_SIGNATURE_PAD (self->guardian), g_steal_pointer (&s->guardian));
}

/* ---- loading the list ------------------------------------------------------------ */

static void
student_fill (Student      *s,
              const FkCase *c)
{
  const char *v;

  s->case_id = c->id;
  fk_wipe_free (s->name);
  s->name = g_strdup (c->name);
  g_free (s->school_class);
  v = c->fields ? g_hash_table_lookup (c->fields, "school_class") : NULL;
  s->school_class = g_strdup (v ? v : "");
  g_free (s->seat);
  v = c->fields ? g_hash_table_lookup (c->fields, "seat_number") : NULL;
  s->seat = g_strdup (v ? v : "");
  fk_wipe_free (s->expected);
  v = c->fields ? g_hash_table_lookup (c->fields, "expected_card_number") : NULL;
  s->expected = g_strdup (v ? v : "");
  g_free (s->card_kind);
  v = c->fields ? g_hash_table_lookup (c->fields, "card_kind") : NULL;
  s->card_kind = g_strdup (v);
  if (s->card == NULL)
    {
      v = c->fields ? g_hash_table_lookup (c->fields, "card_number") : NULL;
      s->card = g_strdup (v ? v : "");
    }
  v = c->fields ? g_hash_table_lookup (c->fields, "receiver") : NULL;
  s->receiver = 0;
  for (guint i = 0; v && i < N_RECEIVERS; i++)
    if (g_str_equal (v, receiver_values[i]))
      s->receiver = i;
  if (s->receiver_name == NULL)
    {
      v = c->fields ? g_hash_table_lookup (c->fields, "receiver_name") : NULL;
      s->receiver_name = g_strdup (v ? v : "");
      v = c->fields ? g_hash_table_lookup (c->fields, "receiver_id") : NULL;
      s->receiver_id = g_strdup (v ? v : "");
    }
  s->identity = c->ticked != NULL && g_strv_contains ((const char * const *) c->ticked, IDENTITY_ITEM);
  s->status = c->status;
  g_free (s->receipt_no);
  s->receipt_no = g_strdup (c->receipt_no);
  if (is_done (s))
    student_forget_unsaved (s);
}

/* Class by class in seat order, those the list gave none last
 * (fk_student_flow_compare). */
static int
compare_students (gconstpointer a,
                  gconstpointer b)
{
  const Student *sa = *(const Student * const *) a;
  const Student *sb = *(const Student * const *) b;

  return fk_student_flow_compare (sa->school_class, sa->seat, sa->case_id, sb->school_class, sb->seat, sb->case_id);
}

/* "801 · seat 5 · 陳小明", or the name alone when the list gave no class
 * and no seat. */
static char *
student_title (const Student *s)
{
  if (*s->school_class == '\0' && *s->seat == '\0')
    return g_strdup (s->name ? s->name : "—");
  return fk_student_flow_title (s->school_class, s->seat, s->name);
}

static void
load_students (FkHandoverPage *self,
               FkStore        *store)
{
  g_autoptr(GPtrArray) cases = fk_store_cases (store, self->outing_id, NULL, NULL);

  for (guint i = 0; cases && i < cases->len; i++)
    {
      const FkCase *c = cases->pdata[i];
      Student *s;

      if (g_strcmp0 (c->service, HANDOVER_SERVICE) != 0 || c->damaged)
        continue;
      s = find_student (self, c->id);
      if (s == NULL)
        {
          s = g_new0 (Student, 1);
          g_ptr_array_add (self->students, s);
        }
      student_fill (s, c);
    }
  g_ptr_array_sort (self->students, compare_students);
}

/* ---- handing over ------------------------------------------------------------------- */

static gboolean
hand_job_run (FkStore  *store,
              gpointer  data,
              GError  **error)
{
  HandJob *job = data;
  const char *identity[] = { IDENTITY_ITEM, NULL };

  if (!fk_store_case_set_field (store, job->case_id, "card_number", job->card, error) ||
      !fk_store_case_set_field (store, job->case_id, "receiver", job->receiver, error) ||
      !fk_store_case_set_field (store, job->case_id, "receiver_name", job->receiver_name, error) ||
      !fk_store_case_set_field (store, job->case_id, "receiver_id", job->receiver_id, error) ||
      !fk_store_case_tick (store, job->case_id, identity, FALSE, error) ||
      !fk_store_case_attach (store, job->case_id, "signature", "image/png", job->signature, error))
    return FALSE;
  if (job->guardian &&
      !fk_store_case_attach (store, job->case_id, "guardian_signature", "image/png", job->guardian, error))
    return FALSE;
  job->status = FK_CASE_DRAFT;
  job->problems = fk_store_case_problems (store, job->case_id, error);
  if (job->problems == NULL)
    return FALSE;
  if (job->problems->len > 0)
    return TRUE;
  g_clear_pointer (&job->problems, g_ptr_array_unref);
  if (!fk_store_case_check (store, job->case_id, error))
    return FALSE;
  job->status = FK_CASE_CHECKED;
  /* The catalog says a hand-over needs no second check; should an office
   * catalog ever ask for one, the case waits for it in the case editor. */
  if (job->second_check)
    return TRUE;
  if (!fk_store_case_finalize (store, job->case_id, &job->receipt_no, error))
    return FALSE;
  job->status = FK_CASE_SEALED;
  return TRUE;
}

static void
set_busy (FkHandoverPage *self,
          gboolean        busy)
{
  self->job_running = busy;
  gtk_widget_set_visible (self->spinner, busy);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), busy);
  gtk_widget_set_sensitive (self->hand_button, !busy);
}

/* The next student still waiting after index, wrapping round; G_MAXUINT
 * when none is. */
static guint
next_waiting (FkHandoverPage *self,
              guint           index)
{
  for (guint k = 1; k <= self->students->len; k++)
    {
      guint i = (index + k) % self->students->len;

      if (!is_done (self->students->pdata[i]))
        return i;
    }
  return G_MAXUINT;
}

static void
hand_done (gpointer      page,
           gpointer      data,
           gboolean      ok,
           const GError *error)
{
  FkHandoverPage *self = page;
  HandJob *job = data;
  Student *s;

  if (self->gone)
    return;
  set_busy (self, FALSE);
  s = find_student (self, job->case_id);
  if (s == NULL)
    return;
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  if (!ok)
    {
      /* The store refused (a sealed case, a card handed over already…):
       * its own words, on the student they are about. */
      s->problems = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (s->problems, g_strdup (error->message));
    }
  else if (job->problems && job->problems->len > 0)
    {
      s->problems = g_ptr_array_ref (job->problems);
      s->status = job->status;
    }
  else
    {
      s->status = job->status;
      if (job->receipt_no)
        {
          g_autofree char *text = g_strdup_printf (_("Handed over · receipt %s"), job->receipt_no);

          g_free (s->receipt_no);
          s->receipt_no = g_strdup (job->receipt_no);
          fk_window_toast (self->window, text);
        }
    }
  if (is_done (s))
    {
      /* The clerk may have gone to another student meanwhile; then the
       * signatures are kept with s, not on the pads. */
      if (current_student (self) == s)
        pads_leave (self, s);
      student_forget_unsaved (s);
    }
  update_progress (self);
  if (current_student (self) != s)
    return;
  if (is_done (s))
    {
      guint next = next_waiting (self, self->current);

      if (next == G_MAXUINT)
        show_list (self);
      else
        show_student (self, next);
      return;
    }
  if (s->problems)
    gtk_widget_error_bell (GTK_WIDGET (self));
  update_student_view (self);
  fk_ui_scroll_to_top (self->scroll);
}

/* What the page itself sees missing, in the order of the screen; *focus
 * gets the control to go to first. */
static GPtrArray *
screen_problems (FkHandoverPage  *self,
                 Student         *s,
                 GtkWidget      **focus)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  char *why;

  *focus = NULL;
  if (!s->identity)
    {
      g_ptr_array_add (out, g_strdup_printf (_("Tick that you saw the receiver's photo ID (Alt+I): %s."),
                                             self->identity_label));
      *focus = self->identity;
    }
  if ((why = card_reason (s, s->card, FALSE)) != NULL)
    {
      g_ptr_array_add (out, why);
      if (*focus == NULL)
        *focus = self->card;
    }
  if (other_receiver (s))
    {
      if (s->receiver_name == NULL || *s->receiver_name == '\0')
        {
          g_ptr_array_add (out, g_strdup (_("Type the receiver's name: someone other than the applicant receives the card.")));
          if (*focus == NULL)
            *focus = self->receiver_name;
        }
      if (s->receiver_id == NULL || *s->receiver_id == '\0')
        {
          g_ptr_array_add (out, g_strdup (_("Type the receiver's ID number.")));
          if (*focus == NULL)
            *focus = self->receiver_id;
        }
      else if ((why = receiver_id_reason (s)) != NULL)
        {
          g_ptr_array_add (out, g_strdup_printf (_("Receiver's ID number: %s"), why));
          g_free (why);
          if (*focus == NULL)
            *focus = self->receiver_id;
        }
    }
  if (fk_signature_pad_is_empty (FK_SIGNATURE_PAD (self->signature)))
    {
      g_ptr_array_add (out, g_strdup (_("The receiver has not signed yet: sign on the pad (Alt+S).")));
      if (*focus == NULL)
        *focus = self->signature;
    }
  if (out->len == 0)
    g_clear_pointer (&out, g_ptr_array_unref);
  return out;
}

static void
go_to (FkHandoverPage *self,
       GtkWidget      *widget)
{
  fk_ui_scroll_to (self->scroll, widget);
  if (gtk_widget_get_focusable (widget))
    gtk_widget_grab_focus (widget);
}

static void
hand_over (FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *focus = NULL;
  HandJob *job;
  g_autofree char *card = NULL;

  if (s == NULL || self->job_running)
    return;
  problems = screen_problems (self, s, &focus);
  if (problems)
    {
      g_clear_pointer (&s->problems, g_ptr_array_unref);
      s->problems = g_steal_pointer (&problems);
      update_student_view (self);
      gtk_widget_error_bell (GTK_WIDGET (self));
      go_to (self, focus ? focus : self->hand_button);
      return;
    }
  if (fk_window_is_busy (self->window) || fk_window_store (self->window) == NULL)
    {
      fk_window_toast (self->window, _("FieldKit is still busy with the last step; try again in a moment."));
      return;
    }
  card = normalize_card (s->card);
  job = g_new0 (HandJob, 1);
  job->case_id = s->case_id;
  job->card = g_steal_pointer (&card);
  job->receiver = g_strdup (receiver_values[s->receiver]);
  if (other_receiver (s))
    {
      job->receiver_name = g_strstrip (g_strdup (s->receiver_name));
      job->receiver_id = g_strstrip (g_strdup (s->receiver_id));
    }
  job->signature = fk_signature_pad_to_png (FK_SIGNATURE_PAD (self->signature), &error);
  if (job->signature == NULL)
    {
      fk_window_toast (self->window, error ? error->message : _("The signature could not be kept."));
      hand_job_free (job);
      return;
    }
  if (!fk_signature_pad_is_empty (FK_SIGNATURE_PAD (self->guardian)))
    job->guardian = fk_signature_pad_to_png (FK_SIGNATURE_PAD (self->guardian), NULL);
  job->second_check = self->second_check;
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  set_busy (self, TRUE);
  fk_student_flow_run_job (self->window, self, hand_job_run, job, hand_job_free, hand_done);
}

/* Enter: the next step of this student, or the hand-over when nothing is
 * missing; on a student handed over already, the next student. */
static void
advance (FkHandoverPage *self)
{
  Student *s = current_student (self);

  if (s == NULL || self->job_running)
    return;
  if (is_done (s))
    {
      guint next = next_waiting (self, self->current);

      if (next == G_MAXUINT)
        show_list (self);
      else
        show_student (self, next);
      return;
    }
  hand_over (self);
}

/* ---- the steps ------------------------------------------------------------------------ */

static void
identity_toggled_cb (GtkCheckButton *check,
                     FkHandoverPage *self)
{
  Student *s = current_student (self);

  if (self->loading || s == NULL || is_done (s))
    return;
  s->identity = gtk_check_button_get_active (check);
}

static void
card_changed_cb (GtkEditable    *editable,
                 FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autofree char *why = NULL;
  g_autofree char *card = NULL;

  if (self->loading || s == NULL || is_done (s))
    return;
  fk_wipe_free (s->card);
  s->card = g_strdup (gtk_editable_get_text (editable));
  card = normalize_card (s->card);
  why = card_reason (s, s->card, TRUE);
  if (why)
    fk_ui_entry_set_reason (self->card, self->card_reason, why);
  else if (*card && *s->expected)
    {
      g_autofree char *expected = normalize_card (s->expected);

      fk_ui_entry_set_confirmation (self->card, self->card_reason,
                                    g_str_equal (card, expected) ? _("✓ The card on the office's list.") : NULL);
    }
  else
    fk_ui_entry_set_reason (self->card, self->card_reason, NULL);
}

/* Enter in the card field (a scanner sends it after the number): a wrong
 * card is said at once and selected, so the next scan replaces it; the
 * right one moves on to what is still missing, or hands over. */
static void
card_activate_cb (GtkEntry       *entry,
                  FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autofree char *why = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  GtkWidget *focus = NULL;

  if (s == NULL || is_done (s))
    {
      advance (self);
      return;
    }
  why = card_reason (s, s->card, FALSE);
  if (why)
    {
      fk_ui_entry_set_reason (self->card, self->card_reason, why);
      gtk_editable_select_region (GTK_EDITABLE (entry), 0, -1);
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  problems = screen_problems (self, s, &focus);
  if (problems == NULL)
    hand_over (self);
  else
    go_to (self, focus);
}

static void
receiver_toggled_cb (GtkToggleButton *button,
                     FkHandoverPage  *self)
{
  Student *s = current_student (self);

  if (self->loading || s == NULL || is_done (s) || !gtk_toggle_button_get_active (button))
    return;
  for (guint i = 0; i < N_RECEIVERS; i++)
    if (GTK_WIDGET (button) == self->receivers[i])
      s->receiver = i;
  if (other_receiver (s))
    {
      gtk_widget_set_visible (self->other_box, TRUE);
      gtk_widget_grab_focus (self->receiver_name);
    }
  else
    {
      GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (GTK_WIDGET (self)));

      /* The fields go away: the keyboard goes back to the card, not nowhere. */
      if (focus && (focus == self->other_box || gtk_widget_is_ancestor (focus, self->other_box)))
        gtk_widget_grab_focus (self->card);
      gtk_widget_set_visible (self->other_box, FALSE);
    }
}

static void
receiver_entry_changed_cb (GtkEditable    *editable,
                           FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autofree char *why = NULL;

  if (self->loading || s == NULL || is_done (s))
    return;
  if (GTK_WIDGET (editable) == self->receiver_name)
    {
      fk_wipe_free (s->receiver_name);
      s->receiver_name = g_strdup (gtk_editable_get_text (editable));
      fk_ui_entry_set_reason (self->receiver_name, self->receiver_name_reason,
                              g_utf8_strlen (s->receiver_name, -1) > 100
                              ? _("The name is longer than 100 characters.") : NULL);
      return;
    }
  fk_wipe_free (s->receiver_id);
  s->receiver_id = g_strdup (gtk_editable_get_text (editable));
  /* Said once the number is complete (ten characters), not while typing. */
  why = g_utf8_strlen (s->receiver_id, -1) >= 10 ? receiver_id_reason (s) : NULL;
  fk_ui_entry_set_reason (self->receiver_id, self->receiver_id_reason, why);
}

static void
receiver_entry_activate_cb (GtkEntry       *entry,
                            FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autoptr(GPtrArray) problems = NULL;
  GtkWidget *focus = NULL;

  if (s == NULL || is_done (s))
    return;
  if (GTK_WIDGET (entry) == self->receiver_name)
    {
      gtk_widget_grab_focus (self->receiver_id);
      return;
    }
  problems = screen_problems (self, s, &focus);
  if (problems == NULL)
    hand_over (self);
  else
    go_to (self, focus);
}

static void
cycle_receiver (FkHandoverPage *self)
{
  Student *s = current_student (self);

  if (s == NULL || is_done (s))
    return;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->receivers[(s->receiver + 1) % N_RECEIVERS]), TRUE);
  fk_ui_scroll_to (self->scroll, self->receivers[0]);
}

static void
signature_changed_cb (FkSignaturePad *pad,
                      FkHandoverPage *self)
{
  gboolean empty = fk_signature_pad_is_empty (pad);

  gtk_widget_set_sensitive (GTK_WIDGET (pad) == self->signature ? self->signature_clear : self->guardian_clear,
                            !empty && !self->job_running);
}

static void
clear_clicked_cb (GtkButton      *button,
                  FkHandoverPage *self)
{
  fk_signature_pad_clear (FK_SIGNATURE_PAD (GTK_WIDGET (button) == self->signature_clear
                                            ? self->signature : self->guardian));
}

/* ---- views ----------------------------------------------------------------------------- */

static void
update_progress (FkHandoverPage *self)
{
  guint done = 0, attention = 0;
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];

      if (is_done (s))
        done++;
      else if (s->problems)
        attention++;
    }
  g_string_printf (text, _("%u / %u handed over · %u waiting"), done, self->students->len,
                   self->students->len - done);
  if (attention)
    g_string_append_printf (text, _(" · %u needs attention"), attention);
  fk_student_flow_set_progress (self->progress, text->str);
}

static void
update_student_view (FkHandoverPage *self)
{
  Student *s = current_student (self);
  g_autofree char *position = NULL;
  g_autofree char *who = NULL;
  g_autofree char *masked = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *state = NULL;
  const char *kind;
  gboolean editable;

  if (s == NULL)
    return;
  editable = !is_done (s) && !self->job_running;
  self->loading = TRUE;

  position = g_strdup_printf (_("Student %u of %u"), self->current + 1, self->students->len);
  state = student_status (self, s);
  who = student_title (s);
  fk_student_header_show (&self->header, position, who, state, is_done (s), s->problems);
  masked = mask_card (s->expected);
  kind = s->card_kind ? g_hash_table_lookup (self->kind_labels, s->card_kind) : NULL;
  expected = *masked ? g_strdup_printf (_("%s on the office's list: %s"), kind ? kind : _("Card"), masked)
                     : g_strdup (_("The office's list gives no card number for this student."));
  gtk_label_set_text (GTK_LABEL (self->header.detail), expected);
  fk_ui_name (self->header.detail, expected);

  gtk_check_button_set_active (GTK_CHECK_BUTTON (self->identity), s->identity || is_done (s));
  gtk_widget_set_sensitive (self->identity, editable);

  if (is_done (s))
    {
      /* Handed over: the number stays on the case, not on the screen. */
      g_autofree char *shown = mask_card (s->card);

      gtk_editable_set_text (GTK_EDITABLE (self->card), shown);
    }
  else
    gtk_editable_set_text (GTK_EDITABLE (self->card), s->card ? s->card : "");
  gtk_widget_set_sensitive (self->card, editable);
  if (is_done (s))
    fk_ui_entry_set_reason (self->card, self->card_reason, NULL);
  else
    {
      g_autofree char *why = card_reason (s, s->card, TRUE);

      fk_ui_entry_set_reason (self->card, self->card_reason, why);
    }

  for (guint i = 0; i < N_RECEIVERS; i++)
    {
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->receivers[i]), s->receiver == i);
      gtk_widget_set_sensitive (self->receivers[i], editable);
    }
  /* Handed over, the receiver's name and number are on the case only. */
  gtk_widget_set_visible (self->other_box, other_receiver (s) && !is_done (s));
  gtk_editable_set_text (GTK_EDITABLE (self->receiver_name), s->receiver_name ? s->receiver_name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->receiver_id), s->receiver_id ? s->receiver_id : "");
  gtk_widget_set_sensitive (self->other_box, editable);
  fk_ui_entry_set_reason (self->receiver_name, self->receiver_name_reason, NULL);
  {
    g_autofree char *why = receiver_id_reason (s);

    fk_ui_entry_set_reason (self->receiver_id, self->receiver_id_reason, why);
  }

  gtk_widget_set_sensitive (self->signature, editable);
  gtk_widget_set_sensitive (self->guardian, editable);
  gtk_widget_set_sensitive (self->signature_clear,
                            editable && !fk_signature_pad_is_empty (FK_SIGNATURE_PAD (self->signature)));
  gtk_widget_set_sensitive (self->guardian_clear,
                            editable && !fk_signature_pad_is_empty (FK_SIGNATURE_PAD (self->guardian)));

  fk_ui_wrap_button_set_text (self->hand_button,
                              is_done (s) ? _("Next student (Enter)") : _("Hand over (Enter)"),
                              is_done (s) ? _("Next student") : _("Hand over"));
  gtk_widget_set_sensitive (self->prev_button, self->current > 0);
  gtk_widget_set_sensitive (self->next_button, self->current + 1 < self->students->len);
  self->loading = FALSE;
}

static void
show_student (FkHandoverPage *self,
              guint           index)
{
  Student *s;

  if (index >= self->students->len)
    {
      show_list (self);
      return;
    }
  /* A signature belongs to the student it was drawn for, and stays with
   * them until they are handed over. */
  if (index != self->current)
    {
      pads_leave (self, current_student (self));
      pads_enter (self, self->students->pdata[index]);
    }
  self->current = index;
  s = current_student (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "student");
  /* A handed-over student's fields go insensitive: the keyboard leaves
   * them first, or GtkText goes on blinking a cursor it no longer has
   * (and warns). */
  if (is_done (s))
    gtk_widget_grab_focus (self->hand_button);
  update_student_view (self);
  update_progress (self);
  fk_ui_scroll_to_top (self->scroll);
  /* Ready for the scanner: the card field has the keyboard. */
  gtk_widget_grab_focus (is_done (s) ? self->hand_button : self->card);
}

static void
row_activated_cb (GtkListBox     *box,
                  GtkListBoxRow  *row,
                  FkHandoverPage *self)
{
  show_student (self, (guint) gtk_list_box_row_get_index (row));
}

static void
show_list (FkHandoverPage *self)
{
  guint waiting = 0;

  fk_ui_box_clear (self->list);
  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];
      g_autofree char *who = student_title (s);
      g_autofree char *title = g_strdup_printf ("%u · %s", i + 1, who);
      g_autofree char *state = student_status (self, s);

      gtk_list_box_append (GTK_LIST_BOX (self->list), fk_student_flow_row (title, state));
      if (!is_done (s))
        waiting++;
    }
  gtk_label_set_text (GTK_LABEL (self->list_title),
                      self->students->len == 0 ? _("No cards to hand over in this outing.")
                      : waiting > 0 ? _("Students and their cards")
                      : _("Every card is handed over"));
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "list");
  update_progress (self);
  if (self->students->len > 0)
    gtk_widget_grab_focus (GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list),
                                                                      MIN (self->current, self->students->len - 1))));
}

/* ---- buttons and keys -------------------------------------------------------------- */

static void
hand_clicked_cb (GtkButton      *button,
                 FkHandoverPage *self)
{
  advance (self);
}

static void
go_next (FkHandoverPage *self)
{
  if (self->current + 1 < self->students->len)
    show_student (self, self->current + 1);
}

static void
go_previous (FkHandoverPage *self)
{
  if (self->current > 0)
    show_student (self, self->current - 1);
}

static void
nav_clicked_cb (GtkButton      *button,
                FkHandoverPage *self)
{
  if (GTK_WIDGET (button) == self->next_button)
    go_next (self);
  else
    go_previous (self);
}

static void
list_clicked_cb (GtkButton      *button,
                 FkHandoverPage *self)
{
  show_list (self);
}

static void
back_to_student_cb (GtkButton      *button,
                    FkHandoverPage *self)
{
  Student *s = current_student (self);
  guint next;

  if (self->students->len == 0)
    return;
  next = s && !is_done (s) ? self->current : next_waiting (self, self->current);
  show_student (self, next == G_MAXUINT ? MIN (self->current, self->students->len - 1) : next);
}

static void
leave_clicked_cb (GtkButton      *button,
                  FkHandoverPage *self)
{
  fk_handover_page_close (self);
}

static gboolean
shortcut_cb (GtkWidget *widget,
             GVariant  *args,
             gpointer   user_data)
{
  FkHandoverPage *self = FK_HANDOVER_PAGE (user_data);
  const char *what = g_variant_get_string (args, NULL);
  Student *s = current_student (self);

  if (g_str_equal (what, "list"))
    {
      if (page_active (self, "student"))
        show_list (self);
      else if (page_active (self, "list"))
        back_to_student_cb (NULL, self);
      else
        return FALSE;
      return TRUE;
    }
  if (!page_active (self, "student") || s == NULL)
    return FALSE;
  if (g_str_equal (what, "enter"))
    {
      /* In the card field a scanner ends the number with Enter: the
       * field's "activate" checks it and moves on. */
      if (fk_student_flow_focus_in_field (GTK_WIDGET (self)))
        return FALSE;
      advance (self);
    }
  else if (g_str_equal (what, "identity"))
    {
      if (!is_done (s) && !self->job_running)
        gtk_check_button_set_active (GTK_CHECK_BUTTON (self->identity),
                                     !gtk_check_button_get_active (GTK_CHECK_BUTTON (self->identity)));
      fk_ui_scroll_to (self->scroll, self->identity);
    }
  else if (g_str_equal (what, "card"))
    {
      go_to (self, self->card);
      gtk_editable_select_region (GTK_EDITABLE (self->card), 0, -1);
    }
  else if (g_str_equal (what, "receiver"))
    cycle_receiver (self);
  else if (g_str_equal (what, "signature"))
    go_to (self, self->signature);
  else if (g_str_equal (what, "guardian"))
    go_to (self, self->guardian);
  else if (g_str_equal (what, "next"))
    go_next (self);
  else if (g_str_equal (what, "previous"))
    go_previous (self);
  else
    return FALSE;
  return TRUE;
}

/* ---- construction ------------------------------------------------------------------ */

static GtkWidget *
build_student (FkHandoverPage *self)
{
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *box, *sec, *row, *col, *bar, *list;
  g_autofree char *identity = NULL;

  self->scroll = fk_student_flow_scroller (720, 16, &box);
  gtk_widget_set_vexpand (self->scroll, TRUE);
  gtk_box_append (GTK_BOX (outer), self->scroll);

  /* Who, and which card. */
  fk_student_header_build (&self->header, box);

  /* 1. Identity. */
  sec = fk_ui_section (box, _("1. Identity (Alt+I)"));
  identity = g_strdup_printf (_("Seen: %s"), self->identity_label);
  self->identity = gtk_check_button_new_with_label (identity);
  gtk_widget_set_name (self->identity, "handover-identity");
  fk_ui_name (self->identity, identity);
  gtk_widget_set_tooltip_text (self->identity, "Alt+I");
  fk_ui_key_shortcuts (self->identity, "Alt+I");
  {
    GtkWidget *label = gtk_widget_get_last_child (self->identity);

    if (GTK_IS_LABEL (label))
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  }
  g_signal_connect (self->identity, "toggled", G_CALLBACK (identity_toggled_cb), self);
  gtk_box_append (GTK_BOX (sec), self->identity);

  /* 2. The card. */
  sec = fk_ui_section (box, _("2. The card (Alt+C)"));
  self->card = fk_ui_entry (_("Card number: type it or scan the barcode"), &col, &self->card_reason);
  gtk_widget_set_name (self->card, "handover-card");
  fk_ui_key_shortcuts (self->card, "Alt+C");
  gtk_entry_set_input_hints (GTK_ENTRY (self->card), GTK_INPUT_HINT_UPPERCASE_CHARS | GTK_INPUT_HINT_NO_SPELLCHECK);
  g_signal_connect (self->card, "changed", G_CALLBACK (card_changed_cb), self);
  g_signal_connect (self->card, "activate", G_CALLBACK (card_activate_cb), self);
  gtk_widget_set_name (self->card_reason, "handover-card-reason");
  gtk_box_append (GTK_BOX (sec), col);

  /* 3. Who receives it. */
  sec = fk_ui_section (box, _("3. Received by (Alt+R)"));
  /* One above the other: the catalog's labels are long ("A person
   * authorised by the applicant") and a 360 px screen has no room for
   * three side by side. */
  row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (row, "linked");
  for (guint i = 0; i < N_RECEIVERS; i++)
    {
      GtkWidget *b = gtk_toggle_button_new ();
      GtkWidget *l = gtk_label_new (self->receiver_labels[i]);

      gtk_label_set_wrap (GTK_LABEL (l), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (l), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_xalign (GTK_LABEL (l), 0);
      gtk_button_set_child (GTK_BUTTON (b), l);
      gtk_widget_set_hexpand (b, TRUE);
      fk_ui_name (b, self->receiver_labels[i]);
      fk_ui_key_shortcuts (b, "Alt+R");
      if (i > 0)
        gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (b), GTK_TOGGLE_BUTTON (self->receivers[0]));
      g_signal_connect (b, "toggled", G_CALLBACK (receiver_toggled_cb), self);
      self->receivers[i] = b;
      gtk_box_append (GTK_BOX (row), b);
    }
  gtk_box_append (GTK_BOX (sec), row);
  self->other_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  self->receiver_name = fk_ui_entry (_("Receiver's name"), &col, &self->receiver_name_reason);
  gtk_widget_set_name (self->receiver_name, "handover-receiver-name");
  g_signal_connect (self->receiver_name, "changed", G_CALLBACK (receiver_entry_changed_cb), self);
  g_signal_connect (self->receiver_name, "activate", G_CALLBACK (receiver_entry_activate_cb), self);
  gtk_box_append (GTK_BOX (self->other_box), col);
  self->receiver_id = fk_ui_entry (_("Receiver's ID number"), &col, &self->receiver_id_reason);
  gtk_widget_set_name (self->receiver_id, "handover-receiver-id");
  gtk_entry_set_input_hints (GTK_ENTRY (self->receiver_id), GTK_INPUT_HINT_UPPERCASE_CHARS | GTK_INPUT_HINT_NO_SPELLCHECK);
  g_signal_connect (self->receiver_id, "changed", G_CALLBACK (receiver_entry_changed_cb), self);
  g_signal_connect (self->receiver_id, "activate", G_CALLBACK (receiver_entry_activate_cb), self);
  gtk_box_append (GTK_BOX (self->other_box), col);
  gtk_widget_set_visible (self->other_box, FALSE);
  gtk_box_append (GTK_BOX (sec), self->other_box);

  /* 4. Signatures. */
  sec = fk_ui_section (box, _("4. The receiver's signature (Alt+S)"));
  self->signature = fk_signature_pad_new ();
  gtk_widget_set_name (self->signature, "handover-signature");
  fk_ui_name (self->signature, _("Receiver's signature pad: sign with a finger, pen or mouse"));
  g_signal_connect (self->signature, "changed", G_CALLBACK (signature_changed_cb), self);
  gtk_box_append (GTK_BOX (sec), self->signature);
  self->signature_clear = fk_ui_wrap_button (_("Clear the receiver's signature"), _("Clear the receiver's signature"), NULL);
  gtk_widget_set_halign (self->signature_clear, GTK_ALIGN_START);
  g_signal_connect (self->signature_clear, "clicked", G_CALLBACK (clear_clicked_cb), self);
  gtk_box_append (GTK_BOX (sec), self->signature_clear);

  sec = fk_ui_section (box, _("5. The guardian's signature, optional (Alt+G)"));
  self->guardian = fk_signature_pad_new ();
  gtk_widget_set_name (self->guardian, "handover-guardian");
  fk_ui_name (self->guardian, _("Guardian's signature pad (optional)"));
  g_signal_connect (self->guardian, "changed", G_CALLBACK (signature_changed_cb), self);
  gtk_box_append (GTK_BOX (sec), self->guardian);
  self->guardian_clear = fk_ui_wrap_button (_("Clear the guardian's signature"), _("Clear the guardian's signature"), NULL);
  gtk_widget_set_halign (self->guardian_clear, GTK_ALIGN_START);
  g_signal_connect (self->guardian_clear, "clicked", G_CALLBACK (clear_clicked_cb), self);
  gtk_box_append (GTK_BOX (sec), self->guardian_clear);

  bar = fk_student_flow_bar (outer);
  self->prev_button = fk_student_flow_prev_button ();
  g_signal_connect (self->prev_button, "clicked", G_CALLBACK (nav_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->prev_button);
  self->spinner = gtk_spinner_new ();
  fk_ui_name (self->spinner, _("Handing over"));
  gtk_widget_set_visible (self->spinner, FALSE);
  gtk_box_append (GTK_BOX (bar), self->spinner);
  self->hand_button = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Hand over (Enter)"), _("Hand over"), "suggested-action"), "Enter");
  gtk_widget_set_name (self->hand_button, "handover-hand");
  gtk_widget_set_hexpand (self->hand_button, TRUE);
  g_signal_connect (self->hand_button, "clicked", G_CALLBACK (hand_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->hand_button);
  self->next_button = fk_student_flow_next_button (_("Next student"));
  g_signal_connect (self->next_button, "clicked", G_CALLBACK (nav_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->next_button);
  list = fk_ui_key_shortcuts (fk_ui_icon_button ("view-list-symbolic", _("All students (Alt+L)")), "Alt+L");
  fk_ui_name (list, _("All students"));
  gtk_widget_set_name (list, "handover-list");
  g_signal_connect (list, "clicked", G_CALLBACK (list_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), list);
  return outer;
}

static GtkWidget *
build_list (FkHandoverPage *self)
{
  GtkWidget *box;
  GtkWidget *scroll = fk_student_flow_scroller (720, 12, &box);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *back, *leave;

  self->list_title = fk_ui_label ("", "title-2");
  gtk_box_append (GTK_BOX (box), self->list_title);
  self->list = fk_student_flow_list (_("Students and their cards"));
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
  gtk_box_append (GTK_BOX (box), self->list);
  back = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Back to the student (Alt+L)"), _("Back to the student"), NULL), "Alt+L");
  g_signal_connect (back, "clicked", G_CALLBACK (back_to_student_cb), self);
  gtk_box_append (GTK_BOX (buttons), back);
  leave = fk_ui_wrap_button (_("Leave the hand-over"), _("Leave the hand-over"), NULL);
  gtk_widget_set_tooltip_text (leave, _("Back to the outing's case list"));
  g_signal_connect (leave, "clicked", G_CALLBACK (leave_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), leave);
  gtk_box_append (GTK_BOX (box), buttons);
  return scroll;
}

/* ---- overrides ------------------------------------------------------------------ */

static void
forget (FkHandoverPage *self)
{
  /* Signatures and typed numbers live no longer than the page. */
  if (self->signature)
    fk_signature_pad_clear (FK_SIGNATURE_PAD (self->signature));
  if (self->guardian)
    fk_signature_pad_clear (FK_SIGNATURE_PAD (self->guardian));
  if (self->students)
    g_ptr_array_set_size (self->students, 0);
}

static void
fk_handover_page_unroot (GtkWidget *widget)
{
  FkHandoverPage *self = FK_HANDOVER_PAGE (widget);

  /* Removed from the window (closed, or the window locked). */
  self->gone = TRUE;
  forget (self);
  GTK_WIDGET_CLASS (fk_handover_page_parent_class)->unroot (widget);
}

static void
fk_handover_page_dispose (GObject *object)
{
  FkHandoverPage *self = FK_HANDOVER_PAGE (object);

  self->gone = TRUE;
  G_OBJECT_CLASS (fk_handover_page_parent_class)->dispose (object);
}

static void
fk_handover_page_finalize (GObject *object)
{
  FkHandoverPage *self = FK_HANDOVER_PAGE (object);

  g_clear_pointer (&self->students, g_ptr_array_unref);
  g_clear_pointer (&self->kind_labels, g_hash_table_unref);
  for (guint i = 0; i < N_RECEIVERS; i++)
    g_free (self->receiver_labels[i]);
  g_free (self->identity_label);
  g_free (self->outing_id);
  G_OBJECT_CLASS (fk_handover_page_parent_class)->finalize (object);
}

static void
fk_handover_page_class_init (FkHandoverPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fk_handover_page_dispose;
  object_class->finalize = fk_handover_page_finalize;
  widget_class->unroot = fk_handover_page_unroot;
}

static void
fk_handover_page_init (FkHandoverPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->students = g_ptr_array_new_with_free_func (student_free);
  self->kind_labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_handover_page_new (FkWindow   *window,
                      const char *outing_id)
{
  FkHandoverPage *self = g_object_new (FK_TYPE_HANDOVER_PAGE, NULL);
  FkStore *store = fk_window_store (window);
  const FkService *svc = store ? fk_catalog_lookup (fk_store_catalog (store), HANDOVER_SERVICE) : NULL;
  const FkField *receiver = svc ? fk_service_field (svc, "receiver") : NULL;
  const FkField *kind = svc ? fk_service_field (svc, "card_kind") : NULL;
  const FkChecklistItem *item = svc ? fk_service_checklist_item (svc, IDENTITY_ITEM) : NULL;
  GtkWidget *top, *leave;
  guint first;
  static const FkStudentFlowKey keys[] = {
    { "Return", "enter" }, { "KP_Enter", "enter" }, { "<Control>Return", "enter" },
    { "<Alt>i", "identity" }, { "<Alt>c", "card" }, { "<Alt>r", "receiver" },
    { "<Alt>s", "signature" }, { "<Alt>g", "guardian" },
    { "<Alt>n", "next" }, { "<Alt>b", "previous" }, { "<Alt>l", "list" },
  };
  static const char *const receiver_fallback[N_RECEIVERS] = {
    N_("The applicant"), N_("Legal representative"), N_("A person authorised by the applicant"),
  };

  self->window = window;
  self->outing_id = g_strdup (outing_id);
  self->second_check = svc ? svc->second_check : FALSE;
  self->identity_label = g_strdup (item ? fk_checklist_item_label (item) : _("Receiver's photo identification"));
  for (guint i = 0; i < N_RECEIVERS; i++)
    {
      const char *l = receiver ? fk_field_choice_label (receiver, receiver_values[i]) : NULL;

      self->receiver_labels[i] = g_strdup (l ? l : _(receiver_fallback[i]));
    }
  for (guint i = 0; kind && kind->choices && kind->choices[i]; i++)
    g_hash_table_insert (self->kind_labels, g_strdup (kind->choices[i]),
                         g_strdup (fk_field_choice_label (kind, kind->choices[i])));
  if (store && fk_store_is_unlocked (store))
    load_students (self, store);

  /* The line that is always there: where the list stands. */
  top = fk_student_flow_progress_line (_("Progress of the hand-over"), &self->progress);
  leave = fk_ui_icon_button ("window-close-symbolic", _("Leave the hand-over (back to the case list)"));
  g_signal_connect (leave, "clicked", G_CALLBACK (leave_clicked_cb), self);
  gtk_box_append (GTK_BOX (top), leave);
  gtk_box_append (GTK_BOX (self), top);
  gtk_box_append (GTK_BOX (self), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));

  self->stack = gtk_stack_new ();
  gtk_widget_set_vexpand (self->stack, TRUE);
  gtk_stack_add_named (GTK_STACK (self->stack), build_student (self), "student");
  gtk_stack_add_named (GTK_STACK (self->stack), build_list (self), "list");
  gtk_box_append (GTK_BOX (self), self->stack);
  fk_student_flow_add_keys (GTK_WIDGET (self), keys, G_N_ELEMENTS (keys), shortcut_cb);

  update_progress (self);
  first = self->students->len == 0 ? G_MAXUINT
          : !is_done (self->students->pdata[0]) ? 0 : next_waiting (self, 0);
  self->current = 0;
  if (first == G_MAXUINT)
    show_list (self);
  else
    {
      self->current = first;
      gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "student");
      update_student_view (self);
      g_signal_connect_swapped (self->card, "map", G_CALLBACK (gtk_widget_grab_focus), self->card);
    }
  return GTK_WIDGET (self);
}

FkHandoverPage *
fk_handover_page_find (GtkWidget *host)
{
  return (FkHandoverPage *) fk_student_flow_find (host, FK_TYPE_HANDOVER_PAGE);
}

void
fk_handover_page_open (FkWindow   *window,
                       GtkWidget  *host,
                       const char *outing_id)
{
  if (fk_handover_page_find (host))
    return;
  fk_student_flow_take_over (host, fk_handover_page_new (window, outing_id));
}

void
fk_handover_page_close (FkHandoverPage *self)
{
  fk_student_flow_give_back (GTK_WIDGET (self));
}

/* ---- the outing page's entry to the hand-over ------------------------------------ */

GtkWidget *
fk_handover_entry_button (FkWindow   *window,
                          GtkWidget  *host,
                          const char *outing_id)
{
  return fk_student_flow_entry_button (_("Start the hand-over"), "suggested-action",
                                       _("One screen per student: photo ID, the card checked against the office's list, "
                                         "signature"),
                                       fk_handover_page_open, window, host, outing_id);
}
