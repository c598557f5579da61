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
// Beanie documents plus the fields of ginusers' own.
const (
	fieldID              = "_id"
	fieldEmail           = "email"
	fieldEmailKey        = "email_key"
	fieldEmailKeyVersion = "email_key_v"
	fieldHashedPassword  = "hashed_password"
	fieldActive          = "is_active"
	fieldSuperuser       = "is_superuser"
	fieldVerified        = "is_verified"
	fieldSessionEpoch    = "session_epoch"
	fieldRevokedTokens   = "revoked_tokens"
	// fieldTokensValidAfter is the revocation time of the first release,
	// replaced by session_epoch; EnsureIndexes migrates it.
	fieldTokensValidAfter = "tokens_valid_after"
)

// emailKeyVersion numbers the definition of [ginusers.EmailKey] that the
// stored email_key values follow; EnsureIndexes recomputes the keys of
// documents with an older (or no) version. 2: domains compared in their
// IDNA form (UTS #46).
const emailKeyVersion = 2

// userDoc is the stored form of a [ginusers.User]. It is the only place
// where the ObjectID of a user meets the string ID of ginusers.
type userDoc[F any] struct {
	ID              bson.ObjectID        `bson:"_id"`
	Email           string               `bson:"email"`
	EmailKey        string               `bson:"email_key"`
	EmailKeyVersion int                  `bson:"email_key_v"`
	HashedPassword  string               `bson:"hashed_password"`
	Active          bool                 `bson:"is_active"`
	Superuser       bool                 `bson:"is_superuser"`
	Verified        bool                 `bson:"is_verified"`
	SessionEpoch    string               `bson:"session_epoch,omitempty"`
	RevokedTokens   map[string]time.Time `bson:"revoked_tokens,omitempty"`
	OAuthAccounts   []oauthDoc           `bson:"oauth_accounts,omitempty"`
	Fields          F                    `bson:",inline"`
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
	var accounts []oauthDoc
	for i := range u.OAuthAccounts {
		accounts = append(accounts, newOAuthDoc(&u.OAuthAccounts[i]))
	}
	return &userDoc[F]{
		OAuthAccounts:   accounts,
		ID:              id,
		Email:           u.Email,
		EmailKey:        ginusers.EmailKey(u.Email),
		EmailKeyVersion: emailKeyVersion,
		HashedPassword:  u.HashedPassword,
		Active:          u.Active,
		Superuser:       u.Superuser,
		Verified:        u.Verified,
		SessionEpoch:    u.SessionEpoch,
		RevokedTokens:   u.RevokedTokens,
		Fields:          u.Fields,
	}
}

// user returns the user stored in d.
func (d *userDoc[F]) user() *ginusers.User[F] {
	u := &ginusers.User[F]{
		ID:             d.ID.Hex(),
		Email:          d.Email,
		HashedPassword: d.HashedPassword,
		Active:         d.Active,
		Superuser:      d.Superuser,
		Verified:       d.Verified,
		SessionEpoch:   d.SessionEpoch,
		Fields:         d.Fields,
	}
	for i := range d.OAuthAccounts {
		u.OAuthAccounts = append(u.OAuthAccounts, d.OAuthAccounts[i].account())
	}
	if len(d.RevokedTokens) > 0 {
		u.RevokedTokens = make(map[string]time.Time, len(d.RevokedTokens))
		for k, v := range d.RevokedTokens {
			u.RevokedTokens[k] = v.UTC()
		}
	}
	return u
}

// validTokenID reports whether id may be a key of the revoked_tokens
// subdocument: a short string of letters, digits, '-' and '_' (ginusers
// writes base32 jti values), never a path separator or an operator.
func validTokenID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// updateDoc returns the update that writes ch, and nothing else: $set of
// the fields ch sets, $unset of those it sets to a value the encoder
// omits (an omitempty field now empty). fields maps the Go names of F's
// fields to their paths in the document.
func updateDoc[F any](ch *ginusers.UserChange[F], fields map[string][][]string) (bson.D, error) {
	var set, unset bson.D
	if ch.Email != nil {
		set = append(set,
			bson.E{Key: fieldEmail, Value: *ch.Email},
			bson.E{Key: fieldEmailKey, Value: ginusers.EmailKey(*ch.Email)},
			bson.E{Key: fieldEmailKeyVersion, Value: emailKeyVersion})
	}
	if ch.HashedPassword != nil {
		set = append(set, bson.E{Key: fieldHashedPassword, Value: *ch.HashedPassword})
	}
	for _, f := range []struct {
		key string
		v   *bool
	}{{fieldActive, ch.Active}, {fieldSuperuser, ch.Superuser}, {fieldVerified, ch.Verified}} {
		if f.v != nil {
			set = append(set, bson.E{Key: f.key, Value: *f.v})
		}
	}
	if ch.SessionEpoch != nil {
		if len(ch.RevokeTokens) > 0 {
			return nil, errors.New("RevokeTokens with a new SessionEpoch")
		}
		if *ch.SessionEpoch == "" {
			unset = append(unset, bson.E{Key: fieldSessionEpoch, Value: ""})
		} else {
			set = append(set, bson.E{Key: fieldSessionEpoch, Value: *ch.SessionEpoch})
		}
		unset = append(unset, bson.E{Key: fieldRevokedTokens, Value: ""})
	}
	for _, id := range ch.ForgetTokens {
		if !validTokenID(id) {
			return nil, fmt.Errorf("invalid token id %q", id)
		}
		if _, readded := ch.RevokeTokens[id]; !readded {
			unset = append(unset, bson.E{Key: fieldRevokedTokens + "." + id, Value: ""})
		}
	}
	for id, exp := range ch.RevokeTokens {
		if !validTokenID(id) {
			return nil, fmt.Errorf("invalid token id %q", id)
		}
		set = append(set, bson.E{Key: fieldRevokedTokens + "." + id, Value: exp})
	}
	if len(ch.FieldNames) > 0 {
		raw, err := bson.Marshal(&ch.Fields)
		if err != nil {
			return nil, err
		}
		for _, name := range ch.FieldNames {
			paths, ok := fields[name]
			if !ok {
				return nil, fmt.Errorf("the application fields have no stored field %q", name)
			}
			for _, path := range paths {
				key := strings.Join(path, ".")
				if v, err := bson.Raw(raw).LookupErr(path...); err == nil {
					set = append(set, bson.E{Key: key, Value: v})
				} else {
					unset = append(unset, bson.E{Key: key, Value: ""})
				}
			}
		}
	}
	var ops bson.D
	if len(set) > 0 {
		ops = append(ops, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		ops = append(ops, bson.E{Key: "$unset", Value: unset})
	}
	return ops, nil
}

// conditionFilter returns the filter of a write of the user oid under when.
func conditionFilter(oid bson.ObjectID, when ginusers.UserCondition) bson.D {
	f := bson.D{{Key: fieldID, Value: oid}}
	if when.HashedPassword != nil {
		f = append(f, bson.E{Key: fieldHashedPassword, Value: *when.HashedPassword})
	}
	if when.Email != nil {
		f = append(f, bson.E{Key: fieldEmail, Value: *when.Email})
	}
	if when.Active != nil {
		f = append(f, bson.E{Key: fieldActive, Value: *when.Active})
	}
	if when.Verified != nil {
		f = append(f, bson.E{Key: fieldVerified, Value: *when.Verified})
	}
	if when.Superuser != nil {
		f = append(f, bson.E{Key: fieldSuperuser, Value: *when.Superuser})
	}
	if when.SessionEpoch != nil {
		if *when.SessionEpoch == "" {
			// Not stored when empty; null matches a missing field.
			f = append(f, bson.E{Key: fieldSessionEpoch, Value: nil})
		} else {
			f = append(f, bson.E{Key: fieldSessionEpoch, Value: *when.SessionEpoch})
		}
	}
	return f
}

// fieldPaths maps the Go name of every exported field of t, a struct (the
// application's fields, stored inline), to the paths of the keys the bson
// encoder writes for it: one path for a plain field, the paths of its
// fields for an inline struct, none for a field the encoder skips. Fields
// promoted from embedded structs get their own entries. A field stored as
// an inline map has no known keys and cannot be written by name.
func fieldPaths(t reflect.Type) (map[string][][]string, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("type %s is not a struct", t)
	}
	out := map[string][][]string{}
	var walk func(t reflect.Type, prefix []string, depth int) ([][]string, error)
	walk = func(t reflect.Type, prefix []string, depth int) ([][]string, error) {
		if depth > 32 {
			return nil, errors.New("structs nested too deeply")
		}
		var all [][]string
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.PkgPath != "" {
				continue
			}
			name, inline, skip := parseBSONTag(sf)
			if skip {
				out[sf.Name] = append(out[sf.Name], [][]string{}...)
				continue
			}
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			var paths [][]string
			switch {
			case inline && ft.Kind() == reflect.Struct:
				ps, err := walk(ft, prefix, depth+1)
				if err != nil {
					return nil, err
				}
				paths = ps
			case inline:
				// An inline map: its keys are known only at run time.
				continue
			default:
				p := append(append([]string{}, prefix...), name)
				paths = [][]string{p}
				if sf.Anonymous && ft.Kind() == reflect.Struct {
					// Promoted fields of an embedded struct stored as a
					// subdocument.
					if _, err := walk(ft, p, depth+1); err != nil {
						return nil, err
					}
				}
			}
			if _, seen := out[sf.Name]; !seen || depth == 0 {
				out[sf.Name] = paths
			}
			all = append(all, paths...)
		}
		return all, nil
	}
	if _, err := walk(t, nil, 0); err != nil {
		return nil, err
	}
	return out, nil
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
