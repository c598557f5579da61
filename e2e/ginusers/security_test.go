package ginusers_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// signJWT signs claims with HS256 (or alg) and key, for forging tests.
func signJWT(t *testing.T, alg jwa.SignatureAlgorithm, key []byte, claims map[string]any) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestTokenAttacksOverHTTP(t *testing.T) {
	a := newApp(t)
	u, valid := a.user("king.arthur@camelot.bt", true, false, false)
	gone, goneTok := a.user("gone@camelot.bt", true, false, false)
	if err := a.store.Delete(t.Context(), gone.ID, ginusers.UserCondition{}); err != nil {
		t.Fatal(err)
	}
	now := a.now
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"sub": u.ID, "aud": []string{"fastapi-users:auth"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(valid, ".")
	noneTok := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + b64([]byte(`{"sub":"`+u.ID+`","aud":["fastapi-users:auth"],"iat":1,"exp":9999999999,"is_superuser":true}`)) + "." + parts[2]
	critHdr := b64([]byte(`{"alg":"HS256","typ":"JWT","crit":["x-unknown"],"x-unknown":1}`))

	tests := []struct {
		name   string
		header string
		status int
	}{
		{"a valid token is accepted", "Bearer " + valid, 200},
		{"a lower-case bearer scheme is accepted", "bearer " + valid, 200},
		{"no header is refused", "", 401},
		{"a Bearerx prefix is refused", "Bearerx " + valid, 401},
		{"a Basic scheme is refused", "Basic " + valid, 401},
		{"garbage is refused", "Bearer not.a.jwt", 401},
		{"an alg none token is refused", "Bearer " + noneTok, 401},
		{"a tampered payload is refused", "Bearer " + tampered, 401},
		{"a token signed with another key is refused", "Bearer " + signJWT(t, jwa.HS256(), []byte("another secret that is long enough for HS256"), claims(nil)), 401},
		{"an HS512 token with the right key is refused (algorithm pinned)", "Bearer " + signJWT(t, jwa.HS512(), testSecret, claims(nil)), 401},
		{"an expired token is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})), 401},
		{"a token without exp is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"exp": nil})), 401},
		{"a token without iat (as fastapi-users makes them) is accepted (D5)", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"iat": nil})), 200},
		{"a token of another session epoch is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"epoch": "OTHER"})), 401},
		{"a token whose epoch is not a string is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"epoch": 1})), 401},
		{"a token without sub is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"sub": nil})), 401},
		{"a token without aud is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"aud": nil})), 401},
		{"a verify token is refused as an access token", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"aud": "fastapi-users:verify", "email": u.Email})), 401},
		{"a reset token is refused as an access token", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"aud": "fastapi-users:reset", "password_fgpt": "x"})), 401},
		{"an OAuth state token is refused as an access token", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"aud": "fastapi-users:oauth-state"})), 401},
		{"a token for an unparsable id is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"sub": "not-an-object-id"})), 401},
		{"an operator-looking sub is refused", "Bearer " + signJWT(t, jwa.HS256(), testSecret, claims(map[string]any{"sub": `{"$ne": null}`})), 401},
		{"a token for a deleted user is refused", "Bearer " + goneTok, 401},
		{"an unknown crit header is refused", "Bearer " + critHdr + "." + parts[1] + "." + parts[2], 401},
		{"a token of 100,000 dots is refused", "Bearer " + strings.Repeat(".", 100000), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.header != "" {
				h = []string{"Authorization", tt.header}
			}
			r := a.req("GET", "/users/me", nil, h...)
			if tt.status == 401 {
				wantDetail(t, r, 401, "Unauthorized")
				return
			}
			wantStatus(t, r, tt.status)
		})
	}

	t.Run("a token expires with the clock", func(t *testing.T) {
		a.now = now.Add(time.Hour + time.Second)
		defer func() { a.now = now }()
		wantDetail(t, a.req("GET", "/users/me", nil, bearer(valid)...), 401, "Unauthorized")
	})
}

func TestInjectionIsRefusedEverywhere(t *testing.T) {
	a := newApp(t)
	_, super := a.user("admin@camelot.bt", true, true, true)
	a.user("king.arthur@camelot.bt", true, false, false)
	ops := []any{
		map[string]any{"$ne": ""},
		map[string]any{"$gt": ""},
		map[string]any{"$regex": ".*"},
		map[string]any{"$where": "true"},
		[]any{"a@b.co"},
		123,
		true,
	}
	for _, field := range []string{"email", "password", "first_name", "last_name", "age", "is_active", "is_superuser", "is_verified"} {
		for _, op := range ops {
			body := map[string]any{"email": "new@camelot.bt", "password": "guinevere"}
			body[field] = op
			before := a.count()
			r := a.req("POST", "/auth/register", body)
			if r.Code == http.StatusCreated {
				// Only values of the right type may pass.
				switch field {
				case "age":
					if _, ok := op.(int); ok {
						a.m.Delete(t.Context(), a.mustGetByEmail("new@camelot.bt"))
						continue
					}
				case "is_active", "is_superuser", "is_verified":
					if _, ok := op.(bool); ok {
						got := a.mustGetByEmail("new@camelot.bt")
						if !got.Active || got.Superuser || got.Verified {
							t.Fatalf("register with %s=%v set a protected flag", field, op)
						}
						a.m.Delete(t.Context(), got)
						continue
					}
				}
				t.Fatalf("register with %s=%v = 201 %s, want 422", field, op, r.Body)
			}
			want422(t, r, field)
			if a.count() != before {
				t.Fatalf("register with %s=%v wrote a user", field, op)
			}
			p := a.req("PATCH", "/users/me", map[string]any{field: op}, bearer(super)...)
			if p.Code != 422 && p.Code != 200 {
				t.Fatalf("PATCH /users/me with %s=%v = %d %s", field, op, p.Code, p.Body)
			}
		}
	}
	// The token and e-mail fields of the verification and reset routes.
	for _, ep := range []struct {
		path  string
		field string
		body  map[string]any
	}{
		{"/auth/forgot-password", "email", map[string]any{}},
		{"/auth/request-verify-token", "email", map[string]any{}},
		{"/auth/verify", "token", map[string]any{}},
		{"/auth/reset-password", "token", map[string]any{"password": "guinevere"}},
		{"/auth/reset-password", "password", map[string]any{"token": "x"}},
	} {
		for _, op := range ops {
			body := map[string]any{ep.field: op}
			for k, v := range ep.body {
				body[k] = v
			}
			want422(t, a.req("POST", ep.path, body), ep.field)
		}
	}
	// Form fields are strings: an operator-looking login is a wrong login.
	for _, v := range []string{`{"$ne": ""}`, `[$ne]=`, ".*", "king.arthur@camelot.bt' || '1'=='1"} {
		wantDetail(t, a.req("POST", "/auth/jwt/login", url.Values{"username": {v}, "password": {v}}), 400, "LOGIN_BAD_CREDENTIALS")
		wantDetail(t, a.req("POST", "/auth/jwt/login", url.Values{"username": {"king.arthur@camelot.bt"}, "password": {v}}), 400, "LOGIN_BAD_CREDENTIALS")
	}
	// The admin is unchanged by all of this.
	if u := a.mustGetByEmail("admin@camelot.bt"); !u.Superuser || !u.Active || u.Email != "admin@camelot.bt" {
		t.Fatalf("admin after injections = %+v", u)
	}
}

func (a *app) mustGetByEmail(email string) *User {
	a.t.Helper()
	u, err := a.store.GetByEmail(a.t.Context(), email)
	if err != nil {
		a.t.Fatalf("GetByEmail(%s) error = %v", email, err)
	}
	return u
}

func TestHugeBodiesAre413Everywhere(t *testing.T) {
	a := newApp(t)
	_, tok := a.user("king.arthur@camelot.bt", true, false, false)
	huge := strings.Repeat("x", 2<<20)
	for _, tt := range []struct {
		name, method, path string
		body               any
		headers            []string
	}{
		{"login form", "POST", "/auth/jwt/login", url.Values{"username": {huge}, "password": {"x"}}, nil},
		{"register", "POST", "/auth/register", `{"email": "a@b.co", "password": "` + huge + `"}`, nil},
		{"PATCH /users/me", "PATCH", "/users/me", `{"first_name": "` + huge + `"}`, bearer(tok)},
		{"forgot-password", "POST", "/auth/forgot-password", `{"email": "` + huge + `"}`, nil},
		{"reset-password", "POST", "/auth/reset-password", `{"token": "` + huge + `", "password": "x"}`, nil},
		{"verify", "POST", "/auth/verify", `{"token": "` + huge + `"}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantDetail(t, a.req(tt.method, tt.path, tt.body, tt.headers...), http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		})
	}
	if u := a.mustGetByEmail("king.arthur@camelot.bt"); u.Fields.FirstName != nil {
		t.Fatal("an oversized PATCH was stored")
	}
}

// TestJSONRoutesRefuseOtherContentTypes: D1. A cross-site page can post
// text/plain or a form without a preflight; such a body is never parsed as
// JSON, so it can neither register an account nor change anything.
func TestJSONRoutesRefuseOtherContentTypes(t *testing.T) {
	a := newApp(t)
	_, tok := a.user("owner@camelot.bt", true, false, false)
	send := func(method, path, ct, body string, headers ...string) response {
		t.Helper()
		r := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		a.engine.ServeHTTP(w, r)
		return response{Code: w.Code, Header: w.Header(), Body: w.Body.String()}
	}
	for i, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonx", "garbage/;;", "text/json"} {
		t.Run("register with "+ct+" is 422 and creates nothing", func(t *testing.T) {
			email := fmt.Sprintf("csrf%d@camelot.bt", i)
			r := send("POST", "/auth/register", ct, `{"email": "`+email+`", "password": "guinevere"}`)
			want422(t, r, "")
			if _, err := a.m.GetByEmail(t.Context(), email); err == nil {
				t.Fatalf("a %s body registered %s", ct, email)
			}
		})
		t.Run("PATCH /users/me with "+ct+" is 422 and changes nothing", func(t *testing.T) {
			r := send("PATCH", "/users/me", ct, `{"first_name": "Mallory"}`, bearer(tok)...)
			want422(t, r, "")
			if got := a.mustGetByEmail("owner@camelot.bt"); got.Fields.FirstName != nil {
				t.Fatalf("a %s body changed first_name to %q", ct, *got.Fields.FirstName)
			}
		})
		t.Run("forgot-password with "+ct+" is 422", func(t *testing.T) {
			want422(t, send("POST", "/auth/forgot-password", ct, `{"email": "owner@camelot.bt"}`), "")
		})
	}
	t.Run("authentication comes first on PATCH /users/me", func(t *testing.T) {
		wantDetail(t, send("PATCH", "/users/me", "text/plain", `{"first_name": "Mallory"}`), 401, "Unauthorized")
	})
	for i, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json", "application/merge-patch+json"} {
		t.Run(fmt.Sprintf("register with %q is read as JSON", ct), func(t *testing.T) {
			wantStatus(t, send("POST", "/auth/register", ct, fmt.Sprintf(`{"email": "json%d@camelot.bt", "password": "guinevere"}`, i)), 201)
		})
	}
}
