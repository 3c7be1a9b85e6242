package caddyoauth

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

func TestEventsAreCountedAndLogged(t *testing.T) {
	var logged []provider.Event
	audit := countEvents("metrics-test", func(e provider.Event) { logged = append(logged, e) })
	c := metrics.events.WithLabelValues("metrics-test", "token_issued", "oauth2", "client_credentials")
	before := testutil.ToFloat64(c)

	audit(provider.Event{Name: "token_issued", Protocol: "oauth2", Grant: "client_credentials", ClientID: "svc"})
	audit(provider.Event{Name: "token_issued", Protocol: "oauth2", Grant: "client_credentials", ClientID: "svc"})

	if got := testutil.ToFloat64(c) - before; got != 2 {
		t.Fatalf("counter grew by %v, want 2", got)
	}
	if len(logged) != 2 {
		t.Fatalf("%d events reached the logger, want 2", len(logged))
	}
}

func TestMetricsRegisterOncePerRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	// A reload provisions a second app against the same registry.
	for i := 0; i < 2; i++ {
		if err := registerMetrics(reg); err != nil {
			t.Fatalf("registration %d: %v", i+1, err)
		}
	}
	countEvents("metrics-reg", nil)(provider.Event{Name: "token_revoked", Protocol: "oauth2"})
	n, err := testutil.GatherAndCount(reg, "caddy_oauth_events_total")
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("caddy_oauth_events_total not exported by the registry")
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(""), "caddy_oauth_no_such_metric"); err != nil {
		t.Fatal(err)
	}
}
