// Package iamdoc builds and checks IAM policy documents (identity, trust
// and resource policies) as JSON, so components write statements as Go
// values instead of concatenating strings, and tests can inspect what a
// role is allowed to do.
package iamdoc

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the policy language version every document uses.
const Version = "2012-10-17"

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document. Action and Resource are
// always lists, which IAM accepts in place of a single string.
type Statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal *Principal                   `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// Principal names who a resource or trust policy applies to.
type Principal struct {
	Service string `json:"Service,omitempty"`
	AWS     string `json:"AWS,omitempty"`
}

// Allow returns an Allow statement.
func Allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// New returns a document holding the statements.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// JSON returns the document as compact JSON.
func (d Document) JSON() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("iamdoc: marshal policy: %w", err)
	}
	return string(b), nil
}

// AssumeRole returns the trust policy that lets the AWS service (for
// example "lambda.amazonaws.com") assume a role.
func AssumeRole(service string) string {
	d := New(Statement{
		Effect:    "Allow",
		Principal: &Principal{Service: service},
		Action:    []string{"sts:AssumeRole"},
	})
	s, err := d.JSON()
	if err != nil {
		// A document of plain strings always marshals.
		panic(err)
	}
	return s
}

// Parse reads a policy document. It accepts the single-string forms of
// Action and Resource as well as lists.
func Parse(policy string) (Document, error) {
	var raw struct {
		Version   string `json:"Version"`
		Statement []struct {
			Sid       string                       `json:"Sid"`
			Effect    string                       `json:"Effect"`
			Principal *Principal                   `json:"Principal"`
			Action    stringList                   `json:"Action"`
			Resource  stringList                   `json:"Resource"`
			Condition map[string]map[string]string `json:"Condition"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(policy), &raw); err != nil {
		return Document{}, fmt.Errorf("iamdoc: parse policy: %w", err)
	}
	d := Document{Version: raw.Version}
	for _, s := range raw.Statement {
		d.Statement = append(d.Statement, Statement{
			Sid: s.Sid, Effect: s.Effect, Principal: s.Principal,
			Action: s.Action, Resource: s.Resource, Condition: s.Condition,
		})
	}
	return d, nil
}

// CheckWildcards reports every Allow statement that grants all actions of
// a service ("*" or "svc:*") or applies to every resource ("*"), unless its
// Sid is one of the named exceptions: the places where AWS offers no
// narrower form, each justified where the statement is written.
func (d Document) CheckWildcards(exceptions ...string) error {
	allowed := make(map[string]bool, len(exceptions))
	for _, sid := range exceptions {
		allowed[sid] = true
	}
	var problems []string
	for i, s := range d.Statement {
		if s.Effect != "Allow" || allowed[s.Sid] {
			continue
		}
		for _, a := range s.Action {
			if a == "*" || strings.HasSuffix(a, ":*") {
				problems = append(problems, fmt.Sprintf("statement %d (%q) allows action %q", i, s.Sid, a))
			}
		}
		for _, r := range s.Resource {
			if r == "*" {
				problems = append(problems, fmt.Sprintf("statement %d (%q) applies to resource \"*\"", i, s.Sid))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("iamdoc: wildcard grants: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Find returns the statement with the Sid, or false.
func (d Document) Find(sid string) (Statement, bool) {
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s, true
		}
	}
	return Statement{}, false
}

type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}
