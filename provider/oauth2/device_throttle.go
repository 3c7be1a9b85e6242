package oauth2

import (
	"sync"
	"time"
)

// Limits of the user-code throttle (RFC 8628 §5.1). A wrong user code
// counts against the signed-in user, the client's address and the whole
// server; a key that reached its limit within deviceThrottleWindow is
// refused until its oldest failure leaves the window. Per device code,
// that bounds the guesses any one account or address makes during the
// code's lifetime (10 minutes by default) to deviceKeyFailures, and the
// guesses of everyone together to deviceServerFailures per window: at
// most 1000 of the 20^8 ≈ 2.6 × 10^10 codes, a chance of 4 × 10^-8 that a
// given code is hit.
const (
	deviceKeyFailures    = 5
	deviceServerFailures = 1000
	deviceThrottleWindow = 15 * time.Minute
	// deviceThrottleKeys bounds the memory: past it the keys whose
	// failures are all outside the window go, then any.
	deviceThrottleKeys = 10_000
	// deviceServerKey is the server-wide key; no user or address is "".
	deviceServerKey = ""
)

// deviceThrottle counts wrong user codes. The login form's limiter in
// provider/login is not reachable from here (its API is the password
// check), so this is a small one of its own with the same shape: an
// attempt in flight counts as a failure in advance, so parallel requests
// cannot pass the limit.
type deviceThrottle struct {
	mu   sync.Mutex
	keys map[string]*deviceCounter
}

type deviceCounter struct {
	failures []time.Time // inside the window, oldest first
	pending  int
}

func newDeviceThrottle() *deviceThrottle {
	return &deviceThrottle{keys: make(map[string]*deviceCounter)}
}

func keyLimit(k string) int {
	if k == deviceServerKey {
		return deviceServerFailures
	}
	return deviceKeyFailures
}

// begin reserves an attempt under every key, or reports how long until
// one would be allowed.
func (t *deviceThrottle) begin(now time.Time, keys ...string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		c := t.keys[k]
		if c == nil {
			continue
		}
		c.expire(now)
		if len(c.failures)+c.pending >= keyLimit(k) {
			wait := time.Second
			if len(c.failures) > 0 {
				wait = max(wait, c.failures[0].Add(deviceThrottleWindow).Sub(now))
			}
			retryAfter = max(retryAfter, wait)
		}
	}
	if retryAfter > 0 {
		return false, retryAfter
	}
	for _, k := range keys {
		t.get(now, k).pending++
	}
	return true, 0
}

// end releases the attempts begin reserved, counting a failure under
// every key if failed.
func (t *deviceThrottle) end(now time.Time, failed bool, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		c := t.get(now, k)
		if c.pending > 0 {
			c.pending--
		}
		c.expire(now)
		if failed {
			c.failures = append(c.failures, now)
		}
		if c.pending == 0 && len(c.failures) == 0 {
			delete(t.keys, k)
		}
	}
}

func (c *deviceCounter) expire(now time.Time) {
	i := 0
	for i < len(c.failures) && !c.failures[i].Add(deviceThrottleWindow).After(now) {
		i++
	}
	c.failures = c.failures[i:]
}

// get returns k's counter, making room first when the map is full.
func (t *deviceThrottle) get(now time.Time, k string) *deviceCounter {
	if c := t.keys[k]; c != nil {
		return c
	}
	if len(t.keys) >= deviceThrottleKeys {
		for key, c := range t.keys {
			if c.expire(now); c.pending == 0 && len(c.failures) == 0 {
				delete(t.keys, key)
			}
		}
		for key := range t.keys {
			if len(t.keys) < deviceThrottleKeys {
				break
			}
			if key != deviceServerKey {
				delete(t.keys, key)
			}
		}
	}
	c := &deviceCounter{}
	t.keys[k] = c
	return c
}
