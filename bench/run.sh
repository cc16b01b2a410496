#!/usr/bin/env bash
# Load scenarios at national scale against a release build, with the
# reference server in the same run. Prints a markdown table to paste into
# bench/README.md, and keeps it in bench/results/.
#   bench/run.sh            # 20 s a scenario, 32 concurrent clients
#   SECONDS_EACH=60 CONCURRENCY=64 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-20}
conc=${CONCURRENCY:-32}
members=${MEMBERS:-300000}
firms=${FIRMS:-10000}

cargo build --release -q -p cmis -p cmis-bench
bin=$PWD/target/release
data=$PWD/bench/data
mkdir -p "$data" bench/results
export CMIS_CONFIG=$data/absent.toml
export CMIS_DATABASE_URL="sqlite://$data/national-$members.sqlite3?mode=rwc"
export CMIS_DATA_DIR=$data   # keys (pii.key, sign.key) and files/ live here
export CMIS_DEMO_ON_FIRST_START=false
export CMIS_LOG_FORMAT=json
export RUST_LOG=warn
unset DATABASE_URL

notes=()
if [ ! -f "$data/national-$members.done" ]; then
  echo "generating $members members and $firms firms (once)…"
  start=$(date +%s)
  /usr/bin/time -f "%M" -o "$data/gen.rss" "$bin/cmis" demo --members "$members" --firms "$firms" --max-cpas-per-firm 21
  echo "$(( $(date +%s) - start )) s, peak RSS $(( $(cat "$data/gen.rss") / 1024 )) MiB" > "$data/national-$members.done"
fi
notes+=("data set: generated in $(cat "$data/national-$members.done")")
"$bin/cmis" accounts --type member --limit 20000 > "$data/accounts.txt"
db_file=${CMIS_DATABASE_URL#sqlite://}; db_file=${db_file%%\?*}
# Members who may apply for 2025 (hours done, nothing applied yet); each submission uses one up.
sqlite3 "$db_file" "select m.cert_no from members m where m.status = 'active' and m.admitted_on < '2025-07-01'
  and not exists (select 1 from annual_inspections a where a.member_id = m.id and a.year = 2025)
  and (select coalesce(sum(l.hours), 0) from learning_records l where l.member_id = m.id and l.year = 2025 and l.kind = 'record') >= 40
  limit 4000" > "$data/inspection-accounts.txt"
counts=$(sqlite3 "$db_file" "select (select count(*) from members)||' members, '||(select count(*) from firms)||' firms, '||(select count(*) from cpas)||' CPAs, '||(select count(*) from users)||' accounts'")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_up() { for _ in $(seq 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server did not start" >&2; exit 1; }
peak_mib() { awk '/VmHWM/ { printf "%d", $2/1024 }' "/proc/$1/status"; }

rows=()
measure() { # label scenario url pid
  local row accounts=$data/accounts.txt
  [ "$2" = inspection-submit ] && accounts=$data/inspection-accounts.txt
  row=$("$bin/loadgen" --url "$3" --scenario "$2" --seconds "$secs" --concurrency "$conc" --accounts "$accounts" \
    --business-numbers "$data/business-numbers-$members.txt" --label "$1")
  rows+=("${row} $(peak_mib "$4") |")
}

for scenario in ${SCENARIOS:-portal login home admission-submit admission-progress inspection-submit review-queue}; do
  port=$(free_port)
  CMIS_LISTEN=127.0.0.1:$port "$bin/cmis" serve --e2e-fixed-captcha 2468 >/dev/null 2>"$data/serve.log" &
  pid=$!
  wait_up "http://127.0.0.1:$port/healthz"
  case $scenario in
    portal) label="portal page (GET /, captcha drawn and sealed)";;
    login) label="login (POST /login: captcha, throttle, argon2id, audit)";;
    home) label="logged-in home page (GET /home)";;
    admission-submit) label="入会申请 submit (multipart POST /admission/apply, 1 KB photo)";;
    admission-progress) label="入会申请进度查询 by business number (POST)";;
    inspection-submit) label="年检 submission: 1 MiB material upload + 确认申请 (member ready, untimed login)";;
    review-queue) label="年检审核 queue, CICPA scope (GET /association/inspections, 50 pages)";;
  esac
  measure "$label" "$scenario" "http://127.0.0.1:$port" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

port=$(free_port)
"$bin/reference" --database "sqlite://$db_file" --listen "127.0.0.1:$port" &
pid=$!
wait_up "http://127.0.0.1:$port/ref/x"
measure "reference: bare axum, one indexed query + one template" reference "http://127.0.0.1:$port" "$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
out=bench/results/$(date +%F-%H%M).md
{
  echo "Run $(date '+%F %H:%M %Z'), commit $(git rev-parse --short HEAD), $(nproc) cores ($cpu), $(free -g | awk '/Mem/ {print $2}') GiB."
  echo "Database: SQLite, $counts. Release build; load generator on the same machine, $conc concurrent clients, ${secs} s a scenario."
  for n in "${notes[@]}"; do echo "${n^}."; done
  echo
  echo "| scenario | requests/s | p50 ms | p99 ms | errors | peak RSS MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
} | tee "$out"
