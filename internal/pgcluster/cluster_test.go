package pgcluster_test

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/internal/pgcluster"
	"github.com/vitrinehq/vitrine/internal/testdb"
)

// newCluster makes a throwaway cluster inside the module's .vitrine (so the
// postgres account can reach it) on a random high port.
func newCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	root, err := testdb.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	dir := filepath.Join(root, ".vitrine", "tmp", "cluster-"+hex.EncodeToString(b))
	n, _ := rand.Int(rand.Reader, big.NewInt(2000))
	c, err := pgcluster.New(dir, pgcluster.WithPort(56000+int(n.Int64())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop(t.Context())
		_ = os.RemoveAll(c.Dir())
	})
	return c
}

func TestClusterLifecycle(t *testing.T) {
	ctx := t.Context()
	c := newCluster(t)
	st, err := c.Status(ctx)
	if err != nil || st.Initialised || st.Running {
		t.Fatalf("fresh cluster status %+v %v", st, err)
	}
	if _, err := c.URL(""); err == nil {
		t.Error("URL of an uninitialised cluster succeeded")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second start finds it running.
	if err := c.Start(ctx); err != nil {
		t.Fatalf("second start: %v", err)
	}
	st, err = c.Status(ctx)
	if err != nil || !st.Running || st.PID == 0 {
		t.Fatalf("status after start %+v %v", st, err)
	}
	u, err := c.URL("")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect with the cluster's URL: %v", err)
	}
	var listen, hba string
	if err := conn.QueryRow(ctx, `SELECT current_setting('listen_addresses'), current_setting('hba_file')`).Scan(&listen, &hba); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if listen != "127.0.0.1" {
		t.Errorf("listen_addresses %q, want loopback only", listen)
	}
	if info, err := os.Stat(filepath.Join(c.Dir(), "password")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v (err %v), want 0600", info.Mode().Perm(), err)
	}

	// Password authentication is enforced on the socket and on TCP.
	pu, _ := url.Parse(u)
	pu.User = url.UserPassword(pgcluster.Superuser, "wrong")
	if conn, err := pgx.Connect(ctx, pu.String()); err == nil {
		conn.Close(ctx)
		t.Error("socket login with a wrong password succeeded")
	}
	q := pu.Query()
	q.Set("host", "127.0.0.1")
	pu.RawQuery = q.Encode()
	if conn, err := pgx.Connect(ctx, pu.String()); err == nil {
		conn.Close(ctx)
		t.Error("TCP login with a wrong password succeeded")
	}
	pu.User = url.User(pgcluster.Superuser)
	if conn, err := pgx.Connect(ctx, pu.String()); err == nil {
		conn.Close(ctx)
		t.Error("TCP login without a password succeeded (trust auth?)")
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status(ctx)
	if err != nil || st.Running {
		t.Fatalf("status after stop %+v %v", st, err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Errorf("stopping a stopped cluster: %v", err)
	}
	// Restart keeps the data and the password.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("reconnect after restart: %v", err)
	}
	conn.Close(ctx)
}

func TestSocketDirFitsLimit(t *testing.T) {
	long := filepath.Join(t.TempDir(), "a-very-long-directory-name-that-goes-on-and-on", "and-on-and-on-and-on-until-it-is-too-long", "pg")
	c, err := pgcluster.New(long)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.SocketDir()) + len("/.s.PGSQL.54329"); got > 107 {
		t.Errorf("socket path %d bytes, over the unix limit", got)
	}
}

func TestSharedBuffersSetting(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		size    string
		ram     uint64
		want    string
		wantErr bool
	}{
		{"", 24 * gib, "", false},
		{"auto", 24 * gib, "2048MB", false}, // capped
		{"auto", 4 * gib, "1024MB", false},  // a quarter
		{"auto", 256 << 20, "128MB", false}, // PostgreSQL's own default as the floor
		{"auto", 0, "128MB", false},         // unknown memory
		{"512MB", 0, "512MB", false},
		{"2GB", 0, "2GB", false},
		{"2 GB", 0, "", true},
		{"1GB -c fsync=off", 0, "", true}, // never reaches pg_ctl's command line
	}
	for _, tc := range tests {
		got, err := pgcluster.SharedBuffersSetting(tc.size, tc.ram)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("sharedBuffersSetting(%q, %d) = %q, %v; want %q (error %v)", tc.size, tc.ram, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestBuildWorkersSetting(t *testing.T) {
	for _, tc := range []struct {
		cpus int
		want string
	}{
		{1, " -c max_parallel_maintenance_workers=1"},
		{2, " -c max_parallel_maintenance_workers=1"}, // the leader builds too
		{8, " -c max_parallel_maintenance_workers=7"},
		{64, " -c max_parallel_maintenance_workers=7"}, // within the 8 worker processes
	} {
		if got := pgcluster.BuildWorkersSetting(tc.cpus); got != tc.want {
			t.Errorf("buildWorkersSetting(%d) = %q, want %q", tc.cpus, got, tc.want)
		}
	}
}
