// Package mail sends the e-mails of ginusers' verification and
// password-reset flows over SMTP.
//
// ginusers issues the tokens and leaves their delivery to the application,
// through the token hooks [ginusers.OnAfterRequestVerify] and
// [ginusers.OnAfterForgotPassword]. This package builds those hooks:
//
//	sender, err := mail.NewSMTP("smtp.example.com", 587,
//		mail.WithFrom("Example <noreply@example.com>"),
//		mail.WithAuth(os.Getenv("SMTP_USER"), os.Getenv("SMTP_PASSWORD")))
//	// handle err
//	verify, err := mail.VerifyHook[ginusers.NoFields](sender, "https://app.example.com")
//	// handle err
//	reset, err := mail.ResetHook[ginusers.NoFields](sender, "https://app.example.com")
//	// handle err
//	m, err := ginusers.New(store, ginusers.WithSecret(secret),
//		ginusers.OnAfterRequestVerify(verify), ginusers.OnAfterForgotPassword(reset))
//
// # Senders
//
// A [Sender] sends a [Message], a plain-text e-mail to one recipient.
// [NewSMTP] returns one that talks to an SMTP server; [NewLogSender]
// returns one that only logs, for development without a server; and
// [SenderFunc] adapts a function, for tests or an HTTP mail API.
//
// [SMTP] is built on the standard library's net/smtp, so the package adds
// no dependency. net/smtp is frozen (it takes no new features) but it is
// maintained, and it has what a sender of transactional mail needs:
// STARTTLS, AUTH PLAIN (with its refusal to send credentials in clear to
// anything but localhost), 8BITMIME and SMTPUTF8. Each Send opens its own
// connection; there is no pool and no queue, so a slow server slows the
// hook, which ginusers runs off the request path.
//
// net/smtp was weighed against github.com/wneessen/go-mail (v0.8.1) and
// kept. go-mail would replace at most about 40 of our lines, not the rules
// around them: its opportunistic TLS has no "no plaintext to a remote
// host" rule, its context bounds only the dial (a cancelled Send would
// not close the connection, and its timeout restarts at each step), its
// delivery errors do not unwrap to the server's *textproto.Error, and its
// message builder writes headers and encodings of its own. It would also
// bring golang.org/x/crypto and golang.org/x/text into this package's
// module graph.
//
// # Templates and links
//
// Messages are rendered from a [Template] of two text/template templates,
// with [Data]: the address, the link, the token and its lifetime. The
// defaults, [DefaultVerifyTemplate] and [DefaultResetTemplate], are short
// English texts; each puts the link on a line of its own and the token on
// a line that reads exactly token=<TOKEN>, so a script can pick it out.
// [WithTemplate] replaces them, for instance to translate them.
//
// The link is the application's public URL, given to [VerifyHook] or
// [ResetHook], followed by a path ([WithPath]; "/verify" and
// "/reset-password" by default) and ?token=<token>. The page there reads
// the token and posts it to ginusers' verify or reset-password route.
//
// # Security
//
// The tokens in these messages are credentials: a reset token lets its
// holder choose the account's password. Hence:
//
//   - The link base is configuration, checked by [NewLink], never taken
//     from a request's Host header, which the client chooses.
//   - Messages go to the address stored for the user, u.Email, never to
//     one taken from the request.
//   - Header fields are checked: a line break in To or Subject, which
//     could add recipients or headers, is refused with
//     [ErrHeaderInjection], and addresses must parse ([ErrInvalidAddress]).
//   - [SMTP] uses STARTTLS whenever the server offers it and verifies the
//     server's certificate. Credentials set with [WithAuth] are sent only
//     over TLS, except to localhost ([ErrInsecureAuth]). Without
//     credentials, and when the server offers no STARTTLS, the message is
//     sent in clear: prefer a server that offers TLS, or one on localhost.
//   - [NewLogSender] writes tokens to the log: development only.
//
// # Errors
//
// Errors begin with "mail: " and wrap their cause; compare them with
// errors.Is and errors.As. The server's refusals are *textproto.Error
// values, with the reply code. The token hooks return the sender's error
// as is; ginusers logs it and still answers 202, so that responses do not
// reveal which addresses have accounts.
//
// # Concurrency
//
// Senders, templates and hooks are safe for concurrent use once built.
//
// # Testing
//
// Package [github.com/ginusers/kit/ginusers/mail/smtptest] runs an SMTP
// server inside a test, with STARTTLS and AUTH, and records what it
// receives. The protocol is spoken by github.com/emersion/go-smtp, a
// maintained server library, rather than by code of ours: the client is
// tested against an SMTP implementation written by others.
package mail
