package dump_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

func TestExportImportKeepsEverything(t *testing.T) {
	src := memStore(t)
	fill(t, src)
	b := export(t, src)

	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var h dump.Header
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil || h.Format != dump.Format || h.Version != 1 || h.Server != "default" || h.CreatedAt.IsZero() {
		t.Fatalf("header %s: %+v %v", lines[0], h, err)
	}
	want := dump.Counts{Keys: 3, Clients: 3, Users: 2, Consents: 2, Tokens: 15}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, `{"type":"end","counts":`) {
		t.Fatalf("last line %s", last)
	}

	dst := memStore(t)
	sum, err := dump.Import(context.Background(), dst, bytes.NewReader(b), dump.ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if sum.Created != want || sum.Failed != 0 || sum.Unchanged.Total() != 0 || sum.Server != "default" {
		t.Errorf("summary %+v, want created %+v", sum, want)
	}
	if got, want := snapshot(t, dst, true), snapshot(t, src, true); got != want {
		t.Errorf("imported store differs:\n got  %s\n want %s", got, want)
	}

	t.Run("importing it again changes nothing", func(t *testing.T) {
		sum, err := dump.Import(context.Background(), dst, bytes.NewReader(b), dump.ImportOptions{})
		if err != nil || sum.Unchanged != want || sum.Created.Total() != 0 || sum.Replaced.Total() != 0 {
			t.Errorf("second import: %+v, %v", sum, err)
		}
	})

	t.Run("a dump carries secrets only as stored", func(t *testing.T) {
		// The records are the store's JSON: hashes and sealed bytes in
		// base64, which is also how the source store encodes them.
		c, _ := src.GetClient(context.Background(), "confidential")
		enc, _ := json.Marshal(c)
		if !bytes.Contains(b, enc) {
			t.Errorf("the client's line is not its stored JSON %s", enc)
		}
	})
}

func TestExportWithoutTokens(t *testing.T) {
	src := memStore(t)
	fill(t, src)
	var buf bytes.Buffer
	n, err := dump.Export(context.Background(), src, &buf, dump.ExportOptions{})
	if err != nil || n.Tokens != 0 || n.Clients != 3 {
		t.Fatalf("Export: %+v, %v", n, err)
	}
	if strings.Contains(buf.String(), `"type":"token"`) {
		t.Error("a dump without tokens has a token line")
	}
	dst := memStore(t)
	if _, err := dump.Import(context.Background(), dst, &buf, dump.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, dst, true), snapshot(t, src, false); got != want {
		t.Errorf("imported store differs:\n got  %s\n want %s", got, want)
	}
}

func TestImportRefusesOtherFormats(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty input", "", "the input is empty"},
		{"not JSON", "hello\n", "line 1 is not a caddy-oauth-dump header"},
		{"another format", `{"format":"other","version":1}` + "\n", "line 1 is not a caddy-oauth-dump header"},
		{"a record first", `{"type":"client","record":{"id":"x"}}` + "\n", "line 1 is not"},
		{"a later version", `{"format":"caddy-oauth-dump","version":2}` + "\n" + `{"type":"end","counts":{}}` + "\n", "format version 2, and this caddy-oauth reads version 1 only"},
		{"no version", `{"format":"caddy-oauth-dump"}` + "\n", "format version 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memStore(t)
			sum, err := dump.Import(context.Background(), st, strings.NewReader(tc.in), dump.ImportOptions{})
			if !errors.Is(err, dump.ErrFormat) || !strings.Contains(err.Error(), tc.want) || sum != nil {
				t.Errorf("Import: %+v, %v; want ErrFormat mentioning %q", sum, err, tc.want)
			}
		})
	}
}

const header = `{"format":"caddy-oauth-dump","version":1,"created_at":"2025-01-01T00:00:00Z","server":"default"}`

// hash32 is a base64 SHA-256-sized value.
const hash32 = `"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="`

func TestImportRefusesBadLinesWithTheirNumber(t *testing.T) {
	good := `{"type":"user","record":{"username":"ok","password_hash":"$2a$04$x","created_at":"2025-01-01T00:00:00Z"}}`
	for _, tc := range []struct{ name, line, want, counted string }{
		{"not JSON", `{"type":`, "invalid JSON", ""},
		{"two objects", good + good, "data after the object", ""},
		{"no type", `{"record":{}}`, `no "type"`, ""},
		{"unknown type", `{"type":"session","record":{}}`, `unknown record type "session"`, ""},
		{"unknown type not echoed", `{"type":"s3cr3t-value!","record":{}}`, "unknown record type", ""},
		{"unknown top-level field", `{"type":"user","record":{},"extra":1}`, `unknown field "extra"`, ""},
		{"unknown record field", `{"type":"user","record":{"username":"u","password_hash":"h","admin":true}}`, `unknown field "admin"`, "user"},
		{"no record", `{"type":"client"}`, "without its record", "client"},
		{"null record", `{"type":"client","record":null}`, "without its record", "client"},
		{"record not an object", `{"type":"client","record":"x"}`, "invalid JSON", "client"},
		{"wrong field type", `{"type":"client","record":{"id":5}}`, "invalid JSON", "client"},
		{"client without id", `{"type":"client","record":{"name":"x"}}`, "client: an id is required", "client"},
		{"user without hash", `{"type":"user","record":{"username":"u"}}`, "password_hash are required", "user"},
		{"consent without client", `{"type":"consent","record":{"user":"u","scopes":[]}}`, "consent: a user and a client_id", "consent"},
		{"key without value", `{"type":"key","record":{"name":"k"}}`, "key: a name and a value", "key"},
		{"key with bad base64", `{"type":"key","record":{"name":"k","value":"!!"}}`, "invalid JSON", "key"},
		{"token with a short hash", `{"type":"token","record":{"hash":"AAEC","kind":1,"client_id":"c"}}`, "the hash must be 32 bytes", "token"},
		{"token of unknown kind", `{"type":"token","record":{"hash":` + hash32 + `,"kind":9,"client_id":"c"}}`, "unknown kind 9", "token"},
		{"token without client", `{"type":"token","record":{"hash":` + hash32 + `,"kind":1}}`, "a client_id is required", "token"},
		{"record line with counts", `{"type":"client","record":{"id":"x"},"counts":{}}`, "no counts", "client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memStore(t)
			// The end line counts the bad line if its type could be read,
			// as the writer counted it.
			n := map[string]int{"user": 2}
			if tc.counted != "" {
				n[tc.counted]++
			}
			end, _ := json.Marshal(map[string]any{"type": "end", "counts": map[string]int{
				"keys": n["key"], "clients": n["client"], "users": n["user"], "consents": n["consent"], "tokens": n["token"]}})
			in := header + "\n" + good + "\n\n" + tc.line + "\n" + strings.Replace(good, `"ok"`, `"ok2"`, 1) + "\n" + string(end) + "\n"
			sum, err := dump.Import(context.Background(), st, strings.NewReader(in), dump.ImportOptions{})
			if !errors.Is(err, dump.ErrIncomplete) || sum == nil || sum.Failed != 1 {
				t.Fatalf("Import: %+v, %v; want one refused line", sum, err)
			}
			if got := sum.Errors[0]; !strings.HasPrefix(got, "line 4: ") || !strings.Contains(got, tc.want) {
				t.Errorf("error %q, want line 4 and %q", got, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q echoes the input", err)
			}
			// The lines around it were imported.
			for _, name := range []string{"ok", "ok2"} {
				if _, err := st.GetUser(context.Background(), name); err != nil {
					t.Errorf("user %s next to the bad line: %v", name, err)
				}
			}
		})
	}
}

func TestImportNoticesATruncatedDump(t *testing.T) {
	src := memStore(t)
	fill(t, src)
	b := export(t, src)
	lines := bytes.SplitAfter(b, []byte("\n"))
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"without its end line", bytes.Join(lines[:len(lines)-2], nil), "ends without its end line: it is truncated"},
		{"cut inside a line", b[:len(b)-len(lines[len(lines)-2])-10], "invalid JSON"},
		{"a record dropped", append(bytes.Join(lines[:3], nil), bytes.Join(lines[4:], nil)...), "records are missing or added"},
		{"data after the end", append(bytes.Clone(b), lines[1]...), "data after the end line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := dump.Import(context.Background(), memStore(t), bytes.NewReader(tc.in), dump.ImportOptions{})
			if !errors.Is(err, dump.ErrIncomplete) || sum == nil || !strings.Contains(strings.Join(sum.Errors, "\n"), tc.want) {
				t.Errorf("Import: %+v, %v; want an error mentioning %q", sum, err, tc.want)
			}
		})
	}
}

func TestImportExistingRecords(t *testing.T) {
	ctx := context.Background()
	src := memStore(t)
	fill(t, src)
	b := export(t, src)

	t.Run("other content is refused without replace and replaced with it", func(t *testing.T) {
		dst := memStore(t)
		if _, err := dump.Import(ctx, dst, bytes.NewReader(b), dump.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		c, _ := dst.GetClient(ctx, "confidential")
		c.Name = "Changed"
		u, _ := dst.GetUser(ctx, "alice")
		u.PasswordHash = "$2a$04$changed"
		if err := dst.UpdateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := dst.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := dst.PutConsent(ctx, &store.Consent{User: "alice", ClientID: "confidential", Scopes: []string{"admin"}}); err != nil {
			t.Fatal(err)
		}
		sum, err := dump.Import(ctx, dst, bytes.NewReader(b), dump.ImportOptions{})
		if !errors.Is(err, dump.ErrIncomplete) || sum.Failed != 3 {
			t.Fatalf("Import over changed records: %+v, %v", sum, err)
		}
		msgs := strings.Join(sum.Errors, "\n")
		for _, want := range []string{`client "confidential": exists with other content; import with replace`, `user "alice": exists`, `consent of user "alice" for client "confidential": exists`} {
			if !strings.Contains(msgs, want) {
				t.Errorf("errors %q lack %q", msgs, want)
			}
		}
		if c, _ := dst.GetClient(ctx, "confidential"); c.Name != "Changed" {
			t.Error("a refused client was overwritten")
		}
		sum, err = dump.Import(ctx, dst, bytes.NewReader(b), dump.ImportOptions{Replace: true})
		if err != nil || sum.Replaced != (dump.Counts{Clients: 1, Users: 1, Consents: 1}) {
			t.Fatalf("Import with replace: %+v, %v", sum, err)
		}
		if got, want := snapshot(t, dst, true), snapshot(t, src, true); got != want {
			t.Errorf("after replace the store differs:\n got  %s\n want %s", got, want)
		}
	})

	t.Run("a key with another value is never replaced", func(t *testing.T) {
		dst := memStore(t)
		mine, _ := dst.LoadOrCreateKey(ctx, "server_key", func() ([]byte, error) { return random(32), nil })
		sum, err := dump.Import(ctx, dst, bytes.NewReader(b), dump.ImportOptions{Replace: true})
		if !errors.Is(err, dump.ErrIncomplete) || sum.Failed != 1 || !strings.Contains(sum.Errors[0], `key "server_key": exists with other content and is never replaced`) {
			t.Fatalf("Import: %+v, %v", sum, err)
		}
		if got, _ := dst.LoadOrCreateKey(ctx, "server_key", nil); !bytes.Equal(got, mine) {
			t.Error("the target's server key was replaced")
		}
		if sum.Created.Keys != 2 || sum.Created.Clients != 3 {
			t.Errorf("the other records were not imported: %+v", sum)
		}
	})
}

func TestImportSkipsTokensExpiredSinceTheExport(t *testing.T) {
	src := memStore(t)
	fill(t, src)
	b := export(t, src)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	sum, err := dump.Import(context.Background(), memStore(t), bytes.NewReader(b), dump.ImportOptions{Now: later})
	// Left: the refresh tokens (24h) and the OAuth 1 token that never expires.
	if err != nil || sum.ExpiredTokens != 15-6 || sum.Created.Tokens != 6 {
		t.Errorf("Import two hours later: %+v, %v", sum, err)
	}
}

func TestExportWritesNoEndLineWhenItFails(t *testing.T) {
	src := memStore(t)
	fill(t, src)
	w := &failingWriter{after: 3000}
	if _, err := dump.Export(context.Background(), src, w, dump.ExportOptions{Tokens: true}); err == nil {
		t.Fatal("Export to a failing writer succeeded")
	}
	if bytes.Contains(w.buf.Bytes(), []byte(`"type":"end"`)) {
		t.Error("a failed export wrote its end line")
	}
}

type failingWriter struct {
	buf   bytes.Buffer
	after int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.after {
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}
