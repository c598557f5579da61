package ginusers_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// TestRouteTableMatchesWhatIsMounted: the table Routes returns is exactly
// what it mounts (no route mounted without an entry, no entry unmounted),
// and every entry is complete enough to document its route.
func TestRouteTableMatchesWhatIsMounted(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) *app{
		"one backend":    func(t *testing.T) *app { return newApp(t) },
		"three backends": func(t *testing.T) *app { return multiApp(t, "mongo") },
	} {
		t.Run(name, func(t *testing.T) {
			a := mk(t)
			e := gin.New()
			table := ginusers.Routes(e.Group("/api"), a.m)
			var mounted, listed []string
			for _, ri := range e.Routes() {
				mounted = append(mounted, ri.Method+" "+ri.Path)
			}
			names := map[string]bool{}
			for _, r := range table {
				listed = append(listed, r.Method+" "+r.Path)
				switch {
				case r.Name == "" || names[r.Name]:
					t.Errorf("route %s %s: name %q is empty or not unique", r.Method, r.Path, r.Name)
				case r.Summary == "" || r.Tag == "":
					t.Errorf("route %s has no summary or tag", r.Name)
				case r.Success < 200 || r.Success > 299:
					t.Errorf("route %s: success status %d", r.Name, r.Success)
				case r.Handle == nil:
					t.Errorf("route %s has no handler", r.Name)
				case !strings.HasPrefix(r.Path, "/api/"):
					t.Errorf("route %s: path %q is not the full path under the group", r.Name, r.Path)
				case (r.Success == http.StatusNoContent) != (r.Response == nil):
					t.Errorf("route %s: a %d answer with body %v", r.Name, r.Success, r.Response)
				}
				names[r.Name] = true
			}
			slices.Sort(mounted)
			slices.Sort(listed)
			if !slices.Equal(mounted, listed) {
				t.Fatalf("mounted routes:\n%s\nroute table:\n%s", strings.Join(mounted, "\n"), strings.Join(listed, "\n"))
			}
			if want := 11 + 2*len(a.m.Backends()); len(table) != want {
				t.Fatalf("%d routes, want %d", len(table), want)
			}
		})
	}
}

// countingStrategy counts the tokens a strategy reads.
type countingStrategy struct {
	ginusers.Strategy
	reads atomic.Int64
}

func (s *countingStrategy) ReadToken(ctx context.Context, token string) (ginusers.TokenInfo, error) {
	s.reads.Add(1)
	return s.Strategy.ReadToken(ctx, token)
}

// TestMountingRespectsGroupMiddleware: under RequireUser on the group, the
// users routes use its session instead of authenticating again, and a
// narrower RequireUserFrom on the group is not overridden.
func TestMountingRespectsGroupMiddleware(t *testing.T) {
	a := multiApp(t, "mongo")
	jwt := &countingStrategy{Strategy: a.backends[0].Strategy()}
	jwtB := ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwt)
	m, err := ginusers.New[Fields](a.store, ginusers.WithSecret(testSecret), ginusers.WithLogger(discardLogger),
		ginusers.WithPasswordHasher(a.hasher), ginusers.WithBackends(jwtB, a.backends[1]))
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	ginusers.RegisterRoutes(e.Group("/auth"), m)
	ginusers.UsersRoutes(e.Group("/users", ginusers.RequireUser(m)), m)
	ginusers.UsersRoutes(e.Group("/cookie-users", ginusers.RequireUserFrom(m, []*ginusers.Backend{a.backends[1]})), m)
	ginusers.AuthRoutes(e.Group("/auth/jwt"), m, jwtB)
	ginusers.AuthRoutes(e.Group("/auth/cookie"), m, a.backends[1])
	a.engine = e
	a.register("king.arthur@camelot.bt", "guinevere")
	tok := a.login("king.arthur@camelot.bt", "guinevere")

	before := jwt.reads.Load()
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)
	if n := jwt.reads.Load() - before; n != 1 {
		t.Fatalf("GET /users/me under RequireUser read the token %d times, want once", n)
	}
	before = jwt.reads.Load()
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"first_name": "Arthur"}, bearer(tok)...), 200)
	if n := jwt.reads.Load() - before; n != 1 {
		t.Fatalf("PATCH /users/me under RequireUser read the token %d times, want once", n)
	}
	wantDetail(t, a.req("GET", "/cookie-users/me", nil, bearer(tok)...), 401, "Unauthorized")

	// A route limited to some backends does not take the session another
	// backend gave the group's OptionalUser.
	cookieOnly := ginusers.Route{
		Name: "cookie:me", Method: http.MethodGet, Path: "/me", Summary: "Me, by cookie", Tag: "custom",
		Auth: &ginusers.Auth{Backends: []*ginusers.Backend{a.backends[1]}}, Success: http.StatusOK,
		Handle: func(c *gin.Context) error { u, _ := m.CurrentUser(c); return ginusers.WriteUser(c, http.StatusOK, u) },
	}
	ginusers.Mount(e.Group("/optional", ginusers.OptionalUser(m)), m, cookieOnly)
	wantDetail(t, a.req("GET", "/optional/me", nil, bearer(tok)...), 401, "Unauthorized")
	c := a.cookieLogin("king.arthur@camelot.bt", "guinevere")
	wantStatus(t, a.req("GET", "/optional/me", nil, withCookie(c)...), 200)
}

// outsideRouter is a router written outside package ginusers, with its
// exported API only: routes as data, mounted by Mount, calling the
// Manager's verbs. It must answer exactly as the built-in routes do.
func outsideRouter(r gin.IRouter, m *ginusers.Manager[Fields], b *ginusers.Backend) []ginusers.Route {
	type registration struct {
		Email    string `json:"email" binding:"required"`
		Password string `json:"password" binding:"required"`
	}
	type verification struct {
		Token string `json:"token" binding:"required"`
	}
	user := &ginusers.Body{Shape: ginusers.ShapeUser, Type: reflect.TypeFor[Fields]()}
	return ginusers.Mount(r, m,
		ginusers.Route{
			Name: "custom:register", Method: http.MethodPost, Path: "/register", Summary: "Register", Tag: "custom",
			Request: &ginusers.Body{Type: reflect.TypeFor[registration]()}, Success: http.StatusCreated, Response: user,
			Errors: []ginusers.ErrorCase{
				{Err: ginusers.ErrUserExists, Status: 400, Code: ginusers.CodeRegisterUserAlreadyExists},
				{Err: ginusers.ErrInvalidPassword, Status: 400, Code: ginusers.CodeRegisterInvalidPassword},
			},
			Handle: func(c *gin.Context) error {
				var in registration
				if err := ginusers.BindJSON(c, &in); err != nil {
					return err
				}
				u, err := m.Register(c.Request.Context(), ginusers.UserCreate[Fields]{Email: in.Email, Password: in.Password})
				if err != nil {
					return err
				}
				return ginusers.WriteUser(c, http.StatusCreated, u)
			},
		},
		ginusers.Route{
			Name: "custom:login", Method: http.MethodPost, Path: "/login", Summary: "Log in", Tag: "custom",
			Request: &ginusers.Body{ContentType: "application/x-www-form-urlencoded", Shape: ginusers.ShapeLoginForm},
			Backend: b, Success: http.StatusOK, Response: &ginusers.Body{Type: reflect.TypeOf(b.Transport().LoginResponse("").Body)},
			Errors: []ginusers.ErrorCase{{Err: ginusers.ErrInvalidCredentials, Status: 400, Code: ginusers.CodeLoginBadCredentials}},
			Handle: func(c *gin.Context) error {
				f := ginusers.RouteForm(c)
				_, resp, err := m.Login(c.Request.Context(), b, c.Request, strings.Join(f["username"], ""), strings.Join(f["password"], ""))
				if err != nil {
					return err
				}
				ginusers.WriteResponse(c, resp)
				return nil
			},
		},
		ginusers.Route{
			Name: "custom:me", Method: http.MethodGet, Path: "/me", Summary: "Me", Tag: "custom",
			Auth: &ginusers.Auth{}, Success: http.StatusOK, Response: user,
			Handle: func(c *gin.Context) error {
				u, _ := m.CurrentUser(c)
				return ginusers.WriteUser(c, http.StatusOK, u)
			},
		},
		ginusers.Route{
			Name: "custom:logout_all", Method: http.MethodPost, Path: "/logout-all", Summary: "Log out everywhere", Tag: "custom",
			Auth: &ginusers.Auth{}, Success: http.StatusNoContent,
			Handle: func(c *gin.Context) error {
				s, _ := m.CurrentSession(c)
				if err := m.LogoutAll(c.Request.Context(), s.User); err != nil {
					return err
				}
				ginusers.WriteResponse(c, s.Backend.Transport().LogoutResponse())
				return nil
			},
		},
		ginusers.Route{
			Name: "custom:verify", Method: http.MethodPost, Path: "/verify", Summary: "Verify", Tag: "custom",
			Request: &ginusers.Body{Type: reflect.TypeFor[verification]()}, Success: http.StatusOK, Response: user,
			Errors: []ginusers.ErrorCase{
				{Err: ginusers.ErrInvalidToken, Status: 400, Code: ginusers.CodeVerifyUserBadToken},
				{Err: ginusers.ErrAlreadyVerified, Status: 400, Code: ginusers.CodeVerifyUserAlreadyVerified},
			},
			Handle: func(c *gin.Context) error {
				var in verification
				if err := ginusers.BindJSON(c, &in); err != nil {
					return err
				}
				u, err := m.Verify(c.Request.Context(), in.Token)
				if err != nil {
					return err
				}
				return ginusers.WriteUser(c, http.StatusOK, u)
			},
		},
	)
}

// TestRouterOutsideThePackage: a router written with the exported API only
// registers, logs in, authenticates requests and answers errors exactly as
// the built-in routes do (same status, same body, same WWW-Authenticate).
func TestRouterOutsideThePackage(t *testing.T) {
	mb := &mailbox{}
	a := newApp(t, mailboxOptions(mb)...)
	a.document(outsideRouter(a.engine.Group("/custom"), a.m, a.backends[0])...)

	same := func(name string, builtin, custom response) {
		t.Helper()
		if builtin.Code != custom.Code || builtin.Header.Get("WWW-Authenticate") != custom.Header.Get("WWW-Authenticate") {
			t.Errorf("%s: built-in %d %q, outside %d %q", name, builtin.Code, builtin.Header.Get("WWW-Authenticate"), custom.Code, custom.Header.Get("WWW-Authenticate"))
		}
		if builtin.Code != http.StatusCreated && builtin.Code != http.StatusOK && builtin.Body != custom.Body {
			t.Errorf("%s: built-in body %s, outside body %s", name, builtin.Body, custom.Body)
		}
	}
	// Registration: success, a taken address, a refused password, bad bodies.
	reg := func(prefix string, body any) response { return a.req("POST", prefix+"/register", body) }
	b1, c1 := reg("/auth", map[string]any{"email": "arthur@camelot.bt", "password": "guinevere"}), reg("/custom", map[string]any{"email": "lancelot@camelot.bt", "password": "guinevere"})
	same("register", b1, c1)
	for _, body := range []any{
		map[string]any{"email": "Arthur@Camelot.bt", "password": "guinevere"},
		map[string]any{"email": "kay@camelot.bt", "password": "short"},
		`{"email": `,
		`[1, 2]`,
		map[string]any{"email": "not-an-address", "password": "guinevere"},
	} {
		same("register with a bad body", reg("/auth", body), reg("/custom", body))
	}
	// Login and the session it starts.
	login := func(prefix string, form url.Values) response {
		return a.req("POST", prefix, form)
	}
	bl := login("/auth/jwt/login", url.Values{"username": {"arthur@camelot.bt"}, "password": {"guinevere"}})
	cl := login("/custom/login", url.Values{"username": {"lancelot@camelot.bt"}, "password": {"guinevere"}})
	same("login", bl, cl)
	same("login with a wrong password",
		login("/auth/jwt/login", url.Values{"username": {"arthur@camelot.bt"}, "password": {"wrong"}}),
		login("/custom/login", url.Values{"username": {"arthur@camelot.bt"}, "password": {"wrong"}}))
	ctok, _ := cl.Field("access_token").(string)
	// Authentication: a token from the outside login works on both, and
	// no token, a forged one, are refused alike.
	same("me", a.req("GET", "/users/me", nil, bearer(ctok)...), a.req("GET", "/custom/me", nil, bearer(ctok)...))
	same("me without a token", a.req("GET", "/users/me", nil), a.req("GET", "/custom/me", nil))
	same("me with a forged token", a.req("GET", "/users/me", nil, bearer("forged")...), a.req("GET", "/custom/me", nil, bearer("forged")...))
	// Verification.
	tok := a.requestVerify(mb, "lancelot@camelot.bt")
	same("verify a bad token", a.req("POST", "/auth/verify", map[string]any{"token": "bad"}), a.req("POST", "/custom/verify", map[string]any{"token": "bad"}))
	wantStatus(t, a.req("POST", "/custom/verify", map[string]any{"token": tok}), 200)
	same("verify twice", a.req("POST", "/auth/verify", map[string]any{"token": tok}), a.req("POST", "/custom/verify", map[string]any{"token": tok}))
	// Logging out everywhere ends the session on both.
	wantStatus(t, a.req("POST", "/custom/logout-all", nil, bearer(ctok)...), 204)
	same("me after logout-all", a.req("GET", "/users/me", nil, bearer(ctok)...), a.req("GET", "/custom/me", nil, bearer(ctok)...))
}
