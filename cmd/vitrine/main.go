// Command vitrine is Vitrine's one binary: database management, model
// management, ingestion, workers, serving, training, evaluation and benchmarks.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "vitrine:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "vitrine:", err)
		os.Exit(1)
	}
}

// exitError carries a specific exit status (for example 2 when ingestion
// rejected rows) through cobra.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
