package jwt

import "errors"

// ErrInvalidToken is wrapped by every error Verify returns for a token that
// must be refused (malformed, wrong type or algorithm, unknown key, bad
// signature, expired, wrong issuer or audience): the caller answers it with
// RFC 6750 §3.1 invalid_token. Other errors (the key store failing) are
// server errors.
var ErrInvalidToken = errors.New("invalid token")

// tokenError is a refusal reason. Its text only uses the characters
// RFC 6749 §5.2 allows in error_description, so it can be shown as is.
type tokenError string

func (e tokenError) Error() string { return string(e) }

// Is makes every refusal match ErrInvalidToken.
func (e tokenError) Is(target error) bool { return target == ErrInvalidToken }

// ErrExpired is the refusal of a token whose exp has passed (RFC 7519
// §4.1.4); errors.Is(ErrExpired, ErrInvalidToken) holds.
var ErrExpired error = tokenError("token expired")

// Refusal reasons Verify returns; each matches ErrInvalidToken.
var (
	errMalformed   = tokenError("malformed token")
	errType        = tokenError("token type is not at+jwt")
	errAlgorithm   = tokenError("unexpected signing algorithm")
	errCritical    = tokenError("unsupported critical header")
	errUnknownKey  = tokenError("unknown signing key")
	errSignature   = tokenError("invalid signature")
	errNotYetValid = tokenError("token not yet valid")
	errIssuer      = tokenError("wrong issuer")
	errAudience    = tokenError("wrong audience")
	errClaims      = tokenError("missing required claim")
)
