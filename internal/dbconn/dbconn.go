// Package dbconn opens the MySQL connection pool that the consumer, the
// migrator and the local pipeline share, so that authentication, TLS and
// driver options are decided in exactly one place.
//
// With IAM authentication (the default) a fresh RDS auth token is minted for
// every new physical connection through mysql.BeforeConnect, because tokens
// expire after 15 minutes while pooled connections live longer. The token is
// sent with the cleartext plugin, which is why IAM auth refuses to run
// without TLS.
package dbconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/go-sql-driver/mysql"
)

// Auth selects how the client proves its identity to the server.
type Auth string

const (
	// AuthIAM mints an RDS IAM auth token per connection (production).
	AuthIAM Auth = "iam"
	// AuthPassword sends a static password (local MySQL, tests).
	AuthPassword Auth = "password"
)

// Environment variable names: the contract between infra/ (which sets them
// on the Lambda functions) and the binaries that read them.
const (
	EnvEndpoint = "SLUICE_DB_ENDPOINT"
	EnvName     = "SLUICE_DB_NAME"
	EnvUser     = "SLUICE_DB_USER"
	EnvAuth     = "SLUICE_DB_AUTH"
	EnvPassword = "SLUICE_DB_PASSWORD"
	EnvTLS      = "SLUICE_DB_TLS"
	EnvTLSCA    = "SLUICE_DB_TLS_CA"
	EnvRegion   = "AWS_REGION"
)

// Config describes one database connection. The zero value is not usable;
// build it with FromEnv or fill it and call Validate.
type Config struct {
	Endpoint string // host:port of the RDS Proxy (or MySQL server)
	Name     string // database (schema) name
	User     string
	Auth     Auth
	Password string // AuthPassword only; never logged
	TLS      bool
	// TLSCAFile optionally names a PEM bundle to trust instead of the
	// system roots (RDS Proxy certificates chain to Amazon Root CA 1,
	// which the system roots already hold).
	TLSCAFile string
	Region    string // AuthIAM only: the region the token is signed for

	// MultiStatements lets one Exec run several statements; only the
	// migrator needs it, because golang-migrate runs a file in one Exec.
	MultiStatements bool

	// ConnectWait is how long the migrator's operations keep retrying a
	// connection that fails with an Unreachable or AuthPending error
	// (see Classify) before giving up; 0 tries once. The consumer and
	// the pool ignore it.
	ConnectWait time.Duration
}

// FromEnv reads the SLUICE_DB_* variables (and AWS_REGION for IAM auth)
// through getenv, applies defaults and validates the result.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Endpoint:  strings.TrimSpace(getenv(EnvEndpoint)),
		Name:      strings.TrimSpace(getenv(EnvName)),
		User:      strings.TrimSpace(getenv(EnvUser)),
		Auth:      Auth(strings.ToLower(strings.TrimSpace(getenv(EnvAuth)))),
		Password:  getenv(EnvPassword),
		TLS:       true,
		TLSCAFile: strings.TrimSpace(getenv(EnvTLSCA)),
		Region:    strings.TrimSpace(getenv(EnvRegion)),
	}
	if c.Auth == "" {
		c.Auth = AuthIAM
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvTLS))); v {
	case "", "true", "1":
		c.TLS = true
	case "false", "0":
		c.TLS = false
	default:
		return Config{}, fmt.Errorf("%s=%q: want true or false", EnvTLS, v)
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot work, naming the variable
// that carries it.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return fmt.Errorf("%s is required (host:port of the RDS Proxy or MySQL server)", EnvEndpoint)
	}
	if _, port, err := net.SplitHostPort(c.Endpoint); err != nil || port == "" {
		return fmt.Errorf("%s=%q: want host:port", EnvEndpoint, c.Endpoint)
	}
	if c.Name == "" {
		return fmt.Errorf("%s is required (database name)", EnvName)
	}
	if c.User == "" {
		return fmt.Errorf("%s is required (database user)", EnvUser)
	}
	switch c.Auth {
	case AuthIAM:
		if !c.TLS {
			return fmt.Errorf("%s=false is not allowed with %s=iam: the IAM token would cross the network in cleartext", EnvTLS, EnvAuth)
		}
		if c.Region == "" {
			return fmt.Errorf("%s is required with %s=iam (the region the auth token is signed for)", EnvRegion, EnvAuth)
		}
		if c.Password != "" {
			return fmt.Errorf("%s must be empty with %s=iam", EnvPassword, EnvAuth)
		}
	case AuthPassword:
	default:
		return fmt.Errorf("%s=%q: want iam or password", EnvAuth, c.Auth)
	}
	return nil
}

// String describes the target without any credential, for logs.
func (c Config) String() string {
	return fmt.Sprintf("%s@%s/%s (auth=%s tls=%t)", c.User, c.Endpoint, c.Name, c.Auth, c.TLS)
}

// MySQLConfig builds the driver configuration. For AuthIAM the returned
// config has a BeforeConnect hook that needs AWS credentials, loaded here
// once from the default chain (the Lambda role, in Lambda).
func (c Config) MySQLConfig(ctx context.Context) (*mysql.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = c.Endpoint
	mc.DBName = c.Name
	mc.User = c.User
	// Client-side interpolation: one round trip per statement and no
	// server-side prepared statements, which would pin RDS Proxy sessions.
	mc.InterpolateParams = true
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.MultiStatements = c.MultiStatements
	mc.Timeout = 5 * time.Second
	mc.ReadTimeout = 60 * time.Second
	mc.WriteTimeout = 60 * time.Second

	if c.TLS {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		mc.TLS = tc
	}

	switch c.Auth {
	case AuthPassword:
		mc.Passwd = c.Password
	case AuthIAM:
		// The IAM token travels via mysql_clear_password; TLS is enforced
		// by Validate above.
		mc.AllowCleartextPasswords = true
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region))
		if err != nil {
			return nil, fmt.Errorf("dbconn: load AWS credentials for IAM auth: %w", err)
		}
		creds := awsCfg.Credentials
		if err := mc.Apply(mysql.BeforeConnect(func(ctx context.Context, cfg *mysql.Config) error {
			token, err := buildToken(ctx, c.Endpoint, c.Region, c.User, creds)
			if err != nil {
				return err
			}
			cfg.Passwd = token
			return nil
		})); err != nil {
			return nil, fmt.Errorf("dbconn: install IAM token hook: %w", err)
		}
	}
	return mc, nil
}

func buildToken(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider) (string, error) {
	token, err := auth.BuildAuthToken(ctx, endpoint, region, user, creds)
	if err != nil {
		return "", fmt.Errorf("dbconn: build IAM auth token for %s@%s: %w", user, endpoint, err)
	}
	return token, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(c.Endpoint)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("dbconn: read %s: %w", EnvTLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("dbconn: %s=%s holds no PEM certificate", EnvTLSCA, c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// PoolOptions bound the pool. The consumer uses one connection per Lambda
// sandbox so that the event source mapping's maximum concurrency is also
// the bound on proxy client connections.
type PoolOptions struct {
	MaxOpenConns    int           // default 1
	ConnMaxLifetime time.Duration // default 5m, below common middlebox idle cut-offs
	ConnMaxIdleTime time.Duration // default 2m, below RDS Proxy's idle client timeout
}

// Open returns a pool for c. It does not dial: the first query connects,
// which keeps Lambda cold starts from failing on a transient network blip.
func Open(ctx context.Context, c Config, o PoolOptions) (*sql.DB, error) {
	mc, err := c.MySQLConfig(ctx)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("dbconn: %v: %w", c, err)
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 1
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = 5 * time.Minute
	}
	if o.ConnMaxIdleTime <= 0 {
		o.ConnMaxIdleTime = 2 * time.Minute
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxOpenConns)
	db.SetConnMaxLifetime(o.ConnMaxLifetime)
	db.SetConnMaxIdleTime(o.ConnMaxIdleTime)
	return db, nil
}
