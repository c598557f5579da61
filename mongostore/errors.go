package mongostore

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
)

// Server error codes this package handles.
const (
	codeInternalError  = 1   // FerretDB: a unique violation caused by an update or an index build
	codeNotImplemented = 238 // FerretDB: collation, TTL and partial indexes
)

// uniqueViolations are the messages with which FerretDB reports, as an
// InternalError, a unique index violated by an update or by an index build:
// SQLite's, then PostgreSQL's (twice, for either half of its text).
var uniqueViolations = []string{
	"UNIQUE constraint failed",
	"duplicate key value violates unique constraint",
	"SQLSTATE 23505",
}

// isDuplicate reports whether err says that a write would break a unique
// index: a duplicate-key error of MongoDB (and of FerretDB on insert), or
// FerretDB's InternalError for the same violation caused by an update.
func isDuplicate(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, msg := range uniqueViolations {
		if se.HasErrorCodeWithMessage(codeInternalError, msg) {
			return true
		}
	}
	return false
}

// isNotImplemented reports whether the server refused err's command as not
// implemented, as FerretDB does for collations and TTL indexes.
func isNotImplemented(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(codeNotImplemented)
}

// wrapWrite returns the error of a failed write of op: one wrapping both
// [ginusers.ErrUserExists] and err for a unique violation, otherwise one
// wrapping err (and [ginusers.ErrUnavailable] if the server was unreachable).
func wrapWrite(op string, err error) error {
	if isDuplicate(err) {
		return fmt.Errorf("mongostore: %s: %w: %w", op, ginusers.ErrUserExists, err)
	}
	return fmt.Errorf("mongostore: %s: %w", op, unavailable(err))
}

// notFound returns an error wrapping [ginusers.ErrUserNotFound] for op.
func notFound(op string) error {
	return fmt.Errorf("mongostore: %s: %w", op, ginusers.ErrUserNotFound)
}
