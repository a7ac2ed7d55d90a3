package consumer

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxPlaceholders is MySQL's limit on parameters in one prepared statement
// (ER_PS_MANY_PARAM). Statements are interpolated client-side, but the
// driver falls back to a server-side prepare when it cannot interpolate,
// so chunks respect the limit either way.
const maxPlaceholders = 65535

// maxDetailChars is the length of quarantine.detail (VARCHAR(1024)).
const maxDetailChars = 1024

// insertStatement is a multi-row INSERT that is a no-op for a submission id
// that is already there. "submission_id = submission_id" rather than the
// MySQL 8.0.19 row alias (AS new), which MariaDB 10.11 does not parse; and
// not INSERT IGNORE, which would also turn data errors into warnings and
// store truncated values.
type insertStatement struct {
	table   string
	columns []string
}

var (
	usersInsert      = insertStatement{"users", []string{"submission_id", "name", "email", "submitted_at"}}
	quarantineInsert = insertStatement{"quarantine", []string{"submission_id", "body", "reason", "detail", "submitted_at"}}
)

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
	stored      int             // new users rows
	quarantined int             // new quarantine rows
	rejected    []quarantineRow // valid records MySQL refused, now in quarantine
}

// store writes the batch in one transaction (or one autocommitted
// statement): either all of it commits, or none of it does and the error
// says why.
func (h *Handler) store(ctx context.Context, b batch) (storeResult, error) {
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
			return storeResult{stored: n}, nil
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
	quarantine := append(slices.Clip(b.quarantine), res.rejected...)
	for _, c := range chunks(quarantine, quarantineInsert, h.opts.MaxStatementBytes, quarantineRow.literalLen) {
		n, err := exec(ctx, tx, quarantineInsert, c, appendQuarantine)
		if err != nil {
			return storeResult{}, fmt.Errorf("consumer: insert %d quarantine rows: %w", len(c), err)
		}
		res.quarantined += n
	}
	if err := tx.Commit(); err != nil {
		return storeResult{}, fmt.Errorf("consumer: commit: %w", err)
	}
	committed = true
	return res, nil
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
			id: r.id, body: []byte(r.body), reason: ReasonRejectedByDatabase,
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
	return append(args, r.id, r.name, r.email, r.submittedAt)
}

func appendQuarantine(args []any, r quarantineRow) []any {
	return append(args, r.id, r.body, r.reason, truncateDetail(r.detail), r.submittedAt)
}

// literalLen bounds the bytes a row adds to an interpolated statement:
// the quoted, escaped values, the separators and the parentheses.
func (r userRow) literalLen() int {
	return stringLiteralLen(r.id) + stringLiteralLen(r.name) + stringLiteralLen(r.email) + timeLiteralLen + 12
}

func (r quarantineRow) literalLen() int {
	return len("_binary") + stringLiteralLen(string(r.body)) + stringLiteralLen(r.id) +
		stringLiteralLen(r.reason) + stringLiteralLen(truncateDetail(r.detail)) + timeLiteralLen + 14
}

// timeLiteralLen is the longest the driver writes a DATETIME value:
// '2006-01-02 15:04:05.999999'.
const timeLiteralLen = 28

// stringLiteralLen is the length of s as the driver interpolates it: in
// quotes, with a backslash before each of NUL, \n, \r, \, ', " and ^Z.
func stringLiteralLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		n += int(escaped[s[i]])
	}
	return n
}

// escaped[c] is 1 for the bytes stringLiteralLen counts twice. A table
// because this runs over every byte of every row.
var escaped = [256]uint8{0: 1, '\n': 1, '\r': 1, '\\': 1, '\'': 1, '"': 1, 0x1a: 1}

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
