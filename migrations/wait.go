package migrations

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/proxyhealth"
)

// IAMPropagationWait bounds how long a 1045 (access denied) is retried with
// IAM authentication: a fresh rds-db:connect grant takes effect after a
// delay ("changes that you make in IAM ... are eventually consistent",
// IAM User Guide, troubleshoot general), but a grant that is wrong stays
// wrong, so this is shorter than the wait for an unreachable proxy.
const IAMPropagationWait = 90 * time.Second

// Backoff between connection attempts: short at first, because a proxy
// that has just become available should be used at once, and capped so that
// one attempt is never far behind the target turning AVAILABLE.
const (
	firstConnectPause = 250 * time.Millisecond
	maxConnectPause   = 8 * time.Second
)

// UnreachableError reports a database that could not be connected to
// within cfg.ConnectWait. It names what to check: with RDS Proxy, the
// target's health.
type UnreachableError struct {
	Endpoint string
	Attempts int
	Waited   time.Duration
	Class    dbconn.Class
	Err      error // the last attempt's error
}

func (e *UnreachableError) Error() string {
	what := "not reachable"
	if e.Class == dbconn.AuthPending {
		what = "refused the login (1045)"
	}
	return fmt.Sprintf("database at %s %s after %d attempt(s) in %s: %v; %s",
		e.Endpoint, what, e.Attempts, e.Waited.Round(100*time.Millisecond), e.Err, proxyhealth.Checklist(e.Endpoint))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// waitReachable runs connect until it succeeds, fails with an error that
// waiting cannot cure (dbconn.Classify), or cfg.ConnectWait (for 1045, at
// most IAMPropagationWait) or ctx runs out. Only connecting is retried,
// never the operation itself: a migration cut by a lost connection is
// reported (dirty) rather than run again.
func waitReachable(ctx context.Context, cfg dbconn.Config, connect func() error) error {
	start := time.Now()
	var deniedSince time.Time // the first 1045: propagation is timed from it
	pause := firstConnectPause
	for n := 1; ; n++ {
		err := connect()
		class := dbconn.Classify(err, cfg.Auth)
		if err == nil || class == dbconn.Permanent {
			return err
		}
		bound := cfg.ConnectWait
		if deadline, ok := ctx.Deadline(); ok {
			bound = min(bound, deadline.Sub(start))
		}
		waited := time.Since(start)
		giveUp := &UnreachableError{Endpoint: cfg.Endpoint, Attempts: n, Waited: waited, Class: class, Err: err}
		if waited+pause > bound {
			return giveUp
		}
		if class == dbconn.AuthPending {
			if deniedSince.IsZero() {
				deniedSince = time.Now()
			}
			if time.Since(deniedSince)+pause > IAMPropagationWait {
				return giveUp
			}
		}
		slog.WarnContext(ctx, "database not reachable yet; retrying",
			"cause", err.Error(), "class", class.String(), "attempt", n,
			"waited", waited.Round(100*time.Millisecond).String(), "retryIn", pause.String())
		select {
		case <-ctx.Done():
			giveUp.Waited = time.Since(start)
			return giveUp
		case <-time.After(pause):
		}
		pause = min(2*pause, maxConnectPause)
	}
}
