package caddyoauth

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// TestCLIUserClaimsOffline: user add and set take a flag per standard
// claim and --claims, offline as through the admin API, with the same
// checks; user show prints the subject and the claims.
func TestCLIUserClaimsOffline(t *testing.T) {
	fastPasswordHashing(t)
	dir := filepath.Join(t.TempDir(), "oauth")
	off := func(args ...string) []string { return append(args, "--storage", dir) }

	mustCLI(t, "", off("user", "add", "gwen", "--password", "gwen password",
		"--name", "Gwen Ø", "--given-name", "Gwen", "--family-name", "Ø", "--middle-name", "M", "--nickname", "g",
		"--profile", "https://example.com/g", "--picture", "https://example.com/g.png", "--website", "https://g.example",
		"--email", "gwen@example.com", "--email-verified", "--gender", "female", "--birthdate", "1990",
		"--zoneinfo", "America/New_York", "--locale", "en-US", "--phone-number", "+12125550100", "--phone-number-verified",
		"--formatted-address", `1 A St\nNew York`, "--street-address", "1 A St", "--locality", "New York",
		"--region", "NY", "--postal-code", "10001", "--country", "US")...)
	var v registry.UserView
	if err := json.Unmarshal([]byte(mustCLI(t, "", off("user", "show", "gwen", "--json")...)), &v); err != nil {
		t.Fatal(err)
	}
	want := store.Claims{
		Name: "Gwen Ø", GivenName: "Gwen", FamilyName: "Ø", MiddleName: "M", Nickname: "g",
		Profile: "https://example.com/g", Picture: "https://example.com/g.png", Website: "https://g.example",
		Email: "gwen@example.com", EmailVerified: true, Gender: "female", Birthdate: "1990",
		Zoneinfo: "America/New_York", Locale: "en-US", PhoneNumber: "+12125550100", PhoneNumberVerified: true,
		Address: store.Address{Formatted: "1 A St\nNew York", StreetAddress: "1 A St", Locality: "New York", Region: "NY", PostalCode: "10001", Country: "US"},
	}
	if v.Claims != want || !validSubject(v.Subject) {
		t.Fatalf("gwen %+v\nwant claims %+v", v, want)
	}
	sub := v.Subject

	// Only what is given changes; "" and =false remove.
	mustCLI(t, "", off("user", "set", "gwen", "--email-verified=false", "--phone-number", "", "--phone-number-verified=false", "--region", "")...)
	v = registry.UserView{}
	if err := json.Unmarshal([]byte(mustCLI(t, "", off("user", "show", "gwen", "--json")...)), &v); err != nil {
		t.Fatal(err)
	}
	want.EmailVerified, want.PhoneNumber, want.PhoneNumberVerified, want.Address.Region = false, "", false, ""
	if v.Claims != want || v.Subject != sub {
		t.Fatalf("after set %+v\nwant claims %+v, sub %s", v, want, sub)
	}
	mustCLI(t, "new password\n", off("user", "passwd", "gwen")...)
	if out := mustCLI(t, "", off("user", "show", "gwen")...); !strings.Contains(out, sub) || !strings.Contains(out, "email:") || strings.Contains(out, "phone_number:") {
		t.Errorf("user show after a password change:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{off("user", "add", "hal", "--password", "hal password", "--email", "hal"), "email"},
		{off("user", "add", "hal", "--password", "hal password", "--phone-number-verified"), "phone_number_verified without a phone_number"},
		{off("user", "add", "hal", "--password", "hal password", "--claims", `{"emial":"hal@example.com"}`), `unknown field "emial"`},
		{off("user", "add", "hal", "--password", "hal password", "--claims", `[1]`), "--claims: a JSON object is required"},
		{off("user", "set", "gwen", "--website", "example.com"), "website"},
		{off("user", "set", "gwen", "--locale", "en_US"), "locale"},
		{off("user", "set", "gwen", "--zoneinfo", "Mars/Olympus"), "zoneinfo"},
		{off("user", "set", "nobody", "--name", "X"), "no user nobody"},
	} {
		if _, _, err := runCLI(t, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	var users []registry.UserView
	if err := json.Unmarshal([]byte(mustCLI(t, "", off("user", "list", "--json")...)), &users); err != nil || len(users) != 1 {
		t.Errorf("users after the refusals: %+v %v", users, err)
	}
}
