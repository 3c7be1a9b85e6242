package dump_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

// FuzzReader: no input makes the reader panic, loop or refuse a line
// without its number; every record it returns passed its checks.
func FuzzReader(f *testing.F) {
	// A literal dump rather than one exported from Badger: a store in
	// each fuzzing worker, instrumented, would slow it to a crawl.
	whole := []byte(header + "\n" +
		`{"type":"key","record":{"name":"server_key","value":` + hash32 + `}}` + "\n" +
		`{"type":"client","record":{"id":"c","secret_hash":` + hash32 + `,"redirect_uris":["https://a/cb"],"public":true,"created_at":"2025-01-01T00:00:00Z"}}` + "\n" +
		`{"type":"user","record":{"username":"u","password_hash":"$2a$04$x","created_at":"2025-01-01T00:00:00Z"}}` + "\n" +
		`{"type":"consent","record":{"user":"u","client_id":"c","scopes":["read"],"granted_at":"2025-01-01T00:00:00Z"}}` + "\n" +
		`{"type":"token","record":{"hash":` + hash32 + `,"kind":2,"client_id":"c","family":"f","issued_at":"2025-01-01T00:00:00Z","expires_at":"0001-01-01T00:00:00Z","rotated":true}}` + "\n" +
		`{"type":"end","counts":{"keys":1,"clients":1,"users":1,"consents":1,"tokens":1}}` + "\n")
	f.Add(whole)
	lines := bytes.SplitAfter(whole, []byte("\n"))
	f.Add(bytes.Join(lines[:len(lines)-2], nil))
	f.Add([]byte(header + "\n" + `{"type":"token","record":{"hash":` + hash32 + `,"kind":1,"client_id":"c"}}` + "\n"))
	f.Add([]byte(header + "\n" + `{"type":"end","counts":{}}` + "\n" + "x\n"))
	f.Add([]byte(header + "\r\n\r\n" + `{"type":"user","record":null}`))
	f.Add([]byte(`{"format":"caddy-oauth-dump","version":1}` + "\n" + strings.Repeat("a", 100)))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd, err := dump.NewReader(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, dump.ErrFormat) {
				t.Fatalf("NewReader: %v is not ErrFormat", err)
			}
			return
		}
		maxLine := bytes.Count(in, []byte("\n")) + 1
		for range maxLine + 2 {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var le *dump.LineError
			if err != nil {
				if !errors.As(err, &le) || le.Line < 1 || le.Line > maxLine+1 {
					t.Fatalf("Next: %v (want a LineError with a line number in 1..%d)", err, maxLine+1)
				}
				continue
			}
			if rec.Line < 2 || rec.Line > maxLine {
				t.Fatalf("record on line %d of %d", rec.Line, maxLine)
			}
			set := 0
			for _, p := range []bool{rec.Key != nil, rec.Client != nil, rec.User != nil, rec.Consent != nil, rec.Token != nil} {
				if p {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("record of type %q with %d fields set", rec.Type, set)
			}
		}
		t.Fatal("Next did not reach the end")
	})
}
