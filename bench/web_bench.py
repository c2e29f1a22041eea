#!/usr/bin/env python3
"""web_bench: bastion-web under a big database (issue 18, point 6). Run by `scripts/bench --only web`.

1. A bastion database (`bastionctl init`, servers, a client reviewer and an officer through
   bastionctl), then N sessions (default 100 000) written straight into SQLite with their
   session.start/session.end events: 20 servers of 10 clients, 200 operators, a year of starts,
   durations from seconds to hours, a few live and aborted. The events are hash-chained as the
   bastion chains them (audit/event_chain.h, reproduced here), so the session page's check of the
   evidence has real work to do and must say "verified".
2. A real bastion-web over HTTPS on a free port of 127.0.0.1. Its portal sessions are rows written
   like the sign-in writes them (token hashed), so no argon2 or TOTP is timed.
3. Sessions list: pages requested one after the other over keep-alive HTTPS (the client reconnects
   when bastion-web closes a connection, as a browser does), by the officer (every client) and by
   the reviewer (one client, scoped by the chain): the first page in each sort and direction, deep
   pages, the last page, filters. Each timing is request sent to body read. Target: p99 < 50 ms.
   bastion-web's CPU time over the run (/proc) divided by the pages: the cost of a page apart from
   the waits for a core that a shared machine adds to the wall-clock figures.
4. A terminal recording (asciicast) of R MiB (default 200) served three ways, one after the other,
   while bastion-web's RSS is sampled every 10 ms from /proc: the download, the player's fetch of
   the cast, and the player page (which reads the whole file for the typed lines). Then the same
   three of the same recording sealed (encrypted) under a client's data key as the bastion seals
   it, one chunk per asciicast event (sealed here through libsodium by ctypes; bastion-web decrypts
   it chunk by chunk as it serves it). Target: < 64 MiB.
5. The session page (its evidence checked against the chain: audit::verify_session) of the
   reviewer's newest session and of the session holding the recording (whose 200 MiB it digests),
   and the access report (a month as a page, the year as CSV), timed, RSS sampled throughout.

Prints a Markdown table and writes JSON (--json FILE).
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLIENTS = [f"client{i}" for i in range(10)]
SERVERS = [(f"srv{i:02d}", CLIENTS[i % len(CLIENTS)]) for i in range(20)]
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINVIiUmQJB9bGpPU5seLt/ayPjeIU7PtuufwABpim9es"
T0 = 1_764_547_200  # 2025-12-01 00:00 UTC: a year of sessions ends about now


def log(msg):
    print(f"web_bench: {msg}", file=sys.stderr, flush=True)


def ctl(args, db):
    subprocess.run([ARGS.bastionctl, "--db", db] + args, check=True, stdout=subprocess.DEVNULL)


def canonical(details):
    return json.dumps(details, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def chain(con, events):
    """Appends events (at, kind, actor, source, server, session_id, details dict) to the hash chain
    of audit/event_chain.h, after the events already in the database."""
    last = con.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    next_id, prev = (last[0] + 1, last[1]) if last else (1, "")
    rows = []
    for at, kind, actor, source, server, session_id, details in events:
        arr = ["bastion.event.v1", prev, next_id, at, kind, actor, source, server, session_id, details]
        h = hashlib.sha256(canonical(arr).encode()).hexdigest()
        rows.append((next_id, at, kind, actor, source, server, session_id, canonical(details), prev, h))
        prev, next_id = h, next_id + 1
    con.executemany("INSERT INTO events (id, at, kind, actor, source, server, session_id, details, prev_hash, hash) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def fill(db, n, rng):
    """Writes n sessions and their start/end events; returns the id of one closed session of client0."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    operators = [f"op{i:03d}" for i in range(200)]
    sessions, events = [], []
    for i in range(1, n + 1):
        server, client = SERVERS[rng.randrange(len(SERVERS))]
        op = operators[rng.randrange(len(operators))]
        start = T0 + int(i * (365 * 86400 / n)) + rng.randrange(60)
        r = rng.random()
        status = "live" if r < 0.001 else "aborted" if r < 0.02 else "closed"
        end = None if status == "live" else start + int(rng.expovariate(1 / 1200)) + 1
        sessions.append((i, op, server, "root", client, f"198.51.100.{i % 250}:{40000 + i % 20000}", start, end,
                         0 if status == "closed" else None, status))
        events.append((start, "session.start", op, sessions[-1][5], server, i,
                       {"login": "root", "grant": None, "client": client, "started_at": start}))
        if end is not None:
            events.append((end, "session.end", op, sessions[-1][5], server, i,
                           {"status": status, "reason": "", "ended_at": end}))
    con.executemany("INSERT INTO sessions (id, \"operator\", server, login, client, source, started_at, ended_at, "
                    "exit_status, status) VALUES (?,?,?,?,?,?,?,?,?,?)", sessions)
    chain(con, events)
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    for s in sessions:
        if s[4] == "client0" and s[9] == "closed":
            return s[0]
    raise RuntimeError("no closed session of client0")


def write_cast(path, size, rng):
    """An asciicast v2 file of about `size` bytes: terminal output in 4 KiB events, a typed line now and then."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
    lines = ["".join(rng.choice(alphabet) for _ in range(4000)) for _ in range(16)]
    with open(path, "w") as f:
        f.write(json.dumps({"version": 2, "width": 120, "height": 40, "timestamp": T0}) + "\n")
        t, written, i = 0.0, 0, 0
        while written < size:
            t += 0.01
            if i % 200 == 0:
                f.write(json.dumps([round(t, 3), "i", f"echo step {i}\r"]) + "\n")
            line = json.dumps([round(t, 3), "o", lines[i % len(lines)]]) + "\n"
            f.write(line)
            written += len(line)
            i += 1
        f.truncate()


def add_recording(db, session_id, path):
    """The recording's row, and the chained session.end stating its digest (as the gateway's closing writes)."""
    con = sqlite3.connect(db)
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    sha = digest.hexdigest()
    start, end, op, source, server = con.execute(
        "SELECT started_at, ended_at, \"operator\", source, server FROM sessions WHERE id = ?", (session_id,)).fetchone()
    cur = con.execute("INSERT INTO recordings (session_id, channel, kind, path, sha256, bytes_in, bytes_out, "
                      "started_at, ended_at) VALUES (?, 0, 'asciicast', ?, ?, 0, ?, ?, ?)",
                      (session_id, path, sha, size, start, end))
    chain(con, [(end, "session.end", op, source, server, session_id,
                 {"recording": {"path": path, "sha256": sha, "kind": "asciicast"}})])
    con.commit()
    rid = cur.lastrowid
    con.close()
    return rid


class Sodium:
    """The few libsodium calls that seal a recording as the bastion does (audit/sealed_stream.h,
    audit/data_keys.h), through ctypes: the bench's input, checked by bastion-web's own reader."""

    def __init__(self):
        import ctypes
        self.c = ctypes
        self.lib = ctypes.CDLL("libsodium.so.23")
        if self.lib.sodium_init() < 0:
            raise RuntimeError("libsodium cannot start")
        self.state_bytes = self.lib.crypto_secretstream_xchacha20poly1305_statebytes()

    def buf(self, data):
        return self.c.create_string_buffer(bytes(data), len(data))

    def wrap(self, master, key, key_id, client):
        """The client's data key wrapped under the master key, bound to its id and client (hex)."""
        ad = f"bastion client data key v1\n{key_id}\n{client}".encode()
        nonce = os.urandom(24)
        out = self.c.create_string_buffer(len(key) + 16)
        self.lib.crypto_aead_xchacha20poly1305_ietf_encrypt(out, None, self.buf(key), self.c.c_ulonglong(len(key)),
                                                            self.buf(ad), self.c.c_ulonglong(len(ad)), None,
                                                            self.buf(nonce), self.buf(master))
        return (nonce + out.raw).hex()

    def stream_key(self, client_key, salt):
        data = b"bastion sealed recording v1" + salt
        out = self.c.create_string_buffer(32)
        self.lib.crypto_generichash(out, self.c.c_size_t(32), self.buf(data), self.c.c_ulonglong(len(data)),
                                    self.buf(client_key), self.c.c_size_t(32))
        return out.raw

    def seal(self, src, dst, client_key, key_id):
        """Write src sealed to dst, one chunk per line as the recorder seals one per asciicast event,
        the last one FINAL."""
        salt = os.urandom(16)
        state = self.c.create_string_buffer(self.state_bytes)
        header = self.c.create_string_buffer(24)
        self.lib.crypto_secretstream_xchacha20poly1305_init_push(state, header, self.buf(self.stream_key(client_key, salt)))
        preamble = b"BSTNSEAL" + bytes([1, len(key_id)]) + key_id.encode() + salt + header.raw
        ad = self.buf(preamble)
        out = self.c.create_string_buffer((1 << 20) + 17)
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fout.write(preamble)
            while True:
                plain = fin.readline(1 << 20)
                tag = 0 if plain else 3  # TAG_MESSAGE, then an empty TAG_FINAL
                self.lib.crypto_secretstream_xchacha20poly1305_push(
                    state, out, None, self.buf(plain), self.c.c_ulonglong(len(plain)), ad,
                    self.c.c_ulonglong(len(preamble)), self.c.c_ubyte(tag))
                fout.write((len(plain) + 17).to_bytes(4, "big") + out.raw[:len(plain) + 17])
                if not plain:
                    break


def seal_recording(db, plain, sealed, client):
    """`plain` sealed into `sealed` under `client`'s data key, made and wrapped as the bastion makes it."""
    na = Sodium()
    with open(os.path.join(os.path.dirname(db), "data_master_key")) as f:
        master = bytes.fromhex(f.read().split()[-1])
    key, key_id = os.urandom(32), "dk-" + secrets.token_hex(8)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO client_data_keys (key_id, client, created_at, wrapped) VALUES (?, ?, ?, ?)",
                (key_id, client, int(time.time()), na.wrap(master, key, key_id, client)))
    con.commit()
    con.close()
    na.seal(plain, sealed, key, key_id)


def portal_session(db, name):
    """A signed-in portal session of `name`, stored as the sign-in stores it; returns the cookie value."""
    token = secrets.token_hex(32)
    con = sqlite3.connect(db)
    now = int(time.time())
    con.execute("INSERT INTO web_sessions (operator_id, token_hash, source, created_at, last_seen) "
                "SELECT id, ?, 'bench', ?, ? FROM operators WHERE name = ?",
                (hashlib.sha256(token.encode()).hexdigest(), now, now, name))
    con.commit()
    con.close()
    return token


def cpu_seconds(pid):
    """user + system CPU time of the process so far (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    return {k: int(re.search(rf"^{k}:\s+(\d+) kB", text, re.M).group(1))
            for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


class Client:
    def __init__(self, port, token):
        self.port, self.cookie = port, f"__Host-bastion={token}"
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.conn = None
        self.reconnects = 0

    def get(self, path, sink=None):
        """GET path; returns (status, seconds, body bytes or byte count when sink reads it)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=120)
                self.reconnects += 1
            t = time.perf_counter()
            try:
                self.conn.request("GET", path, headers={"Cookie": self.cookie})
                r = self.conn.getresponse()
                if sink is None:
                    body = r.read()
                else:
                    body = 0
                    while chunk := r.read(1 << 20):
                        body += len(chunk)
                        sink(body)
                dt = time.perf_counter() - t
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, dt, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def list_paths(rng, pages_officer, pages_reviewer, n, viewer):
    """The list URLs one round asks for: every sort both ways, deep and last pages, filters."""
    last = pages_officer if viewer == "officer" else pages_reviewer
    paths = []
    for sort in ("start", "end", "duration", "server", "operator"):
        for d in ("desc", "asc"):
            paths.append(f"/sessions?sort={sort}&dir={d}")
            paths.append(f"/sessions?sort={sort}&dir={d}&page={rng.randrange(2, last + 1)}")
    paths += [f"/sessions?page={last}", f"/sessions?page={last // 2}",
              "/sessions?status=aborted", "/sessions?status=live",
              f"/sessions?operator=op{rng.randrange(200):03d}",
              f"/sessions?since=2026-03-01&until=2026-03-31&sort=duration&dir=desc",
              f"/sessions?server={SERVERS[0][0]}&sort=operator&dir=asc&page=3"]
    return paths


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bastionctl", required=True)
    p.add_argument("--bastion-web", required=True)
    p.add_argument("--sessions", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=12, help="rounds of the list URLs per viewer")
    p.add_argument("--recording-mb", type=int, default=200)
    p.add_argument("--json")
    p.add_argument("--keep", action="store_true")
    ARGS = p.parse_args()
    rng = random.Random(18)
    tmp = tempfile.mkdtemp(prefix="web-bench.")
    web = None
    try:
        db = os.path.join(tmp, "bastion.db")
        t = time.time()
        ctl(["init"], db)
        for name, client in SERVERS:
            ctl(["server", "add", name, "--host", "192.0.2.1", "--port", "22", "--client", client, "--kind",
                 "dedicated", "--host-key", HOST_KEY], db)
        ctl(["operator", "add", "carol", "--role", "client", "--client", "client0", "--web"], db)
        ctl(["operator", "add", "olga", "--role", "officer", "--web"], db)
        closed = fill(db, ARGS.sessions, rng)
        log(f"{ARGS.sessions} sessions written in {time.time() - t:.1f} s ({os.path.getsize(db) >> 20} MiB)")
        rec = os.path.join(tmp, "recording.cast")
        write_cast(rec, ARGS.recording_mb << 20, rng)
        rec_id = add_recording(db, closed, rec)
        # The same recording sealed (encrypted) under client0's data key, on the next closed session of
        # client0: bastion-web decrypts it chunk by chunk as it serves it.
        con = sqlite3.connect(db)
        closed_sealed = con.execute("SELECT min(id) FROM sessions WHERE client = 'client0' AND status = 'closed' "
                                    "AND id > ?", (closed,)).fetchone()[0]
        con.close()
        t = time.time()
        sealed_rec = os.path.join(tmp, "recording-sealed.cast")
        seal_recording(db, rec, sealed_rec, "client0")
        sealed_id = add_recording(db, closed_sealed, sealed_rec)
        log(f"recording sealed in {time.time() - t:.1f} s ({os.path.getsize(sealed_rec) >> 20} MiB on disk)")
        tokens = {"officer": portal_session(db, "olga"), "reviewer": portal_session(db, "carol")}
        ctl(["web-cert", "--cert", f"{tmp}/web.crt", "--key", f"{tmp}/web.key", "--host", "127.0.0.1"], db)
        web_log = open(os.path.join(tmp, "bastion-web.log"), "w+")
        web = subprocess.Popen([ARGS.bastion_web, "--db", db, "--cert", f"{tmp}/web.crt", "--key", f"{tmp}/web.key",
                                "--listen", "127.0.0.1", "--port", "0", "--player-dir", tmp],
                               stdout=web_log, stderr=subprocess.STDOUT)
        port = None
        for _ in range(400):
            web_log.seek(0)
            m = re.search(r"listening on https://127\.0\.0\.1:(\d+)", web_log.read())
            if m:
                port = int(m.group(1))
                break
            if web.poll() is not None:
                break
            time.sleep(0.05)
        if port is None:
            web_log.seek(0)
            raise RuntimeError("bastion-web did not start: " + web_log.read())
        idle = rss_kib(web.pid)

        con = sqlite3.connect(db)
        total = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        own = con.execute("SELECT count(*) FROM sessions WHERE client = 'client0'").fetchone()[0]
        con.close()
        page_size = 50
        pages = {"officer": (total + page_size - 1) // page_size, "reviewer": (own + page_size - 1) // page_size}
        result = {"sessions": total, "reviewer_sessions": own, "page_size": page_size, "nproc": os.cpu_count(),
                  "load_start": open("/proc/loadavg").read().split()[:3], "list": {}}
        rows = []
        for viewer in ("officer", "reviewer"):
            c = Client(port, tokens[viewer])
            for path in list_paths(rng, pages["officer"], pages["reviewer"], total, viewer)[:3]:  # warm up
                c.get(path)
            times, slowest = [], (0, "")
            cpu0 = cpu_seconds(web.pid)
            for _ in range(ARGS.rounds):
                for path in list_paths(rng, pages["officer"], pages["reviewer"], total, viewer):
                    status, dt, body = c.get(path)
                    if status != 200 or b"<tbody>" not in body:
                        raise RuntimeError(f"{viewer} {path}: HTTP {status}")
                    times.append(dt)
                    slowest = max(slowest, (dt, path))
            ms = [x * 1000 for x in times]
            # bastion-web's own CPU per page: what the page costs, whatever else the machine runs
            # (the wall-clock figures carry the waits for a core on a shared machine).
            cpu_ms = (cpu_seconds(web.pid) - cpu0) * 1000 / len(ms)
            stats = {"n": len(ms), "cpu_ms_per_page": cpu_ms, "p50_ms": pct(ms, 50), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99),
                     "max_ms": max(ms), "mean_ms": statistics.mean(ms), "slowest": slowest[1],
                     "connections": c.reconnects}
            result["list"][viewer] = stats
            rows.append(f"| sessions list page, {viewer} ({total if viewer == 'officer' else own} sessions visible; "
                        f"n={len(ms)}) | {stats['p50_ms']:.1f} | {stats['p99_ms']:.1f} | {stats['max_ms']:.1f} | "
                        f"{cpu_ms:.1f} |")
            log(f"{viewer}: p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms, max {stats['max_ms']:.1f} ms "
                f"({slowest[1]}); bastion-web CPU {cpu_ms:.1f} ms per page")

        result["rss_after_lists_kib"] = rss_kib(web.pid)["VmRSS"]
        log(f"bastion-web RSS after the list requests: {result['rss_after_lists_kib'] / 1024:.1f} MiB")
        # The recording, streamed while RSS is sampled.
        c = Client(port, tokens["reviewer"])
        peak = {"rss": 0}
        done = threading.Event()

        def sample():
            while not done.is_set():
                now = rss_kib(web.pid)
                peak["rss"] = max(peak["rss"], now["VmRSS"])
                peak["anon"] = max(peak.get("anon", 0), now["RssAnon"])
                peak["file"] = max(peak.get("file", 0), now["RssFile"])
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        size = os.path.getsize(rec)
        base = f"/sessions/{closed}/recordings/{rec_id}"
        sealed_base = f"/sessions/{closed_sealed}/recordings/{sealed_id}"
        served, peaks = {}, []
        for what, path in (("download", base), ("player's cast", base + "/cast"), ("player page (typed lines)", base + "/view"),
                           ("download, sealed", sealed_base), ("player's cast, sealed", sealed_base + "/cast"),
                           ("player page (typed lines), sealed", sealed_base + "/view")):
            peak["rss"] = 0
            status, dt, got = c.get(path, sink=lambda n: None)
            if status != 200 or ("player page" not in what and got != size):
                raise RuntimeError(f"recording {what}: HTTP {status}, {got} bytes of {size}")
            served[what] = {"seconds": dt, "mb_per_s": size / dt / 1e6, "rss_peak_kib": peak["rss"]}
            peaks.append(peak["rss"])

        # The session page (evidence checked against the chain) and the access report, still sampled.
        con = sqlite3.connect(db)
        newest = con.execute("SELECT max(id) FROM sessions WHERE client = 'client0' AND status = 'closed'").fetchone()[0]
        con.close()
        pages = {}
        for what, path, n in (("session page, newest session", f"/sessions/{newest}", 30),
                              ("session page, the session of the 200 MiB recording", f"/sessions/{closed}", 3),
                              ("access report, one month (page)", "/report?since=2026-03-01&until=2026-03-31", 10),
                              ("access report, the whole year (CSV)", "/report.csv?since=2025-12-01&until=2026-12-31", 3)):
            peak["rss"] = 0
            times, nbytes = [], 0
            for _ in range(n):
                status, dt, body = c.get(path)
                if status != 200:
                    raise RuntimeError(f"{what} {path}: HTTP {status}")
                if what.startswith("session page") and (b"verified against the audit chain" not in body
                                                        or b"NOT verified" in body):
                    raise RuntimeError(f"{what}: the evidence of session {path} is not reported as verified")
                times.append(dt * 1000)
                nbytes = len(body)
            pages[what] = {"n": n, "p50_ms": pct(times, 50), "max_ms": max(times), "bytes": nbytes,
                           "rss_peak_kib": peak["rss"]}
            peaks.append(peak["rss"])
            log(f"{what}: p50 {pct(times, 50):.1f} ms, max {max(times):.1f} ms, {nbytes} bytes, "
                f"RSS peak {peak['rss'] / 1024:.1f} MiB")
        result["pages"] = pages
        done.set()
        sampler.join()
        after = rss_kib(web.pid)
        dt = served["download"]["seconds"]
        result["recording"] = {"mib": size / (1 << 20), "served": served,
                               "rss_idle_kib": idle["VmRSS"], "rss_peak_sampled_kib": max(peaks),
                               "vmhwm_kib": after["VmHWM"]}
        result["load_end"] = open("/proc/loadavg").read().split()[:3]
        print("| measurement | p50 ms | p99 ms | max ms | bastion-web CPU ms per page |")
        print("|---|---:|---:|---:|---:|")
        print("\n".join(rows))
        print()
        print(f"Terminal recording of {size / (1 << 20):.0f} MiB: " +
              "; ".join(f"{k} {v['seconds']:.2f} s ({v['mb_per_s']:.0f} MB/s of the file, RSS peak "
                        f"{v['rss_peak_kib'] / 1024:.1f} MiB)" for k, v in served.items()) +
              f". bastion-web RSS idle {idle['VmRSS'] / 1024:.1f} MiB, VmHWM {after['VmHWM'] / 1024:.1f} MiB "
              f"(target < 64 MiB).")
        print()
        print("| page | n | p50 ms | max ms | bytes | RSS peak MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, v in pages.items():
            print(f"| {k} | {v['n']} | {v['p50_ms']:.1f} | {v['max_ms']:.1f} | {v['bytes']} | {v['rss_peak_kib'] / 1024:.1f} |")
        print(f"load average {' '.join(result['load_start'])} at start, {' '.join(result['load_end'])} at the end")
        if ARGS.json:
            with open(ARGS.json, "w") as f:
                json.dump(result, f, indent=1)
            log(f"wrote {ARGS.json}")
        return 0
    finally:
        if web is not None and web.poll() is None:
            web.send_signal(signal.SIGTERM)
            try:
                web.wait(10)
            except subprocess.TimeoutExpired:
                web.kill()
        if ARGS.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
