package mocks

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/migrations"
)

// migratorAnswer answers an invocation as the migrator does when every
// migration applies: the event's action, the latest schema version, clean,
// and the application user it set up.
type migratorAnswer struct{}

func (migratorAnswer) Invoke(function string, payload []byte) ([]byte, error) {
	var ev migrations.Event
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("mocks: invoke %s: the payload is not a migrator event: %w", function, err)
	}
	res := migrations.Result{Action: ev.Action, Version: migrations.Latest()}
	if ev.Action == migrations.ActionUp {
		res.AppUser = ev.AppUser
		if res.AppUser == "" {
			res.AppUser = migrations.DefaultAppUser
		}
	}
	return json.Marshal(res)
}
