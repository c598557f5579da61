package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/ginusers/kit/ginusers"
)

// isUnavailable reports whether err says that Redis could not be reached,
// or did not answer, in time: a dial or network error, a connection closed
// under the command, a read, write or dial timeout (or the deadline of the
// caller's context), a connection pool that had no connection in time, or
// a server still loading its data after a restart. A cancelled context is
// not: the caller went away, Redis may be fine.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error // *net.OpError, timeouts, context.DeadlineExceeded
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsLoadingError(err)
}

// unavailable returns err, wrapped together with [ginusers.ErrUnavailable]
// when [isUnavailable] holds.
func unavailable(err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", ginusers.ErrUnavailable, err)
	}
	return err
}
