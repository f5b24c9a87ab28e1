package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mdebot/mdebot/demo"
)

// buildBot compiles ./cmd/mdebot into dir, as an operator's binary would be.
func buildBot(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "mdebot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mdebot")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mdebot (run from the module root): %w\n%s", err, out)
	}
	return bin, nil
}

// child is `mdebot serve` running as its own process, so its memory is its own.
type child struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

// startChild runs `bin serve` with e's configuration and waits for /healthz.
func startChild(ctx context.Context, bin string, e *demo.Env) (*child, error) {
	cfg := filepath.Join(e.Dir, "config.yaml")
	if err := e.WriteConfig(cfg); err != nil {
		return nil, err
	}
	ca := filepath.Join(e.Dir, "entra-ca.pem")
	if err := e.Entra.WriteCACert(ca); err != nil {
		return nil, err
	}
	c := &child{done: make(chan error, 1), log: filepath.Join(e.Dir, "mdebot.log")}
	logf, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	c.cmd = exec.Command(bin, "serve", "--config", cfg)
	// The fake Entra's certificate is trusted the way operators trust a private CA.
	c.cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+ca)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { c.done <- c.cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.BaseURL+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.done:
			return nil, fmt.Errorf("mdebot serve exited: %v (log: %s)", err, c.log)
		case <-ctx.Done():
			c.stop()
			return nil, fmt.Errorf("mdebot serve not healthy: %w (log: %s)", ctx.Err(), c.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memory reads the child's resident set now and its high-water mark.
func (c *child) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the bot's memory (Linux /proc needed): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing %s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("VmRSS or VmHWM missing from /proc/<pid>/status")
	}
	return rss, hwm, sc.Err()
}

// stop asks the bot to shut down (SIGTERM) and waits, killing it after 30 s.
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux
// for every architecture Go supports.
const clockTicks = 100

// cpu is the CPU time (user + system) the bot has used so far.
func (c *child) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the bot's CPU time: %w", err)
	}
	// Fields after the command name (which may hold spaces) start at state, field 3.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("unexpected /proc/<pid>/stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/<pid>/stat times")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
