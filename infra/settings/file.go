package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFile reads a Pulumi stack file (Pulumi.<stack>.yaml) the way the
// Pulumi engine hands its config to the program (see ReadStackConfig) and
// loads it with LoadConfig. Tools that run without the engine (the offline
// preview, the policy tests, the local pipeline) use it.
func LoadFile(path string) (Settings, error) {
	config, err := ReadStackConfig(path)
	if err != nil {
		return Settings{}, err
	}
	s, err := LoadConfig(config)
	if err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadStackConfig returns a stack's configuration as the engine passes it
// to the program in PULUMI_CONFIG: the config section of the stack file,
// then, for each key the project file (Pulumi.yaml, next to the stack file,
// when there is one) declares with a default or a value and the stack does
// not set, that default. Full keys map to values as strings (numbers and
// booleans in their YAML spelling); keys without a namespace belong to the
// project, as in Pulumi.
//
// Structured and secure values of the sluice namespace are rejected (no
// Sluice key takes one); those of other namespaces are skipped.
func ReadStackConfig(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading stack file: %w", err)
	}
	var stack struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &stack); err != nil {
		return nil, fmt.Errorf("parsing stack file %s: %w", path, err)
	}
	config := make(map[string]string, len(stack.Config))
	for key, node := range stack.Config {
		key = namespaced(key)
		if node.Kind != yaml.ScalarNode {
			if !strings.HasPrefix(key, Namespace+":") {
				continue // another package's structured setting, e.g. aws:defaultTags
			}
			return nil, fmt.Errorf("%s: %w", path, &Error{Key: key, Value: "(structured value)", Allowed: "must be a plain value (string, number or boolean)"})
		}
		config[key] = node.Value
	}
	defaults, err := ProjectDefaults(filepath.Join(filepath.Dir(path), "Pulumi.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		return config, nil
	}
	if err != nil {
		return nil, err
	}
	for key, v := range defaults {
		if _, set := config[key]; !set {
			config[key] = v
		}
	}
	return config, nil
}

// ProjectDefaults returns what a project file's config block gives every
// stack that does not set a key itself: the declared default of a key of
// the project's namespace (written `key: value` or `key: {default: …}`), or
// the value of another namespace's key.
func ProjectDefaults(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading project file: %w", err)
	}
	var project struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &project); err != nil {
		return nil, fmt.Errorf("parsing project file %s: %w", path, err)
	}
	out := map[string]string{}
	for key, node := range project.Config {
		key = namespaced(key)
		switch node.Kind {
		case yaml.ScalarNode:
			out[key] = node.Value
		case yaml.MappingNode:
			for i := 0; i+1 < len(node.Content); i += 2 {
				if name, v := node.Content[i].Value, node.Content[i+1]; (name == "default" || name == "value") && v.Kind == yaml.ScalarNode {
					out[key] = v.Value
				}
			}
		}
	}
	return out, nil
}

// namespaced gives a key without a namespace the project's.
func namespaced(key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return Key(key)
}
