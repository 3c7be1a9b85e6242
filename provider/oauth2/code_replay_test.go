package oauth2

import (
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// lateReplayEnv is a server whose codes live one second of real time: the
// Badger store forgets a code by the real clock, so the test must wait for
// it. The engine clock starts at the exact real time (not truncated) so the
// first redemption is never already late.
func lateReplayEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(c *Config) { c.CodeTTL = time.Second })
	e.clock.Set(time.Now())
	return e
}

// waitUntilForgotten sleeps until the store no longer knows a code issued
// at issued (ConsumeCode compares the exact expiry with the real clock).
func waitUntilForgotten(issued time.Time) {
	time.Sleep(time.Until(issued.Add(time.Second + 50*time.Millisecond)))
}

// replayEvents returns the code_replayed events.
func (e *env) replayEvents() []provider.Event {
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	var out []provider.Event
	for _, ev := range e.events.all {
		if ev.Name == "code_replayed" {
			out = append(out, ev)
		}
	}
	return out
}

func TestLateCodeReplayRevokesTheFamily(t *testing.T) {
	t.Parallel()
	e := lateReplayEnv(t)
	issued := e.clock.Now()
	code := e.code("web", "alice", nil)
	_, first := e.exchange("web", webSecret, code, nil)
	if first.AccessToken == "" || first.RefreshToken == "" {
		t.Fatal("first redemption failed")
	}
	// An unrelated grant of the same user and client survives.
	_, other := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
	waitUntilForgotten(issued)

	rec, _ := e.exchange("web", webSecret, code, nil)
	e.wantError(rec, 400, "invalid_grant")
	if e.active(first.AccessToken) {
		t.Fatal("access token from a late-replayed code still valid")
	}
	refresh, _ := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
	e.wantError(refresh, 400, "invalid_grant")
	if !e.active(other.AccessToken) {
		t.Fatal("an unrelated grant was revoked")
	}
	if !strings.Contains(rec.Body.String(), "already used") {
		t.Fatalf("answer %s, want the code reported as already used", rec.Body.String())
	}
	if evs := e.replayEvents(); len(evs) != 1 || evs[0].ClientID != "web" || !strings.Contains(evs[0].Reason, "revoked 2 tokens") {
		t.Fatalf("code_replayed events %+v, want one for web revoking 2 tokens", evs)
	}
	e.checkNoSecretsLogged()
}

func TestLateCodeReplayRevokesTheRotatedFamily(t *testing.T) {
	t.Parallel()
	e := lateReplayEnv(t)
	issued := e.clock.Now()
	code := e.code("web", "alice", nil)
	_, first := e.exchange("web", webSecret, code, nil)
	if first.RefreshToken == "" {
		t.Fatal("first redemption failed")
	}
	// Refresh rotation keeps the family: the rotated tokens descend from
	// the code as much as the first ones.
	rec, rotated := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
	if rec.Code != 200 || rotated.AccessToken == "" || rotated.RefreshToken == "" {
		t.Fatalf("refresh failed: %d %s", rec.Code, rec.Body.String())
	}
	waitUntilForgotten(issued)

	rec, _ = e.exchange("web", webSecret, code, nil)
	e.wantError(rec, 400, "invalid_grant")
	if e.active(rotated.AccessToken) {
		t.Fatal("rotated access token still valid after a late code replay")
	}
	again, _ := refreshWith(e, "web", webSecret, rotated.RefreshToken, nil)
	e.wantError(again, 400, "invalid_grant")
	if len(e.replayEvents()) != 1 {
		t.Fatalf("events %v, want one code_replayed", e.events.names())
	}
	e.checkNoSecretsLogged()
}

func TestUnknownCodeRevokesNothing(t *testing.T) {
	e := newEnv(t, nil)
	_, live := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
	if live.AccessToken == "" {
		t.Fatal("redemption failed")
	}
	never, err := e.srv.newValue()
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, never)
	rec, tj := e.exchange("web", webSecret, never, nil)
	e.wantError(rec, 400, "invalid_grant")
	if tj.ErrorDescription != "unknown or expired authorization code" {
		t.Fatalf("description %q", tj.ErrorDescription)
	}
	if !e.active(live.AccessToken) {
		t.Fatal("an unknown code revoked a live grant")
	}
	if evs := e.replayEvents(); len(evs) != 0 {
		t.Fatalf("an unknown code was reported as replayed: %+v", evs)
	}
	e.checkNoSecretsLogged()
}

func TestExpiredUnusedCodeRevokesNothing(t *testing.T) {
	t.Parallel()
	e := lateReplayEnv(t)
	issued := e.clock.Now()
	code := e.code("web", "alice", nil)
	_, live := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
	waitUntilForgotten(issued)
	rec, tj := e.exchange("web", webSecret, code, nil)
	e.wantError(rec, 400, "invalid_grant")
	if tj.ErrorDescription != "unknown or expired authorization code" {
		t.Fatalf("description %q", tj.ErrorDescription)
	}
	if !e.active(live.AccessToken) {
		t.Fatal("an expired unused code revoked a live grant")
	}
	if evs := e.replayEvents(); len(evs) != 0 {
		t.Fatalf("an expired unused code was reported as replayed: %+v", evs)
	}
}
