package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// ErrUnavailable wraps every error that means Redis could not be reached or
// could not answer (refused or lost connection, timeout, cluster down, a
// server still loading). Callers map it to 503 temporarily_unavailable; it
// is never store.ErrNotFound, so an unreachable Redis can never read as
// "no such token" or let a request through.
// It is store.ErrUnavailable, so callers need not know the backend.
var ErrUnavailable = store.ErrUnavailable

var (
	errNoHash   = errors.New("store/redis: item without hash")
	errNoName   = errors.New("store/redis: item without name")
	errNonceTTL = errors.New("store/redis: nonce ttl must be positive")
)

// unavailableReplies are Redis error replies that mean "try again later",
// not "this request is wrong".
var unavailableReplies = []string{"CLUSTERDOWN", "LOADING", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY", "NOREPLICAS"}

// wrap classifies an error from go-redis: reply errors of the kind above,
// network errors and timeouts become ErrUnavailable; the caller's own
// cancellation stays what it is.
func wrap(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range unavailableReplies {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
		}
		return fmt.Errorf("store/redis: %w", err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, goredis.ErrClosed) ||
		errors.Is(err, goredis.ErrPoolTimeout) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// io.EOF, "connection reset", dial errors and the like: anything that
	// is not an answer from Redis means Redis did not answer.
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func notFound(what string) error { return fmt.Errorf("%w: %s", store.ErrNotFound, what) }

func alreadyExists(what string) error { return fmt.Errorf("%w: %s", store.ErrExists, what) }
