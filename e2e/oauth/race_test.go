package oauth_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
)

// TestRacingFirstSignIns: ten first sign-ins of one provider account at
// once (two tabs, a double click) make one user, registered once, and all
// sign in as that user.
func TestRacingFirstSignIns(t *testing.T) {
	e := newEnv(t, envOption{})
	id := ginusers.OAuthIdentity{OAuthName: "oidc", AccountID: "race-1", Email: "race@example.com", EmailVerified: true, AccessToken: "at"}
	const n = 10
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			u, _, err := e.m.OAuthCallback(e.ctx, id, ginusers.OAuthPolicy{})
			errs[i] = err
			if err == nil {
				ids[i] = u.ID
			}
		})
	}
	close(start)
	e2etest.WaitGroup(t, &wg, 60*time.Second, "racing sign-ins")
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("racing sign-in %d = user %q, %v; want every one to succeed as user %q", i, ids[i], errs[i], ids[0])
		}
	}
	if registered, _, _ := e.hooks(); len(registered) != 1 {
		t.Fatalf("registrations %v, want exactly one", registered)
	}
}

// TestRacingAssociations: one provider account linked by ten users at
// once ends up with exactly one of them.
func TestRacingAssociations(t *testing.T) {
	e := newEnv(t, envOption{})
	const n = 10
	users := make([]*ginusers.User[Fields], n)
	for i := range users {
		u, err := e.m.Create(e.ctx, ginusers.UserCreate[Fields]{Email: "claimant" + string(rune('a'+i)) + "@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	id := ginusers.OAuthIdentity{OAuthName: "oidc", AccountID: "prize", Email: "prize@example.com", EmailVerified: true}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.m.OAuthAssociate(e.ctx, users[i], id)
		})
	}
	close(start)
	e2etest.WaitGroup(t, &wg, 60*time.Second, "racing sign-ins")
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ginusers.ErrOAuthAccountTaken):
			t.Fatalf("racing association %d error = %v, want nil or ErrOAuthAccountTaken", i, err)
		}
	}
	linked := 0
	for _, u := range users {
		got, _ := e.m.Get(e.ctx, u.ID)
		linked += len(got.OAuthAccounts)
	}
	if won != 1 || linked != 1 {
		t.Fatalf("%d racing associations: %d succeeded, %d users have the account; want 1 and 1", n, won, linked)
	}
}
