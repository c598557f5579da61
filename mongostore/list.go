package mongostore

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// List implements [ginusers.Store]: one find whose filter holds q's
// filters and the position after the cursor ({sort key: {$gt: last}}),
// sorted on the key and limited to one more than the page, so that the
// page is read through the index on the key (email_key_unique, or _id),
// never by skipping documents. The cursor is the last key of the page, with
// the order it was issued for.
func (s *Store[F]) List(ctx context.Context, q ginusers.UserQuery) (ginusers.UserPage[F], error) {
	if s.schemaErr != nil {
		return ginusers.UserPage[F]{}, s.schemaErr
	}
	key, order, dir := fieldEmailKey, "email", 1
	if q.Sort == ginusers.SortByID {
		key, order = fieldID, "id"
	}
	if q.Descending {
		order += "-desc"
		dir = -1
	}
	filter := listFilter(q)
	if q.After != "" {
		after, err := parseCursor(q.After, order)
		if err != nil {
			return ginusers.UserPage[F]{}, err
		}
		op := "$gt"
		if q.Descending {
			op = "$lt"
		}
		filter = append(filter, bson.E{Key: key, Value: bson.D{{Key: op, Value: after}}})
	}
	if len(filter) == 0 {
		filter = bson.D{}
	}
	opts := options.Find().SetSort(bson.D{{Key: key, Value: dir}}).SetLimit(int64(q.Limit) + 1)
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return ginusers.UserPage[F]{}, fmt.Errorf("mongostore: list users: %w", unavailable(err))
	}
	var docs []userDoc[F]
	if err := cur.All(ctx, &docs); err != nil {
		return ginusers.UserPage[F]{}, fmt.Errorf("mongostore: list users: %w", unavailable(err))
	}
	var page ginusers.UserPage[F]
	for i := range docs {
		if i == q.Limit {
			last := docs[i-1]
			var v any = last.EmailKey
			if q.Sort == ginusers.SortByID {
				v = last.ID
			}
			page.Next = cursor(order, v)
			break
		}
		page.Users = append(page.Users, docs[i].user())
	}
	return page, nil
}

// Count implements [ginusers.Store] with a count of q's filters.
func (s *Store[F]) Count(ctx context.Context, q ginusers.UserQuery) (int64, error) {
	if s.schemaErr != nil {
		return 0, s.schemaErr
	}
	filter := listFilter(q)
	if len(filter) == 0 {
		filter = bson.D{}
	}
	n, err := s.coll.CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("mongostore: count users: %w", unavailable(err))
	}
	return n, nil
}

// listFilter is the filter of q's conditions: flags by equality, the
// e-mail search as a quoted (literal) pattern on email_key.
func listFilter(q ginusers.UserQuery) bson.D {
	var f bson.D
	if q.Email != "" {
		f = append(f, bson.E{Key: fieldEmailKey, Value: bson.Regex{Pattern: regexp.QuoteMeta(q.Email)}})
	}
	for _, c := range []struct {
		field string
		v     *bool
	}{{fieldActive, q.Active}, {fieldVerified, q.Verified}, {fieldSuperuser, q.Superuser}} {
		if c.v != nil {
			f = append(f, bson.E{Key: c.field, Value: *c.v})
		}
	}
	return f
}

// cursor encodes the position after the key value v in an order.
func cursor(order string, v any) string {
	var s string
	switch v := v.(type) {
	case bson.ObjectID:
		s = v.Hex()
	case string:
		s = v
	}
	return base64.RawURLEncoding.EncodeToString([]byte(order + ":" + s))
}

// parseCursor decodes a cursor of the given order into the key value to
// start after.
func parseCursor(c, order string) (any, error) {
	bad := fmt.Errorf("mongostore: list users: cursor %q: %w", c, ginusers.ErrBadCursor)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	o, v, ok := strings.Cut(string(b), ":")
	if !ok || o != order {
		return nil, bad
	}
	if strings.HasPrefix(order, "id") {
		oid, err := bson.ObjectIDFromHex(v)
		if err != nil {
			return nil, bad
		}
		return oid, nil
	}
	return v, nil
}
