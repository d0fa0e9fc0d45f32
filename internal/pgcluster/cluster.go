// Package pgcluster runs Vitrine's private PostgreSQL cluster: initdb on
// first use, start, stop and status, with password (SCRAM) authentication on
// a unix socket in the project directory and on loopback only.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"
)

// Superuser is the cluster's superuser; Database is the database Vitrine uses.
const (
	Superuser = "vitrine"
	Database  = "vitrine"
	// maxSocketPath is the unix socket path limit (sun_path) less a margin.
	maxSocketPath = 100
)

// ErrNotInstalled means the PostgreSQL server binaries are missing.
var ErrNotInstalled = errors.New("PostgreSQL server binaries not found")

// ErrNotInitialised means the cluster has never been created.
var ErrNotInitialised = errors.New("private PostgreSQL cluster not initialised")

// Cluster is a private PostgreSQL cluster rooted at one directory.
type Cluster struct {
	dir    string
	port   int
	binDir string
	log    *slog.Logger
	// sharedBuffers is PostgreSQL's shared_buffers ("" keeps its default).
	sharedBuffers string
	// runAs is the OS account that owns and runs the cluster; nil means
	// the current user. PostgreSQL refuses to run as root.
	runAs *syscall.Credential
}

// Option configures a Cluster.
type Option func(*Cluster)

// WithPort sets the TCP port (also part of the socket file name).
func WithPort(p int) Option { return func(c *Cluster) { c.port = p } }

// WithBinDir sets the directory holding initdb and pg_ctl.
func WithBinDir(d string) Option { return func(c *Cluster) { c.binDir = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Cluster) { c.log = l } }

// WithSharedBuffers sets shared_buffers: a PostgreSQL size ("512MB", "2GB")
// or "auto", a quarter of the machine's memory between 128MB and 2GB.
// PostgreSQL's own 128MB holds none of a million-product catalog, so every
// full-text match is re-read from the OS cache. Takes effect at start.
func WithSharedBuffers(size string) Option { return func(c *Cluster) { c.sharedBuffers = size } }

var pgSize = regexp.MustCompile(`^[0-9]+(kB|MB|GB)$`)

// sharedBuffersSetting resolves "auto" and checks the size's form (it
// goes onto pg_ctl's command line).
func sharedBuffersSetting(size string, ram uint64) (string, error) {
	switch {
	case size == "":
		return "", nil
	case size == "auto":
		mb := min(max(ram/4>>20, 128), 2048)
		return fmt.Sprintf("%dMB", mb), nil
	case pgSize.MatchString(size):
		return size, nil
	}
	return "", fmt.Errorf("shared_buffers %q: want a size such as 512MB or 2GB, or auto", size)
}

// buildWorkersSetting gives index builds (pgvector's HNSW graph, built by
// the leader and max_parallel_maintenance_workers workers) one worker per
// core beside the leader, at least one and at most 7, which PostgreSQL's
// default of 8 worker processes leaves room for. PostgreSQL's own default
// of 2 workers puts three builders on two cores.
func buildWorkersSetting(cpus int) string {
	return fmt.Sprintf(" -c max_parallel_maintenance_workers=%d", min(max(cpus-1, 1), 7))
}

// totalRAM is the machine's physical memory in bytes (0 when unknown).
func totalRAM() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// New describes the cluster under dir; it starts nothing.
func New(dir string, opts ...Option) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster dir %s: %w", dir, err)
	}
	c := &Cluster{dir: abs, port: 54329, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(c)
	}
	if c.binDir == "" {
		c.binDir = findBinDir()
	}
	if c.binDir == "" {
		return nil, fmt.Errorf("%w: no initdb under /usr/lib/postgresql/*/bin; run scripts/setup (or apt-get install postgresql-15) or set VITRINE_DATABASE_BIN_DIR", ErrNotInstalled)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root needs the postgres OS user to own the cluster (%v); run scripts/setup", ErrNotInstalled, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if !traversable(abs, c.runAs) {
			// The postgres account cannot reach a directory under a private
			// home; keep the data in a system directory named after it.
			sum := sha256.Sum256([]byte(abs))
			alt := filepath.Join("/var/lib/vitrine", hex.EncodeToString(sum[:6]))
			c.log.Warn("cluster directory not reachable by the postgres user; using a system directory", "wanted", abs, "using", alt)
			c.dir = alt
		}
	}
	return c, nil
}

// findBinDir picks the newest installed PostgreSQL ≥ 15.
func findBinDir() string {
	for _, v := range []string{"18", "17", "16", "15"} {
		d := filepath.Join("/usr/lib/postgresql", v, "bin")
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// traversable reports whether every ancestor of dir can be searched by the
// given account (world or group execute bit, or ownership).
func traversable(dir string, cred *syscall.Credential) bool {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		switch {
		case ok && sys.Uid == cred.Uid:
			if mode&0o100 == 0 {
				return false
			}
		case ok && sys.Gid == cred.Gid:
			if mode&0o010 == 0 {
				return false
			}
		default:
			if mode&0o001 == 0 {
				return false
			}
		}
		if d == "/" || d == filepath.Dir(d) {
			return true
		}
	}
}

// Dir is where the cluster keeps its files.
func (c *Cluster) Dir() string { return c.dir }

// Port is the cluster's port.
func (c *Cluster) Port() int { return c.port }

func (c *Cluster) dataDir() string      { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string      { return filepath.Join(c.dir, "log", "postgres.log") }
func (c *Cluster) passwordFile() string { return filepath.Join(c.dir, "password") }

// SocketDir is the directory of the unix socket: inside the cluster
// directory unless that path is too long for a socket, then under /tmp.
func (c *Cluster) SocketDir() string {
	d := filepath.Join(c.dir, "run")
	if len(d)+len("/.s.PGSQL.")+5 <= maxSocketPath {
		return d
	}
	sum := sha256.Sum256([]byte(c.dir))
	return filepath.Join(os.TempDir(), "vitrine-pg-"+hex.EncodeToString(sum[:6]))
}

// Initialised reports whether initdb has run.
func (c *Cluster) Initialised() bool {
	_, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION"))
	return err == nil
}

// lock serialises start and stop across processes (test packages run in
// parallel and each may start the cluster).
func (c *Cluster) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", c.dir, err)
	}
	fl := flock.New(filepath.Join(c.dir, "lock"))
	ok, err := fl.TryLockContext(ctx, 100*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("lock cluster %s: %w", c.dir, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// Start initialises the cluster if needed, starts it unless it runs, and
// makes sure the vitrine database exists. It is idempotent.
func (c *Cluster) Start(ctx context.Context) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if !c.Initialised() {
		if err := c.initdb(ctx); err != nil {
			return err
		}
	}
	running, err := c.running(ctx)
	if err != nil {
		return err
	}
	if !running {
		if err := c.prepareRunDirs(); err != nil {
			return err
		}
		c.log.Info("starting private PostgreSQL", "dir", c.dir, "port", c.port, "socket", c.SocketDir())
		// Settings are passed on the command line so a changed port or
		// socket directory takes effect without editing postgresql.conf.
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, c.SocketDir())
		sb, err := sharedBuffersSetting(c.sharedBuffers, totalRAM())
		if err != nil {
			return err
		}
		if sb != "" {
			opts += " -c shared_buffers=" + sb
		}
		opts += buildWorkersSetting(runtime.NumCPU())
		out, err := c.pgctl(ctx, "start", "-w", "-t", "60", "-l", c.logFile(), "-o", opts)
		if err != nil {
			return fmt.Errorf("start PostgreSQL (port %d; set VITRINE_DATABASE_PORT if it is taken): %w\n%s\nlog tail:\n%s", c.port, err, out, c.logTail())
		}
	}
	return c.ensureDatabase(ctx, Database)
}

func (c *Cluster) initdb(ctx context.Context) error {
	c.log.Info("initialising private PostgreSQL cluster", "dir", c.dir)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", c.dir, err)
	}
	// A partial data dir from an interrupted initdb would make the next
	// one fail; initdb refuses non-empty directories.
	if err := os.RemoveAll(c.dataDir()); err != nil {
		return fmt.Errorf("clean %s: %w", c.dataDir(), err)
	}
	if err := os.Mkdir(c.dataDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.dataDir(), err)
	}
	if err := c.chown(c.dataDir()); err != nil {
		return err
	}
	pw, err := c.password()
	if err != nil {
		return err
	}
	// initdb reads the password from a file the cluster's owner can read;
	// it exists only while initdb runs.
	pwfile := filepath.Join(c.dir, "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := c.chown(pwfile); err != nil {
		return err
	}
	out, err := c.run(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir(), "-U", Superuser, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	if err != nil {
		_ = os.RemoveAll(c.dataDir())
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Only password logins, on the socket and loopback: never trust.
	hba := "# Written by vitrine: SCRAM passwords only, unix socket and loopback.\n" +
		"local all all scram-sha-256\n" +
		"host  all all 127.0.0.1/32 scram-sha-256\n" +
		"host  all all ::1/128 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(c.dataDir(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	conf := "\n# Vitrine\nshared_preload_libraries = ''\nmax_connections = 200\n" +
		"unix_socket_permissions = 0770\nlog_min_duration_statement = -1\n"
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return c.chown(filepath.Join(c.dataDir(), "pg_hba.conf"))
}

// password returns the superuser password, creating it on first use. The
// file is readable by the invoking user only.
func (c *Cluster) password() (string, error) {
	b, err := os.ReadFile(c.passwordFile())
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", c.passwordFile(), err)
	}
	if c.Initialised() {
		return "", fmt.Errorf("%s is missing but the cluster exists; remove %s to start afresh", c.passwordFile(), c.dir)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	pw := hex.EncodeToString(raw)
	if err := os.WriteFile(c.passwordFile(), []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", c.passwordFile(), err)
	}
	return pw, nil
}

// prepareRunDirs creates the socket and log directories, owned by the
// cluster's account so the server can write there.
func (c *Cluster) prepareRunDirs() error {
	for _, d := range []string{c.SocketDir(), filepath.Dir(c.logFile())} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
		if err := c.chown(d); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	if err := os.Chown(path, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", path, err)
	}
	return nil
}

// Stop shuts the cluster down cleanly (fast mode: sessions end, data is
// flushed). Stopping a stopped cluster is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.Initialised() {
		return nil
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	if out, err := c.pgctl(ctx, "stop", "-w", "-t", "60", "-m", "fast"); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w\n%s", err, out)
	}
	return nil
}

// Status describes the cluster for `vitrine db status`.
type Status struct {
	Dir         string
	Initialised bool
	Running     bool
	PID         int
	Port        int
	SocketDir   string
	Version     string
}

// Status reports what runs where.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	s := Status{Dir: c.dir, Initialised: c.Initialised(), Port: c.port, SocketDir: c.SocketDir()}
	if b, err := os.ReadFile(filepath.Join(c.dataDir(), "PG_VERSION")); err == nil {
		s.Version = strings.TrimSpace(string(b))
	}
	if !s.Initialised {
		return s, nil
	}
	running, err := c.running(ctx)
	if err != nil {
		return s, err
	}
	s.Running = running
	if running {
		if b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			s.PID, _ = strconv.Atoi(strings.TrimSpace(first))
		}
	}
	return s, nil
}

// running asks pg_ctl; exit status 3 means "not running".
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.pgctl(ctx, "status")
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && (ee.ExitCode() == 3 || ee.ExitCode() == 4) {
		return false, nil
	}
	return false, fmt.Errorf("pg_ctl status: %w\n%s", err, out)
}

// URL is a connection string for database db (Database when empty).
func (c *Cluster) URL(db string) (string, error) {
	if db == "" {
		db = Database
	}
	if !c.Initialised() {
		return "", fmt.Errorf("%w at %s: run `vitrine db start`", ErrNotInitialised, c.dir)
	}
	pw, err := c.password()
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("host", c.SocketDir())
	q.Set("port", strconv.Itoa(c.port))
	q.Set("sslmode", "disable")
	u := url.URL{Scheme: "postgres", User: url.UserPassword(Superuser, pw), Host: "localhost", Path: "/" + db, RawQuery: q.Encode()}
	return u.String(), nil
}

// ensureDatabase creates db if it does not exist.
func (c *Cluster) ensureDatabase(ctx context.Context, db string) error {
	adminURL, err := c.URL("postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to private PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", db, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) (string, error) {
	return c.run(ctx, filepath.Join(c.binDir, "pg_ctl"), append([]string{"-D", c.dataDir()}, args...)...)
}

// run executes a PostgreSQL tool as the cluster's owner.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	cmd.Dir = c.dir
	// pg_ctl start leaves the postmaster running: it must not die with
	// this process's terminal, so give it its own session.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = c.runAs
		cmd.Env = append(os.Environ(), "HOME="+c.dir)
	}
	err := cmd.Run()
	return strings.TrimSpace(buf.String()), err
}

func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
