package componenttest

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/lambdabuild"
)

// ExampleProxyEndpoint is the host name of the proxy of ExampleProxyARN.
const ExampleProxyEndpoint = "sluice-dev.proxy-c0ffee.ap-northeast-1.rds.amazonaws.com"

// ExampleDBFunction returns valid arguments of a DBFunction named name that
// logs in as dbUser through the example proxy: what the dbfunction,
// consumer and migration tests start from and change one field of.
func ExampleDBFunction(name, dbUser string) dbfunction.Args {
	return dbfunction.Args{
		Name:                name,
		Archive:             lambdabuild.Archive{Path: "/tmp/" + name + ".zip", SourceCodeHash: "9NMreOYR3bt2AoBJauULov6udMJ9XdjF8dl2kTY5/tA="},
		SubnetIDs:           pulumi.ToStringArray([]string{"subnet-0a1", "subnet-0b2"}),
		SecurityGroupIDs:    pulumi.ToStringArray([]string{"sg-0c3"}),
		ProxyARN:            pulumi.String(ExampleProxyARN),
		ProxyEndpoint:       pulumi.String(ExampleProxyEndpoint),
		DBName:              "sluice",
		DBUser:              dbUser,
		Timeout:             30 * time.Second,
		MemoryMB:            256,
		ReservedConcurrency: 10,
		LogRetentionDays:    14,
		Tags:                map[string]string{"project": "sluice", "stack": "dev"},
	}
}
