package settings

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// checkSection checks the fields of one section of s (a Settings field:
// "Queue", …) the way the loader checks the keys they come from, and the
// rules whose keys all belong to that section. It is what each section's
// Validate runs, so a component's Args, which embed a section, are checked
// against the very declarations a stack file is: a bound is written once.
// Every problem is reported, each naming the field first
// ("Queue.MaxReceiveCount: …") and then its key.
func checkSection(s Settings, section string) error {
	var errs []error
	failed := map[string]bool{}
	for _, k := range Keys {
		if k.Section != section {
			continue
		}
		if shown, problem := k.check(s); problem != "" {
			failed[k.Key] = true
			errs = append(errs, k.invalid(shown, problem))
		}
	}
	// A rule applies when every key it reads is this section's and passed.
	outside := func(name string) bool {
		k, ok := spec(name)
		return !ok || k.Section != section || failed[name]
	}
	set := func(name string) bool {
		k, ok := spec(name)
		return ok && k.Format(s) != ""
	}
	for _, r := range rules {
		if outside(r.key) || slices.ContainsFunc(r.uses, outside) {
			continue
		}
		if problem := r.check(&s, set); problem != "" {
			k, _ := spec(r.key)
			errs = append(errs, k.invalid(k.Format(s), problem))
		}
	}
	return errors.Join(errs...)
}

// invalid is the problem with the key's field, naming the field first.
func (k Spec) invalid(shown, problem string) error {
	return fmt.Errorf("%s.%s: %q (%s) %s", k.Section, k.fieldName, shown, k.FullKey(), problem)
}

// check returns the key's field in s as a stack file would write it, and
// what is wrong with it ("" when nothing): it must be a value the key
// accepts.
func (k Spec) check(s Settings) (shown, problem string) {
	if d, ok := k.field(&s).(*time.Duration); ok && *d%k.unit != 0 {
		return d.String(), fmt.Sprintf("must be a whole number of %v", k.unit)
	}
	raw := k.Format(s)
	if raw == "" && k.Optional() {
		return raw, ""
	}
	_, problem = k.parse(raw)
	return raw, problem
}
