#!/usr/bin/env bash
# Takes the README's screenshots from the demo data in headless Chromium (needs chromium and
# chromedriver, as the browser tests do) and writes them to docs/screenshots.
#
#   bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export BODYWORK_SCREENSHOTS="${BODYWORK_SCREENSHOTS:-$PWD/docs/screenshots}"
cargo test --test it readme_screenshots -- --ignored --nocapture
ls -l "$BODYWORK_SCREENSHOTS"
