// Package network owns where Sluice runs in a VPC: private subnets in at
// least two zones (a new VPC without internet or NAT gateway, or an existing
// VPC's subnets) and the security-group chain client → proxy → database, on
// MySQL's port only, in both directions.
//
// Nothing on the data path needs the internet: SQS is polled by the Lambda
// service outside the VPC, IAM tokens are signed locally, and the proxy reads
// its secrets through the RDS service, so no NAT gateway or endpoint is made.
package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/settings"
)

// MySQLPort is the only port any Sluice security group opens.
const MySQLPort = 3306

// Type is the component's Pulumi type token.
const Type = "sluice:network:Network"

// Args configures the network: either a new VPC (VpcCIDR and
// AvailabilityZones) or an existing one (ExistingVpcID and
// ExistingSubnetIDs), never both.
type Args struct {
	// Network is the stack's Network settings (docs/configuration.md),
	// declared and bounded once in infra/settings: a new VPC's network
	// (each zone gets one subnet of it, SubnetCIDRs) and zones, or an
	// existing VPC and its private subnets in different zones; and
	// whether to add a Secrets Manager interface endpoint (private DNS)
	// in the subnets, reachable on 443 from the proxy group only: the
	// fallback should the proxy need a network path to read its secrets,
	// which AWS's proxy prerequisites do not list (RDS User Guide:
	// Planning and setting up RDS Proxy networking).
	settings.Network
	// Region is the VPC's region; the endpoint's service name needs it.
	Region string
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid setting, and the first invalid input, by
// field name.
func (a Args) Validate() error {
	var input error
	switch {
	case a.SecretsManagerEndpoint && a.Region == "":
		input = limits.Invalid("Region", "required with SecretsManagerEndpoint (the endpoint's service name)")
	case a.UsesExistingVPC() || len(a.ExistingSubnetIDs) > 0:
	case a.VpcCIDR == "" || len(a.AvailabilityZones) == 0:
		input = limits.Invalid("Network.VpcCIDR", "%q with %d zones: want a new VPC's network and zones, or ExistingVpcID", a.VpcCIDR, len(a.AvailabilityZones))
	default:
		if _, err := SubnetCIDRs(a.VpcCIDR, len(a.AvailabilityZones)); err != nil {
			input = limits.Invalid("Network.VpcCIDR", "%v", err)
		}
	}
	return errors.Join(a.Network.Validate(), input)
}

// Network is the component; its outputs are what the other components need.
type Network struct {
	pulumi.ResourceState

	// VpcID is the VPC's id, new or existing.
	VpcID pulumi.StringOutput `pulumi:"vpcId"`
	// SubnetIDs are the private subnets, one per zone: the database's
	// subnet group, the proxy and the functions use them all.
	SubnetIDs pulumi.StringArrayOutput `pulumi:"subnetIds"`
	// ClientSecurityGroupID is for the Lambda functions that talk to the
	// proxy (consumer and migrator): egress to the proxy on 3306 only.
	ClientSecurityGroupID pulumi.StringOutput `pulumi:"clientSecurityGroupId"`
	// ProxySecurityGroupID is the proxy's: ingress from the client group,
	// egress to the database group, on 3306 only.
	ProxySecurityGroupID pulumi.StringOutput `pulumi:"proxySecurityGroupId"`
	// DatabaseSecurityGroupID is the database's: ingress from the proxy
	// group on 3306 only.
	DatabaseSecurityGroupID pulumi.StringOutput `pulumi:"databaseSecurityGroupId"`
}

// New registers the network (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource(Type, name, n, opts...); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	child := pulumi.Parent(n)
	tags := pulumi.ToStringMap(args.Tags)

	var vpcID pulumi.StringOutput
	var subnetIDs pulumi.StringArray
	if args.UsesExistingVPC() {
		vpcID = pulumi.String(args.ExistingVpcID).ToStringOutput()
		for _, id := range args.ExistingSubnetIDs {
			subnetIDs = append(subnetIDs, pulumi.String(id))
		}
	} else {
		var err error
		vpcID, subnetIDs, err = newVPC(ctx, name, args, tags, child)
		if err != nil {
			return nil, err
		}
	}

	groups, err := newSecurityGroups(ctx, name, vpcID, tags, child)
	if err != nil {
		return nil, err
	}
	if args.SecretsManagerEndpoint {
		if err := newSecretsManagerEndpoint(ctx, name, args.Region, vpcID, subnetIDs, groups.proxyGroup, tags, child); err != nil {
			return nil, err
		}
	}

	n.VpcID = vpcID
	n.SubnetIDs = subnetIDs.ToStringArrayOutput()
	n.ClientSecurityGroupID = groups.client
	n.ProxySecurityGroupID = groups.proxy
	n.DatabaseSecurityGroupID = groups.database
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                   n.VpcID,
		"subnetIds":               n.SubnetIDs,
		"clientSecurityGroupId":   n.ClientSecurityGroupID,
		"proxySecurityGroupId":    n.ProxySecurityGroupID,
		"databaseSecurityGroupId": n.DatabaseSecurityGroupID,
	}); err != nil {
		return nil, fmt.Errorf("network %s outputs: %w", name, err)
	}
	return n, nil
}

// newVPC creates a VPC with one private subnet per zone, a route table with
// only the VPC-local route, and a default security group stripped of rules.
func newVPC(ctx *pulumi.Context, name string, args Args, tags pulumi.StringMap, child pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringArray, error) {
	cidrs, err := SubnetCIDRs(args.VpcCIDR, len(args.AvailabilityZones))
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	v, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.VpcCIDR),
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               withName(tags, name),
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("vpc: %w", err)
	}
	// The default security group would otherwise allow all traffic between
	// its members and all egress; nothing of Sluice uses it.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: v.ID(),
		Tags:  withName(tags, name+"-default"),
	}, child); err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("default security group: %w", err)
	}
	rt, err := ec2.NewRouteTable(ctx, name+"-private-rt", &ec2.RouteTableArgs{
		VpcId: v.ID(),
		Tags:  withName(tags, name+"-private"),
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("route table: %w", err)
	}
	var ids pulumi.StringArray
	for i, zone := range args.AvailabilityZones {
		sn, err := ec2.NewSubnet(ctx, name+"-private-"+zone, &ec2.SubnetArgs{
			VpcId:               v.ID(),
			CidrBlock:           pulumi.String(cidrs[i]),
			AvailabilityZone:    pulumi.String(zone),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                withName(tags, name+"-private-"+zone),
		}, child)
		if err != nil {
			return pulumi.StringOutput{}, nil, fmt.Errorf("subnet %s: %w", zone, err)
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, name+"-private-"+zone, &ec2.RouteTableAssociationArgs{
			SubnetId:     sn.ID(),
			RouteTableId: rt.ID(),
		}, child); err != nil {
			return pulumi.StringOutput{}, nil, fmt.Errorf("route table association %s: %w", zone, err)
		}
		ids = append(ids, sn.ID().ToStringOutput())
	}
	return v.ID().ToStringOutput(), ids, nil
}

// SubnetCIDRs splits a VPC network into n equal subnets, 4 bits longer than
// the VPC's prefix (16 subnets' room, so zones can be added later) but never
// longer than /28, the smallest subnet AWS allows.
func SubnetCIDRs(vpcCIDR string, n int) ([]string, error) {
	p, err := netip.ParsePrefix(vpcCIDR)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("vpc cidr %q: not an IPv4 network", vpcCIDR)
	}
	bits := min(p.Bits()+4, 28)
	count := 1 << (bits - p.Bits())
	if n > count {
		return nil, fmt.Errorf("vpc cidr %q: room for %d subnets of /%d, need %d", vpcCIDR, count, bits, n)
	}
	base := p.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - bits)
	out := make([]string, n)
	for i := range n {
		a := start + uint32(i)*size
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		out[i] = addr.String() + "/" + strconv.Itoa(bits)
	}
	return out, nil
}

type securityGroups struct {
	client, proxy, database pulumi.StringOutput
	proxyGroup              *ec2.SecurityGroup
}

// newSecurityGroups creates the chain client → proxy → database. Groups are
// created without inline rules (the provider then also removes AWS's default
// allow-all egress) and every rule is a separate resource naming its peer.
func newSecurityGroups(ctx *pulumi.Context, name string, vpcID pulumi.StringOutput, tags pulumi.StringMap, child pulumi.ResourceOption) (securityGroups, error) {
	group := func(role, description string) (*ec2.SecurityGroup, error) {
		sg, err := ec2.NewSecurityGroup(ctx, name+"-"+role, &ec2.SecurityGroupArgs{
			VpcId:               vpcID,
			Description:         pulumi.String(description),
			RevokeRulesOnDelete: pulumi.Bool(true),
			Tags:                withName(tags, name+"-"+role),
		}, child)
		if err != nil {
			return nil, fmt.Errorf("security group %s: %w", role, err)
		}
		return sg, nil
	}
	client, err := group("client", "Sluice Lambda functions: MySQL to the RDS Proxy only")
	if err != nil {
		return securityGroups{}, err
	}
	proxy, err := group("proxy", "Sluice RDS Proxy: MySQL from the functions, to the database")
	if err != nil {
		return securityGroups{}, err
	}
	database, err := group("database", "Sluice RDS MySQL: MySQL from the proxy only")
	if err != nil {
		return securityGroups{}, err
	}

	rules := []struct {
		name       string
		egress     bool
		group, ref *ec2.SecurityGroup
		desc       string
	}{
		{"client-to-proxy", true, client, proxy, "MySQL to the RDS Proxy"},
		{"proxy-from-client", false, proxy, client, "MySQL from the Sluice functions"},
		{"proxy-to-database", true, proxy, database, "MySQL to the database"},
		{"database-from-proxy", false, database, proxy, "MySQL from the RDS Proxy"},
	}
	for _, r := range rules {
		var err error
		if r.egress {
			_, err = vpc.NewSecurityGroupEgressRule(ctx, name+"-"+r.name, &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId:           r.group.ID(),
				ReferencedSecurityGroupId: r.ref.ID(),
				IpProtocol:                pulumi.String("tcp"),
				FromPort:                  pulumi.Int(MySQLPort),
				ToPort:                    pulumi.Int(MySQLPort),
				Description:               pulumi.String(r.desc),
				Tags:                      withName(tags, name+"-"+r.name),
			}, child)
		} else {
			_, err = vpc.NewSecurityGroupIngressRule(ctx, name+"-"+r.name, &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId:           r.group.ID(),
				ReferencedSecurityGroupId: r.ref.ID(),
				IpProtocol:                pulumi.String("tcp"),
				FromPort:                  pulumi.Int(MySQLPort),
				ToPort:                    pulumi.Int(MySQLPort),
				Description:               pulumi.String(r.desc),
				Tags:                      withName(tags, name+"-"+r.name),
			}, child)
		}
		if err != nil {
			return securityGroups{}, fmt.Errorf("security group rule %s: %w", r.name, err)
		}
	}
	return securityGroups{
		client:     client.ID().ToStringOutput(),
		proxy:      proxy.ID().ToStringOutput(),
		database:   database.ID().ToStringOutput(),
		proxyGroup: proxy,
	}, nil
}

// HTTPSPort is what an interface endpoint answers on.
const HTTPSPort = 443

// newSecretsManagerEndpoint creates the Secrets Manager interface endpoint
// with private DNS (so secretsmanager.<region>.amazonaws.com resolves to it)
// and its own group: ingress on 443 from the proxy group, and the proxy
// group's egress on 443 to it.
func newSecretsManagerEndpoint(ctx *pulumi.Context, name, region string, vpcID pulumi.StringOutput, subnetIDs pulumi.StringArray,
	proxy *ec2.SecurityGroup, tags pulumi.StringMap, child pulumi.ResourceOption) error {
	sg, err := ec2.NewSecurityGroup(ctx, name+"-secretsmanager-endpoint", &ec2.SecurityGroupArgs{
		VpcId:               vpcID,
		Description:         pulumi.String("Sluice Secrets Manager endpoint: HTTPS from the RDS Proxy only"),
		RevokeRulesOnDelete: pulumi.Bool(true),
		Tags:                withName(tags, name+"-secretsmanager-endpoint"),
	}, child)
	if err != nil {
		return fmt.Errorf("security group secretsmanager-endpoint: %w", err)
	}
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-proxy-to-secretsmanager", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           proxy.ID(),
		ReferencedSecurityGroupId: sg.ID(),
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(HTTPSPort),
		ToPort:                    pulumi.Int(HTTPSPort),
		Description:               pulumi.String("HTTPS to the Secrets Manager endpoint"),
		Tags:                      withName(tags, name+"-proxy-to-secretsmanager"),
	}, child); err != nil {
		return fmt.Errorf("security group rule proxy-to-secretsmanager: %w", err)
	}
	if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-secretsmanager-from-proxy", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId:           sg.ID(),
		ReferencedSecurityGroupId: proxy.ID(),
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(HTTPSPort),
		ToPort:                    pulumi.Int(HTTPSPort),
		Description:               pulumi.String("HTTPS from the RDS Proxy"),
		Tags:                      withName(tags, name+"-secretsmanager-from-proxy"),
	}, child); err != nil {
		return fmt.Errorf("security group rule secretsmanager-from-proxy: %w", err)
	}
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-secretsmanager", &ec2.VpcEndpointArgs{
		VpcId:             vpcID,
		ServiceName:       pulumi.Sprintf("com.amazonaws.%s.secretsmanager", region),
		VpcEndpointType:   pulumi.String("Interface"),
		PrivateDnsEnabled: pulumi.Bool(true),
		SubnetIds:         subnetIDs,
		SecurityGroupIds:  pulumi.StringArray{sg.ID()},
		Tags:              withName(tags, name+"-secretsmanager"),
	}, child); err != nil {
		return fmt.Errorf("secrets manager endpoint: %w", err)
	}
	return nil
}

// withName copies tags and adds the Name tag the EC2 console shows.
func withName(tags pulumi.StringMap, name string) pulumi.StringMap {
	out := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range tags {
		out[k] = v
	}
	return out
}
