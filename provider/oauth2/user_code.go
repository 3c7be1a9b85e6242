package oauth2

import (
	"io"
	"strings"
)

// userCodeAlphabet is RFC 8628 §6.1's example: 20 consonants, no vowels
// (no words) and nothing easily confused (no 0/O, 1/I/L beyond L alone).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLength characters of base 20 are 34.5 bits (§6.1); with the
// entry throttle (deviceThrottle) a guesser gets a few attempts per
// device code's lifetime.
const userCodeLength = 8

// newUserCode draws a user code uniformly from the alphabet: bytes of 240
// and more are dropped so that 240 = 12 × 20 values map evenly.
func newUserCode(entropy io.Reader) (string, error) {
	out := make([]byte, 0, userCodeLength)
	buf := make([]byte, 16)
	for len(out) < userCodeLength {
		if _, err := io.ReadFull(entropy, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 240 && len(out) < userCodeLength {
				out = append(out, userCodeAlphabet[b%20])
			}
		}
	}
	return string(out), nil
}

// displayUserCode is how a user code is shown and sent: XXXX-XXXX.
func displayUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// maxUserCodeInput bounds what normalizeUserCode reads: a code with some
// separators, never a long string.
const maxUserCodeInput = 32

// normalizeUserCode turns what a user typed into the stored form (§6.1:
// case, dashes and spaces do not matter): upper case, without "-" and
// white space. It reports false for anything that cannot be a user code,
// which is refused without a store lookup (and is no guess).
func normalizeUserCode(in string) (string, bool) {
	if len(in) > maxUserCodeInput {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if strings.IndexByte(userCodeAlphabet, c) < 0 {
			return "", false
		}
		b.WriteByte(c)
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}
