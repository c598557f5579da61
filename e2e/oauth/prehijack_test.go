package oauth_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/oauth"
)

// TestPreAccountHijack: a provider that lets its users claim any address
// without proving it (email_verified false or absent: nOAuth) must not
// let an attacker make the account of the victim's address before the
// victim registers. Otherwise the victim, refused at registration, takes
// the account back with forgot-password and verifies the address, and
// the attacker still signs in to it through the provider.
func TestPreAccountHijack(t *testing.T) {
	e := newEnv(t, envOption{oauth: []oauth.Option{oauth.WithVerifiedByDefault()}})
	e.addUser("attacker", "victim@example.com", false)
	wantDetail(t, "the attacker's sign-in with an address the provider did not verify",
		e.browser().flow("/auth/oidc/authorize", "attacker"), 400, "OAUTH_NOT_AVAILABLE_EMAIL")
	if _, err := e.m.GetByEmail(e.ctx, "victim@example.com"); !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Fatalf("a user was made for the unverified address (err %v)", err)
	}
	if registered, _, _ := e.hooks(); len(registered) != 0 {
		t.Fatalf("after-register hooks ran for %v", registered)
	}

	// The victim registers; the attacker's account does not reach them.
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodPost, e.app.URL+"/auth/register",
		strings.NewReader(`{"email":"victim@example.com","password":"the victim's own password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.browser().c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the victim's registration = %d, want 201", resp.StatusCode)
	}
	wantDetail(t, "the attacker's sign-in after the victim registered",
		e.browser().flow("/auth/oidc/authorize", "attacker"), 400, "OAUTH_USER_ALREADY_EXISTS")

	// A provider that vouches for the address still makes the user.
	e.addUser("carol-1", "carol@example.com", true)
	b := e.browser()
	b.login("carol-1")
	if me := b.me().json(t); me["email"] != "carol@example.com" || me["is_verified"] != true {
		t.Fatalf("sign-in with a verified address = %v, want carol, verified", me)
	}
}
