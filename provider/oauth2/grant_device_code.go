package oauth2

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// deviceCodeGrant is open to public clients: devices without a keyboard
// are mostly public, and the user's approval on another screen is what
// protects the grant (RFC 8628 §3.1). Off unless Config.Grants lists it.
var deviceCodeGrant = grantType{name: GrantDeviceCode, public: true, handle: (*Server).grantDeviceCode}

// devicePace: a poll that came too early adds 5 seconds to the interval
// (RFC 8628 §3.5); half a second early is network jitter of a client
// that waits exactly the interval, and forgiven.
var devicePace = store.DevicePace{Step: 5 * time.Second, Tolerance: 500 * time.Millisecond}

// deviceError is one of RFC 8628 §3.5's token endpoint errors, all 400.
func deviceError(code, desc string) *provider.Error {
	return provider.NewError(http.StatusBadRequest, code, desc)
}

// grantDeviceCode answers a device access token request (RFC 8628 §3.4):
// the store records the poll atomically and says where the authorization
// stands; an approved one is consumed by exactly one poll, which gets the
// tokens (with a refresh token, like the code grant). The device code is
// bound to its client: another client's poll finds nothing and changes
// nothing.
func (s *Server) grantDeviceCode(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	value := form.Get("device_code")
	if value == "" {
		return nil, provider.ErrInvalidRequest("device_code is required")
	}
	dev, slow, err := s.st.PollDevice(ctx, provider.HashToken(value), client.ID, s.now(), devicePace)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The store forgets an authorization when it expires, so an
		// unknown code is almost always an expired one; either way the
		// client must start again, which is what expired_token says.
		return nil, deviceError("expired_token", "unknown or expired device code")
	case err != nil:
		return nil, s.storeFailed("poll device authorization", err)
	}
	if s.expired(dev.ExpiresAt) {
		return nil, deviceError("expired_token", "the device code has expired")
	}
	switch dev.Status {
	case store.DevicePending:
		if slow {
			return nil, deviceError("slow_down", "polling too fast; wait "+itoa(int64(dev.Interval/time.Second))+" seconds between requests")
		}
		return nil, deviceError("authorization_pending", "the user has not yet approved the request")
	case store.DeviceDenied:
		return nil, deviceError("access_denied", "the user denied the request")
	case store.DeviceApproved:
		return s.issue(ctx, grantOut{
			client: client, user: dev.User, scopes: dev.Scopes,
			grant: GrantDeviceCode, refresh: true,
		})
	}
	return nil, provider.ErrInvalidGrant("device code already used")
}
