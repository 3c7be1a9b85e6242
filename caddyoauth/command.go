package caddyoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "oauth",
		Usage: "client|user|token|export|import ... [--server <name>] [--address <admin> | --storage <dir>] ...",
		Short: "Manages OAuth clients, users and tokens of the oauth app, and backs up its storage",
		Long: `
Registers OAuth clients, manages resource owners (users) and revokes tokens
of an authorization server of the oauth app.

  caddy oauth client add --name <name> [--id <client_id>] [--scope <s>]...
        [--grant <g>]... [--redirect-uri <uri>]... [--callback-uri <uri>]...
        [--post-logout-redirect-uri <uri>]... [--public] [--trusted] [--introspect] [--id-token-alg <alg>] [--json]
  caddy oauth client list [--json]
  caddy oauth client remove <client_id>
  caddy oauth user add <name> [--password <password>]
  caddy oauth user list [--json]
  caddy oauth user passwd <name> [--password <password>]
  caddy oauth user remove <name>
  caddy oauth token revoke --user <name> | --client <client_id>
  caddy oauth export [--tokens] [-o <file>] [--offline]
  caddy oauth import [--replace] [--offline] <file|->

'client add' prints the new client_id and client_secret; the secret is shown
this once and only its hash (and, for OAuth 1 signatures, an encrypted copy)
is kept. --json prints the admin API's JSON instead. Removing a client or a
user revokes their tokens first.

Without --password, 'user add' and 'user passwd' read the password from
standard input (one line), or prompt for it twice without echo when run on a
terminal; prefer that to --password, which leaves the password in the shell
history and the process list.

'export' and 'import' back up a server's storage and restore it, also
into another backend (Badger to Redis): see 'caddy oauth export --help'.

--server picks the server of the oauth app (default "default").

There are two ways to reach the server's data:

1. Through the admin API of a running Caddy (the default), like 'caddy
   reload': the request goes to the admin endpoint given by --address, or
   found in the config given by --config (and --adapter), or else to
   ` + caddy.DefaultAdminListen + `. The same operations are HTTP routes
   under /oauth/<server>/ on the admin endpoint (clients, users, revoke).
   Changes take effect at once, revocations included.

2. Offline, on the storage directory itself, with --storage <dir>: before
   Caddy first starts, or while it is stopped. The directory is the
   server's 'storage badger <dir>' (default: <Caddy data directory>/oauth/
   <server>; 'caddy environ' shows the data directory). Caddy holds a lock
   on it while running, so this fails if Caddy uses it: talk to the admin
   API then. Give --config (and --adapter) as well so that the config's
   server_key, scopes, grants and static clients and users are honored;
   without it, clients' OAuth 1 secrets are sealed with the key kept in
   the storage (what the server uses unless its config sets server_key),
   and only generic checks apply to scopes and grants.
`,
		CobraFunc: buildOAuthCommand,
	})
}

// buildOAuthCommand adds the subcommands and flags of `caddy oauth` to cmd.
func buildOAuthCommand(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("server", DefaultServerName, "Name of the server in the oauth app")
	pf.String("address", "", "Address of the administration API listener (if --config is not used)")
	pf.StringP("config", "c", "", "Configuration file (to find the admin address, or with --storage the server's settings)")
	pf.StringP("adapter", "a", "", "Name of config adapter to apply (if --config is used)")
	pf.String("storage", "", "Work offline on this storage directory instead of through the admin API (Caddy must not be using it)")

	client := &cobra.Command{Use: "client", Short: "Registers, lists and removes OAuth clients"}
	clientAdd := &cobra.Command{
		Use:   "add --name <name> [--id <client_id>] [--scope <scope>]... [--grant <grant>]... [--redirect-uri <uri>]... [--callback-uri <uri>]... [--post-logout-redirect-uri <uri>]... [--public] [--trusted] [--introspect] [--id-token-alg <alg>] [--json]",
		Short: "Registers a client and prints its client_id and client_secret",
		Args:  cobra.NoArgs,
		RunE:  runWith(cmdClientAdd),
	}
	f := clientAdd.Flags()
	f.String("name", "", "Name shown to users on the consent page (required)")
	f.String("id", "", "The client_id (default: generated)")
	f.StringArray("scope", nil, "A scope the client may ask for (repeatable; default: all of the server's)")
	f.StringArray("grant", nil, "An OAuth 2 grant type the client may use (repeatable; default: all the server enables)")
	f.StringArray("redirect-uri", nil, "An OAuth 2 redirect URI, matched exactly (repeatable)")
	f.StringArray("callback-uri", nil, "An OAuth 1 callback URI, matched exactly (repeatable)")
	f.StringArray("post-logout-redirect-uri", nil, "An OpenID Connect post_logout_redirect_uri, matched exactly (repeatable)")
	f.Bool("public", false, "A public client (native or browser app): no secret, PKCE required")
	f.Bool("trusted", false, "A first-party client: no consent page")
	f.Bool("introspect", false, "May introspect any token (a resource server or gateway)")
	f.String("id-token-alg", "", "The JWS alg of its OpenID Connect ID tokens: RS256 (default) or the server's jwt_algorithm")
	f.Bool("json", false, "Print the admin API's JSON")
	clientList := &cobra.Command{
		Use:   "list [--json]",
		Short: "Lists the clients, static and registered",
		Args:  cobra.NoArgs,
		RunE:  runWith(cmdClientList),
	}
	clientList.Flags().Bool("json", false, "Print the admin API's JSON")
	clientRemove := &cobra.Command{
		Use:   "remove <client_id>",
		Short: "Revokes a client's tokens and removes it",
		Args:  cobra.ExactArgs(1),
		RunE:  runWith(cmdClientRemove),
	}
	clientSecret := &cobra.Command{
		Use:   "secret <client_id> [--revoke] [--json]",
		Short: "Replaces a stored client's secret and prints the new one",
		Long: "Replaces a stored client's secret and prints the new one. The old secret stops working at once, " +
			"for OAuth 2 client authentication and OAuth 1 signatures; tokens already issued stay valid " +
			"unless --revoke is given (do that when the old secret leaked).",
		Args: cobra.ExactArgs(1),
		RunE: runWith(cmdClientSecret),
	}
	clientSecret.Flags().Bool("revoke", false, "Also revoke every token issued to the client")
	clientSecret.Flags().Bool("json", false, "Print the admin API's JSON")
	client.AddCommand(clientAdd, clientList, clientRemove, clientSecret)

	user := &cobra.Command{Use: "user", Short: "Adds, lists and removes users and sets their passwords and claims"}
	userAdd := &cobra.Command{
		Use:   "add <name> [--password <password>]",
		Short: "Adds a user (password read from stdin or prompted for if not given)",
		Args:  cobra.ExactArgs(1),
		RunE:  runWith(cmdUserAdd),
	}
	userAdd.Flags().String("password", "", "The password (default: read from stdin or prompted for)")
	addClaimFlags(userAdd)
	userSet := &cobra.Command{
		Use:   "set <name> [--name <name>] [--email <address>] [--email-verified] [--claims <json>] ...",
		Short: "Changes a stored user's OpenID Connect claims",
		Long: "Changes a stored user's OpenID Connect standard claims: only those given change; an empty " +
			"value (--name \"\", --email-verified=false) removes one. --claims takes a JSON merge patch " +
			"(RFC 7396) of the claims object, applied before the other flags.",
		Args: cobra.ExactArgs(1),
		RunE: runWith(cmdUserSet),
	}
	addClaimFlags(userSet)
	userSet.Flags().Bool("json", false, "Print the admin API's JSON")
	userShow := &cobra.Command{
		Use:   "show <name> [--json]",
		Short: "Shows a user's subject and claims",
		Args:  cobra.ExactArgs(1),
		RunE:  runWith(cmdUserShow),
	}
	userShow.Flags().Bool("json", false, "Print the admin API's JSON")
	userList := &cobra.Command{
		Use:   "list [--json]",
		Short: "Lists the users, static and stored",
		Args:  cobra.NoArgs,
		RunE:  runWith(cmdUserList),
	}
	userList.Flags().Bool("json", false, "Print the admin API's JSON")
	userPasswd := &cobra.Command{
		Use:   "passwd <name> [--password <password>]",
		Short: "Sets a user's password (read from stdin or prompted for if not given)",
		Args:  cobra.ExactArgs(1),
		RunE:  runWith(cmdUserPasswd),
	}
	userPasswd.Flags().String("password", "", "The new password (default: read from stdin or prompted for)")
	userRemove := &cobra.Command{
		Use:   "remove <name>",
		Short: "Revokes a user's tokens and removes the user",
		Args:  cobra.ExactArgs(1),
		RunE:  runWith(cmdUserRemove),
	}
	user.AddCommand(userAdd, userList, userShow, userSet, userPasswd, userRemove)

	token := &cobra.Command{Use: "token", Short: "Revokes tokens"}
	tokenRevoke := &cobra.Command{
		Use:   "revoke --user <name> | --client <client_id>",
		Short: "Revokes every token of a user or of a client",
		Args:  cobra.NoArgs,
		RunE:  runWith(cmdTokenRevoke),
	}
	tokenRevoke.Flags().String("user", "", "Revoke the tokens of this user")
	tokenRevoke.Flags().String("client", "", "Revoke the tokens issued to this client")
	token.AddCommand(tokenRevoke)

	cmd.AddCommand(client, user, token)
	addDumpCommands(cmd)
}

// manageBackend is what the commands need, done either through the admin
// API of a running Caddy (adminClient) or offline on the storage (a
// registry.Manager).
type manageBackend interface {
	CreateClient(ctx context.Context, md registry.ClientMetadata) (*registry.ClientView, error)
	ListClients(ctx context.Context) ([]registry.ClientView, error)
	DeleteClient(ctx context.Context, id string) (*registry.RevokeResult, error)
	RotateSecret(ctx context.Context, id string) (*registry.ClientView, error)
	CreateUser(ctx context.Context, username, password string, claims store.Claims) (*registry.UserView, error)
	ListUsers(ctx context.Context) ([]registry.UserView, error)
	GetUser(ctx context.Context, name string) (*registry.UserView, error)
	PatchClaims(ctx context.Context, name string, patch json.RawMessage) (*registry.UserView, error)
	SetPassword(ctx context.Context, name, password string) error
	DeleteUser(ctx context.Context, name string) (*registry.RevokeResult, error)
	Revoke(ctx context.Context, user, clientID string) (*registry.RevokeResult, error)
}

// runWith runs a command against the backend the flags select and closes
// it afterwards. As caddycmd.WrapCommandFuncForCobra does, errors go
// through Caddy's logger instead of cobra's plain "Error:" line.
func runWith(run func(cmd *cobra.Command, args []string, b manageBackend) error) func(*cobra.Command, []string) error {
	return runOn(openBackend, run)
}

// runOn is runWith for a backend opened by open: the management commands'
// and the dump commands' (command_dump.go).
func runOn[B any](open func(*cobra.Command) (B, func() error, error), run func(cmd *cobra.Command, args []string, b B) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := func() error {
			b, closeBackend, err := open(cmd)
			if err != nil {
				return err
			}
			err = run(cmd, args, b)
			if cerr := closeBackend(); cerr != nil && err == nil {
				err = cerr
			}
			return err
		}()
		if err != nil {
			caddy.Log().Error(err.Error())
			cmd.SilenceErrors = true
		}
		return err
	}
}

// openBackend picks the admin API or, with --storage, the storage itself.
func openBackend(cmd *cobra.Command) (manageBackend, func() error, error) {
	fl := cmd.Flags()
	server, _ := fl.GetString("server")
	address, _ := fl.GetString("address")
	configFile, _ := fl.GetString("config")
	adapter, _ := fl.GetString("adapter")
	dir, _ := fl.GetString("storage")
	if server == "" {
		return nil, nil, errors.New("--server must not be empty")
	}
	if dir != "" {
		if address != "" {
			return nil, nil, errors.New("--storage works offline, without the admin API: do not combine it with --address")
		}
		return openOffline(cmd.Context(), cmd.ErrOrStderr(), dir, server, configFile, adapter)
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, configFile, adapter)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't determine admin API address: %v", err)
	}
	return &adminClient{addr: addr, server: server}, func() error { return nil }, nil
}

// openOffline opens the storage directory for a server that is not
// running. With a config file, the server's settings come from it.
func openOffline(ctx context.Context, stderr io.Writer, dir, server, configFile, adapter string) (manageBackend, func() error, error) {
	cfg := &ServerConfig{Grants: knownGrants} // unknown server: any grant it might enable
	if configFile != "" {
		c, err := serverConfigFromFile(configFile, adapter, server)
		if err != nil {
			return nil, nil, err
		}
		cfg = c
		if want, ok := configuredBadgerDir(cfg, server); !ok {
			fmt.Fprintf(stderr, "Note: %s keeps server %q in a storage other than Badger; leave out --storage to go through the admin API of a running node\n", configFile, server)
		} else if abs, err := caddy.FastAbs(dir); err == nil && filepath.Clean(abs) != want {
			fmt.Fprintf(stderr, "Note: %s keeps server %q in %s, not in %s\n", configFile, server, want, dir)
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("making storage directory: %v", err)
		}
		fmt.Fprintf(stderr, "Created new storage in %s\n", dir)
	}
	// Badger's own chatter is of no use to a one-shot command.
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	db, err := badger.Open(badger.Options{Dir: dir, Logger: quiet})
	if err != nil {
		return nil, nil, fmt.Errorf("opening storage in %s: %w (if Caddy is running with this storage, leave out --storage to go through its admin API)", dir, err)
	}
	// The server key is found exactly as the server finds it (config, or
	// the KeyStore entry it uses), so the running server can open what is
	// sealed here.
	if ctx == nil {
		ctx = context.Background()
	}
	key, err := (&Server{cfg: cfg, store: db}).serverKey(ctx)
	if err == nil {
		var sealer *provider.Sealer
		if sealer, err = provider.NewSealer(key); err == nil {
			return newManager(db, sealer, db, nil, cfg, nil), db.Close, nil
		}
	}
	_ = db.Close()
	return nil, nil, fmt.Errorf("server key: %v", err)
}

// configuredBadgerDir is the Badger directory cfg names for server, read
// from the config as written (nothing is provisioned); false if the server
// uses another storage.
func configuredBadgerDir(cfg *ServerConfig, server string) (string, bool) {
	b := &BadgerStorage{Dir: cfg.StorageDir}
	if len(cfg.StorageRaw) > 0 {
		var m struct {
			Module string `json:"module"`
		}
		if json.Unmarshal(cfg.StorageRaw, &m) != nil || m.Module != "badger" || json.Unmarshal(cfg.StorageRaw, b) != nil {
			return "", false
		}
	}
	dir, err := b.dir(server)
	return dir, err == nil
}

// serverConfigFromFile loads and adapts a config file and returns the
// named server of its oauth app.
func serverConfigFromFile(configFile, adapter, server string) (*ServerConfig, error) {
	raw, _, _, err := caddycmd.LoadConfig(configFile, adapter)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Apps struct {
			OAuth *App `json:"oauth"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decoding the config: %v", err)
	}
	if cfg.Apps.OAuth == nil || cfg.Apps.OAuth.Servers[server] == nil {
		return nil, fmt.Errorf("%s configures no oauth server %q", configFile, server)
	}
	return cfg.Apps.OAuth.Servers[server], nil
}

func cmdClientAdd(cmd *cobra.Command, _ []string, b manageBackend) error {
	fl := cmd.Flags()
	var req registry.ClientMetadata
	req.Name, _ = fl.GetString("name")
	req.ClientID, _ = fl.GetString("id")
	req.Scopes, _ = fl.GetStringArray("scope")
	req.Grants, _ = fl.GetStringArray("grant")
	req.RedirectURIs, _ = fl.GetStringArray("redirect-uri")
	req.CallbackURIs, _ = fl.GetStringArray("callback-uri")
	req.PostLogoutRedirectURIs, _ = fl.GetStringArray("post-logout-redirect-uri")
	req.Public, _ = fl.GetBool("public")
	req.Trusted, _ = fl.GetBool("trusted")
	req.Introspect, _ = fl.GetBool("introspect")
	req.IDTokenSignedResponseAlg, _ = fl.GetString("id-token-alg")
	asJSON, _ := fl.GetBool("json")
	if req.Name == "" {
		return errors.New("--name is required: it is shown to users on the consent page")
	}
	c, err := b.CreateClient(cmd.Context(), req)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		return printJSON(out, c)
	}
	fmt.Fprintf(out, "client_id:     %s\n", c.ClientID)
	if c.ClientSecret != "" {
		fmt.Fprintf(out, "client_secret: %s\n", c.ClientSecret)
		fmt.Fprintln(cmd.ErrOrStderr(), "The client secret is shown only this once: store it now.")
	}
	return nil
}

func cmdClientList(cmd *cobra.Command, _ []string, b manageBackend) error {
	list, err := b.ListClients(cmd.Context())
	if err != nil {
		return err
	}
	return printList(cmd, list, "CLIENT_ID\tNAME\tKIND\tSCOPES\tGRANTS\tSOURCE", func(c registry.ClientView) []string {
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		if c.Trusted {
			kind += ",trusted"
		}
		if c.Introspect {
			kind += ",introspect"
		}
		return []string{c.ClientID, orDash(c.Name), kind, orDash(strings.Join(c.Scopes, " ")), orDash(strings.Join(c.Grants, " ")), source(c.Static)}
	})
}

func cmdClientRemove(cmd *cobra.Command, args []string, b manageBackend) error {
	res, err := b.DeleteClient(cmd.Context(), args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Removed client %s (%s revoked)\n", args[0], tokens(res.Revoked))
	return nil
}

func cmdClientSecret(cmd *cobra.Command, args []string, b manageBackend) error {
	c, err := b.RotateSecret(cmd.Context(), args[0])
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	out := cmd.OutOrStdout()
	if revoke, _ := fl.GetBool("revoke"); revoke {
		res, err := b.Revoke(cmd.Context(), "", args[0])
		if err != nil {
			// The new secret is in force: print it before failing.
			fmt.Fprintf(out, "client_secret: %s\n", c.ClientSecret)
			return fmt.Errorf("the secret was replaced, but revoking the tokens failed: %v", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Revoked %s of client %s.\n", tokens(res.Revoked), args[0])
	}
	if asJSON, _ := fl.GetBool("json"); asJSON {
		return printJSON(out, c)
	}
	fmt.Fprintf(out, "client_id:     %s\n", c.ClientID)
	fmt.Fprintf(out, "client_secret: %s\n", c.ClientSecret)
	fmt.Fprintln(cmd.ErrOrStderr(), "The client secret is shown only this once: store it now. The old one no longer works.")
	return nil
}

func cmdUserAdd(cmd *cobra.Command, args []string, b manageBackend) error {
	patch, err := claimsPatchOf(cmd)
	if err != nil {
		return err
	}
	var claims store.Claims
	if patch != nil {
		if err := registry.MergeClaims(&claims, patch); err != nil {
			return err
		}
	}
	password, err := readPassword(cmd)
	if err != nil {
		return err
	}
	if _, err := b.CreateUser(cmd.Context(), args[0], password, claims); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Added user %s\n", args[0])
	return nil
}

func cmdUserList(cmd *cobra.Command, _ []string, b manageBackend) error {
	list, err := b.ListUsers(cmd.Context())
	if err != nil {
		return err
	}
	return printList(cmd, list, "USERNAME\tSOURCE\tCREATED", func(u registry.UserView) []string {
		created := "-"
		if u.CreatedAt != nil {
			created = u.CreatedAt.Format("2006-01-02 15:04:05Z07:00")
		}
		return []string{u.Username, source(u.Static), created}
	})
}

// printList prints list as the admin API's JSON with --json, else as
// aligned columns under header, one row per item.
func printList[T any](cmd *cobra.Command, list []T, header string, row func(T) []string) error {
	out := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return printJSON(out, list)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, item := range list {
		fmt.Fprintln(tw, strings.Join(row(item), "\t"))
	}
	return tw.Flush()
}

func source(static bool) string {
	if static {
		return "config"
	}
	return "stored"
}

func cmdUserPasswd(cmd *cobra.Command, args []string, b manageBackend) error {
	password, err := readPassword(cmd)
	if err != nil {
		return err
	}
	if err := b.SetPassword(cmd.Context(), args[0], password); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Changed the password of user %s\n", args[0])
	return nil
}

func cmdUserRemove(cmd *cobra.Command, args []string, b manageBackend) error {
	res, err := b.DeleteUser(cmd.Context(), args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Removed user %s (%s revoked)\n", args[0], tokens(res.Revoked))
	return nil
}

func cmdTokenRevoke(cmd *cobra.Command, _ []string, b manageBackend) error {
	user, _ := cmd.Flags().GetString("user")
	client, _ := cmd.Flags().GetString("client")
	if (user == "") == (client == "") {
		return errors.New("give exactly one of --user or --client")
	}
	res, err := b.Revoke(cmd.Context(), user, client)
	if err != nil {
		return err
	}
	whose := "user " + user
	if client != "" {
		whose = "client " + client
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Revoked %s of %s\n", tokens(res.Revoked), whose)
	return nil
}

func tokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return fmt.Sprintf("%d tokens", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Interface guards
var _ manageBackend = (*registry.Manager)(nil)
