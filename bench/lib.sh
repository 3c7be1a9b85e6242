# Shared set-up of the bench scripts (sourced, not run): wrk present (apt-get
# as root), the output directory, a temporary data directory, and a trap
# that stops every process appended to pids and removes the data.
OUT=bench/out
mkdir -p "$OUT"
if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else echo "install wrk: sudo apt-get install wrk" >&2; exit 1; fi
fi
DATA=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
