package fakecloud

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// call sends one request as the CLI does (JSON, "Authorization: token").
func call(t *testing.T, s *Server, method, path, token string, body any, header map[string]string) (int, string) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = s.URL() + path
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServerRefuses checks the answers that turn a CLI misstep into a
// failed publish: unknown endpoints, no token, another org, a lost upload,
// unsigned upload headers and a republished version.
func TestServerRefuses(t *testing.T) {
	s, err := Start("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	create := apitype.CreatePolicyPackRequest{Name: "pack", VersionTag: "1.0.0", Runtime: "go"}
	if code, body := call(t, s, "POST", "/api/orgs/acme/policypacks", s.Token, create, nil); code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	tests := []struct {
		name, method, path, token string
		body                      any
		header                    map[string]string
		code                      int
		msg                       string
	}{
		{"unknown endpoint (pulumi up)", "POST", "/api/stacks/acme/sluice/dev/update", s.Token, nil, nil, 404, "no such endpoint: POST /api/stacks/acme/sluice/dev/update"},
		{"no token", "GET", "/api/user", "", nil, nil, 401, "access token"},
		{"wrong token", "GET", "/api/user", "pul-wrong", nil, nil, 401, "access token"},
		{"other org", "POST", "/api/orgs/other/policypacks", s.Token, create, nil, 404, `organization "other" not found`},
		{"unknown field", "POST", "/api/orgs/acme/policypacks", s.Token, map[string]any{"name": "p", "versionTag": "1", "bogus": 1}, nil, 400, "bogus"},
		{"no version tag", "POST", "/api/orgs/acme/policypacks", s.Token, map[string]any{"name": "p"}, nil, 400, "versionTag"},
		{"complete before upload", "POST", "/api/orgs/acme/policypacks/pack/versions/1.0.0/complete", s.Token, nil, nil, 409, "not uploaded"},
		{"upload without signed header", "PUT", "/storage/policypacks/acme/pack/1.0.0", "", []byte("x"), nil, 403, "Content-Type"},
		{"upload to an uncreated version", "PUT", "/storage/policypacks/acme/pack/9.9.9", "", []byte("x"), map[string]string{"Content-Type": uploadContentType}, 404, "no policy pack version"},
		{"read back before complete", "GET", "/api/orgs/acme/policypacks/pack/versions/1.0.0", s.Token, nil, nil, 404, "no such published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, s, tt.method, tt.path, tt.token, tt.body, tt.header)
			var e apitype.ErrorResponse
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not an error response: %v", body, err)
			}
			if code != tt.code || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, code, e.Message, tt.code, tt.msg)
			}
		})
	}
	if got := s.Unknown(); len(got) != 1 || got[0].Path != "/api/stacks/acme/sluice/dev/update" {
		t.Errorf("Unknown() = %v, want only POST /api/stacks/acme/sluice/dev/update", got)
	}

	// Then the three steps in order succeed, and the version cannot be
	// published twice.
	steps := []struct {
		method, path, token string
		body                any
		header              map[string]string
		code                int
	}{
		{"PUT", "/storage/policypacks/acme/pack/1.0.0", "", []byte("archive"), map[string]string{"Content-Type": uploadContentType}, 200},
		{"POST", "/api/orgs/acme/policypacks/pack/versions/1.0.0/complete", s.Token, nil, nil, 204},
		{"GET", "/api/orgs/acme/policypacks/pack/versions/1.0.0", s.Token, nil, nil, 200},
		{"POST", "/api/orgs/acme/policypacks", s.Token, create, nil, 409},
	}
	for _, st := range steps {
		if code, body := call(t, s, st.method, st.path, st.token, st.body, st.header); code != st.code {
			t.Errorf("%s %s = %d %s, want %d", st.method, st.path, code, body, st.code)
		}
	}
	packs := s.Packs()
	if len(packs) != 1 || !packs[0].Completed || string(packs[0].Archive) != "archive" || packs[0].Version != 1 {
		t.Errorf("Packs() = %+v, want one completed version 1 with the uploaded archive", packs)
	}
}

// TestReadJSONGzip checks that a gzip-compressed body, as the CLI sends
// large ones, is read like a plain one.
func TestReadJSONGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"name":"pack","versionTag":"2"}`))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", "http://x/", &buf)
	req.Header.Set("Content-Encoding", "gzip")
	var got apitype.CreatePolicyPackRequest
	if err := readJSON(req, &got); err != nil || got.Name != "pack" || got.VersionTag != "2" {
		t.Errorf("readJSON = %+v, %v", got, err)
	}
}

// tgz builds a pack archive the way the CLI does: every entry under package/.
func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func TestArchiveFilesRejectsEscapes(t *testing.T) {
	for _, name := range []string{"main.go", "package/../x.go", "package/./x.go", "other/main.go", "package//abs.go"} {
		if _, err := ArchiveFiles(tgz(t, map[string]string{name: "x"})); err == nil {
			t.Errorf("ArchiveFiles accepted entry %q", name)
		}
	}
	files, err := ArchiveFiles(tgz(t, map[string]string{"package/rules/a.go": "x"}))
	if err != nil || len(files) != 1 || files[0] != "rules/a.go" {
		t.Errorf("ArchiveFiles = %v, %v; want [rules/a.go]", files, err)
	}
}

// TestBuildArchiveNeedsItsModule shows the check failing on the pack as it
// was published before policy/ became its own module: the sources without a
// go.mod do not build where the pack is enforced.
func TestBuildArchiveNeedsItsModule(t *testing.T) {
	archive := tgz(t, map[string]string{
		"package/PulumiPolicy.yaml": "runtime: go\n",
		"package/main.go":           "package main\n\nimport _ \"github.com/sluicehq/sluice/policy/rules\"\n\nfunc main() {}\n",
	})
	err := BuildArchive(context.Background(), archive, nil)
	if err == nil || !strings.Contains(err.Error(), "go.mod file not found") {
		t.Errorf("BuildArchive = %v, want go.mod not found", err)
	}
}

// publishVersion runs the three publish steps for one version.
func publishVersion(t *testing.T, s *Server, tag, archive string) {
	t.Helper()
	create := apitype.CreatePolicyPackRequest{Name: "pack", DisplayName: "Pack", VersionTag: tag, Runtime: "go"}
	for _, st := range []struct {
		method, path, token string
		body                any
		header              map[string]string
	}{
		{"POST", "/api/orgs/acme/policypacks", s.Token, create, nil},
		{"PUT", "/storage/policypacks/acme/pack/" + tag, "", []byte(archive), map[string]string{"Content-Type": uploadContentType}},
		{"POST", "/api/orgs/acme/policypacks/pack/versions/" + tag + "/complete", s.Token, nil, nil},
	} {
		if code, body := call(t, s, st.method, st.path, st.token, st.body, st.header); code >= 300 {
			t.Fatalf("%s %s = %d %s", st.method, st.path, code, body)
		}
	}
}

// TestEnforceEndpoints walks the enforce side as the CLI does: enable the
// latest version, create a stack, preview it with the pack required,
// record events under the update's lease, and keep secrets per stack.
func TestEnforceEndpoints(t *testing.T) {
	s, err := Start("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	enable := func(tag string) int {
		code, _ := call(t, s, "PATCH", "/api/orgs/acme/policygroups/default-policy-group", s.Token,
			apitype.UpdatePolicyGroupRequest{AddPolicyPack: &apitype.PolicyPackMetadata{Name: "pack", VersionTag: tag}}, nil)
		return code
	}
	if code := enable(""); code != 404 {
		t.Errorf("enabling an unpublished pack = %d, want 404", code)
	}
	publishVersion(t, s, "1.0.0", "v1")
	publishVersion(t, s, "1.1.0", "v2")
	if code := enable(""); code != 204 {
		t.Fatalf("enable latest = %d", code)
	}
	if g := s.PolicyGroup("default-policy-group"); len(g) != 1 || g[0].VersionTag != "1.1.0" || g[0].Version != 2 {
		t.Errorf("latest enabled %+v, want 1.1.0 (version 2)", g)
	}

	if code, _ := call(t, s, "GET", "/api/stacks/acme/sluice/dev", s.Token, nil, nil); code != 404 {
		t.Errorf("unknown stack = %d, want 404", code)
	}
	if code, _ := call(t, s, "POST", "/api/stacks/acme/sluice", s.Token, apitype.CreateStackRequest{StackName: "dev"}, nil); code != 200 {
		t.Fatalf("create stack = %d", code)
	}
	if code, _ := call(t, s, "POST", "/api/stacks/acme/sluice", s.Token, apitype.CreateStackRequest{StackName: "dev"}, nil); code != 409 {
		t.Errorf("create the stack twice = %d, want 409", code)
	}

	code, body := call(t, s, "POST", "/api/stacks/acme/sluice/dev/preview", s.Token, apitype.UpdateProgramRequest{Name: "sluice", Runtime: "go"}, nil)
	var prev apitype.UpdateProgramResponse
	if err := json.Unmarshal([]byte(body), &prev); code != 200 || err != nil || len(prev.RequiredPolicies) != 1 {
		t.Fatalf("preview = %d %s", code, body)
	}
	if code, archive := call(t, s, "GET", prev.RequiredPolicies[0].PackLocation, "", nil, nil); code != 200 || archive != "v2" {
		t.Errorf("download %s = %d %q, want the 1.1.0 archive", prev.RequiredPolicies[0].PackLocation, code, archive)
	}
	upd := "/api/stacks/acme/sluice/dev/update/" + prev.UpdateID
	code, body = call(t, s, "POST", upd, s.Token, apitype.StartUpdateRequest{}, nil)
	var start apitype.StartUpdateResponse
	if err := json.Unmarshal([]byte(body), &start); code != 200 || err != nil || start.Token == "" {
		t.Fatalf("start = %d %s", code, body)
	}
	batch := apitype.EngineEventBatch{Events: []apitype.EngineEvent{{PolicyEvent: &apitype.PolicyEvent{PolicyName: "p", EnforcementLevel: "mandatory"}}}}
	if code, _ := call(t, s, "POST", upd+"/events/batch", s.Token, batch, nil); code != 401 {
		t.Errorf("events with the access token = %d, want 401 (the lease token is required)", code)
	}
	lease := map[string]string{"Authorization": "update-token " + start.Token}
	if code, body := call(t, s, "POST", upd+"/events/batch", "", batch, lease); code != 200 {
		t.Errorf("events = %d %s", code, body)
	}
	if code, _ := call(t, s, "POST", upd+"/renew_lease", s.Token, apitype.RenewUpdateLeaseRequest{Duration: 300}, nil); code != 401 {
		t.Errorf("renew with the access token = %d, want 401", code)
	}
	if code, _ := call(t, s, "POST", upd+"/renew_lease", "", apitype.RenewUpdateLeaseRequest{Duration: 3600}, lease); code != 400 {
		t.Errorf("renew for an hour = %d, want 400 (at most 300 s)", code)
	}
	code, body = call(t, s, "POST", upd+"/renew_lease", "", apitype.RenewUpdateLeaseRequest{Duration: 300}, lease)
	var renewed apitype.RenewUpdateLeaseResponse
	if err := json.Unmarshal([]byte(body), &renewed); code != 200 || err != nil || renewed.Token != start.Token {
		t.Errorf("renew = %d %s, want the same token back", code, body)
	}
	if code, body := call(t, s, "POST", upd+"/complete", "", apitype.CompleteUpdateRequest{Status: apitype.UpdateStatusFailed}, lease); code != 200 {
		t.Errorf("complete = %d %s", code, body)
	}
	if us := s.Updates(); len(us) != 1 || us[0].Status != apitype.UpdateStatusFailed || len(us[0].PolicyEvents()) != 1 {
		t.Errorf("Updates() = %+v, want one failed update with one policy event", us)
	}

	code, body = call(t, s, "POST", "/api/stacks/acme/sluice/dev/encrypt", s.Token, apitype.EncryptValueRequest{Plaintext: []byte("hunter2")}, nil)
	var enc apitype.EncryptValueResponse
	if err := json.Unmarshal([]byte(body), &enc); code != 200 || err != nil || bytes.Contains(enc.Ciphertext, []byte("hunter2")) {
		t.Fatalf("encrypt = %d %s", code, body)
	}
	code, body = call(t, s, "POST", "/api/stacks/acme/sluice/dev/decrypt", s.Token, apitype.DecryptValueRequest(enc), nil)
	var dec apitype.DecryptValueResponse
	if err := json.Unmarshal([]byte(body), &dec); code != 200 || err != nil || string(dec.Plaintext) != "hunter2" {
		t.Errorf("decrypt = %d %s", code, body)
	}
	if code, _ := call(t, s, "POST", "/api/stacks/acme/sluice/prod/decrypt", s.Token, apitype.DecryptValueRequest(enc), nil); code != 400 {
		t.Errorf("decrypt under another stack = %d, want 400", code)
	}
}
