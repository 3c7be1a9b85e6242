package oidc_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

var allScopes = []string{"openid", "profile", "email", "address", "phone", "read"}

const aliceSub = "Xq2n0bC7vLk9Pz3sW5yR1A"

// alice is stored with a subject and every claim.
func storeAlice(t *testing.T, e *env, updated time.Time) {
	t.Helper()
	err := e.db.CreateUser(t.Context(), &store.User{
		Username: "alice", PasswordHash: "$2a$04$x", Subject: aliceSub, CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated,
		Claims: store.Claims{
			Name: "Alice Ä. Liddell", GivenName: "Alice", FamilyName: "Liddell", MiddleName: "Ä", Nickname: "al",
			Profile: "https://example.com/alice", Picture: "https://example.com/alice.png", Website: "https://alice.example",
			Email: "alice@example.com", EmailVerified: true, Gender: "female", Birthdate: "0000-05-04",
			Zoneinfo: "Europe/London", Locale: "en-GB", PhoneNumber: "+441234567890", PhoneNumberVerified: false,
			Address: store.Address{StreetAddress: "1 Rabbit Hole", Locality: "Oxford", PostalCode: "OX1", Country: "UK"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// UserInfo answers sub and, per granted scope, exactly the claims Core
// §5.4 gives that scope, leaving out the ones the user lacks.
func TestUserInfoAnswersTheClaimsOfEachGrantedScope(t *testing.T) {
	e := newEnvWith(t, envOptions{scopes: allScopes})
	updated := e.clock.Now().Add(-24 * time.Hour)
	storeAlice(t, e, updated)
	profile := []string{"birthdate", "family_name", "gender", "given_name", "locale", "middle_name", "name", "nickname",
		"picture", "preferred_username", "profile", "updated_at", "website", "zoneinfo"}
	for scope, want := range map[string][]string{
		"openid":         {},
		"openid profile": profile,
		"openid email":   {"email", "email_verified"},
		"openid address": {"address"},
		"openid phone":   {"phone_number", "phone_number_verified"},
		"openid read":    {},
	} {
		t.Run(scope, func(t *testing.T) {
			at := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, scope, "", time.Time{})).AccessToken
			body := decode(t, e.get(oidc.PathUserInfo, at), http.StatusOK)
			want := append([]string{"sub"}, want...)
			slices.Sort(want)
			if got := keysOf(body); !slices.Equal(got, want) {
				t.Fatalf("claims %v, want %v", got, want)
			}
			if body["sub"] != aliceSub {
				t.Errorf("sub %v, want the stored subject", body["sub"])
			}
		})
	}
	at := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile email address phone", "", time.Time{})).AccessToken
	body := decode(t, e.get(oidc.PathUserInfo, at), http.StatusOK)
	for k, v := range map[string]any{
		"preferred_username": "alice", "name": "Alice Ä. Liddell", "middle_name": "Ä", "birthdate": "0000-05-04",
		"updated_at": float64(updated.Unix()), "email_verified": true, "phone_number_verified": false,
		"address": map[string]any{"street_address": "1 Rabbit Hole", "locality": "Oxford", "postal_code": "OX1", "country": "UK"},
	} {
		if !equalJSON(body[k], v) {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if len(body) != 1+len(profile)+2+1+2 {
		t.Errorf("all scopes: %v", keysOf(body))
	}
}

// A claim the user does not have is absent, and so is its verified flag.
func TestUserInfoLeavesOutAbsentClaims(t *testing.T) {
	e := newEnvWith(t, envOptions{scopes: allScopes})
	if err := e.db.CreateUser(t.Context(), &store.User{Username: "alice", PasswordHash: "$2a$04$x", Subject: aliceSub,
		Claims: store.Claims{Nickname: "al"}}); err != nil {
		t.Fatal(err)
	}
	at := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile email address phone", "", time.Time{})).AccessToken
	body := decode(t, e.get(oidc.PathUserInfo, at), http.StatusOK)
	if got := keysOf(body); !slices.Equal(got, []string{"nickname", "preferred_username", "sub"}) {
		t.Fatalf("claims %v", got)
	}
}

// The ID token's sub and UserInfo's are the same: the stored subject;
// the username for a user stored without one (before subjects existed)
// and for a user without a record (authenticated by an earlier handler).
func TestTheSubIsTheStoredSubjectElseTheUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		user *store.User
		want string
	}{
		{"a user with a subject", &store.User{Username: "alice", PasswordHash: "$2a$04$x", Subject: aliceSub}, aliceSub},
		{"a user stored before subjects", &store.User{Username: "alice", PasswordHash: "$2a$04$x"}, "alice"},
		{"a user without a record", nil, "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "")
			if tc.user != nil {
				if err := e.db.CreateUser(t.Context(), tc.user); err != nil {
					t.Fatal(err)
				}
			}
			tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile offline_access", "", time.Time{}))
			tok, err := e.verify("web", tj.IDToken)
			if err != nil {
				t.Fatal(err)
			}
			body := decode(t, e.get(oidc.PathUserInfo, tj.AccessToken), http.StatusOK)
			if tok.Subject != tc.want || body["sub"] != tc.want || body["preferred_username"] != "alice" {
				t.Fatalf("ID token sub %q, UserInfo %v; want sub %q", tok.Subject, body, tc.want)
			}
			// Claims stay out of the ID token: UserInfo serves them.
			var all map[string]any
			_ = tok.Claims(&all)
			if all["preferred_username"] != nil || all["name"] != nil {
				t.Errorf("claims in the ID token: %v", all)
			}
			next := e.token("web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
			if tok, err = e.verify("web", next.IDToken); err != nil || tok.Subject != tc.want {
				t.Fatalf("refreshed ID token: %v %v", tok, err)
			}
		})
	}
}

// email, address and phone are granted only when the server's scopes
// include them, and discovery lists only the claims served.
func TestClaimScopesNeedTheServersScopes(t *testing.T) {
	e := newEnv(t, "") // openid profile read
	for _, scope := range []string{"email", "address", "phone"} {
		q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect}, "scope": {"openid " + scope}, "state": {"s"}}
		r := httptest.NewRequest(http.MethodGet, oauth2.PathAuthorize+"?"+q.Encode(), nil)
		rec := httptest.NewRecorder()
		e.srv.Authorize(rec, r, "alice")
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if loc == nil || loc.Query().Get("error") != "invalid_scope" {
			t.Errorf("scope %s on a server without it: %d %s", scope, rec.Code, rec.Header().Get("Location"))
		}
	}
	for _, tc := range []struct {
		e       *env
		has     []string
		lacking []string
	}{
		{e, []string{"sub", "preferred_username", "name", "updated_at"}, []string{"email", "email_verified", "address", "phone_number"}},
		{newEnvWith(t, envOptions{scopes: allScopes}), []string{"sub", "name", "email", "email_verified", "address", "phone_number", "phone_number_verified"}, nil},
		{newEnvWith(t, envOptions{scopes: []string{"openid", "email", "read"}}), []string{"sub", "email"}, []string{"preferred_username", "name", "address"}},
	} {
		var d map[string]any
		if err := json.Unmarshal(tc.e.get(oidc.PathDiscovery, "").Body.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		claims := toStrings(d["claims_supported"])
		for _, c := range tc.has {
			if !slices.Contains(claims, c) {
				t.Errorf("scopes %v: claims_supported %v lacks %s", d["scopes_supported"], claims, c)
			}
		}
		for _, c := range tc.lacking {
			if slices.Contains(claims, c) {
				t.Errorf("scopes %v: claims_supported %v has %s", d["scopes_supported"], claims, c)
			}
		}
	}
}

// Users kept in a storage that cannot be reached: UserInfo and the token
// endpoint answer 503 with Retry-After, never a sub made up.
func TestAnUnreachableUserStoreIs503(t *testing.T) {
	rs := redistest.StartServer(t)
	users, err := redis.Open(t.Context(), redis.Options{Addresses: []string{rs.Addr}, KeyPrefix: fmt.Sprintf("oidc-%d:", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { users.Close() })
	e := newEnvWith(t, envOptions{users: users})
	if err := users.CreateUser(t.Context(), &store.User{Username: "alice", PasswordHash: "$2a$04$x", Subject: aliceSub}); err != nil {
		t.Fatal(err)
	}
	tj := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "", time.Time{}))
	if body := decode(t, e.get(oidc.PathUserInfo, tj.AccessToken), http.StatusOK); body["sub"] != aliceSub {
		t.Fatalf("before: %v", body)
	}
	code := e.code("web", webRedirect, "openid", "", time.Time{})
	rs.Stop()

	rec := e.get(oidc.PathUserInfo, tj.AccessToken)
	if body := decode(t, rec, http.StatusServiceUnavailable); body["error"] != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("UserInfo: %v %v", body, rec.Header())
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}
	r := httptest.NewRequest(http.MethodPost, oauth2.PathToken, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("web", webSecret)
	trec := httptest.NewRecorder()
	e.srv.Token(trec, r)
	if body := decode(t, trec, http.StatusServiceUnavailable); body["error"] != "temporarily_unavailable" || body["id_token"] != nil {
		t.Fatalf("token: %v", body)
	}
}
