// Package routeauth names the routes of Sluice's HTTP API and the ways a
// route can be authorized. The stack settings (apiAuth, publicRoutes) and
// the api component both use these names, so that a mode or a route key is
// spelt in one place; it has no Pulumi dependency so that settings, which
// the local pipeline also loads, need not link the AWS SDK.
package routeauth

import (
	"slices"
	"strings"
)

// Mode is the authorization of the submit route.
type Mode string

// The modes. None leaves the route open to anyone who knows the URL (the
// stack then declares it in publicRoutes); IAM requires SigV4-signed calls;
// JWT requires a token from the issuer, with one of the audiences.
const (
	None Mode = "none"
	IAM  Mode = "AWS_IAM"
	JWT  Mode = "JWT"
)

// Modes lists every mode.
var Modes = []Mode{None, IAM, JWT}

// Valid reports whether m is one of Modes.
func (m Mode) Valid() bool { return slices.Contains(Modes, m) }

// UsesJWT reports whether m is configured by a JWT issuer and audiences.
// Every other mode must leave them unset: an issuer that is never checked
// reads like protection that is not there.
func (m Mode) UsesJWT() bool { return m == JWT }

// IssuerPrefix is what a JWT issuer URL must start with.
const IssuerPrefix = "https://"

// ValidIssuer reports whether issuer is a JWT issuer API Gateway accepts.
func ValidIssuer(issuer string) bool {
	return strings.HasPrefix(issuer, IssuerPrefix) && len(issuer) > len(IssuerPrefix) && !strings.ContainsAny(issuer, " \t\n")
}

// Submit is the route key of the intake route, the API's only route.
const Submit = "POST /submit"

// Routes lists the API's route keys.
var Routes = []string{Submit}
