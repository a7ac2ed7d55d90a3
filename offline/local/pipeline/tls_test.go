package pipeline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// testCA writes a CA and a server certificate for 127.0.0.1 into dir and
// returns the paths of the CA, the certificate and its key.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, serverKey := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	server := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, server, ca, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", serverDER), write("server-key.pem", "PRIVATE KEY", keyDER)
}

// TestPipelineOverTLS12And13Only runs the pipeline against a server set up
// as MySQL 8.4 is: TLS 1.2 and 1.3 only, and every connection required to
// use TLS (require_secure_transport, as the stack's parameter group sets).
// The migrator's, the application user's and the consumer's connections all
// go through dbconn, whose TLS floor is 1.2; a client that offers only TLS
// 1.1 or no TLS at all is refused.
func TestPipelineOverTLS12And13Only(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)
	server := startPrivateMariaDBWith(t, caFile, []string{
		"--ssl-ca=" + caFile, "--ssl-cert=" + certFile, "--ssl-key=" + keyFile,
		"--tls-version=TLSv1.2,TLSv1.3", "--require-secure-transport=ON",
	})
	cfg := server.Config("sluice_tls")
	s := devSettings(t)
	p := startPipeline(t, s, cfg, nil)

	var cipher, version string
	if err := p.Admin().QueryRow("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := p.Admin().QueryRow("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'").Scan(&cipher); err != nil {
		t.Fatal(err)
	}
	if version != "TLSv1.2" && version != "TLSv1.3" {
		t.Errorf("admin session over %q (cipher %q), want TLSv1.2 or TLSv1.3", version, cipher)
	}
	bodies := []string{record("tls", 0), record("tls", 1), record("tls", 2)}
	ids := postAll(t, p.URL(), bodies, 1)
	waitFor(t, p, 2*time.Minute, "stored over TLS", func(c Counts) bool { return c.Stored >= 3 && c.Queued == 0 && c.InFlight == 0 })
	storedOnce(t, p.Admin(), ids)
	t.Logf("dbconn negotiated %s (%s)", version, cipher)

	// The server refuses what MySQL 8.4 refuses.
	mc := mysql.NewConfig()
	mc.Net, mc.Addr, mc.User, mc.DBName, mc.Timeout = "tcp", cfg.Endpoint, "root", "sluice_tls", 5*time.Second
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA: %v", err)
	}
	for name, tc := range map[string]*tls.Config{
		"TLS 1.1 at most": {RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		"no TLS":          nil,
	} {
		c := mc.Clone()
		c.TLS = tc
		connector, err := mysql.NewConnector(c)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(connector)
		err = db.PingContext(context.Background())
		db.Close()
		if err == nil {
			t.Errorf("%s: the server accepted the connection", name)
			continue
		}
		// Without TLS MariaDB answers 1045 (MySQL: 3159); the same login
		// over TLS is the admin pool above.
		var me *mysql.MySQLError
		if tc == nil && (!errors.As(err, &me) || (me.Number != 1045 && me.Number != 3159)) {
			t.Errorf("%s: %v, want MySQL error 1045 or 3159", name, err)
		}
		t.Logf("%s: refused: %v", name, err)
	}
}
