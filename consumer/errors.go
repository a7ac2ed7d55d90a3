package consumer

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// dataErrors are the MySQL (and MariaDB) errors that a row's own values
// cause under strict SQL mode. Only these make the consumer bisect a batch
// and quarantine rows: anything else (a missing table, a missing
// privilege, a lost connection) is not the record's fault and is retried,
// so a misconfiguration sends records to the DLQ, where they can be
// redriven, instead of quarantining every one of them.
var dataErrors = map[uint16]string{
	1048: "ER_BAD_NULL_ERROR",
	1062: "ER_DUP_ENTRY", // a unique key other than submission_id
	1264: "ER_WARN_DATA_OUT_OF_RANGE",
	1265: "WARN_DATA_TRUNCATED",
	1292: "ER_TRUNCATED_WRONG_VALUE",
	1366: "ER_TRUNCATED_WRONG_VALUE_FOR_FIELD",
	1367: "ER_ILLEGAL_VALUE_FOR_TYPE",
	1406: "ER_DATA_TOO_LONG",
	1411: "ER_WRONG_VALUE_FOR_TYPE",
	1452: "ER_NO_REFERENCED_ROW_2",
	1644: "ER_SIGNAL_EXCEPTION", // a trigger's SIGNAL
	1690: "ER_DATA_OUT_OF_RANGE",
	3819: "ER_CHECK_CONSTRAINT_VIOLATED", // MySQL 8
	4025: "ER_CONSTRAINT_FAILED",         // MariaDB
}

// transientErrors are MySQL errors after which the same statement may well
// succeed later. They only decide the log level: every error that is not a
// data error is retried.
var transientErrors = map[uint16]string{
	1040: "ER_CON_COUNT_ERROR",
	1053: "ER_SERVER_SHUTDOWN",
	1158: "ER_NET_READ_ERROR",
	1159: "ER_NET_READ_INTERRUPTED",
	1160: "ER_NET_ERROR_ON_WRITE",
	1161: "ER_NET_WRITE_INTERRUPTED",
	1203: "ER_TOO_MANY_USER_CONNECTIONS",
	1205: "ER_LOCK_WAIT_TIMEOUT",
	1213: "ER_LOCK_DEADLOCK",
	1290: "ER_OPTION_PREVENTS_STATEMENT", // --read-only during a failover
	1317: "ER_QUERY_INTERRUPTED",
	1836: "ER_READ_ONLY_MODE",
	1927: "ER_CONNECTION_KILLED", // MariaDB
	1969: "ER_STATEMENT_TIMEOUT", // MariaDB
	2006: "CR_SERVER_GONE_ERROR",
	2013: "CR_SERVER_LOST",
	3024: "ER_QUERY_TIMEOUT", // MySQL 8
	9501: "RDS Proxy: timed out waiting to acquire database connection",
}

// dataError reports whether err is a data error, and returns it.
func dataError(err error) (*mysql.MySQLError, bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		_, ok := dataErrors[me.Number]
		return me, ok
	}
	return nil, false
}

// erLockDeadlock is the error InnoDB answers the transaction it picks as
// a deadlock's victim, after rolling all of it back.
const erLockDeadlock = 1213

// isDeadlock reports whether err is a deadlock: the whole transaction was
// rolled back and may be run again.
func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == erLockDeadlock
}

// isTransient reports whether err is a failure that a later attempt can
// be expected to get past: a lost or refused connection, a deadlock, a lock
// wait, a failover, a proxy borrow timeout or a deadline.
func isTransient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		_, ok := transientErrors[me.Number]
		return ok
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &ne)
}

// describe renders err for a log line. A server message can quote the
// values of the row it is about (e.g. "Duplicate entry 'a@example.com'"),
// so it is replaced by the error number.
func describe(err error) string {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return err.Error()
	}
	return strings.Replace(err.Error(), me.Error(), fmt.Sprintf("MySQL error %d (SQLSTATE %s)", me.Number, me.SQLState[:]), 1)
}
