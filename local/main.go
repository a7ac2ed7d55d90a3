// Command local runs the Sluice pipeline on one machine, with a stack's
// settings, and fires spikes at it.
//
//	go run ./local [flags]         run until Ctrl-C, then drain and stop
//	go run ./local spike [flags]   send a burst, follow the drain, report
//	go run ./local -help           what each command does and its flags
//
// Nothing leaves the machine: the edge, the SQS engine (GoAWS in this
// process by default, or moto_server) and MySQL are on loopback, and the
// SQS credentials are dummies.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/local/pipeline"
	"github.com/sluicehq/sluice/offline/local/spike"
	"github.com/sluicehq/sluice/offline/local/sqsenv"
)

// EnvDBPassword carries the admin password, which is never a flag (flags show
// in the process list).
const EnvDBPassword = "SLUICE_LOCAL_DB_PASSWORD"

// Database names: the pipeline's, and the one a spike without -url
// creates for itself so that it never counts or disturbs the rows of a
// `go run ./local` running beside it.
const (
	pipelineDBName = "sluice_local"
	spikeDBName    = "sluice_spike"
)

const usage = `Run the Sluice pipeline on one machine with a stack's settings, or fire a
spike at it. Nothing leaves the machine.

usage:
  go run ./local [flags]           run the pipeline until Ctrl-C, then drain and stop
  go run ./local spike [flags]     send a burst, follow the drain, report
  go run ./local <command> -help   the flags of one command
`

func main() {
	setGCPercent(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// gcPercent is the garbage collector's target for this process unless
// GOGC says otherwise. The pipeline's live heap is small (tens of MB) and a
// spike allocates fast, so at Go's default of 100 the collector ran many
// times a second during a burst, and every cycle shrank the stacks of the
// edge's connection goroutines, which then grew again on the next
// request; on the 2-core machine a 5,000-record spike accepted about a
// quarter faster at 400 (docs/measurements.md, Accept at API speed). The
// heap may grow to five times the live data instead of twice.
const gcPercent = 400

// setGCPercent applies gcPercent when GOGC is unset, and reports whether it
// did.
func setGCPercent(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	return true
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// errUsage marks a command line that could not be parsed; it was reported
// already, with the command's flags.
var errUsage = errors.New("usage")

// usageError is a command line that parsed but cannot run (a value out of
// range, a stack that is not there), found before anything starts.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run dispatches to the command args name and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "spike":
		err = runSpike(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		fmt.Fprintf(stderr, "local: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	default:
		err = runPipeline(args, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	}
	var bad usageError
	if errors.As(err, &bad) {
		fmt.Fprintln(stderr, "local:", err)
		return exitUsage
	}
	fmt.Fprintln(stderr, "local:", err)
	return exitFailure
}

// newFlagSet returns a flag set that prints nothing by itself: parse does,
// the help to stdout and a bad command line to stderr.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args; with -h or -help it prints header and the flags to
// stdout and returns flag.ErrHelp, and for a bad command line it prints the
// problem and the flags to stderr and returns errUsage.
func parse(fs *flag.FlagSet, args []string, header string, stdout, stderr io.Writer) error {
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		printFlags(stdout, fs, header)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "%s: %v\n\n", fs.Name(), err)
	printFlags(stderr, fs, header)
	return errUsage
}

func printFlags(w io.Writer, fs *flag.FlagSet, header string) {
	fmt.Fprint(w, header, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// common are the flags both commands take.
type common struct {
	stack, stackFile       string
	dbAddr, dbName, dbUser string
	addr                   string // the edge's listen address
	sqsEndpoint, motoLog   string
	sqsEngine              string
	verbose                bool
}

// register adds the flags of both commands; dbNameUsage says which database
// the command uses when -db-name is not given.
func (c *common) register(fs *flag.FlagSet, dbNameDefault, dbNameUsage string) {
	fs.StringVar(&c.stack, "stack", "dev", "stack whose settings to use (reads Pulumi.<stack>.yaml)")
	fs.StringVar(&c.stackFile, "stack-file", "", "settings file (default Pulumi.<stack>.yaml in the current directory)")
	fs.StringVar(&c.dbAddr, "db", "127.0.0.1:3306", "MySQL host:port (admin login; password from $"+EnvDBPassword+")")
	fs.StringVar(&c.dbName, "db-name", dbNameDefault, dbNameUsage)
	fs.StringVar(&c.dbUser, "db-user", "root", "admin user that migrates and creates the application user")
	fs.StringVar(&c.sqsEndpoint, "sqs-endpoint", "", "SQS endpoint (default $AWS_ENDPOINT_URL_SQS, else the -sqs-engine started here)")
	fs.StringVar(&c.sqsEngine, "sqs-engine", sqsenv.EngineGoAWS, "SQS engine to start when no endpoint is given: "+sqsenv.EngineGoAWS+" (in this process) or "+sqsenv.EngineMoto+" (moto_server)")
	fs.StringVar(&c.motoLog, "moto-log", "", "file for moto_server's output (default: discarded)")
	fs.BoolVar(&c.verbose, "v", false, "log the consumer's and poller's info messages")
}

func (c *common) logger() *slog.Logger {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (c *common) config() (pipeline.Config, error) {
	file := c.stackFile
	if file == "" {
		file = "Pulumi." + c.stack + ".yaml"
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return pipeline.Config{}, noStack(c, file)
	}
	if c.sqsEngine != sqsenv.EngineGoAWS && c.sqsEngine != sqsenv.EngineMoto {
		return pipeline.Config{}, usageError{fmt.Sprintf("-sqs-engine %q: want %s or %s", c.sqsEngine, sqsenv.EngineGoAWS, sqsenv.EngineMoto)}
	}
	s, err := settings.LoadFile(file)
	if err != nil {
		return pipeline.Config{}, fmt.Errorf("stack settings: %w", err)
	}
	db := dbconn.Config{
		Endpoint: c.dbAddr, Name: c.dbName, User: c.dbUser,
		Auth: dbconn.AuthPassword, Password: os.Getenv(EnvDBPassword), TLS: false,
	}
	if err := db.Validate(); err != nil {
		return pipeline.Config{}, err
	}
	log := c.logger()
	// The migrations log their progress through the default logger.
	slog.SetDefault(log)
	cfg := pipeline.Config{Settings: s, DB: db, Addr: c.addr, SQSEndpoint: c.sqsEndpoint, SQSEngine: c.sqsEngine, Logger: log}
	if c.motoLog != "" {
		f, err := os.OpenFile(c.motoLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return pipeline.Config{}, err
		}
		cfg.MotoLog = f
	}
	return cfg, nil
}

// noStack says that file is missing and which stacks there are.
func noStack(c *common, file string) error {
	if c.stackFile != "" {
		return usageError{fmt.Sprintf("-stack-file %s: no such file", file)}
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "Pulumi.*.yaml"))
	var stacks []string
	for _, f := range files {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	if len(stacks) == 0 {
		return usageError{fmt.Sprintf("-stack %s: no %s here and no other Pulumi.<stack>.yaml; run from the repository root or give -stack-file", c.stack, file)}
	}
	return usageError{fmt.Sprintf("-stack %s: no %s; the stacks here are %s", c.stack, file, strings.Join(stacks, ", "))}
}

func runPipeline(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("local")
	var c common
	c.register(fs, pipelineDBName, "database, created if missing")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "edge listen address (POST /submit)")
	statusAddr := fs.String("status-addr", "127.0.0.1:8081", "status listen address (GET /counts); empty disables")
	drainTimeout := fs.Duration("drain-timeout", 5*time.Minute, "on Ctrl-C, how long to wait for the queue to empty")
	every := fs.Duration("every", time.Second, "how often to print the counts")
	if err := parse(fs, args, usage, stdout, stderr); err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)

	p, err := pipeline.Start(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer p.Stop()
	stopStatus, err := serveStatus(*statusAddr, p)
	if err != nil {
		return err
	}
	defer stopStatus()
	s := cfg.Settings
	source := "stack " + c.stack
	if c.stackFile != "" {
		source = c.stackFile
	}
	fmt.Fprintf(stdout, "sluice local (%s): POST %s/submit\n", source, p.URL())
	for _, gap := range pipeline.NotEmulated(s.API) {
		fmt.Fprintf(stdout, "not emulated: %s\n", gap)
	}
	if *statusAddr != "" {
		fmt.Fprintf(stdout, "counts: GET http://%s/counts\n", *statusAddr)
	}
	fmt.Fprintf(stdout, "queue %s (visibility %s, maxReceiveCount %d) → %d sandboxes × batch %d, window %s, timeout %s → %s as %s\n",
		p.Queues().URL, s.Queue.VisibilityTimeout, s.Queue.MaxReceiveCount, s.Consumer.MaxConcurrency,
		s.Consumer.BatchSize, s.Consumer.BatchingWindow, s.Consumer.Timeout, cfg.DB.Endpoint+"/"+cfg.DB.Name, p.AppUser())

	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		select {
		case sig := <-signals:
			fmt.Fprintf(stdout, "%s: draining (Ctrl-C again to stop now)\n", sig)
			ctx, cancel := context.WithTimeout(context.Background(), *drainTimeout)
			go func() {
				select {
				case <-signals:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := p.Drain(ctx, func(c pipeline.Counts) { printCounts(stdout, c) })
			cancel()
			p.Stop()
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "drained and stopped")
			return nil
		case <-tick.C:
			if counts, err := p.Counts(context.Background()); err == nil {
				printCounts(stdout, counts)
			} else {
				fmt.Fprintln(stderr, "counts:", err)
			}
		}
	}
}

func printCounts(w io.Writer, c pipeline.Counts) {
	fmt.Fprintf(w, "%s accepted %d  queued %d  in flight %d  stored %d  quarantined %d  deduplicated %d  dlq %d  db sessions %d  (429 %d, other 4xx %d)\n",
		c.Time.Format("15:04:05"), c.Accepted, c.Queued, c.InFlight, c.Stored, c.Quarantined, c.Deduplicated, c.DLQ, c.DBConnections, c.Throttled, c.Rejected)
}

// serveStatus serves GET /counts on addr, for `spike --url` and for humans.
func serveStatus(addr string, p *pipeline.Pipeline) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("status listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, r *http.Request) {
		c, err := p.Counts(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}

const spikeUsage = `Send a burst of POSTs, follow the drain and report: to a pipeline of its own
(database ` + spikeDBName + `, user <dbAppUser>_spike, any free port), or with -url
to a running go run ./local.

usage:
  go run ./local spike [flags]
`

func runSpike(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("local spike")
	var c common
	c.register(fs, "", "database; unset: "+spikeDBName+", created if missing, or with -url the running pipeline's "+pipelineDBName)
	n := fs.Int("n", 10000, "records to send")
	conc := fs.Int("c", 200, "concurrent clients")
	retries := fs.Int("retries", 8, "retries of a 429 answer per record, with exponential backoff from 100 ms")
	keys := fs.Bool("keys", false, "give every record an idempotency key (\"idempotency_key\" in the body)")
	retryFraction := fs.Float64("retry-fraction", 0, "share of records (0-1) sent again with the same idempotency key, half of them\nfirst by a client that gives up without reading the answer (implies -keys)")
	perRequest := fs.Int("per-request", 1, "records per POST: 1 posts each record as a JSON object, more post JSON arrays")
	url := fs.String("url", "", "edge of a running go run ./local, e.g. http://127.0.0.1:8080 (default: start a pipeline here)")
	statusURL := fs.String("status-url", "http://127.0.0.1:8081/counts", "counts of the running pipeline (with -url)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	plotFile := fs.String("plot", "", "write queue depth and rows stored over time to this PNG")
	drainTimeout := fs.Duration("drain-timeout", 10*time.Minute, "how long to wait for the drain")
	for _, name := range []string{"sqs-endpoint", "sqs-engine", "moto-log"} {
		fs.Lookup(name).Usage += " (without -url)"
	}
	if err := parse(fs, args, spikeUsage, stdout, stderr); err != nil {
		return err
	}
	o := spike.Options{N: *n, Concurrency: *conc, Retries: *retries, Keys: *keys, RetryFraction: *retryFraction, PerRequest: *perRequest, DrainTimeout: *drainTimeout}
	if *perRequest < 1 {
		return usageError{fmt.Sprintf("spike: -per-request %d: want at least 1 record", *perRequest)}
	}
	if err := o.Check(); err != nil {
		return usageError{"spike: " + err.Error()}
	}
	c.dbName = spikeDatabase(c.dbName, *url)
	cfg, err := c.config()
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	if *url != "" {
		o.URL = *url
		o.Counts = remoteCounts(*statusURL)
		db, err := dbconn.Open(ctx, cfg.DB, dbconn.PoolOptions{MaxOpenConns: 2})
		if err != nil {
			return err
		}
		defer db.Close()
		o.DB = db
	} else {
		// Its own database and application user, so a spike never rotates
		// the password of, or counts the rows of, a `go run ./local` running
		// beside it.
		cfg.AppUser = cfg.Settings.Database.AppUser + "_spike"
		cfg.Addr = "127.0.0.1:0"
		p, err := pipeline.Start(ctx, cfg)
		if err != nil {
			return err
		}
		defer p.Stop()
		o.URL, o.Counts, o.DB = p.URL(), p.Counts, p.Admin()
		raw, dropRaw, err := p.ScratchQueue(ctx, "sluice-local-raw")
		if err != nil {
			return err
		}
		defer dropRaw()
		// The engine's own rate is what a client of its API gets: over
		// HTTP, with a client of its own, whatever way the pipeline reaches
		// an in-process engine.
		rawClient, err := sqsenv.NewClient(ctx, cfg.Settings.Region, p.SQSEndpoint())
		if err != nil {
			return err
		}
		o.Raw, o.RawQueueURL = rawClient, raw
		for _, gap := range pipeline.NotEmulated(cfg.Settings.API) {
			fmt.Fprintf(stderr, "not emulated: %s\n", gap) // stderr: -json keeps stdout one object
		}
	}
	r, err := spike.Run(ctx, o)
	if err != nil {
		return err
	}
	if *url == "" {
		r.Engine = cfg.SQSEngine
		if cfg.SQSEndpoint != "" || os.Getenv("AWS_ENDPOINT_URL_SQS") != "" {
			r.Engine = "endpoint"
		}
	}
	if *plotFile != "" {
		f, err := os.Create(*plotFile)
		if err != nil {
			return err
		}
		if err := spike.Plot(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	printResult(stdout, r, cfg.Settings)
	if !r.Drained {
		return fmt.Errorf("the queue did not drain within %s", *drainTimeout)
	}
	return nil
}

// spikeDatabase is the database a spike uses: the one named, else the
// running pipeline's when it sends to one (url), else its own.
func spikeDatabase(named, url string) string {
	switch {
	case named != "":
		return named
	case url != "":
		return pipelineDBName
	}
	return spikeDBName
}

func remoteCounts(url string) func(context.Context) (pipeline.Counts, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	return func(ctx context.Context) (pipeline.Counts, error) {
		var c pipeline.Counts
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return c, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return c, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return c, fmt.Errorf("%s: %s", url, resp.Status)
		}
		return c, json.NewDecoder(resp.Body).Decode(&c)
	}
}

func printResult(w io.Writer, r spike.Result, s settings.Settings) {
	fmt.Fprintf(w, "spike %s", r.RunID)
	if r.Engine != "" {
		fmt.Fprintf(w, " (SQS: %s)", r.Engine)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  sent %d, accepted %d (429 answers %d, never accepted %d) in %.1fs\n", r.Sent, r.Accepted, r.Throttled, r.Refused, r.SendSeconds)
	if r.Keys {
		fmt.Fprintf(w, "  idempotency keys on every record; %d records sent again with the same key (%d after giving up without reading the answer)\n", r.Retries, r.Abandoned)
	}
	if r.PerRequest > 1 {
		fmt.Fprintf(w, "  %d records per POST (JSON arrays)\n", r.PerRequest)
	}
	fmt.Fprintf(w, "  accepted %.0f records/s", r.AcceptPerSec)
	if r.RawSendPerSec > 0 {
		fmt.Fprintf(w, " (the SQS engine's own SendMessage: %.0f records/s, %.2f×)", r.RawSendPerSec, r.AcceptPerSec/r.RawSendPerSec)
	}
	fmt.Fprintf(w, "\n  accept latency p50 %.1f ms, p99 %.1f ms\n", r.LatencyP50Ms, r.LatencyP99Ms)
	fmt.Fprintf(w, "  drained: %t, %.1fs after the first POST\n", r.Drained, r.DrainSeconds)
	fmt.Fprintf(w, "  stored %d, duplicates %d, quarantined %d, in DLQ %d, lost %d\n", r.Stored, r.Duplicates, r.Quarantined, r.InDLQ, r.Lost)
	fmt.Fprintf(w, "  most consumer DB sessions seen %d (maximum concurrency %d)\n", r.MaxDBConnections, s.Consumer.MaxConcurrency)
	fmt.Fprintf(w, "  peak RSS of this process %.0f MiB\n", r.PeakRSSMB)
}
