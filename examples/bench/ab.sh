#!/usr/bin/env bash
# A/B benchmark of two qraft binaries in one run: `qraft bench` (100,000 orders for
# throughput, then 5,000 orders/s for 5 s for latency) alternately with each binary,
# ROUNDS times (default 3), A first; then the median throughput and p99 of each and the
# ratio B/A. Both binaries start their own three voters as processes (`qraft run`), so
# each side measures its own node code.
#
#   examples/bench/ab.sh OLD_QRAFT NEW_QRAFT [ROUNDS] [-- extra qraft bench options]
#
# e.g. build the previous commit's release binary in a worktree, then
#   examples/bench/ab.sh /tmp/old/target/release/qraft ./target/release/qraft 3
set -euo pipefail
a=${1:?usage: ab.sh OLD_QRAFT NEW_QRAFT [ROUNDS] [-- bench options]}
b=${2:?usage: ab.sh OLD_QRAFT NEW_QRAFT [ROUNDS] [-- bench options]}
rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run() { # side round binary
  "$3" bench "${extra[@]}" >"$log/$1.$2" 2>"$log/$1.$2.err" || {
    echo "bench with $3 failed:" >&2
    tail -20 "$log/$1.$2.err" >&2
    exit 1
  }
  grep -E "orders/s|p99" "$log/$1.$2" | sed "s/^/[$1 round $2] /"
}

for r in $(seq 1 "$rounds"); do
  run A "$r" "$a"
  run B "$r" "$b"
done

# "throughput: N orders committed in S s = R orders/s" and "latency ...: p99 X ms".
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { cat "$log"/"$1".? | grep -E "^throughput: .* orders committed" | sed -E 's/.*= ([0-9]+) orders\/s.*/\1/' | median; }
p99() { cat "$log"/"$1".? | grep -E "^latency at .*submit-to-receipt" | sed -E 's/.* p99 ([0-9.]+) ms.*/\1/' | median; }
ra=$(rate A); rb=$(rate B); pa=$(p99 A); pb=$(p99 B)
echo
echo "A = $a"
echo "B = $b"
printf 'throughput median: A %s orders/s, B %s orders/s, B/A %.3f\n' "$ra" "$rb" "$(echo "$rb / $ra" | bc -l)"
printf 'latency p99 median: A %s ms, B %s ms, B/A %.3f\n' "$pa" "$pb" "$(echo "$pb / $pa" | bc -l)"
