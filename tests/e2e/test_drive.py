#!/usr/bin/python3
"""End-to-end test of a school ID-card drive through the accessibility tree.

A fresh data folder is set up with fieldkit-cli (device, a second operator,
a school_drive outing); then the window is driven the way the clerk at a
school drive works:

  * import a 4-row roster with one bad row (wrong check digit): the preview
    shows the problem before anything is saved, and "Import 3 good rows"
    takes the rest;
  * start the drive and sign in the second checker once;
  * student 1: present, photo (a generated picture), Enter (seal and next);
  * student 2: absent;
  * student 3: present, photo from the camera (GStreamer's test pattern:
    the camera button, Enter in the camera dialog), Enter;
  * pick up student 2 from the class list at the end: present, photo, Enter;
  * the progress line and the class summary say 3 sealed; the CSV export
    has its byte-order mark; Ctrl+L leaves no name in the window.

Every interaction the clerk makes is counted: each click (doActionNamed)
and each key press that is not typed data (the file path and the
passphrase are typed data; Ctrl+L and Return are not).  The count for a
student without problems is printed and checked against the goal of 6,
for a photo from a file and (student 3) from the camera.
A screenshot of each screen goes to SHOT_DIR.  Prints TAP.

Usage: test_drive.py FIELDKIT FIELDKIT_CLI SHOT_DIR
Needs an X display and a D-Bus session (xvfb-run, dbus-run-session);
without them it skips.
"""
import datetime
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

GOAL_PER_STUDENT = 6


import fkui  # noqa: E402  (skips without a display)

FIELDKIT, CLI, SHOT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = tempfile.mkdtemp(prefix="fieldkit-drive-")
FILES = tempfile.mkdtemp(prefix="fieldkit-drive-files-")
PASS_ANN = "field visit passphrase ann"
PASS_BOB = "second check passphrase bob"

# The camera is GStreamer's test pattern (ui/fk-camera.c).
S = fkui.Session(FIELDKIT, CLI, SHOT_DIR, DATA, "drive", fkui.program_env(FIELDKIT_CAMERA="test"))
ok, shot, click, type_text, key, combo = S.ok, S.shot, S.click, S.type_text, S.key, S.combo
rawinput = fkui.rawinput
tree = fkui.tree
results = S.results

# ---- counting the clerk's interactions -------------------------------------
# Every click and every key press that is not typed data counts, per phase.

counts = {}
phase = None


def count(n=1):
    if phase is not None:
        counts[phase] = counts.get(phase, 0) + n


S.on_interaction = count


def find(parent, name=None, role=None, showing=False, retry=True, contains=None, timeout=10):
    return S.find(parent, name=name, role=role, showing=showing, retry=retry, contains=contains,
                  timeout=timeout)


def cli(*args, passphrase=PASS_ANN, new=None):
    return S.cli(*args, passphrase=passphrase, new=new)


# ---- test data -------------------------------------------------------------

def national_id(letter, gender, serial):
    codes = [10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
             22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33]
    code = codes[ord(letter) - ord("A")]
    digits = "%d%07d" % (gender, serial)
    total = code // 10 + (code % 10) * 9
    for d, w in zip(digits, [8, 7, 6, 5, 4, 3, 2, 1]):
        total += int(d) * w
    return "%s%s%d" % (letter, digits, (10 - total % 10) % 10)


def write_png(path, width, height, light=True):
    """A portrait test picture: a plain background, a head and shoulders."""
    bg = (236, 240, 245) if light else (40, 40, 48)
    skin = (222, 184, 150) if light else (70, 55, 45)
    hair = (50, 40, 35)
    shirt = (40, 80, 160)
    cx, cy = width / 2, height * 0.42
    rx, ry = width * 0.2, height * 0.22
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            dx, dy = (x - cx) / rx, (y - cy) / ry
            if dx * dx + dy * dy <= 1.0:
                c = hair if y < cy - ry * 0.55 else skin
            elif y > height * 0.7 and abs(x - cx) < width * (0.15 + (y - height * 0.7) / height):
                c = shirt
            else:
                c = bg
            row.extend(c)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


today = datetime.date.today()
birth = today.replace(year=today.year - 14) if not (today.month == 2 and today.day == 29) \
    else today.replace(year=today.year - 14, day=28)
STUDENTS = [
    ("801", "1", "王小明", national_id("B", 1, 1234561), "李媽媽", "0912345678"),
    ("801", "2", "林美玲", national_id("B", 2, 1234562), "林爸爸", "0922345678"),
    ("801", "3", "陳大文", national_id("B", 1, 1234563), "陳媽媽", "0932345678"),
    ("801", "4", "張家豪", national_id("B", 1, 1234564), "張爸爸", "0942345678"),
]
# Row 3 has a wrong check digit.
bad = STUDENTS[2][3][:-1] + str((int(STUDENTS[2][3][-1]) + 1) % 10)
STUDENTS[2] = STUDENTS[2][:3] + (bad,) + STUDENTS[2][4:]
ROSTER = os.path.join(FILES, "class-801.csv")
with open(ROSTER, "w", encoding="utf-8") as f:
    f.write("班級,座號,姓名,身分證統一編號,出生日期,監護人,聯絡電話\n")
    for c, seat, name, pid, guardian, phone in STUDENTS:
        f.write("%s,%s,%s,%s,%s,%s,%s\n" % (c, seat, name, pid, birth.isoformat(), guardian, phone))
PHOTO = os.path.join(FILES, "photo-801.png")
write_png(PHOTO, 480, 620)
CSV_OUT = os.path.join(FILES, "class-summary.csv")

# ---- set-up through the command line (faster than the window) ---------------

r = cli("init", "--operator", "ann", "--name", "Chen Mei-ling", new=PASS_ANN)
ok(r.returncode == 0, "device set up with the command line (%s)" % r.stderr.strip()[:80])
r = cli("--operator", "ann", "operator", "add", "--id", "bob", "--name", "Lin Chih-hao", new=PASS_BOB)
ok(r.returncode == 0, "second operator added (%s)" % r.stderr.strip()[:80])
r = cli("--operator", "ann", "outing", "new", "--kind", "school_drive", "--title", "Class 801, Beitun JHS",
        "--date", today.isoformat(), "--place", "Beitun junior high school")
ok(r.returncode == 0 and "O1" in r.stdout, "school_drive outing O1 created (%s)" % r.stderr.strip()[:80])


def choose_file(path):
    """In GTK's file chooser: Ctrl+L, the path (typed data), Return."""
    chooser = find(tree.root.application("fieldkit"), role="dialog", timeout=10) or \
        find(tree.root.application("fieldkit"), role="file chooser", timeout=2)
    time.sleep(0.8)
    # Dialogs map at 0,0 without a window manager: keep the pointer (and
    # so the keyboard) on the dialog.
    subprocess.run(["xdotool", "mousemove", "60", "60"], check=False)
    combo("<Control>l")
    type_text(path)
    time.sleep(0.3)
    key("Return")
    return chooser


def progress_label(app):
    return find(app, contains=" needs attention", role="label", timeout=5)


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    return fn()


try:
    app = S.launch()
    if not ok(app is not None, "the window appears on the accessibility bus"):
        raise SystemExit
    # No window manager: focus follows the pointer, so put it on the window
    # (the middle of the screen, whatever its size).
    geo = subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True, text=True).stdout.split()
    CENTRE = [str(int(geo[0]) // 2), str(int(geo[1]) // 2)] if len(geo) == 2 else ["400", "300"]
    subprocess.run(["xdotool", "mousemove"] + CENTRE, check=False)
    time.sleep(1)

    # ---- sign in and open the outing -------------------------------------
    ok(find(app, "Passphrase", "text") is not None, "sign-in is shown")
    type_text(PASS_ANN)
    key("Return")
    row = find(app, contains="Class 801, Beitun JHS", timeout=10)
    ok(row is not None, "home lists the school drive")
    shot("home")
    click(row)
    importer = find(app, "Import roster…", "push button")
    ok(importer is not None, "a school_drive outing offers 'Import roster…'")
    ok(find(app, "Start the drive", "push button") is not None, "… and 'Start the drive'")
    shot("outing")

    # ---- roster import with a preview ------------------------------------
    phase = "import"
    click(importer)
    shot("roster-chooser")
    choose_file(ROSTER)
    counts_label = find(app, contains="4 rows: 3 ready, 1 with problems", role="label", timeout=15)
    ok(counts_label is not None, "the preview counts 3 good rows and 1 with problems")
    ok(find(app, contains="UTF-8", role="label") is not None, "the preview names the encoding and separator")
    problem = find(app, contains="check digit", showing=False)
    ok(problem is not None and "陳大文" in problem.name, "the bad row is shown with its problem (%s)"
       % (problem.name[:90] if problem else None))
    good = find(app, contains="王小明", showing=False)
    ok(good is not None and "Ready to import" in good.name, "a good row is shown as ready")
    r = cli("--operator", "ann", "case", "list", "--outing", "O1")
    ok("王" not in r.stdout and "B1" not in r.stdout, "nothing is saved before the import")
    shot("roster-preview")
    click(find(app, "Import 3 good rows", "push button"))
    ok(find(app, contains="3 students imported", timeout=10) is not None, "3 students imported, 1 row left out")
    shot("roster-imported")
    phase = None

    # ---- the drive ---------------------------------------------------------
    click(find(app, "Start the drive", "push button"))
    entry = find(app, "Second checker's passphrase", "password text") or \
        find(app, "Second checker's passphrase", "text")
    ok(entry is not None, "the drive asks for the second checker once")
    shot("second-checker")
    phase = "second checker"
    type_text(PASS_BOB)
    key("Return")
    phase = None
    name = find(app, "王小明", "label", timeout=10)
    ok(name is not None, "student 1 (seat 1) is shown after the second checker signs in")
    ok(find(app, contains="Second checker: Lin Chih-hao (bob), until", role="label") is not None,
       "the second checker is named on the page")
    prog = progress_label(app)
    ok(prog is not None and prog.name.startswith("0 / 3 done"), "progress line: %s" % (prog.name if prog else None))
    shot("student-1")

    def serve(label, name_text, camera=False):
        """present, photo (a file, or the camera), seal and next."""
        global phase
        phase = label
        click(find(app, "Present", "push button"))
        if camera:
            click(find(app, "Photo from the camera…", "push button"))
            take = find(app, "Take photo", "push button", timeout=10)
            ok(take is not None, "%s: the camera dialog opens" % label)
            deadline = time.time() + 30
            while take is not None and not take.sensitive and time.time() < deadline:
                time.sleep(0.3)
            ok(take is not None and take.sensitive, "%s: the camera shows its first picture" % label)
            shot(label.replace(" ", "-") + "-camera")
            # The dialog maps at 0,0 with no window manager: the pointer
            # (and so the keyboard) on it; Enter takes the photo.
            subprocess.run(["xdotool", "mousemove", "60", "60"], check=False)
            time.sleep(0.3)
            key("Return")
            ok(find(app, "Take photo", "push button", retry=False) is None,
               "%s: Enter took the photo and closed the camera" % label)
        else:
            click(find(app, "Photo from file…", "push button"))
            choose_file(PHOTO)
        cropped = find(app, contains="Cropped to 35 × 45 mm", role="label", timeout=15)
        ok(cropped is not None, "%s: the photo is cropped to 35 × 45 mm (%s)"
           % (label, cropped.name[:80] if cropped else None))
        ok(cropped is not None and "Too" not in cropped.name, "%s: no warning for a good photo" % label)
        shot(label.replace(" ", "-") + "-photo")
        key("Return")
        phase = None

    serve("student 1", "王小明")
    name = find(app, "林美玲", "label", timeout=10)
    ok(name is not None, "Enter sealed student 1 and shows student 2")
    shot("student-2")

    phase = "student 2 (absent)"
    click(find(app, "Absent", "push button"))
    phase = None
    name = find(app, "張家豪", "label", timeout=10)
    ok(name is not None, "absent moves on to student 3 (seat 4)")
    serve("student 3 (camera)", "張家豪", camera=True)

    end = find(app, contains="Still to serve", role="label", timeout=10)
    ok(end is not None, "after the last student the class list shows who is left")
    pick = find(app, contains="林美玲: Absent", timeout=10)
    ok(pick is not None, "the absentee is listed to pick up")
    prog = wait_for(lambda: (lambda p: p if p and p.name.startswith("2 / 3 done") else None)(progress_label(app)))
    ok(prog is not None and "1 absent" in prog.name, "progress line: %s" % (prog.name if prog else None))
    shot("end-of-class")

    phase = "student 2 (picked up)"
    click(pick)
    phase = None
    ok(find(app, "林美玲", "label", timeout=10) is not None, "the absentee is picked up")
    serve("student 2 picked up", "林美玲")

    prog = wait_for(lambda: (lambda p: p if p and p.name.startswith("3 / 3 done") else None)(progress_label(app)),
                    timeout=15)
    ok(prog is not None and "0 absent" in prog.name and "0 needs attention" in prog.name,
       "progress line: %s" % (prog.name if prog else None))
    ok(find(app, contains="Every student is done", role="label") is not None, "the class list says everyone is done")
    applied = [n for n in app.findChildren(lambda n: (n.name or "").endswith(": Applied")
                                           or ": Applied · " in (n.name or ""))]
    ok(len(applied) == 3, "the class summary lists 3 students as applied (%d)" % len(applied))
    shot("class-summary")

    r = cli("--operator", "ann", "--json", "class-summary", "O1", "--output", os.path.join(FILES, "cli.csv"))
    ok(r.returncode == 0 and '"done" : 3' in r.stdout, "the store agrees: 3 sealed (%s)" % r.stdout[-120:])

    # ---- the export --------------------------------------------------------
    click(find(app, "Export CSV…", "push button"))
    time.sleep(1.0)
    shot("export-dialog")
    subprocess.run(["xdotool", "mousemove", "60", "60"], check=False)
    combo("<Control>a")
    type_text(CSV_OUT)
    key("Return")
    saved = find(app, contains="Class summary saved", timeout=10)
    ok(saved is not None or os.path.exists(CSV_OUT), "the class summary is exported")
    data = open(CSV_OUT, "rb").read() if os.path.exists(CSV_OUT) else b""
    ok(data.startswith(b"\xef\xbb\xbf") and data.count("Applied".encode()) == 3 and "王小明".encode() in data,
       "the CSV has a BOM, the names and 3 applied")

    # ---- lock ----------------------------------------------------------------
    rawinput.keyCombo("<Control>l")
    time.sleep(1.5)
    ok(find(app, "Sign in", "push button") is not None, "Ctrl+L locks")
    leaked = [n for s in STUDENTS for n in [find(app, contains=s[2], showing=False, retry=False)] if n]
    ok(not leaked, "no student's name is left in the window after locking")
    shot("locked")
finally:
    S.stop()
    shutil.rmtree(DATA, ignore_errors=True)
    shutil.rmtree(FILES, ignore_errors=True)

# ---- the count ---------------------------------------------------------------
print("# interactions (clicks + key presses, typed data not counted):")
for k in counts:
    print("#   %-24s %d" % (k, counts[k]))
per = [counts.get(k, 0) for k in ("student 1", "student 3 (camera)", "student 2 picked up")]
print("# INTERACTIONS_PER_STUDENT %s (file, camera, file)" % per)
ok(per and max(per) <= GOAL_PER_STUDENT,
   "a student without problems takes at most %d interactions (%s)" % (GOAL_PER_STUDENT, per))

S.finish()
