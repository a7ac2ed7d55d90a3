package pipeline

import (
	"testing"

	"github.com/sluicehq/sluice/offline/mariadbd"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// privateMariaDB is a mariadbd that one test owns (see offline/mariadbd),
// so the test can stop and restart it without touching the machine's
// shared server. It is killed at cleanup whatever happens.
type privateMariaDB struct {
	t *testing.T
	*mariadbd.Server
}

func startPrivateMariaDB(t *testing.T) *privateMariaDB {
	t.Helper()
	return startPrivateMariaDBWith(t, "", nil)
}

// startPrivateMariaDBWith starts the server with extra mariadbd options;
// with caFile set, Config (and the readiness check) use TLS verified
// against that CA.
func startPrivateMariaDBWith(t *testing.T, caFile string, args []string) *privateMariaDB {
	t.Helper()
	testenv.NeedsMariaDBBinaries(t)
	s, err := mariadbd.StartWith(t.TempDir(), mariadbd.Options{Args: args, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &privateMariaDB{t: t, Server: s}
}

// stop shuts the server down as an outage would.
func (m *privateMariaDB) stop() { m.Stop() }

// start brings it back after stop.
func (m *privateMariaDB) start() {
	m.t.Helper()
	if err := m.Restart(); err != nil {
		m.t.Fatal(err)
	}
}
