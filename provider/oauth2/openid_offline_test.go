package oauth2

import (
	"net/http"
	"net/url"
	"testing"
)

// Core §11: an OpenID Connect code grant gets a refresh token only with
// offline_access granted; a plain OAuth 2 grant of the same client still
// gets one, and a refresh of an offline grant rotates as any other.
func TestOfflineAccessGovernsRefreshTokensOfOpenIDGrants(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	e.srv.cfg.Scopes = append(e.srv.cfg.Scopes, ScopeOfflineAccess)
	grant := func(scope string) tokenJSON {
		t.Helper()
		q := url.Values{"response_type": {"code"}, "client_id": {"first"},
			"redirect_uri": {"https://first.example.com/cb"}, "scope": {scope}, "nonce": {"n"}}
		code := location(t, e.authorize(http.MethodGet, q, "alice")).Query().Get("code")
		if code == "" {
			t.Fatalf("no code for scope %q", scope)
		}
		rec, tj := e.exchange("first", webSecret, code, url.Values{"redirect_uri": {"https://first.example.com/cb"}})
		if rec.Code != http.StatusOK {
			t.Fatalf("exchange for %q: %d %s", scope, rec.Code, rec.Body.String())
		}
		return tj
	}
	if tj := grant("openid read"); tj.RefreshToken != "" {
		t.Fatal("an OpenID grant without offline_access got a refresh token")
	}
	if tj := grant("read"); tj.RefreshToken == "" {
		t.Fatal("a plain OAuth grant lost its refresh token")
	}
	tj := grant("openid offline_access read")
	if tj.RefreshToken == "" {
		t.Fatal("an OpenID grant with offline_access got no refresh token")
	}
	rec := e.post(e.srv.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}}, "first", webSecret)
	if rt := e.decode(rec).RefreshToken; rec.Code != http.StatusOK || rt == "" || rt == tj.RefreshToken {
		t.Fatalf("refresh of an offline grant: %d %s", rec.Code, rec.Body.String())
	}
}
