package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// node is another server beside e: its own Manager, with the same config
// and users, counting in attempts.
func (e *env) node(t *testing.T, attempts store.AttemptStore) *env {
	t.Helper()
	cfg := e.m.cfg
	cfg.Attempts = attempts
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n := *e
	n.m = m
	return &n
}

// spreadFailures makes DefaultMaxFailures failed logins for user, each
// from its own address, round robin over nodes.
func spreadFailures(t *testing.T, nodes []*env, user string) {
	t.Helper()
	for i := range DefaultMaxFailures {
		fail(t, nodes[i%len(nodes)], user, fmt.Sprintf("198.51.100.%d:4000", i+1), 1)
	}
}

// TestServersOnOneStoreShareTheCounters: two Managers, as two servers
// would have, over one store. Failures spread over them lock the account
// on both, and so do an address's.
func TestServersOnOneStoreShareTheCounters(t *testing.T) {
	a := newEnv(t, nil)
	b := a.node(t, a.db)
	nodes := []*env{a, b}
	spreadFailures(t, nodes, "alice")
	for _, n := range nodes {
		expectLocked(t, n, "alice", alicePassword, "203.0.113.7:4000", DefaultLockoutDuration)
	}

	const attacker = "198.51.100.66:4000"
	for i := range DefaultMaxFailures {
		fail(t, nodes[i%2], fmt.Sprintf("guess%d", i), attacker, 1)
	}
	for _, n := range nodes {
		expectLocked(t, n, "bob", bobPassword, attacker, DefaultLockoutDuration)
	}
	// A success on one node clears the username for both.
	fail(t, a, "bob", "203.0.113.8:4000", DefaultMaxFailures-1)
	expectSignIn(t, b, "bob", bobPassword, "203.0.113.9:4000")
	fail(t, a, "bob", "203.0.113.10:4000", DefaultMaxFailures-1)
	expectSignIn(t, a, "bob", bobPassword, "203.0.113.9:4000")

	a.clock.Advance(DefaultLockoutDuration)
	for _, n := range nodes {
		expectSignIn(t, n, "alice", alicePassword, "203.0.113.7:4000")
	}
}

// TestServersOnOneRedisShareTheCounters: three Managers with three
// store/redis Stores on one Redis (as three Caddy nodes): five failures
// spread over the three lock the account everywhere, through the login
// form and through the password grant.
func TestServersOnOneRedisShareTheCounters(t *testing.T) {
	srv := redistest.StartServer(t)
	prefix := fmt.Sprintf("login-test-%d:", time.Now().UnixNano())
	a := newEnv(t, func(c *Config) {
		c.ContextClientIP = func(ctx context.Context) string { s, _ := ctx.Value(ctxAddr{}).(string); return s }
	})
	var nodes []*env
	for range 3 {
		rs, err := redis.Open(t.Context(), redis.Options{Addresses: []string{srv.Addr}, KeyPrefix: prefix})
		if err != nil {
			t.Fatalf("redis.Open: %v", err)
		}
		t.Cleanup(func() { rs.Close() })
		nodes = append(nodes, a.node(t, rs))
	}
	spreadFailures(t, nodes, "alice")
	for _, n := range nodes {
		expectLocked(t, n, "alice", alicePassword, "203.0.113.7:4000", DefaultLockoutDuration)
		ctx := context.WithValue(context.Background(), ctxAddr{}, "203.0.113.7")
		if _, err := n.m.CheckPassword(ctx, "alice", alicePassword); !errors.Is(err, provider.ErrTooManyAttempts) {
			t.Fatalf("password grant on a node: %v, want ErrTooManyAttempts", err)
		}
	}
	a.clock.Advance(DefaultLockoutDuration)
	expectSignIn(t, nodes[2], "alice", alicePassword, "203.0.113.7:4000")

	// Redis gone: every node refuses (503), the password unchecked.
	srv.Stop()
	calls := a.checker.calls.Load()
	for _, n := range nodes {
		b := n.browser("203.0.113.7:4000")
		tok := csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil))
		rec := b.do(http.MethodPost, DefaultLoginPath, url.Values{"username": {"bob"}, "password": {bobPassword}, "csrf_token": {tok}})
		if rec.Code != http.StatusServiceUnavailable || b.session() != "" {
			t.Fatalf("login with Redis down: status %d, want 503 and no session", rec.Code)
		}
	}
	if a.checker.calls.Load() != calls {
		t.Fatal("a password was checked without its count")
	}
}
