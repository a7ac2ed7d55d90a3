package settings

import (
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/routeauth"
)

// Keys of the API section, without the namespace.
const (
	KeyAPIThrottleRate  = "apiThrottleRate"
	KeyAPIThrottleBurst = "apiThrottleBurst"
	KeyExpectedSpike    = "expectedSpike"
	KeyMaxBodyBytes     = "maxBodyBytes"
	KeyAPIAuth          = "apiAuth"
	KeyJWTIssuer        = "jwtIssuer"
	KeyJWTAudience      = "jwtAudience"
	KeyCORSAllowOrigins = "corsAllowOrigins"
	KeyPublicRoutes     = "publicRoutes"
)

// API is the HTTP API in front of the queue, what api.Args takes. Each
// field is one key of apiKeys, which declares its type, default, bound and
// documentation.
type API struct {
	ThrottleRate     float64        // sluice:apiThrottleRate
	ThrottleBurst    int            // sluice:apiThrottleBurst
	ExpectedSpike    int            // sluice:expectedSpike
	MaxBodyBytes     int            // sluice:maxBodyBytes; also the queue's maximum message size
	Auth             routeauth.Mode // sluice:apiAuth
	JWTIssuer        string         // sluice:jwtIssuer
	JWTAudience      []string       // sluice:jwtAudience
	CORSAllowOrigins []string       // sluice:corsAllowOrigins
	// PublicRoutes are read by the policy pack (apigw-route-authorization),
	// not by the API component.
	PublicRoutes []string // sluice:publicRoutes
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v API) Validate() error { return checkSection(Settings{API: v}, "API") }

var apiKeys = []Spec{
	{Key: KeyAPIThrottleRate, Type: Number, Default: "500",
		Doc: "Steady requests per second the stage accepts.", DevProd: "prod: production traffic", Max: limits.MaxThrottleRate,
		field: func(s *Settings) any { return &s.API.ThrottleRate }},
	{Key: KeyAPIThrottleBurst, Type: Integer, Default: "2000",
		Doc: "Token bucket of the stage: the burst it takes without 429.", DevProd: "prod: the account's default burst", Range: limits.Range{Min: 1, Max: limits.MaxThrottleBurst},
		field: func(s *Settings) any { return &s.API.ThrottleBurst }},
	{Key: KeyExpectedSpike, Type: Integer, Default: "1000",
		Doc: "Simultaneous POSTs the edge must accept without 429.", DevProd: "prod plans for larger spikes", Range: limits.Range{Min: 1, Max: limits.MaxThrottleBurst},
		field: func(s *Settings) any { return &s.API.ExpectedSpike }},
	{Key: KeyMaxBodyBytes, Type: Integer, Default: strconv.Itoa(limits.MessageBytes.Max),
		Doc: "Largest POST body; also the queue's maximum message size.", Range: limits.MessageBytes,
		field: func(s *Settings) any { return &s.API.MaxBodyBytes }},
	{Key: KeyAPIAuth, Type: String, Default: string(routeauth.None),
		Doc: "Authorization of " + routeauth.Submit + ".", Values: modeNames(),
		field: func(s *Settings) any { return &s.API.Auth }},
	{Key: KeyJWTIssuer, Type: String,
		Doc: "Issuer of the JWT authorizer (apiAuth JWT).", Allowed: "an https:// URL (the token issuer)", Check: issuer,
		field: func(s *Settings) any { return &s.API.JWTIssuer }},
	{Key: KeyJWTAudience, Type: List,
		Doc: "Audiences the JWT authorizer accepts (apiAuth JWT).", Pattern: nonBlank, Allowed: "a comma-separated list of audiences",
		field: func(s *Settings) any { return &s.API.JWTAudience }},
	{Key: KeyCORSAllowOrigins, Type: List,
		Doc: "Origins CORS allows; unset: no CORS configuration.", Pattern: limits.CORSOriginPattern,
		Allowed: "a comma-separated list of origins such as https://app.example.com, http://localhost:3000 or *",
		field:   func(s *Settings) any { return &s.API.CORSAllowOrigins }},
	{Key: KeyPublicRoutes, Type: List, Default: routeauth.Submit,
		Doc:    "Routes that are public on purpose; the policy pack's apigw-route-authorization accepts them without authorization.",
		Values: routeauth.Routes, Allowed: "a comma-separated list of the API's route keys (" + strings.Join(routeauth.Routes, ", ") + "), or empty for none",
		field: func(s *Settings) any { return &s.API.PublicRoutes }},
}

func issuer(v string) string {
	if !routeauth.ValidIssuer(v) {
		return "must be an https:// URL (the token issuer), or unset"
	}
	return ""
}

func modeNames() []string {
	out := make([]string, len(routeauth.Modes))
	for i, m := range routeauth.Modes {
		out[i] = string(m)
	}
	return out
}
