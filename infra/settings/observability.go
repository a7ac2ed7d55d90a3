package settings

import (
	"net/mail"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/infra/limits"
)

// Keys of the Observability section, without the namespace.
const (
	KeyAlarmEmail            = "alarmEmail"
	KeyOldestMessageAlarm    = "oldestMessageAlarmSeconds"
	KeyBorrowLatencyAlarm    = "proxyBorrowLatencyAlarmMs"
	KeyQuarantineAlarm       = "quarantineAlarmRecords"
	KeyDBCPUAlarm            = "dbCpuAlarmPercent"
	KeyDBFreeStorageAlarm    = "dbFreeStorageAlarmGiB"
	KeyDBFreeMemoryAlarm     = "dbFreeableMemoryAlarmMiB"
	KeyDBConnectionsAlarm    = "dbConnectionsAlarm"
	KeyLogRetentionDays      = "logRetentionDays"
	KeyKMSDeletionWindowDays = "kmsKeyDeletionWindowDays"
)

// Observability is the alarms, their topic and the logs' retention, what
// observability.Args takes. Each field is one key of observabilityKeys,
// which declares its type, default, bound, unit and documentation.
type Observability struct {
	AlarmEmail               string        // sluice:alarmEmail
	OldestMessageAge         time.Duration // sluice:oldestMessageAlarmSeconds
	BorrowLatency            time.Duration // sluice:proxyBorrowLatencyAlarmMs
	LogRetentionDays         int           // sluice:logRetentionDays; every log group's
	QuarantineAlarmRecords   int           // sluice:quarantineAlarmRecords
	DBCPUAlarmPercent        int           // sluice:dbCpuAlarmPercent
	DBFreeStorageAlarmGiB    int           // sluice:dbFreeStorageAlarmGiB
	DBFreeableMemoryAlarmMiB int           // sluice:dbFreeableMemoryAlarmMiB
	DBConnectionsAlarm       int           // sluice:dbConnectionsAlarm
	KMSDeletionWindowDays    int           // sluice:kmsKeyDeletionWindowDays
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Observability) Validate() error {
	return checkSection(Settings{Observability: v}, "Observability")
}

var observabilityKeys = []Spec{
	{Key: KeyAlarmEmail, Type: String,
		Doc: "Address subscribed to the alarm topic (AWS sends a confirmation e-mail).", Pattern: emailPattern, Allowed: "an email address", Check: plainAddress,
		field: func(s *Settings) any { return &s.Observability.AlarmEmail }},
	{Key: KeyOldestMessageAlarm, Type: Integer, Default: "300",
		Doc: "Alarm when the oldest queued message is older than this, seconds.", Range: limits.Range{Min: 60, Max: limits.DLQRetentionSeconds},
		field: func(s *Settings) any { return &s.Observability.OldestMessageAge }, unit: time.Second},
	{Key: KeyBorrowLatencyAlarm, Type: Integer, Default: "1000",
		Doc: "Alarm when borrowing a proxy connection takes longer than this on average, ms.", Range: limits.Range{Min: 1, Max: 3600 * 1000},
		field: func(s *Settings) any { return &s.Observability.BorrowLatency }, unit: time.Millisecond},
	// The database thresholds' defaults suit the default db.t4g.micro (1 GiB,
	// max_connections about 66); a larger dbInstanceClass wants larger ones.
	{Key: KeyQuarantineAlarm, Type: Integer, Default: "10",
		Doc: "Alarm when this many records are quarantined within 5 minutes (a client sending bad data).", DevProd: "prod has more traffic, and more clients",
		Range: limits.Range{Min: 1, Max: 1000000},
		field: func(s *Settings) any { return &s.Observability.QuarantineAlarmRecords }},
	{Key: KeyDBCPUAlarm, Type: Integer, Default: "80",
		Doc: "Alarm when the database's average CPU stays above this for 15 minutes, %.", Range: limits.Range{Min: 1, Max: 100},
		field: func(s *Settings) any { return &s.Observability.DBCPUAlarmPercent }},
	{Key: KeyDBFreeStorageAlarm, Type: Integer, Default: "2",
		Doc: "Alarm when the database's free storage drops below this, GiB.", DevProd: "prod's storage is larger", Range: limits.Range{Min: 1, Max: 65536},
		field: func(s *Settings) any { return &s.Observability.DBFreeStorageAlarmGiB }},
	{Key: KeyDBFreeMemoryAlarm, Type: Integer, Default: "64",
		Doc: "Alarm when the database's freeable memory stays below this for 10 minutes, MiB.", DevProd: "prod's instance has 8 GiB, dev's 1 GiB",
		Range: limits.Range{Min: 1, Max: 1048576},
		field: func(s *Settings) any { return &s.Observability.DBFreeableMemoryAlarmMiB }},
	{Key: KeyDBConnectionsAlarm, Type: Integer, Default: "50",
		Doc: "Alarm when the database has more connections than this; keep it below max_connections.", DevProd: "max_connections follows the instance's memory",
		Range: limits.Range{Min: 1, Max: 100000},
		field: func(s *Settings) any { return &s.Observability.DBConnectionsAlarm }},
	{Key: KeyKMSDeletionWindowDays, Type: Integer, Default: "30",
		Doc: "Days the alarm topic's KMS key waits in PendingDeletion after a destroy.", DevProd: "dev is destroyed often; prod keeps the longest window to undo a mistake",
		Range: limits.KMSDeletionWindowDays,
		field: func(s *Settings) any { return &s.Observability.KMSDeletionWindowDays }},
	{Key: KeyLogRetentionDays, Type: Integer, Default: "14",
		Doc: "Days every log group keeps its events.", DevProd: "prod keeps logs longer", Values: intStrings(limits.LogRetentionDays),
		field: func(s *Settings) any { return &s.Observability.LogRetentionDays }},
}

func intStrings(values []int) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Itoa(v)
	}
	return out
}

// plainAddress refuses what SNS would not take as an email endpoint but
// the pattern lets through, such as a display name with the address.
func plainAddress(v string) string {
	if addr, err := mail.ParseAddress(v); err != nil || addr.Address != v {
		return "must be a plain address such as ops@example.com"
	}
	return ""
}
