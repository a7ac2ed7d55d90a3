package enginetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// auroraBreak names the one property an Aurora program breaks ("" for
// none).
type auroraBreak string

const (
	auroraUnencrypted auroraBreak = "storage unencrypted"
	auroraNoIAMAuth   auroraBreak = "IAM database authentication off"
	auroraNoTLS       auroraBreak = "no require_secure_transport in the cluster parameter group"
	auroraOpenSG      auroraBreak = "security group open to the world"
)

// auroraProgram is another team's stack as the organisation's pack meets
// it: Aurora MySQL behind an RDS Proxy with IAM auth and TLS, in private
// subnets of its own VPC, with a cluster parameter group requiring TLS.
// broken breaks one property.
func auroraProgram(broken auroraBreak) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		network, err := ec2.NewVpc(ctx, "aurora", &ec2.VpcArgs{CidrBlock: pulumi.String("10.50.0.0/16")})
		if err != nil {
			return err
		}
		routes, err := ec2.NewRouteTable(ctx, "private", &ec2.RouteTableArgs{VpcId: network.ID()})
		if err != nil {
			return err
		}
		var subnetIDs pulumi.StringArray
		for i, az := range []string{"ap-northeast-1a", "ap-northeast-1c"} {
			sn, err := ec2.NewSubnet(ctx, fmt.Sprintf("private-%d", i), &ec2.SubnetArgs{
				VpcId: network.ID(), AvailabilityZone: pulumi.String(az),
				CidrBlock: pulumi.Sprintf("10.50.%d.0/24", i+1), MapPublicIpOnLaunch: pulumi.Bool(false),
			})
			if err != nil {
				return err
			}
			if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("private-%d", i), &ec2.RouteTableAssociationArgs{
				SubnetId: sn.ID(), RouteTableId: routes.ID(),
			}); err != nil {
				return err
			}
			subnetIDs = append(subnetIDs, sn.ID())
		}
		app, err := ec2.NewSecurityGroup(ctx, "app", &ec2.SecurityGroupArgs{VpcId: network.ID(), Description: pulumi.String("clients")})
		if err != nil {
			return err
		}
		db, err := ec2.NewSecurityGroup(ctx, "db", &ec2.SecurityGroupArgs{
			VpcId: network.ID(), Description: pulumi.String("proxy and cluster"),
			Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
				Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(3306), ToPort: pulumi.Int(3306),
				SecurityGroups: pulumi.StringArray{app.ID()},
			}},
		})
		if err != nil {
			return err
		}
		if broken == auroraOpenSG {
			if _, err := vpc.NewSecurityGroupIngressRule(ctx, "db-from-anywhere", &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: db.ID(), IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(3306),
				ToPort: pulumi.Int(3306), CidrIpv4: pulumi.String("0.0.0.0/0"),
			}); err != nil {
				return err
			}
		}
		subnets, err := rds.NewSubnetGroup(ctx, "aurora", &rds.SubnetGroupArgs{SubnetIds: subnetIDs})
		if err != nil {
			return err
		}
		params := rds.ClusterParameterGroupParameterArray{
			rds.ClusterParameterGroupParameterArgs{Name: pulumi.String("character_set_server"), Value: pulumi.String("utf8mb4")},
		}
		if broken != auroraNoTLS {
			params = append(params, rds.ClusterParameterGroupParameterArgs{
				Name: pulumi.String("require_secure_transport"), Value: pulumi.String("ON"),
			})
		}
		group, err := rds.NewClusterParameterGroup(ctx, "aurora", &rds.ClusterParameterGroupArgs{
			Family: pulumi.String("aurora-mysql8.0"), Parameters: params,
		})
		if err != nil {
			return err
		}
		cluster, err := rds.NewCluster(ctx, "aurora", &rds.ClusterArgs{
			Engine: pulumi.String("aurora-mysql"), EngineVersion: pulumi.String("8.0.mysql_aurora.3.08.0"),
			DbSubnetGroupName: subnets.Name, VpcSecurityGroupIds: pulumi.StringArray{db.ID()},
			DbClusterParameterGroupName:      group.Name,
			StorageEncrypted:                 pulumi.Bool(broken != auroraUnencrypted),
			IamDatabaseAuthenticationEnabled: pulumi.Bool(broken != auroraNoIAMAuth),
			MasterUsername:                   pulumi.String("admin_user"), ManageMasterUserPassword: pulumi.Bool(true),
			BackupRetentionPeriod: pulumi.Int(7), SkipFinalSnapshot: pulumi.Bool(true),
		})
		if err != nil {
			return err
		}
		for i := range 2 {
			if _, err := rds.NewClusterInstance(ctx, fmt.Sprintf("aurora-%d", i), &rds.ClusterInstanceArgs{
				ClusterIdentifier: cluster.ID(), Engine: pulumi.String("aurora-mysql"),
				InstanceClass: pulumi.String("db.r6g.large"), PubliclyAccessible: pulumi.Bool(false),
				DbSubnetGroupName: subnets.Name,
			}); err != nil {
				return err
			}
		}
		role, err := iam.NewRole(ctx, "proxy", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			return err
		}
		proxy, err := rds.NewProxy(ctx, "aurora", &rds.ProxyArgs{
			EngineFamily: pulumi.String("MYSQL"), RequireTls: pulumi.Bool(true), RoleArn: role.Arn,
			VpcSubnetIds: subnetIDs, VpcSecurityGroupIds: pulumi.StringArray{db.ID()},
			Auths: rds.ProxyAuthArray{rds.ProxyAuthArgs{
				AuthScheme: pulumi.String("SECRETS"), IamAuth: pulumi.String("REQUIRED"),
				SecretArn: cluster.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn(),
			}},
		})
		if err != nil {
			return err
		}
		target, err := rds.NewProxyDefaultTargetGroup(ctx, "aurora", &rds.ProxyDefaultTargetGroupArgs{DbProxyName: proxy.Name})
		if err != nil {
			return err
		}
		_, err = rds.NewProxyTarget(ctx, "aurora", &rds.ProxyTargetArgs{
			DbProxyName: proxy.Name, TargetGroupName: target.Name, DbClusterIdentifier: cluster.ID(),
		})
		return err
	}
}

// TestEngineAuroraStack: the pack holds an Aurora MySQL stack to the
// promises it holds Sluice's instance to. Through the real engine, the
// built pack and the stand-in aws provider, the compliant Aurora stack
// previews with no mandatory violation, and each of the four properties
// broken alone (issue 21) fails the preview with that policy's mandatory
// violation on the resource that breaks it.
func TestEngineAuroraStack(t *testing.T) {
	tl := sharedTools(t)
	t.Run("compliant", func(t *testing.T) {
		run := tl.preview(t, previewOptions{stack: "dev", program: auroraProgram("")})
		if run.err != nil {
			t.Fatalf("preview failed: %v\n%s", run.err, run.output)
		}
		if vs := run.policyViolations(levelMandatory); len(vs) > 0 {
			t.Errorf("mandatory violations: %+v", vs)
		}
		t.Logf("advisory findings: %+v", run.policyViolations(""))
	})
	tests := []struct {
		broken   auroraBreak
		policy   string
		resource string
		message  string
	}{
		{auroraUnencrypted, "encryption-at-rest", "aws:rds/cluster:Cluster", "storageEncrypted is false"},
		{auroraNoIAMAuth, "rds-iam-auth", "aws:rds/cluster:Cluster", "iamDatabaseAuthenticationEnabled is false"},
		{auroraNoTLS, "transport-tls-required", "aws:rds/clusterParameterGroup:ClusterParameterGroup", "does not set require_secure_transport"},
		{auroraOpenSG, "rds-network-private", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "from 0.0.0.0/0"},
	}
	for _, tt := range tests {
		t.Run(string(tt.broken), func(t *testing.T) {
			run := tl.preview(t, previewOptions{stack: "dev", program: auroraProgram(tt.broken)})
			if run.err == nil {
				t.Fatalf("preview succeeded, want it blocked by %s\n%s", tt.policy, run.output)
			}
			var found bool
			for _, v := range run.policyViolations(levelMandatory) {
				if v.PolicyName == tt.policy && v.PolicyPackName == packName &&
					string(resource.URN(v.ResourceURN).Type()) == tt.resource && strings.Contains(v.Message, tt.message) {
					found = true
				} else if v.PolicyName != tt.policy {
					t.Errorf("another mandatory violation: %+v", v)
				}
			}
			if !found {
				t.Errorf("no mandatory %s violation on a %s saying %q; violations: %+v\nerror: %v",
					tt.policy, tt.resource, tt.message, run.policyViolations(""), run.err)
			}
		})
	}
}
