package pgcluster

import (
	"fmt"
	"io"
)

// State says in words whether the cluster is initialised and running.
func (s Status) State() string {
	switch {
	case !s.Initialised:
		return "not initialised (run `vitrine db start`)"
	case s.Running:
		return fmt.Sprintf("running (pid %d)", s.PID)
	}
	return "stopped"
}

// Text writes the status as `vitrine db status` prints it: directory,
// state, where it listens and how it authenticates.
func (s Status) Text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "cluster:    %s\nstate:      %s\nlisten:     127.0.0.1:%d and unix socket in %s\nauth:       scram-sha-256 (password in %s/password)\n",
		s.Dir, s.State(), s.Port, s.SocketDir, s.Dir)
	return err
}
