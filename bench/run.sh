#!/usr/bin/env bash
# The search benchmark: seeds 100,000 therapists, starts the release server, and drives it with
# wrk at concurrency 1 and 32, on SQLite and on PostgreSQL. For each backend it prints req/s,
# p50 and p99 of: /healthz (the ceiling: one SELECT 1), /api/v1/techniques (the one-query
# baseline: the catalogue table, like the Fortunes test of the TechEmpower benchmarks) and the
# search mix (technique + near + radius, + min_hours, + available_on, q, + min_rating sorted by
# rating).
#
#   bash bench/run.sh                      # both backends, 100,000 therapists, 10 s a run
#   THERAPISTS=20000 DURATION=5 BACKENDS=sqlite bash bench/run.sh
#   THERAPISTS=2000 DURATION=2 BIN=target/debug/bodywork bash bench/run.sh   # does the script work?
#
# Needs wrk (installed with apt-get when missing) and, for PostgreSQL, a server at PG_SERVER_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
THERAPISTS=${THERAPISTS:-100000}
DURATION=${DURATION:-10}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_SERVER_URL=${PG_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18080}
WORK=$(mktemp -d /tmp/bodywork-bench.XXXXXX)
# BIN: a binary already built (a quick check of the script with a debug build); otherwise the
# release build of this checkout (in CARGO_TARGET_DIR when set).
BIN=${BIN:-}
# A throwaway key for the screening answers of the seeded bookings, not one in the repository.
export BODYWORK_ANSWERS_KEY_FILE="$WORK/answers.key"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/bodywork
fi

SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The search mix: realistic filter combinations over the 40 largest cities.
DAY=$(date -u -d "+7 days" +%F)
CITIES=$(awk -F'\t' '!/^#/ && n++ < 40 {print $1 "," $2}' data/us_cities.tsv | sed 's/ /%20/g; s/,/%2C%20/')
TECHS="swedish deep-tissue shiatsu hot-stone trigger-point prenatal"
{
  echo "paths = {"
  i=0
  for city in $CITIES; do
    set -- $TECHS; shift $((i % 6)); t=$1
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=25\","
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=25&min_hours=500\","
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=15&available_on=$DAY\","
    echo "  \"/api/v1/therapists?near=$city&radius_km=25&q=back\","
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=25&min_rating=4&sort=rating\","
    i=$((i + 1))
  done
  echo "}"
  cat <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
LUA
} > "$WORK/mix.lua"
echo 'request = function() return wrk.format("GET", "/api/v1/techniques") end' > "$WORK/techniques.lua"
echo 'request = function() return wrk.format("GET", "/healthz") end' > "$WORK/healthz.lua"

run_wrk() { # name concurrency script
  local threads=1; [ "$2" -gt 1 ] && threads=2
  local out
  out=$(wrk -t"$threads" -c"$2" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$PORT" 2>&1)
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '%-10s %-12s c=%-3s %10s req/s   p50 %-9s p99 %-9s %s\n' "$BACKEND" "$1" "$2" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
}

for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite) export DATABASE_URL="sqlite://$WORK/bench.db" ;;
    postgres)
      psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_bench WITH (FORCE)" -c "CREATE DATABASE bodywork_bench" >/dev/null
      export DATABASE_URL="${PG_SERVER_URL%/*}/bodywork_bench" ;;
    *) echo "unknown backend $BACKEND"; exit 1 ;;
  esac
  echo "== $BACKEND: seeding $THERAPISTS therapists"
  "$BIN" seed --therapists "$THERAPISTS"
  # After a bulk load, as any operator would: fresh statistics and visibility maps, and the
  # load's dirty pages written out, so that autovacuum and a checkpoint do not land mid-run.
  [ "$BACKEND" = postgres ] && psql "$DATABASE_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  # The mail worker stays off: at its first start it would warn every seeded license that
  # expires within 30 days (a backlog of a few thousand mails), which is not what is measured.
  BODYWORK_MAIL_WORKER=false BODYWORK_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
    "$BIN" serve --addr "127.0.0.1:$PORT" >"$WORK/server-$BACKEND.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  echo "sample: $(curl -fs "http://127.0.0.1:$PORT/api/v1/therapists?technique=swedish&near=Boston&radius_km=25" | cut -c1-160)"
  for c in 1 32; do
    run_wrk healthz "$c" "$WORK/healthz.lua"
    run_wrk techniques "$c" "$WORK/techniques.lua"
    run_wrk search-mix "$c" "$WORK/mix.lua"
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_bench WITH (FORCE)" >/dev/null
  fi
done
