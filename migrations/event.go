package migrations

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// Actions an Event can ask for.
const (
	ActionUp      = "up"
	ActionDown    = "down"
	ActionVersion = "version"
	ActionForce   = "force"
	// ActionLookup reports whether a submission with an idempotency key
	// is stored (read-only): the first-deploy check's probe.
	ActionLookup = "lookup"
)

// Event is the input of the migrator Lambda, sent by infra/ through
// aws.lambda.Invocation during `pulumi up`:
//
//	{"action":"up","appUser":"sluice_app","appPassword":"<secret>"}
//	{"action":"version"}
//	{"action":"down","steps":N}
//	{"action":"force","version":V}
//	{"action":"lookup","key":"<idempotency key>"}
type Event struct {
	Action string `json:"action"`
	// Steps is how many migrations "down" reverts.
	Steps int `json:"steps,omitempty"`
	// Version is what "force" records; a pointer so that a missing
	// version is told apart from 0 (no migration applied).
	Version *int `json:"version,omitempty"`
	// AppUser and AppPassword describe the application user "up"
	// creates or updates; AppUser defaults to DefaultAppUser.
	AppUser     string `json:"appUser,omitempty"`
	AppPassword string `json:"appPassword,omitempty"`
	// AppAuthPlugin is the plugin "up" creates the application user with
	// (EnsureAppUserWith); empty: PluginCachingSHA2.
	AppAuthPlugin string `json:"appAuthPlugin,omitempty"`
	// Key is the idempotency key "lookup" looks for.
	Key string `json:"key,omitempty"`
}

// LogValue leaves the password out of every log line that includes an
// Event.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("action", e.Action)}
	if e.Steps != 0 {
		attrs = append(attrs, slog.Int("steps", e.Steps))
	}
	if e.Version != nil {
		attrs = append(attrs, slog.Int("version", *e.Version))
	}
	if e.AppUser != "" {
		attrs = append(attrs, slog.String("appUser", e.AppUser))
	}
	if e.AppAuthPlugin != "" {
		attrs = append(attrs, slog.String("appAuthPlugin", e.AppAuthPlugin))
	}
	if e.Key != "" {
		attrs = append(attrs, slog.String("key", e.Key))
	}
	attrs = append(attrs, slog.Bool("appPasswordSet", e.AppPassword != ""))
	return slog.GroupValue(attrs...)
}

// String and GoString keep the password out of fmt's %v, %+v and %#v.
func (e Event) String() string { return e.LogValue().String() }

// GoString implements fmt.GoStringer; see String.
func (e Event) GoString() string { return "migrations.Event" + e.String() }

// Result is the migrator Lambda's output: the schema state after the
// action.
type Result struct {
	Action  string `json:"action"`
	Version int    `json:"version"`
	Dirty   bool   `json:"dirty"`
	AppUser string `json:"appUser,omitempty"`
	// Stored answers "lookup": whether a users row holds the key.
	Stored *bool `json:"stored,omitempty"`
}

// Handle performs ev against the database cfg describes. "up" migrates
// and then ensures the application user, so the user's grants always name
// tables that exist; it requires AppPassword because a deploy that skipped
// the user would leave the consumer unable to log in.
func Handle(ctx context.Context, cfg dbconn.Config, ev Event) (Result, error) {
	res := Result{Action: ev.Action}
	switch ev.Action {
	case ActionUp:
		if ev.AppUser == "" {
			ev.AppUser = DefaultAppUser
		}
		if err := ValidateUserName(ev.AppUser); err != nil {
			return res, fmt.Errorf("migrations: event: %w", err)
		}
		if ev.AppPassword == "" {
			return res, fmt.Errorf("migrations: event: appPassword is required with action %q (the migrator also sets the password of %s)", ev.Action, ev.AppUser)
		}
		if err := Up(ctx, cfg); err != nil {
			return res, err
		}
		if err := EnsureAppUserWith(ctx, cfg, ev.AppUser, ev.AppPassword, ev.AppAuthPlugin); err != nil {
			return res, err
		}
		res.AppUser = ev.AppUser
	case ActionDown:
		if ev.Steps < 1 {
			return res, fmt.Errorf(`migrations: event: action "down" needs "steps" of at least 1, got %d`, ev.Steps)
		}
		if err := Down(ctx, cfg, ev.Steps); err != nil {
			return res, err
		}
	case ActionForce:
		if ev.Version == nil {
			return res, fmt.Errorf(`migrations: event: action "force" needs "version" (0 for none)`)
		}
		if err := Force(ctx, cfg, *ev.Version); err != nil {
			return res, err
		}
	case ActionLookup:
		stored, err := Lookup(ctx, cfg, ev.Key)
		if err != nil {
			return res, err
		}
		res.Stored = &stored
	case ActionVersion:
	default:
		return res, fmt.Errorf("migrations: event: unknown action %q: want %q, %q, %q, %q or %q", ev.Action, ActionUp, ActionDown, ActionVersion, ActionForce, ActionLookup)
	}
	st, err := Version(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.Version, res.Dirty = st.Version, st.Dirty
	return res, nil
}
