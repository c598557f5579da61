// Package smtptest provides an SMTP server for tests, in the manner of
// net/http/httptest: it runs in the test process on 127.0.0.1, records the
// messages it accepts and speaks enough SMTP (RFC 5321) for net/smtp and
// for the senders of package mail: EHLO and HELO, STARTTLS (RFC 3207) and
// implicit TLS with a certificate made at start, AUTH PLAIN (RFC 4954),
// MAIL, RCPT, DATA, RSET, NOOP and QUIT. It does not relay anything.
//
//	srv := smtptest.NewServer(t, smtptest.WithTLS(), smtptest.WithAuth("app", "secret"))
//	sender, _ := mail.NewSMTP(srv.Host(), srv.Port(),
//		mail.WithAuth("app", "secret"), mail.WithTLSConfig(srv.ClientTLSConfig()))
//	// ... code under test sends through sender ...
//	msg, err := srv.WaitMessage(ctx)
package smtptest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
// as 451, 550 or 554) to every use of command, one of EHLO, HELO,
// STARTTLS, AUTH, MAIL, RCPT and DATA, instead of accepting it. For DATA
// the server takes the content first and answers code after the final
// dot, as a server that refuses a message does; the message is not
// recorded. It may be given for several commands.
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
	ln        net.Listener
	cfg       config
	serverTLS *tls.Config
	pool      *x509.CertPool

	mu      sync.Mutex
	msgs    []Received
	next    int           // index of the message WaitMessage returns next
	arrived chan struct{} // closed and replaced when a message arrives
	conns   map[net.Conn]struct{}
	closed  bool

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// maxData bounds a message's size; larger ones get 552.
const maxData = 10 << 20

// idle bounds the wait for each command or line from a client.
const idle = 30 * time.Second

// NewServer starts a server on 127.0.0.1 with a port chosen by the
// system, and registers its Close with t.Cleanup. It fails the test with
// t.Fatal if it cannot listen or make its certificate.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		arrived: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
		done:    make(chan struct{}),
	}
	for _, opt := range opts {
		opt(&s.cfg)
	}
	if s.cfg.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.pool = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.ln = ln
	t.Cleanup(s.Close)
	s.wg.Add(1)
	go s.serve()
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
		m.To = append([]string(nil), m.To...)
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
			m.To = append([]string(nil), m.To...)
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
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.handle(c)
		}()
	}
}

func (s *Server) record(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is the state of one connection.
type session struct {
	s    *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool

	helo     string
	greeted  bool
	authUser string
	from     string
	hasFrom  bool
	to       []string
}

var errLineTooLong = errors.New("line too long")

func (ss *session) reply(code int, lines ...string) error {
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
	return ss.w.Flush()
}

// readLine reads a line and returns it without its CRLF (or LF).
func (ss *session) readLine(limit int) (string, error) {
	ss.conn.SetReadDeadline(time.Now().Add(idle))
	var b []byte
	for {
		chunk, err := ss.r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > limit {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.r = bufio.NewReader(c)
	ss.w = bufio.NewWriter(c)
}

func (s *Server) handle(c net.Conn) {
	ss := &session{s: s}
	ss.setConn(c)
	if s.cfg.implicit {
		tc := tls.Server(c, s.serverTLS)
		c.SetDeadline(time.Now().Add(idle))
		if err := tc.Handshake(); err != nil {
			return
		}
		c.SetDeadline(time.Time{})
		ss.setConn(tc)
		ss.tls = true
	}
	if ss.reply(220, "127.0.0.1 ESMTP smtptest") != nil {
		return
	}
	for {
		line, err := ss.readLine(4096)
		if errors.Is(err, errLineTooLong) {
			ss.reply(500, "5.5.2 Line too long")
			return
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if code, ok := s.cfg.failures[verb]; ok && verb != "DATA" {
			if ss.reply(code, "5.0.0 "+verb+" refused by smtptest (WithFailure)") != nil {
				return
			}
			continue
		}
		quit, err := ss.command(verb, strings.TrimSpace(arg))
		if quit || err != nil {
			return
		}
	}
}

func (ss *session) resetTransaction() {
	ss.from, ss.hasFrom, ss.to = "", false, nil
}

// command runs one command; quit ends the session.
func (ss *session) command(verb, arg string) (quit bool, err error) {
	cfg := ss.s.cfg
	switch verb {
	case "EHLO", "HELO":
		if arg == "" {
			return false, ss.reply(501, "5.5.4 Syntax: "+verb+" hostname")
		}
		ss.helo, ss.greeted = arg, true
		ss.resetTransaction()
		if verb == "HELO" {
			return false, ss.reply(250, "127.0.0.1 smtptest")
		}
		lines := []string{"127.0.0.1 greets " + arg, "8BITMIME", "SIZE " + strconv.Itoa(maxData)}
		if cfg.tls && !ss.tls {
			lines = append(lines, "STARTTLS")
		}
		if cfg.auth {
			lines = append(lines, "AUTH PLAIN")
		}
		lines = append(lines, "HELP")
		return false, ss.reply(250, lines...)
	case "STARTTLS":
		if !cfg.tls || ss.tls {
			return false, ss.reply(502, "5.5.1 STARTTLS not available")
		}
		if err := ss.reply(220, "2.0.0 Ready to start TLS"); err != nil {
			return true, err
		}
		tc := tls.Server(ss.conn, ss.s.serverTLS)
		ss.conn.SetDeadline(time.Now().Add(idle))
		if err := tc.Handshake(); err != nil {
			return true, err
		}
		ss.conn.SetDeadline(time.Time{})
		ss.setConn(tc)
		ss.tls = true
		// RFC 3207: the client starts again with EHLO.
		ss.helo, ss.greeted, ss.authUser = "", false, ""
		ss.resetTransaction()
		return false, nil
	case "AUTH":
		return false, ss.auth(arg)
	case "MAIL":
		switch {
		case !ss.greeted:
			return false, ss.reply(503, "5.5.1 Send EHLO first")
		case cfg.auth && ss.authUser == "":
			return false, ss.reply(530, "5.7.0 Authentication required")
		case ss.hasFrom:
			return false, ss.reply(503, "5.5.1 Nested MAIL command")
		}
		addr, ok := path(arg, "FROM:")
		if !ok {
			return false, ss.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
		}
		ss.from, ss.hasFrom = addr, true
		return false, ss.reply(250, "2.1.0 Ok")
	case "RCPT":
		if !ss.hasFrom {
			return false, ss.reply(503, "5.5.1 Send MAIL first")
		}
		addr, ok := path(arg, "TO:")
		if !ok || addr == "" {
			return false, ss.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
		}
		if len(ss.to) >= 100 {
			return false, ss.reply(452, "4.5.3 Too many recipients")
		}
		ss.to = append(ss.to, addr)
		return false, ss.reply(250, "2.1.5 Ok")
	case "DATA":
		return false, ss.data()
	case "RSET":
		ss.resetTransaction()
		return false, ss.reply(250, "2.0.0 Ok")
	case "NOOP":
		return false, ss.reply(250, "2.0.0 Ok")
	case "QUIT":
		ss.reply(221, "2.0.0 Bye")
		return true, nil
	default:
		return false, ss.reply(502, "5.5.2 Command not recognized")
	}
}

// path extracts the address of "FROM:<addr> PARAMS" or "TO:<addr>".
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func (ss *session) auth(arg string) error {
	cfg := ss.s.cfg
	switch {
	case !cfg.auth:
		return ss.reply(502, "5.5.1 AUTH not available")
	case !ss.greeted:
		return ss.reply(503, "5.5.1 Send EHLO first")
	case ss.authUser != "":
		return ss.reply(503, "5.5.1 Already authenticated")
	case ss.hasFrom:
		return ss.reply(503, "5.5.1 AUTH not allowed during a mail transaction")
	}
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return ss.reply(504, "5.5.4 Unrecognized authentication type")
	}
	resp = strings.TrimSpace(resp)
	if resp == "" {
		if err := ss.reply(334, ""); err != nil {
			return err
		}
		line, err := ss.readLine(4096)
		if err != nil {
			return err
		}
		resp = line
	}
	if resp == "*" {
		return ss.reply(501, "5.0.0 Authentication cancelled")
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return ss.reply(501, "5.5.2 Cannot decode response")
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return ss.reply(501, "5.5.2 Malformed PLAIN response")
	}
	user, pass := parts[1], parts[2]
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.user)) == 1
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(cfg.pass)) == 1
	if !okUser || !okPass || (parts[0] != "" && parts[0] != user) {
		return ss.reply(535, "5.7.8 Authentication credentials invalid")
	}
	ss.authUser = user
	return ss.reply(235, "2.7.0 Authentication successful")
}

func (ss *session) data() error {
	if !ss.hasFrom || len(ss.to) == 0 {
		return ss.reply(503, "5.5.1 Send MAIL and RCPT first")
	}
	if err := ss.reply(354, "End data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	var b strings.Builder
	tooBig := false
	for {
		ss.conn.SetReadDeadline(time.Now().Add(idle))
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return err
		}
		if line == ".\r\n" || line == ".\n" {
			break
		}
		line = strings.TrimPrefix(line, ".") // dot-unstuffing
		if b.Len()+len(line) > maxData {
			tooBig = true
			continue
		}
		b.WriteString(line)
	}
	m := Received{
		Helo:     ss.helo,
		From:     ss.from,
		To:       ss.to,
		Data:     b.String(),
		AuthUser: ss.authUser,
		TLS:      ss.tls,
	}
	ss.resetTransaction()
	if tooBig {
		return ss.reply(552, "5.3.4 Message too big")
	}
	if code, ok := ss.s.cfg.failures["DATA"]; ok {
		return ss.reply(code, "5.0.0 message refused by smtptest (WithFailure)")
	}
	ss.s.record(m)
	return ss.reply(250, "2.0.0 Ok: queued")
}

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
