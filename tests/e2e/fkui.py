"""Shared helpers of the window's end-to-end tests (dogtail, AT-SPI).

Each test drives the real program the way a clerk would, through the
accessibility tree: find a control by its accessible name and role, click
it with its AT-SPI action (or, for a GTK 4.8 list row that has none, with
the pointer at its centre), type, press keys.  A Session holds what one test
needs: TAP results, numbered screenshots, the environment for the program
and for fieldkit-cli, and an optional counter of the clerk's interactions.

Import after checking for a display: `fkui.require_display()` prints a TAP
skip and exits when there is no X display or D-Bus session.
"""
import os
import subprocess
import sys
import time


def require_display():
    if not os.environ.get("DISPLAY"):
        print("1..0 # SKIP no X display (run under xvfb-run)")
        sys.exit(0)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("1..0 # SKIP no D-Bus session (run under dbus-run-session)")
        sys.exit(0)


require_display()

from dogtail.config import config  # noqa: E402

# Under GSETTINGS_BACKEND=memory dogtail would abort asking for
# toolkit-accessibility; GTK 4 exposes its tree anyway.
config.checkForA11y = False
config.searchCutoffCount = 40
config.searchBackoffDuration = 0.25
config.defaultDelay = 0.2
config.logDebugToFile = False

from dogtail import rawinput  # noqa: E402,F401  (re-exported for the tests)
from dogtail import tree  # noqa: E402


def program_env(**extra):
    """The window's environment: fast test KDF, X11, memory GSettings,
    AT-SPI on; English unless extra says otherwise (LANG=... with LC_ALL
    and LANGUAGE set to None removes them)."""
    env = dict(os.environ)
    env.update({
        "FIELDKIT_KDF": "test",
        "GDK_BACKEND": "x11",
        "GSETTINGS_BACKEND": "memory",
        "LC_ALL": "C.UTF-8",
        "LANGUAGE": "en",
        "NO_AT_BRIDGE": "0",
        "GTK_A11Y": "atspi",
    })
    env.pop("G_DEBUG", None)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Session:
    def __init__(self, fieldkit, cli, shot_dir, data_dir, shot_prefix, env):
        self.fieldkit = fieldkit
        self.cli_path = cli
        self.shot_dir = shot_dir
        self.data = data_dir
        self.prefix = shot_prefix
        self.env = env
        self.results = []
        self.step_no = 0
        self.on_interaction = None   # called once per click or counted key
        self.proc = None
        self.app = None
        os.makedirs(shot_dir, exist_ok=True)

    # ---- TAP and screenshots ------------------------------------------------

    def ok(self, cond, desc):
        self.results.append((bool(cond), desc))
        print(("ok" if cond else "not ok") + " %d - %s" % (len(self.results), desc), flush=True)
        return cond

    def shot(self, name):
        self.step_no += 1
        path = os.path.join(self.shot_dir, "%s-%02d-%s.png" % (self.prefix, self.step_no, name))
        subprocess.run(["import", "-window", "root", path], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self):
        print("1..%d" % len(self.results))
        sys.exit(0 if self.results and all(r[0] for r in self.results) else 1)

    # ---- the command line ---------------------------------------------------

    def cli(self, *args, passphrase=None, new=None):
        env = dict(self.env)
        if passphrase:
            env["FIELDKIT_PASSPHRASE"] = passphrase
        if new:
            env["FIELDKIT_NEW_PASSPHRASE"] = new
        return subprocess.run([self.cli_path, "--data-dir", self.data] + list(args), env=env,
                              capture_output=True, text=True)

    # ---- the program ----------------------------------------------------------

    def launch(self, *args):
        """Starts the window and waits for it on the accessibility bus."""
        self.proc = subprocess.Popen([self.fieldkit, "--data-dir", self.data] + list(args), env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(60):
            try:
                self.app = tree.root.application("fieldkit")
                break
            except Exception:
                time.sleep(0.5)
        return self.app

    def stop(self, check_exit=True):
        """Ends the program; its last output lines become TAP comments."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        if check_exit and self.proc.returncode not in (0, -15):
            self.ok(False, "the window exits cleanly (status %s)" % self.proc.returncode)
        for line in (out or b"").decode(errors="replace").splitlines()[-30:]:
            print("# app: " + line)

    # ---- finding and acting -----------------------------------------------------

    def find(self, parent, name=None, role=None, showing=False, retry=True, contains=None, timeout=30):
        """The first node with this exact name (or containing `contains`)
        and role; a loaded CI machine can take seconds to build a page, so
        keep asking for up to `timeout` seconds unless retry is False."""
        def pred(n):
            try:
                if contains is not None and contains not in (n.name or ""):
                    return False
                if name is not None and n.name != name:
                    return False
                if role is not None and n.roleName != role:
                    return False
                return not showing or n.showing
            except Exception:
                return False
        deadline = time.time() + (timeout if retry else 0)
        while True:
            try:
                found = parent.findChildren(pred)
            except Exception:
                found = []
            if found or time.time() > deadline:
                return found[0] if found else None
            time.sleep(0.3)

    def click(self, node):
        if node is None:
            raise AssertionError("the control to click was not found in the accessibility tree")
        actions = list(node.actions.keys()) if node.actions else []
        for name in ("click", "activate", "toggle", "press"):
            if name in actions:
                node.doActionNamed(name)
                break
        else:
            # A list row has no AT-SPI action on GTK 4.8; its extents are
            # right (window coordinates, and with no window manager the
            # window is at 0,0), so the pointer clicks it.
            (x, y), (w, h) = node.position, node.size
            if w <= 0 or h <= 0:
                raise AssertionError("%s %r has no click action (%s) and no extents"
                                     % (node.roleName, node.name, actions))
            subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1"],
                           check=False)
        self._interaction()
        time.sleep(0.4)

    def type_text(self, text):
        """Typed data: never counted as an interaction."""
        rawinput.typeText(text)
        time.sleep(0.2)

    def key(self, name):
        rawinput.pressKey(name)
        self._interaction()
        time.sleep(0.3)

    def combo(self, keys):
        rawinput.keyCombo(keys)
        self._interaction()
        time.sleep(0.3)

    def _interaction(self):
        if self.on_interaction is not None:
            self.on_interaction()
