package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
)

// recordingOpenID is an OpenID layer that keeps what it was asked to sign
// (package oidc, which imports this one, tests the ID tokens themselves).
type recordingOpenID struct {
	keys  *jwt.Keys
	mu    sync.Mutex
	reqs  []IDTokenRequest
	hints map[string]IDTokenHint
}

func (o *recordingOpenID) IDToken(_ context.Context, t IDTokenRequest) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reqs = append(o.reqs, t)
	return "id-token-" + t.User, nil
}

func (o *recordingOpenID) Keys() []*jwt.Keys { return []*jwt.Keys{o.keys} }

// IDTokenHint knows the hints the test put in hints; package oidc tests
// the real verification.
func (o *recordingOpenID) IDTokenHint(_ context.Context, raw string) (IDTokenHint, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if raw == "store-down" {
		return IDTokenHint{}, errors.New("key store unreachable")
	}
	h, ok := o.hints[raw]
	if !ok {
		return h, fmt.Errorf("%w: unknown", jwt.ErrInvalidToken)
	}
	return h, nil
}

// Subject differs from the username, so a comparison that bypassed it
// would fail the tests.
func (o *recordingOpenID) Subject(_ context.Context, username string) (string, error) {
	return "sub:" + username, nil
}

func (o *recordingOpenID) last() IDTokenRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reqs[len(o.reqs)-1]
}

func newOpenIDEnv(t *testing.T) (*env, *recordingOpenID) {
	var op *recordingOpenID
	e := newEnv(t, func(c *Config) {
		c.Scopes = append(c.Scopes, ScopeOpenID)
		op = &recordingOpenID{}
		c.OpenID = op
	})
	keys, err := jwt.NewKeys(context.Background(), e.db, jwt.RS256, 0, e.clock.Now, jwt.WithKeyPrefix("oidc"))
	if err != nil {
		t.Fatal(err)
	}
	op.keys = keys
	return e, op
}

func TestOpenIDRequestsNeedARedirectURIAndABoundedNonce(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	for name, q := range map[string]url.Values{
		"without redirect_uri": {"scope": {"openid"}},
		"with a huge nonce":    {"scope": {"openid"}, "redirect_uri": {""}, "nonce": {strings.Repeat("n", maxNonceLen+1)}},
		"with two nonces":      {"scope": {"openid"}, "redirect_uri": {""}, "nonce": {"a", "b"}},
	} {
		t.Run(name, func(t *testing.T) {
			q.Set("response_type", "code")
			q.Set("client_id", "first")
			if q.Has("redirect_uri") {
				q.Set("redirect_uri", "https://first.example.com/cb")
			}
			u := location(t, e.authorize(http.MethodGet, q, "alice"))
			if u.Query().Get("error") != "invalid_request" {
				t.Fatalf("redirect %s", u)
			}
		})
	}
	t.Run("a plain OAuth request still may omit redirect_uri", func(t *testing.T) {
		q := url.Values{"response_type": {"code"}, "client_id": {"first"}, "scope": {"read"}}
		if u := location(t, e.authorize(http.MethodGet, q, "alice")); u.Query().Get("code") == "" {
			t.Fatalf("redirect %s", u)
		}
	})
}

func TestTheNonceAndAuthTimeTravelThroughConsentToTheIDToken(t *testing.T) {
	e, op := newOpenIDEnv(t)
	signedIn := e.clock.Now().Add(-time.Hour)
	params := url.Values{"response_type": {"code"}, "client_id": {"dyn"}, "redirect_uri": {"https://dyn.example.com/cb"},
		"scope": {"openid profile"}, "nonce": {"n 1/ü"}, "state": {"s"}}
	page := e.authorize(http.MethodGet, params, "alice")
	m := csrfRe.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("no consent page: %d", page.Code)
	}
	post := url.Values{"csrf_token": {m[1]}, "decision": {"approve"}}
	for k, v := range params {
		post[k] = v
	}
	r := newFormRequest(PathAuthorize, post)
	r = r.WithContext(WithAuthTime(r.Context(), signedIn))
	rec := newRecorder()
	e.srv.Authorize(rec, r, "alice")
	code := location(t, rec).Query().Get("code")
	_, tj := e.exchange("dyn", webSecret, code, url.Values{"redirect_uri": {"https://dyn.example.com/cb"}})
	got := op.last()
	if got.Nonce != "n 1/ü" || !got.AuthTime.Equal(signedIn) || got.User != "alice" || got.ClientID != "dyn" || got.AccessToken != tj.AccessToken {
		t.Fatalf("ID token request %+v", got)
	}
}

func TestTheMetadataNamesTheJWKSWithOpaqueTokensWhenOpenIDIsOn(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	rec := newRecorder()
	e.srv.Metadata(rec, newGetRequest(PathMetadata))
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	if m["jwks_uri"] != testIssuer+PathJWKS {
		t.Fatalf("jwks_uri %v", m["jwks_uri"])
	}
	found := false
	for _, ep := range e.srv.Endpoints() {
		found = found || ep.Path == PathJWKS
	}
	if !found {
		t.Fatal("the JWK Set is not served")
	}
}

func newFormRequest(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func newGetRequest(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }
