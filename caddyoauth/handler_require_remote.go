package caddyoauth

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/remote"
)

// RemoteIntrospection configures RFC 7662 introspection of opaque tokens
// at a remote issuer (require_oauth's issuer).
type RemoteIntrospection struct {
	// The client require_oauth authenticates as at the introspection
	// endpoint (Basic, or in the form when the issuer's metadata lists
	// only client_secret_post). Placeholders such as {env.X} are resolved.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`

	// The introspection endpoint, when the issuer's metadata does not
	// advertise it (Ory Hydra serves it on its admin port).
	Endpoint string `json:"endpoint,omitempty"`

	// How long an active answer is reused, never past the token's exp.
	// 0 asks the issuer on every request, so a revocation is seen at
	// once. Default: 0.
	Cache caddy.Duration `json:"cache,omitempty"`

	// How long an inactive answer is reused. Default: 0.
	NegativeCache caddy.Duration `json:"negative_cache,omitempty"`
}

// remoteIssuer is a handler's remote issuer and its one verifier.
type remoteIssuer struct {
	is  *remote.Issuer
	set *verifierSet
}

// claimHeader is one claim_header: a header set from a claim.
type claimHeader struct {
	header, claim string
}

// provisionRemote sets the handler up to verify the tokens of a remote
// issuer; its metadata and keys are fetched in the background, so Caddy
// starts while the issuer is down (requests then get 503).
func (h *RequireOAuth) provisionRemote(ctx caddy.Context) error {
	if h.Server != "" {
		return fmt.Errorf("server and issuer are mutually exclusive: server names a server of the oauth app, issuer a remote one")
	}
	for _, p := range h.Protocols {
		if p != protocolOAuth2 {
			return fmt.Errorf("protocols: with issuer only oauth2 is possible")
		}
	}
	for _, s := range h.Scopes {
		if !provider.ValidScopeToken(s) {
			return fmt.Errorf("scopes: %q is not a valid scope", s)
		}
	}
	h.needScope = provider.FormatScope(h.Scopes)
	if h.Leeway < 0 {
		return fmt.Errorf("leeway must not be negative")
	}
	h.claimH = nil
	for hdr, claim := range h.ClaimHeaders {
		name, err := headerName(hdr, "", "claim_header")
		if err != nil || name == "" || claim == "" {
			return fmt.Errorf("claim_header %q %q: a header name and a claim name", hdr, claim)
		}
		h.claimH = append(h.claimH, claimHeader{name, claim})
	}
	slices.SortFunc(h.claimH, func(a, b claimHeader) int { return strings.Compare(a.header, b.header) })
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	h.auditor = countEvents("issuer "+h.Issuer, auditLogger(h.logger.Named("remote")))
	cfg := remote.Config{
		Issuer: h.Issuer, Audience: h.Audience, TokenType: h.TokenType,
		Leeway: time.Duration(h.Leeway), Audit: h.auditor,
	}
	if in := h.Introspect; in != nil {
		repl := caddy.NewReplacer()
		id, err1 := repl.ReplaceOrErr(in.ClientID, true, true)
		secret, err2 := repl.ReplaceOrErr(in.ClientSecret, true, true)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("introspect: client_id and client_secret are required (placeholders must resolve)")
		}
		if in.Cache < 0 || in.NegativeCache < 0 {
			return fmt.Errorf("introspect: cache durations must not be negative")
		}
		cfg.Introspection = &remote.Introspection{ClientID: id, ClientSecret: secret, Endpoint: in.Endpoint, Cache: time.Duration(in.Cache), NegativeCache: time.Duration(in.NegativeCache)}
	}
	is, err := remote.New(cfg)
	if err != nil {
		return err
	}
	v := oauth2.NewBearerVerifier(is.VerifyToken, h.AllowQueryToken)
	h.remote = &remoteIssuer{is: is, set: &verifierSet{
		list: []provider.Verifier{v},
		schemes: []schemeClaim{
			{oauth2.Scheme, v, ""},
			{oauth1.Scheme, nil, "OAuth 1 requests are not accepted here"},
		},
	}}
	if err := h.provisionHeaders(); err != nil {
		return err
	}
	is.Start()
	return nil
}

// Cleanup stops a remote issuer's background fetching.
func (h *RequireOAuth) Cleanup() error {
	if h.remote != nil {
		h.remote.is.Stop()
	}
	return nil
}

// setClaimHeaders sets the claim_header headers: strings as they are,
// numbers and booleans in JSON form, lists of strings space-separated;
// other values (objects) are left out.
func (h *RequireOAuth) setClaimHeaders(r *http.Request, id *provider.Identity) {
	for _, c := range h.claimH {
		var v string
		switch x := id.Claims[c.claim].(type) {
		case string:
			v = x
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			v = strconv.FormatBool(x)
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				if s, ok := e.(string); ok {
					parts = append(parts, s)
				}
			}
			v = strings.Join(parts, " ")
		default:
			continue
		}
		// Header values must not carry CR, LF or NUL.
		if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
			r.Header[c.header] = []string{v}
		}
	}
}

// Interface guard
var _ caddy.CleanerUpper = (*RequireOAuth)(nil)
