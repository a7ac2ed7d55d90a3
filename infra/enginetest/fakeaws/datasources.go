package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// dataSource answers one aws data source (a provider function) for acct in
// region, given the arguments the program passed.
type dataSource func(acct account, region string, args resource.PropertyMap) (map[string]any, error)

// dataSources holds the data sources a program like Sluice's reads while it
// builds ARNs and picks subnets. The shapes follow pulumi-aws v6.
var dataSources = map[string]dataSource{
	"aws:index/getCallerIdentity:getCallerIdentity":       callerIdentity,
	"aws:index/getRegion:getRegion":                       regionInfo,
	"aws:index/getPartition:getPartition":                 partition,
	"aws:index/getAvailabilityZones:getAvailabilityZones": availabilityZones,
}

func callerIdentity(acct account, _ string, _ resource.PropertyMap) (map[string]any, error) {
	return map[string]any{
		"id":        acct.ID,
		"accountId": acct.ID,
		"arn":       fmt.Sprintf("arn:aws:iam::%s:user/%s", acct.ID, acct.User),
		"userId":    "AIDAENGINETESTFAKEUSER",
	}, nil
}

func regionInfo(_ account, region string, args resource.PropertyMap) (map[string]any, error) {
	if v, ok := args["name"]; ok && v.IsString() && v.StringValue() != "" {
		region = v.StringValue()
	}
	return map[string]any{
		"id":          region,
		"name":        region,
		"description": "Stand-in region " + region,
		"endpoint":    "ec2." + region + ".amazonaws.com",
	}, nil
}

func partition(_ account, _ string, _ resource.PropertyMap) (map[string]any, error) {
	return map[string]any{
		"id":               "aws",
		"partition":        "aws",
		"dnsSuffix":        "amazonaws.com",
		"reverseDnsPrefix": "com.amazonaws",
	}, nil
}

// availabilityZones answers with three zones, as every commercial region has
// at least three. Zone ids have AWS's <region-code>-az<n> form but are made
// up: AWS maps names to ids per account, so no program may rely on them.
func availabilityZones(_ account, region string, _ resource.PropertyMap) (map[string]any, error) {
	code := region
	if region == "ap-northeast-1" {
		code = "apne1"
	}
	// ap-northeast-1 has no zone b for accounts created since 2013.
	suffixes := []string{"a", "c", "d"}
	var names, ids []any
	for i, s := range suffixes {
		names = append(names, region+s)
		ids = append(ids, fmt.Sprintf("%s-az%d", code, i+1))
	}
	return map[string]any{
		"id":         region,
		"names":      names,
		"zoneIds":    ids,
		"groupNames": []any{region},
	}, nil
}
