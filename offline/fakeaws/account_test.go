package fakeaws

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/status"
)

const typeFunction = "aws:lambda/function:Function"

// zipArchive is a function's code package as the engine sends it.
func zipArchive(t *testing.T) resource.PropertyValue {
	t.Helper()
	bootstrap, err := resource.NewTextAsset("#!/bin/sh\n")
	if err != nil {
		t.Fatal(err)
	}
	a, err := resource.NewAssetArchive(map[string]any{"bootstrap": bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	return resource.NewProperty(a)
}

func function(t *testing.T, name string, reserved float64) resource.PropertyMap {
	return resource.PropertyMap{"name": resource.NewProperty(name), "code": zipArchive(t),
		"reservedConcurrentExecutions": resource.NewProperty(reserved)}
}

// TestReservationsWithinTheAccountsQuota: a function's reservation must
// leave min(quota, 100) unreserved, counting the account's other
// functions; a refused create leaves the function in the account and tells
// the engine so, a refused update changes nothing.
func TestReservationsWithinTheAccountsQuota(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		quota    int
		others   float64 // another function's reservation; -1: none
		reserved float64
		refused  bool
		minimum  string
	}{
		{10, -1, -1, false, ""},   // no reservation: a young account deploys
		{10, -1, 1, true, "[10]"}, // any reservation is refused
		{50, -1, 2, true, "[50]"},
		{1000, -1, 12, false, ""},   // prod in a standard account
		{112, -1, 12, false, ""},    // exactly 100 left
		{112, 1, 12, true, "[100]"}, // the others' reservations count
		{1000, 890, 12, true, "[100]"},
	}
	for _, tt := range tests {
		srv := NewServer("6.83.4", Config{StateDir: t.TempDir(), LambdaConcurrency: tt.quota})
		if tt.others >= 0 {
			if _, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typeFunction, "other"), Properties: mustMarshal(t, function(t, "other", tt.others))}); err != nil {
				t.Fatalf("quota %d: other function: %v", tt.quota, err)
			}
		}
		_, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typeFunction, "fn"), Properties: mustMarshal(t, function(t, "fn", tt.reserved))})
		if !tt.refused {
			if err != nil {
				t.Errorf("quota %d, others %v, reserving %v: %v", tt.quota, tt.others, tt.reserved, err)
			}
			continue
		}
		want := "InvalidParameterValueException: Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of " + tt.minimum + "."
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "setting Lambda Function (fn) concurrency") {
			t.Errorf("quota %d, others %v, reserving %v: %v, want %q", tt.quota, tt.others, tt.reserved, err, want)
			continue
		}
		var partial *pulumirpc.ErrorResourceInitFailed
		for _, d := range status.Convert(err).Details() {
			if p, ok := d.(*pulumirpc.ErrorResourceInitFailed); ok {
				partial = p
			}
		}
		if partial == nil || partial.GetId() != "fn" {
			t.Errorf("quota %d: the refused create does not report the created function: %v", tt.quota, status.Convert(err).Details())
		}
		if _, ok, _ := srv.store.Get(typeFunction, "fn"); !ok {
			t.Errorf("quota %d: the function is not in the account after the refused reservation", tt.quota)
		}
	}

	// An update that reserves is refused the same way.
	srv := NewServer("6.83.4", Config{StateDir: t.TempDir(), LambdaConcurrency: 10})
	in := function(t, "fn", -1)
	resp, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typeFunction, "fn"), Properties: mustMarshal(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	news := function(t, "fn", 2)
	_, err = srv.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn(typeFunction, "fn"), Id: resp.GetId(), Olds: resp.GetProperties(),
		OldInputs: mustMarshal(t, in), News: mustMarshal(t, news)})
	if err == nil || !strings.Contains(err.Error(), "minimum value of [10]") {
		t.Errorf("update reserving 2 in an account of 10: %v", err)
	}
	r, _, _ := srv.store.Get(typeFunction, resp.GetId())
	if n, ok := r.Outputs["reservedConcurrentExecutions"]; !ok || n.NumberValue() != -1 {
		t.Errorf("after the refused update the function reserves %v", n)
	}
}

// TestFinalSnapshotNameOnlyOnce: deleting an instance whose final snapshot
// identifier exists is refused with DBSnapshotAlreadyExists, before
// anything is deleted.
func TestFinalSnapshotNameOnlyOnce(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer("6.83.4", Config{StateDir: dir})
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	taken, _ := json.Marshal(Snapshot{Identifier: "sluice-prod-db-final", Instance: "sluice-prod-db", Created: time.Now()})
	if err := st.PutFile(snapshotPath("sluice-prod-db-final"), taken); err != nil {
		t.Fatal(err)
	}
	state := resource.PropertyMap{"identifier": resource.NewProperty("sluice-prod-db"), "skipFinalSnapshot": resource.NewProperty(false),
		"finalSnapshotIdentifier": resource.NewProperty("Sluice-Prod-DB-Final"), "dbName": resource.NewProperty("sluice"), "username": resource.NewProperty("admin")}
	_, err = srv.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urn("aws:rds/instance:Instance", "db"), Id: "sluice-prod-db", Properties: mustMarshal(t, state)})
	want := "DBSnapshotAlreadyExists: Cannot create the snapshot because a snapshot with the identifier sluice-prod-db-final already exists."
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("delete with a taken snapshot name: %v, want %q", err, want)
	}
}

func TestWarmupSetting(t *testing.T) {
	for v, want := range map[string]Warmup{"": DefaultWarmup, "0,0": {}, "3s,2": {Refuse: 3 * time.Second, Reject: 2}, " 500ms , 0 ": {Refuse: 500 * time.Millisecond}} {
		got, err := parseWarmup(v)
		if err != nil || got != want {
			t.Errorf("parseWarmup(%q) = %v, %v, want %v", v, got, err, want)
		}
	}
	for _, bad := range []string{"3s", "x,1", "3s,-1", "-1s,1"} {
		if _, err := parseWarmup(bad); err == nil || !strings.Contains(err.Error(), EnvProxyWarmup) {
			t.Errorf("parseWarmup(%q) = %v, want an error naming %s", bad, err, EnvProxyWarmup)
		}
	}
}
