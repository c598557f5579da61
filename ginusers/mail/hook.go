package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// HookOption configures the hooks built by [VerifyHook] and [ResetHook].
type HookOption func(*hookConfig)

type hookConfig struct {
	tmpl     Template
	path     string
	lifetime time.Duration
}

// DefaultLifetime is the default of [WithLifetime]: one hour, the default
// of ginusers.WithVerifyLifetime and ginusers.WithResetLifetime.
const DefaultLifetime = time.Hour

// WithTemplate replaces the message's template. The default is
// [DefaultVerifyTemplate] for [VerifyHook] and [DefaultResetTemplate] for
// [ResetHook]. A template with a nil Subject or Body makes the builder
// return an error.
func WithTemplate(t Template) HookOption {
	return func(c *hookConfig) { c.tmpl = t }
}

// WithPath sets the path of the link, appended to the link base: the page
// of the application that reads the token from the query and calls the
// verify or reset-password route. The defaults are "/verify" for
// [VerifyHook] and "/reset-password" for [ResetHook]. It must begin with
// "/" and hold no query or fragment; otherwise the builder returns an error.
func WithPath(p string) HookOption {
	return func(c *hookConfig) { c.path = p }
}

// WithLifetime sets the token lifetime that the message states. It does
// not change the lifetime of tokens: keep it equal to
// ginusers.WithVerifyLifetime or ginusers.WithResetLifetime. The default is
// [DefaultLifetime] (one hour), theirs too; zero or negative makes the
// builder return an error.
func WithLifetime(d time.Duration) HookOption {
	return func(c *hookConfig) { c.lifetime = d }
}

// VerifyHook returns a hook for ginusers.OnAfterRequestVerify that sends
// the e-mail verification message, through s, to the user's stored
// address u.Email. The message is rendered from [DefaultVerifyTemplate]
// (see [WithTemplate]) with a link made of linkBase, the path "/verify"
// (see [WithPath]) and ?token=<token>, the token escaped for a query.
//
// linkBase is the application's public URL as configured, for instance
// https://app.example.com; never build it from a request's Host header,
// which the client chooses, or reset links could point to an attacker's
// site. VerifyHook returns an error when linkBase is not an absolute http
// or https URL (see [NewLink]) or when an option is invalid.
//
// The hook returns the error of s.Send as is, or a "mail: " error when the
// template fails. It is safe for concurrent use if s is.
func VerifyHook[F any](s Sender, linkBase string, opts ...HookOption) (ginusers.TokenHook[F], error) {
	return tokenHook[F](s, linkBase, hookConfig{tmpl: DefaultVerifyTemplate(), path: "/verify", lifetime: DefaultLifetime}, opts)
}

// ResetHook returns a hook for ginusers.OnAfterForgotPassword that sends
// the password-reset message, through s, to the user's stored address
// u.Email. The message is rendered from [DefaultResetTemplate] (see
// [WithTemplate]) with a link made of linkBase, the path "/reset-password"
// (see [WithPath]) and ?token=<token>, the token escaped for a query.
//
// linkBase, the errors and concurrency are as for [VerifyHook].
func ResetHook[F any](s Sender, linkBase string, opts ...HookOption) (ginusers.TokenHook[F], error) {
	return tokenHook[F](s, linkBase, hookConfig{tmpl: DefaultResetTemplate(), path: "/reset-password", lifetime: DefaultLifetime}, opts)
}

func tokenHook[F any](s Sender, linkBase string, cfg hookConfig, opts []HookOption) (ginusers.TokenHook[F], error) {
	if s == nil {
		return nil, errors.New("mail: nil Sender")
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.tmpl.Subject == nil || cfg.tmpl.Body == nil {
		return nil, errors.New("mail: WithTemplate needs a Subject and a Body template")
	}
	if cfg.lifetime <= 0 {
		return nil, fmt.Errorf("mail: WithLifetime must be positive, got %v", cfg.lifetime)
	}
	link, err := NewLink(linkBase, cfg.path)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, u *ginusers.User[F], token string) error {
		if u == nil || token == "" {
			return errors.New("mail: hook called without a user or a token")
		}
		l := *link
		l.RawQuery = url.Values{"token": {token}}.Encode()
		msg, err := cfg.tmpl.Render(Data{Email: u.Email, Link: l.String(), Token: token, Lifetime: cfg.lifetime})
		if err != nil {
			return err
		}
		return s.Send(ctx, msg)
	}, nil
}

// NewLink returns the URL made of base, an absolute http or https URL such
// as "https://app.example.com" or "https://example.com/app/", and path,
// which must begin with "/": "https://example.com/app" with "/verify" gives
// "https://example.com/app/verify". It returns an error when base is
// relative, has another scheme (javascript:, data:, ftp:...), has no host,
// or carries user information, a query or a fragment, and when path does
// not begin with "/" or has a query or a fragment.
func NewLink(base, path string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("mail: link base %q: %w", base, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("mail: link base %q is not an absolute http or https URL", base)
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return nil, fmt.Errorf("mail: link base %q has no host", base)
	case u.User != nil:
		return nil, fmt.Errorf("mail: link base %q must not carry user information", base)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#"):
		return nil, fmt.Errorf("mail: link base %q must not have a query or a fragment", base)
	}
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("mail: link path %q must begin with a single / and have no query or fragment", path)
	}
	p, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("mail: link path %q: %w", path, err)
	}
	out := *u
	out.Path = strings.TrimSuffix(u.Path, "/") + p.Path
	out.RawPath = ""
	if u.RawPath != "" || p.RawPath != "" {
		out.RawPath = strings.TrimSuffix(u.EscapedPath(), "/") + p.EscapedPath()
	}
	return &out, nil
}
