package awsmodel

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Invoke answers an aws data source (a provider function) called with
// args. A token it does not model fails with the token's name, so a
// program that starts depending on a new data source is noticed instead of
// silently getting nothing.
func (m Model) Invoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	var out map[string]any
	switch token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{
			"id":        Account,
			"accountId": Account,
			"arn":       fmt.Sprintf("arn:%s:iam::%s:user/%s", Partition, Account, CallerUser),
			"userId":    "AIDAEXAMPLEUSERID0001",
		}
	case "aws:index/getRegion:getRegion":
		region := m.Region
		if v := str(args, "name"); v != "" {
			region = v
		}
		out = map[string]any{
			"id":          region,
			"name":        region,
			"description": region,
			"endpoint":    "ec2." + region + ".amazonaws.com",
		}
	case "aws:index/getPartition:getPartition":
		out = map[string]any{
			"id":               Partition,
			"partition":        Partition,
			"dnsSuffix":        "amazonaws.com",
			"reverseDnsPrefix": "com.amazonaws",
		}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		out = m.availabilityZones()
	default:
		return nil, fmt.Errorf("awsmodel: no answer for data source %q; add one to offline/awsmodel", token)
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// availabilityZones answers with three zones, as every commercial region
// has at least three. Zone ids have AWS's <region-code>-az<n> form but are
// made up: AWS maps names to ids per account, so no program may rely on
// them.
func (m Model) availabilityZones() map[string]any {
	code := m.Region
	if m.Region == "ap-northeast-1" {
		code = "apne1"
	}
	// ap-northeast-1 has no zone b for accounts created since 2013.
	var names, ids []any
	for i, s := range []string{"a", "c", "d"} {
		names = append(names, m.Region+s)
		ids = append(ids, fmt.Sprintf("%s-az%d", code, i+1))
	}
	return map[string]any{
		"id":         m.Region,
		"names":      names,
		"zoneIds":    ids,
		"groupNames": []any{m.Region},
	}
}
