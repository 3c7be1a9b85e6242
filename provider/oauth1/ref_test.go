package oauth1

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"strings"
)

// A second implementation of RFC 5849 §3.4.1 and §3.6, written from the RFC
// independently of encoding.go and base_string.go (different technique:
// net/url escaping patched to §3.6, sort.Slice, fmt), to cross-check them.

// refEncode is §3.6 via url.QueryEscape: QueryEscape leaves "-_.~" and
// alphanumerics alone like §3.6 but writes a space as "+" (§3.6: %20);
// everything else is already %XX in uppercase.
func refEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

type refPair struct{ k, v string }

// refBaseString builds the base string from the method, the full URL as the
// client sent it, and the extra (header and body) parameters.
func refBaseString(method, rawURL string, extra [][2]string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	var pairs []refPair
	// Query: form decoding ("+" is a space), duplicates kept.
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			panic("bad query")
		}
		pairs = append(pairs, refPair{refEncode(dk), refEncode(dv)})
	}
	for _, kv := range extra {
		pairs = append(pairs, refPair{refEncode(kv[0]), refEncode(kv[1])})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var norm []string
	for _, p := range pairs {
		norm = append(norm, p.k+"="+p.v)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host = fmt.Sprintf("%s:%s", host, p)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	uri := scheme + "://" + host + path
	return strings.Join([]string{refEncode(strings.ToUpper(method)), refEncode(uri), refEncode(strings.Join(norm, "&"))}, "&")
}

// refHMAC signs with HMAC-SHA1 or HMAC-SHA256 (§3.4.2).
func refHMAC(sha256Variant bool, base, clientSecret, tokenSecret string) string {
	var h func() hash.Hash = sha1.New
	if sha256Variant {
		h = sha256.New
	}
	m := hmac.New(h, []byte(refEncode(clientSecret)+"&"+refEncode(tokenSecret)))
	m.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
