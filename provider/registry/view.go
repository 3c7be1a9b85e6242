package registry

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// ClientView is a client as the admin API and CLI show it: never its
// secret's hash or sealed form; the secret itself only in the answer that
// created or replaced it.
type ClientView struct {
	ClientMetadata
	ClientStatus
}

// ClientStatus is what a view adds to the metadata.
type ClientStatus struct {
	// HasSecret: the client authenticates with a secret (OAuth 2) and
	// signs with it (OAuth 1 HMAC, PLAINTEXT).
	HasSecret bool `json:"has_secret"`
	// HasRSAPublicKey: the client signs OAuth 1 requests with RSA-SHA1.
	HasRSAPublicKey bool `json:"has_rsa_public_key,omitempty"`
	// Static clients come from the config and cannot be changed here.
	Static    bool       `json:"static"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	// ClientSecret is set only in the answer to a registration or a
	// secret rotation.
	ClientSecret string `json:"client_secret,omitempty"`
}

// viewOf shows a stored client.
func viewOf(c *store.Client) ClientView {
	v := ClientView{ClientMetadata: MetadataOf(c), ClientStatus: ClientStatus{
		HasSecret:       len(c.SecretHash) > 0 || len(c.SealedSecret) > 0,
		HasRSAPublicKey: c.RSAPublicKeyPEM != "",
	}}
	if !c.CreatedAt.IsZero() {
		t := c.CreatedAt
		v.CreatedAt = &t
	}
	return v
}

// MarshalJSON shows every metadata field, empty ones too (lists as [], not
// left out), so that API clients always find them; the config's JSON
// leaves them out instead.
func (v ClientView) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	md := reflect.ValueOf(v.ClientMetadata)
	for i := range md.NumField() {
		name, _, _ := strings.Cut(md.Type().Field(i).Tag.Get("json"), ",")
		f := md.Field(i).Interface()
		if s, ok := f.([]string); ok && s == nil {
			f = []string{}
		}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		buf.WriteString(`"` + name + `":`)
		buf.Write(b)
		buf.WriteByte(',')
	}
	rest, err := json.Marshal(v.ClientStatus)
	if err != nil {
		return nil, err
	}
	buf.Write(rest[1:]) // without its '{'
	return buf.Bytes(), nil
}
