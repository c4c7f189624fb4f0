#!/usr/bin/python3
"""An independent implementation of docs/PROTOCOL.md, in Python with PyNaCl
(libsodium bindings), run against the real office server and the real
device.  It checks the document, not the C code: every byte it sends or
checks is built from the document's rules alone.  Prints TAP."""

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import nacl.bindings as nb
import nacl.public
import nacl.signing

CLI = os.environ["FIELDKIT_CLI"]
OFFICE = os.environ["FIELDKIT_OFFICE"]
results = []


def ok(cond, name, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}", flush=True)
    if not cond and detail:
        for line in str(detail).splitlines()[:30]:
            print(f"#   {line}", flush=True)
    return cond


def H(data, key=None):
    return hashlib.blake2b(data, digest_size=32, key=key or b"").digest()


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True)


def env():
    e = dict(os.environ)
    e.update({"FIELDKIT_KDF": "test", "LC_ALL": "C.UTF-8",
              "FIELDKIT_ADMIN_PASSPHRASE": "office admin passphrase",
              "FIELDKIT_PASSPHRASE": "clerk passphrase one",
              "FIELDKIT_NEW_PASSPHRASE": "second checker pass"})
    return e


def office(d, *args):
    p = subprocess.run([OFFICE, "--data-dir", d, "--json"] + list(args), env=env(), capture_output=True, text=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def cli(d, *args, op="ann"):
    e = env()
    if op == "bob":
        e["FIELDKIT_PASSPHRASE"] = "second checker pass"
    p = subprocess.run([CLI, "--data-dir", d, "--operator", op, "--json"] + list(args), env=e, capture_output=True, text=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def open_envelope(raw, osp):
    """§2: verify sig over "fk-office-v1\\0" || body before parsing body."""
    env_ = json.loads(raw)
    body = env_["body"].encode()
    nacl.signing.VerifyKey(osp).verify(b"fk-office-v1\0" + body, unb64(env_["sig"]))
    return json.loads(body)


class PyDevice:
    """A device written from the document: §1 ids, §3.3 signed requests."""

    def __init__(self):
        self.sk = nacl.signing.SigningKey.generate()
        self.pk = bytes(self.sk.verify_key)
        self.device_id = H(self.pk)[:16].hex()

    def signed(self, method, base, path, body=b"", content_hash=False, signed_body=None):
        t = str(int(time.time()))
        nonce = os.urandom(16).hex()
        bh = H(body if signed_body is None else signed_body).hex()
        m = "\n".join(["fk-req-v1", method, path, t, nonce, bh]).encode()
        sig = self.sk.sign(m).signature
        headers = {"FK-Device": self.device_id, "FK-Time": t, "FK-Nonce": nonce, "FK-Signature": b64(sig)}
        if content_hash:
            headers["FK-Content-Hash"] = bh
        return http(method, base + path, body if method in ("PUT", "POST") else None, headers), headers


def stream_encrypt(key, plain):
    """§4.5: "FKS1" || header || (u32 len || chunk)…, TAG_FINAL on the last."""
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    header = nb.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    out = bytearray(b"FKS1" + header)
    chunks = [plain[i:i + 65536] for i in range(0, len(plain), 65536)] or [b""]
    for i, c in enumerate(chunks):
        tag = (nb.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == len(chunks) - 1
               else nb.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        ct = nb.crypto_secretstream_xchacha20poly1305_push(state, c, None, tag)
        out += struct.pack(">I", len(ct)) + ct
    return bytes(out)


def audit_hash(prev, seq, at, op, action, subject, detail):
    """§3.6 entry hash."""
    return H(b"fk-audit-v1" + prev + struct.pack(">Q", seq) + struct.pack(">Q", at) +
             op.encode() + b"\0" + action.encode() + b"\0" + subject.encode() + b"\0" + detail.encode() + b"\0")


def audit_chain_problem(entries, dsp, prev=bytes(32), first_seq=1):
    """§3.6 verification: seq without gaps, prev links, each hash, each
    signature present verifies with DSP, an entry with sig "" only when a
    later signed entry follows.  Returns None or (seq, why)."""
    unsigned_from = None
    for i, e in enumerate(entries):
        if e["seq"] != first_seq + i:
            return e["seq"], "seq"
        if bytes.fromhex(e["prev"]) != prev:
            return e["seq"], "link"
        hh = audit_hash(prev, e["seq"], e["at"], e["operator"], e["action"], e["subject"], e["detail"])
        if hh.hex() != e["hash"]:
            return e["seq"], "hash"
        if e["sig"] == "":
            unsigned_from = unsigned_from or e["seq"]
        else:
            try:
                nacl.signing.VerifyKey(dsp).verify(hh, bytes.fromhex(e["sig"]))
            except Exception:
                return e["seq"], "signature"
            unsigned_from = None
        prev = hh
    if unsigned_from is not None:
        return unsigned_from, "unsigned tail"
    return None


def parse_packet(data):
    """§4.1 layout."""
    assert data[:4] == b"FKP1"
    (L,) = struct.unpack(">I", data[4:8])
    manifest = data[8:8 + L]
    sig = data[8 + L:72 + L]
    payload = data[72 + L:]
    return manifest, sig, payload


def main():
    root = tempfile.mkdtemp(prefix="fk-protocol-")
    odir = os.path.join(root, "office")
    proc = None
    try:
        rc, doc, err = office(odir, "init", "--admin", "Director Wu", "--office-code", "TCN")
        printed_fp, printed_kid = doc.get("fingerprint"), doc.get("key_id")
        port_file = os.path.join(root, "port")
        proc = subprocess.Popen([OFFICE, "--data-dir", odir, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                                 "--quiet"], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        base = f"http://127.0.0.1:{open(port_file).read().strip()}"

        # §3.1 and §1: keys, key id and fingerprint recomputed independently.
        st, raw = http("GET", base + "/v1/office")
        info = json.loads(raw)
        osp, obp = unb64(info["sign_pk"]), unb64(info["box_pk"])
        h = H(osp + obp)
        fp = "-".join(h[:16].hex().upper()[i:i + 4] for i in range(0, 32, 4))
        ok(st == 200 and h[:8].hex() == info["key_id"] == printed_kid, "§1 office key id = hex(H(OSP||OBP)[0..8])", (info, printed_kid))
        ok(fp == info["fingerprint"] == printed_fp, "§1 fingerprint = H(OSP||OBP)[0..16] in groups of four", (fp, printed_fp))

        # §3.2 enrolment from the document.
        rc, inv, err = office(odir, "device", "invite", "--name", "python device")
        code = inv["code"].replace("-", "").upper()
        dev = PyDevice()
        invite_id = H(b"fk-invite-id" + code.encode())[:8].hex()
        proof = H(dev.pk, key=H(b"fk-invite-key" + code.encode()))
        body = json.dumps({"v": 1, "invite_id": invite_id, "device_name": "py", "sign_pk": b64(dev.pk), "proof": b64(proof)}).encode()
        st, raw = http("POST", base + "/v1/enroll", body, {"Content-Type": "application/json"})
        enrolled = open_envelope(raw, osp) if st == 200 else {}
        ok(st == 200 and enrolled.get("type") == "enrolled" and enrolled.get("device_id") == dev.device_id,
           "§3.2 enrolment with invite id and proof; §2 envelope verifies", (st, raw[:300]))

        # §4: a packet built from the document, uploaded in two parts (§3.4).
        packet_id = "5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
        photo = os.urandom(150000)
        case = {"case": {"uuid": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "version": 1, "service": "id_card_replace",
                         "receipt_no": "TCN-07-1151126-0001", "supersedes": None,
                         "outing": {"id": "O1", "kind": "home_visit", "date": "2026-11-26", "title": "t", "place": None},
                         "person": {"person_id": "A123456789", "name": "獨立實作測試", "birth_date": "1950-03-04"},
                         "fields": {"reason": "damaged"}, "ticked": ["household_register"],
                         "created_by": "py", "checked_by": "py", "approved_by": "py2", "sealed_by": "py",
                         "created_at": 0, "sealed_at": 0},
                "attachments": [{"kind": "photo", "mime": "image/jpeg", "size": len(photo), "hash": H(photo).hex()}]}
        cj = json.dumps(case, ensure_ascii=False).encode()
        plain = struct.pack(">I", len(cj)) + cj + photo
        K = os.urandom(32)
        payload = stream_encrypt(K, plain)
        manifest = json.dumps({"v": 1, "type": "case", "packet_id": packet_id, "device_id": dev.device_id, "device_seq": 1,
                               "case_uuid": case["case"]["uuid"], "case_version": 1, "supersedes": None,
                               "receipt_no": "TCN-07-1151126-0001", "service": "id_card_replace", "outing_kind": "home_visit",
                               "sealed_at": "2026-11-26T03:00:00Z", "office_key_id": info["key_id"],
                               "sealed_key": b64(nb.crypto_box_seal(K, obp)), "payload_size": len(payload),
                               "payload_hash": H(payload).hex()}).encode()
        sig = dev.sk.sign(b"fk-manifest-v1\0" + manifest).signature
        packet = b"FKP1" + struct.pack(">I", len(manifest)) + manifest + sig + payload
        half = len(packet) // 2
        (st1, raw1), _ = dev.signed("PUT", base, f"/v1/packets/{packet_id}?offset=0&total={len(packet)}", packet[:half])
        (stg, rawg), _ = dev.signed("GET", base, f"/v1/packets/{packet_id}")
        ok(st1 == 202 and json.loads(raw1).get("offset") == half and json.loads(rawg).get("offset") == half,
           "§3.4 first part: 202 and the offset the office holds", (st1, raw1, rawg))
        damaged = bytearray(packet[half:])
        damaged[7] ^= 1
        (stm, rawm), _ = dev.signed("PUT", base, f"/v1/packets/{packet_id}?offset={half}&total={len(packet)}",
                                    bytes(damaged), content_hash=True, signed_body=packet[half:])
        ok(stm == 400 and json.loads(rawm)["error"]["code"] == "body_mismatch",
           "§3.3 FK-Content-Hash: bytes other than the signed ones are refused (body_mismatch)", (stm, rawm[:200]))
        (st2, raw2), _ = dev.signed("PUT", base, f"/v1/packets/{packet_id}?offset={half}&total={len(packet)}", packet[half:],
                                    content_hash=True)
        ack = open_envelope(raw2, osp) if st2 == 200 else {}
        ok(st2 == 200 and ack.get("type") == "ack" and ack.get("packet_hash") == H(packet).hex(),
           "§3.4 last part: a signed ack naming H(packet file)", (st2, raw2[:300]))
        (st3, raw3), _ = dev.signed("PUT", base, f"/v1/packets/{packet_id}?offset=0&total={len(packet)}", packet)
        ok(st3 == 200 and raw3 == raw2, "§3.4 a repeat gets the identical ack", (st3, raw3[:200]))
        tampered = bytearray(packet)
        tampered[-5] ^= 1
        (st4, raw4), _ = dev.signed("PUT", base, f"/v1/packets/{packet_id}?offset=0&total={len(packet)}", bytes(tampered))
        ok(st4 == 409, "§3.4 the same id with other bytes is a conflict", (st4, raw4[:200]))
        (st5, raw5), hdr = dev.signed("GET", base, "/v1/changes?since=0")
        replay = http("GET", base + "/v1/changes?since=0", None, hdr)
        ok(st5 == 200 and replay[0] == 401 and b"replay" in replay[1], "§3.3 a replayed signed request is refused", replay)

        rc, shown, err = office(odir, "case", "show", packet_id)
        ok(rc == 0 and "獨立實作測試" in json.dumps(shown, ensure_ascii=False),
           "§4.4 the office opens a packet built from the document", (rc, err))

        # §3.5 change feed.
        office(odir, "review", packet_id, "--return", "請補正照片")
        (st, raw), _ = dev.signed("GET", base, "/v1/changes?since=0")
        ch = open_envelope(raw, osp) if st == 200 else {}
        rv = [c for c in ch.get("changes", []) if c.get("kind") == "review"]
        ok(rv and rv[0]["decision"] == "returned" and rv[0]["reason"] == "請補正照片", "§3.5 a signed review result", ch)

        # §3.6 audit entries built from the document: two transactions, the
        # first of three entries (only its last signed), the second of one.
        prev = bytes(32)
        entries = []
        for seq in (1, 2, 3, 4):
            at, op, action, subject, detail = 1764000000000000 + seq, "py", "case.new", f"s{seq}", "{}"
            hh = audit_hash(prev, seq, at, op, action, subject, detail)
            signed = seq in (3, 4)
            entries.append({"seq": seq, "at": at, "operator": op, "action": action, "subject": subject, "detail": detail,
                            "prev": prev.hex(), "hash": hh.hex(), "sig": dev.sk.sign(hh).signature.hex() if signed else ""})
            prev = hh
        ok(audit_chain_problem(entries, dev.pk) is None, "§3.6 the document's own verifier accepts what it built")
        # The same entries with the last signature removed: refused, naming
        # the first entry no signature covers, and nothing stored.
        tail = [dict(e) for e in entries]
        tail[3]["sig"] = ""
        body = json.dumps({"v": 1, "entries": tail}).encode()
        (st, raw), _ = dev.signed("PUT", base, "/v1/audit", body)
        ok(st == 400 and b"bad_audit" in raw and b"4" in raw and audit_chain_problem(tail, dev.pk) == (4, "unsigned tail"),
           "§3.6 a log ending with an unsigned entry is refused", (st, raw[:300]))
        body = json.dumps({"v": 1, "entries": entries}).encode()
        (st, raw), _ = dev.signed("PUT", base, "/v1/audit", body)
        aack = open_envelope(raw, osp) if st == 200 else {}
        ok(st == 200 and aack.get("through") == 4, "§3.6 audit entries, unsigned ones covered by a later signature, accepted",
           (st, raw[:300]))

        # The real device's packet, verified from the document (§5 bundle, §4.1–4.3).
        ddir = os.path.join(root, "device")
        cli(ddir, "init", "--operator", "ann", "--name", "Clerk")
        cli(ddir, "operator", "add", "--id", "bob", "--name", "Checker")
        rc, inv, err = office(odir, "device", "invite", "--name", "real device")
        rc, doc, err = cli(ddir, "enroll", base, "--code", inv["code"], "--fingerprint", printed_fp)
        cli(ddir, "outing", "new", "--kind", "home_visit", "--title", "t", "--date", "2026-11-26")
        photo_path = os.path.join(root, "p.jpg")
        open(photo_path, "wb").write(b"\xff\xd8" + os.urandom(70000))
        rc, doc, err = cli(ddir, "case", "new", "--outing", "O1", "--service", "certificate_apply", "--person-id", "B220000019",
                           "--name", "李小華", "--birth", "1990-01-01", "--field", "card_number=AB12345678901234", "--photo", photo_path)
        cid = str(doc["case"]["id"])
        cli(ddir, "case", "tick", cid, "--all")
        cli(ddir, "case", "check", cid)
        cli(ddir, "case", "finalize", cid)
        bundle = os.path.join(root, "b.fkb")
        cli(ddir, "bundle", "export", bundle)
        data = open(bundle, "rb").read()
        ok(data[:4] == b"FKB1", "§5 bundle magic")
        (n,) = struct.unpack(">I", data[4:8])
        (plen,) = struct.unpack(">Q", data[8:16])
        pkt = data[16:16 + plen]
        (alen,) = struct.unpack(">Q", data[16 + plen:24 + plen])
        audit = json.loads(data[24 + plen:24 + plen + alen])
        ok(n == 1 and len(data) == 24 + plen + alen and audit.get("entries"), "§5 bundle layout: one packet then the audit body")
        manifest, sig, payload = parse_packet(pkt)
        m = json.loads(manifest)
        db = sqlite3.connect(os.path.join(odir, "office.db"))
        row = db.execute("SELECT sign_pk FROM devices WHERE device_id = ?", (m["device_id"],)).fetchone()
        dsp = bytes(row[0]) if row else b""
        try:
            nacl.signing.VerifyKey(dsp).verify(b"fk-manifest-v1\0" + manifest, sig)
            sig_ok = True
        except Exception:
            sig_ok = False
        ok(sig_ok and H(dsp)[:16].hex() == m["device_id"], "§4.3 the device's manifest signature verifies with DSP")
        ok(m["payload_size"] == len(payload) and m["payload_hash"] == H(payload).hex() and m["office_key_id"] == info["key_id"],
           "§4.3 payload size and hash match the manifest")
        ok("李小華" not in manifest.decode() and "B220000019" not in manifest.decode(), "§4.2 the manifest holds no personal data")
        problem = audit_chain_problem(audit["entries"], dsp)
        ok(problem is None, "§3.6 the device's audit chain verifies from the document", problem)
        # The case with a photo was one transaction of two entries (case.new,
        # attachment.add): the device left the first unsigned.
        unsigned = [e["action"] for e in audit["entries"] if e["sig"] == ""]
        ok("case.new" in unsigned and audit["entries"][-1]["sig"] != "" and
           all(len(e["sig"]) in (0, 128) for e in audit["entries"]),
           "§3.6 the device signs only the last entry of a transaction", unsigned)
        broken = [dict(e) for e in audit["entries"]]
        i = next(k for k, e in enumerate(broken) if e["sig"] == "")
        broken[i]["detail"] = broken[i]["detail"].replace("1", "2", 1) if "1" in broken[i]["detail"] else broken[i]["detail"] + " "
        p = bytes.fromhex(broken[i]["prev"])
        for e in broken[i:i + 2]:   # rewrite the unsigned entry and relink the next, as a forger would
            e["prev"] = p.hex()
            p = audit_hash(p, e["seq"], e["at"], e["operator"], e["action"], e["subject"], e["detail"])
            e["hash"] = p.hex()
        ok(audit_chain_problem(broken, dsp) == (broken[i + 1]["seq"], "signature"),
           "§3.6 a rewritten unsigned entry is caught by the signature after it", audit_chain_problem(broken, dsp))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
