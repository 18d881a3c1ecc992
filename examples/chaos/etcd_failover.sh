#!/usr/bin/env bash
# The kill-and-restart experiment of issue 11, on etcd and on qraft in one run:
# three members on loopback, kill -9 of the leader, restart after 1 s, and the time
# from the kill to the first committed write after it.
#
#   examples/chaos/etcd_failover.sh [ROUNDS]
#
# Needs etcd 3.4 (Debian/Ubuntu: `apt-get install etcd-server etcd-client`); installs
# nothing itself. QRAFT names the qraft executable (default: `qraft` on the PATH).
# Each round of etcd: a fresh 3-member cluster in a temporary directory, a put every
# few milliseconds until one commits after the kill. qraft: `qraft chaos --cycles
# ROUNDS --only leader-kill --restart-after-ms 1000` (3 voters, 6 traders at 15
# orders/s, the failover read from the nodes' blocks). Prints both medians and their
# ratio.
set -euo pipefail

ROUNDS=${1:-3}
QRAFT=${QRAFT:-qraft}
RESTART_AFTER=1 # seconds

for tool in etcd etcdctl "$QRAFT"; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A free TCP port on loopback (asks the kernel; nothing listens on it afterwards).
free_port() {
    local port
    while :; do
        port=$(( 20000 + RANDOM % 20000 ))
        if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

declare -A member_pid client_port peer_port

etcd_round() {
    rm -rf "$work/round"
    mkdir -p "$work/round"
    cluster=""
    for i in 1 2 3; do
        client_port[$i]=$(free_port)
        peer_port[$i]=$(free_port)
        cluster+="${cluster:+,}m$i=http://127.0.0.1:${peer_port[$i]}"
    done
    for i in 1 2 3; do
        etcd --name "m$i" --data-dir "$work/round/m$i" \
            --listen-client-urls "http://127.0.0.1:${client_port[$i]}" \
            --advertise-client-urls "http://127.0.0.1:${client_port[$i]}" \
            --listen-peer-urls "http://127.0.0.1:${peer_port[$i]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${peer_port[$i]}" \
            --initial-cluster "$cluster" --initial-cluster-token "chaos-$round" \
            --initial-cluster-state new >>"$work/round/m$i.log" 2>&1 &
        member_pid[$i]=$!
        pids+=("$!")
    done
    local all="127.0.0.1:${client_port[1]},127.0.0.1:${client_port[2]},127.0.0.1:${client_port[3]}"
    local deadline=$(( $(now_ms) + 30000 ))
    until etcdctl --endpoints="$all" --command-timeout=1s put warmup 1 >/dev/null 2>&1; do
        (( $(now_ms) < deadline )) || { echo "error: etcd did not come up" >&2; exit 1; }
        sleep 0.1
    done
    # Some writes, then the leader.
    for n in $(seq 1 20); do etcdctl --endpoints="$all" put "k$n" "$n" >/dev/null; done
    local leader=""
    for i in 1 2 3; do
        if etcdctl --endpoints="127.0.0.1:${client_port[$i]}" endpoint status -w simple 2>/dev/null \
            | awk -F', ' '{print $5}' | grep -q true; then
            leader=$i
        fi
    done
    [[ -n $leader ]] || { echo "error: no etcd leader found" >&2; exit 1; }
    local survivors=""
    for i in 1 2 3; do
        [[ $i == "$leader" ]] || survivors+="${survivors:+,}127.0.0.1:${client_port[$i]}"
    done

    local killed_at
    killed_at=$(now_ms)
    kill -9 "${member_pid[$leader]}"
    wait "${member_pid[$leader]}" 2>/dev/null || true
    (
        sleep "$RESTART_AFTER"
        exec etcd --name "m$leader" --data-dir "$work/round/m$leader" \
            --listen-client-urls "http://127.0.0.1:${client_port[$leader]}" \
            --advertise-client-urls "http://127.0.0.1:${client_port[$leader]}" \
            --listen-peer-urls "http://127.0.0.1:${peer_port[$leader]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${peer_port[$leader]}" \
            --initial-cluster "$cluster" --initial-cluster-token "chaos-$round" \
            --initial-cluster-state existing >>"$work/round/m$leader.log" 2>&1
    ) &
    pids+=("$!")
    local restarter=$!
    until etcdctl --endpoints="$survivors" --command-timeout=300ms put after "$round" >/dev/null 2>&1; do
        (( $(now_ms) < killed_at + 60000 )) || { echo "error: no etcd write within 60 s" >&2; exit 1; }
    done
    local committed_at
    committed_at=$(now_ms)
    echo $(( committed_at - killed_at )) >"$work/ms"
    # Let the restart happen, then stop this round's cluster.
    sleep "$RESTART_AFTER"
    sleep 0.5
    for pid in "${member_pid[@]}" "$restarter"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

etcd_times=()
for round in $(seq 1 "$ROUNDS"); do
    etcd_round
    ms=$(cat "$work/ms")
    echo "etcd round $round: kill of the leader to the first committed put: $ms ms" >&2
    etcd_times+=("$ms")
done
etcd_median=$(printf '%s\n' "${etcd_times[@]}" | median)

echo "qraft: $ROUNDS leader kills, restart after ${RESTART_AFTER} s (qraft chaos)..." >&2
summary=$("$QRAFT" chaos --cycles "$ROUNDS" --only leader-kill \
    --restart-after-ms $(( RESTART_AFTER * 1000 )) --json)
failover=$(grep -o '"failover":{[^}]*}[^}]*}' <<<"$summary")
qraft_median=$(grep -o '"median_ms":[0-9]*' <<<"$failover" | cut -d: -f2)
qraft_max=$(grep -o '"max_ms":[0-9]*' <<<"$failover" | cut -d: -f2)
[[ -n $qraft_median ]] || { echo "error: qraft reported no failover: $summary" >&2; exit 1; }

echo "etcd  $(etcd --version | head -1 | awk '{print $3}'): kill -9 of the leader, restart after ${RESTART_AFTER} s: first committed put after median ${etcd_median} ms (${etcd_times[*]} ms)"
echo "qraft: kill -9 of the leader, restart after ${RESTART_AFTER} s: next committed block after median ${qraft_median} ms (max ${qraft_max} ms)"
awk -v q="$qraft_median" -v e="$etcd_median" \
    'BEGIN { if (e > 0) printf "ratio qraft/etcd: %.2f\n", q / e }'
