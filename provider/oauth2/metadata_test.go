package oauth2

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func TestMetadata(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Prefix = "/auth"; c.Issuer = testIssuer + "/" })
	rec := newRecorder()
	e.srv.Metadata(rec, mustRequest(http.MethodGet, PathMetadata))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	wantStr := map[string]string{
		"issuer":                 testIssuer + "/",
		"authorization_endpoint": testIssuer + "/auth/oauth2/authorize",
		"token_endpoint":         testIssuer + "/auth/oauth2/token",
		"revocation_endpoint":    testIssuer + "/auth/oauth2/revoke",
		"introspection_endpoint": testIssuer + "/auth/oauth2/introspect",
	}
	for k, v := range wantStr {
		if m[k] != v {
			t.Errorf("%s = %v, want %s", k, m[k], v)
		}
	}
	list := func(k string) []string {
		var out []string
		for _, v := range m[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	wantList := map[string][]string{
		"response_types_supported":              {"code"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"code_challenge_methods_supported":      {"S256", "plain"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      {"read", "write", "profile", "admin"},
	}
	for k, v := range wantList {
		if got := list(k); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if m["authorization_response_iss_parameter_supported"] != true {
		t.Error("iss parameter support not advertised")
	}

	// Disabled grants are not advertised; enabled password is.
	e2 := newEnv(t, func(c *Config) { c.Grants = []string{"authorization_code", "password"}; c.Passwords = passwords{} })
	rec = newRecorder()
	e2.srv.Metadata(rec, mustRequest(http.MethodGet, PathMetadata))
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	if got := list("grant_types_supported"); !slices.Equal(got, []string{"authorization_code", "password"}) {
		t.Errorf("grants %v", got)
	}
	rec = newRecorder()
	e2.srv.Metadata(rec, mustRequest(http.MethodPost, PathMetadata))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func mustRequest(method, path string) *http.Request {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t, nil)
	bad := []Config{
		{},
		{Issuer: "auth.example.com"},
		{Issuer: "ftp://auth.example.com"},
		{Issuer: testIssuer + "?x=1"},
		{Issuer: testIssuer + "#f"},
		{Issuer: testIssuer, Prefix: "auth"},
		{Issuer: testIssuer, Prefix: "/auth/"},
		{Issuer: testIssuer, Grants: []string{"implicit"}},
		{Issuer: testIssuer, Scopes: []string{"a\"b"}},
		{Issuer: testIssuer, Scopes: []string{"read"}, DefaultScopes: []string{"write"}},
		{Issuer: testIssuer, AccessTokenTTL: -1},
	}
	for _, cfg := range bad {
		if _, err := New(cfg, e.db, e.srv.clients); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	if _, err := New(Config{Issuer: "http://127.0.0.1:8080"}, e.db, e.srv.clients); err != nil {
		t.Errorf("refused a plain loopback issuer: %v", err)
	}
}
