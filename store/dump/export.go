package dump

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// ExportOptions says what Export writes.
type ExportOptions struct {
	// Server names the server in the header.
	Server string
	// Tokens adds the live tokens (access, refresh, OAuth 1), so clients
	// stay signed in after a move. Codes, sessions and nonces are never
	// exported: they live minutes.
	Tokens bool
	// Now is the header's time; nil means time.Now.
	Now func() time.Time
}

// Export writes a dump of st to w and returns what it wrote. The store is
// read type by type, not in one snapshot: for an exact copy, take it while
// nothing writes to the store. If it fails, what was written lacks the end
// line, so it cannot be mistaken for a whole dump.
func Export(ctx context.Context, st store.Store, w io.Writer, opts ExportOptions) (Counts, error) {
	var n Counts
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw) // one object per line, "\n"-terminated
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := enc.Encode(Header{Format: Format, Version: Version, CreatedAt: now().UTC(), Server: opts.Server}); err != nil {
		return n, err
	}
	write := func(typ string, v any) error {
		if err := enc.Encode(line{Type: typ, Record: v}); err != nil {
			return fmt.Errorf("writing a %s: %w", typ, err)
		}
		n.add(typ)
		return nil
	}

	keys, err := st.ListKeys(ctx)
	if err != nil {
		return n, fmt.Errorf("listing keys: %w", err)
	}
	for _, k := range keys {
		if err := write(TypeKey, k); err != nil {
			return n, err
		}
	}
	clients, err := st.ListClients(ctx)
	if err != nil {
		return n, fmt.Errorf("listing clients: %w", err)
	}
	for _, c := range clients {
		if err := write(TypeClient, c); err != nil {
			return n, err
		}
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return n, fmt.Errorf("listing users: %w", err)
	}
	for _, u := range users {
		if err := write(TypeUser, u); err != nil {
			return n, err
		}
	}
	consents, err := st.ListConsents(ctx)
	if err != nil {
		return n, fmt.Errorf("listing consents: %w", err)
	}
	for _, c := range consents {
		if err := write(TypeConsent, c); err != nil {
			return n, err
		}
	}
	if opts.Tokens {
		if err := st.ListTokens(ctx, func(t *store.Token) error { return write(TypeToken, t) }); err != nil {
			return n, fmt.Errorf("listing tokens: %w", err)
		}
	}
	end := n
	if err := enc.Encode(line{Type: TypeEnd, Counts: &end}); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
