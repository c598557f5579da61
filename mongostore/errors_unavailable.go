package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/ginusers/kit/ginusers"
)

// isUnavailable reports whether err says that the server could not be
// reached, or did not answer, in time: a server selection error (no server
// came up before the client's server selection timeout), a network error,
// or a timeout (the client's per-operation timeout, maxTimeMS, a waiting
// connection pool, or the deadline of the caller's context). A cancelled
// context is not: the caller went away, the database may be fine.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var sse topology.ServerSelectionError
	return errors.As(err, &sse) || mongo.IsNetworkError(err) || mongo.IsTimeout(err)
}

// unavailable returns err, wrapped together with [ginusers.ErrUnavailable]
// when [isUnavailable] holds, so that both errors.Is(err,
// ginusers.ErrUnavailable) and the driver's own tests (mongo.IsTimeout,
// mongo.IsNetworkError) hold on the result.
func unavailable(err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", ginusers.ErrUnavailable, err)
	}
	return err
}
