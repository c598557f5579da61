package ginusers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// driverSecret stands for the text of a driver error, which must reach the
// log and never the client.
const driverSecret = "server selection error: mongodb://10.0.0.7:27017 connection refused"

// flakyStore is a MemStore whose reads and creates fail with err while
// down is set, as a database store does when the server is unreachable.
type flakyStore struct {
	*storetest.MemStore[Fields]
	down atomic.Bool
	err  error
}

func (s *flakyStore) fail(op string) error {
	if s.down.Load() {
		return fmt.Errorf("flakystore: %s: %w", op, s.err)
	}
	return nil
}

func (s *flakyStore) Create(ctx context.Context, u *User) error {
	if err := s.fail("create user"); err != nil {
		return err
	}
	return s.MemStore.Create(ctx, u)
}

func (s *flakyStore) Get(ctx context.Context, id string) (*User, error) {
	if err := s.fail("get user"); err != nil {
		return nil, err
	}
	return s.MemStore.Get(ctx, id)
}

func (s *flakyStore) GetByEmail(ctx context.Context, email string) (*User, error) {
	if err := s.fail("get user by email"); err != nil {
		return nil, err
	}
	return s.MemStore.GetByEmail(ctx, email)
}

// TestInternalErrorUnavailable checks that a store error wrapping
// ErrUnavailable is answered 503 with Retry-After and fastapi-users' body
// on every kind of route, logged at WARN without reaching the client, while
// other store errors stay 500s logged at ERROR.
func TestInternalErrorUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantCode   int
		wantBody   string
		wantRetry  string
		wantLevel  string
		otherLevel string
	}{
		{
			name:     "an unreachable database answers 503 with Retry-After",
			err:      fmt.Errorf("%w: %w", ginusers.ErrUnavailable, errors.New(driverSecret)),
			wantCode: http.StatusServiceUnavailable, wantBody: `{"detail":"Service Unavailable"}`,
			wantRetry: "5", wantLevel: "level=WARN", otherLevel: "level=ERROR",
		},
		{
			name:     "any other store failure stays a 500",
			err:      errors.New(driverSecret),
			wantCode: http.StatusInternalServerError, wantBody: `{"detail":"Internal Server Error"}`,
			wantRetry: "", wantLevel: "level=ERROR", otherLevel: "level=WARN",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			store := &flakyStore{MemStore: storetest.NewMemStore[Fields](), err: tc.err}
			m, err := ginusers.New[Fields](store,
				ginusers.WithSecret(testSecret),
				ginusers.WithPasswordHasher(storetest.NewCountingHasher()),
				ginusers.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			e := gin.New()
			ginusers.Routes(e, m)
			e.GET("/maybe", ginusers.OptionalUser(m), func(c *gin.Context) { c.String(200, "ok") })
			if _, err := m.Create(t.Context(), ginusers.UserCreate[Fields]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
				t.Fatalf("Create() error = %v", err)
			}
			login := url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}.Encode()
			w := serve(e, "POST", "/auth/jwt/login", "application/x-www-form-urlencoded", login, "")
			token := tokenOf(t, w)

			store.down.Store(true)
			for _, r := range []struct{ method, path, contentType, body, token string }{
				{"GET", "/users/me", "", "", token},
				{"GET", "/maybe", "", "", token},
				{"POST", "/auth/jwt/login", "application/x-www-form-urlencoded", login, ""},
				{"POST", "/auth/register", "application/json", `{"email": "lancelot@camelot.bt", "password": "guinevere"}`, ""},
				{"POST", "/auth/forgot-password", "application/json", `{"email": "king.arthur@camelot.bt"}`, ""},
			} {
				w := serve(e, r.method, r.path, r.contentType, r.body, r.token)
				if w.Code != tc.wantCode || w.Body.String() != tc.wantBody || w.Header().Get("Retry-After") != tc.wantRetry {
					t.Errorf("%s %s = %d %s (Retry-After %q), want %d %s (Retry-After %q)",
						r.method, r.path, w.Code, w.Body, w.Header().Get("Retry-After"), tc.wantCode, tc.wantBody, tc.wantRetry)
				}
			}
			got := logs.String()
			if !strings.Contains(got, tc.wantLevel) || strings.Contains(got, tc.otherLevel) || !strings.Contains(got, "connection refused") {
				t.Errorf("logs = %q, want the error at %s only", got, tc.wantLevel)
			}
		})
	}
}

func serve(e *gin.Engine, method, path, contentType, body, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

func tokenOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("login = %d %s, want 200", w.Code, w.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("login body %s: %v", w.Body, err)
	}
	return out.AccessToken
}
