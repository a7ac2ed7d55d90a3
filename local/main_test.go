package main

import (
	"flag"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func TestConfigReadsTheStackAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c common)
	}{
		{name: "defaults", args: []string{"--stack-file", "../Pulumi.dev.yaml"}},
		{name: "unknown stack", args: []string{"--stack", "nope"}, wantErr: "Pulumi.nope.yaml"},
		{name: "database without a port", args: []string{"--stack-file", "../Pulumi.dev.yaml", "--db", "localhost"}, wantErr: "host:port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var c common
			c.register(fs, pipelineDBName, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := c.config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Settings
			if s.Consumer.MaxConcurrency < 1 || s.Consumer.BatchSize < 1 || s.Queue.MaxReceiveCount < 1 || s.API.ThrottleBurst < 1 {
				t.Errorf("settings not loaded from the stack file: %+v", s)
			}
			if cfg.DB.Endpoint != "127.0.0.1:3306" || cfg.DB.Name != "sluice_local" || cfg.DB.User != "root" || cfg.DB.TLS {
				t.Errorf("database defaults %v", cfg.DB)
			}
		})
	}
}

// TestHelp: -help exits 0 for every command, the top-level help names
// both commands, and each command lists exactly its own flags, with the
// defaults it uses.
func TestHelp(t *testing.T) {
	common := []string{"stack", "stack-file", "db", "db-name", "db-user", "sqs-endpoint", "sqs-engine", "moto-log", "v"}
	tests := []struct {
		name        string
		args        []string
		flags       []string          // exactly these, besides common
		defaults    map[string]string // flag → the "(default …)" it shows; "" for none
		contains    []string
		notContains []string
	}{
		{
			name: "local", args: []string{"-help"},
			flags:    []string{"addr", "status-addr", "drain-timeout", "every"},
			defaults: map[string]string{"db-name": `"sluice_local"`, "addr": `"127.0.0.1:8080"`, "drain-timeout": "5m0s", "every": "1s"},
			contains: []string{"go run ./local [flags]", "go run ./local spike [flags]"},
		},
		{name: "local -h", args: []string{"-h"}, flags: []string{"addr", "status-addr", "drain-timeout", "every"}, contains: []string{"spike"}},
		{name: "local --help", args: []string{"--help"}, flags: []string{"addr", "status-addr", "drain-timeout", "every"}, contains: []string{"spike"}},
		{
			name: "spike", args: []string{"spike", "--help"},
			flags: []string{"n", "c", "retries", "keys", "retry-fraction", "per-request", "url", "status-url", "json", "plot", "drain-timeout"},
			// The database depends on -url, so the flag says it in words.
			defaults:    map[string]string{"db-name": "", "n": "10000", "c": "200", "drain-timeout": "10m0s", "url": ""},
			contains:    []string{"go run ./local spike [flags]", "unset: sluice_spike", "the running pipeline's sluice_local"},
			notContains: []string{"-url go run", "`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tt.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, want 0; stderr %q", code, stderr.String())
			}
			out := stdout.String()
			shown := shownFlags(out)
			want := append(slices.Clone(common), tt.flags...)
			if got := slices.Sorted(maps.Keys(shown)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("flags shown %v, want %v", got, slices.Sorted(slices.Values(want)))
			}
			for name, def := range tt.defaults {
				if got := shown[name]; got != def {
					t.Errorf("-%s shows default %q, want %q", name, got, def)
				}
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("help lacks %q:\n%s", c, out)
				}
			}
			for _, c := range tt.notContains {
				if strings.Contains(out, c) {
					t.Errorf("help contains %q:\n%s", c, out)
				}
			}
		})
	}
}

// shownFlags parses flag.PrintDefaults output: flag name → the text of its
// "(default …)", "" when it shows none.
func shownFlags(help string) map[string]string {
	flags := map[string]string{}
	var last string
	for line := range strings.SplitSeq(help, "\n") {
		if name, ok := strings.CutPrefix(line, "  -"); ok {
			last = strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '\t' })[0]
			flags[last] = ""
			line = name
		}
		if _, def, ok := strings.Cut(line, "(default "); ok && last != "" {
			flags[last] = strings.TrimSuffix(strings.TrimSpace(def), ")")
		}
	}
	return flags
}

func TestBadCommandLines(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown command", []string{"spikes"}, `unknown command "spikes"`},
		{"stray argument", []string{"--stack", "dev", "extra"}, `unexpected argument "extra"`},
		{"bad value", []string{"spike", "-n", "many"}, `invalid value "many"`},
		{"flag of the other command", []string{"spike", "-status-addr", ":9"}, "flag provided but not defined: -status-addr"},
		// The values below parse but cannot run. The database and SQS
		// endpoint named cannot be reached: had the command started
		// anything, it would fail there with exit 1.
		{"no records", []string{"spike", "-n", "0", "--db", "127.0.0.1:1", "--sqs-endpoint", "http://127.0.0.1:1"}, "spike: -n 0: want at least 1 record"},
		{"negative clients", []string{"spike", "-c", "-5", "--db", "127.0.0.1:1", "--sqs-endpoint", "http://127.0.0.1:1"}, "spike: -c -5: want at least 1 client"},
		{"retry fraction above 1", []string{"spike", "--retry-fraction", "2", "--db", "127.0.0.1:1", "--sqs-endpoint", "http://127.0.0.1:1"}, "spike: -retry-fraction 2: want a number from 0 to 1"},
		{"no records per request", []string{"spike", "--per-request", "0", "--db", "127.0.0.1:1", "--sqs-endpoint", "http://127.0.0.1:1"}, "spike: -per-request 0: want at least 1 record"},
		{"unknown engine", []string{"--stack-file", "../Pulumi.dev.yaml", "--sqs-engine", "sqlite", "--db", "127.0.0.1:1"}, `-sqs-engine "sqlite": want goaws or moto`},
		{"missing stack file", []string{"--stack-file", "../Pulumi.staging.yaml", "--db", "127.0.0.1:1"}, "-stack-file ../Pulumi.staging.yaml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tt.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("a usage error wrote to stdout: %q", stdout.String())
			}
		})
	}
}

// A stack that is not there is named with the stacks that are, from the
// directory a newcomer runs the command in.
func TestUnknownStackNamesTheStacks(t *testing.T) {
	t.Chdir("..")
	var stdout, stderr strings.Builder
	for _, args := range [][]string{{"--stack", "staging"}, {"spike", "--stack", "staging"}} {
		if code := run(append(args, "--db", "127.0.0.1:1"), &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	want := "local: -stack staging: no Pulumi.staging.yaml; the stacks here are dev, prod\n"
	if got := stderr.String(); got != want+want {
		t.Errorf("stderr %q, want %q twice", got, want)
	}
}

func TestSpikeDatabase(t *testing.T) {
	tests := []struct{ named, url, want string }{
		{"", "", spikeDBName},
		{"", "http://127.0.0.1:8080", pipelineDBName},
		{"mine", "", "mine"},
		{"mine", "http://127.0.0.1:8080", "mine"},
	}
	for _, tt := range tests {
		if got := spikeDatabase(tt.named, tt.url); got != tt.want {
			t.Errorf("spikeDatabase(%q, %q) = %q, want %q", tt.named, tt.url, got, tt.want)
		}
	}
}

func TestSetGCPercentLeavesGOGCToTheUser(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc string
		want int // the percent in force afterwards
	}{{"", gcPercent}, {"100", 100}, {"off", 100}, {"50", 100}} {
		debug.SetGCPercent(100)
		applied := setGCPercent(func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != tc.want || applied != (tc.gogc == "") {
			t.Errorf("GOGC=%q: percent %d (applied %t), want %d", tc.gogc, got, applied, tc.want)
		}
	}
}
