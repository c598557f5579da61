// Package account serves the account pages of a ginusers application: sign
// in, sign out, register, forgot password, reset password and verify,
// server-rendered HTML forms for applications that have no front-end of
// their own. The e-mails of package ginusers/mail link to
// PUBLIC_URL/reset-password?token=... and PUBLIC_URL/verify?token=...;
// mounted at those paths, these pages answer them.
//
//	if err := account.Mount(r, m,
//		account.WithSecret(secret),            // signs the form tokens
//		account.WithAfterSignIn("/dashboard"), // default: the sign-in page
//	); err != nil {
//		// a configuration mistake
//	}
//
// # Pages
//
//	GET  /sign-in          the form; signed in: whom as, and a sign-out button
//	POST /sign-in          sign in through the backend's cookie, then 303 to
//	                       the form's "next" (a local path) or WithAfterSignIn's
//	GET  /sign-out         asks; POST /sign-out signs out (303 to /sign-in)
//	GET  /register         the form; POST creates the account and sends a
//	                       verification e-mail (303 to "check your e-mail")
//	GET  /forgot-password  the form; POST sends a reset e-mail (303)
//	GET  /reset-password   ?token=...: the form (the token is not used yet);
//	POST /reset-password   sets the password (303 to /sign-in) or says
//	                       the link does not work (400)
//	GET  /verify           ?token=...: verifies the address and says so
//	                       (400 for a bad or used link); without a token,
//	                       the form that asks for a new link (POST)
//	GET  /account.css      the stylesheet
//
// Every path can be changed ([WithPath]); the paths are relative to the
// router given to [Mount]. The pages call the Manager's verbs
// ([ginusers.Manager.Login], [ginusers.Manager.Register],
// [ginusers.Manager.RequestPasswordReset],
// [ginusers.Manager.ResetPassword], [ginusers.Manager.Verify],
// [ginusers.Manager.RequestVerification], [ginusers.Manager.Logout]), so
// they apply the API's rules: the password validators (their reasons are
// shown next to the field), the verified-user rule, the bound on password
// hashing. A missing field is answered 422, an address that is not valid
// 422, a refused password or wrong credentials 400, as the API does; an
// unreachable database 503 with Retry-After. The registration form has
// the e-mail address and the password: the application's own fields get
// their zero value.
//
// Signing in needs a backend whose transport sets a cookie (a
// [ginusers.CookieTransport]): the first such backend of the Manager, or
// the one given to [WithBackend]. Use a cookie with database tokens or a
// revocable JWT: signing out ends the session (the token is deleted or
// revoked), it does not only clear the cookie.
//
// # No enumeration
//
// No page tells whether an address has an account. Sign-in has one message
// for an unknown address, a wrong password and a disabled account, and one
// password hash for each. Forgot-password and the verification request
// answer "if an account has this address, we have sent ..." in every
// case. Registering an address that has an account already creates
// nothing, answers exactly as a successful registration does ("check your
// e-mail"), after the same password-hashing work, and has a password-reset
// e-mail sent to the owner of the address (whoever registers with an
// address they own has most likely forgotten they have an account; only
// the mailbox's owner reads the message, and anyone could have it sent
// through forgot-password anyway). The e-mails leave through the Manager's
// delivery queue, off the request path.
//
// # Forms
//
// Every form is protected twice against cross-site request forgery:
// [http.CrossOriginProtection] refuses a post that the browser marks
// cross-origin (Sec-Fetch-Site, else Origin; [WithTrustedOrigins] adds
// origins), and every form carries a token that must match the pages' own
// cookie, "__Host-ginusers-csrf" (Secure, HttpOnly, SameSite=Strict,
// Path=/; [WithInsecureCookie] for plain-HTTP development), which holds a
// random value: the token is an HMAC of it under a key derived from
// [WithSecret] (a signed double submit; anonymous pages have no server
// session). A refused form is answered 403.
//
// # Headers, tokens in URLs and redirects
//
// Every page is sent with Content-Security-Policy "default-src 'none';
// style-src 'self'; img-src 'self' data:; form-action 'self';
// frame-ancestors 'none'; base-uri 'none'" (the pages have no script at
// all, and work without JavaScript), X-Content-Type-Options: nosniff,
// X-Frame-Options: DENY, Referrer-Policy: strict-origin and Cache-Control:
// no-store. The reset and verification pages carry their token in the URL:
// a Referer from them holds the origin alone, they link to no other origin, and the reset form
// posts the token in a hidden field to the path without a query, so it
// never reaches the logs of a POST. A GET of the reset page does not use
// the token (mail scanners fetch links); a GET of the verification link
// does verify, which a scanner in the mailbox's own path may do too: it
// proves the message reached the mailbox.
//
// After signing in, the user goes to the form's "next" path only when it
// is a path on this site: "//evil.example", "/\evil.example",
// "https://evil.example", "javascript:..." and paths with control or
// non-ASCII characters are ignored, and the user goes to
// [WithAfterSignIn]'s path instead.
//
// # Customising
//
// The pages are html/template templates and a stylesheet, embedded:
// layout.html (the page around the content; it defines the sub-templates
// "form-error", "csrf" and "email-field"), sign-in.html, sign-out.html,
// register.html, forgot-password.html, reset-password.html, verify.html,
// failure.html (403, 413, 500, 503) and account.css. Each page template
// defines "title" and "content", and receives a [Data]. [WithTemplates]
// replaces any of these files with the application's. Every text comes
// from a message table ([DefaultMessages]), read in templates with
// {{msg "key"}}; [WithMessages] replaces texts, for instance to translate
// them. Reasons of refused passwords and addresses come from the
// Manager's validators and from [ginusers.NormalizeEmail].
//
// # Accessibility
//
// Every control has a label; errors are next to their field, linked with
// aria-describedby and marked aria-invalid, and summed up in a role=alert
// box; the focus order is the order of the page; the focus is visible (a
// 3-pixel outline); text and controls meet WCAG AA contrast; the pages fit
// a 320-pixel-wide screen without horizontal scrolling.
package account
