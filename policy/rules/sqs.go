package rules

import (
	"strconv"
	"strings"
)

// redrive is a parsed SQS redrive policy and where it came from.
type redrive struct {
	holder *Resource // the queue or the aws.sqs.RedrivePolicy resource
	state  State
	target string
	count  float64
	countS State
}

// redrivesOf finds the redrive policies attached to queue q: its own
// redrivePolicy property and aws.sqs.RedrivePolicy resources naming it.
func redrivesOf(s *Stack, q *Resource) []redrive {
	var out []redrive
	if _, st := lookup(q.Properties, "redrivePolicy"); st != Absent {
		out = append(out, parseRedrive(q))
	}
	for _, rp := range s.OfType(typeQueueRedrive) {
		if target, _ := s.Ref(rp, "queueUrl", typeQueue); target == q {
			out = append(out, parseRedrive(rp))
		}
	}
	return out
}

func parseRedrive(holder *Resource) redrive {
	rd := redrive{holder: holder}
	doc, st := jsonAt(holder.Properties, "redrivePolicy")
	rd.state = st
	if st != Known {
		return rd
	}
	m, ok := doc.(map[string]any)
	if !ok {
		rd.state = Invalid
		return rd
	}
	rd.target, _ = m["deadLetterTargetArn"].(string)
	switch v := m["maxReceiveCount"].(type) {
	case float64:
		rd.count, rd.countS = v, Known
	case string:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			rd.count, rd.countS = n, Known
		} else {
			rd.countS = Invalid
		}
	case nil:
		rd.countS = Absent
	default:
		rd.countS = Invalid
	}
	return rd
}

// dlqTargets returns the queues some redrive policy of the stack points at,
// by value or, while the policy is computed, by property dependency.
func dlqTargets(s *Stack) map[*Resource]bool {
	targets := map[*Resource]bool{}
	holders := append(s.OfType(typeQueue), s.OfType(typeQueueRedrive)...)
	for _, h := range holders {
		if _, st := lookup(h.Properties, "redrivePolicy"); st == Absent {
			continue
		}
		for _, d := range s.DependsOn(h, "redrivePolicy", typeQueue) {
			if d != h {
				targets[d] = true
			}
		}
		if rd := parseRedrive(h); rd.state == Known {
			if t := s.Find(rd.target, typeQueue); t != nil && t != h {
				targets[t] = true
			}
		}
	}
	return targets
}

// isDeclaredDLQ reports whether a queue is declared a dead-letter target
// through a redriveAllowPolicy (its own property or an
// aws.sqs.RedriveAllowPolicy resource) that lets other queues use it.
func isDeclaredDLQ(s *Stack, q *Resource) bool {
	if allowsRedrive(q) {
		return true
	}
	for _, ap := range s.OfType(typeQueueRedriveAllow) {
		if target, _ := s.Ref(ap, "queueUrl", typeQueue); target == q && allowsRedrive(ap) {
			return true
		}
	}
	return false
}

func allowsRedrive(holder *Resource) bool {
	doc, st := jsonAt(holder.Properties, "redriveAllowPolicy")
	if st == Unknown {
		return true
	}
	m, ok := doc.(map[string]any)
	if st != Known || !ok {
		return false
	}
	p, _ := m["redrivePermission"].(string)
	return p == "byQueue" || p == "allowAll"
}

// SQSQueueHasDLQ: the redrive policy is usually computed in preview (it
// holds the new DLQ's ARN). Then the DLQ is found through the engine's
// property dependencies and checked, and maxReceiveCount is checked at `up`,
// where a still-unknown redrive policy is a violation.
var SQSQueueHasDLQ = Policy{
	Name: "sqs-queue-has-dlq",
	Description: "Every SQS queue that is not itself a dead-letter queue must redrive to a DLQ of this stack after " +
		"a bounded number of receives; the DLQ keeps messages longer and has the same type (standard/FIFO).",
	Reads:            []string{typeQueue, typeQueueRedrive, typeQueueRedriveAllow},
	EnforcementLevel: Mandatory,
	Severity:         High,
	Remediation: "Create a dead-letter queue in this stack (same type, longer retention) and set the queue's " +
		"redrivePolicy {deadLetterTargetArn, maxReceiveCount} within the configured range.",
	ConfigSchema: map[string]map[string]any{
		"minMaxReceiveCount": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Lowest allowed maxReceiveCount."},
		"maxMaxReceiveCount": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Highest allowed maxReceiveCount."},
	},
	Defaults: Config{"minMaxReceiveCount": float64(3), "maxMaxReceiveCount": float64(20)},
	ValidateStack: func(c Check, s *Stack) {
		lo, hi := c.number("minMaxReceiveCount"), c.number("maxMaxReceiveCount")
		dlqs := dlqTargets(s)
		for _, q := range s.OfType(typeQueue) {
			if dlqs[q] || isDeclaredDLQ(s, q) {
				continue
			}
			rds := redrivesOf(s, q)
			if len(rds) == 0 {
				c.Report(*q, "the queue has no redrive policy, so a message that always fails is retried until it "+
					"expires and is lost. Fix: create a dead-letter queue and set redrivePolicy "+
					"{\"deadLetterTargetArn\": dlq.arn, \"maxReceiveCount\": %v..%v}.", lo, hi)
				continue
			}
			for _, rd := range rds {
				checkRedrive(c, s, q, rd, lo, hi)
			}
		}
	},
}

func checkRedrive(c Check, s *Stack, q *Resource, rd redrive, lo, hi float64) {
	var dlq *Resource
	switch rd.state {
	case Invalid:
		c.Report(*rd.holder, "redrivePolicy is not a JSON object. Fix: set it to "+
			"{\"deadLetterTargetArn\": <dlq arn>, \"maxReceiveCount\": %v..%v}.", lo, hi)
		return
	case Unknown:
		deps := s.DependsOn(rd.holder, "redrivePolicy", typeQueue)
		if !c.Env.DryRun || len(deps) == 0 {
			c.Report(*rd.holder, "redrivePolicy is unknown and does not come from a queue of this stack, so the "+
				"DLQ and maxReceiveCount cannot be verified. Fix: build it from a DLQ created in this stack.")
			return
		}
		dlq = deps[0]
	case Known:
		if rd.countS != Known || rd.count < lo || rd.count > hi {
			c.Report(*rd.holder, "maxReceiveCount is %s, outside %v..%v: too low sends messages to the DLQ on a "+
				"transient error, too high retries a poison message for hours. Fix: set maxReceiveCount between "+
				"%v and %v.", countText(rd), lo, hi, lo, hi)
		}
		dlq = s.Find(rd.target, typeQueue)
		if dlq == nil || dlq == q {
			c.Report(*rd.holder, "deadLetterTargetArn %q is not a queue of this stack. Fix: point it at the "+
				"ARN of a DLQ created in this stack.", rd.target)
			return
		}
	}
	srcRet := numberOr(q, "messageRetentionSeconds", defaultQueueRetentionSeconds)
	dlqRet := numberOr(dlq, "messageRetentionSeconds", defaultQueueRetentionSeconds)
	if dlqRet <= srcRet {
		c.Report(*q, "its DLQ %q keeps messages %v s, not longer than the queue's %v s, so a message can expire "+
			"in the DLQ before anyone redrives it. Fix: give the DLQ a longer messageRetentionSeconds "+
			"(e.g. 1209600, 14 days).", dlq.Name, dlqRet, srcRet)
	}
	if isFIFO(q) != isFIFO(dlq) {
		c.Report(*q, "the queue and its DLQ %q differ in type (FIFO %v vs %v); SQS rejects such a redrive. Fix: "+
			"make both standard or both FIFO.", dlq.Name, isFIFO(q), isFIFO(dlq))
	}
}

func countText(rd redrive) string {
	if rd.countS == Known {
		return strconv.FormatFloat(rd.count, 'f', -1, 64)
	}
	return rd.countS.String()
}

func numberOr(r *Resource, key string, def float64) float64 {
	if v, st := numberAt(r.Properties, key); st == Known {
		return v
	}
	return def
}

func isFIFO(q *Resource) bool {
	if v, st := boolAt(q.Properties, "fifoQueue"); st == Known {
		return v
	}
	name, _ := stringAt(q.Properties, "name")
	return strings.HasSuffix(name, ".fifo")
}

// EncryptionAtRest: storageEncrypted and sqsManagedSseEnabled are literal
// booleans and fail closed when computed or absent; a KMS key id computed
// from a key of the stack is accepted. A database that takes its
// encryption from another one (a read replica, a secondary cluster of a
// global cluster, a global cluster created from a cluster) and copies of
// its data (snapshot copies, replicated automated backups) without a key
// of their own are followed to their source by the stack part: a source of
// the stack is checked on its own, one outside it is an advisory finding.
var EncryptionAtRest = Policy{
	Name:             "encryption-at-rest",
	Description:      "RDS storage (instances, clusters, global clusters and copies of their data) and SQS queues must be encrypted at rest.",
	EnforcementLevel: Mandatory,
	Severity:         High,
	Remediation: "Set storageEncrypted: true on RDS instances, clusters and global clusters, a kmsKeyId on snapshot " +
		"copies and replicated backups, and sqsManagedSseEnabled: true (or a kmsMasterKeyId) on SQS queues.",
	Reads: []string{typeDBInstance, typeDBCluster, typeDBGlobalCluster, typeDBSnapshot, typeDBClusterSnapshot,
		typeDBSnapshotCopy, typeDBClusterSnapCopy, typeDBBackupsReplica, typeQueue},
	ValidateResource: func(c Check, r Resource) {
		switch r.Type {
		case typeDBInstance, typeDBCluster, typeDBGlobalCluster:
			v, st := boolAt(r.Properties, "storageEncrypted")
			switch {
			case st == Known && v:
			case st == Absent && inheritsEncryption(r) != "":
				// the stack part follows the source
			case st == Absent && r.Type == typeDBCluster && isServerlessV1(r):
				// Aurora Serverless v1 storage is always encrypted
				// (pulumi-aws v6.83.4 rds.Cluster storageEncrypted: "true for
				// serverless engineMode").
			default:
				c.Report(r, "storageEncrypted is %s, not true, so the database's storage, backups and snapshots "+
					"are unencrypted. Fix: set storageEncrypted: true (optionally with kmsKeyId).",
					describe(r.Properties, "storageEncrypted"))
			}
		case typeQueue:
			if k, st := stringAt(r.Properties, "kmsMasterKeyId"); st == Unknown || st == Known && k != "" {
				return
			}
			if v, st := boolAt(r.Properties, "sqsManagedSseEnabled"); st != Known || !v {
				c.Report(r, "sqsManagedSseEnabled is %s and no kmsMasterKeyId is set, so messages (names and "+
					"e-mail addresses) are not explicitly encrypted at rest. Fix: set sqsManagedSseEnabled: true "+
					"or a kmsMasterKeyId.", describe(r.Properties, "sqsManagedSseEnabled"))
			}
		}
	},
	ValidateStack: func(c Check, s *Stack) {
		for _, r := range s.OfType(typeDBInstance, typeDBCluster, typeDBGlobalCluster) {
			if _, st := lookup(r.Properties, "storageEncrypted"); st != Absent {
				continue
			}
			if key := inheritsEncryption(*r); key != "" {
				followEncryption(c, s, r, key)
			}
		}
		for _, r := range s.OfType(typeDBSnapshotCopy, typeDBClusterSnapCopy, typeDBBackupsReplica) {
			if k, st := stringAt(r.Properties, "kmsKeyId"); st == Unknown || st == Known && k != "" {
				continue // encrypted with that key
			}
			followEncryption(c, s, r, copySource[r.Type])
		}
		for _, r := range s.OfType(typeDBSnapshot, typeDBClusterSnapshot) {
			followEncryption(c, s, r, copySource[r.Type])
		}
	},
}

// copySource is the property that names the database or snapshot a copy of
// the data is taken from.
var copySource = map[string]string{
	typeDBSnapshot:        "dbInstanceIdentifier",
	typeDBClusterSnapshot: "dbClusterIdentifier",
	typeDBSnapshotCopy:    "sourceDbSnapshotIdentifier",
	typeDBClusterSnapCopy: "sourceDbClusterSnapshotIdentifier",
	typeDBBackupsReplica:  "sourceDbInstanceArn",
}

// encryptionSources are the resources whose encryption a database or copy
// can take over.
var encryptionSources = []string{typeDBInstance, typeDBCluster, typeDBGlobalCluster, typeDBSnapshot,
	typeDBClusterSnapshot, typeDBSnapshotCopy, typeDBClusterSnapCopy}

// inheritsEncryption returns the property naming the source a database
// without storageEncrypted takes its encryption from, or "". A read
// replica is encrypted as its source is (CreateDBInstanceReadReplica has
// no StorageEncrypted parameter), a database restored from a snapshot as
// the snapshot (pulumi-aws v6.83.4 rds.Cluster storageEncrypted: "When
// restoring an unencrypted snapshotIdentifier, the kmsKeyId argument must be
// provided to encrypt the restored cluster"), a secondary cluster of a global cluster
// as the global cluster, and a global cluster created from a cluster as
// that cluster (pulumi-aws v6.83.4 rds.GlobalCluster storageEncrypted:
// "false unless sourceDbClusterIdentifier is specified and encrypted").
func inheritsEncryption(r Resource) string {
	var keys []string
	switch r.Type {
	case typeDBInstance:
		keys = []string{"replicateSourceDb", "snapshotIdentifier"}
	case typeDBCluster:
		keys = []string{"globalClusterIdentifier", "replicationSourceIdentifier", "snapshotIdentifier"}
	case typeDBGlobalCluster:
		keys = []string{"sourceDbClusterIdentifier"}
	}
	for _, k := range keys {
		if _, st := lookup(r.Properties, k); st == Known || st == Unknown {
			return k
		}
	}
	return ""
}

func isServerlessV1(r Resource) bool {
	mode, st := stringAt(r.Properties, "engineMode")
	return st == Known && mode == "serverless"
}

// followEncryption resolves the source key of r names. A source of the
// stack is checked on its own (this policy reports it if unencrypted, and
// a snapshot follows its database in turn); a source outside the stack
// cannot be checked, which is an advisory finding.
func followEncryption(c Check, s *Stack, r *Resource, key string) {
	if _, st := lookup(r.Properties, key); st == Absent {
		return
	}
	// A key makes the copy encrypted whatever the source (KmsKeyId of
	// CreateDBInstanceReadReplica, CopyDBSnapshot, CreateDBCluster).
	if k, st := stringAt(r.Properties, "kmsKeyId"); st == Unknown || st == Known && k != "" {
		return
	}
	if src, _ := s.Ref(r, key, encryptionSources...); src != nil {
		return
	}
	c.Advise(*r, "its data comes from %s %s, which this stack does not manage, so whether it is encrypted at rest "+
		"cannot be decided. Fix: set storageEncrypted: true (databases) or kmsKeyId (copies), or manage the "+
		"source in this stack.", key, describe(r.Properties, key))
}

// TransportTLSRequired: the database's parameter group and every queue's
// policy must refuse plaintext connections. For an instance that is its DB
// parameter group; for an Aurora MySQL or Multi-AZ DB cluster, its DB
// cluster parameter group, where require_secure_transport is a cluster
// parameter. Queue policies are usually computed in preview (they name the
// queue's ARN) and are checked when known.
var TransportTLSRequired = Policy{
	Name: "transport-tls-required",
	Description: "Connections must use TLS: MySQL instances and clusters use a parameter group with " +
		"require_secure_transport ON, and every SQS queue has a policy denying requests without aws:SecureTransport.",
	EnforcementLevel: Mandatory,
	Severity:         High,
	Remediation: "Use a parameter group (for clusters, a cluster parameter group) with require_secure_transport = 1, " +
		"and attach to every queue a policy that denies sqs:* when aws:SecureTransport is false.",
	Reads: []string{typeDBInstance, typeDBParameterGroup, typeDBCluster, typeDBClusterParams, typeQueue,
		typeQueuePolicy},
	ValidateStack: func(c Check, s *Stack) {
		for _, db := range s.OfType(typeDBInstance) {
			if engine, st := stringAt(db.Properties, "engine"); st == Known && engine != "mysql" && engine != "mariadb" {
				continue
			}
			checkSecureTransport(c, s, db, "parameterGroupName", typeDBParameterGroup, "aws.rds.ParameterGroup")
		}
		for _, db := range s.OfType(typeDBCluster) {
			if !mysqlCluster(db) {
				continue
			}
			checkSecureTransport(c, s, db, "dbClusterParameterGroupName", typeDBClusterParams,
				"aws.rds.ClusterParameterGroup")
		}
		for _, q := range s.OfType(typeQueue) {
			checkQueueTLS(c, s, q)
		}
	},
}

// mysqlCluster: Aurora MySQL ("aurora" is its 5.6-compatible engine, and
// the provider's default) and Multi-AZ DB clusters of MySQL. A computed
// engine is checked.
func mysqlCluster(db *Resource) bool {
	engine, st := stringAt(db.Properties, "engine")
	return st != Known || engine == "aurora" || engine == "aurora-mysql" || engine == "mysql"
}

// checkSecureTransport checks that the parameter group db names at key (a
// resource of type typ, written kind in messages) sets
// require_secure_transport.
func checkSecureTransport(c Check, s *Stack, db *Resource, key, typ, kind string) {
	if _, st := lookup(db.Properties, key); st == Absent {
		c.Report(*db, "no %s, so the default parameter group (require_secure_transport OFF) applies. Fix: create "+
			"an %s with require_secure_transport = 1 and set %s.", key, kind, key)
		return
	}
	pg, _ := s.Ref(db, key, typ)
	if pg == nil {
		c.Advise(*db, "%s names a parameter group this stack does not manage (%s), so whether it sets "+
			"require_secure_transport cannot be decided. Fix: manage the %s in this stack.", key,
			describe(db.Properties, key), kind)
		return
	}
	params, _ := arrayAt(pg.Properties, "parameters")
	for _, p := range params {
		m, st := asObject(p)
		if st != Known {
			continue
		}
		if name, _ := stringAt(m, "name"); name != "require_secure_transport" {
			continue
		}
		if v, st := stringAt(m, "value"); st == Known && (v == "1" || strings.EqualFold(v, "ON")) {
			return
		}
	}
	c.Report(*pg, "parameter group %q of %q does not set require_secure_transport to 1, so MySQL "+
		"accepts plaintext connections. Fix: add parameter {name: require_secure_transport, value: \"1\"}.",
		pg.Name, db.Name)
}

func checkQueueTLS(c Check, s *Stack, q *Resource) {
	var docs []iamDocument
	if v, st := lookup(q.Properties, "policy"); st != Absent {
		docs = append(docs, iamDocument{where: "policy", value: v})
	}
	for _, qp := range s.OfType(typeQueuePolicy) {
		if target, _ := s.Ref(qp, "queueUrl", typeQueue); target == q {
			v, _ := lookup(qp.Properties, "policy")
			docs = append(docs, iamDocument{where: "queue policy " + qp.Name, value: v})
		}
	}
	for _, d := range docs {
		doc, st := asJSON(d.value)
		if st == Unknown {
			if c.Env.DryRun {
				return // analysed again at `up`, when the document is known
			}
			continue
		}
		if st != Known {
			continue
		}
		stmts, err := parseStatements(doc)
		if err != nil {
			continue
		}
		for _, stmt := range stmts {
			if strings.EqualFold(stmt.Effect, "Deny") && deniesInsecureTransport(stmt.Condition) {
				return
			}
		}
	}
	c.Report(*q, "no queue policy denies requests made without TLS. Fix: attach an aws.sqs.QueuePolicy with "+
		"{Effect: Deny, Principal: \"*\", Action: \"sqs:*\", Resource: <queue arn>, "+
		"Condition: {Bool: {\"aws:SecureTransport\": \"false\"}}}.")
}

func deniesInsecureTransport(cond map[string]any) bool {
	for op, body := range cond {
		if !strings.HasPrefix(op, "Bool") {
			continue
		}
		m, ok := body.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range m {
			if !strings.EqualFold(k, "aws:SecureTransport") {
				continue
			}
			vals, _ := stringOrList(v)
			if b, ok := v.(bool); ok && !b {
				return true
			}
			for _, s := range vals {
				if strings.EqualFold(s, "false") {
					return true
				}
			}
		}
	}
	return false
}
