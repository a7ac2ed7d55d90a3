package rulestest

import (
	"slices"

	"github.com/sluicehq/sluice/policy/rules"
)

// Type tokens of the Aurora resources the Aurora stack adds.
const (
	cluster         = "aws:rds/cluster:Cluster"
	clusterInstance = "aws:rds/clusterInstance:ClusterInstance"
	clusterParams   = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
	proxyEndpoint   = "aws:rds/proxyEndpoint:ProxyEndpoint"
	clusterSnapshot = "aws:rds/clusterSnapshot:ClusterSnapshot"
	prefixList      = "aws:ec2/managedPrefixList:ManagedPrefixList"
	ingressRule     = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
)

// AuroraStack returns the compliant stack of Stack with the database as an
// Aurora MySQL cluster instead of an RDS instance: a DB cluster parameter
// group requiring TLS, an encrypted cluster with IAM database
// authentication behind the same proxy, two cluster instances (a writer
// and a reader in another AZ), a read-only proxy endpoint, a snapshot
// shared with one named account, and an ingress rule admitting the port
// from a managed prefix list of the stack.
func AuroraStack() []rules.Resource {
	out := slices.DeleteFunc(Stack(), func(r rules.Resource) bool {
		return r.Type == instance || r.Type == "aws:rds/parameterGroup:ParameterGroup"
	})
	return append(out,
		res(clusterParams, "aurora", "sluice-dev-aurora-mysql8", map[string]any{"name": "sluice-dev-aurora-mysql8",
			"family": "aurora-mysql8.0", "parameters": []any{
				map[string]any{"name": "character_set_server", "value": "utf8mb4"},
				map[string]any{"name": "require_secure_transport", "value": "ON"},
			}}),
		res(cluster, "aurora", "sluice-dev-aurora", map[string]any{
			"clusterIdentifier": "sluice-dev-aurora", "engine": "aurora-mysql", "engineVersion": "8.0.mysql_aurora.3.08.0",
			"dbSubnetGroupName": "sluice-dev-db", "vpcSecurityGroupIds": []any{"sg-0db"},
			"dbClusterParameterGroupName": "sluice-dev-aurora-mysql8", "storageEncrypted": true,
			"iamDatabaseAuthenticationEnabled": true, "masterUsername": "sluice_admin", "manageMasterUserPassword": true,
			"deletionProtection": true, "backupRetentionPeriod": 7, "skipFinalSnapshot": false,
		}),
		res(clusterInstance, "aurora-1", "sluice-dev-aurora-1", map[string]any{
			"identifier": "sluice-dev-aurora-1", "clusterIdentifier": "sluice-dev-aurora", "engine": "aurora-mysql",
			"instanceClass": "db.r6g.large", "dbSubnetGroupName": "sluice-dev-db", "publiclyAccessible": false,
		}),
		res(clusterInstance, "aurora-2", "sluice-dev-aurora-2", map[string]any{
			"identifier": "sluice-dev-aurora-2", "clusterIdentifier": "sluice-dev-aurora", "engine": "aurora-mysql",
			"instanceClass": "db.r6g.large", "dbSubnetGroupName": "sluice-dev-db", "publiclyAccessible": false,
		}),
		res(proxyEndpoint, "reader", "sluice-dev-reader", map[string]any{
			"dbProxyEndpointName": "sluice-dev-reader", "dbProxyName": "sluice-dev", "targetRole": "READ_ONLY",
			"vpcSubnetIds": []any{"subnet-0a1", "subnet-0c1"}, "vpcSecurityGroupIds": []any{"sg-0db"},
		}),
		res(clusterSnapshot, "before-migration", "sluice-dev-before-6", map[string]any{
			"dbClusterIdentifier": "sluice-dev-aurora", "dbClusterSnapshotIdentifier": "sluice-dev-before-6",
			"sharedAccounts": []any{"210987654321"},
		}),
		res(prefixList, "vpc-ranges", "pl-0a1", map[string]any{"name": "sluice-dev-vpc", "addressFamily": "IPv4",
			"maxEntries": 2, "entries": []any{map[string]any{"cidr": "10.40.1.0/24"}, map[string]any{"cidr": "10.40.2.0/24"}}}),
		res(ingressRule, "db-from-prefix-list", "sgr-2", map[string]any{
			"securityGroupId": "sg-0db", "ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "prefixListId": "pl-0a1"}),
	)
}

// AuroraMutations returns the single-property mutations of AuroraStack,
// each meant to be caught by one database policy: the four properties of
// issue 21 broken through the cluster and its groups, and the other paths
// to the same data (cluster instances, the proxy endpoint, snapshots, the
// prefix list).
func AuroraMutations() []Mutation {
	open := []any{map[string]any{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrBlocks": []any{"0.0.0.0/0"}}}
	return []Mutation{
		{Name: "unencrypted cluster storage", Type: cluster, Path: "storageEncrypted", Value: false, Policy: "encryption-at-rest"},
		{Name: "cluster storageEncrypted absent (default false)", Type: cluster, Path: "storageEncrypted", Value: nil, Policy: "encryption-at-rest"},
		{Name: "computed cluster storageEncrypted", Type: cluster, Path: "storageEncrypted", Value: Computed(), Policy: "encryption-at-rest"},
		{Name: "cluster without IAM database auth", Type: cluster, Path: "iamDatabaseAuthenticationEnabled", Value: false, Policy: "rds-iam-auth"},
		{Name: "cluster IAM database auth absent", Type: cluster, Path: "iamDatabaseAuthenticationEnabled", Value: nil, Policy: "rds-iam-auth"},
		{Name: "cluster parameter group without require_secure_transport", Type: clusterParams, Path: "parameters",
			Value: EachElem("name", "require_secure_transport", "name", "tls_version"), Policy: "transport-tls-required",
			Reason: "does not set require_secure_transport"},
		{Name: "cluster require_secure_transport OFF", Type: clusterParams, Path: "parameters",
			Value: EachElem("name", "require_secure_transport", "value", "OFF"), Policy: "transport-tls-required"},
		{Name: "cluster on the default cluster parameter group", Type: cluster, Path: "dbClusterParameterGroupName", Value: nil,
			Policy: "transport-tls-required", Reason: "no dbClusterParameterGroupName"},
		{Name: "cluster security group open to the world", Type: "aws:ec2/securityGroup:SecurityGroup", Match: allowsMySQL,
			Path: "ingress", Value: open, Policy: "rds-network-private", Reason: "from 0.0.0.0/0"},
		{Name: "cluster without subnet group", Type: cluster, Path: "dbSubnetGroupName", Value: nil, Policy: "rds-network-private"},
		{Name: "cluster without security groups", Type: cluster, Path: "vpcSecurityGroupIds", Value: nil, Policy: "rds-network-private"},
		{Name: "prefix list of the database's ingress holds the internet", Type: prefixList, Path: "entries",
			Value: []any{map[string]any{"cidr": "0.0.0.0/0"}}, Policy: "rds-network-private", Reason: "from 0.0.0.0/0"},
		{Name: "proxy endpoint without security groups", Type: proxyEndpoint, Path: "vpcSecurityGroupIds", Value: nil, Policy: "rds-network-private"},
		{Name: "public cluster instance", Type: clusterInstance, Path: "publiclyAccessible", Value: true, Policy: "rds-instance-not-public"},
		{Name: "cluster snapshot shared with everyone", Type: clusterSnapshot, Path: "sharedAccounts", Value: []any{"all"},
			Policy: "rds-instance-not-public", Reason: `sharedAccounts contains "all"`},
		{Name: "production cluster without deletion protection", Type: cluster, Path: "deletionProtection", Value: false,
			Policy: "production-safeguards", Stack: "prod"},
		{Name: "production cluster with 1 day of backups", Type: cluster, Path: "backupRetentionPeriod", Value: 1,
			Policy: "production-safeguards", Stack: "prod"},
	}
}
