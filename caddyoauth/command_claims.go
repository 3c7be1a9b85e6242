package caddyoauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// claimFlag is a flag of `caddy oauth user add|set` setting one standard
// claim; address members are address.<member>.
type claimFlag struct {
	flag, claim, usage string
	boolean            bool
}

// claimFlags are the standard claims (OpenID Connect Core §5.1) as flags:
// the claim's name with dashes, address members without the address.
var claimFlags = []claimFlag{
	{"name", "name", "Full name", false},
	{"given-name", "given_name", "Given (first) name", false},
	{"family-name", "family_name", "Family name (surname)", false},
	{"middle-name", "middle_name", "Middle name", false},
	{"nickname", "nickname", "Casual name", false},
	{"profile", "profile", "Profile page URL (http or https)", false},
	{"picture", "picture", "Profile picture URL (http or https)", false},
	{"website", "website", "Web page or blog URL (http or https)", false},
	{"email", "email", "Email address", false},
	{"email-verified", "email_verified", "The email address was verified", true},
	{"gender", "gender", "Gender", false},
	{"birthdate", "birthdate", "Birthday: YYYY-MM-DD, YYYY or 0000-MM-DD", false},
	{"zoneinfo", "zoneinfo", "Time zone, e.g. Europe/Paris", false},
	{"locale", "locale", "Locale, a BCP 47 tag such as en-US", false},
	{"phone-number", "phone_number", "Phone number in E.164 form, e.g. +14155550100;ext=12", false},
	{"phone-number-verified", "phone_number_verified", "The phone number was verified", true},
	{"formatted-address", "address.formatted", "Full postal address for display (\\n between lines)", false},
	{"street-address", "address.street_address", "Street address (\\n between lines)", false},
	{"locality", "address.locality", "City or locality", false},
	{"region", "address.region", "State, province or region", false},
	{"postal-code", "address.postal_code", "Zip or postal code", false},
	{"country", "address.country", "Country", false},
}

// addClaimFlags gives cmd a flag per standard claim, and --claims.
func addClaimFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	for _, c := range claimFlags {
		if c.boolean {
			f.Bool(c.flag, false, c.usage)
		} else {
			f.String(c.flag, "", c.usage)
		}
	}
	f.String("claims", "", `The claims as JSON, e.g. '{"name":"Alice","address":{"country":"FR"}}' (other flags apply after it)`)
}

// claimsPatchOf is the JSON merge patch the flags given on cmd make (nil
// if none): --claims, then each claim flag given, an empty string or
// false removing the claim. A \n in an address line flag is a line break.
func claimsPatchOf(cmd *cobra.Command) (json.RawMessage, error) {
	fl := cmd.Flags()
	patch := map[string]any{}
	if raw, _ := fl.GetString("claims"); fl.Changed("claims") {
		var base map[string]any
		if err := json.Unmarshal([]byte(raw), &base); err != nil || base == nil {
			return nil, errors.New("--claims: a JSON object is required")
		}
		patch = base
	}
	for _, c := range claimFlags {
		if !fl.Changed(c.flag) {
			continue
		}
		var v any
		if c.boolean {
			b, _ := fl.GetBool(c.flag)
			if b {
				v = true
			}
		} else {
			s, _ := fl.GetString(c.flag)
			if strings.HasPrefix(c.claim, "address.") {
				s = strings.ReplaceAll(s, `\n`, "\n")
			}
			if s != "" {
				v = s
			}
		}
		if member, ok := strings.CutPrefix(c.claim, "address."); ok {
			addr, _ := patch["address"].(map[string]any)
			if addr == nil {
				addr = map[string]any{}
			}
			addr[member] = v
			patch["address"] = addr
		} else {
			patch[c.claim] = v
		}
	}
	if len(patch) == 0 && !fl.Changed("claims") {
		return nil, nil
	}
	return json.Marshal(patch)
}

func cmdUserSet(cmd *cobra.Command, args []string, b manageBackend) error {
	patch, err := claimsPatchOf(cmd)
	if err != nil {
		return err
	}
	if patch == nil {
		return errors.New("no claim to change: give --name, --email, ... or --claims")
	}
	v, err := b.PatchClaims(cmd.Context(), args[0], patch)
	if err != nil {
		return err
	}
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return printJSON(cmd.OutOrStdout(), v)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Changed the claims of user %s\n", args[0])
	return nil
}

func cmdUserShow(cmd *cobra.Command, args []string, b manageBackend) error {
	v, err := b.GetUser(cmd.Context(), args[0])
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return printJSON(out, v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "username:\t%s\n", v.Username)
	fmt.Fprintf(tw, "source:\t%s\n", source(v.Static))
	fmt.Fprintf(tw, "sub:\t%s\n", subjectShown(v))
	for _, c := range claimsShown(v.Claims) {
		fmt.Fprintf(tw, "%s:\t%s\n", c[0], c[1])
	}
	return tw.Flush()
}

// subjectShown is the sub a user has: its subject, else the username
// (a user stored before subjects, or a static user shown offline).
func subjectShown(v *registry.UserView) string {
	if v.Subject != "" {
		return v.Subject
	}
	return v.Username + " (the username)"
}

// claimsShown are the claims set, in the order of claimFlags.
func claimsShown(c store.Claims) [][2]string {
	b, _ := json.Marshal(c)
	var flat map[string]any
	_ = json.Unmarshal(b, &flat)
	addr, _ := flat["address"].(map[string]any)
	var out [][2]string
	for _, f := range claimFlags {
		var v any
		if member, ok := strings.CutPrefix(f.claim, "address."); ok {
			v = addr[member]
		} else {
			v = flat[f.claim]
		}
		if v != nil {
			out = append(out, [2]string{f.claim, strings.ReplaceAll(fmt.Sprint(v), "\n", `\n`)})
		}
	}
	return out
}
