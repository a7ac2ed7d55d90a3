package queue

import (
	"testing"

	"github.com/sluicehq/sluice/infra/iamdoc"
)

func TestDenyInsecureTransport(t *testing.T) {
	arn := "arn:aws:sqs:ap-northeast-1:123456789012:q"
	js, err := DenyInsecureTransport(arn)
	if err != nil {
		t.Fatal(err)
	}
	d, err := iamdoc.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := d.Find("DenyInsecureTransport")
	if !ok || s.Effect != "Deny" || s.Principal == nil || s.Principal.AWS != "*" || len(s.Resource) != 1 || s.Resource[0] != arn ||
		s.Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("policy %s", js)
	}
}
