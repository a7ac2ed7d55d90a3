package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// Class says whether waiting can cure a connection error.
type Class int

const (
	// Permanent errors are final: SQL errors, a dirty database, bad
	// settings, a stopped context. Waiting does not change them.
	Permanent Class = iota
	// Unreachable errors mean the server cannot be reached or cannot
	// serve a connection yet: nothing listens (a proxy still being set
	// up), the network dropped the connection, or RDS Proxy answered
	// 9501 because its target is not available.
	Unreachable
	// AuthPending is MySQL 1045 (access denied). With IAM authentication
	// it is what a login gets while a fresh rds-db:connect grant
	// propagates, so it is worth a bounded wait; with a password it is a
	// wrong password (see Classify).
	AuthPending
)

func (c Class) String() string {
	switch c {
	case Unreachable:
		return "unreachable"
	case AuthPending:
		return "access denied"
	}
	return "permanent"
}

// MySQL error numbers that mean "not reachable yet" rather than "wrong".
const (
	// ErrProxyTimeout is RDS Proxy's "Timed-out waiting to acquire
	// database connection": the proxy answers but has no healthy target,
	// as while a newly registered target goes REGISTERING → UNAVAILABLE
	// → AVAILABLE (RDS Proxy troubleshooting,
	// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.troubleshooting.html).
	ErrProxyTimeout = 9501
	// ErrServerLost is CR_SERVER_LOST, "Lost connection to MySQL server
	// during query", which a proxy in front of the server can pass on.
	ErrServerLost = 2013
	// ErrAccessDenied is ER_ACCESS_DENIED_ERROR.
	ErrAccessDenied = 1045
)

// Classify sorts a connection or query error into the one class a caller
// decides on: retry (Unreachable; AuthPending only for auth) or give up.
// It is the single place that knows which errors are which; callers wrap
// freely, as it looks through %w chains.
//
// 1045 is AuthPending only with AuthIAM: a static password that is
// refused stays refused.
func Classify(err error, auth Auth) Class {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Permanent
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case ErrProxyTimeout, ErrServerLost:
			return Unreachable
		case ErrAccessDenied:
			if auth == AuthIAM {
				return AuthPending
			}
		}
		return Permanent
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// A name that does not exist is a wrong endpoint, not a late one.
		if dnsErr.IsNotFound {
			return Permanent
		}
		return Unreachable
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return Unreachable
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Unreachable // dial or i/o timeout
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return Unreachable
	}
	return Permanent
}
