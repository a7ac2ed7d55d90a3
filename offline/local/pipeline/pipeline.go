// Package pipeline assembles the whole Sluice data path on one machine from
// a stack's settings: the HTTP edge, an SQS endpoint with the queue and DLQ,
// the event-source-mapping poller, the consumer code (one sandbox, with its
// own connection pool, per unit of maximum concurrency) and the migrated
// database, connected to as the least-privileged application user.
package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/infra/routeauth"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/local/edge"
	"github.com/sluicehq/sluice/offline/local/poller"
	"github.com/sluicehq/sluice/offline/local/sqsenv"
)

// Config says what to run.
type Config struct {
	Settings settings.Settings
	// DB is an administrative login to the target database (the local
	// MySQL root by default): it creates the database if needed, runs the
	// migrations, creates the application user and reads the counts. The
	// consumer never uses it.
	DB dbconn.Config
	// AppUser is the least-privileged user the consumer connects as;
	// default Settings.Database.AppUser. Its password is generated for the
	// run and never printed.
	AppUser string
	// Addr is the edge's listen address (host:port; port 0 picks one).
	Addr string
	// SQSEndpoint, when set, is used as is. Otherwise AWS_ENDPOINT_URL_SQS
	// is honoured, and without it SQSEngine is started.
	SQSEndpoint string
	// SQSEngine is the engine started when no endpoint is given:
	// sqsenv.EngineGoAWS (default, in process) or sqsenv.EngineMoto.
	SQSEngine string
	// QueueName defaults to "sluice-local-intake".
	QueueName string
	// WrapSandbox, when set, wraps each consumer sandbox; tests use it to
	// inject failures around the real consumer.
	WrapSandbox func(poller.Handler) poller.Handler
	// Metrics receives the consumer's EMF lines, one per batch, as Lambda
	// hands the function's stdout to CloudWatch Logs; nil discards them.
	// The sandboxes write concurrently, one line per Write call.
	Metrics io.Writer
	// FunctionName is the FunctionName dimension of those lines; default
	// "sluice-local-consumer".
	FunctionName string
	// MotoLog receives moto_server's output when this package starts it.
	MotoLog *os.File
	Logger  *slog.Logger
}

// Pipeline is a running local pipeline.
type Pipeline struct {
	cfg      Config
	log      *slog.Logger
	engine   sqsenv.Server
	endpoint string // the SQS endpoint; empty: the SDK's configuration
	sqs      *sqs.Client
	queues   sqsenv.Queues
	admin    *sql.DB
	pools    []*sql.DB
	edge     *edge.Edge
	poller   *poller.Poller
	server   *http.Server
	url      string

	run runCounts // what the consumer did in this run
	// The tables' last ids when the pipeline started: the rows of this run
	// come after them, and counting only those is a range of the primary
	// key, however many rows earlier runs left.
	base RowMark

	stopPoller context.CancelFunc
	pollerDone chan struct{}
	serveDone  chan struct{}
	stopOnce   sync.Once
}

// Start brings every part up, in dependency order, and returns once the edge
// accepts requests. On error everything already started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Pipeline, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AppUser == "" {
		cfg.AppUser = cfg.Settings.Database.AppUser
	}
	if cfg.QueueName == "" {
		cfg.QueueName = "sluice-local-intake"
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	if err := p.startDatabase(ctx); err != nil {
		return nil, err
	}
	if err := p.startQueue(ctx); err != nil {
		return nil, err
	}
	if err := p.startPoller(); err != nil {
		return nil, err
	}
	if err := p.startEdge(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pipeline) startDatabase(ctx context.Context) error {
	c := p.cfg
	if err := ensureDatabase(ctx, c.DB); err != nil {
		return err
	}
	if err := migrations.Up(ctx, c.DB); err != nil {
		return fmt.Errorf("pipeline: migrate %v: %w", c.DB, err)
	}
	password, err := randomPassword()
	if err != nil {
		return err
	}
	if err := migrations.EnsureAppUser(ctx, c.DB, c.AppUser, password); err != nil {
		return fmt.Errorf("pipeline: application user %s: %w", c.AppUser, err)
	}
	if p.admin, err = dbconn.Open(ctx, c.DB, dbconn.PoolOptions{MaxOpenConns: 2}); err != nil {
		return err
	}
	if p.base, err = MarkRows(ctx, p.admin); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	app := c.DB
	app.User, app.Password = c.AppUser, password
	for range c.Settings.Consumer.MaxConcurrency {
		// One connection per sandbox, as the consumer's Lambda main opens:
		// maximum concurrency is then the bound on database sessions.
		pool, err := dbconn.Open(ctx, app, dbconn.PoolOptions{MaxOpenConns: 1})
		if err != nil {
			return err
		}
		p.pools = append(p.pools, pool)
	}
	return nil
}

// ensureDatabase creates the target database when it does not exist yet,
// through a connection without a database selected.
func ensureDatabase(ctx context.Context, c dbconn.Config) error {
	server := c
	server.Name = "information_schema"
	db, err := dbconn.Open(ctx, server, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+c.Name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return fmt.Errorf("pipeline: create database %s on %s: %w", c.Name, c.Endpoint, err)
	}
	return nil
}

func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pipeline: generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (p *Pipeline) startQueue(ctx context.Context) error {
	endpoint := p.cfg.SQSEndpoint
	if endpoint == "" && os.Getenv("AWS_ENDPOINT_URL_SQS") == "" {
		e, err := sqsenv.Start(ctx, p.cfg.SQSEngine, p.cfg.Settings.Region, p.cfg.MotoLog)
		if err != nil {
			return err
		}
		p.engine, endpoint = e, e.Endpoint()
	}
	p.endpoint = endpoint
	var transport http.RoundTripper
	if p.engine != nil {
		transport = p.engine.Transport()
	}
	var err error
	if p.sqs, err = sqsenv.NewClientWith(ctx, p.cfg.Settings.Region, endpoint, transport); err != nil {
		return err
	}
	s := p.cfg.Settings
	p.queues, err = sqsenv.CreateQueues(ctx, p.sqs, sqsenv.QueueSpec{
		Name:                     p.cfg.QueueName,
		VisibilityTimeoutSeconds: int(s.Queue.VisibilityTimeout / time.Second),
		MaxReceiveCount:          s.Queue.MaxReceiveCount,
		MaximumMessageSize:       s.API.MaxBodyBytes,
		RetentionSeconds:         int(s.Queue.Retention / time.Second),
		DLQRetentionSeconds:      int(settings.DLQRetention / time.Second),
	})
	return err
}

func (p *Pipeline) startPoller() error {
	s := p.cfg.Settings.Consumer
	metrics, functionName := p.cfg.Metrics, p.cfg.FunctionName
	if metrics == nil {
		metrics = io.Discard
	}
	if functionName == "" {
		functionName = "sluice-local-consumer"
	}
	// The consumer's EMF lines are its own count of what each batch did;
	// the status line adds them up for this run.
	metrics = io.MultiWriter(metrics, &p.run)
	var sandboxes []poller.Handler
	for _, pool := range p.pools {
		var h poller.Handler = consumer.New(pool, consumer.Options{
			MaxStatementBytes: s.MaxStatementBytes,
			FunctionName:      functionName,
			Logger:            p.log,
			Metrics:           metrics,
		})
		if p.cfg.WrapSandbox != nil {
			h = p.cfg.WrapSandbox(h)
		}
		sandboxes = append(sandboxes, h)
	}
	var err error
	p.poller, err = poller.New(p.sqs, poller.Config{
		QueueURL:        p.queues.URL,
		QueueARN:        p.queues.ARN,
		Region:          p.cfg.Settings.Region,
		BatchSize:       s.BatchSize,
		BatchWindow:     s.BatchingWindow,
		FunctionTimeout: s.Timeout,
		Logger:          p.log,
	}, sandboxes)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopPoller, p.pollerDone = cancel, make(chan struct{})
	go func() {
		defer close(p.pollerDone)
		p.poller.Run(ctx)
	}()
	return nil
}

func (p *Pipeline) startEdge() error {
	api := p.cfg.Settings.API
	p.edge = edge.New(p.sqs, edge.Options{QueueURL: p.queues.URL, RateLimit: api.ThrottleRate, Burst: api.ThrottleBurst})
	addr := p.cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pipeline: listen on %s: %w", addr, err)
	}
	p.url = "http://" + l.Addr().String()
	p.server = &http.Server{Handler: p.edge, ReadHeaderTimeout: 10 * time.Second}
	p.serveDone = make(chan struct{})
	go func() {
		defer close(p.serveDone)
		if err := p.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("pipeline: edge stopped", "err", err)
		}
	}()
	return nil
}

// NotEmulated lists, one sentence each, what the stack's API does that the
// local edge does not: it accepts every POST and answers no CORS preflight,
// so a stack with route authorization or CORS would otherwise behave more
// openly here than in AWS without saying so.
func NotEmulated(api settings.API) []string {
	var out []string
	switch api.Auth {
	case routeauth.JWT:
		out = append(out, fmt.Sprintf("route authorization JWT (issuer %s): the local edge accepts POSTs without a token", api.JWTIssuer))
	case routeauth.IAM:
		out = append(out, "route authorization AWS_IAM: the local edge accepts unsigned POSTs")
	}
	if len(api.CORSAllowOrigins) > 0 {
		out = append(out, fmt.Sprintf("CORS for %s: the local edge sends no CORS headers and answers OPTIONS with 404", strings.Join(api.CORSAllowOrigins, ", ")))
	}
	return out
}

// URL is the edge's base URL; POST records to URL()+"/submit".
func (p *Pipeline) URL() string { return p.url }

// Queues names the queue pair.
func (p *Pipeline) Queues() sqsenv.Queues { return p.queues }

// SQSEndpoint is the SQS endpoint's URL (empty when the SDK's
// configuration names it), for clients of other processes.
func (p *Pipeline) SQSEndpoint() string { return p.endpoint }

// SQS is the client the pipeline uses.
func (p *Pipeline) SQS() *sqs.Client { return p.sqs }

// Admin is the administrative pool (for reading results, not for the
// consumer).
func (p *Pipeline) Admin() *sql.DB { return p.admin }

// AppUser is the database user the consumer connects as.
func (p *Pipeline) AppUser() string { return p.cfg.AppUser }

// Poller exposes the event source mapping's counters.
func (p *Pipeline) Poller() *poller.Poller { return p.poller }

// ScratchQueue creates a queue named name on the pipeline's SQS endpoint,
// with the main queue's maximum message size, that nothing consumes (the
// spike measures the engine's own SendMessage rate on it) and returns its
// URL and a function that deletes it.
func (p *Pipeline) ScratchQueue(ctx context.Context, name string) (url string, drop func(), err error) {
	attrs := map[string]string{}
	if n := p.cfg.Settings.API.MaxBodyBytes; n > 0 {
		attrs["MaximumMessageSize"] = strconv.Itoa(n)
	}
	out, err := p.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		return "", nil, fmt.Errorf("pipeline: create queue %s: %w", name, err)
	}
	return *out.QueueUrl, func() {
		_, _ = p.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	}, nil
}

// Counts is a snapshot of where this run's messages are: with one record
// per message and none delivered again after it was written, accepted =
// queued + in flight + stored + quarantined + deduplicated + dlq.
type Counts struct {
	Time        time.Time `json:"time"`
	Accepted    int64     `json:"accepted"`  // 200 answers of the edge
	Throttled   int64     `json:"throttled"` // 429 answers
	Rejected    int64     `json:"rejected"`  // other 4xx answers
	Queued      int       `json:"queued"`    // visible on the queue
	InFlight    int       `json:"in_flight"` // received, not yet deleted
	Stored      int64     `json:"stored"`    // users rows written in this run
	Quarantined int64     `json:"quarantined"`
	// Deduplicated counts records that wrote nothing because their row is
	// there already: a resend under an idempotency key, or a redelivery.
	Deduplicated  int64 `json:"deduplicated"`
	DLQ           int   `json:"dlq"`
	DBConnections int   `json:"db_connections"` // the application user's server sessions
}

// runCounts adds up the consumer's EMF lines, one per batch, as they are
// written.
type runCounts struct {
	duplicates atomic.Int64
}

func (r *runCounts) Write(line []byte) (int, error) {
	var m map[string]any
	if json.Unmarshal(line, &m) == nil {
		add := func(c *atomic.Int64, name string) {
			if v, ok := m[name].(float64); ok {
				c.Add(int64(v))
			}
		}
		add(&r.duplicates, emf.RecordsDuplicate)
	}
	return len(line), nil
}

// Counts reads every count once.
func (p *Pipeline) Counts(ctx context.Context) (Counts, error) {
	c := Counts{Time: time.Now()}
	es := p.edge.Stats()
	c.Accepted, c.Throttled, c.Rejected = es.Accepted, es.Throttled, es.Rejected
	main, err := sqsenv.GetDepth(ctx, p.sqs, p.queues.URL)
	if err != nil {
		return c, err
	}
	c.Queued, c.InFlight = main.Visible, main.InFlight
	dlq, err := sqsenv.GetDepth(ctx, p.sqs, p.queues.DLQURL)
	if err != nil {
		return c, err
	}
	c.DLQ = dlq.Visible + dlq.InFlight
	// Rows, not the consumer's counts: a batch whose commit reached the
	// server but whose answer did not is retried and then counted by the
	// consumer as a redelivery, yet its rows are this run's.
	if err := p.admin.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users WHERE id > ?), (SELECT COUNT(*) FROM quarantine WHERE id > ?)",
		p.base.Users, p.base.Quarantine).Scan(&c.Stored, &c.Quarantined); err != nil {
		return c, fmt.Errorf("pipeline: count rows: %w", err)
	}
	c.Deduplicated = p.run.duplicates.Load()
	if c.DBConnections, err = AppConnections(ctx, p.admin, p.cfg.AppUser); err != nil {
		return c, err
	}
	return c, nil
}

// AppConnections counts the server sessions of user: the connections the
// consumer's pools hold open at this moment, as the server sees them (rows
// of the process list), independent of what the client believes.
func AppConnections(ctx context.Context, admin *sql.DB, user string) (int, error) {
	var n int
	if err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", user).Scan(&n); err != nil {
		return 0, fmt.Errorf("pipeline: count sessions of %s: %w", user, err)
	}
	return n, nil
}

// Drain stops accepting requests, then waits until the queue is empty and no
// batch is in flight (records that keep failing go on cycling until the
// redrive policy moves them to the DLQ), or until ctx ends.
func (p *Pipeline) Drain(ctx context.Context, progress func(Counts)) error {
	if p.server != nil {
		shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := p.server.Shutdown(shutdownCtx)
		cancel()
		if err != nil {
			return fmt.Errorf("pipeline: stop the edge: %w", err)
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := p.Counts(ctx)
		if err == nil {
			if progress != nil {
				progress(c)
			}
			if c.Queued == 0 && c.InFlight == 0 && p.poller.Stats().InFlight == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pipeline: drain interrupted with messages left: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop ends everything: the edge, the poller (after its invocations in
// flight), the pools and the SQS engine. It is safe to call more than once.
func (p *Pipeline) Stop() {
	p.stopOnce.Do(func() {
		if p.server != nil {
			_ = p.server.Close()
			<-p.serveDone
		}
		if p.stopPoller != nil {
			p.stopPoller()
			<-p.pollerDone
		}
		for _, pool := range p.pools {
			_ = pool.Close()
		}
		if p.admin != nil {
			_ = p.admin.Close()
		}
		if p.engine != nil {
			p.engine.Stop()
		}
	})
}

// RowMark is the last row id of users and quarantine at one moment: the
// rows after it are the ones a run added, and counting only those keeps
// the queries cheap however many rows earlier runs left.
type RowMark struct{ Users, Quarantine uint64 }

// MarkRows reads the last row ids of users and quarantine now.
func MarkRows(ctx context.Context, db *sql.DB) (RowMark, error) {
	var m RowMark
	if err := db.QueryRowContext(ctx, "SELECT (SELECT COALESCE(MAX(id), 0) FROM users), (SELECT COALESCE(MAX(id), 0) FROM quarantine)").Scan(&m.Users, &m.Quarantine); err != nil {
		return RowMark{}, fmt.Errorf("last row ids: %w", err)
	}
	return m, nil
}
