// Package fakecloud is a loopback stand-in for the Pulumi Cloud endpoints
// that the real `pulumi` CLI (v3.274.1) calls to log in with an access
// token, publish a policy pack, enable it in a policy group and enforce it
// in a `pulumi preview` of a stack on that backend, and a driver that runs
// those commands against it the way a user does (PublishPolicyPack,
// Session).
//
// The endpoints and their wire format are the CLI's own: request and
// response bodies are the SDK's apitype structs (unknown JSON fields are
// rejected), and the paths are those of pkg/backend/httpstate/client in
// github.com/pulumi/pulumi v3.274.1, cited on each route. Every request is
// recorded; any other endpoint (a `pulumi up`, say) answers 404 with a
// message naming the method and path, so a CLI that starts to call
// something new fails loudly instead of being answered with made-up data.
package fakecloud

import (
	"bytes"
	"compress/gzip"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// uploadContentType is the header the stand-in's "pre-signed" upload URL
// requires, as a real object store signs the headers of an upload; the CLI
// must send back every RequiredHeaders entry of the create response.
const uploadContentType = "application/x-tar+gzip"

// unknownEndpoint is the catch-all route of the endpoints not implemented.
const unknownEndpoint = "/"

// maxBody bounds every request body the stand-in reads (a pack archive is
// tens of kilobytes).
const maxBody = 64 << 20

// Request is one HTTP request the stand-in answered.
type Request struct {
	Method string
	Path   string
	// Endpoint is the route pattern that answered ("/" for none).
	Endpoint string
	// Status is the HTTP status the stand-in answered with.
	Status int
}

// String formats the request as "METHOD /path -> status".
func (r Request) String() string { return fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status) }

// Pack is one policy pack version as the stand-in received it.
type Pack struct {
	// Org is the organization the pack was published to.
	Org string
	// Create is the body of the create request: the pack's name, version tag,
	// runtime and every policy with its enforcement level and config schema.
	Create apitype.CreatePolicyPackRequest
	// Version is the version number the stand-in assigned.
	Version int
	// Archive is the .tgz the CLI uploaded (nil until uploaded).
	Archive []byte
	// UploadHeaders are the headers of the upload request.
	UploadHeaders http.Header
	// Completed reports whether the CLI signalled the end of the publish.
	Completed bool
}

// Server is the stand-in. Start it with Start; it is safe for concurrent use.
type Server struct {
	// Org is the only organization the token's user belongs to.
	Org string
	// User is the login of the token's user.
	User string
	// Token is the access token the API endpoints accept.
	Token string

	ln   net.Listener
	srv  *http.Server
	url  string
	aead cipher.AEAD // the stacks' secrets key

	mu       sync.Mutex
	requests []Request
	packs    []*Pack
	groups   map[string][]apitype.PolicyPackMetadata // policy group → enabled packs
	stacks   map[string]*apitype.Stack               // "org/project/stack"
	updates  []*Update
}

// Start listens on a free loopback port and serves until Close. The access
// token is random; hand it to the CLI as PULUMI_ACCESS_TOKEN.
func Start(org string) (*Server, error) {
	if org == "" {
		return nil, errors.New("fakecloud: empty organization name")
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("fakecloud: access token: %w", err)
	}
	aead, err := newAEAD()
	if err != nil {
		return nil, fmt.Errorf("fakecloud: secrets key: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakecloud: listen: %w", err)
	}
	s := &Server{
		Org:    org,
		User:   org + "-publisher",
		Token:  "pul-" + hex.EncodeToString(tok),
		ln:     ln,
		url:    "http://" + ln.Addr().String(),
		aead:   aead,
		groups: map[string][]apitype.PolicyPackMetadata{},
		stacks: map[string]*apitype.Stack{},
	}
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the backend URL to log in to (`pulumi login <URL>`).
func (s *Server) URL() string { return s.url }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Requests returns every request answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Unknown returns the requests that hit no implemented endpoint.
func (s *Server) Unknown() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Endpoint == unknownEndpoint {
			out = append(out, r)
		}
	}
	return out
}

// Packs returns a copy of every pack version created so far, in order.
func (s *Server) Packs() []Pack {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pack, len(s.packs))
	for i, p := range s.packs {
		out[i] = *p
		out[i].Archive = slices.Clone(p.Archive)
		out[i].UploadHeaders = p.UploadHeaders.Clone()
	}
	return out
}

// routes maps the implemented endpoints; paths and bodies are cited from
// github.com/pulumi/pulumi pkg/backend/httpstate/client/client.go (v3.274.1).
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// GetPulumiAccountDetails: `pulumi login` validates the token here.
	mux.HandleFunc("GET /api/user", s.api(s.user))
	// GetDefaultOrg: the backend asks when no default org is configured.
	mux.HandleFunc("GET /api/user/organizations/default", s.api(s.defaultOrg))
	// GetCapabilities (backend.go doDetectCapabilities): none advertised, so
	// the CLI takes its plain code paths.
	mux.HandleFunc("GET /api/capabilities", s.api(s.capabilities))
	// PublishPolicyPack step 1: create the version, answer the upload URL.
	mux.HandleFunc("POST /api/orgs/{org}/policypacks", s.api(s.createPack))
	// PublishPolicyPack step 2: the upload to the "pre-signed" URL (no token,
	// like an object store URL).
	mux.HandleFunc("PUT /storage/policypacks/{org}/{name}/{version}", s.record(s.uploadPack))
	// PublishPolicyPack step 3 (publishPolicyPackPublishComplete).
	mux.HandleFunc("POST /api/orgs/{org}/policypacks/{name}/versions/{version}/complete", s.api(s.completePack))
	// ListPolicyPacks: `pulumi policy ls <org>`, e.g. to see whether a version
	// is published already.
	mux.HandleFunc("GET /api/orgs/{org}/policypacks", s.api(s.listPacks))
	// GetPolicyPack: `policy publish` reads the published version back.
	mux.HandleFunc("GET /api/orgs/{org}/policypacks/{name}/versions/{version}", s.api(s.getPack))
	s.stackRoutes(mux)
	mux.HandleFunc(unknownEndpoint, s.record(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf(
			"fakecloud: no such endpoint: %s %s (the stand-in implements only login, policy publish/enable and stack previews)",
			r.Method, r.URL.Path))
	}))
	return mux
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// record wraps a handler so that the request and its status are recorded.
func (s *Server) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Endpoint: r.Pattern, Status: sw.status})
		s.mu.Unlock()
	}
}

// api wraps a handler of the REST API: recorded, and only with the token,
// sent as the CLI sends it ("Authorization: token <token>").
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return s.record(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+s.Token {
			writeError(w, http.StatusUnauthorized, "fakecloud: missing or wrong access token")
			return
		}
		if org := r.PathValue("org"); org != "" && org != s.Org {
			writeError(w, http.StatusNotFound, fmt.Sprintf("fakecloud: organization %q not found (only %q exists)", org, s.Org))
			return
		}
		h(w, r)
	})
}

func (s *Server) user(w http.ResponseWriter, _ *http.Request) {
	// The CLI decodes this into its serviceUser struct (client.go); the
	// JSON names are those of its tags.
	writeJSON(w, map[string]any{
		"id":            s.User,
		"githubLogin":   s.User,
		"name":          s.User,
		"organizations": []map[string]string{{"githubLogin": s.Org, "name": s.Org}},
	})
}

func (s *Server) defaultOrg(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, apitype.GetDefaultOrganizationResponse{GitHubLogin: s.Org})
}

func (s *Server) capabilities(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, apitype.CapabilitiesResponse{Capabilities: []apitype.APICapabilityConfig{}})
}

func (s *Server) createPack(w http.ResponseWriter, r *http.Request) {
	var req apitype.CreatePolicyPackRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Name == "" || req.VersionTag == "" {
		writeError(w, http.StatusBadRequest, "fakecloud: policy pack name and versionTag are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	version := 1
	for _, p := range s.packs {
		if p.Create.Name != req.Name {
			continue
		}
		if p.Create.VersionTag == req.VersionTag && p.Completed {
			writeError(w, http.StatusConflict, fmt.Sprintf(
				"fakecloud: policy pack %s version %s is already published", req.Name, req.VersionTag))
			return
		}
		version = max(version, p.Version+1)
	}
	s.packs = append(s.packs, &Pack{Org: s.Org, Create: req, Version: version})
	writeJSON(w, apitype.CreatePolicyPackResponse{
		Version:         version,
		UploadURI:       fmt.Sprintf("%s/storage/policypacks/%s/%s/%s", s.url, s.Org, req.Name, req.VersionTag),
		RequiredHeaders: map[string]string{"Content-Type": uploadContentType},
	})
}

func (s *Server) uploadPack(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != uploadContentType {
		writeError(w, http.StatusForbidden, fmt.Sprintf(
			"fakecloud: upload Content-Type %q does not match the signed %q", ct, uploadContentType))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "fakecloud: read upload: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pack(r.PathValue("org"), r.PathValue("name"), r.PathValue("version"))
	if p == nil {
		writeError(w, http.StatusNotFound, "fakecloud: no policy pack version was created for this upload URL")
		return
	}
	p.Archive = body
	p.UploadHeaders = r.Header.Clone()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) completePack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pack(r.PathValue("org"), r.PathValue("name"), r.PathValue("version"))
	switch {
	case p == nil:
		writeError(w, http.StatusNotFound, "fakecloud: no such policy pack version")
	case p.Archive == nil:
		// The CLI does not look at the upload's status; refusing to complete
		// a version without an archive is what turns a lost upload into a
		// failed publish.
		writeError(w, http.StatusConflict, "fakecloud: the policy pack archive was not uploaded")
	default:
		p.Completed = true
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listPacks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var resp apitype.ListPolicyPacksResponse
	index := map[string]int{}
	for _, p := range s.packs {
		if !p.Completed {
			continue
		}
		i, ok := index[p.Create.Name]
		if !ok {
			i = len(resp.PolicyPacks)
			index[p.Create.Name] = i
			resp.PolicyPacks = append(resp.PolicyPacks, apitype.PolicyPackWithVersions{Name: p.Create.Name, DisplayName: p.Create.DisplayName})
		}
		resp.PolicyPacks[i].Versions = append(resp.PolicyPacks[i].Versions, p.Version)
		resp.PolicyPacks[i].VersionTags = append(resp.PolicyPacks[i].VersionTags, p.Create.VersionTag)
	}
	s.mu.Unlock()
	if resp.PolicyPacks == nil {
		resp.PolicyPacks = []apitype.PolicyPackWithVersions{}
	}
	writeJSON(w, resp)
}

func (s *Server) getPack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.pack(r.PathValue("org"), r.PathValue("name"), r.PathValue("version"))
	var resp apitype.GetPolicyPackResponse
	if p != nil && p.Completed {
		resp = apitype.GetPolicyPackResponse{
			Name:        p.Create.Name,
			DisplayName: p.Create.DisplayName,
			Version:     p.Version,
			VersionTag:  p.Create.VersionTag,
			Policies:    p.Create.Policies,
		}
	}
	s.mu.Unlock()
	if p == nil || !p.Completed {
		writeError(w, http.StatusNotFound, "fakecloud: no such published policy pack version")
		return
	}
	writeJSON(w, resp)
}

// pack finds a created version by org, name and version tag; s.mu is held.
func (s *Server) pack(org, name, tag string) *Pack {
	for _, p := range s.packs {
		if p.Org == org && p.Create.Name == name && p.Create.VersionTag == tag {
			return p
		}
	}
	return nil
}

// readJSON decodes a request body, gzip-compressed or not (the CLI
// compresses large bodies and says so in Content-Encoding).
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return fmt.Errorf("fakecloud: read body: %w", err)
	}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("fakecloud: gzip body: %w", err)
		}
		if body, err = io.ReadAll(io.LimitReader(zr, maxBody)); err != nil {
			return fmt.Errorf("fakecloud: gzip body: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("fakecloud: decode %T: %w", v, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "fakecloud: encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeError answers in the service's error shape, which the CLI decodes
// into apitype.ErrorResponse and prints as "[code] message".
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(apitype.ErrorResponse{Code: code, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
