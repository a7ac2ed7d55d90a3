package rules_test

import (
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

func rsc(typ, name, id string, p map[string]any) rules.Resource {
	return rules.Resource{Type: typ, Name: name, URN: rulestest.URN(typ, name), ID: id, Properties: props(p)}
}

// TestFollowedReferences: what a database resource takes from another one
// (encryption, authentication, TLS parameters, network rules) is decided
// on the resource the reference leads to when the stack manages it, and is
// an advisory finding, with the reason, when it does not.
func TestFollowedReferences(t *testing.T) {
	const (
		inst  = "aws:rds/instance:Instance"
		cl    = "aws:rds/cluster:Cluster"
		ci    = "aws:rds/clusterInstance:ClusterInstance"
		cpg   = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
		gc    = "aws:rds/globalCluster:GlobalCluster"
		px    = "aws:rds/proxy:Proxy"
		pe    = "aws:rds/proxyEndpoint:ProxyEndpoint"
		ce    = "aws:rds/clusterEndpoint:ClusterEndpoint"
		snap  = "aws:rds/clusterSnapshot:ClusterSnapshot"
		scopy = "aws:rds/snapshotCopy:SnapshotCopy"
		abr   = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
		sgT   = "aws:ec2/securityGroup:SecurityGroup"
		sgIn  = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
		vpc   = "aws:ec2/vpc:Vpc"
		sn    = "aws:ec2/subnet:Subnet"
		sng   = "aws:rds/subnetGroup:SubnetGroup"
	)
	tlsOn := map[string]any{"name": "aurora-tls", "parameters": []any{map[string]any{"name": "require_secure_transport", "value": "1"}}}
	// network is a private VPC with a subnet group and a database security
	// group, so that the network cases differ only in what they name.
	network := func(extra ...rules.Resource) []rules.Resource {
		return append([]rules.Resource{
			rsc(vpc, "vpc", "vpc-1", map[string]any{"cidrBlock": "10.0.0.0/16"}),
			rsc(sn, "a", "subnet-a", map[string]any{"vpcId": "vpc-1"}),
			rsc(sng, "db", "db-subnets", map[string]any{"name": "db-subnets", "subnetIds": []any{"subnet-a"}}),
			rsc(sgT, "db", "sg-db", map[string]any{"vpcId": "vpc-1"}),
		}, extra...)
	}
	auroraNet := func(p map[string]any) map[string]any {
		p["dbSubnetGroupName"], p["vpcSecurityGroupIds"] = "db-subnets", []any{"sg-db"}
		return p
	}
	cases := []struct {
		name                string
		policy              rules.Policy
		stack               []rules.Resource
		env                 rules.Env
		mandatory, advisory int
	}{
		{"read replica of an encrypted instance of the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(inst, "primary", "primary", map[string]any{"storageEncrypted": true}),
			rsc(inst, "replica", "replica", map[string]any{"replicateSourceDb": "primary"})}, rules.Env{}, 0, 0},
		{"read replica of an unencrypted instance: the source is reported", rules.EncryptionAtRest, []rules.Resource{
			rsc(inst, "primary", "primary", map[string]any{"storageEncrypted": false}),
			rsc(inst, "replica", "replica", map[string]any{"replicateSourceDb": "primary"})}, rules.Env{}, 1, 0},
		{"read replica of a source outside the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(inst, "replica", "replica", map[string]any{"replicateSourceDb": "arn:aws:rds:us-east-1:123456789012:db:elsewhere"})}, rules.Env{}, 0, 1},
		{"cross-region replica with its own key", rules.EncryptionAtRest, []rules.Resource{
			rsc(inst, "replica", "replica", map[string]any{"replicateSourceDb": "arn:aws:rds:us-east-1:123456789012:db:elsewhere", "kmsKeyId": computed()})}, rules.Env{DryRun: true}, 0, 0},
		{"global cluster from an unencrypted cluster of the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(cl, "primary", "primary", map[string]any{"storageEncrypted": false}),
			rsc(gc, "global", "global", map[string]any{"sourceDbClusterIdentifier": "primary"})}, rules.Env{}, 1, 0},
		{"secondary cluster of a global cluster outside the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(cl, "secondary", "secondary", map[string]any{"globalClusterIdentifier": "global-elsewhere"})}, rules.Env{}, 0, 1},
		{"secondary cluster of an encrypted global cluster, computed reference", rules.EncryptionAtRest, func() []rules.Resource {
			s := []rules.Resource{rsc(gc, "global", "", map[string]any{"storageEncrypted": true}),
				rsc(cl, "secondary", "", map[string]any{"globalClusterIdentifier": computed()})}
			s[1].PropertyDependencies = map[string][]string{"globalClusterIdentifier": {s[0].URN}}
			return s
		}(), rules.Env{DryRun: true}, 0, 0},
		{"cluster restored from a snapshot of an encrypted cluster of the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"storageEncrypted": true}),
			rsc(snap, "snap", "snap", map[string]any{"dbClusterIdentifier": "db"}),
			rsc(cl, "restored", "restored", map[string]any{"snapshotIdentifier": "snap"})}, rules.Env{}, 0, 0},
		{"instance restored from a snapshot outside the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(inst, "restored", "restored", map[string]any{"snapshotIdentifier": "rds:shared-snapshot"})}, rules.Env{}, 0, 1},
		{"snapshot copy without a key, of a snapshot outside the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(scopy, "copy", "copy", map[string]any{"sourceDbSnapshotIdentifier": "arn:aws:rds:us-east-1:123456789012:snapshot:s"})}, rules.Env{}, 0, 1},
		{"snapshot copy with a key", rules.EncryptionAtRest, []rules.Resource{
			rsc(scopy, "copy", "copy", map[string]any{"sourceDbSnapshotIdentifier": "arn:aws:rds:us-east-1:123456789012:snapshot:s", "kmsKeyId": "alias/rds"})}, rules.Env{}, 0, 0},
		{"cluster snapshot of a cluster of the stack", rules.EncryptionAtRest, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"storageEncrypted": true}),
			rsc(snap, "snap", "snap", map[string]any{"dbClusterIdentifier": "db"})}, rules.Env{}, 0, 0},
		{"replicated backups of an instance outside the stack, no key", rules.EncryptionAtRest, []rules.Resource{
			rsc(abr, "backups", "b", map[string]any{"sourceDbInstanceArn": "arn:aws:rds:us-east-1:123456789012:db:elsewhere"})}, rules.Env{}, 0, 1},

		{"proxy endpoint of a proxy of the stack", rules.RDSIAMAuth, []rules.Resource{
			rsc(px, "proxy", "proxy", map[string]any{"name": "proxy", "requireTls": true, "auths": []any{map[string]any{"iamAuth": "REQUIRED"}}}),
			rsc(pe, "reader", "reader", map[string]any{"dbProxyName": "proxy"})}, rules.Env{}, 0, 0},
		{"proxy endpoint of a proxy outside the stack", rules.RDSIAMAuth, []rules.Resource{
			rsc(pe, "reader", "reader", map[string]any{"dbProxyName": "someone-elses-proxy"})}, rules.Env{}, 0, 1},
		{"cluster instance and custom endpoint of a cluster outside the stack", rules.RDSIAMAuth, []rules.Resource{
			rsc(ci, "one", "one", map[string]any{"clusterIdentifier": "elsewhere"}),
			rsc(ce, "analytics", "analytics", map[string]any{"clusterIdentifier": "elsewhere"})}, rules.Env{}, 0, 2},
		{"cluster instance whose cluster reference is computed from nothing in the stack", rules.RDSIAMAuth, []rules.Resource{
			rsc(ci, "one", "one", map[string]any{"clusterIdentifier": computed()})}, rules.Env{DryRun: true}, 0, 1},

		{"cluster with a TLS cluster parameter group", rules.TransportTLSRequired, []rules.Resource{
			rsc(cpg, "tls", "aurora-tls", tlsOn),
			rsc(cl, "db", "db", map[string]any{"engine": "aurora-mysql", "dbClusterParameterGroupName": "aurora-tls"})}, rules.Env{}, 0, 0},
		{"cluster parameter group with require_secure_transport as a secret", rules.TransportTLSRequired, []rules.Resource{
			rsc(cpg, "tls", "aurora-tls", map[string]any{"name": "aurora-tls", "parameters": []any{map[string]any{"name": "require_secure_transport", "value": secret("ON")}}}),
			rsc(cl, "db", "db", map[string]any{"engine": "aurora-mysql", "dbClusterParameterGroupName": "aurora-tls"})}, rules.Env{}, 0, 0},
		{"cluster parameter group whose parameters are computed fails closed", rules.TransportTLSRequired, []rules.Resource{
			rsc(cpg, "tls", "aurora-tls", map[string]any{"name": "aurora-tls", "parameters": computed()}),
			rsc(cl, "db", "db", map[string]any{"engine": "aurora-mysql", "dbClusterParameterGroupName": "aurora-tls"})}, rules.Env{DryRun: true}, 1, 0},
		{"cluster parameter group computed, followed through the property dependency", rules.TransportTLSRequired, func() []rules.Resource {
			s := []rules.Resource{rsc(cpg, "tls", "", tlsOn),
				rsc(cl, "db", "", map[string]any{"engine": "aurora-mysql", "dbClusterParameterGroupName": computed()})}
			s[1].PropertyDependencies = map[string][]string{"dbClusterParameterGroupName": {s[0].URN}}
			return s
		}(), rules.Env{DryRun: true}, 0, 0},
		{"cluster parameter group outside the stack", rules.TransportTLSRequired, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"engine": "aurora-mysql", "dbClusterParameterGroupName": "shared-group"})}, rules.Env{}, 0, 1},
		{"Multi-AZ DB cluster of MySQL on the default group", rules.TransportTLSRequired, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"engine": "mysql", "dbClusterInstanceClass": "db.m6gd.large"})}, rules.Env{}, 1, 0},
		{"Aurora PostgreSQL is not a MySQL cluster", rules.TransportTLSRequired, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"engine": "aurora-postgresql"})}, rules.Env{}, 0, 0},
		{"cluster engine computed is checked", rules.TransportTLSRequired, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"engine": computed()})}, rules.Env{DryRun: true}, 1, 0},

		{"cluster on port 3307 open to the world on 3307", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", auroraNet(map[string]any{"port": 3307})),
			rsc(sgIn, "world", "sgr-1", map[string]any{"securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 3307, "toPort": 3307, "cidrIpv4": "0.0.0.0/0"})),
			rules.Env{}, 1, 0},
		{"cluster on port 3307, the world admitted on 3306 only", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", auroraNet(map[string]any{"port": 3307})),
			rsc(sgIn, "world", "sgr-1", map[string]any{"securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrIpv4": "0.0.0.0/0"})),
			rules.Env{}, 0, 0},
		{"cluster port computed: every port counts", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", auroraNet(map[string]any{"port": computed()})),
			rsc(sgIn, "world", "sgr-1", map[string]any{"securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"})),
			rules.Env{DryRun: true}, 1, 0},
		{"cluster security group outside the stack", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", map[string]any{"dbSubnetGroupName": "db-subnets", "vpcSecurityGroupIds": []any{"sg-elsewhere"}})),
			rules.Env{}, 0, 1},
		{"cluster subnet group outside the stack", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", map[string]any{"dbSubnetGroupName": "shared-subnets", "vpcSecurityGroupIds": []any{"sg-db"}})),
			rules.Env{}, 0, 1},
		{"ingress from a prefix list outside the stack", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", auroraNet(map[string]any{})),
			rsc(sgIn, "pl", "sgr-1", map[string]any{"securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "prefixListId": "pl-elsewhere"})),
			rules.Env{}, 0, 1},
		{"ingress from a prefix list of the stack whose separate entry is the internet", rules.RDSNetworkPrivate, network(
			rsc(cl, "db", "db", auroraNet(map[string]any{})),
			rsc("aws:ec2/managedPrefixList:ManagedPrefixList", "pl", "pl-1", map[string]any{"name": "office"}),
			rsc("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "any", "pl-1,0.0.0.0/0", map[string]any{"prefixListId": "pl-1", "cidr": "0.0.0.0/0"}),
			rsc("aws:ec2/securityGroupRule:SecurityGroupRule", "pl", "sgr-1", map[string]any{"type": "ingress", "securityGroupId": "sg-db", "protocol": "-1", "fromPort": 0, "toPort": 0, "prefixListIds": []any{"pl-1"}})),
			rules.Env{}, 1, 0},
		{"proxy endpoint in an open security group", rules.RDSNetworkPrivate, network(
			rsc(px, "proxy", "proxy", map[string]any{"name": "proxy", "engineFamily": "MYSQL", "vpcSecurityGroupIds": []any{"sg-db"}}),
			rsc(sgT, "open", "sg-open", map[string]any{"vpcId": "vpc-1", "ingress": []any{map[string]any{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrBlocks": []any{"0.0.0.0/0"}}}}),
			rsc(pe, "reader", "reader", map[string]any{"dbProxyName": "proxy", "vpcSecurityGroupIds": []any{"sg-open"}})),
			rules.Env{}, 1, 0},
		{"VPC's default security group adopted and open", rules.RDSNetworkPrivate, network(
			rsc("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", "sg-default", map[string]any{"vpcId": "vpc-1",
				"ingress": []any{map[string]any{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": []any{"0.0.0.0/0"}}}}),
			rsc(cl, "db", "db", map[string]any{"dbSubnetGroupName": "db-subnets", "vpcSecurityGroupIds": []any{"sg-default"}})),
			rules.Env{}, 1, 0},

		{"production Aurora cluster with one instance", rules.ProductionSafeguards, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"deletionProtection": true, "backupRetentionPeriod": 7}),
			rsc(ci, "one", "one", map[string]any{"clusterIdentifier": "db"})}, rules.Env{Stack: "prod"}, 1, 0},
		{"production Aurora cluster with two instances", rules.ProductionSafeguards, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"deletionProtection": true, "backupRetentionPeriod": 7}),
			rsc(ci, "one", "one", map[string]any{"clusterIdentifier": "db"}),
			rsc(ci, "two", "two", map[string]any{"clusterIdentifier": "db"})}, rules.Env{Stack: "prod"}, 0, 0},
		{"production Multi-AZ DB cluster", rules.ProductionSafeguards, []rules.Resource{
			rsc(cl, "db", "db", map[string]any{"engine": "mysql", "dbClusterInstanceClass": "db.m6gd.large", "deletionProtection": true, "backupRetentionPeriod": 7})},
			rules.Env{Stack: "prod"}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := rules.Evaluate([]rules.Policy{tc.policy}, tc.stack, nil, tc.env)
			var mandatory, advisory int
			for _, v := range vs {
				switch v.EnforcementLevel {
				case rules.Mandatory:
					mandatory++
				case rules.Advisory:
					advisory++
				}
			}
			if mandatory != tc.mandatory || advisory != tc.advisory {
				t.Errorf("got %d mandatory, %d advisory, want %d, %d: %+v", mandatory, advisory, tc.mandatory, tc.advisory, vs)
			}
		})
	}
}
