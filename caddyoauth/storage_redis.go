package caddyoauth

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis"
)

func init() {
	caddy.RegisterModule(RedisStorage{})
	// go-redis prints every failed dial to stderr, once a second while
	// Redis is down; the store already reports unavailability as 503s and
	// store_error events, so its own lines go to Caddy's log at debug.
	goredis.SetLogger(redisLog{})
}

// redisLog routes go-redis's internal messages to Caddy's logger.
type redisLog struct{}

// Printf implements go-redis's internal.Logging.
func (redisLog) Printf(_ context.Context, format string, v ...any) {
	if ce := caddy.Log().Named("oauth.storage.redis").Check(zapcore.DebugLevel, "go-redis"); ce != nil {
		ce.Write(zap.String("message", fmt.Sprintf(format, v...)))
	}
}

// RedisStorage keeps a server's state in Redis (or Valkey), so that any
// number of Caddy nodes pointed at the same Redis and key prefix are one
// authorization server. Field names follow Caddy's Redis storage modules.
// Caddy starts while Redis is down: requests then answer 503 until it is
// back, and require_oauth lets nothing through unverified.
type RedisStorage struct {
	// host:port of the server; several addresses are the seed nodes of a
	// Redis Cluster, or with master_name the sentinels. Placeholders such
	// as {env.REDIS_ADDR} are replaced. Default: 127.0.0.1:6379.
	Address []string `json:"address,omitempty"`

	// The name of the Sentinel-managed primary; set it to use Sentinel.
	MasterName string `json:"master_name,omitempty"`

	// Use Redis Cluster with a single address (a cluster's configuration
	// endpoint). Several addresses always mean a cluster.
	Cluster bool `json:"cluster,omitempty"`

	// ACL user name and password (or requirepass). Placeholders such as
	// {env.REDIS_PASSWORD} are replaced when the config loads.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// The database number (standalone and Sentinel only; a cluster has
	// only database 0).
	DB int `json:"db,omitempty"`

	// Starts every key, so that several oauth servers (or other
	// applications) share one Redis without seeing each other's data. It
	// must not contain '{' or '}'. Default: "caddy-oauth:".
	KeyPrefix string `json:"key_prefix,omitempty"`

	// TLS for every connection; without it, connections are plain TCP.
	TLS *RedisTLS `json:"tls,omitempty"`

	// How long connecting may take. Default: 2s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`

	// How long one read or write may take; an operation against an
	// unreachable Redis fails (503) within about dial_timeout + timeout.
	// Default: 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	opts   redis.Options
	logger *zap.Logger
}

// RedisTLS configures TLS to Redis. The system roots verify the server
// unless ca_file is set; a client certificate is sent when cert_file and
// key_file are.
type RedisTLS struct {
	// PEM file of the CA certificates that verify the server.
	CAFile string `json:"ca_file,omitempty"`
	// PEM files of the client certificate and its key (mutual TLS).
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// The name to verify the server certificate against. Default: the
	// host of the address.
	ServerName string `json:"server_name,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (RedisStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "oauth.storage.redis",
		New: func() caddy.Module { return new(RedisStorage) },
	}
}

// Provision replaces placeholders and builds the client options; it does
// not contact Redis.
func (r *RedisStorage) Provision(ctx caddy.Context) error {
	r.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	expand := func(field, s string) (string, error) {
		v, err := repl.ReplaceOrErr(s, true, true)
		if err != nil {
			return "", fmt.Errorf("storage redis: %s: %v", field, err)
		}
		return v, nil
	}
	o := redis.Options{MasterName: r.MasterName, Cluster: r.Cluster, DB: r.DB, KeyPrefix: r.KeyPrefix,
		DialTimeout: time.Duration(r.DialTimeout), Timeout: time.Duration(r.Timeout)}
	for _, a := range r.Address {
		a, err := expand("address", a)
		if err != nil {
			return err
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("storage redis: address %q: must be host:port", a)
		}
		o.Addresses = append(o.Addresses, a)
	}
	var err error
	if o.Username, err = expand("username", r.Username); err != nil {
		return err
	}
	if o.Password, err = expand("password", r.Password); err != nil {
		return err
	}
	if r.TLS != nil {
		if o.TLS, err = r.TLS.config(expand); err != nil {
			return err
		}
	}
	r.opts = o
	return nil
}

// Validate refuses options that cannot work, before anything connects.
func (r *RedisStorage) Validate() error {
	switch {
	case r.DB < 0:
		return fmt.Errorf("storage redis: db %d: must not be negative", r.DB)
	case r.DB != 0 && (r.Cluster || len(r.Address) > 1 && r.MasterName == ""):
		return errors.New("storage redis: db: a Redis Cluster has only database 0")
	case r.Cluster && r.MasterName != "":
		return errors.New("storage redis: cluster and master_name exclude each other")
	case strings.ContainsAny(r.KeyPrefix, "{}"):
		return fmt.Errorf("storage redis: key_prefix %q: must not contain '{' or '}' (they are cluster hash tags)", r.KeyPrefix)
	case r.DialTimeout < 0 || r.Timeout < 0:
		return errors.New("storage redis: dial_timeout and timeout must not be negative")
	}
	return nil
}

// config builds the tls.Config, reading the files now so that a missing
// file is a config error, not a failure at the first connection.
func (t *RedisTLS) config(expand func(field, s string) (string, error)) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	var err error
	if c.ServerName, err = expand("tls server_name", t.ServerName); err != nil {
		return nil, err
	}
	if t.CAFile != "" {
		f, err := expand("tls ca_file", t.CAFile)
		if err != nil {
			return nil, err
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("storage redis: tls ca_file: %v", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("storage redis: tls ca_file %s: no PEM certificate in it", f)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("storage redis: tls: cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cf, err := expand("tls cert_file", t.CertFile)
		if err != nil {
			return nil, err
		}
		kf, err := expand("tls key_file", t.KeyFile)
		if err != nil {
			return nil, err
		}
		cert, err := tls.LoadX509KeyPair(cf, kf)
		if err != nil {
			return nil, fmt.Errorf("storage redis: tls: %v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// StorageKey implements Storage: the addresses, database and key prefix,
// which together name one state.
func (r *RedisStorage) StorageKey(string) (string, error) {
	prefix := r.opts.KeyPrefix
	if prefix == "" {
		prefix = redis.DefaultKeyPrefix
	}
	addrs := r.opts.Addresses
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:6379"}
	}
	return "redis:" + strings.Join(addrs, ",") + "/" + strconv.Itoa(r.opts.DB) + "/" + prefix, nil
}

// OpenStore implements Storage. A store is shared by every config with the
// same options, so reloads reuse its connections and its invalidation
// reader; changed credentials or TLS files open a new one.
func (r *RedisStorage) OpenStore(server string) (store.Store, func() error, error) {
	key, _ := r.StorageKey(server)
	poolKey := key + "#" + r.optionsDigest()
	return openShared(poolKey, r.logger.With(zap.String("redis", key)), func() (store.Store, error) {
		// Not the config's context: the store outlives the config that
		// opened it when a reload shares it.
		return redis.Open(context.Background(), r.opts)
	})
}

// optionsDigest identifies every option that shapes the connections, the
// password and client key among them, without keeping them in the key.
func (r *RedisStorage) optionsDigest() string {
	b, _ := json.Marshal(struct {
		R   *RedisStorage
		Pwd string
	}{r, r.opts.Password})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// UnmarshalCaddyfile reads the block after `storage redis`:
//
//	redis [<address>...] {
//		address      <host:port>...
//		master_name  <name>
//		cluster
//		username     <name>
//		password     <password>
//		db           <n>
//		key_prefix   <prefix>
//		tls {
//			ca_file     <file>
//			cert_file   <file>
//			key_file    <file>
//			server_name <name>
//		}
//		dial_timeout <duration>
//		timeout      <duration>
//	}
func (r *RedisStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	r.Address = append(r.Address, d.RemainingArgs()...)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "address":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			r.Address = append(r.Address, args...)
		case "master_name":
			if err := oneArg(d, &r.MasterName); err != nil {
				return err
			}
		case "cluster":
			if d.NextArg() {
				return d.ArgErr()
			}
			r.Cluster = true
		case "username":
			if err := oneArg(d, &r.Username); err != nil {
				return err
			}
		case "password":
			if err := oneArg(d, &r.Password); err != nil {
				return err
			}
		case "db":
			if err := intArg(d, &r.DB); err != nil {
				return err
			}
		case "key_prefix":
			if err := oneArg(d, &r.KeyPrefix); err != nil {
				return err
			}
		case "dial_timeout":
			if err := durationArg(d, &r.DialTimeout); err != nil {
				return err
			}
		case "timeout":
			if err := durationArg(d, &r.Timeout); err != nil {
				return err
			}
		case "tls":
			if d.NextArg() {
				return d.ArgErr()
			}
			r.TLS = new(RedisTLS)
			for n := d.Nesting(); d.NextBlock(n); {
				var dst *string
				switch d.Val() {
				case "ca_file":
					dst = &r.TLS.CAFile
				case "cert_file":
					dst = &r.TLS.CertFile
				case "key_file":
					dst = &r.TLS.KeyFile
				case "server_name":
					dst = &r.TLS.ServerName
				default:
					return d.Errf("unrecognized redis tls option: %s", d.Val())
				}
				if err := oneArg(d, dst); err != nil {
					return err
				}
			}
		default:
			return d.Errf("unrecognized redis storage option: %s", opt)
		}
	}
	for _, a := range r.Address {
		if _, _, err := net.SplitHostPort(a); err != nil && !strings.Contains(a, "{") {
			return d.Errf("redis address %q: must be host:port", a)
		}
	}
	if err := r.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// Interface guards.
var (
	_ Storage               = (*RedisStorage)(nil)
	_ caddy.Provisioner     = (*RedisStorage)(nil)
	_ caddy.Validator       = (*RedisStorage)(nil)
	_ caddyfile.Unmarshaler = (*RedisStorage)(nil)
)
