// Package consumer turns SQS batches into rows: each message body is
// decoded and validated (package record), valid records go to users and
// invalid ones to quarantine, both in one transaction per batch, and only
// transient failures are handed back to SQS for redelivery through a
// partial batch response.
//
// A users row is keyed by its dedupe key (users.submission_id): "key:" and
// the client's idempotency key when the body carries one, else the SQS
// message id. A quarantine row is keyed by the SQS message id.
//
// Delivery semantics, per record of a batch:
//   - stored: a new users row;
//   - duplicate: the row for its dedupe key is already there, written by an
//     earlier delivery of the same message (cause "redelivery") or by
//     another message with the same idempotency key and the same values
//     (cause "resubmission": a client retry; a stored row whose
//     submitted_at is this message's SentTimestamp counts as written by
//     this message). INSERT … ON DUPLICATE KEY UPDATE leaves the existing
//     row untouched;
//   - quarantined: a quarantine row with a machine-readable reason, because
//     validation rejected the body, because MySQL rejected the row with a
//     data error (isolated by bisecting the batch), or because its
//     idempotency key is already stored with different values
//     (ReasonKeyConflict; the stored row is never overwritten);
//   - retried: listed in BatchItemFailures because the transaction could not
//     commit (connection lost, deadlock on every one of a few attempts,
//     lock wait, deadline near, …). The
//     whole transaction rolls back, so a retried record was not written;
//     SQS redelivers it, and after maxReceiveCount receives moves it to the
//     dead-letter queue.
//
// Handle never returns a non-nil error for a per-record problem.
package consumer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/consumer/statementsize"
)

// Environment variables read by OptionsFromEnv, in addition to the
// SLUICE_DB_* variables that dbconn.FromEnv reads.
const (
	EnvDeadlineMargin   = "SLUICE_DEADLINE_MARGIN"
	EnvMetricsNamespace = "SLUICE_METRICS_NAMESPACE"
	// The statement limit's variable, statementsize.EnvVar, is named in
	// package statementsize with its bounds, which infra sets.
)

// Defaults for Options.
const (
	DefaultDeadlineMargin   = 2 * time.Second
	DefaultMetricsNamespace = emf.Namespace
	// The statement limit's default and bounds are in package
	// statementsize.
)

// Options tune a Handler. The zero value means every default.
type Options struct {
	// DeadlineMargin is how long before the invocation deadline the
	// handler gives up on the database and reports the batch for retry, so
	// it answers before Lambda kills it (a timeout would retry the whole
	// batch and count as a function error). Zero means the default.
	DeadlineMargin time.Duration
	// MaxStatementBytes bounds the text of one INSERT statement (after
	// the driver interpolates the values), within statementsize.Min and
	// statementsize.Max. A single row larger than this still goes in a
	// statement of its own. Zero means statementsize.Default.
	MaxStatementBytes int
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics;
	// default emf.Namespace, the namespace the stack's alarms watch.
	MetricsNamespace string
	// FunctionName is the value of the FunctionName metric dimension;
	// default the Lambda function name, or "sluice-consumer" outside Lambda.
	FunctionName string
	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// Metrics receives one EMF line per batch; default os.Stdout, which
	// Lambda sends to CloudWatch Logs.
	Metrics io.Writer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// OptionsFromEnv reads the consumer's SLUICE_* variables through getenv.
// Unset variables keep their defaults; a malformed one is an error naming
// the variable.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	var o Options
	if v := strings.TrimSpace(getenv(EnvDeadlineMargin)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Options{}, fmt.Errorf("%s=%q: want a positive Go duration such as 2s or 1500ms", EnvDeadlineMargin, v)
		}
		o.DeadlineMargin = d
	}
	if v := strings.TrimSpace(getenv(statementsize.EnvVar)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < statementsize.Min || n > statementsize.Max {
			return Options{}, fmt.Errorf("%s=%q: want an integer from %d to %d", statementsize.EnvVar, v, statementsize.Min, statementsize.Max)
		}
		o.MaxStatementBytes = n
	}
	o.MetricsNamespace = strings.TrimSpace(getenv(EnvMetricsNamespace))
	return o, nil
}

func (o Options) withDefaults() Options {
	if o.DeadlineMargin == 0 {
		o.DeadlineMargin = DefaultDeadlineMargin
	}
	if o.MaxStatementBytes <= 0 {
		o.MaxStatementBytes = statementsize.Default
	}
	if o.MetricsNamespace == "" {
		o.MetricsNamespace = DefaultMetricsNamespace
	}
	if o.FunctionName == "" {
		o.FunctionName = lambdacontext.FunctionName
	}
	if o.FunctionName == "" {
		o.FunctionName = "sluice-consumer"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = os.Stdout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Handler processes SQS batches. It is safe for concurrent use; its
// throughput is bounded by the pool it is given (one connection per Lambda
// sandbox in production).
type Handler struct {
	db      *sql.DB
	opts    Options
	metrics *emf.Format
}

// New returns a Handler writing through db, a pool opened with dbconn.Open
// on a database migrated with migrations.Up.
func New(db *sql.DB, opts Options) *Handler {
	opts = opts.withDefaults()
	metrics, err := emf.NewFormat(opts.MetricsNamespace, map[string]string{emf.DimensionFunctionName: opts.FunctionName}, emf.ConsumerMetrics())
	if err != nil {
		// Only a clash between the names of emf.ConsumerMetrics can get
		// here: a bug, which every handler test would hit first.
		panic(err)
	}
	return &Handler{db: db, opts: opts, metrics: metrics}
}

// Stats counts what happened to the records of one batch. Every record is
// counted exactly once: Received = Stored + Quarantined + Duplicate + Retried,
// and Duplicate = DuplicateRedelivery + DuplicateResubmission.
type Stats struct {
	Received    int
	Stored      int // new users rows
	Quarantined int // new quarantine rows
	Duplicate   int // nothing new written: see the two causes
	// DuplicateRedelivery counts records whose message was already stored
	// or quarantined by an earlier delivery, or occurs twice in the batch.
	DuplicateRedelivery int
	// DuplicateResubmission counts records whose idempotency key is already
	// stored, by another message, with the same values.
	DuplicateResubmission int
	KeyConflicts          int // of Quarantined: key stored with other values
	Retried               int // reported in BatchItemFailures
	// DeadlockRetries counts the reruns of the batch's transaction after
	// a deadlock; not a record count.
	DeadlockRetries int
}

// Handle is the Lambda handler for an SQS event source mapping with
// ReportBatchItemFailures. Its error is non-nil only when the event itself
// is unusable (a message without a MessageId cannot be reported
// individually), which makes Lambda retry the whole batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	start := h.opts.Now()
	log := h.opts.Logger
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}

	b, err := h.prepare(ev.Records)
	if err != nil {
		log.ErrorContext(ctx, "unusable SQS event", "error", err, "records", len(ev.Records))
		return events.SQSEventResponse{}, err
	}
	for _, m := range b.badIDs {
		log.WarnContext(ctx, "message id unusable as submission id; leaving it to the DLQ", "messageIdBytes", len(m.MessageId))
	}

	work := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, deadline.Add(-h.opts.DeadlineMargin))
		defer cancel()
	}

	var resp events.SQSEventResponse
	stats := Stats{Received: b.records}
	res, retries, err := h.store(work, b, log)
	stats.DeadlockRetries = retries
	if err != nil {
		// Nothing of this batch was committed: hand every record back.
		transient, level := isTransient(err), slog.LevelWarn
		if !transient {
			level = slog.LevelError
		}
		log.Log(ctx, level, "batch not committed; reporting every record for retry",
			"error", describe(err), "transient", transient, "records", b.records)
		resp.BatchItemFailures = failures(b.ids)
		stats.Retried = b.records
	} else {
		for _, q := range res.rejected {
			log.InfoContext(ctx, "record rejected by the database; quarantined", "messageId", q.id, "reason", q.reason, "mysqlError", q.errNumber)
		}
		for _, q := range b.quarantine {
			log.InfoContext(ctx, "record invalid; quarantined", "messageId", q.id, "reason", q.reason)
		}
		for _, q := range res.conflicts {
			log.InfoContext(ctx, conflictMessage, "messageId", q.id, "reason", q.reason)
		}
		if res.retryErr != nil {
			log.WarnContext(ctx, "key conflicts not quarantined; reporting them for retry (the batch's other records are committed)",
				"error", describe(res.retryErr), "transient", isTransient(res.retryErr), "records", res.retried)
		}
		resp.BatchItemFailures = failures(append(b.badIDs.ids(), res.retry...))
		stats.Stored = res.stored
		stats.Quarantined = res.quarantined
		stats.KeyConflicts = res.conflictsStored
		stats.DuplicateResubmission = res.resubmissions
		stats.Retried = len(b.badIDs) + res.retried
		// The rest were there already.
		stats.DuplicateRedelivery = stats.Received - stats.Stored - stats.Quarantined - stats.DuplicateResubmission - stats.Retried
		stats.Duplicate = stats.DuplicateRedelivery + stats.DuplicateResubmission
	}

	latency := h.opts.Now().Sub(start)
	log.InfoContext(ctx, "batch done",
		"received", stats.Received, "stored", stats.Stored, "quarantined", stats.Quarantined,
		"duplicate", stats.Duplicate, "duplicateRedelivery", stats.DuplicateRedelivery,
		"duplicateResubmission", stats.DuplicateResubmission, "keyConflicts", stats.KeyConflicts,
		"retried", stats.Retried, "deadlockRetries", stats.DeadlockRetries, "latencyMs", latency.Milliseconds())
	h.emitMetrics(ctx, stats, latency)
	return resp, nil
}

// conflictMessage is the log message of a key conflict.
var conflictMessage = "idempotency key already stored with another " + otherValues + "; quarantined"

func (h *Handler) emitMetrics(ctx context.Context, s Stats, latency time.Duration) {
	// The values in the order of emf.ConsumerMetrics.
	err := h.metrics.Write(h.opts.Metrics, h.opts.Now(),
		float64(s.Received), float64(s.Stored), float64(s.Duplicate),
		float64(s.DuplicateRedelivery), float64(s.DuplicateResubmission),
		float64(s.Quarantined), float64(s.Retried), float64(s.DeadlockRetries),
		float64(latency.Microseconds())/1000)
	if err != nil {
		h.opts.Logger.WarnContext(ctx, "metrics not written", "error", err)
	}
}

func failures(ids []string) []events.SQSBatchItemFailure {
	if len(ids) == 0 {
		return nil
	}
	out := make([]events.SQSBatchItemFailure, len(ids))
	for i, id := range ids {
		out[i].ItemIdentifier = id
	}
	return out
}

// batch is an SQS event sorted into what goes where.
type batch struct {
	users      []userRow
	quarantine []quarantineRow
	badIDs     messages // ids that cannot be a submission id
	ids        []string // every distinct message id, in event order
	records    int      // every record of every message (an unusable message or body counts one)
	keyed      int      // users rows whose dedupe key is a client's idempotency key
}

type messages []events.SQSMessage

func (ms messages) ids() []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MessageId
	}
	return out
}

type userRow struct {
	key         string // the dedupe key, users.submission_id
	id          string // the record's identity: its message id, or elementID for an element of an array
	messageID   string
	values      []record.Value // of fields, in order
	submittedAt sql.NullTime
	body        string // kept to quarantine the row if MySQL rejects it
}

// fields is the record's table; every column of a users row but the dedupe
// key and submitted_at comes from it.
var fields = record.Fields()

// otherValues names the values whose difference makes a key conflict, for
// its log line and detail: "name or email" with the seed's record.
var otherValues = func() string {
	var names []string
	for i := range fields {
		names = append(names, fields[i].Member)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()

// KeyPrefix starts the dedupe key of a record that carries an idempotency
// key (record.KeyPrefix); the rest is the key as the client sent it. SQS
// message ids are UUIDs and never start with it, so the two kinds of dedupe
// key cannot collide (a message id that does is left to the DLQ).
const KeyPrefix = record.KeyPrefix

// prefixKeys turns the idempotency keys held in rows[i].key, for each i in
// keyed, into their dedupe keys: KeyPrefix followed by the key. size is
// their total length. The keys share one allocation for the batch: one
// string per record would be 1000 allocations for a batch of 1000 keyed
// records, a good part of what keyed records cost over keyless ones
// (docs/consumer.md, Throughput).
func prefixKeys(rows []userRow, keyed []int, size int) {
	var buf strings.Builder
	buf.Grow(size)
	for _, i := range keyed {
		buf.WriteString(KeyPrefix)
		buf.WriteString(rows[i].key)
	}
	all := buf.String()
	for _, i := range keyed {
		n := len(KeyPrefix) + len(rows[i].key)
		rows[i].key, all = all[:n], all[n:]
	}
}

type quarantineRow struct {
	id          string // quarantine.submission_id: the record's identity (userRow.id)
	messageID   string
	body        []byte
	reason      string
	detail      string
	submittedAt sql.NullTime
	errNumber   uint16 // MySQL error number, for rejected_by_database
}

// Quarantine reasons the consumer gives besides package record's.
const (
	// ReasonRejectedByDatabase is the reason of a record that passed
	// validation but that MySQL refused with a data error; the detail
	// column holds the MySQL error number and message.
	ReasonRejectedByDatabase = "rejected_by_database"
	// ReasonKeyConflict is the reason of a valid record whose idempotency
	// key is already stored with different values: the client
	// reused a key for another submission. The stored row stays as it is;
	// the detail names the message that stored it.
	ReasonKeyConflict = "idempotency_key_conflict"
)

func (h *Handler) prepare(msgs []events.SQSMessage) (batch, error) {
	b := batch{users: make([]userRow, 0, len(msgs)), ids: make([]string, 0, len(msgs))}
	seen := make(map[string]int, len(msgs)) // message id → its records
	p := preparer{b: &b}
	// The values of every record in one allocation: one slice per record
	// would be an allocation per record. An array body takes more.
	p.slab = make([]record.Value, len(msgs)*len(fields))
	for i, m := range msgs {
		if m.MessageId == "" {
			return batch{}, fmt.Errorf("consumer: record %d of %d has no messageId", i, len(msgs))
		}
		if n, ok := seen[m.MessageId]; ok {
			// SQS may deliver one message twice in a batch; the first
			// occurrence speaks for both (a redelivery duplicate).
			b.records += n
			continue
		}
		before := b.records
		b.ids = append(b.ids, m.MessageId)
		p.message(m)
		seen[m.MessageId] = b.records - before
	}
	prefixKeys(b.users, p.keyed, p.keyBytes)
	b.keyed = len(p.keyed)
	return b, nil
}

// preparer sorts the records of a batch's messages into b.
type preparer struct {
	b        *batch
	slab     []record.Value // room for the values of the next records
	keyed    []int          // indexes into b.users of the rows whose key is still the bare idempotency key
	keyBytes int
}

// message sorts m, one record or an array of them.
func (p *preparer) message(m events.SQSMessage) {
	b := p.b
	if !validSubmissionID(m.MessageId) {
		b.badIDs = append(b.badIDs, m)
		b.records++
		return
	}
	at := submittedAt(m.Attributes)
	elements, array, err := record.Split(m.Body)
	switch {
	case !array:
		b.records++
		p.record(m.MessageId, m.MessageId, m.Body, at, nil)
	case err != nil:
		// The body as a whole is not a usable array: one quarantine row.
		b.records++
		p.record(m.MessageId, m.MessageId, m.Body, at, err)
	case len(m.MessageId)+len(elementID("", len(elements)-1)) > maxSubmissionID:
		b.badIDs = append(b.badIDs, m) // no room for the position
		b.records++
	default:
		b.records += len(elements)
		if len(p.slab) < len(elements)*len(fields) {
			p.slab = make([]record.Value, len(elements)*len(fields))
		}
		for k, e := range elements {
			p.record(elementID(m.MessageId, k), m.MessageId, e, at, nil)
		}
	}
}

// record decodes one record, body (a whole message body, or an element
// of an array), whose identity is id, unless err already says why it is
// rejected.
func (p *preparer) record(id, messageID, body string, at sql.NullTime, err error) {
	b := p.b
	if len(p.slab) < len(fields) {
		p.slab = make([]record.Value, 64*len(fields))
	}
	values := p.slab[:len(fields):len(fields)]
	ikey := ""
	switch {
	case err != nil:
	case id == messageID:
		ikey, err = record.DecodeInto(body, values)
	default: // an element, which Split found valid UTF-8
		ikey, err = record.DecodeElement(body, values)
	}
	if err != nil {
		q := quarantineRow{id: id, messageID: messageID, body: []byte(body), reason: string(record.ReasonOf(err)), detail: err.Error(), submittedAt: at}
		if re := (*record.Error)(nil); errors.As(err, &re) {
			q.detail = re.Detail
		}
		b.quarantine = append(b.quarantine, q)
		return
	}
	p.slab = p.slab[len(fields):]
	key := id
	if ikey != "" {
		key = ikey
		p.keyed = append(p.keyed, len(b.users))
		p.keyBytes += len(KeyPrefix) + len(key)
	}
	b.users = append(b.users, userRow{
		key: key, id: id, messageID: messageID,
		values: values, submittedAt: at, body: body,
	})
}

// ElementSeparator joins a message id and the position of a record in the
// message's array (from 0) into the record's identity: its dedupe key
// without an idempotency key, and its quarantine row's submission_id.
// A body that is one object keeps the bare message id, as before arrays.
const ElementSeparator = "#"

func elementID(messageID string, k int) string {
	return messageID + ElementSeparator + strconv.Itoa(k)
}

// maxSubmissionID is the length of users.submission_id and
// quarantine.submission_id (VARCHAR(128) ascii).
const maxSubmissionID = 128

// validSubmissionID reports whether id fits users.submission_id and
// quarantine.submission_id (VARCHAR(128) ascii) and cannot be taken for a dedupe key
// made from an idempotency key. SQS message ids are UUIDs; anything else
// would fail every attempt, so it is left to go to the dead-letter queue.
func validSubmissionID(id string) bool {
	if len(id) > maxSubmissionID || strings.HasPrefix(id, KeyPrefix) || strings.Contains(id, ElementSeparator) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// submittedAt is when SQS accepted the message: the SentTimestamp
// attribute (epoch milliseconds), which every delivery of a message
// carries unchanged. Without it, ApproximateFirstReceiveTimestamp (also
// fixed after the first receive) is the next best; without either the
// time is unknown and stored as NULL rather than guessed.
func submittedAt(attrs map[string]string) sql.NullTime {
	for _, key := range []string{"SentTimestamp", "ApproximateFirstReceiveTimestamp"} {
		if ms, err := strconv.ParseInt(attrs[key], 10, 64); err == nil && ms > 0 {
			return sql.NullTime{Time: time.UnixMilli(ms).UTC(), Valid: true}
		}
	}
	return sql.NullTime{}
}
