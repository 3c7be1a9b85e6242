package caddyoauth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// readPassword takes the password from --password, else prompts for it
// twice without echo on a terminal, else reads one line of standard input
// (as `caddy hash-password` does).
func readPassword(cmd *cobra.Command) (string, error) {
	if p, _ := cmd.Flags().GetString("password"); p != "" {
		return p, nil
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), cmd.ErrOrStderr())
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if trimmed, ok := bytes.CutSuffix(line, []byte("\n")); ok {
		line = bytes.TrimSuffix(trimmed, []byte("\r"))
	}
	if len(line) == 0 {
		return "", errors.New("no password: give --password, or one line on standard input")
	}
	return string(line), nil
}

// promptPassword asks twice on the terminal fd, restoring its state if the
// user interrupts.
func promptPassword(fd int, prompt io.Writer) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	done := make(chan struct{})
	defer func() { signal.Stop(c); close(done) }()
	go func() {
		select {
		case <-c:
			_ = term.Restore(fd, state)
			os.Exit(caddy.ExitCodeFailedStartup)
		case <-done:
		}
	}()
	fmt.Fprint(prompt, "Enter password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	fmt.Fprint(prompt, "Confirm password: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(p1, p2) {
		return "", errors.New("passwords do not match")
	}
	if len(p1) == 0 {
		return "", errors.New("the password is empty")
	}
	return string(p1), nil
}
