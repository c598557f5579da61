package bench_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
	"github.com/ginusers/kit/redisstore"
	"github.com/ginusers/kit/redisstore/redistest"
)

// benchRouter mounts Routes on a manager over store and returns the router
// and a valid access token for a fresh user.
func benchRouter(b *testing.B, store ginusers.Store[Fields], opts ...ginusers.Option) (*gin.Engine, string) {
	b.Helper()
	m, err := ginusers.New(store, append([]ginusers.Option{ginusers.WithSecret(testSecret), ginusers.WithLogger(discardLogger)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	e := gin.New()
	ginusers.Routes(e, m)
	if _, err := m.Register(b.Context(), ginusers.UserCreate[Fields]{Email: "bench@camelot.bt", Password: "guinevere"}); err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/jwt/login", strings.NewReader(url.Values{"username": {"bench@camelot.bt"}, "password": {"guinevere"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.ServeHTTP(w, r)
	if w.Code != 200 {
		b.Fatalf("login = %d %s", w.Code, w.Body)
	}
	tok := w.Body.String()
	tok = tok[strings.Index(tok, `"access_token":"`)+16:]
	tok = tok[:strings.IndexByte(tok, '"')]
	return e, tok
}

func benchMe(b *testing.B, e *gin.Engine, tok string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/users/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		for pb.Next() {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("GET /users/me = %d", w.Code)
			}
		}
	})
}

// BenchmarkMe measures GET /users/me: JWT check plus a user lookup, with
// the in-memory store (the cost of ginusers itself) and with mongostore on
// the embedded FerretDB (or MONGODB_URI).
func BenchmarkMe(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) {
		e, tok := benchRouter(b, storetest.NewMemStore[Fields]())
		benchMe(b, e, tok)
	})
	b.Run("store=mongo", func(b *testing.B) {
		s := mongostore.New[Fields](mongotest.Database(b).Collection("users"))
		if err := s.EnsureIndexes(b.Context()); err != nil {
			b.Fatal(err)
		}
		e, tok := benchRouter(b, s)
		benchMe(b, e, tok)
	})
	b.Run("store=mongo/cache=5s", func(b *testing.B) {
		s := mongostore.New[Fields](mongotest.Database(b).Collection("users"))
		if err := s.EnsureIndexes(b.Context()); err != nil {
			b.Fatal(err)
		}
		e, tok := benchRouter(b, s, ginusers.WithUserCache(5*time.Second, 10000))
		benchMe(b, e, tok)
	})
}

// BenchmarkLogin measures POST /auth/jwt/login with the default argon2id
// parameters (m=19 MiB, t=2, p=1), in-memory store.
func BenchmarkLogin(b *testing.B) {
	e, _ := benchRouter(b, storetest.NewMemStore[Fields]())
	body := url.Values{"username": {"bench@camelot.bt"}, "password": {"guinevere"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/auth/jwt/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("login = %d", w.Code)
		}
	}
}

// BenchmarkMeByStrategy measures GET /users/me for each strategy, users in
// mongostore on the embedded FerretDB (or MONGODB_URI): a JWT (user
// lookup only), a database token in MongoDB (token and user lookups), a
// database token in Redis (a Redis GET, then the user lookup).
func BenchmarkMeByStrategy(b *testing.B) {
	for _, tt := range []struct {
		name  string
		store func(b *testing.B, db *mongo.Database) ginusers.AccessTokenStore
	}{
		{"jwt", nil},
		{"database/mongo", func(b *testing.B, db *mongo.Database) ginusers.AccessTokenStore {
			s := mongostore.NewTokenStore(db.Collection("access_tokens"))
			if err := s.EnsureIndexes(b.Context()); err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"database/redis", func(b *testing.B, _ *mongo.Database) ginusers.AccessTokenStore {
			return redisstore.New(redistest.Client(b))
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			db := mongotest.Database(b)
			users := mongostore.New[Fields](db.Collection("users"))
			if err := users.EnsureIndexes(b.Context()); err != nil {
				b.Fatal(err)
			}
			var opts []ginusers.Option
			if tt.store != nil {
				s, err := ginusers.NewDatabaseStrategy(tt.store(b, db))
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, ginusers.WithBackends(ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), s)))
			}
			e, tok := benchRouter(b, users, opts...)
			benchMe(b, e, tok)
		})
	}
}

// benchRequest sends one request through e and returns the recorder.
func benchRequest(b *testing.B, e *gin.Engine, method, path, body, ct string, headers ...string) *httptest.ResponseRecorder {
	b.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// BenchmarkRevocationCost measures what revocation adds to GET /users/me
// (in-memory store, so the difference is not hidden by a database round
// trip): the default revocable JWT, for a user whose sessions were revoked
// once (the token carries an epoch), without and with 16 tokens logged out
// one by one (the revoked-token list the request checks), against the same
// request with revocation switched off (WithInsecureIrrevocableJWT).
func BenchmarkRevocationCost(b *testing.B) {
	for _, tt := range []struct {
		name    string
		opts    []ginusers.JWTOption
		logouts int
	}{
		{"irrevocable", []ginusers.JWTOption{ginusers.WithInsecureIrrevocableJWT()}, 0},
		{"revocable", nil, 0},
		{"revocable/16-logged-out", nil, 16},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s, err := ginusers.NewJWTStrategy(testSecret, tt.opts...)
			if err != nil {
				b.Fatal(err)
			}
			e, tok := benchRouter(b, storetest.NewMemStore[Fields](),
				ginusers.WithBackends(ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), s)))
			login := func() string {
				w := benchRequest(b, e, "POST", "/auth/jwt/login", url.Values{"username": {"bench@camelot.bt"}, "password": {"guinevere"}}.Encode(), "application/x-www-form-urlencoded")
				if w.Code != 200 {
					b.Fatalf("login = %d", w.Code)
				}
				t := w.Body.String()
				t = t[strings.Index(t, `"access_token":"`)+16:]
				return t[:strings.IndexByte(t, '"')]
			}
			if w := benchRequest(b, e, "POST", "/auth/logout-all", "", "", "Authorization", "Bearer "+tok); w.Code != 204 {
				b.Fatalf("logout-all = %d", w.Code)
			}
			for range tt.logouts {
				if w := benchRequest(b, e, "POST", "/auth/jwt/logout", "", "", "Authorization", "Bearer "+login()); w.Code != 204 {
					b.Fatalf("logout = %d", w.Code)
				}
			}
			benchMe(b, e, login())
		})
	}
}
