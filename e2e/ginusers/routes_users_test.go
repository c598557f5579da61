package ginusers_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
)

func TestMe(t *testing.T) {
	a := newApp(t)
	_, active := a.user("active@camelot.bt", true, false, false)
	_, inactive := a.user("inactive@camelot.bt", false, false, true)

	r := a.req("GET", "/users/me", nil)
	wantDetail(t, r, 401, "Unauthorized")
	if r.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("401 WWW-Authenticate = %q, want Bearer", r.Header.Get("WWW-Authenticate"))
	}
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(inactive)...), 401, "Unauthorized")
	r = a.req("GET", "/users/me", nil, bearer(active)...)
	wantStatus(t, r, 200)
	got := r.JSON().(map[string]any)
	want := map[string]any{"email": "active@camelot.bt", "is_active": true, "is_superuser": false, "is_verified": false, "first_name": nil, "last_name": nil, "age": float64(0)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("/users/me %s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["hashed_password"]; ok || len(got) != len(want)+1 {
		t.Fatalf("/users/me = %s, want exactly id plus %v", r.Body, want)
	}
}

func TestMeRequiresVerification(t *testing.T) {
	a := newApp(t, ginusers.WithRequireVerified())
	_, unverified := a.user("unverified@camelot.bt", true, false, false)
	_, inactiveUnverified := a.user("inactive@camelot.bt", false, false, false)
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(unverified)...), 403, "Forbidden")
	// The inactive check comes first.
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(inactiveUnverified)...), 401, "Unauthorized")
}

func TestPatchMe(t *testing.T) {
	var changes []ginusers.Changes
	a := newApp(t, ginusers.OnAfterUpdate(func(_ context.Context, _ *User, c ginusers.Changes) error {
		changes = append(changes, c)
		return nil
	}))
	u, tok := a.user("king.arthur@camelot.bt", true, false, true)
	a.user("lancelot@camelot.bt", true, false, false)
	me := bearer(tok)

	t.Run("an empty object is 200 and changes nothing", func(t *testing.T) {
		r := a.req("PATCH", "/users/me", map[string]any{}, me...)
		wantStatus(t, r, 200)
		if len(changes) != 1 || len(changes[0].Fields) != 0 {
			t.Fatalf("update hook changes = %v, want one call with none", changes)
		}
	})
	t.Run("protected fields are ignored", func(t *testing.T) {
		r := a.req("PATCH", "/users/me", map[string]any{"is_active": false, "is_superuser": true, "is_verified": false, "id": "000000000000000000000001"}, me...)
		wantStatus(t, r, 200)
		s := a.stored(u.ID)
		if !s.Active || s.Superuser || !s.Verified || r.Field("id") != u.ID {
			t.Fatalf("stored user = %+v after a safe update of protected fields", s)
		}
	})
	t.Run("app fields are updated and cleared", func(t *testing.T) {
		r := a.req("PATCH", "/users/me", map[string]any{"first_name": "Arthur", "age": 40}, me...)
		wantStatus(t, r, 200)
		if r.Field("first_name") != "Arthur" || r.Field("age") != float64(40) {
			t.Fatalf("PATCH /users/me = %s", r.Body)
		}
		if s := a.stored(u.ID); s.Fields.FirstName == nil || *s.Fields.FirstName != "Arthur" || s.Fields.Age != 40 {
			t.Fatalf("stored fields = %+v", s.Fields)
		}
		last := changes[len(changes)-1]
		if !last.Has("first_name") || !last.Has("age") || last.Has("last_name") {
			t.Fatalf("update hook changes = %v, want first_name and age", last)
		}
		r = a.req("PATCH", "/users/me", map[string]any{"first_name": nil}, me...)
		wantStatus(t, r, 200)
		if r.Field("first_name") != nil || r.Field("age") != float64(40) {
			t.Fatalf("PATCH first_name null = %s", r.Body)
		}
	})
	t.Run("a null email is 422 and nothing changes", func(t *testing.T) {
		want422(t, a.req("PATCH", "/users/me", map[string]any{"email": nil}, me...), "email")
		if a.stored(u.ID).Email != "king.arthur@camelot.bt" {
			t.Fatal("a null email was stored")
		}
	})
	t.Run("a null flag is 422", func(t *testing.T) {
		want422(t, a.req("PATCH", "/users/me", map[string]any{"is_active": nil}, me...), "is_active")
	})
	t.Run("a wrong-typed field is 422 and nothing changes", func(t *testing.T) {
		want422(t, a.req("PATCH", "/users/me", map[string]any{"first_name": "Art", "age": "forty"}, me...), "age")
		if s := a.stored(u.ID); s.Fields.FirstName != nil {
			t.Fatal("a partly invalid update was stored")
		}
	})
	t.Run("an operator object as email is 422", func(t *testing.T) {
		want422(t, a.req("PATCH", "/users/me", map[string]any{"email": map[string]any{"$ne": ""}}, me...), "email")
	})
	t.Run("a taken email is 400 in any case", func(t *testing.T) {
		wantDetail(t, a.req("PATCH", "/users/me", map[string]any{"email": "Lancelot@camelot.bt"}, me...), 400, "UPDATE_USER_EMAIL_ALREADY_EXISTS")
	})
	t.Run("an invalid password is 400 with a reason", func(t *testing.T) {
		before := a.stored(u.ID).HashedPassword
		wantCode(t, a.req("PATCH", "/users/me", map[string]any{"password": "short"}, me...), "UPDATE_USER_INVALID_PASSWORD", "Password should be at least 8 characters")
		if a.stored(u.ID).HashedPassword != before {
			t.Fatal("a refused password was stored")
		}
	})
	t.Run("a null password leaves the hash unchanged", func(t *testing.T) {
		before := a.stored(u.ID).HashedPassword
		wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": nil}, me...), 200)
		if a.stored(u.ID).HashedPassword != before {
			t.Fatal("password null changed the hash")
		}
	})
	t.Run("only the case of one's own email may change, staying verified", func(t *testing.T) {
		r := a.req("PATCH", "/users/me", map[string]any{"email": "King.Arthur@camelot.bt"}, me...)
		wantStatus(t, r, 200)
		if r.Field("email") != "King.Arthur@camelot.bt" || r.Field("is_verified") != true {
			t.Fatalf("case-only change = %s", r.Body)
		}
	})
	t.Run("a new password works and the hook is not told its value", func(t *testing.T) {
		wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "excalibur"}, me...), 200)
		// The new password ended the session that changed it (D7).
		wantDetail(t, a.req("GET", "/users/me", nil, me...), 401, "Unauthorized")
		me = bearer(a.login("king.arthur@camelot.bt", "excalibur"))
		last := changes[len(changes)-1]
		if !slices.Equal(last.Fields, []string{"password"}) {
			t.Fatalf("update hook changes = %v, want [password]", last.Fields)
		}
	})
	t.Run("a new email resets verification", func(t *testing.T) {
		r := a.req("PATCH", "/users/me", map[string]any{"email": "arthur@camelot.bt"}, me...)
		wantStatus(t, r, 200)
		if r.Field("email") != "arthur@camelot.bt" || r.Field("is_verified") != false {
			t.Fatalf("email change = %s, want the new address and is_verified false", r.Body)
		}
	})
	t.Run("malformed JSON is 422 before authentication", func(t *testing.T) {
		want422(t, a.req("PATCH", "/users/me", `{"email":`), "")
	})
	t.Run("no token is 401", func(t *testing.T) {
		wantDetail(t, a.req("PATCH", "/users/me", map[string]any{}), 401, "Unauthorized")
	})
}

func TestEmailChangeRace(t *testing.T) {
	a := newApp(t)
	const n = 20
	tokens := make([]string, n)
	for i := range n {
		_, tokens[i] = a.user("user"+string(rune('a'+i))+"@camelot.bt", true, false, false)
	}
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = a.req("PATCH", "/users/me", map[string]any{"email": "grail@camelot.bt"}, bearer(tokens[i])...)
		})
	}
	e2etest.WaitGroup(t, &wg, raceTimeout, "20 concurrent changes to one address")
	ok := 0
	for _, r := range results {
		switch {
		case r.Code == 200:
			ok++
		case r.Code == 400 && r.Detail() == "UPDATE_USER_EMAIL_ALREADY_EXISTS":
		default:
			t.Fatalf("concurrent email change = %d %s, want 200 or 400", r.Code, r.Body)
		}
	}
	if ok != 1 {
		t.Fatalf("successful email changes = %d, want 1", ok)
	}
	if u, err := a.store.GetByEmail(t.Context(), "grail@camelot.bt"); err != nil || u.Email != "grail@camelot.bt" {
		t.Fatalf("GetByEmail(grail) = %v, %v", u, err)
	}
}

func TestUserByID(t *testing.T) {
	a := newApp(t)
	target, _ := a.user("target@camelot.bt", true, false, false)
	_, regular := a.user("regular@camelot.bt", true, false, true)
	_, super := a.user("admin@camelot.bt", true, true, true)
	_, inactiveSuper := a.user("old-admin@camelot.bt", false, true, true)
	path := "/users/" + target.ID
	missing := "/users/0123456789abcdef01234567"

	for _, tt := range []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		detail string
	}{
		{"GET without a token is 401", "GET", path, "", nil, 401, "Unauthorized"},
		{"GET by an inactive superuser is 401", "GET", path, inactiveSuper, nil, 401, "Unauthorized"},
		{"GET by a regular user is 403", "GET", path, regular, nil, 403, "Forbidden"},
		{"GET of a missing id by a regular user is 403, not 404", "GET", missing, regular, nil, 403, "Forbidden"},
		{"GET of a missing id is 404", "GET", missing, super, nil, 404, "Not Found"},
		{"GET of an unparsable id is 404", "GET", "/users/not-an-id", super, nil, 404, "Not Found"},
		{"PATCH with no body and no token is 401", "PATCH", path, "", nil, 401, "Unauthorized"},
		{"PATCH by a regular user is 403", "PATCH", missing, regular, map[string]any{}, 403, "Forbidden"},
		{"PATCH of a missing id is 404", "PATCH", missing, super, map[string]any{}, 404, "Not Found"},
		{"PATCH of an unparsable id is 404", "PATCH", "/users/{\"$ne\":null}", super, map[string]any{}, 404, "Not Found"},
		{"DELETE by a regular user is 403", "DELETE", path, regular, nil, 403, "Forbidden"},
		{"DELETE of a missing id is 404", "DELETE", missing, super, nil, 404, "Not Found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.token != "" {
				h = bearer(tt.token)
			}
			wantDetail(t, a.req(tt.method, tt.path, tt.body, h...), tt.status, tt.detail)
		})
	}

	t.Run("a superuser gets the user", func(t *testing.T) {
		r := a.req("GET", path, nil, bearer(super)...)
		wantStatus(t, r, 200)
		if r.Field("id") != target.ID || r.Field("email") != "target@camelot.bt" {
			t.Fatalf("GET %s = %s", path, r.Body)
		}
	})
	t.Run("PATCH with an empty body is 422 after authentication", func(t *testing.T) {
		want422(t, a.req("PATCH", path, nil, bearer(super)...), "")
	})
	t.Run("a superuser sets flags and the password", func(t *testing.T) {
		r := a.req("PATCH", path, map[string]any{"is_superuser": true, "is_verified": true, "is_active": true, "password": "new-password"}, bearer(super)...)
		wantStatus(t, r, 200)
		if r.Field("is_superuser") != true || r.Field("is_verified") != true {
			t.Fatalf("PATCH = %s", r.Body)
		}
		a.login("target@camelot.bt", "new-password")
	})
	t.Run("an explicit is_verified wins over the reset on email change", func(t *testing.T) {
		r := a.req("PATCH", path, map[string]any{"email": "target2@camelot.bt", "is_verified": true}, bearer(super)...)
		wantStatus(t, r, 200)
		if r.Field("email") != "target2@camelot.bt" || r.Field("is_verified") != true {
			t.Fatalf("PATCH = %s", r.Body)
		}
	})
	t.Run("a superuser deactivates the user, whose token stops working", func(t *testing.T) {
		tok := a.login("target2@camelot.bt", "new-password")
		wantStatus(t, a.req("GET", "/users/me", nil, bearer(tok)...), 200)
		wantStatus(t, a.req("PATCH", path, map[string]any{"is_active": false}, bearer(super)...), 200)
		wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
	})
	t.Run("DELETE is 204 with an empty body, and the user is gone", func(t *testing.T) {
		r := a.req("DELETE", path, nil, bearer(super)...)
		wantStatus(t, r, 204)
		if r.Body != "" {
			t.Fatalf("DELETE body = %q", r.Body)
		}
		wantDetail(t, a.req("GET", path, nil, bearer(super)...), 404, "Not Found")
	})
}

func TestDeleteHooks(t *testing.T) {
	var events []string
	a := newApp(t,
		ginusers.OnBeforeDelete(func(_ context.Context, u *User) error { events = append(events, "before:"+u.Email); return nil }),
		ginusers.OnAfterDelete(func(_ context.Context, u *User) error { events = append(events, "after:"+u.Email); return nil }),
	)
	target, tok := a.user("target@camelot.bt", true, false, false)
	_, super := a.user("admin@camelot.bt", true, true, false)
	wantStatus(t, a.req("DELETE", "/users/"+target.ID, nil, bearer(super)...), 204)
	if !slices.Equal(events, []string{"before:target@camelot.bt", "after:target@camelot.bt"}) {
		t.Fatalf("delete hooks = %v", events)
	}
	// A deleted user's token is refused.
	wantDetail(t, a.req("GET", "/users/me", nil, bearer(tok)...), 401, "Unauthorized")
}

func TestAuthenticatedRoute(t *testing.T) {
	a := newApp(t)
	_, tok := a.user("king.arthur@camelot.bt", true, false, false)
	r := a.req("GET", "/authenticated-route", nil, bearer(tok)...)
	wantStatus(t, r, http.StatusOK)
	if r.Field("message") != "Hello king.arthur@camelot.bt!" {
		t.Fatalf("body = %s", r.Body)
	}
	wantDetail(t, a.req("GET", "/authenticated-route", nil), 401, "Unauthorized")
}

// TestEmailIdentity: D3. Only an ASCII-case change keeps verification; a
// Unicode case variant is a new address; domains compare in IDNA form.
func TestEmailIdentity(t *testing.T) {
	a := newApp(t)
	_, tok := a.user("alice@example.com", true, false, true)
	me := bearer(tok)
	patch := func(email string) response {
		t.Helper()
		r := a.req("PATCH", "/users/me", map[string]any{"email": email}, me...)
		wantStatus(t, r, 200)
		return r
	}
	if r := patch("ALICE@example.com"); r.Field("email") != "ALICE@example.com" || r.Field("is_verified") != true {
		t.Fatalf("an ASCII-case change = %s, want the new case, still verified", r.Body)
	}
	if r := patch("ALICE@\uff25XAMPLE.com"); r.Field("email") != "ALICE@example.com" || r.Field("is_verified") != true {
		t.Fatalf("the same address with a full-width domain = %s, want it normalised and still verified", r.Body)
	}
	if r := patch("al\u0130ce@example.com"); r.Field("is_verified") != false {
		t.Fatalf("a change to a Unicode case variant (İ for i) = %s, want is_verified false", r.Body)
	}
	// Registration: the IDNA variants of a taken domain are taken.
	a.register("bob@example.com", "guinevere")
	for _, email := range []string{"bob@\uff45xample.com", "BOB@EXAMPLE.COM", "Bob@ＥＸＡＭＰＬＥ.com"} {
		wantDetail(t, a.req("POST", "/auth/register", map[string]any{"email": email, "password": "guinevere"}), 400, "REGISTER_USER_ALREADY_EXISTS")
	}
	if u := a.register("carol@ＢÜCHER.de", "guinevere"); u["email"] != "carol@bücher.de" {
		t.Fatalf("registered email = %v, want the domain folded to carol@bücher.de", u["email"])
	}
	wantDetail(t, a.req("POST", "/auth/register", map[string]any{"email": "carol@xn--bcher-kva.de", "password": "guinevere"}), 400, "REGISTER_USER_ALREADY_EXISTS")
	a.login("CAROL@XN--BCHER-KVA.DE", "guinevere")
}
