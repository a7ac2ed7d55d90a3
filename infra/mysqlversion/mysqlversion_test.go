package mysqlversion

import (
	"slices"
	"strings"
	"testing"
)

func TestVersions(t *testing.T) {
	if !slices.Equal(Majors(), []string{"8.4", "8.0"}) {
		t.Errorf("Majors() = %v", Majors())
	}
	if _, ok := Lookup(Default); !ok {
		t.Errorf("the default %s is not a supported version", Default)
	}
	for _, v := range Versions {
		if v.ParameterFamily != "mysql"+v.Major {
			t.Errorf("%s: family %s, want mysql%s", v.Major, v.ParameterFamily, v.Major)
		}
		// The proxy's client authentication is named for the plugin.
		if !strings.EqualFold(v.ProxyClientAuth, "MYSQL_"+strings.TrimPrefix(v.AuthPlugin, "mysql_")) {
			t.Errorf("%s: proxy client auth %s does not match plugin %s", v.Major, v.ProxyClientAuth, v.AuthPlugin)
		}
	}
	if _, ok := Lookup("8.0.36"); ok {
		t.Error("a minor version is accepted as a major one")
	}
}
