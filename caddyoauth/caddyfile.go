package caddyoauth

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("oauth", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("oauth_server", parseOAuthServer)
	httpcaddyfile.RegisterHandlerDirective("require_oauth", parseRequireOAuth)
	// Both go right after forward_auth, so a basic_auth or forward_auth
	// that authenticates the resource owner runs first. A plugin may only
	// be ordered relative to a standard directive, so require_oauth is
	// placed first and oauth_server inserted before it.
	httpcaddyfile.RegisterDirectiveOrder("require_oauth", httpcaddyfile.After, "forward_auth")
	httpcaddyfile.RegisterDirectiveOrder("oauth_server", httpcaddyfile.After, "forward_auth")
}

// parseGlobalOption parses the `oauth` global option into the oauth app,
// merging with an earlier `oauth` block if there was one.
func parseGlobalOption(d *caddyfile.Dispenser, existingVal any) (any, error) {
	app := new(App)
	if existing, ok := existingVal.(httpcaddyfile.App); ok {
		if err := json.Unmarshal(existing.Value, app); err != nil {
			return nil, fmt.Errorf("merging oauth options: %v", err)
		}
	}
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "oauth", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from the `oauth` global option.
// Syntax:
//
//	oauth {
//		server [<name>] {
//			issuer            <url>
//			storage badger    [<dir>] [{
//				memory <size>               # e.g. 64MiB
//				nonce_durability durable|page_cache
//			}]
//			storage redis     [<host:port>...] {   # see RedisStorage
//				address <host:port>...
//				key_prefix <prefix>
//				...
//			}
//			access_token_ttl  <duration>
//			refresh_token_ttl <duration>   # 0 disables refresh tokens
//			code_ttl          <duration>
//			device_code_ttl   <duration>   # RFC 8628 device codes
//			device_interval   <duration>   # RFC 8628 polling interval
//			session_ttl       <duration>   # built-in login sessions
//			token_format      opaque|jwt
//			jwt_algorithm     EdDSA|ES256|RS256
//			jwt_key_rotation  <duration>
//			audience          <aud...>
//			scopes            <scope...>
//			default_scopes    <scope...>
//			grants            <grant...>   # device_code: RFC 8628's URN
//			oauth1            on|off
//			server_key        <secret>
//			timestamp_window  <duration>
//			allow_insecure_plaintext
//			registration {                 # RFC 7591/7592; off unless present
//				initial_access_token <token>  # or: open
//			}
//			verify_cache_size <entries>    # -1 disables
//			oauth1_cache_size <entries>    # -1 disables
//			user <username> <hash> [{      # OpenID Connect standard claims
//				name <text>
//				given_name <text>
//				family_name <text>
//				middle_name <text>
//				nickname <text>
//				profile <url>
//				picture <url>
//				website <url>
//				email <address>
//				email_verified
//				gender <text>
//				birthdate YYYY-MM-DD|YYYY|0000-MM-DD
//				zoneinfo <tz name>
//				locale <BCP 47 tag>
//				phone_number <+E.164[;ext=digits]>
//				phone_number_verified
//				address {
//					formatted <text>
//					street_address <text>
//					locality <text>
//					region <text>
//					postal_code <text>
//					country <text>
//				}
//			}]
//			client <client_id> {
//				name           <text>
//				secret         <secret>
//				redirect_uri   <uri...>
//				callback_uri   <uri...>
//				post_logout_redirect_uri <uri...>
//				scopes         <scope...>
//				grants         <grant...>
//				rsa_public_key <pem file>
//				id_token_signed_response_alg RS256|<jwt_algorithm>
//				public
//				trusted
//				introspect
//			}
//		}
//	}
//
// The server name defaults to "default". The block may appear more than
// once; its servers are merged, but each name only once.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "server":
			name := DefaultServerName
			if d.NextArg() {
				name = d.Val()
			}
			if d.NextArg() {
				return d.ArgErr()
			}
			if _, dup := a.Servers[name]; dup {
				return d.Errf("oauth server %q defined twice", name)
			}
			sc := new(ServerConfig)
			if err := sc.unmarshalCaddyfile(d); err != nil {
				return err
			}
			if a.Servers == nil {
				a.Servers = make(map[string]*ServerConfig)
			}
			a.Servers[name] = sc
		default:
			return d.Errf("unrecognized oauth option: %s", d.Val())
		}
	}
	return nil
}

// unmarshalCaddyfile reads the block of one `server`.
func (sc *ServerConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "issuer":
			if err := oneArg(d, &sc.Issuer); err != nil {
				return err
			}
		case "storage":
			if !d.NextArg() {
				return d.ArgErr()
			}
			name := d.Val()
			if _, err := caddy.GetModule("oauth.storage." + name); err != nil {
				return d.Errf("unknown storage %q (available: %s)", name, storageModuleNames())
			}
			unm, err := caddyfile.UnmarshalModule(d, "oauth.storage."+name)
			if err != nil {
				return err
			}
			sc.StorageRaw = storageModuleJSON(name, unm)
		case "verify_cache_size":
			if err := intArg(d, &sc.VerifyCacheSize); err != nil {
				return err
			}
		case "oauth1_cache_size":
			if err := intArg(d, &sc.OAuth1CacheSize); err != nil {
				return err
			}
		case "access_token_ttl":
			if err := durationArg(d, &sc.AccessTokenTTL); err != nil {
				return err
			}
		case "refresh_token_ttl":
			var dur caddy.Duration
			if err := durationArg(d, &dur); err != nil {
				return err
			}
			sc.RefreshTokenTTL = &dur
		case "code_ttl":
			if err := durationArg(d, &sc.CodeTTL); err != nil {
				return err
			}
		case "session_ttl":
			if err := durationArg(d, &sc.SessionTTL); err != nil {
				return err
			}
		case "timestamp_window":
			if err := durationArg(d, &sc.TimestampWindow); err != nil {
				return err
			}
		case "token_format":
			if err := oneArg(d, &sc.TokenFormat); err != nil {
				return err
			}
			if sc.TokenFormat != tokenFormatOpaque && sc.TokenFormat != tokenFormatJWT {
				return d.Errf("unknown token_format %q (supported: opaque, jwt)", sc.TokenFormat)
			}
		case "jwt_algorithm":
			if err := oneArg(d, &sc.JWTAlgorithm); err != nil {
				return err
			}
			if sc.JWTAlgorithm == "" || !validJWTAlgorithm(sc.JWTAlgorithm) {
				return d.Errf("unknown jwt_algorithm %q (supported: EdDSA, ES256, RS256)", sc.JWTAlgorithm)
			}
		case "jwt_key_rotation":
			if err := durationArg(d, &sc.JWTKeyRotation); err != nil {
				return err
			}
		case "audience":
			if err := listArgs(d, &sc.Audience); err != nil {
				return err
			}
		case "scopes":
			if err := listArgs(d, &sc.Scopes); err != nil {
				return err
			}
		case "default_scopes":
			if err := listArgs(d, &sc.DefaultScopes); err != nil {
				return err
			}
		case "device_code_ttl":
			if err := durationArg(d, &sc.DeviceCodeTTL); err != nil {
				return err
			}
		case "device_interval":
			if err := durationArg(d, &sc.DeviceInterval); err != nil {
				return err
			}
		case "grants":
			if err := grantArgs(d, &sc.Grants); err != nil {
				return err
			}
		case "oauth1":
			var v string
			if err := oneArg(d, &v); err != nil {
				return err
			}
			switch v {
			case "on":
				sc.OAuth1 = nil
			case "off":
				off := false
				sc.OAuth1 = &off
			default:
				return d.Errf("oauth1: expected on or off, got %q", v)
			}
		case "server_key":
			if err := oneArg(d, &sc.ServerKey); err != nil {
				return err
			}
		case "allow_insecure_plaintext":
			if d.NextArg() {
				return d.ArgErr()
			}
			sc.AllowInsecurePlaintext = true
		case "registration":
			if err := sc.unmarshalRegistration(d); err != nil {
				return err
			}
		case "user":
			var u UserConfig
			if err := u.unmarshalCaddyfile(d); err != nil {
				return err
			}
			sc.Users = append(sc.Users, u)
		case "client":
			var cc ClientConfig
			if err := cc.unmarshalCaddyfile(d); err != nil {
				return err
			}
			sc.Clients = append(sc.Clients, cc)
		default:
			return d.Errf("unrecognized oauth server option: %s", opt)
		}
	}
	if sc.TokenFormat != tokenFormatJWT && (sc.JWTAlgorithm != "" || sc.JWTKeyRotation != 0 || len(sc.Audience) > 0) {
		return d.Err("jwt_algorithm, jwt_key_rotation and audience only apply to JWT access tokens; add token_format jwt")
	}
	return nil
}

// unmarshalCaddyfile reads `client <id> { ... }`.
func (u *UserConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if !d.Args(&u.Username, &u.PasswordHash) {
		return d.Err("user: expected <username> <password_hash>")
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	c := &u.Claims
	text := map[string]*string{
		"name": &c.Name, "given_name": &c.GivenName, "family_name": &c.FamilyName, "middle_name": &c.MiddleName,
		"nickname": &c.Nickname, "profile": &c.Profile, "picture": &c.Picture, "website": &c.Website,
		"email": &c.Email, "gender": &c.Gender, "birthdate": &c.Birthdate, "zoneinfo": &c.Zoneinfo,
		"locale": &c.Locale, "phone_number": &c.PhoneNumber,
	}
	flags := map[string]*bool{"email_verified": &c.EmailVerified, "phone_number_verified": &c.PhoneNumberVerified}
	line := d.Line()
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch {
		case text[opt] != nil:
			if err := oneArg(d, text[opt]); err != nil {
				return err
			}
		case flags[opt] != nil:
			if d.NextArg() {
				return d.ArgErr()
			}
			*flags[opt] = true
		case opt == "address":
			if err := unmarshalAddress(d, &c.Address); err != nil {
				return err
			}
		default:
			return d.Errf("user %s: unrecognized claim: %s", u.Username, opt)
		}
	}
	// Checked here too, so that the error names the user's line.
	if err := registry.CheckClaims(c); err != nil {
		return d.Errf("user %s (from line %d): %v", u.Username, line, err)
	}
	return nil
}

// unmarshalAddress parses a user's address block (Core §5.1.1).
func unmarshalAddress(d *caddyfile.Dispenser, a *store.Address) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	fields := map[string]*string{
		"formatted": &a.Formatted, "street_address": &a.StreetAddress, "locality": &a.Locality,
		"region": &a.Region, "postal_code": &a.PostalCode, "country": &a.Country,
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		dst := fields[d.Val()]
		if dst == nil {
			return d.Errf("address: unrecognized member: %s (formatted, street_address, locality, region, postal_code, country)", d.Val())
		}
		if err := oneArg(d, dst); err != nil {
			return err
		}
		// A Caddyfile token cannot hold a newline cleanly; \n separates
		// the lines of formatted and street_address (Core §5.1.1).
		if dst == &a.Formatted || dst == &a.StreetAddress {
			*dst = strings.ReplaceAll(*dst, `\n`, "\n")
		}
	}
	return nil
}

func (cc *ClientConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.Err("client: expected a client_id")
	}
	cc.ClientID = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "name":
			if err := oneArg(d, &cc.Name); err != nil {
				return err
			}
		case "secret":
			if err := oneArg(d, &cc.Secret); err != nil {
				return err
			}
		case "redirect_uri", "redirect_uris":
			if err := listArgs(d, &cc.RedirectURIs); err != nil {
				return err
			}
		case "callback_uri", "callback_uris":
			if err := listArgs(d, &cc.CallbackURIs); err != nil {
				return err
			}
		case "post_logout_redirect_uri", "post_logout_redirect_uris":
			if err := listArgs(d, &cc.PostLogoutRedirectURIs); err != nil {
				return err
			}
		case "scopes":
			if err := listArgs(d, &cc.Scopes); err != nil {
				return err
			}
		case "grants":
			if err := grantArgs(d, &cc.Grants); err != nil {
				return err
			}
		case "rsa_public_key":
			if err := oneArg(d, &cc.RSAPublicKey); err != nil {
				return err
			}
		case "id_token_signed_response_alg":
			if err := oneArg(d, &cc.IDTokenSignedResponseAlg); err != nil {
				return err
			}
		case "public", "trusted", "introspect":
			if d.NextArg() {
				return d.ArgErr()
			}
			switch opt {
			case "public":
				cc.Public = true
			case "trusted":
				cc.Trusted = true
			default:
				cc.Introspect = true
			}
		default:
			return d.Errf("unrecognized client option: %s", opt)
		}
	}
	return nil
}

// parseOAuthServer sets up the oauth_server handler.
func parseOAuthServer(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(OAuthServer)
	err := s.UnmarshalCaddyfile(h.Dispenser)
	return s, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	oauth_server [<matcher>] [<server name>] {
//		prefix    <path>
//		user_from <placeholder>
//		templates <dir>
//	}
func (s *OAuthServer) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		s.Server = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "prefix":
			if err := oneArg(d, &s.Prefix); err != nil {
				return err
			}
			if err := checkPrefix(s.Prefix); err != nil {
				return d.Errf("prefix: %v", err)
			}
		case "user_from":
			if err := oneArg(d, &s.UserFrom); err != nil {
				return err
			}
		case "templates":
			if err := oneArg(d, &s.Templates); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized oauth_server option: %s", opt)
		}
	}
	return nil
}

// parseRequireOAuth sets up the require_oauth handler.
func parseRequireOAuth(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	ro := new(RequireOAuth)
	err := ro.UnmarshalCaddyfile(h.Dispenser)
	return ro, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	require_oauth [<matcher>] [<scope>...] {
//		server        <name>
//		scopes        <scope...>
//		protocols     oauth1|oauth2 ...
//		header_user   <header>|-
//		header_client <header>|-
//		header_scope  <header>|-
//		realm         <realm>
//		allow_query_token
//
//		issuer        <url>             # a remote issuer instead of server
//		audience      <aud...>
//		token_type    <typ>
//		leeway        <duration>
//		introspect {
//			client_id      <id>
//			client_secret  <secret>
//			endpoint       <url>
//			cache          <duration>
//			negative_cache <duration>
//		}
//		claim_header  <header> <claim>
//	}
//
// Inline arguments are required scopes, never a server name.
func (ro *RequireOAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	ro.Scopes = append(ro.Scopes, d.RemainingArgs()...)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "server":
			if err := oneArg(d, &ro.Server); err != nil {
				return err
			}
		case "scopes", "scope":
			if err := listArgs(d, &ro.Scopes); err != nil {
				return err
			}
		case "protocols":
			if err := listArgs(d, &ro.Protocols); err != nil {
				return err
			}
			for _, p := range ro.Protocols {
				if p != protocolOAuth1 && p != protocolOAuth2 {
					return d.Errf("protocols: unknown protocol %q (oauth1, oauth2)", p)
				}
			}
		case "header_user":
			if err := oneArg(d, &ro.HeaderUser); err != nil {
				return err
			}
		case "header_client":
			if err := oneArg(d, &ro.HeaderClient); err != nil {
				return err
			}
		case "header_scope":
			if err := oneArg(d, &ro.HeaderScope); err != nil {
				return err
			}
		case "realm":
			if err := oneArg(d, &ro.Realm); err != nil {
				return err
			}
		case "allow_query_token":
			if d.NextArg() {
				return d.ArgErr()
			}
			ro.AllowQueryToken = true
		case "issuer":
			if err := oneArg(d, &ro.Issuer); err != nil {
				return err
			}
		case "audience":
			if err := listArgs(d, &ro.Audience); err != nil {
				return err
			}
		case "token_type":
			if err := oneArg(d, &ro.TokenType); err != nil {
				return err
			}
		case "leeway":
			if err := durationArg(d, &ro.Leeway); err != nil {
				return err
			}
		case "claim_header":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("claim_header: want <header> <claim>")
			}
			if ro.ClaimHeaders == nil {
				ro.ClaimHeaders = map[string]string{}
			}
			ro.ClaimHeaders[args[0]] = args[1]
		case "introspect":
			if d.NextArg() {
				return d.ArgErr()
			}
			in := new(RemoteIntrospection)
			for n := d.Nesting(); d.NextBlock(n); {
				var err error
				switch sub := d.Val(); sub {
				case "client_id":
					err = oneArg(d, &in.ClientID)
				case "client_secret":
					err = oneArg(d, &in.ClientSecret)
				case "endpoint":
					err = oneArg(d, &in.Endpoint)
				case "cache":
					err = durationArg(d, &in.Cache)
				case "negative_cache":
					err = durationArg(d, &in.NegativeCache)
				default:
					err = d.Errf("unrecognized introspect option: %s", sub)
				}
				if err != nil {
					return err
				}
			}
			if in.ClientID == "" || in.ClientSecret == "" {
				return d.Errf("introspect: client_id and client_secret are required")
			}
			ro.Introspect = in
		default:
			return d.Errf("unrecognized require_oauth option: %s", opt)
		}
	}
	if ro.Issuer != "" && ro.Server != "" {
		return d.Err("require_oauth: server and issuer are mutually exclusive")
	}
	return nil
}

// unmarshalRegistration reads `registration { initial_access_token <t> | open }`.
func (sc *ServerConfig) unmarshalRegistration(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	rc := new(RegistrationConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "initial_access_token":
			if err := oneArg(d, &rc.InitialAccessToken); err != nil {
				return err
			}
		case "open":
			if d.NextArg() {
				return d.ArgErr()
			}
			rc.Open = true
		default:
			return d.Errf("unrecognized registration option: %s", opt)
		}
	}
	if err := rc.validate(); err != nil {
		return d.Err(err.Error())
	}
	sc.Registration = rc
	return nil
}

// intArg reads exactly one integer argument into dst.
func intArg(d *caddyfile.Dispenser, dst *int) error {
	opt := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return d.Errf("%s: invalid number %q", opt, s)
	}
	*dst = n
	return nil
}

// oneArg reads exactly one argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// listArgs appends one or more arguments to dst.
func listArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

// grantShortNames are the grant types the Caddyfile may name by a short
// word instead of their URN (DESIGN §2); the JSON has the URN.
var grantShortNames = map[string]string{"device_code": oauth2.GrantDeviceCode}

// grantArgs reads grant types, expanding short names.
func grantArgs(d *caddyfile.Dispenser, dst *[]string) error {
	var grants []string
	if err := listArgs(d, &grants); err != nil {
		return err
	}
	for _, g := range grants {
		if urn, ok := grantShortNames[g]; ok {
			g = urn
		}
		*dst = append(*dst, g)
	}
	return nil
}

// durationArg reads one duration argument.
func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	opt := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("%s: invalid duration %q: %v", opt, s, err)
	}
	if dur < 0 {
		return d.Errf("%s: duration %q must not be negative", opt, s)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*OAuthServer)(nil)
	_ caddyfile.Unmarshaler = (*RequireOAuth)(nil)
)
