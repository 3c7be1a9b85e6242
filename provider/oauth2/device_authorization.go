package oauth2

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// deviceAuthorizationResponse is RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// userCodeAttempts is how often a colliding user code is drawn again
// before giving up: with few live codes a second draw all but never
// collides.
const userCodeAttempts = 5

// DeviceAuthorization serves the device authorization endpoint (RFC 8628
// §3.1): a POST with a urlencoded body, the client authenticated as at the
// token endpoint (a public client by its client_id), the scope checked as
// for any grant. It answers a fresh device code (256-bit, kept only as its
// hash), a user code and where to enter it (§3.2); errors are RFC 6749
// §5.2 JSON.
func (s *Server) DeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		s.deviceRefused(w, "", e)
		return
	}
	client, e := s.authenticateClient(r, form, true)
	if e != nil {
		s.deviceRefused(w, "", e)
		return
	}
	if !provider.HasGrant(client, GrantDeviceCode) {
		s.deviceRefused(w, client.ID, provider.ErrUnauthorizedClient("this client may not use the device code grant"))
		return
	}
	scopes, e := s.grantScopes(client, form)
	if e != nil {
		s.deviceRefused(w, client.ID, e)
		return
	}
	deviceCode, err := s.newValue()
	if err != nil {
		s.deviceRefused(w, client.ID, s.storeFailed("entropy", err))
		return
	}
	now := s.now()
	dev := &store.DeviceAuthorization{
		DeviceCodeHash: provider.HashToken(deviceCode),
		ClientID:       client.ID,
		Scopes:         scopes,
		Status:         store.DevicePending,
		Interval:       s.cfg.DeviceInterval,
		IssuedAt:       now,
		ExpiresAt:      now.Add(s.cfg.DeviceCodeTTL),
	}
	var userCode string
	for attempt := 0; ; attempt++ {
		if userCode, err = newUserCode(s.entropy()); err != nil {
			s.deviceRefused(w, client.ID, s.storeFailed("entropy", err))
			return
		}
		dev.UserCodeHash = provider.HashToken(userCode)
		err = s.st.CreateDevice(r.Context(), dev)
		if !errors.Is(err, store.ErrExists) || attempt == userCodeAttempts-1 {
			break
		}
	}
	if err != nil {
		s.deviceRefused(w, client.ID, s.storeFailed("create device authorization", err))
		return
	}
	s.emit(provider.Event{Name: "device_code_issued", ClientID: client.ID, Grant: GrantDeviceCode, Scopes: scopes})
	verify := s.endpoint(PathDevice)
	writeJSON(w, http.StatusOK, deviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                displayUserCode(userCode),
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?" + url.Values{"user_code": {displayUserCode(userCode)}}.Encode(),
		ExpiresIn:               int64(s.cfg.DeviceCodeTTL / time.Second),
		Interval:                int64(s.cfg.DeviceInterval / time.Second),
	})
}

func (s *Server) deviceRefused(w http.ResponseWriter, clientID string, e *provider.Error) {
	if e.Code != "server_error" && e.Code != "invalid_client" {
		s.emit(provider.Event{Name: "device_code_refused", ClientID: clientID, Grant: GrantDeviceCode, Reason: e.Code + ": " + e.Description})
	}
	s.writeError(w, e)
}
