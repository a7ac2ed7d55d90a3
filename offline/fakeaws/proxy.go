package fakeaws

import (
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/testkit/mysqlgate"
)

// proxyGate is a proxy target warming up. The provider's create of
// rds.ProxyTarget calls RegisterDBProxyTargets and returns without waiting
// for the target's health (terraform-provider-aws
// internal/service/rds/proxy_target.go), which goes REGISTERING →
// UNAVAILABLE → AVAILABLE (RDS API reference: TargetHealth); until it is
// AVAILABLE clients get "ERROR 9501 (HY000): Timed-out waiting to acquire
// database connection" (RDS User Guide: Troubleshooting for RDS Proxy).
//
// The stand-in's proxy address first refuses connections for
// Warmup.Refuse, counted from the first time a function is given the
// address, then answers the next Warmup.Reject connections with 9501
// (mysqlgate.ProxyTimeout), then passes connections to the database. In
// AWS the window is time from registration; counting the 9501s in
// connections makes every rehearsal meet both answers however loaded the
// machine is. Once the window is over the target is remembered as
// available, so later engine runs (new provider processes) connect
// directly.
type proxyGate struct {
	gate   *mysqlgate.Gate
	reject int
	opened atomic.Bool
}

// over reports whether the gate has passed its window: open, and every
// 9501 answered.
func (g *proxyGate) over() bool {
	return g.opened.Load() && g.gate.Rejected() >= g.reject
}

func availablePath(targetID string) string {
	return filepath.Join("proxy-targets", secretKey(targetID)+".available")
}

// proxyAddress is where a function reaches the database behind the proxy
// target targetID: the backing server once the target is available, the
// target's gate while it warms up.
func (s *Server) proxyAddress(st *Store, targetID string) (string, error) {
	if !s.cfg.Warmup.On() {
		return s.cfg.MySQL.Endpoint, nil
	}
	if _, err := st.ReadFile(availablePath(targetID)); err == nil {
		return s.cfg.MySQL.Endpoint, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.gates[targetID]; ok {
		return g.gate.Addr(), nil
	}
	gate, err := mysqlgate.New(s.cfg.MySQL.Endpoint)
	if err != nil {
		return "", err
	}
	g := &proxyGate{gate: gate, reject: s.cfg.Warmup.Reject}
	s.gates[targetID] = g
	time.AfterFunc(s.cfg.Warmup.Refuse, func() {
		if gate.Open(g.reject) == nil {
			g.opened.Store(true)
		}
	})
	return gate.Addr(), nil
}

// settleProxyTargets remembers the targets whose warm-up is over as
// available.
func (s *Server) settleProxyTargets(st *Store) error {
	s.mu.Lock()
	var done []string
	for id, g := range s.gates {
		if g.over() {
			done = append(done, id)
		}
	}
	s.mu.Unlock()
	for _, id := range done {
		if err := st.PutFile(availablePath(id), []byte(time.Now().UTC().Format(time.RFC3339)+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// deregisterProxyTarget forgets a deleted target's health and closes its
// gate.
func (s *Server) deregisterProxyTarget(st *Store, targetID string) error {
	s.mu.Lock()
	g, ok := s.gates[targetID]
	delete(s.gates, targetID)
	s.mu.Unlock()
	if ok {
		g.gate.Close()
	}
	return st.RemoveFile(availablePath(targetID))
}
