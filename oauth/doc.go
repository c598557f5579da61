// Package oauth signs users in with OAuth 2.0 and OpenID Connect providers
// (Google, GitHub, Keycloak, Zitadel, any OpenID provider by its issuer
// URL) and links provider accounts to signed-in users: fastapi-users' OAuth
// and OAuth associate routers, for a [ginusers.Manager].
//
//	google, err := oauth.DiscoverOIDC(ctx, "google", "https://accounts.google.com", clientID, clientSecret)
//	if err != nil { ... }
//	routes, err := oauth.MountProviders(r, m, jwtBackend, []oauth.Provider{google},
//		oauth.WithBaseURL("https://app.example.com"))
//	// GET /auth/google/authorize, GET /auth/google/callback,
//	// GET /auth/associate/google/authorize, GET /auth/associate/google/callback
//
// The callback signs the user in with [ginusers.Manager.SignIn], through the
// backend given (a bearer token, or a cookie), so login hooks, sessions and
// their revocation behave as for a password login. The accounts are kept
// by the manager's store ([ginusers.OAuthStore]) in fastapi-users' layout.
//
// # Security
//
// Each authorize request makes a new secret, kept in an HttpOnly,
// SameSite=Lax cookie of the browser that asked
// (__Host-fastapiusersoauthcsrf: with the prefix, a sibling subdomain
// cannot plant a flow of its own in the browser).
// From it come the value the signed state token carries, the PKCE verifier
// (S256; it never appears in a URL) and the OpenID nonce. The callback
// checks the state token (signature, audience fastapi-users:oauth-state,
// expiry: 10 minutes by default), that the browser holds the secret the
// state was made for, and that the state was issued for this provider and
// flow, before it exchanges the code; the provider checks the PKCE
// verifier, and the ID token's nonce is checked after. A callback URL
// opened in another browser (CVE-2025-68481: logging a victim into the
// attacker's account, or linking the attacker's account to the victim's)
// is refused. Every failure is a 400 with fastapi-users' error code; a
// provider that fails answers 502. The callback URL is configured, never
// built from the request, and redirects after sign-in go only to targets
// listed exactly ([WithRedirects]). Provider tokens are never sent to
// clients; the manager stores them only sealed ([ginusers.WithOAuthTokenKey]).
// See docs/oauth.md.
package oauth
