package network_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/network"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

func TestSubnetCIDRs(t *testing.T) {
	tests := []struct {
		vpc  string
		n    int
		want []string
	}{
		{"10.40.0.0/16", 2, []string{"10.40.0.0/20", "10.40.16.0/20"}},
		{"10.41.0.0/16", 3, []string{"10.41.0.0/20", "10.41.16.0/20", "10.41.32.0/20"}},
		{"192.168.4.0/22", 2, []string{"192.168.4.0/26", "192.168.4.64/26"}},
		{"10.0.0.0/24", 2, []string{"10.0.0.0/28", "10.0.0.16/28"}},
		{"10.0.0.0/26", 5, nil}, // /28 leaves room for 4
		{"not-a-cidr", 2, nil},
	}
	for _, tt := range tests {
		got, err := network.SubnetCIDRs(tt.vpc, tt.n)
		if (err != nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("SubnetCIDRs(%s, %d) = %v, %v; want %v", tt.vpc, tt.n, got, err, tt.want)
		}
	}
}

var tags = map[string]string{"project": "sluice", "stack": "dev"}

func newVPC() network.Args {
	return network.Args{Network: settings.Network{VpcCIDR: "10.40.0.0/16", AvailabilityZones: []string{"ap-northeast-1a", "ap-northeast-1c"}}, Tags: tags}
}

var existingSubnets = []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}

func existingVPC() network.Args {
	return network.Args{Network: settings.Network{ExistingVpcID: "vpc-0123456789abcdef0", ExistingSubnetIDs: existingSubnets}, Tags: tags}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		valid  func() network.Args
		modify func(*network.Args)
		field  string
	}{
		{"new vpc", newVPC, func(*network.Args) {}, ""},
		{"existing vpc", existingVPC, func(*network.Args) {}, ""},
		{"six zones", newVPC, func(a *network.Args) {
			a.AvailabilityZones = []string{"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d", "ap-northeast-1e", "ap-northeast-1f", "ap-northeast-1g"}
		}, ""},
		{"public cidr", newVPC, func(a *network.Args) { a.VpcCIDR = "8.8.0.0/16" }, "Network.VpcCIDR"},
		{"endpoint without region", newVPC, func(a *network.Args) { a.SecretsManagerEndpoint = true }, "Region"},
		{"cidr too large", newVPC, func(a *network.Args) { a.VpcCIDR = "10.0.0.0/8" }, "Network.VpcCIDR"},
		{"no cidr", newVPC, func(a *network.Args) { a.VpcCIDR = "" }, "Network.VpcCIDR"},
		{"one zone", newVPC, func(a *network.Args) { a.AvailabilityZones = a.AvailabilityZones[:1] }, "Network.AvailabilityZones"},
		{"bad zone", newVPC, func(a *network.Args) { a.AvailabilityZones[1] = "tokyo" }, "Network.AvailabilityZones"},
		{"subnets without vpc", existingVPC, func(a *network.Args) { a.ExistingVpcID = "" }, "Network.ExistingVpcID"},
		{"bad vpc id", existingVPC, func(a *network.Args) { a.ExistingVpcID = "my-vpc" }, "Network.ExistingVpcID"},
		{"one subnet", existingVPC, func(a *network.Args) { a.ExistingSubnetIDs = existingSubnets[:1] }, "Network.ExistingSubnetIDs"},
		{"bad subnet id", existingVPC, func(a *network.Args) { a.ExistingSubnetIDs = []string{"subnet-0123456789abcdef0", "sn-1"} }, "Network.ExistingSubnetIDs"},
		{"existing vpc with cidr", existingVPC, func(a *network.Args) { a.VpcCIDR = "10.40.0.0/16" }, "Network.VpcCIDR"},
		{"existing vpc with zones", existingVPC, func(a *network.Args) { a.AvailabilityZones = []string{"ap-northeast-1a"} }, "Network.AvailabilityZones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, tt.valid, tt.modify, tt.field) })
	}
}

func record(t *testing.T, args network.Args) (componenttest.Recorder, map[string]any) {
	t.Helper()
	var out map[string]any
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		n, err := network.New(ctx, "net", args)
		if err != nil {
			return err
		}
		out, err = componenttest.Await(ctx, map[string]pulumi.Output{
			"vpcId": n.VpcID, "subnetIds": n.SubnetIDs, "client": n.ClientSecurityGroupID,
			"proxy": n.ProxySecurityGroupID, "database": n.DatabaseSecurityGroupID,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, out
}

// TestNewVPC: private subnets only, one per zone, with the split
// SubnetCIDRs gives; the route table has only the VPC-local route and the
// default security group is stripped of AWS's allow rules.
func TestNewVPC(t *testing.T) {
	m, out := record(t, newVPC())
	vpc := m.One(t, "aws:ec2/vpc:Vpc", "net-vpc")
	if vpc.Inputs["cidrBlock"].StringValue() != "10.40.0.0/16" || out["vpcId"] != vpc.ID {
		t.Errorf("vpc %v, output vpcId %v", vpc.Inputs["cidrBlock"], out["vpcId"])
	}
	rt := m.One(t, "aws:ec2/routeTable:RouteTable", "net-private-rt")
	if routes, ok := rt.Inputs["routes"]; ok && len(routes.ArrayValue()) > 0 {
		t.Errorf("route table has routes %v beyond the VPC-local one", routes)
	}
	var ids []string
	for i, zone := range []string{"ap-northeast-1a", "ap-northeast-1c"} {
		sn := m.One(t, "aws:ec2/subnet:Subnet", "net-private-"+zone)
		want := []string{"10.40.0.0/20", "10.40.16.0/20"}[i]
		if sn.Inputs["cidrBlock"].StringValue() != want || sn.Inputs["availabilityZone"].StringValue() != zone ||
			sn.Inputs["vpcId"].StringValue() != vpc.ID || sn.Inputs["mapPublicIpOnLaunch"].BoolValue() {
			t.Errorf("subnet %s: %v", zone, sn.Inputs)
		}
		assoc := m.One(t, "aws:ec2/routeTableAssociation:RouteTableAssociation", "net-private-"+zone)
		if assoc.Inputs["subnetId"].StringValue() != sn.ID || assoc.Inputs["routeTableId"].StringValue() != rt.ID {
			t.Errorf("association %s: %v", zone, assoc.Inputs)
		}
		ids = append(ids, sn.ID)
	}
	if !slices.Equal(out["subnetIds"].([]string), ids) {
		t.Errorf("output subnetIds %v, want the subnets %v", out["subnetIds"], ids)
	}
	def := m.One(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default-sg")
	for _, k := range []string{"ingress", "egress"} {
		if v, ok := def.Inputs[resourceKey(k)]; ok && len(v.ArrayValue()) > 0 {
			t.Errorf("default security group keeps %s rules", k)
		}
	}
	for _, typ := range []string{"aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/route:Route", "aws:ec2/eip:Eip"} {
		if n := len(m.All(typ)); n > 0 {
			t.Errorf("%d %s: the network must stay private", n, typ)
		}
	}
	checkSecurityGroupChain(t, m, out, vpc.ID)
	m.CheckParentedAndTagged(t, network.Type, "dev")
}

// TestExistingVPC: no VPC of its own; the security groups go into the
// given VPC and the outputs are the given subnets.
func TestExistingVPC(t *testing.T) {
	m, out := record(t, existingVPC())
	for _, typ := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"} {
		if n := len(m.All(typ)); n != 0 {
			t.Errorf("%d %s created in an existing VPC", n, typ)
		}
	}
	if out["vpcId"] != "vpc-0123456789abcdef0" || !slices.Equal(out["subnetIds"].([]string), existingSubnets) {
		t.Errorf("outputs %v", out)
	}
	checkSecurityGroupChain(t, m, out, "vpc-0123456789abcdef0")
}

// checkSecurityGroupChain: three groups in the VPC without inline rules,
// and exactly the four rules client → proxy → database on tcp/3306, each
// between the right group and peer (by the ids the mocked EC2 returned,
// which are also the outputs).
func checkSecurityGroupChain(t *testing.T, m componenttest.Recorder, out map[string]any, vpcID string) {
	t.Helper()
	groups := map[string]string{}
	for _, role := range []string{"client", "proxy", "database"} {
		sg := m.One(t, "aws:ec2/securityGroup:SecurityGroup", "net-"+role)
		if sg.Inputs["vpcId"].StringValue() != vpcID {
			t.Errorf("group %s in %v, want %s", role, sg.Inputs["vpcId"], vpcID)
		}
		for _, k := range []string{"ingress", "egress"} {
			if v, ok := sg.Inputs[resourceKey(k)]; ok && len(v.ArrayValue()) > 0 {
				t.Errorf("group %s has inline %s rules", role, k)
			}
		}
		if out[role] != sg.ID {
			t.Errorf("output %s security group %v, want %s", role, out[role], sg.ID)
		}
		groups[role] = sg.ID
	}
	want := map[string][2]string{
		"net-client-to-proxy":     {groups["client"], groups["proxy"]},
		"net-proxy-from-client":   {groups["proxy"], groups["client"]},
		"net-proxy-to-database":   {groups["proxy"], groups["database"]},
		"net-database-from-proxy": {groups["database"], groups["proxy"]},
	}
	rules := append(m.All("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), m.All("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")...)
	if len(rules) != len(want) {
		t.Errorf("%d security-group rules, want the %d of client → proxy → database", len(rules), len(want))
	}
	for _, r := range rules {
		pair, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected rule %s", r.Name)
			continue
		}
		if egress := strings.Contains(r.Type, "Egress"); egress != strings.Contains(r.Name, "-to-") {
			t.Errorf("rule %s is of type %s", r.Name, r.Type)
		}
		in := r.Inputs
		if got := [2]string{in["securityGroupId"].StringValue(), in["referencedSecurityGroupId"].StringValue()}; got != pair {
			t.Errorf("rule %s = %v, want %v", r.Name, got, pair)
		}
		if in["fromPort"].NumberValue() != network.MySQLPort || in["toPort"].NumberValue() != network.MySQLPort || in["ipProtocol"].StringValue() != "tcp" {
			t.Errorf("rule %s opens more than tcp/%d", r.Name, network.MySQLPort)
		}
		for _, k := range []string{"cidrIpv4", "cidrIpv6"} {
			if _, ok := in[resourceKey(k)]; ok {
				t.Errorf("rule %s opens to a CIDR", r.Name)
			}
		}
	}
}

func resourceKey(k string) resource.PropertyKey { return resource.PropertyKey(k) }

// TestSecretsManagerEndpoint: the fallback adds an interface endpoint with
// private DNS in the subnets, whose group admits only the proxy's on 443,
// and the proxy's egress on 443 to it; nothing else opens.
func TestSecretsManagerEndpoint(t *testing.T) {
	a := newVPC()
	a.SecretsManagerEndpoint, a.Region = true, "ap-northeast-1"
	m, out := record(t, a)
	ep := m.One(t, "aws:ec2/vpcEndpoint:VpcEndpoint", "net-secretsmanager")
	in := ep.Inputs
	if in["serviceName"].StringValue() != "com.amazonaws.ap-northeast-1.secretsmanager" || in["vpcEndpointType"].StringValue() != "Interface" ||
		!in["privateDnsEnabled"].BoolValue() || len(in["subnetIds"].ArrayValue()) != len(a.AvailabilityZones) {
		t.Errorf("endpoint %v", in)
	}
	sg := m.One(t, "aws:ec2/securityGroup:SecurityGroup", "net-secretsmanager-endpoint")
	if ids := in["securityGroupIds"].ArrayValue(); len(ids) != 1 || ids[0].StringValue() != sg.ID {
		t.Errorf("endpoint groups %v, want %s", ids, sg.ID)
	}
	want := map[string][2]string{
		"net-proxy-to-secretsmanager":   {out["proxy"].(string), sg.ID},
		"net-secretsmanager-from-proxy": {sg.ID, out["proxy"].(string)},
	}
	for name, pair := range want {
		var r mocks.Registration
		for _, typ := range []string{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
			for _, x := range m.All(typ) {
				if x.Name == name {
					r = x
				}
			}
		}
		got := [2]string{r.Inputs["securityGroupId"].StringValue(), r.Inputs["referencedSecurityGroupId"].StringValue()}
		if got != pair || r.Inputs["fromPort"].NumberValue() != network.HTTPSPort || r.Inputs["toPort"].NumberValue() != network.HTTPSPort {
			t.Errorf("rule %s = %v %v–%v, want %v on %d", name, got, r.Inputs["fromPort"], r.Inputs["toPort"], pair, network.HTTPSPort)
		}
	}
	if n := len(m.All("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) + len(m.All("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")); n != 6 {
		t.Errorf("%d rules, want the chain's 4 and the endpoint's 2", n)
	}
	// Off by default: no endpoint.
	m, _ = record(t, newVPC())
	if n := len(m.All("aws:ec2/vpcEndpoint:VpcEndpoint")); n != 0 {
		t.Errorf("%d endpoints without the setting", n)
	}
}
