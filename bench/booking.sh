#!/usr/bin/env bash
# The availability and booking benchmark, on SQLite and PostgreSQL:
#  - free slots for 31 days of a therapist with 500 past and future appointments
#    (GET /api/v1/therapists/{id}/availability), wrk at concurrency 1 and 32;
#  - booking throughput under load: wrk posts bookings to distinct free slots of many
#    therapists at concurrency 32 (every request a different slot; 201s per second).
#
#   bash bench/booking.sh            # THERAPISTS (default 20000), DURATION (10 s), BACKENDS
set -euo pipefail
cd "$(dirname "$0")/.."
THERAPISTS=${THERAPISTS:-20000}
DURATION=${DURATION:-10}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_SERVER_URL=${PG_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18081}
WORK=$(mktemp -d /tmp/bodywork-bench.XXXXXX)
BIN=target/release/bodywork
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release --quiet
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export BODYWORK_ANSWERS_KEY_FILE="$WORK/answers.key"
export BODYWORK_LOGIN_PER_IP_PER_MINUTE=1000
# One bench client books thousands of times: lift the per-client limits for the measurement.
export BODYWORK_BOOKINGS_PER_CLIENT_PER_HOUR=100000000
export BODYWORK_MAX_ACTIVE_BOOKINGS=100000000

report() { # name concurrency wrk-output
  local rps p50 p99 non2xx
  rps=$(echo "$3" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$3" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$3" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$3" | awk '/Non-2xx/ {print $5}')
  printf '%-10s %-14s c=%-3s %10s req/s   p50 %-9s p99 %-9s %s\n' "$BACKEND" "$1" "$2" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
}

for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite) export DATABASE_URL="sqlite://$WORK/bench.db" ;;
    postgres)
      psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_bench WITH (FORCE)" -c "CREATE DATABASE bodywork_bench" >/dev/null
      export DATABASE_URL="${PG_SERVER_URL%/*}/bodywork_bench" ;;
  esac
  echo "== $BACKEND: seeding $THERAPISTS therapists and a busy one"
  seeded=$("$BIN" seed --therapists "$THERAPISTS" --busy-appointments 500)
  # After a bulk load, as any operator would: fresh statistics and visibility maps, and the
  # load's dirty pages written out, so that autovacuum and a checkpoint do not land mid-run.
  [ "$BACKEND" = postgres ] && psql "$DATABASE_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  echo "$seeded"
  ids=$(echo "$seeded" | grep busy_therapist)
  T=$(echo "$ids" | sed 's/.*busy_therapist=\([0-9]*\).*/\1/')
  S=$(echo "$ids" | sed 's/.*busy_service=\([0-9]*\).*/\1/')
  # The mail worker runs (each booking's two mails are part of what a booking costs); its
  # .eml files go to the throwaway folder.
  BODYWORK_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
    "$BIN" serve --addr "127.0.0.1:$PORT" >"$WORK/server-$BACKEND.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  FROM=$(date -u +%F); TO=$(date -u -d "+30 days" +%F)
  URL="/api/v1/therapists/$T/availability?service_id=$S&from=$FROM&to=$TO"
  echo "slots in 31 days: $(curl -fs "http://127.0.0.1:$PORT$URL" | grep -o starts_at | wc -l)"
  echo "request = function() return wrk.format(\"GET\", \"$URL\") end" > "$WORK/avail.lua"
  for c in 1 32; do
    t=1; [ "$c" -gt 1 ] && t=2
    report availability-31d "$c" "$(wrk -t$t -c$c -d${DURATION}s --latency -s "$WORK/avail.lua" "http://127.0.0.1:$PORT")"
  done

  # Booking throughput: a client, and distinct non-overlapping free slots of many therapists.
  python3 - "$PORT" "$WORK/book.lua" <<'PY'
import itertools, json, sys, urllib.request, datetime
port, out = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r: return json.loads(r.read() or b"null")
call("POST", "/api/v1/auth/register", {"email": "bench@example.com", "password": "bench-password", "name": "Bench Client", "role": "client"})
token = call("POST", "/api/v1/auth/login", {"email": "bench@example.com", "password": "bench-password"})["token"]
answers = {q["id"]: False for q in call("GET", "/api/v1/screening/questionnaire")["questions"]}
start = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
end = (datetime.date.today() + datetime.timedelta(days=16)).isoformat()
per_therapist = []
for hit in call("GET", "/api/v1/therapists?near=New%20York&radius_km=50&per_page=100&verified=any")["results"] + \
           call("GET", "/api/v1/therapists?near=Los%20Angeles&radius_km=50&per_page=100&verified=any")["results"]:
    t = call("GET", f"/api/v1/therapists/{hit['id']}")
    if not t["services"]: continue
    svc = t["services"][0]
    slots = call("GET", f"/api/v1/therapists/{hit['id']}/availability?service_id={svc['id']}&from={start}&to={end}")["slots"]
    last = None
    mine = []
    per_therapist.append(mine)
    for s in slots:
        st = datetime.datetime.fromisoformat(s["starts_at"])
        if last is None or st - last >= datetime.timedelta(minutes=svc["duration_min"] + 60):
            mine.append(json.dumps({"therapist_id": hit["id"], "service_id": svc["id"], "starts_at": s["starts_at"], "answers": answers, "clearance_confirmed": False}))
            last = st
# Round robin over the therapists: clients book different therapists at the same time, as they
# do (32 clients on one therapist is what the race tests are for; on PostgreSQL those queue on the
# therapist's row, whose schedule_version each booking bumps).
bodies = [b for group in itertools.zip_longest(*per_therapist) for b in group if b is not None]
with open(out, "w") as f:
    f.write("bodies = {\n" + ",\n".join("[==[" + b + "]==]" for b in bodies) + "\n}\n")
    f.write('token = "' + token + '"\n')
    f.write('''counter = 0
request = function()
  counter = counter + 1
  if counter > #bodies then return wrk.format("GET", "/healthz") end
  return wrk.format("POST", "/api/v1/appointments", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, bodies[counter])
end
''')
print(f"{len(bodies)} distinct slots prepared")
PY
  # One connection per thread keeps the counter per thread distinct: use 1 thread.
  out=$(wrk -t1 -c32 -d5s --latency -s "$WORK/book.lua" "http://127.0.0.1:$PORT")
  report booking "32" "$out"
  booked=$(curl -fs -H "Authorization: Bearer $(grep '^token' "$WORK/book.lua" | cut -d'"' -f2)" "http://127.0.0.1:$PORT/api/v1/me/bookings" | grep -o '"id"' | wc -l)
  echo "$BACKEND booking: $booked bookings made in 5 s at concurrency 32 ($((booked / 5)) per second)"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  [ "$BACKEND" = postgres ] && psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_bench WITH (FORCE)" >/dev/null
done
