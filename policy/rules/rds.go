package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// RDSInstanceNotPublic: a literal security boolean, so a computed value
// fails closed.
var RDSInstanceNotPublic = Policy{
	Name:             "rds-instance-not-public",
	Description:      "RDS instances must not be publicly accessible.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation:      "Set publiclyAccessible: false and reach the database through the RDS Proxy inside the VPC.",
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeDBInstance && r.Type != typeDBClusterInstance {
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

// RDSNetworkPrivate follows the references that make a database private or
// not: its subnet group's subnets and their routes, and its (and its
// proxy's) security groups. Unresolvable references fail closed, because a
// subnet group or security group this stack does not manage cannot be
// proved private.
var RDSNetworkPrivate = Policy{
	Name: "rds-network-private",
	Description: "RDS instances must sit in subnets without a route to an internet gateway, and their and their " +
		"proxies' security groups must admit MySQL (3306) only from inside the VPC.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Put the database in subnets of this stack with no internet gateway route, and let its and its " +
		"proxy's security groups admit 3306 only from the application's security group or the VPC's " +
		"CIDR.",
	ValidateStack: func(c Check, s *Stack) {
		checked := map[*Resource]bool{}
		for _, db := range s.OfType(typeDBInstance) {
			checkDBSubnets(c, s, db)
			checkDBSecurityGroups(c, s, db, checked)
		}
		for _, px := range s.OfType(typeDBProxy) {
			checkDBSecurityGroups(c, s, px, checked)
		}
	},
}

func checkDBSubnets(c Check, s *Stack, db *Resource) {
	if _, st := lookup(db.Properties, "dbSubnetGroupName"); st == Absent {
		c.Report(*db, "dbSubnetGroupName is not set, so the instance lands in the default VPC, whose subnets are "+
			"public. Fix: create an aws.rds.SubnetGroup of private subnets in this stack and set dbSubnetGroupName.")
		return
	}
	group, unresolved := s.Ref(db, "dbSubnetGroupName", typeDBSubnetGroup)
	if group == nil {
		if unresolved {
			c.Report(*db, "the DB subnet group is not managed in this stack, so its subnets cannot be checked. "+
				"Fix: manage the aws.rds.SubnetGroup (and its subnets) in this stack.")
		}
		return
	}
	subnets, unresolved := s.Refs(group, "subnetIds", typeSubnet)
	if unresolved || len(subnets) == 0 {
		c.Report(*group, "some subnets of this DB subnet group are not managed in this stack, so their routes "+
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

// checkDBSecurityGroups checks the security groups of a database or proxy;
// checked holds the groups already reported on, since the database and its
// proxy usually share one.
func checkDBSecurityGroups(c Check, s *Stack, owner *Resource, checked map[*Resource]bool) {
	if _, st := lookup(owner.Properties, "vpcSecurityGroupIds"); st == Absent {
		c.Report(*owner, "vpcSecurityGroupIds is not set, so the VPC's default security group applies. "+
			"Fix: attach a dedicated security group that admits 3306 only from the application's security group.")
		return
	}
	groups, unresolved := s.Refs(owner, "vpcSecurityGroupIds", typeSecurityGroup)
	if unresolved {
		c.Report(*owner, "some security groups in vpcSecurityGroupIds are not managed in this stack, so their "+
			"ingress cannot be checked. Fix: manage the security groups in this stack.")
	}
	for _, sg := range groups {
		if checked[sg] {
			continue
		}
		checked[sg] = true
		vpcCIDR := netip.Prefix{}
		if vpc, _ := s.Ref(sg, "vpcId", typeVPC); vpc != nil {
			if cidr, st := stringAt(vpc.Properties, "cidrBlock"); st == Known {
				vpcCIDR, _ = netip.ParsePrefix(cidr)
			}
		}
		for _, rule := range ingressRules(s, sg) {
			if !rule.coversMySQL() {
				continue
			}
			for _, cidr := range rule.cidrs {
				if !insideVPC(cidr, vpcCIDR) {
					c.Report(*rule.owner, "security group %q admits MySQL (3306) from %s, outside the VPC. "+
						"Fix: allow 3306 only from the application's security group (sourceSecurityGroupId) or "+
						"the VPC's CIDR.", sg.Name, cidr)
				}
			}
			if rule.unknownCIDR && !c.Env.DryRun {
				c.Report(*rule.owner, "security group %q admits 3306 from a CIDR that is still unknown during the "+
					"update. Fix: use a known CIDR or a source security group.", sg.Name)
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
}

func (r ingressRule) coversMySQL() bool {
	switch strings.ToLower(r.protocol) {
	case "-1", "all":
		return true
	case "tcp", "6":
		return r.from <= 3306 && 3306 <= r.to
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

// ingressRules gathers a security group's inline ingress blocks and the
// separate rule resources attached to it.
func ingressRules(s *Stack, sg *Resource) []ingressRule {
	var out []ingressRule
	collect := func(owner *Resource, m resource.PropertyMap, protoKey string, cidrKeys ...string) {
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
		out = append(out, r)
	}
	inline, _ := arrayAt(sg.Properties, "ingress")
	for _, e := range inline {
		if m, st := asObject(e); st == Known {
			collect(sg, m, "protocol", "cidrBlocks", "ipv6CidrBlocks")
		}
	}
	for _, rule := range s.OfType(typeSGRule) {
		if t, _ := stringAt(rule.Properties, "type"); t != "ingress" {
			continue
		}
		if g, _ := s.Ref(rule, "securityGroupId", typeSecurityGroup); g == sg {
			collect(rule, rule.Properties, "protocol", "cidrBlocks", "ipv6CidrBlocks")
		}
	}
	for _, rule := range s.OfType(typeSGIngressRule) {
		if g, _ := s.Ref(rule, "securityGroupId", typeSecurityGroup); g == sg {
			collect(rule, rule.Properties, "ipProtocol", "cidrIpv4", "cidrIpv6")
		}
	}
	return out
}

// RDSIAMAuth: IAM authentication end to end. The proxy's auth settings and
// the instance flag are literals and fail closed when computed; an IAM
// policy document is usually computed in preview (it names the proxy's
// resource id), so it is checked when known and must be known at `up`.
var RDSIAMAuth = Policy{
	Name: "rds-iam-auth",
	Description: "Clients must authenticate to the database with IAM over TLS: proxy auths require IAM, the proxy " +
		"requires TLS, the instance enables IAM database auth, and rds-db:connect names one proxy or instance user.",
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Give every proxy auth iamAuth: REQUIRED, set requireTls: true on the proxy and " +
		"iamDatabaseAuthenticationEnabled: true on the instance, and grant rds-db:connect only on " +
		"arn:aws:rds-db:<region>:<account>:dbuser:<prx-… id>/<user>.",
	ValidateResource: func(c Check, r Resource) {
		switch r.Type {
		case typeDBProxy:
			checkProxyAuth(c, r)
		case typeDBInstance:
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

var dbUserARN = regexp.MustCompile(`^arn:aws[a-z-]*:rds-db:[a-z0-9-]+:[0-9]{12}:dbuser:(prx|db)-[A-Za-z0-9]+/[A-Za-z0-9_$.-]+$`)

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
				"arn:aws:rds-db:<region>:<account>:dbuser:<prx-… or db-… id>/<user> resources.", d.where, i)
			continue
		}
		for _, res := range stmt.Resource {
			if !dbUserARN.MatchString(res) {
				c.Report(r, "%s Statement[%d] grants rds-db:connect on %q. Fix: name exactly one database user "+
					"behind one proxy or instance: arn:aws:rds-db:<region>:<account>:dbuser:prx-<id>/<user>.",
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
// "productionStacks".
var ProductionSafeguards = Policy{
	Name:             "production-safeguards",
	Description:      "Production databases need deletion protection, Multi-AZ and at least a week of backups.",
	EnforcementLevel: Mandatory,
	Severity:         Medium,
	Remediation: "In production stacks set deletionProtection: true, multiAz: true and backupRetentionPeriod of " +
		"at least minBackupRetentionDays.",
	ConfigSchema: map[string]map[string]any{
		"production":             {"type": "boolean", "description": "Treat this stack as production (overrides productionStacks)."},
		"productionStacks":       {"type": "array", "items": map[string]any{"type": "string"}, "description": "Stack names treated as production."},
		"minBackupRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "description": "Minimum backupRetentionPeriod in production."},
	},
	Defaults: Config{"productionStacks": []any{"prod", "production"}, "minBackupRetentionDays": float64(7)},
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeDBInstance || !c.production() {
			return
		}
		if v, st := boolAt(r.Properties, "deletionProtection"); st != Known || !v {
			c.Report(r, "deletionProtection is %s in a production stack. Fix: set deletionProtection: true.",
				describe(r.Properties, "deletionProtection"))
		}
		if v, st := boolAt(r.Properties, "multiAz"); st != Known || !v {
			c.Report(r, "multiAz is %s in a production stack, so one AZ failure stops intake. Fix: set multiAz: true.",
				describe(r.Properties, "multiAz"))
		}
		minDays := c.number("minBackupRetentionDays")
		if v, st := numberAt(r.Properties, "backupRetentionPeriod"); st != Known || v < minDays {
			c.Report(r, "backupRetentionPeriod is %s, below %v days in a production stack. Fix: set "+
				"backupRetentionPeriod to at least %v.", describe(r.Properties, "backupRetentionPeriod"), minDays, minDays)
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
