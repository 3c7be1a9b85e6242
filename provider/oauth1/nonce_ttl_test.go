package oauth1

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// ttlDB is the real Badger store noting the lifetime every nonce is
// stored with.
type ttlDB struct {
	*badger.DB
	mu   sync.Mutex
	ttls []time.Duration
}

func (d *ttlDB) UseNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	d.mu.Lock()
	d.ttls = append(d.ttls, ttl)
	d.mu.Unlock()
	return d.DB.UseNonce(ctx, key, ttl)
}

// TestNonceLivesTwiceTheTimestampWindow: a timestamp is accepted from
// now-window to now+window, so a request signed at the far edge stays
// acceptable for 2×window; its nonce must be kept at least that long, or a
// replay late in the window gets through, and no longer, or the nonce
// store grows without need.
func TestNonceLivesTwiceTheTimestampWindow(t *testing.T) {
	for _, window := range []time.Duration{0, time.Minute} {
		e := refusalEnv(t, func(c *Config) { c.TimestampWindow = window })
		tdb := &ttlDB{DB: e.db}
		var err error
		if e.srv, err = New(e.srv.cfg, tdb, e.clients); err != nil {
			t.Fatal(err)
		}
		want := 2 * window
		if window == 0 {
			want = 2 * DefaultTimestampWindow
		}
		r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
		if id, perr := e.srv.Verify(r.Clone(context.Background()), apiURL); id == nil {
			t.Fatalf("window %v: refused: %v", window, perr)
		}
		if _, perr := e.srv.Verify(r, apiURL); perr == nil || perr.Code != ProblemNonceUsed {
			t.Fatalf("window %v: replay: %v, want nonce_used", window, perr)
		}
		if len(tdb.ttls) != 2 || tdb.ttls[0] != want || tdb.ttls[1] != want {
			t.Fatalf("window %v: nonce TTLs %v, want %v each", window, tdb.ttls, want)
		}
	}
}
