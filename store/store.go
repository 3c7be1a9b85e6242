// Package store defines the persistence the OAuth engine needs, one small
// interface per concern, and the errors every backend reports. Backends live
// in subpackages (store/badger is the embedded default) and must all pass the
// conformance suite in store/storetest.
//
// Secrets never reach a backend in a form that lets a reader of the disk use
// them: OAuth 2 token values and generated client secrets arrive as SHA-256
// hashes, passwords as bcrypt/argon2id hashes, and OAuth 1 secrets (which
// HMAC needs back) sealed with AES-GCM by the engine. A backend stores bytes.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (possibly wrapped); callers test with errors.Is.
var (
	// ErrNotFound: no such item, or it expired.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an item with that key already exists (create only).
	ErrExists = errors.New("store: already exists")
	// ErrConsumed: a single-use item (code, verifier) was already used. The
	// method returning it also returns the item, so the caller can revoke
	// what was issued from it.
	ErrConsumed = errors.New("store: already consumed")
	// ErrRotated: a refresh token was presented again after it was rotated.
	// The method returning it also returns the token, so the caller can
	// revoke its family.
	ErrRotated = errors.New("store: refresh token already rotated")
	// ErrUnavailable: the backend could not be reached or could not answer
	// (a network store down, slow or restarting). It says nothing about the
	// item: callers answer 503 and retry later, never treat it as
	// ErrNotFound or let a request through.
	ErrUnavailable = errors.New("store: unavailable")
)

// Client is a registered OAuth client (OAuth 1 "consumer").
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// SecretHash is SHA-256(secret) for OAuth 2 client authentication;
	// empty for public clients.
	SecretHash []byte `json:"secret_hash,omitempty"`
	// SealedSecret is the secret encrypted by the engine (AES-GCM), needed
	// back in plaintext as an OAuth 1 HMAC key; empty if the client has none.
	SealedSecret []byte   `json:"sealed_secret,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	CallbackURIs []string `json:"callback_uris,omitempty"`
	// PostLogoutRedirectURIs are where OpenID Connect RP-initiated logout
	// may send the browser back to (exact match).
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes,omitempty"`
	Grants                 []string `json:"grants,omitempty"`
	Public                 bool     `json:"public,omitempty"`
	Trusted                bool     `json:"trusted,omitempty"`
	Introspect             bool     `json:"introspect,omitempty"`
	// RSAPublicKeyPEM verifies OAuth 1 RSA-SHA1 signatures.
	RSAPublicKeyPEM string `json:"rsa_public_key,omitempty"`
	// IDTokenSignedResponseAlg is the JWS alg of the client's OpenID
	// Connect ID tokens; empty means RS256.
	IDTokenSignedResponseAlg string    `json:"id_token_signed_response_alg,omitempty"`
	CreatedAt                time.Time `json:"created_at"`
}

// User is a resource owner who can log in.
type User struct {
	Username string `json:"username"`
	// PasswordHash is a bcrypt or argon2id hash as `caddy hash-password` prints.
	PasswordHash string `json:"password_hash"`
	// Subject is the OpenID Connect sub: random and opaque, set when the
	// user is created and never changed, so a user deleted and added again
	// under the same name is another sub. Users stored before subjects
	// existed have none; their sub stays the username relying parties saw.
	Subject string `json:"subject,omitempty"`
	// Claims are the OpenID Connect standard claims (Core §5.1).
	Claims    Claims    `json:"claims,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the claims last changed (updated_at, Core §5.1);
	// zero if they never did.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Claims are the OpenID Connect standard claims of a user (Core §5.1),
// named as Core names them; empty ones are absent. sub, preferred_username
// (the username) and updated_at come from the User.
type Claims struct {
	// Full name, in displayable form.
	Name string `json:"name,omitempty"`
	// Given (first) name(s).
	GivenName string `json:"given_name,omitempty"`
	// Surname(s).
	FamilyName string `json:"family_name,omitempty"`
	// Middle name(s).
	MiddleName string `json:"middle_name,omitempty"`
	// Casual name.
	Nickname string `json:"nickname,omitempty"`
	// URL of the profile page (absolute http or https).
	Profile string `json:"profile,omitempty"`
	// URL of the profile picture (absolute http or https).
	Picture string `json:"picture,omitempty"`
	// URL of the web page or blog (absolute http or https).
	Website string `json:"website,omitempty"`
	// Email address (addr-spec, no display name).
	Email string `json:"email,omitempty"`
	// Whether the email address was verified.
	EmailVerified bool `json:"email_verified,omitempty"`
	// Gender: female, male, or any other value.
	Gender string `json:"gender,omitempty"`
	// Birthday: YYYY-MM-DD, YYYY (year only) or 0000-MM-DD (year withheld).
	Birthdate string `json:"birthdate,omitempty"`
	// Time zone, an IANA tz database name such as Europe/Paris.
	Zoneinfo string `json:"zoneinfo,omitempty"`
	// Locale, a BCP 47 language tag such as en-US.
	Locale string `json:"locale,omitempty"`
	// Telephone number in E.164 form: +, digits, optionally ;ext=digits.
	PhoneNumber string `json:"phone_number,omitempty"`
	// Whether the telephone number was verified.
	PhoneNumberVerified bool `json:"phone_number_verified,omitempty"`
	// Postal address (Core §5.1.1).
	Address Address `json:"address,omitzero"`
}

// Address is a postal address (OpenID Connect Core §5.1.1).
type Address struct {
	// The full address for display; lines separated by newlines.
	Formatted string `json:"formatted,omitempty"`
	// Street, house number, apartment...; lines separated by newlines.
	StreetAddress string `json:"street_address,omitempty"`
	// City or locality.
	Locality string `json:"locality,omitempty"`
	// State, province, prefecture or region.
	Region string `json:"region,omitempty"`
	// Zip or postal code.
	PostalCode string `json:"postal_code,omitempty"`
	// Country name.
	Country string `json:"country,omitempty"`
}

// TokenKind says what a stored token is; a lookup must check it so that one
// kind can never be used as another (e.g. an OAuth 1 temporary credential
// as an access token).
type TokenKind uint8

// Token kinds.
const (
	KindAccess        TokenKind = iota + 1 // OAuth 2 access token
	KindRefresh                            // OAuth 2 refresh token
	KindOAuth1Access                       // OAuth 1 token credentials (§2.3)
	KindOAuth1Request                      // OAuth 1 temporary credentials (§2.1)
)

// Token is an issued credential. It is keyed by Hash, the SHA-256 of the
// value the client holds; the value itself is never stored.
type Token struct {
	Hash     []byte    `json:"hash"`
	Kind     TokenKind `json:"kind"`
	ClientID string    `json:"client_id"`
	// User is the resource owner; empty for client_credentials tokens.
	User   string   `json:"user,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
	// Family groups every token descending from one grant (one code, one
	// client_credentials call, one OAuth 1 authorization), so a replayed
	// code or refresh token revokes them all.
	Family    string    `json:"family"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"` // zero: never expires
	// Rotated is set on a refresh token once it was exchanged; presenting
	// it again is reuse (RFC 9700 §4.14.2).
	Rotated bool `json:"rotated,omitempty"`
	// SealedSecret is the OAuth 1 token secret, encrypted by the engine.
	SealedSecret []byte `json:"sealed_secret,omitempty"`
	// OAuth 1 temporary credentials only: callback, and after the resource
	// owner approved, the verifier's hash.
	Callback     string `json:"callback,omitempty"`
	VerifierHash []byte `json:"verifier_hash,omitempty"`
	// AuthTime is, on a refresh token of an OpenID Connect grant, when the
	// user authenticated: the auth_time of the ID tokens its refreshes
	// return (OpenID Connect Core §12.2); AMR how (their amr).
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
}

// Code is an OAuth 2 authorization code, keyed by the SHA-256 of its value.
// Family is that of the tokens issued from the code; the OAuth 2 engine
// derives it from Hash, so it can revoke the family of a code replayed
// after the store forgot it.
type Code struct {
	Hash                []byte    `json:"hash"`
	ClientID            string    `json:"client_id"`
	User                string    `json:"user"`
	RedirectURI         string    `json:"redirect_uri"`
	Scopes              []string  `json:"scopes,omitempty"`
	CodeChallenge       string    `json:"code_challenge,omitempty"`
	CodeChallengeMethod string    `json:"code_challenge_method,omitempty"`
	Family              string    `json:"family"`
	IssuedAt            time.Time `json:"issued_at"`
	ExpiresAt           time.Time `json:"expires_at"`
	Consumed            bool      `json:"consumed,omitempty"`
	// Nonce and AuthTime are kept for the ID token of an OpenID Connect
	// request (scope openid): the request's nonce, echoed exactly, and
	// when the user authenticated (OpenID Connect Core §2, §3.1.2.1);
	// AMR how (RFC 8176 method names).
	Nonce    string    `json:"nonce,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
}

// Session is a browser login session, keyed by the SHA-256 of its cookie.
type Session struct {
	Hash      []byte    `json:"hash"`
	User      string    `json:"user"`
	CSRF      string    `json:"csrf"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Consent records the scopes a user approved for a client.
type Consent struct {
	User      string    `json:"user"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

// DeviceStatus is where an RFC 8628 device authorization stands.
type DeviceStatus uint8

// Device authorization states. Pending moves to Approved or Denied once
// (DecideDevice); Approved moves to Consumed once (PollDevice).
const (
	DevicePending  DeviceStatus = iota + 1 // waiting for the user
	DeviceApproved                         // approved; no poll has redeemed it yet
	DeviceDenied                           // the user refused
	DeviceConsumed                         // approved and redeemed by a poll
)

// DeviceAuthorization is an RFC 8628 device authorization request. It is
// keyed by DeviceCodeHash, the SHA-256 of the device_code the client
// polls with, and found from the verification page by UserCodeHash, the
// SHA-256 of the normalized user_code; neither value is stored.
type DeviceAuthorization struct {
	DeviceCodeHash []byte       `json:"device_code_hash"`
	UserCodeHash   []byte       `json:"user_code_hash"`
	ClientID       string       `json:"client_id"`
	Scopes         []string     `json:"scopes,omitempty"`
	Status         DeviceStatus `json:"status"`
	// User is the resource owner who approved or denied; empty while
	// pending.
	User string `json:"user,omitempty"`
	// Interval is the least time between two polls (RFC 8628 §3.2);
	// PollDevice lengthens it when the client polls faster (§3.5).
	Interval time.Duration `json:"interval"`
	// LastPollAt is when the client last polled; zero before the first poll.
	LastPollAt time.Time `json:"last_poll_at"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// DeviceStore keeps RFC 8628 device authorizations until they expire.
// Every method answers an unknown or expired authorization with
// ErrNotFound.
type DeviceStore interface {
	// CreateDevice stores a new authorization (Status DevicePending) until
	// its ExpiresAt. ErrExists if a live authorization has the same user
	// code hash or device code hash: the caller draws a new user code.
	CreateDevice(ctx context.Context, d *DeviceAuthorization) error
	// GetDeviceByUserCode returns the authorization with that user code
	// hash.
	GetDeviceByUserCode(ctx context.Context, userCodeHash []byte) (*DeviceAuthorization, error)
	// DecideDevice records the resource owner's answer to a pending
	// authorization, atomically: it becomes DeviceApproved or
	// DeviceDenied with User set, and is returned so. Of concurrent
	// decisions exactly one lands; an authorization that is no longer
	// pending is returned unchanged with ErrConsumed.
	DecideDevice(ctx context.Context, userCodeHash []byte, user string, approve bool) (*DeviceAuthorization, error)
	// PollDevice records a poll at now by the client clientID, atomically,
	// and returns the authorization with LastPollAt = now:
	//   - pending: if the previous poll was more than pace.Tolerance less
	//     than Interval before now, Interval grows by pace.Step (stored)
	//     and slowDown is true;
	//   - approved: it is marked DeviceConsumed but returned with Status
	//     DeviceApproved, so of any number of polls exactly one ever sees
	//     DeviceApproved and may issue tokens;
	//   - denied or consumed: returned as it is.
	// An authorization of another client is ErrNotFound and is left as it
	// was (the device code is bound to its client).
	PollDevice(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time, pace DevicePace) (d *DeviceAuthorization, slowDown bool, err error)
}

// DevicePace is the slow_down rule PollDevice applies (RFC 8628 §3.5).
type DevicePace struct {
	// Step is added to the interval of a pending authorization polled
	// too early.
	Step time.Duration
	// Tolerance forgives a poll that comes that much early: a client
	// that waits exactly the interval reaches the server jittered by the
	// network.
	Tolerance time.Duration
}

// ClientStore keeps dynamically registered clients (static ones come from
// config and never reach the store).
type ClientStore interface {
	CreateClient(ctx context.Context, c *Client) error // ErrExists
	GetClient(ctx context.Context, id string) (*Client, error)
	ListClients(ctx context.Context) ([]*Client, error)
	UpdateClient(ctx context.Context, c *Client) error // ErrNotFound
	DeleteClient(ctx context.Context, id string) error // ErrNotFound
}

// UserStore keeps resource owners.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error // ErrExists
	GetUser(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	UpdateUser(ctx context.Context, u *User) error         // ErrNotFound
	DeleteUser(ctx context.Context, username string) error // ErrNotFound
}

// CodeStore keeps OAuth 2 authorization codes until they expire.
type CodeStore interface {
	SaveCode(ctx context.Context, c *Code) error
	// ConsumeCode marks the code used and returns it, atomically: of two
	// concurrent calls exactly one succeeds. A later call returns the code
	// with ErrConsumed (until the code expires), so the caller can revoke
	// the family; an unknown or expired code is ErrNotFound. Nothing is
	// kept past the expiry: the engine derives a code's family from it.
	ConsumeCode(ctx context.Context, hash []byte) (*Code, error)
}

// TokenStore keeps issued tokens of every kind. Writes are durable when the
// method returns: a token is answered to a client only after that.
type TokenStore interface {
	SaveToken(ctx context.Context, t *Token) error
	// SaveTokens stores several tokens in one durable transaction (an
	// access token with its refresh token).
	SaveTokens(ctx context.Context, ts ...*Token) error
	// GetToken returns a live token; revoked or expired ones are ErrNotFound.
	GetToken(ctx context.Context, hash []byte) (*Token, error)
	RevokeToken(ctx context.Context, hash []byte) error // ErrNotFound
	// RotateRefresh marks the refresh token old as rotated and saves next in
	// one transaction. If old was rotated before, nothing is saved and the
	// stored old token is returned with ErrRotated. Unknown: ErrNotFound.
	RotateRefresh(ctx context.Context, old []byte, next ...*Token) (*Token, error)
	// RevokeFamily, RevokeUser and RevokeClient delete every token of a
	// family, resource owner or client and return how many.
	RevokeFamily(ctx context.Context, family string) (int, error)
	RevokeUser(ctx context.Context, user string) (int, error)
	RevokeClient(ctx context.Context, clientID string) (int, error)
	// UpdateToken replaces a live token (OAuth 1 temporary credentials get
	// their user and verifier on authorization). ErrNotFound if gone.
	UpdateToken(ctx context.Context, t *Token) error
	// ConsumeToken deletes a live token of the given kind and returns it,
	// atomically (OAuth 1 temporary credentials exchanged for token
	// credentials): of two concurrent calls exactly one succeeds.
	ConsumeToken(ctx context.Context, hash []byte, kind TokenKind) (*Token, error)
	// ListTokens calls fn with every live token of every kind, rotated
	// refresh tokens included (their replay must still be detected), in
	// no particular order; revoked, consumed and expired ones are left
	// out. It is for backups (store/dump), not for request paths: it
	// walks the whole store in batches, without a snapshot, so a token
	// written meanwhile may or may not be seen, and a backend that scans
	// (Redis' SCAN) may pass a token twice. fn runs outside the
	// backend's transactions and may be slow; an error from it stops the
	// walk and is returned.
	ListTokens(ctx context.Context, fn func(*Token) error) error
}

// NonceStore remembers OAuth 1 nonces (RFC 5849 §3.3).
type NonceStore interface {
	// UseNonce records key and reports whether it was new, atomically; the
	// record lives for ttl (the timestamp window), so the store stays
	// bounded and a replay is refused also after a restart.
	UseNonce(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error)
}

// AttemptLimit is the policy an AttemptStore counts by. The store keeps no
// policy of its own: the caller passes it with every call, and every call
// on one key must pass the same one.
type AttemptLimit struct {
	// Max failures within Window lock the key for Lockout.
	Max     int
	Window  time.Duration
	Lockout time.Duration
}

// AttemptOutcome is how an attempt reserved by BeginAttempt ended.
type AttemptOutcome uint8

// Attempt outcomes.
const (
	// AttemptFailed keeps the reservation as a failure, and locks the key
	// once it has Max failures within the window.
	AttemptFailed AttemptOutcome = iota + 1
	// AttemptSucceeded clears the key: its failures and any lockout.
	AttemptSucceeded
	// AttemptCancelled returns the reservation uncounted: the attempt got
	// no answer (a store error elsewhere), or it succeeded but must not
	// clear this key (a login's address key).
	AttemptCancelled
)

// AttemptStore counts failed login attempts per key (a username, a client
// address), so that every node sharing the store shares the counts and a
// guesser cannot spread guesses over nodes. Each call is one atomic step
// on one key.
//
// An attempt is reserved by BeginAttempt before the password is checked
// and counts as a failure in advance, so concurrent attempts (on any node)
// cannot get more than Max guesses past the check; EndAttempt settles it.
// A crash between the two leaves the reservation counting as a failure
// until Window has passed: fail-safe, at most one guess less for a while.
//
// Times are the caller's (now), so a test can move the clock and so every
// node counts by its own, NTP-synchronized clock; a node whose clock is
// off shifts the windows it sees by that much. Records are bounded by
// expiry in the store (they live until the lockout or the newest failure
// or reservation's window is over), not by a count of keys. A key of any
// length and content is fine; backends may store only its hash.
type AttemptStore interface {
	// BeginAttempt reserves an attempt under key, or refuses it while the
	// key is locked or has no attempts left (Max failures and reservations
	// within the window), with how long until one may be allowed.
	BeginAttempt(ctx context.Context, key string, now time.Time, lim AttemptLimit) (ok bool, retryAfter time.Duration, err error)
	// EndAttempt settles one reservation of key with outcome o. Without a
	// reservation (it expired) a failure still counts.
	EndAttempt(ctx context.Context, key string, now time.Time, lim AttemptLimit, o AttemptOutcome) error
}

// SessionStore keeps browser login sessions.
type SessionStore interface {
	SaveSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, hash []byte) (*Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
}

// ConsentStore keeps remembered consents per (user, client).
type ConsentStore interface {
	PutConsent(ctx context.Context, c *Consent) error
	GetConsent(ctx context.Context, user, clientID string) (*Consent, error)
	DeleteConsent(ctx context.Context, user, clientID string) error
	// ListConsents returns every remembered consent, sorted by user, then
	// client (for backups).
	ListConsents(ctx context.Context) ([]*Consent, error)
}

// KeyStore keeps server secrets that must survive restarts (the key OAuth 1
// secrets are sealed with, JWT signing keys).
type KeyStore interface {
	// LoadOrCreateKey returns the value stored under name, or stores and
	// returns generate()'s value if there is none, atomically.
	LoadOrCreateKey(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
	// ListKeys returns every stored key with its value, sorted by name
	// (for backups). There is deliberately no way to replace a key: a
	// restore creates missing keys through LoadOrCreateKey, so it never
	// overwrites a key a running node already uses.
	ListKeys(ctx context.Context) ([]*Key, error)
}

// Key is a server secret as the KeyStore keeps it: the raw bytes under a
// name (the server key that seals OAuth 1 secrets, JWT signing keys).
type Key struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// ChangeCounter lets a cache in front of the store tell whether its copy of
// a token or client is still current, whichever path changed the item (an
// engine, the admin API, a direct store call), without each such path
// having to tell each cache.
//
// The number returned for a key must change whenever the item stored under
// that key may have changed: for a token, saved again over a stored one
// (SaveToken, SaveTokens, a successor of RotateRefresh), updated, revoked,
// rotated (the old refresh token), consumed, or deleted by RevokeFamily,
// RevokeUser or RevokeClient; for a client, updated or deleted. It must
// change only once the change is visible to reads (a reader that sees the
// new number reads the new state), a change that failed counts (it may
// have landed partly), and it must never come back to a number it had
// before a change (counters that only grow do that).
//
// So a reader that reads the counter BEFORE it reads the store, and later
// sees the same number, knows its copy is current. The converse is not
// promised: a number may change although its item did not (a counter
// shared by many keys, a stripe by hash), which costs a cache a re-read,
// never a wrong answer. Creating an item need not change anything: no
// cache holds what was never stored. Only changes made through this Store
// value are counted.
type ChangeCounter interface {
	// TokenVersion is the counter of the token stored under hash.
	TokenVersion(hash []byte) uint64
	// ClientVersion is the counter of the client id.
	ClientVersion(id string) uint64
}

// Store is everything the engine needs; store/badger implements it all.
type Store interface {
	ClientStore
	UserStore
	CodeStore
	TokenStore
	NonceStore
	SessionStore
	ConsentStore
	KeyStore
	AttemptStore
	DeviceStore
	ChangeCounter
	Close() error
}
