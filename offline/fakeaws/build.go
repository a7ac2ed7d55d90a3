package fakeaws

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PluginName is the file name the engine looks the aws plugin up by on
// PATH.
const PluginName = "pulumi-resource-aws"

// BuildPlugin builds the stand-in provider of the module at root into
// dir/pulumi-resource-aws, reporting the pulumi-aws version go.mod requires
// (the version the program asks the engine for), and returns its path.
func BuildPlugin(root, dir string) (string, error) {
	version, err := goModVersion(root, "github.com/pulumi/pulumi-aws/sdk/v6")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, PluginName)
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X main.version="+strings.TrimPrefix(version, "v"), "./offline/fakeaws/cmd/pulumi-resource-aws")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build the stand-in aws provider: %w\n%s", err, msg)
	}
	return out, nil
}

// goModVersion reads a module's required version from go.mod.
func goModVersion(root, module string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && f[0] == module {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s not required in go.mod", module)
}
