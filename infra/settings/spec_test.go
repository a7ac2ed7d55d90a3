package settings

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

// update rewrites the generated parts of Pulumi.yaml and
// docs/configuration.md from Keys instead of comparing them:
//
//	go test ./infra/settings -run 'TestProjectFile|TestConfigurationDoc' -update
var update = flag.Bool("update", false, "rewrite Pulumi.yaml's config block and the tables of docs/configuration.md from Keys")

const regenerate = "make generate"

var (
	projectFile = filepath.Join("..", "..", "Pulumi.yaml")
	configDoc   = filepath.Join("..", "..", "docs", "configuration.md")
)

// TestSpecsComplete: every key is documented, bound to a field, and its
// default is a value the key accepts.
func TestSpecsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys {
		if seen[k.Key] {
			t.Errorf("%s declared twice", k.Key)
		}
		seen[k.Key] = true
		if k.Doc == "" || k.Section == "" || k.field == nil {
			t.Errorf("%s: Doc, Section and field are required", k.Key)
		}
		if (k.Derived != "") != (k.derive != nil) || (k.Derived != "" && k.Default != "") {
			t.Errorf("%s: a derived key has words and a derive function, and no static default", k.Key)
		}
		if _, problem := k.parse(k.Default); problem != "" {
			t.Errorf("%s: default %q is refused: %s", k.Key, k.Default, problem)
		}
		if (k.Type == String || k.Type == List) && k.Values == nil && k.Allowed == "" {
			t.Errorf("%s: a string key says in Allowed what it accepts", k.Key)
		}
	}
	// Each field of a section is one key's, so a component that embeds
	// the section gets nothing the loader and the docs do not know of.
	filled := map[string]string{}
	for _, k := range Keys {
		field := k.Section + "." + k.fieldName
		if other, ok := filled[field]; ok {
			t.Errorf("%s and %s both fill %s", other, k.Key, field)
		}
		filled[field] = k.Key
	}
	for section := range reflect.TypeFor[Settings]().Fields() {
		if section.Type.Kind() != reflect.Struct {
			continue
		}
		for f := range section.Type.Fields() {
			if _, ok := filled[section.Name+"."+f.Name]; !ok {
				t.Errorf("Settings.%s.%s is filled by no key: declare its Spec next to it", section.Name, f.Name)
			}
		}
	}
	for _, r := range rules {
		if !seen[r.key] {
			t.Errorf("rule %q constrains unknown key %s", r.doc, r.key)
		}
		for _, u := range r.uses {
			if !seen[u] && u != RegionKey {
				t.Errorf("rule on %s uses unknown key %s", r.key, u)
			}
		}
	}
}

// TestProjectFile checks Pulumi.yaml against Keys: its config block is the
// one ProjectConfig renders, and the Pulumi SDK loads and validates the
// file as the CLI does (a declared default must be of its declared type).
func TestProjectFile(t *testing.T) {
	raw, err := os.ReadFile(projectFile)
	if err != nil {
		t.Fatal(err)
	}
	head, _, found := strings.Cut(string(raw), "\nconfig:\n")
	if !found {
		t.Fatalf("Pulumi.yaml has no top-level config block; regenerate it with: %s", regenerate)
	}
	got, want := string(raw)[len(head)+1:], ProjectConfig()
	if *update {
		if err := os.WriteFile(projectFile, []byte(head+"\n"+want), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	if got != want {
		t.Errorf("Pulumi.yaml's config block differs from settings.Keys (- Pulumi.yaml, + Keys); regenerate it with: %s\n%s", regenerate, doccheck.Diff(got, want))
	}

	project, err := workspace.LoadProject(projectFile)
	if err != nil {
		t.Fatalf("the Pulumi SDK refuses Pulumi.yaml: %v", err)
	}
	if project.Name.String() != Namespace {
		t.Errorf("project name %q, want %q (the config namespace)", project.Name, Namespace)
	}
	for _, k := range Keys {
		decl, ok := project.Config[k.FullKey()]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %s", k.FullKey())
			continue
		}
		if typ := decl.TypeName(); decl.IsExplicitlyTyped() && typ != k.projectType() {
			t.Errorf("%s: type %s, want %s", k.FullKey(), typ, k.projectType())
		}
	}
}

// TestProjectDefaultsChangeNothing: the engine passes Pulumi.yaml's
// declared defaults to the program as if the stack had set them. For every
// stack file and for configurations that use optional keys, loading with
// those defaults merged in must give the same settings as loading the stack
// file's keys alone.
func TestProjectDefaultsChangeNothing(t *testing.T) {
	defaults, err := ProjectDefaults(projectFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(defaults) != len(Keys) {
		t.Errorf("Pulumi.yaml gives %d defaults, want one per key (%d)", len(defaults), len(Keys))
	}
	configs := map[string]map[string]string{
		"minimal":      base(),
		"existing vpc": with(Key(KeyExistingVpcID), "vpc-0123456789abcdef0", Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0,subnet-0123456789abcdef1"),
		"jwt":          with(Key(KeyAPIAuth), "JWT", Key(KeyJWTIssuer), "https://issuer.example.com/", Key(KeyJWTAudience), "a"),
		"derived":      with(Key(KeyMaxConcurrency), "20", Key(KeyFunctionTimeout), "60", Key(KeyBatchingWindow), "5", Key(KeyProxyBorrowTimeout), "20"),
	}
	for _, stack := range []string{"dev", "prod"} {
		raw, err := readStackFileOnly(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		configs[stack] = raw
	}
	for name, config := range configs {
		t.Run(name, func(t *testing.T) {
			alone, err := LoadConfig(config)
			if err != nil {
				t.Fatal(err)
			}
			merged := maps.Clone(defaults)
			maps.Copy(merged, config)
			withDefaults, err := LoadConfig(merged)
			if err != nil {
				t.Fatalf("with Pulumi.yaml's defaults: %v", err)
			}
			if !reflect.DeepEqual(alone, withDefaults) {
				t.Errorf("Pulumi.yaml's defaults change the settings:\nalone    %+v\ndefaults %+v", alone, withDefaults)
			}
		})
	}
}

// readStackFileOnly is ReadStackConfig without the project's defaults.
func readStackFileOnly(path string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "stackfile")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lone := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(lone, raw, 0o600); err != nil {
		return nil, err
	}
	return ReadStackConfig(lone)
}

// TestConfigurationDoc checks the key table and the dev/prod table of
// docs/configuration.md against Keys and the two stack files.
func TestConfigurationDoc(t *testing.T) {
	dev, prod := load(t, "dev"), load(t, "prod")
	raw, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatalf("%v; the page holds the generated key table (%s)", err, regenerate)
	}
	doc := string(raw)
	for _, block := range []struct{ name, want string }{
		{"settings-keys", Markdown()},
		{"settings-dev-prod", DevProdMarkdown(dev, prod)},
	} {
		begin, end := "<!-- "+block.name+":begin (generated from infra/settings.Keys) -->\n", "<!-- "+block.name+":end -->"
		before, rest, ok1 := strings.Cut(doc, begin)
		got, after, ok2 := strings.Cut(rest, end)
		if !ok1 || !ok2 {
			t.Errorf("docs/configuration.md lacks the markers %q … %q", strings.TrimSpace(begin), end)
			continue
		}
		if *update {
			doc = before + begin + block.want + end + after
			continue
		}
		if got != block.want {
			t.Errorf("docs/configuration.md's %s table differs from settings.Keys (- doc, + Keys); regenerate it with: %s\n%s", block.name, regenerate, doccheck.Diff(got, block.want))
		}
	}
	if *update {
		if err := os.WriteFile(configDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDevProdNotes: a key says why dev and prod differ exactly when the
// two stacks give it different values.
func TestDevProdNotes(t *testing.T) {
	dev, prod := load(t, "dev"), load(t, "prod")
	for _, k := range Keys {
		differ := k.Format(dev) != k.Format(prod)
		switch {
		case differ && k.DevProd == "":
			t.Errorf("%s is %q in dev and %q in prod; say why in its DevProd", k.Key, k.Format(dev), k.Format(prod))
		case !differ && k.DevProd != "":
			t.Errorf("%s is %q in both stacks, but its DevProd says %q", k.Key, k.Format(dev), k.DevProd)
		}
	}
}

func load(t *testing.T, stack string) Settings {
	t.Helper()
	s, err := LoadFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMisspellingHint(t *testing.T) {
	names := []string{KeyBatchSize, KeyMaxReceiveCount, KeyDBMultiAZ}
	for _, tt := range []struct{ typo, want string }{
		{"batchsize", KeyBatchSize},
		{"BatchSize", KeyBatchSize},
		{"maxRecieveCount", KeyMaxReceiveCount},
		{"dbMultiAZ", KeyDBMultiAZ},
		{"batchSizes", KeyBatchSize},
		{"colour", ""},
		{"maxCount", ""},
	} {
		if got := closest(tt.typo, names); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.typo, got, tt.want)
		}
	}
}

// TestFieldCommentsNameTheirKeys: the `// sluice:<key>` comment on a
// section's field names the key that fills it, so a reader of the struct
// finds the Spec.
func TestFieldCommentsNameTheirKeys(t *testing.T) {
	keyOf := map[string]string{} // "Queue.Retention" -> "sluice:queueRetentionSeconds"
	for _, k := range Keys {
		keyOf[k.Section+"."+k.fieldName] = k.FullKey()
	}
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok || ts.Name.Name == "Settings" {
				return true
			}
			for _, f := range st.Fields.List {
				if f.Comment == nil || len(f.Names) != 1 {
					continue
				}
				named, _, _ := strings.Cut(strings.TrimSpace(f.Comment.Text()), ";")
				if !strings.HasPrefix(named, Namespace+":") {
					continue
				}
				seen++
				if want := keyOf[ts.Name.Name+"."+f.Names[0].Name]; named != want {
					t.Errorf("%s.%s says %s, but %q fills it", ts.Name.Name, f.Names[0].Name, named, want)
				}
			}
			return true
		})
	}
	if seen != len(Keys) {
		t.Errorf("%d fields name their key, want all %d", seen, len(Keys))
	}
}
