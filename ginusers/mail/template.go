package mail

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Template renders the subject and the plain-text body of a message from
// [Data]. Both are text/template templates (not html/template: the body is
// plain text, and nothing in it is escaped).
//
// Bodies that a script should be able to read, in tests or in a command
// line client, keep the token on a line of its own as token={{.Token}},
// as the default templates do.
//
// A Template is safe for concurrent use once parsed; don't change its
// templates while they may be executing.
type Template struct {
	// Subject renders the subject line. Leading and trailing white space is
	// trimmed from the result, which must not contain a line break.
	Subject *template.Template
	// Body renders the body.
	Body *template.Template
}

// Data is what a [Template] is executed with.
type Data struct {
	// Email is the recipient's address, as stored for the user.
	Email string
	// Link is the URL that carries the token, for instance
	// https://app.example.com/verify?token=eyJ...
	Link string
	// Token is the token itself, for clients that paste it.
	Token string
	// Lifetime is how long the token stays valid; templates show it with
	// {{.LifetimeText}}.
	Lifetime time.Duration
}

// LifetimeText returns Lifetime in words, such as "1 hour", "30 minutes"
// or "2 days"; durations that are not whole minutes use
// time.Duration.String.
func (d Data) LifetimeText() string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	l := d.Lifetime
	switch {
	case l <= 0 || l%time.Minute != 0:
		return l.String()
	case l%(24*time.Hour) == 0:
		return unit(int64(l/(24*time.Hour)), "day")
	case l%time.Hour == 0:
		return unit(int64(l/time.Hour), "hour")
	default:
		return unit(int64(l/time.Minute), "minute")
	}
}

// Render executes the templates with d and returns the message to send to
// d.Email. It returns an error if a template is nil or fails, or if the
// subject contains a line break.
func (t Template) Render(d Data) (Message, error) {
	if t.Subject == nil || t.Body == nil {
		return Message{}, errors.New("mail: template without a subject or a body")
	}
	var subject, body strings.Builder
	if err := t.Subject.Execute(&subject, d); err != nil {
		return Message{}, fmt.Errorf("mail: subject template: %w", err)
	}
	if err := t.Body.Execute(&body, d); err != nil {
		return Message{}, fmt.Errorf("mail: body template: %w", err)
	}
	s := strings.TrimSpace(subject.String())
	if strings.ContainsAny(s, "\r\n") {
		return Message{}, fmt.Errorf("%w: the subject template rendered a line break", ErrHeaderInjection)
	}
	return Message{To: d.Email, Subject: s, Body: body.String()}, nil
}

// DefaultVerifyTemplate returns the template of the e-mail verification
// message used by [VerifyHook] unless [WithTemplate] replaces it: a short
// English text with the link, its lifetime and a line token=<TOKEN>. Each
// call returns new templates, which the caller may change.
func DefaultVerifyTemplate() Template {
	return Template{
		Subject: template.Must(template.New("verify-subject").Parse(`Confirm your e-mail address`)),
		Body:    template.Must(template.New("verify-body").Parse(verifyBody)),
	}
}

// DefaultResetTemplate returns the template of the password-reset message
// used by [ResetHook] unless [WithTemplate] replaces it: a short English
// text with the link, its lifetime and a line token=<TOKEN>. Each call
// returns new templates, which the caller may change.
func DefaultResetTemplate() Template {
	return Template{
		Subject: template.Must(template.New("reset-subject").Parse(`Reset your password`)),
		Body:    template.Must(template.New("reset-body").Parse(resetBody)),
	}
}

const verifyBody = `Hello,

Please confirm that {{.Email}} is your e-mail address by opening this link:

{{.Link}}

The link is valid for {{.LifetimeText}}. If it has expired, ask for a new one
from the app.

If you cannot open the link, give the app this token:

token={{.Token}}

If you did not create an account, you can ignore this message.
`

const resetBody = `Hello,

Someone, hopefully you, asked to reset the password of the account
{{.Email}}. To choose a new password, open this link:

{{.Link}}

The link is valid for {{.LifetimeText}} and works once. If you cannot open
it, give the app this token:

token={{.Token}}

If you did not ask for a new password, you can ignore this message: your
password stays as it is.
`
