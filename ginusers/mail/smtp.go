package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/smtp"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SMTP is a [Sender] that delivers each message to an SMTP server (a relay
// or a submission service) over a new connection, with the standard
// library's net/smtp. Create it with [NewSMTP]; the zero value is not
// usable.
//
// An SMTP is safe for concurrent use: it holds only its configuration, and
// each Send dials its own connection.
type SMTP struct {
	addr       string // host:port to dial
	serverName string // name for TLS verification and the localhost rule
	from       *netmail.Address
	username   string
	password   string
	auth       bool
	tlsConfig  *tls.Config // has ServerName set
	implicit   bool
	timeout    time.Duration
	helo       string
	plaintext  bool
}

var _ Sender = (*SMTP)(nil)

// SMTPOption configures an [SMTP] sender; see [NewSMTP].
type SMTPOption func(*smtpConfig)

type smtpConfig struct {
	from               string
	username, password string
	auth               bool
	tlsConfig          *tls.Config
	implicit           bool
	timeout            time.Duration
	helo               string
	plaintext          bool
}

// DefaultTimeout is the default of [WithTimeout].
const DefaultTimeout = 30 * time.Second

// WithFrom sets the sender's address, used in the From header field and in
// the SMTP envelope (MAIL FROM). It may carry a display name, as in
// "Example App <noreply@example.com>". The default is noreply@ followed by
// the host given to [NewSMTP], which is rarely what you want in
// production: set an address of your domain, or the relay may refuse the
// mail and receivers may file it as spam. An address that does not parse
// makes NewSMTP return an error wrapping [ErrInvalidAddress].
func WithFrom(addr string) SMTPOption {
	return func(c *smtpConfig) { c.from = addr }
}

// WithAuth makes the sender authenticate with AUTH PLAIN, with username
// and password. By default the sender does not authenticate.
//
// The credentials are sent only over TLS (implicit with [WithImplicitTLS],
// or after STARTTLS, which is then required), except to localhost,
// 127.0.0.1 or ::1: this is net/smtp's own rule for PlainAuth. Otherwise
// Send fails with an error wrapping [ErrInsecureAuth] before sending
// anything. An empty username makes NewSMTP return an error.
func WithAuth(username, password string) SMTPOption {
	return func(c *smtpConfig) { c.username, c.password, c.auth = username, password, true }
}

// WithTLSConfig sets the TLS configuration of STARTTLS and of implicit TLS.
// The sender uses a copy; its ServerName, when set, is the name the
// server's certificate must match and the name that the localhost rule of
// [WithAuth] checks, and it defaults to the host given to [NewSMTP]. The
// default configuration is crypto/tls's, which verifies the certificate
// against the system's roots. Use it to trust a private CA (RootCAs) or to
// dial an address that differs from the certificate's name. A nil config
// restores the default.
func WithTLSConfig(cfg *tls.Config) SMTPOption {
	return func(c *smtpConfig) { c.tlsConfig = cfg }
}

// WithImplicitTLS makes the sender speak TLS from the first byte (SMTPS,
// RFC 8314), usually on port 465, instead of the default: a plain
// connection upgraded with STARTTLS when the server offers it.
func WithImplicitTLS() SMTPOption {
	return func(c *smtpConfig) { c.implicit = true }
}

// WithTimeout bounds each Send, from dialling to the server's answer to
// QUIT. The default is [DefaultTimeout] (30 seconds); zero or negative
// makes [NewSMTP] return an error. The context given to Send can shorten
// it, not extend it.
func WithTimeout(d time.Duration) SMTPOption {
	return func(c *smtpConfig) { c.timeout = d }
}

// WithInsecurePlaintext allows sending without TLS to a server that is not
// on localhost and does not offer STARTTLS. By default such a send fails
// with [ErrInsecureTransport]: the messages carry reset and verification
// tokens, which must not cross a network in clear. Credentials
// ([WithAuth]) are never sent without TLS, even with this option.
func WithInsecurePlaintext() SMTPOption {
	return func(c *smtpConfig) { c.plaintext = true }
}

// WithHelo sets the name the sender gives in EHLO (or HELO), normally the
// fully qualified domain name of the host it runs on. The default is
// "localhost", as in net/smtp. A name with a line break makes [NewSMTP]
// return an error wrapping [ErrHeaderInjection].
func WithHelo(name string) SMTPOption {
	return func(c *smtpConfig) { c.helo = name }
}

// NewSMTP returns a sender that delivers to the SMTP server at host:port.
// It does no I/O: a wrong host or port shows in the first Send.
//
// By default it sends from noreply@host, without authentication, with
// STARTTLS when the server offers it, and gives each Send 30 seconds; see
// the options for each. It returns an error for an empty host, a port
// outside 1-65535, an invalid From address ([ErrInvalidAddress]), an empty
// AUTH username, a line break in the HELO name ([ErrHeaderInjection]) or a
// timeout that is not positive.
func NewSMTP(host string, port int, opts ...SMTPOption) (*SMTP, error) {
	if host == "" || strings.ContainsAny(host, "\r\n /") {
		return nil, fmt.Errorf("mail: invalid SMTP host %q", host)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("mail: invalid SMTP port %d", port)
	}
	cfg := smtpConfig{
		from:    "noreply@" + host,
		timeout: DefaultTimeout,
		helo:    "localhost",
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	from, err := parseAddress(cfg.from)
	if err != nil {
		return nil, fmt.Errorf("mail: From: %w", err)
	}
	if cfg.auth && cfg.username == "" {
		return nil, errors.New("mail: WithAuth needs a username")
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("mail: WithTimeout must be positive, got %v", cfg.timeout)
	}
	if strings.ContainsAny(cfg.helo, "\r\n") {
		return nil, fmt.Errorf("%w: HELO name", ErrHeaderInjection)
	}
	if cfg.helo == "" || strings.ContainsAny(cfg.helo, " \t") {
		return nil, fmt.Errorf("mail: invalid HELO name %q", cfg.helo)
	}
	var tc *tls.Config
	if cfg.tlsConfig != nil {
		tc = cfg.tlsConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return &SMTP{
		addr:       net.JoinHostPort(host, strconv.Itoa(port)),
		serverName: tc.ServerName,
		from:       from,
		username:   cfg.username,
		password:   cfg.password,
		auth:       cfg.auth,
		tlsConfig:  tc,
		implicit:   cfg.implicit,
		timeout:    cfg.timeout,
		helo:       cfg.helo,
		plaintext:  cfg.plaintext,
	}, nil
}

// Send delivers msg to the server in one SMTP session: EHLO, STARTTLS when
// offered (unless TLS is implicit), AUTH when configured, MAIL, RCPT, DATA
// and QUIT. The message is checked first, as [CheckMessage] does, and then
// sent with the headers From, To, Subject, Date, Message-ID, MIME-Version,
// Content-Type (text/plain; charset=utf-8) and Content-Transfer-Encoding
// (7bit, 8bit, or quoted-printable for lines too long to send as they are).
//
// Errors begin with "mail: " and wrap their cause: [ErrInsecureAuth], a
// *textproto.Error carrying the server's reply code (535 for refused
// credentials, 554 for a refused message...), a crypto/tls or network
// error, or ctx.Err() when ctx ended or the timeout of [WithTimeout]
// passed (context.DeadlineExceeded). When ctx ends, the connection is
// closed at once. Send is safe for concurrent use.
func (s *SMTP) Send(ctx context.Context, msg Message) error {
	to, err := CheckMessage(msg)
	if err != nil {
		return err
	}
	data := compose(s.from, to, msg, time.Now())
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %s: %w", s.addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.send(ctx, to.Address, data); err != nil {
		cerr := ctx.Err()
		if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is ctx's: it passed, even if
			// ctx's timer has not fired yet.
			cerr = context.DeadlineExceeded
		}
		if errors.Is(err, ErrInsecureAuth) {
			return err // already prefixed, and names the server
		}
		if cerr != nil && !errors.Is(err, cerr) {
			return fmt.Errorf("mail: %s: %w: %w", s.addr, cerr, err)
		}
		return fmt.Errorf("mail: %s: %w", s.addr, err)
	}
	return nil
}

// send runs one SMTP session; ctx carries the deadline of the whole.
func (s *SMTP) send(ctx context.Context, rcpt string, data []byte) (err error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(dl); err != nil {
			return err
		}
	}
	// Unblock any read or write in progress when ctx ends.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	conn := raw
	if s.implicit {
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.serverName)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return err
	}
	secure := s.implicit
	if !secure {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
			secure = true
		}
	}
	if s.auth && !secure && !isLocalhost(s.serverName) {
		return fmt.Errorf("%w: %s (%s) does not offer STARTTLS", ErrInsecureAuth, s.serverName, s.addr)
	}
	if !secure && !s.plaintext && !isLocalhost(s.serverName) {
		return fmt.Errorf("%w: %s (%s) does not offer STARTTLS", ErrInsecureTransport, s.serverName, s.addr)
	}
	if s.auth {
		ok, mechs := c.Extension("AUTH")
		if !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return errors.New("the server does not offer AUTH PLAIN")
		}
		if err := c.Auth(smtp.PlainAuth("", s.username, s.password, s.serverName)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// isLocalhost is net/smtp's test for the names to which PlainAuth sends
// credentials without TLS.
func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}
