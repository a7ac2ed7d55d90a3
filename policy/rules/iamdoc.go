package rules

import (
	"fmt"
	"strings"
)

// statement is one IAM policy statement, with the single-or-list fields
// normalised to lists.
type statement struct {
	Sid         string
	Effect      string
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
	Principal   []string
	// NotPrincipal is true when the statement names principals by
	// exclusion: an Allow with NotPrincipal grants everyone else.
	NotPrincipal bool
	Condition    map[string]any
}

// parseStatements reads the statements of a parsed IAM policy document.
func parseStatements(doc any) ([]statement, error) {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the policy document is a %s, not a JSON object", jsonKind(doc))
	}
	raw, ok := m["Statement"]
	if !ok {
		return nil, fmt.Errorf("the policy document has no Statement")
	}
	var list []any
	switch v := raw.(type) {
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	default:
		return nil, fmt.Errorf("the Statement is a %s, not an object or a list", jsonKind(raw))
	}
	out := make([]statement, 0, len(list))
	for i, e := range list {
		sm, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the Statement[%d] is a %s, not an object", i, jsonKind(e))
		}
		st := statement{}
		st.Sid, _ = sm["Sid"].(string)
		st.Effect, _ = sm["Effect"].(string)
		var err error
		for key, dst := range map[string]*[]string{
			"Action": &st.Action, "NotAction": &st.NotAction, "Resource": &st.Resource, "NotResource": &st.NotResource,
		} {
			if *dst, err = stringOrList(sm[key]); err != nil {
				return nil, fmt.Errorf("the Statement[%d].%s %w", i, key, err)
			}
		}
		st.Principal = principals(sm["Principal"])
		_, st.NotPrincipal = sm["NotPrincipal"]
		st.Condition, _ = sm["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out, nil
}

func stringOrList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("holds a %s, not a string", jsonKind(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("is a %s, not a string or a list of strings", jsonKind(v))
}

// principals flattens "*" or {"AWS": [...], "Service": ...} to one list.
// A bare list, which IAM rejects but some tools write, is read too.
func principals(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		l, _ := stringOrList(v)
		return l
	case map[string]any:
		var out []string
		for _, e := range v {
			l, _ := stringOrList(e)
			out = append(out, l...)
		}
		return out
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// actionWildcard reports whether an IAM action contains a wildcard.
func actionWildcard(a string) bool { return strings.ContainsAny(a, "*?") }

// isRDSConnect reports whether every action of a statement is exactly
// rds-db:connect, the one action the IAM-auth policy owns.
func isRDSConnect(actions []string) bool {
	if len(actions) == 0 {
		return false
	}
	for _, a := range actions {
		if !strings.EqualFold(a, "rds-db:connect") {
			return false
		}
	}
	return true
}

// grantsRDSConnect reports whether an action grants rds-db:connect, including
// through a wildcard such as rds-db:* or *.
func grantsRDSConnect(a string) bool {
	a = strings.ToLower(a)
	return a == "rds-db:connect" || a == "*" || a == "rds-db:*" || (actionWildcard(a) && strings.HasPrefix(a, "rds-db:"))
}
