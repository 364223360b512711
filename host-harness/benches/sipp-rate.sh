#!/usr/bin/env bash
# SIPp call rate through `e911-harness proxy`, with the plugin and without it
# (--no-plugin), same SIPp parameters, same run; prints calls/s and the ratio.
#
#   host-harness/benches/sipp-rate.sh [CALLS] [RATE] [TRANSPORT]   (defaults 2000 400 u1)
#
# Each mode places CALLS non-emergency calls, then CALLS emergency calls (911 from the HQ
# subnet: sip-trunk route, PIDF-LO inserted), at up to RATE calls/s, over loopback.
# The rate is completed calls divided by the wall time of each SIPp run. Needs sipp
# (Debian sip-tester). This is a measurement, not a test: nothing is asserted.
set -euo pipefail
calls=${1:-2000}
rate=${2:-400}
transport=${3:-u1}
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -q -p e911-harness --manifest-path "$root/Cargo.toml"
bin="$root/target/release/e911-harness"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The example policy plus loopback subnets (see host-harness/tests/sipp.rs).
cp -r "$root/policies/contoso" "$work/bundle"
printf '"127.1.0.0","Redmond B40 wired, floor 1","Building 40, Floor 1","Contoso","1","","","Microsoft","Way","","Redmond","WA","98052","US"\r\n' >>"$work/bundle/subnets.csv"
# Notifications go to a closed local port: the worker drops them, off the call path.
printf '[targets.redmond-security]\nwebhook = "http://127.0.0.1:9/"\n[targets.wichita-security]\nwebhook = "http://127.0.0.1:9/"\n' >"$work/bundle/notifications.toml"

port=25060
run_mode() { # mode-flag label
  local label=$2 dir="$work/$2"
  mkdir -p "$dir"
  sipp -sf "$root/tests/sipp/uas.xml" -i 127.0.0.2 -p $((port + 10)) -t "$transport" \
    -nostdin -timeout 120s >"$dir/uas.log" 2>&1 &
  local uas=$!
  pids+=("$uas")
  "$bin" proxy --listen "udp:127.0.0.1:$port" --listen "tcp:127.0.0.1:$port" \
    --policy "$work/bundle" --upstream "127.0.0.2:$((port + 10))" --state-dir "$dir" $1 \
    >/dev/null 2>"$dir/proxy.log" &
  local proxy=$!
  pids+=("$proxy")
  sleep 0.5
  kill -0 "$proxy" 2>/dev/null || { cat "$dir/proxy.log" >&2; exit 1; }
  for kind in other:4255550199 emergency:911; do
    local name=${kind%%:*} dial=${kind#*:}
    local start end
    start=$(date +%s.%N)
    sipp "127.0.0.1:$port" -sf "$root/tests/sipp/uac.xml" -s "$dial" -i 127.1.0.10 \
      -p $((port + 20)) -t "$transport" -r "$rate" -l 500 -m "$calls" -nostdin \
      -timeout 120s -trace_stat -fd 1 -stf "$dir/$name.csv" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    local ok
    ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$dir/$name.csv")
    local cps
    cps=$(awk -v n="$ok" -v a="$start" -v b="$end" 'BEGIN{print n / (b - a)}')
    printf '%-10s %-10s %6s/%s calls ok  %8.1f calls/s\n' "$label" "$name" "$ok" "$calls" "$cps"
    eval "${label//-/_}_$name=$cps"
  done
  kill "$proxy" "$uas" 2>/dev/null || true
  wait "$proxy" "$uas" 2>/dev/null || true
  port=$((port + 100))
}

echo "SIPp -r $rate -l 500 -m $calls -t $transport, loopback; proxy built --release"
run_mode --no-plugin no-plugin
run_mode "" plugin
for name in other emergency; do
  with=$(eval echo "\$plugin_$name")
  without=$(eval echo "\$no_plugin_$name")
  printf 'ratio plugin/no-plugin %-10s %.3f\n' "$name" "$(awk -v a="$with" -v b="$without" 'BEGIN{print a / b}')"
done
