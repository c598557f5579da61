package ginusers_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
)

func TestRequirements(t *testing.T) {
	a := newApp(t)
	type who struct{ active, super, verified bool }
	tokens := map[who]string{}
	i := 0
	for _, w := range []who{{true, false, false}, {true, false, true}, {true, true, false}, {true, true, true}, {false, false, true}, {false, true, true}} {
		i++
		_, tokens[w] = a.user("u"+string(rune('0'+i))+"@camelot.bt", w.active, w.super, w.verified)
	}
	routes := map[string][]ginusers.Requirement{
		"/plain":          nil,
		"/verified":       {ginusers.Verified},
		"/super":          {ginusers.Superuser},
		"/verified-super": {ginusers.Verified, ginusers.Superuser},
		"/inactive-ok":    {ginusers.AllowInactive, ginusers.Verified},
	}
	for path, reqs := range routes {
		a.plainGET(path, ginusers.RequireUser(a.m, reqs...), func(c *gin.Context) {
			u, ok := a.m.CurrentUser(c)
			v, ok2 := a.m.UserFromContext(c.Request.Context())
			if !ok || !ok2 || u != v {
				t.Errorf("CurrentUser/UserFromContext disagree: %v %v", u, v)
			}
			c.String(200, u.Email)
		})
	}
	for _, tt := range []struct {
		path string
		who  who
		want int
	}{
		{"/plain", who{true, false, false}, 200},
		{"/plain", who{false, false, true}, 401},
		{"/verified", who{true, false, false}, 403},
		{"/verified", who{true, false, true}, 200},
		{"/verified", who{false, false, true}, 401},
		{"/super", who{true, false, true}, 403},
		{"/super", who{true, true, false}, 200},
		{"/super", who{false, true, true}, 401},
		{"/verified-super", who{true, true, false}, 403},
		{"/verified-super", who{true, true, true}, 200},
		{"/inactive-ok", who{false, false, true}, 200},
		{"/inactive-ok", who{true, false, false}, 403},
	} {
		r := a.req("GET", tt.path, nil, bearer(tokens[tt.who])...)
		if r.Code != tt.want {
			t.Errorf("GET %s as %+v = %d %s, want %d", tt.path, tt.who, r.Code, r.Body, tt.want)
		}
	}
}

func TestOptionalUser(t *testing.T) {
	a := newApp(t)
	_, tok := a.user("king.arthur@camelot.bt", true, false, false)
	_, inactive := a.user("inactive@camelot.bt", false, false, false)
	a.plainGET("/maybe", ginusers.OptionalUser(a.m), func(c *gin.Context) {
		if u, ok := a.m.CurrentUser(c); ok {
			c.String(200, u.Email)
			return
		}
		c.String(200, "anonymous")
	})
	a.plainGET("/maybe-verified", ginusers.OptionalUser(a.m, ginusers.Verified), func(c *gin.Context) {
		_, ok := a.m.CurrentUser(c)
		c.JSON(200, ok)
	})
	for _, tt := range []struct{ path, header, want string }{
		{"/maybe", "", "anonymous"},
		{"/maybe", "Bearer " + tok, "king.arthur@camelot.bt"},
		{"/maybe", "Bearer forged", "anonymous"},
		{"/maybe", "Bearer " + inactive, "anonymous"},
		{"/maybe-verified", "Bearer " + tok, "false"},
	} {
		var h []string
		if tt.header != "" {
			h = []string{"Authorization", tt.header}
		}
		r := a.req("GET", tt.path, nil, h...)
		if r.Code != 200 || r.Body != tt.want {
			t.Errorf("GET %s with %q = %d %q, want 200 %q", tt.path, tt.header, r.Code, r.Body, tt.want)
		}
	}
}

func TestCurrentUserWithoutMiddleware(t *testing.T) {
	a := newApp(t)
	c, _ := gin.CreateTestContext(nil)
	c.Request, _ = http.NewRequest("GET", "/", nil)
	if u, ok := a.m.CurrentUser(c); ok || u != nil {
		t.Fatalf("CurrentUser() = %v, %v; want nil, false", u, ok)
	}
	if u, ok := a.m.UserFromContext(context.Background()); ok || u != nil {
		t.Fatalf("UserFromContext() = %v, %v; want nil, false", u, ok)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	a := newApp(t)
	var ce *ginusers.ConfigError
	for _, tt := range []struct {
		name string
		opts []ginusers.Option
	}{
		{"no secret", nil},
		{"a short secret", []ginusers.Option{ginusers.WithSecret([]byte("short"))}},
		{"a zero token lifetime", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithTokenLifetime(0)}},
		{"a negative reset lifetime", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithResetLifetime(-1)}},
		{"a short verify secret", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithVerifySecret([]byte("x"))}},
		{"no hashing slot", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithMaxConcurrentHashes(0)}},
		{"duplicate backend names", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithBackends(
			ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), mustJWT(t)),
			ginusers.NewBackend("j-w-t", ginusers.NewBearerTransport(), mustJWT(t)),
		)}},
		{"a hook for another user type", []ginusers.Option{ginusers.WithSecret(testSecret), ginusers.OnAfterRegister(func(context.Context, *ginusers.User[ginusers.NoFields]) error { return nil })}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ginusers.New[Fields](a.store, tt.opts...)
			if !errors.As(err, &ce) {
				t.Fatalf("New() error = %v, want a *ConfigError", err)
			}
		})
	}
}

func mustJWT(t *testing.T) *ginusers.JWTStrategy {
	s, err := ginusers.NewJWTStrategy(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHooksRunInOrder(t *testing.T) {
	var got []string
	hook := func(name string) ginusers.UserHook[Fields] {
		return func(_ context.Context, u *User) error {
			if u.ID == "" {
				t.Errorf("hook %s ran before the user was stored", name)
			}
			got = append(got, name)
			return nil
		}
	}
	a := newApp(t, ginusers.OnAfterRegister(hook("first")), ginusers.OnAfterRegister(hook("second")))
	a.register("king.arthur@camelot.bt", "guinevere")
	if !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("hooks ran as %v, want [first second]", got)
	}
}

func TestHookErrors(t *testing.T) {
	boom := errors.New("boom")
	a := newApp(t,
		ginusers.OnAfterRegister(func(context.Context, *User) error { return boom }),
		ginusers.OnBeforeDelete(func(context.Context, *User) error { return boom }),
	)
	r := a.req("POST", "/auth/register", map[string]any{"email": "a@b.co", "password": "guinevere"})
	wantDetail(t, r, 500, "Internal Server Error")
	if strings := r.Body; len(strings) > 40 {
		t.Fatalf("500 body leaks details: %s", r.Body)
	}
	// The user exists (the hook runs after the insert), as documented.
	u := a.mustGetByEmail("a@b.co")
	if err := a.m.Delete(t.Context(), u); !errors.Is(err, boom) {
		t.Fatalf("Delete() error = %v, want the before-delete hook's", err)
	}
	a.mustGetByEmail("a@b.co") // the before-delete hook cancelled the deletion
}

func TestPasswordValidatorHooks(t *testing.T) {
	a := newApp(t, ginusers.WithPasswordValidator(func(_ context.Context, pw string, u *User) error {
		if u.Email != "" && pw == u.Email {
			return &ginusers.PasswordError{Reason: "Password should not be the e-mail"}
		}
		return nil
	}))
	wantCode(t, a.req("POST", "/auth/register", map[string]any{"email": "a@b.co.uk", "password": "a@b.co.uk"}), "REGISTER_INVALID_PASSWORD", "Password should not be the e-mail")
	a.register("a@b.co.uk", "guinevere")
}

func TestUserCache(t *testing.T) {
	a := newApp(t, ginusers.WithUserCache(5*time.Second, 100))
	u, tok := a.user("king.arthur@camelot.bt", true, false, false)
	_, admin := a.user("admin@camelot.bt", true, true, true)
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)

	// A change made through the manager is seen at once.
	wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"first_name": "Arthur"}, bearer(tok)...), 200)
	if r := a.req("GET", "/users/me", nil, bearer(tok)...); r.Field("first_name") != "Arthur" {
		t.Fatalf("/users/me after PATCH = %s", r.Body)
	}
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": false}, bearer(admin)...), 200)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
	wantStatus(t, a.req("PATCH", "/users/"+u.ID, map[string]any{"is_active": true}, bearer(admin)...), 200)
	// The deactivation ended the session for good; a new login works.
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
	tok = a.login("king.arthur@camelot.bt", "password123")
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)

	// A change made behind the manager's back (another instance) is seen
	// once the entry expires.
	if _, err := a.coll.UpdateOne(t.Context(), bson.M{"email_key": "king.arthur@camelot.bt"}, bson.M{"$set": bson.M{"is_active": false}}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)
	a.now = a.now.Add(5 * time.Second)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")

	// A deleted user is gone at once.
	_, tok2 := a.user("lancelot@camelot.bt", true, false, false)
	l := a.mustGetByEmail("lancelot@camelot.bt")
	wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok2)...), 200)
	wantStatus(t, a.req("DELETE", "/users/"+l.ID, nil, bearer(admin)...), 204)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok2)...), 401, "Unauthorized")

	if _, err := ginusers.New[Fields](a.store, ginusers.WithSecret(testSecret), ginusers.WithUserCache(0, 10)); err == nil {
		t.Fatal("New() with a zero cache ttl = nil error")
	}
}
