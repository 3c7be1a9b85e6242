package provider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strconv"
)

// DevicePage is the user-code form of the device flow's verification page
// (RFC 8628 §3.3).
type DevicePage struct {
	// Action is the path the form posts to (the verification URI).
	Action string
	// User is the signed-in resource owner.
	User string
	// UserCode prefills the field (verification_uri_complete, or the
	// code typed before an error).
	UserCode string
	// Error, if set, is shown above the form as an alert.
	Error string
}

// DeviceConsentPage is the consent form of the device flow: which client
// asks for which scopes, for the user code entered.
type DeviceConsentPage struct {
	// Action is the path the form posts to (the verification URI).
	Action     string
	User       string
	ClientID   string
	ClientName string
	Scopes     []string
	// UserCode is the normalized user code, sent back as a hidden field;
	// the CSRF token is bound to it.
	UserCode string
}

// Purposes of device flow form tokens.
const (
	deviceEntry   = "entry"
	deviceConsent = "consent"
)

// RenderDevice shows the user-code form with a CSRF token bound to the
// user, with the given status (200, or 4xx after a refused code).
func (p *Pages) RenderDevice(w http.ResponseWriter, status int, page DevicePage) {
	p.render(w, status, TemplateDevice, struct {
		Action, User, UserCode, Error, CSRF string
	}{page.Action, page.User, page.UserCode, page.Error,
		p.deviceToken(deviceEntry, page.User, "", p.Clock.Now().Add(p.ttl()).Unix())}, cspFor(""))
}

// CheckDeviceForm reports whether the submitted user-code form (r.PostForm
// already parsed) carries exactly one csrf_token RenderDevice made for
// user, not expired.
func (p *Pages) CheckDeviceForm(r *http.Request, user string) bool {
	if r.Method != http.MethodPost || len(r.PostForm["csrf_token"]) != 1 {
		return false
	}
	return p.checkDeviceToken(r.PostForm.Get("csrf_token"), deviceEntry, user, "")
}

// RenderDeviceConsent shows the consent form for a device authorization,
// with a warning against codes sent by someone else (RFC 8628 §5.4) and a
// CSRF token bound to (user, user code). It posts decision=approve or
// deny with the user code.
func (p *Pages) RenderDeviceConsent(w http.ResponseWriter, page DeviceConsentPage) {
	name := page.ClientName
	if name == "" {
		name = page.ClientID
	}
	p.render(w, http.StatusOK, TemplateConsent, consentData{
		Action: page.Action, User: page.User, ClientID: page.ClientID, ClientName: name,
		CSRF:   p.deviceToken(deviceConsent, page.User, page.UserCode, p.Clock.Now().Add(p.ttl()).Unix()),
		Note:   "Allow only if you started this on a device in front of you and it shows this code: " + page.UserCode + ".",
		Scopes: page.Scopes, Hidden: []hiddenField{{"user_code", page.UserCode}},
	}, cspFor(""))
}

// CheckDeviceConsent verifies a submitted device consent form (r.PostForm
// already parsed) for user and the normalized userCode, as CheckConsent
// does for the authorization endpoint's.
func (p *Pages) CheckDeviceConsent(r *http.Request, user, userCode string) (approved bool, err *Error) {
	return checkDecision(r, func(token string) bool { return p.checkDeviceToken(token, deviceConsent, user, userCode) })
}

// deviceMAC binds purpose, user, user code and expiry; the prefix keeps
// it apart from consent and login tokens made with the same key, and the
// length prefixes keep different fields from sharing an input.
func (p *Pages) deviceMAC(purpose, user, userCode string, exp int64) []byte {
	m := hmac.New(sha256.New, p.hmacKey())
	b := []byte("caddy-oauth device v1")
	for _, s := range []string{purpose, user, userCode} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	m.Write(b)
	return m.Sum(nil)
}

// deviceToken is "<expiry unix>.<base64url HMAC>".
func (p *Pages) deviceToken(purpose, user, userCode string, exp int64) string {
	return strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(p.deviceMAC(purpose, user, userCode, exp))
}

func (p *Pages) checkDeviceToken(tok, purpose, user, userCode string) bool {
	exp, mac, ok := splitFormToken(tok)
	if !ok {
		return false
	}
	good := hmac.Equal(mac, p.deviceMAC(purpose, user, userCode, exp))
	return good && p.Clock.Now().Unix() <= exp
}
