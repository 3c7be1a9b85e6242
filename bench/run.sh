#!/usr/bin/env bash
# End-to-end load benchmark: builds Caddy with caddy-oauth, starts it and a
# tiny upstream on loopback, and measures in one run
#   (a) reverse_proxy without auth            (wrk)
#   (b) require_oauth, opaque bearer token    (wrk)
#   (c) require_oauth, JWT bearer token       (wrk; token_format jwt, EdDSA; also compared with
#                                              (a) sent the same Authorization header)
#   (d) require_oauth, OAuth 1 HMAC-SHA1      (bench/loadgen: every request signed with its own
#                                              nonce before the clock starts; compared with (a)
#                                              under the same loadgen)
#   (d2) the same with nonce_durability page_cache (both also compared with (a) sent the same
#                                              signed requests)
#   (e) client_credentials token issuance     (wrk POST, durable writes)
#   (f) token introspection                   (wrk POST)
# printing req/s and the ratio to (a). Needs wrk (apt-get install wrk).
# Usage: bench/run.sh [seconds per case, default 10] [connections, default 32]
# Environment: ROUNDS repeats (a)-(b)-(c)-(a) and (a)-(d)-(d2)-(a) that many
# times (default 1) and reports the median ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${1:-10}
CONNS=${2:-32}

echo "building..." >&2
go build -o "$OUT/caddy" ./examples/caddy
go build -o "$OUT/upstream" ./bench/upstream
go build -o "$OUT/loadgen" ./bench/loadgen
go build -o "$OUT/oauth1token" ./bench/oauth1token


cat > "$OUT/Caddyfile" <<CADDY
{
	admin 127.0.0.1:18019
	auto_https off
	persist_config off
	log {
		level ERROR
	}
	oauth {
		server {
			issuer http://127.0.0.1:18080
			storage badger $DATA/opaque
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
		server o1fast {
			issuer http://127.0.0.1:18085
			storage badger $DATA/o1fast {
				nonce_durability page_cache
			}
			scopes read
			default_scopes read
			client bench1 {
				secret bench1-secret
				callback_uri http://127.0.0.1/cb
				scopes read
				trusted
			}
		}
		server jwt {
			issuer http://127.0.0.1:18084
			storage badger $DATA/jwt
			token_format jwt
			scopes read write
			client bench {
				secret bench-secret
				scopes read
				grants client_credentials
			}
		}
	}
}
http://127.0.0.1:18084 {
	oauth_server jwt
}
http://127.0.0.1:18083 {
	require_oauth {
		server jwt
		scopes read
	}
	reverse_proxy 127.0.0.1:18090
}
http://127.0.0.1:18080 {
	basic_auth /oauth1/authorize {
		alice \$2a\$12\$B5Uc14ZQAg64A.d5ZEHuUOtHBYKmcBqCrW61KVIn0.Jy230X.khWi
	}
	oauth_server
}
http://127.0.0.1:18085 {
	basic_auth /oauth1/authorize {
		alice \$2a\$12\$B5Uc14ZQAg64A.d5ZEHuUOtHBYKmcBqCrW61KVIn0.Jy230X.khWi
	}
	oauth_server o1fast
}
http://127.0.0.1:18086 {
	require_oauth {
		server o1fast
		scopes read
	}
	reverse_proxy 127.0.0.1:18090
}
http://127.0.0.1:18081 {
	reverse_proxy 127.0.0.1:18090
}
http://127.0.0.1:18082 {
	require_oauth read
	reverse_proxy 127.0.0.1:18090
}
CADDY

"$OUT/upstream" -listen 127.0.0.1:18090 & pids+=($!)
"$OUT/caddy" run --config "$OUT/Caddyfile" --adapter caddyfile >"$OUT/caddy.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18081/ && break; sleep 0.1; done

token() { # client_credentials token for client $1:$2 from the server at $3
	curl -sf -u "$1:$2" -d grant_type=client_credentials -d scope=read "$3/oauth2/token" |
		sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}
OPAQUE=$(token bench bench-secret http://127.0.0.1:18080)
JWT=$(token bench bench-secret http://127.0.0.1:18084)

# OAuth 1 token credentials through the real three-legged flow.
O1=$("$OUT/oauth1token" -auth http://127.0.0.1:18080 -consumer-key bench1 -consumer-secret bench1-secret)
O1_TOKEN=${O1% *}; O1_SECRET=${O1#* }
O1F=$("$OUT/oauth1token" -auth http://127.0.0.1:18085 -consumer-key bench1 -consumer-secret bench1-secret)
O1F_TOKEN=${O1F% *}; O1F_SECRET=${O1F#* }

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' | cut -d. -f1; }
wrkrun() { wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$@"; }

echo "running ${DUR}s per case, $CONNS connections..." >&2
ratio() { if [ "$1" = n/a ]; then echo n/a; else awk -v x="$1" -v y="$2" 'BEGIN{printf "%.2f", x/y}'; fi; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : sprintf("%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
# (a) runs before and after (b) and (c) and its mean is the reference, so a
# drift of the machine during the run does not favour either side. With
# ROUNDS > 1 that is repeated (a b c a b c ... a, each (a) shared by the
# rounds on either side of it), and the ratios of (b) and (c) are the
# median of the rounds' ratios: on a noisy machine one round can be off by
# 20 %.
A1=$(wrkrun http://127.0.0.1:18081/ | rps)
A1_FIRST=$A1 A_SUM=0 B_SUM=0 C_SUM=0 AJ_SUM=0 RB=() RC=() RCJ=()
for ((round = 1; round <= ${ROUNDS:-1}; round++)); do
	B=$(wrkrun -H "Authorization: Bearer $OPAQUE" http://127.0.0.1:18082/ | rps)
	# (a) sent the same JWT header: what carrying a ~400-byte header costs
	# wrk, Caddy, reverse_proxy and the upstream, whoever checks it.
	AJ=$(wrkrun -H "Authorization: Bearer $JWT" http://127.0.0.1:18081/ | rps)
	C=$(wrkrun -H "Authorization: Bearer $JWT" http://127.0.0.1:18083/ | rps)
	A2=$(wrkrun http://127.0.0.1:18081/ | rps)
	RB+=("$(ratio "$B" $(((A1 + A2) / 2)))") RC+=("$(ratio "$C" $(((A1 + A2) / 2)))") RCJ+=("$(ratio "$C" "$AJ")")
	A_SUM=$((A_SUM + (A1 + A2) / 2)) B_SUM=$((B_SUM + B)) C_SUM=$((C_SUM + C)) AJ_SUM=$((AJ_SUM + AJ))
	A1=$A2
done
ROUNDS=${#RB[@]} A1=$A1_FIRST
A=$((A_SUM / ROUNDS)) B=$((B_SUM / ROUNDS)) C=$((C_SUM / ROUNDS)) AJ=$((AJ_SUM / ROUNDS))
RATIO_B=$(median "${RB[@]}") RATIO_C=$(median "${RC[@]}") RATIO_CJ=$(median "${RCJ[@]}")
o1() { # URL token secret: req/s of signed OAuth 1 requests
	"$OUT/loadgen" -mode oauth1 -c "$CONNS" -d "${DUR}s" -url "$1" \
		-consumer-key bench1 -consumer-secret bench1-secret -token "$2" -token-secret "$3" | awk '{print $2}'
}
plain() { "$OUT/loadgen" -mode plain -c "$CONNS" -d "${DUR}s" -url http://127.0.0.1:18081/ | awk '{print $2}'; }
# (d) and (d2) in rounds like (b) and (c): (a) under the load generator
# before and after each round, and (a) sent the same signed requests (the
# upstream ignores them: what their ~400-byte Authorization header costs
# the load generator, Caddy, reverse_proxy and the upstream, whoever
# checks it) within it; the ratios are the medians of the rounds'.
G1=$(plain) G_SUM=0 D_SUM=0 D2_SUM=0 AO_SUM=0 RD=() RD2=() RDO=() RD2O=()
for ((round = 1; round <= ROUNDS; round++)); do
	D=$(o1 http://127.0.0.1:18082/ "$O1_TOKEN" "$O1_SECRET")
	D2=$(o1 http://127.0.0.1:18086/ "$O1F_TOKEN" "$O1F_SECRET")
	AO=$(o1 http://127.0.0.1:18081/ "$O1_TOKEN" "$O1_SECRET")
	G2=$(plain)
	G=$(((G1 + G2) / 2))
	RD+=("$(ratio "$D" "$G")") RD2+=("$(ratio "$D2" "$G")") RDO+=("$(ratio "$D" "$AO")") RD2O+=("$(ratio "$D2" "$AO")")
	G_SUM=$((G_SUM + G)) D_SUM=$((D_SUM + D)) D2_SUM=$((D2_SUM + D2)) AO_SUM=$((AO_SUM + AO))
	G1=$G2
done
A_GO=$((G_SUM / ROUNDS)) D=$((D_SUM / ROUNDS)) D2=$((D2_SUM / ROUNDS)) A_O1=$((AO_SUM / ROUNDS))
RATIO_D=$(median "${RD[@]}") RATIO_D2=$(median "${RD2[@]}") RATIO_DO=$(median "${RDO[@]}") RATIO_D2O=$(median "${RD2O[@]}")
cat > "$OUT/cc.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtc2VjcmV0"
LUA
E=$(wrkrun -s "$OUT/cc.lua" http://127.0.0.1:18080/oauth2/token | rps)
cat > "$OUT/introspect.lua" <<LUA
wrk.method = "POST"
wrk.body = "token=$OPAQUE"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtc2VjcmV0"
LUA
F=$(wrkrun -s "$OUT/introspect.lua" http://127.0.0.1:18080/oauth2/introspect | rps)

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1); wrk and Caddy share the cores"
echo
if ((ROUNDS > 1)); then
	printf '(b), (c), (d), (d2): %d rounds; ratios of each round: (b) %s, (c) %s, (c) to (a) with the JWT header %s, (d) %s, (d2) %s, (d) and (d2) to (a) with the signed requests %s and %s; the table gives means of req/s and medians of ratios\n\n' "$ROUNDS" "${RB[*]}" "${RC[*]}" "${RCJ[*]}" "${RD[*]}" "${RD2[*]}" "${RDO[*]}" "${RD2O[*]}"
fi
printf '| case | req/s | ratio to (a) |\n|---|---:|---:|\n'
printf '| (a) reverse_proxy, no auth (mean of %s before and %s after (b), (c)) | %s | 1.00 |\n' "$A1" "$A2" "$A"
printf '| (b) require_oauth, opaque token | %s | %s |\n' "$B" "$RATIO_B"
printf '| (c) require_oauth, JWT | %s | %s |\n' "$C" "$RATIO_C"
printf '| (c) against (a) sent the same JWT header (%s req/s): require_oauth'"'"'s own cost | | %s |\n' "$AJ" "$RATIO_CJ"
printf '| (d) require_oauth, OAuth 1 HMAC-SHA1, nonces durable (loadgen; (a) under loadgen, mean of before and after: %s) | %s | %s |\n' "$A_GO" "$D" "$RATIO_D"
printf '| (d2) the same, nonce_durability page_cache | %s | %s |\n' "$D2" "$RATIO_D2"
printf '| (d), (d2) against (a) sent the same signed requests (%s req/s): require_oauth'"'"'s own cost | | %s, %s |\n' "$A_O1" "$RATIO_DO" "$RATIO_D2O"
printf '| (e) client_credentials issuance | %s | %s |\n' "$E" "$(ratio "$E" "$A")"
printf '| (f) introspection | %s | %s |\n' "$F" "$(ratio "$F" "$A")"
