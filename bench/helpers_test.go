package bench_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/mongostore/mongotest"
	"github.com/ginusers/kit/redisstore/redistest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	dropListData()
	mongotest.Shutdown()
	redistest.Shutdown()
	os.Exit(code)
}

// Fields is the application field type of the benchmarks.
type Fields struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
	LastName  *string `json:"last_name" bson:"last_name,omitempty" binding:"omitempty,max=100"`
	Age       int     `json:"age" bson:"age" binding:"gte=0"`
}

var discardLogger = slog.New(slog.DiscardHandler)

var testSecret = []byte("a test secret that is long enough for HS256!")
