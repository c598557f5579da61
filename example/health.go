package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// defaultMongoTimeout is how long a request waits for an unreachable
// database before it fails with 503, unless MONGODB_TIMEOUT says otherwise.
const defaultMongoTimeout = 2 * time.Second

// startupTimeout bounds the start-up work on the database (index builds,
// the admin bootstrap), which MONGODB_TIMEOUT does not: building an index
// on a large collection may take longer than a request should.
const startupTimeout = 5 * time.Minute

// mongoTimeout returns MONGODB_TIMEOUT, a positive Go duration such as
// "2s" or "1500ms", or [defaultMongoTimeout] when it is unset.
func mongoTimeout(getenv func(string) string) (time.Duration, error) {
	s := getenv("MONGODB_TIMEOUT")
	if s == "" {
		return defaultMongoTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("MONGODB_TIMEOUT: %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("MONGODB_TIMEOUT: %s is not positive", s)
	}
	return d, nil
}

// mongoClientOptions returns the options of the example's client: uri,
// and timeout as the server selection timeout (how long an operation waits
// for a reachable server; the driver's default is 30 s), the connect
// timeout, and the per-operation timeout (client-side operation timeout:
// maxTimeMS on the server, and a deadline for waiting on the network).
// They override serverSelectionTimeoutMS, connectTimeoutMS and timeoutMS
// in uri. A context with a deadline of its own takes precedence over the
// per-operation timeout, not over the server selection timeout.
func mongoClientOptions(uri string, timeout time.Duration) *options.ClientOptions {
	return options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(timeout). // wait this long for a reachable server (default 30 s)
		SetConnectTimeout(timeout).         // and for a new connection
		SetTimeout(timeout)                 // bound each operation (maxTimeMS + a client-side deadline)
}

// pingUntil pings the database until it answers or ctx ends, so that the
// example may start before its database is up.
func pingUntil(ctx context.Context, client *mongo.Client) error {
	for {
		err := client.Ping(ctx, nil)
		if err == nil {
			return nil
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// healthResponse is the body of GET /health.
type healthResponse struct {
	Status   string `json:"status"`   // "ok" or "unavailable"
	Database string `json:"database"` // "up" or "down"
}

// health serves GET /health: 200 {"status": "ok", "database": "up"} when a
// ping of the database succeeds within timeout, and otherwise 503
// {"status": "unavailable", "database": "down"} with Retry-After, as the
// routes answer when the database is unreachable. It needs no token and
// reveals nothing else; the ping's error goes to the log.
func health(client *mongo.Client, timeout time.Duration, logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		if err := client.Ping(ctx, nil); err != nil {
			logger.WarnContext(ctx, "health: database ping failed", "error", err)
			c.Header("Retry-After", strconv.Itoa(ginusers.RetryAfterUnavailable))
			c.JSON(http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Database: "down"})
			return
		}
		c.JSON(http.StatusOK, healthResponse{Status: "ok", Database: "up"})
	}
}
