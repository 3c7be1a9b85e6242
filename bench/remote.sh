#!/usr/bin/env bash
# Remote verification benchmark (require_oauth issuer): one Caddy runs two
# authorization servers (JWT and opaque tokens) and gateways that know them
# only by their issuer URL, in front of the same upstream:
#   (a) reverse_proxy without auth                       (wrk)
#   (b) require_oauth issuer, JWT verified with the JWKS (wrk)
#   (c) require_oauth issuer, opaque token, cached introspection (wrk)
# printing req/s and the ratio to the (a) runs around each case. Needs wrk (apt-get install wrk).
# Usage: bench/remote.sh [seconds per case, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${1:-10}
CONNS=${2:-32}

go build -o "$OUT/caddy" ./examples/caddy
go build -o "$OUT/upstream" ./bench/upstream

server() { # name issuer format
	cat <<SRV
		server $1 {
			issuer $2
			storage badger $DATA/$1
			token_format $3
			scopes read
			client bench {
				secret bench-secret
				grants client_credentials
			}
			client gateway {
				secret gateway-secret
				introspect
				grants client_credentials
			}
		}
SRV
}
cat > "$OUT/Caddyfile.remote" <<CADDY
{
	admin 127.0.0.1:18119
	auto_https off
	persist_config off
	log {
		level ERROR
	}
	oauth {
$(server jwtissuer http://127.0.0.1:18184 jwt)
$(server opaqueissuer http://127.0.0.1:18180 opaque)
	}
}
http://127.0.0.1:18184 {
	oauth_server jwtissuer
}
http://127.0.0.1:18180 {
	oauth_server opaqueissuer
}
http://127.0.0.1:18181 {
	reverse_proxy 127.0.0.1:18190
}
http://127.0.0.1:18182 {
	require_oauth read {
		issuer http://127.0.0.1:18184
	}
	reverse_proxy 127.0.0.1:18190
}
http://127.0.0.1:18183 {
	require_oauth read {
		issuer http://127.0.0.1:18180
		introspect {
			client_id gateway
			client_secret gateway-secret
			cache 30s
		}
	}
	reverse_proxy 127.0.0.1:18190
}
CADDY

"$OUT/upstream" -listen 127.0.0.1:18190 & pids+=($!)
"$OUT/caddy" run --config "$OUT/Caddyfile.remote" --adapter caddyfile >"$OUT/caddy-remote.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18181/ && break; sleep 0.1; done

token() { curl -sf -u bench:bench-secret -d grant_type=client_credentials -d scope=read "$1/oauth2/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'; }
JWT=$(token http://127.0.0.1:18184)
OPAQUE=$(token http://127.0.0.1:18180)
for url in http://127.0.0.1:18182/ http://127.0.0.1:18183/; do # wait for discovery
	tok=$JWT; [ "$url" = http://127.0.0.1:18183/ ] && tok=$OPAQUE
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$url")" = 200 ] && break
		sleep 0.1
	done
done

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' | cut -d. -f1; }
wrkrun() { wrk -t2 -c"$CONNS" -d"${DUR}s" "$@"; }
echo "running ${DUR}s per case, $CONNS connections..." >&2
# (a) runs before and after each case and each case is compared with the
# mean of its neighbours: this machine's speed drifts within a run.
A1=$(wrkrun http://127.0.0.1:18181/ | rps)
B=$(wrkrun -H "Authorization: Bearer $JWT" http://127.0.0.1:18182/ | rps)
A2=$(wrkrun http://127.0.0.1:18181/ | rps)
C=$(wrkrun -H "Authorization: Bearer $OPAQUE" http://127.0.0.1:18183/ | rps)
A3=$(wrkrun http://127.0.0.1:18181/ | rps)
ratio() { awk -v x="$1" -v y="$2" -v z="$3" 'BEGIN{printf "%.2f", 2*x/(y+z)}'; }
echo "machine: $(nproc) cores; wrk and Caddy share them"
printf '| case | req/s | ratio to (a) around it |\n|---|---:|---:|\n'
printf '| (a) reverse_proxy, no auth (three runs) | %s, %s, %s | 1.00 |\n' "$A1" "$A2" "$A3"
printf '| (b) require_oauth issuer, JWT (JWKS) | %s | %s |\n' "$B" "$(ratio "$B" "$A1" "$A2")"
printf '| (c) require_oauth issuer, cached introspection | %s | %s |\n' "$C" "$(ratio "$C" "$A2" "$A3")"
