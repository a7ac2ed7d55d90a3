package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Store is what the stand-in remembers between engine runs, as AWS
// remembers an account's resources: one JSON file per resource it created
// (under resources/<type>/), the code packages of the functions (code/,
// addressed by their SHA-256), the passwords RDS manages (managed-secrets/),
// the logs of every function invocation (logs/) and final snapshots
// (snapshots/). The engine starts a new provider process for every command,
// so nothing is kept in memory. The directory is private to one test or
// rehearsal; secret values are kept in it in plaintext, as the service
// itself keeps them.
type Store struct {
	dir string
	mu  sync.Mutex // with the file lock, one writer at a time
}

// Record is one resource the stand-in created.
type Record struct {
	Type    string    `json:"type"`
	URN     string    `json:"urn"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Outputs is the resource's current state (secrets marked).
	Outputs resource.PropertyMap `json:"-"`
}

// OpenStore opens (creating if needed) the state directory dir.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fakeaws: no state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fakeaws: state directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// locked runs fn holding the store's lock (a mutex and a file lock, since
// two provider processes may share the directory).
func (s *Store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("fakeaws: lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("fakeaws: lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // released on close anyway
	return fn()
}

// typeDir turns a type token into a directory name.
func typeDir(typ string) string {
	return strings.NewReplacer(":", "_", "/", "_").Replace(typ)
}

func (s *Store) recordPath(typ, id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(s.dir, "resources", typeDir(typ), hex.EncodeToString(sum[:12])+".json")
}

type recordFile struct {
	Record
	Outputs json.RawMessage `json:"outputs"`
}

var storeOpts = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true}

// Put writes r, replacing the record of the same type and id.
func (s *Store) Put(r Record) error {
	st, err := plugin.MarshalProperties(r.Outputs, storeOpts)
	if err != nil {
		return fmt.Errorf("fakeaws: record %s %s: %w", r.Type, r.ID, err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return fmt.Errorf("fakeaws: record %s %s: %w", r.Type, r.ID, err)
	}
	data, err := json.MarshalIndent(recordFile{Record: r, Outputs: raw}, "", "  ")
	if err != nil {
		return fmt.Errorf("fakeaws: record %s %s: %w", r.Type, r.ID, err)
	}
	return s.locked(func() error { return writeFile(s.recordPath(r.Type, r.ID), data) })
}

// Remove deletes the record of typ and id; a missing one is no error.
func (s *Store) Remove(typ, id string) error {
	return s.locked(func() error {
		err := os.Remove(s.recordPath(typ, id))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// Get returns the record of typ and id, if there is one.
func (s *Store) Get(typ, id string) (Record, bool, error) {
	var r Record
	var found bool
	err := s.locked(func() error {
		data, err := os.ReadFile(s.recordPath(typ, id))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		r, err = decodeRecord(data)
		found = err == nil
		return err
	})
	return r, found, err
}

// List returns the records of typ (every type when typ is empty), oldest
// first.
func (s *Store) List(typ string) ([]Record, error) {
	var out []Record
	err := s.locked(func() error {
		pattern := filepath.Join(s.dir, "resources", "*", "*.json")
		if typ != "" {
			pattern = filepath.Join(s.dir, "resources", typeDir(typ), "*.json")
		}
		files, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			r, err := decodeRecord(data)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, r)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

func decodeRecord(data []byte) (Record, error) {
	var f recordFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Record{}, fmt.Errorf("fakeaws: record: %w", err)
	}
	var st structpb.Struct
	if err := protojson.Unmarshal(f.Outputs, &st); err != nil {
		return Record{}, fmt.Errorf("fakeaws: record %s %s: %w", f.Type, f.ID, err)
	}
	props, err := plugin.UnmarshalProperties(&st, storeOpts)
	if err != nil {
		return Record{}, fmt.Errorf("fakeaws: record %s %s: %w", f.Type, f.ID, err)
	}
	r := f.Record
	r.Outputs = props
	return r, nil
}

// PutFile writes data to the state directory's relative path rel.
func (s *Store) PutFile(rel string, data []byte) error {
	return s.locked(func() error { return writeFile(filepath.Join(s.dir, rel), data) })
}

// ReadFile reads the state directory's relative path rel.
func (s *Store) ReadFile(rel string) ([]byte, error) {
	var data []byte
	err := s.locked(func() error {
		var err error
		data, err = os.ReadFile(filepath.Join(s.dir, rel))
		return err
	})
	return data, err
}

// RemoveFile deletes the state directory's relative path rel.
func (s *Store) RemoveFile(rel string) error {
	return s.locked(func() error {
		err := os.Remove(filepath.Join(s.dir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// writeFile writes data to path through a temporary file and a rename, so a
// reader never sees half a file.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// secretKey is the file name part for a secret's ARN.
func secretKey(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return hex.EncodeToString(sum[:12])
}
