package registry

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Each rule of CheckClaims, with a value it accepts next to one it
// refuses, so that dropping the rule fails a case.
func TestCheckClaims(t *testing.T) {
	long := strings.Repeat("a", maxClaimLen+1)
	tests := []struct {
		name string
		c    store.Claims
		want string // in the error; "" accepts
	}{
		{"no claims", store.Claims{}, ""},
		{"every claim", store.Claims{
			Name: "Zoë Ødegård", GivenName: "Zoë", FamilyName: "Ødegård", MiddleName: "Q", Nickname: "zo",
			Profile: "https://example.com/zoe", Picture: "http://example.com/z.png", Website: "https://zoe.example/",
			Email: "zoe@example.com", EmailVerified: true, Gender: "nonbinary", Birthdate: "1990-02-28",
			Zoneinfo: "America/Argentina/Buenos_Aires", Locale: "nb-NO", PhoneNumber: "+4712345678;ext=12", PhoneNumberVerified: true,
			Address: store.Address{Formatted: "Storgata 1\n0155 Oslo", StreetAddress: "Storgata 1\nLeilighet 2", Locality: "Oslo", PostalCode: "0155", Country: "Norway"},
		}, ""},

		{"an email with a display name", store.Claims{Email: "Zoe <zoe@example.com>"}, "email"},
		{"an email in angle brackets", store.Claims{Email: "<zoe@example.com>"}, "email"},
		{"an email without a domain", store.Claims{Email: "zoe"}, "email"},
		{"email_verified without an email", store.Claims{EmailVerified: true}, "email_verified without an email"},
		{"an email too long", store.Claims{Email: strings.Repeat("a", 250) + "@x.io"}, "email: at most 254"},

		{"a relative profile URL", store.Claims{Profile: "/zoe"}, "profile"},
		{"a picture with another scheme", store.Claims{Picture: "javascript:alert(1)"}, "picture"},
		{"a website without a host", store.Claims{Website: "https://"}, "website"},
		{"a URL with credentials", store.Claims{Website: "https://u:p@example.com/"}, "website \"https://u:p@example.com/\": must not contain credentials"},
		{"a URL too long", store.Claims{Picture: "https://example.com/" + strings.Repeat("p", maxURLLen)}, "picture: at most"},

		{"a year alone", store.Claims{Birthdate: "1990"}, ""},
		{"a withheld year", store.Claims{Birthdate: "0000-02-29"}, ""},
		{"a birthdate with slashes", store.Claims{Birthdate: "1990/02/28"}, "birthdate"},
		{"a day that does not exist", store.Claims{Birthdate: "1990-02-30"}, "not a calendar date"},
		{"the year 0000 alone", store.Claims{Birthdate: "0000"}, "birthdate"},

		{"UTC", store.Claims{Zoneinfo: "UTC"}, ""},
		{"Etc/GMT+5", store.Claims{Zoneinfo: "Etc/GMT+5"}, ""},
		{"an unknown zone", store.Claims{Zoneinfo: "Europe/Pari"}, "zoneinfo \"Europe/Pari\": not in the time zone database"},
		{"the server's local zone", store.Claims{Zoneinfo: "Local"}, "zoneinfo"},
		{"a zone that escapes the database", store.Claims{Zoneinfo: "../../etc/passwd"}, "zoneinfo"},

		{"a language alone", store.Claims{Locale: "fr"}, ""},
		{"language, script and region", store.Claims{Locale: "zh-Hant-TW"}, ""},
		{"a numeric region and a variant", store.Claims{Locale: "es-419"}, ""},
		{"a variant", store.Claims{Locale: "de-CH-1901"}, ""},
		{"an extension and private use", store.Claims{Locale: "en-US-u-ca-gregory-x-foo"}, ""},
		{"an underscore", store.Claims{Locale: "en_US"}, "BCP 47 separates with -"},
		{"a one-letter language", store.Claims{Locale: "e"}, "locale"},
		{"a region of one letter", store.Claims{Locale: "en-U"}, "locale"},

		{"a number without +", store.Claims{PhoneNumber: "4712345678"}, "phone_number"},
		{"a number with spaces", store.Claims{PhoneNumber: "+47 123 45 678"}, "phone_number"},
		{"a number of 16 digits", store.Claims{PhoneNumber: "+1234567890123456"}, "phone_number"},
		{"a bad extension", store.Claims{PhoneNumber: "+4712345678;ext=x"}, "phone_number"},
		{"phone_number_verified without a number", store.Claims{PhoneNumberVerified: true}, "phone_number_verified without a phone_number"},

		{"a name too long", store.Claims{Name: long}, "name: at most 256"},
		{"a control character", store.Claims{FamilyName: "O\x07Brien"}, "family_name: control character"},
		{"a newline in a name", store.Claims{GivenName: "a\nb"}, "given_name: control character"},
		{"a bidi override", store.Claims{Nickname: "evil\u202etxt"}, "nickname: control character"},
		{"invalid UTF-8", store.Claims{MiddleName: "\xff"}, "middle_name: not valid UTF-8"},
		{"a trailing space", store.Claims{Gender: "female "}, "gender: leading or trailing space"},
		{"a tab in the locality", store.Claims{Address: store.Address{Locality: "Oslo\t"}}, "address.locality: control character"},
		{"a newline in the country", store.Claims{Address: store.Address{Country: "No\nrway"}}, "address.country: control character"},
		{"an address line too long", store.Claims{Address: store.Address{StreetAddress: strings.Repeat("s", maxAddressLen+1)}}, "address.street_address: at most"},
		{"a region too long", store.Claims{Address: store.Address{Region: long}}, "address.region: at most"},
		{"a postal code too long", store.Claims{Address: store.Address{PostalCode: long}}, "address.postal_code: at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckClaims(&tc.c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (kindOf(err) != Invalid || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an Invalid error with %q", err, tc.want)
			}
		})
	}
}

// A user gets a random subject at creation, kept by every later change,
// and another one when added again under the same name.
func TestSubjectsAreRandomKeptAndNeverReused(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	v, err := m.CreateUser(ctx, "alice", "alice password", store.Claims{Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Subject) != 22 || v.Subject == "alice" || v.Claims.Email != "alice@example.com" || v.UpdatedAt == nil {
		t.Fatalf("view %+v", v)
	}
	sub := v.Subject
	if err := m.SetPassword(ctx, "alice", "new password"); err != nil {
		t.Fatal(err)
	}
	if v, err = m.UpdateClaims(ctx, "alice", func(c *store.Claims) error { c.Name = "Alice"; return nil }); err != nil || v.Subject != sub {
		t.Fatalf("after the claims changed: %+v %v", v, err)
	}
	u, _ := db.GetUser(ctx, "alice")
	if u.Subject != sub || u.Claims.Name != "Alice" || u.Claims.Email != "alice@example.com" {
		t.Fatalf("stored %+v", u)
	}
	if _, err := m.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if v, err = m.CreateUser(ctx, "alice", "alice password", store.Claims{}); err != nil || v.Subject == sub || len(v.Subject) != 22 {
		t.Fatalf("added again: %+v %v (old sub %s)", v, err, sub)
	}
}

// Claims are checked on creation and on change with the same rules; a
// refused change leaves the user as it was, and a change that changes
// nothing leaves updated_at.
func TestClaimsAreCheckedOnCreateAndUpdate(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	if _, err := m.CreateUser(ctx, "bob", "bob password", store.Claims{Email: "Bob <bob@example.com>"}); kindOf(err) != Invalid || !strings.Contains(err.Error(), "email") {
		t.Fatalf("create with a bad email: %v", err)
	}
	if _, err := db.GetUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused user was stored: %v", err)
	}
	if _, err := m.CreateUser(ctx, "bob", "bob password", store.Claims{Locale: "en-GB"}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.GetUser(ctx, "bob")
	m.Now = func() time.Time { return before.UpdatedAt.Add(time.Hour) }
	if _, err := m.UpdateClaims(ctx, "bob", func(c *store.Claims) error { c.Locale = "en_GB"; return nil }); kindOf(err) != Invalid {
		t.Fatalf("update to a bad locale: %v", err)
	}
	if _, err := m.UpdateClaims(ctx, "bob", func(c *store.Claims) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if after, _ := db.GetUser(ctx, "bob"); after.Claims.Locale != "en-GB" || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("after a refused and an empty change: %+v", after)
	}
	if _, err := m.UpdateClaims(ctx, "bob", func(c *store.Claims) error { c.Locale = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if after, _ := db.GetUser(ctx, "bob"); after.Claims.Locale != "" || !after.UpdatedAt.Equal(before.UpdatedAt.Add(time.Hour)) {
		t.Fatalf("after clearing the locale: %+v", after)
	}
	if _, err := m.UpdateClaims(ctx, "nobody", func(*store.Claims) error { return nil }); kindOf(err) != NotFound {
		t.Errorf("an unknown user: %v", err)
	}
	m.AddStaticUserRecord(&store.User{Username: "root", Subject: "s", Claims: store.Claims{Name: "Root"}})
	if _, err := m.UpdateClaims(ctx, "root", func(*store.Claims) error { return nil }); kindOf(err) != Conflict {
		t.Errorf("a static user: %v", err)
	}
	if v, err := m.GetUser(ctx, "root"); err != nil || !v.Static || v.Subject != "s" || v.Claims.Name != "Root" {
		t.Errorf("the static user's view: %+v %v", v, err)
	}
}

func TestMergeClaimsIsAJSONMergePatch(t *testing.T) {
	c := store.Claims{Name: "Alice", Email: "a@example.com", EmailVerified: true, Address: store.Address{Locality: "Oslo", Country: "Norway"}}
	err := MergeClaims(&c, json.RawMessage(`{"name":null,"email_verified":false,"nickname":"al","address":{"country":null,"postal_code":"0155"}}`))
	want := store.Claims{Email: "a@example.com", Nickname: "al", Address: store.Address{Locality: "Oslo", PostalCode: "0155"}}
	if err != nil || c != want {
		t.Fatalf("got %+v %v\nwant %+v", c, err, want)
	}
	if err := MergeClaims(&c, json.RawMessage(`{"address":null}`)); err != nil || c.Address != (store.Address{}) {
		t.Fatalf("removing the address: %+v %v", c, err)
	}
	for patch, msg := range map[string]string{
		`{"mail":"x@example.com"}`:       `unknown field "mail"`,
		`{"address":{"city":"Oslo"}}`:    `address: json: unknown field "city"`,
		`{"email_verified":"yes"}`:       "claims:",
		`{"address":"Storgata 1"}`:       "claims:",
		`["name"]`:                       "a JSON object is required",
		`null`:                           "a JSON object is required",
		`{"address":{"locality":false}}`: "address:",
	} {
		before := c
		if err := MergeClaims(&c, json.RawMessage(patch)); kindOf(err) != Invalid || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", patch, err, msg)
		}
		if c != before {
			t.Errorf("%s: a refused patch changed the claims to %+v", patch, c)
		}
	}
}
