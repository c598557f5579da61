// Package account_test tests the account pages (ginusers/account) over
// HTTP on the embedded FerretDB (or MONGODB_URI): every page, its rules,
// its answers, and that no answer tells whether an address has an account.
package account_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/account"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(mongotest.Run(m))
}

type User = ginusers.User[ginusers.NoFields]

var secret = []byte("a test secret that is long enough for HS256!")

// mailbox records the tokens the hooks were given, by address.
type mailbox struct {
	mu     sync.Mutex
	verify map[string][]string
	reset  map[string][]string
}

func (mb *mailbox) hook(kind *map[string][]string) ginusers.TokenHook[ginusers.NoFields] {
	return func(_ context.Context, u *User, token string) error {
		mb.mu.Lock()
		defer mb.mu.Unlock()
		if *kind == nil {
			*kind = map[string][]string{}
		}
		(*kind)[u.Email] = append((*kind)[u.Email], token)
		return nil
	}
}

// app is the account pages of a Manager on a fresh database, with a bearer
// JWT backend and a cookie backend with database tokens, and GET /me
// (authenticated by the cookie) to see who a browser is.
type app struct {
	t       *testing.T
	m       *ginusers.Manager[ginusers.NoFields]
	engine  *gin.Engine
	hasher  *storetest.CountingHasher
	mail    *mailbox
	tokens  *mongostore.TokenStore
	tokColl *mongo.Collection
}

func newApp(t *testing.T, extra ...ginusers.Option) *app {
	t.Helper()
	a := &app{t: t, hasher: storetest.NewCountingHasher(), mail: &mailbox{}}
	db := mongotest.Database(t)
	store := mongostore.New[ginusers.NoFields](db.Collection("users"))
	if err := store.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.tokColl = db.Collection("access_tokens")
	a.tokens = mongostore.NewTokenStore(a.tokColl)
	if err := a.tokens.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	jwtS, err := ginusers.NewJWTStrategy(secret)
	if err != nil {
		t.Fatal(err)
	}
	dbS, err := ginusers.NewDatabaseStrategy(a.tokens)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ginusers.NewCookieTransport()
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]ginusers.Option{
		ginusers.WithSecret(secret),
		ginusers.WithBackends(ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS), ginusers.NewBackend("cookie", ct, dbS)),
		ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(slog.New(slog.DiscardHandler)),
		// The example's rule: at least 8 characters, not containing the address.
		ginusers.WithPasswordValidator(func(_ context.Context, password string, u *User) error {
			if u.Email != "" && strings.Contains(password, u.Email) {
				return &ginusers.PasswordError{Reason: "Password should not contain e-mail"}
			}
			return nil
		}),
		ginusers.OnAfterRequestVerify(a.mail.hook(&a.mail.verify)),
		ginusers.OnAfterForgotPassword(a.mail.hook(&a.mail.reset)),
	}, extra...)
	a.m, err = ginusers.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a.engine = gin.New()
	if err := account.Mount(a.engine, a.m, account.WithSecret(secret), account.WithLogger(nil)); err != nil {
		t.Fatal(err)
	}
	a.engine.GET("/me", a.m.WithUser(func(c *gin.Context, u *User) { c.String(200, u.Email) }))
	return a
}

// register creates a user directly.
func (a *app) register(email, password string) *User {
	a.t.Helper()
	u, err := a.m.Register(a.t.Context(), ginusers.UserCreate[ginusers.NoFields]{Email: email, Password: password})
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}

// delivered waits for the delivery queue, and returns the tokens delivered
// so far, by address.
func (a *app) delivered() (verify, reset map[string][]string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), 20*time.Second)
	defer cancel()
	if err := a.m.WaitDeliveries(ctx); err != nil {
		a.t.Fatalf("WaitDeliveries() error = %v", err)
	}
	a.mail.mu.Lock()
	defer a.mail.mu.Unlock()
	copyOf := func(in map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range in {
			out[k] = append([]string(nil), v...)
		}
		return out
	}
	return copyOf(a.mail.verify), copyOf(a.mail.reset)
}

func (a *app) hashes() int64 { return a.hasher.Hashes.Load() + a.hasher.Checks.Load() }

// browser sends requests with the cookies it was given, as a browser on
// the site does (same-origin: Sec-Fetch-Site and Origin as Chromium sends
// them on a form post).
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]string
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]string{}}
}

type page struct {
	code   int
	header http.Header
	body   string
}

func (b *browser) do(method, target string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://app.example"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return page{code: w.Code, header: w.Header(), body: w.Body.String()}
}

func (b *browser) get(target string) page { return b.do(http.MethodGet, target, nil, nil) }

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit gets the page at target, then posts form to its form's action,
// with the page's form token (and its other hidden fields, such as the
// reset token), as a browser would.
func (b *browser) submit(target string, form url.Values) page {
	b.t.Helper()
	p := b.get(target)
	return b.post(p, form)
}

var actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// post submits the (first) form of p with the fields of form added to its
// hidden ones.
func (b *browser) post(p page, form url.Values) page {
	b.t.Helper()
	m := actionRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on the page:\n%s", p.body)
	}
	all := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		all.Set(h[1], unescape(h[2]))
	}
	for k, v := range form {
		all[k] = v
	}
	return b.do(http.MethodPost, unescape(m[1]), all, nil)
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// follow gets the Location of a 303.
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.code != http.StatusSeeOther {
		b.t.Fatalf("status = %d, want 303\n%s", p.code, p.body)
	}
	return b.get(p.header.Get("Location"))
}

// whoami is the user of the browser's cookie session, or "".
func (b *browser) whoami() string {
	b.t.Helper()
	p := b.get("/me")
	if p.code != 200 {
		return ""
	}
	return p.body
}

func mustContain(t *testing.T, p page, code int, parts ...string) {
	t.Helper()
	if p.code != code {
		t.Fatalf("status = %d, want %d\n%s", p.code, code, p.body)
	}
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("the page lacks %q:\n%s", s, p.body)
		}
	}
}

func TestRegisterVerifySignInSignOut(t *testing.T) {
	a := newApp(t)
	b := newBrowser(t, a.engine)
	p := b.submit("/register", url.Values{"email": {"King.Arthur@camelot.bt"}, "password": {"guinevere"}})
	if p.code != 303 || p.header.Get("Location") != "/register?done=sent" {
		t.Fatalf("POST /register = %d %v", p.code, p.header)
	}
	mustContain(t, b.follow(p), 200, "Check your e-mail")
	u, err := a.m.GetByEmail(t.Context(), "king.arthur@camelot.bt")
	if err != nil || u.Verified || !u.Active || u.Superuser {
		t.Fatalf("the registered user = %+v, %v", u, err)
	}
	verify, reset := a.delivered()
	if len(verify["King.Arthur@camelot.bt"]) != 1 || len(reset) != 0 {
		t.Fatalf("e-mails after registering: verify %v, reset %v; want one verification", verify, reset)
	}
	tok := verify["King.Arthur@camelot.bt"][0]

	// Signing in works before verification (the Manager does not require it).
	p = b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	if p.code != 303 || p.header.Get("Location") != "/sign-in" {
		t.Fatalf("POST /sign-in = %d %v", p.code, p.header)
	}
	mustContain(t, b.follow(p), 200, "You are signed in as", "King.Arthur@camelot.bt")
	if got := b.whoami(); got != "King.Arthur@camelot.bt" {
		t.Fatalf("GET /me after signing in = %q", got)
	}

	// The link verifies, once; a bad link says so.
	p = b.get("/verify?token=" + url.QueryEscape(tok))
	mustContain(t, p, 200, "Your e-mail address is verified")
	if u, _ := a.m.Get(t.Context(), u.ID); !u.Verified {
		t.Fatal("the verification page did not verify the user")
	}
	mustContain(t, b.get("/verify?token="+url.QueryEscape(tok)), 400, "Already verified")
	mustContain(t, b.get("/verify?token=not-a-token"), 400, "This link does not work", `action="/verify"`)
	mustContain(t, b.get("/verify?token="+url.QueryEscape(tok[:len(tok)-2])), 400, "This link does not work")

	// Signing out ends the session, not only the cookie.
	old := b.cookies["ginusersauth"]
	mustContain(t, b.get("/sign-out"), 200, "Do you want to sign out?")
	p = b.submit("/sign-out", nil)
	if p.code != 303 || p.header.Get("Location") != "/sign-in?done=signed-out" {
		t.Fatalf("POST /sign-out = %d %v", p.code, p.header)
	}
	if _, ok := b.cookies["ginusersauth"]; ok {
		t.Fatal("the cookie was not cleared")
	}
	mustContain(t, b.follow(p), 200, "You are signed out.", `name="password"`)
	b.cookies["ginusersauth"] = old
	if got := b.whoami(); got != "" {
		t.Fatalf("the old cookie still authenticates %q after signing out", got)
	}
	delete(b.cookies, "ginusersauth")
	mustContain(t, b.get("/sign-out"), 200, "You are not signed in.")
	// Signing out without a session just goes to the sign-in page.
	token := csrfRE.FindStringSubmatch(b.get("/sign-in").body)[1]
	if p = b.do(http.MethodPost, "/sign-out", url.Values{"csrf_token": {token}}, nil); p.code != 303 {
		t.Fatalf("POST /sign-out without a session = %d", p.code)
	}
}

func TestRegisterRules(t *testing.T) {
	a := newApp(t)
	for _, tt := range []struct {
		name      string
		form      url.Values
		code      int
		field     string
		wantError string
	}{
		{"no address", url.Values{"password": {"guinevere"}}, 422, "email", "This field is required."},
		{"no password", url.Values{"email": {"king.arthur@camelot.bt"}}, 422, "password", "This field is required."},
		{"an address without @", url.Values{"email": {"king.arthur"}, "password": {"guinevere"}}, 422, "email", "Enter a valid e-mail address: an email address must have an @-sign."},
		{"a short password", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"short"}}, 400, "password", "Password should be at least 8 characters"},
		{"a password with the address", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"xking.arthur@camelot.btx"}}, 400, "password", "Password should not contain e-mail"},
		{"an operator in a field", url.Values{"email[$ne]": {""}, "password": {"guinevere"}}, 422, "email", "This field is required."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, a.engine)
			p := b.submit("/register", tt.form)
			mustContain(t, p, tt.code,
				`<p class="field-error" id="`+tt.field+`-error">`+strings.ReplaceAll(tt.wantError, "'", "&#39;")+`</p>`,
				`aria-describedby="`+tt.field+`-error"`, `role="alert"`)
			if tt.form.Get("email") != "" && !strings.Contains(p.body, `value="`+tt.form.Get("email")+`"`) {
				t.Errorf("the form lost the address typed:\n%s", p.body)
			}
			if pw := tt.form.Get("password"); pw != "" && strings.Contains(p.body, pw) {
				t.Errorf("the page shows the password typed:\n%s", p.body)
			}
		})
	}
	if n, err := a.m.CountUsers(t.Context(), ginusers.UserQuery{}); err != nil || n != 0 {
		t.Fatalf("CountUsers() = %d, %v after refused registrations, want 0", n, err)
	}
}

// sameCookie gives two browsers the same form cookie, so that pages of two
// apps with the same secret carry the same form token and can be compared
// byte for byte.
func sameCookie(bs ...*browser) {
	for _, b := range bs {
		b.cookies["__Host-ginusers-csrf"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	}
}

func comparePages(t *testing.T, what string, x, y page) {
	t.Helper()
	if x.code != y.code || x.body != y.body || x.header.Get("Location") != y.header.Get("Location") {
		t.Fatalf("%s: the answers differ:\n%d %s\n%s\n---\n%d %s\n%s", what,
			x.code, x.header.Get("Location"), x.body, y.code, y.header.Get("Location"), y.body)
	}
	for k := range x.header {
		if k == "Set-Cookie" {
			continue
		}
		if x.header.Get(k) != y.header.Get(k) {
			t.Fatalf("%s: header %s differs: %q and %q", what, k, x.header.Get(k), y.header.Get(k))
		}
	}
}

// TestNoEnumeration: for each page that takes an address, an address with
// an account and one without get the same answer, byte for byte, after the
// same password-hashing work. Two apps hold the same address, one with an
// account, one without.
func TestNoEnumeration(t *testing.T) {
	const email = "king.arthur@camelot.bt"
	type outcome struct {
		pages  []page
		hashes int64
	}
	run := func(t *testing.T, exists bool, steps func(a *app, b *browser) []page) outcome {
		a := newApp(t)
		if exists {
			a.register(email, "guinevere")
		}
		b := newBrowser(t, a.engine)
		sameCookie(b)
		before := a.hashes()
		ps := steps(a, b)
		return outcome{ps, a.hashes() - before}
	}
	check := func(t *testing.T, steps func(a *app, b *browser) []page) (with, without outcome) {
		with, without = run(t, true, steps), run(t, false, steps)
		for i := range with.pages {
			comparePages(t, "existing and unknown address", with.pages[i], without.pages[i])
		}
		if with.hashes != without.hashes {
			t.Fatalf("password hashes: %d for an existing address, %d for an unknown one", with.hashes, without.hashes)
		}
		return with, without
	}

	t.Run("register", func(t *testing.T) {
		var created int64
		var verifyMails, resetMails [2]int
		i := 0
		check(t, func(a *app, b *browser) []page {
			p := b.submit("/register", url.Values{"email": {email}, "password": {"excalibur"}})
			done := b.follow(p)
			n, _ := a.m.CountUsers(t.Context(), ginusers.UserQuery{})
			created += n
			v, r := a.delivered()
			verifyMails[i], resetMails[i] = len(v[email]), len(r[email])
			i++
			return []page{p, done}
		})
		if created != 2 {
			t.Fatalf("users after registering an existing and a new address: %d, want 1 in each app", created)
		}
		if verifyMails != [2]int{0, 1} || resetMails != [2]int{1, 0} {
			t.Fatalf("verification e-mails %v, reset e-mails %v (existing, new): want a reset e-mail to the existing owner and a verification e-mail to the new one", verifyMails, resetMails)
		}
	})
	// The address as a person may type it, or paste it from a mail client:
	// with spaces around it, or with a display name. Registration
	// normalises it, so it is the existing account's address; the extra
	// work for an existing address must find that account too.
	for _, typed := range []string{" " + email + " ", "King Arthur <" + email + ">"} {
		t.Run("register as "+typed, func(t *testing.T) {
			var resetMails [2]int
			i := 0
			with, _ := check(t, func(a *app, b *browser) []page {
				p := b.submit("/register", url.Values{"email": {typed}, "password": {"excalibur"}})
				_, r := a.delivered()
				resetMails[i] = len(r[email])
				i++
				return []page{p, b.follow(p)}
			})
			if with.hashes != 1 {
				t.Fatalf("registering an existing address cost %d hashes, want 1", with.hashes)
			}
			if resetMails != [2]int{1, 0} {
				t.Fatalf("reset e-mails (existing, new) = %v, want the existing owner to get one", resetMails)
			}
		})
	}
	t.Run("register of an existing address keeps its password", func(t *testing.T) {
		a := newApp(t)
		a.register(email, "guinevere")
		b := newBrowser(t, a.engine)
		b.submit("/register", url.Values{"email": {"KING.ARTHUR@camelot.bt"}, "password": {"excalibur"}})
		if _, err := a.m.Authenticate(t.Context(), email, "guinevere"); err != nil {
			t.Fatalf("the owner's password no longer works: %v", err)
		}
		if _, err := a.m.Authenticate(t.Context(), email, "excalibur"); err == nil {
			t.Fatal("registering an existing address set its password")
		}
	})
	t.Run("forgot-password", func(t *testing.T) {
		var mails []int
		check(t, func(a *app, b *browser) []page {
			p := b.submit("/forgot-password", url.Values{"email": {email}})
			_, r := a.delivered()
			mails = append(mails, len(r[email]))
			return []page{p, b.follow(p)}
		})
		if mails[0] != 1 || mails[1] != 0 {
			t.Fatalf("reset e-mails (existing, unknown) = %v", mails)
		}
	})
	t.Run("verification request", func(t *testing.T) {
		var mails []int
		check(t, func(a *app, b *browser) []page {
			p := b.submit("/verify", url.Values{"email": {email}})
			v, _ := a.delivered()
			mails = append(mails, len(v[email]))
			return []page{p, b.follow(p)}
		})
		if mails[0] != 1 || mails[1] != 0 {
			t.Fatalf("verification e-mails (existing, unknown) = %v", mails)
		}
	})
	t.Run("sign-in with a wrong password", func(t *testing.T) {
		with, _ := check(t, func(a *app, b *browser) []page {
			return []page{b.submit("/sign-in", url.Values{"email": {email}, "password": {"morgana!"}})}
		})
		mustContain(t, with.pages[0], 400, "The e-mail address or the password is not right.")
		if with.hashes != 1 {
			t.Fatalf("a failed sign-in cost %d hashes, want 1", with.hashes)
		}
	})
	t.Run("sign-in of an inactive account", func(t *testing.T) {
		inactive := func(active bool) page {
			a := newApp(t)
			u := a.register(email, "guinevere")
			no := false
			if !active {
				if _, err := a.m.Update(t.Context(), u, ginusers.UserUpdate[ginusers.NoFields]{Active: &no}); err != nil {
					t.Fatal(err)
				}
			}
			b := newBrowser(t, a.engine)
			sameCookie(b)
			password := "guinevere" // right, but the account is disabled
			if active {
				password = "morgana!" // wrong
			}
			p := b.submit("/sign-in", url.Values{"email": {email}, "password": {password}})
			if b.whoami() != "" {
				t.Fatal("signed in")
			}
			return p
		}
		comparePages(t, "an inactive account with its password and a wrong password", inactive(false), inactive(true))
	})
}

func TestSignInRules(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")
	b := newBrowser(t, a.engine)
	p := b.submit("/sign-in", url.Values{})
	mustContain(t, p, 422, `id="email-error">This field is required.`, `id="password-error">This field is required.`)
	p = b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"wrong password"}})
	mustContain(t, p, 400, `role="alert"><p>The e-mail address or the password is not right.`, `value="king.arthur@camelot.bt"`)
	if strings.Contains(p.body, "wrong password") || b.whoami() != "" {
		t.Fatalf("a failed sign-in showed the password or signed in:\n%s", p.body)
	}
	// The address is a login name, matched without case.
	p = b.submit("/sign-in?next=%2Forders%3Fid%3D7", url.Values{"email": {"KING.ARTHUR@camelot.bt"}, "password": {"guinevere"}})
	if p.code != 303 || p.header.Get("Location") != "/orders?id=7" {
		t.Fatalf("sign in with next = %d %v", p.code, p.header)
	}
	cookie := ""
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "ginusersauth=") {
			cookie = c
		}
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if b.whoami() != "king.arthur@camelot.bt" {
		t.Fatal("not signed in")
	}
	// The session is a stored token.
	if n, err := a.tokColl.CountDocuments(t.Context(), bson.D{}); err != nil || n != 1 {
		t.Fatalf("stored tokens = %d, %v, want 1", n, err)
	}
}

func TestSignInRequiresVerificationWhenTheManagerDoes(t *testing.T) {
	a := newApp(t, ginusers.WithRequireVerified())
	a.register("king.arthur@camelot.bt", "guinevere")
	b := newBrowser(t, a.engine)
	p := b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	mustContain(t, p, 400, "Verify your e-mail address before you sign in", `href="/verify"`)
	if b.whoami() != "" {
		t.Fatal("an unverified user was signed in")
	}
	// A wrong password does not learn that the account is unverified.
	p = b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"morgana!"}})
	mustContain(t, p, 400, "The e-mail address or the password is not right.")
}

func TestResetPassword(t *testing.T) {
	a := newApp(t)
	u := a.register("king.arthur@camelot.bt", "guinevere")
	signedIn := newBrowser(t, a.engine)
	signedIn.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	if signedIn.whoami() == "" {
		t.Fatal("not signed in")
	}

	b := newBrowser(t, a.engine)
	p := b.submit("/forgot-password", url.Values{"email": {"King.Arthur@Camelot.bt"}})
	mustContain(t, b.follow(p), 200, "If an account has this address, we have sent it a link")
	_, reset := a.delivered()
	if len(reset[u.Email]) != 1 {
		t.Fatalf("reset e-mails = %v", reset)
	}
	tok := reset[u.Email][0]
	link := "/reset-password?token=" + url.QueryEscape(tok)

	// GET shows the form, and uses nothing (a mail scanner may fetch it).
	for range 2 {
		p = b.get(link)
	}
	mustContain(t, p, 200, `<form method="post" action="/reset-password">`, `<input type="hidden" name="token" value="`+tok+`">`, `autocomplete="new-password"`)
	if p.header.Get("Referrer-Policy") != "strict-origin" || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset page headers = %v", p.header)
	}
	if n := strings.Count(p.body, tok); n != 1 {
		t.Fatalf("the token appears %d times on the page, want once (the hidden field)", n)
	}
	for _, href := range regexp.MustCompile(`(?:href|action|src)="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		if !strings.HasPrefix(href[1], "/") || strings.HasPrefix(href[1], "//") {
			t.Fatalf("the reset page links to another origin: %s", href[0])
		}
	}

	// A refused password keeps the token usable.
	p = b.post(p, url.Values{"password": {"short"}})
	mustContain(t, p, 400, `id="password-error">Password should be at least 8 characters`, `name="token" value="`+tok+`"`)
	p = b.post(p, url.Values{"password": {""}})
	mustContain(t, p, 422, `id="password-error">This field is required.`)

	p = b.post(p, url.Values{"password": {"excalibur"}})
	if p.code != 303 || p.header.Get("Location") != "/sign-in?done=password-reset" {
		t.Fatalf("POST /reset-password = %d %v\n%s", p.code, p.header, p.body)
	}
	mustContain(t, b.follow(p), 200, "Your password has been changed. Sign in with the new one.")
	if signedIn.whoami() != "" {
		t.Fatal("a session from before the reset still works")
	}

	// The token is used up; the old password is refused, the new one works.
	mustContain(t, b.post(b.get(link), url.Values{"password": {"another-one"}}), 400, "This link does not work", `href="/forgot-password"`)
	p = b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	mustContain(t, p, 400, "The e-mail address or the password is not right.")
	p = b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"excalibur"}})
	if p.code != 303 || b.whoami() != "king.arthur@camelot.bt" {
		t.Fatalf("sign in with the new password = %d", p.code)
	}

	// Bad links.
	mustContain(t, b.get("/reset-password"), 400, "This link does not work")
	mustContain(t, b.post(b.get("/reset-password?token=forged"), url.Values{"password": {"excalibur2"}}), 400, "This link does not work")
	// The token in the query of the post is not read: only the form's.
	p = b.get(link)
	p.body = strings.Replace(p.body, `name="token" value="`+tok+`"`, `name="token" value=""`, 1)
	p.body = strings.Replace(p.body, `action="/reset-password"`, `action="/reset-password?token=`+url.QueryEscape(tok)+`"`, 1)
	mustContain(t, b.post(p, url.Values{"password": {"excalibur3"}}), 400, "This link does not work")
}

// TestEveryFormRefusesForgery: each form post of the pages is refused
// (403, nothing done) when it comes from another site or lacks its token.
func TestEveryFormRefusesForgery(t *testing.T) {
	a := newApp(t)
	a.register("king.arthur@camelot.bt", "guinevere")
	forms := []struct {
		page string
		form url.Values
	}{
		{"/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}},
		{"/register", url.Values{"email": {"lancelot@camelot.bt"}, "password": {"guinevere"}}},
		{"/forgot-password", url.Values{"email": {"king.arthur@camelot.bt"}}},
		{"/verify", url.Values{"email": {"king.arthur@camelot.bt"}}},
		{"/reset-password?token=x", url.Values{"password": {"excalibur"}}},
		{"/sign-out", url.Values{}},
	}
	attacks := []struct {
		name   string
		header http.Header
		token  func(string) string
	}{
		{"cross-site (Sec-Fetch-Site)", http.Header{"Sec-Fetch-Site": {"cross-site"}}, nil},
		{"cross-origin (Origin, no Sec-Fetch-Site)", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": nil}, nil},
		{"no form token", nil, func(string) string { return "" }},
		{"a wrong form token", nil, func(tok string) string { return tok[:len(tok)-4] + "AAAA" }},
	}
	for _, f := range forms {
		for _, at := range attacks {
			t.Run(f.page+" "+at.name, func(t *testing.T) {
				b := newBrowser(t, a.engine)
				signedIn := ""
				if f.page == "/sign-out" {
					b.submit("/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
					signedIn = "king.arthur@camelot.bt"
				}
				p := b.get(f.page)
				all := url.Values{}
				for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
					all.Set(h[1], unescape(h[2]))
				}
				for k, v := range f.form {
					all[k] = v
				}
				if at.token != nil {
					all.Set("csrf_token", at.token(all.Get("csrf_token")))
				}
				action := unescape(actionRE.FindStringSubmatch(p.body)[1])
				p = b.do(http.MethodPost, action, all, at.header)
				mustContain(t, p, 403, "This form cannot be accepted")
				if got := b.whoami(); got != signedIn {
					t.Fatalf("signed in as %q after a refused form, want %q", got, signedIn)
				}
			})
		}
	}
	if n, _ := a.m.CountUsers(t.Context(), ginusers.UserQuery{}); n != 1 {
		t.Fatalf("users = %d after refused registrations, want 1", n)
	}
	if v, r := a.delivered(); len(v) != 0 || len(r) != 0 {
		t.Fatalf("refused forms sent e-mails: %v %v", v, r)
	}
}

// TestRegisteringATakenAddressCostsANewHash: for a taken address, the
// registration page spends what registering costs, one hash with the
// current settings, and never checks the typed password against the
// stored hash (an imported bcrypt hash, say, whose cost is another's: the
// time would tell the address is taken).
func TestRegisteringATakenAddressCostsANewHash(t *testing.T) {
	a := newApp(t)
	a.register("tristan@camelot.bt", "isolde the fair")
	b := newBrowser(t, a.engine)
	hashes, checks := a.hasher.Hashes.Load(), a.hasher.Checks.Load()
	b.submit("/register", url.Values{"email": {"tristan@camelot.bt"}, "password": {"isolde the fair"}})
	if h, c := a.hasher.Hashes.Load()-hashes, a.hasher.Checks.Load()-checks; h != 1 || c != 0 {
		t.Fatalf("registering a taken address: %d hashes and %d checks against the stored hash, want 1 and 0", h, c)
	}
}
