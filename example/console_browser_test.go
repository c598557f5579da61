package main

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ginusers/kit/ginusers/mail/smtptest"
)

// consoleTab is the browser tab of TestConsoleBrowser, with what it saw.
type consoleTab struct {
	t     *testing.T
	ctx   context.Context // the tab's; no deadline of its own
	shots string
	mu    sync.Mutex
	http  []string // answers of 400 or more: "403 /admin/signin"
	fails []string // failed loads
	logs  []string // console warnings and errors
}

func (b *consoleTab) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventLoadingFailed:
		b.fails = append(b.fails, fmt.Sprintf("%s %s", ev.Type, ev.ErrorText))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			u := ev.Response.URL
			if i := strings.Index(u, "/admin"); i >= 0 {
				u = u[i:]
			}
			b.http = append(b.http, fmt.Sprintf("%d %s", ev.Response.Status, u))
		}
	}
}

// run runs one step a with a deadline of 15 s, and fails the test with a
// screenshot when it fails.
func consoleRun[T any](b *consoleTab, name string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		sctx, scancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer scancel()
		shot := filepath.Join(b.shots, "failed.png")
		if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil && os.WriteFile(shot, png, 0o644) == nil {
			b.t.Logf("the page at the failure: %s", shot)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.t.Fatalf("step %q: %v\nHTTP errors: %q\nfailed loads: %q\nconsole: %q", name, err, b.http, b.fails, b.logs)
	}
	return v
}

// do runs actions as one step.
func (b *consoleTab) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	consoleRun(b, name, chromedp.Steps(actions...))
}

// text returns the text of the first element sel selects.
func (b *consoleTab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(consoleRun(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// newConsoleTab starts headless Chromium and returns its tab. Only the
// loopback is reachable from it.
func newConsoleTab(t *testing.T) *consoleTab {
	t.Helper()
	bctx := startChromium(t, 3*time.Minute, 1280, 900)
	b := &consoleTab{t: t, ctx: bctx, shots: t.TempDir()}
	if err := chromedp.Listen(bctx, b.event); err != nil {
		t.Fatal(err)
	}
	watchTab(t, bctx, func(line string) {
		b.mu.Lock()
		b.logs = append(b.logs, line)
		b.mu.Unlock()
	})
	return b
}

// TestConsoleBrowser runs the example's console in headless Chromium as an
// administrator would, with nothing but the browser: sign in as the
// example's admin (ADMIN_EMAIL, with the keyboard alone), find a user by e-mail, deactivate them
// (their API token is refused at once), create a user with an e-mailed
// link (the e-mail arrives), then checks what an attacker or an
// unentitled user gets: a form posted from another origin is refused, a
// user who is not a superuser cannot sign in. On the list and on a user
// page it checks keyboard-only use (Tab reaches every control in document
// order, each with a visible focus ring), the 320 px layout (no horizontal
// scrolling) and the contrast of every text (at least 4.5:1), and that no
// page breaks its Content-Security-Policy or logs an error.
//
// It needs Debian's chromium at /usr/bin/chromium and fails without it.
// With GINUSERS_UPDATE_SCREENSHOTS=1 it also writes
// docs/images/console-list.png and docs/images/console-user.png.
func TestConsoleBrowser(t *testing.T) {
	smtp := smtptest.NewServer(t)
	const adminEmail, adminPassword = "admin@camelot.bt", "holy-grail-1"
	base, stop := startExample(t, map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": strings.Repeat("console-browser-test-", 3),
		"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword,
		"PUBLIC_URL": "https://app.camelot.bt",
		"SMTP_HOST":  smtp.Host(), "SMTP_PORT": strconv.Itoa(smtp.Port()), "SMTP_FROM": "noreply@camelot.bt",
	})
	defer stop()
	for _, k := range []struct{ email, first, last string }{
		{"lancelot@camelot.bt", "Lancelot", "du Lac"}, {"percival@camelot.bt", "Percival", "of Wales"},
		{"gareth@camelot.bt", "Gareth", ""}, {"bedivere@camelot.bt", "Bedivere", ""}, {"tristan@camelot.bt", "Tristan", "of Lyonesse"},
	} {
		body := fmt.Sprintf(`{"email": %q, "password": "round-table", "first_name": %q}`, k.email, k.first)
		if k.last != "" {
			body = fmt.Sprintf(`{"email": %q, "password": "round-table", "first_name": %q, "last_name": %q}`, k.email, k.first, k.last)
		}
		if r := call(t, "POST", base+"/auth/register", "application/json", body, ""); r.code != 201 {
			t.Fatalf("register %s = %d %s", k.email, r.code, r.raw)
		}
	}
	lancelotToken := login(t, base, "lancelot@camelot.bt", "round-table")
	adminToken := login(t, base, adminEmail, adminPassword)

	b := newConsoleTab(t)
	b.do("open the console", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#signin-email")))
	b.signIn(adminEmail, adminPassword, "table.users")
	if got := b.text("h1"); got != "Users" {
		t.Fatalf("after signing in, the page is %q", got)
	}
	b.checkPage("the list")
	if os.Getenv(updateScreenshotsEnv) == "1" {
		writeImage(t, "console-list.png", consoleRun(b, "screenshot of the list", pageShot(1100)))
	}

	b.do("find a user by e-mail",
		chromedp.SendKeys(chromedp.CSS("#q"), "LANCELOT"),
		chromedp.Click(chromedp.CSS(".filters button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`table.users a[href*="/admin/users/"]`)))
	rows := consoleRun(b, "read the rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.users tbody th")).map(e => e.textContent.trim())`))
	if !slices.Equal(rows, []string{"lancelot@camelot.bt"}) {
		t.Fatalf("searching LANCELOT found %q", rows)
	}
	b.do("open the user", chromedp.Click(chromedp.CSS(`table.users tbody a`)), chromedp.WaitVisible(chromedp.CSS("#edit-heading")))
	if got := b.text("h1"); got != "lancelot@camelot.bt" {
		t.Fatalf("the user page is %q", got)
	}
	userURL := consoleRun(b, "read the URL", chromedp.Location())
	b.checkPage("the user page")
	if os.Getenv(updateScreenshotsEnv) == "1" {
		writeImage(t, "console-user.png", consoleRun(b, "screenshot of the user page", pageShot(1100)))
	}

	b.do("deactivate", chromedp.Click(chromedp.CSS(`form[action$="/deactivate"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := b.text(".notice"); !strings.Contains(got, "deactivated") {
		t.Errorf("after deactivating: %q", got)
	}
	if r := call(t, "GET", base+"/users/me", "", "", lancelotToken); r.code != http.StatusUnauthorized {
		t.Errorf("the deactivated user's API token = %d %s, want 401", r.code, r.raw)
	}

	b.do("create a user",
		chromedp.Navigate(base+"/admin/users/new"), chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "gawain@camelot.bt"),
		chromedp.SendKeys(chromedp.CSS("#field-f-first_name"), "Gawain"),
		chromedp.Click(chromedp.CSS("main form button.primary")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := b.text(".notice"); !strings.Contains(got, "link to choose a password was sent") {
		t.Errorf("after creating: %q", got)
	}
	mctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	msg, err := smtp.WaitMessage(mctx)
	cancel()
	if err != nil {
		t.Fatalf("no e-mail arrived: %v", err)
	}
	if len(msg.To) != 1 || msg.To[0] != "gawain@camelot.bt" || !strings.Contains(msg.Data, "https://app.camelot.bt/reset-password?token=") {
		t.Errorf("the e-mail: to %v\n%s", msg.To, msg.Data)
	}

	// A page of another origin (another port of the loopback: the same
	// site, so even the SameSite=Strict cookie goes along) posts a form to
	// the console, with the right form token even: refused.
	b.do("back to the user", chromedp.Navigate(userURL), chromedp.WaitVisible(chromedp.CSS(`form[action$="/activate"]`)))
	formToken := consoleRun(b, "read the form token", chromedp.Evaluate[string](`document.querySelector('input[name=csrf]').value`))
	action := consoleRun(b, "read the activate action", chromedp.Evaluate[string](`document.querySelector('form[action$="/activate"]').action`))
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		template.Must(template.New("").Parse(`<!doctype html><title>Win a prize</title>
<form method="post" action="{{.Action}}"><input type="hidden" name="csrf" value="{{.Token}}"><button id="go">Claim</button></form>`)).Execute(w, map[string]string{"Action": action, "Token": formToken})
	}))
	defer attacker.Close()
	b.do("post a form from another origin",
		chromedp.Navigate(attacker.URL), chromedp.WaitVisible(chromedp.CSS("#go")),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS(".alert")))
	if got := b.text(".alert"); !strings.Contains(got, "sent from another site") {
		t.Errorf("the cross-origin form got %q", got)
	}
	if r := call(t, "GET", base+"/users/me", "", "", lancelotToken); r.code != http.StatusUnauthorized {
		t.Error("the cross-origin form was obeyed: the user was activated")
	}
	id := userURL[strings.LastIndex(userURL, "/")+1:]
	if r := call(t, "GET", base+"/users/"+id, "", "", adminToken); r.code != 200 || r.body["is_active"] != false {
		t.Errorf("after the cross-origin form: %d %s, want the user inactive", r.code, r.raw)
	}

	b.do("back to the user page", chromedp.Navigate(userURL), chromedp.WaitVisible(chromedp.CSS("#edit-heading")))
	b.keyboard("the user page")
	b.narrow("the user page")
	b.do("back to the list", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table.users")))
	b.keyboard("the list")
	b.narrow("the list")

	b.do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#signin-email")))
	b.signIn("percival@camelot.bt", "round-table", ".alert")
	if got := b.text(".alert"); !strings.Contains(got, "not an administrator") {
		t.Errorf("a non-superuser's sign-in got %q", got)
	}
	b.do("try the list anyway", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#signin-email")))

	violations := consoleRun(b, "read the CSP violations", chromedp.Evaluate[[]string](`window.__cspViolations`))
	b.mu.Lock()
	defer b.mu.Unlock()
	want := []string{"403 /admin/users/" + id + "/activate", "403 /admin/signin"}
	// Chromium logs the expected refusals as errors too.
	logs := slices.DeleteFunc(slices.Clone(b.logs), func(l string) bool {
		return strings.Contains(l, "status of 403") && slices.ContainsFunc(want, func(w string) bool { return strings.HasSuffix(l, strings.TrimPrefix(w, "403 ")+")") })
	})
	if len(violations) != 0 || len(b.fails) != 0 || len(logs) != 0 {
		t.Errorf("CSP violations: %q\nfailed loads: %q\nconsole: %q", violations, b.fails, logs)
	}
	if !slices.Equal(b.http, want) {
		t.Errorf("HTTP errors = %q, want only the refused cross-origin form and sign-in %q", b.http, want)
	}
}

// signIn fills in the sign-in form with the keyboard alone (the address
// box has the focus when the page opens: autofocus), sends it with Enter,
// and waits for then to show.
func (b *consoleTab) signIn(email, password, then string) {
	b.t.Helper()
	b.do("sign in as "+email+" with the keyboard",
		chromedp.WaitVisible(chromedp.CSS("#signin-email")),
		chromedp.Steps(func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](`document.activeElement.id === "signin-email"`, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tgt)
			return chromedp.Void{}, err
		}),
		chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(then)))
}

// checkPage checks the current page's text contrast.
func (b *consoleTab) checkPage(what string) {
	b.t.Helper()
	low := consoleRun(b, "measure the contrast of "+what, chromedp.Evaluate[[]string](contrastJS))
	if len(low) != 0 {
		b.t.Errorf("%s: text with a contrast below 4.5:1: %q", what, low)
	}
}

// contrastJS lists the texts of the page whose contrast with their
// background is below 4.5:1 (WCAG 2 AA for normal text).
const contrastJS = `(() => {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const low = [];
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const n = w.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || el.closest(".visually-hidden, .skip, option")) continue;
    const fg = parse(getComputedStyle(el).color), l1 = lum(fg), l2 = lum(bg(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) low.push(n.textContent.trim().slice(0, 40) + ": " + ratio.toFixed(2));
  }
  return low;
})()`

// focusState is where the focus is, by the index the test gave every
// focusable element, and whether it shows.
type focusState struct {
	Index   int    `json:"index"`
	What    string `json:"what"`
	Visible bool   `json:"visible"`
}

// keyboard walks the current page with the Tab key alone, from the top:
// the focus must reach every link and control, in document order, and
// each must show a focus ring.
func (b *consoleTab) keyboard(what string) {
	b.t.Helper()
	focusables := consoleRun(b, "number the focusable elements of "+what, chromedp.Evaluate[[]string](`(() => {
  const els = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')).filter(e => !e.disabled);
  els.forEach((e, i) => e.dataset.kb = i);
  document.activeElement && document.activeElement.blur();
  window.scrollTo(0, 0);
  return els.map(e => e.tagName.toLowerCase() + " " + (e.id || e.name || e.textContent.trim()));
})()`))
	var seen []focusState
	for range len(focusables) + 2 {
		b.do("press Tab", chromedp.KeyEvent("\t"))
		st := consoleRun(b, "read the focus", chromedp.Evaluate[focusState](`(() => {
  const e = document.activeElement, cs = getComputedStyle(e);
  const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) || (cs.boxShadow && cs.boxShadow !== "none");
  return {index: e.dataset.kb === undefined ? -1 : Number(e.dataset.kb), what: e.tagName.toLowerCase() + " " + (e.id || e.name || e.textContent.trim()), visible: ring};
})()`))
		if st.Index < 0 {
			break
		}
		seen = append(seen, st)
	}
	var order []int
	for _, s := range seen {
		order = append(order, s.Index)
		if !s.Visible {
			b.t.Errorf("%s: the focus on %q does not show", what, s.What)
		}
	}
	want := make([]int, len(focusables))
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		b.t.Errorf("%s: Tab reached %v, want every one of the %d focusable elements in document order: %q", what, order, len(focusables), focusables)
	}
	b.t.Logf("%s: Tab reached all %d links and controls in order", what, len(seen))
}

// narrow lays the current page out 320 px wide: nothing may scroll
// sideways.
func (b *consoleTab) narrow(what string) {
	b.t.Helper()
	consoleRun(b, "320 px", chromedp.EmulateViewport(320, 720))
	defer consoleRun(b, "reset the viewport", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	widths := consoleRun(b, "measure "+what+" at 320 px", chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]`))
	if widths[0] > widths[1] || widths[1] != 320 {
		b.t.Errorf("%s at 320 px: scroll width %v, client width %v, window %v: it scrolls sideways", what, widths[0], widths[1], widths[2])
	}
	png := consoleRun(b, "screenshot at 320 px", chromedp.FullScreenshot(100))
	name := filepath.Join(b.shots, strings.ReplaceAll(what, " ", "-")+"-320.png")
	if err := os.WriteFile(name, png, 0o644); err == nil {
		b.t.Logf("%s at 320 px: %s", what, name)
	}
}

// pageShot captures the whole page laid out width pixels wide.
func pageShot(width int64) chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		if _, err := cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: width, Height: 800, DeviceScaleFactor: 1}); err != nil {
			return nil, err
		}
		defer cdp.Call(ctx, tgt, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		h, err := chromedp.Evaluate[float64](`document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), document.documentElement.scrollHeight`)(ctx, tgt)
		if err != nil {
			return nil, err
		}
		height := int64(math.Ceil(h))
		if _, err := cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: width, Height: height, DeviceScaleFactor: 1}); err != nil {
			return nil, err
		}
		if _, err := chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)(ctx, tgt); err != nil {
			return nil, err
		}
		res, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, FromSurface: new(true),
			Clip: &page.Viewport{X: 0, Y: 0, Width: float64(width), Height: float64(height), Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}

// writeImage writes a screenshot to docs/images.
func writeImage(t *testing.T, name string, png []byte) {
	t.Helper()
	path := filepath.Join("..", "docs", "images", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/images/%s (%d bytes)", name, len(png))
}
