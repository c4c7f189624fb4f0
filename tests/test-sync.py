#!/usr/bin/python3
"""End-to-end sync: a real office server (fieldkit-office serve) on 127.0.0.1
and a device driven through fieldkit-cli.  Prints TAP.

Covers issue 3's scripted flow (init, invite, enrol, cases with photos, sync,
the office opens them, a review returns one, the device shows the reason),
the server killed in the middle of a sync, fault modes (503, 429 with
Retry-After, a dropped connection, a hanging server, a lost ack), a wrong
fingerprint, a reused invite, a device clock a year off, bundles, and the
office's per-device audit verification."""

import json
import os
import pty
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("MESON_BUILD_ROOT") or os.path.dirname(os.path.dirname(os.environ["FIELDKIT_CLI"]))
CLI = os.environ["FIELDKIT_CLI"]
OFFICE = os.environ.get("FIELDKIT_OFFICE", os.path.join(BUILD, "sync", "fieldkit-office"))

results = []


def ok(cond, name, detail=""):
    results.append((bool(cond), name, detail))
    status = "ok" if cond else "not ok"
    print(f"{status} {len(results)} - {name}", flush=True)
    if not cond and detail:
        for line in str(detail).splitlines()[:40]:
            print(f"#   {line}", flush=True)
    return cond


def env(**extra):
    e = dict(os.environ)
    e.update({
        "FIELDKIT_KDF": "test",
        "LC_ALL": "C.UTF-8",
        "FIELDKIT_BACKOFF_BASE_MS": "50",
        "FIELDKIT_ADMIN_PASSPHRASE": "office admin passphrase",
    })
    e.update(extra)
    return e


class Device:
    def __init__(self, root, name="dev"):
        self.dir = os.path.join(root, name)
        self.env = env(FIELDKIT_PASSPHRASE="clerk passphrase one",
                       FIELDKIT_NEW_PASSPHRASE="second checker pass")

    def run(self, *args, op="ann", extra_env=None, prefix=None, timeout=300):
        e = dict(self.env)
        if extra_env:
            e.update(extra_env)
        if op == "bob":
            e["FIELDKIT_PASSPHRASE"] = "second checker pass"
        cmd = (prefix or []) + [CLI, "--data-dir", self.dir, "--operator", op, "--json"] + list(args)
        p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
        try:
            doc = json.loads(p.stdout) if p.stdout.strip() else {}
        except json.JSONDecodeError:
            doc = {"_raw": p.stdout}
        return p.returncode, doc, p.stderr

    def run_tty(self, *args, op="ann", timeout=300):
        """Runs a command as a person at a terminal: no --json, stderr a tty."""
        master, slave = pty.openpty()
        cmd = [CLI, "--data-dir", self.dir, "--operator", op] + list(args)
        p = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        out = p.communicate(timeout=timeout)[0]
        os.close(master)
        return p.returncode, out, b"".join(chunks).decode("utf-8", "replace")


class Office:
    def __init__(self, root):
        self.dir = os.path.join(root, "office")
        self.proc = None
        self.port = None
        self.log = open(os.path.join(root, "office.log"), "a")

    def run(self, *args):
        p = subprocess.run([OFFICE, "--data-dir", self.dir, "--json"] + list(args), env=env(),
                           capture_output=True, text=True, timeout=120)
        try:
            doc = json.loads(p.stdout) if p.stdout.strip() else {}
        except json.JSONDecodeError:
            doc = {"_raw": p.stdout}
        return p.returncode, doc, p.stderr

    def start(self, faults=None):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        listen = f"127.0.0.1:{self.port}" if self.port else "127.0.0.1:0"
        args = [OFFICE, "--data-dir", self.dir, "serve", "--listen", listen, "--port-file", port_file]
        if faults:
            args += ["--faults", faults]
        args += getattr(self, "extra", [])
        self.proc = subprocess.Popen(args, env=env(), stdout=self.log, stderr=self.log)
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read().strip())
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def inbox(self):
        rc, doc, err = self.run("inbox")
        return doc.get("packets", []) if rc == 0 else None

    def requests(self, method, prefix):
        """How many requests the office has logged so far (one line each)."""
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if f" {method} {prefix}" in line)


def scan_for_people(folder, needles):
    """Every file under folder searched for each value (UTF-8)."""
    found = []
    for dirpath, _, files in os.walk(folder):
        for fn in files:
            with open(os.path.join(dirpath, fn), "rb") as f:
                data = f.read()
            for needle in needles:
                if needle.encode() in data:
                    found.append((os.path.join(dirpath, fn), needle))
    return found


def new_case(dev, outing, pid, name, photo, finalize=True):
    rc, doc, err = dev.run("case", "new", "--outing", outing, "--service", "id_card_replace",
                           "--person-id", pid, "--name", name, "--birth", "1950-03-04",
                           "--field", "reason=damaged", "--photo", photo)
    if rc != 0:
        return None, err
    cid = str(doc["case"]["id"])
    if not finalize:
        return cid, ""
    return seal_case(dev, cid)


def seal_case(dev, cid):
    """Ticks, checks (ann), approves (bob) and finalizes a draft."""
    for args, op in ((("case", "tick", cid, "--all"), "ann"), (("case", "check", cid), "ann"),
                     (("case", "approve", cid), "bob"), (("case", "finalize", cid), "ann")):
        rc, doc, err = dev.run(*args, op=op)
        if rc != 0:
            return None, f"{args}: {err}"
    return cid, ""


def id_with_checksum(seq):
    """A valid national ID A1xxxxxxxx built from a sequence number."""
    letters = {"A": 10}
    body = f"1{seq:07d}"
    digits = [1, 0] + [int(c) for c in body]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    s = sum(d * w for d, w in zip(digits, weights))
    check = (10 - s % 10) % 10
    return "A" + body + str(check)


def main():
    root = tempfile.mkdtemp(prefix="fk-sync-")
    office = Office(root)
    dev = Device(root)
    photo = os.path.join(root, "photo.jpg")
    with open(photo, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(200 * 1024))
    try:
        rc, doc, err = office.run("init", "--admin", "Director Wu", "--office-code", "TCN")
        ok(rc == 0 and doc.get("fingerprint"), "office init prints a fingerprint", err)
        fingerprint = doc.get("fingerprint", "")
        ok(office.start(), "office serves on 127.0.0.1", open(os.path.join(root, "office.log")).read())

        rc, doc, err = dev.run("init", "--operator", "ann", "--name", "Chen Mei-ling", "--office-code", "TCN")
        ok(rc == 0, "device init", err)
        rc, doc, err = dev.run("operator", "add", "--id", "bob", "--name", "Lin Chih-hao")
        ok(rc == 0, "second operator", err)
        rc, doc, err = dev.run("outing", "new", "--kind", "home_visit", "--title", "Beitun visits", "--date", "2026-11-26")
        outing = doc.get("outing", {}).get("id", "O1")

        # A case sealed before enrolment gets its packet at enrolment.
        early, err = new_case(dev, outing, "A123456789", "王大明", photo)
        ok(early is not None, "a case sealed before enrolment", err)

        rc, doc, err = office.run("device", "invite", "--name", "tablet 3")
        code = doc.get("code", "")
        ok(rc == 0 and code, "office makes an invite", err)

        wrong_fp = "0000-0000-0000-0000-0000-0000-0000-0000"
        rc, doc, err = dev.run("enroll", office.url, "--code", code, "--fingerprint", wrong_fp)
        ok(rc == 1 and "fingerprint" in err.lower(), "a wrong fingerprint stops enrolment", err)

        rc, doc, err = dev.run("enroll", office.url, "--code", code, "--fingerprint", fingerprint)
        ok(rc == 0 and doc.get("device_number", 0) >= 1, "device enrols with code and fingerprint", err)

        other = Device(root, "dev2")
        other.run("init", "--operator", "ann", "--name", "Other Clerk")
        rc, doc, err = other.run("enroll", office.url, "--code", code, "--fingerprint", fingerprint)
        ok(rc == 1 and ("used" in err.lower() or "invite" in err.lower()), "a used invite is refused", err)

        ids = []
        for i, name in enumerate(["李小華", "Chang Wei-ting"]):
            cid, err = new_case(dev, outing, id_with_checksum(1000 + i), name, photo)
            ids.append(cid)
            ok(cid is not None, f"case {i + 2} sealed after enrolment", err)

        gets, puts = office.requests("GET", "/v1/packets/"), office.requests("PUT", "/v1/packets/")
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("uploaded") == 3, "sync uploads the three sealed cases", (rc, doc, err))
        ok(office.requests("GET", "/v1/packets/") == gets and office.requests("PUT", "/v1/packets/") == puts + 3,
           "packets never tried go up in one PUT each, without asking the office first",
           (office.requests("GET", "/v1/packets/") - gets, office.requests("PUT", "/v1/packets/") - puts))
        statuses = [(c.get("client_status"), c.get("server_status")) for c in doc.get("cases", [])]
        ok(all(s == "stored" for _, s in statuses) and len(statuses) == 3, "sync reports client and server status per case", statuses)

        inbox = office.inbox()
        ok(inbox is not None and len(inbox) == 3, "the office inbox shows exactly three packets", inbox)
        rc, doc, err = office.run("case", "show", inbox[0]["packet_id"]) if inbox else (1, {}, "")
        text = json.dumps(doc, ensure_ascii=False)
        ok(rc == 0 and ("王大明" in text or "李小華" in text or "Chang" in text), "the office opens a packet with its key", (rc, err))
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "case", "show", inbox[0]["packet_id"] if inbox else "-"],
                           env=env(), capture_output=True, text=True, timeout=60)
        ok(p.returncode == 0 and "National ID card renewal or replacement (id_card_replace)" in p.stdout
           and re.search(r"Reason +Damaged", p.stdout) and "Household registration book (original)" in p.stdout
           and re.search(r"sealed at +\d{4}-\d\d-\d\d \d\d:\d\d", p.stdout) and not re.search(r"sealed at +\d{13,}", p.stdout),
           "a reviewer reads the case in the catalog's words, with a readable time", p.stdout[-1500:])
        # The reviewer sees the photo through a pipe, never a file.
        ref = inbox[0]["receipt_no"] if inbox else "-"
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "case", "view", ref], env=env(), capture_output=True, timeout=60)
        ok(p.returncode == 0 and p.stdout == open(photo, "rb").read(), "case view pipes the photo's exact bytes",
           (p.returncode, len(p.stdout), p.stderr[-300:]))
        db = sqlite3.connect(f"file:{os.path.join(office.dir, 'office.db')}?mode=ro", uri=True)
        views = db.execute("SELECT admin, subject, detail FROM office_audit WHERE action = 'case.view'").fetchall()
        db.close()
        ok(len(views) == 1 and views[0][1] == (inbox[0]["packet_id"] if inbox else "") and '"attachment":1' in views[0][2],
           "the view is in the office's audit log, with the admin and the attachment", views)
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "case", "view", ref, "--attachment", "9"],
                           env=env(), capture_output=True, text=True, timeout=60)
        ok(p.returncode != 0 and p.stdout == "" and "no attachment 9" in p.stderr, "a missing attachment is refused, nothing written",
           (p.returncode, p.stderr))
        master, slave = pty.openpty()
        q = subprocess.Popen([OFFICE, "--data-dir", office.dir, "case", "view", ref], env=env(), stdout=slave,
                             stderr=subprocess.PIPE, text=True)
        os.close(slave)
        err = q.communicate(timeout=60)[1]
        shown = b""
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            shown += data
        os.close(master)
        ok(q.returncode != 0 and "pipe it into an image viewer" in err and len(shown) == 0,
           "case view refuses to print a photo on a terminal", (q.returncode, err, len(shown)))

        rc, doc, err = dev.run("case", "show", early)
        ok(rc == 0 and doc.get("case", {}).get("name") is None and doc["case"].get("status") == "uploaded",
           "after the ack the device keeps only a stub", doc)

        # The device's data folder holds none of the names any more (nor before: encrypted).
        found = []
        for dirpath, _, files in os.walk(dev.dir):
            for fn in files:
                data = open(os.path.join(dirpath, fn), "rb").read()
                for needle in ["王大明", "李小華", "Chang Wei-ting", "A123456789"]:
                    if needle.encode() in data:
                        found.append((fn, needle))
        ok(not found, "no name or ID number in the device's files", found)
        planted = os.path.join(root, "planted")
        os.makedirs(planted, exist_ok=True)
        with open(os.path.join(planted, "x.bin"), "wb") as f:
            f.write(b"\x00\x01" + "王大明".encode() + b"\xff")
        ok(scan_for_people(planted, ["王大明"]), "the search finds a planted name (so its silence means something)")
        found = scan_for_people(office.dir, ["王大明", "李小華", "Chang Wei-ting", "A123456789"])
        ok(not found, "no name or ID number in the office's files either (packets stay sealed at rest)", found)

        # The office returns one case and approves another.
        by_receipt = {p["receipt_no"]: p for p in inbox}
        rc, doc, _ = dev.run("case", "show", ids[0])
        ret_receipt = doc.get("case", {}).get("receipt_no")
        rc, doc, _ = dev.run("case", "show", ids[1])
        ok_receipt = doc.get("case", {}).get("receipt_no")
        rc1, _, err1 = office.run("review", by_receipt[ret_receipt]["packet_id"], "--return", "照片不符規格，請補正")
        rc2, _, err2 = office.run("review", by_receipt[ok_receipt]["packet_id"], "--approve")
        ok(rc1 == 0 and rc2 == 0, "the office reviews: one returned, one approved", err1 + err2)
        states = {st: [p["receipt_no"] for p in office.run("inbox", "--review", st)[1].get("packets", [])]
                  for st in ("pending", "approved", "returned")}
        ok(states["returned"] == [ret_receipt] and states["approved"] == [ok_receipt] and len(states["pending"]) == 1
           and set(states["pending"]) == set(by_receipt) - {ret_receipt, ok_receipt},
           "inbox --review lists what is left to review, and what was decided", states)
        rc, doc, err = office.run("inbox", "--review", "later")
        ok(rc == 2 and "pending|approved|returned" in err, "an unknown review state is refused with the choices", (rc, err))

        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("answers") == 2, "the device fetches two signed answers", (doc, err))
        rc, doc, err = dev.run("case", "show", ids[0])
        ok(doc.get("case", {}).get("status") == "returned", "the returned case is marked returned", doc)
        p = subprocess.run([CLI, "--data-dir", dev.dir, "--operator", "ann", "case", "show", ids[0]],
                           env=dev.env, capture_output=True, text=True)
        ok("照片不符規格" in p.stdout, "the clerk sees the office's reason", p.stdout)
        rc, doc, err = dev.run("case", "show", ids[1])
        ok(doc.get("case", {}).get("status") == "accepted", "the approved case is marked accepted", doc)

        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("uploaded") == 0 and len(office.inbox()) == 3, "a second sync sends nothing twice", doc)

        rc, doc, err = office.run("audit", "verify", doc and json.loads(json.dumps(doc)) and "" or "")
        devices = office.run("device", "list")[1].get("devices", [])
        dev_id = devices[0]["device_id"] if devices else ""
        rc, doc, err = office.run("audit", "verify", dev_id)
        ok(rc == 0 and doc.get("entries", 0) > 5, "the office verifies the device's audit chain", (doc, err))

        # The server killed in the middle of a sync: every case ends stored exactly once.
        many = []
        for i in range(15):
            cid, err = new_case(dev, outing, id_with_checksum(2000 + i), f"Student {i}", photo)
            many.append(cid)
        sync = subprocess.Popen([CLI, "--data-dir", dev.dir, "--operator", "ann", "--json", "sync"],
                                env=dict(dev.env, FIELDKIT_SYNC_ATTEMPTS="2"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.4)
        office.stop(signal.SIGKILL)
        sync.communicate(timeout=120)
        ok(office.start(), "the office restarts on the same port")
        rc, doc, err = dev.run("sync")
        ok(rc == 0, "the next sync completes", (doc, err))
        inbox = office.inbox()
        receipts = [p["receipt_no"] for p in inbox]
        ok(len(inbox) == 18 and len(set(receipts)) == 18, "after a kill mid-sync every case is stored exactly once",
           (len(inbox), len(set(receipts))))
        rc, doc, err = dev.run("outbox")
        ok(all(p["state"] == "acked" for p in doc.get("packets", [])), "the device ends with every packet acknowledged", doc)

        # Fault modes, one at a time.
        faults = [
            ("status=503:2", "503 twice then success"),
            ("status=429:1:retry=1", "429 with Retry-After then success"),
            ("status=500:1", "500 then success"),
            ("drop=150000", "connection dropped mid-upload, then resumed"),
            ("lose-ack:1", "ack lost after the office stored the packet"),
            ("hang=6:1", "a hanging office times out, then success"),
        ]
        for spec, label in faults:
            office.stop()
            ok(office.start(faults=spec), f"office restarted with --faults {spec}")
            before = len(office.inbox())
            gets = office.requests("GET", "/v1/packets/")
            cid, err = new_case(dev, outing, id_with_checksum(3000 + len(results)), f"Fault {spec}", photo)
            extra = {"FIELDKIT_LOW_SPEED_TIME_S": "2"} if spec.startswith("hang") else {}
            rc, doc, err = dev.run("sync", extra_env=extra)
            if rc != 0 or doc.get("uploaded") != 1:
                rc, doc, err = dev.run("sync", extra_env=extra)
            after = office.inbox()
            ok(len(after) == before + 1, f"{label}: stored exactly once", (rc, doc, err, len(after), before))
            rc, doc, err = dev.run("outbox")
            ok(all(p["state"] == "acked" for p in doc.get("packets", [])), f"{label}: device ends acknowledged", doc)
            if spec.startswith("lose-ack"):
                ok(office.requests("GET", "/v1/packets/") > gets,
                   f"{label}: the retry asks the office where it stands and takes the stored ack")

        # Any other 4xx: the case goes to quarantine with the office's words,
        # and the clerk's retry sends it again.
        office.stop()
        ok(office.start(faults="status=400:1"), "office restarted with --faults status=400:1")
        before = len(office.inbox())
        cid, err = new_case(dev, outing, id_with_checksum(3900), "Quarantine Case", photo)
        rc, doc, err = dev.run("sync")
        q = [c for c in doc.get("cases", []) if c.get("client_status") == "quarantined"]
        ok(doc.get("quarantined") == 1 and q and "400" in (q[0].get("message") or ""),
           "a 400 puts the case in quarantine with a readable error", doc)
        rc, doc, err = dev.run("outbox")
        ok(any(p["state"] == "quarantined" and p.get("last_error") for p in doc.get("packets", [])),
           "the outbox lists it with its error", doc)
        rc, doc, err = dev.run("sync")
        ok(len(office.inbox()) == before, "a quarantined case is not sent again by itself", doc)
        rc, doc, err = dev.run("outbox", "retry", cid)
        ok(rc == 0, "the clerk retries it", err)
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and len(office.inbox()) == before + 1, "after the retry it is stored once", (doc, err))

        office.stop()
        ok(office.start(), "office restarted without faults")

        # A device clock a year behind: the office says so and the device adapts.
        if shutil.which("faketime"):
            cid, err = new_case(dev, outing, id_with_checksum(4000), "Clock Skew", photo)
            before = len(office.inbox())
            # libfaketime is an LD_PRELOAD; under AddressSanitizer the ASan
            # runtime must then not insist on being first in the list.
            asan = os.environ.get("ASAN_OPTIONS", "")
            rc, doc, err = dev.run("sync", prefix=["faketime", "-f", "-365d"],
                                   extra_env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"})
            ok(rc == 0 and len(office.inbox()) == before + 1, "a device clock a year off still syncs (office time used)", (rc, doc, err))
        else:
            ok(False, "faketime is installed (tools/install-deps.sh)")

        # USB bundle: export on the device, import at the office, then the device
        # learns at the next sync that the office has it.
        cid, err = new_case(dev, outing, id_with_checksum(5000), "Bundle Case", photo)
        bundle = os.path.join(root, "usb.fkb")
        rc, doc, err = dev.run("bundle", "export", bundle)
        ok(rc == 0 and doc.get("packets") == 1, "bundle export writes the waiting packet", (doc, err))
        before = len(office.inbox())
        rc, doc, err = office.run("bundle", "import", bundle)
        ok(rc == 0 and len(office.inbox()) == before + 1, "the office imports the bundle", (doc, err))
        rc, doc, err = office.run("bundle", "import", bundle)
        ok(rc == 0 and len(office.inbox()) == before + 1, "importing the same bundle again stores nothing twice", (doc, err))
        puts = office.requests("PUT", "/v1/packets/")
        rc, doc, err = dev.run("sync")
        ok(office.requests("PUT", "/v1/packets/") == puts,
           "a packet that went by USB is not sent again over the network", office.requests("PUT", "/v1/packets/") - puts)
        rc, doc, err = dev.run("outbox")
        ok(all(p["state"] == "acked" for p in doc.get("packets", [])), "after the import the device is acknowledged at the next sync", doc)

        # Garbage and replays: random bodies, bogus headers and a replayed
        # signed request are refused with 4xx; the office keeps serving.
        import http.client
        import random
        rng = random.Random(1234)
        statuses = []
        before = len(office.inbox())
        for i in range(120):
            conn = http.client.HTTPConnection("127.0.0.1", office.port, timeout=10)
            path = rng.choice(["/v1/enroll", "/v1/packets/" + os.urandom(8).hex(), "/v1/audit",
                               "/v1/changes?since=" + rng.choice(["-1", "x", "99999999999999999999"]),
                               "/v1/office/../../etc/passwd", "/" + "A" * rng.randint(1, 3000)])
            method = rng.choice(["GET", "PUT", "POST", "DELETE", "PATCH"])
            body = os.urandom(rng.randint(0, 4096)) if rng.random() < 0.7 else b'{"v":1,' * rng.randint(1, 50)
            headers = {"FK-Device": rng.choice(["", "0" * 32, os.urandom(16).hex(), "'; DROP TABLE devices;--"]),
                       "FK-Time": rng.choice(["0", "-5", str(int(time.time())), "abc"]),
                       "FK-Nonce": os.urandom(16).hex(), "FK-Signature": rng.choice(["", "AAAA", "!!"])}
            try:
                conn.request(method, path, body=body, headers=headers)
                statuses.append(conn.getresponse().status)
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                statuses.append(0)
            finally:
                conn.close()
        ok(all(400 <= st < 500 for st in statuses), "120 garbage requests all get a 4xx", sorted(set(statuses)))
        ok(office.proc.poll() is None and len(office.inbox()) == before, "the office is still up and stored nothing", before)
        cid, err = new_case(dev, outing, id_with_checksum(5500), "After Garbage", photo)
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and len(office.inbox()) == before + 1, "a real device still syncs after the garbage", (doc, err))

        # At a terminal the sync shows the whole run, in cases, never a packet id.
        cid, err = new_case(dev, outing, id_with_checksum(5501), "At A Terminal", photo)
        rc, out, tty = dev.run_tty("sync")
        ok(rc == 0 and "Uploading: 1 of 1 cases sent" in tty
           and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", tty),
           "at a terminal, sync shows 'Uploading: 1 of 1 cases sent'", (rc, out, tty))

        # The inbox groups by outing, not only by kind: a second home visit
        # on another day is its own group, found by its id.
        rc, doc, err = dev.run("outing", "new", "--kind", "home_visit", "--title", "Dali visits", "--date", "2026-11-27")
        second = doc.get("outing", {}).get("id")
        cid, err = new_case(dev, second, id_with_checksum(5502), "Second Outing", photo)
        rc, doc, err = dev.run("sync")
        inbox = office.inbox() or []
        firsts = [p for p in inbox if p.get("outing_id") == outing]
        seconds = [p for p in inbox if p.get("outing_id") == second]
        ok(rc == 0 and second and second != outing and len(seconds) == 1
           and seconds[0].get("outing_date") == "2026-11-27" and len(firsts) == len(inbox) - 1
           and all(p.get("outing_date") == "2026-11-26" and p.get("outing_kind") == "home_visit" for p in firsts),
           "each packet names its outing (id and date) for the office", [(p.get("outing_id"), p.get("outing_date")) for p in inbox])
        rc, doc, err = office.run("inbox", "--outing", second or "-")
        ok(rc == 0 and [p["outing_id"] for p in doc.get("packets", [])] == [second],
           "inbox --outing ID lists that outing only", doc)
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "inbox"], env=env(), capture_output=True, text=True, timeout=60)
        heads = [line for line in p.stdout.splitlines() if line.startswith("Device ")]
        ok(p.returncode == 0 and heads == [f"Device 1, outing {outing} · home visit · 2026-11-26:",
                                           f"Device 1, outing {second} · home visit · 2026-11-27:"],
           "the inbox shows one heading per outing, in date order", p.stdout[:2000])
        rows = [line for line in p.stdout.splitlines() if line.startswith("  ")]
        ok(rows and all(re.match(r"  TCN-\S+ +\d{4}-\d\d-\d\d \d\d:\d\d  (pending|approved|returned) +\S", r) for r in rows)
           and any(r.endswith("National ID card renewal or replacement") for r in rows),
           "each inbox line: receipt number, local time, review, the service's name", rows[:5])
        rc, doc, err = office.run("case", "show", seconds[0]["packet_id"] if seconds else "-")
        ok(rc == 0 and "Dali visits" in json.dumps(doc, ensure_ascii=False),
           "the outing's title stays inside the sealed packet (case show opens it)", (rc, err))
        ok(not scan_for_people(office.dir, ["Dali visits"]),
           "the title is in no office file in the clear")

        # Reference data: the office publishes a new catalog (a fee changes);
        # the device applies it from the signed change feed.
        catalog = json.load(open(os.path.join(os.environ["FIELDKIT_DATA_DIR"], "services.json")))
        catalog["version"] = catalog.get("version", 1) + 1
        for svc in catalog["services"]:
            if svc["id"] == "id_card_replace":
                svc["fee"] = 250
        new_catalog = os.path.join(root, "services-v2.json")
        json.dump(catalog, open(new_catalog, "w"), ensure_ascii=False)
        rc, doc, err = office.run("catalog", "publish", new_catalog)
        ok(rc == 0, "the office publishes catalog version 2", err)
        rc, doc, err = office.run("catalog", "publish", new_catalog)
        ok(rc == 1, "publishing the same version again is refused", err)
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("catalog_version") == catalog["version"], "the device applies the signed catalog", (doc, err))
        cid, err = new_case(dev, outing, id_with_checksum(6000), "Fee Check", photo, finalize=False)
        rc, doc, err = dev.run("case", "show", cid)
        ok(doc.get("case", {}).get("fee") == 250, "new cases use the office's new fee", doc.get("case", {}).get("fee"))

        # Card hand-over: a school drive's cards come back weeks later.  The
        # office lists receipt → card number; the device receives the list
        # sealed to its key, the clerk records the card and the student's
        # signature, and a card is handed over once only.
        rc, doc, err = dev.run("outing", "new", "--kind", "school_drive", "--title", "Class 801", "--date", "2026-11-26")
        drive = doc.get("outing", {}).get("id")
        students = []
        for i, (name, seat) in enumerate([("陳小明", "1"), ("林小美", "2")]):
            pid = id_with_checksum(8000 + i)
            rc, doc, err = dev.run("case", "new", "--outing", drive, "--service", "id_card_first", "--person-id", pid,
                                   "--name", name, "--birth", "2012-05-03", "--field", "school_class=801",
                                   "--field", "seat_number=" + seat, "--photo", photo)
            cid = str(doc.get("case", {}).get("id"))
            dev.run("case", "tick", cid, "--all")
            dev.run("case", "check", cid)
            dev.run("case", "approve", cid, op="bob")
            rc, doc, err = dev.run("case", "finalize", cid)
            students.append((name, doc.get("case", {}).get("receipt_no")))
        ok(all(r for _, r in students), "two students of a school drive sealed", students)
        rc, doc, err = dev.run("sync")
        cards = os.path.join(root, "cards.csv")
        with open(cards, "w") as f:
            f.write("receipt_no,card_number\n")
            f.write(f"{students[0][1]},F100000001\n{students[1][1]},F100000002\n")
        wrong = os.path.join(root, "not-cards.txt")
        with open(wrong, "w") as f:
            f.write("receipt_no,card_number\n\nthis is a class photo list\n")
        rc, doc, err = office.run("handover", "publish", wrong)
        ok(rc == 1 and doc.get("listed") == 0 and "receipt_no,card_number" in str(doc.get("rows")),
           "a line that is not receipt_no,card_number is refused and said, never skipped in silence", (rc, doc, err))
        with open(wrong, "w") as f:
            f.write("receipt_no,card_number\n\n")
        rc, doc, err = office.run("handover", "publish", wrong)
        ok(rc == 1 and "no hand-over lines" in err, "a list with no line at all is refused, saying what a line is", err)
        export_dir = os.path.join(root, "handover-usb")
        rc, doc, err = office.run("handover", "publish", cards, "--export", export_dir)
        ok(rc == 0 and doc.get("listed") == 2, "the office publishes the hand-over list", (doc, err))
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("handovers") == 2, "the device receives two cards to hand over, signed and sealed to it", (doc, err))
        rc, doc, err = dev.run("outing", "list")
        ho = [o for o in doc.get("outings", []) if o["kind"] == "card_handover"]
        ok(len(ho) == 1 and ho[0]["cases"] == 2, "a card hand-over outing with one draft per card", doc)
        rc, doc, err = dev.run("case", "list", "--outing", ho[0]["id"] if ho else "O1")
        hcases = {c["name"]: str(c["id"]) for c in doc.get("cases", [])}
        ok(set(hcases) == {"陳小明", "林小美"}, "the students' names came down encrypted and open on the device", hcases)
        a = hcases.get("陳小明", "0")
        dev.run("case", "set", a, "card_number=F100000009")
        dev.run("case", "tick", a, "--all")
        rc, doc, err = dev.run("case", "check", a)
        ok(rc == 1 and "list" in err and "signed" in err, "a wrong card number and a missing signature are refused", err)
        sig = os.path.join(root, "sig.png")
        open(sig, "wb").write(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
        dev.run("case", "set", a, "card_number=F100000001")
        rc, doc, err = dev.run("case", "attach", a, "--signature", sig)
        ok(rc == 0, "the student signs on the screen (signature attached)", err)
        dev.run("case", "tick", a, "--all")
        rc, doc, err = dev.run("case", "check", a)
        ok(rc == 0, "the hand-over passes its check with the right card and the signature", err)
        rc, doc, err = dev.run("case", "finalize", a)
        ok(rc == 0 and doc.get("case", {}).get("receipt_no"), "the hand-over is sealed", err)
        before = len(office.inbox())
        rc, doc, err = dev.run("sync")
        inbox = office.inbox()
        ok(len(inbox) == before + 1 and any(p["service"] == "card_handover" for p in inbox),
           "the hand-over reaches the office", (doc, err))
        rc, doc, err = office.run("handover", "publish", cards)
        rc, doc, err = dev.run("sync")
        ok(rc == 0 and doc.get("handovers", 0) == 0, "a card already listed or handed over makes no new draft", doc)
        exported = sorted(os.listdir(export_dir)) if os.path.isdir(export_dir) else []
        ok(len(exported) == 1, "the list was also exported for a USB stick", exported)
        if exported:
            path = os.path.join(export_dir, exported[0])
            rc, doc, err = dev.run("handover", "import", path)
            ok(rc == 0 and doc.get("cases") == 0, "importing the exported list again adds nothing (once only)", (doc, err))
            forged = json.load(open(path))
            forged["body"] = forged["body"].replace('"v":1', '"v":1 ')
            bad_path = os.path.join(root, "forged.json")
            json.dump(forged, open(bad_path, "w"))
            rc, doc, err = dev.run("handover", "import", bad_path)
            ok(rc == 1 and "signed" in err, "an altered hand-over list is refused", err)

        # Revocation: a second device is enrolled, then revoked; at its next
        # sync it verifies the office's signed revocation and wipes itself.
        rc, doc, err = office.run("device", "invite", "--name", "tablet 9")
        dev3 = Device(root, "dev3")
        dev3.run("init", "--operator", "ann", "--name", "Third Clerk")
        rc, doc, err = dev3.run("enroll", office.url, "--code", doc.get("code", ""), "--fingerprint", fingerprint)
        ok(rc == 0, "a second device enrols", err)
        rc, doc, err = dev3.run("outing", "new", "--kind", "certificate_booth", "--title", "Tax office booth", "--date", "2026-11-27")
        devices = office.run("device", "list")[1].get("devices", [])
        number = [d for d in devices if d.get("name") == "tablet 9"]
        rc, doc, err = office.run("device", "revoke", number[0]["device_id"] if number else "x")
        ok(rc == 0, "the office revokes the second device", err)
        rc, doc, err = dev3.run("sync")
        ok(rc == 1 and "revoked" in err, "the revoked device is told so", (rc, err))
        ok(not os.path.exists(os.path.join(dev3.dir, "fieldkit.db")), "the revoked device wiped its data after a signed revocation",
           os.listdir(dev3.dir))
        rc, doc, err = dev.run("sync")
        ok(rc == 0, "the first device is not affected", err)

        # HTTPS with the office's TLS key pinned: a device enrolled over
        # https refuses an office that presents another TLS key.
        def make_cert(name):
            key, crt = os.path.join(root, name + ".key"), os.path.join(root, name + ".crt")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=127.0.0.1"],
                           capture_output=True, check=True)
            return key, crt
        key1, crt1 = make_cert("tls1")
        key2, crt2 = make_cert("tls2")
        office.stop()
        office.extra = ["--tls-cert", crt1, "--tls-key", key1]
        ok(office.start(), "the office serves HTTPS")
        https = f"https://127.0.0.1:{office.port}"
        rc, doc, err = office.run("device", "invite", "--name", "tablet 4")
        dev4 = Device(root, "dev4")
        dev4.run("init", "--operator", "ann", "--name", "Fourth Clerk")
        dev4.run("operator", "add", "--id", "bob", "--name", "Checker")
        rc, doc, err = dev4.run("enroll", https, "--code", doc.get("code", ""), "--fingerprint", fingerprint)
        ok(rc == 0, "a device enrols over HTTPS and pins the office's TLS key", err)
        rc, doc, err = dev4.run("outing", "new", "--kind", "bulk_enrolment", "--title", "Bulk", "--date", "2026-11-28")
        before = len(office.inbox())
        cid, err = new_case(dev4, doc.get("outing", {}).get("id", "O1"), id_with_checksum(7000), "TLS Case", photo)
        rc, doc, err = dev4.run("sync")
        ok(rc == 0 and len(office.inbox()) == before + 1, "sync over pinned HTTPS", (doc, err))
        office.stop()
        office.extra = ["--tls-cert", crt2, "--tls-key", key2]
        ok(office.start(), "an office with another TLS key on the same address")
        cid, err = new_case(dev4, "O1", id_with_checksum(7001), "TLS Case 2", photo)
        rc, doc, err = dev4.run("sync", extra_env={"FIELDKIT_SYNC_ATTEMPTS": "1"})
        ok(rc != 0 and len(office.inbox()) == before + 1, "a different TLS key is refused: nothing is sent", (rc, doc, err))
        office.stop()
        office.extra = []
        ok(office.start(), "office back on plain loopback HTTP")

        # Correct the returned case as a new version and send it.  Its
        # personal data went at the ack (the default retention), so the
        # clerk gives the person again from their documents.
        rc, doc, err = dev.run("case", "correct", ids[0])
        ok(rc == 1 and "removed" in err and "--person-id" in err, "a purged returned case asks for the person again, clearly", err)
        rc, doc, err = dev.run("case", "correct", ids[0], "--person-id", id_with_checksum(1000), "--name", "李小華",
                               "--birth", "1950-03-04", "--field", "reason=damaged", "--photo", photo)
        fixed = str(doc.get("case", {}).get("id", ""))
        ok(rc == 0 and doc["case"].get("supersedes") == int(ids[0]) and doc["case"].get("status") == "draft"
           and doc["case"].get("outing") == outing and doc["case"].get("service") == "id_card_replace",
           "case correct --person-id --name makes a draft that supersedes the returned case, same outing and service", (rc, doc, err))
        rc, doc, err = dev.run("case", "correct", ids[0], "--person-id", id_with_checksum(1000), "--name", "李小華")
        ok(rc == 1 and f"already corrected as case {fixed}" in err, "a returned case is corrected only once", err)
        cid, err = seal_case(dev, fixed)
        before = len(office.inbox())
        rc, doc, err = dev.run("sync")
        inbox = office.inbox() or []
        ok(cid and rc == 0 and len(inbox) == before + 1, "the correction goes up as a new packet", (rc, doc, err))
        rc, doc, err = dev.run("case", "show", fixed)
        new_receipt = doc.get("case", {}).get("receipt_no")
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "case", "show", new_receipt or "-"],
                           env=env(), capture_output=True, text=True, timeout=60)
        ok(p.returncode == 0 and re.search(r"corrects +" + re.escape(ret_receipt) + r" .*照片不符規格", p.stdout)
           and "differs" not in p.stdout,
           "the office sees which returned case it corrects, and why that one was returned", p.stdout[:1500])
        fixes = [q for q in inbox if q.get("corrects_receipt")]
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "inbox", "--review", "pending"], env=env(),
                           capture_output=True, text=True, timeout=60)
        ok(len(fixes) == 1 and fixes[0]["receipt_no"] == new_receipt and fixes[0]["corrects_receipt"] == ret_receipt
           and re.search(re.escape(new_receipt) + r" .* · corrects " + re.escape(ret_receipt), p.stdout),
           "the inbox marks the correction with the receipt it corrects", (fixes, p.stdout[-800:]))
        # A correction that names someone else is flagged to the reviewer.
        cid, err = new_case(dev, outing, id_with_checksum(1500), "Wrong Person Case", photo)
        rc, doc, err = dev.run("sync")
        rc, doc, err = dev.run("case", "show", cid)
        first_receipt = doc.get("case", {}).get("receipt_no")
        office.run("review", first_receipt or "-", "--return", "身分證影本不清楚")
        dev.run("sync")
        rc, doc, err = dev.run("case", "correct", cid, "--person-id", id_with_checksum(1501), "--name", "Someone Else",
                               "--birth", "1950-03-04", "--field", "reason=damaged", "--photo", photo)
        other_fix, err = seal_case(dev, str(doc.get("case", {}).get("id", "")))
        dev.run("sync")
        rc, doc, err = dev.run("case", "show", other_fix or "-")
        p = subprocess.run([OFFICE, "--data-dir", office.dir, "--json", "case", "show", doc.get("case", {}).get("receipt_no") or "-"],
                           env=env(), capture_output=True, text=True, timeout=60)
        t = subprocess.run([OFFICE, "--data-dir", office.dir, "case", "show", doc.get("case", {}).get("receipt_no") or "-"],
                           env=env(), capture_output=True, text=True, timeout=60)
        corr = json.loads(p.stdout).get("corrects", {}) if p.returncode == 0 else {}
        ok(corr.get("receipt_no") == first_receipt and corr.get("same_person") is False
           and "The ID number differs from the returned case's (" + id_with_checksum(1500) + ")" in t.stdout,
           "a correction naming another ID number is flagged to the reviewer", (corr, t.stdout[:600], t.stderr))

        # A backup while the office serves: the copy lists the same packets.
        copy_dir = os.path.join(root, "office-backup")
        held = len(office.inbox())
        rc, doc, err = office.run("backup", copy_dir)
        ok(rc == 0 and doc.get("packets") == held, "backup copies the office while it serves", (rc, doc, err))
        found = scan_for_people(copy_dir, ["王大明", "李小華", "Chang Wei-ting", "A123456789", "陳小明", "林小美"])
        ok(not found, "the backup holds no name or ID number in the clear", found)
        p = subprocess.run([OFFICE, "--data-dir", copy_dir, "--json", "inbox"], env=env(),
                           capture_output=True, text=True, timeout=120)
        ok(p.returncode == 0 and len(json.loads(p.stdout).get("packets", [])) == held,
           "the backup's inbox lists the same packets", p.stderr)
        rc, doc, err = office.run("backup", copy_dir)
        ok(rc == 1 and "not empty" in err, "a backup never writes into a folder that is not empty", err)

        # Every admin passphrase forgotten: the recovery key printed at init
        # gives the admin a new one (an office of its own, so the one above
        # keeps its passphrase).
        lost = os.path.join(root, "office-lost")

        def office_cli(*args, **extra):
            p = subprocess.run([OFFICE, "--data-dir", lost, "--json"] + list(args), env=env(**extra),
                               capture_output=True, text=True, timeout=120)
            try:
                return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p.stderr
            except json.JSONDecodeError:
                return p.returncode, {}, p.stderr

        rc, doc, err = office_cli("init", "--admin", "Director Wu")
        recovery_key = doc.get("recovery_key", "")
        ok(rc == 0 and recovery_key, "a second office is set up and prints its recovery key", err)
        rc, doc, err = office_cli("recover", "--admin", "Director Wu", FIELDKIT_RECOVERY_KEY="not a key",
                                  FIELDKIT_NEW_ADMIN_PASSPHRASE="a brand new admin passphrase")
        ok(rc == 1 and "not a recovery key" in err, "recover refuses a text that is no recovery key, saying so", err)
        rc, doc, err = office_cli("recover", "--admin", "Director Wu",
                                  FIELDKIT_RECOVERY_KEY=recovery_key.lower().replace("-", ""),
                                  FIELDKIT_NEW_ADMIN_PASSPHRASE="a brand new admin passphrase")
        ok(rc == 0 and doc.get("replaced") == 1, "recover gives the admin a new passphrase with the recovery key",
           (rc, doc, err))
        rc, doc, err = office_cli("device", "invite", "--name", "tablet 9")
        ok(rc == 1 and "does not open" in err, "the forgotten passphrase no longer opens the office keys", err)
        rc, doc, err = office_cli("device", "invite", "--name", "tablet 9",
                                  FIELDKIT_ADMIN_PASSPHRASE="a brand new admin passphrase")
        ok(rc == 0 and doc.get("code"), "the new passphrase opens them (an invite is made)", (rc, doc, err))
    finally:
        office.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"1..{len(results)}")
    return 0 if all(r[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
