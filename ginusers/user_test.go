package ginusers_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

const secretHash = "$argon2id$v=19$m=19456,t=2,p=1$MzXr0bA+ohrtskCh1SJpfA$VVMJkQO1MOf7Gmwv5o+I86CMjuXN5hkU4EP656B3x0c"

func baseUser[F any](fields F) ginusers.User[F] {
	return ginusers.User[F]{
		ID:             "64b7f0c2a1b2c3d4e5f60718",
		Email:          "John@example.com",
		HashedPassword: secretHash,
		Active:         true,
		Superuser:      false,
		Verified:       true,
		SessionEpoch:   "EPOCHSECRET",
		RevokedTokens:  map[string]time.Time{"REVOKEDJTI": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Fields:         fields,
	}
}

// topLevelKeys returns the keys of a JSON object in order, failing on
// invalid JSON or a non-object.
func topLevelKeys(t *testing.T, b []byte) []string {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("MarshalJSON() = %s, not valid JSON", b)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("MarshalJSON() = %s, not an object", b)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

var baseKeys = []string{"id", "email", "is_active", "is_superuser", "is_verified"}

type profile struct {
	FirstName string   `json:"first_name"`
	Age       int      `json:"age,omitempty"`
	Tags      []string `json:"tags"`
	Note      string   `json:"note"`
}

type spoofing struct {
	Email          string `json:"email"`
	HashedPassword string `json:"hashed_password"`
	Password       string `json:"password"`
	ID             string `json:"id"`
	Superuser      bool   `json:"is_superuser"`
	Active         bool   `json:"is_active"`
	Verified       bool   `json:"is_verified"`
	OAuthAccounts  []int  `json:"oauth_accounts"`
	Nickname       string `json:"nickname"`
}

type onlyReserved struct {
	Email string `json:"email"`
}

type postalAddress struct {
	City string `json:"city"`
}

type embedding struct {
	postalAddress
	Contact struct {
		Email string `json:"email"`
	} `json:"contact"`
}

type stringFields struct{}

func (stringFields) MarshalJSON() ([]byte, error) { return []byte(`"not an object"`), nil }

func TestUserMarshalJSON(t *testing.T) {
	spoof := spoofing{Email: "evil@example.com", HashedPassword: "leak", Password: "leak", ID: "0", Superuser: true, Active: false, Verified: false, OAuthAccounts: []int{1}, Nickname: "jo"}
	marshal := func(v any) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("json.Marshal() error = %v", err)
			}
			return b
		}
	}
	userNoFields := baseUser(ginusers.NoFields{})
	tests := []struct {
		name     string
		marshal  func(t *testing.T) []byte
		wantKeys []string
		want     map[string]any // values to check, by key
	}{
		{"a user without fields has exactly the five standard fields", marshal(userNoFields), baseKeys,
			map[string]any{"id": "64b7f0c2a1b2c3d4e5f60718", "email": "John@example.com", "is_active": true, "is_superuser": false, "is_verified": true}},
		{"a pointer to a user marshals the same", marshal(&userNoFields), baseKeys, nil},
		{"application fields follow the standard fields", marshal(baseUser(profile{FirstName: "John", Tags: []string{"a"}, Note: "x"})), append(slices.Clone(baseKeys), "first_name", "tags", "note"),
			map[string]any{"first_name": "John", "tags": []any{"a"}}},
		{"a field whose value mentions email is kept", marshal(baseUser(profile{Note: `"email"`})), append(slices.Clone(baseKeys), "first_name", "tags", "note"),
			map[string]any{"note": `"email"`, "email": "John@example.com"}},
		{"application fields named like standard fields are dropped", marshal(baseUser(spoof)), append(slices.Clone(baseKeys), "nickname"),
			map[string]any{"email": "John@example.com", "id": "64b7f0c2a1b2c3d4e5f60718", "is_superuser": false, "is_active": true, "nickname": "jo"}},
		{"fields that are all reserved leave the standard fields alone", marshal(baseUser(onlyReserved{Email: "evil@example.com"})), baseKeys,
			map[string]any{"email": "John@example.com"}},
		{"a map of fields with reserved keys has them dropped", marshal(baseUser(map[string]any{"email": "evil@example.com", "hashed_password": "leak", "plan": "pro"})), append(slices.Clone(baseKeys), "plan"),
			map[string]any{"email": "John@example.com", "plan": "pro"}},
		{"an email inside a nested object is kept", marshal(baseUser(embedding{postalAddress: postalAddress{City: "Paris"}})), append(slices.Clone(baseKeys), "city", "contact"),
			map[string]any{"city": "Paris"}},
		{"nil pointer fields add nothing", marshal(baseUser[*profile](nil)), baseKeys, nil},
		{"pointer fields are flattened", marshal(baseUser(&profile{FirstName: "John"})), append(slices.Clone(baseKeys), "first_name", "tags", "note"), nil},
		{"fields that do not marshal to an object add nothing", marshal(baseUser(stringFields{})), baseKeys, nil},
		{"a user inside a response object marshals the same", func(t *testing.T) []byte {
			var wrap struct {
				User json.RawMessage `json:"user"`
			}
			if err := json.Unmarshal(marshal(map[string]any{"user": userNoFields})(t), &wrap); err != nil {
				t.Fatal(err)
			}
			return wrap.User
		}, baseKeys, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.marshal(t)
			if keys := topLevelKeys(t, b); !slices.Equal(keys, tt.wantKeys) {
				t.Fatalf("MarshalJSON() = %s, keys %v, want keys %v", b, keys, tt.wantKeys)
			}
			for _, leak := range []string{secretHash, "hashed_password", "HashedPassword", "EPOCHSECRET", "REVOKEDJTI", "session_epoch", "revoked_tokens", "leak", "evil@example.com", "2026-01-02"} {
				if strings.Contains(string(b), leak) {
					t.Fatalf("MarshalJSON() = %s, which contains %q", b, leak)
				}
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if !equalJSON(got[k], want) {
					t.Errorf("MarshalJSON() %q = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

func TestUserMarshalJSONNoFieldsExact(t *testing.T) {
	b, err := json.Marshal(ginusers.User[ginusers.NoFields]{ID: "1", Email: "a@example.com", HashedPassword: secretHash, Active: true})
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	const want = `{"id":"1","email":"a@example.com","is_active":true,"is_superuser":false,"is_verified":false}`
	if string(b) != want {
		t.Fatalf("json.Marshal(user) = %s, want %s", b, want)
	}
}
