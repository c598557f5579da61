package main

import (
	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/account"
)

// mountAccount serves the account pages (package account) at the paths
// the verification and reset e-mails link to: /sign-in, /sign-out,
// /register, /forgot-password, /reset-password?token=..., /verify?token=...
// (and /account.css). They sign users in through the cookie backend (a
// database token in the cookie ginusersauth), and sign their forms with a
// key derived from SECRET. With COOKIE_INSECURE=1 their own cookie loses
// Secure and its __Host- prefix too, for plain-HTTP development. The sign-in
// and register pages link to the providers given (mountOAuth's).
func mountAccount(e *gin.Engine, m *ginusers.Manager[Profile], secret []byte, providers []account.Provider, getenv func(string) string) error {
	opts := []account.Option{account.WithSecret(secret), account.WithProviders(providers...)}
	for _, b := range m.Backends() {
		if b.Name() == "cookie" {
			opts = append(opts, account.WithBackend(b))
		}
	}
	if getenv("COOKIE_INSECURE") == "1" {
		opts = append(opts, account.WithInsecureCookie())
	}
	return account.Mount(e, m, opts...)
}
