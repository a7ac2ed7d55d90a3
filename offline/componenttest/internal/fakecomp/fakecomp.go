// Package fakecomp is a component shaped as every component of infra/ is,
// with knobs in its Args that break one rule each, so that the tests of
// componenttest see Check catch every breach.
package fakecomp

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/limits"
)

// Type is the component's Pulumi type token.
const Type = "sluice:fake:Fake"

// Args configures the fake.
type Args struct {
	// Size must be at least 1.
	Size int
	// Tags are added to the queue.
	Tags map[string]string
	// Unparented registers the queue under the stack instead.
	Unparented bool
	// NoURL leaves the url output empty.
	NoURL bool
}

// Validate reports the first invalid field by name.
func (a Args) Validate() error {
	if a.Size < 1 {
		return limits.Invalid("Size", "%d: want at least 1", a.Size)
	}
	return nil
}

// Fake is the component.
type Fake struct {
	pulumi.ResourceState

	// URL and ARN are the queue's.
	URL pulumi.StringOutput `pulumi:"url"`
	ARN pulumi.StringOutput `pulumi:"arn"`
}

// New registers the fake (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Fake, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("fake %s: %w", name, err)
	}
	c := &Fake{}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("fake %s: %w", name, err)
	}
	child := pulumi.Parent(c)
	if args.Unparented {
		child = pulumi.Parent(nil)
	}
	q, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{Tags: pulumi.ToStringMap(args.Tags)}, child)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	c.URL, c.ARN = q.Url, q.Arn
	if args.NoURL {
		c.URL = pulumi.String("").ToStringOutput()
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"url": c.URL, "arn": c.ARN}); err != nil {
		return nil, fmt.Errorf("fake %s outputs: %w", name, err)
	}
	return c, nil
}
