package console_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/console"
	"github.com/ginusers/kit/mongostore"
)

const adminEmail, adminPassword = "admin@camelot.bt", "holy-grail-1"

func TestSignInSetsAStrictHostCookieAndStoresOnlyADigest(t *testing.T) {
	e := newEnv(t)
	admin := e.user(adminEmail, adminPassword, true)
	b := e.browser()

	p := b.get("/users")
	wantSignIn(t, "GET /users signed out", p)
	if !strings.Contains(p.location(), "next=%2Fadmin%2Fusers") {
		t.Errorf("the sign-in redirect %q does not come back to /admin/users", p.location())
	}
	p = b.get("/signin?next=" + url.QueryEscape("/admin/users?q=camelot"))
	wantStatus(t, "GET /signin", p, 200)
	p = b.post("/signin", url.Values{"email": {"ADMIN@camelot.bt"}, "password": {adminPassword}, "next": {"/admin/users?q=camelot"}})
	if p.status != http.StatusSeeOther || p.location() != "/admin/users?q=camelot" {
		t.Fatalf("POST /signin = %d to %q, want 303 to /admin/users?q=camelot", p.status, p.location())
	}
	var set *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == sessionCookie {
			set = c
		}
	}
	if set == nil {
		t.Fatalf("no %s cookie in %q", sessionCookie, p.header.Values("Set-Cookie"))
	}
	if !set.Secure || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/" || set.Domain != "" || set.MaxAge != 0 {
		t.Errorf("session cookie = %+v, want Secure, HttpOnly, SameSite=Strict, Path=/, no Domain, no Max-Age", set)
	}
	p = b.get("/users")
	wantStatus(t, "GET /users signed in", p, 200)
	if !strings.Contains(p.body, adminEmail) {
		t.Errorf("the list does not show the admin:\n%s", p.body)
	}

	// The store has one record, for the admin, with the admin's epoch,
	// under a digest that is neither the cookie nor its plain SHA-256.
	var docs []bson.M
	cur, err := e.sessColl.Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("%d session records, want 1", len(docs))
	}
	for _, v := range docs[0] {
		if s, ok := v.(string); ok && (strings.Contains(s, set.Value) || s == ginusers.TokenDigest(set.Value)) {
			t.Errorf("the session record holds the cookie or its plain digest: %v", docs[0])
		}
	}
	tok, err := e.sessions.GetToken(t.Context(), docs[0]["token_digest"].(string))
	if err != nil || tok.UserID != admin.ID || tok.Epoch != admin.SessionEpoch {
		t.Errorf("session record = %+v, %v; want the admin's id and epoch", tok, err)
	}
	// A console cookie is no API token.
	if got := e.apiMe(set.Value); got != http.StatusUnauthorized {
		t.Errorf("GET /users/me with the console cookie as a bearer token = %d, want 401", got)
	}
	if n := len(e.auditLines("action=sign_in", "outcome=ok", "actor_email="+adminEmail)); n != 1 {
		t.Errorf("%d audit lines for the sign-in, want 1:\n%s", n, e.audit.String())
	}
}

func TestSignInRefusesAllButActiveSuperusersAlike(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	e.user("arthur@camelot.bt", "excalibur", false)
	gone := e.user("mordred@camelot.bt", "treachery", true)
	no := false
	if _, err := e.m.Update(t.Context(), gone, ginusers.UserUpdate[Profile]{Active: &no}); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, tt := range []struct{ name, email, password, reason string }{
		{"an unknown address", "nobody@camelot.bt", "whatever1", "invalid credentials"},
		{"a wrong password", adminEmail, "holy-grail-2", "invalid credentials"},
		{"an inactive superuser", "mordred@camelot.bt", "treachery", "invalid credentials"},
		{"an active user who is not a superuser", "arthur@camelot.bt", "excalibur", "not a superuser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.get("/signin")
			before := e.hasher.Hashes.Load() + e.hasher.Checks.Load()
			p := b.post("/signin", url.Values{"email": {tt.email}, "password": {tt.password}})
			wantStatus(t, "POST /signin", p, http.StatusForbidden)
			if got := e.hasher.Hashes.Load() + e.hasher.Checks.Load() - before; got != 1 {
				t.Errorf("the sign-in cost %d password hashes, want 1 (as for every other failure)", got)
			}
			msg := alertOf(p.body)
			if first == "" {
				first = msg
			}
			if msg == "" || msg != first {
				t.Errorf("error %q, want the same error as for every failure (%q)", msg, first)
			}
			if b.cookie(sessionCookie) != nil {
				t.Error("a session cookie was set")
			}
			if len(e.auditLines("action=sign_in", "outcome=refused", "email="+tt.email, "reason=\""+tt.reason+"\"")) == 0 {
				t.Errorf("no audit line for the refusal:\n%s", e.audit.String())
			}
		})
	}
	if n, _ := e.sessColl.CountDocuments(t.Context(), bson.D{}); n != 0 {
		t.Errorf("%d session records after refused sign-ins, want 0", n)
	}
}

// alertOf returns the text of the page's alert.
func alertOf(body string) string {
	_, rest, ok := strings.Cut(body, `role="alert">`)
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, "<")
	return s
}

func TestSignInFormIsProtectedFromLoginCSRF(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	creds := url.Values{"email": {adminEmail}, "password": {adminPassword}}

	// No sign-in cookie: the form did not come from this browser's visit.
	b := e.browser()
	p := b.do(http.MethodPost, "/signin", creds, nil)
	wantStatus(t, "POST /signin without the sign-in cookie", p, http.StatusForbidden)
	// The cookie, but another browser's token.
	other := e.browser()
	other.get("/signin")
	b.get("/signin")
	form := url.Values{"email": creds["email"], "password": creds["password"], "csrf": {other.csrf}}
	wantStatus(t, "POST /signin with another browser's token", b.do(http.MethodPost, "/signin", form, nil), http.StatusForbidden)
	// A cross-site post, with a good token.
	b.get("/signin")
	form.Set("csrf", b.csrf)
	p = b.do(http.MethodPost, "/signin", form, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	wantStatus(t, "POST /signin from another site", p, http.StatusForbidden)
	if b.cookie(sessionCookie) != nil {
		t.Fatal("a refused sign-in set a session cookie")
	}
	// The good form passes, and the sign-in cookie is cleared.
	b.get("/signin")
	b.signIn(adminEmail, adminPassword)
	if b.cookie("__Host-ginusers-console-signin") != nil {
		t.Error("the sign-in cookie outlived the sign-in")
	}
}

func TestFormsNeedTheSessionTokenAndTheSameOrigin(t *testing.T) {
	e := newEnv(t, console.WithTrustedOrigins("https://ops.camelot.bt"))
	e.user(adminEmail, adminPassword, true)
	target := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	b.get("/users")
	good := b.csrf
	wrong := "A" + good[1:]
	if good[0] == 'A' {
		wrong = "B" + good[1:]
	}
	other := e.browser()
	other.signIn(adminEmail, adminPassword)
	other.get("/users")

	path := "/users/" + target.ID + "/deactivate"
	for _, tt := range []struct {
		name string
		csrf string
		hdr  http.Header
		want int
	}{
		{"no token", "", nil, http.StatusForbidden},
		{"a wrong token", wrong, nil, http.StatusForbidden},
		{"another session's token", other.csrf, nil, http.StatusForbidden},
		{"the token, from another site (Sec-Fetch-Site)", good, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"the token, from a sibling origin (Sec-Fetch-Site)", good, http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"the token, from another origin (Origin, an old browser)", good, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.do(http.MethodPost, path, url.Values{"csrf": {tt.csrf}}, tt.hdr)
			wantStatus(t, "POST "+path, p, tt.want)
			if !strings.Contains(p.body, `role="alert"`) || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("the refusal is not a console page: %s\n%s", p.header.Get("Content-Type"), p.body)
			}
			if u := e.get(target.ID); !u.Active {
				t.Fatal("a refused form deactivated the user")
			}
		})
	}
	// A trusted origin passes the cross-origin check, with the token.
	p := b.do(http.MethodPost, path, url.Values{"csrf": {good}}, http.Header{"Origin": {"https://ops.camelot.bt"}, "Sec-Fetch-Site": {"cross-site"}})
	wantStatus(t, "POST from a trusted origin", p, http.StatusSeeOther)
	if e.get(target.ID).Active {
		t.Fatal("the good form did not deactivate the user")
	}
	if len(e.auditLines("action=form_post", "outcome=refused", "actor_email="+adminEmail)) < 3 {
		t.Errorf("the refused forms were not audited:\n%s", e.audit.String())
	}
	if len(e.auditLines("action=cross_origin_request", "outcome=refused")) < 3 {
		t.Errorf("the cross-origin requests were not audited:\n%s", e.audit.String())
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	check := func(what string, p *page, cache string) {
		t.Helper()
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           cache,
		}
		for k, v := range want {
			if got := p.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", what, k, got, v)
			}
		}
		if strings.Contains(p.body, "<script") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") {
			t.Errorf("%s: the page has a script or inline style, which its policy forbids", what)
		}
	}
	check("GET /users signed out (redirect)", b.get("/users"), "no-store")
	check("GET /signin", b.get("/signin"), "no-store")
	check("a refused sign-in", b.post("/signin", url.Values{"email": {"x@y.z"}, "password": {"nopenope"}}), "no-store")
	b.signIn(adminEmail, adminPassword)
	check("GET /users", b.get("/users"), "no-store")
	check("GET /users/:id", b.get("/users/"+u.ID), "no-store")
	check("GET /users/new", b.get("/users/new"), "no-store")
	check("GET /users/:id/delete", b.get("/users/"+u.ID+"/delete"), "no-store")
	p := b.get("/users/0123456789abcdef01234567")
	wantStatus(t, "GET an unknown user", p, http.StatusNotFound)
	check("404", p, "no-store")
	check("403", b.do(http.MethodPost, "/users/"+u.ID+"/verify", url.Values{}, nil), "no-store")
	css := b.get("/static/console.css")
	wantStatus(t, "GET console.css", css, 200)
	check("console.css", css, "no-cache")
	if ct := css.header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("console.css Content-Type = %q", ct)
	}
	again := b.do(http.MethodGet, "/static/console.css", nil, http.Header{"If-None-Match": {css.header.Get("ETag")}})
	wantStatus(t, "GET console.css again", again, http.StatusNotModified)
}

func TestSessionEndsWithSignOutAndWithTheAdminsRights(t *testing.T) {
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		end  func(e *env, admin *User)
	}{
		{"sign-out", nil},
		{"log out everywhere (API)", func(e *env, admin *User) {
			if err := e.m.LogoutAll(ctx, admin); err != nil {
				t.Fatal(err)
			}
		}},
		{"demotion", func(e *env, admin *User) {
			no := false
			if _, err := e.m.Update(ctx, admin, ginusers.UserUpdate[Profile]{Superuser: &no}); err != nil {
				t.Fatal(err)
			}
		}},
		{"deactivation", func(e *env, admin *User) {
			no := false
			if _, err := e.m.Update(ctx, admin, ginusers.UserUpdate[Profile]{Active: &no}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a password change", func(e *env, admin *User) {
			pw := "holy-grail-9"
			if _, err := e.m.Update(ctx, admin, ginusers.UserUpdate[Profile]{Password: &pw}); err != nil {
				t.Fatal(err)
			}
		}},
		{"deletion", func(e *env, admin *User) {
			if err := e.m.Delete(ctx, admin); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			admin := e.user(adminEmail, adminPassword, true)
			e.user("lancelot@camelot.bt", "guinevere", true) // another admin, so the first may go
			b := e.browser()
			b.signIn(adminEmail, adminPassword)
			wantStatus(t, "GET /users", b.get("/users"), 200)
			stolen := b.cookie(sessionCookie)
			if tt.end == nil {
				p := b.post("/signout", nil)
				if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/admin/signin") {
					t.Fatalf("POST /signout = %d to %q", p.status, p.location())
				}
				if b.cookie(sessionCookie) != nil {
					t.Error("the cookie outlived the sign-out")
				}
			} else {
				tt.end(e, admin)
			}
			// The cookie as it was (kept by an attacker, or the browser) is dead.
			replay := e.browser()
			u, _ := url.Parse(e.base + "/")
			replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: stolen.Value, Path: "/", Secure: true}})
			wantSignIn(t, "GET /users with the old cookie", replay.get("/users"))
			if n, _ := e.sessColl.CountDocuments(ctx, bson.D{}); n != 0 {
				t.Errorf("%d session records left, want 0", n)
			}
		})
	}
}

func TestSessionIdleAndAbsoluteTimeouts(t *testing.T) {
	e := newEnv(t, console.WithIdleTimeout(30*time.Minute), console.WithAbsoluteTimeout(2*time.Hour))
	e.user(adminEmail, adminPassword, true)
	target := e.user("arthur@camelot.bt", "excalibur", false)

	t.Run("idle", func(t *testing.T) {
		b := e.browser()
		b.signIn(adminEmail, adminPassword)
		e.clock.Advance(29 * time.Minute)
		wantStatus(t, "GET /users after 29 min", b.get("/users"), 200)
		e.clock.Advance(31 * time.Minute)
		wantSignIn(t, "GET /users after 31 idle min", b.get("/users"))
	})

	t.Run("sliding, with a form token that survives rotation", func(t *testing.T) {
		b := e.browser()
		b.signIn(adminEmail, adminPassword)
		b.get("/users/" + target.ID)
		formToken := b.csrf
		first := b.cookie(sessionCookie).Value
		e.clock.Advance(10 * time.Minute)
		wantStatus(t, "GET /users after 10 min", b.get("/users"), 200)
		if b.cookie(sessionCookie).Value != first {
			t.Fatal("the token rotated with more than half the idle time left")
		}
		e.clock.Advance(10 * time.Minute) // 10 min left of 30: rotate
		wantStatus(t, "GET /users after 20 min", b.get("/users"), 200)
		second := b.cookie(sessionCookie).Value
		if second == first {
			t.Fatal("the token did not rotate with less than half the idle time left")
		}
		// The old cookie is dead at once.
		old := e.browser()
		u, _ := url.Parse(e.base + "/")
		old.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: first, Path: "/", Secure: true}})
		wantSignIn(t, "GET /users with the rotated-out cookie", old.get("/users"))
		// A form opened before the rotation still posts.
		e.clock.Advance(25 * time.Minute) // 45 min after sign-in, 25 after the rotation
		p := b.do(http.MethodPost, "/users/"+target.ID+"/verify", url.Values{"csrf": {formToken}}, nil)
		wantStatus(t, "POST a form opened before the rotation", p, http.StatusSeeOther)
	})

	t.Run("absolute", func(t *testing.T) {
		b := e.browser()
		b.signIn(adminEmail, adminPassword)
		for i := range 11 { // every 11 minutes for 2 h 1 min
			e.clock.Advance(11 * time.Minute)
			p := b.get("/users")
			if i < 10 {
				wantStatus(t, "GET /users while active", p, 200)
			} else {
				wantSignIn(t, "GET /users after the absolute timeout", p)
			}
		}
	})
}

func TestOpenRedirectAfterSignInIsRefused(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/elsewhere", "/admin\\@evil.example", "/admin/../x", "/admin/%2e%2e/x", "/admin/signin", "/admin/static/console.css"} {
		b := e.browser()
		b.get("/signin?next=" + url.QueryEscape(next))
		p := b.post("/signin", url.Values{"email": {adminEmail}, "password": {adminPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != "/admin/users" {
			t.Errorf("next=%q: sign-in = %d to %q, want the users list", next, p.status, p.location())
		}
	}
}

func TestDatabaseDownIsAnswered503(t *testing.T) {
	// A manager whose database does not answer: a client for a port where
	// nothing listens, which gives up after 300 ms.
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1/").SetServerSelectionTimeout(300 * time.Millisecond).SetTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	db := client.Database("down")
	m, err := ginusers.New(mongostore.New[Profile](db.Collection("users")), ginusers.WithSecret(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	if err := console.Mount(engine.Group("/admin"), m, console.WithSessionStore(mongostore.NewTokenStore(db.Collection("s"))), console.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t}
	e.srv = newTLSServer(t, engine)
	e.base = e.srv.URL + "/admin"
	b := e.browser()
	wantStatus(t, "GET /signin", b.get("/signin"), 200)
	p := b.post("/signin", url.Values{"email": {adminEmail}, "password": {adminPassword}})
	wantStatus(t, "POST /signin with the database down", p, http.StatusServiceUnavailable)
	if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "database") {
		t.Errorf("503 without Retry-After or message: %v\n%s", p.header, p.body)
	}
	u, _ := url.Parse(e.base + "/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strings.Repeat("A", 43) + "." + strings.Repeat("A", 43), Path: "/", Secure: true}})
	wantStatus(t, "GET /users with the database down", b.get("/users"), http.StatusServiceUnavailable)
}

func TestAFormTooLargeIsRefused(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	b.get("/users/" + u.ID)
	p := b.post("/users/"+u.ID, url.Values{"f.first_name": {strings.Repeat("x", 300<<10)}})
	wantStatus(t, "POST a 300 KiB form", p, http.StatusRequestEntityTooLarge)
	if e.get(u.ID).Fields.FirstName != nil {
		t.Error("a form too large was written")
	}
}

// TestADemotionInTheConsoleEndsTheSessionsForGood: an administrator
// demoted in the console loses their console sessions then, not only at
// their next request: otherwise a cookie left unused while demoted (in a
// browser, or an attacker's hands) would work again once the user is
// promoted back.
func TestADemotionInTheConsoleEndsTheSessionsForGood(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	lancelot := e.user("lancelot@camelot.bt", "guinevere", true)
	victim := e.browser()
	victim.signIn("lancelot@camelot.bt", "guinevere")
	wantStatus(t, "GET /users as lancelot", victim.get("/users"), 200)

	admin := e.browser()
	admin.signIn(adminEmail, adminPassword)
	admin.get("/users/" + lancelot.ID)
	wantStatus(t, "demote", admin.post("/users/"+lancelot.ID+"/demote", nil), http.StatusSeeOther)
	// lancelot sends nothing while demoted; then he is promoted back.
	wantStatus(t, "promote", admin.post("/users/"+lancelot.ID+"/promote", nil), http.StatusSeeOther)
	if !e.get(lancelot.ID).Superuser {
		t.Fatal("not promoted back")
	}
	wantSignIn(t, "GET /users with the cookie of before the demotion", victim.get("/users"))
}

// TestAuditKeepsAShortAddressOfARefusedSignIn: anyone can post the sign-in
// form; a refused sign-in with an address of 100 KiB logs at most the
// longest real address of it.
func TestAuditKeepsAShortAddressOfARefusedSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	long := strings.Repeat("a", 100*1024) + "@camelot.bt"
	b.trySignIn(long, "whatever")
	lines := e.auditLines("action=sign_in", "outcome=refused")
	if len(lines) != 1 {
		t.Fatalf("audit lines of the refused sign-in: %d, want 1", len(lines))
	}
	if n := len(lines[0]); n > 1024 || !strings.Contains(lines[0], "... (102411 bytes)") {
		t.Fatalf("the audit line of a refused sign-in with a 100 KiB address is %d bytes long, want under 1 KiB saying the length: %.300s", n, lines[0])
	}
}
