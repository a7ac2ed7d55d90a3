package recipe

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/testenv"
)

const page = "docs/contributing.md"

// recipeBlock returns the fenced block under <!-- recipe: name --> in page,
// without its fences.
func recipeBlock(t *testing.T, doc []byte, name string) string {
	t.Helper()
	re := regexp.MustCompile("(?s)<!-- recipe: " + regexp.QuoteMeta(name) + " -->\n```[a-z]*\n(.*?)```\n")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("%s has no recipe block %q", page, name)
	}
	return string(m[1])
}

// TestAddFieldRecipe applies the steps of "Add a field to the record" for
// its example (an optional E.164 phone number) in a copy of the repository:
// the table entry, the migration pair under the next version, and the docs
// regeneration, nothing else. Then, in the copy, the migrations' and the
// consumer's tests pass against MariaDB (with the new migration applied
// and the new column written), and a record with a phone, one without and
// one with a bad phone go through the consumer: stored with the number,
// stored with NULL, quarantined as phone_invalid. The doc-checked outputs
// of the migrator and the preview, which show the schema version, still
// match.
func TestAddFieldRecipe(t *testing.T) {
	testenv.NeedsMariaDB(t, testdb.Server().Endpoint)
	root := doccheck.Root(t)
	doc, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	entry := recipeBlock(t, doc, "field-entry")
	up, down := recipeBlock(t, doc, "migration-up"), recipeBlock(t, doc, "migration-down")
	regenerate := strings.TrimSpace(recipeBlock(t, doc, "regenerate"))

	dir := t.TempDir()
	copyRepository(t, root, dir)

	// Step 1: the entry, above the marker line.
	fields := filepath.Join(dir, "consumer/record/fields.go")
	src, err := os.ReadFile(fields)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "\t// New fields go here"
	if bytes.Count(src, []byte(marker)) != 1 {
		t.Fatalf("fields.go lacks the line %q the recipe names", marker)
	}
	src = bytes.Replace(src, []byte(marker), []byte(entry+marker), 1)
	if err := os.WriteFile(fields, src, 0o644); err != nil {
		t.Fatal(err)
	}
	// Step 2: the migration pair, under the next version.
	base := filepath.Join(dir, "migrations/sql", fmt.Sprintf("%06d_users_phone", migrations.Latest()+1))
	for name, text := range map[string]string{base + ".up.sql": up, base + ".down.sql": down} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Step 3: the docs table.
	env, args, ok := strings.Cut(regenerate, " go ")
	if !ok || !strings.HasPrefix(env, "SLUICE_UPDATE_DOCS=") {
		t.Fatalf("the regenerate step %q is not `VAR=value go …`", regenerate)
	}
	run(t, dir, []string{env}, "go", strings.Fields(args)...)

	// The harness, not a step: what a client of the new field sees.
	if err := os.WriteFile(filepath.Join(dir, "consumer/recipe_phone_test.go"), []byte(phoneTest), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, nil, "go", "test", "-count=1", "-v", "./migrations/", "./consumer/", "./consumer/record/")
	for _, want := range []string{"--- PASS: TestRecipePhone", "--- PASS: TestUpDownUpRoundTrip", "--- PASS: TestDocumentedFields", "--- PASS: TestLiveTableMigrationsNameTheirAlgorithm"} {
		if !strings.Contains(out, want) {
			t.Errorf("the tests in the copy did not report %q", want)
		}
	}
	// The doc-checked outputs that show the schema version or the
	// migrations still match, though the copy has one more.
	run(t, dir, nil, "go", "test", "-count=1", "-run", "AsDocumented", "./migrations/cmd/migrator/", "./offline/preview/")
	table, err := os.ReadFile(filepath.Join(dir, "docs/consumer.md"))
	if err != nil || !bytes.Contains(table, []byte("phone_invalid")) {
		t.Errorf("the regenerated docs table lacks phone_invalid (%v)", err)
	}
}

// run runs a command in dir and returns its combined output, failing the
// test with it when the command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in the copy: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// copyRepository copies the files git knows in root (tracked, and new ones
// not ignored) into dir, as they are in the work tree; without git (a
// source archive), every file but .git, bin and dist.
func copyRepository(t *testing.T, root, dir string) {
	t.Helper()
	var names []string
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if list, err := cmd.Output(); err == nil {
		names = strings.Split(strings.TrimRight(string(list), "\x00"), "\x00")
	} else {
		t.Logf("git ls-files: %v; copying the directory tree", err)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() && (rel == ".git" || rel == "bin" || rel == "dist") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				names = append(names, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// phoneTest goes into the copy's consumer package, beside its handler
// tests, whose helpers it uses.
const phoneTest = `package consumer_test

import (
	"database/sql"
	"testing"

	"github.com/sluicehq/sluice/consumer"
)

func TestRecipePhone(t *testing.T) {
	e := newEnv(t, consumer.Options{})
	failed := handle(t, lambdaCtx(t), e,
		msg("with", ` + "`" + `{"name":"A","email":"a@example.com","phone":"+819012345678"}` + "`" + `),
		msg("without", ` + "`" + `{"name":"B","email":"b@example.com"}` + "`" + `),
		msg("bad", ` + "`" + `{"name":"C","email":"c@example.com","phone":"090-1234-5678"}` + "`" + `))
	if failed != nil {
		t.Fatalf("BatchItemFailures %v", failed)
	}
	phones := map[string]sql.NullString{}
	rows, err := e.admin.Query("SELECT submission_id, phone FROM users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var phone sql.NullString
		if err := rows.Scan(&id, &phone); err != nil {
			t.Fatal(err)
		}
		phones[id] = phone
	}
	if len(phones) != 2 || phones["with"].String != "+819012345678" || phones["without"].Valid {
		t.Errorf("stored phones %v, want with's number and without's NULL", phones)
	}
	if q := e.quarantine(t); len(q) != 1 || q["bad"].Reason != "phone_invalid" {
		t.Errorf("quarantine %+v, want bad as phone_invalid", q)
	}
}
`
