// Package nginxtest starts a private nginx with nginx-rtmp for a test, from
// the project's scripts/nginx/nginx.conf.in, on free loopback ports and in
// the test's temp dir, so tests run in parallel with each other and with the
// shared nginx of scripts/services.sh. It uses the binaries services.sh
// installs (`scripts/services.sh up nginx`): when they are missing the test
// is skipped, and fails under CI=true.
package nginxtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Debian's paths, as scripts/services.sh uses them.
const (
	nginxBin   = "/usr/sbin/nginx"
	rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
)

// Server is a running nginx.
type Server struct {
	Dir      string // prefix: log/, hls/, rec/
	RTMPAddr string // host:port
	HTTPAddr string // host:port
	pid      int
	exited   chan error
}

// RTMPBase is the RTMP application URL.
func (s *Server) RTMPBase() string { return "rtmp://" + s.RTMPAddr + "/live" }

// HTTPBase is the HTTP server's URL.
func (s *Server) HTTPBase() string { return "http://" + s.HTTPAddr }

// ErrorLog returns nginx's error log so far.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log", "error.log"))
	return string(b)
}

// Require returns the path of each named tool (ffmpeg, ffprobe) after
// checking nginx and its rtmp module are installed.
func Require(t testing.TB, tools ...string) []string {
	t.Helper()
	var missing []string
	for _, f := range []string{nginxBin, rtmpModule} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			missing = append(missing, tool)
		}
		paths[i] = p
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("missing %s: run `bash scripts/services.sh up nginx`", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (in CI nginx, libnginx-mod-rtmp and ffmpeg must be installed)")
		}
		t.Skip(msg)
	}
	return paths
}

// Start runs nginx with hooks posting to hookURL and secure_link keyed by
// playKey, and stops it when the test ends.
func Start(t testing.TB, hookURL, playKey string) *Server {
	t.Helper()
	Require(t)
	tmpl, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatalf("nginx template: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken between pick and listen
		s, err := start(t, string(tmpl), hookURL, playKey)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("start nginx: %v", lastErr)
	return nil
}

func start(t testing.TB, tmpl, hookURL, playKey string) (*Server, error) {
	dir := t.TempDir()
	for _, d := range []string{"log", "hls", "rec", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	rtmpPort, httpPort := freePort(t), freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := strings.NewReplacer(
		"@PREFIX@", dir, "@RTMP_MODULE@", rtmpModule, "@USER@", user,
		"@RTMP_PORT@", strconv.Itoa(rtmpPort), "@HTTP_PORT@", strconv.Itoa(httpPort),
		"@HOOK_URL@", hookURL, "@PLAY_KEY@", playKey,
	).Replace(tmpl)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.Command(nginxBin, "-e", filepath.Join(dir, "log", "error.log"), "-p", dir, "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, RTMPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(rtmpPort)),
		HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)), pid: cmd.Process.Pid, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("nginx exited: %v\n%s\n%s", err, out.String(), s.ErrorLog())
		default:
		}
		if resp, err := http.Get(s.HTTPBase() + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("nginx not healthy after 10s\n%s", s.ErrorLog())
}

// stop ends nginx's master and workers (its own process group).
func (s *Server) stop() {
	_ = syscall.Kill(-s.pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.exited
	}
	for i := 0; i < 50 && syscall.Kill(-s.pid, 0) == nil; i++ { // workers leave after the master
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// templatePath finds scripts/nginx/nginx.conf.in above the working directory.
func templatePath(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "scripts", "nginx", "nginx.conf.in")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("scripts/nginx/nginx.conf.in not found above the working directory")
		}
		dir = parent
	}
}
