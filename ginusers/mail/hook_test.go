package mail_test

import (
	"context"
	"errors"
	"io"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/mail"
	"github.com/ginusers/kit/ginusers/mail/smtptest"
	"github.com/ginusers/kit/ginusers/storetest"
)

// tokenLine finds the token=<TOKEN> line of a body, as a script would.
var tokenLine = regexp.MustCompile(`(?m)^token=(\S+)\r?$`)

type hookBuilder func(s mail.Sender, linkBase string, opts ...mail.HookOption) (ginusers.TokenHook[ginusers.NoFields], error)

func TestHooksSendTheLinkAndTheToken(t *testing.T) {
	custom := mail.Template{
		Subject: template.Must(template.New("s").Parse(`Bienvenue {{.Email}}`)),
		Body:    template.Must(template.New("b").Parse("Lien :\n{{.Link}}\nDurée : {{.LifetimeText}}\ntoken={{.Token}}\n")),
	}
	tests := []struct {
		name        string
		build       hookBuilder
		base        string
		opts        []mail.HookOption
		token       string
		wantLink    string
		wantSubject string
		wantText    string
	}{
		{
			name:        "the verify hook links to /verify",
			build:       mail.VerifyHook[ginusers.NoFields],
			base:        "https://app.example.com",
			token:       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_",
			wantLink:    "https://app.example.com/verify?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_",
			wantSubject: "Confirm your e-mail address",
			wantText:    "valid for 1 hour",
		},
		{
			name:        "the reset hook links to /reset-password",
			build:       mail.ResetHook[ginusers.NoFields],
			base:        "https://app.example.com/",
			token:       "abc.def.ghi",
			wantLink:    "https://app.example.com/reset-password?token=abc.def.ghi",
			wantSubject: "Reset your password",
			wantText:    "valid for 1 hour",
		},
		{
			name:        "WithPath and a base with a path make the link",
			build:       mail.ResetHook[ginusers.NoFields],
			base:        "https://example.com/app",
			opts:        []mail.HookOption{mail.WithPath("/account/reset")},
			token:       "abc",
			wantLink:    "https://example.com/app/account/reset?token=abc",
			wantSubject: "Reset your password",
		},
		{
			name:        "a token with reserved characters is escaped in the link only",
			build:       mail.VerifyHook[ginusers.NoFields],
			base:        "https://app.example.com",
			token:       "a+b/c=d&e",
			wantLink:    "https://app.example.com/verify?token=a%2Bb%2Fc%3Dd%26e",
			wantSubject: "Confirm your e-mail address",
		},
		{
			name:        "WithLifetime is stated in the text",
			build:       mail.VerifyHook[ginusers.NoFields],
			base:        "http://localhost:8080",
			opts:        []mail.HookOption{mail.WithLifetime(30 * time.Minute)},
			token:       "abc",
			wantLink:    "http://localhost:8080/verify?token=abc",
			wantSubject: "Confirm your e-mail address",
			wantText:    "valid for 30 minutes",
		},
		{
			name:        "WithTemplate replaces the text",
			build:       mail.VerifyHook[ginusers.NoFields],
			base:        "https://app.example.com",
			opts:        []mail.HookOption{mail.WithTemplate(custom), mail.WithLifetime(48 * time.Hour)},
			token:       "abc",
			wantLink:    "https://app.example.com/verify?token=abc",
			wantSubject: "Bienvenue ada@example.com",
			wantText:    "Durée : 2 days",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t)
			hook, err := tt.build(newSender(t, srv), tt.base, tt.opts...)
			if err != nil {
				t.Fatalf("building the hook: error = %v", err)
			}
			u := &ginusers.User[ginusers.NoFields]{ID: "1", Email: "ada@example.com"}
			if err := hook(t.Context(), u, tt.token); err != nil {
				t.Fatalf("hook() error = %v", err)
			}
			got, err := srv.WaitMessage(waitCtx(t))
			if err != nil {
				t.Fatalf("WaitMessage() error = %v", err)
			}
			if len(got.To) != 1 || got.To[0] != u.Email {
				t.Errorf("RCPT TO = %q, want [%q]", got.To, u.Email)
			}
			m, err := netmail.ReadMessage(strings.NewReader(got.Data))
			if err != nil {
				t.Fatalf("ReadMessage() error = %v", err)
			}
			if s := m.Header.Get("Subject"); s != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", s, tt.wantSubject)
			}
			b, _ := io.ReadAll(m.Body)
			body := string(b)
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tt.wantLink) + `\r?$`).MatchString(body) {
				t.Errorf("body has no line with the link %s:\n%s", tt.wantLink, body)
			}
			sm := tokenLine.FindAllStringSubmatch(body, -1)
			if len(sm) != 1 || sm[0][1] != tt.token {
				t.Errorf("token lines = %q, want one with %q", sm, tt.token)
			}
			if !strings.Contains(body, tt.wantText) {
				t.Errorf("body does not contain %q:\n%s", tt.wantText, body)
			}
			// The link in the mail gives the token back to the page.
			lu, err := url.Parse(tt.wantLink)
			if err != nil || lu.Query().Get("token") != tt.token {
				t.Errorf("the link's token = %q, want %q", lu.Query().Get("token"), tt.token)
			}
		})
	}
}

func TestHookBuildersValidate(t *testing.T) {
	sender := mail.SenderFunc(func(context.Context, mail.Message) error { return nil })
	tests := []struct {
		name string
		s    mail.Sender
		base string
		opts []mail.HookOption
	}{
		{name: "a nil sender is refused", s: nil, base: "https://app.example.com"},
		{name: "a relative link base is refused", s: sender, base: "/app"},
		{name: "a link base without a scheme is refused", s: sender, base: "app.example.com"},
		{name: "a scheme-relative link base is refused", s: sender, base: "//app.example.com"},
		{name: "a javascript: link base is refused", s: sender, base: "javascript:alert(document.cookie)"},
		{name: "a data: link base is refused", s: sender, base: "data:text/html,hi"},
		{name: "an ftp link base is refused", s: sender, base: "ftp://app.example.com"},
		{name: "an empty link base is refused", s: sender, base: ""},
		{name: "a link base without a host is refused", s: sender, base: "https:///path"},
		{name: "a link base with user information is refused", s: sender, base: "https://user:pw@app.example.com"},
		{name: "a link base with a query is refused", s: sender, base: "https://app.example.com/?next=x"},
		{name: "a link base with a fragment is refused", s: sender, base: "https://app.example.com/#/"},
		{name: "a path without a leading slash is refused", s: sender, base: "https://app.example.com", opts: []mail.HookOption{mail.WithPath("verify")}},
		{name: "a path that names another host is refused", s: sender, base: "https://app.example.com", opts: []mail.HookOption{mail.WithPath("//evil.example/verify")}},
		{name: "a path with a query is refused", s: sender, base: "https://app.example.com", opts: []mail.HookOption{mail.WithPath("/verify?x=1")}},
		{name: "a template without a body is refused", s: sender, base: "https://app.example.com", opts: []mail.HookOption{mail.WithTemplate(mail.Template{Subject: mail.DefaultVerifyTemplate().Subject})}},
		{name: "a zero lifetime is refused", s: sender, base: "https://app.example.com", opts: []mail.HookOption{mail.WithLifetime(0)}},
	}
	for _, tt := range tests {
		for _, b := range []struct {
			kind  string
			build hookBuilder
		}{{"VerifyHook", mail.VerifyHook[ginusers.NoFields]}, {"ResetHook", mail.ResetHook[ginusers.NoFields]}} {
			t.Run(tt.name+" by "+b.kind, func(t *testing.T) {
				hook, err := b.build(tt.s, tt.base, tt.opts...)
				if err == nil || hook != nil {
					t.Fatalf("%s() = %v, %v; want nil and an error", b.kind, hook != nil, err)
				}
				if !strings.HasPrefix(err.Error(), "mail: ") {
					t.Errorf("%s() error = %q, want the prefix %q", b.kind, err, "mail: ")
				}
			})
		}
	}
}

func TestNewLink(t *testing.T) {
	tests := []struct {
		name, base, path, want string
	}{
		{"a bare origin gets the path", "https://app.example.com", "/verify", "https://app.example.com/verify"},
		{"a trailing slash is not doubled", "https://app.example.com/", "/verify", "https://app.example.com/verify"},
		{"a base path is kept", "https://example.com/app/", "/reset-password", "https://example.com/app/reset-password"},
		{"http on localhost with a port works", "http://localhost:8080", "/verify", "http://localhost:8080/verify"},
		{"the scheme is case-insensitive", "HTTPS://app.example.com", "/verify", "https://app.example.com/verify"},
		{"an escaped path stays escaped", "https://example.com/a%2Fb", "/v%20x", "https://example.com/a%2Fb/v%20x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := mail.NewLink(tt.base, tt.path)
			if err != nil {
				t.Fatalf("NewLink(%q, %q) error = %v", tt.base, tt.path, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("NewLink(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
			}
		})
	}
}

func TestHookReturnsTheSendersError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		user    *ginusers.User[ginusers.NoFields]
		token   string
		sendErr error
	}{
		{name: "the sender's error is returned", user: &ginusers.User[ginusers.NoFields]{Email: "ada@example.com"}, token: "t", sendErr: boom},
		{name: "a stored address with a line break is refused", user: &ginusers.User[ginusers.NoFields]{Email: "ada@example.com\r\nBcc: x@y.z"}, token: "t", sendErr: mail.ErrHeaderInjection},
		{name: "an empty token is refused", user: &ginusers.User[ginusers.NoFields]{Email: "ada@example.com"}},
		{name: "a nil user is refused", token: "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender := mail.SenderFunc(func(ctx context.Context, msg mail.Message) error {
				if _, err := mail.CheckMessage(msg); err != nil {
					return err
				}
				return tt.sendErr
			})
			hook, err := mail.ResetHook[ginusers.NoFields](sender, "https://app.example.com")
			if err != nil {
				t.Fatal(err)
			}
			err = hook(t.Context(), tt.user, tt.token)
			if err == nil {
				t.Fatal("hook() error = nil, want an error")
			}
			if tt.sendErr != nil && !errors.Is(err, tt.sendErr) {
				t.Errorf("hook() error = %v, want %v", err, tt.sendErr)
			}
		})
	}
}

// TestHooksWithManager runs the flows of ginusers end to end: the token
// that the e-mail carries verifies the user and resets the password.
func TestHooksWithManager(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithTLS(), smtptest.WithAuth("app", "s3cret"))
	sender := newSender(t, srv, mail.WithFrom("Example <noreply@example.com>"),
		mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithAuth("app", "s3cret"))
	verify, err := mail.VerifyHook[ginusers.NoFields](sender, "https://app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	reset, err := mail.ResetHook[ginusers.NoFields](sender, "https://app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ginusers.New[ginusers.NoFields](storetest.NewMemStore[ginusers.NoFields](),
		ginusers.WithSecret([]byte(strings.Repeat("k", 64))),
		ginusers.OnAfterRequestVerify(verify),
		ginusers.OnAfterForgotPassword(reset),
	)
	if err != nil {
		t.Fatalf("ginusers.New() error = %v", err)
	}
	ctx := t.Context()
	u, err := m.Register(ctx, ginusers.UserCreate[ginusers.NoFields]{Email: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("Register() error = %v", err)
	}
	// token waits for the next message and reads its token line.
	token := func(wantPath string) string {
		t.Helper()
		got, err := srv.WaitMessage(waitCtx(t))
		if err != nil {
			t.Fatalf("WaitMessage() error = %v", err)
		}
		if len(got.To) != 1 || got.To[0] != u.Email || !got.TLS || got.AuthUser != "app" {
			t.Errorf("received %+v, want a message to %s over TLS by app", got, u.Email)
		}
		sm := tokenLine.FindStringSubmatch(got.Data)
		if sm == nil {
			t.Fatalf("no token line in:\n%s", got.Data)
		}
		if !strings.Contains(got.Data, "https://app.example.com"+wantPath+"?token="+url.QueryEscape(sm[1])) {
			t.Errorf("no link to %s with the token in:\n%s", wantPath, got.Data)
		}
		return sm[1]
	}

	if err := m.RequestVerify(ctx, u); err != nil {
		t.Fatalf("RequestVerify() error = %v", err)
	}
	if v, err := m.Verify(ctx, token("/verify")); err != nil || !v.Verified {
		t.Fatalf("Verify(token from the mail) = %+v, %v; want a verified user", v, err)
	}

	if err := m.ForgotPassword(ctx, u); err != nil {
		t.Fatalf("ForgotPassword() error = %v", err)
	}
	if _, err := m.ResetPassword(ctx, token("/reset-password"), "a brand new passphrase"); err != nil {
		t.Fatalf("ResetPassword(token from the mail) error = %v", err)
	}
	if _, err := m.Authenticate(ctx, "ada@example.com", "a brand new passphrase"); err != nil {
		t.Errorf("Authenticate(new password) error = %v", err)
	}
}
