package oauth2

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// countingStore is the real Badger store, counting token reads, to show
// which refusals never reach it.
type countingStore struct {
	*badger.DB
	gets atomic.Int64
}

func (c *countingStore) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	c.gets.Add(1)
	return c.DB.GetToken(ctx, hash)
}

// newJWTEnv is newEnv with TokenFormatJWT, its server reading the store
// through a countingStore.
func newJWTEnv(t testing.TB, mutate func(*Config)) (*env, *countingStore) {
	t.Helper()
	e := newEnv(t, func(c *Config) {
		c.TokenFormat = TokenFormatJWT
		if mutate != nil {
			mutate(c)
		}
	})
	cs := &countingStore{DB: e.db}
	srv, err := New(e.srv.cfg, cs, provider.NewClients(cs, staticClients()...))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return e, cs
}

// jwtParts is a JWT taken apart without the jwt package.
type jwtParts struct {
	header, claims map[string]any
	input          string // header.payload, what was signed
	sig            []byte
}

func parseJWT(t testing.TB, tok string) jwtParts {
	t.Helper()
	seg := strings.Split(tok, ".")
	if len(seg) != 3 {
		t.Fatalf("%q is not a JWS compact serialization", tok)
	}
	var p jwtParts
	for i, dst := range []*map[string]any{&p.header, &p.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(seg[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(seg[2])
	if err != nil {
		t.Fatal(err)
	}
	p.input, p.sig = seg[0]+"."+seg[1], sig
	return p
}

// jwks fetches the server's JWK Set through its handler.
func (e *env) jwks() []map[string]string {
	e.t.Helper()
	rec := newRecorder()
	e.srv.JWKS(rec, mustRequest(http.MethodGet, PathJWKS))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		e.t.Fatalf("JWKS: %d %v %s", rec.Code, rec.Header(), rec.Body.String())
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		e.t.Fatal(err)
	}
	return set.Keys
}

// checkSignature verifies p's signature with the JWK from the set its kid
// names, using only the standard library's primitives.
func checkSignature(t testing.TB, keys []map[string]string, p jwtParts) {
	t.Helper()
	i := slices.IndexFunc(keys, func(k map[string]string) bool { return k["kid"] == p.header["kid"] })
	if i < 0 {
		t.Fatalf("kid %v is not in the JWK Set %v", p.header["kid"], keys)
	}
	k := keys[i]
	if k["alg"] != p.header["alg"] || k["use"] != "sig" {
		t.Fatalf("JWK %v does not match header %v", k, p.header)
	}
	b64 := func(name string) []byte {
		v, err := base64.RawURLEncoding.DecodeString(k[name])
		if err != nil || len(v) == 0 {
			t.Fatalf("JWK member %s: %v", name, err)
		}
		return v
	}
	h := sha256.Sum256([]byte(p.input))
	ok := false
	switch k["kty"] {
	case "OKP":
		ok = k["crv"] == "Ed25519" && ed25519.Verify(ed25519.PublicKey(b64("x")), []byte(p.input), p.sig)
	case "EC":
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, b64("x")...), b64("y")...))
		if err != nil {
			t.Fatal(err)
		}
		ok = len(p.sig) == 64 && ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(p.sig[:32]), new(big.Int).SetBytes(p.sig[32:]))
	case "RSA":
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b64("n")), E: int(new(big.Int).SetBytes(b64("e")).Int64())}
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], p.sig) == nil
	}
	if !ok {
		t.Fatalf("signature does not verify with JWK %v", k)
	}
}

// wantClaims checks the RFC 9068 §2.2 claims of an access token issued at
// the env's clock.
func (e *env) wantClaims(p jwtParts, sub, client, user, scope string) {
	e.t.Helper()
	c := p.claims
	iat := e.clock.Now().Unix()
	num := func(name string) int64 {
		f, ok := c[name].(float64)
		if !ok {
			e.t.Fatalf("claim %s = %v, want a number", name, c[name])
		}
		return int64(f)
	}
	if p.header["typ"] != "at+jwt" || p.header["kid"] == nil {
		e.t.Fatalf("header %v", p.header)
	}
	if c["iss"] != testIssuer || c["aud"] != testIssuer || c["sub"] != sub || c["client_id"] != client ||
		c["scope"] != scope || num("iat") != iat || num("exp") != iat+int64(DefaultAccessTokenTTL/time.Second) {
		e.t.Fatalf("claims %v, want sub %s client_id %s scope %q iat %d", c, sub, client, scope, iat)
	}
	if jti, _ := c["jti"].(string); len(jti) < 16 {
		e.t.Fatalf("jti %v", c["jti"])
	}
	if got, _ := c["username"].(string); got != user {
		e.t.Fatalf("username %q, want %q", got, user)
	}
}

func TestJWTAccessTokensFromEveryGrant(t *testing.T) {
	ctx := context.Background()
	e, _ := newJWTEnv(t, func(c *Config) {
		c.Grants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantPassword}
		c.Passwords = passwords{"alice": "pw"}
	})
	keys := e.jwks()
	if len(keys) < 2 {
		t.Fatalf("JWK Set has %d keys, want the current and the next", len(keys))
	}

	code := e.userTokens("web", "alice")
	refresh := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {code.RefreshToken}, "scope": {"read"}}, "web", webSecret))
	client := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret))
	password := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw"}}, "web", webSecret))
	e.secrets = append(e.secrets, "pw")

	jtis := map[any]bool{}
	for _, tc := range []struct {
		name                    string
		tj                      tokenJSON
		sub, client, user, scop string
		family                  string // a refresh token of the same family
	}{
		{"authorization_code", code, "alice", "web", "alice", "read write", code.RefreshToken},
		{"refresh_token", refresh, "alice", "web", "alice", "read", refresh.RefreshToken},
		{"client_credentials", client, "svc", "svc", "", "read", ""},
		{"password", password, "alice", "web", "alice", "read", password.RefreshToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.on(t)
			if tc.tj.AccessToken == "" || tc.tj.TokenType != "Bearer" || tc.tj.ExpiresIn != 3600 {
				t.Fatalf("token response %+v", tc.tj)
			}
			p := parseJWT(t, tc.tj.AccessToken)
			if p.header["alg"] != "EdDSA" {
				t.Fatalf("header %v", p.header)
			}
			e.wantClaims(p, tc.sub, tc.client, tc.user, tc.scop)
			checkSignature(t, keys, p)
			if jtis[p.claims["jti"]] {
				t.Fatalf("jti %v repeated", p.claims["jti"])
			}
			jtis[p.claims["jti"]] = true

			// Refresh tokens stay opaque.
			if strings.Contains(tc.tj.RefreshToken, ".") || (tc.family != "" && len(tc.tj.RefreshToken) != 43) {
				t.Fatalf("refresh token %q is not opaque", tc.tj.RefreshToken)
			}
			// Stored like an opaque token: by the hash of the whole JWT.
			rec, err := e.db.GetToken(ctx, hashOf(tc.tj.AccessToken))
			if err != nil {
				t.Fatalf("JWT not in the store: %v", err)
			}
			if rec.Kind != store.KindAccess || rec.User != tc.user || rec.ClientID != tc.client || rec.Family == "" ||
				rec.ExpiresAt.Unix() != int64(p.claims["exp"].(float64)) || rec.IssuedAt.Unix() != int64(p.claims["iat"].(float64)) {
				t.Fatalf("stored %+v", rec)
			}
			if tc.family != "" {
				rt, err := e.db.GetToken(ctx, hashOf(tc.family))
				if err != nil || rt.Family != rec.Family {
					t.Fatalf("refresh token family %+v (%v), access token family %s", rt, err, rec.Family)
				}
			}
			id, perr := e.srv.VerifyBearer(ctx, tc.tj.AccessToken)
			if perr != nil {
				t.Fatalf("VerifyBearer: %v", perr)
			}
			if id.User != tc.user || id.ClientID != tc.client || provider.FormatScope(id.Scopes) != tc.scop ||
				id.Protocol != provider.ProtocolOAuth2 || !id.ExpiresAt.Equal(rec.ExpiresAt) {
				t.Fatalf("identity %+v", id)
			}
		})
	}
	e.checkNoSecretsLogged()
}

func TestJWTAlgorithms(t *testing.T) {
	for _, alg := range []jwt.Algorithm{jwt.EdDSA, jwt.ES256, jwt.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			e, _ := newJWTEnv(t, func(c *Config) { c.JWTAlgorithm = alg })
			tok := e.clientToken("svc")
			p := parseJWT(t, tok)
			if p.header["alg"] != string(alg) {
				t.Fatalf("header %v", p.header)
			}
			e.wantClaims(p, "svc", "svc", "", "read")
			checkSignature(t, e.jwks(), p)
			if !e.active(tok) {
				t.Fatal("token refused")
			}
		})
	}
}

func TestJWTRevocation(t *testing.T) {
	ctx := context.Background()
	e, _ := newJWTEnv(t, nil)
	revoke := func(client, secret, tok string) {
		e.t.Helper()
		if rec := e.post(e.srv.Revoke, url.Values{"token": {tok}}, client, secret); rec.Code != http.StatusOK {
			e.t.Fatalf("revoke: %d %s", rec.Code, rec.Body.String())
		}
	}

	t.Run("RFC 7009 revocation of the access token is immediate", func(t *testing.T) {
		e := e.on(t)
		tj := e.userTokens("web", "alice")
		e.verified(tj.AccessToken) // now cached
		revoke("web", webSecret, tj.AccessToken)
		e.refused(tj.AccessToken, "revoked access token")
		if got := e.introspect("rs", rsSecret, tj.AccessToken); got.Active {
			t.Fatalf("revoked token introspects as %+v", got)
		}
		// The refresh token was not the one revoked.
		if !e.activeRefresh(tj.RefreshToken) {
			t.Fatal("refresh token revoked with its access token")
		}
	})
	t.Run("revoking the refresh token revokes its JWTs", func(t *testing.T) {
		e := e.on(t)
		tj := e.userTokens("web", "alice")
		e.verified(tj.AccessToken)
		revoke("web", webSecret, tj.RefreshToken)
		e.refused(tj.AccessToken, "family revoked through its refresh token")
	})
	t.Run("another client cannot revoke it", func(t *testing.T) {
		e := e.on(t)
		tj := e.userTokens("web", "alice")
		revoke("svc", svcSecret, tj.AccessToken)
		e.verified(tj.AccessToken)
	})
	t.Run("refresh token reuse revokes the family", func(t *testing.T) {
		e := e.on(t)
		first := e.userTokens("web", "alice")
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}
		second := e.decode(e.post(e.srv.Token, form, "web", webSecret))
		e.verified(first.AccessToken)
		e.verified(second.AccessToken)
		e.wantError(e.post(e.srv.Token, form, "web", webSecret), http.StatusBadRequest, "invalid_grant")
		e.refused(first.AccessToken, "first JWT of a reused family")
		e.refused(second.AccessToken, "rotated JWT of a reused family")
	})
	t.Run("code replay revokes the JWTs it produced", func(t *testing.T) {
		e := e.on(t)
		code := e.code("web", "alice", nil)
		_, tj := e.exchange("web", webSecret, code, nil)
		e.verified(tj.AccessToken)
		rec, _ := e.exchange("web", webSecret, code, nil)
		e.wantError(rec, http.StatusBadRequest, "invalid_grant")
		e.refused(tj.AccessToken, "JWT of a replayed code")
	})
	t.Run("RevokeUser and RevokeClient", func(t *testing.T) {
		e := e.on(t)
		user := e.userTokens("web", "alice")
		svc := e.clientToken("svc")
		e.verified(user.AccessToken)
		e.verified(svc)
		if n, err := e.srv.RevokeUser(ctx, "alice"); err != nil || n == 0 {
			t.Fatalf("RevokeUser: %d %v", n, err)
		}
		e.refused(user.AccessToken, "JWT of a revoked user")
		e.verified(svc)
		if n, err := e.srv.RevokeClient(ctx, "svc"); err != nil || n == 0 {
			t.Fatalf("RevokeClient: %d %v", n, err)
		}
		e.refused(svc, "JWT of a revoked client")
	})
	e.checkNoSecretsLogged()
}

// activeRefresh reports whether a refresh token is still live in the store.
func (e *env) activeRefresh(tok string) bool {
	t, err := e.db.GetToken(context.Background(), hashOf(tok))
	return err == nil && t.Kind == store.KindRefresh
}

// resign replaces a JWT's segment i (0 header, 1 payload) with the JSON v,
// keeping the other segments.
func resign(t testing.TB, tok string, i int, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.Split(tok, ".")
	seg[i] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(seg, ".")
}

// Forgeries are refused cheapest first (issue 13, defect 6): a bad
// header, kid or alg without a store read, a well-formed token this server
// never issued (valid claims, forged signature) by the store miss; none of
// them costs a signature verification.
func TestJWTForgeriesAreRefusedBeforeTheSignature(t *testing.T) {
	ctx := context.Background()
	e, cs := newJWTEnv(t, nil)
	tok := e.clientToken("svc")
	p := parseJWT(t, tok)
	seg := strings.Split(tok, ".")

	admin := maps(p.claims)
	admin["scope"] = "read admin"
	other := maps(p.claims)
	other["sub"], other["client_id"] = "web", "web"
	noneHeader := maps(p.header)
	noneHeader["alg"] = "none"
	hsHeader := maps(p.header)
	hsHeader["alg"] = "HS256"
	// The classic confusion: an HMAC keyed with the public key.
	hsInput := resign(t, tok, 0, hsHeader)
	hsInput = hsInput[:strings.LastIndexByte(hsInput, '.')]
	pub, _ := base64.RawURLEncoding.DecodeString(e.jwks()[0]["x"])
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(hsInput))
	flipped := []byte(seg[2])
	flipped[5] = 'A'
	if seg[2][5] == 'A' {
		flipped[5] = 'B'
	}

	// A token of another server with the same issuer, signed with its keys.
	foreign, _ := newJWTEnv(t, nil)
	foreignTok := foreign.clientToken("svc")

	for _, tc := range []struct {
		name, tok string
		reads     int64 // store reads it may cost
	}{
		{"payload changed (more scope)", resign(t, tok, 1, admin), 1},
		{"payload changed (another client)", resign(t, tok, 1, other), 1},
		{"signature altered", seg[0] + "." + seg[1] + "." + string(flipped), 1},
		{"signature removed", seg[0] + "." + seg[1] + ".", 1},
		{"alg none", resign(t, seg[0]+"."+seg[1]+".", 0, noneHeader), 0},
		{"HS256 keyed with the public key", hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), 0},
		{"signed by another server's key", foreignTok, 0},
		{"garbage with dots", "a.b.c", 0},
		{"four segments", tok + ".x", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.on(t)
			before, sigs := cs.gets.Load(), e.srv.keys.SignatureChecks()
			e.refused(tc.tok, tc.name)
			if n := cs.gets.Load() - before; n != tc.reads {
				t.Fatalf("%d store reads for a forged token, want %d", n, tc.reads)
			}
			if n := e.srv.keys.SignatureChecks() - sigs; n != 0 {
				t.Fatalf("%d signature checks for a forged token, want none", n)
			}
			if got := e.introspect("rs", rsSecret, tc.tok); got.Active {
				t.Fatalf("introspected as active: %+v", got)
			}
		})
	}

	t.Run("a genuine token is read from the store once, then cached", func(t *testing.T) {
		e := e.on(t)
		before := cs.gets.Load()
		e.verified(tok)
		e.verified(tok)
		if n := cs.gets.Load() - before; n != 1 {
			t.Fatalf("%d store reads, want 1", n)
		}
	})
	t.Run("a validly signed JWT the store does not know is refused", func(t *testing.T) {
		e := e.on(t)
		now := e.clock.Now()
		unknown, err := e.srv.JWTKeys().Sign(ctx, jwt.Claims{ClientID: "rs", Scope: "read admin", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.JWTKeys().Verify(unknown, now); err != nil {
			t.Fatalf("the test token does not verify: %v", err)
		}
		before := cs.gets.Load()
		e.refused(unknown, "JWT unknown to the store")
		if n := cs.gets.Load() - before; n != 1 {
			t.Fatalf("%d store reads, want 1", n)
		}
		if n := e.srv.bearers.Len(); n != 1 {
			t.Fatalf("%d cache entries, want only the genuine token's", n)
		}
	})
}

// maps copies a JSON object.
func maps(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestJWTExpiry(t *testing.T) {
	e, cs := newJWTEnv(t, nil)
	cached := e.clientToken("svc")
	fresh := e.clientToken("svc")
	e.verified(cached)

	e.clock.Advance(DefaultAccessTokenTTL - time.Second)
	if !e.active(cached) {
		t.Fatal("refused a second before exp")
	}
	// RFC 7519 §4.1.4: not accepted on or after exp.
	e.clock.Advance(time.Second)
	e.refused(cached, "cached token at exp")
	before := cs.gets.Load()
	e.refused(fresh, "never verified token at exp")
	if n := cs.gets.Load() - before; n != 0 {
		t.Fatalf("%d store reads for an expired JWT, want 0", n)
	}
	if got := e.introspect("svc", svcSecret, fresh); got.Active {
		t.Fatalf("expired token introspects as %+v", got)
	}
}

func TestJWTIntrospection(t *testing.T) {
	e, _ := newJWTEnv(t, func(c *Config) { c.Audience = []string{"https://api.example.com", "https://files.example.com"} })
	tj := e.userTokens("web", "alice")
	p := parseJWT(t, tj.AccessToken)
	if aud, _ := p.claims["aud"].([]any); len(aud) != 2 || aud[0] != "https://api.example.com" || aud[1] != "https://files.example.com" {
		t.Fatalf("aud %v", p.claims["aud"])
	}
	if !e.active(tj.AccessToken) {
		t.Fatal("token with a configured audience refused")
	}

	rec := e.post(e.srv.Introspect, url.Values{"token": {tj.AccessToken}}, "rs", rsSecret)
	var got struct {
		introspectJSON
		Aud []string `json:"aud"`
		Jti string   `json:"jti"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	want := introspectJSON{Active: true, Scope: "read write", ClientID: "web", Username: "alice", TokenType: "Bearer",
		Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(), Sub: "alice", Iss: testIssuer}
	if got.introspectJSON != want || !slices.Equal(got.Aud, []string{"https://api.example.com", "https://files.example.com"}) || got.Jti != p.claims["jti"] {
		t.Fatalf("introspection %s", rec.Body.String())
	}
	if got := e.introspect("web", webSecret, tj.AccessToken); !got.Active {
		t.Fatal("the client cannot introspect its own JWT")
	}
	if got := e.introspect("svc", svcSecret, tj.AccessToken); got.Active {
		t.Fatal("another client introspected the JWT")
	}
	if got := e.introspect("rs", rsSecret, tj.RefreshToken); !got.Active || got.TokenType != "refresh_token" {
		t.Fatalf("refresh token %+v", got)
	}
}

func TestJWTMetadataAndJWKS(t *testing.T) {
	metadata := func(e *env) map[string]any {
		rec := newRecorder()
		e.srv.Metadata(rec, mustRequest(http.MethodGet, PathMetadata))
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	e, _ := newJWTEnv(t, func(c *Config) { c.Prefix = "/auth"; c.Issuer = testIssuer + "/" })
	if got := metadata(e)["jwks_uri"]; got != testIssuer+"/auth/oauth2/jwks" {
		t.Fatalf("jwks_uri %v", got)
	}
	if keys := e.jwks(); len(keys) < 2 || keys[0]["kty"] != "OKP" || keys[0]["d"] != "" {
		t.Fatalf("JWK Set %v", keys)
	}

	opaque := newEnv(t, nil)
	if got, ok := metadata(opaque)["jwks_uri"]; ok {
		t.Fatalf("opaque server lists jwks_uri %v", got)
	}
	rec := newRecorder()
	opaque.srv.JWKS(rec, mustRequest(http.MethodGet, PathJWKS))
	if rec.Code != http.StatusNotFound || opaque.srv.JWTKeys() != nil {
		t.Fatalf("opaque server's JWKS: %d", rec.Code)
	}
}

func TestJWTKeysAreSharedThroughTheStore(t *testing.T) {
	e, _ := newJWTEnv(t, nil)
	tok := e.clientToken("svc")
	// A second engine over the same store: a reload, or the engine the
	// glue rebuilds when it mounts the endpoints.
	again := newEnvOn(t, e.db, func(c *Config) { c.TokenFormat = TokenFormatJWT })
	if !again.active(tok) {
		t.Fatal("a second server over the same store refuses the token")
	}
	if a, b := e.srv.JWTKeys().JWKS(), again.srv.JWTKeys().JWKS(); string(a) != string(b) {
		t.Fatalf("JWK Sets differ:\n%s\n%s", a, b)
	}
}

func TestJWTSwitchingTokenFormats(t *testing.T) {
	opaque := newEnv(t, nil)
	old := opaque.clientToken("svc")
	jwtEnv := newEnvOn(t, opaque.db, func(c *Config) { c.TokenFormat = TokenFormatJWT })
	if !jwtEnv.active(old) {
		t.Fatal("an opaque token issued before the switch to JWTs is refused")
	}
	tok := jwtEnv.clientToken("svc")
	back := newEnvOn(t, opaque.db, nil)
	if !back.active(tok) {
		t.Fatal("a JWT issued before the switch back to opaque tokens is refused")
	}
	if _, err := back.db.GetToken(context.Background(), hashOf(tok)); err != nil {
		t.Fatal(err)
	}
	if err := back.db.RevokeToken(context.Background(), hashOf(tok)); err != nil {
		t.Fatal(err)
	}
	newEnvOn(t, opaque.db, nil).refused(tok, "revoked JWT on an opaque server")
}

func TestJWTConfigErrors(t *testing.T) {
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown format", Config{TokenFormat: "paseto"}, "unknown token format"},
		{"unknown algorithm", Config{TokenFormat: TokenFormatJWT, JWTAlgorithm: "HS256"}, "unsupported algorithm"},
		{"token outlives its key", Config{TokenFormat: TokenFormatJWT, AccessTokenTTL: 2 * time.Hour, JWTKeyRotation: time.Hour}, "exceeds the JWT key rotation period"},
		{"rotation too short", Config{TokenFormat: TokenFormatJWT, AccessTokenTTL: time.Second, JWTKeyRotation: time.Second}, "rotation period"},
		{"empty audience", Config{TokenFormat: TokenFormatJWT, Audience: []string{""}}, "empty audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Issuer = testIssuer
			_, err := New(tc.cfg, db, provider.NewClients(db))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// The rotation period may equal the token lifetime.
	if _, err := New(Config{Issuer: testIssuer, TokenFormat: TokenFormatJWT, AccessTokenTTL: time.Hour, JWTKeyRotation: time.Hour}, db, provider.NewClients(db)); err != nil {
		t.Fatal(err)
	}
}
