package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2E_DatabaseRestart: karmagate serve on a MariaDB server of the
// test's own (its own datadir, port and socket, so that a shared server
// is untouched). The server is stopped in the middle of a backlog of
// removals, while people keep asking to join: karmagate stays up, /healthz
// answers 503 naming the database, its loops back off and say so once.
// The server starts again and everything converges without restarting
// karmagate: the removals done, the strangers' requests declined, nobody
// ineligible in the chat, nothing done twice. In polling mode the poller
// stops acknowledging updates (and, its lease run out, polls again once
// elected again); in webhook mode a delivery that cannot be stored is
// answered 503 and Telegram delivers it again.
func TestE2E_DatabaseRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a MariaDB server of its own")
	}
	m := startMariaDB(t)
	for i, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			spec := m.createDatabase(fmt.Sprintf("karmagate%d", i))
			dbRestart(t, m, spec, mode == "webhook")
		})
	}
}

func dbRestart(t *testing.T, m *mariadb, spec string, webhook bool) {
	e := newE2E(t, webhook, "KARMAGATE_DB="+spec)
	e.serve()
	f := newFleet(t, spec, e)
	const n, drop = 200, 100
	f.bind()
	f.linkAll(n)
	f.joinAll()
	f.waitFor("all in the chat", 5*time.Minute, func() bool { return f.inChat() == n })

	// The removals are queued; the database goes away while the workers
	// are at them.
	f.setKarma(f.ids[:drop], 10)
	f.waitFor("the first removals", time.Minute, func() bool { return f.inChat() < n })
	stopped := time.Now()
	m.stop()
	t.Logf("MariaDB stopped with %d of %d removals done", n-f.inChat(), drop)

	var health struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	f.waitFor("/healthz to answer 503", time.Minute, func() bool {
		res, err := http.Get("http://" + e.listen + "/healthz")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable && json.NewDecoder(res.Body).Decode(&health) == nil
	})
	if health.Status != "unavailable" || health.Error != "database unreachable" {
		t.Errorf("/healthz during the outage: %+v, want status unavailable and error \"database unreachable\"", health)
	}
	// Strangers ask to join while nothing can be stored: Telegram keeps
	// their requests (getUpdates' offset does not move past them).
	var strangers []int64
	for i := range 10 {
		strangers = append(strangers, e.user(fmt.Sprintf("Stranger%d", i)))
	}
	for _, s := range strangers {
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", s), map[string]any{"invite_link": f.link}, nil)
	}
	// An outage longer than the poller lease (15 s): the poller stops,
	// and polls again once it is elected again.
	time.Sleep(time.Until(stopped.Add(20 * time.Second)))
	select {
	case err := <-e.exited:
		t.Fatalf("serve died while the database was away: %v\n%s", err, tail(e.logs.String(), 80))
	default:
	}
	if st, err := callJSON("GET", "http://"+e.listen+"/api/v1/members/"+f.ids[0], e.vars["KARMAGATE_API_KEY"], nil, nil); st != http.StatusServiceUnavailable {
		t.Errorf("a read during the outage answered %d (%v), want 503", st, err)
	}
	if webhook {
		// A delivery (as Telegram posts it) that cannot be stored: 503, so
		// that Telegram, or a load balancer, tries again.
		body := fmt.Sprintf(`{"update_id":999999,"message":{"message_id":1,"date":%d,"chat":{"id":1,"type":"private","first_name":"X"},"from":{"id":1,"is_bot":false,"first_name":"X"},"text":"/help"}}`, time.Now().Unix())
		req, err := http.NewRequest(http.MethodPost, "http://"+e.listen+"/telegram/webhook", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret(t, e.vars["KARMAGATE_SECRET"]))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a webhook delivery during the outage answered %d, want 503", res.StatusCode)
		}
	}

	m.start()
	back := time.Now()
	t.Logf("MariaDB back after %s", back.Sub(stopped).Round(time.Millisecond))
	f.waitFor("/healthz to answer 200", time.Minute, func() bool {
		st, _ := callJSON("GET", "http://"+e.listen+"/healthz", "", nil, nil)
		return st == http.StatusOK
	})
	f.waitFor("the removals done", 5*time.Minute, func() bool { return f.inChat() == n-drop })
	f.waitSettled()
	f.waitFor("the strangers' requests declined", 2*time.Minute, func() bool {
		var reqs []json.RawMessage
		_, err := callJSON("GET", fmt.Sprintf("%s/sandbox/chats/%d/requests", e.control, f.chat), "", nil, &reqs)
		return err == nil && len(reqs) == 0
	})
	t.Logf("converged %s after the database came back", time.Since(back).Round(time.Millisecond))
	f.checkOnce()
	f.checkNoLeak()
	in, _ := f.members()
	for _, s := range strangers {
		if in[s] {
			t.Errorf("stranger %d got in", s)
		}
	}

	// Each loop that met the outage said so once, and once that it was
	// over, not once per attempt; the poller (its updates could not be
	// stored) met it for sure.
	logs := e.logs.String()
	if p := os.Getenv("KARMAGATE_E2E_LOG"); p != "" {
		_ = os.WriteFile(p, []byte(logs), 0o644)
	}
	outages := map[string]int{}
	for _, m := range outageRE.FindAllStringSubmatch(logs, -1) {
		outages[m[1]]++
	}
	if !webhook && outages["poll: store updates (the offset waits)"] == 0 {
		t.Errorf("the poller never logged the outage; logged: %v", outages)
	}
	for what, k := range outages {
		if k != 1 {
			t.Errorf("%q logged its outage %d times, want once", what, k)
		}
		// The poller's batch is given up when it stops polling (its lease
		// ran out), and member tags look again only at their next tick
		// (every 30 s); the others go on until the database answers.
		if !strings.Contains(logs, `msg="`+what+` works again"`) && !strings.HasPrefix(what, "poll: store updates") && what != "member tags" {
			t.Errorf("%q never logged that it works again", what)
		}
	}
	t.Logf("outages logged: %v", outages)
	if webhook {
		if !strings.Contains(logs, `status=503`) {
			t.Error("no webhook delivery was answered 503 during the outage")
		}
	} else {
		if k := strings.Count(logs, "this instance stops polling"); k != 1 {
			t.Errorf("the poller stopped %d times, want once (its lease ran out during the outage)", k)
		}
		if k := strings.Count(logs, "poll: this instance polls getUpdates"); k != 2 {
			t.Errorf("elected to poll %d times, want twice (at start, after the outage)", k)
		}
	}
	if k := strings.Count(logs, "level=ERROR"); k > 0 {
		t.Logf("%d errors logged during the outage", k)
	}
	select {
	case err := <-e.exited:
		t.Fatalf("serve exited: %v", err)
	default:
	}
}

// webhookSecret is the secret token karmagate derives from its master
// secret for Telegram's webhook deliveries.
func webhookSecret(t *testing.T, secret string) string {
	t.Helper()
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "karmagate webhook secret", 32)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(key)
}

var outageRE = regexp.MustCompile(`msg="([^"]*) failed; backing off until it works again`)

// mariadb is a MariaDB server of a test's own.
type mariadb struct {
	t      *testing.T
	bin    string
	dir    string
	port   string
	socket string
	proc   *exec.Cmd
	exited chan error
	logs   *lockedBuffer
}

// startMariaDB makes a fresh datadir with mariadb-install-db and starts
// mariadbd on it, on a free port and a socket in the test's directory.
// Without mariadbd the test is skipped, unless CI is set: then it fails.
func startMariaDB(t *testing.T) *mariadb {
	t.Helper()
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mariadbd"); err2 == nil {
			bin, err = "/usr/sbin/mariadbd", nil
		}
	}
	install, err2 := exec.LookPath("mariadb-install-db")
	if err != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but mariadbd or mariadb-install-db is not installed (%v, %v): the database restart test cannot run", err, err2)
		}
		t.Skipf("mariadbd or mariadb-install-db not found (%v, %v): install MariaDB to run the database restart test", err, err2)
	}
	// Short paths: a Unix socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "kgdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &mariadb{t: t, bin: bin, dir: dir, socket: filepath.Join(dir, "sock"), logs: &lockedBuffer{}}
	_, m.port, _ = strings.Cut(freeAddr(t), ":")
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(dir, "data"), "--auth-root-authentication-method=normal", "--skip-test-db"}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(install, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

// start runs mariadbd and waits until it answers.
func (m *mariadb) start() {
	m.t.Helper()
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(m.dir, "data"), "--port=" + m.port, "--bind-address=127.0.0.1",
		"--socket=" + m.socket, "--pid-file=" + filepath.Join(m.dir, "pid"), "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=16M", "--skip-log-bin", "--log-error=" + filepath.Join(m.dir, "error.log")}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(m.bin, args...)
	cmd.Stdout, cmd.Stderr = m.logs, m.logs
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mariadbd: %v", err)
	}
	m.proc = cmd
	m.exited = make(chan error, 1)
	go func() { m.exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", m.dsn(""))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
		}
		if err == nil {
			return
		}
		select {
		case err := <-m.exited:
			log, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
			m.t.Fatalf("mariadbd exited: %v\n%s\n%s", err, m.logs.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
			m.t.Fatalf("mariadbd did not answer in 60 s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop shuts mariadbd down (SIGTERM: a clean shutdown, as a service
// restart does) and waits for it to be gone.
func (m *mariadb) stop() {
	if m.proc == nil {
		return
	}
	_ = m.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(60 * time.Second):
		_ = m.proc.Process.Kill()
		<-m.exited
	}
	m.proc = nil
}

func (m *mariadb) dsn(db string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%s)/%s", m.port, db)
}

// createDatabase makes a database and returns its KARMAGATE_DB spec.
func (m *mariadb) createDatabase(name string) string {
	m.t.Helper()
	db, err := sql.Open("mysql", m.dsn(""))
	if err != nil {
		m.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		m.t.Fatalf("create database: %v", err)
	}
	return "mysql:" + m.dsn(name)
}
