package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzNow is the instant the fuzz target verifies at; the seed tokens are
// valid then.
var fuzzNow = start.Add(time.Minute)

// fuzzKeys are EdDSA keys from fixedKey, so the seed tokens in
// testdata/fuzz carry a known kid and a valid signature and the fuzzer
// starts from tokens that pass, not only from garbage.
func fuzzKeys(tb testing.TB) *Keys {
	return fixedKeys(tb, openMem(tb), EdDSA, newTestClock(start), WithLeeway(10*time.Second))
}

// FuzzVerify feeds Verify arbitrary tokens, and arbitrary header and
// payload JSON signed with the real key (so the checks behind the
// signature are reached too). Verify must never panic, and whatever it
// accepts must satisfy every rule it promises.
func FuzzVerify(f *testing.F) {
	k := fuzzKeys(f)
	f.Fuzz(func(t *testing.T, token string, header, payload []byte) {
		if c, err := k.Verify(token, fuzzNow); err == nil {
			checkAccepted(t, k, token, c)
		}
		set, err := k.keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		sig, err := set.current.sign([]byte(input))
		if err != nil {
			t.Fatal(err)
		}
		forged := input + "." + b64.EncodeToString(sig)
		if c, err := k.Verify(forged, fuzzNow); err == nil {
			checkAccepted(t, k, forged, c)
		}
	})
}

// checkAccepted re-checks an accepted token independently of Verify.
func checkAccepted(t *testing.T, k *Keys, token string, c *Claims) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted %d segments", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("accepted undecodable header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatalf("accepted header that is not a JSON object: %s", hb)
	}
	typ, _ := h["typ"].(string)
	if h["alg"] != string(EdDSA) || !isAccessTokenType(typ) || h["crit"] != nil {
		t.Fatalf("accepted header %s", hb)
	}
	if c.Issuer != testIssuer || !slices.Contains(c.Audience, testIssuer) ||
		c.Subject == "" || c.ClientID == "" || c.JTI == "" || c.IssuedAt.IsZero() {
		t.Fatalf("accepted claims %+v", c)
	}
	if !c.ExpiresAt.After(fuzzNow.Add(-10*time.Second - time.Second)) {
		t.Fatalf("accepted expired claims %+v", c)
	}
}

// fuzzSeeds are the corpus of testdata/fuzz/FuzzVerify: valid tokens and
// near misses. TestFuzzSeeds writes them with -update.
func fuzzSeeds(tb testing.TB, k *Keys) map[string][3]string {
	clk := newTestClock(start)
	c := testClaims(clk)
	c.JTI = "seed-jti" // fixed, so Ed25519's deterministic signature is too
	valid := mustSign(tb, k, c)
	set, _ := k.keys(context.Background())
	kid := set.current.kid
	hdr := `{"typ":"at+jwt","alg":"EdDSA","kid":"` + kid + `"}`
	body := `{"iss":"` + testIssuer + `","sub":"alice","aud":"` + testIssuer + `","client_id":"app","scope":"read","jti":"j","iat":` +
		itoa(start.Unix()) + `,"exp":` + itoa(start.Add(time.Hour).Unix()) + `}`
	p := strings.Split(valid, ".")
	return map[string][3]string{
		"valid":             {valid, hdr, body},
		"alg-none":          {b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"none","kid":"`+kid+`"}`)) + "." + p[1] + ".", `{"alg":"none","typ":"at+jwt"}`, body},
		"hs256":             {hs256(`{"typ":"at+jwt","alg":"HS256","kid":"`+kid+`"}`, body, set.current.edPub), `{"typ":"at+jwt","alg":"HS256","kid":"` + kid + `"}`, body},
		"aud-array":         {p[0] + "." + p[1], hdr, strings.Replace(body, `"aud":"`+testIssuer+`"`, `"aud":["x","`+testIssuer+`"]`, 1)},
		"crit":              {valid + ".", `{"typ":"at+jwt","alg":"EdDSA","kid":"` + kid + `","crit":["b64"],"b64":false}`, body},
		"typ-case":          {"", `{"typ":"APPLICATION/at+JWT","alg":"EdDSA","kid":"` + kid + `"}`, body},
		"duplicate-members": {"a.b.c", `{"alg":"HS256","typ":"at+jwt","alg":"EdDSA","kid":"` + kid + `"}`, `{"iss":"x","iss":"` + testIssuer + `"}` + body[1:]},
		"huge-numbers":      {"..", hdr, strings.Replace(body, `"exp":`+itoa(start.Add(time.Hour).Unix()), `"exp":1e308,"nbf":-1e308`, 1)},
		"fractional-exp":    {valid[:len(valid)-2], hdr, strings.Replace(body, `"exp":`+itoa(start.Add(time.Hour).Unix()), `"exp":`+itoa(fuzzNow.Unix())+`.5`, 1)},
		"nested":            {"eyJ9.e30.", hdr, `{"iss":{"a":[[[[[]]]]]},"aud":null}`},
		"invalid-utf8":      {"\xff.\xfe.\x00", "{\"typ\":\"at+jwt\xff\",\"alg\":\"EdDSA\"}", "{\"sub\":\"\xc3\"}"},
	}
}

func TestFuzzSeeds(t *testing.T) {
	k := fuzzKeys(t)
	seeds := fuzzSeeds(t, k)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n[]byte(%q)\n[]byte(%q)\n", s[0], s[1], s[2])
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The corpus must still start from a token that passes, or the fuzzer
	// only ever explores the first refusal.
	b, err := os.ReadFile(filepath.Join(dir, "valid"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), seeds["valid"][0]) {
		t.Fatal("testdata/fuzz/FuzzVerify/valid is stale; run go test -run TestFuzzSeeds -update")
	}
	if _, err := k.Verify(seeds["valid"][0], fuzzNow); err != nil {
		t.Fatalf("valid seed refused: %v", err)
	}
}
