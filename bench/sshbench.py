#!/usr/bin/python3
"""sshbench: measurement helpers for scripts/bench (standard library only, Debian's python3).

Every subcommand prints one JSON object on stdout. Hosts are aliases of the ssh_config given with
--ssh-config (scripts/bench writes it); a host may carry an askpass program for the TOTP step
(job files: one "ALIAS ASKPASS" or "ALIAS -" per line).

  connect  --ssh-config F --jobs FILE               time `ssh ALIAS true` on a new connection, one per line
  rate     --ssh-config F --jobs FILE --parallel P  the same, P at a time: sustained connections per second
  echo     --ssh-config F --host H --samples N      1-byte keystroke round trip through a local pty
  hold     --ssh-config F --hosts H1,H2… --per-host K --n N [--pss-root PID]
                                                     hold N pty sessions running cat, echo each, PSS
  cpu      --root PID [--settle]                    CPU seconds used so far by PID and its descendants
                                                     (--settle: first wait until they are idle)
  type     --ssh-config F --hosts H1,H2… --per-host K --n N --keys M --cpu-root PID
                                                     N pty sessions running cat each echo M keystrokes;
                                                     CPU of PID's tree per keystroke echoed
"""
import argparse
import json
import math
import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import termios
import time
import tty

REMOTE_ECHO = "stty raw -echo; printf R; exec cat"
READY = b"R"


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(p / 100.0 * len(v)) - 1))
    return v[k]


def summary(values, unit):
    return {
        "n": len(values), "unit": unit,
        "median": statistics.median(values), "min": min(values), "max": max(values),
        "p50": pct(values, 50), "p99": pct(values, 99),
        "over_100": sum(1 for v in values if v > 100), "over_190": sum(1 for v in values if v > 190),
    }


def ssh_env(askpass):
    env = dict(os.environ)
    if askpass and askpass != "-":
        env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=env.get("DISPLAY", ":0"))
    return env


def read_jobs(path):
    jobs = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                jobs.append((parts[0], parts[1] if len(parts) > 1 else "-"))
    return jobs


def run_true(cfg, alias, askpass, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run(["ssh", "-F", cfg, "-S", "none", alias, "true"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ssh_env(askpass), timeout=timeout)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"ssh {alias} true: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return dt


def cmd_connect(a):
    jobs = read_jobs(a.jobs)
    times = [run_true(a.ssh_config, alias, ap) * 1000.0 for alias, ap in jobs]
    print(json.dumps(summary(times, "ms")))


def cmd_rate(a):
    jobs = read_jobs(a.jobs)
    pending = list(jobs)
    running = {}
    failures = []
    t0 = time.monotonic()
    while pending or running:
        while pending and len(running) < a.parallel:
            alias, ap = pending.pop(0)
            p = subprocess.Popen(["ssh", "-F", a.ssh_config, "-S", "none", alias, "true"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ssh_env(ap))
            running[p.pid] = (p, alias)
        pid, status = os.wait()
        if pid in running:
            p, alias = running.pop(pid)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                failures.append(alias)
    dt = time.monotonic() - t0
    ok = len(jobs) - len(failures)
    print(json.dumps({"n": len(jobs), "ok": ok, "failed": len(failures), "parallel": a.parallel,
                      "seconds": dt, "per_second": ok / dt}))


def readable(fd, timeout):
    """poll(), not select(): a thousand held sessions use fds beyond select()'s FD_SETSIZE."""
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(p.poll(max(0, timeout) * 1000.0))


def read_until(fd, want, deadline):
    """Reads from fd until `want` (bytes) has been seen; returns everything read."""
    buf = b""
    while want not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out waiting for {want!r}; got {buf[-200:]!r}")
        if readable(fd, left):
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError(f"EOF waiting for {want!r}; got {buf[-200:]!r}")
            buf += chunk
    return buf


def keystroke(send, fd, b, who):
    """Sends the byte b with send() and waits until it is echoed on fd; returns the round trip in ms."""
    t0 = time.perf_counter()
    send(b)
    got = b""
    while b not in got:
        if not readable(fd, 5):
            raise TimeoutError(f"{who} did not echo within 5 s")
        got += os.read(fd, 64)
    return (time.perf_counter() - t0) * 1000.0


def cmd_echo(a):
    master, slave = pty.openpty()
    p = subprocess.Popen(["ssh", "-F", a.ssh_config, "-tt", a.host, REMOTE_ECHO], stdin=slave, stdout=slave,
                         stderr=subprocess.DEVNULL, start_new_session=True, env=ssh_env(a.askpass))
    os.close(slave)
    try:
        read_until(master, READY, time.monotonic() + 30)
        time.sleep(0.2)  # let ssh settle; drain anything left
        while readable(master, 0):
            os.read(master, 4096)
        samples = []
        for i in range(a.samples):
            samples.append(keystroke(lambda b: os.write(master, b), master, bytes([ord("a") + i % 26]),
                                     f"keystroke {i}"))
            time.sleep(a.gap_ms / 1000.0)
        print(json.dumps(summary(samples, "ms")))
    finally:
        p.kill()
        p.wait()
        os.close(master)


def descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root):
    """CPU (user + system) of root and its live descendants, including the children each has
    reaped (cutime, cstime), so that nothing of a process that ended inside the tree is lost."""
    ticks = 0
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (fields 14-17)
    return ticks / CLK_TCK


def settle(root, window=0.6, quiet=0.02, timeout=300.0):
    """Waits until root's tree has used less than `quiet` CPU seconds over `window` seconds
    (recording, fsync, digest and session rows done), and returns its CPU seconds then."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(root)
    while True:
        time.sleep(window)
        now = cpu_seconds(root)
        if now - last < quiet or time.monotonic() > deadline:
            return now
        last = now


def cmd_cpu(a):
    print(json.dumps({"root": a.root, "cpu_seconds": settle(a.root) if a.settle else cpu_seconds(a.root)}))


GIB = 1 << 30


def openssl_seconds_per_gib(alg, size=32768, seconds=2):
    """CPU seconds per GiB of one pass of `alg` over `size`-byte buffers, from `openssl speed -evp`
    (which divides by the user CPU time it used, not the wall clock)."""
    out = subprocess.run(["openssl", "speed", "-evp", alg, "-bytes", str(size), "-seconds", str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    last = [l for l in out.splitlines() if l.strip()][-1].split()
    rate = float(last[-1].rstrip("k")) * 1000  # bytes per second, as "1234567.89k"
    return GIB / rate


def system_seconds():
    t = os.times()
    return t.system


def cmd_floor(a):
    """What a recording bastion must spend per GiB beyond what a jump host spends, each part measured
    on this machine now, one at a time (README "CPU per byte of the middle hop"): a second pass of the
    SSH cipher (the bastion ends both SSH connections, a jump host forwards the inner one as it is),
    the recording's AES-256-GCM, its copy into the page cache in record-sized writes, its fsync, the
    monitor's read of the file and its SHA-256. Kernel parts count the system time of this process
    alone (the Python loop around the calls is user time, left out)."""
    chunk = b"\0" * a.chunk
    path = os.path.join(a.dir, f"floor.{os.getpid()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
    try:
        s0 = system_seconds()
        left = a.bytes
        while left > 0:
            left -= os.write(fd, chunk[:min(left, a.chunk)])
        s1 = system_seconds()
        os.fsync(fd)
        s2 = system_seconds()
        os.close(fd)
        fd = os.open(path, os.O_RDONLY)
        while os.read(fd, 1 << 16):
            pass
        s3 = system_seconds()
    finally:
        os.close(fd)
        os.unlink(path)
    scale = GIB / a.bytes
    print(json.dumps({
        "bytes": a.bytes, "write_chunk": a.chunk,
        "page_cache_write": (s1 - s0) * scale, "fsync": (s2 - s1) * scale, "read_back": (s3 - s2) * scale,
        "aes256gcm": openssl_seconds_per_gib("aes-256-gcm"),
        "chacha20poly1305": openssl_seconds_per_gib("chacha20-poly1305"),
        "sha256": openssl_seconds_per_gib("sha256", size=65536),
    }))


def cmd_pss(a):
    pids = descendants(a.root)
    print(json.dumps({"processes": len(pids), "pss_kib": pss_kib(pids)}))


def open_sessions(a, sessions):
    """Opens min(a.n, hosts × per-host) pty sessions running cat into `sessions`, in batches of 20,
    each batch waiting for its sessions to be ready, so that a master is never asked for hundreds of
    sessions at the same instant. Returns the errors (empty if all are ready)."""
    hosts = a.hosts.split(",")
    n = min(a.n, len(hosts) * a.per_host)
    errors = []
    for start in range(0, n, 20):
        batch = []
        for i in range(start, min(n, start + 20)):
            p = subprocess.Popen(["ssh", "-F", a.ssh_config, "-tt", hosts[i // a.per_host], REMOTE_ECHO],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 bufsize=0, start_new_session=True)
            batch.append(p)
        for p in batch:
            try:
                read_until(p.stdout.fileno(), READY, time.monotonic() + 60)
                sessions.append(p)
            except (TimeoutError, EOFError) as e:
                err = b""
                if p.poll() is not None:
                    err = p.stderr.read()
                errors.append(f"{e}: {err.decode(errors='replace').strip()}")
                p.kill()
        if errors:
            break
    return errors


def type_round(sessions, r):
    """Each session sends one keystroke and waits for its echo; returns the round trips in ms."""
    return [keystroke(p.stdin.write, p.stdout.fileno(), bytes([ord("a") + (i + r) % 26]), f"session {i}")
            for i, p in enumerate(sessions)]


def close_sessions(sessions):
    for p in sessions:
        p.kill()
    for p in sessions:
        p.wait()


def cmd_type(a):
    sessions = []
    try:
        errors = open_sessions(a, sessions)
        if errors:
            print(json.dumps({"requested": a.n, "held": len(sessions), "error": errors[0], "errors": len(errors)}))
            return
        before = settle(a.cpu_root)
        t0 = time.monotonic()
        samples = []
        for r in range(a.keys):
            samples += type_round(sessions, r)
        typing = time.monotonic() - t0
        after = settle(a.cpu_root)
        cpu = after - before
        print(json.dumps({"sessions": len(sessions), "keystrokes": len(samples), "typing_seconds": typing,
                          "cpu_seconds": cpu, "cpu_us_per_keystroke": cpu / len(samples) * 1e6,
                          "echo": summary(samples, "ms")}))
    finally:
        close_sessions(sessions)


def cmd_hold(a):
    sessions = []  # Popen, each with its stdout fd
    t0 = time.monotonic()
    try:
        errors = open_sessions(a, sessions)
        setup = time.monotonic() - t0
        if errors:
            print(json.dumps({"requested": a.n, "held": len(sessions), "error": errors[0],
                              "errors": len(errors), "setup_seconds": setup}))
            return
        time.sleep(0.5)
        rounds = max(1, math.ceil(a.min_samples / len(sessions)))
        samples = []
        for r in range(rounds):
            samples += type_round(sessions, r)
        out = {"requested": a.n, "held": len(sessions), "setup_seconds": setup, "echo": summary(samples, "ms"),
               "within_50ms_p99": pct(samples, 99) <= 50.0}
        if a.pss_root:
            pids = descendants(a.pss_root)
            kib = pss_kib(pids)
            out.update(pss_processes=len(pids), pss_kib=kib, pss_kib_per_session=kib / len(sessions))
        print(json.dumps(out))
    finally:
        close_sessions(sessions)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connect"); c.add_argument("--ssh-config", required=True); c.add_argument("--jobs", required=True)
    r = sub.add_parser("rate"); r.add_argument("--ssh-config", required=True); r.add_argument("--jobs", required=True)
    r.add_argument("--parallel", type=int, default=4)
    e = sub.add_parser("echo"); e.add_argument("--ssh-config", required=True); e.add_argument("--host", required=True)
    e.add_argument("--askpass", default="-"); e.add_argument("--samples", type=int, default=200)
    e.add_argument("--gap-ms", type=float, default=5.0)
    h = sub.add_parser("hold"); h.add_argument("--ssh-config", required=True); h.add_argument("--hosts", required=True)
    h.add_argument("--per-host", type=int, required=True); h.add_argument("--n", type=int, required=True)
    h.add_argument("--pss-root", type=int, default=0); h.add_argument("--min-samples", type=int, default=200)
    s = sub.add_parser("pss"); s.add_argument("--root", type=int, required=True)
    u = sub.add_parser("cpu"); u.add_argument("--root", type=int, required=True)
    u.add_argument("--settle", action="store_true")
    f = sub.add_parser("floor"); f.add_argument("--dir", required=True); f.add_argument("--bytes", type=int, required=True)
    f.add_argument("--chunk", type=int, default=32 * 1024)
    t = sub.add_parser("type"); t.add_argument("--ssh-config", required=True); t.add_argument("--hosts", required=True)
    t.add_argument("--per-host", type=int, required=True); t.add_argument("--n", type=int, required=True)
    t.add_argument("--keys", type=int, required=True); t.add_argument("--cpu-root", type=int, required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    {"connect": cmd_connect, "rate": cmd_rate, "echo": cmd_echo, "hold": cmd_hold, "pss": cmd_pss, "cpu": cmd_cpu,
     "type": cmd_type, "floor": cmd_floor}[a.cmd](a)


if __name__ == "__main__":
    main()
