package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// updateScreenshotsEnv, set to 1, makes TestDocsBrowser also write its
// screenshot to docs/images/swagger-ui.png (the one the README shows),
// TestConsoleBrowser its screenshots of the console and
// TestAccountPagesInBrowser that of the reset page.
const updateScreenshotsEnv = "GINUSERS_UPDATE_SCREENSHOTS"

// browserLog records what the page did: every request, every failed load,
// every answer of 400 or more, and the console's warnings and errors.
type browserLog struct {
	mu       sync.Mutex
	requests []string // URLs
	failed   []string
	errors   []string // HTTP answers >= 400
	console  []string
}

func (l *browserLog) event(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.requests = append(l.requests, ev.Request.URL)
	case *network.EventLoadingFailed:
		l.failed = append(l.failed, fmt.Sprintf("%s %s (blocked: %q, canceled: %v)", ev.Type, ev.ErrorText, ev.BlockedReason, ev.Canceled))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			l.errors = append(l.errors, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
		}
	}
}

func (l *browserLog) snapshot() (requests, failed, errors, console []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests), slices.Clone(l.failed), slices.Clone(l.errors), slices.Clone(l.console)
}

// TestDocsBrowser opens the example's /docs in headless Chromium and uses it
// as a person would: Authorize with the password flow (e-mail and
// password), then GET /users/me with "Try it out" and "Execute". The live
// answer must be 200 with the user's e-mail. Along the way the page must
// break no rule of its Content-Security-Policy, load nothing from a host
// other than the loopback, and keep the token out of the browser's storage.
// A probe at the end proves that the policy is enforced and that violations
// would have been seen.
//
// It needs Debian's chromium at /usr/bin/chromium and fails without it
// (.ci/run installs it). With GINUSERS_UPDATE_SCREENSHOTS=1 it also writes
// docs/images/swagger-ui.png.
func TestDocsBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%v: this test needs Chromium; install Debian's chromium package (apt-get install chromium), as .ci/run does", err)
	}
	base, stop := startExample(t, map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": strings.Repeat("docs-browser-test-", 3),
	})
	defer stop()

	const email, password = "lancelot@camelot.bt", "the lady of the lake"
	register(t, base, email, password)

	// The whole browser part; each step below has a shorter deadline.
	bctx := startChromium(t, 45*time.Second, 1280, 1000)

	var log browserLog
	if err := chromedp.Listen(bctx, log.event); err != nil {
		t.Fatal(err)
	}
	watchTab(t, bctx, func(line string) {
		log.mu.Lock()
		log.console = append(log.console, line)
		log.mu.Unlock()
	})

	b := &browser{t: t, ctx: bctx, log: &log, shots: t.TempDir()}

	const op = "#operations-users-users_current_user"    // tag users, operationId users_current_user
	const live = op + " .live-responses-table .response" // not the documented answers' table
	b.do("open /docs", chromedp.Navigate(base+"/docs"), chromedp.WaitVisible(chromedp.CSS(".btn.authorize")), chromedp.WaitVisible(chromedp.CSS(op)))
	b.do("open Authorize", chromedp.Click(chromedp.CSS(".btn.authorize")), chromedp.WaitVisible(chromedp.CSS("#oauth_username")))
	b.do("fill in the password flow",
		chromedp.SendKeys(chromedp.CSS("#oauth_username"), email),
		chromedp.SendKeys(chromedp.CSS("#oauth_password"), password))
	b.do("authorize",
		chromedp.Click(chromedp.CSS(`button[aria-label="Apply given OAuth2 credentials"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.auth-container button[aria-label="Remove authorization"]`)))
	b.do("close the dialog", chromedp.Click(chromedp.CSS(".btn-done")), chromedp.WaitNotPresent(chromedp.CSS(".dialog-ux")))
	b.do("expand GET /users/me", chromedp.Click(chromedp.CSS(op+" .opblock-summary-control")), chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn")))
	b.do("Try it out", chromedp.Click(chromedp.CSS(op+" .try-out__btn")), chromedp.WaitVisible(chromedp.CSS(op+" .execute")))
	b.do("Execute", chromedp.Click(chromedp.CSS(op+" .execute")), chromedp.WaitVisible(chromedp.CSS(live+" .response-col_status")))

	status := inTab(b, "read the status", chromedp.Text(chromedp.CSS(live+" .response-col_status")))
	body := inTab(b, "read the body", chromedp.Text(chromedp.CSS(live+" .response-col_description pre")))
	curl := inTab(b, "read the curl line", chromedp.Text(chromedp.CSS(op+" .curl-command")))
	if strings.TrimSpace(status) != "200" || !strings.Contains(body, `"email": "`+email+`"`) {
		t.Errorf("GET /users/me in Swagger UI: status %q, body %s; want 200 with %s", status, body, email)
	}
	if !strings.Contains(curl, "Authorization: Bearer ey") {
		t.Errorf("the request did not carry the bearer token of the password flow:\n%s", curl)
	}

	png := inTab(b, "screenshot", chromedp.FullScreenshot(100)) // 100: PNG
	writeFile(t, filepath.Join(b.shots, "swagger-ui.png"), png)
	t.Logf("screenshot: %s", filepath.Join(b.shots, "swagger-ui.png"))
	if os.Getenv(updateScreenshotsEnv) == "1" {
		doc := inTab(b, "screenshot for the docs", docsScreenshot(op))
		writeFile(t, filepath.Join("..", "docs", "images", "swagger-ui.png"), doc)
		t.Logf("wrote docs/images/swagger-ui.png (%d bytes)", len(doc))
	}

	// The token stays in the page (persistAuthorization off).
	storage := inTab(b, "read the storage", chromedp.Evaluate[string](`JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])`))
	if strings.Contains(storage, "ey") || strings.Contains(storage, "authorized") || strings.Contains(storage, password) {
		t.Errorf("the token or the password is in the browser's storage: %s", storage)
	}

	violations := inTab(b, "read the CSP violations", chromedp.Evaluate[[]string](`window.__cspViolations`))
	requests, failed, errs, console := log.snapshot()
	if len(violations) != 0 {
		t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	if len(failed) != 0 || len(errs) != 0 || len(console) != 0 {
		t.Errorf("failed loads: %q\nHTTP errors: %q\nconsole warnings and errors: %q", failed, errs, console)
	}
	checkLoopbackOnly(t, requests)
	var pages []string
	for _, r := range requests {
		if !strings.HasPrefix(r, "data:") {
			pages = append(pages, strings.TrimPrefix(r, base))
		}
	}
	t.Logf("%d requests, all on the loopback: %d data: URLs and %q", len(requests), len(requests)-len(pages), pages)

	// The probe: a request to another origin (another port of the loopback)
	// is refused by connect-src 'self' and reported, so the checks above
	// would have seen a violation.
	probe := inTab(b, "probe the policy", chromedp.Evaluate[string](
		`fetch("http://127.0.0.1:9/csp-probe").then(() => "fetched", e => "refused: " + e.message)`, chromedp.EvalAwaitPromise))
	inTab(b, "wait for the probe's violation", chromedp.Poll[bool](`window.__cspViolations.length > 0`, chromedp.WithPollingInterval(50*time.Millisecond)))
	violations = inTab(b, "read the probe's violation", chromedp.Evaluate[[]string](`window.__cspViolations`))
	if !strings.HasPrefix(probe, "refused") || len(violations) != 1 || !strings.HasPrefix(violations[0], "connect-src blocked http://127.0.0.1:9/csp-probe") {
		t.Errorf("a fetch to another origin: %q, violations %q; want it refused by connect-src", probe, violations)
	}
}

// browser is the tab of TestDocsBrowser.
type browser struct {
	t     *testing.T
	ctx   context.Context // the tab's; no deadline of its own
	log   *browserLog
	shots string // directory of the screenshots
}

// inTab runs one step a with a deadline of 15 s, and fails the test with a
// screenshot and what the page logged when it fails.
func inTab[T any](b *browser, name string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.failShot()
		_, failed, errs, console := b.log.snapshot()
		b.t.Fatalf("step %q: %v\nfailed loads: %q\nHTTP errors: %q\nconsole: %q", name, err, failed, errs, console)
	}
	return v
}

// do runs actions as one step.
func (b *browser) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	inTab(b, name, chromedp.Steps(actions...))
}

// failShot saves what the page showed when a step failed.
func (b *browser) failShot() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	name := filepath.Join(b.shots, "failed.png")
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.WriteFile(name, png, 0o644) == nil {
		b.t.Logf("the page at the failure: %s", name)
	}
}

// register creates the account over HTTP, with a deadline.
func register(t *testing.T, base, email, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	body := fmt.Sprintf(`{"email": %q, "password": %q}`, email, password)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/register", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s = %d, want 201", email, resp.StatusCode)
	}
}

// checkLoopbackOnly fails the test for a request that left the loopback;
// data: and blob: URLs never leave the page.
func checkLoopbackOnly(t *testing.T, requests []string) {
	t.Helper()
	if len(requests) == 0 {
		t.Error("no request was recorded")
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("request to %q: %v", r, err)
			continue
		}
		switch u.Scheme {
		case "data", "blob":
			continue
		case "http":
			if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
				continue
			}
		}
		t.Errorf("request left the loopback: %s", r)
	}
}

// docsScreenshot is the picture in the README: the page from its top (the
// title and the Authorize button) down to the live answer of the operation
// op (not its documented answers below), 1280 pixels wide. The window is
// made that tall for the capture (a capture beyond the window sometimes
// caught the curl box repainting, empty).
func docsScreenshot(op string) chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		bottom, err := chromedp.Evaluate[float64](fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().bottom + window.scrollY + 4`, op+" .live-responses-table"))(ctx, tgt)
		if err != nil {
			return nil, err
		}
		height := int64(math.Ceil(bottom))
		if _, err := cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1280, Height: height, DeviceScaleFactor: 1}); err != nil {
			return nil, err
		}
		defer cdp.Call(ctx, tgt, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		// Two animation frames: the page has laid out and painted at the new size.
		if _, err := chromedp.Evaluate[bool](`window.scrollTo(0, 0), new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)(ctx, tgt); err != nil {
			return nil, err
		}
		res, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:      page.CaptureScreenshotFormatPng,
			FromSurface: new(true),
			Clip:        &page.Viewport{X: 0, Y: 0, Width: 1280, Height: float64(height), Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
