package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Claims are the claims of an RFC 9068 access token (§2.2).
type Claims struct {
	// Issuer (iss); Sign uses the WithIssuer value when empty.
	Issuer string
	// Subject (sub) is the resource owner, or the client for a
	// client_credentials token; Sign uses ClientID when empty.
	Subject string
	// Audience (aud): the resource servers the token is for; Sign uses the
	// WithAudience value (default the issuer) when empty.
	Audience []string
	// ClientID (client_id) is the client the token was issued to.
	ClientID string
	// Scope is the granted scopes, space-separated (RFC 8693 §4.2).
	Scope string
	// JTI (jti) identifies the token; Sign makes a random one when empty.
	JTI string
	// IssuedAt (iat); Sign uses the clock when zero. Whole seconds.
	IssuedAt time.Time
	// ExpiresAt (exp); required. Whole seconds.
	ExpiresAt time.Time
	// Username is the resource owner's login name, when there is one.
	Username string
}

// appendPayload renders the claims as the JWT Claims Set (RFC 7519 §4).
// Written by hand rather than with encoding/json: it is a fixed, flat
// object, and this is the hot path of every token response.
func appendPayload(b []byte, iss, sub string, aud []string, c *Claims, jti string, iat, exp int64) []byte {
	b = append(b, `{"iss":`...)
	b = appendString(b, iss)
	b = append(b, `,"sub":`...)
	b = appendString(b, sub)
	b = append(b, `,"aud":`...)
	if len(aud) == 1 {
		// RFC 7519 §4.1.3: a single audience may be a plain string.
		b = appendString(b, aud[0])
	} else {
		b = append(b, '[')
		for i, a := range aud {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"client_id":`...)
	b = appendString(b, c.ClientID)
	if c.Scope != "" {
		b = append(b, `,"scope":`...)
		b = appendString(b, c.Scope)
	}
	b = append(b, `,"jti":`...)
	b = appendString(b, jti)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, iat, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, exp, 10)
	if c.Username != "" {
		b = append(b, `,"username":`...)
		b = appendString(b, c.Username)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (RFC 8259 §7), decoding to the
// same string encoding/json does: invalid UTF-8 becomes U+FFFD, and U+2028
// and U+2029 are escaped for JavaScript consumers.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// payload is the claims Verify reads. Numeric dates are float64, since
// RFC 7519 §2 allows non-integer values; NaN marks an absent one.
type payload struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      audience `json:"aud"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Jti      string   `json:"jti"`
	Iat      float64  `json:"iat"`
	Exp      float64  `json:"exp"`
	Nbf      float64  `json:"nbf"`
	Username string   `json:"username"`
}

// audience is aud, a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	if len(b) == 0 {
		return errors.New("jwt: empty aud")
	}
	switch b[0] {
	case '"':
		// encoding/json validated the literal already: without escapes
		// and with valid UTF-8, its content is the string itself.
		if len(b) < 2 || b[len(b)-1] != '"' {
			return errors.New("jwt: malformed aud")
		}
		if lit := b[1 : len(b)-1]; bytes.IndexByte(lit, '\\') < 0 && utf8.Valid(lit) {
			*a = audience{string(lit)}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	case '[':
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*a = l
		return nil
	}
	return errors.New("jwt: aud is neither a string nor an array")
}

// numericTime converts a NumericDate (seconds since the epoch) to a time,
// clamping values far outside any real token's range.
func numericTime(f float64) time.Time {
	const limit = 1 << 40 // about 35,000 years
	if math.IsNaN(f) {
		return time.Time{}
	}
	f = max(-limit, min(limit, f))
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
}
