#!/usr/bin/env bash
# bench-local: the local spike's accept rate through the edge on the default
# SQS engine (GoAWS, in process), the engine's own SendMessage rate measured
# in the same spike, and the same spike on the moto path; prints each
# spike's --json line and then one summary object with the two ratios
# docs/local.md quotes. Needs MariaDB on 127.0.0.1:3306 and moto_server.
#
# ROUNDS (default 3) pairs of spikes, one on each engine, the order
# alternating (GoAWS first in odd rounds, moto first in even ones): on a
# shared 2-core machine the load of other work moves every rate between
# one spike and the next, so each ratio is taken within a round, from the
# two spikes run back to back, and the summary gives every round's ratios
# and their medians, with the load averages before and after.
#
# STACK (default prod) and N (default 5000): a spike within the stack's
# burst (prod: 5000), so the stage throttle, which the edge applies as API
# Gateway does, does not decide the accept rate. Both engines get the same
# spike: the same records and the same 200 clients.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${STACK:-prod}
N=${N:-5000}
ROUNDS=${ROUNDS:-3}
GO=${GO:-go}
# LOCAL_BIN: an already built ./local (and COMMIT the commit it was built
# from) instead of building the working tree.
bin=${LOCAL_BIN:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/local
  trap 'rm -rf "$(dirname "$bin")"' EXIT
  $GO build -o "$bin" ./local
fi
spike() { "$bin" spike --stack "$STACK" -n "$N" --sqs-engine "$1" --json; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rounds=()
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    goaws=$(spike goaws); echo "$goaws"
    moto=$(spike moto); echo "$moto"
  else
    moto=$(spike moto); echo "$moto"
    goaws=$(spike goaws); echo "$goaws"
  fi
  rounds+=("$(jq -cn --argjson g "$goaws" --argjson m "$moto" '{
    goaws_accept_per_sec: ($g.accept_per_sec | floor), goaws_raw_send_per_sec: ($g.raw_send_per_sec | floor),
    moto_accept_per_sec: ($m.accept_per_sec | floor), moto_raw_send_per_sec: ($m.raw_send_per_sec | floor),
    edge_over_raw: ($g.accept_per_sec / $g.raw_send_per_sec * 100 | round / 100),
    goaws_over_moto: ($g.accept_per_sec / $m.accept_per_sec * 10 | round / 10),
    all_stored: ($g.stored == $g.sent and $m.stored == $m.sent and $g.lost == 0 and $m.lost == 0 and $g.duplicates == 0 and $m.duplicates == 0)
  }')")
done
printf '%s\n' "${rounds[@]}" | jq -cs --arg commit "${COMMIT:-$(git rev-parse --short HEAD)}" \
  --arg stack "$STACK" --argjson n "$N" --arg before "$load_before" --arg after "$(cut -d' ' -f1-3 /proc/loadavg)" '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  {
    commit: $commit, stack: $stack, records: $n, rounds: .,
    edge_over_raw_median: (map(.edge_over_raw) | median),
    goaws_over_moto_median: (map(.goaws_over_moto) | median),
    all_stored: all(.all_stored),
    loadavg_before: $before, loadavg_after: $after
  }'
