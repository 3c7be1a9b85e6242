// Package redistest starts real redis-server processes for tests: a
// standalone server or a small Redis Cluster on free loopback ports, in
// the test's temporary directory, stopped when the test ends.
//
// Without redis-server on PATH the test is skipped, unless the environment
// says CADDY_OAUTH_REDIS_TEST=required (CI), which makes it fail.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequiredEnv is the variable that turns a missing redis-server into a
// failure.
const RequiredEnv = "CADDY_OAUTH_REDIS_TEST"

// Option changes how StartServer runs redis-server.
type Option func(*config)

type config struct {
	args    []string
	cluster bool
	// sentinel, if set, is the sentinel.conf to run redis-server in
	// Sentinel mode with (it rewrites the file).
	sentinel string
}

// AppendOnly makes the server write an append-only file fsynced on every
// write, so data survives a SIGKILL.
func AppendOnly() Option {
	return func(c *config) { c.args = append(c.args, "--appendonly", "yes", "--appendfsync", "always") }
}

// Args adds redis-server arguments.
func Args(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is a running (or stopped) redis-server.
type Server struct {
	t    testing.TB
	Addr string // 127.0.0.1:port
	Port int
	Dir  string // its working directory (AOF, nodes.conf)
	cfg  config

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives once the running process has exited
}

// binary finds redis-server or skips (or fails) t.
func binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(RequiredEnv) == "required" {
			t.Fatalf("%s not found and %s=required: %v", name, RequiredEnv, err)
		}
		t.Skipf("%s not found (install redis-server, or set %s=required to fail instead): %v", name, RequiredEnv, err)
	}
	return p
}

// StartServer starts a standalone redis-server on a free loopback port.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	return start(t, c)
}

func start(t testing.TB, c config) *Server {
	t.Helper()
	binary(t, "redis-server")
	s := &Server{t: t, Dir: t.TempDir(), cfg: c}
	var last error
	for range 10 {
		port, err := freePort(c.cluster)
		if err != nil {
			last = err
			continue
		}
		s.Port, s.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if last = s.launch(); last == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", last)
	return nil
}

// freePort picks a loopback port that is free now (and, for a cluster
// node, whose bus port, +10000, is free too).
func freePort(cluster bool) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if cluster {
		if port+10000 > 65535 {
			return 0, errors.New("port too high for a cluster bus")
		}
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			return 0, err
		}
		b.Close()
	}
	return port, nil
}

// launch runs redis-server on s.Port and waits until it answers PING.
func (s *Server) launch() error {
	args := []string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--dir", s.Dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", "redis.log",
	}
	if s.cfg.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
	}
	if s.cfg.sentinel != "" {
		args = append([]string{s.cfg.sentinel, "--sentinel"}, args...)
	}
	args = append(args, s.cfg.args...) // later arguments win
	cmd := exec.Command("redis-server", args...)
	cmd.Dir = s.Dir
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(s.Dir + "/redis.log")
			return fmt.Errorf("redis-server exited (%v): %s", err, log)
		default:
		}
		if reply, err := Command(s.Addr, "PING"); err == nil && reply == "PONG" {
			s.mu.Lock()
			s.cmd, s.exited = cmd, exited
			s.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	return errors.New("redis-server did not answer PING within 10s")
}

// Stop terminates the server (SIGTERM, then SIGKILL) and waits for it.
func (s *Server) Stop() { s.signal(false) }

// Kill SIGKILLs the server and waits for it: no shutdown save, no goodbye.
func (s *Server) Kill() { s.signal(true) }

func (s *Server) signal(kill bool) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	if kill {
		cmd.Process.Kill()
	} else {
		cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Pause stops the server with SIGSTOP: connections stay open and nothing
// answers, as with a Redis stuck in a slow command or a network stall.
func (s *Server) Pause() { s.sendSignal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.sendSignal(syscall.SIGCONT) }

func (s *Server) sendSignal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(sig)
	}
}

// Restart starts the server again on the same port and directory (after
// Stop or Kill), so an append-only file is replayed.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	for range 50 { // the port may linger briefly
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.Port, err)
}

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' addresses, for a cluster client's seed list.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// StartSentinel starts a Redis Sentinel on a free loopback port that
// monitors master under the name masterName (quorum 1), for clients that
// find the primary through Sentinel.
func StartSentinel(t testing.TB, master *Server, masterName string) *Server {
	t.Helper()
	dir := t.TempDir()
	conf := dir + "/sentinel.conf"
	text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n", masterName, master.Port, masterName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, config{sentinel: conf})
}

// StartCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create and waits until each says cluster_state:ok.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli := binary(t, "redis-cli")
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, start(t, config{cluster: true}))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.Nodes {
		for {
			info, err := Command(n.Addr, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok: %v %s", n.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// Command sends one command in RESP and returns a simple, bulk or integer
// reply as text (arrays are not needed by these helpers). An error reply is
// an error.
func Command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unsupported reply %q", line)
	}
}
