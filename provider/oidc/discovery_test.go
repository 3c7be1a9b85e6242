package oidc_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
)

func TestTheDiscoveryDocumentDescribesTheSameServer(t *testing.T) {
	e := newEnv(t, "")
	rec := e.get(oidc.PathDiscovery, "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var d map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(e.get(oauth2.PathMetadata, "").Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "grant_types_supported",
		"token_endpoint_auth_methods_supported", "code_challenge_methods_supported", "scopes_supported"} {
		if d[k] == nil || !equalJSON(d[k], m[k]) {
			t.Errorf("%s: discovery %v, RFC 8414 metadata %v", k, d[k], m[k])
		}
	}
	want := map[string]any{
		"userinfo_endpoint":                     testIssuer + oidc.PathUserInfo,
		"jwks_uri":                              testIssuer + oauth2.PathJWKS,
		"response_types_supported":              []any{"code"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
	}
	for k, v := range want {
		if !equalJSON(d[k], v) {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if !slices.Contains(toStrings(d["scopes_supported"]), "openid") {
		t.Error("scopes_supported lacks openid")
	}
	for _, c := range []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username"} {
		if !slices.Contains(toStrings(d["claims_supported"]), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
}

func TestTheJWKSIsServedWithOpaqueTokensAndHoldsBothSeriesWithJWTs(t *testing.T) {
	for format, want := range map[string][]string{oauth2.TokenFormatOpaque: {"RS256"}, oauth2.TokenFormatJWT: {"EdDSA", "RS256"}} {
		e := newEnv(t, format)
		rec := e.get(oauth2.PathJWKS, "")
		var set struct{ Keys []struct{ Alg string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", format, rec.Code, rec.Body.String())
		}
		var algs []string
		for _, k := range set.Keys {
			if !slices.Contains(algs, k.Alg) {
				algs = append(algs, k.Alg)
			}
		}
		slices.Sort(algs)
		if !slices.Equal(algs, want) {
			t.Errorf("%s: algorithms %v, want %v", format, algs, want)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, s := range l {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}
