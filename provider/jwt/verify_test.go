package jwt

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			clk := newTestClock(start)
			k := newTestKeys(t, openMem(t), alg, clk)
			in := testClaims(clk)
			tok := mustSign(t, k, in)

			got, err := k.Verify(tok, clk.at(time.Minute))
			if err != nil {
				t.Fatalf("own token refused: %v", err)
			}
			want := in
			want.Issuer, want.Audience, want.JTI = testIssuer, []string{testIssuer}, got.JTI
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("claims\n got %+v\nwant %+v", *got, want)
			}
			if raw, _ := b64.DecodeString(got.JTI); len(raw) < 16 {
				t.Fatalf("jti %q carries %d bytes, want >= 16", got.JTI, len(raw))
			}

			var hdr map[string]any
			seg, _ := b64.DecodeString(strings.Split(tok, ".")[0])
			if err := json.Unmarshal(seg, &hdr); err != nil {
				t.Fatal(err)
			}
			set, _ := k.keys(t.Context())
			wantHdr := map[string]any{"typ": "at+jwt", "alg": string(alg), "kid": set.current.kid}
			if !reflect.DeepEqual(hdr, wantHdr) {
				t.Fatalf("header %v, want %v", hdr, wantHdr)
			}
		})
	}
}

func TestSignWritesRFC9068Claims(t *testing.T) {
	clk := newTestClock(start)
	k := newTestKeys(t, openMem(t), EdDSA, clk, WithAudience("https://api.example.com", "https://files.example.com"))
	tests := []struct {
		name string
		in   Claims
		want map[string]any
	}{
		{
			"a user token carries the user as sub and username",
			Claims{Subject: "alice", Username: "alice", ClientID: "app", Scope: "read", JTI: "j1", IssuedAt: start, ExpiresAt: start.Add(time.Hour)},
			map[string]any{"iss": testIssuer, "sub": "alice", "username": "alice", "client_id": "app", "scope": "read", "jti": "j1",
				"aud": []any{"https://api.example.com", "https://files.example.com"}, "iat": float64(start.Unix()), "exp": float64(start.Unix() + 3600)},
		},
		{
			"a client_credentials token has the client as sub and no scope or username",
			Claims{ClientID: "svc", Audience: []string{"https://one.example"}, JTI: "j2", ExpiresAt: start.Add(time.Minute)},
			map[string]any{"iss": testIssuer, "sub": "svc", "client_id": "svc", "jti": "j2",
				"aud": "https://one.example", "iat": float64(start.Unix()), "exp": float64(start.Unix() + 60)},
		},
		{
			"strings are JSON-escaped",
			Claims{Issuer: "i\"ss", Subject: "a\\b\n\x01\u2028é\xff", ClientID: "c", JTI: "j", ExpiresAt: start.Add(time.Minute)},
			map[string]any{"iss": "i\"ss", "sub": "a\\b\n\x01\u2028é\ufffd", "client_id": "c", "jti": "j",
				"aud": []any{"https://api.example.com", "https://files.example.com"}, "iat": float64(start.Unix()), "exp": float64(start.Unix() + 60)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustSign(t, k, tc.in)
			seg, err := b64Strict.DecodeString(strings.Split(tok, ".")[1])
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(seg, &got); err != nil {
				t.Fatalf("payload is not JSON: %v\n%s", err, seg)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("payload\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestSignRefusesIncompleteClaims(t *testing.T) {
	clk := newTestClock(start)
	k := newTestKeys(t, openMem(t), EdDSA, clk)
	noIssuer, err := NewKeys(t.Context(), openMem(t), EdDSA, 0, clk.clock())
	if err != nil {
		t.Fatal(err)
	}
	ok := Claims{ClientID: "app", ExpiresAt: start.Add(time.Hour)}
	tests := []struct {
		name string
		k    *Keys
		mod  func(*Claims)
	}{
		{"no client_id", k, func(c *Claims) { c.ClientID = "" }},
		{"no exp", k, func(c *Claims) { c.ExpiresAt = time.Time{} }},
		{"exp equal to iat", k, func(c *Claims) { c.ExpiresAt = start }},
		{"exp before iat", k, func(c *Claims) { c.ExpiresAt = start.Add(-time.Second) }},
		{"a lifetime beyond the rotation period", k, func(c *Claims) { c.ExpiresAt = start.Add(DefaultRotation + time.Second) }},
		{"an empty audience", k, func(c *Claims) { c.Audience = []string{"a", ""} }},
		{"no issuer anywhere", noIssuer, func(c *Claims) {}},
	}
	if _, err := k.Sign(t.Context(), ok); err != nil {
		t.Fatalf("baseline refused: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			if tok, err := tc.k.Sign(t.Context(), c); err == nil {
				t.Fatalf("signed %s", tok)
			}
		})
	}
}

// hs256 forges an HS256 token with secret, the classic alg confusion
// attack that uses the public key as an HMAC key.
func hs256(header, payload string, secret []byte) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

func TestVerifyRefuses(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) { testVerifyRefuses(t, alg) })
	}
}

func testVerifyRefuses(t *testing.T, alg Algorithm) {
	clk := newTestClock(start)
	db := openMem(t)
	k := newTestKeys(t, db, alg, clk)
	set, _ := k.keys(t.Context())
	kid := set.current.kid
	now := clk.at(time.Minute)
	exp := start.Add(time.Hour).Unix()

	good := mustSign(t, k, testClaims(clk))
	parts := strings.Split(good, ".")
	hdrJSON := `{"typ":"at+jwt","alg":"` + string(alg) + `","kid":"` + kid + `"}`
	payload := func(iss, aud string, exp int64) string {
		return `{"iss":"` + iss + `","sub":"alice","aud":` + aud + `,"client_id":"app","jti":"x","iat":` +
			itoa(start.Unix()) + `,"exp":` + itoa(exp) + `}`
	}
	okPayload := payload(testIssuer, `"`+testIssuer+`"`, exp)
	// The baseline forgeries must pass, so each refusal below is caused
	// by the one thing it changes.
	for _, tok := range []string{good, signRaw(t, k, hdrJSON, okPayload)} {
		if _, err := k.Verify(tok, now); err != nil {
			t.Fatalf("baseline refused: %v", err)
		}
	}

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other := newTestKeys(t, openMem(t), alg, clk)
	foreign := mustSign(t, other, testClaims(clk))
	otherAlg := map[Algorithm]Algorithm{EdDSA: ES256, ES256: RS256, RS256: EdDSA}[alg]
	switched := mustSign(t, newTestKeys(t, openMem(t), otherAlg, clk), testClaims(clk))

	pub := publicKeyBytes(t, set.current)
	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"the empty string", "", now, errMalformed},
		{"two segments", parts[0] + "." + parts[1], now, errMalformed},
		{"four segments", good + ".AAAA", now, errMalformed},
		{"a JWS JSON serialization", `{"payload":"` + parts[1] + `"}`, now, errMalformed},
		{"a line break inside a segment", parts[0] + "." + parts[1][:5] + "\n" + parts[1][5:] + "." + parts[2], now, errMalformed},
		{"base64 padding", good + "==", now, errMalformed},
		{"an oversized token", parts[0] + "." + strings.Repeat("A", maxTokenLen) + "." + parts[2], now, errMalformed},
		// The payload is parsed before the signature is checked, so a flip
		// that breaks its JSON is malformed; the swapped payload below
		// (valid claims, wrong signature) is the signature's case.
		{"a tampered payload", parts[0] + "." + flip(parts[1], 10) + "." + parts[2], now, errMalformed},
		{"a payload swapped from another token", parts[0] + "." + strings.Split(foreign, ".")[1] + "." + parts[2], now, errSignature},
		{"a tampered header", flip(parts[0], 3) + "." + parts[1] + "." + parts[2], now, nil},
		{"a tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2], 5), now, errSignature},
		{"a truncated signature", parts[0] + "." + parts[1] + "." + truncate(parts[2]), now, errSignature},
		{"an empty signature", parts[0] + "." + parts[1] + ".", now, errSignature},
		{"a signature with stray trailing bits", parts[0] + "." + parts[1] + "." + strayBits(parts[2]), now, errMalformed},
		{"a token of another server", foreign, now, errUnknownKey},
		{"a token of another algorithm", switched, now, errAlgorithm},
		{"alg none without signature", b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"none","kid":"`+kid+`"}`)) + "." + parts[1] + ".", now, errAlgorithm},
		{"alg none with the real signature", b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"none","kid":"`+kid+`"}`)) + "." + parts[1] + "." + parts[2], now, errAlgorithm},
		{"alg None", b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"None","kid":"`+kid+`"}`)) + "." + parts[1] + ".", now, errAlgorithm},
		{"alg in another case", signRaw(t, k, `{"typ":"at+jwt","alg":"`+strings.ToLower(string(alg))+`","kid":"`+kid+`"}`, okPayload), now, errAlgorithm},
		{"HS256 keyed with the raw public key", hs256(`{"typ":"at+jwt","alg":"HS256","kid":"`+kid+`"}`, okPayload, pub), now, errAlgorithm},
		{"HS256 keyed with the public key PEM", hs256(`{"typ":"at+jwt","alg":"HS256","kid":"`+kid+`"}`, okPayload, publicKeyPEM(t, set.current)), now, errAlgorithm},
		{"HS256 keyed with the JWK", hs256(`{"typ":"at+jwt","alg":"HS256","kid":"`+kid+`"}`, okPayload, set.current.jwk), now, errAlgorithm},
		{"no alg", signRaw(t, k, `{"typ":"at+jwt","kid":"`+kid+`"}`, okPayload), now, errAlgorithm},
		{"typ JWT", signRaw(t, k, `{"typ":"JWT","alg":"`+string(alg)+`","kid":"`+kid+`"}`, okPayload), now, errType},
		{"no typ", signRaw(t, k, `{"alg":"`+string(alg)+`","kid":"`+kid+`"}`, okPayload), now, errType},
		{"typ application/jwt", signRaw(t, k, `{"typ":"application/jwt","alg":"`+string(alg)+`","kid":"`+kid+`"}`, okPayload), now, errType},
		{"a crit header", signRaw(t, k, `{"typ":"at+jwt","alg":"`+string(alg)+`","kid":"`+kid+`","crit":["exp"],"exp":1}`, okPayload), now, errCritical},
		{"a null crit header", signRaw(t, k, `{"typ":"at+jwt","alg":"`+string(alg)+`","kid":"`+kid+`","crit":null}`, okPayload), now, errCritical},
		{"an unknown kid", signRaw(t, k, `{"typ":"at+jwt","alg":"`+string(alg)+`","kid":"nope"}`, okPayload), now, errUnknownKey},
		{"alg in upper-case member name", signRaw(t, k, `{"typ":"at+jwt","ALG":"`+string(alg)+`","kid":"`+kid+`"}`, okPayload), now, errAlgorithm},
		{"alg not a string", signRaw(t, k, `{"typ":"at+jwt","alg":["`+string(alg)+`"],"kid":"`+kid+`"}`, okPayload), now, errMalformed},
		{"a header that is null", signRaw(t, k, `null`, okPayload), now, errMalformed},
		{"no kid", signRaw(t, k, `{"typ":"at+jwt","alg":"`+string(alg)+`"}`, okPayload), now, errUnknownKey},
		{"a header that is not JSON", signRaw(t, k, `{"typ":"at+jwt",`, okPayload), now, errMalformed},
		{"a payload that is not JSON", signRaw(t, k, hdrJSON, `{"iss":`), now, errMalformed},
		{"a payload that is an array", signRaw(t, k, hdrJSON, `[1,2]`), now, errMalformed},
		{"exp as a string", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `"exp":`+itoa(exp), `"exp":"`+itoa(exp)+`"`, 1)), now, errMalformed},
		{"a wrong issuer", signRaw(t, k, hdrJSON, payload("https://evil.example.com", `"`+testIssuer+`"`, exp)), now, errIssuer},
		{"an issuer differing in case", signRaw(t, k, hdrJSON, payload("https://AUTH.example.com", `"`+testIssuer+`"`, exp)), now, errIssuer},
		{"a wrong audience", signRaw(t, k, hdrJSON, payload(testIssuer, `"https://other.example.com"`, exp)), now, errAudience},
		{"an audience list without us", signRaw(t, k, hdrJSON, payload(testIssuer, `["a","b"]`, exp)), now, errAudience},
		{"an empty audience list", signRaw(t, k, hdrJSON, payload(testIssuer, `[]`, exp)), now, errAudience},
		{"an audience of the wrong type", signRaw(t, k, hdrJSON, payload(testIssuer, `7`, exp)), now, errMalformed},
		{"no aud", signRaw(t, k, hdrJSON, `{"iss":"`+testIssuer+`","sub":"a","client_id":"c","jti":"j","iat":1,"exp":`+itoa(exp)+`}`), now, errAudience},
		{"an expired token", good, start.Add(time.Hour + time.Second), ErrExpired},
		{"a token at its exp instant", good, start.Add(time.Hour), ErrExpired},
		{"no exp", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `,"exp":`+itoa(exp), ``, 1)), now, errClaims},
		{"no iat", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `"iat":`+itoa(start.Unix())+`,`, ``, 1)), now, errClaims},
		{"no sub", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `"sub":"alice",`, ``, 1)), now, errClaims},
		{"no client_id", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `"client_id":"app",`, ``, 1)), now, errClaims},
		{"no jti", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `,"jti":"x"`, ``, 1)), now, errClaims},
		{"nbf in the future", signRaw(t, k, hdrJSON, strings.Replace(okPayload, `}`, `,"nbf":`+itoa(now.Unix()+10)+`}`, 1)), now, errNotYetValid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := k.Verify(tc.token, tc.now)
			if err == nil {
				t.Fatalf("accepted: %+v", claims)
			}
			if claims != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	clk := newTestClock(start)
	k := newTestKeys(t, openMem(t), EdDSA, clk, WithAudience("https://api.example.com", "https://other.example.com"), WithLeeway(30*time.Second))
	set, _ := k.keys(t.Context())
	kid := set.current.kid
	exp := itoa(start.Add(time.Hour).Unix())
	body := func(aud string) string {
		return `{"iss":"` + testIssuer + `","sub":"s","aud":` + aud + `,"client_id":"c","jti":"j","iat":1.5,"exp":` + exp + `,"extra":{"nested":[1,2]}}`
	}
	hdr := `{"typ":"at+jwt","alg":"EdDSA","kid":"` + kid + `"}`
	tests := []struct {
		name  string
		token string
		now   time.Time
	}{
		{"typ application/at+jwt in another case and other header members", signRaw(t, k, `{ "kid":"`+kid+`", "alg":"EdDSA", "typ":"Application/AT+JWT", "x5u":"https://ignored"}`, body(`"https://api.example.com"`)), start},
		{"an audience with JSON escapes", signRaw(t, k, hdr, body(`"https:\/\/api.example.com"`)), start},
		{"one of the expected audiences in a list", signRaw(t, k, hdr, body(`["https://x.example","https://other.example.com"]`)), start},
		{"an expired token within the leeway", signRaw(t, k, hdr, body(`"https://api.example.com"`)), start.Add(time.Hour + 29*time.Second)},
		{"nbf within the leeway", signRaw(t, k, hdr, strings.Replace(body(`"https://api.example.com"`), `}}`, `},"nbf":`+itoa(start.Unix()+20)+`}`, 1)), start},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := k.Verify(tc.token, tc.now)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Subject != "s" || c.IssuedAt != time.Unix(1, 5e8).UTC() {
				t.Fatalf("claims %+v", c)
			}
		})
	}
	if _, err := k.Verify(tests[3].token, start.Add(time.Hour+30*time.Second)); !errors.Is(err, ErrExpired) {
		t.Fatalf("token past the leeway: %v", err)
	}
}

func TestVerifyWithoutIssuerRefusesEverything(t *testing.T) {
	clk := newTestClock(start)
	db := openMem(t)
	k, err := NewKeys(t.Context(), db, EdDSA, 0, clk.clock())
	if err != nil {
		t.Fatal(err)
	}
	tok := mustSign(t, k, Claims{Issuer: testIssuer, ClientID: "app", ExpiresAt: start.Add(time.Hour)})
	if c, err := k.Verify(tok, start); err == nil {
		t.Fatalf("accepted %+v", c)
	}
	if _, err := newTestKeys(t, db, EdDSA, clk).Verify(tok, start); err != nil {
		t.Fatalf("the same token with an issuer configured: %v", err)
	}
}

func TestAppendStringDecodesLikeEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", `q"b\`, "\x00\x1f\x7f\t\r\n", "é€𝄞", "\xff\xfe", "a\xc3", "\u2028\u2029", "<>&", strings.Repeat("\xe2\x82", 3)}
	for _, s := range inputs {
		enc := appendString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, enc, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Errorf("%q: decodes to %q, encoding/json round-trips to %q", s, got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// strayBits changes the unused low bits of the last base64url character,
// which a lax decoder ignores.
func strayBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

func publicKeyBytes(t *testing.T, k *signingKey) []byte {
	switch k.alg {
	case EdDSA:
		return k.edPub
	case ES256:
		b, err := k.ecPub.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	default:
		return x509.MarshalPKCS1PublicKey(k.rsaPub)
	}
}

func publicKeyPEM(t *testing.T, k *signingKey) []byte {
	var pub any = k.edPub
	switch k.alg {
	case ES256:
		pub = k.ecPub
	case RS256:
		pub = k.rsaPub
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// truncate drops the last three bytes of a base64url segment.
func truncate(seg string) string {
	b, _ := b64.DecodeString(seg)
	return b64.EncodeToString(b[:len(b)-3])
}

// Check refuses what it can without a signature verification (issue 13,
// defect 6): a token with a published kid, the right alg and typ but
// expired, foreign or garbage claims costs no signature check, and the
// signature is checked only by VerifySignature.
func TestCheckRefusesBeforeTheSignature(t *testing.T) {
	clk := newTestClock(start)
	k := newTestKeys(t, openMem(t), EdDSA, clk)
	good := mustSign(t, k, testClaims(clk))
	parts := strings.Split(good, ".")
	garbageSig := strings.Repeat("A", len(parts[2]))
	set, _ := k.keys(t.Context())
	hdr := b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"EdDSA","kid":"` + set.current.kid + `"}`))
	claims := func(iss string, exp int64) string {
		return b64.EncodeToString([]byte(`{"iss":"` + iss + `","sub":"alice","aud":"` + testIssuer + `","client_id":"app","jti":"x","iat":` +
			itoa(start.Unix()) + `,"exp":` + itoa(exp) + `}`))
	}
	now := clk.at(time.Minute)
	for name, tc := range map[string]struct {
		token string
		want  error
	}{
		"expired":        {hdr + "." + claims(testIssuer, start.Unix()-10) + "." + garbageSig, ErrExpired},
		"another issuer": {hdr + "." + claims("https://evil.example", start.Add(time.Hour).Unix()) + "." + garbageSig, errIssuer},
		"garbage claims": {hdr + "." + b64.EncodeToString([]byte(`{"x":1}`)) + "." + garbageSig, errClaims},
		"an unknown kid": {b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"EdDSA","kid":"nope"}`)) + "." + parts[1] + "." + garbageSig, errUnknownKey},
	} {
		before := k.SignatureChecks()
		if _, err := k.Verify(tc.token, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if k.SignatureChecks() != before {
			t.Errorf("%s: refused only after a signature verification", name)
		}
	}
	// Well-formed claims with a bad signature pass Check, and only
	// VerifySignature refuses them.
	u, err := k.Check(hdr+"."+parts[1]+"."+garbageSig, now)
	if err != nil {
		t.Fatalf("Check refused valid claims: %v", err)
	}
	before := k.SignatureChecks()
	if _, err := u.VerifySignature(); !errors.Is(err, errSignature) {
		t.Errorf("VerifySignature: %v", err)
	}
	if k.SignatureChecks() != before+1 {
		t.Error("SignatureChecks did not count the verification")
	}
}
