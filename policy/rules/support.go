package rules

import (
	"fmt"
	"strings"
	"time"
)

// dateLayout is how the policy config writes dates.
const dateLayout = "2006-01-02"

// RDSEngineStandardSupport is advisory: running past standard support costs
// money (or an unplanned upgrade) but is not unsafe on the day. The end
// dates are config so that a new AWS calendar needs no new pack; the
// defaults are AWS's release calendars (docs/policy-pack.md cites them).
// An engine version computed from other resources is checked at `up`.
var RDSEngineStandardSupport = Policy{
	Name: "rds-engine-standard-support",
	Description: "RDS for MySQL and Aurora MySQL databases should run a major version in standard support: past its " +
		"end date RDS bills RDS Extended Support, or upgrades the database itself where Extended Support is disabled.",
	Reads:            []string{typeDBInstance, typeDBCluster},
	EnforcementLevel: Advisory,
	Severity:         Medium,
	Remediation: "Upgrade to a major version still in standard support (RDS for MySQL 8.4). In Sluice set " +
		"sluice:dbEngineVersion: \"8.4\" and follow the MySQL 8.0 → 8.4 upgrade runbook in docs/operating.md.",
	ConfigSchema: map[string]map[string]any{
		"mysqlStandardSupportEnds": {
			"type": "object", "additionalProperties": dateSchema,
			"description": "RDS end of standard support date (YYYY-MM-DD) per RDS for MySQL major version " +
				"(\"8.0\"). Setting it replaces the whole table.",
		},
		"auroraMysqlStandardSupportEnds": {
			"type": "object", "additionalProperties": dateSchema,
			"description": "Aurora end of standard support date (YYYY-MM-DD) per Aurora MySQL major version " +
				"(\"3\" for MySQL 8.0 compatible). Setting it replaces the whole table.",
		},
		"asOf": {
			"type": "string", "pattern": `^(\d{4}-\d{2}-\d{2})?$`,
			"description": "The date (YYYY-MM-DD) to compare with the end dates; empty means the day the policy " +
				"runs (UTC). Set a future date to see which databases leave standard support by then.",
		},
	},
	Defaults: Config{
		// RDS for MySQL release calendar (MySQL.Concepts.VersionMgmt).
		"mysqlStandardSupportEnds": map[string]any{"5.7": "2024-02-29", "8.0": "2026-07-31", "8.4": "2029-07-31"},
		// Aurora MySQL release calendar: version 2 is MySQL 5.7, 3 is 8.0.
		"auroraMysqlStandardSupportEnds": map[string]any{"2": "2024-10-31", "3": "2028-04-30"},
		"asOf":                           "",
	},
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeDBInstance && r.Type != typeDBCluster {
			return
		}
		engine, st := stringAt(r.Properties, "engine")
		if st != Known {
			return
		}
		var table, product, major string
		version, vst := stringAt(r.Properties, "engineVersion")
		switch {
		case engine == "mysql":
			major = mysqlMajor(version)
			table, product = "mysqlStandardSupportEnds", "RDS for MySQL "+major
		case engine == "aurora-mysql" && r.Type == typeDBCluster:
			major = auroraMajor(version)
			table, product = "auroraMysqlStandardSupportEnds", "Aurora MySQL version "+major
		default:
			return
		}
		switch vst {
		case Unknown:
			if !c.Env.DryRun {
				c.Report(r, "engineVersion is still unknown during the update, so its support date cannot be "+
					"checked. Fix: set engineVersion to a literal major version such as \"8.4\".")
			}
			return
		case Absent, Invalid:
			return // RDS picks its default version, which is in standard support
		}
		ends := c.dates(table)
		end, ok := ends[major]
		if !ok {
			return // a version the calendar does not list
		}
		today := c.today()
		if today.Before(end) {
			return
		}
		verb := "ended"
		if today.Equal(end) {
			verb = "ends"
		}
		fix := fmt.Sprintf("upgrade to %s", successor(ends, today, product, major))
		if engine == "mysql" && r.Type == typeDBInstance {
			fix += "; in Sluice set sluice:dbEngineVersion: \"8.4\" and follow the MySQL 8.0 → 8.4 upgrade " +
				"runbook in docs/operating.md"
		}
		c.Report(r, "engineVersion %q is %s, whose standard support %s on %s (checked on %s): %s Fix: %s.",
			version, product, verb, end.Format(dateLayout), today.Format(dateLayout), afterSupport(r), fix)
	},
}

var dateSchema = map[string]any{"type": "string", "pattern": `^\d{4}-\d{2}-\d{2}$`}

// afterSupport says what RDS does with a database past standard support,
// which depends on whether it was created with Extended Support disabled.
func afterSupport(r Resource) string {
	if v, st := stringAt(r.Properties, "engineLifecycleSupport"); st == Known && v == "open-source-rds-extended-support-disabled" {
		return "RDS Extended Support is disabled on this database (engineLifecycleSupport), so RDS upgrades it to " +
			"a supported major version itself, on or shortly after that date."
	}
	return "RDS enrolls the database in RDS Extended Support, charged per vCPU-hour on top of the instance price " +
		"(a new database on this version is enrolled from the start), for up to 3 years, after which RDS " +
		"upgrades the major version itself."
}

// successor names the major version of the table that stays in standard
// support longest after today.
func successor(ends map[string]time.Time, today time.Time, product, current string) string {
	best, bestEnd := "", time.Time{}
	for v, end := range ends {
		if end.After(today) && end.After(bestEnd) {
			best, bestEnd = v, end
		}
	}
	if best == "" {
		return "a major version in standard support"
	}
	name := strings.TrimSuffix(product, current) + best
	return fmt.Sprintf("%s (standard support until %s)", name, bestEnd.Format(dateLayout))
}

// mysqlMajor returns the X.Y of an RDS for MySQL version ("8.0.39" → "8.0").
func mysqlMajor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}

// auroraMajor returns the Aurora MySQL major version of an engine version
// such as "8.0.mysql_aurora.3.05.2" ("3"); a bare community version maps as
// Aurora's versioning page does (5.6 → 1, 5.7 → 2, 8.0 → 3).
func auroraMajor(version string) string {
	if _, rest, ok := strings.Cut(version, ".mysql_aurora."); ok {
		major, _, _ := strings.Cut(rest, ".")
		return major
	}
	switch mysqlMajor(version) {
	case "5.6":
		return "1"
	case "5.7":
		return "2"
	case "8.0":
		return "3"
	}
	return version
}

// today is the config's asOf date, or the current UTC date.
func (c Check) today() time.Time {
	s, _ := c.Config["asOf"].(string)
	if s == "" {
		y, m, d := time.Now().UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(fmt.Sprintf("config \"asOf\" is %q, want a date YYYY-MM-DD", s))
	}
	return t
}

// dates reads a config table of major version → date.
func (c Check) dates(key string) map[string]time.Time {
	raw, ok := c.Config[key].(map[string]any)
	if !ok {
		panic(fmt.Sprintf("config %q is %T, want an object of version → date", key, c.Config[key]))
	}
	out := make(map[string]time.Time, len(raw))
	for v, d := range raw {
		s, _ := d.(string)
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			panic(fmt.Sprintf("config %q[%q] is %v, want a date YYYY-MM-DD", key, v, d))
		}
		out[v] = t
	}
	return out
}
