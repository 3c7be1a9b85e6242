package redis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// DefaultKeyPrefix starts every key unless Options.KeyPrefix says otherwise.
const DefaultKeyPrefix = "caddy-oauth:"

// Options say how to reach Redis. The names follow Caddy's Redis storage
// modules. One address is a standalone server; several addresses, or
// Cluster, a Redis Cluster; MasterName, a Sentinel-managed primary (the
// addresses are then the sentinels').
type Options struct {
	// Addresses are host:port pairs: the server, cluster seed nodes or
	// sentinels. Default 127.0.0.1:6379.
	Addresses []string
	// MasterName is the Sentinel master name; set it to use Sentinel.
	MasterName string
	// Cluster forces Redis Cluster mode with a single address (a cluster's
	// configuration endpoint). Several addresses always mean a cluster.
	Cluster bool
	// Username and Password authenticate (Redis ACL or requirepass).
	Username string
	Password string
	// DB is the database number (standalone and Sentinel only).
	DB int
	// KeyPrefix starts every key, so several servers share one Redis
	// without seeing each other's data. Default DefaultKeyPrefix. It must
	// not contain '{' or '}' (cluster hash tags).
	KeyPrefix string
	// TLS, if set, is used for every connection.
	TLS *tls.Config
	// DialTimeout bounds connecting (default 2s); Timeout bounds each read
	// and write (default 2s). An operation against an unreachable Redis
	// fails with ErrUnavailable within about their sum.
	DialTimeout time.Duration
	Timeout     time.Duration

	// lease and leaseMargin tune the invalidation lease (invalidation.go);
	// zero means the defaults. Tests shorten them.
	lease, leaseMargin time.Duration
}

// Store is a store.Store on Redis. Several Store values, in one process or
// on many Caddy nodes, may share one Redis and one KeyPrefix: they see one
// state, and each one's ChangeCounter counts the changes made through all
// of them (see doc.go).
type Store struct {
	rdb    goredis.UniversalClient
	keys   keys
	node   string // this Store's id among the nodes sharing the prefix
	counts counters
	inval  *invalidator
	// cluster: keys of one script must share a slot, so steps that span
	// keys are ordered instead of made one script.
	cluster bool

	closeOnce sync.Once
	closeErr  error
}

// Open creates a Store. It does not contact Redis, so it succeeds while
// Redis is down (Caddy must start then and recover by itself): operations
// fail with ErrUnavailable until Redis answers, and the change counters
// stay "always changing" until the invalidation stream is read again.
// Only invalid options are an error.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(o.KeyPrefix, "{}") {
		return nil, errors.New("store/redis: key prefix must not contain '{' or '}'")
	}
	if len(o.Addresses) == 0 {
		o.Addresses = []string{"127.0.0.1:6379"}
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.lease <= 0 {
		o.lease = 3 * time.Second
	}
	if o.leaseMargin <= 0 || o.leaseMargin >= o.lease {
		o.leaseMargin = o.lease / 6
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	s := &Store{
		keys: newKeys(o.KeyPrefix),
		node: hex.EncodeToString(id[:]),
	}
	s.rdb = goredis.NewUniversalClient(o.universal(""))
	_, s.cluster = s.rdb.(*goredis.ClusterClient)
	s.inval = newInvalidator(s, goredis.NewUniversalClient(o.universal("caddy-oauth-inval-"+s.node)), o.lease, o.leaseMargin)
	s.inval.start()
	return s, nil
}

// universal maps Options to go-redis' options. Commands are not retried:
// a script that ran but whose reply was lost must not run again (a second
// ConsumeCode would report the winner's code as replayed); the caller gets
// ErrUnavailable instead and the change counts as a change.
func (o Options) universal(name string) *goredis.UniversalOptions {
	return &goredis.UniversalOptions{
		Addrs:                 o.Addresses,
		MasterName:            o.MasterName,
		IsClusterMode:         o.Cluster,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		TLSConfig:             o.TLS,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.Timeout,
		WriteTimeout:          o.Timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
		Protocol:              2,
		DisableIdentity:       true,
		ClientName:            name,
	}
}

// NodeID is this Store's id in the invalidation protocol (and in the name
// of its stream-reading connection, caddy-oauth-inval-<id>).
func (s *Store) NodeID() string { return s.node }

// Close stops the invalidation reader, leaves the set of live nodes (so
// nobody waits for this one) and closes the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.inval.stop()
		s.closeErr = s.rdb.Close()
	})
	return s.closeErr
}

var _ store.Store = (*Store)(nil)
