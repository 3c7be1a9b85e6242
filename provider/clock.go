package provider

import "time"

// Clock returns the current time; injected so expiry and replay windows are
// tested exactly (RFC 5849's examples are from 1974).
type Clock func() time.Time

// Now returns c's time, or the real time for a nil Clock.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
