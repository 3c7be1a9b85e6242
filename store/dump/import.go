package dump

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// MaxErrors is how many refused lines a Summary lists (all are counted).
const MaxErrors = 100

// ImportOptions says how Import treats records the store already has.
type ImportOptions struct {
	// Replace overwrites clients, users, consents and tokens that exist
	// with other content. Without it they are refused, line by line.
	// Keys are never replaced (see Import).
	Replace bool
	// Now decides which tokens have expired; nil means time.Now.
	Now func() time.Time
}

// Summary is what Import did.
type Summary struct {
	// The dump's header.
	Server    string    `json:"server,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Records stored anew, stored over different ones (Replace), and
	// already stored exactly so (a dump imported twice changes nothing).
	Created   Counts `json:"created"`
	Replaced  Counts `json:"replaced"`
	Unchanged Counts `json:"unchanged"`
	// Tokens that expired since the export, not imported.
	ExpiredTokens int `json:"expired_tokens"`
	// Lines refused, and the first MaxErrors of them ("line N: why").
	Failed int      `json:"failed"`
	Errors []string `json:"errors,omitempty"`
}

// Import reads a dump from r into st, one record at a time: each line is
// stored whole or refused with its line number, and the rest goes on.
//
// It returns an error wrapping ErrFormat if r is not a dump of a version it
// reads (nothing is imported); one wrapping ErrIncomplete if lines were
// refused (malformed, conflicting, or a truncated dump), with the Summary
// telling which; and the store's error, wrapped with the line number, if
// the store fails (the import stops there; importing the same dump again
// completes it, since records already stored count as unchanged).
//
// A record that exists with the same content is left alone. One that
// exists with other content is replaced with opts.Replace, else refused.
// Keys are create-only, with or without Replace: a key that exists with
// another value is refused, since whatever a node sealed or signed with
// it would break. So two nodes importing into one shared store agree, and
// a dump is best imported before any server has started on the target
// (which would generate a key of its own).
func Import(ctx context.Context, st store.Store, r io.Reader, opts ImportOptions) (*Summary, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	h := rd.Header()
	sum := &Summary{Server: h.Server, CreatedAt: h.CreatedAt}
	refuse := func(err error) {
		sum.Failed++
		if len(sum.Errors) < MaxErrors {
			sum.Errors = append(sum.Errors, err.Error())
		}
	}
	for {
		rec, err := rd.Next()
		var le *LineError
		switch {
		case errors.Is(err, io.EOF):
			if sum.Failed > 0 {
				return sum, fmt.Errorf("%w: %d refused, the first: %s", ErrIncomplete, sum.Failed, sum.Errors[0])
			}
			return sum, nil
		case errors.As(err, &le):
			refuse(err)
			continue
		case err != nil:
			return sum, err
		}
		res, err := put(ctx, st, rec, opts.Replace, now())
		if errors.As(err, &le) {
			refuse(err)
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("line %d: storing the %s: %w", rec.Line, rec.Type, err)
		}
		switch res {
		case created:
			sum.Created.add(rec.Type)
		case replaced:
			sum.Replaced.add(rec.Type)
		case unchanged:
			sum.Unchanged.add(rec.Type)
		case expiredToken:
			sum.ExpiredTokens++
		}
	}
}

type result int

const (
	created result = iota
	replaced
	unchanged
	expiredToken
)

// put stores one record. A refusal is a *LineError; any other error is
// the store's.
func put(ctx context.Context, st store.Store, rec *Record, replace bool, now time.Time) (result, error) {
	conflict := func(what string) error {
		return &LineError{rec.Line, fmt.Errorf("%s: %w; import with replace to overwrite it", what, ErrConflict)}
	}
	switch {
	case rec.Key != nil:
		k := rec.Key
		generated := false
		v, err := st.LoadOrCreateKey(ctx, k.Name, func() ([]byte, error) {
			generated = true
			return bytes.Clone(k.Value), nil
		})
		switch {
		case err != nil:
			return 0, err
		case !bytes.Equal(v, k.Value):
			return 0, &LineError{rec.Line, fmt.Errorf("key %q: %w and is never replaced: a server on the target already uses it; import before any server starts there", k.Name, ErrConflict)}
		case generated:
			return created, nil
		}
		return unchanged, nil

	case rec.Client != nil:
		c := rec.Client
		return upsert(func() error { return st.CreateClient(ctx, c) },
			func() (any, error) { return st.GetClient(ctx, c.ID) }, c,
			replace, func() error { return st.UpdateClient(ctx, c) }, func() error { return conflict(fmt.Sprintf("client %q", c.ID)) })

	case rec.User != nil:
		u := rec.User
		return upsert(func() error { return st.CreateUser(ctx, u) },
			func() (any, error) { return st.GetUser(ctx, u.Username) }, u,
			replace, func() error { return st.UpdateUser(ctx, u) }, func() error { return conflict(fmt.Sprintf("user %q", u.Username)) })

	case rec.Consent != nil:
		c := rec.Consent
		return upsert(func() error {
			return createIfAbsent(func() error { _, err := st.GetConsent(ctx, c.User, c.ClientID); return err }, func() error { return st.PutConsent(ctx, c) })
		},
			func() (any, error) { return st.GetConsent(ctx, c.User, c.ClientID) }, c,
			replace, func() error { return st.PutConsent(ctx, c) },
			func() error { return conflict(fmt.Sprintf("consent of user %q for client %q", c.User, c.ClientID)) })

	case rec.Token != nil:
		t := rec.Token
		if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			return expiredToken, nil
		}
		// The token is named by its kind and client, never its hash.
		what := fmt.Sprintf("token (kind %d) of client %q", t.Kind, t.ClientID)
		return upsert(func() error {
			return createIfAbsent(func() error { _, err := st.GetToken(ctx, t.Hash); return err }, func() error { return st.SaveToken(ctx, t) })
		},
			func() (any, error) { return st.GetToken(ctx, t.Hash) }, t,
			replace, func() error { return st.SaveToken(ctx, t) }, func() error { return conflict(what) })
	}
	return 0, &LineError{rec.Line, errors.New("empty record")}
}

// createIfAbsent is create for stores without a create-only method: get
// first, store if not found. It is not atomic, which is enough for a
// restore: a consent given or a token issued between the two steps is
// unlikely, and the later write wins as it would have anyway.
func createIfAbsent(get, put func() error) error {
	err := get()
	if err == nil {
		return store.ErrExists
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return put()
}

// upsert creates a record; if it exists, compares it with the stored one
// (as JSON, the form both came in) and replaces it or refuses.
func upsert(create func() error, get func() (any, error), want any, replace bool, update, refuse func() error) (result, error) {
	err := create()
	if err == nil {
		return created, nil
	}
	if !errors.Is(err, store.ErrExists) {
		return 0, err
	}
	have, err := get()
	if err != nil {
		return 0, err
	}
	if sameJSON(have, want) {
		return unchanged, nil
	}
	if !replace {
		return 0, refuse()
	}
	if err := update(); err != nil {
		return 0, err
	}
	return replaced, nil
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
