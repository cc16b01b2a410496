#!/usr/bin/env python3
"""Learning records at national scale: 20 million through SQLite's own
batched insert, 20 million through the institutes' API and 20 million
through the file import, each into its own copy of the national data set
(so that each path starts from the same table and grows it alike), then the
hours of one learner for a year (学时查询 over the API) with the API's 20
million present.

    cargo build --release -p cmis
    bench/learning-records.py          # RECORDS=2000000 for a shorter run

Needs bench/data from bench/run.sh (the national data set and its keys);
writes only in a temporary directory (about 10 GB at most for 20 million).
"""
import calendar
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("BENCH_DATA", os.path.join(ROOT, "bench", "data"))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "cmis")
RECORDS = int(os.environ.get("RECORDS", "20000000"))
RAW = int(os.environ.get("RAW", str(RECORDS)))
# The page cache of the server's writing connection (crates/store/src/db.rs):
# SQLite's own insert runs with the same.
WRITER_CACHE = "-65536"
BATCH = 10_000
# The server runs two calls of an institute at once and answers 429 to a third.
CLIENTS = int(os.environ.get("CLIENTS", "2"))
NOW = "2026-06-15T10:00:00+08:00"
YEAR = 2025
PATH = "/api/v1/institute/learning-records"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rows(prefix, start, n, learners, rnd):
    """n records as JSON objects (one line each), numbered from start."""
    out = []
    for i in range(start, start + n):
        kind, no = learners[rnd.randrange(len(learners))]
        day = 1 + i % 28
        out.append(
            f'{{"record_id":"{prefix}{i}","learner_type":"{kind}","learner_no":"{no}","year":{YEAR},'
            f'"hours":"{1 + i % 4}","category":"{"ethics" if i % 5 == 0 else "professional"}","form":"online",'
            f'"title":"网络课程{i % 97}","learned_on":"{YEAR}-{1 + i % 12:02d}-{day:02d}"}}'
        )
    return out


def serve(env, port):
    """A release server on the copy, on loopback, once it answers."""
    server = subprocess.Popen([BIN, "serve", "--e2e-fixed-captcha", "2468", "--e2e-clock", NOW],
                              env=dict(env, CMIS_LISTEN=f"127.0.0.1:{port}"), stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) // 1024
    return 0


def raw_rate(db, n):
    """SQLite's own rate for the same rows: batches of BATCH rows bound by
    Python's sqlite3 straight into learning_records, same journal, same
    synchronous, same page cache as the server's writer; random learners, so
    that the indexes are written in the same scattered order."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("pragma journal_mode=wal")
    c.execute("pragma synchronous=full")
    c.execute(f"pragma cache_size={WRITER_CACHE}")
    ids = [(r[0], None) for r in c.execute("select id from cpas")] + [(None, r[0]) for r in c.execute("select id from members")]
    rnd = random.Random(3)
    cols = "(cpa_id, member_id, year, kind, hours_x100, category, title, source, recorded_by, created_at, form, institute_id, external_id, learned_on)"
    q = f"insert into learning_records {cols} values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    start = time.perf_counter()
    for b in range(0, n, BATCH):
        batch = [(*ids[rnd.randrange(len(ids))], YEAR, "record", 200, "professional", f"网络课程{i % 97}", "institute",
                  "bench", "2026-06-15 02:00:00+00:00", "online", 1, f"RAW{b + i}", f"{YEAR}-03-01") for i in range(BATCH)]
        c.execute("begin immediate")
        c.executemany(q, batch)
        c.execute("commit")
        if (b // BATCH + 1) % 200 == 0:
            print(f"  SQLite: {b + BATCH:,} records", flush=True)
    secs = time.perf_counter() - start
    c.close()
    return n / secs


class WalWatch(threading.Thread):
    """The largest the write-ahead log of `db` grew, sampled every second."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.wal, self.largest, self.done = db + "-wal", 0, threading.Event()

    def run(self):
        while not self.done.wait(1):
            try:
                self.largest = max(self.largest, os.path.getsize(self.wal))
            except OSError:
                pass

    def stop(self):
        self.done.set()
        self.join()
        return self.largest // (1 << 20)


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release -p cmis")
    tmp = tempfile.mkdtemp(prefix="cmis-learning.")
    server = None
    try:
        for f in ("pii.key", "sign.key"):
            shutil.copy(os.path.join(DATA, f), tmp)

        def copy(name, institute):
            """A copy of the national data set, migrated, with a key of `institute`."""
            db = os.path.join(tmp, name + ".sqlite3")
            shutil.copy(os.path.join(DATA, "pristine-300000.sqlite3"), db)
            env = dict(os.environ, CMIS_CONFIG=os.path.join(tmp, "absent.toml"), CMIS_DATA_DIR=tmp,
                       CMIS_DATABASE_URL=f"sqlite://{db}?mode=rwc", CMIS_DEMO_ON_FIRST_START="false",
                       RUST_LOG="warn", CMIS_TRUST_FORWARDED="true")
            env.pop("DATABASE_URL", None)
            out = subprocess.run([BIN, "institute-key", "--institute", institute], env=env, capture_output=True,
                                 text=True, check=True).stdout.strip()  # migrates the copy too
            return db, env, *out.split("\t")

        def remove(db):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)

        # 0. SQLite's own rate, on a copy of its own.
        db, env, _, _ = copy("raw", "bnai")
        c = sqlite3.connect(db)
        learners = [("cpa", r[0]) for r in c.execute("select cpa_no from cpas")] + \
                   [("member", r[0]) for r in c.execute("select cert_no from members")]
        before = c.execute("select count(*) from learning_records").fetchone()[0]
        c.close()
        watch = WalWatch(db)
        watch.start()
        raw = raw_rate(db, RAW)
        raw_wal = watch.stop()
        remove(db)
        print(f"SQLite's own batched insert: {raw:,.0f} rows/s ({RAW:,} rows)", flush=True)

        # 1. The API: CLIENTS clients, calls of 10,000 signed records.
        db, env, key, secret = copy("api", "bnai")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = serve(env, port)
        watch = WalWatch(db)
        watch.start()
        calls = RECORDS // BATCH
        lock = threading.Lock()
        state = {"next": 0, "accepted": 0, "ms": []}
        clock = calendar.timegm(time.strptime(NOW[:19], "%Y-%m-%dT%H:%M:%S")) - 8 * 3600

        def client(seed):
            rnd = random.Random(seed)
            while True:
                with lock:
                    n = state["next"]
                    if n >= calls:
                        return
                    state["next"] += 1
                body = ('{"records":[' + ",".join(rows("A", n * BATCH, BATCH, learners, rnd)) + "]}").encode()
                ts = str(clock)
                msg = f"POST\n{PATH}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
                sig = hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
                req = urllib.request.Request(url + PATH, data=body, method="POST", headers={
                    "content-type": "application/json", "x-institute-key": key, "x-institute-timestamp": ts,
                    "x-institute-signature": sig})
                t0 = time.perf_counter()
                with urllib.request.urlopen(req, timeout=600) as r:
                    out = json.loads(r.read())
                ms = (time.perf_counter() - t0) * 1000
                assert not out["refused"], out["refused"][:3]
                with lock:
                    state["accepted"] += out["accepted"]
                    state["ms"].append(ms)
                    if len(state["ms"]) % 200 == 0:
                        print(f"  API: {len(state['ms']) * BATCH:,} records", flush=True)

        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api_s = time.perf_counter() - start
        api_wal = watch.stop()
        api_rss = vm_hwm(server.pid)
        server.terminate()
        server.wait()
        assert state["accepted"] == calls * BATCH, state["accepted"]
        print(f"API: {state['accepted']:,} in {api_s:.0f} s", flush=True)

        # 2. The file import, on a copy of its own: the same number of lines,
        # written first, then imported (untimed writing).
        api_db, api_env = db, env
        db, env, _, _ = copy("file", "snai")
        feed = os.path.join(tmp, "records.jsonl")
        rnd = random.Random(7)
        with open(feed, "w") as f:
            for n in range(calls):
                f.write("\n".join(rows("F", n * BATCH, BATCH, learners, rnd)) + "\n")
        watch = WalWatch(db)
        watch.start()
        start = time.perf_counter()
        p = subprocess.Popen([BIN, "import-learning", "--institute", "snai", "--file", feed], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err = p.stderr.read()
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        file_s = time.perf_counter() - start
        file_rss = usage.ru_maxrss // 1024
        file_wal = watch.stop()
        assert p.returncode == 0, err[-2000:]
        os.remove(feed)
        remove(db)
        print(f"file: {out.strip()}", flush=True)

        # 3. 学时查询 of one learner with the API's records present: GET /me/learning-hours.
        db, env = api_db, api_env
        server = serve(env, port)
        c = sqlite3.connect(db)
        total = c.execute("select count(*) from learning_records").fetchone()[0]
        hash_ = c.execute("select password_hash from users where user_type = 'cpa' and password_hash like '$argon2%' limit 1").fetchone()[0]
        sample = [r[0] for r in c.execute("select login_name from users where user_type = 'cpa' order by random() limit 50")]
        c.executemany("update users set password_hash = ?, must_change_password = 0 where user_type = 'cpa' and login_name = ?",
                      [(hash_, s) for s in sample])
        c.commit()
        c.close()

        def call(method, path, token=None, body=None):
            req = urllib.request.Request(url + "/api/v1" + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
            req.add_header("content-type", "application/json")
            # Each learner from an address of their own, as people are.
            req.add_header("x-forwarded-for", f"10.{len(tokens) % 250}.{random.randrange(250)}.{random.randrange(250)}")
            if token:
                req.add_header("authorization", f"Bearer {token}")
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        tokens = []
        for login in sample:
            cap = call("GET", "/captcha")
            tokens.append(call("POST", "/auth/login", body={"user_type": "cpa", "login_name": login, "password": "Cmis2026",
                                                            "captcha_id": cap["id"], "captcha": "2468"})["token"])
        ms = []
        for i in range(2000):
            t0 = time.perf_counter()
            call("GET", f"/me/learning-hours?year={YEAR}", tokens[i % len(tokens)])
            ms.append((time.perf_counter() - t0) * 1000)
        server.terminate()
        server.wait()
        ms.sort()
        api_rate = state["accepted"] / api_s
        file_rate = calls * BATCH / file_s
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        print()
        print(f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit}, {os.cpu_count()} cores ({cpu}); release build, "
              f"SQLite (WAL, synchronous=FULL); each path into its own copy of the national data set with "
              f"{before:,} records; {total:,} present for 学时查询.")
        print()
        print("| path | records | time | rate | of SQLite's own | peak RSS | largest WAL |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(f"| SQLite's own batched insert (Python sqlite3, {BATCH:,} a transaction) | {RAW:,} | {RAW / raw:.0f} s | {raw:,.0f}/s | 100 % | — | {raw_wal} MiB |")
        print(f"| API, {CLIENTS} clients, {BATCH:,} a signed call | {state['accepted']:,} | {api_s:.0f} s | {api_rate:,.0f}/s | {api_rate / raw * 100:.0f} % | {api_rss} MiB | {api_wal} MiB |")
        print(f"| file import (`cmis import-learning`) | {calls * BATCH:,} | {file_s:.0f} s | {file_rate:,.0f}/s | {file_rate / raw * 100:.0f} % | {file_rss} MiB | {file_wal} MiB |")
        p = lambda q: ms[min(len(ms) - 1, int(len(ms) * q))]
        print()
        print(f"学时查询 (GET /me/learning-hours, 50 CPAs, 2,000 calls, one client) with {total:,} records: "
              f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {ms[-1]:.1f} ms; API call of {BATCH:,}: "
              f"median {statistics.median(state['ms']):.0f} ms, max {max(state['ms']):.0f} ms.")
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
