#!/usr/bin/python3
"""End-to-end test of a card hand-over through the accessibility tree.

A fresh data folder is set up with fieldkit-cli (device, a card_handover
outing with two drafts as fk_store_apply_handover makes them from the
office's list: card kind, the expected card number, receiver "self"); then
the window is driven the way the clerk hands the cards over:

  * open the outing, "Start the hand-over": student 1 with the expected
    card masked but for its last four characters, the progress line;
  * Alt+I (photo ID seen), a wrong card number typed and Enter (as a
    barcode scanner sends it): the reason is shown at once and nothing is
    sealed (the store agrees);
  * the right number, the receiver's signature drawn with the pointer on
    the pad, Enter: sealed, and the page moves on to student 2;
  * student 2: Alt+I, the number, the receiver's and the guardian's
    signatures, Enter: sealed with both signatures (the store agrees);
  * the list says every card is handed over; "Leave the hand-over" gives
    the case list back; Ctrl+L leaves no name in the window.

A screenshot of each screen goes to SHOT_DIR (the screen's size is the
caller's: xvfb-run -s "-screen 0 360x640x24" gives the phone layout).
Prints TAP.

Usage: test_handover.py FIELDKIT FIELDKIT_CLI SHOT_DIR
Needs an X display and a D-Bus session (xvfb-run, dbus-run-session);
without them it skips.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import fkui  # noqa: E402  (skips without a display)

FIELDKIT, CLI, SHOT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = tempfile.mkdtemp(prefix="fieldkit-handover-")
PASS_ANN = "field visit passphrase ann"

S = fkui.Session(FIELDKIT, CLI, SHOT_DIR, DATA, os.environ.get("FK_SHOT_PREFIX", "handover"), fkui.program_env())
ok, shot, click, type_text, key, combo = S.ok, S.shot, S.click, S.type_text, S.key, S.combo
tree = fkui.tree


def find(parent, name=None, role=None, showing=False, retry=True, contains=None, timeout=10):
    return S.find(parent, name=name, role=role, showing=showing, retry=retry, contains=contains,
                  timeout=timeout)


def cli(*args):
    return S.cli(*args, passphrase=PASS_ANN)


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    return fn()


def cases():
    r = cli("--json", "case", "list", "--outing", "O1")
    try:
        return {c["name"]: c for c in json.loads(r.stdout).get("cases", [])}
    except ValueError:
        return {}


def case_show(cid):
    r = cli("--json", "case", "show", str(cid))
    try:
        return json.loads(r.stdout).get("case", {})
    except ValueError:
        return {}


def sign(app, pad_name, seed):
    """Draws a signature with the pointer on the pad named pad_name."""
    pad = find(app, pad_name)
    if pad is None:
        for n in app.findChildren(lambda n: "signature" in (n.name or "").lower()):
            print("# seen: %s %r showing=%s" % (n.roleName, n.name, n.showing))
        return False
    (x, y), (w, h) = pad.position, pad.size
    if w <= 0 or h <= 0:
        return False
    y0 = y + h // 2
    cmd = ["xdotool", "mousemove", str(x + 30), str(y0), "mousedown", "1"]
    for i in range(1, 9):
        cmd += ["mousemove", str(x + 30 + i * min(30, (w - 60) // 9)), str(y0 + (seed * 7 + i * 13) % 40 - 20)]
    cmd += ["mouseup", "1"]
    subprocess.run(cmd, check=False)
    time.sleep(0.5)
    # Back to the middle of the window: the keyboard follows the pointer.
    subprocess.run(["xdotool", "mousemove"] + CENTRE, check=False)
    time.sleep(0.2)
    return True


def sensitive(app, name):
    n = find(app, name, "push button", timeout=3)
    return n is not None and n.sensitive


today = datetime.date.today()
STUDENTS = [("王小明", "A123456789", "F100000001"), ("林美玲", "B220000019", "F100000002")]
CENTRE = ["400", "300"]

# ---- set-up through the command line, as fk_store_apply_handover lays it out ----

r = S.cli("init", "--operator", "ann", "--name", "Chen Mei-ling", passphrase=PASS_ANN, new=PASS_ANN)
ok(r.returncode == 0, "device set up with the command line (%s)" % r.stderr.strip()[:80])
r = cli("--operator", "ann", "outing", "new", "--kind", "card_handover", "--title", "Cards for class 801",
        "--date", today.isoformat(), "--place", "Beitun junior high school")
ok(r.returncode == 0 and "O1" in r.stdout, "card_handover outing O1 created (%s)" % r.stderr.strip()[:80])
for name, pid, card in STUDENTS:
    r = cli("case", "new", "--outing", "O1", "--service", "card_handover", "--person-id", pid, "--name", name,
            "--birth", "2012-05-03", "--field", "card_kind=id_card", "--field", "expected_card_number=" + card,
            "--field", "receiver=self")
    ok(r.returncode == 0, "a hand-over draft for %s (%s)" % (name, r.stderr.strip()[:80]))

try:
    app = S.launch()
    if not ok(app is not None, "the window appears on the accessibility bus"):
        raise SystemExit
    geo = subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True, text=True).stdout.split()
    if len(geo) == 2:
        CENTRE = [str(int(geo[0]) // 2), str(int(geo[1]) // 2)]
    subprocess.run(["xdotool", "mousemove"] + CENTRE, check=False)
    time.sleep(1)

    # ---- sign in and open the outing ---------------------------------------
    ok(find(app, "Passphrase", "text") is not None, "sign-in is shown")
    type_text(PASS_ANN)
    key("Return")
    row = find(app, contains="Cards for class 801", timeout=10)
    ok(row is not None, "home lists the card hand-over")
    click(row)
    start = find(app, "Start the hand-over", "push button")
    ok(start is not None, "a card_handover outing offers 'Start the hand-over'")
    shot("outing")
    click(start)

    # ---- student 1: a wrong card first ---------------------------------------
    ok(find(app, "王小明", "label", timeout=10) is not None, "student 1 is shown")
    masked = find(app, contains="on the office's list: ••••••0001", role="label")
    ok(masked is not None, "the expected card is masked but for its last four characters (%s)"
       % (masked.name if masked else None))
    ok(find(app, contains="F100000001", retry=False) is None, "the full card number is not on the screen")
    prog = find(app, contains="handed over ·", role="label")
    ok(prog is not None and prog.name.startswith("0 / 2 handed over · 2 waiting"),
       "progress line: %s" % (prog.name if prog else None))
    shot("student-1")

    combo("<Alt>i")
    check = find(app, contains="Seen: ", role="check box")
    ok(check is not None and check.checked, "Alt+I ticks the photo ID check")
    type_text("F100000009")
    key("Return")
    reason = find(app, contains="This is not the card on the office's list", role="label", timeout=5)
    ok(reason is not None and "ends in 0009" in reason.name and "ends in 0001" in reason.name,
       "a wrong card is refused at once with its reason (%s)" % (reason.name[:100] if reason else None))
    shot("student-1-wrong-card")
    c = cases()
    ok(c and all(v["status"] == "draft" for v in c.values()), "nothing is sealed (%s)"
       % {k: v["status"] for k, v in c.items()})

    # ---- the right card, the signature, Enter ---------------------------------
    combo("<Control>a")
    type_text("F100000001")
    ok(find(app, contains="✓ The card on the office's list", role="label", timeout=5) is not None,
       "the right card is confirmed while typing")
    combo("<Alt>s")
    time.sleep(0.5)
    ok(sign(app, "Receiver's signature pad: sign with a finger, pen or mouse", 1), "the receiver signs on the pad")
    ok(wait_for(lambda: sensitive(app, "Clear the receiver's signature"), 5), "the pad holds the signature")
    shot("student-1-signed")
    key("Return")
    name2 = find(app, "林美玲", "label", timeout=15)
    ok(name2 is not None, "Enter hands the card over and shows student 2")
    prog = wait_for(lambda: (lambda p: p if p and p.name.startswith("1 / 2 handed over · 1 waiting") else None)(
        find(app, contains="handed over ·", role="label", timeout=2)))
    ok(prog is not None, "progress line: %s" % (prog.name if prog else None))
    c = cases()
    first = c.get("王小明", {})
    ok(first.get("status") == "sealed" and first.get("receipt_no"), "student 1's hand-over is sealed (%s)"
       % first.get("status"))
    shown = case_show(first.get("id", 0))
    kinds = sorted(a["kind"] for a in shown.get("attachments", []))
    ok(kinds == ["signature"], "with the receiver's signature (%s)" % kinds)
    shot("student-2")

    # ---- student 2: the guardian signs too -------------------------------------
    combo("<Alt>r")
    other = find(app, "Receiver's name", "text", timeout=5)
    ok(other is not None and find(app, "Receiver's ID number", "text", retry=False) is not None,
       "Alt+R: someone else receives, and the name and ID number fields appear")
    shot("student-2-other-receiver")
    combo("<Alt>r")
    combo("<Alt>r")
    ok(wait_for(lambda: find(app, "Receiver's name", "text", retry=False) is None, 5),
       "back to the applicant, the fields go away")
    combo("<Alt>c")
    combo("<Alt>i")
    type_text("F100000002")
    combo("<Alt>s")
    time.sleep(0.5)
    ok(sign(app, "Receiver's signature pad: sign with a finger, pen or mouse", 2), "student 2 signs")
    combo("<Alt>g")
    time.sleep(0.5)
    ok(sign(app, "Guardian's signature pad (optional)", 3), "the guardian signs")
    ok(wait_for(lambda: sensitive(app, "Clear the guardian's signature"), 5), "the guardian's pad holds the signature")
    shot("student-2-signed")
    combo("<Alt>c")
    key("Return")
    done = find(app, contains="Every card is handed over", role="label", timeout=15)
    ok(done is not None, "after the last student the list says every card is handed over")
    prog = wait_for(lambda: (lambda p: p if p and p.name.startswith("2 / 2 handed over · 0 waiting") else None)(
        find(app, contains="handed over ·", role="label", timeout=2)))
    ok(prog is not None, "progress line: %s" % (prog.name if prog else None))
    rows = [n for n in app.findChildren(lambda n: ": Handed over · receipt " in (n.name or ""))]
    ok(len(rows) == 2, "the list shows both students as handed over (%d)" % len(rows))
    shot("list")
    c = cases()
    second = c.get("林美玲", {})
    ok(second.get("status") == "sealed", "student 2's hand-over is sealed (%s)" % second.get("status"))
    shown = case_show(second.get("id", 0))
    kinds = sorted(a["kind"] for a in shown.get("attachments", []))
    ok(kinds == ["guardian_signature", "signature"], "with both signatures (%s)" % kinds)
    fields = shown.get("fields", {})
    ok(fields.get("card_number") == "F100000002" and fields.get("receiver") == "self",
       "the card number and the receiver are recorded (%s)" % {k: fields.get(k) for k in ("card_number", "receiver")})

    # ---- a sealed student cannot be handed over again ----------------------------
    click(find(app, contains="1 · 王小明: Handed over", timeout=5))
    ok(find(app, "Next student (Enter)", "label", timeout=5) is not None
       and find(app, "Hand over (Enter)", "label", retry=False) is None,
       "a student handed over shows 'Next student' instead of 'Hand over'")
    card = find(app, "Card number: type it or scan the barcode", "text", timeout=5)
    ok(card is not None and not card.sensitive, "… and the card field is closed")
    shot("student-1-sealed")

    # ---- back to the case list, lock ---------------------------------------------
    combo("<Alt>l")
    click(find(app, "Leave the hand-over", "push button"))
    ok(find(app, "Start the hand-over", "push button", timeout=5) is not None
       and wait_for(lambda: find(app, "Leave the hand-over", "push button", retry=False) is None, 5),
       "leaving the hand-over gives the outing's case list back")
    shot("case-list")
    fkui.rawinput.keyCombo("<Control>l")
    time.sleep(1.5)
    ok(find(app, "Sign in", "push button") is not None, "Ctrl+L locks")
    leaked = [n for s in STUDENTS for n in [find(app, contains=s[0], showing=False, retry=False)] if n]
    ok(not leaked, "no student's name is left in the window after locking")
finally:
    S.stop()
    shutil.rmtree(DATA, ignore_errors=True)

S.finish()
