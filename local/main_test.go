package main

import (
	"flag"
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
			c.register(fs)
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
			if cfg.Addr != "127.0.0.1:8080" {
				t.Errorf("addr %q", cfg.Addr)
			}
		})
	}
}

func TestFlagSet(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.String("db-name", "x", "")
	fs.String("other", "y", "")
	if err := fs.Parse([]string{"--other", "z"}); err != nil {
		t.Fatal(err)
	}
	if flagSet(fs, "db-name") || !flagSet(fs, "other") {
		t.Errorf("flagSet: db-name %t (want false), other %t (want true)", flagSet(fs, "db-name"), flagSet(fs, "other"))
	}
}
