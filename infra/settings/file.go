package settings

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFile reads a Pulumi stack file (Pulumi.<stack>.yaml) directly, the way
// the Pulumi engine would hand its config to the program, and loads it with
// LoadConfig. Tools that run without the engine (the offline preview, the
// policy tests, the local pipeline) use it.
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

// ReadStackConfig returns the config section of a stack file as full keys
// mapped to their values as strings (numbers and booleans in their YAML
// spelling). Keys without a namespace belong to the project, as in Pulumi.
// Structured and secure values of the sluice namespace are rejected (no Sluice
// key takes one); those of other namespaces are skipped.
func ReadStackConfig(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading stack file: %w", err)
	}
	var doc struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parsing stack file %s: %w", path, err)
	}
	config := make(map[string]string, len(doc.Config))
	for key, node := range doc.Config {
		if !strings.Contains(key, ":") {
			key = Namespace + ":" + key
		}
		if node.Kind != yaml.ScalarNode {
			if !strings.HasPrefix(key, Namespace+":") {
				continue // another package's structured setting, e.g. aws:defaultTags
			}
			return nil, fmt.Errorf("%s: %w", path, &Error{Key: key, Value: "(structured value)", Allowed: "must be a plain value (string, number or boolean)"})
		}
		config[key] = node.Value
	}
	return config, nil
}
