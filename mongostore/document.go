package mongostore

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
)

// Field names of the user document. The layout is that of fastapi-users'
// Beanie documents plus fieldEmailKey.
const (
	fieldID               = "_id"
	fieldEmail            = "email"
	fieldEmailKey         = "email_key"
	fieldHashedPassword   = "hashed_password"
	fieldActive           = "is_active"
	fieldSuperuser        = "is_superuser"
	fieldVerified         = "is_verified"
	fieldTokensValidAfter = "tokens_valid_after"
)

// userDoc is the stored form of a [ginusers.User]. It is the only place
// where the ObjectID of a user meets the string ID of ginusers.
type userDoc[F any] struct {
	ID               bson.ObjectID `bson:"_id"`
	Email            string        `bson:"email"`
	EmailKey         string        `bson:"email_key"`
	HashedPassword   string        `bson:"hashed_password"`
	Active           bool          `bson:"is_active"`
	Superuser        bool          `bson:"is_superuser"`
	Verified         bool          `bson:"is_verified"`
	TokensValidAfter time.Time     `bson:"tokens_valid_after,omitempty"`
	Fields           F             `bson:",inline"`
}

// parseID returns the ObjectID whose canonical hex form (24 lower-case hex
// digits, as [bson.ObjectID.Hex] writes it) is id. Any other string is not
// an ID of this store, so two strings never name the same user.
func parseID(id string) (bson.ObjectID, bool) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil || oid.Hex() != id {
		return bson.ObjectID{}, false
	}
	return oid, true
}

// newDoc returns the document storing u under id.
func newDoc[F any](id bson.ObjectID, u *ginusers.User[F]) *userDoc[F] {
	return &userDoc[F]{
		ID:               id,
		Email:            u.Email,
		EmailKey:         ginusers.EmailKey(u.Email),
		HashedPassword:   u.HashedPassword,
		Active:           u.Active,
		Superuser:        u.Superuser,
		Verified:         u.Verified,
		TokensValidAfter: u.TokensValidAfter,
		Fields:           u.Fields,
	}
}

// user returns the user stored in d.
func (d *userDoc[F]) user() *ginusers.User[F] {
	return &ginusers.User[F]{
		ID:               d.ID.Hex(),
		Email:            d.Email,
		HashedPassword:   d.HashedPassword,
		Active:           d.Active,
		Superuser:        d.Superuser,
		Verified:         d.Verified,
		TokensValidAfter: d.TokensValidAfter,
		Fields:           d.Fields,
	}
}

// updateOps returns the update that makes the stored user equal to d
// without touching fields that are not part of the schema (such as the
// oauth_accounts of fastapi-users): $set of every field d encodes, and
// $unset of the schema's fields it omits (an omitempty field that is now
// empty). schema lists every key the document type may encode.
func updateOps[F any](d *userDoc[F], schema []string) (bson.D, error) {
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, err
	}
	elems, err := bson.Raw(raw).Elements()
	if err != nil {
		return nil, err
	}
	set := make(bson.D, 0, len(elems))
	present := make(map[string]bool, len(elems))
	for _, e := range elems {
		k := e.Key()
		present[k] = true
		if k == fieldID {
			continue
		}
		set = append(set, bson.E{Key: k, Value: e.Value()})
	}
	var unset bson.D
	for _, k := range schema {
		if !present[k] {
			unset = append(unset, bson.E{Key: k, Value: ""})
		}
	}
	ops := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		ops = append(ops, bson.E{Key: "$unset", Value: unset})
	}
	return ops, nil
}

// schemaKeys returns the top-level keys that the bson encoder may write for
// a value of type t, a struct: the keys of its exported fields by the bson
// tag rules of the driver (the tag's name, or the lower-cased field name),
// with inline structs expanded. The keys of an inline map cannot be known
// and are left out.
func schemaKeys(t reflect.Type) ([]string, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("type %s is not a struct", t)
	}
	seen := map[string]bool{}
	var keys []string
	var walk func(t reflect.Type, depth int) error
	walk = func(t reflect.Type, depth int) error {
		if depth > 32 {
			return errors.New("inline structs nested too deeply")
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.PkgPath != "" {
				continue // unexported: the encoder skips it
			}
			name, inline, skip := parseBSONTag(sf)
			if skip {
				continue
			}
			if inline {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				switch ft.Kind() {
				case reflect.Struct:
					if err := walk(ft, depth+1); err != nil {
						return err
					}
				case reflect.Map:
				default:
					return fmt.Errorf("inline field %s of %s is not a struct or a map", sf.Name, t)
				}
				continue
			}
			if !seen[name] {
				seen[name] = true
				keys = append(keys, name)
			}
		}
		return nil
	}
	if err := walk(t, 0); err != nil {
		return nil, err
	}
	return keys, nil
}

// parseBSONTag mirrors the driver's default struct tag parser.
func parseBSONTag(sf reflect.StructField) (name string, inline, skip bool) {
	name = strings.ToLower(sf.Name)
	tag, ok := sf.Tag.Lookup("bson")
	if !ok && !strings.Contains(string(sf.Tag), ":") && len(sf.Tag) > 0 {
		tag = string(sf.Tag)
	}
	if tag == "-" {
		return "", false, true
	}
	for i, part := range strings.Split(tag, ",") {
		if i == 0 && part != "" {
			name = part
		}
		if part == "inline" {
			inline = true
		}
	}
	return name, inline, false
}
