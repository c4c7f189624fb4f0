#!/usr/bin/python3
"""test-cli.py — fieldkit-cli end to end, as a clerk and a script use it.

Prints TAP itself (meson runs it with protocol 'tap').  Drives the binary
named by $FIELDKIT_CLI through a whole case, the usage and passphrase rules,
tampering with the database by hand, zh_TW output, two processes at once,
and — in a private mount namespace — a full disk and a read-only disk.

The fault tests need root and `unshare -m`; where that does not work they
fail (CI runs as root), they are never skipped.
"""

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("FIELDKIT_CLI") or os.path.join(HERE, "..", "build", "cli", "fieldkit-cli")
PASS_ANN = "ann's long cli passphrase"
PASS_BOB = "bob's long cli passphrase"
RECEIPT_RE = re.compile(r"^TCN-03-\d{7}-\d{4}$")
AREA = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                [10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
                 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33]))


def national_id(letter, gender, serial):
    """A national ID number with a correct check digit."""
    code = AREA[letter]
    digits = "%d%07d" % (gender, serial % 10000000)
    total = code // 10 + (code % 10) * 9
    total += sum(int(d) * w for d, w in zip(digits, [8, 7, 6, 5, 4, 3, 2, 1]))
    return "%s%s%d" % (letter, digits, (10 - total % 10) % 10)


def base_env():
    env = dict(os.environ)
    for name in ("FIELDKIT_PASSPHRASE", "FIELDKIT_NEW_PASSPHRASE", "FIELDKIT_RECOVERY_KEY",
                 "LANG", "LANGUAGE", "LC_MESSAGES"):
        env.pop(name, None)
    env["FIELDKIT_KDF"] = "test"
    env["LC_ALL"] = "C.UTF-8"
    return env


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError("not JSON (%s): %r" % (e, self.out[:400]))

    def __repr__(self):
        return "rc=%d\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.out[-1500:], self.err[-1500:])


def cli(data_dir, *args, passphrase=PASS_ANN, env=None, timeout=120):
    """Runs fieldkit-cli --data-dir DIR ARGS with the passphrase in the
    environment (None: no passphrase at all)."""
    e = base_env()
    if passphrase is not None:
        e["FIELDKIT_PASSPHRASE"] = passphrase
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    argv = [CLI] + (["--data-dir", data_dir] if data_dir else []) + list(args)
    proc = subprocess.run(argv, env=e, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    return Result(proc)


def check(cond, what, result=None):
    if not cond:
        raise AssertionError(what + ("\n" + repr(result) if result is not None else ""))


def expect(result, rc, what):
    check(result.rc == rc, "%s: expected exit %d, got %d" % (what, rc, result.rc), result)
    return result


# ---- the world the tests share -------------------------------------------

TMP = tempfile.mkdtemp(prefix="fieldkit-cli-test-")
MAIN = os.path.join(TMP, "main")
PHOTO = os.path.join(TMP, "photo.jpg")
PHOTO_BYTES = b"\xff\xd8\xff\xe0" + bytes(random.Random(5).getrandbits(8) for _ in range(50000))
ID1 = national_id("A", 1, 3456789)
ID2 = national_id("B", 2, 2223334)
ID3 = national_id("C", 1, 1000001)
state = {}


def new_device(path, extra_operator=True):
    r = expect(cli(path, "--json", "init", "--operator", "ann", "--name", "Chen Mei-ling",
                   "--office-code", "TCN", "--device-number", "3"), 0, "init")
    doc = r.json()
    if extra_operator:
        expect(cli(path, "--operator", "ann", "operator", "add", "--id", "bob", "--name", "Lin Chih-hao",
                   env={"FIELDKIT_NEW_PASSPHRASE": PASS_BOB}), 0, "operator add")
    return doc


def new_cert_case(path, pid, name, *extra, operator="ann"):
    r = expect(cli(path, "--operator", operator, "--json", "case", "new", "--outing", "O1",
                   "--service", "certificate_apply", "--person-id", pid, "--name", name,
                   "--birth", "1971-07-01", "--field", "card_number=AB12345678901234", *extra),
               0, "case new")
    return r.json()["case"]["id"]


# ---- tests: a whole case --------------------------------------------------

def t_help():
    r = expect(cli(None, "help"), 0, "help")
    for word in ("init", "outing new", "case new", "check-id", "audit verify", "never the command line"):
        check(word in r.out, "help mentions %r" % word, r)


def t_init():
    with open(PHOTO, "wb") as f:
        f.write(PHOTO_BYTES)
    doc = new_device(MAIN)
    check(doc["ok"] is True and doc["operator"] == "ann", "init JSON", None)
    check(re.match(r"^[A-Z2-7]{4}(-[A-Z2-7]{1,4}){13}$", doc["recovery_key"]) is not None,
          "recovery key shape: %r" % doc["recovery_key"])
    check(os.path.exists(os.path.join(MAIN, "fieldkit.db")), "database file made")
    r = expect(cli(MAIN, "init", "--operator", "zed", "--name", "Zed"), 1, "second init")
    check("already set up" in r.err, "second init says why", r)


def t_operator_list():
    r = expect(cli(MAIN, "--json", "operator", "list"), 0, "operator list")
    ops = {o["id"]: o["role"] for o in r.json()["operators"]}
    check(ops == {"ann": "supervisor", "bob": "staff"}, "operators: %r" % ops)


def t_outing():
    r = expect(cli(MAIN, "--operator", "ann", "--json", "outing", "new", "--kind", "home_visit",
                   "--title", "Home visits, Beitun", "--date", "2026-11-20", "--place", "Beitun"), 0, "outing new")
    check(r.json()["outing"]["id"] == "O1", "first outing is O1", r)
    r = expect(cli(MAIN, "--operator", "ann", "outing", "new", "--kind", "picnic", "--title", "x",
                   "--date", "2026-11-20"), 1, "outing of an unknown kind")
    check("picnic" in r.err, "names the bad kind", r)
    r = expect(cli(MAIN, "--operator", "ann", "outing", "new", "--kind", "home_visit", "--title", "x",
                   "--date", "2026-02-30"), 1, "outing on 30 February")
    r = expect(cli(MAIN, "--operator", "ann", "--json", "outing", "list"), 0, "outing list")
    outings = r.json()["outings"]
    check(len(outings) == 1 and outings[0]["title"] == "Home visits, Beitun" and outings[0]["date"] == "2026-11-20",
          "outing list: %r" % outings)


def t_case_new():
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "new", "--outing", "O1",
                   "--service", "id_card_replace", "--person-id", ID1.lower(), "--name", "王大明",
                   "--birth", "民國39年3月4日", "--field", "reason=damaged", "--photo", PHOTO), 0, "case new")
    c = r.json()["case"]
    check(c["id"] == 1 and c["status"] == "draft" and c["person_id"] == ID1 and c["name"] == "王大明"
          and c["birth_date"] == "1950-03-04", "new case: %r" % c)
    check(len(c["attachments"]) == 1 and c["attachments"][0]["size"] == len(PHOTO_BYTES)
          and c["attachments"][0]["mime"] == "image/jpeg", "photo attached: %r" % c["attachments"])
    state["case1"] = c["id"]
    state["case2"] = new_cert_case(MAIN, ID2, "李小華")
    state["case3"] = new_cert_case(MAIN, ID1, "王大明")


def t_case_new_refused():
    bad = ID1[:-1] + str((int(ID1[-1]) + 1) % 10)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "new", "--outing", "O1", "--service",
                   "id_card_replace", "--person-id", bad, "--name", "X", "--field", "reason=lost"), 1, "bad ID")
    check("check digit" in r.err or "checksum" in r.err, "says the check digit is wrong", r)
    check(bad not in r.err, "does not repeat the number", r)
    check(r.json()["error"]["code"] == "invalid", "JSON error code", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "new", "--outing", "O1", "--service", "passport",
                   "--person-id", ID1, "--name", "X"), 1, "unknown service")
    check("passport" in r.err, "names the service", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "new", "--outing", "O1", "--service", "id_card_replace",
                   "--person-id", ID1, "--name", "X", "--field", "shoe_size=42"), 1, "unknown field")
    check("shoe_size" in r.err, "names the field", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "new", "--outing", "O1", "--service", "id_card_replace",
                   "--person-id", ID1, "--name", "X", "--birth", "2999-01-01"), 1, "birth in the future")
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "list"), 0, "list")
    check(len(r.json()["cases"]) == 3, "refused cases were not stored", r)


def t_lifecycle():
    c1 = str(state["case1"])
    r = expect(cli(MAIN, "--operator", "ann", "case", "check", c1), 1, "check with nothing ticked")
    check("document not seen" in r.err and "Fee NT$200" in r.err, "lists the missing documents", r)
    expect(cli(MAIN, "--operator", "ann", "case", "tick", c1, "--all"), 0, "tick --all")
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "check", c1), 0, "check")
    check(r.json()["case"]["status"] == "checked", "status checked", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "approve", c1), 1, "approve by the self-checker")
    check("someone other than ann" in r.err, "says who may not", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "finalize", c1), 1, "finalize before the second check")
    check("second check" in r.err, "says a second check is needed", r)
    r = expect(cli(MAIN, "--operator", "bob", "--json", "case", "approve", c1, passphrase=PASS_BOB), 0, "approve by bob")
    check(r.json()["case"]["approved_by"] == "bob", "approved by bob", r)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "finalize", c1), 0, "finalize")
    receipt = r.json()["case"]["receipt_no"]
    check(RECEIPT_RE.match(receipt or "") is not None, "receipt number %r" % receipt, r)
    state["receipt"] = receipt
    r = expect(cli(MAIN, "--operator", "ann", "case", "tick", c1, "fee"), 1, "tick a sealed case")
    check("can no longer be changed" in r.err, "sealed is final", r)
    # The second case needs no second check.
    c2 = str(state["case2"])
    expect(cli(MAIN, "--operator", "ann", "case", "tick", c2, "id_card"), 0, "tick one item")
    expect(cli(MAIN, "--operator", "ann", "case", "check", c2), 0, "check")
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "finalize", c2), 0, "finalize")
    second = r.json()["case"]["receipt_no"]
    check(RECEIPT_RE.match(second) and second != receipt and int(second[-4:]) == int(receipt[-4:]) + 1,
          "consecutive receipt numbers %r %r" % (receipt, second))


def t_show_list_find():
    r = expect(cli(MAIN, "--operator", "ann", "case", "show", str(state["case1"])), 0, "show")
    for word in ("王大明", ID1, "sealed", state["receipt"], "民國39年3月4日", "Second check   bob"):
        check(word in r.out, "show has %r" % word, r)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "show", state["receipt"]), 0, "show by receipt")
    c = r.json()["case"]
    check(c["id"] == state["case1"] and c["fields"] == {"reason": "damaged"} and c["fee"] == 200
          and all(i["seen"] for i in c["checklist"]), "show JSON: %r" % c)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "list"), 0, "list")
    statuses = {c["id"]: c["status"] for c in r.json()["cases"]}
    check(statuses == {state["case1"]: "sealed", state["case2"]: "sealed", state["case3"]: "draft"},
          "list: %r" % statuses)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "list", "--status", "draft"), 0, "list drafts")
    check([c["id"] for c in r.json()["cases"]] == [state["case3"]], "filter by status", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "list", "--status", "lost"), 2, "bad --status")
    r = expect(cli(MAIN, "--operator", "ann", "--json", "find", ID1.lower()), 0, "find")
    check(sorted(c["id"] for c in r.json()["cases"]) == [state["case1"], state["case3"]], "find by ID", r)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "find", ID3), 0, "find nobody")
    check(r.json()["cases"] == [], "another ID finds nothing", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "show", "99"), 1, "show a case that is not there")


def t_check_id():
    r = expect(cli(None, "--json", "check-id", ID1, "ab12345678901234"), 0, "valid values")
    res = r.json()["results"]
    check(res[0]["valid"] and res[0]["kind"] == "national_id" and res[0]["normalized"] == ID1, "national ID", r)
    check(res[1]["valid"] and res[1]["kind"] == "cert_card" and res[1]["normalized"] == "AB12345678901234", "card", r)
    bad = ID1[:-1] + str((int(ID1[-1]) + 3) % 10)
    r = expect(cli(None, "--json", "check-id", ID2, bad), 1, "one invalid value")
    res = r.json()["results"]
    check(res[0]["valid"] and not res[1]["valid"] and res[1]["problem"] == "checksum", "reason: %r" % res)
    r = expect(cli(None, "check-id", bad), 1, "invalid, text")
    check("invalid" in r.out and "check digit" in r.out, "says why", r)
    expect(cli(None, "check-id"), 2, "check-id without a value")


def t_usage():
    expect(cli(None), 2, "no command")
    r = expect(cli(None, "frobnicate"), 2, "unknown command")
    check("frobnicate" in r.err, "names it", r)
    r = expect(cli(MAIN, "case", "list", "--colour", "red"), 2, "unknown option")
    check("unknown option --colour" in r.err, "names it", r)
    expect(cli(MAIN, "--operator", "ann", "case", "new", "--outing", "O1"), 2, "case new without its options")
    expect(cli(MAIN, "init", "--operator", "x"), 2, "init without --name")
    expect(cli(MAIN, "--operator", "ann", "case", "tick", "3"), 2, "tick without items")
    expect(cli(MAIN, "--operator", "ann", "case", "new", "--outing", "O1", "--service", "x", "--person-id",
               ID1, "--name", "X", "--field", "novalue"), 2, "--field without =")
    expect(cli(MAIN, "init", "--operator"), 2, "option without its value")


def t_passphrase_rules():
    secret = "argv secret that must not work"
    for form in (["--passphrase", secret], ["--passphrase=" + secret]):
        r = expect(cli(MAIN, "--operator", "ann", *form, "case", "list", passphrase=None), 2, "passphrase on argv")
        check("unknown option --passphrase" in r.err, "refused as an unknown option", r)
        check(secret not in r.err and secret not in r.out, "the secret is not echoed", r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "list", passphrase=None), 1, "no passphrase, no terminal")
    check("FIELDKIT_PASSPHRASE" in r.err and "--passphrase-file" in r.err, "says where a passphrase comes from", r)
    pfile = os.path.join(TMP, "pass.txt")
    with open(pfile, "w") as f:
        f.write(PASS_ANN + "\n")
    os.chmod(pfile, 0o600)
    r = expect(cli(MAIN, "--operator", "ann", "--passphrase-file", pfile, "--json", "case", "list",
                   passphrase=None), 0, "--passphrase-file")
    check(len(r.json()["cases"]) == 3, "list works", r)
    r = expect(cli(MAIN, "--operator", "ann", "--json", "case", "list", passphrase="not the passphrase"),
               1, "wrong passphrase")
    check("not correct" in r.err, "says so", r)
    check(r.json()["error"]["code"] == "wrong_passphrase", "JSON error code", r)
    r = expect(cli(MAIN, "case", "list"), 1, "several operators, no --operator")
    check("--operator" in r.err, "asks who", r)
    expect(cli(MAIN, "--operator", "ann", "case", "list"), 0, "the right one still works")


def t_zh_tw():
    env = {"LC_ALL": None, "LANG": "zh_TW.UTF-8"}
    r = expect(cli(MAIN, "--operator", "ann", "case", "show", str(state["case1"]), env=env), 0, "show in zh_TW")
    for word in ("案件", "業務", "已封存", "收件編號", "一次告知單"):
        check(word in r.out, "zh_TW output has %r" % word, r)
    r = expect(cli(MAIN, "--operator", "ann", "case", "approve", str(state["case3"]), env=env), 1, "refusal in zh_TW")
    check("錯誤" in r.err and "自我檢核" in r.err, "zh_TW error", r)
    r = expect(cli(None, "help", env=env), 0, "help in zh_TW")
    check("密碼" in r.out, "zh_TW help", r)


def t_audit_verify():
    r = expect(cli(MAIN, "--operator", "ann", "--json", "audit", "verify"), 0, "audit verify")
    doc = r.json()
    check(doc["intact"] and doc["first_bad"] is None and doc["entries"] > 10 and doc["damaged_records"] == [],
          "intact: %r" % doc)
    r = expect(cli(MAIN, "--operator", "ann", "audit", "verify"), 0, "audit verify, text")
    check("chain and signatures intact" in r.out, "says so", r)


# ---- tests: tampering ---------------------------------------------------------

TAMPER = os.path.join(TMP, "tamper")


def t_tamper_audit():
    new_device(TAMPER, extra_operator=False)
    expect(cli(TAMPER, "outing", "new", "--kind", "home_visit", "--title", "T", "--date", "2026-11-20"), 0, "outing")
    state["t"] = [new_cert_case(TAMPER, national_id("D", 1, i), "Tamper %d" % i) for i in (1, 2, 3)]
    expect(cli(TAMPER, "audit", "verify"), 0, "audit verify before")
    db = sqlite3.connect(os.path.join(TAMPER, "fieldkit.db"))
    (old,) = db.execute("SELECT detail FROM audit WHERE seq = 4").fetchone()
    db.execute("UPDATE audit SET detail = ? WHERE seq = 4", (old.replace("draft", "sealed"),))
    db.commit()
    db.close()
    r = expect(cli(TAMPER, "audit", "verify"), 1, "audit verify after editing entry 4")
    check("BROKEN at entry 4" in r.out, "names entry 4", r)
    r = expect(cli(TAMPER, "--json", "audit", "verify"), 1, "audit verify --json")
    doc = r.json()
    check(doc["first_bad"] == 4 and doc["intact"] is False and doc["ok"] is False, "JSON names entry 4: %r" % doc)
    db = sqlite3.connect(os.path.join(TAMPER, "fieldkit.db"))
    db.execute("UPDATE audit SET detail = ? WHERE seq = 4", (old,))
    db.commit()
    db.close()
    expect(cli(TAMPER, "audit", "verify"), 0, "audit verify with the entry put back")


def t_tamper_record():
    victim = state["t"][1]
    db = sqlite3.connect(os.path.join(TAMPER, "fieldkit.db"))
    (blob,) = db.execute("SELECT person FROM cases WHERE id = ?", (victim,)).fetchone()
    blob = bytearray(blob)
    blob[len(blob) // 2] ^= 0x01
    db.execute("UPDATE cases SET person = ? WHERE id = ?", (bytes(blob), victim))
    db.commit()
    db.close()
    r = expect(cli(TAMPER, "case", "show", str(victim)), 1, "show the damaged case")
    check("damaged" in r.out + r.err, "says damaged", r)
    r = expect(cli(TAMPER, "--json", "case", "show", str(victim)), 1, "show --json")
    check(r.json()["case"]["damaged"] and r.json()["case"]["name"] is None, "JSON marks it", r)
    for other in (state["t"][0], state["t"][2]):
        r = expect(cli(TAMPER, "case", "show", str(other)), 0, "the other cases still open")
        check("Tamper" in r.out, "name shown", r)
    r = expect(cli(TAMPER, "--json", "case", "list"), 0, "list still works")
    check([bool(c["damaged"]) for c in r.json()["cases"]] == [False, True, False], "only one damaged", r)
    r = expect(cli(TAMPER, "--json", "audit", "verify"), 1, "audit verify names the record")
    where = [d["where"] for d in r.json()["damaged_records"]]
    check(where == ["case %d" % victim], "damaged records: %r" % where, r)


# ---- tests: two processes ---------------------------------------------------------

def t_two_processes():
    path = os.path.join(TMP, "two")
    new_device(path, extra_operator=False)
    expect(cli(path, "outing", "new", "--kind", "school_drive", "--title", "Class 801", "--date", "2026-11-20"),
           0, "outing")
    failures = []
    created = []
    lock = threading.Lock()

    def worker(k):
        for i in range(20):
            r = cli(path, "--json", "case", "new", "--outing", "O1", "--service", "certificate_apply",
                    "--person-id", national_id("E", k, i), "--name", "Student %d-%d" % (k, i),
                    "--birth", "2011-01-0%d" % (1 + i % 9), "--field", "card_number=AB12345678901234",
                    env={"FIELDKIT_BUSY_TIMEOUT_MS": "60000"})
            with lock:
                if r.rc != 0:
                    failures.append(r)
                else:
                    created.append(r.json()["case"]["id"])

    threads = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not failures, "every case new succeeded", failures[0] if failures else None)
    check(len(created) == 40 and len(set(created)) == 40, "40 distinct cases: %r" % sorted(created))
    r = expect(cli(path, "--json", "case", "list"), 0, "list")
    listed = sorted(c["id"] for c in r.json()["cases"])
    check(listed == sorted(created), "all 40 listed")
    db = sqlite3.connect(os.path.join(path, "fieldkit.db"))
    (ok,) = db.execute("PRAGMA integrity_check").fetchone()
    db.close()
    check(ok == "ok", "integrity: %r" % ok)
    expect(cli(path, "audit", "verify"), 0, "audit verify")


# ---- tests: a full and a read-only disk, in a mount namespace ------------------------

def integrity(db_path):
    if shutil.which("sqlite3"):
        p = subprocess.run(["sqlite3", db_path, "PRAGMA integrity_check"], capture_output=True, text=True)
        return p.stdout.strip() + p.stderr.strip()
    db = sqlite3.connect(db_path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def in_namespace(mount_dir, photo):
    """Runs inside `unshare -m` with a 2 MiB tmpfs on mount_dir; prints one
    JSON report for the parent."""
    rep = {"created": []}
    store = os.path.join(mount_dir, "store")
    new_device(store, extra_operator=False)
    expect(cli(store, "outing", "new", "--kind", "home_visit", "--title", "Full", "--date", "2026-11-20"),
           0, "outing")
    for i in range(60):
        r = cli(store, "--json", "case", "new", "--outing", "O1", "--service", "certificate_apply",
                "--person-id", national_id("F", 1, i), "--name", "Full Disk %d" % i, "--birth", "1971-07-01",
                "--field", "card_number=AB12345678901234", "--photo", photo)
        if r.rc == 0:
            rep["created"].append(r.json()["case"]["id"])
            continue
        rep["fail"] = {"rc": r.rc, "err": r.err, "out": r.out}
        break
    r = cli(store, "--json", "case", "list")
    rep["list"] = {"rc": r.rc, "err": r.err, "ids": [c["id"] for c in r.json()["cases"]] if r.rc == 0 else None,
                   "damaged": [c["id"] for c in r.json()["cases"] if c["damaged"]] if r.rc == 0 else None}
    rep["integrity_full"] = integrity(os.path.join(store, "fieldkit.db"))
    r = cli(store, "audit", "verify")
    rep["audit_full"] = {"rc": r.rc, "out": r.out, "err": r.err}

    # Read-only: free a little room first, so only the read-only mount can
    # be the reason for the refusal.
    subprocess.run(["mount", "-o", "remount,size=8m", mount_dir], check=True)
    subprocess.run(["mount", "-o", "remount,ro", mount_dir], check=True)
    r = cli(store, "--json", "case", "new", "--outing", "O1", "--service", "certificate_apply",
            "--person-id", national_id("G", 1, 1), "--name", "Read Only", "--birth", "1971-07-01",
            "--field", "card_number=AB12345678901234")
    rep["ro_new"] = {"rc": r.rc, "err": r.err, "out": r.out}
    subprocess.run(["mount", "-o", "remount,rw", mount_dir], check=True)
    r = cli(store, "--json", "case", "list")
    rep["list_after_ro"] = {"rc": r.rc, "err": r.err,
                            "ids": [c["id"] for c in r.json()["cases"]] if r.rc == 0 else None}
    rep["integrity_after_ro"] = integrity(os.path.join(store, "fieldkit.db"))
    print(json.dumps(rep))


def namespace_report():
    """Runs the namespace part once; the three tests that read its report
    all fail the same way when it could not run."""
    if "ns" not in state:
        try:
            state["ns"] = run_namespace()
        except AssertionError as e:
            state["ns"] = e
    if isinstance(state["ns"], AssertionError):
        raise state["ns"]
    return state["ns"]


def run_namespace():
    if shutil.which("unshare") is None:
        raise AssertionError("unshare is not installed (util-linux): the fault tests cannot run")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise AssertionError("`unshare -m true` failed (%s): the fault tests need root and a mount namespace"
                             % probe.stderr.strip())
    mount_dir = os.path.join(TMP, "tmpfs")
    os.mkdir(mount_dir)
    photo = os.path.join(TMP, "big-photo.jpg")
    with open(photo, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(300 * 1024))
    script = 'mount -t tmpfs -o size=2m,mode=0700 fieldkit-test "$1" && exec /usr/bin/python3 "$2" --in-namespace "$1" "$3"'
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                        mount_dir, os.path.abspath(__file__), photo],
                       capture_output=True, text=True, timeout=600, env=base_env())
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("the namespace run failed (exit %d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))


def t_disk_full():
    rep = namespace_report()
    check(len(rep["created"]) >= 1, "some cases fitted: %r" % rep)
    check("fail" in rep, "the 2 MiB disk filled up: %r" % rep)
    fail = rep["fail"]
    check(fail["rc"] == 1, "a full disk is exit 1, not %d: %s" % (fail["rc"], fail["err"]))
    check(re.search(r"disk\b.*\bfull", fail["err"]) is not None, "the message says the disk is full: %r" % fail["err"])
    check(json.loads(fail["out"])["error"]["code"] == "disk_full", "JSON code disk_full: %r" % fail["out"])
    diag("%d cases with a 300 KiB photo fitted on the 2 MiB disk" % len(rep["created"]))


def t_disk_full_data_intact():
    rep = namespace_report()
    check(rep["list"]["rc"] == 0, "case list works on the full disk: %r" % rep["list"])
    check(sorted(rep["list"]["ids"]) == sorted(rep["created"]),
          "exactly the cases reported created are listed: %r vs %r" % (rep["list"]["ids"], rep["created"]))
    check(rep["list"]["damaged"] == [], "none damaged: %r" % rep["list"])
    check(rep["integrity_full"] == "ok", "integrity_check: %r" % rep["integrity_full"])
    check(rep["audit_full"]["rc"] == 0, "audit verify on the full disk: %r" % rep["audit_full"])


def t_read_only():
    rep = namespace_report()
    ro = rep["ro_new"]
    check(ro["rc"] == 1, "case new on a read-only disk is exit 1: %r" % ro)
    check("read-only" in ro["err"], "the message says read-only: %r" % ro["err"])
    check(json.loads(ro["out"])["error"]["code"] == "read_only", "JSON code read_only: %r" % ro["out"])
    after = rep["list_after_ro"]
    check(after["rc"] == 0 and sorted(after["ids"]) == sorted(rep["created"]), "data intact after: %r" % after)
    check(rep["integrity_after_ro"] == "ok", "integrity: %r" % rep["integrity_after_ro"])


# ---- TAP --------------------------------------------------------------------------------

TESTS = [
    ("help", t_help),
    ("init and recovery key", t_init),
    ("operator add and list", t_operator_list),
    ("outing new and list", t_outing),
    ("case new with --photo", t_case_new),
    ("case new refuses bad input with exit 1", t_case_new_refused),
    ("tick, check, approve by a second operator, finalize", t_lifecycle),
    ("show, list --json, find", t_show_list_find),
    ("check-id valid and invalid", t_check_id),
    ("usage errors exit 2", t_usage),
    ("passphrase only from the environment or a file", t_passphrase_rules),
    ("zh_TW output", t_zh_tw),
    ("audit verify", t_audit_verify),
    ("edited audit entry is named", t_tamper_audit),
    ("flipped byte in a case: that case damaged, others fine", t_tamper_record),
    ("two processes at once", t_two_processes),
    ("full disk: exit 1, disk is full", t_disk_full),
    ("full disk: every created case intact", t_disk_full_data_intact),
    ("read-only disk: exit 1, read-only, data intact", t_read_only),
]


def diag(text):
    for line in str(text).splitlines():
        print("# " + line)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--in-namespace":
        try:
            in_namespace(sys.argv[2], sys.argv[3])
        finally:
            shutil.rmtree(TMP, ignore_errors=True)
        return 0
    print("1..%d" % len(TESTS))
    sys.stdout.flush()
    failed = 0
    try:
        for n, (name, func) in enumerate(TESTS, 1):
            try:
                func()
                print("ok %d - %s" % (n, name))
            except Exception:
                failed += 1
                print("not ok %d - %s" % (n, name))
                diag(traceback.format_exc())
            sys.stdout.flush()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
