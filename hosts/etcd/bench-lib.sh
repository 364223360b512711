# What the etcd benchmarks share (hosts/etcd/bench.sh, tests/envoy/bench-etcd.sh):
# sourced, not run. Expects $root (the repository), $work (a scratch folder), a
# free_port function and a pids array the caller's cleanup kills.

# wichita_bundle HARNESS: the example policy with Wichita (two ELINs) on 127.2.0.0/16,
# loopback trusted and no notifications, built to $work/policy.bundle.
wichita_bundle() {
  cp -r "$root/policies/contoso" "$work/src"
  printf '"127.2.0.0","Wichita branch","Floor 1","Contoso;+13165550100;+13165550101","100","","N","Main","St","","Wichita","KS","67202","US"\r\n' >>"$work/src/subnets.csv"
  sed -i 's#\["10.2.0.0/16"\]#["10.2.0.0/16", "127.2.0.0/16"]#' "$work/src/sites.toml"
  sed -i 's#"2001:db8::/32"\]#"2001:db8::/32", "127.0.0.0/8"]#' "$work/src/bundle.toml"
  sed -i 's/^notifications = .*/notifications = []/' "$work/src/policies.toml"
  : >"$work/src/notifications.toml"
  "$1" bundle build "$work/src" -o "$work/policy.bundle" >/dev/null
}

# start_etcd: three etcd members on loopback, data under $work (on this machine's disk:
# writes wait for fsync, as in production); waits until the cluster is healthy. Sets
# client (the members' client ports) and endpoints (their URLs, comma-separated).
start_etcd() {
  local initial="" i
  declare -ga client=() peer=()
  endpoints=""
  for i in 0 1 2; do
    client[$i]=$(free_port) peer[$i]=$(free_port)
    initial+="${initial:+,}m$i=http://127.0.0.1:${peer[$i]}"
    endpoints+="${endpoints:+,}http://127.0.0.1:${client[$i]}"
  done
  for i in 0 1 2; do
    etcd --name "m$i" --data-dir "$work/etcd-m$i" \
      --listen-client-urls "http://127.0.0.1:${client[$i]}" --advertise-client-urls "http://127.0.0.1:${client[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${peer[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer[$i]}" \
      --initial-cluster "$initial" --initial-cluster-token e911-bench \
      --logger zap --log-outputs stderr >/dev/null 2>"$work/etcd-m$i.log" &
    pids+=($!)
  done
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:${client[0]}/health" | grep -q '"health":"true"' && break
    sleep 0.2
  done
}
