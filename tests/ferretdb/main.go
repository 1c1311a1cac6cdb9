// Command hs-ferretdb runs FerretDB (a MongoDB wire-protocol server on
// PostgreSQL) for Hypersend's tests of the mongo store backend.
//
// It is our own main package around FerretDB's embeddable package rather
// than FerretDB's cmd/ferretdb installed from the module: that command,
// when it is the main module, requires build/version/version.txt, a file
// generated in FerretDB's own tree and absent from the published module,
// and panics at start-up without it. Here the main module is ours, so
// FerretDB takes its embedded path (no version file, telemetry off and
// locked, state kept in memory), and we report the pinned module version.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

const modulePath = "github.com/FerretDB/FerretDB"

// pinnedVersion returns the FerretDB module version recorded in the binary.
func pinnedVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == modulePath {
				return m.Version
			}
		}
	}
	return "unknown"
}

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL, e.g. postgres://127.0.0.1:5432/ferretdb")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	showVersion := flag.Bool("version", false, "print the FerretDB version and exit")
	flag.Parse()

	version.Get().Version = pinnedVersion()
	if *showVersion {
		fmt.Println(version.Get().Version)
		return
	}
	if *pgURL == "" {
		fmt.Fprintln(os.Stderr, "hs-ferretdb: --postgresql-url is required")
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "hs-ferretdb: --log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "hs-ferretdb: %v\n", err)
		os.Exit(1)
	}

	// SIGTERM or SIGINT stops the listener; Run returns once it has closed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger.Info("hs-ferretdb listening", "addr", *listen, "ferretdb", version.Get().Version)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "hs-ferretdb: %v\n", err)
		os.Exit(1)
	}
}
