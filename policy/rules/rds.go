package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// RDSInstanceNotPublic: a literal security boolean, so a computed value
// fails closed. It covers every RDS resource with a public endpoint of its
// own (instances, Aurora cluster instances, Aurora PostgreSQL Limitless
// shard groups) and the snapshots that copy the data, which
// sharedAccounts ["all"] makes public.
var RDSInstanceNotPublic = Policy{
	Name:             "rds-instance-not-public",
	Description:      "RDS databases must not be publicly accessible, nor their snapshots shared with everyone.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Set publiclyAccessible: false and reach the database through the RDS Proxy inside the VPC; share " +
		"snapshots only with named accounts.",
	Reads: []string{typeDBInstance, typeDBClusterInstance, typeDBShardGroup, typeDBSnapshot, typeDBClusterSnapshot,
		typeDBSnapshotCopy, typeDBClusterSnapCopy},
	ValidateResource: func(c Check, r Resource) {
		switch r.Type {
		case typeDBInstance, typeDBClusterInstance, typeDBShardGroup:
		case typeDBSnapshot, typeDBClusterSnapshot, typeDBSnapshotCopy, typeDBClusterSnapCopy:
			checkSnapshotSharing(c, r)
			return
		default:
			return
		}
		switch v, st := boolAt(r.Properties, "publiclyAccessible"); {
		case st == Known && v:
			c.Report(r, "publiclyAccessible is true: the database gets a public DNS name and address. "+
				"Fix: set publiclyAccessible: false and reach the database through the RDS Proxy inside the VPC.")
		case st == Unknown:
			c.Report(r, "publiclyAccessible is computed, so the database might become public. "+
				"Fix: set publiclyAccessible to the literal false.")
		case st == Invalid:
			c.Report(r, "publiclyAccessible is not a boolean. Fix: set publiclyAccessible: false.")
		}
	},
}

// checkSnapshotSharing: "all" in sharedAccounts makes a snapshot public
// (pulumi-aws v6.83.4 rds.Snapshot: "Use `all` to make the snapshot
// public"); account ids computed from other resources are usually known
// only at `up`.
func checkSnapshotSharing(c Check, r Resource) {
	vals, anyUnknown, st := stringsAt(r.Properties, "sharedAccounts")
	switch {
	case st == Unknown || anyUnknown:
		if !c.Env.DryRun {
			c.Report(r, "sharedAccounts is still unknown during the update, so the snapshot might be shared with "+
				"everyone. Fix: list the account ids as literals.")
		}
	case st == Invalid:
		c.Report(r, "sharedAccounts is not a list of account ids. Fix: list the 12-digit account ids to share with.")
	case slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(v, "all") }):
		c.Report(r, "sharedAccounts contains \"all\", so every AWS account can copy the snapshot and restore the "+
			"database from it. Fix: share the snapshot only with named account ids.")
	}
}

// RDSNetworkPrivate follows the references that make a database private or
// not: the subnet group's subnets and their routes, and the security groups
// of the database (instance, Aurora or Multi-AZ cluster), its proxies and
// their endpoints, with the prefix lists their rules name. A subnet group,
// security group or prefix list this stack does not manage cannot be
// proved private or public: that is an advisory finding with the reason.
var RDSNetworkPrivate = Policy{
	Name: "rds-network-private",
	Description: "RDS databases (instances and clusters) must sit in subnets without a route to an internet gateway, " +
		"and the security groups of the database, its proxies and proxy endpoints must admit the database port " +
		"only from inside the VPC.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Put the database in subnets of this stack with no internet gateway route, and let its, its " +
		"proxy's and its proxy endpoints' security groups admit the database port only from the application's " +
		"security group or the VPC's CIDR.",
	Reads: []string{typeDBInstance, typeDBCluster, typeDBProxy, typeDBProxyEndpoint, typeDBSubnetGroup, typeSubnet,
		typeRouteTableAssoc, typeRouteTable, typeRouteEntry, typeInternetGateway, typeVPC, typeSecurityGroup,
		typeDefaultSG, typeSGRule, typeSGIngressRule, typePrefixList, typePrefixListEntry},
	ValidateStack: func(c Check, s *Stack) {
		checked := map[sgPort]bool{}
		for _, db := range s.OfType(typeDBInstance, typeDBCluster) {
			checkDBSubnets(c, s, db)
			checkDBSecurityGroups(c, s, db, dbPort(db), checked)
		}
		for _, px := range s.OfType(typeDBProxy) {
			checkDBSecurityGroups(c, s, px, proxyPort(px), checked)
		}
		for _, ep := range s.OfType(typeDBProxyEndpoint) {
			port := 0.0 // unknown: every port counts
			if px, _ := s.Ref(ep, "dbProxyName", typeDBProxy); px != nil {
				port = proxyPort(px)
			}
			checkDBSecurityGroups(c, s, ep, port, checked)
		}
	},
}

// dbPort is the port a database listens on: its port input, else the
// engine's default (3306 for MySQL, MariaDB and Aurora MySQL, 5432 for
// PostgreSQL). 0 means unknown, and then every port counts.
func dbPort(db *Resource) float64 {
	switch p, st := numberAt(db.Properties, "port"); st {
	case Known:
		return p
	case Unknown:
		return 0
	}
	if engine, _ := stringAt(db.Properties, "engine"); strings.Contains(engine, "postgres") {
		return 5432
	}
	return 3306
}

// proxyPort is the port of an RDS Proxy, fixed by its engine family
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connecting.html).
func proxyPort(px *Resource) float64 {
	switch family, _ := stringAt(px.Properties, "engineFamily"); family {
	case "POSTGRESQL":
		return 5432
	case "SQLSERVER":
		return 1433
	}
	return 3306
}

func portText(port float64) string {
	if port == 0 {
		return "every port (the database port is unknown)"
	}
	return fmt.Sprintf("the database port (%v)", port)
}

func checkDBSubnets(c Check, s *Stack, db *Resource) {
	if _, st := lookup(db.Properties, "dbSubnetGroupName"); st == Absent {
		c.Report(*db, "dbSubnetGroupName is not set, so the database lands in the default VPC, whose subnets are "+
			"public. Fix: create an aws.rds.SubnetGroup of private subnets in this stack and set dbSubnetGroupName.")
		return
	}
	group, unresolved := s.Ref(db, "dbSubnetGroupName", typeDBSubnetGroup)
	if group == nil {
		if unresolved {
			c.Advise(*db, "the DB subnet group is not managed in this stack, so whether its subnets route to an "+
				"internet gateway cannot be decided. Fix: manage the aws.rds.SubnetGroup (and its subnets) in this stack.")
		}
		return
	}
	subnets, unresolved := s.Refs(group, "subnetIds", typeSubnet)
	if unresolved || len(subnets) == 0 {
		c.Advise(*group, "some subnets of this DB subnet group are not managed in this stack, so their routes "+
			"cannot be checked. Fix: create the private subnets in this stack and pass their ids.")
	}
	for _, sn := range subnets {
		if v, st := boolAt(sn.Properties, "mapPublicIpOnLaunch"); st == Known && v {
			c.Report(*sn, "subnet %q of the DB subnet group assigns public IPs (mapPublicIpOnLaunch: true). "+
				"Fix: use private subnets for the database.", sn.Name)
		}
		for _, rt := range routeTablesOf(s, sn) {
			if igw := internetRoute(s, rt); igw != "" {
				c.Report(*rt, "route table %q of DB subnet %q routes to internet gateway %s, so the subnet is "+
					"public. Fix: put the database in subnets whose route tables have no internet gateway route.",
					rt.Name, sn.Name, igw)
			}
		}
	}
}

func routeTablesOf(s *Stack, subnet *Resource) []*Resource {
	var out []*Resource
	for _, assoc := range s.OfType(typeRouteTableAssoc) {
		sn, _ := s.Ref(assoc, "subnetId", typeSubnet)
		if sn != subnet {
			continue
		}
		if rt, _ := s.Ref(assoc, "routeTableId", typeRouteTable); rt != nil {
			out = append(out, rt)
		}
	}
	return out
}

// internetRoute returns a description of an internet gateway route of rt,
// inline or as a separate aws.ec2.Route, or "" when there is none.
func internetRoute(s *Stack, rt *Resource) string {
	if gws := s.DependsOn(rt, "routes", typeInternetGateway); len(gws) > 0 {
		return gws[0].Name
	}
	routes, _ := arrayAt(rt.Properties, "routes")
	for _, route := range routes {
		m, st := asObject(route)
		if st != Known {
			continue
		}
		if gw, st := stringAt(m, "gatewayId"); st == Known && isInternetGateway(s, gw) {
			return gw
		}
	}
	for _, route := range s.OfType(typeRouteEntry) {
		if t, _ := s.Ref(route, "routeTableId", typeRouteTable); t != rt {
			continue
		}
		if gws := s.DependsOn(route, "gatewayId", typeInternetGateway); len(gws) > 0 {
			return gws[0].Name
		}
		if gw, st := stringAt(route.Properties, "gatewayId"); st == Known && isInternetGateway(s, gw) {
			return gw
		}
	}
	return ""
}

func isInternetGateway(s *Stack, id string) bool {
	return strings.HasPrefix(id, "igw-") || s.Find(id, typeInternetGateway) != nil
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// sgPort is a security group checked for one port: a database and its
// proxy usually share a group, which is reported on once per port.
type sgPort struct {
	sg   *Resource
	port float64
}

// securityGroupTypes are the resources a vpcSecurityGroupIds entry can
// name: a group of the stack, or the VPC's default group adopted by it.
var securityGroupTypes = []string{typeSecurityGroup, typeDefaultSG}

// checkDBSecurityGroups checks the security groups of a database, proxy or
// proxy endpoint listening on port (0: unknown).
func checkDBSecurityGroups(c Check, s *Stack, owner *Resource, port float64, checked map[sgPort]bool) {
	if _, st := lookup(owner.Properties, "vpcSecurityGroupIds"); st == Absent {
		c.Report(*owner, "vpcSecurityGroupIds is not set, so the VPC's default security group applies. "+
			"Fix: attach a dedicated security group that admits %s only from the application's security group.",
			portText(port))
		return
	}
	groups, unresolved := s.Refs(owner, "vpcSecurityGroupIds", securityGroupTypes...)
	if unresolved {
		c.Advise(*owner, "some security groups in vpcSecurityGroupIds are not managed in this stack, so whether "+
			"they admit %s from outside the VPC cannot be decided. Fix: manage the security groups in this stack.",
			portText(port))
	}
	for _, sg := range groups {
		if checked[sgPort{sg, port}] {
			continue
		}
		checked[sgPort{sg, port}] = true
		vpcCIDR := netip.Prefix{}
		if vpc, _ := s.Ref(sg, "vpcId", typeVPC); vpc != nil {
			if cidr, st := stringAt(vpc.Properties, "cidrBlock"); st == Known {
				vpcCIDR, _ = netip.ParsePrefix(cidr)
			}
		}
		for _, rule := range ingressRules(s, sg) {
			if !rule.covers(port) {
				continue
			}
			cidrs := rule.cidrs
			for _, pl := range rule.prefixLists {
				if pl.list == nil {
					c.Advise(*rule.owner, "security group %q admits %s from prefix list %s, which this stack does "+
						"not manage, so its addresses cannot be checked. Fix: manage the aws.ec2.ManagedPrefixList "+
						"in this stack, or admit the port from the application's security group.",
						sg.Name, portText(port), pl.name)
					continue
				}
				cidrs = append(cidrs, prefixListCIDRs(s, pl.list)...)
			}
			for _, cidr := range cidrs {
				if !insideVPC(cidr, vpcCIDR) {
					c.Report(*rule.owner, "security group %q admits %s from %s, outside the VPC. "+
						"Fix: allow it only from the application's security group (sourceSecurityGroupId) or "+
						"the VPC's CIDR.", sg.Name, portText(port), cidr)
				}
			}
			if rule.unknownCIDR && !c.Env.DryRun {
				c.Report(*rule.owner, "security group %q admits %s from a CIDR that is still unknown during the "+
					"update. Fix: use a known CIDR or a source security group.", sg.Name, portText(port))
			}
		}
	}
}

type ingressRule struct {
	owner       *Resource
	protocol    string
	from, to    float64
	cidrs       []string
	unknownCIDR bool
	prefixLists []prefixListRef
}

// prefixListRef is a prefix list an ingress rule admits: the resource of
// the stack it resolves to, or nil and the name it was given.
type prefixListRef struct {
	list *Resource
	name string
}

// covers reports whether the rule admits TCP traffic to port (0: any).
func (r ingressRule) covers(port float64) bool {
	switch strings.ToLower(r.protocol) {
	case "-1", "all":
		return true
	case "tcp", "6":
		if port == 0 {
			return true
		}
		return r.from <= port && port <= r.to
	}
	return false
}

func insideVPC(cidr string, vpc netip.Prefix) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	if vpc.IsValid() {
		return vpc.Contains(p.Addr()) && p.Bits() >= vpc.Bits()
	}
	for _, r := range privateRanges {
		if r.Contains(p.Addr()) && p.Bits() >= r.Bits() {
			return true
		}
	}
	return false
}

// prefixListCIDRs returns the entries of a managed prefix list: its inline
// entries and the aws.ec2.ManagedPrefixListEntry resources added to it.
func prefixListCIDRs(s *Stack, pl *Resource) []string {
	var out []string
	entries, _ := arrayAt(pl.Properties, "entries")
	for _, e := range entries {
		if m, st := asObject(e); st == Known {
			if cidr, st := stringAt(m, "cidr"); st == Known {
				out = append(out, cidr)
			}
		}
	}
	for _, e := range s.OfType(typePrefixListEntry) {
		if l, _ := s.Ref(e, "prefixListId", typePrefixList); l == pl {
			if cidr, st := stringAt(e.Properties, "cidr"); st == Known {
				out = append(out, cidr)
			}
		}
	}
	return out
}

// ingressRules gathers a security group's inline ingress blocks and the
// separate rule resources attached to it.
func ingressRules(s *Stack, sg *Resource) []ingressRule {
	var out []ingressRule
	collect := func(owner *Resource, m resource.PropertyMap, depKey, protoKey, prefixKey string, cidrKeys ...string) {
		r := ingressRule{owner: owner}
		r.protocol, _ = stringAt(m, protoKey)
		r.from, _ = numberAt(m, "fromPort")
		r.to, _ = numberAt(m, "toPort")
		for _, k := range cidrKeys {
			v, st := lookup(m, k)
			switch {
			case st == Unknown:
				r.unknownCIDR = true
			case st == Known && v.IsArray():
				vals, anyUnknown, _ := stringsAt(m, k)
				r.cidrs = append(r.cidrs, vals...)
				r.unknownCIDR = r.unknownCIDR || anyUnknown
			case st == Known:
				if sv, sst := asString(v); sst == Known && sv != "" {
					r.cidrs = append(r.cidrs, sv)
				}
			}
		}
		r.prefixLists = prefixListsOf(s, owner, m, depKey, prefixKey)
		out = append(out, r)
	}
	inline, _ := arrayAt(sg.Properties, "ingress")
	for _, e := range inline {
		if m, st := asObject(e); st == Known {
			collect(sg, m, "ingress", "protocol", "prefixListIds", "cidrBlocks", "ipv6CidrBlocks")
		}
	}
	for _, rule := range s.OfType(typeSGRule) {
		if t, _ := stringAt(rule.Properties, "type"); t != "ingress" {
			continue
		}
		if g, _ := s.Ref(rule, "securityGroupId", securityGroupTypes...); g == sg {
			collect(rule, rule.Properties, "prefixListIds", "protocol", "prefixListIds", "cidrBlocks", "ipv6CidrBlocks")
		}
	}
	for _, rule := range s.OfType(typeSGIngressRule) {
		if g, _ := s.Ref(rule, "securityGroupId", securityGroupTypes...); g == sg {
			collect(rule, rule.Properties, "prefixListId", "ipProtocol", "prefixListId", "cidrIpv4", "cidrIpv6")
		}
	}
	return out
}

// prefixListsOf resolves the prefix lists named at key of m (a list or one
// id). Known ids are looked up in the stack; computed ones through the
// engine's property dependencies of depKey on the owner.
func prefixListsOf(s *Stack, owner *Resource, m resource.PropertyMap, depKey, key string) []prefixListRef {
	v, st := lookup(m, key)
	if st == Absent || st == Invalid {
		return nil
	}
	var ids []string
	unknown := st == Unknown
	if st == Known && v.IsArray() {
		var anyUnknown bool
		ids, anyUnknown, _ = stringsAt(m, key)
		unknown = anyUnknown
	} else if sv, sst := asString(v); sst == Known && sv != "" {
		ids = []string{sv}
	}
	var out []prefixListRef
	for _, id := range ids {
		out = append(out, prefixListRef{list: s.Find(id, typePrefixList), name: strconv.Quote(id)})
	}
	if unknown {
		deps := s.DependsOn(owner, depKey, typePrefixList)
		for _, d := range deps {
			out = append(out, prefixListRef{list: d, name: d.Name})
		}
		if len(deps) == 0 {
			out = append(out, prefixListRef{name: "(computed from outside the stack)"})
		}
	}
	return out
}

// RDSIAMAuth: IAM authentication end to end. The proxy's auth settings and
// the database flag are literals and fail closed when computed; an IAM
// policy document is usually computed in preview (it names the proxy's
// resource id), so it is checked when known and must be known at `up`.
// Endpoints and cluster instances take their authentication from the proxy
// or cluster they front: the stack part follows that reference.
var RDSIAMAuth = Policy{
	Name: "rds-iam-auth",
	Description: "Clients must authenticate to the database with IAM over TLS: proxy auths require IAM, the proxy " +
		"requires TLS, the instance or cluster enables IAM database auth, and rds-db:connect names one proxy, " +
		"instance or cluster user.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Give every proxy auth iamAuth: REQUIRED, set requireTls: true on the proxy and " +
		"iamDatabaseAuthenticationEnabled: true on the instance or cluster, and grant rds-db:connect only on " +
		"arn:aws:rds-db:<region>:<account>:dbuser:<prx-… id>/<user>.",
	Reads: append([]string{typeDBProxy, typeDBInstance, typeDBCluster, typeDBProxyEndpoint, typeDBClusterEndpoint,
		typeDBClusterInstance}, iamDocumentTypes...),
	ValidateResource: func(c Check, r Resource) {
		switch r.Type {
		case typeDBProxy:
			checkProxyAuth(c, r)
		case typeDBInstance, typeDBCluster:
			if v, st := boolAt(r.Properties, "iamDatabaseAuthenticationEnabled"); st != Known || !v {
				c.Report(r, "iamDatabaseAuthenticationEnabled is %s, not true. Fix: set "+
					"iamDatabaseAuthenticationEnabled: true so that database users can log in with IAM tokens.",
					describe(r.Properties, "iamDatabaseAuthenticationEnabled"))
			}
		default:
			for _, d := range iamDocuments(r) {
				checkRDSConnect(c, r, d)
			}
		}
	},
	ValidateStack: func(c Check, s *Stack) {
		for _, ep := range s.OfType(typeDBProxyEndpoint) {
			followAuth(c, s, ep, "dbProxyName", "proxy", typeDBProxy)
		}
		for _, r := range s.OfType(typeDBClusterEndpoint, typeDBClusterInstance) {
			followAuth(c, s, r, "clusterIdentifier", "cluster", typeDBCluster)
		}
	},
}

// followAuth: r authenticates clients as the resource its key names does,
// whose own settings this policy checks when the stack manages it.
func followAuth(c Check, s *Stack, r *Resource, key, what string, types ...string) {
	if target, _ := s.Ref(r, key, types...); target != nil {
		return
	}
	c.Advise(*r, "%s names a %s that this stack does not manage (%s), so whether clients must use IAM "+
		"authentication and TLS through it cannot be decided. Fix: manage the %s in this stack.",
		key, what, describe(r.Properties, key), what)
}

func checkProxyAuth(c Check, r Resource) {
	if v, st := boolAt(r.Properties, "requireTls"); st != Known || !v {
		c.Report(r, "requireTls is %s, not true, so clients may connect without TLS. Fix: set requireTls: true.",
			describe(r.Properties, "requireTls"))
	}
	auths, st := arrayAt(r.Properties, "auths")
	if st != Known || len(auths) == 0 {
		c.Report(r, "auths is %s, so the proxy's IAM authentication cannot be verified. Fix: set auths to one "+
			"entry per database user with iamAuth: \"REQUIRED\".", describe(r.Properties, "auths"))
		return
	}
	for i, a := range auths {
		m, st := asObject(a)
		if st != Known {
			c.Report(r, "auths[%d] is %s. Fix: give every auth entry iamAuth: \"REQUIRED\".", i, st)
			continue
		}
		if v, st := stringAt(m, "iamAuth"); st != Known || v != "REQUIRED" {
			c.Report(r, "auths[%d].iamAuth is %s, not \"REQUIRED\", so clients may log in with a password. "+
				"Fix: set iamAuth: \"REQUIRED\".", i, describe(m, "iamAuth"))
		}
	}
}

var dbUserARN = regexp.MustCompile(`^arn:aws[a-z-]*:rds-db:[a-z0-9-]+:[0-9]{12}:dbuser:(prx|db|cluster)-[A-Za-z0-9]+/[A-Za-z0-9_$.-]+$`)

func checkRDSConnect(c Check, r Resource, d iamDocument) {
	doc, ok := d.parsed(c, r, "the rds-db:connect grants")
	if !ok {
		return
	}
	for i, stmt := range doc {
		if !strings.EqualFold(stmt.Effect, "Allow") || !mentionsRDSDB(stmt.Action) {
			continue
		}
		if len(stmt.NotResource) > 0 || len(stmt.Resource) == 0 {
			c.Report(r, "%s Statement[%d] grants rds-db:connect without naming resources. Fix: list "+
				"arn:aws:rds-db:<region>:<account>:dbuser:<prx-…, db-… or cluster-… id>/<user> resources.", d.where, i)
			continue
		}
		for _, res := range stmt.Resource {
			if !dbUserARN.MatchString(res) {
				c.Report(r, "%s Statement[%d] grants rds-db:connect on %q. Fix: name exactly one database user "+
					"behind one proxy, instance or cluster: arn:aws:rds-db:<region>:<account>:dbuser:prx-<id>/<user>.",
					d.where, i, res)
			}
		}
	}
}

func mentionsRDSDB(actions []string) bool {
	for _, a := range actions {
		if strings.HasPrefix(strings.ToLower(a), "rds-db:") && grantsRDSConnect(a) {
			return true
		}
	}
	return false
}

// describe names the state of a property for messages: its value when
// known, else absent/unknown/invalid.
func describe(m resource.PropertyMap, path string) string {
	v, st := lookup(m, path)
	if st != Known {
		return st.String()
	}
	switch {
	case v.IsString():
		return strconv.Quote(v.StringValue())
	case v.IsBool(), v.IsNumber():
		return fmt.Sprint(v.V)
	}
	if b, err := json.Marshal(v.Mappable()); err == nil {
		return string(b)
	}
	return v.String()
}

// ProductionSafeguards applies only to production stacks: the policy config
// "production" decides, else the stack name is looked up in
// "productionStacks". An Aurora cluster is Multi-AZ when it has instances
// in more than one AZ, which only the stack tells: the stack part counts
// its cluster instances.
var ProductionSafeguards = Policy{
	Name:             "production-safeguards",
	Description:      "Production databases need deletion protection, Multi-AZ and at least a week of backups.",
	Reads:            []string{typeDBInstance, typeDBCluster, typeDBClusterInstance},
	EnforcementLevel: Mandatory,
	Severity:         Medium,
	Remediation: "In production stacks set deletionProtection: true, multiAz: true (Aurora: at least two cluster " +
		"instances) and backupRetentionPeriod of at least minBackupRetentionDays.",
	ConfigSchema: map[string]map[string]any{
		"production":             {"type": "boolean", "description": "Treat this stack as production (overrides productionStacks)."},
		"productionStacks":       {"type": "array", "items": map[string]any{"type": "string"}, "description": "Stack names treated as production."},
		"minBackupRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "description": "Minimum backupRetentionPeriod in production."},
	},
	Defaults: Config{"productionStacks": []any{"prod", "production"}, "minBackupRetentionDays": float64(7)},
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeDBInstance && r.Type != typeDBCluster || !c.production() {
			return
		}
		if v, st := boolAt(r.Properties, "deletionProtection"); st != Known || !v {
			c.Report(r, "deletionProtection is %s in a production stack. Fix: set deletionProtection: true.",
				describe(r.Properties, "deletionProtection"))
		}
		if v, st := boolAt(r.Properties, "multiAz"); r.Type == typeDBInstance && (st != Known || !v) {
			c.Report(r, "multiAz is %s in a production stack, so one AZ failure stops intake. Fix: set multiAz: true.",
				describe(r.Properties, "multiAz"))
		}
		minDays := c.number("minBackupRetentionDays")
		if v, st := numberAt(r.Properties, "backupRetentionPeriod"); st != Known || v < minDays {
			c.Report(r, "backupRetentionPeriod is %s, below %v days in a production stack. Fix: set "+
				"backupRetentionPeriod to at least %v.", describe(r.Properties, "backupRetentionPeriod"), minDays, minDays)
		}
	},
	ValidateStack: func(c Check, s *Stack) {
		if !c.production() {
			return
		}
		for _, cl := range s.OfType(typeDBCluster) {
			if _, st := lookup(cl.Properties, "dbClusterInstanceClass"); st != Absent || isServerlessV1(*cl) {
				continue // a Multi-AZ DB cluster has three instances in three AZs by construction
			}
			n := 0
			for _, ci := range s.OfType(typeDBClusterInstance) {
				if ref, _ := s.Ref(ci, "clusterIdentifier", typeDBCluster); ref == cl {
					n++
				}
			}
			if n < 2 {
				c.Report(*cl, "the Aurora cluster has %d cluster instance(s) in this stack, so one AZ failure stops "+
					"it until a new writer is created. Fix: add a second aws.rds.ClusterInstance (Aurora places it in "+
					"another AZ, and fails over to it).", n)
			}
		}
	},
}

func (c Check) production() bool {
	if v, ok := c.Config["production"].(bool); ok {
		return v
	}
	for _, s := range c.strings("productionStacks") {
		if s == c.Env.Stack {
			return true
		}
	}
	return false
}
