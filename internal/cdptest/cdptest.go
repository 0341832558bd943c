// Package cdptest drives headless Chromium over the Chrome DevTools
// Protocol for browser tests: open a tab, navigate, wait for loads,
// evaluate JavaScript, click, set cookies, take screenshots. (The same
// small client as the dashboard's test, shared for the end-to-end tests
// of cmd/karmagate.)
package cdptest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chromiumFlags are what headless Chromium needs on a machine without a
// network, a GPU or a sandbox.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
	"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
}

// Find returns the browser to run: $KARMAGATE_CHROMIUM, or
// chromium or chromium-browser on the PATH.
func Find() string {
	if p := os.Getenv("KARMAGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Browser is a running Chromium with one tab attached.
type Browser struct {
	T       testing.TB
	cmd     *exec.Cmd
	conn    *websocket.Conn
	session string
	stderr  *bytes.Buffer

	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan cdpMessage
	events  chan cdpMessage
	closed  chan struct{}
}

// Start runs Chromium with a fresh profile and opens a tab of
// width by height CSS pixels.
func Start(t testing.TB, bin string, width, height int) *Browser {
	t.Helper()
	dir := t.TempDir()
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+dir, fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	b := &Browser{T: t, stderr: &bytes.Buffer{}, waiting: map[int64]chan cdpMessage{}, events: make(chan cdpMessage, 256), closed: make(chan struct{})}
	b.cmd = exec.Command(bin, args...)
	b.cmd.Stderr = &lockedWriter{w: b.stderr}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.Close(websocket.StatusNormalClosure, "")
		}
		b.cmd.Process.Kill()
		b.cmd.Wait()
	})
	// Chromium writes its DevTools port and path to the profile once it
	// listens.
	var port, path string
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if err == nil {
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			if len(lines) == 2 {
				port, path = lines[0], lines[1]
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not open its DevTools port within a minute; its output:\n%s", b.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+port+path, nil)
	if err != nil {
		t.Fatalf("connect to Chromium: %v", err)
	}
	conn.SetReadLimit(256 << 20) // full-page screenshots are large
	b.conn = conn
	go b.read()

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.callTo("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.callTo("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.Call("Page.enable", nil, nil)
	b.Call("Runtime.enable", nil, nil)
	b.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	return b
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (b *Browser) read() {
	defer close(b.closed)
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody waits for this many events
		}
	}
}

// Call sends a command to the tab and decodes its result into out.
func (b *Browser) Call(method string, params, out any) {
	b.T.Helper()
	b.callTo(b.session, method, params, out)
}

func (b *Browser) callTo(session, method string, params, out any) {
	b.T.Helper()
	if err := b.try(session, method, params, out); err != nil {
		b.T.Fatal(err)
	}
}

func (b *Browser) try(session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, raw); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				return fmt.Errorf("%s: decode result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer within a minute", method)
	case <-b.closed:
		return fmt.Errorf("%s: Chromium closed the connection", method)
	}
}

// Drain forgets the events received so far.
func (b *Browser) Drain() {
	for {
		select {
		case <-b.events:
		default:
			return
		}
	}
}

// WaitLoad waits for the tab's next load event.
func (b *Browser) WaitLoad() {
	b.T.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-b.events:
			if m.Method == "Page.loadEventFired" && m.SessionID == b.session {
				return
			}
		case <-timeout:
			b.T.Fatal("the page did not finish loading within 30s")
		}
	}
}

// Navigate opens url in the tab and waits until it has loaded.
func (b *Browser) Navigate(url string) {
	b.T.Helper()
	b.Drain()
	var res struct {
		ErrorText string `json:"errorText"`
	}
	b.Call("Page.navigate", map[string]any{"url": url}, &res)
	if res.ErrorText != "" {
		b.T.Fatalf("navigate to %s: %s", url, res.ErrorText)
	}
	b.WaitLoad()
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into out.
func (b *Browser) Eval(expr string, out any) {
	b.T.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.ExceptionDetails != nil {
		b.T.Fatalf("evaluate %s: %s %s", expr, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			b.T.Fatalf("evaluate %s: decode %s: %v", expr, res.Result.Value, err)
		}
	}
}

// Text returns the trimmed text of the first element matching a CSS
// selector, failing the test when there is none.
func (b *Browser) Text(selector string) string {
	b.T.Helper()
	var out *string
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.trim() : null })()`, selector), &out)
	if out == nil {
		var path string
		b.Eval("location.pathname + location.search", &path)
		b.T.Fatalf("no element %s on %s", selector, path)
	}
	return *out
}

// Submit clicks a form's submit button and waits for the page it leads
// to.
func (b *Browser) Submit(formSelector string) {
	b.T.Helper()
	b.Drain()
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const f = document.querySelector(%q); if (!f) return false; f.requestSubmit(); return true })()`, formSelector), &ok)
	if !ok {
		b.T.Fatalf("no form %s", formSelector)
	}
	b.WaitLoad()
}

// Screenshot saves the whole page as a PNG.
func (b *Browser) Screenshot(path string) {
	b.T.Helper()
	var metrics struct {
		CSSContentSize struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	b.Call("Page.getLayoutMetrics", nil, &metrics)
	var shot struct {
		Data string `json:"data"`
	}
	b.Call("Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": metrics.CSSContentSize.Width, "height": metrics.CSSContentSize.Height, "scale": 1},
	}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		b.T.Fatalf("decode screenshot: %v", err)
	}
	if len(png) < 1000 {
		b.T.Fatalf("screenshot of %d bytes", len(png))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.T.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.T.Fatal(err)
	}
}

// Click clicks the first element matching a CSS selector and waits for
// the page it leads to.
func (b *Browser) Click(selector string) {
	b.T.Helper()
	b.Drain()
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, selector), &ok)
	if !ok {
		b.T.Fatalf("nothing to click at %s", selector)
	}
	b.WaitLoad()
}

// SetCookie sets a cookie in the browser for url.
func (b *Browser) SetCookie(url, name, value string) {
	b.T.Helper()
	b.Call("Network.setCookie", map[string]any{"url": url, "name": name, "value": value, "path": "/"}, nil)
}

// Location is the page's URL.
func (b *Browser) Location() string {
	b.T.Helper()
	var href string
	b.Eval("location.href", &href)
	return href
}
