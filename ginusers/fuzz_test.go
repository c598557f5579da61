package ginusers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// fuzzRouter is a router on an in-memory store with cheap hashing, and a
// verify and a reset token for its one user, captured from the hooks.
type fuzzRouter struct {
	engine             *gin.Engine
	verifyTok, resetTk string
}

var (
	fuzzOnce sync.Once
	fuzzR    *fuzzRouter
)

func newFuzzRouter(t testing.TB) *fuzzRouter {
	fuzzOnce.Do(func() {
		fr := &fuzzRouter{}
		m, err := ginusers.New(storetest.NewMemStore[Fields](),
			ginusers.WithSecret(testSecret),
			ginusers.WithLogger(discardLogger),
			ginusers.WithPasswordHasher(storetest.NewCountingHasher()),
			ginusers.OnAfterRequestVerify(func(_ context.Context, _ *User, tok string) error { fr.verifyTok = tok; return nil }),
			ginusers.OnAfterForgotPassword(func(_ context.Context, _ *User, tok string) error { fr.resetTk = tok; return nil }),
		)
		if err != nil {
			panic(err)
		}
		u, err := m.Register(context.Background(), ginusers.UserCreate[Fields]{Email: "king.arthur@camelot.bt", Password: "guinevere"})
		if err != nil {
			panic(err)
		}
		if err := m.RequestVerify(context.Background(), u); err != nil {
			panic(err)
		}
		if err := m.ForgotPassword(context.Background(), u); err != nil {
			panic(err)
		}
		fr.engine = gin.New()
		ginusers.Routes(fr.engine, m)
		fuzzR = fr
	})
	return fuzzR
}

func (fr *fuzzRouter) post(path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	fr.engine.ServeHTTP(w, r)
	return w
}

// FuzzRegisterBody sends arbitrary bodies to POST /auth/register: the
// answer is a clean 201, 400, 413 or 422, never a 500 or a panic, and a
// 201 never makes a superuser.
func FuzzRegisterBody(f *testing.F) {
	for _, s := range []string{
		`{"email": "a@b.co", "password": "guinevere"}`,
		`{"email": {"$ne": ""}, "password": "guinevere"}`,
		`{"email": "a@b.co", "password": "guinevere", "is_superuser": true, "age": 3}`,
		`{"email": null}`, `[]`, `"x"`, `{`, ``, `{"first_name": {"$where": "1"}}`,
		`{"email": "a@b.co", "password": "guinevere", "age": 1e400}`,
	} {
		f.Add(s)
	}
	fr := newFuzzRouter(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := fr.post("/auth/register", body)
		switch w.Code {
		case 201:
			var u map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil || u["is_superuser"] != false || u["is_active"] != true {
				t.Fatalf("register %q = 201 %s", body, w.Body)
			}
		case 400, 413, 422:
		default:
			t.Fatalf("register %q = %d %s", body, w.Code, w.Body)
		}
	})
}

// FuzzVerifyToken sends arbitrary tokens to POST /auth/verify: only the
// token issued for the user verifies; anything else is 400 or 422.
func FuzzVerifyToken(f *testing.F) {
	fr := newFuzzRouter(f)
	for _, s := range []string{fr.verifyTok, fr.resetTk, "", "a.b.c", strings.Repeat(".", 1000), fr.verifyTok + "x", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		body, _ := json.Marshal(map[string]string{"token": token})
		w := fr.post("/auth/verify", string(body))
		switch {
		case w.Code == http.StatusOK || w.Code == 400 && strings.Contains(w.Body.String(), "VERIFY_USER_ALREADY_VERIFIED"):
			if token != fr.verifyTok {
				t.Fatalf("verify accepted a token it did not issue: %q", token)
			}
		case w.Code == 400 && strings.Contains(w.Body.String(), "VERIFY_USER_BAD_TOKEN"), w.Code == 422:
		default:
			t.Fatalf("verify %q = %d %s", token, w.Code, w.Body)
		}
	})
}

// FuzzResetToken sends arbitrary tokens to POST /auth/reset-password, with
// a password that the validator refuses so the token is never used up:
// only the issued token gets as far as the password check.
func FuzzResetToken(f *testing.F) {
	fr := newFuzzRouter(f)
	for _, s := range []string{fr.resetTk, fr.verifyTok, "", "a.b.c", fr.resetTk + "x", "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		body, _ := json.Marshal(map[string]string{"token": token, "password": "short"})
		w := fr.post("/auth/reset-password", string(body))
		switch {
		case w.Code == 400 && strings.Contains(w.Body.String(), "RESET_PASSWORD_INVALID_PASSWORD"):
			if token != fr.resetTk {
				t.Fatalf("reset accepted a token it did not issue: %q", token)
			}
		case w.Code == 400 && strings.Contains(w.Body.String(), "RESET_PASSWORD_BAD_TOKEN"), w.Code == 422:
		default:
			t.Fatalf("reset %q = %d %s", token, w.Code, w.Body)
		}
	})
}
