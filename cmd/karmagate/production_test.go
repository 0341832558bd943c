package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDeploy_GoingToProduction runs the README's "Going to production"
// commands as far as this machine allows: docker-compose config on the
// shipped compose file, nginx -t on the shipped nginx.conf with a
// self-signed certificate, and karmagate doctor against the sandbox, both
// with long polling and behind nginx with TLS (where nginx is installed;
// CI installs it and docker-compose, so there nothing is skipped).
func TestDeploy_GoingToProduction(t *testing.T) {
	t.Run("docker-compose config", func(t *testing.T) {
		bin := needTool(t, "docker-compose", "apt-get install -y --no-install-recommends docker-compose")
		example, err := os.ReadFile(envExamplePath)
		if err != nil {
			t.Fatal(err)
		}
		compose, err := filepath.Abs(composePath)
		if err != nil {
			t.Fatal(err)
		}
		env := mustReplace(t, string(example), "\nMARIADB_PASSWORD=\n", "\nMARIADB_PASSWORD=0123456789abcdef\n")
		env = mustReplace(t, env, "\nTELEGRAM_BOT_TOKEN=\n", "\nTELEGRAM_BOT_TOKEN=123456:ABCdef\n")
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(testContext(t), bin, "-f", compose, "--project-directory", dir, "config", "--quiet")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
		}
	})

	// The README runs one-off commands in the compose service (docker
	// compose run --rm karmagate userbot login, … doctor): that works only
	// while the image's entrypoint is the binary and the service sets no
	// command or entrypoint of its own, with the service's env file.
	t.Run("docker compose run karmagate COMMAND", func(t *testing.T) {
		dockerfile, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`ENTRYPOINT ["/usr/local/bin/karmagate"]`, `CMD ["serve"]`} {
			if !strings.Contains(string(dockerfile), want) {
				t.Errorf("the Dockerfile has no %s", want)
			}
		}
		raw, err := os.ReadFile(composePath)
		if err != nil {
			t.Fatal(err)
		}
		var compose struct {
			Services map[string]map[string]any `yaml:"services"`
		}
		if err := yaml.Unmarshal(raw, &compose); err != nil {
			t.Fatal(err)
		}
		kg, ok := compose.Services["karmagate"]
		if !ok {
			t.Fatal("docker-compose.yml has no karmagate service")
		}
		for _, key := range []string{"command", "entrypoint"} {
			if _, ok := kg[key]; ok {
				t.Errorf("the karmagate service sets %s: docker compose run karmagate doctor would not run the binary's doctor", key)
			}
		}
		if kg["env_file"] == nil {
			t.Error("the karmagate service reads no env file: a one-off command would run without the configuration")
		}
		readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"docker compose run --rm -it karmagate userbot login", "docker compose run --rm karmagate doctor"} {
			if !strings.Contains(string(readme), cmd) {
				t.Errorf("README does not say %q", cmd)
			}
		}
	})

	t.Run("nginx -t", func(t *testing.T) {
		bin := needTool(t, "nginx", "apt-get install -y nginx")
		ca := newTestCA(t)
		dir, conf := writeNginx(t, nginxSite{upstream: "127.0.0.1:9", http: freeAddr(t), https: freeAddr(t), certsDir: ca.certsDir, acmeDir: t.TempDir()})
		if out, err := nginxTest(t, bin, dir, conf); err != nil || !strings.Contains(out, "test is successful") {
			t.Fatalf("nginx -t: %v\n%s", err, out)
		}
	})

	t.Run("karmagate doctor, long polling", func(t *testing.T) {
		e := newE2E(t, false)
		if out, code := e.doctor(); code != 1 || !strings.Contains(out, "✗ database: no database at") || !strings.Contains(out, "karmagate migrate") {
			t.Fatalf("doctor before the database exists: exit %d\n%s", code, out)
		}
		e.serve()
		out, code := e.doctor()
		if code != 0 || len(redLines(t, out)) != 0 {
			t.Fatalf("doctor with serve running: exit %d\n%s", code, out)
		}
		for _, want := range []string{"✓ bot token", "✓ webhook: none", "✓ database", "✓ clock"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q\n%s", want, out)
			}
		}
	})

	t.Run("karmagate doctor behind nginx", func(t *testing.T) {
		f := behindNginx(t, "KARMAGATE_TRUSTED_PROXIES=127.0.0.1/32")
		e, hook, ca := f.e, f.hook, f.ca
		port := strings.TrimPrefix(f.public, "https://localhost:")
		e.serve()
		e.eventually("serve to set the webhook", func() bool {
			var info struct {
				Result struct {
					URL string `json:"url"`
				} `json:"result"`
			}
			e.do("GET", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/getWebhookInfo", "", nil, &info)
			return info.Result.URL == hook
		})
		// This host trusts the test CA as a production host trusts a
		// public one.
		trust := "SSL_CERT_FILE=" + filepath.Join(ca.certsDir, "fullchain.pem")
		out, code := e.doctor(trust)
		if code != 0 || len(redLines(t, out)) != 0 {
			t.Fatalf("doctor behind nginx: exit %d\n%s", code, out)
		}
		for _, want := range []string{"✓ webhook: Telegram delivers to " + hook + " without errors", "✓ TLS: https://localhost:" + port + " has a trusted certificate", "✓ proxy: X-Forwarded-For"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q\n%s", want, out)
			}
		}
		// Without the CA the certificate is a self-signed one: one red
		// line, saying so.
		out, code = e.doctor("SSL_CERT_FILE=/dev/null", "SSL_CERT_DIR=/nonexistent")
		if red := redLines(t, out); code != 1 || len(red) != 1 || !strings.Contains(red[0], "✗ TLS: the certificate of localhost:"+port+" is not trusted") {
			t.Fatalf("doctor with a certificate this host does not trust: exit %d, red %q\n%s", code, red, out)
		}
	})
}
