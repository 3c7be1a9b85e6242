#!/usr/bin/env bash
# Soak test for token issuance: runs client_credentials issuance with wrk for
# a while (default 300 s) against a server whose tokens live 30 s, and
# samples Caddy's RSS and the store's size on disk every 15 s, so one can
# see both level off once tokens expire. RSS is split into anonymous memory
# and file-backed pages (Badger mmaps its tables), next to the Go heap. Needs wrk (apt-get install wrk).
# Usage: bench/soak.sh [seconds, default 300] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${1:-300}
CONNS=${2:-32}
go build -o "$OUT/caddy" ./examples/caddy
cat > "$OUT/Caddyfile.soak" <<CADDY
{
	admin 127.0.0.1:18029
	auto_https off
	persist_config off
	log {
		level ERROR
	}
	oauth {
		server {
			issuer http://127.0.0.1:18070
			storage badger $DATA/store
			access_token_ttl 30s
			scopes read
			client soak {
				secret soak-secret
				grants client_credentials
			}
		}
	}
}
http://127.0.0.1:18070 {
	oauth_server
}
CADDY
"$OUT/caddy" run --config "$OUT/Caddyfile.soak" --adapter caddyfile >"$OUT/soak.log" 2>&1 & pids+=($!)
CADDY_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18070/.well-known/oauth-authorization-server && break; sleep 0.1; done
cat > "$OUT/soak.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic c29hazpzb2FrLXNlY3JldA=="
LUA
wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$OUT/soak.lua" http://127.0.0.1:18070/oauth2/token >"$OUT/soak.wrk" & WRK=$!
printf '| t (s) | RSS (MiB) | of which anonymous | of which file-backed (mmap of the store) | Go heap in use | store on disk (MiB) |\n|---:|---:|---:|---:|---:|---:|\n'
for ((t = 15; t <= DUR; t += 15)); do
	sleep 15
	mib() { awk -v k="$1:" '$1 == k {printf "%.0f", $2/1024}' /proc/$CADDY_PID/status; }
	heap=$(curl -s http://127.0.0.1:18029/debug/vars | grep -o '"HeapInuse": *[0-9]*' | awk -F: '{printf "%.0f", $2/1048576}')
	disk=$(du -sm "$DATA/store" | cut -f1)
	printf '| %d | %s | %s | %s | %s | %s |\n' "$t" "$(mib VmRSS)" "$(mib RssAnon)" "$(mib RssFile)" "$heap" "$disk"
done
wait $WRK
grep -E 'Requests/sec|Non-2xx' "$OUT/soak.wrk" || true
