package fakeaws

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/offline/awsmodel"
)

// realize does what creating (update false) or updating a resource of typ
// does beyond the model's answer, changing outputs where AWS's answer
// depends on it.
func (s *Server) realize(ctx context.Context, st *Store, typ string, outputs resource.PropertyMap, update bool) error {
	switch typ {
	case "aws:lambda/function:Function":
		return storeCode(st, outputs)
	case "aws:rds/instance:Instance":
		if !update {
			return s.createInstance(ctx, st, outputs)
		}
	}
	return nil
}

// beforeDelete does what deleting a resource of typ does.
func (s *Server) beforeDelete(ctx context.Context, st *Store, typ, id string, state resource.PropertyMap) error {
	switch typ {
	case "aws:rds/instance:Instance":
		return s.deleteInstance(ctx, st, state)
	case "aws:rds/proxyTarget:ProxyTarget":
		return s.deregisterProxyTarget(st, id)
	}
	return nil
}

// CodePath is where the store keeps a code package, by the SHA-256 Lambda
// reports for it (codeSha256, base64).
func CodePath(codeSha256 string) (string, error) {
	sum, err := base64.StdEncoding.DecodeString(codeSha256)
	if err != nil || len(sum) != sha256.Size {
		return "", fmt.Errorf("fakeaws: %q is not a base64 SHA-256", codeSha256)
	}
	return filepath.Join("code", hex.EncodeToString(sum)+".zip"), nil
}

// storeCode keeps the function's deployment package, byte for byte, as
// Lambda does on CreateFunction and UpdateFunctionCode, and answers with
// its SHA-256 and size.
func storeCode(st *Store, outputs resource.PropertyMap) error {
	v, ok := outputs["code"]
	if !ok || !v.IsArchive() {
		return fmt.Errorf("fakeaws: function %s: no code archive (the stand-in keeps only zip packages)", str(outputs, "name"))
	}
	a := v.ArchiveValue()
	var data []byte
	var err error
	if a.Path != "" && strings.HasSuffix(a.Path, ".zip") {
		data, err = os.ReadFile(a.Path)
	} else {
		data, err = a.Bytes(resource.ZIPArchive)
	}
	if err != nil {
		return fmt.Errorf("fakeaws: function %s: reading the code package: %w", str(outputs, "name"), err)
	}
	sum := sha256.Sum256(data)
	digest := base64.StdEncoding.EncodeToString(sum[:])
	rel, err := CodePath(digest)
	if err != nil {
		return err
	}
	if err := st.PutFile(rel, data); err != nil {
		return err
	}
	outputs["codeSha256"] = resource.NewProperty(digest)
	outputs["sourceCodeSize"] = resource.NewProperty(float64(len(data)))
	return nil
}

// ManagedSecret is the value of a secret RDS manages for a master user.
type ManagedSecret struct {
	ARN      string `json:"arn"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func managedSecretPath(arn string) string {
	return filepath.Join("managed-secrets", secretKey(arn)+".json")
}

// createInstance stands the instance up on the backing server: its
// database and its master user, whose password RDS generates and keeps in
// the secret named in masterUserSecrets.
func (s *Server) createInstance(ctx context.Context, st *Store, outputs resource.PropertyMap) error {
	id := str(outputs, "identifier")
	if s.cfg.MySQL.Endpoint == "" {
		return fmt.Errorf("fakeaws: creating RDS DB Instance %s needs a MySQL server to stand in for it: set %s to its host:port", id, EnvMySQL)
	}
	dbName, master := str(outputs, "dbName"), str(outputs, "username")
	password := str(outputs, "password")
	secretARN := masterSecretARN(outputs)
	if secretARN != "" {
		password = rand.Text()
	}
	if err := backingCreate(ctx, s.cfg.MySQL, dbName, master, password); err != nil {
		return fmt.Errorf("creating RDS DB Instance (%s): %w", id, err)
	}
	if secretARN != "" {
		data, err := json.Marshal(ManagedSecret{ARN: secretARN, Username: master, Password: password})
		if err != nil {
			return err
		}
		return st.PutFile(managedSecretPath(secretARN), data)
	}
	return nil
}

func masterSecretARN(outputs resource.PropertyMap) string {
	v, ok := outputs["masterUserSecrets"]
	if !ok || !v.IsArray() || len(v.ArrayValue()) == 0 || !v.ArrayValue()[0].IsObject() {
		return ""
	}
	return str(v.ArrayValue()[0].ObjectValue(), "secretArn")
}

// Snapshot is a final snapshot taken when an instance was deleted: its
// tables live on in Database on the backing server.
type Snapshot struct {
	Identifier string    `json:"identifier"`
	Instance   string    `json:"instance"`
	Database   string    `json:"database"`
	Tables     []string  `json:"tables"`
	Created    time.Time `json:"created"`
}

// SnapshotDatabase is the backing database a final snapshot's tables are
// moved to.
func SnapshotDatabase(identifier string) string {
	return "snapshot_" + strings.ReplaceAll(identifier, "-", "_")
}

// deleteInstance takes the final snapshot the instance asks for, then
// removes the instance's database and users from the backing server.
func (s *Server) deleteInstance(ctx context.Context, st *Store, state resource.PropertyMap) error {
	id := str(state, "identifier")
	snapshot := ""
	if v, ok := state["skipFinalSnapshot"]; !ok || !v.IsBool() || !v.BoolValue() {
		snapshot = str(state, "finalSnapshotIdentifier")
	}
	if snapshot != "" {
		if _, err := st.ReadFile(snapshotPath(snapshot)); err == nil {
			return awsmodel.SnapshotExists(id, snapshot)
		}
	}
	if s.cfg.MySQL.Endpoint == "" {
		return fmt.Errorf("fakeaws: deleting RDS DB Instance %s needs the MySQL server that stands in for it: set %s", id, EnvMySQL)
	}
	tables, err := backingDelete(ctx, s.cfg.MySQL, str(state, "dbName"), str(state, "username"), snapshotOrEmpty(snapshot))
	if err != nil {
		return fmt.Errorf("deleting RDS DB Instance (%s): %w", id, err)
	}
	if snapshot != "" {
		data, err := json.Marshal(Snapshot{Identifier: snapshot, Instance: id, Database: SnapshotDatabase(snapshot), Tables: tables, Created: time.Now()})
		if err != nil {
			return err
		}
		if err := st.PutFile(snapshotPath(snapshot), data); err != nil {
			return err
		}
	}
	if arn := masterSecretARN(state); arn != "" {
		return st.RemoveFile(managedSecretPath(arn))
	}
	return nil
}

// snapshotPath is where the store keeps the final snapshot identifier.
// RDS keeps identifiers in lower case, so Foo and foo are one snapshot.
func snapshotPath(identifier string) string {
	return filepath.Join("snapshots", strings.ToLower(identifier)+".json")
}

func snapshotOrEmpty(identifier string) string {
	if identifier == "" {
		return ""
	}
	return SnapshotDatabase(identifier)
}

// secretValue returns the current value of the secret arn: the newest
// secret version the stand-in holds for it, else the value of a secret RDS
// manages.
func secretValue(st *Store, arn string) (string, error) {
	versions, err := st.List("aws:secretsmanager/secretVersion:SecretVersion")
	if err != nil {
		return "", err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if str(versions[i].Outputs, "secretId") == arn {
			return str(versions[i].Outputs, "secretString"), nil
		}
	}
	data, err := st.ReadFile(managedSecretPath(arn))
	if err != nil {
		return "", fmt.Errorf("secrets manager: no value for secret %s", arn)
	}
	var m ManagedSecret
	if err := json.Unmarshal(data, &m); err != nil {
		return "", err
	}
	v, err := json.Marshal(map[string]string{"username": m.Username, "password": m.Password})
	return string(v), err
}
