package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
)

func TestTheCodeFlowWithScopeOpenIDReturnsAVerifiableIDToken(t *testing.T) {
	for _, format := range []string{oauth2.TokenFormatOpaque, oauth2.TokenFormatJWT} {
		t.Run("with "+format+" access tokens", func(t *testing.T) {
			e := newEnv(t, format)
			signedIn := e.clock.Now().Add(-10 * time.Minute)
			// A nonce with characters JSON and URLs treat specially is
			// echoed byte for byte.
			nonce := `n-0S6_WzA2Mj "ü+/=&`
			tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile", nonce, signedIn))
			if tj.IDToken == "" {
				t.Fatal("no id_token")
			}
			tok, err := e.verify("web", tj.IDToken)
			if err != nil {
				t.Fatalf("the relying party refuses the ID token: %v", err)
			}
			if tok.Issuer != testIssuer || tok.Subject != "alice" || len(tok.Audience) != 1 || tok.Audience[0] != "web" {
				t.Errorf("iss %q sub %q aud %v", tok.Issuer, tok.Subject, tok.Audience)
			}
			if tok.Nonce != nonce {
				t.Errorf("nonce %q, want %q", tok.Nonce, nonce)
			}
			if err := tok.VerifyAccessToken(tj.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if got := tok.Expiry.Sub(tok.IssuedAt); got != time.Hour {
				t.Errorf("lifetime %v, want the access token's 1h", got)
			}
			var c idClaims
			if err := tok.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if c.Azp != "web" || c.AuthTime != signedIn.Unix() {
				t.Errorf("azp %q auth_time %d, want web %d", c.Azp, c.AuthTime, signedIn.Unix())
			}
			header := jwtHeader(t, tj.IDToken)
			if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] == "" {
				t.Errorf("header %v", header)
			}
			// An ID token is no access token, whatever the format.
			if _, perr := e.srv.VerifyBearer(t.Context(), tj.IDToken); perr == nil {
				t.Error("the ID token was accepted as a bearer token")
			}
		})
	}
}

func TestAnIDTokenIsRefusedByAnotherClient(t *testing.T) {
	e := newEnv(t, "")
	tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "n", time.Time{}))
	if _, err := e.verify("other", tj.IDToken); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("the ID token of web verified for other: %v", err)
	}
}

func TestTheNonceIsEchoedExactlyAndOnlyWhenSent(t *testing.T) {
	e := newEnv(t, "")
	for _, nonce := range []string{"abc", "ABC", "a b", ""} {
		tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", nonce, time.Time{}))
		var c idClaims
		tok, err := e.verify("web", tj.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		_ = tok.Claims(&c)
		switch {
		case nonce == "" && c.Nonce != nil:
			t.Errorf("nonce %q without one in the request", *c.Nonce)
		case nonce != "" && (c.Nonce == nil || *c.Nonce != nonce):
			t.Errorf("nonce %v, want %q", c.Nonce, nonce)
		}
	}
}

func TestWithoutScopeOpenIDThereIsNoIDToken(t *testing.T) {
	e := newEnv(t, "")
	tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "profile read", "n", time.Time{}))
	if tj.IDToken != "" || tj.AccessToken == "" {
		t.Fatalf("id_token %q for a plain OAuth request", tj.IDToken)
	}
	// Nor from its refresh.
	rt := e.token("web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
	if rt.IDToken != "" {
		t.Fatal("id_token from the refresh of a plain OAuth grant")
	}
}

func TestAuthTimeIsTheRequestTimeWithoutASession(t *testing.T) {
	e := newEnv(t, "")
	tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "", time.Time{}))
	tok, err := e.verify("web", tj.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	_ = tok.Claims(&c)
	if c.AuthTime != e.clock.Now().Unix() {
		t.Fatalf("auth_time %d, want the request's %d", c.AuthTime, e.clock.Now().Unix())
	}
	if c.AMR != nil {
		t.Fatalf("amr %v for a user this server did not authenticate", c.AMR)
	}
}

func TestARefreshReturnsANewIDTokenForTheOriginalAuthentication(t *testing.T) {
	e := newEnv(t, "")
	signedIn := e.clock.Now().Add(-time.Hour)
	first := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile offline_access", "n1", signedIn))
	e.clock.Advance(30 * time.Minute)
	next := e.token("web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
	if next.IDToken == "" {
		t.Fatal("no id_token from the refresh")
	}
	tok, err := e.verify("web", next.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	_ = tok.Claims(&c)
	if !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Errorf("the refreshed ID token's amr %v, want [pwd] kept from the sign-in", c.AMR)
	}
	if tok.Subject != "alice" || c.AuthTime != signedIn.Unix() || !tok.IssuedAt.Equal(e.clock.Now()) {
		t.Errorf("sub %q auth_time %d iat %v; want alice %d %v", tok.Subject, c.AuthTime, tok.IssuedAt, signedIn.Unix(), e.clock.Now())
	}
	if c.Nonce != nil {
		t.Errorf("the refreshed ID token repeats the nonce %q", *c.Nonce)
	}
	if err := tok.VerifyAccessToken(next.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	// And the rotated refresh token keeps the authentication time.
	e.clock.Advance(time.Minute)
	third := e.token("web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}})
	tok, err = e.verify("web", third.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	_ = tok.Claims(&c)
	if c.AuthTime != signedIn.Unix() {
		t.Errorf("second refresh: auth_time %d, want %d", c.AuthTime, signedIn.Unix())
	}
	// A refresh narrowed to scopes without openid is plain OAuth.
	e.clock.Advance(time.Minute)
	narrow := e.token("web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.RefreshToken}, "scope": {"profile"}})
	if narrow.IDToken != "" {
		t.Error("id_token for an access token without openid")
	}
}

// jwtHeader decodes the JOSE header of a compact JWS.
func jwtHeader(t *testing.T, raw string) map[string]string {
	t.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// A client's id_token_signed_response_alg picks the keys: RS256 stays the
// default, the other served algorithm has its own keys in the same JWK
// Set, and an algorithm the server does not serve is refused, not
// silently replaced by RS256.
func TestTheClientPicksTheIDTokenAlgorithm(t *testing.T) {
	e := newEnvSigning(t, "", []string{"EdDSA"})
	rec := e.get(oidc.PathDiscovery, "")
	var d struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || !slices.Equal(d.Algs, []string{"RS256", "EdDSA"}) {
		t.Fatalf("id_token_signing_alg_values_supported %v (%v)", d.Algs, err)
	}
	for client, want := range map[string]string{"web": "RS256", "ed": "EdDSA"} {
		tj := e.exchange(client, webSecret, webRedirect, e.code(client, webRedirect, "openid", "", time.Time{}))
		if got := headerAlg(t, tj.IDToken); got != want {
			t.Errorf("client %s: alg %s, want %s", client, got, want)
		}
		if _, err := e.verify(client, tj.IDToken); err != nil {
			t.Errorf("client %s: %v", client, err)
		}
		// As an id_token_hint it verifies too, whichever keys signed it.
		if h, err := e.op.IDTokenHint(t.Context(), tj.IDToken); err != nil || h.ClientID != client {
			t.Errorf("client %s: as a hint %+v, %v", client, h, err)
		}
	}

	plain := newEnv(t, "")
	code := plain.code("ed", webRedirect, "openid", "", time.Time{})
	r := httptest.NewRequest(http.MethodPost, oauth2.PathToken, strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("ed", webSecret)
	w := httptest.NewRecorder()
	plain.srv.Token(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"unauthorized_client"`) {
		t.Fatalf("EdDSA asked of an RS256-only server: %d %s", w.Code, w.Body.String())
	}
}

// headerAlg is the alg of a compact JWS.
func headerAlg(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("header of %q", raw)
	}
	return hdr.Alg
}
