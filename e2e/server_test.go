package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/crm into a temporary directory with the go command that runs
// this test (with -race when the test runs with it).
//
// The binary is built once per test process and shared by the tests that start a server.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.Do(func() { built.bin, built.err = compile() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	sync.Once
	bin string
	err error
}

func compile() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil && os.Getenv("GOROOT") != "" {
		goBin, err = filepath.Join(os.Getenv("GOROOT"), "bin", "go"), nil
	}
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the service: %w", err)
	}
	dir, err := os.MkdirTemp("", "crm-e2e-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crm")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, "./cmd/crm")...)
	cmd.Dir = ".." // the module root: this test runs in e2e/
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/crm: %w\n%s", err, out)
	}
	return bin, nil
}

// Server is the service binary under test.
type Server struct {
	Base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// secret is the JWT key of the service under test (at least 32 bytes).
const secret = "e2e-secret-key-that-is-long-enough-for-hs256"

// startServer runs bin against databaseURL on a free loopback port, with the settings env adds
// (NAME=value), and waits until /ready answers 200.
func startServer(t *testing.T, bin, databaseURL string, env ...string) *Server {
	t.Helper()
	addr := freeAddr(t)
	s := &Server{Base: "http://" + addr, log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve")
	// Only what the service needs: no configuration leaks in from the developer's shell.
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
		"DATABASE_URL=" + databaseURL,
		"HTTP_ADDR=" + addr,
		"JWT_SECRET=" + secret,
		"MIGRATE_ON_START=true",
		"LOG_LEVEL=info",
		"LOG_FORMAT=text",
		"SHUTDOWN_TIMEOUT=10s",
		// Every scenario signs in from 127.0.0.1: the per-address sign-in limit would be hit
		// by the suite itself. The per-account limit keeps its default and is a scenario.
		"LOGIN_IP_LIMIT=1000000",
	}
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("the service exited before it was ready (%v); its log:\n%s", s.err, s.log.String())
		default:
		}
		res, err := client.Get(s.Base + "/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service did not become ready within 60 s; its log:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startWorker runs `crm worker` (the job queue without HTTP) against databaseURL with the
// settings env adds, and waits until its log says the queue is being worked.
func startWorker(t *testing.T, bin, databaseURL string, env ...string) *Server {
	t.Helper()
	s := &Server{log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "worker")
	s.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"DATABASE_URL=" + databaseURL, "JWT_SECRET=" + secret, "LOG_LEVEL=info", "LOG_FORMAT=text",
		"SHUTDOWN_TIMEOUT=10s",
	}, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s worker: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for len(s.LogLines("River client started")) == 0 {
		select {
		case <-s.done:
			t.Fatalf("the worker exited before it started (%v); its log:\n%s", s.err, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not start within 60 s; its log:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Stop sends SIGTERM and waits for a clean exit (status 0).
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("the service did not exit within 30 s of SIGTERM")
	}
	if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
		return errors.New("the race detector found a data race in the service (see its log)")
	}
	if s.err != nil {
		return fmt.Errorf("the service did not exit cleanly after SIGTERM: %w", s.err)
	}
	return nil
}

func (s *Server) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// LogLines returns the lines of the service's log that mention needle.
func (s *Server) LogLines(needle string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s.log.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// syncBuffer collects the service's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
