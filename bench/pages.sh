#!/usr/bin/env bash
# Pages beside their JSON twins: each page is measured right after the API request that carries
# the same data, wrk at concurrency 32 (2 threads), on SQLite (and PostgreSQL with BACKENDS):
#  - profile:  the public profile page of a therapist with 500 past and future appointments,
#              `/therapists/{id}` (7 days of free times, reviews, services), against the JSON
#              availability of the same 7 days (`/api/v1/therapists/{id}/availability`) and
#              the JSON profile (`/api/v1/therapists/{id}`);
#  - search:   the search results page `/therapists?...` against `/api/v1/therapists?...`, the
#              search mix of bench/run.sh (5 filter combinations over the 40 largest cities);
#  - book:     the booking form `/book?therapist=..&service=..&start=..` of a logged-in,
#              verified client (page session cookie), against the JSON profile the API client
#              reads before it books (`/api/v1/therapists/{id}`: the therapist, the service, the
#              cancellation window), sent with the same client's bearer token.
# Anonymous page requests carry no cookie (a first visit: the server mints the CSRF cookie).
# Each line prints req/s, p50, p99 and the share of the twin's req/s.
#
#   bash bench/pages.sh                       # release build, 20,000 therapists, SQLite, 8 s a run
#   DB=/tmp/pages.db bash bench/pages.sh      # keep the seeded SQLite database (reused next time)
#   BIN=target/debug/bodywork THERAPISTS=2000 DURATION=2 bash bench/pages.sh   # does it work?
#   ROUNDS=3 ...                              # each pair that many times, alternating
#
# Needs wrk (installed with apt-get when missing), curl and python3; for PostgreSQL, a server at
# PG_SERVER_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
THERAPISTS=${THERAPISTS:-20000}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-1}
BACKENDS=${BACKENDS:-sqlite}
PG_SERVER_URL=${PG_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18082}
DB=${DB:-}
WORK=$(mktemp -d /tmp/bodywork-pages.XXXXXX)
BIN=${BIN:-}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/bodywork
fi
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
# The answers key must stay with a kept database (its seeded bookings' answers are sealed by it).
export BODYWORK_ANSWERS_KEY_FILE=${DB:+$DB.answers.key}
export BODYWORK_ANSWERS_KEY_FILE=${BODYWORK_ANSWERS_KEY_FILE:-$WORK/answers.key}
export BODYWORK_LOGIN_PER_IP_PER_MINUTE=1000

# One wrk script per list of paths, with optional headers (a Lua table body).
script() { # file headers path...
  local file=$1 headers=$2; shift 2
  {
    echo "paths = {"
    for p in "$@"; do echo "  [==[$p]==],"; done
    echo "}"
    echo "headers = {$headers}"
    cat <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end
LUA
  } >"$file"
}

RPS=
measure() { # name script
  local out rps p50 p99 non2xx
  out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -s "$2" "http://127.0.0.1:$PORT" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  RPS=$rps
  printf '%-8s %-22s c=32 %10s req/s   p50 %-9s p99 %-9s %s' "$BACKEND" "$1" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
}
pair() { # page-name page-script twin-name twin-script
  local twin
  measure "$3" "$4"; twin=$RPS; echo
  measure "$1" "$2"
  awk -v p="$RPS" -v t="$twin" 'BEGIN { printf "  %3.0f%% of the twin\n", 100 * p / t }'
}

for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite)
      file=${DB:-$WORK/bench.db}
      export DATABASE_URL="sqlite://$file"
      if [ -n "$DB" ] && [ -f "$DB" ]; then
        echo "== sqlite: reusing $DB"
        seeded=$(cat "$DB.seeded")
      else
        echo "== sqlite: seeding $THERAPISTS therapists and a busy one"
        seeded=$("$BIN" seed --therapists "$THERAPISTS" --busy-appointments 500 | tail -n 1)
        [ -n "$DB" ] && echo "$seeded" >"$DB.seeded"
      fi ;;
    postgres)
      psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_pages WITH (FORCE)" -c "CREATE DATABASE bodywork_pages" >/dev/null
      export DATABASE_URL="${PG_SERVER_URL%/*}/bodywork_pages"
      echo "== postgres: seeding $THERAPISTS therapists and a busy one"
      seeded=$("$BIN" seed --therapists "$THERAPISTS" --busy-appointments 500 | tail -n 1)
      psql "$DATABASE_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null ;;
    *) echo "unknown backend $BACKEND"; exit 1 ;;
  esac
  echo "$seeded"
  T=$(echo "$seeded" | sed 's/.*busy_therapist=\([0-9]*\).*/\1/')
  S=$(echo "$seeded" | sed 's/.*busy_service=\([0-9]*\).*/\1/')
  BODYWORK_MAIL_WORKER=false BODYWORK_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
    "$BIN" serve --addr "127.0.0.1:$PORT" >"$WORK/server-$BACKEND.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

  # A verified client, logged in through the API (bearer token) and through the login page
  # (session cookie), and a free time of the busy therapist three days or more ahead.
  python3 - "$PORT" "$WORK" "$T" "$S" <<'PY'
import datetime, json, os, re, subprocess, sys, urllib.parse, urllib.request, http.cookiejar
port, work, t, s = sys.argv[1:5]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r: return json.loads(r.read() or b"null")
email, password = "pages-bench@example.com", "pages-bench-password-1"
try:
    call("POST", "/api/v1/auth/register", {"email": email, "password": password, "name": "Pages Bench", "role": "client"})
except urllib.error.HTTPError:
    pass  # a kept database has the client already
url = os.environ["DATABASE_URL"]
sql = f"UPDATE users SET email_verified_at = CURRENT_TIMESTAMP WHERE email = '{email}'"
if url.startswith("sqlite://"):
    import sqlite3
    db = sqlite3.connect(url[len("sqlite://"):]); db.execute(sql); db.commit(); db.close()
else:
    subprocess.run(["psql", url, "-qc", sql], check=True)
token = call("POST", "/api/v1/auth/login", {"email": email, "password": password})["token"]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
form = opener.open(base + "/login").read().decode()
csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
opener.open(base + "/login", urllib.parse.urlencode({"csrf_token": csrf, "email": email, "password": password, "next": "/"}).encode())
cookie = "; ".join(f"{c.name}={c.value}" for c in jar if c.name in ("bw_session", "bw_csrf"))
assert "bw_session" in cookie, "the page login gave no session cookie"
start = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
end = (datetime.date.today() + datetime.timedelta(days=10)).isoformat()
slot = call("GET", f"/api/v1/therapists/{t}/availability?service_id={s}&from={start}&to={end}")["slots"][0]["starts_at"]
with open(f"{work}/client", "w") as f:
    f.write(f"TOKEN='{token}'\nCOOKIE='{cookie}'\nSTART='{urllib.parse.quote(slot, safe='')}'\n")
PY
  . "$WORK/client"

  FROM=$(date -u +%F); TO=$(date -u -d "+6 days" +%F)
  script "$WORK/profile.lua" "" "/therapists/$T"
  script "$WORK/availability.lua" "" "/api/v1/therapists/$T/availability?service_id=$S&from=$FROM&to=$TO"
  script "$WORK/therapist.lua" "" "/api/v1/therapists/$T"
  script "$WORK/book.lua" "[\"Cookie\"] = \"$COOKIE\"" "/book?therapist=$T&service=$S&start=$START"
  script "$WORK/therapist-token.lua" "[\"Authorization\"] = \"Bearer $TOKEN\"" "/api/v1/therapists/$T"
  DAY=$(date -u -d "+7 days" +%F)
  CITIES=$(awk -F'\t' '!/^#/ && n++ < 40 {print $1 "," $2}' data/us_cities.tsv | sed 's/ /%20/g; s/,/%2C%20/')
  TECHS="swedish deep-tissue shiatsu hot-stone trigger-point prenatal"
  queries=()
  i=0
  for city in $CITIES; do
    set -- $TECHS; shift $((i % 6)); tech=$1
    queries+=("technique=$tech&near=$city&radius_km=25"
              "technique=$tech&near=$city&radius_km=25&min_hours=500"
              "technique=$tech&near=$city&radius_km=15&available_on=$DAY"
              "near=$city&radius_km=25&q=back"
              "technique=$tech&near=$city&radius_km=25&min_rating=4&sort=rating")
    i=$((i + 1))
  done
  script "$WORK/search-api.lua" "" "${queries[@]/#//api/v1/therapists?}"
  script "$WORK/search-page.lua" "" "${queries[@]/#//therapists?}"
  for path in "/therapists/$T" "/therapists?${queries[0]}"; do
    printf 'check %-60s %s\n' "$path" "$(curl -s -o /dev/null -w '%{http_code} %{size_download} bytes' "http://127.0.0.1:$PORT$path")"
  done
  printf 'check %-60s %s\n' "/book (logged in)" "$(curl -s -o /dev/null -w '%{http_code} %{size_download} bytes' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/book?therapist=$T&service=$S&start=$START")"
  # A first pass warms the caches (the schedule of the busy therapist, the searched places).
  DURATION=2 measure warm-up "$WORK/search-page.lua" >/dev/null
  DURATION=2 measure warm-up "$WORK/profile.lua" >/dev/null

  for round in $(seq 1 "$ROUNDS"); do
    [ "$ROUNDS" -gt 1 ] && echo "-- round $round"
    pair profile-page "$WORK/profile.lua" availability-7d "$WORK/availability.lua"
    pair profile-page "$WORK/profile.lua" api-therapist "$WORK/therapist.lua"
    pair search-page "$WORK/search-page.lua" search-api "$WORK/search-api.lua"
    pair booking-form "$WORK/book.lua" api-therapist+token "$WORK/therapist-token.lua"
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  [ "$BACKEND" = postgres ] && psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_pages WITH (FORCE)" >/dev/null
done
