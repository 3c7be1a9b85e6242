// Package redis is a store.Store on Redis (or Valkey): standalone,
// Sentinel or Cluster, through one go-redis UniversalClient.
package redis
