package login

import (
	"container/list"
	"sync"
	"time"
)

// limiter counts failed logins per key (a username or an address) and
// refuses attempts for a locked key; see "Brute-force policy" in the
// package documentation. It is bounded: at most max keys, the least
// recently updated evicted first.
type limiter struct {
	maxFailures     int
	window, lockout time.Duration
	maxKeys         int

	mu      sync.Mutex
	entries map[string]*list.Element // of *counter
	lru     *list.List               // front: least recently updated
}

type counter struct {
	key string
	// failures are the times (Unix ns) of the failures still inside the
	// window, oldest first; at most maxFailures of them.
	failures []int64
	// lockedUntil is the end of a lockout (Unix ns), 0 if none.
	lockedUntil int64
	// pending counts attempts being checked right now. They count as
	// failures in advance so that parallel requests cannot get more than
	// maxFailures guesses past the check.
	pending int
}

// outcome is how an attempt ended.
type outcome int

const (
	failed    outcome = iota // wrong username or password
	succeeded                // signed in
	aborted                  // no answer (store error): not counted
)

func newLimiter(maxFailures int, window, lockout time.Duration, maxKeys int) *limiter {
	return &limiter{
		maxFailures: maxFailures, window: window, lockout: lockout, maxKeys: maxKeys,
		entries: make(map[string]*list.Element), lru: list.New(),
	}
}

// begin reserves an attempt under every key, or reports how long until
// one would be allowed if any key is locked or has no attempts left.
func (l *limiter) begin(now time.Time, keys ...string) (ok bool, retryAfter time.Duration) {
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		el := l.entries[k]
		if el == nil {
			continue
		}
		c := el.Value.(*counter)
		l.expire(c, t)
		if c.lockedUntil > t {
			retryAfter = max(retryAfter, time.Duration(c.lockedUntil-t))
		} else if len(c.failures)+c.pending >= l.maxFailures {
			// Full only because of attempts in flight, or of failures
			// that leave the window before a lockout: retry soon.
			wait := time.Second
			if len(c.failures) > 0 {
				wait = max(wait, time.Duration(c.failures[0]+int64(l.window)-t))
			}
			retryAfter = max(retryAfter, wait)
		}
	}
	if retryAfter > 0 {
		return false, retryAfter
	}
	for _, k := range keys {
		l.get(k).pending++
	}
	return true, 0
}

// end releases the attempts begin reserved. A failure is counted under
// every key and locks a key at maxFailures; a success clears resetKey (the
// username) only.
func (l *limiter) end(now time.Time, o outcome, resetKey string, keys ...string) {
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		c := l.get(k) // recreated if evicted meanwhile
		if c.pending > 0 {
			c.pending--
		}
		l.expire(c, t)
		switch {
		case o == failed:
			c.failures = append(c.failures, t)
			if len(c.failures) >= l.maxFailures {
				c.lockedUntil = t + int64(l.lockout)
			}
		case o == succeeded && k == resetKey:
			c.failures, c.lockedUntil = nil, 0
		}
		if c.pending == 0 && len(c.failures) == 0 && c.lockedUntil == 0 {
			l.lru.Remove(l.entries[k])
			delete(l.entries, k)
		}
	}
}

// expire ends a lockout that is over (with the failures that caused it)
// and forgets failures older than the window.
func (l *limiter) expire(c *counter, t int64) {
	if c.lockedUntil != 0 && c.lockedUntil <= t {
		c.failures, c.lockedUntil = nil, 0
	}
	i := 0
	for i < len(c.failures) && c.failures[i] <= t-int64(l.window) {
		i++
	}
	c.failures = c.failures[i:]
}

// get returns k's counter, creating it (and evicting the least recently
// updated ones beyond maxKeys), and marks it most recently updated.
func (l *limiter) get(k string) *counter {
	if el := l.entries[k]; el != nil {
		l.lru.MoveToBack(el)
		return el.Value.(*counter)
	}
	for len(l.entries) >= l.maxKeys {
		front := l.lru.Front()
		delete(l.entries, front.Value.(*counter).key)
		l.lru.Remove(front)
	}
	c := &counter{key: k}
	l.entries[k] = l.lru.PushBack(c)
	return c
}

// size is the number of keys tracked.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
