#!/usr/bin/env bash
# Several servers behind nginx, and one of them killed under load.
#
# Starts PostgreSQL (when it is not running), seeds a directory, starts SERVERS `bodywork serve`
# processes on one database behind nginx (Debian's package, the site of deploy/nginx-bodywork.conf
# with loopback ports), and an SMTP sink that records every message it receives. Then:
#  1. a mixed load through nginx for DURATION seconds, one wrk per kind of request, run at once:
#     searches (API), availability (API), pages (profile and search result pages), logins and
#     bookings (each to a distinct free slot, with an Idempotency-Key); throughput and latency
#     per kind;
#  2. the same load again, and KILL_AT seconds in one server is killed with SIGKILL. Reported:
#     requests that failed (status 5xx in nginx's log, and which server they were on), double
#     bookings (overlapping active appointments of one therapist, counted in the database: must
#     be 0), mails received twice by the sink (the same Message-ID twice: must be 0, counted
#     after the survivors have sent everything due, the dead server's claims included), mails
#     in doubt (the one the killed server was handing to the SMTP server, if any: not sent
#     again by itself; reported with whether the sink had received it), and the time from the
#     kill until the last failed request.
#
#   bash bench/cluster.sh                                   # release build, 20,000 therapists
#   THERAPISTS=2000 DURATION=5 BIN=target/debug/bodywork bash bench/cluster.sh   # a quick check
#   FROM_DB=bodywork_bench_1000000 bash bench/cluster.sh  # a copy of a database seeded before
#                                                         # (bench/run.sh's KEEP), not a new seed
#
# Needs: wrk, nginx, python3 with aiosmtpd (installed when missing), psql.
set -euo pipefail
cd "$(dirname "$0")/.."
THERAPISTS=${THERAPISTS:-20000}
DURATION=${DURATION:-15}
KILL_AT=${KILL_AT:-8}
SERVERS=${SERVERS:-3}
PG_SERVER_URL=${PG_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BASE_PORT=${BASE_PORT:-18400}
SMTP_PORT=$((BASE_PORT + 25))
PROXY="http://127.0.0.1:$BASE_PORT"
WORK=$(mktemp -d /tmp/bodywork-cluster.XXXXXX)
chmod 755 "$WORK"
DB=bodywork_cluster
BIN=${BIN:-}
# FROM_DB: a PostgreSQL database seeded before, copied as the cluster's database (CREATE DATABASE
# ... TEMPLATE) instead of seeding THERAPISTS anew.
FROM_DB=${FROM_DB:-}

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need wrk wrk
need nginx nginx
need psql postgresql-client
python3 -c 'import aiosmtpd' 2>/dev/null || pip install -q aiosmtpd 2>/dev/null || pip install -q --break-system-packages aiosmtpd
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/bodywork
fi

PIDS=()
NGINX_STARTED=
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$NGINX_STARTED" ] && nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null || true
  psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="${PG_SERVER_URL%/*}/$DB"
export BODYWORK_ANSWERS_KEY_FILE="$WORK/answers.key"
export SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
export BODYWORK_BASE_URL="$PROXY"
export BODYWORK_TRUSTED_PROXIES=127.0.0.1/32
# The load comes from one address and a few clients: lift the per-address and per-client limits
# for the measurement (they are measured by the tests, not here).
export BODYWORK_LOGIN_PER_IP_PER_MINUTE=1000000
export BODYWORK_BOOKINGS_PER_CLIENT_PER_HOUR=100000000
export BODYWORK_MAX_ACTIVE_BOOKINGS=100000000
# A short lease, so a dead server's claimed mails are taken over within the run.
export BODYWORK_MAIL_LEASE_SECONDS=10
export BODYWORK_MAIL_POLL_MS=200
export RUST_LOG=warn

psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
if [ -n "$FROM_DB" ]; then
  echo "== copying $FROM_DB ($(psql "${PG_SERVER_URL%/*}/$FROM_DB" -tAc "SELECT count(*) FROM therapists") therapists)"
  psql "$PG_SERVER_URL" -qc "CREATE DATABASE $DB TEMPLATE $FROM_DB" >/dev/null
  "$BIN" migrate >/dev/null
  psql "$DATABASE_URL" -qc "CHECKPOINT" >/dev/null
else
  psql "$PG_SERVER_URL" -qc "CREATE DATABASE $DB" >/dev/null
  echo "== seeding $THERAPISTS therapists on PostgreSQL"
  "$BIN" migrate >/dev/null
  "$BIN" seed --therapists "$THERAPISTS" | tail -n 1
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
fi

# The SMTP sink: one line per message received, its Message-ID.
cat >"$WORK/sink.py" <<'PY'
import asyncio, sys, email
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content)
        with open(sys.argv[2], "a") as f:
            f.write((msg.get("Message-ID") or "?") + "\n")
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
asyncio.get_event_loop().run_forever()
PY
: >"$WORK/received.log"
python3 "$WORK/sink.py" "$SMTP_PORT" "$WORK/received.log" &
PIDS+=($!)

start_server() { # index
  local port=$((BASE_PORT + $1))
  "$BIN" serve --addr "127.0.0.1:$port" >"$WORK/server-$1.log" 2>&1 &
  SERVER_PID[$1]=$!
  PIDS+=($!)
}
declare -A SERVER_PID
UPSTREAMS=
for i in $(seq 1 "$SERVERS"); do
  start_server "$i"
  UPSTREAMS+="    server 127.0.0.1:$((BASE_PORT + i)) max_fails=1 fail_timeout=5s;"$'\n'
done
for i in $(seq 1 "$SERVERS"); do
  for _ in $(seq 1 400); do curl -fs "http://127.0.0.1:$((BASE_PORT + i))/readyz" >/dev/null 2>&1 && break
    curl -fs "http://127.0.0.1:$((BASE_PORT + i))/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
done

# nginx: deploy/nginx-bodywork.conf's proxying, on loopback, without TLS, in the work folder.
mkdir -p "$WORK/nginx-temp"
chmod 777 "$WORK/nginx-temp"
cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $WORK/nginx-temp/body;
  proxy_temp_path $WORK/nginx-temp/proxy;
  fastcgi_temp_path $WORK/nginx-temp/fastcgi;
  uwsgi_temp_path $WORK/nginx-temp/uwsgi;
  scgi_temp_path $WORK/nginx-temp/scgi;
  log_format timing '\$msec \$status \$request_method \$upstream_addr \$upstream_status';
  access_log $WORK/access.log timing buffer=256k flush=1s;
  upstream bodywork {
$UPSTREAMS    keepalive 64;
  }
  server {
    listen 127.0.0.1:$BASE_PORT;
    location / {
      proxy_pass http://bodywork;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
    }
  }
}
NGINX
nginx -p "$WORK" -c "$WORK/nginx.conf"
NGINX_STARTED=1
for _ in $(seq 1 50); do curl -fs "$PROXY/healthz" >/dev/null && break; sleep 0.2; done

# Clients (verified), and for each run its own set of distinct free slots to book.
echo "== preparing clients, paths and slots"
python3 - "$PROXY" "$WORK" "$DATABASE_URL" <<'PY'
import datetime, itertools, json, random, subprocess, sys, urllib.parse, urllib.request, uuid
base, work, dburl = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r: return json.loads(r.read() or b"null")
clients = []
for i in range(8):
    email = f"load{i}@example.com"
    call("POST", "/api/v1/auth/register", {"email": email, "password": "cluster-load-password-1", "name": f"Load Client {i}", "role": "client"})
    clients.append(email)
subprocess.run(["psql", dburl, "-qc", "UPDATE users SET email_verified_at = now() WHERE email LIKE 'load%@example.com'"], check=True)
tokens = [call("POST", "/api/v1/auth/login", {"email": e, "password": "cluster-load-password-1"})["token"] for e in clients]
answers = {q["id"]: False for q in call("GET", "/api/v1/screening/questionnaire")["questions"]}
day = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
cities = []
for line in open("data/us_cities.tsv"):
    if line.startswith("#"): continue
    f = line.rstrip("\n").split("\t")
    cities.append(f"{f[0]}, {f[1]}")
    if len(cities) == 30: break
techs = ["swedish", "deep-tissue", "shiatsu", "hot-stone", "trigger-point", "prenatal"]
search, pages, avail, hits = [], [], [], []
for i, c in enumerate(cities):
    t = techs[i % len(techs)]
    q = urllib.parse.quote(c)
    search += [f"/api/v1/therapists?technique={t}&near={q}&radius_km=25",
               f"/api/v1/therapists?technique={t}&near={q}&radius_km=15&available_on={day}"]
    pages.append(f"/therapists?technique={t}&near={q}&radius_km=25")
    hits += call("GET", f"/api/v1/therapists?technique={t}&near={q}&radius_km=50&per_page=20&verified=any")["results"]
random.seed(7)
random.shuffle(hits)
start = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
end = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
per_therapist = []
for h in hits[:150]:
    t = call("GET", f"/api/v1/therapists/{h['id']}")
    if not t["services"]: continue
    svc = t["services"][0]
    pages.append(f"/therapists/{h['id']}")
    avail.append(f"/api/v1/therapists/{h['id']}/availability?service_id={svc['id']}&from={start}&to={end}")
    slots = call("GET", avail[-1])["slots"]
    mine, last = [], None
    for s in slots:
        st = datetime.datetime.fromisoformat(s["starts_at"])
        if last is None or st - last >= datetime.timedelta(minutes=svc["duration_min"] + 60):
            mine.append({"therapist_id": h["id"], "service_id": svc["id"], "starts_at": s["starts_at"],
                         "answers": answers, "clearance_confirmed": False, "cancellation_window_acknowledged": True})
            last = st
    per_therapist.append(mine)
bodies = [b for group in itertools.zip_longest(*per_therapist) for b in group if b is not None]
half = len(bodies) // 2
def lua_list(name, items):
    return name + " = {\n" + ",\n".join("[==[" + x + "]==]" for x in items) + "\n}\n"
common = 'counter = 0\nsetup = function(thread) end\n'
def get_script(name, paths):
    with open(f"{work}/{name}.lua", "w") as f:
        f.write(lua_list("paths", paths) + common +
                'request = function()\n  counter = counter + 1\n  return wrk.format("GET", paths[(counter % #paths) + 1])\nend\n')
get_script("search", search)
get_script("availability", avail)
get_script("pages", pages)
with open(f"{work}/logins.lua", "w") as f:
    f.write(lua_list("emails", clients) + common +
            'request = function()\n  counter = counter + 1\n  local body = \'{"email":"\' .. emails[(counter % #emails) + 1] .. \'","password":"cluster-load-password-1"}\'\n'
            '  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)\nend\n')
for run, part in (("1", bodies[:half]), ("2", bodies[half:])):
    with open(f"{work}/bookings{run}.lua", "w") as f:
        f.write(lua_list("bodies", [json.dumps(b) for b in part]) + lua_list("tokens", tokens) + common +
                'request = function()\n  counter = counter + 1\n'
                '  if counter > #bodies then return wrk.format("GET", "/healthz") end\n'
                '  local key = "' + uuid.uuid4().hex + '-" .. counter\n'
                '  return wrk.format("POST", "/api/v1/appointments", {["Content-Type"] = "application/json", '
                '["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1], ["Idempotency-Key"] = key}, bodies[counter])\nend\n')
print(f"{len(search)} search paths, {len(avail)} availability paths, {len(pages)} pages, {len(bodies)} distinct free slots ({half} per run)")
PY

report() { # kind concurrency wrk-output
  local rps p50 p99 non2xx errors
  rps=$(echo "$3" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$3" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$3" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$3" | awk '/Non-2xx/ {print $5}')
  errors=$(echo "$3" | awk '/Socket errors/ {print $0}' | sed 's/^ *//')
  printf '%-13s c=%-3s %9s req/s   p50 %-9s p99 %-9s %s %s\n' "$1" "$2" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}" "$errors"
}
# One wrk per kind, all at once; bookings on one thread, so each slot is posted once.
mixed_load() { # run-number
  local k
  wrk -t1 -c10 -d"${DURATION}s" --latency -s "$WORK/search.lua" "$PROXY" >"$WORK/out-search" 2>&1 &
  wrk -t1 -c8 -d"${DURATION}s" --latency -s "$WORK/availability.lua" "$PROXY" >"$WORK/out-availability" 2>&1 &
  wrk -t1 -c8 -d"${DURATION}s" --latency -s "$WORK/pages.lua" "$PROXY" >"$WORK/out-pages" 2>&1 &
  wrk -t1 -c2 -d"${DURATION}s" --latency -s "$WORK/logins.lua" "$PROXY" >"$WORK/out-logins" 2>&1 &
  wrk -t1 -c4 -d"${DURATION}s" --latency -s "$WORK/bookings$1.lua" "$PROXY" >"$WORK/out-bookings" 2>&1 &
  wait $(jobs -p | tail -n 5) 2>/dev/null || true
  for k in search:10 availability:8 pages:8 logins:2 bookings:4; do
    report "${k%%:*}" "${k##*:}" "$(cat "$WORK/out-${k%%:*}")"
  done
}

echo
echo "== run 1: mixed load through nginx, $SERVERS servers, ${DURATION} s"
mixed_load 1

echo
echo "== run 2: the same load; server 2 is killed (SIGKILL) ${KILL_AT} s in"
sleep 1
: >"$WORK/access.log.mark"
KILL_MARK=$(date +%s.%N)
( sleep "$KILL_AT"; date +%s.%N >"$WORK/killed_at"; kill -9 "${SERVER_PID[2]}" ) &
mixed_load 2
sleep 2  # nginx flushes its log every second
KILLED_AT=$(cat "$WORK/killed_at")
DEAD="127.0.0.1:$((BASE_PORT + 2))"
python3 - "$WORK/access.log" "$KILL_MARK" "$KILLED_AT" "$DEAD" <<'PY'
import sys, collections
log, mark, killed, dead = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rows = []
for line in open(log):
    p = line.split()
    if len(p) < 3: continue
    t, status, method = float(p[0]), int(p[1]), p[2]
    if t < mark: continue
    rows.append((t, status, method, p[3] if len(p) > 3 else "-"))
failed = [r for r in rows if r[1] >= 500]
on_dead = [r for r in failed if dead in r[3]]
by_kind = collections.Counter((r[2], r[1]) for r in failed)
before = [r for r in rows if killed - 5 <= r[0] < killed]
rate = len(before) / 5 if before else 0
last_fail = max((r[0] for r in failed), default=None)
# The first whole second after the kill in which requests were answered at 90% of the rate of
# the 5 seconds before it.
per_second = collections.Counter(int(r[0] - killed) for r in rows if r[0] >= killed and r[1] < 500)
carried = next((s for s in sorted(per_second) if per_second[s] >= 0.9 * rate), None)
print(f"requests in run 2: {len(rows)}; answered 5xx: {len(failed)} ({len(on_dead)} of them on the killed server {dead})")
for (m, s), n in sorted(by_kind.items()):
    print(f"  {m} {s}: {n}")
if last_fail is not None:
    print(f"last failed request {1000 * (last_fail - killed):.0f} ms after the kill")
print(f"rate before the kill {rate:.0f} req/s; the survivors answered at 90% of it from second {carried} after the kill" if carried is not None
      else f"rate before the kill {rate:.0f} req/s; the survivors did not reach 90% of it within the run")
PY

# Mails: wait until nothing due is left and nothing is being sent (the survivors send the
# rest, and the dead server's claims once their lease has run out; its send in progress is then
# put in doubt), up to MAIL_WAIT seconds.
waited=0
while :; do
  due=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM outbox WHERE (status = 'queued' AND send_after <= now()) OR status = 'sending'")
  [ "$due" = 0 ] || [ "$waited" -ge "${MAIL_WAIT:-600}" ] && break
  sleep 2; waited=$((waited + 2))
done
if [ "$due" = 0 ]; then
  echo "the outbox was drained ${waited} s after the load"
else
  echo "the outbox was not drained within MAIL_WAIT (${waited} s): $due mails still due"
fi
sent=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM outbox WHERE status = 'sent'")
received=$(wc -l <"$WORK/received.log")
twice=$(sort "$WORK/received.log" | uniq -d | wc -l)
double=$(psql "$DATABASE_URL" -tAc "
  SELECT count(*) FROM appointments a JOIN appointments b
    ON a.therapist_id = b.therapist_id AND a.id < b.id
   AND a.status IN ('requested', 'confirmed') AND b.status IN ('requested', 'confirmed')
   AND a.starts_at < b.blocked_until AND b.starts_at < a.blocked_until")
booked=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM appointments a JOIN users u ON u.id = a.client_id WHERE u.email LIKE 'load%@example.com'")
echo "bookings made by the load: $booked; double bookings: $double"
psql "$DATABASE_URL" -tAc "SELECT message_id FROM outbox WHERE status = 'in_doubt'" | sed '/^$/d' >"$WORK/in_doubt.log"
in_doubt=$(wc -l <"$WORK/in_doubt.log")
doubt_arrived=$(sort -u "$WORK/received.log" | grep -cxFf "$WORK/in_doubt.log" || true)
echo "mails: $sent sent by the outbox, $received received by the sink, $twice received twice; still due: $due"
echo "mails in doubt (interrupted mid-send by the kill, not sent again by themselves): $in_doubt, of which the sink had received $doubt_arrived"
[ "$double" = 0 ] && [ "$twice" = 0 ] || { echo "FAILED: double bookings or mails received twice"; exit 1; }
