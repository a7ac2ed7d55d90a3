package consumer

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/consumer/record"
)

// maxPlaceholders is MySQL's limit on parameters in one prepared statement
// (ER_PS_MANY_PARAM). Statements are interpolated client-side, but the
// driver falls back to a server-side prepare when it cannot interpolate,
// so chunks respect the limit either way.
const maxPlaceholders = 65535

// maxDetailChars is the length of quarantine.detail (VARCHAR(1024)).
const maxDetailChars = 1024

// insertStatement is a multi-row INSERT that is a no-op for a submission id
// that is already there. "submission_id = submission_id" rather than
// VALUES(col), deprecated since MySQL 8.0.20, or the MySQL 8.0.19 row alias
// (AS new), which MariaDB 10.11 does not parse; and not INSERT IGNORE,
// which would also turn data errors into warnings and store truncated
// values. submission_id is the only unique key besides the primary key, so
// a duplicate can only mean the same dedupe key.
type insertStatement struct {
	table   string
	columns []string
}

var (
	usersInsert      = insertStatement{"users", usersColumns()}
	quarantineInsert = insertStatement{"quarantine", []string{"submission_id", "body", "reason", "detail", "submitted_at"}}
)

// usersColumns are the columns of a users row: the dedupe key, the
// record's fields, and when SQS accepted the message.
func usersColumns() []string {
	cols := []string{"submission_id"}
	for i := range fields {
		cols = append(cols, fields[i].Column)
	}
	return append(cols, "submitted_at")
}

func (s insertStatement) text(rows int) string {
	row := "(" + strings.Repeat("?, ", len(s.columns)-1) + "?)"
	var b strings.Builder
	b.Grow(128 + rows*(len(row)+2))
	b.WriteString("INSERT INTO ")
	b.WriteString(s.table)
	b.WriteString(" (")
	b.WriteString(strings.Join(s.columns, ", "))
	b.WriteString(") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE submission_id = submission_id")
	return b.String()
}

// fixedLen is the length of the statement without its rows.
func (s insertStatement) fixedLen() int { return len(s.text(0)) }

// exec inserts rows and returns how many were new (with ON DUPLICATE KEY
// UPDATE a no-op update counts 0 affected rows, an insert 1).
func exec[T any](ctx context.Context, db execer, s insertStatement, rows []T, appendValues func([]any, T) []any) (int, error) {
	args := make([]any, 0, len(rows)*len(s.columns))
	for _, r := range rows {
		args = appendValues(args, r)
	}
	res, err := db.ExecContext(ctx, s.text(len(rows)), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return int(n), nil
}

// execer is a *sql.DB (autocommit) or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queryExecer is an execer that also reads.
type queryExecer interface {
	execer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// chunks splits rows so that each statement's interpolated text stays
// within limit bytes and its placeholders within maxPlaceholders. A row
// that alone exceeds limit gets a chunk of its own.
func chunks[T any](rows []T, s insertStatement, limit int, size func(T) int) [][]T {
	var out [][]T
	fixed := s.fixedLen()
	start, total := 0, fixed
	for i, r := range rows {
		n := size(r)
		if i > start && (total+n > limit || (i-start+1)*len(s.columns) > maxPlaceholders) {
			out = append(out, rows[start:i])
			start, total = i, fixed
		}
		total += n
	}
	if start < len(rows) {
		out = append(out, rows[start:])
	}
	return out
}

type storeResult struct {
	stored          int             // new users rows
	quarantined     int             // new quarantine rows
	rejected        []quarantineRow // valid records MySQL refused, now in quarantine
	resubmissions   int             // valid records whose key is stored by another message with the same values
	conflicts       []quarantineRow // valid records whose key is stored with other values, quarantined
	conflictsStored int             // of quarantined: new rows for conflicts
	// retry lists message ids whose outcome is not committed although the
	// rest of the batch is, retried counts their records that are not,
	// and retryErr says why (see store).
	retry    []string
	retried  int
	retryErr error
}

// deadlockAttempts bounds how many times store runs a batch's transaction
// when InnoDB picks it as a deadlock victim (1213 ER_LOCK_DEADLOCK).
const deadlockAttempts = 3

// deadlockBackoff is the base wait before the second attempt; it doubles
// for each further one and is jittered, so that the two sides of the
// deadlock, likely to retry at once, do not collide again.
const deadlockBackoff = 20 * time.Millisecond

// store runs storeOnce, and runs it again from the start, classification
// reads included, when it fails with a deadlock: InnoDB rolled the whole
// transaction back, so nothing of the attempt remains, and MySQL's advice
// is to re-issue it (applications should be "always prepared to re-issue a
// transaction if it gets rolled back because of a deadlock",
// https://dev.mysql.com/doc/en/innodb-deadlocks-handling.html). Handing
// the batch back instead would stall it for the queue's visibility
// timeout. After deadlockAttempts attempts, or when the wait would pass
// ctx's deadline (the invocation's, less the margin), the error goes back
// to Handle, which hands the batch back as before. retries counts the
// reruns.
//
// A lock wait timeout (1205) is not retried: InnoDB rolls back only the
// statement by default (innodb_rollback_on_timeout=OFF,
// https://dev.mysql.com/doc/en/innodb-error-handling.html), so the
// transaction is not known to be gone without storeOnce's own rollback,
// and the wait already cost innodb_lock_wait_timeout (50 s by default):
// another attempt would most likely run into the deadline margin.
func (h *Handler) store(ctx context.Context, b batch, log *slog.Logger) (res storeResult, retries int, err error) {
	for attempt := 1; ; attempt++ {
		res, err = h.storeOnce(ctx, b)
		if err == nil || !isDeadlock(err) || attempt == deadlockAttempts {
			return res, attempt - 1, err
		}
		wait := jitter(deadlockBackoff << (attempt - 1))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return res, attempt - 1, err
		}
		log.WarnContext(ctx, "batch transaction deadlocked; running it again",
			"error", describe(err), "attempt", attempt+1, "maxAttempts", deadlockAttempts,
			"waitMs", wait.Milliseconds(), "records", b.records)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, attempt - 1, err
		case <-t.C:
		}
	}
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2)
}

// storeOnce writes the batch in one transaction (or one autocommitted
// statement): either all of it commits, or none of it does and the error
// says why. One exception keeps the common case at one statement: when the
// single autocommitted INSERT of a batch without invalid records finds an
// idempotency key stored with other values, the quarantine rows for those
// conflicts follow in a second statement; if that fails, the users rows
// stay committed and only the conflicting records are reported in retry.
func (h *Handler) storeOnce(ctx context.Context, b batch) (storeResult, error) {
	var res storeResult
	if len(b.users) == 0 && len(b.quarantine) == 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("consumer: within %v of the invocation deadline before starting: %w", h.opts.DeadlineMargin, err)
	}
	userChunks := chunks(b.users, usersInsert, h.opts.MaxStatementBytes, userRow.literalLen)
	if len(userChunks) == 1 && len(b.quarantine) == 0 {
		// The common case, one statement of valid records: InnoDB makes
		// a single autocommitted statement atomic, which saves the
		// BEGIN and COMMIT round trips. A data error rolled the statement
		// back, so the transaction below starts from nothing.
		n, err := exec(ctx, h.db, usersInsert, userChunks[0], appendUser)
		if err == nil {
			res.stored = n
			if err := h.classify(ctx, h.db, b, &res); err != nil {
				return storeResult{}, err
			}
			if len(res.conflicts) > 0 {
				h.quarantineConflicts(ctx, &res)
			}
			return res, nil
		}
		if _, ok := dataError(err); !ok {
			return storeResult{}, fmt.Errorf("consumer: insert %d users rows: %w", len(b.users), err)
		}
	}
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("consumer: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // the error that got us here is the one worth reporting
		}
	}()

	for _, c := range userChunks {
		if err := h.insertUsers(ctx, tx, c, &res); err != nil {
			return storeResult{}, err
		}
	}
	if err := h.classify(ctx, tx, b, &res); err != nil {
		return storeResult{}, err
	}
	quarantine := append(slices.Clip(b.quarantine), res.rejected...)
	for _, c := range chunks(quarantine, quarantineInsert, h.opts.MaxStatementBytes, quarantineRow.literalLen) {
		n, err := exec(ctx, tx, quarantineInsert, c, appendQuarantine)
		if err != nil {
			return storeResult{}, fmt.Errorf("consumer: insert %d quarantine rows: %w", len(c), err)
		}
		res.quarantined += n
	}
	// Conflicts in statements of their own, so that the affected rows
	// count the conflicts quarantined now (not by an earlier delivery).
	for _, c := range chunks(res.conflicts, quarantineInsert, h.opts.MaxStatementBytes, quarantineRow.literalLen) {
		n, err := exec(ctx, tx, quarantineInsert, c, appendQuarantine)
		if err != nil {
			return storeResult{}, fmt.Errorf("consumer: insert %d key-conflict quarantine rows: %w", len(c), err)
		}
		res.quarantined += n
		res.conflictsStored += n
	}
	if err := tx.Commit(); err != nil {
		return storeResult{}, fmt.Errorf("consumer: commit: %w", err)
	}
	committed = true
	return res, nil
}

// quarantineConflicts quarantines the conflicts classify found after the
// autocommitted users INSERT of store's common case committed. On failure
// the conflicting records alone go back to SQS: their next delivery finds
// the same conflict and quarantines them then.
func (h *Handler) quarantineConflicts(ctx context.Context, res *storeResult) {
	for _, c := range chunks(res.conflicts, quarantineInsert, h.opts.MaxStatementBytes, quarantineRow.literalLen) {
		n, err := exec(ctx, h.db, quarantineInsert, c, appendQuarantine)
		if err != nil {
			for _, r := range res.conflicts {
				if !slices.Contains(res.retry, r.messageID) {
					res.retry = append(res.retry, r.messageID)
				}
			}
			res.retried = len(res.conflicts)
			res.retryErr = fmt.Errorf("consumer: insert %d key-conflict quarantine rows: %w", len(c), err)
			res.quarantined, res.conflictsStored = 0, 0
			return
		}
		res.quarantined += n
		res.conflictsStored += n
	}
}

// classify tells apart, after the users INSERTs, the keyed records that
// wrote nothing: their key is stored by another message with the same
// values (a resubmission) or with others (a conflict, to be
// quarantined). Without keyed records, or when every row was new, there is
// nothing to ask: the remaining duplicates are redeliveries.
//
// The message that stored a row is told by its submitted_at, the
// SentTimestamp that every delivery of one message carries unchanged,
// rather than by storing its message id: one more value in every row
// costs the INSERT 10–16 % of its throughput (docs/consumer.md,
// Throughput), for a distinction only the duplicate cause metrics make.
// Two messages sent with the same key and values within the same
// millisecond are therefore counted as a redelivery, not a resubmission;
// either way nothing is written twice.
func (h *Handler) classify(ctx context.Context, db queryExecer, b batch, res *storeResult) error {
	if b.keyed == 0 || res.stored == len(b.users)-len(res.rejected) {
		return nil
	}
	rejected := make(map[string]bool, len(res.rejected))
	for _, r := range res.rejected {
		rejected[r.id] = true
	}
	var keyed []userRow
	for _, r := range b.users {
		if strings.HasPrefix(r.key, KeyPrefix) && !rejected[r.id] {
			keyed = append(keyed, r)
		}
	}
	stored, err := storedUnder(ctx, db, keyed)
	if err != nil {
		return err
	}
	for _, r := range keyed {
		s, ok := stored[r.key]
		switch {
		case !ok:
			// The INSERT neither wrote nor found a row for this key.
			return fmt.Errorf("consumer: no users row for dedupe key of record %s after inserting it", r.id)
		case !sameValues(s.values, r.values):
			res.conflicts = append(res.conflicts, quarantineRow{
				id: r.id, messageID: r.messageID, body: []byte(r.body), reason: ReasonKeyConflict,
				detail: fmt.Sprintf("idempotency key %q is already stored (users.id %d, submitted %s) with a different %s; the stored row is unchanged",
					strings.TrimPrefix(r.key, KeyPrefix), s.id, formatSubmitted(s.submittedAt), otherValues),
				submittedAt: r.submittedAt,
			})
		case sameInstant(s.submittedAt, r.submittedAt):
			// Written now, or by an earlier delivery of this message.
		default:
			res.resubmissions++
		}
	}
	return nil
}

type storedRow struct {
	id          int64
	values      []record.Value // of fields, in order
	submittedAt sql.NullTime
}

// sameValues reports whether a stored row's values are a record's.
func sameValues(stored, sent []record.Value) bool {
	for i := range fields {
		if !fields[i].Equal(stored[i], sent[i]) {
			return false
		}
	}
	return true
}

// sameInstant reports whether a and b are the same time, or both unknown.
func sameInstant(a, b sql.NullTime) bool {
	return a.Valid == b.Valid && (!a.Valid || a.Time.Equal(b.Time))
}

func formatSubmitted(t sql.NullTime) string {
	if !t.Valid {
		return "at an unknown time"
	}
	return t.Time.UTC().Format("2006-01-02T15:04:05.000Z")
}

// storedUnder reads the users rows stored under the dedupe keys of rows.
func storedUnder(ctx context.Context, db queryExecer, rows []userRow) (map[string]storedRow, error) {
	out := make(map[string]storedRow, len(rows))
	const perQuery = 1000
	for start := 0; start < len(rows); start += perQuery {
		part := rows[start:min(start+perQuery, len(rows))]
		args := make([]any, len(part))
		for i, r := range part {
			args[i] = r.key
		}
		q := "SELECT submission_id, id, " + strings.Join(usersInsert.columns[1:], ", ") + " FROM users WHERE submission_id IN (" +
			strings.Repeat("?, ", len(part)-1) + "?)"
		rs, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("consumer: read %d rows by idempotency key: %w", len(part), err)
		}
		for rs.Next() {
			var key string
			s := storedRow{values: make([]record.Value, len(fields))}
			dest := []any{&key, &s.id}
			read := make([]func() (record.Value, error), len(fields))
			for i := range fields {
				var d any
				d, read[i] = fields[i].Scanner()
				dest = append(dest, d)
			}
			dest = append(dest, &s.submittedAt)
			if err := rs.Scan(dest...); err != nil {
				rs.Close()
				return nil, fmt.Errorf("consumer: read rows by idempotency key: %w", err)
			}
			for i := range fields {
				if s.values[i], err = read[i](); err != nil {
					rs.Close()
					return nil, fmt.Errorf("consumer: read rows by idempotency key: %w", err)
				}
			}
			out[key] = s
		}
		if err := rs.Err(); err != nil {
			rs.Close()
			return nil, fmt.Errorf("consumer: read rows by idempotency key: %w", err)
		}
		if err := rs.Close(); err != nil {
			return nil, fmt.Errorf("consumer: read rows by idempotency key: %w", err)
		}
	}
	return out, nil
}

// insertUsers inserts rows; when MySQL refuses them with a data error it
// bisects until it has isolated the offending rows, which it turns into
// quarantine rows. A failed statement is rolled back by InnoDB on its own,
// leaving the transaction and the rows inserted before it intact.
func (h *Handler) insertUsers(ctx context.Context, tx *sql.Tx, rows []userRow, res *storeResult) error {
	n, err := exec(ctx, tx, usersInsert, rows, appendUser)
	if err == nil {
		res.stored += n
		return nil
	}
	me, ok := dataError(err)
	if !ok {
		return fmt.Errorf("consumer: insert %d users rows: %w", len(rows), err)
	}
	if len(rows) == 1 {
		r := rows[0]
		res.rejected = append(res.rejected, quarantineRow{
			id: r.id, messageID: r.messageID, body: []byte(r.body), reason: ReasonRejectedByDatabase,
			detail:      fmt.Sprintf("MySQL error %d: %s", me.Number, me.Message),
			submittedAt: r.submittedAt, errNumber: me.Number,
		})
		return nil
	}
	mid := len(rows) / 2
	if err := h.insertUsers(ctx, tx, rows[:mid], res); err != nil {
		return err
	}
	return h.insertUsers(ctx, tx, rows[mid:], res)
}

func appendUser(args []any, r userRow) []any {
	args = append(args, r.key)
	for i := range fields {
		args = append(args, fields[i].Arg(r.values[i]))
	}
	return append(args, r.submittedAt)
}

func appendQuarantine(args []any, r quarantineRow) []any {
	return append(args, r.id, r.body, r.reason, truncateDetail(r.detail), r.submittedAt)
}

// literalLen bounds the bytes a row adds to an interpolated statement:
// the quoted, escaped values, the separators and the parentheses.
func (r userRow) literalLen() int {
	n := stringLiteralLen(r.key) + timeLiteralLen + usersSeparators
	for i := range fields {
		n += fields[i].LiteralLen(r.values[i])
	}
	return n
}

// usersSeparators bounds the bytes of a users row's parentheses, the
// ", " between its values and the one before the next row.
var usersSeparators = 2*len(usersInsert.columns) + 4

func (r quarantineRow) literalLen() int {
	return len("_binary") + stringLiteralLen(string(r.body)) + stringLiteralLen(r.id) +
		stringLiteralLen(r.reason) + stringLiteralLen(truncateDetail(r.detail)) + timeLiteralLen + 14
}

// timeLiteralLen and stringLiteralLen are record's, which bounds the
// record's values the same way.
const timeLiteralLen = record.TimeLiteralLen

func stringLiteralLen(s string) int { return record.StringLiteralLen(s) }

// truncateDetail makes detail fit quarantine.detail: valid UTF-8, at most
// maxDetailChars characters.
func truncateDetail(detail string) string {
	detail = strings.ToValidUTF8(detail, "\uFFFD")
	if utf8.RuneCountInString(detail) <= maxDetailChars {
		return detail
	}
	runes := []rune(detail)
	return string(runes[:maxDetailChars-1]) + "…"
}
