// Command sshdoctor tells exactly why SSH to a host fails, and fixes it safely.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sshdoctor/sshdoctor/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
