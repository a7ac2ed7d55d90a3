package settings

import (
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/internal/proxyhealth"
)

// Keys of the Network section, without the namespace.
const (
	KeyVpcCIDR                = "vpcCidr"
	KeyAvailabilityZones      = "availabilityZones"
	KeyExistingVpcID          = "existingVpcId"
	KeyExistingSubnetIDs      = "existingSubnetIds"
	KeySecretsManagerEndpoint = proxyhealth.KeySecretsManagerEndpoint
)

// Network is where Sluice runs: a new VPC (VpcCIDR and AvailabilityZones)
// or an existing one (ExistingVpcID and ExistingSubnetIDs), what
// network.Args takes. Each field is one key of networkKeys, which declares
// its type, default, bound and documentation.
type Network struct {
	VpcCIDR                string   // sluice:vpcCidr
	AvailabilityZones      []string // sluice:availabilityZones
	ExistingVpcID          string   // sluice:existingVpcId
	ExistingSubnetIDs      []string // sluice:existingSubnetIds
	SecretsManagerEndpoint bool     // sluice:secretsManagerEndpoint
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Network) Validate() error { return checkSection(Settings{Network: v}, "Network") }

var networkKeys = []Spec{
	{Key: KeyVpcCIDR, Type: String,
		Derived: defaultVpcCIDR + " (a new VPC only)", Doc: "IPv4 network of a new VPC; each zone gets one private subnet of it.",
		DevProd: "separate networks, so the two VPCs can be peered", Allowed: limits.VPCCIDRAllowed, Check: vpcCIDR,
		field: func(s *Settings) any { return &s.Network.VpcCIDR }, derive: func(s *Settings) {
			if !s.Network.UsesExistingVPC() {
				s.Network.VpcCIDR = defaultVpcCIDR
			}
		}},
	{Key: KeyAvailabilityZones, Type: List,
		Derived: "`<aws:region>a,<aws:region>c`", Doc: "Zones of a new VPC, one private subnet each.",
		DevProd: "prod spans a third zone", Pattern: limits.ZonePattern, Items: limits.AvailabilityZones,
		Allowed: "a comma-separated list of availability zones such as ap-northeast-1a,ap-northeast-1c",
		field:   func(s *Settings) any { return &s.Network.AvailabilityZones },
		derive: func(s *Settings) {
			if !s.Network.UsesExistingVPC() {
				s.Network.AvailabilityZones = []string{s.Region + "a", s.Region + "c"}
			}
		}},
	{Key: KeyExistingVpcID, Type: String,
		Doc:     "Deploy into this existing VPC (with existingSubnetIds) instead of creating one.",
		Pattern: limits.VPCIDPattern, Allowed: "a VPC id such as vpc-0123456789abcdef0",
		field: func(s *Settings) any { return &s.Network.ExistingVpcID }},
	{Key: KeyExistingSubnetIDs, Type: List,
		Doc:     "Private subnets of existingVpcId, in different zones.",
		Pattern: limits.SubnetIDPattern, Allowed: "a comma-separated list of subnet ids such as subnet-0123456789abcdef0",
		field: func(s *Settings) any { return &s.Network.ExistingSubnetIDs }},
	{Key: KeySecretsManagerEndpoint, Type: Boolean, Default: "false",
		Doc:   "A Secrets Manager interface VPC endpoint and 443 egress from the proxy: the fallback if the proxy cannot read its secrets (docs/deploying.md).",
		field: func(s *Settings) any { return &s.Network.SecretsManagerEndpoint }},
}

// UsesExistingVPC reports whether the stack deploys into a VPC it does not own.
func (n Network) UsesExistingVPC() bool { return n.ExistingVpcID != "" }

// defaultVpcCIDR is the network of a new VPC when the stack names none.
const defaultVpcCIDR = "10.40.0.0/16"

func vpcCIDR(v string) string {
	if !limits.ValidVPCCIDR(v) {
		return "must be " + limits.VPCCIDRAllowed
	}
	return ""
}
