package fakecloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/policy/rules"
)

// DefaultOrg is the organization PublishPolicyPack publishes to when
// Options.Org is empty.
const DefaultOrg = "sluice-rehearsal"

// Options configures PublishPolicyPack.
type Options struct {
	// RepoRoot is the repository checkout; the pack is published from its
	// policy/ directory. Required.
	RepoRoot string
	// Pulumi is the path of the pulumi CLI (scripts/pulumi-cli.sh prints it).
	// Required.
	Pulumi string
	// PluginDirs are put first on PATH for the CLI: the directory of
	// pulumi-language-go at least, which compiles the pack to ask it for
	// its policies.
	PluginDirs []string
	// Org is the organization to publish to (DefaultOrg if empty).
	Org string
	// Policies are the policies the published pack must list (rules.All()
	// if nil).
	Policies []rules.Policy
	// Output, if set, receives the CLI's and go build's output as they run.
	Output io.Writer
}

// Result is what one publish did and what the stand-in received.
type Result struct {
	// Pack is the published version: the create request, the uploaded
	// archive and the upload's headers.
	Pack Pack
	// Files lists the archive's entries without their "package/" prefix.
	Files []string
	// Requests are all requests the stand-in answered, in order.
	Requests []Request
	// Output is the output of `pulumi login` and `pulumi policy publish`.
	Output string
	// Login, Publish and Build are the wall times of `pulumi login`,
	// `pulumi policy publish` and `go build` of the extracted archive.
	Login, Publish, Build time.Duration
}

// PublishPolicyPack starts the stand-in, logs the real CLI into it with an
// access token (`pulumi login <url>` with PULUMI_ACCESS_TOKEN, in a private
// PULUMI_HOME), runs `pulumi policy publish <org>` in RepoRoot/policy as a
// user does, and checks what the stand-in received:
//
//   - the exchange was create → upload → complete → read back, each
//     answered 2xx, and no request hit an endpoint the stand-in lacks;
//   - the create request lists exactly opts.Policies, each with its
//     enforcement level, severity, description, remediation text and
//     config schema (CheckPolicies);
//   - the uploaded archive, extracted into an empty directory, builds on its
//     own with `go build` (BuildArchive; GOFLAGS=-mod=mod, so the module
//     proxy must be reachable).
//
// The error names the first failed step, with the CLI's output; the Result
// holds what was received up to that point. To go on from a publish (enable
// the pack, preview a stack on the stand-in), use a Session. Usage:
//
//	res, err := fakecloud.PublishPolicyPack(ctx, fakecloud.Options{
//		RepoRoot:   root,
//		Pulumi:     cli,                               // scripts/pulumi-cli.sh
//		PluginDirs: []string{filepath.Dir(languageGo)}, // pulumi-language-go
//	})
func PublishPolicyPack(ctx context.Context, opts Options) (res Result, err error) {
	want := opts.Policies
	if want == nil {
		want = rules.All()
	}
	sess, err := NewSession(opts)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	defer func() {
		res.Requests = sess.Server().Requests()
		res.Output = sess.Output()
	}()
	if res.Login, err = sess.Login(ctx); err != nil {
		return res, err
	}
	if _, res.Publish, err = sess.Run(ctx, sess.PackDir(), "policy", "publish", sess.Org()); err != nil {
		return res, err
	}
	srv := sess.Server()
	if unknown := srv.Unknown(); len(unknown) > 0 {
		return res, fmt.Errorf("fakecloud: the CLI called endpoints the stand-in does not implement: %v", unknown)
	}
	packs := srv.Packs()
	if len(packs) != 1 || !packs[0].Completed {
		return res, fmt.Errorf("fakecloud: want one completed policy pack version, got %d (requests: %v)", len(packs), srv.Requests())
	}
	res.Pack = packs[0]
	if err := checkExchange(srv.Requests(), sess.Org(), res.Pack); err != nil {
		return res, err
	}
	if res.Files, err = ArchiveFiles(res.Pack.Archive); err != nil {
		return res, err
	}
	if err := CheckPolicies(res.Pack.Create.Policies, want); err != nil {
		return res, fmt.Errorf("published policies: %w", err)
	}
	start := time.Now()
	err = BuildArchive(ctx, res.Pack.Archive, sess.w)
	res.Build = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("published archive: %w", err)
	}
	return res, nil
}

// Session is the real CLI pointed at a running stand-in, with a private
// PULUMI_HOME: what PublishPolicyPack uses, and what a test that goes on
// to enable the pack and preview a stack on the stand-in uses.
type Session struct {
	opts Options
	srv  *Server
	home string
	env  []string
	out  bytes.Buffer
	w    io.Writer
}

// NewSession starts a stand-in for opts.Org and prepares the CLI's
// environment; Close stops it and removes the PULUMI_HOME.
func NewSession(opts Options) (*Session, error) {
	if opts.RepoRoot == "" || opts.Pulumi == "" {
		return nil, errors.New("fakecloud: Options.RepoRoot and Options.Pulumi are required")
	}
	if opts.Org == "" {
		opts.Org = DefaultOrg
	}
	srv, err := Start(opts.Org)
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "sluice-fakecloud-home-")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("fakecloud: %w", err)
	}
	s := &Session{opts: opts, srv: srv, home: home, env: cliEnv(home, srv.Token, opts.PluginDirs)}
	s.w = &s.out
	if opts.Output != nil {
		s.w = io.MultiWriter(&s.out, opts.Output)
	}
	return s, nil
}

// Close stops the stand-in and removes the session's PULUMI_HOME.
func (s *Session) Close() error {
	err := s.srv.Close()
	return errors.Join(err, os.RemoveAll(s.home))
}

// Server is the session's stand-in.
func (s *Session) Server() *Server { return s.srv }

// Org is the organization the session publishes to.
func (s *Session) Org() string { return s.opts.Org }

// PackDir is the repository's policy pack directory.
func (s *Session) PackDir() string { return filepath.Join(s.opts.RepoRoot, "policy") }

// Home is the session's PULUMI_HOME (credentials, installed policy packs).
func (s *Session) Home() string { return s.home }

// Output is everything the session's commands printed so far.
func (s *Session) Output() string { return s.out.String() }

// Login runs `pulumi login <url>`, which validates PULUMI_ACCESS_TOKEN
// against the stand-in and makes it the current backend.
func (s *Session) Login(ctx context.Context) (time.Duration, error) {
	_, d, err := s.Run(ctx, s.PackDir(), "login", s.srv.URL())
	return d, err
}

// Run runs the CLI with args in dir and returns its output and wall time.
// A failure is returned with the command's output.
func (s *Session) Run(ctx context.Context, dir string, args ...string) (string, time.Duration, error) {
	fmt.Fprintf(s.w, "$ (cd %s && pulumi %s)\n", dir, strings.Join(args, " "))
	var own bytes.Buffer
	cmd := exec.CommandContext(ctx, s.opts.Pulumi, args...)
	cmd.Dir, cmd.Env = dir, s.env
	cmd.Stdout = io.MultiWriter(s.w, &own)
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		return own.String(), time.Since(start), fmt.Errorf("pulumi %s: %w\n%s", strings.Join(args, " "), err, tail(own.String()))
	}
	return own.String(), time.Since(start), nil
}

// cliEnv is the caller's environment with a private PULUMI_HOME (so no real
// credentials are read or written), the stand-in's token, no update check
// (it would call api.pulumi.com) and the plugin directories first on PATH.
func cliEnv(home, token string, pluginDirs []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PULUMI_"), k == "PATH":
			continue
		}
		env = append(env, kv)
	}
	path := strings.Join(append(append([]string{}, pluginDirs...), os.Getenv("PATH")), string(os.PathListSeparator))
	return append(env,
		"PATH="+path,
		"PULUMI_HOME="+home,
		"PULUMI_ACCESS_TOKEN="+token,
		"PULUMI_SKIP_UPDATE_CHECK=true",
	)
}

// checkExchange checks that the publish ran its three steps, in order,
// each answered with success, and read the version back.
func checkExchange(reqs []Request, org string, p Pack) error {
	base := fmt.Sprintf("/api/orgs/%s/policypacks", org)
	version := fmt.Sprintf("%s/%s/versions/%s", base, p.Create.Name, p.Create.VersionTag)
	steps := []struct{ method, path string }{
		{"POST", base},
		{"PUT", fmt.Sprintf("/storage/policypacks/%s/%s/%s", org, p.Create.Name, p.Create.VersionTag)},
		{"POST", version + "/complete"},
		{"GET", version},
	}
	i := 0
	for _, r := range reqs {
		if i < len(steps) && r.Method == steps[i].method && r.Path == steps[i].path {
			if r.Status >= 300 {
				return fmt.Errorf("fakecloud: publish step %s answered %d", r, r.Status)
			}
			i++
		}
	}
	if i < len(steps) {
		return fmt.Errorf("fakecloud: publish step %s %s never happened (requests: %v)", steps[i].method, steps[i].path, reqs)
	}
	return nil
}

// tail keeps the last lines of a command's output for an error message.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
