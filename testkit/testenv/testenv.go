// Package testenv is what a test needs from the machine: it marks the tests
// that need a service or a tool beyond Go, and hands out free loopback
// addresses.
// `make test-short` (go test -short) skips them, saying what they need, so
// the fast tier runs on any machine with nothing started; `make test`, as CI
// runs it, skips nothing: there a missing service fails the test that needs
// it, with the test's own message saying what to start.
//
// The shared helpers call these (offline/testdb, testkit/lambdarie, the
// test harnesses that start moto_server), so most tests inherit the skip.
package testenv

import (
	"net"
	"testing"
)

// NeedsMariaDB marks a test that needs the MySQL (MariaDB) test server at addr.
func NeedsMariaDB(tb testing.TB, addr string) {
	tb.Helper()
	skipShort(tb, "MariaDB on "+addr+" (SLUICE_TEST_MYSQL)")
}

// NeedsMariaDBBinaries marks a test that runs its own mariadbd (with
// mariadb-install-db) rather than the shared server.
func NeedsMariaDBBinaries(tb testing.TB) {
	tb.Helper()
	skipShort(tb, "mariadbd and mariadb-install-db on PATH")
}

// NeedsMoto marks a test that starts moto_server (the SQS API).
func NeedsMoto(tb testing.TB) {
	tb.Helper()
	skipShort(tb, "moto_server on PATH (python3 -m pip install 'moto[server]==5.2.1')")
}

// NeedsLambdaRIE marks a test that runs a bootstrap behind aws-lambda-rie,
// which is built from its Go module (network on first use) when it is not
// installed.
func NeedsLambdaRIE(tb testing.TB) {
	tb.Helper()
	skipShort(tb, "aws-lambda-rie (the Lambda Runtime Interface Emulator)")
}

// NeedsQemu marks a test that runs a linux/arm64 binary on another
// architecture through qemu-aarch64-static.
func NeedsQemu(tb testing.TB) {
	tb.Helper()
	skipShort(tb, "qemu-aarch64-static")
}

// NeedsPulumiCLI marks a test that runs the pulumi CLI (scripts/pulumi-cli.sh
// prints or builds it).
func NeedsPulumiCLI(tb testing.TB) {
	tb.Helper()
	skipShort(tb, "the pulumi CLI (scripts/pulumi-cli.sh)")
}

// FreeAddr returns a loopback host:port that nothing listened on a moment
// ago, for a server the test starts.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := LoopbackAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// LoopbackAddr is FreeAddr outside a test.
func LoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func skipShort(tb testing.TB, need string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("needs %s; run make test", need)
	}
}
