package oauth1

import "testing"

func TestEncodeSection36(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"abcXYZ019-._~":   "abcXYZ019-._~",
		" ":               "%20",
		"+":               "%2B",
		"*":               "%2A",
		"!'()":            "%21%27%28%29",
		"%":               "%25",
		"=&":              "%3D%26",
		"é":               "%C3%A9",
		"\x00\xff":        "%00%FF",
		"/?#[]@":          "%2F%3F%23%5B%5D%40",
		"Ladies + Gentle": "Ladies%20%2B%20Gentle",
	} {
		if got := Encode(in); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
		if ref := refEncode(in); ref != want {
			t.Errorf("reference encoder disagrees on %q: %q", in, ref)
		}
	}
}
