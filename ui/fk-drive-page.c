/* fk-drive-page.c — the school drive (國中生身分證到校服務): one clerk, a
 * class of about thirty fourteen-year-olds applying for their first ID
 * card, in the hour the school gives.  Every extra key press is multiplied
 * by thirty, so the page is built around the keyboard:
 *
 *   Alt+P / Alt+A / Alt+L   present / absent / come back later
 *   Alt+D                   every document on the checklist seen
 *   Alt+O                   photo from a file (cropped to 35 × 45 mm)
 *   Alt+C                   photo from the camera (the same crop; fk-camera.c)
 *   Enter, Ctrl+Return      seal and next (implies present and documents seen)
 *   Alt+N / Alt+B           next / previous student
 *   Alt+S                   the class list: pick-ups and the class summary
 *
 * Students are the outing's id_card_first cases in class and seat order.
 * The second checker signs in once for the whole drive; their passphrase is
 * kept in guarded memory for this page only and wiped when the page goes
 * (closing it, locking the window).
 *
 * Sealing (tick all → check → second check → finalize) runs as a window
 * job: the Argon2 check of the second checker's passphrase takes about a
 * second on a tablet.  The clerk does not wait for it: Enter queues the
 * seal and shows the next student at once; the queue is worked through one
 * job at a time, and what the clerk does while a job has the store
 * (check-in, photo, guardian, phone) is kept and written as soon as the
 * store is free.  A seal that finds something missing marks the student as
 * needing attention; they are listed at the end with the absentees. */
#include "ui/fk-pages.h"

#include <string.h>

#include <sodium.h>

#include "app/fk-class-summary.h"
#include "app/fk-date.h"
#include "app/fk-validate.h"
#include "crypto/fk-i18n.h"
#include "ui/fk-camera.h"
#include "ui/fk-id-photo.h"
#include "ui/fk-student-flow.h"
#include "ui/fk-ui-util.h"

#define SAVE_DELAY_MS   800
#define CROP_DELAY_MS   400
#define RETRY_DELAY_MS  300

/* ---- types -------------------------------------------------------------------- */

typedef struct {
  gint64         case_id;
  char          *name;
  char          *person_id;
  char          *birth_date;
  char          *school_class;
  char          *seat;
  char          *guardian;
  char          *phone;
  char          *receipt_no;
  FkCaseStatus   status;
  char          *attendance;        /* NULL, "present", "absent", "later" */
  gboolean       attendance_dirty;  /* not written yet (the store was busy) */
  gboolean       fields_dirty;      /* guardian or phone typed, not written yet */
  gboolean       all_ticked;
  gboolean       has_photo;
  gint64         photo_attachment;  /* stored photo, 0 when none or not known */
  GBytes        *pending_photo;     /* cropped JPEG not written yet */
  FkIdPhoto     *photo;             /* the picture on screen (current student only) */
  FkIdPhotoCrop  crop;
  guint          photo_generation;
  char          *photo_note;        /* size or warnings of the photo */
  char          *photo_warnings;    /* too small, too dark…, or NULL */
  gboolean       crop_dirty;        /* moved or zoomed since the last crop was encoded */
  gboolean       warnings_shown;    /* Enter once with the warnings on screen */
  GPtrArray     *problems;          /* after an attempt to seal; NULL when none */
  gboolean       sealing;           /* queued or running */
} Student;

struct _FkDrivePage
{
  GtkBox           parent_instance;

  FkWindow        *window;
  char            *outing_id;
  char            *title;
  GCancellable    *cancellable;
  gboolean         gone;

  /* What the page needs from the catalog, copied: a sync may replace it. */
  int              fee;
  gboolean         second_check;
  gboolean         has_attendance;
  GPtrArray       *checklist;       /* char*, labels of the required items */

  GPtrArray       *students;        /* Student*, class and seat order */
  guint            current;
  gboolean         pickup;          /* the student was picked from the class list */
  GQueue           seal_queue;      /* gint64* case ids */
  gboolean         job_running;
  guint            retry_source;
  guint            save_source;
  guint            crop_source;
  gboolean         loading;

  char            *checker_id;
  char            *checker_name;
  FkSecret        *checker_pass;
  gboolean         without_checker;
  GtkStringList   *checker_ids;

  GtkNativeDialog *chooser;
  char            *photo_folder;
  GtkWidget       *camera;          /* FkCameraDialog while open (weak) */
  gboolean         camera_ok;       /* a camera was found when the page was built */

  GtkWidget       *progress;
  GtkWidget       *stack;
  /* second checker */
  GtkWidget       *checker_ops;
  GtkWidget       *checker_entry;
  GtkWidget       *checker_button;
  GtkWidget       *checker_message;
  GtkWidget       *checker_spinner;
  GtkWidget       *checker_label;
  /* a student */
  FkStudentHeader  header;          /* its detail: ID number and birth date */
  GtkWidget       *present;
  GtkWidget       *absent;
  GtkWidget       *later;
  GtkWidget       *docs_label;
  GtkWidget       *docs_button;
  GtkWidget       *photo_view;
  GtkWidget       *photo_button;
  GtkWidget       *camera_button;
  GtkWidget       *photo_label;
  GtkWidget       *zoom_in;
  GtkWidget       *zoom_out;
  GtkWidget       *guardian;
  GtkWidget       *guardian_reason;
  GtkWidget       *phone;
  GtkWidget       *phone_reason;
  GtkWidget       *fee_label;
  GtkWidget       *prev_button;
  GtkWidget       *seal_button;
  GtkWidget       *next_button;
  GtkWidget       *student_scroll;
  /* the class list */
  GtkWidget       *end_title;
  GtkWidget       *pickups;
  GtkWidget       *pickups_empty;
  GtkWidget       *summary;
  GtkWidget       *back_to_student;
};

G_DEFINE_FINAL_TYPE (FkDrivePage, fk_drive_page, GTK_TYPE_BOX)

typedef struct {
  gint64        case_id;
  char         *attendance;     /* write first, or NULL */
  gboolean      set_fields;
  char         *guardian;
  char         *phone;
  GBytes       *photo;          /* attach first, or NULL */
  gboolean      second_check;
  char         *checker_id;     /* NULL: stop at "checked" */
  char         *checker_pass;
  /* results */
  GPtrArray    *problems;
  FkCaseStatus  status;
  char         *receipt_no;
  gint64        photo_attachment;
} SealJob;

typedef struct {
  FkDrivePage *page;
  gint64       case_id;
  guint        generation;
  FkIdPhoto   *photo;           /* in: for a re-crop; out: the decoded picture */
  FkIdPhotoCrop crop;
  GBytes      *file;            /* in: a new file */
  GBytes      *jpeg;            /* out */
  FkIdPhotoCheck check;         /* out */
} PhotoTask;

/* ---- prototypes ---------------------------------------------------------------- */

static void show_student (FkDrivePage *self, guint index);
static void show_end (FkDrivePage *self);
static void update_progress (FkDrivePage *self);
static void update_student_view (FkDrivePage *self);
static void pump (FkDrivePage *self);
static void flush_pending (FkDrivePage *self);

/* ---- small helpers ------------------------------------------------------------- */

static void
student_free (gpointer p)
{
  Student *s = p;

  fk_wipe_free (s->name);
  fk_wipe_free (s->person_id);
  fk_wipe_free (s->birth_date);
  g_free (s->school_class);
  g_free (s->seat);
  fk_wipe_free (s->guardian);
  fk_wipe_free (s->phone);
  g_free (s->receipt_no);
  g_free (s->attendance);
  g_clear_pointer (&s->pending_photo, g_bytes_unref);
  g_clear_pointer (&s->photo, fk_id_photo_unref);
  g_free (s->photo_note);
  g_free (s->photo_warnings);
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  g_free (s);
}

static void
seal_job_free (gpointer p)
{
  SealJob *job = p;

  g_free (job->attendance);
  fk_wipe_free (job->guardian);
  fk_wipe_free (job->phone);
  g_clear_pointer (&job->photo, g_bytes_unref);
  g_free (job->checker_id);
  fk_wipe_free (job->checker_pass);
  g_clear_pointer (&job->problems, g_ptr_array_unref);
  g_free (job->receipt_no);
  g_free (job);
}

static void
photo_task_free (gpointer p)
{
  PhotoTask *t = p;

  g_clear_object (&t->page);
  g_clear_pointer (&t->photo, fk_id_photo_unref);
  g_clear_pointer (&t->file, g_bytes_unref);
  g_clear_pointer (&t->jpeg, g_bytes_unref);
  g_free (t);
}

static Student *
current_student (FkDrivePage *self)
{
  return self->current < self->students->len ? self->students->pdata[self->current] : NULL;
}

static Student *
find_student (FkDrivePage *self,
              gint64       case_id,
              guint       *index)
{
  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];

      if (s->case_id == case_id)
        {
          if (index)
            *index = i;
          return s;
        }
    }
  return NULL;
}

static gboolean
is_done (const Student *s)
{
  return s->status >= FK_CASE_SEALED && s->status != FK_CASE_RETURNED;
}

static gboolean
is_away (const Student *s)
{
  return g_strcmp0 (s->attendance, FK_ATTENDANCE_ABSENT) == 0 || g_strcmp0 (s->attendance, FK_ATTENDANCE_LATER) == 0;
}

/* Still to be served in the first pass through the class. */
static gboolean
is_open (const Student *s)
{
  return !is_done (s) && !s->sealing && !is_away (s) && s->problems == NULL;
}

static const char *
seat_text (const Student *s)
{
  return *s->seat ? s->seat : "—";
}

static char *
student_title (const Student *s)
{
  return fk_student_flow_title (s->school_class, s->seat, s->name);
}

static gboolean
page_active (FkDrivePage *self,
             const char  *screen)
{
  return !self->gone && fk_student_flow_screen_shown (GTK_WIDGET (self), self->stack, screen);
}

static void
busy_toast (FkDrivePage *self)
{
  fk_window_toast (self->window, _("FieldKit is still busy with the last step; try again in a moment."));
}

/* ---- loading the class --------------------------------------------------------- */

static int
compare_students (gconstpointer a,
                  gconstpointer b)
{
  const Student *sa = *(const Student * const *) a;
  const Student *sb = *(const Student * const *) b;

  return fk_student_flow_compare (sa->school_class, sa->seat, sa->case_id, sb->school_class, sb->seat, sb->case_id);
}

static void
student_fill (Student      *s,
              const FkCase *c)
{
  const char *v;

  s->case_id = c->id;
  fk_wipe_free (s->name);
  s->name = g_strdup (c->name);
  fk_wipe_free (s->person_id);
  s->person_id = g_strdup (c->person_id);
  fk_wipe_free (s->birth_date);
  s->birth_date = g_strdup (c->birth_date);
  g_free (s->school_class);
  v = c->fields ? g_hash_table_lookup (c->fields, "school_class") : NULL;
  s->school_class = g_strdup (v ? v : "");
  g_free (s->seat);
  v = c->fields ? g_hash_table_lookup (c->fields, "seat_number") : NULL;
  s->seat = g_strdup (v ? v : "");
  if (!s->fields_dirty)
    {
      fk_wipe_free (s->guardian);
      v = c->fields ? g_hash_table_lookup (c->fields, "guardian_name") : NULL;
      s->guardian = g_strdup (v ? v : "");
      fk_wipe_free (s->phone);
      v = c->fields ? g_hash_table_lookup (c->fields, "phone") : NULL;
      s->phone = g_strdup (v ? v : "");
    }
  if (!s->attendance_dirty)
    {
      g_free (s->attendance);
      v = c->fields ? g_hash_table_lookup (c->fields, FK_ATTENDANCE_FIELD) : NULL;
      s->attendance = g_strdup (v);
    }
  s->status = c->status;
  g_free (s->receipt_no);
  s->receipt_no = g_strdup (c->receipt_no);
  s->has_photo = s->pending_photo != NULL;
  s->photo_attachment = 0;
  for (guint i = 0; c->attachments && i < c->attachments->len; i++)
    {
      FkAttachmentInfo *a = c->attachments->pdata[i];

      if (g_str_equal (a->kind, "photo"))
        {
          s->has_photo = TRUE;
          if (s->pending_photo == NULL)
            s->photo_attachment = a->id;
        }
    }
  s->all_ticked = c->ticked != NULL && c->ticked[0] != NULL;
}

/* Reads the outing's students; with only_new, students already on the
 * page keep what the page knows of them (it may be ahead of the store). */
static void
load_students (FkDrivePage *self,
               FkStore     *store,
               gboolean     only_new)
{
  g_autoptr(GPtrArray) cases = fk_store_cases (store, self->outing_id, NULL, NULL);
  g_autoptr(GHashTable) superseded = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; cases && i < cases->len; i++)
    {
      const FkCase *c = cases->pdata[i];

      if (c->supersedes > 0)
        g_hash_table_add (superseded, g_memdup2 (&c->supersedes, sizeof c->supersedes));
    }
  for (guint i = 0; cases && i < cases->len; i++)
    {
      const FkCase *c = cases->pdata[i];
      Student *s;

      if (g_strcmp0 (c->service, FK_CLASS_SUMMARY_SERVICE) != 0 || c->damaged ||
          g_hash_table_contains (superseded, &c->id))
        continue;
      s = find_student (self, c->id, NULL);
      if (s != NULL && only_new)
        continue;
      if (s == NULL)
        {
          s = g_new0 (Student, 1);
          s->crop = (FkIdPhotoCrop) FK_ID_PHOTO_CROP_INIT;
          g_ptr_array_add (self->students, s);
        }
      student_fill (s, c);
    }
  g_ptr_array_sort (self->students, compare_students);
}

/* ---- writing (when the store is free) -------------------------------------------- */

static gboolean
write_attendance (FkStore  *store,
                  Student  *s,
                  GError  **error)
{
  if (!fk_store_case_set_field (store, s->case_id, FK_ATTENDANCE_FIELD, s->attendance, error))
    return FALSE;
  s->attendance_dirty = FALSE;
  if (s->status == FK_CASE_CHECKED || s->status == FK_CASE_APPROVED)
    s->status = FK_CASE_DRAFT;
  return TRUE;
}

static gboolean
write_fields (FkStore  *store,
              Student  *s,
              GError  **error)
{
  g_autofree char *phone = NULL;

  if (*s->phone && !fk_phone_check (s->phone, &phone, NULL))
    return TRUE;   /* shown under the field; stays dirty until valid */
  if (!fk_store_case_set_field (store, s->case_id, "guardian_name", *s->guardian ? s->guardian : NULL, error) ||
      !fk_store_case_set_field (store, s->case_id, "phone", phone, error))
    return FALSE;
  if (phone)
    sodium_memzero (phone, strlen (phone));
  s->fields_dirty = FALSE;
  if (s->status == FK_CASE_CHECKED || s->status == FK_CASE_APPROVED)
    s->status = FK_CASE_DRAFT;
  return TRUE;
}

static gboolean
write_photo (FkStore  *store,
             Student  *s,
             GError  **error)
{
  if (!fk_store_case_attach (store, s->case_id, "photo", "image/jpeg", s->pending_photo, error))
    return FALSE;
  g_clear_pointer (&s->pending_photo, g_bytes_unref);
  s->has_photo = TRUE;
  s->photo_attachment = 0;
  if (s->status == FK_CASE_CHECKED || s->status == FK_CASE_APPROVED)
    s->status = FK_CASE_DRAFT;
  return TRUE;
}

/* Writes what the clerk did while the store was busy; students in the seal
 * queue take theirs with the job. */
static void
flush_pending (FkDrivePage *self)
{
  FkStore *store = fk_window_store (self->window);

  if (store == NULL || !fk_store_is_unlocked (store) || self->job_running)
    return;
  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];
      g_autoptr(GError) error = NULL;

      if (s->sealing || is_done (s))
        continue;
      if ((s->attendance_dirty && self->has_attendance && !write_attendance (store, s, &error)) ||
          (s->fields_dirty && !write_fields (store, s, &error)) ||
          (s->pending_photo && !write_photo (store, s, &error)))
        {
          g_autofree char *title = student_title (s);
          g_autofree char *text = g_strdup_printf ("%s: %s", title, error->message);

          fk_window_toast (self->window, text);
        }
      if (!self->has_attendance)
        s->attendance_dirty = FALSE;
    }
}

static gboolean
save_timeout_cb (gpointer user_data)
{
  FkDrivePage *self = user_data;

  self->save_source = 0;
  flush_pending (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (FkDrivePage *self)
{
  g_clear_handle_id (&self->save_source, g_source_remove);
  self->save_source = g_timeout_add (SAVE_DELAY_MS, save_timeout_cb, self);
}

/* ---- sealing ----------------------------------------------------------------------- */

static gboolean
seal_job_run (FkStore  *store,
              gpointer  data,
              GError  **error)
{
  SealJob *job = data;
  g_autoptr(FkCase) kase = NULL;
  g_autofree char *phone = NULL;

  if (job->photo)
    {
      if (!fk_store_case_attach (store, job->case_id, "photo", "image/jpeg", job->photo, error))
        return FALSE;
      g_clear_pointer (&job->photo, g_bytes_unref);
    }
  if (job->attendance &&
      !fk_store_case_set_field (store, job->case_id, FK_ATTENDANCE_FIELD, job->attendance, error))
    return FALSE;
  if (job->set_fields)
    {
      if (*job->phone && !fk_phone_check (job->phone, &phone, error))
        return FALSE;
      if (!fk_store_case_set_field (store, job->case_id, "guardian_name", *job->guardian ? job->guardian : NULL, error) ||
          !fk_store_case_set_field (store, job->case_id, "phone", phone, error))
        return FALSE;
    }

  kase = fk_store_case_get (store, job->case_id, error);
  if (kase == NULL)
    return FALSE;
  job->status = kase->status;
  for (guint i = 0; kase->attachments && i < kase->attachments->len; i++)
    {
      FkAttachmentInfo *a = kase->attachments->pdata[i];

      if (g_str_equal (a->kind, "photo"))
        job->photo_attachment = a->id;
    }
  if (job->status == FK_CASE_DRAFT)
    {
      /* Enter says every document on the checklist was seen. */
      if (!fk_store_case_tick (store, job->case_id, NULL, TRUE, error))
        return FALSE;
      job->problems = fk_store_case_problems (store, job->case_id, error);
      if (job->problems == NULL)
        return FALSE;
      if (job->problems->len > 0)
        return TRUE;
      g_clear_pointer (&job->problems, g_ptr_array_unref);
      if (!fk_store_case_check (store, job->case_id, error))
        return FALSE;
      job->status = FK_CASE_CHECKED;
    }
  if (job->status == FK_CASE_CHECKED && job->second_check)
    {
      if (job->checker_id == NULL)
        return TRUE;
      if (!fk_store_case_approve_as (store, job->case_id, job->checker_id, job->checker_pass, error))
        return FALSE;
      job->status = FK_CASE_APPROVED;
    }
  if (job->status == FK_CASE_APPROVED || (job->status == FK_CASE_CHECKED && !job->second_check))
    {
      if (!fk_store_case_finalize (store, job->case_id, &job->receipt_no, error))
        return FALSE;
      job->status = FK_CASE_SEALED;
    }
  return TRUE;
}

static gboolean
retry_cb (gpointer user_data)
{
  FkDrivePage *self = user_data;

  self->retry_source = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
seal_done (gpointer      page,
           gpointer      data,
           gboolean      ok,
           const GError *error)
{
  FkDrivePage *self = page;
  SealJob *job = data;
  Student *s;

  self->job_running = FALSE;
  if (self->gone)
    return;
  s = find_student (self, job->case_id, NULL);
  if (s == NULL)
    return;
  s->sealing = FALSE;
  if (job->photo_attachment)
    s->photo_attachment = job->photo_attachment;
  if (!ok)
    {
      g_autofree char *title = student_title (s);
      g_autofree char *text = g_strdup_printf (_("%s needs attention: %s"), title, error->message);

      g_clear_pointer (&s->problems, g_ptr_array_unref);
      s->problems = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (s->problems, g_strdup (error->message));
      if (g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_WRONG_PASSPHRASE) ||
          g_error_matches (error, FK_STORE_ERROR, FK_STORE_ERROR_WAIT))
        {
          /* The second checker's passphrase no longer opens: ask again. */
          g_clear_pointer (&self->checker_pass, fk_secret_free);
          g_clear_pointer (&self->checker_id, g_free);
        }
      fk_window_toast (self->window, text);
    }
  else
    {
      s->status = job->status;
      if (job->status >= FK_CASE_CHECKED)
        s->all_ticked = TRUE;
      if (job->attendance)
        {
          g_free (s->attendance);
          s->attendance = g_strdup (job->attendance);
        }
      if (job->problems && job->problems->len > 0)
        {
          g_autofree char *title = student_title (s);
          g_autofree char *text = g_strdup_printf (_("%s needs attention"), title);

          g_clear_pointer (&s->problems, g_ptr_array_unref);
          s->problems = g_ptr_array_ref (job->problems);
          fk_window_toast (self->window, text);
        }
      else
        {
          g_clear_pointer (&s->problems, g_ptr_array_unref);
          if (job->receipt_no)
            {
              g_autofree char *text = g_strdup_printf (_("Seat %s sealed · %s"),
                                                       seat_text (s), job->receipt_no);

              g_free (s->receipt_no);
              s->receipt_no = g_strdup (job->receipt_no);
              fk_window_toast (self->window, text);
            }
        }
    }
  flush_pending (self);
  update_progress (self);
  if (current_student (self) == s && page_active (self, "student"))
    update_student_view (self);
  if (g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (self->stack)), "end") == 0)
    show_end (self);
  if (!g_queue_is_empty (&self->seal_queue) && self->checker_pass == NULL && self->second_check &&
      !self->without_checker)
    {
      /* The queue waits for a second checker who can sign. */
      gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "checker");
      return;
    }
  pump (self);
}

/* Starts the next seal in the queue when the store is free. */
static void
pump (FkDrivePage *self)
{
  Student *s = NULL;
  SealJob *job;
  gint64 *id;

  if (self->gone || self->job_running || g_queue_is_empty (&self->seal_queue))
    return;
  if (fk_window_is_busy (self->window) || fk_window_store (self->window) == NULL)
    {
      if (self->retry_source == 0)
        self->retry_source = g_timeout_add (RETRY_DELAY_MS, retry_cb, self);
      return;
    }
  if (self->second_check && self->checker_pass == NULL && !self->without_checker)
    return;
  id = g_queue_pop_head (&self->seal_queue);
  s = find_student (self, *id, NULL);
  g_free (id);
  if (s == NULL)
    {
      pump (self);
      return;
    }
  job = g_new0 (SealJob, 1);
  job->case_id = s->case_id;
  if (self->has_attendance && (s->attendance_dirty || g_strcmp0 (s->attendance, FK_ATTENDANCE_PRESENT) != 0))
    job->attendance = g_strdup (FK_ATTENDANCE_PRESENT);
  s->attendance_dirty = FALSE;
  if (s->fields_dirty)
    {
      job->set_fields = TRUE;
      job->guardian = g_strdup (s->guardian);
      job->phone = g_strdup (s->phone);
      s->fields_dirty = FALSE;
    }
  if (s->pending_photo)
    {
      job->photo = g_steal_pointer (&s->pending_photo);
      s->has_photo = TRUE;
    }
  job->second_check = self->second_check;
  if (self->checker_pass)
    {
      job->checker_id = g_strdup (self->checker_id);
      job->checker_pass = g_strdup (fk_ui_secret_text (self->checker_pass));
    }
  self->job_running = TRUE;
  fk_student_flow_run_job (self->window, self, seal_job_run, job, seal_job_free, seal_done);
}

/* What the page itself can see before sealing. */
static GPtrArray *
screen_problems (FkDrivePage *self,
                 Student     *s)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  if (!s->has_photo && s->pending_photo == NULL)
    g_ptr_array_add (out, g_strdup (_("No photo yet: add one with Alt+O.")));
  if (*s->phone && !fk_phone_check (s->phone, NULL, NULL))
    g_ptr_array_add (out, g_strdup (_("The phone number is not a Taiwanese number.")));
  if (g_utf8_strlen (s->guardian, -1) > 100)
    g_ptr_array_add (out, g_strdup (_("The guardian's name is longer than 100 characters.")));
  /* A photo with a warning is sealed only on a second Enter, once the
   * clerk has seen the warning. */
  if (out->len == 0 && s->photo_warnings && !s->warnings_shown)
    {
      g_ptr_array_add (out, g_strdup_printf (_("Photo: %s Press Enter again to use it anyway, or Alt+O for another."),
                                             s->photo_warnings));
      s->warnings_shown = TRUE;
    }
  if (out->len == 0)
    g_clear_pointer (&out, g_ptr_array_unref);
  return out;
}

static guint
next_open (FkDrivePage *self,
           guint        from)
{
  for (guint i = from + 1; i < self->students->len; i++)
    if (is_open (self->students->pdata[i]))
      return i;
  return G_MAXUINT;
}

static void
advance (FkDrivePage *self)
{
  guint next;

  if (self->pickup)
    {
      show_end (self);
      return;
    }
  next = next_open (self, self->current);
  if (next == G_MAXUINT)
    show_end (self);
  else
    show_student (self, next);
}

static void
seal_and_next (FkDrivePage *self)
{
  Student *s = current_student (self);
  g_autoptr(GPtrArray) problems = NULL;
  gint64 *id;

  if (s == NULL)
    return;
  if (is_done (s) || s->sealing)
    {
      advance (self);
      return;
    }
  if (s->photo && s->crop_dirty)
    {
      /* Enter right after moving the picture: seal the crop on screen,
       * not the last one encoded (about 10 ms at 413 × 531). */
      FkIdPhotoCheck check;
      g_autoptr(GBytes) jpeg = NULL;

      g_clear_handle_id (&self->crop_source, g_source_remove);
      jpeg = fk_id_photo_encode (s->photo, &s->crop, &check, NULL);
      if (jpeg)
        {
          s->photo_generation++;   /* an encode still running is stale */
          g_clear_pointer (&s->pending_photo, g_bytes_unref);
          s->pending_photo = g_steal_pointer (&jpeg);
          s->crop_dirty = FALSE;
          g_free (s->photo_warnings);
          s->photo_warnings = fk_id_photo_warnings (&check);
        }
    }
  problems = screen_problems (self, s);
  if (problems)
    {
      g_clear_pointer (&s->problems, g_ptr_array_unref);
      s->problems = g_steal_pointer (&problems);
      update_student_view (self);
      update_progress (self);
      /* The problems are under the name, at the top. */
      fk_ui_scroll_to_top (self->student_scroll);
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  /* Sealing says the student is here. */
  if (g_strcmp0 (s->attendance, FK_ATTENDANCE_PRESENT) != 0)
    {
      g_free (s->attendance);
      s->attendance = g_strdup (FK_ATTENDANCE_PRESENT);
      s->attendance_dirty = TRUE;
    }
  s->sealing = TRUE;
  id = g_new (gint64, 1);
  *id = s->case_id;
  g_queue_push_tail (&self->seal_queue, id);
  update_progress (self);
  pump (self);
  advance (self);
}

/* ---- check-in --------------------------------------------------------------------- */

static void
set_attendance (FkDrivePage *self,
                const char  *value)
{
  Student *s = current_student (self);

  if (s == NULL || is_done (s) || s->sealing)
    return;
  if (g_strcmp0 (s->attendance, value) != 0)
    {
      g_free (s->attendance);
      s->attendance = g_strdup (value);
      s->attendance_dirty = TRUE;
      flush_pending (self);
    }
  update_progress (self);
  if (g_strcmp0 (value, FK_ATTENDANCE_PRESENT) == 0)
    {
      update_student_view (self);
      return;
    }
  /* An absentee, or one who comes back later: on to the next student. */
  g_clear_pointer (&s->problems, g_ptr_array_unref);
  advance (self);
}

static void
tick_all (FkDrivePage *self)
{
  Student *s = current_student (self);
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GError) error = NULL;

  if (s == NULL || is_done (s) || s->sealing)
    return;
  if (store == NULL || self->job_running)
    {
      /* The seal ticks them anyway; say so. */
      s->all_ticked = TRUE;
      update_student_view (self);
      return;
    }
  if (!fk_store_case_tick (store, s->case_id, NULL, TRUE, &error))
    {
      fk_window_toast (self->window, error->message);
      return;
    }
  s->all_ticked = TRUE;
  if (s->status == FK_CASE_CHECKED || s->status == FK_CASE_APPROVED)
    s->status = FK_CASE_DRAFT;
  update_student_view (self);
}

/* ---- the photo ------------------------------------------------------------------- */

static void
photo_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  PhotoTask *t = task_data;
  GError *error = NULL;

  if (t->file)
    {
      t->photo = fk_id_photo_new_from_bytes (t->file, &error);
      if (t->photo == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      t->crop = (FkIdPhotoCrop) FK_ID_PHOTO_CROP_INIT;
      fk_id_photo_clamp (t->photo, &t->crop);
    }
  t->jpeg = fk_id_photo_encode (t->photo, &t->crop, &t->check, &error);
  if (t->jpeg == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static char *
photo_note (const FkIdPhotoCheck *check,
            gsize                 bytes)
{
  g_autofree char *warnings = fk_id_photo_warnings (check);
  g_autofree char *base = g_strdup_printf (_("Cropped to 35 × 45 mm, %d × %d px (%zu KB)."),
                                           FK_ID_PHOTO_WIDTH_PX, FK_ID_PHOTO_HEIGHT_PX, bytes / 1024 + 1);

  return warnings ? g_strdup_printf ("%s %s", warnings, base) : g_steal_pointer (&base);
}

static void
photo_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PhotoTask *t = g_task_get_task_data (G_TASK (result));
  FkDrivePage *self = t->page;
  g_autoptr(GError) error = NULL;
  Student *s;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !self->gone)
        {
          gtk_label_set_text (GTK_LABEL (self->photo_label), error->message);
          gtk_widget_add_css_class (self->photo_label, "fk-reason");
        }
      return;
    }
  if (self->gone)
    return;
  s = find_student (self, t->case_id, NULL);
  if (s == NULL || t->generation != s->photo_generation || is_done (s))
    return;
  if (t->file)
    {
      g_clear_pointer (&s->photo, fk_id_photo_unref);
      s->photo = fk_id_photo_ref (t->photo);
      s->crop = t->crop;
      /* A photo taken means the student is here. */
      if (s->attendance == NULL)
        {
          s->attendance = g_strdup (FK_ATTENDANCE_PRESENT);
          s->attendance_dirty = TRUE;
        }
    }
  g_clear_pointer (&s->pending_photo, g_bytes_unref);
  s->pending_photo = g_bytes_ref (t->jpeg);
  s->has_photo = TRUE;
  if (t->file || memcmp (&t->crop, &s->crop, sizeof t->crop) == 0)
    s->crop_dirty = FALSE;
  g_free (s->photo_note);
  s->photo_note = photo_note (&t->check, g_bytes_get_size (t->jpeg));
  g_free (s->photo_warnings);
  s->photo_warnings = fk_id_photo_warnings (&t->check);
  s->warnings_shown = FALSE;
  if (s->problems)
    g_clear_pointer (&s->problems, g_ptr_array_unref);
  if (!s->sealing)
    flush_pending (self);
  if (current_student (self) == s)
    {
      if (t->file)
        fk_photo_view_set_photo (FK_PHOTO_VIEW (self->photo_view), s->photo, &s->crop);
      update_student_view (self);
      /* On a phone the photo is below the fold: bring it into view when
       * it arrives, so its guide and warnings are seen before Enter. */
      if (t->file)
        fk_ui_scroll_to (self->student_scroll, self->photo_view);
    }
  update_progress (self);
}

static void
start_photo_task (FkDrivePage *self,
                  Student     *s,
                  GBytes      *file)
{
  g_autoptr(GTask) task = NULL;
  PhotoTask *t = g_new0 (PhotoTask, 1);

  t->page = g_object_ref (self);
  t->case_id = s->case_id;
  t->generation = ++s->photo_generation;
  if (file)
    t->file = g_bytes_ref (file);
  else
    {
      t->photo = fk_id_photo_ref (s->photo);
      t->crop = s->crop;
    }
  task = g_task_new (NULL, self->cancellable, photo_done_cb, NULL);
  g_task_set_source_tag (task, start_photo_task);
  g_task_set_task_data (task, t, photo_task_free);
  g_task_run_in_thread (task, photo_thread);
  gtk_label_set_text (GTK_LABEL (self->photo_label), _("Cropping…"));
  gtk_widget_remove_css_class (self->photo_label, "fk-reason");
}

static void
file_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FkDrivePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  gint64 *idp = g_object_get_data (source, "fk-case-id");
  Student *s;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &len, NULL, &error))
    {
      if (!self->gone)
        gtk_label_set_text (GTK_LABEL (self->photo_label), error->message);
      return;
    }
  if (self->gone || idp == NULL)
    return;
  s = find_student (self, *idp, NULL);
  if (s == NULL || is_done (s))
    return;
  {
    g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

    start_photo_task (self, s, bytes);
  }
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     FkDrivePage     *self)
{
  gint64 *idp = g_object_get_data (G_OBJECT (dialog), "fk-case-id");

  if (response == GTK_RESPONSE_ACCEPT && idp)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GFile) parent = g_file_get_parent (file);

      g_free (self->photo_folder);
      self->photo_folder = parent ? g_file_get_path (parent) : NULL;
      g_object_set_data_full (G_OBJECT (file), "fk-case-id", g_memdup2 (idp, sizeof *idp), g_free);
      g_file_load_contents_async (file, self->cancellable, file_loaded_cb, g_object_ref (self));
    }
  g_clear_object (&self->chooser);
}

static void
choose_photo (FkDrivePage *self)
{
  Student *s = current_student (self);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *title = NULL;

  if (s == NULL || is_done (s) || s->sealing || self->chooser)
    return;
  title = g_strdup_printf (_("Photo of %s (seat %s)"), s->name ? s->name : "—", seat_text (s));
  gtk_file_filter_set_name (filter, _("Pictures (JPEG, PNG)"));
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_suffix (filter, "jpg");
  gtk_file_filter_add_suffix (filter, "jpeg");
  gtk_file_filter_add_suffix (filter, "png");
  chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self->window), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Use"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  if (self->photo_folder)
    {
      g_autoptr(GFile) folder = g_file_new_for_path (self->photo_folder);

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "fk-case-id", g_memdup2 (&s->case_id, sizeof s->case_id), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
camera_captured_cb (FkCameraDialog *dialog,
                    GBytes         *png,
                    FkDrivePage    *self)
{
  gint64 *idp = g_object_get_data (G_OBJECT (dialog), "fk-case-id");
  Student *s;

  if (self->gone || idp == NULL)
    return;
  s = find_student (self, *idp, NULL);
  if (s == NULL || is_done (s))
    return;
  /* The same path as a file: decoded, cropped to 35 × 45 mm with its
   * warnings, written as an encrypted attachment. */
  start_photo_task (self, s, png);
}

static void
take_camera_photo (FkDrivePage *self)
{
  Student *s = current_student (self);
  FkCameraDialog *dialog;
  g_autofree char *title = NULL;

  if (s == NULL || is_done (s) || s->sealing || self->chooser || self->camera || !self->camera_ok)
    return;
  title = g_strdup_printf (_("Photo of %s (seat %s)"), s->name ? s->name : "—", seat_text (s));
  dialog = fk_camera_dialog_new (GTK_WINDOW (self->window), title);
  g_object_set_data_full (G_OBJECT (dialog), "fk-case-id", g_memdup2 (&s->case_id, sizeof s->case_id), g_free);
  g_signal_connect_object (dialog, "captured", G_CALLBACK (camera_captured_cb), self, 0);
  self->camera = GTK_WIDGET (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->camera);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
close_camera (FkDrivePage *self)
{
  GtkWidget *camera = self->camera;

  if (camera == NULL)
    return;
  g_object_remove_weak_pointer (G_OBJECT (camera), (gpointer *) &self->camera);
  self->camera = NULL;
  gtk_window_destroy (GTK_WINDOW (camera));
}

static gboolean
crop_timeout_cb (gpointer user_data)
{
  FkDrivePage *self = user_data;
  Student *s = current_student (self);

  self->crop_source = 0;
  if (s && s->photo && !is_done (s) && !s->sealing)
    start_photo_task (self, s, NULL);
  return G_SOURCE_REMOVE;
}

static void
crop_changed_cb (FkPhotoView *view,
                 FkDrivePage *self)
{
  Student *s = current_student (self);

  if (s == NULL || s->photo == NULL || fk_photo_view_get_photo (view) != s->photo)
    return;
  fk_photo_view_get_crop (view, &s->crop);
  s->crop_dirty = TRUE;
  g_clear_handle_id (&self->crop_source, g_source_remove);
  self->crop_source = g_timeout_add (CROP_DELAY_MS, crop_timeout_cb, self);
}

/* The stored (already cropped) photo of a student, for the view. */
static FkIdPhoto *
stored_photo (FkDrivePage *self,
              Student     *s)
{
  FkStore *store = fk_window_store (self->window);
  g_autoptr(GBytes) bytes = NULL;

  if (s->pending_photo)
    return fk_id_photo_new_from_bytes (s->pending_photo, NULL);
  if (store == NULL || s->photo_attachment == 0)
    return NULL;
  bytes = fk_store_attachment_get (store, s->photo_attachment, NULL);
  return bytes ? fk_id_photo_new_from_bytes (bytes, NULL) : NULL;
}

/* ---- guardian and phone ---------------------------------------------------------- */

static void
entry_changed_cb (GtkEditable *editable,
                  FkDrivePage *self)
{
  Student *s = current_student (self);
  const char *text = gtk_editable_get_text (editable);
  g_autoptr(GError) error = NULL;

  if (self->loading || s == NULL || is_done (s))
    return;
  if (GTK_WIDGET (editable) == self->phone)
    {
      fk_wipe_free (s->phone);
      s->phone = g_strstrip (g_strdup (text));
      fk_ui_entry_set_reason (self->phone, self->phone_reason,
                              *s->phone && !fk_phone_check (s->phone, NULL, &error) ? error->message : NULL);
    }
  else
    {
      fk_wipe_free (s->guardian);
      s->guardian = g_strstrip (g_strdup (text));
      fk_ui_entry_set_reason (self->guardian, self->guardian_reason,
                              g_utf8_strlen (s->guardian, -1) > 100
                              ? _("The name is longer than 100 characters.") : NULL);
    }
  s->fields_dirty = TRUE;
  schedule_save (self);
}

/* ---- the second checker ------------------------------------------------------------ */

typedef struct {
  char *operator_id;
  char *passphrase;
} VerifyJob;

static void
verify_job_free (gpointer p)
{
  VerifyJob *job = p;

  g_free (job->operator_id);
  fk_wipe_free (job->passphrase);
  g_free (job);
}

static gboolean
verify_job_run (FkStore  *store,
                gpointer  data,
                GError  **error)
{
  VerifyJob *job = data;

  return fk_store_verify_operator (store, job->operator_id, job->passphrase, error);
}

static void
checker_done (FkDrivePage *self)
{
  g_autofree char *text = NULL;
  guint first;

  if (self->checker_pass)
    text = g_strdup_printf (_("Second checker: %s, until you leave the drive or lock."),
                            self->checker_name);
  else
    text = g_strdup (_("No second checker: cases stop after the self-check and wait for a second check."));
  gtk_label_set_text (GTK_LABEL (self->checker_label), text);
  if (!g_queue_is_empty (&self->seal_queue))
    pump (self);
  first = self->students->len ? (is_open (self->students->pdata[0]) ? 0 : next_open (self, 0)) : G_MAXUINT;
  if (first == G_MAXUINT)
    show_end (self);
  else
    show_student (self, first);
}

static void
verify_done (gpointer      page,
             gpointer      data,
             gboolean      ok,
             const GError *error)
{
  FkDrivePage *self = page;
  VerifyJob *job = data;

  self->job_running = FALSE;
  if (self->gone)
    return;
  gtk_spinner_set_spinning (GTK_SPINNER (self->checker_spinner), FALSE);
  gtk_widget_set_visible (self->checker_spinner, FALSE);
  gtk_widget_set_sensitive (self->checker_button, TRUE);
  if (!ok)
    {
      gtk_label_set_text (GTK_LABEL (self->checker_message), error->message);
      gtk_widget_set_visible (self->checker_message, TRUE);
      gtk_widget_grab_focus (self->checker_entry);
      return;
    }
  g_clear_pointer (&self->checker_pass, fk_secret_free);
  self->checker_pass = fk_ui_secret_new (job->passphrase);
  g_free (self->checker_id);
  self->checker_id = g_strdup (job->operator_id);
  self->without_checker = FALSE;
  gtk_widget_set_visible (self->checker_message, FALSE);
  fk_window_toast (self->window, _("Second checker signed in for this drive"));
  checker_done (self);
}

static void
checker_sign_in (FkDrivePage *self)
{
  guint pos = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->checker_ops));
  const char *pass = gtk_editable_get_text (GTK_EDITABLE (self->checker_entry));
  VerifyJob *job;

  if (pos == GTK_INVALID_LIST_POSITION || self->checker_ids == NULL ||
      pos >= g_list_model_get_n_items (G_LIST_MODEL (self->checker_ids)))
    return;
  if (*pass == '\0')
    {
      gtk_label_set_text (GTK_LABEL (self->checker_message),
                          _("Type the second checker's passphrase."));
      gtk_widget_set_visible (self->checker_message, TRUE);
      return;
    }
  if (self->job_running || fk_window_is_busy (self->window))
    {
      busy_toast (self);
      return;
    }
  job = g_new0 (VerifyJob, 1);
  job->operator_id = g_strdup (gtk_string_list_get_string (self->checker_ids, pos));
  job->passphrase = g_strdup (pass);
  gtk_editable_set_text (GTK_EDITABLE (self->checker_entry), "");
  {
    GtkStringObject *o = g_list_model_get_item (gtk_drop_down_get_model (GTK_DROP_DOWN (self->checker_ops)), pos);

    g_free (self->checker_name);
    self->checker_name = g_strdup (o ? gtk_string_object_get_string (o) : job->operator_id);
    g_clear_object (&o);
  }
  self->job_running = TRUE;
  gtk_widget_set_sensitive (self->checker_button, FALSE);
  gtk_widget_set_visible (self->checker_spinner, TRUE);
  gtk_spinner_set_spinning (GTK_SPINNER (self->checker_spinner), TRUE);
  fk_student_flow_run_job (self->window, self, verify_job_run, job, verify_job_free, verify_done);
}

static void
checker_clicked_cb (GtkButton   *button,
                    FkDrivePage *self)
{
  checker_sign_in (self);
}

static void
checker_activate_cb (GtkEntry    *entry,
                     FkDrivePage *self)
{
  checker_sign_in (self);
}

static void
without_checker_cb (GtkButton   *button,
                    FkDrivePage *self)
{
  g_clear_pointer (&self->checker_pass, fk_secret_free);
  g_clear_pointer (&self->checker_id, g_free);
  self->without_checker = TRUE;
  checker_done (self);
}

static void
change_checker_cb (GtkButton   *button,
                   FkDrivePage *self)
{
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "checker");
  gtk_widget_grab_focus (self->checker_entry);
}

/* ---- views ------------------------------------------------------------------------- */

static void
update_progress (FkDrivePage *self)
{
  guint done = 0, absent = 0, later = 0, attention = 0, sealing = 0;
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < self->students->len; i++)
    {
      Student *st = self->students->pdata[i];

      if (is_done (st))
        done++;
      else if (st->sealing)
        sealing++;
      else if (st->problems)
        attention++;
      else if (g_strcmp0 (st->attendance, FK_ATTENDANCE_ABSENT) == 0)
        absent++;
      else if (g_strcmp0 (st->attendance, FK_ATTENDANCE_LATER) == 0)
        later++;
    }
  g_string_printf (s, _("%u / %u done · %u absent"), done, self->students->len, absent);
  if (later)
    g_string_append_printf (s, _(" · %u later"), later);
  g_string_append_printf (s, _(" · %u needs attention"), attention);
  if (sealing)
    g_string_append_printf (s, _(" · %u sealing"), sealing);
  fk_student_flow_set_progress (self->progress, s->str);
}

static const char *
status_text (FkDrivePage *self,
             Student     *s,
             char       **owned)
{
  if (is_done (s))
    return *owned = g_strdup_printf (_("Sealed · receipt %s"),
                                     s->receipt_no ? s->receipt_no : "—");
  if (s->sealing)
    return _("Sealing…");
  if (s->problems)
    return _("Needs attention");
  if (s->status == FK_CASE_CHECKED)
    return _("Self-checked: waits for a second check");
  if (g_strcmp0 (s->attendance, FK_ATTENDANCE_ABSENT) == 0)
    return _("Absent");
  if (g_strcmp0 (s->attendance, FK_ATTENDANCE_LATER) == 0)
    return _("Comes back later");
  if (g_strcmp0 (s->attendance, FK_ATTENDANCE_PRESENT) == 0)
    return _("Present");
  return _("Not checked in yet");
}

static void
update_student_view (FkDrivePage *self)
{
  Student *s = current_student (self);
  g_autofree char *position = NULL;
  g_autofree char *identity = NULL;
  g_autofree char *owned = NULL;
  g_autofree char *birth = NULL;
  g_autofree char *docs = NULL;
  const char *state;
  gboolean editable;

  if (s == NULL)
    return;
  editable = !is_done (s) && !s->sealing;
  self->loading = TRUE;

  position = g_strdup_printf (_("Class %s · seat %s · student %u of %u"),
                              *s->school_class ? s->school_class : "—", seat_text (s),
                              self->current + 1, self->students->len);
  state = status_text (self, s, &owned);
  fk_student_header_show (&self->header, position, s->name, state, is_done (s), s->problems);
  if (s->birth_date)
    birth = fk_ui_format_date (s->birth_date);
  identity = g_strdup_printf (_("ID %s · born %s"), s->person_id ? s->person_id : "—",
                              birth ? birth : _("unknown"));
  gtk_label_set_text (GTK_LABEL (self->header.detail), identity);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->present), g_strcmp0 (s->attendance, FK_ATTENDANCE_PRESENT) == 0);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->absent), g_strcmp0 (s->attendance, FK_ATTENDANCE_ABSENT) == 0);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->later), g_strcmp0 (s->attendance, FK_ATTENDANCE_LATER) == 0);
  if (s->attendance == NULL)
    {
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->present), FALSE);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->absent), FALSE);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->later), FALSE);
    }
  gtk_widget_set_sensitive (self->present, editable);
  gtk_widget_set_sensitive (self->absent, editable);
  gtk_widget_set_sensitive (self->later, editable);

  docs = (s->all_ticked || is_done (s))
         ? g_strdup (_("✓ Every document on the checklist seen."))
         : g_strdup_printf (_("Check: %u documents (household register, photo, fee…). Enter confirms them all."),
                            self->checklist->len);
  gtk_label_set_text (GTK_LABEL (self->docs_label), docs);
  gtk_widget_set_sensitive (self->docs_button, editable && !s->all_ticked);

  if (s->photo)
    {
      if (fk_photo_view_get_photo (FK_PHOTO_VIEW (self->photo_view)) != s->photo)
        fk_photo_view_set_photo (FK_PHOTO_VIEW (self->photo_view), s->photo, &s->crop);
    }
  else if (fk_photo_view_get_photo (FK_PHOTO_VIEW (self->photo_view)) == NULL ||
           g_object_get_data (G_OBJECT (self->photo_view), "fk-case") != GSIZE_TO_POINTER ((gsize) s->case_id))
    {
      g_autoptr(FkIdPhoto) stored = s->has_photo ? stored_photo (self, s) : NULL;

      fk_photo_view_set_photo (FK_PHOTO_VIEW (self->photo_view), stored, NULL);
    }
  g_object_set_data (G_OBJECT (self->photo_view), "fk-case", GSIZE_TO_POINTER ((gsize) s->case_id));
  gtk_widget_set_sensitive (self->photo_view, editable && s->photo != NULL);
  gtk_widget_set_sensitive (self->photo_button, editable);
  gtk_widget_set_sensitive (self->camera_button, editable && self->camera_ok);
  gtk_widget_set_sensitive (self->zoom_in, editable && s->photo != NULL);
  gtk_widget_set_sensitive (self->zoom_out, editable && s->photo != NULL);
  gtk_widget_remove_css_class (self->photo_label, "fk-reason");
  if (s->photo_note)
    {
      gtk_label_set_text (GTK_LABEL (self->photo_label), s->photo_note);
      if (s->photo_warnings)
        gtk_widget_add_css_class (self->photo_label, "fk-reason");
    }
  else if (s->has_photo)
    gtk_label_set_text (GTK_LABEL (self->photo_label), _("Photo saved with the case."));
  else
    gtk_label_set_text (GTK_LABEL (self->photo_label),
                        _("No photo yet. Alt+C takes one with the camera, Alt+O picks a file; it is cropped "
                              "to 35 × 45 mm. Drag to move, scroll to zoom: the head fills the oval, the chin in "
                              "the blue band."));
  fk_ui_name (self->photo_view, s->has_photo
                                ? _("ID photo crop with the head-size guide: drag or arrow keys to move, scroll or +/- to zoom")
                                : _("No photo yet"));

  gtk_editable_set_text (GTK_EDITABLE (self->guardian), s->guardian ? s->guardian : "");
  gtk_editable_set_text (GTK_EDITABLE (self->phone), s->phone ? s->phone : "");
  gtk_widget_set_sensitive (self->guardian, editable);
  gtk_widget_set_sensitive (self->phone, editable);
  fk_ui_entry_set_reason (self->guardian, self->guardian_reason, NULL);
  {
    g_autoptr(GError) error = NULL;

    fk_ui_entry_set_reason (self->phone, self->phone_reason,
                            s->phone && *s->phone && !fk_phone_check (s->phone, NULL, &error) ? error->message : NULL);
  }

  if (is_done (s) || s->sealing)
    fk_ui_wrap_button_set_text (self->seal_button, _("Next student (Enter)"), _("Next student"));
  else
    fk_ui_wrap_button_set_text (self->seal_button, _("Seal and next (Enter)"), _("Seal and next"));
  gtk_widget_set_sensitive (self->prev_button, self->current > 0);
  self->loading = FALSE;
}

static void
show_student (FkDrivePage *self,
              guint        index)
{
  Student *old = current_student (self);

  if (index >= self->students->len)
    {
      show_end (self);
      return;
    }
  g_clear_handle_id (&self->crop_source, g_source_remove);
  if (old && old != self->students->pdata[index])
    {
      /* The picture itself is only kept for the student on screen. */
      if (old->photo && fk_photo_view_get_photo (FK_PHOTO_VIEW (self->photo_view)) == old->photo)
        fk_photo_view_get_crop (FK_PHOTO_VIEW (self->photo_view), &old->crop);
      g_clear_pointer (&old->photo, fk_id_photo_unref);
      fk_photo_view_set_photo (FK_PHOTO_VIEW (self->photo_view), NULL, NULL);
      g_object_set_data (G_OBJECT (self->photo_view), "fk-case", NULL);
    }
  flush_pending (self);
  self->current = index;
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "student");
  update_student_view (self);
  update_progress (self);
  fk_ui_scroll_to_top (self->student_scroll);
  /* The keyboard stays on the page, not on a control of the last student. */
  gtk_widget_grab_focus (self->seal_button);
}

static void
pickup_activated_cb (GtkListBox    *box,
                     GtkListBoxRow *row,
                     FkDrivePage   *self)
{
  gint64 *id = g_object_get_data (G_OBJECT (row), "fk-case");
  guint index;

  if (id && find_student (self, *id, &index))
    {
      self->pickup = TRUE;
      show_student (self, index);
    }
}

static void
summary_student_cb (FkClassSummaryView *view,
                    gint64              case_id,
                    FkDrivePage        *self)
{
  guint index;

  if (find_student (self, case_id, &index))
    {
      self->pickup = TRUE;
      show_student (self, index);
    }
}

static void
show_end (FkDrivePage *self)
{
  guint n = 0;

  fk_ui_box_clear (self->pickups);
  for (guint i = 0; i < self->students->len; i++)
    {
      Student *s = self->students->pdata[i];
      GtkWidget *row;
      g_autofree char *title = NULL;
      g_autofree char *owned = NULL;

      if (is_done (s) || s->sealing)
        continue;
      title = student_title (s);
      row = fk_student_flow_row (title, status_text (self, s, &owned));
      g_object_set_data_full (G_OBJECT (row), "fk-case", g_memdup2 (&s->case_id, sizeof s->case_id), g_free);
      gtk_list_box_append (GTK_LIST_BOX (self->pickups), row);
      n++;
    }
  gtk_widget_set_visible (self->pickups, n > 0);
  gtk_widget_set_visible (self->pickups_empty, n == 0);
  gtk_label_set_text (GTK_LABEL (self->end_title),
                      n > 0 ? _("Still to serve: absent, later, needs attention, not seen yet")
                            : _("Every student is done"));
  fk_class_summary_view_refresh (FK_CLASS_SUMMARY_VIEW (self->summary));
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "end");
  update_progress (self);
  if (n > 0)
    gtk_widget_grab_focus (GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->pickups), 0)));
}

/* ---- buttons and keys -------------------------------------------------------------- */

static void
present_toggled_cb (GtkToggleButton *button,
                    FkDrivePage     *self)
{
  if (self->loading || !gtk_toggle_button_get_active (button))
    return;
  set_attendance (self, button == GTK_TOGGLE_BUTTON (self->present) ? FK_ATTENDANCE_PRESENT
                        : button == GTK_TOGGLE_BUTTON (self->absent) ? FK_ATTENDANCE_ABSENT
                        : FK_ATTENDANCE_LATER);
}

static void
docs_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  tick_all (self);
}

static void
photo_clicked_cb (GtkButton   *button,
                  FkDrivePage *self)
{
  choose_photo (self);
}

static void
zoom_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  fk_photo_view_zoom (FK_PHOTO_VIEW (self->photo_view), GTK_WIDGET (button) == self->zoom_in ? 1.1 : 1 / 1.1);
}

static void
seal_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  seal_and_next (self);
}

static void
go_next (FkDrivePage *self)
{
  self->pickup = FALSE;
  if (self->current + 1 < self->students->len)
    show_student (self, self->current + 1);
  else
    show_end (self);
}

static void
go_previous (FkDrivePage *self)
{
  self->pickup = FALSE;
  if (self->current > 0)
    show_student (self, self->current - 1);
}

static void
next_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  go_next (self);
}

static void
prev_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  go_previous (self);
}

static void
list_clicked_cb (GtkButton   *button,
                 FkDrivePage *self)
{
  show_end (self);
}

static void
back_to_student_cb (GtkButton   *button,
                    FkDrivePage *self)
{
  guint first;

  self->pickup = FALSE;
  first = self->current < self->students->len && is_open (self->students->pdata[self->current])
          ? self->current : next_open (self, (guint) -1);
  show_student (self, first == G_MAXUINT ? MIN (self->current, self->students->len - 1) : first);
}

static void
leave_clicked_cb (GtkButton   *button,
                  FkDrivePage *self)
{
  fk_drive_page_close (self);
}

static gboolean
shortcut_cb (GtkWidget *widget,
             GVariant  *args,
             gpointer   user_data)
{
  FkDrivePage *self = FK_DRIVE_PAGE (user_data);
  const char *what = g_variant_get_string (args, NULL);

  if (g_str_equal (what, "list"))
    {
      if (page_active (self, "student"))
        {
          show_end (self);
          return TRUE;
        }
      if (page_active (self, "end") && self->students->len > 0)
        {
          back_to_student_cb (NULL, self);
          return TRUE;
        }
      return FALSE;
    }
  if (!page_active (self, "student"))
    return FALSE;
  if (g_str_equal (what, "seal"))
    {
      /* In the guardian or phone field a Chinese input method commits its
       * text with Enter; the field's "activate" seals when the input
       * method did not want the key. */
      if (fk_student_flow_focus_in_field (GTK_WIDGET (self)))
        return FALSE;
      seal_and_next (self);
    }
  else if (g_str_equal (what, "present"))
    set_attendance (self, FK_ATTENDANCE_PRESENT);
  else if (g_str_equal (what, "absent"))
    set_attendance (self, FK_ATTENDANCE_ABSENT);
  else if (g_str_equal (what, "later"))
    set_attendance (self, FK_ATTENDANCE_LATER);
  else if (g_str_equal (what, "docs"))
    tick_all (self);
  else if (g_str_equal (what, "photo"))
    choose_photo (self);
  else if (g_str_equal (what, "camera"))
    take_camera_photo (self);
  else if (g_str_equal (what, "next"))
    go_next (self);
  else if (g_str_equal (what, "previous"))
    go_previous (self);
  else
    return FALSE;
  return TRUE;
}

/* ---- two columns that stack when narrow ----------------------------------------- */

/* libadwaita 1.2 has no breakpoints: this container puts its two children
 * side by side when it is at least COLUMNS_MIN_WIDTH wide (the student on
 * the left, the photo on the right, both above the fold on a laptop) and
 * one above the other on a phone. */
#define COLUMNS_MIN_WIDTH 640
#define COLUMNS_SPACING   24

#define FK_TYPE_COLUMNS (fk_columns_get_type ())
G_DECLARE_FINAL_TYPE (FkColumns, fk_columns, FK, COLUMNS, GtkWidget)

struct _FkColumns
{
  GtkWidget  parent_instance;
  GtkWidget *start;
  GtkWidget *end;
};

G_DEFINE_FINAL_TYPE (FkColumns, fk_columns, GTK_TYPE_WIDGET)

/* Width of the end column when side by side. */
static int
columns_end_width (FkColumns *self,
                   int        width)
{
  int min = 0, nat = 0;

  gtk_widget_measure (self->end, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  return CLAMP (nat, min, (width - COLUMNS_SPACING) / 2);
}

static void
fk_columns_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  FkColumns *self = FK_COLUMNS (widget);
  int smin = 0, snat = 0, emin = 0, enat = 0;

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      gtk_widget_measure (self->start, orientation, -1, &smin, &snat, NULL, NULL);
      gtk_widget_measure (self->end, orientation, -1, &emin, &enat, NULL, NULL);
      *minimum = MAX (smin, emin);
      *natural = MAX (snat + COLUMNS_SPACING + enat, COLUMNS_MIN_WIDTH);
      return;
    }
  if (for_size >= COLUMNS_MIN_WIDTH)
    {
      int ew = columns_end_width (self, for_size);

      gtk_widget_measure (self->start, orientation, for_size - ew - COLUMNS_SPACING, &smin, &snat, NULL, NULL);
      gtk_widget_measure (self->end, orientation, ew, &emin, &enat, NULL, NULL);
      *natural = MAX (snat, enat);
    }
  else
    {
      gtk_widget_measure (self->start, orientation, for_size, &smin, &snat, NULL, NULL);
      gtk_widget_measure (self->end, orientation, for_size, &emin, &enat, NULL, NULL);
      *natural = snat + COLUMNS_SPACING + enat;
    }
  /* Always the natural height: in a scrolled window the page gets its
   * minimum, and the photo must not shrink (nor overlap what follows). */
  *minimum = *natural;
}

static GtkSizeRequestMode
fk_columns_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
fk_columns_size_allocate (GtkWidget *widget,
                          int        width,
                          int        height,
                          int        baseline)
{
  FkColumns *self = FK_COLUMNS (widget);
  int sh = 0, eh = 0, unused = 0;

  if (width >= COLUMNS_MIN_WIDTH)
    {
      int ew = columns_end_width (self, width);
      int sw = width - ew - COLUMNS_SPACING;

      gtk_widget_measure (self->start, GTK_ORIENTATION_VERTICAL, sw, &unused, &sh, NULL, NULL);
      gtk_widget_measure (self->end, GTK_ORIENTATION_VERTICAL, ew, &unused, &eh, NULL, NULL);
      gtk_widget_size_allocate (self->start, &(GtkAllocation) { 0, 0, sw, MIN (sh, height) }, -1);
      gtk_widget_size_allocate (self->end, &(GtkAllocation) { sw + COLUMNS_SPACING, 0, ew, MIN (eh, height) }, -1);
    }
  else
    {
      gtk_widget_measure (self->start, GTK_ORIENTATION_VERTICAL, width, &unused, &sh, NULL, NULL);
      gtk_widget_measure (self->end, GTK_ORIENTATION_VERTICAL, width, &unused, &eh, NULL, NULL);
      gtk_widget_size_allocate (self->start, &(GtkAllocation) { 0, 0, width, sh }, -1);
      gtk_widget_size_allocate (self->end, &(GtkAllocation) { 0, sh + COLUMNS_SPACING, width, eh }, -1);
    }
}

static void
fk_columns_dispose (GObject *object)
{
  FkColumns *self = FK_COLUMNS (object);

  g_clear_pointer (&self->start, gtk_widget_unparent);
  g_clear_pointer (&self->end, gtk_widget_unparent);
  G_OBJECT_CLASS (fk_columns_parent_class)->dispose (object);
}

static void
fk_columns_class_init (FkColumnsClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = fk_columns_dispose;
  widget_class->measure = fk_columns_measure;
  widget_class->get_request_mode = fk_columns_get_request_mode;
  widget_class->size_allocate = fk_columns_size_allocate;
}

static void
fk_columns_init (FkColumns *self)
{
}

static GtkWidget *
fk_columns_new (GtkWidget *start,
                GtkWidget *end)
{
  FkColumns *self = g_object_new (FK_TYPE_COLUMNS, NULL);

  self->start = start;
  self->end = end;
  gtk_widget_set_parent (start, GTK_WIDGET (self));
  gtk_widget_set_parent (end, GTK_WIDGET (self));
  return GTK_WIDGET (self);
}

/* ---- construction ------------------------------------------------------------------ */

/* A check-in button: the word, and its key under it in small print. */
static GtkWidget *
toggle (const char *text,
        const char *keys)
{
  GtkWidget *b = gtk_toggle_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *word = gtk_label_new (text);
  GtkWidget *key = gtk_label_new (keys);

  gtk_label_set_wrap (GTK_LABEL (word), TRUE);
  gtk_label_set_justify (GTK_LABEL (word), GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (key, "caption");
  gtk_widget_add_css_class (key, "dim-label");
  gtk_box_append (GTK_BOX (box), word);
  gtk_box_append (GTK_BOX (box), key);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_button_set_child (GTK_BUTTON (b), box);
  fk_ui_name (b, text);
  gtk_widget_set_tooltip_text (b, keys);
  gtk_widget_set_hexpand (b, TRUE);
  return fk_ui_key_shortcuts (b, keys);
}

static GtkWidget *
build_checker (FkDrivePage *self,
               FkStore     *store)
{
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkStringList *names = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) ops = store ? fk_store_operators (store, NULL) : NULL;
  GtkWidget *box, *skip;
  GtkWidget *scroll = fk_student_flow_scroller (560, 12, &box);

  self->checker_ids = gtk_string_list_new (NULL);
  for (guint i = 0; ops && i < ops->len; i++)
    {
      FkOperator *op = ops->pdata[i];
      g_autofree char *shown = g_strdup_printf ("%s (%s)", op->name ? op->name : op->id, op->id);

      if (g_strcmp0 (op->id, fk_store_operator (store)) == 0)
        continue;
      gtk_string_list_append (self->checker_ids, op->id);
      gtk_string_list_append (names, shown);
    }
  gtk_widget_set_margin_top (box, 18);
  gtk_box_append (GTK_BOX (box), fk_ui_label (_("Second checker for this drive"), "title-2"));
  gtk_box_append (GTK_BOX (box),
                  fk_ui_label (_("A first ID card needs a second check. Sign in a colleague once for the whole class: "
                                     "every seal then records them as the second checker. Their passphrase stays in this "
                                     "page's memory only and is wiped when you leave the drive or the window locks."), NULL));
  gtk_box_append (GTK_BOX (box), fk_ui_label (_("Second checker"), "heading"));
  /* The drop-down takes the model. */
  self->checker_ops = gtk_drop_down_new (G_LIST_MODEL (names), NULL);
  fk_ui_name (self->checker_ops, _("Second checker"));
  gtk_box_append (GTK_BOX (box), self->checker_ops);
  gtk_box_append (GTK_BOX (box), fk_ui_label (_("Their passphrase"), "heading"));
  /* A plain entry: GTK 4.8's GtkPasswordEntry can crash when destroyed
   * with the focus (see fk-case-editor.c). */
  self->checker_entry = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (self->checker_entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->checker_entry), GTK_INPUT_PURPOSE_PASSWORD);
  fk_ui_name (self->checker_entry, _("Second checker's passphrase"));
  g_signal_connect (self->checker_entry, "activate", G_CALLBACK (checker_activate_cb), self);
  gtk_box_append (GTK_BOX (box), self->checker_entry);
  self->checker_message = fk_ui_label ("", "fk-reason");
  gtk_widget_set_visible (self->checker_message, FALSE);
  fk_ui_describe (self->checker_entry, self->checker_message);
  gtk_box_append (GTK_BOX (box), self->checker_message);
  if (g_list_model_get_n_items (G_LIST_MODEL (self->checker_ids)) == 0)
    gtk_box_append (GTK_BOX (box),
                    fk_ui_label (_("No other operator on this device. Add one with fieldkit-cli operator add."), "fk-reason"));
  self->checker_spinner = gtk_spinner_new ();
  gtk_widget_set_visible (self->checker_spinner, FALSE);
  fk_ui_name (self->checker_spinner, _("Checking the passphrase"));
  gtk_box_append (GTK_BOX (buttons), self->checker_spinner);
  self->checker_button = fk_ui_wrap_button (_("Sign in second checker"),
                                            _("Sign in second checker"), "suggested-action");
  g_signal_connect (self->checker_button, "clicked", G_CALLBACK (checker_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->checker_button);
  skip = fk_ui_wrap_button (_("Go on without"), _("Go on without"), NULL);
  gtk_widget_set_tooltip_text (skip, _("Cases stop after the self-check and wait for a second check"));
  g_signal_connect (skip, "clicked", G_CALLBACK (without_checker_cb), self);
  gtk_box_append (GTK_BOX (buttons), skip);
  gtk_box_append (GTK_BOX (box), buttons);
  return scroll;
}

static GtkWidget *
build_student (FkDrivePage *self)
{
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *box, *sec, *row, *col, *bar, *list, *cols, *left, *right;
  g_autofree char *fee = NULL;

  self->student_scroll = fk_student_flow_scroller (980, 14, &box);
  gtk_widget_set_vexpand (self->student_scroll, TRUE);
  gtk_box_append (GTK_BOX (outer), self->student_scroll);

  /* Two columns where they fit, one on a phone. */
  left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 14);
  right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 14);
  cols = fk_columns_new (left, right);
  gtk_box_append (GTK_BOX (box), cols);

  /* Who. */
  fk_student_header_build (&self->header, left);

  /* Check-in. */
  sec = fk_ui_section (left, _("Check-in"));
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_add_css_class (row, "linked");
  self->present = toggle (_("Present"), "Alt+P");
  self->absent = toggle (_("Absent"), "Alt+A");
  self->later = toggle (_("Come back later"), "Alt+L");
  gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (self->absent), GTK_TOGGLE_BUTTON (self->present));
  gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (self->later), GTK_TOGGLE_BUTTON (self->present));
  g_signal_connect (self->present, "toggled", G_CALLBACK (present_toggled_cb), self);
  g_signal_connect (self->absent, "toggled", G_CALLBACK (present_toggled_cb), self);
  g_signal_connect (self->later, "toggled", G_CALLBACK (present_toggled_cb), self);
  gtk_box_append (GTK_BOX (row), self->present);
  gtk_box_append (GTK_BOX (row), self->absent);
  gtk_box_append (GTK_BOX (row), self->later);
  gtk_box_append (GTK_BOX (sec), row);

  /* Identity and documents. */
  sec = fk_ui_section (left, _("Identity and documents (一次告知單)"));
  self->docs_label = fk_ui_label ("", NULL);
  gtk_box_append (GTK_BOX (sec), self->docs_label);
  {
    /* The list itself folded away behind a button a finger can hit (a
     * GtkExpander's title is too small a target). */
    GtkWidget *items = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
    GtkWidget *revealer = gtk_revealer_new ();
    GtkWidget *show = gtk_toggle_button_new_with_label (_("Show the checklist"));

    for (guint i = 0; i < self->checklist->len; i++)
      {
        g_autofree char *line = g_strdup_printf ("• %s", (const char *) self->checklist->pdata[i]);

        gtk_box_append (GTK_BOX (items), fk_ui_label (line, "dim-label"));
      }
    gtk_revealer_set_child (GTK_REVEALER (revealer), items);
    g_object_bind_property (show, "active", revealer, "reveal-child", G_BINDING_SYNC_CREATE);
    gtk_widget_add_css_class (show, "flat");
    gtk_widget_set_halign (show, GTK_ALIGN_START);
    fk_ui_name (show, _("Show the checklist"));
    gtk_box_append (GTK_BOX (sec), show);
    gtk_box_append (GTK_BOX (sec), revealer);
  }
  self->docs_button = fk_ui_key_shortcuts (fk_ui_wrap_button (_("All documents seen (Alt+D)"),
                                                              _("All documents seen"), NULL),
                                           "Alt+D");
  fk_ui_name (self->docs_button, _("All documents seen"));
  gtk_widget_set_halign (self->docs_button, GTK_ALIGN_START);
  g_signal_connect (self->docs_button, "clicked", G_CALLBACK (docs_clicked_cb), self);
  gtk_box_append (GTK_BOX (sec), self->docs_button);

  /* Photo. */
  sec = fk_ui_section (right, _("Photo (35 × 45 mm)"));
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  self->photo_view = fk_photo_view_new ();
  gtk_widget_set_valign (self->photo_view, GTK_ALIGN_START);
  g_signal_connect (self->photo_view, "crop-changed", G_CALLBACK (crop_changed_cb), self);
  gtk_box_append (GTK_BOX (row), self->photo_view);
  col = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_widget_set_hexpand (col, TRUE);
  self->photo_button = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Photo from file… (Alt+O)"),
                                                               _("Photo from file…"), NULL),
                                            "Alt+O");
  fk_ui_name (self->photo_button, _("Photo from file…"));
  g_signal_connect (self->photo_button, "clicked", G_CALLBACK (photo_clicked_cb), self);
  gtk_box_append (GTK_BOX (col), self->photo_button);
  self->camera_button = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Camera… (Alt+C)"),
                                                                _("Photo from the camera…"), NULL),
                                             "Alt+C");
  g_signal_connect_swapped (self->camera_button, "clicked", G_CALLBACK (take_camera_photo), self);
  self->camera_ok = fk_camera_setup_button (self->camera_button);
  gtk_box_append (GTK_BOX (col), self->camera_button);
  {
    GtkWidget *zoom = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);

    gtk_widget_add_css_class (zoom, "linked");
    self->zoom_out = fk_ui_icon_button ("zoom-out-symbolic", _("Zoom out"));
    self->zoom_in = fk_ui_icon_button ("zoom-in-symbolic", _("Zoom in"));
    g_signal_connect (self->zoom_out, "clicked", G_CALLBACK (zoom_clicked_cb), self);
    g_signal_connect (self->zoom_in, "clicked", G_CALLBACK (zoom_clicked_cb), self);
    gtk_box_append (GTK_BOX (zoom), self->zoom_out);
    gtk_box_append (GTK_BOX (zoom), self->zoom_in);
    gtk_widget_set_halign (zoom, GTK_ALIGN_START);
    gtk_box_append (GTK_BOX (col), zoom);
  }
  self->photo_label = fk_ui_label ("", "dim-label");
  gtk_box_append (GTK_BOX (col), self->photo_label);
  fk_ui_describe (self->photo_view, self->photo_label);
  gtk_box_append (GTK_BOX (row), col);
  gtk_box_append (GTK_BOX (sec), row);

  /* Guardian, phone, fee. */
  sec = fk_ui_section (box, _("Guardian and fee"));
  self->guardian = fk_ui_entry (_("Legal representative's name (optional)"), &col,
                                &self->guardian_reason);
  g_signal_connect (self->guardian, "changed", G_CALLBACK (entry_changed_cb), self);
  g_signal_connect_swapped (self->guardian, "activate", G_CALLBACK (seal_and_next), self);
  gtk_box_append (GTK_BOX (sec), col);
  self->phone = fk_ui_entry (_("Contact phone (optional)"), &col, &self->phone_reason);
  gtk_entry_set_input_purpose (GTK_ENTRY (self->phone), GTK_INPUT_PURPOSE_PHONE);
  g_signal_connect (self->phone, "changed", G_CALLBACK (entry_changed_cb), self);
  g_signal_connect_swapped (self->phone, "activate", G_CALLBACK (seal_and_next), self);
  gtk_box_append (GTK_BOX (sec), col);
  fee = self->fee > 0 ? g_strdup_printf (_("Fee: NT$%d, collected with the documents (Enter confirms it)."), self->fee)
                      : g_strdup (_("Fee: none"));
  self->fee_label = fk_ui_label (fee, NULL);
  gtk_box_append (GTK_BOX (sec), self->fee_label);

  bar = fk_student_flow_bar (outer);
  self->prev_button = fk_student_flow_prev_button ();
  g_signal_connect (self->prev_button, "clicked", G_CALLBACK (prev_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->prev_button);
  self->seal_button = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Seal and next (Enter)"),
                                                              _("Seal and next"), "suggested-action"),
                                           "Enter");
  gtk_widget_set_hexpand (self->seal_button, TRUE);
  gtk_widget_set_halign (self->seal_button, GTK_ALIGN_FILL);
  g_signal_connect (self->seal_button, "clicked", G_CALLBACK (seal_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->seal_button);
  self->next_button = fk_student_flow_next_button (_("Next student without sealing"));
  g_signal_connect (self->next_button, "clicked", G_CALLBACK (next_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->next_button);
  list = fk_ui_key_shortcuts (fk_ui_icon_button ("view-list-symbolic", _("Class list and summary (Alt+S)")),
                              "Alt+S");
  fk_ui_name (list, _("Class list and summary"));
  g_signal_connect (list, "clicked", G_CALLBACK (list_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), list);
  return outer;
}

static GtkWidget *
build_end (FkDrivePage *self)
{
  GtkWidget *box;
  GtkWidget *scroll = fk_student_flow_scroller (760, 12, &box);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *leave;

  self->end_title = fk_ui_label ("", "title-2");
  gtk_box_append (GTK_BOX (box), self->end_title);
  self->pickups = fk_student_flow_list (_("Students to pick up"));
  g_signal_connect (self->pickups, "row-activated", G_CALLBACK (pickup_activated_cb), self);
  gtk_box_append (GTK_BOX (box), self->pickups);
  self->pickups_empty = fk_ui_label (_("Nobody is left to serve."), "dim-label");
  gtk_box_append (GTK_BOX (box), self->pickups_empty);

  self->back_to_student = fk_ui_key_shortcuts (fk_ui_wrap_button (_("Back to the students (Alt+S)"),
                                                                  _("Back to the students"), NULL),
                                               "Alt+S");
  fk_ui_name (self->back_to_student, _("Back to the students"));
  g_signal_connect (self->back_to_student, "clicked", G_CALLBACK (back_to_student_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->back_to_student);
  leave = fk_ui_wrap_button (_("Leave the drive"), _("Leave the drive"), NULL);
  gtk_widget_set_tooltip_text (leave, _("Back to the outing's case list; the second checker is signed out"));
  g_signal_connect (leave, "clicked", G_CALLBACK (leave_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), leave);
  gtk_box_append (GTK_BOX (box), buttons);

  self->summary = fk_class_summary_view_new (self->window, self->outing_id);
  g_signal_connect (self->summary, "student-activated", G_CALLBACK (summary_student_cb), self);
  gtk_widget_set_margin_top (self->summary, 12);
  gtk_box_append (GTK_BOX (box), self->summary);
  return scroll;
}

/* ---- overrides ------------------------------------------------------------------ */

static void
forget (FkDrivePage *self)
{
  /* The second checker's passphrase lives no longer than the page on screen. */
  g_clear_pointer (&self->checker_pass, fk_secret_free);
  g_clear_pointer (&self->checker_id, g_free);
  if (self->checker_entry)
    gtk_editable_set_text (GTK_EDITABLE (self->checker_entry), "");
}

static void
fk_drive_page_unroot (GtkWidget *widget)
{
  FkDrivePage *self = FK_DRIVE_PAGE (widget);

  /* Removed from the window (closed, or the window locked): write what
   * waits while the store is still open, then forget. */
  flush_pending (self);
  forget (self);
  close_camera (self);
  self->gone = TRUE;
  GTK_WIDGET_CLASS (fk_drive_page_parent_class)->unroot (widget);
}

static void
fk_drive_page_dispose (GObject *object)
{
  FkDrivePage *self = FK_DRIVE_PAGE (object);

  self->gone = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->save_source, g_source_remove);
  g_clear_handle_id (&self->crop_source, g_source_remove);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  close_camera (self);
  forget (self);
  G_OBJECT_CLASS (fk_drive_page_parent_class)->dispose (object);
}

static void
fk_drive_page_finalize (GObject *object)
{
  FkDrivePage *self = FK_DRIVE_PAGE (object);

  g_queue_clear_full (&self->seal_queue, g_free);
  g_clear_pointer (&self->students, g_ptr_array_unref);
  g_clear_pointer (&self->checklist, g_ptr_array_unref);
  g_clear_object (&self->checker_ids);
  g_clear_object (&self->cancellable);
  g_free (self->outing_id);
  g_free (self->title);
  g_free (self->checker_name);
  g_free (self->photo_folder);
  G_OBJECT_CLASS (fk_drive_page_parent_class)->finalize (object);
}

static void
fk_drive_page_class_init (FkDrivePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fk_drive_page_dispose;
  object_class->finalize = fk_drive_page_finalize;
  widget_class->unroot = fk_drive_page_unroot;
}

static void
fk_drive_page_init (FkDrivePage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->students = g_ptr_array_new_with_free_func (student_free);
  self->checklist = g_ptr_array_new_with_free_func (g_free);
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->seal_queue);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
fk_drive_page_new (FkWindow   *window,
                   const char *outing_id)
{
  FkDrivePage *self = g_object_new (FK_TYPE_DRIVE_PAGE, NULL);
  FkStore *store = fk_window_store (window);
  g_autoptr(FkOuting) outing = store ? fk_store_outing_get (store, outing_id, NULL) : NULL;
  const FkService *svc = store ? fk_catalog_lookup (fk_store_catalog (store), FK_CLASS_SUMMARY_SERVICE) : NULL;
  GtkWidget *top, *leave, *change;
  static const FkStudentFlowKey keys[] = {
    { "Return", "seal" }, { "KP_Enter", "seal" }, { "<Control>Return", "seal" },
    { "<Alt>p", "present" }, { "<Alt>a", "absent" }, { "<Alt>l", "later" },
    { "<Alt>d", "docs" }, { "<Alt>o", "photo" }, { "<Alt>c", "camera" }, { "<Alt>n", "next" }, { "<Alt>b", "previous" },
    { "<Alt>s", "list" },
  };

  self->window = window;
  self->outing_id = g_strdup (outing_id);
  self->title = g_strdup (outing && outing->title ? outing->title : outing_id);
  if (svc)
    {
      self->fee = svc->fee;
      self->second_check = svc->second_check;
      self->has_attendance = fk_service_field (svc, FK_ATTENDANCE_FIELD) != NULL;
      for (guint i = 0; i < svc->checklist->len; i++)
        {
          const FkChecklistItem *item = svc->checklist->pdata[i];

          if (item->required)
            g_ptr_array_add (self->checklist, g_strdup (fk_checklist_item_label (item)));
        }
    }
  if (store && fk_store_is_unlocked (store))
    load_students (self, store, FALSE);

  /* The line that is always there: where the class stands. */
  top = fk_student_flow_progress_line (_("Progress of the class"), &self->progress);
  change = fk_ui_icon_button ("system-users-symbolic", _("Second checker"));
  g_signal_connect (change, "clicked", G_CALLBACK (change_checker_cb), self);
  gtk_widget_set_visible (change, self->second_check);
  gtk_box_append (GTK_BOX (top), change);
  leave = fk_ui_icon_button ("window-close-symbolic", _("Leave the drive (back to the case list)"));
  g_signal_connect (leave, "clicked", G_CALLBACK (leave_clicked_cb), self);
  gtk_box_append (GTK_BOX (top), leave);
  gtk_box_append (GTK_BOX (self), top);
  self->checker_label = fk_ui_label ("", "dim-label");
  gtk_widget_set_margin_start (self->checker_label, 12);
  gtk_widget_set_margin_end (self->checker_label, 12);
  gtk_box_append (GTK_BOX (self), self->checker_label);
  gtk_box_append (GTK_BOX (self), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));

  self->stack = gtk_stack_new ();
  gtk_widget_set_vexpand (self->stack, TRUE);
  gtk_stack_add_named (GTK_STACK (self->stack), build_checker (self, store), "checker");
  gtk_stack_add_named (GTK_STACK (self->stack), build_student (self), "student");
  gtk_stack_add_named (GTK_STACK (self->stack), build_end (self), "end");
  gtk_box_append (GTK_BOX (self), self->stack);
  fk_student_flow_add_keys (GTK_WIDGET (self), keys, G_N_ELEMENTS (keys), shortcut_cb);

  update_progress (self);
  if (self->students->len == 0)
    {
      show_end (self);
      gtk_label_set_text (GTK_LABEL (self->end_title),
                          _("No students yet: import the class roster first."));
    }
  else if (self->second_check)
    {
      gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "checker");
      g_signal_connect_swapped (self->checker_entry, "map", G_CALLBACK (gtk_widget_grab_focus), self->checker_entry);
    }
  else
    checker_done (self);
  return GTK_WIDGET (self);
}

const char *
fk_drive_page_outing_id (FkDrivePage *self)
{
  return self->outing_id;
}

void
fk_drive_page_refresh (FkDrivePage *self)
{
  FkStore *store = fk_window_store (self->window);
  Student *current = current_student (self);
  guint before = self->students->len;

  if (self->gone || store == NULL || !fk_store_is_unlocked (store))
    return;
  /* Students imported while the drive is open join it in their seat. */
  load_students (self, store, TRUE);
  if (self->students->len == before)
    return;
  if (current)
    {
      for (guint i = 0; i < self->students->len; i++)
        if (self->students->pdata[i] == current)
          self->current = i;
    }
  update_progress (self);
  if (before == 0)
    {
      /* The drive was opened before the roster: start it now. */
      if (self->second_check && self->checker_pass == NULL && !self->without_checker)
        gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "checker");
      else
        checker_done (self);
    }
  else if (page_active (self, "end"))
    show_end (self);
}

FkDrivePage *
fk_drive_page_find (GtkWidget *host)
{
  return (FkDrivePage *) fk_student_flow_find (host, FK_TYPE_DRIVE_PAGE);
}

/* ---- in the outing page ------------------------------------------------------------ */

void
fk_drive_page_open (FkWindow   *window,
                    GtkWidget  *host,
                    const char *outing_id)
{
  if (fk_drive_page_find (host))
    return;
  fk_student_flow_take_over (host, fk_drive_page_new (window, outing_id));
}

void
fk_drive_page_close (FkDrivePage *self)
{
  fk_student_flow_give_back (GTK_WIDGET (self));
}

/* ---- the outing page's entry to the drive ----------------------------------------- */

GtkWidget *
fk_drive_entry_buttons (FkWindow   *window,
                        GtkWidget  *host,
                        const char *outing_id)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);

  gtk_box_set_homogeneous (GTK_BOX (box), TRUE);
  gtk_box_append (GTK_BOX (box),
                  fk_student_flow_entry_button (_("Import roster…"), NULL,
                                                _("Read the class list the school sent (CSV or TSV) and review every "
                                                  "row before saving"),
                                                fk_roster_dialog_run, window, host, outing_id));
  gtk_box_append (GTK_BOX (box),
                  fk_student_flow_entry_button (_("Start the drive"), "suggested-action",
                                                _("One screen per student, in class and seat order"),
                                                fk_drive_page_open, window, host, outing_id));
  return box;
}
