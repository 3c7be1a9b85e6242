package registry

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// FuzzMergeClaims: any patch (admin API PATCH, CLI --claims) either is
// refused with an Invalid error or gives claims that, once checked,
// survive a JSON round trip unchanged; applying the same patch twice
// changes nothing more (a merge patch is idempotent). Never a panic.
func FuzzMergeClaims(f *testing.F) {
	for _, s := range []string{
		`{"name":"Alice","email":"alice@example.com","email_verified":true}`,
		`{"address":{"locality":"Oxford","country":null}}`,
		`{"address":"flat"}`, `{"name":null}`, `{"unknown":1}`, `[]`, `null`, `{"birthdate":"0000-05-04","zoneinfo":"Europe/London"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, patch []byte) {
		c := store.Claims{Name: "Before", Address: store.Address{Region: "Oxfordshire"}}
		err := MergeClaims(&c, patch)
		if err != nil {
			var re *Error
			if errors.As(err, &re) && re.Kind == Invalid {
				return
			}
			t.Fatalf("MergeClaims(%q): %v is not an Invalid error", patch, err)
		}
		again := c
		if err := MergeClaims(&again, patch); err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("patch %q applied twice: %+v then %+v (%v)", patch, c, again, err)
		}
		if CheckClaims(&c) != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back store.Claims
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("checked claims %+v do not round-trip: %s (%v)", c, b, err)
		}
	})
}
