package caddyoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

// addDumpCommands adds `caddy oauth export` and `caddy oauth import`.
func addDumpCommands(cmd *cobra.Command) {
	export := &cobra.Command{
		Use:   "export [--tokens] [-o <file>] [--offline]",
		Short: "Writes a dump of a server's storage: keys, clients, users, consents (and live tokens)",
		Long: `Writes a dump of the server's storage (JSON lines, format version 1): the
server key and JWT signing keys, the stored clients and users, the
remembered consents, and with --tokens the live tokens, so that users stay
signed in after a move. Static clients and users come from the config and
are not in it. Records are written as the storage holds them (hashes and
sealed secrets), so the dump is as secret as the storage: with -o it is
created readable by its owner only (0600).

Through the admin API of a running Caddy (the default); offline with
--storage <dir> (a Badger directory no Caddy is using), or with --offline
and --config, on the storage the config gives the server (Badger or Redis).`,
		Args: cobra.NoArgs,
		RunE: runDump(cmdExport),
	}
	f := export.Flags()
	f.Bool("tokens", false, "Also write the live tokens (access, refresh, OAuth 1)")
	f.StringP("output", "o", "", "Write the dump to this file, created 0600 (default: standard output)")
	f.Bool("offline", false, "Open the storage the --config gives the server, without a running Caddy")

	imp := &cobra.Command{
		Use:   "import [--replace] [--offline] <file|->",
		Short: "Reads a dump (from 'caddy oauth export') into a server's storage",
		Long: `Reads a dump written by 'caddy oauth export' ("-": standard input) into the
server's storage, record by record. A record already stored as in the dump
is left alone, so importing a dump twice is harmless; one stored with other
content is refused unless --replace is given. Keys are never replaced: a
server key or signing key that exists with another value is refused, since
what was sealed or signed with it would break. So import before the target
server first starts (offline), or give every node the same server_key.

Sealed OAuth 1 secrets open only with the server key they were sealed
with: the one in the dump if the server kept its key in the storage,
otherwise the config's server_key, which the target must use too.

Prints what was created, replaced and left unchanged, and each refused
line with its number; fails if any line was refused.

Through the admin API of a running Caddy (the default); offline with
--storage <dir> (a Badger directory no Caddy is using; created if needed),
or with --offline and --config, on the storage the config gives the
server (Badger or Redis).`,
		Args: cobra.ExactArgs(1),
		RunE: runDump(cmdImport),
	}
	f = imp.Flags()
	f.Bool("replace", false, "Overwrite stored clients, users, consents and tokens that differ from the dump (never keys)")
	f.Bool("offline", false, "Open the storage the --config gives the server, without a running Caddy")

	cmd.AddCommand(export, imp)
}

// dumpBackend exports and imports, through the admin API or on a store.
type dumpBackend interface {
	exportDump(ctx context.Context, w io.Writer, tokens bool) (dump.Counts, error)
	importDump(ctx context.Context, r io.Reader, replace bool) (*dump.Summary, error)
}

// runDump is runWith for the dump commands: it opens the backend the
// flags select and logs a failure through Caddy's logger.
func runDump(run func(cmd *cobra.Command, args []string, b dumpBackend) error) func(*cobra.Command, []string) error {
	return runOn(openDumpBackend, run)
}

// openDumpBackend picks the Badger directory of --storage, the storage
// the config names with --offline, or else the admin API.
func openDumpBackend(cmd *cobra.Command) (dumpBackend, func() error, error) {
	fl := cmd.Flags()
	server, _ := fl.GetString("server")
	address, _ := fl.GetString("address")
	configFile, _ := fl.GetString("config")
	adapter, _ := fl.GetString("adapter")
	dir, _ := fl.GetString("storage")
	offline, _ := fl.GetBool("offline")
	creating := cmd.Name() == "import"
	stderr := cmd.ErrOrStderr()
	switch {
	case server == "":
		return nil, nil, errors.New("--server must not be empty")
	case (dir != "" || offline) && address != "":
		return nil, nil, errors.New("--storage and --offline work without the admin API: do not combine them with --address")
	case dir != "" && offline:
		return nil, nil, errors.New("give --storage <dir> or --offline with --config, not both")
	case dir != "":
		st, err := openBadgerDir(dir, creating, stderr)
		if err != nil {
			return nil, nil, err
		}
		return storeDump{st, server}, st.Close, nil
	case offline:
		if configFile == "" {
			return nil, nil, errors.New("--offline opens the storage the config gives the server: give --config too (or --storage <dir> for a Badger directory)")
		}
		cfg, err := serverConfigFromFile(configFile, adapter, server)
		if err != nil {
			return nil, nil, err
		}
		if d, ok := configuredBadgerDir(cfg, server); ok {
			st, err := openBadgerDir(d, creating, stderr)
			if err != nil {
				return nil, nil, err
			}
			return storeDump{st, server}, st.Close, nil
		}
		st, release, err := openConfiguredStorage(cfg, server)
		if err != nil {
			return nil, nil, err
		}
		return storeDump{st, server}, release, nil
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, configFile, adapter)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't determine admin API address: %v", err)
	}
	return &adminClient{addr: addr, server: server}, func() error { return nil }, nil
}

// openBadgerDir opens a Badger directory no Caddy is using; with create,
// a missing one is made (an import into a new storage).
func openBadgerDir(dir string, create bool, stderr io.Writer) (*badger.DB, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("no storage in %s", dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making storage directory: %v", err)
		}
		fmt.Fprintf(stderr, "Created new storage in %s\n", dir)
	}
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	db, err := badger.Open(badger.Options{Dir: dir, Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("opening storage in %s: %w (if Caddy is running with this storage, leave out --storage and --offline to go through its admin API)", dir, err)
	}
	return db, nil
}

// openConfiguredStorage provisions the server's storage module (Redis, or
// a third-party backend) outside a running Caddy and opens its store.
func openConfiguredStorage(cfg *ServerConfig, server string) (store.Store, func() error, error) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	s, err := cfg.loadStorage(ctx)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	st, release, err := s.OpenStore(server)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return st, func() error {
		defer cancel()
		return release()
	}, nil
}

// storeDump exports and imports on a store opened by the command.
type storeDump struct {
	st     store.Store
	server string
}

func (s storeDump) exportDump(ctx context.Context, w io.Writer, tokens bool) (dump.Counts, error) {
	return dump.Export(ctx, s.st, w, dump.ExportOptions{Server: s.server, Tokens: tokens})
}

func (s storeDump) importDump(ctx context.Context, r io.Reader, replace bool) (*dump.Summary, error) {
	return dump.Import(ctx, s.st, r, dump.ImportOptions{Replace: replace})
}

// exportDump streams the admin API's dump to w and reads it as it passes,
// so that a dump cut short (the server failed midway, the connection
// dropped) is an error, not a file that looks whole.
func (c *adminClient) exportDump(_ context.Context, w io.Writer, tokens bool) (dump.Counts, error) {
	var n dump.Counts
	uri := adminBase + url.PathEscape(c.server) + "/export"
	if tokens {
		uri += "?tokens=true"
	}
	resp, err := caddycmd.AdminAPIRequest(c.addr, http.MethodGet, uri, make(http.Header), nil)
	if err != nil {
		return n, apiMessage(err)
	}
	defer resp.Body.Close()
	rd, err := dump.NewReader(io.TeeReader(resp.Body, w))
	if err != nil {
		return n, fmt.Errorf("the admin API's answer: %w", err)
	}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("the export is incomplete: %w", err)
		}
		switch rec.Type {
		case dump.TypeKey:
			n.Keys++
		case dump.TypeClient:
			n.Clients++
		case dump.TypeUser:
			n.Users++
		case dump.TypeConsent:
			n.Consents++
		case dump.TypeToken:
			n.Tokens++
		}
	}
}

// importDump posts the dump to the admin API and decodes its summary.
func (c *adminClient) importDump(_ context.Context, r io.Reader, replace bool) (*dump.Summary, error) {
	uri := adminBase + url.PathEscape(c.server) + "/import"
	if replace {
		uri += "?replace=true"
	}
	resp, err := caddycmd.AdminAPIRequest(c.addr, http.MethodPost, uri, http.Header{"Content-Type": {ndjson}}, r)
	if err != nil {
		return nil, apiMessage(err)
	}
	defer resp.Body.Close()
	sum := new(dump.Summary)
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(sum); err != nil {
		return nil, fmt.Errorf("decoding the admin API's answer: %v", err)
	}
	if sum.Failed > 0 {
		return sum, fmt.Errorf("%w: %d refused", dump.ErrIncomplete, sum.Failed)
	}
	return sum, nil
}

func cmdExport(cmd *cobra.Command, _ []string, b dumpBackend) error {
	fl := cmd.Flags()
	tokens, _ := fl.GetBool("tokens")
	output, _ := fl.GetString("output")
	stderr := cmd.ErrOrStderr()
	if output == "" || output == "-" {
		n, err := b.exportDump(cmd.Context(), cmd.OutOrStdout(), tokens)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Exported %s.\n", describe(n))
		return nil
	}
	// A temporary file (0600, as os.CreateTemp makes it) in the target's
	// directory, renamed when complete: a failed export leaves no file
	// that looks like a dump, and the dump is never readable by others.
	tmp, err := os.CreateTemp(filepath.Dir(output), ".caddy-oauth-export-*")
	if err != nil {
		return fmt.Errorf("creating the dump file: %v", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	n, err := b.exportDump(cmd.Context(), tmp, tokens)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("writing %s: %v", output, err)
	}
	fmt.Fprintf(stderr, "Exported %s to %s. It holds the server's keys and secrets as stored: keep it as safe as the storage.\n", describe(n), output)
	return nil
}

func cmdImport(cmd *cobra.Command, args []string, b dumpBackend) error {
	replace, _ := cmd.Flags().GetBool("replace")
	var in io.Reader = cmd.InOrStdin()
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	sum, err := b.importDump(cmd.Context(), in, replace)
	if sum != nil {
		out := cmd.OutOrStdout()
		from := "Imported the dump"
		if sum.Server != "" {
			from += " of server " + sum.Server
		}
		fmt.Fprintf(out, "%s (taken %s):\n", from, sum.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
		fmt.Fprintf(out, "  created:   %s\n", describe(sum.Created))
		fmt.Fprintf(out, "  replaced:  %s\n", describe(sum.Replaced))
		fmt.Fprintf(out, "  unchanged: %s\n", describe(sum.Unchanged))
		if sum.ExpiredTokens > 0 {
			fmt.Fprintf(out, "  skipped:   %s expired since the export\n", tokens(sum.ExpiredTokens))
		}
		stderr := cmd.ErrOrStderr()
		for _, e := range sum.Errors {
			fmt.Fprintf(stderr, "refused: %s\n", e)
		}
		if more := sum.Failed - len(sum.Errors); more > 0 {
			fmt.Fprintf(stderr, "refused: %d more lines\n", more)
		}
	}
	if errors.Is(err, dump.ErrIncomplete) {
		return fmt.Errorf("%d lines of the dump were not imported (listed above); the rest was", sum.Failed)
	}
	return err
}

// describe says how many records of each type.
func describe(n dump.Counts) string {
	parts := make([]string, 0, 5)
	for _, p := range []struct {
		n          int
		one, other string
	}{
		{n.Keys, "key", "keys"}, {n.Clients, "client", "clients"}, {n.Users, "user", "users"},
		{n.Consents, "consent", "consents"}, {n.Tokens, "token", "tokens"},
	} {
		w := p.other
		if p.n == 1 {
			w = p.one
		}
		parts = append(parts, fmt.Sprintf("%d %s", p.n, w))
	}
	return strings.Join(parts, ", ")
}

// Interface guards
var (
	_ dumpBackend = storeDump{}
	_ dumpBackend = (*adminClient)(nil)
)
