package oauth1

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
)

// TestNonceKeyFormat pins the nonce record key: replays are recognized
// across an upgrade only if the key of a (client, token, timestamp, nonce)
// stays the same. The reference is the straightforward construction.
func TestNonceKeyFormat(t *testing.T) {
	ref := func(clientID, token string, ts int64, nonce string) string {
		sum := sha256.Sum256([]byte(Encode(clientID) + "&" + Encode(token) + "&" + strconv.FormatInt(ts, 10) + "&" + Encode(nonce)))
		return "oauth1/" + base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for _, c := range []struct {
		client, token string
		ts            int64
		nonce         string
	}{
		{"c1", "tok", 1700000000, "abc"},
		{"", "", 0, ""},
		{"a&b", "t=1", -5, "n n%/é"},
		{strings.Repeat("k", 300), strings.Repeat("%", 100), 1 << 40, strings.Repeat("x", 255)},
	} {
		if got, want := nonceKey(c.client, c.token, c.ts, c.nonce), ref(c.client, c.token, c.ts, c.nonce); got != want {
			t.Errorf("nonceKey(%.20q, %.20q, %d, %.20q) = %s, want %s", c.client, c.token, c.ts, c.nonce, got, want)
		}
	}
	// Distinct parts never collide through the separators.
	if nonceKey("a&b", "c", 1, "d") == nonceKey("a", "b&c", 1, "d") {
		t.Error("separator collision")
	}
}
