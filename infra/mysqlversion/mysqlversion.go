// Package mysqlversion lists the RDS for MySQL major versions Sluice
// deploys and what follows from each one: the parameter group family, the
// default authentication plugin of new users, and the RDS Proxy client
// authentication type that matches it. The settings loader offers exactly
// these versions; the database and proxy components configure themselves
// from the same entry.
package mysqlversion

// Version is one supported major version.
type Version struct {
	// Major is the RDS engine version prefix, e.g. "8.4": with automatic
	// minor version upgrades on, RDS picks the newest minor of it.
	Major string
	// ParameterFamily is the parameter group family of Major.
	ParameterFamily string
	// AuthPlugin is the authentication plugin MySQL gives a user created
	// without IDENTIFIED WITH (authentication_policy on 8.4,
	// default_authentication_plugin on RDS for MySQL 8.0).
	AuthPlugin string
	// ProxyClientAuth is the RDS Proxy ClientPasswordAuthType named for
	// the same plugin. pulumi-aws v6.83.4 documents MYSQL_NATIVE_PASSWORD
	// and MYSQL_CACHING_SHA2_PASSWORD for MySQL (rds.ProxyAuth).
	ProxyClientAuth string
}

// Default is the major version a stack gets when it does not choose one:
// 8.4, the LTS release, in RDS standard support (8.0 is in paid Extended
// Support; see docs/operating.md).
const Default = "8.4"

// Versions are the supported major versions, newest first.
var Versions = []Version{
	{Major: "8.4", ParameterFamily: "mysql8.4", AuthPlugin: "caching_sha2_password", ProxyClientAuth: "MYSQL_CACHING_SHA2_PASSWORD"},
	{Major: "8.0", ParameterFamily: "mysql8.0", AuthPlugin: "mysql_native_password", ProxyClientAuth: "MYSQL_NATIVE_PASSWORD"},
}

// Lookup returns the supported version major, if it is one.
func Lookup(major string) (Version, bool) {
	for _, v := range Versions {
		if v.Major == major {
			return v, true
		}
	}
	return Version{}, false
}

// Majors lists the supported major versions, newest first.
func Majors() []string {
	out := make([]string, len(Versions))
	for i, v := range Versions {
		out[i] = v.Major
	}
	return out
}

// ProxyClientAuthTypes lists the ClientPasswordAuthType values of the
// supported versions, newest first.
func ProxyClientAuthTypes() []string {
	out := make([]string, len(Versions))
	for i, v := range Versions {
		out[i] = v.ProxyClientAuth
	}
	return out
}
