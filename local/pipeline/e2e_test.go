package pipeline

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// TestBurstOf10000 is the spike story: 10,000 POSTs at once are all accepted,
// drained at the pace the maximum concurrency allows, and stored exactly once,
// while the server never sees more consumer sessions than the stack allows.
func TestBurstOf10000(t *testing.T) {
	const n = 10000
	s := devSettings(t)
	// The edge must not throttle a test client that does not retry; the
	// throttle itself is tested in package edge.
	s.API.ThrottleRate, s.API.ThrottleBurst = 1e6, n
	p := startPipeline(t, s, dbconn.Config{}, nil)
	sampler := sampleConnections(t, p, p.AppUser())

	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = record("burst", i)
	}
	start := time.Now()
	ids := postAll(t, p.URL(), bodies, 100)
	t.Logf("%d accepted in %s", n, time.Since(start))
	waitFor(t, p, 10*time.Minute, "all stored", func(c Counts) bool {
		return c.Stored >= n && c.Queued == 0 && c.InFlight == 0
	})
	t.Logf("drained in %s; poller %+v", time.Since(start), p.Poller().Stats())
	maxConns, samples := sampler.Stop()

	storedOnce(t, p.Admin(), ids)
	limit := s.Consumer.MaxConcurrency
	if maxConns > limit {
		t.Errorf("the server saw %d consumer sessions at once, the stack's maximum concurrency is %d", maxConns, limit)
	}
	if maxConns == 0 {
		t.Errorf("no consumer session seen in %d samples: the sampler measures nothing", samples)
	}
	t.Logf("most consumer sessions seen: %d (limit %d, %d samples)", maxConns, limit, samples)
	c := waitFor(t, p, time.Minute, "final counts", func(Counts) bool { return true })
	if c.Quarantined != 0 || c.DLQ != 0 {
		t.Errorf("valid records quarantined (%d) or dead-lettered (%d)", c.Quarantined, c.DLQ)
	}
}
