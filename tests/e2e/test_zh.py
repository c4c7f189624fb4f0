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
import shutil
import subprocess
import sys
import tempfile
import time

import fkui  # skips without a display

FIELDKIT, CLI, SHOT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = tempfile.mkdtemp(prefix="fieldkit-zh-")
PASS = "zh window test passphrase"

s = fkui.Session(FIELDKIT, CLI, SHOT_DIR, DATA, "zh",
                 fkui.program_env(LANG="zh_TW.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANGUAGE=None))
ok, find, click, shot = s.ok, s.find, s.click, s.shot


def names(parent, role):
    out = []
    for n in parent.findChildren(lambda n: n.roleName == role):
        try:
            if n.showing and n.name:
                out.append(n.name)
        except Exception:
            pass
    return out


def cli(*args):
    return s.cli("--lang", "en", *args, passphrase=PASS, new=PASS)


setup = [cli("init", "--operator", "ann", "--name", "Chen Mei-ling", "--office-code", "TCN",
             "--device-number", "3"),
         cli("--operator", "ann", "outing", "new", "--kind", "home_visit", "--title", "Beitun visits",
             "--date", "2026-11-26", "--place", "Beitun"),
         cli("--operator", "ann", "case", "new", "--outing", "O1", "--service", "id_card_replace",
             "--person-id", "A123456789", "--name", "Wang Da-ming", "--birth", "1950-03-04",
             "--field", "reason=damaged")]
ok(all(r.returncode == 0 for r in setup),
   "a data folder with an operator, an outing and a case (%s)" % " ".join(r.stderr.strip()[:60] for r in setup))

try:
    app = s.launch()
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
    ok(find(app, "Sign in", "push button", retry=False) is None, "no English 'Sign in' button")
    shot("signin")
    s.type_text(PASS)
    s.key("Return")

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
    ok(find(app, "New case", "push button", retry=False) is None, "no English 'New case' button")
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
    s.stop(check_exit=False)
    shutil.rmtree(DATA, ignore_errors=True)

s.finish()
