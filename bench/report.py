#!/usr/bin/python3
"""report: turns the result files scripts/bench leaves in RES_DIR into a Markdown table (stdout)
and one JSON document (--json FILE). Nothing here is measured; it only summarises."""
import argparse
import glob
import json
import os
import statistics
import sys

LEGS = ("direct", "jump", "bastion")
CIPHER_NAMES = {"aes": "aes256-gcm@openssh.com", "chacha": "chacha20-poly1305@openssh.com"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v, digits=None):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:.{digits}f}"


def ratio(b, j):
    return None if b is None or j in (None, 0) else b / j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("res")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = a.res
    meta = load(os.path.join(res, "meta.json")) or {}
    out = {"meta": meta, "rows": [], "raw": {}}
    rows = []  # (label, {leg: text}, ratio or None, json-row)

    def add(label, values, texts=None, r=None, extra=None):
        row = {"measurement": label, **{leg: values.get(leg) for leg in LEGS}, "bastion_over_jump": r}
        if extra:
            row.update(extra)
        out["rows"].append(row)
        texts = texts or {leg: fmt(values.get(leg)) for leg in LEGS}
        rows.append((label, texts, r))

    # Throughput
    tp = {}
    path = os.path.join(res, "throughput.txt")
    if os.path.exists(path):
        for line in open(path):
            d, c, leg, v = line.split()
            tp.setdefault((d, c, leg), []).append(float(v))
        out["raw"]["throughput_mbps"] = {f"{d}/{c}/{leg}": v for (d, c, leg), v in tp.items()}
        mib = meta.get("bytes", 0) / (1 << 20)
        size = f"{mib / 1024:.0f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"
        for c in ("aes", "chacha"):
            for d in ("download", "upload"):
                vals = {leg: tp.get((d, c, leg)) for leg in LEGS}
                if not any(vals.values()):
                    continue
                med = {leg: statistics.median(v) if v else None for leg, v in vals.items()}
                texts = {leg: (f"{fmt(med[leg])} [{fmt(min(v))}–{fmt(max(v))}]" if v else "–") for leg, v in vals.items()}
                n = max(len(v) for v in vals.values() if v)
                add(f"{d} MB/s, {CIPHER_NAMES[c]} (median [min–max] of {n} × {size})", med, texts,
                    ratio(med["bastion"], med["jump"]),
                    {"min": {leg: min(v) if v else None for leg, v in vals.items()},
                     "max": {leg: max(v) if v else None for leg, v in vals.items()}})

    # New connection + true
    con = {leg: load(os.path.join(res, f"connect-{leg}.json")) for leg in LEGS}
    if any(con.values()):
        med = {leg: v["median"] if v else None for leg, v in con.items()}
        texts = {leg: (f"{fmt(v['median'])} [{fmt(v['min'])}–{fmt(v['max'])}]" if v else "–") for leg, v in con.items()}
        n = max(v["n"] for v in con.values() if v)
        add(f"new connection + `true`, ms, incl. auth (median [min–max] of {n})", med, texts,
            ratio(med["bastion"], med["jump"]), {"detail": con})
        pg = load(os.path.join(res, "connect-bastion-pg.json"))
        if pg:  # the same bastiond on PostgreSQL (issue 19), against the same jump figure
            add(f"new connection + `true`, ms, bastiond on PostgreSQL (median [min–max] of {pg['n']})",
                {"jump": med["jump"], "bastion": pg["median"]},
                {"direct": "–", "jump": texts["jump"], "bastion": f"{fmt(pg['median'])} [{fmt(pg['min'])}–{fmt(pg['max'])}]"},
                ratio(pg["median"], med["jump"]), {"engine": "postgresql", "detail": {"bastion": pg}})

    # Keystroke echo
    for c in ("aes", "chacha"):
        e = {leg: load(os.path.join(res, f"echo-{leg}-{c}.json")) for leg in LEGS}
        if any(e.values()):
            p50 = {leg: v["p50"] if v else None for leg, v in e.items()}
            texts = {leg: (f"{fmt(v['p50'])} / {fmt(v['p99'])}" if v else "–") for leg, v in e.items()}
            n = max(v["n"] for v in e.values() if v)
            add(f"keystroke echo p50 / p99 ms, {CIPHER_NAMES[c]} (n={n})", p50, texts,
                ratio(p50["bastion"], p50["jump"]), {"detail": e})

    # Concurrency and memory
    lim = load(os.path.join(res, "concurrency-limits.json"))
    cc = {leg: load(os.path.join(res, f"concurrency-{leg}.json")) for leg in LEGS}
    if any(cc.values()):
        held = {leg: v.get("held") if v else None for leg, v in cc.items()}
        texts = {}
        for leg, v in cc.items():
            if not v:
                texts[leg] = "–"
            elif "error" in v:
                texts[leg] = f"{v['held']} of {v['requested']} (failed: {v['error'][:60]})"
            else:
                texts[leg] = f"{v['held']}"
        cap = f", capped at {lim['cap']} by limits" if lim and lim["cap"] < lim["requested"] else ""
        req = lim["requested"] if lim else "?"
        add(f"concurrent pty sessions running `cat` held open (asked {req}{cap})", held, texts,
            ratio(held["bastion"], held["jump"]), {"limits": lim, "detail": cc})
        p99 = {leg: v["echo"]["p99"] if v and "echo" in v else None for leg, v in cc.items()}
        texts = {leg: (f"{fmt(v['echo']['p50'])} / {fmt(v['echo']['p99'])} / max {fmt(v['echo']['max'])}"
                       f" ({'≤' if v['within_50ms_p99'] else '>'} 50 ms p99)"
                       if v and "echo" in v else "–") for leg, v in cc.items()}
        add("echo p50 / p99 ms with all of them held", p99, texts, ratio(p99["bastion"], p99["jump"]))
        b = cc.get("bastion")
        idle = load(os.path.join(res, "pss-idle.json"))
        if b and "pss_kib" in b:
            marginal = (b["pss_kib"] - idle["pss_kib"]) / b["held"] if idle else None
            add("bastiond PSS per held session, KiB (total ÷ sessions; marginal over idle)",
                {"bastion": b["pss_kib_per_session"]},
                {"direct": "–", "jump": "–",
                 "bastion": f"{fmt(b['pss_kib_per_session'])} ({b['pss_kib'] / 1024:.1f} MiB in {b['pss_processes']} "
                            f"processes ÷ {b['held']}); marginal {fmt(marginal)}"},
                None, {"pss_total_kib": b["pss_kib"], "pss_idle_kib": idle and idle["pss_kib"],
                       "marginal_kib_per_session": marginal})
            # Each connection is two processes (its monitor and its network process, README "Trust
            # boundaries"); the held sessions share few connections (ControlMaster), so this is
            # the cost of a connection carrying held/connections sessions.
            if idle and "processes" in idle and b["pss_processes"] > idle["processes"]:
                conns = (b["pss_processes"] - idle["processes"]) / 2
                per_conn = (b["pss_kib"] - idle["pss_kib"]) / conns
                add("bastiond PSS per connection (monitor + network process), KiB, marginal over idle",
                    {"bastion": per_conn},
                    {"direct": "–", "jump": "–",
                     "bastion": f"{fmt(per_conn)} ({conns:.0f} connections carrying {b['held'] / conns:.0f} sessions each)"},
                    None, {"connections": conns})

    # Rate
    rt = {leg: load(os.path.join(res, f"rate-{leg}.json")) for leg in LEGS}
    if any(rt.values()):
        ps = {leg: v["per_second"] if v else None for leg, v in rt.items()}
        texts = {leg: (f"{fmt(v['per_second'])}" + (f" ({v['failed']} failed)" if v["failed"] else "") if v else "–")
                 for leg, v in rt.items()}
        v0 = next(v for v in rt.values() if v)
        add(f"new authenticated sessions/s running `true` ({v0['n']} logins, {v0['parallel']} at a time)", ps, texts,
            ratio(ps["bastion"], ps["jump"]), {"detail": rt})
        pg = load(os.path.join(res, "rate-bastion-pg.json"))
        if pg:
            add(f"new authenticated sessions/s, bastiond on PostgreSQL ({pg['n']} logins, {pg['parallel']} at a time)",
                {"jump": ps["jump"], "bastion": pg["per_second"]},
                {"direct": "–", "jump": texts["jump"],
                 "bastion": fmt(pg["per_second"]) + (f" ({pg['failed']} failed)" if pg["failed"] else "")},
                ratio(pg["per_second"], ps["jump"]), {"engine": "postgresql", "detail": {"bastion": pg}})

    # Over a long link (the wan leg): jump against bastion, per round-trip time
    wan_rows = []
    wpath = os.path.join(res, "wan.txt")
    if os.path.exists(wpath):
        wt = {}
        for line in open(wpath):
            d, rtt, leg, v = line.split()
            wt.setdefault((d, int(rtt), leg), []).append(float(v))
        out["raw"]["wan_mbps"] = {f"{d}/{rtt}/{leg}": v for (d, rtt, leg), v in wt.items()}
        for rtt in sorted({k[1] for k in wt}):
            for d in ("download", "upload"):
                j, b = wt.get((d, rtt, "jump")), wt.get((d, rtt, "bastion"))
                mj, mb = (statistics.median(j) if j else None), (statistics.median(b) if b else None)
                span = lambda v: f"{fmt(statistics.median(v))} [{fmt(min(v))}–{fmt(max(v))}]" if v else "–"
                wan_rows.append((f"{d} MB/s (median [min–max] of {max(len(j or []), len(b or []))})", rtt,
                                 span(j), span(b), ratio(mb, mj)))
                out["rows"].append({"measurement": f"wan {d} MB/s", "rtt_ms": rtt, "jump": mj, "bastion": mb,
                                    "bastion_over_jump": ratio(mb, mj)})
            e = {leg: load(os.path.join(res, f"wan-echo-{rtt}-{leg}.json")) for leg in ("jump", "bastion")}
            if any(e.values()):
                txt = {leg: (f"{fmt(v['p50'])} / {fmt(v['p99'])}" if v else "–") for leg, v in e.items()}
                p50 = {leg: v["p50"] if v else None for leg, v in e.items()}
                n = max(v["n"] for v in e.values() if v)
                wan_rows.append((f"keystroke echo p50 / p99 ms (n={n})", rtt, txt["jump"], txt["bastion"],
                                 ratio(p50["bastion"], p50["jump"])))
                out["rows"].append({"measurement": "wan keystroke echo p50 ms", "rtt_ms": rtt, "jump": p50["jump"],
                                    "bastion": p50["bastion"], "bastion_over_jump": ratio(p50["bastion"], p50["jump"]),
                                    "detail": e})

    # CPU of the middle hop (issue 21): seconds per GiB, and µs per keystroke echoed
    cpu_rows = []
    # The floor (issue 21): the jump host's figure plus what a recording bastion cannot avoid, each
    # part measured in this run by `sshbench.py floor`.
    floor_rows = []
    fl = load(os.path.join(res, "floor.json"))
    upath = os.path.join(res, "cpu.txt")
    if os.path.exists(upath):
        per_gib = {}  # (direction, cipher, leg) -> [(total, during)]
        for line in open(upath):
            d, c, leg, nbytes, c0, c1, c2 = line.split()
            gib = int(nbytes) / (1 << 30)
            per_gib.setdefault((d, c, leg), []).append(((float(c2) - float(c0)) / gib, (float(c1) - float(c0)) / gib))
        out["raw"]["cpu_s_per_gib"] = {f"{d}/{c}/{leg}": v for (d, c, leg), v in per_gib.items()}
        mib = meta.get("cpu_bytes", 0) / (1 << 20)
        size = f"{mib / 1024:.0f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"
        for c in ("aes", "chacha"):
            for d in ("download", "upload"):
                j, b = per_gib.get((d, c, "jump")), per_gib.get((d, c, "bastion"))
                if not j and not b:
                    continue
                mj = statistics.median(t for t, _ in j) if j else None
                mb = statistics.median(t for t, _ in b) if b else None
                span = lambda v: (f"{fmt(statistics.median(t for t, _ in v))} [{fmt(min(t for t, _ in v))}–"
                                  f"{fmt(max(t for t, _ in v))}]") if v else "–"
                during = f"; {fmt(statistics.median(x for _, x in b))} during the transfer" if b else ""
                n = max(len(j or []), len(b or []))
                label = f"CPU s per GiB in the middle hop, {d}, {CIPHER_NAMES[c]} (median [min–max] of {n} × {size})"
                cpu_rows.append((label, span(j), span(b) + during, ratio(mb, mj)))
                out["rows"].append({"measurement": label, "jump": mj, "bastion": mb, "bastion_over_jump": ratio(mb, mj),
                                    "bastion_during": statistics.median(x for _, x in b) if b else None})
                if fl and j and b:
                    second_pass = fl["aes256gcm"] if c == "aes" else fl["chacha20poly1305"]
                    floor = mj + second_pass + fl["aes256gcm"] + fl["page_cache_write"] + fl["fsync"] + \
                        fl["read_back"] + fl["sha256"]
                    what = f"{d}, {CIPHER_NAMES[c]}"
                    floor_rows.append((what, mj, floor, mb))
                    out["rows"].append({"measurement": f"CPU s per GiB floor of a recording bastion, {what}",
                                        "jump": mj, "floor": floor, "bastion": mb, "floor_over_jump": ratio(floor, mj),
                                        "bastion_over_floor": ratio(mb, floor)})
        if fl:
            out["floor_parts_s_per_gib"] = fl
    for c in ("aes", "chacha"):
        k = {leg: load(os.path.join(res, f"keys-{leg}-{c}.json")) for leg in ("jump", "bastion")}
        if not any(k.values()):
            continue
        us = {leg: v.get("cpu_us_per_keystroke") if v else None for leg, v in k.items()}
        txt = {leg: (f"{fmt(v['cpu_us_per_keystroke'])} (echo p50 {fmt(v['echo']['p50'])} ms)" if v and "echo" in v
                     else (f"failed: {v.get('error', '')[:60]}" if v else "–")) for leg, v in k.items()}
        v0 = next(v for v in k.values() if v)
        label = (f"CPU µs per keystroke echoed in the middle hop, {CIPHER_NAMES[c]} "
                 f"({v0.get('sessions', v0.get('held'))} pty sessions × {meta.get('cpu_keys')} keystrokes)")
        cpu_rows.append((label, txt["jump"], txt["bastion"], ratio(us["bastion"], us["jump"])))
        out["rows"].append({"measurement": label, "jump": us["jump"], "bastion": us["bastion"],
                            "bastion_over_jump": ratio(us["bastion"], us["jump"]), "detail": k})

    ciphers = []
    cpath = os.path.join(res, "ciphers.jsonl")
    if os.path.exists(cpath):
        ciphers = [json.loads(l) for l in open(cpath) if l.strip()]
    out["negotiated_ciphers"] = ciphers

    # Markdown
    m = meta
    print(f"Bastion vs OpenSSH on loopback — {m.get('mode')} run, {m.get('date')}, {m.get('seconds')} s")
    print()
    print(f"Machine: {m.get('nproc')} × {m.get('cpu')}, Linux {m.get('kernel')}, {m.get('openssh')}; "
          f"load average {m.get('load_start')} at start, {m.get('load_end')} at end.")
    print()
    if rows:
        print("| measurement | direct | jump (`ssh -J`) | bastion | bastion ÷ jump |")
        print("|---|---:|---:|---:|---:|")
        for label, texts, r in rows:
            print(f"| {label} | {texts['direct']} | {texts['jump']} | {texts['bastion']} | {fmt(r, 2) if r else '–'} |")
        print()
    if wan_rows:
        mib = meta.get("wan_bytes", 0) / (1 << 20)
        print(f"Over a long link: bench/delay_relay between the client and the first hop only (jump sshd or "
              f"bastiond), each chunk held RTT/2 each way; aes256-gcm@openssh.com; {mib:.0f} MiB per transfer:")
        print()
        print("| measurement | RTT ms | jump (`ssh -J`) | bastion | bastion ÷ jump |")
        print("|---|---:|---:|---:|---:|")
        for label, rtt, j, b, r in wan_rows:
            print(f"| {label} | {rtt} | {j} | {b} | {fmt(r, 2) if r else '–'} |")
        print()
    if cpu_rows:
        print("CPU of the middle hop (user + system ticks of the jump sshd's processes or of bastiond's, from /proc; "
              "each transfer alone; bastiond counted until its session row is closed and its processes are idle, "
              "so recording, fsync, digest and closing writes are in):")
        print()
        print("| measurement | jump (`ssh -J`) | bastion | bastion ÷ jump |")
        print("|---|---:|---:|---:|")
        for label, j, b, r in cpu_rows:
            print(f"| {label} | {j} | {b} | {fmt(r, 2) if r else '–'} |")
        print()
    if floor_rows:
        print(f"The least a recording bastion can spend per GiB beyond the jump host, each part measured in this run "
              f"on its own (`bench/sshbench.py floor`, s per GiB): a second pass of the SSH cipher (the bastion ends "
              f"both SSH connections; AES-256-GCM {fmt(fl['aes256gcm'])}, ChaCha20-Poly1305 "
              f"{fmt(fl['chacha20poly1305'])}), the recording's AES-256-GCM ({fmt(fl['aes256gcm'])}), its copy into "
              f"the page cache in {fl['write_chunk'] // 1024} KiB writes ({fmt(fl['page_cache_write'])}), its fsync "
              f"({fmt(fl['fsync'])}), the monitor's read of the file ({fmt(fl['read_back'])}) and its SHA-256 "
              f"({fmt(fl['sha256'])}):")
        print()
        print("| CPU s per GiB | jump | floor (jump + those parts) | floor ÷ jump | bastion | bastion ÷ floor |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, mj, floor, mb in floor_rows:
            print(f"| {label} | {fmt(mj)} | {fmt(floor)} | {fmt(ratio(floor, mj), 2)} | {fmt(mb)} | "
                  f"{fmt(ratio(mb, floor), 2)} |")
        print()
    dec = load(os.path.join(res, "decide.json"))
    dec_pg = load(os.path.join(res, "decide-pg.json"))
    missing = load(os.path.join(res, "decide-missing.json"))
    if dec:
        out["decide_bench"] = dec
        if dec_pg:
            out["decide_bench_postgresql"] = dec_pg
        print("Grant decision (bench/decide_bench, Google Benchmark; 100 000 grants, 1 000 operators, 500 servers;"
              " median of 10 repetitions):")
        print()
        print("| benchmark | engine | real time | CPU time of the bench process |")
        print("|---|---|---:|---:|")
        for engine, d in (("SQLite", dec), ("PostgreSQL (unix socket, fsync on)", dec_pg)):
            for b in (d or {}).get("benchmarks", []):
                if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                    continue
                print(f"| {b['name']} | {engine} | {fmt(b['real_time'])} {b['time_unit']} | "
                      f"{fmt(b['cpu_time'])} {b['time_unit']} |")
        print()
    elif missing:
        out["decide_bench"] = {"missing": missing["missing"]}
        print(f"Grant decision: {missing['missing']} is not built; build it with "
              "`cmake -B build -DBASTION_BENCH=ON && cmake --build build --target decide_bench` "
              "(needs libbenchmark-dev), then rerun.")
        print()
    notes = [
        "Same ssh client and config for all legs; ciphers pinned on the client and on the target sshd "
        "(one target instance per cipher, so the bastion's upstream leg uses the same cipher); compression off.",
        "bastion: bastiond with recording on (pty sessions as asciicast, exec byte-exact) and full 2FA: "
        "key + TOTP via SSH_ASKPASS/oathtool; every login is a fresh operator with its own key and TOTP secret.",
        "Throughput and keystroke echo run over one ControlMaster per leg and cipher (one bastion login each); "
        "`new connection` and `sessions/s` open a new connection every time (`-S none`), a fresh operator per "
        "bastion login; concurrency uses one master connection per "
        f"{m.get('per_master')} sessions on every leg (bastiond accepts at most 64 channels per connection); "
        "those sessions belong to one operator, so bastiond runs with --max-sessions-per-operator 0 (default 10).",
        "Connection time, concurrency and sessions/s use aes256-gcm@openssh.com.",
        "Download: `head -c N /dev/zero` on the target, counted by `wc -c` locally; upload: local "
        "`head -c N /dev/zero` into `wc -c` on the target; both byte counts checked.",
    ]
    if ciphers:
        notes.append("Negotiated (from each master's ssh -v log): " +
                     ", ".join(f"{c['leg']}={c['negotiated']}" for c in sorted(ciphers, key=lambda c: c["leg"])))
    out["notes"] = notes
    for n in notes:
        print(f"- {n}")
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
