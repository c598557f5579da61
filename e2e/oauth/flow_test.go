package oauth_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/oauth"
)

// TestNewUserBearer: authorize → provider → callback → /users/me with the
// bearer backend, for an account the app has never seen.
func TestNewUserBearer(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("alice-1", "alice@example.com", true)
	b := e.browser()

	a := b.get("/auth/oidc/authorize")
	if a.status != http.StatusOK || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /auth/oidc/authorize = %d %s (Cache-Control %q), want 200, no-store", a.status, a.body, a.header.Get("Cache-Control"))
	}
	set := a.header.Get("Set-Cookie")
	for _, attr := range []string{"__Host-fastapiusersoauthcsrf=", "Path=/", "Max-Age=600", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, attr) {
			t.Fatalf("authorize Set-Cookie = %q, want %s", set, attr)
		}
	}
	authURL, _ := url.Parse(a.json(t)["authorization_url"].(string))
	q := authURL.Query()
	if !strings.HasPrefix(authURL.String(), e.op.Issuer()+"/authorize?") || q.Get("response_type") != "code" || q.Get("client_id") != "app" ||
		q.Get("redirect_uri") != e.app.URL+"/auth/oidc/callback" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("scope") != "openid email profile" {
		t.Fatalf("authorization_url = %s, want the provider's endpoint with code, the client, the exact redirect URI, PKCE S256, a nonce, a state and the scopes", authURL)
	}
	if csrf := b.cookie("__Host-fastapiusersoauthcsrf"); csrf == "" || strings.Contains(authURL.String(), csrf) {
		t.Fatalf("the CSRF cookie %q is missing, or appears in the authorization URL", csrf)
	}

	cb := b.signIn(authURL.String(), "alice-1")
	a = b.get(cb.String())
	if a.status != http.StatusOK || a.json(t)["token_type"] != "bearer" {
		t.Fatalf("callback = %d %s, want 200 with a bearer token", a.status, a.body)
	}
	if b.cookie("__Host-fastapiusersoauthcsrf") != "" {
		t.Fatalf("the CSRF cookie outlives the callback, want it expired (a flow is used once)")
	}
	b.bearer = a.json(t)["access_token"].(string)
	me := b.me()
	if me.status != http.StatusOK {
		t.Fatalf("GET /users/me = %d %s, want 200", me.status, me.body)
	}
	u := me.json(t)
	if u["email"] != "alice@example.com" || u["is_verified"] != false || u["is_active"] != true {
		t.Fatalf("GET /users/me = %s, want alice, active, not verified (verified-by-default is off)", me.body)
	}
	accs, _ := u["oauth_accounts"].([]any)
	if len(accs) != 1 || accs[0].(map[string]any)["oauth_name"] != "oidc" || accs[0].(map[string]any)["account_id"] != "alice-1" {
		t.Fatalf("GET /users/me oauth_accounts = %v, want the oidc account alice-1", u["oauth_accounts"])
	}
	if strings.Contains(string(me.body), "token") {
		t.Fatalf("GET /users/me = %s: provider tokens must never reach a client", me.body)
	}
	registered, logins, _ := e.hooks()
	if !slices.Equal(registered, []string{"alice@example.com"}) || !slices.Equal(logins, []string{"alice@example.com"}) {
		t.Fatalf("hooks: registered %v, logins %v; want alice once each", registered, logins)
	}
	// Stored sealed: the provider's access token is not in the database.
	stored, err := e.store.GetByEmail(e.ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if at := stored.OAuthAccounts[0].AccessToken; !strings.HasPrefix(at, "gu1.") {
		t.Fatalf("stored access token = %q, want it sealed", at)
	}
	if tok, err := e.m.OAuthTokens(stored, "oidc", "alice-1"); err != nil || tok.AccessToken == "" {
		t.Fatalf("OAuthTokens() = %+v, %v; want the provider's access token", tok, err)
	}
	if basic, post := e.op.ClientAuth(); basic != 1 || post != 0 {
		t.Fatalf("token requests authenticated with basic %d, post %d; want client_secret_basic, as the provider advertises", basic, post)
	}
}

// TestNewUserCookie: the same flow through the cookie backend, then a
// redirect after sign-in to an allowed target.
func TestNewUserCookie(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("bob-1", "bob@example.com", true)
	b := e.browser()
	a := b.flow("/auth/oidc-cookie/authorize", "bob-1")
	if a.status != http.StatusNoContent || b.cookie("ginusersauth") == "" {
		t.Fatalf("cookie callback = %d %s (auth cookie %q), want 204 with the cookie", a.status, a.body, b.cookie("ginusersauth"))
	}
	if me := b.me(); me.status != http.StatusOK || me.json(t)["email"] != "bob@example.com" {
		t.Fatalf("GET /users/me with the cookie = %d %s, want bob", me.status, me.body)
	}

	b2 := e.browser()
	a = b2.flow("/auth/oidc-cookie/authorize?redirect=%2Faccount", "bob-1")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" || b2.cookie("ginusersauth") == "" {
		t.Fatalf("callback of a flow with redirect=/account = %d, Location %q, cookie %q; want 303 to /account with the cookie",
			a.status, a.header.Get("Location"), b2.cookie("ginusersauth"))
	}
	a = b2.flow("/auth/oidc-cookie/authorize?redirect="+url.QueryEscape(e.app.URL+"/welcome"), "bob-1")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != e.app.URL+"/welcome" {
		t.Fatalf("callback of a flow with an allowed absolute redirect = %d, Location %q; want 303", a.status, a.header.Get("Location"))
	}
}

// TestRedirectAllowlist: only the targets listed, exactly.
func TestRedirectAllowlist(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	for _, target := range []string{
		"//evil.example", "https://evil.example", "https://evil.example/account",
		strings.Replace(e.app.URL, "https://", "https://evil.example@", 1) + "/welcome",
		e.app.URL + ".evil.example/welcome", e.app.URL + "/welcome.evil", e.app.URL + "/welcome/../admin",
		e.app.URL + "/welcome?x=1", e.app.URL + "/welcome#x", "/\\evil.example", "/%2F%2Fevil.example",
		"/account/../admin", "/Account", "javascript:alert(1)", "", " /account",
	} {
		a := b.get("/auth/oidc-cookie/authorize?redirect=" + url.QueryEscape(target))
		if a.status != http.StatusUnprocessableEntity {
			t.Fatalf("authorize with redirect=%q = %d %s, want 422", target, a.status, a.body)
		}
	}
	// The bearer sign-in takes no redirect at all.
	if a := b.get("/auth/oidc/authorize?redirect=%2Faccount"); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("bearer authorize with a redirect = %d %s, want 422", a.status, a.body)
	}
}

// TestReturningUser: a second sign-in finds the user by the account, not
// by address, and runs no registration.
func TestReturningUser(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("carol-1", "carol@example.com", true)
	first := e.browser()
	first.login("carol-1")
	id1 := first.me().json(t)["id"]
	e.addUser("carol-1", "carol.new@example.com", true) // the address changed at the provider
	second := e.browser()
	second.login("carol-1")
	me := second.me().json(t)
	if me["id"] != id1 || me["email"] != "carol@example.com" {
		t.Fatalf("second sign-in: user %v (%v), want the same user %v with their own address kept", me["id"], me["email"], id1)
	}
	if got := me["oauth_accounts"].([]any)[0].(map[string]any)["account_email"]; got != "carol.new@example.com" {
		t.Fatalf("account_email after the second sign-in = %v, want the provider's new address", got)
	}
	registered, logins, _ := e.hooks()
	if len(registered) != 1 || len(logins) != 2 {
		t.Fatalf("hooks: registered %v, logins %v; want one registration, two logins", registered, logins)
	}
}

// TestAssociate links a provider account to a password user, who can then
// sign in with it.
func TestAssociate(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("dave-gh", "dave@provider.example", false)
	dave, b := e.passwordUser("dave@example.com", true)

	if a := e.browser().get("/auth/associate/oidc/authorize"); a.status != http.StatusUnauthorized {
		t.Fatalf("associate authorize without a session = %d, want 401", a.status)
	}
	a := b.flow("/auth/associate/oidc/authorize", "dave-gh")
	if a.status != http.StatusOK {
		t.Fatalf("associate callback = %d %s, want 200", a.status, a.body)
	}
	u := a.json(t)
	accs, _ := u["oauth_accounts"].([]any)
	if u["id"] != dave.ID || len(accs) != 1 || accs[0].(map[string]any)["account_id"] != "dave-gh" || strings.Contains(string(a.body), "token") {
		t.Fatalf("associate callback = %s, want dave with the account and no tokens", a.body)
	}
	if _, _, updates := e.hooks(); len(updates) != 1 || !updates[0].Has("oauth_accounts") {
		t.Fatalf("after-update hooks = %v, want one with oauth_accounts", updates)
	}
	other := e.browser()
	other.login("dave-gh")
	if me := other.me().json(t); me["id"] != dave.ID {
		t.Fatalf("signing in with the linked account gives user %v, want dave %s", me["id"], dave.ID)
	}
	if registered, _, _ := e.hooks(); !slices.Equal(registered, []string{"dave@example.com"}) {
		t.Fatalf("registrations %v, want only dave's password registration", registered)
	}
}

// TestStateFailures: every D9 failure is a 400 with the contract's code,
// decided before the code is exchanged, and signs nobody in.
func TestStateFailures(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("eve-1", "eve@example.com", true)
	e.addUser("frank-1", "frank@example.com", true)

	otherManager, err := ginusers.New[Fields](e.store, ginusers.WithSecret([]byte("another secret, also long enough for HS256")))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := otherManager.IssueOAuthState(ginusers.OAuthState{CSRF: "x", OAuthName: "oidc"})
	access, _ := e.jwt.Strategy().WriteToken(e.ctx, ginusers.TokenSubject{UserID: "000000000000000000000000"})

	tests := []struct {
		name   string
		run    func(t *testing.T) answer
		status int
		detail string
	}{
		{"a callback without state", func(t *testing.T) answer {
			return e.browser().get("/auth/oidc/callback?code=abc")
		}, 400, "ACCESS_TOKEN_DECODE_ERROR"},
		{"a callback without code", func(t *testing.T) answer {
			return e.browser().get("/auth/oidc/callback?state=abc")
		}, 400, "Bad Request"},
		{"a malformed state", func(t *testing.T) answer {
			return e.browser().get("/auth/oidc/callback?code=abc&state=not.a.token")
		}, 400, "ACCESS_TOKEN_DECODE_ERROR"},
		{"a state signed with another secret", func(t *testing.T) answer {
			return e.browser().get("/auth/oidc/callback?code=abc&state=" + forged)
		}, 400, "ACCESS_TOKEN_DECODE_ERROR"},
		{"an access token as state", func(t *testing.T) answer {
			return e.browser().get("/auth/oidc/callback?code=abc&state=" + access)
		}, 400, "ACCESS_TOKEN_DECODE_ERROR"},
		{"an expired state", func(t *testing.T) answer {
			b := e.browser()
			cb := b.signIn(b.authorize("/auth/oidc/authorize"), "eve-1")
			e.clock.Advance(11 * time.Minute)
			defer e.clock.Advance(-11 * time.Minute)
			return b.get(cb.String())
		}, 400, "ACCESS_TOKEN_ALREADY_EXPIRED"},
		{"no CSRF cookie", func(t *testing.T) answer {
			b := e.browser()
			cb := b.signIn(b.authorize("/auth/oidc/authorize"), "eve-1")
			return e.browser().get(cb.String())
		}, 400, "OAUTH_INVALID_STATE"},
		{"the CSRF cookie of another flow", func(t *testing.T) answer {
			a, other := e.browser(), e.browser()
			cb := a.signIn(a.authorize("/auth/oidc/authorize"), "eve-1")
			other.authorize("/auth/oidc/authorize") // the other browser has a cookie of its own
			return other.get(cb.String())
		}, 400, "OAUTH_INVALID_STATE"},
		{"a state of another provider route's flow (association state at sign-in)", func(t *testing.T) answer {
			_, b := e.passwordUser("gina@example.com", true)
			cb := b.signIn(b.authorize("/auth/associate/oidc/authorize"), "eve-1")
			q := cb.Query()
			b.bearer = ""
			return b.get("/auth/oidc/callback?" + q.Encode())
		}, 400, "OAUTH_INVALID_STATE"},
		{"a PKCE mismatch: one flow's code with another flow's state and cookie", func(t *testing.T) answer {
			a, b := e.browser(), e.browser()
			cbA := a.signIn(a.authorize("/auth/oidc/authorize"), "eve-1")
			cbB := b.signIn(b.authorize("/auth/oidc/authorize"), "frank-1")
			q := cbB.Query()
			q.Set("code", cbA.Query().Get("code"))
			return b.get("/auth/oidc/callback?" + q.Encode())
		}, 400, "OAUTH_INVALID_STATE"},
		{"a code used twice", func(t *testing.T) answer {
			b := e.browser()
			authURL := b.authorize("/auth/oidc/authorize")
			cb := b.signIn(authURL, "eve-1")
			if a := b.get(cb.String()); a.status != http.StatusOK {
				t.Fatalf("first callback = %d %s, want 200", a.status, a.body)
			}
			// Replay with a fresh cookie for the same state: the state and
			// cookie are right, the provider refuses the used code.
			b2 := e.browser()
			b2.authorize("/auth/oidc/authorize")
			return b.get(cb.String())
		}, 400, "OAUTH_INVALID_STATE"},
		{"the provider's error", func(t *testing.T) answer {
			b := e.browser()
			cb, err := e.op.Deny(e.ctx, b.c, b.authorize("/auth/oidc/authorize"))
			if err != nil || cb.Query().Get("error") != "access_denied" {
				t.Fatalf("Deny() = %v, %v; want a callback with error=access_denied", cb, err)
			}
			return b.get(cb.String())
		}, 400, "access_denied"},
		{"a nonce mismatch", func(t *testing.T) answer {
			e.op.TamperNonce(func(string) string { return "an injected nonce" })
			defer e.op.TamperNonce(nil)
			return e.browser().flow("/auth/oidc/authorize", "frank-1")
		}, 400, "OAUTH_INVALID_STATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.op.TokenRequests()
			a := tt.run(t)
			wantDetail(t, tt.name, a, tt.status, tt.detail)
			if !strings.Contains(tt.name, "PKCE") && !strings.Contains(tt.name, "twice") && !strings.Contains(tt.name, "nonce") {
				if n := e.op.TokenRequests(); n != before {
					t.Fatalf("%d token requests were made, want none: the state is checked before the code is exchanged", n-before)
				}
			}
			if !strings.Contains(a.header.Get("Set-Cookie"), "__Host-fastapiusersoauthcsrf=;") {
				t.Fatalf("Set-Cookie = %q, want the CSRF cookie expired", a.header.Get("Set-Cookie"))
			}
		})
	}
	for _, sub := range []string{"frank-1"} {
		if _, err := e.store.GetByOAuthAccount(e.ctx, "oidc", sub); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("the account %s was linked by a refused flow (err %v)", sub, err)
		}
	}
}

// TestAccountDecisions: the provider accounts the app refuses.
func TestAccountDecisions(t *testing.T) {
	t.Run("an account linked to another user cannot be associated", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.addUser("shared", "shared@provider.example", true)
		owner, ob := e.passwordUser("owner@example.com", true)
		if a := ob.flow("/auth/associate/oidc/authorize", "shared"); a.status != http.StatusOK {
			t.Fatalf("first association = %d %s", a.status, a.body)
		}
		_, tb := e.passwordUser("thief@example.com", true)
		wantDetail(t, "second association", tb.flow("/auth/associate/oidc/authorize", "shared"), 400, "OAUTH_USER_ALREADY_EXISTS")
		if u, err := e.store.GetByOAuthAccount(e.ctx, "oidc", "shared"); err != nil || u.ID != owner.ID {
			t.Fatalf("the account belongs to %v (%v), want the owner", u, err)
		}
	})
	t.Run("an existing address without association by e-mail", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.passwordUser("hal@example.com", true)
		e.addUser("hal-1", "HAL@example.com", true)
		wantDetail(t, "sign-in", e.browser().flow("/auth/oidc/authorize", "hal-1"), 400, "OAUTH_USER_ALREADY_EXISTS")
	})
	t.Run("association by e-mail refuses an address the provider did not verify", func(t *testing.T) {
		e := newEnv(t, envOption{oauth: []oauth.Option{oauth.WithAssociateByEmail()}})
		e.passwordUser("ivy@example.com", true)
		e.addUser("ivy-1", "ivy@example.com", false)
		wantDetail(t, "sign-in", e.browser().flow("/auth/oidc/authorize", "ivy-1"), 400, "OAUTH_USER_ALREADY_EXISTS")
		if _, err := e.store.GetByOAuthAccount(e.ctx, "oidc", "ivy-1"); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("the unverified account was linked (err %v)", err)
		}
		// With a verified address it links, to the same user.
		e.addUser("ivy-1", "ivy@example.com", true)
		b := e.browser()
		b.login("ivy-1")
		if me := b.me().json(t); me["email"] != "ivy@example.com" {
			t.Fatalf("sign-in with a verified address = %v, want ivy", me)
		}
	})
	t.Run("verified by default", func(t *testing.T) {
		e := newEnv(t, envOption{oauth: []oauth.Option{oauth.WithVerifiedByDefault()}})
		e.addUser("jo-1", "jo@example.com", true)
		b := e.browser()
		b.login("jo-1")
		if me := b.me().json(t); me["is_verified"] != true {
			t.Fatalf("user created with verified-by-default = %v, want verified", me)
		}
	})
	t.Run("no e-mail address", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.addUser("kim-1", "", false)
		wantDetail(t, "sign-in", e.browser().flow("/auth/oidc/authorize", "kim-1"), 400, "OAUTH_NOT_AVAILABLE_EMAIL")
	})
	t.Run("an inactive user", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.addUser("lee-1", "lee@example.com", true)
		b := e.browser()
		b.login("lee-1")
		u, _ := e.m.GetByEmail(e.ctx, "lee@example.com")
		if _, err := e.m.Update(e.ctx, u, ginusers.UserUpdate[Fields]{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		wantDetail(t, "sign-in", e.browser().flow("/auth/oidc/authorize", "lee-1"), 400, "LOGIN_BAD_CREDENTIALS")
	})
	t.Run("an association state used by another user", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.addUser("mo-1", "mo@provider.example", true)
		_, alice := e.passwordUser("mo@example.com", true)
		_, bob := e.passwordUser("bob@example.com", true)
		cb := alice.signIn(alice.authorize("/auth/associate/oidc/authorize"), "mo-1")
		alice.bearer = bob.bearer // the same browser, bob's session
		wantDetail(t, "associate callback", alice.get(cb.String()), 400, "Bad Request")
	})
	t.Run("a callback URL not registered at the provider", func(t *testing.T) {
		e := newEnv(t, envOption{})
		e.addUser("ned-1", "ned@example.com", true)
		b := e.browser()
		authURL := b.authorize("/auth/oidc/authorize")
		u, _ := url.Parse(authURL)
		q := u.Query()
		q.Set("redirect_uri", e.app.URL+"/auth/oidc/callback/")
		u.RawQuery = q.Encode()
		if cb, err := e.op.SignIn(e.ctx, b.c, u.String(), "ned-1"); err == nil {
			t.Fatalf("the provider accepted a redirect URI that differs from the registered one (to %s)", cb)
		}
	})
}

// TestCVE202568481 replays the attack of GHSA-5j53-63w8-8625: the attacker
// starts a flow in their browser, signs in with their own provider
// account, and makes the victim's browser open the callback URL. The
// victim must be neither signed in to the attacker's account nor given
// the attacker's provider account.
func TestCVE202568481(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("attacker", "attacker@evil.example", true)

	t.Run("login CSRF: the victim is not signed in to the attacker's account", func(t *testing.T) {
		attacker, victim := e.browser(), e.browser()
		trap := attacker.signIn(attacker.authorize("/auth/oidc-cookie/authorize"), "attacker")
		before := e.op.TokenRequests()
		wantDetail(t, "the victim opening the attacker's callback", victim.get(trap.String()), 400, "OAUTH_INVALID_STATE")
		if victim.cookie("ginusersauth") != "" || e.op.TokenRequests() != before {
			t.Fatalf("the victim got a session cookie, or the attacker's code was exchanged")
		}
		// Even a victim who started a flow of their own is refused.
		victim.authorize("/auth/oidc-cookie/authorize")
		wantDetail(t, "the victim, in a flow of their own, opening the attacker's callback", victim.get(trap.String()), 400, "OAUTH_INVALID_STATE")
		if e.op.TokenRequests() != before {
			t.Fatalf("the attacker's code was exchanged in the victim's flow: the state must be refused before (PKCE is only the second line)")
		}
		if _, err := e.store.GetByOAuthAccount(e.ctx, "oidc", "attacker"); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Fatalf("a user was created for the attacker's account (err %v)", err)
		}
	})

	t.Run("cookie tossing: a flow cookie planted by a sibling subdomain is not read", func(t *testing.T) {
		// A site on a sibling subdomain can set a cookie for the parent
		// domain, under any name without the __Host- prefix: the browser
		// sends it to the app as if the app had set it.
		attacker, victim := e.browser(), e.browser()
		trap := attacker.signIn(attacker.authorize("/auth/oidc-cookie/authorize"), "attacker")
		flow := attacker.cookie("__Host-fastapiusersoauthcsrf")
		if flow == "" {
			flow = attacker.cookie("fastapiusersoauthcsrf")
		}
		app, _ := url.Parse(e.app.URL)
		victim.c.Jar.SetCookies(app, []*http.Cookie{{Name: "fastapiusersoauthcsrf", Value: flow, Path: "/"}})
		wantDetail(t, "the victim, with the attacker's flow cookie tossed in, opening the attacker's callback", victim.get(trap.String()), 400, "OAUTH_INVALID_STATE")
		if victim.cookie("ginusersauth") != "" {
			t.Fatalf("the victim was signed in to the attacker's account")
		}
	})

	t.Run("account takeover: the attacker's account is not linked to the victim", func(t *testing.T) {
		victimUser, victim := e.passwordUser("victim@example.com", true)
		_, attacker := e.passwordUser("mallory@example.com", true)
		trap := attacker.signIn(attacker.authorize("/auth/associate/oidc/authorize"), "attacker")
		before := e.op.TokenRequests()
		wantDetail(t, "the signed-in victim opening the attacker's associate callback", victim.get(trap.String()), 400, "OAUTH_INVALID_STATE")
		if got, _ := e.m.Get(e.ctx, victimUser.ID); len(got.OAuthAccounts) != 0 || e.op.TokenRequests() != before {
			t.Fatalf("the victim has accounts %+v, or the code was exchanged", got.OAuthAccounts)
		}
	})
}

// TestStoredLayout checks what an OAuth sign-in writes: fastapi-users'
// Beanie layout, tokens sealed.
func TestStoredLayout(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("pat-1", "pat@example.com", true)
	e.browser().login("pat-1")
	u, _ := e.store.GetByEmail(e.ctx, "pat@example.com")
	oid, _ := bson.ObjectIDFromHex(u.ID)
	var doc bson.M
	if err := e.coll.FindOne(e.ctx, bson.D{{Key: "_id", Value: oid}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	accs, _ := doc["oauth_accounts"].(bson.A)
	if len(accs) != 1 {
		t.Fatalf("stored oauth_accounts = %v, want one entry", doc["oauth_accounts"])
	}
	entry := map[string]any{}
	for _, el := range accs[0].(bson.D) {
		entry[el.Key] = el.Value
	}
	for _, k := range []string{"id", "oauth_name", "access_token", "account_id", "account_email", "expires_at", "refresh_token"} {
		if _, ok := entry[k]; !ok {
			t.Fatalf("stored entry %v lacks %q (Beanie's layout)", entry, k)
		}
	}
	if s, _ := entry["access_token"].(string); !strings.HasPrefix(s, "gu1.") {
		t.Fatalf("stored access_token = %v, want it sealed", entry["access_token"])
	}
}

func ptr[T any](v T) *T { return &v }

// TestCallbackURL: an explicit callback URL (a frontend page that forwards
// code and state to the API) is the redirect_uri of the authorization and
// of the code exchange, which the provider checks against each other.
func TestCallbackURL(t *testing.T) {
	e := newEnv(t, envOption{mount: func(e *env, _ oauth.Provider) []ginusers.Route {
		e.op.AddClient("spa", "spa-secret", []string{e.app.URL + "/frontend/callback"})
		spa, err := oauth.DiscoverOIDC(e.ctx, "spa", e.op.Issuer(), "spa", "spa-secret")
		if err != nil {
			t.Fatal(err)
		}
		rs, err := oauth.Routes(e.engine.Group("/auth/spa"), e.m, e.jwt, spa, oauth.WithCallbackURL(e.app.URL+"/frontend/callback"))
		if err != nil {
			t.Fatalf("oauth.Routes(WithCallbackURL) error = %v", err)
		}
		return rs
	}})
	e.addUser("quinn-1", "quinn@example.com", true)
	b := e.browser()
	authURL, _ := url.Parse(b.authorize("/auth/spa/authorize"))
	if got := authURL.Query().Get("redirect_uri"); got != e.app.URL+"/frontend/callback" {
		t.Fatalf("redirect_uri = %q, want the configured callback URL", got)
	}
	cb := b.signIn(authURL.String(), "quinn-1")
	if cb.Path != "/frontend/callback" {
		t.Fatalf("the provider sent the browser to %s, want the frontend's callback", cb)
	}
	// The frontend forwards code and state to the API.
	a := b.get("/auth/spa/callback?" + cb.RawQuery)
	if a.status != http.StatusOK || a.json(t)["token_type"] != "bearer" {
		t.Fatalf("forwarded callback = %d %s, want 200 with a token", a.status, a.body)
	}
}

// TestBrowserStart: with browser=1, authorize answers 303 to the provider
// with the CSRF cookie, so that a plain link (the account pages' "Sign in
// with ...") starts a flow the callback accepts; any other value, and
// browser on an association, is a 422.
func TestBrowserStart(t *testing.T) {
	e := newEnv(t, envOption{})
	e.addUser("carol-1", "carol@example.com", true)
	b := e.browser()
	a := b.get("/auth/oidc-cookie/authorize?browser=1&redirect=%2Faccount")
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, e.op.Issuer()) {
		t.Fatalf("authorize?browser=1 = %d, Location %q, body %s; want 303 to the provider", a.status, loc, a.body)
	}
	if b.cookie("__Host-fastapiusersoauthcsrf") == "" {
		t.Fatalf("authorize?browser=1 set no CSRF cookie")
	}
	a = b.get(b.signIn(loc, "carol-1").String())
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" || b.cookie("ginusersauth") == "" {
		t.Fatalf("callback of a flow started by a link = %d, Location %q, cookie %q; want 303 to /account with the cookie",
			a.status, a.header.Get("Location"), b.cookie("ginusersauth"))
	}
	if me := b.me(); me.status != http.StatusOK || me.json(t)["email"] != "carol@example.com" {
		t.Fatalf("GET /users/me after a flow started by a link = %d %s, want carol", me.status, me.body)
	}

	// The flow is bound to the browser that followed the link: another
	// browser opening the provider's URL is refused at the callback.
	a = b.get("/auth/oidc-cookie/authorize?browser=1")
	other := e.browser()
	if a = other.get(other.signIn(a.header.Get("Location"), "carol-1").String()); a.status != http.StatusBadRequest {
		t.Fatalf("callback in another browser of a flow started by a link = %d %s, want 400", a.status, a.body)
	}

	for _, path := range []string{
		"/auth/oidc/authorize?browser=0", "/auth/oidc/authorize?browser=true", "/auth/oidc/authorize?browser=",
	} {
		if a := b.get(path); a.status != http.StatusUnprocessableEntity {
			t.Fatalf("GET %s = %d %s, want 422", path, a.status, a.body)
		}
	}
	_, assoc := e.passwordUser("dan@example.com", true)
	if a := assoc.get("/auth/associate/oidc/authorize?browser=1"); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("associate authorize?browser=1 = %d %s, want 422", a.status, a.body)
	}
}
