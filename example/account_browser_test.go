package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ginusers/kit/ginusers/mail/smtptest"
)

// act runs browser actions that return nothing, failing the test on error.
func act(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// read runs a browser action that returns a value, failing the test on
// error.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text returns the text of the element of the CSS selector sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(read(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// mailedLink waits for the next e-mail, checks it is for to, and returns
// its link, the line that begins with prefix.
func mailedLink(t *testing.T, srv *smtptest.Server, to, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	msg, err := srv.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("no e-mail arrived: %v", err)
	}
	if len(msg.To) != 1 || msg.To[0] != to {
		t.Fatalf("e-mail to %v, want %s", msg.To, to)
	}
	m := regexp.MustCompile(`(?m)^(` + regexp.QuoteMeta(prefix) + `\S+)\r?$`).FindStringSubmatch(msg.Data)
	if m == nil {
		t.Fatalf("the e-mail has no link beginning with %s:\n%s", prefix, msg.Data)
	}
	return m[1]
}

// checkPageAccessible checks the page in the browser: every control has
// a label (or is a button with text), and at 320 CSS pixels wide the page
// does not scroll sideways.
func checkPageAccessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	unlabelled := read(t, ctx, name+": labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
		.filter(e => e.tagName === 'BUTTON' ? e.textContent.trim() === '' : !(e.labels && e.labels.length && e.labels[0].textContent.trim() !== ''))
		.map(e => e.outerHTML)`))
	if len(unlabelled) > 0 {
		t.Errorf("%s: controls without a label: %v", name, unlabelled)
	}
	// WCAG's contrast ratio of every text against its background (the
	// first opaque one up the tree): at least 4.5:1.
	low := read(t, ctx, name+": contrast", chromedp.Evaluate[[]string](`(() => {
		const rgb = s => s.match(/[\d.]+/g).map(Number);
		const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
			.reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
		const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
		const out = [];
		for (const e of document.body.querySelectorAll('*')) {
			if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
			const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (ratio < 4.5) out.push(e.tagName + ' ' + e.textContent.trim().slice(0, 30) + ': ' + ratio.toFixed(2));
		}
		return out;
	})()`))
	if len(low) > 0 {
		t.Errorf("%s: texts with a contrast under 4.5:1: %v", name, low)
	}
	act(t, ctx, name+": 320 px", chromedp.EmulateViewport(320, 640))
	scroll := read(t, ctx, name+": scroll width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	inner := read(t, ctx, name+": viewport width", chromedp.Evaluate[int](`window.innerWidth`))
	act(t, ctx, name+": back to 1000 px", chromedp.EmulateViewport(1000, 800))
	if inner != 320 || scroll > inner {
		t.Errorf("%s at 320 px: scroll width %d, viewport %d: the page scrolls sideways", name, scroll, inner)
	}
}

// submitForm types the values into the fields (by id) and clicks the
// form's submit button.
func submitForm(t *testing.T, ctx context.Context, what string, values ...string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(values); i += 2 {
		steps = append(steps,
			chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(values[i])+`).value = ''`),
			chromedp.SendKeys(chromedp.CSS("#"+values[i]), values[i+1]))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(`main button[type="submit"]`)))
	act(t, ctx, what, steps...)
}

// open navigates to u and waits for the page's h1, which it returns.
func open(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	act(t, ctx, "open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1")))
	return text(t, ctx, "h1")
}

// TestAccountPagesInBrowser follows the e-mailed links in a real browser:
// register on the account page, open the verification link of the
// e-mail, ask for a password reset, open the reset link, set a new
// password, sign in with it (the old one refused); and a form posted from
// another site is refused.
func TestAccountPagesInBrowser(t *testing.T) {
	srv := smtptest.NewServer(t)
	addr := freeAddr(t)
	env := map[string]string{
		"ADDR": addr, "DATA_DIR": t.TempDir(),
		"SECRET":    "an example secret that is long enough to sign",
		"SMTP_HOST": srv.Host(), "SMTP_PORT": strconv.Itoa(srv.Port()), "SMTP_FROM": "noreply@camelot.bt",
	}
	base, stop := startExample(t, env)
	defer stop()
	if base != "http://"+addr {
		t.Fatalf("the example serves %s, want http://%s (PUBLIC_URL's default)", base, addr)
	}
	ctx := startChromium(t, 3*time.Minute, 1000, 800)
	const email = "king.arthur@camelot.bt"

	// Register.
	open(t, ctx, base+"/register")
	checkPageAccessible(t, ctx, "register")
	submitForm(t, ctx, "register", "email", email, "password", "guinevere")
	act(t, ctx, "registered", chromedp.WaitVisible(chromedp.CSS(`p[role="status"]`)))
	if h := text(t, ctx, "h1"); h != "Check your e-mail" {
		t.Fatalf("after registering, the page says %q", h)
	}

	// The e-mailed verification link verifies, once.
	link := mailedLink(t, srv, email, base+"/verify?token=")
	if h := open(t, ctx, link); h != "Your e-mail address is verified" {
		t.Fatalf("the verification link shows %q", h)
	}
	if r := call(t, "GET", base+"/users/me", "", "", login(t, base, email, "guinevere")); r.body["is_verified"] != true {
		t.Fatalf("after the verification link, /users/me = %s", r.raw)
	}
	if h := open(t, ctx, link); h != "Already verified" {
		t.Fatalf("the verification link, used again, shows %q", h)
	}

	// Forgot password, then the e-mailed reset link.
	open(t, ctx, base+"/sign-in")
	checkPageAccessible(t, ctx, "sign-in")
	act(t, ctx, "forgot password", chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	checkPageAccessible(t, ctx, "forgot-password")
	submitForm(t, ctx, "forgot password", "email", email)
	act(t, ctx, "asked for a reset", chromedp.WaitVisible(chromedp.CSS(`p[role="status"]`)))
	link = mailedLink(t, srv, email, base+"/reset-password?token=")
	if h := open(t, ctx, link); h != "Choose a new password" {
		t.Fatalf("the reset link shows %q", h)
	}
	checkPageAccessible(t, ctx, "reset-password")
	// The focus order begins with the password field, and the focus shows.
	act(t, ctx, "Tab", chromedp.KeyEvent("\t"))
	focused := read(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`))
	outline := read(t, ctx, "outline", chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`))
	if focused != "password" || outline != "solid 3px" {
		t.Errorf("after Tab, the focus is on %q with outline %q, want the password field with a 3px solid outline", focused, outline)
	}
	act(t, ctx, "blur", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	act(t, ctx, "screenshot size", chromedp.EmulateViewport(720, 320))
	shot := read(t, ctx, "screenshot", chromedp.CaptureScreenshot())
	act(t, ctx, "back to 1000 px", chromedp.EmulateViewport(1000, 800))
	if img, err := png.Decode(bytes.NewReader(shot)); err != nil || img.Bounds().Dx() != 720 {
		t.Fatalf("the screenshot is not a 720-pixel-wide PNG: %v", err)
	}
	if os.Getenv(updateScreenshotsEnv) == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "images", "account-reset.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A refused password is shown next to the field; then the reset.
	submitForm(t, ctx, "a short password", "password", "short")
	act(t, ctx, "refused", chromedp.WaitVisible(chromedp.CSS("#password-error")))
	if reason := text(t, ctx, "#password-error"); reason != "Password should be at least 8 characters" {
		t.Fatalf("the reset page says %q for a short password", reason)
	}
	submitForm(t, ctx, "reset the password", "password", "excalibur")
	act(t, ctx, "reset", chromedp.WaitVisible(chromedp.CSS("p.notice")))
	notice, where := text(t, ctx, "p.notice"), read(t, ctx, "location", chromedp.Location())
	if notice != "Your password has been changed. Sign in with the new one." || where != base+"/sign-in?done=password-reset" {
		t.Fatalf("after the reset: %q at %s", notice, where)
	}

	// The old password is refused, the new one signs in.
	submitForm(t, ctx, "sign in with the old password", "email", email, "password", "guinevere")
	act(t, ctx, "refused", chromedp.WaitVisible(chromedp.CSS(`div[role="alert"]`)))
	if alert := text(t, ctx, `div[role="alert"]`); alert != "The e-mail address or the password is not right." {
		t.Fatalf("sign in with the old password: %q", alert)
	}
	submitForm(t, ctx, "sign in with the new password", "password", "excalibur")
	act(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS("#signed-in-as")))
	if who := text(t, ctx, "#signed-in-as"); who != email {
		t.Fatalf("signed in as %q", who)
	}
	// The session is the example's cookie backend: its routes know the user.
	act(t, ctx, "/authenticated-route", chromedp.Navigate(base+"/authenticated-route"))
	if me := text(t, ctx, "body"); !strings.Contains(me, `"Hello `+email+`!"`) {
		t.Fatalf("GET /authenticated-route in the browser = %s", me)
	}

	// A form posted from another site is refused, even with the user's
	// form token (which such a site could not read): the browser marks the
	// post cross-site, which the origin check refuses, and does not send
	// the SameSite=Strict form cookie, which the token check would refuse.
	open(t, ctx, base+"/sign-out")
	token := read(t, ctx, "form token", chromedp.AttributeValue(chromedp.CSS(`input[name="csrf_token"]`), "value")).Value
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form method="post" action="%s/sign-out"><input type="hidden" name="csrf_token" value="%s"><button id="go">Claim</button></form>`, base, token)
	}))
	defer evil.Close()
	evilURL, _ := url.Parse(evil.URL)
	evilURL.Host = "localhost:" + evilURL.Port() // another site than 127.0.0.1
	act(t, ctx, "cross-site post",
		chromedp.Navigate(evilURL.String()),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if h, where := text(t, ctx, "h1"), read(t, ctx, "location", chromedp.Location()); h != "This form cannot be accepted" || where != base+"/sign-out" {
		t.Fatalf("a cross-site post to /sign-out shows %q at %s", h, where)
	}
	open(t, ctx, base+"/sign-in")
	if who := text(t, ctx, "#signed-in-as"); who != email {
		t.Fatalf("after the refused post, signed in as %q", who)
	}

	// Signing out through the page's own form works.
	act(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`main button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	act(t, ctx, "/authenticated-route", chromedp.Navigate(base+"/authenticated-route"))
	if me := text(t, ctx, "body"); !strings.Contains(me, "Unauthorized") {
		t.Fatalf("after signing out, /authenticated-route = %s", me)
	}
}

// TestAccountPagesOverPlainHTTP: with COOKIE_INSECURE=1, the account
// pages' forms work over plain HTTP on a host that is not the loopback (a
// development machine on the LAN: app.test, mapped to 127.0.0.1 in the
// browser). Browsers send no Sec-Fetch-Site there, so the origin check
// reads Origin, which must then be the page's own (a no-referrer policy
// made it "null").
func TestAccountPagesOverPlainHTTP(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	base, stop := startExample(t, map[string]string{
		"ADDR": addr, "DATA_DIR": t.TempDir(), "COOKIE_INSECURE": "1", "PUBLIC_URL": "http://app.test:" + port,
		"SECRET": "an example secret that is long enough to sign",
	})
	defer stop()
	ctx := startChromium(t, 2*time.Minute, 1000, 800)
	site := "http://app.test:" + port

	if h := open(t, ctx, site+"/register"); h != "Create an account" {
		t.Fatalf("/register shows %q", h)
	}
	submitForm(t, ctx, "register", "email", "percival@camelot.bt", "password", "the holy grail")
	act(t, ctx, "registered", chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); h != "Check your e-mail" {
		t.Fatalf("registering over plain HTTP on %s: the page says %q", site, h)
	}
	open(t, ctx, site+"/sign-in")
	submitForm(t, ctx, "sign in", "email", "percival@camelot.bt", "password", "the holy grail")
	act(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS("#signed-in-as")))
	if r := call(t, "GET", base+"/users/me", "", "", login(t, base, "percival@camelot.bt", "the holy grail")); r.body["email"] != "percival@camelot.bt" {
		t.Fatalf("/users/me = %s", r.raw)
	}
}
