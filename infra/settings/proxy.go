package settings

import (
	"time"

	"github.com/sluicehq/sluice/infra/limits"
)

// Keys of the Proxy section, without the namespace.
const (
	KeyProxyIdleClientTimeout     = "proxyIdleClientTimeoutSeconds"
	KeyProxyBorrowTimeout         = "proxyBorrowTimeoutSeconds"
	KeyProxyMaxConnectionsPercent = "proxyMaxConnectionsPercent"
	KeyProxyMaxIdlePercent        = "proxyMaxIdleConnectionsPercent"
)

// Proxy is the RDS Proxy's pool, what proxy.Args takes. Each field is one
// key of proxyKeys, which declares its type, default, bound, unit and
// documentation.
type Proxy struct {
	IdleClientTimeout         time.Duration // sluice:proxyIdleClientTimeoutSeconds
	BorrowTimeout             time.Duration // sluice:proxyBorrowTimeoutSeconds
	MaxConnectionsPercent     int           // sluice:proxyMaxConnectionsPercent
	MaxIdleConnectionsPercent int           // sluice:proxyMaxIdleConnectionsPercent
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Proxy) Validate() error { return checkSection(Settings{Proxy: v}, "Proxy") }

var proxyKeys = []Spec{
	{Key: KeyProxyIdleClientTimeout, Type: Integer, Default: "900",
		Doc: "Seconds before the proxy closes an idle client connection.", Range: limits.ProxyIdleClientTimeoutSeconds,
		field: func(s *Settings) any { return &s.Proxy.IdleClientTimeout }, unit: time.Second},
	{Key: KeyProxyBorrowTimeout, Type: Integer, Default: "10",
		Doc: "Seconds a client waits for a pooled connection before it gets an error.", Range: limits.ProxyBorrowTimeoutSeconds,
		field: func(s *Settings) any { return &s.Proxy.BorrowTimeout }, unit: time.Second},
	{Key: KeyProxyMaxConnectionsPercent, Type: Integer, Default: "90",
		Doc: "Pool size, % of the database's max_connections.", Range: limits.ProxyMaxConnectionsPercent,
		field: func(s *Settings) any { return &s.Proxy.MaxConnectionsPercent }},
	{Key: KeyProxyMaxIdlePercent, Type: Integer, Default: "50",
		Doc: "Idle connections the pool keeps, % of max_connections.", Range: limits.ProxyMaxIdlePercent,
		field: func(s *Settings) any { return &s.Proxy.MaxIdleConnectionsPercent }},
}
