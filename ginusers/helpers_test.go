package ginusers_test

import (
	"bytes"
	"log/slog"
	"sync"

	"github.com/ginusers/kit/ginusers"
)

// Fields is the application field type of the tests.
type Fields struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
	LastName  *string `json:"last_name" bson:"last_name,omitempty" binding:"omitempty,max=100"`
	Age       int     `json:"age" bson:"age" binding:"gte=0"`
}

type User = ginusers.User[Fields]

var discardLogger = slog.New(slog.DiscardHandler)

var testSecret = []byte("a test secret that is long enough for HS256!")

// logBuffer collects the lines of a slog handler, safely for concurrent
// writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
