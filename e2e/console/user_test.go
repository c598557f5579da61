package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/console"
)

// formOf returns the values the user page's edit form would send as it is
// shown: its text boxes and checked boxes, and the hidden fields.
func formOf(t *testing.T, body string) url.Values {
	t.Helper()
	_, rest, ok := strings.Cut(body, `id="edit-heading"`)
	if !ok {
		t.Fatalf("no edit form in:\n%s", body)
	}
	form, _, _ := strings.Cut(rest, "</form>")
	v := url.Values{}
	for _, in := range regexp.MustCompile(`<input [^>]*>`).FindAllString(form, -1) {
		name := attr(in, "name")
		if name == "" {
			continue
		}
		switch attr(in, "type") {
		case "checkbox":
			if strings.Contains(in, " checked") {
				v.Add(name, attr(in, "value"))
			}
		default:
			v.Add(name, attr(in, "value"))
		}
	}
	for _, sel := range regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]*)"[^>]*>(.*?)</select>`).FindAllStringSubmatch(form, -1) {
		if m := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(sel[2]); m != nil {
			v.Set(sel[1], m[1])
		}
	}
	return v
}

func attr(tag, name string) string {
	m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return htmlUnescape(m[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}

// wantLabelled fails the test for a visible control of body without a
// label.
func wantLabelled(t *testing.T, what, body string) {
	t.Helper()
	for _, in := range regexp.MustCompile(`<(input|select|textarea) [^>]*>`).FindAllString(body, -1) {
		if attr(in, "type") == "hidden" {
			continue
		}
		id := attr(in, "id")
		if id == "" || !strings.Contains(body, `<label for="`+id+`"`) {
			t.Errorf("%s: a control without a label: %s", what, in)
		}
	}
}

func TestUserPageShowsEveryFieldButTheHash(t *testing.T) {
	e := newEnv(t, console.WithMessages(map[string]string{"field.first_name": "Given name"}))
	e.user(adminEmail, adminPassword, true)
	yes := true
	name, joined := "Arthur", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	u, err := e.m.Create(t.Context(), ginusers.UserCreate[Profile]{Email: "arthur@camelot.bt", Password: "excalibur", Verified: &yes,
		Fields: Profile{FirstName: &name, Age: 35, Newsletter: true, Joined: &joined}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	p := b.get("/users/" + u.ID)
	wantStatus(t, "GET /users/:id", p, 200)
	for _, want := range []string{u.ID, "arthur@camelot.bt", `<label for="field-f-first_name">Given name`, `value="Arthur"`, `<label for="field-f-age">Age`, `value="35"`,
		`<label for="field-f-newsletter">Newsletter`, `<label for="field-f-joined">Joined`, "2024-05-01T12:00:00Z", `readonly`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the user page lacks %q", want)
		}
	}
	stored := e.get(u.ID)
	for _, secret := range []string{stored.HashedPassword, "$argon2", "hashed_password", "excalibur"} {
		if strings.Contains(p.body, secret) {
			t.Errorf("the user page shows %q", secret)
		}
	}
	if stored.SessionEpoch != "" && strings.Contains(p.body, stored.SessionEpoch) {
		t.Error("the user page shows the session epoch")
	}
	wantLabelled(t, "user page", p.body)
	f := formOf(t, p.body)
	if f.Get("f.newsletter") != "true" || f.Get("was.f.newsletter") != "true" || f.Get("was.email") != "arthur@camelot.bt" || f.Has("f.joined") {
		t.Errorf("the form = %v", f)
	}

	wantStatus(t, "GET an unknown user", b.get("/users/0123456789abcdef01234567"), http.StatusNotFound)
	wantStatus(t, "GET a malformed id", b.get("/users/not-an-id"), http.StatusNotFound)
	wantStatus(t, "POST to an unknown user", b.post("/users/0123456789abcdef01234567/deactivate", nil), http.StatusNotFound)
	wantStatus(t, "POST an unknown action", b.post("/users/"+u.ID+"/promote-to-king", nil), http.StatusNotFound)
}

func TestSaveValidatesWithBindingTagsAndShowsErrorsByTheField(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	for _, tt := range []struct {
		name  string
		set   map[string]string
		field string
		want  string
	}{
		{"a string too long", map[string]string{"f.first_name": strings.Repeat("x", 21)}, "f-first_name", "At most 20 characters."},
		{"a number out of range", map[string]string{"f.age": "-1"}, "f-age", "At least 0."},
		{"a number too large", map[string]string{"f.age": "151"}, "f-age", "At most 150."},
		{"not a number", map[string]string{"f.age": "old"}, "f-age", "Enter a whole number."},
		{"an invalid e-mail address", map[string]string{"email": "not an address"}, "email", "Not a valid e-mail address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := formOf(t, b.get("/users/"+u.ID).body)
			for k, v := range tt.set {
				f.Set(k, v)
			}
			f.Set("f.first_name", f.Get("f.first_name")) // no change unless set
			p := b.post("/users/"+u.ID, f)
			wantStatus(t, "POST the form", p, http.StatusUnprocessableEntity)
			// The error is next to its field, linked to the control.
			re := regexp.MustCompile(`id="field-` + regexp.QuoteMeta(tt.field) + `"[^>]*aria-describedby="field-` + regexp.QuoteMeta(tt.field) + `-note"[^>]*aria-invalid="true"`)
			if !re.MatchString(p.body) {
				t.Errorf("the control %s is not marked invalid:\n%s", tt.field, p.body)
			}
			note := regexp.MustCompile(`(?s)<p class="note" id="field-` + regexp.QuoteMeta(tt.field) + `-note"><strong class="error">([^<]*)</strong>`).FindStringSubmatch(p.body)
			if note == nil || !strings.Contains(htmlUnescape(note[1]), tt.want) {
				t.Errorf("the note of %s = %v, want %q", tt.field, note, tt.want)
			}
			// The submitted values are shown again.
			for k, v := range tt.set {
				if !strings.Contains(p.body, `value="`+strings.ReplaceAll(v, " ", " ")+`"`) {
					t.Errorf("the form lost the submitted %s=%q", k, v)
				}
			}
			wantLabelled(t, "the form with errors", p.body)
			if got := e.get(u.ID); got.Email != "arthur@camelot.bt" || got.Fields.Age != 0 || got.Fields.FirstName != nil {
				t.Errorf("a refused form wrote: %+v", got)
			}
		})
	}
}

func TestSaveWritesOnlyWhatChangedThroughTheManager(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	e.user("lancelot@camelot.bt", "guinevere", false)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	f := formOf(t, b.get("/users/"+u.ID).body)

	// Another administrator (or the user) changes the age meanwhile.
	age := Profile{Age: 40}
	if _, err := e.m.Update(t.Context(), u, ginusers.UserUpdate[Profile]{Fields: &age, FieldNames: []string{"age"}}); err != nil {
		t.Fatal(err)
	}
	f.Set("f.first_name", "Arthur")
	p := b.post("/users/"+u.ID, f)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=saved") {
		t.Fatalf("POST the form = %d to %q\n%s", p.status, p.location(), p.body)
	}
	got := e.get(u.ID)
	if got.Fields.FirstName == nil || *got.Fields.FirstName != "Arthur" || got.Fields.Age != 40 {
		t.Fatalf("after the save: %+v, want the new first name and the concurrent age", got.Fields)
	}
	if !e.hooks.has("update arthur@camelot.bt first_name") {
		t.Errorf("the update hook did not fire with first_name alone:\n%s", e.hooks.all())
	}
	if !strings.Contains(b.get(strings.TrimPrefix(p.location(), "/admin")).body, "Saved.") {
		t.Error("no notice after the save")
	}

	// Nothing changed: nothing written.
	f = formOf(t, b.get("/users/"+u.ID).body)
	p = b.post("/users/"+u.ID, f)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=unchanged") {
		t.Fatalf("POST an unchanged form = %d to %q", p.status, p.location())
	}

	// A new address: the user becomes unverified, and the page says so.
	f.Set("email", "Arthur.Pendragon@camelot.bt")
	p = b.post("/users/"+u.ID, f)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=saved_unverified") {
		t.Fatalf("POST a new address = %d to %q\n%s", p.status, p.location(), p.body)
	}
	if got := e.get(u.ID); got.Email != "Arthur.Pendragon@camelot.bt" || got.Verified {
		t.Errorf("after the new address: %s verified=%v", got.Email, got.Verified)
	}
	// Another user's address: 422 next to the field.
	f = formOf(t, b.get("/users/"+u.ID).body)
	f.Set("email", "LANCELOT@camelot.bt")
	p = b.post("/users/"+u.ID, f)
	wantStatus(t, "POST another user's address", p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, "Another user has this e-mail address.") {
		t.Errorf("no error next to the address:\n%s", p.body)
	}
	// The verified box alone.
	f = formOf(t, b.get("/users/"+u.ID).body)
	f.Set("is_verified", "true")
	wantStatus(t, "POST the verified box", b.post("/users/"+u.ID, f), http.StatusSeeOther)
	if !e.get(u.ID).Verified || !e.hooks.has("update Arthur.Pendragon@camelot.bt is_verified") {
		t.Errorf("the verified box was not written through the Manager:\n%s", e.hooks.all())
	}
	if len(e.auditLines("action=update", "outcome=ok", "target_email=Arthur.Pendragon@camelot.bt", "fields=[is_verified]")) != 1 {
		t.Errorf("the update was not audited with its fields:\n%s", e.audit.String())
	}
}

func TestCreateAUserWithAPasswordOrAnEmailedLink(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	e.user("lancelot@camelot.bt", "guinevere", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	p := b.get("/users/new")
	wantStatus(t, "GET /users/new", p, 200)
	wantLabelled(t, "new user page", p.body)

	t.Run("with a password", func(t *testing.T) {
		p := b.post("/users/new", url.Values{"email": {"gawain@camelot.bt"}, "password_mode": {"set"}, "password": {"green-knight"},
			"is_active": {"true"}, "is_verified": {"true"}, "f.first_name": {"Gawain"}, "f.age": {"30"}})
		if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=created") {
			t.Fatalf("POST /users/new = %d to %q\n%s", p.status, p.location(), p.body)
		}
		u, err := e.m.GetByEmail(t.Context(), "gawain@camelot.bt")
		if err != nil || !u.Active || !u.Verified || u.Superuser || u.Fields.Age != 30 || *u.Fields.FirstName != "Gawain" {
			t.Fatalf("created %+v, %v", u, err)
		}
		if e.apiMe(e.apiToken("gawain@camelot.bt", "green-knight")) != 200 {
			t.Error("the new user cannot use the API")
		}
		if !e.hooks.has("register gawain@camelot.bt") {
			t.Errorf("the after-register hook did not fire:\n%s", e.hooks.all())
		}
	})

	t.Run("with an e-mailed link", func(t *testing.T) {
		p := b.post("/users/new", url.Values{"email": {"percival@camelot.bt"}, "password_mode": {"link"}, "password": {"ignored-anyway"}, "is_active": {"true"}})
		if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=created_link") {
			t.Fatalf("POST /users/new = %d to %q\n%s", p.status, p.location(), p.body)
		}
		token := e.hooks.reset("percival@camelot.bt")
		if token == "" {
			t.Fatalf("no reset link was sent:\n%s", e.hooks.all())
		}
		if r := e.tryAPILogin("percival@camelot.bt", "ignored-anyway"); r != http.StatusBadRequest {
			t.Errorf("the password typed in the form works (%d): it must be ignored", r)
		}
		if _, err := e.m.ResetPassword(t.Context(), token, "holy-grail-seeker"); err != nil {
			t.Fatalf("ResetPassword with the mailed token: %v", err)
		}
		if e.apiMe(e.apiToken("percival@camelot.bt", "holy-grail-seeker")) != 200 {
			t.Error("the password chosen from the link does not work")
		}
		if len(e.auditLines("action=create", "outcome=ok", "target_email=percival@camelot.bt", "password=link")) != 1 ||
			len(e.auditLines("action=reset-password", "outcome=ok", "target_email=percival@camelot.bt")) != 1 {
			t.Errorf("the creation was not audited:\n%s", e.audit.String())
		}
	})

	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"a taken address", url.Values{"email": {"Lancelot@camelot.bt"}, "password_mode": {"link"}, "is_active": {"true"}}, "email", "Another user has this e-mail address."},
		{"no address", url.Values{"password_mode": {"link"}, "is_active": {"true"}}, "email", "This field is required."},
		{"a refused password", url.Values{"email": {"bors@camelot.bt"}, "password_mode": {"set"}, "password": {"short"}, "is_active": {"true"}}, "password", "Password should be at least"},
		{"no password", url.Values{"email": {"bors@camelot.bt"}, "password_mode": {"set"}, "is_active": {"true"}}, "password", "This field is required."},
		{"a link for an inactive user", url.Values{"email": {"bors@camelot.bt"}, "password_mode": {"link"}}, "", "An inactive user cannot receive a link"},
		{"an invalid field", url.Values{"email": {"bors@camelot.bt"}, "password_mode": {"link"}, "is_active": {"true"}, "f.age": {"200"}}, "f-age", "At most 150."},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			b.get("/users/new")
			p := b.post("/users/new", tt.form)
			wantStatus(t, "POST /users/new", p, http.StatusUnprocessableEntity)
			if !strings.Contains(htmlUnescape(p.body), tt.want) {
				t.Errorf("the page does not say %q:\n%s", tt.want, p.body)
			}
			if tt.field != "" && !strings.Contains(p.body, `id="field-`+tt.field+`-note"`) {
				t.Errorf("the error is not next to %s", tt.field)
			}
			if strings.Contains(p.body, "short") && tt.name == "a refused password" && strings.Contains(p.body, `value="short"`) {
				t.Error("the password was sent back to the browser")
			}
			if _, err := e.m.GetByEmail(t.Context(), "bors@camelot.bt"); err == nil {
				t.Fatal("a refused form created the user")
			}
		})
	}
	for _, line := range strings.Split(e.audit.String(), "\n") {
		for _, secret := range []string{"green-knight", "ignored-anyway", "short"} {
			if strings.Contains(line, secret) {
				t.Errorf("the audit log holds a password: %s", line)
			}
		}
	}
}

// tryAPILogin returns the status of an API login.
func (e *env) tryAPILogin(email, password string) int {
	e.t.Helper()
	resp, err := e.srv.Client().PostForm(e.srv.URL+"/auth/jwt/login", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUserPageShowsLinkedAccountsWithoutTokens: the provider accounts
// linked to a user (package oauth) are listed on their page by provider
// and address; their tokens, sealed or as fastapi-users stored them, never.
func TestUserPageShowsLinkedAccountsWithoutTokens(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("gawain@camelot.bt", "green knight", false)
	for _, acc := range []ginusers.OAuthAccount{
		{OAuthName: "oidc", AccountID: "sub-gawain", AccountEmail: "gawain@sso.camelot.bt", AccessToken: "plaintext-access-token", RefreshToken: "plaintext-refresh-token"},
		{OAuthName: "github", AccountID: "4242", AccountEmail: "<b>gawain</b>@github.example"},
	} {
		if _, err := e.store.AddOAuthAccount(t.Context(), u.ID, acc, ginusers.UserCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	p := b.get("/users/" + u.ID)
	wantStatus(t, "GET /users/:id", p, 200)
	for _, want := range []string{"Linked accounts", "<li>oidc (gawain@sso.camelot.bt)</li>", "<li>github (&lt;b&gt;gawain&lt;/b&gt;@github.example)</li>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the user page lacks %q", want)
		}
	}
	for _, secret := range []string{"plaintext-access-token", "plaintext-refresh-token", "sub-gawain"} {
		if strings.Contains(p.body, secret) {
			t.Errorf("the user page shows %q", secret)
		}
	}
	// A user without linked accounts has no such line.
	if p := b.get("/users/" + e.user("bors@camelot.bt", "the grail quest", false).ID); strings.Contains(p.body, "Linked accounts") {
		t.Error("the page of a user without linked accounts shows the line")
	}
}
