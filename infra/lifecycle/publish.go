package lifecycle

import (
	"context"
	"errors"
)

// publish runs `pulumi policy publish` of the policy pack through the real
// CLI against a loopback stand-in of Pulumi Cloud. That stand-in is built on
// branch cloud (internal/fakecloud); until it is on main this step is not
// run and says so.
func publish(ctx context.Context, root string, env []string) error {
	_, _, _ = ctx, root, env
	return errors.New("not run: the loopback Pulumi Cloud stand-in (internal/fakecloud, branch cloud) is not on main yet")
}
