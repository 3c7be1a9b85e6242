package registry

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	// The tz database is embedded so that a zoneinfo valid on one host is
	// valid on every host, with or without /usr/share/zoneinfo (Caddy's
	// own main embeds it too).
	_ "time/tzdata"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Bounds on claim values: generous for any real name or address, small
// enough that a user record stays a few kilobytes.
const (
	maxClaimLen   = 256  // names, gender, region...
	maxURLLen     = 2048 // profile, picture, website
	maxEmailLen   = 254  // RFC 5321 §4.5.3.1.3 path limit, less the brackets
	maxAddressLen = 1024 // formatted and street_address, which have lines
)

var (
	// birthdate: YYYY-MM-DD, YYYY (year only) or 0000-MM-DD (year
	// withheld), Core §5.1.
	birthdateSyntax = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$`)
	// phone_number: E.164 (a +, then at most 15 digits, the first not 0),
	// optionally with an RFC 3966 extension, Core §5.1.
	phoneSyntax = regexp.MustCompile(`^\+[1-9][0-9]{1,14}(;ext=[0-9]{1,10})?$`)
	// locale: a BCP 47 language tag (RFC 5646 §2.1), checked for syntax:
	// language (2-3 letters with up to three extlangs, or 4-8 letters),
	// script, region, variants, extensions, private use; or private use
	// alone. Case-insensitive.
	localeSyntax = regexp.MustCompile(`(?i)^(` +
		`([a-z]{2,3}(-[a-z]{3}){0,3}|[a-z]{4,8})` + // language
		`(-[a-z]{4})?` + // script
		`(-([a-z]{2}|[0-9]{3}))?` + // region
		`(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*` + // variants
		`(-[0-9a-wyz](-[a-z0-9]{2,8})+)*` + // extensions
		`(-x(-[a-z0-9]{1,8})+)?` + // private use
		`|x(-[a-z0-9]{1,8})+)$`)
)

// CheckClaims checks a user's standard claims (OpenID Connect Core
// §5.1); an error names the claim. Every value must be UTF-8 without
// control characters (formatted and street_address may have newlines,
// which separate their lines) and within its length bound.
func CheckClaims(c *store.Claims) error {
	a := &c.Address
	for _, f := range []struct {
		name, v string
		max     int
		lines   bool
	}{
		{"name", c.Name, maxClaimLen, false},
		{"given_name", c.GivenName, maxClaimLen, false},
		{"family_name", c.FamilyName, maxClaimLen, false},
		{"middle_name", c.MiddleName, maxClaimLen, false},
		{"nickname", c.Nickname, maxClaimLen, false},
		{"profile", c.Profile, maxURLLen, false},
		{"picture", c.Picture, maxURLLen, false},
		{"website", c.Website, maxURLLen, false},
		{"email", c.Email, maxEmailLen, false},
		{"gender", c.Gender, maxClaimLen, false},
		{"birthdate", c.Birthdate, maxClaimLen, false},
		{"zoneinfo", c.Zoneinfo, maxClaimLen, false},
		{"locale", c.Locale, maxClaimLen, false},
		{"phone_number", c.PhoneNumber, maxClaimLen, false},
		{"address.formatted", a.Formatted, maxAddressLen, true},
		{"address.street_address", a.StreetAddress, maxAddressLen, true},
		{"address.locality", a.Locality, maxClaimLen, false},
		{"address.region", a.Region, maxClaimLen, false},
		{"address.postal_code", a.PostalCode, maxClaimLen, false},
		{"address.country", a.Country, maxClaimLen, false},
	} {
		if err := checkText(f.name, f.v, f.max, f.lines); err != nil {
			return err
		}
	}
	for _, u := range []struct{ name, v string }{{"profile", c.Profile}, {"picture", c.Picture}, {"website", c.Website}} {
		if err := checkClaimURL(u.name, u.v); err != nil {
			return err
		}
	}
	if c.Email != "" {
		// An addr-spec alone: a display name or angle brackets would be
		// shown to relying parties as part of the address.
		if addr, err := mail.ParseAddress(c.Email); err != nil || addr.Name != "" || addr.Address != c.Email {
			return invalid("email %q: not an email address (name@domain, without a display name)", c.Email)
		}
	} else if c.EmailVerified {
		return invalid("email_verified without an email")
	}
	if c.PhoneNumber != "" {
		if !phoneSyntax.MatchString(c.PhoneNumber) {
			return invalid("phone_number %q: not E.164 (+ and up to 15 digits, optionally ;ext=digits, e.g. +14155550100)", c.PhoneNumber)
		}
	} else if c.PhoneNumberVerified {
		return invalid("phone_number_verified without a phone_number")
	}
	if err := checkBirthdate(c.Birthdate); err != nil {
		return err
	}
	if err := checkZoneinfo(c.Zoneinfo); err != nil {
		return err
	}
	if c.Locale != "" && !localeSyntax.MatchString(c.Locale) {
		hint := ""
		if strings.Contains(c.Locale, "_") {
			hint = "; BCP 47 separates with - (en-US, not en_US)"
		}
		return invalid("locale %q: not a BCP 47 language tag such as en-US%s", c.Locale, hint)
	}
	return nil
}

// checkText refuses invalid UTF-8, control characters (but newlines
// where lines are allowed) and values over max bytes.
func checkText(name, v string, max int, lines bool) error {
	if len(v) > max {
		return invalid("%s: at most %d bytes", name, max)
	}
	if !utf8.ValidString(v) {
		return invalid("%s: not valid UTF-8", name)
	}
	for _, r := range v {
		if r == '\n' && lines {
			continue
		}
		// Cc and the Unicode format characters that reorder or hide text
		// (bidi overrides, zero-width ones) would mislead whoever reads
		// the value.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return invalid("%s: control character %U not allowed", name, r)
		}
	}
	if strings.TrimSpace(v) != v {
		return invalid("%s: leading or trailing space", name)
	}
	return nil
}

// checkClaimURL accepts an absolute http or https URL with a host and no
// credentials.
func checkClaimURL(name, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return invalid("%s %q: must be an absolute http or https URL", name, v)
	}
	if u.User != nil {
		return invalid("%s %q: must not contain credentials", name, v)
	}
	return nil
}

// checkBirthdate accepts the three forms of Core §5.1, with a real
// calendar date (February 29 counts in the year withheld, 0000, which
// is a leap year).
func checkBirthdate(v string) error {
	if v == "" {
		return nil
	}
	if !birthdateSyntax.MatchString(v) {
		return invalid("birthdate %q: must be YYYY-MM-DD, YYYY or 0000-MM-DD", v)
	}
	if len(v) == 4 {
		if v == "0000" {
			return invalid("birthdate %q: the year 0000 only withholds the year of a full date (0000-MM-DD)", v)
		}
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return invalid("birthdate %q: not a calendar date", v)
	}
	return nil
}

// checkZoneinfo accepts a name of the tz database (time.LoadLocation,
// which refuses paths; the database is embedded, so a name it knows is
// accepted on every host), not "Local", which names whatever the
// server's own zone is.
func checkZoneinfo(v string) error {
	if v == "" {
		return nil
	}
	if v == "Local" {
		return invalid("zoneinfo %q: not a time zone name such as Europe/Paris", v)
	}
	if _, err := time.LoadLocation(v); err != nil {
		return invalid("zoneinfo %q: not in the time zone database (e.g. Europe/Paris, America/Los_Angeles)", v)
	}
	return nil
}

// MergeClaims applies patch, a JSON merge patch (RFC 7396) of the claims
// object, to c: a member replaces a claim, null (or "", false) removes it,
// an address object is merged member by member. Unknown claims are
// refused; the result is not checked (CheckClaims does that).
func MergeClaims(c *store.Claims, patch json.RawMessage) error {
	return mergePatch(c, patch, "claims", func(k string, old, v json.RawMessage) (json.RawMessage, bool, error) {
		if k != "address" || !bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
			return nil, false, nil
		}
		var addr store.Address
		if old != nil {
			if err := json.Unmarshal(old, &addr); err != nil {
				return nil, false, err
			}
		}
		if err := mergePatch(&addr, v, "claims: address", nil); err != nil {
			return nil, false, err
		}
		b, err := json.Marshal(addr)
		return b, true, err
	})
}

// mergePatch applies the merge patch to the JSON object form of *cur:
// null removes a member, anything else replaces it unless nested merges
// it (ok true). Members T does not have are refused, naming what.
func mergePatch[T any](cur *T, patch json.RawMessage, what string, nested func(k string, old, v json.RawMessage) (json.RawMessage, bool, error)) error {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return invalid("%s: a JSON object is required", what)
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(doc, k)
			continue
		}
		if nested != nil {
			m, ok, err := nested(k, doc[k], v)
			if err != nil {
				return err
			}
			if ok {
				doc[k] = m
				continue
			}
		}
		doc[k] = v
	}
	merged, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var next T
	if err := strictJSON(merged, &next); err != nil {
		return invalid("%s: %v", what, err)
	}
	*cur = next
	return nil
}

// strictJSON decodes b into v, refusing unknown members, so that a
// misspelt claim is an error rather than silently dropped.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
