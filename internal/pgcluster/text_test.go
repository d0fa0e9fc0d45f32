package pgcluster

import (
	"strings"
	"testing"
)

func TestStatusText(t *testing.T) {
	tests := []struct {
		name string
		st   Status
		want string
	}{
		{"new", Status{Dir: "/d", Port: 5, SocketDir: "/d"}, "state:      not initialised (run `vitrine db start`)\n"},
		{"stopped", Status{Dir: "/d", Initialised: true, Port: 5, SocketDir: "/d"}, "state:      stopped\n"},
		{"running", Status{Dir: "/d", Initialised: true, Running: true, PID: 42, Port: 5, SocketDir: "/d"}, "state:      running (pid 42)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.st.Text(&b); err != nil {
				t.Fatal(err)
			}
			want := "cluster:    /d\n" + tt.want + "listen:     127.0.0.1:5 and unix socket in /d\nauth:       scram-sha-256 (password in /d/password)\n"
			if b.String() != want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), want)
			}
		})
	}
}
