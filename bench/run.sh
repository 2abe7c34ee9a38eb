#!/usr/bin/env bash
# The search benchmark: seeds 100,000 therapists, starts the release server, and drives it with
# wrk at concurrency 1 and 32, on SQLite and on PostgreSQL. For each backend it prints req/s,
# p50 and p99 of: /healthz (the ceiling: one SELECT 1), /api/v1/techniques (the one-query
# baseline: the catalogue table, like the Fortunes test of the TechEmpower benchmarks) and the
# search mix (technique + near + radius, + min_hours, + available_on, q, + min_rating sorted by
# rating), the same mix at concurrency 32 with every request a query the page memo has not
# seen (mix-unseen), and the soonest sort near the same cities, with and without a day (soonest).
#
#   bash bench/run.sh                      # both backends, 100,000 therapists, 10 s a run
#   THERAPISTS=20000 DURATION=5 BACKENDS=sqlite bash bench/run.sh
#   THERAPISTS=2000 DURATION=2 BIN=target/debug/bodywork bash bench/run.sh   # does the script work?
#   THERAPISTS=1000000 KEEP=/var/tmp/bw1m bash bench/run.sh   # keeps (and reuses) the seeded databases
#
# Beside the wrk figures it prints the seed's time, how long the server took to answer /readyz,
# the server's memory (resident anonymous memory, and the SQLite file pages it maps, apart) at
# start and after the runs, and the first search of each of ten places on the cold server
# (concurrency 1, each place's first request).
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
# KEEP: a folder where the seeded databases stay between runs (SQLite's file; PostgreSQL's
# database bodywork_bench_<therapists> is then not dropped); a run finding one seeds nothing.
KEEP=${KEEP:-}
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

memory() { # pid: resident anonymous memory and mapped file pages, in MiB
  awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {printf "anonymous %d MiB, file pages %d MiB", a/1024, f/1024}' "/proc/$1/status"
}
now_ms() { date +%s%3N; }

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
# The same mix with every request a query the page memo has not seen (`DirectoryIndex::page_in`):
# the radius moves by a ten-millionth of a kilometre each time (the same therapists, another
# query), and each wrk thread counts from its own start.
sed -e 's|  return wrk.format("GET", paths\[(counter % #paths) + 1\])|  local p = paths[(counter % #paths) + 1]:gsub("radius_km=(%d+)", function(n) return string.format("radius_km=%.7f", tonumber(n) + 0.0000001 * (counter % 1000000)) end)\n  return wrk.format("GET", p)|' \
  "$WORK/mix.lua" > "$WORK/unseen.lua"
cat >> "$WORK/unseen.lua" <<'LUA'
local threads = 0
function setup(thread)
  thread:set("counter", threads * 500000)
  threads = threads + 1
end
LUA
# The soonest sort over the same cities, with and without a day: free time orders every
# candidate (no page memo), up to the tens of thousands of a big city's.
{
  echo "paths = {"
  i=0
  for city in $CITIES; do
    set -- $TECHS; shift $((i % 6)); t=$1
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=15&sort=soonest\","
    echo "  \"/api/v1/therapists?technique=$t&near=$city&radius_km=15&available_on=$DAY&sort=soonest\","
    i=$((i + 1))
  done
  echo "}"
  sed -n '/^counter = 0/,$p' "$WORK/mix.lua" | sed -n '1,5p'
} > "$WORK/soonest.lua"
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
  seeded=
  case $BACKEND in
    sqlite)
      if [ -n "$KEEP" ]; then
        mkdir -p "$KEEP"
        [ -s "$KEEP/bench-$THERAPISTS.db" ] && seeded=yes
        export DATABASE_URL="sqlite://$KEEP/bench-$THERAPISTS.db"
        cp -n "$KEEP/answers.key" "$WORK/answers.key" 2>/dev/null || true
      else
        export DATABASE_URL="sqlite://$WORK/bench.db"
      fi ;;
    postgres)
      db=bodywork_bench; [ -n "$KEEP" ] && db="bodywork_bench_$THERAPISTS"
      if [ -n "$KEEP" ] && psql "$PG_SERVER_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
         && [ -s "$KEEP/pg-$THERAPISTS.done" ]; then
        seeded=yes
        cp -n "$KEEP/answers.key" "$WORK/answers.key" 2>/dev/null || true
      else
        psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
      fi
      export DATABASE_URL="${PG_SERVER_URL%/*}/$db" ;;
    *) echo "unknown backend $BACKEND"; exit 1 ;;
  esac
  if [ -z "$seeded" ]; then
    echo "== $BACKEND: seeding $THERAPISTS therapists"
    t0=$(now_ms)
    "$BIN" seed --therapists "$THERAPISTS"
    echo "seed: $(( ($(now_ms) - t0) / 1000 )) s"
    # After a bulk load, as any operator would: fresh statistics and visibility maps, and the
    # load's dirty pages written out, so that autovacuum and a checkpoint do not land mid-run.
    [ "$BACKEND" = postgres ] && psql "$DATABASE_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
    if [ -n "$KEEP" ]; then
      cp "$WORK/answers.key" "$KEEP/answers.key" 2>/dev/null || true
      [ "$BACKEND" = postgres ] && echo done > "$KEEP/pg-$THERAPISTS.done"
    fi
  else
    echo "== $BACKEND: $THERAPISTS therapists seeded before (KEEP=$KEEP)"
  fi
  # The server starts with the database's pages out of the OS cache, like a fresh machine's.
  sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true
  # The mail worker stays off: at its first start it would warn every seeded license that
  # expires within 30 days (a backlog of a few thousand mails), which is not what is measured.
  BODYWORK_MAIL_WORKER=false BODYWORK_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
    "$BIN" serve --addr "127.0.0.1:$PORT" >"$WORK/server-$BACKEND.log" 2>&1 &
  SERVER_PID=$!
  t0=$(now_ms)
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done
  echo "ready (/readyz answered 200) after $(( $(now_ms) - t0 )) ms; memory: $(memory "$SERVER_PID")"
  # The first search of each of ten places on the cold server, one at a time (the slowest
  # is what a first visitor waits).
  first=()
  for city in $(echo "$CITIES" | head -10); do
    first+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/therapists?technique=swedish&near=$city&radius_km=25&available_on=$DAY")")
  done
  printf '%-10s first search of 10 places (cold, c=1): %s ms\n' "$BACKEND" \
    "$(printf '%s\n' "${first[@]}" | awk '{printf "%.1f ", $1 * 1000}')"
  echo "sample: $(curl -fs "http://127.0.0.1:$PORT/api/v1/therapists?technique=swedish&near=Boston&radius_km=25" | cut -c1-160)"
  for c in 1 32; do
    run_wrk healthz "$c" "$WORK/healthz.lua"
    run_wrk techniques "$c" "$WORK/techniques.lua"
    run_wrk search-mix "$c" "$WORK/mix.lua"
  done
  run_wrk mix-unseen 32 "$WORK/unseen.lua"
  run_wrk soonest 32 "$WORK/soonest.lua"
  echo "memory after the runs: $(memory "$SERVER_PID")"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  if [ "$BACKEND" = postgres ] && [ -z "$KEEP" ]; then
    psql "$PG_SERVER_URL" -qc "DROP DATABASE IF EXISTS bodywork_bench WITH (FORCE)" >/dev/null
  fi
done
