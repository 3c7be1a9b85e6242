// Package login is the built-in browser login of the authorization server:
// a login form, a session cookie backed by the store, and a logout form.
// It knows nothing of Caddy; the glue mounts ServeLogin and ServeLogout
// (at /oauth/login and /oauth/logout by default) and, at the authorization
// endpoints, asks User for the signed-in resource owner and calls
// RedirectToLogin when there is none.
//
// # Sessions
//
// A session is a random 256-bit cookie value (provider.NewToken). The store
// keeps only its SHA-256 with the user, a per-session CSRF value for the
// logout form and the expiry (SessionTTL, default 12 hours), so a copy of
// the database signs nobody in. The cookie is HttpOnly, SameSite=Lax,
// Path=/, Secure when the request came over TLS (or always, if forced),
// with Max-Age equal to the session lifetime. Every login issues a new
// value and deletes the session the browser presented before, so a value
// planted in the browser beforehand never becomes a signed-in session
// (session fixation).
//
// # Login CSRF
//
// Before a session exists the login form is protected by a double-submit
// cookie: the login page sets a random pre-login cookie (HttpOnly,
// SameSite=Lax, Secure on TLS, scoped to the login path) and puts an HMAC
// of it (keyed with provider.Pages.Key, with an expiry of FormTTL) in a
// hidden field. A POST whose field does not match its cookie is refused
// with 403 before the password is looked at. The logout form carries the
// session's own CSRF value, compared in constant time.
//
// # After login
//
// The login page takes return_to, the local path to go back to (the
// authorization request that needed a login). Only a path on this server
// is followed: it must start with "/" but not "//" or "/\", contain only
// printable ASCII without a backslash and carry no scheme or host;
// anything else goes to "/", so the login page is never an open
// redirector (RFC 9700 §4.11).
//
// # Brute-force policy
//
// Every login attempt is counted under two keys: the username as typed,
// and the client's IP address (an IPv6 address by its /64 prefix, which a
// single subscriber usually holds whole). After 5 failed attempts for a
// key within 15 minutes, every further attempt for that username, or from
// that address, is refused for 15 minutes with 429 Too Many Requests and a
// Retry-After header, without checking the password: the right password
// is refused too, so a guesser learns nothing while locked out. A
// successful login clears its username's count but not its address's, so
// one known account does not buy a password sprayer fresh guesses.
// Attempts still being checked count as failures in advance, so parallel
// requests cannot get past the limit. The numbers are Config fields
// (MaxFailures, FailureWindow, LockoutDuration). Manager.CheckPassword
// applies the same counters to passwords checked elsewhere (the OAuth 2
// password grant), refusing with provider.ErrTooManyAttempts.
//
// Counters live in the store (Config.Attempts, a store.AttemptStore), one
// atomic step per call and key, so they survive a restart and every server
// sharing the store (several nodes on one Redis) shares them: guesses
// spread over nodes count together. The store bounds them by expiry, not
// by a number of keys. If the store cannot count, the attempt is refused
// (503 on the form, a store error from CheckPassword) without checking
// the password; a reservation a crash left unsettled counts as a failure
// until the window has passed. While a username is locked its real owner
// is locked out as well; that is the price of stopping an online guesser,
// and it ends by itself.
//
// Failed attempts are audited as "login_failed" (with the username, never
// the password), refusals as "login_refused" with a reason, and successful
// sign-ins and sign-outs as "login_succeeded" and "logout".
package login
