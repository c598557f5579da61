package mail_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/ginusers/kit/ginusers/mail"
)

func TestDataLifetimeText(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"one hour is singular", time.Hour, "1 hour"},
		{"hours are plural", 3 * time.Hour, "3 hours"},
		{"whole days are days", 48 * time.Hour, "2 days"},
		{"one day is singular", 24 * time.Hour, "1 day"},
		{"minutes that are not whole hours are minutes", 90 * time.Minute, "90 minutes"},
		{"one minute is singular", time.Minute, "1 minute"},
		{"seconds fall back to Duration.String", 90 * time.Second, "1m30s"},
		{"zero falls back to Duration.String", 0, "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (mail.Data{Lifetime: tt.d}).LifetimeText(); got != tt.want {
				t.Errorf("LifetimeText(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestDefaultTemplates(t *testing.T) {
	d := mail.Data{Email: "ada@example.com", Link: "https://app.example.com/x?token=T0K", Token: "T0K", Lifetime: time.Hour}
	tests := []struct {
		name        string
		tmpl        mail.Template
		wantSubject string
	}{
		{"the verify template", mail.DefaultVerifyTemplate(), "Confirm your e-mail address"},
		{"the reset template", mail.DefaultResetTemplate(), "Reset your password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.tmpl.Render(d)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if msg.To != d.Email || msg.Subject != tt.wantSubject {
				t.Errorf("Render() = To %q, Subject %q; want %q, %q", msg.To, msg.Subject, d.Email, tt.wantSubject)
			}
			for _, want := range []string{`(?m)^` + regexp.QuoteMeta(d.Link) + `$`, `(?m)^token=T0K$`, `1 hour`, regexp.QuoteMeta(d.Email)} {
				if !regexp.MustCompile(want).MatchString(msg.Body) {
					t.Errorf("body does not match %s:\n%s", want, msg.Body)
				}
			}
		})
	}
	// Each call returns new templates: changing one leaves the next intact.
	a := mail.DefaultVerifyTemplate()
	template.Must(a.Subject.Parse("changed"))
	if msg, _ := mail.DefaultVerifyTemplate().Render(d); msg.Subject != "Confirm your e-mail address" {
		t.Errorf("DefaultVerifyTemplate() after a change = %q, want the default", msg.Subject)
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	parse := func(s string) *template.Template { return template.Must(template.New("").Parse(s)) }
	tests := []struct {
		name    string
		tmpl    mail.Template
		wantErr error
	}{
		{name: "a nil subject template is an error", tmpl: mail.Template{Body: parse("b")}},
		{name: "a nil body template is an error", tmpl: mail.Template{Subject: parse("s")}},
		{name: "a failing subject template is an error", tmpl: mail.Template{Subject: parse("{{.Missing}}"), Body: parse("b")}},
		{name: "a failing body template is an error", tmpl: mail.Template{Subject: parse("s"), Body: parse("{{.Missing}}")}},
		{name: "a subject that renders a line break is refused", tmpl: mail.Template{Subject: parse("Hi\n{{.Email}}"), Body: parse("b")}, wantErr: mail.ErrHeaderInjection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tmpl.Render(mail.Data{Email: "ada@example.com"})
			if err == nil || !strings.HasPrefix(err.Error(), "mail: ") {
				t.Fatalf("Render() error = %v, want a mail: error", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Render() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Surrounding white space of the subject is trimmed.
	msg, err := mail.Template{Subject: parse("  Hi {{.Email}}\n"), Body: parse("b")}.Render(mail.Data{Email: "ada@example.com"})
	if err != nil || msg.Subject != "Hi ada@example.com" {
		t.Errorf("Render() subject = %q, %v; want %q", msg.Subject, err, "Hi ada@example.com")
	}
}
