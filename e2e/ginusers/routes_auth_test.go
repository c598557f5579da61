package ginusers_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

func form(username, password string) url.Values {
	return url.Values{"username": {username}, "password": {password}}
}

func TestLogin(t *testing.T) {
	var hooked []string
	a := newApp(t, ginusers.OnAfterLogin(func(ctx context.Context, u *User, r *http.Request, resp *ginusers.Response) error {
		if ctx == nil || r == nil || u == nil || resp == nil {
			t.Error("after-login hook got a nil argument")
		}
		resp.Header.Set("X-Hooked", "yes")
		hooked = append(hooked, u.Email)
		return nil
	}))
	a.register("king.arthur@camelot.bt", "guinevere")
	a.user("inactive@camelot.bt", false, false, false)

	tests := []struct {
		name   string
		body   any
		status int
		detail any
		field  string
	}{
		{"an empty form is 422", url.Values{}, 422, nil, "username"},
		{"a missing password is 422", url.Values{"username": {"king.arthur@camelot.bt"}}, 422, nil, "password"},
		{"a missing username is 422", url.Values{"password": {"guinevere"}}, 422, nil, "username"},
		{"an empty password is 422", form("king.arthur@camelot.bt", ""), 422, nil, "password"},
		{"a JSON body is 422", `{"username": "king.arthur@camelot.bt", "password": "guinevere"}`, 422, nil, "username"},
		{"a grant_type other than password is 422", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}, "grant_type": {"client_credentials"}}, 422, nil, "grant_type"},
		{"an unknown email is 400", form("lancelot@camelot.bt", "guinevere"), 400, "LOGIN_BAD_CREDENTIALS", ""},
		{"a wrong password is 400", form("king.arthur@camelot.bt", "wrong-password"), 400, "LOGIN_BAD_CREDENTIALS", ""},
		{"an inactive user is 400 with the same code", form("inactive@camelot.bt", "password123"), 400, "LOGIN_BAD_CREDENTIALS", ""},
		{"an operator-looking username is just a string", form(`{"$ne": ""}`, "guinevere"), 400, "LOGIN_BAD_CREDENTIALS", ""},
		{"a regex-looking username matches nothing", form(".*", "guinevere"), 400, "LOGIN_BAD_CREDENTIALS", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "/auth/jwt/login", tt.body)
			if tt.status == 422 {
				want422(t, r, tt.field)
				return
			}
			wantDetail(t, r, tt.status, tt.detail.(string))
		})
	}
	if len(hooked) != 0 {
		t.Fatalf("after-login hook ran for failed logins: %v", hooked)
	}

	for _, name := range []string{"king.arthur@camelot.bt", "King.Arthur@Camelot.bt", "KING.ARTHUR@CAMELOT.BT"} {
		t.Run("a valid login as "+name+" is 200 bearer JSON", func(t *testing.T) {
			r := a.req("POST", "/auth/jwt/login", url.Values{"username": {name}, "password": {"guinevere"}, "grant_type": {"password"}, "scope": {"x"}, "client_id": {"c"}, "client_secret": {"s"}})
			wantStatus(t, r, http.StatusOK)
			if r.Field("token_type") != "bearer" || r.Field("access_token") == "" || len(r.JSON().(map[string]any)) != 2 {
				t.Fatalf("login body = %s, want {access_token, token_type: bearer}", r.Body)
			}
			if r.Header.Get("X-Hooked") != "yes" {
				t.Fatal("the after-login hook could not add a header")
			}
			me := a.req("GET", "/users/me", nil, bearer(r.Field("access_token").(string))...)
			wantStatus(t, me, http.StatusOK)
			if me.Field("email") != "king.arthur@camelot.bt" {
				t.Fatalf("/users/me = %s", me.Body)
			}
		})
	}
	if len(hooked) != 3 {
		t.Fatalf("after-login hook ran %d times, want 3", len(hooked))
	}
}

func TestLoginMultipartForm(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", "king.arthur@camelot.bt")
	_ = w.WriteField("password", "guinevere")
	_ = w.Close()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "/auth/jwt/login", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	rec := httptest.NewRecorder()
	a.engine.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("multipart login = %d %s, want 200", rec.Code, rec.Body)
	}
}

func TestLoginRequiresVerification(t *testing.T) {
	a := newApp(t, ginusers.WithRequireVerified())
	a.user("unverified@camelot.bt", true, false, false)
	a.user("verified@camelot.bt", true, false, true)
	wantDetail(t, a.req("POST", "/auth/jwt/login", form("unverified@camelot.bt", "password123")), 400, "LOGIN_USER_NOT_VERIFIED")
	wantDetail(t, a.req("POST", "/auth/jwt/login", form("unverified@camelot.bt", "wrong-password")), 400, "LOGIN_BAD_CREDENTIALS")
	wantStatus(t, a.req("POST", "/auth/jwt/login", form("verified@camelot.bt", "password123")), 200)
}

func TestLoginCostsOneHashWhetherOrNotTheUserExists(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")
	a.user("inactive@camelot.bt", false, false, false)
	for _, tt := range []struct{ name, user, password string }{
		{"unknown email", "nobody@camelot.bt", "guinevere"},
		{"wrong password", "king.arthur@camelot.bt", "not-guinevere"},
		{"inactive user", "inactive@camelot.bt", "password123"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h0, c0 := a.hasher.Hashes.Load(), a.hasher.Checks.Load()
			wantDetail(t, a.req("POST", "/auth/jwt/login", form(tt.user, tt.password)), 400, "LOGIN_BAD_CREDENTIALS")
			if work := a.hasher.Hashes.Load() - h0 + a.hasher.Checks.Load() - c0; work != 1 {
				t.Fatalf("password hash calls = %d, want 1", work)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")
	tok := a.login("king.arthur@camelot.bt", "guinevere")
	wantDetail(t, a.req("POST", "/auth/jwt/logout", nil), 401, "Unauthorized")
	r := a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...)
	wantStatus(t, r, http.StatusNoContent)
	if r.Body != "" {
		t.Fatalf("logout body = %q, want empty", r.Body)
	}
	// Logout ends the JWT (D7); fastapi-users would leave it valid until
	// it expires.
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")

	_, inactive := a.user("inactive@camelot.bt", false, false, false)
	wantDetail(t, a.req("POST", "/auth/jwt/logout", nil, bearer(inactive)...), 401, "Unauthorized")
}

func TestLogoutRequiresVerification(t *testing.T) {
	a := newApp(t, ginusers.WithRequireVerified())
	_, tok := a.user("unverified@camelot.bt", true, false, false)
	wantDetail(t, a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 403, "Forbidden")
	_, tok = a.user("verified@camelot.bt", true, false, true)
	wantStatus(t, a.req("POST", "/auth/jwt/logout", nil, bearer(tok)...), 204)
}

func TestLoginUpgradesAnOldHash(t *testing.T) {
	a := newApp(t)
	u, _ := a.user("king.arthur@camelot.bt", true, false, false)
	// A bcrypt hash made by passlib for fastapi-users (password "correct horse battery staple").
	bcrypt := "$2b$10$rCsKhWNKlj0db7l26IAUAeOxw7Cd6B/GRyEwwiXkwVteSQkxKS0iG"
	if _, err := a.store.Update(t.Context(), u.ID, ginusers.UserChange[Fields]{HashedPassword: &bcrypt}, ginusers.UserCondition{}); err != nil {
		t.Fatal(err)
	}
	a.login("king.arthur@camelot.bt", "correct horse battery staple")
	if h := a.stored(u.ID).HashedPassword; h[:10] != "$argon2id$" {
		t.Fatalf("hash after login = %.12s..., want it upgraded to argon2id", h)
	}
	a.login("king.arthur@camelot.bt", "correct horse battery staple")
}

func TestWrongMethodIs405(t *testing.T) {
	a := newApp(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/auth/jwt/login"},
		{"GET", "/auth/register"},
		{"PUT", "/users/me"},
		{"POST", "/users/me"},
	} {
		r := a.req(tt.method, tt.path, nil)
		wantDetail(t, r, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	wantDetail(t, a.req("GET", "/nowhere", nil), 404, "Not Found")
}
