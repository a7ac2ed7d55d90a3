// Package lambdabuild compiles a Go main package into a Lambda deployment
// archive (a zip holding one executable named bootstrap) for the
// provided.al2023 runtime on arm64.
//
// The Pulumi program calls Build while it runs, during both `pulumi preview`
// and `pulumi up`, so the archive always matches the source in the working
// tree. The archive is byte-for-byte reproducible: the same source and Go
// toolchain give the same bytes, hence the same SourceCodeHash, so a second
// `pulumi up` without source changes shows no diff on the function.
package lambdabuild

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// entryTime is the modification time written for the bootstrap entry. Any
// fixed value works; the build time must not leak into the archive.
var entryTime = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

// Archive is a built Lambda deployment package.
type Archive struct {
	// Path is the absolute path of the zip file.
	Path string
	// SourceCodeHash is the base64-encoded SHA-256 of the zip file, the
	// value aws.lambda.Function expects in sourceCodeHash.
	SourceCodeHash string
}

// Options says what to build and where.
type Options struct {
	// Package is the main package to build, relative to the module root,
	// for example "./consumer/cmd/consumer".
	Package string
	// Dir is any directory inside the Go module; the module root is found
	// from it. Empty means the current directory.
	Dir string
	// OutDir receives <name>.zip, where name is the package's last path
	// element. Empty means <user cache dir>/sluice/lambda, outside the
	// source tree.
	OutDir string
	// Go is the go command to run. Empty means "go" looked up in PATH.
	Go string
}

// Build compiles opts.Package for linux/arm64 with
//
//	CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags lambda.norpc -ldflags "-s -w -buildid="
//
// into a binary named bootstrap and zips it with a fixed entry time and mode.
func Build(ctx context.Context, opts Options) (Archive, error) {
	if opts.Package == "" {
		return Archive{}, errors.New("lambdabuild: Options.Package is empty")
	}
	goCmd, err := lookGo(opts.Go)
	if err != nil {
		return Archive{}, err
	}
	root, err := moduleRoot(ctx, goCmd, opts.Dir)
	if err != nil {
		return Archive{}, err
	}
	outDir := opts.OutDir
	if outDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return Archive{}, fmt.Errorf("lambdabuild: no output directory given and no user cache directory: %w", err)
		}
		outDir = filepath.Join(cache, "sluice", "lambda")
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return Archive{}, fmt.Errorf("lambdabuild: output directory: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Archive{}, fmt.Errorf("lambdabuild: create output directory: %w", err)
	}
	name := filepath.Base(filepath.Clean(opts.Package))

	work, err := os.MkdirTemp(outDir, name+"-build-")
	if err != nil {
		return Archive{}, fmt.Errorf("lambdabuild: create work directory: %w", err)
	}
	defer os.RemoveAll(work)

	binary := filepath.Join(work, "bootstrap")
	if err := compile(ctx, goCmd, root, opts.Package, binary); err != nil {
		return Archive{}, err
	}
	zipped, err := zipBootstrap(binary)
	if err != nil {
		return Archive{}, err
	}

	// Write then rename, so a concurrent reader never sees half an archive.
	zipPath := filepath.Join(outDir, name+".zip")
	tmp := filepath.Join(work, name+".zip")
	if err := os.WriteFile(tmp, zipped, 0o644); err != nil {
		return Archive{}, fmt.Errorf("lambdabuild: write archive: %w", err)
	}
	if err := os.Rename(tmp, zipPath); err != nil {
		return Archive{}, fmt.Errorf("lambdabuild: move archive into place: %w", err)
	}
	sum := sha256.Sum256(zipped)
	return Archive{Path: zipPath, SourceCodeHash: base64.StdEncoding.EncodeToString(sum[:])}, nil
}

func lookGo(goCmd string) (string, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	path, err := exec.LookPath(goCmd)
	if err != nil {
		return "", fmt.Errorf("lambdabuild: the Go toolchain is needed to build the Lambda archives during preview and up; install Go and put it in PATH (%q: %w)", goCmd, err)
	}
	return path, nil
}

func moduleRoot(ctx context.Context, goCmd, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lambdabuild: go env GOMOD in %q: %w", dir, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("lambdabuild: %q is not inside a Go module", dir)
	}
	return filepath.Dir(gomod), nil
}

func compile(ctx context.Context, goCmd, root, pkg, binary string) error {
	cmd := exec.CommandContext(ctx, goCmd, "build",
		"-trimpath",
		// VCS stamping would embed the commit and the dirty flag, so any
		// commit anywhere in the repository would change the archive.
		"-buildvcs=false",
		"-tags", "lambda.norpc",
		"-ldflags", "-s -w -buildid=",
		"-o", binary,
		pkg)
	cmd.Dir = root
	cmd.Env = buildEnv(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lambdabuild: go build %s: %w\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// buildEnv pins the target and drops inherited settings that would change
// the output (a GOFLAGS with -race or -cover, a different GOARM64 level).
func buildEnv(environ []string) []string {
	drop := map[string]bool{"GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOFLAGS": true, "GOARM64": true, "GOEXPERIMENT": true}
	env := make([]string, 0, len(environ)+5)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
}

// zipBootstrap returns a zip holding the binary as "bootstrap" with mode
// 0755 and a fixed time: nothing in the archive depends on when or where it
// was built.
func zipBootstrap(binary string) ([]byte, error) {
	f, err := os.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("lambdabuild: open binary: %w", err)
	}
	defer f.Close()

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: entryTime}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("lambdabuild: zip entry: %w", err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return nil, fmt.Errorf("lambdabuild: zip binary: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("lambdabuild: finish zip: %w", err)
	}
	return buf.Bytes(), nil
}
