package proxy

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/infra/iamdoc"
)

func TestSecretsPolicy(t *testing.T) {
	master := "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-abc-AbCdEf"
	app := "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sluice-dev-app-XyZ123"
	js, err := SecretsPolicy(master, app)
	if err != nil {
		t.Fatal(err)
	}
	d, err := iamdoc.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Statement) != 1 || !slices.Equal(d.Statement[0].Action, []string{"secretsmanager:GetSecretValue"}) || !slices.Equal(d.Statement[0].Resource, []string{master, app}) {
		t.Errorf("policy %s", js)
	}
	if err := d.CheckWildcards(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "*", "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:*"} {
		if _, err := SecretsPolicy(master, bad); err == nil {
			t.Errorf("SecretsPolicy accepted %q", bad)
		}
	}
}
