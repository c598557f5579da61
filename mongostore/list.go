package mongostore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/ginusers"
)

// List implements [ginusers.Store]. It is one find, sorted on the order's
// key (email_key or _id) and limited to one more document than the page,
// whose filter holds q's filters and, after a cursor, the position after
// the cursor's key ({key: {$gt: last}}, $lt when descending). So a page is
// read through an index from the cursor on, never by skipping documents:
// on MongoDB, the unique index email_key_unique serves the e-mail order
// (every listing filter holds a range on email_key, without which MongoDB
// will not use that sparse index for a sort), and the _id index the ID
// order. The cursor is opaque: the order and the last key of the page,
// with a checksum.
//
// Only documents whose email_key is a string are listed (and counted):
// [Store.EnsureIndexes] gives one to every document whose email is a
// string. A document written by another program since (fastapi-users
// sharing the collection) is listed after the next EnsureIndexes, as it is
// found by e-mail only then.
func (s *Store[F]) List(ctx context.Context, q ginusers.UserQuery) (ginusers.UserPage[F], error) {
	if s.schemaErr != nil {
		return ginusers.UserPage[F]{}, s.schemaErr
	}
	if q.Limit < 1 || q.Limit > ginusers.MaxListLimit {
		return ginusers.UserPage[F]{}, fmt.Errorf("mongostore: list users: limit %d out of range (the Manager normalises it)", q.Limit)
	}
	order, dir := listOrder(q)
	emailCond := emailKeyCond(q)
	var idCond bson.D
	if q.After != "" {
		after, err := parseCursor(q.After, order)
		if err != nil {
			return ginusers.UserPage[F]{}, err
		}
		op := "$gt"
		if q.Descending {
			op = "$lt"
		}
		if q.Sort == ginusers.SortByID {
			idCond = bson.D{{Key: op, Value: after}}
		} else {
			emailCond = append(emailCond, bson.E{Key: op, Value: after})
		}
	}
	filter := append(bson.D{{Key: fieldEmailKey, Value: emailCond}}, flagConds(q)...)
	if idCond != nil {
		filter = append(filter, bson.E{Key: fieldID, Value: idCond})
	}
	key := fieldEmailKey
	if q.Sort == ginusers.SortByID {
		key = fieldID
	}
	opts := options.Find().
		SetSort(bson.D{{Key: key, Value: dir}}).
		SetLimit(int64(q.Limit) + 1).
		SetBatchSize(int32(q.Limit) + 1)
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
			last := &docs[i-1]
			k := last.EmailKey
			if q.Sort == ginusers.SortByID {
				k = last.ID.Hex()
			}
			page.Next = cursor(order, k)
			break
		}
		page.Users = append(page.Users, docs[i].user())
	}
	return page, nil
}

// Count implements [ginusers.Store]: a count of the documents that List
// would return for q's filters (CountDocuments, exact; its order, cursor
// and limit are ignored).
func (s *Store[F]) Count(ctx context.Context, q ginusers.UserQuery) (int64, error) {
	if s.schemaErr != nil {
		return 0, s.schemaErr
	}
	filter := append(bson.D{{Key: fieldEmailKey, Value: emailKeyCond(q)}}, flagConds(q)...)
	n, err := s.coll.CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("mongostore: count users: %w", unavailable(err))
	}
	return n, nil
}

// listOrder names q's order in cursors and gives its sort direction.
func listOrder(q ginusers.UserQuery) (order string, dir int) {
	order, dir = q.Sort.String(), 1
	if q.Descending {
		order, dir = order+"-desc", -1
	}
	return order, dir
}

// emailKeyCond is the condition on email_key of every listing: a string
// ({$gte: ""} holds for every string and nothing else), and, for a search,
// containing it as text. The range is what lets MongoDB read the e-mail
// order from the sparse index email_key_unique.
func emailKeyCond(q ginusers.UserQuery) bson.D {
	cond := bson.D{{Key: "$gte", Value: ""}}
	if q.Email != "" {
		cond = append(cond, bson.E{Key: "$regex", Value: literalPattern(q.Email)})
	}
	return cond
}

// flagConds are the equality conditions of q's flags.
func flagConds(q ginusers.UserQuery) bson.D {
	var f bson.D
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

// literalPattern returns a regular expression that matches s as text, in
// MongoDB's PCRE and in Go's RE2 (FerretDB) alike: metacharacters escaped,
// NUL (which a BSON regular expression cannot hold) written \x00, invalid
// UTF-8 (which no key holds) replaced.
func literalPattern(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(strings.ToValidUTF8(s, "\uFFFD")), "\x00", `\x00`)
}

// cursorEncoding encodes cursors for URLs. Strict: a cursor whose last
// character carries stray bits is not another spelling of a valid one.
var cursorEncoding = base64.RawURLEncoding.Strict()

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cursor encodes the position after key in an order: the order, a NUL, the
// key, then the CRC-32C of those bytes, which makes a truncated or altered
// cursor fail to parse.
func cursor(order, key string) string {
	b := append([]byte(order+"\x00"), key...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return cursorEncoding.EncodeToString(b)
}

// parseCursor decodes a cursor of the given order into the key value to
// start after: an ObjectID for the ID orders, a string for the e-mail
// orders. Anything else is an error wrapping [ginusers.ErrBadCursor].
func parseCursor(c, order string) (any, error) {
	// The cursor is untrusted and may be long: it is not quoted.
	bad := fmt.Errorf("mongostore: list users: %w", ginusers.ErrBadCursor)
	// The decoder skips line breaks: a cursor with one is not one List
	// issued.
	if strings.ContainsAny(c, "\r\n") {
		return nil, bad
	}
	b, err := cursorEncoding.DecodeString(c)
	if err != nil || len(b) < 4 {
		return nil, bad
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, bad
	}
	o, key, ok := strings.Cut(string(body), "\x00")
	if !ok || o != order || !utf8.ValidString(key) {
		return nil, bad
	}
	if strings.HasPrefix(order, "id") {
		oid, ok := parseID(key)
		if !ok {
			return nil, bad
		}
		return oid, nil
	}
	return key, nil
}
