package analyzer

import (
	"fmt"
	"io"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Serve serves srv the way the engine expects of a plugin: listen on a
// free loopback port, write the port and a newline to stdout before
// anything else, then serve until the engine stops the process or cancel
// is closed.
func Serve(srv *Server, stdout io.Writer, cancel chan bool) error {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(g *grpc.Server) error {
			pulumirpc.RegisterAnalyzerServer(g, srv)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("start analyzer server: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%d\n", handle.Port); err != nil {
		return fmt.Errorf("write analyzer port: %w", err)
	}
	if err := <-handle.Done; err != nil {
		return fmt.Errorf("analyzer server: %w", err)
	}
	return nil
}
