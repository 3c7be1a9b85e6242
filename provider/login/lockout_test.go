package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// fail makes n failed logins for user, from addr.
func fail(t *testing.T, e *env, user, addr string, n int) {
	t.Helper()
	for i := range n {
		if rec := e.browser(addr).login(user, "wrong password", "/"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d for %s from %s: status %d, want 401", i+1, user, addr, rec.Code)
		}
	}
}

func expectLocked(t *testing.T, e *env, user, password, addr string, wantRetry time.Duration) {
	t.Helper()
	calls := e.checker.calls.Load()
	b := e.browser(addr)
	rec := b.login(user, password, "/")
	if rec.Code != http.StatusTooManyRequests || b.session() != "" {
		t.Fatalf("%s from %s: status %d, want 429 and no session", user, addr, rec.Code)
	}
	checkPageHeaders(t, rec)
	if !strings.Contains(rec.Body.String(), "Too many attempts, try again later.") {
		t.Fatalf("429 page:\n%s", rec.Body.String())
	}
	if got := rec.Header().Get("Retry-After"); got != strconv.Itoa(int(wantRetry/time.Second)) {
		t.Fatalf("Retry-After %q, want %d", got, int(wantRetry/time.Second))
	}
	if e.checker.calls.Load() != calls {
		t.Fatal("the password was checked during a lockout")
	}
}

func expectSignIn(t *testing.T, e *env, user, password, addr string) {
	t.Helper()
	b := e.browser(addr)
	if rec := b.login(user, password, "/"); rec.Code != http.StatusSeeOther || b.session() == "" {
		t.Fatalf("%s from %s: status %d, want 303 with a session", user, addr, rec.Code)
	}
}

func TestLockoutPerUsername(t *testing.T) {
	e := newEnv(t, nil)
	// Five failures from five addresses: the username is what is locked.
	for i := range DefaultMaxFailures {
		fail(t, e, "alice", fmt.Sprintf("198.51.100.%d:4000", i+1), 1)
	}
	expectLocked(t, e, "alice", alicePassword, "203.0.113.7:4000", DefaultLockoutDuration)
	if ev := e.events.named("login_refused"); len(ev) != 1 || ev[0].User != "alice" || ev[0].Reason != "too many attempts" {
		t.Fatalf("events %+v", ev)
	}
	// Other users are not affected, from the same addresses either.
	expectSignIn(t, e, "bob", bobPassword, "198.51.100.1:4000")

	e.clock.Advance(DefaultLockoutDuration - time.Minute)
	expectLocked(t, e, "alice", alicePassword, "203.0.113.7:4000", time.Minute)
	e.clock.Advance(time.Minute)
	expectSignIn(t, e, "alice", alicePassword, "203.0.113.7:4000")
}

func TestLockoutPerAddress(t *testing.T) {
	e := newEnv(t, nil)
	const attacker = "198.51.100.66:4000"
	for i := range DefaultMaxFailures {
		fail(t, e, fmt.Sprintf("guess%d", i), attacker, 1)
	}
	expectLocked(t, e, "alice", alicePassword, attacker, DefaultLockoutDuration)
	// alice herself, from elsewhere, is fine.
	expectSignIn(t, e, "alice", alicePassword, "203.0.113.7:4000")
	// A success does not reset the address: it stays locked.
	expectLocked(t, e, "bob", bobPassword, attacker, DefaultLockoutDuration)

	e.clock.Advance(DefaultLockoutDuration)
	expectSignIn(t, e, "alice", alicePassword, attacker)
}

func TestLockoutGroupsIPv6ByPrefix(t *testing.T) {
	e := newEnv(t, nil)
	for i := range DefaultMaxFailures {
		fail(t, e, fmt.Sprintf("guess%d", i), fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1), 1)
	}
	expectLocked(t, e, "alice", alicePassword, "[2001:db8:1:2:ffff::1]:4000", DefaultLockoutDuration)
	expectSignIn(t, e, "alice", alicePassword, "[2001:db8:1:3::1]:4000")
}

func TestSuccessResetsTheUsernameCount(t *testing.T) {
	e := newEnv(t, nil)
	fail(t, e, "alice", "198.51.100.1:4000", DefaultMaxFailures-1)
	expectSignIn(t, e, "alice", alicePassword, "198.51.100.2:4000")
	fail(t, e, "alice", "198.51.100.3:4000", DefaultMaxFailures-1)
	expectSignIn(t, e, "alice", alicePassword, "198.51.100.4:4000")
}

func TestFailuresOutsideTheWindowDoNotLock(t *testing.T) {
	e := newEnv(t, nil)
	fail(t, e, "alice", "198.51.100.1:4000", DefaultMaxFailures-1)
	e.clock.Advance(DefaultFailureWindow)
	fail(t, e, "alice", "198.51.100.1:4000", 1)
	expectSignIn(t, e, "alice", alicePassword, "198.51.100.2:4000")
}

func TestLockoutNumbersAreConfigurable(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxFailures, c.FailureWindow, c.LockoutDuration = 2, time.Minute, 90*time.Second
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	fail(t, e, "alice", "198.51.100.1:4000", 2)
	expectLocked(t, e, "alice", alicePassword, "198.51.100.1:4000", 90*time.Second)
	e.clock.Advance(90 * time.Second)
	expectSignIn(t, e, "alice", alicePassword, "198.51.100.1:4000")
	// ClientIP returned "" (no header): only usernames were counted, so
	// those failures from "nowhere" did not lock out bob.
	fail(t, e, "alice", "198.51.100.1:4000", 1)
	expectSignIn(t, e, "bob", bobPassword, "198.51.100.1:4000")
}

// The username "x" and the address "x" are different counters.
func TestUsernameAndAddressCountApart(t *testing.T) {
	e := newEnv(t, nil)
	const ip = "198.51.100.66"
	for i := range DefaultMaxFailures {
		fail(t, e, ip, fmt.Sprintf("203.0.113.%d:4000", i+1), 1)
	}
	expectLocked(t, e, ip, "x", "203.0.113.99:4000", DefaultLockoutDuration)
	expectSignIn(t, e, "alice", alicePassword, ip+":4000")
}

// A refused attempt counts under none of its keys: knocking on a locked
// username from an address does not lock the address.
func TestRefusedAttemptsCountNowhere(t *testing.T) {
	e := newEnv(t, nil)
	for i := range DefaultMaxFailures {
		fail(t, e, "alice", fmt.Sprintf("198.51.100.%d:4000", i+1), 1)
	}
	const addr = "203.0.113.7:4000"
	for range 2 * DefaultMaxFailures {
		expectLocked(t, e, "alice", alicePassword, addr, DefaultLockoutDuration)
	}
	expectSignIn(t, e, "bob", bobPassword, addr)
}

// A success clears its username's count, not its address's: one known
// account does not buy a password sprayer fresh guesses.
func TestSuccessDoesNotResetTheAddressCount(t *testing.T) {
	e := newEnv(t, nil)
	const sprayer = "198.51.100.66:4000"
	for i := range DefaultMaxFailures - 1 {
		fail(t, e, fmt.Sprintf("guess%d", i), sprayer, 1)
	}
	expectSignIn(t, e, "alice", alicePassword, sprayer)
	fail(t, e, "carol", sprayer, 1)
	expectLocked(t, e, "bob", bobPassword, sprayer, DefaultLockoutDuration)

	// When both keys are locked, Retry-After is the longer wait.
	e.clock.Advance(5 * time.Minute)
	for i := range DefaultMaxFailures {
		fail(t, e, "bob", fmt.Sprintf("203.0.113.%d:4000", i+1), 1)
	}
	expectLocked(t, e, "bob", bobPassword, sprayer, DefaultLockoutDuration)
}

// Parallel guesses must not get past the limit while the first ones are
// still being checked.
func TestParallelGuessesStayWithinTheLimit(t *testing.T) {
	e := newEnv(t, nil)
	const n = 30
	type attempt struct {
		b    *browser
		form url.Values
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		b := e.browser(fmt.Sprintf("198.51.100.%d:4000", i+1))
		tok := csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil))
		attempts[i] = attempt{b, url.Values{"username": {"alice"}, "password": {fmt.Sprintf("guess %d", i)}, "csrf_token": {tok}}}
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i, a := range attempts {
		wg.Go(func() { codes[i] = a.b.do(http.MethodPost, DefaultLoginPath, a.form).Code })
	}
	wg.Wait()
	if calls := e.checker.calls.Load(); calls > DefaultMaxFailures {
		t.Fatalf("%d passwords checked in parallel, limit %d", calls, DefaultMaxFailures)
	}
	counts := map[int]int{}
	for _, c := range codes {
		counts[c]++
	}
	if counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != n || counts[http.StatusUnauthorized] == 0 {
		t.Fatalf("status counts %v", counts)
	}
}

// ctxAddr carries a test client address to Config.ContextClientIP.
type ctxAddr struct{}

// TestCheckPasswordSharesTheLockout: the OAuth 2 password grant checks
// passwords through Manager.CheckPassword, which must count and refuse
// exactly like the login form, or the token endpoint would be a way
// around the lockout.
func TestCheckPasswordSharesTheLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.ContextClientIP = func(ctx context.Context) string { s, _ := ctx.Value(ctxAddr{}).(string); return s }
	})
	from := func(addr string) context.Context { return context.WithValue(context.Background(), ctxAddr{}, addr) }
	check := func(user, pw, addr string) (bool, error) { return e.m.CheckPassword(from(addr), user, pw) }

	if ok, err := check("alice", alicePassword, "198.51.100.1"); !ok || err != nil {
		t.Fatalf("right password: %v, %v", ok, err)
	}
	// Failures through the grant lock the username for the form...
	for i := range DefaultMaxFailures {
		if ok, err := check("alice", "wrong password", fmt.Sprintf("198.51.100.%d", i+1)); ok || err != nil {
			t.Fatalf("failure %d: %v, %v", i+1, ok, err)
		}
	}
	expectLocked(t, e, "alice", alicePassword, "203.0.113.7:4000", DefaultLockoutDuration)
	// ...and for the grant, without checking the password.
	calls := e.checker.calls.Load()
	if ok, err := check("alice", alicePassword, "203.0.113.8"); ok || !errors.Is(err, provider.ErrTooManyAttempts) {
		t.Fatalf("locked user through the grant: %v, %v", ok, err)
	}
	if e.checker.calls.Load() != calls {
		t.Fatal("the password was checked during a lockout")
	}

	// Form failures from one address lock that address for the grant.
	const attacker = "198.51.100.66"
	fail(t, e, "bob", attacker+":4000", DefaultMaxFailures)
	if ok, err := check("carol", "x", attacker); ok || !errors.Is(err, provider.ErrTooManyAttempts) {
		t.Fatalf("locked address through the grant: %v, %v", ok, err)
	}

	e.clock.Advance(DefaultLockoutDuration)
	if ok, err := check("alice", alicePassword, attacker); !ok || err != nil {
		t.Fatalf("after the lockout: %v, %v", ok, err)
	}
}
