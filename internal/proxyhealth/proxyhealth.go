// Package proxyhealth says what an RDS Proxy target's health means and what
// to do about it, for the two places that tell a user: the migrator's error
// when the database stays unreachable, and the first-deploy check.
//
// The states and reasons are those of the RDS API's TargetHealth
// (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_TargetHealth.html);
// what to do follows RDS Proxy troubleshooting
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.troubleshooting.html),
// and names the stack settings that switch on Sluice's fallbacks for the two
// things only a real account settles (issue 17, item 8).
package proxyhealth

import (
	"fmt"
	"strings"
)

// Settings that switch on a fallback. The keys are declared here, where the
// advice that names them lives; infra/settings takes its keys from these
// constants, so the advice and the stack file cannot drift apart.
const (
	// KeySecretsManagerEndpoint adds a Secrets Manager interface endpoint
	// (and 443 from the proxy) for a proxy that cannot read its secrets
	// without one.
	KeySecretsManagerEndpoint = "secretsManagerEndpoint"
	// KeyAppUserAuthPlugin chooses the application user's plugin;
	// mysql_native_password for a proxy that cannot log in with
	// caching_sha2_password.
	KeyAppUserAuthPlugin = "appUserAuthPlugin"

	// The same keys as written in Pulumi.<stack>.yaml (the project name
	// is the config namespace).
	SettingSecretsManagerEndpoint = "sluice:" + KeySecretsManagerEndpoint
	SettingAppUserAuthPlugin      = "sluice:" + KeyAppUserAuthPlugin
)

// Target health states (TargetHealth.State).
const (
	StateRegistering = "REGISTERING"
	StateAvailable   = "AVAILABLE"
	StateUnavailable = "UNAVAILABLE"
	StateUnused      = "UNUSED"
)

// Reason is one TargetHealth.Reason with what it means for Sluice.
type Reason struct {
	Name    string
	Meaning string
}

// Reasons are all values of TargetHealth.Reason, in the API's order.
var Reasons = []Reason{
	{"UNREACHABLE", "the proxy cannot reach the DB instance over the network: check that the instance is available and that the database security group admits the proxy's security group on 3306"},
	{"CONNECTION_FAILED", "the proxy reached the instance but could not open a session; read Description: if it says the credentials could not be retrieved, the proxy cannot read its Secrets Manager secret (no NAT, no endpoint): set " + SettingSecretsManagerEndpoint + ": true and run pulumi up"},
	{"AUTH_FAILURE", "MySQL refused the user and password of the proxy's secret; on MySQL 8.4 the application user is caching_sha2_password: if the secret's password is right, the proxy-to-database leg does not accept that plugin: set " + SettingAppUserAuthPlugin + ": mysql_native_password and run pulumi up"},
	{"PENDING_PROXY_CAPACITY", "the proxy is still provisioning or scaling: wait a few minutes; if it lasts beyond 15 minutes after the deploy, the proxy may be unable to read its secret: set " + SettingSecretsManagerEndpoint + ": true"},
	{"INVALID_REPLICATION_STATE", "the target is a replica whose replication is broken; Sluice registers a single instance, so the proxy points at the wrong target"},
	{"PROMOTED", "the target was promoted from a replica; Sluice registers a single instance, so the proxy points at the wrong target"},
}

// Meaning returns what reason means, or "" for a reason the API did not
// list when this was written.
func Meaning(reason string) string {
	for _, r := range Reasons {
		if r.Name == reason {
			return r.Meaning
		}
	}
	return ""
}

// Health is one target's TargetHealth.
type Health struct {
	State, Reason, Description string
}

// Ready reports whether clients can connect through the target.
func (h Health) Ready() bool { return h.State == StateAvailable }

// Explain is one line: the state, the reason and what it means.
func (h Health) Explain() string {
	switch h.State {
	case StateAvailable:
		return "AVAILABLE: the proxy can connect to the database"
	case StateRegistering:
		return "REGISTERING: the target was just registered; the proxy answers clients with MySQL error 9501 until it is AVAILABLE (minutes after a first deploy): wait and check again"
	case StateUnused:
		return "UNUSED: the proxy does not route to this target"
	}
	s := h.State
	if h.Reason != "" {
		s += " (" + h.Reason + ")"
	}
	if h.Description != "" {
		s += ": " + strings.TrimSuffix(h.Description, ".")
	}
	if m := Meaning(h.Reason); m != "" {
		s += ": " + m
	}
	return s
}

// ProxyName returns the proxy's name from its default endpoint
// (<name>.proxy-<id>.<region>.rds.amazonaws.com[:port]), or "" when the
// endpoint is not an RDS Proxy's.
func ProxyName(endpoint string) string {
	host := endpoint
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	name, rest, ok := strings.Cut(host, ".")
	if !ok || !strings.HasPrefix(rest, "proxy-") || name == "" {
		return ""
	}
	return name
}

// Checklist is what to check when clients cannot connect through the
// proxy of endpoint: the command and every reason it may show.
func Checklist(endpoint string) string {
	name := ProxyName(endpoint)
	if name == "" {
		name = "<proxy name: the stack output proxyName>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "check the proxy's target: aws rds describe-db-proxy-targets --db-proxy-name %s (TargetHealth.State AVAILABLE means ready; REGISTERING means wait; for UNAVAILABLE, TargetHealth.Reason says why:", name)
	for _, r := range Reasons {
		fmt.Fprintf(&b, "\n  %s: %s", r.Name, r.Meaning)
	}
	b.WriteString(")")
	return b.String()
}
