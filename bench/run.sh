#!/usr/bin/env bash
# Load scenarios at national scale against a release build, with the
# reference server in the same run. Prints a markdown table to paste into
# bench/README.md, and keeps it in bench/results/.
#   bench/run.sh            # 20 s a scenario, 32 concurrent clients, SQLite
#   SECONDS_EACH=60 CONCURRENCY=64 bench/run.sh
#   DB=postgres INSTANCES=2 MEMBERS=30000 FIRMS=1000 \
#     SCENARIOS="admission-submit inspection-submit batch-pass" bench/run.sh
# The reference runs first, every time: each row shows its ratio to it.
# With DB=postgres an ephemeral PostgreSQL (scripts/pg) is started, the data
# set generated into it, and INSTANCES servers share it; clients are spread
# over them round robin.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-20}
conc=${CONCURRENCY:-32}
members=${MEMBERS:-300000}
firms=${FIRMS:-10000}
db=${DB:-sqlite}
instances=${INSTANCES:-1}

cargo build --release -q -p cmis -p cmis-bench
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
mkdir -p bench/results
export CMIS_DEMO_ON_FIRST_START=false
export CMIS_LOG_FORMAT=json
export CMIS_TRUST_FORWARDED=true   # loadgen sends each browser's own address
# The development face provider, served by the system itself (cpa-face).
export CMIS_FACE__PROVIDER=dev CMIS_FACE__SECRET=bench-face-secret-0123
export RUST_LOG=warn
unset DATABASE_URL

notes=()
if [ "$db" = postgres ]; then
  eval "$(scripts/pg start)"
  trap 'scripts/pg stop "$CMIS_PG_DIR"' EXIT
  data=$(mktemp -d /tmp/cmis-bench.XXXXXX)
  export CMIS_DATABASE_URL=$CMIS_TEST_PG_URL
  sql() { psql -qAt "$CMIS_DATABASE_URL" -c "$1"; }
  fresh=1
else
  data=${BENCH_DATA:-$PWD/bench/data}
  mkdir -p "$data"
  export CMIS_DATABASE_URL="sqlite://$data/national-$members.sqlite3?mode=rwc"
  db_file=${CMIS_DATABASE_URL#sqlite://}; db_file=${db_file%%\?*}
  sql() { python3 -c 'import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, r)))' "$db_file" "$1"; }
  fresh=0
  [ -f "$data/national-$members.done" ] || fresh=1
fi
export CMIS_CONFIG=$data/absent.toml
export CMIS_DATA_DIR=$data   # keys (pii.key, sign.key) and files/ live here

if [ "$fresh" = 1 ]; then
  echo "generating $members members and $firms firms…"
  start=$(date +%s)
  /usr/bin/time -f "%M" -o "$data/gen.rss" "$bin/cmis" demo --members "$members" --firms "$firms" --max-cpas-per-firm 21
  echo "$(( $(date +%s) - start )) s, peak RSS $(( $(cat "$data/gen.rss") / 1024 )) MiB" > "$data/national-$members.done"
  # Every run starts from the data set as generated: submissions use members up.
  [ "$db" = sqlite ] && python3 -c 'import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); s.execute("pragma wal_checkpoint(truncate)"); s.execute("vacuum into ?", (sys.argv[2],))' "$db_file" "$data/pristine-$members.sqlite3"
fi
if [ "$db" = sqlite ]; then
  rm -f "$db_file-wal" "$db_file-shm"
  cp "$data/pristine-$members.sqlite3" "$db_file"
fi
notes+=("data set: generated in $(cat "$data/national-$members.done")")
"$bin/cmis" accounts --type member --limit 20000 --links | grep -v '^{' > "$data/accounts.txt"
# Members who may apply for 2025 (hours done, nothing applied yet); each submission uses one up.
sql "select m.cert_no from members m where m.status = 'active' and m.admitted_on < '2025-07-01'
  and not exists (select 1 from review_cases c where c.kind = 'member_inspection' and c.member_id = m.id and c.year = 2025)
  and (select coalesce(sum(l.hours_x100), 0) from learning_records l
       where l.member_id = m.id and l.year = 2025 and l.kind = 'record') >= 4000
  limit 14000" > "$data/ready.txt"
head -n 4000 "$data/ready.txt" > "$data/inspection-accounts.txt"
# CPAs who may apply for 2025 online (the year's hours, a document the face check takes).
sql "select c.cpa_no from cpas c where c.status = 'active' and c.id_type in ('resident', 'residence_permit')
  and not exists (select 1 from cpa_checks k where k.cpa_id = c.id and k.year = 2025)
  and (select coalesce(sum(l.hours_x100), 0) from learning_records l
       where l.cpa_id = c.id and l.year = 2025 and l.kind = 'record') >= 4000
  limit 8000" > "$data/cpa-accounts.txt"
tail -n +4001 "$data/ready.txt" | head -n "${DEADLINE_MEMBERS:-10000}" > "$data/deadline-accounts.txt"
# Applications waiting for each provincial association, for 批量通过.
sql "select 'staff'||a.code||'|'||c.id from review_cases c join associations a on a.id = c.association_id
  where c.kind = 'member_inspection' and c.state = 'submitted' and c.year = 2025 order by a.code, c.id" > "$data/batch-ids.txt"
# The regulator's data at this scale, synchronised into an empty database and
# then again (nothing changed): time and peak memory of `cmis sync`.
if [ "${SYNC:-1}" = 1 ]; then
  sync_dir=$(mktemp -d /tmp/cmis-sync.XXXXXX)
  sync_env=(env CMIS_DATABASE_URL="sqlite://$sync_dir/sync.sqlite3?mode=rwc" CMIS_DATA_DIR="$sync_dir")
  "${sync_env[@]}" "$bin/cmis" regulator-file --firms "$firms" --max-cpas-per-firm 21 --out "$sync_dir/regulator.jsonl" >/dev/null
  records=$(wc -l < "$sync_dir/regulator.jsonl")
  mb=$(( $(stat -c %s "$sync_dir/regulator.jsonl") / 1024 / 1024 ))
  timings=()
  for pass in 1 2; do
    start_ms=$(date +%s%3N)
    "${sync_env[@]}" /usr/bin/time -f "%M" -o "$sync_dir/rss" "$bin/cmis" sync --file "$sync_dir/regulator.jsonl" > "$sync_dir/out.$pass"
    timings+=("$(( ($(date +%s%3N) - start_ms) / 100 ))" "$(( $(cat "$sync_dir/rss") / 1024 ))")
  done
  notes+=("regulator synchronisation of $records records ($mb MB of JSON lines; $(sed 's/（.*//' "$sync_dir/out.1")): into an empty database $(( timings[0] / 10 )).$(( timings[0] % 10 )) s, peak RSS ${timings[1]} MiB ($(sed 's/.*）：//' "$sync_dir/out.1")); the same file again $(( timings[2] / 10 )).$(( timings[2] % 10 )) s, peak RSS ${timings[3]} MiB ($(sed 's/.*）：//' "$sync_dir/out.2"))")
  rm -rf "$sync_dir"
fi
counts=$(sql "select (select count(*) from members)||' members, '||(select count(*) from firms)||' firms, '||(select count(*) from cpas)||' CPAs, '||(select count(*) from users)||' accounts'")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_up() { for _ in $(seq 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server did not start" >&2; exit 1; }
peak_mib() { local t=0 p; for p in "$@"; do t=$(( t + $(awk '/VmHWM/ { printf "%d", $2/1024 }' "/proc/$p/status") )); done; echo "$t"; }

rows=()
ref_rate=""
argon2_rate=""
# The goal of each row (issue: fast at the deadline), beside its ratio.
goal() {
  case $1 in
    portal) echo "≥ 60 %, p99 < 10 ms";;
    home) echo "≥ 50 %";;
    inspection-submit) echo "≥ 500/s, p99 < 100 ms";;
    review-queue) echo "p99 < 50 ms";;
    login) echo "≥ 90 % of argon2id";;
    admission-progress) echo "≥ 40 %";;
    qr|verify) echo "≥ 60 %, p99 < 25 ms";;
    deadline) echo "0 errors, 400,000 < 15 min";;
    *) echo "";;
  esac
}
measure() { # label scenario urls pids…
  local row accounts=$data/accounts.txt label=$1 scenario=$2 urls=$3 rate ratio seconds=$secs
  shift 3
  [ "$scenario" = inspection-submit ] && accounts=$data/inspection-accounts.txt
  [ "$scenario" = deadline ] && accounts=$data/deadline-accounts.txt && seconds=${DEADLINE_SECONDS:-300}
  [ "$scenario" = batch-pass ] && accounts=$data/batch-ids.txt
  [ "$scenario" = cpa-face ] && accounts=$data/cpa-accounts.txt
  row=$("$bin/loadgen" --url "$urls" --scenario "$scenario" --seconds "$seconds" --concurrency "$conc" --accounts "$accounts" \
    --business-numbers "$data/business-numbers-$members.txt" --label "$label" 2>>"$data/loadgen.log")
  rate=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $3); print $3 }')
  rate=${rate:-0}
  case $scenario in
    reference) ref_rate=$rate; ratio="100 %";;
    deadline) ratio="—";;
    login) ratio="$(( rate * 100 / (argon2_rate > 0 ? argon2_rate : 1) )) % of argon2id";;
    *) ratio="$(( rate * 100 / (ref_rate > 0 ? ref_rate : 1) )) %";;
  esac
  rows+=("${row} $(peak_mib "$@") | $ratio | $(goal "$scenario") |")
}

# The reference first, so that every row carries its ratio to it.
ref_db=$CMIS_DATABASE_URL
[ "$db" = sqlite ] && ref_db="sqlite://$db_file"
port=$(free_port)
"$bin/reference" --database "$ref_db" --listen "127.0.0.1:$port" &
pid=$!
wait_up "http://127.0.0.1:$port/ref/x"
measure "reference: bare axum, one indexed query + one template" reference "http://127.0.0.1:$port" "$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true
# argon2id alone, at the server's parameters, one thread per core: login's ceiling.
rows+=("$("$bin/loadgen" --url http://127.0.0.1:1 --scenario argon2 --seconds "$secs" --accounts "$data/accounts.txt" \
  --label "argon2id verification alone (default parameters, one thread per core)") — | — | |")
argon2_rate=$(echo "${rows[-1]}" | awk -F'|' '{ gsub(/ /, "", $3); print $3 }')

for scenario in ${SCENARIOS:-portal login home admission-submit admission-progress inspection-submit review-queue qr verify cpa-face deadline}; do
  start_ms=$(date +%s%3N)
  urls=() pids=()
  for _ in $(seq "$instances"); do
    port=$(free_port)
    CMIS_LISTEN=127.0.0.1:$port "$bin/cmis" serve --e2e-fixed-captcha 2468 >/dev/null 2>>"$data/serve.log" &
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
    wait_up "http://127.0.0.1:$port/healthz"
  done
  [ "$scenario" = portal ] && notes+=("start-up on this data set (process start to /healthz answering): $(( $(date +%s%3N) - start_ms )) ms")
  case $scenario in
    portal) label="portal page (GET /: login box and notices; the captcha is drawn on first use)";;
    login) label="login (POST /login: captcha, throttle, argon2id, audit)";;
    home) label="logged-in home page (GET /home)";;
    admission-submit) label="入会申请 submit (multipart POST /member-admission/apply, 1 KB photo)";;
    admission-progress) label="入会申请进度查询 by business number (POST)";;
    inspection-submit) label="年检 submission: 1 MiB material upload + 确认申请 (member ready, untimed login)";;
    review-queue) label="年检审核 queue, CICPA scope (GET /association/member-inspections, 50 pages)";;
    batch-pass) label="批量通过 of 200 selected applications (POST /association/member-inspections/batch)";;
    qr) label="public 年检 QR page (GET /q/{payload})";;
    verify) label="public certificate check (GET /v/{payload})";;
    deadline) label="deadline: whole flow per member (login, 首页, 年检申请, 1 MiB upload, 确认申请, logout)";;
    cpa-face) label="注册会计师年检: 确认申请 with its face check passed on the provider's page (8 requests and the provider's notification to the server)";;
  esac
  [ "$instances" -gt 1 ] && label="$label, $instances instances"
  measure "$label" "$scenario" "$(IFS=,; echo "${urls[*]}")" "${pids[@]}"
  for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
done


cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
out=bench/results/$(date +%F-%H%M).md
{
  echo "Run $(date '+%F %H:%M %Z'), commit $(git rev-parse --short HEAD), $(nproc) cores ($cpu), $(free -g | awk '/Mem/ {print $2}') GiB."
  echo "Database: $db, $counts. Release build; load generator on the same machine, $conc concurrent clients, ${secs} s a scenario, $instances instance(s)."
  for n in "${notes[@]}"; do echo "${n^}."; done
  echo
  echo "| scenario | requests/s | p50 ms | p99 ms | errors | peak RSS MiB | of the reference | goal |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  printf '%s\n' "${rows[@]}"
} | tee "$out"
[ "$db" = postgres ] && rm -rf "$data"
exit 0
