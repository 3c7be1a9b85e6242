package caddyoauth

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// metrics are package-level, like Caddy's own, and registered into each
// config's registry on Provision; labels are small fixed sets (server
// names from the config, event names and grants from the engine's code,
// never client or user names).
var metrics = struct {
	events *prometheus.CounterVec
}{
	events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "oauth",
		Name:      "events_total",
		Help:      "Authorization server events: tokens issued, refused and revoked, replays detected, logins.",
	}, []string{"server", "event", "protocol", "grant"}),
}

// registerMetrics adds the collectors to registry once; a second config
// (a reload) finds them already there.
func registerMetrics(registry *prometheus.Registry) error {
	if registry == nil {
		return nil
	}
	err := registry.Register(metrics.events)
	var are prometheus.AlreadyRegisteredError
	if err != nil && !errors.As(err, &are) {
		return err
	}
	return nil
}

// countEvents wraps an Auditor so every event also counts in
// caddy_oauth_events_total.
func countEvents(server string, next provider.Auditor) provider.Auditor {
	return func(e provider.Event) {
		metrics.events.WithLabelValues(server, e.Name, e.Protocol, e.Grant).Inc()
		next.Emit(e)
	}
}
