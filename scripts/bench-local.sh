#!/usr/bin/env bash
# bench-local: the local spike's accept rate through the edge on the default
# SQS engine (GoAWS, in process), the engine's own SendMessage rate measured
# in the same spike, and the same spike on the moto path; prints each
# spike's --json line and then one summary object with the two ratios
# docs/local.md quotes. Needs MariaDB on 127.0.0.1:3306 and moto_server.
#
# STACK (default prod) and N (default 5000): a spike within the stack's
# burst (prod: 5000), so the stage throttle, which the edge applies as API
# Gateway does, does not decide the accept rate.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${STACK:-prod}
N=${N:-5000}
GO=${GO:-go}
# LOCAL_BIN: an already built ./local (and COMMIT the commit it was built
# from) instead of building the working tree.
bin=${LOCAL_BIN:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/local
  trap 'rm -rf "$(dirname "$bin")"' EXIT
  $GO build -o "$bin" ./local
fi
goaws=$("$bin" spike --stack "$STACK" -n "$N" --json)
echo "$goaws"
moto=$("$bin" spike --stack "$STACK" -n "$N" --sqs-engine moto --json)
echo "$moto"
jq -cn --argjson g "$goaws" --argjson m "$moto" --arg commit "${COMMIT:-$(git rev-parse --short HEAD)}" '{
  commit: $commit, stack: env.STACK, records: $g.sent,
  goaws_accept_per_sec: $g.accept_per_sec, goaws_raw_send_per_sec: $g.raw_send_per_sec,
  moto_accept_per_sec: $m.accept_per_sec, moto_raw_send_per_sec: $m.raw_send_per_sec,
  edge_over_raw: ($g.accept_per_sec / $g.raw_send_per_sec),
  goaws_over_moto: ($g.accept_per_sec / $m.accept_per_sec),
  all_stored: ($g.stored == $g.sent and $m.stored == $m.sent and $g.lost == 0 and $m.lost == 0 and $g.duplicates == 0 and $m.duplicates == 0)
}'
