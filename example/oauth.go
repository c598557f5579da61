package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/account"
	"github.com/ginusers/kit/oauth"
)

// mountOAuth mounts sign-in with an OpenID provider named "oidc" when
// OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set (and nothing
// otherwise):
//
//	GET /auth/oidc/authorize, /auth/oidc/callback               sign in, bearer JWT (backend "jwt")
//	GET /auth/oidc-cookie/authorize, /auth/oidc-cookie/callback sign in, cookie (backend "cookie")
//	GET /auth/associate/oidc/authorize, /callback               link an account to the current user
//
// The provider is found by discovery at OIDC_ISSUER; register the three
// callback URLs, PUBLIC_URL followed by the paths above, at the provider
// exactly. OIDC_REDIRECTS lists (comma-separated) where the cookie
// sign-in may send the browser afterwards (?redirect=...), each matched
// exactly; /sign-in is always allowed, for the link it returns for the
// account pages ("Sign in with <issuer's host>": the cookie sign-in, back to
// /sign-in, which then shows who is signed in). Provider tokens are not stored (the example does not call the
// provider's API).
func mountOAuth(ctx context.Context, e *gin.Engine, m *ginusers.Manager[Profile], publicURL string, getenv func(string) string, logger *slog.Logger) ([]ginusers.Route, []account.Provider, error) {
	issuer, id, secret := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID"), getenv("OIDC_CLIENT_SECRET")
	if issuer == "" && id == "" && secret == "" {
		return nil, nil, nil
	}
	if issuer == "" || id == "" || secret == "" {
		return nil, nil, errors.New("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together")
	}
	var jwtBackend, cookieBackend *ginusers.Backend
	for _, b := range m.Backends() {
		switch b.Name() {
		case "jwt":
			jwtBackend = b
		case "cookie":
			cookieBackend = b
		}
	}
	p, err := oauth.DiscoverOIDC(ctx, "oidc", issuer, id, secret)
	if err != nil {
		return nil, nil, fmt.Errorf("OIDC_ISSUER: %w", err)
	}
	opts := []oauth.Option{oauth.WithBaseURL(publicURL)}
	if getenv("COOKIE_INSECURE") == "1" {
		opts = append(opts, oauth.WithInsecureCSRFCookie())
	}
	routes, err := oauth.Routes(e.Group("/auth/oidc"), m, jwtBackend, p, opts...)
	if err != nil {
		return nil, nil, err
	}
	targets := []string{"/sign-in"}
	if r := getenv("OIDC_REDIRECTS"); r != "" {
		targets = append(targets, strings.Split(r, ",")...)
	}
	cookieOpts := append(slices.Clip(opts), oauth.WithRedirects(targets...))
	cookieRoutes, err := oauth.Routes(e.Group("/auth/oidc-cookie"), m, cookieBackend, p, cookieOpts...)
	if err != nil {
		return nil, nil, err
	}
	assocRoutes, err := oauth.AssociateRoutes(e.Group("/auth/associate/oidc"), m, p, opts...)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("OpenID sign-in enabled at /auth/oidc and /auth/oidc-cookie", "issuer", issuer,
		"callbacks", []string{publicURL + "/auth/oidc/callback", publicURL + "/auth/oidc-cookie/callback", publicURL + "/auth/associate/oidc/callback"})
	label := issuer
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		label = u.Host
	}
	link := account.Provider{Label: label, Path: "/auth/oidc-cookie/authorize?browser=1&redirect=%2Fsign-in"}
	return append(append(routes, cookieRoutes...), assocRoutes...), []account.Provider{link}, nil
}
