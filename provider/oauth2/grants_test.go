package oauth2

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestGrantRegistry(t *testing.T) {
	if got, want := KnownGrants(), []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantPassword, GrantDeviceCode}; !slices.Equal(got, want) {
		t.Errorf("KnownGrants() = %v, want %v", got, want)
	}
	if want := []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}; !slices.Equal(DefaultGrants, want) {
		t.Errorf("DefaultGrants = %v, want %v (never password, RFC 9700 §2.4)", DefaultGrants, want)
	}
	if got, want := ConfidentialGrants(), []string{GrantClientCredentials, GrantPassword}; !slices.Equal(got, want) {
		t.Errorf("ConfidentialGrants() = %v, want %v", got, want)
	}
}

// The registry's public flag decides whether the token endpoint lets a
// public client in, for every grant it lists.
func TestGrantPublicFlagGovernsClientAuthentication(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Grants = KnownGrants(); c.Passwords = passwords{} })
	for _, g := range grantTypes {
		rec := e.post(e.srv.Token, url.Values{"grant_type": {g.name}, "client_id": {"spa"}}, "", "")
		var body tokenJSON
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if refused := body.Error == "invalid_client"; refused == g.public {
			t.Errorf("%s: a public client got %d %s; public grant: %v", g.name, rec.Code, body.Error, g.public)
		}
	}
}

func TestEndpoints(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Issuer = testIssuer + "/tenant" })
	got := map[string][]string{}
	for _, ep := range e.srv.Endpoints() {
		if (ep.Serve == nil) == (ep.ServeOwner == nil) {
			t.Errorf("%s: exactly one of Serve and ServeOwner must be set", ep.Path)
		}
		got[ep.Path] = ep.Methods
	}
	get, post := []string{http.MethodGet, http.MethodHead}, []string{http.MethodPost}
	want := map[string][]string{
		PathAuthorize: {http.MethodGet, http.MethodPost}, PathToken: post, PathRevoke: post, PathIntrospect: post,
		PathMetadata: get, PathMetadata + "/tenant": get,
	}
	for p, m := range want {
		if !slices.Equal(got[p], m) {
			t.Errorf("%s: methods %v, want %v", p, got[p], m)
		}
	}
	if len(got) != len(want) {
		t.Errorf("endpoints %v, want %v (no JWKS with opaque tokens)", got, want)
	}
}
