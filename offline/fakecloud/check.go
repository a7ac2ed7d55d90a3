package fakecloud

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/sluicehq/sluice/policy/rules"
)

// archivePrefix is the directory every entry of a non-nodejs pack archive
// sits in (httpstate/policypack.go Publish: archive.TGZ(dir, "package", true)),
// and which the CLI strips again when it installs a required pack
// (installRequiredPolicy).
const archivePrefix = "package/"

// levelSchema is the config property the CLI adds to every policy of a pack
// that supports config (pkg/resource/plugin/analyzer_plugin.go
// GetAnalyzerInfo, "Inject `enforcementLevel` into the schema"), so that a
// policy group can set each policy's level.
var levelSchema = map[string]any{
	"type": "string",
	"enum": []string{"advisory", "mandatory", "remediate", "disabled"},
}

// CheckPolicies compares the policies of a create request with the pack's
// (the CLI lists them sorted by name): the same names, each with the level
// the pack enforces without config, its severity, description and
// remediation text (remediationSteps), and an object config schema whose
// properties are exactly the policy's ConfigSchema plus the CLI's
// enforcementLevel.
func CheckPolicies(got []apitype.Policy, want []rules.Policy) error {
	var errs []error
	byName := make(map[string]apitype.Policy, len(got))
	for _, g := range got {
		if _, dup := byName[g.Name]; dup {
			errs = append(errs, fmt.Errorf("policy %q listed twice", g.Name))
		}
		byName[g.Name] = g
	}
	names := make(map[string]bool, len(want))
	for _, w := range want {
		names[w.Name] = true
		g, ok := byName[w.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("policy %q missing", w.Name))
			continue
		}
		if lvl := apitype.EnforcementLevel(w.EnforcementLevel.String()); g.EnforcementLevel != lvl {
			errs = append(errs, fmt.Errorf("policy %q: enforcementLevel %q, want %q", w.Name, g.EnforcementLevel, lvl))
		}
		if sev := apitype.PolicySeverity(w.Severity.String()); g.Severity != sev {
			errs = append(errs, fmt.Errorf("policy %q: severity %q, want %q", w.Name, g.Severity, sev))
		}
		if g.Description != w.Description {
			errs = append(errs, fmt.Errorf("policy %q: description %q, want %q", w.Name, g.Description, w.Description))
		}
		if g.RemediationSteps != w.Remediation {
			errs = append(errs, fmt.Errorf("policy %q: remediationSteps %q, want %q", w.Name, g.RemediationSteps, w.Remediation))
		}
		props := map[string]any{"enforcementLevel": levelSchema}
		for k, v := range w.ConfigSchema {
			props[k] = v
		}
		if err := checkSchema(g.ConfigSchema, props); err != nil {
			errs = append(errs, fmt.Errorf("policy %q: configSchema: %w", w.Name, err))
		}
	}
	for _, g := range got {
		if !names[g.Name] {
			errs = append(errs, fmt.Errorf("policy %q is not in the pack", g.Name))
		}
	}
	return errors.Join(errs...)
}

// checkSchema compares a published config schema with the properties it
// must have, as JSON values.
func checkSchema(got *apitype.PolicyConfigSchema, want map[string]any) error {
	if got == nil {
		return errors.New("missing")
	}
	if got.Type != apitype.Object {
		return fmt.Errorf("type %q, want %q", got.Type, apitype.Object)
	}
	var errs []error
	for name, w := range want {
		raw, ok := got.Properties[name]
		if !ok || raw == nil {
			errs = append(errs, fmt.Errorf("property %q missing", name))
			continue
		}
		var g, wj any
		if err := json.Unmarshal(*raw, &g); err != nil {
			errs = append(errs, fmt.Errorf("property %q: %w", name, err))
			continue
		}
		b, err := json.Marshal(w)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &wj); err != nil {
			return err
		}
		if !reflect.DeepEqual(g, wj) {
			errs = append(errs, fmt.Errorf("property %q is %s, want %s", name, *raw, b))
		}
	}
	for name := range got.Properties {
		if _, ok := want[name]; !ok {
			errs = append(errs, fmt.Errorf("unexpected property %q", name))
		}
	}
	return errors.Join(errs...)
}

// ArchiveFiles lists the regular files of a pack archive, without the
// "package/" prefix. An entry outside that prefix, or one whose path would
// leave the extraction directory, is an error.
func ArchiveFiles(archive []byte) ([]string, error) {
	var files []string
	err := walkArchive(archive, func(name string, _ *tar.Header, _ io.Reader) error {
		files = append(files, name)
		return nil
	})
	return files, err
}

// Extract writes a pack archive into dir as the CLI installs a required
// pack: each entry without its "package/" prefix.
func Extract(archive []byte, dir string) error {
	return walkArchive(archive, func(name string, h *tar.Header, r io.Reader) error {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(h.Mode).Perm()|0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return fmt.Errorf("extract %s: %w", name, err)
		}
		return f.Close()
	})
}

func walkArchive(archive []byte, fn func(name string, h *tar.Header, r io.Reader) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return fmt.Errorf("pack archive is not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pack archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("pack archive: %s is not a regular file (type %q)", h.Name, h.Typeflag)
		}
		name, ok := strings.CutPrefix(h.Name, archivePrefix)
		if !ok || name == "" || !filepath.IsLocal(filepath.FromSlash(name)) || path.Clean(name) != name {
			return fmt.Errorf("pack archive: entry %q is not a clean path under %q", h.Name, archivePrefix)
		}
		if err := fn(name, h, tr); err != nil {
			return err
		}
	}
}

// BuildArchive extracts a pack archive into an empty temporary directory and
// builds it there with `go build`, with GOFLAGS=-mod=mod and no workspace,
// as a machine that enforces the pack compiles it: nothing from this
// checkout is visible, so every import must come from the archive or the
// module proxy. Output goes to w (may be nil).
func BuildArchive(ctx context.Context, archive []byte, w io.Writer) error {
	dir, err := os.MkdirTemp("", "sluice-published-pack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "pack")
	if err := Extract(archive, src); err != nil {
		return err
	}
	var out bytes.Buffer
	sink := io.Writer(&out)
	if w != nil {
		sink = io.MultiWriter(&out, w)
	}
	fmt.Fprintf(sink, "$ (cd <extracted archive> && GOFLAGS=-mod=mod go build -o pack.bin .)\n")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "pack.bin"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = sink, sink
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build in the extracted archive: %w\n%s", err, tail(out.String()))
	}
	return nil
}
