package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdebot/mdebot/demo"
	"github.com/mdebot/mdebot/store/storetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// mdebotBinary builds cmd/mdebot once for the process tests.
func mdebotBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mdebot-e2e-bin-*")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mdebot")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/mdebot")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running `mdebot serve` child process.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	log  *syncBuffer
	url  string
}

// serve starts `mdebot serve --config path` with extra environment, and
// waits until /healthz answers at baseURL.
func serve(t *testing.T, e *demo.Env, configPath, baseURL string, env ...string) *proc {
	t.Helper()
	ca := filepath.Join(e.Dir, "entra-ca.pem")
	if err := e.Entra.WriteCACert(ca); err != nil {
		t.Fatal(err)
	}
	p := &proc{log: &syncBuffer{}, done: make(chan error, 1), url: baseURL}
	p.cmd = exec.Command(mdebotBinary(t), "serve", "--config", configPath)
	// The fake Entra's certificate is trusted the way operators trust a private CA.
	p.cmd.Env = append(append(os.Environ(), "SSL_CERT_FILE="+ca), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() && os.Getenv("MDEBOT_E2E_LOGS") != "" {
			t.Logf("mdebot serve (%s) logs:\n%s", baseURL, p.log.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("mdebot serve exited: %v\n%s", err, p.log.String())
		case <-ctx.Done():
			t.Fatalf("mdebot serve not healthy: %v\n%s", ctx.Err(), p.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill SIGKILLs the process (no shutdown of any kind) and reaps it.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// dumpState logs the bot's requests and River's jobs from the SQLite file,
// to explain a failed crash test.
func dumpState(t *testing.T, e *demo.Env) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.Dir, "mdebot.db")+"?mode=ro")
	if err != nil {
		t.Logf("dump: %v", err)
		return
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT id, state, action_id, lease_owner, lease_until, updated_at, polls, queue_position FROM requests`,
		`SELECT id, kind, state, attempt, args, scheduled_at, attempted_at FROM river_job ORDER BY id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Logf("dump %q: %v", q, err)
			continue
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			_ = rows.Scan(ptrs...)
			t.Logf("%v", vals)
		}
		rows.Close()
	}
}

// twoReplicas starts the fakes and two real `mdebot serve` processes on one
// fresh PostgreSQL database, A at e.BaseURL and B on another port.
func twoReplicas(t *testing.T) (e *demo.Env, a, b *proc) {
	t.Helper()
	dsn := storetest.FreshPostgres(t)
	e, err := demo.Start(deadline(t, 20*time.Second), demo.Options{NoApp: true, Dir: t.TempDir(), Driver: "postgres", DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	baseA, baseB := e.BaseURL, "http://"+freePort(t)
	cfgA, cfgB := filepath.Join(e.Dir, "a.yaml"), filepath.Join(e.Dir, "b.yaml")
	if err := e.WriteConfig(cfgA); err != nil {
		t.Fatal(err)
	}
	e.Config.HTTP.Listen = strings.TrimPrefix(baseB, "http://")
	if err := e.WriteConfig(cfgB); err != nil {
		t.Fatal(err)
	}
	return e, serve(t, e, cfgA, baseA), serve(t, e, cfgB, baseB)
}
