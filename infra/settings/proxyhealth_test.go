package settings

import (
	"testing"

	"github.com/sluicehq/sluice/internal/proxyhealth"
)

// The migrator's and the first-deploy check's advice names these settings
// in full; they must be the keys this package loads.
func TestFallbackSettingsNamedAsLoaded(t *testing.T) {
	for _, tc := range []struct{ key, advised string }{
		{KeySecretsManagerEndpoint, proxyhealth.SettingSecretsManagerEndpoint},
		{KeyAppUserAuthPlugin, proxyhealth.SettingAppUserAuthPlugin},
	} {
		if got := Key(tc.key); got != tc.advised {
			t.Errorf("Key(%q) = %q, the advice names %q", tc.key, got, tc.advised)
		}
	}
}
