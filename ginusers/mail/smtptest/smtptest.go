// Package smtptest provides an SMTP server for tests, in the manner of
// net/http/httptest: it runs in the test process on 127.0.0.1 and records
// the messages it accepts. It does not relay anything.
//
// The protocol is spoken by github.com/emersion/go-smtp, a maintained SMTP
// server library (RFC 5321, with PIPELINING, 8BITMIME, SIZE and
// ENHANCEDSTATUSCODES), so clients are tested against an implementation
// other than their own. This package adds what tests need around it: a
// certificate made at start for STARTTLS (RFC 3207) or implicit TLS, AUTH
// PLAIN (RFC 4954) with one set of credentials, refusals on demand
// ([WithFailure]) and the record of what arrived ([Server.WaitMessage]).
//
//	srv := smtptest.NewServer(t, smtptest.WithTLS(), smtptest.WithAuth("app", "secret"))
//	sender, _ := mail.NewSMTP(srv.Host(), srv.Port(),
//		mail.WithAuth("app", "secret"), mail.WithTLSConfig(srv.ClientTLSConfig()))
//	// ... code under test sends through sender ...
//	msg, err := srv.WaitMessage(ctx)
package smtptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Received is a message the server accepted.
type Received struct {
	// Helo is the name the client gave in its last EHLO or HELO.
	Helo string
	// From is the envelope sender, the address of MAIL FROM (without <>).
	From string
	// To are the envelope recipients, the addresses of RCPT TO.
	To []string
	// Data is the message as sent after DATA, dot-unstuffed, with its line
	// endings as they came (CRLF from a conforming client), without the
	// final ".\r\n". Parse it with net/mail.ReadMessage.
	Data string
	// AuthUser is the username the client authenticated with, or "".
	AuthUser string
	// TLS reports whether the message came over TLS (STARTTLS or implicit).
	TLS bool
}

// Option configures a [Server]; see [NewServer].
type Option func(*config)

type config struct {
	tls, implicit bool
	auth          bool
	user, pass    string
	failures      map[string]int
}

// WithTLS makes the server offer STARTTLS with a self-signed certificate
// for 127.0.0.1, ::1 and localhost, created when the server starts. Clients
// trust it through [Server.ClientTLSConfig] or [Server.CertPool]. By
// default the server offers no TLS.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte, as an
// SMTPS server on port 465 does, with the certificate of [WithTLS]. It
// implies WithTLS, except that STARTTLS is not offered.
func WithImplicitTLS() Option {
	return func(c *config) { c.tls, c.implicit = true, true }
}

// WithAuth makes the server offer AUTH PLAIN and require it before MAIL:
// MAIL without it gets 530, and wrong credentials get 535. The server
// accepts AUTH with or without TLS, so that tests can check that clients
// refuse to send credentials in clear. By default there is no AUTH.
func WithAuth(username, password string) Option {
	return func(c *config) { c.auth, c.user, c.pass = true, username, password }
}

// WithFailure makes the server answer code (a 4xx or 5xx reply code such
// as 451, 550 or 554) to every use of command, one of AUTH, MAIL, RCPT and
// DATA, instead of accepting it. For DATA the server takes the content
// first and answers code after the final dot, as a server that refuses a
// message does; the message is not recorded. It may be given for several
// commands.
//
// EHLO, HELO and STARTTLS cannot be refused: go-smtp answers them itself,
// and [NewServer] fails the test when WithFailure names them or any other
// command.
func WithFailure(command string, code int) Option {
	return func(c *config) {
		if c.failures == nil {
			c.failures = map[string]int{}
		}
		c.failures[strings.ToUpper(command)] = code
	}
}

// Server is an SMTP server listening on 127.0.0.1. Create it with
// [NewServer]; the test's cleanup closes it. Its methods are safe for
// concurrent use, and it serves any number of connections at once.
type Server struct {
	srv  *gosmtp.Server
	ln   *listener
	cfg  config
	pool *x509.CertPool

	mu      sync.Mutex
	msgs    []Received
	next    int           // index of the message WaitMessage returns next
	arrived chan struct{} // closed and replaced when a message arrives

	done      chan struct{} // closed by Close
	served    chan struct{} // closed when go-smtp's Serve returns
	closeOnce sync.Once
}

const (
	// maxData bounds a message's size; larger ones get 552.
	maxData = 10 << 20
	// maxRecipients bounds the RCPT commands of a message; more get 452.
	maxRecipients = 100
	// maxLine bounds a line, of a command or of a message; a longer one
	// is refused (500 for a command, 554 in DATA) and the connection is
	// closed.
	maxLine = 4096
	// idle bounds the wait for each command or line from a client.
	idle = 30 * time.Second
)

// NewServer starts a server on 127.0.0.1 with a port chosen by the
// system, and registers its Close with t.Cleanup. It fails the test with
// t.Fatal if it cannot listen or make its certificate, or if [WithFailure]
// names a command it cannot refuse.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		arrived: make(chan struct{}),
		done:    make(chan struct{}),
		served:  make(chan struct{}),
	}
	for _, opt := range opts {
		opt(&s.cfg)
	}
	for cmd := range s.cfg.failures {
		if !slices.Contains([]string{"AUTH", "MAIL", "RCPT", "DATA"}, cmd) {
			t.Fatalf("smtptest: WithFailure(%q): only AUTH, MAIL, RCPT and DATA can be refused", cmd)
		}
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = true // see WithAuth
	srv.MaxMessageBytes = maxData
	srv.MaxRecipients = maxRecipients
	srv.MaxLineLength = maxLine
	srv.ReadTimeout, srv.WriteTimeout = idle, idle
	srv.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up are normal here
	if s.cfg.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.pool = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.srv = srv
	s.ln = &listener{Listener: ln}
	var l net.Listener = s.ln
	if s.cfg.implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	t.Cleanup(s.Close)
	go func() {
		defer close(s.served)
		srv.Serve(l) // returns when s.ln is closed
	}()
	return s
}

// Addr returns the server's address, "127.0.0.1:<port>".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the server's host, "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port returns the server's port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// CertPool returns a pool holding the server's certificate, or nil if the
// server was not created with [WithTLS] or [WithImplicitTLS].
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// ClientTLSConfig returns a new TLS configuration for clients that trusts
// the server's certificate (valid for 127.0.0.1, ::1 and localhost), or
// nil if the server was not created with [WithTLS] or [WithImplicitTLS].
// The caller may change it.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.pool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.pool}
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	for i, m := range s.msgs {
		m.To = slices.Clone(m.To)
		out[i] = m
	}
	return out
}

// WaitMessage returns the first accepted message that WaitMessage has not
// returned yet, waiting for it if needed. It returns ctx.Err() (wrapped)
// when ctx ends first and an error when the server is closed; bound the
// wait with context.WithTimeout.
func (s *Server) WaitMessage(ctx context.Context) (Received, error) {
	for {
		s.mu.Lock()
		if s.next < len(s.msgs) {
			m := s.msgs[s.next]
			m.To = slices.Clone(m.To)
			s.next++
			s.mu.Unlock()
			return m, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("smtptest: waiting for a message: %w", ctx.Err())
		case <-s.done:
			return Received{}, errors.New("smtptest: server closed")
		}
	}
}

// Close stops the server: it closes the listener and every connection,
// and waits for the goroutines serving them. It may be called more than
// once; NewServer arranges a call in the test's cleanup.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
		<-s.served // no connection is accepted after this
		s.ln.closeConns()
		// Shutdown waits for the goroutines of the connections, which
		// end now that their connections are closed.
		s.srv.Shutdown(context.Background())
	})
}

func (s *Server) record(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// listener remembers the connections it accepted, so that Close can end
// them: go-smtp's Shutdown waits for their goroutines but does not close
// them. A test server sees few connections; closing one twice is harmless.
type listener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *listener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// session is the go-smtp session of one connection, from EHLO or HELO
// until STARTTLS or the end of the connection. go-smtp calls its methods
// from the connection's goroutine only.
type session struct {
	s        *Server
	c        *gosmtp.Conn
	authUser string
	from     string
	hasFrom  bool
	to       []string
}

var _ gosmtp.AuthSession = (*session)(nil)

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: s, c: c}, nil
}

// failure returns the refusal that WithFailure set for command, or nil.
func (ss *session) failure(command string) error {
	code, ok := ss.s.cfg.failures[command]
	if !ok {
		return nil
	}
	return &gosmtp.SMTPError{
		Code:         code,
		EnhancedCode: gosmtp.EnhancedCode{code / 100, 0, 0},
		Message:      command + " refused by smtptest (WithFailure)",
	}
}

func (ss *session) AuthMechanisms() []string {
	if !ss.s.cfg.auth {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	cfg := ss.s.cfg
	if err := ss.failure("AUTH"); err != nil {
		return nil, err
	}
	switch {
	case !cfg.auth:
		return nil, gosmtp.ErrAuthUnsupported
	case mech != sasl.Plain:
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.user)) == 1
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(cfg.pass)) == 1
		if !okUser || !okPass || (identity != "" && identity != user) {
			return gosmtp.ErrAuthFailed // 535
		}
		ss.authUser = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if err := ss.failure("MAIL"); err != nil {
		return err
	}
	switch {
	case ss.s.cfg.auth && ss.authUser == "":
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	case ss.hasFrom:
		return &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command"}
	}
	ss.from, ss.hasFrom = from, true
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if err := ss.failure("RCPT"); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r) // go-smtp's reader: dot-unstuffed, at most maxData
	if err != nil {
		return err // gosmtp.ErrDataTooLarge is a 552
	}
	if err := ss.failure("DATA"); err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.record(Received{
		Helo:     ss.c.Hostname(),
		From:     ss.from,
		To:       slices.Clone(ss.to),
		Data:     string(data),
		AuthUser: ss.authUser,
		TLS:      isTLS,
	})
	return nil
}

// Reset ends the mail transaction; go-smtp calls it for RSET, a new EHLO
// or HELO, and after DATA.
func (ss *session) Reset() { ss.from, ss.hasFrom, ss.to = "", false, nil }

func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"smtptest"}, CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
