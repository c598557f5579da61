// Package mongotest gives tests a fresh MongoDB database: on the server at
// MONGODB_URI when that variable is set, and otherwise on an embedded
// FerretDB (see package embedded) that the test binary starts on first use.
// Tests never skip for want of a server.
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		db := mongotest.Database(t) // dropped when t ends
//		...
//	}
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/mongostore/embedded"
)

var (
	mu     sync.Mutex
	server *embedded.Server
	client *mongo.Client
	uri    string
)

// Run runs the tests of m and then disconnects and stops the embedded
// server if one was started. Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	Shutdown()
	return code
}

// Shutdown disconnects the shared client and stops the embedded server, if
// any. [Run] calls it.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if client != nil {
		_ = client.Disconnect(ctx)
		client = nil
	}
	if server != nil {
		_ = server.Stop()
		server = nil
	}
}

// Client returns the shared client, connecting (and starting the embedded
// server) on first use. It fails t if the server cannot be reached.
func Client(t testing.TB) *mongo.Client {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if client != nil {
		return client
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	uri = os.Getenv("MONGODB_URI")
	if uri == "" {
		s, err := embedded.Start(ctx)
		if err != nil {
			t.Fatalf("mongotest: start embedded FerretDB: %v", err)
		}
		server, uri = s, s.URI()
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("mongotest: connect: %v", err)
	}
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatalf("mongotest: ping %s: %v", uri, err)
	}
	client = c
	return c
}

// URI returns the connection string of the server in use, connecting first.
func URI(t testing.TB) string {
	Client(t)
	mu.Lock()
	defer mu.Unlock()
	return uri
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Database returns a new, empty database named after t, dropped when t
// ends.
func Database(t testing.TB) *mongo.Database {
	t.Helper()
	c := Client(t)
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := strings.Trim(unsafeChars.ReplaceAllString(t.Name(), "_"), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	db := c.Database("t_" + name + "_" + hex.EncodeToString(suffix[:]))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}
