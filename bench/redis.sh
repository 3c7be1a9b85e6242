#!/usr/bin/env bash
# The same cases on Redis and on Badger, in one run of one Caddy (two
# oauth servers side by side, plus a JWT server on each storage):
#   (a) reverse_proxy without auth, the reference (before and after)
#   protected route with an opaque token, with a JWT, OAuth 1 HMAC-SHA1
#   signed (bench/loadgen, against (a) under the same loadgen),
#   client_credentials issuance, introspection
# and prints, per case, req/s on Badger and on Redis, the ratio of each to
# (a), and Redis/Badger. redis-server runs on loopback with appendonly yes
# + appendfsync always (the setting under which an answered token survives
# a Redis crash, as Badger's synced writes do).
# Needs wrk and redis-server (apt-get install wrk redis-server).
# Usage: bench/redis.sh [seconds per case, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${1:-10}
CONNS=${2:-32}
command -v redis-server >/dev/null || { echo "install redis-server: apt-get install redis-server" >&2; exit 1; }

echo "building..." >&2
go build -o "$OUT/caddy" ./examples/caddy
go build -o "$OUT/upstream" ./bench/upstream
go build -o "$OUT/loadgen" ./bench/loadgen
go build -o "$OUT/oauth1token" ./bench/oauth1token

redis-server --port 18279 --bind 127.0.0.1 --dir "$DATA" --appendonly yes --appendfsync always --save "" \
	>"$OUT/redis.log" 2>&1 & pids+=($!)

# One server block per storage and token format; $1 name, $2 issuer port,
# $3 storage line, $4 token format.
server() {
	cat <<BLOCK
		server $1 {
			issuer http://127.0.0.1:$2
			$3
			token_format $4
			scopes read write
			default_scopes read
			client bench {
				secret bench-secret
				scopes read write
				grants client_credentials
				introspect
			}
			client bench1 {
				secret bench1-secret
				callback_uri http://127.0.0.1/cb
				scopes read
				trusted
			}
		}
BLOCK
}
# The sites of a server: $1 name, $2 auth port, $3 protected port.
sites() {
	cat <<SITES
http://127.0.0.1:$2 {
	basic_auth /oauth1/authorize {
		alice \$2a\$12\$B5Uc14ZQAg64A.d5ZEHuUOtHBYKmcBqCrW61KVIn0.Jy230X.khWi
	}
	oauth_server $1
}
http://127.0.0.1:$3 {
	require_oauth {
		server $1
		scopes read
	}
	reverse_proxy 127.0.0.1:18290
}
SITES
}

{
	cat <<CADDY
{
	admin 127.0.0.1:18219
	auto_https off
	persist_config off
	log {
		level ERROR
	}
	oauth {
CADDY
	server badger 18210 "storage badger $DATA/badger" opaque
	server badgerjwt 18212 "storage badger $DATA/badgerjwt" jwt
	server redis 18220 "storage redis 127.0.0.1:18279 {
				key_prefix bench:
			}" opaque
	server redisjwt 18222 "storage redis 127.0.0.1:18279 {
				key_prefix benchjwt:
			}" jwt
	echo "	}"
	echo "}"
	sites badger 18210 18211
	sites badgerjwt 18212 18213
	sites redis 18220 18221
	sites redisjwt 18222 18223
	cat <<CADDY
http://127.0.0.1:18281 {
	reverse_proxy 127.0.0.1:18290
}
CADDY
} >"$OUT/Caddyfile.redis"

"$OUT/upstream" -listen 127.0.0.1:18290 & pids+=($!)
for _ in $(seq 100); do redis-cli -p 18279 ping >/dev/null 2>&1 && break; sleep 0.1; done
"$OUT/caddy" run --config "$OUT/Caddyfile.redis" --adapter caddyfile >"$OUT/caddy-redis.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18281/ && break; sleep 0.1; done

token() { # client_credentials token from the server at $1
	curl -sf -u bench:bench-secret -d grant_type=client_credentials -d scope=read "$1/oauth2/token" |
		sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' | cut -d. -f1; }
wrkrun() { wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$@"; }
lua() { # $1 file, $2 body
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtc2VjcmV0"
LUA
}
lua "$OUT/cc.lua" "grant_type=client_credentials&scope=read"

declare -A R
# measure <storage> <auth port> <protected port> <jwt auth port> <jwt protected port>
measure() {
	local s=$1 opaque jwt o1
	opaque=$(token "http://127.0.0.1:$2")
	jwt=$(token "http://127.0.0.1:$4")
	o1=$("$OUT/oauth1token" -auth "http://127.0.0.1:$2" -consumer-key bench1 -consumer-secret bench1-secret)
	R[$s.opaque]=$(wrkrun -H "Authorization: Bearer $opaque" "http://127.0.0.1:$3/" | rps)
	R[$s.jwt]=$(wrkrun -H "Authorization: Bearer $jwt" "http://127.0.0.1:$5/" | rps)
	R[$s.oauth1]=$("$OUT/loadgen" -mode oauth1 -c "$CONNS" -d "${DUR}s" -url "http://127.0.0.1:$3/" \
		-consumer-key bench1 -consumer-secret bench1-secret -token "${o1% *}" -token-secret "${o1#* }" | awk '{print $2}')
	R[$s.issue]=$(wrkrun -s "$OUT/cc.lua" "http://127.0.0.1:$2/oauth2/token" | rps)
	lua "$OUT/introspect-$s.lua" "token=$opaque"
	R[$s.introspect]=$(wrkrun -s "$OUT/introspect-$s.lua" "http://127.0.0.1:$2/oauth2/introspect" | rps)
}

echo "running ${DUR}s per case, $CONNS connections..." >&2
A1=$(wrkrun http://127.0.0.1:18281/ | rps)
G1=$("$OUT/loadgen" -mode plain -c "$CONNS" -d "${DUR}s" -url http://127.0.0.1:18281/ | awk '{print $2}')
measure badger 18210 18211 18212 18213
measure redis 18220 18221 18222 18223
A2=$(wrkrun http://127.0.0.1:18281/ | rps)
G2=$("$OUT/loadgen" -mode plain -c "$CONNS" -d "${DUR}s" -url http://127.0.0.1:18281/ | awk '{print $2}')
A=$(( (A1 + A2) / 2 ))
G=$(( (G1 + G2) / 2 ))

ratio() { awk -v x="$1" -v y="$2" 'BEGIN{ if (y == 0) print "n/a"; else printf "%.2f", x/y }'; }
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1); wrk, Caddy and redis-server share the cores"
echo "(a) reverse_proxy, no auth: wrk $A req/s (mean of $A1 before, $A2 after); loadgen $G (mean of $G1, $G2)"
echo
printf '| case | Badger req/s | ratio to (a) | Redis req/s | ratio to (a) | Redis / Badger |\n|---|---:|---:|---:|---:|---:|\n'
row() { # label key reference
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${R[badger.$2]}" "$(ratio "${R[badger.$2]}" "$3")" \
		"${R[redis.$2]}" "$(ratio "${R[redis.$2]}" "$3")" "$(ratio "${R[redis.$2]}" "${R[badger.$2]}")"
}
row "require_oauth, opaque token" opaque "$A"
row "require_oauth, JWT" jwt "$A"
row "require_oauth, OAuth 1 HMAC-SHA1 (loadgen; vs (a) under loadgen)" oauth1 "$G"
row "client_credentials issuance" issue "$A"
row "introspection" introspect "$A"
