package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// startChromium starts headless Chromium for the test and returns the
// context of its first tab. The browser lives until timeout, or the end of
// the test; it must start within 30 s. It reaches only the loopback: no
// name resolves but localhost (a test uses it as a second site) and
// app.test (127.0.0.1 under a name that is not a secure context, as a
// development host on the LAN is), and no address but 127.0.0.1 is
// dialled, so a request for another host (a CDN, say) fails at once
// instead of reaching the network.
func startChromium(t *testing.T, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%v: this test needs Chromium; install Debian's chromium package (apt-get install chromium), as .ci/run does", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		// CI runs in containers, often as root, where Chromium's sandbox
		// cannot start. The pages are our own, on the loopback.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("host-resolver-rules", "MAP app.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	// The first Do binds the browser's life to bctx, so it gets no deadline
	// of its own: the wait below bounds the start.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", chromiumPath, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30 s", chromiumPath)
	}
	return bctx
}

// cspListener runs in every page before its own content (injected over the
// DevTools protocol, so the page's policy does not apply to it) and records
// every violation of the Content-Security-Policy in
// window.__cspViolations.
const cspListener = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.effectiveDirective + " blocked " + e.blockedURI + " (" + e.sourceFile + ":" + e.lineNumber + ")");
});`

// watchTab makes the tab of ctx report its console errors and warnings and
// its uncaught exceptions to add, and record its pages' CSP violations
// (cspListener).
func watchTab(t *testing.T, ctx context.Context, add func(string)) {
	t.Helper()
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				add(fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
			}
		}
	}()
	listen, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(listen, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener})
		return err
	})); err != nil {
		t.Fatalf("add the CSP listener: %v", err)
	}
}
