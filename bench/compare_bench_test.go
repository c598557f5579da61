package bench_test

import (
	"net/http"
	"testing"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

// BenchmarkAuthenticatedRequest compares an authenticated GET of the
// current user with appleboy/gin-jwt, the Go JWT middleware we measure
// ourselves against. gin-jwt only checks the token and answers its claims;
// ginusers also loads the user (from the store or its cache) and answers
// the whole user. Run with -cpu 1 for a per-core figure.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	b.Run("gin-jwt", func(b *testing.B) {
		mw, err := jwt.New(&jwt.GinJWTMiddleware{
			Realm: "bench", Key: testSecret, Timeout: time.Hour, MaxRefresh: time.Hour, IdentityKey: "id",
			PayloadFunc: func(data any) jwt.MapClaims { return jwt.MapClaims{"id": data} },
			IdentityHandler: func(c *gin.Context) any {
				return jwt.ExtractClaims(c)["id"]
			},
			Authenticator: func(*gin.Context) (any, error) { return nil, jwt.ErrFailedAuthentication },
			Authorizator:  func(any, *gin.Context) bool { return true },
		})
		if err != nil {
			b.Fatal(err)
		}
		tok, _, err := mw.TokenGenerator("665f1c2e8a1b2c3d4e5f6a7b")
		if err != nil {
			b.Fatal(err)
		}
		e := gin.New()
		e.GET("/users/me", mw.MiddlewareFunc(), func(c *gin.Context) {
			id, _ := c.Get("id")
			c.JSON(http.StatusOK, gin.H{"id": id})
		})
		benchMe(b, e, tok)
	})
	b.Run("ginusers/store=memory", func(b *testing.B) {
		e, tok := benchRouter(b, storetest.NewMemStore[Fields]())
		benchMe(b, e, tok)
	})
	b.Run("ginusers/store=mongo/cache=5s", func(b *testing.B) {
		s := mongostore.New[Fields](mongotest.Database(b).Collection("users"))
		if err := s.EnsureIndexes(b.Context()); err != nil {
			b.Fatal(err)
		}
		e, tok := benchRouter(b, s, ginusers.WithUserCache(5*time.Second, 10000))
		benchMe(b, e, tok)
	})
}
