package registry

import "fmt"

// Kind classifies a refusal, so the admin API can pick a status and the
// CLI a message without parsing text.
type Kind uint8

// Kinds of refusal.
const (
	// Invalid: the request is malformed or breaks a rule (400).
	Invalid Kind = iota + 1
	// NotFound: no such client or user (404).
	NotFound
	// Conflict: the name is taken, or it belongs to the config (409).
	Conflict
)

// Error is a refusal of a registry operation; anything else a Manager
// returns is a storage failure.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &Error{Invalid, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &Error{NotFound, fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &Error{Conflict, fmt.Sprintf(format, args...)}
}
