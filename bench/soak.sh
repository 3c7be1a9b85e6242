#!/usr/bin/env bash
# Soak test: a mixed load of client_credentials issuance and protected
# requests through require_oauth (wrk, default 10 minutes at full load)
# against a server with the default storage configuration and long-lived
# tokens (1h), so that every token issued is still live at the end (over a
# million after 10 minutes on a 2-core VM). Every 15 s (EVERY) it samples Caddy's RSS
# (split into anonymous memory and file-backed pages: Badger mmaps its
# tables and logs), the Go heap and the store's size on disk, and ends with
# a verdict: the highest RSS after warm-up against the 256 MiB target.
# Protected requests present tokens this load issued: each wrk thread keeps
# the last tokens it was given in a ring whose slots are overwritten at
# random, so the presented tokens mix fresh ones (still in Badger's
# memtables) with older ones (in its tables, or in the verification cache).
# Needs wrk (apt-get install wrk).
# Usage: bench/soak.sh [seconds, default 600] [connections, default 32]
# Environment: MIX protected requests per issuance (default 3), TTL token
# lifetime (default 1h), WARMUP seconds excluded from the verdict (default
# 60), LIMIT_MIB the RSS target (default 256), STORAGE_OPTS the lines of a
# storage block (e.g. "memory 128MiB"), EVERY the sampling period in seconds
# (default 15; 1 or 2 catch the short peaks of a compaction).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${1:-600}
CONNS=${2:-32}
MIX=${MIX:-3}
TTL=${TTL:-1h}
WARMUP=${WARMUP:-60}
LIMIT_MIB=${LIMIT_MIB:-256}
EVERY=${EVERY:-15}
STORAGE_BLOCK=
if [ -n "${STORAGE_OPTS:-}" ]; then STORAGE_BLOCK=$'{\n'"$STORAGE_OPTS"$'\n}'; fi
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
			storage badger $DATA/store $STORAGE_BLOCK
			access_token_ttl $TTL
			scopes read
			client soak {
				secret soak-secret
				grants client_credentials
			}
		}
	}
}
http://127.0.0.1:18070 {
	handle /api/* {
		require_oauth read
		respond "ok"
	}
	oauth_server
}
CADDY
"$OUT/caddy" run --config "$OUT/Caddyfile.soak" --adapter caddyfile >"$OUT/soak.log" 2>&1 & pids+=($!)
CADDY_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18070/.well-known/oauth-authorization-server && break; sleep 0.1; done
cat > "$OUT/soak.lua" <<LUA
-- Mixed load: after each issuance, $MIX protected requests with tokens from
-- this thread's ring. Counters per thread are summed in done().
local threads = {}
function setup(thread) table.insert(threads, thread) end

local mix, ringSize = $MIX, 4096
local ring, filled = {}, 0
local n = 0
issued, issueErr, protected, protectedErr = 0, 0, 0, 0

-- Built in init, once wrk has set the Host header that wrk.format adds.
local issue
function init(args)
	issue = wrk.format("POST", "/oauth2/token", {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Authorization"] = "Basic c29hazpzb2FrLXNlY3JldA==",
	}, "grant_type=client_credentials&scope=read")
end

function request()
	n = n + 1
	if filled == 0 or n % (mix + 1) == 1 then
		return issue
	end
	local tok = ring[math.random(filled)]
	return wrk.format("GET", "/api/x", { ["Authorization"] = "Bearer " .. tok })
end

-- A thread's connections interleave, so a response is classified by its
-- content rather than by the request last sent.
function response(status, headers, body)
	local tok = status == 200 and body:match('"access_token":"([^"]+)"')
	if tok then
		issued = issued + 1
		if filled < ringSize then
			filled = filled + 1
			ring[filled] = tok
		else
			ring[math.random(ringSize)] = tok
		end
	elseif status == 200 then
		protected = protected + 1
	elseif headers["WWW-Authenticate"] or headers["Www-Authenticate"] then
		protectedErr = protectedErr + 1
	else
		issueErr = issueErr + 1
	end
end

function done(summary, latency, requests)
	local t = { issued = 0, issueErr = 0, protected = 0, protectedErr = 0 }
	for _, th in ipairs(threads) do
		for k in pairs(t) do t[k] = t[k] + th:get(k) end
	end
	local s = summary.duration / 1e6
	io.write(string.format("tokens issued: %d (%.0f/s), issuance errors: %d\n", t.issued, t.issued / s, t.issueErr))
	io.write(string.format("protected requests: %d (%.0f/s), refused: %d\n", t.protected, t.protected / s, t.protectedErr))
	io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$OUT/soak.lua" http://127.0.0.1:18070/ >"$OUT/soak.wrk" & WRK=$!
printf '| t (s) | RSS (MiB) | of which anonymous | of which file-backed (mmap of the store) | Go heap in use | store on disk (MiB) |\n|---:|---:|---:|---:|---:|---:|\n'
max=0 first=
mib() { awk -v k="$1:" '$1 == k {printf "%.0f", $2/1024}' /proc/$CADDY_PID/status; }
for ((t = EVERY; t <= DUR; t += EVERY)); do
	sleep "$EVERY"
	rss=$(mib VmRSS)
	heap=$(curl -s http://127.0.0.1:18029/debug/vars | grep -o '"HeapInuse": *[0-9]*' | awk -F: '{printf "%.0f", $2/1048576}')
	# A compaction may delete a file while du walks the directory; du
	# then exits 1, which must not end the run (set -e).
	disk=$(du -sm "$DATA/store" 2>/dev/null | cut -f1 || true)
	printf '| %d | %s | %s | %s | %s | %s |\n' "$t" "$rss" "$(mib RssAnon)" "$(mib RssFile)" "$heap" "$disk"
	if ((t > WARMUP)); then
		first=${first:-$rss}
		((rss > max)) && max=$rss
	fi
done
wait $WRK
cat "$OUT/soak.wrk"
if [ -n "$first" ]; then
	verdict=PASS
	((max > LIMIT_MIB)) && verdict=FAIL
	echo "verdict: $verdict: max RSS after ${WARMUP}s warm-up ${max} MiB (limit ${LIMIT_MIB} MiB; first sample after warm-up ${first} MiB, last ${rss} MiB)"
fi
