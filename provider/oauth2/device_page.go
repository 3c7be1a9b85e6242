package oauth2

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Messages of the verification page.
const (
	msgDeviceMalformed = "That is not a valid code. Codes have 8 letters, like BCDF-GHJK."
	msgDeviceUnknown   = "That code is unknown or has expired. Check the code on your device, or start again there."
	msgDeviceUsed      = "That code has already been used. Start again on your device if you need a new one."
	msgDeviceCSRF      = "This form has expired or did not come from this site. Please enter the code again."
	msgDeviceTooMany   = "Too many wrong codes. Try again later."
	msgDeviceStore     = "Connecting a device is not possible right now. Please try again later."
)

// DevicePage serves the verification URI of RFC 8628 §3.3 to the signed-in
// resource owner user (the glue signs the user in first, as for the
// authorization endpoint). GET shows the user-code form, prefilled from
// ?user_code= (verification_uri_complete, §3.3.1); its POST checks the
// code, throttled against guessing (§5.1), and shows the consent page for
// the client and scopes; the consent POST approves or denies. Consent is
// always asked, even for trusted clients or remembered consent: a user
// code someone else sent is the remote phishing of §5.4, and the page is
// the only point where the user can notice it.
func (s *Server) DevicePage(w http.ResponseWriter, r *http.Request, user string) {
	provider.HeaderSecurity(w.Header())
	if user == "" {
		s.errorPage(w, http.StatusUnauthorized, "Login required", "Sign in to connect a device.", "")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		prefill := ""
		if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
			if code, ok := normalizeUserCode(q.Get("user_code")); ok {
				prefill = displayUserCode(code)
			}
		}
		s.renderDevice(w, http.StatusOK, user, prefill, "")
	case http.MethodPost:
		form, e := readBody(w, r)
		if e != nil {
			s.errorPage(w, e.Status, "Invalid form", "The form could not be read. Go back and try again.", "")
			return
		}
		r.PostForm = form
		if form.Has("decision") {
			s.deviceDecision(w, r, user)
			return
		}
		s.deviceEntry(w, r, user)
	default:
		w.Header().Set("Allow", "GET, POST")
		s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Use the form.", "")
	}
}

func (s *Server) renderDevice(w http.ResponseWriter, status int, user, code, msg string) {
	s.pages.RenderDevice(w, status, provider.DevicePage{
		Action: s.cfg.Prefix + PathDevice, User: user, UserCode: code, Error: msg,
	})
}

// deviceEntry checks a typed user code and shows the consent page for it.
// Only a well-formed code that the store does not know counts as a wrong
// guess; a forged form, a typo in the format or a store failure does not.
func (s *Server) deviceEntry(w http.ResponseWriter, r *http.Request, user string) {
	form := r.PostForm
	raw := form.Get("user_code")
	echo := raw
	if len(echo) > maxUserCodeInput || !utf8.ValidString(echo) {
		echo = ""
	}
	if !s.pages.CheckDeviceForm(r, user) {
		s.emit(provider.Event{Name: "device_code_refused", User: user, Grant: GrantDeviceCode, Reason: "invalid csrf token"})
		s.renderDevice(w, http.StatusForbidden, user, echo, msgDeviceCSRF)
		return
	}
	code, ok := normalizeUserCode(raw)
	if len(form["user_code"]) != 1 || !ok {
		s.renderDevice(w, http.StatusBadRequest, user, echo, msgDeviceMalformed)
		return
	}
	keys := []string{deviceServerKey, "user:" + user}
	if ip := s.cfg.ClientIP(r); ip != "" {
		keys = append(keys, "addr:"+addressKey(ip))
	}
	ok, retry, err := s.beginDeviceAttempt(r.Context(), keys)
	if err != nil {
		s.storeFailed("count user-code attempts", err)
		s.renderDevice(w, http.StatusServiceUnavailable, user, echo, msgDeviceStore)
		return
	}
	if !ok {
		s.emit(provider.Event{Name: "device_code_throttled", User: user, Grant: GrantDeviceCode, Reason: "too many wrong user codes"})
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		s.renderDevice(w, http.StatusTooManyRequests, user, echo, msgDeviceTooMany)
		return
	}
	failed := false
	defer func() { s.endDeviceAttempt(r.Context(), keys, failed) }()

	dev, err := s.st.GetDeviceByUserCode(r.Context(), provider.HashToken(code))
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && s.expired(dev.ExpiresAt):
		failed = true
		s.emit(provider.Event{Name: "device_code_refused", User: user, Grant: GrantDeviceCode, Reason: "unknown or expired user code"})
		s.renderDevice(w, http.StatusBadRequest, user, displayUserCode(code), msgDeviceUnknown)
		return
	case err != nil:
		s.storeFailed("get device authorization", err)
		s.renderDevice(w, http.StatusServiceUnavailable, user, displayUserCode(code), msgDeviceStore)
		return
	case dev.Status != store.DevicePending:
		s.renderDevice(w, http.StatusBadRequest, user, "", msgDeviceUsed)
		return
	}
	client, ok := s.deviceClient(w, r, dev)
	if !ok {
		return
	}
	s.pages.RenderDeviceConsent(w, provider.DeviceConsentPage{
		Action: s.cfg.Prefix + PathDevice, User: user,
		ClientID: client.ID, ClientName: client.Name, Scopes: dev.Scopes,
		UserCode: displayUserCode(code),
	})
}

// deviceDecision records the consent form's answer. The CSRF token is
// bound to the user code shown, and is checked before any lookup, so the
// form is no way around the throttle.
func (s *Server) deviceDecision(w http.ResponseWriter, r *http.Request, user string) {
	form := r.PostForm
	code, ok := normalizeUserCode(form.Get("user_code"))
	if len(form["user_code"]) != 1 || !ok {
		s.errorPage(w, http.StatusBadRequest, "Invalid form", "The form names no valid code. Enter the code again.", "")
		return
	}
	approved, cerr := s.pages.CheckDeviceConsent(r, user, displayUserCode(code))
	if cerr != nil {
		s.errorPage(w, cerr.Status, "This form has expired", cerr.Description+". Enter the code shown on your device again.", "")
		return
	}
	ctx := r.Context()
	hash := provider.HashToken(code)
	dev, err := s.st.GetDeviceByUserCode(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && s.expired(dev.ExpiresAt):
		s.errorPage(w, http.StatusBadRequest, "Code expired", msgDeviceUnknown, "")
		return
	case err != nil:
		s.storeFailed("get device authorization", err)
		s.errorPage(w, http.StatusServiceUnavailable, "Server error", msgDeviceStore, "")
		return
	}
	client, ok := s.deviceClient(w, r, dev)
	if !ok {
		return
	}
	dev, err = s.st.DecideDevice(ctx, hash, user, approved)
	switch {
	case errors.Is(err, store.ErrConsumed):
		s.errorPage(w, http.StatusBadRequest, "Code already used", msgDeviceUsed, client.ID)
		return
	case errors.Is(err, store.ErrNotFound):
		s.errorPage(w, http.StatusBadRequest, "Code expired", msgDeviceUnknown, client.ID)
		return
	case err != nil:
		s.storeFailed("decide device authorization", err)
		s.errorPage(w, http.StatusServiceUnavailable, "Server error", msgDeviceStore, client.ID)
		return
	}
	name := client.Name
	if name == "" {
		name = client.ID
	}
	if !approved {
		s.emit(provider.Event{Name: "device_denied", ClientID: client.ID, User: user, Grant: GrantDeviceCode, Scopes: dev.Scopes})
		s.pages.RenderMessage(w, provider.MessagePage{Title: "Request denied",
			Message: name + " was not given access. You can close this window."})
		return
	}
	s.emit(provider.Event{Name: "device_approved", ClientID: client.ID, User: user, Grant: GrantDeviceCode, Scopes: dev.Scopes})
	s.pages.RenderMessage(w, provider.MessagePage{Title: "Device connected",
		Message: name + " now has access. Return to your device: it continues by itself. You can close this window."})
}

// deviceClient is the client of dev, if it still exists and may still use
// the grant; otherwise it answers an error page.
func (s *Server) deviceClient(w http.ResponseWriter, r *http.Request, dev *store.DeviceAuthorization) (*store.Client, bool) {
	client, err := s.getClient(r.Context(), dev.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.errorPage(w, http.StatusBadRequest, "Unknown application", "The application that asked for this code is no longer registered.", dev.ClientID)
		return nil, false
	case err != nil:
		s.storeFailed("get client", err)
		s.errorPage(w, http.StatusServiceUnavailable, "Server error", msgDeviceStore, dev.ClientID)
		return nil, false
	case !s.clientMay(client, GrantDeviceCode):
		s.errorPage(w, http.StatusBadRequest, "Application not allowed", "This application may no longer connect devices.", client.ID)
		return nil, false
	}
	return client, true
}

// addressKey groups an address for the throttle: IPv4 alone, IPv6 by its
// /64, which one subscriber commonly holds whole (as the login's lockout).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return strings.ToValidUTF8(ip, "")
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
