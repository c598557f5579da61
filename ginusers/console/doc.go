// Package console provides a superuser console for the users of a
// [ginusers.Manager]: server-rendered pages to find, inspect, create, edit,
// activate, deactivate, verify, log out and delete users, for active
// superusers only, mounted on any Gin engine or group. It works without
// JavaScript and needs nothing but a browser.
//
// Quick start (as example/console.go does):
//
//	sessions := mongostore.NewTokenStore(db.Collection("console_sessions"))
//	if err := sessions.EnsureIndexes(ctx); err != nil { ... }
//	err := console.Mount(engine.Group("/admin"), m,
//		console.WithSessionStore(sessions),
//		console.WithAuditLogger(logger))
//
// # What a generic admin gets wrong, and what the console does
//
// Sign-in uses the user system's own rules: [ginusers.Manager.Authenticate]
// (one password hash whether or not the address exists, the bound on
// concurrent hashing, outdated hashes upgraded), then the user must be an
// active superuser; every failure shows the same message.
//
// No page shows or stores a password hash, and an administrator never sets
// or sees another user's password after creation: a user is created with
// a password, or with an e-mailed link to choose one (a random password
// nobody knows, then [ginusers.Manager.ForgotPassword]); later, the
// console sends a reset link.
//
// Every change goes through the Manager ([ginusers.Manager.Create],
// [ginusers.Manager.Update], [ginusers.Manager.Delete],
// [ginusers.Manager.LogoutAll], [ginusers.Manager.ForgotPassword]), so
// hooks fire, passwords are validated and hashed, and a deactivation or
// "log out everywhere" ends the user's sessions at once. A save writes
// only the fields that changed on the form, so it never undoes a
// concurrent change of another field. The form of the application's
// fields F is generated from F and validated with its binding tags; errors
// are shown next to their fields.
//
// Guard rails: an administrator cannot deactivate, demote or delete
// themself, and the last active superuser is never removed, even when two
// administrators, on one instance or several, remove each other at the
// same moment (the change is written, the active superusers counted, and
// the change undone when none is left).
//
// The console has its own sessions: a random cookie (HttpOnly,
// SameSite=Strict, "__Host-" and Secure unless [WithInsecureCookie]) whose
// SHA-256 digest, under a prefix of its own, is kept in the session store
// ([WithSessionStore]) with the administrator's session epoch. Every
// request reads the record and the administrator again, so signing out,
// an idle or absolute timeout ([WithIdleTimeout], [WithAbsoluteTimeout]),
// a demotion, a deactivation, a password change or "log out everywhere"
// end a console session at once, on every instance. Every unsafe request
// must pass [net/http.CrossOriginProtection] ([WithTrustedOrigins]) and
// carry a form token bound to the session (the sign-in form's is bound to
// a cookie of its own, against login CSRF). Every answer carries a
// Content-Security-Policy without scripts or inline styles,
// frame-ancestors 'none', nosniff and a Referrer-Policy; pages are not
// cached.
//
// Every action writes one audit line ([WithAuditLogger]): the
// administrator, the action, the user acted on and the outcome, never a
// password, token or hash.
//
// # Customising
//
// Texts come from a table ([Messages], [WithMessages]), including the
// labels of the application's fields ("field.<json name>"). The pages are
// html/template files embedded in the package; [WithTemplates] replaces
// any of them, and the style sheet, by files of the same names.
//
// # Concurrency
//
// A mounted console is safe for concurrent use. It keeps no state of its
// own between requests: two instances on one database share sessions.
package console
