package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
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
// exactly. Provider tokens are not stored (the example does not call the
// provider's API).
func mountOAuth(ctx context.Context, e *gin.Engine, m *ginusers.Manager[Profile], publicURL string, getenv func(string) string, logger *slog.Logger) ([]ginusers.Route, error) {
	issuer, id, secret := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID"), getenv("OIDC_CLIENT_SECRET")
	if issuer == "" && id == "" && secret == "" {
		return nil, nil
	}
	if issuer == "" || id == "" || secret == "" {
		return nil, errors.New("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together")
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
		return nil, fmt.Errorf("OIDC_ISSUER: %w", err)
	}
	opts := []oauth.Option{oauth.WithBaseURL(publicURL)}
	if getenv("COOKIE_INSECURE") == "1" {
		opts = append(opts, oauth.WithInsecureCSRFCookie())
	}
	routes, err := oauth.Routes(e.Group("/auth/oidc"), m, jwtBackend, p, opts...)
	if err != nil {
		return nil, err
	}
	cookieOpts := opts
	if r := getenv("OIDC_REDIRECTS"); r != "" {
		cookieOpts = append(cookieOpts, oauth.WithRedirects(strings.Split(r, ",")...))
	}
	cookieRoutes, err := oauth.Routes(e.Group("/auth/oidc-cookie"), m, cookieBackend, p, cookieOpts...)
	if err != nil {
		return nil, err
	}
	assocRoutes, err := oauth.AssociateRoutes(e.Group("/auth/associate/oidc"), m, p, opts...)
	if err != nil {
		return nil, err
	}
	logger.Info("OpenID sign-in enabled at /auth/oidc and /auth/oidc-cookie", "issuer", issuer,
		"callbacks", []string{publicURL + "/auth/oidc/callback", publicURL + "/auth/oidc-cookie/callback", publicURL + "/auth/associate/oidc/callback"})
	return append(append(routes, cookieRoutes...), assocRoutes...), nil
}
