package caddyoauth

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of the golden caddyfile_adapt tests")

// separator splits a golden file into the Caddyfile and what adapting it
// gives: the JSON config, or a fragment of the expected error.
const separator = "----------"

// TestCaddyfileAdapt adapts every testdata/caddyfile_adapt/*.caddyfiletest
// and compares the JSON (or the error) with the expected part; run with
// -update to rewrite the JSON of the files that adapt.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, expected, ok := strings.Cut(string(data), separator)
			if !ok {
				t.Fatalf("%s: no %s separator", file, separator)
			}
			caddyfile = strings.TrimSpace(caddyfile) + "\n"
			expected = strings.TrimSpace(expected)

			out, warnings, err := adapter.Adapt([]byte(caddyfile), nil)
			for _, w := range warnings {
				t.Logf("warning: %s:%d: %s: %s", file, w.Line, w.Directive, w.Message)
			}
			if !strings.HasPrefix(expected, "{") && !(*update && expected == "") {
				// An error case: the expected part is a fragment of the message.
				if err == nil {
					t.Fatalf("adapting succeeded, want an error containing %q", expected)
				}
				if !strings.Contains(err.Error(), expected) {
					t.Fatalf("error %q does not contain %q", err, expected)
				}
				return
			}
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			got := pretty.String()
			if *update {
				if err := os.WriteFile(file, []byte(strings.TrimSpace(caddyfile)+"\n"+separator+"\n"+got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != expected {
				t.Errorf("adapted JSON differs from %s (run go test -run TestCaddyfileAdapt -update to accept):\n%s", file, lineDiff(expected, got))
			}
		})
	}
}

// lineDiff shows the first differing lines, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line ")
			b.WriteString(strconv.Itoa(i + 1))
			b.WriteString(":\n  want: " + wl + "\n  got:  " + gl + "\n")
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}
