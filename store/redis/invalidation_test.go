package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

func newHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func newToken(kind store.TokenKind, user, client, family string) *store.Token {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &store.Token{Hash: newHash(), Kind: kind, ClientID: client, User: user, Family: family,
		Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// waitHealthy waits until every store reads the invalidation stream.
func waitHealthy(t *testing.T, ss ...*Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range ss {
		for !s.inval.healthy() {
			if time.Now().After(deadline) {
				t.Fatalf("store %s never became healthy", s.node)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// pair opens two Stores on one server and prefix: two Caddy nodes.
func pair(t *testing.T, o Options) (a, b *Store) {
	t.Helper()
	a, b = open(t, o), open(t, o)
	t.Cleanup(func() { a.Close(); b.Close() })
	waitHealthy(t, a, b)
	return a, b
}

func TestRevocationOnOneNodeChangesTheOtherNodesCounter(t *testing.T) {
	srv := redistest.StartServer(t)
	a, b := pair(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)})
	ctx := t.Context()
	for _, c := range []struct {
		name   string
		change func(tk *store.Token) error
	}{
		{"RevokeToken", func(tk *store.Token) error { return a.RevokeToken(ctx, tk.Hash) }},
		{"RevokeFamily", func(tk *store.Token) error { _, err := a.RevokeFamily(ctx, tk.Family); return err }},
		{"RevokeUser", func(tk *store.Token) error { _, err := a.RevokeUser(ctx, tk.User); return err }},
		{"RevokeClient", func(tk *store.Token) error { _, err := a.RevokeClient(ctx, tk.ClientID); return err }},
		{"RotateRefresh", func(tk *store.Token) error {
			_, err := a.RotateRefresh(ctx, tk.Hash, newToken(store.KindRefresh, tk.User, tk.ClientID, tk.Family))
			return err
		}},
		{"ConsumeToken", func(tk *store.Token) error { _, err := a.ConsumeToken(ctx, tk.Hash, tk.Kind); return err }},
		{"UpdateToken", func(tk *store.Token) error { u := *tk; u.Scopes = nil; return a.UpdateToken(ctx, &u) }},
		{"SaveToken over it", func(tk *store.Token) error { u := *tk; u.User = "bob"; return a.SaveToken(ctx, &u) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 20 {
				tk := newToken(store.KindRefresh, "alice", "app", "F"+string(rune('a'+len(c.name))))
				if err := a.SaveToken(ctx, tk); err != nil {
					t.Fatal(err)
				}
				before := b.TokenVersion(tk.Hash) // as a cache: counter, then read
				if before&freshBit != 0 {
					t.Fatal("B is not healthy: the test would prove nothing")
				}
				if _, err := b.GetToken(ctx, tk.Hash); err != nil {
					t.Fatal(err)
				}
				if err := c.change(tk); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if after := b.TokenVersion(tk.Hash); after == before {
					t.Fatalf("B's TokenVersion unchanged (%d) the moment A's %s returned", before, c.name)
				}
			}
		})
	}
	for _, c := range []struct {
		name   string
		change func(cl *store.Client) error
	}{
		{"UpdateClient", func(cl *store.Client) error { u := *cl; u.Name = "new"; return a.UpdateClient(ctx, &u) }},
		{"DeleteClient", func(cl *store.Client) error { return a.DeleteClient(ctx, cl.ID) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i := range 20 {
				cl := &store.Client{ID: c.name + string(rune('a'+i)), Name: "x", CreatedAt: time.Now()}
				if err := a.CreateClient(ctx, cl); err != nil {
					t.Fatal(err)
				}
				before := b.ClientVersion(cl.ID)
				if err := c.change(cl); err != nil {
					t.Fatal(err)
				}
				if b.ClientVersion(cl.ID) == before {
					t.Fatalf("B's ClientVersion unchanged the moment A's %s returned", c.name)
				}
			}
		})
	}
	t.Run("counters stay put without changes", func(t *testing.T) {
		h := newHash()
		v1, v2 := b.TokenVersion(h), b.TokenVersion(h)
		if v1 != v2 || v1&freshBit != 0 {
			t.Fatalf("a healthy node's counter moved by itself: %d, %d", v1, v2)
		}
	})
}

// killReader kills s's stream-reading connection through another client.
func killReader(t *testing.T, addr string, s *Store) {
	t.Helper()
	list, err := redistest.Command(addr, "CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name=caddy-oauth-inval-"+s.node+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if _, err := redistest.Command(addr, "CLIENT", "KILL", "ID", id); err != nil {
					t.Fatal(err)
				}
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatalf("no connection named caddy-oauth-inval-%s in CLIENT LIST:\n%s", s.node, list)
	}
}

func TestRevocationWhileTheOtherNodesReaderIsKilled(t *testing.T) {
	srv := redistest.StartServer(t)
	o := Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t), lease: time.Second, leaseMargin: 200 * time.Millisecond}
	a, b := pair(t, o)
	ctx := t.Context()
	for range 5 {
		tk := newToken(store.KindAccess, "alice", "app", "F")
		if err := a.SaveToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		before := b.TokenVersion(tk.Hash)
		killReader(t, srv.Addr, b)
		start := time.Now()
		if err := a.RevokeToken(ctx, tk.Hash); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > o.lease+500*time.Millisecond {
			t.Fatalf("RevokeToken took %v, more than the lease", d)
		}
		if b.TokenVersion(tk.Hash) == before {
			t.Fatal("B's TokenVersion unchanged after A's RevokeToken returned")
		}
		waitHealthy(t, b)
	}
}

func TestAPartitionedNodesCountersAlwaysChange(t *testing.T) {
	srv := redistest.StartServer(t)
	o := Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t), lease: time.Second, leaseMargin: 200 * time.Millisecond}
	a, b := pair(t, o)
	ctx := t.Context()
	tk := newToken(store.KindAccess, "alice", "app", "F")
	if err := a.SaveToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	before := b.TokenVersion(tk.Hash)

	// Stop B's reader as a partition would: no reads, no renewals.
	release := make(chan struct{})
	b.inval.holdMu.Lock()
	b.inval.hold = release
	b.inval.holdMu.Unlock()

	start := time.Now()
	if err := a.RevokeToken(ctx, tk.Hash); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > o.lease+500*time.Millisecond {
		t.Fatalf("RevokeToken took %v; it must wait for B at most until B's lease expires", took)
	}
	seen := map[uint64]bool{before: true}
	for range 100 {
		v := b.TokenVersion(tk.Hash)
		if seen[v] {
			t.Fatalf("partitioned B answered %d twice (or its pre-partition number): a cache would trust it", v)
		}
		seen[v] = true
		cv := b.ClientVersion("app")
		if seen[cv] {
			t.Fatalf("partitioned B answered ClientVersion %d twice", cv)
		}
		seen[cv] = true
	}
	t.Logf("RevokeToken waited %v for the partitioned node", took)

	b.inval.holdMu.Lock()
	b.inval.hold = nil
	b.inval.holdMu.Unlock()
	close(release)
	waitHealthy(t, b)
	v1 := b.TokenVersion(tk.Hash)
	if seen[v1] {
		t.Fatalf("after recovering B answers %d, a number it answered before", v1)
	}
	if v2 := b.TokenVersion(tk.Hash); v2 != v1 {
		t.Fatalf("recovered B's counter still moves by itself: %d, %d", v1, v2)
	}
}

func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	srv.Stop()
	o := Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t), DialTimeout: 300 * time.Millisecond, Timeout: 300 * time.Millisecond}
	start := time.Now()
	s := open(t, o)
	defer s.Close()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Open took %v with Redis down", d)
	}
	ctx := t.Context()
	tk := newToken(store.KindAccess, "alice", "app", "F")
	for _, c := range []struct {
		name string
		op   func() error
	}{
		{"GetToken", func() error { _, err := s.GetToken(ctx, tk.Hash); return err }},
		{"SaveToken", func() error { return s.SaveToken(ctx, tk) }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, tk.Hash) }},
		{"UseNonce", func() error { _, err := s.UseNonce(ctx, "n", time.Minute); return err }},
		{"GetClient", func() error { _, err := s.GetClient(ctx, "app"); return err }},
	} {
		start := time.Now()
		err := c.op()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s with Redis down: %v, want ErrUnavailable", c.name, err)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s with Redis down is ErrNotFound", c.name)
		}
		if d := time.Since(start); d > o.DialTimeout+o.Timeout+500*time.Millisecond {
			t.Fatalf("%s took %v to fail", c.name, d)
		}
	}
	if v1, v2 := s.TokenVersion(tk.Hash), s.TokenVersion(tk.Hash); v1 == v2 {
		t.Fatal("counters are stable while Redis is down")
	}

	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.SaveToken(ctx, tk)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SaveToken after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.GetToken(ctx, tk.Hash); err != nil {
		t.Fatalf("GetToken after Redis came back: %v", err)
	}
	waitHealthy(t, s)
}

// TestTokensSurviveASigkill runs Redis with an fsynced append-only file:
// what SaveTokens returned for is there after a SIGKILL and a restart.
func TestTokensSurviveASigkill(t *testing.T) {
	srv := redistest.StartServer(t, redistest.AppendOnly())
	s := open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)})
	defer s.Close()
	ctx := t.Context()
	var saved []*store.Token
	for i := range 50 {
		a, r := newToken(store.KindAccess, "alice", "app", "F"), newToken(store.KindRefresh, "alice", "app", "F")
		if i%2 == 0 {
			a.ExpiresAt = time.Time{}
		}
		if err := s.SaveTokens(ctx, a, r); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, a, r)
	}
	srv.Kill()
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for _, tk := range saved {
		for {
			got, err := s.GetToken(ctx, tk.Hash)
			if err == nil {
				if got.Family != "F" || got.User != "alice" {
					t.Fatalf("token came back as %+v", got)
				}
				break
			}
			if errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("GetToken after SIGKILL and restart: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if n, err := s.RevokeFamily(ctx, "F"); err != nil || n != len(saved) {
		t.Fatalf("RevokeFamily after restart = %d, %v; want %d", n, err, len(saved))
	}
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	srv := redistest.StartServer(t)
	before := countGoroutines()
	for range 5 {
		s := open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)})
		waitHealthy(t, s)
		if _, err := s.UseNonce(context.Background(), "n", time.Minute); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Close took %v", d)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := countGoroutines()
		if n <= before+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after closing every store:\n%s", before, n, goroutineDump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClosedNodesAreNotWaitedFor(t *testing.T) {
	srv := redistest.StartServer(t)
	o := Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)}
	a, b := pair(t, o)
	b.Close()
	tk := newToken(store.KindAccess, "alice", "app", "F")
	if err := a.SaveToken(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.RevokeToken(t.Context(), tk.Hash); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("RevokeToken waited %v for a closed node", d)
	}
}
