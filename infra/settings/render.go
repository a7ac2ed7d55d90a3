package settings

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/infra/limits"
)

// Markdown returns the key table of docs/configuration.md: every key of
// Keys with its type, default, what it accepts (the cross-field rules
// included) and its documentation, by section.
func Markdown() string {
	var b strings.Builder
	section := ""
	for _, k := range Keys {
		if k.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = k.Section
			fmt.Fprintf(&b, "**%s**\n\n| key | type | default | allowed | description |\n|---|---|---|---|---|\n", section)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Key, k.Type, k.defaultDoc(), k.allowedDoc(), k.Doc)
	}
	return b.String()
}

// DevProdMarkdown returns the table of the keys whose values differ
// between the two stacks, with the reason each Spec gives.
func DevProdMarkdown(dev, prod Settings) string {
	var b strings.Builder
	b.WriteString("| key | dev | prod | why |\n|---|---|---|---|\n")
	for _, k := range Keys {
		if d, p := k.Format(dev), k.Format(prod); d != p {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Key, cell(d), cell(p), k.DevProd)
		}
	}
	return b.String()
}

func cell(v string) string {
	if v == "" {
		return "(empty)"
	}
	return "`" + v + "`"
}

func (k Spec) defaultDoc() string {
	switch {
	case k.Derived != "":
		return k.Derived
	case k.Default == "":
		return "unset"
	}
	return "`" + k.Default + "`"
}

// allowedDoc is what the key accepts, in the table's words.
func (k Spec) allowedDoc() string {
	var parts []string
	switch {
	case k.Values != nil && k.Type != List:
		parts = append(parts, limits.OneOf(k.Values))
	case k.Type == Integer:
		parts = append(parts, k.Range.String())
	case k.Type == Number:
		parts = append(parts, fmt.Sprintf("> 0, ≤ %g", k.Max))
	case k.Type == Boolean:
		parts = append(parts, "true or false")
	default:
		parts = append(parts, k.Allowed)
	}
	if k.Type == List && k.Items != (limits.Range{}) {
		parts = append(parts, k.Items.String()+" items")
	}
	parts = append(parts, ruleDocs(k.Key)...)
	return strings.Join(parts, "; ")
}

// ProjectConfig returns the `config:` block of Pulumi.yaml that declares
// every key of Keys the way Pulumi projects do: type, description and
// default. The engine passes a declared default to the program as if the
// stack had set it, so a key whose default is derived or optional declares
// the empty string, which the loader reads as unset. Pulumi has no type for
// decimals, and the empty default of a derived integer is no integer, so
// those keys declare no type; the loader still checks them.
func ProjectConfig() string {
	block := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range Keys {
		decl := &yaml.Node{Kind: yaml.MappingNode}
		if t := k.projectType(); t != "" {
			decl.Content = append(decl.Content, scalar("type", "!!str"), scalar(t, "!!str"))
		}
		description := k.Doc
		if k.Derived != "" {
			description += " Empty means " + strings.ReplaceAll(k.Derived, "`", "") + "."
		}
		decl.Content = append(decl.Content,
			scalar("description", "!!str"), scalar(description, "!!str"),
			scalar("default", "!!str"), k.projectDefault())
		block.Content = append(block.Content, scalar(k.FullKey(), "!!str"), decl)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("config", "!!str"), block}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(err) // a tree of scalars always encodes
	}
	return b.String()
}

// projectType is the Pulumi config type of the key, "" for none.
func (k Spec) projectType() string {
	switch {
	case k.Type == Number:
		return ""
	case k.Type == List:
		return string(String) // comma-separated
	case k.Optional() && k.Type != String:
		return ""
	}
	return string(k.Type)
}

func (k Spec) projectDefault() *yaml.Node {
	switch {
	case k.Optional():
		return scalar("", "!!str")
	case k.Type == Integer:
		return scalar(k.Default, "!!int")
	case k.Type == Number:
		return scalar(k.Default, "") // the YAML resolver picks int or float
	case k.Type == Boolean:
		return scalar(k.Default, "!!bool")
	}
	return scalar(k.Default, "!!str")
}

func scalar(v, tag string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: tag} }
