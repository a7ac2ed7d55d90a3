package rules

// Type tokens of the pulumi-aws v6 resources the policies inspect.
const (
	typeDBInstance         = "aws:rds/instance:Instance"
	typeDBClusterInstance  = "aws:rds/clusterInstance:ClusterInstance"
	typeDBProxy            = "aws:rds/proxy:Proxy"
	typeDBSubnetGroup      = "aws:rds/subnetGroup:SubnetGroup"
	typeDBParameterGroup   = "aws:rds/parameterGroup:ParameterGroup"
	typeDBCluster          = "aws:rds/cluster:Cluster"
	typeQueue              = "aws:sqs/queue:Queue"
	typeQueuePolicy        = "aws:sqs/queuePolicy:QueuePolicy"
	typeQueueRedrive       = "aws:sqs/redrivePolicy:RedrivePolicy"
	typeQueueRedriveAllow  = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
	typeFunction           = "aws:lambda/function:Function"
	typeEventSourceMapping = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeStage              = "aws:apigatewayv2/stage:Stage"
	typeRoute              = "aws:apigatewayv2/route:Route"
	typeRole               = "aws:iam/role:Role"
	typeRolePolicy         = "aws:iam/rolePolicy:RolePolicy"
	typeIAMPolicy          = "aws:iam/policy:Policy"
	typeUserPolicy         = "aws:iam/userPolicy:UserPolicy"
	typeGroupPolicy        = "aws:iam/groupPolicy:GroupPolicy"
	typeRoleAttachment     = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeLogGroup           = "aws:cloudwatch/logGroup:LogGroup"
	typeVPC                = "aws:ec2/vpc:Vpc"
	typeSubnet             = "aws:ec2/subnet:Subnet"
	typeRouteTable         = "aws:ec2/routeTable:RouteTable"
	typeRouteTableAssoc    = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	typeRouteEntry         = "aws:ec2/route:Route"
	typeInternetGateway    = "aws:ec2/internetGateway:InternetGateway"
	typeSecurityGroup      = "aws:ec2/securityGroup:SecurityGroup"
	typeSGRule             = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeSGIngressRule      = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeTopic              = "aws:sns/topic:Topic"
	typeTopicPolicy        = "aws:sns/topicPolicy:TopicPolicy"
	typeKMSKey             = "aws:kms/key:Key"
	typeKMSKeyPolicy       = "aws:kms/keyPolicy:KeyPolicy"
	typeKMSReplicaKey      = "aws:kms/replicaKey:ReplicaKey"
	typeKMSExternalKey     = "aws:kms/externalKey:ExternalKey"
	typeKMSReplicaExtKey   = "aws:kms/replicaExternalKey:ReplicaExternalKey"
	typeSecret             = "aws:secretsmanager/secret:Secret"
	typeSecretPolicy       = "aws:secretsmanager/secretPolicy:SecretPolicy"
	typeLambdaPermission   = "aws:lambda/permission:Permission"
	typeRestAPI            = "aws:apigateway/restApi:RestApi"
	typeRestAPIPolicy      = "aws:apigateway/restApiPolicy:RestApiPolicy"
)

// Provider defaults the policies rely on when a property is absent.
const (
	defaultQueueRetentionSeconds = 345600 // 4 days
	defaultVisibilityTimeout     = 30
	defaultFunctionTimeout       = 3
)
