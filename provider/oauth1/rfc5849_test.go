package oauth1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The RFC 5849 §3.1 / §3.4.1 example request. Its printed signature
// (bYT5CMsGcbgUdFHObYMEfcx6bsw=) is a known erratum; recomputed from the
// RFC's own base string and secrets it is r6/TJjbCOr97/+UU0NsvSne7s5g=.
const (
	rfcClientKey    = "9djdj82h48djs9d2"
	rfcClientSecret = "j49sk3j29djd"
	rfcToken        = "kkk9d7dh3k39sjv7"
	rfcTokenSecret  = "dh893hdasih9"
	rfcSigErratum   = "bYT5CMsGcbgUdFHObYMEfcx6bsw="
	rfcSigCorrect   = "r6/TJjbCOr97/+UU0NsvSne7s5g="
	rfcNormalized   = "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
	rfcBaseString   = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
)

// rfcRequest is the §3.1 request with the given oauth_signature (encoded
// for the header by the caller).
func rfcRequest(encodedSig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", strings.NewReader("c2&a3=2+q"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", oneLine(`OAuth realm="Example",
               oauth_consumer_key="9djdj82h48djs9d2",
               oauth_token="kkk9d7dh3k39sjv7",
               oauth_signature_method="HMAC-SHA1",
               oauth_timestamp="137131201",
               oauth_nonce="7d8f3e4a",
               oauth_signature="`+encodedSig+`"`))
	return r
}

func TestRFC5849Section341Example(t *testing.T) {
	r := rfcRequest("bYT5CMsGcbgUdFHObYMEfcx6bsw%3D")
	p, e := collectParams(r, DefaultMaxBodyBytes)
	if e != nil {
		t.Fatal(e)
	}
	t.Run("the header's realm and signature are left out and the rest normalized per §3.4.1.3.2", func(t *testing.T) {
		if got := NormalizeParameters(p.all); got != rfcNormalized {
			t.Fatalf("normalized:\n got %s\nwant %s", got, rfcNormalized)
		}
		if got := p.oauth[paramSignature]; got != rfcSigErratum {
			t.Fatalf("oauth_signature decoded to %q", got)
		}
	})
	t.Run("the base string matches §3.4.1.1", func(t *testing.T) {
		got, perr := requestBaseString(nil, r, RequestURL{Scheme: "http", Host: "example.com"}, p)
		if perr != nil {
			t.Fatal(perr)
		}
		if string(got) != rfcBaseString {
			t.Fatalf("base string:\n got %s\nwant %s", got, rfcBaseString)
		}
		ref := refBaseString("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", [][2]string{
			{"oauth_consumer_key", rfcClientKey}, {"oauth_token", rfcToken},
			{"oauth_signature_method", "HMAC-SHA1"}, {"oauth_timestamp", "137131201"},
			{"oauth_nonce", "7d8f3e4a"}, {"c2", ""}, {"a3", "2 q"},
		})
		if ref != rfcBaseString {
			t.Fatalf("reference implementation disagrees:\n%s", ref)
		}
	})
	t.Run("HMAC-SHA1 gives the corrected value, not the erratum", func(t *testing.T) {
		got, err := SignHMAC(HMACSHA1, rfcBaseString, rfcClientSecret, rfcTokenSecret)
		if err != nil {
			t.Fatal(err)
		}
		if got != rfcSigCorrect {
			t.Fatalf("HMAC-SHA1 = %s, want %s", got, rfcSigCorrect)
		}
		if refHMAC(false, rfcBaseString, rfcClientSecret, rfcTokenSecret) != rfcSigCorrect {
			t.Fatal("reference HMAC disagrees")
		}
		if !verifyHMAC(HMACSHA1, []byte(rfcBaseString), rfcSigCorrect, signingKey(rfcClientSecret, rfcTokenSecret)) {
			t.Fatal("correct signature does not verify")
		}
		if verifyHMAC(HMACSHA1, []byte(rfcBaseString), rfcSigErratum, signingKey(rfcClientSecret, rfcTokenSecret)) {
			t.Fatal("erratum signature verifies")
		}
	})
}

// TestRFC5849Section341ExampleEndToEnd sends the §3.1 request to Verify,
// with the RFC's credentials in the store and the clock at its timestamp.
func TestRFC5849Section341ExampleEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	e.clock.Set(time.Unix(137131201, 0))
	e.addClient(t, rfcClientKey, rfcClientSecret, nil)
	e.seedToken(t, store.KindOAuth1Access, rfcClientKey, rfcToken, rfcTokenSecret, func(tok *store.Token) { tok.User = "jane" })
	u := RequestURL{Scheme: "http", Host: "example.com"}

	_, rec := e.verifyRec(rfcRequest("bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"), u)
	wantProblem(t, rec, http.StatusUnauthorized, ProblemSignatureInvalid)

	r := rfcRequest(url.QueryEscape(rfcSigCorrect))
	id, rec := e.verifyRec(r, u)
	if id == nil {
		t.Fatalf("corrected RFC request refused: %d %s", rec.Code, rec.Body)
	}
	if id.User != "jane" || id.ClientID != rfcClientKey || id.Protocol != provider.ProtocolOAuth1 {
		t.Fatalf("identity = %+v", id)
	}
	// The body was put back for the proxy.
	if b, err := io.ReadAll(r.Body); err != nil || string(b) != "c2&a3=2+q" {
		t.Fatalf("body after Verify = %q, %v", b, err)
	}
}

// Other-secret vectors: same base string, secrets with characters §3.6
// must encode (four spaces).
func TestSignatureVectorsOtherSecrets(t *testing.T) {
	const cs, ts = "ECrDNoq1VYzzzzzzzzzyAK7TwZNtPnkqatqZZZZ", "just-a-string    asdasd"
	for _, tc := range []struct {
		method, want string
	}{
		{HMACSHA1, "wsdNmjGB7lvis0UJuPAmjvX/PXw="},
		{HMACSHA256, "wdfdHUKXHbOnOGZP8WFAWMSAmWzN3EVBWWgXGlC/Eo4="},
	} {
		t.Run(tc.method, func(t *testing.T) {
			got, err := SignHMAC(tc.method, rfcBaseString, cs, ts)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
			if refHMAC(tc.method == HMACSHA256, rfcBaseString, cs, ts) != tc.want {
				t.Fatal("reference disagrees")
			}
			if !verifyHMAC(tc.method, []byte(rfcBaseString), tc.want, signingKey(cs, ts)) {
				t.Fatal("does not verify")
			}
			if verifyHMAC(tc.method, []byte(rfcBaseString), tc.want, signingKey(cs, "just-a-string asdasd")) {
				t.Fatal("verifies with another token secret")
			}
		})
	}
	t.Run(PLAINTEXT, func(t *testing.T) {
		const want = "ECrDNoq1VYzzzzzzzzzyAK7TwZNtPnkqatqZZZZ&just-a-string%20%20%20%20asdasd"
		if got := SignPlaintext(cs, ts); got != want {
			t.Fatalf("got %s", got)
		}
		if !verifyPlaintext(want, signingKey(cs, ts)) || verifyPlaintext(want+"x", signingKey(cs, ts)) {
			t.Fatal("PLAINTEXT compare wrong")
		}
	})
	t.Run("§2.1 and §2.3 PLAINTEXT", func(t *testing.T) {
		if got := SignPlaintext("ja893SD9", ""); got != "ja893SD9&" {
			t.Fatalf("got %s", got)
		}
		if got := SignPlaintext("ja893SD9", "xyz4992k83j47x0b"); got != "ja893SD9&xyz4992k83j47x0b" {
			t.Fatalf("got %s", got)
		}
	})
}

func TestBaseStringURISection3412(t *testing.T) {
	for _, tc := range []struct {
		name, scheme, host, target, want string
	}{
		{"default port dropped, host lowercased, path kept escaped", "http", "EXAMPLE.COM:80", "/r%20v/X?id=123", "http://example.com/r%20v/X"},
		{"non-default port kept over https", "https", "www.example.net:8080", "/?q=1", "https://www.example.net:8080/"},
		{"https default port dropped", "HTTPS", "Example.com:443", "/a", "https://example.com/a"},
		{"port 443 kept for http", "http", "example.com:443", "/a", "http://example.com:443/a"},
		{"IPv6 literal with default port", "http", "[::1]:80", "/", "http://[::1]/"},
		{"IPv6 literal without port", "http", "[::1]", "/", "http://[::1]/"},
		{"escaped slash stays escaped", "http", "example.com", "/a%2Fb", "http://example.com/a%2Fb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			got, err := BaseStringURI(tc.scheme, tc.host, r.URL.EscapedPath())
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := BaseStringURI("ftp", "x", "/"); err == nil {
		t.Fatal("ftp scheme accepted")
	}
	if _, err := BaseStringURI("http", "", "/"); err == nil {
		t.Fatal("empty host accepted")
	}
}

// §1.2 worked flow: client dpf43f3p2l4k3l03 / kd94hf93k423kf44.
const (
	photosKey    = "dpf43f3p2l4k3l03"
	photosSecret = "kd94hf93k423kf44"
	photosCB     = "http://printer.example.com/ready"
)

func TestRFC5849Section12ClientSignatures(t *testing.T) {
	for _, tc := range []struct {
		name, method, url string
		creds             ClientCreds
		want              string
	}{
		{"initiate", http.MethodPost, "https://photos.example.net/initiate", ClientCreds{
			ConsumerKey: photosKey, ConsumerSecret: photosSecret, Timestamp: 137131200, Nonce: "wIjqoS", Callback: photosCB,
		}, "74KNZJeDHnMBp0EMJ9ZHt/XKycU="},
		{"token", http.MethodPost, "https://photos.example.net/token", ClientCreds{
			ConsumerKey: photosKey, ConsumerSecret: photosSecret, Token: "hh5s93j4hdidpola", TokenSecret: "hdhd0244k9j7ao03",
			Timestamp: 137131201, Nonce: "walatlh", Verifier: "hfdp7dh39dks9884",
		}, "gKgrFCywp7rO0OXSjdot/IHF7IU="},
		{"resource", http.MethodGet, "http://photos.example.net/photos?file=vacation.jpg&size=original", ClientCreds{
			ConsumerKey: photosKey, ConsumerSecret: photosSecret, Token: "nnch734d00sl2jdk", TokenSecret: "pfkkdhi9sl3r4s00",
			Timestamp: 137131202, Nonce: "chapoH",
		}, "MdpQcU8iPSUjWoN/UDMsK2sui9I="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			tc.creds.Realm = "Photos"
			if err := Sign(req, tc.creds); err != nil {
				t.Fatal(err)
			}
			params, err := ParseAuthorizationHeader(req.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			var sig string
			var extra [][2]string
			for _, p := range params {
				switch p.Name {
				case "oauth_signature":
					sig = p.Value
				case "realm":
					if p.Value != "Photos" {
						t.Fatalf("realm = %q", p.Value)
					}
				default:
					extra = append(extra, [2]string{p.Name, p.Value})
				}
			}
			if sig != tc.want {
				t.Fatalf("signature = %s, want %s", sig, tc.want)
			}
			// Cross-check with the independent reference.
			if ref := refHMAC(false, refBaseString(tc.method, tc.url, extra), tc.creds.ConsumerSecret, tc.creds.TokenSecret); ref != tc.want {
				t.Fatalf("reference signature %s", ref)
			}
		})
	}
	t.Run("the resource signature matches only with the http scheme", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "https://photos.example.net/photos?file=vacation.jpg&size=original", nil)
		_ = Sign(req, ClientCreds{ConsumerKey: photosKey, ConsumerSecret: photosSecret, Token: "nnch734d00sl2jdk",
			TokenSecret: "pfkkdhi9sl3r4s00", Timestamp: 137131202, Nonce: "chapoH"})
		if strings.Contains(req.Header.Get("Authorization"), url.QueryEscape("MdpQcU8iPSUjWoN/UDMsK2sui9I=")) {
			t.Fatal("https request got the http signature")
		}
	})
	t.Run("the callback redirect of §1.2", func(t *testing.T) {
		got := AppendQuery(photosCB, []Param{{"oauth_token", "hh5s93j4hdidpola"}, {"oauth_verifier", "hfdp7dh39dks9884"}})
		if got != "http://printer.example.com/ready?oauth_token=hh5s93j4hdidpola&oauth_verifier=hfdp7dh39dks9884" {
			t.Fatalf("redirect = %s", got)
		}
	})
}

// TestRFC5849Section12ServerFlow replays the RFC's exact §1.2 requests
// against the server endpoints, with the RFC's credentials seeded where
// the server would have minted random ones.
func TestRFC5849Section12ServerFlow(t *testing.T) {
	e := newEnv(t, nil)
	e.addClient(t, photosKey, photosSecret, func(c *store.Client) { c.CallbackURIs = []string{photosCB} })
	photos := RequestURL{Scheme: "https", Host: "photos.example.net", Secure: true}

	t.Run("initiate", func(t *testing.T) {
		e.clock.Set(time.Unix(137131200, 0))
		r := httptest.NewRequest(http.MethodPost, "https://photos.example.net/initiate", nil)
		r.Header.Set("Authorization", oneLine(`OAuth realm="Photos",
        oauth_consumer_key="dpf43f3p2l4k3l03",
        oauth_signature_method="HMAC-SHA1",
        oauth_timestamp="137131200",
        oauth_nonce="wIjqoS",
        oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready",
        oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"`))
		rec := httptest.NewRecorder()
		e.srv.RequestToken(rec, r, photos)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		v, err := url.ParseQuery(rec.Body.String())
		if err != nil || v.Get("oauth_callback_confirmed") != "true" || len(v.Get("oauth_token")) < 43 || len(v.Get("oauth_token_secret")) < 43 {
			t.Fatalf("response %q", rec.Body)
		}
		if !strings.HasPrefix(rec.Body.String(), "oauth_token=") || rec.Header().Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("response %q / %q", rec.Body, rec.Header().Get("Content-Type"))
		}
	})

	t.Run("token", func(t *testing.T) {
		e.clock.Set(time.Unix(137131201, 0))
		e.seedToken(t, store.KindOAuth1Request, photosKey, "hh5s93j4hdidpola", "hdhd0244k9j7ao03", func(tok *store.Token) {
			tok.User = "jane"
			tok.Callback = photosCB
			tok.Scopes = []string{"photos"}
			tok.VerifierHash = provider.HashToken("hfdp7dh39dks9884")
		})
		r := httptest.NewRequest(http.MethodPost, "https://photos.example.net/token", nil)
		r.Header.Set("Authorization", oneLine(`OAuth realm="Photos",
        oauth_consumer_key="dpf43f3p2l4k3l03",
        oauth_token="hh5s93j4hdidpola",
        oauth_signature_method="HMAC-SHA1",
        oauth_timestamp="137131201",
        oauth_nonce="walatlh",
        oauth_verifier="hfdp7dh39dks9884",
        oauth_signature="gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D"`))
		rec := httptest.NewRecorder()
		e.srv.AccessToken(rec, r, photos)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		v, _ := url.ParseQuery(rec.Body.String())
		tok, err := e.db.GetToken(t.Context(), provider.HashToken(v.Get("oauth_token")))
		if err != nil || tok.Kind != store.KindOAuth1Access || tok.User != "jane" || tok.ClientID != photosKey ||
			provider.FormatScope(tok.Scopes) != "photos" || tok.Family != "fam-hh5s93j4hdidpola" || !tok.ExpiresAt.IsZero() {
			t.Fatalf("issued token %+v, %v", tok, err)
		}
		secret, err := e.sealer.Open(PurposeTokenSecret, tok.SealedSecret)
		if err != nil || string(secret) != v.Get("oauth_token_secret") {
			t.Fatal("token secret not sealed as answered")
		}
	})

	t.Run("resource", func(t *testing.T) {
		e.clock.Set(time.Unix(137131202, 0))
		e.seedToken(t, store.KindOAuth1Access, photosKey, "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00", func(tok *store.Token) { tok.User = "jane" })
		header := oneLine(`OAuth realm="Photos",
        oauth_consumer_key="dpf43f3p2l4k3l03",
        oauth_token="nnch734d00sl2jdk",
        oauth_signature_method="HMAC-SHA1",
        oauth_timestamp="137131202",
        oauth_nonce="chapoH",
        oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"`)
		r := httptest.NewRequest(http.MethodGet, "http://photos.example.net/photos?file=vacation.jpg&size=original", nil)
		r.Header.Set("Authorization", header)
		// Seen as https, the base string differs: refused.
		_, rec := e.verifyRec(r, RequestURL{Scheme: "https", Host: "photos.example.net", Secure: true})
		wantProblem(t, rec, http.StatusUnauthorized, ProblemSignatureInvalid)

		id, rec := e.verifyRec(r, RequestURL{Scheme: "http", Host: "photos.example.net"})
		if id == nil {
			t.Fatalf("refused: %d %s", rec.Code, rec.Body)
		}
		if id.User != "jane" || id.ClientID != photosKey {
			t.Fatalf("identity %+v", id)
		}
		// The same request again is a replay.
		_, rec = e.verifyRec(r, RequestURL{Scheme: "http", Host: "photos.example.net"})
		wantProblem(t, rec, http.StatusUnauthorized, ProblemNonceUsed)
	})
}

// §2.1's PLAINTEXT example over TLS: no timestamp or nonce, a callback with
// a query of its own.
func TestRFC5849Section21Plaintext(t *testing.T) {
	e := newEnv(t, nil)
	e.addClient(t, "jd83jd92dhsh93js", "ja893SD9", func(c *store.Client) { c.CallbackURIs = []string{"http://client.example.net/cb?x=1"} })
	r := httptest.NewRequest(http.MethodPost, "https://server.example.com/request_temp_credentials", nil)
	r.Header.Set("Authorization", oneLine(`OAuth realm="Example",
    oauth_consumer_key="jd83jd92dhsh93js",
    oauth_signature_method="PLAINTEXT",
    oauth_callback="http%3A%2F%2Fclient.example.net%2Fcb%3Fx%3D1",
    oauth_signature="ja893SD9%26"`))
	rec := httptest.NewRecorder()
	e.srv.RequestToken(rec, r, RequestURL{Scheme: "https", Host: "server.example.com", Secure: true})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	v, _ := url.ParseQuery(rec.Body.String())
	tok, err := e.db.GetToken(t.Context(), provider.HashToken(v.Get("oauth_token")))
	if err != nil || tok.Callback != "http://client.example.net/cb?x=1" || tok.Kind != store.KindOAuth1Request {
		t.Fatalf("stored %+v, %v", tok, err)
	}

	// The same over plain HTTP is refused: the secret travelled in clear.
	r = httptest.NewRequest(http.MethodPost, "http://server.example.com/request_temp_credentials", nil)
	r.Header.Set("Authorization", `OAuth oauth_consumer_key="jd83jd92dhsh93js", oauth_signature_method="PLAINTEXT", oauth_callback="oob", oauth_signature="ja893SD9%26"`)
	rec = httptest.NewRecorder()
	e.srv.RequestToken(rec, r, RequestURL{Scheme: "http", Host: "server.example.com"})
	wantProblem(t, rec, http.StatusBadRequest, ProblemSignatureMethodRejected)
}
