package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers/mail"
	"github.com/ginusers/kit/ginusers/mail/smtptest"
)

func TestNewSMTPValidates(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		port    int
		opts    []mail.SMTPOption
		wantErr error // nil: any error
		ok      bool
	}{
		{name: "the defaults are valid", host: "smtp.example.com", port: 587, ok: true},
		{name: "all options together are valid", host: "smtp.example.com", port: 465, ok: true, opts: []mail.SMTPOption{
			mail.WithFrom("Example <noreply@example.com>"), mail.WithAuth("u", "p"), mail.WithTLSConfig(&tls.Config{}),
			mail.WithImplicitTLS(), mail.WithTimeout(time.Second), mail.WithHelo("app.example.com"),
		}},
		{name: "an empty host is refused", host: "", port: 25},
		{name: "a host with a line break is refused", host: "smtp\r\n.example.com", port: 25},
		{name: "port 0 is refused", host: "smtp.example.com", port: 0},
		{name: "a port over 65535 is refused", host: "smtp.example.com", port: 65536},
		{name: "a From that does not parse is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithFrom("nobody")}, wantErr: mail.ErrInvalidAddress},
		{name: "a From with a line break is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithFrom("a@b.co\r\nBcc: x@y.z")}, wantErr: mail.ErrHeaderInjection},
		{name: "the default From of an IPv6 host does not parse", host: "::1", port: 25, wantErr: mail.ErrInvalidAddress},
		{name: "an IPv6 host with a From is valid", host: "::1", port: 25, ok: true, opts: []mail.SMTPOption{mail.WithFrom("a@example.com")}},
		{name: "AUTH without a username is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithAuth("", "p")}},
		{name: "a zero timeout is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithTimeout(0)}},
		{name: "a negative timeout is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithTimeout(-time.Second)}},
		{name: "a HELO name with a line break is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithHelo("a\r\nMAIL FROM:<x@y.z>")}, wantErr: mail.ErrHeaderInjection},
		{name: "an empty HELO name is refused", host: "smtp.example.com", port: 25, opts: []mail.SMTPOption{mail.WithHelo("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := mail.NewSMTP(tt.host, tt.port, tt.opts...)
			if tt.ok {
				if err != nil || s == nil {
					t.Fatalf("NewSMTP() = %v, %v; want a sender", s, err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewSMTP() error = nil, want an error")
			}
			if !strings.HasPrefix(err.Error(), "mail: ") {
				t.Errorf("NewSMTP() error = %q, want the prefix %q", err, "mail: ")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("NewSMTP() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// errCheck checks an error from Send.
type errCheck func(error) bool

func is(target error) errCheck { return func(err error) bool { return errors.Is(err, target) } }

func replyCode(code int) errCheck {
	return func(err error) bool {
		var te *textproto.Error
		return errors.As(err, &te) && te.Code == code
	}
}

func certError(err error) bool {
	var ce *tls.CertificateVerificationError
	return errors.As(err, &ce)
}

func contains(s string) errCheck {
	return func(err error) bool { return strings.Contains(err.Error(), s) }
}

func TestSMTPSend(t *testing.T) {
	tests := []struct {
		name     string
		server   []smtptest.Option
		client   func(srv *smtptest.Server) []mail.SMTPOption
		wantErr  errCheck // nil: success
		wantTLS  bool
		wantUser string
	}{
		{
			name: "plain SMTP to localhost delivers the message",
		},
		{
			name:   "STARTTLS is used when the server offers it",
			server: []smtptest.Option{smtptest.WithTLS()},
			client: func(srv *smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithTLSConfig(srv.ClientTLSConfig())}
			},
			wantTLS: true,
		},
		{
			name:   "AUTH PLAIN after STARTTLS authenticates",
			server: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("app", "s3cret")},
			client: func(srv *smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithAuth("app", "s3cret")}
			},
			wantTLS:  true,
			wantUser: "app",
		},
		{
			name:   "AUTH PLAIN over implicit TLS authenticates",
			server: []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("app", "s3cret")},
			client: func(srv *smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithImplicitTLS(), mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithAuth("app", "s3cret")}
			},
			wantTLS:  true,
			wantUser: "app",
		},
		{
			name:     "AUTH without TLS is allowed to localhost, as net/smtp allows it",
			server:   []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			client:   func(*smtptest.Server) []mail.SMTPOption { return []mail.SMTPOption{mail.WithAuth("app", "s3cret")} },
			wantUser: "app",
		},
		{
			name:   "AUTH without TLS is refused to a server that is not localhost",
			server: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			client: func(*smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithAuth("app", "s3cret"), mail.WithTLSConfig(&tls.Config{ServerName: "mail.example.com"})}
			},
			wantErr: is(mail.ErrInsecureAuth),
		},
		{
			name: "plain SMTP is refused to a server that is not localhost",
			client: func(*smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithTLSConfig(&tls.Config{ServerName: "mail.example.com"})}
			},
			wantErr: is(mail.ErrInsecureTransport),
		},
		{
			name: "plain SMTP to a server that is not localhost is allowed with WithInsecurePlaintext",
			client: func(*smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithInsecurePlaintext(), mail.WithTLSConfig(&tls.Config{ServerName: "mail.example.com"})}
			},
		},
		{
			name:   "wrong credentials fail with 535",
			server: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("app", "s3cret")},
			client: func(srv *smtptest.Server) []mail.SMTPOption {
				return []mail.SMTPOption{mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithAuth("app", "wrong")}
			},
			wantErr: replyCode(535),
		},
		{
			name:    "a server that requires AUTH refuses a sender without credentials with 530",
			server:  []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			wantErr: replyCode(530),
		},
		{
			name:    "credentials for a server that offers no AUTH fail",
			client:  func(*smtptest.Server) []mail.SMTPOption { return []mail.SMTPOption{mail.WithAuth("app", "s3cret")} },
			wantErr: contains("AUTH PLAIN"),
		},
		{
			name:    "a certificate the client does not trust fails STARTTLS",
			server:  []smtptest.Option{smtptest.WithTLS()},
			wantErr: certError,
		},
		{
			name:   "a certificate for another name fails STARTTLS",
			server: []smtptest.Option{smtptest.WithTLS()},
			client: func(srv *smtptest.Server) []mail.SMTPOption {
				c := srv.ClientTLSConfig()
				c.ServerName = "mail.example.com"
				return []mail.SMTPOption{mail.WithTLSConfig(c)}
			},
			wantErr: certError,
		},
		{
			name:    "a server that refuses the message after DATA with 554 fails the send",
			server:  []smtptest.Option{smtptest.WithFailure("DATA", 554)},
			wantErr: replyCode(554),
		},
		{
			name:    "a server that refuses the recipient with 550 fails the send",
			server:  []smtptest.Option{smtptest.WithFailure("RCPT", 550)},
			wantErr: replyCode(550),
		},
		{
			name:    "a temporary failure of MAIL (451) fails the send",
			server:  []smtptest.Option{smtptest.WithFailure("MAIL", 451)},
			wantErr: replyCode(451),
		},
	}
	msg := mail.Message{To: "ada@example.com", Subject: "Hello", Body: "Hi Ada"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.server...)
			var opts []mail.SMTPOption
			if tt.client != nil {
				opts = tt.client(srv)
			}
			err := newSender(t, srv, opts...).Send(t.Context(), msg)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("Send() error = nil, want an error")
				}
				t.Logf("Send() error = %v", err)
				if !tt.wantErr(err) {
					t.Errorf("Send() error = %v, not the one expected", err)
				}
				if !strings.HasPrefix(err.Error(), "mail: ") {
					t.Errorf("Send() error = %q, want the prefix %q", err, "mail: ")
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("server received %d messages, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send() error = %v", err)
			}
			got, err := srv.WaitMessage(waitCtx(t))
			if err != nil {
				t.Fatalf("WaitMessage() error = %v", err)
			}
			if got.TLS != tt.wantTLS {
				t.Errorf("Received.TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.AuthUser != tt.wantUser {
				t.Errorf("Received.AuthUser = %q, want %q", got.AuthUser, tt.wantUser)
			}
			if got.From != "noreply@127.0.0.1" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
				t.Errorf("envelope = %q -> %q, want noreply@127.0.0.1 -> [ada@example.com]", got.From, got.To)
			}
			if got.Helo != "localhost" {
				t.Errorf("Received.Helo = %q, want the default %q", got.Helo, "localhost")
			}
			if !strings.Contains(got.Data, "\r\n\r\nHi Ada\r\n") {
				t.Errorf("Data = %q, want the body Hi Ada", got.Data)
			}
		})
	}
}

func TestSMTPSendWithFromAndHelo(t *testing.T) {
	srv := smtptest.NewServer(t)
	s := newSender(t, srv, mail.WithFrom("Example App <noreply@app.example.com>"), mail.WithHelo("app.example.com"))
	for range 2 {
		if err := s.Send(t.Context(), mail.Message{To: "ada@example.com", Subject: "s", Body: "b"}); err != nil {
			t.Fatalf("Send() error = %v", err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("server received %d messages, want 2", len(msgs))
	}
	got := msgs[0]
	if got.From != "noreply@app.example.com" {
		t.Errorf("MAIL FROM = %q, want noreply@app.example.com", got.From)
	}
	if got.Helo != "app.example.com" {
		t.Errorf("Received.Helo = %q, want app.example.com", got.Helo)
	}
	if !strings.Contains(got.Data, "From: \"Example App\" <noreply@app.example.com>\r\n") {
		t.Errorf("Data has no From header with the display name:\n%s", got.Data)
	}
	id := func(data string) string {
		for line := range strings.SplitSeq(data, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Message-ID: "); ok {
				return v
			}
		}
		return ""
	}
	if a, b := id(msgs[0].Data), id(msgs[1].Data); a == "" || a == b || !strings.HasSuffix(a, "@app.example.com>") {
		t.Errorf("Message-IDs = %q and %q, want two different ids at app.example.com", a, b)
	}
}

func TestSMTPSendIsSafeForConcurrentUse(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithTLS(), smtptest.WithAuth("app", "s3cret"))
	s := newSender(t, srv, mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithAuth("app", "s3cret"))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			errs <- s.Send(t.Context(), mail.Message{To: "ada@example.com", Subject: "s", Body: "b"})
		})
	}
	// A deadlock fails the test, it does not hang the package.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%d concurrent Send() still running after 20s", n)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send() error = %v", err)
		}
	}
	if got := len(srv.Messages()); got != n {
		t.Errorf("server received %d messages, want %d", got, n)
	}
}

// stallServer accepts connections and never answers. accepted receives a
// value per connection. The test's cleanup closes everything.
func stallServer(t *testing.T) (host string, port int, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "127.0.0.1", ln.Addr().(*net.TCPAddr).Port, ch
}

func TestSMTPSendStops(t *testing.T) {
	tests := []struct {
		name    string
		opts    []mail.SMTPOption
		ctx     func(t *testing.T, accepted <-chan struct{}) context.Context
		wantErr error
	}{
		{
			name: "a context cancelled before Send fails at once",
			ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
			wantErr: context.Canceled,
		},
		{
			name: "a context cancelled while the server stalls ends the exchange",
			ctx: func(t *testing.T, accepted <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				go func() {
					select {
					case <-accepted:
					case <-time.After(10 * time.Second):
					}
					cancel()
				}()
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.Canceled,
		},
		{
			name: "a context deadline ends the exchange with a stalled server",
			ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name:    "WithTimeout ends the exchange with a stalled server",
			opts:    []mail.SMTPOption{mail.WithTimeout(100 * time.Millisecond)},
			ctx:     func(t *testing.T, _ <-chan struct{}) context.Context { return t.Context() },
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, accepted := stallServer(t)
			s, err := mail.NewSMTP(host, port, tt.opts...)
			if err != nil {
				t.Fatalf("NewSMTP() error = %v", err)
			}
			start := time.Now()
			err = s.Send(tt.ctx(t, accepted), mail.Message{To: "ada@example.com", Subject: "s", Body: "b"})
			t.Logf("Send() error = %v", err)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send() error = %v, want %v", err, tt.wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send() returned after %v, want it to stop quickly", d)
			}
		})
	}
}
