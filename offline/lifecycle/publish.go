package lifecycle

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/offline/fakecloud"
)

// publish runs `pulumi policy publish <org>` in the copy's policy/ through
// the real CLI, logged in to a loopback stand-in of Pulumi Cloud
// (offline/fakecloud): publish must succeed, the request must list every
// policy with its enforcement level and config schema, and the uploaded
// archive must build on its own with `go build`.
func (l *Lifecycle) publish(ctx context.Context) error {
	var out strings.Builder
	res, err := fakecloud.PublishPolicyPack(ctx, fakecloud.Options{
		RepoRoot:   l.repo,
		Pulumi:     l.tools.CLI,
		PluginDirs: []string{filepath.Dir(l.tools.LanguageHost)},
		Output:     &out,
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	l.logf("    pulumi login %.1f s, pulumi policy publish %.1f s (%d policies, %d files), go build of the archive %.1f s",
		res.Login.Seconds(), res.Publish.Seconds(), len(res.Pack.Create.Policies), len(res.Files), res.Build.Seconds())
	return nil
}
