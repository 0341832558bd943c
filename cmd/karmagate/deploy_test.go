package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/botapi"
)

// The deployment files, from this package's folder.
var (
	nginxConfPath   = filepath.Join("..", "..", "deploy", "nginx.conf")
	envExamplePath  = filepath.Join("..", "..", "deploy", ".env.example")
	systemdUnitPath = filepath.Join("..", "..", "deploy", "karmagate.service")
	composePath     = filepath.Join("..", "..", "docker-compose.yml")
)

// needTool finds a program the deployment tests run (PATH, then the sbin
// folders a non-root PATH lacks). Missing, the test is skipped, except
// under CI, where it fails: .ci/run installs each with the apt line given.
func needTool(t *testing.T, name, apt string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is not installed: %s", name, apt)
	}
	t.Skipf("%s is not installed (%s); skipping", name, apt)
	return ""
}

// mustReplace replaces old in s, which must be there: a deployment file
// that no longer has the line a test substitutes fails the test instead of
// testing something else.
func mustReplace(t *testing.T, s, old, repl string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the file no longer contains %q", old)
	}
	return strings.ReplaceAll(s, old, repl)
}

// testCA is a throwaway certificate authority and a certificate it signed
// for localhost and 127.0.0.1, written as nginx reads them.
type testCA struct {
	pool     *x509.CertPool
	certsDir string // fullchain.pem and privkey.pem
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "karmagate test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "certs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(filepath.Join(dir, "fullchain.pem"), chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "privkey.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{pool: pool, certsDir: dir}
}

// client is an HTTPS client that trusts only this CA and follows no
// redirects.
func (ca *testCA) client() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// nginxSite is deploy/nginx.conf with what a test machine needs instead of
// a production host's: the upstream, loopback ports, the test
// certificates, and, with telegramOnly, the allowlist switched on.
type nginxSite struct {
	upstream     string // karmagate's address
	http, https  string // nginx's addresses (127.0.0.1:port)
	certsDir     string
	acmeDir      string
	telegramOnly bool
	adminOnly    bool // the dashboard's allow-list switched on
}

func (site nginxSite) render(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(nginxConfPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	s = mustReplace(t, s, "server karmagate:8080;", "server "+site.upstream+";")
	s = mustReplace(t, s, "listen 80;", "listen "+site.http+";")
	s = mustReplace(t, s, "listen 443 ssl;", "listen "+site.https+" ssl;")
	s = mustReplace(t, s, "/etc/nginx/certs/", site.certsDir+"/")
	s = mustReplace(t, s, "root /var/www/acme;", "root "+site.acmeDir+";")
	if site.telegramOnly {
		s = mustReplace(t, s, "#allow 149.154.160.0/20;", "allow 149.154.160.0/20;")
		s = mustReplace(t, s, "#allow 91.108.4.0/22;", "allow 91.108.4.0/22;")
		s = mustReplace(t, s, "#deny all;", "deny all;")
	}
	if site.adminOnly {
		s = mustReplace(t, s, "# allow 203.0.113.0/24;", "allow 203.0.113.0/24;")
		s = mustReplace(t, s, "# allow 2001:db8::/32;", "allow 2001:db8::/32;")
		s = mustReplace(t, s, "# deny  all;", "deny  all;")
	}
	return s
}

// nginxMainConf is what a distribution's nginx.conf gives the site file:
// the main and events contexts and an http block including it, here with
// every path inside dir.
func nginxMainConf(dir, siteFile string) string {
	var b strings.Builder
	b.WriteString("daemon off;\nworker_processes 1;\n")
	if os.Geteuid() == 0 {
		// Workers run as root only in this throwaway test: they write the
		// test's own temporary folder.
		b.WriteString("user root root;\n")
	}
	fmt.Fprintf(&b, "pid %s;\nerror_log %s info;\n", filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	b.WriteString("events { worker_connections 128; }\nhttp {\n")
	fmt.Fprintf(&b, "    access_log %s;\n", filepath.Join(dir, "access.log"))
	for _, temp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", temp, filepath.Join(dir, temp))
	}
	fmt.Fprintf(&b, "    include %s;\n}\n", siteFile)
	return b.String()
}

// writeNginx writes the site and the main configuration into a fresh
// folder and returns the main one.
func writeNginx(t *testing.T, site nginxSite) (dir, conf string) {
	t.Helper()
	dir = t.TempDir()
	siteFile := filepath.Join(dir, "karmagate.conf")
	if err := os.WriteFile(siteFile, []byte(site.render(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxMainConf(dir, siteFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

// nginxTest runs `nginx -t` on conf and returns its output.
func nginxTest(t *testing.T, bin, dir, conf string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startNginx runs nginx in the foreground until the test ends and waits
// until it answers on site.https.
func startNginx(t *testing.T, bin string, site nginxSite, ca *testCA) (dir string) {
	t.Helper()
	dir, conf := writeNginx(t, site)
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown: the workers go with the master
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("nginx did not stop")
		}
	})
	client := ca.client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		res, err := client.Get("https://" + site.https + "/healthz")
		if err == nil {
			res.Body.Close()
			return dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer on %s: %v\n%s", site.https, err, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestDeploy_NginxConfig checks deploy/nginx.conf with `nginx -t`, as it
// ships and with Telegram's addresses switched on, with a test machine's
// paths and ports in place of a production host's.
func TestDeploy_NginxConfig(t *testing.T) {
	bin := needTool(t, "nginx", "apt-get install -y nginx")
	ca := newTestCA(t)
	for _, v := range []struct {
		name                    string
		telegramOnly, adminOnly bool
	}{{"as shipped", false, false}, {"only Telegram's addresses on the webhook", true, false}, {"the dashboard's allow-list on", false, true}} {
		t.Run(v.name, func(t *testing.T) {
			site := nginxSite{upstream: "127.0.0.1:9", http: freeAddr(t), https: freeAddr(t), certsDir: ca.certsDir, acmeDir: t.TempDir(), telegramOnly: v.telegramOnly, adminOnly: v.adminOnly}
			dir, conf := writeNginx(t, site)
			out, err := nginxTest(t, bin, dir, conf)
			if err != nil {
				t.Fatalf("nginx -t: %v\n%s", err, out)
			}
			if !strings.Contains(out, "test is successful") {
				t.Fatalf("nginx -t did not say the test is successful:\n%s", out)
			}
			if strings.Contains(out, "[warn]") || strings.Contains(out, "[emerg]") {
				t.Errorf("nginx -t warned:\n%s", out)
			}
		})
	}
	t.Run("Telegram's ranges", func(t *testing.T) {
		raw, err := os.ReadFile(nginxConfPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"149.154.160.0/20", "91.108.4.0/22"} {
			if !strings.Contains(string(raw), r) {
				t.Errorf("deploy/nginx.conf does not name Telegram's range %s", r)
			}
		}
	})
}

// startSandboxTrusting runs the sandbox in this process with webhook
// deliveries that trust roots (as Telegram trusts a public CA), and writes
// the env file `karmagate sandbox` would into a fresh folder.
func startSandboxTrusting(t *testing.T, roots *x509.CertPool) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	sb, err := sandbox.Start(ctx, sandbox.Config{NoMTProto: true, BotAPI: botapi.Options{HTTPClient: client, WebhookRetryMin: 100 * time.Millisecond}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := sb.Close(); err != nil {
			t.Errorf("close sandbox: %v", err)
		}
	})
	envFile := filepath.Join(t.TempDir(), "sandbox.env")
	dev, err := newDevDefaults(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte(sb.EnvFile()+dev.envFile()), 0o600); err != nil {
		t.Fatal(err)
	}
	return envFile
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, client *http.Client, method, rawURL string, header http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// nginxFront is Debian's nginx with deploy/nginx.conf and TLS (a test
// CA's certificate) in front of a webhook-mode karmagate.
type nginxFront struct {
	e      *e2e   // karmagate, not yet serving
	dir    string // nginx's directory
	site   nginxSite
	ca     *testCA
	hook   string // the webhook URL through nginx
	public string // https://localhost:port
}

// behindNginx starts nginx in front of a karmagate on a sandbox that
// trusts the test CA, env added to karmagate's environment.
func behindNginx(t *testing.T, env ...string) nginxFront {
	t.Helper()
	bin := needTool(t, "nginx", "apt-get install -y nginx")
	f := nginxFront{ca: newTestCA(t)}
	envFile := startSandboxTrusting(t, f.ca.pool)
	f.site = nginxSite{http: freeAddr(t), https: freeAddr(t), certsDir: f.ca.certsDir, acmeDir: t.TempDir()}
	_, port, err := net.SplitHostPort(f.site.https)
	if err != nil {
		t.Fatal(err)
	}
	f.public = "https://localhost:" + port
	f.hook = f.public + "/telegram/webhook"
	f.e = newE2EFromEnvFile(t, envFile, append([]string{"KARMAGATE_WEBHOOK_URL=" + f.hook}, env...)...)
	f.site.upstream = f.e.listen
	f.dir = startNginx(t, bin, f.site, f.ca)
	return f
}

// TestDeploy_NginxWebhook runs Debian's nginx with deploy/nginx.conf and
// TLS in front of karmagate in webhook mode: the sandbox delivers every
// update through nginx while the README's story plays (a group bound with
// /bind, a member linked with /start, a join request approved and a
// stranger's declined); then the API and the dashboard answer through
// nginx, an oversized webhook body is refused there, and /metrics is not
// served there whatever the path's disguise.
func TestDeploy_NginxWebhook(t *testing.T) {
	f := behindNginx(t)
	e, ngxDir, site, hook, public, ca := f.e, f.dir, f.site, f.hook, f.public, f.ca
	e.serve()
	client := ca.client()

	chat, person := e.story("alice")

	t.Run("updates came through nginx", func(t *testing.T) {
		var info struct {
			OK     bool `json:"ok"`
			Result struct {
				URL                string `json:"url"`
				PendingUpdateCount int    `json:"pending_update_count"`
				LastErrorMessage   string `json:"last_error_message"`
			} `json:"result"`
		}
		e.do("GET", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/getWebhookInfo", "", nil, &info)
		if !info.OK || info.Result.URL != hook {
			t.Fatalf("getWebhookInfo: %+v; want the webhook at %s", info, hook)
		}
		if info.Result.LastErrorMessage != "" {
			t.Errorf("a delivery through nginx failed: %s", info.Result.LastErrorMessage)
		}
		e.eventually("every update delivered", func() bool {
			e.do("GET", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/getWebhookInfo", "", nil, &info)
			return info.Result.PendingUpdateCount == 0
		})
		log, err := os.ReadFile(filepath.Join(ngxDir, "access.log"))
		if err != nil {
			t.Fatal(err)
		}
		// /bind, the bot made admin, /start, two join requests, the member joining.
		delivered := regexp.MustCompile(`"POST /telegram/webhook HTTP/1\.1" 200 `).FindAll(log, -1)
		if len(delivered) < 5 {
			t.Errorf("nginx logged %d webhook deliveries answered 200, want at least 5:\n%s", len(delivered), log)
		}
		if got := e.members(chat)[person]; got != "member" {
			t.Errorf("the member is %q in the chat, want member", got)
		}
	})

	auth := http.Header{"Authorization": {"Bearer " + e.vars["KARMAGATE_API_KEY"]}}
	t.Run("API through nginx", func(t *testing.T) {
		// The join the sandbox shows reaches karmagate as a chat_member
		// update, through nginx, and is processed after it is stored.
		waitFor(t, "alice a member of webmasters-pro, read through nginx", func() bool {
			res := fetch(t, client, "GET", public+"/api/v1/members/alice", auth, nil)
			if res.status != 200 {
				t.Fatalf("GET member through nginx: %d %s", res.status, res.body)
			}
			var m apiMember
			if err := json.Unmarshal([]byte(res.body), &m); err != nil {
				t.Fatal(err)
			}
			return m.chat("webmasters-pro").State == "member"
		})
		if res := fetch(t, client, "GET", public+"/api/v1/members/alice", nil, nil); res.status != 401 {
			t.Errorf("without the key through nginx: %d, want 401", res.status)
		}
		big := strings.Repeat("x", 2<<20)
		res := fetch(t, client, "PUT", public+"/api/v1/members/bob", http.Header{"Authorization": auth["Authorization"], "Content-Type": {"application/json"}}, strings.NewReader(big))
		if res.status != 413 {
			t.Errorf("a 2 MiB PUT through nginx: %d, want 413", res.status)
		}
	})

	t.Run("dashboard through nginx", func(t *testing.T) {
		form := url.Values{"secret": {e.vars["KARMAGATE_API_KEY"]}, "next": {"/admin/"}}
		res := fetch(t, client, "POST", public+"/admin/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
		if res.status != http.StatusSeeOther {
			t.Fatalf("sign-in through nginx: %d %s", res.status, res.body)
		}
		cookie := res.header.Get("Set-Cookie")
		// Behind TLS the session cookie must be Secure with the __Host-
		// prefix: karmagate sees the proxy's X-Forwarded-Proto.
		if !strings.HasPrefix(cookie, "__Host-") || !strings.Contains(cookie, "Secure") {
			t.Fatalf("session cookie through nginx: %q; want __Host- and Secure", cookie)
		}
		name, value, _ := strings.Cut(strings.Split(cookie, ";")[0], "=")
		res = fetch(t, client, "GET", public+"/admin/", http.Header{"Cookie": {name + "=" + value}}, nil)
		if res.status != 200 || !strings.Contains(res.body, "Webmasters Pro") {
			t.Errorf("overview through nginx: %d, Webmasters Pro shown: %v", res.status, strings.Contains(res.body, "Webmasters Pro"))
		}
	})

	t.Run("the door's Mini App through nginx", func(t *testing.T) {
		res := fetch(t, client, "GET", public+"/app/join?chat=webmasters-pro", nil, nil)
		if res.status != 200 || !strings.Contains(res.body, "telegram-web-app.js") {
			t.Errorf("the Mini App's page through nginx: %d\n%s", res.status, res.body)
		}
		res = fetch(t, client, "POST", public+"/app/join/session", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader("chat=webmasters-pro&init_data=hash%3D00"))
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, `data-problem="malformed"`) {
			t.Errorf("a bad session through nginx: %d\n%s", res.status, res.body)
		}
	})

	t.Run("oversized webhook body refused by nginx", func(t *testing.T) {
		header := http.Header{"Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {"whatever"}}
		res := fetch(t, client, "POST", hook, header, bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)))
		if res.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 2 MiB webhook body: %d, want 413", res.status)
		}
		// nginx's own page, not karmagate's problem+json: it never got there.
		if !strings.Contains(res.body, "<center>nginx</center>") {
			t.Errorf("the 413 did not come from nginx: %s %q", res.header.Get("Content-Type"), res.body)
		}
		// Small enough, but without Telegram's secret: karmagate refuses it.
		res = fetch(t, client, "POST", hook, header, strings.NewReader(`{"update_id": 1}`))
		if res.status != http.StatusUnauthorized {
			t.Errorf("a webhook post with a wrong secret through nginx: %d, want 401", res.status)
		}
	})

	t.Run("metrics not served through nginx", func(t *testing.T) {
		// karmagate itself serves them, so the test would see a leak.
		if res := fetch(t, http.DefaultClient, "GET", "http://"+e.listen+"/metrics", nil, nil); res.status != 200 || !strings.Contains(res.body, "# HELP") {
			t.Fatalf("karmagate's own /metrics: %d", res.status)
		}
		for _, path := range []string{"/metrics", "/metrics?x=1", "//metrics", "/api/../metrics", "/admin/..%2fmetrics", "/api/%2e%2e/metrics", "/METRICS"} {
			res := fetch(t, client, "GET", public+path, nil, nil)
			if res.status == 200 || strings.Contains(res.body, "# HELP") {
				t.Errorf("GET %s through nginx: %d, metrics shown: %v", path, res.status, strings.Contains(res.body, "# HELP"))
			}
		}
		if res := fetch(t, client, "GET", public+"/healthz", nil, nil); res.status != 200 || !strings.Contains(res.body, `"ok"`) {
			t.Errorf("/healthz through nginx: %d %s", res.status, res.body)
		}
	})

	t.Run("plain HTTP redirected", func(t *testing.T) {
		res := fetch(t, client, "GET", "http://"+site.http+"/admin/", nil, nil)
		if res.status != http.StatusMovedPermanently || !strings.HasPrefix(res.header.Get("Location"), "https://") {
			t.Errorf("http://…/admin/: %d to %q; want 301 to https", res.status, res.header.Get("Location"))
		}
	})
}

// TestDeploy_NginxTelegramOnly switches on the allowlist in
// deploy/nginx.conf: a webhook post from this machine (not Telegram's
// addresses) is refused by nginx, while the rest of the site still answers.
func TestDeploy_NginxTelegramOnly(t *testing.T) {
	bin := needTool(t, "nginx", "apt-get install -y nginx")
	ca := newTestCA(t)
	upstream := httpStub(t)
	site := nginxSite{upstream: upstream, http: freeAddr(t), https: freeAddr(t), certsDir: ca.certsDir, acmeDir: t.TempDir(), telegramOnly: true}
	startNginx(t, bin, site, ca)
	client := ca.client()
	res := fetch(t, client, "POST", "https://"+site.https+"/telegram/webhook", http.Header{"Content-Type": {"application/json"}}, strings.NewReader(`{"update_id": 1}`))
	if res.status != http.StatusForbidden {
		t.Errorf("a webhook post from 127.0.0.1 with only Telegram's addresses allowed: %d, want 403", res.status)
	}
	if res := fetch(t, client, "GET", "https://"+site.https+"/healthz", nil, nil); res.status != 200 {
		t.Errorf("/healthz with the allowlist on: %d, want 200 from the upstream", res.status)
	}
}

// TestDeploy_NginxAdmin: nginx answers 429 itself to a burst of sign-in
// attempts on /admin/login, before they reach karmagate, while the rest of
// the site still answers; with the allow-list example switched on, the
// dashboard is closed to addresses outside it (here 127.0.0.1) and the API
// is not.
func TestDeploy_NginxAdmin(t *testing.T) {
	bin := needTool(t, "nginx", "apt-get install -y nginx")
	ca := newTestCA(t)
	upstream := httpStub(t)
	t.Run("sign-in attempts are limited", func(t *testing.T) {
		site := nginxSite{upstream: upstream, http: freeAddr(t), https: freeAddr(t), certsDir: ca.certsDir, acmeDir: t.TempDir()}
		startNginx(t, bin, site, ca)
		client := ca.client()
		limited := 0
		for range 20 {
			res := fetch(t, client, "POST", "https://"+site.https+"/admin/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader("name=ops&password=guess"))
			if res.status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited < 10 {
			t.Errorf("20 sign-in attempts at once: %d answered 429 by nginx, want most of them", limited)
		}
		if res := fetch(t, client, "GET", "https://"+site.https+"/api/v1", nil, nil); res.status != 200 {
			t.Errorf("the API after the burst: %d, want 200", res.status)
		}
	})
	t.Run("the allow-list example closes the dashboard", func(t *testing.T) {
		site := nginxSite{upstream: upstream, http: freeAddr(t), https: freeAddr(t), certsDir: ca.certsDir, acmeDir: t.TempDir(), adminOnly: true}
		startNginx(t, bin, site, ca)
		client := ca.client()
		for _, path := range []string{"/admin", "/admin/", "/admin/login"} {
			if res := fetch(t, client, "GET", "https://"+site.https+path, nil, nil); res.status != http.StatusForbidden {
				t.Errorf("GET %s from outside the allow-list: %d, want 403", path, res.status)
			}
		}
		if res := fetch(t, client, "GET", "https://"+site.https+"/api/v1", nil, nil); res.status != 200 {
			t.Errorf("the API with the dashboard closed: %d, want 200", res.status)
		}
	})
}

// httpStub is an upstream that answers 200 to everything: nginx's own
// decisions are what is tested.
func httpStub(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestDeploy_Compose validates docker-compose.yml with Debian's
// docker-compose (`config` parses and resolves the file; no engine is
// needed) against an .env made from deploy/.env.example, and checks what
// the file promises: a healthy database before karmagate, karmagate's port
// (with /metrics) published nowhere, nginx on 443 with the site and the
// certificates mounted.
func TestDeploy_Compose(t *testing.T) {
	bin := needTool(t, "docker-compose", "apt-get install -y --no-install-recommends docker-compose")
	example, err := os.ReadFile(envExamplePath)
	if err != nil {
		t.Fatal(err)
	}
	compose, err := filepath.Abs(composePath)
	if err != nil {
		t.Fatal(err)
	}
	config := func(t *testing.T, env string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(testContext(t), bin, "-f", compose, "--project-directory", dir, "config")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return stderr.String(), err
		}
		return string(out), nil
	}

	t.Run("the example as it is", func(t *testing.T) {
		out, err := config(t, string(example))
		if err == nil {
			t.Fatalf("docker-compose config passed with no MariaDB password:\n%s", out)
		}
		if !strings.Contains(out, "set MARIADB_PASSWORD in .env") {
			t.Errorf("the error does not say what to set: %s", out)
		}
	})

	t.Run("filled in", func(t *testing.T) {
		env := string(example)
		env = mustReplace(t, env, "\nMARIADB_PASSWORD=\n", "\nMARIADB_PASSWORD=0123456789abcdef\n")
		env = mustReplace(t, env, "\nTELEGRAM_BOT_TOKEN=\n", "\nTELEGRAM_BOT_TOKEN=123456:ABCdef\n")
		env = mustReplace(t, env, "\n#KARMAGATE_ADMIN_USERS='ops:$2y$05$...'\n", "\nKARMAGATE_ADMIN_USERS='ops:$2y$05$abcdefghijklmnopqrstuv'\n")
		out, err := config(t, env)
		if err != nil {
			t.Fatalf("docker-compose config: %v\n%s", err, out)
		}
		var cfg struct {
			Services map[string]struct {
				Image       string            `yaml:"image"`
				Environment map[string]string `yaml:"environment"`
				DependsOn   map[string]struct {
					Condition string `yaml:"condition"`
				} `yaml:"depends_on"`
				Ports       []any    `yaml:"ports"`
				Volumes     []string `yaml:"volumes"`
				ReadOnly    bool     `yaml:"read_only"`
				CapDrop     []string `yaml:"cap_drop"`
				CapAdd      []string `yaml:"cap_add"`
				SecurityOpt []string `yaml:"security_opt"`
				Healthcheck *struct {
					Test []string `yaml:"test"`
				} `yaml:"healthcheck"`
			} `yaml:"services"`
			Volumes map[string]any `yaml:"volumes"`
		}
		if err := yaml.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("the resolved file: %v\n%s", err, out)
		}
		db, kg, ngx := cfg.Services["db"], cfg.Services["karmagate"], cfg.Services["nginx"]
		if db.Healthcheck == nil || len(db.Healthcheck.Test) == 0 {
			t.Errorf("db has no healthcheck")
		}
		if !strings.HasPrefix(db.Image, "mariadb:") || !slices.ContainsFunc(db.Volumes, func(v string) bool { return strings.HasPrefix(v, "db:/var/lib/mysql") }) {
			t.Errorf("db: image %q, volumes %v; want MariaDB with its data in the volume db", db.Image, db.Volumes)
		}
		if _, ok := cfg.Volumes["db"]; !ok {
			t.Errorf("no volume db declared")
		}
		if kg.DependsOn["db"].Condition != "service_healthy" {
			t.Errorf("karmagate depends on db with %q, want service_healthy", kg.DependsOn["db"].Condition)
		}
		if want := "mysql:karmagate:0123456789abcdef@tcp(db:3306)/karmagate"; kg.Environment["KARMAGATE_DB"] != want {
			t.Errorf("KARMAGATE_DB = %q, want %q", kg.Environment["KARMAGATE_DB"], want)
		}
		if u := kg.Environment["KARMAGATE_WEBHOOK_URL"]; !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/telegram/webhook") {
			t.Errorf("KARMAGATE_WEBHOOK_URL = %q; want the public https URL of nginx's webhook location", u)
		}
		if kg.Environment["TELEGRAM_BOT_TOKEN"] != "123456:ABCdef" {
			t.Errorf("the .env did not reach karmagate: TELEGRAM_BOT_TOKEN = %q", kg.Environment["TELEGRAM_BOT_TOKEN"])
		}
		// A bcrypt hash in single quotes is taken as written ($$ is how
		// config prints a literal $).
		if got := strings.ReplaceAll(kg.Environment["KARMAGATE_ADMIN_USERS"], "$$", "$"); got != "ops:$2y$05$abcdefghijklmnopqrstuv" {
			t.Errorf("KARMAGATE_ADMIN_USERS = %q; the hash was interpolated", got)
		}
		if len(kg.Ports) != 0 {
			t.Errorf("karmagate publishes %v: its /metrics would be public", kg.Ports)
		}
		for _, want := range []string{"/etc/nginx/conf.d/default.conf:ro", "/etc/nginx/certs:ro"} {
			if !slices.ContainsFunc(ngx.Volumes, func(v string) bool { return strings.HasSuffix(v, want) }) {
				t.Errorf("nginx mounts %v, want one ending %s", ngx.Volumes, want)
			}
		}
		if !strings.Contains(fmt.Sprint(ngx.Ports), "443") {
			t.Errorf("nginx publishes %v, want 443", ngx.Ports)
		}
		// Hardening: read-only root file systems, no capabilities karmagate
		// does not need (none) and only nginx's few, no privilege gained.
		for name, svc := range map[string]struct {
			readOnly              bool
			capDrop, secOpt, caps []string
		}{
			"karmagate": {kg.ReadOnly, kg.CapDrop, kg.SecurityOpt, kg.CapAdd},
			"nginx":     {ngx.ReadOnly, ngx.CapDrop, ngx.SecurityOpt, ngx.CapAdd},
		} {
			if !svc.readOnly {
				t.Errorf("%s: read_only is not set", name)
			}
			if !slices.Contains(svc.capDrop, "ALL") {
				t.Errorf("%s: cap_drop = %v, want ALL", name, svc.capDrop)
			}
			if !slices.Contains(svc.secOpt, "no-new-privileges:true") {
				t.Errorf("%s: security_opt = %v, want no-new-privileges:true", name, svc.secOpt)
			}
			for _, c := range svc.caps {
				if !slices.Contains([]string{"CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"}, c) || name == "karmagate" {
					t.Errorf("%s: cap_add %s", name, c)
				}
			}
		}
		if !slices.Contains(db.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("db: security_opt = %v, want no-new-privileges:true", db.SecurityOpt)
		}
	})
}

// TestDeploy_SystemdUnit checks deploy/karmagate.service with
// `systemd-analyze verify` (with this test binary standing in for
// /usr/local/bin/karmagate): a key systemd does not know, or a value it
// cannot parse, is a warning there and a failure here.
func TestDeploy_SystemdUnit(t *testing.T) {
	bin := needTool(t, "systemd-analyze", "apt-get install -y systemd")
	raw, err := os.ReadFile(systemdUnitPath)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := mustReplace(t, string(raw), "ExecStart=/usr/local/bin/karmagate serve", "ExecStart="+exe+" serve")
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=karmagate", "EnvironmentFile=/etc/karmagate/karmagate.env", "ProtectSystem=strict", "NoNewPrivileges=yes"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("the unit does not set %s", want)
		}
	}
	file := filepath.Join(t.TempDir(), "karmagate.service")
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testContext(t), bin, "verify", file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify warned:\n%s", out)
	}
}

// TestDeploy_Dockerfile reads the Dockerfile for what it promises (no
// container engine runs in CI to build it): the Go of go.mod, a static
// binary with the version stamped in, a distroless final stage run by a
// non-root user, and a build context that keeps what the build needs.
func TestDeploy_Dockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(raw)
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		re   string
	}{
		{"Go of go.mod", `(?m)^ARG GO_VERSION=` + regexp.QuoteMeta(string(goVersion[1])) + `$`},
		{"static binary", `CGO_ENABLED=0`},
		{"trimpath", `go build -trimpath `},
		{"version stamped", `-X main\.version=\$\{VERSION\}`},
		{"distroless final stage", `(?m)^FROM gcr\.io/distroless/static[^ ]*$`},
		{"non-root user", `(?m)^USER 65532:65532$`},
		{"serve by default", `(?m)^CMD \["serve"\]$`},
		{"listens beyond loopback in the container", `KARMAGATE_LISTEN=0\.0\.0\.0:8080`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(tt.re).MatchString(dockerfile) {
				t.Errorf("the Dockerfile does not match %s", tt.re)
			}
		})
	}
	t.Run("build context", func(t *testing.T) {
		for _, line := range strings.Split(string(ignore), "\n") {
			line = strings.TrimSpace(line)
			for _, needed := range []string{"go.mod", "go.sum", "cmd", "sandbox", "models", "dashboard"} {
				if strings.TrimPrefix(line, "/") == needed {
					t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
				}
			}
		}
	})
}
