package oauth2

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// deviceGrants enables the device grant beside the defaults.
func deviceGrants(c *Config) { c.Grants = append(slices.Clone(DefaultGrants), GrantDeviceCode) }

type deviceJSON struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
	Error                   string `json:"error"`
}

var userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// startDevice asks for a device code as client (public: no secret).
func (e *env) startDevice(client, secret string, form url.Values) deviceJSON {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if secret == "" {
		form.Set("client_id", client)
	}
	id := ""
	if secret != "" {
		id = client
	}
	rec := e.post(e.srv.DeviceAuthorization, form, id, secret)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("device authorization: %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		e.t.Fatalf("device authorization response cacheable: %v", rec.Header())
	}
	var d deviceJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		e.t.Fatal(err)
	}
	e.secrets = append(e.secrets, d.DeviceCode)
	return d
}

// poll asks the token endpoint as the public client tv.
func (e *env) poll(client, deviceCode string) (*httptest.ResponseRecorder, tokenJSON) {
	e.t.Helper()
	rec := e.post(e.srv.Token, url.Values{"grant_type": {GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {client}}, "", "")
	return rec, e.decode(rec)
}

// devicePage calls the verification page as user from addr.
func (e *env) devicePage(method, user, addr string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if method == http.MethodGet {
		r = httptest.NewRequest(method, PathDevice+"?"+form.Encode(), nil)
	} else {
		r = httptest.NewRequest(method, PathDevice, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if addr != "" {
		r.RemoteAddr = addr
	}
	rec := httptest.NewRecorder()
	e.srv.DevicePage(rec, r, user)
	return rec
}

// enterCode gets the form for user and submits code, returning the answer
// (the consent page on success).
func (e *env) enterCode(user, addr, code string) *httptest.ResponseRecorder {
	e.t.Helper()
	page := e.devicePage(http.MethodGet, user, addr, nil)
	m := csrfRe.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		e.t.Fatalf("no device form: %d %s", page.Code, page.Body.String())
	}
	return e.devicePage(http.MethodPost, user, addr, url.Values{"csrf_token": {m[1]}, "user_code": {code}})
}

// decideDevice enters code as user and answers the consent page.
func (e *env) decideDevice(user, code, decision string) *httptest.ResponseRecorder {
	e.t.Helper()
	consent := e.enterCode(user, "", code)
	m := csrfRe.FindStringSubmatch(consent.Body.String())
	if consent.Code != http.StatusOK || m == nil || !strings.Contains(consent.Body.String(), `name="decision"`) {
		e.t.Fatalf("no consent page: %d %s", consent.Code, consent.Body.String())
	}
	return e.devicePage(http.MethodPost, user, "", url.Values{"csrf_token": {m[1]}, "user_code": {code}, "decision": {decision}})
}

func TestDeviceFlowApproved(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", url.Values{"scope": {"read profile"}})
	if !userCodeRe.MatchString(d.UserCode) {
		t.Fatalf("user_code %q is not XXXX-XXXX from the §6.1 alphabet", d.UserCode)
	}
	if d.VerificationURI != testIssuer+PathDevice || d.VerificationURIComplete != d.VerificationURI+"?user_code="+d.UserCode {
		t.Fatalf("verification URIs %q, %q", d.VerificationURI, d.VerificationURIComplete)
	}
	if d.ExpiresIn != 600 || d.Interval != 5 || len(d.DeviceCode) < 43 {
		t.Fatalf("expires_in %d, interval %d, device_code of %d characters", d.ExpiresIn, d.Interval, len(d.DeviceCode))
	}

	rec, tj := e.poll("tv", d.DeviceCode)
	if rec.Code != http.StatusBadRequest || tj.Error != "authorization_pending" {
		t.Fatalf("before approval: %d %s", rec.Code, rec.Body.String())
	}

	// verification_uri_complete prefills the form.
	u, _ := url.Parse(d.VerificationURIComplete)
	page := e.devicePage(http.MethodGet, "alice", "", u.Query())
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `value="`+d.UserCode+`"`) {
		t.Fatalf("form not prefilled: %d %s", page.Code, page.Body.String())
	}
	if page.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(page.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("device page can be framed: %v", page.Header())
	}

	// Typed in lower case with a space instead of the dash.
	typed := strings.ToLower(strings.Replace(d.UserCode, "-", " ", 1))
	consent := e.enterCode("alice", "", typed)
	body := consent.Body.String()
	if consent.Code != http.StatusOK || !strings.Contains(body, "Living Room TV") || !strings.Contains(body, "<code>profile</code>") {
		t.Fatalf("consent page: %d %s", consent.Code, body)
	}
	e.clock.Advance(5 * time.Second)
	done := e.decideDevice("alice", d.UserCode, "approve")
	if done.Code != http.StatusOK || !strings.Contains(done.Body.String(), "Device connected") {
		t.Fatalf("approval: %d %s", done.Code, done.Body.String())
	}

	rec, tj = e.poll("tv", d.DeviceCode)
	if rec.Code != http.StatusOK || tj.AccessToken == "" || tj.RefreshToken == "" || tj.Scope != "read profile" {
		t.Fatalf("after approval: %d %s", rec.Code, rec.Body.String())
	}
	id, err := e.srv.VerifyBearer(t.Context(), tj.AccessToken)
	if err != nil || id.User != "alice" || id.ClientID != "tv" {
		t.Fatalf("VerifyBearer: %+v, %v", id, err)
	}

	// Single use.
	rec, again := e.poll("tv", d.DeviceCode)
	if rec.Code != http.StatusBadRequest || again.Error != "invalid_grant" {
		t.Fatalf("second redemption: %d %s", rec.Code, rec.Body.String())
	}

	// The refresh token rotates, and its family is the device grant's:
	// revoking the user ends both.
	rec = e.post(e.srv.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}, "client_id": {"tv"}}, "", "")
	next := e.decode(rec)
	if rec.Code != http.StatusOK || next.AccessToken == "" {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body.String())
	}
	if n, err := e.srv.RevokeUser(t.Context(), "alice"); err != nil || n < 2 {
		t.Fatalf("RevokeOwner: %d, %v", n, err)
	}
	if e.active(tj.AccessToken) || e.active(next.AccessToken) {
		t.Fatal("device tokens survive revoking the user")
	}
	for _, name := range []string{"device_code_issued", "device_approved", "token_issued"} {
		if !e.events.has(name) {
			t.Errorf("no %s event in %v", name, e.events.names())
		}
	}
	e.checkNoSecretsLogged()
	for _, ev := range e.events.all {
		if strings.Contains(ev.Reason, d.UserCode) || strings.Contains(ev.Reason, strings.ReplaceAll(d.UserCode, "-", "")) {
			t.Fatalf("event %+v names the user code", ev)
		}
	}
}

func TestDeviceFlowDenied(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	done := e.decideDevice("alice", d.UserCode, "deny")
	if done.Code != http.StatusOK || !strings.Contains(done.Body.String(), "Request denied") {
		t.Fatalf("denial: %d %s", done.Code, done.Body.String())
	}
	for range 2 {
		e.clock.Advance(5 * time.Second)
		if rec, tj := e.poll("tv", d.DeviceCode); rec.Code != http.StatusBadRequest || tj.Error != "access_denied" {
			t.Fatalf("after denial: %d %s", rec.Code, rec.Body.String())
		}
	}
	// A decided code cannot be decided again.
	if rec := e.enterCode("alice", "", d.UserCode); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "already been used") {
		t.Fatalf("entering a decided code: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeviceFlowSlowDown(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "authorization_pending"},                // the first poll
		{2 * time.Second, "slow_down"},              // 2s < 5s: now 10s
		{6 * time.Second, "slow_down"},              // 6s < 10s: now 15s
		{15 * time.Second, "authorization_pending"}, // waited the 15s
		{15 * time.Second, "authorization_pending"},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		if rec, tj := e.poll("tv", d.DeviceCode); rec.Code != http.StatusBadRequest || tj.Error != st.want {
			t.Fatalf("poll %d: %d %s, want %s", i, rec.Code, rec.Body.String(), st.want)
		}
	}
}

func TestDeviceFlowExpired(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	e.clock.Advance(DefaultDeviceCodeTTL)
	if rec, tj := e.poll("tv", d.DeviceCode); rec.Code != http.StatusBadRequest || tj.Error != "expired_token" {
		t.Fatalf("after expiry: %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.enterCode("alice", "", d.UserCode); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "unknown or has expired") {
		t.Fatalf("expired code entered: %d %s", rec.Code, rec.Body.String())
	}
	if rec, tj := e.poll("tv", "no-such-device-code"); rec.Code != http.StatusBadRequest || tj.Error != "expired_token" {
		t.Fatalf("unknown device code: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeviceCodeBoundToClient(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	e.decideDevice("alice", d.UserCode, "approve")
	// spa may use every grant, but not tv's device code.
	if rec, tj := e.poll("spa", d.DeviceCode); rec.Code != http.StatusBadRequest || tj.Error != "expired_token" {
		t.Fatalf("another client's poll: %d %s", rec.Code, rec.Body.String())
	}
	if rec, tj := e.poll("tv", d.DeviceCode); rec.Code != http.StatusOK || tj.AccessToken == "" {
		t.Fatalf("the client's own poll after another's: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeviceConcurrentPollsIssueOnce(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	e.decideDevice("alice", d.UserCode, "approve")
	const n = 16
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			rec := e.post(e.srv.Token, url.Values{"grant_type": {GrantDeviceCode}, "device_code": {d.DeviceCode}, "client_id": {"tv"}}, "", "")
			codes[i] = rec.Code
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d token responses, want exactly 1 (%v)", ok, codes)
	}
}

func TestDeviceAuthorizationRequests(t *testing.T) {
	e := newEnv(t, deviceGrants)
	cases := []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		err        string
	}{
		{"a confidential client must authenticate", url.Values{"client_id": {"console"}}, "", "", http.StatusUnauthorized, "invalid_client"},
		{"a wrong secret is refused with a Basic challenge", url.Values{}, "console", "wrong", http.StatusUnauthorized, "invalid_client"},
		{"an unknown client is refused", url.Values{"client_id": {"nobody"}}, "", "", http.StatusUnauthorized, "invalid_client"},
		{"no client is refused", url.Values{}, "", "", http.StatusUnauthorized, "invalid_client"},
		{"a client_id other than the Basic one is invalid_request", url.Values{"client_id": {"spa"}}, "web", webSecret, http.StatusBadRequest, "invalid_request"},
		{"a client not allowed the grant is unauthorized", url.Values{}, "norefresh", webSecret, http.StatusBadRequest, "unauthorized_client"},
		{"a scope beyond the client's is invalid_scope", url.Values{"scope": {"write"}}, "console", webSecret, http.StatusBadRequest, "invalid_scope"},
		{"an unknown scope is invalid_scope", url.Values{"client_id": {"tv"}, "scope": {"nope"}}, "", "", http.StatusBadRequest, "invalid_scope"},
		{"a repeated parameter is invalid_request", url.Values{"client_id": {"tv"}, "scope": {"read", "read"}}, "", "", http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post(e.srv.DeviceAuthorization, tc.form, tc.id, tc.secret)
			e.on(t).wantError(rec, tc.status, tc.err)
			if tc.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("a confidential client authenticated with Basic gets a code", func(t *testing.T) {
		d := e.on(t).startDevice("console", webSecret, url.Values{"scope": {"profile"}})
		if d.DeviceCode == "" {
			t.Fatal("no device code")
		}
	})
	t.Run("GET is refused", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.srv.DeviceAuthorization(rec, httptest.NewRequest(http.MethodGet, PathDeviceAuthorization+"?client_id=tv", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", rec.Code)
		}
	})
}

func TestDeviceGrantDisabled(t *testing.T) {
	e := newEnv(t, nil)
	for _, ep := range e.srv.Endpoints() {
		if ep.Path == PathDevice || ep.Path == PathDeviceAuthorization {
			t.Fatalf("%s served with the grant disabled", ep.Path)
		}
	}
	rec, tj := e.poll("tv", "x")
	if rec.Code != http.StatusBadRequest || tj.Error != "unsupported_grant_type" {
		t.Fatalf("device grant disabled: %d %s", rec.Code, rec.Body.String())
	}
	meta := httptest.NewRecorder()
	e.srv.Metadata(meta, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
	if strings.Contains(meta.Body.String(), "device") {
		t.Fatalf("metadata advertises the disabled grant: %s", meta.Body.String())
	}
}

func TestDeviceMetadata(t *testing.T) {
	e := newEnv(t, func(c *Config) { deviceGrants(c); c.Prefix = "/auth" })
	rec := httptest.NewRecorder()
	e.srv.Metadata(rec, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
	var m struct {
		Grants []string `json:"grant_types_supported"`
		Device string   `json:"device_authorization_endpoint"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.Grants, GrantDeviceCode) || m.Device != testIssuer+"/auth"+PathDeviceAuthorization {
		t.Fatalf("metadata: %s", rec.Body.String())
	}
	paths := map[string]bool{}
	for _, ep := range e.srv.Endpoints() {
		paths[ep.Path] = true
		if ep.Path == PathDevice && ep.ServeOwner == nil {
			t.Fatal("the verification page is not a resource owner endpoint (no login redirect)")
		}
	}
	if !paths[PathDevice] || !paths[PathDeviceAuthorization] {
		t.Fatalf("endpoints %v", paths)
	}
}

func TestDevicePageForms(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	t.Run("nobody signed in is 401", func(t *testing.T) {
		if rec := e.devicePage(http.MethodGet, "", "", nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("%d", rec.Code)
		}
	})
	t.Run("a code without a CSRF token is refused and shows no consent", func(t *testing.T) {
		rec := e.devicePage(http.MethodPost, "alice", "", url.Values{"user_code": {d.UserCode}})
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "decision") {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("another user's form token is refused", func(t *testing.T) {
		page := e.devicePage(http.MethodGet, "bob", "", nil)
		m := csrfRe.FindStringSubmatch(page.Body.String())
		rec := e.devicePage(http.MethodPost, "alice", "", url.Values{"csrf_token": {m[1]}, "user_code": {d.UserCode}})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("a consent token for another user code does not decide this one", func(t *testing.T) {
		other := e.startDevice("tv", "", nil)
		consent := e.enterCode("alice", "", other.UserCode)
		m := csrfRe.FindStringSubmatch(consent.Body.String())
		rec := e.devicePage(http.MethodPost, "alice", "", url.Values{"csrf_token": {m[1]}, "user_code": {d.UserCode}, "decision": {"approve"}})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		if _, tj := e.poll("tv", d.DeviceCode); tj.Error != "authorization_pending" {
			t.Fatalf("poll after a forged decision: %s", tj.Error)
		}
	})
	t.Run("an expired form is refused", func(t *testing.T) {
		page := e.devicePage(http.MethodGet, "alice", "", nil)
		m := csrfRe.FindStringSubmatch(page.Body.String())
		e.clock.Advance(provider.DefaultFormTTL + time.Second)
		defer e.clock.Advance(-provider.DefaultFormTTL - time.Second)
		rec := e.devicePage(http.MethodPost, "alice", "", url.Values{"csrf_token": {m[1]}, "user_code": {d.UserCode}})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("consent is asked again although the user approved the client before", func(t *testing.T) {
		e.decideDevice("alice", e.startDevice("tv", "", nil).UserCode, "approve")
		consent := e.enterCode("alice", "", e.startDevice("tv", "", nil).UserCode)
		if !strings.Contains(consent.Body.String(), `name="decision"`) {
			t.Fatalf("no consent page the second time: %s", consent.Body.String())
		}
	})
}

func TestDeviceUserCodeThrottle(t *testing.T) {
	e := newEnv(t, deviceGrants)
	d := e.startDevice("tv", "", nil)
	wrong := "BBBB-BBBB"
	if wrong == d.UserCode {
		wrong = "CCCC-CCCC"
	}
	// Malformed codes are no guesses.
	for range deviceKeyFailures + 1 {
		if rec := e.enterCode("alice", "192.0.2.1:1", "12345678"); rec.Code != http.StatusBadRequest {
			t.Fatalf("malformed: %d", rec.Code)
		}
	}
	for i := range deviceKeyFailures {
		if rec := e.enterCode("alice", "192.0.2.1:1", wrong); rec.Code != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d", i, rec.Code)
		}
	}
	// Locked: the right code is refused too, for alice from anywhere and
	// for anyone from her address.
	for _, who := range []struct{ user, addr string }{{"alice", "192.0.2.1:1"}, {"alice", "198.51.100.7:1"}, {"bob", "192.0.2.1:2"}} {
		rec := e.enterCode(who.user, who.addr, d.UserCode)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || strings.Contains(rec.Body.String(), `name="decision"`) {
			t.Fatalf("%s from %s while locked: %d %s", who.user, who.addr, rec.Code, rec.Body.String())
		}
	}
	if !e.events.has("device_code_throttled") {
		t.Fatalf("no device_code_throttled event: %v", e.events.names())
	}
	if rec := e.enterCode("bob", "198.51.100.7:1", d.UserCode); rec.Code != http.StatusOK {
		t.Fatalf("another user from another address: %d", rec.Code)
	}
	e.clock.Advance(deviceThrottleWindow)
	fresh := e.startDevice("tv", "", nil) // d has expired meanwhile
	if rec := e.enterCode("alice", "192.0.2.1:1", fresh.UserCode); rec.Code != http.StatusOK {
		t.Fatalf("after the window: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeviceThrottleServerWide(t *testing.T) {
	e := newEnv(t, deviceGrants)
	ctx := t.Context()
	for i := range deviceServerFailures {
		keys := []string{deviceServerKey, "user:u" + itoa(int64(i))}
		if ok, _, err := e.srv.beginDeviceAttempt(ctx, keys); !ok || err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		e.srv.endDeviceAttempt(ctx, keys, true)
	}
	if ok, _, _ := e.srv.beginDeviceAttempt(ctx, []string{deviceServerKey, "user:fresh"}); ok {
		t.Fatal("the server-wide limit does not hold")
	}
	e.clock.Advance(deviceThrottleWindow)
	if ok, _, _ := e.srv.beginDeviceAttempt(ctx, []string{deviceServerKey, "user:fresh"}); !ok {
		t.Fatal("the server-wide limit outlives its window")
	}
}

// The counts live in the store: two engines over one store (two Caddy
// nodes over one Redis) share them, so guesses spread over nodes lock the
// user on both.
func TestDeviceThrottleIsShared(t *testing.T) {
	a := newEnv(t, deviceGrants)
	b := newEnvOn(t, a.db, deviceGrants)
	d := a.startDevice("tv", "", nil)
	wrong := "BBBB-BBBB"
	if wrong == d.UserCode {
		wrong = "CCCC-CCCC"
	}
	for i := range deviceKeyFailures {
		e := []*env{a, b}[i%2]
		if rec := e.enterCode("alice", "192.0.2."+itoa(int64(i))+":1", wrong); rec.Code != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d", i, rec.Code)
		}
	}
	for _, e := range []*env{a, b} {
		if rec := e.enterCode("alice", "198.51.100.7:1", d.UserCode); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("alice after five wrong codes spread over two engines: %d, want 429", rec.Code)
		}
	}
}

func TestUserCodes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"BCDF-GHJK", "BCDFGHJK"}, {"bcdfghjk", "BCDFGHJK"}, {" bcdf ghjk ", "BCDFGHJK"}, {"b-c-d-f-g-h-j-k", "BCDFGHJK"},
		{"BCDF-GHJ", ""}, {"BCDF-GHJKL", ""}, {"ABCD-EFGH", ""}, {"BCDF-GHJ0", ""}, {"BCDF\u00a0GHJK", ""},
		{strings.Repeat("-", 40) + "BCDFGHJK", ""},
	} {
		got, ok := normalizeUserCode(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	// Bytes of 240 and more are skipped, the rest taken modulo 20.
	c, err := newUserCode(strings.NewReader("\xff\x00\xf0\x13\xef\x27\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"))
	if err != nil || c != "BZZZCDFG" {
		t.Fatalf("newUserCode = %q, %v; want BZZZCDFG", c, err)
	}
	seen := map[byte]int{}
	for range 2000 {
		c, err := newUserCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(c); i++ {
			seen[c[i]]++
		}
	}
	if len(seen) != len(userCodeAlphabet) {
		t.Fatalf("%d distinct characters in 16000, want %d", len(seen), len(userCodeAlphabet))
	}
	for ch, n := range seen {
		// 800 expected per character; 5 standard deviations either way.
		if n < 660 || n > 940 {
			t.Errorf("character %c drawn %d times of 16000", ch, n)
		}
	}
}

func FuzzDeviceAuthorization(f *testing.F) {
	e := newEnv(f, deviceGrants)
	f.Add("client_id=tv&scope=read", "", "")
	f.Add("scope=profile", "console", webSecret)
	f.Add("client_id=tv&scope=%00&scope=x", "", "")
	f.Add("client_id=console&client_secret=x", "console", "y")
	f.Fuzz(func(t *testing.T, body, user, pass string) {
		r := httptest.NewRequest(http.MethodPost, PathDeviceAuthorization, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		e.srv.DeviceAuthorization(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if rec.Code == http.StatusOK {
			var d deviceJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || !userCodeRe.MatchString(d.UserCode) || d.DeviceCode == "" {
				t.Fatalf("200 with %s", rec.Body.String())
			}
		}
	})
}
