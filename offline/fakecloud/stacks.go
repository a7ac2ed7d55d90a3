package fakecloud

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// This file holds the endpoints of the enforce side: `pulumi policy enable`
// puts a published pack in a policy group, and a `pulumi preview` of a
// stack on this backend receives the group's packs as required policies,
// downloads and runs them, and reports the engine events back. Paths and
// bodies are those of pkg/backend/httpstate/client/client.go (v3.274.1):
// ApplyPolicyPack, GetPolicyGroup, CreateStack, GetStack,
// ExportStackDeployment, EncryptValue, DecryptValue, CreateUpdate,
// StartUpdate, RenewUpdateLease, RecordEngineEvents, CompleteUpdate and
// DownloadPolicyPack. Only previews are served: a stack here never gets a
// deployment. The CLI ignores the lease's expiry and assumes 5 minutes,
// renewing every 5/8 minute (backend/httpstate/state.go newUpdate,
// token_source.go: TODO pulumi/pulumi#10482), so a preview that installs
// and compiles the pack on a loaded machine renews its lease.

// Update is one preview of a stack as the stand-in received it.
type Update struct {
	// Stack is "org/project/stack".
	Stack string
	// ID is the update id the stand-in assigned.
	ID string
	// Program is the create request: project, runtime, config and options.
	Program apitype.UpdateProgramRequest
	// Required are the policy packs the stand-in told the CLI to enforce.
	Required []apitype.RequiredPolicy
	// Events are the engine events the CLI recorded, in order.
	Events []apitype.EngineEvent
	// Status is the status the CLI completed the update with ("" if not).
	Status apitype.UpdateStatus

	token string
}

// PolicyEvents returns the policy violations among the update's events.
func (u Update) PolicyEvents() []apitype.PolicyEvent {
	var out []apitype.PolicyEvent
	for _, e := range u.Events {
		if e.PolicyEvent != nil {
			out = append(out, *e.PolicyEvent)
		}
	}
	return out
}

// Updates returns a copy of every update created so far, in order.
func (s *Server) Updates() []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Update, len(s.updates))
	for i, u := range s.updates {
		out[i] = *u
		out[i].Events = slices.Clone(u.Events)
		out[i].Required = slices.Clone(u.Required)
	}
	return out
}

// PolicyGroup returns the packs enabled in a policy group.
func (s *Server) PolicyGroup(name string) []apitype.PolicyPackMetadata {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.groups[name])
}

// stackRoutes adds the enforce-side endpoints to mux.
func (s *Server) stackRoutes(mux *http.ServeMux) {
	mux.HandleFunc("PATCH /api/orgs/{org}/policygroups/{group}", s.api(s.updateGroup))
	mux.HandleFunc("GET /api/orgs/{org}/policygroups/{group}", s.api(s.getGroup))
	mux.HandleFunc("POST /api/stacks/{org}/{project}", s.api(s.createStack))
	mux.HandleFunc("GET /api/stacks/{org}/{project}/{stack}", s.api(s.getStack))
	mux.HandleFunc("GET /api/stacks/{org}/{project}/{stack}/export", s.api(s.exportStack))
	// EncryptValue/DecryptValue: the stack's "service" secrets manager; the
	// engine encrypts secret outputs when it serializes the snapshot, even
	// in a preview, and decrypts a secret config value.
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/encrypt", s.api(s.encrypt))
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/decrypt", s.api(s.decrypt))
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/preview", s.api(s.createPreview))
	// The update's own calls carry its lease token, not the access token.
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/update/{id}", s.api(s.startUpdate))
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/update/{id}/events/batch", s.leased(s.recordEvents))
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/update/{id}/complete", s.leased(s.completeUpdate))
	mux.HandleFunc("POST /api/stacks/{org}/{project}/{stack}/update/{id}/renew_lease", s.leased(s.renewLease))
	// DownloadPolicyPack: the required policy's packLocation, fetched
	// without a token like an object store URL.
	mux.HandleFunc("GET /storage/policypacks/{org}/{name}/{version}", s.record(s.downloadPack))
}

func stackKey(r *http.Request) string {
	return r.PathValue("org") + "/" + r.PathValue("project") + "/" + r.PathValue("stack")
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) {
	var req apitype.UpdatePolicyGroupRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.AddPolicyPack == nil && req.RemovePolicyPack == nil {
		writeError(w, http.StatusBadRequest, "fakecloud: the stand-in only adds and removes policy packs in a policy group")
		return
	}
	group := r.PathValue("group")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := req.RemovePolicyPack; rm != nil {
		s.groups[group] = slices.DeleteFunc(s.groups[group], func(m apitype.PolicyPackMetadata) bool { return m.Name == rm.Name })
	}
	if add := req.AddPolicyPack; add != nil {
		// An empty version tag is `latest`: the newest completed version.
		var found *Pack
		for _, p := range s.packs {
			if p.Create.Name == add.Name && p.Completed && (add.VersionTag == "" || add.VersionTag == p.Create.VersionTag) &&
				(found == nil || p.Version > found.Version) {
				found = p
			}
		}
		if found == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("fakecloud: no published version %q of policy pack %q", add.VersionTag, add.Name))
			return
		}
		s.groups[group] = append(slices.DeleteFunc(s.groups[group], func(m apitype.PolicyPackMetadata) bool { return m.Name == add.Name }),
			apitype.PolicyPackMetadata{
				Name:        found.Create.Name,
				DisplayName: found.Create.DisplayName,
				Version:     found.Version,
				VersionTag:  found.Create.VersionTag,
				Config:      add.Config,
			})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	s.mu.Lock()
	packs := slices.Clone(s.groups[group])
	s.mu.Unlock()
	if packs == nil {
		packs = []apitype.PolicyPackMetadata{}
	}
	writeJSON(w, apitype.GetPolicyGroupResponse{
		Name:               group,
		IsOrgDefault:       group == apitype.DefaultPolicyGroup,
		Mode:               apitype.PolicyGroupModePreventative,
		Stacks:             []apitype.PulumiStackReference{},
		AppliedPolicyPacks: packs,
		Accounts:           []string{},
	})
}

func (s *Server) createStack(w http.ResponseWriter, r *http.Request) {
	var req apitype.CreateStackRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.State != nil {
		writeError(w, http.StatusBadRequest, "fakecloud: the stand-in does not import state into a new stack")
		return
	}
	org, project := r.PathValue("org"), r.PathValue("project")
	key := org + "/" + project + "/" + req.StackName
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stacks[key]; ok {
		writeError(w, http.StatusConflict, fmt.Sprintf("fakecloud: stack %s already exists", key))
		return
	}
	s.stacks[key] = &apitype.Stack{
		ID:          key,
		OrgName:     org,
		ProjectName: project,
		StackName:   tokens.QName(req.StackName),
		Tags:        req.Tags,
	}
	writeJSON(w, apitype.CreateStackResponse{})
}

func (s *Server) getStack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st, ok := s.stacks[stackKey(r)]
	var resp apitype.Stack
	if ok {
		resp = *st
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("fakecloud: stack %s not found", stackKey(r)))
		return
	}
	writeJSON(w, resp)
}

// exportStack answers the empty deployment of a stack that was never
// updated, which is all a stack here ever has.
func (s *Server) exportStack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, ok := s.stacks[stackKey(r)]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("fakecloud: stack %s not found", stackKey(r)))
		return
	}
	writeJSON(w, apitype.ExportStackResponse{Version: 3, Deployment: json.RawMessage(`{}`)})
}

// encrypt seals a value with the server's key, bound to the stack, so the
// snapshot holds ciphertext as with Pulumi Cloud.
func (s *Server) encrypt(w http.ResponseWriter, r *http.Request) {
	var req apitype.EncryptValueRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		writeError(w, http.StatusInternalServerError, "fakecloud: nonce: "+err.Error())
		return
	}
	writeJSON(w, apitype.EncryptValueResponse{Ciphertext: s.aead.Seal(nonce, nonce, req.Plaintext, []byte(stackKey(r)))})
}

func (s *Server) decrypt(w http.ResponseWriter, r *http.Request) {
	var req apitype.DecryptValueRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	n := s.aead.NonceSize()
	if len(req.Ciphertext) < n {
		writeError(w, http.StatusBadRequest, "fakecloud: ciphertext too short")
		return
	}
	plain, err := s.aead.Open(nil, req.Ciphertext[:n], req.Ciphertext[n:], []byte(stackKey(r)))
	if err != nil {
		writeError(w, http.StatusBadRequest, "fakecloud: ciphertext is not this stack's")
		return
	}
	writeJSON(w, apitype.DecryptValueResponse{Plaintext: plain})
}

// newAEAD returns AES-256-GCM under a fresh random key.
func newAEAD() (cipher.AEAD, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Server) createPreview(w http.ResponseWriter, r *http.Request) {
	var req apitype.UpdateProgramRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	key := stackKey(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stacks[key]; !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("fakecloud: stack %s not found", key))
		return
	}
	// Every stack is in the org's default policy group, as in Pulumi Cloud.
	var required []apitype.RequiredPolicy
	for _, m := range s.groups[apitype.DefaultPolicyGroup] {
		required = append(required, apitype.RequiredPolicy{
			Name:         m.Name,
			Version:      m.Version,
			VersionTag:   m.VersionTag,
			DisplayName:  m.DisplayName,
			PackLocation: fmt.Sprintf("%s/storage/policypacks/%s/%s/%s", s.url, s.Org, m.Name, m.VersionTag),
			Config:       m.Config,
		})
	}
	u := &Update{Stack: key, ID: fmt.Sprintf("preview-%d", len(s.updates)+1), Program: req, Required: required}
	s.updates = append(s.updates, u)
	writeJSON(w, apitype.UpdateProgramResponse{UpdateID: u.ID, RequiredPolicies: required})
}

// update finds an update of the request's stack by its id; s.mu is held.
func (s *Server) update(r *http.Request) *Update {
	for _, u := range s.updates {
		if u.Stack == stackKey(r) && u.ID == r.PathValue("id") {
			return u
		}
	}
	return nil
}

func (s *Server) startUpdate(w http.ResponseWriter, r *http.Request) {
	var req apitype.StartUpdateRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.update(r)
	if u == nil {
		writeError(w, http.StatusNotFound, "fakecloud: no such update")
		return
	}
	if u.token != "" {
		writeError(w, http.StatusConflict, "fakecloud: update already started")
		return
	}
	u.token = "lease-" + u.ID + "-" + s.Token
	// JournalVersion 0: the CLI keeps to plain checkpoints, which a preview
	// never writes.
	writeJSON(w, apitype.StartUpdateResponse{Version: 1, Token: u.token, TokenExpiration: time.Now().Add(time.Hour).Unix()})
}

// leased wraps a handler of a started update: recorded, and only with the
// update's lease token ("Authorization: update-token <token>").
func (s *Server) leased(h func(http.ResponseWriter, *http.Request, *Update)) http.HandlerFunc {
	return s.record(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		u := s.update(r)
		s.mu.Unlock()
		switch {
		case u == nil:
			writeError(w, http.StatusNotFound, "fakecloud: no such update")
		case u.token == "" || r.Header.Get("Authorization") != "update-token "+u.token:
			writeError(w, http.StatusUnauthorized, "fakecloud: missing or wrong update token")
		default:
			h(w, r, u)
		}
	})
}

// renewLease extends the lease by the requested duration (at most 300
// seconds, apitype.RenewUpdateLeaseRequest) and keeps its token.
func (s *Server) renewLease(w http.ResponseWriter, r *http.Request, u *Update) {
	var req apitype.RenewUpdateLeaseRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Duration < 1 || req.Duration > 300 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("fakecloud: lease duration %d s, want 1-300", req.Duration))
		return
	}
	writeJSON(w, apitype.RenewUpdateLeaseResponse{Token: u.token,
		TokenExpiration: time.Now().Add(time.Duration(req.Duration) * time.Second).Unix()})
}

func (s *Server) recordEvents(w http.ResponseWriter, r *http.Request, u *Update) {
	var batch apitype.EngineEventBatch
	if err := readJSON(r, &batch); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	u.Events = append(u.Events, batch.Events...)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) completeUpdate(w http.ResponseWriter, r *http.Request, u *Update) {
	var req apitype.CompleteUpdateRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	u.Status = req.Status
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) downloadPack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.pack(r.PathValue("org"), r.PathValue("name"), r.PathValue("version"))
	var archive []byte
	if p != nil && p.Completed {
		archive = p.Archive
	}
	s.mu.Unlock()
	if archive == nil {
		writeError(w, http.StatusNotFound, "fakecloud: no such published policy pack archive")
		return
	}
	w.Header().Set("Content-Type", uploadContentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(archive)))
	_, _ = w.Write(archive)
}
