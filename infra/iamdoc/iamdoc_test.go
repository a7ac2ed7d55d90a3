package iamdoc

import (
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	d := New(
		Allow("Queue", []string{"sqs:SendMessage"}, "arn:aws:sqs:ap-northeast-1:123456789012:q"),
		Statement{Effect: "Allow", Principal: &Principal{Service: "lambda.amazonaws.com"}, Action: []string{"sts:AssumeRole"}},
	)
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != Version || len(got.Statement) != 2 {
		t.Fatalf("parsed %+v", got)
	}
	s, ok := got.Find("Queue")
	if !ok || s.Resource[0] != "arn:aws:sqs:ap-northeast-1:123456789012:q" || s.Action[0] != "sqs:SendMessage" {
		t.Errorf("Queue statement %+v", s)
	}
	if got.Statement[1].Principal.Service != "lambda.amazonaws.com" {
		t.Errorf("principal %+v", got.Statement[1].Principal)
	}
}

func TestParseSingleStrings(t *testing.T) {
	d, err := Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if d.Statement[0].Action[0] != "s3:GetObject" || d.Statement[0].Resource[0] != "*" {
		t.Errorf("parsed %+v", d.Statement[0])
	}
}

func TestCheckWildcards(t *testing.T) {
	tests := []struct {
		name       string
		doc        Document
		exceptions []string
		want       string // substring of the error; empty for no error
	}{
		{"exact", New(Allow("A", []string{"sqs:SendMessage"}, "arn:aws:sqs:r:1:q")), nil, ""},
		{"star action", New(Allow("A", []string{"*"}, "arn:aws:sqs:r:1:q")), nil, `allows action "*"`},
		{"service star", New(Allow("A", []string{"sqs:*"}, "arn:aws:sqs:r:1:q")), nil, `allows action "sqs:*"`},
		{"star resource", New(Allow("A", []string{"ec2:DescribeSubnets"}, "*")), nil, `resource "*"`},
		{"named exception", New(Allow("Eni", []string{"ec2:DescribeSubnets"}, "*")), []string{"Eni"}, ""},
		{"exception is per statement", New(Allow("Eni", []string{"ec2:DescribeSubnets"}, "*"), Allow("B", []string{"x:Y"}, "*")), []string{"Eni"}, `"B"`},
		{"deny ignored", New(Statement{Effect: "Deny", Action: []string{"*"}, Resource: []string{"*"}}), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.doc.CheckWildcards(tt.exceptions...)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want it to contain %s", err, tt.want)
			}
		})
	}
}

func TestAssumeRole(t *testing.T) {
	d, err := Parse(AssumeRole("apigateway.amazonaws.com"))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Statement[0]
	if s.Principal == nil || s.Principal.Service != "apigateway.amazonaws.com" || s.Action[0] != "sts:AssumeRole" {
		t.Errorf("trust statement %+v", s)
	}
}
