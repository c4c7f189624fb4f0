#!/usr/bin/python3
"""The window in Traditional Chinese, at tablet size, through its accessibility tree.

Starts the real program with LANG=zh_TW.UTF-8 (the zh_TW locale need not be
installed: the catalog comes from gettext all the same) on a data folder
prepared with fieldkit-cli (an operator, an outing, a case), resizes it to a
360x640 portrait tablet, signs in, opens the outing and the case, and checks
that what a clerk reads is Chinese from the catalog (po/zh_TW.po) and that no
English label of those screens is left.  Screenshots go to SHOT_DIR.
Prints TAP.

Usage: test_zh.py FIELDKIT FIELDKIT_CLI SHOT_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
    print("1..0 # SKIP needs an X display and a D-Bus session (run under xvfb-run dbus-run-session)")
    sys.exit(0)

from dogtail.config import config  # noqa: E402

config.checkForA11y = False
config.searchCutoffCount = 40
config.searchBackoffDuration = 0.25
config.defaultDelay = 0.2
config.logDebugToFile = False

from dogtail import rawinput  # noqa: E402
from dogtail import tree  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402

FIELDKIT, CLI, SHOT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SHOT_DIR, exist_ok=True)
DATA = tempfile.mkdtemp(prefix="fieldkit-zh-")
PASS = "zh window test passphrase"

ENV = dict(os.environ)
for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "G_DEBUG"):
    ENV.pop(var, None)
ENV.update({
    "LANG": "zh_TW.UTF-8",
    "FIELDKIT_KDF": "test",
    "GDK_BACKEND": "x11",
    "GSETTINGS_BACKEND": "memory",
    "NO_AT_BRIDGE": "0",
    "GTK_A11Y": "atspi",
})

results = []


def ok(cond, desc):
    results.append(bool(cond))
    print(("ok" if cond else "not ok") + " %d - %s" % (len(results), desc), flush=True)
    return cond


def shot(name):
    subprocess.run(["import", "-window", "root", os.path.join(SHOT_DIR, "zh-%s.png" % name)],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def find(parent, name=None, role=None, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            node = parent.findChild(GenericPredicate(name=name, roleName=role), retry=False,
                                    requireResult=False)
        except Exception:
            node = None
        if node is not None or time.time() > deadline:
            return node
        time.sleep(0.5)


def names(parent, role):
    out = []
    for n in parent.findChildren(lambda n: n.roleName == role):
        try:
            if n.showing and n.name:
                out.append(n.name)
        except Exception:
            pass
    return out


def click(node):
    if node is None:
        raise AssertionError("the control to click was not found")
    for action in ("click", "activate", "toggle", "press"):
        if node.actions and action in node.actions:
            node.doActionNamed(action)
            time.sleep(0.5)
            return
    # A list row has no AT-SPI action on GTK 4.8: the pointer clicks it
    # (no window manager, so window coordinates are screen coordinates).
    (x, y), (w, h) = node.position, node.size
    if w <= 0 or h <= 0:
        raise AssertionError("no click action and no extents on %r" % node.name)
    subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1"], check=False)
    time.sleep(0.5)


def cli(*args):
    env = dict(ENV)
    env["FIELDKIT_PASSPHRASE"] = PASS
    env["FIELDKIT_NEW_PASSPHRASE"] = PASS
    return subprocess.run([CLI, "--data-dir", DATA, "--lang", "en"] + list(args), env=env,
                          capture_output=True, text=True)


setup = [cli("init", "--operator", "ann", "--name", "Chen Mei-ling", "--office-code", "TCN",
             "--device-number", "3"),
         cli("--operator", "ann", "outing", "new", "--kind", "home_visit", "--title", "Beitun visits",
             "--date", "2026-11-26", "--place", "Beitun"),
         cli("--operator", "ann", "case", "new", "--outing", "O1", "--service", "id_card_replace",
             "--person-id", "A123456789", "--name", "Wang Da-ming", "--birth", "1950-03-04",
             "--field", "reason=damaged")]
ok(all(r.returncode == 0 for r in setup),
   "a data folder with an operator, an outing and a case (%s)" % " ".join(r.stderr.strip()[:60] for r in setup))

proc = subprocess.Popen([FIELDKIT, "--data-dir", DATA], env=ENV,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
try:
    app = None
    for _ in range(60):
        try:
            app = tree.root.application("fieldkit")
            break
        except Exception:
            time.sleep(0.5)
    if not ok(app is not None, "the window appears on the accessibility bus"):
        raise SystemExit
    time.sleep(1)
    subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "fieldkit",
                    "windowsize", "%@", "360", "640"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["xdotool", "mousemove", "100", "100"], check=False)
    time.sleep(1)

    signin = find(app, "登入", "push button")
    ok(signin is not None, "the sign-in page says 登入 (Sign in)")
    ok(find(app, "Sign in", "push button", timeout=0) is None, "no English 'Sign in' button")
    shot("signin")
    rawinput.typeText(PASS)
    rawinput.pressKey("Return")

    new_outing = find(app, "新增外勤場次", "push button")
    ok(new_outing is not None, "home offers 新增外勤場次 (New outing)")
    labels = names(app, "label")
    counts = app.findChildren(lambda n: "草稿" in (n.name or ""))
    ok(counts, "home shows the counts in Chinese (草稿)")
    english = [n for n in labels if n in ("Drafts", "New outing", "Last sync", "Offline")]
    ok(not english, "no English label left on home (%s)" % ", ".join(english))
    shot("home")

    rows = app.findChildren(lambda n: "Beitun visits" in (n.name or "") and n.roleName == "list item")
    outing = rows[0] if rows else None
    ok(outing is not None, "the outing is listed")
    click(outing)
    new_case = find(app, "新增案件", "push button")
    ok(new_case is not None, "the outing page offers 新增案件 (New case)")
    shot("outing")
    ok(find(app, "New case", "push button", timeout=0) is None, "no English 'New case' button")
    # The case row (or its title label: the pointer clicks inside the row).
    rows = app.findChildren(lambda n: "Wang Da-ming" in (n.name or ""))
    ok(rows, "the case is listed")
    if rows:
        click(rows[0])
        deadline = time.time() + 30
        pid = []
        while not pid and time.time() < deadline:
            pid = app.findChildren(lambda n: n.roleName == "text" and (n.name or "").startswith("身分證"))
            time.sleep(0.5)
        ok(pid, "the case editor labels the ID number in Chinese (身分證…)")
        ok(not app.findChildren(lambda n: n.roleName == "text" and n.name in ("ID number", "Name", "Date of birth")),
           "no English field label left in the case editor")
        shot("case")
finally:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    for line in (out or b"").decode(errors="replace").splitlines()[-20:]:
        print("# app: " + line)
    shutil.rmtree(DATA, ignore_errors=True)

print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
