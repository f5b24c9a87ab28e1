package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/store"
)

// oldKeyEnv carries the key being retired. Not a flag: a key on the command
// line shows in process lists and shell history.
const oldKeyEnv = "MDEBOT_STORE_OLD_ENCRYPTION_KEY"

// runRekey re-encrypts every sealed row (token caches, pending sign-ins)
// from the key in MDEBOT_STORE_OLD_ENCRYPTION_KEY to store.encryption_key,
// in one transaction. Exit 0 when every row is under the new key (or was
// dropped), 1 on failure or when unreadable rows were left as they are.
func runRekey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("rekey", "[--config FILE] [--drop-unreadable]", stderr)
	path := configFlag(fs)
	drop := fs.Bool("drop-unreadable", false, "delete rows that open with neither key (those users link again)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, newKey, oldKey, ok := rekeySettings(*path, stderr)
	if !ok {
		return 1
	}

	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		fmt.Fprintf(stderr, "rekey: %v\n", err)
		return 1
	}
	defer db.Close()
	rep, err := identity.Rekey(ctx, db, identity.RekeyOptions{OldKey: oldKey, NewKey: newKey, DropUnreadable: *drop})
	if err != nil {
		fmt.Fprintf(stderr, "rekey: %v (nothing was changed)\n", err)
		return 1
	}

	fmt.Fprintf(stdout, "rekey: rewrote %s with the new key", rows(rep.Rewritten))
	if rep.AlreadyNew > 0 {
		fmt.Fprintf(stdout, "; %s already under it left as they are", rows(rep.AlreadyNew))
	}
	fmt.Fprintln(stdout)
	if rep.Unreadable == 0 {
		return 0
	}
	users := ""
	if len(rep.UnreadableUsers) > 0 {
		users = fmt.Sprintf(" (token caches of %s)", strings.Join(rep.UnreadableUsers, ", "))
	}
	if *drop {
		fmt.Fprintf(stdout, "rekey: deleted %s that open with neither key%s; those users link again with `%s login`\n",
			rows(rep.Dropped), users, cfg.Slack.Command)
		return 0
	}
	fmt.Fprintf(stderr, "rekey: %s open with neither key%s and were left as they are; "+
		"check %s, or run again with --drop-unreadable (those users link again with `%s login`)\n",
		rows(rep.Unreadable), users, oldKeyEnv, cfg.Slack.Command)
	return 1
}

func rows(n int) string {
	if n == 1 {
		return "1 sealed row"
	}
	return fmt.Sprintf("%d sealed rows", n)
}

// rekeySettings loads the configuration and both keys, printing every
// problem. Only the store.* keys matter here: the rest of the configuration
// may be incomplete (a one-off job with only the database settings).
func rekeySettings(path string, stderr io.Writer) (cfg *config.Config, newKey, oldKey []byte, ok bool) {
	cfg, err := config.Load(path)
	var problems config.Problems
	switch {
	case errors.As(err, &problems):
	case err != nil:
		fmt.Fprintf(stderr, "rekey: %v\n", err)
		return nil, nil, nil, false
	default:
		for _, p := range cfg.Validate() {
			if strings.HasPrefix(p.Key, "store.") {
				problems = append(problems, p)
			}
		}
	}
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	if cfg != nil && len(problems) == 0 {
		if newKey, err = cfg.EncryptionKey(); err != nil {
			lines = append(lines, err.Error()) // Validate checked it already; names the key
		}
	}
	switch raw := strings.TrimSpace(os.Getenv(oldKeyEnv)); {
	case raw == "":
		lines = append(lines, oldKeyEnv+": required: the key the rows are sealed with now (store.encryption_key holds the new one)")
	default:
		// The value is a secret: never quote it.
		if oldKey, err = base64.StdEncoding.DecodeString(raw); err != nil || len(oldKey) != 32 {
			lines = append(lines, oldKeyEnv+": must be base64 of 32 bytes, like store.encryption_key")
		}
	}
	if len(lines) > 0 {
		for _, l := range lines {
			fmt.Fprintln(stderr, l)
		}
		return nil, nil, nil, false
	}
	return cfg, newKey, oldKey, true
}
