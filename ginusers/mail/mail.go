package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is an e-mail to one recipient: a plain-text message in UTF-8.
type Message struct {
	// To is the recipient, an address such as "ada@example.com" or
	// "Ada Lovelace <ada@example.com>", as parsed by net/mail.ParseAddress.
	To string
	// Subject is the subject line. It must not contain a line break; it is
	// encoded as an RFC 2047 word when it is not plain ASCII.
	Subject string
	// Body is the plain-text body. Its line endings may be LF, CRLF or CR;
	// they are sent as CRLF.
	Body string
}

// Sender sends messages.
//
// Send delivers msg or returns an error that says why it did not. It stops
// when ctx is done and then returns an error that wraps ctx.Err(). A
// message with an invalid address or a line break in a header field is
// refused with an error wrapping [ErrInvalidAddress] or
// [ErrHeaderInjection], before anything is sent. Implementations must be
// safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, msg Message) error
}

// SenderFunc adapts a function to the [Sender] interface, for tests and for
// delivery through an HTTP mail API. The function is responsible for
// honouring the contract of [Sender]; [CheckMessage] helps.
type SenderFunc func(ctx context.Context, msg Message) error

// Send calls f(ctx, msg).
func (f SenderFunc) Send(ctx context.Context, msg Message) error { return f(ctx, msg) }

var (
	// ErrInvalidAddress is wrapped by the errors of [NewSMTP] and of
	// [Sender.Send] when a From or To address does not parse as an e-mail
	// address.
	ErrInvalidAddress = errors.New("mail: invalid address")

	// ErrHeaderInjection is wrapped by the errors of [NewSMTP] and of
	// [Sender.Send] when a value that goes into a header field (To, Subject,
	// From, the HELO name) contains a carriage return or a line feed, which
	// could add header fields or recipients of an attacker's choice.
	ErrHeaderInjection = errors.New("mail: line break in a header field")

	// ErrInsecureAuth is wrapped by the error of [SMTP.Send] when
	// credentials set by [WithAuth] would cross an unencrypted connection:
	// the server is not localhost and the connection is neither implicit TLS
	// nor upgraded with STARTTLS (because the server does not offer it).
	// Nothing is sent then.
	ErrInsecureAuth = errors.New("mail: refusing to send credentials over an unencrypted connection")

	// ErrInsecureTransport is wrapped by the error of [SMTP.Send] when the
	// server is not localhost and offers no TLS, unless
	// [WithInsecurePlaintext] allows it. Nothing is sent then.
	ErrInsecureTransport = errors.New("mail: refusing to send a message over an unencrypted connection")
)

// maxLine is the longest line RFC 5322 allows, without its CRLF.
const maxLine = 998

// CheckMessage validates msg the way the senders of this package do before
// sending anything: To must be one e-mail address (an error wraps
// [ErrInvalidAddress]), To and Subject must not contain CR or LF (an error
// wraps [ErrHeaderInjection]), and Subject and Body must be valid UTF-8. It
// returns the parsed recipient.
func CheckMessage(msg Message) (*netmail.Address, error) {
	if strings.ContainsAny(msg.To, "\r\n") {
		return nil, fmt.Errorf("%w: To", ErrHeaderInjection)
	}
	if strings.ContainsAny(msg.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	to, err := parseAddress(msg.To)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(msg.Subject) {
		return nil, errors.New("mail: the subject is not valid UTF-8")
	}
	if len(msg.Subject) > maxLine-len("Subject: ") {
		return nil, errors.New("mail: the subject is too long")
	}
	if !utf8.ValidString(msg.Body) {
		return nil, errors.New("mail: the body is not valid UTF-8")
	}
	return to, nil
}

// parseAddress parses one address, refusing line breaks and groups.
func parseAddress(s string) (*netmail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: %q", ErrHeaderInjection, s)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidAddress, s, err)
	}
	return a, nil
}

// compose builds the RFC 5322 form of msg, with CRLF line endings. The
// message has already been checked by CheckMessage.
func compose(from, to *netmail.Address, msg Message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(msg.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+domainOf(from.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")

	body := normalizeNewlines(msg.Body)
	switch {
	case needsQuotedPrintable(body):
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(body)) // writes to a bytes.Buffer do not fail
		w.Close()
	case isASCII(body):
		header("Content-Transfer-Encoding", "7bit")
		b.WriteString("\r\n")
		b.WriteString(body)
	default:
		header("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		b.WriteString(body)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// encodeSubject encodes s as RFC 2047 words when it is not plain ASCII,
// folding between the words so that lines stay short.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// normalizeNewlines turns CRLF, lone CR and lone LF into CRLF.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// needsQuotedPrintable reports whether a CRLF body cannot be sent as is: a
// line longer than RFC 5322 allows, or a NUL byte.
func needsQuotedPrintable(body string) bool {
	if strings.IndexByte(body, 0) >= 0 {
		return true
	}
	for line := range strings.SplitSeq(body, "\r\n") {
		if len(line) > maxLine {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// domainOf returns the domain of an address, or "localhost".
func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && at < len(addr)-1 {
		return addr[at+1:]
	}
	return "localhost"
}
