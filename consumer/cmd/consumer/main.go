// Command consumer is the Sluice SQS consumer Lambda function (runtime
// provided.al2023; the built binary is named bootstrap).
//
// Configuration comes from the environment: SLUICE_DB_* (see package
// internal/dbconn) and the consumer's own SLUICE_* variables (see package
// consumer). A malformed variable stops the function at init, so a bad
// deployment fails loudly instead of retrying every message.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/internal/clihelp"
	"github.com/sluicehq/sluice/internal/dbconn"
)

// sandbox holds what lives as long as the Lambda execution environment:
// one pool with one connection, opened at the first invocation (not at
// init, so that a cold start does not fail on a network blip) and closed on
// SIGTERM.
type sandbox struct {
	cfg  dbconn.Config
	opts consumer.Options

	mu      sync.Mutex
	db      *sql.DB
	handler *consumer.Handler
}

func (s *sandbox) get(ctx context.Context) (*consumer.Handler, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler != nil {
		return s.handler, nil
	}
	db, err := dbconn.Open(ctx, s.cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("open database %v: %w", s.cfg, err)
	}
	s.db, s.handler = db, consumer.New(db, s.opts)
	return s.handler, nil
}

func (s *sandbox) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	h, err := s.get(ctx)
	if err != nil {
		// Not a per-record problem: failing the invocation retries the
		// batch, and is counted as a function error that alarms see.
		return events.SQSEventResponse{}, err
	}
	return h.Handle(ctx, ev)
}

func (s *sandbox) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			slog.Warn("closing the database pool", "error", err)
		}
	}
}

const usage = `bootstrap is the Sluice SQS consumer Lambda function (runtime provided.al2023).
Lambda starts it; it takes no arguments and reads its configuration from the
environment:

  SLUICE_DB_ENDPOINT, SLUICE_DB_NAME, SLUICE_DB_USER, SLUICE_DB_AUTH (iam|password),
  SLUICE_DB_PASSWORD, SLUICE_DB_TLS, SLUICE_DB_TLS_CA, AWS_REGION    the database
  SLUICE_DEADLINE_MARGIN, SLUICE_MAX_STATEMENT_BYTES,
  SLUICE_METRICS_NAMESPACE                                            the consumer
  AWS_LAMBDA_LOG_LEVEL                                                the log level

See docs/consumer.md.
`

func main() {
	if clihelp.Requested(os.Args[1:]) {
		fmt.Print(usage)
		return
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		Level:       logLevel(os.Getenv("AWS_LAMBDA_LOG_LEVEL")),
		ReplaceAttr: lambdacontext.ReplaceAttr,
	})))
	// The driver's own messages (e.g. "unexpected EOF" on a lost
	// connection) would otherwise be plain text on stderr.
	_ = mysql.SetLogger(driverLog{})
	cfg, err := dbconn.FromEnv(os.Getenv)
	if err != nil {
		fail("database configuration", err)
	}
	opts, err := consumer.OptionsFromEnv(os.Getenv)
	if err != nil {
		fail("consumer configuration", err)
	}
	slog.Info("consumer starting", "database", cfg.String())
	s := &sandbox{cfg: cfg, opts: opts}
	lambda.StartWithOptions(s.handle, lambda.WithEnableSIGTERM(s.close))
}

func fail(what string, err error) {
	slog.Error("invalid "+what, "error", err)
	os.Exit(1)
}

// driverLog routes go-sql-driver/mysql's log lines into the JSON log.
type driverLog struct{}

func (driverLog) Print(v ...any) { slog.Warn("mysql driver", "detail", fmt.Sprint(v...)) }

// logLevel maps the Lambda advanced logging control's level (set when the
// function uses the JSON log format) to slog's.
func logLevel(v string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return slog.LevelInfo
	}
	return l
}
