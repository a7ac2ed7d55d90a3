package fakeaws

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/awsmodel"
	"github.com/sluicehq/sluice/testkit/lambdarie"
)

// QEMUAarch64 is the user-mode emulator that runs an arm64 bootstrap on
// another machine (Debian package qemu-user-static).
const QEMUAarch64 = "qemu-aarch64-static"

// lambdaService invokes the functions the stand-in holds.
type lambdaService struct {
	ctx context.Context
	s   *Server
}

var _ awsmodel.Invoker = lambdaService{}

// Invocation is what the stand-in records about one invocation, next to
// the function's output (logs/<function>/<n>.json and .log). The payload is
// not recorded: the migrator's carries a password.
type Invocation struct {
	Function      string    `json:"function"`
	CodeSha256    string    `json:"codeSha256"`
	Architecture  string    `json:"architecture"`
	Machine       string    `json:"machine"` // the bootstrap's ELF machine, e.g. EM_AARCH64
	Command       []string  `json:"command"` // what the runtime wrapper executes
	Database      string    `json:"database,omitempty"`
	Started       time.Time `json:"started"`
	DurationMs    int64     `json:"durationMs"`
	FunctionError string    `json:"functionError,omitempty"`
	Log           string    `json:"log"` // file name of the output, next to this record
}

// Invoke runs function with payload as Lambda's Invoke API does with
// RequestResponse: the function's own bootstrap from its stored code package,
// behind aws-lambda-rie, with its configuration.
func (l lambdaService) Invoke(function string, payload []byte) ([]byte, error) {
	ctx := l.ctx
	st, err := l.s.openStore("invoking a function")
	if err != nil {
		return nil, err
	}
	fn, err := findFunction(st, function)
	if err != nil {
		return nil, err
	}
	name := str(fn.Outputs, "name")
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("invoking Lambda Function (%s): %w", name, err)
	}
	rel, err := CodePath(str(fn.Outputs, "codeSha256"))
	if err != nil {
		return fail(err)
	}
	code, err := st.ReadFile(rel)
	if err != nil {
		return fail(fmt.Errorf("code package: %w", err))
	}

	work, err := os.MkdirTemp(st.Dir(), "run-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	task := filepath.Join(work, "task")
	if err := unzip(code, task); err != nil {
		return fail(fmt.Errorf("code package: %w", err))
	}
	handler := str(fn.Outputs, "handler")
	if handler == "" {
		handler = "bootstrap"
	}
	arch := "x86_64"
	if v, ok := fn.Outputs["architectures"]; ok && v.IsArray() && len(v.ArrayValue()) > 0 && v.ArrayValue()[0].IsString() {
		arch = v.ArrayValue()[0].StringValue()
	}
	bootstrap := filepath.Join(task, "bootstrap")
	machine, err := elfMachine(bootstrap)
	if err != nil {
		return fail(fmt.Errorf("Runtime.InvalidEntrypoint: %w", err))
	}
	command, err := runtimeCommand(arch, machine, bootstrap)
	if err != nil {
		return fail(err)
	}
	wrapper := filepath.Join(work, "runtime")
	script := "#!/bin/sh\nexec " + shellQuote(command) + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return fail(err)
	}

	env, database, err := l.environment(st, fn.Outputs, task, handler)
	if err != nil {
		return fail(err)
	}
	rie, err := lambdarie.Install()
	if err != nil {
		return fail(err)
	}
	started := time.Now()
	proc, err := lambdarie.Run(rie, wrapper, task, env)
	if err != nil {
		return fail(err)
	}
	timeout := time.Duration(num(fn.Outputs, "timeout", 3)) * time.Second
	callCtx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	resp, callErr := proc.Call(callCtx, payload)
	cancel()
	proc.Close()

	rec := Invocation{Function: name, CodeSha256: str(fn.Outputs, "codeSha256"), Architecture: arch, Machine: machine.String(),
		Command: command, Database: database, Started: started, DurationMs: time.Since(started).Milliseconds(),
		FunctionError: resp.FunctionError}
	if callErr == nil && resp.FunctionError == "" && isErrorDocument(resp.Payload) {
		rec.FunctionError = "Unhandled"
	}
	if err := saveInvocation(st, &rec, proc.Output()); err != nil {
		return fail(err)
	}
	if err := l.s.settleProxyTargets(st); err != nil {
		return fail(err)
	}
	if callErr != nil {
		return fail(fmt.Errorf("%w\n%s", callErr, proc.Output()))
	}
	if rec.FunctionError != "" {
		return nil, &awsmodel.FunctionError{Function: function, Payload: resp.Payload}
	}
	return resp.Payload, nil
}

// findFunction returns the stored function named (or with the ARN)
// function.
func findFunction(st *Store, function string) (Record, error) {
	fns, err := st.List("aws:lambda/function:Function")
	if err != nil {
		return Record{}, err
	}
	for _, f := range fns {
		if str(f.Outputs, "name") == function || str(f.Outputs, "arn") == function {
			return f, nil
		}
	}
	return Record{}, fmt.Errorf("invoking Lambda Function (%s): operation error Lambda: Invoke, ResourceNotFoundException: Function not found: %s", function, function)
}

// runtimeCommand is what the runtime wrapper executes: the bootstrap
// itself when this machine runs its architecture, else through qemu.
func runtimeCommand(arch string, machine elf.Machine, bootstrap string) ([]string, error) {
	want := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "x86_64": elf.EM_X86_64}[arch]
	if want == 0 {
		return nil, fmt.Errorf("architecture %q: want arm64 or x86_64", arch)
	}
	if machine != want {
		return nil, fmt.Errorf("Runtime.InvalidEntrypoint: the package's bootstrap is %s, the function's architecture is %s (exec format error)", machine, arch)
	}
	native := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64}[runtime.GOARCH]
	if machine == native {
		return []string{bootstrap}, nil
	}
	if machine != elf.EM_AARCH64 {
		return nil, fmt.Errorf("this machine (%s) cannot run a %s bootstrap", runtime.GOARCH, machine)
	}
	qemu, err := exec.LookPath(QEMUAarch64)
	if err != nil {
		return nil, fmt.Errorf("an arm64 bootstrap needs %s on PATH (Debian: apt-get install qemu-user-static): %w", QEMUAarch64, err)
	}
	return []string{qemu, bootstrap}, nil
}

func elfMachine(path string) (elf.Machine, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("the package's bootstrap is not an executable: %w", err)
	}
	defer f.Close()
	return f.Machine, nil
}

// environment is the function's environment as Lambda sets it, except
// that the database address and auth lead to the backing server: the
// function's proxy endpoint is resolved to the instance behind it, and the
// IAM login is replaced by the password of the secret the proxy holds for
// the function's database user, as RDS Proxy logs in with it.
func (l lambdaService) environment(st *Store, fn resource.PropertyMap, task, handler string) ([]string, string, error) {
	vars := map[string]string{}
	if e, ok := fn["environment"]; ok && e.IsObject() {
		if v, ok := e.ObjectValue()["variables"]; ok && v.IsObject() {
			for k, val := range v.ObjectValue() {
				for val.IsSecret() {
					val = val.SecretValue().Element
				}
				if val.IsString() {
					vars[string(k)] = val.StringValue()
				}
			}
		}
	}
	name := str(fn, "name")
	region := l.s.model(l.ctx).Region
	vars["AWS_REGION"] = region
	vars["AWS_DEFAULT_REGION"] = region
	vars["AWS_LAMBDA_FUNCTION_NAME"] = name
	vars["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(num(fn, "memorySize", 128))
	vars["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(num(fn, "timeout", 3))
	vars["LAMBDA_TASK_ROOT"] = task
	vars["_HANDLER"] = handler
	if lc, ok := fn["loggingConfig"]; ok && lc.IsObject() {
		if f := str(lc.ObjectValue(), "logFormat"); f != "" {
			vars["AWS_LAMBDA_LOG_FORMAT"] = f
		}
		if g := str(lc.ObjectValue(), "logGroup"); g != "" {
			vars["AWS_LAMBDA_LOG_GROUP_NAME"] = g
		}
	}

	database := ""
	if endpoint := vars[dbconn.EnvEndpoint]; endpoint != "" {
		target, targetID, password, err := l.resolveProxy(st, endpoint, vars[dbconn.EnvUser])
		if err != nil {
			return nil, "", err
		}
		if target != "" {
			addr, err := l.s.proxyAddress(st, targetID)
			if err != nil {
				return nil, "", err
			}
			vars[dbconn.EnvEndpoint] = addr
			vars[dbconn.EnvAuth] = string(dbconn.AuthPassword)
			vars[dbconn.EnvPassword] = password
			vars[dbconn.EnvTLS] = "false"
			database = target
		}
	}
	for _, kv := range l.s.cfg.FunctionEnv {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env, database, nil
}

// resolveProxy finds the proxy whose endpoint is host:port endpoint, the
// instance its target registers (and the target's id), and the password of
// user among the proxy's auth secrets. It returns "" when no proxy of this
// account has the endpoint: the function then tries the address it was
// given.
func (l lambdaService) resolveProxy(st *Store, endpoint, user string) (instance, targetID, password string, err error) {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return "", "", "", nil
	}
	proxies, err := st.List("aws:rds/proxy:Proxy")
	if err != nil {
		return "", "", "", err
	}
	for _, p := range proxies {
		if str(p.Outputs, "endpoint") != host {
			continue
		}
		proxyName := str(p.Outputs, "name")
		targets, err := st.List("aws:rds/proxyTarget:ProxyTarget")
		if err != nil {
			return "", "", "", err
		}
		for _, t := range targets {
			if str(t.Outputs, "dbProxyName") == proxyName {
				instance, targetID = str(t.Outputs, "dbInstanceIdentifier"), t.ID
			}
		}
		if instance == "" {
			return "", "", "", fmt.Errorf("RDS Proxy %s has no registered target: the function cannot reach a database", proxyName)
		}
		if l.s.cfg.MySQL.Endpoint == "" {
			return "", "", "", fmt.Errorf("the function connects through RDS Proxy %s, but no MySQL server stands in for RDS: set %s", proxyName, EnvMySQL)
		}
		auths, ok := p.Outputs["auths"]
		if ok && auths.IsArray() {
			for _, a := range auths.ArrayValue() {
				if !a.IsObject() {
					continue
				}
				value, err := secretValue(st, str(a.ObjectValue(), "secretArn"))
				if err != nil {
					continue
				}
				var login struct{ Username, Password string }
				if json.Unmarshal([]byte(value), &login) == nil && login.Username == user {
					return instance, targetID, login.Password, nil
				}
			}
		}
		// The proxy has no secret for this user: the login fails, as RDS
		// Proxy refuses a user it holds no credentials for.
		return instance, targetID, "", nil
	}
	return "", "", "", nil
}

func saveInvocation(st *Store, rec *Invocation, output string) error {
	dir := filepath.Join("logs", rec.Function)
	// Named by start time, so that the names sort in the order of the
	// invocations, however many run at once.
	base := fmt.Sprintf("%020d", rec.Started.UnixNano())
	rec.Log = base + ".log"
	if err := st.PutFile(filepath.Join(dir, rec.Log), []byte(output)); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return st.PutFile(filepath.Join(dir, base+".json"), data)
}

// Invocations returns what the store recorded about every invocation of
// function, oldest first, with each one's output.
func Invocations(stateDir, function string) ([]Invocation, []string, error) {
	dir := filepath.Join(stateDir, "logs", function)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	var recs []Invocation
	var logs []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		var r Invocation
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		out, err := os.ReadFile(filepath.Join(dir, r.Log))
		if err != nil {
			return nil, nil, err
		}
		recs, logs = append(recs, r), append(logs, string(out))
	}
	return recs, logs, nil
}

// isErrorDocument reports whether payload is the runtime's error document.
func isErrorDocument(payload []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(payload, &doc) != nil {
		return false
	}
	_, msg := doc["errorMessage"]
	_, typ := doc["errorType"]
	return msg && typ
}

// unzip extracts a code package into dir, keeping the entries' modes.
func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		path := filepath.Join(dir, f.Name)
		if !strings.HasPrefix(path, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the package", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := extract(f, path); err != nil {
			return err
		}
	}
	return nil
}

func extract(f *zip.File, path string) error {
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode().Perm()|0o400)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return errors.Join(err, w.Close())
}

// shellQuote joins words for sh, each single-quoted.
func shellQuote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// num returns the number at key as an int, or def.
func num(m resource.PropertyMap, key string, def int) int {
	v, ok := m[resource.PropertyKey(key)]
	if ok && v.IsNumber() {
		return int(v.NumberValue())
	}
	return def
}
