package ginusers_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/e2e/internal/e2etest"
)

func TestRegister(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")

	tests := []struct {
		name  string
		body  any
		check func(t *testing.T, r response)
	}{
		{"an empty object is 422 for email and password", map[string]any{}, func(t *testing.T, r response) {
			want422(t, r, "email")
			want422(t, r, "password")
		}},
		{"a missing password is 422", map[string]any{"email": "a@b.co"}, func(t *testing.T, r response) { want422(t, r, "password") }},
		{"a missing email is 422", map[string]any{"password": "guinevere"}, func(t *testing.T, r response) { want422(t, r, "email") }},
		{"a bad email is 422", map[string]any{"email": "king.arthur", "password": "guinevere"}, func(t *testing.T, r response) { want422(t, r, "email") }},
		{"a null email is 422", map[string]any{"email": nil, "password": "guinevere"}, func(t *testing.T, r response) { want422(t, r, "email") }},
		{"a null password is 422", map[string]any{"email": "a@b.co", "password": nil}, func(t *testing.T, r response) { want422(t, r, "password") }},
		{"a numeric password is 422", map[string]any{"email": "a@b.co", "password": 12345678}, func(t *testing.T, r response) { want422(t, r, "password") }},
		{"an operator object as email is 422", map[string]any{"email": map[string]any{"$ne": ""}, "password": "guinevere"}, func(t *testing.T, r response) { want422(t, r, "email") }},
		{"an operator object as password is 422", map[string]any{"email": "a@b.co", "password": map[string]any{"$gt": ""}}, func(t *testing.T, r response) { want422(t, r, "password") }},
		{"a $where object as an app field is 422", map[string]any{"email": "a@b.co", "password": "guinevere", "first_name": map[string]any{"$where": "1"}}, func(t *testing.T, r response) { want422(t, r, "first_name") }},
		{"a wrong-typed app field is 422", map[string]any{"email": "a@b.co", "password": "guinevere", "age": "old"}, func(t *testing.T, r response) { want422(t, r, "age") }},
		{"a null non-nullable app field is 422", map[string]any{"email": "a@b.co", "password": "guinevere", "age": nil}, func(t *testing.T, r response) { want422(t, r, "age") }},
		{"a wrong-typed flag is 422", map[string]any{"email": "a@b.co", "password": "guinevere", "is_superuser": "yes"}, func(t *testing.T, r response) { want422(t, r, "is_superuser") }},
		{"malformed JSON is 422 json_invalid", `{"email": "a@b.co",`, func(t *testing.T, r response) { want422(t, r, "") }},
		{"a JSON array is 422", `[1, 2]`, func(t *testing.T, r response) { want422(t, r, "") }},
		{"an empty body is 422", ``, func(t *testing.T, r response) { want422(t, r, "") }},
		{"a short password is 400 REGISTER_INVALID_PASSWORD", map[string]any{"email": "a@b.co", "password": "short"}, func(t *testing.T, r response) {
			wantCode(t, r, "REGISTER_INVALID_PASSWORD", "Password should be at least 8 characters")
		}},
		{"an invalid password wins over an existing email", map[string]any{"email": "king.arthur@camelot.bt", "password": "short"}, func(t *testing.T, r response) {
			wantCode(t, r, "REGISTER_INVALID_PASSWORD", "Password should be at least 8 characters")
		}},
		{"a password over 1024 bytes is refused", map[string]any{"email": "a@b.co", "password": strings.Repeat("x", 1025)}, func(t *testing.T, r response) {
			wantCode(t, r, "REGISTER_INVALID_PASSWORD", "Password should be at most 1024 bytes")
		}},
		{"an existing email is 400", map[string]any{"email": "king.arthur@camelot.bt", "password": "guinevere"}, func(t *testing.T, r response) {
			wantDetail(t, r, http.StatusBadRequest, "REGISTER_USER_ALREADY_EXISTS")
		}},
		{"an existing email in another case is 400", map[string]any{"email": "King.Arthur@Camelot.bt", "password": "guinevere"}, func(t *testing.T, r response) {
			wantDetail(t, r, http.StatusBadRequest, "REGISTER_USER_ALREADY_EXISTS")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.count()
			tt.check(t, a.req("POST", "/auth/register", tt.body))
			if after := a.count(); after != before {
				t.Fatalf("users stored = %d, want %d: a refused registration wrote", after, before)
			}
		})
	}
}

func TestRegisterCreatesASafeUser(t *testing.T) {
	a := newApp(t)
	r := a.req("POST", "/auth/register", map[string]any{
		"email": "  Lancelot@CAMELOT.bt ", "password": "guinevere",
		"is_active": false, "is_superuser": true, "is_verified": true,
		"id": "000000000000000000000001", "hashed_password": "$argon2id$forged",
		"first_name": "Lancelot", "unknown_field": "x",
	})
	wantStatus(t, r, http.StatusCreated)
	got := r.JSON().(map[string]any)
	for k, want := range map[string]any{"email": "Lancelot@camelot.bt", "is_active": true, "is_superuser": false, "is_verified": false, "first_name": "Lancelot", "last_name": nil, "age": float64(0)} {
		if got[k] != want {
			t.Errorf("register response %s = %v, want %v (body %s)", k, got[k], want, r.Body)
		}
	}
	for _, k := range []string{"password", "hashed_password", "unknown_field"} {
		if _, ok := got[k]; ok {
			t.Errorf("register response has %q: %s", k, r.Body)
		}
	}
	id, _ := got["id"].(string)
	if len(id) != 24 || id == "000000000000000000000001" {
		t.Fatalf("id = %q, want a new 24-hex ObjectID", id)
	}
	var raw bson.M
	if err := a.coll.FindOne(t.Context(), bson.M{}).Decode(&raw); err != nil {
		t.Fatalf("FindOne() error = %v", err)
	}
	if raw["hashed_password"] == "$argon2id$forged" || raw["unknown_field"] != nil || raw["is_superuser"] != false {
		t.Fatalf("stored document %v keeps client-chosen protected or unknown fields", raw)
	}
	// The new user can log in with the address in any case.
	a.login("LANCELOT@camelot.bt", "guinevere")
}

func TestRegisterRaceGivesOneUser(t *testing.T) {
	a := newApp(t)
	const n = 20
	codes := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			email := "race@camelot.bt"
			if i%2 == 1 {
				email = "RACE@camelot.bt"
			}
			codes[i] = a.req("POST", "/auth/register", map[string]any{"email": email, "password": "guinevere"})
		})
	}
	e2etest.WaitGroup(t, &wg, raceTimeout, "20 concurrent registrations of one address")
	created := 0
	for _, r := range codes {
		switch {
		case r.Code == http.StatusCreated:
			created++
		case r.Code == http.StatusBadRequest && r.Detail() == "REGISTER_USER_ALREADY_EXISTS":
		default:
			t.Fatalf("concurrent register = %d %s, want 201 or 400 REGISTER_USER_ALREADY_EXISTS", r.Code, r.Body)
		}
	}
	if created != 1 || a.count() != 1 {
		t.Fatalf("created = %d, stored = %d; want exactly 1", created, a.count())
	}
}

func TestRegisterHugeBodyIs413(t *testing.T) {
	a := newApp(t)
	big := `{"email": "a@b.co", "password": "guinevere", "first_name": "` + strings.Repeat("x", 2<<20) + `"}`
	r := a.req("POST", "/auth/register", big)
	wantDetail(t, r, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	if a.count() != 0 {
		t.Fatal("an oversized registration was stored")
	}
}

func TestRegisterValidatesAppFields(t *testing.T) {
	a := newApp(t)
	// storetest.Fields has binding:"omitempty,max=100" on first_name.
	r := a.req("POST", "/auth/register", map[string]any{"email": "a@b.co", "password": "guinevere", "first_name": strings.Repeat("x", 101)})
	want422(t, r, "first_name")
	if a.count() != 0 {
		t.Fatal("an invalid registration was stored")
	}
}
