package ginusers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// User is a user account. F holds the application's own fields (use
// [NoFields] for none); they are stored with the user and flattened into its
// JSON form next to the standard fields, so a client sees
// {"id": ..., "email": ..., "is_active": ..., "first_name": ...}.
//
// Give F's fields json tags for the wire, binding tags for validation (gin's
// validator, run on register and update) and, for mongostore, bson tags.
// Pointer fields are optional and may be cleared with null; other fields
// refuse null.
//
// The zero value is not a usable account: create users with
// [Manager.Register] or [Manager.Create].
type User[F any] struct {
	// ID is the store's identifier as a string (a hex ObjectID in mongostore).
	ID string
	// Email is the address as the user gave it (domain in lower case).
	// It is unique among users, compared case-insensitively.
	Email string
	// HashedPassword is the password hash in PHC or bcrypt form. It is never
	// serialised to JSON.
	HashedPassword string
	// Active users may log in. New users are active.
	Active bool
	// Superuser users may manage other users.
	Superuser bool
	// Verified is true once the user proved the e-mail address is theirs.
	Verified bool
	// SessionEpoch names the current generation of the user's sessions:
	// every token carries the epoch it was issued under and works only
	// while it is the user's. Revocation (a new or reset password, a
	// deactivation, logging out everywhere) replaces it with a new random
	// value. Empty for a user whose sessions were never revoked, which is
	// the epoch of tokens that carry none (fastapi-users' tokens).
	SessionEpoch string
	// RevokedTokens lists the tokens of the current epoch that were logged
	// out one by one (a JWT's jti, to the time it expires). The list is
	// pruned as tokens expire and emptied when the epoch changes.
	RevokedTokens map[string]time.Time
	// OAuthAccounts are the accounts at OAuth and OpenID providers linked
	// to the user (see [OAuthStore]), in the order they were linked. Their
	// tokens are as stored: sealed with the key of [WithOAuthTokenKey]
	// (read them with [Manager.OAuthTokens]), never written to JSON.
	OAuthAccounts []OAuthAccount
	// Fields are the application's own fields.
	Fields F
}

// OAuthAccount is an account at an OAuth or OpenID provider linked to a
// user: fastapi-users' OAuth account, stored as its Beanie adapter stores
// it (an entry of the user's oauth_accounts array).
type OAuthAccount struct {
	// ID identifies the entry (fastapi-users' embedded id, a hex
	// ObjectID in mongostore); the store sets it when empty.
	ID string
	// OAuthName is the provider's name ("google", "oidc").
	OAuthName string
	// AccountID is the provider's identifier of the account (an OpenID
	// provider's sub): with OAuthName, it names the account. One account
	// is linked to at most one user.
	AccountID string
	// AccountEmail is the address the provider gave at the last sign-in.
	AccountEmail string
	// AccessToken and RefreshToken are the provider's tokens as stored:
	// sealed (AES-256-GCM) by the [Manager] when [WithOAuthTokenKey] is
	// set, empty otherwise; plaintext when written by fastapi-users (they
	// are sealed at the account's next sign-in). Empty when none.
	AccessToken, RefreshToken string
	// ExpiresAt is when the access token expires; zero if unknown.
	ExpiresAt time.Time
}

// NoFields is the field type of applications that add no fields to [User].
type NoFields struct{}

type userJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Active    bool   `json:"is_active"`
	Superuser bool   `json:"is_superuser"`
	Verified  bool   `json:"is_verified"`
}

// MarshalJSON writes the user as a flat JSON object: id, email, is_active,
// is_superuser, is_verified, oauth_accounts when the user has linked
// accounts (each {"id", "oauth_name", "account_id", "account_email",
// "expires_at"}: never the provider's tokens), and then the application's
// fields. The password hash is never written. A field of F whose JSON name is one of the standard
// names is dropped.
func (u User[F]) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 160)
	out = append(out, `{"id":`...)
	out = appendJSONString(out, u.ID)
	out = append(out, `,"email":`...)
	out = appendJSONString(out, u.Email)
	out = append(out, `,"is_active":`...)
	out = strconv.AppendBool(out, u.Active)
	out = append(out, `,"is_superuser":`...)
	out = strconv.AppendBool(out, u.Superuser)
	out = append(out, `,"is_verified":`...)
	out = strconv.AppendBool(out, u.Verified)
	if len(u.OAuthAccounts) > 0 {
		out = appendOAuthAccounts(out, u.OAuthAccounts)
	}
	fi := fieldsOf(reflect.TypeFor[F]())
	if fi.empty {
		return append(out, '}'), nil
	}
	extra, err := json.Marshal(u.Fields)
	if err != nil {
		return nil, err
	}
	extra = bytes.TrimSpace(extra)
	if len(extra) < 2 || extra[0] != '{' || bytes.Equal(extra, []byte("{}")) {
		return append(out, '}'), nil
	}
	if fi.shadows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(extra, &m); err != nil {
			return nil, err
		}
		for k := range m {
			if isReserved(k) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			return append(out, '}'), nil
		}
		if extra, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	out = append(out, ',')
	return append(out, extra[1:]...), nil
}

// appendOAuthAccounts appends the "oauth_accounts" member of a user's
// JSON form: fastapi-users' OAuth account schema without the provider's
// tokens, which never leave the server (D9).
func appendOAuthAccounts(out []byte, accounts []OAuthAccount) []byte {
	out = append(out, `,"oauth_accounts":[`...)
	for i, a := range accounts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"id":`...)
		out = appendJSONString(out, a.ID)
		out = append(out, `,"oauth_name":`...)
		out = appendJSONString(out, a.OAuthName)
		out = append(out, `,"account_id":`...)
		out = appendJSONString(out, a.AccountID)
		out = append(out, `,"account_email":`...)
		out = appendJSONString(out, a.AccountEmail)
		out = append(out, `,"expires_at":`...)
		if a.ExpiresAt.IsZero() {
			out = append(out, "null"...)
		} else {
			out = strconv.AppendInt(out, a.ExpiresAt.Unix(), 10)
		}
		out = append(out, '}')
	}
	return append(out, ']')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// reservedFields are the JSON names handled by ginusers itself; an
// application field with one of these names is ignored on the wire.
var reservedFields = []string{"id", "email", "password", "hashed_password", "is_active", "is_superuser", "is_verified", "oauth_accounts"}

// isReserved reports whether an application field's JSON name collides
// with a standard one. The comparison ignores case, as Go's JSON decoding
// does, so that no client mistakes an application field for a standard one.
func isReserved(name string) bool {
	for _, k := range reservedFields {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// UserCreate holds what is needed to create a user.
type UserCreate[F any] struct {
	// Email is required; it is normalised and checked by [NormalizeEmail].
	Email string
	// Password is the plaintext password; it is validated and hashed.
	Password string
	// Active, Superuser and Verified are honoured by [Manager.Create] only;
	// [Manager.Register] ignores them. Nil means the default: active, not a
	// superuser, not verified.
	Active, Superuser, Verified *bool
	// Fields are the application's own fields.
	Fields F
}

// UserUpdate holds a change to a user. A nil pointer leaves that field as it is.
type UserUpdate[F any] struct {
	// Email sets a new address; if it differs from the current one, the user
	// becomes unverified (unless Verified is also set, by an unsafe update).
	Email *string
	// Password sets a new password, validated and hashed.
	Password *string
	// Active, Superuser and Verified are honoured by [Manager.Update] only;
	// [Manager.UpdateSafe] ignores them.
	Active, Superuser, Verified *bool
	// Fields, when not nil, replaces the application's fields.
	Fields *F
	// FieldNames lists the JSON names of the application fields to write
	// from Fields; the others keep their stored values, even if another
	// request changes them meanwhile. Empty means every field of Fields.
	// The names are reported to update hooks in [Changes]. The HTTP layer
	// fills it from the request body.
	FieldNames []string
}

// Changes tells an update hook which fields an update set, by their JSON
// names ("email", "password", "is_active", "first_name", ...). It never
// carries values: a hook learns that the password changed, not what it is.
type Changes struct {
	Fields []string
}

// Has reports whether the field with the given JSON name was set.
func (c Changes) Has(name string) bool { return slices.Contains(c.Fields, name) }

func (upd *UserUpdate[F]) changes(safe bool) Changes {
	var names []string
	if upd.Email != nil {
		names = append(names, "email")
	}
	if upd.Password != nil {
		names = append(names, "password")
	}
	if !safe {
		if upd.Active != nil {
			names = append(names, "is_active")
		}
		if upd.Superuser != nil {
			names = append(names, "is_superuser")
		}
		if upd.Verified != nil {
			names = append(names, "is_verified")
		}
	}
	if upd.Fields != nil {
		if len(upd.FieldNames) > 0 {
			names = append(names, upd.FieldNames...)
		} else {
			names = append(names, fieldsOf(reflect.TypeFor[F]()).names...)
		}
	}
	return Changes{Fields: names}
}

// EmailKey returns the form of an e-mail address under which stores compare
// addresses: the local part in Unicode normalization form C and lower case,
// and the domain in its ASCII (IDNA, UTS #46) form. Two addresses with the
// same key belong to the same user, so "é" typed as one code point or as
// "e" and a combining accent is one address, and so are "bücher.de",
// "BÜCHER.de" and "xn--bcher-kva.de", or "ｅxample.com" and "example.com".
// A string without "@", or whose domain is not valid IDNA, is only
// normalised and lower-cased.
//
// Stores that keep the key must recompute it if this definition changes
// (mongostore does so in EnsureIndexes).
func EmailKey(email string) string {
	email = norm.NFC.String(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return strings.ToLower(email)
	}
	domain, err := idna.Lookup.ToASCII(email[at+1:])
	if err != nil {
		domain = strings.ToLower(email[at+1:])
	}
	return strings.ToLower(email[:at]) + "@" + domain
}

// goFieldNames returns the Go names of the fields of F that an update of
// the application fields with the given JSON names writes: those fields,
// or every exported top-level field of F when jsonNames is empty.
func goFieldNames[F any](jsonNames []string) ([]string, error) {
	t := reflect.TypeFor[F]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("ginusers: the application fields %s are not a struct", t)
	}
	if len(jsonNames) == 0 {
		var all []string
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				all = append(all, f.Name)
			}
		}
		return all, nil
	}
	fi := fieldsOf(t)
	out := make([]string, 0, len(jsonNames))
	for _, n := range jsonNames {
		goName := ""
		for g, j := range fi.goToJSON {
			if j == n {
				goName = g
				break
			}
		}
		if goName == "" {
			return nil, fmt.Errorf("ginusers: %s has no field with JSON name %q", t, n)
		}
		out = append(out, goName)
	}
	return out, nil
}
