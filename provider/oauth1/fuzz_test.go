package oauth1

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// FuzzParseAuthorizationHeader: no input panics or yields more than
// maxHeaderParams pairs, and whatever parses re-serializes (§3.5.1 form)
// to a header that parses to the same pairs.
func FuzzParseAuthorizationHeader(f *testing.F) {
	f.Add(`OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`)
	f.Add(`OAuth realm="Photos", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready"`)
	f.Add(`oauth a=1,,b = "x\"y" ,`)
	f.Add(`OAuth realm="a\\b"`)
	f.Fuzz(func(t *testing.T, header string) {
		params, err := ParseAuthorizationHeader(header)
		if err != nil {
			return
		}
		if len(params) > maxHeaderParams {
			t.Fatalf("%d params", len(params))
		}
		var b strings.Builder
		b.WriteString("OAuth ")
		for i, p := range params {
			if i > 0 {
				b.WriteString(", ")
			}
			v := Encode(p.Value)
			if p.Name == "realm" {
				v = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p.Value)
			}
			b.WriteString(Encode(p.Name) + `="` + v + `"`)
		}
		again, err := ParseAuthorizationHeader(b.String())
		if err != nil {
			t.Fatalf("re-serialized %q does not parse: %v", b.String(), err)
		}
		if len(params) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(params, again) {
			t.Fatalf("round trip changed %v into %v", params, again)
		}
	})
}

// FuzzBaseString: for any parsable query and body the base string is made
// only of unreserved characters and uppercase %XX escapes, has exactly
// three parts, carries every parameter once, and agrees with the
// independent reference normalization.
func FuzzBaseString(f *testing.F) {
	f.Add("POST", "http", "EXAMPLE.COM:80", "/request", "b5=%3D%253D&a3=a&c%40=&a2=r%20b", "c2&a3=2+q")
	f.Add("get", "https", "www.example.net:8080", "/r%20v/X", "id=123", "")
	f.Add("PATCH", "HTTP", "[::1]:80", "", "a=%C3%A9&a=+&b", "z=%00%FF")
	f.Add("dElete", "https", "\u00c9xample.COM:443", "/%7Ea", "a=1&a=1&b=%7E&c=~&d=%25", "")
	f.Add("GET", "http", "h:", "/", "1=&2=&3=&4=&5=&6=&7=&8=&9=&10=&11=&12=&13=&14=&15=&16=&17=&18=", "")
	f.Fuzz(func(t *testing.T, method, scheme, host, path, query, body string) {
		uri, uerr := BaseStringURI(scheme, host, path)
		if uerr == nil && !strings.HasPrefix(uri, strings.ToLower(scheme)+"://") {
			t.Fatalf("uri %q", uri)
		}
		if uerr != nil {
			uri = "http://example.com/"
		}
		q, err := parseForm(query)
		if err != nil {
			return
		}
		bp, err := parseForm(body)
		if err != nil {
			return
		}
		all := append(q, bp...)
		norm := NormalizeParameters(all)
		base := BaseString(method, uri, norm)
		// The server's in-place builder must agree byte for byte.
		fast, ferr := appendBaseString([]byte("prefix"), method, scheme, host, path, all)
		if (ferr != nil) != (uerr != nil) {
			t.Fatalf("appendBaseString error %v, BaseStringURI error %v", ferr, uerr)
		}
		if ferr == nil && string(fast) != "prefix"+base {
			t.Fatalf("appendBaseString:\n got %s\nwant prefix%s", fast, base)
		}

		for i := 0; i < len(base); i++ {
			c := base[i]
			switch {
			case unreserved(c), c == '&':
			case c == '%' && i+2 < len(base) && isUpperHex(base[i+1]) && isUpperHex(base[i+2]):
				i += 2
			default:
				t.Fatalf("base string has %q at %d: %q", c, i, base)
			}
		}
		if strings.Count(base, "&") != 2 {
			t.Fatalf("base string has %d parts: %q", strings.Count(base, "&")+1, base)
		}
		var ref []string
		pairs := make([][2]string, len(all))
		for i, p := range all {
			pairs[i] = [2]string{refEncode(p.Name), refEncode(p.Value)}
		}
		sort.Slice(pairs, func(i, j int) bool {
			if pairs[i][0] != pairs[j][0] {
				return pairs[i][0] < pairs[j][0]
			}
			return pairs[i][1] < pairs[j][1]
		})
		for _, p := range pairs {
			ref = append(ref, p[0]+"="+p[1])
		}
		if want := strings.Join(ref, "&"); norm != want {
			t.Fatalf("normalized %q, reference %q", norm, want)
		}
		if !strings.HasSuffix(base, "&"+refEncode(norm)) {
			t.Fatalf("parameters part of %q is not enc(%q)", base, norm)
		}
	})
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
