package migrations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/testdb"
)

func TestHandleEvents(t *testing.T) {
	cfg, db := newLatin1DB(t)
	user := testdb.NewUser(t)
	const password = "handle-secret"
	v := func(n int) *int { return &n }

	// One database, events applied in order, as a deploy and an operator
	// would send them.
	for i, tc := range []struct {
		ev      Event
		want    Result
		wantErr string
	}{
		{ev: Event{Action: "version"}, want: Result{Action: "version", Version: 0}},
		{ev: Event{Action: "up", AppUser: user}, wantErr: `appPassword is required with action "up"`},
		{ev: Event{Action: "up", AppUser: "x'; DROP TABLE users; --", AppPassword: password}, wantErr: "want a letter"},
		{ev: Event{Action: "version"}, want: Result{Action: "version", Version: 0}},
		{ev: Event{Action: "up", AppUser: user, AppPassword: password}, want: Result{Action: "up", Version: Latest(), AppUser: user}},
		{ev: Event{Action: "up", AppUser: user, AppPassword: password}, want: Result{Action: "up", Version: Latest(), AppUser: user}},
		{ev: Event{Action: "version"}, want: Result{Action: "version", Version: Latest()}},
		{ev: Event{Action: "down"}, wantErr: `action "down" needs "steps" of at least 1, got 0`},
		{ev: Event{Action: "down", Steps: 2}, want: Result{Action: "down", Version: Latest() - 2}},
		{ev: Event{Action: "force"}, wantErr: `action "force" needs "version"`},
		{ev: Event{Action: "force", Version: v(99)}, wantErr: "force 99: no such migration"},
		{ev: Event{Action: "force", Version: v(Latest() - 2)}, want: Result{Action: "force", Version: Latest() - 2}},
		{ev: Event{Action: "sideways"}, wantErr: `unknown action "sideways"`},
		{ev: Event{}, wantErr: `unknown action ""`},
		{ev: Event{Action: "up", AppUser: user, AppPassword: password}, want: Result{Action: "up", Version: Latest(), AppUser: user}},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, tc.ev.Action), func(t *testing.T) {
			got, err := Handle(context.Background(), cfg, tc.ev)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Handle(%v) error = %v, want %q", tc.ev, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), password) {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle(%v): %v", tc.ev, err)
			}
			if got != tc.want {
				t.Fatalf("Handle(%v) = %+v, want %+v", tc.ev, got, tc.want)
			}
		})
	}
	checkSchema(t, db, cfg, Latest())
	if err := openAs(t, cfg, user, password).Ping(); err != nil {
		t.Fatalf("the application user cannot log in after up: %v", err)
	}
}

func TestHandleUpDefaultsTheAppUser(t *testing.T) {
	// DefaultAppUser is server-global; only check that the default is
	// filled in and validated, without creating it: the missing password
	// stops the event before anything is created.
	cfg, _ := newLatin1DB(t)
	_, err := Handle(context.Background(), cfg, Event{Action: "up"})
	if err == nil || !strings.Contains(err.Error(), "sets the password of "+DefaultAppUser) {
		t.Fatalf("Handle(up without user) = %v, want it to name %s", err, DefaultAppUser)
	}
}

func TestEventNeverShowsThePassword(t *testing.T) {
	ev := Event{Action: "up", AppUser: "sluice_app", AppPassword: "do-not-print-me"}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("event", "event", ev)
	slog.New(slog.NewTextHandler(&b, nil)).Info("event", "event", ev)
	fmt.Fprintf(&b, "%v %+v %#v %s", ev, ev, ev, ev)
	out := b.String()
	if strings.Contains(out, "do-not-print-me") {
		t.Fatalf("password in output: %s", out)
	}
	if !strings.Contains(out, `"appPasswordSet":true`) || !strings.Contains(out, "sluice_app") {
		t.Fatalf("event logged without its useful fields: %s", out)
	}
}

func TestHandleLookup(t *testing.T) {
	cfg, admin := testdb.Open(t, dbconn.PoolOptions{})
	ctx := context.Background()
	if _, err := Handle(ctx, cfg, Event{Action: ActionUp, AppUser: testdb.NewUser(t), AppPassword: "lookup-secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("INSERT INTO users (name, email, submission_id) VALUES ('probe', 'probe@example.com', 'key:probe-1')"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key     string
		stored  bool
		wantErr string
	}{
		{key: "probe-1", stored: true},
		{key: "probe-2", stored: false},
		{key: "key:probe-1", stored: false}, // the prefix is added, never taken from the caller
		{key: "", wantErr: `"idempotency_key" is empty`},
		{key: "a b", wantErr: "has a character other than"},
	} {
		res, err := Handle(ctx, cfg, Event{Action: ActionLookup, Key: tc.key})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("lookup %q = %+v, %v; want error %q", tc.key, res, err, tc.wantErr)
			}
			continue
		}
		if err != nil || res.Stored == nil || *res.Stored != tc.stored || res.Version != Latest() {
			t.Errorf("lookup %q = %+v, %v; want stored %t at version %d", tc.key, res, err, tc.stored, Latest())
		}
	}
}
