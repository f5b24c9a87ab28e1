package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mdebot/mdebot/demo"
)

// runDemo plays the whole flow on this machine against the fakes.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "[--interactive]", stderr)
	interactive := fs.Bool("interactive", false, "type commands as a chosen user and click buttons yourself")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var err error
	if *interactive {
		err = demo.Interactive(ctx, os.Stdin, stdout)
	} else {
		err = demo.Run(ctx, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	return 0
}
