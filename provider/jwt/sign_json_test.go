package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestKeysWithAnotherPrefixAreAnotherSeries(t *testing.T) {
	db := openMem(t)
	clk := newTestClock(start)
	access := newTestKeys(t, db, RS256, clk)
	id := newTestKeys(t, db, RS256, clk, WithKeyPrefix("oidc"))
	if bytes.Equal(access.JWKS(), id.JWKS()) {
		t.Fatal("the same keys under two prefixes")
	}
	again := newTestKeys(t, db, RS256, clk, WithKeyPrefix("oidc"))
	if !bytes.Equal(again.JWKS(), id.JWKS()) {
		t.Fatal("a second instance with the prefix made new keys")
	}
}

func TestATokenSignedWithSignJSONIsNoAccessToken(t *testing.T) {
	db := openMem(t)
	clk := newTestClock(start)
	k := newTestKeys(t, db, RS256, clk)
	// Everything an access token has, but the typ.
	iat := strconv.FormatInt(start.Unix(), 10)
	exp := strconv.FormatInt(start.Unix()+3600, 10)
	tok, err := k.SignJSON(t.Context(), []byte(`{"iss":"`+testIssuer+`","sub":"alice","aud":"`+testIssuer+`","client_id":"c","jti":"j","iat":`+iat+`,"exp":`+exp+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Verify(tok, clk.now()); err == nil {
		t.Fatal("a typ JWT token verified as an access token")
	}
	if _, err := k.SignJSON(t.Context(), []byte(`[1]`)); err == nil {
		t.Fatal("signed a claims set that is no object")
	}
}

func TestServeKeySetsPublishesEverySetInOneDocument(t *testing.T) {
	db := openMem(t)
	clk := newTestClock(start)
	a := newTestKeys(t, db, EdDSA, clk)
	b := newTestKeys(t, db, RS256, clk, WithKeyPrefix("oidc"))
	rec := httptest.NewRecorder()
	ServeKeySets(rec, httptest.NewRequest(http.MethodGet, "/jwks", nil), nil, a, b)
	var got, wa, wb struct{ Keys []json.RawMessage }
	for _, x := range []struct {
		b []byte
		v any
	}{{rec.Body.Bytes(), &got}, {a.JWKS(), &wa}, {b.JWKS(), &wb}} {
		if err := json.Unmarshal(x.b, x.v); err != nil {
			t.Fatalf("%s: %v", x.b, err)
		}
	}
	if len(got.Keys) != len(wa.Keys)+len(wb.Keys) || rec.Header().Get("Cache-Control") == "" {
		t.Fatalf("%d keys, want %d+%d: %s", len(got.Keys), len(wa.Keys), len(wb.Keys), rec.Body.String())
	}
}

func TestVerifyJSONAcceptsOnlyWhatSignJSONSignedWithTheseKeys(t *testing.T) {
	db := openMem(t)
	clk := newTestClock(start)
	k := newTestKeys(t, db, RS256, clk, WithKeyPrefix("oidc"))
	other := newTestKeys(t, openMem(t), RS256, clk, WithKeyPrefix("oidc"))
	claims := `{"iss":"` + testIssuer + `","sub":"alice"}`
	tok, err := k.SignJSON(t.Context(), []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.VerifyJSON(t.Context(), tok)
	if err != nil || string(got) != claims {
		t.Fatalf("VerifyJSON = %s, %v", got, err)
	}
	foreign, err := other.SignJSON(t.Context(), []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	// An access token of the same keys: signed, but typ at+jwt.
	access := newTestKeys(t, db, RS256, clk)
	at, err := access.SignJSON(t.Context(), []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	seg := bytes.Split([]byte(tok), []byte("."))
	for name, bad := range map[string]string{
		"another server's key":      foreign,
		"another series' key":       at,
		"a changed payload":         string(seg[0]) + "." + b64.EncodeToString([]byte(`{"iss":"`+testIssuer+`","sub":"mallory"}`)) + "." + string(seg[2]),
		"no signature":              string(seg[0]) + "." + string(seg[1]) + ".",
		"two segments":              string(seg[0]) + "." + string(seg[1]),
		"alg none":                  b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + string(seg[1]) + ".",
		"padding characters":        tok + "=",
		"a payload that is no JSON": string(seg[0]) + "." + b64.EncodeToString([]byte("xx")) + "." + string(seg[2]),
		"empty":                     "",
	} {
		if _, err := k.VerifyJSON(t.Context(), bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
}
