#!/usr/bin/env python3
"""事务所年检复核 at the largest firm's scale, on the national data set.

A firm of 2,000 CPAs (synchronised from a regulator file into a copy of the
bench's national SQLite database) has every CPA's application waiting for it;
it sends them all in one batch (全部申请), the province opens the batch and
passes it. Each step is timed from the client over the JSON API of a release
build, with the pages the firm and the province look at around it: 注师待审核,
年检信息查询, the firm's home, the province's 年检批次审核 queue and the batch.

    cargo build --release -p cmis
    bench/firm-batch.py            # needs bench/data from bench/run.sh

Reads bench/data/pristine-300000.sqlite3 and its keys; writes only in a
temporary directory.
"""
import base64
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("BENCH_DATA", os.path.join(ROOT, "bench", "data"))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "cmis")
CPAS = int(os.environ.get("CPAS", "2000"))
FIRM = "44019999"
YEAR = 2025
NOW = "2026-06-15T10:00:00+08:00"
PDF = b"%PDF-1.4\n%%EOF\n"


def id_number(i):
    body = f"440106198001{1 + i % 28:02d}{i // 28 % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[s % 11]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    def __init__(self, url):
        self.url = url

    def call(self, method, path, token=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        ms = (time.perf_counter() - start) * 1000
        return status, (json.loads(raw) if raw else None), ms

    def login(self, user_type, login):
        _, cap, _ = self.call("GET", "/captcha")
        body = {"user_type": user_type, "login_name": login, "password": "Cmis2026", "captcha_id": cap["id"], "captcha": "2468"}
        status, r, _ = self.call("POST", "/auth/login", body=body)
        assert status == 200, r
        return r["token"]


def timed(api, label, method, path, token, body=None, times=1, want=(200, 204)):
    runs = []
    for _ in range(times):
        status, r, ms = api.call(method, path, token, body)
        assert status in want, (label, status, r)
        runs.append(ms)
    return label, runs, r


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release -p cmis")
    tmp = tempfile.mkdtemp(prefix="cmis-firm-batch.")
    try:
        for f in ("pii.key", "sign.key"):
            shutil.copy(os.path.join(DATA, f), tmp)
        db = os.path.join(tmp, "national.sqlite3")
        shutil.copy(os.path.join(DATA, "pristine-300000.sqlite3"), db)
        env = dict(os.environ, CMIS_CONFIG=os.path.join(tmp, "absent.toml"), CMIS_DATA_DIR=tmp,
                   CMIS_DATABASE_URL=f"sqlite://{db}?mode=rwc", CMIS_DEMO_ON_FIRST_START="false", RUST_LOG="warn")
        env.pop("DATABASE_URL", None)

        # The firm and its CPAs, as the regulator sends them.
        lines = [json.dumps({"kind": "firm", "firm_no": FIRM, "firm_name": "广州测试大型会计师事务所", "form": "合伙"})]
        for i in range(CPAS):
            lines.append(json.dumps({"kind": "cpa", "cpa_no": f"{FIRM}{i:04d}", "name": "注师" + "".join("〇一二三四五六七八九"[int(d)] for d in str(i)), "id_type": "中国身份证",
                                     "id_number": id_number(i), "firm_no": FIRM, "registered_on": "2012-03-01",
                                     "mobile": f"139{i:08d}"}, ensure_ascii=False))
        feed = os.path.join(tmp, "regulator.jsonl")
        with open(feed, "w") as f:
            f.write("\n".join(lines))
        start = time.perf_counter()
        out = subprocess.run([BIN, "sync", "--file", feed], env=env, capture_output=True, text=True, check=True)
        sync_s = time.perf_counter() - start

        # Every CPA's application waiting for the firm (the CPA's own flow is measured by cpa-face).
        c = sqlite3.connect(db)
        firm_id, assoc, city = c.execute("select id, association_id, city_association_id from firms where firm_no = ?", (FIRM,)).fetchone()
        hash_ = c.execute("select password_hash from users where login_name = '44010001'").fetchone()[0]
        c.execute("update users set password_hash = ?, must_change_password = 0 where login_name = ?", (hash_, FIRM))
        now = "2026-06-15T02:00:00+00:00"
        rows = c.execute("select c.id, c.cpa_no, c.name, u.id from cpas c join users u on u.cpa_id = c.id where c.firm_id = ?", (firm_id,)).fetchall()
        for cpa_id, no, name, user_id in rows:
            cur = c.execute(
                "insert into review_cases (kind, state, year, association_id, city_association_id, firm_id, applicant_user_id, number, name,"
                " first_submitted_at, submitted_at, deadline, created_at, updated_at) values ('cpa_check', 'firm_review', ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-06-29', ?, ?)",
                (YEAR, assoc, city, firm_id, user_id, no, name, now, now, now, now))
            c.execute("insert into cpa_checks (case_id, cpa_id, year, retired, identity, hours_required_x100, hours_done_x100)"
                      " values (?, ?, ?, 0, 'in_person', 4000, 4000)", (cur.lastrowid, cpa_id, YEAR))
        c.commit()
        counts = c.execute("select (select count(*) from cpas), (select count(*) from review_cases)").fetchone()
        c.close()

        port = free_port()
        server = subprocess.Popen([BIN, "serve", "--e2e-fixed-captcha", "2468", "--e2e-clock", NOW],
                                  env=dict(env, CMIS_LISTEN=f"127.0.0.1:{port}"), stdout=subprocess.DEVNULL)
        try:
            api = Api(f"http://127.0.0.1:{port}")
            for _ in range(300):
                try:
                    urllib.request.urlopen(api.url + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            firm = api.login("firm", FIRM)
            province = api.login("staff", "staff44")
            results = []
            results.append(timed(api, "注师待审核, first page of 2,000 (GET /reviews/cpa-checks)", "GET", "/reviews/cpa-checks", firm, times=20))
            results.append(timed(api, "the firm's year at a glance (GET /firm/cpa-year)", "GET", "/firm/cpa-year", firm, times=20))
            pdf = {"label": "社保证明材料", "file_name": "社保证明.pdf", "data_base64": base64.b64encode(PDF).decode()}
            timed(api, "upload", "POST", "/firm/cpa-batch-materials/files", firm, pdf)
            label, runs, sent = timed(api, f"全部申请: one batch of {CPAS:,} CPAs (POST /firm/cpa-batches)", "POST", "/firm/cpa-batches", firm, {"all": True})
            assert sent["cpas"] == CPAS, sent
            results.append((label, runs, sent))
            bid = sent["id"]
            results.append(timed(api, "已提交省注协 (GET /firm/cpa-batches)", "GET", "/firm/cpa-batches", firm, times=20))
            results.append(timed(api, "年检批次审核 queue of the province (GET /reviews/cpa-batches)", "GET", "/reviews/cpa-batches", province, times=20))
            results.append(timed(api, "the batch, first page of its CPAs (GET /reviews/cpa-batches/{id})", "GET", f"/reviews/cpa-batches/{bid}", province, times=20))
            results.append(timed(api, f"审核通过: {CPAS:,} CPAs 年检通过, trail, messages, SMS (POST …/decision)", "POST",
                                 f"/reviews/cpa-batches/{bid}/decision", province, {"action": "pass"}))
            results.append(timed(api, "年检信息查询, first page (GET /firm/cpas)", "GET", "/firm/cpas", firm, times=20))
            results.append(timed(api, "注册会计师年检进度 of the province (GET /cpa-check-progress)", "GET", "/cpa-check-progress", province, times=10))
            rss = 0
            with open(f"/proc/{server.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM"):
                        rss = int(line.split()[1]) // 1024
        finally:
            server.terminate()
            server.wait()

        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        print(f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit}, {os.cpu_count()} cores ({cpu}).")
        print(f"SQLite, the national data set ({counts[0]:,} CPAs, {counts[1]:,} review cases) with a firm of {CPAS:,} CPAs "
              f"synchronised in {sync_s:.1f} s ({out.stdout.strip()}). One client, release build; peak RSS of the server {rss} MiB.")
        print()
        print("| step | runs | median ms | max ms |")
        print("| --- | ---: | ---: | ---: |")
        for label, runs, _ in results:
            print(f"| {label} | {len(runs)} | {statistics.median(runs):.1f} | {max(runs):.1f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
