#!/usr/bin/env bash
# SIPp call rate and Kamailio's CPU per 1000 calls through hosts/kamailio/kamailio.cfg in
# three modes, same SIPp parameters, same run: without an E9-1-1 path (-A WITHOUT_E911),
# with the hand-written baseline route (-A E911_HANDWRITTEN, e911_handwritten.cfg), and
# with the plugin path; then the per-INVITE cost of the component through the bridge
# (bench_invite.py).
#
#   hosts/kamailio/bench-rate.sh [CALLS] [RATE] [LIMIT]   (defaults 2000 1000 20)
#
# Each mode places CALLS ordinary calls, then CALLS emergency calls (911 from the HQ
# subnet: sip-trunk route, PIDF-LO inserted), at up to RATE calls/s with at most LIMIT
# calls open at once, over UDP on loopback. The limit keeps the measurement closed-loop:
# the rate found is what Kamailio sustains, not how it degrades once UDP buffers overflow.
# Kamailio gets 256 MiB of shared memory: at ~1000 calls/s tm keeps ~5000 finished
# transactions for their wait timer, more than the default 64 MiB holds.
# The rate is completed calls divided by the wall time of each SIPp run. CPU is user plus
# system time of every Kamailio process (/proc/PID/stat), read before and after each SIPp
# run, divided by the calls completed. The bundle has no notification targets, so the
# plugin does what the baseline does: subnet to ERL, PIDF-LO, Geolocation, audit. Needs
# kamailio, kamailio-python3-modules and sipp (`cargo xtask setup` installs them); builds
# the component and the bridge itself. A measurement, not a test: nothing is asserted.
set -euo pipefail
calls=${1:-2000}
rate=${2:-1000}
limit=${3:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -q -p e911-harness --manifest-path "$root/Cargo.toml"
(cd "$root" && cargo xtask build-component >/dev/null && cargo xtask build-kamailio >/dev/null)
bin="$root/target/release/e911-harness"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The example policy plus loopback subnets (see host-harness/tests/kamailio.rs).
cp -r "$root/policies/contoso" "$work/src"
printf '"127.1.0.0","Redmond B40 wired, floor 1","Building 40, Floor 1","Contoso","1","","","Microsoft","Way","","Redmond","WA","98052","US"\r\n' >>"$work/src/subnets.csv"
printf '"127.2.0.0","Wichita branch","Floor 1","Contoso;+13165550100;+13165550101","100","","N","Main","St","","Wichita","KS","67202","US"\r\n' >>"$work/src/subnets.csv"
sed -i 's#\["10.2.0.0/16"\]#["10.2.0.0/16", "127.2.0.0/16"]#' "$work/src/sites.toml"
sed -i 's#"2001:db8::/32"\]#"2001:db8::/32", "127.0.0.0/8"]#' "$work/src/bundle.toml"
# No notifications: the hand-written baseline sends none either.
sed -i 's/^notifications = .*/notifications = []/' "$work/src/policies.toml"
: >"$work/src/notifications.toml"
"$bin" bundle build "$work/src" -o "$work/policy.bundle" >/dev/null

# CPU ticks (user + system) of a Kamailio main process and its children.
kamailio_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_mode() { # define label
  local label=$2 dir="$work/$2"
  mkdir -p "$dir"
  local kport uport
  kport=$(free_port)
  uport=$(free_port)
  cat >"$dir/e911.ini" <<EOF
[e911]
component = $root/target/wasm/e911_policy.component.wasm
bundle = $work/policy.bundle
native_module = $root/target/kamailio/e911_native.so
cache_dir = $work/cache
state_dir = $dir/state
[upstreams]
default = sip:127.0.0.2:$uport
EOF
  sipp -sf "$root/tests/sipp/uas.xml" -i 127.0.0.2 -p "$uport" -nostdin -timeout 300s \
    >"$dir/uas.log" 2>&1 &
  local uas=$!
  pids+=("$uas")
  kamailio -f "$root/hosts/kamailio/kamailio.cfg" -DD -E -m 256 -M 16 -Y "$dir" \
    -l "udp:127.0.0.1:$kport" $1 \
    -A "E911_GLUE=\"$root/hosts/kamailio/e911_kamailio.py\"" \
    -A "E911_SETTINGS=\"$dir/e911.ini\"" -A "UPSTREAM=\"sip:127.0.0.2:$uport\"" \
    -A "E911_FAILSAFE_UPSTREAM=\"sip:127.0.0.2:$uport\"" -A "CTL_SOCKET=\"unix:$dir/ctl\"" \
    >/dev/null 2>"$dir/kamailio.log" &
  local kam=$!
  pids+=("$kam")
  sleep 1
  kill -0 "$kam" 2>/dev/null || { cat "$dir/kamailio.log" >&2; exit 1; }
  # One call first, so every worker's component is loaded before the clock starts.
  sipp "127.0.0.1:$kport" -sf "$root/tests/sipp/uac.xml" -s 911 -i 127.1.0.10 -m 4 -r 2 -p "$(free_port)" \
    -nostdin -timeout 30s >/dev/null 2>&1 || true
  for kind in other:4255550199 emergency:911; do
    local name=${kind%%:*} dial=${kind#*:}
    local start end t0 t1
    t0=$(kamailio_ticks "$kam")
    start=$(date +%s.%N)
    sipp "127.0.0.1:$kport" -sf "$root/tests/sipp/uac.xml" -s "$dial" -i 127.1.0.10 \
      -p "$(free_port)" -r "$rate" -l "$limit" -m "$calls" -nostdin -timeout 300s \
      -trace_err -error_file "$dir/$name.err" \
      -trace_stat -fd 1 -stf "$dir/$name.csv" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    t1=$(kamailio_ticks "$kam")
    local ok
    ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$dir/$name.csv")
    local cps
    cps=$(awk -v n="$ok" -v a="$start" -v b="$end" 'BEGIN{print n / (b - a)}')
    local cpu
    cpu=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$ok" 'BEGIN{print n ? t / hz / n * 1000 : 0}')
    printf '%-11s %-10s %6s/%s calls ok  %8.1f calls/s  %6.3f CPU s per 1000 calls\n' \
      "$label" "$name" "$ok" "$calls" "$cps" "$cpu"
    if [ "$ok" != "$calls" ]; then grep -m1 -A2 'Aborting\|Unexpected\|error' "$dir/$name.err" || true; fi
    eval "${label//-/_}_$name=$cps"
    eval "${label//-/_}_${name}_cpu=$cpu"
  done
  kill "$kam" "$uas" 2>/dev/null || true
  wait "$kam" "$uas" 2>/dev/null || true
}

echo "SIPp -r $rate -l $limit -m $calls -t u1, loopback; Kamailio 5.6, children=2"
run_mode "-A WITHOUT_E911" no-plugin
run_mode "-A E911_HANDWRITTEN" handwritten
run_mode "" plugin
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{print b ? a / b : 0}'; }
for name in other emergency; do
  printf 'rate plugin/no-plugin     %-10s %.3f\n' "$name" \
    "$(ratio "$(eval echo "\$plugin_$name")" "$(eval echo "\$no_plugin_$name")")"
done
printf 'CPU  plugin/handwritten   emergency  %.3f\n' \
  "$(ratio "$plugin_emergency_cpu" "$handwritten_emergency_cpu")"
echo
echo "Per-INVITE cost of the bridge (bench_invite.py, /usr/bin/python3, Kamailio's Python):"
/usr/bin/python3 "$root/hosts/kamailio/bench_invite.py" "$work/policy.bundle" 5000
