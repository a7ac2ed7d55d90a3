// Command deploycheck tells whether a deployed Sluice stack works, right
// after `pulumi up` in a real account:
//
//	go run ./deploycheck --stack dev
//
// It reads the stack's outputs (`pulumi stack output --json`), and with the
// caller's AWS credentials reports one line per check: the RDS Proxy
// target's health and what its reason means (first, because it settles
// whether the proxy reads its secret and logs in to MySQL 8.4), both
// functions Active, the consumer's event source mapping Enabled, the schema
// version (the migrator's read-only "version" action), and a probe
// submission POSTed to apiUrl with an idempotency key and seen stored (the
// migrator's read-only "lookup" action: no new network path to the
// database). It exits 0 when every check passed, 1 when one failed, 2 when
// it could not run.
//
// The AWS clients honour the SDK's usual settings, AWS_ENDPOINT_URL_RDS and
// AWS_ENDPOINT_URL_LAMBDA included (the tests point them at a loopback
// stand-in).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploycheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "the `name` of the stack to check; its outputs are read with pulumi stack output --json")
	outputsFile := fs.String("outputs", "", "read the stack outputs from this JSON file (\"-\": stdin) instead of running pulumi")
	probe := fs.Bool("probe", true, "submit a probe record and wait until it is stored (false: a stack whose route needs a JWT)")
	probeWait := fs.Duration("probe-wait", 2*time.Minute, "how long the probe may take to be stored")
	sign := fs.Bool("sign", false, "sign the probe with SigV4 (a stack with apiAuth AWS_IAM)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run ./deploycheck --stack <stack> [flags]

Checks a deployed Sluice stack with your AWS credentials, right after pulumi up:
the RDS Proxy target's health (and the fallback setting when it is not
AVAILABLE), both functions Active, the event source mapping Enabled, the
schema version, and a probe submission seen stored. Exit status: 0 every
check passed, 1 a check failed, 2 it could not run.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if (*stack == "") == (*outputsFile == "") || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}

	out, err := readOutputs(ctx, *stack, *outputsFile)
	if err != nil {
		fmt.Fprintf(stderr, "deploycheck: %v\n", err)
		return exitUsage
	}
	if m := out.missing(); len(m) > 0 {
		fmt.Fprintf(stderr, "deploycheck: the stack has no output %s: run pulumi up first (or check the stack name)\n", strings.Join(m, ", "))
		return exitUsage
	}
	clients, err := newClients(ctx, out.str(outRegion))
	if err != nil {
		fmt.Fprintf(stderr, "deploycheck: %v\n", err)
		return exitUsage
	}
	every := min(3*time.Second, *probeWait/10)
	results := Check(ctx, out, clients, Options{Probe: *probe, ProbeWait: *probeWait, ProbeEvery: every, Sign: *sign}, stdout)
	failed := 0
	for _, r := range results {
		if r.Status == "FAIL" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "deploycheck: %d of %d checks failed\n", failed, len(results))
		return exitFail
	}
	fmt.Fprintf(stdout, "deploycheck: %d checks passed\n", len(results))
	return exitOK
}

// readOutputs runs `pulumi stack output --json --stack <stack>` in the
// current directory (the project's), or reads file.
func readOutputs(ctx context.Context, stack, file string) (Outputs, error) {
	var raw []byte
	var err error
	switch {
	case file == "-":
		raw, err = io.ReadAll(os.Stdin)
	case file != "":
		raw, err = os.ReadFile(file)
	default:
		cmd := exec.CommandContext(ctx, "pulumi", "stack", "output", "--json", "--stack", stack)
		cmd.Stderr = os.Stderr
		raw, err = cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("pulumi stack output --json --stack %s: %w", stack, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read the stack outputs: %w", err)
	}
	var out Outputs
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("stack outputs are not a JSON object: %w", err)
	}
	return out, nil
}

// newClients loads the caller's AWS configuration (credentials, and
// endpoints such as AWS_ENDPOINT_URL_RDS) for region.
func newClients(ctx context.Context, region string) (Clients, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return Clients{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return Clients{
		RDS:         rds.NewFromConfig(awsCfg),
		Lambda:      lambda.NewFromConfig(awsCfg),
		HTTP:        &http.Client{Timeout: 30 * time.Second},
		Credentials: awsCfg.Credentials,
	}, nil
}
