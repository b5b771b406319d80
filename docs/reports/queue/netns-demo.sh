#!/bin/sh
# Two "machines" on one host: workers in two network namespaces (ip netns, a veth pair each),
# Redis on the host side with a password, the videos and the bundle on the shared filesystem.
# Run as root from the repository root after `npm run build`:
#   sh docs/reports/queue/netns-demo.sh MODEL VIDEO_DIR [COUNT]
set -eu
MODEL=$1
VIDEOS=$2
COUNT=${3:-100}
PORT=6399
PASS=saccade-demo-$$
WORK=$(mktemp -d)
cleanup() {
  for n in 1 2; do ip netns del "saccnet$n" 2>/dev/null || true; done
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for n in 1 2; do
  ip netns add "saccnet$n"
  ip link add "sacch$n" type veth peer name "saccw$n"
  ip link set "saccw$n" netns "saccnet$n"
  ip addr add "10.200.$n.1/24" dev "sacch$n"
  ip link set "sacch$n" up
  ip netns exec "saccnet$n" ip addr add "10.200.$n.2/24" dev "saccw$n"
  ip netns exec "saccnet$n" ip link set "saccw$n" up
  ip netns exec "saccnet$n" ip link set lo up
done
redis-server --port $PORT --bind 127.0.0.1 10.200.1.1 10.200.2.1 --requirepass "$PASS" --dir "$WORK" --appendonly yes --save '' \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
sleep 1
export SACCADE_REDIS_PASSWORD=$PASS
for n in 1 2; do
  # The worker in namespace n reaches Redis only through its veth: 10.200.n.1.
  ip netns exec "saccnet$n" node apps/trainer/bin/saccade.js worker "$MODEL" --redis "redis://10.200.$n.1:$PORT" --root "$VIDEOS" --name "netns$n" 2>"$WORK/worker$n.log" &
done
sleep 8
ls "$VIDEOS"/*.mp4 | head -n "$COUNT" > "$WORK/list.txt"
start=$(date +%s.%N)
node apps/trainer/bin/saccade.js submit "$MODEL" --list "$WORK/list.txt" --redis "redis://127.0.0.1:$PORT" --wait --out "$WORK/results.jsonl" --json
end=$(date +%s.%N)
node apps/trainer/bin/saccade.js queue status "$MODEL" --redis "redis://127.0.0.1:$PORT"
echo "wall: $(echo "$end - $start" | bc) s for $COUNT videos"
echo "results: $(wc -l < "$WORK/results.jsonl") lines, $(grep -c '"ok":true' "$WORK/results.jsonl") ok"
# Who did what: each worker's own count, from its log when it stops.
for n in 1 2; do ip netns pids "saccnet$n" | xargs -r kill -TERM; done
sleep 3
cat "$WORK/worker1.log" "$WORK/worker2.log"
# A worker in namespace 1 cannot reach 127.0.0.1's Redis (the host's loopback is not its own):
ip netns exec saccnet1 node apps/trainer/bin/saccade.js queue status "$MODEL" --redis "redis://127.0.0.1:$PORT" 2>&1 | tail -1 || true
