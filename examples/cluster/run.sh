#!/bin/sh
# Starts a caddy-oauth cluster on this machine: redis-server on 6390,
# three Caddy nodes (8091-8093) sharing it, and a Caddy load balancer on
# http://localhost:8090 in front of them with the demo backend. Ctrl-C
# stops everything. Needs redis-server (apt-get install redis-server).
#
#	examples/cluster/run.sh
#	curl -s -u demo-service:demo-service-secret -d grant_type=client_credentials http://localhost:8090/oauth2/token
#	curl -s -H "Authorization: Bearer <token>" http://localhost:8090/api/hello
set -eu
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }
echo "building caddy with caddy-oauth..."
mkdir -p "$work/bin"
go build -o "$work/bin/caddy" ./examples/caddy

# appendfsync always: a token answered survives a Redis crash (README,
# "Running several instances").
redis-server --port 6390 --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 &
pids="$pids $!"

for n in 1 2 3; do
	mkdir -p "$work/node$n"
	HOME="$work/node$n" XDG_DATA_HOME="$work/node$n" XDG_CONFIG_HOME="$work/node$n" \
		NODE_PORT=809$n NODE_ADMIN=localhost:202$n \
		"$work/bin/caddy" run --config examples/cluster/Caddyfile --adapter caddyfile >"$work/node$n.log" 2>&1 &
	pids="$pids $!"
done
HOME="$work" XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" \
	"$work/bin/caddy" run --config examples/cluster/Caddyfile.lb --adapter caddyfile >"$work/lb.log" 2>&1 &
pids="$pids $!"

echo "redis 127.0.0.1:6390, nodes 127.0.0.1:8091-8093 (admin localhost:2021-2023), load balancer http://localhost:8090"
echo "logs in $work; Ctrl-C stops everything"
wait
