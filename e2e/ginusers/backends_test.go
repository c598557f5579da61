package ginusers_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/redisstore"
	"github.com/ginusers/kit/redisstore/redistest"
)

// tokenStores are the stores the database strategy is tested on: MongoDB
// (embedded FerretDB) and real Redis.
var tokenStores = map[string]func(t *testing.T, a *app) ginusers.AccessTokenStore{
	"mongo": func(t *testing.T, a *app) ginusers.AccessTokenStore {
		s := mongostore.NewTokenStore(a.coll.Database().Collection("access_tokens"))
		if err := s.EnsureIndexes(t.Context()); err != nil {
			t.Fatalf("EnsureIndexes() error = %v", err)
		}
		return s
	},
	"redis": func(t *testing.T, a *app) ginusers.AccessTokenStore {
		return redisstore.New(redistest.Client(t), redisstore.WithKeyPrefix("t:"+strings.ReplaceAll(t.Name(), "/", ":")+":"))
	},
}

// multiApp mounts three backends like the example: bearer JWT at
// /auth/jwt, cookie + database tokens at /auth/cookie, bearer + database
// tokens at /auth/db.
func multiApp(t *testing.T, store string, extra ...ginusers.Option) *app {
	t.Helper()
	a := newApp(t) // for the database and the store; rebuilt below
	ts := tokenStores[store](t, a)
	a.tokens = ts
	jwtS, err := ginusers.NewJWTStrategy(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	dbS, err := ginusers.NewDatabaseStrategy(ts)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := ginusers.NewCookieTransport(ginusers.WithTrustedOrigins("https://trusted.example"))
	if err != nil {
		t.Fatal(err)
	}
	a.backends = []*ginusers.Backend{
		ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS),
		ginusers.NewBackend("cookie", cookie, dbS),
		ginusers.NewBackend("db", ginusers.NewBearerTransport(), dbS),
	}
	opts := append([]ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(discardLogger),
		ginusers.WithClock(func() time.Time { return a.now }),
		ginusers.WithBackends(a.backends...),
	}, extra...)
	m, err := ginusers.New[Fields](a.store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a.mount(m)
	return a
}

func (a *app) cookieLogin(email, password string) *http.Cookie {
	a.t.Helper()
	r := a.req("POST", "/auth/cookie/login", url.Values{"username": {email}, "password": {password}})
	if r.Code != http.StatusNoContent || r.Body != "" {
		a.t.Fatalf("cookie login = %d %q, want 204", r.Code, r.Body)
	}
	cookies := (&http.Response{Header: r.Header}).Cookies()
	if len(cookies) != 1 {
		a.t.Fatalf("cookie login set %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

func (a *app) dbLogin(email, password string) string {
	a.t.Helper()
	r := a.req("POST", "/auth/db/login", url.Values{"username": {email}, "password": {password}})
	if r.Code != http.StatusOK {
		a.t.Fatalf("db login = %d %s", r.Code, r.Body)
	}
	return r.Field("access_token").(string)
}

func withCookie(c *http.Cookie) []string { return []string{"Cookie", c.Name + "=" + c.Value} }

func TestCookieAttributes(t *testing.T) {
	a := multiApp(t, "mongo")
	a.register("king.arthur@camelot.bt", "guinevere")
	r := a.req("POST", "/auth/cookie/login", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	wantStatus(t, r, 204)
	set := r.Header.Values("Set-Cookie")
	if len(set) != 1 {
		t.Fatalf("Set-Cookie = %v", set)
	}
	token := strings.TrimPrefix(strings.SplitN(set[0], ";", 2)[0], "ginusersauth=")
	if want := "ginusersauth=" + token + "; Path=/; HttpOnly; Secure; SameSite=Lax"; set[0] != want {
		t.Fatalf("login Set-Cookie = %q, want %q", set[0], want)
	}
	if len(token) != 43 {
		t.Fatalf("token %q: want 43 base64url characters (256 bits)", token)
	}
	out := a.req("POST", "/auth/cookie/logout", nil, "Cookie", "ginusersauth="+token)
	wantStatus(t, out, 204)
	if got, want := out.Header.Get("Set-Cookie"), "ginusersauth=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"; got != want {
		t.Fatalf("logout Set-Cookie = %q, want %q", got, want)
	}
}

func TestCookieOptions(t *testing.T) {
	tr, err := ginusers.NewCookieTransport(ginusers.WithCookieName("__Host-ginusersauth"), ginusers.WithCookieMaxAge(2*time.Hour), ginusers.WithCookieSameSite(http.SameSiteStrictMode))
	if err != nil {
		t.Fatal(err)
	}
	resp := tr.LoginResponse("tok")
	if got, want := resp.Header.Get("Set-Cookie"), "__Host-ginusersauth=tok; Path=/; Max-Age=7200; HttpOnly; Secure; SameSite=Strict"; got != want || resp.Status != 204 || resp.Body != nil {
		t.Fatalf("Set-Cookie = %q, want %q", got, want)
	}
	tr, _ = ginusers.NewCookieTransport(ginusers.WithInsecureCookie(), ginusers.WithCookieDomain("example.com"), ginusers.WithCookiePath("/api"))
	resp = tr.LogoutResponse()
	if got, want := resp.Header.Get("Set-Cookie"), "ginusersauth=; Path=/api; Domain=example.com; Max-Age=0; HttpOnly; SameSite=Lax"; got != want || resp.Status != 204 {
		t.Fatalf("Set-Cookie = %q, want %q", got, want)
	}
	for name, opts := range map[string][]ginusers.CookieOption{
		"SameSite=None without Secure":  {ginusers.WithInsecureCookie(), ginusers.WithCookieSameSite(http.SameSiteNoneMode)},
		"__Host- without Secure":        {ginusers.WithCookieName("__Host-x"), ginusers.WithInsecureCookie()},
		"__Host- with a Domain":         {ginusers.WithCookieName("__Host-x"), ginusers.WithCookieDomain("example.com")},
		"an empty name":                 {ginusers.WithCookieName("")},
		"a name with a semicolon":       {ginusers.WithCookieName("a;b")},
		"a trusted origin that is junk": {ginusers.WithTrustedOrigins("::not an origin")},
	} {
		if _, err := ginusers.NewCookieTransport(opts...); err == nil {
			t.Errorf("NewCookieTransport(%s) error = nil, want a configuration error", name)
		}
	}
}

func TestStrategies(t *testing.T) {
	for store := range tokenStores {
		t.Run("store="+store, func(t *testing.T) {
			a := multiApp(t, store)
			a.register("king.arthur@camelot.bt", "guinevere")

			t.Run("cookie: login, use, logout revokes the token", func(t *testing.T) {
				c := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
				wantStatus(t, a.req("GET", "/users/me", nil, withCookie(c)...), 200)
				wantStatus(t, a.req("POST", "/auth/cookie/logout", nil, withCookie(c)...), 204)
				wantDetail(t, a.req("GET", "/users/me", nil, withCookie(c)...), 401, "Unauthorized")
			})
			t.Run("bearer database token: login, use, logout revokes the token", func(t *testing.T) {
				tok := a.dbLogin("king.arthur@camelot.bt", "guinevere")
				wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)
				wantStatus(t, a.req("POST", "/auth/db/logout", nil, bearer(tok)...), 204)
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
			})
			t.Run("two devices: logging one out leaves the other", func(t *testing.T) {
				phone := a.dbLogin("king.arthur@camelot.bt", "guinevere")
				laptop := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
				wantStatus(t, a.req("POST", "/auth/db/logout", nil, bearer(phone)...), 204)
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(phone)...), 401, "Unauthorized")
				wantStatus(t, a.req("GET", "/users/me", nil, withCookie(laptop)...), 200)
			})
			t.Run("tokens expire with the clock", func(t *testing.T) {
				tok := a.dbLogin("king.arthur@camelot.bt", "guinevere")
				saved := a.now
				a.now = a.now.Add(time.Hour + time.Second)
				defer func() { a.now = saved }()
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
			})
			t.Run("logout uses the backend the request authenticated with", func(t *testing.T) {
				tok := a.dbLogin("king.arthur@camelot.bt", "guinevere")
				// Logging out through the JWT route with a database token
				// destroys the database token (fastapi-users would ask the
				// JWT strategy, which destroys nothing).
				wantStatus(t, a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 204)
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
			})
			t.Run("a forged token is refused and the next backend is tried", func(t *testing.T) {
				c := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
				r := a.req("GET", "/users/me", nil, "Authorization", "Bearer forged", "Cookie", c.Name+"="+c.Value)
				wantStatus(t, r, 200)
			})
		})
	}
}

func TestRevocation(t *testing.T) {
	for store := range tokenStores {
		t.Run("store="+store, func(t *testing.T) {
			mb := &mailbox{}
			a := multiApp(t, store, mailboxOptions(mb)...)
			_, admin := a.user("admin@camelot.bt", true, true, true)
			sessions := func(email, password string) (string, *http.Cookie, string) {
				return a.dbLogin(email, password), a.cookieLogin(email, password), a.login(email, password)
			}
			wantRevoked := func(t *testing.T, db string, c *http.Cookie) {
				t.Helper()
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(db)...), 401, "Unauthorized")
				wantDetail(t, a.req("GET", "/users/me", nil, withCookie(c)...), 401, "Unauthorized")
			}

			t.Run("a password change revokes every database token", func(t *testing.T) {
				a.user("pw@camelot.bt", true, false, false)
				db, c, jwt := sessions("pw@camelot.bt", "password123")
				wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "a-new-password"}, withCookie(c)...), 200)
				wantRevoked(t, db, c)
				// JWTs are revoked too, by default (D7).
				wantDetail(t, a.req("GET", "/users/me", nil, bearer(jwt)...), 401, "Unauthorized")
			})
			t.Run("a password reset revokes every database token", func(t *testing.T) {
				a.user("reset@camelot.bt", true, false, false)
				db, c, _ := sessions("reset@camelot.bt", "password123")
				tok := a.forgot(mb, "reset@camelot.bt")
				wantStatus(t, a.resetPassword(tok, "a-new-password"), 200)
				wantRevoked(t, db, c)
			})
			t.Run("deactivation revokes every database token, for good", func(t *testing.T) {
				u, _ := a.user("deact@camelot.bt", true, false, false)
				db, c, _ := sessions("deact@camelot.bt", "password123")
				wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), 200)
				wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": true}, bearer(admin)...), 200)
				wantRevoked(t, db, c)
			})
			t.Run("deletion revokes every database token", func(t *testing.T) {
				u, _ := a.user("del@camelot.bt", true, false, false)
				db, _, _ := sessions("del@camelot.bt", "password123")
				wantStatus(t, a.req("DELETE", "/users/"+u.ID, nil, bearer(admin)...), 204)
				if _, err := a.backends[2].Strategy().ReadToken(t.Context(), db); err == nil {
					t.Fatal("a deleted user's token is still stored")
				}
			})
			t.Run("logout everywhere revokes every database token and clears the cookie", func(t *testing.T) {
				a.user("all@camelot.bt", true, false, false)
				db, c, _ := sessions("all@camelot.bt", "password123")
				r := a.req("POST", "/auth/logout-all", nil, withCookie(c)...)
				wantStatus(t, r, 204)
				if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
					t.Fatalf("logout-all Set-Cookie = %q, want the cookie cleared", r.Header.Get("Set-Cookie"))
				}
				wantRevoked(t, db, c)
				wantDetail(t, a.req("POST", "/auth/logout-all", nil), 401, "Unauthorized")
			})
			t.Run("other users keep their sessions", func(t *testing.T) {
				wantStatus(t, a.req("GET", "/users/me", nil, bearer(admin)...), 200)
			})
		})
	}
}

// TestJWTRevocation: JWTs are revoked by default (D7), exactly: a token
// issued before the event is refused, one issued after it works, even at
// the same instant (the test's clock never moves).
func TestJWTRevocation(t *testing.T) {
	mb := &mailbox{}
	a := multiApp(t, "mongo", mailboxOptions(mb)...)
	u, _ := a.user("king.arthur@camelot.bt", true, false, false)
	_, admin := a.user("admin@camelot.bt", true, true, true)
	me := func(tok string) int { return a.req("GET", "/users/me", nil, bearer(tok)...).Code }

	old := a.login("king.arthur@camelot.bt", "password123")
	other := a.login("king.arthur@camelot.bt", "password123")
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "a-new-password"}, bearer(old)...), 200)
	if me(old) != 401 || me(other) != 401 {
		t.Fatalf("after a password change: /users/me = %d and %d with the earlier tokens, want 401", me(old), me(other))
	}
	fresh := a.login("king.arthur@camelot.bt", "a-new-password")
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(fresh)...), 200)

	wantStatus(t, a.req("POST", "/auth/logout-all", nil, bearer(fresh)...), 204)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(fresh)...), 401, "Unauthorized")

	again := a.login("king.arthur@camelot.bt", "a-new-password")
	tok := a.forgot(mb, "king.arthur@camelot.bt")
	wantStatus(t, a.resetPassword(tok, "another-password"), 200)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(again)...), 401, "Unauthorized")

	last := a.login("king.arthur@camelot.bt", "another-password")
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), 200)
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": true}, bearer(admin)...), 200)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(last)...), 401, "Unauthorized")
	// Nothing else invalidates tokens: a profile edit keeps them.
	cur := a.login("king.arthur@camelot.bt", "another-password")
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"first_name": "Arthur"}, bearer(cur)...), 200)
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(cur)...), 200)
	// The admin was never touched.
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(admin)...), 200)
}

// TestJWTLogout: logging out a JWT ends that token, not the user's other
// sessions, and never answers 204 while the token still works.
func TestJWTLogout(t *testing.T) {
	a := multiApp(t, "mongo")
	a.user("lancelot@camelot.bt", true, false, false)
	phone := a.login("lancelot@camelot.bt", "password123")
	laptop := a.login("lancelot@camelot.bt", "password123")
	wantStatus(t, a.req("POST", "/auth/jwt/logout", nil, bearer(phone)...), 204)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(phone)...), 401, "Unauthorized")
	wantDetail(t, a.req("POST", "/auth/jwt/logout", nil, bearer(phone)...), 401, "Unauthorized")
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(laptop)...), 200)

	// Many logouts within a token lifetime stay bounded: past the limit a
	// logout ends every session instead of growing the user's record.
	for i := range 70 {
		tok := a.login("lancelot@camelot.bt", "password123")
		wantStatus(t, a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 204)
		wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
		if i == 10 {
			wantStatus(t, a.req("GET", "/users/me", nil, bearer(laptop)...), 200)
		}
	}
	u, err := a.m.GetByEmail(t.Context(), "lancelot@camelot.bt")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(u.RevokedTokens); n > 64 {
		t.Fatalf("the user's record lists %d revoked tokens, want at most 64", n)
	}
}

// TestLoginRacingRevocation: a login that read the user before a password
// reset issues a token after it; that token must not survive the reset.
func TestLoginRacingRevocation(t *testing.T) {
	a := newApp(t)
	u, _ := a.user("gawain@camelot.bt", true, false, false)
	ctx := t.Context()
	before, err := a.m.Authenticate(ctx, "gawain@camelot.bt", "password123") // the login's read
	if err != nil {
		t.Fatal(err)
	}
	if err := a.m.LogoutAll(ctx, u); err != nil { // the event, meanwhile
		t.Fatal(err)
	}
	tok, err := a.backends[0].Strategy().WriteToken(ctx, ginusers.TokenSubject{UserID: before.ID, Epoch: before.SessionEpoch})
	if err != nil {
		t.Fatal(err)
	}
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
}

// TestIrrevocableJWTOptOut: the explicit opt-out keeps JWTs alive until
// they expire, as fastapi-users does; a deactivated user is still refused.
func TestIrrevocableJWTOptOut(t *testing.T) {
	a := newApp(t)
	s, err := ginusers.NewJWTStrategy(testSecret, ginusers.WithInsecureIrrevocableJWT())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ginusers.New[Fields](a.store, ginusers.WithSecret(testSecret), ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(discardLogger), ginusers.WithBackends(ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), s)))
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	a.engine = gin.New()
	ginusers.Routes(a.engine, m)
	u, _ := a.user("kay@camelot.bt", true, false, false)
	_, admin := a.user("admin@camelot.bt", true, true, true)
	tok := a.login("kay@camelot.bt", "password123")
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "a-new-password"}, bearer(tok)...), 200)
	wantStatus(t, a.req("POST", "/auth/logout-all", nil, bearer(tok)...), 204)
	wantStatus(t, a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 204)
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), 200)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
}

func TestCrossOriginCookieRequests(t *testing.T) {
	a := multiApp(t, "mongo")
	a.register("king.arthur@camelot.bt", "guinevere")
	c := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
	tok := a.login("king.arthur@camelot.bt", "guinevere")
	patch := map[string]any{"first_name": "Arthur"}
	for _, tt := range []struct {
		name    string
		method  string
		path    string
		headers []string
		want    int
	}{
		{"a cross-site cookie PATCH is refused", "PATCH", "/users/me", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"a cookie PATCH from a foreign Origin is refused", "PATCH", "/users/me", []string{"Origin", "https://evil.example"}, 403},
		{"a cross-site cookie logout is refused", "POST", "/auth/cookie/logout", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"a cross-site cookie logout-all is refused", "POST", "/auth/logout-all", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"a same-origin cookie PATCH is allowed", "PATCH", "/users/me", []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"a cookie PATCH from a trusted origin is allowed", "PATCH", "/users/me", []string{"Origin", "https://trusted.example", "Sec-Fetch-Site", "cross-site"}, 200},
		{"a non-browser cookie PATCH (no Origin, no Sec-Fetch-Site) is allowed", "PATCH", "/users/me", nil, 200},
		{"a cross-site cookie GET is allowed (safe method)", "GET", "/users/me", []string{"Sec-Fetch-Site", "cross-site"}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "PATCH" {
				body = patch
			}
			r := a.req(tt.method, tt.path, body, append(withCookie(c), tt.headers...)...)
			if r.Code != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, r.Code, r.Body, tt.want)
			}
			if tt.want == 403 {
				wantDetail(t, r, 403, "Forbidden")
			}
		})
	}
	t.Run("a bearer PATCH is unaffected by Sec-Fetch-Site", func(t *testing.T) {
		wantStatus(t, a.req("PATCH", "/users/me", patch, append(bearer(tok), "Sec-Fetch-Site", "cross-site")...), 200)
	})
	t.Run("a cross-site cookie login is refused (login CSRF)", func(t *testing.T) {
		r := a.req("POST", "/auth/cookie/login", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}, "Sec-Fetch-Site", "cross-site")
		wantDetail(t, r, 403, "Forbidden")
	})
}

func TestTwoInstancesShareSessions(t *testing.T) {
	one := multiApp(t, "mongo")
	// A second app on the same collections: no state of its own.
	two := &app{t: t, hasher: one.hasher, now: one.now, coll: one.coll, store: mongostore.New[Fields](one.coll)}
	ts := mongostore.NewTokenStore(one.coll.Database().Collection("access_tokens"))
	dbS, _ := ginusers.NewDatabaseStrategy(ts)
	cookie, _ := ginusers.NewCookieTransport()
	m, err := ginusers.New[Fields](two.store, ginusers.WithSecret(testSecret), ginusers.WithPasswordHasher(two.hasher), ginusers.WithLogger(discardLogger),
		ginusers.WithBackends(ginusers.NewBackend("cookie", cookie, dbS), ginusers.NewBackend("db", ginusers.NewBearerTransport(), dbS)))
	if err != nil {
		t.Fatal(err)
	}
	two.m, two.engine = m, gin.New()
	ginusers.Routes(two.engine, m)

	one.register("king.arthur@camelot.bt", "guinevere")
	c := one.cookieLogin("king.arthur@camelot.bt", "guinevere")
	tok := two.dbLogin("king.arthur@camelot.bt", "guinevere")
	wantStatus(t, two.req("GET", "/users/me", nil, withCookie(c)...), 200)
	wantStatus(t, one.req("GET", "/users/me", nil, bearer(tok)...), 200)
	wantStatus(t, two.req("POST", "/auth/cookie/logout", nil, withCookie(c)...), 204)
	wantDetail(t, one.req("GET", "/users/me", nil, withCookie(c)...), 401, "Unauthorized")
	wantStatus(t, one.req("POST", "/auth/db/logout", nil, bearer(tok)...), 204)
	wantDetail(t, two.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
}

func httptestRecorder() *responseRecorder { return &responseRecorder{header: http.Header{}} }

type responseRecorder struct {
	header http.Header
	code   int
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *responseRecorder) WriteHeader(code int)        { r.code = code }

func TestFailingLoginHookSendsNoToken(t *testing.T) {
	a := multiApp(t, "mongo", ginusers.OnAfterLogin(func(context.Context, *User, *http.Request, *ginusers.Response) error { return errors.New("boom") }))
	a.register("king.arthur@camelot.bt", "guinevere")
	r := a.req("POST", "/auth/cookie/login", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	wantDetail(t, r, 500, "Internal Server Error")
	if sc := r.Header.Get("Set-Cookie"); sc != "" {
		t.Fatalf("a failed login set a cookie: %q", sc)
	}
	r = a.req("POST", "/auth/db/login", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	wantDetail(t, r, 500, "Internal Server Error")
	n, err := a.coll.Database().Collection("access_tokens").CountDocuments(t.Context(), bson.M{})
	if err != nil || n != 0 {
		t.Fatalf("tokens stored after failed logins = %d, %v; want 0", n, err)
	}
}

func TestRequireUserFromSomeBackends(t *testing.T) {
	a := multiApp(t, "mongo")
	a.register("king.arthur@camelot.bt", "guinevere")
	c := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
	jwt := a.login("king.arthur@camelot.bt", "guinevere")
	a.plainGET("/cookie-only", ginusers.RequireUserFrom(a.m, []*ginusers.Backend{a.backends[1]}), func(c *gin.Context) { c.Status(200) })
	stranger := ginusers.NewBackend("cookie", ginusers.NewBearerTransport(), a.backends[0].Strategy())
	a.plainGET("/none", ginusers.RequireUserFrom(a.m, []*ginusers.Backend{stranger}), func(c *gin.Context) { c.Status(200) })
	wantStatus(t, a.req("GET", "/cookie-only", nil, withCookie(c)...), 200)
	wantDetail(t, a.req("GET", "/cookie-only", nil, bearer(jwt)...), 401, "Unauthorized")
	wantDetail(t, a.req("GET", "/none", nil, withCookie(c)...), 401, "Unauthorized")
}
